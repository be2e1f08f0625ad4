//! Operand access for decoded instructions: registers (with the legacy high-byte registers),
//! effective addresses (SDM Vol 2A 2.1.5, 3.7.5), memory and immediates.

use crate::cpu::X86Cpu;
use crate::fault::X;
use crate::platform::X86Platform;
use crate::state::*;
use iced_x86::{Instruction, OpKind, Register};

/// Maps a general-purpose register to (index in `regs`, width in bytes, high-byte flag).
#[inline]
pub fn gpr(r: Register) -> (usize, u64, bool) {
    let n = r as usize;
    if r.is_gpr64() {
        (n - Register::RAX as usize, 8, false)
    } else if r.is_gpr32() {
        (n - Register::EAX as usize, 4, false)
    } else if r.is_gpr16() {
        (n - Register::AX as usize, 2, false)
    } else {
        let k = n - Register::AL as usize;
        match k {
            0..=3 => (k, 1, false),
            4..=7 => (k - 4, 1, true),
            _ => (k - 4, 1, false),
        }
    }
}

/// Segment-register index of an iced segment register.
#[inline]
pub fn sreg(r: Register) -> usize {
    match r {
        Register::ES => ES,
        Register::CS => CS,
        Register::SS => SS,
        Register::DS => DS,
        Register::FS => FS,
        _ => GS,
    }
}

/// Truncates to `size` bytes.
#[inline]
pub fn trunc(v: u64, size: u64) -> u64 {
    crate::seg::mask(v, size)
}

/// Sign-extends the low `size` bytes.
#[inline]
pub fn sext(v: u64, size: u64) -> u64 {
    match size {
        1 => v as u8 as i8 as i64 as u64,
        2 => v as u16 as i16 as i64 as u64,
        4 => v as u32 as i32 as i64 as u64,
        _ => v,
    }
}

/// Sign bit of a `size`-byte value.
#[inline]
pub fn sign_bit(size: u64) -> u64 {
    1u64 << (size * 8 - 1)
}

impl X86Cpu {
    /// Reads a general-purpose register.
    #[inline]
    pub fn get_reg(&self, r: Register) -> u64 {
        let (i, size, hi) = gpr(r);
        if hi {
            (self.regs[i] >> 8) & 0xff
        } else {
            trunc(self.regs[i], size)
        }
    }

    /// Writes a general-purpose register: 32-bit writes zero the upper half, 8/16-bit writes
    /// merge (SDM Vol 1 3.4.1.1).
    #[inline]
    pub fn set_reg(&mut self, r: Register, v: u64) {
        let (i, size, hi) = gpr(r);
        let old = self.regs[i];
        self.regs[i] = match (size, hi) {
            (8, _) => v,
            (4, _) => v & 0xffff_ffff,
            (2, _) => (old & !0xffff) | (v & 0xffff),
            (1, true) => (old & !0xff00) | ((v & 0xff) << 8),
            _ => (old & !0xff) | (v & 0xff),
        };
    }

    /// Effective address (segment index, offset) of the instruction's memory operand.
    #[inline]
    pub(crate) fn ea(&self, i: &Instruction) -> (usize, u64) {
        let base = i.memory_base();
        let index = i.memory_index();
        let mut off = i.memory_displacement64();
        let asize: u64;
        if base == Register::RIP || base == Register::EIP {
            asize = if base == Register::EIP { 4 } else { 8 };
        } else {
            let mut a = 0;
            if base != Register::None {
                off = off.wrapping_add(self.get_reg(base));
                a = base.size() as u64;
            }
            if index != Register::None {
                off = off.wrapping_add(self.get_reg(index).wrapping_mul(i.memory_index_scale() as u64));
                a = index.size() as u64;
            }
            asize = if a != 0 {
                a
            } else {
                // Displacement-only operand: its size is the address size (iced reports 2, 4
                // or 8 here).
                match i.memory_displ_size() {
                    2 => 2,
                    4 => 4,
                    8 => 8,
                    _ => self.mode.bitness() as u64 / 8,
                }
            };
        }
        (sreg(i.memory_segment()), trunc(off, asize))
    }

    /// Size in bytes of operand `n`.
    #[inline]
    pub(crate) fn op_size(&self, i: &Instruction, n: u32) -> u64 {
        match i.op_kind(n) {
            OpKind::Register => i.op_register(n).size() as u64,
            OpKind::Memory => i.memory_size().size() as u64,
            OpKind::Immediate8 => 1,
            OpKind::Immediate16 | OpKind::Immediate8to16 => 2,
            OpKind::Immediate32 | OpKind::Immediate8to32 => 4,
            _ => 8,
        }
    }

    /// Reads operand `n` (`size` is the operation size used for memory operands).
    #[inline]
    pub(crate) fn read_op(&mut self, p: &mut dyn X86Platform, i: &Instruction, n: u32, size: u64) -> X<u64> {
        match i.op_kind(n) {
            OpKind::Register => Ok(self.get_reg(i.op_register(n))),
            OpKind::Memory => {
                let (s, off) = self.ea(i);
                self.read_mem(p, s, off, size)
            }
            _ => Ok(trunc(i.immediate(n), size)),
        }
    }

    /// Writes operand `n`.
    #[inline]
    pub(crate) fn write_op(
        &mut self,
        p: &mut dyn X86Platform,
        i: &Instruction,
        n: u32,
        size: u64,
        v: u64,
    ) -> X<()> {
        match i.op_kind(n) {
            OpKind::Register => {
                self.set_reg(i.op_register(n), v);
                Ok(())
            }
            _ => {
                let (s, off) = self.ea(i);
                self.write_mem(p, s, off, size, v)
            }
        }
    }

    /// The operand size of a near branch/stack operation.
    #[inline]
    pub(crate) fn stack_op_size(&self, i: &Instruction) -> u64 {
        match i.code().op_code().operand_size() {
            16 => 2,
            32 => 4,
            64 => 8,
            _ => {
                if self.mode == Mode::Long64 {
                    8
                } else if self.seg[CS].db() {
                    4
                } else {
                    2
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_table() {
        assert_eq!(gpr(Register::AL), (0, 1, false));
        assert_eq!(gpr(Register::AH), (0, 1, true));
        assert_eq!(gpr(Register::BH), (3, 1, true));
        assert_eq!(gpr(Register::SPL), (4, 1, false));
        assert_eq!(gpr(Register::DIL), (7, 1, false));
        assert_eq!(gpr(Register::R8L), (8, 1, false));
        assert_eq!(gpr(Register::R15L), (15, 1, false));
        assert_eq!(gpr(Register::R9W), (9, 2, false));
        assert_eq!(gpr(Register::R10D), (10, 4, false));
        assert_eq!(gpr(Register::RSP), (4, 8, false));
    }
}
