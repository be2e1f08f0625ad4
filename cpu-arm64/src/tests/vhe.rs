//! FEAT_VHE (vhe.rs, mmu.rs): HCR_EL2.E2H register redirection at EL2, the `*_EL12`/`*_EL02`
//! encodings, the EL2&0 regime (TTBR1_EL2, ASIDs, EL0 permissions) for EL0 with
//! {E2H, TGE} = {1, 1}, PAN on entry to EL2 in the host, LDTR at EL2, the EL2 virtual timer,
//! CNTVCT without offset, CPTR_EL2 in the CPACR layout, and the ID register fields.
//! Encodings were produced with `aarch64-linux-gnu-as -march=armv8.5-a`.

use super::{new_cpu, stage1, Mock, RAM};
use sim_core::GuestPhys;

const VBAR2: u64 = RAM + 0x90_0000;
const HCR_E2H: u64 = 1 << 34;
const HCR_TGE: u64 = 1 << 27;
const HCR_RW: u64 = 1 << 31;

const MSR_SCTLR_EL1: u32 = 0xd5181001; // msr sctlr_el1, x1
const MRS_SCTLR_EL1: u32 = 0xd5381001; // mrs x1, sctlr_el1
const MRS_SCTLR_EL12: u32 = 0xd53d1003; // mrs x3, sctlr_el12
const MSR_SCTLR_EL12: u32 = 0xd51d1001; // msr sctlr_el12, x1
const MRS_TTBR1_EL1: u32 = 0xd5382021;
const MRS_CNTKCTL_EL1: u32 = 0xd538e101;
const MRS_ELR_EL12: u32 = 0xd53d4021;
const MRS_CNTV_CTL_EL02: u32 = 0xd53de321;
const MRS_CNTV_CTL_EL0: u32 = 0xd53be321;
const MSR_CPACR_EL1: u32 = 0xd5181041;
const MRS_CNTVCT_EL0: u32 = 0xd53be041;
const MRS_CNTHV_CTL_EL2: u32 = 0xd53ce321;
const MSR_CNTHV_CVAL_EL2: u32 = 0xd51ce341;
const MSR_CNTHV_CTL_EL2: u32 = 0xd51ce321;
const MRS_MMFR1: u32 = 0xd5380721;
const MRS_CONTEXTIDR_EL1: u32 = 0xd538d021;
const MSR_CONTEXTIDR_EL2: u32 = 0xd51cd021;
const MRS_TCR_EL12: u32 = 0xd53d2041;
const LDR: u32 = 0xf9400041; // ldr x1, [x2]
const LDTR: u32 = 0xf8400841; // ldtr x1, [x2]
const STR: u32 = 0xf9000041; // str x1, [x2]
const SVC: u32 = 0xd4000001;
const FADD: u32 = 0x1e622820; // fadd d0, d1, d2

/// The rig of these tests: single instructions at EL2 (by default), exceptions to [`VBAR2`].
enum Vhe {}
type Rig = super::Rig<Vhe>;

impl Rig {
    fn new(hcr: u64) -> Self {
        let mut c = new_cpu(0, 0);
        c.sys.hcr_el2 = hcr;
        c.boot(2, RAM);
        c.sys.vbar[2] = VBAR2;
        Self::with(c, Mock::new(), RAM + 0x10_5000)
    }

    /// Executes `raw` at `el`: `Some(vector offset)` if it took an exception.
    fn exec_at(&mut self, el: u8, raw: u32) -> Option<u64> {
        if self.step_at(el, raw) {
            return None;
        }
        let vbar = self.c.sys.vbar[self.c.el as usize];
        assert!((vbar..vbar + 0x800).contains(&self.c.pc), "{raw:#010x}: ended at {:#x}", self.c.pc);
        Some(self.c.pc - vbar)
    }

    fn exec(&mut self, raw: u32) -> Option<u64> {
        self.exec_at(2, raw)
    }

    fn ec2(&self) -> u64 {
        self.c.sys.esr[2] >> 26
    }
}

