//! The `virt` board: an AArch64 machine in the shape of QEMU's `virt`
//! (`qemu-system-aarch64 -M virt -cpu max -kernel IMAGE`), with the same memory map: GICv3
//! distributor at 0x08000000 and redistributors from 0x080A0000, PL011 UART at 0x09000000
//! (SPI 1), PL031 RTC at 0x09010000 (SPI 2), RAM from 0x40000000. Firmware is modelled in
//! Rust: PSCI 1.1 answers HVC #0 from EL1 (the conduit QEMU uses on plain `virt`), and the
//! device tree is built for the configuration and placed as QEMU places it.
//!
//! Scheduling is deterministic as on `pc`: round-robin quanta of virtual time at a nominal
//! 1 GHz; the generic timer's system counter runs at 62.5 MHz (one count per 16 ns).

use crate::machine::pc::{BootImage, SerialOut};
use crate::machine::{ExitKind, RunOutcome};
use cpu_arm64::{Arm64Cpu, Arm64Platform, Conduit, RunState, StopReason};
use devices::gicv3::{GicV3, GICD_SIZE, GICR_FRAME_SIZE, GIC_ACCESS, PPI_HYP_TIMER, PPI_PHYS_TIMER};
use devices::gicv3::{PPI_SEC_PHYS_TIMER, PPI_VIRT_TIMER};
use devices::pl011::{Pl011, PL011_ACCESS, PL011_MMIO_SIZE};
use devices::pl031::Pl031;
use firmware::arm64::fdt::{PsciConduit, VirtFdtConfig};
use firmware::arm64::loader::{load_virt, ExceptionLevel, VirtLoadOptions};
use firmware::arm64::memmap::{self, virt_mpidr};
use firmware::arm64::psci::{Psci, PsciAction};
use sim_core::{AccessSize, Bus, Error, GuestPhys, GuestRam, IrqLines, Result, Signals};
use std::cell::RefCell;
use std::rc::Rc;

/// System counter frequency (CNTFRQ_EL0): 62.5 MHz, so one count is 16 ticks of 1 ns.
pub const COUNTER_HZ: u64 = 62_500_000;
const TICKS_PER_COUNT: u64 = 1_000_000_000 / COUNTER_HZ;

/// Configuration of a `virt` machine.
#[derive(Clone)]
pub struct VirtConfig {
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Number of CPUs.
    pub cpus: u32,
    /// PL011 output.
    pub serial: SerialOut,
    /// PL031 start time (seconds since the Unix epoch).
    pub rtc_base: u64,
    /// Instructions per scheduling quantum.
    pub quantum: u64,
}

impl Default for VirtConfig {
    fn default() -> Self {
        Self {
            ram_size: 128 << 20,
            cpus: 1,
            serial: SerialOut::Stdout,
            rtc_base: 1_767_225_600,
            quantum: 10_000,
        }
    }
}

/// The machine seen by the CPU that is running.
pub struct VirtPlatform {
    ram: GuestRam,
    bus: Bus,
    lines: Rc<IrqLines>,
    signals: Rc<Signals>,
    gic: Rc<RefCell<GicV3>>,
    psci: Psci,
    mpidrs: Vec<u64>,
    cur: usize,
    slice_now: u64,
    slice_cycles: u64,
    now: u64,
    /// Per CPU: the tick at which its next generic-timer condition is met.
    timer_deadline: Vec<u64>,
    /// PSCI requests applied by the board after the calling CPU's slice.
    cpu_on: Vec<(usize, u64, u64)>,
    cpu_off: Option<usize>,
}

impl VirtPlatform {
    fn route_irqs(&mut self) {
        if self.lines.dirty() {
            let (levels, edges) = self.lines.take_changes();
            self.gic.borrow_mut().update_spis_from_lines(levels, edges);
        }
    }
}

