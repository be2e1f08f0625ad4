//! Segment-register loads with the protected-mode checks of SDM Vol 3A 5.5-5.8 and the
//! MOV/POP Sreg pseudo-code (Vol 2B), far control transfers (JMP/CALL/RET far, Vol 2A/2B) and
//! descriptor-table access.

use crate::cpu::X86Cpu;
use crate::fault::{exc_err, Fault, GP0, NP, SS as SSV, X};
use crate::platform::X86Platform;
use crate::state::*;

impl X86Cpu {
    /// Reads the 8-byte descriptor for `sel` from the GDT or LDT; `err` builds the fault used
    /// when the selector is outside the table.
    pub(crate) fn read_descriptor(&mut self, p: &mut dyn X86Platform, sel: u16) -> X<(u64, u64)> {
        let (base, limit) = if sel & 4 != 0 {
            if self.ldtr.attr & 0x80 == 0 {
                return Err(Self::gp_sel(sel));
            }
            (self.ldtr.base, self.ldtr.limit as u64)
        } else {
            (self.gdtr.base, self.gdtr.limit as u64)
        };
        let off = (sel & !7) as u64;
        if off + 7 > limit {
            return Err(Self::gp_sel(sel));
        }
        let addr = base.wrapping_add(off);
        Ok((self.read_sys(p, addr, 8)?, addr))
    }

    /// Reads the upper 8 bytes of a 16-byte system descriptor (long mode).
    pub(crate) fn read_descriptor_hi(&mut self, p: &mut dyn X86Platform, sel: u16) -> X<u64> {
        let (base, limit) = if sel & 4 != 0 {
            (self.ldtr.base, self.ldtr.limit as u64)
        } else {
            (self.gdtr.base, self.gdtr.limit as u64)
        };
        let off = (sel & !7) as u64 + 8;
        if off + 7 > limit {
            return Err(Self::gp_sel(sel));
        }
        self.read_sys(p, base.wrapping_add(off), 8)
    }

    /// Sets the accessed bit of a code/data descriptor if it is clear.
    pub(crate) fn set_accessed(&mut self, p: &mut dyn X86Platform, addr: u64, d: u64) -> X<()> {
        if d & (1 << 40) == 0 {
            self.write_sys(p, addr + 5, 1, ((d >> 40) as u8 | 1) as u64)?;
        }
        Ok(())
    }

    /// MOV/POP to a data or stack segment register (not CS).
    pub(crate) fn load_seg(&mut self, p: &mut dyn X86Platform, seg: usize, sel: u16) -> X<()> {
        if self.mode == Mode::Real {
            let s = &mut self.seg[seg];
            s.selector = sel;
            s.base = (sel as u64) << 4;
            // Real mode keeps the cached limit and attributes, except that the segment is
            // usable and present (SDM Vol 3A 20.1.1).
            s.attr |= 0x93 & 0xf0 | 0x3;
            if seg == SS {
                self.shadow = 1;
                self.shadow_ss = true;
            }
            return Ok(());
        }
        let rpl = (sel & 3) as u8;
        if sel & !3 == 0 {
            // Null selector (SDM Vol 3A 5.4.1).
            if seg == SS {
                let ok = self.mode == Mode::Long64 && self.cpl != 3 && rpl == self.cpl;
                if !ok {
                    return Err(GP0);
                }
            }
            self.seg[seg] = Segment { selector: sel, base: 0, limit: 0, attr: 0 };
            if seg == SS {
                // A null SS in 64-bit mode stays usable for stack accesses.
                self.seg[seg].attr = 0x93 | if self.seg[CS].long() { 0 } else { 0x4000 };
                self.shadow = 1;
                self.shadow_ss = true;
            }
            return Ok(());
        }
        let (d, addr) = self.read_descriptor(p, sel)?;
        let s = Segment::from_descriptor(sel, d);
        let dpl = s.dpl();
        if seg == SS {
            // Writable data segment with RPL = DPL = CPL.
            if rpl != self.cpl || dpl != self.cpl || s.attr & 0x1a != 0x12 {
                return Err(Self::gp_sel(sel));
            }
            if !s.present() {
                return Err(exc_err(SSV, (sel & 0xfffc) as u32));
            }
            self.shadow = 1;
            self.shadow_ss = true;
        } else {
            // Data or readable code; privilege check unless conforming code.
            if s.attr & 0x10 == 0 || s.attr & 0x1a == 0x18 {
                return Err(Self::gp_sel(sel));
            }
            let conforming_code = s.attr & 0x1c == 0x1c;
            if !conforming_code && (dpl < self.cpl || dpl < rpl) {
                return Err(Self::gp_sel(sel));
            }
            if !s.present() {
                return Err(exc_err(NP, (sel & 0xfffc) as u32));
            }
        }
        self.set_accessed(p, addr, d)?;
        self.seg[seg] = Segment::from_descriptor(sel, d | (1 << 40));
        Ok(())
    }

