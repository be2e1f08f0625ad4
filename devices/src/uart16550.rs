//! NS16550A-compatible UART (COM1 on the `pc` board).
//!
//! Register map per the PC16550D datasheet ("Register Description", Table II): offset 0
//! RBR/THR (DLL with DLAB=1), 1 IER (DLM with DLAB=1), 2 IIR (read) / FCR (write), 3 LCR,
//! 4 MCR, 5 LSR, 6 MSR, 7 SCR. Transmission is instantaneous: a THR write hands the byte to
//! the output at once, so LSR.THRE and LSR.TEMT are set again when the write completes.
//! Received bytes come from [`Uart16550::push_input`]; the receive FIFO is backed by an
//! unbounded host-side queue (as if the host applied flow control), so no overrun occurs.
//! On a PC the interrupt pin is gated by MCR.OUT2; in loopback mode the OUT2 pin is forced
//! inactive so the IRQ line stays low.
//!
//! The board maps the UART at port 0x3f8, length 8, `AccessSize::B1`.

use sim_core::bus::{Device, IoCtx, PioDevice};
use sim_core::irq::IrqLine;
use std::collections::VecDeque;
use std::io::Write;

const IER_ERBFI: u8 = 0x01;
const IER_ETBEI: u8 = 0x02;
const IER_ELSI: u8 = 0x04;
const IER_EDSSI: u8 = 0x08;

const LSR_DR: u8 = 0x01;
/// Overrun error.
pub const LSR_OE: u8 = 0x02;
/// Parity error.
pub const LSR_PE: u8 = 0x04;
/// Framing error.
pub const LSR_FE: u8 = 0x08;
/// Break interrupt.
pub const LSR_BI: u8 = 0x10;
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;
const LSR_ERRS: u8 = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

const MCR_DTR: u8 = 0x01;
const MCR_RTS: u8 = 0x02;
const MCR_OUT1: u8 = 0x04;
const MCR_OUT2: u8 = 0x08;
const MCR_LOOP: u8 = 0x10;

const LCR_DLAB: u8 = 0x80;

/// Interrupt identification codes (PC16550D datasheet, Table IV).
const IIR_NONE: u8 = 0x01;
const IIR_LSR: u8 = 0x06;
const IIR_RDA: u8 = 0x04;
const IIR_TIMEOUT: u8 = 0x0c;
const IIR_THRE: u8 = 0x02;
const IIR_MSR: u8 = 0x00;

const FIFO_SIZE: usize = 16;

/// A 16550 UART.
pub struct Uart16550 {
    irq: IrqLine,
    out: Box<dyn Write>,
    pending_out: Vec<u8>,
    rx: VecDeque<u8>,
    ier: u8,
    fcr: u8,
    lcr: u8,
    mcr: u8,
    lsr_errors: u8,
    msr: u8,
    scr: u8,
    dll: u8,
    dlm: u8,
    /// THR-empty interrupt pending (cleared by reading IIR while it is reported or by
    /// writing THR).
    thre_pending: bool,
    irq_level: bool,
}

impl Uart16550 {
    /// A UART driving `irq` and writing transmitted bytes to `out`.
    pub fn new(irq: IrqLine, out: Box<dyn Write>) -> Self {
        let mut u = Self {
            irq,
            out,
            pending_out: Vec::new(),
            rx: VecDeque::new(),
            ier: 0,
            fcr: 0,
            lcr: 0,
            mcr: 0,
            lsr_errors: 0,
            msr: 0,
            scr: 0,
            // Reset divisor: 115200 / 12 = 9600 baud, as left by most BIOSes.
            dll: 0x0c,
            dlm: 0,
            thre_pending: false,
            irq_level: false,
        };
        u.msr = u.modem_inputs();
        u
    }

    /// Queues received bytes (raises the received-data interrupt if enabled).
    pub fn push_input(&mut self, bytes: &[u8]) {
        self.rx.extend(bytes.iter().copied());
        self.update_irq();
    }

    /// Signals receiver line errors (`LSR_OE`, `LSR_PE`, `LSR_FE`, `LSR_BI`), e.g. a break
    /// from the host console; raises the line-status interrupt if enabled.
    pub fn line_error(&mut self, bits: u8) {
        self.lsr_errors |= bits & LSR_ERRS;
        self.update_irq();
    }

