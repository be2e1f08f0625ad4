//! Memory accesses through segmentation (SDM Vol 3A 3.4, 5.3 limit checks; 3.3.7.1 canonical
//! addresses in 64-bit mode) and paging, plus stack helpers.

use crate::cpu::X86Cpu;
use crate::fault::{exc_err, AC, GP, GP0, SS, X};
use crate::mmu::Access;
use crate::platform::X86Platform;
use crate::state::{cr0, flags, Mode, SS as SSR};
use sim_core::GuestPhys;

/// True if `la` is canonical for the current linear-address width.
#[inline]
pub fn canonical(la: u64, bits: u32) -> bool {
    let shift = 64 - bits;
    (((la << shift) as i64) >> shift) as u64 == la
}

impl X86Cpu {
    #[inline]
    pub(crate) fn la_bits(&self) -> u32 {
        if self.cr4 & crate::state::cr4::LA57 != 0 {
            57
        } else {
            48
        }
    }

    /// The fault for a bad access through segment `seg`: #SS for the stack segment, #GP else.
    #[inline]
    pub(crate) fn seg_fault(seg: usize) -> crate::fault::Fault {
        if seg == SSR {
            exc_err(SS, 0)
        } else {
            GP0
        }
    }

    /// Linear address of `seg:off` for an access of `size` bytes.
    #[inline]
    pub(crate) fn linear(&self, seg: usize, off: u64, size: u64, write: bool) -> X<u64> {
        if self.mode == Mode::Long64 {
            let base = if seg >= crate::state::FS { self.seg[seg].base } else { 0 };
            let la = base.wrapping_add(off);
            let bits = self.la_bits();
            // Both ends canonical: the sign-extension of each end must match itself.
            let end = la.wrapping_add(size - 1);
            if !canonical(la, bits) || !canonical(end, bits) {
                return Err(Self::seg_fault(seg));
            }
            return Ok(la);
        }
        let s = &self.seg[seg];
        let off = off & 0xffff_ffff;
        if self.mode != Mode::Real {
            // Null or unusable segment (SDM Vol 3A 5.4.1), type checks (5.5 table 5-?).
            if s.attr & 0x80 == 0 {
                return Err(Self::seg_fault(seg));
            }
            if write && (s.attr & 0x8 != 0 || s.attr & 0x2 == 0) {
                return Err(Self::seg_fault(seg));
            }
            if !write && s.attr & 0xa == 0x8 {
                return Err(Self::seg_fault(seg)); // execute-only code
            }
        }
        let last = off.wrapping_add(size - 1);
        let expand_down = s.attr & 0x1c == 0x14;
        if expand_down {
            let upper = if s.db() { 0xffff_ffff } else { 0xffff };
            if off <= s.limit as u64 || last > upper {
                return Err(Self::seg_fault(seg));
            }
        } else if last > s.limit as u64 || last < off {
            return Err(Self::seg_fault(seg));
        }
        Ok((s.base.wrapping_add(off)) & 0xffff_ffff)
    }

    /// Linear address of CS:`rip` for instruction fetch.
    #[inline]
    pub(crate) fn code_linear(&self, rip: u64) -> X<u64> {
        if self.mode == Mode::Long64 {
            if !canonical(rip, self.la_bits()) {
                return Err(GP0);
            }
            return Ok(rip);
        }
        let s = &self.seg[crate::state::CS];
        if rip > s.limit as u64 {
            return Err(GP0);
        }
        Ok(s.base.wrapping_add(rip) & 0xffff_ffff)
    }

    #[inline]
    fn check_align(&self, la: u64, size: u64) -> X<()> {
        // Alignment check (SDM Vol 3A 6.15, interrupt 17).
        if self.cpl == 3 && self.cr0 & cr0::AM != 0 && self.rflags & flags::AC != 0 && la & (size - 1) != 0 {
            return Err(exc_err(AC, 0));
        }
        Ok(())
    }

    /// Reads `size` bytes at linear address `la`.
    pub(crate) fn read_lin(&mut self, p: &mut dyn X86Platform, la: u64, size: u64, implicit: bool) -> X<u64> {
        if (la & 0xfff) + size <= 0x1000 {
            let t = self.translate(p, la, Access::Read, implicit)?;
            if !t.host.is_null() {
                // SAFETY: `t.host` points into a RAM page and the access does not cross it;
                // unaligned reads are allowed by `read_unaligned`. Guest memory is little
                // endian, so the values are converted from LE.
                return Ok(unsafe {
                    match size {
                        1 => *t.host as u64,
                        2 => u16::from_le(std::ptr::read_unaligned(t.host as *const u16)) as u64,
                        4 => u32::from_le(std::ptr::read_unaligned(t.host as *const u32)) as u64,
                        8 => u64::from_le(std::ptr::read_unaligned(t.host as *const u64)),
                        _ => {
                            let mut b = [0u8; 8];
                            std::ptr::copy_nonoverlapping(t.host, b.as_mut_ptr(), size.min(8) as usize);
                            u64::from_le_bytes(b)
                        }
                    }
                });
            }
            self.stats.mmio_exits += 1;
            self.exit_block = true;
            p.sync(self.cycle_count());
            return Ok(p.mmio_read(GuestPhys(t.pa), size as u8));
        }
        // Crosses a page: translate both pages first, then read bytewise.
        let mut v = 0u64;
        for i in 0..size {
            v |= self.read_lin(p, la.wrapping_add(i), 1, implicit)? << (8 * i);
        }
        Ok(v)
    }

