//! Self-hosted debug (Arm ARM D2 "AArch64 Self-hosted Debug"): the OS Lock and OS Double
//! Lock, MDSCR_EL1, the debug-exception enable rules (D2.1), routing by MDCR_EL2.TDE and
//! HCR_EL2.TGE, the trap controls MDCR_EL2.{TDA,TDOSA,TDRA} and MDCR_EL3.{TDA,TDOSA,SDD},
//! two breakpoints (D2.8; breakpoint 1 is context-aware), two watchpoints (D2.10), software
//! step (D2.12), the claim tags, the authentication status and the software side of the Debug
//! Communications Channel (see [`DebugRegs::dtrrx`]; Arm ARM H4 "The Debug Communication
//! Channel and Instruction Transfer Register"). Not implemented: halting debug and the
//! external debug interface, so no debugger ever fills DTRRX or drains DTRTX.
//!
//! Cost when unused: the run loop tests [`DebugRegs::armed`] once per block; loads and
//! stores test [`DebugRegs::wp_armed`]. Both are recomputed whenever a register that
//! affects them is written.

use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;
use crate::sysreg::{enc, r};

/// Number of breakpoints (ID_AA64DFR0_EL1.BRPs + 1).
pub const NBRP: usize = 2;
/// Number of watchpoints (ID_AA64DFR0_EL1.WRPs + 1).
pub const NWRP: usize = 2;
/// Number of context-aware breakpoints (ID_AA64DFR0_EL1.CTX_CMPs + 1): the highest-numbered
/// ones (D2.8.1), here breakpoint 1.
pub const NCTX: usize = 1;

/// Exception classes of debug exceptions (ESR_ELx.EC, D17.2.37).
mod ec {
    pub const BKPT_LOWER: u8 = 0x30;
    pub const BKPT_SAME: u8 = 0x31;
    pub const SSTEP_LOWER: u8 = 0x32;
    pub const SSTEP_SAME: u8 = 0x33;
    pub const WPT_LOWER: u8 = 0x34;
    pub const WPT_SAME: u8 = 0x35;
}

/// The fault status code reported for debug exceptions ("Debug exception", 0b100010).
const FSC_DEBUG: u32 = 0x22;

/// MDSCR_EL1 fields (D17.3.20).
const MDSCR_SS: u64 = 1 << 0;
/// TDCC traps EL0 accesses to the DCC registers to EL1 (EC 0x18).
const MDSCR_TDCC: u64 = 1 << 12;
const MDSCR_KDE: u64 = 1 << 13;
/// HDE holds its value; halting debug is not implemented, so it has no effect.
const MDSCR_HDE: u64 = 1 << 14;
const MDSCR_MDE: u64 = 1 << 15;
/// MDSCR_EL1.TXfull (29) and RXfull (30): the save/restore view of EDSCR.{TXfull,RXfull},
/// read-only while the OS Lock is unlocked, read/write while it is locked (Table H4-3).
const MDSCR_TXFULL: u64 = 1 << 29;
const MDSCR_RXFULL: u64 = 1 << 30;

/// MDCR_EL2 fields (D17.2.108): TDE routes debug exceptions to EL2; TDA, TDOSA and TDRA trap
/// debug, OS and ROM register accesses from EL0/EL1 to EL2.
const MDCR2_TDE: u64 = 1 << 8;
const MDCR2_TDA: u64 = 1 << 9;
const MDCR2_TDOSA: u64 = 1 << 10;
const MDCR2_TDRA: u64 = 1 << 11;
/// MDCR_EL3 fields (D17.2.109): TDA and TDOSA trap to EL3; SDD disables debug exceptions in
/// Secure state.
const MDCR3_TDA: u64 = 1 << 9;
const MDCR3_TDOSA: u64 = 1 << 10;
const MDCR3_SDD: u64 = 1 << 16;
/// The MDCR_EL3 bits that hold state: TPM (6), TDA, TDOSA, SDD, SPME (17), EDAD (20),
/// EPMAD (21); the external-interface bits have no effect without an external debugger.
pub(crate) const MDCR3_MASK: u64 = 1 << 6 | MDCR3_TDA | MDCR3_TDOSA | MDCR3_SDD | 1 << 17 | 3 << 20;

