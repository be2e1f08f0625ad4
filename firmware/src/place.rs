//! Shared loading helpers: checked segment copies into guest RAM and the deterministic
//! placement of boot data (information structure, strings, modules) above the image.

use crate::elf::LoadSegment;
use crate::LoadError;
use sim_core::{GuestPhys, GuestRam};

/// Start of the legacy video/BIOS hole (640 KiB).
pub const LEGACY_HOLE_START: u64 = 0xA_0000;
/// End of the legacy video/BIOS hole (1 MiB).
pub const LEGACY_HOLE_END: u64 = 0x10_0000;
/// Boot data never goes below this address (the real-mode IVT/BDA page stays untouched).
pub const FIRST_FREE: u64 = 0x1000;
/// Alignment of page-aligned allocations.
pub const PAGE: u64 = 0x1000;

/// A named physical range `[start, end)` nothing may be loaded into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub name: String,
}

impl Range {
    pub fn new(start: u64, end: u64, name: impl Into<String>) -> Self {
        Self { start, end, name: name.into() }
    }
    fn overlaps(&self, start: u64, end: u64) -> bool {
        start < self.end && self.start < end
    }
}

/// The legacy 640 KiB-1 MiB hole as a reserved range.
pub fn legacy_hole() -> Range {
    Range::new(LEGACY_HOLE_START, LEGACY_HOLE_END, "legacy video/BIOS area (640 KiB-1 MiB)")
}

/// Reserved ranges from `(start, end, name)` tuples plus the legacy hole; empty or
/// inverted ranges are dropped.
pub fn reserved_ranges(given: &[(u64, u64, String)]) -> Vec<Range> {
    let mut v = vec![legacy_hole()];
    v.extend(given.iter().filter(|(s, e, _)| e > s).map(|(s, e, n)| Range::new(*s, *e, n.clone())));
    v
}

/// Rounds `v` up to a multiple of `align` (a power of two).
pub fn align_up(v: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    Some(v.checked_add(align - 1)? & !(align - 1))
}

/// Checks every segment (file range, RAM, reserved ranges) and only then copies them into
/// RAM and zeroes their bss. Returns the `(start, end)` physical span of the image.
pub fn load_segments(
    ram: &mut GuestRam,
    file: &[u8],
    segs: &[LoadSegment],
    avoid: &[Range],
) -> Result<(u64, u64), LoadError> {
    let file_len = file.len() as u64;
    let mut span: Option<(u64, u64)> = None;
    for s in segs {
        let end = s.paddr.checked_add(s.memsz).ok_or(LoadError::Overflow("segment end address"))?;
        match s.offset.checked_add(s.filesz) {
            Some(fend) if fend <= file_len => {}
            _ => {
                return Err(LoadError::SegmentOutsideFile {
                    index: s.index,
                    offset: s.offset,
                    len: s.filesz,
                    file_len,
                })
            }
        }
        // A device range is named first: it says what the image would overwrite.
        if let Some(r) = avoid.iter().find(|r| r.overlaps(s.paddr, end)) {
            return Err(LoadError::SegmentOverlapsReserved {
                index: s.index,
                addr: s.paddr,
                end,
                name: r.name.clone(),
                range_start: r.start,
                range_end: r.end,
            });
        }
        if !ram.contains(GuestPhys(s.paddr), s.memsz) {
            return Err(LoadError::SegmentOutsideRam { index: s.index, addr: s.paddr, len: s.memsz });
        }
        span = Some(match span {
            None => (s.paddr, end),
            Some((a, b)) => (a.min(s.paddr), b.max(end)),
        });
    }
    let span = span.ok_or(LoadError::NoLoadableSegments)?;
    for s in segs {
        // All ranges were validated above: the file range is inside `file` and the memory
        // range is inside one RAM region, so these conversions and slices cannot fail.
        let (fo, fl, ml) = (s.offset as usize, s.filesz as usize, s.memsz as usize);
        let dst = ram.slice_mut(GuestPhys(s.paddr), ml).ok_or(LoadError::SegmentOutsideRam {
            index: s.index,
            addr: s.paddr,
            len: s.memsz,
        })?;
        dst[..fl].copy_from_slice(&file[fo..fo + fl]);
        dst[fl..].fill(0); // bss
    }
    Ok(span)
}

/// Deterministic bump allocator for boot data: walks upwards from a start address,
/// skipping non-RAM, reserved ranges and the first 4 KiB, and stays below 4 GiB (the
/// Multiboot information structure holds 32-bit addresses).
pub struct Placer<'a> {
    cursor: u64,
    avoid: &'a [Range],
}

impl<'a> Placer<'a> {
    pub fn new(start: u64, avoid: &'a [Range]) -> Self {
        Self { cursor: start.max(FIRST_FREE), avoid }
    }

    /// First byte after everything allocated so far.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Allocates `size` bytes aligned to `align`; `what` names the data in errors.
    pub fn alloc(&mut self, ram: &GuestRam, size: u64, align: u64, what: &str) -> Result<u64, LoadError> {
        let no_room = || LoadError::NoRoom { what: what.to_string(), size };
        let mut addr = align_up(self.cursor, align).ok_or_else(no_room)?;
        loop {
            let end = addr.checked_add(size).ok_or_else(no_room)?;
            if end > 1 << 32 {
                return Err(no_room());
            }
            // Skip past the furthest-reaching reserved range in the way.
            if let Some(r_end) =
                self.avoid.iter().filter(|r| r.overlaps(addr, end.max(addr + 1))).map(|r| r.end).max()
            {
                addr = align_up(r_end, align).ok_or_else(no_room)?;
                continue;
            }
            if !ram.contains(GuestPhys(addr), size) {
                // Move to the next RAM region that starts above `addr`.
                let next = ram
                    .regions()
                    .iter()
                    .map(|r| r.base().raw())
                    .filter(|&b| b > addr)
                    .min()
                    .ok_or_else(no_room)?;
                addr = align_up(next, align).ok_or_else(no_room)?;
                continue;
            }
            self.cursor = end;
            return Ok(addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placer_skips_reserved_and_holes() {
        let ram = GuestRam::new(&[(GuestPhys(0), 0xA_0000), (GuestPhys(0x10_0000), 0x10_0000)]).unwrap();
        let avoid = reserved_ranges(&[(0x10_0000, 0x10_2000, "dev".into())]);
        let mut p = Placer::new(0x9_f000, &avoid);
        // 0x9f000 + 0x2000 runs past the low region: skipped to after "dev".
        assert_eq!(p.alloc(&ram, 0x2000, PAGE, "x").unwrap(), 0x10_2000);
        assert_eq!(p.alloc(&ram, 3, 1, "y").unwrap(), 0x10_4000);
        assert_eq!(p.cursor(), 0x10_4003);
        assert!(matches!(p.alloc(&ram, 0x20_0000, 8, "big"), Err(LoadError::NoRoom { .. })));
        let mut p = Placer::new(0, &avoid);
        assert_eq!(p.alloc(&ram, 16, 8, "z").unwrap(), FIRST_FREE);
    }
}
