//! Branches and exception return (Arm ARM C4.1.3; semantics C6.2).

use super::{bit, bits, cond_holds, sext};
use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;

type R = Result<(), Exc>;

/// B, BL (C6.2.26, C6.2.34): imm26 words; BL writes the return address to x30.
pub fn b_imm(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let off = sext((bits(i, 25, 0) as u64) << 2, 28);
    if bit(i, 31) {
        c.x[30] = c.pc.wrapping_add(4);
    }
    c.npc = c.pc.wrapping_add(off);
    Ok(())
}

/// B.cond (C6.2.27): imm19 words.
pub fn b_cond(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    if bit(i, 4) {
        return Err(Exc::undef()); // BC.cond (FEAT_HBC) is not implemented
    }
    if cond_holds(bits(i, 3, 0), c.nzcv) {
        c.npc = c.pc.wrapping_add(sext((bits(i, 23, 5) as u64) << 2, 21));
    }
    Ok(())
}

/// CBZ/CBNZ (C6.2.47-48).
pub fn cb(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let v = c.xr(bits(i, 4, 0));
    let v = if bit(i, 31) { v } else { v & 0xffff_ffff };
    if (v == 0) != bit(i, 24) {
        c.npc = c.pc.wrapping_add(sext((bits(i, 23, 5) as u64) << 2, 21));
    }
    Ok(())
}

/// TBZ/TBNZ (C6.2.349-350): bit b5:b40 of Rt.
pub fn tb(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    let b = (bits(i, 31, 31) << 5) | bits(i, 23, 19);
    let set = (c.xr(bits(i, 4, 0)) >> b) & 1 != 0;
    if set == bit(i, 24) {
        c.npc = c.pc.wrapping_add(sext((bits(i, 18, 5) as u64) << 2, 16));
    }
    Ok(())
}

/// BR, BLR, RET (C6.2.37, C6.2.35, C6.2.219); the pointer-authentication forms are not
/// implemented (FEAT_PAuth not advertised) and decode as UNDEFINED.
pub fn br_reg(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    if bits(i, 15, 10) != 0 || bits(i, 4, 0) != 0 {
        return Err(Exc::undef());
    }
    let target = c.xr(bits(i, 9, 5));
    match bits(i, 24, 21) {
        0 | 2 => {}
        1 => c.x[30] = c.pc.wrapping_add(4),
        _ => return Err(Exc::undef()),
    }
    c.npc = target;
    Ok(())
}

/// ERET (C6.2.85).
pub fn eret(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, i: u32) -> R {
    if i != 0xd69f_03e0 {
        return Err(Exc::undef()); // ERETAA/ERETAB (FEAT_PAuth) not implemented
    }
    c.eret()
}
