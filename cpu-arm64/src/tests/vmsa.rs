//! The VMSA beyond plain stage 1 (mmu.rs): stage-2 translation (faults to EL2, syndromes,
//! HPFAR_EL2, S1PTW, concatenated tables, attributes, AT S12E1*), VMID- and ASID-tagged TLB
//! entries and the TLBI operations that remove them, and hardware Access flag and dirty
//! state updates (FEAT_HAFDBS) at both stages.
//! Encodings were produced with `aarch64-linux-gnu-as -march=armv8.5-a`.

use super::{new_cpu, Mock, RAM};
use sim_core::GuestPhys;

const VBAR1: u64 = RAM + 0x80_0000;
const VBAR2: u64 = RAM + 0x90_0000;
/// Stage-2 tables (physical): two concatenated level-1 tables (8 KiB aligned), L2, L3.
const S2L1: u64 = RAM + 0x20_0000;
const S2L2: u64 = RAM + 0x20_2000;
const S2L3: u64 = RAM + 0x20_3000;
/// The physical pages behind the stage-2 test IPAs.
const DATA: u64 = RAM + 0x30_0000;
/// Test IPAs: IPA_T + n * 0x1000 through the stage-2 level-3 table.
const IPA_T: u64 = 0x4020_0000;
/// Stage-1 tables (IPA = PA: identity at stage 2).
const S1L1: u64 = RAM + 0x40_0000;
const S1L2: u64 = RAM + 0x40_1000;
const S1L3: u64 = RAM + 0x40_2000;

// Stage-2 descriptor fields (D8.3): MemAttr Normal WB (0xf) or Device-nGnRE (0x1), S2AP,
// SH inner, AF, XN, DBM.
const S2_NORMAL: u64 = 0xf << 2 | 3 << 8 | 1 << 10;
const S2_RO: u64 = 1 << 6;
const S2_RW: u64 = 3 << 6;

// Instructions.
const LDR: u32 = 0xf9400041; // ldr x1, [x2]
const STR: u32 = 0xf9000041; // str x1, [x2]
const BR: u32 = 0xd61f0040; // br x2
const MSR_VTTBR: u32 = 0xd51c2103; // msr vttbr_el2, x3
const MSR_TTBR0: u32 = 0xd5182003; // msr ttbr0_el1, x3
const TLBI_VMALLS12E1: u32 = 0xd50c87df;
const TLBI_IPAS2E1: u32 = 0xd50c8422; // tlbi ipas2e1, x2
const TLBI_VMALLE1: u32 = 0xd508871f;
const TLBI_ASIDE1: u32 = 0xd5088742; // tlbi aside1, x2
const TLBI_VAE1: u32 = 0xd5088722; // tlbi vae1, x2
const TLBI_ALLE1: u32 = 0xd50c879f;
const AT_S12E1R: u32 = 0xd50c7882; // at s12e1r, x2
const AT_S12E1W: u32 = 0xd50c78a2; // at s12e1w, x2
const AT_S1E1R: u32 = 0xd5087802; // at s1e1r, x2

/// Where an instruction ended.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Done,
    /// An exception to EL1 or EL2 at this vector offset.
    Exc(u8, u64),
}

/// The rig of these tests: single instructions at EL1 (by default) under stage 2.
enum Vmsa {}
type Rig = super::Rig<Vmsa>;

