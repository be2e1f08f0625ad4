//! Differential instruction tests: chimera's AArch64 interpreter against Unicorn 2 (QEMU
//! 5's AArch64 TCG front end as a library), instruction by instruction.
//!
//! Each family generates, with proptest, the encoding fields of one instruction class
//! (register numbers, immediates, shift and extend types, condition codes, sizes) and the
//! operand values, assembles the 32-bit word by hand from the Arm ARM encoding tables (DDI 0487
//! C4.1), and runs `[insn, BRK #0]` (or a short sequence) from identical initial state
//! (X0-X30, SP, NZCV, V0-V31, FPCR, FPSR, a 16 KiB RAM window, a 64 KiB code region) in both
//! emulators, at EL1 with the MMU off. Unicorn stops before the BRK, chimera runs exactly
//! the sequence's instructions; branches run one instruction in both. The two must agree on
//! whether an exception was taken (UNDEFINED encodings are generated on purpose in most
//! families) and, if not, on PC, X0-X30, SP, NZCV, V0-V31, FPCR, FPSR and the RAM window.
//! Every family also requires that at least a quarter of its cases execute.
//!
//! Corners where the architecture lets implementations differ (CONSTRAINED UNPREDICTABLE,
//! IMPLEMENTATION DEFINED), extensions Unicorn's "max" CPU has and chimera does not advertise,
//! and the two Unicorn bugs found (see `lse_atomics`, `code_region`) are kept out of
//! generation, each with a comment saying why. Memory accesses are aligned, except in
//! `unaligned_normal_memory`: with the MMU off, data accesses are Device-nGnRnE and an
//! unaligned access must take an Alignment fault (Arm ARM B2.5.2), which chimera does and
//! Unicorn (QEMU 5) does not model.
//!
//! Determinism: every family runs a fixed number of cases (`PROPTEST_CASES` overrides it)
//! from a fixed seed derived from the family name (`PROPTEST_RNG_SEED` overrides it, to
//! explore), with the ChaCha RNG and failure persistence off, so every run checks the same
//! cases and nothing is written into the source tree. A failure prints the shrunk case, the
//! instruction words and their disassembly, and the fields that differ.

use std::cell::RefCell;
use std::fmt::Write as _;

use cpu_arm64::{Arm64Cpu, Arm64Platform, Conduit};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestRunner};
use sim_core::{GuestPhys, GuestRam};
use unicorn_engine::unicorn_const::{Arch, Arm64CpuModel, Mode, Prot};
use unicorn_engine::{RegisterARM64, Unicorn};

const RAM_BASE: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 1 << 20;
/// The code region mapped in Unicorn (64 KiB), so that branches and PC-relative loads have
/// somewhere to go; the instruction under test (then BRK #0) is in its middle.
const CODE_REGION: u64 = RAM_BASE;
const CODE: u64 = RAM_BASE + 0x8000;
/// The data window loads and stores address (mapped in both emulators).
const DATA: u64 = RAM_BASE + 0x1_0000;
const DATA_LEN: usize = 0x4000;
/// The middle of the window: base registers point near here, effective addresses stay
/// within -0x1000/+0x1800 of it.
const MID: u64 = DATA + DATA_LEN as u64 / 2;
/// chimera's VBAR_EL1: an exception leaves the PC in the (zero-filled) vector area.
const VBAR: u64 = RAM_BASE + 0x8_0000;
const BRK0: u32 = 0xd420_0000;
/// CPACR_EL1.FPEN = 0b11: SIMD&FP instructions do not trap at EL1/EL0.
const CPACR_FPEN: u64 = 3 << 20;

/// The architectural state both emulators start from and are compared on.
#[derive(Clone, PartialEq, Eq)]
struct Machine {
    /// Where execution stopped (compared only when neither emulator took an exception).
    pc: u64,
    x: [u64; 31],
    sp: u64,
    /// NZCV in bits 31:28.
    nzcv: u64,
    v: [u128; 32],
    fpcr: u64,
    fpsr: u64,
    mem: Vec<u8>,
}

impl Machine {
    /// Registers and memory filled from `seed` (xorshift64*), FPCR and FPSR zero.
    fn random(seed: u64) -> Self {
        let mut s = seed | 1;
        let mut next = || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut x = [0; 31];
        x.iter_mut().for_each(|r| *r = next());
        let mut v = [0; 32];
        v.iter_mut().for_each(|r| *r = (next() as u128) << 64 | next() as u128);
        let mut mem = vec![0u8; DATA_LEN];
        mem.chunks_mut(8).for_each(|c| c.copy_from_slice(&next().to_le_bytes()));
        let sp = next();
        Self { pc: CODE, x, sp, nzcv: 0, v, fpcr: 0, fpsr: 0, mem }
    }

    /// Writes register `r` as a general-purpose source: 31 (XZR) is not written.
    fn set_x(&mut self, r: u32, val: u64) {
        if r < 31 {
            self.x[r as usize] = val;
        }
    }

    /// Writes register `r` where encoding 31 names SP.
    fn set_xsp(&mut self, r: u32, val: u64) {
        if r < 31 {
            self.x[r as usize] = val;
        } else {
            self.sp = val;
        }
    }

    /// Which fields differ from `o`, for failure messages.
    fn diff(&self, o: &Machine) -> String {
        let mut s = String::new();
        if self.pc != o.pc {
            let _ = write!(s, "\n  pc: chimera {:#x} unicorn {:#x}", self.pc, o.pc);
        }
        for k in 0..31 {
            if self.x[k] != o.x[k] {
                let _ = write!(s, "\n  x{k}: chimera {:#018x} unicorn {:#018x}", self.x[k], o.x[k]);
            }
        }
        if self.sp != o.sp {
            let _ = write!(s, "\n  sp: chimera {:#018x} unicorn {:#018x}", self.sp, o.sp);
        }
        if self.nzcv != o.nzcv {
            let _ = write!(s, "\n  nzcv: chimera {:04b} unicorn {:04b}", self.nzcv >> 28, o.nzcv >> 28);
        }
        for k in 0..32 {
            if self.v[k] != o.v[k] {
                let _ = write!(s, "\n  v{k}: chimera {:#034x} unicorn {:#034x}", self.v[k], o.v[k]);
            }
        }
        if self.fpsr != o.fpsr {
            let _ = write!(s, "\n  fpsr: chimera {:#010x} unicorn {:#010x}", self.fpsr, o.fpsr);
        }
        for (k, (a, b)) in self.mem.chunks(8).zip(o.mem.chunks(8)).enumerate() {
            if a != b {
                let at = DATA + 8 * k as u64;
                let _ = write!(s, "\n  mem[{at:#x}]: chimera {a:02x?} unicorn {b:02x?}");
            }
        }
        s
    }
}

/// How a run ended.
struct Outcome {
    /// The instruction took an exception (UNDEFINED, abort, ...).
    faulted: bool,
    m: Machine,
}

/// The machine chimera's CPU sees: flat RAM and nothing else.
struct Flat {
    ram: GuestRam,
}

impl Arm64Platform for Flat {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn mmio_read(&mut self, _pa: GuestPhys, _size: u8) -> u64 {
        0
    }
    fn mmio_write(&mut self, _pa: GuestPhys, _size: u8, _val: u64) {}
    fn sync(&mut self, _c: u64) {}
    fn attention(&self) -> bool {
        false
    }
    fn irq_pending(&mut self) -> bool {
        false
    }
    fn fiq_pending(&mut self) -> bool {
        false
    }
    fn firmware_call(&mut self, _c: Conduit, _x: &mut [u64; 18]) -> bool {
        false
    }
    fn icc_read(&mut self, _enc: u16) -> Option<u64> {
        None
    }
    fn icc_write(&mut self, _enc: u16, _val: u64) -> bool {
        false
    }
    fn counter(&self) -> u64 {
        0
    }
    fn timer_levels(&mut self, _p: bool, _v: bool, _h: bool, _s: bool) {}
    fn set_timer_deadline(&mut self, _c: u64) {}
}

/// The fixed pseudo-random contents of the code region around the instruction (what
/// PC-relative loads read, where branches land), the same in both emulators. Every word
/// has op0 (bits 28:25) = 0000, the reserved/UDF space: Unicorn translates the block at a
/// branch target before the count stops it, and some random words (FP16 two-register
/// misc) abort its translator (an assertion in QEMU's decoder).
fn code_region() -> &'static [u8] {
    static REGION: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    REGION.get_or_init(|| {
        let mut m = Machine::random(0x5eed);
        let mut v = Vec::with_capacity(0x1_0000);
        for _ in 0..4 {
            v.extend_from_slice(&m.mem);
            m = Machine::random(m.x[0]);
        }
        for w in v.chunks_mut(4) {
            w[3] &= !0x1e;
        }
        v
    })
}

fn code_bytes(code: &[u32]) -> Vec<u8> {
    code.iter().chain([BRK0].iter()).flat_map(|w| w.to_le_bytes()).collect()
}

/// Runs `code` in chimera: all of it, or `steps` instructions (for branches).
fn run_chimera(code: &[u32], init: &Machine, steps: Option<u64>) -> Outcome {
    let mut p = Flat { ram: GuestRam::new(&[(GuestPhys(RAM_BASE), RAM_SIZE)]).unwrap() };
    p.ram.write(GuestPhys(CODE_REGION), code_region());
    p.ram.write(GuestPhys(CODE), &code_bytes(code));
    p.ram.write(GuestPhys(DATA), &init.mem);
    let mut c = Arm64Cpu::new(0, 0);
    c.sys.scr_el3 = 1 | 1 << 8 | 1 << 10; // NS, HCE, RW: as firmware leaves it for EL1
    c.boot(1, CODE);
    c.sys.vbar[1] = VBAR;
    c.sys.cpacr_el1 = CPACR_FPEN;
    c.x[..31].copy_from_slice(&init.x);
    c.set_sp(init.sp);
    c.nzcv = init.nzcv;
    c.v = init.v;
    c.fpcr = init.fpcr;
    c.fpsr = init.fpsr;
    if NORMAL_MEMORY.get() {
        // Stage 1 on, identity map of the first GiB of RAM as one Normal Write-Back block
        // (4 KiB granule, T0SZ = 25: 39-bit VAs from level 1; MAIR attribute 0 = 0xff).
        let l1 = RAM_BASE + 0xc_0000;
        p.ram.write(GuestPhys(l1 + 8 * (RAM_BASE >> 30)), &(RAM_BASE | 1 << 10 | 3 << 8 | 1).to_le_bytes());
        c.sys.ttbr0[1] = l1;
        c.sys.tcr[1] = 25;
        c.sys.mair[1] = 0xff;
        c.sys.sctlr[1] |= 1;
    }
    c.run(&mut p, steps.unwrap_or(code.len() as u64));
    let mut mem = vec![0; DATA_LEN];
    p.ram.read(GuestPhys(DATA), &mut mem);
    let faulted = match steps {
        Some(_) => (VBAR..VBAR + 0x800).contains(&c.pc),
        None => c.pc != CODE + 4 * code.len() as u64,
    };
    let mut x = [0; 31];
    x.copy_from_slice(&c.x[..31]);
    let m = Machine { pc: c.pc, x, sp: c.sp(), nzcv: c.nzcv, v: c.v, fpcr: c.fpcr, fpsr: c.fpsr, mem };
    Outcome { faulted, m }
}

thread_local! {
    /// chimera runs with its MMU on and the RAM mapped as Normal memory (see run_chimera),
    /// where unaligned accesses are allowed; Unicorn runs with its MMU off either way.
    static NORMAL_MEMORY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// One Unicorn instance per test thread, reused across cases (creating one costs more
    /// than running a case).
    static UC: RefCell<Option<Unicorn<'static, ()>>> = const { RefCell::new(None) };
}

fn xreg(k: usize) -> i32 {
    match k {
        0..=28 => RegisterARM64::X0 as i32 + k as i32,
        29 => RegisterARM64::X29 as i32,
        _ => RegisterARM64::X30 as i32,
    }
}

fn qreg(k: usize) -> i32 {
    RegisterARM64::Q0 as i32 + k as i32
}

fn new_unicorn() -> Unicorn<'static, ()> {
    let mut uc = Unicorn::new(Arch::ARM64, Mode::LITTLE_ENDIAN).expect("unicorn");
    // The "max" CPU: Armv8.x with FEAT_LSE, CRC32 and the FP/AdvSIMD extensions chimera has.
    uc.ctl_set_cpu_model(Arm64CpuModel::MAX as i32).expect("cpu model");
    uc.mem_map(CODE_REGION, 0x1_0000, Prot::ALL).expect("map code");
    uc.mem_write(CODE_REGION, code_region()).expect("fill code region");
    uc.mem_map(DATA, DATA_LEN as u64, Prot::READ | Prot::WRITE).expect("map data");
    uc
}