/// Debug register encodings not in [`r`] (D17.3, "Debug registers").
pub mod reg {
    use super::enc;
    pub const OSECCR_EL1: u16 = enc(2, 0, 0, 6, 2);
    pub const MDRAR_EL1: u16 = enc(2, 0, 1, 0, 0);
    pub const DBGPRCR_EL1: u16 = enc(2, 0, 1, 4, 4);
    pub const DBGCLAIMSET_EL1: u16 = enc(2, 0, 7, 8, 6);
    pub const DBGCLAIMCLR_EL1: u16 = enc(2, 0, 7, 9, 6);
    pub const DBGAUTHSTATUS_EL1: u16 = enc(2, 0, 7, 14, 6);
    /// The DCC registers (H4.2, Table H4-3). DBGDTRRX_EL0 (MRS) and DBGDTRTX_EL0 (MSR) share
    /// one encoding.
    pub const MDCCSR_EL0: u16 = enc(2, 3, 0, 1, 0);
    pub const DBGDTR_EL0: u16 = enc(2, 3, 0, 4, 0);
    pub const DBGDTRRX_EL0: u16 = enc(2, 3, 0, 5, 0);
    pub const OSDTRRX_EL1: u16 = enc(2, 0, 0, 0, 2);
    pub const OSDTRTX_EL1: u16 = enc(2, 0, 0, 3, 2);
    /// DBGBVR<n>_EL1 (CRm = n, op2 = 4), DBGBCR<n>_EL1 (op2 = 5), DBGWVR<n>_EL1 (op2 = 6),
    /// DBGWCR<n>_EL1 (op2 = 7).
    pub const fn dbgbvr(n: u32) -> u16 {
        enc(2, 0, 0, n, 4)
    }
    pub const fn dbgbcr(n: u32) -> u16 {
        enc(2, 0, 0, n, 5)
    }
    pub const fn dbgwvr(n: u32) -> u16 {
        enc(2, 0, 0, n, 6)
    }
    pub const fn dbgwcr(n: u32) -> u16 {
        enc(2, 0, 0, n, 7)
    }
}

/// DBGBCR<n>_EL1 bits with state: E, PMC, BAS, HMC, SSC, LBN, BT (D17.3.6). BAS is RES1
/// (reads as 0b1111) because AArch32 is not implemented.
const BCR_MASK: u64 = 0x00ff_e1e7;
const BCR_BAS: u64 = 0xf << 5;
/// DBGWCR<n>_EL1 bits with state: E, PAC, LSC, BAS, HMC, SSC, LBN, WT, MASK (D17.3.8).
const WCR_MASK: u64 = 0x1f1f_ffff;

/// The self-hosted debug state of one PE.
#[derive(Clone, Debug, Default)]
pub struct DebugRegs {
    /// DBGBVR<n>_EL1.
    pub bvr: [u64; NBRP],
    /// DBGBCR<n>_EL1.
    pub bcr: [u64; NBRP],
    /// DBGWVR<n>_EL1.
    pub wvr: [u64; NWRP],
    /// DBGWCR<n>_EL1.
    pub wcr: [u64; NWRP],
    /// DBGCLAIM tag bits 7:0 (D17.3.4).
    pub claim: u64,
    /// DBGPRCR_EL1.CORENPDRQ (bit 0, D17.3.12).
    pub dbgprcr: u64,
    /// OSECCR_EL1 (the OS-lock view of EDECCR; no external debugger, so no effect).
    pub oseccr: u64,
    /// The DCC receive register DTRRX (H4.2). Only software writes it here: OSDTRRX_EL1 and
    /// the upper half of a DBGDTR_EL0 write. Software reads see it only while RXfull = 1.
    pub dtrrx: u32,
    /// The DCC transmit register DTRTX (H4.2), written by DBGDTRTX_EL0, DBGDTR_EL0 and
    /// OSDTRTX_EL1. No debugger reads it, so a value sent stays there.
    pub dtrtx: u32,
    /// EDSCR.RXfull: DTRRX holds a value from the debugger not yet read by software. Without
    /// a debugger only an MDSCR_EL1 write under the OS Lock (a restore) sets it.
    pub rxfull: bool,
    /// EDSCR.TXfull: DTRTX holds a value not yet read by the debugger. Set by every software
    /// write of DBGDTRTX_EL0/DBGDTR_EL0; only an MDSCR_EL1 write under the OS Lock clears it.
    pub txfull: bool,
    /// Some debug event can be generated: software step enabled or a breakpoint or
    /// watchpoint enabled with MDSCR_EL1.MDE, and the OS Lock clear.
    pub(crate) armed: bool,
    /// An enabled breakpoint with MDE = 1.
    pub(crate) bp_armed: bool,
    /// An enabled watchpoint with MDE = 1.
    pub(crate) wp_armed: bool,
    /// The last instruction completed in the active-not-pending step state and nothing
    /// (exception entry or return) happened since: the next step exception reports
    /// ISV = 1 (D2.12.x, ESR ISS for software step).
    pub(crate) stepped: bool,
    /// That instruction was a Load-Exclusive (ISS.EX).
    pub(crate) step_ex: bool,
}

