//! The VMSAv8-64 (Arm ARM D8): stage-1 translation for the EL1&0, EL2, EL2&0 (FEAT_VHE) and
//! EL3 regimes (4 KiB, 16 KiB and 64 KiB granules, 25- to 48-bit input ranges, TTBR0/TTBR1,
//! ASIDs, hierarchical permissions, PAN, WXN, TBI), stage-2 translation of the EL1&0 regime
//! (VTCR_EL2/VTTBR_EL2, VMIDs, concatenated start-level tables, S2AP/XN, attribute
//! combining, stage-1 walks translated by stage 2), hardware management of the Access flag
//! and dirty state (FEAT_HAFDBS, both stages), address translation instructions (AT ->
//! PAR_EL1), TLB maintenance (TLBI), and a soft TLB of host pointers tagged with the regime,
//! ASID and VMID. Loads and stores of every width go through here.

use crate::cpu::Arm64Cpu;
use crate::exception::{fsc, Exc};
use crate::platform::Arm64Platform;
use sim_core::GuestPhys;
use std::cell::Cell;

/// Physical address size (ID_AA64MMFR0_EL1.PARange = 40 bits).
pub const PA_BITS: u32 = 40;

/// FEAT_HAFDBS level implemented (ID_AA64MMFR1_EL1.HAFDBS): 2 = Access flag and dirty state.
pub const HAFDBS: u64 = 2;

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

/// Descriptor bits (D8.3).
const AF: u64 = 1 << 10;
const AP2: u64 = 1 << 7;
const S2AP_W: u64 = 1 << 7;
const DBM: u64 = 1 << 51;

/// The VMID part of a TLB context word (the ASID is in bits 31:16).
const VMID_MASK: u64 = 0xffff;
const VPAGE_MASK: u64 = (1 << 52) - 1;

#[derive(Copy, Clone)]
struct Entry {
    tag: u64,
    host: *mut u8,
    pa: u64,
    perm: u8,
    /// log2 of the stage-1 page or block size (TLBI by VA removes every 4 KiB slice of it).
    s1_bits: u8,
    code: *const u32,
    /// ASID (bits 31:16) and VMID (bits 15:0) the entry was made under.
    ctx: u64,
    /// The bits of `ctx` that must match: all, or the VMID only for global entries (nG = 0).
    cmask: u64,
}

const INVALID: u64 = u64::MAX;

thread_local! {
    /// Count of Inner Shareable TLBIs executed by any PE on this thread. A machine runs all
    /// its PEs on one thread, so this over-approximates the PEs of one machine (a spurious
    /// flush is always allowed) without coupling machines on other threads.
    static TLBI_IS_EPOCH: Cell<u64> = const { Cell::new(0) };
}

/// The soft TLB: direct mapped on the 4 KiB virtual page (hashed with the ASID and VMID),
/// tagged with the regime, ASID and VMID (D8.13 "Translation Lookaside Buffers").
pub struct Tlb {
    e: Box<[Entry; TLB_SIZE]>,
    /// The current ASID/VMID context word of each regime (1: EL1&0, 2: EL2 or EL2&0, 3: EL3).
    ctx: [u64; 4],
    /// Flushes (TLBI, translation-register writes).
    pub flushes: u64,
    /// The value of [`TLBI_IS_EPOCH`] this TLB has caught up with.
    is_epoch: u64,
    /// The last instruction fetch translation: VA page and host page (null if none), for
    /// reading the faulting instruction's syndrome.
    fetch: (u64, *mut u8),
}

