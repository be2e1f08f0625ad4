//! Two cascaded 8259A programmable interrupt controllers plus the PIIX edge/level control
//! registers (ELCR).
//!
//! The master is at ports 0x20/0x21, the slave at 0xa0/0xa1 with its INT output on the
//! master's IR2; the ELCR is at 0x4d0 (IRQ 0-7) and 0x4d1 (IRQ 8-15). Behaviour follows the
//! Intel 8259A datasheet (ICW1-ICW4, OCW1-OCW3, priority rotation, special mask, poll, AEOI,
//! special fully nested mode, spurious IR7) and the PIIX/PIIX3 datasheet for the ELCR (edge
//! or level sensing per IRQ; IRQ 0, 1, 2, 8 and 13 are always edge).
//!
//! The board shares the controller as `Rc<RefCell<DualPic>>`: it is both on the port bus and
//! called directly with [`DualPic::set_irqs`], [`DualPic::output`] and
//! [`DualPic::acknowledge`]. The board maps ports 0x20, 0xa0 and 0x4d0, each of length 2,
//! with `AccessSize::B1`.

use sim_core::bus::{Device, IoCtx, PioDevice};

#[derive(Clone, Debug, Default)]
struct Pic {
    irr: u8,
    isr: u8,
    imr: u8,
    /// Input pin levels as last seen (edge detection).
    last_level: u8,
    elcr: u8,
    elcr_mask: u8,
    vector_base: u8,
    /// 0: ready (OCWs); 1/2/3: expecting ICW2/ICW3/ICW4.
    init_state: u8,
    icw4_needed: bool,
    single: bool,
    auto_eoi: bool,
    rotate_on_aeoi: bool,
    special_mask: bool,
    special_fully_nested: bool,
    read_isr: bool,
    poll: bool,
    /// The IR with the highest priority (0 after init: IR0 highest, IR7 lowest).
    priority_add: u8,
    is_master: bool,
}

impl Pic {
    fn new(is_master: bool, elcr_mask: u8) -> Self {
        Self { is_master, elcr_mask, ..Self::default() }
    }

    /// Priority rank (0 = highest) of the highest-priority bit in `mask`, or 8 if none.
    fn priority(&self, mask: u8) -> u8 {
        // 8259A datasheet, "Interrupt priorities": rotation makes IR(priority_add) highest.
        (0..8).find(|&p| mask & (1 << ((p + self.priority_add) & 7)) != 0).unwrap_or(8)
    }

    /// The IR the PIC would present to the CPU now, if any.
    fn pending(&self) -> Option<u8> {
        let req = self.irr & !self.imr;
        let p = self.priority(req);
        if p == 8 {
            return None;
        }
        let mut in_service = self.isr;
        if self.special_mask {
            // 8259A datasheet, special mask mode: masked IRs do not inhibit lower priorities.
            in_service &= !self.imr;
        }
        if self.special_fully_nested && self.is_master {
            // 8259A datasheet, special fully nested mode: the slave's IR stays open to
            // higher-priority requests from the same slave.
            in_service &= !(1 << 2);
        }
        let cur = self.priority(in_service);
        (p < cur).then_some((p + self.priority_add) & 7)
    }

    fn set_pin(&mut self, pin: u8, level: bool) {
        let bit = 1u8 << (pin & 7);
        if self.elcr & bit != 0 {
            // Level sensitive: IRR follows the pin.
            if level {
                self.irr |= bit;
            } else {
                self.irr &= !bit;
            }
        } else if level && self.last_level & bit == 0 {
            // Edge sensitive: a low-to-high transition latches the request.
            self.irr |= bit;
        }
        if level {
            self.last_level |= bit;
        } else {
            self.last_level &= !bit;
        }
    }

    /// INTA for `irq`: set ISR (unless AEOI), clear an edge request.
    fn intack(&mut self, irq: u8) {
        let bit = 1u8 << irq;
        if self.auto_eoi {
            // 8259A datasheet, AEOI: the ISR bit is reset at the end of the INTA sequence.
            if self.rotate_on_aeoi {
                self.priority_add = (irq + 1) & 7;
            }
        } else {
            self.isr |= bit;
        }
        if self.elcr & bit == 0 {
            self.irr &= !bit;
        }
    }

