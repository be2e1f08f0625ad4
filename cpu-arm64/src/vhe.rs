//! FEAT_VHE, the Virtualization Host Extensions (Arm ARM D5/D8 "The EL2&0 translation regime",
//! D17.2.48 HCR_EL2.E2H): with HCR_EL2.E2H = 1, EL2 uses the EL1 register layouts (TCR_EL2,
//! CPTR_EL2, CNTHCTL_EL2), TTBR1_EL2 and ASIDs (mmu.rs), MRS/MSR of `*_EL1` registers at EL2
//! reach the `*_EL2` registers, the `*_EL12` / `*_EL02` encodings reach the EL1/EL0 ones, and
//! with HCR_EL2.TGE = 1 as well ("host"), EL0 runs in the EL2&0 regime under EL2's controls.
//! The EL2 virtual timer (CNTHV_*_EL2) lives in sysreg.rs with the other timers.

use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::sysreg::{enc, r};

/// Encodings added by FEAT_VHE (D17: op1 = 5 is the `*_EL12` / `*_EL02` space).
pub mod vr {
    use crate::sysreg::enc;
    #[allow(missing_docs)]
    pub const TTBR1_EL2: u16 = enc(3, 4, 2, 0, 1);
    #[allow(missing_docs)]
    pub const CONTEXTIDR_EL2: u16 = enc(3, 4, 13, 0, 1);
    #[allow(missing_docs)]
    pub const CNTHV_TVAL_EL2: u16 = enc(3, 4, 14, 3, 0);
    #[allow(missing_docs)]
    pub const CNTHV_CTL_EL2: u16 = enc(3, 4, 14, 3, 1);
    #[allow(missing_docs)]
    pub const CNTHV_CVAL_EL2: u16 = enc(3, 4, 14, 3, 2);
    /// PSTATE.UAO as a register (FEAT_UAO, not part of VHE: kept with these encodings).
    pub const UAO: u16 = enc(3, 0, 4, 2, 4);
}

/// The `*_EL1` registers that MRS/MSR at EL2 reach as `*_EL2` when HCR_EL2.E2H = 1 (D17:
/// each register's "When FEAT_VHE is implemented and HCR_EL2.E2H is 1, ... accesses ...
/// at EL2 access <reg>_EL2"), and the EL0 timers, which EL2 (and EL0 in the host) reach as
/// the EL2 physical and virtual timers (D11.2.x).
const TO_EL2: [(u16, u16); 22] = [
    (r::SCTLR_EL1, r::SCTLR_EL2),
    (r::CPACR_EL1, r::CPTR_EL2),
    (r::TTBR0_EL1, r::TTBR0_EL2),
    (r::TTBR1_EL1, vr::TTBR1_EL2),
    (r::TCR_EL1, r::TCR_EL2),
    (r::AFSR0_EL1, r::AFSR0_EL2),
    (r::AFSR1_EL1, r::AFSR1_EL2),
    (r::ESR_EL1, r::ESR_EL2),
    (r::FAR_EL1, r::FAR_EL2),
    (r::MAIR_EL1, r::MAIR_EL2),
    (r::AMAIR_EL1, r::AMAIR_EL2),
    (r::VBAR_EL1, r::VBAR_EL2),
    (r::CONTEXTIDR_EL1, vr::CONTEXTIDR_EL2),
    (r::CNTKCTL_EL1, r::CNTHCTL_EL2),
    (r::SPSR_EL1, r::SPSR_EL2),
    (r::ELR_EL1, r::ELR_EL2),
    (r::CNTP_TVAL_EL0, r::CNTHP_TVAL_EL2),
    (r::CNTP_CTL_EL0, r::CNTHP_CTL_EL2),
    (r::CNTP_CVAL_EL0, r::CNTHP_CVAL_EL2),
    (r::CNTV_TVAL_EL0, vr::CNTHV_TVAL_EL2),
    (r::CNTV_CTL_EL0, vr::CNTHV_CTL_EL2),
    (r::CNTV_CVAL_EL0, vr::CNTHV_CVAL_EL2),
];

impl Arm64Cpu {
    /// The SCTLR that controls EL0 (UCT, UCI, DZE, UMA, nTWI, nTWE, SA0): SCTLR_EL2 when EL0
    /// is in the EL2&0 regime ({E2H, TGE} = {1, 1}), else SCTLR_EL1 (D17.2.120/.121).
    #[inline]
    pub(crate) fn el0_sctlr(&self) -> u64 {
        if self.sys.in_host() {
            self.sys.sctlr[2]
        } else {
            self.sys.sctlr[1]
        }
    }

