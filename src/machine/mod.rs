//! Machine boards and the outcome of a run.

pub mod pc;
pub mod virt;

use serde::Serialize;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum ExitKind {
    /// The guest wrote to the debug-exit port: process status `(value << 1) | 1`.
    DebugExit(i32),
    /// The guest powered the machine off (ACPI S5).
    PowerOff,
    /// The guest asked for a reset; chimera stops instead of rebooting (like QEMU `-no-reboot`).
    Reset,
    /// A processor shut down after a triple fault; the string holds the reason and registers.
    TripleFault(String),
    /// The instruction or virtual-time limit was reached.
    Limit,
    /// Every processor is halted with interrupts disabled and no event can wake it.
    Hang,
}

impl ExitKind {
    /// The process exit status documented in the README.
    pub fn status(&self) -> i32 {
        match self {
            ExitKind::DebugExit(s) => *s,
            ExitKind::PowerOff => 0,
            ExitKind::TripleFault(_) => 4,
            ExitKind::Limit => 6,
            ExitKind::Hang => 8,
            ExitKind::Reset => 10,
        }
    }
}

/// Result of [`pc::PcMachine::run`].
#[derive(Clone, Debug, Serialize)]
pub struct RunOutcome {
    /// How the run ended.
    pub exit: ExitKind,
    /// Guest instructions executed, all CPUs.
    pub instructions: u64,
    /// Virtual time at the end, in cycles (1 GHz nominal).
    pub cycles: u64,
    /// Host wall-clock seconds spent in `run`.
    pub host_seconds: f64,
}

impl RunOutcome {
    /// Guest instructions per host second, in millions.
    pub fn mips(&self) -> f64 {
        if self.host_seconds > 0.0 {
            self.instructions as f64 / self.host_seconds / 1e6
        } else {
            0.0
        }
    }
}
