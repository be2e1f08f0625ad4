//! chimera: a cycle-approximate full-system emulator.
//!
//! This crate holds the machine boards and the pieces of the command-line front end that are
//! useful as a library (building a machine, running it, reading its statistics). See
//! `examples/run_pc.rs` for the API in use.

pub mod machine;
pub mod trace;

pub use machine::pc::{PcConfig, PcMachine, SerialOut};
pub use machine::{ExitKind, RunOutcome};
