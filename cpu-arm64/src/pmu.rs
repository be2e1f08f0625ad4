//! The Performance Monitors Extension, PMUv3 for Armv8.0 (Arm ARM D11 "The Performance
//! Monitors Extension"; registers in D17.5): six 32-bit event counters, the 64-bit cycle
//! counter, overflow flags and the overflow interrupt (PMUIRQ, through
//! [`Arm64Platform::pmu_irq`]), filtering by Exception level and Security state, the EL0
//! access controls (PMUSERENR_EL0) and the MDCR_EL2/MDCR_EL3 traps and counter partition
//! (HPMN, HPME).
//!
//! Events ([`EVENTS`], listed in PMCEID0_EL0): SW_INCR (0x00), INST_RETIRED (0x08, from
//! `stats.instructions`), EXC_TAKEN (0x09, every exception entry, counted at the EL it is
//! taken to), CPU_CYCLES (0x11, from the cycle count), CHAIN (0x1E, odd counters count
//! overflows of the even counter below). Other event numbers count nothing.
//!
//! Counting is lazy: the counters are brought up to date ("folded") from the CPU's
//! statistics when the EL changes (exception entry and return), when a PMU register is
//! accessed, and at the end of each [`Arm64Cpu::run`]; an overflow interrupt is therefore
//! raised at most one run quantum late (the PMU interrupt is asynchronous anyway, D11.x).
//! Instructions that take a synchronous exception are counted as retired (as in
//! `stats.instructions`).

use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;
use crate::sysreg::{enc, r};

/// Number of event counters (PMCR_EL0.N).
pub const NCNT: usize = 6;

/// The implemented common events (D11.11 "The PMU event number space and common events").
pub mod event {
    pub const SW_INCR: u64 = 0x00;
    pub const INST_RETIRED: u64 = 0x08;
    pub const EXC_TAKEN: u64 = 0x09;
    pub const CPU_CYCLES: u64 = 0x11;
    pub const CHAIN: u64 = 0x1e;
}

/// PMCEID0_EL0: bit n set for each implemented common event n (0x00-0x1F).
pub const EVENTS: u64 = 1 << event::SW_INCR
    | 1 << event::INST_RETIRED
    | 1 << event::EXC_TAKEN
    | 1 << event::CPU_CYCLES
    | 1 << event::CHAIN;

/// PMU register encodings (D17.5).
pub mod reg {
    use super::enc;
    pub const PMCR_EL0: u16 = enc(3, 3, 9, 12, 0);
    pub const PMCNTENSET_EL0: u16 = enc(3, 3, 9, 12, 1);
    pub const PMCNTENCLR_EL0: u16 = enc(3, 3, 9, 12, 2);
    pub const PMOVSCLR_EL0: u16 = enc(3, 3, 9, 12, 3);
    pub const PMSWINC_EL0: u16 = enc(3, 3, 9, 12, 4);
    pub const PMSELR_EL0: u16 = enc(3, 3, 9, 12, 5);
    pub const PMCEID0_EL0: u16 = enc(3, 3, 9, 12, 6);
    pub const PMCEID1_EL0: u16 = enc(3, 3, 9, 12, 7);
    pub const PMCCNTR_EL0: u16 = enc(3, 3, 9, 13, 0);
    pub const PMXEVTYPER_EL0: u16 = enc(3, 3, 9, 13, 1);
    pub const PMXEVCNTR_EL0: u16 = enc(3, 3, 9, 13, 2);
    pub const PMUSERENR_EL0: u16 = enc(3, 3, 9, 14, 0);
    pub const PMINTENSET_EL1: u16 = enc(3, 0, 9, 14, 1);
    pub const PMINTENCLR_EL1: u16 = enc(3, 0, 9, 14, 2);
    pub const PMOVSSET_EL0: u16 = enc(3, 3, 9, 14, 3);
    pub const PMCCFILTR_EL0: u16 = enc(3, 3, 14, 15, 7);
    /// PMEVCNTR<n>_EL0: CRm = 0b10:n[4:3], op2 = n[2:0]; PMEVTYPER<n>_EL0: CRm = 0b11:n[4:3].
    pub const fn pmevcntr(n: u32) -> u16 {
        enc(3, 3, 14, 8 | n >> 3, n & 7)
    }
    pub const fn pmevtyper(n: u32) -> u16 {
        enc(3, 3, 14, 12 | n >> 3, n & 7)
    }
}

