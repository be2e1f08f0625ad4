//! The AArch64 processing element: general-purpose registers, stack pointers, PSTATE, the
//! exclusive monitor, and the run loop that executes decoded blocks from the block cache.

use crate::decode::{decode_block, end_entry, Block, Decoded, Stop};
use crate::exception::Exc;
use crate::mmu::{Acc, Tlb};
use crate::platform::Arm64Platform;
use crate::sysreg::SysRegs;
use sim_core::{BlockCache, BlockKey, CpuStats, GuestPhys};

/// Whether the PE is running, waiting for an interrupt, or powered off.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Executing instructions.
    Running,
    /// In WFI/WFE low-power state until a wake-up event (Arm ARM D1.6).
    Waiting,
    /// Powered off (secondary before PSCI CPU_ON, or after CPU_OFF).
    Off,
}

/// Why [`Arm64Cpu::run`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The instruction budget ran out.
    Budget,
    /// The PE is waiting (WFI/WFE) or off.
    Halted,
    /// The machine asked for attention (an event is due or an exit was requested).
    Event,
}

/// A per-instruction trace callback: the PE before the instruction, and its word.
pub type TraceFn = Box<dyn FnMut(&Arm64Cpu, u32)>;

/// Number of x registers (x0-x30; encoding 31 is SP or ZR depending on the instruction).
pub const NREGS: usize = 31;

/// An AArch64 PE (AArch64 at every exception level).
pub struct Arm64Cpu {
    /// x0-x30, and a slot 31 that is always zero (nothing writes it: register 31 is SP or
    /// XZR by instruction, see `xr`/`xsp`), so decoded handlers read XZR without a branch.
    pub x: [u64; NREGS + 1],
    /// SP_EL0 .. SP_EL3.
    pub sp_el: [u64; 4],
    /// Program counter of the instruction being executed (between instructions: the next one).
    pub pc: u64,
    /// Where execution continues after the current instruction (branches write it).
    pub(crate) npc: u64,
    /// PSTATE.{N,Z,C,V} in bits 31:28 (the SPSR/NZCV layout).
    pub nzcv: u64,
    /// PSTATE.{D,A,I,F} in bits 9:6 (the SPSR/DAIF layout).
    pub daif: u64,
    /// PSTATE.EL.
    pub el: u8,
    /// PSTATE.SP: use SP_ELx (true) or SP_EL0 (false) at EL1-EL3.
    pub spsel: bool,
    /// PSTATE.PAN (FEAT_PAN).
    pub pan: bool,
    /// PSTATE.UAO (FEAT_UAO): LDTR/STTR at EL1 (and EL2 in the host) use the privileged
    /// permissions.
    pub uao: bool,
    /// PSTATE.SS (software step).
    pub ss: bool,
    /// PSTATE.IL.
    pub il: bool,
    /// System registers.
    pub sys: SysRegs,
    /// The local exclusive monitor: physical address and size of the marked block.
    pub(crate) excl: Option<(u64, u8)>,
    /// Run state.
    pub state: RunState,
    /// The soft TLB.
    pub(crate) tlb: Tlb,
    /// Decoded blocks.
    pub(crate) blocks: BlockCache<Box<[crate::decode::Decoded]>>,
    pub(crate) prev_block: Option<u32>,
    /// Set by side effects that must end the current block (MMIO, stores to code, system
    /// register writes that change translation or interrupt masking).
    pub(crate) exit_block: bool,
    /// Counters.
    pub stats: CpuStats,
    /// Cycles beyond one per instruction (the timing model's seam).
    pub stall_cycles: u64,
    /// HVC and SMC go to a firmware model of the board (PSCI) instead of EL2/EL3 code.
    pub fw_hvc: bool,
    /// See `fw_hvc`.
    pub fw_smc: bool,
    /// Index of this PE in the machine.
    pub index: usize,
    /// Instructions retired before the current block pass.
    pub(crate) blk_base: u64,
    /// Position in its block of the instruction that left it (threaded dispatch).
    pub(crate) left_idx: u8,
    /// Passes a self-looping block may still run inside its handlers (`decode::loop_back`).
    pub(crate) loop_left: u64,
    /// The exception of the instruction that left its block with `Stop::Fault`.
    pub(crate) fault: Option<Exc>,
    /// Soft-TLB permission bits a data read / data write / fetch needs now.
    pub(crate) fast_need: [u8; 3],
    /// PSTATE.PAN applies to data accesses now (privileged, PAN set).
    pub(crate) fast_pan: bool,
    /// The translation regime's soft-TLB tag bits, its ASID/VMID context word and that
    /// word's part of the TLB index, now (soft-TLB fast path).
    pub(crate) fast_tag: u64,
    pub(crate) fast_ctx: u64,
    pub(crate) fast_hash: u64,
    /// Bytes of the last instruction for traces.
    pub trace: Option<TraceFn>,
    /// The SIMD&FP registers V0-V31 (Arm ARM B1.2.1), element 0 in the low bits.
    pub v: [u128; 32],
    /// FPCR (C5.2.8): AHP, DN, FZ, RMode, Stride, Len; the trap enables are RAZ/WI.
    pub fpcr: u64,
    /// FPSR (C5.2.10): QC and the cumulative exception flags IDC, IXC, UFC, OFC, DZC, IOC.
    pub fpsr: u64,
    /// Self-hosted debug registers and state (Arm ARM D2, [`crate::debug`]).
    pub dbg: crate::debug::DebugRegs,
    /// Performance Monitors (Arm ARM D11, [`crate::pmu`]).
    pub pmu: crate::pmu::Pmu,
}