    /// CNTHCTL_EL2 traps of EL0/EL1 accesses to the physical counter and the EL1 physical
    /// timer to EL2 (EC 0x18), when EL2 is enabled and not in the host: EL1PCTEN and
    /// EL1PCEN are bits 0 and 1, or bits 10 and 11 when HCR_EL2.E2H = 1 (D17 CNTHCTL_EL2;
    /// checked after CNTKCTL_EL1's EL0 controls).
    pub(crate) fn cnthctl_check(&self, e: u16, raw: u32) -> Result<(), Exc> {
        let s = &self.sys;
        if self.el > 1 || !s.el2_enabled() || s.in_host() {
            return Ok(());
        }
        let (pcten, pcen) = if s.e2h() { (10, 11) } else { (0, 1) };
        let bit = match e {
            r::CNTPCT_EL0 => pcten,
            r::CNTP_CTL_EL0 | r::CNTP_CVAL_EL0 | r::CNTP_TVAL_EL0 => pcen,
            _ => return Ok(()),
        };
        if s.cnthctl_el2 & (1 << bit) == 0 {
            return Err(Exc::sysreg_trap(raw, 2));
        }
        Ok(())
    }

    /// CPTR_EL2 traps FP/AdvSIMD at the current EL (EL0-EL2, EL2 enabled): TFP (bit 10)
    /// without E2H; with HCR_EL2.E2H = 1 the CPACR-layout FPEN (bits 21:20): 0b00/0b10 trap
    /// EL0, EL1 and EL2, 0b01 traps EL0 only when HCR_EL2.TGE = 1, 0b11 nothing (D17
    /// CPTR_EL2).
    pub(crate) fn cptr_el2_traps_fp(&self) -> bool {
        let s = &self.sys;
        if !s.e2h() {
            return s.cptr_el2 & (1 << 10) != 0;
        }
        match (s.cptr_el2 >> 20) & 3 {
            0 | 2 => true,
            1 => self.el == 0 && s.tge(),
            _ => false,
        }
    }

    /// Reads of CNTVCT_EL0 see no virtual offset at EL2 with E2H = 1 and at EL0 in the host
    /// (D11.2.x "the virtual counter": CNTVOFF_EL2 is treated as 0).
    #[inline]
    pub(crate) fn vcnt_offset(&self) -> u64 {
        let s = &self.sys;
        let zero = (self.el == 2 && s.e2h()) || (self.el == 0 && s.in_host());
        if zero {
            0
        } else {
            s.cntvoff_el2
        }
    }

    /// The register an MRS/MSR of encoding `e` reaches under FEAT_VHE: `*_EL1` (and the EL0
    /// timers) at EL2 with E2H = 1, or the EL0 timers at EL0 in the host, go to the `*_EL2`
    /// registers; `*_EL12`/`*_EL02` (op1 = 5) go to the EL1/EL0 registers at EL2 or EL3 with
    /// E2H = 1 and are UNDEFINED otherwise.
    pub(crate) fn vhe_map(&self, e: u16) -> Result<u16, Exc> {
        let s = &self.sys;
        let op1 = (e >> 11) & 7;
        if op1 == 5 && e >> 14 == 3 {
            if !(self.el >= 2 && s.e2h() && s.el2_enabled()) {
                return Err(Exc::undef());
            }
            // *_EL12 -> *_EL1 (op1 0), *_EL02 timers -> *_EL0 (op1 3).
            let el1 = e & !(7 << 11);
            let el0 = (e & !(7 << 11)) | 3 << 11;
            return match el1 {
                r::SCTLR_EL1
                | r::CPACR_EL1
                | r::TTBR0_EL1
                | r::TTBR1_EL1
                | r::TCR_EL1
                | r::SPSR_EL1
                | r::ELR_EL1
                | r::AFSR0_EL1
                | r::AFSR1_EL1
                | r::ESR_EL1
                | r::FAR_EL1
                | r::MAIR_EL1
                | r::AMAIR_EL1
                | r::VBAR_EL1
                | r::CONTEXTIDR_EL1
                | r::CNTKCTL_EL1 => Ok(el1),
                _ => match el0 {
                    r::CNTP_TVAL_EL0
                    | r::CNTP_CTL_EL0
                    | r::CNTP_CVAL_EL0
                    | r::CNTV_TVAL_EL0
                    | r::CNTV_CTL_EL0
                    | r::CNTV_CVAL_EL0 => Ok(el0),
                    _ => Err(Exc::undef()),
                },
            };
        }
        let at_el2 = self.el == 2 && s.e2h();
        let host_el0 = self.el == 0 && s.in_host();
        if at_el2 || host_el0 {
            for &(from, to) in TO_EL2.iter() {
                // At EL0 only the timers are redirected (the others are UNDEFINED there).
                if from == e && (at_el2 || from >> 11 == enc(3, 3, 0, 0, 0) >> 11) {
                    return Ok(to);
                }
            }
        }
        Ok(e)
    }
}