impl Rig {
    /// EL1 with stage 2 on (VMID 1): IPA 0x4000_0000-0x40ff_ffff identity through 2 MiB blocks,
    /// except IPA 0x4020_0000-0x403f_ffff, which goes through a level-3 table:
    /// page 0 -> DATA RW, 1 -> DATA+0x1000 read-only, 2 invalid, 3 -> DATA+0x3000 AF = 0,
    /// 4 -> DATA+0x4000 XN, 5 -> DATA+0x5000 Device, 6 -> DATA+0x6000 read-only with DBM.
    /// VTCR_EL2: T0SZ = 24 (40-bit IPA), SL0 = 1 (level 1: two concatenated tables), 4 KiB.
    fn new() -> Self {
        let mut m = Mock::new();
        let ram = &mut m.ram;
        ram.write_u64(GuestPhys(S2L1 + 8), S2L2 | 3);
        for i in 0..8u64 {
            ram.write_u64(GuestPhys(S2L2 + 8 * i), (RAM + (i << 21)) | S2_NORMAL | S2_RW | 1);
        }
        ram.write_u64(GuestPhys(S2L2 + 8), S2L3 | 3);
        let page = |n: u64, bits: u64| (DATA + n * 0x1000) | 3 | bits;
        ram.write_u64(GuestPhys(S2L3), page(0, S2_NORMAL | S2_RW));
        ram.write_u64(GuestPhys(S2L3 + 8), page(1, S2_NORMAL | S2_RO));
        ram.write_u64(GuestPhys(S2L3 + 24), page(3, S2_NORMAL & !(1 << 10) | S2_RW));
        ram.write_u64(GuestPhys(S2L3 + 32), page(4, S2_NORMAL | S2_RW | 1 << 54));
        ram.write_u64(GuestPhys(S2L3 + 40), page(5, 1 << 2 | 1 << 10 | S2_RW));
        ram.write_u64(GuestPhys(S2L3 + 48), page(6, S2_NORMAL | S2_RO | 1 << 51));
        for n in 0..8 {
            ram.write_u64(GuestPhys(DATA + n * 0x1000), 0xd000 + n);
        }
        let mut c = new_cpu(0, 0);
        c.sys.hcr_el2 = 1 << 31 | 1; // RW, VM
        c.sys.vtcr_el2 = 1 << 31 | 24 | 1 << 6 | 3 << 8 | 3 << 10 | 3 << 12 | 2 << 16;
        c.sys.vttbr_el2 = S2L1 | 1 << 48;
        c.boot(1, RAM);
        c.sys.vbar[1] = VBAR1;
        c.sys.vbar[2] = VBAR2;
        // The code's page must not share a TLB slot with the data pages the tests keep cached.
        Self::with(c, m, RAM + 0x10_5000)
    }

    /// The exception the PC shows was taken: at an EL1 or EL2 vector.
    fn taken(&self) -> Option<Out> {
        [(1, VBAR1), (2, VBAR2)]
            .into_iter()
            .find(|&(t, vbar)| self.c.el == t && (vbar..vbar + 0x800).contains(&self.c.pc))
            .map(|(t, vbar)| Out::Exc(t, self.c.pc - vbar))
    }

    /// Executes `raw` once at EL `el`.
    fn exec_at(&mut self, el: u8, raw: u32) -> Out {
        if self.step_at(el, raw) {
            return Out::Done;
        }
        self.taken().unwrap_or_else(|| panic!("{raw:#010x}: ended at {:#x} EL{}", self.c.pc, self.c.el))
    }

    /// BR x2 to `target`, and the fetch there.
    fn jump(&mut self, target: u64) -> Out {
        self.c.el = 1;
        self.c.x[2] = target;
        self.run_fresh(BR, 2);
        self.taken().unwrap_or_else(|| panic!("br {target:#x}: ended at {:#x} EL{}", self.c.pc, self.c.el))
    }

    fn exec(&mut self, raw: u32) -> Out {
        self.exec_at(1, raw)
    }

    fn load(&mut self, va: u64) -> Out {
        self.c.x[2] = va;
        self.exec(LDR)
    }

    fn store(&mut self, va: u64, v: u64) -> Out {
        self.c.x[2] = va;
        self.c.x[1] = v;
        self.exec(STR)
    }

    /// ESR_EL2 as (EC, ISS).
    fn esr2(&self) -> (u64, u64) {
        (self.c.sys.esr[2] >> 26, self.c.sys.esr[2] & 0x1ff_ffff)
    }

    /// Stage 1 on (T0SZ = 25, 4 KiB, tables at IPA = PA S1L1..): VA 0x4000_0000 1 GiB block
    /// -> IPA 0x4000_0000 (code, vectors); VA 0x0 -> L2 -> L3; VA 0x1000 -> IPA `ipa1`
    /// (RW, EL1, nG), VA 0x8000_0000 -> a level-2 table at IPA `l2_ipa`.
    fn stage1(&mut self, ipa1: u64, l2_ipa: u64) {
        let ram = &mut self.m.ram;
        ram.write_u64(GuestPhys(S1L1), S1L2 | 3);
        ram.write_u64(GuestPhys(S1L1 + 8), RAM | 1 << 10 | 1);
        ram.write_u64(GuestPhys(S1L1 + 16), l2_ipa | 3);
        ram.write_u64(GuestPhys(S1L2), S1L3 | 3);
        ram.write_u64(GuestPhys(S1L3 + 8), ipa1 | 1 << 11 | 1 << 10 | 3 << 8 | 3);
        self.c.sys.ttbr0[1] = S1L1;
        self.c.sys.tcr[1] = 25 | 2 << 32;
        self.c.sys.mair[1] = 0xff;
        self.c.sys.sctlr[1] |= 1;
    }
}

