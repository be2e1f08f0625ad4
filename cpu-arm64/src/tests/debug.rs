//! Self-hosted debug (crate::debug, Arm ARM D2): breakpoints (address, context, linked),
//! watchpoints (BAS, LSC, MASK), software step (state machine, ISV/EX, SPSR.SS), the enable
//! rules (OS Lock, OS Double Lock, KDE, PSTATE.D, MDE), MDCR_EL2.TDE routing and the
//! TDA trap, and the register interface. Encodings from `aarch64-linux-gnu-as`.

use super::{le_bytes, load, run, Mock, RAM};
use crate::cpu::Arm64Cpu;
use crate::sysreg::id;

const NOP: u32 = 0xd503201f;
const VBAR: u64 = RAM + 0x10_0000;
const DATA: u64 = RAM + 0x20_0000;

const MDSCR_SS: u64 = 1;
const MDSCR_KDE: u64 = 1 << 13;
const MDSCR_MDE: u64 = 1 << 15;
/// DBGBCR: E, PMC = EL1 (01) / EL0 (10) / both (11), BAS = 1111.
const BCR_EL1: u64 = 1 | 1 << 1 | 0xf << 5;
const BCR_EL0: u64 = 1 | 2 << 1 | 0xf << 5;

/// Debug enabled as a kernel would: OS Lock clear, MDSCR as given, PSTATE.D as given;
/// EL1 and EL2 vector tables of NOPs.
fn debug_setup(c: &mut Arm64Cpu, m: &mut Mock, mdscr: u64, d_masked: bool) {
    let nops = le_bytes(&[NOP; 0x200]);
    m.ram.write(sim_core::GuestPhys(VBAR), &nops);
    m.ram.write(sim_core::GuestPhys(VBAR + 0x1_0000), &nops);
    c.sys.oslsr_el1 &= !2;
    c.sys.mdscr_el1 = mdscr;
    c.daif = if d_masked { 0xf << 6 } else { 0 };
    c.sys.vbar[1] = VBAR;
    c.sys.vbar[2] = VBAR + 0x1_0000;
    c.debug_rearm();
}

fn ec(esr: u64) -> u64 {
    esr >> 26
}

/// Runs four NOPs at EL1 with breakpoint 0 on the third.
fn bp_el1(mdscr: u64, d_masked: bool, tweak: impl FnOnce(&mut Arm64Cpu)) -> (Arm64Cpu, Mock) {
    run(&[NOP; 4], 4, |c, m| {
        debug_setup(c, m, mdscr, d_masked);
        c.dbg.bvr[0] = RAM + 8;
        c.dbg.bcr[0] = BCR_EL1;
        tweak(c);
        c.debug_rearm();
    })
}

/// Runs the first `n` instructions of `code` at EL0 with MDSCR_EL1 = `mdscr`, PSTATE.D set,
/// vector tables at EL1 and EL2.
fn run_el0(code: &[u32], n: u64, mdscr: u64, tweak: impl FnOnce(&mut Arm64Cpu)) -> Arm64Cpu {
    run(code, n, |c, m| {
        debug_setup(c, m, mdscr, true);
        c.el = 0;
        c.spsel = false;
        tweak(c);
    })
    .0
}

#[test]
fn breakpoint_at_el1_needs_kde_mde_d_clear_and_no_locks() {
    let (c, _) = bp_el1(MDSCR_MDE | MDSCR_KDE, false, |_| {});
    assert_eq!(ec(c.sys.esr[1]), 0x31, "EC breakpoint, same EL");
    assert_eq!(c.sys.esr[1] & 0x3f, 0x22, "IFSC debug");
    assert_eq!(c.sys.esr[1] >> 25 & 1, 1, "IL");
    assert_eq!(c.sys.elr[1], RAM + 8);
    // Two NOPs before it, none at it, then one at the vector (VBAR + 0x200).
    assert_eq!((c.stats.instructions, c.pc), (3, VBAR + 0x204));
    // Masked by PSTATE.D, without KDE, without MDE, with the OS Lock or the Double Lock.
    for (mdscr, d, tweak) in [
        (MDSCR_MDE | MDSCR_KDE, true, 0),
        (MDSCR_MDE, false, 0),
        (MDSCR_KDE, false, 0),
        (MDSCR_MDE | MDSCR_KDE, false, 1),
        (MDSCR_MDE | MDSCR_KDE, false, 2),
    ] {
        let (c, _) = bp_el1(mdscr, d, |c| match tweak {
            1 => c.sys.oslsr_el1 |= 2,
            2 => c.sys.osdlr_el1 = 1,
            _ => {}
        });
        assert_eq!(c.sys.esr[1], 0, "case {mdscr:#x} {d} {tweak}");
        assert_eq!(c.pc, RAM + 16);
    }
    // DBGPRCR_EL1.CORENPDRQ = 1: the Double Lock does not apply (DoubleLockStatus()).
    let (c, _) = bp_el1(MDSCR_MDE | MDSCR_KDE, false, |c| {
        c.sys.osdlr_el1 = 1;
        c.dbg.dbgprcr = 1;
    });
    assert_eq!(ec(c.sys.esr[1]), 0x31);
    // A breakpoint for EL0 only (PMC = 10) does not match EL1 code.
    let (c, _) = bp_el1(MDSCR_MDE | MDSCR_KDE, false, |c| c.dbg.bcr[0] = BCR_EL0);
    assert_eq!(c.sys.esr[1], 0);
}

