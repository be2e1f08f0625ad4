//! Guest RAM: one anonymous `memmap2` mapping per region. Anonymous mappings are
//! populated lazily by the host kernel, so a large guest that touches little memory costs
//! little host memory.

use crate::{Error, GuestPhys, Result};
use memmap2::MmapMut;

/// One contiguous region of guest RAM.
pub struct RamRegion {
    base: GuestPhys,
    size: u64,
    map: MmapMut,
    /// Per 4 KiB page: bit n set when 128-byte line n holds decoded code.
    code_lines: Vec<u32>,
    /// Per 4 KiB page: bumped whenever a store hits a line holding decoded code.
    code_gen: Vec<u32>,
    /// Index of this region's first page in the machine-wide page numbering.
    first_page: usize,
}

impl RamRegion {
    /// First guest-physical address of the region.
    pub fn base(&self) -> GuestPhys {
        self.base
    }
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// All guest RAM of a machine.
///
/// Besides the bytes it keeps the self-modifying-code state shared by every CPU (the idea of
/// Bochs' per-page code masks): which 128-byte lines of each 4 KiB page hold decoded code, a
/// per-page generation that stores into such lines bump (decoded blocks remember the
/// generation they were decoded under), and an epoch that advances whenever a page becomes a
/// code page for the first time, so CPUs know to drop write permissions cached in their TLBs.
/// Host-side writes through this type (loaders, DMA) go through the same check.
pub struct GuestRam {
    regions: Vec<RamRegion>,
    code_epoch: u64,
    smc_invalidations: u64,
}

/// Line size of self-modifying-code tracking.
pub const CODE_LINE: u64 = 128;

impl GuestRam {
    /// Creates RAM from `(base, size)` regions. Regions must be page-aligned, non-empty and
    /// must not overlap.
    pub fn new(layout: &[(GuestPhys, u64)]) -> Result<Self> {
        let mut regions: Vec<RamRegion> = Vec::with_capacity(layout.len());
        for &(base, size) in layout {
            if size == 0 || base.raw() & 0xfff != 0 || size & 0xfff != 0 {
                return Err(Error::Ram(format!(
                    "region {base}+{size:#x} must be non-empty and 4 KiB aligned"
                )));
            }
            let end = base
                .raw()
                .checked_add(size)
                .ok_or_else(|| Error::Ram(format!("region {base}+{size:#x} wraps the address space")))?;
            if let Some(r) = regions.iter().find(|r| base.raw() < r.base.raw() + r.size && r.base.raw() < end)
            {
                return Err(Error::Ram(format!("region {base}+{size:#x} overlaps {}+{:#x}", r.base, r.size)));
            }
            let len = usize::try_from(size)
                .map_err(|_| Error::Ram(format!("region size {size:#x} too large for host")))?;
            let map = MmapMut::map_anon(len).map_err(|e| Error::Io {
                what: format!("mapping {size:#x} bytes of guest RAM"),
                source: e,
            })?;
            let pages = (size >> 12) as usize;
            // vec![0; n] comes from calloc: untouched pages cost no host memory.
            regions.push(RamRegion {
                base,
                size,
                map,
                code_lines: vec![0; pages],
                code_gen: vec![0; pages],
                first_page: 0,
            });
        }
        regions.sort_by_key(|r| r.base);
        let mut first = 0;
        for r in &mut regions {
            r.first_page = first;
            first += (r.size >> 12) as usize;
        }
        Ok(Self { regions, code_epoch: 0, smc_invalidations: 0 })
    }

    /// Machine-wide page number of `pa`, if it is RAM (used to key code generations).
    #[inline]
    pub fn page_number(&self, pa: GuestPhys) -> Option<usize> {
        let (i, off) = self.locate(pa, 1)?;
        Some(self.regions[i].first_page + (off >> 12))
    }

    fn page_slot(&self, page: usize) -> Option<(usize, usize)> {
        let i = self.regions.iter().rposition(|r| r.first_page <= page)?;
        let r = &self.regions[i];
        let k = page - r.first_page;
        (k < r.code_gen.len()).then_some((i, k))
    }

    /// Current code generation of machine-wide page `page`.
    #[inline]
    pub fn code_gen(&self, page: usize) -> u32 {
        // Fast path: one region (the common layout) needs no search.
        let r = &self.regions[0];
        if page < r.code_gen.len() {
            return r.code_gen[page];
        }
        self.page_slot(page).map_or(u32::MAX, |(i, k)| self.regions[i].code_gen[k])
    }

