//! Self-hosted debug (crate::debug, Arm ARM D2): breakpoints (address, context, linked),
//! watchpoints (BAS, LSC, MASK), software step (state machine, ISV/EX, SPSR.SS), the enable
//! rules (OS Lock, OS Double Lock, KDE, PSTATE.D, MDE), MDCR_EL2.TDE routing and the
//! TDA trap, and the register interface. Encodings from `aarch64-linux-gnu-as`.

use super::{run, Mock, RAM};
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
    let nops: Vec<u8> = [NOP; 0x200].iter().flat_map(|w| w.to_le_bytes()).collect();
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
    let el0 = |c: &mut Arm64Cpu| {
        c.el = 0;
        c.spsel = false;
    };
    let (c, _) = run(&[NOP; 4], 4, |c, m| {
        debug_setup(c, m, MDSCR_MDE, true);
        el0(c);
        c.dbg.bvr[0] = RAM + 4;
        c.dbg.bcr[0] = BCR_EL0;
        c.debug_rearm();
    });
    assert_eq!(ec(c.sys.esr[1]), 0x30, "EC breakpoint, lower EL (PSTATE.D does not mask it)");
    assert_eq!(c.sys.elr[1], RAM + 4);
    assert_eq!(c.el, 1);
    // MDCR_EL2.TDE = 1: to EL2 (D2.3), vector offset 0x400.
    let (c, _) = run(&[NOP; 4], 4, |c, m| {
        debug_setup(c, m, MDSCR_MDE, true);
        el0(c);
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
        run(&[NOP; 4], 4, move |c, m| {
            debug_setup(c, m, MDSCR_MDE, true);
            c.el = 0;
            c.spsel = false;
            c.sys.contextidr_el1 = contextidr;
            c.dbg.bvr[1] = 0x1235;
            c.dbg.bcr[1] = BCR_EL0 | bt1 << 20;
            c.dbg.bvr[0] = RAM + 8;
            c.dbg.bcr[0] = BCR_EL0 | bt0 << 20 | 1 << 16; // LBN = 1
            c.debug_rearm();
        })
        .0
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
        run(&[NOP; 2], 2, move |c, m| {
            debug_setup(c, m, MDSCR_MDE, true);
            c.el = 0;
            c.spsel = false;
            c.sys.contextidr_el1 = el1;
            c.sys.contextidr_el2 = el2;
            c.dbg.bvr[1] = 0x77 << 32 | 0x55;
            c.dbg.bcr[1] = BCR_EL0 | bt << 20;
            c.debug_rearm();
        })
        .0
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
    let mut m = Mock::new();
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    m.ram.write(sim_core::GuestPhys(RAM), &bytes);
    let mut c = Arm64Cpu::new(0, 0);
    c.sys.scr_el3 = 1 | 1 << 8 | 1 << 10;
    c.boot(1, RAM);
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
