//! Advanced SIMD data processing, vector and scalar forms (Arm ARM C4.1.6 "Data Processing
//! -- Scalar Floating-Point and Advanced SIMD"; C7.2 pages): dispatch of the whole SIMD&FP
//! data-processing space, and the groups three same, three different, two-register misc,
//! across lanes, copy, modified immediate, shift by immediate, vector x indexed element,
//! permute, extract, table lookup, scalar pairwise and scalar copy. Scalar forms run the
//! vector element operation on element 0. Lane operations are generic over the element
//! size; FP lanes use [`super::softfp`]. Crypto, FP16 arithmetic, dot product, RDM and the
//! other post-Armv8.0 extensions are UNDEFINED.

use super::fp::{elt, set_elt};
use super::softfp::{int_mask as mask, Ctx, Fmt, Rm, D, H, S};
use super::{bit, bits};
use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;

type R = Result<(), Exc>;

fn undef<T>() -> Result<T, Exc> {
    Err(Exc::undef())
}

/// Signed value of an `esize`-bit element.
#[inline]
fn sx(v: u64, esize: u32) -> i128 {
    ((v << (64 - esize)) as i64 >> (64 - esize)) as i128
}

/// The element as a signed (`!u`) or unsigned integer.
#[inline]
fn ext(v: u64, esize: u32, u: bool) -> i128 {
    if u {
        (v & mask(esize)) as i128
    } else {
        sx(v, esize)
    }
}

/// SignedSatQ / UnsignedSatQ: the saturated `esize`-bit value and whether it saturated.
#[inline]
fn sat(x: i128, esize: u32, u: bool) -> (u64, bool) {
    let (lo, hi) =
        if u { (0, (1i128 << esize) - 1) } else { (-(1i128 << (esize - 1)), (1i128 << (esize - 1)) - 1) };
    if x < lo {
        (lo as u64 & mask(esize), true)
    } else if x > hi {
        (hi as u64 & mask(esize), true)
    } else {
        (x as u64 & mask(esize), false)
    }
}

/// [`sat`], recording saturation in the cumulative QC flag (FPSR.QC).
#[inline]
fn satq(x: i128, esize: u32, u: bool, qc: &mut bool) -> u64 {
    let (v, s) = sat(x, esize, u);
    *qc |= s;
    v
}

/// SQDMULH / SQRDMULH element (`round`): high half of the saturated doubled product.
#[inline]
fn sqdmulh(a: u64, b: u64, esize: u32, round: bool, qc: &mut bool) -> u64 {
    let p = 2 * sx(a, esize) * sx(b, esize) + if round { 1i128 << (esize - 1) } else { 0 };
    satq(p >> esize, esize, false, qc)
}

/// SQDMULL / SQDMLAL / SQDMLSL element: the saturated doubled product of the (already
/// extended) narrow operands as a `w`-bit value, then with `acc` = Some(subtract) the
/// saturating accumulation into the `w`-bit `d`.
#[inline]
fn sqdmull(a: i128, b: i128, d: u64, w: u32, acc: Option<bool>, qc: &mut bool) -> u64 {
    let p = satq(2 * a * b, w, false, qc);
    match acc {
        None => p,
        Some(sub) => {
            let (acc, p) = (sx(d, w), sx(p, w));
            satq(if sub { acc - p } else { acc + p }, w, false, qc)
        }
    }
}

/// Shift by a signed amount with optional rounding (SSHL/USHL/SRSHL/... element op).
fn shl(a: i128, shift: i32, round: bool) -> i128 {
    if shift >= 64 {
        // Every result bit below 2^64 is zero; out of range for saturation.
        a.signum() << 100
    } else if shift >= 0 {
        // |a| < 2^64, so a << 63 still fits in an i128.
        a << shift
    } else {
        let s = (-shift).min(100) as u32;
        if round {
            (a + (1i128 << (s - 1))) >> s
        } else {
            a >> s
        }
    }
}

/// Entry for the SIMD&FP data-processing space (op0 = x111).
pub fn dp(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    c.check_fp()?;
    let op0 = bits(i, 31, 28);
    if op0 & 0b0101 == 0b0001 {
        return super::fp::scalar(c, i);
    }
    if bit(i, 31) {
        return undef(); // crypto (SHA512, SM3, ...) and unallocated
    }
    let scalar = bit(i, 28);
    let op1 = bits(i, 24, 23);
    let op2 = bits(i, 22, 19);
    let op3 = bits(i, 18, 10);
    if scalar && !bit(i, 30) {
        return undef();
    }
    let mut qc = false;
    let r = group(c, i, scalar, op1, op2, op3, &mut qc);
    if qc {
        c.fpsr |= 1 << 27;
    }
    r
}

/// The vector (`!scalar`) or scalar groups, by op1, op2 and op3.
fn group(c: &mut Arm64Cpu, i: u32, scalar: bool, op1: u32, op2: u32, op3: u32, qc: &mut bool) -> R {
    if op1 & 2 != 0 {
        if op3 & 1 == 0 {
            return indexed(c, i, scalar, qc);
        }
        if op1 == 3 {
            return undef();
        }
        // Modified immediate is vector only; the scalar op2 = 0000 is shift by immediate.
        return if op2 == 0 && !scalar { mod_imm(c, i) } else { shift_imm(c, i, scalar, qc) };
    }
    if op2 & 4 == 0 {
        // op2 = x0xx
        return if scalar { scalar_x0xx(c, i, op1, op2, op3) } else { vector_x0xx(c, i, op1, op2, op3) };
    }
    // op2 = x1xx
    if op3 & 1 != 0 {
        return three_same(c, i, scalar, qc);
    }
    if op3 & 3 == 0 {
        return three_diff(c, i, scalar, qc);
    }
    // op3 = xxxxxxx10
    if op3 >> 7 == 0 {
        match op2 & 7 {
            0b100 => return misc(c, i, scalar, qc),
            0b110 if scalar => return pairwise_scalar(c, i),
            0b110 => return across(c, i),
            _ => {}
        }
    }
    undef()
}

/// Vector op2 = x0xx: copy, three-register extension, EXT, TBL/TBX and permutes.
fn vector_x0xx(c: &mut Arm64Cpu, i: u32, op1: u32, op2: u32, op3: u32) -> R {
    let b29 = bit(i, 29);
    if op1 == 0 && op2 & 0b1100 == 0 && op3 & 0b100001 == 1 {
        return copy(c, i);
    }
    if op3 & 0b100001 == 0b100001 {
        return undef(); // three-register extension (dot product, FCMLA, ...)
    }
    if op3 & 0b100001 == 0 {
        // Bits 23:22 are op2 (must be 0) for EXT and TBL/TBX, the size for permutes.
        return if b29 {
            if bits(i, 23, 22) == 0 {
                ext_(c, i)
            } else {
                undef()
            }
        } else if op3 & 3 == 0 {
            table(c, i)
        } else if op3 & 3 == 2 {
            permute(c, i)
        } else {
            undef()
        };
    }
    undef()
}

