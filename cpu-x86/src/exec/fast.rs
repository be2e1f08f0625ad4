//! Specialized handlers for the most frequent 64-bit-mode instruction forms, with operands
//! resolved at decode time (register numbers, immediate, effective-address form) and lazy
//! flags. Each handler does only the common case (memory through the soft-TLB fast path,
//! branch targets checked at decode time) and otherwise hands the instruction to the generic
//! family handler (alu.rs, data.rs, shift.rs, control.rs) before changing any state, so the
//! semantics are those of the generic handlers; the host-CPU oracle tests run through both.

use super::operand::{gpr, sreg, trunc};
use crate::block::{generic, leave, loop_back, next, Decoded, FastHandler, NO_REG};
use crate::cpu::X86Cpu;
use crate::fault::X;
use crate::lazy::{Lazy, LazyOp};
use crate::platform::X86Platform;
use crate::state::flags::*;
use iced_x86::{ConditionCode, Instruction, Mnemonic as M, OpKind, Register};

const ADD: u8 = 0;
const SUB: u8 = 1;
const AND: u8 = 2;
const OR: u8 = 3;
const XOR: u8 = 4;
const CMP: u8 = 5;
const TEST: u8 = 6;

/// Effective-address forms, chosen at decode time: `[base + disp]`.
const EA_BASE: u8 = 0;
/// `[base + index * scale + disp]`.
const EA_BI: u8 = 1;
/// `[disp]`: absolute, or RIP-relative with the target resolved at decode time.
const EA_ABS: u8 = 2;
/// Anything else, with the FS/GS base (SDM Vol 3A 3.2.4: only FS and GS have a base in
/// 64-bit mode).
const EA_FULL: u8 = 3;

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

/// The offset (without segment base) of the memory operand of form `EA`.
#[inline(always)]
fn offset<const EA: u8>(c: &X86Cpu, d: &Decoded) -> u64 {
    match EA {
        EA_BASE => c.regs[(d.base & 15) as usize].wrapping_add(d.disp),
        EA_BI => c.regs[(d.base & 15) as usize]
            .wrapping_add(c.regs[(d.index & 15) as usize] << d.scale)
            .wrapping_add(d.disp),
        EA_ABS => d.disp,
        _ => ea(c, d),
    }
}

/// The linear address of the memory operand of form `EA`.
#[inline(always)]
fn linear<const EA: u8>(c: &X86Cpu, d: &Decoded) -> u64 {
    let off = offset::<EA>(c, d);
    if EA == EA_FULL && d.seg as usize >= crate::state::FS {
        c.seg[d.seg as usize].base.wrapping_add(off)
    } else {
        off
    }
}

/// Reads `size` (1, 2, 4 or 8) little-endian bytes.
///
/// # Safety
/// `h` must point at `size` readable bytes.
#[inline(always)]
unsafe fn rd(h: *const u8, size: u64) -> u64 {
    // SAFETY: the caller guarantees `size` readable bytes at `h`; unaligned reads are allowed.
    unsafe {
        match size {
            8 => u64::from_le(std::ptr::read_unaligned(h as *const u64)),
            4 => u32::from_le(std::ptr::read_unaligned(h as *const u32)) as u64,
            2 => u16::from_le(std::ptr::read_unaligned(h as *const u16)) as u64,
            _ => *h as u64,
        }
    }
}

/// Writes the low `size` (4 or 8) bytes of `v` little endian.
///
/// # Safety
/// `h` must point at `size` writable bytes.
#[inline(always)]
unsafe fn wr(h: *mut u8, size: u64, v: u64) {
    // SAFETY: the caller guarantees `size` writable bytes at `h`; unaligned writes are allowed.
    unsafe {
        if size == 8 {
            std::ptr::write_unaligned(h as *mut u64, v.to_le())
        } else {
            std::ptr::write_unaligned(h as *mut u32, (v as u32).to_le())
        }
    }
}

