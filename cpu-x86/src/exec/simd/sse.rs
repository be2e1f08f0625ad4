//! SSE, SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2 instructions on XMM registers (SDM Vol 1
//! chapters 10-12, Vol 2 instruction pages), plus CRC32 and PCLMULQDQ.
//!
//! Floating-point lanes go through [`super::softfloat`] with the MXCSR rounding mode, FTZ and
//! DAZ; the exception flags are accumulated over all lanes and an unmasked exception raises
//! #XM (CR4.OSXMMEXCPT=1) or #UD without writing the destination (SDM Vol 1 11.5).
//! RCPPS/RCPSS/RSQRTPS/RSQRTSS return the correctly rounded value truncated to 12 significant
//! bits: within the architectural 1.5*2^-12 relative error, but not bit-identical to any
//! particular Intel implementation.

use super::softfloat::{self as sf, Fmt, Op, Rm, Round, Val, F32, F64};
use super::{check_aligned, read_bytes, sse_avail, write_bytes};
use crate::cpu::X86Cpu;
use crate::fault::{exc, UD_, X, XM};
use crate::platform::X86Platform;
use crate::state::{cr4, flags};
use iced_x86::{Instruction, Mnemonic as M, OpKind, Register};

/// Index of an XMM register.
fn xi(r: Register) -> usize {
    (r as usize).wrapping_sub(Register::XMM0 as usize) & 15
}

/// Mnemonics whose 16-byte memory operand may be misaligned (SDM Vol 1 11.6.8 / 12.10.3).
fn unaligned_ok(m: M) -> bool {
    matches!(
        m,
        M::Movups
            | M::Movupd
            | M::Movdqu
            | M::Lddqu
            | M::Pcmpestri
            | M::Pcmpestri64
            | M::Pcmpestrm
            | M::Pcmpestrm64
            | M::Pcmpistri
            | M::Pcmpistrm
    )
}

/// Reads operand `n`: an XMM register, a general register (zero-extended) or memory of the
/// instruction's memory size (16-byte accesses of aligned forms must be aligned: #GP(0)).
fn src(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction, n: u32) -> X<u128> {
    match i.op_kind(n) {
        OpKind::Register => {
            let r = i.op_register(n);
            if r.is_xmm() {
                Ok(c.fpu.xmm[xi(r)])
            } else {
                Ok(c.get_reg(r) as u128)
            }
        }
        OpKind::Memory => {
            let (s, off) = c.ea(i);
            let size = (i.memory_size().size() as u64).clamp(1, 16);
            if size == 16 && !unaligned_ok(i.mnemonic()) {
                check_aligned(c, s, off, 16, 16)?;
            }
            read_bytes(c, p, s, off, size)
        }
        _ => Ok(i.immediate(n) as u128),
    }
}

/// Writes the destination (operand 0): XMM register, general register or memory of the
/// instruction's memory size.
fn dst(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction, v: u128) -> X<()> {
    match i.op0_kind() {
        OpKind::Register => {
            let r = i.op0_register();
            if r.is_xmm() {
                c.fpu.xmm[xi(r)] = v;
            } else {
                c.set_reg(r, v as u64);
            }
            Ok(())
        }
        OpKind::Memory => {
            let (s, off) = c.ea(i);
            let size = (i.memory_size().size() as u64).clamp(1, 16);
            if size == 16 && !unaligned_ok(i.mnemonic()) {
                check_aligned(c, s, off, 16, 16)?;
            }
            write_bytes(c, p, s, off, size, v)
        }
        _ => Err(UD_),
    }
}

/// The current value of the destination XMM register.
fn d0(c: &X86Cpu, i: &Instruction) -> u128 {
    c.fpu.xmm[xi(i.op0_register())]
}

fn lane(v: u128, w: u32, k: u32) -> u64 {
    let m = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
    ((v >> (k * w)) as u64) & m
}

fn set_lane(v: u128, w: u32, k: u32, x: u64) -> u128 {
    let m: u128 = if w >= 64 { u64::MAX as u128 } else { (1u128 << w) - 1 };
    (v & !(m << (k * w))) | (((x as u128) & m) << (k * w))
}

fn sx(x: u64, w: u32) -> i64 {
    ((x << (64 - w)) as i64) >> (64 - w)
}

fn map1(a: u128, w: u32, f: impl Fn(u64) -> u64) -> u128 {
    (0..128 / w).fold(0, |r, k| set_lane(r, w, k, f(lane(a, w, k))))
}

fn map2(a: u128, b: u128, w: u32, f: impl Fn(u64, u64) -> u64) -> u128 {
    (0..128 / w).fold(0, |r, k| set_lane(r, w, k, f(lane(a, w, k), lane(b, w, k))))
}

fn sat_s(x: i64, w: u32) -> u64 {
    let lo = -(1i64 << (w - 1));
    let hi = (1i64 << (w - 1)) - 1;
    x.clamp(lo, hi) as u64
}

fn sat_u(x: i64, w: u32) -> u64 {
    x.clamp(0, (1i64 << w) - 1) as u64
}

/// MXCSR-driven floating-point context for one instruction.
pub(crate) struct Mx {
    pub rm: Rm,
    pub daz: bool,
    pub ftz: bool,
    /// Underflow masked.
    pub um: bool,
    pub flags: u32,
}

impl Mx {
    pub fn new(mxcsr: u32) -> Self {
        Mx {
            rm: Rm::from_rc(mxcsr >> 13),
            daz: mxcsr & 0x40 != 0,
            ftz: mxcsr & 0x8000 != 0,
            um: mxcsr & 0x800 != 0,
            flags: 0,
        }
    }

    fn rnd(&self, f: Fmt) -> Round {
        Round { ftz: self.ftz, ue_exact: !self.um, ..Round::of(f, self.rm) }
    }

    /// Unpacks an operand, applying DAZ (SDM Vol 1 10.2.3.4); the bool marks a denormal
    /// that was not flushed.
    fn ld(&self, f: Fmt, bits: u128) -> (Val, bool) {
        if f.is_denormal(bits) {
            if self.daz {
                return (Val::Zero { neg: f.sign(bits) }, false);
            }
            return (sf::unpack(f, bits), true);
        }
        (sf::unpack(f, bits), false)
    }

    fn post(&mut self, f: Fmt, v: Val, fl: u32) -> u128 {
        self.flags |= fl & 0x3f;
        if fl & sf::IE != 0 {
            f.indefinite()
        } else {
            sf::pack(f, v)
        }
    }

    /// SSE NaN propagation (SDM Vol 1 table 4-7): the first source if it is a NaN, else the
    /// second, quieted; IE for any SNaN.
    fn nan2(&mut self, f: Fmt, a: u128, va: Val, b: u128, vb: Val) -> Option<u128> {
        let an = matches!(va, Val::Nan { .. });
        let bn = matches!(vb, Val::Nan { .. });
        if !an && !bn {
            return None;
        }
        if matches!(va, Val::Nan { quiet: false, .. }) || matches!(vb, Val::Nan { quiet: false, .. }) {
            self.flags |= sf::IE;
        }
        Some(if an { f.quiet(a) } else { f.quiet(b) })
    }