#[test]
fn breakpoint_from_el0_and_tde_routing_to_el2() {
    let c = run_el0(&[NOP; 4], 4, MDSCR_MDE, |c| {
        c.dbg.bvr[0] = RAM + 4;
        c.dbg.bcr[0] = BCR_EL0;
        c.debug_rearm();
    });
    assert_eq!(ec(c.sys.esr[1]), 0x30, "EC breakpoint, lower EL (PSTATE.D does not mask it)");
    assert_eq!(c.sys.elr[1], RAM + 4);
    assert_eq!(c.el, 1);
    // MDCR_EL2.TDE = 1: to EL2 (D2.3), vector offset 0x400.
    let c = run_el0(&[NOP; 4], 4, MDSCR_MDE, |c| {
        c.sys.mdcr_el2 = 1 << 8;
        c.dbg.bvr[0] = RAM + 4;
        c.dbg.bcr[0] = BCR_EL0;
        c.debug_rearm();
    });
    assert_eq!(c.el, 2);
    assert_eq!(ec(c.sys.esr[2]), 0x30);
    assert_eq!(c.sys.elr[2], RAM + 4);
    assert_eq!(c.sys.esr[1], 0);
    // BRK is routed by TDE too (EC 0x3c at EL2).
    let (c, _) = run(&[0xd4200000], 1, |c, m| {
        debug_setup(c, m, 0, true);
        c.sys.mdcr_el2 = 1 << 8;
    });
    assert_eq!((c.el, ec(c.sys.esr[2]), c.sys.elr[2]), (2, 0x3c, RAM));
    // TDE makes MDSCR_EL1 accesses from EL1 trap to EL2 (EC 0x18).
    let (c, _) = run(&[0xd5100241], 1, |c, m| {
        debug_setup(c, m, 0, true);
        c.sys.mdcr_el2 = 1 << 8;
    });
    assert_eq!(c.el, 2);
    assert_eq!(ec(c.sys.esr[2]), 0x18);
    // ... and so does TDA alone; MDCR_EL3.TDA traps to EL3.
    let (c, _) = run(&[0xd5300241], 1, |c, _| c.sys.mdcr_el2 = 1 << 9);
    assert_eq!((c.el, ec(c.sys.esr[2])), (2, 0x18));
    let (c, _) = run(&[0xd5300241], 1, |c, _| c.sys.mdcr_el3 = 1 << 9);
    assert_eq!((c.el, ec(c.sys.esr[3])), (3, 0x18));
}

