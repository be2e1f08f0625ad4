//! The `virt` board: an AArch64 machine in the shape of QEMU's `virt`
//! (`qemu-system-aarch64 -M virt -cpu max -kernel IMAGE`), with the same memory map: GICv3
//! distributor at 0x08000000 and redistributors from 0x080A0000, PL011 UART at 0x09000000
//! (SPI 1), PL031 RTC at 0x09010000 (SPI 2), 32 virtio-mmio transports from 0x0A000000
//! (0x200 apart, SPIs 16-47), RAM from 0x40000000. Firmware is modelled in
//! Rust: PSCI 1.1 answers HVC #0 from EL1 (the conduit QEMU uses on plain `virt`), and the
//! device tree is built for the configuration and placed as QEMU places it.
//!
//! virtio-mmio: all 32 transports exist and are described in the device tree, as on QEMU;
//! empty ones report DeviceID 0. With [`VirtConfig::virtio_console`] a virtio console sits on
//! the highest transport (0x0A003E00, SPI 47), where QEMU puts the first `-device` it is given
//! (its virtio-mmio buses are filled from the highest address down). The console writes to
//! the PL011's sink: the UART's buffered partial line is flushed before every transport
//! write, so the two streams interleave in the order the guest produced them. The board has
//! no host input path, so the console's receiveq is never fed. The transports are not on
//! the [`Bus`]: they need guest RAM for their virtqueues, so the board dispatches their
//! window itself.
//!
//! Exception level at entry and firmware (QEMU `-M virt,secure=on,virtualization=on` and
//! `-bios`): [`VirtConfig::bios`] is a raw image placed at the bottom of a 64 MiB region at
//! 0x0 standing in for QEMU's flash bank 0, entered at 0x0 with every register zero; the
//! device tree is written at the start of RAM (0x40000000), where QEMU leaves it for `-bios`
//! firmware. The region is plain memory (writable, no CFI flash command interface, not in
//! the device tree). The entry EL is EL3 with [`VirtConfig::secure`], else EL2 with
//! [`VirtConfig::virtualization`], else EL1; a `-kernel` image (no firmware) is entered at
//! EL2 with `virtualization` and at EL1 otherwise (`secure` needs firmware). PSCI: with
//! `secure` there is no PSCI model: HVC and SMC reach the guest's own EL2/EL3 vectors and
//! the device tree has no `/psci` node (the firmware provides and describes it). With only
//! `virtualization` PSCI is modelled over SMC (as QEMU: the guest hypervisor owns HVC), and
//! otherwise over HVC. There is no Secure RAM, Secure UART or Secure GPIO: a firmware sees
//! the same devices as the normal world, and Secure and Non-secure physical addresses are
//! the same memory.
//!
//! Semihosting ([`VirtConfig::semihosting`], QEMU `-semihosting`): `HLT #0xF000` from EL1
//! or higher is an Arm semihosting call ("Semihosting for AArch32 and AArch64" v2.0),
//! answered by [`firmware::arm64::semihosting`]; from EL0 (as QEMU without `userspace=on`)
//! and with the option off it is UNDEFINED as usual. Console output (SYS_WRITEC, SYS_WRITE0,
//! SYS_WRITE to handles 1 and 2) goes to the serial sink after the UART's pending output;
//! SYS_EXIT/SYS_EXIT_EXTENDED end the run with the subcode of ADP_Stopped_ApplicationExit
//! as exit status (1 for other reasons); SYS_CLOCK and SYS_TIME come from virtual time and
//! the RTC base; SYS_HEAPINFO gives the RAM after the image, DTB and initrd as heap and the
//! top 1 MiB of RAM as stack.
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
use devices::virtio_console::VirtioConsole;
use devices::virtio_mmio::{VirtioDevice, VirtioMmio};
use firmware::arm64::fdt::{PsciConduit, VirtFdtConfig};
use firmware::arm64::loader::{load_virt, ExceptionLevel, VirtLoadOptions};
use firmware::arm64::memmap::{self, virt_mpidr};
use firmware::arm64::psci::{Psci, PsciAction};
use firmware::arm64::semihosting::{self as sh, SemihostAction, SemihostEnv};
use sim_core::{AccessSize, Bus, Error, GuestPhys, GuestRam, IrqLines, Result, Signals};
use std::cell::RefCell;
use std::io::Write;
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
    /// A virtio console on the highest virtio-mmio transport (QEMU `-device virtconsole`).
    pub virtio_console: bool,
    /// Trap `HLT #0xF000` as an Arm semihosting call (QEMU `-semihosting`).
    pub semihosting: bool,
    /// Start at EL3 without a PSCI model (QEMU `-M virt,secure=on`); needs [`Self::bios`].
    pub secure: bool,
    /// EL2 is entered (QEMU `-M virt,virtualization=on`); PSCI is modelled over SMC.
    pub virtualization: bool,
    /// A raw firmware image loaded at 0x0 and entered there (QEMU `-bios`).
    pub bios: Option<Vec<u8>>,
}

