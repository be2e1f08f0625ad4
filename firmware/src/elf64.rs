//! Direct boot of plain ELF64 x86-64 executables (no Multiboot header) in 64-bit long mode.
//!
//! PT_LOAD segments are copied to `p_paddr` (bss zeroed); the entry point is translated to
//! a physical address through the segment that contains it (ELF gABI `p_vaddr`/`p_paddr`).
//!
//! The loader owns a fixed low region, `0x1000..0x10000`, which no segment may overlap:
//!
//! | range            | contents                                                   |
//! |------------------|------------------------------------------------------------|
//! | `0x1000..0x2000` | PML4 (CR3); entry 0 points to the PDPT                     |
//! | `0x2000..0x3000` | PDPT; entries 0-3 point to the four page directories      |
//! | `0x3000..0x7000` | four page directories of 2 MiB pages: identity map 0-4 GiB |
//! | `0x7000..0x7018` | GDT: null, 64-bit code at 0x08, data at 0x10               |
//! | `0x8000..0x10000`| initial stack; RSP = 0x10000                               |
//!
//! All page-table entries are present, writable, supervisor (Intel SDM vol. 3 section
//! 4.5). The region stays "available" in the memory map: the kernel may reuse it once it
//! has its own tables. A Multiboot-style information structure is built above the image as
//! for Multiboot kernels (see [`crate::mbinfo`]); on entry RDI and RBX hold its address
//! and RSI and RAX hold 0x2BADB002.

use crate::boot::{
    gdt_bytes, BootInfo, EntryMode, InitialRegs, Segment, CODE_SELECTOR, DATA_SELECTOR,
    MULTIBOOT_BOOTLOADER_MAGIC,
};
use crate::elf::{self, Class};
use crate::multiboot::MultibootOptions;
use crate::place::{load_segments, reserved_ranges, Range};
use crate::{mbinfo, LoadError};
use sim_core::{GuestPhys, GuestRam};

/// Address of the PML4 (the CR3 value).
pub const PML4_ADDR: u64 = 0x1000;
/// Address of the page-directory-pointer table.
pub const PDPT_ADDR: u64 = 0x2000;
/// Address of the first of four page directories.
pub const PD_ADDR: u64 = 0x3000;
/// Address of the GDT.
pub const GDT_ADDR: u64 = 0x7000;
/// Initial RSP (top of the stack at `0x8000..0x10000`).
pub const STACK_TOP: u64 = 0x1_0000;
/// The whole loader-owned low region `[LOW_REGION_START, LOW_REGION_END)`.
pub const LOW_REGION_START: u64 = 0x1000;
/// End (exclusive) of the loader-owned low region.
pub const LOW_REGION_END: u64 = 0x1_0000;

const PTE_P_RW: u64 = 0x3;
const PTE_PS: u64 = 0x80;

fn low_region() -> Range {
    Range::new(LOW_REGION_START, LOW_REGION_END, "boot page tables, GDT and stack (0x1000-0xffff)")
}

/// Writes the identity-mapping page tables for the first 4 GiB.
fn write_page_tables(ram: &mut GuestRam) -> Result<(), LoadError> {
    let mut tables = vec![0u8; (GDT_ADDR - PML4_ADDR) as usize];
    let mut set = |addr: u64, v: u64| {
        let off = (addr - PML4_ADDR) as usize;
        tables[off..off + 8].copy_from_slice(&v.to_le_bytes());
    };
    set(PML4_ADDR, PDPT_ADDR | PTE_P_RW);
    for i in 0..4u64 {
        let pd = PD_ADDR + i * 0x1000;
        set(PDPT_ADDR + i * 8, pd | PTE_P_RW);
        for j in 0..512u64 {
            let phys = (i << 30) | (j << 21);
            set(pd + j * 8, phys | PTE_P_RW | PTE_PS);
        }
    }
    if ram.write(GuestPhys(PML4_ADDR), &tables) {
        Ok(())
    } else {
        Err(LoadError::NoRoom {
            what: "boot page tables (0x1000-0x6fff are not RAM)".into(),
            size: tables.len() as u64,
        })
    }
}

