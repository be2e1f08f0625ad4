//! `-kernel` loading for the AArch64 `virt` board, with QEMU's placement rules
//! (hw/arm/boot.c, `arm_setup_direct_kernel_boot` and `load_aarch64_image`).
//!
//! [`detect_arm64`] classifies the file:
//!
//! * **ELF64** with `e_machine` EM_AARCH64 (183): a bare-metal program. PT_LOAD segments are
//!   copied to their physical addresses (`p_paddr`), bss zeroed; every segment must lie in
//!   RAM. It is entered at `e_entry` (translated through the segment's `p_vaddr -> p_paddr`
//!   when it is a virtual address; for identity-linked images, the common case, this is
//!   `e_entry` itself as in QEMU) with `x0..x3 = 0`: QEMU sets only the PC for non-Linux
//!   images, and a CPU reset leaves the registers zero.
//! * **Linux arm64 Image** ("ARM\x64" at offset 0x38; Linux
//!   Documentation/arch/arm64/booting.rst): loaded at a 2 MiB-aligned base plus
//!   `text_offset` and entered at its first byte with `x0` = DTB address, `x1..x3 = 0`
//!   (booting.rst "Call the kernel image"). The base is the start of RAM, except that QEMU
//!   adds 2 MiB when `text_offset` is below 4 KiB because its boot stub occupies the first
//!   4 KiB of RAM; we keep QEMU's addresses (kernel at `0x4020_0000` for `text_offset` 0)
//!   so a guest sees the same layout. An Image with `image_size` 0 (kernels before 3.17)
//!   has no valid `text_offset`; booting.rst says to assume `0x80000`.
//! * **Anything else**: a raw binary, which QEMU treats as a Linux kernel without a header:
//!   loaded at RAM + `0x80000` (QEMU `KERNEL64_LOAD_ADDR`) and entered there with
//!   `x0` = DTB address. Gzip, EFI zboot and U-Boot uImage files are refused with a clear
//!   error instead of being run as code (QEMU unpacks the first two and loads uImages).
//!
//! The initrd goes at `RAM + min(RAM size / 2, 128 MiB)`, or right after the kernel if
//! the kernel reaches further, rounded up to 4 KiB (QEMU: same rule, "so that the
//! decompressed kernel will not clobber it"). The kernel's extent is `image_size` for an
//! Image (booting.rst: that much memory from the start of the image must be free), the
//! file size for a raw binary and the highest segment end for ELF. QEMU loads no initrd
//! for ELF images; we load it at the same place and describe it in `/chosen`.
//!
//! The DTB goes
//!
//! * for Linux Images and raw binaries, at the first 2 MiB boundary after the initrd (or
//!   after where it would start), as QEMU does because some arm64 kernels map the DTB's
//!   whole 2 MiB block early; with 256 MiB or more of RAM and no initrd that is
//!   `0x4800_0000`;
//! * for ELF images, at the start of RAM when it fits below the lowest segment (QEMU: "if
//!   there is still some room left at the base of RAM ... like we do for images loaded with
//!   -bios"). Otherwise QEMU writes it to address 0, which on `virt` is flash, and the guest
//!   cannot find it; here it goes where it would for a Linux kernel (after the image and
//!   initrd, 2 MiB-aligned), and [`VirtBootInfo::dtb`] tells the board where.
//!
//! The exception level at entry is the caller's choice ([`VirtLoadOptions::entry_el`]):
//! EL1 for the board that models PSCI itself, EL2 (booting.rst recommends it for Linux) or
//! EL3 for firmware that owns the secure monitor. The rest of the entry state is fixed by
//! booting.rst and applies to every kind: MMU and data cache off, `PSTATE.DAIF` all masked,
//! `SP_ELx` selected.

use super::fdt::{build_virt_fdt, PsciConduit, VirtFdtConfig};
use crate::elf::{self, Class, Reader, ET_EXEC};
use crate::place::{align_up, load_segments, Range};
use crate::LoadError;
use sim_core::{GuestPhys, GuestRam};