/// PMCR_EL0 (D17.5.7): E (0), P (1, write-only: reset the event counters), C (2, write-only:
/// reset PMCCNTR), D (3, cycle counter divider 64), X (4, RAZ/WI: no export bus), DP (5,
/// cycle counter disabled where counting is prohibited), LC (6, 64-bit cycle counter
/// overflow); N (15:11).
const PMCR_E: u64 = 1;
const PMCR_P: u64 = 1 << 1;
const PMCR_C: u64 = 1 << 2;
const PMCR_D: u64 = 1 << 3;
const PMCR_DP: u64 = 1 << 5;
const PMCR_LC: u64 = 1 << 6;
/// PMEVTYPER<n>_EL0 (D17.5.10): evtCount (9:0, PMUv3 for Armv8.0), M (26), NSH (27),
/// NSU (28), NSK (29), U (30), P (31). PMCCFILTR_EL0 has the filter bits only.
const TYPER_MASK: u64 = 0xfc00_03ff;
const FILTR_MASK: u64 = 0xfc00_0000;
/// MDCR_EL2 (D17.2.108): HPMN (4:0), TPMCR (5), TPM (6), HPME (7), and the debug controls
/// TDE, TDA, TDOSA, TDRA (11:8).
const MDCR2_MASK: u64 = 0xfff;
const MDCR2_TPMCR: u64 = 1 << 5;
const MDCR2_TPM: u64 = 1 << 6;
const MDCR2_HPME: u64 = 1 << 7;
/// MDCR_EL3 (D17.2.109): TPM (6) traps the PMU to EL3; SPME (17) allows counting in Secure
/// state.
const MDCR3_TPM: u64 = 1 << 6;
const MDCR3_SPME: u64 = 1 << 17;
/// PMUSERENR_EL0 (D17.5.19): EN, SW, CR, ER.
const UEN_EN: u64 = 1;
const UEN_SW: u64 = 1 << 1;
const UEN_CR: u64 = 1 << 2;
const UEN_ER: u64 = 1 << 3;
/// The cycle counter's bit in the set/clear registers.
const C_BIT: u64 = 1 << 31;

/// The PMU state of one PE.
#[derive(Clone, Debug, Default)]
pub struct Pmu {
    /// PMCR_EL0 bits with state (E, D, DP, LC).
    pub pmcr: u64,
    /// PMCNTENSET/CLR, PMINTENSET/CLR, PMOVSSET/CLR: counter n in bit n, PMCCNTR in bit 31.
    pub cnten: u64,
    pub inten: u64,
    pub ovs: u64,
    /// PMSELR_EL0.SEL.
    pub selr: u64,
    /// PMUSERENR_EL0.
    pub userenr: u64,
    /// PMEVCNTR<n>_EL0 (32 bits) and PMEVTYPER<n>_EL0.
    pub evcnt: [u64; NCNT],
    pub evtype: [u64; NCNT],
    /// PMCCNTR_EL0 and PMCCFILTR_EL0.
    pub ccnt: u64,
    pub ccfiltr: u64,
    /// Cycles not yet counted by PMCCNTR with PMCR.D = 1 (one count per 64 cycles).
    ccnt_frac: u64,
    /// The statistics at the last fold.
    last_inst: u64,
    last_cyc: u64,
    /// Exceptions taken since the last fold.
    exc: u64,
    /// Some counter may be counting (folds are needed).
    pub(crate) active: bool,
    /// The PMUIRQ level last reported to the board.
    irq: bool,
}

impl Arm64Cpu {
    /// MDCR_EL2.HPMN, the number of counters EL0/EL1 may use (clamped to N).
    fn hpmn(&self) -> usize {
        ((self.sys.mdcr_el2 & 31) as usize).min(NCNT)
    }

