//! Instruction families, one file each (Arm ARM C4.1 encoding groups): [`dp`] data
//! processing (immediate and register), [`branch`] branches and exception return, [`ldst`]
//! loads and stores, [`system`] exception generation, system registers, hints and cache/TLB
//! maintenance; [`fp`] scalar floating point (on the IEEE core [`softfp`]), [`simd`]
//! Advanced SIMD, [`fpldst`] SIMD&FP loads and stores;
//! [`atomic`] atomic memory operations and RCpc loads and stores (FEAT_LSE, FEAT_LRCPC2).
//! Helpers shared by them live here.

pub mod atomic;
pub mod branch;
pub mod dp;
pub mod fast;
pub mod fp;
pub mod fpldst;
pub mod ldst;
pub mod simd;
pub mod softfp;
pub mod system;

/// Bits `hi..=lo` of `v`.
#[inline(always)]
pub fn bits(v: u32, hi: u32, lo: u32) -> u32 {
    (v >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

/// Bit `n` of `v`.
#[inline(always)]
pub fn bit(v: u32, n: u32) -> bool {
    (v >> n) & 1 != 0
}

/// Sign-extends the low `n` bits.
#[inline(always)]
pub fn sext(v: u64, n: u32) -> u64 {
    ((v << (64 - n)) as i64 >> (64 - n)) as u64
}

/// Truncates to the operand size (`sf`: 64-bit).
#[inline(always)]
pub fn trunc(v: u64, sf: bool) -> u64 {
    if sf {
        v
    } else {
        v & 0xffff_ffff
    }
}

/// AddWithCarry (Arm ARM J1 shared pseudocode): result and NZCV in bits 31:28.
#[inline(always)]
pub fn add_with_carry(x: u64, y: u64, carry: bool, sf: bool) -> (u64, u64) {
    if sf {
        let (r1, c1) = x.overflowing_add(y);
        let (r, c2) = r1.overflowing_add(carry as u64);
        let c = c1 | c2;
        let v = ((x ^ r) & (y ^ r)) >> 63 != 0;
        (r, nzcv(r >> 63 != 0, r == 0, c, v))
    } else {
        let (x, y) = (x as u32, y as u32);
        let (r1, c1) = x.overflowing_add(y);
        let (r, c2) = r1.overflowing_add(carry as u32);
        let c = c1 | c2;
        let v = ((x ^ r) & (y ^ r)) >> 31 != 0;
        (r as u64, nzcv(r >> 31 != 0, r == 0, c, v))
    }
}

/// AND (`opc` 0), ORR (1), EOR (2) or ANDS (3) of `a` and `b` at width `sf`, with the NZCV
/// that ANDS sets (N and Z from the result, C = V = 0; C6.2.15 ANDS).
#[inline(always)]
pub fn logic(opc: u32, a: u64, b: u64, sf: bool) -> (u64, Option<u64>) {
    let r = trunc(
        match opc {
            0 | 3 => a & b,
            1 => a | b,
            _ => a ^ b,
        },
        sf,
    );
    let flags = (opc == 3).then(|| nzcv(if sf { r >> 63 } else { r >> 31 } != 0, r == 0, false, false));
    (r, flags)
}

/// NZCV packed in bits 31:28.
#[inline(always)]
pub fn nzcv(n: bool, z: bool, c: bool, v: bool) -> u64 {
    (n as u64) << 31 | (z as u64) << 30 | (c as u64) << 29 | (v as u64) << 28
}

/// ConditionHolds (Arm ARM J1 shared pseudocode, C1.2.4 table).
#[inline(always)]
pub fn cond_holds(cond: u32, f: u64) -> bool {
    let n = f & (1 << 31) != 0;
    let z = f & (1 << 30) != 0;
    let c = f & (1 << 29) != 0;
    let v = f & (1 << 28) != 0;
    let r = match cond >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => n == v && !z,
        _ => true,
    };
    if cond & 1 != 0 && cond != 15 {
        !r
    } else {
        r
    }
}

/// DecodeBitMasks (Arm ARM J1 shared pseudocode): (wmask, tmask), or None for a reserved
/// encoding.
pub fn decode_bit_masks(n: u32, imms: u32, immr: u32, immediate: bool, sf: bool) -> Option<(u64, u64)> {
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 || (!sf && len > 5) {
        return None;
    }
    let levels = (1u32 << len) - 1;
    if immediate && (imms & levels) == levels {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let diff = s.wrapping_sub(r) & levels;
    let esize = 1u32 << len;
    let d = diff & levels;
    let ones = |k: u32| if k >= 64 { u64::MAX } else { (1u64 << k) - 1 };
    let emask = ones(esize);
    let welem = ones(s + 1);
    let telem = ones(d + 1);
    let ror = |x: u64, sh: u32| if sh == 0 { x } else { ((x >> sh) | (x << (esize - sh))) & emask };
    let rep = |x: u64| {
        let mut v = 0u64;
        let mut i = 0;
        while i < 64 {
            v |= x << i;
            i += esize;
        }
        v
    };
    let w = rep(ror(welem, r));
    let t = rep(telem);
    let m = if sf { u64::MAX } else { 0xffff_ffff };
    Some((w & m, t & m))
}

/// Shift of a register operand (C6.2 "shifted register" forms): LSL, LSR, ASR, ROR.
#[inline(always)]
pub fn shift(v: u64, kind: u32, amount: u32, sf: bool) -> u64 {
    let width = if sf { 64 } else { 32 };
    let v = trunc(v, sf);
    let amount = amount % width;
    let r = match kind {
        0 => v << amount,
        1 => v >> amount,
        2 => {
            if sf {
                ((v as i64) >> amount) as u64
            } else {
                ((v as u32 as i32) >> amount) as u32 as u64
            }
        }
        _ => {
            if amount == 0 {
                v
            } else if sf {
                v.rotate_right(amount)
            } else {
                (v as u32).rotate_right(amount) as u64
            }
        }
    };
    trunc(r, sf)
}

/// ExtendReg (C6.2 "extended register" forms): option 0-7 = UXTB..SXTX, then shift.
#[inline(always)]
pub fn extend(v: u64, option: u32, sh: u32) -> u64 {
    let x = match option {
        0 => v & 0xff,
        1 => v & 0xffff,
        2 => v & 0xffff_ffff,
        3 => v,
        4 => v as u8 as i8 as i64 as u64,
        5 => v as u16 as i16 as i64 as u64,
        6 => v as u32 as i32 as i64 as u64,
        _ => v,
    };
    x << sh
}
