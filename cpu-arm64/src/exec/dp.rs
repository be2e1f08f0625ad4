//! Data processing, immediate and register (Arm ARM C4.1.2 and C4.1.5; semantics C6.2).

use super::{add_with_carry, bit, bits, cond_holds, decode_bit_masks, extend, shift, trunc};
use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;

type R = Result<(), Exc>;

/// ADD/ADDS/SUB/SUBS: immediate (C6.2.4), shifted register (C6.2.5) and extended register
/// (C6.2.3) forms.
pub fn add_sub(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let sub = bit(i, 30);
    let s = bit(i, 29);
    let rd = bits(i, 4, 0);
    let rn = bits(i, 9, 5);
    let (a, b, rd_sp) = if bits(i, 28, 24) == 0b10001 {
        // Immediate: Rn and (unless S) Rd may be SP; imm12 optionally shifted by 12.
        let imm = bits(i, 21, 10) as u64;
        let imm = if bit(i, 22) { imm << 12 } else { imm };
        (c.xsp(rn), imm, !s)
    } else if bit(i, 21) {
        // Extended register: Rn SP, Rd SP unless S; shift 0-4.
        let sh = bits(i, 12, 10);
        if sh > 4 {
            return Err(Exc::undef());
        }
        let m = c.xr(bits(i, 20, 16));
        (c.xsp(rn), extend(m, bits(i, 15, 13), sh), !s)
    } else {
        let kind = bits(i, 23, 22);
        let amt = bits(i, 15, 10);
        if kind == 3 || (!sf && amt >= 32) {
            return Err(Exc::undef());
        }
        (c.xr(rn), shift(c.xr(bits(i, 20, 16)), kind, amt, sf), false)
    };
    let (r, f) = if sub { add_with_carry(a, !b, true, sf) } else { add_with_carry(a, b, false, sf) };
    if s {
        c.nzcv = f;
    }
    let r = trunc(r, sf);
    if rd_sp {
        c.set_xsp(rd, r);
    } else {
        c.set_xr(rd, r);
    }
    Ok(())
}

/// ADC/ADCS/SBC/SBCS (C6.2.1, C6.2.221).
pub fn adc_sbc(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let a = c.xr(bits(i, 9, 5));
    let b = c.xr(bits(i, 20, 16));
    let b = if bit(i, 30) { !b } else { b };
    let (r, f) = add_with_carry(a, b, c.nzcv & (1 << 29) != 0, sf);
    if bit(i, 29) {
        c.nzcv = f;
    }
    c.set_xr(bits(i, 4, 0), trunc(r, sf));
    Ok(())
}

/// AND/ORR/EOR/ANDS immediate (C6.2.12 ...) and AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS shifted
/// register.
pub fn logical(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let opc = bits(i, 30, 29);
    let rd = bits(i, 4, 0);
    let a = c.xr(bits(i, 9, 5));
    let imm_form = bits(i, 28, 23) == 0b100100;
    let b = if imm_form {
        let n = bits(i, 22, 22);
        if !sf && n == 1 {
            return Err(Exc::undef());
        }
        match decode_bit_masks(n, bits(i, 15, 10), bits(i, 21, 16), true, sf) {
            Some((w, _)) => w,
            None => return Err(Exc::undef()),
        }
    } else {
        let amt = bits(i, 15, 10);
        if !sf && amt >= 32 {
            return Err(Exc::undef());
        }
        let v = shift(c.xr(bits(i, 20, 16)), bits(i, 23, 22), amt, sf);
        if bit(i, 21) {
            trunc(!v, sf)
        } else {
            v
        }
    };
    let (r, flags) = super::logic(opc, a, b, sf);
    if let Some(f) = flags {
        c.nzcv = f;
    }
    // The immediate forms (other than ANDS) may write SP.
    if imm_form && opc != 3 {
        c.set_xsp(rd, r);
    } else {
        c.set_xr(rd, r);
    }
    Ok(())
}

/// MOVN/MOVZ/MOVK (C6.2.190-192).
pub fn move_wide(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let hw = bits(i, 22, 21);
    if !sf && hw > 1 {
        return Err(Exc::undef());
    }
    let pos = hw * 16;
    let imm = (bits(i, 20, 5) as u64) << pos;
    let rd = bits(i, 4, 0);
    let r = match bits(i, 30, 29) {
        0 => !imm,
        2 => imm,
        3 => (c.xr(rd) & !(0xffffu64 << pos)) | imm,
        _ => return Err(Exc::undef()),
    };
    c.set_xr(rd, trunc(r, sf));
    Ok(())
}

