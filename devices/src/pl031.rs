//! Arm PrimeCell Real Time Clock (PL031), the RTC of the AArch64 `virt` board.
//!
//! Register map per the PrimeCell RTC (PL031) Technical Reference Manual, ARM DDI 0224
//! ("TRM" below), chapter 3: RTCDR 0x000 (counter, read-only), RTCMR 0x004 (match), RTCLR
//! 0x008 (load), RTCCR 0x00c (control, bit 0 start), RTCIMSC 0x010, RTCRIS 0x014, RTCMIS
//! 0x018, RTCICR 0x01c, RTCPeriphID0-3 0xfe0-0xfec and RTCPCellID0-3 0xff0-0xffc. Other
//! offsets (the integration-test registers included) are RAZ/WI.
//!
//! The 32-bit counter counts seconds of a free-running 1 Hz clock whose edges fall on
//! multiples of 10^9 ticks (1 tick = 1 ns): RTCDR = start_epoch + tick / 10^9 until RTCLR is
//! written, after which it counts on from the loaded value at the next edge.
//!
//! The RTC is modelled as already started, the way a battery-backed RTC is found by the OS
//! (TRM 3.3.4: once started, writes to RTCCR have no effect until reset; it reads 1). The
//! match interrupt (TRM 3.3.6: raised when the counter equals RTCMR) is raised when the
//! counter steps onto RTCMR, and also when a write to RTCMR or RTCLR makes them equal; while
//! it is unmasked a scheduled event raises the line at that tick, otherwise RTCRIS catches up
//! on the next access.
//!
//! The board maps it at 0x09010000, length [`PL031_MMIO_SIZE`], [`PL031_ACCESS`], with its
//! interrupt on SPI 2 (INTID 34).

use sim_core::bus::{AccessSize, Device, IoCtx, MmioDevice};
use sim_core::clock::Priority;
use sim_core::irq::IrqLine;

/// Length of the register window.
pub const PL031_MMIO_SIZE: u64 = 0x1000;
/// Access sizes the board maps the RTC with (32-bit APB registers).
pub const PL031_ACCESS: AccessSize = AccessSize::B4;

/// Ticks per second of the 1 Hz counter clock.
const TICKS_PER_SEC: u64 = 1_000_000_000;

const DR: u64 = 0x000;
const MR: u64 = 0x004;
const LR: u64 = 0x008;
const CR: u64 = 0x00c;
const IMSC: u64 = 0x010;
const RIS: u64 = 0x014;
const MIS: u64 = 0x018;
const ICR: u64 = 0x01c;

