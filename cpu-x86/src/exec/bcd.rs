//! Legacy decimal-adjust instructions DAA/DAS/AAA/AAS/AAM/AAD and BOUND (SDM Vol 2A; all are
//! invalid in 64-bit mode, where the decoder does not produce them).
//! Undefined-flag policy: AAA/AAS leave OF, SF, ZF, PF as computed from AL; AAM/AAD set SF, ZF,
//! PF from AL and clear OF, AF, CF; DAA/DAS leave OF as computed for the adjusted AL.

use super::flags as fl;
use crate::cpu::X86Cpu;
use crate::fault::{exc, BR, DE, X};
use crate::platform::X86Platform;
use crate::state::flags::*;
use iced_x86::{Instruction, Mnemonic, Register};

/// DAA, DAS (SDM Vol 2A pseudo-code).
pub fn daa_das(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let old_al = c.get_reg(Register::AL);
    let old_cf = c.rflags & CF != 0;
    let mut al = old_al;
    let mut cf = false;
    let mut af = false;
    let add = i.mnemonic() == Mnemonic::Daa;
    if (al & 0xf) > 9 || c.rflags & AF != 0 {
        if add {
            cf = old_cf || al + 6 > 0xff;
            al = (al + 6) & 0xff;
        } else {
            cf = old_cf || al < 6;
            al = al.wrapping_sub(6) & 0xff;
        }
        af = true;
    }
    if old_al > 0x99 || old_cf {
        al = if add { (al + 0x60) & 0xff } else { al.wrapping_sub(0x60) & 0xff };
        cf = true;
    }
    c.set_reg(Register::AL, al);
    let mut f = fl::szp(al, 1);
    if cf {
        f |= CF;
    }
    if af {
        f |= AF;
    }
    // OF: signed overflow of the adjustment as hardware reports it for the add/sub of the
    // correction (policy: computed on AL before/after).
    if add && (old_al ^ al) & al & 0x80 != 0 || !add && (old_al ^ al) & old_al & 0x80 != 0 {
        f |= OF;
    }
    c.set_status(f);
    Ok(())
}

/// AAA, AAS.
pub fn aaa_aas(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let mut ax = c.get_reg(Register::AX);
    let adjust = (ax & 0xf) > 9 || c.rflags & AF != 0;
    if adjust {
        if i.mnemonic() == Mnemonic::Aaa {
            ax = ax.wrapping_add(0x106);
        } else {
            let al = (ax & 0xff).wrapping_sub(6) & 0xff;
            let ah = ((ax >> 8).wrapping_sub(1)) & 0xff;
            ax = (ah << 8) | al;
        }
    }
    ax &= 0xff0f;
    c.set_reg(Register::AX, ax);
    let mut f = fl::szp(ax & 0xff, 1);
    if adjust {
        f |= AF | CF;
    }
    c.set_status(f);
    Ok(())
}

/// AAM imm8 (#DE for a zero base), AAD imm8.
pub fn aam_aad(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let base = i.immediate(0) & 0xff;
    let al;
    if i.mnemonic() == Mnemonic::Aam {
        if base == 0 {
            return Err(exc(DE));
        }
        let a = c.get_reg(Register::AL);
        al = a % base;
        c.set_reg(Register::AX, ((a / base) << 8) | al);
    } else {
        let ax = c.get_reg(Register::AX);
        al = ((ax & 0xff) + (ax >> 8) * base) & 0xff;
        c.set_reg(Register::AX, al);
    }
    c.set_status(fl::szp(al, 1));
    Ok(())
}

/// BOUND: #BR when the signed index is outside [lower, upper].
pub fn bound(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let size = c.op_size(i, 0);
    let idx = super::operand::sext(c.get_reg(i.op0_register()), size) as i64;
    let (seg, off) = c.ea(i);
    let lo = super::operand::sext(c.read_mem(p, seg, off, size)?, size) as i64;
    let hi = super::operand::sext(c.read_mem(p, seg, c.ea_wrap(off + size), size)?, size) as i64;
    if idx < lo || idx > hi {
        return Err(exc(BR));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::state::flags::*;
    use crate::testing::MockPlatform;
    use crate::{CpuidModel, X86Cpu};
    use sim_core::GuestPhys;

    fn real(code: &[u8], ax: u64, flags: u64) -> X86Cpu {
        let mut p = MockPlatform::new(1 << 20);
        p.ram.write(GuestPhys(0x7c00), code);
        let mut c = X86Cpu::new(CpuidModel::new("max", &[]).unwrap(), 0, true, 1);
        c.seg[crate::state::CS] = crate::state::Segment::real(0);
        c.rip = 0x7c00;
        c.update_mode();
        c.regs[0] = ax;
        c.rflags |= flags;
        c.step(&mut p);
        c
    }

    #[test]
    fn daa_das_examples_from_the_sdm() {
        // ADD 0x79 + 0x35 = 0xAE; DAA -> 0x14, CF=1, AF=1 (SDM Vol 2A DAA example).
        let c = real(&[0x27], 0xae, 0);
        assert_eq!(c.regs[0] & 0xff, 0x14);
        assert_ne!(c.rflags & CF, 0);
        assert_ne!(c.rflags & AF, 0);
        // SUB 0x35 - 0x47 = 0xEE with CF=AF=1; DAS -> 0x88, CF=1 (SDM Vol 2A DAS example).
        let c = real(&[0x2f], 0xee, CF | AF);
        assert_eq!(c.regs[0] & 0xff, 0x88);
        assert_ne!(c.rflags & CF, 0);
    }

    #[test]
    fn aaa_aam_aad() {
        // AAA after 0x09 + 0x08 = 0x11 with AF=1 -> AX = 0x0107.
        let c = real(&[0x37], 0x0011, AF);
        assert_eq!(c.regs[0] & 0xffff, 0x0107);
        assert_ne!(c.rflags & CF, 0);
        // AAM 10: AL=0x3f (63) -> AH=6, AL=3.
        let c = real(&[0xd4, 0x0a], 0x3f, 0);
        assert_eq!(c.regs[0] & 0xffff, 0x0603);
        // AAD 10: AX=0x0603 -> AL=63, AH=0.
        let c = real(&[0xd5, 0x0a], 0x0603, 0);
        assert_eq!(c.regs[0] & 0xffff, 0x003f);
        // AAM 0 -> #DE.
        let c = real(&[0xd4, 0x00], 0x3f, 0);
        assert_eq!(c.stats.exceptions[crate::fault::DE as usize], 1);
    }
}
