//! Property tests: chimera's SSE-family and x87 arithmetic against the host CPU.
//!
//! SSE: every legacy-encoded register-form SSE/SSE2/SSE3/SSSE3/SSE4.1/SSE4.2/PCLMULQDQ
//! instruction that iced-x86 knows (minus the implementation-specific RCP/RSQRT
//! approximations) is run natively and in chimera from the same XMM0-XMM3, RAX/RCX/RDX,
//! flags and MXCSR (random rounding, FTZ, DAZ; exceptions masked), with operands drawn from
//! NaNs, infinities, denormals, zeros and boundary values; XMM0-XMM3, the GPRs, MXCSR and the
//! status flags must match bit for bit.
//!
//! x87: FADDP/FSUBP/FMULP/FDIVP/FSQRT/FISTP/FSTP m64 on random extended operands under every
//! rounding and precision control; the 80-bit result and FSW (without the undefined C0/C2/C3)
//! must match.
//!
//! Case counts: `ORACLE_CASES` (default 3000 SSE cases, 1500 x87 cases).
#![cfg(target_arch = "x86_64")]

use cpu_x86::testing::{long_mode_cpu, MockPlatform};
use iced_x86::{Code, CpuidFeature, Encoder, EncodingKind, Instruction, OpCodeOperandKind as K, Register};
use proptest::prelude::*;
use sim_core::GuestPhys;

mod common;
use std::sync::OnceLock;

const STATUS: u64 = 0x8d5;

/// One executable page per test thread.
fn page() -> *mut u8 {
    common::exec_page()
}

fn cases(default: u32) -> u32 {
    std::env::var("ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn host_has(f: CpuidFeature) -> bool {
    // CPUID is available on every x86-64 host (safe since Rust 1.8x).
    let l1 = std::arch::x86_64::__cpuid(1);
    match f {
        CpuidFeature::SSE | CpuidFeature::SSE2 => true,
        CpuidFeature::SSE3 => l1.ecx & 1 != 0,
        CpuidFeature::PCLMULQDQ => l1.ecx & 2 != 0,
        CpuidFeature::SSSE3 => l1.ecx & (1 << 9) != 0,
        CpuidFeature::SSE4_1 => l1.ecx & (1 << 19) != 0,
        CpuidFeature::SSE4_2 => l1.ecx & (1 << 20) != 0,
        CpuidFeature::INTEL386 | CpuidFeature::X64 | CpuidFeature::INTEL8086 => true,
        _ => false,
    }
}

#[derive(Clone, Copy, Debug)]
enum Opnd {
    Xmm,
    Gpr(u32),
    Imm8,
}

/// All testable register-form SSE-family codes with their operand shapes.
fn sse_templates() -> &'static Vec<(Code, Vec<Opnd>)> {
    static T: OnceLock<Vec<(Code, Vec<Opnd>)>> = OnceLock::new();
    T.get_or_init(|| {
        let mut v = Vec::new();
        for code in Code::values() {
            let oc = code.op_code();
            if oc.encoding() != EncodingKind::Legacy || code.mnemonic() == iced_x86::Mnemonic::INVALID {
                continue;
            }
            let feats = code.cpuid_features();
            let sse = feats.iter().any(|f| {
                matches!(
                    f,
                    CpuidFeature::SSE
                        | CpuidFeature::SSE2
                        | CpuidFeature::SSE3
                        | CpuidFeature::SSSE3
                        | CpuidFeature::SSE4_1
                        | CpuidFeature::SSE4_2
                        | CpuidFeature::PCLMULQDQ
                )
            });
            if !sse || !feats.iter().all(|&f| host_has(f)) {
                continue;
            }
            let name = format!("{:?}", code.mnemonic());
            if name.starts_with("Rcp") || name.starts_with("Rsqrt") || !oc.mode64() {
                continue;
            }
            let mut ops = Vec::new();
            let mut ok = true;
            for n in 0..oc.op_count() {
                ops.push(match oc.op_kind(n) {
                    K::xmm_reg | K::xmm_rm | K::xmm_or_mem => Opnd::Xmm,
                    K::r8_or_mem => Opnd::Gpr(1),
                    K::r16_or_mem => Opnd::Gpr(2),
                    K::r32_or_mem | K::r32_reg | K::r32_rm | K::r32_reg_mem => Opnd::Gpr(4),
                    K::r64_or_mem | K::r64_reg | K::r64_rm | K::r64_reg_mem => Opnd::Gpr(8),
                    K::imm8 => Opnd::Imm8,
                    _ => {
                        ok = false;
                        Opnd::Imm8
                    }
                });
            }
            if ok && !ops.is_empty() && encode(code, &ops, &[0, 1, 2], 0).is_some() {
                v.push((code, ops));
            }
        }
        v
    })
}