    /// Records that `[pa, pa+len)` (within one page) now holds decoded code; returns the page
    /// number and its current generation.
    pub fn mark_code(&mut self, pa: GuestPhys, len: u64) -> Option<(usize, u32)> {
        let (i, off) = self.locate(pa, len.max(1))?;
        let r = &mut self.regions[i];
        let k = off >> 12;
        let in_page = off as u64 & 0xfff;
        let first = in_page / CODE_LINE;
        let last = (in_page + len.max(1) - 1).min(0xfff) / CODE_LINE;
        let bits = (((1u64 << (last + 1)) - 1) & !((1u64 << first) - 1)) as u32;
        if r.code_lines[k] == 0 {
            self.code_epoch += 1;
        }
        r.code_lines[k] |= bits;
        Some((r.first_page + k, r.code_gen[k]))
    }

    /// Pointer to the code-line mask of the page holding `pa` (for soft-TLB entries: a store
    /// whose line bit is clear in the mask cannot hit decoded code). Valid as long as this
    /// `GuestRam` lives: the mask arrays are never reallocated.
    pub fn code_mask_ptr(&self, pa: GuestPhys) -> Option<*const u32> {
        let (i, off) = self.locate(pa, 1)?;
        Some(&self.regions[i].code_lines[off >> 12] as *const u32)
    }

    /// A store to `[pa, pa+len)`: if it touches a line holding decoded code, the page's
    /// generation advances (every block decoded from it becomes stale). Returns whether it did.
    #[inline]
    pub fn code_write(&mut self, pa: GuestPhys, len: u64) -> bool {
        let mut hit = false;
        let mut a = pa.raw();
        let end = pa.raw().saturating_add(len.max(1));
        while a < end {
            let page_end = (a | 0xfff) + 1;
            let n = page_end.min(end) - a;
            if let Some((i, off)) = self.locate(GuestPhys(a), 1) {
                let r = &mut self.regions[i];
                let k = off >> 12;
                let lines = r.code_lines[k];
                if lines != 0 {
                    let in_page = a & 0xfff;
                    let first = in_page / CODE_LINE;
                    let last = (in_page + n - 1) / CODE_LINE;
                    let bits = (((1u64 << (last + 1)) - 1) & !((1u64 << first) - 1)) as u32;
                    if lines & bits != 0 {
                        r.code_gen[k] = r.code_gen[k].wrapping_add(1);
                        // The lines are decoded again when next executed.
                        r.code_lines[k] &= !bits;
                        self.smc_invalidations += 1;
                        hit = true;
                    }
                }
            }
            a = page_end;
        }
        hit
    }

    /// Advances whenever a page first becomes a code page.
    #[inline]
    pub fn code_epoch(&self) -> u64 {
        self.code_epoch
    }

    /// Number of stores that invalidated decoded code.
    pub fn smc_invalidations(&self) -> u64 {
        self.smc_invalidations
    }

    /// The regions, sorted by base address.
    pub fn regions(&self) -> &[RamRegion] {
        &self.regions
    }

    /// Total RAM size in bytes.
    pub fn total_size(&self) -> u64 {
        self.regions.iter().map(|r| r.size).sum()
    }

    #[inline]
    fn locate(&self, pa: GuestPhys, len: u64) -> Option<(usize, usize)> {
        for (i, r) in self.regions.iter().enumerate() {
            let off = pa.raw().wrapping_sub(r.base.raw());
            if off < r.size && len <= r.size - off {
                return Some((i, off as usize));
            }
        }
        None
    }

    /// True if `[pa, pa+len)` lies entirely in one RAM region.
    pub fn contains(&self, pa: GuestPhys, len: u64) -> bool {
        self.locate(pa, len).is_some()
    }

    /// A slice of guest RAM, if `[pa, pa+len)` is RAM.
    #[inline]
    pub fn slice(&self, pa: GuestPhys, len: usize) -> Option<&[u8]> {
        let (i, off) = self.locate(pa, len as u64)?;
        Some(&self.regions[i].map[off..off + len])
    }

    /// A mutable slice of guest RAM, if `[pa, pa+len)` is RAM. Counts as a store for
    /// self-modifying-code tracking.
    #[inline]
    pub fn slice_mut(&mut self, pa: GuestPhys, len: usize) -> Option<&mut [u8]> {
        let (i, off) = self.locate(pa, len as u64)?;
        if self.regions[i].code_lines[off >> 12..=(off + len.max(1) - 1) >> 12].iter().any(|&m| m != 0) {
            self.code_write(pa, len as u64);
        }
        Some(&mut self.regions[i].map[off..off + len])
    }

    /// Host pointer to the 4 KiB page holding `pa` (for soft-TLB fills), if it is RAM.
    #[inline]
    pub fn page_ptr(&mut self, pa: GuestPhys) -> Option<*mut u8> {
        let base = pa.page_base();
        let (i, off) = self.locate(base, 0x1000)?;
        // SAFETY: `off + 0x1000 <= size` was checked by `locate`, so the pointer stays
        // inside the mapping, which lives as long as `self`.
        Some(unsafe { self.regions[i].map.as_mut_ptr().add(off) })
    }