/// Runs `code` in Unicorn: up to its end, or `steps` instructions (for branches).
fn run_unicorn(code: &[u32], init: &Machine, steps: Option<u64>) -> Outcome {
    UC.with(|cell| {
        let mut slot = cell.borrow_mut();
        let uc = slot.get_or_insert_with(new_unicorn);
        let bytes = code_bytes(code);
        uc.mem_write(CODE, &bytes).unwrap();
        // The translation cache still holds the previous case's code.
        uc.ctl_remove_cache(CODE, CODE + bytes.len() as u64).unwrap();
        uc.mem_write(DATA, &init.mem).unwrap();
        for k in 0..31 {
            uc.reg_write(xreg(k), init.x[k]).unwrap();
        }
        uc.reg_write(RegisterARM64::SP, init.sp).unwrap();
        uc.reg_write(RegisterARM64::NZCV, init.nzcv).unwrap();
        uc.reg_write(RegisterARM64::CPACR_EL1, CPACR_FPEN).unwrap();
        for k in 0..32 {
            uc.reg_write_long(qreg(k), &init.v[k].to_le_bytes()).unwrap();
        }
        uc.reg_write(RegisterARM64::FPCR, init.fpcr).unwrap();
        uc.reg_write(RegisterARM64::FPSR, init.fpsr).unwrap();
        let end = CODE + 4 * code.len() as u64;
        let faulted = match steps {
            // `until` = 1 is never reached (unaligned): the count stops it.
            Some(n) => uc.emu_start(CODE, 1, 0, n as usize).is_err(),
            None => uc.emu_start(CODE, end, 0, 0).is_err() || uc.pc_read().unwrap() != end,
        };
        let mut x = [0; 31];
        for (k, r) in x.iter_mut().enumerate() {
            *r = uc.reg_read(xreg(k)).unwrap();
        }
        let mut v = [0; 32];
        for (k, r) in v.iter_mut().enumerate() {
            let b = uc.reg_read_long(qreg(k)).unwrap();
            *r = u128::from_le_bytes(b[..16].try_into().unwrap());
        }
        let mut mem = vec![0; DATA_LEN];
        uc.mem_read(DATA, &mut mem).unwrap();
        let m = Machine {
            pc: uc.pc_read().unwrap(),
            x,
            sp: uc.reg_read(RegisterARM64::SP).unwrap(),
            nzcv: uc.reg_read(RegisterARM64::NZCV).unwrap() & 0xf000_0000,
            v,
            fpcr: uc.reg_read(RegisterARM64::FPCR).unwrap(),
            fpsr: uc.reg_read(RegisterARM64::FPSR).unwrap(),
            mem,
        };
        Outcome { faulted, m }
    })
}

fn disasm(w: u32) -> String {
    use yaxpeax_arch::{Decoder, U8Reader};
    use yaxpeax_arm::armv8::a64::InstDecoder;
    match InstDecoder::default().decode(&mut U8Reader::new(&w.to_le_bytes())) {
        Ok(i) => i.to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// Runs `code` in both emulators from `init` and compares them; `Ok(true)` when both took
/// an exception.
fn check(code: &[u32], init: &Machine, steps: Option<u64>) -> Result<bool, TestCaseError> {
    let a = run_chimera(code, init, steps);
    let b = run_unicorn(code, init, steps);
    let what = || code.iter().map(|&w| format!("{w:#010x} ({})", disasm(w))).collect::<Vec<_>>().join("; ");
    if a.faulted != b.faulted {
        return Err(TestCaseError::fail(format!(
            "{}: exception in chimera: {}, in unicorn: {}",
            what(),
            a.faulted,
            b.faulted
        )));
    }
    if a.faulted {
        // Both UNDEFINED (or both aborted): nothing more to compare.
        return Ok(true);
    }
    if a.m != b.m {
        return Err(TestCaseError::fail(format!("{}: state differs:{}", what(), a.m.diff(&b.m))));
    }
    Ok(false)
}

/// FNV-1a, for a per-family default seed.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// The proptest configuration of one family: see the module comment.
fn config(name: &str, cases: u32) -> Config {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env("PROPTEST_CASES").map_or(cases, |c| c as u32),
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or_else(|| fnv1a(name))),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// Runs one family: `gen` turns a generated value into the code and the initial state. At
/// least a quarter of the cases must execute without an exception in both emulators, so a
/// family cannot pass by comparing nothing but UNDEFINED.
fn family<S: Strategy>(name: &str, cases: u32, strategy: S, gen: impl Fn(S::Value) -> (Vec<u32>, Machine))
where
    S::Value: std::fmt::Debug,
{
    family_steps(name, cases, strategy, None, gen)
}

/// [`family`], running `steps` instructions instead of the whole code (see `run_chimera`).
fn family_steps<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    steps: Option<u64>,
    gen: impl Fn(S::Value) -> (Vec<u32>, Machine),
) where
    S::Value: std::fmt::Debug,
{
    let config = config(name, cases);
    let total = config.cases;
    let executed = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, |v| {
        let (code, m) = gen(v);
        if !check(&code, &m, steps)? {
            executed.set(executed.get() + 1);
        }
        Ok(())
    }) {
        panic!("{name}: {e}");
    }
    eprintln!("{name}: {} of {total} cases executed, the others UNDEFINED in both", executed.get());
    assert!(executed.get() * 4 >= total, "{name}: only {} of {total} cases executed", executed.get());
}

/// Cases per family: a case costs ~50 µs in a debug build (both emulators, one
/// instruction), so the whole file runs in about 10 s on two cores.
const CASES: u32 = 4096;

// ---- operand strategies ----

/// Operand values: uniform, boundary values, small, and 32-bit values zero- or
/// sign-extended (the upper half of W operands is then either clean or garbage).
fn val() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => any::<u64>(),
        2 => prop::sample::select(vec![
            0,
            1,
            2,
            u64::MAX,
            u64::MAX - 1,
            i64::MAX as u64,
            i64::MIN as u64,
            0xffff_ffff,
            0x8000_0000,
            0x7fff_ffff,
            0x1_0000_0000,
            0xffff_ffff_8000_0000,
            0x8000_0000_ffff_ffff,
        ]),
        1 => 0u64..64,
        1 => any::<u32>().prop_map(|v| v as u64),
        1 => any::<i32>().prop_map(|v| v as i64 as u64),
    ]
}

/// A register number 0-31 (31 is XZR or SP depending on the operand).
fn reg() -> impl Strategy<Value = u32> {
    0u32..32
}

fn flags() -> impl Strategy<Value = u64> {
    (0u64..16).prop_map(|f| f << 28)
}

/// Seed for the registers and memory the instruction does not name explicitly.
fn seed() -> impl Strategy<Value = u64> {
    any::<u64>()
}

// ---- data processing ----

/// Bits 31:29 of the add/subtract classes: sf (64-bit), op (subtract), S (set flags).
fn sf_op_s(sf: bool, op: bool, s: bool) -> u32 {
    (sf as u32) << 31 | (op as u32) << 30 | (s as u32) << 29
}

#[test]
fn add_sub_immediate() {
    // ADD/ADDS/SUB/SUBS (immediate), C4.1.2: sf op S 100010 sh imm12 Rn Rd. Rn is SP for 31,
    // Rd is SP for 31 unless S.
    let s = (any::<[bool; 4]>(), 0u32..4096, reg(), reg(), val(), flags(), seed());
    family("add_sub_imm", CASES, s, |([sf, op, s, sh], imm, rn, rd, a, f, seed)| {
        let w = sf_op_s(sf, op, s) | 0b100010 << 23 | (sh as u32) << 22 | imm << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_xsp(rn, a);
        m.nzcv = f;
        (vec![w], m)
    });
}

#[test]
fn add_sub_shifted_register() {
    // ADD/SUB (shifted register): sf op S 01011 shift 0 Rm imm6 Rn Rd. shift = 11 and, for
    // 32-bit, imm6 >= 32 are reserved: generated too, both must be UNDEFINED.
    let s = (any::<[bool; 3]>(), 0u32..4, 0u32..64, reg(), reg(), reg(), val(), val(), flags(), seed());
    family("add_sub_shifted", CASES, s, |([sf, op, s], sh, imm6, rm, rn, rd, a, b, f, seed)| {
        let w = sf_op_s(sf, op, s) | 0b01011 << 24 | sh << 22 | rm << 16 | imm6 << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.set_x(rm, b);
        m.nzcv = f;
        (vec![w], m)
    });
}

#[test]
fn add_sub_extended_register() {
    // ADD/SUB (extended register): sf op S 01011 opt=00 1 Rm option imm3 Rn Rd. imm3 > 4 is
    // reserved (generated: both UNDEFINED). Rn and (unless S) Rd are SP for 31; Rm is XZR.
    let s = (any::<[bool; 3]>(), 0u32..8, 0u32..6, reg(), reg(), reg(), val(), val(), flags(), seed());
    family("add_sub_ext", CASES, s, |([sf, op, s], option, imm3, rm, rn, rd, a, b, f, seed)| {
        let w = sf_op_s(sf, op, s)
            | 0b01011 << 24
            | 1 << 21
            | rm << 16
            | option << 13
            | imm3 << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.set_xsp(rn, a);
        m.set_x(rm, b);
        m.nzcv = f;
        (vec![w], m)
    });
}

#[test]
fn adc_sbc() {
    // ADC/ADCS/SBC/SBCS: sf op S 11010000 Rm 000000 Rn Rd.
    let s = (any::<[bool; 3]>(), reg(), reg(), reg(), val(), val(), flags(), seed());
    family("adc_sbc", CASES, s, |([sf, op, s], rm, rn, rd, a, b, f, seed)| {
        let w = sf_op_s(sf, op, s) | 0b11010000 << 21 | rm << 16 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.set_x(rm, b);
        m.nzcv = f;
        (vec![w], m)
    });
}

/// N:immr:imms of a valid bitmask immediate (DecodeBitMasks, Arm ARM J1): element size
/// 2-64 (64 only when `sf`), a run of 1 to esize-1 ones, any rotation. The unused high bits
/// of immr are random too (they are ignored).
fn bitmask_imm(sf: bool) -> impl Strategy<Value = (u32, u32, u32)> {
    let sizes: Vec<u32> = if sf { vec![1, 2, 3, 4, 5, 6] } else { vec![1, 2, 3, 4, 5] };
    (prop::sample::select(sizes), any::<u32>(), 0u32..64).prop_map(|(log, ones_seed, immr)| {
        let e = 1u32 << log;
        let ones = ones_seed % (e - 1); // ones - 1: 0 ..= e - 2
        if e == 64 {
            (1, immr, ones)
        } else {
            // imms = NOT(esize*2 - 1)<5:0> selects the size; low log bits are ones - 1.
            (0, immr, (!(2 * e - 1) & 0x3f) | ones)
        }
    })
}

#[test]
fn logical_immediate() {
    // AND/ORR/EOR/ANDS (immediate): sf opc 100100 N immr imms Rn Rd. Mostly valid bitmask
    // immediates; a quarter raw fields (reserved combinations must be UNDEFINED in both).
    let fields = any::<bool>().prop_flat_map(|sf| {
        let imm = prop_oneof![3 => bitmask_imm(sf), 1 => (0u32..2, 0u32..64, 0u32..64)];
        (Just(sf), imm)
    });
    let s = (fields, 0u32..4, reg(), reg(), val(), flags(), seed());
    family("logical_imm", CASES, s, |((sf, (n, immr, imms)), opc, rn, rd, a, f, seed)| {
        let w =
            (sf as u32) << 31 | opc << 29 | 0b100100 << 23 | n << 22 | immr << 16 | imms << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.nzcv = f;
        (vec![w], m)
    });
}

#[test]
fn logical_shifted_register() {
    // AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS: sf opc 01010 shift N Rm imm6 Rn Rd (32-bit imm6 >= 32
    // reserved, generated).
    let s =
        (any::<[bool; 2]>(), 0u32..4, 0u32..4, 0u32..64, reg(), reg(), reg(), val(), val(), flags(), seed());
    family("logical_shifted", CASES, s, |([sf, n], opc, sh, imm6, rm, rn, rd, a, b, f, seed)| {
        let w = (sf as u32) << 31
            | opc << 29
            | 0b01010 << 24
            | sh << 22
            | (n as u32) << 21
            | rm << 16
            | imm6 << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.set_x(rm, b);
        m.nzcv = f;
        (vec![w], m)
    });
}