#[test]
fn context_and_linked_breakpoints() {
    // Breakpoint 1 (context-aware), BT = 0010: CONTEXTIDR_EL1 match at any address.
    let cid = |bt0: u64, bt1: u64, contextidr: u64| {
        run_el0(&[NOP; 4], 4, MDSCR_MDE, move |c| {
            c.sys.contextidr_el1 = contextidr;
            c.dbg.bvr[1] = 0x1235;
            c.dbg.bcr[1] = BCR_EL0 | bt1 << 20;
            c.dbg.bvr[0] = RAM + 8;
            c.dbg.bcr[0] = BCR_EL0 | bt0 << 20 | 1 << 16; // LBN = 1
            c.debug_rearm();
        })
    };
    // bp0 disabled by a reserved type on a non-context-aware breakpoint (BT = 0010).
    let c = cid(0b0010, 0b0010, 0x1235);
    assert_eq!(c.sys.elr[1], RAM, "context match on the first instruction");
    assert_eq!(ec(c.sys.esr[1]), 0x30);
    let c = cid(0b0010, 0b0010, 0x1234);
    assert_eq!(c.sys.esr[1], 0, "CONTEXTIDR differs; bp0's context type is reserved");
    // Linked: bp0 address (BT = 0001) linked to bp1 (BT = 0011, linked context).
    let c = cid(0b0001, 0b0011, 0x1235);
    assert_eq!((ec(c.sys.esr[1]), c.sys.elr[1]), (0x30, RAM + 8));
    let c = cid(0b0001, 0b0011, 0x1);
    assert_eq!(c.sys.esr[1], 0, "linked context does not match");
    // FEAT_VHE types: CONTEXTIDR_EL2 in DBGBVR[63:32] (BT = 1100); full context ID (1110)
    // needs CONTEXTIDR_EL1 to match too.
    let vhe = |bt: u64, el2: u64, el1: u64| {
        run_el0(&[NOP; 2], 2, MDSCR_MDE, move |c| {
            c.sys.contextidr_el1 = el1;
            c.sys.contextidr_el2 = el2;
            c.dbg.bvr[1] = 0x77 << 32 | 0x55;
            c.dbg.bcr[1] = BCR_EL0 | bt << 20;
            c.debug_rearm();
        })
        .sys
        .esr[1]
            >> 26
    };
    assert_eq!(vhe(0b1100, 0x77, 0), 0x30);
    assert_eq!(vhe(0b1100, 0x78, 0x55), 0);
    assert_eq!(vhe(0b1110, 0x77, 0x55), 0x30);
    assert_eq!(vhe(0b1110, 0x77, 0x56), 0);
    assert_eq!(vhe(0b0110, 0, 0x55), 0x30, "CONTEXTIDR_EL1 only");
    // A linked context type alone never matches (bp0: a reserved type).
    let c = cid(0b1111, 0b0011, 0x1235);
    assert_eq!(c.sys.esr[1], 0);
}

#[test]
fn watchpoints_bas_lsc_and_mask() {
    // ldr w1,[x0] ; ldr w2,[x0,#4] ; str w2,[x0,#4] ; nop
    let code = [0xb9400001, 0xb9400402, 0xb9000402, NOP];
    let wp = |wcr: u64, wvr: u64| {
        run(&code, 4, move |c, m| {
            debug_setup(c, m, MDSCR_MDE | MDSCR_KDE, false);
            c.x[0] = DATA;
            c.dbg.wvr[0] = wvr;
            c.dbg.wcr[0] = wcr;
            c.debug_rearm();
        })
        .0
    };
    // Loads only, EL1 (PAC = 01), BAS = byte 4 of the doubleword.
    let c = wp(1 | 1 << 1 | 1 << 3 | 0x10 << 5, DATA);
    assert_eq!(ec(c.sys.esr[1]), 0x35);
    assert_eq!(c.sys.elr[1], RAM + 4, "the first load (bytes 0-3) did not match");
    assert_eq!(c.sys.far[1], DATA + 4);
    assert_eq!(c.sys.esr[1] & 0x7f, 0x22, "WnR = 0, DFSC debug");
    // Stores only: the loads pass, the store matches with WnR.
    let c = wp(1 | 1 << 1 | 2 << 3 | 0x10 << 5, DATA);
    assert_eq!((c.sys.elr[1], c.sys.esr[1] & 0x7f), (RAM + 8, 0x62));
    // Word watchpoint (DBGWVR bit 2 set): BAS bits 3:0 select bytes of the word at DATA + 4.
    let c = wp(1 | 1 << 1 | 3 << 3 | 0x1 << 5, DATA + 4);
    assert_eq!(c.sys.elr[1], RAM + 4);
    // EL0 only (PAC = 10): no match at EL1.
    let c = wp(1 | 2 << 1 | 3 << 3 | 0xff << 5, DATA);
    assert_eq!(c.sys.esr[1], 0);
    // MASK = 12: the whole 4 KiB page; the store at +0x800.
    let (c, _) = run(&[0xf9040001], 1, |c, m| {
        debug_setup(c, m, MDSCR_MDE | MDSCR_KDE, false);
        c.x[0] = DATA;
        c.dbg.wvr[0] = DATA;
        c.dbg.wcr[0] = 1 | 1 << 1 | 3 << 3 | 0xff << 5 | 12 << 24;
        c.debug_rearm();
    });
    assert_eq!((ec(c.sys.esr[1]), c.sys.far[1]), (0x35, DATA + 0x800));
    assert_eq!(c.sys.esr[1] >> 6 & 1, 1, "WnR");
}