    /// Writes `size` bytes at linear address `la`.
    pub(crate) fn write_lin(
        &mut self,
        p: &mut dyn X86Platform,
        la: u64,
        size: u64,
        val: u64,
        implicit: bool,
    ) -> X<()> {
        if (la & 0xfff) + size <= 0x1000 {
            let t = self.translate(p, la, Access::Write, implicit)?;
            if t.code && p.ram().code_write(GuestPhys(t.pa), size) {
                // The store hit decoded code: the next fetch must see it (SDM Vol 3A 11.6).
                self.exit_block = true;
            }
            if !t.host.is_null() {
                // SAFETY: `t.host` points into a RAM page and the access does not cross it;
                // `write_unaligned` allows any alignment. Stored little endian.
                unsafe {
                    match size {
                        1 => *t.host = val as u8,
                        2 => std::ptr::write_unaligned(t.host as *mut u16, (val as u16).to_le()),
                        4 => std::ptr::write_unaligned(t.host as *mut u32, (val as u32).to_le()),
                        8 => std::ptr::write_unaligned(t.host as *mut u64, val.to_le()),
                        _ => {
                            let b = val.to_le_bytes();
                            std::ptr::copy_nonoverlapping(b.as_ptr(), t.host, size.min(8) as usize);
                        }
                    }
                }
                return Ok(());
            }
            self.stats.mmio_exits += 1;
            self.exit_block = true;
            p.sync(self.cycle_count());
            p.mmio_write(GuestPhys(t.pa), size as u8, val);
            return Ok(());
        }
        // Check both pages before writing anything (no partial write on a fault).
        let end = la.wrapping_add(size - 1);
        self.translate(p, la, Access::Write, implicit)?;
        self.translate(p, end, Access::Write, implicit)?;
        for i in 0..size {
            self.write_lin(p, la.wrapping_add(i), 1, (val >> (8 * i)) & 0xff, implicit)?;
        }
        Ok(())
    }

    /// Reads `size` bytes at `seg:off`.
    #[inline]
    pub fn read_mem(&mut self, p: &mut dyn X86Platform, seg: usize, off: u64, size: u64) -> X<u64> {
        let la = self.linear(seg, off, size, false)?;
        self.check_align(la, size)?;
        if self.data_bps {
            self.check_data_bp(la, size, false);
        }
        self.read_lin(p, la, size, false)
    }

    /// Writes `size` bytes at `seg:off`.
    #[inline]
    pub fn write_mem(&mut self, p: &mut dyn X86Platform, seg: usize, off: u64, size: u64, val: u64) -> X<()> {
        let la = self.linear(seg, off, size, true)?;
        self.check_align(la, size)?;
        if self.data_bps {
            self.check_data_bp(la, size, true);
        }
        self.write_lin(p, la, size, val, false)
    }

    /// Checks that `seg:off` is writable for `size` bytes without writing (for
    /// read-modify-write instructions that must fault before changing anything).
    pub(crate) fn probe_write(&mut self, p: &mut dyn X86Platform, seg: usize, off: u64, size: u64) -> X<()> {
        let la = self.linear(seg, off, size, true)?;
        self.translate(p, la, Access::Write, false)?;
        self.translate(p, la.wrapping_add(size - 1), Access::Write, false)?;
        Ok(())
    }

    /// Width of the stack pointer in bytes: 8 in 64-bit mode, else SS.B.
    #[inline]
    pub(crate) fn stack_width(&self) -> u64 {
        if self.mode == Mode::Long64 {
            8
        } else if self.seg[SSR].db() {
            4
        } else {
            2
        }
    }

    #[inline]
    pub(crate) fn sp_mask(&self) -> u64 {
        match self.stack_width() {
            8 => u64::MAX,
            4 => 0xffff_ffff,
            _ => 0xffff,
        }
    }

    /// Sets RSP honouring the stack width (upper bits kept for 16-bit stacks).
    #[inline]
    pub(crate) fn set_sp(&mut self, v: u64) {
        let m = self.sp_mask();
        self.regs[4] = (self.regs[4] & !m) | (v & m);
    }

    /// Pushes `size` bytes.
    pub fn push(&mut self, p: &mut dyn X86Platform, size: u64, val: u64) -> X<()> {
        let sp = self.regs[4].wrapping_sub(size) & self.sp_mask();
        self.write_mem(p, SSR, sp, size, val)?;
        self.set_sp(sp);
        Ok(())
    }

    /// Pops `size` bytes.
    pub fn pop(&mut self, p: &mut dyn X86Platform, size: u64) -> X<u64> {
        let sp = self.regs[4] & self.sp_mask();
        let v = self.read_mem(p, SSR, sp, size)?;
        self.set_sp(sp.wrapping_add(size));
        Ok(v)
    }

    /// Reads a qword of a system table at linear address `la` (implicit supervisor access).
    pub(crate) fn read_sys(&mut self, p: &mut dyn X86Platform, la: u64, size: u64) -> X<u64> {
        self.read_lin(p, la, size, true)
    }

    /// Writes a system-table field (implicit supervisor access).
    pub(crate) fn write_sys(&mut self, p: &mut dyn X86Platform, la: u64, size: u64, v: u64) -> X<()> {
        self.write_lin(p, la, size, v, true)
    }

    /// #GP with a selector error code.
    #[inline]
    pub(crate) fn gp_sel(sel: u16) -> crate::fault::Fault {
        exc_err(GP, (sel & 0xfffc) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn canonical_addresses() {
        assert!(canonical(0x0000_7fff_ffff_ffff, 48));
        assert!(canonical(0xffff_8000_0000_0000, 48));
        assert!(!canonical(0x0000_8000_0000_0000, 48));
        assert!(canonical(0x0000_8000_0000_0000, 57));
    }
}