    /// The event counters accessible at the current EL (D11.x "Counter partitioning"):
    /// with EL2 enabled, EL0 and EL1 see counters 0..HPMN-1.
    fn pmu_visible(&self) -> usize {
        if self.el < 2 && self.sys.el2_enabled() && !self.pmu_secure() {
            self.hpmn()
        } else {
            NCNT
        }
    }

    fn pmu_secure(&self) -> bool {
        self.el == 3 || self.sys.scr_el3 & 1 == 0
    }

    /// Counter n is enabled: PMCNTENSET<n> and PMCR.E, or MDCR_EL2.HPME for n >= HPMN
    /// (D11.x, "Enabling event counters").
    fn pmu_enabled(&self, n: usize) -> bool {
        let e =
            if n < self.hpmn() { self.pmu.pmcr & PMCR_E != 0 } else { self.sys.mdcr_el2 & MDCR2_HPME != 0 };
        e && self.pmu.cnten >> n & 1 != 0
    }

    /// Event counting is prohibited in Secure state unless MDCR_EL3.SPME = 1 (D11.x
    /// "Prohibiting event counting").
    fn pmu_prohibited(&self) -> bool {
        self.pmu_secure() && self.sys.mdcr_el3 & MDCR3_SPME == 0
    }

    /// The filter of PMEVTYPER/PMCCFILTR `t` excludes the current state (D17.5.10; with EL3
    /// implemented: Non-secure EL0 counts when U == NSU, Non-secure EL1 when P == NSK, EL2
    /// when NSH = 1, EL3 when M == P).
    fn pmu_filtered(&self, t: u64) -> bool {
        let b = |n: u32| t >> n & 1;
        let secure = self.pmu_secure();
        match self.el {
            0 if secure => b(30) == 1,
            0 => b(30) != b(28),
            1 if secure => b(31) == 1,
            1 => b(31) != b(29),
            2 => b(27) == 0,
            _ => b(26) != b(31),
        }
    }

    /// Recomputes [`Pmu::active`] (after folding, so the next interval starts now).
    fn pmu_rearm(&mut self) {
        self.pmu.active = (0..NCNT).any(|n| self.pmu_enabled(n))
            || (self.pmu.pmcr & PMCR_E != 0 && self.pmu.cnten & C_BIT != 0);
    }

    /// Adds `inc` to event counter n; returns the number of 32-bit wraps, each setting
    /// PMOVSSET<n> (D11.x "Counter overflow").
    fn pmu_add(&mut self, n: usize, inc: u64) -> u64 {
        let v = self.pmu.evcnt[n] as u128 + inc as u128;
        self.pmu.evcnt[n] = v as u64 & 0xffff_ffff;
        let wraps = (v >> 32) as u64;
        if wraps != 0 {
            self.pmu.ovs |= 1 << n;
        }
        wraps
    }

