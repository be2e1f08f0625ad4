//! Scalar floating point (Arm ARM C4.1.6 "Data Processing -- Scalar Floating-Point"; C7.2
//! instruction pages): 1/2/3-source arithmetic, compares, conditional compare and select,
//! FMOV (immediate, register, general), conversions to and from integers and fixed point,
//! and FCVT between half, single and double. Also the SIMD&FP register file accessors and
//! the FP/AdvSIMD access traps (CPACR_EL1.FPEN, CPTR_EL2.TFP, CPTR_EL3.TFP; D1 and the
//! register pages), shared by all SIMD&FP handlers. The arithmetic is in [`super::softfp`].

use super::softfp::{Ctx, Fmt, Rm, D, H, S};
use super::{bit, bits, cond_holds};
use crate::cpu::Arm64Cpu;
use crate::exception::Exc;

type R = Result<(), Exc>;

/// ISS of an EC 0x07 trap from AArch64: CV = 1, COND = 0b1110 (D17.2.37).
const FP_TRAP_ISS: u32 = 1 << 24 | 0xe << 20;

impl Arm64Cpu {
    /// AArch64.CheckFPAdvSIMDEnabled: CPACR_EL1.FPEN at EL0/EL1 (to EL1, or EL2 with
    /// HCR_EL2.TGE), CPTR_EL2.TFP below EL3 when EL2 is enabled, CPTR_EL3.TFP (D1, and the
    /// CPACR_EL1/CPTR_EL2/CPTR_EL3 register pages).
    pub(crate) fn check_fp(&self) -> R {
        let s = &self.sys;
        // In the host ({E2H, TGE} = {1, 1}) CPACR_EL1 does not control EL0 (FEAT_VHE).
        if self.el <= 1 && !s.in_host() {
            let fpen = (s.cpacr_el1 >> 20) & 3;
            let disabled = match fpen {
                0 | 2 => true,
                1 => self.el == 0,
                _ => false,
            };
            if disabled {
                // AArch64.AdvSIMDFPAccessTrap: routed to EL2 by HCR_EL2.TGE, the exception
                // is reported as Uncategorized (EC 0x00), otherwise EC 0x07 to EL1.
                if self.el == 0 && s.tge() && s.el2_enabled() {
                    return Err(Exc { target: 2, ..Exc::undef() });
                }
                return Err(Exc { iss: FP_TRAP_ISS, ..Exc::fp_trap(1) });
            }
        }
        if self.el <= 2 && s.el2_enabled() && self.cptr_el2_traps_fp() {
            return Err(Exc { iss: FP_TRAP_ISS, ..Exc::fp_trap(2) });
        }
        if s.cptr_el3 & (1 << 10) != 0 {
            return Err(Exc { iss: FP_TRAP_ISS, ..Exc::fp_trap(3) });
        }
        Ok(())
    }

    /// Element `idx` of `esize` bits of V`n`.
    #[inline]
    pub fn velt(&self, n: u32, idx: u32, esize: u32) -> u64 {
        elt(self.v[n as usize], idx, esize)
    }

    /// Writes the low `bits` of V`n` and clears the rest (scalar writes, B1.2.1).
    #[inline]
    pub fn set_vlow(&mut self, n: u32, val: u128, bits: u32) {
        let m = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
        self.v[n as usize] = val & m;
    }

    /// Runs `f` with a context holding FPCR, then ORs the flags raised into FPSR.
    #[inline]
    pub(crate) fn with_fp<T>(&mut self, f: impl FnOnce(&mut Ctx) -> T) -> T {
        let mut ctx = Ctx::new(self.fpcr);
        let r = f(&mut ctx);
        self.fpsr |= ctx.flags as u64;
        r
    }
}

/// Element `idx` of `esize` bits of a 128-bit value.
#[inline]
pub fn elt(v: u128, idx: u32, esize: u32) -> u64 {
    let m = if esize >= 64 { u64::MAX } else { (1u64 << esize) - 1 };
    (v >> (idx * esize)) as u64 & m
}

