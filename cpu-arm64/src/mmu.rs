//! VMSAv8-64 stage-1 translation (Arm ARM D8: 4 KiB, 16 KiB and 64 KiB granules, 25- to
//! 48-bit input ranges, TTBR0/TTBR1 for the EL1&0 regime, hierarchical permissions, PAN),
//! the memory attributes that matter to a functional model (Device vs Normal, for alignment),
//! and a soft TLB of host pointers. Loads and stores of every width go through here.

use crate::cpu::Arm64Cpu;
use crate::exception::{fsc, Exc};
use crate::platform::Arm64Platform;
use sim_core::GuestPhys;

/// Physical address size (ID_AA64MMFR0_EL1.PARange = 40 bits).
pub const PA_BITS: u32 = 40;

/// The kind of access.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Acc {
    Read,
    Write,
    Fetch,
}

const TLB_SIZE: usize = 256;

// Permission bits of a TLB entry.
const R0: u8 = 1;
const W0: u8 = 2;
const X0: u8 = 4;
const R1: u8 = 8;
const W1: u8 = 16;
const X1: u8 = 32;
/// The page is accessible from EL0 (PAN applies to EL1 data accesses).
const USER: u8 = 64;
/// Device memory (unaligned accesses fault, D8.2.10 / B2.5.2).
const DEVICE: u8 = 128;

#[derive(Copy, Clone)]
struct Entry {
    tag: u64,
    host: *mut u8,
    pa: u64,
    perm: u8,
    code: *const u32,
}

const INVALID: u64 = u64::MAX;

/// The soft TLB: direct mapped on the 4 KiB virtual page, tagged with the regime.
pub struct Tlb {
    e: Box<[Entry; TLB_SIZE]>,
    /// Flushes (TLBI, translation-register writes).
    pub flushes: u64,
}

impl Tlb {
    pub(crate) fn new() -> Self {
        let e = Entry { tag: INVALID, host: std::ptr::null_mut(), pa: 0, perm: 0, code: std::ptr::null() };
        Self { e: Box::new([e; TLB_SIZE]), flushes: 0 }
    }
    /// Drops every entry. TLB maintenance of any scope is implemented as this (a TLB may
    /// always drop more than asked, D8.13).
    pub(crate) fn flush(&mut self) {
        self.flushes += 1;
        for e in self.e.iter_mut() {
            e.tag = INVALID;
        }
    }
}

/// A translated address.
#[derive(Copy, Clone, Debug)]
pub struct Translation {
    /// Physical address.
    pub pa: u64,
    /// Host pointer for RAM, null for MMIO.
    pub host: *mut u8,
    /// Device memory.
    pub device: bool,
    code: *const u32,
}

/// Result of a table walk: physical page base, permissions (TLB bits), page size.
struct Walk {
    pa: u64,
    perm: u8,
    size_bits: u32,
    /// MAIR attribute byte and shareability (descriptor SH) for PAR_EL1.
    attr: u8,
    sh: u8,
}

impl Arm64Cpu {
    /// The translation regime of the current EL: 1 (EL1&0), 2 or 3.
    #[inline]
    fn regime(&self) -> u8 {
        self.el.max(1)
    }

    #[inline]
    fn tag(va: u64, regime: u8) -> u64 {
        (va >> 12) & ((1 << 52) - 1) | (regime as u64) << 56
    }

    /// Translates `va` for `acc` at the current EL (`unpriv`: LDTR/STTR at EL1 check EL0
    /// permissions, C6.2).
    pub(crate) fn translate(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        acc: Acc,
    ) -> Result<Translation, Exc> {
        self.translate_as(p, va, acc, false)
    }

