//! Device models of chimera's `pc` and AArch64 `virt` boards.
//!
//! Every device is deterministic: time comes only from the machine tick (1 tick = 1 ns of a
//! nominal 1 GHz CPU clock, the TSC equals the tick count), timers use scheduled events on the
//! bus's event queue, and nothing reads host time or randomness. Guest misbehaviour never
//! panics.
//!
//! | Module | Device | Board mapping |
//! |---|---|---|
//! | [`uart16550`] | [`Uart16550`] NS16550A-compatible UART (COM1) | PIO 0x3f8 len 8, B1 |
//! | [`debug_exit`] | [`DebugExit`] QEMU `isa-debug-exit` | PIO 0xf4 len 4 |
//! | [`fw_cfg`] | [`FwCfg`] QEMU firmware configuration (I/O interface) | PIO 0x510 len 2, B1_2 |
//! | [`i8259`] | [`DualPic`] cascaded 8259A PICs + ELCR | PIO 0x20, 0xa0, 0x4d0 (len 2, B1) |
//! | [`i8254`] | [`Pit`] 8254 PIT + port 0x61 | PIO 0x40 len 4 and 0x61 len 1, B1 |
//! | [`rtc`] | [`Rtc`] MC146818 RTC/CMOS | PIO 0x70 len 2, B1 |
//! | [`lapic`] | [`Lapic`] local xAPIC/x2APIC (not on the bus) | forwarded by the board |
//! | [`ioapic`] | [`Ioapic`] 82093AA IOAPIC | MMIO 0xfec00000 len 0x1000, B4 |
//! | [`hpet`] | [`Hpet`] IA-PC HPET, 3 timers | MMIO 0xfed00000 len 0x400, B4_8 |
//! | [`pc_testdev`] | [`PcTestdev`] QEMU `pc-testdev` | PIO 0xe0/0xe4/0xe8/0x2000, MMIO 0xff000000 |
//! | [`power`] | [`Power`] ACPI PM1a_CNT, reset control, port 92 | PIO 0x604 len 2, 0xcf9, 0x92 |
//! | [`pl011`] | [`Pl011`] Arm PrimeCell UART (`virt`, SPI 1) | MMIO 0x09000000 len 0x1000, B1_4 |
//! | [`pl031`] | [`Pl031`] Arm PrimeCell RTC (`virt`, SPI 2) | MMIO 0x09010000 len 0x1000, B4 |
//! | [`gicv3`] | [`GicV3`] GICv3 (`virt`); ICC_* via the board | MMIO 0x08000000 len 0x10000, 0x080a0000 len 0x20000/CPU, ANY |
//! | [`virtio_mmio`] | [`VirtioMmio`] virtio-mmio transport, Version 2 (`virt`, SPI 16+n) | 0x0a000000 + 0x200 n, dispatched by the board (needs guest RAM) |
//! | [`virtio_console`] | [`VirtioConsole`] virtio console, one port (behind a transport) | |
//!
//! [`apic`] holds the [`ApicMessage`] type the IOAPIC and local APICs exchange through the
//! board.

pub mod apic;
pub mod debug_exit;
pub mod fw_cfg;
pub mod gicv3;
pub mod hpet;
pub mod i8254;
pub mod i8259;
pub mod ioapic;
pub mod lapic;
pub mod pc_testdev;
pub mod pl011;
pub mod pl031;
pub mod power;
pub mod rtc;
pub mod uart16550;
pub mod virtio_console;
pub mod virtio_mmio;

pub use apic::{ApicAction, ApicMessage, DeliveryMode, Shorthand};
pub use debug_exit::DebugExit;
pub use fw_cfg::FwCfg;
pub use gicv3::{GicDistributor, GicRedistributors, GicV3, IccReg};
pub use hpet::Hpet;
pub use i8254::Pit;
pub use i8259::DualPic;
pub use ioapic::Ioapic;
pub use lapic::Lapic;
pub use pc_testdev::PcTestdev;
pub use pl011::Pl011;
pub use pl031::Pl031;
pub use power::Power;
pub use rtc::Rtc;
pub use uart16550::Uart16550;
pub use virtio_console::VirtioConsole;
pub use virtio_mmio::{VirtioDevice, VirtioMmio};