/// Kinds of debug register access control (D17.3: the MDCR_EL2/EL3 trap bit that applies).
#[derive(Copy, Clone, PartialEq, Eq)]
enum Kind {
    /// Breakpoint, watchpoint, MDSCR, claim: TDA.
    Dbg,
    /// OS Lock and power control registers: TDOSA.
    Os,
    /// MDRAR_EL1: TDRA.
    Rom,
    /// The EL0-accessible DCC registers (MDCCSR_EL0, DBGDTR_EL0, DBGDTRRX/TX_EL0):
    /// MDSCR_EL1.TDCC at EL0, then TDA like [`Kind::Dbg`].
    Dcc,
}

fn kind_of(e: u16) -> Option<Kind> {
    use reg::*;
    Some(match e {
        r::OSLAR_EL1 | r::OSLSR_EL1 | r::OSDLR_EL1 | DBGPRCR_EL1 => Kind::Os,
        MDRAR_EL1 => Kind::Rom,
        r::MDSCR_EL1
        | r::MDCCINT_EL1
        | OSECCR_EL1
        | DBGCLAIMSET_EL1
        | DBGCLAIMCLR_EL1
        | DBGAUTHSTATUS_EL1
        | OSDTRRX_EL1
        | OSDTRTX_EL1 => Kind::Dbg,
        MDCCSR_EL0 | DBGDTR_EL0 | DBGDTRRX_EL0 => Kind::Dcc,
        _ if e >> 7 == enc(2, 0, 0, 0, 0) >> 7 && e & 7 >= 4 => {
            let n = ((e >> 3) & 15) as usize;
            let ok = if e & 7 < 6 { n < NBRP } else { n < NWRP };
            if !ok {
                return None;
            }
            Kind::Dbg
        }
        _ => return None,
    })
}

impl Arm64Cpu {
    /// The PE is in Secure state (D1.2): at EL3, or below it with SCR_EL3.NS = 0.
    fn dbg_secure(&self) -> bool {
        self.el == 3 || self.sys.scr_el3 & 1 == 0
    }

    /// The EL debug exceptions are taken to (D2.3 "Routing debug exceptions",
    /// DebugTarget()): EL2 when EL2 is enabled and HCR_EL2.TGE or MDCR_EL2.TDE is 1, else EL1.
    pub(crate) fn debug_target(&self) -> u8 {
        let secure = self.dbg_secure();
        if !secure && self.sys.el2_enabled() && (self.sys.tge() || self.sys.mdcr_el2 & MDCR2_TDE != 0) {
            2
        } else {
            1
        }
    }

    /// OS Double Lock status (D2.5, DoubleLockStatus()): OSDLR_EL1.DLK = 1 and
    /// DBGPRCR_EL1.CORENPDRQ = 0 (no halting).
    fn double_locked(&self) -> bool {
        self.sys.osdlr_el1 & 1 != 0 && self.dbg.dbgprcr & 1 == 0
    }

    /// Debug exceptions enabled from EL `from` with PSTATE.D = `mask` (D2.1, "Enabling debug
    /// exceptions", AArch64.GenerateDebugExceptionsFrom()): never with the OS Lock or the OS
    /// Double Lock set; not in Secure state with MDCR_EL3.SDD = 1; from the target EL only
    /// with MDSCR_EL1.KDE = 1 and PSTATE.D = 0; from a higher EL than the target never.
    pub(crate) fn debug_enabled_from(&self, from: u8, secure: bool, mask: bool) -> bool {
        if self.sys.oslsr_el1 & 2 != 0 || self.double_locked() {
            return false;
        }
        if secure && self.sys.mdcr_el3 & MDCR3_SDD != 0 {
            return false;
        }
        let target =
            if !secure && self.sys.el2_enabled() && (self.sys.tge() || self.sys.mdcr_el2 & MDCR2_TDE != 0) {
                2
            } else {
                1
            };
        if from == target {
            self.sys.mdscr_el1 & MDSCR_KDE != 0 && !mask
        } else {
            target > from
        }
    }

    /// AArch64.GenerateDebugExceptions() for the current state.
    pub(crate) fn debug_enabled(&self) -> bool {
        self.debug_enabled_from(self.el, self.dbg_secure(), self.daif & (1 << 9) != 0)
    }

    /// Software step is active (D2.12.2): MDSCR_EL1.SS = 1 and debug exceptions enabled
    /// from the current state.
    #[inline]
    pub(crate) fn step_active(&self) -> bool {
        self.sys.mdscr_el1 & MDSCR_SS != 0 && self.debug_enabled()
    }