#[test]
fn move_wide() {
    // MOVN/MOVZ/MOVK: sf opc 100101 hw imm16 Rd (opc = 01 and 32-bit hw >= 2 unallocated,
    // generated).
    let s = (any::<bool>(), 0u32..4, 0u32..4, any::<u16>(), reg(), val(), seed());
    family("move_wide", CASES, s, |(sf, opc, hw, imm, rd, old, seed)| {
        let w = (sf as u32) << 31 | opc << 29 | 0b100101 << 23 | hw << 21 | (imm as u32) << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rd, old);
        (vec![w], m)
    });
}

#[test]
fn bitfield() {
    // SBFM/BFM/UBFM: sf opc 100110 N immr imms Rn Rd. N must equal sf and 32-bit immr/imms
    // must be < 32; a quarter of the cases use raw fields (must be UNDEFINED in both).
    let fields = any::<bool>().prop_flat_map(|sf| {
        let lim: u32 = if sf { 64 } else { 32 };
        prop_oneof![
            3 => (Just(sf), Just(sf as u32), 0..lim, 0..lim),
            1 => (Just(sf), 0u32..2, 0u32..64, 0u32..64),
        ]
    });
    let s = (fields, 0u32..4, reg(), reg(), val(), val(), seed());
    family("bitfield", CASES, s, |((sf, n, immr, imms), opc, rn, rd, a, old, seed)| {
        let w =
            (sf as u32) << 31 | opc << 29 | 0b100110 << 23 | n << 22 | immr << 16 | imms << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rd, old);
        m.set_x(rn, a);
        (vec![w], m)
    });
}

#[test]
fn extract() {
    // EXTR: sf 00 100111 N 0 Rm imms Rn Rd (N must equal sf, 32-bit imms < 32; raw fields
    // in a quarter of the cases).
    let fields = any::<bool>().prop_flat_map(|sf| {
        let lim: u32 = if sf { 64 } else { 32 };
        prop_oneof![3 => (Just(sf), Just(sf as u32), 0..lim), 1 => (Just(sf), 0u32..2, 0u32..64)]
    });
    let s = (fields, reg(), reg(), reg(), val(), val(), seed());
    family("extr", CASES, s, |((sf, n, imms), rm, rn, rd, a, b, seed)| {
        let w = (sf as u32) << 31 | 0b100111 << 23 | n << 22 | rm << 16 | imms << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.set_x(rm, b);
        (vec![w], m)
    });
}

#[test]
fn conditional_select() {
    // CSEL/CSINC/CSINV/CSNEG: sf op 0 11010100 Rm cond 0 o2 Rn Rd, all 16 conditions
    // (including AL and NV, which both mean "always").
    let s = (any::<[bool; 3]>(), 0u32..16, reg(), reg(), reg(), val(), val(), flags(), seed());
    family("csel", CASES, s, |([sf, op, o2], cond, rm, rn, rd, a, b, f, seed)| {
        let w = (sf as u32) << 31
            | (op as u32) << 30
            | 0b11010100 << 21
            | rm << 16
            | cond << 12
            | (o2 as u32) << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.set_x(rm, b);
        m.nzcv = f;
        (vec![w], m)
    });
}

#[test]
fn conditional_compare() {
    // CCMN/CCMP register (sf op 1 11010010 Rm cond 0 0 Rn 0 nzcv) and immediate (imm5 in the
    // Rm field, bit 11 set).
    let s = (any::<[bool; 3]>(), 0u32..16, 0u32..16, reg(), reg(), val(), val(), flags(), seed());
    family("ccmp", CASES, s, |([sf, op, imm], cond, nzcv, rm, rn, a, b, f, seed)| {
        let w = (sf as u32) << 31
            | (op as u32) << 30
            | 1 << 29
            | 0b11010010 << 21
            | rm << 16
            | cond << 12
            | (imm as u32) << 11
            | rn << 5
            | nzcv;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        if !imm {
            m.set_x(rm, b);
        }
        m.nzcv = f;
        (vec![w], m)
    });
}

#[test]
fn data_processing_1_source() {
    // RBIT/REV16/REV32/REV/CLZ/CLS: sf 1 0 11010110 00000 opcode Rn Rd. opcode 0-7 (6, 7
    // and 64-bit-only REV for 32-bit are unallocated: generated).
    let s = (any::<bool>(), 0u32..8, reg(), reg(), val(), seed());
    family("dp1", CASES, s, |(sf, opc, rn, rd, a, seed)| {
        let w = (sf as u32) << 31 | 1 << 30 | 0b11010110 << 21 | opc << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        (vec![w], m)
    });
}

#[test]
fn data_processing_2_source() {
    // UDIV/SDIV/LSLV/LSRV/ASRV/RORV: sf 0 0 11010110 Rm opcode Rn Rd. Divisors include 0
    // and -1 (with INT_MIN dividends from val()).
    let op = prop::sample::select(vec![2u32, 3, 8, 9, 10, 11]);
    let divisor = prop_oneof![3 => val(), 1 => Just(0u64), 1 => Just(u64::MAX), 1 => Just(0xffff_ffff)];
    let s = (any::<bool>(), op, reg(), reg(), reg(), val(), divisor, seed());
    family("dp2", CASES, s, |(sf, opc, rm, rn, rd, a, b, seed)| {
        let w = (sf as u32) << 31 | 0b11010110 << 21 | rm << 16 | opc << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.set_x(rm, b);
        (vec![w], m)
    });
}

#[test]
fn crc32() {
    // CRC32B/H/W/X, CRC32CB/H/W/X: sf 0 0 11010110 Rm 010 C sz Rn Rd (sf must be 1 exactly
    // for sz = 11; the other combinations are generated and must be UNDEFINED).
    let s = (any::<[bool; 2]>(), 0u32..4, reg(), reg(), reg(), val(), val(), seed());
    family("crc32", CASES, s, |([sf, c], sz, rm, rn, rd, a, b, seed)| {
        let w = (sf as u32) << 31
            | 0b11010110 << 21
            | rm << 16
            | 0b010 << 13
            | (c as u32) << 12
            | sz << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.set_x(rn, a);
        m.set_x(rm, b);
        (vec![w], m)
    });
}

#[test]
fn data_processing_3_source() {
    // MADD/MSUB/SMADDL/SMSUBL/UMADDL/UMSUBL/SMULH/UMULH: sf 00 11011 op31 Rm o0 Ra Rn Rd.
    // SMULH/UMULH have Ra = 11111 (should-be-one bits; other values are CONSTRAINED
    // UNPREDICTABLE, C6.2.252) and o0 = 0.
    let op = prop::sample::select(vec![
        (0u32, false),
        (0, true),
        (1, false),
        (1, true),
        (5, false),
        (5, true),
        (2, false),
        (6, false),
    ]);
    let s = (any::<bool>(), op, reg(), reg(), reg(), reg(), val(), val(), val(), seed());
    family("dp3", CASES, s, |(sf, (op31, o0), rm, ra, rn, rd, a, b, acc, seed)| {
        let ra = if op31 == 2 || op31 == 6 { 31 } else { ra };
        let w = (sf as u32) << 31
            | 0b11011 << 24
            | op31 << 21
            | rm << 16
            | (o0 as u32) << 15
            | ra << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.set_x(ra, acc);
        m.set_x(rn, a);
        m.set_x(rm, b);
        (vec![w], m)
    });
}

// ---- loads and stores ----

/// A base address near MID: `off` in -0x800..0x800 bytes from it, 16-byte aligned when the
/// base is SP (SCTLR_EL1.SA) and aligned to `align` otherwise.
fn base_addr(off: i64, rn: u32, align: u64) -> u64 {
    let b = MID.wrapping_add(off as u64);
    if rn == 31 {
        b & !15
    } else {
        b & !(align - 1)
    }
}

/// The base and the 9-bit signed offset (`imm9`, -256..256 on entry and on return) of an
/// unscaled, pre- or post-indexed access of `bytes` bytes, aligned to its size: post-indexed
/// (`post`: the access is at the base), an aligned base; otherwise any base, with the offset
/// lowered to align base + offset (and raised by `bytes` again if that leaves the range).
fn unscaled_base(off: i64, rn: u32, imm9: i64, bytes: u64, post: bool) -> (u64, i64) {
    if post {
        (base_addr(off, rn, bytes), imm9)
    } else {
        let b = base_addr(off, rn, 1);
        let mis = (b.wrapping_add(imm9 as u64) & (bytes - 1)) as i64;
        let imm9 = imm9 - mis;
        (b, if imm9 < -256 { imm9 + bytes as i64 } else { imm9 })
    }
}

/// LDUR/STUR and the pre/post-indexed and unprivileged forms, general-purpose or (`simd`)
/// SIMD&FP: size 111 V 00 opc 0 imm9 mode Rn Rt.
fn ldst_imm9(size: u32, simd: bool, opc: u32, imm9: i64, mode: u32, rn: u32, rt: u32) -> u32 {
    size << 30
        | 0b111 << 27
        | (simd as u32) << 26
        | opc << 22
        | (imm9 as u32 & 0x1ff) << 12
        | mode << 10
        | rn << 5
        | rt
}

/// Picks `avoid`-free register numbers: if `r` is in `avoid`, the next free one.
fn distinct(r: u32, avoid: &[u32]) -> u32 {
    let mut r = r;
    while avoid.contains(&r) {
        r = (r + 1) % 32;
    }
    r
}

#[test]
fn load_store_immediate() {
    // LDR/STR/LDRB/STRB/LDRH/STRH/LDRS* and LDUR/STUR, all sizes and opc values (size 11 opc
    // 10 is PRFM/PRFUM in the offset forms and unallocated with writeback; 11/11 and 10/11
    // are unallocated: generated, both must agree):
    //   unsigned offset      size 111 0 01 opc imm12 Rn Rt
    //   unscaled/post/unpriv/pre  size 111 0 00 opc 0 imm9 mode Rn Rt (mode 00/01/10/11)
    // Pre- and post-indexed forms with Rn == Rt (Rn != 31) are CONSTRAINED UNPREDICTABLE
    // (C6.2 LDR (immediate), STR (immediate)): not generated.
    let s = (0u32..4, 0u32..4, 0u32..5, -0x800i64..0x800, any::<u32>(), reg(), reg(), val(), seed());
    family("ldst_imm", CASES, s, |(size, opc, mode, off, imm, rn, rt, val, seed)| {
        let bytes = 1u64 << size;
        let mut m = Machine::random(seed);
        let w = if mode == 4 {
            let b = base_addr(off, rn, bytes);
            let imm12 = imm % (0x1000 >> size) as u32;
            m.set_x(rt, val);
            m.set_xsp(rn, b);
            size << 30 | 0b111 << 27 | 0b01 << 24 | opc << 22 | imm12 << 10 | rn << 5 | rt
        } else {
            let rt = if mode & 1 == 1 && rn != 31 { distinct(rt, &[rn]) } else { rt };
            let (b, imm9) = unscaled_base(off, rn, (imm % 512) as i64 - 256, bytes, mode == 1);
            m.set_x(rt, val);
            m.set_xsp(rn, b);
            ldst_imm9(size, false, opc, imm9, mode, rn, rt)
        };
        (vec![w], m)
    });
}

#[test]
fn load_store_register_offset() {
    // LDR/STR (register): size 111 0 00 opc 1 Rm option S 10 Rn Rt, option UXTW/LSL/SXTW/SXTX
    // (option<1> = 0 is reserved: generated in 1 case of 8, both must be UNDEFINED). The
    // index register has garbage in bits 63:32 for the W extends. Rm == Rn is excluded only
    // because one register cannot hold both the base and the index this generator picks.
    let option = prop_oneof![7 => prop::sample::select(vec![2u32, 3, 6, 7]), 1 => prop::sample::select(vec![0u32, 1, 4, 5])];
    let s = (
        0u32..4,
        0u32..4,
        option,
        any::<bool>(),
        -0x800i64..0x800,
        -0x800i64..0x800,
        (reg(), reg(), reg()),
        any::<u32>(),
        val(),
        seed(),
    );
    family("ldst_reg", CASES, s, |(size, opc, option, sh, off, idx, (rm, rn, rt), hi, val, seed)| {
        let bytes = 1u64 << size;
        let rm = distinct(rm, &[rn, 31]);
        let b = base_addr(off, rn, bytes);
        let shift = if sh { size } else { 0 };
        let mut idx = (idx >> size) << size >> shift; // index register value before extension
        if option == 2 {
            idx = idx.abs(); // UXTW: zero-extended, so non-negative
        }
        let rmv = match option {
            2 | 6 => (hi as u64) << 32 | idx as i32 as u32 as u64,
            _ => idx as u64,
        };
        let mut m = Machine::random(seed);
        m.set_x(rt, val);
        m.set_x(rm, rmv);
        m.set_xsp(rn, b);
        let w = size << 30
            | 0b111 << 27
            | opc << 22
            | 1 << 21
            | rm << 16
            | option << 13
            | (sh as u32) << 12
            | 0b10 << 10
            | rn << 5
            | rt;
        (vec![w], m)
    });
}

