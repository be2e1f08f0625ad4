//! Errors of the image loaders.
//!
//! Every problem found in a boot image or in the load options becomes a [`LoadError`]
//! whose message tells the user what is wrong; loaders never panic on bad input.

use thiserror::Error;

/// Why an image could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    /// The file ends before a structure it must contain.
    #[error("image truncated: {what} needs file bytes {offset:#x}..+{len:#x} but the file has only {file_len:#x} bytes")]
    Truncated { what: &'static str, offset: u64, len: u64, file_len: u64 },
    /// Neither a Multiboot header nor an ELF header was found.
    #[error("not an ELF file and no Multiboot header in the first 8 KiB")]
    UnknownFormat,
    /// `load_multiboot` was called on an image without a Multiboot header.
    #[error("no Multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8 KiB")]
    NoMultibootHeader,
    /// A Multiboot magic was found but `magic + flags + checksum != 0`.
    #[error("Multiboot header at file offset {offset:#x} has a bad checksum (magic + flags + checksum = {sum:#x}, must be 0)")]
    BadChecksum { offset: u64, sum: u32 },
    /// The Multiboot header requires features (flag bits 3-15) this loader does not know.
    #[error("Multiboot header requires unsupported features: flags {flags:#010x} (unknown required bits {unknown:#06x})")]
    UnsupportedFlags { flags: u32, unknown: u32 },
    /// Flag bit 16 is clear, so the image must be ELF, but it is not.
    #[error("Multiboot header has no address fields (flag bit 16 clear) and the image is not an ELF file")]
    NoAddressFields,
    /// The a.out-kludge address fields contradict each other or the file.
    #[error("inconsistent Multiboot a.out-kludge addresses: {0}")]
    AoutInconsistent(String),
    /// The file does not start with the ELF magic.
    #[error("not an ELF file (bad magic)")]
    NotElf,
    /// The ELF file is big-endian.
    #[error("big-endian ELF files cannot run on x86")]
    BigEndian,
    /// ELF class (32/64-bit), data encoding or version field is invalid.
    #[error("bad ELF header: {0}")]
    BadElfHeader(String),
    /// The ELF machine does not match the expected one.
    #[error("ELF{bits} file is for machine {machine} but {expected} is required")]
    WrongMachine { bits: u8, machine: u16, expected: &'static str },
    /// The ELF file is not an executable (ET_EXEC).
    #[error("ELF file type {e_type} is not ET_EXEC (2); only static executables can be booted")]
    NotExecutable { e_type: u16 },
    /// A 32-bit ELF file without a Multiboot header cannot be booted directly.
    #[error("32-bit ELF file without a Multiboot header: only ELF64 x86-64 executables boot directly")]
    Elf32WithoutMultiboot,
    /// The image has nothing to load.
    #[error("image has no loadable (PT_LOAD) segments")]
    NoLoadableSegments,
    /// A program header is malformed (e.g. `p_filesz > p_memsz`).
    #[error("program header {index}: {reason}")]
    BadSegment { index: usize, reason: String },
    /// A segment's file bytes lie beyond the end of the file.
    #[error("segment {index}: file bytes {offset:#x}..+{len:#x} lie beyond the end of the file ({file_len:#x} bytes)")]
    SegmentOutsideFile { index: usize, offset: u64, len: u64, file_len: u64 },
    /// A segment does not fit in one guest RAM region.
    #[error("segment {index} at {addr:#x}..+{len:#x} is not inside guest RAM")]
    SegmentOutsideRam { index: usize, addr: u64, len: u64 },
    /// A segment overlaps an MMIO or reserved range.
    #[error("segment {index} at {addr:#x}..{end:#x} overlaps `{name}` ({range_start:#x}..{range_end:#x})")]
    SegmentOverlapsReserved {
        index: usize,
        addr: u64,
        end: u64,
        name: String,
        range_start: u64,
        range_end: u64,
    },
    /// The entry point is not inside any loaded segment.
    #[error("entry point {entry:#x} is outside the loaded segments")]
    EntryOutsideImage { entry: u64 },
    /// An address that a 32-bit structure or 32-bit entry needs is above 4 GiB.
    #[error("{what} at {addr:#x} is not below 4 GiB")]
    Above4GiB { what: &'static str, addr: u64 },
    /// Address arithmetic on values from the image overflowed.
    #[error("address overflow computing {0}")]
    Overflow(&'static str),
    /// No free RAM above the image for the boot information or modules.
    #[error("no free guest RAM above the image for {what} ({size:#x} bytes)")]
    NoRoom { what: String, size: u64 },
    /// A command line contains a NUL byte.
    #[error("{what} contains a NUL byte")]
    NulInString { what: String },
    /// The image file has no bytes at all.
    #[error("image file is empty")]
    EmptyImage,
    /// A recognised format that this loader does not boot.
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(&'static str),
    /// A big-endian image for a machine that boots little-endian.
    #[error("{0} is big-endian; only little-endian images can be booted")]
    BigEndianImage(&'static str),
    /// An image or boot structure does not fit in the machine's RAM.
    #[error("{what} at {addr:#x}..+{size:#x} does not fit in guest RAM")]
    OutsideRam { what: &'static str, addr: u64, size: u64 },
    /// The board configuration handed to a loader or table builder is inconsistent.
    #[error("invalid board configuration: {0}")]
    InvalidConfig(String),
    /// The device tree could not be built.
    #[error("building the device tree failed: {0}")]
    DeviceTree(String),
    /// The device tree exceeds the 2 MiB the arm64 boot protocol allows.
    #[error("device tree is {size:#x} bytes; the arm64 boot protocol allows at most 2 MiB")]
    DtbTooLarge { size: u64 },
}

impl From<LoadError> for sim_core::Error {
    fn from(e: LoadError) -> Self {
        sim_core::Error::Config(e.to_string())
    }
}