impl Arm64Cpu {
    /// A PE in its reset state at `el` (Arm ARM D1.9: registers UNKNOWN, chosen as zero here;
    /// PSTATE.DAIF all masked, SP_ELx selected).
    pub fn new(index: usize, mpidr: u64) -> Self {
        Self {
            x: [0; NREGS + 1],
            sp_el: [0; 4],
            pc: 0,
            npc: 0,
            nzcv: 0,
            daif: 0xf << 6,
            el: 1,
            spsel: true,
            pan: false,
            uao: false,
            ss: false,
            il: false,
            sys: SysRegs::new(mpidr),
            excl: None,
            state: RunState::Running,
            tlb: Tlb::new(),
            blocks: BlockCache::new(1 << 18),
            prev_block: None,
            exit_block: false,
            stats: CpuStats::new(),
            stall_cycles: 0,
            fw_hvc: false,
            fw_smc: false,
            index,
            blk_base: 0,
            left_idx: 0,
            loop_left: 0,
            fault: None,
            fast_need: [0, 0, 0],
            fast_pan: false,
            fast_tag: 0,
            fast_ctx: 0,
            fast_hash: 0,
            trace: None,
            v: [0; 32],
            fpcr: 0,
            fpsr: 0,
            dbg: Default::default(),
            pmu: Default::default(),
        }
    }

    /// Cycles consumed so far.
    pub fn cycle_count(&self) -> u64 {
        self.stats.instructions + self.stall_cycles
    }

    /// Block-cache counters.
    pub fn block_stats(&self) -> &sim_core::BlockStats {
        &self.blocks.stats
    }

    /// Reads x`n`, with 31 as XZR.
    #[inline(always)]
    pub fn xr(&self, n: u32) -> u64 {
        if n == 31 {
            0
        } else {
            self.x[n as usize]
        }
    }

    /// Writes x`n`, with 31 as XZR (the write is discarded).
    #[inline(always)]
    pub fn set_xr(&mut self, n: u32, v: u64) {
        if n != 31 {
            self.x[n as usize] = v;
        }
    }

    /// Reads x`n`, with 31 as the current SP.
    #[inline(always)]
    pub fn xsp(&self, n: u32) -> u64 {
        if n == 31 {
            self.sp()
        } else {
            self.x[n as usize]
        }
    }