    /// Checks a code-segment descriptor for a far JMP/CALL to it directly (SDM Vol 3A 5.8.1);
    /// returns the segment with RPL set to CPL.
    fn check_code_direct(&mut self, p: &mut dyn X86Platform, sel: u16, d: u64, addr: u64) -> X<Segment> {
        let s = Segment::from_descriptor(sel, d);
        let rpl = (sel & 3) as u8;
        let conforming = s.attr & 0x4 != 0;
        if conforming {
            if s.dpl() > self.cpl {
                return Err(Self::gp_sel(sel));
            }
        } else if rpl > self.cpl || s.dpl() != self.cpl {
            return Err(Self::gp_sel(sel));
        }
        if !s.present() {
            return Err(exc_err(NP, (sel & 0xfffc) as u32));
        }
        if s.long() && s.db() && self.efer & efer::LMA != 0 {
            return Err(Self::gp_sel(sel));
        }
        self.set_accessed(p, addr, d)?;
        let mut s = Segment::from_descriptor(sel, d | (1 << 40));
        s.selector = (sel & !3) | self.cpl as u16;
        Ok(s)
    }

    /// Loads CS for a transfer that keeps the privilege level and jumps to `ip`.
    fn set_cs_ip(&mut self, cs: Segment, ip: u64) -> X<()> {
        let old = self.seg[CS];
        self.seg[CS] = cs;
        self.update_mode();
        if self.mode != Mode::Long64 && ip > cs.limit as u64 {
            self.seg[CS] = old;
            self.update_mode();
            return Err(GP0);
        }
        self.rip = ip;
        Ok(())
    }

    /// Far JMP (SDM Vol 2A JMP, far forms).
    pub(crate) fn far_jmp(&mut self, p: &mut dyn X86Platform, sel: u16, ip: u64, opsize: u64) -> X<()> {
        let ip = mask(ip, opsize);
        if self.mode == Mode::Real {
            self.seg[CS].selector = sel;
            self.seg[CS].base = (sel as u64) << 4;
            self.rip = ip;
            return Ok(());
        }
        if sel & !3 == 0 {
            return Err(GP0);
        }
        let (d, addr) = self.read_descriptor(p, sel)?;
        if d & (1 << 44) != 0 {
            if d & (1 << 43) == 0 {
                return Err(Self::gp_sel(sel));
            }
            let cs = self.check_code_direct(p, sel, d, addr)?;
            return self.set_cs_ip(cs, ip);
        }
        match (d >> 40) & 0xf {
            0x4 | 0xc => {
                let (cs_sel, target, _, _) = self.read_call_gate(p, sel, d)?;
                let (cd, caddr) = self.read_descriptor(p, cs_sel)?;
                let cs = Segment::from_descriptor(cs_sel, cd);
                if !cs.is_code()
                    || (cs.attr & 4 == 0 && cs.dpl() != self.cpl)
                    || (cs.attr & 4 != 0 && cs.dpl() > self.cpl)
                {
                    return Err(Self::gp_sel(cs_sel));
                }
                if !cs.present() {
                    return Err(exc_err(NP, (cs_sel & 0xfffc) as u32));
                }
                self.set_accessed(p, caddr, cd)?;
                let mut cs = Segment::from_descriptor(cs_sel, cd | (1 << 40));
                cs.selector = (cs_sel & !3) | self.cpl as u16;
                self.set_cs_ip(cs, target)
            }
            0x1 | 0x9 | 0x5 if self.efer & efer::LMA == 0 => {
                self.task_switch_sel(p, sel, d, crate::task::TaskSource::Jmp)
            }
            _ => Err(Self::gp_sel(sel)),
        }
    }

