//! PSCI 1.1 (Arm DEN0022, "Arm Power State Coordination Interface") and the SMCCC 1.1
//! discovery calls (Arm DEN0028, "SMC Calling Convention") as pure logic.
//!
//! The board traps an `HVC #0` or `SMC #0` (the conduit named in the device tree's `/psci`
//! node), hands the function ID (`w0`), `x1..x3` and the caller's MPIDR to [`Psci::call`],
//! writes [`PsciOutcome::x0`] back (no PSCI or SMCCC function here returns values in
//! `x1..x3`, which stay as they were) and carries out [`PsciOutcome::action`]:
//!
//! * [`PsciAction::CpuOn`]: reset the target CPU into its entry state at the caller's EL with
//!   `PC = entry`, `x0 = context_id`, MMU and caches off, DAIF masked (DEN0022 CPU_ON), then
//!   call [`Psci::cpu_on_complete`] once it runs.
//! * [`PsciAction::CpuOff`]: the caller stops; it never returns from the call.
//! * [`PsciAction::Suspend`]: the caller waits as for `WFI` and then returns from the call
//!   with `x0` = SUCCESS.
//! * [`PsciAction::SystemOff`], [`PsciAction::SystemReset`], [`PsciAction::SystemReset2`]:
//!   the machine powers off or resets; the caller never returns. After a reset the board
//!   calls [`Psci::reset`].
//!
//! Per-CPU power state follows DEN0022 AFFINITY_INFO: ON, OFF, ON_PENDING. At creation and
//! after [`Psci::reset`] the first CPU is ON and every other CPU is OFF, as on QEMU's `virt`
//! board, which starts secondaries powered off whenever its PSCI is in use
//! (`start-powered-off`).
//!
//! What is implemented, and therefore what PSCI_FEATURES reports: PSCI_VERSION,
//! PSCI_FEATURES, CPU_SUSPEND (standby at power level 0 only), CPU_OFF, CPU_ON,
//! AFFINITY_INFO (lowest affinity level 0 only), MIGRATE_INFO_TYPE, SYSTEM_OFF, SYSTEM_RESET,
//! SYSTEM_RESET2 (SYSTEM_WARM_RESET only), SMCCC_VERSION and SMCCC_ARCH_FEATURES. Every
//! other function ID returns NOT_SUPPORTED. CPU_ON never returns INVALID_ADDRESS: the model
//! has no memory map, and a bad entry point faults on the target CPU as on hardware.

use super::memmap::MPIDR_AFFINITY_MASK;
use thiserror::Error;

/// PSCI and SMCCC function IDs (DEN0022 "Function IDs" table; DEN0028 "Arm Architecture
/// Calls"). `*_32` are SMC32/HVC32 calls, `*_64` SMC64/HVC64 calls.
pub mod func {
    pub const PSCI_VERSION: u32 = 0x8400_0000;
    pub const CPU_SUSPEND_32: u32 = 0x8400_0001;
    pub const CPU_SUSPEND_64: u32 = 0xC400_0001;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON_32: u32 = 0x8400_0003;
    pub const CPU_ON_64: u32 = 0xC400_0003;
    pub const AFFINITY_INFO_32: u32 = 0x8400_0004;
    pub const AFFINITY_INFO_64: u32 = 0xC400_0004;
    pub const MIGRATE_32: u32 = 0x8400_0005;
    pub const MIGRATE_64: u32 = 0xC400_0005;
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    pub const MIGRATE_INFO_UP_CPU_32: u32 = 0x8400_0007;
    pub const MIGRATE_INFO_UP_CPU_64: u32 = 0xC400_0007;
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    pub const PSCI_FEATURES: u32 = 0x8400_000A;
    pub const CPU_FREEZE: u32 = 0x8400_000B;
    pub const CPU_DEFAULT_SUSPEND_32: u32 = 0x8400_000C;
    pub const CPU_DEFAULT_SUSPEND_64: u32 = 0xC400_000C;
    pub const SYSTEM_SUSPEND_32: u32 = 0x8400_000E;
    pub const SYSTEM_SUSPEND_64: u32 = 0xC400_000E;
    pub const SYSTEM_RESET2_32: u32 = 0x8400_0012;
    pub const SYSTEM_RESET2_64: u32 = 0xC400_0012;
    pub const SMCCC_VERSION: u32 = 0x8000_0000;
    pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;
    pub const SMCCC_ARCH_WORKAROUND_1: u32 = 0x8000_8000;
}