    /// Brings the counters up to date with the statistics, attributing everything since the
    /// last fold to the current EL and Security state. `before_current`: the instruction
    /// being executed (an MRS) is not counted yet.
    pub(crate) fn pmu_fold(&mut self, before_current: bool) {
        let back = before_current as u64;
        let inst = self.stats.instructions.saturating_sub(back).max(self.pmu.last_inst);
        let cyc = self.cycle_count().saturating_sub(back).max(self.pmu.last_cyc);
        let (di, dc, dx) = (inst - self.pmu.last_inst, cyc - self.pmu.last_cyc, self.pmu.exc);
        self.pmu.last_inst = inst;
        self.pmu.last_cyc = cyc;
        self.pmu.exc = 0;
        if !self.pmu.active {
            return;
        }
        let prohibited = self.pmu_prohibited();
        let mut chain_in = 0;
        for n in 0..NCNT {
            let t = self.pmu.evtype[n];
            let ev = t & 0x3ff;
            let carry = std::mem::take(&mut chain_in);
            if !self.pmu_enabled(n) || prohibited || self.pmu_filtered(t) {
                continue;
            }
            let inc = match ev {
                event::INST_RETIRED => di,
                event::CPU_CYCLES => dc,
                event::EXC_TAKEN => dx,
                // CHAIN on an odd counter: the overflows of counter n - 1 (D11.x).
                event::CHAIN if n & 1 == 1 => carry,
                _ => 0,
            };
            let wraps = self.pmu_add(n, inc);
            if n & 1 == 0 {
                chain_in = wraps;
            }
        }
        // PMCCNTR: PMCNTENSET.C and PMCR.E; PMCCFILTR; not where counting is prohibited
        // if PMCR.DP = 1; every 64th cycle with PMCR.D = 1 (D17.5.7).
        let pmcr = self.pmu.pmcr;
        if pmcr & PMCR_E != 0
            && self.pmu.cnten & C_BIT != 0
            && !(prohibited && pmcr & PMCR_DP != 0)
            && !self.pmu_filtered(self.pmu.ccfiltr)
        {
            let inc = if pmcr & PMCR_D != 0 {
                let t = self.pmu.ccnt_frac + dc;
                self.pmu.ccnt_frac = t % 64;
                t / 64
            } else {
                dc
            };
            let old = self.pmu.ccnt;
            let new = old.wrapping_add(inc);
            self.pmu.ccnt = new;
            // Overflow: bit 63 (LC = 1) or bit 31 (LC = 0) carries out.
            let overflow = if pmcr & PMCR_LC != 0 {
                new < old
            } else {
                (old & 0xffff_ffff) + inc.min(1 << 33) > 0xffff_ffff
            };
            if overflow {
                self.pmu.ovs |= C_BIT;
            }
        }
    }

    /// Counts one exception entry for EXC_TAKEN (called by exception entry, which folds
    /// first so the entry counts at the target EL).
    #[inline]
    pub(crate) fn pmu_exception(&mut self) {
        if self.pmu.active {
            self.pmu_fold(false);
        }
        self.pmu.exc += 1;
    }

    /// Drives PMUIRQ (D11.x "Generating overflow interrupt requests"): some PMINTENSET<n>
    /// and PMOVSSET<n> both set, for a counter whose enable (PMCR.E, or MDCR_EL2.HPME for
    /// n >= HPMN) is set.
    pub(crate) fn pmu_update_irq(&mut self, p: &mut dyn Arm64Platform) {
        if self.pmu.active {
            self.pmu_fold(false);
        }
        let pending = self.pmu.inten & self.pmu.ovs;
        let hpmn = self.hpmn();
        let e = self.pmu.pmcr & PMCR_E != 0;
        let hpme = self.sys.mdcr_el2 & MDCR2_HPME != 0;
        let level = (pending & C_BIT != 0 && e)
            || (0..NCNT).any(|n| pending >> n & 1 != 0 && if n < hpmn { e } else { hpme });
        if level != self.pmu.irq {
            self.pmu.irq = level;
            p.pmu_irq(level);
        }
    }

    /// Trap checks for a PMU register access (each register's "Accessibility", D17.5):
    /// at EL0 PMUSERENR_EL0 (`el0_ok`), then MDCR_EL2.TPM (and TPMCR for PMCR_EL0) from
    /// EL0/EL1 to EL2, then MDCR_EL3.TPM to EL3. All trap with EC 0x18.
    fn pmu_trap(&self, raw: u32, el0_ok: bool, is_pmcr: bool) -> Result<(), Exc> {
        if self.el == 0 && !el0_ok {
            return Err(Exc::sysreg_trap(raw, 1));
        }
        if self.el < 2 && self.sys.el2_enabled() && !self.pmu_secure() {
            let m = self.sys.mdcr_el2;
            if m & MDCR2_TPM != 0 || (is_pmcr && m & MDCR2_TPMCR != 0) {
                return Err(Exc::sysreg_trap(raw, 2));
            }
        }
        if self.el < 3 && self.sys.mdcr_el3 & MDCR3_TPM != 0 {
            return Err(Exc::sysreg_trap(raw, 3));
        }
        Ok(())
    }