/// `e_machine` of AArch64 (ELF for the Arm 64-bit Architecture, AAELF64).
pub const EM_AARCH64: u16 = 183;
/// Magic of the arm64 Image header at offset 0x38 (booting.rst).
pub const ARM64_IMAGE_MAGIC: [u8; 4] = *b"ARM\x64";
/// File offset of the Image magic.
const IMAGE_MAGIC_OFFSET: usize = 0x38;
/// Size of the Image header (booting.rst: code0 .. res5).
const IMAGE_HEADER_LEN: u64 = 64;
/// Image header `flags` bit 0: kernel endianness, 1 = big-endian (booting.rst).
const IMAGE_FLAG_BE: u64 = 1;
/// Load offset of headerless images and of Images with `image_size` 0 (booting.rst; QEMU
/// `KERNEL64_LOAD_ADDR`).
pub const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;
/// QEMU's boot stub occupies this much of the start of RAM (`BOOTLOADER_MAX_SIZE`).
const BOOT_STUB_SIZE: u64 = 0x1000;
const TWO_MIB: u64 = 2 << 20;
const PAGE: u64 = 0x1000;
/// The initrd starts at most this far into RAM unless the kernel is larger (QEMU).
const INITRD_MAX_OFFSET: u64 = 128 << 20;
/// Largest DTB the arm64 boot protocol accepts (booting.rst "Setup the device tree").
pub const MAX_DTB_SIZE: u64 = 2 << 20;

/// Exception level the boot CPU starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExceptionLevel {
    El1,
    El2,
    El3,
}

/// What kind of `-kernel` file was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm64ImageKind {
    /// ELF64 AArch64 executable (bare-metal program).
    Elf,
    /// Linux arm64 Image with its header fields.
    LinuxImage { text_offset: u64, image_size: u64, flags: u64 },
    /// Headerless binary, booted like a Linux kernel.
    Raw,
}

impl Arm64ImageKind {
    /// True if the image gets the Linux boot protocol (DTB address in `x0`).
    pub fn is_linux(self) -> bool {
        !matches!(self, Arm64ImageKind::Elf)
    }
}

/// Inputs of [`load_virt`].
#[derive(Debug, Clone)]
pub struct VirtLoadOptions<'a> {
    /// The machine to describe in the DTB; its `initrd` field is ignored and replaced by
    /// the loaded initrd's range.
    pub fdt: VirtFdtConfig,
    /// Initial RAM disk; `None` or empty for none (QEMU ignores an empty one too).
    pub initrd: Option<&'a [u8]>,
    pub entry_el: ExceptionLevel,
}

/// Everything the board needs to start the boot CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtBootInfo {
    pub kind: Arm64ImageKind,
    /// Initial PC.
    pub entry: GuestPhys,
    /// Initial `x0..x3`; every other general register is zero.
    pub regs: [u64; 4],
    pub el: ExceptionLevel,
    /// Where the DTB was written, and its size.
    pub dtb: GuestPhys,
    pub dtb_size: u64,
    /// `[start, end)` of the loaded initrd.
    pub initrd: Option<(GuestPhys, GuestPhys)>,
    /// `[start, end)` the kernel occupies, including bss or `image_size`.
    pub image_start: GuestPhys,
    pub image_end: GuestPhys,
}

/// Maps the generic ELF parser's x86-worded big-endian error.
fn parse_elf(bytes: &[u8]) -> Result<elf::ElfFile, LoadError> {
    let e = elf::parse(bytes).map_err(|err| match err {
        LoadError::BigEndian => LoadError::BigEndianImage("ELF file"),
        other => other,
    })?;
    if e.class != Class::Elf64 || e.machine != EM_AARCH64 {
        let bits = if e.class == Class::Elf64 { 64 } else { 32 };
        return Err(LoadError::WrongMachine {
            bits,
            machine: e.machine,
            expected: "EM_AARCH64 (183) in an ELF64 file",
        });
    }
    if e.e_type != ET_EXEC {
        return Err(LoadError::NotExecutable { e_type: e.e_type });
    }
    if e.segments.is_empty() {
        return Err(LoadError::NoLoadableSegments);
    }
    Ok(e)
}

