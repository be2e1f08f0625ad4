//! The `pc` board: an x86-64 PC in the shape of QEMU's `pc` machine, enough for bare-metal
//! images booted with `-kernel`.
//!
//! Memory map: RAM from 0 up to 3 GiB and the rest above 4 GiB; IOAPIC at 0xFEC00000, HPET at
//! 0xFED00000, each CPU's local APIC at its IA32_APIC_BASE (0xFEE00000), the optional
//! pc-testdev scratch RAM at 0xFF000000. Ports: dual 8259 (0x20, 0xa0, ELCR 0x4d0), 8254
//! (0x40-0x43, 0x61), CMOS RTC (0x70), COM1 16550 (0x3f8, IRQ 4), debug-exit (0xf4), fw_cfg
//! (0x510), ACPI PM1a control (0x604), reset (0xcf9, 0x92), pc-testdev (0xe0, 0x2000).
//! ISA IRQ 0 reaches IOAPIC pin 2 (the MADT says so with an interrupt source override).
//!
//! Scheduling is deterministic: the CPUs run round-robin in quanta of virtual time that never
//! cross the next timer event; one instruction costs one cycle at a nominal 1 GHz.

use crate::machine::{ExitKind, RunOutcome};
use cpu_x86::{ApicEvent, CpuidModel, X86Cpu, X86Platform};
use devices::apic::{ApicAction, ApicMessage, DeliveryMode, Shorthand};
use devices::{DebugExit, DualPic, FwCfg, Hpet, Ioapic, Lapic, PcTestdev, Pit, Power, Rtc, Uart16550};
use sim_core::{AccessSize, Bus, Error, GuestPhys, GuestRam, IrqLines, Result, Signals};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Where COM1 output goes.
#[derive(Clone, Default)]
pub enum SerialOut {
    /// The process's standard output.
    #[default]
    Stdout,
    /// A file (created or truncated).
    File(std::path::PathBuf),
    /// Nowhere.
    Null,
    /// An in-memory buffer (for tests and the library API).
    Buffer(Rc<RefCell<Vec<u8>>>),
}

struct BufWriter(Rc<RefCell<Vec<u8>>>);
impl Write for BufWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Opens the serial output sink.
pub(crate) fn serial_writer(serial: &SerialOut) -> Result<Box<dyn Write>> {
    Ok(match serial {
        SerialOut::Stdout => Box::new(std::io::stdout()),
        SerialOut::Null => Box::new(std::io::sink()),
        SerialOut::Buffer(b) => Box::new(BufWriter(b.clone())),
        SerialOut::File(p) => Box::new(std::fs::File::create(p).map_err(|e| Error::Io {
            what: format!("creating serial output file {}", p.display()),
            source: e,
        })?),
    })
}

/// Configuration of a `pc` machine.
#[derive(Clone)]
pub struct PcConfig {
    /// RAM size in bytes (multiple of 4 KiB).
    pub ram_size: u64,
    /// Number of vCPUs (1-255).
    pub cpus: u32,
    /// CPU model name.
    pub cpu_model: String,
    /// `+feature`/`-feature` overrides.
    pub cpu_features: Vec<String>,
    /// Add the pc-testdev device.
    pub testdev: bool,
    /// COM1 output.
    pub serial: SerialOut,
    /// RTC start time (seconds since the Unix epoch); fixed by default for determinism.
    pub rtc_base: u64,
    /// Instructions per scheduling quantum.
    pub quantum: u64,
}

impl Default for PcConfig {
    fn default() -> Self {
        Self {
            ram_size: 128 << 20,
            cpus: 1,
            cpu_model: "max".into(),
            cpu_features: vec![],
            testdev: false,
            serial: SerialOut::Stdout,
            rtc_base: 1_767_225_600, // 2026-01-01T00:00:00Z
            quantum: 10_000,
        }
    }
}

/// A guest image and what to pass it.
#[derive(Clone, Default)]
pub struct BootImage {
    /// The kernel file's bytes.
    pub kernel: Vec<u8>,
    /// Kernel command line.
    pub cmdline: String,
    /// Multiboot modules: (bytes, module command line).
    pub modules: Vec<(Vec<u8>, String)>,
    /// Initial RAM disk for boards that pass one directly (`virt`); on `pc` it is the first
    /// Multiboot module instead.
    pub initrd: Option<Vec<u8>>,
}

const LOW_RAM_END: u64 = 0xc000_0000;
const IOAPIC_BASE: u64 = 0xfec0_0000;
const HPET_BASE: u64 = 0xfed0_0000;
const LAPIC_BASE: u64 = 0xfee0_0000;
const TESTDEV_MMIO: u64 = 0xff00_0000;