    /// Number of received bytes not yet read by the guest.
    pub fn input_pending(&self) -> usize {
        self.rx.len()
    }

    /// Writes any buffered output to the host writer.
    pub fn flush(&mut self) {
        if !self.pending_out.is_empty() {
            let _ = self.out.write_all(&self.pending_out);
            self.pending_out.clear();
        }
        let _ = self.out.flush();
    }

    fn fifo_enabled(&self) -> bool {
        self.fcr & 1 != 0
    }

    fn trigger_level(&self) -> usize {
        // PC16550D datasheet, FCR bits 7:6: receiver trigger 1, 4, 8, 14 bytes.
        if !self.fifo_enabled() {
            return 1;
        }
        [1, 4, 8, 14][usize::from(self.fcr >> 6)]
    }

    /// MSR status bits 7:4 as seen by the UART: in loopback they mirror MCR (datasheet, MCR
    /// bit 4); otherwise a connected modem asserts DCD, DSR and CTS.
    fn modem_inputs(&self) -> u8 {
        if self.mcr & MCR_LOOP != 0 {
            let m = self.mcr;
            let mut v = 0;
            if m & MCR_RTS != 0 {
                v |= 0x10; // CTS
            }
            if m & MCR_DTR != 0 {
                v |= 0x20; // DSR
            }
            if m & MCR_OUT1 != 0 {
                v |= 0x40; // RI
            }
            if m & MCR_OUT2 != 0 {
                v |= 0x80; // DCD
            }
            v
        } else {
            0xb0
        }
    }

    fn set_modem_inputs(&mut self) {
        let old = self.msr & 0xf0;
        let new = self.modem_inputs();
        let changed = old ^ new;
        // PC16550D datasheet, MSR bits 3:0: DCTS, DDSR, TERI (RI 1->0), DDCD.
        let mut delta = 0;
        if changed & 0x10 != 0 {
            delta |= 0x01;
        }
        if changed & 0x20 != 0 {
            delta |= 0x02;
        }
        if old & 0x40 != 0 && new & 0x40 == 0 {
            delta |= 0x04;
        }
        if changed & 0x80 != 0 {
            delta |= 0x08;
        }
        self.msr = new | (self.msr & 0x0f) | delta;
    }

    fn lsr(&self) -> u8 {
        let mut v = LSR_THRE | LSR_TEMT | self.lsr_errors;
        if !self.rx.is_empty() {
            v |= LSR_DR;
        }
        v
    }

    /// The highest-priority pending interrupt (PC16550D datasheet, Table IV: line status >
    /// received data / character timeout > THR empty > modem status).
    fn pending_iir(&self) -> u8 {
        if self.ier & IER_ELSI != 0 && self.lsr_errors != 0 {
            return IIR_LSR;
        }
        if self.ier & IER_ERBFI != 0 && !self.rx.is_empty() {
            // In FIFO mode, fewer bytes than the trigger level are reported as a character
            // timeout (which fires after 4 character times on real hardware; here at once).
            let visible = self.rx.len().min(if self.fifo_enabled() { FIFO_SIZE } else { 1 });
            return if visible >= self.trigger_level() { IIR_RDA } else { IIR_TIMEOUT };
        }
        if self.ier & IER_ETBEI != 0 && self.thre_pending {
            return IIR_THRE;
        }
        if self.ier & IER_EDSSI != 0 && self.msr & 0x0f != 0 {
            return IIR_MSR;
        }
        IIR_NONE
    }