impl Default for VirtConfig {
    fn default() -> Self {
        Self {
            ram_size: 128 << 20,
            cpus: 1,
            serial: SerialOut::Stdout,
            rtc_base: 1_767_225_600,
            quantum: 10_000,
            virtio_console: false,
            semihosting: false,
            secure: false,
            virtualization: false,
            bios: None,
        }
    }
}

/// Size of the memory standing in for flash bank 0 (QEMU virt: two 64 MiB banks).
const FLASH0_SIZE: u64 = 64 << 20;

/// Number of virtio-mmio transports (QEMU virt `NUM_VIRTIO_TRANSPORTS`).
const VIRTIO_TRANSPORTS: usize = memmap::VIRTIO_MMIO_MAX as usize;
/// The first transport whose SPI (16 + n) is beyond the 32 lines of [`IrqLines`]: transports
/// 0-15 drive lines 16-31 of the main lines, 16-31 drive lines 0-15 of the high bank (SPIs 32-47).
const VIRTIO_HIGH_FIRST: usize = 32 - memmap::VIRTIO_MMIO_FIRST_SPI as usize;

/// One serial sink shared by the PL011 and the virtio console.
#[derive(Clone)]
struct SharedOut(Rc<RefCell<Box<dyn std::io::Write>>>);

impl std::io::Write for SharedOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// The machine seen by the CPU that is running.
pub struct VirtPlatform {
    ram: GuestRam,
    bus: Bus,
    lines: Rc<IrqLines>,
    /// Interrupt lines of SPIs 32-63 (virtio transports 16-31).
    lines_hi: Rc<IrqLines>,
    lines_hi_levels: u32,
    signals: Rc<Signals>,
    gic: Rc<RefCell<GicV3>>,
    uart: Rc<RefCell<Pl011>>,
    out: SharedOut,
    virtio: Vec<VirtioMmio>,
    /// Semihosting state when enabled.
    semihost: Option<sh::Semihost>,
    /// SYS_HEAPINFO answer (heap base, heap limit, stack base, stack limit).
    heap_info: [u64; 4],
    rtc_base: u64,
    psci: Psci,
    /// The conduit the PSCI model answers, if there is a PSCI model.
    psci_conduit: Option<Conduit>,
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
        if self.lines_hi.dirty() {
            let (levels, edges) = self.lines_hi.take_changes();
            let changed = (levels ^ self.lines_hi_levels) | edges;
            self.lines_hi_levels = levels;
            let mut g = self.gic.borrow_mut();
            for b in (0..32).filter(|b| changed & (1 << b) != 0) {
                let high = levels & (1 << b) != 0;
                if edges & (1 << b) != 0 && !high {
                    g.set_spi(32 + b, true); // a pulse: an edge-triggered SPI latches it
                }
                g.set_spi(32 + b, high);
            }
        }
    }

    /// The virtio-mmio transport and offset of `pa`, if it is in the transports' window.
    fn virtio_slot(pa: GuestPhys) -> Option<(usize, u64)> {
        let off = pa.raw().checked_sub(memmap::VIRTIO_MMIO_BASE)?;
        let i = (off / memmap::VIRTIO_MMIO_SIZE) as usize;
        (i < VIRTIO_TRANSPORTS).then_some((i, off % memmap::VIRTIO_MMIO_SIZE))
    }
}