/// The machine seen by the CPU that is currently running.
pub struct PcPlatform {
    ram: GuestRam,
    bus: Bus,
    lines: Rc<IrqLines>,
    signals: Rc<Signals>,
    pic: Rc<RefCell<DualPic>>,
    ioapic: Rc<RefCell<Ioapic>>,
    lapics: Vec<Lapic>,
    /// CPU currently executing.
    cur: usize,
    /// Per CPU: an ExtINT message arrived and the PIC must supply the vector.
    extint: Vec<bool>,
    /// Machine time at the start of the current slice, and the CPU's cycle count then.
    slice_now: u64,
    slice_cycles: u64,
    now: u64,
}

impl PcPlatform {
    fn route_irqs(&mut self) {
        if self.lines.dirty() {
            let (levels, edges) = self.lines.take_changes();
            // Lines 0 and 2 both carry the timer interrupt: PIC IRQ0, IOAPIC pin 2.
            let timer = |v: u32| (v & 1) | ((v >> 2) & 1);
            let pic_l = (levels & 0xfffa) | timer(levels);
            let pic_e = (edges & 0xfffa) | timer(edges);
            self.pic.borrow_mut().set_irqs(pic_l, pic_e);
            let io_l = (levels & !0b101) | (timer(levels) << 2);
            let io_e = (edges & !0b101) | (timer(edges) << 2);
            let msgs = self.ioapic.borrow_mut().set_irqs(io_l, io_e);
            for m in msgs {
                self.deliver(m, None);
            }
        }
        let pending = self.ioapic.borrow_mut().take_pending_messages();
        for m in pending {
            self.deliver(m, None);
        }
    }

    /// Delivers an interrupt message to the matching local APICs; `from` is the sender for
    /// shorthands. Lowest-priority delivery goes to the first matching APIC (deterministic).
    fn deliver(&mut self, m: ApicMessage, from: Option<usize>) {
        let n = self.lapics.len();
        let mut targets: Vec<usize> = match m.shorthand {
            Shorthand::SelfOnly => from.into_iter().collect(),
            Shorthand::AllIncludingSelf => (0..n).collect(),
            Shorthand::AllExcludingSelf => (0..n).filter(|&i| Some(i) != from).collect(),
            Shorthand::None => (0..n).filter(|&i| self.lapics[i].matches(m.dest, m.logical)).collect(),
        };
        if m.mode == DeliveryMode::LowestPriority {
            // The APIC with the lowest arbitration priority wins; ties go to the lowest index
            // (deterministic; SDM Vol 3A 11.6.2.4).
            if let Some(&t) = targets.iter().min_by_key(|&&t| (self.lapics[t].apr(), t)) {
                targets = vec![t];
            }
        }
        for t in targets {
            self.lapics[t].deliver(&m);
        }
    }

    fn apic_action(&mut self, a: Option<ApicAction>) {
        match a {
            Some(ApicAction::SendIpi(m)) => self.deliver(m, Some(self.cur)),
            Some(ApicAction::LevelEoi(v)) => {
                let msgs = self.ioapic.borrow_mut().eoi(v);
                for m in msgs {
                    self.deliver(m, None);
                }
            }
            None => {}
        }
    }

    fn xapic_offset(&self, pa: GuestPhys) -> Option<u32> {
        let base = self.lapics[self.cur].base_msr();
        let enabled = base & (1 << 11) != 0 && base & (1 << 10) == 0;
        let page = base & 0xf_ffff_f000;
        (enabled && pa.raw() & !0xfff == page).then_some((pa.raw() & 0xfff) as u32)
    }
}

