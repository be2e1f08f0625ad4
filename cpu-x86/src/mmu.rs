//! Linear-to-physical translation: the paging modes of SDM Vol 3A chapter 4 (32-bit, PAE,
//! 4-level and 5-level), access rights (4.6) including SMEP, SMAP, WP and protection keys,
//! accessed/dirty bits (4.8) and the page-fault error code (4.7), fronted by a soft TLB whose
//! entries hold host pointers so a hit costs one compare.

use crate::cpu::X86Cpu;
use crate::fault::{exc_err, PF, X};
use crate::platform::X86Platform;
use crate::state::{cr0, cr4, efer, flags};
use sim_core::GuestPhys;

/// Physical-address width advertised in CPUID 0x80000008.
pub const MAXPHYADDR: u32 = 40;
const PHYS_MASK: u64 = ((1u64 << MAXPHYADDR) - 1) & !0xfff;

/// The kind of access being translated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Data read.
    Read,
    /// Data write.
    Write,
    /// Instruction fetch.
    Fetch,
}

/// An access made by the processor itself at supervisor level whatever the CPL (descriptor
/// tables, TSS, SDM Vol 3A 4.6 "implicit supervisor-mode access").
pub const IMPLICIT: u8 = 4;

const TLB_SIZE: usize = 512;

// Entry permission bits, computed at fill time for the current control registers.
const P_USER: u8 = 1; // user-mode accessible page
const P_W_USER: u8 = 2; // user-mode write allowed (and D already set)
const P_W_SUP: u8 = 4; // supervisor write allowed (and D already set)
const P_X: u8 = 8; // executable
const P_GLOBAL: u8 = 16;
const P_CODE: u8 = 32; // the page holds decoded code: stores are checked

#[derive(Copy, Clone)]
pub(crate) struct TlbEntry {
    tag: u64,
    host: *mut u8,
    pa: u64,
    perm: u8,
    pkey: u8,
    pcid: u16,
    /// The page's code-line mask in `GuestRam` (null for non-RAM).
    code: *const u32,
    /// Fast-path permissions decided at fill time: bit 0 read at CPL 0-2, bit 1 read at
    /// CPL 3, bit 2 write at CPL 0-2, bit 3 write at CPL 3. Set only for RAM pages without a
    /// protection key where the access needs no SMAP decision (user pages from CPL 3,
    /// supervisor pages from CPL 0-2).
    fast: u8,
}

const INVALID: u64 = u64::MAX;

impl Default for TlbEntry {
    fn default() -> Self {
        Self {
            tag: INVALID,
            host: std::ptr::null_mut(),
            pa: 0,
            perm: 0,
            pkey: 0,
            pcid: 0,
            code: std::ptr::null(),
            fast: 0,
        }
    }
}

/// The soft TLB: direct-mapped, one entry per virtual page number slot.
pub(crate) struct Tlb {
    e: Box<[TlbEntry; TLB_SIZE]>,
    pub(crate) flushes: u64,
}

impl Tlb {
    pub(crate) fn new() -> Self {
        Self { e: Box::new([TlbEntry::default(); TLB_SIZE]), flushes: 0 }
    }
    /// Drops every entry (or every non-global one).
    pub(crate) fn flush(&mut self, keep_global: bool) {
        self.flushes += 1;
        for e in self.e.iter_mut() {
            if !(keep_global && e.perm & P_GLOBAL != 0) {
                e.tag = INVALID;
            }
        }
    }
    /// Drops the entry of one page (INVLPG).
    pub(crate) fn flush_page(&mut self, la: u64) {
        let vpn = la >> 12;
        let e = &mut self.e[(vpn as usize) % TLB_SIZE];
        if e.tag == vpn {
            e.tag = INVALID;
        }
    }
    /// Drops the non-global entries of every PCID but `pcid`.
    pub(crate) fn keep_pcid(&mut self, pcid: u16) {
        for e in self.e.iter_mut() {
            if e.pcid != pcid && e.perm & P_GLOBAL == 0 {
                e.tag = INVALID;
            }
        }
    }
    /// Drops non-global entries of one PCID.
    pub(crate) fn flush_pcid(&mut self, pcid: u16, keep_global: bool) {
        for e in self.e.iter_mut() {
            if e.pcid == pcid && !(keep_global && e.perm & P_GLOBAL != 0) {
                e.tag = INVALID;
            }
        }
    }
}

