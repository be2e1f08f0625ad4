//! The `chimera` command line.

use chimera::machine::pc::{parse_size, BootImage, PcConfig, PcMachine, SerialOut};
use chimera::machine::virt::{VirtConfig, VirtMachine};
use chimera::ExitKind;
use clap::{Args, Parser, Subcommand};
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

/// The built-in demo guest (source: examples/guests/x86/demo.asm).
static DEMO: &[u8] = include_bytes!("../examples/guests/x86/bin/demo.elf");

/// Host-side failure (bad image, bad option, I/O): documented exit status.
const EXIT_HOST_ERROR: u8 = 12;

#[derive(Parser)]
#[command(name = "chimera", version, about = "chimera: a cycle-approximate full-system emulator (x86-64 `pc`, AArch64 `virt`)", long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Boot an image: on `pc` Multiboot v1 or plain ELF64; on `virt` an AArch64 ELF, Linux Image or raw binary.
    Run(RunArgs),
    /// Run the built-in demo guest (the default when no command is given).
    Demo(CommonArgs),
    /// List CPU models and the features that can be switched with --cpu MODEL,+feat,-feat.
    Cpus,
}

#[derive(Args, Clone)]
struct CommonArgs {
    /// Machine board: `pc` (x86-64) or `virt` (AArch64), with options for virt:
    /// `virt,secure=on,virtualization=on`.
    #[arg(short = 'M', long, default_value = "pc")]
    machine: String,
    /// Number of vCPUs.
    #[arg(long, default_value_t = 1)]
    smp: u32,
    /// RAM size (e.g. 128M, 2G).
    #[arg(short, long, default_value = "128M")]
    memory: String,
    /// CPU model and feature overrides, e.g. `max`, `base,+la57,-smep`.
    #[arg(long, default_value = "max")]
    cpu: String,
    /// Extra device (repeatable): `pc-testdev` (pc), `virtio-console` (virt).
    #[arg(long = "device")]
    devices: Vec<String>,
    /// Where COM1 goes: `stdio`, `none` or `file:PATH`.
    #[arg(long, default_value = "stdio")]
    serial: String,
    /// Stop after this many guest instructions (exit status 6).
    #[arg(long)]
    max_insns: Option<u64>,
    /// Stop after this much virtual time in milliseconds (exit status 6).
    #[arg(long)]
    max_time_ms: Option<u64>,
    /// Write statistics as JSON to this file (`-` for stderr).
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Write an instruction trace (capstone disassembly) to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// virt: Arm semihosting: HLT #0xF000 calls the emulator (console output, exit status).
    #[arg(long)]
    semihosting: bool,
}

#[derive(Args)]
struct RunArgs {
    /// The kernel image (optional on virt with --bios).
    kernel: Option<PathBuf>,
    /// virt: a raw firmware image loaded at 0x0 and entered there, at EL3 with
    /// `-M virt,secure=on`, EL2 with `virtualization=on`, else EL1 (QEMU -bios).
    #[arg(long, visible_alias = "firmware", value_name = "FILE")]
    bios: Option<PathBuf>,
    /// Kernel command line.
    #[arg(long, default_value = "")]
    append: String,
    /// An initrd, passed as the first Multiboot module.
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// A Multiboot module `FILE[,CMDLINE]` (repeatable).
    #[arg(long = "module")]
    modules: Vec<String>,
    #[command(flatten)]
    common: CommonArgs,
}

fn read_file(p: &PathBuf, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("cannot read {what} `{}`: {e}", p.display()))
}

fn serial_out(c: &CommonArgs) -> Result<SerialOut, String> {
    Ok(match c.serial.as_str() {
        "stdio" => SerialOut::Stdout,
        "none" => SerialOut::Null,
        s if s.starts_with("file:") && s.len() > 5 => SerialOut::File(PathBuf::from(&s[5..])),
        s => return Err(format!("--serial `{s}` must be stdio, none or file:PATH")),
    })
}