    /// a op b.
    pub fn bin(&mut self, f: Fmt, op: Op, a: u128, b: u128) -> u128 {
        let (va, da) = self.ld(f, a);
        let (vb, db) = self.ld(f, b);
        if let Some(r) = self.nan2(f, a, va, b, vb) {
            return r;
        }
        // Denormal operand (hardware does not report it for finite / 0).
        let zdiv = op == Op::Div && matches!(vb, Val::Zero { .. }) && matches!(va, Val::Fin { .. });
        if (da || db) && !zdiv {
            self.flags |= sf::DE;
        }
        let (v, fl) = sf::arith(self.rnd(f), op, va, vb);
        self.post(f, v, fl)
    }

    fn sqrt(&mut self, f: Fmt, a: u128) -> u128 {
        let (va, da) = self.ld(f, a);
        if let Val::Nan { quiet, .. } = va {
            if !quiet {
                self.flags |= sf::IE;
            }
            return f.quiet(a);
        }
        if da && !va.neg() {
            self.flags |= sf::DE; // a negative denormal is just invalid
        }
        let (v, fl) = sf::sqrt(self.rnd(f), va);
        self.post(f, v, fl)
    }

    fn minmax(&mut self, f: Fmt, a: u128, b: u128, max: bool) -> u128 {
        let (va, da) = self.ld(f, a);
        let (vb, db) = self.ld(f, b);
        if matches!(va, Val::Nan { .. }) || matches!(vb, Val::Nan { .. }) {
            self.flags |= sf::IE;
            // The second operand is returned (after DAZ).
            return if matches!(vb, Val::Nan { .. }) { b } else { sf::pack(f, vb) };
        }
        if da || db {
            self.flags |= sf::DE;
        }
        let c = sf::cmp(va, vb);
        let pick_a = if max { c > 0 } else { c < 0 };
        if pick_a {
            sf::pack(f, va)
        } else {
            sf::pack(f, vb)
        }
    }

    /// Ordered comparison: None if unordered. `signal_qnan`: IE on QNaN operands too.
    fn compare(&mut self, f: Fmt, a: u128, b: u128, signal_qnan: bool) -> Option<i32> {
        let (va, da) = self.ld(f, a);
        let (vb, db) = self.ld(f, b);
        let an = matches!(va, Val::Nan { .. });
        let bn = matches!(vb, Val::Nan { .. });
        if an || bn {
            let snan =
                matches!(va, Val::Nan { quiet: false, .. }) || matches!(vb, Val::Nan { quiet: false, .. });
            if snan || signal_qnan {
                self.flags |= sf::IE;
            }
            return None;
        }
        if da || db {
            self.flags |= sf::DE;
        }
        Some(sf::cmp(va, vb))
    }

    /// CMPPS-style predicate 0-7 (SDM Vol 2A CMPPS table 3-1).
    fn pred(&mut self, f: Fmt, a: u128, b: u128, imm: u32) -> bool {
        let p = imm & 7;
        let signaling = matches!(p, 1 | 2 | 5 | 6);
        match self.compare(f, a, b, signaling) {
            None => matches!(p, 3..=6),
            Some(c) => match p {
                0 => c == 0,
                1 => c < 0,
                2 => c <= 0,
                3 => false,
                4 => c != 0,
                5 => c >= 0,
                6 => c > 0,
                _ => true,
            },
        }
    }

    /// Float to signed integer of `bits` bits; the integer indefinite on NaN or overflow.
    pub fn cvt_int(&mut self, f: Fmt, a: u128, bits: u32, trunc: bool) -> u64 {
        let (v, _) = self.ld(f, a);
        let rm = if trunc { Rm::Zero } else { self.rm };
        let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
        match sf::to_int(v, rm, bits) {
            Some((x, inexact)) => {
                if inexact {
                    self.flags |= sf::PE;
                }
                x as u64 & mask
            }
            None => {
                self.flags |= sf::IE;
                1u64 << (bits - 1)
            }
        }
    }

    pub fn cvt_from_int(&mut self, f: Fmt, x: i64) -> u128 {
        let (v, fl) = sf::from_int(self.rnd(f), x);
        self.post(f, v, fl)
    }

    /// Format conversion.
    fn cvt(&mut self, from: Fmt, to: Fmt, a: u128) -> u128 {
        let (v, d) = self.ld(from, a);
        if let Val::Nan { neg, quiet, frac } = v {
            if !quiet {
                self.flags |= sf::IE;
            }
            return sf::pack(to, Val::Nan { neg, quiet: true, frac: frac | (1 << 63) });
        }
        if d {
            self.flags |= sf::DE;
        }
        let (r, fl) = sf::convert(self.rnd(to), v);
        self.post(to, r, fl)
    }

    /// ROUNDPS-style rounding to an integral value with immediate control.
    fn round_int(&mut self, f: Fmt, a: u128, imm: u32) -> u128 {
        let rm = if imm & 4 != 0 { self.rm } else { Rm::from_rc(imm) };
        let (v, _) = self.ld(f, a);
        if let Val::Nan { quiet, .. } = v {
            if !quiet {
                self.flags |= sf::IE;
            }
            return f.quiet(a);
        }
        let (r, inexact) = sf::round_to_int(v, rm);
        if inexact && imm & 8 == 0 {
            self.flags |= sf::PE;
        }
        sf::pack(f, r)
    }

    /// Approximate reciprocal (square root): correctly rounded, truncated to 12 bits.
    fn approx(&mut self, a: u128, rsqrt: bool) -> u128 {
        let mut m = Mx { rm: Rm::Nearest, daz: self.daz, ftz: false, um: true, flags: 0 };
        let one = 0x3f80_0000u128;
        let (va, _) = self.ld(F32, a);
        let r = match va {
            Val::Nan { .. } => return F32.quiet(a),
            Val::Zero { neg } => return F32.inf(neg),
            Val::Fin { neg: true, .. } | Val::Inf { neg: true } if rsqrt => return F32.indefinite(),
            _ if rsqrt => {
                let s = m.sqrt(F32, sf::pack(F32, va));
                m.bin(F32, Op::Div, one, s)
            }
            _ => m.bin(F32, Op::Div, one, sf::pack(F32, va)),
        };
        if F32.is_denormal(r) {
            return F32.zero(F32.sign(r));
        }
        match sf::unpack(F32, r) {
            Val::Fin { .. } => r & !0xfff,
            _ => r,
        }
    }

