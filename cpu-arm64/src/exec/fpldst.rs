//! SIMD&FP loads and stores (Arm ARM C4.1.4 classes with V = 1; C7.2 pages): LDR/STR of
//! B/H/S/D/Q with every addressing mode, LDUR/STUR, LDP/STP/LDNP/STNP, LDR (literal), and
//! the Advanced SIMD structure loads and stores LD1-LD4/ST1-ST4 (multiple structures),
//! single structures and LD1R-LD4R, with post-indexing. Accesses go through the MMU
//! element by element; a 128-bit access is two 64-bit halves after a 16-byte alignment
//! check where alignment is required (SCTLR_ELx.A or Device memory, B2.5.2).

use super::fp::{elt, set_elt};
// The base register with the SP alignment check (D1.3.4), as for integer loads.
use super::ldst::base;
use super::{bit, bits, extend, sext};
use crate::cpu::Arm64Cpu;
use crate::exception::{fsc, Exc};
use crate::mmu::Acc;
use crate::platform::Arm64Platform;

type R = Result<(), Exc>;

/// Alignment check of a 16-byte access (the 8-byte halves check only 8 bytes).
fn check16(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, va: u64, write: bool) -> R {
    if va & 15 == 0 {
        return Ok(());
    }
    let strict = c.sys.sctlr[c.el.max(1) as usize] & 2 != 0;
    let t = c.translate(p, va, if write { Acc::Write } else { Acc::Read })?;
    if strict || t.device {
        return Err(Exc::data_abort(va, fsc::ALIGNMENT, write));
    }
    Ok(())
}

/// Reads `bytes` (1..16) at `va`.
pub(crate) fn mread(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, va: u64, bytes: u64) -> Result<u128, Exc> {
    if bytes == 16 {
        check16(c, p, va, false)?;
        let lo = c.read(p, va, 8, false, false)?;
        let hi = c.read(p, va.wrapping_add(8), 8, false, false)?;
        return Ok((hi as u128) << 64 | lo as u128);
    }
    Ok(c.read(p, va, bytes, false, false)? as u128)
}

/// Writes `bytes` (1..16) at `va`.
pub(crate) fn mwrite(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, va: u64, bytes: u64, v: u128) -> R {
    if bytes == 16 {
        check16(c, p, va, true)?;
        // Both halves are checked before either is written.
        c.translate(p, va.wrapping_add(15), Acc::Write)?;
        c.write(p, va, 8, v as u64, false, false)?;
        return c.write(p, va.wrapping_add(8), 8, (v >> 64) as u64, false, false);
    }
    c.write(p, va, bytes, v as u64, false, false)
}

/// The access size of LDR (literal) and LDP/STP (SIMD&FP): opc 00 S, 01 D, 10 Q.
fn opc_bytes(i: u32) -> Result<u64, Exc> {
    match bits(i, 31, 30) {
        0 => Ok(4),
        1 => Ok(8),
        2 => Ok(16),
        _ => Err(Exc::undef()),
    }
}

/// The low `bytes` bytes of a register: what a store of that size writes.
fn low_bytes(v: u128, bytes: u64) -> u128 {
    let m = if bytes == 16 { u128::MAX } else { (1u128 << (8 * bytes)) - 1 };
    v & m
}

/// Loads element `idx` (`esize` bits) of `regs[t]` from `a`, or stores it there.
fn xfer_elt(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    regs: &mut [u128; 32],
    t: u32,
    idx: u32,
    esize: u32,
    a: u64,
    load: bool,
) -> R {
    let ebytes = (esize / 8) as u64;
    if load {
        let v = c.read(p, a, ebytes, false, false)?;
        regs[t as usize] = set_elt(regs[t as usize], idx, esize, v);
    } else {
        let v = elt(regs[t as usize], idx, esize);
        c.write(p, a, ebytes, v, false, false)?;
    }
    Ok(())
}

