//! Unit tests of architectural corner cases that the guest images cannot reach under QEMU
//! (which the guests were validated with) or that need precise control: 5-level paging,
//! PCID-tagged TLB entries, protection keys, UMIP, #SS for non-canonical stack addresses,
//! MSR checks, deterministic RDRAND, CR4 reserved bits.

use crate::fault;
use crate::state::{cr0, cr4, flags};
use crate::testing::{long_mode_cpu, MockPlatform, PT_BASE};
use crate::X86Cpu;
use sim_core::GuestPhys;

fn setup(code: &[u8]) -> (X86Cpu, MockPlatform) {
    let mut p = MockPlatform::new(8 << 20);
    p.ram.write(GuestPhys(0x1000), code);
    let c = long_mode_cpu(&mut p, 0x1000);
    (c, p)
}

fn last_exception(c: &X86Cpu) -> Option<usize> {
    let v = c.stats.exceptions.iter().position(|&n| n > 0)?;
    assert_eq!(
        c.stats.exceptions.iter().sum::<u64>(),
        1,
        "more than one exception: {:?}",
        c.stats.exceptions
    );
    Some(v)
}

#[test]
fn non_canonical_stack_gives_ss_and_data_gives_gp() {
    // push rax with RSP non-canonical -> #SS(0). Delivering it without an IST pushes on the
    // same non-canonical stack, so a second #SS turns into #DF (SDM Vol 3A 6.15, table 6-5).
    let (mut c, mut p) = setup(&[0x50]);
    c.regs[4] = 0x8000_0000_0000_0010;
    c.step(&mut p);
    assert_eq!(c.stats.exceptions[fault::SS as usize], 1);
    assert_eq!(c.stats.exceptions[fault::DF as usize], 1);
    assert_eq!(c.stats.exceptions[fault::GP as usize], 0);
    // mov rax, [rbx] with RBX non-canonical -> #GP(0).
    let (mut c, mut p) = setup(&[0x48, 0x8b, 0x03]);
    c.regs[3] = 0x0000_8000_0000_0000;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::GP as usize));
    // mov rax, [rbp] with RBP non-canonical: RBP-based addressing defaults to SS -> #SS.
    let (mut c, mut p) = setup(&[0x48, 0x8b, 0x45, 0x00]);
    c.regs[5] = 0x0000_8000_0000_0000;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::SS as usize));
}

#[test]
fn five_level_paging_translates_57_bit_addresses() {
    // Build PML5 -> PML4 -> PDPT -> PD (2 MiB page) for VA 0x0100_0000_0000_0000 -> PA 0x40_0000.
    let (mut c, mut p) = setup(&[0x48, 0x8b, 0x03]); // mov rax, [rbx]
    let base = 0x20_0000u64;
    let va: u64 = 0x0080_0000_0000_0000;
    let idx = |shift: u32| (va >> shift) & 0x1ff;
    let ram = &mut p.ram;
    ram.write_u64(GuestPhys(base + idx(48) * 8), (base + 0x1000) | 3);
    ram.write_u64(GuestPhys(base + 0x1000 + idx(39) * 8), (base + 0x2000) | 3);
    ram.write_u64(GuestPhys(base + 0x2000 + idx(30) * 8), (base + 0x3000) | 3);
    ram.write_u64(GuestPhys(base + 0x3000 + idx(21) * 8), 0x40_0000 | 0x83);
    // Keep the code identity-mapped at PML5[0] -> the existing PML4.
    ram.write_u64(GuestPhys(base), PT_BASE | 7);
    ram.write_u64(GuestPhys(0x40_0008), 0x1122_3344_5566_7788);
    // LA57 can only change outside long mode; set it up directly as a loader would.
    c.cr4 |= cr4::LA57;
    c.cr3 = base;
    c.flush_tlb();
    c.regs[3] = va + 8;
    c.step(&mut p);
    assert_eq!(c.regs[0], 0x1122_3344_5566_7788, "{:?}", c.stats.exceptions);
    // With 5-level paging 0x0080_0000_0000_0000 is canonical; with 4-level it is not.
    assert!(crate::mem::canonical(va, 57) && !crate::mem::canonical(va, 48));
    // Accessed bits were set on every level of the walk.
    assert_ne!(p.ram.read_u64(GuestPhys(base + idx(48) * 8)).unwrap() & 0x20, 0);
    assert_ne!(p.ram.read_u64(GuestPhys(base + 0x3000 + idx(21) * 8)).unwrap() & 0x20, 0);
}

#[test]
fn la57_cannot_toggle_in_long_mode() {
    // mov cr4, rax with LA57 flipped -> #GP (SDM Vol 3A 2.5).
    let (mut c, mut p) = setup(&[0x0f, 0x22, 0xe0]);
    c.regs[0] = c.cr4 | cr4::LA57;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::GP as usize));
}

