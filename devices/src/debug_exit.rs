//! QEMU's `isa-debug-exit` device: a port whose writes stop the machine.
//!
//! QEMU docs (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`): a write of value `v`
//! makes QEMU exit with status `(v << 1) | 1`, so a test can never report success (0) by
//! accident. The value is the one written at the access size (a byte write of 0x01 gives
//! status 3). Reads return 0. The board maps it at port 0xf4, length 4.

use sim_core::bus::{Device, IoCtx, PioDevice};
use sim_core::irq::Signals;
use std::rc::Rc;

/// The debug-exit port.
pub struct DebugExit {
    signals: Rc<Signals>,
}

impl DebugExit {
    /// A debug-exit port that raises exit requests on `signals`.
    pub fn new(signals: Rc<Signals>) -> Self {
        Self { signals }
    }

    /// The exit status QEMU computes for a written value `v` (already truncated to the access
    /// size): `(v << 1) | 1`, truncated to the host's `int` like QEMU's `exit()` call.
    pub fn status_for(v: u32) -> i32 {
        // QEMU docs: isa-debug-exit, "exit code is (val << 1) | 1".
        ((u64::from(v) << 1) | 1) as u32 as i32
    }
}

impl Device for DebugExit {
    fn name(&self) -> &str {
        "debug-exit"
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
}

impl PioDevice for DebugExit {
    fn pio_read(&mut self, _port: u16, _size: u8, _ctx: &mut IoCtx) -> u32 {
        0
    }
    fn pio_write(&mut self, _port: u16, size: u8, val: u32, _ctx: &mut IoCtx) {
        let v = match size {
            1 => val & 0xff,
            2 => val & 0xffff,
            _ => val,
        };
        self.signals.request_exit(Self::status_for(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;
    use sim_core::bus::AccessSize;

    #[test]
    fn exit_status_is_value_shifted_or_one() {
        assert_eq!(DebugExit::status_for(0), 1);
        assert_eq!(DebugExit::status_for(1), 3);
        assert_eq!(DebugExit::status_for(0x10), 0x21);
        assert_eq!(DebugExit::status_for(0xffff_ffff), -1);
    }

    #[test]
    fn writes_request_exit_reads_zero() {
        let s = Signals::new();
        let mut r = Rig::new(DebugExit::new(s.clone())).pio(0xf4, 4, AccessSize::B1_4);
        assert_eq!(r.bus.pio_read(0xf4, 4, 0), 0);
        assert_eq!(s.exit_requested(), None);
        r.bus.pio_write(0xf4, 2, 0x1234, 0);
        assert_eq!(s.exit_requested(), Some(0x2469));
    }

    #[test]
    fn byte_write_uses_byte_value() {
        let s = Signals::new();
        let mut r = Rig::new(DebugExit::new(s.clone())).pio(0xf4, 4, AccessSize::B1_4);
        r.bus.pio_write(0xf4, 1, 0xff01, 0);
        assert_eq!(s.exit_requested(), Some(3));
    }
}