/// Classifies a `-kernel` file for the `virt` board, or says why it cannot boot.
pub fn detect_arm64(bytes: &[u8]) -> Result<Arm64ImageKind, LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::EmptyImage);
    }
    if elf::is_elf(bytes) {
        parse_elf(bytes)?;
        return Ok(Arm64ImageKind::Elf);
    }
    if bytes.get(IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4) == Some(&ARM64_IMAGE_MAGIC[..]) {
        // booting.rst header: text_offset at 0x08, image_size at 0x10, flags at 0x18, all
        // little-endian u64.
        let r = Reader { bytes };
        r.get("arm64 Image header", 0, IMAGE_HEADER_LEN)?;
        return Ok(Arm64ImageKind::LinuxImage {
            text_offset: r.u64("arm64 Image header", 0x08)?,
            image_size: r.u64("arm64 Image header", 0x10)?,
            flags: r.u64("arm64 Image header", 0x18)?,
        });
    }
    // RFC 1952: gzip magic 1f 8b, compression method 8 (deflate).
    if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Err(LoadError::UnsupportedFormat("gzip-compressed kernel; decompress it to an Image first"));
    }
    // Linux drivers/firmware/efi/libstub/zboot-header.S: "MZ", then "zimg" at offset 4.
    if bytes.starts_with(b"MZ") && bytes.get(4..8) == Some(b"zimg") {
        return Err(LoadError::UnsupportedFormat("EFI zboot compressed kernel; use the uncompressed Image"));
    }
    // U-Boot include/image.h: IH_MAGIC 0x27051956, big-endian.
    if bytes.starts_with(&0x2705_1956u32.to_be_bytes()) {
        return Err(LoadError::UnsupportedFormat("U-Boot legacy uImage; use the Image inside it"));
    }
    Ok(Arm64ImageKind::Raw)
}

/// Loads `kernel` (and the initrd) into `ram`, builds and places the DTB, and returns the
/// boot CPU's entry state.
pub fn load_virt(
    ram: &mut GuestRam,
    kernel: &[u8],
    opts: &VirtLoadOptions,
) -> Result<VirtBootInfo, LoadError> {
    let cfg = &opts.fdt;
    let kind = detect_arm64(kernel)?;
    check_entry(kind, opts.entry_el, cfg.psci_conduit)?;
    let base = cfg.ram_base.raw();
    let ram_end = cfg.ram_end().filter(|_| cfg.ram_size > 0 && ram.contains(cfg.ram_base, cfg.ram_size));
    let Some(ram_end) = ram_end else {
        return Err(LoadError::InvalidConfig(format!(
            "the RAM described to the guest ({}+{:#x}) is not one guest RAM region",
            cfg.ram_base, cfg.ram_size
        )));
    };

    let (entry, image_start, image_end) = match kind {
        Arm64ImageKind::Elf => load_elf(ram, kernel, base, ram_end)?,
        _ => load_linux(ram, kernel, kind, base, ram_end)?,
    };

    // QEMU: initrd at RAM + min(size / 2, 128 MiB), never below the kernel's end,
    // page-aligned.
    let initrd_start = (base + (cfg.ram_size / 2).min(INITRD_MAX_OFFSET)).max(image_end);
    let initrd_start = align_up(initrd_start, PAGE).ok_or(LoadError::Overflow("initrd address"))?;
    let initrd = match opts.initrd {
        Some(data) if !data.is_empty() => {
            let size = data.len() as u64;
            match initrd_start.checked_add(size) {
                Some(end) if end <= ram_end => {}
                _ => return Err(LoadError::NoRoom { what: "initrd after the kernel".into(), size }),
            }
            // In RAM: checked just above.
            if !ram.write(GuestPhys(initrd_start), data) {
                return Err(LoadError::OutsideRam { what: "initrd", addr: initrd_start, size });
            }
            Some((GuestPhys(initrd_start), GuestPhys(initrd_start + size)))
        }
        _ => None,
    };
    let initrd_end = initrd.map_or(initrd_start, |(_, e)| e.raw());

    let mut fdt_cfg = cfg.clone();
    fdt_cfg.initrd = initrd;
    let blob = build_virt_fdt(&fdt_cfg)?;
    let dtb_size = blob.len() as u64;
    if dtb_size > MAX_DTB_SIZE {
        return Err(LoadError::DtbTooLarge { size: dtb_size });
    }
    let after = align_up(initrd_end, TWO_MIB).ok_or(LoadError::Overflow("device tree address"))?;
    let dtb = match kind {
        // The segments lie in RAM, so image_start >= base.
        Arm64ImageKind::Elf if image_start - base >= dtb_size => base,
        _ => after,
    };
    match dtb.checked_add(dtb_size) {
        Some(end) if end <= ram_end => {}
        _ => {
            return Err(LoadError::NoRoom {
                what: "device tree after the kernel and initrd".into(),
                size: dtb_size,
            })
        }
    }
    if !ram.write(GuestPhys(dtb), &blob) {
        return Err(LoadError::OutsideRam { what: "device tree", addr: dtb, size: dtb_size });
    }

    // booting.rst: x0 = DTB, x1..x3 = 0 for Linux; QEMU leaves x0 = 0 for ELF images.
    let regs = if kind.is_linux() { [dtb, 0, 0, 0] } else { [0; 4] };
    Ok(VirtBootInfo {
        kind,
        entry: GuestPhys(entry),
        regs,
        el: opts.entry_el,
        dtb: GuestPhys(dtb),
        dtb_size,
        initrd,
        image_start: GuestPhys(image_start),
        image_end: GuestPhys(image_end),
    })
}

