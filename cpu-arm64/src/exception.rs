//! Exceptions: syndromes (ESR_ELx, Arm ARM D17.2.37), routing, entry (Arm ARM D1.10) and
//! exception return (D1.11).

use crate::cpu::Arm64Cpu;

/// Exception classes (ESR_ELx.EC, Arm ARM D17.2.37 table).
pub mod ec {
    pub const UNKNOWN: u8 = 0x00;
    pub const WFX: u8 = 0x01;
    pub const FP_ACCESS: u8 = 0x07;
    pub const ILLEGAL_STATE: u8 = 0x0e;
    pub const SVC64: u8 = 0x15;
    pub const HVC64: u8 = 0x16;
    pub const SMC64: u8 = 0x17;
    pub const SYSREG: u8 = 0x18;
    pub const IABT_LOWER: u8 = 0x20;
    pub const IABT_SAME: u8 = 0x21;
    pub const PC_ALIGN: u8 = 0x22;
    pub const DABT_LOWER: u8 = 0x24;
    pub const DABT_SAME: u8 = 0x25;
    pub const SP_ALIGN: u8 = 0x26;
    pub const BRK64: u8 = 0x3c;
}

/// Fault status codes for aborts (ESR_ELx.ISS.DFSC/IFSC, Arm ARM D17.2.37).
pub mod fsc {
    /// Address size fault at level `n` (0b0000nn).
    pub const fn addr_size(level: u8) -> u8 {
        level & 3
    }
    /// Translation fault at level `n` (0b0001nn).
    pub const fn translation(level: u8) -> u8 {
        0b000100 | (level & 3)
    }
    /// Access flag fault at level `n` (0b0010nn).
    pub const fn access_flag(level: u8) -> u8 {
        0b001000 | (level & 3)
    }
    /// Permission fault at level `n` (0b0011nn).
    pub const fn permission(level: u8) -> u8 {
        0b001100 | (level & 3)
    }
    /// Synchronous external abort, not on a translation table walk.
    pub const EXTERNAL: u8 = 0b010000;
    /// Alignment fault.
    pub const ALIGNMENT: u8 = 0b100001;
}

/// A synchronous exception raised by an instruction, before routing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Exc {
    /// Exception class.
    pub ec: u8,
    /// Instruction-specific syndrome (ISS, 25 bits).
    pub iss: u32,
    /// Faulting virtual address for aborts and alignment faults (FAR_ELx).
    pub far: Option<u64>,
    /// Target exception level, when the instruction fixes it (HVC, SMC, traps to EL2/EL3);
    /// 0 means "the default": EL1 from EL0, otherwise the current EL.
    pub target: u8,
    /// The preferred return address is the next instruction (SVC, HVC, SMC), not this one.
    pub ret_next: bool,
    /// For stage 2 aborts taken to EL2: the faulting IPA, written to HPFAR_EL2.FIPA
    /// (D17.2.66; Arm ARM D8 "Stage 2 fault reporting").
    pub ipa: Option<u64>,
}

