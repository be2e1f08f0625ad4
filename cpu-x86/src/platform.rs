//! The x86 CPU's view of the machine. The board implements [`X86Platform`]; the CPU crate
//! never depends on device models, so it can be tested against a mock platform.

use sim_core::{GuestPhys, GuestRam};

/// An interrupt-controller answer for the CPU: what to deliver next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApicEvent {
    /// An INIT signal (SDM Vol 3A 9.4).
    Init,
    /// A start-up IPI with its vector (SDM Vol 3A 9.4.4).
    Sipi(u8),
    /// An NMI.
    Nmi,
}

/// The services the x86 CPU needs from its machine.
pub trait X86Platform {
    /// Guest RAM.
    fn ram(&mut self) -> &mut GuestRam;
    /// MMIO read; unclaimed addresses read as all ones.
    fn mmio_read(&mut self, pa: GuestPhys, size: u8) -> u64;
    /// MMIO write; unclaimed addresses drop the write.
    fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64);
    /// Port read (size 1, 2 or 4).
    fn pio_read(&mut self, port: u16, size: u8) -> u32;
    /// Port write.
    fn pio_write(&mut self, port: u16, size: u8, val: u32);
    /// Current machine tick; the TSC derives from it.
    fn now(&self) -> u64;
    /// Tells the machine how many cycles this CPU has consumed in total, before an access
    /// whose result depends on time (I/O, TSC), so device time follows the CPU within a slice.
    fn sync(&mut self, cpu_cycles: u64);
    /// True when the run loop must return to the machine (an event is due, exit requested).
    fn attention(&self) -> bool;
    /// True when a maskable external interrupt is pending for this CPU.
    fn intr_pending(&mut self) -> bool;
    /// Acknowledges the highest-priority pending maskable interrupt; returns its vector.
    fn intr_ack(&mut self) -> Option<u8>;
    /// Takes a pending INIT, SIPI or NMI for this CPU.
    fn take_apic_event(&mut self) -> Option<ApicEvent>;
    /// IA32_APIC_BASE read.
    fn apic_base(&mut self) -> u64;
    /// IA32_APIC_BASE write; `false` means #GP.
    fn set_apic_base(&mut self, val: u64) -> bool;
    /// x2APIC MSR (0x800-0x8ff) or TSC_DEADLINE read; `None` means #GP.
    fn apic_msr_read(&mut self, msr: u32) -> Option<u64>;
    /// x2APIC MSR or TSC_DEADLINE write; `false` means #GP.
    fn apic_msr_write(&mut self, msr: u32, val: u64) -> bool;
    /// CR8 read (TPR[7:4], SDM Vol 3A 10.8.6.1).
    fn cr8(&mut self) -> u64;
    /// CR8 write.
    fn set_cr8(&mut self, val: u64);
}