    /// Copies guest RAM into `buf`; `false` if any byte is outside RAM.
    pub fn read(&self, pa: GuestPhys, buf: &mut [u8]) -> bool {
        match self.slice(pa, buf.len()) {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }

    /// Copies `data` into guest RAM; `false` if any byte is outside RAM (nothing written).
    pub fn write(&mut self, pa: GuestPhys, data: &[u8]) -> bool {
        match self.slice_mut(pa, data.len()) {
            Some(s) => {
                s.copy_from_slice(data);
                true
            }
            None => false,
        }
    }

    /// Little-endian read of `N` bytes at `pa`.
    #[inline]
    pub fn read_le<const N: usize>(&self, pa: GuestPhys) -> Option<[u8; N]> {
        self.slice(pa, N).map(|s| s.try_into().expect("length N"))
    }

    /// Reads a little-endian u64.
    pub fn read_u64(&self, pa: GuestPhys) -> Option<u64> {
        self.read_le::<8>(pa).map(u64::from_le_bytes)
    }
    /// Reads a little-endian u32.
    pub fn read_u32(&self, pa: GuestPhys) -> Option<u32> {
        self.read_le::<4>(pa).map(u32::from_le_bytes)
    }
    /// Writes a little-endian u64.
    pub fn write_u64(&mut self, pa: GuestPhys, v: u64) -> bool {
        self.write(pa, &v.to_le_bytes())
    }
    /// Writes a little-endian u32.
    pub fn write_u32(&mut self, pa: GuestPhys, v: u32) -> bool {
        self.write(pa, &v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_access() {
        let mut ram =
            GuestRam::new(&[(GuestPhys(0), 0x10000), (GuestPhys(0x100000), 0x1000)]).expect("layout");
        assert_eq!(ram.total_size(), 0x11000);
        assert!(ram.write_u64(GuestPhys(0xfff8), 0x1122_3344_5566_7788));
        assert_eq!(ram.read_u64(GuestPhys(0xfff8)), Some(0x1122_3344_5566_7788));
        // Straddling the end of a region is not RAM.
        assert!(!ram.write_u64(GuestPhys(0xfffc), 1));
        assert_eq!(ram.read_u32(GuestPhys(0x10_0ffc)), Some(0));
        assert!(ram.read_u32(GuestPhys(0x10_1000)).is_none());
        assert!(ram.page_ptr(GuestPhys(0x10_0123)).is_some());
    }

    #[test]
    fn code_lines_and_generations() {
        let mut ram = GuestRam::new(&[(GuestPhys(0), 0x4000), (GuestPhys(0x10_0000), 0x2000)]).unwrap();
        assert_eq!(ram.page_number(GuestPhys(0x10_1234)), Some(5));
        let e0 = ram.code_epoch();
        let (page, gen) = ram.mark_code(GuestPhys(0x10_1080), 16).unwrap();
        assert_eq!((page, gen), (5, 0));
        assert_eq!(ram.code_epoch(), e0 + 1);
        // Another line of the same page: no new epoch.
        ram.mark_code(GuestPhys(0x10_1100), 4).unwrap();
        assert_eq!(ram.code_epoch(), e0 + 1);
        // A store into a data line of the page does not invalidate.
        assert!(!ram.code_write(GuestPhys(0x10_1000), 8));
        assert!(ram.write_u64(GuestPhys(0x10_1200), 1));
        assert_eq!(ram.code_gen(5), 0);
        // A store into a code line does, once per decode.
        assert!(ram.code_write(GuestPhys(0x10_10f8), 16)); // spans lines 1 and 2
        assert_eq!(ram.code_gen(5), 1);
        assert!(!ram.code_write(GuestPhys(0x10_1080), 1));
        // Host-side writes (loaders, DMA) go through the same check.
        ram.mark_code(GuestPhys(0x2000), 1).unwrap();
        assert!(ram.write(GuestPhys(0x2000), &[0x90]));
        assert_eq!(ram.code_gen(2), 1);
        assert_eq!(ram.smc_invalidations(), 2);
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert!(GuestRam::new(&[(GuestPhys(0), 0)]).is_err());
        assert!(GuestRam::new(&[(GuestPhys(0x10), 0x1000)]).is_err());
        assert!(GuestRam::new(&[(GuestPhys(0), 0x2000), (GuestPhys(0x1000), 0x1000)]).is_err());
    }

    #[test]
    fn large_ram_is_lazy() {
        // 4 GiB of guest RAM must be cheap to create; touching a little costs a little.
        let mut ram = GuestRam::new(&[(GuestPhys(0), 4 << 30)]).expect("4 GiB lazily");
        assert!(ram.write_u64(GuestPhys((4 << 30) - 8), 7));
        assert_eq!(ram.read_u64(GuestPhys((4 << 30) - 8)), Some(7));
    }
}
