//! PMUv3 (crate::pmu, Arm ARM D11): exact INST_RETIRED and cycle counts between two
//! points, overflow (PMOVSSET, PMUIRQ, CHAIN), SW_INCR, EXC_TAKEN, filtering by EL, the EL0
//! access controls and the EL2 traps and counter partition. Encodings from
//! `aarch64-linux-gnu-as`.

use super::{run, RAM};
use crate::pmu::{EVENTS, NCNT};

const NOP: u32 = 0xd503201f;
const VBAR: u64 = RAM + 0x10_0000;

const MSR_PMEVTYPER0_X3: u32 = 0xd51bec03;
const MSR_PMEVTYPER1_X9: u32 = 0xd51bec29;
const MSR_PMCR_X4: u32 = 0xd51b9c04;
const MSR_PMCNTENSET_X1: u32 = 0xd51b9c21;
const MSR_PMEVCNTR0_X5: u32 = 0xd51be805;
const MSR_PMINTENSET_X1: u32 = 0xd5189e21;
const MSR_PMOVSCLR_X1: u32 = 0xd51b9c61;
const MSR_PMSWINC_X1: u32 = 0xd51b9c81;
const MSR_PMUSERENR_X1: u32 = 0xd51b9e01;
const MRS_X2_PMEVCNTR0: u32 = 0xd53be802;
const MRS_X2_PMEVCNTR1: u32 = 0xd53be822;
const MRS_X2_PMEVCNTR5: u32 = 0xd53be8a2;
const MRS_X5_PMCR: u32 = 0xd53b9c05;
const MRS_X6_PMCCNTR: u32 = 0xd53b9d06;
const MRS_X7_PMOVSSET: u32 = 0xd53b9e67;
const MRS_X8_PMCEID0: u32 = 0xd53b9cc8;
/// mov x11, #10 ; 1: subs x11, x11, #1 ; b.ne 1b ; nop  (22 instructions)
const LOOP: [u32; 4] = [0xd280014b, 0xf100056b, 0x54ffffe1, NOP];

/// Counter 0 = `event`, the cycle counter, PMCR.E; then LOOP; then read counter 0 and
/// PMCCNTR.
fn count_loop(event: u64, pmcr: u64) -> (u64, u64) {
    let mut code = vec![MSR_PMEVTYPER0_X3, MSR_PMCR_X4, MSR_PMCNTENSET_X1];
    code.extend(LOOP);
    code.extend([MRS_X2_PMEVCNTR0, MRS_X6_PMCCNTR]);
    let (c, _) = run(&code, 3 + 22 + 2, |c, _| {
        c.x[1] = 1 | 1 << 31;
        c.x[3] = event;
        c.x[4] = pmcr;
    });
    assert_eq!(c.pc, RAM + 4 * code.len() as u64);
    (c.x[2], c.x[6])
}

#[test]
fn inst_retired_and_cycles_count_exactly_between_two_points() {
    // Counting starts after the enabling MSR; a read does not count itself.
    assert_eq!(count_loop(0x08, 1), (22, 23), "INST_RETIRED, PMCCNTR");
    assert_eq!(count_loop(0x11, 1), (22, 23), "CPU_CYCLES = one per instruction here");
    // An unimplemented event counts nothing; PMCR.E = 0 stops everything.
    assert_eq!(count_loop(0x23, 1), (0, 23));
    assert_eq!(count_loop(0x08, 0), (0, 0));
    // PMCR.D: PMCCNTR counts every 64th cycle.
    assert_eq!(count_loop(0x08, 1 | 1 << 3), (22, 0));
}

#[test]
fn filtering_by_exception_level() {
    // Non-secure EL1 counts when PMEVTYPER.P == NSK (D17.5.10).
    assert_eq!(count_loop(0x08 | 1 << 31, 1).0, 0, "P = 1: EL1 excluded");
    assert_eq!(count_loop(0x08 | 1 << 31 | 1 << 29, 1).0, 22, "P = NSK = 1: counted");
    assert_eq!(count_loop(0x08 | 1 << 30, 1).0, 22, "U = 1 excludes only EL0");
    assert_eq!(count_loop(0x08 | 1 << 27, 1).0, 22, "NSH is for EL2");
}

#[test]
fn overflow_sets_pmovsset_raises_pmuirq_and_chains() {
    // counter 0 = INST_RETIRED from 0xffff_fffe, interrupt enabled, 3 NOPs.
    let code = [
        MSR_PMEVTYPER0_X3,
        MSR_PMCR_X4,
        MSR_PMEVCNTR0_X5,
        MSR_PMEVTYPER1_X9,
        MSR_PMINTENSET_X1,
        MSR_PMCNTENSET_X1,
        NOP,
        NOP,
        NOP,
        MRS_X7_PMOVSSET,
        MRS_X2_PMEVCNTR0,
        0xd53be82c, // mrs x12, pmevcntr1_el0
        MSR_PMOVSCLR_X1,
    ];
    let (c, m) = run(&code, code.len() as u64, |c, _| {
        c.x[1] = 0b11;
        c.x[3] = 0x08;
        c.x[4] = 1;
        c.x[5] = 0xffff_fffe;
        c.x[9] = 0x1e; // CHAIN on counter 1
    });
    assert_eq!(c.x[7] & 3, 1, "PMOVSSET<0>, not <1>");
    assert_eq!(c.x[2], 2, "wrapped to 32 bits: 0xfffffffe + 3 NOPs + the PMOVSSET read");
    assert_eq!(c.x[12], 1, "CHAIN counted the overflow of counter 0");
    assert_eq!(m.pmu_irq, [true, false], "PMUIRQ raised, then dropped by PMOVSCLR");
    // Without PMINTENSET no interrupt; PMCCNTR overflow at bit 31 sets PMOVSSET.C.
    let (c, m) = run(&[MSR_PMCR_X4, 0xd51b9d05, MSR_PMCNTENSET_X1, NOP, MRS_X7_PMOVSSET], 5, |c, _| {
        c.x[1] = 1 << 31;
        c.x[4] = 1;
        c.x[5] = 0xffff_ffff; // msr pmccntr_el0, x5
    });
    assert_eq!(c.x[7], 1 << 31);
    assert!(m.pmu_irq.is_empty());
}