/// The full path: the generic handler does segmentation checks, the page walk, MMIO,
/// self-modifying-code invalidation and faults. Kept out of line so the fast paths need no
/// stack frame.
#[cold]
#[inline(never)]
fn slow(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    generic(c, p, d)
}

#[inline(always)]
fn set(c: &mut X86Cpu, r: u8, size: u64, v: u64) {
    // 32-bit destinations are zero-extended (SDM Vol 1 3.4.1.1).
    c.regs[(r & 15) as usize] = trunc(v, size);
}

/// The result of ALU operation `OP` (CMP and TEST compute what SUB and AND would).
#[inline(always)]
fn alu_value<const OP: u8>(a: u64, b: u64) -> u64 {
    match OP {
        ADD => a.wrapping_add(b),
        SUB | CMP => a.wrapping_sub(b),
        AND | TEST => a & b,
        OR => a | b,
        _ => a ^ b,
    }
}

#[inline(always)]
fn alu_core<const OP: u8>(c: &mut X86Cpu, size: u64, a: u64, b: u64) -> (u64, bool) {
    let m = if size == 8 { u64::MAX } else { 0xffff_ffff };
    let (a, b) = (a & m, b & m);
    let r = alu_value::<OP>(a, b);
    let op = match OP {
        ADD => LazyOp::Add,
        SUB | CMP => LazyOp::Sub,
        _ => LazyOp::Logic,
    };
    c.lazy = Lazy { op, size: size as u8, a, b, r, cfof: 0 };
    (r, OP != CMP && OP != TEST)
}

const SRC_REG: u8 = 0;
const SRC_IMM: u8 = 1;
const SRC_MEM: u8 = 2;

/// `op reg, reg|imm|[mem]`, the source (and its address form) chosen at compile time.
fn alu_r<const OP: u8, const S: u64, const SRC: u8, const EA: u8>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let b = match SRC {
        SRC_REG => c.regs[(d.r1 & 15) as usize],
        SRC_IMM => d.imm,
        _ => match c.fast_ptr(linear::<EA>(c, d), S, false) {
            // SAFETY: `fast_ptr` returned a pointer with `S` bytes inside one RAM page.
            Some(h) => unsafe { rd(h, S) },
            None => return slow(c, p, d),
        },
    };
    let (r, w) = alu_core::<OP>(c, S, c.regs[(d.r0 & 15) as usize], b);
    if w {
        set(c, d.r0, S, r);
    }
    next(c, p, d)
}

/// `op reg, reg|imm` whose flags are dead: the next instruction in the block overwrites
/// every status flag and cannot fault first (`Decoded::kills`), so nothing can observe them
/// (the block loop unfuses such an entry when a budget cut makes it the last one run). CMP
/// and TEST then have no effect at all.
fn alu_r_nf<const OP: u8, const S: u64, const SRC: u8>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    if OP != CMP && OP != TEST {
        let a = c.regs[(d.r0 & 15) as usize];
        let b = if SRC == SRC_REG { c.regs[(d.r1 & 15) as usize] } else { d.imm };
        set(c, d.r0, S, alu_value::<OP>(a, b));
    }
    next(c, p, d)
}

/// INC/DEC reg with dead flags (see [`alu_r_nf`]).
fn inc_dec_nf<const DEC: bool, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let a = c.regs[(d.r0 & 15) as usize];
    set(c, d.r0, S, if DEC { a.wrapping_sub(1) } else { a.wrapping_add(1) });
    next(c, p, d)
}

/// SHL/SHR/SAR reg, imm8 with dead flags (see [`alu_r_nf`]).
fn shift_ri_nf<const KIND: u8, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let a = trunc(c.regs[(d.r0 & 15) as usize], S);
    set(c, d.r0, S, shifted::<KIND, S>(a, d.imm));
    next(c, p, d)
}

/// ROL/ROR reg, imm8 with dead flags (see [`alu_r_nf`]).
fn rotate_ri_nf<const LEFT: bool, const S: u64>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    set(c, d.r0, S, rotated::<LEFT, S>(c.regs[(d.r0 & 15) as usize], d.imm as u32));
    next(c, p, d)
}

