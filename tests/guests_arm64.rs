//! Guest-level tests for the AArch64 `virt` board: boot the self-checking images under
//! `examples/guests/arm64/bin/` and assert on their serial output (compared with the output
//! recorded under `qemu-system-aarch64 -M virt,gic-version=3 -cpu max` in `examples/guests/arm64/expected/`),
//! exit status (PSCI SYSTEM_OFF: 0) and statistics.

use chimera::machine::pc::{BootImage, SerialOut};
use chimera::machine::virt::{VirtConfig, VirtMachine};
use chimera::ExitKind;
use std::cell::RefCell;
use std::rc::Rc;

fn file(dir: &str, name: &str) -> Vec<u8> {
    let p = format!("{}/examples/guests/arm64/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

struct Run {
    out: String,
    exit: ExitKind,
    instructions: u64,
    m: VirtMachine,
}

fn boot(name: &str, cpus: u32) -> Run {
    let buf = Rc::new(RefCell::new(Vec::new()));
    let cfg = VirtConfig { cpus, serial: SerialOut::Buffer(buf.clone()), ..VirtConfig::default() };
    let mut m = VirtMachine::new(cfg).expect("machine");
    m.load(&BootImage { kernel: file("bin", &format!("{name}.elf")), ..Default::default() }).expect("load");
    let r = m.run(Some(200_000_000), None);
    let out = String::from_utf8_lossy(&buf.borrow()).replace('\r', "");
    Run { out, exit: r.exit, instructions: r.instructions, m }
}

/// Runs `name` and requires exactly QEMU's output, no FAIL line, and power-off.
fn check(name: &str, cpus: u32) -> Run {
    let r = boot(name, cpus);
    assert!(!r.out.contains("FAIL"), "{name} failed:\n{}", r.out);
    let exp = String::from_utf8_lossy(&file("expected", &format!("{name}.txt"))).replace('\r', "");
    assert_eq!(r.out.trim_end(), exp.trim_end(), "{name}: output differs from QEMU's");
    assert_eq!(r.exit, ExitKind::PowerOff, "{name}: exit");
    r
}

#[test]
fn hello() {
    check("hello", 1);
}

#[test]
fn exceptions_and_vectors() {
    let r = check("exceptions", 1);
    let st = &r.m.cpus[0].stats;
    assert!(st.exceptions.iter().sum::<u64>() >= 10, "exceptions counted: {:?}", st.exceptions);
}

#[test]
fn mmu_translation_and_faults() {
    check("mmu", 1);
}

#[test]
fn psci_smp_bring_up() {
    let r = check_subset("psci_smp", 4);
    for (i, c) in r.m.cpus.iter().enumerate() {
        assert!(c.stats.instructions > 0, "CPU {i} never ran");
    }
}

#[test]
fn generic_timer_and_gic() {
    let r = check("timer", 1);
    assert!(r.m.cpus[0].stats.interrupts > 0, "no interrupt was taken");
}

/// For guests that skip checks of features chimera does not advertise yet (LSE atomics,
/// FEAT_LRCPC): no FAIL, 0 failed, power-off, and every line chimera prints that is not a skip
/// line appears in QEMU's output in the same order.
fn check_subset(name: &str, cpus: u32) -> Run {
    let r = boot(name, cpus);
    assert!(!r.out.contains("FAIL"), "{name} failed:\n{}", r.out);
    assert!(r.out.contains(", 0 failed"), "{name}: {}", r.out);
    assert_eq!(r.exit, ExitKind::PowerOff, "{name}: exit");
    let exp = String::from_utf8_lossy(&file("expected", &format!("{name}.txt"))).replace('\r', "");
    let mut qemu = exp.lines().filter(|l| !l.starts_with("DONE"));
    for line in r.out.lines().filter(|l| !l.contains("(skipped:") && !l.starts_with("DONE")) {
        assert!(qemu.any(|q| q == line), "{name}: `{line}` is not in QEMU's output (in order)");
    }
    r
}

#[test]
fn exclusives() {
    check_subset("atomics", 1);
}

#[test]
fn workloads_and_determinism() {
    let a = check("wl_loop", 1);
    let b = check("wl_samepage", 1);
    assert!(a.out.contains("sum=0x13d28418ea6e3a33"), "{}", a.out);
    // Same checksum whether the data shares the code page or not; stores to the code page
    // must not invalidate the loop's decoded code line.
    let sum = |o: &str| o.lines().find(|l| l.starts_with("sum=")).map(str::to_string);
    assert_eq!(sum(&a.out), sum(&b.out));
    assert_eq!(b.m.plat_smc_invalidations(), 0, "samepage stores hit decoded code lines");
    let a2 = boot("wl_loop", 1);
    assert_eq!(a.instructions, a2.instructions, "instruction counts differ run to run");
}