#[test]
fn software_step_state_machine() {
    // EL0: mov x1,#1 ; ldxr x2,[x0] ; svc #0 ; ldr x3,[x4] (x4 above the PA range)
    let code: [u32; 4] = [0xd2800021, 0xc85f7c02, 0xd4000001, 0xf9400083];
    let (mut c, mut m) = load(&code);
    debug_setup(&mut c, &mut m, MDSCR_SS, true);
    c.x[0] = DATA;
    c.x[4] = 1 << 45;
    // Returns to EL0 at `pc` in the active-not-pending state, as an ERET with SPSR.SS = 1.
    let resume = |c: &mut Arm64Cpu, pc: u64| {
        c.el = 0;
        c.spsel = false;
        c.daif = 0;
        c.ss = true;
        c.pc = pc;
    };
    resume(&mut c, RAM);
    c.run(&mut m, 1);
    assert_eq!((c.el, c.ss, c.x[1]), (0, false, 1), "one instruction, then active-pending");
    c.run(&mut m, 1);
    assert_eq!(c.el, 1);
    assert_eq!(c.sys.esr[1], 0x32 << 26 | 1 << 25 | 1 << 24 | 0x22, "EC 0x32, ISV = 1, EX = 0");
    assert_eq!(c.sys.elr[1], RAM + 4);
    assert_eq!(c.sys.spsr[1] >> 21 & 1, 0, "SPSR.SS = 0");
    assert_eq!(c.stats.instructions, 1, "the step exception retires nothing");
    resume(&mut c, RAM + 4);
    c.run(&mut m, 2);
    assert_eq!(c.sys.esr[1] & (1 << 24 | 1 << 6), 1 << 24 | 1 << 6, "EX = 1 after LDXR");
    assert_eq!(c.sys.elr[1], RAM + 8);
    // A stepped SVC completes: its exception is taken with SPSR.SS = 0.
    resume(&mut c, RAM + 8);
    c.run(&mut m, 1);
    assert_eq!((ec(c.sys.esr[1]), c.sys.spsr[1] >> 21 & 1), (0x15, 0));
    // A faulting stepped instruction did not complete: SPSR.SS = 1.
    resume(&mut c, RAM + 12);
    c.run(&mut m, 1);
    assert_eq!((ec(c.sys.esr[1]), c.sys.spsr[1] >> 21 & 1), (0x24, 1));
    // Active-pending straight after the return: ISV = 0, before the first instruction.
    resume(&mut c, RAM);
    c.ss = false;
    c.x[1] = 0;
    c.run(&mut m, 1);
    assert_eq!(c.sys.esr[1], 0x32 << 26 | 1 << 25 | 0x22);
    assert_eq!((c.sys.elr[1], c.x[1]), (RAM, 0));
}

#[test]
fn eret_sets_pstate_ss_only_where_stepping_is_enabled() {
    // EL1: eret to EL0 at RAM + 0x100 (NOPs).
    let mut code = vec![0xd69f03e0];
    code.resize(0x100 / 4, NOP);
    code.extend([NOP; 4]);
    for (spsr_ss, mdscr, steps, elr, isv) in [
        (true, MDSCR_SS, 1u64, RAM + 0x104, true),
        (false, MDSCR_SS, 0, RAM + 0x100, false),
        (true, 0, 4, 0, false),
    ] {
        // Budget: the ERET, the steps, and the step exception (or 4 NOPs).
        let (c, _) = run(&code, 2 + steps.min(3), |c, m| {
            debug_setup(c, m, mdscr, true);
            c.sys.elr[1] = RAM + 0x100;
            c.sys.spsr[1] = (spsr_ss as u64) << 21;
        });
        if mdscr == 0 {
            assert_eq!((c.el, c.sys.esr[1]), (0, 0), "no stepping");
            continue;
        }
        assert_eq!(c.stats.instructions, 1 + steps);
        assert_eq!(ec(c.sys.esr[1]), 0x32);
        assert_eq!(c.sys.elr[1], elr);
        assert_eq!(c.sys.esr[1] >> 24 & 1 != 0, isv);
    }
    // Stepping active at EL1 itself (KDE = 1, D = 0): the stepped ERET ends in
    // active-pending at EL0 whatever SPSR.SS says.
    let (c, _) = run(&code, 2, |c, m| {
        debug_setup(c, m, MDSCR_SS | MDSCR_KDE, false);
        c.ss = true;
        c.sys.elr[1] = RAM + 0x100;
        c.sys.spsr[1] = 1 << 21;
    });
    assert_eq!((ec(c.sys.esr[1]), c.sys.elr[1]), (0x32, RAM + 0x100));
    assert_eq!(c.sys.esr[1] >> 24 & 1, 1, "the ERET was stepped: ISV = 1");
}