    /// Reads and checks a call gate: returns (code selector, target offset, param count, gate size).
    fn read_call_gate(&mut self, p: &mut dyn X86Platform, sel: u16, d: u64) -> X<(u16, u64, u8, u64)> {
        let dpl = ((d >> 45) & 3) as u8;
        let rpl = (sel & 3) as u8;
        if dpl < self.cpl || dpl < rpl {
            return Err(Self::gp_sel(sel));
        }
        if d & (1 << 47) == 0 {
            return Err(exc_err(NP, (sel & 0xfffc) as u32));
        }
        let cs_sel = (d >> 16) as u16;
        let mut off = (d & 0xffff) | ((d >> 32) & 0xffff_0000);
        let typ = (d >> 40) & 0xf;
        let size = if typ == 0xc { 4 } else { 2 };
        if self.efer & efer::LMA != 0 {
            // 64-bit call gate: 16 bytes; the upper half holds offset 63:32 (SDM Vol 3A 5.8.3.1).
            if typ != 0xc {
                return Err(Self::gp_sel(sel));
            }
            let hi = self.read_descriptor_hi(p, sel)?;
            if (hi >> 40) & 0x1f != 0 {
                return Err(Self::gp_sel(sel));
            }
            off |= (hi & 0xffff_ffff) << 32;
            return Ok((cs_sel, off, 0, 8));
        }
        if size == 2 {
            off &= 0xffff;
        }
        if cs_sel & !3 == 0 {
            return Err(GP0);
        }
        Ok((cs_sel, off, (d >> 32) as u8 & 0x1f, size))
    }

    /// Far CALL (SDM Vol 2A CALL, far forms, including call gates).
    pub(crate) fn far_call(&mut self, p: &mut dyn X86Platform, sel: u16, ip: u64, opsize: u64) -> X<()> {
        let ip = mask(ip, opsize);
        let old_cs = self.seg[CS].selector as u64;
        let ret = self.rip;
        if self.mode == Mode::Real {
            self.push(p, opsize, old_cs)?;
            self.push(p, opsize, ret)?;
            self.seg[CS].selector = sel;
            self.seg[CS].base = (sel as u64) << 4;
            self.rip = ip;
            return Ok(());
        }
        if sel & !3 == 0 {
            return Err(GP0);
        }
        let (d, addr) = self.read_descriptor(p, sel)?;
        if d & (1 << 44) != 0 {
            if d & (1 << 43) == 0 {
                return Err(Self::gp_sel(sel));
            }
            let cs = self.check_code_direct(p, sel, d, addr)?;
            let sp = self.regs[4];
            let r = self.push(p, opsize, old_cs).and_then(|_| self.push(p, opsize, ret));
            if let Err(e) = r {
                self.regs[4] = sp;
                return Err(e);
            }
            return self.set_cs_ip(cs, ip).inspect_err(|_| self.regs[4] = sp);
        }
        match (d >> 40) & 0xf {
            0x4 | 0xc => self.call_gate(p, sel, d, old_cs, ret),
            0x1 | 0x9 | 0x5 if self.efer & efer::LMA == 0 => {
                self.task_switch_sel(p, sel, d, crate::task::TaskSource::Call)
            }
            _ => Err(Self::gp_sel(sel)),
        }
    }