/// PSCI return codes (DEN0022 "Return error codes"); SMCCC's NOT_SUPPORTED is also -1.
pub mod ret {
    pub const SUCCESS: i32 = 0;
    pub const NOT_SUPPORTED: i32 = -1;
    pub const INVALID_PARAMETERS: i32 = -2;
    pub const DENIED: i32 = -3;
    pub const ALREADY_ON: i32 = -4;
    pub const ON_PENDING: i32 = -5;
    pub const INTERNAL_FAILURE: i32 = -6;
    pub const NOT_PRESENT: i32 = -7;
    pub const DISABLED: i32 = -8;
    pub const INVALID_ADDRESS: i32 = -9;
}

/// PSCI_VERSION result: major 1 in bits 31:16, minor 1 in bits 15:0 (DEN0022 PSCI_VERSION).
pub const PSCI_VERSION_1_1: u32 = 0x0001_0001;
/// SMCCC_VERSION result for SMCCC 1.1, same encoding (DEN0028 SMCCC_VERSION).
pub const SMCCC_VERSION_1_1: u32 = 0x0001_0001;
/// MIGRATE_INFO_TYPE result: "Trusted OS not present or does not require migration"
/// (DEN0022 MIGRATE_INFO_TYPE).
pub const MIGRATE_INFO_TYPE_NOT_PRESENT: i32 = 2;
/// SYSTEM_RESET2 architectural reset type 0, SYSTEM_WARM_RESET (DEN0022 SYSTEM_RESET2).
pub const SYSTEM_WARM_RESET: u32 = 0;

/// A CPU's power state as AFFINITY_INFO reports it (DEN0022 AFFINITY_INFO: 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    On,
    Off,
    /// CPU_ON was accepted but the CPU is not running yet.
    OnPending,
}

impl PowerState {
    /// The AFFINITY_INFO return value.
    pub fn affinity_info(self) -> i32 {
        match self {
            PowerState::On => 0,
            PowerState::Off => 1,
            PowerState::OnPending => 2,
        }
    }
}

/// What the board must do after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsciAction {
    /// Nothing: write `x0` and return to the caller.
    None,
    /// Start CPU `target_mpidr` at `entry` with `x0 = context_id` (DEN0022 CPU_ON).
    CpuOn { target_mpidr: u64, entry: u64, context_id: u64 },
    /// Power the calling CPU down; the call does not return (DEN0022 CPU_OFF).
    CpuOff,
    /// Standby: the caller waits as for WFI, then returns SUCCESS (DEN0022 CPU_SUSPEND).
    Suspend,
    /// Power the machine off (DEN0022 SYSTEM_OFF).
    SystemOff,
    /// Cold-reset the machine (DEN0022 SYSTEM_RESET).
    SystemReset,
    /// Reset the machine with an architectural `reset_type` (only SYSTEM_WARM_RESET is
    /// accepted); `cookie` is the caller's value (DEN0022 SYSTEM_RESET2).
    SystemReset2 { reset_type: u32, cookie: u64 },
}

/// The result of one call: the value for `x0` and the board's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PsciOutcome {
    /// The 32-bit result sign-extended to 64 bits, as Trusted Firmware-A returns it
    /// (SMCCC: SMC32 results are in `w0`).
    pub x0: u64,
    pub action: PsciAction,
}

impl PsciOutcome {
    fn ret(code: i32) -> Self {
        Self { x0: i64::from(code) as u64, action: PsciAction::None }
    }
    fn with(code: i32, action: PsciAction) -> Self {
        Self { x0: i64::from(code) as u64, action }
    }
}

