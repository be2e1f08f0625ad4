//! Arm PrimeCell UART (PL011), the console UART of the AArch64 `virt` board.
//!
//! Register map and behaviour per the PrimeCell UART (PL011) Technical Reference Manual,
//! ARM DDI 0183 (r1p5 edition, "TRM" below), chapter 3: UARTDR 0x000, UARTRSR/UARTECR 0x004,
//! UARTFR 0x018, UARTILPR 0x020, UARTIBRD 0x024, UARTFBRD 0x028, UARTLCR_H 0x02c, UARTCR 0x030,
//! UARTIFLS 0x034, UARTIMSC 0x038, UARTRIS 0x03c, UARTMIS 0x040, UARTICR 0x044, UARTDMACR
//! 0x048, UARTPeriphID0-3 0xfe0-0xfec and UARTPCellID0-3 0xff0-0xffc. Other offsets (the
//! integration-test registers included) are RAZ/WI.
//!
//! Identity: UARTPeriphID2 reads 0x14, revision r1p1, as the UART of QEMU's `virt` board does;
//! that revision has 16-entry FIFOs (TRM 3.3.15: r1p5, revision 3, has 32-entry FIFOs, and
//! drivers size their FIFO writes from the revision), so the FIFOs here are 16 deep and the
//! FIFO trigger levels are fractions of 16.
//!
//! Modelling choices:
//! - Transmission is instantaneous and needs UARTEN and TXE set (TRM 3.3.8), and CTS asserted
//!   when CTSEn is set. While it is disabled, written bytes wait in the transmit FIFO (TXFF,
//!   BUSY) and go out when it is enabled. QEMU transmits regardless of UARTEN; guests that
//!   expect firmware to have enabled the UART work once the board calls
//!   [`Pl011::firmware_init`], which leaves the state boot firmware leaves.
//! - With SIREN set the serial line stays idle and the bytes go to the IrDA encoder, which is
//!   not connected on the `virt` board: they are dropped (TRM 3.3.8).
//! - Received bytes come from [`Pl011::push_input`] into an unbounded host-side queue that
//!   feeds the receive FIFO whenever the receiver is enabled and the FIFO has room (as if the
//!   host applied flow control), so host input never overruns. Bytes looped back (LBE) go
//!   straight into the receive FIFO and can overrun it (OE).
//! - A receive burst is complete as soon as `push_input` returns, so the receive timeout
//!   (TRM 3.4.4: no further data for 32 bit periods) is taken to expire at once: RTRIS is
//!   set whenever bytes enter the FIFO and cleared when it is emptied or through UARTICR.
//! - The modem status inputs are those of a connected terminal (CTS, DSR, DCD asserted, RI
//!   not); in loopback they follow RTS, DTR, Out1 and Out2 (TRM 3.3.8, LBE, Out1, Out2).
//! - Framing, parity and break errors cannot occur (the host delivers whole bytes); BRK
//!   does not reach the output. There is no DMA controller: UARTDMACR holds its bits only.
//! - Data bits beyond the word length (UARTLCR_H.WLEN) are not transmitted or received.
//!
//! The board maps it at 0x09000000, length [`PL011_MMIO_SIZE`], [`PL011_ACCESS`] (1- to
//! 4-byte accesses; Linux uses 16- and 32-bit accesses, earlycon 8-bit writes), with its
//! interrupt on SPI 1 (INTID 33) through an [`IrqLine`]; the device-tree clock is
//! [`PL011_UARTCLK_HZ`].

use sim_core::bus::{AccessSize, Device, IoCtx, MmioDevice};
use sim_core::irq::IrqLine;
use std::collections::VecDeque;
use std::io::Write;

/// Length of the register window.
pub const PL011_MMIO_SIZE: u64 = 0x1000;
/// Access sizes the board maps the UART with.
pub const PL011_ACCESS: AccessSize = AccessSize::B1_4;
/// Reference clock UARTCLK of the `virt` board (the device tree's `apb-pclk`).
pub const PL011_UARTCLK_HZ: u64 = 24_000_000;
/// Depth of each FIFO (r1p1).
pub const PL011_FIFO_DEPTH: usize = 16;

