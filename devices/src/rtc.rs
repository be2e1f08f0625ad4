//! Motorola MC146818-compatible real-time clock and CMOS RAM.
//!
//! Port 0x70 selects a CMOS index (bit 7 masks NMI) and port 0x71 accesses it. 128 bytes of
//! CMOS; registers 0x00-0x09 hold the time and date (MC146818 datasheet, "Time, calendar and
//! alarm locations") in BCD or binary (register B bit 2, DM) and 12/24-hour format (register
//! B bit 1), register 0x32 the century (PC/AT convention). Register A holds UIP and the
//! periodic rate, B the SET/PIE/AIE/UIE enables, C the IRQF/PF/AF/UF flags (read clears them
//! and lowers IRQ8), D the valid-RAM-and-time bit.
//!
//! Time is deterministic: the clock reads `base_unix_secs` at tick 0 and advances one second
//! every 10^9 ticks; the update cycle happens exactly at each second boundary of the tick
//! count and UIP is set during the 244 µs before it. Guest writes to the time registers
//! move the clock by a stored offset. The divider bits of register A are stored but the time
//! base always runs. Flags are computed lazily from the tick when register C is read;
//! scheduled events raise IRQ8 on time when PIE, AIE or UIE are enabled.
//!
//! The board maps ports 0x70 (length 2, `AccessSize::B1`) and may preset CMOS bytes (memory
//! sizes, equipment) with [`Rtc::set_cmos`].

use sim_core::bus::{Device, IoCtx, PioDevice};
use sim_core::clock::Priority;
use sim_core::irq::IrqLine;

const NS: u64 = 1_000_000_000;
/// UIP is set this many ns before each update (MC146818 datasheet, register A UIP).
const UIP_NS: u64 = 244_000;

const REG_A: usize = 0x0a;
const REG_B: usize = 0x0b;
const REG_C: usize = 0x0c;
const REG_D: usize = 0x0d;
const REG_CENTURY: usize = 0x32;

const B_SET: u8 = 0x80;
const B_PIE: u8 = 0x40;
const B_AIE: u8 = 0x20;
const B_UIE: u8 = 0x10;
const B_DM_BINARY: u8 = 0x04;
const B_24H: u8 = 0x02;

const C_IRQF: u8 = 0x80;
const C_PF: u8 = 0x40;
const C_AF: u8 = 0x20;
const C_UF: u8 = 0x10;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian `(year, month, day)` of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Broken-down time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Tm {
    sec: i64,
    min: i64,
    hour: i64,
    /// 1 = Sunday.
    wday: i64,
    mday: i64,
    mon: i64,
    year: i64,
}

impl Tm {
    fn from_secs(t: i64) -> Self {
        let days = t.div_euclid(86_400);
        let s = t.rem_euclid(86_400);
        let (year, mon, mday) = civil_from_days(days);
        Tm {
            sec: s % 60,
            min: (s / 60) % 60,
            hour: s / 3600,
            // 1970-01-01 was a Thursday (day 5 with Sunday = 1).
            wday: (days + 4).rem_euclid(7) + 1,
            mday,
            mon,
            year,
        }
    }

    fn to_secs(self) -> i64 {
        let days = days_from_civil(self.year, self.mon.clamp(1, 12), self.mday.clamp(1, 31));
        days.saturating_mul(86_400).saturating_add(self.hour * 3600 + self.min * 60 + self.sec)
    }
}

/// The RTC/CMOS device.
pub struct Rtc {
    cmos: [u8; 128],
    index: u8,
    nmi_masked: bool,
    irq: IrqLine,
    irq_level: bool,
    base: u64,
    /// Seconds added to `base + now / 1e9` by guest writes of the time.
    offset: i64,
    /// Tick up to which flags were accounted.
    flags_upto: u64,
    gen: u64,
}

impl Rtc {
    /// An RTC driving `irq8`, reading `base_unix_secs` at tick 0.
    pub fn new(irq8: IrqLine, base_unix_secs: u64) -> Self {
        let mut cmos = [0u8; 128];
        cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
        cmos[REG_B] = B_24H;
        cmos[REG_D] = 0x80;
        Self {
            cmos,
            index: 0,
            nmi_masked: false,
            irq: irq8,
            irq_level: false,
            base: base_unix_secs,
            offset: 0,
            flags_upto: 0,
            gen: 0,
        }
    }

