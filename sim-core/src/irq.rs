//! Interrupt lines and machine-wide signals shared between devices and the board.
//!
//! Devices drive numbered interrupt lines (global system interrupts, GSIs) through an
//! [`IrqLine`]; the board collects the changes with [`IrqLines::take_changes`] and routes them
//! to its interrupt controllers. Devices that must stop or reset the machine (a debug-exit
//! port, a reset register) raise a [`Signals`] flag. Both are single-threaded and cheap.

use std::cell::Cell;
use std::rc::Rc;

/// Levels and rising edges of up to 32 interrupt lines.
#[derive(Default)]
pub struct IrqLines {
    level: Cell<u32>,
    edges: Cell<u32>,
    dirty: Cell<bool>,
}

impl IrqLines {
    /// New lines, all low.
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }
    /// A handle that drives line `gsi` (0..32).
    pub fn line(self: &Rc<Self>, gsi: u8) -> IrqLine {
        assert!(gsi < 32, "GSI {gsi} out of range");
        IrqLine { lines: self.clone(), gsi }
    }
    /// Current levels, bit n for line n.
    pub fn levels(&self) -> u32 {
        self.level.get()
    }
    /// True if any line changed since the last [`Self::take_changes`].
    #[inline]
    pub fn dirty(&self) -> bool {
        self.dirty.get()
    }
    /// Returns `(levels, rising edges since last call)` and clears the edge record.
    pub fn take_changes(&self) -> (u32, u32) {
        self.dirty.set(false);
        (self.level.get(), self.edges.replace(0))
    }
    fn set(&self, gsi: u8, high: bool) {
        let bit = 1u32 << gsi;
        let old = self.level.get();
        let new = if high { old | bit } else { old & !bit };
        if new & !old != 0 {
            self.edges.set(self.edges.get() | bit);
        }
        if new != old {
            self.dirty.set(true);
        }
        self.level.set(new);
    }
}

/// One interrupt line as seen by the device that drives it.
#[derive(Clone)]
pub struct IrqLine {
    lines: Rc<IrqLines>,
    gsi: u8,
}

impl IrqLine {
    /// Drives the line high or low.
    pub fn set_level(&self, high: bool) {
        self.lines.set(self.gsi, high);
    }
    /// A rising then falling edge (an edge-triggered pulse).
    pub fn pulse(&self) {
        self.lines.set(self.gsi, true);
        self.lines.set(self.gsi, false);
    }
    /// The line number.
    pub fn gsi(&self) -> u8 {
        self.gsi
    }
}

/// Requests from devices to the machine.
#[derive(Default)]
pub struct Signals {
    exit: Cell<Option<i32>>,
    reset: Cell<bool>,
}

impl Signals {
    /// New, with nothing requested.
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }
    /// Asks the machine to stop with process exit status `status`.
    pub fn request_exit(&self, status: i32) {
        if self.exit.get().is_none() {
            self.exit.set(Some(status));
        }
    }
    /// The exit status requested, if any.
    pub fn exit_requested(&self) -> Option<i32> {
        self.exit.get()
    }
    /// Asks the machine to reset.
    pub fn request_reset(&self) {
        self.reset.set(true);
    }
    /// Returns and clears a pending reset request.
    pub fn take_reset(&self) -> bool {
        self.reset.replace(false)
    }
    /// True if the run loop must look at the machine (exit or reset pending).
    #[inline]
    pub fn any(&self) -> bool {
        self.exit.get().is_some() || self.reset.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_edges() {
        let l = IrqLines::new();
        let a = l.line(4);
        a.set_level(true);
        a.set_level(true);
        assert!(l.dirty());
        assert_eq!(l.take_changes(), (1 << 4, 1 << 4));
        assert!(!l.dirty());
        l.line(8).pulse();
        assert_eq!(l.take_changes(), (1 << 4, 1 << 8));
        a.set_level(false);
        assert_eq!(l.take_changes(), (0, 0));
    }

    #[test]
    fn first_exit_wins() {
        let s = Signals::new();
        assert!(!s.any());
        s.request_exit(33);
        s.request_exit(1);
        assert_eq!(s.exit_requested(), Some(33));
        s.request_reset();
        assert!(s.take_reset() && !s.take_reset());
    }
}