/// Entry exception level against image kind and PSCI conduit.
fn check_entry(
    kind: Arm64ImageKind,
    el: ExceptionLevel,
    conduit: Option<PsciConduit>,
) -> Result<(), LoadError> {
    let bad = |m: &str| Err(LoadError::InvalidConfig(m.to_string()));
    // booting.rst "CPU mode": non-secure EL2 or EL1.
    if matches!(kind, Arm64ImageKind::LinuxImage { .. }) && el == ExceptionLevel::El3 {
        return bad("a Linux kernel must be entered at EL2 or EL1 (Documentation/arch/arm64/booting.rst)");
    }
    // An HVC from EL2 traps to EL2 itself, an SMC from EL3 to EL3 itself: the board's PSCI is
    // reachable only through SMC from EL2 (QEMU virt uses SMC when the guest has EL2) and
    // not at all from EL3, where the guest is the secure monitor.
    match (el, conduit) {
        (ExceptionLevel::El2, Some(PsciConduit::Hvc)) => {
            bad("a guest entered at EL2 cannot reach PSCI through HVC; use the SMC conduit")
        }
        (ExceptionLevel::El3, Some(_)) => {
            bad("a guest entered at EL3 is the secure monitor; the board must not provide PSCI")
        }
        _ => Ok(()),
    }
}

/// Loads an ELF64 AArch64 executable; returns `(entry, image start, image end)`.
fn load_elf(
    ram: &mut GuestRam,
    kernel: &[u8],
    base: u64,
    ram_end: u64,
) -> Result<(u64, u64, u64), LoadError> {
    let e = parse_elf(kernel)?;
    let entry = e.physical_entry()?;
    let avoid = [
        Range::new(0, base, "flash and devices below RAM"),
        Range::new(ram_end, u64::MAX, "the address space above RAM"),
    ];
    let (start, end) = load_segments(ram, kernel, &e.segments, &avoid)?;
    Ok((entry, start, end))
}

