//! The AArch64 CPU's view of the machine. The board implements [`Arm64Platform`]; the CPU
//! crate never depends on device models, so it can be unit-tested against a mock.

use sim_core::{GuestPhys, GuestRam};

/// How firmware is called (PSCI/SMCCC conduit, Arm DEN0028 SMCCC 2.x).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// HVC #0.
    Hvc,
    /// SMC #0.
    Smc,
}

/// The services the AArch64 CPU needs from its machine.
pub trait Arm64Platform {
    /// Guest RAM.
    fn ram(&mut self) -> &mut GuestRam;
    /// MMIO read; unclaimed addresses read as zero... or as the board decides.
    fn mmio_read(&mut self, pa: GuestPhys, size: u8) -> u64;
    /// MMIO write.
    fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64);
    /// Tells the machine how many cycles this CPU has consumed, before an access whose
    /// result depends on time.
    fn sync(&mut self, cpu_cycles: u64);
    /// True when the run loop must return to the machine (an event is due, exit requested).
    fn attention(&self) -> bool;
    /// The interrupt controller's IRQ output for this CPU.
    fn irq_pending(&mut self) -> bool;
    /// The interrupt controller's FIQ output for this CPU.
    fn fiq_pending(&mut self) -> bool;
    /// A firmware call answered by a model in Rust (PSCI, SMCCC) instead of guest code at
    /// EL2/EL3: `x` holds x0-x17 and receives the results. Returns `false` when the board has
    /// no model for this conduit (the instruction then behaves as the architecture says for
    /// the implemented exception levels).
    fn firmware_call(&mut self, conduit: Conduit, x: &mut [u64; 18]) -> bool;
    /// A GIC CPU-interface system register read (`ICC_*`, encoded as op0:op1:CRn:CRm:op2);
    /// `None` when the board has no such register (the access is UNDEFINED).
    fn icc_read(&mut self, enc: u16) -> Option<u64>;
    /// A GIC CPU-interface system register write; `false` when there is no such register.
    fn icc_write(&mut self, enc: u16, val: u64) -> bool;
    /// The generic timer's physical count (CNTPCT_EL0), derived from machine time.
    fn counter(&self) -> u64;
    /// The timer outputs of this CPU changed (level of the physical, virtual, hypervisor and
    /// secure physical timers, Arm ARM D11.2): the board forwards them to the GIC as PPIs.
    fn timer_levels(&mut self, phys: bool, virt: bool, hyp: bool, sec: bool);
    /// The earliest counter value at which one of this CPU's enabled timers fires (or
    /// `u64::MAX`), so the board can schedule a wake-up.
    fn set_timer_deadline(&mut self, counter: u64);
}
