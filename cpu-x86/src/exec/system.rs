//! System instructions: descriptor tables (LGDT/LIDT/SGDT/SIDT/LLDT/SLDT/LTR/STR), control
//! and debug registers, RDMSR/WRMSR, CPUID, RDTSC/RDTSCP/RDPID, INVLPG/INVPCID, CLTS,
//! LMSW/SMSW, LAR/LSL/VERR/VERW, SWAPGS, SYSCALL/SYSRET, SYSENTER/SYSEXIT, RD/WR FS/GS base,
//! RDPKRU/WRPKRU, XGETBV, WBINVD/INVD, CLFLUSH and the fences (SDM Vol 2 and Vol 3A ch. 2, 5).

use super::operand::{gpr, trunc};
use crate::cpu::X86Cpu;
use crate::fault::{GP0, UD_, X};
use crate::mem::canonical;
use crate::platform::X86Platform;
use crate::state::*;
use crate::Feature;
use iced_x86::{Instruction, Mnemonic, OpKind, Register};

impl X86Cpu {
    fn need_cpl0(&self) -> X<()> {
        if self.cpl != 0 {
            Err(GP0)
        } else {
            Ok(())
        }
    }
    fn need_protected(&self) -> X<()> {
        if self.mode == Mode::Real {
            Err(UD_)
        } else {
            Ok(())
        }
    }
}

/// LGDT, LIDT, SGDT, SIDT.
pub fn dtr(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let m = i.mnemonic();
    if i.op0_kind() != OpKind::Memory {
        return Err(UD_);
    }
    let (seg, off) = c.ea(i);
    let long = c.mode == Mode::Long64;
    match m {
        Mnemonic::Lgdt | Mnemonic::Lidt => {
            c.need_cpl0()?;
            let limit = c.read_mem(p, seg, off, 2)? as u16;
            let mut base = c.read_mem(p, seg, off.wrapping_add(2), if long { 8 } else { 4 })?;
            if !long && c.op_size_is16(i) {
                base &= 0xff_ffff; // 16-bit operand size loads a 24-bit base
            }
            if long && !canonical(base, c.la_bits()) {
                return Err(GP0);
            }
            let t = TableReg { base, limit };
            if m == Mnemonic::Lgdt {
                c.gdtr = t;
            } else {
                c.idtr = t;
            }
        }
        _ => {
            // UMIP blocks SGDT/SIDT at CPL > 0 (SDM Vol 3A 2.5, CR4.UMIP).
            if c.cr4 & cr4::UMIP != 0 && c.cpl > 0 {
                return Err(GP0);
            }
            let t = if m == Mnemonic::Sgdt { c.gdtr } else { c.idtr };
            c.write_mem(p, seg, off, 2, t.limit as u64)?;
            c.write_mem(
                p,
                seg,
                off.wrapping_add(2),
                if long { 8 } else { 4 },
                if long { t.base } else { t.base & 0xffff_ffff },
            )?;
        }
    }
    Ok(())
}

impl X86Cpu {
    fn op_size_is16(&self, i: &Instruction) -> bool {
        i.code().op_code().operand_size() == 16
            || (i.code().op_code().operand_size() == 0 && self.mode.bitness() == 16)
    }
}

