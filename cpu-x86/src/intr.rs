//! Exception and interrupt delivery (SDM Vol 3A chapter 6): real-mode IVT (20.1.4), protected
//! mode IDT gates with privilege changes (6.12), IA-32e 16-byte gates with IST and stack
//! alignment (6.14), double-fault classes (6.15 interrupt 8, table 6-5) and triple-fault
//! shutdown; IRET.

use crate::cpu::{RunState, X86Cpu};
use crate::fault::{class, exc_err, Fault, DF, GP, NP, OF, TS, X};
use crate::platform::X86Platform;
use crate::state::*;

/// What is being delivered.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A fault or abort raised by an instruction.
    Exception,
    /// A trap after an instruction (debug single-step, data breakpoint).
    Trap,
    /// A maskable external interrupt.
    External,
    /// A non-maskable interrupt.
    Nmi,
    /// INT n.
    Software,
    /// INT3 / INTO (software exceptions: gate DPL checked, counted as exceptions).
    SoftException,
    /// INT1 (ICEBP): privileged software exception, no gate DPL check.
    Icebp,
}

impl X86Cpu {
    /// Delivers an event, turning faults during delivery into #DF or a triple-fault shutdown.
    pub(crate) fn deliver_event(
        &mut self,
        p: &mut dyn X86Platform,
        vector: u8,
        error: Option<u32>,
        kind: EventKind,
    ) {
        // The pushed RFLAGS image must hold exact status flags.
        self.materialize();
        let mut cur = (vector, error, kind);
        let mut first_class = class(vector);
        loop {
            if matches!(
                cur.2,
                EventKind::Exception | EventKind::Trap | EventKind::SoftException | EventKind::Icebp
            ) {
                self.stats.count_exception(cur.0);
            }
            match self.deliver_once(p, cur.0, cur.1, cur.2) {
                Ok(()) => return,
                Err(f2) => {
                    if cur.0 == DF {
                        // Fault while delivering #DF: shutdown (SDM Vol 3A 6.15, interrupt 8).
                        self.state = RunState::Shutdown;
                        self.shutdown_reason = Some(format!(
                            "triple fault: vector {} (error {:?}) while delivering #DF; {}",
                            f2.vector(),
                            f2.error(),
                            self.dump()
                        ));
                        return;
                    }
                    let c2 = class(f2.vector());
                    let double = (first_class == 1 && c2 == 1) || (first_class == 2 && c2 >= 1);
                    if double {
                        cur = (DF, Some(0), EventKind::Exception);
                        first_class = 3;
                    } else {
                        cur = (f2.vector(), f2.error(), EventKind::Exception);
                        first_class = c2;
                    }
                }
            }
        }
    }