    /// MRS/MSR of a PMU register, or of MDCR_EL2/MDCR_EL3 (which change how counters
    /// count): `None` when `e` is not one.
    pub(crate) fn pmu_sysreg(
        &mut self,
        p: &mut dyn Arm64Platform,
        raw: u32,
        e: u16,
        write: Option<u64>,
    ) -> Option<Result<u64, Exc>> {
        use reg::*;
        // Which register, its counter index, and the PMUSERENR_EL0 bits that allow an EL0
        // access (D17.5.19): EN for all; SW also for PMSWINC; CR also for reading PMCCNTR;
        // ER also for PMSELR and for reading the event counters.
        let uen = self.pmu.userenr;
        let en = uen & UEN_EN != 0;
        let rd = write.is_none();
        let el0_ok = match e {
            r::MDCR_EL2 | r::MDCR_EL3 => true, // EL2/EL3 only (the op1 rule)
            PMCR_EL0 | PMCNTENSET_EL0 | PMCNTENCLR_EL0 | PMOVSCLR_EL0 | PMOVSSET_EL0 | PMCEID0_EL0
            | PMCEID1_EL0 | PMXEVTYPER_EL0 | PMCCFILTR_EL0 | PMINTENSET_EL1 | PMINTENCLR_EL1 => en,
            PMSWINC_EL0 => en || uen & UEN_SW != 0,
            PMCCNTR_EL0 => en || (rd && uen & UEN_CR != 0),
            PMSELR_EL0 => en || uen & UEN_ER != 0,
            PMXEVCNTR_EL0 => en || (rd && uen & UEN_ER != 0),
            // PMUSERENR_EL0 is readable at EL0, writable from EL1 only.
            PMUSERENR_EL0 => rd,
            // PMEVCNTR<n>_EL0 (CRm = 0b10xx) and PMEVTYPER<n>_EL0 (CRm = 0b11xx).
            _ if e >> 5 == pmevcntr(0) >> 5 => en || (rd && uen & UEN_ER != 0),
            _ if e >> 5 == pmevtyper(0) >> 5 => en,
            _ => return None,
        };
        if e == PMUSERENR_EL0 && self.el == 0 && !rd {
            return Some(Err(Exc::undef()));
        }
        if !matches!(e, r::MDCR_EL2 | r::MDCR_EL3) {
            if let Err(x) = self.pmu_trap(raw, el0_ok, e == PMCR_EL0) {
                return Some(Err(x));
            }
        }
        // Bring the counters up to date: a read sees the count before this instruction, a
        // write applies after it.
        self.pmu_fold(rd);
        let r = self.pmu_access(e, write);
        if !rd {
            self.pmu_rearm();
            self.exit_block = true;
        }
        self.pmu_update_irq(p);
        Some(r)
    }

    /// The counter a PMEVCNTR/PMEVTYPER/PMXEV* access selects, or UNDEFINED when it does not
    /// exist or is reserved for EL2 (D17.5.8/D17.5.10: n >= N, or n >= HPMN at EL0/EL1).
    fn pmu_counter(&self, e: u16) -> Result<usize, Exc> {
        let n = match e {
            reg::PMXEVCNTR_EL0 | reg::PMXEVTYPER_EL0 => self.pmu.selr as usize,
            _ => ((e >> 3 & 3) << 3 | e & 7) as usize,
        };
        if n >= self.pmu_visible() {
            return Err(Exc::undef());
        }
        Ok(n)
    }

