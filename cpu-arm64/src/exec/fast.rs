//! Specialized threaded handlers for the most frequent A64 forms, with operands resolved at
//! decode time (register numbers, immediates, shift amounts, bit masks, branch targets). Each
//! handles only the forms [`specialize`] accepted (no SP operands, no UNDEFINED field
//! values) and, for memory, only the soft-TLB fast path: anything else goes to the family
//! handler through [`generic`] before any state changes, so the semantics are those of
//! dp.rs, ldst.rs and branch.rs (Arm ARM C6.2 instruction pages).

use super::{bit, bits, cond_holds, decode_bit_masks, sext, shift, trunc};
use crate::cpu::Arm64Cpu;
use crate::decode::{generic, leave, loop_back, next, Decoded, Fast, Flow};
use crate::platform::Arm64Platform;

/// The full path for an instruction whose fast case does not apply. Out of line so that the
/// fast paths need no stack frame.
#[cold]
#[inline(never)]
fn slow(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    generic(c, p, d)
}

/// Reads register `n` with 31 as XZR (`x[31]` is always zero).
#[inline(always)]
fn xr(c: &Arm64Cpu, n: u8) -> u64 {
    c.x[(n & 31) as usize]
}

/// Writes register `n`, which [`specialize`] made sure is not 31.
#[inline(always)]
fn set_xr(c: &mut Arm64Cpu, n: u8, v: u64) {
    debug_assert!(n < 31);
    c.x[(n & 31) as usize] = v;
}

/// Second-operand sources, chosen at decode time: the immediate in `imm`.
const IMM: u8 = 0;
/// Rm unshifted (LSL #0).
const REG: u8 = 1;
/// Rm shifted by `sh` with the shift type in `imm`.
const SHIFTED: u8 = 2;

/// The second operand from source `SRC`.
#[inline(always)]
fn operand_b<const SF: bool, const SRC: u8>(c: &Arm64Cpu, d: &Decoded) -> u64 {
    match SRC {
        IMM => d.imm,
        REG => xr(c, d.rm),
        _ => shift(xr(c, d.rm), d.imm as u32, d.sh as u32, SF),
    }
}

/// `a + b` (`SUB`: `a - b`) of width `SF` with its NZCV (AddWithCarry with carry-in 0, or
/// `a + NOT(b) + 1` for subtraction, Arm ARM J1 shared pseudocode).
#[inline(always)]
fn add_sub_flags<const SF: bool, const SUB: bool>(a: u64, b: u64) -> (u64, u64) {
    let (n, z, c, v, r);
    if SF {
        let (res, carry) = if SUB { (a.wrapping_sub(b), a >= b) } else { a.overflowing_add(b) };
        let ovf = if SUB { ((a ^ b) & (a ^ res)) >> 63 } else { ((a ^ res) & (b ^ res)) >> 63 };
        (n, z, c, v, r) = (res >> 63, res == 0, carry, ovf, res);
    } else {
        let (a, b) = (a as u32, b as u32);
        let (res, carry) = if SUB { (a.wrapping_sub(b), a >= b) } else { a.overflowing_add(b) };
        let ovf = if SUB { ((a ^ b) & (a ^ res)) >> 31 } else { ((a ^ res) & (b ^ res)) >> 31 };
        (n, z, c, v, r) = ((res >> 31) as u64, res == 0, carry, ovf as u64, res as u64);
    }
    (r, n << 31 | (z as u64) << 30 | (c as u64) << 29 | v << 28)
}

/// ADD/SUB (immediate, C6.2.4/C6.2.316, with Rn a general register; shifted register,
/// C6.2.5/C6.2.318, where 31 is XZR everywhere): `S` = ADDS/SUBS, `WB` false for Rd = XZR
/// (CMP/CMN).
fn add_sub<const SF: bool, const SUB: bool, const S: bool, const SRC: u8, const WB: bool>(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    d: &Decoded,
) -> Flow {
    let a = xr(c, d.rn);
    let (r, f) = add_sub_flags::<SF, SUB>(a, operand_b::<SF, SRC>(c, d));
    if S {
        c.nzcv = f;
    }
    if WB {
        set_xr(c, d.rd, r);
    }
    next(c, p, d)
}

