//! Bit instructions: BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT/POPCNT, BSWAP, MOVBE and BMI1/BMI2
//! (ANDN, BEXTR, BLSI, BLSMSK, BLSR, BZHI, PDEP, PEXT, MULX) (SDM Vol 2A/2B).

use super::flags as fl;
use super::operand::{sext, sign_bit, trunc};
use crate::cpu::X86Cpu;
use crate::fault::{UD_, X};
use crate::platform::X86Platform;
use crate::state::flags::*;
use crate::Feature;
use iced_x86::{Instruction, Mnemonic, OpKind};

/// BT, BTS, BTR, BTC. A register bit offset with a memory operand addresses outside the
/// operand (signed, SDM Vol 2A BT). Only CF changes (policy for the undefined OF/SF/AF/PF:
/// unchanged).
pub fn bt(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let bits = size * 8;
    let off = c.read_op(p, i, 1, size)?;
    let (val, bit, mem) = if i.op0_kind() == OpKind::Memory {
        let (seg, base) = c.ea(i);
        let (byte_off, bit) = if i.op1_kind() == OpKind::Register {
            let s = sext(off, size) as i64;
            let q = s.div_euclid(bits as i64);
            (q.wrapping_mul(size as i64) as u64, s.rem_euclid(bits as i64) as u64)
        } else {
            (0, off % bits)
        };
        let addr = c.ea_wrap(base.wrapping_add(byte_off));
        (c.read_mem(p, seg, addr, size)?, bit, Some((seg, addr)))
    } else {
        (c.get_reg(i.op0_register()), off % bits, None)
    };
    let m = 1u64 << bit;
    let new = match i.mnemonic() {
        Mnemonic::Bts => val | m,
        Mnemonic::Btr => val & !m,
        Mnemonic::Btc => val ^ m,
        _ => val,
    };
    if i.mnemonic() != Mnemonic::Bt {
        match mem {
            Some((seg, addr)) => c.write_mem(p, seg, addr, size, new)?,
            None => c.set_reg(i.op0_register(), new),
        }
    }
    if val & m != 0 {
        c.rflags |= CF;
    } else {
        c.rflags &= !CF;
    }
    Ok(())
}

impl X86Cpu {
    /// Wraps an offset to the current address size (used by BT with a far bit offset).
    pub(crate) fn ea_wrap(&self, off: u64) -> u64 {
        match self.mode {
            crate::state::Mode::Long64 => off,
            _ => off & 0xffff_ffff,
        }
    }
}

/// BSF/BSR (source zero: ZF=1, destination unchanged; other flags from the source as
/// hardware commonly does: policy documented), TZCNT/LZCNT (fall back to BSF/BSR when the
/// feature is off, as the F3 prefix is then ignored), POPCNT.
pub fn bitscan(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let bits = size * 8;
    let s = c.read_op(p, i, 1, size)?;
    let mut m = i.mnemonic();
    if m == Mnemonic::Tzcnt && !c.cpuid.has(Feature::Bmi1) {
        m = Mnemonic::Bsf;
    }
    if m == Mnemonic::Lzcnt && !c.cpuid.has(Feature::Abm) {
        m = Mnemonic::Bsr;
    }
    match m {
        Mnemonic::Bsf | Mnemonic::Bsr => {
            if s == 0 {
                c.rflags = (c.rflags & !STATUS) | ZF | (c.rflags & CF);
                return Ok(());
            }
            let r =
                if m == Mnemonic::Bsf { s.trailing_zeros() as u64 } else { 63 - s.leading_zeros() as u64 };
            c.set_reg(i.op0_register(), r);
            c.set_status(c.rflags & CF);
        }
        Mnemonic::Tzcnt | Mnemonic::Lzcnt => {
            let r = if s == 0 {
                bits
            } else if m == Mnemonic::Tzcnt {
                s.trailing_zeros() as u64
            } else {
                s.leading_zeros() as u64 - (64 - bits)
            };
            c.set_reg(i.op0_register(), r);
            let mut f = c.rflags & STATUS & !(CF | ZF);
            if s == 0 {
                f |= CF;
            }
            if r == 0 {
                f |= ZF;
            }
            c.set_status(f);
        }
        _ => {
            if !c.cpuid.has(Feature::Popcnt) {
                return Err(UD_);
            }
            c.set_reg(i.op0_register(), s.count_ones() as u64);
            c.set_status(if s == 0 { ZF } else { 0 });
        }
    }
    Ok(())
}

