//! Exception vectors and the fault type every instruction handler returns (SDM Vol 3A 6.3.1,
//! table 6-1).

/// Divide error.
pub const DE: u8 = 0;
/// Debug.
pub const DB: u8 = 1;
/// Non-maskable interrupt.
pub const NMI: u8 = 2;
/// Breakpoint.
pub const BP: u8 = 3;
/// Overflow.
pub const OF: u8 = 4;
/// BOUND range exceeded.
pub const BR: u8 = 5;
/// Invalid opcode.
pub const UD: u8 = 6;
/// Device not available.
pub const NM: u8 = 7;
/// Double fault.
pub const DF: u8 = 8;
/// Invalid TSS.
pub const TS: u8 = 10;
/// Segment not present.
pub const NP: u8 = 11;
/// Stack-segment fault.
pub const SS: u8 = 12;
/// General protection.
pub const GP: u8 = 13;
/// Page fault.
pub const PF: u8 = 14;
/// x87 floating-point error.
pub const MF: u8 = 16;
/// Alignment check.
pub const AC: u8 = 17;
/// Machine check.
pub const MC: u8 = 18;
/// SIMD floating-point exception.
pub const XM: u8 = 19;

/// An exception raised while executing an instruction: bits 0-7 the vector, bits 8-39 the
/// error code, bit 40 "has an error code", bit 63 always set. Non-zero, so a handler's
/// `Result<(), Fault>` is one register and `Ok(())` is zero.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Fault(std::num::NonZeroU64);

impl Fault {
    /// The vector number.
    #[inline]
    pub const fn vector(&self) -> u8 {
        self.0.get() as u8
    }

    /// Error code pushed on delivery, if the vector has one.
    #[inline]
    pub fn error(&self) -> Option<u32> {
        (self.0.get() & HAS_ERROR != 0).then_some((self.0.get() >> 8) as u32)
    }
}

impl std::fmt::Debug for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fault(vector {}, error {:?})", self.vector(), self.error())
    }
}

const HAS_ERROR: u64 = 1 << 40;
const MARK: u64 = 1 << 63;

/// Result of anything that can fault.
pub type X<T> = Result<T, Fault>;

/// A fault without an error code.
#[inline]
pub const fn exc(vector: u8) -> Fault {
    match std::num::NonZeroU64::new(MARK | vector as u64) {
        Some(v) => Fault(v),
        None => unreachable!(),
    }
}

/// A fault with an error code.
#[inline]
pub const fn exc_err(vector: u8, error: u32) -> Fault {
    match std::num::NonZeroU64::new(MARK | HAS_ERROR | (error as u64) << 8 | vector as u64) {
        Some(v) => Fault(v),
        None => unreachable!(),
    }
}

/// #GP(0).
pub const GP0: Fault = exc_err(GP, 0);
/// #UD.
pub const UD_: Fault = exc(UD);

/// Exception classes for double-fault detection (SDM Vol 3A table 6-4).
pub fn class(vector: u8) -> u8 {
    match vector {
        DE | TS | NP | SS | GP => 1, // contributory
        PF => 2,
        DF => 3,
        _ => 0, // benign
    }
}