#[test]
fn debug_register_interface() {
    // mrs x1, id_aa64dfr0_el1
    let (c, _) = run(&[0xd5380501], 1, |_, _| {});
    assert_eq!(c.x[1], id::AA64DFR0);
    assert_eq!(c.x[1] & 0xf, 6, "DebugVer");
    assert_eq!((c.x[1] >> 12 & 0xf, c.x[1] >> 20 & 0xf, c.x[1] >> 28 & 0xf), (1, 1, 0));
    // msr dbgbcr0_el1, x1 ; mrs x2, dbgbcr0_el1 ; msr oslar_el1, x1 ; mrs x3, oslsr_el1
    let (c, _) = run(&[0xd51000a1, 0xd53000a2, 0xd5101081, 0xd5301183], 4, |c, _| c.x[1] = u64::MAX);
    assert_eq!(c.x[2], 0x00ff_e1e7, "DBGBCR0 fields; BAS RES1");
    assert_eq!(c.x[3] & 0xa, 0xa, "OSLM = 0b10, OSLK = 1");
    // msr oslar_el1, xzr-like (x1 = 0) unlocks.
    let (c, _) = run(&[0xd5101081, 0xd5301183], 2, |c, _| c.x[1] = 0);
    assert_eq!(c.x[3] & 2, 0);
    // Breakpoint 2 does not exist: UNDEFINED.
    let (c, _) = run(&[0xd51002a1], 1, |c, _| c.sys.vbar[1] = VBAR);
    assert_eq!(ec(c.sys.esr[1]), 0);
    // Claim tags: set 0xff, read back through CLR, clear some.
    let (c, _) = run(&[0xd51078c1, 0xd53079c4, 0xd51079c5, 0xd53079c6], 4, |c, _| {
        c.x[1] = 0x1ff;
        c.x[5] = 0x0f;
    });
    assert_eq!((c.x[4], c.x[6]), (0xff, 0xf0));
    // Debug registers are UNDEFINED at EL0 (op1 = 0).
    let (c, _) = run(&[0xd5300241], 1, |c, _| {
        c.sys.vbar[1] = VBAR;
        c.el = 0;
    });
    assert_eq!((c.el, ec(c.sys.esr[1])), (1, 0));
}

/// MRS/MSR of an op0 = 2, CRn = 0 debug register (the DCC ones), checked against
/// `aarch64-linux-gnu-as` (e.g. `mrs x1, mdccsr_el0` = 0xd5330101).
const fn mrs(op1: u32, crm: u32, op2: u32, rt: u32) -> u32 {
    0xd5300000 | op1 << 16 | crm << 8 | op2 << 5 | rt
}
const fn msr(op1: u32, crm: u32, op2: u32, rt: u32) -> u32 {
    0xd5100000 | op1 << 16 | crm << 8 | op2 << 5 | rt
}
const MDCCSR: (u32, u32, u32) = (3, 1, 0);
const DBGDTR: (u32, u32, u32) = (3, 4, 0);
/// DBGDTRRX_EL0 for MRS, DBGDTRTX_EL0 for MSR.
const DBGDTRRXTX: (u32, u32, u32) = (3, 5, 0);
const OSDTRRX: (u32, u32, u32) = (0, 0, 2);
const OSDTRTX: (u32, u32, u32) = (0, 3, 2);
const RXFULL: u64 = 1 << 30;
const TXFULL: u64 = 1 << 29;
const MDSCR_TDCC: u64 = 1 << 12;

fn rd(r: (u32, u32, u32), rt: u32) -> u32 {
    mrs(r.0, r.1, r.2, rt)
}
fn wr(r: (u32, u32, u32), rt: u32) -> u32 {
    msr(r.0, r.1, r.2, rt)
}

