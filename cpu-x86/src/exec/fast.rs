//! Specialized handlers for the most frequent 64-bit-mode instruction forms, with operands
//! resolved at decode time (register numbers, immediate, effective-address parts) and lazy
//! flags. Everything they do matches the generic handlers of the same family (alu.rs,
//! data.rs, shift.rs, control.rs); the host-CPU oracle tests run through them.

use super::operand::{gpr, sreg, trunc};
use crate::block::{Decoded, FastHandler, NO_REG};
use crate::cpu::X86Cpu;
use crate::fault::X;
use crate::lazy::{Lazy, LazyOp};
use crate::platform::X86Platform;
use crate::state::flags::*;
use iced_x86::{Instruction, Mnemonic as M, OpKind, Register};

const ADD: u8 = 0;
const SUB: u8 = 1;
const AND: u8 = 2;
const OR: u8 = 3;
const XOR: u8 = 4;
const CMP: u8 = 5;
const TEST: u8 = 6;

#[inline(always)]
fn ea(c: &X86Cpu, d: &Decoded) -> u64 {
    let mut a = d.disp;
    if d.base != NO_REG {
        a = a.wrapping_add(c.regs[(d.base & 15) as usize]);
    }
    if d.index != NO_REG {
        a = a.wrapping_add(c.regs[(d.index & 15) as usize] << d.scale);
    }
    a
}

#[inline(always)]
fn linear64(c: &X86Cpu, d: &Decoded) -> u64 {
    // In 64-bit mode only FS and GS have a base (SDM Vol 3A 3.2.4).
    let off = ea(c, d);
    if d.seg as usize >= crate::state::FS {
        c.seg[d.seg as usize].base.wrapping_add(off)
    } else {
        off
    }
}

#[inline(always)]
fn load(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded, size: u64) -> X<u64> {
    let la = linear64(c, d);
    if let Some(h) = c.fast_ptr(la, size, false) {
        // SAFETY: `fast_ptr` returned a pointer with `size` bytes inside one RAM page.
        return Ok(unsafe {
            if size == 8 {
                u64::from_le(std::ptr::read_unaligned(h as *const u64))
            } else {
                u32::from_le(std::ptr::read_unaligned(h as *const u32)) as u64
            }
        });
    }
    load_slow(c, p, d, size)
}

/// The full path: segmentation checks, page walk, MMIO, faults (kept out of line so the
/// fast path needs no stack frame).
#[cold]
#[inline(never)]
fn load_slow(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded, size: u64) -> X<u64> {
    let off = ea(c, d);
    c.read_mem(p, d.seg as usize, off, size)
}

#[cold]
#[inline(never)]
fn store_slow(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded, size: u64, v: u64) -> X<()> {
    let off = ea(c, d);
    c.write_mem(p, d.seg as usize, off, size, v)
}

#[inline(always)]
fn store(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded, size: u64, v: u64) -> X<()> {
    let la = linear64(c, d);
    if let Some(h) = c.fast_ptr(la, size, true) {
        // SAFETY: `fast_ptr` returned a pointer with `size` bytes inside one writable RAM
        // page whose touched lines hold no decoded code.
        unsafe {
            if size == 8 {
                std::ptr::write_unaligned(h as *mut u64, v.to_le())
            } else {
                std::ptr::write_unaligned(h as *mut u32, (v as u32).to_le())
            }
        }
        return Ok(());
    }
    store_slow(c, p, d, size, v)
}

#[inline(always)]
fn set(c: &mut X86Cpu, r: u8, size: u64, v: u64) {
    // 32-bit destinations are zero-extended (SDM Vol 1 3.4.1.1).
    c.regs[(r & 15) as usize] = trunc(v, size);
}