/// ADDS/SUBS (immediate or unshifted register, `SRC`) fused with the B.EQ/B.NE (`NE`) that
/// closes the block: the two instructions' semantics without a second dispatch (Z is set
/// exactly when the truncated result is zero).
fn cmp_branch<const SF: bool, const SUB: bool, const SRC: u8, const WB: bool, const NE: bool>(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    d: &Decoded,
) -> Flow {
    let a = xr(c, d.rn);
    let (r, f) = add_sub_flags::<SF, SUB>(a, operand_b::<SF, SRC>(c, d));
    c.nzcv = f;
    if WB {
        set_xr(c, d.rd, r);
    }
    // SAFETY: a fused entry is followed by its B.cond in the same body (the block's last
    // instruction; a partial copy without it unfuses the entry).
    let j = unsafe { &*(d as *const Decoded).add(1) };
    if (r != 0) == NE {
        if j.loops {
            return loop_back(c, p, j);
        }
        c.pc = j.imm;
        return leave(c, j);
    }
    next(c, p, j)
}

/// AND/ORR/EOR/ANDS (immediate, the bit mask decoded, Rd not SP; C6.2.12 ...) and
/// AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register; C6.2.13 ...): `OPC` 0 AND, 1 ORR,
/// 2 EOR, 3 ANDS; `INV` complements the second operand; `WB` false for Rd = XZR (TST).
fn logical<const SF: bool, const OPC: u8, const INV: bool, const SRC: u8, const WB: bool>(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    d: &Decoded,
) -> Flow {
    let b = operand_b::<SF, SRC>(c, d);
    let (r, f) = super::logic(OPC as u32, xr(c, d.rn), if INV { !b } else { b }, SF);
    if let Some(f) = f {
        c.nzcv = f;
    }
    if WB {
        set_xr(c, d.rd, r);
    }
    next(c, p, d)
}

/// MOVZ/MOVN (the value in `imm`) and MOVK (`imm` the field, `sh` its position) (C6.2.191-193).
fn movzn(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    set_xr(c, d.rd, d.imm);
    next(c, p, d)
}

fn movk<const SF: bool>(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    let r = (xr(c, d.rd) & !(0xffffu64 << d.sh)) | d.imm;
    set_xr(c, d.rd, trunc(r, SF));
    next(c, p, d)
}

/// UBFM (LSR, LSL, UBFX, UXTB ...) (C6.2.331): ROR(src, immr) AND wmask AND tmask.
fn ubfm<const SF: bool>(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    let src = xr(c, d.rn);
    let rot = if SF { src.rotate_right(d.sh as u32) } else { (src as u32).rotate_right(d.sh as u32) as u64 };
    set_xr(c, d.rd, rot & d.imm);
    next(c, p, d)
}

/// EXTR (ROR immediate when Rn = Rm) (C6.2.90): lsb in `sh`, not zero.
fn extr<const SF: bool>(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    let hi = xr(c, d.rn);
    let lo = xr(c, d.rm);
    let lsb = d.sh as u32;
    let r = if SF {
        (lo >> lsb) | (hi << (64 - lsb))
    } else {
        let v = ((hi & 0xffff_ffff) << 32) | (lo & 0xffff_ffff);
        (v >> lsb) & 0xffff_ffff
    };
    set_xr(c, d.rd, r);
    next(c, p, d)
}