/// SBFM/BFM/UBFM (C6.2.234, C6.2.30, C6.2.331).
pub fn bitfield(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let n = bits(i, 22, 22);
    if sf as u32 != n {
        return Err(Exc::undef());
    }
    let immr = bits(i, 21, 16);
    let imms = bits(i, 15, 10);
    if !sf && (immr >= 32 || imms >= 32) {
        return Err(Exc::undef());
    }
    let Some((wmask, tmask)) = decode_bit_masks(n, imms, immr, false, sf) else {
        return Err(Exc::undef());
    };
    let rd = bits(i, 4, 0);
    let src = trunc(c.xr(bits(i, 9, 5)), sf);
    let rot = if immr == 0 {
        src
    } else if sf {
        src.rotate_right(immr)
    } else {
        (src as u32).rotate_right(immr) as u64
    };
    let r = match bits(i, 30, 29) {
        0 => {
            // SBFM: top = Replicate(src<imms>).
            let top = if (src >> imms) & 1 != 0 { trunc(u64::MAX, sf) } else { 0 };
            (top & !tmask) | (rot & wmask & tmask)
        }
        1 => {
            let dst = c.xr(rd);
            let bot = (dst & !wmask) | (rot & wmask);
            (dst & !tmask) | (bot & tmask)
        }
        2 => rot & wmask & tmask,
        _ => return Err(Exc::undef()),
    };
    c.set_xr(rd, trunc(r, sf));
    Ok(())
}

/// EXTR (C6.2.90).
pub fn extr(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let lsb = bits(i, 15, 10);
    if sf as u32 != bits(i, 22, 22) || (!sf && lsb >= 32) {
        return Err(Exc::undef());
    }
    let hi = trunc(c.xr(bits(i, 9, 5)), sf);
    let lo = trunc(c.xr(bits(i, 20, 16)), sf);
    let r = if sf {
        if lsb == 0 {
            lo
        } else {
            (lo >> lsb) | (hi << (64 - lsb))
        }
    } else {
        let v = (hi << 32) | lo;
        (v >> lsb) & 0xffff_ffff
    };
    c.set_xr(bits(i, 4, 0), r);
    Ok(())
}

/// ADR/ADRP (C6.2.10-11).
pub fn adr(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let imm = ((bits(i, 23, 5) as u64) << 2) | bits(i, 30, 29) as u64;
    let imm = super::sext(imm, 21);
    let r = if bit(i, 31) { (c.pc & !0xfff).wrapping_add(imm << 12) } else { c.pc.wrapping_add(imm) };
    c.set_xr(bits(i, 4, 0), r);
    Ok(())
}

/// CSEL/CSINC/CSINV/CSNEG (C6.2.69 ...).
pub fn csel(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let r = if cond_holds(bits(i, 15, 12), c.nzcv) {
        c.xr(bits(i, 9, 5))
    } else {
        let m = c.xr(bits(i, 20, 16));
        let m = if bit(i, 30) { !m } else { m };
        if bit(i, 10) {
            m.wrapping_add(1)
        } else {
            m
        }
    };
    c.set_xr(bits(i, 4, 0), trunc(r, sf));
    Ok(())
}

/// CCMN/CCMP, register and immediate (C6.2.49-52).
pub fn ccmp(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    if cond_holds(bits(i, 15, 12), c.nzcv) {
        let a = c.xr(bits(i, 9, 5));
        let b = if bit(i, 11) { bits(i, 20, 16) as u64 } else { c.xr(bits(i, 20, 16)) };
        let (_, f) =
            if bit(i, 30) { add_with_carry(a, !b, true, sf) } else { add_with_carry(a, b, false, sf) };
        c.nzcv = f;
    } else {
        c.nzcv = (bits(i, 3, 0) as u64) << 28;
    }
    Ok(())
}