#[inline(always)]
fn alu_core<const OP: u8>(c: &mut X86Cpu, size: u64, a: u64, b: u64) -> (u64, bool) {
    let m = if size == 8 { u64::MAX } else { 0xffff_ffff };
    let (a, b) = (a & m, b & m);
    let (r, op) = match OP {
        ADD => (a.wrapping_add(b), LazyOp::Add),
        SUB | CMP => (a.wrapping_sub(b), LazyOp::Sub),
        AND | TEST => (a & b, LazyOp::Logic),
        OR => (a | b, LazyOp::Logic),
        _ => (a ^ b, LazyOp::Logic),
    };
    c.lazy = Lazy { op, size: size as u8, a, b, r, cfof: 0 };
    (r, OP != CMP && OP != TEST)
}

const SRC_REG: u8 = 0;
const SRC_IMM: u8 = 1;
const SRC_MEM: u8 = 2;

/// `op reg, reg|imm|[mem]`, the source chosen at compile time.
fn alu_r<const OP: u8, const S: u64, const SRC: u8>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let b = match SRC {
        SRC_REG => c.regs[(d.r1 & 15) as usize],
        SRC_IMM => d.imm,
        _ => load(c, p, d, S)?,
    };
    let (r, w) = alu_core::<OP>(c, S, c.regs[(d.r0 & 15) as usize], b);
    if w {
        set(c, d.r0, S, r);
    }
    Ok(())
}

/// `op [mem], reg` (r1) or `op [mem], imm` (r1 = NO_REG)
fn alu_m<const OP: u8, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let size = S;
    let a = load(c, p, d, size)?;
    let b = if d.r1 == NO_REG { d.imm } else { c.regs[(d.r1 & 15) as usize] };
    let saved = c.lazy;
    let (r, w) = alu_core::<OP>(c, size, a, b);
    if w {
        if let Err(e) = store(c, p, d, size, r) {
            c.lazy = saved;
            return Err(e);
        }
    }
    Ok(())
}

fn inc_dec<const DEC: bool, const S: u64>(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let size = S;
    let a = trunc(c.regs[(d.r0 & 15) as usize], size);
    let cf = c.carry();
    let (r, op) = if DEC { (a.wrapping_sub(1), LazyOp::Dec) } else { (a.wrapping_add(1), LazyOp::Inc) };
    set(c, d.r0, size, r);
    c.lazy = Lazy { op, size: size as u8, a, b: cf, r, cfof: 0 };
    Ok(())
}

fn mov_rr<const S: u64>(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    set(c, d.r0, S, c.regs[(d.r1 & 15) as usize]);
    Ok(())
}

fn mov_ri<const S: u64>(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    set(c, d.r0, S, d.imm);
    Ok(())
}

fn mov_rm<const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let v = load(c, p, d, S)?;
    set(c, d.r0, S, v);
    Ok(())
}

fn mov_mr<const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let v = if d.r1 == NO_REG { d.imm } else { c.regs[(d.r1 & 15) as usize] };
    store(c, p, d, S, v)
}

fn lea<const S: u64>(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    set(c, d.r0, S, ea(c, d));
    Ok(())
}

/// SHL/SHR/SAR reg, imm8 (count already masked at decode; zero counts are not fast).
fn shift_ri<const KIND: u8, const S: u64>(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let size = S;
    let a = trunc(c.regs[(d.r0 & 15) as usize], size);
    let n = d.imm;
    let (r, op) = match KIND {
        0 => (trunc(a << n, size), LazyOp::Shl),
        1 => (a >> n, LazyOp::Shr),
        _ => (trunc((super::operand::sext(a, size) as i64 >> n) as u64, size), LazyOp::Sar),
    };
    set(c, d.r0, size, r);
    c.lazy = Lazy { op, size: size as u8, a, b: n, r, cfof: 0 };
    Ok(())
}

