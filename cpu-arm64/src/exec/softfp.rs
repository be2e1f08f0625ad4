//! Exact IEEE 754 arithmetic with the Arm rules (Arm ARM A1.5 and the shared pseudocode
//! in J1 "shared/functions/float"): values are unpacked to an exact real
//! `mant * 2^exp` (with a sticky bit in bit 0 where the exact value has more bits than fit),
//! rounded by [`Ctx::round`], which follows `FPRound` step by step: flush-to-zero of tiny
//! results (FZ, UFC), tininess detected *before* rounding, the four FPCR rounding modes
//! plus ties-away and round-to-odd, overflow to infinity or the largest normal, and the
//! alternative half-precision format (AHP). NaN handling follows `FPProcessNaN(s)` with
//! FPCR.DN. No host floating point is used.

/// An IEEE binary format: exponent and fraction widths.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fmt {
    pub e: u32,
    pub f: u32,
}

/// binary16, binary32, binary64.
pub const H: Fmt = Fmt { e: 5, f: 10 };
pub const S: Fmt = Fmt { e: 8, f: 23 };
pub const D: Fmt = Fmt { e: 11, f: 52 };

impl Fmt {
    /// The format of `esize` bits (16, 32, 64).
    pub fn of(esize: u32) -> Fmt {
        match esize {
            16 => H,
            32 => S,
            _ => D,
        }
    }
    pub fn n(self) -> u32 {
        1 + self.e + self.f
    }
    fn bias(self) -> i32 {
        (1 << (self.e - 1)) - 1
    }
    fn emin(self) -> i32 {
        1 - self.bias()
    }
    fn emax_field(self) -> u64 {
        (1 << self.e) - 1
    }
    pub fn sign_bit(self) -> u64 {
        1 << (self.e + self.f)
    }
    pub fn frac_mask(self) -> u64 {
        (1 << self.f) - 1
    }
    pub fn zero(self, sign: bool) -> u64 {
        if sign {
            self.sign_bit()
        } else {
            0
        }
    }
    pub fn inf(self, sign: bool) -> u64 {
        self.zero(sign) | self.emax_field() << self.f
    }
    pub fn max_normal(self, sign: bool) -> u64 {
        self.zero(sign) | (self.emax_field() - 1) << self.f | self.frac_mask()
    }
    pub fn default_nan(self) -> u64 {
        self.emax_field() << self.f | 1 << (self.f - 1)
    }
    /// `sign : exp : frac` of a normal number with value 2^k * 1.frac.
    pub fn pack(self, sign: bool, biased: u64, frac: u64) -> u64 {
        self.zero(sign) | biased << self.f | frac
    }
    pub fn neg(self, x: u64) -> u64 {
        x ^ self.sign_bit()
    }
    pub fn abs(self, x: u64) -> u64 {
        x & !self.sign_bit()
    }
    /// 1.0, 2.0, 1.5 and 3.0 with a sign.
    pub fn num(self, sign: bool, int_exp: i32, frac_top: u64) -> u64 {
        self.pack(sign, (self.bias() + int_exp) as u64, frac_top << (self.f - 2))
    }
}

/// FPCR bits used here.
pub const FPCR_AHP: u64 = 1 << 26;
pub const FPCR_DN: u64 = 1 << 25;
pub const FPCR_FZ: u64 = 1 << 24;
/// FPSR cumulative flags.
pub const IOC: u32 = 1;
pub const DZC: u32 = 2;
pub const OFC: u32 = 4;
pub const UFC: u32 = 8;
pub const IXC: u32 = 16;
pub const IDC: u32 = 128;

/// Rounding modes (FPRounding): the FPCR.RMode encodings 0-3, then ties-away and odd.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rm {
    TieEven,
    PosInf,
    NegInf,
    Zero,
    TieAway,
    Odd,
}

impl Rm {
    /// FPDecodeRounding.
    pub fn from_bits(b: u64) -> Rm {
        match b & 3 {
            0 => Rm::TieEven,
            1 => Rm::PosInf,
            2 => Rm::NegInf,
            _ => Rm::Zero,
        }
    }

    /// Whether RoundDown's integer part `ip` rounds up to `ip + 1` in this mode, given the
    /// fraction (greater than half, exactly half, non-zero): FPToFixed and FPRoundInt.
    fn rounds_up(self, ip: i128, gt: bool, eq: bool, nz: bool) -> bool {
        match self {
            Rm::TieEven => gt || (eq && ip & 1 != 0),
            Rm::TieAway => gt || (eq && ip >= 0),
            Rm::PosInf => nz,
            Rm::NegInf => false,
            Rm::Zero | Rm::Odd => nz && ip < 0,
        }
    }
}

/// FPType.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    Zero,
    Num,
    Inf,
    QNaN,
    SNaN,
}

/// An exact real: (-1)^sign * mant * 2^exp; bit 0 of `mant` may be a sticky bit (see
/// [`shr_sticky`]), always far below the rounding position.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Real {
    pub sign: bool,
    pub exp: i32,
    pub mant: u128,
}

