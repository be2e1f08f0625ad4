//! Arm Generic Interrupt Controller v3 (distributor, redistributors, CPU interfaces) for the
//! AArch64 `virt` board.
//!
//! Source: Arm Generic Interrupt Controller Architecture Specification, GIC architecture
//! version 3 and version 4, Arm IHI 0069H ("GIC" below): chapter 4 (interrupt life cycle and
//! prioritization), 12.2 (ICC_* System registers), 12.9 (GICD_* registers), 12.11 (GICR_*
//! registers).
//!
//! Configuration, as QEMU's `virt` GICv3 without EL3 presents itself to an OS:
//! - **One Security state.** GICD_CTLR.DS is RAO/WI and GICD_TYPER.SecurityExtn is 0: Group 0
//!   interrupts are signalled as FIQ and Group 1 as IRQ, every register is accessible to
//!   every access, and the Secure-only controls (GICD_IGRPMODR, GICD_NSACR, GICR_IGRPMODR0,
//!   GICR_NSACR) are RAZ/WI (GIC 12.9 GICD_IGRPMODR: RAZ/WI when DS is 1). Modelling two
//!   Security states needs the PE's Security state on every access, which neither the bus nor
//!   the System-register path carries.
//! - **Affinity routing only.** GICD_CTLR.ARE is RAO/WI, so the distributor's registers for
//!   INTIDs 0-31 are RAZ/WI and SGIs/PPIs live in each redistributor's SGI_base frame;
//!   GICD_ITARGETSR, GICD_SGIR, GICD_[CS]PENDSGIR are RES0.
//! - **No LPIs, no ITS, no message-based SPIs** (GICD_TYPER.LPIS = MBIS = 0): GICR_CTLR.
//!   EnableLPIs, GICR_PROPBASER/PENDBASER and GICD_SETSPI_* are RAZ/WI.
//! - 5 bits of priority (32 levels, GIC 4.8: low-order bits RAZ/WI), so only
//!   ICC_AP0R0/ICC_AP1R0 exist; 16-bit INTIDs; SPIs 32..32+N with N a multiple of 32
//!   (at most 988, INTIDs 1020-1023 being special); no extended SPI/PPI ranges; no range
//!   selector for SGIs (ICC_CTLR_EL1.RSS = 0); 1-of-N SPI routing supported.
//! - PE `i` has affinity Aff0 = i % 16, Aff1 = i / 16 % 256, Aff2 = i / 4096 (16 PEs per
//!   cluster, as SGI target lists address Aff0 0-15): the CPU's MPIDR_EL1 must use
//!   [`GicV3::cpu_affinity`].
//! - 1-of-N SPIs (GICD_IROUTER.IRM = 1) go to the lowest-numbered PE that participates: its
//!   redistributor is awake, the interrupt's group is enabled at its CPU interface and its
//!   GICR_CTLR.DPG bit for that group is clear (GIC 12.11 GICR_CTLR). A PE whose
//!   GICR_WAKER.ProcessorSleep is set receives nothing; ChildrenAsleep follows
//!   ProcessorSleep at once (the handshake completes instantly).
//! - Among pending interrupts of equal priority the lowest INTID wins (GIC 4.8: the choice
//!   is IMPLEMENTATION DEFINED).
//! - Level-sensitive interrupts are pending while their input is high or while a write to
//!   ISPENDR (or an SGI) latched them; edge-triggered ones latch on a rising input. An
//!   acknowledge clears the latch (GIC 4.1).
//! - Registers with UNKNOWN reset values reset to 0 (GICD_IROUTER thus routes to PE 0).
//!
//! Each PE's highest-priority pending interrupt, and whether it is signalled as IRQ or FIQ,
//! is recomputed whenever state that affects it changes, so [`GicV3::irq_pending`] and
//! [`GicV3::fiq_pending`] are field reads.
//!
//! Board mapping: share the controller as `Rc<RefCell<GicV3>>`; map
//! [`GicV3::distributor`] at 0x08000000, length [`GICD_SIZE`], and
//! [`GicV3::redistributors`] at 0x080A0000, length [`GICR_FRAME_SIZE`] × CPUs (frame `i`,
//! RD_base then SGI_base, belongs to PE `i`), both with [`GIC_ACCESS`]. The CPU reaches the
//! ICC registers through [`GicV3::sysreg_read`] / [`GicV3::sysreg_write`] (or
//! [`IccReg::from_encoding`] and [`GicV3::icc_read`] / [`GicV3::icc_write`]); devices reach
//! SPIs through [`GicV3::set_spi`] or [`GicV3::update_spis_from_lines`], the generic timers
//! their PPIs through [`GicV3::set_ppi`].

use sim_core::bus::{AccessSize, Device, IoCtx, MmioDevice};
use std::cell::RefCell;
use std::rc::Rc;

/// Length of the distributor's register frame.
pub const GICD_SIZE: u64 = 0x10000;
/// Length of one PE's redistributor (RD_base and SGI_base frames).
pub const GICR_FRAME_SIZE: u64 = 0x20000;
/// Access sizes to map both pieces with (8-byte for GICD_IROUTER and GICR_TYPER, bytes for
/// the priority registers, words elsewhere).
pub const GIC_ACCESS: AccessSize = AccessSize::ANY;
/// Implemented priority bits.
pub const GIC_PRIORITY_BITS: u32 = 5;
/// Most SPIs supported (INTIDs 32-1019).
pub const GIC_MAX_SPIS: usize = 988;
/// Most PEs supported.
pub const GIC_MAX_CPUS: usize = 4096;
/// The special INTID returned when no interrupt can be acknowledged (GIC 2.2.1).
pub const INTID_SPURIOUS: u32 = 1023;
/// PPI INTIDs of the Arm generic timers on the `virt` board (Arm ARM D11.2 via the board's
/// device tree): EL1 physical, EL1 virtual, EL2 physical (hypervisor) and secure physical.
pub const PPI_PHYS_TIMER: u32 = 30;
/// EL1 virtual timer PPI.
pub const PPI_VIRT_TIMER: u32 = 27;
/// EL2 physical (hypervisor) timer PPI.
pub const PPI_HYP_TIMER: u32 = 26;
/// Secure EL1 physical timer PPI.
pub const PPI_SEC_PHYS_TIMER: u32 = 29;

const PRI_MASK: u8 = 0xf8;
/// GIC 12.2 ICC_BPR0_EL1: the minimum binary point with 5 priority bits is 2 (group
/// priority field [7:3]); ICC_BPR1_EL1's minimum is one more.
const BPR0_MIN: u8 = 2;
const BPR1_MIN: u8 = 3;

// GICD_CTLR with DS = 1 (GIC 12.9 GICD_CTLR).
const CTLR_EN_GRP0: u32 = 1 << 0;
const CTLR_EN_GRP1: u32 = 1 << 1;
const CTLR_ARE: u32 = 1 << 4;
const CTLR_DS: u32 = 1 << 6;

// GICR_CTLR (GIC 12.11 GICR_CTLR).
const GICR_CTLR_DPG0: u32 = 1 << 24;
const GICR_CTLR_DPG1NS: u32 = 1 << 25;

// GICR_WAKER (GIC 12.11 GICR_WAKER).
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;

/// GICD_IROUTER fields (GIC 12.9 GICD_IROUTER): Aff0-2, IRM, Aff3.
const IROUTER_MASK: u64 = 0xff_8000_0000 | 0xff_ffff;
const IROUTER_IRM: u64 = 1 << 31;

/// GICD_IIDR/GICR_IIDR: JEP106 code of Arm (0x43b), product 0, variant 0, revision 0.
const IIDR: u32 = 0x0000_043b;
/// GICD_PIDR2/GICR_PIDR2: ArchRev 3 (GICv3) in bits 7:4, JEP106 bits for Arm below.
const PIDR2: u32 = 0x3b;
const PIDR2_OFFSET: u64 = 0xffe8;

