//! FP/AdvSIMD at the CPU level (exec::fp, exec::simd, exec::fpldst): the access traps
//! (CPACR_EL1.FPEN, CPTR_EL2.TFP, CPTR_EL3.TFP, EC 0x07), FPCR/FPSR access, loads and stores
//! of every kind, and a selection of vector operations with hand-computed results. The
//! arithmetic itself is tested in exec::softfp; the whole instruction set was also compared
//! with QEMU on random encodings and operands (see the report of the change).
//! Encodings were produced with `aarch64-linux-gnu-as -march=armv8-a`.

use super::{le_bytes, run, xorshift, Mock, RAM};
use crate::cpu::Arm64Cpu;
use sim_core::GuestPhys;

/// Scratch data (16-byte aligned).
const DATA: u64 = RAM + 0x8000;

/// Runs `code` at EL1 with FP enabled (CPACR_EL1.FPEN = 0b11).
fn exec(code: &[u32], setup: impl FnOnce(&mut Arm64Cpu, &mut Mock)) -> (Arm64Cpu, Mock) {
    exec_n(code, code.len() as u64, setup)
}

/// Runs the first `n` instructions of `code` (the rest is data).
fn exec_n(code: &[u32], n: u64, setup: impl FnOnce(&mut Arm64Cpu, &mut Mock)) -> (Arm64Cpu, Mock) {
    run(code, n, |c, m| {
        c.sys.cpacr_el1 = 3 << 20;
        c.sys.vbar[1] = RAM + 0x10_0000;
        c.sys.vbar[2] = RAM + 0x20_0000;
        c.sys.vbar[3] = RAM + 0x30_0000;
        setup(c, m)
    })
}

fn lanes32(l: [u32; 4]) -> u128 {
    l.iter().enumerate().fold(0, |v, (k, &x)| v | (x as u128) << (32 * k))
}

fn bytes(f: impl Fn(u32) -> u8) -> u128 {
    (0..16).fold(0, |v, k| v | (f(k) as u128) << (8 * k))
}

const FMOV_D0_X1: u32 = 0x9e670020;
const MRS_X6_FPCR: u32 = 0xd53b4406;

#[test]
fn access_traps() {
    let esr07 = 0x07 << 26 | 1 << 25 | 1 << 24 | 0xe << 20;
    // CPACR_EL1.FPEN = 0: EC 0x07 to EL1, ELR at the instruction, no effect.
    let (c, _) = exec(&[FMOV_D0_X1], |c, _| {
        c.sys.cpacr_el1 = 0;
        c.x[1] = 5;
    });
    assert_eq!((c.el, c.sys.esr[1], c.sys.elr[1], c.v[0]), (1, esr07, RAM, 0));
    // FPEN = 0b01 traps EL0 only: EL1 runs, and MRS FPCR is subject to it too.
    let (c, _) = exec(&[FMOV_D0_X1, MRS_X6_FPCR], |c, _| {
        c.sys.cpacr_el1 = 1 << 20;
        c.x[1] = 5;
        c.fpcr = 1 << 25;
    });
    assert_eq!((c.el, c.v[0], c.x[6]), (1, 5, 1 << 25));
    // At EL0, FPEN = 0b01 traps to EL1; with HCR_EL2.TGE the trap goes to EL2 and is
    // reported as Uncategorized (AArch64.AdvSIMDFPAccessTrap).
    let (c, _) = exec(&[FMOV_D0_X1], |c, _| {
        c.sys.cpacr_el1 = 1 << 20;
        c.el = 0;
    });
    assert_eq!((c.el, c.sys.esr[1]), (1, esr07));
    let (c, _) = exec(&[FMOV_D0_X1], |c, _| {
        c.sys.cpacr_el1 = 0;
        c.sys.hcr_el2 = 1 << 27;
        c.el = 0;
    });
    assert_eq!((c.el, c.sys.esr[2]), (2, 1 << 25));
    // CPTR_EL2.TFP (EL2 enabled): to EL2. CPTR_EL3.TFP: to EL3.
    let (c, _) = exec(&[MRS_X6_FPCR], |c, _| c.sys.cptr_el2 |= 1 << 10);
    assert_eq!((c.el, c.sys.esr[2]), (2, esr07));
    let (c, _) = exec(&[FMOV_D0_X1], |c, _| c.sys.cptr_el3 = 1 << 10);
    assert_eq!((c.el, c.sys.esr[3]), (3, esr07));
    // ID_AA64PFR0_EL1 advertises FP = AdvSIMD = 0 (implemented, no FP16).
    let (c, _) = exec(&[0xd5380407], |_, _| {});
    assert_eq!(c.x[7] & 0xff << 16, 0);
}

