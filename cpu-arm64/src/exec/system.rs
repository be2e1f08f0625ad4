//! Exception generation, system register moves, PSTATE field writes, hints, cache and TLB
//! maintenance, address translation instructions (Arm ARM C4.1.3 "Branches, Exception
//! Generating and System instructions"; C5 system instructions; C6.2 semantics).

use super::{bit, bits};
use crate::cpu::{Arm64Cpu, RunState};
use crate::exception::Exc;
use crate::mmu::Acc;
use crate::platform::{Arm64Platform, Conduit};

type R = Result<(), Exc>;

/// SVC, HVC, SMC, BRK, HLT (C6.2.340, C6.2.105, C6.2.250, C6.2.36, C6.2.104).
pub fn exc_gen(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let imm = bits(i, 20, 5) as u16;
    if bits(i, 4, 2) != 0 {
        return Err(Exc::undef());
    }
    match (bits(i, 23, 21), bits(i, 1, 0)) {
        (0, 1) => Err(Exc::svc(imm)),
        (0, 2) => {
            // HVC is UNDEFINED at EL0, and when SCR_EL3.HCE is 0 (C6.2.105).
            if c.el == 0 || c.sys.scr_el3 & (1 << 8) == 0 {
                return Err(Exc::undef());
            }
            if c.fw_hvc && c.el < 2 && firmware(c, p, Conduit::Hvc) {
                return Ok(());
            }
            Err(Exc::hvc(imm))
        }
        (0, 3) => {
            if c.el == 0 {
                return Err(Exc::undef());
            }
            // HCR_EL2.TSC traps SMC from EL1 to EL2 (D1.10.4), reported with EC 0x17.
            if c.el == 1 && c.sys.el2_enabled() && c.sys.hcr_el2 & (1 << 19) != 0 {
                return Err(Exc { target: 2, ..Exc::smc(imm) });
            }
            if c.sys.scr_el3 & (1 << 7) != 0 {
                return Err(Exc::undef()); // SCR_EL3.SMD
            }
            if c.fw_smc && c.el < 3 && firmware(c, p, Conduit::Smc) {
                return Ok(());
            }
            Err(Exc::smc(imm))
        }
        // BRK: a debug exception, routed like the others (to EL2 with MDCR_EL2.TDE or
        // HCR_EL2.TGE, D2.3), never to a lower EL.
        (1, 0) => Err(Exc { target: c.debug_target().max(c.el), ..Exc::brk(imm) }),
        // HLT: the board may trap it (Arm semihosting uses HLT #0xF000 in AArch64).
        (2, 0) if p.halt_call(c, imm) => {
            c.exit_block = true;
            Ok(())
        }
        // HLT with halting debug disabled is UNDEFINED (C6.2.104).
        _ => Err(Exc::undef()),
    }
}

/// Hands an HVC/SMC #0 to the board's firmware model (SMCCC: x0-x17 in and out).
fn firmware(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, conduit: Conduit) -> bool {
    let mut regs = [0u64; 18];
    regs.copy_from_slice(&c.x[..18]);
    if !p.firmware_call(conduit, &mut regs) {
        return false;
    }
    c.x[..18].copy_from_slice(&regs);
    c.exit_block = true;
    true
}

/// MRS and MSR (register) (C6.2.196, C6.2.199), and MSR (immediate) to PSTATE fields
/// (C6.2.198).
pub fn msr_mrs(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    let rt = bits(i, 4, 0);
    if bits(i, 20, 19) == 0 {
        return msr_imm(c, i);
    }
    if bit(i, 21) {
        let v = c.mrs(p, i)?;
        c.set_xr(rt, v);
        Ok(())
    } else {
        let v = c.xr(rt);
        c.msr(p, i, v)
    }
}

fn msr_imm(c: &mut Arm64Cpu, i: u32) -> R {
    let op1 = bits(i, 18, 16);
    let op2 = bits(i, 7, 5);
    let crm = bits(i, 11, 8) as u64;
    match (op1, op2) {
        (0, 5) => {
            if c.el == 0 {
                return Err(Exc::undef());
            }
            c.spsel = crm & 1 != 0;
        }
        (3, 6) | (3, 7) => {
            if c.el == 0 && c.el0_sctlr() & (1 << 9) == 0 {
                return Err(Exc::sysreg_trap(i, 1));
            }
            if op2 == 6 {
                c.daif |= crm << 6;
            } else {
                c.daif &= !(crm << 6);
            }
        }
        (0, 4) => {
            if c.el == 0 {
                return Err(Exc::undef());
            }
            c.pan = crm & 1 != 0;
        }
        // MSR UAO, #imm (FEAT_UAO, C6.2.198).
        (0, 3) => {
            if c.el == 0 {
                return Err(Exc::undef());
            }
            c.uao = crm & 1 != 0;
        }
        _ => return Err(Exc::undef()),
    }
    c.exit_block = true;
    Ok(())
}

