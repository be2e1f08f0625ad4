//! Instruction decode: `yaxpeax-arm` classifies each A64 word; the handler chosen for its
//! opcode reads the encoding's fields itself (Arm ARM C4.1 encoding index), so the decoded
//! form is just (handler, instruction word). Blocks of decoded instructions end at branches,
//! exception-generating and system instructions, and at the end of the 4 KiB page.

use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::exec::{atomic, branch, dp, fpldst, ldst, simd, system};
use crate::platform::Arm64Platform;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{InstDecoder, Instruction, Opcode as O};

/// An instruction handler: executes the instruction word at `cpu.pc`.
pub type Handler = fn(&mut Arm64Cpu, &mut dyn Arm64Platform, u32) -> Result<(), Exc>;

/// Why a threaded handler left its block (see [`Fast`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The instruction completed and execution continues at `cpu.pc` (a taken branch, or a
    /// request to end the block).
    Leave,
    /// The instruction raised the exception held in `cpu.fault`.
    Fault,
}

/// What a threaded handler returns: `Ok` when the block ran to its end.
pub type Flow = Result<(), Stop>;

/// A threaded handler on the decoded form. One that completes in line ends by calling the
/// next entry's handler ([`next`]); the block's terminator returns `Ok`. A handler that
/// leaves records its position in `cpu.left_idx` ([`leave`], [`generic`]).
pub type Fast = fn(&mut Arm64Cpu, &mut dyn Arm64Platform, &Decoded) -> Flow;

/// One decoded instruction: the handler chosen at decode time (a specialized one from
/// `exec::fast`, or [`generic`] running the family handler `h` on the word) and the
/// operand fields the specialized handlers use.
#[derive(Copy, Clone)]
pub struct Decoded {
    /// What runs.
    pub f: Fast,
    /// The family handler for the encoding class.
    pub h: Handler,
    /// The instruction word.
    pub raw: u32,
    /// Position in the block.
    pub idx: u8,
    /// Register fields (Rd/Rt, Rn, Rm) and a shift or rotate amount, for specialized handlers.
    pub rd: u8,
    pub rn: u8,
    pub rm: u8,
    pub sh: u8,
    /// An immediate, mask or branch target resolved at decode time.
    pub imm: u64,
    /// The instruction's address (blocks are keyed by virtual PC).
    pub pc: u64,
    /// On the terminator: the block's last instruction is a direct branch to its start.
    pub self_loop: bool,
    /// A flag-setting instruction's handlers fused with a B.EQ or B.NE after it, if it has
    /// them.
    pub fused: Option<[Fast; 2]>,
    /// `f` is the fused handler: the next entry is its B.cond.
    pub is_fused: bool,
    /// A specialized direct or register branch (it changes only the PC and X30), after which
    /// the block loop may go straight on to the next block.
    pub chain: bool,
    /// The block's last instruction, a specialized direct branch back to the block's start:
    /// when taken it may run the block again itself ([`loop_back`]).
    pub loops: bool,
}

/// How many passes a block that loops on itself may run inside its handlers before it
/// returns to the block loop: bounded so that, where calls in tail position are not turned
/// into jumps (debug builds), the call chain stays short.
const LOOP_PASSES: u64 = if cfg!(debug_assertions) { 4 } else { 256 };

/// The passes a looping block may run inside its handlers when `left` instructions of the
/// budget remain and the block has `n`.
pub(crate) fn loop_passes(left: u64, n: usize) -> u64 {
    (left / n as u64).saturating_sub(1).min(LOOP_PASSES)
}

/// A taken branch from `j`, the last instruction of its block, back to the block's start:
/// runs the block again from its first entry while passes are left (`Arm64Cpu::loop_left`,
/// set by the block loop within the budget) and nothing asked to end the block; otherwise
/// leaves it with the PC at the start. Each pass counts the block's instructions in
/// `blk_base`.
#[inline(always)]
pub fn loop_back(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, j: &Decoded) -> Flow {
    if c.loop_left != 0 && !c.exit_block {
        c.loop_left -= 1;
        c.blk_base += j.idx as u64 + 1;
        // SAFETY: `loops` is set only on entry `idx` of a cached body, whose first entry is
        // `idx` entries before it (partial copies end before it).
        let first = unsafe { &*(j as *const Decoded).sub(j.idx as usize) };
        return (first.f)(c, p, first);
    }
    c.pc = j.imm;
    leave(c, j)
}

/// Runs the family handler on the word, with `cpu.pc`, `npc` and the instruction count
/// exact, then goes on in line or leaves the block.
pub fn generic(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    let seq = d.pc.wrapping_add(4);
    c.pc = d.pc;
    c.npc = seq;
    c.stats.instructions = c.blk_base + d.idx as u64 + 1;
    c.left_idx = d.idx;
    match (d.h)(c, p, d.raw) {
        Ok(()) => {
            if c.npc != seq || c.exit_block {
                c.pc = c.npc;
                return Err(Stop::Leave);
            }
            next(c, p, d)
        }
        Err(e) => {
            c.fault = Some(e);
            Err(Stop::Fault)
        }
    }
}