/// Invalid CPU lists given to [`Psci::new`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PsciConfigError {
    #[error("PSCI needs at least one CPU")]
    NoCpus,
    #[error("MPIDR {0:#x} appears twice")]
    DuplicateMpidr(u64),
    #[error("MPIDR {0:#x} has bits outside the affinity fields (mask {MPIDR_AFFINITY_MASK:#x})")]
    NotAnAffinity(u64),
}

/// The PSCI firmware state of one machine: the power state of every CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Psci {
    /// `(affinity, state)` per CPU; entry 0 is the boot CPU.
    cpus: Vec<(u64, PowerState)>,
}

/// Original-format `power_state` fields (DEN0022 CPU_SUSPEND, "power_state parameter"):
/// StateID bits 15:0, StateType bit 16 (1 = powerdown), PowerLevel bits 25:24; bits 31:26
/// and 23:17 are reserved and must be zero.
const POWER_STATE_TYPE_POWERDOWN: u32 = 1 << 16;
const POWER_STATE_LEVEL_SHIFT: u32 = 24;
const POWER_STATE_RESERVED: u32 = 0xfc00_0000 | 0x00fe_0000;

impl Psci {
    /// A model for CPUs with the given affinities (MPIDR_EL1 & [`MPIDR_AFFINITY_MASK`]);
    /// the first is the boot CPU and starts ON, the others OFF.
    pub fn new(mpidrs: &[u64]) -> Result<Self, PsciConfigError> {
        if mpidrs.is_empty() {
            return Err(PsciConfigError::NoCpus);
        }
        for (i, &m) in mpidrs.iter().enumerate() {
            if m & !MPIDR_AFFINITY_MASK != 0 {
                return Err(PsciConfigError::NotAnAffinity(m));
            }
            if mpidrs[..i].contains(&m) {
                return Err(PsciConfigError::DuplicateMpidr(m));
            }
        }
        let mut p = Self { cpus: mpidrs.iter().map(|&m| (m, PowerState::Off)).collect() };
        p.reset();
        Ok(p)
    }

    /// The model for `n` CPUs of the `virt` board ([`super::memmap::virt_mpidr`]).
    pub fn for_virt(n: u32) -> Result<Self, PsciConfigError> {
        let mpidrs: Vec<u64> = (0..n).map(super::memmap::virt_mpidr).collect();
        Self::new(&mpidrs)
    }

    /// Back to the power-on state: boot CPU ON, all others OFF.
    pub fn reset(&mut self) {
        for (i, c) in self.cpus.iter_mut().enumerate() {
            c.1 = if i == 0 { PowerState::On } else { PowerState::Off };
        }
    }