#[test]
fn load_store_pair() {
    // LDP/STP/LDPSW/LDNP/STNP: opc 101 0 mode L imm7 Rt2 Rn Rt, mode 00 non-temporal, 01
    // post, 10 offset, 11 pre; opc 00 W, 01 LDPSW (L = 1; STGP with L = 0 needs FEAT_MTE,
    // which neither emulator offers... generated: both UNDEFINED), 10 X, 11 unallocated.
    // Not generated, being CONSTRAINED UNPREDICTABLE (C6.2 LDP, STP): loads with
    // Rt == Rt2, and writeback with Rn == Rt or Rn == Rt2 (Rn != 31).
    let s = (
        0u32..4,
        0u32..4,
        any::<bool>(),
        -64i32..64,
        -0x800i64..0x800,
        (reg(), reg(), reg()),
        val(),
        val(),
        seed(),
    );
    family("ldst_pair", CASES, s, |(opc, mode, load, imm7, off, (rt, rt2, rn), a, b, seed)| {
        let bytes = if opc == 2 { 8 } else { 4 };
        let wb = mode & 1 == 1;
        let (rt, rt2) = if wb && rn != 31 { (distinct(rt, &[rn]), distinct(rt2, &[rn])) } else { (rt, rt2) };
        let rt2 = if load { distinct(rt2, &[rt, if wb && rn != 31 { rn } else { rt }]) } else { rt2 };
        let base = base_addr(off, rn, bytes);
        let mut m = Machine::random(seed);
        m.set_x(rt, a);
        m.set_x(rt2, b);
        m.set_xsp(rn, base);
        let w = opc << 30
            | 0b101 << 27
            | mode << 23
            | (load as u32) << 22
            | (imm7 as u32 & 0x7f) << 15
            | rt2 << 10
            | rn << 5
            | rt;
        (vec![w], m)
    });
}

/// The value at `addr` in the window, `bytes` wide.
fn mem_at(m: &Machine, addr: u64, bytes: u64) -> u64 {
    let o = (addr - DATA) as usize;
    let mut b = [0u8; 8];
    b[..bytes as usize].copy_from_slice(&m.mem[o..o + bytes as usize]);
    u64::from_le_bytes(b)
}

/// The low `bytes` bytes set.
fn low_mask(bytes: u64) -> u64 {
    if bytes == 8 {
        u64::MAX
    } else {
        (1 << (8 * bytes)) - 1
    }
}

#[test]
fn lse_atomics() {
    // FEAT_LSE (ID_AA64ISAR0_EL1.Atomic = 0b0010 in chimera; checked below):
    //   LD<op>, SWP   size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt   (o3 = 1 only with opc 000)
    //   CAS           size 001000 1 L 1 Rs o0 11111 Rn Rt
    //   CASP          0 sz 001000 0 L 1 Rs o0 11111 Rn Rt      (Rs, Rt even)
    // Bits 14:10 of CAS/CASP are should-be-one (other values CONSTRAINED UNPREDICTABLE).
    // Rs is set to the memory value in half the cases so that compares succeed.
    assert_eq!(cpu_arm64::sysreg::id::AA64ISAR0 >> 20 & 0xf, 2, "chimera advertises FEAT_LSE");
    let s = (
        0u32..11,
        0u32..4,
        any::<[bool; 3]>(),
        -0x800i64..0x800,
        (reg(), reg(), reg()),
        (val(), val(), val()),
        seed(),
    );
    family("lse", CASES, s, |(kind, size, [a, r, hit], off, (rs, rn, rt), (v1, v2, v3), seed)| {
        let mut m = Machine::random(seed);
        let w = match kind {
            0..=8 => {
                let (o3, opc) = if kind == 8 { (1, 0) } else { (0, kind) };
                let base = base_addr(off, rn, 1 << size);
                // Unicorn 2.1 (QEMU 5.0) compares the B/H/W forms of LDSMAX/LDSMIN unsigned
                // (MemAtomicOp, Arm ARM J1, compares SInt() of both): W operands 0xfffffffe
                // and 1 give 0xfffffffe instead of 1. Signed and unsigned order agree when
                // both operands have the same sign, so Rs gets the memory value's sign bit
                // here; mixed signs are checked against the Arm ARM in
                // `ldsmax_ldsmin_mixed_signs`.
                // (So Rs is neither Rn nor XZR for them.)
                let signed_narrow = (kind == 4 || kind == 5) && size < 3;
                let rs = if signed_narrow { distinct(rs, &[rn, 31]) } else { rs };
                let v1 = if signed_narrow {
                    let top = 1u64 << ((8 << size) - 1);
                    (v1 & !top) | (mem_at(&m, base, 1 << size) & top)
                } else {
                    v1
                };
                m.set_x(rt, v2);
                m.set_x(rs, v1);
                m.set_xsp(rn, base);
                size << 30
                    | 0b111 << 27
                    | (a as u32) << 23
                    | (r as u32) << 22
                    | 1 << 21
                    | rs << 16
                    | o3 << 15
                    | opc << 12
                    | rn << 5
                    | rt
            }
            9 => {
                let bytes = 1u64 << size;
                let base = base_addr(off, rn, bytes);
                m.set_x(rt, v2);
                let cur = mem_at(&m, base, bytes);
                m.set_x(rs, if hit { cur | (v1 & !low_mask(bytes)) } else { v1 });
                m.set_xsp(rn, base);
                size << 30
                    | 0b001000 << 24
                    | 1 << 23
                    | (a as u32) << 22
                    | 1 << 21
                    | rs << 16
                    | (r as u32) << 15
                    | 0x1f << 10
                    | rn << 5
                    | rt
            }
            _ => {
                let sz = size & 1; // 0: W pairs, 1: X pairs
                let bytes = 4u64 << sz;
                let (rs, rt) = (rs & !1, rt & !1);
                let base = base_addr(off, rn, 2 * bytes);
                let (lo, hi) = (mem_at(&m, base, bytes), mem_at(&m, base + bytes, bytes));
                let g = !low_mask(bytes); // bits above the compared ones: garbage
                let (c1, c2) = if hit { (lo | (v1 & g), hi | (v3 & g)) } else { (v1, v3) };
                m.set_x(rs, c1);
                m.set_x(rs + 1, c2);
                m.set_x(rt, v2);
                m.set_x(rt + 1, v3);
                m.set_xsp(rn, base);
                sz << 30
                    | 0b001000 << 24
                    | (a as u32) << 22
                    | 1 << 21
                    | rs << 16
                    | (r as u32) << 15
                    | 0x1f << 10
                    | rn << 5
                    | rt
            }
        };
        (vec![w], m)
    });
}

#[test]
fn ldsmax_ldsmin_mixed_signs() {
    // Where Unicorn is wrong (see lse_atomics), chimera alone against hand-computed values:
    // SMAX/SMIN of the sign-extended low `datasize` bits, upper bits of Rs ignored.
    for (w, bytes, rs, old, new) in [
        (0xb820_4020u32, 4u64, 0xffff_fffeu64, 1u64, 1u64), // ldsmax w0, w0, [x1]: max(-2, 1)
        (0xb820_5020, 4, 0x1234_5678_0000_0001, 0xffff_fffe, 0xffff_fffe), // ldsmin: min(1, -2)
        (0x7820_4020, 2, 0xffff_8000, 0x7fff, 0x7fff),      // ldsmaxh: max(-32768, 32767)
        (0x3820_5020, 1, 0x7f, 0x80, 0x80),                 // ldsminb: min(127, -128)
        (0x3820_4020, 1, 0xffff_ff80, 0x01, 0x01),          // ldsmaxb: max(-128, 1)
    ] {
        let mut m = Machine::random(7);
        m.x[0] = rs;
        m.x[1] = MID;
        let o = (MID - DATA) as usize;
        m.mem[o..o + bytes as usize].copy_from_slice(&old.to_le_bytes()[..bytes as usize]);
        let r = run_chimera(&[w], &m, None);
        assert!(!r.faulted, "{w:#x}");
        assert_eq!(mem_at(&r.m, MID, bytes), new, "{w:#010x} ({}) rs {rs:#x} old {old:#x}", disasm(w));
        assert_eq!(r.m.x[0], old, "{w:#010x}: Rt gets the old value");
    }
}

// ---- floating point (scalar) ----
//
// chimera implements FP and AdvSIMD of Armv8.0 (ID_AA64PFR0_EL1.FP = AdvSIMD = 0, checked
// below). Unicorn's "max" CPU has later extensions that chimera does not advertise, so
// their encodings are not generated: half-precision arithmetic (FEAT_FP16: ftype = 11
// outside FCVT, FMOV (general) with ftype = 11), FRINT32*/FRINT64* (FEAT_FRINTTS), FJCVTZS
// (FEAT_JSCVT), and in AdvSIMD the three-register-extension class (dot product, FCMLA,
// SQRDMLAH: FEAT_DotProd, FEAT_FCMA, FEAT_RDM).

/// Bit patterns of an IEEE format with `e` exponent and `f` fraction bits: uniform, the
/// special values, NaNs (quiet and signalling, random payloads), subnormals, values near 1,
/// values near the integer-conversion limits, and exponents at the under/overflow edges.
fn fp_bits(e: u32, f: u32) -> impl Strategy<Value = u64> {
    let emax = (1u64 << e) - 1;
    let bias = emax >> 1;
    let fmask = (1u64 << f) - 1;
    let sign = 1u64 << (e + f);
    let mk = move |s: bool, exp: u64, frac: u64| (s as u64) << (e + f) | exp << f | (frac & fmask);
    prop_oneof![
        3 => any::<u64>().prop_map(move |v| v & (sign << 1).wrapping_sub(1)),
        2 => prop::sample::select(vec![
            0,
            sign,
            emax << f,                       // +inf
            sign | emax << f,                // -inf
            emax << f | 1 << (f - 1),        // default NaN
            bias << f,                       // 1.0
            sign | bias << f,                // -1.0
            (emax - 1) << f | fmask,         // max normal
            1 << f,                          // min normal
            1,                               // min subnormal
            sign | fmask,                    // max subnormal, negative
            (bias - 1) << f | 1 << (f - 1),  // 0.75
            bias << f | 1 << (f - 1),        // 1.5
            (bias + 1) << f | 1 << (f - 2),  // 2.5
        ]),
        2 => (any::<bool>(), any::<bool>(), any::<u64>())
            .prop_map(move |(s, q, p)| mk(s, emax, if q { 1 << (f - 1) | p } else { (p & (fmask >> 1)).max(1) })),
        2 => (any::<bool>(), any::<u64>()).prop_map(move |(s, fr)| mk(s, 0, fr)),
        2 => (any::<bool>(), 0..8u64, any::<u64>()).prop_map(move |(s, d, fr)| mk(s, bias + d - 4, fr)),
        // Around 2^30 .. 2^66: the int32/int64 conversion boundaries; low fractions.
        2 => (any::<bool>(), 29..67u64, any::<u64>(), 0..3u32)
            .prop_map(move |(s, x, fr, k)| mk(s, (bias + x).min(emax - 1), fr >> (k * 20))),
        1 => (any::<bool>(), prop::sample::select(vec![1u64, 2, 3]), any::<u64>(), any::<bool>())
            .prop_map(move |(s, d, fr, hi)| mk(s, if hi { emax - d } else { d }, fr)),
        // Exact integers and integers + 0.5 up to 2^f (rounding ties: FRINTA vs FRINTN, ...).
        3 => (any::<bool>(), any::<u64>(), any::<u64>(), any::<bool>()).prop_map(move |(s, x, fr, half)| {
            let x = x % f as u64;
            let frac = fr << (f as u64 - x) | if half { 1 << (f as u64 - x - 1) } else { 0 };
            mk(s, bias + x, frac)
        }),
    ]
}