/// Scalar op2 = x0xx: scalar copy; the rest are not implemented.
fn scalar_x0xx(c: &mut Arm64Cpu, i: u32, op1: u32, op2: u32, op3: u32) -> R {
    if op1 == 0 && op2 & 0b1100 == 0 && op3 & 0b100001 == 1 {
        // Scalar copy: DUP (element), op = 0, imm4 = 0.
        if bit(i, 29) || bits(i, 14, 11) != 0 {
            return undef();
        }
        let (_, esize, idx) = imm5_elt(bits(i, 20, 16))?;
        let v = c.velt(bits(i, 9, 5), idx, esize);
        c.set_vlow(bits(i, 4, 0), v as u128, esize);
        return Ok(());
    }
    undef() // FP16, three same extra (RDM), crypto
}

/// The fields most Advanced SIMD encodings share (C4.1.6): Q (bit 30), U (29), size
/// (23:22), Rm (20:16), Rn (9:5) and Rd (4:0).
struct Fields {
    q: bool,
    u: bool,
    size: u32,
    rm: u32,
    rn: u32,
    rd: u32,
}

#[inline]
fn fields(i: u32) -> Fields {
    Fields {
        q: bit(i, 30),
        u: bit(i, 29),
        size: bits(i, 23, 22),
        rm: bits(i, 20, 16),
        rn: bits(i, 9, 5),
        rd: bits(i, 4, 0),
    }
}

/// Writes a vector result: 64-bit results clear the upper half (B1.2.1).
fn put(c: &mut Arm64Cpu, rd: u32, v: u128, q: bool) {
    c.set_vlow(rd, v, if q { 128 } else { 64 });
}

/// Writes an element-size result: element 0 of a scalar form, else the vector ([`put`]).
fn put_elts(c: &mut Arm64Cpu, rd: u32, r: u128, esize: u32, scalar: bool, q: bool) {
    if scalar {
        c.set_vlow(rd, r, esize);
    } else {
        put(c, rd, r, q);
    }
}

/// Writes a widening or narrowing result: the `esize`-bit element 0 of a scalar form, else
/// the whole register (`r` already holds any half that is kept); `None` (an unallocated
/// encoding) is UNDEFINED.
fn put_whole(c: &mut Arm64Cpu, rd: u32, r: Option<u128>, esize: u32, scalar: bool) -> R {
    let Some(r) = r else {
        return undef();
    };
    if scalar {
        c.set_vlow(rd, r, esize);
    } else {
        c.v[rd as usize] = r;
    }
    Ok(())
}

/// Elements of an operation: 1 for a scalar form, else those of the 64- or 128-bit (`q`)
/// vector.
#[inline]
fn lanes(scalar: bool, q: bool, esize: u32) -> u32 {
    if scalar {
        1
    } else {
        (if q { 128 } else { 64 }) / esize
    }
}

/// Operands of element `e`: element `e` of `va` and `vb`, or for a pairwise operation the
/// adjacent pair 2e, 2e+1 of the concatenation Vm:Vn (`n` elements each).
#[inline]
fn operands(va: u128, vb: u128, e: u32, n: u32, esize: u32, pairwise: bool) -> (u64, u64) {
    if pairwise {
        let pick = |k: u32| if k < n { elt(va, k, esize) } else { elt(vb, k - n, esize) };
        (pick(2 * e), pick(2 * e + 1))
    } else {
        (elt(va, e, esize), elt(vb, e, esize))
    }
}

/// The `esize`-bit elements 0..n of a result, element `e` being `op(e)`, in order; `None`
/// as soon as `op` gives `None` (an unallocated encoding).
#[inline]
fn map_lanes(n: u32, esize: u32, mut op: impl FnMut(u32) -> Option<u64>) -> Option<u128> {
    let mut r = 0u128;
    for e in 0..n {
        r = set_elt(r, e, esize, op(e)?);
    }
    Some(r)
}

/// Writes a lane-by-lane result ([`put_elts`]); `None` (an unallocated encoding) is
/// UNDEFINED.
#[inline]
fn put_lanes(c: &mut Arm64Cpu, rd: u32, r: Option<u128>, esize: u32, scalar: bool, q: bool) -> R {
    let Some(r) = r else {
        return undef();
    };
    put_elts(c, rd, r, esize, scalar, q);
    Ok(())
}

/// An element-size operation lane by lane: `op` of each element number ([`map_lanes`]), the
/// result written by [`put_lanes`].
#[inline]
fn int_lanes(
    c: &mut Arm64Cpu,
    rd: u32,
    esize: u32,
    scalar: bool,
    q: bool,
    op: impl FnMut(u32) -> Option<u64>,
) -> R {
    let r = map_lanes(lanes(scalar, q, esize), esize, op);
    put_lanes(c, rd, r, esize, scalar, q)
}

/// [`int_lanes`] for an FP operation: every element under one FP context, `op` given the
/// context and the element number.
#[inline]
fn fp_lanes(
    c: &mut Arm64Cpu,
    rd: u32,
    esize: u32,
    scalar: bool,
    q: bool,
    mut op: impl FnMut(&mut Ctx, u32) -> Option<u64>,
) -> R {
    let n = lanes(scalar, q, esize);
    let r = c.with_fp(|x| map_lanes(n, esize, |e| op(x, e)));
    put_lanes(c, rd, r, esize, scalar, q)
}

/// A narrowing operation: `op(e)` as the `esize`-bit element e of the result, in order;
/// `None` as soon as `op` gives `None` (an unallocated encoding). A vector "2" form (Q = 1)
/// keeps the lower half of Vd and writes the upper; the others write the lower half of
/// zero, one element for a scalar form.
#[inline]
fn narrow_lanes(
    vd: u128,
    q: bool,
    scalar: bool,
    esize: u32,
    mut op: impl FnMut(u32) -> Option<u64>,
) -> Option<u128> {
    let n = if scalar { 1 } else { 64 / esize };
    let part = if q && !scalar { n } else { 0 };
    let mut r = if q && !scalar { vd & u64::MAX as u128 } else { 0 };
    for e in 0..n {
        r = set_elt(r, e + part, esize, op(e)?);
    }
    Some(r)
}