impl Tlb {
    pub(crate) fn new() -> Self {
        let e = Entry {
            tag: INVALID,
            host: std::ptr::null_mut(),
            pa: 0,
            perm: 0,
            s1_bits: 12,
            code: std::ptr::null(),
            ctx: 0,
            cmask: 0,
        };
        Self {
            e: Box::new([e; TLB_SIZE]),
            ctx: [0; 4],
            flushes: 0,
            is_epoch: TLBI_IS_EPOCH.with(Cell::get),
            fetch: (INVALID, std::ptr::null_mut()),
        }
    }
    /// The slot of a VA under context `ctx`: the ASID and VMID take part so that address
    /// spaces do not evict each other's entries for the same VA.
    #[inline]
    fn index(va: u64, ctx: u64) -> usize {
        ((va >> 12) ^ Self::index_hash(ctx)) as usize % TLB_SIZE
    }
    /// The part of [`Tlb::index`] that depends on the context only.
    #[inline]
    fn index_hash(ctx: u64) -> u64 {
        (ctx >> 16) ^ (ctx << 3)
    }
    /// Drops every entry.
    pub(crate) fn flush(&mut self) {
        self.invalidate(|_| true);
    }
    /// Drops the entries `f` selects (a TLB may always drop more than asked, D8.13).
    fn invalidate(&mut self, f: impl Fn(&Entry) -> bool) {
        self.flushes += 1;
        for e in self.e.iter_mut() {
            if e.tag != INVALID && f(e) {
                e.tag = INVALID;
            }
        }
    }
    /// Valid entries (for tests).
    #[cfg(test)]
    pub(crate) fn valid(&self) -> usize {
        self.e.iter().filter(|e| e.tag != INVALID).count()
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

/// The registers of one stage-1 regime.
#[derive(Copy, Clone)]
struct Regime {
    /// Stage 1 enabled (SCTLR_ELx.M, not overridden by HCR_EL2.{TGE,DC}).
    m: bool,
    /// HCR_EL2.DC: stage 1 off gives Normal Write-Back memory.
    dc: bool,
    sctlr: u64,
    tcr: u64,
    ttbr0: u64,
    ttbr1: u64,
    mair: u64,
    /// Two VA ranges, ASIDs and an EL0 (EL1&0, EL2&0): the TCR_EL1 layout.
    two: bool,
}

/// Result of a stage-1 walk.
struct S1 {
    /// Output address (IPA when stage 2 applies) of the translated address.
    out: u64,
    perm: u8,
    level: u8,
    size_bits: u32,
    /// MAIR attribute byte and shareability (descriptor SH) for PAR_EL1.
    attr: u8,
    sh: u8,
    global: bool,
    /// A hardware descriptor update due if the access passes its permission checks.
    upd: Option<Upd>,
}

/// A hardware update of a descriptor (FEAT_HAFDBS, D8.4.x "Hardware management of the
/// Access flag and dirty state").
#[derive(Copy, Clone)]
struct Upd {
    /// Where the descriptor is: physical address, and the IPA when stage 2 applies to it.
    pa: u64,
    ipa: Option<u64>,
    set: u64,
    clear: u64,
}

/// How a stage-2 lookup is used: for the access itself, for a stage-1 table read, or for a
/// hardware update of a stage-1 descriptor (D8 stage 2 permission checks; the syndrome's
/// S1PTW and WnR).
#[derive(Copy, Clone, PartialEq, Eq)]
enum S2Use {
    Access,
    Walk,
    WalkUpdate,
}

/// Result of a stage-2 lookup that passed its checks.
struct S2 {
    pa: u64,
    /// TLB permission bits stage 2 allows (R/W/X for both ELs).
    mask: u8,
    device: bool,
    memattr: u8,
    sh: u8,
}

/// The result of a full translation.
struct Res {
    pa: u64,
    perm: u8,
    s1_bits: u32,
    global: bool,
    attr: u8,
    sh: u8,
}

/// Options of a translation.
#[derive(Copy, Clone)]
struct Opts {
    /// PSTATE.PAN applies (privileged data access).
    pan: bool,
    /// An AT instruction: no hardware updates, CM = 1 in stage-2 syndromes.
    at: bool,
    /// Translate the stage-1 output through stage 2 (not for AT S1E1*).
    s2_out: bool,
}

/// The input size of a PS/IPS/PARange encoding, limited to the implemented PA size (D8.2.x).
fn ps_bits(ps: u64) -> u32 {
    let b = match ps & 7 {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        5 => 48,
        _ => 52,
    };
    b.min(PA_BITS)
}

fn need_bits(acc: Acc, el0: bool) -> u8 {
    match (acc, el0) {
        (Acc::Read, true) => R0,
        (Acc::Write, true) => W0,
        (Acc::Fetch, true) => X0,
        (Acc::Read, false) => R1,
        (Acc::Write, false) => W1,
        (Acc::Fetch, false) => X1,
    }
}

impl Arm64Cpu {
    /// The translation regime of the current EL: 1 (EL1&0), 2 (EL2, or EL2&0 when
    /// HCR_EL2.E2H = 1, which EL0 uses too when HCR_EL2.TGE = 1: D8.1.x), or 3.
    #[inline]
    fn regime(&self) -> u8 {
        match self.el {
            0 if self.sys.in_host() => 2,
            0 => 1,
            el => el,
        }
    }

    #[inline]
    fn tag(va: u64, regime: u8) -> u64 {
        (va >> 12) & VPAGE_MASK | (regime as u64) << 56
    }

    /// Stage 2 applies to the EL1&0 regime: EL2 enabled, not {E2H, TGE} = {1, 1}, and
    /// HCR_EL2.VM or HCR_EL2.DC (D8.1, D17.2.48 HCR_EL2.VM/DC).
    #[inline]
    pub(crate) fn s2_active(&self) -> bool {
        let s = &self.sys;
        s.el2_enabled() && !s.in_host() && s.hcr_el2 & (1 | 1 << 12) != 0
    }

    fn regime_regs(&self, regime: u8) -> Regime {
        let s = &self.sys;
        match regime {
            1 => {
                // HCR_EL2.TGE and HCR_EL2.DC make SCTLR_EL1.M behave as 0 (D17.2.48).
                let en2 = s.el2_enabled();
                let dc = en2 && s.hcr_el2 & (1 << 12) != 0;
                let tge = en2 && s.tge();
                Regime {
                    m: s.sctlr[1] & 1 != 0 && !dc && !tge,
                    dc,
                    sctlr: s.sctlr[1],
                    tcr: s.tcr[1],
                    ttbr0: s.ttbr0[1],
                    ttbr1: s.ttbr1_el1,
                    mair: s.mair[1],
                    two: true,
                }
            }
            r => Regime {
                m: s.sctlr[r as usize] & 1 != 0,
                dc: false,
                sctlr: s.sctlr[r as usize],
                tcr: s.tcr[r as usize],
                ttbr0: s.ttbr0[r as usize],
                ttbr1: if r == 2 { s.ttbr1_el2 } else { 0 },
                mair: s.mair[r as usize],
                // With HCR_EL2.E2H = 1, TCR_EL2 has the TCR_EL1 layout (FEAT_VHE, D17.2.131).
                two: r == 2 && s.e2h(),
            },
        }
    }

    /// Recomputes the ASID/VMID context of each regime from TTBRx/TCR/VTTBR_EL2 (D8.13.x:
    /// the ASID comes from TTBR0 or TTBR1 as TCR.A1 selects, 8 or 16 bits as TCR.AS says;
    /// the VMID from VTTBR_EL2[55:48] when EL2 is enabled, 8-bit VMIDs).
    pub(crate) fn tlb_refresh_ctx(&mut self) {
        let s = &self.sys;
        let asid = |tcr: u64, t0: u64, t1: u64| {
            let t = if tcr & (1 << 22) != 0 { t1 } else { t0 };
            let a = t >> 48;
            if tcr & (1 << 36) != 0 {
                a & 0xffff
            } else {
                a & 0xff
            }
        };
        let vmid = if s.el2_enabled() { (s.vttbr_el2 >> 48) & 0xff } else { 0 };
        self.tlb.ctx[1] = asid(s.tcr[1], s.ttbr0[1], s.ttbr1_el1) << 16 | vmid;
        self.tlb.ctx[2] = if s.e2h() { asid(s.tcr[2], s.ttbr0[2], s.ttbr1_el2) << 16 } else { 0 };
        self.tlb.ctx[3] = 0;
    }

    /// Translates `va` for `acc` at the current EL.
    pub(crate) fn translate(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        acc: Acc,
    ) -> Result<Translation, Exc> {
        self.translate_as(p, va, acc, false)
    }

    /// As [`Self::translate`]; `unpriv`: LDTR/STTR check EL0 permissions (C6.2).
    pub(crate) fn translate_as(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        acc: Acc,
        unpriv: bool,
    ) -> Result<Translation, Exc> {
        let regime = self.regime();
        let el0 = self.el == 0 || unpriv;
        let need = need_bits(acc, el0);
        // Top-byte-ignore for data addresses (TCR_ELx.TBI, D8.8).
        let va_t = if acc != Acc::Fetch { self.tbi(va, regime) } else { va };
        let tag = Self::tag(va_t, regime);
        let ctx = self.tlb.ctx[regime as usize];
        let idx = Tlb::index(va_t, ctx);
        let e = self.tlb.e[idx];
        // PAN (D8.4.x): privileged data accesses to EL0-accessible memory fault. USER is only
        // ever set in regimes with an EL0.
        let pan = !el0 && self.pan && acc != Acc::Fetch;
        if e.tag == tag && (e.ctx ^ ctx) & e.cmask == 0 && e.perm & need != 0 && !(pan && e.perm & USER != 0)
        {
            let off = va_t & 0xfff;
            let host = if e.host.is_null() {
                e.host
            } else {
                // SAFETY: `host` is the start of a 4 KiB RAM page and `off < 4096`.
                unsafe { e.host.add(off as usize) }
            };
            if acc == Acc::Fetch {
                self.tlb.fetch = (va_t & !0xfff, e.host);
            }
            return Ok(Translation { pa: e.pa | off, host, device: e.perm & DEVICE != 0, code: e.code });
        }
        let r = self.resolve(p, va, va_t, regime, acc, el0, Opts { pan, at: false, s2_out: true })?;
        let page = r.pa & !0xfff;
        let ram = p.ram();
        let host = ram.page_ptr(GuestPhys(page)).unwrap_or(std::ptr::null_mut());
        let code = ram.code_mask_ptr(GuestPhys(page)).unwrap_or(std::ptr::null());
        let cmask = if r.global { VMID_MASK } else { u64::MAX };
        self.tlb.e[idx] =
            Entry { tag, host, pa: page, perm: r.perm, s1_bits: r.s1_bits as u8, code, ctx, cmask };
        if acc == Acc::Fetch {
            self.tlb.fetch = (va_t & !0xfff, host);
        }
        let off = va_t & 0xfff;
        let host = if host.is_null() {
            host
        } else {
            // SAFETY: as above.
            unsafe { host.add(off as usize) }
        };
        Ok(Translation { pa: page | off, host, device: r.perm & DEVICE != 0, code })
    }

    /// Applies top-byte-ignore for the regime (TCR_EL1 layout: TBI0/TBI1 bits 37/38; TCR_EL2
    /// without E2H and TCR_EL3: TBI bit 20): the tag byte is replaced by the sign of bit 55.
    #[inline]
    fn tbi(&self, va: u64, regime: u8) -> u64 {
        let tcr = self.sys.tcr[regime as usize];
        let two = regime == 1 || (regime == 2 && self.sys.e2h());
        let on = if two { tcr & (1 << (37 + ((va >> 55) & 1))) != 0 } else { tcr & (1 << 20) != 0 };
        if on {
            (((va << 8) as i64) >> 8) as u64
        } else {
            va
        }
    }

    /// Stage 1, its permission checks and hardware updates, then stage 2 (D8.1 "Address
    /// translation"; the order of the checks follows the AArch64.FullTranslate pseudocode:
    /// stage-1 walk faults, stage-1 permission, descriptor update, stage 2).
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        va_t: u64,
        regime: u8,
        acc: Acc,
        el0: bool,
        o: Opts,
    ) -> Result<Res, Exc> {
        let s2 = regime == 1 && self.s2_active();
        let s1 = self.s1_walk(p, va, va_t, regime, acc, s2, o.at)?;
        let need = need_bits(acc, el0);
        if s1.perm & need == 0 || (o.pan && s1.perm & USER != 0) {
            return Err(fault(va, acc, fsc::permission(s1.level)));
        }
        if let Some(u) = s1.upd {
            self.update_desc(p, va, acc, u, o.at)?;
        }
        let mut r = Res {
            pa: s1.out,
            perm: s1.perm,
            s1_bits: s1.size_bits,
            global: s1.global,
            attr: s1.attr,
            sh: s1.sh,
        };
        if s2 && o.s2_out {
            let w = self.s2_translate(p, s1.out, va, acc, S2Use::Access, o.at)?;
            r.pa = w.pa;
            r.perm &= w.mask | USER | DEVICE;
            if w.device {
                r.perm |= DEVICE;
            }
            (r.attr, r.sh) = combine_attrs(r.attr, r.sh, w.memattr, w.sh);
        }
        Ok(r)
    }

    /// Writes a hardware descriptor update back (D8.4.x: an atomic read-modify-write; only
    /// one PE runs at a time here, so read then write is atomic). The write of a stage-1
    /// descriptor is itself checked by stage 2 as a write (S1PTW, WnR = 1).
    fn update_desc(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        acc: Acc,
        u: Upd,
        at: bool,
    ) -> Result<(), Exc> {
        let pa = match u.ipa {
            Some(ipa) => self.s2_translate(p, ipa, va, acc, S2Use::WalkUpdate, at)?.pa,
            None => u.pa,
        };
        let ram = p.ram();
        if let Some(d) = ram.read_u64(GuestPhys(pa)) {
            ram.write_u64(GuestPhys(pa), (d | u.set) & !u.clear);
            if ram.code_write(GuestPhys(pa), 8) {
                self.exit_block = true;
            }
        }
        Ok(())
    }

    /// Reads a stage-1 descriptor at table address `ipa` (an IPA when `s2`).
    fn s1_read_desc(
        &mut self,
        p: &mut dyn Arm64Platform,
        ipa: u64,
        va: u64,
        acc: Acc,
        s2: bool,
        at: bool,
        level: u32,
    ) -> Result<(u64, u64), Exc> {
        let pa = if s2 { self.s2_translate(p, ipa, va, acc, S2Use::Walk, at)?.pa } else { ipa };
        match p.ram().read_u64(GuestPhys(pa)) {
            Some(d) => Ok((pa, d)),
            // Synchronous external abort on a translation table walk (0b0101LL).
            None => Err(fault(va, acc, 0b010100 | level as u8)),
        }
    }

    /// The stage-1 walk (D8.2-D8.4). `va` is reported in faults; `va_t` is translated.
    #[allow(clippy::too_many_arguments)]
    fn s1_walk(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        va_t: u64,
        regime: u8,
        acc: Acc,
        s2: bool,
        at: bool,
    ) -> Result<S1, Exc> {
        let rr = self.regime_regs(regime);
        if !rr.m {
            // Stage 1 disabled (D8.2.10): flat mapping, data Device-nGnRnE, instructions
            // Normal; addresses beyond PARange give an address size fault at level 0. With
            // HCR_EL2.DC, Normal Write-Back Non-shareable memory (D17.2.48).
            if va_t >> PA_BITS != 0 {
                return Err(fault(va, acc, fsc::addr_size(0)));
            }
            let all = R0 | W0 | X0 | R1 | W1 | X1;
            // DEVICE matters only to data accesses (fetches never check it).
            let (perm, attr, sh) = if rr.dc { (all, 0xff, 0) } else { (all | DEVICE, 0, 2) };
            return Ok(S1 { out: va_t, perm, level: 0, size_bits: 12, attr, sh, global: true, upd: None });
        }
        let tcr = rr.tcr;
        // Which half of the address space (D8.2.3): two-range regimes have TTBR0 (top bits
        // 0) and TTBR1 (top bits 1); EL2 without E2H and EL3 have only TTBR0.
        let upper = rr.two && (va_t >> 55) & 1 == 1;
        let (tsz, tg, ttbr, epd) = if upper {
            ((tcr >> 16) & 0x3f, (tcr >> 30) & 3, rr.ttbr1, tcr & (1 << 23) != 0)
        } else {
            (tcr & 0x3f, (tcr >> 14) & 3, rr.ttbr0, rr.two && tcr & (1 << 7) != 0)
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
        // TCR.IPS / TCR_ELx.PS bound output addresses (D8.2.x), TCR.HA/HD enable hardware
        // updates (FEAT_HAFDBS; HD has no effect without HA).
        let (ips, ha_bit, hd_bit) =
            if rr.two { ((tcr >> 32) & 7, 39, 40) } else { ((tcr >> 16) & 7, 21, 22) };
        let oa_bits = ps_bits(ips);
        let ha = HAFDBS >= 1 && tcr & (1 << ha_bit) != 0;
        let hd = ha && HAFDBS >= 2 && tcr & (1 << hd_bit) != 0;
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
        // A translation table base beyond the output size: address size fault, level 0.
        if table >> oa_bits != 0 {
            return Err(fault(va, acc, fsc::addr_size(0)));
        }
        // Hierarchical attributes (D8.4.2): APTable and XNTable/PXNTable from table
        // descriptors.
        let (mut ap_no_el0, mut ap_ro, mut xn_t, mut pxn_t) = (false, false, false, false);
        loop {
            let shift = granule_bits + stride * (3 - level);
            let bits = if level == 4 - levels { ia - shift } else { stride };
            let idx = (va_t >> shift) & ((1u64 << bits) - 1);
            let da_ipa = table + idx * 8;
            let (da, desc) = self.s1_read_desc(p, da_ipa, va, acc, s2, at, level)?;
            let kind = desc & 3;
            let oa_mask = ((1u64 << 48) - 1) & !((1u64 << granule_bits) - 1);
            if kind & 1 == 0 {
                return Err(fault(va, acc, fsc::translation(level as u8)));
            }
            if kind == 3 && level < 3 {
                // Table descriptor.
                let next = desc & oa_mask;
                if next >> oa_bits != 0 {
                    return Err(fault(va, acc, fsc::addr_size(level as u8)));
                }
                if rr.two {
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
            if oa >> oa_bits != 0 {
                return Err(fault(va, acc, fsc::addr_size(level as u8)));
            }
            let mut upd = Upd { pa: da, ipa: s2.then_some(da_ipa), set: 0, clear: 0 };
            let mut desc = desc;
            // Access flag (D8.4.5): AF = 0 faults, unless TCR.HA = 1, when the walk sets it
            // (FEAT_HAFDBS). AT instructions do not update descriptors (permitted: D8.4.x).
            if desc & AF == 0 {
                if !ha {
                    return Err(fault(va, acc, fsc::access_flag(level as u8)));
                }
                upd.set |= AF;
            }
            // Dirty state (FEAT_HAFDBS): with TCR.HD, a write to a DBM = 1 page with AP[2] = 1
            // ("writable-clean") clears AP[2] instead of faulting. Other accesses see the page
            // read-only, so the TLB never holds write permission for a clean page.
            if hd && desc & DBM != 0 && desc & AP2 != 0 && acc == Acc::Write {
                desc &= !AP2;
                upd.clear |= AP2;
            }
            let ap = (desc >> 6) & 3;
            let pxn = desc & (1 << 53) != 0 || pxn_t;
            let uxn = desc & (1 << 54) != 0 || xn_t;
            let attr = (rr.mair >> (8 * ((desc >> 2) & 7))) & 0xff;
            let device = attr & 0xf0 == 0;
            let wxn = rr.sctlr & (1 << 19) != 0;
            let mut perm = 0u8;
            if rr.two {
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
            let out = oa | (va_t & ((1u64 << size_bits) - 1));
            let global = !rr.two || desc & (1 << 11) == 0;
            let upd = (upd.set | upd.clear != 0 && !at).then_some(upd);
            return Ok(S1 { out, perm, level: level as u8, size_bits, attr: attr as u8, sh, global, upd });
        }
    }

    /// Stage-2 translation of `ipa` (Arm ARM D8 "stage 2 translation": VTCR_EL2.{T0SZ, SL0,
    /// TG0, PS, HA, HD}, VTTBR_EL2.BADDR, concatenated start-level tables), its permission
    /// checks (AArch64.CheckS2Permission: S2AP, XN; stage-1 walks need read permission,
    /// their hardware updates write permission), and hardware updates of stage-2
    /// descriptors. Faults go to EL2 with HPFAR_EL2 = the IPA, FAR_EL2 = `va`, and S1PTW set
    /// for faults on stage-1 walks.
    fn s2_translate(
        &mut self,
        p: &mut dyn Arm64Platform,
        ipa: u64,
        va: u64,
        acc: Acc,
        usage: S2Use,
        at: bool,
    ) -> Result<S2, Exc> {
        let ptw = usage != S2Use::Access;
        // WnR (D17.2.37): stage-1 walks are reads, their updates writes; AT and cache
        // maintenance report 1.
        let wnr = match usage {
            S2Use::Access => acc == Acc::Write || at,
            S2Use::Walk => at,
            S2Use::WalkUpdate => true,
        };
        let fault2 = |code: u8| s2_fault(va, ipa, acc, code, ptw, wnr, at);
        let vtcr = self.sys.vtcr_el2;
        let granule_bits: u32 = match (vtcr >> 14) & 3 {
            1 => 16,
            2 => 14,
            _ => 12,
        };
        let stride = granule_bits - 3;
        let ia = 64 - ((vtcr & 0x3f) as u32).clamp(16, 39);
        let sl0 = ((vtcr >> 6) & 3) as i32;
        let start: i32 = if granule_bits == 12 { 2 - sl0 } else { 3 - sl0 };
        // Start levels the implemented PA size allows (PAMax = 40: no level 0 with 4 KiB, no
        // level 0 or 1 with 16 KiB and 64 KiB), and a start table of 2 to 16 pages' worth of
        // entries (concatenation); an IPA size beyond PAMax faults (a CONSTRAINED
        // UNPREDICTABLE choice). Otherwise, and for an IPA beyond T0SZ: stage-2 translation
        // fault at level 0 (AArch64.TranslationTableWalk).
        let start_ok = match granule_bits {
            12 => start >= 1,
            _ => start >= 2,
        };
        let start_bits = ia as i32 - ((3 - start) * stride as i32 + granule_bits as i32);
        if !start_ok || ia > PA_BITS || start_bits < 1 || start_bits > stride as i32 + 4 || ipa >> ia != 0 {
            return Err(fault2(fsc::translation(0)));
        }
        let oa_bits = ps_bits((vtcr >> 16) & 7);
        let ha = HAFDBS >= 1 && vtcr & (1 << 21) != 0;
        let hd = ha && HAFDBS >= 2 && vtcr & (1 << 22) != 0;
        let mut level = start as u32;
        // BADDR aligned to the size of the (concatenated) start table.
        let mut table = self.sys.vttbr_el2 & ((1u64 << 48) - 1) & !((8u64 << start_bits) - 1);
        if table >> oa_bits != 0 {
            return Err(fault2(fsc::addr_size(level as u8)));
        }
        loop {
            let shift = granule_bits + stride * (3 - level);
            let bits = if level == start as u32 { start_bits as u32 } else { stride };
            let idx = (ipa >> shift) & ((1u64 << bits) - 1);
            let da = table + idx * 8;
            let Some(desc) = p.ram().read_u64(GuestPhys(da)) else {
                let mut e = fault2(0b010100 | level as u8);
                e.ipa = None; // HPFAR_EL2 is not valid for external aborts
                return Err(e);
            };
            let kind = desc & 3;
            if kind & 1 == 0 {
                return Err(fault2(fsc::translation(level as u8)));
            }
            let oa_mask = ((1u64 << 48) - 1) & !((1u64 << granule_bits) - 1);
            if kind == 3 && level < 3 {
                // Table descriptor (stage 2 has no hierarchical attributes).
                let next = desc & oa_mask;
                if next >> oa_bits != 0 {
                    return Err(fault2(fsc::addr_size(level as u8)));
                }
                table = next;
                level += 1;
                continue;
            }
            let block_ok = match granule_bits {
                12 => level == 1 || level == 2,
                _ => level == 2,
            };
            if kind == 1 && !(block_ok && level < 3) {
                return Err(fault2(fsc::translation(level as u8)));
            }
            let oa = desc & ((1u64 << 48) - 1) & !((1u64 << shift) - 1);
            if oa >> oa_bits != 0 {
                return Err(fault2(fsc::addr_size(level as u8)));
            }
            let lv = level as u8;
            let mut desc_new = desc;
            if desc & AF == 0 {
                if !ha {
                    return Err(fault2(fsc::access_flag(lv)));
                }
                desc_new |= AF;
            }
            // Stage-2 dirty state: S2AP[1] = 0 with DBM = 1 is writable-clean; a write sets
            // S2AP[1] (FEAT_HAFDBS).
            let write = matches!(usage, S2Use::WalkUpdate) || usage == S2Use::Access && acc == Acc::Write;
            if hd && desc & DBM != 0 && desc & S2AP_W == 0 && write && !at {
                desc_new |= S2AP_W;
            }
            let r = desc_new & (1 << 6) != 0;
            let w = desc_new & S2AP_W != 0;
            let xn = desc & (1 << 54) != 0; // XN[1]; XN[0] is RES0 without FEAT_XNX
            let memattr = ((desc >> 2) & 0xf) as u8;
            let device = memattr & 0xc == 0;
            let fail = match usage {
                // HCR_EL2.PTW: a stage-1 walk to stage-2 Device memory is a stage-2
                // permission fault (D17.2.48).
                S2Use::Walk => !r || (device && self.sys.hcr_el2 & (1 << 2) != 0),
                S2Use::WalkUpdate => !w || (device && self.sys.hcr_el2 & (1 << 2) != 0),
                // Instruction fetches check only XN; fetching from stage-2 Device memory is
                // a permission fault (the Constraint_FAULT choice of AArch64.InstructionDevice,
                // as at stage 1).
                S2Use::Access => match acc {
                    Acc::Fetch => xn || device,
                    Acc::Write => !w,
                    Acc::Read => !r,
                },
            };
            if fail {
                return Err(fault2(fsc::permission(lv)));
            }
            if desc_new != desc && !at {
                let ram = p.ram();
                ram.write_u64(GuestPhys(da), desc_new);
                if ram.code_write(GuestPhys(da), 8) {
                    self.exit_block = true;
                }
            }
            let mut mask = 0;
            if r {
                mask |= R0 | R1;
            }
            // A clean page is cached read-only so that the first write comes back here.
            if w {
                mask |= W0 | W1;
            }
            if !xn && !device {
                mask |= X0 | X1;
            }
            let pa = oa | (ipa & ((1u64 << shift) - 1));
            let sh = ((desc >> 8) & 3) as u8;
            return Ok(S2 { pa, mask, device, memattr, sh });
        }
    }

    /// AT S1E1R/W, S1E0R/W, S1E2R/W, S1E3R/W, S12E1R/W, S12E0R/W (C5.5): translates and
    /// writes PAR_EL1 (D17.2.115: F = 0 with ATTR, PA[47:12], SH; or F = 1 with FST, PTW
    /// (bit 8) and S (bit 9, a stage-2 fault)). A stage-2 fault on the stage-1 walk of an AT
    /// executed at EL1 is taken to EL2 (D8 / C5.5 AT S1E1R: "stage 2 fault ... generates an
    /// exception"), with ISS.CM = 1.
    pub(crate) fn at(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        write: bool,
        el0: bool,
        regime: u8,
        s12: bool,
    ) -> Result<(), Exc> {
        // AT S1E1*/S1E0* with {E2H, TGE} = {1, 1} translate in the EL2&0 regime (FEAT_VHE).
        let regime = if regime == 1 && self.sys.in_host() { 2 } else { regime };
        let va_t = self.tbi(va, regime);
        let acc = if write { Acc::Write } else { Acc::Read };
        let o = Opts { pan: false, at: true, s2_out: s12 };
        let r = self.resolve(p, va, va_t, regime, acc, el0, o);
        self.sys.par_el1 = match r {
            Ok(r) => (r.attr as u64) << 56 | (r.pa & !0xfff & ((1 << 48) - 1)) | (r.sh as u64) << 7,
            Err(e) if e.ipa.is_some() && self.el < 2 => return Err(e),
            Err(e) => {
                let iss = e.iss as u64;
                1 | (iss & 0x3f) << 1 | ((iss >> 7) & 1) << 8 | ((e.target == 2) as u64) << 9 | 1 << 11
            }
        };
        Ok(())
    }

    /// TLBI (C5.5.x, Armv8.0 operations) with `op1`, `crm`, `op2` and the register operand
    /// `xt`; `None` for an unallocated encoding. Each operation drops at least the entries it
    /// names from this PE's TLB (D8.13: dropping more is allowed). The Inner Shareable forms
    /// also reach the other PEs: they bump [`TLBI_IS_EPOCH`], and every PE drops its whole
    /// TLB when it next runs and sees the epoch changed (PEs run one at a time, so none uses
    /// a stale entry after the broadcast).
    pub(crate) fn tlbi(&mut self, op1: u32, crm: u32, op2: u32, xt: u64) -> Option<()> {
        let is = crm == 3 || crm == 0;
        let va_page = xt & ((1 << 44) - 1); // VA[55:12]
                                            // The entry's stage-1 page or block contains the VA (compared on VA[55:12]).
        let by_va = move |e: &Entry| {
            let shift = e.s1_bits.saturating_sub(12) as u32;
            let mask = ((1u64 << 44) - 1) & !((1u64 << shift) - 1);
            ((e.tag & VPAGE_MASK) ^ va_page) & mask == 0
        };
        let regime_of = |e: &Entry| (e.tag >> 56) as u8;
        let host = self.sys.in_host();
        let vmid = self.tlb.ctx[1] & VMID_MASK;
        // The ASID operand, 8 or 16 bits as TCR.AS of the regime says.
        let asid_of = |tcr: u64| if tcr & (1 << 36) != 0 { xt >> 48 } else { (xt >> 48) & 0xff };
        match (op1, crm, op2) {
            // EL1&0 operations; with {E2H, TGE} = {1, 1} they act on the EL2&0 regime.
            (0, 3 | 7, 0 | 1 | 2 | 3 | 5 | 7) => {
                let (reg, vm, tcr) =
                    if host { (2, None, self.sys.tcr[2]) } else { (1, Some(vmid), self.sys.tcr[1]) };
                let asid = asid_of(tcr);
                let in_ctx =
                    move |e: &Entry| regime_of(e) == reg && vm.map_or(true, |v| e.ctx & VMID_MASK == v);
                let asid_hit = move |e: &Entry| e.cmask == VMID_MASK || (e.ctx >> 16) & 0xffff == asid;
                match op2 {
                    0 => self.tlb.invalidate(in_ctx), // VMALLE1
                    1 | 5 => self.tlb.invalidate(|e| in_ctx(e) && by_va(e) && asid_hit(e)), // VAE1, VALE1
                    2 => self.tlb.invalidate(|e| in_ctx(e) && e.cmask != VMID_MASK && asid_hit(e)), // ASIDE1
                    _ => self.tlb.invalidate(|e| in_ctx(e) && by_va(e)), // VAAE1, VAALE1
                }
            }
            // IPAS2E1(IS), IPAS2LE1(IS): stage-2 entries for an IPA of the current VMID. The
            // TLB holds combined stage 1+2 entries without their IPA, so all entries of the
            // VMID go.
            (4, 0 | 4, 1 | 5) => self.tlb.invalidate(|e| regime_of(e) == 1 && e.ctx & VMID_MASK == vmid),
            (4, 3 | 7, 0) => self.tlb.invalidate(|e| regime_of(e) == 2), // ALLE2
            (4, 3 | 7, 1 | 5) => {
                // VAE2, VALE2 (with E2H: ASID from Xt too).
                let asid = asid_of(self.sys.tcr[2]);
                let e2h = self.sys.e2h();
                self.tlb.invalidate(|e| {
                    regime_of(e) == 2
                        && by_va(e)
                        && (!e2h || e.cmask == VMID_MASK || (e.ctx >> 16) & 0xffff == asid)
                })
            }
            (4, 3 | 7, 4) => self.tlb.invalidate(|e| regime_of(e) == 1), // ALLE1
            (4, 3 | 7, 6) => self.tlb.invalidate(|e| regime_of(e) == 1 && e.ctx & VMID_MASK == vmid), // VMALLS12E1
            (6, 3 | 7, 0) => self.tlb.invalidate(|e| regime_of(e) == 3),                              // ALLE3
            (6, 3 | 7, 1 | 5) => self.tlb.invalidate(|e| regime_of(e) == 3 && by_va(e)), // VAE3, VALE3
            _ => return None,
        }
        if is {
            self.tlb.is_epoch = TLBI_IS_EPOCH.with(|c| {
                c.set(c.get() + 1);
                c.get()
            });
        }
        Some(())
    }

    /// Sets the fast-path data permissions ([`Arm64Cpu::fast_ptr`]) for the current EL,
    /// regime, ASID/VMID context and PSTATE.PAN. Called where a threaded block starts: what
    /// it reads changes only through instructions that end the block (exception entry and
    /// return, MSR, TLB maintenance).
    #[inline]
    pub(crate) fn refresh_fast_need(&mut self) {
        let el0 = self.el == 0;
        self.fast_need = [need_bits(Acc::Read, el0), need_bits(Acc::Write, el0), need_bits(Acc::Fetch, el0)];
        self.fast_pan = !el0 && self.pan;
        let regime = self.regime();
        self.fast_ctx = self.tlb.ctx[regime as usize];
        self.fast_tag = Self::tag(0, regime);
        self.fast_hash = Tlb::index_hash(self.fast_ctx);
    }

    /// The soft-TLB hit path of an instruction fetch at `va` (what [`Arm64Cpu::translate`]
    /// returns on a hit), with the context [`Arm64Cpu::refresh_fast_need`] computed.
    #[inline(always)]
    pub(crate) fn fetch_fast(&self, va: u64) -> Option<Translation> {
        let e = &self.tlb.e[((va >> 12) ^ self.fast_hash) as usize % TLB_SIZE];
        let ok = e.tag == ((va >> 12) & VPAGE_MASK | self.fast_tag)
            && (e.ctx ^ self.fast_ctx) & e.cmask == 0
            && e.perm & self.fast_need[2] != 0;
        if !ok {
            return None;
        }
        let off = va & 0xfff;
        let host = if e.host.is_null() {
            e.host
        } else {
            // SAFETY: `host` is the start of a 4 KiB RAM page and `off < 4096`.
            unsafe { e.host.add(off as usize) }
        };
        Some(Translation { pa: e.pa | off, host, device: e.perm & DEVICE != 0, code: e.code })
    }

    /// The host pointer for a naturally aligned data access of `size` bytes at `va` when the
    /// soft TLB allows it with no check the full path ([`Arm64Cpu::read`],
    /// [`Arm64Cpu::write`]) would make: a RAM page, permission at the current EL, PAN, and
    /// for a store no decoded code in the touched line. Aligned accesses never take
    /// alignment faults whatever the memory type or SCTLR_ELx.A (B2.5.2).
    #[inline(always)]
    pub(crate) fn fast_ptr(&self, va: u64, size: u64, write: bool) -> Option<*mut u8> {
        // Top-byte-ignore leaves `va` as it is when bits 63:55 are all equal (D8.8).
        let top = va >> 55;
        if va & (size - 1) != 0 || (top != 0 && top != 0x1ff) {
            return None;
        }
        let e = &self.tlb.e[((va >> 12) ^ self.fast_hash) as usize % TLB_SIZE];
        let ok = e.tag == ((va >> 12) & VPAGE_MASK | self.fast_tag)
            && (e.ctx ^ self.fast_ctx) & e.cmask == 0
            && e.perm & self.fast_need[write as usize] != 0
            && !(self.fast_pan && e.perm & USER != 0)
            && !e.host.is_null();
        if !ok {
            return None;
        }
        let off = va & 0xfff;
        // SAFETY: a non-null `code` points at this page's mask in the machine's GuestRam,
        // which outlives the CPU and is never reallocated.
        if write && !e.code.is_null() && unsafe { *e.code } & (1u32 << (off / sim_core::ram::CODE_LINE)) != 0
        {
            return None; // a store into a line with decoded code: the full path invalidates
        }
        // SAFETY: `host` is the start of a 4 KiB RAM page and `off < 4096`.
        Some(unsafe { e.host.add(off as usize) })
    }

    /// Drops the whole TLB if another PE broadcast a TLBI since this one last looked, and
    /// recomputes the ASID/VMID contexts (registers may have been set from outside).
    pub(crate) fn tlb_sync(&mut self) {
        let ep = TLBI_IS_EPOCH.with(Cell::get);
        if ep != self.tlb.is_epoch {
            self.tlb.is_epoch = ep;
            self.tlb.flush();
        }
        self.tlb_refresh_ctx();
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
        // Watchpoints (D2.10), after alignment and MMU faults in priority.
        if self.dbg.wp_armed {
            self.check_watchpoints(va, size, false, unpriv)?;
        }
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
            if self.dbg.wp_armed {
                self.check_watchpoints(va, size, true, unpriv)?;
            }
            for i in 0..size {
                self.write(p, va.wrapping_add(i), 1, val >> (8 * i), false, unpriv)?;
            }
            return Ok(());
        }
        let t = self.translate_as(p, va, Acc::Write, unpriv)?;
        self.check_align(va, size, aligned, t.device, Acc::Write)?;
        if self.dbg.wp_armed {
            self.check_watchpoints(va, size, true, unpriv)?;
        }
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

    /// The translation checks of a data cache maintenance instruction by VA (DC CVAC, CVAU,
    /// CIVAC, CVAP: a read; DC IVAC: a write): PAN does not apply (D8.4.x, PAN affects
    /// loads and stores only), and an abort reports ISS.CM = 1 and WnR = 1 (D17.2.37: "for
    /// faults on cache maintenance ... instructions, this bit always returns 1").
    pub(crate) fn translate_dc(&mut self, p: &mut dyn Arm64Platform, va: u64, ivac: bool) -> Result<(), Exc> {
        let pan = std::mem::replace(&mut self.pan, false);
        let r = self.translate(p, va, if ivac { Acc::Write } else { Acc::Read });
        self.pan = pan;
        r.map(|_| ()).map_err(|mut e| {
            if e.far.is_some() && e.ec == crate::exception::ec::DABT_SAME {
                e.iss |= 1 << 8 | 1 << 6;
            }
            e
        })
    }

    /// The physical address of a data access at `va` (for the exclusive monitor).
    pub(crate) fn data_pa(&mut self, p: &mut dyn Arm64Platform, va: u64, write: bool) -> Result<u64, Exc> {
        Ok(self.translate(p, va, if write { Acc::Write } else { Acc::Read })?.pa)
    }
}

impl Arm64Cpu {
    /// The instruction syndrome of a stage-2 data abort taken to EL2 (D17.2.37, ISS for a
    /// Data Abort: ISV bit 24, SAS 23:22, SSE 21, SRT 20:16, SF 15, AR 14), for loads and
    /// stores of a single general-purpose register without writeback (not exclusives,
    /// pairs, atomics or SIMD&FP) faulting on the access itself (not S1PTW, not cache
    /// maintenance or AT). The instruction is read through the last fetch translation; when
    /// it is not at hand, ISV is 0 ("no valid instruction syndrome").
    pub(crate) fn s2_instruction_syndrome(&self, iss: u32) -> u32 {
        if iss & (1 << 7 | 1 << 8) != 0 {
            return 0;
        }
        let (page, host) = self.tlb.fetch;
        if host.is_null() || self.pc & !0xfff != page {
            return 0;
        }
        // SAFETY: `host` is the start of a 4 KiB RAM page and the word at `pc & 0xffc` lies
        // inside it.
        let raw = unsafe {
            u32::from_le(std::ptr::read_unaligned(host.add((self.pc & 0xffc) as usize) as *const u32))
        };
        isv_fields(raw)
    }
}

/// ISV and the instruction syndrome of A64 load/store `i` (C4.1.4 encodings), or 0.
pub(crate) fn isv_fields(i: u32) -> u32 {
    let size = i >> 30;
    // (SAS, SSE, SF, AR)
    let f = if i & 0x3f00_0000 == 0x3900_0000
        || (i & 0x3f20_0000 == 0x3800_0000 && (i >> 10) & 1 == 0)
        || i & 0x3f20_0c00 == 0x3820_0800
    {
        // LDR/STR (unsigned immediate), LDUR/STUR and LDTR/STTR (not the pre/post-indexed
        // forms, which write back), register offset; V = 0.
        match ((i >> 22) & 3, size) {
            (0 | 1, s) => Some((s, 0, (s == 3) as u32, 0)),
            (2, 3) => None, // PRFM
            (2, s) => Some((s, 1, 1, 0)),
            (3, s) if s < 2 => Some((s, 1, 0, 0)),
            _ => None,
        }
    } else if i & 0x3f00_0000 == 0x1800_0000 {
        // LDR (literal): opc 00 W, 01 X, 10 LDRSW, 11 PRFM.
        match size {
            0 => Some((2, 0, 0, 0)),
            1 => Some((3, 0, 1, 0)),
            2 => Some((2, 1, 1, 0)),
            _ => None,
        }
    } else if i & 0x3fa0_8000 == 0x0880_8000 {
        // LDAR/STLR (load/store ordered: o2 = 1, o1 = 0, o0 = 1).
        Some((size, 0, (size == 3) as u32, 1))
    } else if i & 0x3fff_fc00 == 0x38bf_c000 {
        // LDAPR (FEAT_LRCPC).
        Some((size, 0, (size == 3) as u32, 1))
    } else if i & 0x3f20_0c00 == 0x1900_0000 {
        // STLUR/LDAPUR/LDAPURS (FEAT_LRCPC2): opc 00 store, 01 load, 10 signed to 64 bits,
        // 11 signed to 32 bits.
        match ((i >> 22) & 3, size) {
            (0 | 1, s) => Some((s, 0, (s == 3) as u32, 1)),
            (2, s) if s < 3 => Some((s, 1, 1, 1)),
            (3, s) if s < 2 => Some((s, 1, 0, 1)),
            _ => None,
        }
    } else {
        None
    };
    match f {
        Some((sas, sse, sf, ar)) => 1 << 24 | sas << 22 | sse << 21 | (i & 31) << 16 | sf << 15 | ar << 14,
        None => 0,
    }
}

fn fault(va: u64, acc: Acc, code: u8) -> Exc {
    match acc {
        Acc::Fetch => Exc::inst_abort(va, code),
        Acc::Write => Exc::data_abort(va, code, true),
        Acc::Read => Exc::data_abort(va, code, false),
    }
}

/// A stage-2 abort (D8 stage 2 fault reporting; D17.2.37 ISS): to EL2, EC 0x24/0x20 from
/// a lower EL, ISS.S1PTW (bit 7) for a fault on a stage-1 walk, ISS.CM (bit 8) for AT;
/// FAR_EL2 = the VA, HPFAR_EL2 = the IPA. ISS.ISV is 0 (no instruction syndrome).
fn s2_fault(va: u64, ipa: u64, acc: Acc, code: u8, s1ptw: bool, wnr: bool, cm: bool) -> Exc {
    let mut e = match acc {
        Acc::Fetch => Exc::inst_abort(va, code),
        _ => Exc::data_abort(va, code, wnr),
    };
    e.iss |= (s1ptw as u32) << 7;
    if acc != Acc::Fetch {
        e.iss |= (cm as u32) << 8;
    }
    e.target = 2;
    e.ipa = Some(ipa);
    e
}

/// Combines stage-1 attributes (MAIR byte, SH) with stage-2 MemAttr[3:0] and SH (D8.5.x
/// "Combining the stage 1 and stage 2 attributes"): Device wins, with the more restrictive
/// Device type; for Normal memory each of inner and outer takes the less cacheable of the
/// two (Non-cacheable < Write-Through < Write-Back), keeping stage 1's allocation hints;
/// shareability is the more shareable one, and Device or Non-cacheable memory is Outer
/// Shareable.
pub(crate) fn combine_attrs(a1: u8, sh1: u8, m2: u8, sh2: u8) -> (u8, u8) {
    let dev1 = a1 & 0xf0 == 0;
    if m2 & 0xc == 0 {
        let t2 = m2 & 3;
        let t = if dev1 { ((a1 >> 2) & 3).min(t2) } else { t2 };
        return (t << 2, 2);
    }
    if dev1 {
        return (a1, 2);
    }
    // Stage-1 nibble cacheability: 0100 NC (1), 00xx/10xx WT (2), 01xx/11xx WB (3).
    let c1 = |n: u8| match n {
        0b0100 => 1,
        _ if n & 4 != 0 => 3,
        _ => 2,
    };
    let comb = |n: u8, c2: u8| {
        let c = c1(n).min(c2);
        if c == c1(n) {
            n
        } else if c == 1 {
            0b0100
        } else {
            n & !4 // Write-Back to Write-Through, same transience and allocation hints
        }
    };
    let outer = comb(a1 >> 4, (m2 >> 2) & 3);
    let inner = comb(a1 & 0xf, m2 & 3);
    let attr = outer << 4 | inner;
    let sh = if outer == 0b0100 && inner == 0b0100 {
        2
    } else {
        // NSH (0) < ISH (3) < OSH (2).
        let rank = |s: u8| match s {
            2 => 2,
            3 => 1,
            _ => 0,
        };
        if rank(sh1) >= rank(sh2) {
            sh1
        } else {
            sh2
        }
    };
    (attr, sh)
}