fn encode(code: Code, ops: &[Opnd], pick: &[usize], imm: u8) -> Option<Vec<u8>> {
    let xmm = [Register::XMM0, Register::XMM1, Register::XMM2, Register::XMM3];
    let gpr = |size: u32, k: usize| -> Register {
        let k = k % 3;
        match size {
            1 => [Register::AL, Register::CL, Register::DL][k],
            2 => [Register::AX, Register::CX, Register::DX][k],
            4 => [Register::EAX, Register::ECX, Register::EDX][k],
            _ => [Register::RAX, Register::RCX, Register::RDX][k],
        }
    };
    let mut regs = Vec::new();
    let mut has_imm = false;
    for (n, o) in ops.iter().enumerate() {
        match o {
            Opnd::Xmm => regs.push(xmm[pick[n % pick.len()] % 4]),
            Opnd::Gpr(s) => regs.push(gpr(*s, pick[n % pick.len()])),
            Opnd::Imm8 => has_imm = true,
        }
    }
    let i = match (regs.len(), has_imm) {
        (1, false) => Instruction::with1(code, regs[0]),
        (2, false) => Instruction::with2(code, regs[0], regs[1]),
        (1, true) => Instruction::with2(code, regs[0], imm as u32),
        (2, true) => Instruction::with3(code, regs[0], regs[1], imm as u32),
        (3, false) => Instruction::with3(code, regs[0], regs[1], regs[2]),
        _ => return None,
    }
    .ok()?;
    let mut e = Encoder::new(64);
    e.encode(&i, 0x1000).ok()?;
    Some(e.take_buffer())
}

fn f32_special() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        prop::sample::select(vec![
            0u32,
            0x8000_0000,
            0x3f80_0000,
            0xbf80_0000,
            0x7f80_0000,
            0xff80_0000,
            0x7fc0_0000,
            0xffc1_2345,
            0x7f80_0001,
            0xff81_2345,
            0x0000_0001,
            0x807f_ffff,
            0x0080_0000,
            0x7f7f_ffff,
            0x4f00_0000,
            0xcf00_0000,
            0x4020_0000,
            0xc020_0000,
            0x3f00_0000,
            0x3fc0_0000,
            0x5f00_0000,
            0xdf00_0000,
            0x3f7f_ffff,
            0x0080_0001,
        ]),
        (
            any::<bool>(),
            prop::sample::select(vec![0u32, 1, 2, 100, 125, 126, 127, 128, 150, 157, 158, 190, 253, 254]),
            any::<u32>()
        )
            .prop_map(|(s, e, m)| ((s as u32) << 31) | (e << 23) | (m & 0x7f_ffff)),
    ]
}

fn f64_special() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        prop::sample::select(vec![
            0u64,
            0x8000_0000_0000_0000,
            0x3ff0_0000_0000_0000,
            0xbff0_0000_0000_0000,
            0x7ff0_0000_0000_0000,
            0xfff0_0000_0000_0000,
            0x7ff8_0000_0000_0000,
            0xfff8_0000_1234_5678,
            0x7ff0_0000_0000_0001,
            0xfff4_0000_0000_0000,
            1,
            0x800f_ffff_ffff_ffff,
            0x0010_0000_0000_0000,
            0x7fef_ffff_ffff_ffff,
            0x41e0_0000_0000_0000,
            0xc1e0_0000_0000_0000,
            0x43e0_0000_0000_0000,
            0xc3e0_0000_0000_0000,
            0x4004_0000_0000_0000,
            0xc004_0000_0000_0000,
            0x3fe0_0000_0000_0000,
            0x41df_ffff_ffc0_0000,
        ]),
        (
            any::<bool>(),
            prop::sample::select(vec![
                0u64, 1, 2, 500, 1021, 1022, 1023, 1024, 1052, 1053, 1054, 1085, 1086, 1087, 2045, 2046
            ]),
            any::<u64>()
        )
            .prop_map(|(s, e, m)| ((s as u64) << 63) | (e << 52) | (m & 0xf_ffff_ffff_ffff)),
    ]
}

