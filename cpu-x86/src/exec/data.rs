//! Data movement: MOV (general and segment registers), MOVZX/MOVSX/MOVSXD, LEA, XCHG,
//! PUSH/POP (incl. segment registers, PUSHA/POPA, PUSHF/POPF), CBW-family, CWD-family, CMOVcc,
//! SETcc, LAHF/SAHF, XLAT, ENTER/LEAVE, LDS/LES/LFS/LGS/LSS, RDRAND/RDSEED (SDM Vol 2).

use super::operand::{sext, sreg, trunc};
use crate::cpu::X86Cpu;
use crate::fault::{UD_, X};
use crate::platform::X86Platform;
use crate::state::{flags::*, Mode, SS};
use iced_x86::{Instruction, Mnemonic, OpKind, Register};

/// MOV between general registers, memory, immediates and segment registers.
pub fn mov(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if i.op0_kind() == OpKind::Register && i.op0_register().is_segment_register() {
        let r = i.op0_register();
        if r == Register::CS {
            return Err(UD_);
        }
        let sel = c.read_op(p, i, 1, 2)? as u16;
        return c.load_seg(p, sreg(r), sel);
    }
    if i.op1_kind() == OpKind::Register && i.op1_register().is_segment_register() {
        let sel = c.seg[sreg(i.op1_register())].selector as u64;
        // To a register: zero-extended to the operand size; to memory: 16 bits.
        let size = if i.op0_kind() == OpKind::Memory { 2 } else { c.op_size(i, 0) };
        return c.write_op(p, i, 0, size, sel);
    }
    let size = c.op_size(i, 0);
    let v = c.read_op(p, i, 1, size)?;
    c.write_op(p, i, 0, size, v)
}

/// MOVZX, MOVSX, MOVSXD.
pub fn movx(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let dsize = c.op_size(i, 0);
    let ssize = c.op_size(i, 1);
    let v = c.read_op(p, i, 1, ssize)?;
    let r = if i.mnemonic() == Mnemonic::Movzx { v } else { sext(v, ssize) };
    c.set_reg(i.op0_register(), trunc(r, dsize));
    Ok(())
}

/// LEA: the offset, truncated to the operand size.
pub fn lea(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let (_, off) = c.ea(i);
    let size = c.op_size(i, 0);
    c.set_reg(i.op0_register(), trunc(off, size));
    Ok(())
}

/// XCHG.
pub fn xchg(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let a = c.read_op(p, i, 0, size)?;
    let b = c.read_op(p, i, 1, size)?;
    if i.op0_kind() == OpKind::Memory {
        c.write_op(p, i, 0, size, b)?;
        c.write_op(p, i, 1, size, a)
    } else {
        c.write_op(p, i, 1, size, a)?;
        c.write_op(p, i, 0, size, b)
    }
}

/// PUSH r/m/imm/Sreg.
pub fn push(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.stack_op_size(i);
    let v = match i.op0_kind() {
        OpKind::Register if i.op0_register().is_segment_register() => {
            c.seg[sreg(i.op0_register())].selector as u64
        }
        OpKind::Register => c.get_reg(i.op0_register()),
        OpKind::Memory => c.read_op(p, i, 0, size)?,
        _ => trunc(i.immediate(0), size),
    };
    c.push(p, size, v)
}

/// POP r/m/Sreg.
pub fn pop(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.stack_op_size(i);
    let sp = c.regs[4];
    let r = (|| {
        let v = c.pop(p, size)?;
        match i.op0_kind() {
            OpKind::Register if i.op0_register().is_segment_register() => {
                c.load_seg(p, sreg(i.op0_register()), v as u16)
            }
            OpKind::Register => {
                c.set_reg(i.op0_register(), v);
                Ok(())
            }
            // The address is computed after RSP is incremented (SDM Vol 2B POP).
            _ => c.write_op(p, i, 0, size, v),
        }
    })();
    if r.is_err() {
        c.regs[4] = sp;
    }
    r
}

/// PUSHA/PUSHAD.
pub fn pusha(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = if i.mnemonic() == Mnemonic::Pushad { 4 } else { 2 };
    let sp0 = c.regs[4];
    for r in 0..8 {
        let v = if r == 4 { sp0 } else { c.regs[r] };
        if let Err(e) = c.push(p, size, trunc(v, size)) {
            c.regs[4] = sp0;
            return Err(e);
        }
    }
    Ok(())
}

/// POPA/POPAD (the saved SP is discarded).
pub fn popa(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = if i.mnemonic() == Mnemonic::Popad { 4 } else { 2 };
    let sp0 = c.regs[4];
    let mut vals = [0u64; 8];
    for r in (0..8).rev() {
        match c.pop(p, size) {
            Ok(v) => vals[r] = v,
            Err(e) => {
                c.regs[4] = sp0;
                return Err(e);
            }
        }
    }
    let regs16 = [
        Register::AX,
        Register::CX,
        Register::DX,
        Register::BX,
        Register::SP,
        Register::BP,
        Register::SI,
        Register::DI,
    ];
    let regs32 = [
        Register::EAX,
        Register::ECX,
        Register::EDX,
        Register::EBX,
        Register::ESP,
        Register::EBP,
        Register::ESI,
        Register::EDI,
    ];
    for r in 0..8 {
        if r != 4 {
            c.set_reg(if size == 4 { regs32[r] } else { regs16[r] }, vals[r]);
        }
    }
    Ok(())
}

/// PUSHF/PUSHFD/PUSHFQ (RF and VM read as zero in the image).
pub fn pushf(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.stack_op_size(i);
    c.push(p, size, trunc(c.rflags & !(RF | VM), size))
}

