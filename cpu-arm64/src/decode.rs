//! Instruction decode: `yaxpeax-arm` classifies each A64 word; the handler chosen for its
//! opcode reads the encoding's fields itself (Arm ARM C4.1 encoding index), so the decoded
//! form is just (handler, instruction word). Blocks of decoded instructions end at branches,
//! exception-generating and system instructions, and at the end of the 4 KiB page.

use crate::cpu::Arm64Cpu;
use crate::exception::Exc;
use crate::exec::{branch, dp, ldst, system};
use crate::platform::Arm64Platform;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{InstDecoder, Instruction, Opcode as O};

/// An instruction handler: executes the instruction word at `cpu.pc`.
pub type Handler = fn(&mut Arm64Cpu, &mut dyn Arm64Platform, u32) -> Result<(), Exc>;

/// One decoded instruction.
#[derive(Copy, Clone)]
pub struct Decoded {
    /// The handler for its encoding class.
    pub f: Handler,
    /// The instruction word.
    pub raw: u32,
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
    let mut i = Instruction::default();
    let bytes = raw.to_le_bytes();
    if InstDecoder::default().decode_into(&mut i, &mut U8Reader::new(&bytes)).is_err() {
        return (undef, true);
    }
    // Loads and stores with V (bit 26) set are FP/SIMD: not implemented (ID_AA64PFR0_EL1.FP
    // = 0xf), so UNDEFINED.
    let simd = raw & (1 << 26) != 0 && (raw >> 25) & 5 == 4;
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
        _ if simd => (undef, true),
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

/// Decodes the block at host pointer `host` (physical `pa`): at most
/// [`MAX_BLOCK`] instructions, not past the page end. Returns the body and its length in
/// bytes.
///
/// # Safety
/// `host` must point at byte `pa & 0xfff` of a readable 4 KiB page of guest RAM.
pub unsafe fn decode_block(host: *mut u8, pa: u64) -> (Box<[Decoded]>, u64) {
    let avail = ((0x1000 - (pa & 0xfff)) / 4) as usize;
    let mut body = Vec::with_capacity(avail.min(MAX_BLOCK));
    for k in 0..avail.min(MAX_BLOCK) {
        // SAFETY: `host` points at byte `pa & 0xfff` of a 4 KiB RAM page; `k * 4 + 4` bytes
        // stay within it (`avail` words remain).
        let raw = unsafe { u32::from_le(std::ptr::read_unaligned(host.add(k * 4) as *const u32)) };
        let (f, end) = classify(raw);
        body.push(Decoded { f, raw });
        if end {
            break;
        }
    }
    let len = body.len() as u64 * 4;
    (body.into_boxed_slice(), len)
}