const DR: u64 = 0x000;
const RSR: u64 = 0x004;
const FR: u64 = 0x018;
const ILPR: u64 = 0x020;
const IBRD: u64 = 0x024;
const FBRD: u64 = 0x028;
const LCR_H: u64 = 0x02c;
const CR: u64 = 0x030;
const IFLS: u64 = 0x034;
const IMSC: u64 = 0x038;
const RIS: u64 = 0x03c;
const MIS: u64 = 0x040;
const ICR: u64 = 0x044;
const DMACR: u64 = 0x048;

/// UARTPeriphID0-3 and UARTPCellID0-3 (TRM 3.3.15, 3.3.16; revision field 1 as above).
const ID_REGS: [u8; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

// Interrupt bits of UARTIMSC/RIS/MIS/ICR (TRM 3.3.10-3.3.13).
/// nUARTRI modem interrupt.
pub const INT_RI: u16 = 1 << 0;
/// nUARTCTS modem interrupt.
pub const INT_CTS: u16 = 1 << 1;
/// nUARTDCD modem interrupt.
pub const INT_DCD: u16 = 1 << 2;
/// nUARTDSR modem interrupt.
pub const INT_DSR: u16 = 1 << 3;
/// Receive interrupt.
pub const INT_RX: u16 = 1 << 4;
/// Transmit interrupt.
pub const INT_TX: u16 = 1 << 5;
/// Receive timeout interrupt.
pub const INT_RT: u16 = 1 << 6;
/// Framing error interrupt.
pub const INT_FE: u16 = 1 << 7;
/// Parity error interrupt.
pub const INT_PE: u16 = 1 << 8;
/// Break error interrupt.
pub const INT_BE: u16 = 1 << 9;
/// Overrun error interrupt.
pub const INT_OE: u16 = 1 << 10;
const INT_ALL: u16 = 0x7ff;

// UARTFR bits (TRM 3.3.3).
/// Clear to send.
pub const FR_CTS: u16 = 1 << 0;
/// Data set ready.
pub const FR_DSR: u16 = 1 << 1;
/// Data carrier detect.
pub const FR_DCD: u16 = 1 << 2;
/// UART busy transmitting (transmit FIFO not empty).
pub const FR_BUSY: u16 = 1 << 3;
/// Receive FIFO empty.
pub const FR_RXFE: u16 = 1 << 4;
/// Transmit FIFO full.
pub const FR_TXFF: u16 = 1 << 5;
/// Receive FIFO full.
pub const FR_RXFF: u16 = 1 << 6;
/// Transmit FIFO empty.
pub const FR_TXFE: u16 = 1 << 7;
/// Ring indicator.
pub const FR_RI: u16 = 1 << 8;

// UARTCR bits (TRM 3.3.8).
/// UART enable.
pub const CR_UARTEN: u16 = 1 << 0;
/// SIR (IrDA) enable.
pub const CR_SIREN: u16 = 1 << 1;
/// Loopback enable.
pub const CR_LBE: u16 = 1 << 7;
/// Transmit enable.
pub const CR_TXE: u16 = 1 << 8;
/// Receive enable.
pub const CR_RXE: u16 = 1 << 9;
const CR_DTR: u16 = 1 << 10;
const CR_RTS: u16 = 1 << 11;
const CR_OUT1: u16 = 1 << 12;
const CR_OUT2: u16 = 1 << 13;
const CR_CTSEN: u16 = 1 << 15;
/// Bits 6:3 are reserved (TRM 3.3.8).
const CR_MASK: u16 = 0xff87;

/// UARTLCR_H.FEN, FIFO enable (TRM 3.3.7).
pub const LCRH_FEN: u8 = 1 << 4;
const LCRH_WLEN_SHIFT: u32 = 5;

// Error bits in UARTRSR (TRM 3.3.2); in UARTDR they sit 8 bits higher (TRM 3.3.1).
const RSR_OE: u8 = 1 << 3;

/// A PL011 UART.
pub struct Pl011 {
    irq: IrqLine,
    out: Box<dyn Write>,
    pending_out: Vec<u8>,
    /// Host input not yet in the receive FIFO.
    host_rx: VecDeque<u8>,
    /// Receive FIFO: data in bits 7:0, error flags in bits 11:8 (UARTDR layout).
    rx: VecDeque<u16>,
    tx: VecDeque<u8>,
    rsr: u8,
    /// An overrun happened: the next character stored carries OE (TRM 3.3.1, OE).
    oe_next: bool,
    ilpr: u8,
    ibrd: u16,
    fbrd: u8,
    lcr_h: u8,
    cr: u16,
    ifls: u8,
    imsc: u16,
    ris: u16,
    dmacr: u8,
    irq_level: bool,
}

impl Pl011 {
    /// A UART in its reset state (TRM table 3-1 reset values) driving `irq` and writing
    /// transmitted bytes to `out`.
    pub fn new(irq: IrqLine, out: Box<dyn Write>) -> Self {
        Self {
            irq,
            out,
            pending_out: Vec::new(),
            host_rx: VecDeque::new(),
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            rsr: 0,
            oe_next: false,
            ilpr: 0,
            ibrd: 0,
            fbrd: 0,
            lcr_h: 0,
            // TRM 3.3.8: TXE and RXE reset to 1, UARTEN to 0.
            cr: CR_TXE | CR_RXE,
            // TRM 3.3.9: both trigger levels reset to half full.
            ifls: 0x12,
            imsc: 0,
            ris: 0,
            dmacr: 0,
            irq_level: false,
        }
    }

    /// Leaves the UART as boot firmware does before starting an OS (Arm Trusted Firmware's
    /// PL011 console setup): 115200 baud from [`PL011_UARTCLK_HZ`] (IBRD 13, FBRD 1, TRM
    /// 3.3.6), 8 data bits with FIFOs enabled, and UARTEN, TXE and RXE set.
    pub fn firmware_init(&mut self) {
        self.ibrd = 13;
        self.fbrd = 1;
        self.write_reg(LCR_H, u32::from(LCRH_FEN | (3 << LCRH_WLEN_SHIFT)));
        self.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_RXE));
    }

    /// Queues received bytes; they enter the receive FIFO as room and the receiver allow.
    pub fn push_input(&mut self, bytes: &[u8]) {
        self.host_rx.extend(bytes.iter().copied());
        self.refill_rx();
        self.update_irq();
    }

    /// Received bytes the guest has not read yet (FIFO and host queue).
    pub fn input_pending(&self) -> usize {
        self.rx.len() + self.host_rx.len()
    }

    /// Writes any buffered output to the host writer.
    pub fn flush(&mut self) {
        if !self.pending_out.is_empty() {
            let _ = self.out.write_all(&self.pending_out);
            self.pending_out.clear();
        }
        let _ = self.out.flush();
    }

    fn fifo_depth(&self) -> usize {
        // TRM 3.3.7, FEN: with FIFOs disabled they become 1-byte holding registers.
        if self.lcr_h & LCRH_FEN != 0 {
            PL011_FIFO_DEPTH
        } else {
            1
        }
    }

    /// Trigger level in entries for an IFLS field (TRM 3.3.9: 1/8, 1/4, 1/2, 3/4, 7/8 full;
    /// the reserved encodings 0b101-0b111 are taken as 7/8).
    fn level(sel: u8) -> usize {
        [2, 4, 8, 12, 14][usize::from(sel.min(4))]
    }

    fn word_mask(&self) -> u8 {
        // TRM 3.3.7, WLEN: 5, 6, 7 or 8 data bits.
        let bits = 5 + u32::from((self.lcr_h >> LCRH_WLEN_SHIFT) & 3);
        ((1u16 << bits) - 1) as u8
    }

    fn rx_enabled(&self) -> bool {
        self.cr & (CR_UARTEN | CR_RXE) == CR_UARTEN | CR_RXE
    }

    /// Modem status inputs as UARTFR bits: a connected terminal, or in loopback the modem
    /// outputs fed back (TRM 3.3.8: LBE; Out1 serves as DCD and Out2 as RI).
    fn modem_status(&self) -> u16 {
        if self.cr & CR_LBE == 0 {
            return FR_CTS | FR_DSR | FR_DCD;
        }
        let mut v = 0;
        for (out, inp) in [(CR_RTS, FR_CTS), (CR_DTR, FR_DSR), (CR_OUT1, FR_DCD), (CR_OUT2, FR_RI)] {
            if self.cr & out != 0 {
                v |= inp;
            }
        }
        v
    }

    fn can_transmit(&self) -> bool {
        let en = self.cr & (CR_UARTEN | CR_TXE) == CR_UARTEN | CR_TXE;
        // TRM 3.3.8, CTSEn: data is only transmitted while nUARTCTS is asserted.
        en && (self.cr & CR_CTSEN == 0 || self.modem_status() & FR_CTS != 0)
    }

    /// Moves host input into the receive FIFO; a receive event sets RXRIS at the trigger
    /// level and RTRIS at once (module docs).
    fn refill_rx(&mut self) {
        if !self.rx_enabled() || self.cr & CR_LBE != 0 {
            return;
        }
        let mut got = false;
        while self.rx.len() < self.fifo_depth() {
            let Some(b) = self.host_rx.pop_front() else { break };
            self.store_rx(b);
            got = true;
        }
        if got {
            self.rx_event();
        }
    }

    fn store_rx(&mut self, b: u8) {
        let mut v = u16::from(b & self.word_mask());
        if std::mem::take(&mut self.oe_next) {
            v |= u16::from(RSR_OE) << 8;
        }
        self.rx.push_back(v);
    }

    fn rx_event(&mut self) {
        // TRM 3.4.2: RXRIS is set when the FIFO reaches the trigger level (FIFOs on) or a
        // character is received (FIFOs off).
        let trigger = if self.lcr_h & LCRH_FEN != 0 { Self::level((self.ifls >> 3) & 7) } else { 1 };
        if self.rx.len() >= trigger {
            self.ris |= INT_RX;
        }
        if !self.rx.is_empty() {
            self.ris |= INT_RT;
        }
    }

    /// A byte on the looped-back receive line (TRM 3.3.8, LBE).
    fn loopback_rx(&mut self, b: u8) {
        if !self.rx_enabled() {
            return;
        }
        if self.rx.len() >= self.fifo_depth() {
            // TRM 3.3.2, OE: the FIFO contents stay valid, the new character is lost.
            self.rsr |= RSR_OE;
            self.oe_next = true;
            self.ris |= INT_OE;
            return;
        }
        self.store_rx(b);
        self.rx_event();
    }

    /// Sends what the transmit FIFO holds if the transmitter may run.
    fn run_tx(&mut self) {
        if self.tx.is_empty() || !self.can_transmit() {
            return;
        }
        while let Some(b) = self.tx.pop_front() {
            let b = b & self.word_mask();
            if self.cr & CR_LBE != 0 {
                self.loopback_rx(b);
            } else if self.cr & CR_SIREN == 0 {
                self.pending_out.push(b);
                if b == b'\n' || self.pending_out.len() >= 4096 {
                    self.flush();
                }
            }
        }
        // TRM 3.4.3: the transmit interrupt is set when the FIFO drains to the trigger level
        // (FIFOs on) or the holding register empties (FIFOs off); here it empties at once.
        self.ris |= INT_TX;
    }

    fn write_dr(&mut self, v: u32) {
        // TRM 3.3.1: a write pushes onto the transmit FIFO; a full FIFO drops it.
        if self.tx.len() < self.fifo_depth() {
            self.tx.push_back(v as u8);
        }
        // TRM 3.4.3: writing data above the trigger level (FIFOs on), or any write to the
        // holding register (FIFOs off), clears the transmit interrupt.
        let fen = self.lcr_h & LCRH_FEN != 0;
        if !fen || self.tx.len() > Self::level(self.ifls & 7) {
            self.ris &= !INT_TX;
        }
        self.run_tx();
    }

    fn read_dr(&mut self) -> u32 {
        let Some(v) = self.rx.pop_front() else {
            return 0;
        };
        // TRM 3.4.2: RXRIS clears when the FIFO falls below the trigger level (FIFOs on) or
        // the holding register is read (FIFOs off); TRM 3.4.4: RTRIS clears when it empties.
        let fen = self.lcr_h & LCRH_FEN != 0;
        if !fen || self.rx.len() < Self::level((self.ifls >> 3) & 7) {
            self.ris &= !INT_RX;
        }
        if self.rx.is_empty() {
            self.ris &= !INT_RT;
        }
        self.refill_rx();
        u32::from(v)
    }

    fn fr(&self) -> u16 {
        let mut v = self.modem_status();
        let depth = self.fifo_depth();
        if !self.tx.is_empty() {
            v |= FR_BUSY; // TRM 3.3.3, BUSY: set while the transmit FIFO is non-empty.
        } else {
            v |= FR_TXFE;
        }
        if self.tx.len() >= depth {
            v |= FR_TXFF;
        }
        if self.rx.is_empty() {
            v |= FR_RXFE;
        }
        if self.rx.len() >= depth {
            v |= FR_RXFF;
        }
        v
    }

    fn update_irq(&mut self) {
        // TRM 3.4.6: UARTINTR is the OR of the masked interrupts.
        let level = self.ris & self.imsc != 0;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    /// Value of the 32-bit register at `reg` (word aligned) without read side effects.
    fn peek_reg(&self, reg: u64) -> u32 {
        let v = match reg {
            DR => self.rx.front().copied().unwrap_or(0),
            RSR => u16::from(self.rsr),
            FR => self.fr(),
            ILPR => u16::from(self.ilpr),
            IBRD => self.ibrd,
            FBRD => u16::from(self.fbrd),
            LCR_H => u16::from(self.lcr_h),
            CR => self.cr,
            IFLS => u16::from(self.ifls),
            IMSC => self.imsc,
            RIS => self.ris,
            MIS => self.ris & self.imsc,
            DMACR => u16::from(self.dmacr),
            0xfe0..=0xffc => u16::from(ID_REGS[((reg - 0xfe0) / 4) as usize]),
            _ => 0, // ICR is write-only; reserved and test registers RAZ.
        };
        u32::from(v)
    }

    /// Register read at word offset `reg`.
    pub fn read_reg(&mut self, reg: u64) -> u32 {
        let v = if reg == DR { self.read_dr() } else { self.peek_reg(reg) };
        self.update_irq();
        v
    }

    /// Register write at word offset `reg`.
    pub fn write_reg(&mut self, reg: u64, v: u32) {
        match reg {
            DR => self.write_dr(v),
            RSR => {
                // TRM 3.3.2: any write to UARTECR clears the error flags.
                self.rsr = 0;
            }
            ILPR => self.ilpr = v as u8,
            IBRD => self.ibrd = v as u16,
            FBRD => self.fbrd = (v & 0x3f) as u8,
            LCR_H => {
                let old = self.lcr_h;
                self.lcr_h = v as u8;
                if old & LCRH_FEN != 0 && self.lcr_h & LCRH_FEN == 0 {
                    // TRM 3.3.8 (programming UARTCR): clearing FEN flushes the transmit FIFO.
                    self.tx.clear();
                }
                self.refill_rx();
            }
            CR => {
                let before = self.modem_status();
                self.cr = v as u16 & CR_MASK;
                let changed = before ^ self.modem_status();
                // TRM 3.3.11: a change of a modem status input sets its interrupt.
                for (fr, int) in [(FR_RI, INT_RI), (FR_CTS, INT_CTS), (FR_DCD, INT_DCD), (FR_DSR, INT_DSR)] {
                    if changed & fr != 0 {
                        self.ris |= int;
                    }
                }
                self.run_tx();
                self.refill_rx();
            }
            IFLS => self.ifls = (v & 0x3f) as u8,
            IMSC => self.imsc = v as u16 & INT_ALL,
            ICR => self.ris &= !(v as u16 & INT_ALL),
            DMACR => self.dmacr = (v & 7) as u8,
            _ => {} // read-only, reserved and test registers: WI
        }
        self.update_irq();
    }
}