fn config(c: &CommonArgs) -> Result<PcConfig, String> {
    if c.machine != "pc" {
        if c.machine.starts_with("pc,") {
            return Err(format!("-M `{}`: the pc board takes no machine options", c.machine));
        }
        return Err(format!("unknown machine `{}` (available: pc, virt)", c.machine));
    }
    if c.semihosting {
        return Err("--semihosting is an Arm feature: use it with -M virt".into());
    }
    let mut parts = c.cpu.split(',');
    let model = parts.next().unwrap_or("max").to_string();
    let feats: Vec<String> = parts.map(str::to_string).collect();
    let serial = serial_out(c)?;
    let mut testdev = false;
    for d in &c.devices {
        match d.as_str() {
            "pc-testdev" => testdev = true,
            other => return Err(format!("unknown device `{other}` (available: pc-testdev)")),
        }
    }
    Ok(PcConfig {
        ram_size: parse_size(&c.memory).map_err(|e| format!("--memory: {e}"))?,
        cpus: c.smp,
        cpu_model: model,
        cpu_features: feats,
        testdev,
        serial,
        ..PcConfig::default()
    })
}

/// The board name of `-M NAME[,OPTIONS]`.
fn machine_name(c: &CommonArgs) -> &str {
    c.machine.split(',').next().unwrap_or("")
}

/// `-M virt,secure=on,virtualization=off`: (secure, virtualization).
fn virt_options(c: &CommonArgs) -> Result<(bool, bool), String> {
    let (mut secure, mut virtualization) = (false, false);
    for opt in c.machine.split(',').skip(1) {
        let (k, v) = opt.split_once('=').unwrap_or((opt, "on"));
        let flag = match k {
            "secure" => &mut secure,
            "virtualization" => &mut virtualization,
            // The board has a GICv3; accept QEMU's spelling of it.
            "gic-version" if v == "3" => continue,
            "gic-version" => return Err(format!("-M virt: `{opt}`: only gic-version=3 (GICv3) is modelled")),
            _ => {
                return Err(format!(
                    "-M virt: unknown option `{k}` (available: secure, virtualization, gic-version=3)"
                ))
            }
        };
        *flag = match v {
            "on" | "true" | "yes" => true,
            "off" | "false" | "no" => false,
            _ => return Err(format!("-M virt: `{opt}`: the value must be on or off")),
        };
    }
    Ok((secure, virtualization))
}

/// Runs an AArch64 image on the `virt` board.
fn run_virt(common: &CommonArgs, img: BootImage, bios: Option<Vec<u8>>) -> Result<ExitKind, String> {
    let (secure, virtualization) = virt_options(common)?;
    if secure && bios.is_none() {
        return Err(
            "-M virt,secure=on starts at EL3 and needs a firmware image there: give --bios FILE".into()
        );
    }
    if bios.is_some() && (!img.kernel.is_empty() || img.initrd.is_some() || !img.cmdline.is_empty()) {
        return Err("--bios cannot be combined with a kernel, --initrd or --append on virt \
                    (there is no fw_cfg to hand them to the firmware)"
            .into());
    }
    if common.cpu != "max" {
        return Err(format!("--cpu `{}`: the virt board has one CPU model, `max`", common.cpu));
    }
    let mut virtio_console = false;
    for d in &common.devices {
        match d.as_str() {
            "virtio-console" if !virtio_console => virtio_console = true,
            "virtio-console" => {
                return Err("--device virtio-console given twice (the virt board has one)".into())
            }
            other => {
                return Err(format!(
                    "unknown device `{other}` for the virt board (available: virtio-console)"
                ))
            }
        }
    }
    let cfg = VirtConfig {
        ram_size: parse_size(&common.memory).map_err(|e| format!("--memory: {e}"))?,
        cpus: common.smp,
        serial: serial_out(common)?,
        virtio_console,
        semihosting: common.semihosting,
        secure,
        virtualization,
        bios: bios.clone(),
        ..VirtConfig::default()
    };
    let mut m = VirtMachine::new(cfg).map_err(|e| e.to_string())?;
    if bios.is_some() {
        m.load_firmware().map_err(|e| format!("cannot load the firmware: {e}"))?;
    } else {
        m.load(&img).map_err(|e| format!("cannot load the kernel: {e}"))?;
    }
    if let Some(t) = &common.trace {
        let out = trace_writer(t)?;
        for (i, c) in m.cpus.iter_mut().enumerate() {
            chimera::trace::install_arm64(c, i, out.clone())?;
        }
    }
    let max_cycles = common.max_time_ms.map(|ms| ms.saturating_mul(1_000_000));
    let out = m.run(common.max_insns, max_cycles);
    for c in m.cpus.iter_mut() {
        c.trace = None; // flushes the trace writer
    }
    write_stats(common, &m.stats_json(&out))?;
    report(&out);
    Ok(out.exit)
}