#[test]
fn dcc_transmit_receive_and_flags() {
    assert_eq!((rd(MDCCSR, 1), wr(DBGDTRRXTX, 1), rd(OSDTRTX, 1)), (0xd5330101, 0xd5130501, 0xd5300341));
    // Reset: both flags clear. A DBGDTRTX_EL0 write sends Xt[31:0] and sets TXfull, which
    // stays set (no debugger drains DTRTX); OSDTRTX_EL1 reads DTRTX without side effects.
    let code = [rd(MDCCSR, 1), wr(DBGDTRRXTX, 2), rd(MDCCSR, 3), rd(OSDTRTX, 4), rd(MDCCSR, 5)];
    let (c, _) = run(&code, 5, |c, _| c.x[2] = 0xdead_beef_1234_5678);
    assert_eq!((c.x[1], c.x[3], c.x[4], c.x[5]), (0, TXFULL, 0x1234_5678, TXFULL));
    assert_eq!((c.dbg.dtrtx, c.dbg.txfull, c.dbg.rxfull), (0x1234_5678, true, false));
    // A write with TXfull = 1 makes DTRTX UNKNOWN: this model stores the value written.
    let (c, _) = run(&[wr(DBGDTRRXTX, 2), wr(DBGDTRRXTX, 3), rd(MDCCSR, 1)], 3, |c, _| {
        c.x[2] = 1;
        c.x[3] = 2;
    });
    assert_eq!((c.dbg.dtrtx, c.x[1]), (2, TXFULL));
    // OSDTRRX_EL1 writes DTRRX without setting RXfull; DBGDTRRX_EL0 with RXfull = 0 reads
    // the UNKNOWN value this model chooses, 0, and RXfull stays 0.
    let code = [wr(OSDTRRX, 2), rd(OSDTRRX, 3), rd(DBGDTRRXTX, 4), rd(MDCCSR, 5)];
    let (c, _) = run(&code, 4, |c, _| c.x[2] = 0x1_aabb_ccdd);
    assert_eq!((c.x[3], c.x[4], c.x[5]), (0xaabb_ccdd, 0, 0));
    assert_eq!((c.dbg.dtrrx, c.dbg.rxfull), (0xaabb_ccdd, false));
    // With RXfull = 1 (as a debugger write would leave it) DBGDTRRX_EL0 returns DTRRX
    // zero-extended and clears RXfull; a second read returns the UNKNOWN 0.
    let code = [rd(MDCCSR, 1), rd(DBGDTRRXTX, 2), rd(MDCCSR, 3), rd(DBGDTRRXTX, 4)];
    let (c, _) = run(&code, 4, |c, _| {
        c.dbg.dtrrx = 0x8765_4321;
        c.dbg.rxfull = true;
    });
    assert_eq!((c.x[1], c.x[2], c.x[3], c.x[4]), (RXFULL, 0x8765_4321, 0, 0));
    // DBGDTR_EL0 write: DTRRX = Xt[63:32], DTRTX = Xt[31:0], TXfull set, RXfull unchanged.
    let (c, _) = run(&[wr(DBGDTR, 2), rd(MDCCSR, 1)], 2, |c, _| c.x[2] = 0x1111_1111_2222_2222);
    assert_eq!((c.dbg.dtrrx, c.dbg.dtrtx, c.x[1]), (0x1111_1111, 0x2222_2222, TXFULL));
    // DBGDTR_EL0 read: DTRTX in bits 63:32, DTRRX in 31:0 (reversed word order); clears
    // RXfull, keeps TXfull. With RXfull = 0 it returns 0.
    let code = [rd(DBGDTR, 2), rd(MDCCSR, 1), rd(DBGDTR, 3)];
    let (c, _) = run(&code, 3, |c, _| {
        c.dbg.dtrrx = 0x1111_1111;
        c.dbg.dtrtx = 0x2222_2222;
        c.dbg.rxfull = true;
        c.dbg.txfull = true;
    });
    assert_eq!((c.x[2], c.x[1], c.x[3]), (0x2222_2222_1111_1111, TXFULL, 0));
    // OSDTRTX_EL1 writes DTRTX without setting TXfull.
    let (c, _) = run(&[wr(OSDTRTX, 2), rd(MDCCSR, 1)], 2, |c, _| c.x[2] = 0x5_0000_0007);
    assert_eq!((c.dbg.dtrtx, c.x[1]), (7, 0));
    // MDCCSR_EL0 is read-only: MSR is UNDEFINED.
    let (c, _) = run(&[wr(MDCCSR, 1)], 1, |c, _| c.sys.vbar[1] = VBAR);
    assert_eq!((ec(c.sys.esr[1]), c.sys.elr[1]), (0, RAM));
}

