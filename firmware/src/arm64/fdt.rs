//! The flattened device tree (DTB) of the AArch64 `virt` board, built with `vm-fdt`.
//!
//! [`build_virt_fdt`] describes the machine of [`super::memmap`] the way QEMU's `virt`
//! describes itself (hw/arm/virt.c), so Linux and other DT-driven guests need nothing
//! board-specific:
//!
//! * `/` — `compatible` and `model` "linux,dummy-virt", 2 address and 2 size cells,
//!   `interrupt-parent` the GIC;
//! * `/psci` — PSCI 1.0 with the conduit the board traps (omitted when the board has no
//!   PSCI, e.g. when EL3 firmware provides it);
//! * `/memory@...` — the RAM;
//! * `/cpus/cpu@...` — one node per CPU, `reg` its MPIDR affinity, `enable-method` "psci";
//! * `/timer` — the architected timer and its four PPIs;
//! * `/pmu` — the PMUv3 overflow interrupt (PPI 7);
//! * `/intc@8000000` — the GICv3 distributor and redistributors;
//! * `/apb-pclk` — the 24 MHz fixed clock of the PrimeCell devices;
//! * `/pl011@9000000`, `/pl031@9010000` — UART and RTC;
//! * `/virtio_mmio@...` — the configured number of virtio-mmio transports, lowest first;
//! * `/chosen` — `bootargs`, `stdout-path`, and the initrd range when there is one;
//! * `/aliases` — `serial0`.
//!
//! Interrupt specifiers have three cells (Linux bindings
//! interrupt-controller/arm,gic-v3.yaml): type (0 = SPI, 1 = PPI), number within the type,
//! flags (1 = rising edge, 4 = active-high level).

use super::memmap::*;
use crate::LoadError;
use sim_core::GuestPhys;
use vm_fdt::FdtWriter;

/// phandle of the GIC (any unique non-zero value: DT spec v0.4 2.3.3).
pub const GIC_PHANDLE: u32 = 1;
/// phandle of the APB clock.
pub const CLOCK_PHANDLE: u32 = 2;

/// GIC interrupt-specifier type cells (arm,gic-v3.yaml).
const GIC_SPI: u32 = 0;
const GIC_PPI: u32 = 1;
/// GIC interrupt-specifier flag cells (arm,gic-v3.yaml; include/dt-bindings/interrupt-controller/irq.h).
const IRQ_EDGE_RISING: u32 = 1;
const IRQ_LEVEL_HIGH: u32 = 4;

/// Path of the console UART node (the `stdout-path` and `serial0` target).
pub const UART_PATH: &str = "/pl011@9000000";

/// The instruction a guest uses to call PSCI (Linux bindings arm/psci.yaml `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsciConduit {
    Hvc,
    Smc,
}

impl PsciConduit {
    fn method(self) -> &'static str {
        match self {
            PsciConduit::Hvc => "hvc",
            PsciConduit::Smc => "smc",
        }
    }
}

/// What varies between `virt` machines; the device addresses are fixed ([`super::memmap`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtFdtConfig {
    /// Start of RAM; QEMU virt uses [`RAM_BASE`].
    pub ram_base: GuestPhys,
    pub ram_size: u64,
    /// CPU `n` has affinity [`virt_mpidr`]`(n)`; 1 to [`MAX_CPUS`].
    pub num_cpus: u32,
    /// `compatible` of the CPU nodes ("arm,armv8" for a generic Armv8 CPU, Linux bindings
    /// arm/cpus.yaml).
    pub cpu_compatible: String,
    /// `None`: no `/psci` node and no `enable-method` (firmware in the guest provides it).
    pub psci_conduit: Option<PsciConduit>,
    /// Number of virtio-mmio transports, 0 to [`VIRTIO_MMIO_MAX`].
    pub virtio_mmio_count: u32,
    /// Kernel command line; omitted from `/chosen` when empty (as QEMU does).
    pub bootargs: String,
    /// `[start, end)` of the initrd, if one was loaded.
    pub initrd: Option<(GuestPhys, GuestPhys)>,
}

