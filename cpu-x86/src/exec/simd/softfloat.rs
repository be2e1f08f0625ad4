//! A small software IEEE 754 implementation for the x87 and SSE models (SDM Vol 1 4.2, 4.8,
//! 4.9; IEEE 754-2008): binary32, binary64 and the x87 80-bit double-extended format with the
//! four rounding modes, x87 precision control, flush-to-zero, denormals-are-zero and the six
//! exception flags. Tininess is detected before rounding, as x86 does (SDM Vol 1 4.9.1.5).
//!
//! Everything is computed exactly with integer arithmetic (no host floating point), so results
//! are bit-identical on any host. NaN propagation is left to the callers because the x87 and
//! SSE rules differ.

/// Invalid operation.
pub const IE: u32 = 0x01;
/// Denormal operand.
pub const DE: u32 = 0x02;
/// Divide by zero.
pub const ZE: u32 = 0x04;
/// Overflow.
pub const OE: u32 = 0x08;
/// Underflow.
pub const UE: u32 = 0x10;
/// Precision (inexact).
pub const PE: u32 = 0x20;
/// Internal: the result was rounded up in magnitude (x87 C1).
pub const C1UP: u32 = 0x100;

/// Rounding mode (MXCSR.RC / FCW.RC encoding, SDM Vol 1 table 4-8).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rm {
    Nearest,
    Down,
    Up,
    Zero,
}

impl Rm {
    /// From the two-bit RC field.
    pub fn from_rc(rc: u32) -> Rm {
        match rc & 3 {
            0 => Rm::Nearest,
            1 => Rm::Down,
            2 => Rm::Up,
            _ => Rm::Zero,
        }
    }
}

/// A floating-point format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fmt {
    /// Exponent field width.
    pub ebits: u32,
    /// Stored significand bits (F32/F64: the fraction without the implicit integer bit; F80:
    /// all 64 bits including the explicit integer bit).
    pub fbits: u32,
    /// F80: the integer bit is explicit.
    pub explicit: bool,
}

pub const F32: Fmt = Fmt { ebits: 8, fbits: 23, explicit: false };
pub const F64: Fmt = Fmt { ebits: 11, fbits: 52, explicit: false };
pub const F80: Fmt = Fmt { ebits: 15, fbits: 64, explicit: true };

impl Fmt {
    /// Exponent bias.
    pub const fn bias(self) -> i32 {
        (1 << (self.ebits - 1)) - 1
    }
    /// Minimum normal exponent.
    pub const fn emin(self) -> i32 {
        1 - self.bias()
    }
    /// Maximum exponent.
    pub const fn emax(self) -> i32 {
        self.bias()
    }
    /// Significand precision including the integer bit.
    pub const fn prec(self) -> u32 {
        if self.explicit {
            self.fbits
        } else {
            self.fbits + 1
        }
    }
    fn emask(self) -> u128 {
        (1u128 << self.ebits) - 1
    }
    fn sign_shift(self) -> u32 {
        self.ebits + self.fbits
    }
    /// The default QNaN ("real indefinite"): sign set, quiet bit set.
    pub fn indefinite(self) -> u128 {
        let q = if self.explicit { 3u128 << 62 } else { 1u128 << (self.fbits - 1) };
        (1u128 << self.sign_shift()) | (self.emask() << self.fbits) | q
    }
    /// Infinity with the given sign.
    pub fn inf(self, neg: bool) -> u128 {
        let i = if self.explicit { 1u128 << 63 } else { 0 };
        ((neg as u128) << self.sign_shift()) | (self.emask() << self.fbits) | i
    }
    /// Zero with the given sign.
    pub fn zero(self, neg: bool) -> u128 {
        (neg as u128) << self.sign_shift()
    }
    /// The sign bit of `bits`.
    pub fn sign(self, bits: u128) -> bool {
        (bits >> self.sign_shift()) & 1 != 0
    }
    /// Sets the quiet bit of a NaN.
    pub fn quiet(self, bits: u128) -> u128 {
        if self.explicit {
            bits | (3u128 << 62)
        } else {
            bits | (1u128 << (self.fbits - 1))
        }
    }
    /// A denormal (or F80 pseudo-denormal) encoding.
    pub fn is_denormal(self, bits: u128) -> bool {
        let e = (bits >> self.fbits) & self.emask();
        let f = bits & ((1u128 << self.fbits) - 1);
        e == 0 && (f != 0 || (self.explicit && (bits >> 63) & 1 != 0))
    }
}