    fn write_cmd(&mut self, v: u8) {
        if v & 0x10 != 0 {
            // ICW1 (8259A datasheet, "Initialization command words"): clear IMR, IR7 lowest
            // priority, special mask off, status read = IRR; the edge detector is reset so
            // an already-high input needs a new rising edge.
            self.icw4_needed = v & 1 != 0;
            self.single = v & 2 != 0;
            self.imr = 0;
            self.isr = 0;
            self.irr &= self.elcr;
            self.priority_add = 0;
            self.special_mask = false;
            self.read_isr = false;
            self.poll = false;
            self.auto_eoi = false;
            self.rotate_on_aeoi = false;
            self.special_fully_nested = false;
            self.init_state = 1;
        } else if v & 0x08 != 0 {
            // OCW3.
            if v & 0x04 != 0 {
                self.poll = true;
            }
            if v & 0x02 != 0 {
                self.read_isr = v & 0x01 != 0;
            }
            if v & 0x40 != 0 {
                self.special_mask = v & 0x20 != 0;
            }
        } else {
            // OCW2: R, SL, EOI in bits 7:5, level in 2:0.
            let level = v & 7;
            match v >> 5 {
                0b001 | 0b101 => {
                    // Non-specific EOI (with rotation for 101): reset the highest ISR bit.
                    let p = self.priority(self.isr);
                    if p < 8 {
                        let irq = (p + self.priority_add) & 7;
                        self.isr &= !(1 << irq);
                        if v >> 5 == 0b101 {
                            self.priority_add = (irq + 1) & 7;
                        }
                    }
                }
                0b011 => self.isr &= !(1 << level),
                0b111 => {
                    self.isr &= !(1 << level);
                    self.priority_add = (level + 1) & 7;
                }
                0b110 => self.priority_add = (level + 1) & 7,
                0b100 => self.rotate_on_aeoi = true,
                0b000 => self.rotate_on_aeoi = false,
                _ => {} // 010: no operation
            }
        }
    }

    fn write_data(&mut self, v: u8) {
        match self.init_state {
            1 => {
                // ICW2: vector T7-T3 (8086 mode).
                self.vector_base = v & 0xf8;
                self.init_state = if !self.single {
                    2
                } else if self.icw4_needed {
                    3
                } else {
                    0
                };
            }
            2 => {
                // ICW3: the cascade wiring is fixed on a PC (slave on IR2, ID 2).
                self.init_state = if self.icw4_needed { 3 } else { 0 };
            }
            3 => {
                // ICW4: bit 1 AEOI, bit 4 SFNM (bit 0 8086 mode assumed).
                self.auto_eoi = v & 0x02 != 0;
                self.special_fully_nested = v & 0x10 != 0;
                self.init_state = 0;
            }
            _ => self.imr = v, // OCW1
        }
    }

    fn read_cmd(&mut self) -> u8 {
        if self.poll {
            // 8259A datasheet, poll command: the read acts as INTA; bit 7 = request present.
            self.poll = false;
            return match self.pending() {
                Some(irq) => {
                    self.intack(irq);
                    0x80 | irq
                }
                None => 0,
            };
        }
        if self.read_isr {
            self.isr
        } else {
            self.irr
        }
    }
}

/// Master and slave 8259A with ELCR.
pub struct DualPic {
    pics: [Pic; 2],
}

impl DualPic {
    /// Both PICs in their power-up state (uninitialised, all IRQs edge-triggered).
    pub fn new() -> Self {
        // PIIX datasheet, ELCR: IRQ0, 1, 2 (master) and 8, 13 (slave) must be edge.
        Self { pics: [Pic::new(true, 0xf8), Pic::new(false, 0xde)] }
    }

    fn update(&mut self) {
        // The slave's INT output drives the master's IR2 (8259A datasheet, cascade mode).
        // The master's IR2 request follows the slave's INT: an IR input must stay high until
        // INTA (8259A datasheet, "interrupt sequence"), so a withdrawn slave request also
        // withdraws IR2 (the next INTA then yields the master's spurious IR7).
        let slave_int = self.pics[1].pending().is_some();
        self.pics[0].set_pin(2, slave_int);
        if !slave_int {
            self.pics[0].irr &= !(1 << 2);
        }
    }

    fn set_pin(&mut self, irq: u8, level: bool) {
        match irq {
            2 => {} // IR2 of the master is the cascade input.
            0..=7 => self.pics[0].set_pin(irq, level),
            8..=15 => self.pics[1].set_pin(irq - 8, level),
            _ => {}
        }
    }

    /// Updates ISA IRQ inputs: `levels` bit n is the current level of IRQ n, `edges` bit n a
    /// rising edge seen since the last call (a pulse that may already have ended).
    pub fn set_irqs(&mut self, levels: u32, edges: u32) {
        for irq in 0..16u8 {
            let bit = 1u32 << irq;
            let level = levels & bit != 0;
            if edges & bit != 0 {
                self.set_pin(irq, false);
                self.set_pin(irq, true);
            }
            self.set_pin(irq, level);
        }
        self.update();
    }