impl VirtFdtConfig {
    /// A `virt` machine with RAM at [`RAM_BASE`], PSCI over HVC, 32 virtio-mmio transports
    /// (QEMU's count), no command line and no initrd.
    pub fn new(ram_size: u64, num_cpus: u32) -> Self {
        Self {
            ram_base: GuestPhys(RAM_BASE),
            ram_size,
            num_cpus,
            cpu_compatible: "arm,armv8".into(),
            psci_conduit: Some(PsciConduit::Hvc),
            virtio_mmio_count: VIRTIO_MMIO_MAX,
            bootargs: String::new(),
            initrd: None,
        }
    }

    /// First byte after RAM, if the range does not wrap.
    pub fn ram_end(&self) -> Option<u64> {
        self.ram_base.raw().checked_add(self.ram_size)
    }

    fn check(&self) -> Result<(), LoadError> {
        let bad = |m: String| Err(LoadError::InvalidConfig(m));
        if self.num_cpus == 0 || self.num_cpus > MAX_CPUS {
            return bad(format!("{} CPUs requested; the virt board has 1 to {MAX_CPUS}", self.num_cpus));
        }
        if self.virtio_mmio_count > VIRTIO_MMIO_MAX {
            return bad(format!(
                "{} virtio-mmio transports requested; the virt board has at most {VIRTIO_MMIO_MAX}",
                self.virtio_mmio_count
            ));
        }
        // RAM must not overlap the flash and device window below RAM_BASE.
        if self.ram_size == 0 || self.ram_end().is_none() || self.ram_base.raw() < RAM_BASE {
            return bad(format!(
                "RAM {}+{:#x} is empty, wraps, or starts below {RAM_BASE:#x} (flash and devices)",
                self.ram_base, self.ram_size
            ));
        }
        if let Some((s, e)) = self.initrd {
            if e < s {
                return bad(format!("initrd end {e} is below its start {s}"));
            }
        }
        if self.bootargs.contains('\0') {
            return Err(LoadError::NulInString { what: "kernel command line".into() });
        }
        if self.cpu_compatible.contains('\0') {
            return Err(LoadError::NulInString { what: "CPU compatible string".into() });
        }
        Ok(())
    }
}