/// LDR/LDRB/LDRH (immediate, unsigned offset; zero-extending) and STR/STRB/STRH with a
/// general-register base (C6.2.132 ...): `BYTES` the access size, offset in `imm`.
fn ldst_uimm<const BYTES: u64, const LOAD: bool>(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    d: &Decoded,
) -> Flow {
    let va = xr(c, d.rn).wrapping_add(d.imm);
    let Some(h) = c.fast_ptr(va, BYTES, !LOAD) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned a host pointer with `BYTES` bytes inside one RAM page
    // (writable, with no decoded code in its line, for a store).
    unsafe {
        if LOAD {
            let v = match BYTES {
                8 => u64::from_le(std::ptr::read_unaligned(h as *const u64)),
                4 => u32::from_le(std::ptr::read_unaligned(h as *const u32)) as u64,
                2 => u16::from_le(std::ptr::read_unaligned(h as *const u16)) as u64,
                _ => *h as u64,
            };
            set_xr(c, d.rd, v);
        } else {
            let v = xr(c, d.rd);
            match BYTES {
                8 => std::ptr::write_unaligned(h as *mut u64, v.to_le()),
                4 => std::ptr::write_unaligned(h as *mut u32, (v as u32).to_le()),
                2 => std::ptr::write_unaligned(h as *mut u16, (v as u16).to_le()),
                _ => *h = v as u8,
            }
        }
    }
    next(c, p, d)
}

/// Loads `BYTES` (zero-extended) into, or stores them from, register `rt` through host
/// pointer `h`.
///
/// # Safety
/// `h` must point at `BYTES` accessible bytes.
#[inline(always)]
unsafe fn access<const BYTES: u64, const LOAD: bool>(c: &mut Arm64Cpu, h: *mut u8, rt: u8) {
    // SAFETY: the caller guarantees `BYTES` bytes at `h`; unaligned host accesses are fine.
    unsafe {
        if LOAD {
            let v = match BYTES {
                8 => u64::from_le(std::ptr::read_unaligned(h as *const u64)),
                4 => u32::from_le(std::ptr::read_unaligned(h as *const u32)) as u64,
                2 => u16::from_le(std::ptr::read_unaligned(h as *const u16)) as u64,
                _ => *h as u64,
            };
            set_xr(c, rt, v);
        } else {
            let v = xr(c, rt);
            match BYTES {
                8 => std::ptr::write_unaligned(h as *mut u64, v.to_le()),
                4 => std::ptr::write_unaligned(h as *mut u32, (v as u32).to_le()),
                2 => std::ptr::write_unaligned(h as *mut u16, (v as u16).to_le()),
                _ => *h = v as u8,
            }
        }
    }
}

/// LDR/STR (register offset) (C6.2.133 ...): Rm extended by `imm` (the option field: UXTW,
/// LSL, SXTW, SXTX) and shifted by `sh` (0 or log2 of the size).
fn ldst_reg<const BYTES: u64, const LOAD: bool>(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    d: &Decoded,
) -> Flow {
    let m = xr(c, d.rm);
    let off = match d.imm {
        2 => m & 0xffff_ffff,
        6 => m as i32 as i64 as u64,
        _ => m,
    } << d.sh;
    let va = xr(c, d.rn).wrapping_add(off);
    let Some(h) = c.fast_ptr(va, BYTES, !LOAD) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned `BYTES` accessible bytes inside one RAM page.
    unsafe { access::<BYTES, LOAD>(c, h, d.rd) };
    next(c, p, d)
}

/// LDR/STR (immediate, pre- or post-indexed; `POST`) (C6.2.132 ...): offset in `imm`; the
/// base (not Rt, [`specialize`] checked) is written back.
fn ldst_idx<const BYTES: u64, const LOAD: bool, const POST: bool>(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    d: &Decoded,
) -> Flow {
    let base = xr(c, d.rn);
    let next_base = base.wrapping_add(d.imm);
    let va = if POST { base } else { next_base };
    let Some(h) = c.fast_ptr(va, BYTES, !LOAD) else { return slow(c, p, d) };
    // SAFETY: `fast_ptr` returned `BYTES` accessible bytes inside one RAM page.
    unsafe { access::<BYTES, LOAD>(c, h, d.rd) };
    set_xr(c, d.rn, next_base);
    next(c, p, d)
}