/// `v` with element `idx` of `esize` bits replaced by `x`.
#[inline]
pub fn set_elt(v: u128, idx: u32, esize: u32, x: u64) -> u128 {
    let m: u128 = if esize >= 64 { u64::MAX as u128 } else { (1u128 << esize) - 1 };
    let sh = idx * esize;
    (v & !(m << sh)) | ((x as u128 & m) << sh)
}

/// The format of a scalar ftype field (bits 23:22); half precision (FEAT_FP16 arithmetic)
/// is not implemented.
fn ftype(i: u32) -> Result<Fmt, Exc> {
    match bits(i, 23, 22) {
        0 => Ok(S),
        1 => Ok(D),
        _ => Err(Exc::undef()),
    }
}

/// VFPExpandImm (J1): the 8-bit FMOV immediate in format `f`.
pub fn expand_imm(f: Fmt, imm8: u32) -> u64 {
    let sign = (imm8 >> 7) as u64 & 1;
    let b6 = (imm8 >> 6) as u64 & 1;
    let e = f.e;
    let exp =
        (b6 ^ 1) << (e - 1) | (if b6 != 0 { (1u64 << (e - 3)) - 1 } else { 0 }) << 2 | (imm8 >> 4) as u64 & 3;
    let frac = ((imm8 & 15) as u64) << (f.f - 4);
    sign << (e + f.f) | exp << f.f | frac
}

/// Scalar FP encodings (op0 = x0x1 in the SIMD&FP data-processing space).
pub fn scalar(c: &mut Arm64Cpu, i: u32) -> R {
    if bit(i, 29) {
        return Err(Exc::undef());
    }
    // Bit 31 is sf in the conversion classes, M (must be 0) elsewhere.
    if !bit(i, 24) && !bit(i, 21) {
        return fixed_conv(c, i);
    }
    if !bit(i, 24) && bits(i, 15, 10) == 0 {
        return int_conv(c, i);
    }
    if bit(i, 31) {
        return Err(Exc::undef());
    }
    if bit(i, 24) {
        return three_source(c, i);
    }
    if bits(i, 14, 10) == 0b10000 {
        return one_source(c, i);
    }
    if bits(i, 13, 10) == 0b1000 {
        return compare(c, i);
    }
    if bits(i, 12, 10) == 0b100 {
        // FMOV (scalar, immediate).
        if bits(i, 9, 5) != 0 {
            return Err(Exc::undef());
        }
        let f = ftype(i)?;
        let v = expand_imm(f, bits(i, 20, 13));
        c.set_vlow(bits(i, 4, 0), v as u128, f.n());
        return Ok(());
    }
    let f = ftype(i)?;
    let (rd, rn, rm) = (bits(i, 4, 0), bits(i, 9, 5), bits(i, 20, 16));
    let a = c.velt(rn, 0, f.n());
    let b = c.velt(rm, 0, f.n());
    match bits(i, 11, 10) {
        0b01 => {
            // FCCMP / FCCMPE.
            let cond = bits(i, 15, 12);
            if cond_holds(cond, c.nzcv) {
                let signal = bit(i, 4);
                let r = c.with_fp(|x| x.compare(f, a, b, signal));
                c.nzcv = (r as u64) << 28;
            } else {
                c.nzcv = (bits(i, 3, 0) as u64) << 28;
            }
            Ok(())
        }
        0b11 => {
            // FCSEL.
            let r = if cond_holds(bits(i, 15, 12), c.nzcv) { a } else { b };
            c.set_vlow(rd, r as u128, f.n());
            Ok(())
        }
        0b10 => {
            let r = c.with_fp(|x| {
                Ok(match bits(i, 15, 12) {
                    0 => x.mul(f, a, b),
                    1 => x.div(f, a, b),
                    2 => x.add(f, a, b),
                    3 => x.sub(f, a, b),
                    4 => x.minmax(f, a, b, true, false),
                    5 => x.minmax(f, a, b, false, false),
                    6 => x.minmax(f, a, b, true, true),
                    7 => x.minmax(f, a, b, false, true),
                    8 => f.neg(x.mul(f, a, b)),
                    _ => return Err(Exc::undef()),
                })
            })?;
            c.set_vlow(rd, r as u128, f.n());
            Ok(())
        }
        _ => Err(Exc::undef()),
    }
}

