//! Loads and stores of general-purpose registers (Arm ARM C4.1.4; semantics C6.2): single
//! registers with every addressing mode, pairs, unprivileged forms, exclusives and
//! load-acquire/store-release.

use super::{bit, bits, extend, sext};
use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::platform::Arm64Platform;

type R = Result<(), Exc>;

/// The base register, checking SP alignment when SP is the base and SCTLR_ELx.SA (or SA0 at
/// EL0) is set (D1.3.4).
pub(super) fn base(c: &Arm64Cpu, rn: u32) -> Result<u64, Exc> {
    let v = c.xsp(rn);
    if rn == 31 && v & 15 != 0 {
        let sa = if c.el == 0 { c.el0_sctlr() & (1 << 4) } else { c.sys.sctlr[c.el as usize] & (1 << 3) };
        if sa != 0 {
            return Err(Exc::sp_align());
        }
    }
    Ok(v)
}

/// Loads and stores of one register (C4.1.4 "Load/store register" classes): literal,
/// unscaled immediate, immediate post/pre-indexed, unprivileged, register offset, and
/// unsigned immediate.
pub fn single(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let rt = bits(i, 4, 0);
    if bits(i, 29, 27) == 0b011 {
        // LDR (literal) / LDRSW (literal) / PRFM (literal): opc in bits 31:30.
        let addr = c.pc.wrapping_add(sext((bits(i, 23, 5) as u64) << 2, 21));
        return match bits(i, 31, 30) {
            0 => {
                let v = c.read(p, addr, 4, false, false)?;
                c.set_xr(rt, v);
                Ok(())
            }
            1 => {
                let v = c.read(p, addr, 8, false, false)?;
                c.set_xr(rt, v);
                Ok(())
            }
            2 => {
                let v = c.read(p, addr, 4, false, false)?;
                c.set_xr(rt, sext(v, 32));
                Ok(())
            }
            _ => Ok(()),
        };
    }
    let size = bits(i, 31, 30);
    let opc = bits(i, 23, 22);
    let rn = bits(i, 9, 5);
    let bytes = 1u64 << size;
    let (addr, wb, unpriv) = if bit(i, 24) {
        // Unsigned offset, scaled.
        (base(c, rn)?.wrapping_add((bits(i, 21, 10) as u64) << size), None, false)
    } else if bit(i, 21) {
        if bits(i, 11, 10) != 0b10 {
            return Err(Exc::undef()); // atomic memory operations (FEAT_LSE) not implemented
        }
        // Register offset: option, S (shift by size).
        let option = bits(i, 15, 13);
        if option & 2 == 0 {
            return Err(Exc::undef());
        }
        let sh = if bit(i, 12) { size } else { 0 };
        let off = extend(c.xr(bits(i, 20, 16)), option, sh);
        (base(c, rn)?.wrapping_add(off), None, false)
    } else {
        let imm9 = sext(bits(i, 20, 12) as u64, 9);
        let b = base(c, rn)?;
        match bits(i, 11, 10) {
            0 => (b.wrapping_add(imm9), None, false),
            1 => (b, Some(b.wrapping_add(imm9)), false),
            3 => (b.wrapping_add(imm9), Some(b.wrapping_add(imm9)), false),
            // LDTR/STTR: EL0 permissions when executed at EL1, or at EL2 with
            // {E2H, TGE} = {1, 1} (C6.2.142, FEAT_VHE), unless PSTATE.UAO (FEAT_UAO).
            _ => (b.wrapping_add(imm9), None, (c.el == 1 || (c.el == 2 && c.sys.in_host())) && !c.uao),
        }
    };
    // Writeback with Rt == Rn is CONSTRAINED UNPREDICTABLE (C6.2.131): loads write the
    // loaded value last, stores store the register's value from before the writeback.
    match opc {
        0 => {
            // Store.
            let v = c.xr(rt);
            c.write(p, addr, bytes, v, false, unpriv)?;
        }
        1 => {
            let v = c.read(p, addr, bytes, false, unpriv)?;
            if let Some(nb) = wb {
                c.set_xsp(rn, nb);
            }
            c.set_xr(rt, v);
            return Ok(());
        }
        _ => {
            // Sign-extending loads: opc 2 to 64 bits, 3 to 32 bits; size 3 opc 2 is PRFM.
            if size == 3 {
                return if opc == 2 { Ok(()) } else { Err(Exc::undef()) };
            }
            if size == 2 && opc == 3 {
                return Err(Exc::undef());
            }
            let v = c.read(p, addr, bytes, false, unpriv)?;
            let v = sext(v, 8 * bytes as u32);
            let v = if opc == 3 { v & 0xffff_ffff } else { v };
            if let Some(nb) = wb {
                c.set_xsp(rn, nb);
            }
            c.set_xr(rt, v);
            return Ok(());
        }
    }
    if let Some(nb) = wb {
        c.set_xsp(rn, nb);
    }
    Ok(())
}

