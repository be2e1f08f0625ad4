//! The command line on bad host input: a clear message naming the problem, a non-zero exit
//! status, never a panic. Also the documented statuses of a good run.

use std::process::Command;

fn chimera(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_chimera")).args(args).output().expect("runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn tmp(name: &str, data: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("chimera-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.to_string_lossy().into_owned()
}

/// A minimal ELF64 x86-64 executable with one PT_LOAD of `code` at `paddr`.
fn elf64(paddr: u64, code: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 0x78];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // 64-bit
    f[5] = 1; // little endian
    f[6] = 1;
    f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&paddr.to_le_bytes()); // entry
    f[32..40].copy_from_slice(&0x40u64.to_le_bytes()); // phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&1u16.to_le_bytes());
    let ph = 0x40;
    f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    f[ph + 4..ph + 8].copy_from_slice(&5u32.to_le_bytes());
    f[ph + 8..ph + 16].copy_from_slice(&0x78u64.to_le_bytes()); // offset
    f[ph + 16..ph + 24].copy_from_slice(&paddr.to_le_bytes());
    f[ph + 24..ph + 32].copy_from_slice(&paddr.to_le_bytes());
    f[ph + 32..ph + 40].copy_from_slice(&(code.len() as u64).to_le_bytes());
    f[ph + 40..ph + 48].copy_from_slice(&(code.len() as u64).to_le_bytes());
    f.extend_from_slice(code);
    f
}

fn assert_clean_error(args: &[&str], status: i32, needle: &str) {
    let (code, _, err) = chimera(args);
    assert_eq!(code, status, "args {args:?}: stderr {err}");
    assert!(err.contains(needle), "args {args:?}: `{needle}` not in stderr: {err}");
    assert!(!err.contains("panicked"), "args {args:?} panicked: {err}");
}

#[test]
fn missing_kernel_file() {
    assert_clean_error(
        &["run", "/nonexistent/kernel.elf"],
        12,
        "cannot read kernel `/nonexistent/kernel.elf`",
    );
}

#[test]
fn not_an_elf() {
    let p = tmp("junk.bin", b"this is not a kernel at all");
    assert_clean_error(&["run", &p], 12, "not an ELF file and no Multiboot header");
}

#[test]
fn truncated_elf() {
    let full = elf64(0x10_0000, &[0xf4]);
    let p = tmp("trunc.elf", &full[..0x50]);
    assert_clean_error(&["run", &p], 12, "cannot load the kernel");
}

#[test]
fn image_beyond_ram() {
    let p = tmp("high.elf", &elf64(0x2000_0000, &[0xf4]));
    let (code, _, err) = chimera(&["run", "-m", "64M", &p]);
    assert_eq!(code, 12, "{err}");
    assert!(err.contains("cannot load the kernel") && err.contains("0x20000000"), "{err}");
}

#[test]
fn image_overlapping_mmio() {
    // 0xFEC00000 is the IOAPIC: the loader must name the device it would overwrite.
    let p = tmp("mmio.elf", &elf64(0xfec0_0000, &[0xf4]));
    let (code, _, err) = chimera(&["run", &p]);
    assert_eq!(code, 12, "{err}");
    assert!(err.to_lowercase().contains("ioapic"), "{err}");
}