/// ROL/ROR reg, imm8: only CF and OF change (SDM Vol 2B RCL/RCR/ROL/ROR).
fn rotate_ri<const LEFT: bool, const S: u64>(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let size = S;
    let bits = size * 8;
    let a = trunc(c.regs[(d.r0 & 15) as usize], size);
    let n = d.imm % bits;
    let r = if LEFT {
        trunc((a << n) | if n == 0 { 0 } else { a >> (bits - n) }, size)
    } else {
        trunc((a >> n) | if n == 0 { 0 } else { a << (bits - n) }, size)
    };
    set(c, d.r0, size, r);
    let cfof = super::shift::rotate_flags(r, size, LEFT);
    if c.lazy.op == LazyOp::None {
        c.rflags = (c.rflags & !(CF | OF)) | cfof;
    } else {
        // Only CF and OF change (SDM Vol 2B ROL/ROR): keep the pending operation for the rest.
        c.lazy.cfof = crate::lazy::CFOF_SET | cfof;
    }
    Ok(())
}

fn jcc(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    if c.cond_lazy(d.cc) {
        c.near_target(d.imm)?;
    }
    Ok(())
}

fn jmp(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    c.near_target(d.imm)
}

fn call(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let ret = c.rip;
    c.near_target(d.imm)?;
    if let Err(e) = c.push(p, 8, ret) {
        c.rip = ret;
        return Err(e);
    }
    Ok(())
}

fn ret(c: &mut X86Cpu, p: &mut dyn X86Platform, _d: &Decoded) -> X<()> {
    let sp = c.regs[4];
    let t = c.pop(p, 8)?;
    if let Err(e) = c.near_target(t) {
        c.regs[4] = sp;
        return Err(e);
    }
    Ok(())
}

fn push_r(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let v = c.regs[(d.r0 & 15) as usize];
    c.push(p, 8, v)
}

fn pop_r(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let v = c.pop(p, 8)?;
    c.regs[(d.r0 & 15) as usize] = v;
    Ok(())
}

/// MOVZX/MOVSX/MOVSXD from a register (source width `r1`'s, in `imm`) or memory.
fn movx<const SIGNED: bool, const MEM: bool, const S: u64>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let ssize = d.imm;
    let v = if MEM {
        // Narrow loads go through the full path (the fast path handles 4- and 8-byte loads).
        let off = ea(c, d);
        c.read_mem(p, d.seg as usize, off, ssize)?
    } else if d.r1 & 0x80 != 0 {
        (c.regs[(d.r1 & 3) as usize] >> 8) & 0xff // AH, CH, DH, BH
    } else {
        c.regs[(d.r1 & 15) as usize]
    };
    let v = trunc(v, ssize);
    let v = if SIGNED { super::operand::sext(v, ssize) } else { v };
    set(c, d.r0, S, v);
    Ok(())
}

/// SHL/SHR/SAR reg, CL.
fn shift_rcl<const KIND: u8, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let n = c.regs[1] & if S == 8 { 63 } else { 31 };
    if n == 0 {
        // Flags unchanged; a 32-bit destination is still written (zero-extended).
        set(c, d.r0, S, c.regs[(d.r0 & 15) as usize]);
        return Ok(());
    }
    let d2 = Decoded { imm: n, ..*d };
    shift_ri::<KIND, S>(c, p, &d2)
}

/// Two-operand IMUL reg, reg (flags: CF=OF on overflow, SF/ZF/PF from the result, AF
/// clear, as the generic handler's documented policy).
fn imul_rr<const S: u64>(c: &mut X86Cpu, _p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let a = super::operand::sext(c.regs[(d.r0 & 15) as usize], S) as i64 as i128;
    let b = super::operand::sext(c.regs[(d.r1 & 15) as usize], S) as i64 as i128;
    let prod = a * b;
    let lo = trunc(prod as u64, S);
    set(c, d.r0, S, lo);
    c.materialize();
    let mut f = super::flags::szp(lo, S);
    if prod != super::operand::sext(lo, S) as i64 as i128 {
        f |= CF | OF;
    }
    c.rflags = (c.rflags & !STATUS) | f;
    Ok(())
}