/// GIC CPU-interface System registers (GIC 12.2; encodings `S3_<op1>_C<n>_C<m>_<op2>`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IccReg {
    /// ICC_PMR_EL1, priority mask.
    Pmr,
    /// ICC_IAR0_EL1, acknowledge a Group 0 interrupt (RO).
    Iar0,
    /// ICC_EOIR0_EL1, end of a Group 0 interrupt (WO).
    Eoir0,
    /// ICC_HPPIR0_EL1, highest-priority pending Group 0 interrupt (RO).
    Hppir0,
    /// ICC_BPR0_EL1, Group 0 binary point.
    Bpr0,
    /// ICC_AP0R0_EL1, Group 0 active priorities.
    Ap0r0,
    /// ICC_AP1R0_EL1, Group 1 active priorities.
    Ap1r0,
    /// ICC_DIR_EL1, deactivate interrupt (WO).
    Dir,
    /// ICC_RPR_EL1, running priority (RO).
    Rpr,
    /// ICC_SGI1R_EL1, generate Group 1 SGIs (WO).
    Sgi1r,
    /// ICC_ASGI1R_EL1, generate Group 1 SGIs for the other Security state (WO).
    Asgi1r,
    /// ICC_SGI0R_EL1, generate Group 0 SGIs (WO).
    Sgi0r,
    /// ICC_IAR1_EL1, acknowledge a Group 1 interrupt (RO).
    Iar1,
    /// ICC_EOIR1_EL1, end of a Group 1 interrupt (WO).
    Eoir1,
    /// ICC_HPPIR1_EL1, highest-priority pending Group 1 interrupt (RO).
    Hppir1,
    /// ICC_BPR1_EL1, Group 1 binary point.
    Bpr1,
    /// ICC_CTLR_EL1, control (CBPR, EOImode) and ID fields.
    Ctlr,
    /// ICC_SRE_EL1, System register enable (SRE fixed at 1).
    SreEl1,
    /// ICC_IGRPEN0_EL1, Group 0 enable.
    Igrpen0,
    /// ICC_IGRPEN1_EL1, Group 1 enable.
    Igrpen1,
    /// ICC_SRE_EL2 (SRE and Enable fixed at 1).
    SreEl2,
    /// ICC_SRE_EL3 (SRE and Enable fixed at 1).
    SreEl3,
}

impl IccReg {
    /// Every register, for iteration.
    pub const ALL: [IccReg; 22] = [
        IccReg::Pmr,
        IccReg::Iar0,
        IccReg::Eoir0,
        IccReg::Hppir0,
        IccReg::Bpr0,
        IccReg::Ap0r0,
        IccReg::Ap1r0,
        IccReg::Dir,
        IccReg::Rpr,
        IccReg::Sgi1r,
        IccReg::Asgi1r,
        IccReg::Sgi0r,
        IccReg::Iar1,
        IccReg::Eoir1,
        IccReg::Hppir1,
        IccReg::Bpr1,
        IccReg::Ctlr,
        IccReg::SreEl1,
        IccReg::Igrpen0,
        IccReg::Igrpen1,
        IccReg::SreEl2,
        IccReg::SreEl3,
    ];

    /// The MRS/MSR encoding `(op0, op1, CRn, CRm, op2)` (GIC 12.2, Arm ARM D23).
    pub const fn encoding(self) -> (u8, u8, u8, u8, u8) {
        match self {
            IccReg::Pmr => (3, 0, 4, 6, 0),
            IccReg::Iar0 => (3, 0, 12, 8, 0),
            IccReg::Eoir0 => (3, 0, 12, 8, 1),
            IccReg::Hppir0 => (3, 0, 12, 8, 2),
            IccReg::Bpr0 => (3, 0, 12, 8, 3),
            IccReg::Ap0r0 => (3, 0, 12, 8, 4),
            IccReg::Ap1r0 => (3, 0, 12, 9, 0),
            IccReg::Dir => (3, 0, 12, 11, 1),
            IccReg::Rpr => (3, 0, 12, 11, 3),
            IccReg::Sgi1r => (3, 0, 12, 11, 5),
            IccReg::Asgi1r => (3, 0, 12, 11, 6),
            IccReg::Sgi0r => (3, 0, 12, 11, 7),
            IccReg::Iar1 => (3, 0, 12, 12, 0),
            IccReg::Eoir1 => (3, 0, 12, 12, 1),
            IccReg::Hppir1 => (3, 0, 12, 12, 2),
            IccReg::Bpr1 => (3, 0, 12, 12, 3),
            IccReg::Ctlr => (3, 0, 12, 12, 4),
            IccReg::SreEl1 => (3, 0, 12, 12, 5),
            IccReg::Igrpen0 => (3, 0, 12, 12, 6),
            IccReg::Igrpen1 => (3, 0, 12, 12, 7),
            IccReg::SreEl2 => (3, 4, 12, 9, 5),
            IccReg::SreEl3 => (3, 6, 12, 12, 5),
        }
    }

    /// The register with this encoding, if it is one of these. ICC_AP0R1-3/AP1R1-3 exist
    /// only with 6 or more priority bits (GIC 12.2 ICC_AP0R<n>_EL1), so they are `None`
    /// (UNDEFINED), as are the EL3-only ICC_CTLR_EL3 and ICC_IGRPEN1_EL3.
    pub fn from_encoding(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> Option<IccReg> {
        let enc = (op0, op1, crn, crm, op2);
        IccReg::ALL.into_iter().find(|r| r.encoding() == enc)
    }

    /// The register with the packed encoding `op0:op1:CRn:CRm:op2` (2+3+4+4+3 bits, op0 in
    /// bits 15:14), the form the AArch64 CPU's platform interface uses.
    pub fn from_sysreg(enc: u16) -> Option<IccReg> {
        let f = |shift: u32, bits: u32| ((enc >> shift) & ((1 << bits) - 1)) as u8;
        IccReg::from_encoding(f(14, 2), f(11, 3), f(7, 4), f(3, 4), f(0, 3))
    }

    /// The packed `op0:op1:CRn:CRm:op2` encoding (inverse of [`IccReg::from_sysreg`]).
    pub const fn sysreg(self) -> u16 {
        let (op0, op1, crn, crm, op2) = self.encoding();
        (op0 as u16) << 14 | (op1 as u16) << 11 | (crn as u16) << 7 | (crm as u16) << 3 | op2 as u16
    }

    /// True if MRS may read it (write-only registers are UNDEFINED to MRS, GIC 12.2).
    pub const fn readable(self) -> bool {
        !matches!(
            self,
            IccReg::Eoir0 | IccReg::Eoir1 | IccReg::Dir | IccReg::Sgi0r | IccReg::Sgi1r | IccReg::Asgi1r
        )
    }

    /// True if MSR may write it (read-only registers are UNDEFINED to MSR, GIC 12.2).
    pub const fn writable(self) -> bool {
        !matches!(self, IccReg::Iar0 | IccReg::Iar1 | IccReg::Hppir0 | IccReg::Hppir1 | IccReg::Rpr)
    }
}

/// The CPU-interface register with MRS/MSR encoding `(op0, op1, CRn, CRm, op2)`, if any
/// (same as [`IccReg::from_encoding`]).
pub fn icc_reg_from_encoding(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> Option<IccReg> {
    IccReg::from_encoding(op0, op1, crn, crm, op2)
}

/// State of 32 interrupts (one register word): the private SGIs/PPIs of a PE or 32 SPIs.
#[derive(Clone)]
struct Bank {
    group: u32,
    enable: u32,
    /// Pending state latched by an edge, an SGI or a write to ISPENDR.
    latch: u32,
    /// Input levels.
    level: u32,
    /// 1 = edge-triggered (ICFGR Int_config[1]).
    edge: u32,
    active: u32,
    prio: [u8; 32],
}

impl Bank {
    fn new(edge: u32) -> Self {
        Self { group: 0, enable: 0, latch: 0, level: 0, edge, active: 0, prio: [0; 32] }
    }
    /// GIC 4.1: a level-sensitive interrupt is pending while asserted or latched.
    fn pending(&self) -> u32 {
        self.latch | (self.level & !self.edge)
    }
    /// Drives input `bit`; an edge-triggered interrupt latches on a rising edge.
    fn set_input(&mut self, bit: u32, high: bool) {
        let m = 1u32 << bit;
        if high {
            if self.level & m == 0 && self.edge & m != 0 {
                self.latch |= m;
            }
            self.level |= m;
        } else {
            self.level &= !m;
        }
    }
    /// ICFGR word `half` (0: interrupts 0-15 of the bank, 1: 16-31), 2 bits per interrupt.
    fn icfgr(&self, half: u32) -> u32 {
        (0..16).filter(|i| self.edge & (1 << (half * 16 + i)) != 0).fold(0, |v, i| v | 2 << (2 * i))
    }
    fn set_icfgr(&mut self, half: u32, val: u32, writable: u32) {
        for i in 0..16 {
            let m = 1u32 << (half * 16 + i);
            if writable & m != 0 {
                self.edge = if val & (2 << (2 * i)) != 0 { self.edge | m } else { self.edge & !m };
            }
        }
    }
}

/// The highest-priority pending interrupt of a PE.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Hppi {
    intid: u32,
    prio: u8,
    group1: bool,
}

/// A PE's redistributor and CPU interface.
struct Cpu {
    bank: Bank,
    sleep: bool,
    gicr_ctlr: u32,
    pmr: u8,
    bpr0: u8,
    bpr1: u8,
    cbpr: bool,
    eoimode: bool,
    igrpen0: bool,
    igrpen1: bool,
    ap0r: u32,
    ap1r: u32,
    /// SPI words routed to this PE.
    routed: Vec<u32>,
    hppi: Option<Hppi>,
    irq: bool,
    fiq: bool,
}

impl Cpu {
    /// Mask of the group priority field (GIC 4.8, ICC_BPR0/1_EL1: BPR0 = n gives [7:n+1];
    /// BPR1 = n gives [7:n]; with CBPR, BPR0 serves both groups).
    fn group_prio_mask(&self, group1: bool) -> u8 {
        let shift = if group1 && !self.cbpr { self.bpr1 } else { self.bpr0 + 1 };
        ((0xffu16 << shift) as u8) & PRI_MASK
    }