/// A widening operation: `op(e, k)` as the `2*esize`-bit element e of the result, in
/// order, k being the number of its `esize`-bit source elements: those of the lower half,
/// or of the upper half for a vector "2" form (Q = 1); one element for a scalar form.
/// `None` as soon as `op` gives `None` (an unallocated encoding).
#[inline]
fn long_lanes(
    q: bool,
    scalar: bool,
    esize: u32,
    mut op: impl FnMut(u32, u32) -> Option<u64>,
) -> Option<u128> {
    let n = if scalar { 1 } else { 64 / esize };
    let part = if q && !scalar { n } else { 0 };
    let mut r = 0u128;
    for e in 0..n {
        r = set_elt(r, e, 2 * esize, op(e, e + part)?);
    }
    Some(r)
}

// ---------------------------------------------------------------------------------------
// Three same

/// Integer three-same element operation; None for an unallocated encoding.
fn int3(op: u32, u: bool, esize: u32, a: u64, b: u64, d: u64, qc: &mut bool) -> Option<u64> {
    let (sa, sb) = (ext(a, esize, u), ext(b, esize, u));
    let m = mask(esize);
    let shift = b as u8 as i8 as i32;
    let r: i128 = match op {
        0b00000 => (sa + sb) >> 1,
        0b00010 => (sa + sb + 1) >> 1,
        0b00100 => (sa - sb) >> 1,
        0b00001 | 0b00101 => {
            let x = if op == 1 { sa + sb } else { sa - sb };
            return Some(satq(x, esize, u, qc));
        }
        0b00110 => -((sa > sb) as i128),
        0b00111 => -((sa >= sb) as i128),
        0b01000 | 0b01010 => shl(sa, shift, op == 0b01010),
        0b01001 | 0b01011 => {
            return Some(satq(shl(sa, shift, op == 0b01011), esize, u, qc));
        }
        0b01100 => sa.max(sb),
        0b01101 => sa.min(sb),
        0b01110 => (sa - sb).abs(),
        0b01111 => (sa - sb).abs() + d as i128,
        0b10000 => {
            if u {
                a.wrapping_sub(b) as i128
            } else {
                a.wrapping_add(b) as i128
            }
        }
        0b10001 => {
            if u {
                -((a & m == b & m) as i128)
            } else {
                -((a & b & m != 0) as i128)
            }
        }
        0b10010 => {
            let p = a.wrapping_mul(b);
            (if u { d.wrapping_sub(p) } else { d.wrapping_add(p) }) as i128
        }
        0b10011 => {
            if u {
                if esize != 8 {
                    return None;
                }
                pmul(a, b, 8) as i128
            } else {
                a.wrapping_mul(b) as i128
            }
        }
        0b10100 => sa.max(sb),
        0b10101 => sa.min(sb),
        0b10110 => {
            if esize == 8 || esize == 64 {
                return None;
            }
            return Some(sqdmulh(a, b, esize, u, qc));
        }
        0b10111 if !u => a.wrapping_add(b) as i128,
        _ => return None,
    };
    Some(r as u64 & m)
}

/// Polynomial multiply of `esize`-bit operands (low `2*esize` bits of the product).
fn pmul(a: u64, b: u64, esize: u32) -> u64 {
    let mut r = 0u64;
    for k in 0..esize {
        if b >> k & 1 != 0 {
            r ^= (a & mask(esize)) << k;
        }
    }
    r
}

/// FP three-same element operation (opcode 11xxx with U and a = size<1>).
fn fp3(x: &mut Ctx, f: Fmt, op: u32, u: bool, a_bit: bool, a: u64, b: u64, d: u64) -> Option<u64> {
    let t = |v: bool| if v { mask(f.n()) } else { 0 };
    Some(match (op, u, a_bit) {
        (0b11000, _, false) => x.minmax(f, a, b, true, true),
        (0b11000, _, true) => x.minmax(f, a, b, false, true),
        (0b11001, false, false) => x.muladd(f, d, a, b),
        (0b11001, false, true) => x.muladd(f, d, f.neg(a), b),
        (0b11010, false, false) => x.add(f, a, b),
        (0b11010, false, true) => x.sub(f, a, b),
        (0b11010, true, false) => x.add(f, a, b), // FADDP (pairs arranged by the caller)
        (0b11010, true, true) => f.abs(x.sub(f, a, b)),
        (0b11011, false, false) => x.mul_x(f, a, b, true),
        (0b11011, true, false) => x.mul(f, a, b),
        (0b11100, false, false) => t(x.cmp_op(f, a, b, 0)),
        (0b11100, true, false) => t(x.cmp_op(f, a, b, 1)),
        (0b11100, true, true) => t(x.cmp_op(f, a, b, 2)),
        (0b11101, true, false) => t(x.cmp_op(f, f.abs(a), f.abs(b), 1)),
        (0b11101, true, true) => t(x.cmp_op(f, f.abs(a), f.abs(b), 2)),
        (0b11110, _, false) => x.minmax(f, a, b, true, false),
        (0b11110, _, true) => x.minmax(f, a, b, false, false),
        (0b11111, false, false) => x.step(f, a, b, false),
        (0b11111, false, true) => x.step(f, a, b, true),
        (0b11111, true, false) => x.div(f, a, b),
        _ => return None,
    })
}