/// An unpacked value. Finite nonzero values are `sig * 2^(e - 63)` with bit 63 of `sig` set.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Zero {
        neg: bool,
    },
    Fin {
        neg: bool,
        e: i32,
        sig: u64,
    },
    Inf {
        neg: bool,
    },
    /// `frac` is the fraction (quiet bit first) left-aligned at bit 63.
    Nan {
        neg: bool,
        quiet: bool,
        frac: u64,
    },
    /// F80 unsupported encodings (pseudo-NaN, pseudo-infinity, unnormal): invalid operands.
    Unsupported {
        neg: bool,
    },
}

impl Val {
    /// The sign.
    pub fn neg(self) -> bool {
        match self {
            Val::Zero { neg } | Val::Fin { neg, .. } | Val::Inf { neg } | Val::Nan { neg, .. } => neg,
            Val::Unsupported { neg } => neg,
        }
    }
}

/// Unpacks `bits` of format `f`.
pub fn unpack(f: Fmt, bits: u128) -> Val {
    let neg = f.sign(bits);
    let e = ((bits >> f.fbits) & f.emask()) as i32;
    let frac = (bits & ((1u128 << f.fbits) - 1)) as u64;
    if f.explicit {
        let int = (bits >> 63) & 1 != 0;
        let fr = frac & !(1 << 63);
        if e == f.emask() as i32 {
            if !int {
                return Val::Unsupported { neg };
            }
            if fr == 0 {
                return Val::Inf { neg };
            }
            return Val::Nan { neg, quiet: fr >> 62 != 0, frac: fr << 1 };
        }
        if e == 0 {
            if frac == 0 {
                return Val::Zero { neg };
            }
            // Denormal or pseudo-denormal: exponent is emin.
            let lz = frac.leading_zeros() as i32;
            return Val::Fin { neg, e: f.emin() - lz, sig: frac << lz };
        }
        if !int {
            return Val::Unsupported { neg };
        }
        return Val::Fin { neg, e: e - f.bias(), sig: frac };
    }
    if e == f.emask() as i32 {
        if frac == 0 {
            return Val::Inf { neg };
        }
        let fr = frac << (64 - f.fbits);
        return Val::Nan { neg, quiet: fr >> 63 != 0, frac: fr };
    }
    if e == 0 {
        if frac == 0 {
            return Val::Zero { neg };
        }
        let lz = frac.leading_zeros() as i32;
        let top = 63 - f.fbits as i32; // position of the would-be integer bit after shifting
        return Val::Fin { neg, e: f.emin() - (lz - top), sig: frac << lz };
    }
    Val::Fin { neg, e: e - f.bias(), sig: (frac | (1 << f.fbits)) << (63 - f.fbits) }
}

/// Packs a value that is exactly representable in `f` (as produced by [`round`]).
pub fn pack(f: Fmt, v: Val) -> u128 {
    match v {
        Val::Zero { neg } => f.zero(neg),
        Val::Inf { neg } => f.inf(neg),
        Val::Unsupported { .. } => f.indefinite(),
        Val::Nan { neg, frac, .. } => {
            let s = (neg as u128) << f.sign_shift();
            let ex = f.emask() << f.fbits;
            if f.explicit {
                s | ex | (1u128 << 63) | (frac >> 1) as u128
            } else {
                let fr = (frac >> (64 - f.fbits)) as u128;
                s | ex | if fr == 0 { 1 } else { fr }
            }
        }
        Val::Fin { neg, e, sig } => {
            let s = (neg as u128) << f.sign_shift();
            if e < f.emin() {
                let sh = (f.emin() - e) as u32;
                let m = if sh >= 64 { 0 } else { sig >> sh };
                let fr = if f.explicit { m as u128 } else { (m >> (63 - f.fbits)) as u128 };
                return s | fr;
            }
            let be = (e + f.bias()) as u128;
            let fr = if f.explicit {
                sig as u128
            } else {
                ((sig >> (63 - f.fbits)) as u128) & ((1u128 << f.fbits) - 1)
            };
            s | (be << f.fbits) | fr
        }
    }
}