    /// Writes x`n`, with 31 as the current SP.
    #[inline(always)]
    pub fn set_xsp(&mut self, n: u32, v: u64) {
        if n == 31 {
            self.set_sp(v)
        } else {
            self.x[n as usize] = v;
        }
    }

    /// The stack pointer selected by PSTATE.{EL,SP} (Arm ARM D1.5.2).
    #[inline(always)]
    pub fn sp(&self) -> u64 {
        self.sp_el[if self.spsel { self.el as usize } else { 0 }]
    }

    /// Writes the selected stack pointer.
    #[inline(always)]
    pub fn set_sp(&mut self, v: u64) {
        let i = if self.spsel { self.el as usize } else { 0 };
        self.sp_el[i] = v;
    }

    /// PSTATE as an SPSR value for AArch64 (Arm ARM C5.2.18 SPSR_EL1).
    pub fn pstate(&self) -> u64 {
        self.nzcv
            | self.daif
            | (self.uao as u64) << 23
            | (self.pan as u64) << 22
            | (self.ss as u64) << 21
            | (self.il as u64) << 20
            | (self.el as u64) << 2
            | self.spsel as u64
    }

    /// Places the PE at `pc` in `el` with SP_ELx selected and interrupts masked, as a boot
    /// loader or PSCI CPU_ON leaves it.
    pub fn boot(&mut self, el: u8, pc: u64) {
        self.el = el;
        self.spsel = true;
        self.daif = 0xf << 6;
        self.pc = pc;
        self.state = RunState::Running;
        self.prev_block = None;
        self.tlb.flush();
    }

    /// Runs up to `budget` instructions.
    pub fn run(&mut self, p: &mut dyn Arm64Platform, budget: u64) -> StopReason {
        // Catch up with TLBI broadcasts of other PEs and with register writes from outside.
        self.tlb_sync();
        let r = self.run_inner(p, budget);
        self.stats.cycles = self.cycle_count();
        // Counter overflows since the last PMU access raise PMUIRQ now (crate::pmu).
        self.pmu_update_irq(p);
        // Other PEs run between quanta: their stores may hit the marked block, so the
        // exclusive monitor is cleared here (see exec::ldst::exclusive).
        self.excl = None;
        r
    }

    fn run_inner(&mut self, p: &mut dyn Arm64Platform, budget: u64) -> StopReason {
        let mut left = budget;
        self.update_timers(p);
        loop {
            match self.state {
                RunState::Running => {}
                RunState::Off => return StopReason::Halted,
                RunState::Waiting => {
                    // WFI wakes on any pending interrupt, masked or not (Arm ARM D1.6.2).
                    if p.irq_pending() || p.fiq_pending() {
                        self.state = RunState::Running;
                    } else {
                        return StopReason::Halted;
                    }
                }
            }
            if self.take_interrupt(p) {
                continue;
            }
            if left == 0 {
                return StopReason::Budget;
            }
            left -= self.run_block(p, left).min(left);
            if p.attention() {
                return StopReason::Event;
            }
        }
    }

    /// Takes a pending physical IRQ or FIQ if PSTATE and routing allow (Arm ARM D1.3.6).
    fn take_interrupt(&mut self, p: &mut dyn Arm64Platform) -> bool {
        for fiq in [true, false] {
            let pending = if fiq { p.fiq_pending() } else { p.irq_pending() };
            if !pending {
                continue;
            }
            let target = self.sys.interrupt_target(fiq, self.el);
            let mask_bit = if fiq { 1 << 6 } else { 1 << 7 };
            // Interrupts to a higher EL are taken whatever PSTATE.{I,F}; to the current EL
            // only when unmasked; to a lower EL never.
            let take = target > self.el || (target == self.el && self.daif & mask_bit == 0);
            if take {
                self.stats.interrupts += 1;
                let off = if fiq { 0x100 } else { 0x80 };
                self.enter_exception(target, off, None, self.pc);
                return true;
            }
        }
        false
    }