    /// Presets CMOS byte `index` (0..127), e.g. memory sizes at 0x15-0x18, 0x30-0x31,
    /// 0x34-0x35, 0x5b-0x5d.
    pub fn set_cmos(&mut self, index: u8, value: u8) {
        self.cmos[usize::from(index & 0x7f)] = value;
    }

    /// A CMOS byte as stored (time registers hold the last latched value).
    pub fn cmos(&self, index: u8) -> u8 {
        self.cmos[usize::from(index & 0x7f)]
    }

    /// True if the last index write set bit 7 (NMI disabled).
    pub fn nmi_masked(&self) -> bool {
        self.nmi_masked
    }

    /// Seconds since the Unix epoch shown by the clock at tick `now`.
    pub fn unix_time(&self, now: u64) -> i64 {
        (self.base as i64).wrapping_add((now / NS) as i64).wrapping_add(self.offset)
    }

    fn binary(&self) -> bool {
        self.cmos[REG_B] & B_DM_BINARY != 0
    }

    fn enc(&self, v: i64) -> u8 {
        let v = v.rem_euclid(100) as u8;
        if self.binary() {
            v
        } else {
            (v / 10) << 4 | (v % 10)
        }
    }

    fn dec(&self, v: u8) -> i64 {
        if self.binary() {
            i64::from(v)
        } else {
            i64::from(v >> 4) * 10 + i64::from(v & 0xf)
        }
    }

    fn enc_hour(&self, h: i64) -> u8 {
        if self.cmos[REG_B] & B_24H != 0 {
            return self.enc(h);
        }
        // MC146818 datasheet: 12-hour mode, hours 1-12 with bit 7 = PM.
        let pm = if h >= 12 { 0x80 } else { 0 };
        let h12 = match h % 12 {
            0 => 12,
            x => x,
        };
        self.enc(h12) | pm
    }

    fn dec_hour(&self, v: u8) -> i64 {
        if self.cmos[REG_B] & B_24H != 0 {
            return self.dec(v);
        }
        let h = self.dec(v & 0x7f) % 12;
        if v & 0x80 != 0 {
            h + 12
        } else {
            h
        }
    }

    /// Writes the clock's time at `now` into the time registers.
    fn latch_time(&mut self, now: u64) {
        let tm = Tm::from_secs(self.unix_time(now));
        self.cmos[0] = self.enc(tm.sec);
        self.cmos[2] = self.enc(tm.min);
        self.cmos[4] = self.enc_hour(tm.hour);
        self.cmos[6] = self.enc(tm.wday);
        self.cmos[7] = self.enc(tm.mday);
        self.cmos[8] = self.enc(tm.mon);
        self.cmos[9] = self.enc(tm.year);
        self.cmos[REG_CENTURY] = self.enc(tm.year.div_euclid(100));
    }

    /// Sets the clock from the time registers.
    fn commit_time(&mut self, now: u64) {
        let tm = Tm {
            sec: self.dec(self.cmos[0]),
            min: self.dec(self.cmos[2]),
            hour: self.dec_hour(self.cmos[4]),
            wday: 0,
            mday: self.dec(self.cmos[7]),
            mon: self.dec(self.cmos[8]),
            year: self.dec(self.cmos[REG_CENTURY]) * 100 + self.dec(self.cmos[9]),
        };
        let now_s = (self.base as i64).wrapping_add((now / NS) as i64);
        self.offset = tm.to_secs().wrapping_sub(now_s);
    }

    /// Periodic interrupt period in 32.768 kHz cycles (MC146818 datasheet, Table 3).
    fn periodic_cycles(&self) -> Option<u64> {
        match self.cmos[REG_A] & 0x0f {
            0 => None,
            1 => Some(128),
            2 => Some(256),
            rs => Some(1 << (rs - 1)),
        }
    }

    fn c32(t: u64) -> u64 {
        (u128::from(t) * 32_768 / u128::from(NS)) as u64
    }