    /// Applies the accumulated flags to MXCSR and raises #XM/#UD for an unmasked exception.
    pub fn finish(self, c: &mut X86Cpu) -> X<()> {
        let fl = self.flags & 0x3f;
        c.fpu.mxcsr |= fl;
        let masks = (c.fpu.mxcsr >> 7) & 0x3f;
        if fl & !masks != 0 {
            return Err(if c.cr4 & cr4::OSXMMEXCPT != 0 { exc(XM) } else { UD_ });
        }
        Ok(())
    }
}

fn fmt_of(m: M) -> (Fmt, u32, bool) {
    // (format, lane width, scalar)
    let scalar = matches!(
        m,
        M::Addss
            | M::Addsd
            | M::Subss
            | M::Subsd
            | M::Mulss
            | M::Mulsd
            | M::Divss
            | M::Divsd
            | M::Minss
            | M::Minsd
            | M::Maxss
            | M::Maxsd
            | M::Sqrtss
            | M::Sqrtsd
            | M::Roundss
            | M::Roundsd
            | M::Cmpss
            | M::Cmpsd
    );
    let single = matches!(
        m,
        M::Addss
            | M::Subss
            | M::Mulss
            | M::Divss
            | M::Minss
            | M::Maxss
            | M::Sqrtss
            | M::Roundss
            | M::Cmpss
            | M::Addps
            | M::Subps
            | M::Mulps
            | M::Divps
            | M::Minps
            | M::Maxps
            | M::Sqrtps
            | M::Roundps
            | M::Cmpps
    );
    if single {
        (F32, 32, scalar)
    } else {
        (F64, 64, scalar)
    }
}

/// Applies `g` lane-wise (or to lane 0 only for scalar forms, keeping the rest of `a`).
fn fp_lanes(a: u128, b: u128, w: u32, scalar: bool, mut g: impl FnMut(u128, u128) -> u128) -> u128 {
    let n = if scalar { 1 } else { 128 / w };
    let mut r = a;
    for k in 0..n {
        let x = g(lane(a, w, k) as u128, lane(b, w, k) as u128);
        r = set_lane(r, w, k, x as u64);
    }
    r
}

fn set_flags(c: &mut X86Cpu, f: u64) {
    c.rflags = (c.rflags & !flags::STATUS) | f;
}