fn xmm_value() -> impl Strategy<Value = u128> {
    prop_oneof![
        any::<u128>(),
        prop::array::uniform4(f32_special())
            .prop_map(|a| a.iter().enumerate().fold(0u128, |r, (k, &x)| r | (x as u128) << (32 * k))),
        prop::array::uniform2(f64_special()).prop_map(|a| a[0] as u128 | (a[1] as u128) << 64),
        // Short strings with zero terminators for PCMPxSTRx, small integers for shifts.
        prop::array::uniform16(prop_oneof![Just(0u8), 0x41u8..0x45, any::<u8>()])
            .prop_map(u128::from_le_bytes),
        (0u128..300),
    ]
}

fn gpr_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (-20i64..20).prop_map(|x| x as u64),
        prop::sample::select(vec![
            i64::MIN as u64,
            i64::MAX as u64,
            i32::MIN as i64 as u64,
            0x8000_0000,
            0x7fff_ffff
        ]),
        f64_special(),
    ]
}

#[derive(Debug, Clone)]
struct SseCase {
    k: usize,
    pick: Vec<usize>,
    imm: u8,
    xmm: [u128; 4],
    gpr: [u64; 3],
    mxcsr: u32,
    flags: u64,
}

fn sse_case() -> impl Strategy<Value = SseCase> {
    let n = sse_templates().len();
    (
        0..n,
        prop::collection::vec(0usize..4, 3),
        any::<u8>(),
        prop::array::uniform4(xmm_value()),
        prop::array::uniform3(gpr_value()),
        (0u32..4, any::<bool>(), any::<bool>()),
        any::<u16>(),
    )
        .prop_map(|(k, pick, imm, xmm, gpr, (rc, ftz, daz), f)| SseCase {
            k,
            pick,
            imm,
            xmm,
            gpr,
            mxcsr: 0x1f80 | rc << 13 | (ftz as u32) << 15 | (daz as u32) << 6,
            flags: f as u64 & STATUS,
        })
}

/// Runs `code` natively: returns (xmm0-3, gprs, mxcsr, flags).
fn run_native_sse(code: &[u8], c: &SseCase) -> ([u128; 4], [u64; 3], u32, u64) {
    let mut buf = [0u8; 80];
    for k in 0..4 {
        buf[16 * k..16 * k + 16].copy_from_slice(&c.xmm[k].to_le_bytes());
    }
    buf[64..68].copy_from_slice(&c.mxcsr.to_le_bytes());
    buf[72..76].copy_from_slice(&0x1f80u32.to_le_bytes());
    let (mut rax, mut rcx, mut rdx) = (c.gpr[0], c.gpr[1], c.gpr[2]);
    let mut fl = c.flags | 0x202;
    let pg = page();
    // SAFETY: the page is ours and RWX; the code is one register-only instruction followed by
    // RET; it touches only XMM0-3, RAX/RCX/RDX, flags and MXCSR, all declared below, and the
    // buffer is 80 bytes as addressed.
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), pg, code.len());
        *pg.add(code.len()) = 0xc3;
        std::arch::asm!(
            "ldmxcsr [{st} + 64]",
            "movdqu xmm0, [{st}]",
            "movdqu xmm1, [{st} + 16]",
            "movdqu xmm2, [{st} + 32]",
            "movdqu xmm3, [{st} + 48]",
            "push {fl}",
            "popfq",
            "call {f}",
            "pushfq",
            "pop {fl}",
            "movdqu [{st}], xmm0",
            "movdqu [{st} + 16], xmm1",
            "movdqu [{st} + 32], xmm2",
            "movdqu [{st} + 48], xmm3",
            "stmxcsr [{st} + 68]",
            "ldmxcsr [{st} + 72]",
            st = in(reg) buf.as_mut_ptr(),
            f = in(reg) pg,
            fl = inout(reg) fl,
            inout("rax") rax,
            inout("rcx") rcx,
            inout("rdx") rdx,
            out("xmm0") _,
            out("xmm1") _,
            out("xmm2") _,
            out("xmm3") _,
        );
    }
    let mut x = [0u128; 4];
    for (k, v) in x.iter_mut().enumerate() {
        let mut b = [0u8; 16];
        b.copy_from_slice(&buf[16 * k..16 * k + 16]);
        *v = u128::from_le_bytes(b);
    }
    let mx = u32::from_le_bytes([buf[68], buf[69], buf[70], buf[71]]);
    (x, [rax, rcx, rdx], mx, fl)
}