/// FMADD/FMSUB/FNMADD/FNMSUB (FPMulAdd with FPNeg of the operands).
fn three_source(c: &mut Arm64Cpu, i: u32) -> R {
    let f = ftype(i)?;
    let (rd, rn, rm, ra) = (bits(i, 4, 0), bits(i, 9, 5), bits(i, 20, 16), bits(i, 14, 10));
    let n = f.n();
    let (mut a, b, mut acc) = (c.velt(rn, 0, n), c.velt(rm, 0, n), c.velt(ra, 0, n));
    let (o1, o0) = (bit(i, 21), bit(i, 15));
    if o1 {
        acc = f.neg(acc);
    }
    if o0 != o1 {
        a = f.neg(a);
    }
    let r = c.with_fp(|x| x.muladd(f, acc, a, b));
    c.set_vlow(rd, r as u128, n);
    Ok(())
}

/// FP data-processing (1 source).
fn one_source(c: &mut Arm64Cpu, i: u32) -> R {
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
    let opc = bits(i, 20, 15);
    if opc >> 2 == 1 {
        // FCVT: ftype is the source, opc<1:0> the destination (00 S, 01 D, 11 H).
        let src = match bits(i, 23, 22) {
            0 => S,
            1 => D,
            3 => H,
            _ => return Err(Exc::undef()),
        };
        let dst = match opc & 3 {
            0 => S,
            1 => D,
            3 => H,
            _ => return Err(Exc::undef()),
        };
        if src == dst {
            return Err(Exc::undef());
        }
        let a = c.velt(rn, 0, src.n());
        let r = c.with_fp(|x| {
            let rm = x.rmode();
            x.convert(src, dst, a, rm)
        });
        c.set_vlow(rd, r as u128, dst.n());
        return Ok(());
    }
    let f = ftype(i)?;
    let a = c.velt(rn, 0, f.n());
    let r = c.with_fp(|x| {
        let cur = x.rmode();
        Ok(match opc {
            0 => a,
            1 => f.abs(a),
            2 => f.neg(a),
            3 => x.sqrt(f, a),
            8 => x.round_int(f, a, Rm::TieEven, false),
            9 => x.round_int(f, a, Rm::PosInf, false),
            10 => x.round_int(f, a, Rm::NegInf, false),
            11 => x.round_int(f, a, Rm::Zero, false),
            12 => x.round_int(f, a, Rm::TieAway, false),
            14 => x.round_int(f, a, cur, true),
            15 => x.round_int(f, a, cur, false),
            _ => return Err(Exc::undef()),
        })
    })?;
    c.set_vlow(rd, r as u128, f.n());
    Ok(())
}

/// FCMP / FCMPE (register or #0.0).
fn compare(c: &mut Arm64Cpu, i: u32) -> R {
    if bits(i, 15, 14) != 0 || bits(i, 2, 0) != 0 {
        return Err(Exc::undef());
    }
    let f = ftype(i)?;
    let a = c.velt(bits(i, 9, 5), 0, f.n());
    // FCMP #0.0: Rm is should-be-zero and ignored.
    let b = if bit(i, 3) { 0 } else { c.velt(bits(i, 20, 16), 0, f.n()) };
    let signal = bit(i, 4);
    let r = c.with_fp(|x| x.compare(f, a, b, signal));
    c.nzcv = (r as u64) << 28;
    Ok(())
}

