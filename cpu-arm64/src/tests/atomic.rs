//! FEAT_LSE atomics and FEAT_LRCPC/LRCPC2 (exec::atomic): every LD<op>, SWP and CAS in every
//! size and acquire/release variant, CASP, the ST<op> aliases, LDAPR/LDAPUR/STLUR, fault
//! syndromes (alignment, translation, permission with WnR) and the ID register fields.
//! Encodings were produced with `aarch64-linux-gnu-as -march=armv8.4-a`.

use super::{new_cpu, stage1, Mock, RAM, S1_RW_RO_PAGES};

/// Scratch data (16-byte aligned) for MMU-off tests.
const DATA: u64 = RAM + 0x8000;
/// Exception vectors (VBAR_EL1); an exception from EL1 lands at VBAR + 0x200.
const VBAR: u64 = RAM + 0x80_0000;

/// The rig of these tests: single instructions at EL1, exceptions to [`VBAR`].
enum Atomics {}
type Rig = super::Rig<Atomics>;

impl Rig {
    fn new() -> Self {
        let mut c = new_cpu(0, 0);
        c.boot(1, RAM);
        c.sys.vbar[1] = VBAR;
        Self::with(c, Mock::new(), RAM + 0x10_0000)
    }

    /// Executes `raw` once; `true` if it completed without an exception.
    fn exec(&mut self, raw: u32) -> bool {
        if self.step(raw) {
            true
        } else {
            assert_eq!(self.c.pc, VBAR + 0x200, "{raw:#010x}: neither completed nor took an exception");
            false
        }
    }

    /// ESR_EL1 of the last exception: (EC, ISS).
    fn esr(&self) -> (u64, u64) {
        (self.c.sys.esr[1] >> 26, self.c.sys.esr[1] & 0x1ff_ffff)
    }

    /// Turns on stage 1 with Normal write-back memory ([`super::stage1`]): VA 0x1000 ->
    /// RAM+0x5000 read-write, VA 0x2000 -> RAM+0x6000 read-only, VA 0x3000 unmapped.
    fn mmu_on(&mut self) {
        stage1(&mut self.c, &mut self.m.ram, &S1_RW_RO_PAGES);
    }
}

const SIZES: [u32; 4] = [0, 1, 2, 3];
/// The A and R (LD<op>, SWP) or L and o0 (CAS) bit combinations.
const AR: [u32; 4] = [0, 1, 2, 3];

fn mask(size: u32) -> u64 {
    if size == 3 {
        u64::MAX
    } else {
        (1u64 << (8 << size)) - 1
    }
}

/// The architectural result of LD<op> (opc 0-7) or SWP (8) for operands of `size`, written
/// with Rust's typed integer arithmetic.
fn expected(op: u32, size: u32, old: u64, v: u64) -> u64 {
    macro_rules! by {
        ($u:ty, $s:ty) => {{
            let (o, v) = (old as $u, v as $u);
            let r: $u = match op {
                0 => o.wrapping_add(v),
                1 => o & !v,
                2 => o ^ v,
                3 => o | v,
                4 => (o as $s).max(v as $s) as $u,
                5 => (o as $s).min(v as $s) as $u,
                6 => o.max(v),
                7 => o.min(v),
                _ => v,
            };
            r as u64
        }};
    }
    match size {
        0 => by!(u8, i8),
        1 => by!(u16, i16),
        2 => by!(u32, i32),
        _ => by!(u64, i64),
    }
}

const PAIRS: [(u64, u64); 4] = [
    (0x8081_8283_8485_8687, 0x7f7e_7d7c_7b7a_7978),
    (0x0000_0000_0000_0005, 0xffff_ffff_ffff_fffb),
    (0xffff_ffff_ffff_ffff, 0x0000_0000_0000_0001),
    (0x1234_5678_9abc_def0, 0x1234_5678_9abc_def0),
];

