//! Interrupt messages exchanged between the IOAPIC, the local APICs and the board.
//!
//! On a real machine these travel on the system bus (or the 3-wire APIC bus on P6);
//! here the board carries them: it collects an [`ApicMessage`] from the sender (an IOAPIC
//! redirection entry or a local APIC's ICR), expands the [`Shorthand`] (only the board knows
//! which CPU sent it), matches the destination on every local APIC with
//! [`crate::Lapic::matches`] and hands the message to [`crate::Lapic::deliver`].

/// Delivery mode of an interrupt message (SDM Vol 3A 11.6.1, ICR bits 10:8; 82093AA IOAPIC
/// datasheet 3.2.4, redirection-table bits 10:8 use the same encoding).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryMode {
    /// 000: deliver the vector to the destination(s).
    Fixed,
    /// 001: deliver to the destination with the lowest priority (the board arbitrates).
    LowestPriority,
    /// 010: system management interrupt.
    Smi,
    /// 100: non-maskable interrupt (vector ignored).
    Nmi,
    /// 101: INIT (vector ignored).
    Init,
    /// 110: start-up IPI; the vector is the start page number.
    StartUp,
    /// 111: external interrupt; the vector comes from an 8259A-compatible PIC.
    ExtInt,
}

impl DeliveryMode {
    /// Decodes the 3-bit field; `None` for the reserved encoding 011.
    pub fn from_bits(bits: u32) -> Option<Self> {
        // SDM Vol 3A 11.6.1, Figure 11-12: delivery-mode encodings.
        Some(match bits & 7 {
            0 => Self::Fixed,
            1 => Self::LowestPriority,
            2 => Self::Smi,
            4 => Self::Nmi,
            5 => Self::Init,
            6 => Self::StartUp,
            7 => Self::ExtInt,
            _ => return None,
        })
    }

    /// The 3-bit encoding.
    pub fn bits(self) -> u32 {
        match self {
            Self::Fixed => 0,
            Self::LowestPriority => 1,
            Self::Smi => 2,
            Self::Nmi => 4,
            Self::Init => 5,
            Self::StartUp => 6,
            Self::ExtInt => 7,
        }
    }
}

/// Destination shorthand of an IPI (SDM Vol 3A 11.6.1, ICR bits 19:18).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Shorthand {
    /// 00: use the destination field.
    #[default]
    None,
    /// 01: the sending APIC only.
    SelfOnly,
    /// 10: every APIC, the sender included.
    AllIncludingSelf,
    /// 11: every APIC but the sender.
    AllExcludingSelf,
}

impl Shorthand {
    /// Decodes the 2-bit field.
    pub fn from_bits(bits: u32) -> Self {
        match bits & 3 {
            0 => Self::None,
            1 => Self::SelfOnly,
            2 => Self::AllIncludingSelf,
            _ => Self::AllExcludingSelf,
        }
    }
}

/// One interrupt message for the local APICs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApicMessage {
    /// Destination: an APIC ID (physical) or a logical mask; 8 bits in xAPIC mode (0xff is
    /// broadcast), 32 bits in x2APIC mode (0xffff_ffff is broadcast).
    pub dest: u32,
    /// Logical destination mode (ICR/redirection entry bit 11).
    pub logical: bool,
    /// Destination shorthand; always [`Shorthand::None`] from an IOAPIC.
    pub shorthand: Shorthand,
    /// Delivery mode.
    pub mode: DeliveryMode,
    /// Vector (fixed, lowest priority) or start page (start-up).
    pub vector: u8,
    /// Level: `true` = assert. An INIT with `level == false` and `trigger_level` is the
    /// "INIT level de-assert" message, which only resynchronises arbitration IDs.
    pub level: bool,
    /// Trigger mode: `true` = level-triggered (the receiving APIC sets the TMR bit and the
    /// EOI must be forwarded to the IOAPIC).
    pub trigger_level: bool,
}

impl ApicMessage {
    /// A fixed, edge-triggered, physical-destination interrupt.
    pub fn fixed(dest: u32, vector: u8) -> Self {
        Self {
            dest,
            logical: false,
            shorthand: Shorthand::None,
            mode: DeliveryMode::Fixed,
            vector,
            level: true,
            trigger_level: false,
        }
    }
}

/// What a write to a local APIC register asks the board to do.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ApicAction {
    /// Send this IPI (written to the ICR); the board expands the shorthand.
    SendIpi(ApicMessage),
    /// An EOI retired this level-triggered vector: broadcast it to the IOAPICs
    /// ([`crate::Ioapic::eoi`]); SDM Vol 3A 11.8.5.
    LevelEoi(u8),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_mode_round_trip() {
        for b in 0..8 {
            match DeliveryMode::from_bits(b) {
                Some(m) => assert_eq!(m.bits(), b),
                None => assert_eq!(b, 3),
            }
        }
        assert_eq!(Shorthand::from_bits(3), Shorthand::AllExcludingSelf);
        assert_eq!(Shorthand::from_bits(1), Shorthand::SelfOnly);
        let m = ApicMessage::fixed(1, 0x30);
        assert!(!m.logical && !m.trigger_level && m.mode == DeliveryMode::Fixed);
    }
}
