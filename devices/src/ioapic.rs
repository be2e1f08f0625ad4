//! Intel 82093AA I/O APIC with 24 redirection entries.
//!
//! Memory-mapped registers (82093AA datasheet 3.0): IOREGSEL at offset 0x00 selects an
//! indirect register read and written through IOWIN at 0x10: 0x00 IOAPICID (bits 27:24),
//! 0x01 IOAPICVER (0x00170020: 24 entries, version 0x20), 0x02 IOAPICARB (arbitration ID),
//! 0x10-0x3f the redirection table (low dword at 0x10 + 2n, high dword at 0x11 + 2n). Version
//! 0x20 parts also have the EOI register at offset 0x40 (as in ICH I/O APICs).
//!
//! Inputs are logical: a set bit in `levels` means "asserted", whatever the entry's polarity
//! bit says (the board's virtual wires carry the asserted state, as in QEMU/KVM). Delivery is
//! instantaneous, so the delivery-status bit always reads 0. Messages to the local APICs are
//! returned to the board: from [`Ioapic::set_irqs`] and [`Ioapic::eoi`] directly, and after an
//! MMIO access (which may unmask an asserted level pin) from
//! [`Ioapic::take_pending_messages`].
//!
//! The board maps it at 0xfec00000, length 0x1000, `AccessSize::B4`.

use crate::apic::{ApicMessage, DeliveryMode, Shorthand};
use sim_core::bus::{Device, IoCtx, MmioDevice};

/// Number of redirection entries (pins).
pub const IOAPIC_PINS: usize = 24;
/// IOAPICVER value: max redirection entry 23, version 0x20.
pub const IOAPIC_VERSION: u32 = 0x0017_0020;

const RTE_MASKED: u64 = 1 << 16;
const RTE_LEVEL: u64 = 1 << 15;
const RTE_REMOTE_IRR: u64 = 1 << 14;
const RTE_LOGICAL: u64 = 1 << 11;
/// Writable bits of an entry: all but delivery status (12) and remote IRR (14), plus the
/// destination field (63:56). 82093AA datasheet 3.2.4.
const RTE_WRITABLE: u64 = 0xff00_0000_0001_afff;

/// The I/O APIC.
pub struct Ioapic {
    id: u8,
    ioregsel: u8,
    redir: [u64; IOAPIC_PINS],
    /// Asserted pins (bit n = pin n).
    levels: u32,
    pending: Vec<ApicMessage>,
}

impl Ioapic {
    /// An I/O APIC with APIC ID `id` (0..15), all entries masked.
    pub fn new(id: u8) -> Self {
        Self {
            id: id & 0x0f,
            ioregsel: 0,
            // 82093AA datasheet 3.2.4: the mask bit is set after reset.
            redir: [RTE_MASKED; IOAPIC_PINS],
            levels: 0,
            pending: Vec::new(),
        }
    }

    /// Redirection entry `pin` (for the board's debugging and tests).
    pub fn entry(&self, pin: usize) -> Option<u64> {
        self.redir.get(pin).copied()
    }

    fn message(e: u64) -> Option<ApicMessage> {
        // 82093AA datasheet 3.2.4: delivery modes 011 and 110 are reserved for the IOAPIC.
        let mode = DeliveryMode::from_bits(((e >> 8) & 7) as u32)?;
        if mode == DeliveryMode::StartUp {
            return None;
        }
        Some(ApicMessage {
            dest: (e >> 56) as u32,
            logical: e & RTE_LOGICAL != 0,
            shorthand: Shorthand::None,
            mode,
            vector: e as u8,
            level: true,
            trigger_level: e & RTE_LEVEL != 0,
        })
    }

    /// Fires pin `pin` if it is a level pin that should (asserted, unmasked, remote IRR
    /// clear); sets remote IRR.
    fn service_level(&mut self, pin: usize, out: &mut Vec<ApicMessage>) {
        let e = self.redir[pin];
        if e & RTE_LEVEL == 0 || e & (RTE_MASKED | RTE_REMOTE_IRR) != 0 {
            return;
        }
        if self.levels & (1 << pin) == 0 {
            return;
        }
        if let Some(m) = Self::message(e) {
            // 82093AA datasheet 3.2.4, remote IRR: set when the level interrupt is accepted,
            // cleared by the EOI with the matching vector.
            if matches!(m.mode, DeliveryMode::Fixed | DeliveryMode::LowestPriority) {
                self.redir[pin] |= RTE_REMOTE_IRR;
            }
            out.push(m);
        }
    }

