//! Test helpers: tiny ELF32/ELF64 and a.out-kludge images built byte by byte.

use crate::elf::{EM_386, EM_X86_64, ET_EXEC};
use crate::multiboot::HEADER_MAGIC;
use sim_core::{GuestPhys, GuestRam};

/// One PT_LOAD segment to put in a test image.
#[derive(Clone)]
pub struct Seg {
    pub vaddr: u64,
    pub paddr: u64,
    pub data: Vec<u8>,
    pub memsz: u64,
}

impl Seg {
    /// Identity-addressed segment with `bss` zero bytes after `data`.
    pub fn at(paddr: u64, data: &[u8], bss: u64) -> Self {
        Self { vaddr: paddr, paddr, data: data.to_vec(), memsz: data.len() as u64 + bss }
    }
}

/// File offset of the Multiboot header in ELF test images.
pub const MB_OFFSET: usize = 0x200;
/// File offset of the first segment's data in ELF test images.
pub const DATA_OFFSET: usize = 0x1000;

/// Knobs for [`elf`].
#[derive(Clone)]
pub struct ElfSpec {
    pub bits64: bool,
    pub machine: u16,
    pub e_type: u16,
    pub entry: u64,
    pub segs: Vec<Seg>,
    pub mb_header: Option<Vec<u8>>,
}

impl ElfSpec {
    pub fn new(bits64: bool, entry: u64, segs: Vec<Seg>) -> Self {
        Self {
            bits64,
            machine: if bits64 { EM_X86_64 } else { EM_386 },
            e_type: ET_EXEC,
            entry,
            segs,
            mb_header: None,
        }
    }
    pub fn multiboot(mut self, flags: u32) -> Self {
        self.mb_header = Some(mb_header(flags, None));
        self
    }
}

fn put(v: &mut Vec<u8>, off: usize, bytes: &[u8]) {
    if v.len() < off + bytes.len() {
        v.resize(off + bytes.len(), 0);
    }
    v[off..off + bytes.len()].copy_from_slice(bytes);
}

/// Builds a little-endian ELF executable.
pub fn elf(spec: &ElfSpec) -> Vec<u8> {
    let mut f = Vec::new();
    let (phoff, phentsize) = if spec.bits64 { (64, 56) } else { (52, 32) };
    put(&mut f, 0, b"\x7fELF");
    put(&mut f, 4, &[if spec.bits64 { 2 } else { 1 }, 1, 1]);
    put(&mut f, 16, &spec.e_type.to_le_bytes());
    put(&mut f, 18, &spec.machine.to_le_bytes());
    put(&mut f, 20, &1u32.to_le_bytes());
    let n = spec.segs.len() as u16;
    if spec.bits64 {
        put(&mut f, 24, &spec.entry.to_le_bytes());
        put(&mut f, 32, &(phoff as u64).to_le_bytes());
        put(&mut f, 52, &64u16.to_le_bytes());
        put(&mut f, 54, &(phentsize as u16).to_le_bytes());
        put(&mut f, 56, &n.to_le_bytes());
    } else {
        put(&mut f, 24, &(spec.entry as u32).to_le_bytes());
        put(&mut f, 28, &(phoff as u32).to_le_bytes());
        put(&mut f, 40, &52u16.to_le_bytes());
        put(&mut f, 42, &(phentsize as u16).to_le_bytes());
        put(&mut f, 44, &n.to_le_bytes());
    }
    if let Some(h) = &spec.mb_header {
        put(&mut f, MB_OFFSET, h);
    }
    let mut data_off = DATA_OFFSET;
    for (i, s) in spec.segs.iter().enumerate() {
        let ph = phoff + i * phentsize;
        let filesz = s.data.len() as u64;
        put(&mut f, ph, &1u32.to_le_bytes()); // PT_LOAD
        if spec.bits64 {
            put(&mut f, ph + 4, &7u32.to_le_bytes());
            put(&mut f, ph + 8, &(data_off as u64).to_le_bytes());
            put(&mut f, ph + 16, &s.vaddr.to_le_bytes());
            put(&mut f, ph + 24, &s.paddr.to_le_bytes());
            put(&mut f, ph + 32, &filesz.to_le_bytes());
            put(&mut f, ph + 40, &s.memsz.to_le_bytes());
            put(&mut f, ph + 48, &0x1000u64.to_le_bytes());
        } else {
            put(&mut f, ph + 4, &(data_off as u32).to_le_bytes());
            put(&mut f, ph + 8, &(s.vaddr as u32).to_le_bytes());
            put(&mut f, ph + 12, &(s.paddr as u32).to_le_bytes());
            put(&mut f, ph + 16, &(filesz as u32).to_le_bytes());
            put(&mut f, ph + 20, &(s.memsz as u32).to_le_bytes());
            put(&mut f, ph + 24, &7u32.to_le_bytes());
            put(&mut f, ph + 28, &0x1000u32.to_le_bytes());
        }
        put(&mut f, data_off, &s.data);
        data_off = (data_off + s.data.len() + 0xfff) & !0xfff;
    }
    f
}

/// A Multiboot header with a correct checksum and, if given, the a.out-kludge fields.
pub fn mb_header(flags: u32, aout: Option<[u32; 5]>) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&HEADER_MAGIC.to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(&HEADER_MAGIC.wrapping_add(flags).wrapping_neg().to_le_bytes());
    if let Some(f) = aout {
        for v in f {
            h.extend_from_slice(&v.to_le_bytes());
        }
    }
    h
}

/// An a.out-kludge image: `text` (whose first bytes are overwritten by nothing; the
/// header goes at `header_off`) loaded at `load_addr`, with the given address fields.
pub fn aout(text_len: usize, header_off: usize, flags: u32, fields: [u32; 5]) -> Vec<u8> {
    let mut f: Vec<u8> = (0..text_len).map(|i| (i % 251) as u8 + 1).collect();
    put(&mut f, header_off, &mb_header(flags | (1 << 16), Some(fields)));
    f
}

/// 32 MiB of RAM from 0 plus nothing else.
pub fn ram32m() -> GuestRam {
    GuestRam::new(&[(GuestPhys(0), 32 << 20)]).unwrap()
}

pub fn rd32(ram: &GuestRam, at: u64) -> u32 {
    ram.read_u32(GuestPhys(at)).unwrap()
}

pub fn rd64(ram: &GuestRam, at: u64) -> u64 {
    ram.read_u64(GuestPhys(at)).unwrap()
}

pub fn bytes(ram: &GuestRam, at: u64, len: usize) -> Vec<u8> {
    ram.slice(GuestPhys(at), len).unwrap().to_vec()
}

/// The NUL-terminated string at `at`.
pub fn c_str(ram: &GuestRam, at: u64) -> String {
    let mut s = Vec::new();
    let mut a = at;
    loop {
        let b = bytes(ram, a, 1)[0];
        if b == 0 {
            break;
        }
        s.push(b);
        a += 1;
    }
    String::from_utf8(s).unwrap()
}

/// The memory map of the information structure at `info` as `(base, len, type)`.
pub fn mmap(ram: &GuestRam, info: u64) -> Vec<(u64, u64, u32)> {
    let len = rd32(ram, info + 44) as u64;
    let addr = rd32(ram, info + 48) as u64;
    let mut out = Vec::new();
    let mut at = addr;
    while at < addr + len {
        let size = rd32(ram, at) as u64;
        assert_eq!(size, 20);
        out.push((rd64(ram, at + 4), rd64(ram, at + 12), rd32(ram, at + 20)));
        at += size + 4;
    }
    out
}