    /// Running priority (GIC 12.2 ICC_RPR_EL1): the highest active priority, or idle 0xff.
    fn rpr(&self) -> u8 {
        let a = self.ap0r | self.ap1r;
        if a == 0 {
            0xff
        } else {
            (a.trailing_zeros() as u8) << (8 - GIC_PRIORITY_BITS)
        }
    }

    /// GIC 4.8: signalled when higher priority than the mask and its group priority than
    /// the running priority.
    fn can_signal(&self, prio: u8, group1: bool) -> bool {
        prio < self.pmr && (prio & self.group_prio_mask(group1)) < self.rpr()
    }
}

/// A GICv3 with its redistributors and CPU interfaces.
pub struct GicV3 {
    ctlr: u32,
    spis: Vec<Bank>,
    irouter: Vec<u64>,
    /// PE each SPI is forwarded to.
    spi_target: Vec<Option<usize>>,
    /// 1-of-N target PE for Group 0 and Group 1 SPIs.
    irm_target: [Option<usize>; 2],
    cpus: Vec<Cpu>,
}

fn bit(v: u32, n: u32) -> bool {
    v & (1 << n) != 0
}

impl GicV3 {
    /// A GIC for `num_cpus` PEs (1 to [`GIC_MAX_CPUS`]) and `num_spis` SPIs, rounded up to a
    /// multiple of 32 and capped at [`GIC_MAX_SPIS`].
    pub fn new(num_cpus: usize, num_spis: usize) -> Self {
        let words = num_spis.min(GIC_MAX_SPIS).div_ceil(32);
        let ncpu = num_cpus.clamp(1, GIC_MAX_CPUS);
        let cpu = || Cpu {
            // GIC 12.11 GICR_ICFGR0: SGIs are always edge-triggered.
            bank: Bank::new(0xffff),
            // GIC 12.11 GICR_WAKER: ProcessorSleep and ChildrenAsleep reset to 1.
            sleep: true,
            gicr_ctlr: 0,
            pmr: 0,
            bpr0: BPR0_MIN,
            bpr1: BPR1_MIN,
            cbpr: false,
            eoimode: false,
            igrpen0: false,
            igrpen1: false,
            ap0r: 0,
            ap1r: 0,
            routed: vec![0; words],
            hppi: None,
            irq: false,
            fiq: false,
        };
        let mut g = Self {
            ctlr: 0,
            spis: vec![Bank::new(0); words],
            irouter: vec![0; words * 32],
            spi_target: vec![None; words * 32],
            irm_target: [None; 2],
            cpus: (0..ncpu).map(|_| cpu()).collect(),
        };
        g.rebuild_routes();
        g
    }

    /// Number of PEs.
    pub fn num_cpus(&self) -> usize {
        self.cpus.len()
    }

    /// Number of SPIs (INTIDs 32 up to 32 + this, less the special INTIDs 1020-1023).
    pub fn num_spis(&self) -> usize {
        (self.spis.len() * 32).min(GIC_MAX_SPIS)
    }

    /// MPIDR_EL1 affinity fields (Aff0 bits 7:0, Aff1 15:8, Aff2 23:16, Aff3 39:32) of PE
    /// `cpu`; also the GICD_IROUTER value that routes an SPI to it.
    pub fn cpu_affinity(cpu: usize) -> u64 {
        let c = cpu as u64;
        (c % 16) | ((c / 16) % 256) << 8 | ((c / 4096) % 256) << 16
    }

    fn cpu_by_affinity(&self, aff: u64) -> Option<usize> {
        let (a0, a1, a2, a3) = (aff & 0xff, (aff >> 8) & 0xff, (aff >> 16) & 0xff, (aff >> 32) & 0xff);
        if a3 != 0 || a0 >= 16 {
            return None;
        }
        let c = (a0 + 16 * a1 + 4096 * a2) as usize;
        (c < self.cpus.len()).then_some(c)
    }

    fn spi_valid(&self, intid: u32) -> bool {
        (32..1020).contains(&intid) && ((intid - 32) as usize) < self.spis.len() * 32
    }

    /// Implemented interrupts of SPI word `w` (INTIDs 1020-1023 are special, GIC 2.2.1).
    fn spi_word_mask(w: usize) -> u32 {
        let first = 32 * (w as u32 + 1);
        if first + 32 > 1020 {
            (1u32 << (1020 - first)) - 1
        } else {
            u32::MAX
        }
    }

    // ---- routing and the cached per-PE state ----

    fn participates(&self, c: usize, group1: bool) -> bool {
        let cpu = &self.cpus[c];
        let (en, dpg) = if group1 { (cpu.igrpen1, GICR_CTLR_DPG1NS) } else { (cpu.igrpen0, GICR_CTLR_DPG0) };
        !cpu.sleep && en && cpu.gicr_ctlr & dpg == 0
    }

    /// Routes SPI `s` (INTID 32 + s) per its GICD_IROUTER (GIC 12.9 GICD_IROUTER).
    fn route_spi(&mut self, s: usize) {
        let (w, b) = (s / 32, (s % 32) as u32);
        if let Some(old) = self.spi_target[s] {
            self.cpus[old].routed[w] &= !(1 << b);
        }
        let r = self.irouter[s];
        let target = if Self::spi_word_mask(w) & (1 << b) == 0 {
            None
        } else if r & IROUTER_IRM != 0 {
            self.irm_target[usize::from(bit(self.spis[w].group, b))]
        } else {
            self.cpu_by_affinity(r)
        };
        self.spi_target[s] = target;
        if let Some(t) = target {
            self.cpus[t].routed[w] |= 1 << b;
        }
    }

    /// Recomputes the 1-of-N targets and every SPI's route, then every PE.
    fn rebuild_routes(&mut self) {
        for g in 0..2 {
            self.irm_target[g] = (0..self.cpus.len()).find(|&c| self.participates(c, g == 1));
        }
        for s in 0..self.irouter.len() {
            self.route_spi(s);
        }
        self.refresh_all();
    }

    fn compute_hppi(&self, c: usize) -> Option<Hppi> {
        let cpu = &self.cpus[c];
        if cpu.sleep {
            return None;
        }
        // GIC 4.1/12.9 GICD_CTLR, 12.2 ICC_IGRPEN<n>_EL1: a group must be enabled in the
        // distributor and at the CPU interface to be forwarded.
        let g0 = self.ctlr & CTLR_EN_GRP0 != 0 && cpu.igrpen0;
        let g1 = self.ctlr & CTLR_EN_GRP1 != 0 && cpu.igrpen1;
        if !g0 && !g1 {
            return None;
        }
        let mut best: Option<Hppi> = None;
        let mut consider = |bank: &Bank, routed: u32, base: u32| {
            let groups = if g0 { !bank.group } else { 0 } | if g1 { bank.group } else { 0 };
            // Active (or active and pending) interrupts are not forwarded again (GIC 4.1).
            let mut m = bank.pending() & bank.enable & !bank.active & groups & routed;
            while m != 0 {
                let i = m.trailing_zeros();
                m &= m - 1;
                let p = bank.prio[i as usize];
                if !matches!(best, Some(h) if h.prio <= p) {
                    best = Some(Hppi { intid: base + i, prio: p, group1: bit(bank.group, i) });
                }
            }
        };
        consider(&cpu.bank, u32::MAX, 0);
        for (w, bank) in self.spis.iter().enumerate() {
            if cpu.routed[w] != 0 {
                consider(bank, cpu.routed[w], 32 * (w as u32 + 1));
            }
        }
        best
    }

    fn refresh_cpu(&mut self, c: usize) {
        let hppi = self.compute_hppi(c);
        let cpu = &mut self.cpus[c];
        cpu.hppi = hppi;
        let sig = hppi.filter(|h| cpu.can_signal(h.prio, h.group1));
        // With one Security state Group 0 is signalled as FIQ and Group 1 as IRQ (GIC 4.6).
        cpu.irq = sig.is_some_and(|h| h.group1);
        cpu.fiq = sig.is_some_and(|h| !h.group1);
    }

    fn refresh_all(&mut self) {
        for c in 0..self.cpus.len() {
            self.refresh_cpu(c);
        }
    }

    fn refresh_spi(&mut self, s: usize) {
        if let Some(t) = self.spi_target.get(s).copied().flatten() {
            self.refresh_cpu(t);
        }
    }

    // ---- outputs and inputs ----

    /// The IRQ output of PE `cpu` (a Group 1 interrupt can be taken).
    #[inline]
    pub fn irq_pending(&self, cpu: usize) -> bool {
        self.cpus.get(cpu).is_some_and(|c| c.irq)
    }

