//! Integer arithmetic and logic: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST, INC/DEC/NEG/NOT,
//! MUL/IMUL/DIV/IDIV, XADD, CMPXCHG/CMPXCHG8B/CMPXCHG16B, ADCX/ADOX (SDM Vol 2A/2B).

use super::flags as fl;
use super::operand::{sext, trunc};
use crate::cpu::X86Cpu;
use crate::fault::{exc, DE, GP0, UD_, X};
use crate::platform::X86Platform;
use crate::state::flags::*;
use iced_x86::{Instruction, Mnemonic, OpKind, Register};

impl X86Cpu {
    #[inline]
    pub(crate) fn set_status(&mut self, f: u64) {
        self.rflags = (self.rflags & !STATUS) | f;
    }
}

/// ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST (the `op r/m, r/m/imm` forms).
pub fn binop(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let a = c.read_op(p, i, 0, size)?;
    let b = c.read_op(p, i, 1, size)?;
    let cf = c.rflags & CF;
    let m = i.mnemonic();
    let (r, f) = match m {
        Mnemonic::Add => {
            let r = a.wrapping_add(b);
            (r, fl::add(a, b, 0, r, size))
        }
        Mnemonic::Adc => {
            let r = a.wrapping_add(b).wrapping_add(cf);
            (r, fl::add(a, b, cf, r, size))
        }
        Mnemonic::Sub | Mnemonic::Cmp => {
            let r = a.wrapping_sub(b);
            (r, fl::sub(a, b, 0, r, size))
        }
        Mnemonic::Sbb => {
            let r = a.wrapping_sub(b).wrapping_sub(cf);
            (r, fl::sub(a, b, cf, r, size))
        }
        Mnemonic::And | Mnemonic::Test => (a & b, fl::logic(a & b, size)),
        Mnemonic::Or => (a | b, fl::logic(a | b, size)),
        _ => (a ^ b, fl::logic(a ^ b, size)),
    };
    if !matches!(m, Mnemonic::Cmp | Mnemonic::Test) {
        c.write_op(p, i, 0, size, trunc(r, size))?;
    }
    c.set_status(f);
    Ok(())
}

/// INC, DEC (CF preserved), NEG, NOT.
pub fn unop(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let a = c.read_op(p, i, 0, size)?;
    match i.mnemonic() {
        Mnemonic::Inc => {
            let r = a.wrapping_add(1);
            c.write_op(p, i, 0, size, trunc(r, size))?;
            let f = fl::add(a, 1, 0, r, size) & !CF;
            c.rflags = (c.rflags & !(STATUS & !CF)) | f;
        }
        Mnemonic::Dec => {
            let r = a.wrapping_sub(1);
            c.write_op(p, i, 0, size, trunc(r, size))?;
            let f = fl::sub(a, 1, 0, r, size) & !CF;
            c.rflags = (c.rflags & !(STATUS & !CF)) | f;
        }
        Mnemonic::Neg => {
            let r = 0u64.wrapping_sub(a);
            c.write_op(p, i, 0, size, trunc(r, size))?;
            c.set_status(fl::sub(0, a, 0, r, size));
        }
        _ => c.write_op(p, i, 0, size, trunc(!a, size))?,
    }
    Ok(())
}

fn acc_regs(size: u64) -> (Register, Register) {
    match size {
        1 => (Register::AL, Register::AH),
        2 => (Register::AX, Register::DX),
        4 => (Register::EAX, Register::EDX),
        _ => (Register::RAX, Register::RDX),
    }
}

/// MUL and the one-operand IMUL. Undefined-flag policy: SF, ZF, PF from the low half of
/// the product, AF clear.
pub fn mul1(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let b = c.read_op(p, i, 0, size)?;
    let bits = size * 8;
    let (lo_r, hi_r) = acc_regs(size);
    let a = if size == 1 { c.get_reg(Register::AL) } else { c.get_reg(lo_r) };
    let signed = i.mnemonic() == Mnemonic::Imul;
    let (lo, hi, overflow) = if signed {
        let prod = (sext(a, size) as i64 as i128) * (sext(b, size) as i64 as i128);
        let lo = trunc(prod as u64, size);
        let hi = trunc((prod >> bits) as u64, size);
        (lo, hi, prod != sext(lo, size) as i64 as i128)
    } else {
        let prod = (a as u128) * (b as u128);
        let lo = trunc(prod as u64, size);
        let hi = trunc((prod >> bits) as u64, size);
        (lo, hi, hi != 0)
    };
    if size == 1 {
        c.set_reg(Register::AX, (hi << 8) | lo);
    } else {
        c.set_reg(lo_r, lo);
        c.set_reg(hi_r, hi);
    }
    let mut f = fl::szp(lo, size);
    if overflow {
        f |= CF | OF;
    }
    c.set_status(f);
    Ok(())
}

/// Two- and three-operand IMUL.
pub fn imul_n(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let (a, b) = if i.op_count() == 3 {
        (c.read_op(p, i, 1, size)?, trunc(i.immediate(2), size))
    } else {
        (c.read_op(p, i, 0, size)?, c.read_op(p, i, 1, size)?)
    };
    let prod = (sext(a, size) as i64 as i128) * (sext(b, size) as i64 as i128);
    let lo = trunc(prod as u64, size);
    c.set_reg(i.op0_register(), lo);
    let mut f = fl::szp(lo, size);
    if prod != sext(lo, size) as i64 as i128 {
        f |= CF | OF;
    }
    c.set_status(f);
    Ok(())
}

