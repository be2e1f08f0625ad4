//! The interface between the run loop and a CPU model.

/// Why [`Cpu::run`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The instruction budget was used up.
    Budget,
    /// The machine needs attention (an event is due, a device asked to stop, ...).
    Event,
    /// The CPU is halted and waits for an interrupt.
    Halted,
    /// The CPU is in a shutdown state (x86 triple fault); the string says why.
    Shutdown(String),
}

/// A CPU model driven by the machine's run loop. `P` is the CPU's view of the platform
/// (memory, I/O, interrupt controller), defined by the CPU crate and implemented by the board.
pub trait Cpu<P: ?Sized> {
    /// Executes at most `budget` instructions; returns early when the platform signals a
    /// pending event, the CPU halts or shuts down.
    fn run(&mut self, platform: &mut P, budget: u64) -> StopReason;
    /// Statistics so far.
    fn stats(&self) -> &crate::CpuStats;
}
