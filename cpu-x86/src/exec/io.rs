//! IN/OUT with the I/O privilege and I/O permission bitmap checks (SDM Vol 1 19.5).

use crate::cpu::X86Cpu;
use crate::fault::{GP0, X};
use crate::platform::X86Platform;
use crate::state::{flags, Mode};
use iced_x86::{Instruction, Mnemonic, OpKind};

impl X86Cpu {
    /// Checks that `size` bytes at `port` may be accessed at the current CPL.
    pub(crate) fn io_permitted(&mut self, p: &mut dyn X86Platform, port: u16, size: u64) -> X<()> {
        if self.mode == Mode::Real || self.cpl as u64 <= (self.rflags & flags::IOPL) >> 12 {
            return Ok(());
        }
        // The I/O permission bitmap in the TSS (32-bit or 64-bit TSS only).
        let tr = self.tr;
        if tr.typ() & 0x8 == 0 || tr.limit < 0x67 {
            return Err(GP0);
        }
        let map = self.read_sys(p, tr.base + 0x66, 2)?;
        let byte = map + port as u64 / 8;
        if byte + 1 > tr.limit as u64 {
            return Err(GP0);
        }
        let bits = self.read_sys(p, tr.base + byte, 2)?;
        let mask = ((1u64 << size) - 1) << (port % 8);
        if bits & mask != 0 {
            return Err(GP0);
        }
        Ok(())
    }
}

/// IN and OUT (immediate or DX port).
pub fn inout(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let is_in = i.mnemonic() == Mnemonic::In;
    let (port_op, data_op) = if is_in { (1, 0) } else { (0, 1) };
    let port =
        if i.op_kind(port_op) == OpKind::Register { c.regs[2] as u16 } else { i.immediate(port_op) as u16 };
    let reg = i.op_register(data_op);
    let size = reg.size() as u64;
    c.io_permitted(p, port, size)?;
    c.stats.pio_exits += 1;
    p.sync(c.cycle_count());
    if is_in {
        let v = p.pio_read(port, size as u8) as u64;
        c.set_reg(reg, v);
    } else {
        let v = c.get_reg(reg);
        p.pio_write(port, size as u8, v as u32);
    }
    Ok(())
}