#[test]
fn e2h_redirects_el1_registers_and_el12_reaches_them() {
    let mut r = Rig::new(HCR_RW | HCR_E2H);
    r.c.sys.sctlr[1] = 0x30d0_0800;
    r.c.x[1] = 0x30c5_0838;
    assert_eq!(r.exec(MSR_SCTLR_EL1), None);
    assert_eq!(r.c.sys.sctlr[2], 0x30c5_0838, "SCTLR_EL1 at EL2 with E2H is SCTLR_EL2");
    assert_eq!(r.c.sys.sctlr[1], 0x30d0_0800);
    assert_eq!(r.exec(MRS_SCTLR_EL12), None);
    assert_eq!(r.c.x[3], 0x30d0_0800, "SCTLR_EL12 is SCTLR_EL1");
    r.c.x[1] = 0x30d0_0801;
    assert_eq!(r.exec(MSR_SCTLR_EL12), None);
    assert_eq!(r.c.sys.sctlr[1], 0x30d0_0801);
    r.c.sys.ttbr1_el2 = 0x1234_5000;
    assert_eq!(r.exec(MRS_TTBR1_EL1), None);
    assert_eq!(r.c.x[1], 0x1234_5000);
    r.c.sys.cnthctl_el2 = 0x303;
    assert_eq!(r.exec(MRS_CNTKCTL_EL1), None);
    assert_eq!(r.c.x[1], 0x303, "CNTKCTL_EL1 at EL2 is CNTHCTL_EL2");
    r.c.sys.elr[1] = 0x4444;
    assert_eq!(r.exec(MRS_ELR_EL12), None);
    assert_eq!(r.c.x[1], 0x4444);
    r.c.sys.tcr[1] = 0x19;
    assert_eq!(r.exec(MRS_TCR_EL12), None);
    assert_eq!(r.c.x[1], 0x19);
    r.c.x[1] = 0x77;
    assert_eq!(r.exec(MSR_CONTEXTIDR_EL2), None);
    assert_eq!(r.exec(MRS_CONTEXTIDR_EL1), None);
    assert_eq!(r.c.x[1], 0x77, "CONTEXTIDR_EL1 at EL2 is CONTEXTIDR_EL2");
    // Timers: CNTV_CTL_EL0 at EL2 is CNTHV_CTL_EL2, CNTV_CTL_EL02 the EL1 virtual timer.
    r.c.sys.cntv.ctl = 1;
    r.c.sys.cnthv.ctl = 3;
    assert_eq!(r.exec(MRS_CNTV_CTL_EL0), None);
    assert_eq!(r.c.x[1] & 3, 3);
    assert_eq!(r.exec(MRS_CNTV_CTL_EL02), None);
    assert_eq!(r.c.x[1] & 3, 1);
    // CPACR_EL1 at EL2 is CPTR_EL2 in the CPACR layout.
    r.c.x[1] = 3 << 20;
    assert_eq!(r.exec(MSR_CPACR_EL1), None);
    assert_eq!(r.c.sys.cptr_el2, 3 << 20);
    assert_eq!(r.c.sys.cpacr_el1, 0);
    // The ID register advertises VH and HAFDBS = 2.
    assert_eq!(r.exec(MRS_MMFR1), None);
    assert_eq!((r.c.x[1] >> 8) & 0xf, 1);
    assert_eq!(r.c.x[1] & 0xf, 2);
}

#[test]
fn el12_encodings_are_undefined_without_e2h() {
    let mut r = Rig::new(HCR_RW);
    assert_eq!(r.exec(MRS_SCTLR_EL12), Some(0x200));
    assert_eq!(r.ec2(), 0);
    // Without E2H, SCTLR_EL1 at EL2 is SCTLR_EL1.
    r.c.sys.hcr_el2 = HCR_RW;
    r.c.sys.sctlr[1] = 0x30d0_0800;
    assert_eq!(r.exec(MRS_SCTLR_EL1), None);
    assert_eq!(r.c.x[1], 0x30d0_0800);
}