    /// The FIQ output of PE `cpu` (a Group 0 interrupt can be taken).
    #[inline]
    pub fn fiq_pending(&self, cpu: usize) -> bool {
        self.cpus.get(cpu).is_some_and(|c| c.fiq)
    }

    /// Drives the input of SPI `spi` (INTID 32 + `spi`, the device tree's `GIC_SPI spi`).
    /// Level-sensitive SPIs are pending while high; edge-triggered ones latch on a rising
    /// edge (GICD_ICFGR). Out-of-range numbers are ignored.
    pub fn set_spi(&mut self, spi: usize, level: bool) {
        if spi >= GIC_MAX_SPIS || !self.spi_valid(32 + spi as u32) {
            return;
        }
        self.spis[spi / 32].set_input((spi % 32) as u32, level);
        self.refresh_spi(spi);
    }

    /// Drives PPI `intid` (16-31) of PE `cpu`, e.g. the generic timers ([`PPI_PHYS_TIMER`]
    /// and the others). Other INTIDs are ignored.
    pub fn set_ppi(&mut self, cpu: usize, intid: u32, level: bool) {
        if cpu >= self.cpus.len() || !(16..32).contains(&intid) {
            return;
        }
        self.cpus[cpu].bank.set_input(intid, level);
        self.refresh_cpu(cpu);
    }

    /// Routes the machine's 32 interrupt lines (`IrqLines::take_changes`): line n drives
    /// SPI n (INTID 32 + n) with level `levels` bit n; an edge-triggered SPI also latches on
    /// a recorded rising edge (`edges` bit n) even if the line has fallen again.
    pub fn update_spis_from_lines(&mut self, levels: u32, edges: u32) {
        let Some(bank) = self.spis.first_mut() else { return };
        let changed = (bank.level ^ levels) | (edges & bank.edge);
        bank.latch |= edges & bank.edge;
        bank.level = levels;
        if changed == 0 {
            return;
        }
        for c in 0..self.cpus.len() {
            if self.cpus[c].routed[0] & changed != 0 {
                self.refresh_cpu(c);
            }
        }
    }

    // ---- CPU interface ----

    fn activate(&mut self, c: usize, h: Hppi) {
        let m = 1u32 << (h.intid % 32);
        let bank =
            if h.intid < 32 { &mut self.cpus[c].bank } else { &mut self.spis[h.intid as usize / 32 - 1] };
        // GIC 4.1: acknowledge makes the interrupt active and removes its latched pending
        // state (a level-sensitive one stays pending while its input is high).
        bank.latch &= !m;
        bank.active |= m;
        let cpu = &mut self.cpus[c];
        // GIC 4.8: the group priority is recorded in the active priority registers.
        let idx = (h.prio & cpu.group_prio_mask(h.group1)) >> (8 - GIC_PRIORITY_BITS);
        if h.group1 {
            cpu.ap1r |= 1 << idx;
        } else {
            cpu.ap0r |= 1 << idx;
        }
    }

    /// GIC 12.2 ICC_IAR<n>_EL1.
    fn acknowledge(&mut self, c: usize, group1: bool) -> u32 {
        let cpu = &self.cpus[c];
        let Some(h) = cpu.hppi else { return INTID_SPURIOUS };
        // Not of this group, or masked by priority: the spurious INTID.
        if h.group1 != group1 || !cpu.can_signal(h.prio, h.group1) {
            return INTID_SPURIOUS;
        }
        self.activate(c, h);
        self.refresh_cpu(c);
        h.intid
    }

    fn deactivate(&mut self, c: usize, intid: u32) {
        let m = 1u32 << (intid % 32);
        if intid < 32 {
            self.cpus[c].bank.active &= !m;
            self.refresh_cpu(c);
        } else if self.spi_valid(intid) {
            self.spis[intid as usize / 32 - 1].active &= !m;
            self.refresh_spi(intid as usize - 32);
        }
    }

    /// GIC 12.2 ICC_EOIR<n>_EL1: priority drop of the highest active priority, and with
    /// EOImode 0 deactivation of the INTID written; special INTIDs are ignored.
    fn end_of_interrupt(&mut self, c: usize, group1: bool, val: u64) {
        let intid = (val & 0xff_ffff) as u32;
        if (1020..=1023).contains(&intid) {
            return;
        }
        let cpu = &mut self.cpus[c];
        let all = cpu.ap0r | cpu.ap1r;
        if all != 0 {
            let b = all & all.wrapping_neg();
            let (own, other) =
                if group1 { (&mut cpu.ap1r, &mut cpu.ap0r) } else { (&mut cpu.ap0r, &mut cpu.ap1r) };
            if *own & b != 0 {
                *own &= !b;
            } else {
                *other &= !b;
            }
        }
        let eoimode = cpu.eoimode;
        if !eoimode {
            self.deactivate(c, intid);
        }
        self.refresh_cpu(c);
    }

    /// GIC 12.2 ICC_SGI0R_EL1/ICC_SGI1R_EL1/ICC_ASGI1R_EL1 from PE `c`. `kind`: 0 for
    /// SGI0R, 1 for SGI1R, 2 for ASGI1R.
    fn generate_sgi(&mut self, c: usize, kind: u8, val: u64) {
        let intid = ((val >> 24) & 0xf) as u32;
        let targets: Vec<usize> = if val & (1 << 40) != 0 {
            // IRM = 1: every PE but the requester.
            (0..self.cpus.len()).filter(|&t| t != c).collect()
        } else {
            // ICC_CTLR_EL1.RSS = 0, so RS is RES0: the target list names Aff0 0-15.
            let aff = (val >> 48 & 0xff) << 32 | (val >> 32 & 0xff) << 16 | (val >> 16 & 0xff) << 8;
            (0..16u64).filter(|n| val & (1 << n) != 0).filter_map(|n| self.cpu_by_affinity(aff | n)).collect()
        };
        for t in targets {
            let group1 = bit(self.cpus[t].bank.group, intid);
            // GIC "Forwarding an SGI to a target PE" with GICD_CTLR.DS = 1: SGI0R reaches
            // Group 0 SGIs, SGI1R Group 1 SGIs; ASGI1R names the other Security state,
            // which does not exist, so it reaches none.
            let forward = match kind {
                0 => !group1,
                1 => group1,
                _ => false,
            };
            if forward {
                self.cpus[t].bank.latch |= 1 << intid;
                self.refresh_cpu(t);
            }
        }
    }

    /// Reads CPU-interface register `reg` of PE `cpu` (acknowledging an interrupt for
    /// ICC_IAR0/1_EL1). Write-only registers and out-of-range PEs read 0.
    pub fn icc_read(&mut self, cpu: usize, reg: IccReg) -> u64 {
        if cpu >= self.cpus.len() {
            return 0;
        }
        let c = &self.cpus[cpu];
        let hppir = |group1: bool| c.hppi.filter(|h| h.group1 == group1).map_or(INTID_SPURIOUS, |h| h.intid);
        let v = match reg {
            IccReg::Pmr => u32::from(c.pmr),
            IccReg::Iar0 => self.acknowledge(cpu, false),
            IccReg::Iar1 => self.acknowledge(cpu, true),
            // GIC 12.2 ICC_HPPIR<n>_EL1: the highest-priority pending interrupt if it is of
            // this group, regardless of the priority mask and running priority.
            IccReg::Hppir0 => hppir(false),
            IccReg::Hppir1 => hppir(true),
            IccReg::Bpr0 => u32::from(c.bpr0),
            // GIC 12.2 ICC_CTLR_EL1.CBPR: BPR1 reads as BPR0 + 1, saturated to 7.
            IccReg::Bpr1 if c.cbpr => u32::from((c.bpr0 + 1).min(7)),
            IccReg::Bpr1 => u32::from(c.bpr1),
            IccReg::Ap0r0 => c.ap0r,
            IccReg::Ap1r0 => c.ap1r,
            IccReg::Rpr => u32::from(c.rpr()),
            IccReg::Ctlr => {
                // GIC 12.2 ICC_CTLR_EL1: CBPR, EOImode; PRIbits = 4 (5 bits); IDbits = 0
                // (16 bits); SEIS = 0; A3V = 1; RSS = 0; PMHE RAZ/WI (not implemented).
                u32::from(c.cbpr) | u32::from(c.eoimode) << 1 | (GIC_PRIORITY_BITS - 1) << 8 | 1 << 15
            }
            // GIC 12.2 ICC_SRE_ELx: no legacy (memory-mapped) interface, so SRE, DFB, DIB
            // (and Enable at EL2/EL3) are RAO/WI.
            IccReg::SreEl1 => 0x7,
            IccReg::SreEl2 | IccReg::SreEl3 => 0xf,
            IccReg::Igrpen0 => u32::from(c.igrpen0),
            IccReg::Igrpen1 => u32::from(c.igrpen1),
            IccReg::Eoir0 | IccReg::Eoir1 | IccReg::Dir | IccReg::Sgi0r | IccReg::Sgi1r | IccReg::Asgi1r => 0,
        };
        u64::from(v)
    }