    pub(crate) fn translate_as(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        acc: Acc,
        unpriv: bool,
    ) -> Result<Translation, Exc> {
        let regime = self.regime();
        let el0 = self.el == 0 || unpriv;
        let need = match (acc, el0) {
            (Acc::Read, true) => R0,
            (Acc::Write, true) => W0,
            (Acc::Fetch, true) => X0,
            (Acc::Read, false) => R1,
            (Acc::Write, false) => W1,
            (Acc::Fetch, false) => X1,
        };
        // Top-byte-ignore for data addresses (TCR_ELx.TBI, D8.8).
        let va_t = if acc != Acc::Fetch { self.tbi(va) } else { va };
        let tag = Self::tag(va_t, regime);
        let e = self.tlb.e[(va_t >> 12) as usize % TLB_SIZE];
        let pan_blocks =
            |cpu: &Self, perm: u8| regime == 1 && !el0 && cpu.pan && acc != Acc::Fetch && perm & USER != 0;
        if e.tag == tag && e.perm & need != 0 && !pan_blocks(self, e.perm) {
            let off = va_t & 0xfff;
            let host = if e.host.is_null() {
                e.host
            } else {
                // SAFETY: `host` is the start of a 4 KiB RAM page and `off < 4096`.
                unsafe { e.host.add(off as usize) }
            };
            return Ok(Translation { pa: e.pa | off, host, device: e.perm & DEVICE != 0, code: e.code });
        }
        let w = self.walk(p, va, va_t, regime, acc)?;
        if w.perm & need == 0 || pan_blocks(self, w.perm) {
            return Err(self.perm_fault(va, acc, w.size_bits));
        }
        let page = (w.pa & !((1u64 << w.size_bits) - 1)) | (va_t & ((1u64 << w.size_bits) - 1) & !0xfff);
        let ram = p.ram();
        let host = ram.page_ptr(GuestPhys(page)).unwrap_or(std::ptr::null_mut());
        let code = ram.code_mask_ptr(GuestPhys(page)).unwrap_or(std::ptr::null());
        self.tlb.e[(va_t >> 12) as usize % TLB_SIZE] = Entry { tag, host, pa: page, perm: w.perm, code };
        let off = va_t & 0xfff;
        let host = if host.is_null() {
            host
        } else {
            // SAFETY: as above.
            unsafe { host.add(off as usize) }
        };
        Ok(Translation { pa: page | off, host, device: w.perm & DEVICE != 0, code })
    }

    fn perm_fault(&self, va: u64, acc: Acc, size_bits: u32) -> Exc {
        // The level that held the final descriptor: 3 for pages, 2/1 for blocks.
        let level = match size_bits {
            12 | 14 | 16 => 3,
            21 | 25 | 29 => 2,
            _ => 1,
        };
        fault(va, acc, fsc::permission(level))
    }

    /// Applies top-byte-ignore for the regime (TCR_EL1.TBI0/TBI1 bits 37/38; TCR_EL2/EL3.TBI
    /// bit 20): the tag byte is replaced by the sign of bit 55.
    fn tbi(&self, va: u64) -> u64 {
        let tcr = self.sys.tcr[self.regime() as usize];
        let on = match self.regime() {
            1 => tcr & (1 << (37 + ((va >> 55) & 1))) != 0,
            _ => tcr & (1 << 20) != 0,
        };
        if on {
            (((va << 8) as i64) >> 8) as u64
        } else {
            va
        }
    }