impl Arm64Platform for VirtPlatform {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn mmio_read(&mut self, pa: GuestPhys, size: u8) -> u64 {
        if let Some((i, off)) = Self::virtio_slot(pa) {
            return self.virtio[i].read(off, size);
        }
        // Unclaimed addresses read as zero on this board (no external abort is modelled).
        let v = self.bus.mmio_read(pa, size, self.now).unwrap_or(0);
        self.route_irqs();
        v
    }
    fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64) {
        if let Some((i, off)) = Self::virtio_slot(pa) {
            if self.virtio[i].device().is_some() {
                self.uart.borrow_mut().flush(); // keep UART and console output in order
            }
            self.virtio[i].write(off, size, val, &mut self.ram);
            self.route_irqs();
            return;
        }
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
        if Some(conduit) != self.psci_conduit {
            return false; // only the conduit described in the DT has a PSCI model
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
    fn pmu_irq(&mut self, level: bool) {
        // PMUIRQ is PPI 23 (the device tree's `/pmu` node, QEMU virt `VIRTUAL_PMU_IRQ`).
        self.gic.borrow_mut().set_ppi(self.cur, 16 + memmap::PMU_PPI, level);
    }
    fn hyp_virt_timer_level(&mut self, level: bool) {
        // The EL2 virtual timer (FEAT_VHE) is PPI 28 (SBSA; QEMU virt's
        // ARCH_TIMER_NS_EL2_VIRT_IRQ).
        self.gic.borrow_mut().set_ppi(self.cur, 28, level);
    }
    fn set_timer_deadline(&mut self, counter: u64) {
        self.timer_deadline[self.cur] = counter.saturating_mul(TICKS_PER_COUNT);
    }
    fn halt_call(&mut self, cpu: &mut Arm64Cpu, imm: u16) -> bool {
        // Semihosting v2.0, "The semihosting interface": AArch64 uses HLT #0xF000, the
        // operation in W0, the parameter in X1, the result in X0.
        if imm != 0xf000 || cpu.el == 0 {
            return false;
        }
        let Some(mut state) = self.semihost.take() else { return false };
        let env = SemihostEnv {
            clock_cs: self.now / 10_000_000,
            time_s: self.rtc_base.saturating_add(self.now / 1_000_000_000),
            heap: self.heap_info,
        };
        let (op, x1) = (cpu.x[0] as u32, cpu.x[1]);
        let out = state.call(op, x1, &env, |va, buf| cpu.read_virt(self, va.raw(), buf));
        self.semihost = Some(state);
        if let Some(v) = out.x0 {
            cpu.x[0] = v;
        }
        match out.action {
            SemihostAction::None => {}
            SemihostAction::Output { bytes, .. } => {
                self.uart.borrow_mut().flush();
                let _ = self.out.write_all(&bytes);
                let _ = self.out.flush();
            }
            SemihostAction::WriteMem { addr, bytes } => {
                if !cpu.write_virt(self, addr, &bytes) {
                    cpu.x[0] = u64::MAX;
                }
            }
            SemihostAction::Exit { reason, subcode } => {
                self.signals.request_exit(sh::exit_status(reason, subcode));
            }
        }
        true
    }
}

/// SYS_HEAPINFO for a loaded image: the heap from the first page after the image, DTB and
/// initrd up to the stack, which is the top 1 MiB of RAM (zeros, "use your defaults" in the
/// semihosting spec, if nothing is left).
fn heap_info(info: &firmware::arm64::VirtBootInfo, ram_size: u64) -> [u64; 4] {
    const STACK: u64 = 1 << 20;
    let ram_end = memmap::RAM_BASE + ram_size;
    let used =
        [info.image_end.raw(), info.dtb.raw() + info.dtb_size, info.initrd.map_or(0, |(_, e)| e.raw())];
    let heap_base = (used.into_iter().max().unwrap_or(0) + 0xfff) & !0xfff;
    let stack_limit = ram_end.saturating_sub(STACK);
    if heap_base >= stack_limit {
        return [0; 4];
    }
    [heap_base, stack_limit, ram_end, stack_limit]
}

/// A `virt` machine with its CPUs.
pub struct VirtMachine {
    pub cpus: Vec<Arm64Cpu>,
    pub plat: VirtPlatform,
    cfg: VirtConfig,
    uart: Rc<RefCell<Pl011>>,
    /// EL at which PSCI CPU_ON starts CPUs (that of the PSCI caller).
    psci_el: u8,
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
        if cfg.secure && cfg.bios.is_none() {
            return Err(Error::Config(
                "secure=on starts at EL3 and needs firmware there (--bios FILE): there is no built-in EL3 firmware"
                    .into(),
            ));
        }
        let mut layout = vec![(GuestPhys(memmap::RAM_BASE), cfg.ram_size)];
        if cfg.bios.is_some() {
            layout.push((GuestPhys(memmap::FLASH_BASE), FLASH0_SIZE));
        }
        let ram = GuestRam::new(&layout)?;
        let lines = IrqLines::new();
        let signals = Signals::new();
        let mut bus = Bus::new();
        let n = cfg.cpus as usize;
        let gic = Rc::new(RefCell::new(GicV3::new(n, 64)));
        let d = bus.add_device(Rc::new(RefCell::new(GicV3::distributor(&gic))));
        bus.map_mmio(d, GuestPhys(memmap::GIC_DIST_BASE), GICD_SIZE, GIC_ACCESS)?;
        let r = bus.add_device(Rc::new(RefCell::new(GicV3::redistributors(&gic))));
        bus.map_mmio(r, GuestPhys(memmap::GIC_REDIST_BASE), GICR_FRAME_SIZE * n as u64, GIC_ACCESS)?;
        let out = SharedOut(Rc::new(RefCell::new(crate::machine::pc::serial_writer(&cfg.serial)?)));
        let mut pl011 = Pl011::new(lines.line(memmap::UART_SPI as u8), Box::new(out.clone()));
        // The UART is left programmed as boot firmware leaves it (8N1, enabled), so that a
        // `-kernel` guest that never initialises it can print, as on QEMU's virt.
        pl011.firmware_init();
        let uart = Rc::new(RefCell::new(pl011));
        let u = bus.add_device(uart.clone());
        bus.map_mmio(u, GuestPhys(memmap::UART_BASE), PL011_MMIO_SIZE, PL011_ACCESS)?;
        let rtc = Rc::new(RefCell::new(Pl031::new(lines.line(memmap::RTC_SPI as u8), cfg.rtc_base)));
        let t = bus.add_device(rtc);
        bus.map_mmio(t, GuestPhys(memmap::RTC_BASE), memmap::RTC_SIZE, AccessSize::B4)?;
        let lines_hi = IrqLines::new();
        let virtio = (0..VIRTIO_TRANSPORTS)
            .map(|i| {
                let dev: Option<Box<dyn VirtioDevice>> = if cfg.virtio_console && i == VIRTIO_TRANSPORTS - 1 {
                    Some(Box::new(VirtioConsole::new(Box::new(out.clone()))))
                } else {
                    None
                };
                let spi = memmap::VIRTIO_MMIO_FIRST_SPI as usize + i;
                let line = if i < VIRTIO_HIGH_FIRST {
                    lines.line(spi as u8)
                } else {
                    lines_hi.line((spi - 32) as u8)
                };
                VirtioMmio::new(dev, line)
            })
            .collect();
        let psci_conduit = if cfg.secure {
            None
        } else if cfg.virtualization {
            Some(Conduit::Smc)
        } else {
            Some(Conduit::Hvc)
        };
        let mpidrs: Vec<u64> = (0..cfg.cpus).map(virt_mpidr).collect();
        let psci = Psci::new(&mpidrs).map_err(|e| Error::Config(format!("PSCI: {e:?}")))?;
        let cpus = mpidrs
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let mut c = Arm64Cpu::new(i, m);
                c.state = RunState::Off;
                c.fw_hvc = psci_conduit == Some(Conduit::Hvc);
                c.fw_smc = psci_conduit == Some(Conduit::Smc);
                c
            })
            .collect();
        let plat = VirtPlatform {
            ram,
            bus,
            lines,
            lines_hi,
            lines_hi_levels: 0,
            signals,
            gic,
            uart: uart.clone(),
            out,
            virtio,
            semihost: cfg.semihosting.then(sh::Semihost::new),
            heap_info: [0; 4],
            rtc_base: cfg.rtc_base,
            psci,
            psci_conduit,
            mpidrs,
            cur: 0,
            slice_now: 0,
            slice_cycles: 0,
            now: 0,
            timer_deadline: vec![u64::MAX; n],
            cpu_on: vec![],
            cpu_off: None,
        };
        Ok(Self { cpus, plat, cfg, uart, psci_el: 1 })
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
        if self.cfg.bios.is_some() {
            return Err(
                "a kernel cannot be combined with --bios on virt (no fw_cfg to hand it to the firmware)"
                    .into(),
            );
        }
        let mut fdt = self.fdt_config();
        fdt.bootargs = img.cmdline.clone();
        let el = self.entry_el();
        let entry_el = if el == 2 { ExceptionLevel::El2 } else { ExceptionLevel::El1 };
        let opts = VirtLoadOptions { fdt, initrd: img.initrd.as_deref(), entry_el };
        let info = load_virt(&mut self.plat.ram, &img.kernel, &opts).map_err(|e| e.to_string())?;
        self.plat.heap_info = heap_info(&info, self.cfg.ram_size);
        self.reset_el_state(el);
        let c = &mut self.cpus[0];
        c.boot(el, info.entry.raw());
        c.x[..4].copy_from_slice(&info.regs);
        Ok(())
    }

    /// Loads [`VirtConfig::bios`] at 0x0 and the device tree at the start of RAM, and starts
    /// CPU 0 at 0x0 at the entry EL (QEMU `-bios`).
    pub fn load_firmware(&mut self) -> std::result::Result<(), String> {
        let Some(fw) = self.cfg.bios.clone() else { return Err("no firmware image configured".into()) };
        if fw.is_empty() {
            return Err("the firmware image is empty".into());
        }
        if fw.starts_with(b"\x7fELF") {
            return Err(
                "--bios takes a raw binary placed at 0x0 (as QEMU's -bios on virt), not an ELF file: \
                 convert it with `objcopy -O binary`"
                    .into(),
            );
        }
        if fw.len() as u64 > FLASH0_SIZE {
            return Err(format!(
                "the firmware image is {} bytes; flash bank 0 holds {FLASH0_SIZE:#x}",
                fw.len()
            ));
        }
        let blob = firmware::arm64::build_virt_fdt(&self.fdt_config()).map_err(|e| e.to_string())?;
        if blob.len() as u64 > self.cfg.ram_size || !self.plat.ram.write(GuestPhys(memmap::RAM_BASE), &blob) {
            return Err("the device tree does not fit in RAM".into());
        }
        if !self.plat.ram.write(GuestPhys(memmap::FLASH_BASE), &fw) {
            return Err("cannot place the firmware image at 0x0".into());
        }
        let end = memmap::RAM_BASE + ((blob.len() as u64 + 0xfff) & !0xfff);
        let ram_end = memmap::RAM_BASE + self.cfg.ram_size;
        let stack = ram_end.saturating_sub(1 << 20);
        self.plat.heap_info = if end < stack { [end, stack, ram_end, stack] } else { [0; 4] };
        let el = self.entry_el();
        self.reset_el_state(el);
        self.cpus[0].boot(el, memmap::FLASH_BASE);
        Ok(())
    }

    /// EL of the boot CPU: 3 with `secure` (firmware), 2 with `virtualization`, else 1.
    fn entry_el(&self) -> u8 {
        if self.cfg.secure {
            3
        } else if self.cfg.virtualization {
            2
        } else {
            1
        }
    }

    fn fdt_config(&self) -> VirtFdtConfig {
        let mut fdt = VirtFdtConfig::new(self.cfg.ram_size, self.cfg.cpus);
        fdt.psci_conduit = match self.plat.psci_conduit {
            Some(Conduit::Hvc) => Some(PsciConduit::Hvc),
            Some(Conduit::Smc) => Some(PsciConduit::Smc),
            None => None,
        };
        fdt.virtio_mmio_count = VIRTIO_TRANSPORTS as u32;
        fdt
    }

    /// System register state at entry: what the firmware levels that are not run as guest
    /// code leave behind. Entering at EL1: SCR_EL3.{NS,HCE,RW} and HCR_EL2.RW (Arm ARM
    /// D17.2.117, D17.2.48); at EL2: SCR_EL3.{NS,HCE,RW}, HCR_EL2 at its reset value; at
    /// EL3: both at reset (the firmware programs them).
    fn reset_el_state(&mut self, el: u8) {
        for c in self.cpus.iter_mut() {
            c.sys.scr_el3 = if el < 3 { 1 | 1 << 8 | 1 << 10 } else { 0 };
            c.sys.hcr_el2 = if el < 2 { 1 << 31 } else { 0 };
            c.sys.cntfrq = COUNTER_HZ;
        }
        self.psci_el = el.min(2);
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
            // DEN0022 6.4.3 (CPU_ON): the target starts at the EL of the caller.
            let caller_el = self.psci_el;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `mov x0, #8; movk x0, #0x8400, lsl #16; smc #0; b .` -- PSCI SYSTEM_OFF over SMC.
    const SMC_OFF: [u32; 4] = [0xd280_0100, 0xf2b0_8000, 0xd400_0003, 0x1400_0000];

    fn bios_machine(secure: bool, virtualization: bool) -> VirtMachine {
        let bios = SMC_OFF.iter().flat_map(|w| w.to_le_bytes()).collect();
        let cfg = VirtConfig {
            serial: SerialOut::Null,
            secure,
            virtualization,
            bios: Some(bios),
            ..VirtConfig::default()
        };
        let mut m = VirtMachine::new(cfg).expect("machine");
        m.load_firmware().expect("firmware");
        m
    }

    #[test]
    fn firmware_entry_state_and_dtb() {
        let m = bios_machine(true, false);
        let c = &m.cpus[0];
        assert_eq!((c.el, c.pc, c.sys.scr_el3, c.x[0]), (3, 0, 0, 0));
        assert!(!c.fw_hvc && !c.fw_smc, "secure=on has no PSCI model");
        assert_eq!(m.plat.ram.read_u32(GuestPhys(0)), Some(SMC_OFF[0]));
        // The DTB at the start of RAM (FDT header magic, big-endian).
        assert_eq!(m.plat.ram.read_u32(GuestPhys(memmap::RAM_BASE)), Some(0xd00d_feed_u32.swap_bytes()));
        let m = bios_machine(false, true);
        assert_eq!((m.cpus[0].el, m.cpus[0].fw_smc, m.cpus[0].fw_hvc), (2, true, false));
        let m = bios_machine(false, false);
        assert_eq!((m.cpus[0].el, m.cpus[0].fw_hvc), (1, true));
    }

    #[test]
    fn psci_over_smc_with_virtualization_only() {
        // virtualization=on: the PSCI model answers SMC from EL2 and powers off.
        let mut m = bios_machine(false, true);
        assert_eq!(m.run(Some(1000), None).exit, ExitKind::PowerOff);
        // secure=on: nothing answers; the SMC is taken to EL3 (VBAR_EL3 = 0: the image
        // again) and the run only ends at the limit.
        let mut m = bios_machine(true, false);
        assert_eq!(m.run(Some(1000), None).exit, ExitKind::Limit);
        assert!(m.cpus[0].stats.exceptions.iter().sum::<u64>() > 0);
    }

    #[test]
    fn bad_firmware_configurations() {
        let cfg = VirtConfig { secure: true, ..VirtConfig::default() };
        assert!(VirtMachine::new(cfg).is_err(), "secure=on without firmware");
        let big = VirtConfig { bios: Some(vec![0; FLASH0_SIZE as usize + 1]), ..VirtConfig::default() };
        let mut m = VirtMachine::new(big).unwrap();
        assert!(m.load_firmware().unwrap_err().contains("flash bank 0 holds"));
        let mut m = bios_machine(false, false);
        let e = m.load(&BootImage { kernel: vec![0; 16], ..Default::default() }).unwrap_err();
        assert!(e.contains("cannot be combined with --bios"), "{e}");
    }
}