    /// Recomputes the armed flags after a write to a register they depend on.
    pub(crate) fn debug_rearm(&mut self) {
        let unlocked = self.sys.oslsr_el1 & 2 == 0 && !self.double_locked();
        let mde = self.sys.mdscr_el1 & MDSCR_MDE != 0 && unlocked;
        let d = &mut self.dbg;
        d.bp_armed = mde && d.bcr.iter().any(|c| c & 1 != 0);
        d.wp_armed = mde && d.wcr.iter().any(|c| c & 1 != 0);
        d.armed = d.bp_armed || d.wp_armed || (unlocked && self.sys.mdscr_el1 & MDSCR_SS != 0);
        // Stepping or breakpoints change how blocks are run: leave the current one.
        self.exit_block = true;
    }

    /// A debug exception with class `lower`/`same` (chosen by the routing) and `iss`.
    fn debug_exc(&self, lower: u8, same: u8, iss: u32, far: Option<u64>) -> Exc {
        let target = self.debug_target();
        let ec = if target > self.el { lower } else { same };
        Exc { ec, iss, far, target, ..Exc::undef() }
    }

    /// The Software Step exception taken in the active-pending state (D2.12.5; ESR ISS:
    /// ISV bit 24, EX bit 6, IFSC 0b100010).
    pub(crate) fn step_exception(&mut self) -> Exc {
        let iss = if self.dbg.stepped { 1 << 24 | (self.dbg.step_ex as u32) << 6 } else { 0 };
        self.dbg.stepped = false;
        self.debug_exc(ec::SSTEP_LOWER, ec::SSTEP_SAME, iss | FSC_DEBUG, None)
    }

    /// The instruction `raw` completed in the active-not-pending state: PSTATE.SS := 0, so
    /// the step exception is pending before the next one (D2.12.4).
    pub(crate) fn step_completed(&mut self, raw: u32) {
        self.ss = false;
        self.dbg.stepped = true;
        // ISS.EX: the stepped instruction was a Load-Exclusive (LDXR*, LDAXR*, LDXP, LDAXP:
        // the load/store exclusive class with o2 = 0 and L = 1; size 0x with o1 = 1 is
        // CASP*, C4.1 encoding index).
        let excl_class = (raw >> 24) & 0x3f == 0x08 && raw & (1 << 23) == 0 && raw & (1 << 22) != 0;
        let casp = raw & (1 << 21) != 0 && raw & (1 << 31) == 0;
        self.dbg.step_ex = excl_class && !casp;
    }

    /// PSTATE.SS after an exception return with `spsr` (D2.12.3, DebugExceptionReturnSS()):
    /// SPSR.SS is restored only when stepping is disabled at the source and enabled at the
    /// destination; otherwise 0. Must be called before PSTATE is changed.
    pub(crate) fn debug_return_ss(&mut self, spsr: u64, illegal: bool) -> bool {
        self.dbg.stepped = false;
        if self.sys.mdscr_el1 & MDSCR_SS == 0 {
            return false;
        }
        let at_source = self.debug_enabled();
        let dest = if illegal { self.el } else { ((spsr >> 2) & 3) as u8 };
        let secure = dest == 3 || self.sys.scr_el3 & 1 == 0;
        let at_dest = self.debug_enabled_from(dest, secure, spsr & (1 << 9) != 0);
        !at_source && at_dest && spsr & (1 << 21) != 0
    }