/// `op [mem], reg` (r1) or `op [mem], imm` (r1 = NO_REG)
fn alu_m<const OP: u8, const S: u64, const EA: u8>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let w = OP != CMP && OP != TEST;
    // A page writable on the fast path is also readable there.
    let Some(h) = c.fast_ptr(linear::<EA>(c, d), S, w) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned a pointer with `S` bytes inside one RAM page (writable,
    // with no decoded code in the touched lines, when `w`).
    let a = unsafe { rd(h, S) };
    let b = if d.r1 == NO_REG { d.imm } else { c.regs[(d.r1 & 15) as usize] };
    let (r, w) = alu_core::<OP>(c, S, a, b);
    if w {
        // SAFETY: as above.
        unsafe { wr(h, S, r) };
    }
    next(c, p, d)
}

fn inc_dec<const DEC: bool, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let size = S;
    let a = trunc(c.regs[(d.r0 & 15) as usize], size);
    let Some(cf) = c.carry_fast() else { return slow(c, p, d) };
    let (r, op) = if DEC { (a.wrapping_sub(1), LazyOp::Dec) } else { (a.wrapping_add(1), LazyOp::Inc) };
    set(c, d.r0, size, r);
    c.lazy = Lazy { op, size: size as u8, a, b: cf, r, cfof: 0 };
    next(c, p, d)
}

fn mov_rr<const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    set(c, d.r0, S, c.regs[(d.r1 & 15) as usize]);
    next(c, p, d)
}

fn mov_ri<const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    set(c, d.r0, S, d.imm);
    next(c, p, d)
}

fn mov_rm<const S: u64, const EA: u8>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let Some(h) = c.fast_ptr(linear::<EA>(c, d), S, false) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned a pointer with `S` bytes inside one RAM page.
    set(c, d.r0, S, unsafe { rd(h, S) });
    next(c, p, d)
}

/// MOV [mem], reg (`IMM` false) or MOV [mem], imm.
fn mov_mr<const S: u64, const IMM: bool, const EA: u8>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let v = if IMM { d.imm } else { c.regs[(d.r1 & 15) as usize] };
    let Some(h) = c.fast_ptr(linear::<EA>(c, d), S, true) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned a pointer with `S` bytes inside one writable RAM page whose
    // touched lines hold no decoded code.
    unsafe { wr(h, S, v) };
    next(c, p, d)
}

fn lea<const S: u64, const EA: u8>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    set(c, d.r0, S, offset::<EA>(c, d));
    next(c, p, d)
}

/// `a` (already truncated to `S` bytes) shifted left (KIND 0), right (1) or arithmetically
/// right (2) by `n`, truncated to `S` bytes.
#[inline(always)]
fn shifted<const KIND: u8, const S: u64>(a: u64, n: u64) -> u64 {
    match KIND {
        0 => trunc(a << n, S),
        1 => a >> n,
        _ => trunc((super::operand::sext(a, S) as i64 >> n) as u64, S),
    }
}

/// `a` rotated left (`LEFT`) or right by `n` (not zero, below the width) in `S` bytes.
#[inline(always)]
fn rotated<const LEFT: bool, const S: u64>(a: u64, n: u32) -> u64 {
    match (S, LEFT) {
        (8, true) => a.rotate_left(n),
        (8, false) => a.rotate_right(n),
        (_, true) => (a as u32).rotate_left(n) as u64,
        _ => (a as u32).rotate_right(n) as u64,
    }
}

/// SHL (KIND 0), SHR (1) or SAR (2) of register `r` by `n` (already masked, not zero).
#[inline(always)]
fn shift_by<const KIND: u8, const S: u64>(c: &mut X86Cpu, r: u8, n: u64) {
    let a = trunc(c.regs[(r & 15) as usize], S);
    let v = shifted::<KIND, S>(a, n);
    let op = match KIND {
        0 => LazyOp::Shl,
        1 => LazyOp::Shr,
        _ => LazyOp::Sar,
    };
    set(c, r, S, v);
    c.lazy = Lazy { op, size: S as u8, a, b: n, r: v, cfof: 0 };
}