impl Arm64Platform for VirtPlatform {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn mmio_read(&mut self, pa: GuestPhys, size: u8) -> u64 {
        // Unclaimed addresses read as zero on this board (no external abort is modelled).
        let v = self.bus.mmio_read(pa, size, self.now).unwrap_or(0);
        self.route_irqs();
        v
    }
    fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64) {
        self.bus.mmio_write(pa, size, val, self.now);
        self.route_irqs();
    }
    fn sync(&mut self, cpu_cycles: u64) {
        self.now = self.slice_now + cpu_cycles.saturating_sub(self.slice_cycles);
        if self.bus.next_event().is_some_and(|t| t <= self.now) {
            self.bus.run_events(self.now);
            self.route_irqs();
        }
    }
    fn attention(&self) -> bool {
        self.signals.any() || self.cpu_off.is_some() || !self.cpu_on.is_empty()
    }
    fn irq_pending(&mut self) -> bool {
        self.gic.borrow().irq_pending(self.cur)
    }
    fn fiq_pending(&mut self) -> bool {
        self.gic.borrow().fiq_pending(self.cur)
    }
    fn firmware_call(&mut self, conduit: Conduit, x: &mut [u64; 18]) -> bool {
        if conduit != Conduit::Hvc {
            return false; // the PSCI conduit on this board is HVC (as described in the DT)
        }
        let out = self.psci.call(self.mpidrs[self.cur], x[0] as u32, x[1], x[2], x[3]);
        x[0] = out.x0;
        match out.action {
            PsciAction::None | PsciAction::Suspend => {}
            PsciAction::CpuOn { target_mpidr, entry, context_id } => {
                if let Some(t) = self.mpidrs.iter().position(|&m| m == target_mpidr) {
                    self.cpu_on.push((t, entry, context_id));
                }
            }
            PsciAction::CpuOff => self.cpu_off = Some(self.cur),
            PsciAction::SystemOff => self.signals.request_exit(0),
            PsciAction::SystemReset | PsciAction::SystemReset2 { .. } => self.signals.request_reset(),
        }
        true
    }
    fn icc_read(&mut self, enc: u16) -> Option<u64> {
        self.gic.borrow_mut().sysreg_read(self.cur, enc)
    }
    fn icc_write(&mut self, enc: u16, val: u64) -> bool {
        self.gic.borrow_mut().sysreg_write(self.cur, enc, val)
    }
    fn counter(&self) -> u64 {
        self.now / TICKS_PER_COUNT
    }
    fn timer_levels(&mut self, phys: bool, virt: bool, hyp: bool, sec: bool) {
        let mut g = self.gic.borrow_mut();
        g.set_ppi(self.cur, PPI_PHYS_TIMER, phys);
        g.set_ppi(self.cur, PPI_VIRT_TIMER, virt);
        g.set_ppi(self.cur, PPI_HYP_TIMER, hyp);
        g.set_ppi(self.cur, PPI_SEC_PHYS_TIMER, sec);
    }
    fn set_timer_deadline(&mut self, counter: u64) {
        self.timer_deadline[self.cur] = counter.saturating_mul(TICKS_PER_COUNT);
    }
}

/// A `virt` machine with its CPUs.
pub struct VirtMachine {
    pub cpus: Vec<Arm64Cpu>,
    pub plat: VirtPlatform,
    cfg: VirtConfig,
    uart: Rc<RefCell<Pl011>>,
}