/// LDP/STP of two `BYTES` registers (Rt in `rd`, Rt2 in `rm`) at signed offset (`MODE` 2),
/// pre-index (3) or post-index (1) (C6.2.130, C6.2.273): both in one RAM page.
fn ldst_pair<const BYTES: u64, const LOAD: bool, const MODE: u8>(
    c: &mut Arm64Cpu,
    p: &mut dyn Arm64Platform,
    d: &Decoded,
) -> Flow {
    let base = xr(c, d.rn);
    let moved = base.wrapping_add(d.imm);
    let va = if MODE == 1 { base } else { moved };
    if (va & 0xfff) + 2 * BYTES > 0x1000 {
        return slow(c, p, d);
    }
    let (Some(h1), Some(h2)) = (c.fast_ptr(va, BYTES, !LOAD), c.fast_ptr(va + BYTES, BYTES, !LOAD)) else {
        return slow(c, p, d);
    };
    // SAFETY: `fast_ptr` returned `BYTES` accessible bytes inside one RAM page for each.
    unsafe {
        access::<BYTES, LOAD>(c, h1, d.rd);
        access::<BYTES, LOAD>(c, h2, d.rm);
    }
    if MODE != 2 {
        set_xr(c, d.rn, moved);
    }
    next(c, p, d)
}

/// B.cond to the target in `imm` (C6.2.27).
fn b_cond<const COND: u32>(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    if cond_holds(COND, c.nzcv) {
        if d.loops {
            return loop_back(c, p, d);
        }
        c.pc = d.imm;
        return leave(c, d);
    }
    next(c, p, d)
}

/// CBZ/CBNZ (C6.2.47-48).
fn cb<const SF: bool, const NZ: bool>(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    let v = trunc(xr(c, d.rd), SF);
    if (v != 0) == NZ {
        if d.loops {
            return loop_back(c, p, d);
        }
        c.pc = d.imm;
        return leave(c, d);
    }
    next(c, p, d)
}

/// TBZ/TBNZ (C6.2.349-350): bit `sh` of Rt.
fn tb<const NZ: bool>(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    if ((xr(c, d.rd) >> d.sh) & 1 != 0) == NZ {
        if d.loops {
            return loop_back(c, p, d);
        }
        c.pc = d.imm;
        return leave(c, d);
    }
    next(c, p, d)
}

/// B and BL (C6.2.26, C6.2.34).
fn b_imm<const LINK: bool>(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    if LINK {
        c.x[30] = d.pc.wrapping_add(4);
    } else if d.loops {
        return loop_back(c, p, d);
    }
    c.pc = d.imm;
    leave(c, d)
}

/// BR, BLR, RET (C6.2.37, C6.2.35, C6.2.219).
fn br<const LINK: bool>(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    let t = xr(c, d.rn);
    if LINK {
        c.x[30] = d.pc.wrapping_add(4);
    }
    c.pc = t;
    leave(c, d)
}

macro_rules! by_sf {
    ($sf:expr, $f:ident $(, $c:tt)*) => {
        if $sf { $f::<true $(, $c)*> as Fast } else { $f::<false $(, $c)*> as Fast }
    };
}

/// The target of a direct branch (B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ) at `pc`.
fn direct_target(raw: u32, pc: u64) -> Option<u64> {
    let off = if raw & 0x7c00_0000 == 0x1400_0000 {
        sext((bits(raw, 25, 0) as u64) << 2, 28)
    } else if raw & 0xff00_0010 == 0x5400_0000 || raw & 0x7e00_0000 == 0x3400_0000 {
        sext((bits(raw, 23, 5) as u64) << 2, 21)
    } else if raw & 0x7e00_0000 == 0x3600_0000 {
        sext((bits(raw, 18, 5) as u64) << 2, 16)
    } else {
        return None;
    };
    Some(pc.wrapping_add(off))
}