impl Drop for Pl011 {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Device for Pl011 {
    fn name(&self) -> &str {
        "pl011"
    }
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        Some(self)
    }
}

impl MmioDevice for Pl011 {
    fn mmio_read(&mut self, offset: u64, size: u8, _ctx: &mut IoCtx) -> u64 {
        let reg = offset & !3;
        let lane = (offset & 3) * 8;
        // Only an access that includes byte 0 has the register's read side effects.
        let v = if lane == 0 { self.read_reg(reg) } else { self.peek_reg(reg) };
        let mask = if size >= 4 { u32::MAX } else { (1u32 << (u32::from(size) * 8)) - 1 };
        u64::from((v >> lane) & mask)
    }
    fn mmio_write(&mut self, offset: u64, size: u8, val: u64, _ctx: &mut IoCtx) {
        let reg = offset & !3;
        let lane = (offset & 3) * 8;
        let mask = if size >= 4 { u32::MAX } else { (1u32 << (u32::from(size) * 8)) - 1 };
        let val = (val as u32) & mask;
        if lane == 0 {
            self.write_reg(reg, val);
        } else if reg != DR {
            // A write to upper bytes only merges into the register (DR: no data byte, WI).
            let base = if reg == ICR { 0 } else { self.peek_reg(reg) };
            self.write_reg(reg, (base & !(mask << lane)) | (val << lane));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;
    use sim_core::irq::IrqLines;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Clone, Default)]
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