/// A value for an FP register of format `ftype` (0 S, 1 D, 3 H).
fn fp_operand(ftype: u32) -> BoxedStrategy<u64> {
    match ftype {
        0 => fp_bits(8, 23).boxed(),
        1 => fp_bits(11, 52).boxed(),
        _ => fp_bits(5, 10).boxed(),
    }
}

/// FPCR: RMode (23:22), FZ (24), DN (25), AHP (26); FPSR: a random subset of the
/// cumulative flags IOC, DZC, OFC, UFC, IXC, IDC and QC (flags must be ORed in, not set).
fn fp_ctl() -> impl Strategy<Value = (u64, u64)> {
    (0u64..32, prop_oneof![2 => Just(0u64), 1 => any::<u64>()])
        .prop_map(|(c, s)| (c << 22, s & (0x9f | 1 << 27)))
}

/// Writes the low `bits` of V`r`, keeping the (random) rest.
fn set_v(m: &mut Machine, r: u32, bits: u32, val: u64) {
    let mask = if bits >= 64 { u64::MAX as u128 } else { (1u128 << bits) - 1 };
    m.v[r as usize] = (m.v[r as usize] & !mask) | (val as u128 & mask);
}

fn fp_width(ftype: u32) -> u32 {
    match ftype {
        0 => 32,
        1 => 64,
        _ => 16,
    }
}

/// Three FP operands of format `ftype` each, for strategies that pick ftype first.
fn fp3(ftypes: Vec<u32>) -> impl Strategy<Value = (u32, [u64; 3])> {
    prop::sample::select(ftypes).prop_flat_map(|t| (Just(t), [fp_operand(t), fp_operand(t), fp_operand(t)]))
}