    /// Updates the pins: `levels` bit n is pin n's asserted state, `edges` a rising edge
    /// seen since the last call. Edge-triggered pins fire on a rising edge (lost if masked);
    /// level-triggered pins fire while asserted with remote IRR clear.
    pub fn set_irqs(&mut self, levels: u32, edges: u32) -> Vec<ApicMessage> {
        let mask = (1u32 << IOAPIC_PINS) - 1;
        let levels = levels & mask;
        let rising = ((levels & !self.levels) | edges) & mask;
        self.levels = levels;
        let mut out = Vec::new();
        for pin in 0..IOAPIC_PINS {
            let e = self.redir[pin];
            if e & RTE_LEVEL == 0 {
                if rising & (1 << pin) != 0 && e & RTE_MASKED == 0 {
                    out.extend(Self::message(e));
                }
            } else {
                self.service_level(pin, &mut out);
            }
        }
        out
    }

    /// EOI for `vector` from a local APIC: clears remote IRR of the level entries with that
    /// vector and re-fires those whose pin is still asserted.
    pub fn eoi(&mut self, vector: u8) -> Vec<ApicMessage> {
        let mut out = Vec::new();
        for pin in 0..IOAPIC_PINS {
            let e = self.redir[pin];
            if e as u8 == vector && e & RTE_REMOTE_IRR != 0 {
                self.redir[pin] &= !RTE_REMOTE_IRR;
                self.service_level(pin, &mut out);
            }
        }
        out
    }

    /// Messages produced by register writes (unmasking an asserted level pin, EOI register);
    /// the board calls this after each MMIO access.
    pub fn take_pending_messages(&mut self) -> Vec<ApicMessage> {
        std::mem::take(&mut self.pending)
    }

    fn read_reg(&self) -> u32 {
        match self.ioregsel {
            0x00 => u32::from(self.id) << 24,
            0x01 => IOAPIC_VERSION,
            0x02 => u32::from(self.id) << 24,
            r @ 0x10..=0x3f => {
                let e = self.redir[usize::from((r - 0x10) / 2)];
                if r & 1 == 0 {
                    e as u32
                } else {
                    (e >> 32) as u32
                }
            }
            _ => 0,
        }
    }

    fn write_reg(&mut self, v: u32) {
        match self.ioregsel {
            0x00 => self.id = ((v >> 24) & 0x0f) as u8,
            r @ 0x10..=0x3f => {
                let pin = usize::from((r - 0x10) / 2);
                let old = self.redir[pin];
                let new = if r & 1 == 0 {
                    (old & !0xffff_ffff) | u64::from(v)
                } else {
                    (old & 0xffff_ffff) | (u64::from(v) << 32)
                };
                let mut e = (old & !RTE_WRITABLE) | (new & RTE_WRITABLE);
                if e & RTE_LEVEL == 0 {
                    // Remote IRR is undefined for edge entries; keep it clear.
                    e &= !RTE_REMOTE_IRR;
                }
                self.redir[pin] = e;
                let mut out = std::mem::take(&mut self.pending);
                self.service_level(pin, &mut out);
                self.pending = out;
            }
            _ => {} // version and arbitration are read-only
        }
    }
}

impl Device for Ioapic {
    fn name(&self) -> &str {
        "ioapic"
    }
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        Some(self)
    }
}

impl MmioDevice for Ioapic {
    fn mmio_read(&mut self, offset: u64, _size: u8, _ctx: &mut IoCtx) -> u64 {
        match offset {
            0x00 => u64::from(self.ioregsel),
            0x10 => u64::from(self.read_reg()),
            _ => 0,
        }
    }