/// LLDT, LTR, SLDT, STR.
pub fn ldt_tr(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    c.need_protected()?;
    let m = i.mnemonic();
    if matches!(m, Mnemonic::Sldt | Mnemonic::Str) {
        if c.cr4 & cr4::UMIP != 0 && c.cpl > 0 {
            return Err(GP0);
        }
        let v = if m == Mnemonic::Sldt { c.ldtr.selector } else { c.tr.selector } as u64;
        let size = if i.op0_kind() == OpKind::Memory { 2 } else { c.op_size(i, 0) };
        return c.write_op(p, i, 0, size, v);
    }
    c.need_cpl0()?;
    let sel = c.read_op(p, i, 0, 2)? as u16;
    if m == Mnemonic::Lldt {
        if sel & !3 == 0 {
            c.ldtr = Segment::default();
            return Ok(());
        }
        if sel & 4 != 0 {
            return Err(X86Cpu::gp_sel(sel));
        }
        let (d, _) = c.read_descriptor(p, sel)?;
        if (d >> 40) & 0x1f != 0x2 {
            return Err(X86Cpu::gp_sel(sel));
        }
        if d & (1 << 47) == 0 {
            return Err(X86Cpu::fault_sel(crate::fault::NP, sel));
        }
        let mut s = Segment::from_descriptor(sel, d);
        if c.efer & efer::LMA != 0 {
            s.base |= (c.read_descriptor_hi(p, sel)? & 0xffff_ffff) << 32;
        }
        c.ldtr = s;
        return Ok(());
    }
    // LTR: an available TSS (SDM Vol 2A LTR), marked busy.
    if sel & !3 == 0 {
        return Err(GP0);
    }
    if sel & 4 != 0 {
        return Err(X86Cpu::gp_sel(sel));
    }
    let (d, addr) = c.read_descriptor(p, sel)?;
    let typ = (d >> 40) & 0x1f;
    let ok = if c.efer & efer::LMA != 0 { typ == 0x9 } else { typ == 0x9 || typ == 0x1 };
    if !ok {
        return Err(X86Cpu::gp_sel(sel));
    }
    if d & (1 << 47) == 0 {
        return Err(X86Cpu::fault_sel(crate::fault::NP, sel));
    }
    let mut s = Segment::from_descriptor(sel, d | (2 << 40));
    if c.efer & efer::LMA != 0 {
        s.base |= (c.read_descriptor_hi(p, sel)? & 0xffff_ffff) << 32;
    }
    c.write_sys(p, addr + 5, 1, ((d >> 40) as u8 | 2) as u64)?;
    c.tr = s;
    Ok(())
}

/// MOV to/from control and debug registers (called from MOV dispatch).
pub fn mov_crdr(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    c.need_cpl0()?;
    let (dst, src) = (i.op0_register(), i.op1_register());
    if dst.is_cr() || src.is_cr() {
        let to_cr = dst.is_cr();
        let cr = if to_cr { dst } else { src };
        let n = cr as usize - Register::CR0 as usize;
        if to_cr {
            let v = c.get_reg(src);
            c.write_cr(p, n, v)?;
        } else {
            let v = match n {
                0 => c.cr0,
                2 => c.cr2,
                3 => c.cr3,
                4 => c.cr4,
                8 => p.cr8(),
                _ => return Err(UD_),
            };
            let full = gpr(dst).0;
            c.regs[full] = if c.mode == Mode::Long64 { v } else { v & 0xffff_ffff };
        }
        return Ok(());
    }
    // Debug registers (SDM Vol 3B 17.2); DR4/DR5 alias DR6/DR7 unless CR4.DE.
    let to_dr = dst.is_dr();
    let dr = if to_dr { dst } else { src };
    let mut n = dr as usize - Register::DR0 as usize;
    if n == 4 || n == 5 {
        if c.cr4 & cr4::DE != 0 {
            return Err(UD_);
        }
        n += 2;
    }
    if n > 7 {
        return Err(UD_);
    }
    if to_dr {
        let v = c.get_reg(src);
        match n {
            6 => c.dr[6] = (v & 0xf00f) | 0xffff_0ff0,
            7 => {
                if v >> 32 != 0 {
                    return Err(GP0);
                }
                c.dr[7] = (v & 0xffff_2bff) | 0x400;
                c.data_bps = (0..4).any(|n| (v >> (2 * n)) & 3 != 0 && (v >> (16 + 4 * n)) & 3 != 0);
            }
            _ => c.dr[n] = v,
        }
    } else {
        let full = gpr(dst).0;
        c.regs[full] = if c.mode == Mode::Long64 { c.dr[n] } else { c.dr[n] & 0xffff_ffff };
    }
    Ok(())
}