/// Goes on with the entry after `d` (a call in tail position: a block runs as one chain of
/// jumps from handler to handler).
#[inline(always)]
pub fn next(c: &mut Arm64Cpu, p: &mut dyn Arm64Platform, d: &Decoded) -> Flow {
    // SAFETY: every block body ends with a terminator entry that does not continue, so the
    // entry after a continuing handler's own is inside the same slice.
    let n = unsafe { &*(d as *const Decoded).add(1) };
    (n.f)(c, p, n)
}

/// Leaves the block after `d`, which completed; `cpu.pc` holds where execution continues.
#[inline(always)]
pub fn leave(c: &mut Arm64Cpu, d: &Decoded) -> Flow {
    c.left_idx = d.idx;
    Err(Stop::Leave)
}

fn block_end(_: &mut Arm64Cpu, _: &mut dyn Arm64Platform, _: &Decoded) -> Flow {
    Ok(())
}

/// The terminating entry of a body of `n` instructions.
pub fn end_entry(n: usize) -> Decoded {
    Decoded {
        f: block_end,
        h: undef,
        raw: 0,
        idx: n as u8,
        rd: 0,
        rn: 0,
        rm: 0,
        sh: 0,
        imm: 0,
        pc: 0,
        self_loop: false,
        fused: None,
        is_fused: false,
        chain: false,
        loops: false,
    }
}

/// A cached block.
pub type Block = sim_core::blockcache::CachedBlock<Box<[Decoded]>>;

/// Longest block.
pub const MAX_BLOCK: usize = 64;

fn undef(_: &mut Arm64Cpu, _: &mut dyn Arm64Platform, _: u32) -> Result<(), Exc> {
    Err(Exc::undef())
}

fn nop(_: &mut Arm64Cpu, _: &mut dyn Arm64Platform, _: u32) -> Result<(), Exc> {
    Ok(())
}

/// Classifies `raw`: the handler and whether the block must end after it.
pub fn classify(raw: u32) -> (Handler, bool) {
    // SIMD&FP (Arm ARM C4.1): data processing (op0 = x111) and loads/stores with V = 1
    // (op0 = x1x0, bit 26) are decoded from the raw fields by their handlers.
    if (raw >> 25) & 7 == 7 {
        return (simd::dp, false);
    }
    if (raw >> 25) & 5 == 4 && raw & (1 << 26) != 0 {
        return (fpldst::ldst, false);
    }
    let mut i = Instruction::default();
    let bytes = raw.to_le_bytes();
    if InstDecoder::default().decode_into(&mut i, &mut U8Reader::new(&bytes)).is_err() {
        return (undef, true);
    }
    let h: (Handler, bool) = match i.opcode {
        O::ADD | O::ADDS | O::SUB | O::SUBS => (dp::add_sub, false),
        O::ADC | O::ADCS | O::SBC | O::SBCS => (dp::adc_sbc, false),
        O::AND | O::ORR | O::EOR | O::ANDS | O::ORN | O::EON | O::BIC | O::BICS => (dp::logical, false),
        O::MOVN | O::MOVZ | O::MOVK => (dp::move_wide, false),
        O::BFM | O::SBFM | O::UBFM => (dp::bitfield, false),
        O::EXTR => (dp::extr, false),
        O::ADR | O::ADRP => (dp::adr, false),
        O::CSEL | O::CSINC | O::CSINV | O::CSNEG => (dp::csel, false),
        O::CCMN | O::CCMP => (dp::ccmp, false),
        O::RBIT | O::REV16 | O::REV | O::REV32 | O::CLZ | O::CLS => (dp::dp1, false),
        O::UDIV | O::SDIV | O::LSLV | O::LSRV | O::ASRV | O::RORV => (dp::dp2, false),
        O::CRC32B | O::CRC32H | O::CRC32W | O::CRC32X | O::CRC32CB | O::CRC32CH | O::CRC32CW | O::CRC32CX => {
            (dp::crc32, false)
        }
        O::MADD | O::MSUB | O::SMADDL | O::SMSUBL | O::UMADDL | O::UMSUBL | O::SMULH | O::UMULH => {
            (dp::dp3, false)
        }
        O::B | O::BL => (branch::b_imm, true),
        O::Bcc(_) => (branch::b_cond, true),
        O::CBZ | O::CBNZ => (branch::cb, true),
        O::TBZ | O::TBNZ => (branch::tb, true),
        O::BR | O::BLR | O::RET => (branch::br_reg, true),
        O::ERET => (branch::eret, true),
        O::SVC | O::HVC | O::SMC | O::BRK | O::HLT => (system::exc_gen, true),
        O::MSR | O::MRS => (system::msr_mrs, true),
        O::SYS(_) | O::SYSL(_) => (system::sys, true),
        O::HINT => (system::hint, true),
        O::ISB => (nop, true),
        // Barriers: the model executes in program order, so they have no further effect
        // (B2.3); SB/SSSB are not advertised.
        O::DSB(_) | O::DMB(_) => (nop, false),
        O::CLREX => (system::clrex, false),
        // FEAT_LSE atomics, FEAT_LRCPC and FEAT_LRCPC2 (exec::atomic; the handlers check the
        // fields yaxpeax-arm does not).
        O::CAS(_) | O::CASB(_) | O::CASH(_) => (atomic::cas, false),
        O::CASP(_) => (atomic::casp, false),
        O::SWP(_) | O::SWPB(_) | O::SWPH(_) => (atomic::swp, false),
        O::LDADD(_)
        | O::LDCLR(_)
        | O::LDEOR(_)
        | O::LDSET(_)
        | O::LDSMAX(_)
        | O::LDSMIN(_)
        | O::LDUMAX(_)
        | O::LDUMIN(_)
        | O::LDADDB(_)
        | O::LDCLRB(_)
        | O::LDEORB(_)
        | O::LDSETB(_)
        | O::LDSMAXB(_)
        | O::LDSMINB(_)
        | O::LDUMAXB(_)
        | O::LDUMINB(_)
        | O::LDADDH(_)
        | O::LDCLRH(_)
        | O::LDEORH(_)
        | O::LDSETH(_)
        | O::LDSMAXH(_)
        | O::LDSMINH(_)
        | O::LDUMAXH(_)
        | O::LDUMINH(_) => (atomic::ld_op, false),
        O::LDAPR | O::LDAPRB | O::LDAPRH => (atomic::ldapr, false),
        O::LDAPUR
        | O::LDAPURB
        | O::LDAPURH
        | O::LDAPURSB
        | O::LDAPURSH
        | O::LDAPURSW
        | O::STLUR
        | O::STLURB
        | O::STLURH => (atomic::rcpc_unscaled, false),
        O::LDR
        | O::STR
        | O::LDRB
        | O::STRB
        | O::LDRH
        | O::STRH
        | O::LDRSB
        | O::LDRSH
        | O::LDRSW
        | O::LDUR
        | O::STUR
        | O::LDURB
        | O::STURB
        | O::LDURH
        | O::STURH
        | O::LDURSB
        | O::LDURSH
        | O::LDURSW
        | O::LDTR
        | O::LDTRB
        | O::LDTRH
        | O::LDTRSB
        | O::LDTRSH
        | O::LDTRSW
        | O::STTR
        | O::STTRB
        | O::STTRH
        | O::STRW => (ldst::single, false),
        O::PRFM | O::PRFUM => (nop, false),
        O::LDP | O::STP | O::LDPSW | O::LDNP | O::STNP => (ldst::pair, false),
        O::LDXR
        | O::LDXRB
        | O::LDXRH
        | O::STXR
        | O::STXRB
        | O::STXRH
        | O::LDAXR
        | O::LDAXRB
        | O::LDAXRH
        | O::STLXR
        | O::STLXRB
        | O::STLXRH
        | O::LDXP
        | O::STXP
        | O::LDAXP
        | O::STLXP
        | O::LDAR
        | O::LDARB
        | O::LDARH
        | O::STLR
        | O::STLRB
        | O::STLRH => (ldst::exclusive, false),
        _ => (undef, true),
    };
    h
}

