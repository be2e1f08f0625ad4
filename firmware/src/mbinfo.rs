//! The Multiboot v1 information structure (Multiboot 0.6.96 section 3.3), built in guest
//! RAM by both the Multiboot loader and the ELF64 loader.
//!
//! Placement is deterministic. Starting at the first page boundary at or above the end of
//! the image, the placer allocates, in this order: the information structure (page
//! aligned), the GDT when the loader needs one, the memory map, the module list, the
//! command line, the boot loader name, the module strings, and finally the module contents
//! (page aligned when asked for, otherwise 8-byte aligned). Non-RAM, the first 4 KiB, the
//! 640 KiB-1 MiB hole and every reserved/MMIO range are skipped.

use crate::multiboot::MultibootOptions;
use crate::place::{reserved_ranges, Placer, Range, LEGACY_HOLE_END, LEGACY_HOLE_START, PAGE};
use crate::LoadError;
use sim_core::{GuestPhys, GuestRam};

/// Size of the information structure up to and including the framebuffer fields.
pub const INFO_SIZE: u64 = 116;
/// Name reported in `boot_loader_name`.
pub const BOOT_LOADER_NAME: &str = "chimera";

// Multiboot 0.6.96 section 3.3: `flags` bits of the information structure.
pub const INFO_MEMORY: u32 = 1 << 0;
pub const INFO_BOOTDEV: u32 = 1 << 1;
pub const INFO_CMDLINE: u32 = 1 << 2;
pub const INFO_MODS: u32 = 1 << 3;
pub const INFO_MEM_MAP: u32 = 1 << 6;
pub const INFO_BOOT_LOADER_NAME: u32 = 1 << 9;
pub const INFO_FRAMEBUFFER: u32 = 1 << 11;

/// `type` of a memory-map entry: available RAM.
pub const MMAP_AVAILABLE: u32 = 1;
/// `type` of a memory-map entry: reserved.
pub const MMAP_RESERVED: u32 = 2;

/// Sorts and merges `[start, end)` intervals.
fn union(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.retain(|(s, e)| e > s);
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The memory map as `(base, length, type)`, sorted by base and non-overlapping: RAM minus
/// the reserved ranges as type 1, the union of the reserved ranges (including the legacy
/// hole) as type 2.
pub fn memory_map(ram_map: &[(u64, u64)], reserved: &[Range]) -> Vec<(u64, u64, u32)> {
    let ram = union(ram_map.to_vec());
    let res = union(reserved.iter().map(|r| (r.start, r.end)).collect());
    let mut out = Vec::new();
    for &(mut s, e) in &ram {
        for &(rs, re) in &res {
            if re <= s || rs >= e {
                continue;
            }
            if rs > s {
                out.push((s, rs - s, MMAP_AVAILABLE));
            }
            s = re.min(e);
        }
        if e > s {
            out.push((s, e - s, MMAP_AVAILABLE));
        }
    }
    out.extend(res.iter().map(|&(s, e)| (s, e - s, MMAP_RESERVED)));
    out.sort_unstable();
    out
}

/// `(mem_lower, mem_upper)` in KiB: available RAM contiguous from 0 (at most 640 KiB) and
/// available RAM contiguous from 1 MiB (Multiboot 0.6.96 section 3.3).
pub fn mem_lower_upper(map: &[(u64, u64, u32)]) -> (u32, u32) {
    let avail = |at: u64| {
        map.iter().find(|&&(b, l, t)| t == MMAP_AVAILABLE && b <= at && at - b < l).map(|&(b, l, _)| b + l)
    };
    let lower = avail(0).map_or(0, |end| end.min(LEGACY_HOLE_START) / 1024);
    let upper = avail(LEGACY_HOLE_END).map_or(0, |end| (end - LEGACY_HOLE_END) / 1024);
    (lower as u32, upper.min(u64::from(u32::MAX)) as u32)
}

/// What [`build`] placed in RAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub info_addr: u64,
    pub gdt_addr: Option<u64>,
    pub modules: Vec<(u64, u64)>,
    pub end: u64,
}

fn put(ram: &mut GuestRam, at: u64, data: &[u8]) -> Result<(), LoadError> {
    if ram.write(GuestPhys(at), data) {
        Ok(())
    } else {
        // Unreachable in practice: the placer checked the range is RAM.
        Err(LoadError::NoRoom { what: "boot data".into(), size: data.len() as u64 })
    }
}

fn c_string(s: &str, what: &str) -> Result<Vec<u8>, LoadError> {
    if s.as_bytes().contains(&0) {
        return Err(LoadError::NulInString { what: what.into() });
    }
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    Ok(v)
}

fn addr32(what: &'static str, a: u64) -> Result<u32, LoadError> {
    u32::try_from(a).map_err(|_| LoadError::Above4GiB { what, addr: a })
}

