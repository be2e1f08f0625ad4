//! Property tests: chimera against the host CPU itself for unprivileged integer
//! instructions. Each case encodes one register-form instruction with iced-x86, runs it
//! natively (x86-64 hosts only) and in chimera from the same registers and flags, and compares
//! every register and the architecturally defined flags.
//!
//! Undefined-flag policy: flags the SDM calls undefined for an instruction are masked out of
//! the comparison (`undefined` below), and the policy chimera follows for them is documented
//! in `exec/flags.rs`, `exec/shift.rs` and `exec/bits.rs`.
#![cfg(target_arch = "x86_64")]

mod common;

use cpu_x86::testing::{long_mode_cpu, MockPlatform};
use iced_x86::{Code, Encoder, Instruction, Register};
use proptest::prelude::*;
use sim_core::GuestPhys;

const CF: u64 = 1;
const PF: u64 = 4;
const AF: u64 = 0x10;
const ZF: u64 = 0x40;
const SF: u64 = 0x80;
const OF: u64 = 0x800;
const STATUS: u64 = CF | PF | AF | ZF | SF | OF;

/// Registers the harness can pass to the native code (rbx/rbp/rsp are reserved by Rust's asm).
const REGS: [Register; 8] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
];
const IDX: [usize; 8] = [0, 1, 2, 6, 7, 8, 9, 10];

struct Exec {
    page: *mut u8,
}

impl Exec {
    fn new() -> Self {
        Self { page: common::exec_page() }
    }

