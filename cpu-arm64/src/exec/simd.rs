//! Advanced SIMD data processing, vector and scalar forms (Arm ARM C4.1.6 "Data Processing
//! -- Scalar Floating-Point and Advanced SIMD"; C7.2 pages): dispatch of the whole SIMD&FP
//! data-processing space, and the groups three same, three different, two-register misc,
//! across lanes, copy, modified immediate, shift by immediate, vector x indexed element,
//! permute, extract, table lookup, scalar pairwise and scalar copy. Scalar forms run the
//! vector element operation on element 0. Lane operations are generic over the element
//! size; FP lanes use [`super::softfp`]. Crypto, FP16 arithmetic, dot product, RDM and the
//! other post-Armv8.0 extensions are UNDEFINED.

use super::fp::{elt, set_elt};
use super::softfp::{Ctx, Fmt, Rm, D, H, S};
use super::{bit, bits};
use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;

type R = Result<(), Exc>;

fn undef<T>() -> Result<T, Exc> {
    Err(Exc::undef())
}

/// Mask of `esize` bits.
#[inline]
fn mask(esize: u32) -> u64 {
    if esize >= 64 {
        u64::MAX
    } else {
        (1 << esize) - 1
    }
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
    let mut qc = false;
    let r = if !scalar {
        vector(c, i, op1, op2, op3, &mut qc)
    } else {
        if !bit(i, 30) {
            return undef();
        }
        scalar_group(c, i, op1, op2, op3, &mut qc)
    };
    if qc {
        c.fpsr |= 1 << 27;
    }
    r
}

fn vector(c: &mut Arm64Cpu, i: u32, op1: u32, op2: u32, op3: u32, qc: &mut bool) -> R {
    let b29 = bit(i, 29);
    if op1 & 2 != 0 {
        if op3 & 1 == 0 {
            return indexed(c, i, false, qc);
        }
        if op1 == 3 {
            return undef();
        }
        return if op2 == 0 { mod_imm(c, i) } else { shift_imm(c, i, false, qc) };
    }
    if op2 & 4 == 0 {
        // op2 = x0xx
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
        return undef();
    }
    // op2 = x1xx
    if op3 & 1 != 0 {
        return three_same(c, i, false, qc);
    }
    if op3 & 3 == 0 {
        return three_diff(c, i, false, qc);
    }
    // op3 = xxxxxxx10
    if op3 >> 7 == 0 {
        match op2 & 7 {
            0b100 => return misc(c, i, false, qc),
            0b110 => return across(c, i),
            _ => {}
        }
    }
    undef()
}

fn scalar_group(c: &mut Arm64Cpu, i: u32, op1: u32, op2: u32, op3: u32, qc: &mut bool) -> R {
    if op1 & 2 != 0 {
        if op3 & 1 == 0 {
            return indexed(c, i, true, qc);
        }
        if op1 == 3 {
            return undef();
        }
        return shift_imm(c, i, true, qc);
    }
    if op2 & 4 == 0 {
        if op1 == 0 && op2 & 0b1100 == 0 && op3 & 0b100001 == 1 {
            // Scalar copy: DUP (element), op = 0, imm4 = 0.
            if bit(i, 29) || bits(i, 14, 11) != 0 {
                return undef();
            }
            let imm5 = bits(i, 20, 16);
            let size = imm5.trailing_zeros();
            if size > 3 {
                return undef();
            }
            let esize = 8 << size;
            let idx = imm5 >> (size + 1);
            let v = c.velt(bits(i, 9, 5), idx, esize);
            c.set_vlow(bits(i, 4, 0), v as u128, esize);
            return Ok(());
        }
        return undef(); // FP16, three same extra (RDM), crypto
    }
    if op3 & 1 != 0 {
        return three_same(c, i, true, qc);
    }
    if op3 & 3 == 0 {
        return three_diff(c, i, true, qc);
    }
    if op3 >> 7 == 0 {
        match op2 & 7 {
            0b100 => return misc(c, i, true, qc),
            0b110 => return pairwise_scalar(c, i),
            _ => {}
        }
    }
    undef()
}