#[test]
fn fp_data_processing_2_source() {
    // FMUL/FDIV/FADD/FSUB/FMAX/FMIN/FMAXNM/FMINNM/FNMUL: 0 0 0 11110 ftype 1 Rm opcode 10 Rn Rd
    // (opcode 9-15 unallocated: generated). ftype 10 is unallocated (generated).
    assert_eq!(cpu_arm64::sysreg::id::AA64PFR0 >> 16 & 0xff, 0, "chimera advertises FP and AdvSIMD");
    let s = (fp3(vec![0, 0, 0, 1, 1, 1, 2]), 0u32..16, (reg(), reg(), reg()), fp_ctl(), seed());
    family("fp_dp2", CASES, s, |((ft, [a, b, _]), opc, (rm, rn, rd), (fpcr, fpsr), seed)| {
        let w = 0b11110 << 24 | ft << 22 | 1 << 21 | rm << 16 | opc << 12 | 0b10 << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        set_v(&mut m, rn, fp_width(ft), a);
        set_v(&mut m, rm, fp_width(ft), b);
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn fp_data_processing_1_source() {
    // FMOV/FABS/FNEG/FSQRT (opcode 0-3), FRINTN/P/M/Z/A/X/I (8-12, 14, 15; 13 unallocated):
    // 0 0 0 11110 ftype 1 opcode 10000 Rn Rd, ftype S/D. FCVT (opcode 0001 opc, opc = the
    // destination S/D/H) from S, D and H (the conversions exist without FEAT_FP16).
    let arith = (
        prop::sample::select(vec![0u32, 1]),
        prop::sample::select(vec![0u32, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15]),
    );
    let cvt = (prop::sample::select(vec![0u32, 1, 3]), prop::sample::select(vec![4u32, 5, 7]));
    let fields =
        prop_oneof![2 => arith, 1 => cvt].prop_flat_map(|(ft, opc)| (Just(ft), Just(opc), fp_operand(ft)));
    let s = (fields, reg(), reg(), fp_ctl(), seed());
    family("fp_dp1", CASES, s, |((ft, opc, a), rn, rd, (fpcr, fpsr), seed)| {
        let w = 0b11110 << 24 | ft << 22 | 1 << 21 | opc << 15 | 0b10000 << 10 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        set_v(&mut m, rn, fp_width(ft), a);
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn fp_data_processing_3_source() {
    // FMADD/FMSUB/FNMADD/FNMSUB: 0 0 0 11111 ftype o1 Rm o0 Ra Rn Rd (fused: one rounding).
    let s = (fp3(vec![0, 1]), any::<[bool; 2]>(), (reg(), reg(), reg(), reg()), fp_ctl(), seed());
    family("fp_dp3", CASES, s, |((ft, [a, b, acc]), [o1, o0], (rm, ra, rn, rd), (fpcr, fpsr), seed)| {
        let w = 0b11111 << 24
            | ft << 22
            | (o1 as u32) << 21
            | rm << 16
            | (o0 as u32) << 15
            | ra << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        set_v(&mut m, ra, fp_width(ft), acc);
        set_v(&mut m, rn, fp_width(ft), a);
        set_v(&mut m, rm, fp_width(ft), b);
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn fp_compare_and_select() {
    // FCMP/FCMPE (register, #0.0): 0 0 0 11110 ftype 1 Rm 00 1000 Rn opc2 (opc2 00000, 01000,
    // 10000, 11000; Rm = 0 for #0.0: should-be-zero); FCCMP/FCCMPE: ... Rm cond 01 Rn op nzcv;
    // FCSEL: ... Rm cond 11 Rn Rd. Checks NZCV, FPSR (IOC for signalling compares and
    // sNaNs) and the selected register.
    let s = (fp3(vec![0, 1]), 0u32..5, 0u32..16, 0u32..16, (reg(), reg(), reg()), flags(), fp_ctl(), seed());
    family("fp_cmp", CASES, s, |((ft, [a, b, _]), kind, cond, nzcv, (rm, rn, rd), f, (fpcr, fpsr), seed)| {
        let base = 0b11110 << 24 | ft << 22 | 1 << 21;
        let w = match kind {
            0 | 1 => base | rm << 16 | 0b1000 << 10 | rn << 5 | (kind << 4),
            2 => base | 0b1000 << 10 | rn << 5 | 0b01000 | (cond & 1) << 4,
            3 => base | rm << 16 | cond << 12 | 0b01 << 10 | rn << 5 | (rd & 1) << 4 | nzcv,
            _ => base | rm << 16 | cond << 12 | 0b11 << 10 | rn << 5 | rd,
        };
        let mut m = Machine::random(seed);
        set_v(&mut m, rn, fp_width(ft), a);
        set_v(&mut m, rm, fp_width(ft), b);
        m.nzcv = f;
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn fp_integer_conversions() {
    // FP <-> integer: sf 0 0 11110 ftype 1 rmode opcode 000000 Rn Rd, ftype S/D:
    // FCVT{N,P,M,Z}{S,U} (rmode 0-3, opcode 000/001), FCVTA{S,U} (rmode 00, opcode 100/101),
    // SCVTF/UCVTF (opcode 010/011; rmode != 00 unallocated: generated), FMOV (general) W<->S,
    // X<->D, X<->V.D[1] and invalid size combinations (generated: UNDEFINED).
    let op = prop_oneof![
        4 => (0u32..4, 0u32..2),
        1 => (Just(0u32), 4u32..6),
        2 => (0u32..4, 2u32..4),
        1 => (0u32..2, 6u32..8),
    ];
    let fields = (any::<bool>(), prop::sample::select(vec![0u32, 1]), op)
        .prop_flat_map(|(sf, ft, (rmode, opc))| (Just((sf, ft, rmode, opc)), fp_operand(ft), val()));
    let s = (fields, reg(), reg(), fp_ctl(), seed());
    family("fp_int_conv", CASES, s, |(((sf, ft, rmode, opc), a, x), rn, rd, (fpcr, fpsr), seed)| {
        // FMOV X<->V.D[1] is ftype 10 rmode 01.
        let ft = if opc >= 6 && rmode == 1 { 2 } else { ft };
        let w =
            (sf as u32) << 31 | 0b11110 << 24 | ft << 22 | 1 << 21 | rmode << 19 | opc << 16 | rn << 5 | rd;
        let mut m = Machine::random(seed);
        set_v(&mut m, rn, fp_width(ft), a);
        m.set_x(rn, x);
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn fp_fixed_point_conversions() {
    // SCVTF/UCVTF/FCVTZS/FCVTZU (fixed point): sf 0 0 11110 ftype 0 rmode opcode scale Rn Rd,
    // #fbits = 64 - scale (32-bit scale < 32 unallocated: generated).
    let op = prop::sample::select(vec![(0u32, 2u32), (0, 3), (3, 0), (3, 1)]);
    let fields = (any::<bool>(), prop::sample::select(vec![0u32, 1]), op, 0u32..64)
        .prop_flat_map(|(sf, ft, op, scale)| (Just((sf, ft, op, scale)), fp_operand(ft), val()));
    let s = (fields, reg(), reg(), fp_ctl(), seed());
    family(
        "fp_fixed_conv",
        CASES,
        s,
        |(((sf, ft, (rmode, opc), scale), a, x), rn, rd, (fpcr, fpsr), seed)| {
            let w = (sf as u32) << 31
                | 0b11110 << 24
                | ft << 22
                | rmode << 19
                | opc << 16
                | scale << 10
                | rn << 5
                | rd;
            let mut m = Machine::random(seed);
            set_v(&mut m, rn, fp_width(ft), a);
            m.set_x(rn, x);
            m.fpcr = fpcr;
            m.fpsr = fpsr;
            (vec![w], m)
        },
    );
}

#[test]
fn fp_move_immediate() {
    // FMOV (scalar, immediate): 0 0 0 11110 ftype 1 imm8 100 imm5 Rd (imm5 != 0 unallocated).
    let s = (
        prop::sample::select(vec![0u32, 1]),
        any::<u8>(),
        prop_oneof![7 => Just(0u32), 1 => 1u32..32],
        reg(),
        seed(),
    );
    family("fmov_imm", CASES, s, |(ft, imm8, imm5, rd, seed)| {
        let w = 0b11110 << 24 | ft << 22 | 1 << 21 | (imm8 as u32) << 13 | 0b100 << 10 | imm5 << 5 | rd;
        (vec![w], Machine::random(seed))
    });
}

// ---- Advanced SIMD ----

/// Bits 31:28 of the AdvSIMD classes that have vector and scalar forms: 0 Q U 0 for a
/// vector, 0 1 U 1 for a scalar (Q = 1).
fn simd_top(q: bool, u: bool, scalar: bool) -> u32 {
    (q as u32 | scalar as u32) << 30 | (u as u32) << 29 | (scalar as u32) << 28
}

/// A 128-bit vector operand: uniform, lanes of boundary bytes (0x00, 0x01, 0x7f, 0x80,
/// 0xfe, 0xff: saturation and sign edges at every element size), or small lanes.
fn vec_val() -> impl Strategy<Value = u128> {
    let edge = prop::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xfe, 0xff]);
    prop_oneof![
        3 => any::<u128>(),
        2 => prop::array::uniform16(edge).prop_map(u128::from_le_bytes),
        1 => prop::array::uniform16(0u8..4).prop_map(u128::from_le_bytes),
    ]
}

/// A vector of FP lanes: four singles (`sz` = 0) or two doubles (1).
fn vec_fp(sz: u32) -> BoxedStrategy<u128> {
    if sz == 0 {
        prop::array::uniform4(fp_bits(8, 23))
            .prop_map(|l| l.iter().rev().fold(0u128, |a, &x| a << 32 | (x & 0xffff_ffff) as u128))
            .boxed()
    } else {
        prop::array::uniform2(fp_bits(11, 52)).prop_map(|l| (l[1] as u128) << 64 | l[0] as u128).boxed()
    }
}

/// Vector operands for V`rn`, V`rm`, V`rd` (in that order, so a shared register keeps the
/// last value); `same` copies Rn's value into Rm first (equal lanes for compares).
fn set_vecs(m: &mut Machine, regs: [u32; 3], vals: [u128; 3], same: bool) {
    let [rn, rm, rd] = regs;
    m.v[rd as usize] = vals[2];
    m.v[rm as usize] = if same { vals[0] ^ (vals[1] & 0xff00) } else { vals[1] };
    m.v[rn as usize] = vals[0];
}

#[test]
fn simd_three_same_integer() {
    // Vector: 0 Q U 01110 size 1 Rm opcode 1 Rn Rd, opcode 0-0x17 (SHADD .. ADDP, logic ops
    // in opcode 00011 by size/U); scalar: 01 U 11110 size 1 Rm opcode 1 Rn Rd. Reserved
    // size/Q/opcode combinations are generated (both UNDEFINED). QC in FPSR is compared.
    let s = (
        any::<[bool; 4]>(),
        0u32..4,
        0u32..0x18,
        (reg(), reg(), reg()),
        [vec_val(), vec_val(), vec_val()],
        seed(),
    );
    family("simd_3same", CASES, s, |([q, u, scalar, same], size, opc, (rm, rn, rd), vals, seed)| {
        let w = simd_top(q, u, scalar)
            | 0b01110 << 24
            | size << 22
            | 1 << 21
            | rm << 16
            | opc << 11
            | 1 << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        set_vecs(&mut m, [rn, rm, rd], vals, same);
        m.fpsr = 0;
        (vec![w], m)
    });
}

#[test]
fn simd_three_same_fp() {
    // FP three-same, vector (0 Q U 01110 a sz 1 Rm opcode 1 Rn Rd, opcode 11000-11111: FMAXNM,
    // FMLA, FADD, FMULX, FCMEQ, FMAX, FRECPS, FMINNM, FMLS, FSUB, FMIN, FRSQRTS, FADDP, FMUL,
    // FCMGE, FACGE, FMAXP, FDIV, FMINNMP, FABD, FCMGT, FACGT, FMINP, ...) and scalar (01 U 11110
    // ...). The half-precision forms are a different class (FEAT_FP16): not generated; nor
    // are FMLAL/FMLSL (U = 0, opcode 11101, sz = 0) and FMLAL2/FMLSL2 (U = 1, opcode 11001,
    // sz = 0), which are FEAT_FHM.
    let s = (any::<[bool; 5]>(), 0u32..8, (reg(), reg(), reg()), fp_ctl(), seed()).prop_flat_map(|t| {
        let sz = t.0[4] as u32;
        (Just(t), [vec_fp(sz), vec_fp(sz), vec_fp(sz)])
    });
    family(
        "simd_3same_fp",
        CASES,
        s,
        |(([q, u, a, scalar, sz], opc, (rm, rn, rd), (fpcr, fpsr), seed), vals)| {
            let fhm = !sz && ((!u && opc == 0b101) || (u && opc == 0b001));
            let opc = if fhm { opc ^ 0b100 } else { opc };
            let w = simd_top(q, u, scalar)
                | 0b01110 << 24
                | (a as u32) << 23
                | (sz as u32) << 22
                | 1 << 21
                | rm << 16
                | (0b11000 | opc) << 11
                | 1 << 10
                | rn << 5
                | rd;
            let mut m = Machine::random(seed);
            set_vecs(&mut m, [rn, rm, rd], vals, false);
            m.fpcr = fpcr;
            m.fpsr = fpsr;
            (vec![w], m)
        },
    );
}

#[test]
fn simd_three_different() {
    // 0 Q U 01110 size 1 Rm opcode 00 Rn Rd: SADDL, SADDW, SSUBL, SSUBW, ADDHN, SABAL, SUBHN,
    // SABDL, SMLAL, SQDMLAL, SMLSL, SQDMLSL, SMULL, SQDMULL, PMULL (and U forms); scalar
    // SQDMLAL/SQDMLSL/SQDMULL (01 U 11110 ...). PMULL with size 11 (PMULL.1Q) needs FEAT_PMULL,
    // which chimera does not advertise: not generated.
    let s = (
        any::<[bool; 3]>(),
        0u32..4,
        0u32..16,
        (reg(), reg(), reg()),
        [vec_val(), vec_val(), vec_val()],
        seed(),
    );
    family("simd_3diff", CASES, s, |([q, u, scalar], size, opc, (rm, rn, rd), vals, seed)| {
        let size = if opc == 0b1110 && size == 3 { 2 } else { size };
        let w = simd_top(q, u, scalar)
            | 0b01110 << 24
            | size << 22
            | 1 << 21
            | rm << 16
            | opc << 12
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        set_vecs(&mut m, [rn, rm, rd], vals, false);
        m.fpsr = 0;
        (vec![w], m)
    });
}

#[test]
fn simd_two_register_misc_integer() {
    // 0 Q U 01110 size 10000 opcode 10 Rn Rd (vector) and 01 U 11110 size 10000 opcode 10
    // (scalar), integer opcodes: REV64/REV32, REV16, [SU]ADDLP, SUQADD/USQADD, CLS/CLZ,
    // CNT/NOT/RBIT, [SU]ADALP, SQABS/SQNEG, CMGT/CMGE/CMEQ/CMLE/CMLT #0, ABS/NEG, XTN/SQXTUN,
    // SHLL, SQXTN/UQXTN.
    let op = prop::sample::select(vec![0u32, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x12, 0x13, 0x14]);
    let s = (any::<[bool; 3]>(), 0u32..4, op, reg(), reg(), vec_val(), seed());
    family("simd_misc_int", CASES, s, |([q, u, scalar], size, opc, rn, rd, a, seed)| {
        let w = simd_top(q, u, scalar)
            | 0b01110 << 24
            | size << 22
            | 0b10000 << 17
            | opc << 12
            | 0b10 << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.v[rn as usize] = a;
        m.fpsr = 0;
        (vec![w], m)
    });
}

#[test]
fn simd_two_register_misc_fp() {
    // The FP opcodes of the same classes, size = a:sz: FCMGT/FCMEQ/FCMLT/FCMGE/FCMLE #0,
    // FABS/FNEG, FCVTN/FCVTXN, FCVTL, FRINTN/A/P/Z/M/X/I, FCVT{N,M,A,P,Z}{S,U}, SCVTF/UCVTF,
    // URECPE/FRECPE, URSQRTE/FRSQRTE, FSQRT. Opcodes 11110/11111 with a = 0 are
    // FRINT32*/FRINT64* (FEAT_FRINTTS): not generated.
    let op = prop::sample::select(vec![
        0x0cu32, 0x0d, 0x0e, 0x0f, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1f,
    ]);
    let s = (any::<[bool; 5]>(), op, reg(), reg(), fp_ctl(), seed()).prop_flat_map(|t| {
        let sz = t.0[4] as u32;
        (Just(t), vec_fp(sz))
    });
    family("simd_misc_fp", CASES, s, |(([q, u, scalar, a, sz], opc, rn, rd, (fpcr, fpsr), seed), v)| {
        let a = if opc == 0x1f { true } else { a };
        let w = simd_top(q, u, scalar)
            | 0b01110 << 24
            | (a as u32) << 23
            | (sz as u32) << 22
            | 0b10000 << 17
            | opc << 12
            | 0b10 << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.v[rn as usize] = v;
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn simd_shift_by_immediate() {
    // 0 Q U 011110 immh immb opcode 1 Rn Rd (vector; immh != 0) and 01 U 111110 ... (scalar):
    // SSHR, SSRA, SRSHR, SRSRA, SRI, SHL/SLI, SQSHLU, SQSHL, SHRN/SQSHRUN, RSHRN/SQRSHRUN,
    // SQSHRN, SQRSHRN, SSHLL, SCVTF and FCVTZS (fixed point), with the U forms.
    let op =
        prop::sample::select(vec![0u32, 2, 4, 6, 8, 0xa, 0xc, 0xe, 0x10, 0x11, 0x12, 0x13, 0x14, 0x1c, 0x1f]);
    // The fixed-point conversions with 16-bit elements (immh = 001x) are FEAT_FP16: not
    // generated.
    let s =
        (any::<[bool; 3]>(), 1u32..16, 0u32..8, op, reg(), reg(), [vec_val(), vec_val()], fp_ctl(), seed());
    family(
        "simd_shift_imm",
        CASES,
        s,
        |([q, u, scalar], immh, immb, opc, rn, rd, [a, d], (fpcr, fpsr), seed)| {
            let immh = if opc >= 0x1c && immh < 4 { immh + 4 } else { immh };
            let w = simd_top(q, u, scalar)
                | 0b01111 << 24
                | immh << 19
                | immb << 16
                | opc << 11
                | 1 << 10
                | rn << 5
                | rd;
            let mut m = Machine::random(seed);
            m.v[rd as usize] = d;
            m.v[rn as usize] = a;
            m.fpcr = fpcr;
            m.fpsr = fpsr;
            (vec![w], m)
        },
    );
}

#[test]
fn simd_by_element() {
    // 0 Q U 01111 size L M Rm opcode H 0 Rn Rd (vector) and 01 U 11111 ... (scalar): MLA, MLS,
    // [SU]MLAL, [SU]MLSL, SQDMLAL, SQDMLSL, MUL, [SU]MULL, SQDMULL, SQDMULH, SQRDMULH, FMLA,
    // FMLS, FMUL, FMULX by element. Not generated: SQRDMLAH/SQRDMLSH (U = 1, opcode 11x1:
    // FEAT_RDM), SDOT/UDOT (opcode 1110: FEAT_DotProd), FCMLA (U = 1, opcode 0xx1: FEAT_FCMA)
    // and the half-precision FP forms (size 00: FEAT_FP16).
    let op = prop::sample::select(vec![
        (false, 0b0010u32),
        (false, 0b0011),
        (false, 0b0110),
        (false, 0b0111),
        (false, 0b1000),
        (false, 0b1010),
        (false, 0b1011),
        (false, 0b1100),
        (false, 0b1101),
        (false, 0b0001),
        (false, 0b0101),
        (false, 0b1001),
        (true, 0b0000),
        (true, 0b0010),
        (true, 0b0100),
        (true, 0b0110),
        (true, 0b1010),
        (true, 0b1001),
    ]);
    let s = (
        any::<[bool; 4]>(),
        0u32..4,
        op,
        (reg(), reg(), reg()),
        [vec_val(), vec_val(), vec_val()],
        fp_ctl(),
        seed(),
    );
    family(
        "simd_elem",
        CASES,
        s,
        |([q, scalar, l, h], size, (u, opc), (rm, rn, rd), vals, (fpcr, fpsr), seed)| {
            let fp = matches!(opc, 0b0001 | 0b0101 | 0b1001);
            let size = if fp && size < 2 { size + 2 } else { size };
            let w = simd_top(q, u, scalar)
                | 0b01111 << 24
                | size << 22
                | (l as u32) << 21
                | rm << 16
                | opc << 12
                | (h as u32) << 11
                | rn << 5
                | rd;
            let mut m = Machine::random(seed);
            set_vecs(&mut m, [rn, rm & 15, rd], vals, false);
            m.fpcr = fpcr;
            m.fpsr = fpsr;
            (vec![w], m)
        },
    );
}

#[test]
fn simd_permute_extract_table() {
    // UZP1/TRN1/ZIP1/UZP2/TRN2/ZIP2: 0 Q 001110 size 0 Rm 0 opcode 10 Rn Rd (opcode 000, 100
    // unallocated: generated); EXT: 0 Q 101110 000 Rm 0 imm4 0 Rn Rd (Q = 0 with imm4<3> = 1
    // reserved: generated); TBL/TBX: 0 Q 001110 000 Rm 0 len op 00 Rn Rd, indices mostly in
    // range (lanes 0..64 against tables of 16..64 bytes).
    let idx = prop::array::uniform16(0u8..72).prop_map(u128::from_le_bytes);
    let s = (
        any::<[bool; 2]>(),
        0u32..3,
        0u32..4,
        0u32..16,
        (reg(), reg(), reg()),
        [vec_val(), vec_val(), vec_val()],
        idx,
        seed(),
    );
    family("simd_perm", CASES, s, |([q, op], kind, size, imm, (rm, rn, rd), vals, idx, seed)| {
        let q = (q as u32) << 30;
        let mut m = Machine::random(seed);
        set_vecs(&mut m, [rn, rm, rd], vals, false);
        let w = match kind {
            0 => q | 0b001110 << 24 | size << 22 | rm << 16 | (imm & 7) << 12 | 0b10 << 10 | rn << 5 | rd,
            1 => q | 0b101110 << 24 | rm << 16 | imm << 11 | rn << 5 | rd,
            _ => {
                m.v[rm as usize] = idx;
                q | 0b001110 << 24 | rm << 16 | (imm & 3) << 13 | (op as u32) << 12 | rn << 5 | rd
            }
        };
        (vec![w], m)
    });
}

#[test]
fn simd_across_lanes() {
    // 0 Q U 01110 size 11000 opcode 10 Rn Rd: [SU]ADDLV, [SU]MAXV, [SU]MINV, ADDV, and the
    // single-precision FMAXNMV/FMINNMV/FMAXV/FMINV (U = 1; U = 0 is FEAT_FP16: not generated).
    let op = prop::sample::select(vec![
        (false, 0b00011u32),
        (false, 0b01010),
        (false, 0b11010),
        (false, 0b11011),
        (true, 0b00011),
        (true, 0b01010),
        (true, 0b11010),
        (true, 0b01100),
        (true, 0b01111),
    ]);
    let s =
        (any::<[bool; 2]>(), 0u32..4, op, reg(), reg(), prop_oneof![vec_val(), vec_fp(0)], fp_ctl(), seed());
    family("simd_across", CASES, s, |([q, fp_hi], size, (u, opc), rn, rd, a, (fpcr, fpsr), seed)| {
        let size = if opc & 0b01100 == 0b01100 { (fp_hi as u32) << 1 | (size & 1) } else { size };
        let w = (q as u32) << 30
            | (u as u32) << 29
            | 0b01110 << 24
            | size << 22
            | 0b11000 << 17
            | opc << 12
            | 0b10 << 10
            | rn << 5
            | rd;
        let mut m = Machine::random(seed);
        m.v[rn as usize] = a;
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn simd_copy_and_modified_immediate() {
    // DUP (element, general), INS (general, element), SMOV, UMOV: 0 Q op 01110000 imm5 0 imm4 1
    // Rn Rd with random imm5/imm4 (many reserved: generated); MOVI/MVNI/ORR/BIC/FMOV (vector,
    // immediate): 0 Q op 0111100000 abc cmode o2=0 1 defgh Rd (o2 = 1 is FMOV half-precision,
    // FEAT_FP16: not generated).
    let s = (any::<[bool; 3]>(), 0u32..32, 0u32..16, any::<u8>(), reg(), reg(), val(), seed());
    family("simd_copy_imm", CASES, s, |([q, op, movi], imm5, imm4, imm8, rn, rd, x, seed)| {
        let (q, op) = ((q as u32) << 30, (op as u32) << 29);
        let mut m = Machine::random(seed);
        let w = if movi {
            let imm8 = imm8 as u32;
            q | op | 0b0111100000 << 19 | (imm8 >> 5) << 16 | imm4 << 12 | 1 << 10 | (imm8 & 31) << 5 | rd
        } else {
            m.set_x(rn, x);
            q | op | 0b01110000 << 21 | imm5 << 16 | imm4 << 11 | 1 << 10 | rn << 5 | rd
        };
        (vec![w], m)
    });
}

#[test]
fn simd_fp_load_store() {
    // SIMD&FP registers: LDR/STR B/H/S/D/Q (size:opc<1> selects; unsigned offset, unscaled,
    // pre/post-indexed: size 111 1 0x opc ..., register offset), LDP/STP S/D/Q (opc 101 1 mode
    // L ...), and LD1-LD4/ST1-ST4 multiple structures (0 Q 0011000 L 000000 opcode size Rn Rt,
    // no offset). Addresses are aligned to the access (element) size; pre/post-index
    // writeback needs no register distinctness here since Rt is a V register.
    let s = (
        0u32..4,
        0u32..4,
        0u32..16,
        -0x800i64..0x800,
        any::<u32>(),
        reg(),
        reg(),
        reg(),
        any::<[bool; 2]>(),
        seed(),
    );
    family("fp_ldst", CASES, s, |(kind, size, opc, off, imm, rn, rt, rm, [load, q], seed)| {
        let mut m = Machine::random(seed);
        let w = match kind {
            0 | 1 => {
                // Single register: bytes = 1 << (opc<1>:size) with opc<1> = 1 only for Q.
                let big = opc & 2 != 0 && size == 0;
                let lg = if big { 4 } else { size };
                let bytes = 1u64 << lg;
                let o = if big { 2 } else { 0 } | load as u32;
                if kind == 0 {
                    let b = base_addr(off, rn, bytes);
                    m.set_xsp(rn, b);
                    size << 30 | 0b111101 << 24 | o << 22 | (imm % (0x1000 >> lg)) << 10 | rn << 5 | rt
                } else {
                    let mode = imm >> 28 & 3;
                    let (b, imm9) = unscaled_base(off, rn, (imm % 512) as i64 - 256, bytes, mode == 1);
                    m.set_xsp(rn, b);
                    let mode = if mode == 2 { 0 } else { mode }; // 10 is the register-offset form
                    ldst_imm9(size, true, o, imm9, mode, rn, rt)
                }
            }
            2 => {
                // LDP/STP: opc 00 S, 01 D, 10 Q (11 unallocated: generated).
                let o = size;
                let bytes = 4u64 << o.min(2);
                let mode = opc & 3;
                let imm7 = imm % 128;
                let b = base_addr(off, rn, bytes);
                m.set_xsp(rn, b);
                o << 30
                    | 0b101101 << 24
                    | mode << 23
                    | (load as u32) << 22
                    | imm7 << 15
                    | rm << 10
                    | rn << 5
                    | rt
            }
            _ => {
                // LD1-LD4/ST1-ST4 (multiple structures), opcode 0000 LD4, 0010 LD1x4, 0100 LD3,
                // 0110 LD1x3, 0111 LD1, 1000 LD2, 1010 LD1x2 (others unallocated): no offset
                // (0 Q 0011000 L 000000 opcode size Rn Rt) or post-indexed by Rm or, for
                // Rm = 31, the transfer size (0 Q 0011001 L 0 Rm ...). Single structures
                // LD1-LD4/ST1-ST4 to one lane and LD1R-LD4R (0 Q 001101 post 0 L R Rm opcode S
                // size Rn Rt; reserved size/S combinations generated).
                let single = imm & 2 != 0;
                // (A single structure's element size comes from opcode and size: 8-aligned.)
                let b = base_addr(off.min(0), rn, if single { 8 } else { 1 << size });
                let post = imm & 1 != 0;
                let rm = if rn != 31 { distinct(rm, &[rn]) } else { rm };
                m.set_x(rm, (imm >> 8) as u64 % 0x100);
                m.set_xsp(rn, b);
                let common = (q as u32) << 30 | (post as u32) << 23 | (load as u32) << 22 | rn << 5 | rt;
                let rm = if post { rm << 16 } else { 0 };
                if single {
                    let r = imm >> 2 & 1;
                    let opc3 = imm >> 3 & 7;
                    let s_bit = imm >> 6 & 1;
                    common | 0b0011010 << 23 | r << 21 | rm | opc3 << 13 | s_bit << 12 | size << 10
                } else {
                    common | 0b0011000 << 23 | rm | opc << 12 | size << 10
                }
            }
        };
        (vec![w], m)
    });
}

#[test]
fn vector_frecpx_is_undefined() {
    // 0x0ea1f808: 0 Q=0 U=0 01110 a=1 sz=0 10000 opcode=11111 10 Rn=0 Rd=8. Unicorn (and the
    // Arm ARM) make it UNDEFINED.
    let m = Machine::random(3);
    assert!(run_unicorn(&[0x0ea1_f808], &m, None).faulted);
    assert!(run_chimera(&[0x0ea1_f808], &m, None).faulted, "chimera executes the unallocated vector FRECPX");
}

// ---- branches and PC-relative addressing ----

/// A branch offset in words that keeps the target inside the code region.
fn branch_words() -> impl Strategy<Value = i32> {
    prop_oneof![3 => -0x1f00i32..0x1f00, 1 => -4i32..4]
}

#[test]
fn branches() {
    // One instruction, then the PC and registers are compared:
    //   B/BL            op 00101 imm26
    //   B.cond          01010100 imm19 0 cond (all 16 conditions; bit 4 = 1 is BC.cond,
    //                   FEAT_HBC: not generated)
    //   CBZ/CBNZ        sf 011010 op imm19 Rt
    //   TBZ/TBNZ        b5 011011 op b40 imm14 Rt
    //   BR/BLR/RET      1101011 0 0 opc 11111 000000 Rn 00000 (opc 00, 01, 10; the pointer-
    //                   authentication forms are not implemented by chimera: not generated)
    // Targets stay in the mapped code region; register targets are word aligned.
    let s = (0u32..5, any::<[bool; 2]>(), branch_words(), 0u32..64, 0u32..16, reg(), val(), flags(), seed());
    family_steps("branch", CASES, s, Some(1), |(kind, [op, sf], off, bit, cond, rt, v, f, seed)| {
        let mut m = Machine::random(seed);
        m.nzcv = f;
        let off = off as u32;
        let w = match kind {
            0 => (op as u32) << 31 | 0b00101 << 26 | (off & 0x3ff_ffff),
            1 => 0b01010100 << 24 | (off & 0x7ffff) << 5 | cond,
            2 => {
                // Zero in a third of the cases so both outcomes are taken.
                m.set_x(rt, if cond < 5 { v & 0xffff_ffff_0000_0000 } else { v });
                (sf as u32) << 31 | 0b011010 << 25 | (op as u32) << 24 | (off & 0x7ffff) << 5 | rt
            }
            3 => {
                m.set_x(rt, v);
                (bit >> 5) << 31
                    | 0b011011 << 25
                    | (op as u32) << 24
                    | (bit & 31) << 19
                    | (off & 0x3fff) << 5
                    | rt
            }
            _ => {
                let rn = distinct(rt, &[31]); // XZR would branch to 0, outside the region
                m.set_x(rn, CODE.wrapping_add((off as i32 as i64 * 4) as u64));
                0b1101011 << 25 | (cond % 3) << 21 | 0b11111 << 16 | rn << 5
            }
        };
        (vec![w], m)
    });
}

#[test]
fn pc_relative() {
    // ADR/ADRP: op immlo 10000 immhi Rd (any imm21); LDR (literal) opc 011 V 00 imm19 Rt:
    // W, X, LDRSW, PRFM (opc 11), and S, D, Q into SIMD&FP registers (opc 11 with V = 1
    // unallocated: generated); addresses within the code region, aligned to the access.
    let s = (any::<[bool; 3]>(), any::<u32>(), 0u32..4, branch_words(), reg(), seed());
    family("pc_relative", CASES, s, |([adr, op, v], imm21, opc, off, rt, seed)| {
        let w = if adr {
            let imm21 = imm21 & 0x1f_ffff;
            (op as u32) << 31 | (imm21 & 3) << 29 | 0b10000 << 24 | (imm21 >> 2) << 5 | rt
        } else {
            let align = if v { [1, 2, 4, 1][opc as usize] } else { [1, 2, 1, 1][opc as usize] };
            let off = off & !(align - 1);
            opc << 30 | 0b011 << 27 | (v as u32) << 26 | (off as u32 & 0x7ffff) << 5 | rt
        };
        (vec![w], Machine::random(seed))
    });
}

// ---- exclusives, acquire/release ----

#[test]
fn exclusives_and_acquire_release() {
    // Short sequences on one address:
    //   LDXR/LDAXR; STXR/STLXR             (B/H/W/X; the store must succeed: status 0)
    //   LDXP/LDAXP; STXP/STLXP             (W/X pairs)
    //   CLREX; STXR                         (must fail: status 1, memory unchanged)
    //   LDAR/STLR, LDAPR (FEAT_LRCPC),      single instructions
    //   LDAPUR*/LDAPURS*/STLUR* (FEAT_LRCPC2: size 011001 opc 0 imm9 00 Rn Rt; the
    //   unallocated size/opc pairs are generated)
    // Encodings: size 001000 o2 L o1 Rs o0 Rt2 Rn Rt. Not generated, being CONSTRAINED
    // UNPREDICTABLE (C6.2 STXR, STXP, LDXP): Rs == Rt, Rs == Rt2 or Rs == Rn (Rn != 31) for
    // store-exclusives, Rt == Rt2 for load pairs; and a store-exclusive to another address
    // or size than the load marked (whether it succeeds is IMPLEMENTATION DEFINED).
    let s = (
        0u32..6,
        0u32..4,
        any::<[bool; 2]>(),
        -0x800i64..0x800,
        (reg(), reg(), reg(), reg()),
        (val(), val()),
        seed(),
    );
    family("exclusive", CASES, s, |(kind, size, [acq, pair], off, (rs, rn, rt, rt2), (a, b), seed)| {
        let mut m = Machine::random(seed);
        let excl = |size: u32, l: bool, o1: bool, rs: u32, o0: bool, rt2: u32, rn: u32, rt: u32| {
            size << 30
                | 0b001000 << 24
                | (l as u32) << 22
                | (o1 as u32) << 21
                | rs << 16
                | (o0 as u32) << 15
                | rt2 << 10
                | rn << 5
                | rt
        };
        let (size, pair) = if pair && kind < 2 { (2 | (size & 1), true) } else { (size, false) };
        let bytes = (1u64 << size) * if pair { 2 } else { 1 };
        let base = base_addr(off, rn, bytes);
        let avoid_base = if rn == 31 { vec![] } else { vec![rn] };
        let rt2 = if pair { distinct(rt2, &[rt]) } else { 31 };
        let code = match kind {
            0 | 1 => {
                // The load-exclusive's registers may overlap the base (the store then uses
                // a different register holding the base, so the address is the same).
                let mut avoid = vec![rt, rt2];
                avoid.extend(&avoid_base);
                let rs = distinct(rs, &avoid);
                let (st, st2) = (distinct(rt, &[rs]), distinct(rt2, &[rs]));
                let rn2 = if rn == 31 { 31 } else { distinct(rn, &[rt, rt2, rs, 31]) };
                m.set_x(st, a);
                m.set_x(st2, b);
                m.set_xsp(rn2, base);
                m.set_xsp(rn, base);
                vec![
                    excl(size, true, pair, 31, acq, rt2, rn, rt),
                    excl(size, false, pair, rs, kind == 1, if pair { st2 } else { 31 }, rn2, st),
                ]
            }
            2 => {
                let mut avoid = vec![rt];
                avoid.extend(&avoid_base);
                let rs = distinct(rs, &avoid);
                m.set_x(rt, a);
                m.set_xsp(rn, base);
                vec![0xd503_305f, excl(size, false, false, rs, acq, 31, rn, rt)]
                // CLREX
            }
            3 => {
                // LDAR (L = 1) / STLR (L = 0): o2 = 1, o1 = 0, o0 = 1, Rs = Rt2 = 11111.
                m.set_x(rt, a);
                m.set_xsp(rn, base);
                vec![
                    size << 30
                        | 0b001000 << 24
                        | 1 << 23
                        | (acq as u32) << 22
                        | 0x1f << 16
                        | 1 << 15
                        | 0x1f << 10
                        | rn << 5
                        | rt,
                ]
            }
            4 => {
                // LDAPR: size 111 0 00 1 0 1 11111 1 100 00 Rn Rt.
                m.set_xsp(rn, base);
                vec![size << 30 | 0b111000101 << 21 | 0x1f << 16 | 0b110000 << 10 | rn << 5 | rt]
            }
            _ => {
                let opc = rs & 3;
                let (b0, imm9) = unscaled_base(off, rn, (b % 512) as i64 - 256, 1 << size, false);
                m.set_x(rt, a);
                m.set_xsp(rn, b0);
                vec![size << 30 | 0b011001 << 24 | opc << 22 | (imm9 as u32 & 0x1ff) << 12 | rn << 5 | rt]
            }
        };
        (code, m)
    });
}

#[test]
fn simd_scalar_pairwise_and_dup() {
    // Scalar pairwise: 01 U 11110 size 11000 opcode 10 Rn Rd: ADDP (U = 0, opcode 11011),
    // FMAXNMP/FADDP/FMAXP (U = 1, opcode 01100/01101/01111, size 0x) and FMINNMP/FMINP (size 1x);
    // U = 0 with the FP opcodes is FEAT_FP16: not generated. DUP (element, scalar):
    // 01 0 11110000 imm5 0 0000 1 Rn Rd.
    let op =
        prop::sample::select(vec![(false, 0b11011u32), (true, 0b01100), (true, 0b01101), (true, 0b01111)]);
    let s = (
        any::<bool>(),
        0u32..4,
        op,
        0u32..32,
        reg(),
        reg(),
        prop_oneof![vec_val(), vec_fp(0), vec_fp(1)],
        fp_ctl(),
        seed(),
    );
    family("simd_scalar_pair", CASES, s, |(dup, size, (u, opc), imm5, rn, rd, a, (fpcr, fpsr), seed)| {
        let w = if dup {
            0b01 << 30 | 0b11110000 << 21 | imm5 << 16 | 1 << 10 | rn << 5 | rd
        } else {
            0b01 << 30
                | (u as u32) << 29
                | 0b11110 << 24
                | size << 22
                | 0b11000 << 17
                | opc << 12
                | 0b10 << 10
                | rn << 5
                | rd
        };
        let mut m = Machine::random(seed);
        m.v[rn as usize] = a;
        m.fpcr = fpcr;
        m.fpsr = fpsr;
        (vec![w], m)
    });
}

#[test]
fn special_registers() {
    // MSR <reg>, Xt then MRS Xt2, <reg> for NZCV, FPCR and FPSR (op0 = 3, op1 = 3, CRn = 4,
    // CRm:op2 = 2:0, 4:0, 4:1). Only the defined fields are written (NZCV; FPCR AHP, DN, FZ,
    // RMode and the trap enables, RAZ/WI in both; FPSR's cumulative flags and QC): whether
    // a RES0 bit reads back as written is the implementation's choice.
    let s = (0u32..3, reg(), reg(), any::<u64>(), flags(), seed());
    family("special_regs", CASES, s, |(which, rt, rt2, v, f, seed)| {
        let (enc, mask) =
            [(0x4200u32, 0xf000_0000u64), (0x4400, 0x07c0_9f00), (0x4420, 0x0800_009f)][which as usize];
        let mut m = Machine::random(seed);
        m.nzcv = f;
        m.set_x(rt, v & mask);
        (vec![0xd51b_0000 | enc | rt, 0xd53b_0000 | enc | rt2], m)
    });
}

#[test]
fn unaligned_normal_memory() {
    // The same loads and stores at any alignment, with chimera's RAM mapped as Normal memory
    // (MMU on, identity map): unaligned accesses are then architecturally allowed (B2.5.2;
    // SCTLR_EL1.A = 0), including ones that cross 8/16-byte boundaries. Unicorn runs with
    // its MMU off, where QEMU 5 does not apply Device alignment either, so both sides see
    // flat memory. Atomics and exclusives still require alignment (not generated here).
    //   LDUR/STUR (all sizes, sign-extending forms), pre/post-indexed: size 111 0 00 opc 0 imm9 mode Rn Rt
    //   LDP/STP/LDPSW W and X, signed offset: opc 101 0 010 L imm7 Rt2 Rn Rt
    //   SIMD&FP LDUR/STUR B/H/S/D/Q and LD1/ST1 {4 registers}
    NORMAL_MEMORY.set(true);
    let s = (
        0u32..4,
        0u32..4,
        0u32..4,
        -0x800i64..0x800,
        -256i32..256,
        (reg(), reg(), reg()),
        any::<[bool; 2]>(),
        seed(),
    );
    family("unaligned", CASES, s, |(kind, size, opc, off, imm, (rn, rt, rt2), [load, q], seed)| {
        let mut m = Machine::random(seed);
        let b = MID.wrapping_add(off as u64) & if rn == 31 { !15 } else { !0 };
        let w = match kind {
            0 => {
                let mode = [0, 1, 3, 0][(imm & 3) as usize];
                let rt = if mode != 0 && rn != 31 { distinct(rt, &[rn]) } else { rt };
                ldst_imm9(size, false, opc, imm as i64, mode, rn, rt)
            }
            1 => {
                let (rt, rt2) = (distinct(rt, &[rn]), distinct(rt2, &[rn]));
                let rt2 = if load { distinct(rt2, &[rt, rn]) } else { rt2 };
                let o = [0, 2, 1, 0][opc as usize] & if load { 3 } else { 2 }; // no STGP
                o << 30
                    | 0b101 << 27
                    | 0b010 << 23
                    | (load as u32) << 22
                    | (imm as u32 & 0x7f) << 15
                    | rt2 << 10
                    | rn << 5
                    | rt
            }
            2 => {
                let o = if size == 0 && opc & 2 != 0 { 2 } else { 0 } | load as u32;
                ldst_imm9(size, true, o, imm as i64, 0, rn, rt)
            }
            _ => {
                (q as u32) << 30
                    | 0b0011000 << 23
                    | (load as u32) << 22
                    | 0b0010 << 12
                    | size << 10
                    | rn << 5
                    | rt
            }
        };
        m.set_xsp(rn, b);
        (vec![w], m)
    });
    NORMAL_MEMORY.set(false);
}

/// A valid integer data-processing instruction made from random bits `r`: class `sel`'s
/// fixed bits are set and its reserved field values replaced (see the single-class
/// families for the encodings).
fn dp_word(sel: u32, r: u32) -> u32 {
    let sf = r >> 31;
    match sel % 12 {
        0 => (r & !(0x3f << 23)) | 0b100010 << 23,
        1 => {
            let w = (r & !(0x1f << 24) & !(1 << 21)) | 0b01011 << 24;
            let w = if (w >> 22) & 3 == 3 { w & !(3 << 22) } else { w };
            if sf == 0 {
                w & !(1 << 15)
            } else {
                w
            }
        }
        2 => (r & !(0x1f << 24) & !(if sf == 0 { 1 << 15 } else { 0 })) | 0b01010 << 24,
        3 => {
            let w = (r & !(0x3f << 23)) | 0b100101 << 23;
            let w = if (w >> 29) & 3 == 1 { w ^ (3 << 29) } else { w };
            if sf == 0 {
                w & !(1 << 22)
            } else {
                w
            }
        }
        4 => {
            let w = (r & !(0x3f << 23) & !(1 << 22)) | 0b100110 << 23 | sf << 22;
            let w = if (w >> 29) & 3 == 3 { w & !(1 << 29) } else { w };
            if sf == 0 {
                w & !(1 << 21 | 1 << 15)
            } else {
                w
            }
        }
        5 => (r & !(0xff << 21) & !(1 << 29) & !(1 << 11)) | 0b11010100 << 21,
        6 => (r & !(0xff << 21) & !(1 << 10) & !(1 << 4)) | 1 << 29 | 0b11010010 << 21,
        7 => (r & !(0xff << 21) & !(0x3f << 10)) | 0b11010000 << 21,
        8 => (r & 0x801f_03ff) | 0b11010110 << 21 | [2, 3, 8, 9, 10, 11][(r >> 10) as usize % 6] << 10,
        9 => {
            let op = (r >> 10) % 6;
            let op = if sf == 0 && op == 3 { 2 } else { op };
            (r & 0x8000_03ff) | 1 << 30 | 0b11010110 << 21 | op << 10
        }
        10 => (r & 0x801f_ffff) | 0b11011 << 24,
        _ => {
            let w = (r & 0x801f_ffff & !(0x3 << 21)) | 0b100111 << 23 | sf << 22;
            if sf == 0 {
                w & !(1 << 15)
            } else {
                w
            }
        }
    }
}

#[test]
fn integer_sequences() {
    // Straight-line sequences of 2-16 valid integer data-processing instructions (all the
    // classes above, flag setters and flag readers mixed), run as one decoded block in
    // chimera: registers and flags flow between instructions. Three quarters of the
    // instructions use only x0-x3 and register 31, so results feed later instructions.
    let s = (
        prop::collection::vec((0u32..12, any::<u32>(), any::<u32>()), 2..16),
        [val(), val(), val(), val()],
        flags(),
        seed(),
    );
    family("int_seq", CASES / 2, s, |(insns, vals, f, seed)| {
        let mut m = Machine::random(seed);
        for (k, v) in vals.iter().enumerate() {
            m.x[k] = *v; // x0-x3 get interesting values, the rest random
        }
        m.nzcv = f;
        let narrow = |w: u32, sel: u32, regs: u32| {
            if regs % 4 == 0 {
                return w;
            }
            let pick = |k: u32| [0, 1, 2, 3, 31][((regs >> (3 * k)) % 5) as usize];
            let mut w = w;
            if sel % 12 != 6 {
                w = (w & !0x1f) | pick(1); // not CCMP's nzcv field
            }
            if sel % 12 != 3 {
                w = (w & !(0x1f << 5)) | pick(2) << 5; // not MOVZ's imm16
            }
            if matches!(sel % 12, 1 | 2 | 5 | 6 | 7 | 8 | 10 | 11) {
                w = (w & !(0x1f << 16)) | pick(3) << 16;
            }
            if sel % 12 == 10 {
                w = (w & !(0x1f << 10)) | pick(4) << 10;
            }
            w
        };
        (insns.iter().map(|&(sel, r, regs)| narrow(dp_word(sel, r), sel, regs)).collect(), m)
    });
}
