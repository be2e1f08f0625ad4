//! Block execution: the decoded form of a basic block, how blocks are formed, and the loop
//! that runs them. Each instruction is decoded once, with its handler chosen at decode time;
//! blocks live in the generic [`sim_core::BlockCache`] keyed by (physical PC, RIP, decode
//! mode) and are checked against the code generation of their page, which stores into code
//! lines advance (self-modifying and cross-modifying code, SDM Vol 3A 11.6).

use crate::cpu::X86Cpu;
use crate::exec::{handler_for, Handler};
use crate::intr::EventKind;
use crate::mmu::Access;
use crate::platform::X86Platform;
use crate::state::{flags, Mode, CS};
use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic as M, OpKind};
use sim_core::{BlockKey, GuestPhys};

/// A handler that takes the decoded form (operands resolved at decode time). Handlers are
/// threaded: one that completes in line ends by calling the next instruction's handler
/// ([`next`]), and the block's [`block_end`] entry returns `Ok`. An error leaves the block:
/// [`LEAVE`] means the instruction completed and control goes elsewhere (a taken branch, or a
/// request to end the block); any other error is the instruction's exception. Either way the
/// handler records its position in `X86Cpu::left_idx` ([`leave`], [`generic`]). Handlers do
/// not set RIP for in-line flow: the block loop does when the block ends or an instruction
/// faults.
pub type FastHandler = fn(&mut X86Cpu, &mut dyn X86Platform, &Decoded) -> crate::fault::X<()>;

/// Not an exception (vectors are below 32): the instruction completed and the block ends
/// after it; RIP holds where execution continues.
pub const LEAVE: crate::fault::Fault = crate::fault::exc(0xff);

/// "No register" in the effective-address fields.
pub const NO_REG: u8 = 0xff;

/// One decoded instruction: its handler, chosen at decode time, and operand fields for the
/// specialized handlers (exec/fast.rs).
#[derive(Clone)]
pub struct Decoded {
    /// What runs: a specialized handler, or [`generic`] calling `h`.
    pub f: FastHandler,
    /// The family handler (generic operand access).
    pub h: Handler,
    pub i: Instruction,
    pub r0: u8,
    pub r1: u8,
    pub size: u8,
    pub base: u8,
    pub index: u8,
    pub scale: u8,
    pub seg: u8,
    pub imm: u64,
    pub disp: u64,
    /// RIP of the next instruction.
    pub next: u64,
    /// Position in the block (instruction counts are settled from it).
    pub idx: u8,
    /// IRET loads RF, which must then survive the instruction (SDM Vol 3B 17.3.1.1).
    pub loads_rf: bool,
    /// A near relative JMP/Jcc: the block may loop back to itself without a new lookup.
    pub near_branch: bool,
    /// A Jcc with a fast handler: its condition's index in `exec::fast::CCS` (0 otherwise).
    pub cc: u8,
    /// A flag-setting instruction's handlers fused with a following JE or JNE (they evaluate
    /// the condition and branch themselves), if it has them.
    pub fused: Option<[FastHandler; 2]>,
    /// `f` is the fused handler: the entry after this one must be its Jcc.
    pub is_fused: bool,
    /// A specialized near branch (JMP, Jcc, CALL, RET: it changes only RIP, RSP and the
    /// stack), after which the block loop may go straight on to the next block.
    pub chain: bool,
    /// The block's last instruction, a JMP/Jcc back to the block's own start: when taken it
    /// may run the block again itself ([`loop_back`]).
    pub loops: bool,
    /// Writes every status flag without reading any and cannot fault (ALU register and
    /// immediate forms).
    pub kills: bool,
    /// The handler to use when this instruction's flags are dead, if it has one.
    pub nf: Option<FastHandler>,
    /// `f` is the dead-flags handler (`nf`): the next entry must be run after it.
    pub is_nf: bool,
}

/// How many passes a block that loops on itself may run inside its handlers before it
/// returns to the block loop: bounded so that, where calls in tail position are not turned
/// into jumps (debug builds), the call chain stays short.
const LOOP_PASSES: u64 = if cfg!(debug_assertions) { 4 } else { 256 };

/// A taken branch from `j`, the last instruction of its block, back to the block's start:
/// runs the block again from its first entry while passes are left (`X86Cpu::loop_left`,
/// set by the block loop within the budget) and nothing asked to end the block; otherwise
/// leaves it with RIP at the start. Each pass counts the block's instructions in `blk_base`.
#[inline(always)]
pub(crate) fn loop_back(c: &mut X86Cpu, p: &mut dyn X86Platform, j: &Decoded) -> crate::fault::X<()> {
    if c.loop_left != 0 && !c.exit_block {
        c.loop_left -= 1;
        c.blk_base += j.idx as u64 + 1;
        // SAFETY: `loops` is set only on entry `idx` of a cached body, whose first entry is
        // `idx` entries before it (partial copies end before it).
        let first = unsafe { &*(j as *const Decoded).sub(j.idx as usize) };
        return (first.f)(c, p, first);
    }
    c.rip = j.imm;
    leave(c, j)
}

