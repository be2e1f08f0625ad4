//! The x87 FPU (SDM Vol 1 chapter 8, Vol 2 F* instruction pages).
//!
//! Registers hold 80-bit values; arithmetic is exact IEEE 754 with the FCW precision control
//! (24/53/64-bit significands with the full 15-bit exponent range) and rounding control.
//! Masked exceptions produce the masked responses (real indefinite, infinities, denormals);
//! an unmasked exception sets ES/B and the next waiting x87 instruction raises #MF (the
//! CR0.NE=1 behaviour; with NE=0 no FERR# is modelled and no #MF is raised). Unmasked
//! overflow/underflow store the masked result rather than the exponent-biased one.
//!
//! Accuracy: FADD/FSUB/FMUL/FDIV/FSQRT/FPREM/FPREM1/FRNDINT/FSCALE/FXTRACT, loads, stores and
//! conversions are exact (bit-identical to hardware). The transcendentals (FSIN, FCOS,
//! FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1) are evaluated in binary64 with the host's
//! libm and widened: they are accurate to about 1 ulp of double precision, not of the 64-bit
//! extended significand. FOP (last opcode) is recorded as 0.

use super::features_ok;
use super::softfloat::{self as sf, Op, Rm, Round, Val, F32, F64, F80};
use crate::cpu::X86Cpu;
use crate::fault::{exc, MF, NM, UD_, X};
use crate::platform::X86Platform;
use crate::state::{cr0, flags, Mode, CS};
use iced_x86::{Instruction, MemorySize as MS, Mnemonic as M, OpKind, Register};

const C0: u16 = 1 << 8;
const C1: u16 = 1 << 9;
const C2: u16 = 1 << 10;
const C3: u16 = 1 << 14;
const SF: u32 = 0x40;
const ES: u16 = 0x80;
const BUSY: u16 = 0x8000;

/// True if the instruction is an x87 instruction handled here.
pub fn is_x87(i: &Instruction, m: M) -> bool {
    let op = i.code().op_code();
    let oc = op.op_code();
    let first = if op.op_code_len() == 2 { oc >> 8 } else { oc };
    op.table() == iced_x86::OpCodeTableKind::Normal
        && (0xd8..=0xdf).contains(&first)
        && !matches!(m, M::Fxsave | M::Fxrstor)
}

/// TOP of the register stack.
pub fn top(c: &X86Cpu) -> usize {
    ((c.fpu.fsw >> 11) & 7) as usize
}

fn set_top(c: &mut X86Cpu, t: usize) {
    c.fpu.fsw = (c.fpu.fsw & !0x3800) | (((t & 7) as u16) << 11);
}

/// An 80-bit register image as an integer.
pub fn from_mem(b: &[u8; 10]) -> u128 {
    let mut x = [0u8; 16];
    x[..10].copy_from_slice(b);
    u128::from_le_bytes(x)
}

/// An integer as an 80-bit register image.
pub fn to_mem(v: u128) -> [u8; 10] {
    let b = v.to_le_bytes();
    let mut r = [0u8; 10];
    r.copy_from_slice(&b[..10]);
    r
}

/// The bits of ST(i) regardless of its tag.
pub fn st_bits(c: &X86Cpu, i: usize) -> u128 {
    from_mem(&c.fpu.st[(top(c) + i) & 7])
}

/// The tag for a value (SDM Vol 1 8.1.7): 0 valid, 1 zero, 2 special.
pub fn tag_of(v: u128) -> u8 {
    match sf::unpack(F80, v) {
        Val::Zero { .. } => 1,
        Val::Fin { .. } if !F80.is_denormal(v) => 0,
        _ => 2,
    }
}

/// The abridged (FXSAVE) tag byte: 1 bit per physical register, 1 = not empty.
pub fn abridged_tag(ftw: u16) -> u8 {
    (0..8).fold(0u8, |a, k| if (ftw >> (2 * k)) & 3 != 3 { a | (1 << k) } else { a })
}

fn phys_tag(c: &X86Cpu, phys: usize) -> u8 {
    ((c.fpu.ftw >> (2 * (phys & 7))) & 3) as u8
}

fn set_phys_tag(c: &mut X86Cpu, phys: usize, t: u8) {
    let s = 2 * (phys & 7);
    c.fpu.ftw = (c.fpu.ftw & !(3 << s)) | ((t as u16 & 3) << s);
}

fn empty(c: &X86Cpu, i: usize) -> bool {
    phys_tag(c, top(c) + i) == 3
}

fn set_st(c: &mut X86Cpu, i: usize, v: u128) {
    let phys = (top(c) + i) & 7;
    c.fpu.st[phys] = to_mem(v);
    set_phys_tag(c, phys, tag_of(v));
}

/// FNINIT state (SDM Vol 1 8.1.x, table 8-? "FINIT"): registers keep their contents.
pub fn init_state(c: &mut X86Cpu) {
    c.fpu.fcw = 0x037f;
    c.fpu.fsw = 0;
    c.fpu.ftw = 0xffff;
    c.fpu.fop = 0;
    c.fpu.fip = 0;
    c.fpu.fcs = 0;
    c.fpu.fdp = 0;
    c.fpu.fds = 0;
}

/// Per-instruction exception accumulator.
struct Fx {
    flags: u32,
    c1: bool,
}

impl Fx {
    fn new() -> Self {
        Fx { flags: 0, c1: false }
    }
    fn masked(&self, c: &X86Cpu, f: u32) -> bool {
        (c.fpu.fcw as u32) & f == f
    }
}

fn rounding(c: &X86Cpu) -> Round {
    let prec = match (c.fpu.fcw >> 8) & 3 {
        0 => 24,
        2 => 53,
        _ => 64,
    };
    Round {
        prec,
        den_prec: prec, // tiny results use the precision-control grid too
        emin: F80.emin(),
        emax: F80.emax(),
        rm: Rm::from_rc((c.fpu.fcw >> 10) as u32),
        ftz: false,
        ue_exact: c.fpu.fcw & 0x10 == 0,
    }
}

/// Full 64-bit precision with the current rounding: precision control applies only to
/// FADD/FSUB(R)/FMUL/FDIV(R) and FSQRT (SDM Vol 1 8.1.5.2).
fn rounding64(c: &X86Cpu) -> Round {
    Round { prec: 64, den_prec: 64, ..rounding(c) }
}

fn rc(c: &X86Cpu) -> Rm {
    Rm::from_rc((c.fpu.fcw >> 10) as u32)
}

