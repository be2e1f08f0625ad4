//! Criterion bench: guest MIPS of the `pc` machine on the compute-heavy guest
//! (examples/guests/x86/compute.asm: a 10-instruction integer loop with a store and a load).
//! The checksum the guest prints is verified against a model of the loop.

use chimera::machine::pc::{BootImage, PcConfig, PcMachine, SerialOut};
use chimera::ExitKind;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

const ITERS: u64 = 2_000_000;

fn model(iters: u64) -> u64 {
    let (mut a, mut b, mut acc) = (0x0123_4567_89ab_cdefu64, 0xfedc_ba98_7654_3210u64, 0u64);
    for c in (1..=iters).rev() {
        a = a.wrapping_add(b);
        b ^= a;
        a = a.rotate_left(13);
        acc = acc.wrapping_add(a >> 3);
        b ^= c;
    }
    a ^ b ^ acc
}

fn run_once(kernel: &[u8]) -> u64 {
    let buf = Rc::new(RefCell::new(Vec::new()));
    let cfg = PcConfig { serial: SerialOut::Buffer(buf.clone()), ..PcConfig::default() };
    let mut m = PcMachine::new(cfg).expect("machine");
    m.load(&BootImage {
        kernel: kernel.to_vec(),
        cmdline: format!("iters={ITERS}"),
        modules: vec![],
        initrd: None,
    })
    .expect("load");
    let r = m.run(None, None);
    assert_eq!(r.exit, ExitKind::DebugExit(1));
    let out = String::from_utf8_lossy(&buf.borrow()).into_owned();
    let want = format!("sum=0x{:016x}", model(ITERS));
    assert!(out.contains(&want), "checksum mismatch: {out}");
    r.instructions
}

fn bench(c: &mut Criterion) {
    let kernel = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/guests/x86/bin/compute.elf"))
        .expect("compute.elf");
    let insns = run_once(&kernel);
    let mut g = c.benchmark_group("pc");
    g.throughput(Throughput::Elements(insns));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("compute-loop guest instructions", |b| b.iter(|| run_once(&kernel)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
