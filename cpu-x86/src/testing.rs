//! A minimal platform for unit tests, property tests and fuzzing of the CPU alone: RAM, a
//! port log, no interrupt controller.

use crate::platform::{ApicEvent, X86Platform};
use crate::{CpuidModel, X86Cpu};
use sim_core::{GuestPhys, GuestRam};

/// RAM plus recorded port writes; port reads return `pio_value`.
pub struct MockPlatform {
    pub ram: GuestRam,
    pub pio_writes: Vec<(u16, u8, u32)>,
    pub pio_value: u32,
    pub now: u64,
}

impl MockPlatform {
    /// `size` bytes of RAM at physical 0.
    pub fn new(size: u64) -> Self {
        Self {
            ram: GuestRam::new(&[(GuestPhys(0), size)]).expect("mock RAM"),
            pio_writes: vec![],
            pio_value: 0xffff_ffff,
            now: 0,
        }
    }
}

impl X86Platform for MockPlatform {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn mmio_read(&mut self, _: GuestPhys, _: u8) -> u64 {
        u64::MAX
    }
    fn mmio_write(&mut self, _: GuestPhys, _: u8, _: u64) {}
    fn pio_read(&mut self, _: u16, _: u8) -> u32 {
        self.pio_value
    }
    fn pio_write(&mut self, port: u16, size: u8, val: u32) {
        self.pio_writes.push((port, size, val));
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn sync(&mut self, cycles: u64) {
        self.now = cycles;
    }
    fn attention(&self) -> bool {
        false
    }
    fn intr_pending(&mut self) -> bool {
        false
    }
    fn intr_ack(&mut self) -> Option<u8> {
        None
    }
    fn take_apic_event(&mut self) -> Option<ApicEvent> {
        None
    }
    fn apic_base(&mut self) -> u64 {
        0xfee0_0900
    }
    fn set_apic_base(&mut self, _: u64) -> bool {
        false
    }
    fn apic_msr_read(&mut self, _: u32) -> Option<u64> {
        None
    }
    fn apic_msr_write(&mut self, _: u32, _: u64) -> bool {
        false
    }
    fn cr8(&mut self) -> u64 {
        0
    }
    fn set_cr8(&mut self, _: u64) {}
}

/// Physical address of the identity-map page tables built by [`long_mode_cpu`].
pub const PT_BASE: u64 = 0x10_0000;

/// A CPU in 64-bit mode with the first 1 GiB identity-mapped (2 MiB pages, writable, user),
/// a GDT with 64-bit code (0x08) and data (0x10), executing at `rip`. The mock needs at least
/// 2 MiB of RAM.
pub fn long_mode_cpu(p: &mut MockPlatform, rip: u64) -> X86Cpu {
    let ram = &mut p.ram;
    ram.write_u64(GuestPhys(PT_BASE), (PT_BASE + 0x1000) | 7);
    ram.write_u64(GuestPhys(PT_BASE + 0x1000), (PT_BASE + 0x2000) | 7);
    for i in 0..512u64 {
        ram.write_u64(GuestPhys(PT_BASE + 0x2000 + i * 8), (i << 21) | 0x87);
    }
    let gdt = PT_BASE + 0x3000;
    ram.write_u64(GuestPhys(gdt), 0);
    ram.write_u64(GuestPhys(gdt + 8), 0x00af_9b00_0000_ffff);
    ram.write_u64(GuestPhys(gdt + 16), 0x00cf_9300_0000_ffff);
    // IDT: every vector goes to a HLT at HANDLER (64-bit interrupt gates, selector 0x08).
    let idt = PT_BASE + 0x4000;
    for v in 0..256u64 {
        let lo = (HANDLER & 0xffff) | (0x08 << 16) | (0x8e00u64 << 32) | ((HANDLER >> 16) << 48);
        ram.write_u64(GuestPhys(idt + v * 16), lo);
        ram.write_u64(GuestPhys(idt + v * 16 + 8), HANDLER >> 32);
    }
    ram.write(GuestPhys(HANDLER), &[0xf4]);
    let mut c = X86Cpu::new(CpuidModel::new("max", &[]).expect("max"), 0, true, 1);
    c.setup_long_mode(rip, PT_BASE, gdt, 23);
    c.idtr = crate::state::TableReg { base: idt, limit: 0xfff };
    c.regs[4] = 0x8_0000;
    c
}

/// Where the IDT built by [`long_mode_cpu`] sends every vector (a HLT instruction).
pub const HANDLER: u64 = 0x7000;

/// The only exception delivered so far and its error code (read from the handler's stack),
/// for CPUs set up by [`long_mode_cpu`].
pub fn delivered(c: &X86Cpu, p: &MockPlatform) -> Option<(u8, u64)> {
    let v = c.stats.exceptions.iter().position(|&n| n > 0)? as u8;
    let err = p.ram.read_u64(GuestPhys(c.regs[4])).unwrap_or(0);
    Some((v, err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault;
    use crate::state::flags;

    fn run_code(code: &[u8], setup: impl FnOnce(&mut X86Cpu)) -> (X86Cpu, MockPlatform) {
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), code);
        let mut c = long_mode_cpu(&mut p, 0x1000);
        setup(&mut c);
        let n = iced_x86::Decoder::with_ip(64, code, 0x1000, 0).into_iter().count();
        for _ in 0..n {
            c.step(&mut p);
        }
        (c, p)
    }

    #[test]
    fn arithmetic_and_flags() {
        // mov rax, -1; add rax, 1 -> 0, CF ZF set
        let (c, _) = run_code(&[0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0x48, 0x83, 0xc0, 0x01], |_| {});
        assert_eq!(c.regs[0], 0);
        assert_ne!(c.rflags & flags::CF, 0);
        assert_ne!(c.rflags & flags::ZF, 0);
        assert_eq!(c.rip, 0x100b);
    }

    #[test]
    fn thirty_two_bit_writes_zero_extend() {
        // mov rax, -1 ; mov eax, 5 ; mov ax?  -> 5
        let (c, _) = run_code(&[0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xb8, 5, 0, 0, 0], |_| {});
        assert_eq!(c.regs[0], 5);
    }

    #[test]
    fn divide_error_without_idt_becomes_triple_fault() {
        // xor ecx, ecx ; div ecx -> #DE; the IDT limit is 0xffff but base 0 has no gates, so
        // delivery fails: #GP (contributory after #DE) -> #DF -> shutdown.
        let (c, _) = run_code(&[0x31, 0xc9, 0xf7, 0xf1], |c| c.idtr.limit = 0);
        assert_eq!(c.state, crate::RunState::Shutdown);
        assert_eq!(c.stats.exceptions[fault::DE as usize], 1);
        assert_eq!(c.stats.exceptions[fault::DF as usize], 1);
        assert!(c.shutdown_reason.as_deref().unwrap_or("").contains("triple fault"));
    }

    #[test]
    fn page_fault_sets_cr2_and_error_code() {
        // mov rax, [0x7fff_0000_0000]: PML4 entry 255 not present -> #PF with CR2.
        let code = [0x48, 0xa1, 0, 0, 0, 0, 0, 0x7f, 0, 0];
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &code);
        let mut c = long_mode_cpu(&mut p, 0x1000);
        c.idtr.limit = 0;
        c.step(&mut p);
        assert_eq!(c.cr2, 0x7f00_0000_0000);
        assert_eq!(c.stats.exceptions[fault::PF as usize], 1);
    }

    #[test]
    fn out_reaches_the_platform() {
        // mov al, 0x41 ; out 0xe9, al
        let (_, p) = run_code(&[0xb0, 0x41, 0xe6, 0xe9], |_| {});
        assert_eq!(p.pio_writes, vec![(0xe9, 1, 0x41)]);
    }

    #[test]
    fn rep_movsb_copies() {
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &[0xf3, 0xa4]); // rep movsb
        p.ram.write(GuestPhys(0x3000), b"0123456789abcdefXYZ");
        let mut c = long_mode_cpu(&mut p, 0x1000);
        c.regs[1] = 16;
        c.regs[6] = 0x3000;
        c.regs[7] = 0x4000;
        c.step(&mut p);
        assert_eq!(p.ram.slice(GuestPhys(0x4000), 17).unwrap(), b"0123456789abcdef\0");
        assert_eq!((c.regs[1], c.regs[6], c.regs[7], c.rip), (0, 0x3010, 0x4010, 0x1002));
    }
}
