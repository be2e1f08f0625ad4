//! Multiboot v1 loader (Multiboot Specification 0.6.96).
//!
//! The OS image carries a Multiboot header (section 3.1) in its first 8 KiB. It is loaded
//! either from its ELF32/ELF64 program headers (PT_LOAD at `p_paddr`, bss zeroed) or, when
//! header flag bit 16 is set, from the a.out-kludge address fields. The information
//! structure (section 3.3) is built above the image (see [`crate::mbinfo`]), and the
//! machine state on entry is the one of section 3.2: EAX = 0x2BADB002, EBX = information
//! address, 32-bit protected mode with flat code/data segments, paging off, A20 on,
//! interrupts off. ESP is undefined by the specification; chimera sets it to 0.
//!
//! Header flags honoured: bit 0 (page-align modules), bit 1 (memory information is always
//! provided), bit 2 (video mode: chimera has no framebuffer, so the request is ignored and
//! information flag bit 11 stays clear, as the specification allows). Any other required
//! bit (3-15) is rejected with [`LoadError::UnsupportedFlags`].

use crate::boot::{
    gdt_bytes, BootInfo, EntryMode, InitialRegs, Segment, CODE_SELECTOR, DATA_SELECTOR,
    MULTIBOOT_BOOTLOADER_MAGIC,
};
use crate::elf::{self, LoadSegment, Reader};
use crate::place::{load_segments, reserved_ranges};
use crate::{mbinfo, LoadError};
use sim_core::GuestRam;

/// Header magic (Multiboot 0.6.96 section 3.1.1).
pub const HEADER_MAGIC: u32 = 0x1BAD_B002;
/// The header must lie entirely within this many bytes of the file (section 3.1.1).
pub const SEARCH_LIMIT: usize = 8192;

/// Header flag: align modules on 4 KiB boundaries (section 3.1.2).
pub const FLAG_PAGE_ALIGN: u32 = 1 << 0;
/// Header flag: memory information must be provided (section 3.1.2).
pub const FLAG_MEMORY_INFO: u32 = 1 << 1;
/// Header flag: video mode table requested (section 3.1.2).
pub const FLAG_VIDEO_MODE: u32 = 1 << 2;
/// Header flag: the a.out-kludge address fields are valid (section 3.1.2).
pub const FLAG_AOUT_KLUDGE: u32 = 1 << 16;
const KNOWN_REQUIRED: u32 = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;

/// A boot module: its contents and its command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    pub data: Vec<u8>,
    pub cmdline: String,
}

/// Everything the board supplies to a loader besides RAM and the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultibootOptions {
    /// Kernel command line.
    pub cmdline: String,
    /// Boot modules, loaded in order.
    pub modules: Vec<Module>,
    /// `(start, end, name)` (end exclusive) MMIO/reserved ranges: nothing is loaded there
    /// and they appear as type-2 entries in the memory map.
    pub reserved: Vec<(u64, u64, String)>,
    /// `(start, end)` (end exclusive) RAM ranges for the memory map and `mem_lower`/
    /// `mem_upper`; empty means "the regions of the `GuestRam`".
    pub ram_map: Vec<(u64, u64)>,
}

/// A parsed Multiboot header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// File offset of the magic.
    pub offset: u64,
    pub flags: u32,
    /// `(header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr)` when bit 16 is set.
    pub aout: Option<[u32; 5]>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Finds the first valid header (magic, checksum) on a 4-byte boundary in the first 8 KiB.