#[test]
fn el2_virtual_timer_and_counter_offset() {
    let mut r = Rig::new(HCR_RW | HCR_E2H);
    r.c.sys.cntvoff_el2 = 100;
    // Mock counter: 1000. With E2H at EL2, CNTVCT has no offset.
    assert_eq!(r.exec(MRS_CNTVCT_EL0), None);
    assert_eq!(r.c.x[1], 1000);
    r.c.sys.hcr_el2 = HCR_RW;
    assert_eq!(r.exec(MRS_CNTVCT_EL0), None);
    assert_eq!(r.c.x[1], 900);
    // CNTHV: CVAL below the count and enabled -> ISTATUS and the output level.
    r.c.x[1] = 999;
    assert_eq!(r.exec(MSR_CNTHV_CVAL_EL2), None);
    r.c.x[1] = 1;
    assert_eq!(r.exec(MSR_CNTHV_CTL_EL2), None);
    assert_eq!(r.exec(MRS_CNTHV_CTL_EL2), None);
    assert_eq!(r.c.x[1], 0b101);
    assert!(r.c.sys.timer_out[4]);
    r.c.x[1] = 3; // masked
    assert_eq!(r.exec(MSR_CNTHV_CTL_EL2), None);
    assert!(!r.c.sys.timer_out[4]);
}

/// The EL2&0 regime: TCR_EL2 in the TCR_EL1 layout (T0SZ = T1SZ = 25, 4 KiB), TTBR0_EL2 and
/// TTBR1_EL2, ASID 3 from TTBR0_EL2: VA 0x4000_0000 a 1 GiB block for the code (read-only
/// at EL0 and EL2, executable by both), VA 0x1000 an EL0 page (nG), VA 0x2000 an EL2-only page, VA
/// 0xffff_ff80_0000_0000 (TTBR1) a privileged block.
fn host_tables(r: &mut Rig) {
    let (l1, l2, l3, u1) = (RAM + 0x1_0000, RAM + 0x1_1000, RAM + 0x1_2000, RAM + 0x1_3000);
    let ram = &mut r.m.ram;
    ram.write_u64(GuestPhys(l1), l2 | 3);
    ram.write_u64(GuestPhys(l1 + 8), RAM | 1 << 10 | 3 << 6 | 1); // EL0/EL2 RO, executable
    ram.write_u64(GuestPhys(l2), l3 | 3);
    ram.write_u64(GuestPhys(l3 + 8), (RAM + 0x5000) | 1 << 11 | 1 << 10 | 1 << 6 | 3); // EL0 RW, nG
    ram.write_u64(GuestPhys(l3 + 16), (RAM + 0x6000) | 1 << 10 | 3); // EL2 only
    ram.write_u64(GuestPhys(u1), RAM | 1 << 10 | 1); // TTBR1: 1 GiB block
    ram.write_u64(GuestPhys(RAM + 0x5000), 0x5555);
    ram.write_u64(GuestPhys(RAM + 0x6000), 0x6666);
    ram.write_u64(GuestPhys(RAM + 0x10), 0x4040);
    r.c.sys.ttbr0[2] = l1 | 3 << 48;
    r.c.sys.ttbr1_el2 = u1;
    r.c.sys.tcr[2] = 25 | 25 << 16 | 2 << 30 | 2 << 32;
    r.c.sys.mair[2] = 0xff;
    r.c.sys.sctlr[2] |= 1 | 1 << 23; // M, SPAN (no PAN on entry)
}

