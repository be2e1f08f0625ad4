//! Unit tests: instruction semantics against hand-computed results, exception entry and
//! return, stage-1 translation, and robustness against random instruction words.

use crate::cpu::{Arm64Cpu, RunState};
use crate::platform::{Arm64Platform, Conduit};
use crate::sysreg::r;
use sim_core::{GuestPhys, GuestRam};
use std::marker::PhantomData;

const RAM: u64 = 0x4000_0000;

mod atomic;
mod debug;
mod fpsimd;
mod pmu;
mod vhe;
mod vmsa;

struct Mock {
    ram: GuestRam,
    mmio: Vec<(u64, u8, u64)>,
    fw: Vec<u64>,
    /// PMUIRQ levels reported (crate::pmu).
    pmu_irq: Vec<bool>,
}

impl Mock {
    fn new() -> Self {
        Self {
            ram: GuestRam::new(&[(GuestPhys(RAM), 16 << 20)]).unwrap(),
            mmio: vec![],
            fw: vec![],
            pmu_irq: vec![],
        }
    }
}

impl Arm64Platform for Mock {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn mmio_read(&mut self, _pa: GuestPhys, _size: u8) -> u64 {
        0x5a
    }
    fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64) {
        self.mmio.push((pa.raw(), size, val));
    }
    fn sync(&mut self, _c: u64) {}
    fn attention(&self) -> bool {
        false
    }
    fn irq_pending(&mut self) -> bool {
        false
    }
    fn fiq_pending(&mut self) -> bool {
        false
    }
    fn firmware_call(&mut self, _c: Conduit, x: &mut [u64; 18]) -> bool {
        self.fw.push(x[0]);
        x[0] = 0x10001;
        true
    }
    fn icc_read(&mut self, _enc: u16) -> Option<u64> {
        None
    }
    fn icc_write(&mut self, _enc: u16, _val: u64) -> bool {
        false
    }
    fn counter(&self) -> u64 {
        1000
    }
    fn timer_levels(&mut self, _p: bool, _v: bool, _h: bool, _s: bool) {}
    fn set_timer_deadline(&mut self, _c: u64) {}
    fn pmu_irq(&mut self, level: bool) {
        self.pmu_irq.push(level);
    }
}

/// PE `index` (with `mpidr`) as firmware leaves it for EL1 and EL2, not yet booted.
fn new_cpu(index: usize, mpidr: u64) -> Arm64Cpu {
    let mut c = Arm64Cpu::new(index, mpidr);
    c.sys.scr_el3 = 1 | 1 << 8 | 1 << 10; // NS, HCE, RW
    c
}