/// BSWAP (16-bit operand: undefined, policy: result zero as on Intel hardware).
pub fn bswap(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let r = i.op0_register();
    let v = c.get_reg(r);
    let n = match r.size() {
        8 => v.swap_bytes(),
        4 => (v as u32).swap_bytes() as u64,
        _ => 0,
    };
    c.set_reg(r, n);
    Ok(())
}

/// MOVBE.
pub fn movbe(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !c.cpuid.has(Feature::Movbe) {
        return Err(UD_);
    }
    let size = c.op_size(i, 0);
    let v = c.read_op(p, i, 1, size)?;
    let s = match size {
        2 => (v as u16).swap_bytes() as u64,
        4 => (v as u32).swap_bytes() as u64,
        _ => v.swap_bytes(),
    };
    c.write_op(p, i, 0, size, s)
}

/// ANDN, BEXTR, BLSI, BLSMSK, BLSR (BMI1); BZHI, PDEP, PEXT, MULX (BMI2).
pub fn bmi(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let m = i.mnemonic();
    let need = if matches!(m, Mnemonic::Bzhi | Mnemonic::Pdep | Mnemonic::Pext | Mnemonic::Mulx) {
        Feature::Bmi2
    } else {
        Feature::Bmi1
    };
    if !c.cpuid.has(need) {
        return Err(UD_);
    }
    let size = c.op_size(i, 0);
    let bits = size * 8;
    let d = i.op0_register();
    let keep = c.rflags & STATUS & (AF | PF);
    match m {
        Mnemonic::Andn => {
            let a = c.get_reg(i.op1_register());
            let b = c.read_op(p, i, 2, size)?;
            let r = trunc(!a & b, size);
            c.set_reg(d, r);
            c.set_status(fl::szp(r, size) & (SF | ZF) | keep);
        }
        Mnemonic::Bextr => {
            let a = c.read_op(p, i, 1, size)?;
            let ctl = c.get_reg(i.op2_register());
            let start = ctl & 0xff;
            let len = (ctl >> 8) & 0xff;
            let r = if start >= bits { 0 } else { a >> start };
            let r = if len >= 64 { r } else { r & ((1u64 << len) - 1) };
            let r = trunc(r, size);
            c.set_reg(d, r);
            c.set_status(if r == 0 { ZF } else { 0 } | keep);
        }
        Mnemonic::Blsi | Mnemonic::Blsmsk | Mnemonic::Blsr => {
            let s = c.read_op(p, i, 1, size)?;
            let r = trunc(
                match m {
                    Mnemonic::Blsi => s & s.wrapping_neg(),
                    Mnemonic::Blsmsk => s ^ s.wrapping_sub(1),
                    _ => s & s.wrapping_sub(1),
                },
                size,
            );
            c.set_reg(d, r);
            let mut f = keep;
            if r & sign_bit(size) != 0 {
                f |= SF;
            }
            if m != Mnemonic::Blsmsk && r == 0 {
                f |= ZF;
            }
            let cf = if m == Mnemonic::Blsi { s != 0 } else { s == 0 };
            if cf {
                f |= CF;
            }
            c.set_status(f);
        }
        Mnemonic::Bzhi => {
            let s = c.read_op(p, i, 1, size)?;
            let n = c.get_reg(i.op2_register()) & 0xff;
            let (r, cf) = if n < bits { (s & ((1u64 << n) - 1), false) } else { (s, true) };
            let r = trunc(r, size);
            c.set_reg(d, r);
            let mut f = fl::szp(r, size) & (SF | ZF) | keep;
            if cf {
                f |= CF;
            }
            c.set_status(f);
        }
        Mnemonic::Pdep | Mnemonic::Pext => {
            let src = c.get_reg(i.op1_register());
            let mask = c.read_op(p, i, 2, size)?;
            let mut r = 0u64;
            let mut k = 0;
            for b in 0..bits {
                if mask >> b & 1 != 0 {
                    if m == Mnemonic::Pdep {
                        r |= ((src >> k) & 1) << b;
                    } else {
                        r |= ((src >> b) & 1) << k;
                    }
                    k += 1;
                }
            }
            c.set_reg(d, r);
        }
        _ => {
            // MULX: hi -> op0, lo -> op1, source op2 times rDX; no flags.
            let s = c.read_op(p, i, 2, size)?;
            let dx = if size == 8 { c.regs[2] } else { c.regs[2] & 0xffff_ffff };
            let prod = dx as u128 * s as u128;
            c.set_reg(i.op1_register(), trunc(prod as u64, size));
            c.set_reg(d, trunc((prod >> bits) as u64, size));
        }
    }
    Ok(())
}