/// RTCPeriphID0-3 and RTCPCellID0-3 (TRM 3.3.9, 3.3.10).
const ID_REGS: [u8; 8] = [0x31, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/// A PL031 RTC.
pub struct Pl031 {
    irq: IrqLine,
    /// Counter value at the 1 Hz edge count `base_secs`.
    base: u32,
    /// Whole seconds of machine time (tick / 10^9) at the last load.
    base_secs: u64,
    mr: u32,
    lr: u32,
    imsc: bool,
    ris: bool,
    /// Tick of the next step of the counter onto RTCMR.
    next_match: Option<u64>,
    gen: u64,
    irq_level: bool,
}

impl Pl031 {
    /// An RTC driving `irq` whose counter reads `start_epoch_seconds` (truncated to the
    /// 32-bit counter) at tick 0.
    pub fn new(irq: IrqLine, start_epoch_seconds: u64) -> Self {
        let mut r = Self {
            irq,
            base: start_epoch_seconds as u32,
            base_secs: 0,
            mr: 0,
            lr: 0,
            imsc: false,
            ris: false,
            next_match: None,
            gen: 0,
            irq_level: false,
        };
        r.next_match = r.match_after(0);
        r
    }

    /// Counter value (RTCDR) at tick `now`.
    pub fn counter(&self, now: u64) -> u32 {
        let secs = (now / TICKS_PER_SEC).saturating_sub(self.base_secs);
        self.base.wrapping_add(secs as u32)
    }

    /// The first tick after `now` at which the counter steps onto RTCMR.
    fn match_after(&self, now: u64) -> Option<u64> {
        let delta = match self.mr.wrapping_sub(self.counter(now)) {
            0 => 1u64 << 32,
            d => u64::from(d),
        };
        (now / TICKS_PER_SEC).checked_add(delta)?.checked_mul(TICKS_PER_SEC)
    }

    /// Records a match that has happened by `now`.
    fn catch_up(&mut self, now: u64) {
        if self.next_match.is_some_and(|t| t <= now) {
            self.ris = true;
            self.next_match = self.match_after(now);
        }
    }

    fn update_irq(&mut self) {
        // TRM 3.3.7: RTCINTR is the masked match interrupt.
        let level = self.ris && self.imsc;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    /// Schedules the match event while the interrupt is unmasked (earlier ones go stale).
    fn reschedule(&mut self, ctx: &mut IoCtx) {
        self.gen = self.gen.wrapping_add(1);
        if let (true, Some(t)) = (self.imsc, self.next_match) {
            ctx.schedule(t, Priority::Timer, self.gen);
        }
    }

    /// RTCMR or the counter changed: a comparator now equal raises the interrupt at once.
    fn compare_changed(&mut self, ctx: &mut IoCtx) {
        if self.counter(ctx.now) == self.mr {
            self.ris = true;
        }
        self.next_match = self.match_after(ctx.now);
        self.reschedule(ctx);
    }

    fn read_reg(&mut self, reg: u64, now: u64) -> u32 {
        self.catch_up(now);
        match reg {
            DR => self.counter(now),
            MR => self.mr,
            LR => self.lr,
            CR => 1, // TRM 3.3.4: started
            IMSC => u32::from(self.imsc),
            RIS => u32::from(self.ris),
            MIS => u32::from(self.ris && self.imsc),
            0xfe0..=0xffc => u32::from(ID_REGS[((reg - 0xfe0) / 4) as usize]),
            _ => 0, // RTCICR is write-only; reserved and test registers RAZ
        }
    }

    fn write_reg(&mut self, reg: u64, val: u32, ctx: &mut IoCtx) {
        let now = ctx.now;
        self.catch_up(now);
        match reg {
            MR => {
                self.mr = val;
                self.compare_changed(ctx);
            }
            LR => {
                // TRM 3.3.3: the counter is loaded with the value written.
                self.lr = val;
                self.base = val;
                self.base_secs = now / TICKS_PER_SEC;
                self.compare_changed(ctx);
            }
            IMSC => {
                self.imsc = val & 1 != 0;
                self.reschedule(ctx);
            }
            ICR if val & 1 != 0 => self.ris = false,
            _ => {} // RTCDR is read-only; RTCCR writes have no effect once started
        }
        self.update_irq();
    }
}

impl Device for Pl031 {
    fn name(&self) -> &str {
        "pl031"
    }
    fn on_event(&mut self, token: u64, ctx: &mut IoCtx) {
        if token != self.gen {
            return;
        }
        self.catch_up(ctx.now);
        self.update_irq();
        self.reschedule(ctx);
    }
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        Some(self)
    }
}

impl MmioDevice for Pl031 {
    fn mmio_read(&mut self, offset: u64, _size: u8, ctx: &mut IoCtx) -> u64 {
        let v = self.read_reg(offset & !3, ctx.now);
        self.update_irq();
        u64::from(v)
    }
    fn mmio_write(&mut self, offset: u64, _size: u8, val: u64, ctx: &mut IoCtx) {
        self.write_reg(offset & !3, val as u32, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;
    use sim_core::irq::IrqLines;
    use std::rc::Rc;

    const BASE: u64 = 0x0901_0000;
    const EPOCH: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const S: u64 = TICKS_PER_SEC;

    fn rig() -> (Rig<Pl031>, Rc<IrqLines>) {
        let lines = IrqLines::new();
        let r = Rig::new(Pl031::new(lines.line(2), EPOCH)).mmio(BASE, PL031_MMIO_SIZE, PL031_ACCESS);
        (r, lines)
    }

    #[test]
    fn counter_follows_machine_time() {
        let (mut r, _) = rig();
        assert_eq!(r.rd(BASE, 4, 0), EPOCH);
        assert_eq!(r.rd(BASE, 4, S - 1), EPOCH);
        assert_eq!(r.rd(BASE, 4, 5 * S + 7), EPOCH + 5);
        assert_eq!(r.rd(BASE + 0xc, 4, 0), 1, "started");
        r.wr(BASE + 0xc, 4, 0, 0);
        assert_eq!(r.rd(BASE + 0xc, 4, 0), 1, "writes to RTCCR have no effect once started");
        r.wr(BASE, 4, 0, 0);
        assert_eq!(r.rd(BASE, 4, 6 * S), EPOCH + 6, "RTCDR is read-only");
    }

    #[test]
    fn load_restarts_from_value_at_next_edge() {
        let (mut r, _) = rig();
        r.wr(BASE + 8, 4, 1000, 3 * S + S / 2);
        assert_eq!(r.rd(BASE + 8, 4, 0), 1000);
        assert_eq!(r.rd(BASE, 4, 3 * S + S / 2), 1000);
        assert_eq!(r.rd(BASE, 4, 4 * S), 1001);
        // The 32-bit counter wraps.
        r.wr(BASE + 8, 4, u64::from(u32::MAX), 10 * S);
        assert_eq!(r.rd(BASE, 4, 11 * S), 0);
    }

    #[test]
    fn match_interrupt_fires_on_time_and_clears() {
        let (mut r, lines) = rig();
        r.wr(BASE + 0x10, 4, 1, 0);
        r.wr(BASE + 4, 4, EPOCH + 5, S / 3);
        assert_eq!(r.bus.next_event(), Some(5 * S));
        r.run(5 * S - 1);
        assert_eq!(lines.levels(), 0);
        r.run(5 * S);
        assert_eq!(lines.levels(), 1 << 2);
        assert_eq!((r.rd(BASE + 0x14, 4, 5 * S), r.rd(BASE + 0x18, 4, 5 * S)), (1, 1));
        r.wr(BASE + 0x1c, 4, 1, 5 * S + 1);
        assert_eq!(lines.levels(), 0);
        assert_eq!(r.rd(BASE + 0x14, 4, 6 * S), 0, "no second match within the same second");
        // Masking drops the line but the raw status keeps counting matches.
        r.wr(BASE + 0x10, 4, 0, 6 * S);
        r.wr(BASE + 4, 4, EPOCH + 8, 6 * S);
        assert_eq!(r.rd(BASE + 0x14, 4, 8 * S), 1);
        assert_eq!((r.rd(BASE + 0x18, 4, 8 * S), lines.levels()), (0, 0));
        r.wr(BASE + 0x10, 4, 1, 8 * S);
        assert_eq!(lines.levels(), 1 << 2);
    }

    #[test]
    fn rewriting_match_cancels_the_old_event_and_equal_fires_at_once() {
        let (mut r, lines) = rig();
        r.wr(BASE + 0x10, 4, 1, 0);
        r.wr(BASE + 4, 4, EPOCH + 3, 0);
        r.wr(BASE + 4, 4, EPOCH + 9, 0);
        r.run(3 * S);
        assert_eq!(lines.levels(), 0, "stale event ignored");
        r.run(9 * S);
        assert_eq!(lines.levels(), 1 << 2);
        r.wr(BASE + 0x1c, 4, 1, 9 * S);
        r.wr(BASE + 4, 4, EPOCH + 9, 9 * S + 10);
        assert_eq!(lines.levels(), 1 << 2, "RTCMR written equal to the counter");
        r.wr(BASE + 0x1c, 4, 1, 9 * S + 20);
        r.wr(BASE + 8, 4, EPOCH + 9, 9 * S + 30);
        assert_eq!(lines.levels(), 1 << 2, "RTCLR loaded equal to RTCMR");
    }

    #[test]
    fn id_registers_and_reserved() {
        let (mut r, _) = rig();
        let ids: Vec<u64> = (0..8).map(|i| r.rd(BASE + 0xfe0 + 4 * i, 4, 0)).collect();
        assert_eq!(ids, [0x31, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
        assert_eq!(r.rd(BASE + 0x20, 4, 0), 0);
        assert_eq!(r.rd(BASE + 0x1c, 4, 0), 0, "RTCICR is write-only");
    }
}