    /// Breakpoint n's value comparison (D2.8, AArch64.BreakpointValueMatch(); BT encodings
    /// in D17.3.6 DBGBCR<n>_EL1.BT): address match (BT = 000x) on any breakpoint; on the
    /// context-aware one Context ID (001x: CONTEXTIDR_EL1, or CONTEXTIDR_EL2 in the EL2&0
    /// host), CONTEXTIDR_EL1 (011x, FEAT_VHE), VMID (100x), VMID + Context ID (101x),
    /// CONTEXTIDR_EL2 (110x, FEAT_VHE) and full Context ID (111x, FEAT_VHE) matches.
    /// `linked_to`: evaluated as the target of a link.
    fn bp_value_match(&self, n: usize, pc: u64, linked_to: bool) -> bool {
        if n >= NBRP {
            return false;
        }
        let ctl = self.dbg.bcr[n];
        if ctl & 1 == 0 {
            return false;
        }
        let bt = (ctl >> 20) & 15;
        let context_aware = n >= NBRP - NCTX;
        let match_addr = bt & 0b1110 == 0;
        let match_cid = bt & 0b1110 == 0b0010;
        let match_cid1 = bt & 0b1110 == 0b1010 || bt & 0b0110 == 0b0110;
        let match_vmid = bt & 0b1100 == 0b1000;
        let match_cid2 = bt & 0b1100 == 0b1100;
        let linked = bt & 1 != 0;
        // The address mismatch types (010x, AArch32 only) and context types on a breakpoint
        // that is not context-aware are reserved: treated as disabled (CONSTRAINED
        // UNPREDICTABLE, D2.8.x).
        if bt & 0b1110 == 0b0100 || (!match_addr && !context_aware) {
            return false;
        }
        if linked_to && (!linked || match_addr) {
            return false;
        }
        if !linked_to && linked && !match_addr {
            return false;
        }
        let bvr = self.dbg.bvr[n];
        let el01 = self.el < 2;
        // IsInHost(): EL2, or EL0 with TGE, in the EL2&0 regime (E2H = 1).
        let in_host =
            self.sys.el2_enabled() && self.sys.e2h() && (self.el == 2 || (self.el == 0 && self.sys.tge()));
        let lo = |v: u64| v & 0xffff_ffff;
        let mut m = true;
        if match_addr {
            // VA bits 48:2 (no AArch32, so BAS does not take part).
            const M: u64 = ((1 << 49) - 1) & !3;
            m = pc & M == bvr & M;
        } else if match_cid {
            m = if in_host {
                lo(self.sys.contextidr_el2) == lo(bvr)
            } else {
                el01 && lo(self.sys.contextidr_el1) == lo(bvr)
            };
        } else if match_cid1 {
            m = el01 && !in_host && lo(self.sys.contextidr_el1) == lo(bvr);
        }
        if match_vmid {
            // VMIDBits = 8 (ID_AA64MMFR1_EL1): VTTBR_EL2.VMID[7:0] against DBGBVR[39:32].
            let vmid = (self.sys.vttbr_el2 >> 48) & 0xff;
            m = m && el01 && self.sys.el2_enabled() && !in_host && vmid == (bvr >> 32) & 0xff;
        } else if match_cid2 {
            m = m && !self.dbg_secure() && lo(self.sys.contextidr_el2) == bvr >> 32;
        }
        m
    }

    /// StateMatch() (D2.8.x/D2.10.x, "Execution conditions"): the SSC, HMC and PMC/PAC
    /// fields against the current EL and Security state, and the linked context breakpoint.
    fn dbg_state_match(&self, ctl: u64, linked: bool, is_bp: bool, ispriv: bool) -> bool {
        let pxc = (ctl >> 1) & 3;
        let hmc = ctl & (1 << 13) != 0;
        let ssc = (ctl >> 14) & 3;
        let lbn = ((ctl >> 16) & 15) as usize;
        let secure = self.dbg_secure();
        let priv_match = match self.el {
            3 => hmc && ssc & 1 == 0,
            2 => hmc && ssc != 0b10,
            1 => {
                if ispriv || is_bp {
                    pxc & 1 != 0
                } else {
                    pxc & 2 != 0
                }
            }
            _ => pxc & 2 != 0,
        };
        let ss_match = match ssc {
            0b01 | 0b11 => !secure,
            0b10 => secure,
            _ => true,
        };
        priv_match && ss_match && (!linked || self.bp_value_match(lbn, 0, true))
    }

    /// A breakpoint matches the instruction at `pc` (AArch64.BreakpointMatch()).
    fn bp_match(&self, n: usize, pc: u64) -> bool {
        let ctl = self.dbg.bcr[n];
        let bt = (ctl >> 20) & 15;
        // BT = 0001 links an address match to context breakpoint LBN.
        let linked = bt == 0b0001;
        self.bp_value_match(n, pc, false) && self.dbg_state_match(ctl, linked, true, true)
    }

    /// Checks the hardware breakpoints before executing the instruction at `pc` (D2.8,
    /// AArch64.CheckBreakpoint(): MDSCR_EL1.MDE = 1 and debug exceptions enabled). The
    /// Breakpoint exception has EC 0x30/0x31, IFSC 0b100010, ELR = `pc`.
    pub(crate) fn check_breakpoints(&self, pc: u64) -> Option<Exc> {
        if !(0..NBRP).any(|n| self.bp_match(n, pc)) || !self.debug_enabled() {
            return None;
        }
        Some(self.debug_exc(ec::BKPT_LOWER, ec::BKPT_SAME, FSC_DEBUG, None))
    }

    /// Some enabled address breakpoint may match `pc` (a cheap filter used to end blocks
    /// before a breakpointed instruction so that it is checked at a block start).
    pub(crate) fn bp_address_hit(&self, pc: u64) -> bool {
        const M: u64 = ((1 << 49) - 1) & !3;
        (0..NBRP).any(|n| {
            let c = self.dbg.bcr[n];
            c & 1 != 0 && (c >> 21) & 7 == 0 && pc & M == self.dbg.bvr[n] & M
        })
    }