    /// The CPU affinities, boot CPU first.
    pub fn mpidrs(&self) -> impl Iterator<Item = u64> + '_ {
        self.cpus.iter().map(|c| c.0)
    }

    /// Power state of the CPU with affinity `mpidr` (other MPIDR_EL1 bits are ignored).
    pub fn state(&self, mpidr: u64) -> Option<PowerState> {
        self.index(mpidr & MPIDR_AFFINITY_MASK).map(|i| self.cpus[i].1)
    }

    /// The board started a CPU that CPU_ON left ON_PENDING; it is ON from now on.
    /// Returns false (and changes nothing) if that CPU was not pending.
    pub fn cpu_on_complete(&mut self, mpidr: u64) -> bool {
        match self.index(mpidr & MPIDR_AFFINITY_MASK) {
            Some(i) if self.cpus[i].1 == PowerState::OnPending => {
                self.cpus[i].1 = PowerState::On;
                true
            }
            _ => false,
        }
    }

    fn index(&self, affinity: u64) -> Option<usize> {
        self.cpus.iter().position(|c| c.0 == affinity)
    }

    /// True for the function IDs this model implements (what PSCI_FEATURES reports).
    pub fn implements(function_id: u32) -> bool {
        use func::*;
        matches!(
            function_id,
            PSCI_VERSION
                | CPU_SUSPEND_32
                | CPU_SUSPEND_64
                | CPU_OFF
                | CPU_ON_32
                | CPU_ON_64
                | AFFINITY_INFO_32
                | AFFINITY_INFO_64
                | MIGRATE_INFO_TYPE
                | SYSTEM_OFF
                | SYSTEM_RESET
                | PSCI_FEATURES
                | SYSTEM_RESET2_32
                | SYSTEM_RESET2_64
                | SMCCC_VERSION
        )
    }

    /// Handles one call: `function_id` is `w0`, `x1..x3` the arguments and `caller_mpidr`
    /// the calling CPU's MPIDR_EL1.
    pub fn call(&mut self, caller_mpidr: u64, function_id: u32, x1: u64, x2: u64, x3: u64) -> PsciOutcome {
        use func::*;
        // SMCCC: bit 30 of the function ID selects SMC64; SMC32 calls pass 32-bit arguments
        // and the callee ignores the upper halves of the registers (DEN0028, "SMC32/HVC32
        // argument passing").
        let (x1, x2, x3) = if function_id & (1 << 30) == 0 {
            (x1 & 0xffff_ffff, x2 & 0xffff_ffff, x3 & 0xffff_ffff)
        } else {
            (x1, x2, x3)
        };
        match function_id {
            PSCI_VERSION => PsciOutcome::ret(PSCI_VERSION_1_1 as i32),
            // DEN0022 PSCI_FEATURES: 0 (success; for CPU_SUSPEND, flags 0 = original
            // power_state format, no OS-initiated mode) or NOT_SUPPORTED.
            PSCI_FEATURES => {
                PsciOutcome::ret(if Self::implements(x1 as u32) { ret::SUCCESS } else { ret::NOT_SUPPORTED })
            }
            CPU_SUSPEND_32 | CPU_SUSPEND_64 => self.cpu_suspend(x1 as u32),
            CPU_OFF => match self.index(caller_mpidr & MPIDR_AFFINITY_MASK) {
                Some(i) => {
                    self.cpus[i].1 = PowerState::Off;
                    PsciOutcome::with(ret::SUCCESS, PsciAction::CpuOff)
                }
                // The board called with an MPIDR it never declared.
                None => PsciOutcome::ret(ret::INTERNAL_FAILURE),
            },
            CPU_ON_32 | CPU_ON_64 => self.cpu_on(x1, x2, x3),
            AFFINITY_INFO_32 | AFFINITY_INFO_64 => self.affinity_info(x1, x2 as u32),
            MIGRATE_INFO_TYPE => PsciOutcome::ret(MIGRATE_INFO_TYPE_NOT_PRESENT),
            SYSTEM_OFF => PsciOutcome::with(ret::SUCCESS, PsciAction::SystemOff),
            SYSTEM_RESET => PsciOutcome::with(ret::SUCCESS, PsciAction::SystemReset),
            SYSTEM_RESET2_32 | SYSTEM_RESET2_64 => {
                // DEN0022 SYSTEM_RESET2: bit 31 set = vendor-specific reset (none here);
                // architectural types other than SYSTEM_WARM_RESET are reserved.
                let reset_type = x1 as u32;
                if reset_type == SYSTEM_WARM_RESET {
                    PsciOutcome::with(ret::SUCCESS, PsciAction::SystemReset2 { reset_type, cookie: x2 })
                } else {
                    PsciOutcome::ret(ret::INVALID_PARAMETERS)
                }
            }
            SMCCC_VERSION => PsciOutcome::ret(SMCCC_VERSION_1_1 as i32),
            // DEN0028 SMCCC_ARCH_FEATURES: SUCCESS for the Arm architecture calls that are
            // implemented (as Trusted Firmware-A: SMCCC_VERSION and SMCCC_ARCH_FEATURES
            // itself), NOT_SUPPORTED for the rest, including the CPU erratum workarounds.
            SMCCC_ARCH_FEATURES => PsciOutcome::ret(match x1 as u32 {
                SMCCC_VERSION | SMCCC_ARCH_FEATURES => ret::SUCCESS,
                _ => ret::NOT_SUPPORTED,
            }),
            _ => PsciOutcome::ret(ret::NOT_SUPPORTED),
        }
    }

    /// DEN0022 CPU_SUSPEND with an original-format `power_state`.
    fn cpu_suspend(&self, power_state: u32) -> PsciOutcome {
        if power_state & POWER_STATE_RESERVED != 0 {
            return PsciOutcome::ret(ret::INVALID_PARAMETERS);
        }
        // Only core standby is modelled: it behaves like WFI and returns SUCCESS on wake-up.
        // Powerdown states and states above power level 0 are not offered (the device tree
        // lists no idle states), so the platform rejects them.
        let level = power_state >> POWER_STATE_LEVEL_SHIFT;
        if power_state & POWER_STATE_TYPE_POWERDOWN != 0 || level != 0 {
            return PsciOutcome::ret(ret::INVALID_PARAMETERS);
        }
        PsciOutcome::with(ret::SUCCESS, PsciAction::Suspend)
    }

    /// DEN0022 CPU_ON.
    fn cpu_on(&mut self, target: u64, entry: u64, context_id: u64) -> PsciOutcome {
        if target & !MPIDR_AFFINITY_MASK != 0 {
            return PsciOutcome::ret(ret::INVALID_PARAMETERS);
        }
        let Some(i) = self.index(target) else {
            return PsciOutcome::ret(ret::INVALID_PARAMETERS);
        };
        match self.cpus[i].1 {
            PowerState::On => PsciOutcome::ret(ret::ALREADY_ON),
            PowerState::OnPending => PsciOutcome::ret(ret::ON_PENDING),
            PowerState::Off => {
                self.cpus[i].1 = PowerState::OnPending;
                PsciOutcome::with(ret::SUCCESS, PsciAction::CpuOn { target_mpidr: target, entry, context_id })
            }
        }
    }

    /// DEN0022 AFFINITY_INFO. PSCI 1.0 made lowest affinity levels above 0 optional; they
    /// are not supported here and return INVALID_PARAMETERS.
    fn affinity_info(&self, target: u64, lowest_level: u32) -> PsciOutcome {
        if lowest_level != 0 || target & !MPIDR_AFFINITY_MASK != 0 {
            return PsciOutcome::ret(ret::INVALID_PARAMETERS);
        }
        match self.index(target) {
            Some(i) => PsciOutcome::ret(self.cpus[i].1.affinity_info()),
            None => PsciOutcome::ret(ret::INVALID_PARAMETERS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::func::*;
    use super::ret::*;
    use super::*;

    fn x0(code: i32) -> u64 {
        i64::from(code) as u64
    }

    fn four() -> Psci {
        Psci::for_virt(4).unwrap()
    }

    #[test]
    fn version_and_smccc_discovery() {
        let mut p = four();
        assert_eq!(p.call(0, PSCI_VERSION, 0, 0, 0), PsciOutcome::ret(0x1_0001));
        assert_eq!(p.call(0, SMCCC_VERSION, 0, 0, 0).x0, 0x1_0001);
        // Linux probes SMCCC 1.1 through PSCI_FEATURES(SMCCC_VERSION).
        assert_eq!(p.call(0, PSCI_FEATURES, u64::from(SMCCC_VERSION), 0, 0).x0, 0);
        assert_eq!(p.call(0, SMCCC_ARCH_FEATURES, u64::from(SMCCC_VERSION), 0, 0).x0, 0);
        assert_eq!(p.call(0, SMCCC_ARCH_FEATURES, u64::from(SMCCC_ARCH_FEATURES), 0, 0).x0, 0);
        assert_eq!(
            p.call(0, SMCCC_ARCH_FEATURES, u64::from(SMCCC_ARCH_WORKAROUND_1), 0, 0).x0,
            x0(NOT_SUPPORTED)
        );
    }

    #[test]
    fn features_report_exactly_what_is_implemented() {
        let mut p = four();
        for f in [
            PSCI_VERSION,
            CPU_SUSPEND_32,
            CPU_SUSPEND_64,
            CPU_OFF,
            CPU_ON_32,
            CPU_ON_64,
            AFFINITY_INFO_32,
            AFFINITY_INFO_64,
            MIGRATE_INFO_TYPE,
            SYSTEM_OFF,
            SYSTEM_RESET,
            PSCI_FEATURES,
            SYSTEM_RESET2_32,
            SYSTEM_RESET2_64,
        ] {
            assert_eq!(p.call(0, PSCI_FEATURES, u64::from(f), 0, 0).x0, 0, "{f:#x}");
        }
        for f in [
            MIGRATE_32,
            MIGRATE_64,
            MIGRATE_INFO_UP_CPU_32,
            MIGRATE_INFO_UP_CPU_64,
            CPU_FREEZE,
            CPU_DEFAULT_SUSPEND_64,
            SYSTEM_SUSPEND_32,
            SYSTEM_SUSPEND_64,
            0x8400_0013, // MEM_PROTECT
            0x1234_5678,
        ] {
            assert_eq!(p.call(0, PSCI_FEATURES, u64::from(f), 0, 0).x0, x0(NOT_SUPPORTED), "{f:#x}");
            // ... and calling them is NOT_SUPPORTED, with no side effects.
            let before = p.clone();
            assert_eq!(p.call(0, f, 1, 0x4000_0000, 0), PsciOutcome::ret(NOT_SUPPORTED), "{f:#x}");
            assert_eq!(p, before);
        }
        // The upper half of x1 is ignored: PSCI_FEATURES is an SMC32 call.
        assert_eq!(p.call(0, PSCI_FEATURES, 0xffff_ffff_0000_0000 | u64::from(CPU_ON_64), 0, 0).x0, 0);
        assert_eq!(x0(NOT_SUPPORTED), u64::MAX);
    }

    #[test]
    fn cpu_on_lifecycle() {
        let mut p = four();
        assert_eq!(p.state(0), Some(PowerState::On));
        assert_eq!(p.state(3), Some(PowerState::Off));
        assert_eq!(p.call(0, AFFINITY_INFO_64, 1, 0, 0).x0, 1);

        let out = p.call(0, CPU_ON_64, 1, 0x4008_0000, 0xdead_beef_0000_0001);
        assert_eq!(
            out,
            PsciOutcome::with(
                SUCCESS,
                PsciAction::CpuOn { target_mpidr: 1, entry: 0x4008_0000, context_id: 0xdead_beef_0000_0001 }
            )
        );
        assert_eq!(p.state(1), Some(PowerState::OnPending));
        assert_eq!(p.call(0, AFFINITY_INFO_32, 1, 0, 0).x0, 2);
        assert_eq!(p.call(2, CPU_ON_64, 1, 0x4008_0000, 0), PsciOutcome::ret(ON_PENDING));

        assert!(p.cpu_on_complete(1 | 0x8000_0000)); // MPIDR_EL1 with RES1 bit 31
        assert!(!p.cpu_on_complete(1));
        assert!(!p.cpu_on_complete(2));
        assert_eq!(p.call(0, AFFINITY_INFO_64, 1, 0, 0).x0, 0);
        assert_eq!(p.call(0, CPU_ON_64, 1, 0x4008_0000, 0), PsciOutcome::ret(ALREADY_ON));
        assert_eq!(p.call(0, CPU_ON_64, 0, 0x4008_0000, 0), PsciOutcome::ret(ALREADY_ON));

        // CPU 1 turns itself off; it can then be turned on again.
        assert_eq!(p.call(1, CPU_OFF, 0, 0, 0), PsciOutcome::with(SUCCESS, PsciAction::CpuOff));
        assert_eq!(p.call(0, AFFINITY_INFO_64, 1, 0, 0).x0, 1);
        assert!(matches!(p.call(0, CPU_ON_64, 1, 0x5000, 7).action, PsciAction::CpuOn { .. }));

        p.reset();
        assert_eq!(p.state(0), Some(PowerState::On));
        assert_eq!(p.state(1), Some(PowerState::Off));
    }

    #[test]
    fn cpu_on_errors_and_smc32_arguments() {
        let mut p = Psci::for_virt(17).unwrap();
        // CPU 16 is Aff1 = 1, Aff0 = 0.
        assert!(matches!(
            p.call(0, CPU_ON_64, 0x100, 0x4000_0000, 0).action,
            PsciAction::CpuOn { target_mpidr: 0x100, .. }
        ));
        assert_eq!(p.call(0, CPU_ON_64, 16, 0x4000_0000, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.call(0, CPU_ON_64, 0x1_0000_0000, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        // Bit 31 (RES1 in MPIDR_EL1) is not an affinity field.
        assert_eq!(p.call(0, CPU_ON_64, 0x8000_0002, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.state(2), Some(PowerState::Off));
        // SMC32: only the low 32 bits of target, entry and context count.
        assert_eq!(
            p.call(0, CPU_ON_32, 0xffff_ffff_0000_0002, 0xffff_ffff_8000_0000, 0x1_0000_0005).action,
            PsciAction::CpuOn { target_mpidr: 2, entry: 0x8000_0000, context_id: 5 }
        );
    }

    #[test]
    fn affinity_info_levels() {
        let mut p = four();
        assert_eq!(p.call(0, AFFINITY_INFO_64, 0, 1, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.call(0, AFFINITY_INFO_64, 4, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.call(0, AFFINITY_INFO_64, 0, 0, 0).x0, 0);
    }

    #[test]
    fn cpu_suspend_standby_only() {
        let mut p = four();
        let standby = PsciOutcome::with(SUCCESS, PsciAction::Suspend);
        assert_eq!(p.call(0, CPU_SUSPEND_64, 0, 0x4000_0000, 0), standby);
        assert_eq!(p.call(0, CPU_SUSPEND_32, 0x1234, 0, 0), standby); // any StateID
        assert_eq!(p.call(0, CPU_SUSPEND_64, 1 << 16, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.call(0, CPU_SUSPEND_64, 1 << 24, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.call(0, CPU_SUSPEND_64, 1 << 20, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.call(0, CPU_SUSPEND_64, 1 << 30, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.state(0), Some(PowerState::On));
    }

    #[test]
    fn system_calls() {
        let mut p = four();
        assert_eq!(p.call(0, MIGRATE_INFO_TYPE, 0, 0, 0).x0, 2);
        assert_eq!(p.call(0, SYSTEM_OFF, 0, 0, 0).action, PsciAction::SystemOff);
        assert_eq!(p.call(3, SYSTEM_RESET, 0, 0, 0).action, PsciAction::SystemReset);
        assert_eq!(
            p.call(0, SYSTEM_RESET2_64, 0, 0x1234_5678_9abc, 0).action,
            PsciAction::SystemReset2 { reset_type: 0, cookie: 0x1234_5678_9abc }
        );
        assert_eq!(
            p.call(0, SYSTEM_RESET2_32, 0, 0x1234_5678_9abc, 0).action,
            PsciAction::SystemReset2 { reset_type: 0, cookie: 0x5678_9abc }
        );
        assert_eq!(p.call(0, SYSTEM_RESET2_64, 1, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
        assert_eq!(p.call(0, SYSTEM_RESET2_64, 0x8000_0000, 0, 0), PsciOutcome::ret(INVALID_PARAMETERS));
    }

    #[test]
    fn constructor_checks() {
        assert_eq!(Psci::new(&[]), Err(PsciConfigError::NoCpus));
        assert_eq!(Psci::new(&[0, 1, 0]), Err(PsciConfigError::DuplicateMpidr(0)));
        assert_eq!(Psci::new(&[0x8000_0000]), Err(PsciConfigError::NotAnAffinity(0x8000_0000)));
        let p = Psci::new(&[0x100, 0]).unwrap();
        assert_eq!(p.mpidrs().collect::<Vec<_>>(), [0x100, 0]);
        assert_eq!(p.state(0x100), Some(PowerState::On));
        assert_eq!(p.state(0), Some(PowerState::Off));
        assert_eq!(p.state(5), None);
        // An unknown caller cannot turn itself off.
        assert_eq!(four().call(9, CPU_OFF, 0, 0, 0), PsciOutcome::ret(INTERNAL_FAILURE));
    }
}
