//! The boot-state contract between a loader and the board.
//!
//! A loader writes the image and its boot data into guest RAM and returns a [`BootInfo`]
//! that describes the complete initial CPU state. The board applies it without knowing
//! the image format:
//!
//! * general registers from [`BootInfo::regs`] (RFLAGS included: IF clear);
//! * `CR0`, `CR4`, `EFER` from [`EntryMode::cr0`], [`EntryMode::cr4`], [`EntryMode::efer`];
//! * `CR3` from [`BootInfo::page_table_root`] when it is `Some`;
//! * `GDTR` from [`BootInfo::gdt`] (`IDTR` base 0 limit 0; interrupts stay off);
//! * `CS` from [`BootInfo::cs`], and `DS`, `ES`, `SS`, `FS`, `GS` from [`BootInfo::ds`]
//!   (selector plus hidden base/limit/attributes, matching the descriptors in the GDT);
//! * A20 enabled, `RIP` = [`BootInfo::entry`].

/// Magic value in EAX on entry to a Multiboot v1 kernel (Multiboot 0.6.96 section 3.2).
pub const MULTIBOOT_BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;

/// Initial RFLAGS: only the always-one bit 1 is set (IF = 0, DF = 0).
pub const INITIAL_RFLAGS: u64 = 0x2;

/// The CPU mode the guest is entered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMode {
    /// 32-bit protected mode, paging off (Multiboot 0.6.96 section 3.2).
    Protected32,
    /// 64-bit long mode with identity-mapped 4-level paging.
    Long64,
}

impl EntryMode {
    /// CR0: PE | ET, plus PG in long mode.
    pub fn cr0(self) -> u64 {
        const PE: u64 = 1 << 0;
        const ET: u64 = 1 << 4;
        const PG: u64 = 1 << 31;
        match self {
            EntryMode::Protected32 => PE | ET,
            EntryMode::Long64 => PE | ET | PG,
        }
    }
    /// CR4: PAE in long mode, otherwise 0.
    pub fn cr4(self) -> u64 {
        const PAE: u64 = 1 << 5;
        match self {
            EntryMode::Protected32 => 0,
            EntryMode::Long64 => PAE,
        }
    }
    /// IA32_EFER: LME | LMA in long mode, otherwise 0.
    pub fn efer(self) -> u64 {
        const LME: u64 = 1 << 8;
        const LMA: u64 = 1 << 10;
        match self {
            EntryMode::Protected32 => 0,
            EntryMode::Long64 => LME | LMA,
        }
    }
}

/// Initial general-purpose registers and RFLAGS. Registers not listed are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rflags: u64,
}

impl Default for InitialRegs {
    fn default() -> Self {
        Self { rax: 0, rbx: 0, rcx: 0, rdx: 0, rsi: 0, rdi: 0, rsp: 0, rbp: 0, rflags: INITIAL_RFLAGS }
    }
}

/// A segment register's selector and hidden part (Intel SDM vol. 3 section 3.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub base: u64,
    /// Byte-granular limit (already scaled by G).
    pub limit: u32,
    /// Access byte: P, DPL, S, type (with the accessed bit set).
    pub access: u8,
    /// Upper nibble of descriptor byte 6: G (bit 3), D/B (bit 2), L (bit 1), AVL (bit 0).
    pub flags: u8,
}

impl Segment {
    /// The 8-byte GDT descriptor for this segment (base and limit must fit 32/20 bits).
    pub fn descriptor(&self) -> u64 {
        let limit = if self.flags & 0x8 != 0 { u64::from(self.limit >> 12) } else { u64::from(self.limit) };
        let base = self.base & 0xffff_ffff;
        (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (u64::from(self.access) << 40)
            | (((limit >> 16) & 0xf) << 48)
            | (u64::from(self.flags & 0xf) << 52)
            | ((base >> 24) << 56)
    }

    /// Flat 4 GiB 32-bit code segment, execute/read, DPL 0.
    pub const fn code32(selector: u16) -> Self {
        Self { selector, base: 0, limit: 0xffff_ffff, access: 0x9b, flags: 0xc }
    }
    /// 64-bit code segment (L = 1, D = 0), execute/read, DPL 0.
    pub const fn code64(selector: u16) -> Self {
        Self { selector, base: 0, limit: 0xffff_ffff, access: 0x9b, flags: 0xa }
    }
    /// Flat 4 GiB data segment, read/write, DPL 0.
    pub const fn data32(selector: u16) -> Self {
        Self { selector, base: 0, limit: 0xffff_ffff, access: 0x93, flags: 0xc }
    }
}

/// Selector of the code segment in the loader-built GDT.
pub const CODE_SELECTOR: u16 = 0x08;
/// Selector of the data segment in the loader-built GDT.
pub const DATA_SELECTOR: u16 = 0x10;

/// Everything the board needs to start the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootInfo {
    /// Initial RIP (a physical address: paging is off or identity-mapped).
    pub entry: u64,
    pub mode: EntryMode,
    pub regs: InitialRegs,
    /// Lowest physical address written by the image's segments.
    pub image_start: u64,
    /// First physical byte after the image (including bss).
    pub image_end: u64,
    /// Physical address of the Multiboot information structure.
    pub info_addr: u64,
    /// First physical byte after all boot data (info structure, strings, modules).
    pub boot_data_end: u64,
    /// `(start, end)` of every loaded module, in order.
    pub modules: Vec<(u64, u64)>,
    /// CR3 value (PML4 address) in long mode.
    pub page_table_root: Option<u64>,
    /// GDTR `(base, limit)`.
    pub gdt: Option<(u64, u16)>,
    /// CS selector and hidden state.
    pub cs: Segment,
    /// Selector and hidden state for DS, ES, SS, FS and GS.
    pub ds: Segment,
}

/// Bytes of a 3-entry GDT: null, `code` at selector 0x08, `data` at selector 0x10.
pub(crate) fn gdt_bytes(code: &Segment, data: &Segment) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[8..16].copy_from_slice(&code.descriptor().to_le_bytes());
    out[16..24].copy_from_slice(&data.descriptor().to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_match_well_known_values() {
        assert_eq!(Segment::code32(8).descriptor(), 0x00cf_9b00_0000_ffff);
        assert_eq!(Segment::data32(16).descriptor(), 0x00cf_9300_0000_ffff);
        assert_eq!(Segment::code64(8).descriptor(), 0x00af_9b00_0000_ffff);
    }

    #[test]
    fn control_registers_per_mode() {
        assert_eq!(EntryMode::Protected32.cr0(), 0x11);
        assert_eq!(EntryMode::Protected32.efer(), 0);
        assert_eq!(EntryMode::Long64.cr0(), 0x8000_0011);
        assert_eq!(EntryMode::Long64.cr4(), 0x20);
        assert_eq!(EntryMode::Long64.efer(), 0x500);
    }
}