impl X86Platform for PcPlatform {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn mmio_read(&mut self, pa: GuestPhys, size: u8) -> u64 {
        if let Some(off) = self.xapic_offset(pa) {
            let now = self.now;
            return self.lapics[self.cur].mmio_read(off & !3, now) as u64 >> ((off & 3) * 8);
        }
        let v = self.bus.mmio_read(pa, size, self.now).unwrap_or(u64::MAX);
        self.route_irqs();
        v
    }
    fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64) {
        if let Some(off) = self.xapic_offset(pa) {
            let now = self.now;
            let a = self.lapics[self.cur].mmio_write(off & !3, val as u32, now);
            self.apic_action(a);
            return;
        }
        self.bus.mmio_write(pa, size, val, self.now);
        self.route_irqs();
    }
    fn pio_read(&mut self, port: u16, size: u8) -> u32 {
        let v = self.bus.pio_read(port, size, self.now);
        self.route_irqs();
        v
    }
    fn pio_write(&mut self, port: u16, size: u8, val: u32) {
        self.bus.pio_write(port, size, val, self.now);
        self.route_irqs();
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn sync(&mut self, cpu_cycles: u64) {
        self.now = self.slice_now + cpu_cycles.saturating_sub(self.slice_cycles);
        // Timer events that fell due inside the slice fire before the access is served.
        if self.bus.next_event().is_some_and(|t| t <= self.now) {
            self.bus.run_events(self.now);
            self.route_irqs();
        }
    }
    fn attention(&self) -> bool {
        self.signals.any()
    }
    fn intr_pending(&mut self) -> bool {
        let c = self.cur;
        if self.lapics[c].take_extint() {
            self.extint[c] = true;
        }
        let l = &self.lapics[c];
        l.has_interrupt() || ((l.lint0_extint() || self.extint[c]) && self.pic.borrow().output())
    }
    fn intr_ack(&mut self) -> Option<u8> {
        let c = self.cur;
        if self.lapics[c].has_interrupt() {
            return self.lapics[c].acknowledge();
        }
        if (self.lapics[c].lint0_extint() || self.extint[c]) && self.pic.borrow().output() {
            // INTA cycle to the 8259 (ExtINT delivery, SDM Vol 3A 11.6.1).
            self.extint[c] = false;
            return Some(self.pic.borrow_mut().acknowledge());
        }
        None
    }
    fn take_apic_event(&mut self) -> Option<ApicEvent> {
        let l = &mut self.lapics[self.cur];
        if l.take_init() {
            l.init_reset();
            return Some(ApicEvent::Init);
        }
        if let Some(v) = l.take_sipi() {
            return Some(ApicEvent::Sipi(v));
        }
        if l.take_nmi() {
            return Some(ApicEvent::Nmi);
        }
        None
    }
    fn apic_base(&mut self) -> u64 {
        self.lapics[self.cur].base_msr()
    }
    fn set_apic_base(&mut self, val: u64) -> bool {
        self.lapics[self.cur].set_base_msr(val).is_ok()
    }
    fn apic_msr_read(&mut self, msr: u32) -> Option<u64> {
        let now = self.now;
        self.lapics[self.cur].msr_read(msr, now).ok()
    }
    fn apic_msr_write(&mut self, msr: u32, val: u64) -> bool {
        let now = self.now;
        match self.lapics[self.cur].msr_write(msr, val, now) {
            Ok(a) => {
                self.apic_action(a);
                true
            }
            Err(()) => false,
        }
    }
    fn cr8(&mut self) -> u64 {
        self.lapics[self.cur].tpr() as u64
    }
    fn set_cr8(&mut self, val: u64) {
        self.lapics[self.cur].set_tpr(val);
    }
}

/// A `pc` machine with its CPUs.
pub struct PcMachine {
    pub cpus: Vec<X86Cpu>,
    pub plat: PcPlatform,
    cfg: PcConfig,
    uart: Rc<RefCell<Uart16550>>,
}

/// Parses a memory size like `128M`, `2G`, `65536K` or a plain byte count.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let s = s.trim();
    let (num, mul) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a size (examples: 128M, 2G)"))?;
    n.checked_mul(mul).ok_or_else(|| format!("size `{s}` is too large"))
}