    fn uart() -> (Pl011, Sink, Rc<IrqLines>) {
        let lines = IrqLines::new();
        let sink = Sink::default();
        (Pl011::new(lines.line(1), Box::new(sink.clone())), sink, lines)
    }

    #[test]
    fn reset_values_and_ids() {
        let (mut u, _, _) = uart();
        assert_eq!(u.read_reg(FR), u32::from(FR_TXFE | FR_RXFE | FR_CTS | FR_DSR | FR_DCD));
        assert_eq!(u.read_reg(CR), 0x300);
        assert_eq!(u.read_reg(IFLS), 0x12);
        assert_eq!(u.read_reg(RIS), 0, "no TX interrupt before data has left (TRM 3.4.3)");
        let ids: Vec<u32> = (0..8).map(|i| u.read_reg(0xfe0 + 4 * i)).collect();
        assert_eq!(ids, [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
        assert_eq!(u.read_reg(0x04c), 0);
        assert_eq!(u.read_reg(0x080), 0);
    }

    #[test]
    fn transmit_waits_for_uarten_and_flushes_on_newline() {
        let (mut u, sink, _) = uart();
        u.write_reg(DR, u32::from(b'h'));
        assert!(sink.0.borrow().is_empty(), "UARTEN clear: held in the holding register");
        let fr = u.read_reg(FR) as u16;
        assert_eq!(fr & (FR_BUSY | FR_TXFE | FR_TXFF), FR_BUSY | FR_TXFF, "1-entry holding register");
        u.write_reg(DR, u32::from(b'x'));
        u.write_reg(LCR_H, 0x60);
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_RXE));
        assert_eq!(u.read_reg(RIS) as u16 & INT_TX, INT_TX);
        u.write_reg(DR, u32::from(b'i'));
        u.write_reg(DR, u32::from(b'\n'));
        assert_eq!(*sink.0.borrow(), b"hi\n", "second write to the full holding register was lost");
        let fr = u.read_reg(FR) as u16;
        assert_eq!(fr & (FR_BUSY | FR_TXFE), FR_TXFE);
        u.write_reg(DR, u32::from(b'!'));
        drop(u);
        assert_eq!(*sink.0.borrow(), b"hi\n!");
    }