/// CRC-32C update of `bytes` little-endian bytes of `v` (SDM Vol 2A CRC32).
fn crc32c(mut crc: u32, v: u64, bytes: u32) -> u32 {
    for k in 0..bytes {
        crc ^= ((v >> (8 * k)) & 0xff) as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    crc
}

/// Carry-less 64x64 multiply.
fn clmul(a: u64, b: u64) -> u128 {
    (0..64).filter(|k| (b >> k) & 1 != 0).fold(0u128, |r, k| r ^ ((a as u128) << k))
}

/// PCMPxSTRx core (SDM Vol 2B 4.1): returns (IntRes2, n, a invalid?, b invalid?).
fn pcmpstr(a: u128, b: u128, la: usize, lb: usize, imm: u32) -> (u32, usize, bool, bool) {
    let words = imm & 1 != 0;
    let signed = imm & 2 != 0;
    let n = if words { 8 } else { 16 };
    let w = if words { 16 } else { 8 };
    let el = |v: u128, k: usize| -> i64 {
        let x = lane(v, w, k as u32);
        if signed {
            sx(x, w)
        } else {
            x as i64
        }
    };
    let (la, lb) = (la.min(n), lb.min(n));
    let mut r1: u32 = 0;
    match (imm >> 2) & 3 {
        0 => {
            for j in 0..lb {
                if (0..la).any(|i| el(a, i) == el(b, j)) {
                    r1 |= 1 << j;
                }
            }
        }
        1 => {
            for j in 0..lb {
                let bj = el(b, j);
                if (0..la / 2).any(|k| el(a, 2 * k) <= bj && bj <= el(a, 2 * k + 1)) {
                    r1 |= 1 << j;
                }
            }
        }
        2 => {
            for k in 0..n {
                let t = match (k < la, k < lb) {
                    (false, false) => true,
                    (true, true) => el(a, k) == el(b, k),
                    _ => false,
                };
                if t {
                    r1 |= 1 << k;
                }
            }
        }
        _ => {
            for j in 0..n {
                let mut t = true;
                for i in 0..n - j {
                    let k = j + i;
                    let bit = match (i < la, k < lb) {
                        (false, _) => true,
                        (true, false) => false,
                        (true, true) => el(a, i) == el(b, k),
                    };
                    t &= bit;
                }
                if t {
                    r1 |= 1 << j;
                }
            }
        }
    }
    let full = if n == 16 { 0xffff } else { 0xff };
    let r2 = match (imm >> 4) & 3 {
        1 => !r1 & full,
        3 => r1 ^ ((1u32 << lb) - 1),
        _ => r1,
    };
    (r2, n, la < n, lb < n)
}

fn implicit_len(v: u128, words: bool) -> usize {
    let (n, w) = if words { (8, 16) } else { (16, 8) };
    (0..n).find(|&k| lane(v, w, k as u32) == 0).unwrap_or(n)
}

/// Executes an SSE-family instruction.
pub fn exec(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let m = i.mnemonic();
    if m == M::Crc32 {
        if !super::features_ok(c, i) {
            return Err(UD_);
        }
        let size = c.op_size(i, 1);
        let v = c.read_op(p, i, 1, size)?;
        let acc = c.get_reg(i.op0_register()) as u32;
        let r = crc32c(acc, v, size as u32);
        c.set_reg(i.op0_register(), r as u64);
        return Ok(());
    }
    if m == M::Movnti {
        if !super::features_ok(c, i) {
            return Err(UD_);
        }
        let size = c.op_size(i, 1);
        let v = c.read_op(p, i, 1, size)?;
        return c.write_op(p, i, 0, size, v);
    }
    sse_avail(c, i)?;
    let imm = if i.op_count() > 0 && matches!(i.op_kind(i.op_count() - 1), OpKind::Immediate8) {
        i.immediate8() as u32
    } else {
        0
    };
    match m {
        // ---------------------------------------------------------------- FP arithmetic
        M::Addps
        | M::Addpd
        | M::Addss
        | M::Addsd
        | M::Subps
        | M::Subpd
        | M::Subss
        | M::Subsd
        | M::Mulps
        | M::Mulpd
        | M::Mulss
        | M::Mulsd
        | M::Divps
        | M::Divpd
        | M::Divss
        | M::Divsd => {
            let (f, w, scalar) = fmt_of(m);
            let op = match m {
                M::Addps | M::Addpd | M::Addss | M::Addsd => Op::Add,
                M::Subps | M::Subpd | M::Subss | M::Subsd => Op::Sub,
                M::Mulps | M::Mulpd | M::Mulss | M::Mulsd => Op::Mul,
                _ => Op::Div,
            };
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let r = fp_lanes(a, b, w, scalar, |x, y| mx.bin(f, op, x, y));
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Minps | M::Minpd | M::Minss | M::Minsd | M::Maxps | M::Maxpd | M::Maxss | M::Maxsd => {
            let (f, w, scalar) = fmt_of(m);
            let max = matches!(m, M::Maxps | M::Maxpd | M::Maxss | M::Maxsd);
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let r = fp_lanes(a, b, w, scalar, |x, y| mx.minmax(f, x, y, max));
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Sqrtps | M::Sqrtpd | M::Sqrtss | M::Sqrtsd => {
            let (f, w, scalar) = fmt_of(m);
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let r = fp_lanes(if scalar { a } else { b }, b, w, scalar, |_, y| mx.sqrt(f, y));
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Rcpps | M::Rcpss | M::Rsqrtps | M::Rsqrtss => {
            let scalar = matches!(m, M::Rcpss | M::Rsqrtss);
            let rs = matches!(m, M::Rsqrtps | M::Rsqrtss);
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let r = fp_lanes(if scalar { a } else { b }, b, 32, scalar, |_, y| mx.approx(y, rs));
            dst(c, p, i, r)
        }
        M::Addsubps | M::Addsubpd => {
            let (f, w) = if m == M::Addsubps { (F32, 32) } else { (F64, 64) };
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let mut r = 0u128;
            for k in 0..128 / w {
                let op = if k % 2 == 0 { Op::Sub } else { Op::Add };
                let x = mx.bin(f, op, lane(a, w, k) as u128, lane(b, w, k) as u128);
                r = set_lane(r, w, k, x as u64);
            }
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Haddps | M::Haddpd | M::Hsubps | M::Hsubpd => {
            let (f, w) = if matches!(m, M::Haddps | M::Hsubps) { (F32, 32) } else { (F64, 64) };
            let op = if matches!(m, M::Haddps | M::Haddpd) { Op::Add } else { Op::Sub };
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let n = 128 / w;
            let mut r = 0u128;
            for k in 0..n {
                let s = if k < n / 2 { a } else { b };
                let j = (k % (n / 2)) * 2;
                let x = mx.bin(f, op, lane(s, w, j) as u128, lane(s, w, j + 1) as u128);
                r = set_lane(r, w, k, x as u64);
            }
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Dpps | M::Dppd => {
            let (f, w) = if m == M::Dpps { (F32, 32) } else { (F64, 64) };
            let n = 128 / w;
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let mut t = [0u128; 4];
            for k in 0..n {
                t[k as usize] = if (imm >> (4 + k)) & 1 != 0 {
                    mx.bin(f, Op::Mul, lane(a, w, k) as u128, lane(b, w, k) as u128)
                } else {
                    0
                };
            }
            // Each destination lane sums in its own butterfly order (observable through which
            // NaN propagates): DPPS s[k] = t[k^1] + t[k], r[k] = s[k] + s[k^2]; DPPD
            // r[k] = t[k] + t[k^1].
            let mut r = 0u128;
            let mut sums = [0u128; 4];
            if n == 4 {
                let mut s2 = [0u128; 4];
                for k in 0..4 {
                    s2[k] = mx.bin(f, Op::Add, t[k ^ 1], t[k]);
                }
                for k in 0..4 {
                    sums[k] = mx.bin(f, Op::Add, s2[k], s2[k ^ 2]);
                }
            } else {
                for k in 0..2 {
                    sums[k] = mx.bin(f, Op::Add, t[k], t[k ^ 1]);
                }
            }
            for k in 0..n {
                if (imm >> k) & 1 != 0 {
                    r = set_lane(r, w, k, sums[k as usize] as u64);
                }
            }
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Roundps | M::Roundpd | M::Roundss | M::Roundsd => {
            let (f, w, scalar) = fmt_of(m);
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let r = fp_lanes(if scalar { a } else { b }, b, w, scalar, |_, y| mx.round_int(f, y, imm));
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        // ---------------------------------------------------------------- FP compare
        M::Cmpps | M::Cmppd | M::Cmpss | M::Cmpsd => {
            let (f, w, scalar) = fmt_of(m);
            let a = d0(c, i);
            let b = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let ones = if w == 32 { 0xffff_ffffu128 } else { u64::MAX as u128 };
            let r = fp_lanes(a, b, w, scalar, |x, y| if mx.pred(f, x, y, imm) { ones } else { 0 });
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Comiss | M::Comisd | M::Ucomiss | M::Ucomisd => {
            let f = if matches!(m, M::Comiss | M::Ucomiss) { F32 } else { F64 };
            let w = if f == F32 { 32 } else { 64 };
            let a = lane(d0(c, i), w, 0) as u128;
            let b = lane(src(c, p, i, 1)?, w, 0) as u128;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let r = mx.compare(f, a, b, matches!(m, M::Comiss | M::Comisd));
            mx.finish(c)?;
            // SDM Vol 2A COMISS: unordered ZF,PF,CF=111, > 000, < 001, = 100.
            let fl = match r {
                None => flags::ZF | flags::PF | flags::CF,
                Some(x) if x > 0 => 0,
                Some(x) if x < 0 => flags::CF,
                _ => flags::ZF,
            };
            set_flags(c, fl);
            Ok(())
        }
        // ---------------------------------------------------------------- conversions
        M::Cvtsi2ss | M::Cvtsi2sd => {
            let f = if m == M::Cvtsi2ss { F32 } else { F64 };
            let size = c.op_size(i, 1);
            let x = crate::exec::operand::sext(c.read_op(p, i, 1, size)?, size) as i64;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let v = mx.cvt_from_int(f, x);
            mx.finish(c)?;
            let w = if f == F32 { 32 } else { 64 };
            let r = set_lane(d0(c, i), w, 0, v as u64);
            dst(c, p, i, r)
        }
        M::Cvtss2si | M::Cvtsd2si | M::Cvttss2si | M::Cvttsd2si => {
            let f = if matches!(m, M::Cvtss2si | M::Cvttss2si) { F32 } else { F64 };
            let w = if f == F32 { 32 } else { 64 };
            let a = lane(src(c, p, i, 1)?, w, 0) as u128;
            let bits = (i.op0_register().size() * 8) as u32;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let v = mx.cvt_int(f, a, bits, matches!(m, M::Cvttss2si | M::Cvttsd2si));
            mx.finish(c)?;
            c.set_reg(i.op0_register(), v);
            Ok(())
        }
        M::Cvtss2sd | M::Cvtsd2ss => {
            let (from, to, wf, wt) = if m == M::Cvtss2sd { (F32, F64, 32, 64) } else { (F64, F32, 64, 32) };
            let a = lane(src(c, p, i, 1)?, wf, 0) as u128;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let v = mx.cvt(from, to, a);
            mx.finish(c)?;
            let r = set_lane(d0(c, i), wt, 0, v as u64);
            dst(c, p, i, r)
        }
        M::Cvtps2pd | M::Cvtpd2ps => {
            let (from, to, wf, wt) = if m == M::Cvtps2pd { (F32, F64, 32, 64) } else { (F64, F32, 64, 32) };
            let a = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let mut r = 0u128;
            for k in 0..2 {
                let v = mx.cvt(from, to, lane(a, wf, k) as u128);
                r = set_lane(r, wt, k, v as u64);
            }
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Cvtdq2ps | M::Cvtdq2pd => {
            let (f, n, w) = if m == M::Cvtdq2ps { (F32, 4, 32) } else { (F64, 2, 64) };
            let a = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let mut r = 0u128;
            for k in 0..n {
                let v = mx.cvt_from_int(f, sx(lane(a, 32, k), 32));
                r = set_lane(r, w, k, v as u64);
            }
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        M::Cvtps2dq | M::Cvttps2dq | M::Cvtpd2dq | M::Cvttpd2dq => {
            let (f, n, w) = if matches!(m, M::Cvtps2dq | M::Cvttps2dq) { (F32, 4, 32) } else { (F64, 2, 64) };
            let trunc = matches!(m, M::Cvttps2dq | M::Cvttpd2dq);
            let a = src(c, p, i, 1)?;
            let mut mx = Mx::new(c.fpu.mxcsr);
            let mut r = 0u128;
            for k in 0..n {
                let v = mx.cvt_int(f, lane(a, w, k) as u128, 32, trunc);
                r = set_lane(r, 32, k, v);
            }
            mx.finish(c)?;
            dst(c, p, i, r)
        }
        // ---------------------------------------------------------------- moves
        M::Movaps
        | M::Movapd
        | M::Movups
        | M::Movupd
        | M::Movdqa
        | M::Movdqu
        | M::Lddqu
        | M::Movntps
        | M::Movntpd
        | M::Movntdq
        | M::Movntdqa => {
            if matches!(m, M::Movntps | M::Movntpd | M::Movntdq) && i.op0_kind() != OpKind::Memory {
                return Err(UD_);
            }
            let v = src(c, p, i, 1)?;
            dst(c, p, i, v)
        }
        M::Movss | M::Movsd => {
            let w = if m == M::Movss { 32 } else { 64 };
            let v = src(c, p, i, 1)?;
            if i.op0_kind() == OpKind::Register && i.op1_kind() == OpKind::Register {
                let r = set_lane(d0(c, i), w, 0, lane(v, w, 0));
                dst(c, p, i, r)
            } else {
                dst(c, p, i, lane(v, w, 0) as u128)
            }
        }
        M::Movd | M::Movq => {
            let size = if m == M::Movd { 32 } else { 64 };
            let v = lane(src(c, p, i, 1)?, size, 0);
            dst(c, p, i, v as u128)
        }
        M::Movhps | M::Movhpd | M::Movlps | M::Movlpd => {
            let high = matches!(m, M::Movhps | M::Movhpd);
            if i.op0_kind() == OpKind::Memory {
                let v = src(c, p, i, 1)?;
                dst(c, p, i, lane(v, 64, high as u32) as u128)
            } else {
                let v = src(c, p, i, 1)?;
                let r = set_lane(d0(c, i), 64, high as u32, v as u64);
                dst(c, p, i, r)
            }
        }
        M::Movhlps | M::Movlhps => {
            let v = src(c, p, i, 1)?;
            let r = if m == M::Movhlps {
                set_lane(d0(c, i), 64, 0, lane(v, 64, 1))
            } else {
                set_lane(d0(c, i), 64, 1, lane(v, 64, 0))
            };
            dst(c, p, i, r)
        }
        M::Movmskps | M::Movmskpd | M::Pmovmskb => {
            let w = match m {
                M::Movmskps => 32,
                M::Movmskpd => 64,
                _ => 8,
            };
            let v = src(c, p, i, 1)?;
            let r = (0..128 / w).fold(0u64, |acc, k| acc | ((lane(v, w, k) >> (w - 1)) << k));
            c.set_reg(i.op0_register(), r);
            Ok(())
        }
        M::Movddup => {
            let v = src(c, p, i, 1)?;
            let lo = lane(v, 64, 0) as u128;
            dst(c, p, i, lo | (lo << 64))
        }
        M::Movshdup | M::Movsldup => {
            let v = src(c, p, i, 1)?;
            let o = (m == M::Movshdup) as u32;
            let mut r = 0u128;
            for k in 0..4 {
                r = set_lane(r, 32, k, lane(v, 32, (k & !1) + o));
            }
            dst(c, p, i, r)
        }
        M::Maskmovdqu => {
            let (seg, asz) = match i.op0_kind() {
                OpKind::MemorySegRDI => (i.memory_segment(), 8),
                OpKind::MemorySegEDI => (i.memory_segment(), 4),
                _ => (i.memory_segment(), 2),
            };
            let seg = crate::exec::operand::sreg(seg);
            let base = crate::exec::operand::trunc(c.regs[7], asz);
            let data = c.fpu.xmm[xi(i.op1_register())];
            let mask = c.fpu.xmm[xi(i.op2_register())];
            for k in 0..16u32 {
                if (mask >> (8 * k + 7)) & 1 != 0 {
                    let off = crate::exec::operand::trunc(base.wrapping_add(k as u64), asz);
                    c.write_mem(p, seg, off, 1, lane(data, 8, k))?;
                }
            }
            Ok(())
        }
        // ---------------------------------------------------------------- logic
        M::Andps | M::Andpd | M::Pand => {
            let v = d0(c, i) & src(c, p, i, 1)?;
            dst(c, p, i, v)
        }
        M::Andnps | M::Andnpd | M::Pandn => {
            let v = !d0(c, i) & src(c, p, i, 1)?;
            dst(c, p, i, v)
        }
        M::Orps | M::Orpd | M::Por => {
            let v = d0(c, i) | src(c, p, i, 1)?;
            dst(c, p, i, v)
        }
        M::Xorps | M::Xorpd | M::Pxor => {
            let v = d0(c, i) ^ src(c, p, i, 1)?;
            dst(c, p, i, v)
        }
        // ---------------------------------------------------------------- shuffles
        M::Shufps => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let mut r = 0u128;
            for k in 0..4 {
                let s = if k < 2 { a } else { b };
                r = set_lane(r, 32, k, lane(s, 32, (imm >> (2 * k)) & 3));
            }
            dst(c, p, i, r)
        }
        M::Shufpd => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = set_lane(lane(a, 64, imm & 1) as u128, 64, 1, lane(b, 64, (imm >> 1) & 1));
            dst(c, p, i, r)
        }
        M::Unpcklps
        | M::Unpckhps
        | M::Unpcklpd
        | M::Unpckhpd
        | M::Punpcklbw
        | M::Punpcklwd
        | M::Punpckldq
        | M::Punpcklqdq
        | M::Punpckhbw
        | M::Punpckhwd
        | M::Punpckhdq
        | M::Punpckhqdq => {
            let (w, high) = match m {
                M::Unpcklps | M::Punpckldq => (32, false),
                M::Unpckhps | M::Punpckhdq => (32, true),
                M::Unpcklpd | M::Punpcklqdq => (64, false),
                M::Unpckhpd | M::Punpckhqdq => (64, true),
                M::Punpcklbw => (8, false),
                M::Punpckhbw => (8, true),
                M::Punpcklwd => (16, false),
                _ => (16, true),
            };
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let n = 128 / w;
            let base = if high { n / 2 } else { 0 };
            let mut r = 0u128;
            for k in 0..n / 2 {
                r = set_lane(r, w, 2 * k, lane(a, w, base + k));
                r = set_lane(r, w, 2 * k + 1, lane(b, w, base + k));
            }
            dst(c, p, i, r)
        }
        M::Pshufd => {
            let b = src(c, p, i, 1)?;
            let r = (0..4).fold(0u128, |r, k| set_lane(r, 32, k, lane(b, 32, (imm >> (2 * k)) & 3)));
            dst(c, p, i, r)
        }
        M::Pshufhw | M::Pshuflw => {
            let b = src(c, p, i, 1)?;
            let o = if m == M::Pshufhw { 4 } else { 0 };
            let mut r = b;
            for k in 0..4 {
                r = set_lane(r, 16, o + k, lane(b, 16, o + ((imm >> (2 * k)) & 3)));
            }
            dst(c, p, i, r)
        }
        M::Pshufb => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map1(b, 8, |_| 0);
            let r = (0..16).fold(r, |r, k| {
                let s = lane(b, 8, k);
                set_lane(r, 8, k, if s & 0x80 != 0 { 0 } else { lane(a, 8, (s & 15) as u32) })
            });
            dst(c, p, i, r)
        }
        M::Palignr => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let sh = imm * 8;
            let r = if sh >= 256 {
                0
            } else if sh >= 128 {
                a >> (sh - 128)
            } else if sh == 0 {
                b
            } else {
                (b >> sh) | (a << (128 - sh))
            };
            dst(c, p, i, r)
        }
        M::Pslldq | M::Psrldq => {
            let a = d0(c, i);
            let sh = imm.min(16) * 8;
            let r = if sh >= 128 {
                0
            } else if m == M::Pslldq {
                a << sh
            } else {
                a >> sh
            };
            dst(c, p, i, r)
        }
        // ---------------------------------------------------------------- insert/extract
        M::Pinsrb | M::Pinsrw | M::Pinsrd | M::Pinsrq => {
            let w = match m {
                M::Pinsrb => 8,
                M::Pinsrw => 16,
                M::Pinsrd => 32,
                _ => 64,
            };
            let v = src(c, p, i, 1)? as u64;
            let r = set_lane(d0(c, i), w, imm % (128 / w), v);
            dst(c, p, i, r)
        }
        M::Pextrb | M::Pextrw | M::Pextrd | M::Pextrq | M::Extractps => {
            let w = match m {
                M::Pextrb => 8,
                M::Pextrw => 16,
                M::Pextrd | M::Extractps => 32,
                _ => 64,
            };
            let v = src(c, p, i, 1)?;
            let x = lane(v, w, imm % (128 / w));
            if i.op0_kind() == OpKind::Register {
                let r = i.op0_register();
                // Zero-extended into the full register (32-bit writes clear the upper half).
                c.set_reg(r, x);
                Ok(())
            } else {
                dst(c, p, i, x as u128)
            }
        }
        M::Insertps => {
            let b = src(c, p, i, 1)?;
            let s =
                if i.op1_kind() == OpKind::Register { lane(b, 32, (imm >> 6) & 3) } else { lane(b, 32, 0) };
            let mut r = set_lane(d0(c, i), 32, (imm >> 4) & 3, s);
            for k in 0..4 {
                if (imm >> k) & 1 != 0 {
                    r = set_lane(r, 32, k, 0);
                }
            }
            dst(c, p, i, r)
        }
        // ---------------------------------------------------------------- blends
        M::Blendps | M::Blendpd | M::Pblendw => {
            let w = match m {
                M::Blendps => 32,
                M::Blendpd => 64,
                _ => 16,
            };
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r =
                (0..128 / w).fold(
                    a,
                    |r, k| {
                        if (imm >> k) & 1 != 0 {
                            set_lane(r, w, k, lane(b, w, k))
                        } else {
                            r
                        }
                    },
                );
            dst(c, p, i, r)
        }
        M::Blendvps | M::Blendvpd | M::Pblendvb => {
            let w = match m {
                M::Blendvps => 32,
                M::Blendvpd => 64,
                _ => 8,
            };
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let mask = c.fpu.xmm[0];
            let r = (0..128 / w).fold(a, |r, k| {
                if lane(mask, w, k) >> (w - 1) != 0 {
                    set_lane(r, w, k, lane(b, w, k))
                } else {
                    r
                }
            });
            dst(c, p, i, r)
        }
        // ---------------------------------------------------------------- packed integer
        M::Paddb | M::Paddw | M::Paddd | M::Paddq | M::Psubb | M::Psubw | M::Psubd | M::Psubq => {
            let w = match m {
                M::Paddb | M::Psubb => 8,
                M::Paddw | M::Psubw => 16,
                M::Paddd | M::Psubd => 32,
                _ => 64,
            };
            let sub = matches!(m, M::Psubb | M::Psubw | M::Psubd | M::Psubq);
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, w, |x, y| if sub { x.wrapping_sub(y) } else { x.wrapping_add(y) });
            dst(c, p, i, r)
        }
        M::Paddsb | M::Paddsw | M::Psubsb | M::Psubsw | M::Paddusb | M::Paddusw | M::Psubusb | M::Psubusw => {
            let w = if matches!(m, M::Paddsb | M::Psubsb | M::Paddusb | M::Psubusb) { 8 } else { 16 };
            let sub = matches!(m, M::Psubsb | M::Psubsw | M::Psubusb | M::Psubusw);
            let signed = matches!(m, M::Paddsb | M::Paddsw | M::Psubsb | M::Psubsw);
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, w, |x, y| {
                if signed {
                    let (x, y) = (sx(x, w), sx(y, w));
                    sat_s(if sub { x - y } else { x + y }, w)
                } else {
                    let (x, y) = (x as i64, y as i64);
                    sat_u(if sub { x - y } else { x + y }, w)
                }
            });
            dst(c, p, i, r)
        }
        M::Pmullw | M::Pmulhw | M::Pmulhuw | M::Pmulld | M::Pmulhrsw => {
            let w = if m == M::Pmulld { 32 } else { 16 };
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, w, |x, y| match m {
                M::Pmulhw => ((sx(x, 16) * sx(y, 16)) >> 16) as u64,
                M::Pmulhuw => (x * y) >> 16,
                M::Pmulhrsw => ((((sx(x, 16) * sx(y, 16)) >> 14) + 1) >> 1) as u64,
                _ => x.wrapping_mul(y),
            });
            dst(c, p, i, r)
        }
        M::Pmuludq | M::Pmuldq => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, 64, |x, y| {
                if m == M::Pmuludq {
                    (x & 0xffff_ffff) * (y & 0xffff_ffff)
                } else {
                    (sx(x, 32).wrapping_mul(sx(y, 32))) as u64
                }
            });
            dst(c, p, i, r)
        }
        M::Pmaddwd => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, 32, |x, y| {
                let s = sx(x & 0xffff, 16) * sx(y & 0xffff, 16) + sx(x >> 16, 16) * sx(y >> 16, 16);
                s as u64
            });
            dst(c, p, i, r)
        }
        M::Pmaddubsw => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, 16, |x, y| {
                let s = (x & 0xff) as i64 * sx(y & 0xff, 8) + (x >> 8) as i64 * sx(y >> 8, 8);
                sat_s(s, 16)
            });
            dst(c, p, i, r)
        }
        M::Psadbw => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, 64, |x, y| {
                (0..8).map(|k| ((x >> (8 * k)) & 0xff).abs_diff((y >> (8 * k)) & 0xff)).sum()
            });
            dst(c, p, i, r)
        }
        M::Pavgb | M::Pavgw => {
            let w = if m == M::Pavgb { 8 } else { 16 };
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            dst(c, p, i, map2(a, b, w, |x, y| (x + y + 1) >> 1))
        }
        M::Pminub
        | M::Pminuw
        | M::Pminud
        | M::Pmaxub
        | M::Pmaxuw
        | M::Pmaxud
        | M::Pminsb
        | M::Pminsw
        | M::Pminsd
        | M::Pmaxsb
        | M::Pmaxsw
        | M::Pmaxsd => {
            let w = match m {
                M::Pminub | M::Pmaxub | M::Pminsb | M::Pmaxsb => 8,
                M::Pminuw | M::Pmaxuw | M::Pminsw | M::Pmaxsw => 16,
                _ => 32,
            };
            let signed = matches!(m, M::Pminsb | M::Pminsw | M::Pminsd | M::Pmaxsb | M::Pmaxsw | M::Pmaxsd);
            let max = matches!(m, M::Pmaxub | M::Pmaxuw | M::Pmaxud | M::Pmaxsb | M::Pmaxsw | M::Pmaxsd);
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, w, |x, y| {
                let (kx, ky) = if signed { (sx(x, w), sx(y, w)) } else { (x as i64, y as i64) };
                if (kx > ky) == max {
                    x
                } else {
                    y
                }
            });
            dst(c, p, i, r)
        }
        M::Pcmpeqb
        | M::Pcmpeqw
        | M::Pcmpeqd
        | M::Pcmpeqq
        | M::Pcmpgtb
        | M::Pcmpgtw
        | M::Pcmpgtd
        | M::Pcmpgtq => {
            let w = match m {
                M::Pcmpeqb | M::Pcmpgtb => 8,
                M::Pcmpeqw | M::Pcmpgtw => 16,
                M::Pcmpeqd | M::Pcmpgtd => 32,
                _ => 64,
            };
            let gt = matches!(m, M::Pcmpgtb | M::Pcmpgtw | M::Pcmpgtd | M::Pcmpgtq);
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, w, |x, y| {
                let t = if gt { sx(x, w) > sx(y, w) } else { x == y };
                if t {
                    u64::MAX
                } else {
                    0
                }
            });
            dst(c, p, i, r)
        }
        M::Phaddw | M::Phaddd | M::Phaddsw | M::Phsubw | M::Phsubd | M::Phsubsw => {
            let w = if matches!(m, M::Phaddd | M::Phsubd) { 32 } else { 16 };
            let sub = matches!(m, M::Phsubw | M::Phsubd | M::Phsubsw);
            let sat = matches!(m, M::Phaddsw | M::Phsubsw);
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let n = 128 / w;
            let mut r = 0u128;
            for k in 0..n {
                let s = if k < n / 2 { a } else { b };
                let j = (k % (n / 2)) * 2;
                let (x, y) = (sx(lane(s, w, j), w), sx(lane(s, w, j + 1), w));
                let v = if sub { x - y } else { x + y };
                r = set_lane(r, w, k, if sat { sat_s(v, w) } else { v as u64 });
            }
            dst(c, p, i, r)
        }
        M::Psignb | M::Psignw | M::Psignd => {
            let w = match m {
                M::Psignb => 8,
                M::Psignw => 16,
                _ => 32,
            };
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = map2(a, b, w, |x, y| match sx(y, w).signum() {
                -1 => x.wrapping_neg(),
                0 => 0,
                _ => x,
            });
            dst(c, p, i, r)
        }
        M::Pabsb | M::Pabsw | M::Pabsd => {
            let w = match m {
                M::Pabsb => 8,
                M::Pabsw => 16,
                _ => 32,
            };
            let b = src(c, p, i, 1)?;
            dst(c, p, i, map1(b, w, |x| sx(x, w).unsigned_abs()))
        }
        M::Pmovsxbw
        | M::Pmovsxbd
        | M::Pmovsxbq
        | M::Pmovsxwd
        | M::Pmovsxwq
        | M::Pmovsxdq
        | M::Pmovzxbw
        | M::Pmovzxbd
        | M::Pmovzxbq
        | M::Pmovzxwd
        | M::Pmovzxwq
        | M::Pmovzxdq => {
            let signed = matches!(
                m,
                M::Pmovsxbw | M::Pmovsxbd | M::Pmovsxbq | M::Pmovsxwd | M::Pmovsxwq | M::Pmovsxdq
            );
            let (from, to) = match m {
                M::Pmovsxbw | M::Pmovzxbw => (8, 16),
                M::Pmovsxbd | M::Pmovzxbd => (8, 32),
                M::Pmovsxbq | M::Pmovzxbq => (8, 64),
                M::Pmovsxwd | M::Pmovzxwd => (16, 32),
                M::Pmovsxwq | M::Pmovzxwq => (16, 64),
                _ => (32, 64),
            };
            let b = src(c, p, i, 1)?;
            let mut r = 0u128;
            for k in 0..128 / to {
                let x = lane(b, from, k);
                r = set_lane(r, to, k, if signed { sx(x, from) as u64 } else { x });
            }
            dst(c, p, i, r)
        }
        M::Packsswb | M::Packssdw | M::Packuswb | M::Packusdw => {
            let w = if matches!(m, M::Packsswb | M::Packuswb) { 16 } else { 32 };
            let unsigned = matches!(m, M::Packuswb | M::Packusdw);
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let n = 128 / w;
            let mut r = 0u128;
            for k in 0..2 * n {
                let s = if k < n { a } else { b };
                let x = sx(lane(s, w, k % n), w);
                let v = if unsigned { sat_u(x, w / 2) } else { sat_s(x, w / 2) };
                r = set_lane(r, w / 2, k, v);
            }
            dst(c, p, i, r)
        }
        M::Psllw | M::Pslld | M::Psllq | M::Psrlw | M::Psrld | M::Psrlq | M::Psraw | M::Psrad => {
            let w = match m {
                M::Psllw | M::Psrlw | M::Psraw => 16,
                M::Pslld | M::Psrld | M::Psrad => 32,
                _ => 64,
            };
            let cnt =
                if matches!(i.op1_kind(), OpKind::Immediate8) { imm as u64 } else { src(c, p, i, 1)? as u64 };
            let a = d0(c, i);
            let r = map1(a, w, |x| match m {
                M::Psraw | M::Psrad => (sx(x, w) >> cnt.min(w as u64 - 1)) as u64,
                _ if cnt >= w as u64 => 0,
                M::Psllw | M::Pslld | M::Psllq => x << cnt,
                _ => x >> cnt,
            });
            dst(c, p, i, r)
        }
        M::Ptest => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let mut f = 0;
            if a & b == 0 {
                f |= flags::ZF;
            }
            if !a & b == 0 {
                f |= flags::CF;
            }
            set_flags(c, f);
            Ok(())
        }
        M::Phminposuw => {
            let b = src(c, p, i, 1)?;
            let (idx, min) = (0..8u32).map(|k| (k, lane(b, 16, k))).fold((0, u64::MAX), |acc, (k, v)| {
                if v < acc.1 {
                    (k, v)
                } else {
                    acc
                }
            });
            dst(c, p, i, (min as u128) | ((idx as u128) << 16))
        }
        M::Mpsadbw => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let ao = ((imm >> 2) & 1) * 4;
            let bo = (imm & 3) * 4;
            let mut r = 0u128;
            for k in 0..8 {
                let s: u64 = (0..4).map(|j| lane(a, 8, ao + k + j).abs_diff(lane(b, 8, bo + j))).sum();
                r = set_lane(r, 16, k, s);
            }
            dst(c, p, i, r)
        }
        M::Pclmulqdq => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let r = clmul(lane(a, 64, imm & 1), lane(b, 64, (imm >> 4) & 1));
            dst(c, p, i, r)
        }
        M::Pcmpestri | M::Pcmpestri64 | M::Pcmpestrm | M::Pcmpestrm64 | M::Pcmpistri | M::Pcmpistrm => {
            let (a, b) = (d0(c, i), src(c, p, i, 1)?);
            let words = imm & 1 != 0;
            let explicit = matches!(m, M::Pcmpestri | M::Pcmpestri64 | M::Pcmpestrm | M::Pcmpestrm64);
            let (la, lb) = if explicit {
                let wide = matches!(m, M::Pcmpestri64 | M::Pcmpestrm64);
                let len = |v: u64| -> usize {
                    let x = if wide { v as i64 } else { v as u32 as i32 as i64 };
                    x.unsigned_abs().min(16) as usize
                };
                (len(c.regs[0]), len(c.regs[2]))
            } else {
                (implicit_len(a, words), implicit_len(b, words))
            };
            let (r2, n, za, zb) = pcmpstr(a, b, la, lb, imm);
            let mut f = 0;
            if r2 != 0 {
                f |= flags::CF;
            }
            if zb {
                f |= flags::ZF;
            }
            if za {
                f |= flags::SF;
            }
            if r2 & 1 != 0 {
                f |= flags::OF;
            }
            if matches!(m, M::Pcmpestri | M::Pcmpestri64 | M::Pcmpistri) {
                let idx = if r2 == 0 {
                    n as u32
                } else if imm & 0x40 != 0 {
                    31 - r2.leading_zeros()
                } else {
                    r2.trailing_zeros()
                };
                c.regs[1] = idx as u64;
            } else {
                let r = if imm & 0x40 != 0 {
                    let w = if words { 16 } else { 8 };
                    (0..n as u32).fold(0u128, |r, k| {
                        if (r2 >> k) & 1 != 0 {
                            set_lane(r, w, k, u64::MAX)
                        } else {
                            r
                        }
                    })
                } else {
                    r2 as u128
                };
                c.fpu.xmm[0] = r;
            }
            set_flags(c, f);
            Ok(())
        }
        _ => Err(UD_),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_propagation_and_indefinite() {
        let mut mx = Mx::new(0x1f80);
        let qa = 0x7fc0_0001u128;
        let sb = 0x7f80_0002u128;
        assert_eq!(mx.bin(F32, Op::Add, qa, sb), qa);
        assert_eq!(mx.flags, sf::IE);
        let mut mx = Mx::new(0x1f80);
        assert_eq!(mx.bin(F32, Op::Add, 0x3f80_0000, sb), 0x7fc0_0002);
        let inf = 0x7f80_0000u128;
        assert_eq!(mx.bin(F32, Op::Sub, inf, inf), 0xffc0_0000);
        let mut mx = Mx::new(0x1f80);
        assert_eq!(mx.bin(F64, Op::Mul, 0, 0xfff0_0000_0000_0000), 0xfff8_0000_0000_0000);
    }

    #[test]
    fn daz_ftz_and_conversions() {
        let den = 1u128; // smallest f32 denormal
        let mut mx = Mx::new(0x1f80 | 0x40);
        assert_eq!(mx.bin(F32, Op::Add, den, 0), 0);
        assert_eq!(mx.flags, 0);
        let mut mx = Mx::new(0x1f80 | 0x8000);
        assert_eq!(mx.bin(F32, Op::Mul, 0x0080_0000, 0x3f00_0000), 0);
        assert_eq!(mx.flags, sf::UE | sf::PE);
        let mut mx = Mx::new(0x1f80);
        assert_eq!(mx.cvt_int(F64, 3e10f64.to_bits() as u128, 32, false), 0x8000_0000);
        assert_eq!(mx.flags, sf::IE);
        let mut mx = Mx::new(0x1f80 | 0x2000);
        assert_eq!(mx.cvt_int(F64, 2.5f64.to_bits() as u128, 32, false), 2);
        assert_eq!(mx.cvt_int(F64, (-2.5f64).to_bits() as u128, 64, false), (-3i64) as u64);
    }

    #[test]
    fn string_compare_and_crc() {
        assert_eq!(
            crc32c(!0, u64::from_le_bytes(*b"12345678"), 8) ^ crc32c(0, 0, 0),
            crc32c(!0, u64::from_le_bytes(*b"12345678"), 8)
        );
        let mut crc = !0u32;
        for b in b"123456789" {
            crc = crc32c(crc, *b as u64, 1);
        }
        assert_eq!(!crc, 0xe306_9283);
        // Equal-any, bytes: "abc" in "xxbx": first match at index 2.
        let a = u128::from_le_bytes(*b"abc\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let b = u128::from_le_bytes(*b"xxbx\0\0\0\0\0\0\0\0\0\0\0\0");
        let (r2, n, za, zb) = pcmpstr(a, b, implicit_len(a, false), implicit_len(b, false), 0);
        assert_eq!((r2, n, za, zb), (0b100, 16, true, true));
    }
}