fn fdt_err(e: vm_fdt::Error) -> LoadError {
    LoadError::DeviceTree(e.to_string())
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `reg` cells for one `(address, size)` pair with 2 address and 2 size cells.
fn reg(base: u64, size: u64) -> [u64; 2] {
    [base, size]
}

/// Builds the device tree blob for `cfg`.
pub fn build_virt_fdt(cfg: &VirtFdtConfig) -> Result<Vec<u8>, LoadError> {
    cfg.check()?;
    let mut f = FdtWriter::new().map_err(fdt_err)?;
    // DT spec v0.4 5.2: the boot CPU's `reg`.
    f.set_boot_cpuid_phys(virt_mpidr(0) as u32);
    let root = f.begin_node("").map_err(fdt_err)?;
    write_tree(&mut f, cfg).map_err(fdt_err)?;
    f.end_node(root).map_err(fdt_err)?;
    f.finish().map_err(fdt_err)
}

fn write_tree(f: &mut FdtWriter, cfg: &VirtFdtConfig) -> Result<(), vm_fdt::Error> {
    // DT spec v0.4 3.2: root node properties.
    f.property_string("compatible", "linux,dummy-virt")?;
    f.property_string("model", "linux,dummy-virt")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    // DT spec v0.4 2.4.1: inherited by every node without its own interrupt-parent.
    f.property_u32("interrupt-parent", GIC_PHANDLE)?;

    if let Some(conduit) = cfg.psci_conduit {
        // Linux bindings arm/psci.yaml: "arm,psci-1.0" and "arm,psci-0.2" use the standard
        // function IDs; "arm,psci" (0.1) needs the IDs as properties. QEMU virt lists all
        // three; `migrate` is left out because MIGRATE is not implemented (see psci.rs).
        let n = f.begin_node("psci")?;
        f.property_string_list("compatible", strs(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]))?;
        f.property_string("method", conduit.method())?;
        f.property_u32("cpu_suspend", super::psci::func::CPU_SUSPEND_64)?;
        f.property_u32("cpu_off", super::psci::func::CPU_OFF)?;
        f.property_u32("cpu_on", super::psci::func::CPU_ON_64)?;
        f.end_node(n)?;
    }

    // DT spec v0.4 3.4: /memory, unit address = first reg address.
    let n = f.begin_node(&format!("memory@{:x}", cfg.ram_base.raw()))?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &reg(cfg.ram_base.raw(), cfg.ram_size))?;
    f.end_node(n)?;

    // DT spec v0.4 3.7/3.8 and Linux bindings arm/cpus.yaml: `reg` is MPIDR_EL1 bits 23:0
    // with one address cell, or bits 39:32 and 23:0 with two (needed only if Aff3 != 0).
    let mpidrs: Vec<u64> = (0..cfg.num_cpus).map(virt_mpidr).collect();
    let two_cells = mpidrs.iter().any(|m| m >> 32 != 0);
    let cpus = f.begin_node("cpus")?;
    f.property_u32("#address-cells", if two_cells { 2 } else { 1 })?;
    f.property_u32("#size-cells", 0)?;
    for &m in &mpidrs {
        let n = f.begin_node(&format!("cpu@{m:x}"))?;
        f.property_string("device_type", "cpu")?;
        f.property_string("compatible", &cfg.cpu_compatible)?;
        if cfg.psci_conduit.is_some() {
            f.property_string("enable-method", "psci")?;
        }
        if two_cells {
            f.property_u64("reg", m)?;
        } else {
            f.property_u32("reg", m as u32)?;
        }
        f.end_node(n)?;
    }
    f.end_node(cpus)?;

    // Linux bindings timer/arm,arch_timer.yaml: interrupts in the order secure physical,
    // non-secure physical, virtual, hypervisor physical; QEMU virt reports them
    // level-triggered (active high) for machine versions after 2.8.
    let n = f.begin_node("timer")?;
    f.property_string_list("compatible", strs(&["arm,armv8-timer", "arm,armv7-timer"]))?;
    f.property_null("always-on")?;
    let mut irqs = Vec::new();
    for ppi in [TIMER_SEC_EL1_PPI, TIMER_NS_EL1_PPI, TIMER_VIRT_PPI, TIMER_NS_EL2_PPI] {
        irqs.extend([GIC_PPI, ppi, IRQ_LEVEL_HIGH]);
    }
    f.property_array_u32("interrupts", &irqs)?;
    f.end_node(n)?;

    // Linux bindings arm/pmu.yaml: the PMUv3 of every CPU and its overflow PPI (the CPU
    // model's PMUIRQ, wired by the virt board).
    let n = f.begin_node("pmu")?;
    f.property_string("compatible", "arm,armv8-pmuv3")?;
    f.property_array_u32("interrupts", &[GIC_PPI, PMU_PPI, IRQ_LEVEL_HIGH])?;
    f.end_node(n)?;

    // Linux bindings interrupt-controller/arm,gic-v3.yaml: reg = distributor, then one
    // redistributor region (here exactly one 128 KiB redistributor per CPU).
    let n = f.begin_node(&format!("intc@{GIC_DIST_BASE:x}"))?;
    f.property_string("compatible", "arm,gic-v3")?;
    f.property_u32("#interrupt-cells", 3)?;
    f.property_null("interrupt-controller")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_null("ranges")?;
    f.property_u32("#redistributor-regions", 1)?;
    let redist_size = u64::from(cfg.num_cpus) * GIC_REDIST_STRIDE;
    f.property_array_u64("reg", &[GIC_DIST_BASE, GIC_DIST_SIZE, GIC_REDIST_BASE, redist_size])?;
    f.property_phandle(GIC_PHANDLE)?;
    f.end_node(n)?;

    // Linux bindings clock/fixed-clock.yaml.
    let n = f.begin_node("apb-pclk")?;
    f.property_string("compatible", "fixed-clock")?;
    f.property_u32("#clock-cells", 0)?;
    f.property_u32("clock-frequency", APB_CLOCK_HZ)?;
    f.property_string("clock-output-names", "clk24mhz")?;
    f.property_phandle(CLOCK_PHANDLE)?;
    f.end_node(n)?;

    // Linux bindings serial/arm,pl011.yaml: clocks "uartclk" (baud) and "apb_pclk"
    // (arm,primecell.yaml), both the fixed APB clock as on QEMU virt.
    let n = f.begin_node(&UART_PATH[1..])?;
    f.property_string_list("compatible", strs(&["arm,pl011", "arm,primecell"]))?;
    f.property_array_u64("reg", &reg(UART_BASE, UART_SIZE))?;
    f.property_array_u32("interrupts", &[GIC_SPI, UART_SPI, IRQ_LEVEL_HIGH])?;
    f.property_array_u32("clocks", &[CLOCK_PHANDLE, CLOCK_PHANDLE])?;
    f.property_string_list("clock-names", strs(&["uartclk", "apb_pclk"]))?;
    f.end_node(n)?;

    // Linux bindings rtc/arm,pl031 (a PrimeCell: arm,primecell.yaml "apb_pclk").
    let n = f.begin_node(&format!("pl031@{RTC_BASE:x}"))?;
    f.property_string_list("compatible", strs(&["arm,pl031", "arm,primecell"]))?;
    f.property_array_u64("reg", &reg(RTC_BASE, RTC_SIZE))?;
    f.property_array_u32("interrupts", &[GIC_SPI, RTC_SPI, IRQ_LEVEL_HIGH])?;
    f.property_u32("clocks", CLOCK_PHANDLE)?;
    f.property_string("clock-names", "apb_pclk")?;
    f.end_node(n)?;

    // Linux bindings virtio/mmio.yaml; QEMU virt marks the transports' interrupts
    // rising-edge and the transports DMA-coherent (DT spec v0.4 2.3.10).
    for i in 0..cfg.virtio_mmio_count {
        let base = VIRTIO_MMIO_BASE + u64::from(i) * VIRTIO_MMIO_SIZE;
        let n = f.begin_node(&format!("virtio_mmio@{base:x}"))?;
        f.property_string("compatible", "virtio,mmio")?;
        f.property_array_u64("reg", &reg(base, VIRTIO_MMIO_SIZE))?;
        f.property_array_u32("interrupts", &[GIC_SPI, VIRTIO_MMIO_FIRST_SPI + i, IRQ_EDGE_RISING])?;
        f.property_null("dma-coherent")?;
        f.end_node(n)?;
    }

    // DT spec v0.4 3.6 (bootargs, stdout-path); Linux bindings chosen.yaml: the initrd
    // range as 64-bit values, end exclusive.
    let n = f.begin_node("chosen")?;
    if !cfg.bootargs.is_empty() {
        f.property_string("bootargs", &cfg.bootargs)?;
    }
    f.property_string("stdout-path", UART_PATH)?;
    if let Some((start, end)) = cfg.initrd {
        f.property_u64("linux,initrd-start", start.raw())?;
        f.property_u64("linux,initrd-end", end.raw())?;
    }
    f.end_node(n)?;

    // DT spec v0.4 3.3.
    let n = f.begin_node("aliases")?;
    f.property_string("serial0", UART_PATH)?;
    f.end_node(n)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64::testfdt::parse;

    fn cells64(v: &[u64]) -> Vec<u32> {
        v.iter().flat_map(|x| [(x >> 32) as u32, *x as u32]).collect()
    }

    #[test]
    fn full_tree() {
        let mut cfg = VirtFdtConfig::new(0x1000_0000, 4);
        cfg.bootargs = "console=ttyAMA0 earlycon".into();
        cfg.initrd = Some((GuestPhys(0x4800_0000), GuestPhys(0x4800_1234)));
        let blob = build_virt_fdt(&cfg).unwrap();
        let t = parse(&blob);
        assert_eq!(t.totalsize as usize, blob.len());
        assert_eq!((t.version, t.last_comp_version, t.boot_cpuid_phys), (17, 16, 0));
        assert!(t.reservations.is_empty());

        // Root.
        assert_eq!(t.string("/", "compatible"), "linux,dummy-virt");
        assert_eq!(t.string("/", "model"), "linux,dummy-virt");
        assert_eq!(t.u32("/", "#address-cells"), 2);
        assert_eq!(t.u32("/", "#size-cells"), 2);
        assert_eq!(t.u32("/", "interrupt-parent"), t.u32("/intc@8000000", "phandle"));

        // PSCI.
        assert_eq!(t.strings("/psci", "compatible"), ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]);
        assert_eq!(t.string("/psci", "method"), "hvc");
        assert_eq!(t.u32("/psci", "cpu_on"), 0xc400_0003);
        assert_eq!(t.u32("/psci", "cpu_off"), 0x8400_0002);
        assert_eq!(t.u32("/psci", "cpu_suspend"), 0xc400_0001);
        assert_eq!(t.prop("/psci", "migrate"), None);

        // Memory.
        assert_eq!(t.string("/memory@40000000", "device_type"), "memory");
        assert_eq!(t.cells("/memory@40000000", "reg"), cells64(&[0x4000_0000, 0x1000_0000]));

        // CPUs.
        assert_eq!(t.u32("/cpus", "#address-cells"), 1);
        assert_eq!(t.u32("/cpus", "#size-cells"), 0);
        let cpus = t.children("/cpus", "cpu@");
        assert_eq!(cpus, ["/cpus/cpu@0", "/cpus/cpu@1", "/cpus/cpu@2", "/cpus/cpu@3"]);
        for (i, c) in cpus.iter().enumerate() {
            assert_eq!(t.string(c, "device_type"), "cpu");
            assert_eq!(t.string(c, "compatible"), "arm,armv8");
            assert_eq!(t.string(c, "enable-method"), "psci");
            assert_eq!(t.u32(c, "reg"), i as u32);
        }

        // Timer: PPIs 13, 14, 11, 10, level-high.
        assert_eq!(t.strings("/timer", "compatible"), ["arm,armv8-timer", "arm,armv7-timer"]);
        assert_eq!(t.prop("/timer", "always-on"), Some(&[][..]));
        assert_eq!(t.cells("/timer", "interrupts"), [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
        // PMU: PPI 7 (INTID 23), level-high.
        assert_eq!(t.string("/pmu", "compatible"), "arm,armv8-pmuv3");
        assert_eq!(t.cells("/pmu", "interrupts"), [1, 7, 4]);

        // GIC.
        let gic = "/intc@8000000";
        assert_eq!(t.string(gic, "compatible"), "arm,gic-v3");
        assert_eq!(t.u32(gic, "#interrupt-cells"), 3);
        assert_eq!(t.prop(gic, "interrupt-controller"), Some(&[][..]));
        assert_eq!(t.prop(gic, "ranges"), Some(&[][..]));
        assert_eq!(t.u32(gic, "#redistributor-regions"), 1);
        assert_eq!(t.cells(gic, "reg"), cells64(&[0x0800_0000, 0x1_0000, 0x080a_0000, 4 * 0x2_0000]));

        // Clock, UART, RTC.
        let clk = t.u32("/apb-pclk", "phandle");
        assert_ne!(clk, t.u32(gic, "phandle"));
        assert_eq!(t.string("/apb-pclk", "compatible"), "fixed-clock");
        assert_eq!(t.u32("/apb-pclk", "clock-frequency"), 24_000_000);
        assert_eq!(t.u32("/apb-pclk", "#clock-cells"), 0);
        let uart = "/pl011@9000000";
        assert_eq!(t.strings(uart, "compatible"), ["arm,pl011", "arm,primecell"]);
        assert_eq!(t.cells(uart, "reg"), cells64(&[0x0900_0000, 0x1000]));
        assert_eq!(t.cells(uart, "interrupts"), [0, 1, 4]);
        assert_eq!(t.cells(uart, "clocks"), [clk, clk]);
        assert_eq!(t.strings(uart, "clock-names"), ["uartclk", "apb_pclk"]);
        let rtc = "/pl031@9010000";
        assert_eq!(t.strings(rtc, "compatible"), ["arm,pl031", "arm,primecell"]);
        assert_eq!(t.cells(rtc, "reg"), cells64(&[0x0901_0000, 0x1000]));
        assert_eq!(t.cells(rtc, "interrupts"), [0, 2, 4]);
        assert_eq!(t.cells(rtc, "clocks"), [clk]);
        assert_eq!(t.string(rtc, "clock-names"), "apb_pclk");

        // virtio-mmio: 32 transports, lowest address first, SPI 16 + n, rising edge.
        let v = t.children("/", "virtio_mmio@");
        assert_eq!(v.len(), 32);
        for (i, node) in v.iter().enumerate() {
            let base = 0x0a00_0000 + 0x200 * i as u64;
            assert_eq!(node, &format!("/virtio_mmio@{base:x}"));
            assert_eq!(t.string(node, "compatible"), "virtio,mmio");
            assert_eq!(t.cells(node, "reg"), cells64(&[base, 0x200]));
            assert_eq!(t.cells(node, "interrupts"), [0, 16 + i as u32, 1]);
            assert_eq!(t.prop(node, "dma-coherent"), Some(&[][..]));
        }

        // Chosen and aliases.
        assert_eq!(t.string("/chosen", "bootargs"), "console=ttyAMA0 earlycon");
        assert_eq!(t.string("/chosen", "stdout-path"), "/pl011@9000000");
        assert_eq!(t.u64("/chosen", "linux,initrd-start"), 0x4800_0000);
        assert_eq!(t.u64("/chosen", "linux,initrd-end"), 0x4800_1234);
        assert_eq!(t.string("/aliases", "serial0"), "/pl011@9000000");
        assert!(t.has(&t.string("/aliases", "serial0")));
    }

    #[test]
    fn variations() {
        // 17 CPUs: CPU 16 is Aff1 = 1; SMC conduit; no virtio; no bootargs or initrd.
        let mut cfg = VirtFdtConfig::new(0x800_0000, 17);
        cfg.psci_conduit = Some(PsciConduit::Smc);
        cfg.virtio_mmio_count = 0;
        cfg.cpu_compatible = "arm,cortex-a57".into();
        let t = parse(&build_virt_fdt(&cfg).unwrap());
        assert_eq!(t.string("/psci", "method"), "smc");
        let cpus = t.children("/cpus", "cpu@");
        assert_eq!(cpus.len(), 17);
        assert_eq!(cpus[15], "/cpus/cpu@f");
        assert_eq!(cpus[16], "/cpus/cpu@100");
        assert_eq!(t.u32("/cpus/cpu@100", "reg"), 0x100);
        assert_eq!(t.string("/cpus/cpu@100", "compatible"), "arm,cortex-a57");
        assert_eq!(t.cells("/intc@8000000", "reg")[7], 17 * 0x2_0000);
        assert!(t.children("/", "virtio_mmio").is_empty());
        assert_eq!(t.names("/chosen"), ["stdout-path"]);

        // No PSCI: no node and no enable-method.
        cfg.psci_conduit = None;
        let t = parse(&build_virt_fdt(&cfg).unwrap());
        assert!(!t.has("/psci"));
        assert_eq!(t.prop("/cpus/cpu@0", "enable-method"), None);

        // The maximum machine still builds.
        let mut cfg = VirtFdtConfig::new(0x8000_0000, MAX_CPUS);
        cfg.ram_base = GuestPhys(0x1_0000_0000);
        let t = parse(&build_virt_fdt(&cfg).unwrap());
        assert_eq!(t.children("/cpus", "cpu@").len(), 123);
        assert_eq!(t.cells("/memory@100000000", "reg"), cells64(&[0x1_0000_0000, 0x8000_0000]));
    }

    #[test]
    fn bad_configs_are_errors() {
        let ok = VirtFdtConfig::new(0x1000_0000, 1);
        let bad = |f: &dyn Fn(&mut VirtFdtConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            build_virt_fdt(&c).unwrap_err()
        };
        assert!(matches!(bad(&|c| c.num_cpus = 0), LoadError::InvalidConfig(m) if m.contains("1 to 123")));
        assert!(matches!(bad(&|c| c.num_cpus = 124), LoadError::InvalidConfig(_)));
        assert!(matches!(bad(&|c| c.virtio_mmio_count = 33), LoadError::InvalidConfig(_)));
        assert!(matches!(bad(&|c| c.ram_size = 0), LoadError::InvalidConfig(_)));
        assert!(matches!(bad(&|c| c.ram_size = u64::MAX), LoadError::InvalidConfig(_)));
        assert!(matches!(bad(&|c| c.ram_base = GuestPhys(0x0900_0000)), LoadError::InvalidConfig(_)));
        assert!(matches!(
            bad(&|c| c.initrd = Some((GuestPhys(0x5000_0000), GuestPhys(0x4000_0000)))),
            LoadError::InvalidConfig(_)
        ));
        assert!(matches!(bad(&|c| c.bootargs = "a\0b".into()), LoadError::NulInString { .. }));
        assert!(matches!(bad(&|c| c.cpu_compatible = "\0".into()), LoadError::NulInString { .. }));
    }
}