/// The buffered trace file `path`, shared by the CPUs' trace hooks.
fn trace_writer(path: &std::path::Path) -> Result<Rc<RefCell<dyn std::io::Write>>, String> {
    let f = std::fs::File::create(path)
        .map_err(|e| format!("cannot create trace file `{}`: {e}", path.display()))?;
    Ok(Rc::new(RefCell::new(std::io::BufWriter::new(f))))
}

fn write_stats(common: &CommonArgs, j: &serde_json::Value) -> Result<(), String> {
    if let Some(p) = &common.stats {
        let j = serde_json::to_string_pretty(j).unwrap_or_default();
        if p.as_os_str() == "-" {
            eprintln!("{j}");
        } else {
            std::fs::write(p, j + "\n").map_err(|e| format!("cannot write stats `{}`: {e}", p.display()))?;
        }
    }
    Ok(())
}

fn report(out: &chimera::machine::RunOutcome) {
    match &out.exit {
        ExitKind::TripleFault(why) => eprintln!("chimera: guest triple fault, CPU shut down: {why}"),
        ExitKind::Limit => eprintln!("chimera: limit reached after {} instructions", out.instructions),
        ExitKind::Hang => eprintln!("chimera: guest hung: every CPU halted and no event can wake it"),
        ExitKind::Reset => eprintln!("chimera: guest requested a reset; stopping"),
        _ => {}
    }
}

fn run(common: &CommonArgs, img: BootImage, bios: Option<Vec<u8>>) -> Result<ExitKind, String> {
    if machine_name(common) == "virt" {
        return run_virt(common, img, bios);
    }
    if bios.is_some() {
        return Err("--bios is for the virt board (-M virt)".into());
    }
    let cfg = config(common)?;
    let mut m = PcMachine::new(cfg).map_err(|e| e.to_string())?;
    m.load(&img).map_err(|e| format!("cannot load the kernel: {e}"))?;
    if let Some(t) = &common.trace {
        let out = trace_writer(t)?;
        for (i, c) in m.cpus.iter_mut().enumerate() {
            chimera::trace::install(c, i, out.clone())?;
        }
    }
    let max_cycles = common.max_time_ms.map(|ms| ms.saturating_mul(1_000_000));
    let out = m.run(common.max_insns, max_cycles);
    for c in m.cpus.iter_mut() {
        c.trace = None; // flushes the trace writer
    }
    write_stats(common, &m.stats_json(&out))?;
    report(&out);
    Ok(out.exit)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Some(Cmd::Cpus) => {
            for (name, what) in cpu_x86::cpuid::MODELS {
                println!("{name:8} {what}");
            }
            let m = cpu_x86::CpuidModel::new("max", &[]).expect("max model");
            println!("features: {}", m.feature_names().join(" "));
            return ExitCode::SUCCESS;
        }
        Some(Cmd::Run(a)) => (|| {
            let bios = a.bios.as_ref().map(|p| read_file(p, "firmware image")).transpose()?;
            let kernel = match &a.kernel {
                Some(k) => read_file(k, "kernel")?,
                None if bios.is_some() => Vec::new(),
                None => {
                    return Err("no kernel image given (chimera run KERNEL; on virt also --bios FILE)".into())
                }
            };
            let mut modules = Vec::new();
            let mut initrd = None;
            if let Some(i) = &a.initrd {
                if machine_name(&a.common) == "virt" {
                    initrd = Some(read_file(i, "initrd")?);
                } else {
                    modules.push((read_file(i, "initrd")?, i.display().to_string()));
                }
            }
            for m in &a.modules {
                let (f, cmd) = m.split_once(',').unwrap_or((m.as_str(), m.as_str()));
                modules.push((read_file(&PathBuf::from(f), "module")?, cmd.to_string()));
            }
            run(&a.common, BootImage { kernel, cmdline: a.append.clone(), modules, initrd }, bios)
        })(),
        Some(Cmd::Demo(c)) => run(&c, BootImage { kernel: DEMO.to_vec(), ..Default::default() }, None),
        None => {
            let c = CommonArgs {
                machine: "pc".into(),
                smp: 2,
                memory: "256M".into(),
                cpu: "max".into(),
                devices: vec![],
                serial: "stdio".into(),
                max_insns: None,
                max_time_ms: Some(10_000),
                stats: None,
                trace: None,
                semihosting: false,
            };
            run(&c, BootImage { kernel: DEMO.to_vec(), ..Default::default() }, None)
        }
    };
    match res {
        Ok(e) => ExitCode::from(e.status() as u8),
        Err(msg) => {
            eprintln!("chimera: error: {msg}");
            ExitCode::from(EXIT_HOST_ERROR)
        }
    }
}