const fn hpfar(ipa: u64) -> u64 {
    (ipa >> 12) << 4
}

#[test]
fn stage2_maps_ipa_and_faults_go_to_el2() {
    let mut r = Rig::new();
    // Stage 1 off: VA = IPA; IPA_T -> DATA.
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    assert_eq!(r.store(IPA_T + 8, 0x77), Out::Done);
    assert_eq!(r.mem(DATA + 8), 0x77);
    // Identity blocks around it.
    r.set_mem(RAM + 0x60_0000, 0xabc);
    assert_eq!(r.load(RAM + 0x60_0000), Out::Done);
    assert_eq!(r.c.x[1], 0xabc);
    // Read-only at stage 2: loads work, a store is a stage-2 permission fault at level 3,
    // taken to EL2 from a lower EL (EC 0x24), WnR, FAR_EL2 = VA, HPFAR_EL2 = IPA.
    assert_eq!(r.load(IPA_T + 0x1010), Out::Done);
    assert_eq!(r.c.x[1], 0);
    assert_eq!(r.store(IPA_T + 0x1010, 1), Out::Exc(2, 0x400));
    let (ec, iss) = r.esr2();
    assert_eq!((ec, iss & 0x1ff), (0x24, 0x4f), "EC 0x24, DFSC permission L3, WnR");
    assert_eq!(r.c.sys.far[2], IPA_T + 0x1010);
    assert_eq!(r.c.sys.hpfar_el2, hpfar(IPA_T + 0x1000));
    assert_eq!(r.c.sys.elr[2], r.next - 4);
    assert_eq!(r.c.sys.spsr[2] & 0xf, 0b0101, "from EL1h");
    assert_eq!(r.c.sys.esr[1], 0, "nothing reported to EL1");
    // Instruction syndrome of `str x1, [x2]`: ISV, SAS 3, SRT 1, SF.
    assert_eq!(iss & 0x1ff_c000, 1 << 24 | 3 << 22 | 1 << 16 | 1 << 15);
    // Invalid at level 3: translation fault, level 3.
    assert_eq!(r.load(IPA_T + 0x2000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x1ff, 0x07);
    assert_eq!(r.c.sys.hpfar_el2, hpfar(IPA_T + 0x2000));
    // AF = 0: access flag fault, level 3.
    assert_eq!(r.load(IPA_T + 0x3000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x0b);
    // An IPA with no level-1 entry: translation fault, level 1.
    assert_eq!(r.load(0x1_0000_0000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x05);
    assert_eq!(r.c.sys.hpfar_el2, hpfar(0x1_0000_0000));
    // The second concatenated level-1 table: IPA bit 39 selects it.
    r.set_mem(S2L1 + 0x1000, RAM | S2_NORMAL | S2_RW | 1); // IPA 0x80_0000_0000 -> RAM
    assert_eq!(r.load(0x80_0060_0000), Out::Done);
    assert_eq!(r.c.x[1], 0xabc);
    // Execute-never at stage 2: instruction abort to EL2 (EC 0x20), IFSC permission L3.
    assert_eq!(r.jump(IPA_T + 0x4000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2(), (0x20, 0x0f));
    assert_eq!(r.c.sys.far[2], IPA_T + 0x4000);
    assert_eq!(r.c.sys.elr[2], IPA_T + 0x4000);
    // Fetching from stage-2 Device memory: stage-2 permission fault.
    assert_eq!(r.jump(IPA_T + 0x5000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2(), (0x20, 0x0f));
    // From EL0 a stage-2 fault goes to EL2 as well.
    r.c.x[2] = IPA_T + 0x2000;
    assert_eq!(r.exec_at(0, LDR), Out::Exc(2, 0x400));
    assert_eq!(r.c.sys.spsr[2] & 0xf, 0);
}

#[test]
fn stage1_walks_are_translated_by_stage2() {
    let mut r = Rig::new();
    // VA 0x1000 -> IPA_T (-> DATA); VA 0x8000_0000's level-2 table is at IPA_T + 0x2000,
    // which stage 2 does not map.
    r.stage1(IPA_T, IPA_T + 0x2000);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    // Fault on the stage-1 walk: S1PTW, stage-2 translation fault at level 3, WnR = 0 even
    // for a store; HPFAR_EL2 = the table's IPA, FAR_EL2 = the VA.
    assert_eq!(r.store(0x8000_0010, 5), Out::Exc(2, 0x400));
    let (ec, iss) = r.esr2();
    assert_eq!((ec, iss & 0x1ff), (0x24, 0x80 | 0x07));
    assert_eq!(iss >> 24, 0, "no instruction syndrome for S1PTW faults");
    assert_eq!(r.c.sys.far[2], 0x8000_0010);
    assert_eq!(r.c.sys.hpfar_el2, hpfar(IPA_T + 0x2000));
    // AT S1E1R at EL1 on that VA: the stage-2 fault is taken to EL2 with CM = 1.
    r.c.x[2] = 0x8000_0000;
    assert_eq!(r.exec(AT_S1E1R), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x1ff, 0x100 | 0x80 | 0x40 | 0x07);
    // AT S1E1R of a good VA returns the IPA.
    r.c.x[2] = 0x1000;
    assert_eq!(r.exec(AT_S1E1R), Out::Done);
    assert_eq!(r.c.sys.par_el1 & 0xffff_ffff_f001, IPA_T);
    // AT S12E1R at EL2: the PA; a stage-2 fault reported in PAR_EL1 with S = 1 (bit 9).
    assert_eq!(r.exec_at(2, AT_S12E1R), Out::Done);
    assert_eq!(r.c.sys.par_el1 & 0xffff_ffff_f001, DATA);
    assert_eq!(r.c.sys.par_el1 >> 56, 0xff, "Normal WB at both stages");
    r.c.x[2] = 0x8000_0000;
    assert_eq!(r.exec_at(2, AT_S12E1R), Out::Done);
    let par = r.c.sys.par_el1;
    assert_eq!(par & 0x3ff, 1 | 0x07 << 1 | 1 << 8 | 1 << 9, "F, FST, PTW, S: {par:#x}");
    // AT S12E1W of a page stage 2 maps read-only: permission fault in PAR, S = 1.
    r.set_mem(S1L3 + 16, (IPA_T + 0x1000) | 1 << 10 | 3);
    r.c.x[2] = 0x2000;
    assert_eq!(r.exec_at(2, AT_S12E1W), Out::Done);
    assert_eq!(r.c.sys.par_el1 & 0x3ff, 1 | 0x0f << 1 | 1 << 9);
    // Stage-2 Device with HCR_EL2.PTW: a walk there is a permission fault (S1PTW).
    r.set_mem(S1L1 + 24, (IPA_T + 0x5000) | 3);
    r.c.sys.hcr_el2 |= 1 << 2;
    assert_eq!(r.load(0xc000_0000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x1ff, 0x80 | 0x0f);
    assert_eq!(r.c.sys.hpfar_el2, hpfar(IPA_T + 0x5000));
    // An instruction fetch whose walk faults at stage 2: instruction abort, S1PTW.
    r.c.sys.hcr_el2 &= !(1 << 2);
    assert_eq!(r.jump(0x8000_0000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2(), (0x20, 0x80 | 0x07));
}

#[test]
fn stage2_attributes_combine() {
    use crate::mmu::combine_attrs as c;
    // Device at stage 2 wins, the more restrictive Device type: nGnRE (s2) vs Normal.
    assert_eq!(c(0xff, 3, 0b0001, 3), (0x04, 2));
    assert_eq!(c(0x00, 2, 0b0011, 3), (0x00, 2));
    // Normal: WB at stage 1, NC at stage 2 -> NC; WT at stage 2 -> WT keeping hints.
    assert_eq!(c(0xff, 3, 0b0101, 3), (0x44, 2));
    assert_eq!(c(0xff, 3, 0b1010, 0), (0xbb, 3));
    assert_eq!(c(0xff, 0, 0b1111, 2), (0xff, 2), "more shareable wins");
}

#[test]
fn vmid_tagged_entries_and_tlbi() {
    let mut r = Rig::new();
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    // Remap IPA_T to DATA+0x1000 without TLB maintenance: VMID 1 keeps its cached entry.
    r.set_mem(S2L3, (DATA + 0x1000) | 3 | S2_NORMAL | S2_RW);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000, "VMID 1 entry still cached");
    // VMID 2 (same tables): no entry of VMID 1 is used.
    r.c.x[3] = S2L1 | 2 << 48;
    assert_eq!(r.exec_at(2, MSR_VTTBR), Out::Done);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd001);
    // TLBI VMALLS12E1 under VMID 2 leaves VMID 1's entries.
    assert_eq!(r.exec_at(2, TLBI_VMALLS12E1), Out::Done);
    r.c.x[3] = S2L1 | 1 << 48;
    assert_eq!(r.exec_at(2, MSR_VTTBR), Out::Done);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000, "VMID 1 entry survived VMID 2's flush");
    // TLBI IPAS2E1 under VMID 1 removes it.
    r.c.x[2] = IPA_T >> 12;
    assert_eq!(r.exec_at(2, TLBI_IPAS2E1), Out::Done);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd001);
    // VMALLE1 from EL1 removes only the current VMID's entries; ALLE1 all of them.
    r.set_mem(S2L3, DATA | 3 | S2_NORMAL | S2_RW);
    r.c.x[3] = S2L1 | 2 << 48;
    assert_eq!(r.exec_at(2, MSR_VTTBR), Out::Done);
    assert_eq!(r.exec(TLBI_VMALLE1), Out::Done);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000, "VMID 2 re-walked");
    r.c.x[3] = S2L1 | 1 << 48;
    assert_eq!(r.exec_at(2, MSR_VTTBR), Out::Done);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd001, "VMID 1 still stale");
    assert_eq!(r.exec_at(2, TLBI_ALLE1), Out::Done);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    // HCR_EL2.TTLB traps TLBI at EL1 to EL2 (EC 0x18).
    r.c.sys.hcr_el2 |= 1 << 25;
    assert_eq!(r.exec(TLBI_VMALLE1), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().0, 0x18);
}

#[test]
fn asid_tagged_entries_and_tlbi() {
    let mut r = Rig::new();
    r.c.sys.hcr_el2 = 1 << 31; // stage 2 off
    r.stage1(DATA, 0);
    r.c.sys.ttbr0[1] = S1L1 | 1 << 48;
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    // The page is nG: another ASID walks again, and the first keeps its entry.
    r.set_mem(S1L3 + 8, (DATA + 0x1000) | 1 << 11 | 1 << 10 | 3);
    r.c.x[3] = S1L1 | 2 << 48;
    assert_eq!(r.exec(MSR_TTBR0), Out::Done);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd001);
    r.c.x[3] = S1L1 | 1 << 48;
    assert_eq!(r.exec(MSR_TTBR0), Out::Done);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd000, "ASID 1 entry survived the switch");
    // TLBI ASIDE1 for ASID 2 leaves it; for ASID 1 removes it.
    r.c.x[2] = 2 << 48;
    assert_eq!(r.exec(TLBI_ASIDE1), Out::Done);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    r.c.x[2] = 1 << 48;
    assert_eq!(r.exec(TLBI_ASIDE1), Out::Done);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd001);
    // TLBI VAE1 by VA and ASID.
    r.set_mem(S1L3 + 8, DATA | 1 << 11 | 1 << 10 | 3);
    r.c.x[2] = 2 << 48 | 1;
    assert_eq!(r.exec(TLBI_VAE1), Out::Done);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd001, "other ASID: kept");
    r.c.x[2] = 1 << 48 | 1;
    assert_eq!(r.exec(TLBI_VAE1), Out::Done);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    // A 1 GiB block entry: TLBI VAE1 of any VA in the block removes the slices of it.
    r.set_mem(RAM + 0x70_0000, 1);
    assert_eq!(r.load(RAM + 0x70_0000), Out::Done);
    assert_eq!(r.c.x[1], 1);
    r.c.x[2] = 1 << 48 | (RAM + 0x3000_0000) >> 12;
    let before = r.c.tlb.valid();
    assert_eq!(r.exec(TLBI_VAE1), Out::Done);
    assert!(r.c.tlb.valid() < before, "block slices dropped");
}

