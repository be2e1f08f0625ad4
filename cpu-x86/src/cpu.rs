//! The x86 processor: state, reset, the run loop and single-instruction step.

use crate::cpuid::CpuidModel;
use crate::fault::X;
use crate::mmu::{Access, Tlb};
use crate::platform::{ApicEvent, X86Platform};
use crate::state::*;
use iced_x86::{Decoder, DecoderOptions, Instruction};
use sim_core::{CpuStats, StopReason};

/// The decoded-instruction type handed to trace hooks.
pub type TraceInstruction = Instruction;

/// A hook called with each instruction about to execute.
pub type TraceHook = Box<dyn FnMut(&X86Cpu, &Instruction)>;

/// Why the processor is not executing instructions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Executing.
    Running,
    /// HLT: waits for an interrupt, NMI or INIT.
    Halted,
    /// An application processor after reset or INIT: waits for a start-up IPI (SDM Vol 3A 9.4).
    WaitForSipi,
    /// Shutdown after a triple fault (SDM Vol 3A 6.15, interrupt 8).
    Shutdown,
}

/// One x86-64 logical processor.
pub struct X86Cpu {
    /// RAX..R15, in encoding order.
    pub regs: [u64; 16],
    pub rip: u64,
    pub rflags: u64,
    /// ES, CS, SS, DS, FS, GS.
    pub seg: [Segment; 6],
    pub ldtr: Segment,
    pub tr: Segment,
    pub gdtr: TableReg,
    pub idtr: TableReg,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
    pub xcr0: u64,
    pub pkru: u32,
    pub dr: [u64; 8],
    pub msr: MsrState,
    /// x87, MMX and SSE state (FXSAVE layout semantics, SDM Vol 1 10.5.1).
    pub fpu: crate::fpu::FpuState,
    /// Current privilege level.
    pub cpl: u8,
    pub(crate) mode: Mode,
    pub state: RunState,
    /// Set by MOV SS, POP SS and STI: the next instruction boundary is inside an interrupt
    /// shadow (SDM Vol 3A 6.8.3). Cleared when the following instruction starts.
    pub(crate) shadow: u8,
    /// The shadow comes from a stack-segment load, which also holds off debug traps.
    pub(crate) shadow_ss: bool,
    /// Some DR7 data breakpoint is enabled (checked on every data access).
    pub(crate) data_bps: bool,
    /// Blocking by NMI: set on NMI delivery, cleared by IRET (SDM Vol 3A 6.7.1).
    pub(crate) nmi_blocked: bool,
    pub(crate) tlb: Tlb,
    /// Pending lazy flags (see lazy.rs).
    pub(crate) lazy: crate::lazy::Lazy,
    /// The PCID in force, cached from CR3/CR4 for the soft TLB.
    pub(crate) cur_pcid: u16,
    pub cpuid: CpuidModel,
    pub apic_id: u32,
    pub stats: CpuStats,
    /// TSC offset (IA32_TSC writes adjust it; TSC = tick + offset).
    pub tsc_offset: u64,
    /// Deterministic RDRAND/RDSEED state (xorshift64*, seeded per CPU).
    pub(crate) rng: u64,
    /// Trace hook: called with each executed instruction when set.
    pub trace: Option<TraceHook>,
    /// Pending single-step trap after the current instruction (TF was set before it).
    pub(crate) pending_db: u64,
    /// Reason of the last shutdown, for the host's message.
    pub shutdown_reason: Option<String>,
    /// Bytes of the instruction being executed (for tracing).
    pub last_bytes: [u8; 15],
    /// Decoded blocks.
    pub(crate) blocks: sim_core::BlockCache<Box<[crate::block::Decoded]>>,
    /// The block that ran last (for chaining).
    pub(crate) prev_block: Option<u32>,
    /// `GuestRam::code_epoch` as last seen.
    pub(crate) code_epoch: u64,
    /// Set by side effects that must end the current block (I/O, MMIO, stores to code).
    pub(crate) exit_block: bool,
    /// Position in its block of the instruction that left it (set by the handler that leaves).
    pub(crate) left_idx: u8,
    /// Passes a self-looping block may still run inside its handlers (`block::loop_back`).
    pub(crate) loop_left: u64,
    /// `TlbEntry::fast` bits a data read / write needs now (`refresh_fast_want`).
    pub(crate) fast_want: [u8; 2],
    /// Instructions retired before the block (pass) now running; handlers that need an exact
    /// count mid-block add their position in it.
    pub(crate) blk_base: u64,
    /// Cycles beyond one per instruction (timing model; zero in the functional model).
    pub stall_cycles: u64,
}