#[test]
fn ld_op_and_swp_every_size_and_variant() {
    let mut r = Rig::new();
    const FILL: u64 = 0xa5a5_a5a5_a5a5_a5a5;
    for size in SIZES {
        for op in 0..9u32 {
            for ar in AR {
                for (old, v) in PAIRS {
                    // ld<op>{a}{l}{b,h} w2/x2, w3/x3, [x0]; SWP is o3 = 1, opc = 000.
                    let opbits = if op == 8 { 1 << 15 } else { op << 12 };
                    let raw = 0x3822_0003 | size << 30 | ar << 22 | opbits;
                    r.set_mem(DATA, old);
                    r.set_mem(DATA + 8, FILL);
                    r.c.x[0] = DATA;
                    r.c.x[2] = v;
                    r.c.x[3] = 0xdead_beef_dead_beef;
                    assert!(r.exec(raw), "{raw:#010x} faulted: {:?}", r.esr());
                    let m = mask(size);
                    let new = expected(op, size, old, v);
                    assert_eq!(r.c.x[3], old & m, "{raw:#010x}: Rt = old value, zero-extended");
                    assert_eq!(r.mem(DATA), (old & !m) | new, "{raw:#010x}: memory");
                    assert_eq!(r.mem(DATA + 8), FILL, "{raw:#010x}: beyond the operand");
                    assert_eq!(r.c.x[2], v, "{raw:#010x}: Rs unchanged");
                }
            }
        }
    }
}

#[test]
fn ld_op_hand_computed() {
    let mut r = Rig::new();
    let mut one = |raw: u32, old: u64, v: u64| {
        r.set_mem(DATA, old);
        r.c.x[0] = DATA;
        r.c.x[2] = v;
        assert!(r.exec(raw));
        (r.c.x[3], r.mem(DATA))
    };
    // ldsmaxb w2, w3, [x0]: max(-128, 127) = 127; ldumaxb: max(0x80, 0x7f) = 0x80.
    assert_eq!(one(0x3822_4003, 0x80, 0x7f), (0x80, 0x7f));
    assert_eq!(one(0x3822_6003, 0x80, 0x7f), (0x80, 0x80));
    // ldsminh w2, w3, [x0]: min(0x7fff, 0x8000 = -32768) = 0x8000.
    assert_eq!(one(0x7822_5003, 0x7fff, 0x8000), (0x7fff, 0x8000));
    // ldsmax x2, x3, [x0] with -5 and 3 -> 3; ldumin with 3 and all-ones -> 3.
    assert_eq!(one(0xf822_4003, -5i64 as u64, 3), (-5i64 as u64, 3));
    assert_eq!(one(0xf822_7003, 3, u64::MAX), (3, 3));
    // ldaddh w2, w3, [x0]: 0xffff + 2 wraps to 1 within the halfword.
    assert_eq!(one(0x7822_0003, 0xffff, 2), (0xffff, 1));
    // ldadd w2, w3, [x0] (32-bit): the upper word of memory is untouched.
    assert_eq!(one(0xb822_0003, 0x1_ffff_ffff, 1), (0xffff_ffff, 0x1_0000_0000));
    // ldclr, ldeor, ldset x2, x3, [x0].
    assert_eq!(one(0xf822_1003, 0xff00, 0x0ff0), (0xff00, 0xf000));
    assert_eq!(one(0xf822_2003, 0xff00, 0x0ff0), (0xff00, 0xf0f0));
    assert_eq!(one(0xf822_3003, 0xff00, 0x0ff0), (0xff00, 0xfff0));
    // swpal x2, x3, [x0].
    assert_eq!(one(0xf8e2_8003, 77, 88), (77, 88));
}

#[test]
fn st_op_aliases_discard_the_old_value() {
    let mut r = Rig::new();
    let sp = RAM + 0x4000;
    r.c.set_sp(sp);
    r.c.x[0] = DATA;
    r.c.x[2] = 12;
    r.set_mem(DATA, 88);
    let before = r.c.x;
    // stadd x2, [x0] (= ldadd x2, xzr, [x0]).
    assert!(r.exec(0xf822_001f));
    assert_eq!(r.mem(DATA), 100);
    assert_eq!(r.c.x, before, "no register written");
    assert_eq!(r.c.sp(), sp, "Rt = 31 is XZR, not SP");
    // staddl w2, [x0]; stclr x2, [x0].
    assert!(r.exec(0xb862_001f));
    assert_eq!(r.mem(DATA), 112);
    r.c.x[2] = 0xf0;
    assert!(r.exec(0xf822_101f));
    assert_eq!(r.mem(DATA), 112 & !0xf0);
    assert_eq!(r.c.x[3], before[3]);
    // ldadd x2, x3, [sp]: SP as the base register.
    r.set_mem(sp, 1);
    r.c.x[2] = 2;
    assert!(r.exec(0xf822_03e3));
    assert_eq!((r.c.x[3], r.mem(sp)), (1, 3));
}