/// Decodes the block at host pointer `host` (physical `pa`, virtual `va`): at most
/// [`MAX_BLOCK`] instructions, not past the page end, followed by a terminator entry.
/// Returns the body and its length in bytes.
///
/// # Safety
/// `host` must point at byte `pa & 0xfff` of a readable 4 KiB page of guest RAM.
pub unsafe fn decode_block(host: *mut u8, pa: u64, va: u64) -> (Box<[Decoded]>, u64) {
    let avail = ((0x1000 - (pa & 0xfff)) / 4) as usize;
    let mut body = Vec::with_capacity(avail.min(MAX_BLOCK) + 1);
    for k in 0..avail.min(MAX_BLOCK) {
        // SAFETY: `host` points at byte `pa & 0xfff` of a 4 KiB RAM page; `k * 4 + 4` bytes
        // stay within it (`avail` words remain).
        let raw = unsafe { u32::from_le(std::ptr::read_unaligned(host.add(k * 4) as *const u32)) };
        let (h, end) = classify(raw);
        let mut d = end_entry(k);
        (d.f, d.h, d.raw, d.pc) = (generic, h, raw, va.wrapping_add(4 * k as u64));
        if let Some(f) = crate::exec::fast::specialize(&mut d) {
            d.f = f;
        }
        body.push(d);
        if end {
            break;
        }
    }
    let n = body.len();
    // A flag-setting compare followed by the block's closing B.EQ/B.NE runs as one handler.
    if n >= 2 && body[n - 1].raw & 0xff00_001e == 0x5400_0000 {
        let ne = (body[n - 1].raw & 1) as usize;
        let d = &mut body[n - 2];
        if let Some(f) = d.fused {
            (d.f, d.is_fused) = (f[ne], true);
        }
    }
    let len = n as u64 * 4;
    let mut end = end_entry(n);
    end.self_loop = crate::exec::fast::branches_to(&body[n - 1], va);
    // The specialized direct branches (target in `imm`) run a looping block again themselves.
    body[n - 1].loops = end.self_loop && body[n - 1].chain;
    body.push(end);
    (body.into_boxed_slice(), len)
}