    /// The INT output to the CPU.
    pub fn output(&self) -> bool {
        self.pics[0].pending().is_some()
    }

    /// The INTA cycle: returns the vector and updates ISR/IRR of both PICs. With no request
    /// pending (it went away), returns the spurious IR7 vector of the master, or IR15 of the
    /// slave if the master's request came from the cascade (8259A datasheet, "interrupt
    /// sequence": IR7 default when the request is removed before INTA).
    pub fn acknowledge(&mut self) -> u8 {
        let vector = match self.pics[0].pending() {
            Some(2) => {
                self.pics[0].intack(2);
                match self.pics[1].pending() {
                    Some(irq) => {
                        self.pics[1].intack(irq);
                        self.pics[1].vector_base.wrapping_add(irq)
                    }
                    None => self.pics[1].vector_base.wrapping_add(7),
                }
            }
            Some(irq) => {
                self.pics[0].intack(irq);
                self.pics[0].vector_base.wrapping_add(irq)
            }
            None => self.pics[0].vector_base.wrapping_add(7),
        };
        self.update();
        vector
    }

    /// IRR, ISR and IMR of the master (0) or slave (1), for debugging.
    pub fn regs(&self, which: usize) -> (u8, u8, u8) {
        let p = &self.pics[which & 1];
        (p.irr, p.isr, p.imr)
    }

    /// Reads a PIC or ELCR port.
    pub fn read_port(&mut self, port: u16) -> u8 {
        let v = match port {
            0x20 => self.pics[0].read_cmd(),
            0xa0 => self.pics[1].read_cmd(),
            0x21 => self.pics[0].imr,
            0xa1 => self.pics[1].imr,
            0x4d0 => self.pics[0].elcr,
            0x4d1 => self.pics[1].elcr,
            _ => 0xff,
        };
        self.update();
        v
    }

    /// Writes a PIC or ELCR port.
    pub fn write_port(&mut self, port: u16, v: u8) {
        match port {
            0x20 => self.pics[0].write_cmd(v),
            0xa0 => self.pics[1].write_cmd(v),
            0x21 => self.pics[0].write_data(v),
            0xa1 => self.pics[1].write_data(v),
            0x4d0 | 0x4d1 => {
                let p = &mut self.pics[usize::from(port & 1)];
                p.elcr = v & p.elcr_mask;
                // Re-evaluate level inputs under the new sensing mode.
                p.irr = (p.irr & !p.elcr) | (p.last_level & p.elcr);
            }
            _ => {}
        }
        self.update();
    }
}