#[test]
fn cas_success_and_failure_every_size_and_variant() {
    let mut r = Rig::new();
    const FILL: u64 = 0x5a5a_5a5a_5a5a_5a5a;
    for size in SIZES {
        let m = mask(size);
        for lo0 in AR {
            // cas{a}{l}{b,h} w2/x2, w3/x3, [x0]: L is bit 22, o0 bit 15.
            let raw = 0x08a2_7c03 | size << 30 | (lo0 >> 1) << 22 | (lo0 & 1) << 15;
            let old = 0x8877_6655_4433_2211u64;
            // Success: Rs matches (upper register bits beyond the size are ignored).
            r.set_mem(DATA, old);
            r.set_mem(DATA + 8, FILL);
            r.c.x[0] = DATA;
            r.c.x[2] = (old & m) | (!m & 0xffff_0000_0000_0000);
            r.c.x[3] = 0x0123_4567_89ab_cdef;
            assert!(r.exec(raw), "{raw:#010x} faulted: {:?}", r.esr());
            assert_eq!(r.c.x[2], old & m, "{raw:#010x}: Rs = old value, zero-extended");
            assert_eq!(r.mem(DATA), (old & !m) | (0x0123_4567_89ab_cdef & m), "{raw:#010x}: stored");
            assert_eq!(r.mem(DATA + 8), FILL);
            // Failure: no store, Rs = the current value.
            r.set_mem(DATA, old);
            r.c.x[2] = !old & m;
            assert!(r.exec(raw));
            assert_eq!(r.c.x[2], old & m, "{raw:#010x}: failing compare loads Rs");
            assert_eq!(r.mem(DATA), old, "{raw:#010x}: failing compare does not store");
        }
    }
    // cas x2, x2, [x0] (Rs = Rt) and cas with Rs = XZR: compare against zero.
    r.set_mem(DATA, 0);
    r.c.x[0] = DATA;
    r.c.x[3] = 9;
    assert!(r.exec(0xc8bf_7c03)); // cas xzr, x3, [x0]
    assert_eq!(r.mem(DATA), 9);
}

#[test]
fn casp_pairs() {
    let mut r = Rig::new();
    for lo0 in AR {
        let v = (lo0 >> 1) << 22 | (lo0 & 1) << 15;
        // casp x2, x3, x4, x5, [x0] (with variants); the pair is 16 bytes.
        r.set_mem(DATA, 0x1000);
        r.set_mem(DATA + 8, 0x2000);
        r.c.x[0] = DATA;
        (r.c.x[2], r.c.x[3], r.c.x[4], r.c.x[5]) = (0x1000, 0x2000, 0x3000, 0x4000);
        assert!(r.exec(0x4822_7c04 | v));
        assert_eq!((r.c.x[2], r.c.x[3]), (0x1000, 0x2000));
        assert_eq!((r.mem(DATA), r.mem(DATA + 8)), (0x3000, 0x4000));
        // Only the high half differs: the compare fails, nothing is stored.
        (r.c.x[2], r.c.x[3]) = (0x3000, 0);
        assert!(r.exec(0x4822_7c04 | v));
        assert_eq!((r.c.x[2], r.c.x[3]), (0x3000, 0x4000));
        assert_eq!((r.mem(DATA), r.mem(DATA + 8)), (0x3000, 0x4000));
        // casp w2, w3, w4, w5, [x0]: two words, 8 bytes; upper register halves ignored and
        // the loaded words zero-extended.
        r.set_mem(DATA, 0xbbbb_bbbb_aaaa_aaaa);
        r.set_mem(DATA + 8, 0x7777);
        (r.c.x[2], r.c.x[3]) = (0xffff_ffff_aaaa_aaaa, 0x1_bbbb_bbbb);
        (r.c.x[4], r.c.x[5]) = (0x1111_1111, 0xffff_ffff_2222_2222);
        assert!(r.exec(0x0822_7c04 | v));
        assert_eq!((r.c.x[2], r.c.x[3]), (0xaaaa_aaaa, 0xbbbb_bbbb));
        assert_eq!(r.mem(DATA), 0x2222_2222_1111_1111);
        assert_eq!(r.mem(DATA + 8), 0x7777, "beyond the pair");
        r.c.x[2] = 0;
        assert!(r.exec(0x0822_7c04 | v));
        assert_eq!((r.c.x[2], r.c.x[3]), (0x1111_1111, 0x2222_2222));
        assert_eq!(r.mem(DATA), 0x2222_2222_1111_1111);
    }
    // casp x30, xzr, x6, x7, [x0]: the second register of the pair is XZR.
    r.set_mem(DATA, 5);
    r.set_mem(DATA + 8, 0);
    (r.c.x[30], r.c.x[6], r.c.x[7]) = (5, 6, 7);
    assert!(r.exec(0x483e_7c06));
    assert_eq!((r.mem(DATA), r.mem(DATA + 8), r.c.x[30]), (6, 7, 5));
    // Odd Rs or Rt (CONSTRAINED UNPREDICTABLE): UNDEFINED here.
    assert!(!r.exec(0x4823_7c06)); // Rs = 3
    assert_eq!(r.esr().0, 0);
    assert!(!r.exec(0x4822_7c05)); // Rt = 5
    assert_eq!(r.esr().0, 0);
    // CASP X needs 16-byte alignment: 8-aligned is an alignment fault.
    r.c.x[0] = DATA + 8;
    assert!(!r.exec(0x4822_7c04));
    assert_eq!(r.esr(), (0x25, 0x21));
}