/// RBIT/REV16/REV32/REV/CLZ/CLS (C4.1.5 data processing, 1 source).
pub fn dp1(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let v = trunc(c.xr(bits(i, 9, 5)), sf);
    let r = match (bits(i, 15, 10), sf) {
        (0, true) => v.reverse_bits(),
        (0, false) => (v as u32).reverse_bits() as u64,
        (1, true) => {
            let m = 0x00ff_00ff_00ff_00ffu64;
            ((v & m) << 8) | ((v >> 8) & m)
        }
        (1, false) => {
            let v = v as u32;
            (((v & 0x00ff_00ff) << 8) | ((v >> 8) & 0x00ff_00ff)) as u64
        }
        (2, true) => {
            let lo = (v as u32).swap_bytes() as u64;
            let hi = ((v >> 32) as u32).swap_bytes() as u64;
            (hi << 32) | lo
        }
        (2, false) => (v as u32).swap_bytes() as u64,
        (3, true) => v.swap_bytes(),
        (4, true) => v.leading_zeros() as u64,
        (4, false) => (v as u32).leading_zeros() as u64,
        (5, true) => ((v ^ ((v as i64) >> 1) as u64) << 1 | 1).leading_zeros() as u64,
        (5, false) => {
            let v = v as u32;
            ((v ^ ((v as i32) >> 1) as u32) << 1 | 1).leading_zeros() as u64
        }
        _ => return Err(Exc::undef()),
    };
    c.set_xr(bits(i, 4, 0), r);
    Ok(())
}

/// UDIV/SDIV/LSLV/LSRV/ASRV/RORV (C4.1.5 data processing, 2 source).
pub fn dp2(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let a = trunc(c.xr(bits(i, 9, 5)), sf);
    let b = trunc(c.xr(bits(i, 20, 16)), sf);
    let r = match bits(i, 15, 10) {
        // Division by zero gives zero; INT_MIN / -1 gives INT_MIN (C6.2.243 SDIV).
        2 => a.checked_div(b).unwrap_or(0),
        3 => {
            if b == 0 {
                0
            } else if sf {
                (a as i64).wrapping_div(b as i64) as u64
            } else {
                (a as u32 as i32).wrapping_div(b as u32 as i32) as u32 as u64
            }
        }
        op @ 8..=11 => shift(a, op - 8, (b & if sf { 63 } else { 31 }) as u32, sf),
        _ => return Err(Exc::undef()),
    };
    c.set_xr(bits(i, 4, 0), trunc(r, sf));
    Ok(())
}

/// CRC32B/H/W/X and CRC32CB/H/W/X (C6.2.77-78): bit-reflected CRC-32 (0x04C11DB7) and
/// CRC-32C (0x1EDC6F41).
pub fn crc32(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sz = bits(i, 11, 10);
    let castagnoli = bit(i, 12);
    if (sz == 3) != bit(i, 31) {
        return Err(Exc::undef());
    }
    let poly: u32 = if castagnoli { 0x82F6_3B78 } else { 0xEDB8_8320 };
    let mut acc = c.xr(bits(i, 9, 5)) as u32;
    let val = c.xr(bits(i, 20, 16));
    for k in 0..(1u32 << sz) {
        acc ^= ((val >> (8 * k)) & 0xff) as u32;
        for _ in 0..8 {
            acc = if acc & 1 != 0 { (acc >> 1) ^ poly } else { acc >> 1 };
        }
    }
    c.set_xr(bits(i, 4, 0), acc as u64);
    Ok(())
}

/// MADD/MSUB/SMADDL/SMSUBL/UMADDL/UMSUBL/SMULH/UMULH (C4.1.5 data processing, 3 source).
pub fn dp3(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let sf = bit(i, 31);
    let n = c.xr(bits(i, 9, 5));
    let m = c.xr(bits(i, 20, 16));
    let a = c.xr(bits(i, 14, 10));
    let sub = bit(i, 15);
    let r = match bits(i, 23, 21) {
        0 => {
            let p = n.wrapping_mul(m);
            trunc(if sub { a.wrapping_sub(p) } else { a.wrapping_add(p) }, sf)
        }
        1 if sf => {
            let p = (n as u32 as i32 as i64).wrapping_mul(m as u32 as i32 as i64) as u64;
            if sub {
                a.wrapping_sub(p)
            } else {
                a.wrapping_add(p)
            }
        }
        5 if sf => {
            let p = (n as u32 as u64).wrapping_mul(m as u32 as u64);
            if sub {
                a.wrapping_sub(p)
            } else {
                a.wrapping_add(p)
            }
        }
        2 if sf && !sub => (((n as i64 as i128) * (m as i64 as i128)) >> 64) as u64,
        6 if sf && !sub => (((n as u128) * (m as u128)) >> 64) as u64,
        _ => return Err(Exc::undef()),
    };
    c.set_xr(bits(i, 4, 0), r);
    Ok(())
}