#[test]
fn hardware_access_flag_and_dirty_state_stage1() {
    let mut r = Rig::new();
    r.c.sys.hcr_el2 = 1 << 31; // stage 2 off
    r.stage1(DATA, 0);
    let pte = S1L3 + 8;
    // AF = 0 without HA: access flag fault.
    r.set_mem(pte, DATA | 3 << 8 | 3);
    assert_eq!(r.load(0x1000), Out::Exc(1, 0x200));
    assert_eq!(r.c.sys.esr[1] & 0x3f, 0x0b);
    // TCR_EL1.HA: the walk sets AF in memory.
    r.c.sys.tcr[1] |= 1 << 39;
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.mem(pte), DATA | 1 << 10 | 3 << 8 | 3);
    // DBM page, writable-clean (AP[2] = 1): without HD a store is a permission fault.
    let clean = DATA | 1 << 51 | 1 << 10 | 2 << 6 | 3 << 8 | 3;
    r.set_mem(pte, clean);
    r.c.x[2] = 1;
    assert_eq!(r.exec(TLBI_VAE1), Out::Done);
    assert_eq!(r.store(0x1000, 9), Out::Exc(1, 0x200));
    assert_eq!(r.c.sys.esr[1] & 0x7f, 0x4f);
    // With HD: a load leaves it clean (and the TLB caches it read-only); the store then
    // clears AP[2] and completes.
    r.c.sys.tcr[1] |= 1 << 40;
    assert_eq!(r.exec(TLBI_VMALLE1), Out::Done);
    assert_eq!(r.load(0x1000), Out::Done);
    assert_eq!(r.mem(pte), clean);
    assert_eq!(r.store(0x1000, 9), Out::Done);
    assert_eq!(r.mem(pte), clean & !(1 << 7));
    assert_eq!(r.mem(DATA), 9);
    // A read-only page without DBM still faults, and is not modified.
    let ro = DATA | 1 << 10 | 2 << 6 | 3 << 8 | 3;
    r.set_mem(pte, ro);
    r.c.x[2] = 1;
    assert_eq!(r.exec(TLBI_VAE1), Out::Done);
    assert_eq!(r.store(0x1000, 9), Out::Exc(1, 0x200));
    assert_eq!(r.mem(pte), ro);
    // A store from EL0 to an EL1-only DBM page faults without dirtying it.
    r.set_mem(pte, clean);
    r.c.x[2] = 1;
    assert_eq!(r.exec(TLBI_VAE1), Out::Done);
    r.c.x[2] = 0x1000;
    assert_eq!(r.exec_at(0, STR), Out::Exc(1, 0x400));
    assert_eq!(r.mem(pte), clean);
}