#[test]
fn el2_and_0_regime_for_the_host() {
    let mut r = Rig::new(HCR_RW | HCR_E2H | HCR_TGE);
    host_tables(&mut r);
    // EL2: TTBR1_EL2 range.
    r.c.x[2] = 0xffff_ff80_0000_0010;
    let o = r.exec(LDR);
    assert_eq!(o, None, "esr {:#x} far {:#x} elr {:#x}", r.c.sys.esr[2], r.c.sys.far[2], r.c.sys.elr[2]);
    assert_eq!(r.c.x[1], 0x4040);
    // EL0 in the host: EL0 page readable, EL2-only page faults to EL2 (EC 0x24, permission
    // level 3), no stage 2.
    r.c.sys.hcr_el2 |= 1; // VM: ignored in the host
    r.c.x[2] = 0x1000;
    assert_eq!(r.exec_at(0, LDR), None);
    assert_eq!(r.c.x[1], 0x5555);
    r.c.x[2] = 0x2000;
    assert_eq!(r.exec_at(0, LDR), Some(0x400));
    assert_eq!((r.ec2(), r.c.sys.esr[2] & 0x3f), (0x24, 0x0f));
    assert_eq!(r.c.sys.far[2], 0x2000);
    // An SVC from EL0 goes to EL2.
    assert_eq!(r.exec_at(0, SVC), Some(0x400));
    assert_eq!(r.ec2(), 0x15);
    // LDTR at EL2 in the host checks EL0 permissions.
    r.c.x[2] = 0x2000;
    assert_eq!(r.exec(LDR), None);
    assert_eq!(r.c.x[1], 0x6666);
    assert_eq!(r.exec(LDTR), Some(0x200));
    assert_eq!(r.c.sys.esr[2] & 0x3f, 0x0f);
    // PAN: set on entry to EL2 in the host when SCTLR_EL2.SPAN = 0; EL2 then cannot read
    // EL0 data.
    r.c.sys.sctlr[2] &= !(1 << 23);
    assert_eq!(r.exec_at(0, SVC), Some(0x400));
    assert!(r.c.pan);
    r.c.x[2] = 0x1000;
    assert_eq!(r.exec(LDR), Some(0x200));
    assert_eq!(r.c.sys.esr[2] & 0x3f, 0x0f);
    r.c.pan = false;
    // ASID-tagged EL2&0 entries: ASID 4 walks again, ASID 3 keeps its entry.
    let o = r.exec(LDR);
    assert_eq!(o, None, "esr {:#x} far {:#x} elr {:#x}", r.c.sys.esr[2], r.c.sys.far[2], r.c.sys.elr[2]);
    r.m.ram.write_u64(GuestPhys(RAM + 0x1_2000 + 8), (RAM + 0x6000) | 1 << 11 | 1 << 10 | 1 << 6 | 3);
    r.c.sys.ttbr0[2] = (RAM + 0x1_0000) | 4 << 48;
    assert_eq!(r.exec_at(0, LDR), None);
    assert_eq!(r.c.x[1], 0x6666);
    r.c.sys.ttbr0[2] = (RAM + 0x1_0000) | 3 << 48;
    assert_eq!(r.exec_at(0, LDR), None);
    assert_eq!(r.c.x[1], 0x5555, "ASID 3's entry is still cached");
    // EL0 writes through the EL0 page.
    r.c.x[1] = 7;
    assert_eq!(r.exec_at(0, STR), None);
}

#[test]
fn fp_traps_with_cptr_el2_in_cpacr_layout() {
    let mut r = Rig::new(HCR_RW | HCR_E2H | HCR_TGE);
    r.c.sys.cpacr_el1 = 3 << 20; // does not govern EL0 in the host
    r.c.sys.cptr_el2 = 1 << 20; // FPEN = 0b01: EL0 trapped (TGE = 1), EL2 not
    assert_eq!(r.exec(FADD), None);
    assert_eq!(r.exec_at(0, FADD), Some(0x400));
    assert_eq!(r.ec2(), 0x07);
    r.c.sys.cptr_el2 = 3 << 20;
    assert_eq!(r.exec_at(0, FADD), None);
    r.c.sys.cptr_el2 = 0;
    assert_eq!(r.exec(FADD), Some(0x200));
    assert_eq!(r.ec2(), 0x07);
}