impl X86Cpu {
    /// A processor in its power-on state (SDM Vol 3A 9.1.1, table 9-1); application processors
    /// start waiting for a start-up IPI.
    pub fn new(cpuid: CpuidModel, apic_id: u32, bsp: bool, rng_seed: u64) -> Self {
        let mut c = Self {
            regs: [0; 16],
            rip: 0xfff0,
            rflags: flags::FIXED1,
            seg: [Segment::real(0); 6],
            ldtr: Segment { attr: 0x82, limit: 0xffff, ..Default::default() },
            tr: Segment { attr: 0x8b, limit: 0xffff, ..Default::default() },
            gdtr: TableReg { base: 0, limit: 0xffff },
            idtr: TableReg { base: 0, limit: 0xffff },
            cr0: cr0::ET | cr0::CD | cr0::NW,
            cr2: 0,
            cr3: 0,
            cr4: 0,
            efer: 0,
            xcr0: 1,
            pkru: 0,
            dr: [0, 0, 0, 0, 0, 0, 0xffff_0ff0, 0x400],
            fpu: crate::fpu::FpuState::default(),
            msr: MsrState { pat: 0x0007_0406_0007_0406, misc_enable: 1, ..Default::default() },
            cpl: 0,
            mode: Mode::Real,
            state: if bsp { RunState::Running } else { RunState::WaitForSipi },
            shadow: 0,
            shadow_ss: false,
            data_bps: false,
            nmi_blocked: false,
            tlb: Tlb::new(),
            lazy: crate::lazy::Lazy::default(),
            cur_pcid: 0,
            cpuid,
            apic_id,
            stats: CpuStats::new(),
            tsc_offset: 0,
            rng: rng_seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            trace: None,
            pending_db: 0,
            shutdown_reason: None,
            last_bytes: [0; 15],
            blocks: sim_core::BlockCache::new(crate::block::CACHE_INSNS),
            prev_block: None,
            code_epoch: u64::MAX,
            exit_block: false,
            left_idx: 0,
            loop_left: 0,
            fast_want: [0, 0],
            blk_base: 0,
            stall_cycles: 0,
        };
        c.seg[CS] = Segment { selector: 0xf000, base: 0xffff_0000, limit: 0xffff, attr: 0x9b };
        c.regs[2] = 0x600 | (0x8 << 4) | (0xf << 16); // EDX = CPUID signature
        c
    }

    /// The operating mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Recomputes the mode after CR0, EFER or CS changed.
    pub fn update_mode(&mut self) {
        let cs = self.seg[CS];
        self.mode = if self.cr0 & cr0::PE == 0 {
            Mode::Real
        } else if self.efer & efer::LMA != 0 {
            if cs.long() {
                Mode::Long64
            } else if cs.db() {
                Mode::Compat32
            } else {
                Mode::Compat16
            }
        } else if cs.db() {
            Mode::Protected32
        } else {
            Mode::Protected16
        };
    }

    /// Puts the CPU in flat 32-bit protected mode with paging off, as a Multiboot loader
    /// leaves it (Multiboot 0.6.96 section 3.2).
    pub fn setup_protected_flat(&mut self, entry: u32) {
        self.cr0 |= cr0::PE;
        self.cr0 &= !(cr0::PG | cr0::CD | cr0::NW);
        let code = Segment { selector: 0x08, base: 0, limit: 0xffff_ffff, attr: 0xc09b };
        let data = Segment { selector: 0x10, base: 0, limit: 0xffff_ffff, attr: 0xc093 };
        self.seg = [data, code, data, data, data, data];
        self.rip = entry as u64;
        self.rflags = flags::FIXED1;
        self.cpl = 0;
        self.state = RunState::Running;
        self.update_mode();
        self.tlb.flush(false);
    }