/// SHL/SHR/SAR reg, imm8 (count already masked at decode; zero counts are not fast).
fn shift_ri<const KIND: u8, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    shift_by::<KIND, S>(c, d.r0, d.imm);
    next(c, p, d)
}

/// ROL/ROR reg, imm8: only CF and OF change (SDM Vol 2B RCL/RCR/ROL/ROR).
fn rotate_ri<const LEFT: bool, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    // The count is not zero and below the width (decode time), so CF/OF are defined.
    let r = rotated::<LEFT, S>(c.regs[(d.r0 & 15) as usize], d.imm as u32);
    set(c, d.r0, S, r);
    let cfof = super::shift::rotate_flags(r, S, LEFT);
    if c.lazy.op == LazyOp::None {
        c.rflags = (c.rflags & !(CF | OF)) | cfof;
    } else {
        // Only CF and OF change (SDM Vol 2B ROL/ROR): keep the pending operation for the rest.
        c.lazy.cfof = crate::lazy::CFOF_SET | cfof;
    }
    next(c, p, d)
}

/// Condition codes in the order of their `jcc` instances.
pub(crate) const CCS: [ConditionCode; 17] = [
    ConditionCode::None,
    ConditionCode::o,
    ConditionCode::no,
    ConditionCode::b,
    ConditionCode::ae,
    ConditionCode::e,
    ConditionCode::ne,
    ConditionCode::be,
    ConditionCode::a,
    ConditionCode::s,
    ConditionCode::ns,
    ConditionCode::p,
    ConditionCode::np,
    ConditionCode::l,
    ConditionCode::ge,
    ConditionCode::le,
    ConditionCode::g,
];

/// Jcc to a target found canonical at decode time.
fn jcc<const CC: usize>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let Some(taken) = c.cond_fast(CCS[CC]) else { return slow(c, p, d) };
    if taken {
        if d.loops {
            return loop_back(c, p, d);
        }
        c.rip = d.imm;
        return leave(c, d);
    }
    next(c, p, d)
}

fn jcc_fn(cc: ConditionCode) -> FastHandler {
    macro_rules! pick {
        ($($n:literal)*) => {
            match CCS.iter().position(|&x| x == cc) {
                $(Some($n) => jcc::<$n>,)*
                _ => generic,
            }
        };
    }
    pick!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// The branch half of a flag-setting instruction fused with the JE/JNE after it (`NE`):
/// the Jcc's semantics exactly (ZF from the result `r` just computed, of operand size `S`),
/// without dispatching it separately.
#[inline(always)]
fn fused_branch<const NE: bool, const S: u64>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
    r: u64,
) -> X<()> {
    // SAFETY: `is_fused` is set only on the entry just before its Jcc in the same body (the
    // block's last instruction; a partial copy that drops the Jcc unfuses it).
    let j = unsafe { &*(d as *const Decoded).add(1) };
    if (trunc(r, S) != 0) == NE {
        if j.loops {
            return loop_back(c, p, j);
        }
        c.rip = j.imm;
        leave(c, j)
    } else {
        // Not taken: on with the entry after the Jcc (the terminator).
        next(c, p, j)
    }
}

/// `op reg, reg|imm` fused with the JE/JNE after it.
fn alu_r_jcc<const OP: u8, const S: u64, const SRC: u8, const NE: bool>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let b = if SRC == SRC_REG { c.regs[(d.r1 & 15) as usize] } else { d.imm };
    let (r, w) = alu_core::<OP>(c, S, c.regs[(d.r0 & 15) as usize], b);
    if w {
        set(c, d.r0, S, r);
    }
    fused_branch::<NE, S>(c, p, d, r)
}