    /// The stage-1 walk (D8.2-D8.4). `va` is reported in faults; `va_t` is translated.
    fn walk(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        va_t: u64,
        regime: u8,
        acc: Acc,
    ) -> Result<Walk, Exc> {
        let r = regime as usize;
        let sctlr = self.sys.sctlr[r];
        if sctlr & 1 == 0 {
            // Stage 1 disabled (D8.2.10): flat mapping, data Device-nGnRnE, instructions
            // Normal; addresses beyond PARange give an address size fault at level 0.
            if va_t >> PA_BITS != 0 {
                return Err(fault(va, acc, fsc::addr_size(0)));
            }
            // DEVICE matters only to data accesses (fetches never check it).
            let perm = R0 | W0 | X0 | R1 | W1 | X1 | DEVICE;
            return Ok(Walk { pa: va_t, perm, size_bits: 12, attr: 0, sh: 2 });
        }
        let tcr = self.sys.tcr[r];
        // Which half of the address space (D8.2.3): EL1&0 has TTBR0 (top bits 0) and TTBR1
        // (top bits 1); EL2/EL3 have only TTBR0.
        let upper = regime == 1 && (va_t >> 55) & 1 == 1;
        let (tsz, tg, ttbr, epd) = if upper {
            ((tcr >> 16) & 0x3f, (tcr >> 30) & 3, self.sys.ttbr1_el1, tcr & (1 << 23) != 0)
        } else {
            (tcr & 0x3f, (tcr >> 14) & 3, self.sys.ttbr0[r], regime == 1 && tcr & (1 << 7) != 0)
        };
        let granule_bits: u32 = if upper {
            match tg {
                1 => 14,
                3 => 16,
                _ => 12,
            }
        } else {
            match tg {
                1 => 16,
                2 => 14,
                _ => 12,
            }
        };
        // TxSZ out of range is treated as the nearest supported value (D8.2.5, an allowed
        // IMPLEMENTATION DEFINED choice): input size 25 to 48 bits.
        let ia = 64 - (tsz as u32).clamp(16, 39);
        let top = va_t >> ia;
        let ok = if upper { top == (u64::MAX >> ia) } else { top == 0 };
        if !ok || epd {
            return Err(fault(va, acc, fsc::translation(0)));
        }
        let stride = granule_bits - 3;
        let levels = (ia - granule_bits).div_ceil(stride);
        let mut level = 4 - levels;
        let mut table = ttbr & ((1u64 << 48) - 1) & !1;
        table &= !((1u64 << 3) - 1);
        // Hierarchical attributes (D8.4.2): APTable and XNTable/PXNTable from table
        // descriptors.
        let (mut ap_no_el0, mut ap_ro, mut xn_t, mut pxn_t) = (false, false, false, false);
        loop {
            let shift = granule_bits + stride * (3 - level);
            let bits = if level == 4 - levels { ia - shift } else { stride };
            let idx = (va_t >> shift) & ((1u64 << bits) - 1);
            let da = table + idx * 8;
            let Some(desc) = p.ram().read_u64(GuestPhys(da)) else {
                // Synchronous external abort on a translation table walk (0b0101LL).
                return Err(fault(va, acc, 0b010100 | level as u8));
            };
            let kind = desc & 3;
            let oa_mask = ((1u64 << 48) - 1) & !((1u64 << granule_bits) - 1);
            if kind & 1 == 0 {
                return Err(fault(va, acc, fsc::translation(level as u8)));
            }
            if kind == 3 && level < 3 {
                // Table descriptor.
                let next = desc & oa_mask;
                if next >> PA_BITS != 0 {
                    return Err(fault(va, acc, fsc::addr_size(level as u8)));
                }
                if regime == 1 {
                    ap_no_el0 |= desc & (1 << 61) != 0;
                    xn_t |= desc & (1 << 60) != 0;
                    pxn_t |= desc & (1 << 59) != 0;
                } else {
                    xn_t |= desc & (1 << 60) != 0;
                }
                ap_ro |= desc & (1 << 62) != 0;
                table = next;
                level += 1;
                continue;
            }
            // Block (kind 1) at levels allowed for the granule, or page (kind 3) at level 3.
            let block_ok = match granule_bits {
                12 => level == 1 || level == 2,
                _ => level == 2,
            };
            if kind == 1 && !(block_ok && level < 3) {
                return Err(fault(va, acc, fsc::translation(level as u8)));
            }
            let size_bits = shift;
            let oa = desc & ((1u64 << 48) - 1) & !((1u64 << size_bits) - 1);
            if oa >> PA_BITS != 0 {
                return Err(fault(va, acc, fsc::addr_size(level as u8)));
            }
            // Access flag (D8.4.5); hardware update is not implemented (FEAT_HAFDBS not
            // advertised), so AF = 0 faults.
            if desc & (1 << 10) == 0 {
                return Err(fault(va, acc, fsc::access_flag(level as u8)));
            }
            let ap = (desc >> 6) & 3;
            let pxn = desc & (1 << 53) != 0 || pxn_t;
            let uxn = desc & (1 << 54) != 0 || xn_t;
            let attr = (self.sys.mair[r] >> (8 * ((desc >> 2) & 7))) & 0xff;
            let device = attr & 0xf0 == 0;
            let wxn = self.sys.sctlr[r] & (1 << 19) != 0;
            let mut perm = 0u8;
            if regime == 1 {
                // AP[2:1] (D8.4.1 table): 00 EL1 RW; 01 EL1/EL0 RW; 10 EL1 RO; 11 both RO.
                let el0 = ap & 1 != 0 && !ap_no_el0;
                let ro = ap & 2 != 0 || ap_ro;
                perm |= R1;
                if !ro {
                    perm |= W1;
                }
                if el0 {
                    perm |= R0 | USER;
                    if !ro {
                        perm |= W0;
                    }
                }
                // EL1 cannot execute memory writable at EL0 (D8.4.3); WXN makes writable
                // memory execute-never.
                let w_any = perm & (W0 | W1) != 0;
                let el0_writable = el0 && !ro;
                if !(pxn || el0_writable || wxn && w_any) {
                    perm |= X1;
                }
                if !uxn && el0 && !(wxn && perm & W0 != 0) {
                    perm |= X0;
                }
            } else {
                // Single privilege level: AP[2] read-only; XN bit 54 (D8.4.1).
                let ro = ap & 2 != 0 || ap_ro;
                perm |= R1;
                if !ro {
                    perm |= W1;
                }
                let wxn_blocks = wxn && !ro;
                if !(uxn || wxn_blocks) {
                    perm |= X1;
                }
            }
            if device {
                perm |= DEVICE;
                // Instruction fetch from Device memory is a permission fault (D8.4.3 / B2.7.2).
                perm &= !(X0 | X1);
            }
            // Device memory reports Outer Shareable (D17.2.115 PAR_EL1.SH).
            let sh = if device { 2 } else { ((desc >> 8) & 3) as u8 };
            return Ok(Walk { pa: oa, perm, size_bits, attr: attr as u8, sh });
        }
    }