    /// Runs `code` (one instruction) natively with `regs`/`flags` as inputs.
    fn run(&self, code: &[u8], regs: &mut [u64; 8], flags: &mut u64) {
        assert!(code.len() < 64);
        // SAFETY: the page is ours, writable and executable; the code is one register-only
        // instruction followed by RET, so it touches nothing but the bound registers.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), self.page, code.len());
            *self.page.add(code.len()) = 0xc3;
            let f = self.page;
            let mut fl = *flags;
            std::arch::asm!(
                "push r13",
                "popfq",
                "call r12",
                "pushfq",
                "pop r13",
                in("r12") f,
                inout("r13") fl,
                inout("rax") regs[0],
                inout("rcx") regs[1],
                inout("rdx") regs[2],
                inout("rsi") regs[3],
                inout("rdi") regs[4],
                inout("r8") regs[5],
                inout("r9") regs[6],
                inout("r10") regs[7],
                out("r11") _,
            );
            *flags = fl;
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    code: Code,
    ops: Vec<usize>,
    imm: u64,
    regs: [u64; 8],
    flags: u64,
}

/// (code, number of register operands, has immediate, undefined flags)
fn templates() -> Vec<(Code, usize, bool, u64)> {
    use Code::*;
    vec![
        (Add_r64_rm64, 2, false, 0),
        (Add_r32_rm32, 2, false, 0),
        (Add_r16_rm16, 2, false, 0),
        (Add_r8_rm8, 2, false, 0),
        (Adc_r64_rm64, 2, false, 0),
        (Adc_r32_rm32, 2, false, 0),
        (Sbb_r64_rm64, 2, false, 0),
        (Sbb_r16_rm16, 2, false, 0),
        (Sub_r64_rm64, 2, false, 0),
        (Sub_r8_rm8, 2, false, 0),
        (Cmp_r32_rm32, 2, false, 0),
        (And_r64_rm64, 2, false, AF),
        (Or_r32_rm32, 2, false, AF),
        (Xor_r16_rm16, 2, false, AF),
        (Test_rm64_r64, 2, false, AF),
        (Add_rm64_imm32, 1, true, 0),
        (Sub_rm32_imm8, 1, true, 0),
        (Inc_rm64, 1, false, 0),
        (Dec_rm16, 1, false, 0),
        (Neg_rm32, 1, false, 0),
        (Not_rm64, 1, false, 0),
        (Imul_r64_rm64, 2, false, SF | ZF | AF | PF),
        (Imul_r32_rm32_imm32, 2, true, SF | ZF | AF | PF),
        (Imul_r16_rm16, 2, false, SF | ZF | AF | PF),
        (Shl_rm64_imm8, 1, true, AF),
        (Shr_rm32_imm8, 1, true, AF),
        (Sar_rm16_imm8, 1, true, AF),
        (Rol_rm64_imm8, 1, true, 0),
        (Ror_rm32_imm8, 1, true, 0),
        (Rcl_rm64_imm8, 1, true, 0),
        (Rcr_rm16_imm8, 1, true, 0),
        (Shl_rm64_CL, 1, false, AF),
        (Shr_rm8_CL, 1, false, AF),
        (Shld_rm64_r64_imm8, 2, true, AF),
        (Shrd_rm32_r32_imm8, 2, true, AF),
        (Bt_rm64_r64, 2, false, OF | SF | AF | PF),
        (Bts_rm32_imm8, 1, true, OF | SF | AF | PF),
        (Btc_rm64_r64, 2, false, OF | SF | AF | PF),
        (Bsf_r64_rm64, 2, false, CF | OF | SF | AF | PF),
        (Bsr_r32_rm32, 2, false, CF | OF | SF | AF | PF),
        (Bswap_r64, 1, false, 0),
        (Bswap_r32, 1, false, 0),
        (Movsx_r64_rm8, 2, false, 0),
        (Movzx_r32_rm16, 2, false, 0),
        (Movsxd_r64_rm32, 2, false, 0),
        (Cmove_r64_rm64, 2, false, 0),
        (Cmovl_r32_rm32, 2, false, 0),
        (Cmova_r16_rm16, 2, false, 0),
        (Setg_rm8, 1, false, 0),
        (Setbe_rm8, 1, false, 0),
        (Xchg_rm64_r64, 2, false, 0),
        (Xadd_rm32_r32, 2, false, 0),
        (Cmpxchg_rm64_r64, 2, false, 0),
        (Lea_r64_m, 0, false, 0),
        (Cqo, 0, false, 0),
        (Cdqe, 0, false, 0),
        (Cwd, 0, false, 0),
        (Lahf, 0, false, 0),
        (Sahf, 0, false, 0),
        (Cmc, 0, false, 0),
    ]
}

/// Host-CPU features needed by the BMI/ADX/POPCNT cases, checked at run time.
fn host_has(leaf7_ebx_bit: u32) -> bool {
    // CPUID is available on every x86-64 host (safe since Rust 1.8x).
    let r = std::arch::x86_64::__cpuid_count(7, 0);
    r.ebx & (1 << leaf7_ebx_bit) != 0
}

fn extra_templates() -> Vec<(Code, usize, bool, u64)> {
    use Code::*;
    let mut v = vec![(Popcnt_r64_rm64, 2, false, 0)];
    if host_has(3) {
        v.push((VEX_Andn_r64_r64_rm64, 3, false, AF | PF));
        v.push((VEX_Blsr_r64_rm64, 2, false, AF | PF));
        v.push((VEX_Blsi_r32_rm32, 2, false, AF | PF));
        v.push((Tzcnt_r64_rm64, 2, false, OF | SF | AF | PF));
        v.push((Lzcnt_r32_rm32, 2, false, OF | SF | AF | PF));
        v.push((VEX_Bextr_r64_rm64_r64, 3, false, AF | PF | SF));
    }
    if host_has(8) {
        v.push((VEX_Bzhi_r64_rm64_r64, 3, false, AF | PF));
        v.push((VEX_Pdep_r64_r64_rm64, 3, false, 0));
        v.push((VEX_Pext_r32_r32_rm32, 3, false, 0));
        v.push((VEX_Shlx_r64_rm64_r64, 3, false, 0));
        v.push((VEX_Sarx_r32_rm32_r32, 3, false, 0));
        v.push((VEX_Rorx_r64_rm64_imm8, 2, true, 0));
        v.push((VEX_Mulx_r64_r64_rm64, 3, false, 0));
    }
    if host_has(19) {
        v.push((Adcx_r64_rm64, 2, false, 0));
        v.push((Adox_r32_rm32, 2, false, 0));
    }
    v
}

fn encode(c: &Case) -> (Vec<u8>, u64) {
    let all: Vec<_> = templates().into_iter().chain(extra_templates()).collect();
    let (_, _, _, undef) = all.iter().find(|t| t.0 == c.code).copied().unwrap_or((c.code, 0, false, 0));
    let reg_of = |n: usize, size: usize| -> Register {
        let full = REGS[c.ops[n]];
        let idx = IDX[c.ops[n]];
        match size {
            8 => full,
            4 => [
                Register::EAX,
                Register::ECX,
                Register::EDX,
                Register::EBX,
                Register::ESP,
                Register::EBP,
                Register::ESI,
                Register::EDI,
                Register::R8D,
                Register::R9D,
                Register::R10D,
            ][idx],
            2 => [
                Register::AX,
                Register::CX,
                Register::DX,
                Register::BX,
                Register::SP,
                Register::BP,
                Register::SI,
                Register::DI,
                Register::R8W,
                Register::R9W,
                Register::R10W,
            ][idx],
            // Byte forms avoid AH..BH: use AL, CL, DL, SIL, DIL, R8L..R10L.
            _ => [
                Register::AL,
                Register::CL,
                Register::DL,
                Register::BL,
                Register::SPL,
                Register::BPL,
                Register::SIL,
                Register::DIL,
                Register::R8L,
                Register::R9L,
                Register::R10L,
            ][idx],
        }
    };
    let name = format!("{:?}", c.code);
    let size = if name.contains("64") {
        8
    } else if name.contains("32") {
        4
    } else if name.contains("16") {
        2
    } else {
        1
    };
    let code = c.code;
    let i = match code {
        Code::Lea_r64_m => Instruction::with2(
            code,
            reg_of(0, 8),
            iced_x86::MemoryOperand::with_base_index_scale_displ_size(
                REGS[c.ops[1]],
                REGS[c.ops[2]],
                4,
                c.imm as i32 as i64,
                1,
            ),
        ),
        Code::Cqo | Code::Cdqe | Code::Cwd | Code::Lahf | Code::Sahf | Code::Cmc => {
            Ok(Instruction::with(code))
        }
        Code::Setg_rm8 | Code::Setbe_rm8 | Code::Inc_rm64 | Code::Not_rm64 | Code::Bswap_r64 => {
            Instruction::with1(code, reg_of(0, if name.contains("rm8") { 1 } else { 8 }))
        }
        Code::Dec_rm16 => Instruction::with1(code, reg_of(0, 2)),
        Code::Neg_rm32 | Code::Bswap_r32 => Instruction::with1(code, reg_of(0, 4)),
        Code::Shl_rm64_CL => Instruction::with2(code, reg_of(0, 8), Register::CL),
        Code::Shr_rm8_CL => Instruction::with2(code, reg_of(0, 1), Register::CL),
        Code::Movsx_r64_rm8 => Instruction::with2(code, reg_of(0, 8), reg_of(1, 1)),
        Code::Movzx_r32_rm16 => Instruction::with2(code, reg_of(0, 4), reg_of(1, 2)),
        Code::Movsxd_r64_rm32 => Instruction::with2(code, reg_of(0, 8), reg_of(1, 4)),
        Code::Imul_r32_rm32_imm32 => Instruction::with3(code, reg_of(0, 4), reg_of(1, 4), c.imm as u32),
        Code::Shld_rm64_r64_imm8 | Code::Shrd_rm32_r32_imm8 => {
            Instruction::with3(code, reg_of(0, size), reg_of(1, size), (c.imm & 0xff) as u32)
        }
        Code::VEX_Rorx_r64_rm64_imm8 => {
            Instruction::with3(code, reg_of(0, 8), reg_of(1, 8), (c.imm & 0xff) as u32)
        }
        Code::VEX_Andn_r64_r64_rm64
        | Code::VEX_Bextr_r64_rm64_r64
        | Code::VEX_Bzhi_r64_rm64_r64
        | Code::VEX_Pdep_r64_r64_rm64
        | Code::VEX_Shlx_r64_rm64_r64
        | Code::VEX_Mulx_r64_r64_rm64 => Instruction::with3(code, reg_of(0, 8), reg_of(1, 8), reg_of(2, 8)),
        Code::VEX_Pext_r32_r32_rm32 | Code::VEX_Sarx_r32_rm32_r32 => {
            Instruction::with3(code, reg_of(0, 4), reg_of(1, 4), reg_of(2, 4))
        }
        _ if name.contains("imm8") && !name.starts_with("Sub") => {
            Instruction::with2(code, reg_of(0, size), (c.imm & 0xff) as u32)
        }
        _ if name.contains("imm") => {
            if name.contains("64") {
                Instruction::with2(code, reg_of(0, size), c.imm as i32)
            } else {
                Instruction::with2(code, reg_of(0, size), c.imm as i8 as i32)
            }
        }
        _ if name.contains("rm8") => Instruction::with2(code, reg_of(0, size), reg_of(1, size)),
        _ => Instruction::with2(code, reg_of(0, size), reg_of(1, size)),
    }
    .expect("instruction");
    let mut e = Encoder::new(64);
    e.encode(&i, 0x1000).expect("encodes");
    (e.take_buffer(), undef)
}

fn case() -> impl Strategy<Value = Case> {
    let all: Vec<_> = templates().into_iter().chain(extra_templates()).map(|t| t.0).collect();
    let n = all.len();
    (
        0..n,
        prop::collection::vec(0usize..8, 3),
        any::<u64>(),
        prop::array::uniform8(prop_oneof![
            any::<u64>(),
            0u64..70,
            Just(0u64),
            Just(u64::MAX),
            Just(0x8000_0000_0000_0000u64),
            Just(0x7fff_ffff)
        ]),
        any::<u16>(),
    )
        .prop_map(move |(k, ops, imm, regs, f)| Case {
            code: all[k],
            ops,
            imm,
            regs,
            flags: (f as u64) & STATUS,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5000), .. ProptestConfig::default() })]
    #[test]
    fn matches_host(c in case()) {
        let (bytes, undef) = encode(&c);
        // Native.
        let exec = Exec::new();
        let mut nregs = c.regs;
        let mut nflags = c.flags | 2;
        exec.run(&bytes, &mut nregs, &mut nflags);
        // chimera.
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &bytes);
        let mut cpu = long_mode_cpu(&mut p, 0x1000);
        for (k, &r) in IDX.iter().enumerate() {
            cpu.regs[r] = c.regs[k];
        }
        cpu.rflags = c.flags | 2;
        cpu.step(&mut p);
        prop_assert_eq!(cpu.rip, 0x1000 + bytes.len() as u64, "did not retire: {:?}", bytes);
        for (k, &r) in IDX.iter().enumerate() {
            prop_assert_eq!(cpu.regs[r], nregs[k], "{:?} reg {} bytes {:02x?}", c.code, k, bytes);
        }
        // Shifts by more than one leave OF undefined; rotates by zero/multiples keep flags.
        let mut mask = STATUS & !undef;
        let name = format!("{:?}", c.code);
        if (name.starts_with("Sh") || name.starts_with("Sa") || name.starts_with("Ro") || name.starts_with("Rc")) && !name.contains("x") {
            let cnt = if name.contains("CL") { c.regs[1] & 0x3f } else { c.imm & 0xff };
            if cnt != 1 {
                mask &= !OF;
            }
        }
        prop_assert_eq!(cpu.rflags & mask, nflags & mask, "{:?} flags bytes {:02x?}", c.code, bytes);
    }
}