/// Commits the accumulated flags: sets the sticky bits and C1, and ES/B for an unmasked one.
/// Returns true if an unmasked pre-computation exception (IE, DE, ZE) suppresses the result.
fn commit(c: &mut X86Cpu, fx: &Fx) -> bool {
    let f = fx.flags & 0x7f;
    c.fpu.fsw |= f as u16;
    if fx.c1 {
        c.fpu.fsw |= C1;
    } else {
        c.fpu.fsw &= !C1;
    }
    let unmasked = f & 0x3f & !(c.fpu.fcw as u32 & 0x3f);
    if unmasked != 0 {
        c.fpu.fsw |= ES | BUSY;
    }
    unmasked & (sf::IE | sf::DE | sf::ZE) != 0
}

fn indefinite() -> u128 {
    F80.indefinite()
}

/// Reads ST(i) as a value; None (stack underflow) if empty.
fn get(c: &X86Cpu, fx: &mut Fx, i: usize) -> Option<u128> {
    if empty(c, i) {
        fx.flags |= sf::IE | SF;
        fx.c1 = false;
        None
    } else {
        Some(st_bits(c, i))
    }
}

/// Pushes a value (stack overflow: IE|SF, C1=1, the indefinite if masked).
fn push(c: &mut X86Cpu, fx: &mut Fx, v: u128) {
    let t = (top(c) + 7) & 7;
    if phys_tag(c, t) != 3 {
        fx.flags |= sf::IE | SF;
        fx.c1 = true;
        if !fx.masked(c, sf::IE) {
            return;
        }
        set_top(c, t);
        set_st(c, 0, indefinite());
        return;
    }
    set_top(c, t);
    set_st(c, 0, v);
}

fn pop(c: &mut X86Cpu) {
    let t = top(c);
    set_phys_tag(c, t, 3);
    set_top(c, t + 1);
}

/// x87 NaN rules (SDM Vol 1 table 4-7): SNaN operands are quieted; with two NaNs a QNaN wins
/// over an SNaN, else the larger significand.
fn nan2(a: Val, b: Val, fx: &mut Fx) -> Option<Val> {
    let is_nan = |v: Val| matches!(v, Val::Nan { .. });
    let snan = |v: Val| matches!(v, Val::Nan { quiet: false, .. });
    if matches!(a, Val::Unsupported { .. }) || matches!(b, Val::Unsupported { .. }) {
        fx.flags |= sf::IE;
        return Some(sf::unpack(F80, indefinite()));
    }
    if !is_nan(a) && !is_nan(b) {
        return None;
    }
    if snan(a) || snan(b) {
        fx.flags |= sf::IE;
    }
    let q = |v: Val| match v {
        Val::Nan { neg, frac, .. } => Val::Nan { neg, quiet: true, frac: frac | (1 << 63) },
        o => o,
    };
    let pick = match (a, b) {
        (Val::Nan { quiet: qa, frac: fa, .. }, Val::Nan { quiet: qb, frac: fb, .. }) => {
            if qa != qb {
                if qa {
                    a
                } else {
                    b
                }
            } else if (fb | (1 << 63)) > (fa | (1 << 63)) {
                b
            } else {
                a
            }
        }
        (Val::Nan { .. }, _) => a,
        _ => b,
    };
    Some(q(pick))
}

fn is_denorm_val(bits: u128) -> bool {
    F80.is_denormal(bits)
}

/// Arithmetic on two extended operands with their denormal marks.
fn arith(c: &X86Cpu, fx: &mut Fx, op: Op, a: u128, b: u128, extra_den: bool) -> u128 {
    let (va, vb) = (sf::unpack(F80, a), sf::unpack(F80, b));
    if let Some(n) = nan2(va, vb, fx) {
        return sf::pack(F80, n);
    }
    let zdiv = op == Op::Div && matches!(vb, Val::Zero { .. }) && matches!(va, Val::Fin { .. });
    if (is_denorm_val(a) || is_denorm_val(b) || extra_den) && !zdiv {
        fx.flags |= sf::DE;
    }
    let (v, fl) = sf::arith(rounding(c), op, va, vb);
    finish_val(fx, v, fl)
}

fn finish_val(fx: &mut Fx, v: Val, fl: u32) -> u128 {
    fx.flags |= fl & 0x3f;
    fx.c1 = fl & sf::C1UP != 0 && fl & sf::PE != 0;
    if fl & sf::IE != 0 {
        indefinite()
    } else {
        sf::pack(F80, v)
    }
}

/// Converts a memory float (m32/m64) to extended, exactly; flags IE for SNaN (quieted) and
/// DE for denormals. Returns (bits, was denormal).
fn widen(fx: &mut Fx, f: sf::Fmt, bits: u128, quiet_snan: bool) -> (u128, bool) {
    let v = sf::unpack(f, bits);
    let den = f.is_denormal(bits);
    let v = match v {
        Val::Nan { neg, quiet: false, frac } if quiet_snan => {
            fx.flags |= sf::IE;
            Val::Nan { neg, quiet: true, frac: frac | (1 << 63) }
        }
        o => o,
    };
    (sf::pack(F80, v), den)
}

/// Reads the instruction's memory operand as an extended value (float or integer forms).
fn mem_operand(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction, fx: &mut Fx) -> X<(u128, bool)> {
    let (s, off) = c.ea(i);
    Ok(match i.memory_size() {
        MS::Float32 => {
            let v = c.read_mem(p, s, off, 4)? as u128;
            widen(fx, F32, v, false)
        }
        MS::Float64 => {
            let v = c.read_mem(p, s, off, 8)? as u128;
            widen(fx, F64, v, false)
        }
        MS::Float80 => (super::read_bytes(c, p, s, off, 10)?, false),
        MS::Int16 => (int_to_f80(c.read_mem(p, s, off, 2)? as i16 as i64), false),
        MS::Int32 => (int_to_f80(c.read_mem(p, s, off, 4)? as i32 as i64), false),
        _ => (int_to_f80(c.read_mem(p, s, off, 8)? as i64), false),
    })
}

fn int_to_f80(x: i64) -> u128 {
    let (v, _) = sf::from_int(Round::of(F80, Rm::Nearest), x);
    sf::pack(F80, v)
}

/// Index of register operand n (ST(k)).
fn sti(i: &Instruction, n: u32) -> usize {
    (i.op_register(n) as usize).wrapping_sub(Register::ST0 as usize) & 7
}

fn set_cc(c: &mut X86Cpu, c3: bool, c2: bool, c1: bool, c0: bool) {
    let mut w = c.fpu.fsw & !(C0 | C1 | C2 | C3);
    if c3 {
        w |= C3;
    }
    if c2 {
        w |= C2;
    }
    if c1 {
        w |= C1;
    }
    if c0 {
        w |= C0;
    }
    c.fpu.fsw = w;
}