impl X86Cpu {
    /// Writes control register `n` with the checks of SDM Vol 3A 2.5 and the MOV CR
    /// pseudo-code, flushing the TLB as 4.10.4 requires.
    pub fn write_cr(&mut self, p: &mut dyn X86Platform, n: usize, v: u64) -> X<()> {
        let r = self.write_cr_inner(p, n, v);
        self.refresh_pcid();
        r
    }

    fn write_cr_inner(&mut self, p: &mut dyn X86Platform, n: usize, v: u64) -> X<()> {
        match n {
            0 => {
                let v = if self.mode == Mode::Long64 { v } else { v & 0xffff_ffff };
                if v & !cr0::VALID != 0 || v >> 32 != 0 {
                    return Err(GP0);
                }
                if (v & cr0::PG != 0 && v & cr0::PE == 0) || (v & cr0::NW != 0 && v & cr0::CD == 0) {
                    return Err(GP0);
                }
                let mut v = v | cr0::ET;
                // Enabling paging with EFER.LME activates IA-32e mode (SDM Vol 3A 10.8.5).
                if v & cr0::PG != 0 && self.cr0 & cr0::PG == 0 && self.efer & efer::LME != 0 {
                    if self.cr4 & cr4::PAE == 0 || self.seg[CS].long() {
                        return Err(GP0);
                    }
                    self.efer |= efer::LMA;
                }
                if v & cr0::PG == 0 && self.cr0 & cr0::PG != 0 && self.efer & efer::LMA != 0 {
                    if self.mode == Mode::Long64 {
                        return Err(GP0);
                    }
                    self.efer &= !efer::LMA;
                }
                if v & cr0::PG == 0 && self.cr4 & cr4::PCIDE != 0 {
                    return Err(GP0);
                }
                v &= !0;
                let changed = self.cr0 ^ v;
                self.cr0 = v;
                if changed & (cr0::PG | cr0::WP | cr0::PE) != 0 {
                    self.tlb.flush(false);
                }
                self.update_mode();
            }
            2 => self.cr2 = v,
            3 => {
                let long = self.efer & efer::LMA != 0;
                let pcide = self.cr4 & cr4::PCIDE != 0;
                let noflush = pcide && v & (1 << 63) != 0;
                let v = if long { v & !(1 << 63) } else { v & 0xffff_ffff };
                if long && v >> crate::mmu::MAXPHYADDR != 0 {
                    return Err(GP0);
                }
                self.cr3 = v;
                if !noflush {
                    if pcide {
                        self.tlb.flush_pcid((v & 0xfff) as u16, true);
                    } else {
                        self.tlb.flush(true);
                    }
                }
            }
            4 => {
                let mut allowed = cr4::DE | cr4::PSE | cr4::PAE | cr4::PGE | cr4::PCE | cr4::TSD;
                let cpu = &self.cpuid;
                if cpu.has(Feature::Fsgsbase) {
                    allowed |= cr4::FSGSBASE;
                }
                if cpu.has(Feature::Pcid) {
                    allowed |= cr4::PCIDE;
                }
                if cpu.has(Feature::Smep) {
                    allowed |= cr4::SMEP;
                }
                if cpu.has(Feature::Smap) {
                    allowed |= cr4::SMAP;
                }
                if cpu.has(Feature::Umip) {
                    allowed |= cr4::UMIP;
                }
                if cpu.has(Feature::Pku) {
                    allowed |= cr4::PKE;
                }
                if cpu.has(Feature::La57) {
                    allowed |= cr4::LA57;
                }
                if cpu.has(Feature::Fxsr) {
                    allowed |= cr4::OSFXSR;
                }
                if cpu.has(Feature::Sse) {
                    allowed |= cr4::OSXMMEXCPT;
                }
                if cpu.has(Feature::Xsave) {
                    allowed |= cr4::OSXSAVE;
                }
                if v & !allowed != 0 {
                    return Err(GP0);
                }
                let long = self.efer & efer::LMA != 0;
                if long && v & cr4::PAE == 0 {
                    return Err(GP0);
                }
                if long && (v ^ self.cr4) & cr4::LA57 != 0 {
                    return Err(GP0);
                }
                // PCIDE may be set only with CR3[11:0] = 0 in IA-32e mode (SDM Vol 3A 4.10.1).
                if v & cr4::PCIDE != 0 && self.cr4 & cr4::PCIDE == 0 && (!long || self.cr3 & 0xfff != 0) {
                    return Err(GP0);
                }
                let changed = self.cr4 ^ v;
                self.cr4 = v;
                if changed & (cr4::PGE | cr4::PAE | cr4::PSE | cr4::PCIDE | cr4::SMEP | cr4::SMAP | cr4::PKE)
                    != 0
                {
                    self.tlb.flush(false);
                }
            }
            8 => {
                if v >> 4 != 0 {
                    return Err(GP0);
                }
                p.set_cr8(v);
            }
            _ => return Err(UD_),
        }
        Ok(())
    }
}