#[test]
fn dcc_flags_save_restore_through_mdscr_under_the_os_lock() {
    // msr oslar_el1, x1 (lock) ; msr mdscr_el1, x2 ; msr oslar_el1, xzr ; mrs x3, mdccsr_el0 ;
    // mrs x4, mdscr_el1 ; mrs x5, dbgdtrrx_el0 ; mrs x6, mdscr_el1
    let code = [0xd5101081, 0xd5100242, 0xd510109f, rd(MDCCSR, 3), 0xd5300244, rd(DBGDTRRXTX, 5), 0xd5300246];
    let (c, _) = run(&code, 7, |c, _| {
        c.x[1] = 1;
        c.x[2] = RXFULL | TXFULL | MDSCR_MDE;
        c.dbg.dtrrx = 0x42;
    });
    assert_eq!(c.x[3], RXFULL | TXFULL, "flags restored");
    assert_eq!(c.x[4], RXFULL | TXFULL | MDSCR_MDE, "MDSCR_EL1 shows the flags");
    assert_eq!((c.x[5], c.x[6]), (0x42, TXFULL | MDSCR_MDE));
    // With the OS Lock unlocked MDSCR_EL1.{RXfull,TXfull} are read-only.
    let (c, _) = run(&[0xd5100242, rd(MDCCSR, 3)], 2, |c, _| {
        c.sys.oslsr_el1 &= !2;
        c.x[2] = RXFULL | TXFULL;
    });
    assert_eq!((c.x[3], c.dbg.rxfull, c.dbg.txfull), (0, false, false));
    // Under the OS Lock, writing 0 clears them (restoring an empty channel).
    let (c, _) = run(&[0xd5100242, rd(MDCCSR, 3)], 2, |c, _| {
        c.dbg.rxfull = true;
        c.dbg.txfull = true;
        c.x[2] = 0;
    });
    assert_eq!(c.x[3], 0);
}

#[test]
fn dcc_at_el0_and_mdscr_tdcc() {
    // op1 = 3: EL0 may use MDCCSR_EL0, DBGDTR_EL0, DBGDTRRX/TX_EL0 unless trapped.
    let code =
        [rd(MDCCSR, 1), wr(DBGDTRRXTX, 2), rd(MDCCSR, 3), wr(DBGDTR, 2), rd(DBGDTR, 4), rd(DBGDTRRXTX, 5)];
    let c = run_el0(&code, 6, 0, |c| {
        c.x[2] = 0x77;
        c.dbg.rxfull = true;
    });
    assert_eq!((c.el, c.sys.esr[1]), (0, 0), "no exception");
    assert_eq!((c.x[1], c.x[3]), (RXFULL, RXFULL | TXFULL));
    assert_eq!((c.x[4], c.x[5], c.dbg.dtrtx), (0x77 << 32, 0, 0x77));
    // MDSCR_EL1.TDCC = 1: every one of them traps to EL1 with EC 0x18 and the MRS/MSR ISS.
    for (insn, iss) in [
        (rd(MDCCSR, 1), 2 << 20 | 3 << 14 | 1 << 5 | 1 << 1 | 1),
        (wr(DBGDTRRXTX, 2), 2 << 20 | 3 << 14 | 2 << 5 | 5 << 1),
        (rd(DBGDTRRXTX, 1), 2 << 20 | 3 << 14 | 1 << 5 | 5 << 1 | 1),
        (rd(DBGDTR, 1), 2 << 20 | 3 << 14 | 1 << 5 | 4 << 1 | 1),
        (wr(DBGDTR, 1), 2 << 20 | 3 << 14 | 1 << 5 | 4 << 1),
    ] {
        let c = run_el0(&[insn], 1, MDSCR_TDCC, |c| c.dbg.rxfull = true);
        assert_eq!((c.el, ec(c.sys.esr[1])), (1, 0x18), "{insn:#x}");
        assert_eq!(c.sys.esr[1] & 0x1ff_ffff, iss, "{insn:#x}");
        assert_eq!((c.sys.elr[1], c.pc), (RAM, VBAR + 0x400), "lower-EL sync vector");
        assert_eq!((c.dbg.rxfull, c.dbg.txfull), (true, false), "no side effect");
    }
    // TDCC does not apply at EL1.
    let (c, _) = run(&[rd(MDCCSR, 1)], 1, |c, m| debug_setup(c, m, MDSCR_TDCC, true));
    assert_eq!((c.el, c.sys.esr[1]), (1, 0));
    // With HCR_EL2.TGE = 1 the TDCC trap goes to EL2.
    let c = run_el0(&[rd(MDCCSR, 1)], 1, MDSCR_TDCC, |c| c.sys.hcr_el2 = 1 << 27);
    assert_eq!((c.el, ec(c.sys.esr[2]), c.sys.esr[1]), (2, 0x18, 0));
    // The OS registers have op1 = 0: UNDEFINED at EL0, whatever TDCC.
    for insn in [rd(OSDTRRX, 1), wr(OSDTRTX, 1)] {
        let c = run_el0(&[insn], 1, 0, |_| {});
        assert_eq!((c.el, ec(c.sys.esr[1])), (1, 0), "{insn:#x}");
    }
    // MSR MDCCSR_EL0 is UNDEFINED even when TDCC would trap the register.
    let c = run_el0(&[wr(MDCCSR, 1)], 1, MDSCR_TDCC, |_| {});
    assert_eq!((c.el, ec(c.sys.esr[1])), (1, 0));
}

