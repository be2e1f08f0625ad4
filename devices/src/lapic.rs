//! Local APIC (xAPIC and x2APIC), SDM Vol 3A chapter 11 "Advanced Programmable Interrupt
//! Controller (APIC)".
//!
//! One `Lapic` per CPU. It is not on the bus: the board forwards the CPU's accesses to the
//! APIC page ([`Lapic::mmio_read`]/[`Lapic::mmio_write`], offsets within the 4 KiB page at
//! [`Lapic::mmio_base`]), the x2APIC MSRs 0x800-0x8ff and IA32_TSC_DEADLINE
//! ([`Lapic::msr_read`]/[`Lapic::msr_write`]) and IA32_APIC_BASE ([`Lapic::base_msr`],
//! [`Lapic::set_base_msr`]); CR8 maps to [`Lapic::tpr`]/[`Lapic::set_tpr`].
//!
//! Board protocol:
//! * Register writes may return an [`ApicAction`]: an IPI to route (the board expands the
//!   shorthand, matches destinations with [`Lapic::matches`] and calls [`Lapic::deliver`]),
//!   or the EOI of a level-triggered vector to forward to the IOAPIC.
//! * Before each instruction (when interrupts are enabled) the board checks
//!   [`Lapic::take_nmi`], [`Lapic::take_init`], [`Lapic::take_sipi`], [`Lapic::take_extint`]
//!   and [`Lapic::has_interrupt`]; it takes the vector with [`Lapic::acknowledge`]. If
//!   [`Lapic::lint0_extint`] is true, the 8259 INTR goes straight to the CPU.
//! * Timer: when `now >= next_deadline()`, the board calls [`Lapic::tick`].
//!
//! Time: the APIC timer counts the machine tick (1 GHz) divided by the divide configuration.
//! The TSC equals the tick count, so TSC-deadline mode compares the deadline with the tick.
//! No SMM: SMI messages are ignored. Delivery is instantaneous, so delivery-status bits read
//! 0. The version register advertises 6 LVT entries (no CMCI) and no EOI-broadcast
//! suppression.

use crate::apic::{ApicAction, ApicMessage, DeliveryMode, Shorthand};

/// Default APIC page address.
pub const APIC_DEFAULT_BASE: u64 = 0xfee0_0000;
/// IA32_TSC_DEADLINE.
pub const MSR_TSC_DEADLINE: u32 = 0x6e0;
/// Version register: version 0x14, max LVT entry 5 (SDM Vol 3A 11.4.8).
pub const APIC_VERSION: u32 = 0x0005_0014;

const BASE_BSP: u64 = 1 << 8;
const BASE_EXTD: u64 = 1 << 10;
const BASE_EN: u64 = 1 << 11;
/// Reserved bits of IA32_APIC_BASE (SDM Vol 3A 11.4.4, Figure 11-5), assuming a 52-bit
/// physical address width.
const BASE_RESERVED: u64 = 0xff | (1 << 9) | (!0u64 << 52);

const LVT_TIMER: usize = 0;
const LVT_LINT0: usize = 3;
const LVT_ERROR: usize = 5;
const LVT_MASKED: u32 = 1 << 16;
/// Writable bits of each LVT entry (SDM Vol 3A 11.5.1, Figure 11-8): timer, thermal,
/// performance, LINT0, LINT1, error.
const LVT_WRITABLE: [u32; 6] = [0x0007_00ff, 0x0001_07ff, 0x0001_07ff, 0x0001_a7ff, 0x0001_a7ff, 0x0001_00ff];

const SVR_ENABLE: u32 = 1 << 8;
/// Writable SVR bits: vector, APIC software enable, focus processor checking.
const SVR_WRITABLE: u32 = 0x3ff;

/// ICR low dword writable bits: vector, delivery mode, destination mode, level, trigger,
/// shorthand (SDM Vol 3A 11.6.1).
const ICR_LO_WRITABLE: u32 = 0x000c_cfff;

/// ESR bits (SDM Vol 3A 11.5.3).
const ESR_SEND_ILLEGAL_VECTOR: u32 = 1 << 5;
const ESR_RECV_ILLEGAL_VECTOR: u32 = 1 << 6;

fn bit_test(r: &[u32; 8], v: u8) -> bool {
    r[usize::from(v >> 5)] & (1 << (v & 31)) != 0
}
fn bit_set(r: &mut [u32; 8], v: u8) {
    r[usize::from(v >> 5)] |= 1 << (v & 31);
}
fn bit_clear(r: &mut [u32; 8], v: u8) {
    r[usize::from(v >> 5)] &= !(1 << (v & 31));
}
fn highest(r: &[u32; 8]) -> Option<u8> {
    (0..8).rev().find(|&i| r[i] != 0).map(|i| (i * 32 + 31 - r[i].leading_zeros() as usize) as u8)
}

/// A local APIC.
pub struct Lapic {
    initial_id: u32,
    /// APIC ID (8 bits in xAPIC mode, software-writable there; the initial ID in x2APIC).
    id: u32,
    base: u64,
    tpr: u8,
    ldr: u32,
    dfr: u32,
    svr: u32,
    irr: [u32; 8],
    isr: [u32; 8],
    tmr: [u32; 8],
    esr: u32,
    esr_pending: u32,
    icr_lo: u32,
    icr_hi: u32,
    lvt: [u32; 6],
    timer_initial: u32,
    timer_dcr: u32,
    timer_start: u64,
    /// Timer counts already elapsed at `timer_start` (after a divider change).
    timer_counts0: u64,
    timer_next: Option<u64>,
    tsc_deadline: u64,
    nmi: bool,
    init: bool,
    sipi: Option<u8>,
    extint: bool,
}