/// CLTS, LMSW, SMSW.
pub fn cr0_ops(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    match i.mnemonic() {
        Mnemonic::Clts => {
            c.need_cpl0()?;
            c.cr0 &= !cr0::TS;
        }
        Mnemonic::Lmsw => {
            c.need_cpl0()?;
            let v = c.read_op(p, i, 0, 2)?;
            // LMSW changes only PE, MP, EM, TS and cannot clear PE (SDM Vol 2A LMSW).
            let nv = (c.cr0 & !0xe) | (v & 0xf) | (c.cr0 & 1);
            c.write_cr(p, 0, nv)?;
        }
        _ => {
            if c.cr4 & cr4::UMIP != 0 && c.cpl > 0 {
                return Err(GP0);
            }
            let size = if i.op0_kind() == OpKind::Memory { 2 } else { c.op_size(i, 0) };
            c.write_op(p, i, 0, size, trunc(c.cr0, size))?;
        }
    }
    Ok(())
}

/// RDMSR/WRMSR.
pub fn msr(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    c.need_cpl0()?;
    let idx = c.regs[1] as u32;
    if i.mnemonic() == Mnemonic::Rdmsr {
        let v = c.read_msr(p, idx)?;
        c.regs[0] = v & 0xffff_ffff;
        c.regs[2] = v >> 32;
    } else {
        let v = (c.regs[2] << 32) | (c.regs[0] & 0xffff_ffff);
        c.write_msr(p, idx, v)?;
    }
    Ok(())
}

/// CPUID.
pub fn cpuid(c: &mut X86Cpu, _p: &mut dyn X86Platform, _i: &Instruction) -> X<()> {
    let r = c.cpuid.query(c.regs[0] as u32, c.regs[1] as u32, c.apic_id, c.cr4);
    c.regs[0] = r[0] as u64;
    c.regs[3] = r[1] as u64;
    c.regs[1] = r[2] as u64;
    c.regs[2] = r[3] as u64;
    Ok(())
}

/// RDTSC, RDTSCP, RDPID (CR4.TSD makes RDTSC/RDTSCP privileged).
pub fn tsc(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    match i.mnemonic() {
        Mnemonic::Rdpid => {
            if !c.cpuid.has(Feature::Rdpid) {
                return Err(UD_);
            }
            let r = i.op0_register();
            c.set_reg(r, c.msr.tsc_aux & 0xffff_ffff);
        }
        m => {
            if m == Mnemonic::Rdtscp && !c.cpuid.has(Feature::Rdtscp) {
                return Err(UD_);
            }
            if c.cr4 & cr4::TSD != 0 && c.cpl != 0 && c.mode != Mode::Real {
                return Err(GP0);
            }
            let t = c.tsc(p);
            c.regs[0] = t & 0xffff_ffff;
            c.regs[2] = t >> 32;
            if m == Mnemonic::Rdtscp {
                c.regs[1] = c.msr.tsc_aux & 0xffff_ffff;
            }
        }
    }
    Ok(())
}