    fn deliver_once(&mut self, p: &mut dyn X86Platform, v: u8, err: Option<u32>, kind: EventKind) -> X<()> {
        let ext: u32 = if matches!(kind, EventKind::Software | EventKind::SoftException) { 0 } else { 1 };
        if self.mode == Mode::Real {
            return self.deliver_real(p, v);
        }
        // #GP with the IDT bit (bit 1) and EXT in the error code (SDM Vol 3A 6.13).
        let idt_err = exc_err(GP, (v as u32) * 8 + 2 + ext);
        let long = self.efer & efer::LMA != 0;
        let esize: u64 = if long { 16 } else { 8 };
        if (v as u64) * esize + esize - 1 > self.idtr.limit as u64 {
            return Err(idt_err);
        }
        let ga = self.idtr.base.wrapping_add(v as u64 * esize);
        let lo = self.read_sys(p, ga, 8)?;
        let hi = if long { self.read_sys(p, ga + 8, 8)? } else { 0 };
        let typ = ((lo >> 40) & 0x1f) as u8;
        let dpl = ((lo >> 45) & 3) as u8;
        let present = lo & (1 << 47) != 0;
        let valid = if long { matches!(typ, 0xe | 0xf) } else { matches!(typ, 0x5 | 0x6 | 0x7 | 0xe | 0xf) };
        if !valid {
            return Err(idt_err);
        }
        // Software interrupts check the gate DPL against CPL (SDM Vol 3A 6.12.1.1).
        if matches!(kind, EventKind::Software | EventKind::SoftException) && dpl < self.cpl {
            return Err(idt_err);
        }
        if !present {
            return Err(exc_err(NP, (v as u32) * 8 + 2 + ext));
        }
        if typ == 0x5 {
            let tss_sel = (lo >> 16) as u16;
            return self.task_gate_event(p, tss_sel, err);
        }
        let cs_sel = (lo >> 16) as u16;
        let mut target = (lo & 0xffff) | ((lo >> 32) & 0xffff_0000);
        if long {
            target |= (hi & 0xffff_ffff) << 32;
        }
        let gate32 = typ & 0x8 != 0;
        if !gate32 {
            target &= 0xffff;
        }
        let is_int_gate = typ & 1 == 0;
        if cs_sel & !3 == 0 {
            return Err(exc_err(GP, ext));
        }
        let (cd, caddr) =
            self.read_descriptor(p, cs_sel).map_err(|_| exc_err(GP, (cs_sel & 0xfffc) as u32 + ext))?;
        let cs = Segment::from_descriptor(cs_sel, cd);
        if !cs.is_code() || cs.dpl() > self.cpl {
            return Err(exc_err(GP, (cs_sel & 0xfffc) as u32 + ext));
        }
        if !cs.present() {
            return Err(exc_err(NP, (cs_sel & 0xfffc) as u32 + ext));
        }
        if long && (!cs.long() || cs.db()) {
            return Err(exc_err(GP, (cs_sel & 0xfffc) as u32 + ext));
        }
        self.set_accessed(p, caddr, cd)?;
        let conforming = cs.attr & 4 != 0;
        let new_cpl = if conforming { self.cpl } else { cs.dpl() };
        let old = (self.seg, self.regs[4], self.cpl, self.mode, self.rflags);
        let old_ss = self.seg[SS].selector as u64;
        let old_sp = self.regs[4];
        let old_flags = self.rflags;
        let old_cs = self.seg[CS].selector as u64;
        let r = (|| {
            if long {
                let ist = (lo >> 32) & 7;
                let new_sp = if ist != 0 {
                    let off = 0x24 + 8 * (ist - 1);
                    if off + 7 > self.tr.limit as u64 {
                        return Err(exc_err(TS, (self.tr.selector & 0xfffc) as u32 + ext));
                    }
                    self.read_sys(p, self.tr.base + off, 8)?
                } else if new_cpl < self.cpl {
                    self.tss_stack(p, new_cpl)?.1
                } else {
                    self.regs[4]
                };
                if !crate::mem::canonical(new_sp, self.la_bits()) {
                    return Err(exc_err(crate::fault::SS, ext));
                }
                if new_cpl < self.cpl {
                    self.seg[SS] = Segment { selector: new_cpl as u16, base: 0, limit: 0, attr: 0x93 };
                }
                self.cpl = new_cpl;
                self.seg[CS] = Segment {
                    selector: (cs_sel & !3) | new_cpl as u16,
                    ..Segment::from_descriptor(cs_sel, cd | (1 << 40))
                };
                self.update_mode();
                // The stack is aligned to 16 bytes before the pushes (SDM Vol 3A 6.14.2).
                self.regs[4] = new_sp & !0xf;
                self.push(p, 8, old_ss)?;
                self.push(p, 8, old_sp)?;
                self.push(p, 8, old_flags)?;
                self.push(p, 8, old_cs)?;
                self.push(p, 8, self.rip)?;
                if let Some(e) = err {
                    self.push(p, 8, e as u64)?;
                }
                self.rip = target;
            } else {
                let gsize = if gate32 { 4 } else { 2 };
                if new_cpl < self.cpl {
                    let (ss_sel, sp) = self.tss_stack(p, new_cpl)?;
                    self.load_stack_for_cpl(p, ss_sel, new_cpl)?;
                    self.cpl = new_cpl;
                    self.regs[4] = sp;
                    self.seg[CS] = Segment {
                        selector: (cs_sel & !3) | new_cpl as u16,
                        ..Segment::from_descriptor(cs_sel, cd | (1 << 40))
                    };
                    self.update_mode();
                    self.push(p, gsize, old_ss)?;
                    self.push(p, gsize, old_sp)?;
                } else {
                    self.seg[CS] = Segment {
                        selector: (cs_sel & !3) | new_cpl as u16,
                        ..Segment::from_descriptor(cs_sel, cd | (1 << 40))
                    };
                    self.update_mode();
                }
                self.push(p, gsize, old_flags)?;
                self.push(p, gsize, old_cs)?;
                self.push(p, gsize, self.rip)?;
                if let Some(e) = err {
                    self.push(p, gsize, e as u64)?;
                }
                if target > self.seg[CS].limit as u64 {
                    return Err(exc_err(GP, ext));
                }
                self.rip = target;
            }
            Ok(())
        })();
        if let Err(e) = r {
            (self.seg, self.regs[4], self.cpl, self.mode, self.rflags) = old;
            return Err(e);
        }
        // TF, NT, RF and VM are cleared; interrupt gates also clear IF (SDM Vol 3A 6.12.1.3).
        self.rflags &= !(flags::TF | flags::NT | flags::RF | flags::VM);
        if is_int_gate {
            self.rflags &= !flags::IF;
        }
        if self.state == RunState::Halted {
            self.state = RunState::Running;
        }
        self.shadow = 0;
        Ok(())
    }

