//! Control transfer: JMP/Jcc/CALL/RET (near and far), LOOP/JCXZ, INT/INT3/INTO/INT1/IRET,
//! flag instructions CLC/STC/CMC/CLD/STD/CLI/STI, HLT and UD (SDM Vol 2).

use super::operand::trunc;
use crate::cpu::{RunState, X86Cpu};
use crate::fault::{GP0, UD_, X};
use crate::intr::EventKind;
use crate::platform::X86Platform;
use crate::state::{flags::*, Mode, CS};
use iced_x86::{ConditionCode, Instruction, Mnemonic, OpKind};

impl X86Cpu {
    /// Evaluates a condition code against RFLAGS.
    #[inline]
    pub fn cond(&self, cc: ConditionCode) -> bool {
        let f = self.rflags;
        let (cf, zf, sf, of, pf) = (f & CF != 0, f & ZF != 0, f & SF != 0, f & OF != 0, f & PF != 0);
        match cc {
            ConditionCode::o => of,
            ConditionCode::no => !of,
            ConditionCode::b => cf,
            ConditionCode::ae => !cf,
            ConditionCode::e => zf,
            ConditionCode::ne => !zf,
            ConditionCode::be => cf || zf,
            ConditionCode::a => !cf && !zf,
            ConditionCode::s => sf,
            ConditionCode::ns => !sf,
            ConditionCode::p => pf,
            ConditionCode::np => !pf,
            ConditionCode::l => sf != of,
            ConditionCode::ge => sf == of,
            ConditionCode::le => zf || sf != of,
            ConditionCode::g => !zf && sf == of,
            ConditionCode::None => true,
        }
    }

    /// Sets RIP for a near transfer, checking the CS limit outside 64-bit mode and
    /// canonicality inside it.
    #[inline]
    pub(crate) fn near_target(&mut self, target: u64) -> X<()> {
        if self.mode == Mode::Long64 {
            if !crate::mem::canonical(target, self.la_bits()) {
                return Err(GP0);
            }
        } else if target > self.seg[CS].limit as u64 {
            return Err(GP0);
        }
        self.rip = target;
        Ok(())
    }
}

fn far_operand(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<(u16, u64, u64)> {
    if i.op0_kind() == OpKind::FarBranch16 || i.op0_kind() == OpKind::FarBranch32 {
        let size = if i.op0_kind() == OpKind::FarBranch16 { 2 } else { 4 };
        return Ok((i.far_branch_selector(), i.far_branch32() as u64, size));
    }
    // m16:16, m16:32 or m16:64.
    let size = match i.memory_size().size() {
        4 => 2,
        6 => 4,
        _ => 8,
    };
    let (seg, off) = c.ea(i);
    let ip = c.read_mem(p, seg, off, size)?;
    let sel = c.read_mem(p, seg, off.wrapping_add(size), 2)? as u16;
    Ok((sel, ip, size))
}

/// JMP (near and far).
pub fn jmp(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    match i.op0_kind() {
        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
            c.near_target(i.near_branch_target())
        }
        OpKind::FarBranch16 | OpKind::FarBranch32 => {
            let (sel, ip, size) = far_operand(c, p, i)?;
            c.far_jmp(p, sel, ip, size)
        }
        _ if i.is_jmp_far_indirect() => {
            let (sel, ip, size) = far_operand(c, p, i)?;
            c.far_jmp(p, sel, ip, size)
        }
        _ => {
            let size = c.stack_op_size(i);
            let t = c.read_op(p, i, 0, size)?;
            c.near_target(trunc(t, size))
        }
    }
}

/// Jcc.
pub fn jcc(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if c.cond(i.condition_code()) {
        c.near_target(i.near_branch_target())?;
    }
    Ok(())
}

/// CALL (near and far).
pub fn call(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    match i.op0_kind() {
        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
            let size = c.stack_op_size(i);
            let t = i.near_branch_target();
            let ret = c.rip;
            c.near_target(t)?;
            if let Err(e) = c.push(p, size, trunc(ret, size)) {
                c.rip = ret;
                return Err(e);
            }
            Ok(())
        }
        OpKind::FarBranch16 | OpKind::FarBranch32 => {
            let (sel, ip, size) = far_operand(c, p, i)?;
            c.far_call(p, sel, ip, size)
        }
        _ if i.is_call_far_indirect() => {
            let (sel, ip, size) = far_operand(c, p, i)?;
            c.far_call(p, sel, ip, size)
        }
        _ => {
            let size = c.stack_op_size(i);
            let t = trunc(c.read_op(p, i, 0, size)?, size);
            let ret = c.rip;
            c.near_target(t)?;
            if let Err(e) = c.push(p, size, trunc(ret, size)) {
                c.rip = ret;
                return Err(e);
            }
            Ok(())
        }
    }
}