    fn call_gate(&mut self, p: &mut dyn X86Platform, sel: u16, d: u64, old_cs: u64, ret: u64) -> X<()> {
        let (cs_sel, target, params, gsize) = self.read_call_gate(p, sel, d)?;
        let (cd, caddr) = self.read_descriptor(p, cs_sel)?;
        let cs = Segment::from_descriptor(cs_sel, cd);
        if !cs.is_code() || cs.dpl() > self.cpl {
            return Err(Self::gp_sel(cs_sel));
        }
        if !cs.present() {
            return Err(exc_err(NP, (cs_sel & 0xfffc) as u32));
        }
        if self.efer & efer::LMA != 0 && (!cs.long() || cs.db()) {
            return Err(Self::gp_sel(cs_sel));
        }
        self.set_accessed(p, caddr, cd)?;
        let snapshot = (self.seg, self.regs[4], self.cpl, self.mode);
        let conforming = cs.attr & 4 != 0;
        let r = (|| {
            if !conforming && cs.dpl() < self.cpl {
                // More privileged: switch stacks from the TSS (SDM Vol 3A 5.8.5).
                let new_cpl = cs.dpl();
                let old_ss = self.seg[SS].selector as u64;
                let old_sp = self.regs[4];
                // Parameters are copied from the old stack (legacy gates only).
                let mut copied = [0u64; 31];
                for (i, c) in copied.iter_mut().enumerate().take(params as usize) {
                    let off = (old_sp.wrapping_add(i as u64 * gsize)) & self.sp_mask();
                    *c = self.read_mem(p, SS, off, gsize)?;
                }
                let (new_ss, new_sp) = self.tss_stack(p, new_cpl)?;
                self.cpl = new_cpl;
                if self.efer & efer::LMA != 0 {
                    self.seg[SS] = Segment { selector: new_cpl as u16, base: 0, limit: 0, attr: 0x93 };
                    self.seg[CS] = Segment {
                        selector: (cs_sel & !3) | new_cpl as u16,
                        ..Segment::from_descriptor(cs_sel, cd)
                    };
                    self.update_mode();
                    self.regs[4] = new_sp;
                } else {
                    self.load_stack_for_cpl(p, new_ss, new_cpl)?;
                    self.regs[4] = new_sp;
                    self.seg[CS] = Segment {
                        selector: (cs_sel & !3) | new_cpl as u16,
                        ..Segment::from_descriptor(cs_sel, cd)
                    };
                    self.update_mode();
                }
                self.push(p, gsize, old_ss)?;
                self.push(p, gsize, old_sp)?;
                for i in (0..params as usize).rev() {
                    self.push(p, gsize, copied[i])?;
                }
                self.push(p, gsize, old_cs)?;
                self.push(p, gsize, ret)?;
            } else {
                self.push(p, gsize, old_cs)?;
                self.push(p, gsize, ret)?;
                self.seg[CS] = Segment {
                    selector: (cs_sel & !3) | self.cpl as u16,
                    ..Segment::from_descriptor(cs_sel, cd)
                };
                self.update_mode();
            }
            self.rip = target;
            Ok(())
        })();
        if r.is_err() {
            (self.seg, self.regs[4], self.cpl, self.mode) = snapshot;
        }
        r
    }

    /// Stack for privilege level `pl` from the current TSS: (SS selector, SP). In long mode
    /// the SS selector is unused (SDM Vol 3A 7.7).
    pub(crate) fn tss_stack(&mut self, p: &mut dyn X86Platform, pl: u8) -> X<(u16, u64)> {
        let ts = |sel: u16| exc_err(crate::fault::TS, (sel & 0xfffc) as u32);
        let tr = self.tr;
        if self.efer & efer::LMA != 0 {
            let off = 4 + 8 * pl as u64;
            if off + 7 > tr.limit as u64 {
                return Err(ts(tr.selector));
            }
            return Ok((0, self.read_sys(p, tr.base + off, 8)?));
        }
        if tr.typ() & 0x8 != 0 {
            // 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n.
            let off = 4 + 8 * pl as u64;
            if off + 5 > tr.limit as u64 {
                return Err(ts(tr.selector));
            }
            let sp = self.read_sys(p, tr.base + off, 4)?;
            let ss = self.read_sys(p, tr.base + off + 4, 2)? as u16;
            Ok((ss, sp))
        } else {
            // 16-bit TSS: SPn at 2 + 4n, SSn at 4 + 4n.
            let off = 2 + 4 * pl as u64;
            if off + 3 > tr.limit as u64 {
                return Err(ts(tr.selector));
            }
            let sp = self.read_sys(p, tr.base + off, 2)?;
            let ss = self.read_sys(p, tr.base + off + 2, 2)? as u16;
            Ok((ss, sp))
        }
    }