/// INC/DEC reg fused with the JE/JNE after it.
fn inc_dec_jcc<const DEC: bool, const S: u64, const NE: bool>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let a = trunc(c.regs[(d.r0 & 15) as usize], S);
    let Some(cf) = c.carry_fast() else { return slow(c, p, d) };
    let (r, op) = if DEC { (a.wrapping_sub(1), LazyOp::Dec) } else { (a.wrapping_add(1), LazyOp::Inc) };
    set(c, d.r0, S, r);
    c.lazy = Lazy { op, size: S as u8, a, b: cf, r, cfof: 0 };
    fused_branch::<NE, S>(c, p, d, r)
}

/// The fused JE and JNE forms of `op reg, reg|imm`.
fn alu_jcc_fn<const OP: u8>(form: u8, size: u8) -> Option<[FastHandler; 2]> {
    Some(match (form, size) {
        (0, 8) => [alu_r_jcc::<OP, 8, SRC_REG, false>, alu_r_jcc::<OP, 8, SRC_REG, true>],
        (0, _) => [alu_r_jcc::<OP, 4, SRC_REG, false>, alu_r_jcc::<OP, 4, SRC_REG, true>],
        (1, 8) => [alu_r_jcc::<OP, 8, SRC_IMM, false>, alu_r_jcc::<OP, 8, SRC_IMM, true>],
        (1, _) => [alu_r_jcc::<OP, 4, SRC_IMM, false>, alu_r_jcc::<OP, 4, SRC_IMM, true>],
        _ => return None,
    })
}

/// JMP to a target found canonical at decode time.
fn jmp(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    if d.loops {
        return loop_back(c, p, d);
    }
    c.rip = d.imm;
    leave(c, d)
}

/// The stack slot of a 64-bit push, if the fast path allows the store.
#[inline(always)]
fn push_slot(c: &X86Cpu) -> Option<*mut u8> {
    // In 64-bit mode SS has no base and RSP is 64 bits wide (SDM Vol 3A 3.2.4, Vol 1 6.2.3).
    c.fast_ptr(c.regs[4].wrapping_sub(8), 8, true)
}

/// CALL to a target found canonical at decode time.
fn call(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let Some(h) = push_slot(c) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned 8 writable bytes inside one RAM page.
    unsafe { wr(h, 8, d.next) };
    c.regs[4] = c.regs[4].wrapping_sub(8);
    c.rip = d.imm;
    leave(c, d)
}

fn ret(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let Some(h) = c.fast_ptr(c.regs[4], 8, false) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned 8 readable bytes inside one RAM page.
    let t = unsafe { rd(h, 8) };
    if !crate::mem::canonical(t, c.la_bits()) {
        return slow(c, p, d); // #GP with RSP unchanged
    }
    c.regs[4] = c.regs[4].wrapping_add(8);
    c.rip = t;
    leave(c, d)
}

fn push_r(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let v = c.regs[(d.r0 & 15) as usize];
    let Some(h) = push_slot(c) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned 8 writable bytes inside one RAM page.
    unsafe { wr(h, 8, v) };
    c.regs[4] = c.regs[4].wrapping_sub(8);
    next(c, p, d)
}

fn pop_r(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let Some(h) = c.fast_ptr(c.regs[4], 8, false) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned 8 readable bytes inside one RAM page.
    let v = unsafe { rd(h, 8) };
    // RSP is incremented before the destination is written (POP RSP, SDM Vol 2B POP).
    c.regs[4] = c.regs[4].wrapping_add(8);
    c.regs[(d.r0 & 15) as usize] = v;
    next(c, p, d)
}

