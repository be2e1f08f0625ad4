//! Model-specific registers (SDM Vol 4, "Model-Specific Registers"; architectural MSRs in
//! table 2-2). Unknown MSRs and reserved bits raise #GP(0).

use crate::cpu::X86Cpu;
use crate::fault::{GP0, X};
use crate::mem::canonical;
use crate::platform::X86Platform;
use crate::state::*;
use crate::Feature;

pub const IA32_TSC: u32 = 0x10;
pub const IA32_APIC_BASE: u32 = 0x1b;
pub const IA32_FEATURE_CONTROL: u32 = 0x3a;
pub const IA32_TSC_ADJUST: u32 = 0x3b;
pub const IA32_SPEC_CTRL: u32 = 0x48;
pub const IA32_MTRRCAP: u32 = 0xfe;
pub const IA32_SYSENTER_CS: u32 = 0x174;
pub const IA32_SYSENTER_ESP: u32 = 0x175;
pub const IA32_SYSENTER_EIP: u32 = 0x176;
pub const IA32_MISC_ENABLE: u32 = 0x1a0;
pub const IA32_DEBUGCTL: u32 = 0x1d9;
pub const IA32_MTRR_PHYSBASE0: u32 = 0x200;
pub const IA32_MTRR_FIX64K: u32 = 0x250;
pub const IA32_MTRR_FIX16K_80000: u32 = 0x258;
pub const IA32_MTRR_FIX16K_A0000: u32 = 0x259;
pub const IA32_MTRR_FIX4K_C0000: u32 = 0x268;
pub const IA32_PAT: u32 = 0x277;
pub const IA32_MTRR_DEF_TYPE: u32 = 0x2ff;
pub const IA32_TSC_DEADLINE: u32 = 0x6e0;
pub const IA32_EFER: u32 = 0xc000_0080;
pub const IA32_STAR: u32 = 0xc000_0081;
pub const IA32_LSTAR: u32 = 0xc000_0082;
pub const IA32_CSTAR: u32 = 0xc000_0083;
pub const IA32_FMASK: u32 = 0xc000_0084;
pub const IA32_FS_BASE: u32 = 0xc000_0100;
pub const IA32_GS_BASE: u32 = 0xc000_0101;
pub const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;
pub const IA32_TSC_AUX: u32 = 0xc000_0103;

/// Number of variable MTRR pairs advertised in MTRRCAP.
const VAR_MTRRS: u64 = 8;

fn valid_mem_type(t: u64) -> bool {
    matches!(t, 0 | 1 | 4 | 5 | 6)
}

impl X86Cpu {
    /// RDMSR semantics.
    pub fn read_msr(&mut self, p: &mut dyn X86Platform, idx: u32) -> X<u64> {
        let m = &self.msr;
        Ok(match idx {
            IA32_TSC => self.tsc(p),
            IA32_APIC_BASE => p.apic_base(),
            IA32_FEATURE_CONTROL => m.feature_control,
            IA32_TSC_ADJUST => m.tsc_adjust,
            IA32_SPEC_CTRL => m.spec_ctrl,
            // MTRRCAP: VCNT = 8, fixed range supported, WC supported (SDM Vol 3A 13.11.1).
            IA32_MTRRCAP if self.cpuid.has(Feature::Mtrr) => VAR_MTRRS | (1 << 8) | (1 << 10),
            IA32_SYSENTER_CS if self.cpuid.has(Feature::Sep) => m.sysenter_cs,
            IA32_SYSENTER_ESP if self.cpuid.has(Feature::Sep) => m.sysenter_esp,
            IA32_SYSENTER_EIP if self.cpuid.has(Feature::Sep) => m.sysenter_eip,
            IA32_MISC_ENABLE => m.misc_enable,
            IA32_DEBUGCTL => m.debugctl,
            0x200..=0x20f if self.cpuid.has(Feature::Mtrr) => m.mtrr_var[(idx - 0x200) as usize],
            IA32_MTRR_FIX64K if self.cpuid.has(Feature::Mtrr) => m.mtrr_fixed[0],
            IA32_MTRR_FIX16K_80000 | IA32_MTRR_FIX16K_A0000 if self.cpuid.has(Feature::Mtrr) => {
                m.mtrr_fixed[(idx - IA32_MTRR_FIX16K_80000 + 1) as usize]
            }
            0x268..=0x26f if self.cpuid.has(Feature::Mtrr) => {
                m.mtrr_fixed[(idx - IA32_MTRR_FIX4K_C0000 + 3) as usize]
            }
            IA32_PAT if self.cpuid.has(Feature::Pat) => m.pat,
            IA32_MTRR_DEF_TYPE if self.cpuid.has(Feature::Mtrr) => m.mtrr_def_type,
            IA32_EFER => self.efer,
            IA32_STAR => m.star,
            IA32_LSTAR => m.lstar,
            IA32_CSTAR => m.cstar,
            IA32_FMASK => m.fmask,
            IA32_FS_BASE => self.seg[FS].base,
            IA32_GS_BASE => self.seg[GS].base,
            IA32_KERNEL_GS_BASE => m.kernel_gs_base,
            IA32_TSC_AUX if self.cpuid.has(Feature::Rdtscp) || self.cpuid.has(Feature::Rdpid) => m.tsc_aux,
            IA32_TSC_DEADLINE | 0x800..=0x8ff => p.apic_msr_read(idx).ok_or(GP0)?,
            _ => return Err(GP0),
        })
    }