/// Loads a Linux Image or raw binary; returns `(entry, image start, image end)`.
fn load_linux(
    ram: &mut GuestRam,
    kernel: &[u8],
    kind: Arm64ImageKind,
    base: u64,
    ram_end: u64,
) -> Result<(u64, u64, u64), LoadError> {
    let len = kernel.len() as u64;
    let (offset, extent) = match kind {
        Arm64ImageKind::LinuxImage { flags, .. } if flags & IMAGE_FLAG_BE != 0 => {
            return Err(LoadError::BigEndianImage("Linux arm64 Image (header flags bit 0)"));
        }
        // booting.rst: text_offset is valid only when image_size is non-zero.
        Arm64ImageKind::LinuxImage { image_size: 0, .. } => (LEGACY_TEXT_OFFSET, len),
        Arm64ImageKind::LinuxImage { text_offset, image_size, .. } => {
            let off = if text_offset < BOOT_STUB_SIZE { text_offset + TWO_MIB } else { text_offset };
            (off, image_size.max(len))
        }
        _ => (LEGACY_TEXT_OFFSET, len),
    };
    // booting.rst: "placed text_offset bytes from a 2MB aligned base address".
    let kbase = align_up(base, TWO_MIB).ok_or(LoadError::Overflow("kernel load address"))?;
    let load = kbase.checked_add(offset).ok_or(LoadError::Overflow("kernel load address"))?;
    let outside = LoadError::OutsideRam { what: "kernel image", addr: load, size: extent };
    let end = load.checked_add(extent).ok_or(outside.clone())?;
    if end > ram_end {
        return Err(outside);
    }
    // In RAM: [load, end) lies in [base, ram_end), which the caller checked is one region.
    let dst = ram.slice_mut(GuestPhys(load), extent as usize).ok_or(outside)?;
    dst[..kernel.len()].copy_from_slice(kernel);
    // The part of image_size beyond the file (bss) starts zeroed.
    dst[kernel.len()..].fill(0);
    Ok((load, load, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm64::memmap::RAM_BASE;
    use crate::arm64::testfdt::{parse, Fdt};
    use crate::testutil::{elf, ElfSpec, Seg};

    const MIB: u64 = 1 << 20;

    fn ram(size: u64) -> GuestRam {
        GuestRam::new(&[(GuestPhys(RAM_BASE), size)]).unwrap()
    }

    fn opts<'a>(ram_size: u64) -> VirtLoadOptions<'a> {
        let mut fdt = VirtFdtConfig::new(ram_size, 2);
        fdt.bootargs = "console=ttyAMA0".into();
        VirtLoadOptions { fdt, initrd: None, entry_el: ExceptionLevel::El1 }
    }

    /// A Linux Image: header, then `body` bytes of 0xAA.
    fn image(text_offset: u64, image_size: u64, flags: u64, body: usize) -> Vec<u8> {
        let mut v = vec![0u8; 64 + body];
        v[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes()); // b +0x40
        v[8..16].copy_from_slice(&text_offset.to_le_bytes());
        v[16..24].copy_from_slice(&image_size.to_le_bytes());
        v[24..32].copy_from_slice(&flags.to_le_bytes());
        v[0x38..0x3c].copy_from_slice(b"ARM\x64");
        v[64..].fill(0xaa);
        v
    }

    fn aarch64_elf(entry: u64, segs: Vec<Seg>) -> Vec<u8> {
        let mut s = ElfSpec::new(true, entry, segs);
        s.machine = EM_AARCH64;
        elf(&s)
    }

    fn dtb_of(ram: &GuestRam, bi: &VirtBootInfo) -> Fdt {
        parse(ram.slice(bi.dtb, bi.dtb_size as usize).unwrap())
    }

    fn bytes(ram: &GuestRam, at: u64, n: usize) -> Vec<u8> {
        ram.slice(GuestPhys(at), n).unwrap().to_vec()
    }

    #[test]
    fn linux_image_with_initrd() {
        let mut r = ram(256 * MIB);
        let kernel = image(0, 0x20_0000, 0b1010, 0x1000);
        let initrd = vec![0x5a; 0x1234];
        let mut o = opts(256 * MIB);
        o.initrd = Some(&initrd);
        let bi = load_virt(&mut r, &kernel, &o).unwrap();
        assert_eq!(
            bi.kind,
            Arm64ImageKind::LinuxImage { text_offset: 0, image_size: 0x20_0000, flags: 0b1010 }
        );
        // text_offset 0 < 4 KiB: QEMU moves the kernel to base + 2 MiB.
        assert_eq!(bi.entry, GuestPhys(0x4020_0000));
        assert_eq!((bi.image_start, bi.image_end), (GuestPhys(0x4020_0000), GuestPhys(0x4040_0000)));
        assert_eq!(bytes(&r, 0x4020_0000, kernel.len()), kernel);
        // initrd at base + 128 MiB, DTB at the next 2 MiB boundary after it.
        assert_eq!(bi.initrd, Some((GuestPhys(0x4800_0000), GuestPhys(0x4800_1234))));
        assert_eq!(bytes(&r, 0x4800_0000, 0x1234), initrd);
        assert_eq!(bi.dtb, GuestPhys(0x4820_0000));
        assert_eq!(bi.regs, [0x4820_0000, 0, 0, 0]);
        assert_eq!(bi.el, ExceptionLevel::El1);
        let t = dtb_of(&r, &bi);
        assert_eq!(t.u64("/chosen", "linux,initrd-start"), 0x4800_0000);
        assert_eq!(t.u64("/chosen", "linux,initrd-end"), 0x4800_1234);
        assert_eq!(t.string("/chosen", "bootargs"), "console=ttyAMA0");
        assert_eq!(t.cells("/memory@40000000", "reg"), [0, 0x4000_0000, 0, 0x1000_0000]);
    }

    #[test]
    fn linux_image_placement_rules() {
        // No initrd, 256 MiB: DTB at 0x4800_0000 as on QEMU virt.
        let mut r = ram(256 * MIB);
        let bi = load_virt(&mut r, &image(0, 0x20_0000, 0, 16), &opts(256 * MIB)).unwrap();
        assert_eq!((bi.dtb, bi.initrd), (GuestPhys(0x4800_0000), None));
        assert_eq!(bi.regs[0], 0x4800_0000);
        assert_eq!(dtb_of(&r, &bi).prop("/chosen", "linux,initrd-start"), None);

        // text_offset 0x80000 is used as is; image_size beyond the file is zeroed.
        let mut r = ram(256 * MIB);
        r.write(GuestPhys(0x4008_0000 + 80), &[0xff; 64]);
        let bi = load_virt(&mut r, &image(0x8_0000, 0x1000, 0, 16), &opts(256 * MIB)).unwrap();
        assert_eq!(bi.entry, GuestPhys(0x4008_0000));
        assert_eq!(bi.image_end, GuestPhys(0x4008_1000));
        assert_eq!(bytes(&r, 0x4008_0000 + 80, 64), [0; 64]);

        // image_size 0 (before Linux 3.17): text_offset ignored, 0x80000 assumed.
        let mut r = ram(256 * MIB);
        let bi = load_virt(&mut r, &image(0x1234_5000, 0, 0, 16), &opts(256 * MIB)).unwrap();
        assert_eq!(bi.entry, GuestPhys(0x4008_0000));

        // 64 MiB of RAM: initrd at half of RAM (32 MiB in).
        let mut r = ram(64 * MIB);
        let initrd = [1u8; 10];
        let mut o = opts(64 * MIB);
        o.initrd = Some(&initrd);
        let bi = load_virt(&mut r, &image(0, 0x10_0000, 0, 16), &o).unwrap();
        assert_eq!(bi.initrd, Some((GuestPhys(0x4200_0000), GuestPhys(0x4200_000a))));
        assert_eq!(bi.dtb, GuestPhys(0x4220_0000));

        // A kernel reaching past that point pushes the initrd after it (page-aligned).
        let mut r = ram(64 * MIB);
        let bi = load_virt(&mut r, &image(0, 0x220_0801, 0, 16), &o).unwrap();
        assert_eq!(bi.image_end, GuestPhys(0x4240_0801));
        assert_eq!(bi.initrd.unwrap().0, GuestPhys(0x4240_1000));
        assert_eq!(bi.dtb, GuestPhys(0x4260_0000));

        // An empty initrd is no initrd.
        let mut o = opts(256 * MIB);
        o.initrd = Some(&[]);
        let bi = load_virt(&mut ram(256 * MIB), &image(0, 0x1000, 0, 16), &o).unwrap();
        assert_eq!(bi.initrd, None);
    }

    #[test]
    fn raw_binary_boots_like_linux() {
        let mut r = ram(128 * MIB);
        let code = [0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x00, 0x14]; // nop; b .
        let bi = load_virt(&mut r, &code, &opts(128 * MIB)).unwrap();
        assert_eq!(bi.kind, Arm64ImageKind::Raw);
        assert_eq!(bi.entry, GuestPhys(0x4008_0000));
        assert_eq!(bytes(&r, 0x4008_0000, 8), code);
        // 128 MiB: initrd point at 64 MiB, DTB there.
        assert_eq!(bi.dtb, GuestPhys(0x4400_0000));
        assert_eq!(bi.regs, [0x4400_0000, 0, 0, 0]);
        assert_eq!(dtb_of(&r, &bi).string("/chosen", "stdout-path"), "/pl011@9000000");
    }

    #[test]
    fn bare_metal_elf() {
        // Room below the image: the DTB goes at the start of RAM, x0 stays 0.
        let mut r = ram(256 * MIB);
        r.write(GuestPhys(0x4010_0100), &[0xee; 0x100]);
        let img = aarch64_elf(0x4010_0000, vec![Seg::at(0x4010_0000, &[0xd5; 0x100], 0x100)]);
        let bi = load_virt(&mut r, &img, &opts(256 * MIB)).unwrap();
        assert_eq!(bi.kind, Arm64ImageKind::Elf);
        assert_eq!(bi.entry, GuestPhys(0x4010_0000));
        assert_eq!(bi.regs, [0; 4]);
        assert_eq!(bi.dtb, GuestPhys(RAM_BASE));
        assert_eq!((bi.image_start, bi.image_end), (GuestPhys(0x4010_0000), GuestPhys(0x4010_0200)));
        assert_eq!(bytes(&r, 0x4010_0000, 0x100), [0xd5; 0x100]);
        assert_eq!(bytes(&r, 0x4010_0100, 0x100), [0; 0x100]);
        assert_eq!(dtb_of(&r, &bi).string("/", "compatible"), "linux,dummy-virt");

        // Linked at the start of RAM: the DTB goes after the image, as for Linux.
        let mut r = ram(256 * MIB);
        let img = aarch64_elf(0x4000_0000, vec![Seg::at(0x4000_0000, &[1; 64], 0)]);
        let bi = load_virt(&mut r, &img, &opts(256 * MIB)).unwrap();
        assert_eq!(bi.dtb, GuestPhys(0x4800_0000));
        assert_eq!(bi.regs, [0; 4]);
        assert_eq!(bytes(&r, 0x4000_0000, 64), [1; 64]);

        // A gap too small for the DTB counts as no room.
        let mut r = ram(256 * MIB);
        let img = aarch64_elf(0x4000_1000, vec![Seg::at(0x4000_1000, &[1; 64], 0)]);
        let bi = load_virt(&mut r, &img, &opts(256 * MIB)).unwrap();
        assert!(bi.dtb_size > 0x1000);
        assert_eq!(bi.dtb, GuestPhys(0x4800_0000));

        // A higher-half entry point is translated through its segment.
        let seg = Seg { vaddr: 0xffff_0000_0010_0000, paddr: 0x4020_0000, data: vec![2; 16], memsz: 16 };
        let img = aarch64_elf(0xffff_0000_0010_0008, vec![seg]);
        let bi = load_virt(&mut ram(256 * MIB), &img, &opts(256 * MIB)).unwrap();
        assert_eq!(bi.entry, GuestPhys(0x4020_0008));

        // With an initrd: it goes after the image, described in /chosen.
        let mut r = ram(256 * MIB);
        let img = aarch64_elf(0x4010_0000, vec![Seg::at(0x4010_0000, &[3; 16], 0)]);
        let initrd = [7u8; 100];
        let mut o = opts(256 * MIB);
        o.initrd = Some(&initrd);
        let bi = load_virt(&mut r, &img, &o).unwrap();
        assert_eq!(bi.initrd, Some((GuestPhys(0x4800_0000), GuestPhys(0x4800_0064))));
        assert_eq!(dtb_of(&r, &bi).u64("/chosen", "linux,initrd-end"), 0x4800_0064);
    }

    #[test]
    fn elf_errors() {
        let o = opts(64 * MIB);
        let seg = || vec![Seg::at(0x4010_0000, &[1; 16], 0)];
        // x86-64 ELF.
        let img = elf(&ElfSpec::new(true, 0x4010_0000, seg()));
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &img, &o),
            Err(LoadError::WrongMachine { bits: 64, machine: 62, .. })
        ));
        // ELF32 (even with an Arm machine number).
        let mut s = ElfSpec::new(false, 0x4010_0000, seg());
        s.machine = 40;
        assert!(matches!(detect_arm64(&elf(&s)), Err(LoadError::WrongMachine { bits: 32, machine: 40, .. })));
        // Big-endian.
        let mut img = aarch64_elf(0x4010_0000, seg());
        img[5] = 2;
        assert_eq!(detect_arm64(&img), Err(LoadError::BigEndianImage("ELF file")));
        // Not ET_EXEC.
        let mut s = ElfSpec::new(true, 0x4010_0000, seg());
        s.machine = EM_AARCH64;
        s.e_type = 3;
        assert_eq!(detect_arm64(&elf(&s)), Err(LoadError::NotExecutable { e_type: 3 }));
        // No segments.
        // (a PT_LOAD with p_memsz 0 loads nothing)
        let empty = aarch64_elf(0x4010_0000, vec![Seg::at(0x4010_0000, &[], 0)]);
        assert_eq!(detect_arm64(&empty), Err(LoadError::NoLoadableSegments));
        // A segment in flash, below RAM.
        let img = aarch64_elf(0, vec![Seg::at(0, &[1; 16], 0)]);
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &img, &o),
            Err(LoadError::SegmentOverlapsReserved { ref name, .. }) if name.contains("flash")
        ));
        // A segment past the end of RAM.
        let img = aarch64_elf(0x4400_0000, vec![Seg::at(0x43ff_fff0, &[1; 32], 0)]);
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &img, &o),
            Err(LoadError::SegmentOverlapsReserved { ref name, .. }) if name.contains("above RAM")
        ));
        // Truncated header.
        assert!(matches!(detect_arm64(b"\x7fELF\x02\x01\x01"), Err(LoadError::Truncated { .. })));
        // Entry outside every segment.
        let img = aarch64_elf(0x5000_0000, seg());
        assert_eq!(
            load_virt(&mut ram(64 * MIB), &img, &o),
            Err(LoadError::EntryOutsideImage { entry: 0x5000_0000 })
        );
    }

    #[test]
    fn image_and_format_errors() {
        let o = opts(64 * MIB);
        assert_eq!(detect_arm64(&[]), Err(LoadError::EmptyImage));
        assert!(matches!(
            detect_arm64(&[0x1f, 0x8b, 0x08, 0, 0, 0]),
            Err(LoadError::UnsupportedFormat(m)) if m.contains("gzip")
        ));
        let mut zboot = vec![0u8; 64];
        zboot[..2].copy_from_slice(b"MZ");
        zboot[4..8].copy_from_slice(b"zimg");
        assert!(matches!(detect_arm64(&zboot), Err(LoadError::UnsupportedFormat(m)) if m.contains("zboot")));
        assert!(matches!(
            detect_arm64(&[0x27, 0x05, 0x19, 0x56, 0, 0]),
            Err(LoadError::UnsupportedFormat(m)) if m.contains("uImage")
        ));
        // Magic present but the header is cut short.
        let mut short = image(0, 0x1000, 0, 0);
        short.truncate(0x3e);
        assert!(matches!(detect_arm64(&short), Err(LoadError::Truncated { what: "arm64 Image header", .. })));
        // Big-endian kernel.
        assert_eq!(
            load_virt(&mut ram(64 * MIB), &image(0, 0x1000, 1, 16), &o),
            Err(LoadError::BigEndianImage("Linux arm64 Image (header flags bit 0)"))
        );
        // image_size larger than RAM.
        assert_eq!(
            load_virt(&mut ram(64 * MIB), &image(0, 64 * MIB, 0, 16), &o),
            Err(LoadError::OutsideRam { what: "kernel image", addr: 0x4020_0000, size: 64 * MIB })
        );
        // text_offset far beyond RAM, and overflowing.
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &image(1 << 40, 0x1000, 0, 16), &o),
            Err(LoadError::OutsideRam { .. })
        ));
        assert_eq!(
            load_virt(&mut ram(64 * MIB), &image(u64::MAX - 0x1000, 0x1000, 0, 16), &o),
            Err(LoadError::Overflow("kernel load address"))
        );
        // initrd that does not fit.
        let big = vec![0u8; 40 << 20];
        let mut o2 = opts(64 * MIB);
        o2.initrd = Some(&big);
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &image(0, 0x1000, 0, 16), &o2),
            Err(LoadError::NoRoom { ref what, .. }) if what.contains("initrd")
        ));
        // initrd ends so close to the end of RAM that the DTB does not fit after it.
        let tight = vec![0u8; (32 << 20) - 0x1000];
        o2.initrd = Some(&tight);
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &image(0, 0x1000, 0, 16), &o2),
            Err(LoadError::NoRoom { ref what, .. }) if what.contains("device tree")
        ));
    }

    #[test]
    fn configuration_errors() {
        let k = image(0, 0x1000, 0, 16);
        // RAM described to the guest but not present.
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &k, &opts(128 * MIB)),
            Err(LoadError::InvalidConfig(_))
        ));
        // Linux at EL3, EL2 with HVC, EL3 with any PSCI.
        let mut o = opts(64 * MIB);
        o.entry_el = ExceptionLevel::El3;
        o.fdt.psci_conduit = None;
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &k, &o),
            Err(LoadError::InvalidConfig(m)) if m.contains("EL2 or EL1")
        ));
        o.entry_el = ExceptionLevel::El2;
        o.fdt.psci_conduit = Some(PsciConduit::Hvc);
        assert!(matches!(
            load_virt(&mut ram(64 * MIB), &k, &o),
            Err(LoadError::InvalidConfig(m)) if m.contains("SMC")
        ));
        o.fdt.psci_conduit = Some(PsciConduit::Smc);
        let bi = load_virt(&mut ram(64 * MIB), &k, &o).unwrap();
        assert_eq!(bi.el, ExceptionLevel::El2);
        // Firmware at EL3 (raw binary or ELF) without board PSCI is fine; with it, not.
        o.entry_el = ExceptionLevel::El3;
        assert!(matches!(load_virt(&mut ram(64 * MIB), &[0; 16], &o), Err(LoadError::InvalidConfig(_))));
        o.fdt.psci_conduit = None;
        let mut r = ram(64 * MIB);
        let bi = load_virt(&mut r, &[0; 16], &o).unwrap();
        assert_eq!((bi.el, bi.kind), (ExceptionLevel::El3, Arm64ImageKind::Raw));
        assert!(!dtb_of(&r, &bi).has("/psci"));
        // Bad FDT config surfaces from the loader too.
        let mut o = opts(64 * MIB);
        o.fdt.num_cpus = 0;
        assert!(matches!(load_virt(&mut ram(64 * MIB), &k, &o), Err(LoadError::InvalidConfig(_))));
    }
}