/// HINT space (C6.2.103): NOP, YIELD, WFE, WFI, SEV, SEVL; every other hint (including
/// the pointer-authentication and BTI hints of features not implemented) executes as NOP.
pub fn hint(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    match bits(i, 11, 5) {
        3 => {
            // WFI traps: SCTLR_EL1.nTWI from EL0 (D1.6.3); HCR_EL2.TWI from EL0/EL1.
            if c.el == 0 && c.el0_sctlr() & (1 << 16) == 0 {
                return Err(Exc::wfx_trap(false, 1));
            }
            if c.el < 2 && c.sys.el2_enabled() && c.sys.hcr_el2 & (1 << 13) != 0 {
                return Err(Exc::wfx_trap(false, 2));
            }
            if !(p.irq_pending() || p.fiq_pending()) {
                c.state = RunState::Waiting;
                c.stats.halts += 1;
            }
            c.exit_block = true;
        }
        // WFE completes at once: the architecture allows it to complete at any time
        // (D1.6.1), and events from other PEs are not modelled.
        2 if c.el == 0 && c.el0_sctlr() & (1 << 18) == 0 => return Err(Exc::wfx_trap(true, 1)),
        _ => {}
    }
    Ok(())
}

/// CLREX (C6.2.56).
pub fn clrex(c: &mut Arm64Cpu, _p: &mut dyn Arm64Platform, _i: u32) -> R {
    c.excl = None;
    Ok(())
}

/// SYS: IC, DC, AT and TLBI (C5.3; C6.2.336). SYSL has no allocated encodings here.
pub fn sys(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, i: u32) -> R {
    if bit(i, 21) {
        return Err(Exc::undef());
    }
    let op1 = bits(i, 18, 16);
    let crn = bits(i, 15, 12);
    let crm = bits(i, 11, 8);
    let op2 = bits(i, 7, 5);
    let rt = bits(i, 4, 0);
    let v = c.xr(rt);
    let min_el = match op1 {
        3 => 0,
        4 => 2,
        6 => 3,
        _ => 1,
    };
    if c.el < min_el {
        return Err(Exc::undef());
    }
    let uci = c.el0_sctlr() & (1 << 26) != 0;
    match (crn, op1, crm, op2) {
        // IC IALLUIS, IC IALLU: no instruction cache is modelled (stores already
        // invalidate decoded code).
        (7, 0, 1, 0) | (7, 0, 5, 0) => Ok(()),
        (7, 3, 5, 1) => {
            if c.el == 0 && !uci {
                return Err(Exc::sysreg_trap(i, 1));
            }
            Ok(())
        }
        // DC ZVA (C5.3.14): zero the 64-byte block (DCZID_EL0.BS = 4) containing the address.
        (7, 3, 4, 1) => {
            if c.el == 0 && c.el0_sctlr() & (1 << 14) == 0 {
                return Err(Exc::sysreg_trap(i, 1));
            }
            let base = v & !63;
            c.translate(p, base, Acc::Write)?;
            for k in 0..8 {
                c.write(p, base + 8 * k, 8, 0, false, false)?;
            }
            Ok(())
        }
        // DC CVAC, CVAU, CIVAC, CVAP: by VA to the point of coherency/unification; they
        // can fault like a read (D8.x), otherwise no effect without a cache model.
        (7, 3, 10, 1) | (7, 3, 11, 1) | (7, 3, 14, 1) | (7, 3, 12, 1) => {
            if c.el == 0 && !uci {
                return Err(Exc::sysreg_trap(i, 1));
            }
            c.translate_dc(p, v, false)
        }
        // DC IVAC needs write permission (mmu::translate_dc).
        (7, 0, 6, 1) => c.translate_dc(p, v, true),
        // DC ISW, CSW, CISW (set/way): no cache to clean.
        (7, 0, 6, 2) | (7, 0, 10, 2) | (7, 0, 14, 2) => Ok(()),
        // AT S1E1R/W, S1E0R/W, S1E2R/W, S1E3R/W, S12E1R/W, S12E0R/W (C5.5).
        (7, 0, 8, op2) if op2 < 4 => c.at(p, v, op2 & 1 != 0, op2 >= 2, 1, false),
        (7, 4, 8, op2) if op2 < 2 => c.at(p, v, op2 & 1 != 0, false, 2, false),
        (7, 4, 8, op2) if op2 >= 4 => c.at(p, v, op2 & 1 != 0, op2 >= 6, 1, true),
        (7, 6, 8, op2) if op2 < 2 => c.at(p, v, op2 & 1 != 0, false, 3, false),
        // TLBI (C5.5.x, mmu::tlbi). HCR_EL2.TTLB traps EL1's to EL2 (D17.2.48).
        (8, 0 | 4 | 6, _, _) => {
            if c.el == 1 && c.sys.el2_enabled() && c.sys.hcr_el2 & (1 << 25) != 0 {
                return Err(Exc::sysreg_trap(i, 2));
            }
            c.tlbi(op1, crm, op2, v).ok_or(Exc::undef())?;
            c.exit_block = true;
            Ok(())
        }
        _ => Err(Exc::undef()),
    }
}