impl Device for DualPic {
    fn name(&self) -> &str {
        "i8259"
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
}

impl PioDevice for DualPic {
    fn pio_read(&mut self, port: u16, _size: u8, _ctx: &mut IoCtx) -> u32 {
        u32::from(self.read_port(port))
    }
    fn pio_write(&mut self, port: u16, _size: u8, val: u32, _ctx: &mut IoCtx) {
        self.write_port(port, val as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The BIOS-style init: vectors 0x08/0x70 (or `m`/`s`), cascade on IR2, 8086 mode.
    fn init(p: &mut DualPic, m: u8, s: u8, icw4: u8) {
        p.write_port(0x20, 0x11);
        p.write_port(0x21, m);
        p.write_port(0x21, 0x04);
        p.write_port(0x21, icw4);
        p.write_port(0xa0, 0x11);
        p.write_port(0xa1, s);
        p.write_port(0xa1, 0x02);
        p.write_port(0xa1, icw4);
        p.write_port(0x21, 0);
        p.write_port(0xa1, 0);
    }

    #[test]
    fn master_priority_and_eoi() {
        let mut p = DualPic::new();
        init(&mut p, 0x20, 0x28, 0x01);
        p.set_irqs(0, (1 << 4) | (1 << 1));
        assert!(p.output());
        assert_eq!(p.acknowledge(), 0x21, "IRQ1 outranks IRQ4");
        assert!(!p.output(), "IRQ4 is lower than in-service IRQ1");
        assert_eq!(p.regs(0).1, 0x02);
        p.write_port(0x20, 0x20); // non-specific EOI
        assert!(p.output());
        assert_eq!(p.acknowledge(), 0x24);
        p.write_port(0x20, 0x64); // specific EOI for IR4
        assert_eq!(p.regs(0), (0, 0, 0));
        assert!(!p.output());
    }

    #[test]
    fn cascade_and_slave_vectors() {
        let mut p = DualPic::new();
        init(&mut p, 0x08, 0x70, 0x01);
        p.set_irqs(1 << 8, 1 << 8);
        assert!(p.output());
        assert_eq!(p.acknowledge(), 0x70);
        assert_eq!(p.regs(0).1, 0x04, "master IR2 in service");
        assert_eq!(p.regs(1).1, 0x01);
        p.write_port(0xa0, 0x20);
        p.write_port(0x20, 0x20);
        assert_eq!(p.regs(0).1 | p.regs(1).1, 0);
    }

    #[test]
    fn mask_and_spurious() {
        let mut p = DualPic::new();
        init(&mut p, 0x08, 0x70, 0x01);
        p.write_port(0x21, 0x01);
        p.set_irqs(0, 1);
        assert!(!p.output(), "IRQ0 masked");
        assert_eq!(p.read_port(0x21), 0x01);
        assert_eq!(p.acknowledge(), 0x0f, "spurious IRQ7");
        assert_eq!(p.regs(0).1, 0, "spurious sets no ISR bit");
        p.write_port(0x21, 0x00);
        assert_eq!(p.acknowledge(), 0x08, "latched edge survives the mask");
    }

    #[test]
    fn level_mode_via_elcr() {
        let mut p = DualPic::new();
        init(&mut p, 0x08, 0x70, 0x01);
        p.write_port(0x4d1, 0xff);
        assert_eq!(p.read_port(0x4d1), 0xde, "IRQ8 and IRQ13 stay edge");
        p.set_irqs(1 << 10, 1 << 10);
        assert_eq!(p.acknowledge(), 0x72);
        p.write_port(0xa0, 0x20);
        p.write_port(0x20, 0x20);
        assert!(p.output(), "still asserted level re-requests after EOI");
        p.set_irqs(0, 0);
        assert!(!p.output());
        assert_eq!(p.acknowledge(), 0x0f, "request withdrawn: spurious IRQ7");
    }

    #[test]
    fn slave_spurious_is_irq15() {
        let mut p = DualPic::new();
        init(&mut p, 0x08, 0x70, 0x01);
        p.write_port(0x4d1, 0x04); // IRQ10 level
        p.set_irqs(1 << 10, 0);
        // The slave raised IR2 on the master; now withdraw the slave request only.
        p.pics[1].set_pin(2, false);
        assert_eq!(p.acknowledge(), 0x77);
    }

    #[test]
    fn auto_eoi_and_read_isr_irr() {
        let mut p = DualPic::new();
        init(&mut p, 0x08, 0x70, 0x03);
        p.set_irqs(0, 1 << 3);
        p.write_port(0x20, 0x0a); // OCW3 read IRR
        assert_eq!(p.read_port(0x20), 0x08);
        assert_eq!(p.acknowledge(), 0x0b);
        p.write_port(0x20, 0x0b); // OCW3 read ISR
        assert_eq!(p.read_port(0x20), 0x00, "AEOI leaves ISR clear");
    }

    #[test]
    fn rotation_and_poll() {
        let mut p = DualPic::new();
        init(&mut p, 0x08, 0x70, 0x01);
        p.write_port(0x20, 0xc4); // set priority: IR5 highest
        p.set_irqs(0, (1 << 1) | (1 << 6));
        assert_eq!(p.acknowledge(), 0x0e, "IR6 outranks IR1 after rotation");
        p.write_port(0x20, 0xa0); // rotate on non-specific EOI: IR6 becomes lowest
        p.write_port(0x20, 0x0c); // poll
        assert_eq!(p.read_port(0x20), 0x81);
        assert_eq!(p.regs(0).1, 0x02, "poll acknowledged IR1");
        p.write_port(0x20, 0x0c);
        assert_eq!(p.read_port(0x20), 0x00);
    }

    #[test]
    fn special_mask_mode() {
        let mut p = DualPic::new();
        init(&mut p, 0x08, 0x70, 0x01);
        p.set_irqs(0, 1 << 3);
        assert_eq!(p.acknowledge(), 0x0b);
        p.set_irqs(0, 1 << 5);
        assert!(!p.output(), "IR5 blocked by IR3 in service");
        p.write_port(0x21, 0x08);
        p.write_port(0x20, 0x68); // OCW3: set special mask
        assert!(p.output());
        assert_eq!(p.acknowledge(), 0x0d);
    }
}