/// INVLPG, INVPCID.
pub fn invlpg(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    c.need_cpl0()?;
    if i.mnemonic() == Mnemonic::Invlpg {
        let (seg, off) = c.ea(i);
        if let Ok(la) = c.linear(seg, off, 1, false) {
            c.tlb.flush_page(la);
        }
        return Ok(());
    }
    if !c.cpuid.has(Feature::Invpcid) {
        return Err(UD_);
    }
    // INVPCID types 0-3 (SDM Vol 2A INVPCID).
    let typ = c.get_reg(i.op0_register());
    let (seg, off) = c.ea(i);
    let desc_lo = c.read_mem(p, seg, off, 8)?;
    let desc_hi = c.read_mem(p, seg, off.wrapping_add(8), 8)?;
    let pcid = (desc_lo & 0xfff) as u16;
    if desc_lo >> 12 != 0 {
        return Err(GP0);
    }
    match typ {
        0 => {
            if !canonical(desc_hi, c.la_bits()) {
                return Err(GP0);
            }
            c.tlb.flush_page(desc_hi);
        }
        1 => c.tlb.flush_pcid(pcid, true),
        2 => c.tlb.flush(false),
        3 => c.tlb.flush(true),
        _ => return Err(GP0),
    }
    Ok(())
}

/// LAR, LSL, VERR, VERW (SDM Vol 2A): ZF reports whether the descriptor is visible.
pub fn seg_query(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    c.need_protected()?;
    let m = i.mnemonic();
    let sel_op = if matches!(m, Mnemonic::Verr | Mnemonic::Verw) { 0 } else { 1 };
    let sel = c.read_op(p, i, sel_op, 2)? as u16;
    let ok_desc = if sel & !3 == 0 { None } else { c.read_descriptor(p, sel).ok().map(|(d, _)| d) };
    let mut ok = false;
    let mut val = 0;
    if let Some(d) = ok_desc {
        let s = Segment::from_descriptor(sel, d);
        let rpl = (sel & 3) as u8;
        let conforming_code = s.attr & 0x1c == 0x1c;
        let priv_ok = conforming_code || (s.dpl() >= c.cpl && s.dpl() >= rpl);
        let sys_type = s.attr & 0x10 == 0;
        let typ = s.typ();
        ok = priv_ok
            && match m {
                Mnemonic::Lar => {
                    !sys_type
                        || matches!(typ, 1 | 2 | 3 | 4 | 5 | 9 | 0xb | 0xc)
                            && (c.efer & efer::LMA == 0 || matches!(typ, 2 | 9 | 0xb | 0xc))
                }
                Mnemonic::Lsl => {
                    !sys_type
                        || matches!(typ, 1 | 2 | 3 | 9 | 0xb)
                            && (c.efer & efer::LMA == 0 || matches!(typ, 2 | 9 | 0xb))
                }
                Mnemonic::Verr => !sys_type && (s.attr & 0x8 == 0 || s.attr & 0x2 != 0),
                _ => !sys_type && s.attr & 0xa == 0x2,
            };
        val = if m == Mnemonic::Lar { d & 0x00f0_ff00_0000_0000 } else { s.limit as u64 };
        if m == Mnemonic::Lar {
            val >>= 32;
        }
    }
    if ok {
        c.rflags |= flags::ZF;
        if matches!(m, Mnemonic::Lar | Mnemonic::Lsl) {
            let size = c.op_size(i, 0);
            c.set_reg(i.op0_register(), trunc(val, size));
        }
    } else {
        c.rflags &= !flags::ZF;
    }
    Ok(())
}

