//! IA-PC High Precision Event Timer with three comparators.
//!
//! Register layout per the IA-PC HPET specification 1.0a, section 2.3: general capabilities
//! and ID (0x000), general configuration (0x010: ENABLE_CNF, LEG_RT_CNF), general interrupt
//! status (0x020, write 1 to clear), main counter (0x0f0), and per timer n at 0x100 + 0x20·n:
//! configuration and capabilities, comparator (+0x08) and FSB route (+0x10, FSB delivery is
//! not supported so it reads 0).
//!
//! The 64-bit main counter runs at 10 MHz (period 100 000 000 fs = 100 ticks) and is computed
//! from the machine tick while ENABLE_CNF is set; comparator matches are scheduled events.
//! Timer 0 supports periodic mode. With LEG_RT_CNF timer 0 drives GSI 2 and timer 1 GSI 8
//! (presenting them as ISA IRQ0/IRQ8 to the PIC, and disconnecting the PIT/RTC, is the
//! board's job; it can query [`Hpet::legacy_routing`]). Otherwise each timer drives the GSI
//! in its INT_ROUTE_CNF field, which accepts only the lines in [`HPET_ROUTE_CAP`]
//! (GSIs 16-23, the I/O APIC pins that no ISA device of the `pc` board drives, so the HPET
//! never fights another device over a line).
//!
//! The board maps it at 0xfed00000, length 0x400, `AccessSize::B4_8`.

use sim_core::bus::{Device, IoCtx, MmioDevice};
use sim_core::clock::Priority;
use sim_core::irq::IrqLines;
use std::rc::Rc;

/// Counter period in femtoseconds (10 MHz).
pub const HPET_PERIOD_FS: u64 = 100_000_000;
/// Ticks (ns) per counter increment.
const TICKS_PER_COUNT: u64 = 100;
/// Number of timers.
pub const HPET_TIMERS: usize = 3;
/// GSIs a timer can be routed to (bit n = GSI n): 16-23.
pub const HPET_ROUTE_CAP: u32 = 0x00ff_0000;

const CFG_ENABLE: u64 = 1 << 0;
const CFG_LEGACY: u64 = 1 << 1;

const TN_LEVEL: u64 = 1 << 1;
const TN_INT_ENB: u64 = 1 << 2;
const TN_PERIODIC: u64 = 1 << 3;
const TN_PER_INT_CAP: u64 = 1 << 4;
const TN_SIZE_CAP: u64 = 1 << 5;
const TN_VAL_SET: u64 = 1 << 6;
const TN_32BIT: u64 = 1 << 8;
const TN_ROUTE_SHIFT: u32 = 9;
const TN_ROUTE_MASK: u64 = 0x1f << TN_ROUTE_SHIFT;

#[derive(Clone, Debug)]
struct Timer {
    config: u64,
    cmp: u64,
    period: u64,
    gen: u64,
    asserted: Option<u8>,
}

/// The HPET.
pub struct Hpet {
    lines: Rc<IrqLines>,
    config: u64,
    isr: u64,
    /// Counter value at `base_tick` (or the halted value).
    counter_base: u64,
    base_tick: u64,
    timers: [Timer; HPET_TIMERS],
}

impl Hpet {
    /// An HPET driving lines of `lines`, disabled, counter 0.
    pub fn new(lines: Rc<IrqLines>) -> Self {
        let t = Timer { config: 0, cmp: u64::MAX, period: 0, gen: 0, asserted: None };
        Self { lines, config: 0, isr: 0, counter_base: 0, base_tick: 0, timers: [t.clone(), t.clone(), t] }
    }

    /// The general capabilities and ID register (IA-PC HPET spec 2.3.4).
    pub fn capabilities() -> u64 {
        (HPET_PERIOD_FS << 32)
            | (0x8086 << 16)
            | (1 << 15) // LEG_RT_CAP
            | (1 << 13) // COUNT_SIZE_CAP: 64-bit
            | (((HPET_TIMERS as u64) - 1) << 8)
            | 0x01 // REV_ID
    }