    /// Runs one block; returns instructions retired.
    fn run_block(&mut self, p: &mut dyn Arm64Platform, budget: u64) -> u64 {
        let pc = self.pc;
        // Software step (D2.12): active-pending takes the Software Step exception before the
        // next instruction (the highest-priority synchronous exception, D1.3.5);
        // active-not-pending runs one instruction. Nothing executes: returns 1 for the budget.
        let stepping = self.dbg.armed && self.step_active();
        if stepping && !self.ss {
            self.prev_block = None;
            let e = self.step_exception();
            self.take(e);
            return 1;
        }
        if self.il {
            // PSTATE.IL set by an illegal exception return: the next instruction takes an
            // Illegal Execution state exception (D1.4.x, EC 0x0e).
            self.prev_block = None;
            self.stats.instructions += 1;
            self.take(Exc::illegal_state());
            return 1;
        }
        if pc & 3 != 0 {
            // PC alignment fault on fetch (D1.3.3).
            self.prev_block = None;
            self.stats.instructions += 1;
            self.take(Exc::pc_align(pc));
            return 1;
        }
        self.refresh_fast_need();
        let t = match self.fetch_fast(pc).map_or_else(|| self.translate(p, pc, Acc::Fetch), Ok) {
            Ok(t) => t,
            Err(e) => {
                self.prev_block = None;
                self.stats.instructions += 1;
                self.take(e);
                return 1;
            }
        };
        if t.host.is_null() {
            // Code in MMIO: nothing to cache, and nothing to execute (no device serves code).
            self.prev_block = None;
            self.stats.instructions += 1;
            let e = Exc::inst_abort_external(pc);
            self.take(e);
            return 1;
        }
        // Hardware breakpoints (D2.8), after instruction aborts in priority (D1.3.5).
        if self.dbg.bp_armed {
            if let Some(e) = self.check_breakpoints(pc) {
                self.prev_block = None;
                self.take(e);
                return 1;
            }
        }
        let key = BlockKey { pa: t.pa, va: pc, mode: 0 };
        let ram = p.ram();
        let found = self.blocks.lookup(key, self.prev_block, |pg| ram.code_gen(pg));
        let (id, blk): (u32, std::rc::Rc<Block>) = match found {
            Some(b) => b,
            None => {
                // SAFETY: `t.host` is the host address of `t.pa` in a RAM page (from the TLB).
                let (body, len) = unsafe { decode_block(t.host, t.pa, pc) };
                let ram = p.ram();
                let Some((page, gen)) = ram.mark_code(GuestPhys(t.pa), len) else {
                    return 0;
                };
                let n = body.len() - 1;
                self.blocks.insert(key, page, gen, body, n, self.prev_block)
            }
        };
        self.prev_block = Some(id);
        self.exit_block = false;
        if self.trace.is_none() && !self.dbg.armed {
            return self.run_threaded(p, blk, id, key.pa, budget);
        }
        // Traced or with debug events armed: one instruction at a time through the family
        // handlers.
        let mut limit = ((blk.body.len() - 1) as u64).min(budget.max(1)) as usize;
        if self.dbg.armed {
            limit = self.debug_limit(pc, limit, stepping);
        }
        self.blk_base = self.stats.instructions;
        let mut done = 0u64;
        let mut faulted = false;
        for (i, d) in blk.body[..limit].iter().enumerate() {
            self.npc = self.pc.wrapping_add(4);
            if let Some(mut tr) = self.trace.take() {
                tr(self, d.raw);
                self.trace = Some(tr);
            }
            self.stats.instructions = self.blk_base + i as u64 + 1;
            done = i as u64 + 1;
            match (d.h)(self, p, d.raw) {
                Ok(()) => {
                    let seq = self.npc == self.pc.wrapping_add(4);
                    self.pc = self.npc;
                    if !seq || self.exit_block {
                        break;
                    }
                }
                Err(e) => {
                    self.prev_block = None;
                    // A stepped SVC/HVC/SMC completes: its exception is taken with SPSR.SS = 0
                    // (D2.12.x); other exceptions leave PSTATE.SS = 1.
                    if stepping && e.ret_next {
                        self.ss = false;
                    }
                    faulted = true;
                    self.take(e);
                    break;
                }
            }
        }
        if stepping && !faulted && done == 1 {
            self.step_completed(blk.body[0].raw);
        }
        self.stats.instructions = self.blk_base + done;
        done
    }