/// Compares a with b: None = unordered.
fn compare(fx: &mut Fx, a: u128, b: u128, quiet: bool, extra_den: bool) -> Option<i32> {
    let (va, vb) = (sf::unpack(F80, a), sf::unpack(F80, b));
    let nan = |v: Val| matches!(v, Val::Nan { .. } | Val::Unsupported { .. });
    if nan(va) || nan(vb) {
        let sig = matches!(va, Val::Nan { quiet: false, .. } | Val::Unsupported { .. })
            || matches!(vb, Val::Nan { quiet: false, .. } | Val::Unsupported { .. });
        if sig || !quiet {
            fx.flags |= sf::IE;
        }
        return None;
    }
    if is_denorm_val(a) || is_denorm_val(b) || extra_den {
        fx.flags |= sf::DE;
    }
    Some(sf::cmp(va, vb))
}

fn to_f64(v: u128) -> f64 {
    let (r, _) = sf::convert(Round::of(F64, Rm::Nearest), sf::unpack(F80, v));
    f64::from_bits(sf::pack(F64, r) as u64)
}

fn from_f64(x: f64) -> u128 {
    sf::pack(F80, sf::unpack(F64, x.to_bits() as u128))
}

/// Rounds an extended value to the current precision/rounding (for computed results).
fn round_result(c: &X86Cpu, fx: &mut Fx, v: u128) -> u128 {
    let (r, fl) = sf::convert(rounding64(c), sf::unpack(F80, v));
    finish_val(fx, r, fl | if matches!(sf::unpack(F80, v), Val::Fin { .. }) { sf::PE } else { 0 })
}