    fn pmu_access(&mut self, e: u16, write: Option<u64>) -> Result<u64, Exc> {
        use reg::*;
        let vis = self.pmu_visible();
        // The set/clear bit masks: the visible counters and the cycle counter; the bits of
        // other counters are RAZ/WI.
        let mask = ((1u64 << vis) - 1) | C_BIT;
        let pm = &mut self.pmu;
        let Some(v) = write else {
            return Ok(match e {
                r::MDCR_EL2 => self.sys.mdcr_el2,
                r::MDCR_EL3 => self.sys.mdcr_el3,
                // IMP = 0 (as MIDR_EL1's implementer), IDCODE = 0, N (15:11).
                PMCR_EL0 => pm.pmcr | (vis as u64) << 11,
                PMCNTENSET_EL0 | PMCNTENCLR_EL0 => pm.cnten & mask,
                PMINTENSET_EL1 | PMINTENCLR_EL1 => pm.inten & mask,
                PMOVSSET_EL0 | PMOVSCLR_EL0 => pm.ovs & mask,
                PMSWINC_EL0 => return Err(Exc::undef()), // write-only
                PMSELR_EL0 => pm.selr,
                PMCEID0_EL0 => EVENTS,
                PMCEID1_EL0 => 0,
                PMCCNTR_EL0 => pm.ccnt,
                PMUSERENR_EL0 => pm.userenr,
                PMCCFILTR_EL0 => pm.ccfiltr,
                PMXEVTYPER_EL0 if pm.selr == 31 => pm.ccfiltr,
                PMXEVCNTR_EL0 | PMXEVTYPER_EL0 => {
                    let n = self.pmu_counter(e)?;
                    if e == PMXEVCNTR_EL0 {
                        self.pmu.evcnt[n]
                    } else {
                        self.pmu.evtype[n]
                    }
                }
                _ => {
                    let n = self.pmu_counter(e)?;
                    if e & (1 << 5) == 0 {
                        self.pmu.evcnt[n]
                    } else {
                        self.pmu.evtype[n]
                    }
                }
            });
        };
        match e {
            r::MDCR_EL2 => self.sys.mdcr_el2 = v & MDCR2_MASK,
            r::MDCR_EL3 => self.sys.mdcr_el3 = v & crate::debug::MDCR3_MASK,
            PMCR_EL0 => {
                pm.pmcr = v & (PMCR_E | PMCR_D | PMCR_DP | PMCR_LC);
                // P resets the event counters this EL can see; C resets PMCCNTR (D17.5.7).
                if v & PMCR_P != 0 {
                    pm.evcnt[..vis].fill(0);
                }
                if v & PMCR_C != 0 {
                    pm.ccnt = 0;
                    pm.ccnt_frac = 0;
                }
            }
            PMCNTENSET_EL0 => pm.cnten |= v & mask,
            PMCNTENCLR_EL0 => pm.cnten &= !(v & mask),
            PMINTENSET_EL1 => pm.inten |= v & mask,
            PMINTENCLR_EL1 => pm.inten &= !(v & mask),
            PMOVSSET_EL0 => pm.ovs |= v & mask,
            PMOVSCLR_EL0 => pm.ovs &= !(v & mask),
            // PMSWINC_EL0 (D17.5.16): counters whose event is SW_INCR, when enabled and
            // counting in this state, count each write of 1 to their bit.
            PMSWINC_EL0 => {
                let prohibited = self.pmu_prohibited();
                for n in (0..vis).filter(|n| v >> n & 1 != 0) {
                    let t = self.pmu.evtype[n];
                    if t & 0x3ff == event::SW_INCR
                        && self.pmu_enabled(n)
                        && !prohibited
                        && !self.pmu_filtered(t)
                    {
                        self.pmu_add(n, 1);
                    }
                }
            }
            PMSELR_EL0 => pm.selr = v & 31,
            PMCEID0_EL0 | PMCEID1_EL0 => return Err(Exc::undef()), // read-only
            PMCCNTR_EL0 => pm.ccnt = v,
            PMUSERENR_EL0 => pm.userenr = v & 0xf,
            PMCCFILTR_EL0 => pm.ccfiltr = v & FILTR_MASK,
            PMXEVTYPER_EL0 if pm.selr == 31 => pm.ccfiltr = v & FILTR_MASK,
            _ => {
                let n = self.pmu_counter(e)?;
                let is_type = if matches!(e, PMXEVCNTR_EL0 | PMXEVTYPER_EL0) {
                    e == PMXEVTYPER_EL0
                } else {
                    e & (1 << 5) != 0
                };
                if is_type {
                    self.pmu.evtype[n] = v & TYPER_MASK;
                } else {
                    self.pmu.evcnt[n] = v & 0xffff_ffff;
                }
            }
        }
        Ok(0)
    }
}