/// Rounding parameters: precision, exponent range, rounding mode, flush-to-zero.
#[derive(Copy, Clone, Debug)]
pub struct Round {
    pub prec: u32,
    /// Precision of the storage format (fixes the denormal grid at emin - (den_prec - 1)).
    pub den_prec: u32,
    pub emin: i32,
    pub emax: i32,
    pub rm: Rm,
    pub ftz: bool,
    /// Underflow unmasked: tiny results report UE even when exact (SDM Vol 1 4.9.1.5), and
    /// flush-to-zero does not apply.
    pub ue_exact: bool,
}

impl Round {
    /// Parameters for format `f`.
    pub fn of(f: Fmt, rm: Rm) -> Round {
        Round {
            prec: f.prec(),
            den_prec: f.prec(),
            emin: f.emin(),
            emax: f.emax(),
            rm,
            ftz: false,
            ue_exact: false,
        }
    }
}

/// Rounds `m * 2^q` (sign `neg`, `m` may carry a sticky bit in bit 0 as long as it has at
/// least prec+2 significant bits) to the parameters; returns the value and flags.
pub fn round(r: Round, neg: bool, m: u128, q: i32) -> (Val, u32) {
    if m == 0 {
        return (Val::Zero { neg }, 0);
    }
    let lz = m.leading_zeros();
    let m = m << lz;
    // Exponent of the leading bit.
    let e = q + 127 - lz as i32;
    let tiny = e < r.emin;
    let mut flags = 0;
    if tiny && r.ue_exact {
        flags |= UE;
    }
    if tiny && r.ftz && !r.ue_exact {
        // Flush to zero (SDM Vol 1 10.2.3.3): tiny result with underflow masked.
        return (Val::Zero { neg }, UE | PE);
    }
    // Quantum (exponent of the last kept bit) and the shift that brings m to it.
    // Tiny results are rounded to the coarser of the precision and the storage format's
    // denormal grid (they differ only for x87 precision control).
    let qexp = if tiny {
        (r.emin - (r.den_prec as i32 - 1)).max(e - (r.prec as i32 - 1))
    } else {
        e - (r.prec as i32 - 1)
    };
    let shift: u32 = (qexp - e + 127).clamp(0, 200) as u32;
    let (keep, rest, half) = if shift >= 129 {
        (0u128, 1u128, 2u128) // everything below the half point: rest < half
    } else if shift == 128 {
        (0, m, 1u128 << 127)
    } else {
        (m >> shift, m & ((1u128 << shift) - 1), 1u128 << (shift - 1))
    };
    let inexact = rest != 0;
    let up = match r.rm {
        Rm::Nearest => rest > half || (rest == half && keep & 1 != 0),
        Rm::Down => neg && inexact,
        Rm::Up => !neg && inexact,
        Rm::Zero => false,
    };
    if inexact {
        flags |= PE;
        if tiny {
            flags |= UE;
        }
    }
    if up {
        flags |= C1UP;
    }
    let k = keep + up as u128;
    if k == 0 {
        return (Val::Zero { neg }, flags);
    }
    // value = k * 2^qexp
    let klz = k.leading_zeros();
    let e_out = qexp + (127 - klz as i32);
    let sig = ((k << klz) >> 64) as u64;
    if e_out > r.emax {
        flags |= OE | PE;
        let to_inf = match r.rm {
            Rm::Nearest => true,
            Rm::Down => neg,
            Rm::Up => !neg,
            Rm::Zero => false,
        };
        if to_inf {
            return (Val::Inf { neg }, flags | C1UP);
        }
        let max = if r.prec >= 64 { u64::MAX } else { !((1u64 << (64 - r.prec)) - 1) };
        return (Val::Fin { neg, e: r.emax, sig: max }, flags & !C1UP);
    }
    (Val::Fin { neg, e: e_out, sig }, flags)
}