#[test]
fn scalar_ops_and_fpcr_fpsr() {
    let code = [
        FMOV_D0_X1, // fmov d0, x1
        0x1e612802, // fadd d2, d0, d1
        0x9e660043, // fmov x3, d2
        0xd53b4424, // mrs x4, fpsr
        0xd51b4405, // msr fpcr, x5
        MRS_X6_FPCR,
        0x1e58f028, // fcvtzs w8, d1, #4
        0x1e612000, // fcmp d0, d1
    ];
    let (c, _) = exec(&code, |c, _| {
        c.x[1] = 0x3ff8_0000_0000_0000; // 1.5
        c.v[1] = 0x4002_0000_0000_0000; // 2.25
        c.x[5] = u64::MAX;
    });
    assert_eq!(c.x[3], 0x400e_0000_0000_0000);
    assert_eq!(c.x[4], 0);
    assert_eq!(c.x[6], 0x07f7_0000); // only AHP, DN, FZ, RMode, Stride, Len stick
    assert_eq!(c.fpsr, 0);
    assert_eq!(c.x[8], 0x0000_0024); // 2.25 * 16 = 36
    assert_eq!(c.nzcv, 0x8000_0000); // 1.5 < 2.25

    let (c, _) = exec(&[0x1e211802], |c, _| {
        c.v[0] = 0x3f80_0000;
        c.v[1] = 0x4040_0000 | 0xdead << 64; // upper bits ignored
        c.v[2] = u128::MAX;
    });
    assert_eq!(c.v[2], 0x3eaa_aaab); // scalar writes clear the rest of the register
    assert_eq!(c.fpsr, 0x10);
}

#[test]
fn loads_and_stores() {
    let code = [
        0x4cdfa820, // ld1 {v0.4s, v1.4s}, [x1], #32
        0x0c400024, // ld4 {v4.8b-v7.8b}, [x1]
        0x0dc3e428, // ld3r {v8.4h-v10.4h}, [x1], x3
        0x3dc0042b, // ldr q11, [x1, #16]
        0xfc1f8c4b, // str d11, [x2, #-8]!
        0xad41342c, // ldp q12, q13, [x1, #32]
        0x0d202c40, // st4 {v0.b-v3.b}[3], [x2]
        0x1c00004e, // ldr s14, #8 (the word after the next)
        0xd503201f, // nop
        0x3f80_0000,
    ];
    let (c, m) = exec_n(&code, 9, |c, m| {
        let pat: Vec<u8> = (0..=255u8).collect();
        m.ram.write(GuestPhys(DATA), &pat);
        c.x[1] = DATA;
        c.x[2] = DATA + 0x200;
        c.x[3] = 16;
        c.v[4] = u128::MAX;
        c.v[2] = 0x22 << 24;
        c.v[3] = 0x33 << 24;
    });
    let seq = |from: u32, step: u32| bytes(|k| (from + step * k) as u8);
    assert_eq!(c.v[0], seq(0, 1));
    assert_eq!(c.v[1], seq(16, 1));
    // LD4 .8b from DATA + 32: de-interleaved, upper halves cleared.
    for (r, v) in [4, 5, 6, 7].iter().enumerate() {
        assert_eq!(c.v[*v], seq(32 + r as u32, 4) & u64::MAX as u128, "v{v}");
    }
    // LD3R: three halfwords at DATA + 32 replicated into 4 lanes; then x1 += x3.
    let h = |lo: u32| (lo | (lo + 1) << 8) as u128;
    let rep4 = |x: u128| x | x << 16 | x << 32 | x << 48;
    assert_eq!([c.v[8], c.v[9], c.v[10]], [rep4(h(32)), rep4(h(34)), rep4(h(36))]);
    assert_eq!(c.x[1], DATA + 48);
    assert_eq!(c.v[11], seq(64, 1));
    // STR D pre-indexed wrote the low half of q11 at DATA + 0x1f8 (its first word is
    // overwritten by the ST4 below).
    assert_eq!(m.ram.read_u32(GuestPhys(DATA + 0x1fc)), Some(u32::from_le_bytes([68, 69, 70, 71])));
    assert_eq!(c.x[2], DATA + 0x1f8);
    assert_eq!([c.v[12], c.v[13]], [seq(80, 1), seq(96, 1)]);
    // ST4 single structure: byte 3 of v0..v3.
    assert_eq!(m.ram.read_u32(GuestPhys(DATA + 0x1f8)), Some(u32::from_le_bytes([3, 19, 0x22, 0x33])));
    assert_eq!(c.v[14], 0x3f80_0000);
}

#[test]
fn unaligned_q_access_to_device_memory_faults() {
    // MMU off: Device memory, so a 16-byte access must be 16-byte aligned (B2.5.2).
    let (c, _) = exec(&[0x3dc0042b], |c, _| c.x[1] = DATA + 8); // ldr q11, [x1, #16]
    assert_eq!(c.sys.esr[1] >> 26, 0x25);
    assert_eq!(c.sys.far[1], DATA + 24);
}

