//! The x86-64 CPU model of chimera.
//!
//! Decoding uses `iced-x86`; execution is an interpreter with one file per instruction
//! family (`exec/`), handlers chosen per decoded instruction. The processor models real mode,
//! 16/32-bit protected mode, IA-32e long and compatibility modes, segmentation with descriptor
//! checks, call gates and 32-bit TSS task switches, all paging modes with a soft TLB,
//! exceptions and interrupts with double/triple-fault handling, SYSCALL/SYSENTER, MSRs and a
//! configurable CPUID. It reaches the machine only through [`X86Platform`].
//!
//! Not yet modelled (CPUID does not advertise them): x87, MMX, SSE and later vector
//! extensions, XSAVE, virtual-8086 mode, 16-bit TSSes, VMX and FRED.

pub mod block;
pub mod cpu;
pub mod cpuid;
pub mod exec;
pub mod fault;
pub mod fpu;
pub mod intr;
pub mod lazy;
pub mod mem;
pub mod mmu;
pub mod msr;
pub mod platform;
pub mod seg;
pub mod state;
pub mod task;
pub mod testing;
#[cfg(test)]
mod tests_arch;

pub use cpu::{RunState, X86Cpu};
pub use cpuid::{CpuidModel, Feature};
pub use platform::{ApicEvent, X86Platform};
pub use state::Mode;