#[test]
fn sw_incr_exc_taken_and_identification() {
    // SW_INCR: two PMSWINC writes count 2 on counter 0; counter 1 (INST_RETIRED) ignores
    // them.
    let code =
        [MSR_PMEVTYPER0_X3, MSR_PMCR_X4, MSR_PMCNTENSET_X1, MSR_PMSWINC_X1, MSR_PMSWINC_X1, MRS_X2_PMEVCNTR0];
    let (c, _) = run(&code, 6, |c, _| {
        c.x[1] = 1;
        c.x[3] = 0x00;
        c.x[4] = 1;
    });
    assert_eq!(c.x[2], 2);
    // EXC_TAKEN on counter 1: svc, the handler reads it.
    let mut code = vec![MSR_PMEVTYPER1_X9, MSR_PMCR_X4, MSR_PMCNTENSET_X1, 0xd4000001];
    code.resize(0x200 / 4, NOP);
    code.push(MRS_X2_PMEVCNTR1);
    let (c, _) = run(&code, 5, |c, _| {
        c.sys.vbar[1] = RAM;
        c.x[1] = 2;
        c.x[4] = 1;
        c.x[9] = 0x09;
    });
    assert_eq!((c.pc, c.x[2]), (RAM + 0x204, 1));
    // PMCEID0 lists exactly the implemented events; PMCR.N; ID_AA64DFR0_EL1.PMUVer = 1.
    let (c, _) = run(&[MRS_X8_PMCEID0, MRS_X5_PMCR, 0xd5380501], 3, |_, _| {});
    assert_eq!(c.x[8], EVENTS);
    assert_eq!(EVENTS, 1 << 0x00 | 1 << 0x08 | 1 << 0x09 | 1 << 0x11 | 1 << 0x1e);
    assert_eq!(c.x[5] >> 11 & 31, NCNT as u64);
    assert_eq!(c.x[1] >> 8 & 0xf, 1);
}

#[test]
fn el0_access_control_and_el2_traps() {
    let el0 = |code: &[u32], userenr: u64| {
        run(code, 1, move |c, _| {
            c.sys.vbar[1] = VBAR;
            c.pmu.userenr = userenr;
            c.el = 0;
            c.spsel = false;
        })
        .0
    };
    // PMUSERENR_EL0 = 0: PMCCNTR read at EL0 traps to EL1, EC 0x18, ISS direction = read.
    let c = el0(&[MRS_X6_PMCCNTR], 0);
    assert_eq!((c.el, c.sys.esr[1] >> 26, c.sys.esr[1] & 1), (1, 0x18, 1));
    assert_eq!(c.sys.elr[1], RAM);
    // CR = 1 allows the read, EN = 1 everything; ER allows event counter reads only.
    assert_eq!(el0(&[MRS_X6_PMCCNTR], 1 << 2).el, 0);
    assert_eq!(el0(&[0xd51b9d05], 1 << 2).el, 1, "CR does not allow writes");
    assert_eq!(el0(&[MSR_PMCR_X4], 1).el, 0);
    assert_eq!(el0(&[MRS_X2_PMEVCNTR0], 1 << 3).el, 0);
    assert_eq!(el0(&[MSR_PMSWINC_X1], 1 << 1).el, 0, "SW allows PMSWINC");
    // PMUSERENR_EL0 is read-only at EL0 (UNDEFINED write), PMINTENSET_EL1 is EL1-only.
    let c = el0(&[MSR_PMUSERENR_X1], 0xf);
    assert_eq!((c.el, c.sys.esr[1] >> 26), (1, 0));
    assert_eq!(el0(&[0xd53b9e0a], 0).el, 0, "PMUSERENR_EL0 readable at EL0");
    // MDCR_EL2.TPM traps EL1 to EL2; TPMCR only PMCR_EL0.
    let (c, _) = run(&[MRS_X6_PMCCNTR], 1, |c, _| c.sys.mdcr_el2 |= 1 << 6);
    assert_eq!((c.el, c.sys.esr[2] >> 26), (2, 0x18));
    let (c, _) = run(&[MRS_X6_PMCCNTR, MRS_X5_PMCR], 2, |c, _| c.sys.mdcr_el2 |= 1 << 5);
    assert_eq!((c.el, c.sys.esr[2] >> 26, c.sys.elr[2]), (2, 0x18, RAM + 4));
    // MDCR_EL2.HPMN = 2: EL1 sees N = 2 and counter 5 is UNDEFINED; EL2 sees all six.
    let (c, _) = run(&[MRS_X5_PMCR, MRS_X2_PMEVCNTR5], 2, |c, _| {
        c.sys.vbar[1] = VBAR;
        c.sys.mdcr_el2 = 2;
    });
    assert_eq!((c.x[5] >> 11 & 31, c.sys.esr[1] >> 26, c.sys.elr[1]), (2, 0, RAM + 4));
    let (c, _) = run(&[MRS_X5_PMCR, MRS_X2_PMEVCNTR5], 2, |c, _| {
        c.sys.mdcr_el2 = 2;
        c.el = 2;
    });
    assert_eq!((c.x[5] >> 11 & 31, c.pc), (6, RAM + 8));
}
