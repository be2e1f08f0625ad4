//! A device compatible with QEMU's `pc-testdev` (hw/misc/pc-testdev.c), used by
//! kvm-unit-tests.
//!
//! Regions of the real device and what this model does:
//! * Port 0xe0, 4 bytes ("ioport"): a 32-bit data latch. A write of `len` bytes at port
//!   `0xe0 + k` replaces bytes `k..k+len` of the latch; a read returns those bytes.
//! * Port 0xe4, 4 bytes ("flush page", 32-bit accesses): on QEMU/KVM a write of a guest
//!   physical address makes the host `mprotect` that guest page to force KVM to zap and
//!   re-fault its mappings, to test TLB/shadow-paging flushes. An emulator has no host
//!   mapping to revoke, so this model only records the page address
//!   ([`PcTestdev::take_flushed_page`]) so the board can drop any cached translations or
//!   decoded code for that page. Reads return 0.
//! * Port 0xe8, 4 bytes ("ioport-byte"): the same latch, but every access is split into byte
//!   accesses (the board maps it with `AccessSize::B1`; this model is byte-granular anyway).
//! * Ports 0x2000..0x2017 ("irq-line", byte accesses): a write to `0x2000 + n` drives ISA/GSI
//!   line `n` high if the value is non-zero, low otherwise. Reads return 0.
//! * MMIO 0xff000000, 64 KiB ("iomem"): scratch memory; reads return what was written, at any
//!   size.
//!
//! Board mapping: PIO 0xe0 len 4 (`B1_4`), 0xe4 len 4 (`B4`), 0xe8 len 4 (`B1`), 0x2000 len
//! 24 (`B1`); MMIO 0xff000000 len 0x10000 (`ANY`).

use sim_core::bus::{Device, IoCtx, MmioDevice, PioDevice};
use sim_core::irq::{IrqLine, IrqLines};
use std::rc::Rc;

/// Size of the scratch MMIO region.
pub const IOMEM_LEN: usize = 0x10000;
/// Number of IRQ-line ports.
pub const IRQ_LINES: u16 = 24;

/// The pc-testdev device.
pub struct PcTestdev {
    ioport_data: u32,
    iomem: Vec<u8>,
    lines: Vec<IrqLine>,
    flushed: Option<u64>,
}

impl PcTestdev {
    /// A testdev driving lines 0..23 of `lines`.
    pub fn new(lines: Rc<IrqLines>) -> Self {
        Self {
            ioport_data: 0,
            iomem: vec![0; IOMEM_LEN],
            lines: (0..IRQ_LINES as u8).map(|n| lines.line(n)).collect(),
            flushed: None,
        }
    }

    /// Returns and clears the page address last written to the flush-page port.
    pub fn take_flushed_page(&mut self) -> Option<u64> {
        self.flushed.take()
    }

    fn latch_mask(port: u16, size: u8) -> (u32, u64) {
        let shift = u32::from(port & 3) * 8;
        let bits = u32::from(size.min(4)) * 8;
        let mask = if bits >= 32 { u64::from(u32::MAX) } else { (1u64 << bits) - 1 };
        (shift, mask << shift)
    }
}

impl Device for PcTestdev {
    fn name(&self) -> &str {
        "pc-testdev"
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        Some(self)
    }
}

impl PioDevice for PcTestdev {
    fn pio_read(&mut self, port: u16, size: u8, _ctx: &mut IoCtx) -> u32 {
        match port {
            0xe0..=0xe3 | 0xe8..=0xeb => {
                // pc-testdev.c: ioport read returns the addressed bytes of the latch.
                let (shift, mask) = Self::latch_mask(port, size);
                ((u64::from(self.ioport_data) & mask) >> shift) as u32
            }
            _ => 0,
        }
    }