    /// Writes CPU-interface register `reg` of PE `cpu`. Read-only registers and
    /// out-of-range PEs ignore the write.
    pub fn icc_write(&mut self, cpu: usize, reg: IccReg, val: u64) {
        if cpu >= self.cpus.len() {
            return;
        }
        let c = &mut self.cpus[cpu];
        match reg {
            // Unimplemented low-order priority bits are RAZ/WI (GIC 4.8).
            IccReg::Pmr => c.pmr = val as u8 & PRI_MASK,
            // GIC 12.2 ICC_BPR<n>_EL1: values below the minimum set the minimum.
            IccReg::Bpr0 => c.bpr0 = (val as u8 & 7).max(BPR0_MIN),
            IccReg::Bpr1 if c.cbpr => {}
            IccReg::Bpr1 => c.bpr1 = (val as u8 & 7).max(BPR1_MIN),
            IccReg::Ap0r0 => c.ap0r = val as u32,
            IccReg::Ap1r0 => c.ap1r = val as u32,
            IccReg::Ctlr => {
                c.cbpr = val & 1 != 0;
                c.eoimode = val & 2 != 0;
            }
            IccReg::Igrpen0 | IccReg::Igrpen1 => {
                if reg == IccReg::Igrpen0 {
                    c.igrpen0 = val & 1 != 0;
                } else {
                    c.igrpen1 = val & 1 != 0;
                }
                // Changes which PEs take part in 1-of-N routing.
                self.rebuild_routes();
                return;
            }
            IccReg::Eoir0 => return self.end_of_interrupt(cpu, false, val),
            IccReg::Eoir1 => return self.end_of_interrupt(cpu, true, val),
            IccReg::Dir => {
                // GIC 12.2 ICC_DIR_EL1: deactivates with EOImode 1; with EOImode 0 the write is
                // UNPREDICTABLE and ignored here. Special INTIDs are ignored.
                let intid = (val & 0xff_ffff) as u32;
                if c.eoimode && !(1020..=1023).contains(&intid) {
                    self.deactivate(cpu, intid);
                }
                return;
            }
            IccReg::Sgi0r => return self.generate_sgi(cpu, 0, val),
            IccReg::Sgi1r => return self.generate_sgi(cpu, 1, val),
            IccReg::Asgi1r => return self.generate_sgi(cpu, 2, val),
            IccReg::Iar0
            | IccReg::Iar1
            | IccReg::Hppir0
            | IccReg::Hppir1
            | IccReg::Rpr
            | IccReg::SreEl1
            | IccReg::SreEl2
            | IccReg::SreEl3 => return,
        }
        self.refresh_cpu(cpu);
    }

    /// MRS of the packed encoding `enc` (see [`IccReg::from_sysreg`]) on PE `cpu`; `None`
    /// when no such readable register exists (the access is UNDEFINED).
    pub fn sysreg_read(&mut self, cpu: usize, enc: u16) -> Option<u64> {
        let reg = IccReg::from_sysreg(enc).filter(|r| r.readable())?;
        Some(self.icc_read(cpu, reg))
    }

    /// MSR of the packed encoding `enc` on PE `cpu`; `false` when no such writable register
    /// exists (the access is UNDEFINED).
    pub fn sysreg_write(&mut self, cpu: usize, enc: u16, val: u64) -> bool {
        let Some(reg) = IccReg::from_sysreg(enc).filter(|r| r.writable()) else { return false };
        self.icc_write(cpu, reg, val);
        true
    }

    // ---- distributor registers ----

    /// SPI word for a bitmap register at byte offset `off` within its array: word 0
    /// (INTIDs 0-31) is RAZ/WI under affinity routing (GIC 12.9).
    fn spi_word_index(&self, off: u64) -> Option<usize> {
        let n = (off / 4) as usize;
        (n >= 1 && n <= self.spis.len()).then(|| n - 1)
    }

    fn gicd_typer(&self) -> u32 {
        // GIC 12.9 GICD_TYPER: ITLinesNumber = INTIDs / 32 - 1; IDbits = 9 (INTIDs up to
        // 1023, no LPIs); A3V = 1; No1N = 0 (1-of-N supported); LPIS = MBIS = ESPI =
        // SecurityExtn = 0; CPUNumber = 0 (ARE is always 1).
        self.spis.len() as u32 | 9 << 19 | 1 << 24
    }

    fn dist_read32(&self, off: u64) -> u32 {
        let word = |base: u64, f: fn(&Bank) -> u32| {
            self.spi_word_index(off - base).map_or(0, |w| f(&self.spis[w]) & Self::spi_word_mask(w))
        };
        match off {
            0x0000 => self.ctlr | CTLR_ARE | CTLR_DS,
            0x0004 => self.gicd_typer(),
            0x0008 => IIDR,
            0x0080..=0x00ff => word(0x80, |b| b.group),
            // The set and clear views of each bitmap read alike.
            0x0100..=0x01ff => word(off & !0x7f, |b| b.enable),
            0x0200..=0x02ff => word(off & !0x7f, |b| b.pending()),
            0x0300..=0x03ff => word(off & !0x7f, |b| b.active),
            0x0400..=0x07ff => (0..4).fold(0, |v, i| {
                let intid = (off - 0x400 + i) as u32;
                let p = if self.spi_valid(intid) {
                    self.spis[intid as usize / 32 - 1].prio[intid as usize % 32]
                } else {
                    0
                };
                v | u32::from(p) << (8 * i)
            }),
            0x0c00..=0x0cff => {
                let n = (off - 0xc00) / 4; // INTIDs 16n..16n+16
                self.spi_word_index(n / 2 * 4).map_or(0, |w| self.spis[w].icfgr((n % 2) as u32))
            }
            0x6000..=0x7fdf => {
                let intid = ((off - 0x6000) / 8) as u32;
                if self.spi_valid(intid) {
                    (self.irouter[intid as usize - 32] >> (8 * (off & 4))) as u32
                } else {
                    0
                }
            }
            PIDR2_OFFSET => PIDR2,
            _ => 0,
        }
    }

    /// `lanes`: the byte lanes written (bit n = byte n).
    fn dist_write32(&mut self, off: u64, val: u32, lanes: u8) {
        if (0x0400..=0x07ff).contains(&off) {
            // GIC 12.9 GICD_IPRIORITYR: byte-accessible.
            for i in 0..4 {
                let intid = (off - 0x400 + i) as u32;
                if lanes & (1 << i) != 0 && self.spi_valid(intid) {
                    let p = (val >> (8 * i)) as u8 & PRI_MASK;
                    self.spis[intid as usize / 32 - 1].prio[intid as usize % 32] = p;
                }
            }
            self.refresh_all();
            return;
        }
        if lanes != 0xf {
            return; // other registers take word accesses only
        }
        let idx = |base: u64| self.spi_word_index(off - base);
        match off {
            0x0000 => {
                self.ctlr = val & (CTLR_EN_GRP0 | CTLR_EN_GRP1);
            }
            0x0080..=0x00ff => {
                if let Some(w) = idx(0x80) {
                    self.spis[w].group = val & Self::spi_word_mask(w);
                    for s in 32 * w..32 * w + 32 {
                        self.route_spi(s); // 1-of-N targets depend on the group
                    }
                }
            }
            0x0100..=0x03ff => {
                // ISENABLER 0x100, ICENABLER 0x180, ISPENDR 0x200, ICPENDR 0x280,
                // ISACTIVER 0x300, ICACTIVER 0x380.
                let base = off & !0x7f;
                let set = base & 0x80 == 0;
                let Some(w) = idx(base) else { return };
                let m = val & Self::spi_word_mask(w);
                let b = &mut self.spis[w];
                let reg = match base & !0x80 {
                    0x100 => &mut b.enable,
                    0x200 => &mut b.latch,
                    _ => &mut b.active,
                };
                // GIC 12.9 GICD_IS*/IC*R: write 1 to set / clear, 0 has no effect; for a
                // level-sensitive interrupt ICPENDR clears only the latched state.
                *reg = if set { *reg | m } else { *reg & !m };
            }
            0x0c00..=0x0cff => {
                let n = (off - 0xc00) / 4;
                if let Some(w) = self.spi_word_index(n / 2 * 4) {
                    self.spis[w].set_icfgr((n % 2) as u32, val, Self::spi_word_mask(w));
                }
            }
            0x6000..=0x7fdf => {
                let intid = ((off - 0x6000) / 8) as u32;
                if self.spi_valid(intid) {
                    let s = intid as usize - 32;
                    let shift = 8 * (off & 4);
                    let old = self.irouter[s];
                    let new = (old & !(0xffff_ffff << shift)) | (u64::from(val) << shift);
                    self.irouter[s] = new & IROUTER_MASK;
                    self.route_spi(s);
                }
            }
            _ => return, // RO, RES0 and (DS = 1) Secure-only registers: WI
        }
        self.refresh_all();
    }