impl VirtMachine {
    /// Builds the machine (RAM, GIC, UART, RTC, CPUs powered off).
    pub fn new(cfg: VirtConfig) -> Result<Self> {
        if cfg.cpus == 0 || cfg.cpus > memmap::MAX_CPUS {
            return Err(Error::Config(format!(
                "virt supports 1 to {} CPUs, not {}",
                memmap::MAX_CPUS,
                cfg.cpus
            )));
        }
        if cfg.ram_size == 0 || cfg.ram_size % 0x1000 != 0 || cfg.ram_size > (255 << 30) {
            return Err(Error::Config("virt RAM must be a non-zero multiple of 4 KiB up to 255 GiB".into()));
        }
        let ram = GuestRam::new(&[(GuestPhys(memmap::RAM_BASE), cfg.ram_size)])?;
        let lines = IrqLines::new();
        let signals = Signals::new();
        let mut bus = Bus::new();
        let n = cfg.cpus as usize;
        let gic = Rc::new(RefCell::new(GicV3::new(n, 64)));
        let d = bus.add_device(Rc::new(RefCell::new(GicV3::distributor(&gic))));
        bus.map_mmio(d, GuestPhys(memmap::GIC_DIST_BASE), GICD_SIZE, GIC_ACCESS)?;
        let r = bus.add_device(Rc::new(RefCell::new(GicV3::redistributors(&gic))));
        bus.map_mmio(r, GuestPhys(memmap::GIC_REDIST_BASE), GICR_FRAME_SIZE * n as u64, GIC_ACCESS)?;
        let out = crate::machine::pc::serial_writer(&cfg.serial)?;
        let mut pl011 = Pl011::new(lines.line(memmap::UART_SPI as u8), out);
        // The UART is left programmed as boot firmware leaves it (8N1, enabled), so that a
        // `-kernel` guest that never initialises it can print, as on QEMU's virt.
        pl011.firmware_init();
        let uart = Rc::new(RefCell::new(pl011));
        let u = bus.add_device(uart.clone());
        bus.map_mmio(u, GuestPhys(memmap::UART_BASE), PL011_MMIO_SIZE, PL011_ACCESS)?;
        let rtc = Rc::new(RefCell::new(Pl031::new(lines.line(memmap::RTC_SPI as u8), cfg.rtc_base)));
        let t = bus.add_device(rtc);
        bus.map_mmio(t, GuestPhys(memmap::RTC_BASE), memmap::RTC_SIZE, AccessSize::B4)?;
        let mpidrs: Vec<u64> = (0..cfg.cpus).map(virt_mpidr).collect();
        let psci = Psci::new(&mpidrs).map_err(|e| Error::Config(format!("PSCI: {e:?}")))?;
        let cpus = mpidrs
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let mut c = Arm64Cpu::new(i, m);
                c.state = RunState::Off;
                c.fw_hvc = true;
                c
            })
            .collect();
        let plat = VirtPlatform {
            ram,
            bus,
            lines,
            signals,
            gic,
            psci,
            mpidrs,
            cur: 0,
            slice_now: 0,
            slice_cycles: 0,
            now: 0,
            timer_deadline: vec![u64::MAX; n],
            cpu_on: vec![],
            cpu_off: None,
        };
        Ok(Self { cpus, plat, cfg, uart })
    }

    /// The configuration.
    pub fn config(&self) -> &VirtConfig {
        &self.cfg
    }

    /// Loads a `-kernel` image (ELF, Linux arm64 Image or raw) with the device tree and
    /// starts CPU 0 at EL1 as QEMU's `virt` does without EL2/EL3 firmware.
    pub fn load(&mut self, img: &BootImage) -> std::result::Result<(), String> {
        if !img.modules.is_empty() {
            return Err("the virt board takes no Multiboot modules (use --initrd)".into());
        }
        let mut fdt = VirtFdtConfig::new(self.cfg.ram_size, self.cfg.cpus);
        fdt.psci_conduit = Some(PsciConduit::Hvc);
        fdt.virtio_mmio_count = 0; // no virtio-mmio transports are implemented yet
        fdt.bootargs = img.cmdline.clone();
        let opts = VirtLoadOptions { fdt, initrd: img.initrd.as_deref(), entry_el: ExceptionLevel::El1 };
        let info = load_virt(&mut self.plat.ram, &img.kernel, &opts).map_err(|e| e.to_string())?;
        // What EL3 and EL2 firmware leave behind for a Non-secure AArch64 EL1 kernel:
        // SCR_EL3.{NS,HCE,RW} and HCR_EL2.RW (Arm ARM D17.2.117, D17.2.48).
        for c in self.cpus.iter_mut() {
            c.sys.scr_el3 = 1 | 1 << 8 | 1 << 10;
            c.sys.hcr_el2 = 1 << 31;
            c.sys.cntfrq = COUNTER_HZ;
        }
        let c = &mut self.cpus[0];
        c.boot(1, info.entry.raw());
        c.x[..4].copy_from_slice(&info.regs);
        Ok(())
    }

    fn next_deadline(&self) -> u64 {
        let mut t = self.plat.bus.next_event().unwrap_or(u64::MAX);
        for &d in &self.plat.timer_deadline {
            t = t.min(d);
        }
        t
    }

    fn fire_timers(&mut self) {
        let now = self.plat.now;
        self.plat.bus.run_events(now);
        for i in 0..self.cpus.len() {
            if self.plat.timer_deadline[i] <= now {
                self.plat.cur = i;
                self.plat.timer_deadline[i] = u64::MAX;
                self.cpus[i].update_timers(&mut self.plat);
            }
        }
        self.plat.route_irqs();
    }

    fn apply_psci(&mut self) {
        if let Some(i) = self.plat.cpu_off.take() {
            self.cpus[i].state = RunState::Off;
        }
        for (t, entry, ctx) in std::mem::take(&mut self.plat.cpu_on) {
            let caller_el = 1;
            let c = &mut self.cpus[t];
            c.boot(caller_el, entry);
            c.x[0] = ctx;
            c.sys.sctlr[1] &= !1; // MMU off (DEN0022 6.4.3: caches and MMU disabled at entry)
            let m = self.plat.mpidrs[t];
            self.plat.psci.cpu_on_complete(m);
        }
    }

    /// Runs until the guest exits or a limit is reached.
    pub fn run(&mut self, max_insns: Option<u64>, max_cycles: Option<u64>) -> RunOutcome {
        let start = std::time::Instant::now();
        let insns0: u64 = self.cpus.iter().map(|c| c.stats.instructions).sum();
        let exit = self.run_loop(max_insns.map(|m| insns0.saturating_add(m)), max_cycles);
        self.uart.borrow_mut().flush();
        RunOutcome {
            exit,
            instructions: self.cpus.iter().map(|c| c.stats.instructions).sum::<u64>() - insns0,
            cycles: self.plat.now,
            host_seconds: start.elapsed().as_secs_f64(),
        }
    }

    fn run_loop(&mut self, insn_limit: Option<u64>, max_cycles: Option<u64>) -> ExitKind {
        loop {
            let s = &self.plat.signals;
            if let Some(st) = s.exit_requested() {
                return if st == 0 { ExitKind::PowerOff } else { ExitKind::DebugExit(st) };
            }
            if s.take_reset() {
                return ExitKind::Reset;
            }
            let now = self.plat.now;
            if max_cycles.is_some_and(|m| now >= m) {
                return ExitKind::Limit;
            }
            let total: u64 = self.cpus.iter().map(|c| c.stats.instructions).sum();
            if insn_limit.is_some_and(|l| total >= l) {
                return ExitKind::Limit;
            }
            let deadline = self.next_deadline();
            let mut q = self.cfg.quantum.min(deadline.saturating_sub(now).max(1));
            if let Some(l) = insn_limit {
                q = q.min((l - total).max(1));
            }
            let mut all_idle = true;
            let mut ran = 0u64;
            for i in 0..self.cpus.len() {
                self.plat.cur = i;
                let cpu = &mut self.cpus[i];
                self.plat.slice_now = now;
                self.plat.slice_cycles = cpu.stats.cycles;
                self.plat.now = now;
                let mut done = 0;
                while done < q {
                    let before = cpu.stats.cycles;
                    let r = cpu.run(&mut self.plat, q - done);
                    done += cpu.stats.cycles - before;
                    match r {
                        StopReason::Budget => {}
                        StopReason::Event | StopReason::Halted => break,
                    }
                }
                if done > 0 {
                    all_idle = false;
                }
                ran = ran.max(done);
                self.apply_psci();
                if self.plat.signals.any() {
                    self.plat.now = now + ran;
                    break;
                }
            }
            if self.plat.signals.any() {
                continue;
            }
            self.plat.now = if all_idle {
                if deadline == u64::MAX {
                    return ExitKind::Hang;
                }
                deadline.max(now + 1)
            } else {
                now + q
            };
            self.fire_timers();
        }
    }

    /// Stores that invalidated decoded code (self-modifying code).
    pub fn plat_smc_invalidations(&self) -> u64 {
        self.plat.ram.smc_invalidations()
    }

    /// Statistics as JSON.
    pub fn stats_json(&self, outcome: &RunOutcome) -> serde_json::Value {
        serde_json::json!({
            "machine": "virt",
            "exit": outcome.exit,
            "exit_status": outcome.exit.status(),
            "instructions": outcome.instructions,
            "virtual_cycles": outcome.cycles,
            "host_seconds": outcome.host_seconds,
            "mips": outcome.mips(),
            "unclaimed_io": self.plat.bus.unclaimed,
            "cpus": self.cpus.iter().map(|c| &c.stats).collect::<Vec<_>>(),
            "block_cache": self.cpus.iter().map(|c| c.block_stats()).collect::<Vec<_>>(),
            "smc_invalidations": self.plat.ram.smc_invalidations(),
        })
    }
}