/// Exact sum of two finite nonzero values as (neg, m, q) for [`round`]; `None` for an exact
/// zero (cancellation).
fn add_exact(an: bool, ae: i32, asig: u64, bn: bool, be: i32, bsig: u64) -> Option<(bool, u128, i32)> {
    // Put the larger exponent first.
    let (an, ae, asig, bn, be, bsig) =
        if ae >= be { (an, ae, asig, bn, be, bsig) } else { (bn, be, bsig, an, ae, asig) };
    let a = (asig as u128) << 62; // MSB at bit 125
    let d = (ae - be) as u32;
    let b0 = (bsig as u128) << 62;
    let b = if d == 0 {
        b0
    } else if d >= 126 {
        1
    } else {
        (b0 >> d) | ((b0 & ((1u128 << d) - 1) != 0) as u128)
    };
    let q = ae - 125;
    if an == bn {
        return Some((an, a + b, q));
    }
    if a > b {
        Some((an, a - b, q))
    } else if b > a {
        Some((bn, b - a, q))
    } else {
        None
    }
}

/// Operation selector for [`arith`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// `a op b` on non-NaN, supported operands (callers handle NaNs and denormal flags). Returns
/// the rounded value and flags (IE for invalid combinations, with `Val::Nan` as the result to
/// be replaced by the default NaN).
pub fn arith(r: Round, op: Op, a: Val, b: Val) -> (Val, u32) {
    use Val::*;
    let (a, b) = match op {
        Op::Sub => (a, negate(b)),
        _ => (a, b),
    };
    let inv = (Nan { neg: true, quiet: true, frac: 1 << 63 }, IE);
    match op {
        Op::Add | Op::Sub => match (a, b) {
            (Inf { neg: x }, Inf { neg: y }) => {
                if x == y {
                    (Inf { neg: x }, 0)
                } else {
                    inv
                }
            }
            (Inf { neg }, _) | (_, Inf { neg }) => (Inf { neg }, 0),
            (Zero { neg: x }, Zero { neg: y }) => {
                (Zero { neg: if x == y { x } else { r.rm == Rm::Down } }, 0)
            }
            (Zero { .. }, v) | (v, Zero { .. }) => {
                let Fin { neg, e, sig } = v else { return inv };
                round(r, neg, sig as u128, e - 63)
            }
            (Fin { neg: an, e: ae, sig: asig }, Fin { neg: bn, e: be, sig: bsig }) => {
                match add_exact(an, ae, asig, bn, be, bsig) {
                    Some((n, m, q)) => round(r, n, m, q),
                    None => (Zero { neg: r.rm == Rm::Down }, 0),
                }
            }
            _ => inv,
        },
        Op::Mul => {
            let neg = a.neg() != b.neg();
            match (a, b) {
                (Inf { .. }, Zero { .. }) | (Zero { .. }, Inf { .. }) => inv,
                (Inf { .. }, _) | (_, Inf { .. }) => (Inf { neg }, 0),
                (Zero { .. }, _) | (_, Zero { .. }) => (Zero { neg }, 0),
                (Fin { e: ae, sig: asig, .. }, Fin { e: be, sig: bsig, .. }) => {
                    round(r, neg, asig as u128 * bsig as u128, ae - 63 + be - 63)
                }
                _ => inv,
            }
        }
        Op::Div => {
            let neg = a.neg() != b.neg();
            match (a, b) {
                (Inf { .. }, Inf { .. }) | (Zero { .. }, Zero { .. }) => inv,
                (Inf { .. }, _) => (Inf { neg }, 0),
                (_, Inf { .. }) => (Zero { neg }, 0),
                (Zero { .. }, _) => (Zero { neg }, 0),
                (_, Zero { .. }) => (Inf { neg }, ZE),
                (Fin { e: ae, sig: asig, .. }, Fin { e: be, sig: bsig, .. }) => {
                    let (m, q) = div_exact(asig, bsig);
                    round(r, neg, m, ae - be + q)
                }
                _ => inv,
            }
        }
    }
}

/// `asig / bsig` (both with bit 63 set) as `m * 2^q` with a sticky bit.
fn div_exact(asig: u64, bsig: u64) -> (u128, i32) {
    let n = (asig as u128) << 64;
    let q1 = n / bsig as u128;
    let r1 = n % bsig as u128;
    let n2 = r1 << 2;
    let q2 = n2 / bsig as u128;
    let r2 = n2 % bsig as u128;
    ((q1 << 3) | (q2 << 1) | (r2 != 0) as u128, -64 - 3)
}