#[test]
fn bad_option_values() {
    let k = format!("{}/examples/guests/x86/bin/hello.elf", env!("CARGO_MANIFEST_DIR"));
    assert_clean_error(&["run", "-m", "lots", &k], 12, "--memory: `lots` is not a size");
    assert_clean_error(&["run", "-m", "1M", &k], 12, "at least 2 MiB");
    assert_clean_error(&["run", "--smp", "0", &k], 12, "--smp 0 must be between 1 and 255");
    assert_clean_error(&["run", "--cpu", "pentium", &k], 12, "unknown CPU model `pentium`");
    assert_clean_error(&["run", "--cpu", "max,+avx512f", &k], 12, "unknown CPU feature `avx512f`");
    assert_clean_error(&["run", "--cpu", "max,bmi1", &k], 12, "must start with + or -");
    assert_clean_error(&["run", "--serial", "tty", &k], 12, "--serial `tty` must be stdio");
    assert_clean_error(&["run", "--device", "vga", &k], 12, "unknown device `vga`");
    assert_clean_error(&["run", "-M", "q35", &k], 12, "unknown machine `q35`");
    assert_clean_error(&["run", "--module", "/nonexistent/mod", &k], 12, "cannot read module");
    assert_clean_error(&["run", "--stats", "/nonexistent/dir/s.json", &k], 12, "cannot write stats");
    // clap's own usage errors use status 2.
    let (code, _, err) = chimera(&["run", "--smp", "two", &k]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn statuses_of_good_runs() {
    let bin = |n: &str| format!("{}/examples/guests/x86/bin/{n}.elf", env!("CARGO_MANIFEST_DIR"));
    // Debug exit with value 0 -> status 1, and the serial output on stdout.
    let (code, out, _) = chimera(&["run", &bin("hello")]);
    assert_eq!(code, 1);
    assert!(out.contains("Hello from chimera guest"));
    // The demo powers off: status 0.
    let (code, out, _) = chimera(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chimera demo guest"));
    // Instruction limit: status 6 with a reason.
    let (code, _, err) = chimera(&["run", "--max-insns", "1000", &bin("interrupts")]);
    assert_eq!(code, 6);
    assert!(err.contains("limit reached after 1000 instructions"), "{err}");
    // A guest that halts with interrupts off forever: status 8.
    let p = tmp("hang.elf", &elf64(0x10_0000, &[0xfa, 0xf4])); // cli; hlt
    let (code, _, err) = chimera(&["run", &p]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("guest hung"), "{err}");
    // A triple fault: status 4 with a register dump.
    let p = tmp("tf.elf", &elf64(0x10_0000, &[0x0f, 0x0b])); // ud2 with no IDT
    let (code, _, err) = chimera(&["run", &p]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("triple fault") && err.contains("rip="), "{err}");
}

#[test]
fn stats_json_and_trace() {
    let k = format!("{}/examples/guests/x86/bin/hello.elf", env!("CARGO_MANIFEST_DIR"));
    let stats = tmp("stats.json", b"");
    let trace = tmp("trace.txt", b"");
    let (code, _, err) = chimera(&["run", "--serial", "none", "--stats", &stats, "--trace", &trace, &k]);
    assert_eq!(code, 1, "{err}");
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(j["exit_status"], 1);
    assert!(j["instructions"].as_u64().unwrap() > 100);
    assert!(j["mips"].as_f64().is_some());
    assert_eq!(j["cpus"][0]["instructions"], j["instructions"]);
    let t = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<_> = t.lines().collect();
    assert_eq!(lines.len() as u64, j["instructions"].as_u64().unwrap(), "one trace line per instruction");
    // The first instruction of the hello guest is `cli` at the multiboot entry.
    assert!(lines[0].contains(": fa ") && lines[0].contains("cli"), "{}", lines[0]);
    assert!(t.contains("out dx, al") || t.contains("out"), "no OUT traced");
}

#[test]
fn virt_trace_has_one_line_per_instruction() {
    let k = format!("{}/examples/guests/arm64/bin/hello.elf", env!("CARGO_MANIFEST_DIR"));
    let stats = tmp("a64stats.json", b"");
    let trace = tmp("a64trace.txt", b"");
    let (code, _, err) =
        chimera(&["run", "-M", "virt", "--serial", "none", "--stats", &stats, "--trace", &trace, &k]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let t = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<_> = t.lines().collect();
    assert_eq!(lines.len() as u64, j["instructions"].as_u64().unwrap(), "one trace line per instruction");
    // hello.S starts with `msr daifset, #0xf` at the ELF entry 0x40080000.
    assert!(lines[0].starts_with("0 0000000040080000: df4f03d5"), "{}", lines[0]);
    assert!(lines[0].contains("msr daifset, #0xf"), "{}", lines[0]);
    assert!(!t.contains("(undecodable)"));
}

/// A raw AArch64 image (loaded at RAM + 0x80000, entered at EL1): `mov w0, #0x20;
/// adr x1, blk; hlt #0xf000; b .; blk: .quad 0x20026, 42` -- semihosting
/// SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit and subcode 42.
fn semihost_exit42() -> Vec<u8> {
    [0x5280_0400u32, 0x1000_0061, 0xd45e_0000, 0x1400_0000, 0x0002_0026, 0, 42, 0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

#[test]
fn semihosting_exit_status_propagates() {
    let p = tmp("exit42.bin", &semihost_exit42());
    let (code, _, err) = chimera(&["run", "-M", "virt", "--semihosting", &p]);
    assert_eq!(code, 42, "{err}");
    let g = format!("{}/examples/guests/arm64/bin/semihost.elf", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = chimera(&["run", "-M", "virt", "--semihosting", &g]);
    assert_eq!(code, 3, "{err}");
    assert!(
        out.contains("semihosting SYS_WRITE0 works\n") && out.contains("DONE 11 passed, 0 failed"),
        "{out}"
    );
    // Without the option HLT #0xF000 is UNDEFINED: the guest reports the exception and
    // powers off through PSCI.
    let (code, out, _) = chimera(&["run", "-M", "virt", &g]);
    assert_eq!(code, 0);
    assert!(out.contains("FAIL: unexpected exception"), "{out}");
    let k = format!("{}/examples/guests/x86/bin/hello.elf", env!("CARGO_MANIFEST_DIR"));
    assert_clean_error(&["run", "--semihosting", &k], 12, "--semihosting is an Arm feature");
}

#[test]
fn el3_firmware_image() {
    let fw = format!("{}/examples/guests/arm64/bin/el3fw.bin", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = chimera(&["run", "-M", "virt,secure=on", "--semihosting", "--bios", &fw]);
    assert_eq!(code, 0, "{err}");
    let exp = std::fs::read_to_string(format!(
        "{}/examples/guests/arm64/expected/el3fw.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(out, exp, "output differs from QEMU's (-M virt,secure=on -semihosting -bios)");
    // --firmware is the same option.
    let (code, out, _) = chimera(&["run", "-M", "virt,secure=on", "--semihosting", "--firmware", &fw]);
    assert_eq!((code, out.lines().next()), (0, Some("firmware at EL3")));
    // virtualization=on alone: the firmware starts at EL2, then stops at its ERET's target
    // (it does not print "firmware at EL3"); the limit ends the run.
    let (code, out, _) =
        chimera(&["run", "-M", "virt,virtualization=on", "--max-insns", "100000", "--bios", &fw]);
    assert!(out.starts_with("firmware at EL2\n"), "{out} (status {code})");
}

#[test]
fn virt_option_errors() {
    let k = format!("{}/examples/guests/arm64/bin/hello.elf", env!("CARGO_MANIFEST_DIR"));
    let fw = format!("{}/examples/guests/arm64/bin/el3fw.bin", env!("CARGO_MANIFEST_DIR"));
    assert_clean_error(&["run", "-M", "virt,secure=on", &k], 12, "needs a firmware image there");
    assert_clean_error(&["run", "-M", "virt,gic-version=2", &k], 12, "only gic-version=3");
    assert_clean_error(&["run", "-M", "virt,its=off", &k], 12, "unknown option `its`");
    assert_clean_error(&["run", "-M", "virt,secure=maybe", &k], 12, "must be on or off");
    assert_clean_error(&["run", "-M", "pc,secure=on", &k], 12, "the pc board takes no machine options");
    assert_clean_error(
        &["run", "-M", "virt", "--bios", "/nonexistent/fw.bin"],
        12,
        "cannot read firmware image",
    );
    assert_clean_error(&["run", "-M", "virt", "--bios", &fw, &k], 12, "cannot be combined with a kernel");
    assert_clean_error(&["run", "-M", "virt", "--bios", &k], 12, "not an ELF file");
    assert_clean_error(
        &["run", "-M", "virt", "--bios", &tmp("empty.bin", b"")],
        12,
        "firmware image is empty",
    );
    assert_clean_error(&["run", "--bios", &fw], 12, "--bios is for the virt board");
    assert_clean_error(&["run", "-M", "virt"], 12, "no kernel image given");
    assert_clean_error(&["run", "-M", "virt", "--device", "virtio-gpu", &k], 12, "available: virtio-console");
    assert_clean_error(
        &["run", "-M", "virt", "--device", "virtio-console", "--device", "virtio-console", &k],
        12,
        "given twice",
    );
}