/// Writes a vector result: 64-bit results clear the upper half (B1.2.1).
fn put(c: &mut Arm64Cpu, rd: u32, v: u128, q: bool) {
    c.set_vlow(rd, v, if q { 128 } else { 64 });
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
            let (v, s) = sat(x, esize, u);
            *qc |= s;
            return Some(v);
        }
        0b00110 => -((sa > sb) as i128),
        0b00111 => -((sa >= sb) as i128),
        0b01000 | 0b01010 => shl(sa, shift, op == 0b01010),
        0b01001 | 0b01011 => {
            let (v, s) = sat(shl(sa, shift, op == 0b01011), esize, u);
            *qc |= s;
            return Some(v);
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
            let (sa, sb) = (sx(a, esize), sx(b, esize));
            let p = 2 * sa * sb + if u { 1i128 << (esize - 1) } else { 0 };
            let (v, s) = sat(p >> esize, esize, false);
            *qc |= s;
            return Some(v);
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
    let q = bit(i, 30);
    let u = bit(i, 29);
    let size = bits(i, 23, 22);
    let op = bits(i, 15, 11);
    let (rd, rn, rm) = (bits(i, 4, 0), bits(i, 9, 5), bits(i, 20, 16));
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
        let n = if scalar { 1 } else { (if q { 128 } else { 64 }) / esize };
        let mut r = 0u128;
        let res = c.with_fp(|x| {
            for e in 0..n {
                let (a, b) = if pairwise {
                    let pick = |k: u32| if k < n { elt(va, k, esize) } else { elt(vb, k - n, esize) };
                    (pick(2 * e), pick(2 * e + 1))
                } else {
                    (elt(va, e, esize), elt(vb, e, esize))
                };
                let Some(v) = fp3(x, f, op, u, a_bit, a, b, elt(vd, e, esize)) else {
                    return false;
                };
                r = set_elt(r, e, esize, v);
            }
            true
        });
        if !res {
            return undef();
        }
        if scalar {
            c.set_vlow(rd, r, esize);
        } else {
            put(c, rd, r, q);
        }
        return Ok(());
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
    let n = (if q { 128 } else { 64 }) / esize;
    let pairwise = matches!(op, 0b10100 | 0b10101 | 0b10111);
    let mut r = 0u128;
    for e in 0..n {
        let (a, b) = if pairwise {
            let pick = |k: u32| if k < n { elt(va, k, esize) } else { elt(vb, k - n, esize) };
            (pick(2 * e), pick(2 * e + 1))
        } else {
            (elt(va, e, esize), elt(vb, e, esize))
        };
        let Some(v) = int3(op, u, esize, a, b, elt(vd, e, esize), qc) else {
            return undef();
        };
        r = set_elt(r, e, esize, v);
    }
    put(c, rd, r, q);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Three different

fn three_diff(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let q = bit(i, 30);
    let u = bit(i, 29);
    let size = bits(i, 23, 22);
    let op = bits(i, 15, 12);
    let (rd, rn, rm) = (bits(i, 4, 0), bits(i, 9, 5), bits(i, 20, 16));
    if size == 3 {
        return undef(); // PMULL 1Q is FEAT_PMULL (crypto)
    }
    let esize = 8u32 << size;
    let w = 2 * esize;
    if scalar && !(matches!(op, 0b1001 | 0b1011 | 0b1101) && !u && (size == 1 || size == 2)) {
        return undef();
    }
    let (va, vb, vd) = (c.v[rn as usize], c.v[rm as usize], c.v[rd as usize]);
    let part = if q && !scalar { 1 } else { 0 };
    let n = if scalar { 1 } else { 64 / esize };
    let lo = |v: u128, e: u32| elt(v, e + part * n, esize);
    let mut r = 0u128;
    match op {
        0b0100 | 0b0110 => {
            // ADDHN/RADDHN/SUBHN/RSUBHN: wide operands, narrow result into a half.
            let mut res = if q { c.v[rd as usize] & u64::MAX as u128 } else { 0 };
            for e in 0..n {
                let (a, b) = (elt(va, e, w), elt(vb, e, w));
                let mut s = if op == 0b0100 { a.wrapping_add(b) } else { a.wrapping_sub(b) } as u128
                    & mask(w) as u128;
                if u {
                    s += 1u128 << (esize - 1);
                }
                res = set_elt(res, e + part * n, esize, (s >> esize) as u64);
            }
            c.v[rd as usize] = res;
            return Ok(());
        }
        0b1110 => {
            if u || size != 0 {
                return undef();
            }
            for e in 0..n {
                r = set_elt(r, e, w, pmul(lo(va, e), lo(vb, e), esize));
            }
            c.v[rd as usize] = r;
            return Ok(());
        }
        0b1111 => return undef(),
        _ => {}
    }
    if matches!(op, 0b1001 | 0b1011 | 0b1101) && (u || size == 0) {
        return undef();
    }
    for e in 0..n {
        let a = if op == 1 || op == 3 { ext(elt(va, e, w), w, u) } else { ext(lo(va, e), esize, u) };
        let b = ext(lo(vb, e), esize, u);
        let d = elt(vd, e, w);
        let dw = ext(d, w, u);
        let v: u64 = match op {
            0b0000 | 0b0001 => (a + b) as u64,
            0b0010 | 0b0011 => (a - b) as u64,
            0b0101 => (d as i128 + (a - b).abs()) as u64,
            0b0111 => (a - b).unsigned_abs() as u64,
            0b1000 => (dw + a * b) as u64,
            0b1010 => (dw - a * b) as u64,
            0b1100 => (a * b) as u64,
            0b1001 | 0b1011 | 0b1101 => {
                let (p, s1) = sat(2 * a * b, w, false);
                *qc |= s1;
                if op == 0b1101 {
                    p
                } else {
                    let p = sx(p, w);
                    let acc = sx(d, w);
                    let (v, s2) = sat(if op == 0b1001 { acc + p } else { acc - p }, w, false);
                    *qc |= s2;
                    v
                }
            }
            _ => return undef(),
        };
        r = set_elt(r, e, w, v & mask(w));
    }
    if scalar {
        c.set_vlow(rd, r, w);
    } else {
        c.v[rd as usize] = r;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Two-register miscellaneous

fn misc(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let q = bit(i, 30);
    let u = bit(i, 29);
    let size = bits(i, 23, 22);
    let op = bits(i, 16, 12);
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
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
        let n = if scalar { 1 } else { 64 / esize };
        let part = if q && !scalar { n } else { 0 };
        let mut res = if scalar {
            0
        } else if q {
            vd & u64::MAX as u128
        } else {
            0
        };
        for e in 0..n {
            let x = elt(va, e, w);
            let v = match (op, u) {
                (0b10010, false) => {
                    if scalar {
                        return undef();
                    }
                    x & mask(esize)
                }
                (0b10010, true) => {
                    let (v, s) = sat(sx(x, w), esize, true);
                    *qc |= s;
                    v
                }
                (_, false) => {
                    let (v, s) = sat(sx(x, w), esize, false);
                    *qc |= s;
                    v
                }
                (_, true) => {
                    let (v, s) = sat(x as i128, esize, true);
                    *qc |= s;
                    v
                }
            };
            res = set_elt(res, e + part, esize, v);
        }
        if scalar {
            c.set_vlow(rd, res, esize);
        } else {
            c.v[rd as usize] = res;
        }
        return Ok(());
    }
    if op == 0b10011 {
        // SHLL/SHLL2 (U = 1).
        if !u || scalar || size == 3 {
            return undef();
        }
        let n = 64 / esize;
        let part = if q { n } else { 0 };
        let mut r = 0u128;
        for e in 0..n {
            r = set_elt(r, e, 2 * esize, elt(va, e + part, esize) << esize);
        }
        c.v[rd as usize] = r;
        return Ok(());
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
    let n = if scalar { 1 } else { datasize / esize };
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
            for e in 0..n {
                let x = elt(va, e, esize);
                let s = sx(x, esize);
                let v = match (op, u) {
                    (0b00011, _) => {
                        // SUQADD / USQADD: accumulate into Vd with saturation.
                        let d = elt(vd, e, esize);
                        let (v, st) = if u {
                            sat(d as i128 + s, esize, true)
                        } else {
                            sat(sx(d, esize) + x as i128, esize, false)
                        };
                        *qc |= st;
                        v
                    }
                    (0b00111, _) => {
                        let (v, st) = sat(if u { -s } else { s.abs() }, esize, false);
                        *qc |= st;
                        v
                    }
                    (0b01000, false) => (-((s > 0) as i128)) as u64,
                    (0b01000, true) => (-((s >= 0) as i128)) as u64,
                    (0b01001, false) => (-((s == 0) as i128)) as u64,
                    (0b01001, true) => (-((s <= 0) as i128)) as u64,
                    (0b01010, false) => (-((s < 0) as i128)) as u64,
                    (0b01011, false) => s.unsigned_abs() as u64,
                    (0b01011, true) => (-s) as u64,
                    _ => return undef(),
                };
                r = set_elt(r, e, esize, v & mask(esize));
            }
        }
    }
    if scalar {
        c.set_vlow(rd, r, esize);
    } else {
        put(c, rd, r, q);
    }
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
                let n = 64 / from.n();
                let part = if q { n } else { 0 };
                let mut r = 0u128;
                c.with_fp(|x| {
                    for e in 0..n {
                        let v = x.convert(from, to, elt(va, e + part, from.n()), Rm::TieEven);
                        r = set_elt(r, e, to.n(), v);
                    }
                });
                c.v[rd as usize] = r;
                return Ok(());
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
            let n = if scalar { 1 } else { 64 / to.n() };
            let part = if q && !scalar { n } else { 0 };
            let mut r = if q && !scalar { vd & u64::MAX as u128 } else { 0 };
            c.with_fp(|x| {
                let rm = rm.unwrap_or(x.rmode());
                for e in 0..n {
                    let v = x.convert(from, to, elt(va, e, from.n()), rm);
                    r = set_elt(r, e + part, to.n(), v);
                }
            });
            if scalar {
                c.set_vlow(rd, r, to.n());
            } else {
                c.v[rd as usize] = r;
            }
            return Ok(());
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
    let n = if scalar { 1 } else { (if q { 128 } else { 64 }) / esize };
    let mut r = 0u128;
    let ok = c.with_fp(|x| {
        let cur = x.rmode();
        for e in 0..n {
            let a = elt(va, e, esize);
            let t = |v: bool| if v { mask(esize) } else { 0 };
            let v = match (op, u, a_bit) {
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
                        return false;
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
                _ => return false,
            };
            r = set_elt(r, e, esize, v);
        }
        true
    });
    if !ok {
        return undef();
    }
    if scalar {
        c.set_vlow(rd, r, esize);
    } else {
        put(c, rd, r, q);
    }
    Ok(())
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
    let q = bit(i, 30);
    let u = bit(i, 29);
    let size = bits(i, 23, 22);
    let op = bits(i, 16, 12);
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
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
    let n = (if q { 128 } else { 64 }) / esize;
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
    let u = bit(i, 29);
    let size = bits(i, 23, 22);
    let op = bits(i, 16, 12);
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
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

fn copy(c: &mut Arm64Cpu, i: u32) -> R {
    let q = bit(i, 30);
    let op = bit(i, 29);
    let imm5 = bits(i, 20, 16);
    let imm4 = bits(i, 14, 11);
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
    let size = imm5.trailing_zeros();
    if size > 3 {
        return undef();
    }
    let esize = 8u32 << size;
    let idx = imm5 >> (size + 1);
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
            for e in 0..(if q { 128 } else { 64 }) / esize {
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
    let q = bit(i, 30);
    let size = bits(i, 23, 22);
    let op = bits(i, 14, 12);
    let (rd, rn, rm) = (bits(i, 4, 0), bits(i, 9, 5), bits(i, 20, 16));
    if size == 3 && !q {
        return undef();
    }
    let esize = 8u32 << size;
    let n = (if q { 128 } else { 64 }) / esize;
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
    let q = bit(i, 30);
    let imm4 = bits(i, 14, 11);
    if !q && imm4 >= 8 {
        return undef();
    }
    let (rd, rn, rm) = (bits(i, 4, 0), bits(i, 9, 5), bits(i, 20, 16));
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
    let q = bit(i, 30);
    let len = bits(i, 14, 13) + 1;
    let tbx = bit(i, 12);
    let (rd, rn, rm) = (bits(i, 4, 0), bits(i, 9, 5), bits(i, 20, 16));
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
    let q = bit(i, 30);
    let u = bit(i, 29);
    let immh = bits(i, 22, 19);
    let immhb = bits(i, 22, 16);
    let op = bits(i, 15, 11);
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
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
        let n = if scalar { 1 } else { 64 / esize };
        let part = if q && !scalar { n } else { 0 };
        let round = op & 1 != 0;
        let mut res = if q && !scalar { vd & u64::MAX as u128 } else { 0 };
        for e in 0..n {
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
                return undef();
            }
            let s = shl(ext(x, w, src_u), -(rshift as i32), round);
            let v = if saturate {
                let (v, st) = sat(s, esize, dst_u);
                *qc |= st;
                v
            } else {
                s as u64 & mask(esize)
            };
            res = set_elt(res, e + part, esize, v);
        }
        if scalar {
            c.set_vlow(rd, res, esize);
        } else {
            c.v[rd as usize] = res;
        }
        return Ok(());
    }
    if op == 0b10100 {
        // SSHLL/USHLL (SXTL/UXTL).
        if immh & 8 != 0 || scalar {
            return undef();
        }
        let n = 64 / esize;
        let part = if q { n } else { 0 };
        let mut r = 0u128;
        for e in 0..n {
            let x = ext(elt(va, e + part, esize), esize, u) << lshift;
            r = set_elt(r, e, 2 * esize, x as u64);
        }
        c.v[rd as usize] = r;
        return Ok(());
    }
    if (!scalar && immh & 8 != 0 && !q)
        || (scalar && immh & 8 == 0 && !matches!(op, 0b01100 | 0b01110 | 0b11100 | 0b11111))
    {
        return undef();
    }
    let n = if scalar { 1 } else { (if q { 128 } else { 64 }) / esize };
    if op == 0b11100 || op == 0b11111 {
        // SCVTF/UCVTF/FCVTZS/FCVTZU (vector/scalar, fixed-point): S or D elements.
        if immh & 0b1100 == 0 {
            return undef(); // half precision
        }
        let f = Fmt::of(esize);
        let fbits = rshift;
        let mut r = 0u128;
        c.with_fp(|x| {
            let cur = x.rmode();
            for e in 0..n {
                let a = elt(va, e, esize);
                let v = if op == 0b11100 {
                    x.from_fixed(f, a, fbits, u, esize, cur)
                } else {
                    x.to_fixed(f, a, fbits, u, esize, Rm::Zero)
                };
                r = set_elt(r, e, esize, v);
            }
        });
        if scalar {
            c.set_vlow(rd, r, esize);
        } else {
            put(c, rd, r, q);
        }
        return Ok(());
    }
    let mut r = 0u128;
    for e in 0..n {
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
                let (v, st) = sat(ext(x, esize, src_u) << lshift, esize, u);
                *qc |= st;
                v
            }
            _ => return undef(),
        };
        if scalar && matches!(op, 0b00000 | 0b00010 | 0b00100 | 0b00110 | 0b01000 | 0b01010) && esize != 64 {
            return undef();
        }
        r = set_elt(r, e, esize, v & mask(esize));
    }
    if scalar {
        c.set_vlow(rd, r, esize);
    } else {
        put(c, rd, r, q);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Vector x indexed element

fn indexed(c: &mut Arm64Cpu, i: u32, scalar: bool, qc: &mut bool) -> R {
    let q = bit(i, 30);
    let u = bit(i, 29);
    let size = bits(i, 23, 22);
    let op = bits(i, 15, 12);
    let (l, m, h) = (bit(i, 21) as u32, bit(i, 20) as u32, bit(i, 11) as u32);
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
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
        let n = if scalar { 1 } else { (if q { 128 } else { 64 }) / esize };
        let mut r = 0u128;
        c.with_fp(|x| {
            for e in 0..n {
                let a = elt(va, e, esize);
                let d = elt(vd, e, esize);
                let v = match (op, u) {
                    (0b0001, _) => x.muladd(f, d, a, b),
                    (0b0101, _) => x.muladd(f, d, f.neg(a), b),
                    (_, false) => x.mul(f, a, b),
                    (_, true) => x.mul_x(f, a, b, true),
                };
                r = set_elt(r, e, esize, v);
            }
        });
        if scalar {
            c.set_vlow(rd, r, esize);
        } else {
            put(c, rd, r, q);
        }
        return Ok(());
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
        let n = if scalar { 1 } else { 64 / esize };
        let part = if q && !scalar { n } else { 0 };
        let mut r = 0u128;
        let sb = ext(b, esize, u);
        for e in 0..n {
            let a = ext(elt(va, e + part, esize), esize, u);
            let d = elt(vd, e, w);
            let v = match op {
                0b0010 => (ext(d, w, u) + a * sb) as u64,
                0b0110 => (ext(d, w, u) - a * sb) as u64,
                0b1010 => (a * sb) as u64,
                _ => {
                    let (p, s1) = sat(2 * a * sb, w, false);
                    *qc |= s1;
                    if op == 0b1011 {
                        p
                    } else {
                        let acc = sx(d, w);
                        let p = sx(p, w);
                        let (v, s2) = sat(if op == 0b0011 { acc + p } else { acc - p }, w, false);
                        *qc |= s2;
                        v
                    }
                }
            };
            r = set_elt(r, e, w, v & mask(w));
        }
        if scalar {
            c.set_vlow(rd, r, w);
        } else {
            c.v[rd as usize] = r;
        }
        return Ok(());
    }
    let n = if scalar { 1 } else { (if q { 128 } else { 64 }) / esize };
    let mut r = 0u128;
    for e in 0..n {
        let a = elt(va, e, esize);
        let d = elt(vd, e, esize);
        let v = match op {
            0b0000 => d.wrapping_add(a.wrapping_mul(b)),
            0b0100 => d.wrapping_sub(a.wrapping_mul(b)),
            0b1000 => a.wrapping_mul(b),
            _ => {
                let p = 2 * sx(a, esize) * sx(b, esize) + if op == 0b1101 { 1i128 << (esize - 1) } else { 0 };
                let (v, s) = sat(p >> esize, esize, false);
                *qc |= s;
                v
            }
        };
        r = set_elt(r, e, esize, v & mask(esize));
    }
    if scalar {
        c.set_vlow(rd, r, esize);
    } else {
        put(c, rd, r, q);
    }
    Ok(())
}
