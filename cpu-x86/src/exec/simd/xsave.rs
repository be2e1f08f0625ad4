//! FXSAVE/FXRSTOR (SDM Vol 1 10.5.1, Vol 2A FXSAVE table 3-53), XSAVE/XRSTOR in the standard
//! format (SDM Vol 1 13.4-13.8), XGETBV/XSETBV (Vol 2C) and LDMXCSR/STMXCSR. Only the x87 and
//! SSE state components (XCR0 bits 0 and 1) exist.

use super::x87;
use super::{check_aligned, features_ok, read_bytes, sse_avail, write_bytes};
use crate::cpu::X86Cpu;
use crate::fault::{exc, GP0, NM, UD_, X};
use crate::platform::X86Platform;
use crate::state::{cr0, cr4, Mode};
use iced_x86::{Instruction, Mnemonic as M};

/// MXCSR bits that may be set (DAZ supported): the MXCSR_MASK value.
pub const MXCSR_MASK: u32 = 0xffff;
/// XCR0 bits this CPU supports: x87 and SSE.
pub const XCR0_SUPPORTED: u64 = 3;
/// Size of the standard-format XSAVE area for the supported components.
pub const XSAVE_SIZE: u32 = 576;

fn fpu_avail(c: &X86Cpu, i: &Instruction) -> X<()> {
    if !features_ok(c, i) {
        return Err(UD_);
    }
    if c.cr0 & (cr0::EM | cr0::TS) != 0 {
        return Err(exc(NM));
    }
    Ok(())
}

/// Writes the x87 part (bytes 0-23 except MXCSR, 32-159) of a legacy image.
fn save_x87(c: &mut X86Cpu, p: &mut dyn X86Platform, s: usize, b: u64, wide: bool) -> X<()> {
    let f = &c.fpu;
    let tag = x87::abridged_tag(f.ftw);
    let w0 = f.fcw as u64 | (f.fsw as u64) << 16 | (tag as u64) << 32 | (f.fop as u64 & 0x7ff) << 48;
    let (w1, w2) = if wide {
        (f.fip, f.fdp)
    } else {
        (f.fip & 0xffff_ffff | (f.fcs as u64) << 32, f.fdp & 0xffff_ffff | (f.fds as u64) << 32)
    };
    let regs: Vec<u128> = (0..8).map(|k| x87::st_bits(c, k)).collect();
    c.write_mem(p, s, b, 8, w0)?;
    c.write_mem(p, s, b.wrapping_add(8), 8, w1)?;
    c.write_mem(p, s, b.wrapping_add(16), 8, w2)?;
    for (k, r) in regs.iter().enumerate() {
        write_bytes(c, p, s, b.wrapping_add(32 + 16 * k as u64), 16, *r)?;
    }
    Ok(())
}

/// Reads the x87 part of a legacy image.
fn load_x87(c: &mut X86Cpu, p: &mut dyn X86Platform, s: usize, b: u64, wide: bool) -> X<()> {
    let w0 = c.read_mem(p, s, b, 8)?;
    let w1 = c.read_mem(p, s, b.wrapping_add(8), 8)?;
    let w2 = c.read_mem(p, s, b.wrapping_add(16), 8)?;
    let mut regs = [0u128; 8];
    for (k, r) in regs.iter_mut().enumerate() {
        *r = read_bytes(c, p, s, b.wrapping_add(32 + 16 * k as u64), 10)?;
    }
    let f = &mut c.fpu;
    f.fcw = w0 as u16;
    f.fsw = (w0 >> 16) as u16;
    f.fop = ((w0 >> 48) & 0x7ff) as u16;
    if wide {
        f.fip = w1;
        f.fdp = w2;
        f.fcs = 0;
        f.fds = 0;
    } else {
        f.fip = w1 & 0xffff_ffff;
        f.fcs = (w1 >> 32) as u16;
        f.fdp = w2 & 0xffff_ffff;
        f.fds = (w2 >> 32) as u16;
    }
    let abridged = (w0 >> 32) as u8;
    let top = x87::top(c);
    for (k, r) in regs.iter().enumerate() {
        let phys = (top + k) & 7;
        c.fpu.st[phys] = x87::to_mem(*r);
    }
    // Full tags are recomputed from the register contents (SDM Vol 1 10.5.1.1).
    let mut ftw = 0u16;
    for phys in 0..8 {
        let t = if abridged >> phys & 1 == 0 { 3 } else { x87::tag_of(x87::from_mem(&c.fpu.st[phys])) };
        ftw |= (t as u16) << (2 * phys);
    }
    c.fpu.ftw = ftw;
    Ok(())
}

fn xmm_count(c: &X86Cpu) -> usize {
    if c.mode() == Mode::Long64 {
        16
    } else {
        8
    }
}

/// FXSAVE / FXRSTOR (and the REX.W forms with 64-bit FIP/FDP).
pub fn fxsave_fxrstor(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    fpu_avail(c, i)?;
    let (s, b) = c.ea(i);
    check_aligned(c, s, b, 512, 16)?;
    let wide = matches!(i.mnemonic(), M::Fxsave64 | M::Fxrstor64);
    match i.mnemonic() {
        M::Fxsave | M::Fxsave64 => {
            c.probe_write(p, s, b, 512)?;
            save_x87(c, p, s, b, wide)?;
            let mx = c.fpu.mxcsr as u64 | (MXCSR_MASK as u64) << 32;
            c.write_mem(p, s, b.wrapping_add(24), 8, mx)?;
            for k in 0..xmm_count(c) {
                let v = c.fpu.xmm[k];
                write_bytes(c, p, s, b.wrapping_add(160 + 16 * k as u64), 16, v)?;
            }
            Ok(())
        }
        _ => {
            let mx = c.read_mem(p, s, b.wrapping_add(24), 4)? as u32;
            if mx & !MXCSR_MASK != 0 {
                return Err(GP0);
            }
            let mut x = [0u128; 16];
            for (k, v) in x.iter_mut().enumerate().take(xmm_count(c)) {
                *v = read_bytes(c, p, s, b.wrapping_add(160 + 16 * k as u64), 16)?;
            }
            load_x87(c, p, s, b, wide)?;
            c.fpu.mxcsr = mx;
            let n = xmm_count(c);
            c.fpu.xmm[..n].copy_from_slice(&x[..n]);
            Ok(())
        }
    }
}