impl Exc {
    const fn new(ec: u8, iss: u32) -> Self {
        Self { ec, iss, far: None, target: 0, ret_next: false, ipa: None }
    }
    /// An UNDEFINED instruction (EC 0x00).
    pub const fn undef() -> Self {
        Self::new(ec::UNKNOWN, 0)
    }
    /// Illegal Execution state (EC 0x0e, D1.4.4).
    pub const fn illegal_state() -> Self {
        Self::new(ec::ILLEGAL_STATE, 0)
    }
    /// SVC #imm (Arm ARM C6.2 SVC; ISS = imm16).
    pub const fn svc(imm: u16) -> Self {
        Self { ret_next: true, ..Self::new(ec::SVC64, imm as u32) }
    }
    /// HVC #imm to EL2.
    pub const fn hvc(imm: u16) -> Self {
        Self { ret_next: true, target: 2, ..Self::new(ec::HVC64, imm as u32) }
    }
    /// SMC #imm to EL3 (the preferred return is the next instruction, D1.10.1).
    pub const fn smc(imm: u16) -> Self {
        Self { ret_next: true, target: 3, ..Self::new(ec::SMC64, imm as u32) }
    }
    /// BRK #imm (a debug exception, Arm ARM D2.9).
    pub const fn brk(imm: u16) -> Self {
        Self::new(ec::BRK64, imm as u32)
    }
    /// PC alignment fault (D1.3.3), FAR = the misaligned PC.
    pub const fn pc_align(pc: u64) -> Self {
        Self { far: Some(pc), ..Self::new(ec::PC_ALIGN, 0) }
    }
    /// SP alignment fault (D1.3.4).
    pub const fn sp_align() -> Self {
        Self::new(ec::SP_ALIGN, 0)
    }
    /// A data abort at `el` (EC chosen at routing), `iss` with DFSC and WnR.
    pub const fn data_abort(va: u64, fsc: u8, write: bool) -> Self {
        Self { far: Some(va), ..Self::new(ec::DABT_SAME, (fsc as u32) | (write as u32) << 6) }
    }
    /// An instruction abort (EC chosen at routing).
    pub const fn inst_abort(va: u64, fsc: u8) -> Self {
        Self { far: Some(va), ..Self::new(ec::IABT_SAME, fsc as u32) }
    }
    /// A synchronous external abort on instruction fetch at `pc`.
    pub const fn inst_abort_external(pc: u64) -> Self {
        Self::inst_abort(pc, fsc::EXTERNAL)
    }
    /// A trapped MSR/MRS/SYS (EC 0x18, ISS per D17.2.37 "ISS encoding for an exception from
    /// MSR, MRS, or System instruction execution") to EL `target`.
    pub const fn sysreg_trap(raw: u32, target: u8) -> Self {
        let op0 = (raw >> 19) & 3;
        let op1 = (raw >> 16) & 7;
        let crn = (raw >> 12) & 15;
        let crm = (raw >> 8) & 15;
        let op2 = (raw >> 5) & 7;
        let rt = raw & 31;
        let read = (raw >> 21) & 1;
        let iss = op0 << 20 | op2 << 17 | op1 << 14 | crn << 10 | rt << 5 | crm << 1 | read;
        Self { target, ..Self::new(ec::SYSREG, iss) }
    }
    /// A trapped FP/SIMD access (EC 0x07) to `target`.
    pub const fn fp_trap(target: u8) -> Self {
        Self { target, ..Self::new(ec::FP_ACCESS, 0) }
    }
    /// A trapped WFI/WFE (EC 0x01, ISS.TI) to `target`.
    pub const fn wfx_trap(wfe: bool, target: u8) -> Self {
        Self { target, ..Self::new(ec::WFX, wfe as u32) }
    }
}

impl Arm64Cpu {
    /// Takes synchronous exception `e` raised by the instruction at `self.pc`.
    pub(crate) fn take(&mut self, e: Exc) {
        let from = self.el;
        let mut target = if e.target != 0 { e.target.max(from) } else { from.max(1) };
        // HCR_EL2.TGE routes exceptions from EL0 that would go to EL1 to EL2 (D1.10.4).
        if target == 1 && from == 0 && self.sys.tge() {
            target = 2;
        }
        let lower = target > from;
        let mut ec = e.ec;
        let mut iss = e.iss;
        match ec {
            ec::DABT_SAME | ec::DABT_LOWER => ec = if lower { ec::DABT_LOWER } else { ec::DABT_SAME },
            ec::IABT_SAME | ec::IABT_LOWER => ec = if lower { ec::IABT_LOWER } else { ec::IABT_SAME },
            ec::UNKNOWN => iss = 0,
            _ => {}
        }
        // Stage-2 data aborts on single-register loads and stores carry the instruction
        // syndrome (ISV, SAS, SSE, SRT, SF, AR; D17.2.37), see mmu.rs.
        if e.ipa.is_some() && ec == ec::DABT_LOWER {
            iss |= self.s2_instruction_syndrome(e.iss);
        }
        // IL: 32-bit instruction (always for A64, D17.2.37), except EC 0 and aborts/PC
        // alignment where IL is 1 too for A64. SError and IRQ do not report a syndrome.
        let esr = (ec as u64) << 26 | 1 << 25 | (iss as u64 & 0x1ff_ffff);
        self.stats.count_exception(ec);
        // HPFAR_EL2.FIPA (bits 43:4) = IPA[51:12] for stage 2 aborts taken to EL2 (D17.2.66).
        if let (Some(ipa), 2) = (e.ipa, target) {
            self.sys.hpfar_el2 = (ipa >> 12) << 4 & 0xf_ffff_ffff_fff0;
        }
        let ret = if e.ret_next { self.pc.wrapping_add(4) } else { self.pc };
        self.enter_exception(target, 0, Some((esr, e.far)), ret);
    }