/// A translation: physical address and, for RAM, the host pointer to that byte.
#[derive(Copy, Clone, Debug)]
pub struct Translation {
    pub pa: u64,
    pub host: *mut u8,
    /// The page holds decoded code (stores must be checked for self-modifying code).
    pub code: bool,
}

impl X86Cpu {
    /// The current PCID (0 unless CR4.PCIDE), cached by [`X86Cpu::refresh_pcid`].
    #[inline(always)]
    fn pcid(&self) -> u16 {
        self.cur_pcid
    }

    /// Recomputes the cached PCID after CR3 or CR4 changed (SDM Vol 3A 4.10.1).
    #[inline]
    pub(crate) fn refresh_pcid(&mut self) {
        let pcid = if self.cr4 & cr4::PCIDE != 0 { (self.cr3 & 0xfff) as u16 } else { 0 };
        if pcid != self.cur_pcid {
            // The fast paths do not compare PCIDs: keep only entries usable under the new one
            // (global ones, and those of this PCID). Dropping TLB entries is always allowed.
            self.tlb.keep_pcid(pcid);
            self.cur_pcid = pcid;
        }
    }

    /// Translates linear address `la` for `acc`; `flags_` may include [`IMPLICIT`].
    #[inline]
    pub(crate) fn translate(
        &mut self,
        p: &mut dyn X86Platform,
        la: u64,
        acc: Access,
        implicit: bool,
    ) -> X<Translation> {
        let vpn = la >> 12;
        let user = self.cpl == 3 && !implicit;
        let e = &self.tlb.e[(vpn as usize) % TLB_SIZE];
        if e.tag == vpn && (e.perm & P_GLOBAL != 0 || e.pcid == self.pcid()) {
            let ok = match acc {
                Access::Read => {
                    if user {
                        e.perm & P_USER != 0
                    } else {
                        e.perm & P_USER == 0 || !self.smap_blocks(implicit)
                    }
                }
                Access::Write => {
                    if user {
                        e.perm & P_W_USER != 0
                    } else {
                        e.perm & P_W_SUP != 0 && (e.perm & P_USER == 0 || !self.smap_blocks(implicit))
                    }
                }
                Access::Fetch => {
                    e.perm & P_X != 0
                        && if user {
                            e.perm & P_USER != 0
                        } else {
                            e.perm & P_USER == 0 || self.cr4 & cr4::SMEP == 0
                        }
                }
            };
            let pk_ok =
                e.pkey == 0 || acc == Access::Fetch || self.cr4 & cr4::PKE == 0 || e.perm & P_USER == 0;
            if ok && pk_ok {
                let off = la & 0xfff;
                let host = if e.host.is_null() {
                    e.host
                } else {
                    // SAFETY: `host` points at a 4 KiB page of guest RAM (filled from
                    // `GuestRam::page_ptr`), and `off < 4096`.
                    unsafe { e.host.add(off as usize) }
                };
                return Ok(Translation { pa: e.pa | off, host, code: e.perm & P_CODE != 0 });
            }
        }
        self.translate_slow(p, la, acc, implicit)
    }

    /// Sets [`X86Cpu::fast_want`], the `TlbEntry::fast` bits a data read and a data write
    /// need at the current privilege: none while data breakpoints are armed or user-mode
    /// alignment checking is on (CR0.AM and RFLAGS.AC, SDM Vol 3A 6.15 #AC), so those
    /// accesses take the full path. Called where blocks and single steps start: what it
    /// reads changes only through instructions that end a block.
    #[inline]
    pub(crate) fn refresh_fast_want(&mut self) {
        let user = self.cpl == 3;
        let off = self.data_bps || (user && self.cr0 & cr0::AM != 0 && self.rflags & flags::AC != 0);
        self.fast_want = if off { [0, 0] } else { [1 << user as u8, 4 << user as u8] };
    }