/// Square root of a non-NaN value.
pub fn sqrt(r: Round, a: Val) -> (Val, u32) {
    match a {
        Val::Zero { neg } => (Val::Zero { neg }, 0),
        Val::Inf { neg: false } => (a, 0),
        Val::Fin { neg: false, e, sig } => {
            let ex = e - 63;
            let (n, half_e) = if ex % 2 == 0 {
                ((sig as u128) << 64, (ex - 64) / 2)
            } else {
                ((sig as u128) << 63, (ex - 63) / 2)
            };
            // Restoring digit-by-digit square root over n * 4^3 (67 result bits).
            let mut rem: u128 = 0;
            let mut root: u128 = 0;
            for i in 0..67 {
                let pair = if i < 64 { (n >> (126 - 2 * i)) & 3 } else { 0 };
                rem = (rem << 2) | pair;
                let t = (root << 2) | 1;
                if rem >= t {
                    rem -= t;
                    root = (root << 1) | 1;
                } else {
                    root <<= 1;
                }
            }
            round(r, false, (root << 1) | (rem != 0) as u128, half_e - 3 - 1)
        }
        _ => (Val::Nan { neg: true, quiet: true, frac: 1 << 63 }, IE),
    }
}

/// Negates a value.
pub fn negate(v: Val) -> Val {
    match v {
        Val::Zero { neg } => Val::Zero { neg: !neg },
        Val::Fin { neg, e, sig } => Val::Fin { neg: !neg, e, sig },
        Val::Inf { neg } => Val::Inf { neg: !neg },
        Val::Nan { neg, quiet, frac } => Val::Nan { neg: !neg, quiet, frac },
        Val::Unsupported { neg } => Val::Unsupported { neg: !neg },
    }
}

/// Compares two non-NaN values: -1, 0, 1.
pub fn cmp(a: Val, b: Val) -> i32 {
    fn key(v: Val) -> (i32, i128) {
        // (class, magnitude key) with sign applied.
        match v {
            Val::Zero { .. } => (0, 0),
            Val::Fin { neg, e, sig } => {
                let k = (((e as i128) + 100_000) << 64) | sig as i128;
                if neg {
                    (-1, -k)
                } else {
                    (1, k)
                }
            }
            Val::Inf { neg } => {
                if neg {
                    (-2, 0)
                } else {
                    (2, 0)
                }
            }
            _ => (0, 0),
        }
    }
    let (ka, kb) = (key(a), key(b));
    match ka.cmp(&kb) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}

/// Rounds a non-NaN value to an integral value in the same (unbounded) precision; returns the
/// value and whether it was inexact.
pub fn round_to_int(v: Val, rm: Rm) -> (Val, bool) {
    let Val::Fin { neg, e, sig } = v else {
        return (v, false);
    };
    if e >= 63 {
        return (v, false);
    }
    let m = (sig as u128) << 64; // value = m * 2^(e - 127)
    let shift = (127 - e).min(200) as u32; // integer part = m >> shift
    let (keep, rest, half) = if shift >= 129 {
        (0u128, 1u128, 2u128)
    } else if shift == 128 {
        (0, m, 1u128 << 127)
    } else {
        (m >> shift, m & ((1u128 << shift) - 1), 1u128 << (shift - 1))
    };
    let inexact = rest != 0;
    let up = match rm {
        Rm::Nearest => rest > half || (rest == half && keep & 1 != 0),
        Rm::Down => neg && inexact,
        Rm::Up => !neg && inexact,
        Rm::Zero => false,
    };
    let k = keep + up as u128;
    if k == 0 {
        return (Val::Zero { neg }, inexact);
    }
    let lz = k.leading_zeros() as i32;
    (Val::Fin { neg, e: 127 - lz, sig: ((k << lz) >> 64) as u64 }, inexact)
}