    fn tick_of_c32(c: u64) -> u64 {
        u64::try_from((u128::from(c) * u128::from(NS)).div_ceil(32_768)).unwrap_or(u64::MAX)
    }

    fn alarm_matches(&self) -> bool {
        // MC146818 datasheet: alarm bytes with bits 7:6 = 11 are "don't care".
        let dc = |v: u8| v & 0xc0 == 0xc0;
        let cur = [self.cmos[0], self.cmos[2], self.cmos[4]];
        [1usize, 3, 5].iter().zip(cur).all(|(&a, c)| dc(self.cmos[a]) || self.cmos[a] == c)
    }

    /// Accounts update-ended, alarm and periodic flags up to `now`.
    fn sync(&mut self, now: u64) {
        if now <= self.flags_upto {
            return;
        }
        let prev = self.flags_upto;
        self.flags_upto = now;
        let mut flags = 0;
        if self.cmos[REG_B] & B_SET == 0 && now / NS > prev / NS {
            // An update cycle completed (MC146818 datasheet: UF after each update; AF when
            // the updated time matches the alarm).
            flags |= C_UF;
            self.latch_time(now / NS * NS);
            if self.alarm_matches() {
                flags |= C_AF;
            }
        }
        if let Some(p) = self.periodic_cycles() {
            if Self::c32(now) / p > Self::c32(prev) / p {
                flags |= C_PF;
            }
        }
        self.cmos[REG_C] |= flags;
        self.update_irq();
    }

    fn update_irq(&mut self) {
        let c = self.cmos[REG_C];
        let b = self.cmos[REG_B];
        // MC146818 datasheet, register C: IRQF = PF·PIE + AF·AIE + UF·UIE.
        let irqf = (c & C_PF != 0 && b & B_PIE != 0)
            || (c & C_AF != 0 && b & B_AIE != 0)
            || (c & C_UF != 0 && b & B_UIE != 0);
        if irqf {
            self.cmos[REG_C] |= C_IRQF;
        }
        if irqf != self.irq_level {
            self.irq_level = irqf;
            self.irq.set_level(irqf);
        }
    }