    fn mmio_write(&mut self, offset: u64, _size: u8, val: u64, _ctx: &mut IoCtx) {
        match offset {
            0x00 => self.ioregsel = val as u8,
            0x10 => self.write_reg(val as u32),
            0x40 => {
                // EOI register (version 0x20): same as an EOI message with this vector.
                let msgs = self.eoi(val as u8);
                self.pending.extend(msgs);
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

    const BASE: u64 = 0xfec0_0000;

    fn rig() -> Rig<Ioapic> {
        Rig::new(Ioapic::new(1)).mmio(BASE, 0x1000, AccessSize::B4)
    }

    fn wreg(r: &mut Rig<Ioapic>, reg: u32, v: u32) {
        r.wr(BASE, 4, reg.into(), 0);
        r.wr(BASE + 0x10, 4, v.into(), 0);
    }

    fn rreg(r: &mut Rig<Ioapic>, reg: u32) -> u32 {
        r.wr(BASE, 4, reg.into(), 0);
        r.rd(BASE + 0x10, 4, 0) as u32
    }

    #[test]
    fn id_version_arbitration() {
        let mut r = rig();
        assert_eq!(rreg(&mut r, 0), 1 << 24);
        assert_eq!(rreg(&mut r, 1), 0x0017_0020);
        wreg(&mut r, 0, 0x0a00_0000);
        assert_eq!(rreg(&mut r, 0), 0x0a00_0000);
        assert_eq!(rreg(&mut r, 2), 0x0a00_0000);
        wreg(&mut r, 1, 0);
        assert_eq!(rreg(&mut r, 1), 0x0017_0020);
        assert_eq!(rreg(&mut r, 0x10), 0x0001_0000, "masked at reset");
    }

    #[test]
    fn edge_pin_fires_on_rising_edge() {
        let mut r = rig();
        wreg(&mut r, 0x10 + 2 * 4, 0x0000_0830); // pin 4: vector 0x30, logical
        wreg(&mut r, 0x11 + 2 * 4, 0x0300_0000);
        let mut io = r.dev.borrow_mut();
        let m = io.set_irqs(1 << 4, 1 << 4);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].vector, m[0].dest, m[0].logical, m[0].trigger_level), (0x30, 3, true, false));
        assert!(io.set_irqs(1 << 4, 0).is_empty(), "no edge while held");
        assert_eq!(io.set_irqs(0, 1 << 4).len(), 1, "a pulse");
    }

    #[test]
    fn level_pin_remote_irr_and_eoi() {
        let mut r = rig();
        wreg(&mut r, 0x10 + 2 * 9, 0x0000_a041); // pin 9: level, active low, vector 0x41
        let mut io = r.dev.borrow_mut();
        let m = io.set_irqs(1 << 9, 1 << 9);
        assert_eq!(m.len(), 1);
        assert!(m[0].trigger_level);
        assert_ne!(io.entry(9).unwrap() & RTE_REMOTE_IRR, 0);
        assert!(io.set_irqs(1 << 9, 0).is_empty(), "remote IRR blocks");
        assert_eq!(io.eoi(0x41).len(), 1, "still asserted: re-fires");
        io.set_irqs(0, 0);
        assert!(io.eoi(0x41).is_empty());
        assert_eq!(io.entry(9).unwrap() & RTE_REMOTE_IRR, 0);
    }

    #[test]
    fn unmasking_asserted_level_pin_and_eoi_register() {
        let mut r = rig();
        wreg(&mut r, 0x10 + 2 * 5, 0x0001_8052); // masked level vector 0x52
        assert!(r.dev.borrow_mut().set_irqs(1 << 5, 1 << 5).is_empty());
        wreg(&mut r, 0x10 + 2 * 5, 0x0000_8052);
        let m = r.dev.borrow_mut().take_pending_messages();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].vector, 0x52);
        assert_eq!(rreg(&mut r, 0x10 + 2 * 5), 0x0000_c052, "remote IRR visible");
        r.wr(BASE + 0x40, 4, 0x52, 0);
        assert_eq!(r.dev.borrow_mut().take_pending_messages().len(), 1, "re-fired");
        // Remote IRR and delivery status are read-only.
        wreg(&mut r, 0x10 + 2 * 5, 0x0001_1052);
        assert_eq!(rreg(&mut r, 0x10 + 2 * 5) & 0x1000, 0);
    }

    #[test]
    fn out_of_range_registers_are_harmless() {
        let mut r = rig();
        wreg(&mut r, 0xff, 0xdead_beef);
        assert_eq!(rreg(&mut r, 0xff), 0);
        assert_eq!(r.rd(BASE + 0x20, 4, 0), 0);
        assert!(r.dev.borrow_mut().set_irqs(u32::MAX, u32::MAX).is_empty());
    }
}