    fn update_irq(&mut self) {
        // PC/AT serial adapters: OUT2 enables the IRQ driver; loopback forces OUT2 inactive.
        let gate = self.mcr & MCR_OUT2 != 0 && self.mcr & MCR_LOOP == 0;
        let level = gate && self.pending_iir() != IIR_NONE;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    fn transmit(&mut self, b: u8) {
        if self.mcr & MCR_LOOP != 0 {
            // Datasheet MCR bit 4: the transmitter output is looped back to the receiver.
            self.rx.push_back(b);
        } else {
            self.pending_out.push(b);
            if b == b'\n' || self.pending_out.len() >= 4096 {
                self.flush();
            }
        }
        // Instant transmission: THR empty again, THRE interrupt pending.
        self.thre_pending = true;
    }

    /// Register read at offset `reg` (0..7).
    pub fn read_reg(&mut self, reg: u16) -> u8 {
        let dlab = self.lcr & LCR_DLAB != 0;
        let v = match reg & 7 {
            0 if dlab => self.dll,
            0 => self.rx.pop_front().unwrap_or(0),
            1 if dlab => self.dlm,
            1 => self.ier,
            2 => {
                let id = self.pending_iir();
                if id == IIR_THRE {
                    // Datasheet Table IV: reading IIR (if THRE is the source) resets it.
                    self.thre_pending = false;
                }
                id | if self.fifo_enabled() { 0xc0 } else { 0 }
            }
            3 => self.lcr,
            4 => self.mcr,
            5 => {
                let v = self.lsr();
                // Datasheet, LSR: error bits are reset when LSR is read.
                self.lsr_errors = 0;
                v
            }
            6 => {
                let v = self.msr;
                // Datasheet, MSR: delta bits are reset when MSR is read.
                self.msr &= 0xf0;
                v
            }
            _ => self.scr,
        };
        self.update_irq();
        v
    }

    /// Register write at offset `reg` (0..7).
    pub fn write_reg(&mut self, reg: u16, v: u8) {
        let dlab = self.lcr & LCR_DLAB != 0;
        match reg & 7 {
            0 if dlab => self.dll = v,
            0 => {
                self.thre_pending = false;
                self.transmit(v);
            }
            1 if dlab => self.dlm = v,
            1 => {
                let old = self.ier;
                self.ier = v & 0x0f;
                // Enabling ETBEI while THR is empty raises the THRE interrupt at once.
                if old & IER_ETBEI == 0 && self.ier & IER_ETBEI != 0 {
                    self.thre_pending = true;
                }
            }
            2 => {
                // Datasheet, FCR: changing bit 0 clears both FIFOs; bits 1/2 clear them.
                let was = self.fifo_enabled();
                if v & 1 != u8::from(was) || v & 2 != 0 {
                    self.rx.clear();
                }
                self.fcr = v & 0xc9;
            }
            3 => self.lcr = v,
            4 => {
                self.mcr = v & 0x1f;
                self.set_modem_inputs();
            }
            5 | 6 => {} // read-only (factory test writes ignored)
            _ => self.scr = v,
        }
        self.update_irq();
    }
}

impl Drop for Uart16550 {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Device for Uart16550 {
    fn name(&self) -> &str {
        "uart16550"
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
}

impl PioDevice for Uart16550 {
    fn pio_read(&mut self, port: u16, _size: u8, _ctx: &mut IoCtx) -> u32 {
        u32::from(self.read_reg(port & 7))
    }
    fn pio_write(&mut self, port: u16, _size: u8, val: u32, _ctx: &mut IoCtx) {
        self.write_reg(port & 7, val as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::irq::IrqLines;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Clone, Default)]
    struct Sink(Rc<RefCell<(Vec<u8>, usize)>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().0.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.borrow_mut().1 += 1;
            Ok(())
        }
    }

    fn uart() -> (Uart16550, Sink, Rc<IrqLines>) {
        let lines = IrqLines::new();
        let sink = Sink::default();
        (Uart16550::new(lines.line(4), Box::new(sink.clone())), sink, lines)
    }

    #[test]
    fn output_flushes_on_newline_and_drop() {
        let (mut u, sink, _) = uart();
        for &b in b"hi" {
            u.write_reg(0, b);
        }
        assert!(sink.0.borrow().0.is_empty());
        assert_eq!(u.read_reg(5) & 0x60, 0x60, "THRE|TEMT");
        u.write_reg(0, b'\n');
        assert_eq!(sink.0.borrow().0, b"hi\n");
        u.write_reg(0, b'x');
        drop(u);
        assert_eq!(sink.0.borrow().0, b"hi\nx");
    }

    #[test]
    fn dlab_switches_divisor_latch() {
        let (mut u, sink, _) = uart();
        u.write_reg(3, 0x83);
        u.write_reg(0, 0x01);
        u.write_reg(1, 0x00);
        assert_eq!((u.read_reg(0), u.read_reg(1)), (1, 0));
        u.write_reg(3, 0x03);
        assert_eq!(u.read_reg(1), 0, "IER untouched");
        assert_eq!(u.read_reg(3), 0x03);
        u.write_reg(7, 0x5a);
        assert_eq!(u.read_reg(7), 0x5a);
        drop(u);
        assert!(sink.0.borrow().0.is_empty(), "DLL write is not output");
    }