fn reg64(r: Register) -> Option<(u8, u8)> {
    if r == Register::None || !(r.is_gpr32() || r.is_gpr64()) {
        return None;
    }
    let (idx, size, _) = gpr(r);
    Some((idx as u8, size as u8))
}

/// Fills the effective-address fields for a 64-bit-addressing memory operand.
fn mem_fields(i: &Instruction, d: &mut Decoded) -> bool {
    let base = i.memory_base();
    let index = i.memory_index();
    if base == Register::EIP || (base != Register::None && !base.is_gpr64() && base != Register::RIP) {
        return false;
    }
    if index != Register::None && !index.is_gpr64() {
        return false;
    }
    if base == Register::None && index == Register::None && i.memory_displ_size() != 8 {
        return false; // 32-bit absolute addressing (67h)
    }
    d.base = if base == Register::None || base == Register::RIP { NO_REG } else { gpr(base).0 as u8 };
    d.index = if index == Register::None { NO_REG } else { gpr(index).0 as u8 };
    d.scale = i.memory_index_scale().trailing_zeros() as u8;
    d.disp = i.memory_displacement64();
    d.seg = sreg(i.memory_segment()) as u8;
    true
}

fn alu_fn<const OP: u8>(form: u8, size: u8) -> FastHandler {
    match (form, size) {
        (0, 8) => alu_r::<OP, 8, SRC_REG>,
        (0, _) => alu_r::<OP, 4, SRC_REG>,
        (1, 8) => alu_r::<OP, 8, SRC_IMM>,
        (1, _) => alu_r::<OP, 4, SRC_IMM>,
        (2, 8) => alu_r::<OP, 8, SRC_MEM>,
        (2, _) => alu_r::<OP, 4, SRC_MEM>,
        (_, 8) => alu_m::<OP, 8>,
        _ => alu_m::<OP, 4>,
    }
}

/// Picks the 8- or 4-byte instance of a handler.
macro_rules! sized {
    ($size:expr, $f:ident $(, $c:expr)*) => {
        if $size == 8 { $f::<$($c,)* 8> as FastHandler } else { $f::<$($c,)* 4> as FastHandler }
    };
}

/// Picks a specialized handler for `i` in 64-bit mode and fills the operand fields of `d`;
/// the flag says whether the handler is register-only (see [`Decoded::pure`]).
pub fn specialize(i: &Instruction, d: &mut Decoded) -> Option<(FastHandler, bool)> {
    let f = pick(i, d)?;
    let regs_only = (0..i.op_count()).all(|n| {
        matches!(
            i.op_kind(n),
            OpKind::Register
                | OpKind::Immediate8
                | OpKind::Immediate8to32
                | OpKind::Immediate8to64
                | OpKind::Immediate32
                | OpKind::Immediate32to64
                | OpKind::Immediate64
        )
    });
    // Register-only forms of these families never fault, branch or touch memory. (LEA's
    // memory operand is only an address.)
    let pure_family = matches!(
        i.mnemonic(),
        M::Add
            | M::Sub
            | M::And
            | M::Or
            | M::Xor
            | M::Cmp
            | M::Test
            | M::Inc
            | M::Dec
            | M::Mov
            | M::Movzx
            | M::Movsx
            | M::Movsxd
            | M::Shl
            | M::Sal
            | M::Shr
            | M::Sar
            | M::Rol
            | M::Ror
            | M::Imul
    );
    Some((f, (pure_family && regs_only) || i.mnemonic() == M::Lea))
}

