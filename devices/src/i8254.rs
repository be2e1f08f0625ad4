//! Intel 8254 programmable interval timer (PIT) and the PC's port 0x61.
//!
//! Three 16-bit down-counters clocked at 1.193182 MHz (8254 datasheet), each with modes 0-5,
//! binary or BCD counting, LSB/MSB/LSB-then-MSB access, counter latch and read-back commands.
//! Channel 0 drives IRQ0; channel 2's gate is port 0x61 bit 0 and its output is readable as
//! port 0x61 bit 5. Counters are not stepped: the count and output are computed from the
//! machine tick (1 ns), and channel 0's output edges are scheduled events.
//!
//! IRQ0: in modes 0 and 1 the line follows OUT (it rises at terminal count and stays high
//! until the channel is reprogrammed); in modes 2-5 each rising edge of OUT is a
//! [`IrqLine::pulse`].
//!
//! The board maps ports 0x40 (length 4) and 0x61 (length 1), `AccessSize::B1`.

use sim_core::bus::{Device, IoCtx, PioDevice};
use sim_core::clock::Priority;
use sim_core::irq::IrqLine;

/// PIT input clock in Hz.
pub const PIT_HZ: u64 = 1_193_182;
const NS_PER_S: u128 = 1_000_000_000;
/// Period of the DRAM refresh request toggle seen at port 0x61 bit 4, in ns.
pub const REFRESH_PERIOD_NS: u64 = 15_085;

/// PIT clocks elapsed at tick `t`.
fn clk(t: u64) -> u64 {
    (u128::from(t) * u128::from(PIT_HZ) / NS_PER_S) as u64
}

/// First tick at which [`clk`] reaches `c`.
fn tick_of(c: u64) -> u64 {
    let t = (u128::from(c) * NS_PER_S).div_ceil(u128::from(PIT_HZ));
    u64::try_from(t).unwrap_or(u64::MAX)
}

fn from_bcd(v: u16) -> u64 {
    (0..4).rev().fold(0, |acc, i| acc * 10 + u64::from((v >> (4 * i)) & 0xf))
}

fn to_bcd(v: u64) -> u16 {
    let v = v % 10_000;
    (0..4).fold(0, |acc, i| acc | (((v / 10u64.pow(i)) % 10) as u16) << (4 * i))
}

#[derive(Clone, Debug)]
struct Channel {
    mode: u8,
    bcd: bool,
    /// Access mode: 1 LSB, 2 MSB, 3 LSB then MSB.
    rw: u8,
    /// Count register as written (BCD digits when `bcd`).
    reload: u16,
    count_set: bool,
    /// PIT clock at which the current count started.
    start: u64,
    /// Counting (modes 1/5: triggered by the gate).
    running: bool,
    /// Elapsed clocks frozen while the gate is low (modes 0, 2, 3, 4).
    frozen: Option<u64>,
    gate: bool,
    write_hi_next: bool,
    write_lo: u8,
    read_hi_next: bool,
    /// Latched count and "next byte is MSB".
    latch: Option<(u16, bool)>,
    status: Option<u8>,
    null_count: bool,
}

impl Channel {
    fn new(gate: bool) -> Self {
        Self {
            mode: 0,
            bcd: false,
            rw: 3,
            reload: 0,
            count_set: false,
            start: 0,
            running: false,
            frozen: None,
            gate,
            write_hi_next: false,
            write_lo: 0,
            read_hi_next: false,
            latch: None,
            status: None,
            null_count: true,
        }
    }

    fn modulus(&self) -> u64 {
        if self.bcd {
            10_000
        } else {
            0x1_0000
        }
    }

    /// The initial count N in clocks (0 means the maximum, 2^16 or 10^4 in BCD).
    fn n(&self) -> u64 {
        let m = self.modulus();
        let v = if self.bcd { from_bcd(self.reload) } else { u64::from(self.reload) };
        if v == 0 {
            m
        } else {
            v.min(m)
        }
    }

    /// Modes 6 and 7 alias 2 and 3 (8254 datasheet, control word format).
    fn eff_mode(&self) -> u8 {
        match self.mode {
            6 => 2,
            7 => 3,
            m => m,
        }
    }

    fn elapsed(&self, now: u64) -> u64 {
        match self.frozen {
            Some(e) => e,
            None => clk(now).saturating_sub(self.start),
        }
    }