impl Lapic {
    /// A local APIC with initial APIC ID `apic_id`, enabled in xAPIC mode at the default
    /// base, in its reset state (SDM Vol 3A 11.4.7.1).
    pub fn new(apic_id: u32, is_bsp: bool) -> Self {
        let mut l = Self {
            initial_id: apic_id,
            id: apic_id & 0xff,
            base: APIC_DEFAULT_BASE | BASE_EN | if is_bsp { BASE_BSP } else { 0 },
            tpr: 0,
            ldr: 0,
            dfr: 0xffff_ffff,
            svr: 0xff,
            irr: [0; 8],
            isr: [0; 8],
            tmr: [0; 8],
            esr: 0,
            esr_pending: 0,
            icr_lo: 0,
            icr_hi: 0,
            lvt: [LVT_MASKED; 6],
            timer_initial: 0,
            timer_dcr: 0,
            timer_start: 0,
            timer_counts0: 0,
            timer_next: None,
            tsc_deadline: 0,
            nmi: false,
            init: false,
            sipi: None,
            extint: false,
        };
        l.reset_state();
        l
    }

    /// Resets the register state (power-up or INIT) keeping IA32_APIC_BASE and the ID.
    fn reset_state(&mut self) {
        // SDM Vol 3A 11.4.7.1: IRR, ISR, TMR, ICR, LDR, TPR, timer registers cleared, DFR all
        // ones, LVT entries masked, SVR 0xff (software disabled).
        self.tpr = 0;
        self.ldr = 0;
        self.dfr = 0xffff_ffff;
        self.svr = 0xff;
        self.irr = [0; 8];
        self.isr = [0; 8];
        self.tmr = [0; 8];
        self.esr = 0;
        self.esr_pending = 0;
        self.icr_lo = 0;
        self.icr_hi = 0;
        self.lvt = [LVT_MASKED; 6];
        if self.base & BASE_BSP != 0 {
            // Virtual-wire mode through the BSP's LINT0 (MP spec 3.6.2.2), as QEMU and KVM
            // set it at reset so that 8259 interrupts reach the BSP.
            self.lvt[LVT_LINT0] = 0x700;
        }
        self.timer_initial = 0;
        self.timer_dcr = 0;
        self.timer_start = 0;
        self.timer_counts0 = 0;
        self.timer_next = None;
        self.tsc_deadline = 0;
        self.nmi = false;
        self.sipi = None;
        self.extint = false;
        if self.x2apic() {
            self.id = self.initial_id;
            self.ldr = self.x2apic_ldr();
        }
    }

    /// The reset an INIT message causes (SDM Vol 3A 11.4.7.3): the board calls this when it
    /// puts the CPU in wait-for-SIPI after [`Lapic::take_init`].
    pub fn init_reset(&mut self) {
        self.reset_state();
    }

    fn hw_enabled(&self) -> bool {
        self.base & BASE_EN != 0
    }
    fn sw_enabled(&self) -> bool {
        self.svr & SVR_ENABLE != 0
    }
    /// True in x2APIC mode.
    pub fn x2apic(&self) -> bool {
        self.base & BASE_EXTD != 0
    }
    /// The APIC ID (the initial ID in x2APIC mode; the 8-bit ID register in xAPIC mode).
    pub fn id(&self) -> u32 {
        self.id
    }
    /// Physical base of the xAPIC register page.
    pub fn mmio_base(&self) -> u64 {
        self.base & 0x000f_ffff_ffff_f000
    }

    /// x2APIC logical ID: cluster = ID[31:4], bit ID[3:0] within it (SDM Vol 3A 11.12.10.2).
    fn x2apic_ldr(&self) -> u32 {
        ((self.initial_id >> 4) << 16) | (1 << (self.initial_id & 0xf))
    }

    /// IA32_APIC_BASE.
    pub fn base_msr(&self) -> u64 {
        self.base
    }

    /// Writes IA32_APIC_BASE; `Err` means #GP (reserved bits, the invalid EN=0/EXTD=1
    /// combination, or an illegal transition: x2APIC to xAPIC, disabled to x2APIC; SDM Vol 3A
    /// 11.12.5, Figure 11-27). The BSP flag is read-only.
    #[allow(clippy::result_unit_err)] // `Err` is exactly "#GP"; nothing else to report
    pub fn set_base_msr(&mut self, v: u64) -> Result<(), ()> {
        if v & BASE_RESERVED != 0 {
            return Err(());
        }
        let (old_en, old_x2) = (self.hw_enabled(), self.x2apic());
        let (en, x2) = (v & BASE_EN != 0, v & BASE_EXTD != 0);
        match (old_en, old_x2, en, x2) {
            (_, _, false, true) => return Err(()),       // invalid state
            (true, true, true, false) => return Err(()), // x2APIC -> xAPIC
            (false, _, true, true) => return Err(()),    // disabled -> x2APIC
            _ => {}
        }
        self.base = (v & !BASE_BSP) | (self.base & BASE_BSP);
        if old_en && !en {
            // SDM Vol 3A 11.4.3: a globally disabled APIC returns to its power-up state.
            self.id = self.initial_id & 0xff;
            self.reset_state();
        } else if x2 && !old_x2 {
            // SDM Vol 3A 11.12.5.1: entering x2APIC mode, the ID becomes the 32-bit x2APIC ID
            // and the LDR is derived from it.
            self.id = self.initial_id;
            self.ldr = self.x2apic_ldr();
        }
        Ok(())
    }

    /// Processor priority (SDM Vol 3A 11.8.3.1).
    pub fn ppr(&self) -> u8 {
        let isrv = highest(&self.isr).unwrap_or(0);
        if self.tpr >> 4 >= isrv >> 4 {
            self.tpr
        } else {
            isrv & 0xf0
        }
    }