#[test]
fn uao_makes_ldtr_privileged_and_is_cleared_on_entry() {
    const MSR_UAO_1: u32 = 0xd500417f;
    const MRS_UAO: u32 = 0xd5384281;
    const MSR_UAO_X1: u32 = 0xd5184281;
    const MRS_MMFR2: u32 = 0xd5380741;
    // EL1 with stage 1: VA 0x4000_0000 block (EL1 RW) for code; VA 0x2000 EL1-only page.
    let mut r = Rig::new(HCR_RW);
    stage1(&mut r.c, &mut r.m.ram, &[(2, (RAM + 0x6000) | 1 << 10 | 3)]);
    r.set_mem(RAM + 0x6000, 0x6666);
    r.c.sys.vbar[1] = VBAR2; // EL1 exceptions land at the same offsets
    assert_eq!(r.exec_at(1, MRS_MMFR2), None);
    assert_eq!((r.c.x[1] >> 4) & 0xf, 1, "ID_AA64MMFR2_EL1.UAO");
    // LDTR at EL1 checks EL0 permissions: fault.
    r.c.x[2] = 0x2000;
    assert_eq!(r.exec_at(1, LDTR), Some(0x200));
    assert_eq!((r.c.el, r.c.sys.esr[1] & 0x3f), (1, 0x0f));
    // With PSTATE.UAO it acts as LDR.
    assert_eq!(r.exec_at(1, MSR_UAO_1), None);
    assert!(r.c.uao);
    assert_eq!(r.exec_at(1, MRS_UAO), None);
    assert_eq!(r.c.x[1], 1 << 23);
    assert_eq!(r.exec_at(1, LDTR), None);
    assert_eq!(r.c.x[1], 0x6666);
    // Exception entry clears it and SPSR keeps it (bit 23).
    assert_eq!(r.exec_at(1, SVC), Some(0x200));
    assert!(!r.c.uao);
    assert_eq!(r.c.sys.spsr[1] & (1 << 23), 1 << 23);
    r.c.x[1] = 1 << 23;
    assert_eq!(r.exec_at(1, MSR_UAO_X1), None);
    assert!(r.c.uao);
}

#[test]
fn cnthctl_traps_el1_physical_counter_and_timer() {
    const MRS_CNTPCT: u32 = 0xd53be021;
    const MRS_CNTP_CTL: u32 = 0xd53be221;
    let mut r = Rig::new(HCR_RW);
    r.c.sys.vbar[1] = VBAR2;
    // E2H = 0: EL1PCTEN bit 0, EL1PCEN bit 1 (reset value 3: no traps).
    assert_eq!(r.exec_at(1, MRS_CNTPCT), None);
    r.c.sys.cnthctl_el2 = 2;
    assert_eq!(r.exec_at(1, MRS_CNTPCT), Some(0x400));
    assert_eq!((r.c.el, r.ec2()), (2, 0x18));
    assert_eq!(r.exec_at(1, MRS_CNTP_CTL), None);
    r.c.sys.cnthctl_el2 = 1;
    assert_eq!(r.exec_at(1, MRS_CNTP_CTL), Some(0x400));
    assert_eq!(r.exec_at(1, MRS_CNTVCT_EL0), None, "the virtual counter is not trapped");
    // E2H = 1: bits 10 and 11.
    r.c.sys.hcr_el2 = HCR_RW | HCR_E2H;
    r.c.sys.cnthctl_el2 = 3;
    assert_eq!(r.exec_at(1, MRS_CNTPCT), Some(0x400));
    r.c.sys.cnthctl_el2 = 3 << 10;
    assert_eq!(r.exec_at(1, MRS_CNTPCT), None);
    assert_eq!(r.exec_at(1, MRS_CNTP_CTL), None);
    // EL2 itself is never trapped, nor EL0 in the host.
    r.c.sys.cnthctl_el2 = 0;
    assert_eq!(r.exec(MRS_CNTPCT), None);
    r.c.sys.hcr_el2 = HCR_RW | HCR_E2H | HCR_TGE;
    r.c.sys.cnthctl_el2 = 1; // EL0PCTEN
    assert_eq!(r.exec_at(0, MRS_CNTPCT), None);
}
