//! Shifts and rotates: SHL/SAL/SHR/SAR/ROL/ROR/RCL/RCR, SHLD/SHRD, and the BMI2 forms
//! SARX/SHLX/SHRX/RORX (SDM Vol 2B). Undefined-flag policy: for counts above one, OF is computed
//! with the count-of-one formula on the final result; AF is cleared by shifts.

use super::flags as fl;
use super::operand::{sext, sign_bit, trunc};
use crate::cpu::X86Cpu;
use crate::fault::{UD_, X};
use crate::platform::X86Platform;
use crate::state::flags::*;
use iced_x86::{Instruction, Mnemonic};

fn count_mask(size: u64) -> u64 {
    if size == 8 {
        63
    } else {
        31
    }
}

/// CF and OF after ROL (`left`) or ROR producing `r` (SDM Vol 2B RCL/RCR/ROL/ROR: CF is the
/// bit rotated in; OF, defined for counts of one and computed the same way for others, is
/// MSB XOR CF for ROL and the XOR of the two top bits for ROR).
pub(crate) fn rotate_flags(r: u64, size: u64, left: bool) -> u64 {
    let msb = sign_bit(size);
    let top = (r & msb != 0) as u64;
    let (cf, of) = if left {
        let cf = r & 1;
        (cf, top ^ cf)
    } else {
        (top, top ^ (r & (msb >> 1) != 0) as u64)
    };
    (cf * CF) | (of * OF)
}

/// SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR.
pub fn shift(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let a = c.read_op(p, i, 0, size)?;
    let cnt = if i.op_count() > 1 { c.read_op(p, i, 1, 1)? } else { 1 } & count_mask(size);
    if cnt == 0 {
        // A zero count changes no flags (SDM Vol 2B SAL/SAR/SHL/SHR); a 32-bit register
        // destination is still written, so its upper half is cleared in 64-bit mode.
        if size == 4 && i.op0_kind() == iced_x86::OpKind::Register {
            c.set_reg(i.op0_register(), a);
        }
        return Ok(());
    }
    let bits = size * 8;
    let msb = sign_bit(size);
    let cf_in = c.rflags & CF != 0;
    let (r, f) = match i.mnemonic() {
        Mnemonic::Shl | Mnemonic::Sal => {
            let r = if cnt >= 64 { 0 } else { trunc(a << cnt, size) };
            let cf = cnt <= bits && (a >> (bits - cnt)) & 1 != 0;
            let mut f = fl::szp(r, size);
            if cf {
                f |= CF;
            }
            if ((r & msb != 0) as u64 ^ cf as u64) != 0 {
                f |= OF;
            }
            (r, f)
        }
        Mnemonic::Shr => {
            let r = if cnt >= 64 { 0 } else { a >> cnt };
            let cf = cnt <= bits && (a >> (cnt - 1)) & 1 != 0;
            let mut f = fl::szp(r, size);
            if cf {
                f |= CF;
            }
            if a & msb != 0 {
                f |= OF;
            }
            (r, f)
        }
        Mnemonic::Sar => {
            let s = sext(a, size) as i64;
            let r = trunc((s >> cnt.min(63)) as u64, size);
            let cf = (s >> (cnt - 1).min(63)) & 1 != 0;
            let mut f = fl::szp(r, size);
            if cf {
                f |= CF;
            }
            (r, f)
        }
        Mnemonic::Rol | Mnemonic::Ror => {
            let n = cnt % bits;
            let r = if i.mnemonic() == Mnemonic::Rol {
                trunc((a << n) | if n == 0 { 0 } else { a >> (bits - n) }, size)
            } else {
                trunc((a >> n) | if n == 0 { 0 } else { a << (bits - n) }, size)
            };
            let f = (c.rflags & STATUS & !(CF | OF)) | rotate_flags(r, size, i.mnemonic() == Mnemonic::Rol);
            (r, f)
        }
        _ => {
            // RCL/RCR rotate through CF over bits+1 positions.
            let n = cnt % (bits + 1);
            let mut v = a;
            let mut cf = cf_in;
            let rcl = i.mnemonic() == Mnemonic::Rcl;
            let mut of_src = false;
            for k in 0..n {
                if rcl {
                    let out = v & msb != 0;
                    v = trunc((v << 1) | cf as u64, size);
                    cf = out;
                } else {
                    if k == 0 {
                        of_src = (v & msb != 0) ^ cf;
                    }
                    let out = v & 1 != 0;
                    v = (v >> 1) | if cf { msb } else { 0 };
                    cf = out;
                }
            }
            let mut f = c.rflags & STATUS & !(CF | OF);
            if cf {
                f |= CF;
            }
            let of = if rcl { (v & msb != 0) ^ cf } else { of_src };
            if of {
                f |= OF;
            }
            (v, f)
        }
    };
    c.write_op(p, i, 0, size, r)?;
    c.set_status(f);
    Ok(())
}

/// SHLD and SHRD. Counts larger than the operand size (16-bit forms) give the result of the
/// double-width shift (documented undefined case).
pub fn shxd(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let a = c.read_op(p, i, 0, size)?;
    let b = c.get_reg(i.op1_register());
    let cnt = c.read_op(p, i, 2, 1)? & count_mask(size);
    if cnt == 0 {
        if size == 4 && i.op0_kind() == iced_x86::OpKind::Register {
            c.set_reg(i.op0_register(), a);
        }
        return Ok(());
    }
    let bits = size * 8;
    let msb = sign_bit(size);
    let wide = ((a as u128) << bits) | b as u128; // a:b
    let (r, cf) = if i.mnemonic() == Mnemonic::Shld {
        let sh = wide << cnt;
        (trunc((sh >> bits) as u64, size), (wide >> (2 * bits - cnt)) & 1 != 0)
    } else {
        let wide = ((b as u128) << bits) | a as u128; // b:a
        (trunc((wide >> cnt) as u64, size), (wide >> (cnt - 1)) & 1 != 0)
    };
    c.write_op(p, i, 0, size, r)?;
    let mut f = fl::szp(r, size);
    if cf {
        f |= CF;
    }
    if (r ^ a) & msb != 0 {
        f |= OF;
    }
    c.set_status(f);
    Ok(())
}

/// SARX, SHLX, SHRX, RORX (BMI2; no flags).
pub fn bmi2_shift(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !c.cpuid.has(crate::Feature::Bmi2) {
        return Err(UD_);
    }
    let size = c.op_size(i, 0);
    let a = c.read_op(p, i, 1, size)?;
    let cnt = if i.mnemonic() == Mnemonic::Rorx { i.immediate(2) } else { c.get_reg(i.op2_register()) }
        & count_mask(size);
    let bits = size * 8;
    let r = match i.mnemonic() {
        Mnemonic::Sarx => trunc((sext(a, size) as i64 >> cnt) as u64, size),
        Mnemonic::Shlx => trunc(a << cnt, size),
        Mnemonic::Shrx => a >> cnt,
        _ => {
            let n = cnt % bits;
            trunc((a >> n) | if n == 0 { 0 } else { a << (bits - n) }, size)
        }
    };
    c.set_reg(i.op0_register(), r);
    Ok(())
}