fn three_same(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let Fields { q, u, size, rm, rn, rd } = fields(i);
    let op = bits(i, 15, 11);
    let (va, vb, vd) = (c.v[rn as usize], c.v[rm as usize], c.v[rd as usize]);
    if op == 0b00011 {
        // Logical: AND, BIC, ORR, ORN, EOR, BSL, BIT, BIF.
        if scalar {
            return undef();
        }
        let r = match (u, size) {
            (false, 0) => va & vb,
            (false, 1) => va & !vb,
            (false, 2) => va | vb,
            (false, _) => va | !vb,
            (true, 0) => va ^ vb,
            (true, 1) => (vd & va) | (!vd & vb),
            (true, 2) => (vb & va) | (!vb & vd),
            (true, _) => (!vb & va) | (vb & vd),
        };
        put(c, rd, r, q);
        return Ok(());
    }
    if op >= 0b11000 {
        // FP.
        let sz = size & 1;
        let a_bit = size & 2 != 0;
        if (!scalar && sz == 1 && !q)
            || (scalar
                && !matches!(
                    (op, u, a_bit),
                    (0b11011, false, false)
                        | (0b11100, _, _)
                        | (0b11101, true, _)
                        | (0b11111, false, _)
                        | (0b11010, true, true)
                ))
        {
            return undef();
        }
        let f = if sz == 1 { D } else { S };
        let esize = f.n();
        let pairwise = u && !scalar && matches!(op, 0b11000 | 0b11010 | 0b11110) && !(op == 0b11010 && a_bit);
        let n = lanes(scalar, q, esize);
        return fp_lanes(c, rd, esize, scalar, q, |x, e| {
            let (a, b) = operands(va, vb, e, n, esize, pairwise);
            fp3(x, f, op, u, a_bit, a, b, elt(vd, e, esize))
        });
    }
    let esize = 8u32 << size;
    if scalar {
        // Scalar integer three same: saturating ops any size; the rest D only.
        let ok = match op {
            0b00001 | 0b00101 | 0b01001 | 0b01011 => true,
            0b00110 | 0b00111 | 0b01000 | 0b01010 | 0b10000 | 0b10001 => size == 3,
            0b10110 => size == 1 || size == 2,
            _ => false,
        };
        if !ok {
            return undef();
        }
        let Some(v) = int3(op, u, esize, elt(va, 0, esize), elt(vb, 0, esize), 0, qc) else {
            return undef();
        };
        c.set_vlow(rd, v as u128, esize);
        return Ok(());
    }
    if size == 3 && !q {
        return undef();
    }
    if size == 3
        && !matches!(
            op,
            0b00001 | 0b00101 | 0b00110 | 0b00111 | 0b01000..=0b01011 | 0b10000 | 0b10001 | 0b10111
        )
    {
        return undef();
    }
    let n = lanes(false, q, esize);
    let pairwise = matches!(op, 0b10100 | 0b10101 | 0b10111);
    int_lanes(c, rd, esize, false, q, |e| {
        let (a, b) = operands(va, vb, e, n, esize, pairwise);
        int3(op, u, esize, a, b, elt(vd, e, esize), qc)
    })
}

// ---------------------------------------------------------------------------------------
// Three different

fn three_diff(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let Fields { q, u, size, rm, rn, rd } = fields(i);
    let op = bits(i, 15, 12);
    if size == 3 {
        return undef(); // PMULL 1Q is FEAT_PMULL (crypto)
    }
    let esize = 8u32 << size;
    let w = 2 * esize;
    if scalar && !(matches!(op, 0b1001 | 0b1011 | 0b1101) && !u && (size == 1 || size == 2)) {
        return undef();
    }
    let (va, vb, vd) = (c.v[rn as usize], c.v[rm as usize], c.v[rd as usize]);
    match op {
        0b0100 | 0b0110 => {
            // ADDHN/RADDHN/SUBHN/RSUBHN: wide operands, narrow result into a half.
            let res = narrow_lanes(vd, q, scalar, esize, |e| {
                let (a, b) = (elt(va, e, w), elt(vb, e, w));
                let mut s = if op == 0b0100 { a.wrapping_add(b) } else { a.wrapping_sub(b) } as u128
                    & mask(w) as u128;
                if u {
                    s += 1u128 << (esize - 1);
                }
                Some((s >> esize) as u64)
            });
            return put_whole(c, rd, res, esize, scalar);
        }
        0b1110 => {
            if u || size != 0 {
                return undef();
            }
            let r =
                long_lanes(q, scalar, esize, |_, k| Some(pmul(elt(va, k, esize), elt(vb, k, esize), esize)));
            return put_whole(c, rd, r, w, scalar);
        }
        0b1111 => return undef(),
        _ => {}
    }
    if matches!(op, 0b1001 | 0b1011 | 0b1101) && (u || size == 0) {
        return undef();
    }
    let r = long_lanes(q, scalar, esize, |e, k| {
        let a = if op == 1 || op == 3 { ext(elt(va, e, w), w, u) } else { ext(elt(va, k, esize), esize, u) };
        let b = ext(elt(vb, k, esize), esize, u);
        let d = elt(vd, e, w);
        let dw = ext(d, w, u);
        Some(match op {
            0b0000 | 0b0001 => (a + b) as u64,
            0b0010 | 0b0011 => (a - b) as u64,
            0b0101 => (d as i128 + (a - b).abs()) as u64,
            0b0111 => (a - b).unsigned_abs() as u64,
            0b1000 => (dw + a * b) as u64,
            0b1010 => (dw - a * b) as u64,
            0b1100 => (a * b) as u64,
            0b1001 => sqdmull(a, b, d, w, Some(false), qc),
            0b1011 => sqdmull(a, b, d, w, Some(true), qc),
            0b1101 => sqdmull(a, b, d, w, None, qc),
            _ => return None,
        })
    });
    put_whole(c, rd, r, w, scalar)
}

// ---------------------------------------------------------------------------------------
// Two-register miscellaneous