/// `Ok(None)`: no magic at all; `Err(BadChecksum)`: magic found but no valid header.
pub fn find_header(image: &[u8]) -> Result<Option<Header>, LoadError> {
    let limit = image.len().min(SEARCH_LIMIT);
    let mut bad = None;
    let mut off = 0usize;
    // Section 3.1.1: magic, flags, checksum are 32-bit aligned within the first 8192 bytes.
    while off + 12 <= limit {
        if le32(image, off) == HEADER_MAGIC {
            let flags = le32(image, off + 4);
            let sum = HEADER_MAGIC.wrapping_add(flags).wrapping_add(le32(image, off + 8));
            if sum == 0 {
                let r = Reader { bytes: image };
                let aout = if flags & FLAG_AOUT_KLUDGE != 0 {
                    let o = off as u64;
                    let mut f = [0u32; 5];
                    for (i, v) in f.iter_mut().enumerate() {
                        *v = r.u32("Multiboot header address fields", o + 12 + 4 * i as u64)?;
                    }
                    Some(f)
                } else {
                    None
                };
                return Ok(Some(Header { offset: off as u64, flags, aout }));
            }
            bad.get_or_insert(LoadError::BadChecksum { offset: off as u64, sum });
        }
        off += 4;
    }
    match bad {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Turns the a.out-kludge fields into one load segment (section 3.1.3) and an entry point.
fn aout_segment(image: &[u8], h: &Header, f: [u32; 5]) -> Result<(LoadSegment, u64), LoadError> {
    let [header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr] = f.map(u64::from);
    let bad = |m: String| Err(LoadError::AoutInconsistent(m));
    if load_addr > header_addr {
        return bad(format!("load_addr {load_addr:#x} is above header_addr {header_addr:#x}"));
    }
    // The file offset that load_addr corresponds to.
    let Some(file_off) = h.offset.checked_sub(header_addr - load_addr) else {
        return bad(format!(
            "header_addr - load_addr = {:#x} is more than the header's file offset {:#x}",
            header_addr - load_addr,
            h.offset
        ));
    };
    let file_len = image.len() as u64;
    let load_size = if load_end_addr == 0 {
        // Zero: text and data occupy the rest of the file.
        file_len - file_off
    } else {
        if load_end_addr < load_addr {
            return bad(format!("load_end_addr {load_end_addr:#x} is below load_addr {load_addr:#x}"));
        }
        load_end_addr - load_addr
    };
    let load_end = load_addr + load_size;
    if load_end < header_addr + 12 {
        return bad(format!(
            "the loaded range {load_addr:#x}..{load_end:#x} does not contain the header at {header_addr:#x}"
        ));
    }
    let mem_end = if bss_end_addr == 0 {
        load_end
    } else if bss_end_addr < load_end {
        return bad(format!(
            "bss_end_addr {bss_end_addr:#x} is below the end of the loaded data {load_end:#x}"
        ));
    } else {
        bss_end_addr
    };
    if entry_addr < load_addr || entry_addr >= mem_end {
        return Err(LoadError::EntryOutsideImage { entry: entry_addr });
    }
    let seg = LoadSegment {
        index: 0,
        offset: file_off,
        vaddr: load_addr,
        paddr: load_addr,
        filesz: load_size,
        memsz: mem_end - load_addr,
    };
    Ok((seg, entry_addr))
}

/// Loads a Multiboot v1 image into `ram` and builds the information structure.
pub fn load_multiboot(
    ram: &mut GuestRam,
    image: &[u8],
    opts: &MultibootOptions,
) -> Result<BootInfo, LoadError> {
    let h = find_header(image)?.ok_or(LoadError::NoMultibootHeader)?;
    let unknown = h.flags & 0xffff & !KNOWN_REQUIRED;
    if unknown != 0 {
        return Err(LoadError::UnsupportedFlags { flags: h.flags, unknown });
    }
    let (segments, entry) = match h.aout {
        Some(f) => {
            let (seg, entry) = aout_segment(image, &h, f)?;
            (vec![seg], entry)
        }
        None => {
            if !elf::is_elf(image) {
                return Err(LoadError::NoAddressFields);
            }
            let e = elf::parse(image)?;
            e.check_x86_exec()?;
            let entry = e.physical_entry()?;
            (e.segments, entry)
        }
    };
    if entry > u64::from(u32::MAX) {
        return Err(LoadError::Above4GiB { what: "32-bit entry point", addr: entry });
    }
    let avoid = reserved_ranges(&opts.reserved);
    let span = load_segments(ram, image, &segments, &avoid)?;
    if span.1 > 1 << 32 {
        return Err(LoadError::Above4GiB { what: "end of the 32-bit image", addr: span.1 });
    }
    let cs = Segment::code32(CODE_SELECTOR);
    let ds = Segment::data32(DATA_SELECTOR);
    let gdt = gdt_bytes(&cs, &ds);
    let placed = mbinfo::build(ram, opts, span, &[], h.flags & FLAG_PAGE_ALIGN != 0, Some(&gdt))?;
    Ok(BootInfo {
        entry,
        mode: EntryMode::Protected32,
        regs: InitialRegs {
            rax: u64::from(MULTIBOOT_BOOTLOADER_MAGIC),
            rbx: placed.info_addr,
            ..InitialRegs::default()
        },
        image_start: span.0,
        image_end: span.1,
        info_addr: placed.info_addr,
        boot_data_end: placed.end,
        modules: placed.modules,
        page_table_root: None,
        gdt: placed.gdt_addr.map(|a| (a, gdt.len() as u16 - 1)),
        cs,
        ds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mbinfo::{INFO_FRAMEBUFFER, MMAP_AVAILABLE, MMAP_RESERVED};
    use crate::testutil::*;
    use sim_core::GuestPhys;

    const TEXT: [u8; 0x100] = [0xaa; 0x100];

    fn opts() -> MultibootOptions {
        MultibootOptions {
            cmdline: "console=ttyS0 quiet".into(),
            modules: vec![
                Module { data: vec![1, 2, 3], cmdline: "mod0".into() },
                Module { data: vec![4; 5000], cmdline: "mod1 arg".into() },
            ],
            reserved: vec![(0x1f0_0000, 0x200_0000, "fw-ram".into())],
            ram_map: vec![],
        }
    }

    fn elf32_kernel(flags: u32) -> Vec<u8> {
        elf(&ElfSpec::new(
            false,
            0x10_0010,
            vec![Seg::at(0x10_0000, &TEXT, 0), Seg::at(0x10_1000, &[0x55; 0x80], 0x200)],
        )
        .multiboot(flags))
    }

    #[test]
    fn elf32_kernel_loads_with_full_information() {
        let mut ram = ram32m();
        // Garbage where the bss goes, to see it zeroed.
        ram.write(GuestPhys(0x10_1080), &[0xff; 0x200]);
        let img = elf32_kernel(FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO);
        let bi = load_multiboot(&mut ram, &img, &opts()).unwrap();

        assert_eq!(bi.entry, 0x10_0010);
        assert_eq!(bi.mode, EntryMode::Protected32);
        assert_eq!(bi.regs.rax, 0x2bad_b002);
        assert_eq!(bi.regs.rbx, bi.info_addr);
        assert_eq!(bi.regs.rflags, 0x2);
        assert_eq!((bi.image_start, bi.image_end), (0x10_0000, 0x10_1280));
        assert_eq!(bi.page_table_root, None);
        assert_eq!(bi.cs, Segment::code32(0x08));
        assert_eq!(bi.ds, Segment::data32(0x10));
        let (gdt, limit) = bi.gdt.unwrap();
        assert_eq!(limit, 23);
        assert_eq!(rd64(&ram, gdt), 0);
        assert_eq!(rd64(&ram, gdt + 8), 0x00cf_9b00_0000_ffff);
        assert_eq!(rd64(&ram, gdt + 16), 0x00cf_9300_0000_ffff);

        // Segments and bss.
        assert_eq!(bytes(&ram, 0x10_0000, 0x100), TEXT);
        assert_eq!(bytes(&ram, 0x10_1000, 0x80), [0x55; 0x80]);
        assert_eq!(bytes(&ram, 0x10_1080, 0x200), [0; 0x200]);

        // Information structure: first page after the image.
        let info = bi.info_addr;
        assert_eq!(info, 0x10_2000);
        assert_eq!(rd32(&ram, info), 0x24d);
        assert_eq!(rd32(&ram, info) & INFO_FRAMEBUFFER, 0);
        assert_eq!(rd32(&ram, info + 4), 640);
        assert_eq!(rd32(&ram, info + 8), (0x1f0_0000 - 0x10_0000) / 1024);
        assert_eq!(c_str(&ram, rd32(&ram, info + 16) as u64), "console=ttyS0 quiet");
        assert_eq!(c_str(&ram, rd32(&ram, info + 64) as u64), "chimera");

        // Modules: page-aligned, after all other boot data, contents and strings.
        assert_eq!(rd32(&ram, info + 20), 2);
        let list = rd32(&ram, info + 24) as u64;
        let want = [(vec![1u8, 2, 3], "mod0"), (vec![4u8; 5000], "mod1 arg")];
        for (i, (data, name)) in want.iter().enumerate() {
            let e = list + 16 * i as u64;
            let (start, end) = (rd32(&ram, e) as u64, rd32(&ram, e + 4) as u64);
            assert_eq!(start % 0x1000, 0);
            assert_eq!(end - start, data.len() as u64);
            assert_eq!(&bytes(&ram, start, data.len()), data);
            assert_eq!(c_str(&ram, rd32(&ram, e + 8) as u64), *name);
            assert_eq!(rd32(&ram, e + 12), 0);
            assert_eq!(bi.modules[i], (start, end));
            assert!(start >= info + 0x1000);
        }
        assert_eq!(bi.boot_data_end, bi.modules[1].1);

        // Memory map.
        assert_eq!(
            mmap(&ram, info),
            vec![
                (0, 0xa_0000, MMAP_AVAILABLE),
                (0xa_0000, 0x6_0000, MMAP_RESERVED),
                (0x10_0000, 0x1e0_0000, MMAP_AVAILABLE),
                (0x1f0_0000, 0x10_0000, MMAP_RESERVED),
            ]
        );
    }

    #[test]
    fn placement_is_deterministic_and_flag_controlled() {
        let img = elf32_kernel(0);
        let mut a = ram32m();
        let mut b = ram32m();
        let x = load_multiboot(&mut a, &img, &opts()).unwrap();
        let y = load_multiboot(&mut b, &img, &opts()).unwrap();
        assert_eq!(x, y);
        // Without flag bit 0 modules are only 8-byte aligned, packed after the strings.
        assert_eq!(x.modules[0].0 % 8, 0);
        assert_ne!(x.modules[0].0 % 0x1000, 0);
        assert_eq!(x.modules[1].0, (x.modules[0].1 + 7) & !7);
    }

    #[test]
    fn ram_map_option_and_explicit_ram() {
        let mut ram = GuestRam::new(&[(GuestPhys(0), 0x9_f000), (GuestPhys(0x10_0000), 0x100_0000)]).unwrap();
        let img = elf32_kernel(FLAG_MEMORY_INFO);
        let o = MultibootOptions::default();
        let bi = load_multiboot(&mut ram, &img, &o).unwrap();
        assert_eq!(rd32(&ram, bi.info_addr + 4), 0x9f000 / 1024);
        assert_eq!(rd32(&ram, bi.info_addr + 8), 16 * 1024);
        assert_eq!(rd32(&ram, bi.info_addr + 20), 0);
        assert_eq!(c_str(&ram, rd32(&ram, bi.info_addr + 16) as u64), "");
        let o =
            MultibootOptions { ram_map: vec![(0, 0x8_0000), (0x10_0000, 0x80_0000)], ..Default::default() };
        let bi = load_multiboot(&mut ram, &img, &o).unwrap();
        assert_eq!(rd32(&ram, bi.info_addr + 4), 512);
        assert_eq!(rd32(&ram, bi.info_addr + 8), 7 * 1024);
    }

    #[test]
    fn boot_data_skips_reserved_ranges() {
        let mut ram = ram32m();
        let img = elf32_kernel(FLAG_PAGE_ALIGN);
        let mut o = opts();
        o.reserved = vec![(0x10_1200, 0x10_5000, "mmio".into())];
        // The image's bss ends at 0x101280 inside "mmio": refused.
        assert!(matches!(
            load_multiboot(&mut ram, &img, &o),
            Err(LoadError::SegmentOverlapsReserved { index: 1, ref name, .. }) if name == "mmio"
        ));
        o.reserved = vec![(0x10_2000, 0x10_5000, "mmio".into())];
        let bi = load_multiboot(&mut ram, &img, &o).unwrap();
        assert_eq!(bi.info_addr, 0x10_5000);
    }

    #[test]
    fn elf64_multiboot_kernel_enters_protected_mode() {
        let img =
            elf(&ElfSpec::new(true, 0x20_0000, vec![Seg::at(0x20_0000, &TEXT, 0x10)])
                .multiboot(FLAG_MEMORY_INFO));
        let mut ram = ram32m();
        let bi = load_multiboot(&mut ram, &img, &opts()).unwrap();
        assert_eq!(bi.mode, EntryMode::Protected32);
        assert_eq!(bi.entry, 0x20_0000);
        assert_eq!(bytes(&ram, 0x20_0000, 0x100), TEXT);
    }

    #[test]
    fn higher_half_entry_is_translated() {
        let seg = Seg { vaddr: 0xc010_0000, paddr: 0x10_0000, data: TEXT.to_vec(), memsz: 0x100 };
        let img = elf(&ElfSpec::new(false, 0xc010_0020, vec![seg]).multiboot(0));
        let bi = load_multiboot(&mut ram32m(), &img, &opts()).unwrap();
        assert_eq!(bi.entry, 0x10_0020);
    }

    #[test]
    fn video_mode_request_is_ignored() {
        let img = elf32_kernel(FLAG_VIDEO_MODE);
        let mut ram = ram32m();
        let bi = load_multiboot(&mut ram, &img, &opts()).unwrap();
        assert_eq!(rd32(&ram, bi.info_addr) & INFO_FRAMEBUFFER, 0);
    }

    fn aout_fields() -> [u32; 5] {
        // header at file offset 0x20, text of 0x800 bytes, 0x1000 bytes of bss.
        [0x10_0020, 0x10_0000, 0x10_0800, 0x10_1800, 0x10_0040]
    }

    #[test]
    fn aout_kludge_loads() {
        let img = aout(0x900, 0x20, FLAG_MEMORY_INFO, aout_fields());
        let mut ram = ram32m();
        ram.write(GuestPhys(0x10_0800), &[0xff; 0x1000]);
        let bi = load_multiboot(&mut ram, &img, &opts()).unwrap();
        assert_eq!(bi.entry, 0x10_0040);
        assert_eq!((bi.image_start, bi.image_end), (0x10_0000, 0x10_1800));
        assert_eq!(bytes(&ram, 0x10_0000, 0x800), img[..0x800]);
        assert_eq!(bytes(&ram, 0x10_0800, 0x1000), [0; 0x1000]);
        assert_eq!(bi.info_addr, 0x10_2000);

        // load_end_addr = 0: the whole rest of the file; bss_end_addr = 0: no bss.
        let mut f = aout_fields();
        f[2] = 0;
        f[3] = 0;
        let img = aout(0x900, 0x20, 0, f);
        let mut ram = ram32m();
        let bi = load_multiboot(&mut ram, &img, &opts()).unwrap();
        assert_eq!(bi.image_end, 0x10_0900);
        assert_eq!(bytes(&ram, 0x10_0000, 0x900), img);

        // The header need not be at the start of the loaded text.
        let f = [0x10_0020, 0x10_0010, 0x10_0100, 0, 0x10_0010];
        let img = aout(0x200, 0x20, 0, f);
        let mut ram = ram32m();
        load_multiboot(&mut ram, &img, &opts()).unwrap();
        assert_eq!(bytes(&ram, 0x10_0010, 0xf0), img[0x10..0x100]);
    }

    #[test]
    fn aout_errors() {
        let load = |f: [u32; 5]| load_multiboot(&mut ram32m(), &aout(0x900, 0x20, 0, f), &opts());
        let incons = |r: Result<BootInfo, LoadError>| matches!(r, Err(LoadError::AoutInconsistent(_)));
        let mut f = aout_fields();
        f[1] = 0x10_0030; // load_addr above header_addr
        assert!(incons(load(f)));
        let mut f = aout_fields();
        f[1] = 0x0f_0000; // would start before the file
        assert!(incons(load(f)));
        let mut f = aout_fields();
        f[2] = 0x0f_0000; // load_end below load_addr
        assert!(incons(load(f)));
        let mut f = aout_fields();
        f[2] = 0x10_0010; // loaded range ends inside the header
        assert!(incons(load(f)));
        let mut f = aout_fields();
        f[3] = 0x10_0700; // bss_end below load_end
        assert!(incons(load(f)));
        let mut f = aout_fields();
        f[4] = 0x10_2000;
        assert_eq!(load(f), Err(LoadError::EntryOutsideImage { entry: 0x10_2000 }));
        let mut f = aout_fields();
        f[2] = 0x10_1000; // more than the file holds
        assert!(matches!(load(f), Err(LoadError::SegmentOutsideFile { .. })));
        let mut f = aout_fields();
        f[3] = 0x400_0000; // bss beyond RAM, across the reserved "fw-ram" range on the way:
                           // the reserved range is reported first because it names what would be overwritten.
        assert!(
            matches!(load(f), Err(LoadError::SegmentOverlapsReserved { ref name, .. }) if name == "fw-ram")
        );
        let mut f = aout_fields();
        f[3] = 0x1e0_0000; // bss into RAM's end is fine; past the end of RAM (32 MiB) is not
        assert!(load(f).is_ok());
        // Truncated address fields.
        let mut img = mb_header(1 << 16, None);
        img.extend_from_slice(&[0; 8]);
        assert!(matches!(load_multiboot(&mut ram32m(), &img, &opts()), Err(LoadError::Truncated { .. })));
    }

    #[test]
    fn header_errors() {
        let mut ram = ram32m();
        let o = opts();
        let img = elf32_kernel(1 << 3);
        assert_eq!(
            load_multiboot(&mut ram, &img, &o),
            Err(LoadError::UnsupportedFlags { flags: 8, unknown: 8 })
        );
        // Unknown optional bits (17-31) are fine.
        let img = elf32_kernel(1 << 20);
        assert!(load_multiboot(&mut ram, &img, &o).is_ok());

        let mut img = elf32_kernel(0);
        img[MB_OFFSET + 8] ^= 1;
        assert!(matches!(
            load_multiboot(&mut ram, &img, &o),
            Err(LoadError::BadChecksum { offset: 0x200, .. })
        ));
        let img = elf(&ElfSpec::new(false, 0x10_0000, vec![Seg::at(0x10_0000, &TEXT, 0)]));
        assert_eq!(load_multiboot(&mut ram, &img, &o), Err(LoadError::NoMultibootHeader));
        let mut img = vec![0u8; 0x100];
        img[0x10..0x1c].copy_from_slice(&mb_header(0, None));
        assert_eq!(load_multiboot(&mut ram, &img, &o), Err(LoadError::NoAddressFields));
        // A header beyond the first 8 KiB is not seen.
        let mut img = vec![0u8; 0x3000];
        img[0x2000..0x200c].copy_from_slice(&mb_header(0, None));
        assert_eq!(load_multiboot(&mut ram, &img, &o), Err(LoadError::NoMultibootHeader));
        // Nor one that is not 4-byte aligned.
        let mut img = vec![0u8; 0x100];
        img[0x11..0x1d].copy_from_slice(&mb_header(0, None));
        assert_eq!(load_multiboot(&mut ram, &img, &o), Err(LoadError::NoMultibootHeader));
    }

    #[test]
    fn elf_errors() {
        let o = opts();
        let load = |spec: &ElfSpec| load_multiboot(&mut ram32m(), &elf(spec), &o);
        let base = ElfSpec::new(false, 0x10_0000, vec![Seg::at(0x10_0000, &TEXT, 0)]).multiboot(0);

        let mut s = base.clone();
        s.machine = crate::elf::EM_X86_64;
        assert!(matches!(load(&s), Err(LoadError::WrongMachine { bits: 32, machine: 62, .. })));
        let mut s = base.clone();
        s.e_type = 3;
        assert_eq!(load(&s), Err(LoadError::NotExecutable { e_type: 3 }));
        let mut s = base.clone();
        s.entry = 0x20_0000;
        assert_eq!(load(&s), Err(LoadError::EntryOutsideImage { entry: 0x20_0000 }));
        let mut s = base.clone();
        s.segs[0].paddr = 0x400_0000;
        s.segs[0].vaddr = 0x400_0000;
        s.entry = 0x400_0000;
        assert!(matches!(load(&s), Err(LoadError::SegmentOutsideRam { index: 0, addr: 0x400_0000, .. })));
        let mut s = base.clone();
        s.segs[0] = Seg::at(0xf_0000, &TEXT, 0);
        s.entry = 0xf_0000;
        assert!(matches!(
            load(&s),
            Err(LoadError::SegmentOverlapsReserved { ref name, .. }) if name.contains("640 KiB")
        ));
        let mut s = base.clone();
        s.segs[0] = Seg::at(0x1f0_0000, &TEXT, 0);
        s.entry = 0x1f0_0000;
        assert!(matches!(
            load(&s),
            Err(LoadError::SegmentOverlapsReserved { ref name, range_start: 0x1f0_0000, .. }) if name == "fw-ram"
        ));
        let mut s = base.clone();
        s.segs[0].memsz = 0x10;
        assert!(matches!(load(&s), Err(LoadError::BadSegment { index: 0, .. })));
        let mut s = base.clone();
        s.segs.clear();
        assert_eq!(load(&s), Err(LoadError::NoLoadableSegments));
        // 32-bit end beyond 4 GiB is just outside RAM, never an overflow panic.
        let mut s = base.clone();
        s.segs[0] = Seg::at(0xffff_ff80, &TEXT, 0);
        s.entry = 0xffff_ff80;
        assert!(matches!(load(&s), Err(LoadError::SegmentOutsideRam { .. })));

        let img = elf(&base);
        // Segment data cut off.
        let cut = &img[..DATA_OFFSET + 0x10];
        assert!(matches!(
            load_multiboot(&mut ram32m(), cut, &o),
            Err(LoadError::SegmentOutsideFile { index: 0, offset: 0x1000, len: 0x100, .. })
        ));
        // Program header table beyond the file.
        let mut bad = img.clone();
        bad[28..32].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        assert!(matches!(
            load_multiboot(&mut ram32m(), &bad, &o),
            Err(LoadError::Truncated { what: "program header table", .. })
        ));
        // Big-endian.
        let mut bad = img.clone();
        bad[5] = 2;
        assert_eq!(load_multiboot(&mut ram32m(), &bad, &o), Err(LoadError::BigEndian));
        let mut bad = img.clone();
        bad[4] = 3;
        assert!(matches!(load_multiboot(&mut ram32m(), &bad, &o), Err(LoadError::BadElfHeader(_))));
        // File header cut short (header is found, ELF header is not complete).
        let mut short = img[..0x20].to_vec();
        short.resize(MB_OFFSET, 0);
        short.extend_from_slice(&mb_header(0, None));
        short.truncate(MB_OFFSET + 12);
        let mut tiny = short.clone();
        tiny[20..32].fill(0);
        assert!(matches!(load_multiboot(&mut ram32m(), &tiny, &o), Err(LoadError::BadElfHeader(_))));
        // NUL in the command line.
        let mut o2 = opts();
        o2.cmdline = "a\0b".into();
        assert!(matches!(load_multiboot(&mut ram32m(), &img, &o2), Err(LoadError::NulInString { .. })));
        // Module too big for the RAM above the image.
        let mut o3 = opts();
        o3.modules[0].data = vec![0; 0x200_0000];
        assert!(matches!(
            load_multiboot(&mut ram32m(), &img, &o3),
            Err(LoadError::NoRoom { ref what, .. }) if what == "module 0"
        ));
    }

    #[test]
    fn truncated_elf_header() {
        // An ELF32 file with a valid Multiboot header cut in the middle of the ELF header.
        let mut img = b"\x7fELF\x01\x01\x01".to_vec();
        img.resize(16, 0);
        img.extend_from_slice(&mb_header(0, None));
        assert_eq!(
            load_multiboot(&mut ram32m(), &img, &opts()),
            Err(LoadError::Truncated { what: "ELF header", offset: 0, len: 52, file_len: 28 })
        );
    }

    #[test]
    fn elf64_overflowing_segment() {
        let seg = Seg { vaddr: u64::MAX - 8, paddr: u64::MAX - 8, data: vec![1; 4], memsz: 0x100 };
        let img = elf(&ElfSpec::new(true, u64::MAX - 8, vec![seg]).multiboot(0));
        assert_eq!(
            load_multiboot(&mut ram32m(), &img, &opts()),
            Err(LoadError::Above4GiB { what: "32-bit entry point", addr: u64::MAX - 8 })
        );
    }
}