impl PcMachine {
    /// Builds the machine (no image loaded yet).
    pub fn new(cfg: PcConfig) -> Result<Self> {
        if cfg.ram_size < (2 << 20) || cfg.ram_size % 4096 != 0 {
            return Err(Error::Config(format!(
                "memory size {:#x} must be at least 2 MiB and a multiple of 4 KiB",
                cfg.ram_size
            )));
        }
        if cfg.ram_size > (1u64 << 40) {
            return Err(Error::Config("memory size above 1 TiB is not supported".into()));
        }
        if cfg.cpus == 0 || cfg.cpus > 255 {
            return Err(Error::Config(format!("--smp {} must be between 1 and 255", cfg.cpus)));
        }
        let mut layout = vec![(GuestPhys(0), cfg.ram_size.min(LOW_RAM_END))];
        if cfg.ram_size > LOW_RAM_END {
            layout.push((GuestPhys(1 << 32), cfg.ram_size - LOW_RAM_END));
        }
        let ram = GuestRam::new(&layout)?;
        let lines = IrqLines::new();
        let signals = Signals::new();
        let mut bus = Bus::new();

        let out = serial_writer(&cfg.serial)?;
        let uart = Rc::new(RefCell::new(Uart16550::new(lines.line(4), out)));
        let d = bus.add_device(uart.clone());
        bus.map_pio(d, 0x3f8, 8, AccessSize::B1)?;
        let d = bus.add_device(Rc::new(RefCell::new(DebugExit::new(signals.clone()))));
        bus.map_pio(d, 0xf4, 4, AccessSize::B1_4)?;
        let fw = FwCfg::standard(cfg.ram_size, cfg.cpus as u16, cfg.cpus as u16);
        let d = bus.add_device(Rc::new(RefCell::new(fw)));
        bus.map_pio(d, 0x510, 2, AccessSize::B1_2)?;
        let pic = Rc::new(RefCell::new(DualPic::new()));
        let d = bus.add_device(pic.clone());
        bus.map_pio(d, 0x20, 2, AccessSize::B1)?;
        bus.map_pio(d, 0xa0, 2, AccessSize::B1)?;
        bus.map_pio(d, 0x4d0, 2, AccessSize::B1)?;
        let pit = Rc::new(RefCell::new(Pit::new(lines.line(0))));
        let d = bus.add_device(pit);
        bus.map_pio(d, 0x40, 4, AccessSize::B1)?;
        bus.map_pio(d, 0x61, 1, AccessSize::B1)?;
        let mut rtc = Rtc::new(lines.line(8), cfg.rtc_base);
        // CMOS memory-size bytes as PC firmware and QEMU fill them.
        let kb_above_1m = (cfg.ram_size.min(LOW_RAM_END).saturating_sub(1 << 20) >> 10).min(0xffff);
        rtc.set_cmos(0x15, 0x80);
        rtc.set_cmos(0x16, 0x02);
        for (lo, hi) in [(0x17u8, 0x18u8), (0x30, 0x31)] {
            rtc.set_cmos(lo, kb_above_1m as u8);
            rtc.set_cmos(hi, (kb_above_1m >> 8) as u8);
        }
        let above_16m = (cfg.ram_size.min(LOW_RAM_END).saturating_sub(16 << 20) >> 16).min(0xffff);
        rtc.set_cmos(0x34, above_16m as u8);
        rtc.set_cmos(0x35, (above_16m >> 8) as u8);
        let above_4g = cfg.ram_size.saturating_sub(LOW_RAM_END) >> 16;
        rtc.set_cmos(0x5b, above_4g as u8);
        rtc.set_cmos(0x5c, (above_4g >> 8) as u8);
        rtc.set_cmos(0x5d, (above_4g >> 16) as u8);
        rtc.set_cmos(0x5f, (cfg.cpus - 1) as u8);
        let d = bus.add_device(Rc::new(RefCell::new(rtc)));
        bus.map_pio(d, 0x70, 2, AccessSize::B1)?;
        let d = bus.add_device(Rc::new(RefCell::new(Power::new(signals.clone()))));
        bus.map_pio(d, 0x604, 2, AccessSize::B1_2)?;
        bus.map_pio(d, 0xcf9, 1, AccessSize::B1)?;
        bus.map_pio(d, 0x92, 1, AccessSize::B1)?;
        let ioapic = Rc::new(RefCell::new(Ioapic::new(cfg.cpus as u8)));
        let d = bus.add_device(ioapic.clone());
        bus.map_mmio(d, GuestPhys(IOAPIC_BASE), 0x1000, AccessSize::B4)?;
        let d = bus.add_device(Rc::new(RefCell::new(Hpet::new(lines.clone()))));
        bus.map_mmio(d, GuestPhys(HPET_BASE), 0x400, AccessSize::B4_8)?;
        if cfg.testdev {
            let d = bus.add_device(Rc::new(RefCell::new(PcTestdev::new(lines.clone()))));
            bus.map_pio(d, 0xe0, 8, AccessSize::B1_4)?;
            bus.map_pio(d, 0x2000, 24, AccessSize::B1_4)?;
            bus.map_mmio(d, GuestPhys(TESTDEV_MMIO), 0x10000, AccessSize::ANY)?;
        }

        let mut cpus = Vec::new();
        let mut lapics = Vec::new();
        for i in 0..cfg.cpus {
            let mut model =
                CpuidModel::new(&cfg.cpu_model, &cfg.cpu_features).map_err(|e| Error::Config(e.0))?;
            model.cpus = cfg.cpus;
            cpus.push(X86Cpu::new(model, i, i == 0, 0x5eed_0000 + i as u64));
            lapics.push(Lapic::new(i, i == 0));
        }
        let plat = PcPlatform {
            ram,
            bus,
            lines,
            signals,
            pic,
            ioapic,
            extint: vec![false; lapics.len()],
            lapics,
            cur: 0,
            slice_now: 0,
            slice_cycles: 0,
            now: 0,
        };
        Ok(Self { cpus, plat, cfg, uart })
    }