#[test]
fn unallocated_encodings_in_these_classes_are_undefined() {
    let mut r = Rig::new();
    r.c.x[0] = DATA;
    // CAS with Rt2 != 11111; CASP with Rt2 != 11111; LD<op> class with o3 = 1, opc = 001
    // (FEAT_LS64, not implemented); LDAPR with A = 0; LDAPURS* to 32 bits of a word (size 10,
    // opc 11); size 11 opc 10.
    for raw in [0xc8a2_7803u32, 0x4822_7804, 0xf822_9003, 0xf83f_c002, 0x99c0_4002, 0xd980_0002] {
        r.c.x[2] = 0x77;
        assert!(!r.exec(raw), "{raw:#010x}");
        assert_eq!(r.esr().0, 0, "{raw:#010x}: UNDEFINED");
        assert_eq!(r.c.x[2], 0x77);
    }
    // The same checks in the handlers, for words a decoder might still hand them.
    for (f, raw) in [
        (crate::exec::atomic::cas as crate::decode::Handler, 0xc8a2_7803u32),
        (crate::exec::atomic::casp, 0x4822_7804),
        (crate::exec::atomic::rcpc_unscaled, 0x99c0_4002),
        (crate::exec::atomic::rcpc_unscaled, 0xd980_0002),
    ] {
        assert_eq!(f(&mut r.c, &mut r.m, raw), Err(crate::exception::Exc::undef()), "{raw:#010x}");
    }
    // LDAPR with Rs != 11111 (should-be-one, CONSTRAINED UNPREDICTABLE): executes as LDAPR.
    r.set_mem(DATA, 0x1234);
    assert!(r.exec(0xf8a2_c002));
    assert_eq!(r.c.x[2], 0x1234);
}