#[test]
fn pcid_keeps_translations_of_other_address_spaces() {
    // Two address spaces map VA 0x60_0000 to different pages; switching CR3 with the no-flush
    // bit must still give each PCID its own translation.
    let (mut c, mut p) = setup(&[0x48, 0x8b, 0x03]);
    let (as1, as2) = (0x30_0000u64, 0x31_0000u64);
    for (root, page, pcid) in [(as1, 0x40_0000u64, 1u64), (as2, 0x20_0000, 2)] {
        let ram = &mut p.ram;
        ram.write_u64(GuestPhys(root), (root + 0x1000) | 7);
        ram.write_u64(GuestPhys(root + 0x1000), (root + 0x2000) | 7);
        for i in 0..3u64 {
            ram.write_u64(GuestPhys(root + 0x2000 + i * 8), (i << 21) | 0x87);
        }
        ram.write_u64(GuestPhys(root + 0x2000 + 3 * 8), page | 0x87);
        ram.write_u64(GuestPhys(page), 0xa0 + pcid);
    }
    c.cr4 |= cr4::PCIDE;
    c.write_cr(&mut p, 3, as1 | 1).unwrap();
    c.regs[3] = 0x60_0000;
    c.step(&mut p);
    assert_eq!(last_exception(&c), None, "{}", c.dump());
    assert_eq!(c.regs[0], 0xa1);
    c.write_cr(&mut p, 3, as2 | 2 | (1 << 63)).unwrap();
    c.rip = 0x1000;
    c.step(&mut p);
    assert_eq!(c.regs[0], 0xa2);
    // Back to PCID 1 *with* a flush after changing its page table: the new mapping is seen.
    p.ram.write_u64(GuestPhys(as1 + 0x2000 + 3 * 8), 0x20_0000 | 0x87);
    c.write_cr(&mut p, 3, as1 | 1).unwrap();
    c.rip = 0x1000;
    c.step(&mut p);
    assert_eq!(c.regs[0], 0xa2, "CR3 write without the no-flush bit kept a stale entry");
    // Change it back and use INVPCID type 0 (individual address) for PCID 1.
    p.ram.write_u64(GuestPhys(as1 + 0x2000 + 3 * 8), 0x40_0000 | 0x87);
    let desc = 0x8000u64;
    p.ram.write_u64(GuestPhys(desc), 1);
    p.ram.write_u64(GuestPhys(desc + 8), 0x60_0000);
    p.ram.write(GuestPhys(0x1003), &[0x66, 0x0f, 0x38, 0x82, 0x0e]); // invpcid rcx, [rsi]
    c.regs[1] = 0;
    c.regs[6] = desc;
    c.rip = 0x1003;
    c.step(&mut p);
    assert_eq!(last_exception(&c), None);
    c.rip = 0x1000;
    c.step(&mut p);
    assert_eq!(c.regs[0], 0xa1, "INVPCID did not flush the address");
    // INVPCID with a reserved type is #GP.
    c.regs[1] = 4;
    c.rip = 0x1003;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::GP as usize));
}

#[test]
fn protection_keys_block_user_data() {
    // User page with pkey 5; PKRU.AD5 set -> #PF with the PK bit (SDM Vol 3A 4.6.2).
    let (mut c, mut p) = setup(&[0x48, 0x8b, 0x03]);
    let pde = 0x60_0000u64 | 0x87 | (5u64 << 59);
    p.ram.write_u64(GuestPhys(PT_BASE + 0x2000 + 3 * 8), pde);
    c.cr4 |= cr4::PKE;
    c.pkru = 1 << (2 * 5);
    c.regs[3] = 0x60_0000;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::PF as usize));
    assert_eq!(c.cr2, 0x60_0000);
    // Without the key restriction the read works.
    let (mut c, mut p) = setup(&[0x48, 0x8b, 0x03]);
    p.ram.write_u64(GuestPhys(PT_BASE + 0x2000 + 3 * 8), pde);
    p.ram.write_u64(GuestPhys(0x60_0000), 77);
    c.cr4 |= cr4::PKE;
    c.pkru = 2 << (2 * 5); // write-disable only
    c.regs[3] = 0x60_0000;
    c.step(&mut p);
    assert_eq!(c.regs[0], 77);
}

#[test]
fn umip_blocks_sgdt_at_cpl3() {
    // sgdt [rbx] at CPL 3 (user code segment; the #GP's delivery to CPL 0 then needs a TSS,
    // which the test does not set up, so only the first exception is checked).
    let (mut c, mut p) = setup(&[0x0f, 0x01, 0x03]);
    c.cr4 |= cr4::UMIP;
    c.cpl = 3;
    c.regs[3] = 0x9000;
    c.step(&mut p);
    assert_eq!(c.stats.exceptions[fault::GP as usize], 1);
    assert_eq!(p.ram.read_u32(GuestPhys(0x9002)), Some(0), "SGDT stored despite UMIP");
    let (mut c, mut p) = setup(&[0x0f, 0x01, 0x03]);
    c.regs[3] = 0x9000;
    c.step(&mut p);
    assert_eq!(last_exception(&c), None);
    assert_eq!(p.ram.read_u32(GuestPhys(0x9002)).unwrap() as u64, PT_BASE + 0x3000);
}

