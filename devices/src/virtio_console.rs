//! virtio console device (Device ID 3), one port, behind a [`super::virtio_mmio`] transport.
//!
//! References are to "Virtual I/O Device (VIRTIO) Version 1.2", section 5.3 ("spec"):
//! - Virtqueues (5.3.2): 0 receiveq (port 0), 1 transmitq (port 0). VIRTIO_CONSOLE_F_MULTIPORT
//!   is not offered, so there are no control queues and no further ports.
//! - Features (5.3.3): only VIRTIO_CONSOLE_F_EMERG_WRITE is offered. VIRTIO_CONSOLE_F_SIZE
//!   is not (the console has no size), so `cols`/`rows` read 0 and are not valid.
//! - Configuration (5.3.4): `cols` u16 at 0, `rows` u16 at 2, `max_nr_ports` u32 at 4,
//!   `emerg_wr` u32 at 8. A write to `emerg_wr` outputs its low byte at once, even before
//!   the driver has set the device up (5.3.4, 5.3.6: "use emergency write to output a
//!   single character without initializing virtio queues"). Reads of `emerg_wr` return 0.
//! - Transmit (5.3.6): every device-readable byte of a transmitq chain goes to the output,
//!   and the chain is returned with used length 0 (the device writes nothing). Device-writable
//!   descriptors in a transmitq (5.3.6.1: "The driver MUST NOT put a device-writable buffer
//!   in a transmitq") are skipped.
//! - Receive (5.3.6): bytes queued with [`VirtioConsole::push_input`] fill the device-writable
//!   part of receiveq chains in order; a chain is used with the number of bytes written as
//!   soon as any input is placed in it. Input waits (unbounded) while no buffer is
//!   available. The transport runs this on a notification or when the board calls
//!   [`super::virtio_mmio::VirtioMmio::process`] after pushing input.
//!
//! The output sink is whatever `Write` the board hands in; on the `virt` board it is the
//! PL011's serial sink (see `src/machine/virt.rs`).

use crate::virtio_mmio::{Queue, QueueError, VirtioDevice, Work};
use sim_core::GuestRam;
use std::collections::VecDeque;
use std::io::Write;

/// Device ID of a console (spec 5).
pub const DEVICE_ID: u32 = 3;
/// VIRTIO_CONSOLE_F_SIZE (spec 5.3.3); not offered.
pub const F_SIZE: u64 = 1 << 0;
/// VIRTIO_CONSOLE_F_MULTIPORT (spec 5.3.3); not offered.
pub const F_MULTIPORT: u64 = 1 << 1;
/// VIRTIO_CONSOLE_F_EMERG_WRITE (spec 5.3.3); offered.
pub const F_EMERG_WRITE: u64 = 1 << 2;
/// Queue Size maximum of both queues.
pub const QUEUE_SIZE: u16 = 256;
/// Index of the port-0 receiveq and transmitq (spec 5.3.2).
pub const RECEIVEQ: usize = 0;
pub const TRANSMITQ: usize = 1;

/// A single-port virtio console.
pub struct VirtioConsole {
    out: Box<dyn Write>,
    input: VecDeque<u8>,
}

impl VirtioConsole {
    /// A console writing port-0 output to `out`.
    pub fn new(out: Box<dyn Write>) -> Self {
        Self { out, input: VecDeque::new() }
    }

    /// Queues host input for the receiveq.
    pub fn push_input(&mut self, bytes: &[u8]) {
        self.input.extend(bytes);
    }

    /// Host input not yet delivered to the driver.
    pub fn pending_input(&self) -> usize {
        self.input.len()
    }
}