    /// AT S1E1R/S1E1W/S1E0R/S1E0W/S1E2R/... (C5.5): translates and writes PAR_EL1
    /// (D17.2.115: F=0 with PA[47:12], or F=1 with FST and S/PTW fields).
    pub(crate) fn at(&mut self, p: &mut dyn Arm64Platform, va: u64, write: bool, el0: bool, regime: u8) {
        let saved = self.el;
        self.el = if el0 { 0 } else { regime };
        let r = self.translate_as(p, va, if write { Acc::Write } else { Acc::Read }, el0 && saved != 0);
        self.el = saved;
        self.sys.par_el1 = match r {
            Ok(t) => {
                // Attributes come from a fresh walk (the TLB keeps only what the fast path needs).
                let (attr, sh) = {
                    let saved = self.el;
                    self.el = if el0 { 0 } else { regime };
                    let va_t = self.tbi(va);
                    let w = self.walk(p, va, va_t, regime, Acc::Read);
                    self.el = saved;
                    w.map(|w| (w.attr, w.sh)).unwrap_or((0, 0))
                };
                (attr as u64) << 56 | (t.pa & !0xfff & ((1 << 48) - 1)) | (sh as u64) << 7
            }
            Err(e) => 1 | ((e.iss as u64) & 0x3f) << 1,
        };
    }