/// Instruction words as they lie in memory.
fn le_bytes(code: &[u32]) -> Vec<u8> {
    code.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The xorshift64 sequence from `seed`, for random instruction words and register contents.
fn xorshift(mut s: u64) -> impl FnMut() -> u64 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Loads `code` at RAM start and boots a PE at EL1 there.
fn load(code: &[u32]) -> (Arm64Cpu, Mock) {
    let mut m = Mock::new();
    m.ram.write(GuestPhys(RAM), &le_bytes(code));
    let mut c = new_cpu(0, 0);
    c.boot(1, RAM);
    (c, m)
}

/// Loads `code` at RAM start and runs it at EL1 until `n` instructions retired.
fn run(code: &[u32], n: u64, setup: impl FnOnce(&mut Arm64Cpu, &mut Mock)) -> (Arm64Cpu, Mock) {
    let (mut c, mut m) = load(code);
    setup(&mut c, &mut m);
    c.run(&mut m, n);
    (c, m)
}

/// One PE and machine on which single instructions are executed, each from a fresh address
/// so no decoded block is ever stale. `T` marks the test module whose set-up and checks
/// (inherent methods on `Rig<T>`) apply.
struct Rig<T> {
    c: Arm64Cpu,
    m: Mock,
    next: u64,
    module: PhantomData<T>,
}

impl<T> Rig<T> {
    /// `c` (booted) on a fresh [`Mock`], instructions placed from `next` on.
    fn with(c: Arm64Cpu, m: Mock, next: u64) -> Self {
        Self { c, m, next, module: PhantomData }
    }

    /// Writes `raw` at the next fresh address and runs `n` instructions from there; returns
    /// the address.
    fn run_fresh(&mut self, raw: u32, n: u64) -> u64 {
        let a = self.next;
        self.next += 4;
        self.m.ram.write(GuestPhys(a), &raw.to_le_bytes());
        self.c.pc = a;
        self.c.run(&mut self.m, n);
        a
    }

    /// Executes `raw` once at the current EL; `true` if it completed (the PC is past it).
    fn step(&mut self, raw: u32) -> bool {
        let a = self.run_fresh(raw, 1);
        self.c.pc == a + 4
    }

    /// [`Rig::step`] at `el` (on SP_ELx, SP_EL0 at EL0).
    fn step_at(&mut self, el: u8, raw: u32) -> bool {
        self.c.el = el;
        self.c.spsel = el != 0;
        self.step(raw)
    }

    fn mem(&self, pa: u64) -> u64 {
        self.m.ram.read_u64(GuestPhys(pa)).unwrap()
    }

    fn set_mem(&mut self, pa: u64, v: u64) {
        self.m.ram.write_u64(GuestPhys(pa), v);
    }
}

/// The level-3 pages of [`stage1`] most tests use: VA 0x1000 -> RAM+0x5000 read-write,
/// VA 0x2000 -> RAM+0x6000 read-only (EL1), VA 0x3000 unmapped.
const S1_RW_RO_PAGES: [(u64, u64); 2] =
    [(1, (RAM + 0x5000) | 1 << 10 | 3), (2, (RAM + 0x6000) | 1 << 10 | 2 << 6 | 3)];

/// Turns on EL1 stage 1 (4 KiB granule, T0SZ = 25: 39-bit VAs from level 1; MAIR attribute
/// 0 = 0xff, Normal write-back) with tables at RAM+0x1_0000: the code runs from an L1 block
/// at VA 0x4000_0000 (= RAM); VA 0-0x1f_ffff goes through a level-3 table whose entries are
/// `pages` (index, descriptor), the others invalid.
fn stage1(c: &mut Arm64Cpu, ram: &mut GuestRam, pages: &[(u64, u64)]) {
    let (l1, l2, l3) = (RAM + 0x1_0000, RAM + 0x1_1000, RAM + 0x1_2000);
    ram.write_u64(GuestPhys(l1), l2 | 3);
    ram.write_u64(GuestPhys(l1 + 8), RAM | 1 << 10 | 1); // 1 GiB block, AttrIndx 0
    ram.write_u64(GuestPhys(l2), l3 | 3);
    for &(i, desc) in pages {
        ram.write_u64(GuestPhys(l3 + 8 * i), desc);
    }
    c.sys.ttbr0[1] = l1;
    c.sys.tcr[1] = 25;
    c.sys.mair[1] = 0xff;
    c.sys.sctlr[1] |= 1;
}

#[test]
fn add_sub_and_flags() {
    // movz x0,#5; movz x1,#7; subs x2,x0,x1; adds w3,w1,#0xfff, lsl #12
    let (c, _) = run(&[0xd28000a0, 0xd28000e1, 0xeb010002, 0x317ffc23], 4, |_, _| {});
    assert_eq!(c.x[2], (-2i64) as u64);
    assert_eq!(c.x[3], 7 + (0xfff << 12));
    // ADDS w3: no carry, result positive: N=0 Z=0 C=0 V=0.
    assert_eq!(c.nzcv, 0);
    // subs x2: 5-7 borrows: N=1, C=0.
    let (c, _) = run(&[0xd28000a0, 0xd28000e1, 0xeb010002], 3, |_, _| {});
    assert_eq!(c.nzcv, 1 << 31);
}

#[test]
fn logical_immediate_bitfield_and_extr() {
    // mov x0, #0x00ff00ff00ff00ff (orr x0, xzr, #0x00ff00ff00ff00ff) ; ubfx x1, x0, #4, #8 ;
    // sbfx x2, x0, #0, #8 ; extr x3, x0, x0, #8
    let (c, _) = run(&[0xb2009fe0, 0xd3442c01, 0x93401c02, 0x93c02003], 4, |_, _| {});
    assert_eq!(c.x[0], 0x00ff_00ff_00ff_00ff);
    assert_eq!(c.x[1], 0x0f);
    assert_eq!(c.x[2], u64::MAX); // 0xff sign-extended
    assert_eq!(c.x[3], 0xff00_ff00_ff00_ff00);
}

#[test]
fn loads_stores_and_writeback() {
    // x0 = RAM+0x1000 (set up); movz x1,#0x1234; str x1,[x0,#8]!; ldr x2,[x0],#-8; ldrsb x3,[x0,#8]
    let (c, m) = run(&[0xd2824681, 0xf8008c01, 0xf85f8402, 0x39802003], 4, |c, _| c.x[0] = RAM + 0x1000);
    assert_eq!(m.ram.read_u64(GuestPhys(RAM + 0x1008)), Some(0x1234));
    assert_eq!(c.x[2], 0x1234);
    assert_eq!(c.x[0], RAM + 0x1000);
    assert_eq!(c.x[3], 0x34);
}

#[test]
fn svc_takes_exception_and_eret_returns() {
    // 0: svc #0x42 ; 4: movz x5,#1 ; vector at VBAR+0x200: mrs x6, esr_el1 ; eret
    let mut code = vec![0xd4000841, 0xd2800025];
    code.resize(0x200 / 4, 0xd503201f);
    code.extend([0xd5385206, 0xd69f03e0]);
    let (c, _) = run(&code, 4, |c, _| c.sys.vbar[1] = RAM);
    assert_eq!(c.x[6] >> 26, 0x15, "EC SVC");
    assert_eq!(c.x[6] & 0xffff, 0x42);
    assert_eq!(c.sys.elr[1], RAM + 4);
    assert_eq!(c.x[5], 1, "ERET resumed after the SVC");
    assert_eq!(c.el, 1);
}

#[test]
fn undefined_instruction_and_el0_sysreg_access() {
    // udf #0 at EL1 -> EC 0 at VBAR+0x200.
    let mut code = vec![0x0000_0000];
    code.resize(0x200 / 4, 0xd503201f);
    code.push(0xd503201f);
    let (c, _) = run(&code, 2, |c, _| c.sys.vbar[1] = RAM);
    assert_eq!(c.sys.esr[1] >> 26, 0);
    assert_eq!(c.sys.elr[1], RAM);
    assert_eq!(c.pc, RAM + 0x204);
    // From EL0, MRS SCTLR_EL1 is UNDEFINED and goes to EL1's lower-EL vector (0x400).
    let (c, _) = run(&[0xd5381000], 1, |c, _| {
        c.sys.vbar[1] = RAM + 0x800;
        c.el = 0;
    });
    assert_eq!(c.el, 1);
    assert_eq!(c.pc, RAM + 0x800 + 0x400);
}

#[test]
fn hvc_goes_to_the_firmware_model() {
    // movz x0, #0x8400, lsl #16 ; hvc #0
    let (c, m) = run(&[0xd2b08000, 0xd4000002], 2, |c, _| c.fw_hvc = true);
    assert_eq!(m.fw, vec![0x8400_0000]);
    assert_eq!(c.x[0], 0x10001);
    assert_eq!(c.pc, RAM + 8);
}

#[test]
fn mmu_off_data_is_device_and_unaligned_faults() {
    // ldr x1, [x0] with x0 unaligned and the MMU off: alignment fault (DFSC 0x21).
    let (c, _) = run(&[0xf9400001], 1, |c, _| {
        c.x[0] = RAM + 0x1001;
        c.sys.vbar[1] = RAM + 0x800;
    });
    assert_eq!(c.sys.esr[1] >> 26, 0x25);
    assert_eq!(c.sys.esr[1] & 0x3f, 0x21);
    assert_eq!(c.sys.far[1], RAM + 0x1001);
}

#[test]
fn stage1_4k_translation_and_faults() {
    // stage1's tables: L1 (T0SZ=25 -> 39-bit VA, start level 1) with a table to L2, L2
    // entry 0 -> L3 table, L3 maps VA 0x1000 -> PA RAM+0x5000 (RW, AF) and VA 0x2000
    // read-only. The code runs from RAM via an L1 block for VA 0x40000000.
    // ldr x1,[x2] (VA 0x1008) ; str x1,[x3] (VA 0x2000, read-only -> permission fault)
    let (c, _) = run(&[0xf9400041, 0xf9000061], 2, |c, m| {
        stage1(c, &mut m.ram, &S1_RW_RO_PAGES);
        m.ram.write_u64(GuestPhys(RAM + 0x5008), 0xfeed);
        c.sys.vbar[1] = RAM + 0x800;
        c.x[2] = 0x1008;
        c.x[3] = 0x2000;
    });
    assert_eq!(c.x[1], 0xfeed);
    assert_eq!(c.sys.esr[1] >> 26, 0x25);
    assert_eq!(c.sys.esr[1] & 0x3f, 0b001111, "permission fault, level 3");
    assert_eq!(c.sys.esr[1] & (1 << 6), 1 << 6, "WnR");
    assert_eq!(c.sys.far[1], 0x2000);
    // Unmapped VA 0x3000: translation fault level 3.
    let (c, _) = run(&[0xf9400041], 1, |c, m| {
        stage1(c, &mut m.ram, &S1_RW_RO_PAGES);
        m.ram.write_u64(GuestPhys(RAM + 0x5008), 0xfeed);
        c.x[2] = 0x3000;
    });
    assert_eq!(c.sys.esr[1] & 0x3f, 0b000111);
}

#[test]
fn wfi_waits_and_timer_registers_read() {
    // mrs x0, cntfrq_el0 ; mrs x1, cntvct_el0 ; wfi
    let (c, _) = run(&[0xd53be000, 0xd53be041, 0xd503207f], 3, |_, _| {});
    assert_eq!(c.x[0], 62_500_000);
    assert_eq!(c.x[1], 1000);
    assert_eq!(c.state, RunState::Waiting);
    assert_eq!(r::CNTFRQ_EL0, crate::sysreg::enc(3, 3, 14, 0, 0));
}

#[test]
fn exclusives_succeed_once() {
    // ldxr x1,[x0] ; stxr w2,x1,[x0] ; stxr w3,x1,[x0]
    let (c, _) = run(&[0xc85f7c01, 0xc8027c01, 0xc8037c01], 3, |c, _| c.x[0] = RAM + 0x1000);
    assert_eq!(c.x[2], 0, "first store-exclusive succeeds");
    assert_eq!(c.x[3], 1, "second fails: the monitor was cleared");
}

#[test]
fn random_words_never_panic() {
    let mut next = xorshift(0x1234_5678_9abc_def0);
    for _ in 0..20 {
        let code: Vec<u32> = (0..1024).map(|_| next() as u32).collect();
        let (_c, _m) = run(&code, 5000, |c, _| {
            c.sys.vbar[1] = RAM + 0x100000;
            for k in 0..31 {
                c.x[k] = RAM + 0x8000;
            }
        });
    }
}