    fn out(&self, now: u64) -> bool {
        let mode = self.eff_mode();
        if !self.running {
            // 8254 datasheet: OUT is low after a mode 0 control word, high in other modes.
            return mode != 0;
        }
        let (d, n) = (self.elapsed(now), self.n());
        match mode {
            // Mode 0: OUT goes high at terminal count and stays high.
            // Mode 1: OUT low from the trigger until terminal count.
            0 | 1 => d >= n,
            // Mode 2: OUT low for one clock when the count reaches 1; gate low forces high.
            2 => !self.gate || n < 2 || d % n != n - 1,
            // Mode 3: high for ceil(N/2), low for floor(N/2); gate low forces high.
            3 => !self.gate || d % n < n.div_ceil(2),
            // Modes 4/5: OUT low for one clock at terminal count.
            _ => d != n,
        }
    }

    /// Current count in binary.
    fn count(&self, now: u64) -> u64 {
        let (m, n) = (self.modulus(), self.n());
        if !self.running {
            return n % m;
        }
        let d = self.elapsed(now);
        match self.eff_mode() {
            // Mode 2: N, N-1, ..., 1, reload.
            2 => n - d % n,
            // Mode 3: counts down by two each half period.
            3 => {
                let p = d % n;
                let half = n.div_ceil(2);
                let q = if p < half { p } else { p - half };
                n.saturating_sub(2 * q).max(1) & !1 | (n & 1)
            }
            // Modes 0, 1, 4, 5: one pass, then wraps through the maximum count.
            _ => (n + m - d % m) % m,
        }
    }

    fn count_register(&self, now: u64) -> u16 {
        let c = self.count(now) % self.modulus();
        if self.bcd {
            to_bcd(c)
        } else {
            c as u16
        }
    }

    fn status_byte(&self, now: u64) -> u8 {
        // 8254 datasheet, read-back status byte: OUT, NULL COUNT, RW1 RW0, M2-M0, BCD.
        (u8::from(self.out(now)) << 7)
            | (u8::from(self.null_count) << 6)
            | (self.rw << 4)
            | (self.mode << 1)
            | u8::from(self.bcd)
    }

    fn set_mode(&mut self, cw: u8) {
        self.rw = (cw >> 4) & 3;
        self.mode = (cw >> 1) & 7;
        self.bcd = cw & 1 != 0;
        self.count_set = false;
        self.running = false;
        self.frozen = None;
        self.write_hi_next = false;
        self.read_hi_next = false;
        self.latch = None;
        self.status = None;
        self.null_count = true;
    }

    fn load(&mut self, v: u16, now: u64) {
        self.reload = v;
        self.count_set = true;
        self.null_count = false;
        match self.eff_mode() {
            // Modes 1 and 5 wait for a gate trigger.
            1 | 5 => {}
            _ => {
                self.running = true;
                self.start = clk(now);
                self.frozen = if self.gate { None } else { Some(0) };
            }
        }
    }

    fn write(&mut self, v: u8, now: u64) {
        match self.rw {
            1 => self.load(u16::from(v), now),
            2 => self.load(u16::from(v) << 8, now),
            _ => {
                if self.write_hi_next {
                    self.write_hi_next = false;
                    self.load(u16::from(self.write_lo) | u16::from(v) << 8, now);
                } else {
                    self.write_lo = v;
                    self.write_hi_next = true;
                    // 8254 datasheet, mode 0: writing the first byte stops the count.
                    if self.eff_mode() == 0 {
                        self.running = false;
                    }
                }
            }
        }
    }

    fn read(&mut self, now: u64) -> u8 {
        if let Some(s) = self.status.take() {
            return s;
        }
        let (v, hi) = match self.latch {
            Some((v, hi_next)) => {
                let hi = match self.rw {
                    1 => false,
                    2 => true,
                    _ => hi_next,
                };
                self.latch = if self.rw == 3 && !hi_next { Some((v, true)) } else { None };
                (v, hi)
            }
            None => {
                let v = self.count_register(now);
                let hi = match self.rw {
                    1 => false,
                    2 => true,
                    _ => {
                        self.read_hi_next = !self.read_hi_next;
                        !self.read_hi_next
                    }
                };
                (v, hi)
            }
        };
        if hi {
            (v >> 8) as u8
        } else {
            v as u8
        }
    }

