//! Boot-image format detection and a format-independent [`load`] entry point.
//!
//! A file with a valid Multiboot v1 header (Multiboot 0.6.96 section 3.1.1) in its first
//! 8 KiB is a Multiboot kernel, whatever else it is. Otherwise it must be an ELF64 x86-64
//! executable (ELF gABI), booted directly in long mode.

use crate::elf::{self, Class};
use crate::multiboot::{find_header, load_multiboot, MultibootOptions};
use crate::{elf64::load_elf64, BootInfo, LoadError};
use sim_core::GuestRam;

/// What kind of boot image a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// Multiboot v1 kernel; the header's magic is at this file offset.
    Multiboot { header_offset: u64 },
    /// Plain ELF64 x86-64 executable.
    Elf64,
}

/// Classifies a boot image, or says why it cannot be booted.
pub fn detect(bytes: &[u8]) -> Result<ImageKind, LoadError> {
    // A bad checksum only matters if the file is not bootable some other way.
    let bad_header = match find_header(bytes) {
        Ok(Some(h)) => return Ok(ImageKind::Multiboot { header_offset: h.offset }),
        Ok(None) => None,
        Err(e @ LoadError::BadChecksum { .. }) => Some(e),
        Err(e) => return Err(e),
    };
    if !elf::is_elf(bytes) {
        return Err(bad_header.unwrap_or(LoadError::UnknownFormat));
    }
    let e = elf::parse(bytes)?;
    if e.class == Class::Elf32 {
        return Err(bad_header.unwrap_or(LoadError::Elf32WithoutMultiboot));
    }
    e.check_x86_exec()?;
    Ok(ImageKind::Elf64)
}

/// Detects the image format and loads it with the matching loader.
pub fn load(ram: &mut GuestRam, image: &[u8], opts: &MultibootOptions) -> Result<BootInfo, LoadError> {
    match detect(image)? {
        ImageKind::Multiboot { .. } => load_multiboot(ram, image, opts),
        ImageKind::Elf64 => load_elf64(ram, image, opts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiboot::HEADER_MAGIC;
    use crate::testutil::*;
    use crate::EntryMode;

    fn seg() -> Vec<Seg> {
        vec![Seg::at(0x10_0000, &[0x90; 32], 0)]
    }

    #[test]
    fn detects_formats() {
        let mb = elf(&ElfSpec::new(false, 0x10_0000, seg()).multiboot(0));
        assert_eq!(detect(&mb), Ok(ImageKind::Multiboot { header_offset: MB_OFFSET as u64 }));
        // A Multiboot header wins over ELF64.
        let mb64 = elf(&ElfSpec::new(true, 0x10_0000, seg()).multiboot(0));
        assert!(matches!(detect(&mb64), Ok(ImageKind::Multiboot { .. })));
        let plain = elf(&ElfSpec::new(true, 0x10_0000, seg()));
        assert_eq!(detect(&plain), Ok(ImageKind::Elf64));
        let a = aout(0x100, 0, 0, [0x10_0000, 0x10_0000, 0, 0, 0x10_0000]);
        assert_eq!(detect(&a), Ok(ImageKind::Multiboot { header_offset: 0 }));
    }

    #[test]
    fn explains_unbootable_files() {
        let e = detect(b"hello world").unwrap_err();
        assert_eq!(e, LoadError::UnknownFormat);
        assert_eq!(e.to_string(), "not an ELF file and no Multiboot header in the first 8 KiB");
        assert_eq!(detect(&[]), Err(LoadError::UnknownFormat));
        let elf32 = elf(&ElfSpec::new(false, 0x10_0000, seg()));
        assert_eq!(detect(&elf32), Err(LoadError::Elf32WithoutMultiboot));
        // A magic with a bad checksum in a non-ELF file is reported as such.
        let mut bad = vec![0u8; 64];
        bad[8..12].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
        assert!(matches!(detect(&bad), Err(LoadError::BadChecksum { offset: 8, .. })));
        // ... but does not stop an ELF64 file from booting.
        let mut plain = elf(&ElfSpec::new(true, 0x10_0000, seg()));
        plain[MB_OFFSET..MB_OFFSET + 4].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
        assert_eq!(detect(&plain), Ok(ImageKind::Elf64));
        let mut s = ElfSpec::new(true, 0x10_0000, seg());
        s.e_type = 3;
        assert_eq!(detect(&elf(&s)), Err(LoadError::NotExecutable { e_type: 3 }));
        let mut be = elf(&ElfSpec::new(true, 0x10_0000, seg()));
        be[5] = 2;
        assert_eq!(detect(&be), Err(LoadError::BigEndian));
        assert!(matches!(detect(b"\x7fELF\x02\x01\x01"), Err(LoadError::Truncated { .. })));
    }

    #[test]
    fn load_dispatches() {
        let o = MultibootOptions::default();
        let mb = elf(&ElfSpec::new(false, 0x10_0000, seg()).multiboot(0));
        assert_eq!(load(&mut ram32m(), &mb, &o).unwrap().mode, EntryMode::Protected32);
        let plain = elf(&ElfSpec::new(true, 0x10_0000, seg()));
        assert_eq!(load(&mut ram32m(), &plain, &o).unwrap().mode, EntryMode::Long64);
        assert_eq!(load(&mut ram32m(), b"xx", &o), Err(LoadError::UnknownFormat));
        let e: sim_core::Error = LoadError::UnknownFormat.into();
        assert!(matches!(e, sim_core::Error::Config(_)));
    }
}