    /// The soft-TLB fast path for a data access by a specialized handler: a hit on a RAM page
    /// whose permissions allow the access at the current privilege, with no protection key,
    /// no page crossing, no data breakpoint and no alignment check in force. A hit implies the
    /// address is canonical (only canonical addresses are ever filled). Returns the host
    /// pointer, or `None` for the full path.
    #[inline(always)]
    pub(crate) fn fast_ptr(&self, la: u64, size: u64, write: bool) -> Option<*mut u8> {
        let vpn = la >> 12;
        let e = &self.tlb.e[(vpn as usize) % TLB_SIZE];
        // Supervisor accesses to user pages (SMAP) and protection keys take the full path
        // (decided at fill time in `fast`); data breakpoints and alignment checking too
        // (`fast_want`). Every valid entry belongs to the current PCID or is global
        // (`keep_pcid`).
        let ok =
            e.tag == vpn && e.fast & self.fast_want[write as usize] != 0 && (la & 0xfff) + size <= 0x1000;
        if !ok {
            return None;
        }
        if write && e.perm & P_CODE != 0 {
            // One line's bit decides; a store that crosses into the next 128-byte line takes
            // the full path.
            let off = la & 0xfff;
            let line = sim_core::ram::CODE_LINE;
            // SAFETY: `P_CODE` is set only with a non-null `code` (`translate_slow`), which
            // points at this page's mask inside the machine's `GuestRam`, which outlives the
            // CPU's use of it and is never reallocated.
            if (off % line) + size > line || unsafe { *e.code } & (1u32 << (off / line)) != 0 {
                return None; // a store into a line with decoded code: full path invalidates
            }
        }
        // SAFETY: `host` is the start of a 4 KiB RAM page and `la & 0xfff` is inside it.
        Some(unsafe { e.host.add((la & 0xfff) as usize) })
    }

    /// The soft-TLB fast path for instruction fetch at the start of a block: the host
    /// pointer and physical address of `la` if the cached entry allows execution at the
    /// current privilege.
    #[inline(always)]
    pub(crate) fn fetch_fast(&self, la: u64) -> Option<Translation> {
        let vpn = la >> 12;
        let e = &self.tlb.e[(vpn as usize) % TLB_SIZE];
        let want = if self.cpl == 3 { 32 } else { 16 };
        if e.tag == vpn && e.fast & want != 0 {
            let off = la & 0xfff;
            // SAFETY: `host` is the start of a 4 KiB RAM page and `off < 4096`.
            let host = unsafe { e.host.add(off as usize) };
            return Some(Translation { pa: e.pa | off, host, code: e.perm & P_CODE != 0 });
        }
        None
    }

    #[inline]
    fn smap_blocks(&self, implicit: bool) -> bool {
        self.cr4 & cr4::SMAP != 0 && (implicit || self.rflags & flags::AC == 0)
    }

    #[cold]
    fn translate_slow(
        &mut self,
        p: &mut dyn X86Platform,
        la: u64,
        acc: Access,
        implicit: bool,
    ) -> X<Translation> {
        let (pa_page, perm, pkey) = if self.cr0 & cr0::PG == 0 {
            // Paging off: linear = physical (SDM Vol 3A 4.1.1), 32-bit addresses.
            (la & 0xffff_f000, P_USER | P_W_USER | P_W_SUP | P_X, 0)
        } else {
            self.walk(p, la, acc, implicit)?
        };
        let host = p.ram().page_ptr(GuestPhys(pa_page)).unwrap_or(std::ptr::null_mut());
        let code = p.ram().code_mask_ptr(GuestPhys(pa_page)).unwrap_or(std::ptr::null());
        // SAFETY: a non-null `code` points at this page's mask inside the machine's
        // `GuestRam`, which outlives the CPU's use of it and is never reallocated.
        let is_code = !code.is_null() && unsafe { *code } != 0;
        let perm = if is_code { perm | P_CODE } else { perm };
        let vpn = la >> 12;
        let pcid = self.pcid();
        let fast = if host.is_null() || pkey != 0 {
            0
        } else if perm & P_USER != 0 {
            // User page: data from CPL 3; fetch from CPL 3, and from CPL 0-2 unless SMEP.
            let x = if perm & P_X != 0 { 32 | if self.cr4 & cr4::SMEP == 0 { 16 } else { 0 } } else { 0 };
            2 | x | if perm & P_W_USER != 0 { 8 } else { 0 }
        } else {
            let x = if perm & P_X != 0 { 16 } else { 0 };
            1 | x | if perm & P_W_SUP != 0 { 4 } else { 0 }
        };
        self.tlb.e[(vpn as usize) % TLB_SIZE] =
            TlbEntry { tag: vpn, host, pa: pa_page, perm, pkey, pcid, code, fast };
        let off = la & 0xfff;
        let host = if host.is_null() {
            host
        } else {
            // SAFETY: as in `translate`: a page of guest RAM and `off < 4096`.
            unsafe { host.add(off as usize) }
        };
        Ok(Translation { pa: pa_page | off, host, code: perm & P_CODE != 0 })
    }

