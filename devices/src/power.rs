//! Power-off and reset registers of the `pc` board.
//!
//! * PM1a control register at port 0x604 (PM base 0x600 as set up by SeaBIOS on QEMU's `pc`
//!   machine). ACPI 6.5 section 4.8.4.2.1 (PM1 Control Registers): writing SLP_EN (bit 13)
//!   starts a transition to the sleeping state in SLP_TYP (bits 12:10). The board's DSDT
//!   `\_S5` package uses SLP_TYP 0, so `SLP_EN | SLP_TYP=0` (`outw(0x604, 0x2000)`) powers
//!   off: exit status 0. Other sleep types (S1-S4) are not supported and are ignored.
//!   SLP_EN is write-only and reads 0; SCI_EN (bit 0) and the other bits read back.
//! * Reset control register at port 0xcf9 (Intel ICH/PCH datasheets, "Reset Control
//!   Register"): writing bit 2 (RST_CPU) resets; bit 1 (SYS_RST) selects a hard reset and
//!   bit 3 (FULL_RST) a full one. Both are modelled as a machine reset.
//!   Bits 1 and 3 read back; bit 2 is self-clearing.
//! * System control port A at 0x92 (IBM PS/2 "port 92"): bit 0 (fast reset) resets on a
//!   0→1 transition, bit 1 is the A20 gate and reads back (see [`Power::a20_enabled`]).

use sim_core::bus::{Device, IoCtx, PioDevice};
use sim_core::irq::Signals;
use std::rc::Rc;

/// PM1a_CNT I/O port.
pub const PM1A_CNT_PORT: u16 = 0x604;
/// Reset control register port.
pub const RESET_CONTROL_PORT: u16 = 0xcf9;
/// System control port A.
pub const PORT92: u16 = 0x92;

const SLP_EN: u16 = 1 << 13;

/// PM1a control, reset control and port 92.
pub struct Power {
    signals: Rc<Signals>,
    pm1a_cnt: u16,
    rst_cnt: u8,
    port92: u8,
}

impl Power {
    /// The power/reset device, raising requests on `signals`. A20 starts enabled.
    pub fn new(signals: Rc<Signals>) -> Self {
        Self { signals, pm1a_cnt: 0, rst_cnt: 0, port92: 0x02 }
    }

    /// True if the A20 gate (port 0x92 bit 1) is enabled.
    pub fn a20_enabled(&self) -> bool {
        self.port92 & 2 != 0
    }

    fn pm1a_write(&mut self, v: u16) {
        // ACPI 6.5 4.8.4.2.1: SLP_EN triggers the sleep transition to SLP_TYP.
        if v & SLP_EN != 0 && (v >> 10) & 7 == 0 {
            self.signals.request_exit(0);
        }
        self.pm1a_cnt = v & !SLP_EN;
    }
}

impl Device for Power {
    fn name(&self) -> &str {
        "power"
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
}

impl PioDevice for Power {
    fn pio_read(&mut self, port: u16, size: u8, _ctx: &mut IoCtx) -> u32 {
        match port {
            PM1A_CNT_PORT => {
                let v = u32::from(self.pm1a_cnt);
                if size == 1 {
                    v & 0xff
                } else {
                    v & 0xffff
                }
            }
            0x605 => u32::from(self.pm1a_cnt >> 8),
            RESET_CONTROL_PORT => u32::from(self.rst_cnt),
            PORT92 => u32::from(self.port92),
            _ => 0xff,
        }
    }

    fn pio_write(&mut self, port: u16, size: u8, val: u32, _ctx: &mut IoCtx) {
        match port {
            PM1A_CNT_PORT if size >= 2 => self.pm1a_write(val as u16),
            PM1A_CNT_PORT => self.pm1a_write((self.pm1a_cnt & 0xff00) | (val as u16 & 0xff)),
            0x605 => self.pm1a_write((self.pm1a_cnt & 0x00ff) | ((val as u16 & 0xff) << 8)),
            RESET_CONTROL_PORT => {
                let v = val as u8;
                // ICH datasheet, Reset Control Register: RST_CPU (bit 2) initiates the reset
                // selected by SYS_RST (bit 1) / FULL_RST (bit 3).
                if v & 4 != 0 {
                    self.signals.request_reset();
                }
                self.rst_cnt = v & 0x0a;
            }
            PORT92 => {
                let v = val as u8;
                // PS/2 system control port A: bit 0 0->1 = fast reset, bit 1 = A20.
                if v & 1 != 0 && self.port92 & 1 == 0 {
                    self.signals.request_reset();
                }
                self.port92 = v;
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

    fn rig() -> (Rc<Signals>, Rig<Power>) {
        let s = Signals::new();
        let r = Rig::new(Power::new(s.clone()))
            .pio(0x604, 2, AccessSize::B1_2)
            .pio(0xcf9, 1, AccessSize::B1)
            .pio(0x92, 1, AccessSize::B1);
        (s, r)
    }

    #[test]
    fn s5_power_off_exits_zero() {
        let (s, mut r) = rig();
        r.bus.pio_write(0x604, 2, 0x0001, 0); // SCI_EN only
        assert_eq!(s.exit_requested(), None);
        assert_eq!(r.bus.pio_read(0x604, 2, 0), 1);
        r.bus.pio_write(0x604, 2, 0x2000 | (5 << 10), 0); // S-state 5 encoding: not ours
        assert_eq!(s.exit_requested(), None);
        r.bus.pio_write(0x604, 2, 0x2000, 0);
        assert_eq!(s.exit_requested(), Some(0));
        assert_eq!(r.bus.pio_read(0x604, 2, 0) & 0x2000, 0, "SLP_EN reads 0");
    }

    #[test]
    fn cf9_reset_needs_rst_cpu() {
        let (s, mut r) = rig();
        r.outb(0xcf9, 0x02, 0);
        assert!(!s.take_reset());
        assert_eq!(r.inb(0xcf9, 0), 0x02);
        r.outb(0xcf9, 0x06, 0);
        assert!(s.take_reset());
        assert_eq!(r.inb(0xcf9, 0), 0x02);
    }

    #[test]
    fn port92_fast_reset_and_a20() {
        let (s, mut r) = rig();
        assert!(r.dev.borrow().a20_enabled());
        r.outb(0x92, 0x00, 0);
        assert!(!r.dev.borrow().a20_enabled());
        assert!(!s.take_reset());
        r.outb(0x92, 0x03, 0);
        assert!(s.take_reset());
        assert_eq!(r.inb(0x92, 0), 0x03);
        r.outb(0x92, 0x03, 0); // no new 0->1 transition
        assert!(!s.take_reset());
    }
}