#[test]
fn alignment_faults_report_wnr_0_and_change_nothing() {
    let mut r = Rig::new();
    r.mmu_on();
    r.set_mem(RAM + 0x5000, 0x1111);
    for raw in [
        0xf822_0003u32, // ldadd x2, x3, [x0]
        0x7822_0003,    // ldaddh w2, w3, [x0]
        0xf822_8003,    // swp x2, x3, [x0]
        0xc8a2_7c03,    // cas x2, x3, [x0]
        0x88a2_7c03,    // cas w2, w3, [x0]
        0xf8bf_c002,    // ldapr x2, [x0]
        0x9940_4002,    // ldapur w2, [x0, #4]
    ] {
        // Normal memory with SCTLR_EL1.A = 0: only the atomic/ordered rule faults.
        r.c.x[0] = 0x1001;
        (r.c.x[2], r.c.x[3]) = (0x22, 0x33);
        assert!(!r.exec(raw), "{raw:#010x}");
        assert_eq!(r.esr(), (0x25, 0x21), "{raw:#010x}: alignment fault, WnR = 0");
        let far = if raw == 0x9940_4002 { 0x1005 } else { 0x1001 };
        assert_eq!(r.c.sys.far[1], far);
        assert_eq!((r.c.x[2], r.c.x[3]), (0x22, 0x33), "{raw:#010x}: registers unchanged");
        assert_eq!(r.mem(RAM + 0x5000), 0x1111);
    }
    // stlur x2, [x0, #-1] at an aligned base: the store reports WnR = 1.
    r.c.x[0] = 0x1008;
    assert!(!r.exec(0xd91f_f002));
    assert_eq!(r.esr(), (0x25, 1 << 6 | 0x21));
    assert_eq!(r.c.sys.far[1], 0x1007);
    // The same instructions succeed when aligned (on Normal memory through the MMU).
    r.c.x[0] = 0x1000;
    r.c.x[2] = 1;
    assert!(r.exec(0xf822_0003));
    assert_eq!((r.c.x[3], r.mem(RAM + 0x5000)), (0x1111, 0x1112));
}

#[test]
fn mmu_faults_on_atomics_report_wnr_as_for_atomics() {
    let mut r = Rig::new();
    r.mmu_on();
    r.set_mem(RAM + 0x6000, 7);
    // Read-only page: a read would not fault, so the write-permission fault has WnR = 1
    // (level 3 permission fault, DFSC 0b001111). Memory and registers are unchanged.
    for raw in [
        0xf822_0003u32, // ldadd x2, x3, [x0]
        0xf822_001f,    // stadd x2, [x0]
        0x3822_8003,    // swpb w2, w3, [x0]
        0xc8a2_7c03,    // cas x2, x3, [x0], compare succeeds
        0x4822_7c04,    // casp x2, x3, x4, x5, [x0]
    ] {
        r.c.x[0] = 0x2000;
        (r.c.x[2], r.c.x[3], r.c.x[4], r.c.x[5]) = (7, 0, 1, 1);
        assert!(!r.exec(raw), "{raw:#010x}");
        assert_eq!(r.esr(), (0x25, 1 << 6 | 0b001111), "{raw:#010x}");
        assert_eq!(r.c.sys.far[1], 0x2000);
        assert_eq!((r.c.x[2], r.c.x[3]), (7, 0), "{raw:#010x}: registers unchanged");
        assert_eq!(r.mem(RAM + 0x6000), 7);
    }
    // A CAS whose compare would fail is still checked as a store (C6.2 CAS).
    r.c.x[2] = 99;
    assert!(!r.exec(0xc8a2_7c03));
    assert_eq!(r.esr(), (0x25, 1 << 6 | 0b001111));
    assert_eq!(r.c.x[2], 99, "Rs restored");
    // Loads of RCpc kind read a read-only page fine.
    assert!(r.exec(0xf8bf_c002)); // ldapr x2, [x0]
    assert_eq!(r.c.x[2], 7);
    // Unmapped: a read would fault too, so the translation fault (level 3) has WnR = 0.
    r.c.x[0] = 0x3000;
    assert!(!r.exec(0xf822_0003));
    assert_eq!(r.esr(), (0x25, 0b000111));
    assert!(!r.exec(0xf822_001f));
    assert_eq!(r.esr(), (0x25, 0b000111), "ST<op> as well");
}