    fn read_pte(p: &mut dyn X86Platform, pa: u64, wide: bool) -> u64 {
        let ram = p.ram();
        if wide {
            ram.read_u64(GuestPhys(pa)).unwrap_or(0)
        } else {
            ram.read_u32(GuestPhys(pa)).unwrap_or(0) as u64
        }
    }

    fn write_pte(p: &mut dyn X86Platform, pa: u64, val: u64, wide: bool) {
        let ram = p.ram();
        if wide {
            ram.write_u64(GuestPhys(pa), val);
        } else {
            ram.write_u32(GuestPhys(pa), val as u32);
        }
    }

    /// Full page walk; returns (physical page, TLB permission bits, protection key).
    fn walk(&mut self, p: &mut dyn X86Platform, la: u64, acc: Access, implicit: bool) -> X<(u64, u8, u8)> {
        let user = self.cpl == 3 && !implicit;
        let nxe = self.efer & efer::NXE != 0;
        let pae = self.cr4 & cr4::PAE != 0;
        let long = self.efer & efer::LMA != 0;
        let wide = pae;
        // Error code pieces (SDM Vol 3A 4.7).
        let fetch_bit = acc == Access::Fetch && (nxe || self.cr4 & cr4::SMEP != 0);
        let base_err = (if acc == Access::Write { 2 } else { 0 })
            | (if user { 4 } else { 0 })
            | (if fetch_bit { 16 } else { 0 });
        let not_present = |cpu: &mut Self| {
            cpu.cr2 = la;
            exc_err(PF, base_err)
        };
        let rsvd = |cpu: &mut Self| {
            cpu.cr2 = la;
            exc_err(PF, base_err | 1 | 8)
        };
        let xd_bit: u64 = if nxe { 1 << 63 } else { 0 };
        // Reserved physical-address bits of a 64-bit entry (above MAXPHYADDR, and bit 63
        // when NX is off).
        let rsvd_hi = (!((1u64 << MAXPHYADDR) - 1) & !(1 << 63) & ((1 << 52) - 1)) | ((1u64 << 63) & !xd_bit);

        // Levels: (table base, index shift).
        let mut entries: [(u64, u64); 5] = [(0, 0); 5];
        let mut n = 0usize;
        let (page_pa, page_bits, mut rw, mut us, mut xd, pkey);
        if !pae {
            // 32-bit paging (SDM Vol 3A 4.3).
            let pde_a = (self.cr3 & 0xffff_f000) | (((la >> 22) & 0x3ff) << 2);
            let pde = Self::read_pte(p, pde_a, false);
            if pde & 1 == 0 {
                return Err(not_present(self));
            }
            entries[n] = (pde_a, pde);
            n += 1;
            rw = pde & 2 != 0;
            us = pde & 4 != 0;
            xd = false;
            if pde & 0x80 != 0 && self.cr4 & cr4::PSE != 0 {
                // 4 MiB page; bits 20:13 give physical bits 39:32 (PSE-36 style, 4.3 table 4-4).
                if pde & (1 << 21) != 0 {
                    return Err(rsvd(self));
                }
                let hi = ((pde >> 13) & 0xff) << 32;
                if hi >> MAXPHYADDR != 0 {
                    return Err(rsvd(self));
                }
                page_pa = (pde & 0xffc0_0000) | hi;
                page_bits = 22;
            } else {
                let pte_a = (pde & 0xffff_f000) | (((la >> 12) & 0x3ff) << 2);
                let pte = Self::read_pte(p, pte_a, false);
                if pte & 1 == 0 {
                    return Err(not_present(self));
                }
                entries[n] = (pte_a, pte);
                n += 1;
                rw &= pte & 2 != 0;
                us &= pte & 4 != 0;
                page_pa = pte & 0xffff_f000;
                page_bits = 12;
            }
        } else {
            let (mut table, mut shift) = if long {
                if self.cr4 & cr4::LA57 != 0 {
                    (self.cr3 & PHYS_MASK, 48u32)
                } else {
                    (self.cr3 & PHYS_MASK, 39u32)
                }
            } else {
                // PAE: PDPTE from CR3[31:5] (SDM Vol 3A 4.4.1).
                let pdpte_a = (self.cr3 & 0xffff_ffe0) | (((la >> 30) & 3) << 3);
                let pdpte = Self::read_pte(p, pdpte_a, true);
                if pdpte & 1 == 0 {
                    return Err(not_present(self));
                }
                // Reserved: 2:1, 8:5, 63 and high bits (4.4.1).
                if pdpte & (0x1e6 | rsvd_hi | (1 << 63)) != 0 {
                    return Err(rsvd(self));
                }
                (pdpte & PHYS_MASK, 21u32)
            };
            rw = true;
            us = true;
            xd = false;
            loop {
                let ea = table | (((la >> shift) & 0x1ff) << 3);
                let e = Self::read_pte(p, ea, true);
                if e & 1 == 0 {
                    return Err(not_present(self));
                }
                if e & rsvd_hi != 0 {
                    return Err(rsvd(self));
                }
                entries[n] = (ea, e);
                n += 1;
                rw &= e & 2 != 0;
                us &= e & 4 != 0;
                xd |= e & xd_bit != 0;
                let ps = e & 0x80 != 0;
                if shift == 12 {
                    page_pa = e & PHYS_MASK;
                    page_bits = 12;
                    break;
                }
                if ps {
                    // PS is reserved in PML5E/PML4E; 1 GiB pages need CPUID support (4.5).
                    let allowed = shift == 21 || (shift == 30 && self.cpuid.has(crate::Feature::Page1g));
                    let mask_lo = (1u64 << shift) - 1;
                    // Bits (shift-1):13 of a large-page entry are reserved.
                    if !allowed || e & mask_lo & !0x1fff != 0 {
                        return Err(rsvd(self));
                    }
                    page_pa = e & PHYS_MASK & !mask_lo;
                    page_bits = shift;
                    break;
                }
                table = e & PHYS_MASK;
                shift -= 9;
            }
        }
        let leaf = entries[n - 1].1;
        let global = leaf & 0x100 != 0 && self.cr4 & cr4::PGE != 0;
        pkey = if long && self.cr4 & cr4::PKE != 0 { ((leaf >> 59) & 0xf) as u8 } else { 0 };

        // Access rights (SDM Vol 3A 4.6).
        let wp = self.cr0 & cr0::WP != 0;
        let prot = |cpu: &mut Self, extra: u32| {
            cpu.cr2 = la;
            exc_err(PF, base_err | 1 | extra)
        };
        match acc {
            Access::Read | Access::Write => {
                if user && !us {
                    return Err(prot(self, 0));
                }
                if !user && us && self.smap_blocks(implicit) {
                    return Err(prot(self, 0));
                }
                if acc == Access::Write && !rw && (user || wp) {
                    return Err(prot(self, 0));
                }
                if pkey != 0 && us {
                    let pkru = (self.pkru >> (pkey * 2)) & 3;
                    let ad = pkru & 1 != 0;
                    let wd = pkru & 2 != 0;
                    if ad || (acc == Access::Write && wd && (user || wp)) {
                        return Err(prot(self, 32));
                    }
                }
            }
            Access::Fetch => {
                if xd || (user && !us) || (!user && us && self.cr4 & cr4::SMEP != 0) {
                    return Err(prot(self, 0));
                }
            }
        }
        // Accessed and dirty bits (SDM Vol 3A 4.8).
        for (i, &(ea, e)) in entries[..n].iter().enumerate() {
            let mut ne = e | 0x20;
            if i == n - 1 && acc == Access::Write {
                ne |= 0x40;
            }
            if ne != e {
                Self::write_pte(p, ea, ne, wide);
            }
        }
        let dirty = acc == Access::Write || leaf & 0x40 != 0;
        let mut perm = 0u8;
        if us {
            perm |= P_USER;
            if rw && dirty {
                perm |= P_W_USER;
            }
        }
        if (rw || !wp) && dirty {
            perm |= P_W_SUP;
        }
        if !xd {
            perm |= P_X;
        }
        if global {
            perm |= P_GLOBAL;
        }
        let off_mask = ((1u64 << page_bits) - 1) & !0xfff;
        Ok(((page_pa | (la & off_mask)) & !0xfff, perm, pkey))
    }
}
