//! Minimal, bounds-checked ELF parsing: the file header and PT_LOAD program headers of
//! little-endian ELF32 and ELF64 files (ELF gABI, "ELF Header" and "Program Header").

use crate::LoadError;

/// `e_machine` of i386 (ELF gABI).
pub const EM_386: u16 = 3;
/// `e_machine` of x86-64 (ELF gABI).
pub const EM_X86_64: u16 = 62;
/// `e_type` of an executable file (ELF gABI).
pub const ET_EXEC: u16 = 2;
const PT_LOAD: u32 = 1;
const PN_XNUM: u16 = 0xffff;

/// ELF file class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Elf32,
    Elf64,
}

/// One PT_LOAD program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSegment {
    /// Index in the program header table (for error messages).
    pub index: usize,
    pub offset: u64,
    pub vaddr: u64,
    pub paddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// The parts of an ELF file a loader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfFile {
    pub class: Class,
    pub machine: u16,
    pub e_type: u16,
    pub entry: u64,
    /// PT_LOAD segments with a non-zero memory size, in file order.
    pub segments: Vec<LoadSegment>,
}

/// True if `bytes` starts with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// Bounds-checked little-endian field reader over the file.
pub(crate) struct Reader<'a> {
    pub bytes: &'a [u8],
}

impl Reader<'_> {
    /// The file bytes `[off, off+len)` or a `Truncated` error naming `what`.
    pub fn get(&self, what: &'static str, off: u64, len: u64) -> Result<&[u8], LoadError> {
        let file_len = self.bytes.len() as u64;
        let trunc = LoadError::Truncated { what, offset: off, len, file_len };
        let end = off.checked_add(len).ok_or(trunc.clone())?;
        if end > file_len {
            return Err(trunc);
        }
        // Both bounds are <= file length, which fits usize.
        Ok(&self.bytes[off as usize..end as usize])
    }
    pub fn u16(&self, what: &'static str, off: u64) -> Result<u16, LoadError> {
        let b = self.get(what, off, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(&self, what: &'static str, off: u64) -> Result<u32, LoadError> {
        let b = self.get(what, off, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&self, what: &'static str, off: u64) -> Result<u64, LoadError> {
        let b = self.get(what, off, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// Parses the file header and program headers, checking identification, byte order and
/// version. Machine and type are returned for the caller to check.
pub fn parse(bytes: &[u8]) -> Result<ElfFile, LoadError> {
    if !is_elf(bytes) {
        return Err(LoadError::NotElf);
    }
    let r = Reader { bytes };
    // ELF gABI, e_ident: EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6.
    let ident = r.get("ELF identification", 0, 16)?;
    let class = match ident[4] {
        1 => Class::Elf32,
        2 => Class::Elf64,
        c => return Err(LoadError::BadElfHeader(format!("invalid class {c}"))),
    };
    match ident[5] {
        1 => {}
        2 => return Err(LoadError::BigEndian),
        d => return Err(LoadError::BadElfHeader(format!("invalid data encoding {d}"))),
    }
    if ident[6] != 1 {
        return Err(LoadError::BadElfHeader(format!("invalid identification version {}", ident[6])));
    }
    let hdr_len = match class {
        Class::Elf32 => 52,
        Class::Elf64 => 64,
    };
    r.get("ELF header", 0, hdr_len)?;
    let e_type = r.u16("ELF header", 16)?;
    let machine = r.u16("ELF header", 18)?;
    let version = r.u32("ELF header", 20)?;
    if version != 1 {
        return Err(LoadError::BadElfHeader(format!("invalid e_version {version}")));
    }
    // ELF gABI field offsets for each class.
    let (entry, phoff, phentsize, phnum, want_entsize) = match class {
        Class::Elf32 => (
            u64::from(r.u32("ELF header", 24)?),
            u64::from(r.u32("ELF header", 28)?),
            r.u16("ELF header", 42)?,
            r.u16("ELF header", 44)?,
            32u16,
        ),
        Class::Elf64 => (
            r.u64("ELF header", 24)?,
            r.u64("ELF header", 32)?,
            r.u16("ELF header", 54)?,
            r.u16("ELF header", 56)?,
            56u16,
        ),
    };
    if phnum == PN_XNUM {
        return Err(LoadError::BadElfHeader(
            "more than 65534 program headers (PN_XNUM) are not supported".into(),
        ));
    }
    if phnum > 0 && phentsize < want_entsize {
        return Err(LoadError::BadElfHeader(format!(
            "e_phentsize {phentsize} is smaller than a program header ({want_entsize})"
        )));
    }
    let table_len = u64::from(phentsize) * u64::from(phnum);
    r.get("program header table", phoff, table_len)?;
    let mut segments = Vec::new();
    for i in 0..u64::from(phnum) {
        // In range: the whole table was checked above.
        let at = phoff + i * u64::from(phentsize);
        let what = "program header";
        let p_type = r.u32(what, at)?;
        if p_type != PT_LOAD {
            continue;
        }
        let (offset, vaddr, paddr, filesz, memsz) = match class {
            Class::Elf32 => (
                u64::from(r.u32(what, at + 4)?),
                u64::from(r.u32(what, at + 8)?),
                u64::from(r.u32(what, at + 12)?),
                u64::from(r.u32(what, at + 16)?),
                u64::from(r.u32(what, at + 20)?),
            ),
            Class::Elf64 => (
                r.u64(what, at + 8)?,
                r.u64(what, at + 16)?,
                r.u64(what, at + 24)?,
                r.u64(what, at + 32)?,
                r.u64(what, at + 40)?,
            ),
        };
        let index = i as usize;
        if filesz > memsz {
            return Err(LoadError::BadSegment {
                index,
                reason: format!("p_filesz {filesz:#x} is larger than p_memsz {memsz:#x}"),
            });
        }
        if memsz == 0 {
            continue;
        }
        segments.push(LoadSegment { index, offset, vaddr, paddr, filesz, memsz });
    }
    Ok(ElfFile { class, machine, e_type, entry, segments })
}

impl ElfFile {
    /// Checks that the file is an executable for the machine its class requires
    /// (EM_386 for ELF32, EM_X86_64 for ELF64) and has something to load.
    pub fn check_x86_exec(&self) -> Result<(), LoadError> {
        let (bits, want, name) = match self.class {
            Class::Elf32 => (32, EM_386, "EM_386 (3)"),
            Class::Elf64 => (64, EM_X86_64, "EM_X86_64 (62)"),
        };
        if self.machine != want {
            return Err(LoadError::WrongMachine { bits, machine: self.machine, expected: name });
        }
        if self.e_type != ET_EXEC {
            return Err(LoadError::NotExecutable { e_type: self.e_type });
        }
        if self.segments.is_empty() {
            return Err(LoadError::NoLoadableSegments);
        }
        Ok(())
    }

    /// Translates the entry point to a physical address: if it lies in a segment's
    /// virtual range it is moved by that segment's `p_paddr - p_vaddr`; otherwise it must
    /// lie in a segment's physical range.
    pub fn physical_entry(&self) -> Result<u64, LoadError> {
        let e = self.entry;
        for s in &self.segments {
            if e >= s.vaddr && e - s.vaddr < s.memsz {
                return s.paddr.checked_add(e - s.vaddr).ok_or(LoadError::Overflow("entry point"));
            }
        }
        for s in &self.segments {
            if e >= s.paddr && e - s.paddr < s.memsz {
                return Ok(e);
            }
        }
        Err(LoadError::EntryOutsideImage { entry: e })
    }
}
