//! Architecture-neutral engine of chimera.
//!
//! Everything a CPU model or a device needs from the machine lives here: typed guest
//! addresses ([`GuestPhys`], [`GuestVirt`]), guest RAM backed by lazily populated anonymous
//! mappings ([`GuestRam`]), MMIO and port-I/O buses as range maps ([`bus`]), the machine clock
//! with a `(tick, priority)` event queue ([`clock`]), per-CPU statistics ([`stats`]) and the
//! [`Cpu`] trait the run loop drives.

pub mod addr;
pub mod blockcache;
pub mod bus;
pub mod clock;
pub mod cpu;
pub mod error;
pub mod irq;
pub mod ram;
pub mod stats;

pub use addr::{GuestPhys, GuestVirt};
pub use blockcache::{BlockCache, BlockKey, BlockStats};
pub use bus::{AccessSize, Bus, Device, DeviceRef, IoCtx, MmioDevice, PioDevice};
pub use clock::{EventQueue, Priority};
pub use cpu::{Cpu, StopReason};
pub use error::{Error, Result};
pub use irq::{IrqLine, IrqLines, Signals};
pub use ram::GuestRam;
pub use stats::CpuStats;