    // ---- redistributor registers ----

    fn redist_read32(&self, off: u64) -> u32 {
        let c = (off / GICR_FRAME_SIZE) as usize;
        let Some(cpu) = self.cpus.get(c) else { return 0 };
        let b = &cpu.bank;
        match off % GICR_FRAME_SIZE {
            0x0000 => cpu.gicr_ctlr,
            0x0004 => IIDR,
            // GIC 12.11 GICR_TYPER: Processor_Number, DPGS = 1, Last on the final frame;
            // PLPIS = VLPIS = 0.
            0x0008 => (c as u32) << 8 | 1 << 5 | u32::from(c + 1 == self.cpus.len()) << 4,
            0x000c => {
                let a = Self::cpu_affinity(c);
                (a & 0xff_ffff) as u32 | ((a >> 32) as u32) << 24
            }
            0x0014 if cpu.sleep => WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP,
            0x0014 => 0,
            PIDR2_OFFSET => PIDR2,
            0x10080 => b.group,
            0x10100 | 0x10180 => b.enable,
            0x10200 | 0x10280 => b.pending(),
            0x10300 | 0x10380 => b.active,
            o @ 0x10400..=0x1041f => {
                let i = (o - 0x10400) as usize;
                u32::from_le_bytes([b.prio[i], b.prio[i + 1], b.prio[i + 2], b.prio[i + 3]])
            }
            0x10c00 => b.icfgr(0),
            0x10c04 => b.icfgr(1),
            _ => 0,
        }
    }

    fn redist_write32(&mut self, off: u64, val: u32, lanes: u8) {
        let c = (off / GICR_FRAME_SIZE) as usize;
        if c >= self.cpus.len() {
            return;
        }
        let o = off % GICR_FRAME_SIZE;
        if (0x10400..=0x1041f).contains(&o) {
            // GIC 12.11 GICR_IPRIORITYR<n>: byte-accessible.
            for i in 0..4 {
                if lanes & (1 << i) != 0 {
                    self.cpus[c].bank.prio[(o - 0x10400) as usize + i] = (val >> (8 * i)) as u8 & PRI_MASK;
                }
            }
            self.refresh_cpu(c);
            return;
        }
        if lanes != 0xf {
            return;
        }
        let b = &mut self.cpus[c].bank;
        match o {
            0x0000 => {
                self.cpus[c].gicr_ctlr = val & (GICR_CTLR_DPG0 | GICR_CTLR_DPG1NS);
                return self.rebuild_routes();
            }
            0x0014 => {
                self.cpus[c].sleep = val & WAKER_PROCESSOR_SLEEP != 0;
                return self.rebuild_routes();
            }
            0x10080 => b.group = val,
            0x10100 => b.enable |= val,
            0x10180 => b.enable &= !val,
            0x10200 => b.latch |= val,
            0x10280 => b.latch &= !val,
            0x10300 => b.active |= val,
            0x10380 => b.active &= !val,
            // GIC 12.11 GICR_ICFGR0 is RO for SGIs; PPI configuration is programmable here.
            0x10c04 => b.set_icfgr(1, val, 0xffff_0000),
            _ => return,
        }
        self.refresh_cpu(c);
    }

    // ---- MMIO entry points (offsets relative to each piece's base) ----

    fn read_with(off: u64, size: u8, read32: impl Fn(u64) -> u32) -> u64 {
        let base = off & !3;
        if size >= 8 {
            return u64::from(read32(base)) | u64::from(read32(base + 4)) << 32;
        }
        let v = u64::from(read32(base)) >> (8 * (off & 3));
        v & ((1u64 << (8 * u32::from(size.max(1)))) - 1)
    }

    fn write_with(off: u64, size: u8, val: u64, mut write32: impl FnMut(u64, u32, u8)) {
        let base = off & !3;
        if size >= 8 {
            write32(base, val as u32, 0xf);
            write32(base + 4, (val >> 32) as u32, 0xf);
            return;
        }
        let lane = off & 3;
        let lanes = ((((1u16 << size.clamp(1, 4)) - 1) << lane) & 0xf) as u8;
        write32(base, (val as u32) << (8 * lane), lanes);
    }

    /// Distributor read of `size` bytes at `offset` (no side effects).
    pub fn dist_read(&self, offset: u64, size: u8) -> u64 {
        Self::read_with(offset, size, |o| self.dist_read32(o))
    }

    /// Distributor write of `size` bytes at `offset`.
    pub fn dist_write(&mut self, offset: u64, size: u8, val: u64) {
        Self::write_with(offset, size, val, |o, v, l| self.dist_write32(o, v, l));
    }

    /// Redistributor read; `offset` counts from PE 0's RD_base.
    pub fn redist_read(&self, offset: u64, size: u8) -> u64 {
        Self::read_with(offset, size, |o| self.redist_read32(o))
    }

    /// Redistributor write; `offset` counts from PE 0's RD_base.
    pub fn redist_write(&mut self, offset: u64, size: u8, val: u64) {
        Self::write_with(offset, size, val, |o, v, l| self.redist_write32(o, v, l));
    }

    /// The distributor as a bus device sharing `gic`.
    pub fn distributor(gic: &Rc<RefCell<GicV3>>) -> GicDistributor {
        GicDistributor(gic.clone())
    }

    /// All redistributors as one bus device sharing `gic`.
    pub fn redistributors(gic: &Rc<RefCell<GicV3>>) -> GicRedistributors {
        GicRedistributors(gic.clone())
    }
}

/// The distributor's MMIO frame ([`GICD_SIZE`] bytes).
pub struct GicDistributor(Rc<RefCell<GicV3>>);

/// The redistributors' MMIO frames ([`GICR_FRAME_SIZE`] bytes per PE).
pub struct GicRedistributors(Rc<RefCell<GicV3>>);

impl Device for GicDistributor {
    fn name(&self) -> &str {
        "gicv3-dist"
    }
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        Some(self)
    }
}

impl MmioDevice for GicDistributor {
    fn mmio_read(&mut self, offset: u64, size: u8, _ctx: &mut IoCtx) -> u64 {
        self.0.borrow().dist_read(offset, size)
    }
    fn mmio_write(&mut self, offset: u64, size: u8, val: u64, _ctx: &mut IoCtx) {
        self.0.borrow_mut().dist_write(offset, size, val);
    }
}

impl Device for GicRedistributors {
    fn name(&self) -> &str {
        "gicv3-redist"
    }
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        Some(self)
    }
}