#[test]
fn vector_operations() {
    let code = [
        0x4ea28420, // add v0.4s, v1.4s, v2.4s
        0x4e423825, // zip1 v5.8h, v1.8h, v2.8h
        0x4e825826, // uzp2 v6.4s, v1.4s, v2.4s
        0x4fa2a82a, // smull2 v10.2d, v1.4s, v2.s[3]
        0x4e141c2d, // mov v13.s[2], w1
        0x4e183c2e, // umov x14, v1.d[1]
        0x6f05e54f, // movi v15.2d, #0xff00ff00ff00ff00
    ];
    let a = lanes32([1, 0xffff_ffff, 0x8000_0000, 3]);
    let b = lanes32([2, 1, 0xffff_fffb, 0xffff_fffe]);
    let (c, _) = exec(&code, |c, _| {
        c.v[1] = a;
        c.v[2] = b;
        c.x[1] = 0x1234_5678_9abc;
    });
    assert_eq!(c.v[0], lanes32([3, 0, 0x7fff_fffb, 1]));
    assert_eq!(c.v[5], lanes32([0x0002_0001, 0x0000_0000, 0x0001_ffff, 0x0000_ffff]));
    assert_eq!(c.v[6], lanes32([0xffff_ffff, 3, 1, 0xffff_fffe]));
    // (-2^31) * -2 = 2^32 and 3 * -2 = -6.
    assert_eq!(c.v[10], 1u128 << 32 | (-6i64 as u64 as u128) << 64);
    assert_eq!(c.v[13] >> 64 & 0xffff_ffff, 0x5678_9abc);
    assert_eq!(c.x[14], 0x0000_0003_8000_0000);
    assert_eq!(c.v[15], 0xff00_ff00_ff00_ff00_ff00_ff00_ff00_ff00);
}

#[test]
fn saturation_sets_qc_and_lookups() {
    let code = [
        0x4e220c23, // sqadd v3.16b, v1.16b, v2.16b
        0x4e032024, // tbl v4.16b, {v1.16b, v2.16b}, v3.16b
        0x7f0d9c29, // uqrshrn b9, h1, #3
        0x4e71b82b, // addv h11, v1.8h
        0x6e30c82c, // fmaxnmv s12, v1.4s
    ];
    // sqadd: 0x70 + 0x20 saturates to 0x7f; 0x70 + 0x01 = 0x71; 0x70 + 0x80 = 0xf0.
    let (c, _) = exec(&code[..1], |c, _| {
        c.v[1] = bytes(|_| 0x70);
        c.v[2] = 0x80_01_20;
    });
    assert_eq!(
        c.v[3],
        bytes(|k| match k {
            0 => 0x7f,
            1 => 0x71,
            2 => 0xf0,
            _ => 0x70,
        })
    );
    assert_eq!(c.fpsr, 1 << 27);
    // TBL with two table registers: indices >= 32 give 0.
    let (c, _) = exec(&code[1..2], |c, _| {
        c.v[1] = bytes(|k| k as u8);
        c.v[2] = bytes(|k| 16 + k as u8);
        c.v[3] = bytes(|k| (3 * k) as u8);
    });
    assert_eq!(c.v[4], bytes(|k| if 3 * k < 32 { (3 * k) as u8 } else { 0 }));
    // UQRSHRN: (2044 + 4) >> 3 = 256 saturates to 255 (QC); ADDV wraps; FMAXNMV ignores a
    // quiet NaN.
    let (c, _) = exec(&code[2..3], |c, _| c.v[1] = 0x07fc);
    assert_eq!((c.v[9], c.fpsr), (0xff, 1 << 27));
    let (c, _) = exec(&code[3..4], |c, _| {
        c.v[1] = (0..8).fold(0u128, |v, k| v | ([1, 2, 3, 4, 5, 6, 7, 0xffff][k] as u128) << (16 * k))
    });
    assert_eq!(c.v[11], 27);
    let (c, _) =
        exec(&code[4..5], |c, _| c.v[1] = lanes32([0x3f80_0000, 0x7fc0_0001, 0xc040_0000, 0x4000_0000]));
    assert_eq!((c.v[12], c.fpsr), (0x4000_0000, 0));
}

#[test]
fn random_fp_simd_words_never_panic() {
    // Every word in the SIMD&FP data-processing and load/store spaces, with FP enabled and
    // random register contents, ends in an architectural outcome.
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..40 {
        let code: Vec<u32> = (0..512)
            .map(|k| {
                let w = next() as u32;
                if k % 2 == 0 {
                    w | 7 << 25 // data processing (op0 = x111)
                } else {
                    (w & !(1 << 25)) | 1 << 27 | 1 << 26 // loads/stores with V = 1
                }
            })
            .collect();
        let regs: Vec<u128> = (0..32).map(|_| (next() as u128) << 64 | next() as u128).collect();
        let fpcr = next() & 0x07f7_0000;
        let (c, _) = exec_n(&code, 8 * 512, |c, m| {
            // Synchronous exceptions from EL1 skip the instruction: mrs x30, elr_el1;
            // add x30, x30, #4; msr elr_el1, x30; eret.
            let h = le_bytes(&[0xd538403e, 0x910013de, 0xd518403e, 0xd69f03e0]);
            m.ram.write(GuestPhys(RAM + 0x10_0200), &h);
            c.v.copy_from_slice(&regs);
            c.fpcr = fpcr;
            for k in 0..31 {
                c.x[k] = RAM + 0x8000;
            }
        });
        // Every word ran (the handler returns past each one that faulted).
        assert_eq!(c.el, 1);
        assert!(c.pc >= RAM + 4 * 512, "stopped at {:#x}", c.pc);
    }
}
