//! The AArch64 CPU's view of the machine. The board implements [`Arm64Platform`]; the CPU
//! crate never depends on device models, so it can be unit-tested against a mock.

use crate::cpu::Arm64Cpu;
use crate::mmu::Acc;
use sim_core::{GuestPhys, GuestRam};

/// How firmware is called (PSCI/SMCCC conduit, Arm DEN0028 SMCCC 2.x).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// HVC #0.
    Hvc,
    /// SMC #0.
    Smc,
}

/// The services the AArch64 CPU needs from its machine.
pub trait Arm64Platform {
    /// Guest RAM.
    fn ram(&mut self) -> &mut GuestRam;
    /// MMIO read; unclaimed addresses read as zero... or as the board decides.
    fn mmio_read(&mut self, pa: GuestPhys, size: u8) -> u64;
    /// MMIO write.
    fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64);
    /// Tells the machine how many cycles this CPU has consumed, before an access whose
    /// result depends on time.
    fn sync(&mut self, cpu_cycles: u64);
    /// True when the run loop must return to the machine (an event is due, exit requested).
    fn attention(&self) -> bool;
    /// The interrupt controller's IRQ output for this CPU.
    fn irq_pending(&mut self) -> bool;
    /// The interrupt controller's FIQ output for this CPU.
    fn fiq_pending(&mut self) -> bool;
    /// A firmware call answered by a model in Rust (PSCI, SMCCC) instead of guest code at
    /// EL2/EL3: `x` holds x0-x17 and receives the results. Returns `false` when the board has
    /// no model for this conduit (the instruction then behaves as the architecture says for
    /// the implemented exception levels).
    fn firmware_call(&mut self, conduit: Conduit, x: &mut [u64; 18]) -> bool;
    /// A GIC CPU-interface system register read (`ICC_*`, encoded as op0:op1:CRn:CRm:op2);
    /// `None` when the board has no such register (the access is UNDEFINED).
    fn icc_read(&mut self, enc: u16) -> Option<u64>;
    /// A GIC CPU-interface system register write; `false` when there is no such register.
    fn icc_write(&mut self, enc: u16, val: u64) -> bool;
    /// The generic timer's physical count (CNTPCT_EL0), derived from machine time.
    fn counter(&self) -> u64;
    /// The timer outputs of this CPU changed (level of the physical, virtual, hypervisor and
    /// secure physical timers, Arm ARM D11.2): the board forwards them to the GIC as PPIs.
    fn timer_levels(&mut self, phys: bool, virt: bool, hyp: bool, sec: bool);
    /// The level of this CPU's EL2 virtual timer (FEAT_VHE, CNTHV_*_EL2; PPI 28 on GICv3
    /// systems per the Server Base System Architecture). Default: not connected.
    fn hyp_virt_timer_level(&mut self, _level: bool) {}
    /// The level of this CPU's PMU overflow interrupt request (PMUIRQ, Arm ARM D11.x): a
    /// board that wires it forwards it to its interrupt controller (the `virt` board: PPI 23,
    /// INTID 23). Default: not wired, as on a board whose device tree has no PMU node.
    fn pmu_irq(&mut self, _level: bool) {}
    /// The earliest counter value at which one of this CPU's enabled timers fires (or
    /// `u64::MAX`), so the board can schedule a wake-up.
    fn set_timer_deadline(&mut self, counter: u64);
    /// `HLT #imm` executed by `cpu` (C6.2.104), offered to the board before the
    /// architectural behaviour (UNDEFINED: halting debug is not implemented). A board that
    /// traps it (e.g. Arm semihosting, HLT #0xF000) reads and writes `cpu`'s registers and
    /// memory ([`Arm64Cpu::read_virt`], [`Arm64Cpu::write_virt`]) and returns `true`: the
    /// instruction then completes and execution continues after it. Default: not trapped.
    fn halt_call(&mut self, _cpu: &mut Arm64Cpu, _imm: u16) -> bool {
        false
    }
}

impl Arm64Cpu {
    /// Copies guest memory at virtual address `va` into `buf`, translated as a data read
    /// at the current EL (stage 1, D8). Only RAM is read; `false` (and no exception) if any
    /// byte faults or is not RAM. For firmware models answering calls from the guest.
    pub fn read_virt(&mut self, p: &mut dyn Arm64Platform, va: u64, buf: &mut [u8]) -> bool {
        self.virt_pages(p, va, buf.len(), Acc::Read, |ram, pa, at, n| ram.read(pa, &mut buf[at..at + n]))
    }

    /// Writes `data` to guest memory at virtual address `va`, translated as a data write at
    /// the current EL. Only RAM is written; `false` if any page faults or is not RAM (pages
    /// before it may have been written).
    pub fn write_virt(&mut self, p: &mut dyn Arm64Platform, va: u64, data: &[u8]) -> bool {
        self.virt_pages(p, va, data.len(), Acc::Write, |ram, pa, at, n| ram.write(pa, &data[at..at + n]))
    }

    /// Runs `f(ram, pa, offset, len)` for each page-sized piece of `[va, va + len)`.
    fn virt_pages(
        &mut self,
        p: &mut dyn Arm64Platform,
        va: u64,
        len: usize,
        acc: Acc,
        mut f: impl FnMut(&mut GuestRam, GuestPhys, usize, usize) -> bool,
    ) -> bool {
        let mut done = 0;
        while done < len {
            let at = va.wrapping_add(done as u64);
            let n = (0x1000 - (at & 0xfff) as usize).min(len - done);
            let Ok(t) = self.translate(p, at, acc) else { return false };
            if !f(p.ram(), GuestPhys(t.pa), done, n) {
                return false;
            }
            done += n;
        }
        true
    }
}