    #[test]
    fn rx_interrupt_gated_by_out2() {
        let (mut u, _, lines) = uart();
        u.write_reg(1, IER_ERBFI);
        u.push_input(b"ab");
        assert_eq!(lines.levels(), 0, "OUT2 clear: no IRQ");
        assert_eq!(u.read_reg(2), IIR_RDA);
        u.write_reg(4, MCR_OUT2);
        assert_eq!(lines.levels(), 1 << 4);
        assert_eq!(u.read_reg(5) & LSR_DR, LSR_DR);
        assert_eq!(u.read_reg(0), b'a');
        assert_eq!(u.read_reg(0), b'b');
        assert_eq!(u.read_reg(5) & LSR_DR, 0);
        assert_eq!(u.read_reg(2), IIR_NONE);
        assert_eq!(lines.levels(), 0);
    }

    #[test]
    fn priority_rx_over_thre_and_thre_cleared_by_iir_read() {
        let (mut u, _, lines) = uart();
        u.write_reg(4, MCR_OUT2);
        u.write_reg(1, IER_ETBEI);
        assert_eq!(lines.levels(), 1 << 4, "enabling ETBEI with THR empty");
        u.write_reg(1, IER_ETBEI | IER_ERBFI);
        u.push_input(b"z");
        assert_eq!(u.read_reg(2), IIR_RDA, "rx data outranks THRE");
        assert_eq!(u.read_reg(0), b'z');
        assert_eq!(u.read_reg(2), IIR_THRE);
        assert_eq!(u.read_reg(2), IIR_NONE, "IIR read cleared THRE");
        assert_eq!(lines.levels(), 0);
        u.write_reg(0, b'q');
        assert_eq!(u.read_reg(2), IIR_THRE, "THR empty again after instant transmit");
    }

    #[test]
    fn fifo_mode_iir_and_trigger_level() {
        let (mut u, _, _) = uart();
        u.write_reg(2, 0x81); // FIFO on, trigger 8
        u.write_reg(1, IER_ERBFI);
        u.push_input(b"abc");
        assert_eq!(u.read_reg(2), 0xc0 | IIR_TIMEOUT);
        u.push_input(b"defgh");
        assert_eq!(u.read_reg(2), 0xc0 | IIR_RDA);
        u.write_reg(2, 0x83); // clear rx FIFO
        assert_eq!(u.read_reg(5) & LSR_DR, 0);
        u.write_reg(2, 0);
        assert_eq!(u.read_reg(2), IIR_NONE);
    }

    #[test]
    fn loopback_and_modem_status() {
        let (mut u, sink, lines) = uart();
        assert_eq!(u.read_reg(6) & 0xf0, 0xb0);
        u.write_reg(4, MCR_LOOP | MCR_OUT2);
        u.write_reg(1, IER_EDSSI | IER_ERBFI);
        let msr = u.read_reg(6);
        assert_eq!(msr & 0xf0, 0x80, "DCD mirrors OUT2");
        assert_eq!(msr & 0x0f, 0x01 | 0x02, "CTS and DSR dropped");
        u.write_reg(0, 0x42);
        assert_eq!(u.read_reg(0), 0x42);
        assert_eq!(lines.levels(), 0, "loopback disconnects the IRQ pin");
        u.write_reg(4, MCR_LOOP | MCR_RTS);
        assert_eq!(u.read_reg(2), IIR_MSR);
        assert_eq!(u.read_reg(6) & 0xf0, 0x10);
        assert_eq!(u.read_reg(2), IIR_NONE);
        drop(u);
        assert!(sink.0.borrow().0.is_empty());
    }

    #[test]
    fn line_status_has_top_priority() {
        let (mut u, _, _) = uart();
        u.write_reg(1, IER_ELSI | IER_ERBFI);
        u.push_input(b"a");
        u.line_error(LSR_OE);
        assert_eq!(u.read_reg(2), IIR_LSR);
        assert_eq!(u.read_reg(5) & LSR_OE, LSR_OE);
        assert_eq!(u.read_reg(2), IIR_RDA);
    }
}