/// SWAPGS (64-bit mode, CPL 0).
pub fn swapgs(c: &mut X86Cpu, _p: &mut dyn X86Platform, _i: &Instruction) -> X<()> {
    if c.mode != Mode::Long64 {
        return Err(UD_);
    }
    c.need_cpl0()?;
    std::mem::swap(&mut c.seg[GS].base, &mut c.msr.kernel_gs_base);
    Ok(())
}

/// SYSCALL / SYSRET (SDM Vol 2B; Vol 3A 5.8.8).
pub fn syscall(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if c.efer & efer::SCE == 0 || c.efer & efer::LMA == 0 {
        return Err(UD_);
    }
    let star_sel = (c.msr.star >> 32) as u16 & 0xfffc;
    if i.mnemonic() == Mnemonic::Syscall {
        if c.mode != Mode::Long64 {
            // SYSCALL from compatibility mode uses CSTAR; modelled for 64-bit callers only.
            if c.mode != Mode::Compat32 && c.mode != Mode::Compat16 {
                return Err(UD_);
            }
        }
        c.regs[1] = c.rip;
        c.regs[11] = c.rflags & !flags::RF;
        let target = if c.mode == Mode::Long64 { c.msr.lstar } else { c.msr.cstar };
        c.rflags &= !(c.msr.fmask | flags::RF);
        c.rflags |= flags::FIXED1;
        c.seg[CS] = Segment { selector: star_sel, base: 0, limit: 0xffff_ffff, attr: 0xa09b };
        c.seg[SS] = Segment { selector: star_sel + 8, base: 0, limit: 0xffff_ffff, attr: 0xc093 };
        c.cpl = 0;
        c.update_mode();
        c.rip = target;
        return Ok(());
    }
    // SYSRET.
    if c.mode != Mode::Long64 {
        return Err(UD_);
    }
    c.need_cpl0()?;
    let to64 = i.code() == iced_x86::Code::Sysretq;
    let base = (c.msr.star >> 48) as u16;
    let target = if to64 { c.regs[1] } else { c.regs[1] & 0xffff_ffff };
    if to64 && !canonical(target, c.la_bits()) {
        return Err(GP0);
    }
    c.rflags = (c.regs[11] & flags::WRITABLE & !flags::RF) | flags::FIXED1;
    if to64 {
        c.seg[CS] = Segment { selector: (base + 16) | 3, base: 0, limit: 0xffff_ffff, attr: 0xa0fb };
    } else {
        c.seg[CS] = Segment { selector: base | 3, base: 0, limit: 0xffff_ffff, attr: 0xc0fb };
    }
    c.seg[SS].selector = (base + 8) | 3;
    c.seg[SS].attr = 0xc0f3;
    c.seg[SS].base = 0;
    c.seg[SS].limit = 0xffff_ffff;
    c.cpl = 3;
    c.update_mode();
    c.rip = target;
    Ok(())
}