/// Converts a value to a signed integer of `bits` bits (16, 32, 64) with rounding `rm`;
/// `None` on NaN/overflow (the caller stores the integer indefinite and sets IE). The bool is
/// the inexact flag.
pub fn to_int(v: Val, rm: Rm, bits: u32) -> Option<(i64, bool)> {
    match v {
        Val::Zero { .. } => Some((0, false)),
        Val::Fin { neg, .. } => {
            let (r, inexact) = round_to_int(v, rm);
            let mag: u128 = match r {
                Val::Zero { .. } => 0,
                Val::Fin { e, sig, .. } => {
                    if e >= 64 {
                        return None;
                    }
                    (sig as u128) >> (63 - e)
                }
                _ => return None,
            };
            let lim = 1u128 << (bits - 1);
            if (!neg && mag >= lim) || (neg && mag > lim) {
                return None;
            }
            let val = if neg { (mag as i128).wrapping_neg() as i64 } else { mag as i64 };
            Some((val, inexact))
        }
        _ => None,
    }
}

/// Converts a signed integer exactly into an unpacked value (then round it to the target).
pub fn from_int(r: Round, x: i64) -> (Val, u32) {
    let neg = x < 0;
    let mag = x.unsigned_abs() as u128;
    round(r, neg, mag, 0)
}

/// Rounds a finite value to `r` (format conversion); other values pass through.
pub fn convert(r: Round, v: Val) -> (Val, u32) {
    match v {
        Val::Fin { neg, e, sig } => round(r, neg, sig as u128, e - 63),
        _ => (v, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64op(op: Op, a: f64, b: f64, rm: Rm) -> (u64, u32) {
        let (v, fl) =
            arith(Round::of(F64, rm), op, unpack(F64, a.to_bits() as u128), unpack(F64, b.to_bits() as u128));
        (pack(F64, v) as u64, fl & 0x3f)
    }

    #[test]
    fn basic_arith() {
        assert_eq!(f64op(Op::Add, 1.0, 2.0, Rm::Nearest), (3.0f64.to_bits(), 0));
        assert_eq!(f64op(Op::Div, 1.0, 3.0, Rm::Nearest), ((1.0f64 / 3.0).to_bits(), PE));
        assert_eq!(f64op(Op::Div, 1.0, 3.0, Rm::Zero).0, 0x3fd5555555555555);
        assert_eq!(f64op(Op::Div, 2.0, 3.0, Rm::Up).0, 0x3fe5555555555556);
        assert_eq!(f64op(Op::Sub, 1.0, 1.0, Rm::Down).0, (-0.0f64).to_bits());
        assert_eq!(f64op(Op::Mul, 1e308, 10.0, Rm::Zero).0, f64::MAX.to_bits());
        let (v, fl) = sqrt(Round::of(F64, Rm::Nearest), unpack(F64, 2.0f64.to_bits() as u128));
        assert_eq!((pack(F64, v) as u64, fl & 0x3f), (2.0f64.sqrt().to_bits(), PE));
    }

    #[test]
    fn tininess_before_rounding() {
        // (1 - 2^-53) * 2^-1022 rounds to the smallest normal but is tiny: UE|PE.
        let a = f64::from_bits(0x3fefffffffffffff);
        let b = f64::from_bits(0x0010000000000000);
        assert_eq!(f64op(Op::Mul, a, b, Rm::Nearest), (0x0010000000000000, UE | PE));
        // Denormal results are exact when representable.
        assert_eq!(f64op(Op::Mul, f64::from_bits(4), 0.5, Rm::Nearest), (2, 0));
    }

    #[test]
    fn f80_roundtrip_and_int() {
        let one = unpack(F80, (0x3fffu128 << 64) | (1u128 << 63));
        assert_eq!(one, Val::Fin { neg: false, e: 0, sig: 1 << 63 });
        assert_eq!(pack(F80, one), (0x3fffu128 << 64) | (1u128 << 63));
        let two_half = unpack(F64, 2.5f64.to_bits() as u128);
        assert_eq!(to_int(two_half, Rm::Nearest, 32), Some((2, true)));
        assert_eq!(to_int(unpack(F64, (-2.5f64).to_bits() as u128), Rm::Down, 32), Some((-3, true)));
        assert_eq!(to_int(unpack(F64, 3e9f64.to_bits() as u128), Rm::Nearest, 32), None);
        assert_eq!(
            to_int(unpack(F64, (-2147483648.0f64).to_bits() as u128), Rm::Nearest, 32),
            Some((i32::MIN as i64, false))
        );
    }
}