    fn deliver_real(&mut self, p: &mut dyn X86Platform, v: u8) -> X<()> {
        // Real-mode IVT: 4-byte entries offset:segment (SDM Vol 3A 20.1.4).
        if v as u64 * 4 + 3 > self.idtr.limit as u64 {
            return Err(exc_err(GP, 0));
        }
        let ent = self.read_sys(p, self.idtr.base.wrapping_add(v as u64 * 4), 4)?;
        let sp = self.regs[4];
        let r = (|| {
            self.push(p, 2, self.rflags & 0xffff)?;
            self.push(p, 2, self.seg[CS].selector as u64)?;
            self.push(p, 2, self.rip & 0xffff)
        })();
        if let Err(e) = r {
            self.regs[4] = sp;
            return Err(e);
        }
        self.rflags &= !(flags::IF | flags::TF | flags::AC | flags::RF);
        let sel = (ent >> 16) as u16;
        self.seg[CS].selector = sel;
        self.seg[CS].base = (sel as u64) << 4;
        self.rip = ent & 0xffff;
        if self.state == RunState::Halted {
            self.state = RunState::Running;
        }
        self.shadow = 0;
        Ok(())
    }

    /// INT n / INT3 / INTO / INT1 as instructions: the return address is the next instruction.
    pub(crate) fn software_interrupt(&mut self, p: &mut dyn X86Platform, v: u8, kind: EventKind) -> X<()> {
        if kind == EventKind::SoftException && v == OF && self.mode == Mode::Long64 {
            return Err(crate::fault::UD_);
        }
        // A fault while delivering INT n / INT3 / INTO is a fault of the instruction itself:
        // RIP points at it (SDM Vol 3A 6.12.1.1, and the INT n pseudo-code in Vol 2A).
        if kind != EventKind::Software {
            self.stats.count_exception(v);
        }
        self.deliver_once(p, v, None, kind)
    }

    /// IRET / IRETD / IRETQ (SDM Vol 2A IRET).
    pub(crate) fn iret(&mut self, p: &mut dyn X86Platform, opsize: u64) -> X<()> {
        self.nmi_blocked = false;
        if self.mode == Mode::Real {
            let sp = self.regs[4];
            let r = (|| {
                let ip = self.pop(p, opsize)?;
                let cs = self.pop(p, opsize)? as u16;
                let f = self.pop(p, opsize)?;
                if opsize == 2 && ip > self.seg[CS].limit as u64 {
                    return Err(exc_err(GP, 0));
                }
                self.seg[CS].selector = cs;
                self.seg[CS].base = (cs as u64) << 4;
                self.rip = ip;
                self.set_flags_iret(f, opsize);
                Ok(())
            })();
            if r.is_err() {
                self.regs[4] = sp;
            }
            return r;
        }
        if self.rflags & flags::NT != 0 {
            if self.efer & efer::LMA != 0 {
                return Err(exc_err(GP, 0));
            }
            return self.task_return(p);
        }
        let sp = self.regs[4];
        let saved_flags = self.rflags;
        let r = (|| {
            let ip = self.pop(p, opsize)?;
            let cs = self.pop(p, opsize)? as u16;
            let f = self.pop(p, opsize)?;
            self.return_to(p, cs, ip, opsize, 0, Some(f))
        })();
        if r.is_err() {
            self.regs[4] = sp;
            self.rflags = saved_flags;
        }
        r
    }
}

/// Fault helper used by task switching.
pub(crate) fn ts_fault(sel: u16) -> Fault {
    exc_err(TS, (sel & 0xfffc) as u32)
}
