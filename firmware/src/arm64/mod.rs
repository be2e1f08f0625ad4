//! Firmware pieces of the AArch64 `virt` board (the shape of QEMU's `-M virt`).
//!
//! * [`memmap`]: the fixed physical memory map, interrupt numbers and CPU affinities.
//! * [`fdt`]: the device tree blob describing the board ([`build_virt_fdt`]).
//! * [`loader`]: `-kernel` loading of ELF64, Linux arm64 Image and raw images with QEMU's
//!   placement of kernel, initrd and DTB ([`load_virt`]).
//! * [`psci`]: PSCI 1.1 and SMCCC 1.1 discovery as pure logic ([`Psci`]).
//! * [`semihosting`]: Arm semihosting console and exit operations as a pure decoder.
//!
//! Nothing here knows CPU types: the board traps HVC/SMC/HLT and feeds register values in,
//! then applies the returned register values and actions.

pub mod fdt;
pub mod loader;
pub mod memmap;
pub mod psci;
pub mod semihosting;

#[cfg(test)]
mod testfdt;

pub use fdt::{build_virt_fdt, PsciConduit, VirtFdtConfig};
pub use loader::{detect_arm64, load_virt, Arm64ImageKind, ExceptionLevel, VirtBootInfo, VirtLoadOptions};
pub use psci::{PowerState, Psci, PsciAction, PsciConfigError, PsciOutcome};
pub use semihosting::{SemihostAction, SemihostOutcome, Stream};