fn misc(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let Fields { q, u, size, rn, rd, .. } = fields(i);
    let op = bits(i, 16, 12);
    let va = c.v[rn as usize];
    let vd = c.v[rd as usize];
    let esize = 8u32 << size;
    let datasize = if q { 128 } else { 64 };
    // FP group: opcodes 0x0c-0x0f with size<1> = 1, and 0x16-0x1f.
    let fp_op = ((0b01100..=0b01111).contains(&op) && size >= 2) || op >= 0b10110;
    if fp_op {
        return misc_fp(c, i, scalar, u, size, op, rd, va, vd);
    }
    // Narrowing: XTN, SQXTN, SQXTUN, UQXTN (source elements 2*esize).
    if matches!(op, 0b10010 | 0b10100) {
        if size == 3 {
            return undef();
        }
        let w = 2 * esize;
        let res = narrow_lanes(vd, q, scalar, esize, |e| {
            let x = elt(va, e, w);
            Some(match (op, u) {
                (0b10010, false) => {
                    if scalar {
                        return None;
                    }
                    x & mask(esize)
                }
                (0b10010, true) => satq(sx(x, w), esize, true, qc),
                (_, false) => satq(sx(x, w), esize, false, qc),
                (_, true) => satq(x as i128, esize, true, qc),
            })
        });
        return put_whole(c, rd, res, esize, scalar);
    }
    if op == 0b10011 {
        // SHLL/SHLL2 (U = 1).
        if !u || scalar || size == 3 {
            return undef();
        }
        let r = long_lanes(q, false, esize, |_, k| Some(elt(va, k, esize) << esize));
        return put_whole(c, rd, r, 2 * esize, false);
    }
    if scalar {
        let ok = match op {
            0b00011 | 0b00111 => true,
            0b01000..=0b01011 => size == 3 && !(op == 0b01010 && u),
            _ => false,
        };
        if !ok {
            return undef();
        }
    } else if size == 3 && !q {
        return undef();
    }
    let n = lanes(scalar, q, esize);
    let mut r = 0u128;
    match op {
        0b00000 | 0b00001 => {
            // REV64 / REV32 (U) / REV16: reverse elements within containers.
            let container = match (op, u) {
                (0, false) => 64,
                (0, true) => 32,
                (1, false) => 16,
                _ => return undef(),
            };
            if esize >= container {
                return undef();
            }
            let per = container / esize;
            for e in 0..n {
                let base = e / per * per;
                let src = base + (per - 1 - (e - base));
                r = set_elt(r, e, esize, elt(va, src, esize));
            }
        }
        0b00010 | 0b00110 => {
            // SADDLP/UADDLP/SADALP/UADALP.
            if size == 3 {
                return undef();
            }
            let w = 2 * esize;
            for e in 0..datasize / w {
                let s = ext(elt(va, 2 * e, esize), esize, u) + ext(elt(va, 2 * e + 1, esize), esize, u);
                let acc = if op == 0b00110 { elt(vd, e, w) as i128 } else { 0 };
                r = set_elt(r, e, w, (s + acc) as u64 & mask(w));
            }
        }
        0b00100 => {
            // CLS / CLZ.
            if size == 3 {
                return undef();
            }
            for e in 0..n {
                let x = elt(va, e, esize);
                let v = if u {
                    (x << (64 - esize)).leading_zeros().min(esize)
                } else {
                    let s = sx(x, esize) as i64;
                    let y = (s ^ (s >> 63)) as u64;
                    (y << (64 - esize)).leading_zeros().min(esize) - 1
                };
                r = set_elt(r, e, esize, v as u64);
            }
        }
        0b00101 => {
            // CNT (size 0), NOT (U, size 0), RBIT (U, size 1).
            match (u, size) {
                (false, 0) => {
                    for e in 0..n {
                        r = set_elt(r, e, 8, elt(va, e, 8).count_ones() as u64);
                    }
                }
                (true, 0) => r = !va,
                (true, 1) => {
                    for e in 0..datasize / 8 {
                        r = set_elt(r, e, 8, (elt(va, e, 8) as u8).reverse_bits() as u64);
                    }
                }
                _ => return undef(),
            }
        }
        _ => {
            return int_lanes(c, rd, esize, scalar, q, |e| {
                let x = elt(va, e, esize);
                let s = sx(x, esize);
                Some(match (op, u) {
                    (0b00011, _) => {
                        // SUQADD / USQADD: accumulate into Vd with saturation.
                        let d = elt(vd, e, esize);
                        if u {
                            satq(d as i128 + s, esize, true, qc)
                        } else {
                            satq(sx(d, esize) + x as i128, esize, false, qc)
                        }
                    }
                    (0b00111, _) => satq(if u { -s } else { s.abs() }, esize, false, qc),
                    (0b01000, false) => (-((s > 0) as i128)) as u64,
                    (0b01000, true) => (-((s >= 0) as i128)) as u64,
                    (0b01001, false) => (-((s == 0) as i128)) as u64,
                    (0b01001, true) => (-((s <= 0) as i128)) as u64,
                    (0b01010, false) => (-((s < 0) as i128)) as u64,
                    (0b01011, false) => s.unsigned_abs() as u64,
                    (0b01011, true) => (-s) as u64,
                    _ => return None,
                })
            });
        }
    }
    put_elts(c, rd, r, esize, scalar, q);
    Ok(())
}

/// FP two-register misc (and FCVTN/FCVTL/FCVTXN, URECPE/URSQRTE, integer conversions).
fn misc_fp(
    c: &mut Arm64Cpu,
    i: u32,
    scalar: bool,
    u: bool,
    size: u32,
    op: u32,
    rd: u32,
    va: u128,
    vd: u128,
) -> R {
    let q = bit(i, 30);
    let sz = size & 1;
    let a_bit = size & 2 != 0;
    match op {
        0b10110 | 0b10111 => {
            // FCVTN/FCVTXN (narrow) and FCVTL (widen); a_bit must be 0.
            if a_bit {
                return undef();
            }
            if op == 0b10111 {
                if u || scalar {
                    return undef();
                }
                let (from, to) = if sz == 0 { (H, S) } else { (S, D) };
                let r = c.with_fp(|x| {
                    long_lanes(q, false, from.n(), |_, k| {
                        Some(x.convert(from, to, elt(va, k, from.n()), Rm::TieEven))
                    })
                });
                return put_whole(c, rd, r, to.n(), false);
            }
            let (from, to, rm) = match (u, sz) {
                (false, 0) => (S, H, None),
                (false, _) => (D, S, None),
                (true, 1) => (D, S, Some(Rm::Odd)),
                _ => return undef(),
            };
            if scalar && !u {
                return undef();
            }
            let r = c.with_fp(|x| {
                let rm = rm.unwrap_or(x.rmode());
                narrow_lanes(vd, q, scalar, to.n(), |e| Some(x.convert(from, to, elt(va, e, from.n()), rm)))
            });
            return put_whole(c, rd, r, to.n(), scalar);
        }
        _ => {}
    }
    if !scalar && sz == 1 && !q {
        return undef();
    }
    let f = if sz == 1 { D } else { S };
    let esize = f.n();
    if scalar {
        // FRINT*, FSQRT, FABS, FNEG, URECPE and URSQRTE have no scalar form.
        let ok = matches!(op, 0b11010 | 0b11011 | 0b11100 | 0b11101 | 0b01100 | 0b01101 | 0b01110 | 0b11111)
            && !(op == 0b11100 && a_bit)
            && !(op == 0b11111 && (u || !a_bit))
            && !(op == 0b01110 && u);
        if !ok {
            return undef();
        }
    } else if op == 0b11111 && !u {
        // FRECPX exists only as a scalar: the vector encoding (U = 0, opcode 11111) is
        // unallocated (C4.1 "Advanced SIMD two-register miscellaneous").
        return undef();
    }
    fp_lanes(c, rd, esize, scalar, q, |x, e| {
        let cur = x.rmode();
        let a = elt(va, e, esize);
        let t = |v: bool| if v { mask(esize) } else { 0 };
        Some(match (op, u, a_bit) {
            (0b01100, false, true) => t(x.cmp_op(f, a, 0, 2)),
            (0b01100, true, true) => t(x.cmp_op(f, a, 0, 1)),
            (0b01101, false, true) => t(x.cmp_op(f, a, 0, 0)),
            (0b01101, true, true) => t(x.cmp_op(f, 0, a, 1)),
            (0b01110, false, true) => t(x.cmp_op(f, 0, a, 2)),
            (0b01111, false, true) => f.abs(a),
            (0b01111, true, true) => f.neg(a),
            (0b11000, false, false) => x.round_int(f, a, Rm::TieEven, false),
            (0b11000, false, true) => x.round_int(f, a, Rm::PosInf, false),
            (0b11001, false, false) => x.round_int(f, a, Rm::NegInf, false),
            (0b11001, false, true) => x.round_int(f, a, Rm::Zero, false),
            (0b11000, true, false) => x.round_int(f, a, Rm::TieAway, false),
            (0b11001, true, false) => x.round_int(f, a, cur, true),
            (0b11001, true, true) => x.round_int(f, a, cur, false),
            (0b11010, _, _) | (0b11011, _, _) | (0b11100, _, false) => {
                let rm = match (op, a_bit) {
                    (0b11010, false) => Rm::TieEven,
                    (0b11010, true) => Rm::PosInf,
                    (0b11011, false) => Rm::NegInf,
                    (0b11011, true) => Rm::Zero,
                    _ => Rm::TieAway,
                };
                x.to_fixed(f, a, 0, u, esize, rm)
            }
            (0b11100, _, true) => {
                // URECPE / URSQRTE: 32-bit only.
                if sz == 1 {
                    return None;
                }
                let a = a as u32;
                if u {
                    if a >> 30 == 0 {
                        0xffff_ffff
                    } else {
                        (super::softfp::rsqrt_estimate_int(a >> 23) as u64) << 23
                    }
                } else if a >> 31 == 0 {
                    0xffff_ffff
                } else {
                    (super::softfp::recip_estimate_int(a >> 23) as u64) << 23
                }
            }
            (0b11101, _, false) => x.from_fixed(f, a, 0, u, esize, cur),
            (0b11101, false, true) => x.recip_estimate(f, a),
            (0b11101, true, true) => x.rsqrt_estimate(f, a),
            (0b11111, false, true) => x.recpx(f, a),
            (0b11111, true, true) => x.sqrt(f, a),
            _ => return None,
        })
    })
}