/// Builds the information structure and loads the modules above `image_end`.
/// `extra_avoid` lists loader-private ranges (e.g. page tables); `gdt` is written into
/// the boot data when given.
pub fn build(
    ram: &mut GuestRam,
    opts: &MultibootOptions,
    image: (u64, u64),
    extra_avoid: &[Range],
    page_align_modules: bool,
    gdt: Option<&[u8]>,
) -> Result<Placed, LoadError> {
    let reserved = reserved_ranges(&opts.reserved);
    let ram_map: Vec<(u64, u64)> = if opts.ram_map.is_empty() {
        ram.regions().iter().map(|r| (r.base().raw(), r.base().raw().saturating_add(r.size()))).collect()
    } else {
        opts.ram_map.clone()
    };
    let map = memory_map(&ram_map, &reserved);
    let (mem_lower, mem_upper) = mem_lower_upper(&map);

    let mut avoid = reserved;
    avoid.extend_from_slice(extra_avoid);
    avoid.push(Range::new(image.0, image.1, "kernel image"));

    let cmdline = c_string(&opts.cmdline, "kernel command line")?;
    let name = c_string(BOOT_LOADER_NAME, "boot loader name")?;
    let mod_strings = opts
        .modules
        .iter()
        .enumerate()
        .map(|(i, m)| c_string(&m.cmdline, &format!("command line of module {i}")))
        .collect::<Result<Vec<_>, _>>()?;

    let mut p = Placer::new(image.1, &avoid);
    let info_addr = p.alloc(ram, INFO_SIZE, PAGE, "Multiboot information")?;
    let gdt_addr = match gdt {
        Some(g) => Some(p.alloc(ram, g.len() as u64, 16, "GDT")?),
        None => None,
    };
    let mmap_len = map.len() as u64 * 24;
    let mmap_addr = p.alloc(ram, mmap_len, 8, "memory map")?;
    let mods_len = opts.modules.len() as u64 * 16;
    let mods_addr = p.alloc(ram, mods_len, 8, "module list")?;
    let cmdline_addr = p.alloc(ram, cmdline.len() as u64, 1, "command line")?;
    let name_addr = p.alloc(ram, name.len() as u64, 1, "boot loader name")?;
    let mut mod_string_addrs = Vec::with_capacity(mod_strings.len());
    for (i, s) in mod_strings.iter().enumerate() {
        mod_string_addrs.push(p.alloc(ram, s.len() as u64, 1, &format!("command line of module {i}"))?);
    }
    let mut modules = Vec::with_capacity(opts.modules.len());
    let mod_align = if page_align_modules { PAGE } else { 8 };
    for (i, m) in opts.modules.iter().enumerate() {
        let len = m.data.len() as u64;
        let at = p.alloc(ram, len, mod_align, &format!("module {i}"))?;
        modules.push((at, at + len));
    }

    // Everything is placed; now write it.
    let mut info = [0u8; INFO_SIZE as usize];
    let mut set = |off: usize, v: u32| info[off..off + 4].copy_from_slice(&v.to_le_bytes());
    set(0, INFO_MEMORY | INFO_CMDLINE | INFO_MODS | INFO_MEM_MAP | INFO_BOOT_LOADER_NAME);
    set(4, mem_lower);
    set(8, mem_upper);
    set(16, addr32("command line", cmdline_addr)?);
    set(20, opts.modules.len() as u32);
    set(24, if opts.modules.is_empty() { 0 } else { addr32("module list", mods_addr)? });
    set(44, mmap_len as u32);
    set(48, addr32("memory map", mmap_addr)?);
    set(64, addr32("boot loader name", name_addr)?);
    put(ram, info_addr, &info)?;

    if let (Some(at), Some(g)) = (gdt_addr, gdt) {
        put(ram, at, g)?;
    }
    let mut mmap = Vec::with_capacity(mmap_len as usize);
    for &(base, len, ty) in &map {
        // Multiboot 0.6.96 section 3.3: size (of the rest, 20), base_addr, length, type.
        mmap.extend_from_slice(&20u32.to_le_bytes());
        mmap.extend_from_slice(&base.to_le_bytes());
        mmap.extend_from_slice(&len.to_le_bytes());
        mmap.extend_from_slice(&ty.to_le_bytes());
    }
    put(ram, mmap_addr, &mmap)?;
    let mut list = Vec::with_capacity(mods_len as usize);
    for (i, &(start, end)) in modules.iter().enumerate() {
        // Multiboot 0.6.96 section 3.3: mod_start, mod_end, string, reserved.
        list.extend_from_slice(&addr32("module", start)?.to_le_bytes());
        list.extend_from_slice(&addr32("module end", end)?.to_le_bytes());
        list.extend_from_slice(&addr32("module string", mod_string_addrs[i])?.to_le_bytes());
        list.extend_from_slice(&0u32.to_le_bytes());
    }
    put(ram, mods_addr, &list)?;
    put(ram, cmdline_addr, &cmdline)?;
    put(ram, name_addr, &name)?;
    for (s, &at) in mod_strings.iter().zip(&mod_string_addrs) {
        put(ram, at, s)?;
    }
    for (m, &(at, _)) in opts.modules.iter().zip(&modules) {
        put(ram, at, &m.data)?;
    }
    Ok(Placed { info_addr, gdt_addr, modules, end: p.cursor() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_map_splits_ram_around_reserved() {
        let res = reserved_ranges(&[
            (0x7f0_0000, 0x800_0000, "fw".into()),
            (0xfec0_0000, 0xfec0_1000, "ioapic".into()),
        ]);
        let map = memory_map(&[(0, 0x800_0000)], &res);
        assert_eq!(
            map,
            vec![
                (0, 0xa_0000, 1),
                (0xa_0000, 0x6_0000, 2),
                (0x10_0000, 0x7e0_0000, 1),
                (0x7f0_0000, 0x10_0000, 2),
                (0xfec0_0000, 0x1000, 2),
            ]
        );
        assert_eq!(mem_lower_upper(&map), (640, (0x7f0_0000 - 0x10_0000) / 1024));
    }

    #[test]
    fn memory_map_without_low_ram() {
        let map = memory_map(&[(0x10_0000, 0x20_0000)], &reserved_ranges(&[]));
        assert_eq!(mem_lower_upper(&map), (0, 1024));
    }
}