    /// How many instructions of a block starting at `pc` may run (of `limit`): one while
    /// stepping; with breakpoints, those before the first possibly breakpointed address
    /// (which then starts the next block and is checked there).
    pub(crate) fn debug_limit(&self, pc: u64, limit: usize, stepping: bool) -> usize {
        if stepping {
            return 1;
        }
        if self.dbg.bp_armed {
            if let Some(i) = (1..limit).find(|&i| self.bp_address_hit(pc.wrapping_add(4 * i as u64))) {
                return i;
            }
        }
        limit
    }

    /// One byte address against watchpoint n's address, BAS and MASK
    /// (AArch64.WatchpointByteMatch(), D2.10.x).
    fn wp_byte_match(&self, n: usize, va: u64) -> bool {
        const TOP: u64 = (1 << 49) - 1;
        let wvr = self.dbg.wvr[n];
        let ctl = self.dbg.wcr[n];
        let bottom = if wvr & 4 != 0 { 2 } else { 3 };
        let bas = (ctl >> 5) & 0xff;
        let mask = (ctl >> 24) & 31;
        if mask > 0 {
            // MASK 1 and 2 are reserved: treated as disabled (CONSTRAINED UNPREDICTABLE).
            // With a mask, BAS must be all ones; other values are treated as all ones.
            if mask <= 2 {
                return false;
            }
            let m = TOP & !((1u64 << mask) - 1);
            return va & m == wvr & m;
        }
        let byte = va & ((1 << bottom) - 1);
        let m = TOP & !((1u64 << bottom) - 1);
        bas >> byte & 1 != 0 && va & m == wvr & m
    }

    /// Checks the watchpoints for a data access of `size` bytes at `va` (D2.10,
    /// AArch64.CheckWatchpoint(); called after the access passed translation and alignment
    /// checks, so MMU faults take priority). `unpriv`: LDTR/STTR at EL1 match as EL0 accesses.
    /// The Watchpoint exception has EC 0x34/0x35, ISS.WnR and DFSC 0b100010, FAR = `va`.
    pub(crate) fn check_watchpoints(&self, va: u64, size: u64, write: bool, unpriv: bool) -> Result<(), Exc> {
        let far = va;
        let va = self.dbg_tbi(va);
        let hit = (0..NWRP).any(|n| {
            let ctl = self.dbg.wcr[n];
            if ctl & 1 == 0 || (ctl >> (3 + write as u64)) & 1 == 0 {
                return false;
            }
            let linked = ctl & (1 << 20) != 0;
            self.dbg_state_match(ctl, linked, false, !unpriv)
                && (0..size).any(|b| self.wp_byte_match(n, va.wrapping_add(b)))
        });
        if !hit || !self.debug_enabled() {
            return Ok(());
        }
        Err(self.debug_exc(ec::WPT_LOWER, ec::WPT_SAME, (write as u32) << 6 | FSC_DEBUG, Some(far)))
    }

    /// Top-byte-ignore applies to watchpoint comparisons too: the tag byte is replaced by
    /// the extension of bit 55 (D8.8 "Address tagging"). Approximated here for EL0/EL1 by
    /// TCR_EL1.TBI0/TBI1 and for EL2/EL3 by TCR_ELx.TBI.
    fn dbg_tbi(&self, va: u64) -> u64 {
        let tcr = self.sys.tcr[self.el.max(1) as usize];
        let on = if self.el < 2 {
            tcr >> (if va >> 55 & 1 != 0 { 38 } else { 37 }) & 1 != 0
        } else {
            tcr >> 20 & 1 != 0
        };
        if on {
            ((va << 8) as i64 >> 8) as u64
        } else {
            va
        }
    }

    /// Trap checks for a debug register access (D17.3, each register's "Accessibility"):
    /// MDSCR_EL1.TDCC for the DCC registers at EL0 (to EL1, or to EL2 under HCR_EL2.TGE, see
    /// [`Arm64Cpu::take`]); MDCR_EL2.{TDA,TDOSA,TDRA} (forced by TDE and by HCR_EL2.TGE)
    /// from EL0/EL1 to EL2; MDCR_EL3.{TDA,TDOSA} from EL0-EL2 to EL3. In that priority order
    /// (the pseudocode of MDCCSR_EL0, DBGDTR*_EL0). MDCR_EL2/EL3.TDCC belong to FEAT_FGT,
    /// not implemented (RES0).
    fn debug_trap(&self, raw: u32, kind: Kind) -> Result<(), Exc> {
        if kind == Kind::Dcc && self.el == 0 && self.sys.mdscr_el1 & MDSCR_TDCC != 0 {
            return Err(Exc::sysreg_trap(raw, 1));
        }
        if self.el < 2 && self.sys.el2_enabled() && !self.dbg_secure() {
            let m = self.sys.mdcr_el2;
            let forced = m & MDCR2_TDE != 0 || self.sys.tge();
            let bit = match kind {
                Kind::Dbg | Kind::Dcc => MDCR2_TDA,
                Kind::Os => MDCR2_TDOSA,
                Kind::Rom => MDCR2_TDRA,
            };
            if forced || m & bit != 0 {
                return Err(Exc::sysreg_trap(raw, 2));
            }
        }
        if self.el < 3 {
            let bit = match kind {
                Kind::Os => MDCR3_TDOSA,
                _ => MDCR3_TDA,
            };
            if self.sys.mdcr_el3 & bit != 0 {
                return Err(Exc::sysreg_trap(raw, 3));
            }
        }
        Ok(())
    }