fn sse_cpu(code: &[u8]) -> (cpu_x86::X86Cpu, MockPlatform) {
    let mut p = MockPlatform::new(4 << 20);
    p.ram.write(GuestPhys(0x1000), code);
    let mut cpu = long_mode_cpu(&mut p, 0x1000);
    cpu.cr4 |= (1 << 9) | (1 << 10);
    (cpu, p)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(3000), .. ProptestConfig::default() })]
    #[test]
    fn sse_matches_host(c in sse_case()) {
        let (code, ops) = &sse_templates()[c.k];
        let Some(bytes) = encode(*code, ops, &c.pick, c.imm) else { return Ok(()); };
        let (nx, ng, nmx, nfl) = run_native_sse(&bytes, &c);
        let (mut cpu, mut p) = sse_cpu(&bytes);
        cpu.fpu.xmm[..4].copy_from_slice(&c.xmm);
        cpu.regs[0] = c.gpr[0];
        cpu.regs[1] = c.gpr[1];
        cpu.regs[2] = c.gpr[2];
        cpu.fpu.mxcsr = c.mxcsr;
        cpu.rflags = c.flags | 2;
        cpu.step(&mut p);
        prop_assert_eq!(cpu.rip, 0x1000 + bytes.len() as u64, "{:?} did not retire: {:02x?}", code, bytes);
        for (k, want) in nx.iter().enumerate().take(4) {
            prop_assert_eq!(cpu.fpu.xmm[k], *want, "{:?} xmm{} {:02x?}", code, k, bytes);
        }
        prop_assert_eq!(&cpu.regs[..3], &ng[..], "{:?} gprs {:02x?}", code, bytes);
        prop_assert_eq!(cpu.fpu.mxcsr, nmx, "{:?} mxcsr {:02x?}", code, bytes);
        prop_assert_eq!(cpu.rflags & STATUS, nfl & STATUS, "{:?} flags {:02x?}", code, bytes);
    }
}

// ------------------------------------------------------------------------------------ x87

/// x87 operations: (name, op bytes, store after, condition codes defined). The harness
/// loads a = ST1, b = ST0 first; stores: 0 = FSTP m80, 1 = FISTP m64, 2 = FSTP m64,
/// 3 = FSTP m32, 4 = none.
const X87_OPS: &[(&str, &[u8], u8, bool)] = &[
    ("faddp", &[0xde, 0xc1], 0, false),
    ("fsubp", &[0xde, 0xe9], 0, false),
    ("fsubrp", &[0xde, 0xe1], 0, false),
    ("fmulp", &[0xde, 0xc9], 0, false),
    ("fdivp", &[0xde, 0xf9], 0, false),
    ("fdivrp", &[0xde, 0xf1], 0, false),
    ("fsqrt", &[0xd9, 0xfa], 0, false),
    ("frndint", &[0xd9, 0xfc], 0, false),
    ("fscale", &[0xd9, 0xfd], 0, false),
    ("fxtract", &[0xd9, 0xf4], 0, false),
    ("fprem1", &[0xd9, 0xf5], 0, true),
    ("fprem", &[0xd9, 0xf8], 0, true),
    ("fistp", &[], 1, false),
    ("fisttp", &[0xdd, 0x4f, 0x30], 4, false),
    ("fstp m64", &[], 2, false),
    ("fstp m32", &[], 3, false),
    ("fcompp", &[0xde, 0xd9], 4, true),
    ("fucompp", &[0xda, 0xe9], 4, true),
    ("fxam", &[0xd9, 0xe5], 4, true),
];

fn x87_code(k: usize) -> Vec<u8> {
    let mut v = vec![0xdb, 0xe3, 0xd9, 0x2f, 0xdb, 0x6f, 0x10, 0xdb, 0x6f, 0x20];
    let (_, op, store, _) = X87_OPS[k];
    v.extend_from_slice(op);
    match store {
        0 => v.extend_from_slice(&[0xdb, 0x7f, 0x30]), // fstp tword [rdi+48]
        1 => v.extend_from_slice(&[0xdf, 0x7f, 0x30]), // fistp qword [rdi+48]
        2 => v.extend_from_slice(&[0xdd, 0x5f, 0x30]), // fstp qword [rdi+48]
        3 => v.extend_from_slice(&[0xd9, 0x5f, 0x30]), // fstp dword [rdi+48]
        _ => {}
    }
    v.extend_from_slice(&[0xdd, 0x7f, 0x40, 0xdb, 0xe3]); // fnstsw [rdi+64]; fninit
    v
}

