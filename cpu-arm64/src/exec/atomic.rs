//! Atomic memory operations (FEAT_LSE, Arm ARM C3.2.12; instruction pages in C6.2) and
//! RCpc load-acquire/store-release (FEAT_LRCPC, FEAT_LRCPC2; C3.2.11):
//!
//! - CAS, CASA, CASL, CASAL in byte, halfword, word and doubleword sizes, and the pair forms
//!   CASP, CASPA, CASPL, CASPAL for words and doublewords;
//! - SWP and LDADD, LDCLR, LDEOR, LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN in every size with
//!   their acquire (A), release (L) and acquire-release (AL) forms; the ST<op> aliases are the
//!   LD<op> encodings with Rt = XZR and need no code of their own;
//! - LDAPR, LDAPRB, LDAPRH (FEAT_LRCPC) and the unscaled-immediate LDAPUR*, LDAPURS*,
//!   STLUR* (FEAT_LRCPC2).
//!
//! `decode::classify` chooses these handlers from yaxpeax-arm 0.3's opcodes (`CAS(ar)`,
//! `CASB`, `CASH`, `CASP`, `SWP`/`SWPB`/`SWPH`, `LDADD`..`LDUMIN` and their `B`/`H` forms, the
//! `u8` being the A/R bits; `LDAPR`/`LDAPRB`/`LDAPRH`; `LDAPUR*`, `LDAPURS*`, `STLUR*`); like
//! every handler they read the fields from the instruction word (C4.1.4 "Loads and Stores"
//! classes "Atomic memory operations", "Compare and swap", "Compare and swap pair",
//! "LDAPR/STLR (unscaled immediate)") and reject the unallocated field values themselves.
//!
//! Model: the machine runs one PE at a time and interleaves PEs only between scheduling
//! quanta, so a read followed by a write inside one instruction is single-copy atomic
//! (B2.2.1), and every acquire, release and RCpc ordering requirement (B2.3) is met by program
//! order. The write of an atomic goes through the ordinary store path (so a store into decoded
//! code still invalidates it); like a plain store it leaves the local exclusive monitor alone
//! (whether a store by the same PE clears it is IMPLEMENTATION DEFINED, B2.9.5), and other
//! PEs' monitors are cleared at every quantum boundary (see `ldst::exclusive`). FEAT_LSE2 is
//! not implemented, so every access here must be naturally aligned (B2.5.2).

use super::ldst::base;
use super::{bit, bits, sext};
use crate::cpu::Arm64Cpu;
use crate::exception::{fsc, Exc};
use crate::mmu::Acc;
use crate::platform::Arm64Platform;

type R = Result<(), Exc>;

/// The low `bytes` bytes.
#[inline]
fn mask(bytes: u64) -> u64 {
    if bytes == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    }
}

/// The fault checks of a read-modify-write of `total` bytes at `addr`, all made before
/// anything is read or written so that a fault leaves registers and memory unchanged (C6.2
/// CAS: "the register which is compared and loaded ... is restored").
///
/// - Alignment first: without FEAT_LSE2 an atomic access must be naturally aligned whatever
///   SCTLR_ELx.A and the memory type (B2.5.2), and the pseudocode checks alignment before
///   translation (J1 `AArch64.MemSingle`).
/// - Then read, then write permission. ESR_ELx.ISS.WnR for an atomic instruction that both
///   reads and writes is 0 if a read of the address would have generated the fault being
///   reported, and 1 otherwise (D17.2.37, ISS encoding for a Data Abort, WnR). So alignment,
///   translation, access flag and read-permission faults report WnR = 0, and only a fault the
///   write alone would take (a write-permission fault) reports WnR = 1.
///
/// CAS and CASP check write permission even when the comparison will fail: for permission
/// checking they are treated as performing both a load and a store (C6.2 CAS), and a failing
/// compare is permitted to write back the value read.
fn rmw_checks(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, addr: u64, total: u64) -> R {
    if addr & (total - 1) != 0 {
        return Err(Exc::data_abort(addr, fsc::ALIGNMENT, false));
    }
    c.translate(p, addr, Acc::Read)?;
    c.translate(p, addr, Acc::Write)?;
    Ok(())
}