// ---------------------------------------------------------------------------------------
// Across lanes, scalar pairwise

/// Reduce (J1): pairwise tree reduction of `n` elements.
fn reduce(x: &mut Ctx, f: Fmt, v: &[u64], op: &mut impl FnMut(&mut Ctx, Fmt, u64, u64) -> u64) -> u64 {
    if v.len() == 1 {
        return v[0];
    }
    let h = v.len() / 2;
    let a = reduce(x, f, &v[..h], op);
    let b = reduce(x, f, &v[h..], op);
    op(x, f, a, b)
}

fn across(c: &mut Arm64Cpu, i: u32) -> R {
    let Fields { q, u, size, rn, rd, .. } = fields(i);
    let op = bits(i, 16, 12);
    let va = c.v[rn as usize];
    if op == 0b01100 || op == 0b01111 {
        // FMAXNMV/FMINNMV/FMAXV/FMINV: .4S only.
        if !u || size & 1 != 0 || !q {
            return undef();
        }
        let min = size & 2 != 0;
        let num = op == 0b01100;
        let el: Vec<u64> = (0..4).map(|e| elt(va, e, 32)).collect();
        let r = c.with_fp(|x| reduce(x, S, &el, &mut |x, f, a, b| x.minmax(f, a, b, !min, num)));
        c.set_vlow(rd, r as u128, 32);
        return Ok(());
    }
    if size == 3 || (size == 2 && !q) {
        return undef();
    }
    let esize = 8u32 << size;
    let n = lanes(false, q, esize);
    let el: Vec<i128> = (0..n).map(|e| ext(elt(va, e, esize), esize, u)).collect();
    let (v, w) = match (op, u) {
        (0b00011, _) => (el.iter().sum::<i128>() as u64, 2 * esize),
        (0b01010, _) => (*el.iter().max().unwrap_or(&0) as u64, esize),
        (0b11010, _) => (*el.iter().min().unwrap_or(&0) as u64, esize),
        (0b11011, false) => (el.iter().sum::<i128>() as u64, esize),
        _ => return undef(),
    };
    c.set_vlow(rd, (v & mask(w)) as u128, w);
    Ok(())
}

