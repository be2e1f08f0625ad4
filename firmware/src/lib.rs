//! Boot firmware of chimera: image loaders and ACPI tables.
//!
//! * [`detect`] classifies a boot image: a Multiboot v1 kernel (header in the first 8 KiB)
//!   or a plain ELF64 x86-64 executable; [`load`] loads either.
//! * [`load_multiboot`] loads Multiboot v1 kernels (ELF32, ELF64 or a.out kludge) and
//!   enters them in 32-bit protected mode as the Multiboot specification requires.
//! * [`load_elf64`] loads ELF64 executables and enters them in 64-bit long mode with
//!   identity-mapped page tables.
//! * [`build_acpi`] writes RSDP, XSDT, RSDT and MADT.
//! * [`arm64`] holds the AArch64 `virt` board's pieces: device tree, `-kernel` loader
//!   (ELF64, Linux Image, raw), PSCI 1.1 model and semihosting decoder.
//!
//! Every loader returns a [`BootInfo`] describing the full initial CPU state (see
//! [`boot`] for the contract), so the board never needs to know the image format. Bad
//! images produce a [`LoadError`], never a panic.

pub mod acpi;
pub mod arm64;
pub mod boot;
mod elf;
pub mod elf64;
mod error;
pub mod image;
pub mod mbinfo;
pub mod multiboot;
mod place;

#[cfg(test)]
mod testutil;

pub use acpi::{acpi_tables_size, build_acpi};
pub use boot::{BootInfo, EntryMode, InitialRegs, Segment, MULTIBOOT_BOOTLOADER_MAGIC};
pub use elf64::load_elf64;
pub use error::LoadError;
pub use image::{detect, load, ImageKind};
pub use multiboot::{load_multiboot, Module, MultibootOptions};