    /// Puts the CPU in 64-bit mode with paging rooted at `cr3` (identity map provided by the
    /// loader) and the given GDT, code selector 0x08 and data selector 0x10.
    pub fn setup_long_mode(&mut self, entry: u64, cr3: u64, gdt_base: u64, gdt_limit: u16) {
        self.cr0 = cr0::PE | cr0::PG | cr0::ET | cr0::NE | cr0::WP;
        self.cr4 = cr4::PAE;
        self.cr3 = cr3;
        self.refresh_pcid();
        self.efer = efer::LME | efer::LMA | efer::SCE | efer::NXE;
        self.gdtr = TableReg { base: gdt_base, limit: gdt_limit };
        let code = Segment { selector: 0x08, base: 0, limit: 0xffff_ffff, attr: 0xa09b };
        let data = Segment { selector: 0x10, base: 0, limit: 0xffff_ffff, attr: 0xc093 };
        self.seg = [data, code, data, data, data, data];
        self.rip = entry;
        self.rflags = flags::FIXED1;
        self.cpl = 0;
        self.state = RunState::Running;
        self.update_mode();
        self.tlb.flush(false);
    }

    /// The time-stamp counter (SDM Vol 3B 18.17).
    pub fn tsc(&self, p: &mut dyn X86Platform) -> u64 {
        p.sync(self.cycle_count());
        p.now().wrapping_add(self.tsc_offset)
    }

    /// INIT: reset most state, keep caches of MSRs as the SDM lists (Vol 3A 9.1.1); the CPU waits
    /// for a SIPI unless it is the BSP.
    pub fn init(&mut self, bsp: bool) {
        let keep =
            (self.cpuid.clone(), self.apic_id, std::mem::take(&mut self.stats), self.rng, self.trace.take());
        let msr = self.msr.clone();
        *self = Self::new(keep.0, keep.1, bsp, 0);
        self.stats = keep.2;
        self.rng = keep.3;
        self.trace = keep.4;
        // MSRs are not changed by INIT (SDM Vol 3A table 9-1, note on INIT).
        self.msr = msr;
    }

    /// Starts an AP at `vector * 4096` in real mode (SDM Vol 3A 9.4.4).
    pub fn sipi(&mut self, vector: u8) {
        if self.state == RunState::WaitForSipi {
            self.seg[CS] = Segment::real((vector as u16) << 8);
            self.rip = 0;
            self.state = RunState::Running;
            self.update_mode();
        }
    }

    fn handle_apic_events(&mut self, p: &mut dyn X86Platform) {
        while let Some(ev) = p.take_apic_event() {
            match ev {
                ApicEvent::Init => self.init(false),
                ApicEvent::Sipi(v) => self.sipi(v),
                ApicEvent::Nmi => {
                    if self.state != RunState::WaitForSipi && self.state != RunState::Shutdown {
                        self.state = RunState::Running;
                        self.nmi_blocked = true;
                        self.deliver_event(p, crate::fault::NMI, None, crate::intr::EventKind::Nmi);
                    }
                }
            }
        }
    }

    /// Runs up to `budget` instructions.
    pub fn run(&mut self, p: &mut dyn X86Platform, budget: u64) -> StopReason {
        let r = self.run_inner(p, budget);
        self.stats.cycles = self.cycle_count();
        r
    }

    fn run_inner(&mut self, p: &mut dyn X86Platform, budget: u64) -> StopReason {
        let mut left = budget;
        // INIT, SIPI and NMI arrive between quanta or through this CPU's own I/O (which ends
        // its block with `exit_block`): look for them then, not before every block.
        let mut check_events = true;
        loop {
            if std::mem::take(&mut check_events) {
                self.handle_apic_events(p);
            }
            match self.state {
                RunState::Running => {}
                RunState::Halted => {
                    if self.rflags & flags::IF != 0 && p.intr_pending() {
                        self.state = RunState::Running;
                    } else {
                        return StopReason::Halted;
                    }
                }
                RunState::WaitForSipi => return StopReason::Halted,
                RunState::Shutdown => {
                    return StopReason::Shutdown(
                        self.shutdown_reason.clone().unwrap_or_else(|| "shutdown".into()),
                    )
                }
            }
            // Maskable interrupts are recognised on instruction boundaries outside a shadow.
            if self.shadow == 0 && self.rflags & flags::IF != 0 && p.intr_pending() {
                if let Some(v) = p.intr_ack() {
                    self.stats.interrupts += 1;
                    self.deliver_event(p, v, None, crate::intr::EventKind::External);
                    continue;
                }
            }
            if left == 0 {
                return StopReason::Budget;
            }
            if self.needs_step() {
                left -= 1;
                self.prev_block = None;
                self.step(p);
                check_events = true;
            } else {
                left -= self.run_block(p, left).min(left);
                check_events = self.exit_block || self.state != RunState::Running;
            }
            if p.attention() {
                return StopReason::Event;
            }
        }
    }