/// LD<op> (C6.2 LDADD, LDCLR, LDEOR, LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN and their B/H
/// forms): loads the old value, stores `old <op> Rs`, and writes the old value to Rt
/// (zero-extended; discarded for Rt = XZR, which is the ST<op> alias, C6.2 STADD etc.).
/// A (bit 23) and R (bit 22) select acquire and release semantics, which program order
/// already provides.
pub fn ld_op(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let bytes = 1u64 << bits(i, 31, 30);
    let (rs, rn, rt) = (bits(i, 20, 16), bits(i, 9, 5), bits(i, 4, 0));
    let addr = base(c, rn)?;
    rmw_checks(c, p, addr, bytes)?;
    let m = mask(bytes);
    let v = c.xr(rs) & m;
    let old = c.read(p, addr, bytes, true, false)?;
    let sx = |x: u64| sext(x, 8 * bytes as u32) as i64;
    // MemAtomicOp (J1 shared pseudocode): opc 000 ADD, 001 BIC, 010 EOR, 011 ORR, 100 SMAX,
    // 101 SMIN, 110 UMAX, 111 UMIN.
    let new = match bits(i, 14, 12) {
        0 => old.wrapping_add(v),
        1 => old & !v,
        2 => old ^ v,
        3 => old | v,
        4 => {
            if sx(old) >= sx(v) {
                old
            } else {
                v
            }
        }
        5 => {
            if sx(old) <= sx(v) {
                old
            } else {
                v
            }
        }
        6 => old.max(v),
        _ => old.min(v),
    } & m;
    c.write(p, addr, bytes, new, true, false)?;
    c.set_xr(rt, old);
    Ok(())
}

/// SWP, SWPA, SWPL, SWPAL and their B/H forms (C6.2 SWP): stores Rs and writes the old value
/// to Rt (zero-extended).
pub fn swp(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let bytes = 1u64 << bits(i, 31, 30);
    let (rs, rn, rt) = (bits(i, 20, 16), bits(i, 9, 5), bits(i, 4, 0));
    let addr = base(c, rn)?;
    rmw_checks(c, p, addr, bytes)?;
    let v = c.xr(rs) & mask(bytes);
    let old = c.read(p, addr, bytes, true, false)?;
    c.write(p, addr, bytes, v, true, false)?;
    c.set_xr(rt, old);
    Ok(())
}

/// CAS, CASA, CASL, CASAL and their B/H forms (C6.2 CAS, CASB, CASH): compares the memory
/// value with Rs, stores Rt if they are equal, and writes the value read to Rs
/// (zero-extended). L (bit 22) is acquire, o0 (bit 15) release.
///
/// When the comparison fails the architecture permits either no write or a write of the
/// value read (C6.2 CAS); this model does not write, so a failing CAS has no effect on memory
/// (and does not invalidate decoded code or touch MMIO a second time).
pub fn cas(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    // Rt2 (bits 14:10) other than 11111 is unallocated (C4.1.4 "Compare and swap").
    if bits(i, 14, 10) != 31 {
        return Err(Exc::undef());
    }
    let bytes = 1u64 << bits(i, 31, 30);
    let (rs, rn, rt) = (bits(i, 20, 16), bits(i, 9, 5), bits(i, 4, 0));
    let addr = base(c, rn)?;
    rmw_checks(c, p, addr, bytes)?;
    let m = mask(bytes);
    let (expected, new) = (c.xr(rs) & m, c.xr(rt) & m);
    let old = c.read(p, addr, bytes, true, false)?;
    if old == expected {
        c.write(p, addr, bytes, new, true, false)?;
    }
    c.set_xr(rs, old);
    Ok(())
}