    /// WRMSR semantics.
    pub fn write_msr(&mut self, p: &mut dyn X86Platform, idx: u32, v: u64) -> X<()> {
        let la_bits = self.la_bits();
        let canon = |v: u64| if canonical(v, la_bits) { Ok(v) } else { Err(GP0) };
        match idx {
            IA32_TSC => {
                let now = p.now();
                self.tsc_offset = v.wrapping_sub(now);
            }
            IA32_APIC_BASE => {
                if !p.set_apic_base(v) {
                    return Err(GP0);
                }
            }
            IA32_FEATURE_CONTROL => {
                // Locked after bit 0 is set (SDM Vol 3C 24.7); no VMX/SMX enable bits exist yet.
                if self.msr.feature_control & 1 != 0 || v & !1 != 0 {
                    return Err(GP0);
                }
                self.msr.feature_control = v;
            }
            IA32_TSC_ADJUST => {
                let delta = v.wrapping_sub(self.msr.tsc_adjust);
                self.msr.tsc_adjust = v;
                self.tsc_offset = self.tsc_offset.wrapping_add(delta);
            }
            IA32_SPEC_CTRL => return Err(GP0),
            IA32_SYSENTER_CS if self.cpuid.has(Feature::Sep) => self.msr.sysenter_cs = v & 0xffff,
            IA32_SYSENTER_ESP if self.cpuid.has(Feature::Sep) => self.msr.sysenter_esp = canon(v)?,
            IA32_SYSENTER_EIP if self.cpuid.has(Feature::Sep) => self.msr.sysenter_eip = canon(v)?,
            IA32_MISC_ENABLE => {
                // Only fast-strings (bit 0) is writable here.
                if v & !1 != 0 {
                    return Err(GP0);
                }
                self.msr.misc_enable = v;
            }
            IA32_DEBUGCTL => {
                if v != 0 {
                    return Err(GP0); // no LBR/BTF modelled
                }
            }
            0x200..=0x20f if self.cpuid.has(Feature::Mtrr) => {
                let n = (idx - 0x200) as usize;
                let rsvd = if n.is_multiple_of(2) {
                    0xff0 | !((1u64 << crate::mmu::MAXPHYADDR) - 1)
                } else {
                    0x7ff | !((1u64 << crate::mmu::MAXPHYADDR) - 1)
                };
                if v & rsvd != 0 || (n.is_multiple_of(2) && !valid_mem_type(v & 0xff)) {
                    return Err(GP0);
                }
                self.msr.mtrr_var[n] = v;
            }
            IA32_MTRR_FIX64K | IA32_MTRR_FIX16K_80000 | IA32_MTRR_FIX16K_A0000 | 0x268..=0x26f
                if self.cpuid.has(Feature::Mtrr) =>
            {
                if (0..8).any(|b| !valid_mem_type((v >> (8 * b)) & 0xff)) {
                    return Err(GP0);
                }
                let n = match idx {
                    IA32_MTRR_FIX64K => 0,
                    IA32_MTRR_FIX16K_80000 => 1,
                    IA32_MTRR_FIX16K_A0000 => 2,
                    _ => (idx - IA32_MTRR_FIX4K_C0000 + 3) as usize,
                };
                self.msr.mtrr_fixed[n] = v;
            }
            IA32_PAT if self.cpuid.has(Feature::Pat) => {
                // Each entry must be a valid type: 0, 1, 4, 5, 6, 7 (SDM Vol 3A 13.12.2).
                if (0..8).any(|b| !matches!((v >> (8 * b)) & 0xff, 0 | 1 | 4 | 5 | 6 | 7)) {
                    return Err(GP0);
                }
                self.msr.pat = v;
            }
            IA32_MTRR_DEF_TYPE if self.cpuid.has(Feature::Mtrr) => {
                if v & !0xcff != 0 || !valid_mem_type(v & 0xff) {
                    return Err(GP0);
                }
                self.msr.mtrr_def_type = v;
            }
            IA32_EFER => {
                let mut allowed = efer::SCE | efer::LME;
                if self.cpuid.has(Feature::Nx) {
                    allowed |= efer::NXE;
                }
                if v & !(allowed | efer::LMA) != 0 {
                    return Err(GP0);
                }
                // LME cannot change while paging is on (SDM Vol 3A 10.8.5); LMA is read-only.
                if self.cr0 & cr0::PG != 0 && (v ^ self.efer) & efer::LME != 0 {
                    return Err(GP0);
                }
                let changed = (self.efer ^ v) & efer::NXE;
                self.efer = (v & allowed) | (self.efer & efer::LMA);
                if changed != 0 {
                    self.tlb.flush(false);
                }
            }
            IA32_STAR => self.msr.star = v,
            IA32_LSTAR => self.msr.lstar = canon(v)?,
            IA32_CSTAR => self.msr.cstar = canon(v)?,
            IA32_FMASK => self.msr.fmask = v & 0xffff_ffff,
            IA32_FS_BASE => self.seg[FS].base = canon(v)?,
            IA32_GS_BASE => self.seg[GS].base = canon(v)?,
            IA32_KERNEL_GS_BASE => self.msr.kernel_gs_base = canon(v)?,
            IA32_TSC_AUX if self.cpuid.has(Feature::Rdtscp) || self.cpuid.has(Feature::Rdpid) => {
                if v >> 32 != 0 {
                    return Err(GP0);
                }
                self.msr.tsc_aux = v;
            }
            IA32_TSC_DEADLINE | 0x800..=0x8ff => {
                if !p.apic_msr_write(idx, v) {
                    return Err(GP0);
                }
            }
            _ => return Err(GP0),
        }
        Ok(())
    }
}