impl MmioDevice for GicRedistributors {
    fn mmio_read(&mut self, offset: u64, size: u8, _ctx: &mut IoCtx) -> u64 {
        self.0.borrow().redist_read(offset, size)
    }
    fn mmio_write(&mut self, offset: u64, size: u8, val: u64, _ctx: &mut IoCtx) {
        self.0.borrow_mut().redist_write(offset, size, val);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;

    const SGI: u64 = 0x10000;

    /// The set-up an OS does: distributor groups on, every redistributor awake, all
    /// interrupts Group 1 at priority 0xa0, PMR 0xf0, both groups enabled on every PE.
    fn booted(ncpu: usize, nspi: usize) -> GicV3 {
        let mut g = GicV3::new(ncpu, nspi);
        g.dist_write(0, 4, 3);
        for w in 1..=g.spis.len() as u64 {
            g.dist_write(0x80 + 4 * w, 4, 0xffff_ffff);
        }
        for i in (32..32 + nspi as u64).step_by(4) {
            g.dist_write(0x400 + i, 4, 0xa0a0_a0a0);
        }
        for c in 0..ncpu as u64 {
            let rd = c * GICR_FRAME_SIZE;
            g.redist_write(rd + 0x14, 4, 0);
            g.redist_write(rd + SGI + 0x80, 4, 0xffff_ffff);
            for i in (0..32).step_by(4) {
                g.redist_write(rd + SGI + 0x400 + i, 4, 0xa0a0_a0a0);
            }
            g.icc_write(c as usize, IccReg::Pmr, 0xf0);
            g.icc_write(c as usize, IccReg::Igrpen0, 1);
            g.icc_write(c as usize, IccReg::Igrpen1, 1);
        }
        g
    }

    fn enable_spi(g: &mut GicV3, intid: u64) {
        g.dist_write(0x100 + intid / 32 * 4, 4, 1 << (intid % 32));
    }

    #[test]
    fn id_and_type_registers() {
        let g = GicV3::new(2, 64);
        assert_eq!(g.dist_read(0, 4), 0x50, "ARE and DS RAO, groups off");
        let typer = g.dist_read(4, 4);
        assert_eq!(typer & 0x1f, 2, "96 INTIDs");
        assert_eq!(typer >> 17 & 1, 0, "no LPIs");
        assert_eq!(typer >> 10 & 1, 0, "single Security state");
        assert_eq!(typer >> 19 & 0x1f, 9);
        assert_eq!(GicV3::new(1, 256).dist_read(4, 4) & 0x1f, 8, "288 INTIDs");
        assert_eq!(GicV3::new(1, 5000).num_spis(), 988);
        assert_eq!(g.dist_read(8, 4), 0x43b);
        assert_eq!(g.dist_read(0xffe8, 4) >> 4 & 0xf, 3, "ArchRev GICv3");
        assert_eq!(g.redist_read(0xffe8, 4) >> 4 & 0xf, 3);
        assert_eq!(g.redist_read(GICR_FRAME_SIZE + 0xffe8, 4), 0x3b);
        // GICR_TYPER as one 64-bit access.
        let t0 = g.redist_read(8, 8);
        let t1 = g.redist_read(GICR_FRAME_SIZE + 8, 8);
        assert_eq!(t0 & 0x10, 0, "not last");
        assert_eq!(t1 & 0x10, 0x10, "last");
        assert_eq!((t0 >> 8 & 0xffff, t1 >> 8 & 0xffff), (0, 1));
        assert_eq!(t1 >> 32, 1, "Aff0 = 1");
        let g = GicV3::new(20, 32);
        assert_eq!(g.redist_read(17 * GICR_FRAME_SIZE + 8, 8) >> 32, 0x0101, "PE 17: Aff1 1, Aff0 1");
        assert_eq!(GicV3::cpu_affinity(17), 0x0101);
    }

    #[test]
    fn waker_handshake_gates_delivery() {
        let mut g = GicV3::new(1, 32);
        assert_eq!(g.redist_read(0x14, 4), 0x6, "ProcessorSleep and ChildrenAsleep at reset");
        g.dist_write(0, 4, 2);
        g.redist_write(SGI + 0x80, 4, 1 << 27);
        g.redist_write(SGI + 0x100, 4, 1 << 27);
        g.redist_write(SGI + 0x418, 4, 0x8000_0000);
        g.icc_write(0, IccReg::Pmr, 0xff);
        g.icc_write(0, IccReg::Igrpen1, 1);
        g.set_ppi(0, PPI_VIRT_TIMER, true);
        assert!(!g.irq_pending(0), "asleep");
        g.redist_write(0x14, 4, 0);
        assert_eq!(g.redist_read(0x14, 4), 0);
        assert!(g.irq_pending(0));
        assert_eq!(g.icc_read(0, IccReg::Iar1), 27);
        g.redist_write(0x14, 4, 2);
        assert_eq!(g.redist_read(0x14, 4), 0x6);
    }

    #[test]
    fn level_spi_ack_eoi_flow() {
        let mut g = booted(1, 64);
        enable_spi(&mut g, 33);
        g.set_spi(1, true);
        assert!(g.irq_pending(0) && !g.fiq_pending(0));
        assert_eq!(g.dist_read(0x204, 4), 1 << 1, "pending");
        assert_eq!(g.icc_read(0, IccReg::Hppir1), 33);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 33);
        assert!(!g.irq_pending(0), "active: not forwarded again");
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0xa0);
        assert_eq!(g.icc_read(0, IccReg::Ap1r0), 1 << (0xa0 >> 3));
        assert_eq!(g.dist_read(0x304, 4), 1 << 1, "active");
        assert_eq!(g.dist_read(0x204, 4), 1 << 1, "still pending: line high");
        assert_eq!(g.icc_read(0, IccReg::Iar1), 1023);
        g.icc_write(0, IccReg::Eoir1, 33);
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0xff);
        assert_eq!(g.dist_read(0x304, 4), 0);
        assert!(g.irq_pending(0), "level still asserted");
        g.set_spi(1, false);
        assert!(!g.irq_pending(0));
        assert_eq!(g.icc_read(0, IccReg::Iar1), 1023);
        // ISPENDR latches a level-sensitive interrupt; acknowledge clears the latch.
        g.dist_write(0x204, 4, 1 << 1);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 33);
        g.icc_write(0, IccReg::Eoir1, 33);
        assert!(!g.irq_pending(0));
    }

    #[test]
    fn edge_spi_latches_and_icpendr_clears() {
        let mut g = booted(1, 64);
        enable_spi(&mut g, 40);
        g.dist_write(0xc08, 4, 2 << (2 * 8)); // INTID 40 edge
        assert_eq!(g.dist_read(0xc08, 4), 2 << 16);
        g.set_spi(8, true);
        g.set_spi(8, false);
        assert!(g.irq_pending(0), "edge latched");
        g.dist_write(0x284, 4, 1 << 8);
        assert!(!g.irq_pending(0), "ICPENDR");
        g.set_spi(8, true);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 40);
        g.set_spi(8, true);
        g.icc_write(0, IccReg::Eoir1, 40);
        assert!(!g.irq_pending(0), "no new edge while high");
        g.set_spi(8, false);
        g.set_spi(8, true);
        assert!(g.irq_pending(0));
    }

    #[test]
    fn priority_mask_preemption_and_binary_point() {
        let mut g = booted(1, 64);
        for i in [32, 33, 34] {
            enable_spi(&mut g, i);
        }
        g.dist_write(0x420, 4, 0x0040_8000 | 0xf0); // 32: 0xf0, 33: 0x80, 34: 0x40
        g.set_spi(0, true);
        assert!(!g.irq_pending(0), "0xf0 is not below PMR 0xf0");
        assert_eq!(g.icc_read(0, IccReg::Hppir1), 32, "HPPIR ignores the mask");
        assert_eq!(g.icc_read(0, IccReg::Iar1), 1023);
        // BPR1 = 7: the group priority is bit 7 only, so 0xf0 runs at group priority 0x80.
        g.icc_write(0, IccReg::Pmr, 0xff);
        g.icc_write(0, IccReg::Bpr1, 7);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 32);
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0x80);
        g.set_spi(1, true);
        assert!(!g.irq_pending(0), "0x80 is in the same priority group: no preemption");
        g.set_spi(2, true);
        assert!(g.irq_pending(0), "0x40 preempts");
        assert_eq!(g.icc_read(0, IccReg::Iar1), 34);
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0x00);
        g.set_spi(2, false);
        g.icc_write(0, IccReg::Bpr1, 0);
        assert_eq!(g.icc_read(0, IccReg::Bpr1), 3, "minimum binary point");
        // EOIs drop the highest active priority first.
        g.icc_write(0, IccReg::Eoir1, 34);
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0x80);
        assert!(!g.irq_pending(0), "equal group priority never preempts");
        g.icc_write(0, IccReg::Eoir1, 1023);
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0x80, "special INTID ignored");
        g.icc_write(0, IccReg::Eoir1, 32);
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0xff);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 33);
        g.icc_write(0, IccReg::Eoir1, 33);
        // CBPR: BPR1 reads BPR0 + 1 and ignores writes.
        g.icc_write(0, IccReg::Bpr0, 4);
        g.icc_write(0, IccReg::Ctlr, 1);
        g.icc_write(0, IccReg::Bpr1, 6);
        assert_eq!(g.icc_read(0, IccReg::Bpr1), 5);
        assert_eq!(g.icc_read(0, IccReg::Ctlr), 0x1 | 0x400 | 0x8000);
    }

    #[test]
    fn eoimode1_splits_drop_and_deactivate() {
        let mut g = booted(1, 32);
        enable_spi(&mut g, 35);
        g.icc_write(0, IccReg::Ctlr, 2);
        g.dist_write(0x200 + 4, 4, 1 << 3); // pending via ISPENDR
        assert_eq!(g.icc_read(0, IccReg::Iar1), 35);
        g.dist_write(0x204, 4, 1 << 3); // pending again while active
        g.icc_write(0, IccReg::Eoir1, 35);
        assert_eq!(g.icc_read(0, IccReg::Rpr), 0xff, "priority dropped");
        assert_eq!(g.dist_read(0x304, 4), 1 << 3, "still active");
        assert!(!g.irq_pending(0), "active and pending is not forwarded");
        g.icc_write(0, IccReg::Dir, 35);
        assert_eq!(g.dist_read(0x304, 4), 0);
        assert!(g.irq_pending(0));
    }

    #[test]
    fn group0_is_fiq() {
        let mut g = booted(1, 32);
        g.redist_write(SGI + 0x80, 4, 0xffff_fffe); // SGI 0 in Group 0
        g.redist_write(SGI + 0x100, 4, 1);
        g.redist_write(SGI + 0x200, 4, 1);
        assert!(g.fiq_pending(0) && !g.irq_pending(0));
        assert_eq!(g.icc_read(0, IccReg::Iar1), 1023, "not Group 1");
        assert_eq!(g.icc_read(0, IccReg::Hppir0), 0);
        assert_eq!(g.icc_read(0, IccReg::Iar0), 0);
        assert_eq!(g.icc_read(0, IccReg::Ap0r0), 1 << 20);
        g.icc_write(0, IccReg::Eoir0, 0);
        assert_eq!(g.icc_read(0, IccReg::Ap0r0), 0);
        // Disabling Group 0 in the distributor stops forwarding.
        g.redist_write(SGI + 0x200, 4, 1);
        g.dist_write(0, 4, 2);
        assert!(!g.fiq_pending(0));
    }

    #[test]
    fn sgis_between_cpus() {
        let mut g = booted(3, 32);
        for c in 0..3 {
            g.redist_write(c * GICR_FRAME_SIZE + SGI + 0x100, 4, 0xffff);
        }
        // CPU 0 -> CPU 1, SGI 3.
        g.icc_write(0, IccReg::Sgi1r, 3 << 24 | 0b10);
        assert!(!g.irq_pending(0) && g.irq_pending(1) && !g.irq_pending(2));
        assert_eq!(g.icc_read(1, IccReg::Iar1), 3);
        g.icc_write(1, IccReg::Eoir1, 3);
        // Broadcast (IRM) from CPU 2 reaches everyone else.
        g.icc_write(2, IccReg::Sgi1r, 5 << 24 | 1 << 40);
        assert!(g.irq_pending(0) && g.irq_pending(1) && !g.irq_pending(2));
        assert_eq!(g.icc_read(0, IccReg::Iar1), 5);
        // Group mismatch and the other Security state are not forwarded; a wrong Aff1 is no PE.
        g.icc_write(0, IccReg::Sgi0r, 6 << 24 | 0b100);
        g.icc_write(0, IccReg::Asgi1r, 6 << 24 | 0b100);
        g.icc_write(0, IccReg::Sgi1r, 6 << 24 | 1 << 16 | 0b100);
        assert!(!g.irq_pending(2));
        assert_eq!(g.redist_read(2 * GICR_FRAME_SIZE + SGI + 0x200, 4), 0);
        assert_eq!(g.redist_read(SGI + 0xc00, 4), 0xaaaa_aaaa, "SGIs are edge-triggered");
    }

    #[test]
    fn irouter_routing_and_one_of_n() {
        let mut g = booted(2, 64);
        enable_spi(&mut g, 50);
        g.dist_write(0x6000 + 8 * 50, 8, GicV3::cpu_affinity(1));
        assert_eq!(g.dist_read(0x6000 + 8 * 50, 8), 1);
        g.set_spi(18, true);
        assert!(!g.irq_pending(0) && g.irq_pending(1));
        // Affinity of no PE: not forwarded.
        g.dist_write(0x6000 + 8 * 50, 4, 7);
        assert!(!g.irq_pending(0) && !g.irq_pending(1));
        // 1-of-N goes to the lowest participating PE.
        g.dist_write(0x6000 + 8 * 50, 8, 1 << 31 | 0xff_0000_0000);
        assert_eq!(g.dist_read(0x6004 + 8 * 50, 4), 0xff, "Aff3 kept");
        assert!(g.irq_pending(0) && !g.irq_pending(1));
        g.icc_write(0, IccReg::Igrpen1, 0);
        assert!(!g.irq_pending(0) && g.irq_pending(1));
        g.redist_write(GICR_FRAME_SIZE, 4, u64::from(GICR_CTLR_DPG1NS));
        assert_eq!(g.redist_read(GICR_FRAME_SIZE, 4), u64::from(GICR_CTLR_DPG1NS));
        assert!(!g.irq_pending(1), "DPG1NS opts PE 1 out");
    }

    #[test]
    fn lines_map_to_spis_and_ppis_are_per_cpu() {
        let mut g = booted(2, 64);
        g.dist_write(0x104, 4, 0xffff_ffff);
        g.dist_write(0xc08, 4, 0x2); // INTID 32 (line 0) edge-triggered
        g.update_spis_from_lines(0, 1); // a pulse on line 0
        g.update_spis_from_lines(1 << 4, 1 << 4); // line 4 high
        assert_eq!(g.dist_read(0x204, 4), 1 | 1 << 4);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 32);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 1023, "same priority: no preemption");
        g.icc_write(0, IccReg::Eoir1, 32);
        assert_eq!(g.icc_read(0, IccReg::Iar1), 36);
        g.icc_write(0, IccReg::Eoir1, 36);
        g.update_spis_from_lines(0, 0);
        assert_eq!(g.dist_read(0x204, 4), 0);
        g.redist_write(GICR_FRAME_SIZE + SGI + 0x100, 4, 1 << PPI_PHYS_TIMER);
        g.set_ppi(1, PPI_PHYS_TIMER, true);
        g.set_ppi(1, 40, true);
        g.set_ppi(9, PPI_PHYS_TIMER, true);
        assert!(g.irq_pending(1));
        assert_eq!(g.icc_read(1, IccReg::Iar1), 30);
        // PPI configuration is programmable.
        g.redist_write(SGI + 0xc04, 4, 0x8000_0000);
        assert_eq!(g.redist_read(SGI + 0xc04, 4), 0x8000_0000);
    }

    #[test]
    fn bitmap_and_byte_registers_through_the_bus() {
        let gic = Rc::new(RefCell::new(GicV3::new(2, 64)));
        let mut d = Rig::new(GicV3::distributor(&gic)).mmio(0x0800_0000, GICD_SIZE, GIC_ACCESS);
        let mut r = Rig::new(GicV3::redistributors(&gic)).mmio(0x080a_0000, 2 * GICR_FRAME_SIZE, GIC_ACCESS);
        d.wr(0x0800_0000 + 0x421, 1, 0xff, 0);
        assert_eq!(d.rd(0x0800_0000 + 0x420, 4, 0), 0xf800, "byte write, 5 priority bits");
        assert_eq!(d.rd(0x0800_0000 + 0x421, 1, 0), 0xf8);
        d.wr(0x0800_0000 + 0x104, 4, 0xffff_ffff, 0);
        assert_eq!(d.rd(0x0800_0000 + 0x184, 4, 0), 0xffff_ffff, "ICENABLER reads the enables");
        d.wr(0x0800_0000 + 0x184, 4, 0xffff_fffe, 0);
        assert_eq!(d.rd(0x0800_0000 + 0x104, 4, 0), 1);
        d.wr(0x0800_0000 + 0x100, 4, 0xffff_ffff, 0);
        assert_eq!(d.rd(0x0800_0000 + 0x100, 4, 0), 0, "INTIDs 0-31 RAZ/WI in the distributor");
        d.wr(0x0800_0000 + 0x10c, 4, 0xffff_ffff, 0);
        assert_eq!(d.rd(0x0800_0000 + 0x10c, 4, 0), 0, "beyond the implemented SPIs");
        d.wr(0x0800_0000 + 0xd04, 4, 0xffff_ffff, 0);
        assert_eq!(d.rd(0x0800_0000 + 0xd04, 4, 0), 0, "IGRPMODR RAZ/WI with DS = 1");
        r.wr(0x080a_0000 + GICR_FRAME_SIZE + SGI + 0x41f, 1, 0x90, 0);
        assert_eq!(r.rd(0x080a_0000 + GICR_FRAME_SIZE + SGI + 0x41c, 4, 0), 0x9000_0000);
        assert_eq!(gic.borrow().cpus[1].bank.prio[31], 0x90);
    }

    #[test]
    fn encodings() {
        assert_eq!(icc_reg_from_encoding(3, 0, 12, 12, 0), Some(IccReg::Iar1));
        assert_eq!(icc_reg_from_encoding(3, 0, 4, 6, 0), Some(IccReg::Pmr));
        assert_eq!(icc_reg_from_encoding(3, 0, 12, 11, 5), Some(IccReg::Sgi1r));
        assert_eq!(icc_reg_from_encoding(3, 4, 12, 9, 5), Some(IccReg::SreEl2));
        assert_eq!(icc_reg_from_encoding(3, 0, 12, 8, 5), None, "ICC_AP0R1_EL1 not implemented");
        for r in IccReg::ALL {
            assert_eq!(IccReg::from_sysreg(r.sysreg()), Some(r));
        }
        // ICC_EOIR1_EL1 = S3_0_C12_C12_1.
        assert_eq!(IccReg::Eoir1.sysreg(), 3 << 14 | 12 << 7 | 12 << 3 | 1);
        let mut g = GicV3::new(1, 32);
        assert_eq!(g.sysreg_read(0, IccReg::SreEl1.sysreg()), Some(7));
        assert_eq!(g.sysreg_read(0, IccReg::Eoir1.sysreg()), None, "write-only");
        assert!(!g.sysreg_write(0, IccReg::Rpr.sysreg(), 0), "read-only");
        assert!(g.sysreg_write(0, IccReg::Pmr.sysreg(), 0xff));
        assert_eq!(g.icc_read(0, IccReg::Pmr), 0xf8);
        assert_eq!(g.icc_read(0, IccReg::Bpr0), 2);
    }
}
