//! AArch64 CPU model of chimera (Arm Architecture Reference Manual for A-profile, "Arm ARM",
//! DDI 0487). Decoding classifies each instruction with `yaxpeax-arm`; the handlers then read
//! the fields of the encoding they were chosen for (Arm ARM C4 "A64 instruction set encoding").
//!
//! | Module | Architectural unit |
//! |---|---|
//! | [`cpu`] | register file, PSTATE, the run loop and decoded-instruction blocks |
//! | [`decode`] | instruction classification (yaxpeax-arm) and handler choice |
//! | [`exec`] | instruction families: data processing, branches, loads/stores, system, FP, AdvSIMD |
//! | [`exception`] | exception entry and return, syndromes (Arm ARM D1.10, D17.2.37) |
//! | [`mmu`] | VMSAv8-64 stage-1 and stage-2 translation, TLB maintenance and the soft TLB (Arm ARM D8) |
//! | [`sysreg`] | system registers, ID registers and their traps (Arm ARM D17) |
//! | [`platform`] | what the CPU needs from its machine |
//! | [`vhe`] | FEAT_VHE: E2H register redirection, `*_EL12`/`*_EL02` (Arm ARM D17.2.48) |
//! | [`debug`] | self-hosted debug: breakpoints, watchpoints, software step (Arm ARM D2) |
//! | [`pmu`] | the Performance Monitors Extension, PMUv3 (Arm ARM D11) |
//!
//! Not implemented yet, and therefore not advertised in the ID registers: the FP/Advanced
//! SIMD extensions after Armv8.0 (FP16 arithmetic, dot product, crypto, RDM, ...),
//! SVE.

pub mod cpu;
pub mod debug;
pub mod decode;
pub mod exception;
pub mod exec;
pub mod mmu;
pub mod platform;
pub mod pmu;
pub mod sysreg;
pub mod vhe;

#[cfg(test)]
mod tests;

pub use cpu::{Arm64Cpu, RunState, StopReason};
pub use exception::Exc;
pub use platform::{Arm64Platform, Conduit};