/// A flag-setting instruction (specialized handlers), an optional ROL/ROR, then a Jcc over
/// `inc rcx`: executed natively and by chimera's block path, where flags stay lazy across
/// the instructions and the Jcc evaluates them lazily.
fn setter(kind: u8, a: Register, b: Register, imm: u32) -> Instruction {
    use Code::*;
    let r = match kind % 12 {
        0 => Instruction::with2(Add_r64_rm64, a, b),
        1 => Instruction::with2(Sub_r64_rm64, a, b),
        2 => Instruction::with2(Cmp_r64_rm64, a, b),
        3 => Instruction::with2(Xor_r32_rm32, reg32(a), reg32(b)),
        4 => Instruction::with2(And_rm64_imm32, a, imm as i32),
        5 => Instruction::with2(Cmp_rm32_imm32, reg32(a), imm),
        6 => Instruction::with1(Inc_rm64, a),
        7 => Instruction::with1(Dec_rm32, reg32(a)),
        // Count 1: OF is defined only then, and the Jcc may read it.
        8 => Instruction::with2(Shl_rm64_imm8, a, 1),
        9 => Instruction::with2(Sar_rm32_imm8, reg32(a), 1),
        10 => Instruction::with2(Test_rm64_r64, a, b),
        _ => Instruction::with2(Sub_rm32_imm8, reg32(a), (imm as i8) as i32),
    };
    r.expect("setter")
}