    fn latch_count(&mut self, now: u64) {
        // 8254 datasheet: a second latch before the first is read is ignored.
        if self.latch.is_none() {
            self.latch = Some((self.count_register(now), false));
        }
    }

    fn set_gate(&mut self, level: bool, now: u64) {
        let old = self.gate;
        self.gate = level;
        let mode = self.eff_mode();
        if level && !old {
            match mode {
                // Modes 1/5: the rising edge (re)triggers the count.
                1 | 5 if self.count_set => {
                    self.running = true;
                    self.start = clk(now);
                    self.frozen = None;
                }
                // Modes 2/3: the rising edge reloads the counter.
                2 | 3 if self.count_set => {
                    self.start = clk(now);
                    self.frozen = None;
                }
                // Modes 0/4: counting resumes.
                0 | 4 => {
                    if let Some(e) = self.frozen.take() {
                        self.start = clk(now).saturating_sub(e);
                    }
                }
                _ => {}
            }
        } else if !level && old && self.running && matches!(mode, 0 | 2 | 3 | 4) {
            // Gate low disables counting in modes 0, 2, 3 and 4.
            self.frozen = Some(self.elapsed(now));
        }
    }

    /// Elapsed-clock index of OUT's next rising edge after `now`, if any.
    fn next_rise(&self, now: u64) -> Option<u64> {
        if !self.running || self.frozen.is_some() {
            return None;
        }
        let (d, n) = (self.elapsed(now), self.n());
        match self.eff_mode() {
            0 | 1 => (d < n).then_some(n),
            2 | 3 => Some((d / n + 1) * n),
            _ => (d <= n).then_some(n + 1),
        }
    }
}

/// The 8254 PIT with port 0x61.
pub struct Pit {
    ch: [Channel; 3],
    port61: u8,
    irq0: IrqLine,
    irq_level: bool,
    gen: u64,
}

impl Pit {
    /// A PIT whose channel 0 drives `irq0`.
    pub fn new(irq0: IrqLine) -> Self {
        Self {
            ch: [Channel::new(true), Channel::new(true), Channel::new(false)],
            port61: 0,
            irq0,
            irq_level: false,
            gen: 0,
        }
    }

    fn set_irq_level(&mut self, level: bool) {
        if level != self.irq_level {
            self.irq_level = level;
            self.irq0.set_level(level);
        }
    }

    /// Re-evaluates channel 0 after it was reprogrammed: drives the line and schedules the
    /// next output edge (earlier events become stale).
    fn reschedule(&mut self, ctx: &mut IoCtx) {
        self.gen = self.gen.wrapping_add(1);
        let c = &self.ch[0];
        let level = matches!(c.eff_mode(), 0 | 1) && c.out(ctx.now);
        self.set_irq_level(level);
        self.schedule_next(ctx);
    }

    fn schedule_next(&mut self, ctx: &mut IoCtx) {
        let c = &self.ch[0];
        if let Some(k) = c.next_rise(ctx.now) {
            let tick = tick_of(c.start.saturating_add(k));
            ctx.schedule(tick, Priority::Timer, self.gen);
        }
    }

    /// Tick of channel `n`'s next rising output edge (for tests and debugging).
    pub fn next_edge_tick(&self, n: usize, now: u64) -> Option<u64> {
        let c = self.ch.get(n)?;
        c.next_rise(now).map(|k| tick_of(c.start.saturating_add(k)))
    }

    /// Output of channel `n` at `now`.
    pub fn output(&self, n: usize, now: u64) -> bool {
        self.ch.get(n).is_some_and(|c| c.out(now))
    }

    fn control(&mut self, v: u8, ctx: &mut IoCtx) {
        let now = ctx.now;
        let sc = v >> 6;
        if sc == 3 {
            // Read-back command (8254 datasheet): bit 5 = !COUNT, bit 4 = !STATUS.
            for i in 0..3 {
                if v & (2 << i) == 0 {
                    continue;
                }
                let c = &mut self.ch[i];
                if v & 0x10 == 0 && c.status.is_none() {
                    c.status = Some(c.status_byte(now));
                }
                if v & 0x20 == 0 {
                    c.latch_count(now);
                }
            }
            return;
        }
        let i = usize::from(sc);
        if (v >> 4) & 3 == 0 {
            self.ch[i].latch_count(now);
            return;
        }
        self.ch[i].set_mode(v);
        if i == 0 {
            self.reschedule(ctx);
        }
    }
}