/// XSAVE / XRSTOR, standard format (SDM Vol 1 13.7, 13.8.1).
pub fn xsave_xrstor(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !features_ok(c, i) || c.cr4 & cr4::OSXSAVE == 0 {
        return Err(UD_);
    }
    if c.cr0 & cr0::TS != 0 {
        return Err(exc(NM));
    }
    let (s, b) = c.ea(i);
    check_aligned(c, s, b, XSAVE_SIZE as u64, 64)?;
    let wide = matches!(i.mnemonic(), M::Xsave64 | M::Xrstor64);
    let rfbm = c.xcr0 & ((c.regs[2] as u32 as u64) << 32 | c.regs[0] as u32 as u64);
    match i.mnemonic() {
        M::Xsave | M::Xsave64 => {
            c.probe_write(p, s, b, XSAVE_SIZE as u64)?;
            if rfbm & 1 != 0 {
                save_x87(c, p, s, b, wide)?;
            }
            if rfbm & 2 != 0 {
                let mx = c.fpu.mxcsr as u64 | (MXCSR_MASK as u64) << 32;
                c.write_mem(p, s, b.wrapping_add(24), 8, mx)?;
                for k in 0..xmm_count(c) {
                    let v = c.fpu.xmm[k];
                    write_bytes(c, p, s, b.wrapping_add(160 + 16 * k as u64), 16, v)?;
                }
            }
            // XSTATE_BV: components in RFBM are reported in use; others keep their bits.
            let old = c.read_mem(p, s, b.wrapping_add(512), 8)?;
            c.write_mem(p, s, b.wrapping_add(512), 8, (old & !rfbm) | rfbm)
        }
        _ => {
            let bv = c.read_mem(p, s, b.wrapping_add(512), 8)?;
            let comp = c.read_mem(p, s, b.wrapping_add(520), 8)?;
            let mut rsvd = 0;
            for k in 0..6 {
                rsvd |= c.read_mem(p, s, b.wrapping_add(528 + 8 * k), 8)?;
            }
            if comp != 0 || bv & !c.xcr0 != 0 || rsvd != 0 {
                return Err(GP0);
            }
            let mx = if rfbm & 2 != 0 {
                let mx = c.read_mem(p, s, b.wrapping_add(24), 4)? as u32;
                if mx & !MXCSR_MASK != 0 {
                    return Err(GP0);
                }
                Some(mx)
            } else {
                None
            };
            if rfbm & 1 != 0 {
                if bv & 1 != 0 {
                    load_x87(c, p, s, b, wide)?;
                } else {
                    x87::init_state(c);
                    c.fpu.fip = 0;
                    c.fpu.fdp = 0;
                    c.fpu.fcs = 0;
                    c.fpu.fds = 0;
                    c.fpu.st = [[0; 10]; 8];
                }
            }
            if rfbm & 2 != 0 {
                for k in 0..xmm_count(c) {
                    c.fpu.xmm[k] = if bv & 2 != 0 {
                        read_bytes(c, p, s, b.wrapping_add(160 + 16 * k as u64), 16)?
                    } else {
                        0
                    };
                }
            }
            if let Some(mx) = mx {
                c.fpu.mxcsr = mx;
            }
            Ok(())
        }
    }
}

/// XGETBV / XSETBV (SDM Vol 2C).
pub fn xgetbv_xsetbv(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !features_ok(c, i) || c.cr4 & cr4::OSXSAVE == 0 {
        return Err(UD_);
    }
    let ecx = c.regs[1] as u32;
    if i.mnemonic() == M::Xgetbv {
        if ecx != 0 {
            return Err(GP0);
        }
        c.regs[0] = c.xcr0 & 0xffff_ffff;
        c.regs[2] = c.xcr0 >> 32;
        return Ok(());
    }
    if c.cpl != 0 {
        return Err(GP0);
    }
    let v = (c.regs[2] as u32 as u64) << 32 | c.regs[0] as u32 as u64;
    // XCR0: bit 0 must be set, only supported bits, AVX needs SSE (SDM Vol 1 13.3).
    if ecx != 0 || v & 1 == 0 || v & !XCR0_SUPPORTED != 0 || (v & 4 != 0 && v & 2 == 0) {
        return Err(GP0);
    }
    c.xcr0 = v;
    Ok(())
}

/// LDMXCSR / STMXCSR (#GP(0) on reserved bits).
pub fn ldst_mxcsr(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    sse_avail(c, i)?;
    let (s, off) = c.ea(i);
    if i.mnemonic() == M::Ldmxcsr {
        let v = c.read_mem(p, s, off, 4)? as u32;
        if v & !MXCSR_MASK != 0 {
            return Err(GP0);
        }
        c.fpu.mxcsr = v;
        Ok(())
    } else {
        c.write_mem(p, s, off, 4, c.fpu.mxcsr as u64)
    }
}