    /// Fetches and decodes the instruction at CS:RIP.
    pub(crate) fn fetch(&mut self, p: &mut dyn X86Platform) -> X<Instruction> {
        let bitness = self.mode.bitness();
        let la = self.code_linear(self.rip)?;
        let mut buf = [0u8; 16];
        let first = (0x1000 - (la & 0xfff)).min(15) as usize;
        self.fetch_bytes(p, la, &mut buf[..first])?;
        let mut instr = Instruction::default();
        if self.trace.is_some() {
            self.last_bytes.copy_from_slice(&buf[..15]);
        }
        let mut dec = Decoder::with_ip(bitness, &buf[..first], self.rip, DecoderOptions::NONE);
        dec.decode_out(&mut instr);
        if dec.last_error() == iced_x86::DecoderError::NoMoreBytes && first < 15 {
            // The instruction continues on the next page: fetch it (may fault there).
            self.fetch_bytes(p, la.wrapping_add(first as u64), &mut buf[first..15])?;
            if self.trace.is_some() {
                self.last_bytes.copy_from_slice(&buf[..15]);
            }
            let mut dec = Decoder::with_ip(bitness, &buf[..15], self.rip, DecoderOptions::NONE);
            dec.decode_out(&mut instr);
            if dec.last_error() != iced_x86::DecoderError::None {
                // Longer than 15 bytes is #GP(0) (SDM Vol 2A 2.3.11); anything else #UD.
                return Err(if dec.last_error() == iced_x86::DecoderError::NoMoreBytes {
                    crate::fault::GP0
                } else {
                    crate::fault::UD_
                });
            }
        } else if dec.last_error() != iced_x86::DecoderError::None {
            return Err(if dec.last_error() == iced_x86::DecoderError::NoMoreBytes {
                crate::fault::GP0
            } else {
                crate::fault::UD_
            });
        }
        Ok(instr)
    }

    fn fetch_bytes(&mut self, p: &mut dyn X86Platform, la: u64, out: &mut [u8]) -> X<()> {
        if out.is_empty() {
            return Ok(());
        }
        let t = self.translate(p, la, Access::Fetch, false)?;
        if t.host.is_null() {
            // Executing from MMIO: read byte by byte through the bus.
            for (i, b) in out.iter_mut().enumerate() {
                *b = p.mmio_read(sim_core::GuestPhys(t.pa + i as u64), 1) as u8;
            }
        } else {
            // SAFETY: `t.host` points into a 4 KiB RAM page and `out.len()` does not cross
            // its end (callers split at the page boundary).
            unsafe { std::ptr::copy_nonoverlapping(t.host, out.as_mut_ptr(), out.len()) };
        }
        Ok(())
    }

    /// Enabled DR0-DR3 execute breakpoints matching linear address `la` (SDM Vol 3B 17.2.4).
    fn exec_breakpoints(&self, la: u64) -> u64 {
        let dr7 = self.dr[7];
        let mut hit = 0;
        for n in 0..4 {
            let enabled = (dr7 >> (2 * n)) & 3 != 0;
            let rw = (dr7 >> (16 + 4 * n)) & 3;
            if enabled && rw == 0 && self.dr[n] == la {
                hit |= 1 << n;
            }
        }
        hit
    }

    /// Records data breakpoints hit by an access of `size` bytes at `la` (write: `write`).
    pub(crate) fn check_data_bp(&mut self, la: u64, size: u64, write: bool) {
        let dr7 = self.dr[7];
        for n in 0..4 {
            let enabled = (dr7 >> (2 * n)) & 3 != 0;
            let rw = (dr7 >> (16 + 4 * n)) & 3;
            let len = match (dr7 >> (18 + 4 * n)) & 3 {
                0 => 1,
                1 => 2,
                2 => 8,
                _ => 4,
            };
            let hits_kind = rw == 3 || (rw == 1 && write);
            let base = self.dr[n] & !(len - 1);
            if enabled && hits_kind && la < base + len && base < la + size {
                self.pending_db |= 1 << n;
            }
        }
    }

