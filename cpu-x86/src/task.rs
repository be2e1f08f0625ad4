//! Hardware task switching with 32-bit TSSes (SDM Vol 3A 8.3): through JMP/CALL to a TSS
//! descriptor or task gate, task gates in the IDT, and IRET with NT set. 16-bit TSSes are not
//! modelled: a switch to one raises #GP with the selector (documented limitation).

use crate::cpu::X86Cpu;
use crate::fault::{exc_err, NP, X};
use crate::intr::ts_fault;
use crate::platform::X86Platform;
use crate::state::*;

/// What started the task switch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TaskSource {
    Jmp,
    Call,
    Iret,
    Int,
}

impl X86Cpu {
    /// JMP/CALL to `sel`, whose descriptor `d` is a TSS or a task gate.
    pub(crate) fn task_switch_sel(
        &mut self,
        p: &mut dyn X86Platform,
        sel: u16,
        d: u64,
        src: TaskSource,
    ) -> X<()> {
        let dpl = ((d >> 45) & 3) as u8;
        if dpl < self.cpl || dpl < (sel & 3) as u8 {
            return Err(Self::gp_sel(sel));
        }
        if d & (1 << 47) == 0 {
            return Err(exc_err(NP, (sel & 0xfffc) as u32));
        }
        let tss_sel = if (d >> 40) & 0xf == 0x5 { (d >> 16) as u16 } else { sel };
        self.task_switch(p, tss_sel, src)
    }

    /// An IDT task gate: switch, then push the error code on the new task's stack.
    pub(crate) fn task_gate_event(
        &mut self,
        p: &mut dyn X86Platform,
        tss_sel: u16,
        err: Option<u32>,
    ) -> X<()> {
        self.task_switch(p, tss_sel, TaskSource::Int)?;
        if let Some(e) = err {
            let size = if self.tr.typ() & 8 != 0 { 4 } else { 2 };
            self.push(p, size, e as u64)?;
        }
        Ok(())
    }

    /// IRET with NT = 1: return to the task named by the back link.
    pub(crate) fn task_return(&mut self, p: &mut dyn X86Platform) -> X<()> {
        let link = self.read_sys(p, self.tr.base, 2)? as u16;
        self.task_switch(p, link, TaskSource::Iret)
    }

    fn task_switch(&mut self, p: &mut dyn X86Platform, sel: u16, src: TaskSource) -> X<()> {
        if sel & 4 != 0 {
            return Err(ts_fault(sel));
        }
        let (d, daddr) = self.read_descriptor(p, sel).map_err(|_| ts_fault(sel))?;
        let typ = ((d >> 40) & 0x1f) as u8;
        // Target must be an available 32-bit TSS, or busy for IRET (8.3 step 3).
        let want = if src == TaskSource::Iret { 0xb } else { 0x9 };
        if typ != want {
            // IRET to a task that is not busy is #TS; any other wrong type is #GP (SDM Vol 3A
            // 8.3 step 3 and the IRET pseudo-code).
            return Err(if src == TaskSource::Iret && typ == 0x9 {
                ts_fault(sel)
            } else {
                Self::gp_sel(sel)
            });
        }
        if d & (1 << 47) == 0 {
            return Err(exc_err(NP, (sel & 0xfffc) as u32));
        }
        let new = Segment::from_descriptor(sel, d);
        if new.limit < 0x67 {
            return Err(ts_fault(sel));
        }
        let old = self.tr;
        // Save the outgoing state into the current TSS (8.3 step 8).
        let mut eflags = self.rflags as u32;
        if src == TaskSource::Iret {
            eflags &= !(flags::NT as u32);
        }
        let b = old.base;
        self.write_sys(p, b + 0x20, 4, self.rip & 0xffff_ffff)?;
        self.write_sys(p, b + 0x24, 4, eflags as u64)?;
        for i in 0..8 {
            self.write_sys(p, b + 0x28 + 4 * i as u64, 4, self.regs[i] & 0xffff_ffff)?;
        }
        for (i, s) in [ES, CS, SS, DS, FS, GS].iter().enumerate() {
            self.write_sys(p, b + 0x48 + 4 * i as u64, 2, self.seg[*s].selector as u64)?;
        }
        // Busy bits (8.3 steps 4 and 10).
        if matches!(src, TaskSource::Jmp | TaskSource::Iret) {
            if let Ok((od, oaddr)) = self.read_descriptor(p, old.selector) {
                self.write_sys(p, oaddr + 5, 1, ((od >> 40) as u8 & !2) as u64)?;
            }
        }
        // Read the incoming state.
        let nb = new.base;
        let cr3 = self.read_sys(p, nb + 0x1c, 4)?;
        let eip = self.read_sys(p, nb + 0x20, 4)?;
        let mut nflags = self.read_sys(p, nb + 0x24, 4)?;
        let mut gpr = [0u64; 8];
        for (i, g) in gpr.iter_mut().enumerate() {
            *g = self.read_sys(p, nb + 0x28 + 4 * i as u64, 4)?;
        }
        let mut sels = [0u16; 6];
        for (i, s) in sels.iter_mut().enumerate() {
            *s = self.read_sys(p, nb + 0x48 + 4 * i as u64, 2)? as u16;
        }
        let ldt = self.read_sys(p, nb + 0x60, 2)? as u16;
        if matches!(src, TaskSource::Call | TaskSource::Int) {
            self.write_sys(p, nb, 2, old.selector as u64)?;
            nflags |= flags::NT;
        }
        if src != TaskSource::Iret {
            self.write_sys(p, daddr + 5, 1, ((d >> 40) as u8 | 2) as u64)?;
        }
        // Commit: TR, CR3, registers (8.3 steps 11-12).
        self.tr = Segment::from_descriptor(sel, d | (2 << 40));
        self.cr0 |= cr0::TS;
        if self.cr0 & cr0::PG != 0 {
            self.cr3 = cr3;
            self.refresh_pcid();
            self.tlb.flush(true);
        }
        self.rip = eip;
        self.rflags = (nflags & flags::WRITABLE) | flags::FIXED1;
        for (i, g) in gpr.iter().enumerate() {
            self.regs[i] = *g;
        }
        // LDTR, then segments, with #TS on bad selectors (8.3 step 13).
        if ldt & !3 == 0 {
            self.ldtr = Segment::default();
        } else {
            let (ld, _) = self.read_descriptor(p, ldt & !4).map_err(|_| ts_fault(ldt))?;
            if ldt & 4 != 0 || (ld >> 40) & 0x1f != 0x2 {
                return Err(ts_fault(ldt));
            }
            self.ldtr = Segment::from_descriptor(ldt, ld);
        }
        let cs_sel = sels[1];
        let (cd, _) = self.read_descriptor(p, cs_sel).map_err(|_| ts_fault(cs_sel))?;
        let cs = Segment::from_descriptor(cs_sel, cd);
        if !cs.is_code() {
            return Err(ts_fault(cs_sel));
        }
        self.cpl = (cs_sel & 3) as u8;
        self.seg[CS] = cs;
        self.update_mode();
        for (i, s) in [ES, CS, SS, DS, FS, GS].iter().enumerate() {
            if *s == CS {
                continue;
            }
            self.load_seg(p, *s, sels[i]).map_err(|f| {
                if f.vector() == crate::fault::GP {
                    ts_fault(sels[i])
                } else {
                    f
                }
            })?;
        }
        self.shadow = 0;
        Ok(())
    }
}