    /// The configuration.
    pub fn config(&self) -> &PcConfig {
        &self.cfg
    }

    /// Guest RAM (for loaders and inspection).
    pub fn ram(&mut self) -> &mut GuestRam {
        &mut self.plat.ram
    }

    /// Loads a Multiboot or ELF64 image, builds ACPI tables and sets the boot CPU's state.
    pub fn load(&mut self, img: &BootImage) -> Result<()> {
        let mut reserved = self.plat.bus.mmio_ranges();
        reserved.push((LAPIC_BASE, LAPIC_BASE + 0x1000, "local APIC".into()));
        let opts = firmware::MultibootOptions {
            cmdline: img.cmdline.clone(),
            modules: img
                .modules
                .iter()
                .map(|(d, c)| firmware::Module { data: d.clone(), cmdline: c.clone() })
                .collect(),
            reserved,
            ram_map: vec![],
        };
        let info = firmware::load(&mut self.plat.ram, &img.kernel, &opts)?;
        let ids: Vec<u32> = (0..self.cfg.cpus).collect();
        firmware::build_acpi(
            &mut self.plat.ram,
            GuestPhys(0xe0000),
            GuestPhys(0xe0040),
            &ids,
            (self.cfg.cpus as u8, IOAPIC_BASE as u32, 0),
            LAPIC_BASE as u32,
        )?;
        let cpu = &mut self.cpus[0];
        let r = &info.regs;
        cpu.regs[0] = r.rax;
        cpu.regs[3] = r.rbx;
        cpu.regs[1] = r.rcx;
        cpu.regs[2] = r.rdx;
        cpu.regs[6] = r.rsi;
        cpu.regs[7] = r.rdi;
        cpu.regs[4] = r.rsp;
        match info.mode {
            firmware::EntryMode::Protected32 => cpu.setup_protected_flat(info.entry as u32),
            firmware::EntryMode::Long64 => {
                let (gbase, glimit) = info.gdt.unwrap_or((0, 0));
                let cr3 = info.page_table_root.unwrap_or(0);
                cpu.setup_long_mode(info.entry, cr3, gbase, glimit);
            }
        }
        if let Some((base, limit)) = info.gdt {
            cpu.gdtr = cpu_x86::state::TableReg { base, limit };
        }
        Ok(())
    }

    fn next_deadline(&self) -> u64 {
        let mut t = self.plat.bus.next_event().unwrap_or(u64::MAX);
        for l in &self.plat.lapics {
            if let Some(d) = l.next_deadline() {
                t = t.min(d);
            }
        }
        t
    }

    fn fire_timers(&mut self) {
        let now = self.plat.now;
        self.plat.bus.run_events(now);
        for l in &mut self.plat.lapics {
            if l.next_deadline().is_some_and(|d| d <= now) {
                l.tick(now);
            }
        }
        self.plat.route_irqs();
    }

    /// Runs until the guest exits, `max_insns` instructions have run or virtual time reaches
    /// `max_cycles`.
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
        use sim_core::StopReason;
        loop {
            if let Some(e) = self.check_signals() {
                return e;
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
                        StopReason::Event => {
                            if self.plat.signals.any() {
                                break;
                            }
                        }
                        StopReason::Halted => break,
                        StopReason::Shutdown(why) => return ExitKind::TripleFault(why),
                    }
                }
                if done > 0 {
                    all_idle = false;
                }
                ran = ran.max(done);
                if self.plat.signals.any() {
                    // Stopped mid-quantum: time advances only as far as the CPUs got.
                    self.plat.now = now + ran;
                    break;
                }
            }
            if self.plat.signals.any() {
                continue;
            }
            // Advance virtual time by the quantum; idle machines jump to the next event.
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

    fn check_signals(&mut self) -> Option<ExitKind> {
        let s = &self.plat.signals;
        if let Some(st) = s.exit_requested() {
            // Status 0 comes only from the ACPI power-off port; the debug-exit port gives odd ones.
            return Some(if st == 0 { ExitKind::PowerOff } else { ExitKind::DebugExit(st) });
        }
        if s.take_reset() {
            return Some(ExitKind::Reset);
        }
        None
    }

    /// Per-CPU statistics as JSON.
    pub fn stats_json(&self, outcome: &RunOutcome) -> serde_json::Value {
        serde_json::json!({
            "machine": "pc",
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