/// Stores `v` as an integer of `bytes` bytes (FIST/FISTP/FISTTP).
fn store_int(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    i: &Instruction,
    fx: &mut Fx,
    v: u128,
    bytes: u64,
    rm: Rm,
) -> X<bool> {
    let (s, off) = c.ea(i);
    let bits = (bytes * 8) as u32;
    let out = match sf::to_int(sf::unpack(F80, v), rm, bits) {
        Some((x, inexact)) => {
            if inexact {
                fx.flags |= sf::PE;
                let back = sf::unpack(F80, int_to_f80(x));
                fx.c1 = sf::cmp(back, sf::unpack(F80, v)).abs() == 1
                    && (sf::cmp(back, sf::unpack(F80, v)) > 0) != sf::unpack(F80, v).neg();
            }
            Some(x as u64)
        }
        None => {
            fx.flags |= sf::IE;
            if fx.masked(c, sf::IE) {
                Some(1u64 << (bits - 1))
            } else {
                None
            }
        }
    };
    if let Some(x) = out {
        c.write_mem(p, s, off, bytes, x)?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// FWAIT/WAIT: #NM if CR0.MP and CR0.TS, #MF on a pending unmasked exception.
pub fn fwait(c: &mut X86Cpu, _p: &mut dyn X86Platform, _i: &Instruction) -> X<()> {
    if c.cr0 & cr0::MP != 0 && c.cr0 & cr0::TS != 0 {
        return Err(exc(NM));
    }
    pending(c)
}

fn pending(c: &X86Cpu) -> X<()> {
    if c.fpu.fsw & ES != 0 && c.cr0 & cr0::NE != 0 {
        return Err(exc(MF));
    }
    Ok(())
}

/// The x87 constants, with the direction the stored 64-bit value was rounded relative to the
/// exact value (SDM Vol 1 8.3.8: FLDPI & co. honour RC).
fn constant(m: M, rm: Rm) -> u128 {
    let (e, sig, rounded_up): (u128, u64, Option<bool>) = match m {
        M::Fld1 => (0x3fff, 1 << 63, None),
        M::Fldz => (0, 0, None),
        M::Fldl2t => (0x4000, 0xd49a_784b_cd1b_8afe, Some(false)),
        M::Fldl2e => (0x3fff, 0xb8aa_3b29_5c17_f0bc, Some(true)),
        M::Fldpi => (0x4000, 0xc90f_daa2_2168_c235, Some(true)),
        M::Fldlg2 => (0x3ffd, 0x9a20_9a84_fbcf_f799, Some(true)),
        _ => (0x3ffe, 0xb172_17f7_d1cf_79ac, Some(true)),
    };
    let sig = match (rounded_up, rm) {
        (Some(true), Rm::Down | Rm::Zero) => sig - 1,
        (Some(false), Rm::Up) => sig + 1,
        _ => sig,
    };
    (e << 64) | sig as u128
}

/// FSTENV/FNSTENV layout writer.
fn store_env(c: &mut X86Cpu, p: &mut dyn X86Platform, s: usize, off: u64, wide: bool) -> X<()> {
    let f = &c.fpu;
    let real = matches!(c.mode(), Mode::Real) || c.rflags & flags::VM != 0;
    let (fcw, fsw, ftw, fop) = (f.fcw as u64, f.fsw as u64, f.ftw as u64, f.fop as u64 & 0x7ff);
    let (fip, fdp, fcs, fds) = (f.fip, f.fdp, f.fcs as u64, f.fds as u64);
    let words: [u64; 7] = if real {
        if wide {
            [
                fcw,
                fsw,
                ftw,
                fip & 0xffff,
                fop | ((fip >> 16) & 0xffff) << 12,
                fdp & 0xffff,
                ((fdp >> 16) & 0xffff) << 12,
            ]
        } else {
            [
                fcw,
                fsw,
                ftw,
                fip & 0xffff,
                fop | ((fip >> 16) & 0xf) << 12,
                fdp & 0xffff,
                ((fdp >> 16) & 0xf) << 12,
            ]
        }
    } else if wide {
        [fcw, fsw, ftw, fip & 0xffff_ffff, fcs | fop << 16, fdp & 0xffff_ffff, fds]
    } else {
        [fcw, fsw, ftw, fip & 0xffff, fcs, fdp & 0xffff, fds]
    };
    let sz = if wide { 4 } else { 2 };
    c.probe_write(p, s, off, 7 * sz)?;
    for (k, w) in words.iter().enumerate() {
        let v = if wide && k < 3 { w | 0xffff_0000 } else { *w };
        c.write_mem(p, s, off.wrapping_add(k as u64 * sz), sz, v)?;
    }
    Ok(())
}

fn load_env(c: &mut X86Cpu, p: &mut dyn X86Platform, s: usize, off: u64, wide: bool) -> X<()> {
    let sz = if wide { 4 } else { 2 };
    let mut w = [0u64; 7];
    for (k, x) in w.iter_mut().enumerate() {
        *x = c.read_mem(p, s, off.wrapping_add(k as u64 * sz), sz)?;
    }
    let real = matches!(c.mode(), Mode::Real) || c.rflags & flags::VM != 0;
    let f = &mut c.fpu;
    f.fcw = w[0] as u16;
    f.fsw = w[1] as u16;
    f.ftw = w[2] as u16;
    if real {
        let hi_mask = if wide { 0xffff } else { 0xf };
        f.fip = (w[3] & 0xffff) | ((w[4] >> 12) & hi_mask) << 16;
        f.fop = (w[4] & 0x7ff) as u16;
        f.fdp = (w[5] & 0xffff) | ((w[6] >> 12) & hi_mask) << 16;
        f.fcs = 0;
        f.fds = 0;
    } else {
        f.fip = w[3];
        f.fcs = w[4] as u16;
        f.fop = if wide { ((w[4] >> 16) & 0x7ff) as u16 } else { 0 };
        f.fdp = w[5];
        f.fds = w[6] as u16;
    }
    // Non-empty tags are recomputed from the register contents.
    for phys in 0..8 {
        if phys_tag(c, phys) != 3 {
            let t = tag_of(from_mem(&c.fpu.st[phys]));
            set_phys_tag(c, phys, t);
        }
    }
    refresh_es(c);
    Ok(())
}

/// ES/B follow the unmasked exception flags after FLDCW/FLDENV/FRSTOR.
fn refresh_es(c: &mut X86Cpu) {
    if c.fpu.fsw & 0x3f & !(c.fpu.fcw & 0x3f) != 0 {
        c.fpu.fsw |= ES | BUSY;
    } else {
        c.fpu.fsw &= !(ES | BUSY);
    }
}

fn bcd_load(v: u128) -> u128 {
    let mut x: i64 = 0;
    for k in (0..9).rev() {
        let b = (v >> (8 * k)) as u8;
        x = x.wrapping_mul(100).wrapping_add(((b >> 4) as i64 % 10) * 10 + (b & 15) as i64 % 10);
    }
    let neg = (v >> 79) & 1 != 0;
    let r = int_to_f80(x);
    if neg {
        r | (1u128 << 79)
    } else {
        r
    }
}

/// Executes an x87 instruction.
pub fn exec(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !features_ok(c, i) {
        return Err(UD_);
    }
    if c.cr0 & (cr0::EM | cr0::TS) != 0 {
        return Err(exc(NM));
    }
    let m = i.mnemonic();
    let nowait = matches!(
        m,
        M::Fninit
            | M::Fnclex
            | M::Fnstcw
            | M::Fnstsw
            | M::Fnstenv
            | M::Fnsave
            | M::Fneni
            | M::Fndisi
            | M::Fnsetpm
    );
    if !nowait {
        pending(c)?;
    }
    let control = nowait
        || matches!(
            m,
            M::Finit
                | M::Fclex
                | M::Fstcw
                | M::Fstsw
                | M::Fstenv
                | M::Fsave
                | M::Fldcw
                | M::Fldenv
                | M::Frstor
                | M::Feni
                | M::Fdisi
                | M::Fsetpm
        );
    let has_mem = (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Memory);
    if !control {
        c.fpu.fip = i.ip();
        c.fpu.fcs = c.seg[CS].selector;
        if has_mem {
            let (s, off) = c.ea(i);
            c.fpu.fdp = off;
            c.fpu.fds = c.seg[s].selector;
        }
    }
    let mut fx = Fx::new();
    match m {
        M::Fninit | M::Finit => {
            init_state(c);
            return Ok(());
        }
        M::Fnclex | M::Fclex => {
            c.fpu.fsw &= !(0x80ff);
            return Ok(());
        }
        M::Fldcw => {
            let (s, off) = c.ea(i);
            c.fpu.fcw = c.read_mem(p, s, off, 2)? as u16 | 0x40;
            refresh_es(c);
            return Ok(());
        }
        M::Fnstcw | M::Fstcw => {
            let (s, off) = c.ea(i);
            return c.write_mem(p, s, off, 2, c.fpu.fcw as u64);
        }
        M::Fnstsw | M::Fstsw => {
            if i.op0_kind() == OpKind::Register {
                c.set_reg(Register::AX, c.fpu.fsw as u64);
                return Ok(());
            }
            let (s, off) = c.ea(i);
            return c.write_mem(p, s, off, 2, c.fpu.fsw as u64);
        }
        M::Fnstenv | M::Fstenv | M::Fnsave | M::Fsave => {
            let (s, off) = c.ea(i);
            let wide = matches!(i.memory_size(), MS::FpuEnv28 | MS::FpuState108);
            let save = matches!(m, M::Fnsave | M::Fsave);
            if save {
                let envsz = if wide { 28 } else { 14 };
                c.probe_write(p, s, off, envsz + 80)?;
                store_env(c, p, s, off, wide)?;
                for k in 0..8 {
                    let v = st_bits(c, k);
                    super::write_bytes(c, p, s, off.wrapping_add(envsz + 10 * k as u64), 10, v)?;
                }
                init_state(c);
            } else {
                store_env(c, p, s, off, wide)?;
                c.fpu.fcw |= 0x3f;
                refresh_es(c);
            }
            return Ok(());
        }
        M::Fldenv | M::Frstor => {
            let (s, off) = c.ea(i);
            let wide = matches!(i.memory_size(), MS::FpuEnv28 | MS::FpuState108);
            if m == M::Frstor {
                let envsz = if wide { 28 } else { 14 };
                let mut regs = [0u128; 8];
                for (k, r) in regs.iter_mut().enumerate() {
                    *r = super::read_bytes(c, p, s, off.wrapping_add(envsz + 10 * k as u64), 10)?;
                }
                load_env(c, p, s, off, wide)?;
                for (k, r) in regs.iter().enumerate() {
                    let phys = (top(c) + k) & 7;
                    c.fpu.st[phys] = to_mem(*r);
                }
                for phys in 0..8 {
                    if phys_tag(c, phys) != 3 {
                        let t = tag_of(from_mem(&c.fpu.st[phys]));
                        set_phys_tag(c, phys, t);
                    }
                }
            } else {
                load_env(c, p, s, off, wide)?;
            }
            return Ok(());
        }
        M::Fneni | M::Feni | M::Fndisi | M::Fdisi | M::Fnsetpm | M::Fsetpm | M::Fnop => return Ok(()),
        M::Ffree | M::Ffreep => {
            let k = sti(i, 0);
            let phys = top(c) + k;
            set_phys_tag(c, phys, 3);
            if m == M::Ffreep {
                pop(c);
            }
            return Ok(());
        }
        M::Fincstp | M::Fdecstp => {
            let t = top(c);
            set_top(c, if m == M::Fincstp { t + 1 } else { t + 7 });
            c.fpu.fsw &= !C1;
            return Ok(());
        }
        _ => {}
    }
    match m {
        M::Fld | M::Fild | M::Fbld => {
            let v = if i.op0_kind() == OpKind::Register {
                match get(c, &mut fx, sti(i, 0)) {
                    Some(v) => v,
                    None => indefinite(),
                }
            } else if m == M::Fbld {
                let (s, off) = c.ea(i);
                bcd_load(super::read_bytes(c, p, s, off, 10)?)
            } else if m == M::Fld && matches!(i.memory_size(), MS::Float32 | MS::Float64) {
                let (s, off) = c.ea(i);
                let (f, n) = if i.memory_size() == MS::Float32 { (F32, 4) } else { (F64, 8) };
                let raw = c.read_mem(p, s, off, n)? as u128;
                let (v, den) = widen(&mut fx, f, raw, true);
                if den {
                    fx.flags |= sf::DE;
                }
                v
            } else {
                mem_operand(c, p, i, &mut fx)?.0
            };
            if fx.flags & sf::IE != 0 && !fx.masked(c, sf::IE)
                || fx.flags & sf::DE != 0 && !fx.masked(c, sf::DE)
            {
                commit(c, &fx);
                return Ok(());
            }
            push(c, &mut fx, v);
            commit(c, &fx);
            Ok(())
        }
        M::Fld1 | M::Fldz | M::Fldpi | M::Fldl2e | M::Fldl2t | M::Fldlg2 | M::Fldln2 => {
            let v = constant(m, rc(c));
            push(c, &mut fx, v);
            commit(c, &fx);
            Ok(())
        }
        M::Fst | M::Fstp => {
            let v = get(c, &mut fx, 0);
            let pop_after = m == M::Fstp;
            if i.op0_kind() == OpKind::Register {
                let v = v.unwrap_or_else(indefinite);
                if commit(c, &fx) {
                    return Ok(());
                }
                set_st(c, sti(i, 0), v);
            } else {
                let v = v.unwrap_or_else(indefinite);
                let (s, off) = c.ea(i);
                match i.memory_size() {
                    MS::Float80 => {
                        if !commit(c, &fx) {
                            super::write_bytes(c, p, s, off, 10, v)?;
                        } else {
                            return Ok(());
                        }
                    }
                    ms => {
                        let (f, n) = if ms == MS::Float32 { (F32, 4) } else { (F64, 8) };
                        let val = sf::unpack(F80, v);
                        let out = match val {
                            Val::Nan { neg, quiet, frac } => {
                                if !quiet {
                                    fx.flags |= sf::IE;
                                }
                                sf::pack(f, Val::Nan { neg, quiet: true, frac: frac | (1 << 63) })
                            }
                            Val::Unsupported { .. } => {
                                fx.flags |= sf::IE;
                                f.indefinite()
                            }
                            _ => {
                                let (r, fl) = sf::convert(Round::of(f, rc(c)), val);
                                fx.flags |= fl & 0x3f;
                                fx.c1 = fl & sf::C1UP != 0 && fl & sf::PE != 0;
                                sf::pack(f, r)
                            }
                        };
                        if commit(c, &fx) {
                            return Ok(());
                        }
                        c.write_mem(p, s, off, n, out as u64)?;
                    }
                }
            }
            if pop_after {
                pop(c);
            }
            Ok(())
        }
        M::Fist | M::Fistp | M::Fisttp => {
            let v = get(c, &mut fx, 0).unwrap_or_else(indefinite);
            let bytes = i.memory_size().size() as u64;
            let rm = if m == M::Fisttp { Rm::Zero } else { rc(c) };
            if fx.flags & sf::IE != 0 && !fx.masked(c, sf::IE) {
                commit(c, &fx);
                return Ok(());
            }
            let stored = store_int(c, p, i, &mut fx, v, bytes, rm)?;
            commit(c, &fx);
            if stored && m != M::Fist {
                pop(c);
            }
            Ok(())
        }
        M::Fbstp => {
            let v = get(c, &mut fx, 0).unwrap_or_else(indefinite);
            let (s, off) = c.ea(i);
            let val = sf::unpack(F80, v);
            let out = match sf::to_int(val, rc(c), 64) {
                Some((x, inexact)) if x.unsigned_abs() < 1_000_000_000_000_000_000 => {
                    if inexact {
                        fx.flags |= sf::PE;
                    }
                    let mut mag = x.unsigned_abs();
                    let mut r: u128 = 0;
                    for k in 0..9 {
                        let lo = mag % 10;
                        let hi = (mag / 10) % 10;
                        mag /= 100;
                        r |= ((hi << 4 | lo) as u128) << (8 * k);
                    }
                    if val.neg() {
                        r |= 1u128 << 79;
                    }
                    Some(r)
                }
                _ => {
                    fx.flags |= sf::IE;
                    fx.masked(c, sf::IE).then_some(0xffffu128 << 64 | 0xc0u128 << 56)
                }
            };
            commit(c, &fx);
            if let Some(r) = out {
                super::write_bytes(c, p, s, off, 10, r)?;
                pop(c);
            }
            Ok(())
        }
        M::Fxch => {
            let k = if i.op_count() > 1 { sti(i, 1) } else { 1 };
            let a = get(c, &mut fx, 0);
            let b = get(c, &mut fx, k);
            if (a.is_none() || b.is_none()) && !fx.masked(c, sf::IE) {
                commit(c, &fx);
                return Ok(());
            }
            commit(c, &fx);
            set_st(c, 0, b.unwrap_or_else(indefinite));
            set_st(c, k, a.unwrap_or_else(indefinite));
            Ok(())
        }
        M::Fadd
        | M::Faddp
        | M::Fiadd
        | M::Fsub
        | M::Fsubp
        | M::Fisub
        | M::Fsubr
        | M::Fsubrp
        | M::Fisubr
        | M::Fmul
        | M::Fmulp
        | M::Fimul
        | M::Fdiv
        | M::Fdivp
        | M::Fidiv
        | M::Fdivr
        | M::Fdivrp
        | M::Fidivr => {
            let (op, rev) = match m {
                M::Fadd | M::Faddp | M::Fiadd => (Op::Add, false),
                M::Fsub | M::Fsubp | M::Fisub => (Op::Sub, false),
                M::Fsubr | M::Fsubrp | M::Fisubr => (Op::Sub, true),
                M::Fmul | M::Fmulp | M::Fimul => (Op::Mul, false),
                M::Fdiv | M::Fdivp | M::Fidiv => (Op::Div, false),
                _ => (Op::Div, true),
            };
            let popping = matches!(m, M::Faddp | M::Fsubp | M::Fsubrp | M::Fmulp | M::Fdivp | M::Fdivrp);
            // (destination index, destination value, source value, source denormal mark)
            let (d, dv, sv, sden) = if has_mem {
                let d = get(c, &mut fx, 0);
                let (sv, den) = mem_operand(c, p, i, &mut fx)?;
                (0, d, Some(sv), den)
            } else if i.op_count() >= 2 {
                let (a, b) = (sti(i, 0), sti(i, 1));
                (a, get(c, &mut fx, a), get(c, &mut fx, b), false)
            } else {
                (1, get(c, &mut fx, 1), get(c, &mut fx, 0), false)
            };
            let r = match (dv, sv) {
                (Some(x), Some(y)) => {
                    if rev {
                        arith(c, &mut fx, op, y, x, sden)
                    } else {
                        arith(c, &mut fx, op, x, y, sden)
                    }
                }
                _ => indefinite(),
            };
            if commit(c, &fx) {
                return Ok(());
            }
            set_st(c, d, r);
            if popping {
                pop(c);
            }
            Ok(())
        }
        M::Fcom
        | M::Fcomp
        | M::Fcompp
        | M::Fucom
        | M::Fucomp
        | M::Fucompp
        | M::Ficom
        | M::Ficomp
        | M::Ftst
        | M::Fcomi
        | M::Fcomip
        | M::Fucomi
        | M::Fucomip => {
            let quiet = matches!(m, M::Fucom | M::Fucomp | M::Fucompp | M::Fucomi | M::Fucomip);
            let a = get(c, &mut fx, 0);
            let (b, den) = if m == M::Ftst {
                (Some(0u128), false)
            } else if has_mem {
                let (v, d) = mem_operand(c, p, i, &mut fx)?;
                (Some(v), d)
            } else {
                let k = match i.op_count() {
                    0 => 1,
                    1 => sti(i, 0),
                    _ => sti(i, 1),
                };
                (get(c, &mut fx, k), false)
            };
            let r = match (a, b) {
                (Some(x), Some(y)) => compare(&mut fx, x, y, quiet, den),
                _ => None,
            };
            let suppressed = {
                let f = fx.flags & 0x3f & !(c.fpu.fcw as u32 & 0x3f);
                f & (sf::IE | sf::DE) != 0
            };
            fx.c1 = false;
            commit(c, &fx);
            if !suppressed {
                let (z, p_, cy) = match r {
                    None => (true, true, true),
                    Some(0) => (true, false, false),
                    Some(x) if x < 0 => (false, false, true),
                    _ => (false, false, false),
                };
                if matches!(m, M::Fcomi | M::Fcomip | M::Fucomi | M::Fucomip) {
                    let mut f = c.rflags & !flags::STATUS;
                    if z {
                        f |= flags::ZF;
                    }
                    if p_ {
                        f |= flags::PF;
                    }
                    if cy {
                        f |= flags::CF;
                    }
                    c.rflags = f;
                } else {
                    set_cc(c, z, p_, false, cy);
                }
            }
            if suppressed && fx.flags & SF == 0 {
                return Ok(());
            }
            match m {
                M::Fcomp | M::Fucomp | M::Ficomp | M::Fcomip | M::Fucomip => pop(c),
                M::Fcompp | M::Fucompp => {
                    pop(c);
                    pop(c);
                }
                _ => {}
            }
            Ok(())
        }
        M::Fxam => {
            let v = st_bits(c, 0);
            let sign = (v >> 79) & 1 != 0;
            let (c3, c2, c0) = if empty(c, 0) {
                (true, false, true)
            } else {
                match sf::unpack(F80, v) {
                    Val::Unsupported { .. } => (false, false, false),
                    Val::Nan { .. } => (false, false, true),
                    Val::Inf { .. } => (false, true, true),
                    Val::Zero { .. } => (true, false, false),
                    _ if F80.is_denormal(v) => (true, true, false),
                    _ => (false, true, false),
                }
            };
            set_cc(c, c3, c2, sign, c0);
            Ok(())
        }
        M::Fchs | M::Fabs => {
            let Some(v) = get(c, &mut fx, 0) else {
                if !commit(c, &fx) {
                    set_st(c, 0, indefinite());
                }
                return Ok(());
            };
            let r = if m == M::Fchs { v ^ (1u128 << 79) } else { v & !(1u128 << 79) };
            commit(c, &fx);
            set_st(c, 0, r);
            Ok(())
        }
        M::Fsqrt | M::Frndint => {
            let Some(v) = get(c, &mut fx, 0) else {
                if !commit(c, &fx) {
                    set_st(c, 0, indefinite());
                }
                return Ok(());
            };
            let val = sf::unpack(F80, v);
            let r = if let Some(n) = nan2(val, val, &mut fx) {
                sf::pack(F80, n)
            } else {
                if F80.is_denormal(v) && !(m == M::Fsqrt && val.neg()) {
                    fx.flags |= sf::DE;
                }
                if m == M::Fsqrt {
                    let (r, fl) = sf::sqrt(rounding(c), val);
                    finish_val(&mut fx, r, fl)
                } else {
                    let (r, inexact) = sf::round_to_int(val, rc(c));
                    if inexact {
                        fx.flags |= sf::PE;
                        fx.c1 = sf::cmp(r, val).abs() == 1 && (sf::cmp(r, val) > 0) != val.neg();
                    }
                    sf::pack(F80, r)
                }
            };
            if commit(c, &fx) {
                return Ok(());
            }
            set_st(c, 0, r);
            Ok(())
        }
        M::Fscale => {
            let (a, b) = (get(c, &mut fx, 0), get(c, &mut fx, 1));
            let r = match (a, b) {
                (Some(a), Some(b)) => scale(c, &mut fx, a, b),
                _ => indefinite(),
            };
            if commit(c, &fx) {
                return Ok(());
            }
            set_st(c, 0, r);
            Ok(())
        }
        M::Fxtract => {
            let Some(v) = get(c, &mut fx, 0) else {
                if !commit(c, &fx) {
                    set_st(c, 0, indefinite());
                    push(c, &mut fx, indefinite());
                }
                return Ok(());
            };
            let val = sf::unpack(F80, v);
            let (e, s) = match val {
                Val::Nan { .. } | Val::Unsupported { .. } => {
                    let n = nan2(val, val, &mut fx).map(|n| sf::pack(F80, n)).unwrap_or_else(indefinite);
                    (n, n)
                }
                Val::Zero { neg } => {
                    fx.flags |= sf::ZE;
                    (F80.inf(true), F80.zero(neg))
                }
                Val::Inf { neg } => (F80.inf(false), F80.inf(neg)),
                Val::Fin { neg, e, sig } => {
                    if F80.is_denormal(v) {
                        fx.flags |= sf::DE;
                    }
                    (int_to_f80(e as i64), sf::pack(F80, Val::Fin { neg, e: 0, sig }))
                }
            };
            if commit(c, &fx) {
                return Ok(());
            }
            set_st(c, 0, e);
            push(c, &mut fx, s);
            commit(c, &fx);
            Ok(())
        }
        M::Fprem | M::Fprem1 => {
            let (a, b) = (get(c, &mut fx, 0), get(c, &mut fx, 1));
            let r = match (a, b) {
                (Some(a), Some(b)) => prem(c, &mut fx, a, b, m == M::Fprem1),
                _ => indefinite(),
            };
            let c1 = c.fpu.fsw & C1 != 0;
            fx.c1 = c1;
            if commit(c, &fx) {
                return Ok(());
            }
            set_st(c, 0, r);
            Ok(())
        }
        M::Fcmovb
        | M::Fcmove
        | M::Fcmovbe
        | M::Fcmovu
        | M::Fcmovnb
        | M::Fcmovne
        | M::Fcmovnbe
        | M::Fcmovnu => {
            let f = c.rflags;
            let (cf, zf, pf) = (f & flags::CF != 0, f & flags::ZF != 0, f & flags::PF != 0);
            let cond = match m {
                M::Fcmovb => cf,
                M::Fcmove => zf,
                M::Fcmovbe => cf || zf,
                M::Fcmovu => pf,
                M::Fcmovnb => !cf,
                M::Fcmovne => !zf,
                M::Fcmovnbe => !cf && !zf,
                _ => !pf,
            };
            let k = sti(i, 1);
            let a = get(c, &mut fx, 0);
            let b = get(c, &mut fx, k);
            if commit(c, &fx) {
                return Ok(());
            }
            if a.is_none() || b.is_none() {
                set_st(c, 0, indefinite());
            } else if cond {
                set_st(c, 0, b.unwrap_or_else(indefinite));
            }
            Ok(())
        }
        M::Fsin | M::Fcos | M::Fsincos | M::Fptan | M::Fpatan | M::F2xm1 | M::Fyl2x | M::Fyl2xp1 => {
            transcendental(c, &mut fx, m);
            Ok(())
        }
        _ => Err(UD_),
    }
}

/// FSCALE: ST0 * 2^trunc(ST1) (SDM Vol 2A FSCALE table 3-?).
fn scale(c: &X86Cpu, fx: &mut Fx, a: u128, b: u128) -> u128 {
    let (va, vb) = (sf::unpack(F80, a), sf::unpack(F80, b));
    if let Some(n) = nan2(va, vb, fx) {
        return sf::pack(F80, n);
    }
    if F80.is_denormal(a) || F80.is_denormal(b) {
        fx.flags |= sf::DE;
    }
    match (va, vb) {
        (Val::Inf { neg: false }, Val::Zero { .. }) | (Val::Zero { .. }, Val::Inf { neg: false }) => {
            fx.flags |= sf::IE;
            indefinite()
        }
        (Val::Inf { .. }, Val::Inf { neg: true }) => {
            fx.flags |= sf::IE;
            indefinite()
        }
        (Val::Inf { .. }, _) | (Val::Zero { .. }, _) => a,
        (Val::Fin { neg, .. }, Val::Inf { neg: sneg }) => {
            if sneg {
                F80.zero(neg)
            } else {
                F80.inf(neg)
            }
        }
        (Val::Fin { neg, e, sig }, _) => {
            let n = match sf::to_int(vb, Rm::Zero, 64) {
                Some((x, _)) => x.clamp(-100_000, 100_000) as i32,
                None => {
                    if vb.neg() {
                        -100_000
                    } else {
                        100_000
                    }
                }
            };
            let (r, fl) = sf::round(rounding64(c), neg, sig as u128, e - 63 + n);
            finish_val(fx, r, fl)
        }
        _ => indefinite(),
    }
}

/// FPREM/FPREM1 (SDM Vol 2A FPREM): exact partial remainder, quotient bits in C0/C3/C1, C2
/// set when the reduction is incomplete (exponent difference >= 64).
fn prem(c: &mut X86Cpu, fx: &mut Fx, a: u128, b: u128, ieee: bool) -> u128 {
    let (va, vb) = (sf::unpack(F80, a), sf::unpack(F80, b));
    if let Some(n) = nan2(va, vb, fx) {
        return sf::pack(F80, n);
    }
    if F80.is_denormal(a) || F80.is_denormal(b) {
        fx.flags |= sf::DE;
    }
    match (va, vb) {
        (Val::Inf { .. }, _) | (_, Val::Zero { .. }) => {
            fx.flags |= sf::IE;
            return indefinite();
        }
        (Val::Zero { .. }, _) | (Val::Fin { .. }, Val::Inf { .. }) => {
            set_cc(c, false, false, false, false);
            return a;
        }
        _ => {}
    }
    let (Val::Fin { neg, e: ea, sig: sa }, Val::Fin { e: eb, sig: sb, .. }) = (va, vb) else {
        return indefinite();
    };
    let d = ea - eb;
    if d >= 64 {
        // Partial reduction modulo ST1 * 2^(d - N) with N = 32 + d % 32 (the value hardware
        // uses, as AMD documents): the quotient is chopped, C2 = 1.
        let n = 32 + d % 32;
        let num = (sa as u128) << n as u32;
        let r = num % sb as u128;
        let (rv, fl) = sf::round(Round::of(F80, Rm::Nearest), neg, r, eb + (d - n) - 63);
        let rv = match rv {
            Val::Zero { .. } => Val::Zero { neg },
            o => o,
        };
        set_cc(c, false, true, false, false);
        return finish_val(fx, rv, fl & !sf::PE);
    }
    let (q, r, rneg) = if d < -1 {
        (0u128, (sa as u128) << 1, false) // scaled by 2: r * 2^(eb-64) is not used directly
    } else {
        let num = (sa as u128) << (d + 1) as u32;
        let den = (sb as u128) << 1;
        let (mut q, mut r) = (num / den, num % den);
        let mut rneg = false;
        if ieee && (2 * r > den || (2 * r == den && q & 1 == 1)) {
            q += 1;
            r = den - r;
            rneg = true;
        }
        (q, r, rneg)
    };
    let (val, fl) =
        if d < -1 { (va, 0) } else { sf::round(Round::of(F80, Rm::Nearest), neg != rneg, r, eb - 64) };
    let val = match val {
        Val::Zero { .. } => Val::Zero { neg },
        o => o,
    };
    set_cc(c, q & 2 != 0, false, q & 1 != 0, q & 4 != 0);
    finish_val(fx, val, fl & !sf::PE)
}

fn transcendental(c: &mut X86Cpu, fx: &mut Fx, m: M) {
    let two = matches!(m, M::Fpatan | M::Fyl2x | M::Fyl2xp1);
    let a = get(c, fx, 0);
    let b = if two { get(c, fx, 1) } else { Some(0) };
    let (Some(a), Some(b)) = (a, b) else {
        if !commit(c, fx) {
            if two {
                set_st(c, 1, indefinite());
                pop(c);
            } else {
                set_st(c, 0, indefinite());
                if matches!(m, M::Fsincos | M::Fptan) {
                    push(c, fx, indefinite());
                }
            }
        }
        return;
    };
    let (va, vb) = (sf::unpack(F80, a), sf::unpack(F80, b));
    let nan = if two { nan2(vb, va, fx) } else { nan2(va, va, fx) };
    if F80.is_denormal(a) || (two && F80.is_denormal(b)) {
        fx.flags |= sf::DE;
    }
    let x = to_f64(a);
    let y = to_f64(b);
    let fin = |c: &mut X86Cpu, fx: &mut Fx, v: f64| -> u128 {
        if v.is_nan() {
            fx.flags |= sf::IE;
            return indefinite();
        }
        round_result(c, fx, from_f64(v))
    };
    match m {
        M::Fsin | M::Fcos | M::Fsincos | M::Fptan => {
            if let Some(n) = nan {
                if !commit(c, fx) {
                    let n = sf::pack(F80, n);
                    set_st(c, 0, n);
                    if matches!(m, M::Fsincos | M::Fptan) {
                        push(c, fx, n);
                    }
                }
                return;
            }
            if let Val::Fin { e, .. } = va {
                if e >= 63 {
                    // Out of range: C2=1, operand unchanged (SDM Vol 2A FSIN).
                    c.fpu.fsw |= C2;
                    return;
                }
            }
            if matches!(va, Val::Inf { .. }) {
                fx.flags |= sf::IE;
                if !commit(c, fx) {
                    set_st(c, 0, indefinite());
                    if matches!(m, M::Fsincos | M::Fptan) {
                        push(c, fx, indefinite());
                    }
                }
                c.fpu.fsw &= !C2;
                return;
            }
            let zero = matches!(va, Val::Zero { .. });
            let (r0, r1) = match m {
                M::Fsin => (if zero { a } else { fin(c, fx, x.sin()) }, None),
                M::Fcos => (fin(c, fx, x.cos()), None),
                M::Fsincos => (if zero { a } else { fin(c, fx, x.sin()) }, Some(fin(c, fx, x.cos()))),
                _ => (if zero { a } else { fin(c, fx, x.tan()) }, Some(constant(M::Fld1, Rm::Nearest))),
            };
            if commit(c, fx) {
                return;
            }
            c.fpu.fsw &= !C2;
            match (m, r1) {
                (M::Fsincos, Some(cv)) => {
                    set_st(c, 0, r0);
                    push(c, fx, cv);
                }
                (M::Fptan, Some(one)) => {
                    set_st(c, 0, r0);
                    push(c, fx, one);
                }
                _ => set_st(c, 0, r0),
            }
            commit(c, fx);
        }
        M::F2xm1 => {
            let r = if let Some(n) = nan {
                sf::pack(F80, n)
            } else {
                match va {
                    Val::Zero { .. } => a,
                    Val::Inf { neg: true } => constant(M::Fld1, Rm::Nearest) | (1u128 << 79),
                    Val::Inf { neg: false } => a,
                    _ => fin(c, fx, (x * std::f64::consts::LN_2).exp_m1()),
                }
            };
            if !commit(c, fx) {
                set_st(c, 0, r);
            }
        }
        _ => {
            // Two-operand forms: result to ST1, then pop.
            let r = if let Some(n) = nan {
                sf::pack(F80, n)
            } else {
                match m {
                    M::Fpatan => fin(c, fx, y.atan2(x)),
                    M::Fyl2x => {
                        if x < 0.0 || (x == 0.0 && y == 0.0) || (x == 1.0 && y.is_infinite()) {
                            fx.flags |= sf::IE;
                            indefinite()
                        } else if x == 0.0 {
                            fx.flags |= sf::ZE;
                            F80.inf(!vb.neg())
                        } else {
                            fin(c, fx, y * x.log2())
                        }
                    }
                    _ => fin(c, fx, y * x.ln_1p() / std::f64::consts::LN_2),
                }
            };
            if commit(c, fx) {
                return;
            }
            set_st(c, 1, r);
            pop(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_overflow_and_underflow() {
        let mut c = X86Cpu::new(crate::CpuidModel::new("max", &[]).expect("max"), 0, true, 0);
        init_state(&mut c);
        let mut fx = Fx::new();
        for _ in 0..8 {
            push(&mut c, &mut fx, constant(M::Fld1, Rm::Nearest));
        }
        assert_eq!(fx.flags, 0);
        push(&mut c, &mut fx, constant(M::Fld1, Rm::Nearest));
        assert_eq!(fx.flags, sf::IE | SF);
        assert!(fx.c1);
        assert_eq!(st_bits(&c, 0), indefinite());
        init_state(&mut c);
        let mut fx = Fx::new();
        assert_eq!(get(&c, &mut fx, 0), None);
        assert_eq!(fx.flags, sf::IE | SF);
        assert!(!fx.c1);
    }

    #[test]
    fn constants_follow_rounding() {
        assert_eq!(constant(M::Fldpi, Rm::Nearest) as u64, 0xc90f_daa2_2168_c235);
        assert_eq!(constant(M::Fldpi, Rm::Down) as u64, 0xc90f_daa2_2168_c234);
        assert_eq!(constant(M::Fldl2t, Rm::Up) as u64, 0xd49a_784b_cd1b_8aff);
    }

    #[test]
    fn bcd() {
        let v = 0x0012_3456_7890_1234_5678_u128 | (0x80u128 << 72);
        let f = bcd_load(v);
        assert_eq!(sf::to_int(sf::unpack(F80, f), Rm::Nearest, 64), Some((-123_456_789_012_345_678, false)));
    }
}