fn f80_value() -> impl Strategy<Value = u128> {
    let exp = prop_oneof![
        any::<u16>().prop_map(|e| e & 0x7fff),
        prop::sample::select(vec![
            0u16, 1, 2, 0x3ffe, 0x3fff, 0x4000, 0x403e, 0x403f, 0x7ffe, 0x7fff, 0x3f80, 0x43fe
        ]),
    ];
    (any::<bool>(), exp, any::<u64>(), 0u8..4).prop_map(|(s, e, m, shape)| {
        let sig = match shape {
            0 => m,
            1 => m & 0xffff_ff00_0000_0000,
            2 => m & 0xffff_ffff_ffff_f800,
            _ => m & 0xff00_0000_0000_00ff,
        };
        // Only supported encodings: the integer bit is set iff the exponent is nonzero.
        let sig = if e == 0 { sig & !(1 << 63) } else { sig | (1 << 63) };
        ((s as u128) << 79) | ((e as u128) << 64) | sig as u128
    })
}

fn run_native_x87(code: &[u8], data: &mut [u8; 80]) {
    let pg = page();
    // SAFETY: the page is ours and RWX; the code only accesses `data` through RDI (offsets
    // below 80), leaves the x87 stack empty (FNINIT) and returns.
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), pg, code.len());
        *pg.add(code.len()) = 0xc3;
        std::arch::asm!("call {f}", f = in(reg) pg, in("rdi") data.as_mut_ptr(), clobber_abi("C"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1500), .. ProptestConfig::default() })]
    #[test]
    fn x87_matches_host(k in 0..X87_OPS.len(), a in f80_value(), b in f80_value(), rc in 0u16..4, pc in prop::sample::select(vec![0u16, 2, 3])) {
        let code = x87_code(k);
        let cw = 0x7f | pc << 8 | rc << 10;
        let mut data = [0u8; 80];
        data[..2].copy_from_slice(&cw.to_le_bytes());
        data[16..26].copy_from_slice(&a.to_le_bytes()[..10]);
        data[32..42].copy_from_slice(&b.to_le_bytes()[..10]);
        let mut native = data;
        run_native_x87(&code, &mut native);
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &code);
        p.ram.write(GuestPhys(0x2000), &data);
        let mut cpu = long_mode_cpu(&mut p, 0x1000);
        cpu.regs[7] = 0x2000;
        let n = iced_x86::Decoder::with_ip(64, &code, 0x1000, 0).into_iter().count();
        for _ in 0..n {
            cpu.step(&mut p);
        }
        prop_assert_eq!(cpu.rip, 0x1000 + code.len() as u64);
        let mine = p.ram.slice(GuestPhys(0x2000), 80).expect("ram").to_vec();
        let name = X87_OPS[k].0;
        prop_assert_eq!(&mine[48..58], &native[48..58], "{} result a={:#x} b={:#x} cw={:#x}", name, a, b, cw);
        let cc_mask = if X87_OPS[k].3 { 0 } else { 0x4500 };
        let sw = |d: &[u8]| u16::from_le_bytes([d[64], d[65]]) & !cc_mask;
        prop_assert_eq!(sw(&mine), sw(&native), "{} fsw a={:#x} b={:#x} cw={:#x}", name, a, b, cw);
    }
}

#[test]
fn sse_template_coverage() {
    let t = sse_templates();
    let names: std::collections::BTreeSet<String> =
        t.iter().map(|(c, _)| format!("{:?}", c.mnemonic())).collect();
    eprintln!("{} codes, {} mnemonics: {:?}", t.len(), names.len(), names);
    for m in [
        "Addps",
        "Cvtsd2si",
        "Pshufb",
        "Pcmpestri",
        "Pcmpistrm",
        "Dpps",
        "Roundsd",
        "Crc32",
        "Ptest",
        "Blendvps",
    ] {
        assert!(names.contains(m), "{m} not covered");
    }
}