/// Loads a plain ELF64 x86-64 executable and prepares 64-bit long-mode entry.
pub fn load_elf64(ram: &mut GuestRam, image: &[u8], opts: &MultibootOptions) -> Result<BootInfo, LoadError> {
    let e = elf::parse(image)?;
    if e.class != Class::Elf64 {
        return Err(LoadError::Elf32WithoutMultiboot);
    }
    e.check_x86_exec()?;
    let entry = e.physical_entry()?;
    if entry >= 1 << 32 {
        return Err(LoadError::Above4GiB {
            what: "entry point (only 0-4 GiB is identity-mapped)",
            addr: entry,
        });
    }
    if !ram.contains(GuestPhys(LOW_REGION_START), LOW_REGION_END - LOW_REGION_START) {
        return Err(LoadError::NoRoom {
            what: "boot page tables, GDT and stack at 0x1000-0xffff (not RAM)".into(),
            size: LOW_REGION_END - LOW_REGION_START,
        });
    }
    let mut avoid = reserved_ranges(&opts.reserved);
    avoid.push(low_region());
    let span = load_segments(ram, image, &e.segments, &avoid)?;

    write_page_tables(ram)?;
    let cs = Segment::code64(CODE_SELECTOR);
    let ds = Segment::data32(DATA_SELECTOR);
    let gdt = gdt_bytes(&cs, &ds);
    if !ram.write(GuestPhys(GDT_ADDR), &gdt) {
        return Err(LoadError::NoRoom { what: "GDT".into(), size: gdt.len() as u64 });
    }
    // The stack starts empty.
    if let Some(stack) = ram.slice_mut(GuestPhys(0x8000), (STACK_TOP - 0x8000) as usize) {
        stack.fill(0);
    }

    let placed = mbinfo::build(ram, opts, span, &[low_region()], true, None)?;
    let magic = u64::from(MULTIBOOT_BOOTLOADER_MAGIC);
    Ok(BootInfo {
        entry,
        mode: EntryMode::Long64,
        regs: InitialRegs {
            rax: magic,
            rbx: placed.info_addr,
            rsi: magic,
            rdi: placed.info_addr,
            rsp: STACK_TOP,
            ..InitialRegs::default()
        },
        image_start: span.0,
        image_end: span.1,
        info_addr: placed.info_addr,
        boot_data_end: placed.end,
        modules: placed.modules,
        page_table_root: Some(PML4_ADDR),
        gdt: Some((GDT_ADDR, gdt.len() as u16 - 1)),
        cs,
        ds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiboot::Module;
    use crate::testutil::*;

    fn opts() -> MultibootOptions {
        MultibootOptions {
            cmdline: "root=/dev/vda".into(),
            modules: vec![Module { data: vec![9; 100], cmdline: "initrd".into() }],
            reserved: vec![(0xfec0_0000, 0xfec0_1000, "ioapic".into())],
            ram_map: vec![],
        }
    }

    fn kernel() -> Vec<u8> {
        elf(&ElfSpec::new(true, 0x20_0100, vec![Seg::at(0x20_0000, &[0xcc; 0x300], 0x1000)]))
    }

    #[test]
    fn long_mode_entry_state() {
        let mut ram = ram32m();
        ram.write(GuestPhys(0x20_0300), &[0xff; 0x1000]);
        let bi = load_elf64(&mut ram, &kernel(), &opts()).unwrap();
        assert_eq!(bi.mode, EntryMode::Long64);
        assert_eq!(bi.entry, 0x20_0100);
        assert_eq!(bi.page_table_root, Some(0x1000));
        assert_eq!(bi.gdt, Some((0x7000, 23)));
        assert_eq!(bi.cs, Segment::code64(0x08));
        assert_eq!(bi.ds, Segment::data32(0x10));
        assert_eq!(bi.regs.rsp, 0x1_0000);
        assert_eq!(bi.regs.rdi, bi.info_addr);
        assert_eq!(bi.regs.rbx, bi.info_addr);
        assert_eq!(bi.regs.rsi, 0x2bad_b002);
        assert_eq!(bi.regs.rax, 0x2bad_b002);
        assert_eq!(bi.regs.rflags, 0x2);
        assert_eq!(bi.info_addr, 0x20_2000);

        assert_eq!(bytes(&ram, 0x20_0000, 0x300), [0xcc; 0x300]);
        assert_eq!(bytes(&ram, 0x20_0300, 0x1000), [0; 0x1000]);

        // GDT.
        assert_eq!(rd64(&ram, 0x7000), 0);
        assert_eq!(rd64(&ram, 0x7008), 0x00af_9b00_0000_ffff);
        assert_eq!(rd64(&ram, 0x7010), 0x00cf_9300_0000_ffff);

        // Page tables: PML4[0] -> PDPT, PDPT[0..4] -> PDs, 2 MiB identity pages.
        assert_eq!(rd64(&ram, 0x1000), 0x2003);
        assert_eq!(rd64(&ram, 0x1008), 0);
        for i in 0..4 {
            assert_eq!(rd64(&ram, 0x2000 + 8 * i), (0x3000 + 0x1000 * i) | 3);
        }
        assert_eq!(rd64(&ram, 0x2020), 0);
        assert_eq!(rd64(&ram, 0x3000), 0x83);
        assert_eq!(rd64(&ram, 0x3008), 0x20_0083);
        // Last 2 MiB page below 4 GiB.
        assert_eq!(rd64(&ram, 0x6ff8), 0xffe0_0083);

        // Information structure.
        let info = bi.info_addr;
        assert_eq!(rd32(&ram, info), 0x24d);
        assert_eq!(c_str(&ram, rd32(&ram, info + 16) as u64), "root=/dev/vda");
        assert_eq!(rd32(&ram, info + 20), 1);
        let m = rd32(&ram, info + 24) as u64;
        let start = rd32(&ram, m) as u64;
        assert_eq!(start % 0x1000, 0);
        assert_eq!(bytes(&ram, start, 100), [9; 100]);
        assert_eq!(c_str(&ram, rd32(&ram, m + 8) as u64), "initrd");
        let map = mmap(&ram, info);
        assert_eq!(map.len(), 4);
        assert_eq!(map[3], (0xfec0_0000, 0x1000, 2));
    }

    #[test]
    fn higher_half_kernel_enters_at_physical_address() {
        let seg = Seg { vaddr: 0xffff_ffff_8020_0000, paddr: 0x20_0000, data: vec![0x90; 0x10], memsz: 0x10 };
        let img = elf(&ElfSpec::new(true, 0xffff_ffff_8020_0008, vec![seg]));
        let bi = load_elf64(&mut ram32m(), &img, &opts()).unwrap();
        assert_eq!(bi.entry, 0x20_0008);
    }

    #[test]
    fn errors() {
        let o = opts();
        // Overlapping the loader's low region.
        let img = elf(&ElfSpec::new(true, 0x8000, vec![Seg::at(0x8000, &[1; 16], 0)]));
        assert!(matches!(
            load_elf64(&mut ram32m(), &img, &o),
            Err(LoadError::SegmentOverlapsReserved { ref name, .. }) if name.contains("page tables")
        ));
        // 32-bit ELF.
        let img = elf(&ElfSpec::new(false, 0x10_0000, vec![Seg::at(0x10_0000, &[1; 16], 0)]));
        assert_eq!(load_elf64(&mut ram32m(), &img, &o), Err(LoadError::Elf32WithoutMultiboot));
        // Wrong machine.
        let mut s = ElfSpec::new(true, 0x10_0000, vec![Seg::at(0x10_0000, &[1; 16], 0)]);
        s.machine = 183;
        assert!(matches!(
            load_elf64(&mut ram32m(), &elf(&s), &o),
            Err(LoadError::WrongMachine { bits: 64, machine: 183, .. })
        ));
        // Not ELF at all.
        assert_eq!(load_elf64(&mut ram32m(), b"MZ\x90\x00", &o), Err(LoadError::NotElf));
        // Entry outside the segments.
        let img = elf(&ElfSpec::new(true, 0x30_0000, vec![Seg::at(0x10_0000, &[1; 16], 0)]));
        assert_eq!(
            load_elf64(&mut ram32m(), &img, &o),
            Err(LoadError::EntryOutsideImage { entry: 0x30_0000 })
        );
        // Overflowing segment end.
        let seg = Seg { vaddr: 0x50_0000, paddr: u64::MAX - 4, data: vec![], memsz: 0x100 };
        let img = elf(&ElfSpec::new(true, 0x10_0000, vec![Seg::at(0x10_0000, &[1; 16], 0), seg]));
        assert_eq!(load_elf64(&mut ram32m(), &img, &o), Err(LoadError::Overflow("segment end address")));
        // Low region not RAM.
        let mut ram = GuestRam::new(&[(GuestPhys(0x10_0000), 0x100_0000)]).unwrap();
        let img = elf(&ElfSpec::new(true, 0x20_0000, vec![Seg::at(0x20_0000, &[1; 16], 0)]));
        assert!(matches!(load_elf64(&mut ram, &img, &o), Err(LoadError::NoRoom { .. })));
    }

    #[test]
    fn entry_above_4gib_is_refused() {
        let mut ram = GuestRam::new(&[(GuestPhys(0), 0x100_0000), (GuestPhys(1 << 32), 0x20_0000)]).unwrap();
        let img = elf(&ElfSpec::new(true, 1 << 32, vec![Seg::at(1 << 32, &[1; 16], 0)]));
        assert!(matches!(
            load_elf64(&mut ram, &img, &opts()),
            Err(LoadError::Above4GiB { addr: 0x1_0000_0000, .. })
        ));
    }
}