#[cfg(test)]
pub(crate) mod testutil {
    //! A bus holding one device, for driving devices through real `IoCtx`s in tests.
    use sim_core::bus::{AccessSize, Bus, Device};
    use sim_core::GuestPhys;
    use std::cell::RefCell;
    use std::rc::Rc;

    pub struct Rig<T: Device + 'static> {
        pub bus: Bus,
        pub dev: Rc<RefCell<T>>,
        idx: usize,
    }

    impl<T: Device + 'static> Rig<T> {
        pub fn new(dev: T) -> Self {
            let dev = Rc::new(RefCell::new(dev));
            let mut bus = Bus::new();
            let idx = bus.add_device(dev.clone());
            Self { bus, dev, idx }
        }
        pub fn pio(mut self, port: u16, len: u16, sizes: AccessSize) -> Self {
            self.bus.map_pio(self.idx, port, len, sizes).expect("map");
            self
        }
        pub fn mmio(mut self, base: u64, len: u64, sizes: AccessSize) -> Self {
            self.bus.map_mmio(self.idx, GuestPhys(base), len, sizes).expect("map");
            self
        }
        pub fn outb(&mut self, port: u16, v: u8, now: u64) {
            self.bus.pio_write(port, 1, v as u32, now);
        }
        pub fn inb(&mut self, port: u16, now: u64) -> u8 {
            self.bus.pio_read(port, 1, now) as u8
        }
        pub fn rd(&mut self, pa: u64, size: u8, now: u64) -> u64 {
            self.bus.mmio_read(GuestPhys(pa), size, now).expect("mmio")
        }
        pub fn wr(&mut self, pa: u64, size: u8, v: u64, now: u64) {
            assert!(self.bus.mmio_write(GuestPhys(pa), size, v, now));
        }
        /// Runs every event due at or before `now`.
        pub fn run(&mut self, now: u64) -> usize {
            self.bus.run_events(now)
        }
    }
}