    /// Runs block `blk` (number `id`, at physical `pa`) as a chain of threaded handlers
    /// (decode.rs), again while it loops on itself, and on into the blocks its direct
    /// branches reach in the same page; returns instructions retired.
    fn run_threaded(
        &mut self,
        p: &mut dyn Arm64Platform,
        mut blk: std::rc::Rc<Block>,
        mut id: u32,
        mut pa: u64,
        budget: u64,
    ) -> u64 {
        // `refresh_fast_need` ran for the fetch at the start of `run_block`.
        let budget = budget.max(1);
        let mut total = 0u64;
        loop {
            let pc = blk.body[0].pc;
            let n = blk.body.len() - 1;
            let left = budget - total;
            let part: Vec<Decoded>;
            let body: &[Decoded] = if n as u64 <= left {
                &blk.body
            } else {
                // The budget ends inside the block: run a copy of its first `left`
                // instructions with a terminator of their own (once per quantum at most).
                let mut v = blk.body[..left as usize].to_vec();
                if let Some(d) = v.last_mut().filter(|d| d.is_fused) {
                    d.f = crate::decode::generic; // its B.cond is not in the copy
                }
                v.push(end_entry(left as usize));
                part = v;
                &part
            };
            let limit = body.len() - 1;
            let base0 = self.stats.instructions;
            self.blk_base = base0;
            self.loop_left =
                if limit == n && blk.body[n - 1].loops { crate::decode::loop_passes(left, n) } else { 0 };
            let r = (body[0].f)(self, p, &body[0]);
            // Passes completed inside the handlers.
            total += self.blk_base - base0;
            let last = match r {
                Ok(()) => {
                    // Ran to its end: a conditional branch not taken, or a block cut short.
                    total += limit as u64;
                    self.stats.instructions = self.blk_base + limit as u64;
                    self.pc = body[limit - 1].pc.wrapping_add(4);
                    limit - 1
                }
                Err(Stop::Leave) => {
                    let k = self.left_idx as u64 + 1;
                    total += k;
                    self.stats.instructions = self.blk_base + k;
                    if limit == n
                        && self.pc == pc
                        && blk.body[n].self_loop
                        && !self.exit_block
                        && total < budget
                    {
                        continue;
                    }
                    self.left_idx as usize
                }
                Err(Stop::Fault) => {
                    let k = self.left_idx as u64 + 1;
                    total += k;
                    self.stats.instructions = self.blk_base + k;
                    self.pc = body[self.left_idx as usize].pc;
                    self.prev_block = None;
                    if let Some(e) = self.fault.take() {
                        self.take(e);
                    }
                    return total;
                }
            };
            // Whatever could make a block stale, change the translation regime or
            // make an interrupt pending sets `exit_block` (stores into code, MMIO)
            // or ends the block through the generic path (system register writes,
            // TLB maintenance, exception entry and return, WFI). A specialized
            // branch changes only the PC (and X30), so execution may go on here:
            // a loop closing on the block's own start runs again without a lookup,
            // and a target in the same page (same translation) is looked up by its
            // physical address.
            let chain = body[last].chain;
            if !chain || self.exit_block || total >= budget {
                return total;
            }
            let t = self.pc;
            if (t ^ pc) >> 12 != 0 || t & 3 != 0 {
                return total;
            }
            let key = BlockKey { pa: (pa & !0xfff) | (t & 0xfff), va: t, mode: 0 };
            let ram = p.ram();
            let Some((nid, nblk)) = self.blocks.lookup(key, Some(id), |pg| ram.code_gen(pg)) else {
                return total;
            };
            (blk, id, pa) = (nblk, nid, key.pa);
            self.prev_block = Some(id);
        }
    }
}