/// POPF/POPFD/POPFQ.
pub fn popf(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.stack_op_size(i);
    let v = c.pop(p, size)?;
    c.set_flags_iret(v, size);
    c.rflags &= !RF;
    Ok(())
}

/// CBW/CWDE/CDQE and CWD/CDQ/CQO.
pub fn convert(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    match i.mnemonic() {
        Mnemonic::Cbw => c.set_reg(Register::AX, sext(c.regs[0], 1)),
        Mnemonic::Cwde => c.set_reg(Register::EAX, sext(c.regs[0], 2)),
        Mnemonic::Cdqe => c.regs[0] = sext(c.regs[0], 4),
        Mnemonic::Cwd => c.set_reg(Register::DX, sext(c.regs[0], 2) >> 16),
        Mnemonic::Cdq => c.set_reg(Register::EDX, sext(c.regs[0], 4) >> 32),
        _ => c.regs[2] = ((c.regs[0] as i64) >> 63) as u64,
    }
    Ok(())
}

/// CMOVcc: a 32-bit destination is zero-extended even when the condition is false.
pub fn cmov(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let v = c.read_op(p, i, 1, size)?;
    if c.cond(i.condition_code()) {
        c.set_reg(i.op0_register(), v);
    } else if size == 4 {
        let r = i.op0_register();
        let cur = c.get_reg(r);
        c.set_reg(r, cur);
    }
    Ok(())
}

/// SETcc.
pub fn setcc(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let v = c.cond(i.condition_code()) as u64;
    c.write_op(p, i, 0, 1, v)
}

/// LAHF/SAHF (in 64-bit mode only with CPUID LAHF-SAHF).
pub fn lahf_sahf(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if c.mode == Mode::Long64 && !c.cpuid.has(crate::Feature::LahfLm) {
        return Err(UD_);
    }
    let m = SF | ZF | AF | PF | CF;
    if i.mnemonic() == Mnemonic::Lahf {
        c.set_reg(Register::AH, (c.rflags & m) | 2);
    } else {
        let ah = c.get_reg(Register::AH);
        c.rflags = (c.rflags & !m) | (ah & m);
    }
    Ok(())
}

/// XLAT: AL = [seg:rBX + AL].
pub fn xlat(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let (seg, _) = c.ea(i);
    let asize = i.memory_base().size() as u64;
    let off = trunc(c.regs[3].wrapping_add(c.regs[0] & 0xff), asize);
    let v = c.read_mem(p, seg, off, 1)?;
    c.set_reg(Register::AL, v);
    Ok(())
}

/// ENTER (nesting level honoured) and LEAVE.
pub fn enter_leave(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.stack_op_size(i);
    let bp_mask = c.sp_mask();
    let sp0 = c.regs[4];
    let bp0 = c.regs[5];
    let r = (|| {
        if i.mnemonic() == Mnemonic::Leave {
            let sp = c.regs[5] & bp_mask;
            c.set_sp(sp);
            let v = c.pop(p, size)?;
            c.set_reg(
                match size {
                    2 => Register::BP,
                    4 => Register::EBP,
                    _ => Register::RBP,
                },
                v,
            );
            return Ok(());
        }
        let alloc = i.immediate(0) & 0xffff;
        let level = i.immediate(1) & 0x1f;
        c.push(p, size, trunc(c.regs[5], size))?;
        let frame = c.regs[4] & bp_mask;
        if level > 0 {
            let mut bp = c.regs[5] & bp_mask;
            for _ in 1..level {
                bp = bp.wrapping_sub(size) & bp_mask;
                let v = c.read_mem(p, SS, bp, size)?;
                c.push(p, size, v)?;
            }
            c.push(p, size, frame)?;
        }
        c.set_reg(
            match size {
                2 => Register::BP,
                4 => Register::EBP,
                _ => Register::RBP,
            },
            frame,
        );
        let sp = (c.regs[4] & bp_mask).wrapping_sub(alloc);
        // The new stack top must be writable (touch it as ENTER does).
        c.probe_write(p, SS, sp & bp_mask, 1)?;
        c.set_sp(sp);
        Ok(())
    })();
    if r.is_err() {
        c.regs[4] = sp0;
        c.regs[5] = bp0;
    }
    r
}

/// LDS, LES, LFS, LGS, LSS: load a far pointer.
pub fn lxs(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let (seg, off) = c.ea(i);
    let v = c.read_mem(p, seg, off, size)?;
    let sel = c.read_mem(p, seg, off.wrapping_add(size), 2)? as u16;
    let s = match i.mnemonic() {
        Mnemonic::Lds => crate::state::DS,
        Mnemonic::Les => crate::state::ES,
        Mnemonic::Lfs => crate::state::FS,
        Mnemonic::Lgs => crate::state::GS,
        _ => SS,
    };
    c.load_seg(p, s, sel)?;
    c.set_reg(i.op0_register(), v);
    Ok(())
}

/// RDRAND/RDSEED from a deterministic per-CPU generator (xorshift64*), always successful:
/// CF=1 and the other status flags clear (SDM Vol 2B RDRAND).
pub fn rdrand(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let f = if i.mnemonic() == Mnemonic::Rdrand { crate::Feature::Rdrand } else { crate::Feature::Rdseed };
    if !c.cpuid.has(f) {
        return Err(UD_);
    }
    let mut x = c.rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c.rng = x;
    let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
    c.set_reg(i.op0_register(), v);
    c.set_status(CF);
    Ok(())
}