    /// Arbitration priority, used by the board for lowest-priority delivery (SDM Vol 3A
    /// 11.6.2.4).
    pub fn apr(&self) -> u8 {
        let irrv = highest(&self.irr).unwrap_or(0);
        let isrv = highest(&self.isr).unwrap_or(0);
        if self.tpr >> 4 >= irrv >> 4 && self.tpr >> 4 > isrv >> 4 {
            self.tpr
        } else {
            (self.tpr & 0xf0).max(isrv & 0xf0).max(irrv & 0xf0)
        }
    }

    /// CR8 value: TPR[7:4] (SDM Vol 3A 11.8.6.1).
    pub fn tpr(&self) -> u8 {
        self.tpr >> 4
    }

    /// MOV to CR8: TPR[7:4] = CR8[3:0], TPR[3:0] = 0 (SDM Vol 3A 11.8.6.1).
    pub fn set_tpr(&mut self, cr8: u64) {
        self.tpr = ((cr8 & 0xf) << 4) as u8;
    }

    /// The full 8-bit task-priority register.
    pub fn tpr_register(&self) -> u8 {
        self.tpr
    }

    fn signal_error(&mut self, bits: u32) {
        self.esr_pending |= bits;
        let lvt = self.lvt[LVT_ERROR];
        let v = lvt as u8;
        // SDM Vol 3A 11.5.3: errors are signalled through the LVT error entry.
        if lvt & LVT_MASKED == 0 && v >= 16 {
            bit_set(&mut self.irr, v);
            bit_clear(&mut self.tmr, v);
        }
    }

    fn accept_fixed(&mut self, vector: u8, level: bool) {
        if vector < 16 {
            // SDM Vol 3A 11.5.3: vectors 0-15 are illegal ("received illegal vector").
            self.signal_error(ESR_RECV_ILLEGAL_VECTOR);
            return;
        }
        bit_set(&mut self.irr, vector);
        // SDM Vol 3A 11.8.4: TMR set for level-triggered, cleared for edge-triggered.
        if level {
            bit_set(&mut self.tmr, vector);
        } else {
            bit_clear(&mut self.tmr, vector);
        }
    }

    /// Accepts an interrupt message already matched to this APIC.
    pub fn deliver(&mut self, msg: &ApicMessage) {
        if !self.hw_enabled() {
            return;
        }
        match msg.mode {
            DeliveryMode::Fixed | DeliveryMode::LowestPriority => {
                // SDM Vol 3A 11.4.7.2: a software-disabled APIC responds only to INIT, NMI,
                // SMI and SIPI.
                if !self.sw_enabled() || (msg.trigger_level && !msg.level) {
                    return;
                }
                self.accept_fixed(msg.vector, msg.trigger_level);
            }
            DeliveryMode::Nmi => self.nmi = true,
            DeliveryMode::Smi => {} // no SMM
            DeliveryMode::Init => {
                // SDM Vol 3A 11.6.1: INIT level de-assert only resynchronises arbitration IDs.
                if !msg.trigger_level || msg.level {
                    self.init = true;
                }
            }
            DeliveryMode::StartUp => self.sipi = Some(msg.vector),
            DeliveryMode::ExtInt => self.extint = true,
        }
    }

    /// Asserts local interrupt pin LINT0 (0) or LINT1 (1) as programmed in its LVT entry.
    pub fn assert_lint(&mut self, pin: usize) {
        let Some(&lvt) = self.lvt.get(LVT_LINT0 + pin.min(1)) else {
            return;
        };
        if lvt & LVT_MASKED != 0 || !self.hw_enabled() {
            return;
        }
        match DeliveryMode::from_bits(lvt >> 8) {
            Some(DeliveryMode::Fixed) => self.accept_fixed(lvt as u8, lvt & (1 << 15) != 0),
            Some(DeliveryMode::Nmi) => self.nmi = true,
            Some(DeliveryMode::ExtInt) => self.extint = true,
            Some(DeliveryMode::Init) => self.init = true,
            _ => {}
        }
    }

    /// True if an interrupt with a priority class above PPR is pending and the APIC is
    /// enabled (SDM Vol 3A 11.8.3.1).
    pub fn has_interrupt(&self) -> bool {
        self.hw_enabled()
            && self.sw_enabled()
            && highest(&self.irr).is_some_and(|v| v & 0xf0 > self.ppr() & 0xf0)
    }

    /// INTA: moves the highest pending vector from IRR to ISR and returns it; returns the
    /// spurious vector (SVR[7:0]) when nothing is above PPR (SDM Vol 3A 11.9); `None` if the
    /// APIC is globally disabled.
    pub fn acknowledge(&mut self) -> Option<u8> {
        if !self.hw_enabled() {
            return None;
        }
        if self.has_interrupt() {
            if let Some(v) = highest(&self.irr) {
                bit_clear(&mut self.irr, v);
                bit_set(&mut self.isr, v);
                return Some(v);
            }
        }
        Some(self.svr as u8)
    }

    /// EOI: retires the highest in-service vector (SDM Vol 3A 11.8.5).
    fn eoi(&mut self) -> Option<ApicAction> {
        let v = highest(&self.isr)?;
        bit_clear(&mut self.isr, v);
        bit_test(&self.tmr, v).then_some(ApicAction::LevelEoi(v))
    }

    /// Returns and clears a pending NMI.
    pub fn take_nmi(&mut self) -> bool {
        std::mem::take(&mut self.nmi)
    }
    /// Returns and clears a pending INIT.
    pub fn take_init(&mut self) -> bool {
        std::mem::take(&mut self.init)
    }
    /// Returns and clears a pending start-up IPI's vector.
    pub fn take_sipi(&mut self) -> Option<u8> {
        self.sipi.take()
    }
    /// Returns and clears a pending ExtINT message (the vector comes from the 8259).
    pub fn take_extint(&mut self) -> bool {
        std::mem::take(&mut self.extint)
    }

