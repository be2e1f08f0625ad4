//! Architectural register state of one x86 logical processor (SDM Vol 1 ch. 3, Vol 3A ch. 2-3).

/// Segment register indices in the order of the ModRM `sreg` field (SDM Vol 2 table 2-2... sreg encoding).
pub const ES: usize = 0;
/// Code segment.
pub const CS: usize = 1;
/// Stack segment.
pub const SS: usize = 2;
/// Data segment.
pub const DS: usize = 3;
/// FS.
pub const FS: usize = 4;
/// GS.
pub const GS: usize = 5;

/// RFLAGS bits (SDM Vol 1 3.4.3).
pub mod flags {
    pub const CF: u64 = 1 << 0;
    pub const FIXED1: u64 = 1 << 1;
    pub const PF: u64 = 1 << 2;
    pub const AF: u64 = 1 << 4;
    pub const ZF: u64 = 1 << 6;
    pub const SF: u64 = 1 << 7;
    pub const TF: u64 = 1 << 8;
    pub const IF: u64 = 1 << 9;
    pub const DF: u64 = 1 << 10;
    pub const OF: u64 = 1 << 11;
    pub const IOPL: u64 = 3 << 12;
    pub const NT: u64 = 1 << 14;
    pub const RF: u64 = 1 << 16;
    pub const VM: u64 = 1 << 17;
    pub const AC: u64 = 1 << 18;
    pub const VIF: u64 = 1 << 19;
    pub const VIP: u64 = 1 << 20;
    pub const ID: u64 = 1 << 21;
    /// The arithmetic status flags.
    pub const STATUS: u64 = CF | PF | AF | ZF | SF | OF;
    /// Bits software can change at all (VM/VIF/VIP excluded: no virtual-8086 mode here).
    pub const WRITABLE: u64 = STATUS | TF | IF | DF | IOPL | NT | RF | AC | ID;
}

/// CR0 bits (SDM Vol 3A 2.5).
pub mod cr0 {
    pub const PE: u64 = 1 << 0;
    pub const MP: u64 = 1 << 1;
    pub const EM: u64 = 1 << 2;
    pub const TS: u64 = 1 << 3;
    pub const ET: u64 = 1 << 4;
    pub const NE: u64 = 1 << 5;
    pub const WP: u64 = 1 << 16;
    pub const AM: u64 = 1 << 18;
    pub const NW: u64 = 1 << 29;
    pub const CD: u64 = 1 << 30;
    pub const PG: u64 = 1 << 31;
    /// Bits that are not reserved.
    pub const VALID: u64 = PE | MP | EM | TS | ET | NE | WP | AM | NW | CD | PG;
}

/// CR4 bits (SDM Vol 3A 2.5).
pub mod cr4 {
    pub const VME: u64 = 1 << 0;
    pub const PVI: u64 = 1 << 1;
    pub const TSD: u64 = 1 << 2;
    pub const DE: u64 = 1 << 3;
    pub const PSE: u64 = 1 << 4;
    pub const PAE: u64 = 1 << 5;
    pub const MCE: u64 = 1 << 6;
    pub const PGE: u64 = 1 << 7;
    pub const PCE: u64 = 1 << 8;
    pub const OSFXSR: u64 = 1 << 9;
    pub const OSXMMEXCPT: u64 = 1 << 10;
    pub const UMIP: u64 = 1 << 11;
    pub const LA57: u64 = 1 << 12;
    pub const FSGSBASE: u64 = 1 << 16;
    pub const PCIDE: u64 = 1 << 17;
    pub const OSXSAVE: u64 = 1 << 18;
    pub const SMEP: u64 = 1 << 20;
    pub const SMAP: u64 = 1 << 21;
    pub const PKE: u64 = 1 << 22;
}

/// EFER bits (SDM Vol 3A 2.2.1).
pub mod efer {
    pub const SCE: u64 = 1 << 0;
    pub const LME: u64 = 1 << 8;
    pub const LMA: u64 = 1 << 10;
    pub const NXE: u64 = 1 << 11;
}

/// A segment register: the visible selector and the hidden descriptor cache (SDM Vol 3A 3.4.3).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub base: u64,
    pub limit: u32,
    /// Descriptor attribute bits 40-47 and 52-55 packed as in VMX access rights: type(4) S DPL(2) P,
    /// then (bits 12-15) AVL L D/B G.
    pub attr: u16,
}

impl Segment {
    /// Descriptor type field (bits 0-3).
    pub fn typ(&self) -> u8 {
        (self.attr & 0xf) as u8
    }
    /// Descriptor privilege level.
    pub fn dpl(&self) -> u8 {
        ((self.attr >> 5) & 3) as u8
    }
    /// Present bit.
    pub fn present(&self) -> bool {
        self.attr & 0x80 != 0
    }
    /// 64-bit code segment (L bit).
    pub fn long(&self) -> bool {
        self.attr & 0x2000 != 0
    }
    /// Default operation size 32 (D/B bit).
    pub fn db(&self) -> bool {
        self.attr & 0x4000 != 0
    }
    /// Code segment (S=1 and type bit 3).
    pub fn is_code(&self) -> bool {
        self.attr & 0x18 == 0x18
    }
    /// A real-mode segment with `selector` (base = selector * 16, 64 KiB limit).
    pub fn real(selector: u16) -> Self {
        Self { selector, base: (selector as u64) << 4, limit: 0xffff, attr: 0x93 }
    }
    /// Builds the cache from an 8-byte descriptor (SDM Vol 3A 3.4.5).
    pub fn from_descriptor(selector: u16, d: u64) -> Self {
        let base = ((d >> 16) & 0xff_ffff) | (((d >> 56) & 0xff) << 24);
        let mut limit = (((d >> 48) & 0xf) << 16 | (d & 0xffff)) as u32;
        let attr = (((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 12)) as u16;
        if attr & 0x8000 != 0 {
            limit = (limit << 12) | 0xfff;
        }
        Self { selector, base, limit, attr }
    }
}

/// A descriptor-table register (GDTR/IDTR).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TableReg {
    pub base: u64,
    pub limit: u16,
}

/// The processor's operating mode as it affects decoding and semantics.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Real-address mode.
    Real,
    /// Protected mode with a 16-bit code segment.
    Protected16,
    /// Protected mode with a 32-bit code segment.
    Protected32,
    /// Compatibility mode (IA-32e, CS.L = 0), 16-bit code segment.
    Compat16,
    /// Compatibility mode (IA-32e, CS.L = 0), 32-bit code segment.
    Compat32,
    /// 64-bit mode.
    Long64,
}

impl Mode {
    /// Decoder bitness for this mode.
    pub fn bitness(self) -> u32 {
        match self {
            Mode::Real | Mode::Protected16 | Mode::Compat16 => 16,
            Mode::Protected32 | Mode::Compat32 => 32,
            Mode::Long64 => 64,
        }
    }
}

/// MSR-backed state that has no better home.
#[derive(Clone, Debug, Default)]
pub struct MsrState {
    pub star: u64,
    pub lstar: u64,
    pub cstar: u64,
    pub fmask: u64,
    pub kernel_gs_base: u64,
    pub sysenter_cs: u64,
    pub sysenter_esp: u64,
    pub sysenter_eip: u64,
    pub tsc_aux: u64,
    pub tsc_adjust: u64,
    pub pat: u64,
    pub misc_enable: u64,
    pub feature_control: u64,
    pub mtrr_def_type: u64,
    pub mtrr_fixed: [u64; 11],
    pub mtrr_var: [u64; 16],
    pub debugctl: u64,
    pub spec_ctrl: u64,
}