/// Scalar pairwise: ADDP (D), FADDP, FMAXNMP, FMINNMP, FMAXP, FMINP (2 x S or 2 x D).
fn pairwise_scalar(c: &mut Arm64Cpu, i: u32) -> R {
    let Fields { u, size, rn, rd, .. } = fields(i);
    let op = bits(i, 16, 12);
    let va = c.v[rn as usize];
    if !u {
        if op != 0b11011 || size != 3 {
            return undef();
        }
        let r = elt(va, 0, 64).wrapping_add(elt(va, 1, 64));
        c.set_vlow(rd, r as u128, 64);
        return Ok(());
    }
    let f = if size & 1 != 0 { D } else { S };
    let min = size & 2 != 0;
    let (a, b) = (elt(va, 0, f.n()), elt(va, 1, f.n()));
    let r = c.with_fp(|x| match (op, min) {
        (0b01100, _) => Some(x.minmax(f, a, b, !min, true)),
        (0b01101, false) => Some(x.add(f, a, b)),
        (0b01111, _) => Some(x.minmax(f, a, b, !min, false)),
        _ => None,
    });
    let Some(r) = r else { return undef() };
    c.set_vlow(rd, r as u128, f.n());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Copy, modified immediate, permute, extract, table lookup

/// The element of an imm5 field (DUP, INS, SMOV, UMOV): size (from the lowest set bit),
/// element size in bits and index.
fn imm5_elt(imm5: u32) -> Result<(u32, u32, u32), Exc> {
    let size = imm5.trailing_zeros();
    if size > 3 {
        return undef();
    }
    Ok((size, 8u32 << size, imm5 >> (size + 1)))
}

fn copy(c: &mut Arm64Cpu, i: u32) -> R {
    let Fields { q, u: op, rn, rd, .. } = fields(i);
    let imm4 = bits(i, 14, 11);
    let (size, esize, idx) = imm5_elt(bits(i, 20, 16))?;
    if op {
        // INS (element): q must be 1.
        if !q {
            return undef();
        }
        let src = imm4 >> size;
        let v = c.velt(rn, src, esize);
        c.v[rd as usize] = set_elt(c.v[rd as usize], idx, esize, v);
        return Ok(());
    }
    match imm4 {
        0b0000 | 0b0001 => {
            // DUP (element) / DUP (general).
            if size == 3 && !q {
                return undef();
            }
            let v = if imm4 == 0 { c.velt(rn, idx, esize) } else { c.xr(rn) & mask(esize) };
            let mut r = 0u128;
            for e in 0..lanes(false, q, esize) {
                r = set_elt(r, e, esize, v);
            }
            put(c, rd, r, q);
        }
        0b0011 => {
            // INS (general).
            if !q {
                return undef();
            }
            let v = c.xr(rn);
            c.v[rd as usize] = set_elt(c.v[rd as usize], idx, esize, v);
        }
        0b0101 | 0b0111 => {
            // SMOV / UMOV.
            let signed = imm4 == 0b0101;
            let ok = if signed { size < 2 || (size == 2 && q) } else { (size < 3 && !q) || (size == 3 && q) };
            if !ok {
                return undef();
            }
            let v = c.velt(rn, idx, esize);
            let v = if signed {
                let s = sx(v, esize) as u64;
                if q {
                    s
                } else {
                    s & 0xffff_ffff
                }
            } else {
                v
            };
            c.set_xr(rd, v);
        }
        _ => return undef(),
    }
    Ok(())
}

/// AdvSIMDExpandImm (J1).
fn expand_imm(op: bool, cmode: u32, imm8: u64) -> u64 {
    let rep2 = |x: u64| x | x << 32;
    let rep4 = |x: u64| x | x << 16 | x << 32 | x << 48;
    match cmode >> 1 {
        0 => rep2(imm8),
        1 => rep2(imm8 << 8),
        2 => rep2(imm8 << 16),
        3 => rep2(imm8 << 24),
        4 => rep4(imm8),
        5 => rep4(imm8 << 8),
        6 => {
            if cmode & 1 == 0 {
                rep2(imm8 << 8 | 0xff)
            } else {
                rep2(imm8 << 16 | 0xffff)
            }
        }
        _ => {
            if cmode & 1 == 0 && !op {
                imm8 * 0x0101_0101_0101_0101
            } else if cmode & 1 == 0 {
                let mut r = 0;
                for k in 0..8 {
                    if imm8 >> k & 1 != 0 {
                        r |= 0xff << (8 * k);
                    }
                }
                r
            } else if !op {
                rep2(super::fp::expand_imm(S, imm8 as u32))
            } else {
                super::fp::expand_imm(D, imm8 as u32)
            }
        }
    }
}

fn mod_imm(c: &mut Arm64Cpu, i: u32) -> R {
    let q = bit(i, 30);
    let op = bit(i, 29);
    let cmode = bits(i, 15, 12);
    if bit(i, 11) {
        return undef(); // FMOV (vector, immediate) half precision
    }
    let imm8 = (bits(i, 18, 16) << 5 | bits(i, 9, 5)) as u64;
    let rd = bits(i, 4, 0);
    if cmode == 0b1111 && op && !q {
        return undef();
    }
    let imm = expand_imm(op, cmode, imm8);
    let imm128 = (imm as u128) << 64 | imm as u128;
    let cur = c.v[rd as usize];
    let orr_bic = cmode & 1 == 1 && cmode < 0b1100;
    let r = if orr_bic {
        if op {
            cur & !imm128
        } else {
            cur | imm128
        }
    } else if op && cmode < 0b1110 {
        !imm128 // MVNI
    } else {
        imm128
    };
    put(c, rd, r, q);
    Ok(())
}

fn permute(c: &mut Arm64Cpu, i: u32) -> R {
    let Fields { q, size, rm, rn, rd, .. } = fields(i);
    let op = bits(i, 14, 12);
    if size == 3 && !q {
        return undef();
    }
    let esize = 8u32 << size;
    let n = lanes(false, q, esize);
    let (va, vb) = (c.v[rn as usize], c.v[rm as usize]);
    let part = (op >> 2) & 1;
    let mut r = 0u128;
    for e in 0..n {
        let v = match op & 3 {
            1 => {
                // UZP: even (part 0) or odd elements of Vm:Vn.
                let k = 2 * e + part;
                if k < n {
                    elt(va, k, esize)
                } else {
                    elt(vb, k - n, esize)
                }
            }
            2 => {
                // TRN
                let p = e / 2;
                if e & 1 == 0 {
                    elt(va, 2 * p + part, esize)
                } else {
                    elt(vb, 2 * p + part, esize)
                }
            }
            3 => {
                // ZIP
                let base = part * n / 2;
                let p = e / 2;
                if e & 1 == 0 {
                    elt(va, base + p, esize)
                } else {
                    elt(vb, base + p, esize)
                }
            }
            _ => return undef(),
        };
        r = set_elt(r, e, esize, v);
    }
    put(c, rd, r, q);
    Ok(())
}

fn ext_(c: &mut Arm64Cpu, i: u32) -> R {
    let Fields { q, rm, rn, rd, .. } = fields(i);
    let imm4 = bits(i, 14, 11);
    if !q && imm4 >= 8 {
        return undef();
    }
    let nb = if q { 16 } else { 8 };
    let (va, vb) = (c.v[rn as usize], c.v[rm as usize]);
    let mut r = 0u128;
    for k in 0..nb {
        let s = k + imm4;
        let v = if s < nb { elt(va, s, 8) } else { elt(vb, s - nb, 8) };
        r = set_elt(r, k, 8, v);
    }
    put(c, rd, r, q);
    Ok(())
}

/// TBL/TBX with 1-4 table registers.
fn table(c: &mut Arm64Cpu, i: u32) -> R {
    if bits(i, 23, 22) != 0 {
        return undef();
    }
    let Fields { q, rm, rn, rd, .. } = fields(i);
    let len = bits(i, 14, 13) + 1;
    let tbx = bit(i, 12);
    let idx = c.v[rm as usize];
    let mut r = if tbx { c.v[rd as usize] } else { 0 };
    for k in 0..(if q { 16 } else { 8 }) {
        let x = elt(idx, k, 8) as u32;
        if x < 16 * len {
            let reg = (rn + x / 16) % 32;
            r = set_elt(r, k, 8, c.velt(reg, x % 16, 8));
        } else if !tbx {
            r = set_elt(r, k, 8, 0);
        }
    }
    put(c, rd, r, q);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Shift by immediate

fn shift_imm(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let Fields { q, u, rn, rd, .. } = fields(i);
    let immh = bits(i, 22, 19);
    let immhb = bits(i, 22, 16);
    let op = bits(i, 15, 11);
    if immh == 0 {
        return undef();
    }
    let hsb = 31 - immh.leading_zeros();
    let esize = 8u32 << hsb;
    let rshift = 2 * esize - immhb;
    let lshift = immhb - esize;
    let va = c.v[rn as usize];
    let vd = c.v[rd as usize];
    let narrow = matches!(op, 0b10000..=0b10011);
    if narrow {
        if immh & 8 != 0 {
            return undef();
        }
        let w = 2 * esize;
        let round = op & 1 != 0;
        let res = narrow_lanes(vd, q, scalar, esize, |e| {
            let x = elt(va, e, w);
            // Operand signedness: SHRN/RSHRN any; SQSHRUN/SQRSHRUN signed source; SQSHRN
            // signed; UQSHRN unsigned.
            let (src_u, dst_u, saturate) = match (op >> 1, u) {
                (0b1000, false) => (true, true, false),
                (0b1000, true) => (false, true, true),
                (_, false) => (false, false, true),
                (_, true) => (true, true, true),
            };
            if scalar && !saturate {
                return None;
            }
            let s = shl(ext(x, w, src_u), -(rshift as i32), round);
            Some(if saturate { satq(s, esize, dst_u, qc) } else { s as u64 & mask(esize) })
        });
        return put_whole(c, rd, res, esize, scalar);
    }
    if op == 0b10100 {
        // SSHLL/USHLL (SXTL/UXTL).
        if immh & 8 != 0 || scalar {
            return undef();
        }
        let r = long_lanes(q, false, esize, |_, k| Some((ext(elt(va, k, esize), esize, u) << lshift) as u64));
        return put_whole(c, rd, r, 2 * esize, false);
    }
    if (!scalar && immh & 8 != 0 && !q)
        || (scalar && immh & 8 == 0 && !matches!(op, 0b01100 | 0b01110 | 0b11100 | 0b11111))
    {
        return undef();
    }
    if op == 0b11100 || op == 0b11111 {
        // SCVTF/UCVTF/FCVTZS/FCVTZU (vector/scalar, fixed-point): S or D elements.
        if immh & 0b1100 == 0 {
            return undef(); // half precision
        }
        let f = Fmt::of(esize);
        let fbits = rshift;
        return fp_lanes(c, rd, esize, scalar, q, |x, e| {
            let cur = x.rmode();
            let a = elt(va, e, esize);
            Some(if op == 0b11100 {
                x.from_fixed(f, a, fbits, u, esize, cur)
            } else {
                x.to_fixed(f, a, fbits, u, esize, Rm::Zero)
            })
        });
    }
    int_lanes(c, rd, esize, scalar, q, |e| {
        let x = elt(va, e, esize);
        let d = elt(vd, e, esize);
        let v: u64 = match (op, u) {
            (0b00000, _) | (0b00010, _) | (0b00100, _) | (0b00110, _) => {
                let round = op & 4 != 0;
                let s = shl(ext(x, esize, u), -(rshift as i32), round) as u64;
                if op & 2 != 0 {
                    d.wrapping_add(s)
                } else {
                    s
                }
            }
            (0b01000, true) => {
                // SRI
                if rshift == esize {
                    d
                } else {
                    let m = mask(esize) >> rshift;
                    (d & !m) | ((x & mask(esize)) >> rshift)
                }
            }
            (0b01010, false) => x << lshift,
            (0b01010, true) => {
                // SLI
                let m = mask(esize) << lshift;
                (d & !m) | (x << lshift)
            }
            (0b01100, true) | (0b01110, _) => {
                let src_u = op == 0b01110 && u;
                satq(ext(x, esize, src_u) << lshift, esize, u, qc)
            }
            _ => return None,
        };
        if scalar && matches!(op, 0b00000 | 0b00010 | 0b00100 | 0b00110 | 0b01000 | 0b01010) && esize != 64 {
            return None;
        }
        Some(v)
    })
}

// ---------------------------------------------------------------------------------------
// Vector x indexed element

fn indexed(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let Fields { q, u, size, rn, rd, .. } = fields(i);
    let op = bits(i, 15, 12);
    let (l, m, h) = (bit(i, 21) as u32, bit(i, 20) as u32, bit(i, 11) as u32);
    let fp = matches!((op, u), (0b0001, false) | (0b0101, false) | (0b1001, _));
    if fp {
        let (f, index, rm) = match size {
            2 => (S, h << 1 | l, m << 4 | bits(i, 19, 16)),
            3 => {
                if l != 0 || (!q && !scalar) {
                    return undef();
                }
                (D, h, m << 4 | bits(i, 19, 16))
            }
            _ => return undef(), // FP16 (size 00) or unallocated
        };
        let esize = f.n();
        let b = c.velt(rm, index, esize);
        let (va, vd) = (c.v[rn as usize], c.v[rd as usize]);
        return fp_lanes(c, rd, esize, scalar, q, |x, e| {
            let a = elt(va, e, esize);
            let d = elt(vd, e, esize);
            Some(match (op, u) {
                (0b0001, _) => x.muladd(f, d, a, b),
                (0b0101, _) => x.muladd(f, d, f.neg(a), b),
                (_, false) => x.mul(f, a, b),
                (_, true) => x.mul_x(f, a, b, true),
            })
        });
    }
    let (index, rm) = match size {
        1 => (h << 2 | l << 1 | m, bits(i, 19, 16)),
        2 => (h << 1 | l, m << 4 | bits(i, 19, 16)),
        _ => return undef(),
    };
    let esize = 8u32 << size;
    let b = c.velt(rm, index, esize);
    let (va, vd) = (c.v[rn as usize], c.v[rd as usize]);
    let long = matches!(op, 0b0010 | 0b0011 | 0b0110 | 0b0111 | 0b1010 | 0b1011);
    let ok = match (op, u) {
        (0b0000, true) | (0b0100, true) | (0b1000, false) => !scalar,
        (0b0010, _) | (0b0110, _) | (0b1010, _) => !scalar,
        (0b0011, false) | (0b0111, false) | (0b1011, false) | (0b1100, false) | (0b1101, false) => true,
        _ => false,
    };
    if !ok {
        return undef();
    }
    if long {
        let w = 2 * esize;
        let sb = ext(b, esize, u);
        let r = long_lanes(q, scalar, esize, |e, k| {
            let a = ext(elt(va, k, esize), esize, u);
            let d = elt(vd, e, w);
            Some(match op {
                0b0010 => (ext(d, w, u) + a * sb) as u64,
                0b0110 => (ext(d, w, u) - a * sb) as u64,
                0b1010 => (a * sb) as u64,
                0b0011 => sqdmull(a, sb, d, w, Some(false), qc),
                0b0111 => sqdmull(a, sb, d, w, Some(true), qc),
                _ => sqdmull(a, sb, d, w, None, qc),
            })
        });
        return put_whole(c, rd, r, w, scalar);
    }
    int_lanes(c, rd, esize, scalar, q, |e| {
        let a = elt(va, e, esize);
        let d = elt(vd, e, esize);
        Some(match op {
            0b0000 => d.wrapping_add(a.wrapping_mul(b)),
            0b0100 => d.wrapping_sub(a.wrapping_mul(b)),
            0b1000 => a.wrapping_mul(b),
            _ => sqdmulh(a, b, esize, op == 0b1101, qc),
        })
    })
}