    /// Loads SS for a stack switch to privilege `pl`, with the #TS checks of SDM Vol 3A 6.12.1.
    pub(crate) fn load_stack_for_cpl(&mut self, p: &mut dyn X86Platform, sel: u16, pl: u8) -> X<()> {
        let ts = exc_err(crate::fault::TS, (sel & 0xfffc) as u32);
        if sel & !3 == 0 || (sel & 3) as u8 != pl {
            return Err(ts);
        }
        let (d, addr) = self.read_descriptor(p, sel).map_err(|_| ts)?;
        let s = Segment::from_descriptor(sel, d);
        if s.dpl() != pl || s.attr & 0x1a != 0x12 {
            return Err(ts);
        }
        if !s.present() {
            return Err(exc_err(SSV, (sel & 0xfffc) as u32));
        }
        self.set_accessed(p, addr, d)?;
        self.seg[SS] = Segment::from_descriptor(sel, d | (1 << 40));
        Ok(())
    }

    /// Far RET (SDM Vol 2B RET, far forms); `imm` bytes are released from the stack(s).
    pub(crate) fn far_ret(&mut self, p: &mut dyn X86Platform, opsize: u64, imm: u64) -> X<()> {
        let sp0 = self.regs[4];
        let r = (|| {
            let ip = self.pop(p, opsize)?;
            let sel = self.pop(p, opsize)? as u16;
            if self.mode == Mode::Real {
                self.seg[CS].selector = sel;
                self.seg[CS].base = (sel as u64) << 4;
                self.rip = ip;
                let sp = self.regs[4].wrapping_add(imm);
                self.set_sp(sp);
                return Ok(());
            }
            self.return_to(p, sel, ip, opsize, imm, None)
        })();
        if r.is_err() {
            self.regs[4] = sp0;
        }
        r
    }

