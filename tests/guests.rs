//! Guest-level tests: boot the self-checking images under `examples/guests/x86/bin/` on the
//! `pc` board and assert on their serial output, exit status and statistics.
//!
//! The expected output in `examples/guests/x86/expected/` was recorded under QEMU TCG. Where
//! QEMU lacked a feature the guest printed `PASS: name (skipped: ...)`; chimera implements
//! those features, so the comparison drops the suffix and separately requires that chimera
//! skipped nothing.

use chimera::machine::pc::{BootImage, PcConfig, PcMachine, SerialOut};
use chimera::ExitKind;
use std::cell::RefCell;
use std::rc::Rc;

fn guest(name: &str) -> Vec<u8> {
    let p = format!("{}/examples/guests/x86/bin/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn expected(name: &str) -> String {
    let p = format!("{}/examples/guests/x86/expected/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn strip_skips(s: &str) -> String {
    s.lines()
        .map(|l| match l.find(" (skipped:") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Run {
    out: String,
    exit: ExitKind,
    m: PcMachine,
}

fn boot(name: &str, cpus: u32, cpu_features: &[&str]) -> Run {
    let buf = Rc::new(RefCell::new(Vec::new()));
    let cfg = PcConfig {
        cpus,
        serial: SerialOut::Buffer(buf.clone()),
        cpu_features: cpu_features.iter().map(|s| s.to_string()).collect(),
        ..PcConfig::default()
    };
    let mut m = PcMachine::new(cfg).expect("machine");
    m.load(&BootImage { kernel: guest(name), ..Default::default() }).expect("load");
    let r = m.run(Some(200_000_000), None);
    let out = String::from_utf8_lossy(&buf.borrow()).replace('\r', "");
    Run { out, exit: r.exit, m }
}

fn check_against_qemu(name: &str, cpus: u32) -> Run {
    let r = boot(name, cpus, &[]);
    assert!(!r.out.contains("FAIL"), "{name} failed:\n{}", r.out);
    assert!(!r.out.contains("(skipped:"), "{name} skipped a check chimera should run:\n{}", r.out);
    assert_eq!(strip_skips(r.out.trim_end()), strip_skips(expected(name).trim_end()), "{name} output");
    assert_eq!(r.exit, ExitKind::DebugExit(1), "{name} exit");
    r
}

#[test]
fn hello() {
    let r = check_against_qemu("hello", 1);
    let s = &r.m.cpus[0].stats;
    assert!(s.instructions > 100 && s.pio_exits > 20, "{s:?}");
}

#[test]
fn modes() {
    check_against_qemu("modes", 1);
}

#[test]
fn paging_and_page_faults() {
    let r = check_against_qemu("paging", 1);
    // Every fault kind in the guest is a #PF (vector 14), several of them.
    assert!(r.m.cpus[0].stats.exceptions[14] >= 8, "{:?}", r.m.cpus[0].stats.exceptions);
}

#[test]
fn interrupts_timers_and_apic() {
    let r = check_against_qemu("interrupts", 1);
    assert!(r.m.cpus[0].stats.interrupts >= 10);
}

#[test]
fn smp_bring_up_two_and_four_cpus() {
    for n in [2, 4] {
        let r = boot("smp", n, &[]);
        assert!(!r.out.contains("FAIL"), "smp {n}:\n{}", r.out);
        assert_eq!(r.out.trim_end(), expected("smp").trim_end(), "smp {n}");
        assert_eq!(r.exit, ExitKind::DebugExit(1));
        for (i, c) in r.m.cpus.iter().enumerate() {
            assert!(c.stats.instructions > 50, "cpu {i} of {n} never ran");
        }
    }
}

#[test]
fn syscall_gates_and_task_switches() {
    check_against_qemu("syscall", 1);
}

#[test]
fn exceptions() {
    let r = check_against_qemu("exceptions", 1);
    let e = &r.m.cpus[0].stats.exceptions;
    for v in [0, 1, 3, 6, 8, 11, 12, 13] {
        assert!(e[v] >= 1, "vector {v} never delivered: {e:?}");
    }
}

#[test]
fn fpu_and_sse() {
    check_against_qemu("fpu_sse", 1);
}

#[test]
fn demo_reports_the_machine_and_powers_off() {
    let buf = Rc::new(RefCell::new(Vec::new()));
    let cfg = PcConfig {
        cpus: 3,
        ram_size: 192 << 20,
        serial: SerialOut::Buffer(buf.clone()),
        ..PcConfig::default()
    };
    let mut m = PcMachine::new(cfg).expect("machine");
    m.load(&BootImage { kernel: guest("demo"), ..Default::default() }).expect("load");
    let r = m.run(Some(50_000_000), None);
    let out = String::from_utf8_lossy(&buf.borrow()).replace('\r', "");
    assert_eq!(r.exit, ExitKind::PowerOff, "{out}");
    assert!(out.contains("cpu vendor: GenuineIntel"), "{out}");
    assert!(out.contains("cpu brand: chimera x86-64 processor"), "{out}");
    assert!(out.contains("vcpus (fw_cfg): 3"), "{out}");
    assert!(out.contains("ram (fw_cfg): 192 MiB"), "{out}");
    // Every feature chimera advertises is listed, and only those.
    let model = cpu_x86::CpuidModel::new("max", &[]).unwrap();
    for f in model.feature_names() {
        let shown = f.replace(['-', '.'], "_");
        assert!(out.contains(&format!(" {shown}")), "feature {f} missing:\n{out}");
    }
}

#[test]
fn cpu_feature_override_reaches_the_guest() {
    // With -x2apic the interrupts guest must skip its x2APIC checks.
    let r = boot("interrupts", 1, &["-x2apic"]);
    assert!(r.out.contains("PASS: x2APIC ID via MSR 0x802 (skipped: no x2apic)"), "{}", r.out);
    assert!(!r.out.contains("FAIL"), "{}", r.out);
}

#[test]
fn runs_are_deterministic() {
    let a = boot("interrupts", 1, &[]);
    let b = boot("interrupts", 1, &[]);
    assert_eq!(a.out, b.out);
    assert_eq!(a.m.cpus[0].stats, b.m.cpus[0].stats);
    let a = boot("smp", 4, &[]);
    let b = boot("smp", 4, &[]);
    let ia: Vec<_> = a.m.cpus.iter().map(|c| c.stats.instructions).collect();
    let ib: Vec<_> = b.m.cpus.iter().map(|c| c.stats.instructions).collect();
    assert_eq!(ia, ib);
}

#[test]
fn self_modifying_code() {
    let r = check_against_qemu("smc", 1);
    // The guest patches code it has executed: blocks were found stale and decoded again.
    let b = r.m.cpus[0].block_stats();
    assert!(b.invalidations > 0, "{b:?}");
}

#[test]
fn cross_modifying_code_between_cpus() {
    let r = boot("smc_smp", 2, &[]);
    assert!(!r.out.contains("FAIL"), "{}", r.out);
    assert_eq!(r.out.trim_end(), expected("smc_smp").trim_end());
    assert_eq!(r.exit, ExitKind::DebugExit(1));
}

#[test]
fn data_in_a_code_page_does_not_invalidate_code() {
    // wl_samepage stores into its code page on every iteration, into a line without code:
    // no block may be invalidated, unlike QEMU's page-granular scheme.
    let r = check_against_qemu("wl_samepage", 1);
    let b = r.m.cpus[0].block_stats();
    assert_eq!(b.invalidations, 0, "{b:?}");
    assert!(b.chained + b.hits > 1000, "{b:?}");
}

#[test]
fn workload_checksums_match_qemu() {
    for w in ["compute", "wl_loop", "wl_memcpy", "wl_ptrchase", "wl_sieve", "wl_crc", "wl_branchy"] {
        check_against_qemu(w, 1);
    }
}