#[test]
fn ldapr_and_unscaled_rcpc() {
    let mut r = Rig::new();
    r.set_mem(DATA, 0x8899_aabb_ccdd_eeff);
    r.set_mem(DATA + 8, 0x0011_2233_8455_8677);
    r.c.x[0] = DATA;
    fn load(r: &mut Rig, raw: u32) -> u64 {
        r.c.x[2] = 0xdead;
        assert!(r.exec(raw), "{raw:#010x}");
        r.c.x[2]
    }
    // ldapr x2 / w2 / ldaprb / ldaprh, [x0].
    assert_eq!(load(&mut r, 0xf8bf_c002), 0x8899_aabb_ccdd_eeff);
    assert_eq!(load(&mut r, 0xb8bf_c002), 0xccdd_eeff);
    assert_eq!(load(&mut r, 0x38bf_c002), 0xff);
    assert_eq!(load(&mut r, 0x78bf_c002), 0xeeff);
    // ldapur w2, [x0, #4]; ldapurb w2, [x0, #1]; ldapurh w2, [x0, #2].
    assert_eq!(load(&mut r, 0x9940_4002), 0x8899_aabb);
    assert_eq!(load(&mut r, 0x1940_1002), 0xee);
    assert_eq!(load(&mut r, 0x5940_2002), 0xccdd);
    // ldapursb x2 / w2, [x0, #1]: 0xee sign-extended to 64 / 32 bits.
    assert_eq!(load(&mut r, 0x1980_1002), 0xffff_ffff_ffff_ffee);
    assert_eq!(load(&mut r, 0x19c0_1002), 0xffff_ffee);
    // ldapursh x2 / w2, [x0]: 0xeeff.
    assert_eq!(load(&mut r, 0x5980_0002), 0xffff_ffff_ffff_eeff);
    assert_eq!(load(&mut r, 0x59c0_0002), 0xffff_eeff);
    // ldapursw x2, [x0, #4]: 0x8899aabb.
    assert_eq!(load(&mut r, 0x9980_4002), 0xffff_ffff_8899_aabb);
    // ldapur x2, [x0, #-8] with x0 = DATA + 16.
    r.c.x[0] = DATA + 16;
    assert_eq!(load(&mut r, 0xd95f_8002), 0x0011_2233_8455_8677);
    // Stores: stlur x2, [x0, #8]; stlur w2, [x0, #-4]; stlurb w2, [x0, #3]; stlurh w2,
    // [x0, #2].
    r.c.x[0] = DATA;
    r.c.x[2] = 0x0102_0304_0506_0708;
    assert!(r.exec(0xd900_8002));
    assert_eq!(r.mem(DATA + 8), 0x0102_0304_0506_0708);
    r.c.x[0] = DATA + 8;
    assert!(r.exec(0x991f_c002));
    assert_eq!(r.mem(DATA), 0x0506_0708_ccdd_eeff);
    r.c.x[0] = DATA;
    assert!(r.exec(0x1900_3002));
    assert!(r.exec(0x5900_2002));
    assert_eq!(r.mem(DATA), 0x0506_0708_0708_eeff);
}

#[test]
fn atomics_on_mmio_and_on_decoded_code() {
    // ldadd x2, x3, [x0] on MMIO (the mock reads 0x5a): one read, one write of the sum.
    let mut r = Rig::new();
    r.c.x[0] = 0x0900_0000;
    r.c.x[2] = 1;
    assert!(r.exec(0xf822_0003));
    assert_eq!(r.c.x[3], 0x5a);
    assert_eq!(r.m.mmio, vec![(0x0900_0000, 8, 0x5b)]);
    // A failing CAS on MMIO does not write.
    r.c.x[2] = 0;
    assert!(r.exec(0xc8a2_7c03));
    assert_eq!(r.c.x[2], 0x5a);
    assert_eq!(r.m.mmio.len(), 1);
    // swp w2, w3, [x0] replacing the next instruction (movz x5, #1 -> movz x5, #2): the
    // store invalidates the decoded block, so the new instruction runs.
    let code = [0xb822_8003u32, 0xd280_0025];
    let (c, _) = super::run(&code, 2, |c, _| {
        c.x[0] = RAM + 4;
        c.x[2] = 0xd280_0045;
    });
    assert_eq!(c.x[3], 0xd280_0025);
    assert_eq!(c.x[5], 2);
}

#[test]
fn id_registers_advertise_lse_and_lrcpc2() {
    // mrs x0, id_aa64isar0_el1 ; mrs x1, id_aa64isar1_el1
    let (c, _) = super::run(&[0xd538_0600, 0xd538_0621], 2, |_, _| {});
    assert_eq!((c.x[0] >> 20) & 0xf, 0b0010, "ID_AA64ISAR0_EL1.Atomic: FEAT_LSE");
    assert_eq!((c.x[0] >> 16) & 0xf, 0b0001, "ID_AA64ISAR0_EL1.CRC32");
    assert_eq!((c.x[1] >> 20) & 0xf, 0b0010, "ID_AA64ISAR1_EL1.LRCPC: FEAT_LRCPC2");
}