#[cfg(test)]
mod robustness {
    //! Random guest accesses (deterministic LCG) must never panic.
    use super::testutil::Rig;
    use super::*;
    use sim_core::bus::{AccessSize, Device};
    use sim_core::irq::{IrqLines, Signals};

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 11
        }
        fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    fn hammer_pio<T: Device + 'static>(mut r: Rig<T>, ports: &[u16], seed: u64) {
        let mut g = Lcg(seed);
        let mut now = 0u64;
        for _ in 0..20_000 {
            now += g.next() % 5_000;
            let port = g.pick(ports);
            let size = g.pick(&[1u8, 2, 4]);
            if g.next() & 1 == 0 {
                r.bus.pio_write(port, size, g.next() as u32, now);
            } else {
                r.bus.pio_read(port, size, now);
            }
            r.run(now);
        }
        r.run(u64::MAX / 4);
    }

    fn hammer_mmio<T: Device + 'static>(mut r: Rig<T>, base: u64, len: u64, seed: u64) {
        let mut g = Lcg(seed);
        let mut now = 0u64;
        for _ in 0..20_000 {
            now += g.next() % 5_000;
            let size = g.pick(&[1u8, 2, 4, 8]);
            let off = (g.next() % len) & !(u64::from(size) - 1);
            let pa = base + off.min(len - u64::from(size));
            if g.next() & 1 == 0 {
                r.wr(pa, size, g.next(), now);
            } else {
                r.rd(pa, size, now);
            }
            r.run(now);
        }
        r.run(u64::MAX / 4);
    }

    #[test]
    fn pio_devices_survive_random_accesses() {
        let lines = IrqLines::new();
        let s = Signals::new();
        let uart = Uart16550::new(lines.line(4), Box::new(std::io::sink()));
        hammer_pio(
            Rig::new(uart).pio(0x3f8, 8, AccessSize::B1),
            &[0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff],
            1,
        );
        let ports = [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1];
        let pic = Rig::new(DualPic::new()).pio(0x20, 2, AccessSize::B1).pio(0xa0, 2, AccessSize::B1).pio(
            0x4d0,
            2,
            AccessSize::B1,
        );
        hammer_pio(pic, &ports, 2);
        let pit = Rig::new(Pit::new(lines.line(0))).pio(0x40, 4, AccessSize::B1).pio(0x61, 1, AccessSize::B1);
        hammer_pio(pit, &[0x40, 0x41, 0x42, 0x43, 0x61], 3);
        let rtc = Rig::new(Rtc::new(lines.line(8), u64::MAX)).pio(0x70, 2, AccessSize::B1);
        hammer_pio(rtc, &[0x70, 0x71, 0x71, 0x71], 4);
        let fw = Rig::new(FwCfg::standard(1 << 30, 1, 1)).pio(0x510, 2, AccessSize::B1_2);
        hammer_pio(fw, &[0x510, 0x511], 5);
        let td = Rig::new(PcTestdev::new(lines.clone()))
            .pio(0xe0, 4, AccessSize::B1_4)
            .pio(0xe4, 4, AccessSize::B4)
            .pio(0x2000, 24, AccessSize::B1);
        hammer_pio(td, &[0xe0, 0xe2, 0xe4, 0x2000, 0x2017, 0x2016], 6);
        let pw = Rig::new(Power::new(s.clone())).pio(0x604, 2, AccessSize::B1_2).pio(0x92, 1, AccessSize::B1);
        hammer_pio(pw, &[0x604, 0x605, 0x92], 7);
        let de = Rig::new(DebugExit::new(s)).pio(0xf4, 4, AccessSize::B1_4);
        hammer_pio(de, &[0xf4, 0xf5], 8);
    }

    #[test]
    fn mmio_devices_survive_random_accesses() {
        let lines = IrqLines::new();
        let hpet = Rig::new(Hpet::new(lines.clone())).mmio(0xfed0_0000, 0x400, AccessSize::B4_8);
        hammer_mmio(hpet, 0xfed0_0000, 0x400, 9);
        let io = Rig::new(Ioapic::new(0)).mmio(0xfec0_0000, 0x1000, AccessSize::B4);
        hammer_mmio(io, 0xfec0_0000, 0x48, 10);
        let td = Rig::new(PcTestdev::new(lines)).mmio(0xff00_0000, 0x10000, AccessSize::ANY);
        hammer_mmio(td, 0xff00_0000, 0x10000, 11);
    }

    #[test]
    fn virt_devices_survive_random_accesses() {
        let lines = IrqLines::new();
        let mut uart = Pl011::new(lines.line(1), Box::new(std::io::sink()));
        uart.push_input(&[0x55; 100]);
        let r = Rig::new(uart).mmio(0x0900_0000, pl011::PL011_MMIO_SIZE, pl011::PL011_ACCESS);
        hammer_mmio(r, 0x0900_0000, 0x50, 13);
        let r = Rig::new(Pl011::new(lines.line(1), Box::new(std::io::sink()))).mmio(
            0x0900_0000,
            pl011::PL011_MMIO_SIZE,
            pl011::PL011_ACCESS,
        );
        hammer_mmio(r, 0x0900_0000, 0x1000, 14);
        let rtc = Pl031::new(lines.line(2), 1_767_225_600);
        let r = Rig::new(rtc).mmio(0x0901_0000, pl031::PL031_MMIO_SIZE, pl031::PL031_ACCESS);
        hammer_mmio(r, 0x0901_0000, 0x20, 15);
        let rtc = Pl031::new(lines.line(2), u64::MAX);
        let r = Rig::new(rtc).mmio(0x0901_0000, pl031::PL031_MMIO_SIZE, pl031::PL031_ACCESS);
        hammer_mmio(r, 0x0901_0000, 0x1000, 16);
        for (seed, len) in [(17, 0x800u64), (18, 0x10000)] {
            let gic = std::rc::Rc::new(std::cell::RefCell::new(GicV3::new(3, 100)));
            let d = Rig::new(GicV3::distributor(&gic)).mmio(0x0800_0000, gicv3::GICD_SIZE, gicv3::GIC_ACCESS);
            hammer_mmio(d, 0x0800_0000, len, seed);
            let r = Rig::new(GicV3::redistributors(&gic)).mmio(
                0x080a_0000,
                3 * gicv3::GICR_FRAME_SIZE,
                gicv3::GIC_ACCESS,
            );
            hammer_mmio(r, 0x080a_0000, 3 * gicv3::GICR_FRAME_SIZE, seed + 10);
        }
    }

    #[test]
    fn gic_survives_random_use() {
        let mut g = Lcg(19);
        let mut gic = GicV3::new(4, 64);
        for _ in 0..50_000 {
            let cpu = (g.next() % 5) as usize; // includes one PE that does not exist
            match g.next() % 8 {
                0 => {
                    let off = g.pick(&[0u64, 0x80, 0x104, 0x184, 0x204, 0x284, 0x304, 0x384, 0x420, 0xc08]);
                    gic.dist_write(off + (g.next() % 3) * 4, 4, g.next());
                }
                1 => gic.dist_write(0x6100 + (g.next() % 70) * 8, 8, g.next() >> (g.next() % 64)),
                2 => {
                    let off =
                        g.pick(&[0x14u64, 0, 0x10080, 0x10100, 0x10200, 0x10300, 0x10380, 0x10400, 0x10c04]);
                    gic.redist_write(cpu as u64 * gicv3::GICR_FRAME_SIZE + off, 4, g.next());
                }
                3 => gic.set_spi((g.next() % 100) as usize, g.next() & 1 == 0),
                4 => gic.set_ppi(cpu, (g.next() % 40) as u32, g.next() & 1 == 0),
                5 => gic.update_spis_from_lines(g.next() as u32, g.next() as u32),
                6 => {
                    let reg = g.pick(&IccReg::ALL);
                    gic.icc_write(cpu, reg, g.next() >> (g.next() % 64));
                }
                _ => {
                    let reg = g.pick(&IccReg::ALL);
                    let _ = gic.icc_read(cpu, reg);
                    let _ = gic.sysreg_read(cpu, g.next() as u16);
                }
            }
            let _ = (gic.irq_pending(cpu), gic.fiq_pending(cpu));
        }
    }

    #[test]
    fn interrupt_controllers_survive_random_use() {
        let mut g = Lcg(12);
        let mut pic = DualPic::new();
        let mut io = Ioapic::new(0);
        let mut l = Lapic::new(0, true);
        for i in 0..20_000u64 {
            let now = i * 977;
            let (lv, ed) = (g.next() as u32, g.next() as u32);
            pic.set_irqs(lv, ed);
            if g.next() % 3 == 1 {
                pic.acknowledge();
            }
            pic.write_port(g.pick(&[0x20, 0x21, 0xa0, 0xa1, 0x4d0]), g.next() as u8);
            let _ = pic.output();
            let mut msgs = io.set_irqs(lv, ed);
            msgs.extend(io.eoi(g.next() as u8));
            for m in &msgs {
                if l.matches(m.dest, m.logical) {
                    l.deliver(m);
                }
            }
            let off = (g.next() % 0x1000) as u32 & !0xf;
            l.mmio_write(off, g.next() as u32, now);
            l.mmio_read(off, now);
            let msr = 0x800 + (g.next() % 0x100) as u32;
            let _ = l.msr_write(msr, g.next() >> (g.next() % 64), now);
            let _ = l.msr_read(msr, now);
            if g.next() % 50 == 7 {
                let raw = g.next();
                let _ = l.set_base_msr(g.pick(&[0xfee0_0800, 0xfee0_0c00, 0xfee0_0000, raw]));
            }
            let _ = l.msr_write(lapic::MSR_TSC_DEADLINE, now + g.next() % 10_000, now);
            if l.next_deadline().is_some_and(|d| d <= now) {
                l.tick(now);
            }
            if l.has_interrupt() {
                l.acknowledge();
            }
            l.set_tpr(g.next());
        }
    }
}