#[test]
fn dcc_traps_to_el2_and_el3() {
    // MDCR_EL2.TDA (or TDE, or HCR_EL2.TGE at EL0) traps EL0 and EL1 accesses to EL2;
    // TDCC, when set, wins at EL0.
    for (el, mdscr, mdcr2, hcr, insn, to) in [
        (0, 0, 1 << 9, 0, rd(MDCCSR, 1), 2),
        (0, 0, 1 << 8, 0, wr(DBGDTR, 1), 2),
        (0, 0, 0, 1 << 27, rd(DBGDTRRXTX, 1), 2),
        (0, MDSCR_TDCC, 1 << 9, 0, rd(MDCCSR, 1), 1),
        (1, 0, 1 << 9, 0, rd(MDCCSR, 1), 2),
        (1, 0, 1 << 9, 0, wr(DBGDTRRXTX, 1), 2),
        (1, 0, 1 << 8, 0, rd(OSDTRRX, 1), 2),
        (1, 0, 1 << 9, 0, wr(OSDTRTX, 1), 2),
        (1, MDSCR_TDCC, 0, 0, rd(DBGDTR, 1), 0),
    ] {
        let (c, _) = run(&[insn], 1, |c, m| {
            debug_setup(c, m, mdscr, true);
            c.el = el;
            c.spsel = el != 0;
            c.sys.mdcr_el2 = mdcr2;
            c.sys.hcr_el2 = hcr;
        });
        let case = format!("EL{el} {insn:#x} MDSCR {mdscr:#x} MDCR_EL2 {mdcr2:#x} HCR {hcr:#x}");
        if to == 0 {
            assert_eq!((c.el, c.sys.esr[1], c.sys.esr[2]), (el, 0, 0), "{case}");
        } else {
            assert_eq!((c.el, ec(c.sys.esr[to as usize])), (to, 0x18), "{case}");
        }
        assert!(!c.dbg.txfull, "{case}");
    }
    // MDCR_EL3.TDA traps EL0-EL2 to EL3 (EL2 not trapped by MDCR_EL2).
    for (el, insn) in [(0, rd(MDCCSR, 1)), (1, wr(DBGDTR, 1)), (2, rd(OSDTRRX, 1)), (2, wr(DBGDTRRXTX, 1))] {
        let (c, _) = run(&[insn], 1, |c, m| {
            debug_setup(c, m, 0, true);
            c.el = el;
            c.spsel = el != 0;
            c.sys.mdcr_el2 = if el == 2 { 1 << 9 } else { 0 };
            c.sys.mdcr_el3 = 1 << 9;
        });
        assert_eq!((c.el, ec(c.sys.esr[3])), (3, 0x18), "EL{el} {insn:#x}");
        assert!(!c.dbg.txfull);
    }
    // At EL3 nothing traps.
    let (c, _) = run(&[wr(DBGDTRRXTX, 1), rd(MDCCSR, 2)], 2, |c, _| {
        c.el = 3;
        c.sys.mdcr_el3 = 1 << 9;
        c.sys.mdcr_el2 = 1 << 9;
    });
    assert_eq!((c.el, c.x[2]), (3, TXFULL));
}