/// The rounding of an FCVT<x>S/U rmode:opcode<2:1> pair.
fn cvt_rounding(rmode: u32, opc: u32) -> Rm {
    if opc >> 1 == 2 {
        Rm::TieAway
    } else {
        match rmode {
            0 => Rm::TieEven,
            1 => Rm::PosInf,
            2 => Rm::NegInf,
            _ => Rm::Zero,
        }
    }
}

/// Conversions between FP and integer registers, FMOV (general).
fn int_conv(c: &mut Arm64Cpu, i: u32) -> R {
    let sf = bit(i, 31);
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
    let rmode = bits(i, 20, 19);
    let opc = bits(i, 18, 16);
    let ty = bits(i, 23, 22);
    let ibits = if sf { 64 } else { 32 };
    if opc >> 1 == 3 {
        // FMOV (general): 32-bit W<->S, 64-bit X<->D, X<->V.D[1].
        let to_fp = opc & 1 != 0;
        match (sf, ty, rmode) {
            (false, 0, 0) | (true, 1, 0) => {
                let n = ibits;
                if to_fp {
                    let v = c.xr(rn);
                    c.set_vlow(rd, v as u128, n);
                } else {
                    let v = c.velt(rn, 0, n);
                    c.set_xr(rd, v);
                }
            }
            (true, 2, 1) => {
                if to_fp {
                    let v = c.xr(rn);
                    c.v[rd as usize] = set_elt(c.v[rd as usize], 1, 64, v);
                } else {
                    let v = c.velt(rn, 1, 64);
                    c.set_xr(rd, v);
                }
            }
            _ => return Err(Exc::undef()),
        }
        return Ok(());
    }
    let f = ftype(i)?;
    if opc >> 1 == 1 {
        // SCVTF / UCVTF (rmode 00 only).
        if rmode != 0 {
            return Err(Exc::undef());
        }
        let unsigned = opc & 1 != 0;
        let x = c.xr(rn);
        let r = c.with_fp(|ctx| {
            let rm = ctx.rmode();
            ctx.from_fixed(f, x, 0, unsigned, ibits, rm)
        });
        c.set_vlow(rd, r as u128, f.n());
        return Ok(());
    }
    if opc >> 1 == 2 && rmode != 0 {
        return Err(Exc::undef());
    }
    let rm = cvt_rounding(rmode, opc);
    let unsigned = opc & 1 != 0;
    let a = c.velt(rn, 0, f.n());
    let r = c.with_fp(|ctx| ctx.to_fixed(f, a, 0, unsigned, ibits, rm));
    c.set_xr(rd, r);
    Ok(())
}

/// Conversions between FP and fixed point (SCVTF/UCVTF/FCVTZS/FCVTZU with #fbits).
fn fixed_conv(c: &mut Arm64Cpu, i: u32) -> R {
    let sf = bit(i, 31);
    let scale = bits(i, 15, 10);
    if !sf && scale < 32 {
        return Err(Exc::undef());
    }
    let f = ftype(i)?;
    let fbits = 64 - scale;
    let ibits = if sf { 64 } else { 32 };
    let (rd, rn) = (bits(i, 4, 0), bits(i, 9, 5));
    match bits(i, 20, 16) {
        0b00010 | 0b00011 => {
            let unsigned = bit(i, 16);
            let x = c.xr(rn);
            let r = c.with_fp(|ctx| {
                let rm = ctx.rmode();
                ctx.from_fixed(f, x, fbits, unsigned, ibits, rm)
            });
            c.set_vlow(rd, r as u128, f.n());
        }
        0b11000 | 0b11001 => {
            let unsigned = bit(i, 16);
            let a = c.velt(rn, 0, f.n());
            let r = c.with_fp(|ctx| ctx.to_fixed(f, a, fbits, unsigned, ibits, Rm::Zero));
            c.set_xr(rd, r);
        }
        _ => return Err(Exc::undef()),
    }
    Ok(())
}