impl Real {
    pub const ZERO: Real = Real { sign: false, exp: 0, mant: 0 };
    pub fn int(sign: bool, m: u128) -> Real {
        Real { sign, exp: 0, mant: m }
    }
    /// Shifts so that the leading one is at bit 125 (exact for values with at most 126
    /// significant bits).
    fn norm(self) -> Real {
        if self.mant == 0 {
            return self;
        }
        let lz = self.mant.leading_zeros() as i32;
        let sh = lz - 2;
        if sh >= 0 {
            Real { mant: self.mant << sh, exp: self.exp - sh, ..self }
        } else {
            Real { mant: shr_sticky(self.mant, (-sh) as u32), exp: self.exp - sh, ..self }
        }
    }
    pub fn negate(self) -> Real {
        Real { sign: !self.sign, ..self }
    }
    /// Exact sum (with sticky), Arm "real" addition.
    pub fn plus(self, o: Real) -> Real {
        if self.mant == 0 {
            return o;
        }
        if o.mant == 0 {
            return self;
        }
        let (a, b) = (self.norm(), o.norm());
        let (big, small) = if a.exp >= b.exp { (a, b) } else { (b, a) };
        let d = (big.exp - small.exp) as u32;
        let sm = shr_sticky(small.mant, d);
        if big.sign == small.sign {
            Real { sign: big.sign, exp: big.exp, mant: big.mant + sm }
        } else if big.mant >= sm {
            Real { sign: big.sign, exp: big.exp, mant: big.mant - sm }
        } else {
            Real { sign: small.sign, exp: big.exp, mant: sm - big.mant }
        }
    }
    /// Exact product of two values with at most 64 significant bits each.
    pub fn times(self, o: Real) -> Real {
        let (a, b) = (self.shrink(), o.shrink());
        Real { sign: a.sign != b.sign, exp: a.exp + b.exp, mant: a.mant * b.mant }
    }
    /// Removes trailing zero bits (keeps products within 128 bits).
    fn shrink(self) -> Real {
        if self.mant == 0 {
            return self;
        }
        let tz = self.mant.trailing_zeros();
        Real { mant: self.mant >> tz, exp: self.exp + tz as i32, ..self }
    }
    /// Quotient with at least 70 significant bits and a sticky bit.
    pub fn quot(self, o: Real) -> Real {
        let b = o.shrink();
        let lz = self.mant.leading_zeros();
        let a = self.mant << lz;
        let q = a / b.mant;
        let r = a % b.mant;
        Real { sign: self.sign != b.sign, exp: self.exp - lz as i32 - b.exp, mant: q | (r != 0) as u128 }
    }
    /// Square root of a positive value, at least 60 significant bits and a sticky bit.
    pub fn sqrt(self) -> Real {
        let lz = self.mant.leading_zeros() as i32;
        let mut sh = lz - 1;
        if (self.exp - sh) & 1 != 0 {
            sh -= 1;
        }
        let m = if sh >= 0 { self.mant << sh } else { self.mant >> 1 };
        let e = self.exp - sh;
        let (r, exact) = isqrt(m);
        Real { sign: false, exp: e / 2, mant: r << 1 | (!exact) as u128 }.fix_exp()
    }
    fn fix_exp(self) -> Real {
        // r << 1 doubled the value: compensate.
        Real { exp: self.exp - 1, ..self }
    }
    /// Splits into integer part (rounded toward -inf, as a magnitude-with-sign i.e.
    /// `RoundDown`) and the fraction as (greater than half, exactly half, non-zero).
    fn round_down(self) -> (i128, bool, bool, bool, bool) {
        // Returns (int_part, overflowed, gt_half, eq_half, inexact) of RoundDown(value).
        if self.exp >= 0 {
            if self.exp >= 64 || (self.mant << self.exp) >> self.exp != self.mant {
                return (0, true, false, false, false);
            }
            let m = (self.mant << self.exp) as i128;
            if m < 0 {
                return (0, true, false, false, false);
            }
            let v = if self.sign { -m } else { m };
            return (v, false, false, false, false);
        }
        let sh = (-self.exp) as u32;
        let (ip, rem_gt, rem_eq, rem_nz) = split(self.mant, sh);
        if ip >> 100 != 0 {
            return (0, true, false, false, false);
        }
        let ip = ip as i128;
        if !self.sign {
            (ip, false, rem_gt, rem_eq, rem_nz)
        } else if !rem_nz {
            (-ip, false, false, false, false)
        } else {
            // -(ip + f) = -(ip + 1) + (1 - f)
            (-ip - 1, false, !rem_gt && !rem_eq, rem_eq, true)
        }
    }
}

/// Mask of a `bits`-bit integer (`bits` <= 64).
#[inline]
pub(super) fn int_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// `v >> n` with every shifted-out one bit ORed into bit 0.
pub fn shr_sticky(v: u128, n: u32) -> u128 {
    if n == 0 {
        v
    } else if n >= 128 {
        (v != 0) as u128
    } else {
        v >> n | ((v & ((1u128 << n) - 1)) != 0) as u128
    }
}

/// `v >> n` and the shifted-out part compared with one half: (>, ==, != 0).
fn split(v: u128, n: u32) -> (u128, bool, bool, bool) {
    if n == 0 {
        return (v, false, false, false);
    }
    if n > 128 {
        return (0, false, false, v != 0);
    }
    let ip = if n == 128 { 0 } else { v >> n };
    let rem = if n == 128 { v } else { v & ((1u128 << n) - 1) };
    let half = 1u128 << (n - 1);
    (ip, rem > half, rem == half, rem != 0)
}