    #[test]
    fn fifo_holds_sixteen_and_clearing_fen_flushes_tx() {
        let (mut u, sink, _) = uart();
        u.write_reg(LCR_H, u32::from(LCRH_FEN | 0x60));
        for i in 0..20u8 {
            u.write_reg(DR, u32::from(b'a' + i));
        }
        assert_eq!(u.read_reg(FR) as u16 & FR_TXFF, FR_TXFF);
        u.write_reg(LCR_H, 0x60);
        assert_eq!(u.read_reg(FR) as u16 & (FR_TXFE | FR_BUSY), FR_TXFE);
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE));
        u.flush();
        assert!(sink.0.borrow().is_empty());
    }

    #[test]
    fn firmware_init_and_word_length() {
        let (mut u, sink, _) = uart();
        u.firmware_init();
        assert_eq!(u.read_reg(CR), 0x301);
        assert_eq!((u.read_reg(IBRD), u.read_reg(FBRD), u.read_reg(LCR_H)), (13, 1, 0x70));
        u.write_reg(DR, 0x1ff);
        u.write_reg(LCR_H, u32::from(LCRH_FEN)); // 5 data bits
        u.write_reg(DR, 0xff);
        u.flush();
        assert_eq!(*sink.0.borrow(), [0xff, 0x1f]);
    }

    #[test]
    fn tx_interrupt_and_masking_drive_the_line() {
        let (mut u, _, lines) = uart();
        u.firmware_init();
        u.write_reg(IMSC, u32::from(INT_TX));
        assert_eq!(lines.levels(), 0);
        u.write_reg(DR, u32::from(b'a'));
        assert_eq!(lines.levels(), 1 << 1);
        assert_eq!(u.read_reg(MIS), u32::from(INT_TX));
        u.write_reg(ICR, u32::from(INT_TX));
        assert_eq!(lines.levels(), 0);
        u.write_reg(DR, u32::from(b'b'));
        assert_eq!(lines.levels(), 1 << 1);
        u.write_reg(IMSC, 0);
        assert_eq!(lines.levels(), 0);
        assert_eq!(u.read_reg(MIS), 0);
        assert_eq!(u.read_reg(RIS) as u16 & INT_TX, INT_TX);
    }

    #[test]
    fn receive_levels_timeout_and_host_queue() {
        let (mut u, _, lines) = uart();
        u.firmware_init();
        u.write_reg(IMSC, u32::from(INT_RX | INT_RT));
        u.push_input(b"abc");
        // Trigger 1/2 of 16 = 8: below it only the receive timeout is raised.
        assert_eq!(u.read_reg(RIS) as u16 & (INT_RX | INT_RT), INT_RT);
        assert_eq!(lines.levels(), 1 << 1);
        u.push_input(b"defghijklmnopqrstuvwxyz");
        assert_eq!(u.read_reg(RIS) as u16 & (INT_RX | INT_RT), INT_RX | INT_RT);
        assert_eq!(u.read_reg(FR) as u16 & (FR_RXFF | FR_RXFE), FR_RXFF);
        assert_eq!(u.input_pending(), 26);
        let mut got = Vec::new();
        while u.read_reg(FR) as u16 & FR_RXFE == 0 {
            got.push(u.read_reg(DR) as u8);
        }
        assert_eq!(got, b"abcdefghijklmnopqrstuvwxyz");
        assert_eq!(u.read_reg(RIS) as u16 & (INT_RX | INT_RT), 0);
        assert_eq!(lines.levels(), 0);
        // ICR clears the timeout while data remains.
        u.push_input(b"z");
        u.write_reg(ICR, u32::from(INT_RT));
        assert_eq!(u.read_reg(MIS), 0);
        assert_eq!(u.read_reg(DR), u32::from(b'z'));
        assert_eq!(u.read_reg(DR), 0, "empty FIFO reads 0");
    }

    #[test]
    fn receiver_disabled_keeps_host_input_queued() {
        let (mut u, _, _) = uart();
        u.write_reg(LCR_H, 0x60);
        u.push_input(b"q");
        assert_eq!(u.read_reg(FR) as u16 & FR_RXFE, FR_RXFE, "UARTEN clear");
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_RXE));
        assert_eq!(u.read_reg(FR) as u16 & (FR_RXFE | FR_RXFF), FR_RXFF, "1-entry holding register");
        assert_eq!(u.read_reg(RIS) as u16 & INT_RX, INT_RX, "FIFOs off: one character raises RX");
        assert_eq!(u.read_reg(DR), u32::from(b'q'));
    }

    #[test]
    fn loopback_overrun_and_error_clear() {
        let (mut u, sink, _) = uart();
        u.write_reg(LCR_H, 0x60); // FIFOs off
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_RXE | CR_LBE));
        u.push_input(b"H");
        u.write_reg(DR, u32::from(b'1'));
        u.write_reg(DR, u32::from(b'2'));
        assert_eq!(u.read_reg(RSR), u32::from(RSR_OE));
        assert_eq!(u.read_reg(RIS) as u16 & INT_OE, INT_OE);
        assert_eq!(u.read_reg(DR), u32::from(b'1'), "the FIFO keeps the first character");
        u.write_reg(DR, u32::from(b'3'));
        assert_eq!(
            u.read_reg(DR),
            u32::from(b'3') | (u32::from(RSR_OE) << 8),
            "OE travels with the next one"
        );
        u.write_reg(RSR, 0);
        assert_eq!(u.read_reg(RSR), 0);
        // Leaving loopback lets the host byte in; nothing reached the sink.
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_RXE));
        assert_eq!(u.read_reg(DR), u32::from(b'H'));
        u.flush();
        assert!(sink.0.borrow().is_empty());
    }

    #[test]
    fn loopback_modem_lines_and_cts_flow_control() {
        let (mut u, sink, _) = uart();
        u.write_reg(LCR_H, 0x70);
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_RXE | CR_LBE | CR_CTSEN));
        let fr = u.read_reg(FR) as u16;
        assert_eq!(fr & (FR_CTS | FR_DSR | FR_DCD | FR_RI), 0);
        assert_eq!(u.read_reg(RIS) as u16 & 0xf, INT_CTS | INT_DSR | INT_DCD);
        u.write_reg(ICR, 0x7ff);
        u.write_reg(DR, u32::from(b'k'));
        assert_eq!(u.read_reg(FR) as u16 & FR_BUSY, FR_BUSY, "CTS deasserted: held");
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_RXE | CR_LBE | CR_CTSEN | CR_RTS | CR_OUT2));
        assert_eq!(u.read_reg(FR) as u16 & (FR_CTS | FR_RI | FR_BUSY), FR_CTS | FR_RI);
        assert_eq!(u.read_reg(RIS) as u16 & 0xf, INT_CTS | INT_RI);
        assert_eq!(u.read_reg(DR), u32::from(b'k'));
        drop(u);
        assert!(sink.0.borrow().is_empty());
    }

    #[test]
    fn siren_drops_output() {
        let (mut u, sink, _) = uart();
        u.write_reg(CR, u32::from(CR_UARTEN | CR_TXE | CR_SIREN));
        u.write_reg(DR, u32::from(b'x'));
        drop(u);
        assert!(sink.0.borrow().is_empty());
    }

    #[test]
    fn narrow_accesses_through_the_bus() {
        let lines = IrqLines::new();
        let sink = Sink::default();
        let mut r = Rig::new(Pl011::new(lines.line(1), Box::new(sink.clone()))).mmio(
            0x0900_0000,
            PL011_MMIO_SIZE,
            PL011_ACCESS,
        );
        r.wr(0x0900_002c, 1, 0x60, 0); // 8 data bits, FIFOs off
        r.wr(0x0900_0030, 2, 0x0301, 0);
        r.wr(0x0900_0000, 1, u64::from(b'A'), 0);
        assert_eq!(r.rd(0x0900_0018, 2, 0), u64::from(FR_TXFE | FR_RXFE | FR_CTS | FR_DSR | FR_DCD));
        assert_eq!(r.rd(0x0900_0031, 1, 0), 0x03, "upper byte of UARTCR");
        r.wr(0x0900_0031, 1, 0x02, 0); // RXE only in the upper byte; UARTEN kept
        assert_eq!(r.rd(0x0900_0030, 4, 0), 0x201);
        assert_eq!(r.rd(0x0900_0fe8, 4, 0), 0x14);
        assert_eq!(r.rd(0x0900_0fe0, 8, 0), 0x10_0000_0011, "8-byte read split in two");
        r.dev.borrow_mut().push_input(b"Z");
        assert_eq!(r.rd(0x0900_0001, 1, 0), 0, "upper byte of UARTDR has no side effect");
        assert_eq!(r.rd(0x0900_0000, 2, 0), u64::from(b'Z'));
        r.dev.borrow_mut().flush();
        assert_eq!(*sink.0.borrow(), b"A");
    }
}
