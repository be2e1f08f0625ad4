//! AArch64 CPU model of chimera (Arm Architecture Reference Manual for A-profile, "Arm ARM",
//! DDI 0487). Decoding classifies each instruction with `yaxpeax-arm`; the handlers then read
//! the fields of the encoding they were chosen for (Arm ARM C4 "A64 instruction set encoding").
//!
//! | Module | Architectural unit |
//! |---|---|
//! | [`cpu`] | register file, PSTATE, the run loop and decoded-instruction blocks |
//! | [`decode`] | instruction classification (yaxpeax-arm) and handler choice |
//! | [`exec`] | instruction families: data processing, branches, loads/stores, system |
//! | [`exception`] | exception entry and return, syndromes (Arm ARM D1.10, D17.2.37) |
//! | [`mmu`] | VMSAv8-64 stage-1 translation and the soft TLB (Arm ARM D8) |
//! | [`sysreg`] | system registers, ID registers and their traps (Arm ARM D17) |
//! | [`platform`] | what the CPU needs from its machine |
//!
//! Not implemented yet, and therefore not advertised in the ID registers: FP/Advanced SIMD,
//! LSE atomics, stage-2 translation, PMUv3, self-hosted debug, SVE.

pub mod cpu;
pub mod decode;
pub mod exception;
pub mod exec;
pub mod mmu;
pub mod platform;
pub mod sysreg;

#[cfg(test)]
mod tests;

pub use cpu::{Arm64Cpu, RunState, StopReason};
pub use exception::Exc;
pub use platform::{Arm64Platform, Conduit};