/// Whether `d` is a direct branch (B, B.cond, CBZ/CBNZ, TBZ/TBNZ; not BL) to `va`.
pub fn branches_to(d: &Decoded, va: u64) -> bool {
    d.raw & 0xfc00_0000 != 0x9400_0000 && direct_target(d.raw, d.pc) == Some(va)
}

/// The ADD/SUB handler for source `SRC`: `sub`, `s` (flags) and `wb` (Rd not XZR).
fn add_sub_fn<const SRC: u8>(sf: bool, sub: bool, s: bool, wb: bool) -> Fast {
    macro_rules! pick {
        ($($o:literal $s:literal $w:literal)*) => {
            match (sub, s, wb) {
                $(($o, $s, $w) => by_sf!(sf, add_sub, $o, $s, SRC, $w),)*
            }
        };
    }
    pick!(false false false  false false true  false true false  false true true
          true false false  true false true  true true false  true true true)
}

/// The ADDS/SUBS + B.EQ and + B.NE fused handlers for source `SRC`.
fn cmp_branch_fns<const SRC: u8>(sf: bool, sub: bool, wb: bool) -> [Fast; 2] {
    macro_rules! pick {
        ($($o:literal $w:literal)*) => {
            match (sub, wb) {
                $(($o, $w) => [
                    by_sf!(sf, cmp_branch, $o, SRC, $w, false),
                    by_sf!(sf, cmp_branch, $o, SRC, $w, true),
                ],)*
            }
        };
    }
    pick!(false false  false true  true false  true true)
}