/// Runs the family handler with exact flags, RIP and instruction count (what specialized
/// handlers also fall back to when their fast path does not apply).
pub(crate) fn generic(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> crate::fault::X<()> {
    c.materialize();
    c.rip = d.next;
    c.stats.instructions = c.blk_base + d.idx as u64 + 1;
    c.left_idx = d.idx;
    (d.h)(c, p, &d.i)?;
    if c.exit_block | (c.rip != d.next) {
        return Err(LEAVE);
    }
    next(c, p, d)
}

/// Goes on with the instruction after `d` in its block (a call in tail position, so a block
/// runs as one chain of jumps from handler to handler).
#[inline(always)]
pub(crate) fn next(c: &mut X86Cpu, p: &mut dyn X86Platform, d: &Decoded) -> crate::fault::X<()> {
    // SAFETY: every block body, and the one-instruction body of `step`, ends with a
    // `block_end` entry that does not continue, so the entry after a continuing handler's
    // own exists inside the same slice.
    let n = unsafe { &*(d as *const Decoded).add(1) };
    (n.f)(c, p, n)
}

/// Leaves the block after `d`, which completed; RIP holds where execution continues.
#[inline(always)]
pub(crate) fn leave(c: &mut X86Cpu, d: &Decoded) -> crate::fault::X<()> {
    c.left_idx = d.idx;
    Err(LEAVE)
}

/// The entry after a block's last instruction: the block ran to its end.
fn block_end(_: &mut X86Cpu, _: &mut dyn X86Platform, _: &Decoded) -> crate::fault::X<()> {
    Ok(())
}

/// The terminating entry of a block body (`idx` = number of instructions). In a cached
/// block its `near_branch` says that the block's last instruction is a near branch to the
/// block's own start (a loop the block loop may rerun without a lookup).
pub(crate) fn end_entry(n: usize) -> Decoded {
    let mut d = decode(Instruction::default(), 64);
    d.f = block_end;
    d.idx = n as u8;
    d
}

/// Builds the decoded form of `i` for decode mode `bitness`.
pub fn decode(i: Instruction, bitness: u32) -> Decoded {
    let mut d = Decoded {
        f: generic,
        h: handler_for(&i),
        i,
        r0: 0,
        r1: 0,
        size: 0,
        base: NO_REG,
        index: NO_REG,
        scale: 0,
        seg: 0,
        imm: 0,
        disp: 0,
        next: i.next_ip(),
        idx: 0,
        cc: 0,
        fused: None,
        is_fused: false,
        chain: false,
        loops: false,
        kills: false,
        nf: None,
        is_nf: false,
        loads_rf: matches!(i.mnemonic(), M::Iret | M::Iretd | M::Iretq),
        near_branch: matches!(
            i.op0_kind(),
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
        ) && (i.is_jcc_short_or_near() || i.is_jmp_short_or_near()),
    };
    if bitness == 64 {
        let i = d.i;
        if let Some(f) = crate::exec::fast::specialize(&i, &mut d) {
            d.f = f;
        }
    }
    d
}

/// A cached block of decoded instructions.
pub type CachedBlock = sim_core::blockcache::CachedBlock<Box<[Decoded]>>;

/// Longest block in instructions.
pub const MAX_BLOCK: usize = 64;

/// Capacity of the block cache in decoded instructions before a wholesale flush.
pub const CACHE_INSNS: usize = 1 << 20;

/// Instructions after which the block ends even though control continues in line: they change
/// the mode, paging, interrupt state or talk to devices.
fn ends_block(i: &Instruction) -> bool {
    if i.flow_control() != FlowControl::Next {
        return true;
    }
    match i.mnemonic() {
        M::Mov => (0..2).any(|n| {
            i.op_kind(n) == OpKind::Register && {
                let r = i.op_register(n);
                (n == 0 && r.is_segment_register()) || r.is_cr() || r.is_dr()
            }
        }),
        M::Pop => i.op0_kind() == OpKind::Register && i.op0_register().is_segment_register(),
        M::Lds
        | M::Les
        | M::Lfs
        | M::Lgs
        | M::Lss
        | M::Wrmsr
        | M::Lgdt
        | M::Lidt
        | M::Lldt
        | M::Ltr
        | M::Lmsw
        | M::Clts
        | M::Invlpg
        | M::Invpcid
        | M::Popf
        | M::Popfd
        | M::Popfq
        | M::Stac
        | M::Clac
        | M::Sti
        | M::Cli
        | M::Hlt
        | M::In
        | M::Out
        | M::Insb
        | M::Insw
        | M::Insd
        | M::Outsb
        | M::Outsw
        | M::Outsd
        | M::Xsetbv
        | M::Xrstor
        | M::Xrstor64
        | M::Swapgs
        | M::Syscall
        | M::Sysret
        | M::Sysretq
        | M::Sysenter
        | M::Sysexit
        | M::Sysexitq
        | M::Wrpkru
        | M::Rdmsr => true,
        _ => false,
    }
}

impl X86Cpu {
    /// True when instructions must go one by one through [`X86Cpu::step`]: tracing,
    /// single-stepping, debug registers or a pending debug trap.
    #[inline]
    pub(crate) fn needs_step(&self) -> bool {
        self.trace.is_some() || self.rflags & flags::TF != 0 || self.dr[7] & 0xff != 0 || self.pending_db != 0
    }

    /// Runs one block (at most `budget` instructions); returns how many instructions retired.
    pub(crate) fn run_block(&mut self, p: &mut dyn X86Platform, budget: u64) -> u64 {
        let epoch = p.ram().code_epoch();
        if epoch != self.code_epoch {
            // A page became a code page somewhere: cached write permissions may lack the
            // code flag (SMC checks), so drop them.
            self.tlb.flush(false);
            self.code_epoch = epoch;
        }
        let Ok(la) = self.code_linear(self.rip) else { return self.step_one(p) };
        let t = match self.fetch_fast(la) {
            Some(t) => t,
            None => match self.translate(p, la, Access::Fetch, false) {
                Ok(t) => t,
                Err(_) => return self.step_one(p),
            },
        };
        if t.host.is_null() {
            return self.step_one(p); // code in MMIO: no caching
        }
        let key = BlockKey { pa: t.pa, va: self.rip, mode: self.mode.bitness() };
        let ram = p.ram();
        let found = self.blocks.lookup(key, self.prev_block, |pg| ram.code_gen(pg));
        let (mut id, mut blk) = match found {
            Some(b) => b,
            None => match self.decode_block(p, key, t.host) {
                Some(b) => b,
                None => return self.step_one(p),
            },
        };
        let mut key = key;
        self.prev_block = Some(id);
        self.refresh_fast_want();
        // The shadow of the previous instruction covered the boundary we just passed.
        self.shadow = 0;
        self.shadow_ss = false;
        self.exit_block = false;
        let ip_mask = match key.mode {
            16 => 0xffff,
            32 => 0xffff_ffff,
            _ => u64::MAX,
        };
        let budget = budget.max(1);
        let mut total = 0u64;
        let mut last_iret = false;
        loop {
            let n = blk.body.len() - 1; // without the terminating entry
            let left = budget - total;
            let part: Vec<Decoded>;
            let body: &[Decoded] = if n as u64 <= left {
                &blk.body
            } else {
                // The budget ends inside the block: run a copy of its first `left`
                // instructions with a terminator of their own (rare: once per quantum).
                let mut v = blk.body[..left as usize].to_vec();
                if let Some(d) = v.last_mut().filter(|d| d.is_fused || d.is_nf) {
                    // Its Jcc, or the instruction that overwrites its flags, is not in the copy.
                    d.f = generic;
                }
                v.push(end_entry(left as usize));
                part = v;
                &part
            };
            let limit = body.len() - 1;
            let base0 = self.stats.instructions;
            self.blk_base = base0;
            // Passes the block may run again inside its handlers within the budget.
            self.loop_left = if limit == n && blk.body[n - 1].loops {
                (left / n as u64).saturating_sub(1).min(LOOP_PASSES)
            } else {
                0
            };
            let r = (body[0].f)(self, p, &body[0]);
            // Passes completed inside the handlers.
            total += self.blk_base - base0;
            let last = match r {
                Ok(()) => {
                    // The block ran to its end (or to the budget).
                    total += limit as u64;
                    self.stats.instructions = self.blk_base + limit as u64;
                    self.rip = body[limit - 1].next;
                    &body[limit - 1]
                }
                Err(f) => {
                    let d = &body[self.left_idx as usize];
                    let k = d.idx as u64 + 1;
                    total += k;
                    self.stats.instructions = self.blk_base + k;
                    if f != LEAVE {
                        // Blocks are straight-line: the faulting instruction starts `len`
                        // bytes back.
                        self.rip = d.next.wrapping_sub(d.i.len() as u64) & ip_mask;
                        self.shadow = 0;
                        self.shadow_ss = false;
                        self.pending_db = 0;
                        self.deliver_event(p, f.vector(), f.error(), EventKind::Exception);
                        break;
                    }
                    last_iret = d.loads_rf;
                    // A loop closing on this block's own start (the terminator's flag): run
                    // it again directly.
                    if limit == n && k == n as u64 && blk.body[n].near_branch && self.rip == key.va {
                        if !self.exit_block && total < budget {
                            continue;
                        }
                        break;
                    }
                    d
                }
            };
            // Nothing that could make a block stale or an interrupt pending can have happened
            // without setting `exit_block`: stores into code, I/O and this CPU's own requests
            // all do; mode, paging, TF and interrupt-flag changes end blocks through the
            // generic path. A specialized branch (`chain`) changes only RIP, RSP and the
            // stack, so execution goes on with the next block when it lies in the same page
            // (same translation), found by its physical address.
            if !last.chain || self.exit_block || total >= budget || (self.rip ^ key.va) >> 12 != 0 {
                break;
            }
            let next = BlockKey { pa: (key.pa & !0xfff) | (self.rip & 0xfff), va: self.rip, mode: key.mode };
            let ram = p.ram();
            let Some((nid, nblk)) = self.blocks.lookup(next, Some(id), |pg| ram.code_gen(pg)) else {
                break;
            };
            (id, blk, key) = (nid, nblk, next);
            self.prev_block = Some(id);
        }
        if !last_iret {
            self.rflags &= !flags::RF;
        }
        total
    }

    fn step_one(&mut self, p: &mut dyn X86Platform) -> u64 {
        self.prev_block = None;
        self.step(p);
        1
    }

    /// Decodes the block at `key` from the RAM page at `host`; `None` when not even one
    /// instruction can be decoded there (the slow path then raises the right exception or
    /// handles an instruction that crosses the page end).
    fn decode_block(
        &mut self,
        p: &mut dyn X86Platform,
        key: BlockKey,
        host: *mut u8,
    ) -> Option<(u32, std::rc::Rc<CachedBlock>)> {
        let avail = (0x1000 - (key.pa & 0xfff)) as usize;
        let limit = if self.mode == Mode::Long64 { u64::MAX } else { self.seg[CS].limit as u64 };
        let mut body = Vec::new();
        let mut len = 0u64;
        {
            // SAFETY: `host` points at byte `key.pa & 0xfff` of a 4 KiB RAM page (from the
            // TLB), so `avail` bytes are in bounds; nothing writes guest RAM while decoding.
            let bytes = unsafe { std::slice::from_raw_parts(host as *const u8, avail) };
            let mut dec = Decoder::with_ip(key.mode, bytes, key.va, DecoderOptions::NONE);
            while body.len() < MAX_BLOCK && dec.can_decode() {
                let mut i = Instruction::default();
                dec.decode_out(&mut i);
                if dec.last_error() != iced_x86::DecoderError::None {
                    break;
                }
                // Instructions past the CS limit fault on fetch: leave them to the slow path.
                if key.va.wrapping_add(len + i.len() as u64 - 1) > limit {
                    break;
                }
                len += i.len() as u64;
                let end = ends_block(&i);
                let mut d = decode(i, key.mode);
                d.idx = body.len() as u8;
                body.push(d);
                if end {
                    break;
                }
            }
        }
        if body.is_empty() {
            return None;
        }
        let n = body.len();
        // Flags that the next instruction overwrites before anything can read them are not
        // computed (lazy flags need not even be recorded).
        for k in 0..n.saturating_sub(1) {
            if body[k + 1].kills {
                if let Some(f) = body[k].nf {
                    (body[k].f, body[k].is_nf) = (f, true);
                }
            }
        }
        // A flag-setting instruction followed by the block's closing Jcc runs as one handler.
        if n >= 2 {
            let cc = crate::exec::fast::CCS.get(body[n - 1].cc as usize).copied();
            let ne = match cc {
                Some(iced_x86::ConditionCode::e) => Some(0),
                Some(iced_x86::ConditionCode::ne) => Some(1),
                _ => None,
            };
            let d = &mut body[n - 2];
            if let (Some(ff), Some(ne)) = (d.fused, ne) {
                (d.f, d.is_fused) = (ff[ne], true);
            }
        }
        let mut end = end_entry(n);
        let last = &mut body[n - 1];
        end.near_branch = last.near_branch && last.i.near_branch_target() == key.va;
        // Only the specialized JMP/Jcc (`chain`, target in `imm`) run a looping block again
        // themselves.
        last.loops = end.near_branch && last.chain;
        body.push(end);
        let ram = p.ram();
        let (page, gen) = ram.mark_code(GuestPhys(key.pa), len)?;
        if ram.code_epoch() != self.code_epoch {
            // This page just became a code page: our TLB may hold write permissions for it
            // without the code flag.
            self.tlb.flush(false);
            self.code_epoch = ram.code_epoch();
        }
        Some(self.blocks.insert(key, page, gen, body.into_boxed_slice(), n, self.prev_block))
    }
}