    /// Executes one instruction, delivering any exception it raises.
    pub fn step(&mut self, p: &mut dyn X86Platform) {
        self.materialize();
        let start_rip = self.rip;
        let tf = self.rflags & flags::TF != 0;
        // The shadow set by the previous instruction covers only this boundary.
        self.shadow_ss = false;
        self.shadow = 0;
        // Instruction breakpoints are faults taken before the instruction unless RF is set.
        if self.dr[7] & 0xff != 0 && self.rflags & flags::RF == 0 {
            if let Ok(la) = self.code_linear(self.rip) {
                let hit = self.exec_breakpoints(la);
                if hit != 0 {
                    self.dr[6] |= hit;
                    self.stats.instructions += 1;
                    self.deliver_event(p, crate::fault::DB, None, crate::intr::EventKind::Exception);
                    return;
                }
            }
        }
        let mut loads_rf = false;
        self.blk_base = self.stats.instructions;
        self.refresh_fast_want();
        let res = self.fetch(p).and_then(|instr| {
            if let Some(mut t) = self.trace.take() {
                t(self, &instr);
                self.trace = Some(t);
            }
            self.rip = instr.next_ip();
            loads_rf = matches!(
                instr.mnemonic(),
                iced_x86::Mnemonic::Iret | iced_x86::Mnemonic::Iretd | iced_x86::Mnemonic::Iretq
            );
            // The same decoded form and handler as block execution; flags end up exact.
            let body = [crate::block::decode(instr, self.mode.bitness()), crate::block::end_entry(1)];
            let r = match (body[0].f)(self, p, &body[0]) {
                Err(crate::block::LEAVE) => Ok(()),
                r => r,
            };
            self.materialize();
            if r.is_err() {
                self.rip = start_rip;
            }
            r
        });
        self.stats.instructions = self.blk_base + 1;
        match res {
            Ok(()) => {
                // RF is cleared after every instruction except one that loads it (IRET).
                if !loads_rf {
                    self.rflags &= !flags::RF;
                }
                // Single-step trap after the instruction if TF was set before it (SDM Vol 3B
                // 17.3.1.4); held off for one instruction after MOV SS/POP SS (Vol 3A 6.8.3).
                let db = std::mem::take(&mut self.pending_db);
                let hold = self.shadow_ss;
                if (tf || db != 0) && !hold && self.state != RunState::Shutdown {
                    if tf {
                        self.dr[6] |= 0x4000;
                    }
                    self.dr[6] |= db;
                    self.deliver_event(p, crate::fault::DB, None, crate::intr::EventKind::Trap);
                } else if hold {
                    self.pending_db = db;
                }
            }
            Err(f) => {
                let (vector, error) = (f.vector(), f.error());
                self.pending_db = 0;
                self.shadow = 0;
                self.shadow_ss = false;
                self.deliver_event(p, vector, error, crate::intr::EventKind::Exception);
            }
        }
    }

    /// A one-line register dump for host messages.
    pub fn dump(&self) -> String {
        let r = &self.regs;
        format!(
            "rip={:#x} cs={:#x} mode={:?} cpl={} rflags={:#x} rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x} rbp={:#x} rsp={:#x} cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x} idtr={:#x}/{:#x} gdtr={:#x}/{:#x}",
            self.rip, self.seg[CS].selector, self.mode, self.cpl, self.flags(), r[0], r[3], r[1], r[2], r[6], r[7], r[5], r[4],
            self.cr0, self.cr2, self.cr3, self.cr4, self.efer, self.idtr.base, self.idtr.limit, self.gdtr.base, self.gdtr.limit
        )
    }

    /// Flushes the whole TLB (used by the board after it rewrites page tables, and by
    /// anything that set CR3/CR4 directly).
    pub fn flush_tlb(&mut self) {
        self.refresh_pcid();
        self.tlb.flush(false);
    }

    /// Cycles consumed: in the functional model one per retired instruction plus stall
    /// cycles (none yet; the timing model adds them). Kept in `stats.cycles` when `run`
    /// returns and computed on demand inside it, so the hot loop counts one thing.
    #[inline]
    pub fn cycle_count(&self) -> u64 {
        self.stats.instructions + self.stall_cycles
    }

    /// Block-cache counters (hits, misses, chaining, invalidations, flushes).
    pub fn block_stats(&self) -> &sim_core::BlockStats {
        &self.blocks.stats
    }
}

impl<P: X86Platform> sim_core::Cpu<P> for X86Cpu {
    fn run(&mut self, platform: &mut P, budget: u64) -> StopReason {
        X86Cpu::run(self, platform, budget)
    }
    fn stats(&self) -> &CpuStats {
        &self.stats
    }
}
