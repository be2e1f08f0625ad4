//! System registers (Arm ARM D17, "AArch64 System Register Descriptions"): storage, the ID
//! registers that describe exactly what this model implements, access rules by exception
//! level, and the generic timer registers (D11).

use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;
use crate::vhe::vr;

/// A system register encoding op0:op1:CRn:CRm:op2 (the MRS/MSR bits 20:5).
pub const fn enc(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u16 {
    ((op0 & 3) << 14 | (op1 & 7) << 11 | (crn & 15) << 7 | (crm & 15) << 3 | (op2 & 7)) as u16
}

macro_rules! regs {
    ($($name:ident = $op0:literal, $op1:literal, $crn:literal, $crm:literal, $op2:literal;)*) => {
        $(#[allow(missing_docs)] pub const $name: u16 = enc($op0, $op1, $crn, $crm, $op2);)*
    };
}

/// Register encodings by name.
pub mod r {
    use super::enc;
    regs! {
        MIDR_EL1 = 3,0,0,0,0; MPIDR_EL1 = 3,0,0,0,5; REVIDR_EL1 = 3,0,0,0,6;
        ID_AA64PFR0_EL1 = 3,0,0,4,0; ID_AA64PFR1_EL1 = 3,0,0,4,1; ID_AA64ZFR0_EL1 = 3,0,0,4,4;
        ID_AA64SMFR0_EL1 = 3,0,0,4,5; ID_AA64DFR0_EL1 = 3,0,0,5,0; ID_AA64DFR1_EL1 = 3,0,0,5,1;
        ID_AA64AFR0_EL1 = 3,0,0,5,4; ID_AA64AFR1_EL1 = 3,0,0,5,5; ID_AA64ISAR0_EL1 = 3,0,0,6,0;
        ID_AA64ISAR1_EL1 = 3,0,0,6,1; ID_AA64ISAR2_EL1 = 3,0,0,6,2; ID_AA64MMFR0_EL1 = 3,0,0,7,0;
        ID_AA64MMFR1_EL1 = 3,0,0,7,1; ID_AA64MMFR2_EL1 = 3,0,0,7,2;
        CCSIDR_EL1 = 3,1,0,0,0; CLIDR_EL1 = 3,1,0,0,1; CSSELR_EL1 = 3,2,0,0,0; CTR_EL0 = 3,3,0,0,1;
        DCZID_EL0 = 3,3,0,0,7;
        SCTLR_EL1 = 3,0,1,0,0; ACTLR_EL1 = 3,0,1,0,1; CPACR_EL1 = 3,0,1,0,2;
        TTBR0_EL1 = 3,0,2,0,0; TTBR1_EL1 = 3,0,2,0,1; TCR_EL1 = 3,0,2,0,2;
        SPSR_EL1 = 3,0,4,0,0; ELR_EL1 = 3,0,4,0,1; SP_EL0 = 3,0,4,1,0; SPSEL = 3,0,4,2,0;
        CURRENTEL = 3,0,4,2,2; PAN = 3,0,4,2,3; NZCV = 3,3,4,2,0; DAIF = 3,3,4,2,1;
        FPCR = 3,3,4,4,0; FPSR = 3,3,4,4,1;
        AFSR0_EL1 = 3,0,5,1,0; AFSR1_EL1 = 3,0,5,1,1; ESR_EL1 = 3,0,5,2,0; FAR_EL1 = 3,0,6,0,0;
        PAR_EL1 = 3,0,7,4,0; MAIR_EL1 = 3,0,10,2,0; AMAIR_EL1 = 3,0,10,3,0; VBAR_EL1 = 3,0,12,0,0;
        ISR_EL1 = 3,0,12,1,0; CONTEXTIDR_EL1 = 3,0,13,0,1; TPIDR_EL1 = 3,0,13,0,4;
        TPIDR_EL0 = 3,3,13,0,2; TPIDRRO_EL0 = 3,3,13,0,3; CNTKCTL_EL1 = 3,0,14,1,0;
        MDSCR_EL1 = 2,0,0,2,2; OSLAR_EL1 = 2,0,1,0,4; OSLSR_EL1 = 2,0,1,1,4; OSDLR_EL1 = 2,0,1,3,4;
        MDCCINT_EL1 = 2,0,0,2,0;
        CNTFRQ_EL0 = 3,3,14,0,0; CNTPCT_EL0 = 3,3,14,0,1; CNTVCT_EL0 = 3,3,14,0,2;
        CNTP_TVAL_EL0 = 3,3,14,2,0; CNTP_CTL_EL0 = 3,3,14,2,1; CNTP_CVAL_EL0 = 3,3,14,2,2;
        CNTV_TVAL_EL0 = 3,3,14,3,0; CNTV_CTL_EL0 = 3,3,14,3,1; CNTV_CVAL_EL0 = 3,3,14,3,2;
        CNTHCTL_EL2 = 3,4,14,1,0; CNTVOFF_EL2 = 3,4,14,0,3;
        CNTHP_TVAL_EL2 = 3,4,14,2,0; CNTHP_CTL_EL2 = 3,4,14,2,1; CNTHP_CVAL_EL2 = 3,4,14,2,2;
        CNTPS_TVAL_EL1 = 3,7,14,2,0; CNTPS_CTL_EL1 = 3,7,14,2,1; CNTPS_CVAL_EL1 = 3,7,14,2,2;
        VPIDR_EL2 = 3,4,0,0,0; VMPIDR_EL2 = 3,4,0,0,5; SCTLR_EL2 = 3,4,1,0,0; ACTLR_EL2 = 3,4,1,0,1;
        HCR_EL2 = 3,4,1,1,0; MDCR_EL2 = 3,4,1,1,1; CPTR_EL2 = 3,4,1,1,2; HSTR_EL2 = 3,4,1,1,3;
        HACR_EL2 = 3,4,1,1,7; TTBR0_EL2 = 3,4,2,0,0; TCR_EL2 = 3,4,2,0,2; VTTBR_EL2 = 3,4,2,1,0;
        VTCR_EL2 = 3,4,2,1,2; SPSR_EL2 = 3,4,4,0,0; ELR_EL2 = 3,4,4,0,1; SP_EL1 = 3,4,4,1,0;
        AFSR0_EL2 = 3,4,5,1,0; AFSR1_EL2 = 3,4,5,1,1; ESR_EL2 = 3,4,5,2,0; FAR_EL2 = 3,4,6,0,0;
        HPFAR_EL2 = 3,4,6,0,4; MAIR_EL2 = 3,4,10,2,0; AMAIR_EL2 = 3,4,10,3,0; VBAR_EL2 = 3,4,12,0,0;
        TPIDR_EL2 = 3,4,13,0,2;
        SCTLR_EL3 = 3,6,1,0,0; ACTLR_EL3 = 3,6,1,0,1; SCR_EL3 = 3,6,1,1,0; CPTR_EL3 = 3,6,1,1,2;
        MDCR_EL3 = 3,6,1,3,1; TTBR0_EL3 = 3,6,2,0,0; TCR_EL3 = 3,6,2,0,2; SPSR_EL3 = 3,6,4,0,0;
        ELR_EL3 = 3,6,4,0,1; SP_EL2 = 3,6,4,1,0; AFSR0_EL3 = 3,6,5,1,0; AFSR1_EL3 = 3,6,5,1,1;
        ESR_EL3 = 3,6,5,2,0; FAR_EL3 = 3,6,6,0,0; MAIR_EL3 = 3,6,10,2,0; AMAIR_EL3 = 3,6,10,3,0;
        VBAR_EL3 = 3,6,12,0,0; RVBAR_EL3 = 3,6,12,0,1; TPIDR_EL3 = 3,6,13,0,2;
    }
}

/// One generic timer (Arm ARM D11.2.4): control and compare value.
#[derive(Copy, Clone, Debug, Default)]
pub struct Timer {
    /// CTL: ENABLE (bit 0), IMASK (bit 1); ISTATUS (bit 2) is computed.
    pub ctl: u64,
    /// CVAL.
    pub cval: u64,
}

impl Timer {
    fn istatus(&self, count: u64) -> bool {
        self.ctl & 1 != 0 && count >= self.cval
    }
    fn output(&self, count: u64) -> bool {
        self.istatus(count) && self.ctl & 2 == 0
    }
}

/// The system registers with state.
pub struct SysRegs {
    /// SCTLR_ELx, x = 1..3 (index 0 unused).
    pub sctlr: [u64; 4],
    /// VBAR_ELx.
    pub vbar: [u64; 4],
    /// ELR_ELx.
    pub elr: [u64; 4],
    /// SPSR_ELx.
    pub spsr: [u64; 4],
    /// ESR_ELx.
    pub esr: [u64; 4],
    /// FAR_ELx.
    pub far: [u64; 4],
    /// MAIR_ELx.
    pub mair: [u64; 4],
    /// AMAIR_ELx, ACTLR_ELx, AFSR0/1_ELx, TPIDR_ELx (x = 0 for TPIDR_EL0).
    pub amair: [u64; 4],
    pub actlr: [u64; 4],
    pub afsr0: [u64; 4],
    pub afsr1: [u64; 4],
    pub tpidr: [u64; 4],
    pub tpidrro_el0: u64,
    /// TCR_ELx.
    pub tcr: [u64; 4],
    pub ttbr0: [u64; 4],
    pub ttbr1_el1: u64,
    /// TTBR1_EL2 (FEAT_VHE: the upper VA range of the EL2&0 regime).
    pub ttbr1_el2: u64,
    /// CONTEXTIDR_EL2 (FEAT_VHE).
    pub contextidr_el2: u64,
    pub cpacr_el1: u64,
    pub par_el1: u64,
    pub contextidr_el1: u64,
    pub cntkctl_el1: u64,
    pub csselr_el1: u64,
    pub mdscr_el1: u64,
    pub oslsr_el1: u64,
    pub osdlr_el1: u64,
    pub mdccint_el1: u64,
    pub hcr_el2: u64,
    pub mdcr_el2: u64,
    pub cptr_el2: u64,
    pub hstr_el2: u64,
    pub hacr_el2: u64,
    pub vttbr_el2: u64,
    pub vtcr_el2: u64,
    pub hpfar_el2: u64,
    pub vpidr_el2: u64,
    pub vmpidr_el2: u64,
    pub cnthctl_el2: u64,
    pub cntvoff_el2: u64,
    pub scr_el3: u64,
    pub cptr_el3: u64,
    pub mdcr_el3: u64,
    /// Physical, virtual, hypervisor physical and secure physical timers.
    pub cntp: Timer,
    pub cntv: Timer,
    pub cnthp: Timer,
    pub cntps: Timer,
    /// The EL2 virtual timer (FEAT_VHE, CNTHV_*_EL2, D11.2.x).
    pub cnthv: Timer,
    /// MPIDR_EL1.
    pub mpidr: u64,
    /// CNTFRQ_EL0 (written by firmware at EL3; reset value from the board).
    pub cntfrq: u64,
    /// The timer output levels last reported to the board.
    pub(crate) timer_out: [bool; 5],
}

/// MIDR_EL1: implementer 0 ("reserved for software use", D17.2.100), so no real part number
/// is claimed; architecture 0xf (features in ID registers).
pub const MIDR: u64 = 0x000f_0000;

impl SysRegs {
    /// Reset values (Arm ARM D17: architecturally UNKNOWN fields chosen as 0; SCTLR RES1
    /// bits set).
    pub fn new(mpidr: u64) -> Self {
        Self {
            // SCTLR_EL1 RES1 bits 29:28, 23:22, 20, 11 (Armv8.0 layout); EL2/EL3: 29:28,
            // 23:22, 18, 16, 11, 5:4.
            sctlr: [0, 0x30d0_0800, 0x30c5_0830, 0x30c5_0830],
            vbar: [0; 4],
            elr: [0; 4],
            spsr: [0; 4],
            esr: [0; 4],
            far: [0; 4],
            mair: [0; 4],
            amair: [0; 4],
            actlr: [0; 4],
            afsr0: [0; 4],
            afsr1: [0; 4],
            tpidr: [0; 4],
            tpidrro_el0: 0,
            tcr: [0; 4],
            ttbr0: [0; 4],
            ttbr1_el1: 0,
            ttbr1_el2: 0,
            contextidr_el2: 0,
            cpacr_el1: 0,
            par_el1: 0,
            contextidr_el1: 0,
            cntkctl_el1: 0,
            csselr_el1: 0,
            mdscr_el1: 0,
            oslsr_el1: 0b1010, // OSLM = 0b10 (OS lock implemented), OSLK = 1 at reset (D17.3.27)
            osdlr_el1: 0,
            mdccint_el1: 0,
            hcr_el2: 0,
            // MDCR_EL2.HPMN resets to PMCR_EL0.N (D17.2.108).
            mdcr_el2: crate::pmu::NCNT as u64,
            cptr_el2: 0x33ff, // RES1 bits 13:12, 9:0
            hstr_el2: 0,
            hacr_el2: 0,
            vttbr_el2: 0,
            vtcr_el2: 1 << 31,
            hpfar_el2: 0,
            vpidr_el2: MIDR,
            vmpidr_el2: mpidr,
            cnthctl_el2: 3,
            cntvoff_el2: 0,
            scr_el3: 0,
            cptr_el3: 0,
            mdcr_el3: 0,
            cntp: Timer::default(),
            cntv: Timer::default(),
            cnthp: Timer::default(),
            cntps: Timer::default(),
            cnthv: Timer::default(),
            mpidr,
            cntfrq: 62_500_000,
            timer_out: [false; 5],
        }
    }

    /// HCR_EL2.TGE with EL2 enabled.
    #[inline]
    pub fn tge(&self) -> bool {
        self.hcr_el2 & (1 << 27) != 0
    }

    /// HCR_EL2.E2H (FEAT_VHE, D17.2.48): EL2 is the host of the EL2&0 translation regime.
    #[inline]
    pub fn e2h(&self) -> bool {
        self.hcr_el2 & (1 << 34) != 0
    }

    /// HCR_EL2.{E2H, TGE} = {1, 1} with EL2 enabled: EL0 runs in the EL2&0 regime
    /// ("IsInHost()", D1.x / D8.1).
    #[inline]
    pub fn in_host(&self) -> bool {
        self.e2h() && self.tge() && self.el2_enabled()
    }

    /// EL2 is implemented and enabled in the current (Non-secure) state: SCR_EL3.NS (D1.2).
    /// This model runs Non-secure EL0-EL2 and EL3; Secure EL1/EL0 use the same registers.
    #[inline]
    pub fn el2_enabled(&self) -> bool {
        self.scr_el3 & 1 != 0
    }

    /// Where a physical IRQ (`fiq` false) or FIQ goes from `el` (D1.3.6 routing tables).
    pub fn interrupt_target(&self, fiq: bool, el: u8) -> u8 {
        let scr_bit = if fiq { 1 << 2 } else { 1 << 1 };
        if self.scr_el3 & scr_bit != 0 {
            return 3;
        }
        let hcr_bit = if fiq { 1 << 3 } else { 1 << 4 }; // FMO, IMO
        if el <= 2 && self.el2_enabled() && (self.hcr_el2 & hcr_bit != 0 || self.tge()) {
            return 2;
        }
        el.max(1)
    }
}

/// ID register values describing exactly what is implemented.
pub mod id {
    /// ID_AA64PFR0_EL1: EL0-EL3 AArch64 only (1 each), FP and AdvSIMD implemented without
    /// half-precision arithmetic (0 each; the two fields must match, D17.2.64), GIC system
    /// registers v3 (GIC = 1, the board provides the CPU interface).
    pub const AA64PFR0: u64 = 0x1111 | 1 << 24;
    /// ID_AA64ISAR0_EL1: CRC32 (bits 19:16 = 1), Atomic (bits 23:20 = 0b0010, FEAT_LSE:
    /// exec::atomic).
    pub const AA64ISAR0: u64 = 1 << 16 | 2 << 20;
    /// ID_AA64ISAR1_EL1: LRCPC (bits 23:20 = 0b0010: FEAT_LRCPC's LDAPR* and FEAT_LRCPC2's
    /// LDAPUR*/STLUR*, exec::atomic).
    pub const AA64ISAR1: u64 = 2 << 20;
    /// ID_AA64MMFR0_EL1: PARange 40 bits (2), ASIDBits 16 (2), BigEnd 0, SNSMem 0,
    /// TGran16 supported (1), TGran64 supported (0), TGran4 supported (0).
    pub const AA64MMFR0: u64 = 2 | 2 << 4 | 1 << 20;
    /// ID_AA64MMFR1_EL1: PAN (bits 23:20 = 1), VMIDBits 8 (0), HAFDBS (bits 3:0 = 2:
    /// hardware Access flag and dirty state at both stages, mmu.rs), VH (bits 11:8 = 1:
    /// FEAT_VHE, vhe.rs).
    pub const AA64MMFR1: u64 = 1 << 20 | 1 << 8 | crate::mmu::HAFDBS;
    /// ID_AA64MMFR2_EL1: UAO (bits 7:4 = 1, FEAT_UAO: PSTATE.UAO, exec::ldst).
    pub const AA64MMFR2: u64 = 1 << 4;
    /// ID_AA64DFR0_EL1 (D17.2.58): DebugVer Armv8 (6), BRPs 1 and WRPs 1 (two breakpoints
    /// and two watchpoints, the architectural minimum), CTX_CMPs 0 (one context-aware
    /// breakpoint, the minimum: breakpoint 1), DoubleLock 0 (OS Double Lock implemented),
    /// see `debug.rs`; PMUVer 1 (PMUv3 for Armv8.0, see `pmu.rs`).
    pub const AA64DFR0: u64 = 6 | 1 << 8 | 1 << 12 | 1 << 20;
    /// CTR_EL0: IminLine/DminLine 64 bytes (4), L1Ip PIPT (3), CWG/ERG 0 (not reported).
    pub const CTR: u64 = 1 << 31 | 4 << 16 | 3 << 14 | 4;
    /// DCZID_EL0: DC ZVA allowed, block size 2^4 words = 64 bytes.
    pub const DCZID: u64 = 4;
    /// CLIDR_EL1: no caches are modelled (Ctype fields 0): LoC/LoUU 0.
    pub const CLIDR: u64 = 0;
}

impl Arm64Cpu {
    /// The EL at which a register with `op1` is accessible (D17.1.2 "op1 encodes the lowest
    /// EL"); 0 for op1 = 3.
    fn min_el(op1: u32) -> u8 {
        match op1 {
            3 => 0,
            4 | 5 => 2,
            6 => 3,
            _ => 1,
        }
    }

    /// EL0 access to a timer/counter register allowed by CNTKCTL_EL1 (D11.2.2)?
    fn el0_timer_ok(&self, e: u16) -> bool {
        // In the host ({E2H, TGE} = {1, 1}) CNTHCTL_EL2 has these controls, at the same bit
        // positions (FEAT_VHE, D17 CNTHCTL_EL2).
        let k = if self.sys.in_host() { self.sys.cnthctl_el2 } else { self.sys.cntkctl_el1 };
        match e {
            r::CNTFRQ_EL0 => k & 3 != 0,
            r::CNTPCT_EL0 => k & 1 != 0,
            r::CNTVCT_EL0 => k & 2 != 0,
            r::CNTV_TVAL_EL0 | r::CNTV_CTL_EL0 | r::CNTV_CVAL_EL0 => k & (1 << 8) != 0,
            _ => k & (1 << 9) != 0,
        }
    }

    /// MRS (Arm ARM C6.2 MRS): reads the register with encoding `raw` bits 20:5.
    pub(crate) fn mrs(&mut self, p: &mut dyn Arm64Platform, raw: u32) -> Result<u64, Exc> {
        let e = ((raw >> 5) & 0xffff) as u16;
        let op1 = (raw >> 16) & 7;
        if self.el < Self::min_el(op1) {
            return Err(Exc::undef());
        }
        if let Some(r) = self.debug_pmu_sysreg(p, raw, e, None) {
            return r;
        }
        if self.el == 0 {
            self.el0_check(e, raw)?;
        }
        self.cnthctl_check(e, raw)?;
        // FEAT_VHE register redirection (vhe.rs).
        let e = self.vhe_map(e)?;
        let s = &self.sys;
        let cnt = p.counter();
        let vcnt = cnt.wrapping_sub(s.cntvoff_el2);
        Ok(match e {
            r::MIDR_EL1 => MIDR,
            r::MPIDR_EL1 => s.mpidr | 1 << 31,
            r::REVIDR_EL1 => 0,
            r::ID_AA64PFR0_EL1 => id::AA64PFR0,
            r::ID_AA64ISAR0_EL1 => id::AA64ISAR0,
            r::ID_AA64ISAR1_EL1 => id::AA64ISAR1,
            r::ID_AA64MMFR0_EL1 => id::AA64MMFR0,
            r::ID_AA64MMFR1_EL1 => id::AA64MMFR1,
            r::ID_AA64MMFR2_EL1 => id::AA64MMFR2,
            r::ID_AA64DFR0_EL1 => id::AA64DFR0,
            r::CTR_EL0 => id::CTR,
            r::DCZID_EL0 => id::DCZID,
            r::CLIDR_EL1 => id::CLIDR,
            r::CCSIDR_EL1 => 0,
            r::CSSELR_EL1 => s.csselr_el1,
            // The rest of the ID register space (op0=3, op1=0, CRn=0, CRm=1-7) is RAZ
            // (D17.3.1 "Reserved encodings in the ID register space").
            _ if e >> 7 == enc(3, 0, 0, 0, 0) >> 7 && (e >> 3) & 15 != 0 => 0,
            r::SCTLR_EL1 => s.sctlr[1],
            r::SCTLR_EL2 => s.sctlr[2],
            r::SCTLR_EL3 => s.sctlr[3],
            r::ACTLR_EL1 => s.actlr[1],
            r::ACTLR_EL2 => s.actlr[2],
            r::ACTLR_EL3 => s.actlr[3],
            r::CPACR_EL1 => s.cpacr_el1,
            r::TTBR0_EL1 => s.ttbr0[1],
            r::TTBR1_EL1 => s.ttbr1_el1,
            r::TCR_EL1 => s.tcr[1],
            r::TTBR0_EL2 => s.ttbr0[2],
            r::TCR_EL2 => s.tcr[2],
            r::TTBR0_EL3 => s.ttbr0[3],
            r::TCR_EL3 => s.tcr[3],
            r::SPSR_EL1 => s.spsr[1],
            r::SPSR_EL2 => s.spsr[2],
            r::SPSR_EL3 => s.spsr[3],
            r::ELR_EL1 => s.elr[1],
            r::ELR_EL2 => s.elr[2],
            r::ELR_EL3 => s.elr[3],
            // SP_EL0 is accessible only when SP_ELx is selected (C5.2.16).
            r::SP_EL0 if !self.spsel => return Err(Exc::undef()),
            r::SP_EL0 => self.sp_el[0],
            r::SP_EL1 => self.sp_el[1],
            r::SP_EL2 => self.sp_el[2],
            r::SPSEL => self.spsel as u64,
            r::CURRENTEL => (self.el as u64) << 2,
            r::PAN => (self.pan as u64) << 22,
            vr::UAO => (self.uao as u64) << 23,
            r::NZCV => self.nzcv,
            r::DAIF => self.daif,
            // FPCR/FPSR: subject to the FP/AdvSIMD access traps (EC 0x07).
            r::FPCR | r::FPSR => {
                self.check_fp()?;
                if e == r::FPCR {
                    self.fpcr
                } else {
                    self.fpsr
                }
            }
            r::ESR_EL1 => s.esr[1],
            r::ESR_EL2 => s.esr[2],
            r::ESR_EL3 => s.esr[3],
            r::FAR_EL1 => s.far[1],
            r::FAR_EL2 => s.far[2],
            r::FAR_EL3 => s.far[3],
            r::AFSR0_EL1 => s.afsr0[1],
            r::AFSR1_EL1 => s.afsr1[1],
            r::AFSR0_EL2 => s.afsr0[2],
            r::AFSR1_EL2 => s.afsr1[2],
            r::AFSR0_EL3 => s.afsr0[3],
            r::AFSR1_EL3 => s.afsr1[3],
            r::PAR_EL1 => s.par_el1,
            r::MAIR_EL1 => s.mair[1],
            r::MAIR_EL2 => s.mair[2],
            r::MAIR_EL3 => s.mair[3],
            r::AMAIR_EL1 => s.amair[1],
            r::AMAIR_EL2 => s.amair[2],
            r::AMAIR_EL3 => s.amair[3],
            r::VBAR_EL1 => s.vbar[1],
            r::VBAR_EL2 => s.vbar[2],
            r::VBAR_EL3 => s.vbar[3],
            r::RVBAR_EL3 => 0,
            // ISR_EL1 (D17.2.87): pending physical IRQ (bit 7) and FIQ (bit 6).
            r::ISR_EL1 => (p.irq_pending() as u64) << 7 | (p.fiq_pending() as u64) << 6,
            r::CONTEXTIDR_EL1 => s.contextidr_el1,
            r::TPIDR_EL0 => s.tpidr[0],
            r::TPIDR_EL1 => s.tpidr[1],
            r::TPIDR_EL2 => s.tpidr[2],
            r::TPIDR_EL3 => s.tpidr[3],
            r::TPIDRRO_EL0 => s.tpidrro_el0,
            r::CNTKCTL_EL1 => s.cntkctl_el1,
            r::CNTFRQ_EL0 => s.cntfrq,
            r::CNTPCT_EL0 => cnt,
            r::CNTVCT_EL0 => cnt.wrapping_sub(self.vcnt_offset()),
            r::CNTP_CTL_EL0 => ctl(&s.cntp, cnt),
            r::CNTP_CVAL_EL0 => s.cntp.cval,
            r::CNTP_TVAL_EL0 => tval(&s.cntp, cnt),
            r::CNTV_CTL_EL0 => ctl(&s.cntv, vcnt),
            r::CNTV_CVAL_EL0 => s.cntv.cval,
            r::CNTV_TVAL_EL0 => tval(&s.cntv, vcnt),
            r::CNTHP_CTL_EL2 => ctl(&s.cnthp, cnt),
            r::CNTHP_CVAL_EL2 => s.cnthp.cval,
            r::CNTHP_TVAL_EL2 => tval(&s.cnthp, cnt),
            r::CNTPS_CTL_EL1 => ctl(&s.cntps, cnt),
            // The EL2 virtual timer counts without the virtual offset (D11.2.x).
            vr::CNTHV_CTL_EL2 => ctl(&s.cnthv, cnt),
            vr::CNTHV_CVAL_EL2 => s.cnthv.cval,
            vr::CNTHV_TVAL_EL2 => tval(&s.cnthv, cnt),
            vr::TTBR1_EL2 => s.ttbr1_el2,
            vr::CONTEXTIDR_EL2 => s.contextidr_el2,
            r::CNTPS_CVAL_EL1 => s.cntps.cval,
            r::CNTPS_TVAL_EL1 => tval(&s.cntps, cnt),
            r::CNTHCTL_EL2 => s.cnthctl_el2,
            r::CNTVOFF_EL2 => s.cntvoff_el2,
            r::VPIDR_EL2 => s.vpidr_el2,
            r::VMPIDR_EL2 => s.vmpidr_el2,
            r::HCR_EL2 => s.hcr_el2,
            r::CPTR_EL2 => s.cptr_el2,
            r::HSTR_EL2 => s.hstr_el2,
            r::HACR_EL2 => s.hacr_el2,
            r::VTTBR_EL2 => s.vttbr_el2,
            r::VTCR_EL2 => s.vtcr_el2,
            r::HPFAR_EL2 => s.hpfar_el2,
            r::SCR_EL3 => s.scr_el3,
            r::CPTR_EL3 => s.cptr_el3,
            _ => match p.icc_read(e) {
                Some(v) => v,
                None => return Err(Exc::undef()),
            },
        })
    }

    /// Checks an EL0 access to an op1=3 register (D17: SCTLR_EL1.UCT/UMA/DZE, CNTKCTL_EL1);
    /// disallowed accesses trap to EL1 (EC 0x18) or are UNDEFINED.
    fn el0_check(&self, e: u16, raw: u32) -> Result<(), Exc> {
        let sctlr = self.el0_sctlr();
        let trap = || Err(Exc::sysreg_trap(raw, 1));
        match e {
            r::NZCV | r::TPIDR_EL0 | r::TPIDRRO_EL0 | r::DCZID_EL0 | r::FPCR | r::FPSR => Ok(()),
            r::CTR_EL0 if sctlr & (1 << 15) == 0 => trap(),
            r::DAIF if sctlr & (1 << 9) == 0 => trap(),
            r::CTR_EL0 | r::DAIF => Ok(()),
            r::CNTFRQ_EL0
            | r::CNTPCT_EL0
            | r::CNTVCT_EL0
            | r::CNTP_TVAL_EL0
            | r::CNTP_CTL_EL0
            | r::CNTP_CVAL_EL0
            | r::CNTV_TVAL_EL0
            | r::CNTV_CTL_EL0
            | r::CNTV_CVAL_EL0 => {
                if self.el0_timer_ok(e) {
                    Ok(())
                } else {
                    trap()
                }
            }
            _ => Err(Exc::undef()),
        }
    }

    /// MSR (register) (Arm ARM C6.2 MSR).
    pub(crate) fn msr(&mut self, p: &mut dyn Arm64Platform, raw: u32, v: u64) -> Result<(), Exc> {
        let e = ((raw >> 5) & 0xffff) as u16;
        let op1 = (raw >> 16) & 7;
        if self.el < Self::min_el(op1) {
            return Err(Exc::undef());
        }
        if let Some(r) = self.debug_pmu_sysreg(p, raw, e, Some(v)) {
            return r.map(|_| ());
        }
        if self.el == 0 {
            if matches!(e, r::TPIDRRO_EL0 | r::DCZID_EL0 | r::CTR_EL0) {
                return Err(Exc::undef());
            }
            self.el0_check(e, raw)?;
        }
        self.cnthctl_check(e, raw)?;
        // FEAT_VHE register redirection (vhe.rs).
        let e = self.vhe_map(e)?;
        let cnt = p.counter();
        let vcnt = cnt.wrapping_sub(self.sys.cntvoff_el2);
        let s = &mut self.sys;
        let mut translation = false;
        let mut ctx = false;
        let mut timers = false;
        match e {
            r::SCTLR_EL1 => {
                s.sctlr[1] = v;
                translation = true;
            }
            r::SCTLR_EL2 => {
                s.sctlr[2] = v;
                translation = true;
            }
            r::SCTLR_EL3 => {
                s.sctlr[3] = v;
                translation = true;
            }
            r::ACTLR_EL1 => s.actlr[1] = v,
            r::ACTLR_EL2 => s.actlr[2] = v,
            r::ACTLR_EL3 => s.actlr[3] = v,
            r::CPACR_EL1 => s.cpacr_el1 = v & (3 << 20 | 1 << 28),
            // TTBRs and VTTBR_EL2 select an ASID/VMID: TLB entries are tagged with them, so a
            // write only changes the current context (D8.13).
            r::TTBR0_EL1 => (s.ttbr0[1], ctx) = (v, true),
            r::TTBR1_EL1 => (s.ttbr1_el1, ctx) = (v, true),
            r::TCR_EL1 => (s.tcr[1], translation) = (v, true),
            r::TTBR0_EL2 => (s.ttbr0[2], translation) = (v, true),
            r::TCR_EL2 => (s.tcr[2], translation) = (v, true),
            r::TTBR0_EL3 => (s.ttbr0[3], translation) = (v, true),
            r::TCR_EL3 => (s.tcr[3], translation) = (v, true),
            r::MAIR_EL1 => (s.mair[1], translation) = (v, true),
            r::MAIR_EL2 => (s.mair[2], translation) = (v, true),
            r::MAIR_EL3 => (s.mair[3], translation) = (v, true),
            r::AMAIR_EL1 => s.amair[1] = v,
            r::AMAIR_EL2 => s.amair[2] = v,
            r::AMAIR_EL3 => s.amair[3] = v,
            r::SPSR_EL1 => s.spsr[1] = v,
            r::SPSR_EL2 => s.spsr[2] = v,
            r::SPSR_EL3 => s.spsr[3] = v,
            r::ELR_EL1 => s.elr[1] = v,
            r::ELR_EL2 => s.elr[2] = v,
            r::ELR_EL3 => s.elr[3] = v,
            r::SP_EL0 if !self.spsel => return Err(Exc::undef()),
            r::SP_EL0 => self.sp_el[0] = v,
            r::SP_EL1 => self.sp_el[1] = v,
            r::SP_EL2 => self.sp_el[2] = v,
            r::SPSEL => self.spsel = v & 1 != 0,
            r::PAN => {
                self.pan = v & (1 << 22) != 0;
                translation = true;
            }
            vr::UAO => self.uao = v & (1 << 23) != 0,
            r::NZCV => self.nzcv = v & 0xf000_0000,
            // FPCR: AHP, DN, FZ, RMode, Stride, Len (C5.2.8; trap enables RAZ/WI, FZ16 not
            // implemented). FPSR: QC and the cumulative flags (C5.2.10).
            r::FPCR => {
                self.check_fp()?;
                self.fpcr = v & 0x07f7_0000;
            }
            r::FPSR => {
                self.check_fp()?;
                self.fpsr = v & 0x0800_009f;
            }
            r::DAIF => {
                self.daif = v & (0xf << 6);
                self.exit_block = true;
            }
            r::ESR_EL1 => s.esr[1] = v,
            r::ESR_EL2 => s.esr[2] = v,
            r::ESR_EL3 => s.esr[3] = v,
            r::FAR_EL1 => s.far[1] = v,
            r::FAR_EL2 => s.far[2] = v,
            r::FAR_EL3 => s.far[3] = v,
            r::AFSR0_EL1 => s.afsr0[1] = v,
            r::AFSR1_EL1 => s.afsr1[1] = v,
            r::AFSR0_EL2 => s.afsr0[2] = v,
            r::AFSR1_EL2 => s.afsr1[2] = v,
            r::AFSR0_EL3 => s.afsr0[3] = v,
            r::AFSR1_EL3 => s.afsr1[3] = v,
            r::PAR_EL1 => s.par_el1 = v,
            // VBAR bits 10:0 are RES0 (D17.2.150).
            r::VBAR_EL1 => s.vbar[1] = v & !0x7ff,
            r::VBAR_EL2 => s.vbar[2] = v & !0x7ff,
            r::VBAR_EL3 => s.vbar[3] = v & !0x7ff,
            r::CONTEXTIDR_EL1 => s.contextidr_el1 = v & 0xffff_ffff,
            r::TPIDR_EL0 => s.tpidr[0] = v,
            r::TPIDR_EL1 => s.tpidr[1] = v,
            r::TPIDR_EL2 => s.tpidr[2] = v,
            r::TPIDR_EL3 => s.tpidr[3] = v,
            r::TPIDRRO_EL0 => s.tpidrro_el0 = v,
            r::CNTKCTL_EL1 => s.cntkctl_el1 = v & 0x3ff,
            r::CSSELR_EL1 => s.csselr_el1 = v & 0xf,
            r::CNTFRQ_EL0 if self.el == 3 => s.cntfrq = v & 0xffff_ffff,
            r::CNTFRQ_EL0 => return Err(Exc::undef()),
            r::CNTP_CTL_EL0 => (s.cntp.ctl, timers) = (v & 3, true),
            r::CNTP_CVAL_EL0 => (s.cntp.cval, timers) = (v, true),
            // TVAL writes set CVAL = count + sign-extended TVAL (D11.2.4).
            r::CNTP_TVAL_EL0 => (s.cntp.cval, timers) = (cnt.wrapping_add(v as i32 as u64), true),
            r::CNTV_CTL_EL0 => (s.cntv.ctl, timers) = (v & 3, true),
            r::CNTV_CVAL_EL0 => (s.cntv.cval, timers) = (v, true),
            r::CNTV_TVAL_EL0 => (s.cntv.cval, timers) = (vcnt.wrapping_add(v as i32 as u64), true),
            r::CNTHP_CTL_EL2 => (s.cnthp.ctl, timers) = (v & 3, true),
            r::CNTHP_CVAL_EL2 => (s.cnthp.cval, timers) = (v, true),
            r::CNTHP_TVAL_EL2 => (s.cnthp.cval, timers) = (cnt.wrapping_add(v as i32 as u64), true),
            r::CNTPS_CTL_EL1 => (s.cntps.ctl, timers) = (v & 3, true),
            vr::CNTHV_CTL_EL2 => (s.cnthv.ctl, timers) = (v & 3, true),
            vr::CNTHV_CVAL_EL2 => (s.cnthv.cval, timers) = (v, true),
            vr::CNTHV_TVAL_EL2 => (s.cnthv.cval, timers) = (cnt.wrapping_add(v as i32 as u64), true),
            vr::TTBR1_EL2 => (s.ttbr1_el2, ctx) = (v, true),
            vr::CONTEXTIDR_EL2 => s.contextidr_el2 = v & 0xffff_ffff,
            r::CNTPS_CVAL_EL1 => (s.cntps.cval, timers) = (v, true),
            r::CNTPS_TVAL_EL1 => (s.cntps.cval, timers) = (cnt.wrapping_add(v as i32 as u64), true),
            r::CNTHCTL_EL2 => s.cnthctl_el2 = v,
            r::CNTVOFF_EL2 => (s.cntvoff_el2, timers) = (v, true),
            r::VPIDR_EL2 => s.vpidr_el2 = v & 0xffff_ffff,
            r::VMPIDR_EL2 => s.vmpidr_el2 = v,
            r::HCR_EL2 => {
                s.hcr_el2 = v;
                translation = true;
            }
            // With HCR_EL2.E2H = 1 CPTR_EL2 has the CPACR_EL1 layout (FPEN 21:20, TTA 28,
            // TCPAC 31; no RES1 bits), else TFP 10, TTA 20, TCPAC 31 and RES1 13:12, 9:0
            // (D17 CPTR_EL2).
            r::CPTR_EL2 if s.e2h() => s.cptr_el2 = v & (3 << 20 | 1 << 28 | 1 << 31),
            r::CPTR_EL2 => s.cptr_el2 = v | 0x33ff,
            r::HSTR_EL2 => s.hstr_el2 = v,
            r::HACR_EL2 => s.hacr_el2 = v,
            r::VTTBR_EL2 => (s.vttbr_el2, ctx) = (v, true),
            r::VTCR_EL2 => (s.vtcr_el2, translation) = (v | 1 << 31, true),
            r::HPFAR_EL2 => s.hpfar_el2 = v,
            r::SCR_EL3 => {
                s.scr_el3 = v;
                translation = true;
                self.exit_block = true;
            }
            r::CPTR_EL3 => s.cptr_el3 = v,
            _ => {
                if !p.icc_write(e, v) {
                    return Err(Exc::undef());
                }
                self.exit_block = true;
            }
        }
        if translation {
            self.tlb.flush();
        }
        if translation || ctx {
            self.tlb_refresh_ctx();
            self.exit_block = true;
        }
        if timers {
            self.update_timers(p);
            self.exit_block = true;
        }
        Ok(())
    }

    /// Recomputes the timer outputs and the next deadline and tells the board (D11.2.4:
    /// a timer's condition is met when the counter reaches CVAL).
    pub fn update_timers(&mut self, p: &mut dyn Arm64Platform) {
        let cnt = p.counter();
        let vcnt = cnt.wrapping_sub(self.sys.cntvoff_el2);
        let s = &self.sys;
        let out = [
            s.cntp.output(cnt),
            s.cntv.output(vcnt),
            s.cnthp.output(cnt),
            s.cntps.output(cnt),
            s.cnthv.output(cnt),
        ];
        if out[..4] != s.timer_out[..4] {
            p.timer_levels(out[0], out[1], out[2], out[3]);
        }
        if out[4] != s.timer_out[4] {
            p.hyp_virt_timer_level(out[4]);
        }
        self.sys.timer_out = out;
        let s = &self.sys;
        let mut next = u64::MAX;
        for (t, c, off) in [
            (&s.cntp, cnt, 0),
            (&s.cntv, vcnt, s.cntvoff_el2),
            (&s.cnthp, cnt, 0),
            (&s.cntps, cnt, 0),
            (&s.cnthv, cnt, 0),
        ] {
            if t.ctl & 3 == 1 && !t.istatus(c) {
                next = next.min(t.cval.wrapping_add(off));
            }
        }
        p.set_timer_deadline(next);
    }
}

fn ctl(t: &Timer, count: u64) -> u64 {
    t.ctl | (t.istatus(count) as u64) << 2
}

fn tval(t: &Timer, count: u64) -> u64 {
    // TVAL reads as the low 32 bits of CVAL - count (D11.2.4).
    t.cval.wrapping_sub(count) & 0xffff_ffff
}