impl VirtioDevice for VirtioConsole {
    fn device_id(&self) -> u32 {
        DEVICE_ID
    }
    fn features(&self) -> u64 {
        F_EMERG_WRITE
    }
    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![QUEUE_SIZE, QUEUE_SIZE]
    }
    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        // cols = rows = 0 (F_SIZE not offered), max_nr_ports = 0 (F_MULTIPORT not
        // offered, field not valid), emerg_wr reads 0; beyond the structure: 0.
        data.fill(0);
    }
    fn write_config(&mut self, offset: u64, data: &[u8]) {
        // emerg_wr at offset 8 (spec 5.3.4); a byte or wider write carries the character
        // in its low byte.
        if offset == 8 && !data.is_empty() {
            let _ = self.out.write_all(&data[..1]);
            let _ = self.out.flush();
        }
    }
    fn reset(&mut self) {}
    fn process(
        &mut self,
        _notified: Option<usize>,
        queues: &mut [Queue],
        _features: u64,
        mem: &mut GuestRam,
    ) -> Result<Work, QueueError> {
        if let Some(tx) = queues.get_mut(TRANSMITQ) {
            let mut wrote = false;
            while let Some(c) = tx.pop(mem)? {
                let data = c.read_all(mem);
                let _ = self.out.write_all(&data);
                wrote = true;
                tx.push_used(mem, c.head, 0)?;
            }
            if wrote {
                let _ = self.out.flush();
            }
        }
        if let Some(rx) = queues.get_mut(RECEIVEQ) {
            while !self.input.is_empty() {
                let Some(c) = rx.pop(mem)? else { break };
                let room = c.writable_len().min(self.input.len() as u64) as usize;
                let data: Vec<u8> = self.input.iter().take(room).copied().collect();
                let n = c.write_all(mem, &data);
                self.input.drain(..n as usize);
                rx.push_used(mem, c.head, n)?;
            }
        }
        Ok(Work::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virtio_mmio::tests::*;
    use crate::virtio_mmio::*;
    use sim_core::GuestPhys;
    use std::cell::RefCell;
    use std::rc::Rc;

    struct Sink(Rc<RefCell<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn console() -> Setup {
        let log = Rc::new(RefCell::new(Vec::new()));
        setup_with(Box::new(VirtioConsole::new(Box::new(Sink(log.clone())))), log)
    }

    #[test]
    fn identity_config_and_emergency_write() {
        let mut s = console();
        assert_eq!(r(&mut s, REG_DEVICE_ID), 3);
        assert_eq!(r(&mut s, REG_DEVICE_FEATURES), F_EMERG_WRITE as u32);
        assert_eq!(s.t.read(REG_CONFIG, 2), 0);
        assert_eq!(s.t.read(REG_CONFIG + 4, 4), 0);
        s.t.write(REG_CONFIG + 8, 4, u64::from(b'!'), &mut s.mem);
        s.t.write(REG_CONFIG + 8, 1, u64::from(b'?'), &mut s.mem);
        s.t.write(REG_CONFIG + 4, 4, u64::from(b'x'), &mut s.mem);
        assert_eq!(&*s.log.borrow(), b"!?");
        w(&mut s, REG_QUEUE_SEL, 2);
        assert_eq!(r(&mut s, REG_QUEUE_NUM_MAX), 0);
    }

    #[test]
    fn transmit() {
        let mut s = console();
        assert_eq!(bring_up(&mut s, VIRTIO_F_VERSION_1, TRANSMITQ as u32, 16), 0xf);
        assert!(s.mem.write(GuestPhys(RAM + 0x8000), b"virtio says hi\n"));
        desc(&mut s, 0, RAM + 0x8000, 7, VIRTQ_DESC_F_NEXT, 1);
        desc(&mut s, 1, RAM + 0x8007, 8, 0, 0);
        avail(&mut s, 16, 0, 0);
        w(&mut s, REG_QUEUE_NOTIFY, TRANSMITQ as u32);
        assert_eq!(&*s.log.borrow(), b"virtio says hi\n");
        assert_eq!(s.mem.read_u32(GuestPhys(USED + 8)), Some(0));
        assert_eq!(r(&mut s, REG_INTERRUPT_STATUS), INT_VRING);
        // A writable descriptor in the transmitq is skipped.
        desc(&mut s, 2, RAM + 0x8000, 3, VIRTQ_DESC_F_NEXT, 3);
        desc(&mut s, 3, RAM + 0x8000, 3, VIRTQ_DESC_F_WRITE, 0);
        avail(&mut s, 16, 1, 2);
        w(&mut s, REG_QUEUE_NOTIFY, TRANSMITQ as u32);
        assert_eq!(&s.log.borrow()[15..], b"vir");
    }

    #[test]
    fn receive() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut con = VirtioConsole::new(Box::new(Sink(log.clone())));
        con.push_input(b"typed");
        let mut s = setup_with(Box::new(con), log);
        assert_eq!(bring_up(&mut s, VIRTIO_F_VERSION_1, RECEIVEQ as u32, 4), 0xf);
        desc(&mut s, 0, RAM + 0x9000, 3, VIRTQ_DESC_F_WRITE, 0);
        desc(&mut s, 1, RAM + 0x9100, 64, VIRTQ_DESC_F_WRITE, 0);
        avail(&mut s, 4, 0, 0);
        avail(&mut s, 4, 1, 1);
        w(&mut s, REG_QUEUE_NOTIFY, RECEIVEQ as u32);
        assert_eq!(s.mem.slice(GuestPhys(RAM + 0x9000), 3).unwrap(), b"typ");
        assert_eq!(s.mem.slice(GuestPhys(RAM + 0x9100), 2).unwrap(), b"ed");
        assert_eq!(s.mem.read_u32(GuestPhys(USED + 8)), Some(3));
        assert_eq!(s.mem.read_u32(GuestPhys(USED + 16)), Some(2));
        assert_eq!(r(&mut s, REG_INTERRUPT_STATUS), INT_VRING);
    }
}