    /// MRS/MSR of the debug and PMU registers: `None` when `e` is not one of them. `write`
    /// holds the value for MSR. Called after the "op1 encodes the lowest EL" check.
    pub(crate) fn debug_pmu_sysreg(
        &mut self,
        p: &mut dyn Arm64Platform,
        raw: u32,
        e: u16,
        write: Option<u64>,
    ) -> Option<Result<u64, Exc>> {
        if (raw >> 19) & 3 == 3 {
            // op0 = 3: the PMU registers.
            return self.pmu_sysreg(p, raw, e, write);
        }
        let kind = kind_of(e)?;
        Some(self.debug_reg(raw, e, kind, write))
    }

    fn debug_reg(&mut self, raw: u32, e: u16, kind: Kind, write: Option<u64>) -> Result<u64, Exc> {
        use reg::*;
        // All but the Kind::Dcc ones have op1 = 0: EL0 accesses were already UNDEFINED by
        // the op1 rule. MDCCSR_EL0 has no MSR form (an unallocated encoding, before traps).
        if e == MDCCSR_EL0 && write.is_some() {
            return Err(Exc::undef());
        }
        self.debug_trap(raw, kind)?;
        if matches!(e, MDCCSR_EL0 | DBGDTR_EL0 | DBGDTRRX_EL0 | OSDTRRX_EL1 | OSDTRTX_EL1) {
            return Ok(self.dcc_access(e, write));
        }
        let d = &mut self.dbg;
        let Some(v) = write else {
            return Ok(match e {
                r::MDSCR_EL1 => {
                    self.sys.mdscr_el1
                        | if d.rxfull { MDSCR_RXFULL } else { 0 }
                        | if d.txfull { MDSCR_TXFULL } else { 0 }
                }
                r::MDCCINT_EL1 => self.sys.mdccint_el1,
                r::OSLSR_EL1 => self.sys.oslsr_el1,
                r::OSDLR_EL1 => self.sys.osdlr_el1,
                r::OSLAR_EL1 => return Err(Exc::undef()), // write-only
                DBGPRCR_EL1 => d.dbgprcr,
                // No ROM table: MDRAR_EL1.Valid = 0b00 (D17.3.19).
                MDRAR_EL1 => 0,
                OSECCR_EL1 => d.oseccr,
                DBGCLAIMSET_EL1 => 0xff, // the implemented claim bits (D17.3.5)
                DBGCLAIMCLR_EL1 => d.claim,
                // Non-secure and Secure invasive and non-invasive debug implemented and
                // enabled (NSID, NSNID, SID, SNID = 0b11, D17.3.2).
                DBGAUTHSTATUS_EL1 => 0xff,
                _ => {
                    let n = ((e >> 3) & 15) as usize;
                    match e & 7 {
                        4 => d.bvr[n],
                        5 => d.bcr[n],
                        6 => d.wvr[n],
                        _ => d.wcr[n],
                    }
                }
            });
        };
        match e {
            r::MDSCR_EL1 => {
                self.sys.mdscr_el1 = v & (MDSCR_SS | MDSCR_TDCC | MDSCR_KDE | MDSCR_HDE | MDSCR_MDE);
                // Restoring the DCC flags needs the OS Lock (Table H4-3; MDSCR_EL1.RXfull and
                // TXfull are read-only while it is unlocked).
                if self.sys.oslsr_el1 & 2 != 0 {
                    d.rxfull = v & MDSCR_RXFULL != 0;
                    d.txfull = v & MDSCR_TXFULL != 0;
                }
            }
            // MDCCINT_EL1.TX/RX (bits 29, 30): the DCC interrupt enables (no interrupt wired).
            r::MDCCINT_EL1 => self.sys.mdccint_el1 = v & (3 << 29),
            // OSLAR_EL1.OSLK sets OSLSR_EL1.OSLK (D17.3.26).
            r::OSLAR_EL1 => self.sys.oslsr_el1 = (self.sys.oslsr_el1 & !2) | (v & 1) << 1,
            r::OSLSR_EL1 | MDRAR_EL1 | DBGAUTHSTATUS_EL1 => return Err(Exc::undef()),
            r::OSDLR_EL1 => self.sys.osdlr_el1 = v & 1,
            DBGPRCR_EL1 => d.dbgprcr = v & 1,
            OSECCR_EL1 => d.oseccr = v & 0xffff_ffff,
            DBGCLAIMSET_EL1 => d.claim |= v & 0xff,
            DBGCLAIMCLR_EL1 => d.claim &= !(v & 0xff),
            _ => {
                let n = ((e >> 3) & 15) as usize;
                match e & 7 {
                    // Bits 1:0 are RES0 for address matching; the context-aware breakpoint
                    // keeps them (CONTEXTIDR_EL1 comparison, D17.3.7).
                    4 => d.bvr[n] = if n >= NBRP - NCTX { v } else { v & !3 },
                    5 => d.bcr[n] = v & BCR_MASK | BCR_BAS,
                    6 => d.wvr[n] = v & !3,
                    _ => d.wcr[n] = v & WCR_MASK,
                }
            }
        }
        self.debug_rearm();
        Ok(0)
    }