    /// Common part of far RET and IRET in protected/long mode once CS:IP are popped. For IRET
    /// `iret_flags` holds the popped RFLAGS, applied before an outer-level return pops SS:SP.
    pub(crate) fn return_to(
        &mut self,
        p: &mut dyn X86Platform,
        sel: u16,
        ip: u64,
        opsize: u64,
        imm: u64,
        iret_flags: Option<u64>,
    ) -> X<()> {
        if sel & !3 == 0 {
            return Err(GP0);
        }
        let rpl = (sel & 3) as u8;
        if rpl < self.cpl {
            return Err(Self::gp_sel(sel));
        }
        let (d, addr) = self.read_descriptor(p, sel)?;
        let cs = Segment::from_descriptor(sel, d);
        if !cs.is_code() {
            return Err(Self::gp_sel(sel));
        }
        let conforming = cs.attr & 4 != 0;
        if (conforming && cs.dpl() > rpl) || (!conforming && cs.dpl() != rpl) {
            return Err(Self::gp_sel(sel));
        }
        if !cs.present() {
            return Err(exc_err(NP, (sel & 0xfffc) as u32));
        }
        let long = self.efer & efer::LMA != 0;
        if long && cs.long() && cs.db() {
            return Err(Self::gp_sel(sel));
        }
        self.set_accessed(p, addr, d)?;
        let cs = Segment::from_descriptor(sel, d | (1 << 40));
        let outer = rpl > self.cpl;
        // 64-bit IRET always pops SS:RSP (SDM Vol 2A IRET, IA-32e mode).
        let pop_stack = outer || (iret_flags.is_some() && self.mode == Mode::Long64);
        if !pop_stack {
            let sp = self.regs[4].wrapping_add(imm);
            self.set_sp(sp);
            if let Some(f) = iret_flags {
                self.set_flags_iret(f, opsize);
            }
            return self.set_cs_ip(cs, ip);
        }
        let new_sp = self.pop(p, opsize)?;
        let ss_sel = self.pop(p, opsize)? as u16;
        let old_cpl = self.cpl;
        if let Some(f) = iret_flags {
            self.set_flags_iret(f, opsize);
        }
        self.cpl = rpl;
        let r = if ss_sel & !3 == 0 && long && !cs.long() {
            Err(GP0)
        } else if ss_sel & !3 == 0 && long && rpl != 3 {
            self.seg[SS] = Segment { selector: ss_sel, base: 0, limit: 0, attr: 0x93 };
            Ok(())
        } else {
            (|| {
                if (ss_sel & 3) as u8 != rpl {
                    return Err(Self::gp_sel(ss_sel));
                }
                let (sd, saddr) = self.read_descriptor(p, ss_sel)?;
                let ss = Segment::from_descriptor(ss_sel, sd);
                if ss.attr & 0x1a != 0x12 || ss.dpl() != rpl {
                    return Err(Self::gp_sel(ss_sel));
                }
                if !ss.present() {
                    return Err(exc_err(SSV, (ss_sel & 0xfffc) as u32));
                }
                self.set_accessed(p, saddr, sd)?;
                self.seg[SS] = Segment::from_descriptor(ss_sel, sd | (1 << 40));
                Ok(())
            })()
        };
        if let Err(e) = r {
            self.cpl = old_cpl;
            return Err(e);
        }
        self.seg[CS] = cs;
        self.update_mode();
        let m = if self.mode == Mode::Long64 {
            u64::MAX
        } else if self.seg[SS].db() {
            0xffff_ffff
        } else {
            0xffff
        };
        self.regs[4] = (new_sp.wrapping_add(imm)) & m | (self.regs[4] & !m);
        if self.mode != Mode::Long64 && ip > cs.limit as u64 {
            return Err(GP0);
        }
        self.rip = ip;
        if outer {
            // Data segments not accessible at the new CPL become null (SDM Vol 2B RET).
            for s in [ES, DS, FS, GS] {
                let d = self.seg[s];
                let conforming_code = d.attr & 0x1c == 0x1c;
                if d.attr & 0x10 != 0 && !conforming_code && d.dpl() < self.cpl {
                    self.seg[s] = Segment {
                        selector: 0,
                        base: if s >= FS && long { d.base } else { 0 },
                        limit: 0,
                        attr: 0,
                    };
                }
            }
        }
        Ok(())
    }

    /// RFLAGS update rules of IRET/POPF (SDM Vol 2B POPF table): IOPL only at CPL 0, IF only
    /// when CPL <= IOPL; VM/VIF/VIP stay clear.
    pub(crate) fn set_flags_iret(&mut self, f: u64, opsize: u64) {
        let mut changeable = flags::WRITABLE;
        if self.cpl > 0 {
            changeable &= !flags::IOPL;
        }
        if self.cpl as u64 > (self.rflags & flags::IOPL) >> 12 && self.mode != Mode::Real {
            changeable &= !flags::IF;
        }
        if opsize == 2 {
            changeable &= 0xffff;
        }
        self.rflags = (self.rflags & !changeable) | (f & changeable) | flags::FIXED1;
    }

    /// A fault for checks that need a selector error code.
    pub(crate) fn fault_sel(vector: u8, sel: u16) -> Fault {
        exc_err(vector, (sel & 0xfffc) as u32)
    }
}

/// Truncates `v` to `size` bytes.
#[inline]
pub fn mask(v: u64, size: u64) -> u64 {
    match size {
        1 => v & 0xff,
        2 => v & 0xffff,
        4 => v & 0xffff_ffff,
        _ => v,
    }
}