    /// True if the 8259's INTR goes straight to the CPU: LVT LINT0 unmasked with delivery
    /// mode ExtINT (SDM Vol 3A 11.5.1), or the APIC globally disabled (SDM Vol 3A 11.4.3).
    pub fn lint0_extint(&self) -> bool {
        let l = self.lvt[LVT_LINT0];
        !self.hw_enabled() || (l & LVT_MASKED == 0 && (l >> 8) & 7 == 7)
    }

    /// Destination matching (SDM Vol 3A 11.6.2): physical ID or broadcast (0xff, 0xffffffff in
    /// x2APIC mode); logical flat/cluster via LDR/DFR; x2APIC logical cluster mode (11.12.10).
    pub fn matches(&self, dest: u32, logical: bool) -> bool {
        if !self.hw_enabled() {
            return false;
        }
        if self.x2apic() {
            if dest == 0xffff_ffff {
                return true;
            }
            if !logical {
                return dest == self.id;
            }
            return dest >> 16 == self.ldr >> 16 && dest & self.ldr & 0xffff != 0;
        }
        let d = dest & 0xff;
        if d == 0xff {
            return true;
        }
        if !logical {
            return d == self.id & 0xff;
        }
        let ldr = self.ldr >> 24;
        if self.dfr >> 28 == 0xf {
            d & ldr != 0 // flat model
        } else {
            d >> 4 == ldr >> 4 && d & ldr & 0xf != 0 // cluster model
        }
    }

    // ---- timer (SDM Vol 3A 11.5.4) ----

    fn timer_mode(&self) -> u32 {
        (self.lvt[LVT_TIMER] >> 17) & 3
    }

    fn divider(&self) -> u64 {
        // SDM Vol 3A 11.5.4, Figure 11-10: bits 3,1:0; 111 = 1, 000 = 2, ... 110 = 128.
        let v = (self.timer_dcr & 3) | ((self.timer_dcr >> 1) & 4);
        1 << ((v + 1) & 7)
    }

    /// Timer counts elapsed since the initial count was written.
    fn elapsed_counts(&self, now: u64) -> u64 {
        self.timer_counts0.saturating_add(now.saturating_sub(self.timer_start) / self.divider())
    }

    /// Tick at which the elapsed count reaches `counts`.
    fn tick_at_counts(&self, counts: u64) -> u64 {
        let d = counts.saturating_sub(self.timer_counts0).saturating_mul(self.divider());
        self.timer_start.saturating_add(d)
    }

    fn current_count(&self, now: u64) -> u32 {
        if self.timer_mode() == 2 || self.timer_initial == 0 {
            return 0;
        }
        let init = u64::from(self.timer_initial);
        let elapsed = self.elapsed_counts(now);
        match self.timer_mode() {
            1 => (init - elapsed % init) as u32,
            _ => init.saturating_sub(elapsed) as u32,
        }
    }

    fn write_initial(&mut self, v: u32, now: u64) {
        if self.timer_mode() == 2 {
            return; // SDM 11.5.4.1: ignored in TSC-deadline mode
        }
        self.timer_initial = v;
        self.timer_start = now;
        self.timer_counts0 = 0;
        self.timer_next = (v != 0).then(|| self.tick_at_counts(u64::from(v)));
    }

    fn write_dcr(&mut self, v: u32, now: u64) {
        let counts = self.elapsed_counts(now);
        self.timer_dcr = v & 0xb;
        if self.timer_mode() == 2 || self.timer_initial == 0 {
            return;
        }
        // Keep the counts already elapsed; count on at the new rate from now.
        self.timer_start = now;
        self.timer_counts0 = counts;
        if self.timer_next.is_some() {
            let init = u64::from(self.timer_initial);
            let target = if self.timer_mode() == 1 { (counts / init + 1).saturating_mul(init) } else { init };
            self.timer_next = Some(self.tick_at_counts(target));
        }
    }

    fn write_lvt(&mut self, i: usize, v: u32) {
        let Some(&mask) = LVT_WRITABLE.get(i) else {
            return;
        };
        let mut v = v & mask;
        if !self.sw_enabled() {
            // SDM Vol 3A 11.4.7.2: mask bits cannot be cleared while software-disabled.
            v |= LVT_MASKED;
        }
        if i == LVT_TIMER && (v >> 17) & 3 != self.timer_mode() {
            // SDM Vol 3A 11.5.4.1: changing the timer mode disarms the timer.
            self.timer_initial = 0;
            self.timer_next = None;
            self.tsc_deadline = 0;
        }
        self.lvt[i] = v;
    }

    fn write_svr(&mut self, v: u32) {
        self.svr = v & SVR_WRITABLE;
        if !self.sw_enabled() {
            // SDM Vol 3A 11.4.7.2: software disable masks every LVT entry.
            for l in &mut self.lvt {
                *l |= LVT_MASKED;
            }
        }
    }