    /// Exception entry to `target` at vector offset `kind` (0 sync, 0x80 IRQ, 0x100 FIQ,
    /// 0x180 SError) with the syndrome for synchronous exceptions (Arm ARM D1.10.2).
    pub(crate) fn enter_exception(
        &mut self,
        target: u8,
        kind: u64,
        syndrome: Option<(u64, Option<u64>)>,
        ret: u64,
    ) {
        let t = target as usize;
        // PMU: what ran before counts at the old EL; EXC_TAKEN (crate::pmu).
        self.pmu_exception();
        let spsr = self.pstate();
        // Vector offset: current EL with SP_EL0 0x0, with SP_ELx 0x200, from a lower EL
        // using AArch64 0x400 (D1.10.2 table D1-5).
        let base = if target > self.el {
            0x400
        } else if self.spsel {
            0x200
        } else {
            0
        };
        self.sys.spsr[t] = spsr;
        self.sys.elr[t] = ret;
        if let Some((esr, far)) = syndrome {
            self.sys.esr[t] = esr;
            if let Some(va) = far {
                self.sys.far[t] = va;
            }
        }
        self.el = target;
        self.spsel = true;
        self.daif = 0xf << 6;
        self.ss = false;
        // A later Software Step exception did not follow a stepped instruction (ISV = 0).
        self.dbg.stepped = false;
        self.il = false;
        // PSTATE.UAO is cleared on exception entry (FEAT_UAO, AArch64.TakeException).
        self.uao = false;
        // PSTATE.PAN is set on entry to EL1 (or EL2 with E2H+TGE) when SCTLR_ELx.SPAN is 0
        // (FEAT_PAN, D1.10.2).
        if (target == 1 && self.sys.sctlr[1] & (1 << 23) == 0)
            || (target == 2 && self.sys.in_host() && self.sys.sctlr[2] & (1 << 23) == 0)
        {
            self.pan = true;
        }
        self.excl = None;
        self.pc = self.sys.vbar[t].wrapping_add(base + kind);
        self.prev_block = None;
        self.exit_block = true;
    }

    /// ERET: return to the state in SPSR_ELx at ELR_ELx (Arm ARM D1.11, C6.2 ERET).
    pub(crate) fn eret(&mut self) -> Result<(), Exc> {
        let cur = self.el as usize;
        if cur == 0 {
            return Err(Exc::undef());
        }
        let spsr = self.sys.spsr[cur];
        let elr = self.sys.elr[cur];
        let m = spsr & 0x1f;
        let new_el = ((m >> 2) & 3) as u8;
        // Illegal exception return (D1.11.2): AArch32 (M[4]), a higher EL, EL2 or EL3 not
        // enabled, or M[1] set (reserved). PSTATE.IL is set and EL/SP are unchanged.
        let illegal = m & 0x10 != 0
            || new_el > self.el
            || m & 2 != 0
            || (new_el == 2 && !self.sys.el2_enabled())
            || (new_el == 1 && self.sys.tge() && self.sys.el2_enabled());
        // PSTATE.SS from SPSR.SS only when stepping is enabled at the target but not here
        // (D2.12.3, evaluated on the PSTATE before the return).
        let ss = self.debug_return_ss(spsr, illegal);
        if self.pmu.active {
            self.pmu_fold(false); // the counts so far belong to the EL being left
        }
        self.nzcv = spsr & 0xf000_0000;
        self.daif = spsr & (0xf << 6);
        self.pan = spsr & (1 << 22) != 0;
        self.uao = spsr & (1 << 23) != 0;
        self.ss = ss;
        if illegal {
            self.il = true;
        } else {
            self.il = spsr & (1 << 20) != 0;
            self.el = new_el;
            self.spsel = m & 1 != 0;
        }
        // An exception return clears the local exclusive monitor (B2.9.5).
        self.excl = None;
        self.npc = elr;
        self.exit_block = true;
        self.prev_block = None;
        Ok(())
    }
}