/// RET near (with optional immediate).
pub fn ret(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.stack_op_size(i);
    let sp = c.regs[4];
    let t = c.pop(p, size)?;
    if let Err(e) = c.near_target(t) {
        c.regs[4] = sp;
        return Err(e);
    }
    if i.op_count() == 1 {
        let nsp = c.regs[4].wrapping_add(i.immediate(0));
        c.set_sp(nsp);
    }
    Ok(())
}

/// RETF.
pub fn retf(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.stack_op_size(i);
    let imm = if i.op_count() == 1 { i.immediate(0) } else { 0 };
    c.far_ret(p, size, imm)
}

/// LOOP, LOOPE, LOOPNE, JCXZ/JECXZ/JRCXZ (counter width = address size).
pub fn loop_(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let asize = match i.code().op_code().address_size() {
        16 => 2,
        32 => 4,
        _ => 8,
    };
    let cnt = trunc(c.regs[1], asize);
    let take = match i.mnemonic() {
        Mnemonic::Jcxz | Mnemonic::Jecxz | Mnemonic::Jrcxz => cnt == 0,
        m => {
            let n = trunc(cnt.wrapping_sub(1), asize);
            c.regs[1] = match asize {
                2 => (c.regs[1] & !0xffff) | n,
                4 => n,
                _ => n,
            };
            n != 0
                && match m {
                    Mnemonic::Loope => c.rflags & ZF != 0,
                    Mnemonic::Loopne => c.rflags & ZF == 0,
                    _ => true,
                }
        }
    };
    if take {
        c.near_target(i.near_branch_target())?;
    }
    Ok(())
}

/// INT n, INT3, INTO, INT1.
pub fn int(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    match i.mnemonic() {
        Mnemonic::Int => c.software_interrupt(p, i.immediate(0) as u8, EventKind::Software),
        Mnemonic::Int3 => c.software_interrupt(p, crate::fault::BP, EventKind::SoftException),
        Mnemonic::Into => {
            if c.mode == Mode::Long64 {
                return Err(UD_);
            }
            if c.rflags & OF != 0 {
                c.software_interrupt(p, crate::fault::OF, EventKind::SoftException)?;
            }
            Ok(())
        }
        _ => c.software_interrupt(p, crate::fault::DB, EventKind::Icebp),
    }
}

/// IRET/IRETD/IRETQ.
pub fn iret(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = match i.mnemonic() {
        Mnemonic::Iretq => 8,
        Mnemonic::Iretd => 4,
        _ => 2,
    };
    c.iret(p, size)
}

/// CLC, STC, CMC, CLD, STD, CLI, STI, CLAC, STAC.
pub fn flag_op(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let iopl = (c.rflags & IOPL) >> 12;
    match i.mnemonic() {
        Mnemonic::Clc => c.rflags &= !CF,
        Mnemonic::Stc => c.rflags |= CF,
        Mnemonic::Cmc => c.rflags ^= CF,
        Mnemonic::Cld => c.rflags &= !DF,
        Mnemonic::Std => c.rflags |= DF,
        Mnemonic::Cli | Mnemonic::Sti => {
            // IOPL-sensitive in protected mode (SDM Vol 2A CLI; no VME/PVI modelled).
            if c.mode != Mode::Real && c.cpl as u64 > iopl {
                return Err(GP0);
            }
            if i.mnemonic() == Mnemonic::Cli {
                c.rflags &= !IF;
            } else {
                if c.rflags & IF == 0 {
                    // STI shadow: interrupts are recognised after the next instruction.
                    c.shadow = 1;
                }
                c.rflags |= IF;
            }
        }
        Mnemonic::Clac | Mnemonic::Stac => {
            if !c.cpuid.has(crate::Feature::Smap) {
                return Err(UD_);
            }
            if c.cpl != 0 {
                return Err(UD_);
            }
            if i.mnemonic() == Mnemonic::Clac {
                c.rflags &= !AC;
            } else {
                c.rflags |= AC;
            }
        }
        _ => return Err(UD_),
    }
    Ok(())
}

/// HLT (privileged).
pub fn hlt(c: &mut X86Cpu, _p: &mut dyn X86Platform, _i: &Instruction) -> X<()> {
    if c.cpl != 0 {
        return Err(GP0);
    }
    c.state = RunState::Halted;
    c.stats.halts += 1;
    Ok(())
}