/// SYSENTER / SYSEXIT (SDM Vol 2B; Vol 3A 5.8.7).
pub fn sysenter(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !c.cpuid.has(Feature::Sep) {
        return Err(UD_);
    }
    c.need_protected()?;
    let cs = (c.msr.sysenter_cs & 0xfffc) as u16;
    if cs == 0 {
        return Err(GP0);
    }
    let long = c.efer & efer::LMA != 0;
    if i.mnemonic() == Mnemonic::Sysenter {
        c.rflags &= !(flags::VM | flags::IF | flags::RF);
        let code_attr = if long { 0xa09b } else { 0xc09b };
        c.seg[CS] = Segment { selector: cs, base: 0, limit: 0xffff_ffff, attr: code_attr };
        c.seg[SS] = Segment { selector: cs + 8, base: 0, limit: 0xffff_ffff, attr: 0xc093 };
        c.cpl = 0;
        c.update_mode();
        c.rip = if long { c.msr.sysenter_eip } else { c.msr.sysenter_eip & 0xffff_ffff };
        c.regs[4] = if long { c.msr.sysenter_esp } else { c.msr.sysenter_esp & 0xffff_ffff };
        return Ok(());
    }
    c.need_cpl0()?;
    let to64 = i.code() == iced_x86::Code::Sysexitq;
    if to64 {
        c.seg[CS] = Segment { selector: (cs + 32) | 3, base: 0, limit: 0xffff_ffff, attr: 0xa0fb };
        c.seg[SS] = Segment { selector: (cs + 40) | 3, base: 0, limit: 0xffff_ffff, attr: 0xc0f3 };
        c.rip = c.regs[2];
        c.regs[4] = c.regs[1];
    } else {
        c.seg[CS] = Segment { selector: (cs + 16) | 3, base: 0, limit: 0xffff_ffff, attr: 0xc0fb };
        c.seg[SS] = Segment { selector: (cs + 24) | 3, base: 0, limit: 0xffff_ffff, attr: 0xc0f3 };
        c.rip = c.regs[2] & 0xffff_ffff;
        c.regs[4] = c.regs[1] & 0xffff_ffff;
    }
    c.cpl = 3;
    c.update_mode();
    Ok(())
}

/// RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (CR4.FSGSBASE, 64-bit mode).
pub fn fsgsbase(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if c.mode != Mode::Long64 || c.cr4 & cr4::FSGSBASE == 0 {
        return Err(UD_);
    }
    let r = i.op0_register();
    match i.mnemonic() {
        Mnemonic::Rdfsbase => c.set_reg(r, c.seg[FS].base),
        Mnemonic::Rdgsbase => c.set_reg(r, c.seg[GS].base),
        m => {
            let v = c.get_reg(r);
            if !canonical(v, c.la_bits()) {
                return Err(GP0);
            }
            c.seg[if m == Mnemonic::Wrfsbase { FS } else { GS }].base = v;
        }
    }
    Ok(())
}

/// RDPKRU/WRPKRU (CR4.PKE).
pub fn pkru(c: &mut X86Cpu, _p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if c.cr4 & cr4::PKE == 0 {
        return Err(UD_);
    }
    if c.regs[1] as u32 != 0 {
        return Err(GP0);
    }
    if i.mnemonic() == Mnemonic::Rdpkru {
        c.regs[0] = c.pkru as u64;
        c.regs[2] = 0;
    } else {
        if c.regs[2] as u32 != 0 {
            return Err(GP0);
        }
        c.pkru = c.regs[0] as u32;
    }
    Ok(())
}

/// WBINVD, INVD (privileged; caches are not modelled functionally).
pub fn cache(c: &mut X86Cpu, _p: &mut dyn X86Platform, _i: &Instruction) -> X<()> {
    c.need_cpl0()
}

/// CLFLUSH/CLFLUSHOPT: the address must be a valid readable byte (SDM Vol 2A CLFLUSH).
pub fn clflush(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    if !c.cpuid.has(Feature::Clflush) {
        return Err(UD_);
    }
    let (seg, off) = c.ea(i);
    let la = c.linear(seg, off, 1, false)?;
    c.translate(p, la, crate::mmu::Access::Read, false)?;
    Ok(())
}

/// ARPL (not in 64-bit mode, where the opcode is MOVSXD).
pub fn arpl(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    c.need_protected()?;
    let d = c.read_op(p, i, 0, 2)?;
    let s = c.get_reg(i.op1_register());
    if d & 3 < s & 3 {
        c.write_op(p, i, 0, 2, (d & !3) | (s & 3))?;
        c.rflags |= flags::ZF;
    } else {
        c.rflags &= !flags::ZF;
    }
    Ok(())
}