fn pick(i: &Instruction, d: &mut Decoded) -> Option<FastHandler> {
    if i.has_lock_prefix() {
        return None;
    }
    let k0 = i.op_kind(0);
    let k1 = if i.op_count() > 1 { i.op_kind(1) } else { OpKind::Register };
    let imm_kind = |k: OpKind| {
        matches!(
            k,
            OpKind::Immediate8
                | OpKind::Immediate8to32
                | OpKind::Immediate8to64
                | OpKind::Immediate32
                | OpKind::Immediate32to64
                | OpKind::Immediate64
        )
    };
    let m = i.mnemonic();
    match m {
        M::Add | M::Sub | M::And | M::Or | M::Xor | M::Cmp | M::Test => {
            let form;
            if k0 == OpKind::Register && k1 == OpKind::Register && i.op_count() == 2 {
                let (r0, s0) = reg64(i.op0_register())?;
                let (r1, _) = reg64(i.op1_register())?;
                (d.r0, d.r1, d.size) = (r0, r1, s0);
                form = 0;
            } else if k0 == OpKind::Register && imm_kind(k1) {
                let (r0, s0) = reg64(i.op0_register())?;
                (d.r0, d.size, d.imm) = (r0, s0, i.immediate(1));
                form = 1;
            } else if k0 == OpKind::Register && k1 == OpKind::Memory {
                let (r0, s0) = reg64(i.op0_register())?;
                if !mem_fields(i, d) {
                    return None;
                }
                (d.r0, d.size) = (r0, s0);
                form = 2;
            } else if k0 == OpKind::Memory && (k1 == OpKind::Register || imm_kind(k1)) {
                let size = i.memory_size().size() as u8;
                if size != 4 && size != 8 || !mem_fields(i, d) {
                    return None;
                }
                d.size = size;
                if k1 == OpKind::Register {
                    let (r1, _) = reg64(i.op1_register())?;
                    d.r1 = r1;
                } else {
                    d.r1 = NO_REG;
                    d.imm = i.immediate(1);
                }
                form = 3;
            } else {
                return None;
            }
            let size = d.size;
            Some(match m {
                M::Add => alu_fn::<ADD>(form, size),
                M::Sub => alu_fn::<SUB>(form, size),
                M::And => alu_fn::<AND>(form, size),
                M::Or => alu_fn::<OR>(form, size),
                M::Xor => alu_fn::<XOR>(form, size),
                M::Cmp => alu_fn::<CMP>(form, size),
                _ => alu_fn::<TEST>(form, size),
            })
        }
        M::Inc | M::Dec if k0 == OpKind::Register => {
            let (r0, s0) = reg64(i.op0_register())?;
            (d.r0, d.size) = (r0, s0);
            Some(if m == M::Dec { sized!(s0, inc_dec, true) } else { sized!(s0, inc_dec, false) })
        }
        M::Mov => {
            if k0 == OpKind::Register && k1 == OpKind::Register {
                let (r0, s0) = reg64(i.op0_register())?;
                let (r1, _) = reg64(i.op1_register())?;
                (d.r0, d.r1, d.size) = (r0, r1, s0);
                Some(sized!(s0, mov_rr))
            } else if k0 == OpKind::Register && imm_kind(k1) {
                let (r0, s0) = reg64(i.op0_register())?;
                (d.r0, d.size, d.imm) = (r0, s0, i.immediate(1));
                Some(sized!(s0, mov_ri))
            } else if k0 == OpKind::Register && k1 == OpKind::Memory {
                let (r0, s0) = reg64(i.op0_register())?;
                if !mem_fields(i, d) {
                    return None;
                }
                (d.r0, d.size) = (r0, s0);
                Some(sized!(s0, mov_rm))
            } else if k0 == OpKind::Memory && (k1 == OpKind::Register || imm_kind(k1)) {
                let size = i.memory_size().size() as u8;
                if size != 4 && size != 8 || !mem_fields(i, d) {
                    return None;
                }
                d.size = size;
                if k1 == OpKind::Register {
                    d.r1 = reg64(i.op1_register())?.0;
                } else {
                    d.r1 = NO_REG;
                    d.imm = i.immediate(1);
                }
                Some(sized!(size, mov_mr))
            } else {
                None
            }
        }
        M::Lea => {
            let (r0, s0) = reg64(i.op0_register())?;
            if !mem_fields(i, d) {
                return None;
            }
            (d.r0, d.size) = (r0, s0);
            Some(sized!(s0, lea))
        }
        M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror
            if k0 == OpKind::Register && k1 == OpKind::Immediate8 =>
        {
            let (r0, s0) = reg64(i.op0_register())?;
            let n = i.immediate(1) & if s0 == 8 { 63 } else { 31 };
            if n == 0 {
                return None; // zero counts leave flags alone: the generic handler covers them
            }
            (d.r0, d.size, d.imm) = (r0, s0, n);
            Some(match m {
                M::Shl | M::Sal => sized!(s0, shift_ri, 0),
                M::Shr => sized!(s0, shift_ri, 1),
                M::Sar => sized!(s0, shift_ri, 2),
                M::Rol => sized!(s0, rotate_ri, true),
                _ => sized!(s0, rotate_ri, false),
            })
        }
        _ if i.is_jcc_short_or_near() && k0 == OpKind::NearBranch64 => {
            d.imm = i.near_branch_target();
            d.cc = i.condition_code();
            Some(jcc)
        }
        M::Movzx | M::Movsx | M::Movsxd if k0 == OpKind::Register => {
            let (r0, s0) = reg64(i.op0_register())?;
            let signed = m != M::Movzx;
            d.r0 = r0;
            d.size = s0;
            if k1 == OpKind::Register {
                let src = i.op1_register();
                let (idx, ssize, hi) = gpr(src);
                d.r1 = if hi { 0x80 | idx as u8 } else { idx as u8 };
                d.imm = ssize;
                Some(match (signed, s0) {
                    (false, 8) => movx::<false, false, 8> as FastHandler,
                    (false, _) => movx::<false, false, 4>,
                    (true, 8) => movx::<true, false, 8>,
                    (true, _) => movx::<true, false, 4>,
                })
            } else {
                if !mem_fields(i, d) {
                    return None;
                }
                d.imm = i.memory_size().size() as u64;
                Some(match (signed, s0) {
                    (false, 8) => movx::<false, true, 8> as FastHandler,
                    (false, _) => movx::<false, true, 4>,
                    (true, 8) => movx::<true, true, 8>,
                    (true, _) => movx::<true, true, 4>,
                })
            }
        }
        M::Shl | M::Sal | M::Shr | M::Sar
            if k0 == OpKind::Register && k1 == OpKind::Register && i.op1_register() == Register::CL =>
        {
            let (r0, s0) = reg64(i.op0_register())?;
            (d.r0, d.size) = (r0, s0);
            Some(match m {
                M::Shl | M::Sal => sized!(s0, shift_rcl, 0),
                M::Shr => sized!(s0, shift_rcl, 1),
                _ => sized!(s0, shift_rcl, 2),
            })
        }
        M::Imul if i.op_count() == 2 && k0 == OpKind::Register && k1 == OpKind::Register => {
            let (r0, s0) = reg64(i.op0_register())?;
            let (r1, _) = reg64(i.op1_register())?;
            (d.r0, d.r1, d.size) = (r0, r1, s0);
            Some(sized!(s0, imul_rr))
        }
        M::Jmp if k0 == OpKind::NearBranch64 => {
            d.imm = i.near_branch_target();
            Some(jmp)
        }
        M::Call if k0 == OpKind::NearBranch64 => {
            d.imm = i.near_branch_target();
            Some(call)
        }
        M::Ret if i.op_count() == 0 && i.code() == iced_x86::Code::Retnq => Some(ret),
        M::Push if k0 == OpKind::Register && i.op0_register().is_gpr64() => {
            d.r0 = gpr(i.op0_register()).0 as u8;
            Some(push_r)
        }
        M::Pop if k0 == OpKind::Register && i.op0_register().is_gpr64() => {
            d.r0 = gpr(i.op0_register()).0 as u8;
            Some(pop_r)
        }
        _ => None,
    }
}