/// CASP, CASPA, CASPL, CASPAL (C6.2 CASP): compares the pair at the address (naturally
/// aligned to the pair's size: 8 bytes for words, 16 for doublewords) with Rs:R(s+1), stores
/// Rt:R(t+1) if both are equal, and writes the pair read to Rs and R(s+1). With little-endian
/// data (the only endianness implemented, ID_AA64MMFR0_EL1.BigEnd = 0) Rs and Rt go to the
/// lower address. Rs or Rt odd is CONSTRAINED UNPREDICTABLE (K1.2, CASP); the choice made
/// here is UNDEFINED. Rs = 30 pairs X30 with XZR, as the pseudocode's X[s + 1] does.
pub fn casp(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let bytes = if bit(i, 30) { 8u64 } else { 4 };
    let (rs, rn, rt) = (bits(i, 20, 16), bits(i, 9, 5), bits(i, 4, 0));
    // Rt2 (bits 14:10) other than 11111 is unallocated (C4.1.4 "Compare and swap pair").
    if rs & 1 != 0 || rt & 1 != 0 || bits(i, 14, 10) != 31 {
        return Err(Exc::undef());
    }
    let addr = base(c, rn)?;
    rmw_checks(c, p, addr, 2 * bytes)?;
    let m = mask(bytes);
    let (s1, s2) = (c.xr(rs) & m, c.xr(rs + 1) & m);
    let (t1, t2) = (c.xr(rt) & m, c.xr(rt + 1) & m);
    let hi_addr = addr.wrapping_add(bytes);
    let lo = c.read(p, addr, bytes, true, false)?;
    let hi = c.read(p, hi_addr, bytes, true, false)?;
    if lo == s1 && hi == s2 {
        c.write(p, addr, bytes, t1, true, false)?;
        c.write(p, hi_addr, bytes, t2, true, false)?;
    }
    c.set_xr(rs, lo);
    c.set_xr(rs + 1, hi);
    Ok(())
}

/// LDAPR, LDAPRB, LDAPRH (C6.2 LDAPR, FEAT_LRCPC): a load-acquire RCpc of the size in bits
/// 31:30, zero-extended into Rt. Like every load-acquire it must be naturally aligned
/// (B2.5.2). Rs (bits 20:16) is should-be-one; other values are CONSTRAINED UNPREDICTABLE and
/// are ignored here (executing as if the bits had their should-be values is one of the
/// permitted behaviours, K1.1).
pub fn ldapr(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let bytes = 1u64 << bits(i, 31, 30);
    let (rn, rt) = (bits(i, 9, 5), bits(i, 4, 0));
    let addr = base(c, rn)?;
    if addr & (bytes - 1) != 0 {
        return Err(Exc::data_abort(addr, fsc::ALIGNMENT, false));
    }
    let v = c.read(p, addr, bytes, true, false)?;
    c.set_xr(rt, v);
    Ok(())
}

/// LDAPUR, LDAPURB, LDAPURH, LDAPURSB, LDAPURSH, LDAPURSW and STLUR, STLURB, STLURH (C6.2,
/// FEAT_LRCPC2): base plus a signed 9-bit byte offset, no writeback. opc (bits 23:22): 00
/// store-release, 01 load-acquire zero-extending, 10 sign-extending to 64 bits, 11
/// sign-extending to 32 bits; size 11 with opc 1x and size 10 with opc 11 are unallocated
/// (C4.1.4). The accesses are ordered, so they must be naturally aligned (B2.5.2).
pub fn rcpc_unscaled(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let size = bits(i, 31, 30);
    let opc = bits(i, 23, 22);
    if (size == 3 && opc >= 2) || (size == 2 && opc == 3) {
        return Err(Exc::undef());
    }
    let bytes = 1u64 << size;
    let (rn, rt) = (bits(i, 9, 5), bits(i, 4, 0));
    let addr = base(c, rn)?.wrapping_add(sext(bits(i, 20, 12) as u64, 9));
    let store = opc == 0;
    if addr & (bytes - 1) != 0 {
        return Err(Exc::data_abort(addr, fsc::ALIGNMENT, store));
    }
    if store {
        let v = c.xr(rt);
        return c.write(p, addr, bytes, v, true, false);
    }
    let v = c.read(p, addr, bytes, true, false)?;
    let v = match opc {
        1 => v,
        2 => sext(v, 8 * bytes as u32),
        _ => sext(v, 8 * bytes as u32) & 0xffff_ffff,
    };
    c.set_xr(rt, v);
    Ok(())
}