#[test]
fn hardware_updates_with_stage2() {
    let mut r = Rig::new();
    // Stage-2 HA: AF = 0 page gets AF set.
    r.c.sys.vtcr_el2 |= 1 << 21;
    assert_eq!(r.load(IPA_T + 0x3000), Out::Done);
    assert_eq!(r.mem(S2L3 + 24) & (1 << 10), 1 << 10);
    // Stage-2 HD: DBM page with S2AP[1] = 0: load keeps it clean, store sets S2AP[1].
    r.c.sys.vtcr_el2 |= 1 << 22;
    assert_eq!(r.load(IPA_T + 0x6000), Out::Done);
    assert_eq!(r.mem(S2L3 + 48) & S2_RW, S2_RO);
    assert_eq!(r.store(IPA_T + 0x6000, 3), Out::Done);
    assert_eq!(r.mem(S2L3 + 48) & S2_RW, S2_RW);
    // Stage-1 AF update to a table that stage 2 maps read-only: stage-2 permission fault
    // on the walk, S1PTW with WnR = 1, HPFAR_EL2 = the table's IPA.
    r.stage1(IPA_T, IPA_T + 0x1000);
    r.c.sys.tcr[1] |= 1 << 39;
    r.set_mem(DATA + 0x1000, RAM | 1 << 0); // level-2 block VA 0x8000_0000 -> RAM, AF = 0
    assert_eq!(r.load(0x8000_0000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x1ff, 0x80 | 0x40 | 0x0f);
    assert_eq!(r.c.sys.hpfar_el2, hpfar(IPA_T + 0x1000));
    assert_eq!(r.mem(DATA + 0x1000), RAM | 1, "descriptor unchanged");
}

#[test]
fn stage2_configuration_checks() {
    let mut r = Rig::new();
    // SL0 = 2 (level 0) with 4 KiB and a 40-bit PA: not supported -> level 0 translation
    // fault for every access.
    r.c.sys.vtcr_el2 = (r.c.sys.vtcr_el2 & !(3 << 6)) | 2 << 6;
    r.c.sys.sctlr[1] &= !1;
    assert_eq!(r.load(IPA_T), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x04);
    // SL0 = 0 (level 2) with a 40-bit IPA would need 2^11 level-2 tables: also a fault.
    r.c.sys.vtcr_el2 &= !(3 << 6);
    assert_eq!(r.load(IPA_T), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x04);
    // 32-bit IPA (T0SZ = 32), SL0 = 1: 4 entries at level 1 (no concatenation).
    r.c.sys.vtcr_el2 = (r.c.sys.vtcr_el2 & !0x3f) | 32 | 1 << 6;
    assert_eq!(r.exec_at(2, TLBI_ALLE1), Out::Done);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000);
    // An IPA beyond T0SZ: translation fault at level 0.
    assert_eq!(r.load(0x1_0000_0000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x04);
    // Output beyond VTCR_EL2.PS (32 bits): address size fault at the leaf's level.
    r.c.sys.vtcr_el2 &= !(7 << 16);
    r.set_mem(S2L3 + 56, 0x1_0000_0000 | 3 | S2_NORMAL | S2_RW);
    assert_eq!(r.load(IPA_T + 0x7000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x03);
    r.c.sys.vtcr_el2 = (r.c.sys.vtcr_el2 & !(7 << 16)) | 2 << 16;
    // HCR_EL2.DC: stage 1 off gives Normal memory (unaligned loads fine), stage 2 applies
    // even with VM = 0.
    r.c.sys.hcr_el2 = 1 << 31 | 1 << 12;
    assert_eq!(r.exec_at(2, TLBI_ALLE1), Out::Done);
    assert_eq!(r.load(IPA_T + 0x5004), Out::Exc(1, 0x200), "stage 2 Device still wins");
    assert_eq!(r.load(IPA_T + 4), Out::Done);
    assert_eq!(r.load(IPA_T + 0x2000), Out::Exc(2, 0x400));
}

#[test]
fn inner_shareable_tlbi_reaches_the_other_pes() {
    const TLBI_VMALLS12E1IS: u32 = 0xd50c83df;
    let mut r = Rig::new();
    assert_eq!(r.load(IPA_T), Out::Done);
    r.set_mem(S2L3, (DATA + 0x1000) | 3 | S2_NORMAL | S2_RW);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd000, "stale entry");
    // A second PE of the machine runs TLBI VMALLS12E1IS at EL2.
    let mut other = new_cpu(1, 1);
    let at = RAM + 0x10_4000;
    r.m.ram.write(GuestPhys(at), &TLBI_VMALLS12E1IS.to_le_bytes());
    other.boot(2, at);
    other.run(&mut r.m, 1);
    assert_eq!(other.pc, at + 4);
    assert_eq!(r.load(IPA_T), Out::Done);
    assert_eq!(r.c.x[1], 0xd001, "this PE's entry went too");
}

#[test]
fn stage2_instruction_syndromes() {
    use crate::mmu::isv_fields as f;
    let isv = |sas: u32, sse: u32, srt: u32, sf: u32, ar: u32| {
        1 << 24 | sas << 22 | sse << 21 | srt << 16 | sf << 15 | ar << 14
    };
    assert_eq!(f(0x39c00041), isv(0, 1, 1, 0, 0), "ldrsb w1, [x2]");
    assert_eq!(f(0xb9800041), isv(2, 1, 1, 1, 0), "ldrsw x1, [x2]");
    assert_eq!(f(0xf85f8045), isv(3, 0, 5, 1, 0), "ldur x5, [x2, #-8]");
    assert_eq!(f(0x78636847), isv(1, 0, 7, 0, 0), "ldrh w7, [x2, x3]");
    assert_eq!(f(0x58000009), isv(3, 0, 9, 1, 0), "ldr x9, literal");
    assert_eq!(f(0x38000843), isv(0, 0, 3, 0, 0), "sttrb w3, [x2]");
    assert_eq!(f(0xc8dffc43), isv(3, 0, 3, 1, 1), "ldar x3, [x2]");
    assert_eq!(f(0x889ffc44), isv(2, 0, 4, 0, 1), "stlr w4, [x2]");
    assert_eq!(f(0xf8bfc046), isv(3, 0, 6, 1, 1), "ldapr x6, [x2]");
    assert_eq!(f(0x38bfc046), isv(0, 0, 6, 0, 1), "ldaprb w6, [x2]");
    // No syndrome: writeback, pairs, exclusives, PRFM, SIMD&FP.
    for i in [0xb8404c41, 0xa9000861, 0xc85f7c41, 0xf9800040, 0xfd400040] {
        assert_eq!(f(i), 0, "{i:#010x}");
    }
}

#[test]
fn stage2_16k_and_64k_granules() {
    // 16 KiB, 40-bit IPA, SL0 = 1: start at level 2 with 2^15 entries = 16 concatenated
    // tables (256 KiB, the maximum); 32 MiB blocks.
    let mut r = Rig::new();
    let t = RAM + 0x40_0000;
    let blk = S2_NORMAL | S2_RW | 1;
    r.set_mem(t + 32 * 8, RAM | blk); // IPA 0x4000_0000 -> RAM
    r.set_mem(t + 0x4000 * 8, RAM | blk); // IPA 0x80_0000_0000 (table 8) -> RAM
    r.c.sys.vtcr_el2 = 1 << 31 | 24 | 1 << 6 | 2 << 14 | 2 << 16;
    r.c.sys.vttbr_el2 = t | 1 << 48;
    r.set_mem(RAM + 0x60_0000, 0x1616);
    assert_eq!(r.load(RAM + 0x60_0000), Out::Done);
    assert_eq!(r.c.x[1], 0x1616);
    assert_eq!(r.load(0x80_0060_0000), Out::Done);
    assert_eq!(r.c.x[1], 0x1616);
    assert_eq!(r.load(0x80_0200_0000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x06, "translation fault, level 2");
    // 64 KiB, 40-bit IPA, SL0 = 1: level 2 with 2^11 entries; 512 MiB blocks.
    let mut r = Rig::new();
    let t = RAM + 0x40_0000;
    r.set_mem(t + 2 * 8, RAM | blk); // IPA 0x4000_0000 -> RAM
    r.c.sys.vtcr_el2 = 1 << 31 | 24 | 1 << 6 | 1 << 14 | 2 << 16;
    r.c.sys.vttbr_el2 = t | 1 << 48;
    r.set_mem(RAM + 0x60_0000, 0x6464);
    assert_eq!(r.load(RAM + 0x60_0000), Out::Done);
    assert_eq!(r.c.x[1], 0x6464);
    assert_eq!(r.load(0x6000_0000), Out::Exc(2, 0x400));
    assert_eq!(r.esr2().1 & 0x3f, 0x06);
    assert_eq!(r.c.sys.hpfar_el2, hpfar(0x6000_0000));
}

#[test]
fn data_cache_maintenance_faults_report_cm() {
    const DC_CVAC: u32 = 0xd50b7a22;
    const DC_IVAC: u32 = 0xd5087622;
    let mut r = Rig::new();
    r.c.sys.hcr_el2 = 1 << 31; // stage 2 off
    r.stage1(DATA, 0);
    // Unmapped VA 0x3000: translation fault L3 with CM = 1 and WnR = 1.
    r.c.x[2] = 0x3000;
    assert_eq!(r.exec(DC_CVAC), Out::Exc(1, 0x200));
    assert_eq!(r.c.sys.esr[1] & 0x1ff, 0x100 | 0x40 | 0x07);
    assert_eq!(r.c.sys.far[1], 0x3000);
    // A read-only page: DC CVAC is fine, DC IVAC needs write permission.
    r.set_mem(S1L3 + 24, (DATA + 0x1000) | 1 << 10 | 2 << 6 | 3);
    assert_eq!(r.exec(DC_CVAC), Out::Done);
    assert_eq!(r.exec(DC_IVAC), Out::Exc(1, 0x200));
    assert_eq!(r.c.sys.esr[1] & 0x1ff, 0x100 | 0x40 | 0x0f);
    // PAN does not apply to cache maintenance: an EL0 page with PSTATE.PAN = 1.
    r.set_mem(S1L3 + 24, (DATA + 0x1000) | 1 << 10 | 1 << 6 | 3);
    r.c.x[2] = 1 << 48 | 3;
    assert_eq!(r.exec(TLBI_VAE1), Out::Done);
    r.c.pan = true;
    r.c.x[2] = 0x3000;
    assert_eq!(r.exec(DC_CVAC), Out::Done);
    assert_eq!(r.load(0x3000), Out::Exc(1, 0x200), "a load is subject to PAN");
}