    /// True if LEG_RT_CNF is set (timer 0 replaces the PIT on IRQ0, timer 1 the RTC on
    /// IRQ8).
    pub fn legacy_routing(&self) -> bool {
        self.config & CFG_LEGACY != 0
    }

    fn enabled(&self) -> bool {
        self.config & CFG_ENABLE != 0
    }

    /// Main counter value at `now`.
    pub fn counter(&self, now: u64) -> u64 {
        if self.enabled() {
            self.counter_base.wrapping_add(now.saturating_sub(self.base_tick) / TICKS_PER_COUNT)
        } else {
            self.counter_base
        }
    }

    fn is_32(&self, n: usize) -> bool {
        self.timers[n].config & TN_32BIT != 0
    }

    fn gsi(&self, n: usize) -> Option<u8> {
        // IA-PC HPET spec 2.3.7, LEG_RT_CNF: timer 0 -> IRQ0/IRQ2 (APIC), timer 1 -> IRQ8.
        if self.legacy_routing() && n < 2 {
            return Some(if n == 0 { 2 } else { 8 });
        }
        let route = ((self.timers[n].config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT) as u8;
        (HPET_ROUTE_CAP & (1 << route) != 0).then_some(route)
    }

    fn deassert(&mut self, n: usize) {
        if let Some(g) = self.timers[n].asserted.take() {
            self.lines.line(g).set_level(false);
        }
    }

    /// Drives timer n's level interrupt from its status bit.
    fn refresh_level(&mut self, n: usize) {
        let t = &self.timers[n];
        let want = self.enabled()
            && t.config & TN_LEVEL != 0
            && t.config & TN_INT_ENB != 0
            && self.isr & (1 << n) != 0;
        let gsi = if want { self.gsi(n) } else { None };
        if self.timers[n].asserted != gsi {
            self.deassert(n);
            if let Some(g) = gsi {
                self.lines.line(g).set_level(true);
                self.timers[n].asserted = Some(g);
            }
        }
    }

    /// Schedules timer n's next comparator match (earlier events become stale). With
    /// `strict`, a comparator equal to the counter means the next wrap, not now.
    fn schedule(&mut self, n: usize, strict: bool, ctx: &mut IoCtx) {
        let t = &mut self.timers[n];
        t.gen = t.gen.wrapping_add(1);
        let token = (t.gen << 2) | n as u64;
        let active = t.config & (TN_INT_ENB | TN_PERIODIC) != 0;
        if !self.enabled() || !active {
            return;
        }
        let cur = self.counter(ctx.now);
        let cmp = self.timers[n].cmp;
        let delta = if self.is_32(n) {
            // 32-bit mode: the comparator matches the counter's low 32 bits (spec 2.3.9.2.4).
            match (cmp as u32).wrapping_sub(cur as u32) {
                0 if strict => 1u64 << 32,
                d => u64::from(d),
            }
        } else {
            match cmp.checked_sub(cur) {
                Some(0) if strict => return,
                Some(d) => d,
                None => return, // only after a 64-bit wrap
            }
        };
        // The counter reaches cur + delta at base_tick + (cur + delta - base) * 100.
        let counts = cur.wrapping_sub(self.counter_base).saturating_add(delta);
        let Some(tick) = counts.checked_mul(TICKS_PER_COUNT).and_then(|d| self.base_tick.checked_add(d))
        else {
            return;
        };
        ctx.schedule(tick.max(ctx.now), Priority::Timer, token);
    }

    fn fire(&mut self, n: usize, ctx: &mut IoCtx) {
        let cur = self.counter(ctx.now);
        let t = &mut self.timers[n];
        if t.config & TN_PERIODIC != 0 && t.period != 0 {
            // Spec 2.3.9.2.2: in periodic mode the comparator is incremented by the period.
            if t.config & TN_32BIT != 0 {
                t.cmp = (t.cmp.wrapping_add(t.period)) & 0xffff_ffff;
            } else if t.cmp <= cur {
                let k = (cur - t.cmp) / t.period + 1;
                t.cmp = t.cmp.wrapping_add(k.wrapping_mul(t.period));
            }
        }
        if t.config & TN_INT_ENB != 0 {
            if t.config & TN_LEVEL != 0 {
                // Spec 2.3.6: level-triggered interrupts set Tn_INT_STS until cleared.
                self.isr |= 1 << n;
                self.refresh_level(n);
            } else if let Some(g) = self.gsi(n) {
                self.lines.line(g).pulse();
            }
        }
        self.schedule(n, true, ctx);
    }

    fn read64(&self, reg: u64, now: u64) -> u64 {
        match reg {
            0x000 => Self::capabilities(),
            0x010 => self.config,
            0x020 => self.isr,
            0x0f0 => self.counter(now),
            0x100..=0x15f => {
                let n = ((reg - 0x100) / 0x20) as usize;
                let t = &self.timers[n];
                match reg & 0x1f {
                    0x00 => {
                        let per = if n == 0 { TN_PER_INT_CAP } else { 0 };
                        t.config | per | TN_SIZE_CAP | (u64::from(HPET_ROUTE_CAP) << 32)
                    }
                    0x08 if self.is_32(n) => t.cmp & 0xffff_ffff,
                    0x08 => t.cmp,
                    _ => 0,
                }
            }
            _ => 0,
        }
    }

    fn write64(&mut self, reg: u64, val: u64, written: u64, ctx: &mut IoCtx) {
        let now = ctx.now;
        let merge = |old: u64| (old & !written) | (val & written);
        match reg {
            0x010 => {
                let old = self.config;
                let new = merge(old) & (CFG_ENABLE | CFG_LEGACY);
                if (old ^ new) & CFG_ENABLE != 0 {
                    if new & CFG_ENABLE != 0 {
                        self.base_tick = now;
                    } else {
                        // Spec 2.3.5, ENABLE_CNF = 0: halt the counter, no interrupts.
                        self.counter_base = self.counter(now);
                    }
                }
                self.config = new;
                for n in 0..HPET_TIMERS {
                    self.refresh_level(n);
                    self.schedule(n, false, ctx);
                }
            }
            0x020 => {
                let clear = val & written & 0x7;
                self.isr &= !clear;
                for n in 0..HPET_TIMERS {
                    self.refresh_level(n);
                }
            }
            0x0f0 => {
                // Spec 2.3.8: software should only write the counter while halted.
                self.counter_base = merge(self.counter(now));
                self.base_tick = now;
                for n in 0..HPET_TIMERS {
                    self.schedule(n, false, ctx);
                }
            }
            0x100..=0x15f => {
                let n = ((reg - 0x100) / 0x20) as usize;
                match reg & 0x1f {
                    0x00 => self.write_timer_config(n, merge(self.timers[n].config), ctx),
                    0x08 => self.write_comparator(n, val, written, ctx),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn write_timer_config(&mut self, n: usize, v: u64, ctx: &mut IoCtx) {
        let mut mask = TN_LEVEL | TN_INT_ENB | TN_VAL_SET | TN_32BIT;
        if n == 0 {
            mask |= TN_PERIODIC;
        }
        let t = &mut self.timers[n];
        let mut new = (t.config & TN_ROUTE_MASK) | (v & mask);
        // Spec 2.3.8, Tn_INT_ROUTE_CNF: unsupported routes do not stick.
        let route = ((v & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT) as u32;
        if HPET_ROUTE_CAP & (1 << route) != 0 {
            new = (new & !TN_ROUTE_MASK) | (v & TN_ROUTE_MASK);
        }
        if new & TN_32BIT != 0 {
            t.cmp &= 0xffff_ffff;
            t.period &= 0xffff_ffff;
        }
        t.config = new;
        self.refresh_level(n);
        self.schedule(n, false, ctx);
    }

    fn write_comparator(&mut self, n: usize, val: u64, written: u64, ctx: &mut IoCtx) {
        let is32 = self.is_32(n);
        let t = &mut self.timers[n];
        let written = if is32 { written & 0xffff_ffff } else { written };
        let merge = |old: u64| (old & !written) | (val & written);
        if t.config & TN_PERIODIC != 0 {
            // Spec 2.3.9.2.2, Tn_VAL_SET_CNF: with VAL_SET the write sets the comparator
            // (the next match); every write in periodic mode sets the period.
            if t.config & TN_VAL_SET != 0 {
                t.cmp = merge(t.cmp);
            }
            t.period = merge(t.period);
        } else {
            t.cmp = merge(t.cmp);
        }
        t.config &= !TN_VAL_SET;
        self.schedule(n, false, ctx);
    }
}

impl Device for Hpet {
    fn name(&self) -> &str {
        "hpet"
    }
    fn on_event(&mut self, token: u64, ctx: &mut IoCtx) {
        let n = (token & 3) as usize;
        if n < HPET_TIMERS && token >> 2 == self.timers[n].gen && self.enabled() {
            self.fire(n, ctx);
        }
    }
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        Some(self)
    }
}

impl MmioDevice for Hpet {
    fn mmio_read(&mut self, offset: u64, size: u8, ctx: &mut IoCtx) -> u64 {
        let v = self.read64(offset & !7, ctx.now);
        if size >= 8 {
            v
        } else if offset & 4 != 0 {
            v >> 32
        } else {
            v & 0xffff_ffff
        }
    }

    fn mmio_write(&mut self, offset: u64, size: u8, val: u64, ctx: &mut IoCtx) {
        let (val, written) = if size >= 8 {
            (val, u64::MAX)
        } else if offset & 4 != 0 {
            (val << 32, 0xffff_ffff << 32)
        } else {
            (val & 0xffff_ffff, 0xffff_ffff)
        };
        self.write64(offset & !7, val, written, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;
    use sim_core::bus::AccessSize;

    const B: u64 = 0xfed0_0000;

    fn rig() -> (Rc<IrqLines>, Rig<Hpet>) {
        let lines = IrqLines::new();
        let r = Rig::new(Hpet::new(lines.clone())).mmio(B, 0x400, AccessSize::B4_8);
        (lines, r)
    }

    #[test]
    fn capabilities_and_counter() {
        let (_, mut r) = rig();
        let cap = r.rd(B, 8, 0);
        assert_eq!(cap >> 32, 100_000_000);
        assert_eq!((cap >> 16) & 0xffff, 0x8086);
        assert_eq!((cap >> 8) & 0x1f, 2, "3 timers");
        assert_ne!(cap & (1 << 13), 0);
        assert_ne!(cap & (1 << 15), 0);
        assert_eq!(r.rd(B + 4, 4, 0), 100_000_000);
        // Halted counter is writable; enabled counter counts at 10 MHz.
        r.wr(B + 0xf0, 8, 1000, 0);
        assert_eq!(r.rd(B + 0xf0, 8, 5000), 1000);
        r.wr(B + 0x10, 8, 1, 5000);
        assert_eq!(r.rd(B + 0xf0, 8, 5000 + 12_345), 1123);
        r.wr(B + 0x10, 8, 0, 10_000);
        assert_eq!(r.rd(B + 0xf0, 8, 99_999), 1050);
        let t0 = r.rd(B + 0x100, 8, 0);
        assert_eq!(t0 >> 32, u64::from(HPET_ROUTE_CAP));
        assert_eq!(t0 & (TN_PER_INT_CAP | TN_SIZE_CAP), TN_PER_INT_CAP | TN_SIZE_CAP);
        assert_eq!(r.rd(B + 0x120, 8, 0) & TN_PER_INT_CAP, 0, "timer 1 not periodic");
    }

    #[test]
    fn one_shot_edge_legacy_timer1() {
        let (lines, mut r) = rig();
        r.wr(B + 0x120, 8, TN_INT_ENB, 0);
        r.wr(B + 0x128, 8, 500, 0);
        r.wr(B + 0x10, 8, CFG_ENABLE | CFG_LEGACY, 1_000);
        assert_eq!(r.bus.next_event(), Some(1_000 + 500 * 100));
        r.run(50_999);
        assert_eq!(lines.take_changes(), (0, 0));
        r.run(51_000);
        assert_eq!(lines.take_changes(), (0, 1 << 8), "edge on GSI 8");
        assert_eq!(r.rd(B + 0x20, 8, 51_000), 0, "edge: no status");
        assert!(r.bus.next_event().is_none(), "64-bit one-shot does not re-arm");
    }

    #[test]
    fn periodic_timer0_with_val_set() {
        let (lines, mut r) = rig();
        r.wr(B + 0x10, 8, CFG_ENABLE | CFG_LEGACY, 0);
        let cfg = TN_INT_ENB | TN_PERIODIC | TN_VAL_SET;
        r.wr(B + 0x100, 8, cfg, 0);
        r.wr(B + 0x108, 8, 1000, 0); // first match
        r.wr(B + 0x108, 8, 250, 0); // period
        assert_eq!(r.rd(B + 0x108, 8, 0), 1000);
        r.run(100_000);
        assert_eq!(lines.take_changes(), (0, 1 << 2));
        assert_eq!(r.rd(B + 0x108, 8, 100_000), 1250);
        assert_eq!(r.bus.next_event(), Some(125_000));
        r.run(150_000);
        assert_eq!(r.rd(B + 0x108, 8, 150_000), 1750);
    }

    #[test]
    fn level_interrupt_status_and_route_cap() {
        let (lines, mut r) = rig();
        // Unsupported route 5 is refused; route 20 sticks.
        r.wr(B + 0x140, 8, TN_LEVEL | TN_INT_ENB | (5 << 9), 0);
        assert_eq!((r.rd(B + 0x140, 8, 0) >> 9) & 0x1f, 0);
        r.wr(B + 0x140, 8, TN_LEVEL | TN_INT_ENB | (20 << 9), 0);
        assert_eq!((r.rd(B + 0x140, 8, 0) >> 9) & 0x1f, 20);
        r.wr(B + 0x148, 8, 10, 0);
        r.wr(B + 0x10, 4, CFG_ENABLE, 0);
        r.run(1_000);
        assert_eq!(lines.levels(), 1 << 20);
        assert_eq!(r.rd(B + 0x20, 4, 1_000), 1 << 2);
        r.wr(B + 0x20, 4, 1 << 2, 2_000);
        assert_eq!(lines.levels(), 0);
        assert_eq!(r.rd(B + 0x20, 4, 2_000), 0);
    }

    #[test]
    fn thirty_two_bit_mode_wraps() {
        let (lines, mut r) = rig();
        r.wr(B + 0xf0, 8, 0xffff_fff0, 0);
        r.wr(B + 0x100, 8, TN_INT_ENB | TN_32BIT, 0);
        r.wr(B + 0x108, 8, 0x1_0000_0005, 0);
        assert_eq!(r.rd(B + 0x108, 8, 0), 5, "32-bit comparator");
        r.wr(B + 0x10, 8, CFG_ENABLE | CFG_LEGACY, 0);
        assert_eq!(r.bus.next_event(), Some(0x15 * 100));
        r.run(0x15 * 100);
        assert_eq!(lines.take_changes(), (0, 1 << 2));
        assert_eq!(r.bus.next_event(), Some(0x15 * 100 + (1u64 << 32) * 100));
        assert_eq!(r.rd(B + 0xf0, 8, 0x15 * 100), 0x1_0000_0005);
    }

    #[test]
    fn stale_events_after_disable() {
        let (lines, mut r) = rig();
        r.wr(B + 0x100, 8, TN_INT_ENB, 0);
        r.wr(B + 0x108, 8, 10, 0);
        r.wr(B + 0x10, 8, CFG_ENABLE | CFG_LEGACY, 0);
        r.wr(B + 0x10, 8, 0, 500);
        r.run(10_000);
        assert_eq!(lines.take_changes(), (0, 0));
        assert_eq!(r.rd(B + 0xf0, 8, 10_000), 5);
    }
}