    /// The tick at which the timer next expires.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timer_next
    }

    /// Timer expiry processing; the board calls this when `now >= next_deadline()`. Sets IRR
    /// with the LVT timer vector unless masked; periodic mode reloads.
    pub fn tick(&mut self, now: u64) {
        let Some(t) = self.timer_next else {
            return;
        };
        if now < t {
            return;
        }
        match self.timer_mode() {
            1 => {
                let init = u64::from(self.timer_initial).max(1);
                let target = (self.elapsed_counts(now) / init + 1).saturating_mul(init);
                self.timer_next = Some(self.tick_at_counts(target));
            }
            2 => {
                // SDM Vol 3A 11.5.4.1: the deadline MSR is cleared once the timer fires.
                self.tsc_deadline = 0;
                self.timer_next = None;
            }
            _ => self.timer_next = None,
        }
        let lvt = self.lvt[LVT_TIMER];
        if lvt & LVT_MASKED == 0 {
            self.accept_fixed(lvt as u8, false);
        }
    }

    // ---- IPIs ----

    fn send_ipi(&mut self) -> Option<ApicAction> {
        let lo = self.icr_lo;
        let mode = DeliveryMode::from_bits(lo >> 8)?;
        let vector = lo as u8;
        if matches!(mode, DeliveryMode::Fixed | DeliveryMode::LowestPriority) && vector < 16 {
            self.signal_error(ESR_SEND_ILLEGAL_VECTOR);
            return None;
        }
        Some(ApicAction::SendIpi(ApicMessage {
            dest: if self.x2apic() { self.icr_hi } else { self.icr_hi >> 24 },
            logical: lo & (1 << 11) != 0,
            shorthand: Shorthand::from_bits(lo >> 18),
            mode,
            vector,
            level: lo & (1 << 14) != 0,
            trigger_level: lo & (1 << 15) != 0,
        }))
    }

    // ---- register interfaces ----

    /// Reads the xAPIC register at `offset` in the APIC page (32-bit, 16-byte aligned;
    /// anything else reads 0). Reads 0 in x2APIC mode, where the MMIO interface is disabled
    /// (SDM Vol 3A 11.12.1.2).
    pub fn mmio_read(&self, offset: u32, now: u64) -> u32 {
        if !self.hw_enabled() || self.x2apic() || offset & 0xf != 0 {
            return 0;
        }
        // SDM Vol 3A 11.4.1, Table 11-1: local APIC register address map.
        let o = offset & 0xff0;
        match o {
            0x020 => self.id << 24,
            0x030 => APIC_VERSION,
            0x080 => u32::from(self.tpr),
            0x090 => u32::from(self.apr()),
            0x0a0 => u32::from(self.ppr()),
            0x0d0 => self.ldr,
            0x0e0 => self.dfr | 0x0fff_ffff,
            0x0f0 => self.svr,
            0x100..=0x170 => self.isr[((o - 0x100) >> 4) as usize],
            0x180..=0x1f0 => self.tmr[((o - 0x180) >> 4) as usize],
            0x200..=0x270 => self.irr[((o - 0x200) >> 4) as usize],
            0x280 => self.esr,
            0x300 => self.icr_lo,
            0x310 => self.icr_hi,
            0x320..=0x370 => self.lvt[((o - 0x320) >> 4) as usize],
            0x380 => self.timer_initial,
            0x390 => self.current_count(now),
            0x3e0 => self.timer_dcr,
            _ => 0,
        }
    }

    /// Writes the xAPIC register at `offset`; may return an IPI to send or a level EOI.
    pub fn mmio_write(&mut self, offset: u32, val: u32, now: u64) -> Option<ApicAction> {
        if !self.hw_enabled() || self.x2apic() || offset & 0xf != 0 {
            return None;
        }
        let o = offset & 0xff0;
        match o {
            0x020 => self.id = val >> 24,
            0x080 => self.tpr = val as u8,
            0x0b0 => return self.eoi(),
            0x0d0 => self.ldr = val & 0xff00_0000,
            0x0e0 => self.dfr = val | 0x0fff_ffff,
            0x0f0 => self.write_svr(val),
            0x280 => {
                // SDM Vol 3A 11.5.3: a write updates ESR with the errors since the last write.
                self.esr = std::mem::take(&mut self.esr_pending);
            }
            0x300 => {
                self.icr_lo = val & ICR_LO_WRITABLE;
                return self.send_ipi();
            }
            0x310 => self.icr_hi = val & 0xff00_0000,
            0x320..=0x370 => self.write_lvt(((o - 0x320) >> 4) as usize, val),
            0x380 => self.write_initial(val, now),
            0x3e0 => self.write_dcr(val, now),
            _ => {}
        }
        None
    }

    /// RDMSR of an x2APIC register (0x800-0x8ff, only in x2APIC mode) or IA32_TSC_DEADLINE.
    /// `Err` means #GP (SDM Vol 3A 11.12.1.2: write-only or reserved registers, or x2APIC
    /// not enabled).
    #[allow(clippy::result_unit_err)] // `Err` is exactly "#GP"; nothing else to report
    pub fn msr_read(&self, msr: u32, now: u64) -> Result<u64, ()> {
        if msr == MSR_TSC_DEADLINE {
            // SDM Vol 3A 11.5.4.1: reads 0 outside TSC-deadline mode.
            return Ok(if self.timer_mode() == 2 { self.tsc_deadline } else { 0 });
        }
        if !(0x800..=0x8ff).contains(&msr) || !self.x2apic() {
            return Err(());
        }
        // SDM Vol 3A 11.12.1.2, Table 11-6: x2APIC register address space.
        let v = match msr - 0x800 {
            0x02 => self.id,
            0x03 => APIC_VERSION,
            0x08 => u32::from(self.tpr),
            0x0a => u32::from(self.ppr()),
            0x0d => self.ldr,
            0x0f => self.svr,
            r @ 0x10..=0x17 => self.isr[(r - 0x10) as usize],
            r @ 0x18..=0x1f => self.tmr[(r - 0x18) as usize],
            r @ 0x20..=0x27 => self.irr[(r - 0x20) as usize],
            0x28 => self.esr,
            0x30 => return Ok(u64::from(self.icr_hi) << 32 | u64::from(self.icr_lo)),
            r @ 0x32..=0x37 => self.lvt[(r - 0x32) as usize],
            0x38 => self.timer_initial,
            0x39 => self.current_count(now),
            0x3e => self.timer_dcr,
            _ => return Err(()),
        };
        Ok(u64::from(v))
    }

    /// WRMSR of an x2APIC register or IA32_TSC_DEADLINE. `Err` means #GP: x2APIC not enabled,
    /// read-only or reserved registers, reserved bits set, non-zero EOI/ESR writes (SDM Vol 3A
    /// 11.12.1.2). The 64-bit ICR (0x830) is written at once; SELF IPI (0x83f) is accepted
    /// locally (SDM Vol 3A 11.12.11).
    #[allow(clippy::result_unit_err)] // `Err` is exactly "#GP"; nothing else to report
    pub fn msr_write(&mut self, msr: u32, val: u64, now: u64) -> Result<Option<ApicAction>, ()> {
        if msr == MSR_TSC_DEADLINE {
            if self.timer_mode() == 2 {
                // SDM Vol 3A 11.5.4.1: a non-zero value arms, zero disarms.
                self.tsc_deadline = val;
                self.timer_next = (val != 0).then_some(val);
            }
            return Ok(None);
        }
        if !(0x800..=0x8ff).contains(&msr) || !self.x2apic() {
            return Err(());
        }
        let lo = val as u32;
        match msr - 0x800 {
            0x08 if val >> 8 == 0 => self.tpr = val as u8,
            0x0b if val == 0 => return Ok(self.eoi()),
            0x0f if val & !u64::from(SVR_WRITABLE) == 0 => self.write_svr(lo),
            0x28 if val == 0 => self.esr = std::mem::take(&mut self.esr_pending),
            0x30 if val & 0xffff_ffff & !u64::from(ICR_LO_WRITABLE) == 0 => {
                self.icr_lo = lo;
                self.icr_hi = (val >> 32) as u32;
                return Ok(self.send_ipi());
            }
            r @ 0x32..=0x37 => {
                let i = (r - 0x32) as usize;
                if val >> 32 != 0 || lo & !LVT_WRITABLE[i] != 0 {
                    return Err(());
                }
                self.write_lvt(i, lo);
            }
            0x38 if val >> 32 == 0 => self.write_initial(lo, now),
            0x3e if val & !0xb == 0 => self.write_dcr(lo, now),
            0x3f if val >> 8 == 0 => {
                let v = val as u8;
                if v < 16 {
                    self.signal_error(ESR_SEND_ILLEGAL_VECTOR);
                } else if self.sw_enabled() {
                    self.accept_fixed(v, false);
                }
            }
            _ => return Err(()),
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled(id: u32) -> Lapic {
        let mut l = Lapic::new(id, id == 0);
        l.mmio_write(0xf0, 0x1ff, 0);
        l
    }

    fn fixed(v: u8, level: bool) -> ApicMessage {
        ApicMessage { trigger_level: level, ..ApicMessage::fixed(0, v) }
    }

    #[test]
    fn reset_state_registers() {
        let l = Lapic::new(3, false);
        assert_eq!(l.mmio_read(0x20, 0), 3 << 24);
        assert_eq!(l.mmio_read(0x30, 0), 0x0005_0014);
        assert_eq!(l.mmio_read(0xf0, 0), 0xff);
        assert_eq!(l.mmio_read(0xe0, 0), 0xffff_ffff);
        assert_eq!(l.mmio_read(0x350, 0), 0x10000, "AP LINT0 masked");
        assert_eq!(l.base_msr(), 0xfee0_0800);
        let b = Lapic::new(0, true);
        assert_eq!(b.base_msr(), 0xfee0_0900);
        assert!(b.lint0_extint(), "BSP in virtual-wire mode");
        assert!(!l.lint0_extint());
    }

    #[test]
    fn base_msr_transitions() {
        let mut l = Lapic::new(0x12, true);
        assert_eq!(l.set_base_msr(0xfee0_0000 | BASE_EN | 1), Err(()), "reserved bit 0");
        assert_eq!(l.set_base_msr(0xfee0_0000 | BASE_EXTD), Err(()), "EN=0 EXTD=1");
        l.set_base_msr(0xfee0_0000 | BASE_EN | BASE_EXTD).unwrap();
        assert!(l.x2apic());
        assert_eq!(l.base_msr() & BASE_BSP, BASE_BSP, "BSP flag kept");
        assert_eq!(l.msr_read(0x802, 0), Ok(0x12));
        assert_eq!(l.msr_read(0x80d, 0), Ok((1 << 16) | (1 << 2)), "derived LDR");
        assert_eq!(l.set_base_msr(0xfee0_0000 | BASE_EN), Err(()), "x2APIC -> xAPIC");
        l.set_base_msr(0xfee0_0000).unwrap();
        assert!(l.lint0_extint(), "globally disabled: PIC goes straight to the CPU");
        assert_eq!(l.set_base_msr(0xfee0_0000 | BASE_EN | BASE_EXTD), Err(()));
        l.set_base_msr(0xfee0_0000 | BASE_EN).unwrap();
        assert_eq!(l.mmio_read(0x20, 0), 0x12 << 24);
        assert_eq!(l.msr_read(0x802, 0), Err(()), "x2APIC MSRs #GP in xAPIC mode");
    }

    #[test]
    fn priority_ppr_ack_and_eoi() {
        let mut l = enabled(0);
        l.deliver(&fixed(0x31, false));
        l.deliver(&fixed(0x52, false));
        assert!(l.has_interrupt());
        assert_eq!(l.acknowledge(), Some(0x52));
        assert_eq!(l.mmio_read(0xa0, 0), 0x50, "PPR = ISRV class");
        assert!(!l.has_interrupt(), "0x31 is below PPR");
        assert_eq!(l.acknowledge(), Some(0xff), "spurious vector");
        assert_eq!(l.mmio_write(0xb0, 0, 0), None, "edge EOI");
        assert_eq!(l.acknowledge(), Some(0x31));
        l.mmio_write(0xb0, 0, 0);
        assert_eq!(l.mmio_read(0x100 + 0x10, 0), 0, "ISR empty");
        // TPR blocks classes at or below it.
        l.set_tpr(5);
        assert_eq!(l.tpr(), 5);
        assert_eq!(l.mmio_read(0x80, 0), 0x50);
        l.deliver(&fixed(0x55, false));
        assert!(!l.has_interrupt());
        l.deliver(&fixed(0x61, false));
        assert!(l.has_interrupt());
    }

    #[test]
    fn level_eoi_and_tmr() {
        let mut l = enabled(0);
        l.deliver(&fixed(0x40, true));
        assert_eq!(l.mmio_read(0x180 + 0x20, 0), 1, "TMR bit 0x40");
        assert_eq!(l.acknowledge(), Some(0x40));
        assert_eq!(l.mmio_write(0xb0, 0, 0), Some(ApicAction::LevelEoi(0x40)));
    }

    #[test]
    fn software_disabled_ignores_fixed_and_masks_lvt() {
        let mut l = Lapic::new(1, false);
        l.deliver(&fixed(0x40, false));
        assert!(!l.has_interrupt());
        l.deliver(&ApicMessage { mode: DeliveryMode::Nmi, ..fixed(0, false) });
        assert!(l.take_nmi() && !l.take_nmi());
        l.mmio_write(0x320, 0x20, 0);
        assert_eq!(l.mmio_read(0x320, 0), 0x10020, "mask sticks while disabled");
        l.mmio_write(0xf0, 0x1ff, 0);
        l.mmio_write(0x320, 0x20, 0);
        assert_eq!(l.mmio_read(0x320, 0), 0x20);
        l.mmio_write(0xf0, 0x0ff, 0);
        assert_eq!(l.mmio_read(0x320, 0), 0x10020);
    }

    #[test]
    fn icr_ipi_and_illegal_vector() {
        let mut l = enabled(0);
        l.mmio_write(0x310, 0x0300_0000, 0);
        let a = l.mmio_write(0x300, 0x0000_4830 | (1 << 15), 0);
        let m = ApicMessage {
            dest: 3,
            logical: true,
            shorthand: Shorthand::None,
            mode: DeliveryMode::Fixed,
            vector: 0x30,
            level: true,
            trigger_level: true,
        };
        assert_eq!(a, Some(ApicAction::SendIpi(m)));
        let a = l.mmio_write(0x300, 0x000c_4500, 0);
        match a {
            Some(ApicAction::SendIpi(m)) => {
                assert_eq!((m.mode, m.shorthand), (DeliveryMode::Init, Shorthand::AllExcludingSelf))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(l.mmio_write(0x300, 0x0000_0005, 0), None, "vector 5 is illegal");
        assert_eq!(l.mmio_read(0x280, 0), 0, "ESR needs a write first");
        l.mmio_write(0x280, 0, 0);
        assert_eq!(l.mmio_read(0x280, 0), 0x20);
        l.deliver(&fixed(3, false));
        l.mmio_write(0x280, 0, 0);
        assert_eq!(l.mmio_read(0x280, 0), 0x40);
    }

    #[test]
    fn init_sipi_extint() {
        let mut l = Lapic::new(1, false);
        let init = ApicMessage { mode: DeliveryMode::Init, ..fixed(0, false) };
        l.deliver(&ApicMessage { level: false, trigger_level: true, ..init });
        assert!(!l.take_init(), "INIT de-assert ignored");
        l.deliver(&init);
        assert!(l.take_init());
        l.deliver(&ApicMessage { mode: DeliveryMode::StartUp, vector: 0x9f, ..init });
        assert_eq!(l.take_sipi(), Some(0x9f));
        assert_eq!(l.take_sipi(), None);
        l.deliver(&ApicMessage { mode: DeliveryMode::ExtInt, ..init });
        assert!(l.take_extint());
    }

    #[test]
    fn destination_matching() {
        let mut l = enabled(5);
        assert!(l.matches(5, false) && l.matches(0xff, false) && !l.matches(4, false));
        l.mmio_write(0xd0, 0x0400_0000, 0); // logical bit 2
        assert!(l.matches(0x04, true) && l.matches(0x0c, true) && !l.matches(0x02, true));
        l.mmio_write(0xe0, 0x0fff_ffff, 0); // cluster model
        l.mmio_write(0xd0, 0x3200_0000, 0); // cluster 3, member bit 1
        assert_eq!(l.mmio_read(0xe0, 0), 0x0fff_ffff);
        assert!(l.matches(0x32, true) && l.matches(0x3a, true));
        assert!(!l.matches(0x22, true) && !l.matches(0x31, true));
        let mut x = Lapic::new(0x23, false);
        x.set_base_msr(0xfee0_0000 | BASE_EN | BASE_EXTD).unwrap();
        assert!(x.matches(0x23, false) && x.matches(0xffff_ffff, false));
        assert!(!x.matches(0xff, false), "0xff is a plain ID in x2APIC mode");
        assert!(x.matches((2 << 16) | (1 << 3), true));
        assert!(!x.matches((1 << 16) | (1 << 3), true));
    }

    #[test]
    fn one_shot_timer() {
        let mut l = enabled(0);
        l.mmio_write(0x3e0, 0x0, 0); // divide by 2
        l.mmio_write(0x320, 0x40, 0);
        l.mmio_write(0x380, 1000, 100);
        assert_eq!(l.next_deadline(), Some(2100));
        assert_eq!(l.mmio_read(0x390, 600), 750);
        l.tick(2099);
        assert!(!l.has_interrupt());
        l.tick(2100);
        assert!(l.has_interrupt());
        assert_eq!(l.next_deadline(), None);
        assert_eq!(l.mmio_read(0x390, 3000), 0);
    }

    #[test]
    fn periodic_timer_and_divider() {
        let mut l = enabled(0);
        l.mmio_write(0x3e0, 0xb, 0); // divide by 1
        l.mmio_write(0x320, 0x2_0041, 0); // periodic, vector 0x41
        l.mmio_write(0x380, 100, 0);
        assert_eq!(l.next_deadline(), Some(100));
        l.tick(100);
        assert_eq!(l.acknowledge(), Some(0x41));
        assert_eq!(l.next_deadline(), Some(200));
        assert_eq!(l.mmio_read(0x390, 250), 50);
        l.tick(350); // late: one interrupt, next period boundary
        assert_eq!(l.next_deadline(), Some(400));
        l.mmio_write(0x3e0, 0x1, 350); // divide by 4 from here
        assert_eq!(l.mmio_read(0x390, 350), 50);
        assert_eq!(l.next_deadline(), Some(550));
    }

    #[test]
    fn tsc_deadline_mode() {
        let mut l = enabled(0);
        assert_eq!(l.msr_write(MSR_TSC_DEADLINE, 500, 0), Ok(None));
        assert_eq!(l.next_deadline(), None, "ignored outside deadline mode");
        l.mmio_write(0x320, 0x4_0050, 0);
        l.mmio_write(0x380, 1234, 0);
        assert_eq!(l.mmio_read(0x380, 0), 0, "initial count ignored");
        l.msr_write(MSR_TSC_DEADLINE, 500, 0).unwrap();
        assert_eq!(l.msr_read(MSR_TSC_DEADLINE, 0), Ok(500));
        assert_eq!(l.next_deadline(), Some(500));
        l.tick(500);
        assert_eq!(l.acknowledge(), Some(0x50));
        assert_eq!(l.msr_read(MSR_TSC_DEADLINE, 0), Ok(0));
        // Changing the mode disarms.
        l.msr_write(MSR_TSC_DEADLINE, 900, 0).unwrap();
        l.mmio_write(0x320, 0x0_0050, 0);
        assert_eq!(l.next_deadline(), None);
    }

    #[test]
    fn x2apic_msrs() {
        let mut l = Lapic::new(7, false);
        assert_eq!(l.msr_write(0x808, 0, 0), Err(()), "not in x2APIC mode");
        l.set_base_msr(0xfee0_0000 | BASE_EN | BASE_EXTD).unwrap();
        assert_eq!(l.mmio_read(0x20, 0), 0, "MMIO disabled in x2APIC mode");
        l.msr_write(0x80f, 0x1ff, 0).unwrap();
        assert_eq!(l.msr_write(0x80f, 1 << 12, 0), Err(()), "EOI suppression unsupported");
        let a = l.msr_write(0x830, (9u64 << 32) | 0x4031, 0).unwrap();
        match a {
            Some(ApicAction::SendIpi(m)) => assert_eq!((m.dest, m.vector), (9, 0x31)),
            other => panic!("{other:?}"),
        }
        assert_eq!(l.msr_read(0x830, 0), Ok((9u64 << 32) | 0x4031));
        assert_eq!(l.msr_write(0x831, 0, 0), Err(()), "no ICR high in x2APIC");
        assert_eq!(l.msr_write(0x830, 1 << 13, 0), Err(()), "reserved ICR bit");
        assert_eq!(l.msr_read(0x83f, 0), Err(()), "SELF IPI is write-only");
        assert_eq!(l.msr_write(0x83f, 0x100, 0), Err(()));
        l.msr_write(0x83f, 0x66, 0).unwrap();
        assert_eq!(l.msr_read(0x820 + 3, 0), Ok(1 << 6), "IRR bit 0x66");
        assert_eq!(l.msr_read(0x80b, 0), Err(()), "EOI is write-only");
        assert_eq!(l.acknowledge(), Some(0x66));
        assert_eq!(l.msr_write(0x80b, 1, 0), Err(()), "non-zero EOI");
        assert_eq!(l.msr_write(0x80b, 0, 0), Ok(None));
        assert_eq!(l.msr_write(0x802, 0, 0), Err(()), "ID is read-only");
        assert_eq!(l.msr_write(0x80d, 0, 0), Err(()), "LDR is read-only");
        assert_eq!(l.msr_read(0x809, 0), Err(()), "no APR in x2APIC");
        assert_eq!(l.msr_write(0x808, 0x100, 0), Err(()));
        l.msr_write(0x808, 0x20, 0).unwrap();
        assert_eq!(l.tpr(), 2);
        assert_eq!(l.msr_write(0x828, 1, 0), Err(()));
        assert_eq!(l.msr_write(0x832, 1 << 20, 0), Err(()), "reserved LVT bit");
        assert_eq!(l.msr_read(0x803, 0), Ok(0x0005_0014));
    }

    #[test]
    fn apr_and_error_lvt() {
        let mut l = enabled(0);
        l.mmio_write(0x80, 0x20, 0);
        l.deliver(&fixed(0x45, false));
        assert_eq!(l.mmio_read(0x90, 0), 0x40);
        l.mmio_write(0x370, 0xfe, 0);
        l.deliver(&fixed(2, false));
        assert_eq!(l.acknowledge(), Some(0xfe), "error interrupt delivered");
    }
}
