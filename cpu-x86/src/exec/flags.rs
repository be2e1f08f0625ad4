//! Arithmetic flag computation (SDM Vol 1 3.4.3.1 and appendix A "EFLAGS cross-reference").
//!
//! Flags are computed eagerly. Undefined-flag policy (documented, tested against the host in
//! the property tests where hardware is consistent): for shifts/rotates by more than one
//! the OF is computed as for a count of one; MUL/IMUL leave SF/ZF/AF/PF as the low result
//! defines them (SF/ZF/PF from the low half, AF clear); DIV/IDIV leave flags unchanged;
//! BSF/BSR/TZCNT... see the handlers.

use crate::state::flags::*;

/// Parity of the low byte (PF set when the number of set bits is even).
#[inline]
pub fn parity(v: u64) -> u64 {
    if (v as u8).count_ones().is_multiple_of(2) {
        PF
    } else {
        0
    }
}

/// SF, ZF, PF of a `size`-byte result.
#[inline]
pub fn szp(r: u64, size: u64) -> u64 {
    let r = super::operand::trunc(r, size);
    let mut f = parity(r);
    if r == 0 {
        f |= ZF;
    }
    if r & super::operand::sign_bit(size) != 0 {
        f |= SF;
    }
    f
}

/// Flags of `a + b + c = r`.
#[inline]
pub fn add(a: u64, b: u64, c: u64, r: u64, size: u64) -> u64 {
    let sb = super::operand::sign_bit(size);
    let m = super::operand::trunc(u64::MAX, size);
    let (a, b, r) = (a & m, b & m, r & m);
    let mut f = szp(r, size);
    if r < a || (c != 0 && r == a) {
        f |= CF;
    }
    if (a ^ r) & (b ^ r) & sb != 0 {
        f |= OF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= AF;
    }
    f
}

/// Flags of `a - b - c = r`.
#[inline]
pub fn sub(a: u64, b: u64, c: u64, r: u64, size: u64) -> u64 {
    let sb = super::operand::sign_bit(size);
    let m = super::operand::trunc(u64::MAX, size);
    let (a, b, r) = (a & m, b & m, r & m);
    let mut f = szp(r, size);
    if a < b || (c != 0 && a == b) {
        f |= CF;
    }
    if (a ^ b) & (a ^ r) & sb != 0 {
        f |= OF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= AF;
    }
    f
}

/// Flags of a logical operation (CF = OF = 0, AF cleared).
#[inline]
pub fn logic(r: u64, size: u64) -> u64 {
    szp(r, size)
}