    /// Reads `size` (1, 2, 4, 8) bytes at `va`. `aligned`: the access must be aligned
    /// (exclusives, acquire/release, atomics: B2.5.2).
    pub(crate) fn read(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        size: u64,
        aligned: bool,
        unpriv: bool,
    ) -> Result<u64, Exc> {
        if (va & 0xfff) + size > 0x1000 {
            self.check_align(va, size, aligned, false, Acc::Read)?;
            let mut v = 0u64;
            for i in 0..size {
                v |= self.read(p, va.wrapping_add(i), 1, false, unpriv)? << (8 * i);
            }
            return Ok(v);
        }
        let t = self.translate_as(p, va, Acc::Read, unpriv)?;
        self.check_align(va, size, aligned, t.device, Acc::Read)?;
        if !t.host.is_null() {
            // SAFETY: `host` points into a RAM page and the access does not cross it.
            return Ok(unsafe {
                match size {
                    1 => *t.host as u64,
                    2 => u16::from_le(std::ptr::read_unaligned(t.host as *const u16)) as u64,
                    4 => u32::from_le(std::ptr::read_unaligned(t.host as *const u32)) as u64,
                    _ => u64::from_le(std::ptr::read_unaligned(t.host as *const u64)),
                }
            });
        }
        self.stats.mmio_exits += 1;
        self.exit_block = true;
        p.sync(self.cycle_count());
        Ok(p.mmio_read(GuestPhys(t.pa), size as u8))
    }

    /// Writes `size` bytes at `va`.
    pub(crate) fn write(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        size: u64,
        val: u64,
        aligned: bool,
        unpriv: bool,
    ) -> Result<(), Exc> {
        if (va & 0xfff) + size > 0x1000 {
            self.check_align(va, size, aligned, false, Acc::Write)?;
            // Both pages must be writable before anything is written.
            self.translate_as(p, va, Acc::Write, unpriv)?;
            self.translate_as(p, va.wrapping_add(size - 1), Acc::Write, unpriv)?;
            for i in 0..size {
                self.write(p, va.wrapping_add(i), 1, val >> (8 * i), false, unpriv)?;
            }
            return Ok(());
        }
        let t = self.translate_as(p, va, Acc::Write, unpriv)?;
        self.check_align(va, size, aligned, t.device, Acc::Write)?;
        if !t.host.is_null() {
            // SAFETY: a non-null `code` points at this page's mask in the machine's GuestRam.
            if !t.code.is_null() && unsafe { *t.code } != 0 && p.ram().code_write(GuestPhys(t.pa), size) {
                self.exit_block = true; // the store hit decoded code
            }
            // SAFETY: `host` points into a RAM page and the access does not cross it.
            unsafe {
                match size {
                    1 => *t.host = val as u8,
                    2 => std::ptr::write_unaligned(t.host as *mut u16, (val as u16).to_le()),
                    4 => std::ptr::write_unaligned(t.host as *mut u32, (val as u32).to_le()),
                    _ => std::ptr::write_unaligned(t.host as *mut u64, val.to_le()),
                }
            }
            return Ok(());
        }
        self.stats.mmio_exits += 1;
        self.exit_block = true;
        p.sync(self.cycle_count());
        p.mmio_write(GuestPhys(t.pa), size as u8, val);
        Ok(())
    }

    /// Alignment checking (B2.5.2): SCTLR_ELx.A, accesses that must be aligned, and
    /// unaligned accesses to Device memory give an alignment fault.
    #[inline]
    fn check_align(&self, va: u64, size: u64, must: bool, device: bool, acc: Acc) -> Result<(), Exc> {
        if va & (size - 1) != 0 && (must || device || self.sys.sctlr[self.regime() as usize] & 2 != 0) {
            return Err(fault(va, acc, fsc::ALIGNMENT));
        }
        Ok(())
    }

    /// The physical address of a data access at `va` (for the exclusive monitor).
    pub(crate) fn data_pa(&mut self, p: &mut dyn Arm64Platform, va: u64, write: bool) -> Result<u64, Exc> {
        Ok(self.translate(p, va, if write { Acc::Write } else { Acc::Read })?.pa)
    }
}

fn fault(va: u64, acc: Acc, code: u8) -> Exc {
    match acc {
        Acc::Fetch => Exc::inst_abort(va, code),
        Acc::Write => Exc::data_abort(va, code, true),
        Acc::Read => Exc::data_abort(va, code, false),
    }
}