/// Picks a specialized handler for the word in `d` and fills its operand fields; `None`
/// leaves the generic handler.
pub fn specialize(d: &mut Decoded) -> Option<Fast> {
    let i = d.raw;
    let sf = bit(i, 31);
    let rd = bits(i, 4, 0) as u8;
    let rn = bits(i, 9, 5) as u8;
    let rm = bits(i, 20, 16) as u8;
    (d.rd, d.rn, d.rm) = (rd, rn, rm);
    let op = bit(i, 30);
    let s = bit(i, 29);
    if bits(i, 28, 23) == 0b100010 {
        // ADD/SUB (immediate): Rn 31 is SP, and so is Rd unless S.
        if rn == 31 || (rd == 31 && !s) {
            return None;
        }
        d.imm = (bits(i, 21, 10) as u64) << if bit(i, 22) { 12 } else { 0 };
        let wb = rd != 31;
        if s {
            d.fused = Some(cmp_branch_fns::<IMM>(sf, op, wb));
        }
        return Some(add_sub_fn::<IMM>(sf, op, s, wb));
    }
    if bits(i, 28, 24) == 0b01011 && !bit(i, 21) {
        // ADD/SUB (shifted register); shift 3 and 32-bit amounts >= 32 are UNDEFINED.
        let (kind, amt) = (bits(i, 23, 22), bits(i, 15, 10));
        if kind == 3 || (!sf && amt >= 32) {
            return None;
        }
        (d.imm, d.sh) = (kind as u64, amt as u8);
        let shifted = amt != 0;
        let wb = rd != 31;
        if s && !shifted {
            d.fused = Some(cmp_branch_fns::<REG>(sf, op, wb));
        }
        return Some(if shifted {
            add_sub_fn::<SHIFTED>(sf, op, s, wb)
        } else {
            add_sub_fn::<REG>(sf, op, s, wb)
        });
    }
    if bits(i, 28, 24) == 0b01010 {
        // Logical (shifted register).
        let (kind, amt) = (bits(i, 23, 22), bits(i, 15, 10));
        if !sf && amt >= 32 {
            return None;
        }
        (d.imm, d.sh) = (kind as u64, amt as u8);
        let inv = bit(i, 21);
        let opc = bits(i, 30, 29);
        let shifted = amt != 0;
        // Rd 31 is XZR: only the flag-setting forms (TST, BICS) are worth keeping.
        if rd == 31 && opc != 3 {
            return None;
        }
        macro_rules! pick {
            ($($o:literal $inv:literal $sh:literal)*) => {
                match (opc, inv, shifted) {
                    $(($o, $inv, $sh) => {
                        match (rd == 31, $sh) {
                            (true, false) => by_sf!(sf, logical, $o, $inv, REG, false),
                            (true, true) => by_sf!(sf, logical, $o, $inv, SHIFTED, false),
                            (false, false) => by_sf!(sf, logical, $o, $inv, REG, true),
                            (false, true) => by_sf!(sf, logical, $o, $inv, SHIFTED, true),
                        }
                    })*
                    _ => return None,
                }
            };
        }
        return Some(pick!(
            0 false false  0 false true  0 true false  0 true true
            1 false false  1 false true  1 true false  1 true true
            2 false false  2 false true  2 true false  2 true true
            3 false false  3 false true  3 true false  3 true true
        ));
    }
    if bits(i, 28, 23) == 0b100100 {
        // Logical (immediate): Rd 31 is SP unless ANDS.
        let opc = bits(i, 30, 29);
        let n = bits(i, 22, 22);
        if (rd == 31 && opc != 3) || (!sf && n == 1) {
            return None;
        }
        let (w, _) = decode_bit_masks(n, bits(i, 15, 10), bits(i, 21, 16), true, sf)?;
        d.imm = w;
        return Some(match (opc, rd != 31) {
            (0, _) => by_sf!(sf, logical, 0, false, IMM, true),
            (1, _) => by_sf!(sf, logical, 1, false, IMM, true),
            (2, _) => by_sf!(sf, logical, 2, false, IMM, true),
            (_, true) => by_sf!(sf, logical, 3, false, IMM, true),
            _ => by_sf!(sf, logical, 3, false, IMM, false),
        });
    }
    if bits(i, 28, 23) == 0b100101 {
        // Move wide.
        let hw = bits(i, 22, 21);
        if (!sf && hw > 1) || rd == 31 {
            return None;
        }
        let pos = hw * 16;
        let imm = (bits(i, 20, 5) as u64) << pos;
        return match bits(i, 30, 29) {
            0 => {
                d.imm = trunc(!imm, sf);
                Some(movzn)
            }
            2 => {
                d.imm = imm;
                Some(movzn)
            }
            3 => {
                (d.imm, d.sh) = (imm, pos as u8);
                Some(by_sf!(sf, movk))
            }
            _ => None,
        };
    }
    if bits(i, 28, 23) == 0b100110 && bits(i, 30, 29) == 2 {
        // UBFM.
        let n = bits(i, 22, 22);
        let (immr, imms) = (bits(i, 21, 16), bits(i, 15, 10));
        if sf as u32 != n || (!sf && (immr >= 32 || imms >= 32)) || rd == 31 {
            return None;
        }
        let (w, t) = decode_bit_masks(n, imms, immr, false, sf)?;
        (d.imm, d.sh) = (w & t, immr as u8);
        return Some(by_sf!(sf, ubfm));
    }
    if bits(i, 30, 23) == 0b0010_0111 && !bit(i, 21) {
        // EXTR (op21 = 00, o0 = 0).
        let lsb = bits(i, 15, 10);
        if sf as u32 != bits(i, 22, 22) || (!sf && lsb >= 32) || lsb == 0 || rd == 31 {
            return None;
        }
        d.sh = lsb as u8;
        return Some(by_sf!(sf, extr));
    }
    if bits(i, 29, 24) == 0b111001 && bits(i, 23, 22) < 2 && rn != 31 {
        // LDR/STR (immediate, unsigned offset), general registers, zero-extending loads.
        let size = bits(i, 31, 30);
        d.imm = (bits(i, 21, 10) as u64) << size;
        let load = bits(i, 23, 22) == 1;
        if load && rd == 31 {
            return None;
        }
        return Some(match (size, load) {
            (0, false) => ldst_uimm::<1, false> as Fast,
            (0, true) => ldst_uimm::<1, true>,
            (1, false) => ldst_uimm::<2, false>,
            (1, true) => ldst_uimm::<2, true>,
            (2, false) => ldst_uimm::<4, false>,
            (2, true) => ldst_uimm::<4, true>,
            (_, false) => ldst_uimm::<8, false>,
            _ => ldst_uimm::<8, true>,
        });
    }
    if bits(i, 29, 24) == 0b111000 && bits(i, 23, 22) < 2 && rn != 31 {
        // LDR/STR register offset (bit 21 = 1, bits 11:10 = 10) or pre/post-indexed
        // immediate (bit 21 = 0, bits 11:10 = 11 / 01), general registers, zero-extending.
        let size = bits(i, 31, 30);
        let load = bits(i, 23, 22) == 1;
        if load && rd == 31 {
            return None;
        }
        macro_rules! sized {
            ($f:ident $(, $c:tt)*) => {
                match (size, load) {
                    (0, false) => $f::<1, false $(, $c)*> as Fast,
                    (0, true) => $f::<1, true $(, $c)*>,
                    (1, false) => $f::<2, false $(, $c)*>,
                    (1, true) => $f::<2, true $(, $c)*>,
                    (2, false) => $f::<4, false $(, $c)*>,
                    (2, true) => $f::<4, true $(, $c)*>,
                    (_, false) => $f::<8, false $(, $c)*>,
                    _ => $f::<8, true $(, $c)*>,
                }
            };
        }
        if bit(i, 21) && bits(i, 11, 10) == 0b10 {
            let option = bits(i, 15, 13);
            if option & 2 == 0 {
                return None; // UNDEFINED extend options
            }
            (d.imm, d.sh) = (option as u64, if bit(i, 12) { size as u8 } else { 0 });
            return Some(sized!(ldst_reg));
        }
        if !bit(i, 21) && bits(i, 10, 10) == 1 && rd != rn {
            // Writeback with Rt == Rn is CONSTRAINED UNPREDICTABLE: the generic handler's
            // choice applies.
            d.imm = sext(bits(i, 20, 12) as u64, 9);
            return Some(if bit(i, 11) { sized!(ldst_idx, false) } else { sized!(ldst_idx, true) });
        }
        return None;
    }
    if bits(i, 29, 25) == 0b10100 && bits(i, 24, 23) != 0 && rn != 31 {
        // LDP/STP (post-index 01, signed offset 10, pre-index 11) of W or X registers.
        let opc = bits(i, 31, 30);
        let load = bit(i, 22);
        let rt2 = bits(i, 14, 10) as u8;
        let mode = bits(i, 24, 23) as u8;
        let wb = mode != 2;
        // LDPSW (opc 01), Rt == Rt2 on loads and writeback onto a transfer register are
        // left to the generic handler (UNDEFINED or CONSTRAINED UNPREDICTABLE cases).
        if opc == 1
            || opc == 3
            || (load && (rd == rt2 || rd == 31 || rt2 == 31))
            || (wb && (rn == rd || rn == rt2))
        {
            return None;
        }
        let scale = 2 + (opc >> 1);
        d.rm = rt2;
        d.imm = sext(bits(i, 21, 15) as u64, 7) << scale;
        macro_rules! pair {
            ($b:literal) => {
                match (load, mode) {
                    (false, 1) => ldst_pair::<$b, false, 1> as Fast,
                    (false, 2) => ldst_pair::<$b, false, 2>,
                    (false, _) => ldst_pair::<$b, false, 3>,
                    (true, 1) => ldst_pair::<$b, true, 1>,
                    (true, 2) => ldst_pair::<$b, true, 2>,
                    (true, _) => ldst_pair::<$b, true, 3>,
                }
            };
        }
        return Some(if opc == 2 { pair!(8) } else { pair!(4) });
    }
    if let Some(t) = direct_target(i, d.pc) {
        d.imm = t;
        d.chain = true;
        if i & 0x7c00_0000 == 0x1400_0000 {
            return Some(if bit(i, 31) { b_imm::<true> } else { b_imm::<false> });
        }
        if i & 0xff00_0010 == 0x5400_0000 {
            macro_rules! conds {
                ($($n:literal)*) => {
                    match bits(i, 3, 0) {
                        $($n => b_cond::<$n> as Fast,)*
                        _ => return None,
                    }
                };
            }
            return Some(conds!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15));
        }
        if i & 0x7e00_0000 == 0x3400_0000 {
            return Some(match (sf, bit(i, 24)) {
                (false, false) => cb::<false, false>,
                (false, true) => cb::<false, true>,
                (true, false) => cb::<true, false>,
                (true, true) => cb::<true, true>,
            });
        }
        d.sh = ((bits(i, 31, 31) << 5) | bits(i, 23, 19)) as u8;
        return Some(if bit(i, 24) { tb::<true> } else { tb::<false> });
    }
    let f = match i & 0xffff_fc1f {
        0xd61f_0000 | 0xd65f_0000 => br::<false> as Fast,
        0xd63f_0000 => br::<true>,
        _ => return None,
    };
    d.chain = true;
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: u32, pc: u64) -> Decoded {
        let mut d = crate::decode::end_entry(0);
        (d.raw, d.pc) = (raw, pc);
        d
    }

    #[test]
    fn direct_targets() {
        // b.ne -36 (0x54fffee1), b +8 (0x14000002), cbz x4, +0x40 (0xb4000204)
        assert_eq!(direct_target(0x54ff_fee1, 0x1000), Some(0x1000 - 36));
        assert_eq!(direct_target(0x1400_0002, 0x1000), Some(0x1008));
        assert_eq!(direct_target(0xb400_0204, 0x1000), Some(0x1040));
        assert!(branches_to(&d(0x54ff_fee1, 0x1024), 0x1000));
        assert!(!branches_to(&d(0x9400_0000, 0x1000), 0x1000), "BL is not a loop");
        assert_eq!(direct_target(0xd65f_03c0, 0x1000), None);
    }

    #[test]
    fn specializes_only_valid_forms() {
        // add x0, x0, x1 / add x0, sp, #16 (SP: generic) / subs x4, x4, #1
        assert!(specialize(&mut d(0x8b01_0000, 0)).is_some());
        assert!(specialize(&mut d(0x9100_43e0, 0)).is_none());
        assert!(specialize(&mut d(0xf100_0484, 0)).is_some());
        // ADD (shifted register) with shift type 3: UNDEFINED, left to the generic handler.
        assert!(specialize(&mut d(0x8bc1_0000, 0)).is_none());
        // ldr x8, [x5] / ldr x8, [sp] (SP base: generic) / ldrsw (sign-extending: generic)
        assert!(specialize(&mut d(0xf940_00a8, 0)).is_some());
        assert!(specialize(&mut d(0xf940_03e8, 0)).is_none());
        assert!(specialize(&mut d(0xb980_00a8, 0)).is_none());
        // adds x0, x1, w2, uxtw (extended register) is not a load/store pair.
        let mut a = d(0xab22_4020, 0);
        assert!(specialize(&mut a).is_none());
        // stp x29, x30, [x0, #-16]! / ldp x0, x1, [x2], #16 / ldp x0, x0, [x2] (Rt == Rt2)
        assert!(specialize(&mut d(0xa9bf_7c1d, 0)).is_some());
        assert!(specialize(&mut d(0xa8c1_0440, 0)).is_some());
        assert!(specialize(&mut d(0xa940_0040, 0)).is_none());
        // ldrb w3, [x1, x2] / ldr x0, [x1], #8 / ldr x1, [x1], #8 (writeback onto Rt)
        assert!(specialize(&mut d(0x3862_6823, 0)).is_some());
        assert!(specialize(&mut d(0xf840_8420, 0)).is_some());
        assert!(specialize(&mut d(0xf840_8421, 0)).is_none());
    }
}