#[test]
fn msr_checks() {
    // wrmsr LSTAR with a non-canonical value -> #GP; unknown MSR -> #GP; good value sticks.
    let (mut c, mut p) = setup(&[0x0f, 0x30]);
    c.regs[1] = 0xc000_0082;
    c.regs[2] = 0x8000;
    c.regs[0] = 0;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::GP as usize));
    let (mut c, mut p) = setup(&[0x0f, 0x32]);
    c.regs[1] = 0x1234_5678;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::GP as usize));
    let (mut c, mut p) = setup(&[0x0f, 0x30, 0x0f, 0x32]);
    c.regs[1] = 0xc000_0100; // FS_BASE
    c.regs[2] = 0xffff_ffff;
    c.regs[0] = 0xffff_f000;
    c.step(&mut p);
    c.regs[0] = 0;
    c.regs[2] = 0;
    c.step(&mut p);
    assert_eq!((c.regs[2] << 32) | c.regs[0], 0xffff_ffff_ffff_f000);
    assert_eq!(c.seg[crate::state::FS].base, 0xffff_ffff_ffff_f000);
    // EFER.LME cannot change while paging is on.
    let (mut c, mut p) = setup(&[0x0f, 0x30]);
    c.regs[1] = 0xc000_0080;
    c.regs[0] = 0x801; // SCE|NXE, LME cleared
    c.regs[2] = 0;
    c.step(&mut p);
    assert_eq!(last_exception(&c), Some(fault::GP as usize));
}

#[test]
fn rdrand_is_deterministic_per_seed() {
    let run = || {
        let (mut c, mut p) = setup(&[0x48, 0x0f, 0xc7, 0xf0, 0x48, 0x0f, 0xc7, 0xf3]); // rdrand rax; rdrand rbx
        c.step(&mut p);
        c.step(&mut p);
        assert_ne!(c.rflags & flags::CF, 0);
        (c.regs[0], c.regs[3])
    };
    let a = run();
    assert_eq!(a, run());
    assert_ne!(a.0, a.1);
}

#[test]
fn cr_reserved_bits_fault() {
    // CR4 bit 31 is reserved; CR0.PG without PE is invalid; CR8 above 15 is invalid.
    for (code, val) in [
        ([0x0f, 0x22, 0xe0], 1u64 << 31),
        ([0x0f, 0x22, 0xc0], cr0::PG),
        ([0x44, 0x0f, 0x22, 0xc0].as_slice().try_into().unwrap_or([0x0f, 0x22, 0xc0]), 16),
    ] {
        let (mut c, mut p) = setup(&code);
        c.regs[0] = val;
        c.step(&mut p);
        assert_eq!(last_exception(&c), Some(fault::GP as usize), "value {val:#x}");
    }
}

#[test]
fn lock_prefix_rules() {
    // lock add [rbx], eax is fine; lock add eax, ebx is #UD; lock mov [rbx], eax is #UD.
    let (mut c, mut p) = setup(&[0xf0, 0x01, 0x03]);
    c.regs[3] = 0x9000;
    c.regs[0] = 5;
    c.step(&mut p);
    assert_eq!(p.ram.read_u32(GuestPhys(0x9000)), Some(5));
    for code in [[0xf0, 0x01, 0xd8], [0xf0, 0x89, 0x03]] {
        let (mut c, mut p) = setup(&code);
        c.regs[3] = 0x9000;
        c.step(&mut p);
        assert_eq!(last_exception(&c), Some(fault::UD as usize));
    }
}

#[test]
fn dead_flags_are_exact_when_the_budget_cuts_the_block() {
    // add rax, rbx; xor rcx, rdx; hlt. The XOR overwrites every status flag, so the ADD runs
    // without recording its flags (block.rs); when the budget ends the block after the ADD,
    // its flags must still be exact: 0xffff_ffff_ffff_ffff + 1 = 0 sets CF, ZF, PF and AF.
    let code = [0x48, 0x01, 0xd8, 0x48, 0x31, 0xd1, 0xf4];
    let (mut c, mut p) = setup(&code);
    c.regs[0] = u64::MAX;
    c.regs[3] = 1;
    c.regs[1] = 0x80;
    c.regs[2] = 1;
    c.run(&mut p, 1);
    assert_eq!(c.stats.instructions, 1);
    assert_eq!(c.regs[0], 0);
    let status = flags::CF | flags::PF | flags::AF | flags::ZF | flags::SF | flags::OF;
    assert_eq!(c.flags() & status, flags::CF | flags::PF | flags::AF | flags::ZF);
    // The rest of the block: XOR's flags (0x81: SF = 0, ZF = 0, PF = 1, CF = OF = 0).
    c.run(&mut p, 1);
    assert_eq!(c.regs[1], 0x81);
    assert_eq!(c.flags() & status, flags::PF);
    // Run as one block from the start, only the XOR's flags remain.
    let (mut c, mut p) = setup(&code);
    c.regs[0] = u64::MAX;
    c.regs[3] = 1;
    c.regs[1] = 0x80;
    c.regs[2] = 1;
    c.run(&mut p, 2);
    assert_eq!((c.regs[0], c.regs[1]), (0, 0x81));
    assert_eq!(c.flags() & status, flags::PF);
}
