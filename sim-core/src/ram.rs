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
pub struct GuestRam {
    regions: Vec<RamRegion>,
}

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
            regions.push(RamRegion { base, size, map });
        }
        regions.sort_by_key(|r| r.base);
        Ok(Self { regions })
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

    /// A mutable slice of guest RAM, if `[pa, pa+len)` is RAM.
    #[inline]
    pub fn slice_mut(&mut self, pa: GuestPhys, len: usize) -> Option<&mut [u8]> {
        let (i, off) = self.locate(pa, len as u64)?;
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