    fn pio_write(&mut self, port: u16, size: u8, val: u32, _ctx: &mut IoCtx) {
        match port {
            0xe0..=0xe3 | 0xe8..=0xeb => {
                let (shift, mask) = Self::latch_mask(port, size);
                let d = (u64::from(self.ioport_data) & !mask) | ((u64::from(val) << shift) & mask);
                self.ioport_data = d as u32;
            }
            0xe4..=0xe7 => self.flushed = Some(u64::from(val) & !0xfff),
            0x2000..=0x2017 => {
                if let Some(l) = self.lines.get(usize::from(port - 0x2000)) {
                    l.set_level(val != 0);
                }
            }
            _ => {}
        }
    }
}

impl MmioDevice for PcTestdev {
    fn mmio_read(&mut self, offset: u64, size: u8, _ctx: &mut IoCtx) -> u64 {
        let mut v = 0u64;
        for i in 0..u64::from(size.min(8)) {
            let b = usize::try_from(offset.wrapping_add(i)).ok().and_then(|o| self.iomem.get(o));
            v |= u64::from(b.copied().unwrap_or(0)) << (8 * i);
        }
        v
    }

    fn mmio_write(&mut self, offset: u64, size: u8, val: u64, _ctx: &mut IoCtx) {
        for i in 0..u64::from(size.min(8)) {
            let slot = usize::try_from(offset.wrapping_add(i)).ok().and_then(|o| self.iomem.get_mut(o));
            if let Some(b) = slot {
                *b = (val >> (8 * i)) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;
    use sim_core::bus::AccessSize;

    fn rig() -> (Rc<IrqLines>, Rig<PcTestdev>) {
        let lines = IrqLines::new();
        let r = Rig::new(PcTestdev::new(lines.clone()))
            .pio(0xe0, 4, AccessSize::B1_4)
            .pio(0xe4, 4, AccessSize::B4)
            .pio(0xe8, 4, AccessSize::B1)
            .pio(0x2000, 24, AccessSize::B1)
            .mmio(0xff00_0000, 0x10000, AccessSize::ANY);
        (lines, r)
    }

    #[test]
    fn ioport_latch_reads_back_at_all_sizes() {
        let (_, mut r) = rig();
        r.bus.pio_write(0xe0, 4, 0x1122_3344, 0);
        assert_eq!(r.bus.pio_read(0xe0, 4, 0), 0x1122_3344);
        assert_eq!(r.bus.pio_read(0xe0, 2, 0), 0x3344);
        assert_eq!(r.bus.pio_read(0xe2, 2, 0), 0x1122);
        assert_eq!(r.bus.pio_read(0xe3, 1, 0), 0x11);
        r.bus.pio_write(0xe1, 1, 0xaa, 0);
        assert_eq!(r.bus.pio_read(0xe0, 4, 0), 0x1122_aa44);
        // The byte-split window shares the latch.
        r.bus.pio_write(0xe8, 2, 0xbeef, 0);
        assert_eq!(r.bus.pio_read(0xe8, 4, 0), 0x1122_beef);
        assert_eq!(r.bus.pio_read(0xe0, 4, 0), 0x1122_beef);
    }

    #[test]
    fn irq_ports_drive_lines() {
        let (lines, mut r) = rig();
        r.outb(0x2000 + 10, 5, 0);
        assert_eq!(lines.take_changes(), (1 << 10, 1 << 10));
        r.outb(0x2000 + 10, 0, 0);
        r.outb(0x2017, 1, 0);
        assert_eq!(lines.take_changes(), (1 << 23, 1 << 23));
        assert_eq!(r.inb(0x2017, 0), 0);
    }

    #[test]
    fn flush_page_and_iomem() {
        let (_, mut r) = rig();
        r.bus.pio_write(0xe4, 4, 0x12_3456, 0);
        assert_eq!(r.dev.borrow_mut().take_flushed_page(), Some(0x12_3000));
        assert_eq!(r.bus.pio_read(0xe4, 4, 0), 0);
        r.wr(0xff00_0010, 8, 0x0102_0304_0506_0708, 0);
        assert_eq!(r.rd(0xff00_0010, 8, 0), 0x0102_0304_0506_0708);
        assert_eq!(r.rd(0xff00_0011, 2, 0), 0x0607);
        r.wr(0xff00_fffe, 1, 0x99, 0);
        assert_eq!(r.rd(0xff00_fffe, 2, 0), 0x99);
    }
}