/// Entry for every load/store encoding with V = 1 (op0 = x1x0, bit 26 set).
pub fn ldst(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    c.check_fp()?;
    match bits(i, 29, 27) {
        0b001 if !bit(i, 31) && !bit(i, 25) => structures(c, p, i),
        0b011 if !bit(i, 24) => literal(c, p, i),
        0b101 => pair(c, p, i),
        0b111 => single(c, p, i),
        _ => Err(Exc::undef()),
    }
}

/// LDR (literal, SIMD&FP): opc 00 S, 01 D, 10 Q.
fn literal(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let bytes = opc_bytes(i)?;
    if bits(i, 25, 24) != 0 {
        return Err(Exc::undef());
    }
    let addr = c.pc.wrapping_add(sext((bits(i, 23, 5) as u64) << 2, 21));
    let v = mread(c, p, addr, bytes)?;
    c.v[bits(i, 4, 0) as usize] = v;
    Ok(())
}

/// LDP/STP/LDNP/STNP (SIMD&FP): opc 00 S, 01 D, 10 Q.
fn pair(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let bytes = opc_bytes(i)?;
    if bit(i, 25) {
        return Err(Exc::undef());
    }
    let load = bit(i, 22);
    let mode = bits(i, 24, 23);
    let (rt, rt2, rn) = (bits(i, 4, 0), bits(i, 14, 10), bits(i, 9, 5));
    let off = sext(bits(i, 21, 15) as u64, 7).wrapping_mul(bytes);
    let b = base(c, rn)?;
    let addr = if mode == 1 { b } else { b.wrapping_add(off) };
    if load {
        let a = mread(c, p, addr, bytes)?;
        let d = mread(c, p, addr.wrapping_add(bytes), bytes)?;
        c.v[rt as usize] = a;
        c.v[rt2 as usize] = d;
    } else {
        let (a, d) = (low_bytes(c.v[rt as usize], bytes), low_bytes(c.v[rt2 as usize], bytes));
        c.translate(p, addr, Acc::Write)?;
        c.translate(p, addr.wrapping_add(2 * bytes - 1), Acc::Write)?;
        mwrite(c, p, addr, bytes, a)?;
        mwrite(c, p, addr.wrapping_add(bytes), bytes, d)?;
    }
    if mode == 1 || mode == 3 {
        c.set_xsp(rn, b.wrapping_add(off));
    }
    Ok(())
}

/// LDR/STR/LDUR/STUR (SIMD&FP) of B, H, S, D, Q: unsigned offset, unscaled, pre/post-index,
/// register offset.
fn single(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    if bit(i, 25) {
        return Err(Exc::undef());
    }
    let size = bits(i, 31, 30);
    let opc = bits(i, 23, 22);
    let scale = if opc & 2 != 0 {
        if size != 0 {
            return Err(Exc::undef());
        }
        4
    } else {
        size
    };
    let load = opc & 1 != 0;
    let bytes = 1u64 << scale;
    let (rt, rn) = (bits(i, 4, 0), bits(i, 9, 5));
    let (addr, wb) = if bit(i, 24) {
        (base(c, rn)?.wrapping_add((bits(i, 21, 10) as u64) << scale), None)
    } else if bit(i, 21) {
        if bits(i, 11, 10) != 0b10 {
            return Err(Exc::undef());
        }
        let option = bits(i, 15, 13);
        if option & 2 == 0 {
            return Err(Exc::undef());
        }
        let sh = if bit(i, 12) { scale } else { 0 };
        let off = extend(c.xr(bits(i, 20, 16)), option, sh);
        (base(c, rn)?.wrapping_add(off), None)
    } else {
        let imm9 = sext(bits(i, 20, 12) as u64, 9);
        let b = base(c, rn)?;
        match bits(i, 11, 10) {
            0 => (b.wrapping_add(imm9), None),
            1 => (b, Some(b.wrapping_add(imm9))),
            3 => (b.wrapping_add(imm9), Some(b.wrapping_add(imm9))),
            _ => return Err(Exc::undef()), // no unprivileged SIMD&FP forms
        }
    };
    if load {
        let v = mread(c, p, addr, bytes)?;
        c.v[rt as usize] = v;
    } else {
        let v = low_bytes(c.v[rt as usize], bytes);
        mwrite(c, p, addr, bytes, v)?;
    }
    if let Some(nb) = wb {
        c.set_xsp(rn, nb);
    }
    Ok(())
}