/// DIV and IDIV; #DE on a zero divisor or a quotient that does not fit. Flags unchanged.
pub fn div(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let d = c.read_op(p, i, 0, size)?;
    if d == 0 {
        return Err(exc(DE));
    }
    let bits = size * 8;
    let (lo_r, hi_r) = acc_regs(size);
    let (lo, hi) = if size == 1 {
        let ax = c.get_reg(Register::AX);
        (ax & 0xff, ax >> 8)
    } else {
        (c.get_reg(lo_r), c.get_reg(hi_r))
    };
    let (q, r) = if i.mnemonic() == Mnemonic::Idiv {
        let n = (((hi as u128) << bits) | lo as u128) as i128;
        let n = (n << (128 - 2 * bits)) >> (128 - 2 * bits); // sign-extend 2*bits
        let dd = sext(d, size) as i64 as i128;
        let q = n / dd;
        let r = n % dd;
        let max = (1i128 << (bits - 1)) - 1;
        let min = -(1i128 << (bits - 1));
        if q > max || q < min {
            return Err(exc(DE));
        }
        (trunc(q as u64, size), trunc(r as u64, size))
    } else {
        let n = ((hi as u128) << bits) | lo as u128;
        let q = n / d as u128;
        if q >> bits != 0 {
            return Err(exc(DE));
        }
        (q as u64, (n % d as u128) as u64)
    };
    if size == 1 {
        c.set_reg(Register::AX, (r << 8) | q);
    } else {
        c.set_reg(lo_r, q);
        c.set_reg(hi_r, r);
    }
    Ok(())
}

/// XADD.
pub fn xadd(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let a = c.read_op(p, i, 0, size)?;
    let b = c.get_reg(i.op1_register());
    let r = a.wrapping_add(b);
    // TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (SDM Vol 2C XADD): with one register as
    // both operands the sum wins. A memory destination is written first so a fault leaves
    // the source register unchanged.
    if i.op0_kind() == OpKind::Memory {
        c.write_op(p, i, 0, size, trunc(r, size))?;
        c.set_reg(i.op1_register(), a);
    } else {
        c.set_reg(i.op1_register(), a);
        c.set_reg(i.op0_register(), trunc(r, size));
    }
    c.set_status(fl::add(a, b, 0, r, size));
    Ok(())
}

/// CMPXCHG (the destination is always written, SDM Vol 2A CMPXCHG).
pub fn cmpxchg(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let (acc_r, _) = acc_regs(size);
    let dest = c.read_op(p, i, 0, size)?;
    let acc = c.get_reg(acc_r);
    let src = c.get_reg(i.op1_register());
    let r = acc.wrapping_sub(dest);
    let f = fl::sub(acc, dest, 0, r, size);
    if trunc(acc, size) == dest {
        c.write_op(p, i, 0, size, src)?;
    } else {
        if i.op0_kind() == OpKind::Memory {
            c.write_op(p, i, 0, size, dest)?;
        }
        c.set_reg(acc_r, dest);
    }
    c.set_status(f);
    Ok(())
}

/// CMPXCHG8B / CMPXCHG16B.
pub fn cmpxchg_wide(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let (seg, off) = c.ea(i);
    if i.mnemonic() == Mnemonic::Cmpxchg16b {
        if !c.cpuid.has(crate::Feature::Cx16) {
            return Err(UD_);
        }
        if off & 15 != 0 {
            return Err(GP0);
        }
        c.probe_write(p, seg, off, 16)?;
        let lo = c.read_mem(p, seg, off, 8)?;
        let hi = c.read_mem(p, seg, off + 8, 8)?;
        if lo == c.regs[0] && hi == c.regs[2] {
            c.write_mem(p, seg, off, 8, c.regs[3])?;
            c.write_mem(p, seg, off + 8, 8, c.regs[1])?;
            c.rflags |= ZF;
        } else {
            c.write_mem(p, seg, off, 8, lo)?;
            c.write_mem(p, seg, off + 8, 8, hi)?;
            c.regs[0] = lo;
            c.regs[2] = hi;
            c.rflags &= !ZF;
        }
        return Ok(());
    }
    if !c.cpuid.has(crate::Feature::Cx8) {
        return Err(UD_);
    }
    c.probe_write(p, seg, off, 8)?;
    let m = c.read_mem(p, seg, off, 8)?;
    let edx_eax = (c.regs[2] & 0xffff_ffff) << 32 | (c.regs[0] & 0xffff_ffff);
    if m == edx_eax {
        let ecx_ebx = (c.regs[1] & 0xffff_ffff) << 32 | (c.regs[3] & 0xffff_ffff);
        c.write_mem(p, seg, off, 8, ecx_ebx)?;
        c.rflags |= ZF;
    } else {
        c.write_mem(p, seg, off, 8, m)?;
        c.set_reg(Register::EAX, m & 0xffff_ffff);
        c.set_reg(Register::EDX, m >> 32);
        c.rflags &= !ZF;
    }
    Ok(())
}

/// ADCX (carry in/out through CF) and ADOX (through OF); other flags unchanged.
pub fn adcx_adox(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !c.cpuid.has(crate::Feature::Adx) {
        return Err(UD_);
    }
    let size = c.op_size(i, 0);
    let a = c.get_reg(i.op0_register());
    let b = c.read_op(p, i, 1, size)?;
    let flag = if i.mnemonic() == Mnemonic::Adcx { CF } else { OF };
    let cin = (c.rflags & flag != 0) as u128;
    let sum = a as u128 + b as u128 + cin;
    let bits = size * 8;
    c.set_reg(i.op0_register(), trunc(sum as u64, size));
    if sum >> bits != 0 {
        c.rflags |= flag;
    } else {
        c.rflags &= !flag;
    }
    Ok(())
}
