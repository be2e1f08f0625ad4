//! Criterion micro-benchmarks of the interpreter's hot paths: decoding, block lookup,
//! block dispatch and the memory-access fast path. Guest-level MIPS are in `guest_mips.rs`
//! and the side-by-side comparison with QEMU in `benches/compare`.

use cpu_x86::block::decode;
use cpu_x86::testing::{long_mode_cpu, MockPlatform};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use iced_x86::{Decoder, DecoderOptions, Instruction};
use sim_core::{BlockCache, BlockKey, GuestPhys};
use std::hint::black_box;

/// The reference loop (add/xor/rol/store/load/shr/add/xor/dec/jnz) at 0x1000, scratch in rdi.
const LOOP: &[u8] = &[
    0x48, 0x01, 0xd8, // add rax, rbx
    0x48, 0x31, 0xc3, // xor rbx, rax
    0x48, 0xc1, 0xc0, 0x0d, // rol rax, 13
    0x48, 0x89, 0x07, // mov [rdi], rax
    0x4c, 0x8b, 0x07, // mov r8, [rdi]
    0x49, 0xc1, 0xe8, 0x03, // shr r8, 3
    0x4c, 0x01, 0xc2, // add rdx, r8
    0x48, 0x31, 0xcb, // xor rbx, rcx
    0x48, 0xff, 0xc9, // dec rcx
    0x75, 0xe2, // jnz loop
];

fn decode_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(10));
    g.bench_function("iced decode, 10 instructions", |b| {
        b.iter(|| {
            let mut d = Decoder::with_ip(64, black_box(LOOP), 0x1000, DecoderOptions::NONE);
            let mut i = Instruction::default();
            let mut n = 0;
            while d.can_decode() {
                d.decode_out(&mut i);
                n += i.len();
            }
            n
        })
    });
    g.bench_function("iced decode + handler selection, 10 instructions", |b| {
        b.iter(|| {
            let mut d = Decoder::with_ip(64, black_box(LOOP), 0x1000, DecoderOptions::NONE);
            let mut i = Instruction::default();
            let mut n = 0;
            while d.can_decode() {
                d.decode_out(&mut i);
                n += decode(i, 64).size as usize;
            }
            n
        })
    });
    g.finish();
}

fn lookup_bench(c: &mut Criterion) {
    let mut cache: BlockCache<u32> = BlockCache::new(1 << 20);
    for k in 0..1000u64 {
        cache.insert(BlockKey { pa: k * 64, va: k * 64, mode: 64 }, 0, 0, k as u32, 4, None);
    }
    c.bench_function("block cache: jump-cache hit", |b| {
        let mut k = 0u64;
        b.iter(|| {
            k = (k + 7) % 1000;
            let key = BlockKey { pa: k * 64, va: k * 64, mode: 64 };
            cache.lookup(black_box(key), None, |_| 0).map(|x| x.0)
        })
    });
}

fn dispatch_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dispatch");
    const ITERS: u64 = 10_000;
    g.throughput(Throughput::Elements(ITERS * 10));
    g.bench_function("reference loop, block-cached", |b| {
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), LOOP);
        b.iter(|| {
            let mut cpu = long_mode_cpu(&mut p, 0x1000);
            cpu.regs[1] = ITERS;
            cpu.regs[7] = 0x9000;
            cpu.run(&mut p, ITERS * 10);
            assert_eq!(cpu.regs[1], 0);
            cpu.regs[2]
        })
    });
    g.finish();
}

fn memory_bench(c: &mut Criterion) {
    // mov [rdi], rax ; mov r8, [rdi] repeated: the TLB fast path for stores and loads.
    let mut code = Vec::new();
    for _ in 0..32 {
        code.extend_from_slice(&[0x48, 0x89, 0x07, 0x4c, 0x8b, 0x07]);
    }
    code.extend_from_slice(&[0xf4]); // hlt
    let mut g = c.benchmark_group("memory");
    g.throughput(Throughput::Elements(64));
    g.bench_function("64 loads/stores through the soft TLB", |b| {
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &code);
        let mut cpu = long_mode_cpu(&mut p, 0x1000);
        cpu.regs[7] = 0x9000;
        b.iter(|| {
            cpu.rip = 0x1000;
            cpu.state = cpu_x86::RunState::Running;
            cpu.run(&mut p, 64);
            cpu.regs[8]
        })
    });
    g.finish();
}

criterion_group!(benches, decode_bench, lookup_bench, dispatch_bench, memory_bench);
criterion_main!(benches);