impl Device for Pit {
    fn name(&self) -> &str {
        "i8254"
    }
    fn on_event(&mut self, token: u64, ctx: &mut IoCtx) {
        if token != self.gen {
            return; // stale: channel 0 was reprogrammed since
        }
        if matches!(self.ch[0].eff_mode(), 0 | 1) {
            self.set_irq_level(true);
        } else {
            self.irq0.pulse();
        }
        self.schedule_next(ctx);
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
}

impl PioDevice for Pit {
    fn pio_read(&mut self, port: u16, _size: u8, ctx: &mut IoCtx) -> u32 {
        let now = ctx.now;
        u32::from(match port {
            0x40..=0x42 => self.ch[usize::from(port - 0x40)].read(now),
            0x61 => {
                // Port 0x61: bit 4 refresh request toggle, bit 5 channel 2 OUT.
                let refresh = ((now / REFRESH_PERIOD_NS) & 1) as u8;
                (self.port61 & 0x0f) | refresh << 4 | u8::from(self.ch[2].out(now)) << 5
            }
            _ => 0xff, // the control word register cannot be read
        })
    }

    fn pio_write(&mut self, port: u16, _size: u8, val: u32, ctx: &mut IoCtx) {
        let v = val as u8;
        match port {
            0x40..=0x42 => {
                let i = usize::from(port - 0x40);
                self.ch[i].write(v, ctx.now);
                if i == 0 {
                    self.reschedule(ctx);
                }
            }
            0x43 => self.control(v, ctx),
            0x61 => {
                self.port61 = v & 0x0f;
                self.ch[2].set_gate(v & 1 != 0, ctx.now);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;
    use sim_core::bus::AccessSize;
    use sim_core::irq::IrqLines;
    use std::rc::Rc;

    fn rig() -> (Rc<IrqLines>, Rig<Pit>) {
        let lines = IrqLines::new();
        let r = Rig::new(Pit::new(lines.line(0))).pio(0x40, 4, AccessSize::B1).pio(0x61, 1, AccessSize::B1);
        (lines, r)
    }

    #[test]
    fn clock_conversion() {
        assert_eq!(clk(1_000_000_000), PIT_HZ);
        assert_eq!(tick_of(PIT_HZ), 1_000_000_000);
        assert_eq!(tick_of(1), 839);
        assert_eq!(clk(tick_of(12345)), 12345);
        assert_eq!(from_bcd(0x9999), 9999);
        assert_eq!(to_bcd(1234), 0x1234);
    }

    #[test]
    fn mode2_periodic_irq0() {
        let (lines, mut r) = rig();
        r.outb(0x43, 0x34, 0); // ch0, lohi, mode 2
        r.outb(0x40, 0x9c, 0); // 11932 = ~100 Hz
        r.outb(0x40, 0x2e, 0);
        let first = tick_of(11932);
        assert_eq!(r.bus.next_event(), Some(first));
        lines.take_changes();
        assert_eq!(r.run(first - 1), 0);
        assert_eq!(r.run(first), 1);
        assert_eq!(lines.take_changes(), (0, 1), "a pulse on IRQ0");
        assert_eq!(r.bus.next_event(), Some(tick_of(2 * 11932)));
        r.run(tick_of(3 * 11932));
        assert_eq!(lines.take_changes(), (0, 1));
        // Reprogramming makes queued events stale.
        r.outb(0x43, 0x30, tick_of(3 * 11932) + 10);
        r.run(u64::MAX / 2);
        assert_eq!(lines.take_changes(), (0, 0));
    }

    #[test]
    fn mode0_one_shot_level() {
        let (lines, mut r) = rig();
        r.outb(0x43, 0x30, 1000);
        r.outb(0x40, 100, 1000);
        r.outb(0x40, 0, 1000);
        assert_eq!(lines.levels(), 0);
        let t = tick_of(clk(1000) + 100);
        assert_eq!(r.bus.next_event(), Some(t));
        r.run(t);
        assert_eq!(lines.levels(), 1, "OUT high at terminal count");
        assert!(r.bus.next_event().is_none());
        // Count wraps to 0xffff and keeps counting after terminal count.
        r.outb(0x43, 0x00, t + 2 * 839); // latch ch0
        let lo = r.inb(0x40, 0);
        let hi = r.inb(0x40, 0);
        assert!(u16::from_le_bytes([lo, hi]) >= 0xfffe, "{hi:02x}{lo:02x}");
    }

    #[test]
    fn count_read_latch_and_readback() {
        let (_, mut r) = rig();
        r.outb(0x43, 0xb4, 0); // ch2, lohi, mode 2
        r.outb(0x42, 0x00, 0);
        r.outb(0x42, 0x10, 0); // 0x1000
        r.outb(0x61, 0x01, 0); // gate on: reload at this tick
        let t = tick_of(0x100);
        r.outb(0x43, 0x80, t); // latch ch2
        let lo = r.inb(0x42, t + 100_000);
        let hi = r.inb(0x42, t + 200_000);
        assert_eq!(u16::from_le_bytes([lo, hi]), 0x0f00, "latched value");
        // Read-back: status + count of channel 2.
        r.outb(0x43, 0xc8, t);
        let st = r.inb(0x42, t);
        assert_eq!(st, 0x80 | 0x30 | (2 << 1), "OUT high, lohi, mode 2");
        assert_eq!(r.inb(0x42, t), 0x00);
        assert_eq!(r.inb(0x42, t), 0x0f);
        // Live lobyte-only reads.
        r.outb(0x43, 0x90, t); // ch2, LSB only, mode 0
        r.outb(0x42, 0x50, t);
        assert_eq!(r.inb(0x42, tick_of(clk(t) + 0x10)), 0x40);
    }

    #[test]
    fn bcd_counting() {
        let (_, mut r) = rig();
        r.outb(0x43, 0x31, 0); // ch0 lohi mode 0 BCD
        r.outb(0x40, 0x00, 0);
        r.outb(0x40, 0x10, 0); // 1000 decimal
        let t = tick_of(1);
        r.outb(0x43, 0x00, t);
        assert_eq!(r.inb(0x40, t), 0x99);
        assert_eq!(r.inb(0x40, t), 0x09);
    }

    #[test]
    fn port61_gate_out2_and_refresh() {
        let (_, mut r) = rig();
        r.outb(0x43, 0xb0, 0); // ch2 lohi mode 0
        r.outb(0x42, 10, 0);
        r.outb(0x42, 0, 0);
        // Gate low: the count is frozen.
        assert_eq!(r.inb(0x61, tick_of(100)) & 0x20, 0);
        r.outb(0x61, 0x01, tick_of(100));
        let v = r.inb(0x61, tick_of(109));
        assert_eq!(v & 0x21, 0x01, "gate readable, OUT still low");
        assert_eq!(r.inb(0x61, tick_of(110)) & 0x20, 0x20, "terminal count 10 clocks after gate");
        let a = r.inb(0x61, 0) & 0x10;
        let b = r.inb(0x61, REFRESH_PERIOD_NS) & 0x10;
        assert_ne!(a, b, "refresh bit toggles");
    }

    #[test]
    fn mode3_square_wave_output() {
        let (_, mut r) = rig();
        r.outb(0x43, 0xb6, 0); // ch2 lohi mode 3
        r.outb(0x42, 4, 0);
        r.outb(0x42, 0, 0);
        r.outb(0x61, 0x01, 0);
        let pit = r.dev.borrow();
        let outs: Vec<bool> = (0..8).map(|c| pit.output(2, tick_of(c))).collect();
        assert_eq!(outs, [true, true, false, false, true, true, false, false]);
        assert_eq!(pit.ch[2].count(tick_of(1)), 2);
    }

    #[test]
    fn mode1_needs_gate_trigger() {
        let (_, mut r) = rig();
        r.outb(0x43, 0xb2, 0); // ch2 lohi mode 1
        r.outb(0x42, 5, 0);
        r.outb(0x42, 0, 0);
        assert_eq!(r.inb(0x61, tick_of(50)) & 0x20, 0x20, "idle high");
        r.outb(0x61, 1, tick_of(50));
        assert_eq!(r.inb(0x61, tick_of(52)) & 0x20, 0, "low after trigger");
        assert_eq!(r.inb(0x61, tick_of(55)) & 0x20, 0x20);
    }
}