/// MOVZX/MOVSX/MOVSXD from a register (source width `r1`'s, in `imm`) or memory.
fn movx<const SIGNED: bool, const MEM: bool, const S: u64>(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    d: &Decoded,
) -> X<()> {
    let ssize = d.imm;
    let v = if MEM {
        let Some(h) = c.fast_ptr(linear::<EA_FULL>(c, d), ssize, false) else { return slow(c, p, d) };
        // SAFETY: `fast_ptr` returned a pointer with `ssize` bytes inside one RAM page.
        unsafe { rd(h, ssize) }
    } else if d.r1 & 0x80 != 0 {
        (c.regs[(d.r1 & 3) as usize] >> 8) & 0xff // AH, CH, DH, BH
    } else {
        c.regs[(d.r1 & 15) as usize]
    };
    let v = trunc(v, ssize);
    let v = if SIGNED { super::operand::sext(v, ssize) } else { v };
    set(c, d.r0, S, v);
    next(c, p, d)
}

/// SHL/SHR/SAR reg, CL.
fn shift_rcl<const KIND: u8, const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let n = c.regs[1] & if S == 8 { 63 } else { 31 };
    if n == 0 {
        // Flags unchanged; a 32-bit destination is still written (zero-extended).
        set(c, d.r0, S, c.regs[(d.r0 & 15) as usize]);
        return next(c, p, d);
    }
    shift_by::<KIND, S>(c, d.r0, n);
    next(c, p, d)
}