/// Integer square root of a u128: (floor(sqrt(m)), exact).
fn isqrt(m: u128) -> (u128, bool) {
    let mut rem = m;
    let mut res: u128 = 0;
    let mut bit: u128 = 1 << 126;
    while bit > rem {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= res + bit {
            rem -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    (res, rem == 0)
}

/// Execution context: FPCR and the flags raised (ORed into FPSR by the caller).
#[derive(Copy, Clone, Debug)]
pub struct Ctx {
    pub fpcr: u64,
    pub flags: u32,
}

impl Ctx {
    pub fn new(fpcr: u64) -> Ctx {
        Ctx { fpcr, flags: 0 }
    }
    pub fn rmode(&self) -> Rm {
        Rm::from_bits(self.fpcr >> 22)
    }
    fn fz(&self, f: Fmt) -> bool {
        // FZ applies to single and double; FZ16 (FEAT_FP16) is not implemented.
        self.fpcr & FPCR_FZ != 0 && f != H
    }
    fn dn(&self) -> bool {
        self.fpcr & FPCR_DN != 0
    }

    /// FPUnpack: type, sign and exact value; a denormal input with FZ is a zero and sets
    /// IDC. `cv`: FPUnpackCV (half precision honours AHP).
    pub fn unpack_as(&mut self, f: Fmt, x: u64, cv: bool) -> (Ty, bool, Real) {
        let sign = x & f.sign_bit() != 0;
        let e = (x >> f.f) & f.emax_field();
        let frac = x & f.frac_mask();
        let ahp = cv && f == H && self.fpcr & FPCR_AHP != 0;
        if e == 0 {
            if frac == 0 {
                return (Ty::Zero, sign, Real::ZERO);
            }
            if self.fz(f) {
                self.flags |= IDC;
                return (Ty::Zero, sign, Real::ZERO);
            }
            return (Ty::Num, sign, Real { sign, exp: f.emin() - f.f as i32, mant: frac as u128 });
        }
        if e == f.emax_field() && !ahp {
            if frac == 0 {
                return (Ty::Inf, sign, Real::ZERO);
            }
            let q = frac >> (f.f - 1) & 1 != 0;
            return (if q { Ty::QNaN } else { Ty::SNaN }, sign, Real::ZERO);
        }
        let mant = (frac | 1 << f.f) as u128;
        (Ty::Num, sign, Real { sign, exp: e as i32 - f.bias() - f.f as i32, mant })
    }
    pub fn unpack(&mut self, f: Fmt, x: u64) -> (Ty, bool, Real) {
        self.unpack_as(f, x, false)
    }

    /// FPProcessNaN: quietens a signalling NaN (IOC), default NaN with DN.
    pub fn process_nan(&mut self, f: Fmt, t: Ty, x: u64) -> u64 {
        let mut r = x;
        if t == Ty::SNaN {
            r |= 1 << (f.f - 1);
            self.flags |= IOC;
        }
        if self.dn() {
            f.default_nan()
        } else {
            r
        }
    }

    /// FPProcessNaNs: the first signalling NaN, else the first quiet NaN.
    pub fn process_nans(&mut self, f: Fmt, ops: &[(Ty, u64)]) -> Option<u64> {
        for &(t, x) in ops {
            if t == Ty::SNaN {
                // Every other signalling operand raises the same IOC.
                return Some(self.process_nan(f, t, x));
            }
        }
        for &(t, x) in ops {
            if t == Ty::QNaN {
                return Some(self.process_nan(f, t, x));
            }
        }
        None
    }

    /// FPUnpack of both operands of a two-operand operation, then FPProcessNaNs: `Err`
    /// carries the NaN result.
    #[inline]
    fn unpack_pair(&mut self, f: Fmt, a: u64, b: u64) -> Result<[(Ty, bool, Real); 2], u64> {
        let o1 = self.unpack(f, a);
        let o2 = self.unpack(f, b);
        match self.process_nans(f, &[(o1.0, a), (o2.0, b)]) {
            Some(r) => Err(r),
            None => Ok([o1, o2]),
        }
    }

    /// The unordered case of a comparison: true when either operand is a NaN, raising IOC
    /// for a signalling NaN, or for any NaN when `signal`.
    fn unordered(&mut self, t1: Ty, t2: Ty, signal: bool) -> bool {
        let nan = |t| matches!(t, Ty::QNaN | Ty::SNaN);
        if nan(t1) || nan(t2) {
            if t1 == Ty::SNaN || t2 == Ty::SNaN || signal {
                self.flags |= IOC;
            }
            return true;
        }
        false
    }

    /// FPRound (J1 shared pseudocode) of a non-zero value in mode `rm`.
    pub fn round(&mut self, f: Fmt, v: Real, rm: Rm) -> u64 {
        self.round_cv(f, v, rm, false)
    }

    /// FPRound / FPRoundCV (`cv`: AHP applies to half-precision results).
    pub fn round_cv(&mut self, f: Fmt, v: Real, rm: Rm, cv: bool) -> u64 {
        debug_assert!(v.mant != 0);
        let sign = v.sign;
        let msb = 127 - v.mant.leading_zeros() as i32;
        let exponent = v.exp + msb; // value in [2^exponent, 2^(exponent+1))
        let emin = f.emin();
        let ff = f.f as i32;
        if self.fz(f) && exponent < emin {
            self.flags |= UFC;
            return f.zero(sign);
        }
        let mut biased = (exponent - emin + 1).max(0) as u64;
        let lsb_exp = if biased > 0 { exponent - ff } else { emin - ff };
        let sh = lsb_exp - v.exp;
        let (mut int_mant, gt, eq, nz) =
            if sh <= 0 { (v.mant << (-sh) as u32, false, false, false) } else { split(v.mant, sh as u32) };
        let mut inexact = nz;
        if biased == 0 && nz {
            self.flags |= UFC;
        }
        let (round_up, overflow_to_inf) = match rm {
            Rm::TieEven => (gt || (eq && int_mant & 1 != 0), true),
            Rm::TieAway => (gt || eq, true),
            Rm::PosInf => (nz && !sign, !sign),
            Rm::NegInf => (nz && sign, sign),
            Rm::Zero | Rm::Odd => (false, false),
        };
        if round_up {
            int_mant += 1;
            if int_mant == 1 << ff {
                biased = 1;
            }
            if int_mant == 1 << (ff + 1) {
                biased += 1;
                int_mant >>= 1;
            }
        }
        if nz && rm == Rm::Odd {
            int_mant |= 1;
        }
        let ahp = cv && f == H && self.fpcr & FPCR_AHP != 0;
        let result;
        if !ahp {
            if biased >= f.emax_field() {
                result = if overflow_to_inf { f.inf(sign) } else { f.max_normal(sign) };
                self.flags |= OFC;
                inexact = true;
            } else {
                result = f.pack(sign, biased, int_mant as u64 & f.frac_mask());
            }
        } else if biased > f.emax_field() {
            result = f.zero(sign) | (f.sign_bit() - 1);
            self.flags |= IOC;
            inexact = false;
        } else {
            result = f.pack(sign, biased, int_mant as u64 & f.frac_mask());
        }
        if inexact {
            self.flags |= IXC;
        }
        result
    }

    /// The exact-zero result of an addition: -0 only when rounding toward -inf.
    fn exact_zero(&self, f: Fmt) -> u64 {
        f.zero(self.rmode() == Rm::NegInf)
    }

    /// FPAdd (`sub`: FPSub).
    pub fn add(&mut self, f: Fmt, a: u64, b: u64) -> u64 {
        let [(t1, s1, v1), (t2, s2, v2)] = match self.unpack_pair(f, a, b) {
            Ok(ops) => ops,
            Err(nan) => return nan,
        };
        let (i1, i2) = (t1 == Ty::Inf, t2 == Ty::Inf);
        if i1 && i2 && s1 != s2 {
            self.flags |= IOC;
            f.default_nan()
        } else if (i1 && !s1) || (i2 && !s2) {
            f.inf(false)
        } else if i1 || i2 {
            f.inf(true)
        } else if t1 == Ty::Zero && t2 == Ty::Zero && s1 == s2 {
            f.zero(s1)
        } else {
            let r = v1.plus(v2);
            if r.mant == 0 {
                self.exact_zero(f)
            } else {
                self.round(f, r, self.rmode())
            }
        }
    }
    pub fn sub(&mut self, f: Fmt, a: u64, b: u64) -> u64 {
        let (t2, _, _) = self.unpack_quiet(f, b);
        // FPSub negates op2 only as a value: NaN operands propagate unchanged.
        if matches!(t2, Ty::QNaN | Ty::SNaN) {
            return self.add(f, a, b);
        }
        self.add(f, a, f.neg(b))
    }
    /// Type of an operand without raising IDC.
    fn unpack_quiet(&mut self, f: Fmt, x: u64) -> (Ty, bool, Real) {
        let fl = self.flags;
        let r = self.unpack(f, x);
        self.flags = fl;
        r
    }

    /// FPMul (`mulx`: FPMulX, 0 * inf = 2).
    pub fn mul_x(&mut self, f: Fmt, a: u64, b: u64, mulx: bool) -> u64 {
        let [(t1, s1, v1), (t2, s2, v2)] = match self.unpack_pair(f, a, b) {
            Ok(ops) => ops,
            Err(nan) => return nan,
        };
        let (i1, i2, z1, z2) = (t1 == Ty::Inf, t2 == Ty::Inf, t1 == Ty::Zero, t2 == Ty::Zero);
        if (i1 && z2) || (z1 && i2) {
            if mulx {
                return f.num(s1 != s2, 1, 0);
            }
            self.flags |= IOC;
            f.default_nan()
        } else if i1 || i2 {
            f.inf(s1 != s2)
        } else if z1 || z2 {
            f.zero(s1 != s2)
        } else {
            self.round(f, v1.times(v2), self.rmode())
        }
    }
    pub fn mul(&mut self, f: Fmt, a: u64, b: u64) -> u64 {
        self.mul_x(f, a, b, false)
    }

    /// FPDiv.
    pub fn div(&mut self, f: Fmt, a: u64, b: u64) -> u64 {
        let [(t1, s1, v1), (t2, s2, v2)] = match self.unpack_pair(f, a, b) {
            Ok(ops) => ops,
            Err(nan) => return nan,
        };
        let (i1, i2, z1, z2) = (t1 == Ty::Inf, t2 == Ty::Inf, t1 == Ty::Zero, t2 == Ty::Zero);
        if (i1 && i2) || (z1 && z2) {
            self.flags |= IOC;
            f.default_nan()
        } else if i1 || z2 {
            if !i1 {
                self.flags |= DZC;
            }
            f.inf(s1 != s2)
        } else if z1 || i2 {
            f.zero(s1 != s2)
        } else {
            self.round(f, v1.quot(v2), self.rmode())
        }
    }

    /// FPSqrt.
    pub fn sqrt(&mut self, f: Fmt, a: u64) -> u64 {
        let (t, s, v) = self.unpack(f, a);
        match t {
            Ty::QNaN | Ty::SNaN => self.process_nan(f, t, a),
            Ty::Zero => f.zero(s),
            Ty::Inf if !s => f.inf(false),
            _ if s => {
                self.flags |= IOC;
                f.default_nan()
            }
            _ => self.round(f, v.sqrt(), self.rmode()),
        }
    }

    /// FPMulAdd: addend + op1 * op2 with a single rounding (`neg_*` negate operands first,
    /// as FMSUB/FNMADD/FNMSUB/FMLS do with FPNeg).
    pub fn muladd(&mut self, f: Fmt, addend: u64, a: u64, b: u64) -> u64 {
        let (ta, sa, va) = self.unpack(f, addend);
        let (t1, s1, v1) = self.unpack(f, a);
        let (t2, s2, v2) = self.unpack(f, b);
        let (i1, i2, z1, z2) = (t1 == Ty::Inf, t2 == Ty::Inf, t1 == Ty::Zero, t2 == Ty::Zero);
        let nan = self.process_nans(f, &[(ta, addend), (t1, a), (t2, b)]);
        if ta == Ty::QNaN && ((i1 && z2) || (z1 && i2)) {
            self.flags |= IOC;
            return f.default_nan();
        }
        if let Some(r) = nan {
            return r;
        }
        let (ia, za) = (ta == Ty::Inf, ta == Ty::Zero);
        let sp = s1 != s2;
        let ip = i1 || i2;
        let zp = z1 || z2;
        if (i1 && z2) || (z1 && i2) || (ia && ip && sa != sp) {
            self.flags |= IOC;
            f.default_nan()
        } else if (ia && !sa) || (ip && !sp) {
            f.inf(false)
        } else if ia || ip {
            f.inf(true)
        } else if za && zp && sa == sp {
            f.zero(sa)
        } else {
            let r = va.plus(v1.times(v2));
            if r.mant == 0 {
                self.exact_zero(f)
            } else {
                self.round(f, r, self.rmode())
            }
        }
    }

    /// FPRecipStepFused (FRECPS: 2 - a*b) and FPRSqrtStepFused (FRSQRTS: (3 - a*b) / 2).
    pub fn step(&mut self, f: Fmt, a: u64, b: u64, rsqrt: bool) -> u64 {
        let a = f.neg(a);
        let [(t1, s1, v1), (t2, s2, v2)] = match self.unpack_pair(f, a, b) {
            Ok(ops) => ops,
            Err(nan) => return nan,
        };
        let (i1, i2, z1, z2) = (t1 == Ty::Inf, t2 == Ty::Inf, t1 == Ty::Zero, t2 == Ty::Zero);
        if (i1 && z2) || (z1 && i2) {
            if rsqrt {
                f.num(false, 0, 2) // 1.5
            } else {
                f.num(false, 1, 0) // 2.0
            }
        } else if i1 || i2 {
            f.inf(s1 != s2)
        } else {
            let c = Real::int(false, if rsqrt { 3 } else { 2 });
            let mut r = c.plus(v1.times(v2));
            if rsqrt {
                r.exp -= 1;
            }
            if r.mant == 0 {
                self.exact_zero(f)
            } else {
                self.round(f, r, self.rmode())
            }
        }
    }

    /// FPMax / FPMin (`max`), and FPMaxNum / FPMinNum (`num`: a single quiet NaN loses).
    pub fn minmax(&mut self, f: Fmt, a: u64, b: u64, max: bool, num: bool) -> u64 {
        let (mut a, mut b) = (a, b);
        if num {
            let (t1, _, _) = self.unpack_quiet(f, a);
            let (t2, _, _) = self.unpack_quiet(f, b);
            let lose = f.inf(max);
            if t1 == Ty::QNaN && t2 != Ty::QNaN {
                a = lose;
            } else if t1 != Ty::QNaN && t2 == Ty::QNaN {
                b = lose;
            }
        }
        let [(t1, s1, v1), (t2, s2, v2)] = match self.unpack_pair(f, a, b) {
            Ok(ops) => ops,
            Err(nan) => return nan,
        };
        let k1 = key(t1, s1, v1);
        let k2 = key(t2, s2, v2);
        let first = if max { k1 > k2 } else { k1 < k2 };
        let (t, s, x) = if first { (t1, s1, a) } else { (t2, s2, b) };
        match t {
            Ty::Inf => f.inf(s),
            Ty::Zero => f.zero(if max { s1 && s2 } else { s1 || s2 }),
            _ => x,
        }
    }

    /// FPCompare: NZCV in bits 3:0 (`signal`: FCMPE, quiet NaNs raise IOC too).
    pub fn compare(&mut self, f: Fmt, a: u64, b: u64, signal: bool) -> u32 {
        let (t1, s1, v1) = self.unpack(f, a);
        let (t2, s2, v2) = self.unpack(f, b);
        if self.unordered(t1, t2, signal) {
            return 0b0011;
        }
        match key(t1, s1, v1).cmp(&key(t2, s2, v2)) {
            std::cmp::Ordering::Equal => 0b0110,
            std::cmp::Ordering::Less => 0b1000,
            std::cmp::Ordering::Greater => 0b0010,
        }
    }

    /// FPCompareEQ/GE/GT (op 0, 1, 2): quiet NaNs raise IOC for GE and GT only.
    pub fn cmp_op(&mut self, f: Fmt, a: u64, b: u64, op: u32) -> bool {
        let (t1, s1, v1) = self.unpack(f, a);
        let (t2, s2, v2) = self.unpack(f, b);
        if self.unordered(t1, t2, op != 0) {
            return false;
        }
        let o = key(t1, s1, v1).cmp(&key(t2, s2, v2));
        match op {
            0 => o.is_eq(),
            1 => o.is_ge(),
            _ => o.is_gt(),
        }
    }

    /// FPToFixed: to a `bits`-bit integer with `fbits` fraction bits, saturating (IOC) and
    /// IXC when inexact; NaN converts to 0 with IOC.
    pub fn to_fixed(&mut self, f: Fmt, x: u64, fbits: u32, unsigned: bool, bits: u32, rm: Rm) -> u64 {
        let (t, s, mut v) = self.unpack(f, x);
        let (lo, hi): (i128, i128) = if unsigned {
            (0, (1i128 << bits) - 1)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        };
        let mask = int_mask(bits);
        match t {
            Ty::QNaN | Ty::SNaN => {
                self.flags |= IOC;
                return 0;
            }
            Ty::Inf => {
                self.flags |= IOC;
                return (if s { lo } else { hi }) as u64 & mask;
            }
            Ty::Zero => return 0,
            Ty::Num => {}
        }
        v.exp += fbits as i32;
        let (ip, ovf, gt, eq, nz) = v.round_down();
        if ovf {
            self.flags |= IOC;
            return (if s { lo } else { hi }) as u64 & mask;
        }
        let up = rm.rounds_up(ip, gt, eq, nz);
        let r = ip + up as i128;
        if r < lo || r > hi {
            self.flags |= IOC;
            (if r < lo { lo } else { hi }) as u64 & mask
        } else {
            if nz {
                self.flags |= IXC;
            }
            r as u64 & mask
        }
    }

    /// FixedToFP: a `bits`-bit integer with `fbits` fraction bits to format `f`.
    pub fn from_fixed(&mut self, f: Fmt, x: u64, fbits: u32, unsigned: bool, bits: u32, rm: Rm) -> u64 {
        let mask = int_mask(bits);
        let x = x & mask;
        let neg = !unsigned && x >> (bits - 1) & 1 != 0;
        let mag = if neg { (x.wrapping_neg()) & mask } else { x };
        let mag = if neg && mag == 0 { 1u128 << (bits - 1) } else { mag as u128 };
        if mag == 0 {
            return f.zero(false);
        }
        self.round(f, Real { sign: neg, exp: -(fbits as i32), mant: mag }, rm)
    }

    /// FPRoundInt (`exact`: FRINTX raises IXC when the value changes).
    pub fn round_int(&mut self, f: Fmt, x: u64, rm: Rm, exact: bool) -> u64 {
        let (t, s, v) = self.unpack(f, x);
        match t {
            Ty::QNaN | Ty::SNaN => return self.process_nan(f, t, x),
            Ty::Inf | Ty::Zero => return if t == Ty::Inf { f.inf(s) } else { f.zero(s) },
            Ty::Num => {}
        }
        if v.exp >= 0 {
            return x; // already an integer
        }
        let (ip, _, gt, eq, nz) = v.round_down();
        let up = rm.rounds_up(ip, gt, eq, nz);
        let r = ip + up as i128;
        let res = if r == 0 {
            f.zero(s)
        } else {
            let fl = self.flags;
            let res = self.round(f, Real { sign: r < 0, exp: 0, mant: r.unsigned_abs() }, Rm::Zero);
            self.flags = fl;
            res
        };
        if nz && exact {
            self.flags |= IXC;
        }
        res
    }

    /// FPConvert between formats (FCVT, FCVTL/FCVTN, FCVTXN with `rm` = Odd).
    pub fn convert(&mut self, from: Fmt, to: Fmt, x: u64, rm: Rm) -> u64 {
        let (t, s, v) = self.unpack_as(from, x, true);
        let alt_hp = to == H && self.fpcr & FPCR_AHP != 0;
        match t {
            Ty::QNaN | Ty::SNaN => {
                let r = if alt_hp {
                    to.zero(s)
                } else if self.dn() {
                    to.default_nan()
                } else {
                    // FPConvertNaN: sign, all-ones exponent, quiet bit, then the top of the
                    // source fraction below its quiet bit.
                    let payload = x & (from.frac_mask() >> 1);
                    let p =
                        if to.f >= from.f { payload << (to.f - from.f) } else { payload >> (from.f - to.f) };
                    to.inf(s) | 1 << (to.f - 1) | p
                };
                if t == Ty::SNaN || alt_hp {
                    self.flags |= IOC;
                }
                r
            }
            Ty::Inf => {
                if alt_hp {
                    self.flags |= IOC;
                    to.zero(s) | (to.sign_bit() - 1)
                } else {
                    to.inf(s)
                }
            }
            Ty::Zero => to.zero(s),
            Ty::Num => self.round_cv(to, v, rm, true),
        }
    }

    /// FPRecipEstimate (FRECPE), Armv8.0 precision.
    pub fn recip_estimate(&mut self, f: Fmt, x: u64) -> u64 {
        let (t, s, v) = self.unpack(f, x);
        match t {
            Ty::QNaN | Ty::SNaN => return self.process_nan(f, t, x),
            Ty::Inf => return f.zero(s),
            Ty::Zero => {
                self.flags |= DZC;
                return f.inf(s);
            }
            Ty::Num => {}
        }
        let msb = 127 - v.mant.leading_zeros() as i32;
        let e = v.exp + msb; // |value| in [2^e, 2^(e+1))
        let small = match f.n() {
            16 => -17,
            32 => -129,
            _ => -1025,
        };
        if e <= small {
            let inf = match self.rmode() {
                Rm::TieEven => true,
                Rm::PosInf => !s,
                Rm::NegInf => s,
                _ => false,
            };
            self.flags |= OFC | IXC;
            return if inf { f.inf(s) } else { f.max_normal(s) };
        }
        if self.fz(f) && e >= f.bias() - 1 {
            self.flags |= UFC;
            return f.zero(s);
        }
        // Work in the double-precision layout (the pseudocode's 52-bit fraction).
        let mut fraction = (x & f.frac_mask()) << (52 - f.f);
        let mut exp = ((x >> f.f) & f.emax_field()) as i64;
        if exp == 0 {
            if fraction >> 51 & 1 == 0 {
                exp = -1;
                fraction = (fraction << 2) & ((1 << 52) - 1);
            } else {
                fraction = (fraction << 1) & ((1 << 52) - 1);
            }
        }
        let scaled = 256 | (fraction >> 44) as u32;
        let mut result_exp: i64 = match f.n() {
            16 => 29 - exp,
            32 => 253 - exp,
            _ => 2045 - exp,
        };
        let est = recip_estimate_int(scaled) as u64;
        let mut fraction = (est & 0xff) << 44;
        if result_exp == 0 {
            fraction = 1 << 51 | fraction >> 1;
        } else if result_exp == -1 {
            fraction = 1 << 50 | fraction >> 2;
            result_exp = 0;
        }
        f.pack(s, result_exp as u64, fraction >> (52 - f.f))
    }

    /// FPRSqrtEstimate (FRSQRTE), Armv8.0 precision.
    pub fn rsqrt_estimate(&mut self, f: Fmt, x: u64) -> u64 {
        let (t, s, _) = self.unpack(f, x);
        match t {
            Ty::QNaN | Ty::SNaN => return self.process_nan(f, t, x),
            Ty::Zero => {
                self.flags |= DZC;
                return f.inf(s);
            }
            _ if s => {
                self.flags |= IOC;
                return f.default_nan();
            }
            Ty::Inf => return f.zero(false),
            Ty::Num => {}
        }
        let mut fraction = (x & f.frac_mask()) << (52 - f.f);
        let mut exp = ((x >> f.f) & f.emax_field()) as i64;
        if exp == 0 {
            while fraction >> 51 & 1 == 0 {
                fraction = (fraction << 1) & ((1 << 52) - 1);
                exp -= 1;
            }
            fraction = (fraction << 1) & ((1 << 52) - 1);
        }
        let scaled = if exp & 1 == 0 { 256 | (fraction >> 44) as u32 } else { 128 | (fraction >> 45) as u32 };
        let result_exp: i64 = match f.n() {
            16 => (44 - exp).div_euclid(2),
            32 => (380 - exp).div_euclid(2),
            _ => (3068 - exp).div_euclid(2),
        };
        let est = rsqrt_estimate_int(scaled) as u64;
        f.pack(false, result_exp as u64, ((est & 0xff) << 44) >> (52 - f.f))
    }

    /// FPRecpX (FRECPX).
    pub fn recpx(&mut self, f: Fmt, x: u64) -> u64 {
        let (t, s, _) = self.unpack(f, x);
        if matches!(t, Ty::QNaN | Ty::SNaN) {
            return self.process_nan(f, t, x);
        }
        let e = (x >> f.f) & f.emax_field();
        if e == 0 {
            f.pack(s, f.emax_field() - 1, 0)
        } else {
            f.pack(s, !e & f.emax_field(), 0)
        }
    }
}

/// An order-preserving key for non-NaN operands.
fn key(t: Ty, s: bool, v: Real) -> i128 {
    // Compare through exact reals scaled into an i128 is impossible for the full double
    // range, so order by (class, exponent, mantissa).
    let mag: i128 = match t {
        Ty::Zero => 0,
        Ty::Inf => i128::MAX,
        _ => {
            let msb = 127 - v.mant.leading_zeros() as i32;
            let e = v.exp + msb; // in [-1100, 1100]
            let m = (v.mant << (127 - msb as u32)) >> 64; // 63 significant bits, top at 63
            ((e + 2000) as i128) << 64 | m as i128
        }
    };
    if s {
        -mag
    } else {
        mag
    }
}

/// RecipEstimate (J1 shared pseudocode): 256..511 -> 256..511.
pub fn recip_estimate_int(a: u32) -> u32 {
    let a = a * 2 + 1;
    let b = (1u32 << 19) / a;
    b.div_ceil(2) // (b + 1) DIV 2
}

/// RecipSqrtEstimate: 128..511 -> 256..511.
pub fn rsqrt_estimate_int(a: u32) -> u32 {
    let a = if a < 256 { a * 2 + 1 } else { ((a >> 1) << 1) * 2 + 2 };
    let a = a as u64;
    let mut b: u64 = 512;
    while a * (b + 1) * (b + 1) < 1 << 28 {
        b += 1;
    }
    b.div_ceil(2) as u32 // (b + 1) DIV 2
}

#[cfg(test)]
mod tests {
    //! Exact expected values (hand-computed; Arm ARM examples where noted).
    use super::*;

    const RN: u64 = 0;
    const RP: u64 = 1 << 22;
    const RM: u64 = 2 << 22;
    const RZ: u64 = 3 << 22;

    fn ctx(fpcr: u64) -> Ctx {
        Ctx::new(fpcr)
    }

    #[test]
    fn add_mul_div_sqrt_exact_and_inexact() {
        let mut x = ctx(RN);
        assert_eq!(x.add(D, 0x3ff8_0000_0000_0000, 0x4002_0000_0000_0000), 0x400e_0000_0000_0000); // 1.5+2.25
        assert_eq!(x.flags, 0);
        // 0.1 + 0.2 = 0.30000000000000004
        assert_eq!(x.add(D, 0x3fb9_9999_9999_999a, 0x3fc9_9999_9999_999a), 0x3fd3_3333_3333_3334);
        assert_eq!(x.flags, IXC);
        let mut x = ctx(RN);
        assert_eq!(x.sqrt(D, 0x4000_0000_0000_0000), 0x3ff6_a09e_667f_3bcd); // sqrt(2)
        assert_eq!(x.sqrt(S, 0x4080_0000), 0x4000_0000); // sqrt(4) = 2, exact
        assert_eq!(x.mul(S, 0x4040_0000, 0x3dcc_cccd), 0x3e99_999a); // 3 * 0.1f
                                                                     // x - x = +0, or -0 when rounding toward -inf.
        assert_eq!(x.sub(D, 0x4000_0000_0000_0000, 0x4000_0000_0000_0000), 0);
        assert_eq!(ctx(RM).sub(D, 0x4000_0000_0000_0000, 0x4000_0000_0000_0000), 1 << 63);
        assert_eq!(x.sqrt(D, 1 << 63), 1 << 63); // sqrt(-0) = -0
    }

    #[test]
    fn rounding_modes() {
        let (one, three) = (0x3ff0_0000_0000_0000, 0x4008_0000_0000_0000);
        assert_eq!(ctx(RN).div(D, one, three), 0x3fd5_5555_5555_5555);
        assert_eq!(ctx(RP).div(D, one, three), 0x3fd5_5555_5555_5556);
        assert_eq!(ctx(RM).div(D, one, three), 0x3fd5_5555_5555_5555);
        assert_eq!(ctx(RZ).div(D, one, three), 0x3fd5_5555_5555_5555);
        assert_eq!(ctx(RM).div(D, one | 1 << 63, three), 0xbfd5_5555_5555_5556);
        assert_eq!(ctx(RZ).div(D, one | 1 << 63, three), 0xbfd5_5555_5555_5555);
        // Single 2^24 + 1: a tie, to even.
        assert_eq!(ctx(RN).add(S, 0x4b80_0000, 0x3f80_0000), 0x4b80_0000);
        assert_eq!(ctx(RP).add(S, 0x4b80_0000, 0x3f80_0000), 0x4b80_0001);
        // FCVT double 1/3 -> single.
        let third = 0x3fd5_5555_5555_5555;
        assert_eq!(ctx(RN).convert(D, S, third, Rm::TieEven), 0x3eaa_aaab);
        assert_eq!(ctx(RZ).convert(D, S, third, Rm::Zero), 0x3eaa_aaaa);
        // FCVTXN: round to odd, 1 + 2^-30 -> 1 + 2^-23.
        assert_eq!(ctx(RN).convert(D, S, 0x3ff0_0000_0040_0000, Rm::Odd), 0x3f80_0001);
    }

    #[test]
    fn overflow_underflow_and_arm_tininess() {
        let mut x = ctx(RN);
        assert_eq!(x.mul(S, 0x7f7f_ffff, 0x4000_0000), 0x7f80_0000);
        assert_eq!(x.flags, OFC | IXC);
        let mut x = ctx(RZ);
        assert_eq!(x.mul(S, 0x7f7f_ffff, 0x4000_0000), 0x7f7f_ffff);
        assert_eq!(x.flags, OFC | IXC);
        // (1 - 2^-24) * 2^-126 rounds up to 2^-126, the smallest normal. Arm detects
        // tininess before rounding (FPRound), so UFC is set as well as IXC.
        let mut x = ctx(RN);
        assert_eq!(x.mul(S, 0x3f7f_ffff, 0x0080_0000), 0x0080_0000);
        assert_eq!(x.flags, UFC | IXC);
        // Exact denormal result: no flag.
        let mut x = ctx(RN);
        assert_eq!(x.mul(S, 0x3f00_0000, 0x0080_0000), 0x0040_0000);
        assert_eq!(x.flags, 0);
    }

    #[test]
    fn flush_to_zero() {
        // FZ: a denormal input is zero (IDC), a tiny result is zero (UFC, no IXC).
        let mut x = ctx(FPCR_FZ);
        assert_eq!(x.add(S, 0x0000_0001, 0x0000_0000), 0);
        assert_eq!(x.flags, IDC);
        let mut x = ctx(FPCR_FZ);
        assert_eq!(x.mul(S, 0x3f00_0000, 0x8080_0000), 0x8000_0000);
        assert_eq!(x.flags, UFC);
        // Half precision is not flushed by FZ.
        let mut x = ctx(FPCR_FZ);
        assert_eq!(x.convert(H, S, 0x0001, Rm::TieEven), 0x3380_0000);
        assert_eq!(x.flags, 0);
    }

    #[test]
    fn nan_propagation_and_default_nan() {
        let snan = 0x7f80_0001;
        let qnan = 0x7fc0_0002;
        let mut x = ctx(RN);
        // The first signalling NaN wins over an earlier quiet one, quietened, IOC.
        assert_eq!(x.add(S, qnan, snan), 0x7fc0_0001);
        assert_eq!(x.flags, IOC);
        let mut x = ctx(RN);
        assert_eq!(x.mul(S, 0x3f80_0000, qnan | 1 << 31), 0xffc0_0002);
        assert_eq!(x.flags, 0);
        let mut x = ctx(FPCR_DN);
        assert_eq!(x.add(S, qnan, 0x3f80_0000), 0x7fc0_0000);
        // Invalid operations give the default NaN.
        let mut x = ctx(RN);
        assert_eq!(x.mul(D, 0x7ff0_0000_0000_0000, 0), 0x7ff8_0000_0000_0000);
        assert_eq!(x.flags, IOC);
        // FMA: quiet NaN addend with inf * 0 is the default NaN with IOC.
        let mut x = ctx(RN);
        assert_eq!(x.muladd(S, qnan, 0x7f80_0000, 0), 0x7fc0_0000);
        assert_eq!(x.flags, IOC);
        // FCVT keeps the payload's top bits.
        assert_eq!(ctx(RN).convert(D, S, 0x7ff8_0000_2000_0000 | 1 << 63, Rm::TieEven), 0xffc0_0001);
        assert_eq!(ctx(RN).convert(S, D, 0x7fc0_0001, Rm::TieEven), 0x7ff8_0000_2000_0000);
    }

    #[test]
    fn fused_multiply_add_and_steps() {
        // (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60 exactly.
        let mut x = ctx(RN);
        let r = x.muladd(D, 0xbff0_0000_0000_0000, 0x3ff0_0000_0040_0000, 0x3fef_ffff_ff80_0000);
        assert_eq!(r, 0xbc30_0000_0000_0000);
        assert_eq!(x.flags, 0);
        // FRECPS(2, 0.5) = 2 - 1 = 1; FRSQRTS(1, 1) = (3 - 1) / 2 = 1; inf * 0 special cases.
        assert_eq!(ctx(RN).step(S, 0x4000_0000, 0x3f00_0000, false), 0x3f80_0000);
        assert_eq!(ctx(RN).step(S, 0x3f80_0000, 0x3f80_0000, true), 0x3f80_0000);
        assert_eq!(ctx(RN).step(S, 0x7f80_0000, 0, false), 0x4000_0000);
        assert_eq!(ctx(RN).step(S, 0x7f80_0000, 0, true), 0x3fc0_0000);
    }

    #[test]
    fn min_max_and_compare() {
        let mut x = ctx(RN);
        assert_eq!(x.minmax(S, 0, 0x8000_0000, true, false), 0);
        assert_eq!(x.minmax(S, 0, 0x8000_0000, false, false), 0x8000_0000);
        assert_eq!(x.minmax(S, 0x7fc0_0000, 0x3f80_0000, true, true), 0x3f80_0000); // FMAXNM
        assert_eq!(x.minmax(S, 0x7fc0_0000, 0x3f80_0000, true, false), 0x7fc0_0000); // FMAX
        assert_eq!(x.flags, 0);
        assert_eq!(x.compare(D, 0x3ff0_0000_0000_0000, 0x4000_0000_0000_0000, false), 0b1000);
        assert_eq!(x.compare(D, 0x8000_0000_0000_0000, 0, false), 0b0110); // -0 == +0
        assert_eq!(x.compare(D, 0x7ff8_0000_0000_0000, 0, false), 0b0011);
        assert_eq!(x.flags, 0);
        assert_eq!(x.compare(D, 0x7ff8_0000_0000_0000, 0, true), 0b0011);
        assert_eq!(x.flags, IOC);
        let mut x = ctx(RN);
        assert!(!x.cmp_op(S, 0x7fc0_0000, 0, 0)); // FCMEQ quiet NaN: no IOC
        assert_eq!(x.flags, 0);
        assert!(!x.cmp_op(S, 0x7fc0_0000, 0, 1)); // FCMGE quiet NaN: IOC
        assert_eq!(x.flags, IOC);
    }

    #[test]
    fn conversions_to_and_from_integers() {
        let m25 = 0xc004_0000_0000_0000; // -2.5
        let r = |rm| ctx(RN).to_fixed(D, m25, 0, false, 64, rm) as i64;
        assert_eq!(
            [r(Rm::TieEven), r(Rm::TieAway), r(Rm::NegInf), r(Rm::PosInf), r(Rm::Zero)],
            [-2, -3, -3, -2, -2]
        );
        let mut x = ctx(RN);
        assert_eq!(x.to_fixed(D, 0x4415_af1d_78b5_8c40, 0, false, 64, Rm::Zero), i64::MAX as u64); // 1e20
        assert_eq!(x.flags, IOC);
        let mut x = ctx(RN);
        assert_eq!(x.to_fixed(D, 0xbff0_0000_0000_0000, 0, true, 32, Rm::Zero), 0); // -1 -> 0
        assert_eq!(x.flags, IOC);
        let mut x = ctx(RN);
        assert_eq!(x.to_fixed(S, 0x7fc0_0000, 0, false, 32, Rm::Zero), 0);
        assert_eq!(x.flags, IOC);
        // -2.7 with 4 fraction bits: -43.2 -> -43, 32-bit.
        assert_eq!(ctx(RN).to_fixed(D, 0xc005_9999_9999_999a, 4, false, 32, Rm::Zero), 0xffff_ffd5);
        // i32::MIN as 32-bit signed, 2^63 + 1 unsigned (inexact), 40 with 4 fraction bits.
        assert_eq!(ctx(RN).from_fixed(S, 0x8000_0000, 0, false, 32, Rm::TieEven), 0xcf00_0000);
        let mut x = ctx(RN);
        assert_eq!(x.from_fixed(D, 0x8000_0000_0000_0001, 0, true, 64, Rm::TieEven), 0x43e0_0000_0000_0000);
        assert_eq!(x.flags, IXC);
        assert_eq!(ctx(RN).from_fixed(D, 40, 4, false, 64, Rm::TieEven), 0x4004_0000_0000_0000);
    }

    #[test]
    fn round_to_integral() {
        let p25 = 0x4004_0000_0000_0000;
        let mut x = ctx(RN);
        assert_eq!(x.round_int(D, p25, Rm::TieEven, true), 0x4000_0000_0000_0000);
        assert_eq!(x.flags, IXC);
        let mut x = ctx(RN);
        assert_eq!(x.round_int(D, p25, Rm::TieAway, false), 0x4008_0000_0000_0000);
        assert_eq!(x.flags, 0);
        // -0.5 toward +inf is -0.
        assert_eq!(ctx(RN).round_int(D, 0xbfe0_0000_0000_0000, Rm::PosInf, false), 1 << 63);
    }

    #[test]
    fn estimates() {
        // FRECPE(1.0) = FRSQRTE(1.0) = 0.998046875 (511/512).
        assert_eq!(ctx(RN).recip_estimate(S, 0x3f80_0000), 0x3f7f_8000);
        assert_eq!(ctx(RN).rsqrt_estimate(S, 0x3f80_0000), 0x3f7f_8000);
        // FRECPE(2.0) = 0.4990234375; FRSQRTE(4.0) = 0.4990234375.
        assert_eq!(ctx(RN).recip_estimate(D, 0x4000_0000_0000_0000), 0x3fdf_f000_0000_0000);
        assert_eq!(ctx(RN).rsqrt_estimate(S, 0x4080_0000), 0x3eff_8000);
        let mut x = ctx(RN);
        assert_eq!(x.recip_estimate(S, 0), 0x7f80_0000);
        assert_eq!(x.flags, DZC);
        assert_eq!(recip_estimate_int(256), 511);
        assert_eq!(rsqrt_estimate_int(511), 256);
        assert_eq!(ctx(RN).recpx(S, 0x4080_0000), 0x3f00_0000); // exponent inverted
    }

    #[test]
    fn alternative_half_precision() {
        let mut x = ctx(FPCR_AHP);
        // 0x7c00 is 65536 in the alternative format, not infinity.
        assert_eq!(x.convert(H, S, 0x7c00, Rm::TieEven), 0x4780_0000);
        // NaN to AHP: zero with IOC; IEEE half: infinity for 65520.
        assert_eq!(x.convert(S, H, 0x7fc0_0000, Rm::TieEven), 0);
        assert_eq!(x.flags, IOC);
        let mut x = ctx(RN);
        assert_eq!(x.convert(S, H, 0x477f_f000, Rm::TieEven), 0x7c00);
        assert_eq!(x.flags, OFC | IXC);
    }
}