    /// The DCC registers, after the trap checks (Arm ARM H4.3.1 "Normal access mode", H4.4.3
    /// "Overrun and underrun flags", H4.5.1 Table H4-3, the register pages in D17.3). There is
    /// no overrun or underrun detection on software accesses; where the architecture leaves a
    /// value UNKNOWN this model chooses:
    /// - a read of DBGDTRRX_EL0 or DBGDTR_EL0 with RXfull = 0 returns 0 (and RXfull stays 0);
    /// - a write of DBGDTRTX_EL0 or DBGDTR_EL0 with TXfull = 1 (DTRTX, and for DBGDTR_EL0
    ///   DTRRX too, become UNKNOWN) stores the written value, like a write with TXfull = 0.
    ///
    /// No debugger drains DTRTX, so TXfull stays 1 after the first write. The DCC interrupt
    /// requests COMMRX/COMMTX (enabled by MDCCINT_EL1) are not wired to an interrupt
    /// controller: with no debugger, COMMRX could only follow a restored RXfull.
    fn dcc_access(&mut self, e: u16, write: Option<u64>) -> u64 {
        use reg::*;
        let d = &mut self.dbg;
        match (e, write) {
            // MDCCSR_EL0: RXfull (30) and TXfull (29), the rest RES0/RAZ.
            (MDCCSR_EL0, _) => (d.rxfull as u64) << 30 | (d.txfull as u64) << 29,
            // DBGDTRRX_EL0 (MRS): DTRRX zero-extended (bits 63:32 RES0); clears RXfull.
            (DBGDTRRX_EL0, None) => {
                let v = if d.rxfull { d.dtrrx as u64 } else { 0 };
                d.rxfull = false;
                v
            }
            // DBGDTRTX_EL0 (MSR): DTRTX = Xt[31:0] (bits 63:32 ignored); sets TXfull.
            (DBGDTRRX_EL0, Some(v)) => {
                d.dtrtx = v as u32;
                d.txfull = true;
                0
            }
            // DBGDTR_EL0 read: DTRTX:DTRRX (the word order is reversed with respect to
            // writes, H4.3.1); clears RXfull, TXfull unchanged.
            (DBGDTR_EL0, None) => {
                let v = if d.rxfull { (d.dtrtx as u64) << 32 | d.dtrrx as u64 } else { 0 };
                d.rxfull = false;
                v
            }
            // DBGDTR_EL0 write: DTRRX = Xt[63:32], DTRTX = Xt[31:0]; sets TXfull, RXfull
            // unchanged.
            (DBGDTR_EL0, Some(v)) => {
                d.dtrrx = (v >> 32) as u32;
                d.dtrtx = v as u32;
                d.txfull = true;
                0
            }
            // OSDTRRX_EL1/OSDTRTX_EL1: DTRRX/DTRTX without side effects on the flags. Arm
            // deprecates using them while the OS Lock is unlocked, but they still work.
            (OSDTRRX_EL1, None) => d.dtrrx as u64,
            (OSDTRRX_EL1, Some(v)) => {
                d.dtrrx = v as u32;
                0
            }
            (OSDTRTX_EL1, None) => d.dtrtx as u64,
            (OSDTRTX_EL1, Some(v)) => {
                d.dtrtx = v as u32;
                0
            }
            _ => unreachable!("not a DCC register"),
        }
    }
}