/// Two-operand IMUL reg, reg (flags: CF=OF on overflow, SF/ZF/PF from the result, AF
/// clear, as the generic handler's documented policy).
fn imul_rr<const S: u64>(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> X<()> {
    let a = super::operand::sext(c.regs[(d.r0 & 15) as usize], S) as i64 as i128;
    let b = super::operand::sext(c.regs[(d.r1 & 15) as usize], S) as i64 as i128;
    let prod = a * b;
    let lo = trunc(prod as u64, S);
    set(c, d.r0, S, lo);
    // Every status flag is written: whatever was pending is replaced.
    c.lazy.op = LazyOp::None;
    let mut f = super::flags::szp(lo, S);
    if prod != super::operand::sext(lo, S) as i64 as i128 {
        f |= CF | OF;
    }
    c.rflags = (c.rflags & !STATUS) | f;
    next(c, p, d)
}

fn reg64(r: Register) -> Option<(u8, u8)> {
    if r == Register::None || !(r.is_gpr32() || r.is_gpr64()) {
        return None;
    }
    let (idx, size, _) = gpr(r);
    Some((idx as u8, size as u8))
}

/// Fills the effective-address fields for a 64-bit-addressing memory operand and returns
/// its form (`EA_*`); `seg_base` says whether an FS/GS base applies (not for LEA).
fn mem_fields(i: &Instruction, d: &mut Decoded, seg_base: bool) -> Option<u8> {
    let base = i.memory_base();
    let index = i.memory_index();
    if base == Register::EIP || (base != Register::None && !base.is_gpr64() && base != Register::RIP) {
        return None;
    }
    if index != Register::None && !index.is_gpr64() {
        return None;
    }
    if base == Register::None && index == Register::None && i.memory_displ_size() != 8 {
        return None; // 32-bit absolute addressing (67h)
    }
    d.base = if base == Register::None || base == Register::RIP { NO_REG } else { gpr(base).0 as u8 };
    d.index = if index == Register::None { NO_REG } else { gpr(index).0 as u8 };
    d.scale = i.memory_index_scale().trailing_zeros() as u8;
    // RIP-relative: iced resolves the target (blocks are keyed by RIP).
    d.disp = i.memory_displacement64();
    d.seg = sreg(i.memory_segment()) as u8;
    Some(if seg_base && d.seg as usize >= crate::state::FS {
        EA_FULL
    } else {
        match (d.base != NO_REG, d.index != NO_REG) {
            (true, false) => EA_BASE,
            (true, true) => EA_BI,
            (false, false) => EA_ABS,
            (false, true) => EA_FULL,
        }
    })
}

/// Picks the instance of `$f::<..., EA>` for the address form `$ea`.
macro_rules! by_ea {
    ($ea:expr, $f:ident :: < $($c:tt),* >) => {
        match $ea {
            EA_BASE => $f::<$($c,)* EA_BASE> as FastHandler,
            EA_BI => $f::<$($c,)* EA_BI>,
            EA_ABS => $f::<$($c,)* EA_ABS>,
            _ => $f::<$($c,)* EA_FULL>,
        }
    };
}

fn alu_fn<const OP: u8>(form: u8, size: u8, ea: u8) -> FastHandler {
    match (form, size) {
        (0, 8) => alu_r::<OP, 8, SRC_REG, EA_FULL>,
        (0, _) => alu_r::<OP, 4, SRC_REG, EA_FULL>,
        (1, 8) => alu_r::<OP, 8, SRC_IMM, EA_FULL>,
        (1, _) => alu_r::<OP, 4, SRC_IMM, EA_FULL>,
        (2, 8) => by_ea!(ea, alu_r::<OP, 8, SRC_MEM>),
        (2, _) => by_ea!(ea, alu_r::<OP, 4, SRC_MEM>),
        (_, 8) => by_ea!(ea, alu_m::<OP, 8>),
        _ => by_ea!(ea, alu_m::<OP, 4>),
    }
}

/// Picks the 8- or 4-byte instance of a handler.
macro_rules! sized {
    ($size:expr, $f:ident $(, $c:expr)*) => {
        if $size == 8 { $f::<$($c,)* 8> as FastHandler } else { $f::<$($c,)* 4> as FastHandler }
    };
}

/// A near-branch target that is canonical whatever the paging mode (48-bit canonical implies
/// 57-bit canonical), so the branch needs no check at run time (SDM Vol 1 3.3.7.1).
fn static_target(i: &Instruction) -> Option<u64> {
    let t = i.near_branch_target();
    crate::mem::canonical(t, 48).then_some(t)
}

/// Picks a specialized handler for `i` in 64-bit mode and fills the operand fields of `d`.
pub fn specialize(i: &Instruction, d: &mut Decoded) -> Option<FastHandler> {
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
            let mut ea = EA_FULL;
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
                ea = mem_fields(i, d, true)?;
                (d.r0, d.size) = (r0, s0);
                form = 2;
            } else if k0 == OpKind::Memory && (k1 == OpKind::Register || imm_kind(k1)) {
                let size = i.memory_size().size() as u8;
                if size != 4 && size != 8 {
                    return None;
                }
                ea = mem_fields(i, d, true)?;
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
            if form < 2 {
                // Register and immediate forms cannot fault and write every status flag.
                d.kills = true;
                macro_rules! nf {
                    ($op:expr) => {
                        match (form, size) {
                            (0, 8) => alu_r_nf::<$op, 8, SRC_REG> as FastHandler,
                            (0, _) => alu_r_nf::<$op, 4, SRC_REG>,
                            (_, 8) => alu_r_nf::<$op, 8, SRC_IMM>,
                            _ => alu_r_nf::<$op, 4, SRC_IMM>,
                        }
                    };
                }
                d.nf = Some(match m {
                    M::Add => nf!(ADD),
                    M::Sub => nf!(SUB),
                    M::And => nf!(AND),
                    M::Or => nf!(OR),
                    M::Xor => nf!(XOR),
                    M::Cmp => nf!(CMP),
                    _ => nf!(TEST),
                });
            }
            d.fused = match m {
                M::Add => alu_jcc_fn::<ADD>(form, size),
                M::Sub => alu_jcc_fn::<SUB>(form, size),
                M::And => alu_jcc_fn::<AND>(form, size),
                M::Or => alu_jcc_fn::<OR>(form, size),
                M::Xor => alu_jcc_fn::<XOR>(form, size),
                M::Cmp => alu_jcc_fn::<CMP>(form, size),
                _ => alu_jcc_fn::<TEST>(form, size),
            };
            Some(match m {
                M::Add => alu_fn::<ADD>(form, size, ea),
                M::Sub => alu_fn::<SUB>(form, size, ea),
                M::And => alu_fn::<AND>(form, size, ea),
                M::Or => alu_fn::<OR>(form, size, ea),
                M::Xor => alu_fn::<XOR>(form, size, ea),
                M::Cmp => alu_fn::<CMP>(form, size, ea),
                _ => alu_fn::<TEST>(form, size, ea),
            })
        }
        M::Inc | M::Dec if k0 == OpKind::Register => {
            let (r0, s0) = reg64(i.op0_register())?;
            (d.r0, d.size) = (r0, s0);
            d.fused = Some(match (m == M::Dec, s0) {
                (true, 8) => [inc_dec_jcc::<true, 8, false> as FastHandler, inc_dec_jcc::<true, 8, true>],
                (true, _) => [inc_dec_jcc::<true, 4, false>, inc_dec_jcc::<true, 4, true>],
                (false, 8) => [inc_dec_jcc::<false, 8, false>, inc_dec_jcc::<false, 8, true>],
                (false, _) => [inc_dec_jcc::<false, 4, false>, inc_dec_jcc::<false, 4, true>],
            });
            d.nf =
                Some(if m == M::Dec { sized!(s0, inc_dec_nf, true) } else { sized!(s0, inc_dec_nf, false) });
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
                let ea = mem_fields(i, d, true)?;
                (d.r0, d.size) = (r0, s0);
                Some(if s0 == 8 { by_ea!(ea, mov_rm::<8>) } else { by_ea!(ea, mov_rm::<4>) })
            } else if k0 == OpKind::Memory && (k1 == OpKind::Register || imm_kind(k1)) {
                let size = i.memory_size().size() as u8;
                if size != 4 && size != 8 {
                    return None;
                }
                let ea = mem_fields(i, d, true)?;
                d.size = size;
                if k1 == OpKind::Register {
                    d.r1 = reg64(i.op1_register())?.0;
                } else {
                    d.r1 = NO_REG;
                    d.imm = i.immediate(1);
                }
                let imm = d.r1 == NO_REG;
                Some(match (size, imm) {
                    (8, false) => by_ea!(ea, mov_mr::<8, false>),
                    (8, true) => by_ea!(ea, mov_mr::<8, true>),
                    (_, false) => by_ea!(ea, mov_mr::<4, false>),
                    _ => by_ea!(ea, mov_mr::<4, true>),
                })
            } else {
                None
            }
        }
        M::Lea => {
            let (r0, s0) = reg64(i.op0_register())?;
            let ea = mem_fields(i, d, false)?;
            (d.r0, d.size) = (r0, s0);
            Some(if s0 == 8 { by_ea!(ea, lea::<8>) } else { by_ea!(ea, lea::<4>) })
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
            d.nf = Some(match m {
                M::Shl | M::Sal => sized!(s0, shift_ri_nf, 0),
                M::Shr => sized!(s0, shift_ri_nf, 1),
                M::Sar => sized!(s0, shift_ri_nf, 2),
                M::Rol => sized!(s0, rotate_ri_nf, true),
                _ => sized!(s0, rotate_ri_nf, false),
            });
            Some(match m {
                M::Shl | M::Sal => sized!(s0, shift_ri, 0),
                M::Shr => sized!(s0, shift_ri, 1),
                M::Sar => sized!(s0, shift_ri, 2),
                M::Rol => sized!(s0, rotate_ri, true),
                _ => sized!(s0, rotate_ri, false),
            })
        }
        _ if i.is_jcc_short_or_near() && k0 == OpKind::NearBranch64 => {
            d.imm = static_target(i)?;
            let cc = i.condition_code();
            d.cc = CCS.iter().position(|&x| x == cc).filter(|&n| n > 0)? as u8;
            d.chain = true;
            Some(jcc_fn(cc))
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
                mem_fields(i, d, true)?;
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
            d.imm = static_target(i)?;
            d.chain = true;
            Some(jmp)
        }
        M::Call if k0 == OpKind::NearBranch64 => {
            d.imm = static_target(i)?;
            d.chain = true;
            Some(call)
        }
        M::Ret if i.op_count() == 0 && i.code() == iced_x86::Code::Retnq => {
            d.chain = true;
            Some(ret)
        }
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