    fn next_event(&self, now: u64) -> Option<u64> {
        let b = self.cmos[REG_B];
        let mut next: Option<u64> = None;
        if b & B_PIE != 0 {
            if let Some(p) = self.periodic_cycles() {
                let c = (Self::c32(now) / p + 1).saturating_mul(p);
                next = Some(Self::tick_of_c32(c));
            }
        }
        if b & (B_AIE | B_UIE) != 0 && b & B_SET == 0 {
            let t = (now / NS + 1).saturating_mul(NS);
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next
    }

    fn reschedule(&mut self, ctx: &mut IoCtx) {
        self.gen = self.gen.wrapping_add(1);
        if let Some(t) = self.next_event(ctx.now) {
            ctx.schedule(t, Priority::Timer, self.gen);
        }
    }

    fn is_time_reg(i: usize) -> bool {
        matches!(i, 0 | 2 | 4 | 6..=9 | REG_CENTURY)
    }

    fn read_data(&mut self, now: u64) -> u8 {
        let i = usize::from(self.index);
        self.sync(now);
        match i {
            REG_A => {
                let uip = self.cmos[REG_B] & B_SET == 0 && now % NS >= NS - UIP_NS;
                self.cmos[REG_A] | if uip { 0x80 } else { 0 }
            }
            REG_C => {
                // Register C is cleared by reading it, which also releases IRQ8.
                let v = self.cmos[REG_C];
                self.cmos[REG_C] = 0;
                self.update_irq();
                v
            }
            REG_D => 0x80,
            _ if Self::is_time_reg(i) && self.cmos[REG_B] & B_SET == 0 => {
                self.latch_time(now);
                self.cmos[i]
            }
            _ => self.cmos[i],
        }
    }

    fn write_data(&mut self, v: u8, ctx: &mut IoCtx) {
        let now = ctx.now;
        let i = usize::from(self.index);
        self.sync(now);
        match i {
            REG_A => {
                self.cmos[REG_A] = v & 0x7f; // UIP is read-only
                self.reschedule(ctx);
            }
            REG_B => {
                let old = self.cmos[REG_B];
                let mut v = v;
                if v & B_SET != 0 {
                    // MC146818 datasheet: setting SET clears UIE and freezes the time.
                    v &= !B_UIE;
                    if old & B_SET == 0 {
                        self.latch_time(now);
                    }
                }
                self.cmos[REG_B] = v;
                if old & B_SET != 0 && v & B_SET == 0 {
                    self.commit_time(now);
                }
                self.update_irq();
                self.reschedule(ctx);
            }
            REG_C | REG_D => {} // read-only
            _ if Self::is_time_reg(i) => {
                if self.cmos[REG_B] & B_SET == 0 {
                    self.latch_time(now);
                    self.cmos[i] = v;
                    self.commit_time(now);
                } else {
                    self.cmos[i] = v;
                }
            }
            _ => self.cmos[i] = v,
        }
    }
}

impl Device for Rtc {
    fn name(&self) -> &str {
        "rtc"
    }
    fn on_event(&mut self, token: u64, ctx: &mut IoCtx) {
        if token != self.gen {
            return;
        }
        self.sync(ctx.now);
        if let Some(t) = self.next_event(ctx.now) {
            ctx.schedule(t, Priority::Timer, self.gen);
        }
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
}

impl PioDevice for Rtc {
    fn pio_read(&mut self, port: u16, _size: u8, ctx: &mut IoCtx) -> u32 {
        match port {
            0x71 => u32::from(self.read_data(ctx.now)),
            _ => 0xff, // the index register is write-only
        }
    }
    fn pio_write(&mut self, port: u16, _size: u8, val: u32, ctx: &mut IoCtx) {
        match port {
            0x70 => {
                self.index = val as u8 & 0x7f;
                self.nmi_masked = val & 0x80 != 0;
            }
            _ => self.write_data(val as u8, ctx),
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

    // 2024-02-29 23:59:58 UTC, a Thursday.
    const BASE: u64 = 1_709_251_198;

    fn rig() -> (Rc<IrqLines>, Rig<Rtc>) {
        let lines = IrqLines::new();
        let r = Rig::new(Rtc::new(lines.line(8), BASE)).pio(0x70, 2, AccessSize::B1);
        (lines, r)
    }

    fn rd(r: &mut Rig<Rtc>, i: u8, now: u64) -> u8 {
        r.outb(0x70, i, now);
        r.inb(0x71, now)
    }

    fn wr(r: &mut Rig<Rtc>, i: u8, v: u8, now: u64) {
        r.outb(0x70, i, now);
        r.outb(0x71, v, now);
    }

    #[test]
    fn calendar_round_trip() {
        for t in [0i64, 951_782_400, 1_709_251_198, 4_107_542_399, -86_400] {
            assert_eq!(Tm::from_secs(t).to_secs(), t);
        }
        let tm = Tm::from_secs(BASE as i64);
        assert_eq!((tm.year, tm.mon, tm.mday, tm.hour, tm.wday), (2024, 2, 29, 23, 5));
    }

    #[test]
    fn bcd_time_advances_with_ticks() {
        let (_, mut r) = rig();
        assert_eq!(rd(&mut r, 0, 0), 0x58);
        assert_eq!(rd(&mut r, 4, 0), 0x23);
        assert_eq!(rd(&mut r, 7, 0), 0x29);
        assert_eq!(rd(&mut r, 8, 0), 0x02);
        assert_eq!(rd(&mut r, 9, 0), 0x24);
        assert_eq!(rd(&mut r, 0x32, 0), 0x20);
        assert_eq!(rd(&mut r, 6, 0), 0x05);
        let t = 2 * NS;
        assert_eq!(
            [0, 2, 4, 7, 8].map(|i| rd(&mut r, i, t)),
            [0x00, 0x00, 0x00, 0x01, 0x03],
            "rolls over into March 1st"
        );
    }

    #[test]
    fn binary_and_12h_modes() {
        let (_, mut r) = rig();
        wr(&mut r, 0x0b, 0x04, 0); // binary, 12h
        assert_eq!(rd(&mut r, 4, 0), 0x80 | 11, "11 PM");
        assert_eq!(rd(&mut r, 0, 0), 58);
        wr(&mut r, 0x0b, 0x00, 0); // BCD, 12h
        assert_eq!(rd(&mut r, 4, 0), 0x91);
        assert_eq!(rd(&mut r, 4, 2 * NS), 0x12, "midnight is 12 AM");
    }

    #[test]
    fn setting_the_time_with_set_bit() {
        let (_, mut r) = rig();
        wr(&mut r, 0x0b, 0x82, 0); // SET, 24h, BCD
        wr(&mut r, 4, 0x08, 0);
        wr(&mut r, 2, 0x30, 0);
        wr(&mut r, 0, 0x00, 0);
        assert_eq!(rd(&mut r, 0, 5 * NS), 0x00, "frozen while SET");
        wr(&mut r, 0x0b, 0x02, 5 * NS);
        assert_eq!(rd(&mut r, 4, 5 * NS), 0x08);
        assert_eq!(rd(&mut r, 0, 7 * NS), 0x02);
        assert_eq!(rd(&mut r, 7, 7 * NS), 0x29, "date unchanged");
    }

    #[test]
    fn uip_and_reg_d() {
        let (_, mut r) = rig();
        assert_eq!(rd(&mut r, 0x0a, 0), 0x26);
        assert_eq!(rd(&mut r, 0x0a, NS - 1000), 0xa6);
        assert_eq!(rd(&mut r, 0x0d, 0), 0x80);
    }

    #[test]
    fn periodic_interrupt_and_reg_c_clear() {
        let (lines, mut r) = rig();
        rd(&mut r, 0x0c, 0);
        wr(&mut r, 0x0a, 0x26, 0); // 1024 Hz: 32 cycles
        wr(&mut r, 0x0b, 0x42, 0); // PIE
        let first = Rtc::tick_of_c32(32);
        assert_eq!(r.bus.next_event(), Some(first));
        r.run(first);
        assert_eq!(lines.levels(), 1 << 8);
        assert_eq!(rd(&mut r, 0x0c, first), C_IRQF | C_PF);
        assert_eq!(lines.levels(), 0);
        assert_eq!(rd(&mut r, 0x0c, first), 0);
        assert_eq!(r.bus.next_event(), Some(Rtc::tick_of_c32(64)));
    }

    #[test]
    fn update_ended_interrupt_once_per_second() {
        let (lines, mut r) = rig();
        wr(&mut r, 0x0b, 0x12, 0); // UIE
        assert_eq!(r.bus.next_event(), Some(NS));
        r.run(NS);
        assert_eq!(lines.levels(), 1 << 8);
        assert_eq!(rd(&mut r, 0x0c, NS) & (C_IRQF | C_UF), C_IRQF | C_UF);
        assert_eq!(r.bus.next_event(), Some(2 * NS));
        // Flags are set without interrupts enabled too (polling).
        wr(&mut r, 0x0b, 0x02, NS);
        assert_eq!(rd(&mut r, 0x0c, 3 * NS) & C_UF, C_UF);
    }

    #[test]
    fn alarm_with_dont_care() {
        let (lines, mut r) = rig();
        wr(&mut r, 1, 0x00, 0); // second 00
        wr(&mut r, 3, 0xc0, 0); // any minute
        wr(&mut r, 5, 0xff, 0); // any hour
        wr(&mut r, 0x0b, 0x22, 0); // AIE
        r.run(NS);
        assert_eq!(lines.levels(), 0, "23:59:59 does not match");
        r.run(2 * NS);
        assert_eq!(lines.levels(), 1 << 8);
        assert_eq!(rd(&mut r, 0x0c, 2 * NS) & C_AF, C_AF);
    }

    #[test]
    fn cmos_ram_and_nmi_mask() {
        let (_, mut r) = rig();
        r.dev.borrow_mut().set_cmos(0x34, 0x12);
        r.outb(0x70, 0x80 | 0x34, 0);
        assert!(r.dev.borrow().nmi_masked());
        assert_eq!(r.inb(0x71, 0), 0x12);
        wr(&mut r, 0x40, 0x77, 0);
        assert_eq!(rd(&mut r, 0x40, 0), 0x77);
        wr(&mut r, 0x0d, 0, 0);
        assert_eq!(rd(&mut r, 0x0d, 0), 0x80);
    }
}