/// Advanced SIMD load/store multiple structures, single structures and load-and-replicate
/// (C4.1.4; pseudocode of LD1-LD4/ST1-ST4 (multiple/single) and LD1R-LD4R).
fn structures(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let q = bit(i, 30);
    let load = bit(i, 22);
    let post = bit(i, 23);
    let rm = bits(i, 20, 16);
    let (rt, rn) = (bits(i, 4, 0), bits(i, 9, 5));
    let size = bits(i, 11, 10);
    let datasize: u32 = if q { 128 } else { 64 };
    if !post && rm != 0 {
        return Err(Exc::undef());
    }
    let b = base(c, rn)?;
    let mut regs = c.v;
    let mut offs: u64 = 0;
    if !bit(i, 24) {
        // Multiple structures.
        if bit(i, 21) {
            return Err(Exc::undef());
        }
        let (rpt, selem) = match bits(i, 15, 12) {
            0b0000 => (1, 4),
            0b0010 => (4, 1),
            0b0100 => (1, 3),
            0b0110 => (3, 1),
            0b0111 => (1, 1),
            0b1000 => (1, 2),
            0b1010 => (2, 1),
            _ => return Err(Exc::undef()),
        };
        if size == 3 && !q && selem != 1 {
            return Err(Exc::undef());
        }
        let esize = 8u32 << size;
        let ebytes = (esize / 8) as u64;
        let elements = datasize / esize;
        for r in 0..rpt {
            for e in 0..elements {
                let mut tt = (rt + r) % 32;
                for _ in 0..selem {
                    xfer_elt(c, p, &mut regs, tt, e, esize, b.wrapping_add(offs), load)?;
                    offs += ebytes;
                    tt = (tt + 1) % 32;
                }
            }
        }
        if load && !q {
            for r in 0..rpt * selem {
                let t = ((rt + r) % 32) as usize;
                regs[t] &= u64::MAX as u128;
            }
        }
    } else {
        // Single structure (and replicate).
        let opcode = bits(i, 15, 13);
        let s = bit(i, 12);
        let selem = ((opcode & 1) << 1 | bit(i, 21) as u32) + 1;
        let mut scale = opcode >> 1;
        let mut index = 0;
        let mut replicate = false;
        match scale {
            3 => {
                if !load || s {
                    return Err(Exc::undef());
                }
                scale = size;
                replicate = true;
            }
            0 => index = (q as u32) << 3 | (s as u32) << 2 | size,
            1 => {
                if size & 1 != 0 {
                    return Err(Exc::undef());
                }
                index = (q as u32) << 2 | (s as u32) << 1 | size >> 1;
            }
            _ => {
                if size & 2 != 0 {
                    return Err(Exc::undef());
                }
                if size & 1 == 0 {
                    index = (q as u32) << 1 | s as u32;
                } else {
                    if s {
                        return Err(Exc::undef());
                    }
                    index = q as u32;
                    scale = 3;
                }
            }
        }
        let esize = 8u32 << scale;
        let ebytes = (esize / 8) as u64;
        let mut t = rt;
        for _ in 0..selem {
            let a = b.wrapping_add(offs);
            if replicate {
                let v = c.read(p, a, ebytes, false, false)?;
                let mut r = 0u128;
                for e in 0..datasize / esize {
                    r = set_elt(r, e, esize, v);
                }
                regs[t as usize] = r;
            } else {
                xfer_elt(c, p, &mut regs, t, index, esize, a, load)?;
            }
            offs += ebytes;
            t = (t + 1) % 32;
        }
    }
    if load {
        c.v = regs;
    }
    if post {
        let inc = if rm == 31 { offs } else { c.xr(rm) };
        c.set_xsp(rn, b.wrapping_add(inc));
    }
    Ok(())
}