fn reg32(r: Register) -> Register {
    match r {
        Register::RAX => Register::EAX,
        Register::RDX => Register::EDX,
        Register::RSI => Register::ESI,
        Register::RDI => Register::EDI,
        Register::R8 => Register::R8D,
        Register::R9 => Register::R9D,
        _ => Register::R10D,
    }
}

fn sequence(k1: u8, k2: u8, rot: u8, cc: u8, ops: &[usize], imm: u32, end: u8) -> Vec<u8> {
    const OPS: [Register; 7] = [
        Register::RAX,
        Register::RDX,
        Register::RSI,
        Register::RDI,
        Register::R8,
        Register::R9,
        Register::R10,
    ];
    let a = OPS[ops[0] % 7];
    let b = OPS[ops[1] % 7];
    let mut e = Encoder::new(64);
    let mut bytes = Vec::new();
    let mut emit = |i: Instruction| {
        e.encode(&i, 0).expect("encodes");
        bytes.extend(e.take_buffer());
    };
    emit(setter(k1, a, b, imm));
    if k2.is_multiple_of(3) {
        emit(setter(k2 / 3, b, a, imm.rotate_left(7)));
    }
    // Rotates by one (OF is undefined for other counts and the Jcc may read it).
    match rot % 3 {
        0 => emit(Instruction::with2(Code::Rol_rm64_imm8, b, 1).unwrap()),
        1 => emit(Instruction::with2(Code::Ror_rm32_imm8, reg32(b), 1).unwrap()),
        _ => {}
    }
    bytes.extend_from_slice(&[0x70 | (cc & 15), 3]); // jcc +3
    bytes.extend_from_slice(&[0x48, 0xff, 0xc1]); // inc rcx
    bytes.push(end);
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5000),
        .. ProptestConfig::default()
    })]
    #[test]
    fn lazy_flags_across_instructions_match_host(
        k1 in any::<u8>(), k2 in any::<u8>(), rot in any::<u8>(), cc in any::<u8>(),
        ops in prop::collection::vec(0usize..7, 2), imm in any::<u32>(),
        regs in prop::array::uniform8(prop_oneof![any::<u64>(), 0u64..4, Just(u64::MAX), Just(0x8000_0000_0000_0000u64), Just(0x7fff_ffff), Just(0x8000_0000)]),
        flags in any::<u16>(),
    ) {
        let native_code = sequence(k1, k2, rot, cc, &ops, imm, 0xc3);
        let exec = Exec::new();
        let mut nregs = regs;
        let mut nflags = (flags as u64 & STATUS) | 2;
        exec.run(&native_code, &mut nregs, &mut nflags);

        let guest_code = sequence(k1, k2, rot, cc, &ops, imm, 0xf4); // ends in HLT
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &guest_code);
        let mut cpu = long_mode_cpu(&mut p, 0x1000);
        for (k, &r) in IDX.iter().enumerate() {
            cpu.regs[r] = regs[k];
        }
        cpu.rflags = (flags as u64 & STATUS) | 2;
        cpu.run(&mut p, 16);
        prop_assert_eq!(cpu.state, cpu_x86::RunState::Halted, "{:02x?}", guest_code);
        for (k, &r) in IDX.iter().enumerate() {
            prop_assert_eq!(cpu.regs[r], nregs[k], "reg {} code {:02x?}", k, guest_code);
        }
        // AF is undefined after shifts and rotates do not define it either way here.
        let mask = STATUS & !AF;
        prop_assert_eq!(cpu.flags() & mask, nflags & mask, "flags, code {:02x?}", guest_code);
    }
}