/// LDP/STP/LDPSW/LDNP/STNP (C6.2.130, C6.2.273, C6.2.133): signed offset, pre- and
/// post-indexed.
pub fn pair(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let opc = bits(i, 31, 30);
    let load = bit(i, 22);
    let mode = bits(i, 24, 23); // 0 no-allocate, 1 post, 2 offset, 3 pre
    let (bytes, signed) = match opc {
        0 => (4u64, false),
        1 if load => (4, true),
        2 => (8, false),
        _ => return Err(Exc::undef()),
    };
    if signed && mode == 0 {
        return Err(Exc::undef());
    }
    let rt = bits(i, 4, 0);
    let rt2 = bits(i, 14, 10);
    let rn = bits(i, 9, 5);
    let off = sext(bits(i, 21, 15) as u64, 7).wrapping_mul(bytes);
    let b = base(c, rn)?;
    let addr = if mode == 1 { b } else { b.wrapping_add(off) };
    if load {
        let a = c.read(p, addr, bytes, false, false)?;
        let d = c.read(p, addr.wrapping_add(bytes), bytes, false, false)?;
        let (a, d) = if signed { (sext(a, 32), sext(d, 32)) } else { (a, d) };
        if mode == 1 || mode == 3 {
            c.set_xsp(rn, b.wrapping_add(off));
        }
        c.set_xr(rt, a);
        c.set_xr(rt2, d);
    } else {
        let (a, d) = (c.xr(rt), c.xr(rt2));
        // Both halves are checked before either is written (the pair is one access).
        c.translate(p, addr, crate::mmu::Acc::Write)?;
        c.translate(p, addr.wrapping_add(2 * bytes - 1), crate::mmu::Acc::Write)?;
        c.write(p, addr, bytes, a, false, false)?;
        c.write(p, addr.wrapping_add(bytes), bytes, d, false, false)?;
        if mode == 1 || mode == 3 {
            c.set_xsp(rn, b.wrapping_add(off));
        }
    }
    Ok(())
}

/// Exclusives and load-acquire/store-release (C4.1.4 "Load/store exclusive"): LDXR/LDAXR,
/// STXR/STLXR, LDXP/STXP pairs, LDAR/STLR. The local monitor holds the physical address
/// and size marked by the last load-exclusive (B2.9); it is cleared by CLREX, a store
/// exclusive, an exception entry or return, and at the end of every scheduling quantum (the
/// machine interleaves CPUs only between quanta, so another CPU's store can only happen then).
pub fn exclusive(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let size = bits(i, 31, 30);
    let o2 = bit(i, 23);
    let load = bit(i, 22);
    let o1 = bit(i, 21);
    let rs = bits(i, 20, 16);
    let rt2 = bits(i, 14, 10);
    let rn = bits(i, 9, 5);
    let rt = bits(i, 4, 0);
    let bytes = 1u64 << size;
    let addr = base(c, rn)?;
    if o2 {
        // LDAR/STLR (o1 = 0). o1 = 1 is CAS (exec::atomic) and LDLAR/STLLR (FEAT_LOR, not
        // implemented) decode to other opcodes, so neither is routed here.
        if o1 {
            return Err(Exc::undef());
        }
        if load {
            let v = c.read(p, addr, bytes, true, false)?;
            c.set_xr(rt, v);
        } else {
            let v = c.xr(rt);
            c.write(p, addr, bytes, v, true, false)?;
        }
        return Ok(());
    }
    // Pairs (o1 = 1) exist for 32- and 64-bit registers only.
    if o1 && size < 2 {
        return Err(Exc::undef());
    }
    let total = if o1 { bytes * 2 } else { bytes };
    if load {
        let pa = c.data_pa(p, addr, false)?;
        let (a, d) = if o1 {
            if addr & (total - 1) != 0 {
                return Err(Exc::data_abort(addr, crate::exception::fsc::ALIGNMENT, false));
            }
            (c.read(p, addr, bytes, true, false)?, c.read(p, addr.wrapping_add(bytes), bytes, true, false)?)
        } else {
            (c.read(p, addr, bytes, true, false)?, 0)
        };
        c.excl = Some((pa, total as u8));
        c.set_xr(rt, a);
        if o1 {
            c.set_xr(rt2, d);
        }
    } else {
        if addr & (total - 1) != 0 {
            return Err(Exc::data_abort(addr, crate::exception::fsc::ALIGNMENT, true));
        }
        // The store is checked for faults whether or not it would succeed (B2.9.3).
        let pa = c.data_pa(p, addr, true)?;
        let ok = c.excl == Some((pa, total as u8));
        c.excl = None;
        if ok {
            if o1 {
                let (a, d) = (c.xr(rt), c.xr(rt2));
                c.write(p, addr, bytes, a, true, false)?;
                c.write(p, addr.wrapping_add(bytes), bytes, d, true, false)?;
            } else {
                let v = c.xr(rt);
                c.write(p, addr, bytes, v, true, false)?;
            }
        }
        c.set_xr(rs, (!ok) as u64);
    }
    Ok(())
}
