//! Instruction tracing: executed instructions disassembled with capstone (the disassembler
//! that will serve Power too), one line each: `cpu pc: bytes  text`.

use capstone::arch::x86::ArchMode;
use capstone::prelude::*;
use cpu_x86::X86Cpu;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Installs a trace hook on `cpu` that writes to `out`.
pub fn install(cpu: &mut X86Cpu, index: usize, out: Rc<RefCell<dyn Write>>) -> Result<(), String> {
    let mk = |m: ArchMode| Capstone::new().x86().mode(m).build().map_err(|e| format!("capstone: {e}"));
    let cs = [mk(ArchMode::Mode16)?, mk(ArchMode::Mode32)?, mk(ArchMode::Mode64)?];
    cpu.trace = Some(Box::new(move |c: &X86Cpu, i: &iced_x86_shim::Instruction| {
        let len = i.len().min(15);
        let bytes = &c.last_bytes[..len];
        let which = match c.mode().bitness() {
            16 => 0,
            32 => 1,
            _ => 2,
        };
        line(&mut *out.borrow_mut(), &cs[which], index, c.rip, bytes);
    }));
    Ok(())
}

/// Installs a trace hook on the AArch64 `cpu` that writes to `out`: one line per executed
/// instruction, the instruction word in memory byte order (little endian).
pub fn install_arm64(
    cpu: &mut cpu_arm64::Arm64Cpu,
    index: usize,
    out: Rc<RefCell<dyn Write>>,
) -> Result<(), String> {
    use capstone::arch::arm64::ArchMode as A64;
    let cs = Capstone::new().arm64().mode(A64::Arm).build().map_err(|e| format!("capstone: {e}"))?;
    cpu.trace = Some(Box::new(move |c: &cpu_arm64::Arm64Cpu, raw: u32| {
        line(&mut *out.borrow_mut(), &cs, index, c.pc, &raw.to_le_bytes());
    }));
    Ok(())
}

/// Writes one trace line: CPU index, address, the instruction's bytes and its disassembly.
fn line(out: &mut dyn Write, cs: &Capstone, index: usize, addr: u64, bytes: &[u8]) {
    let text = match cs.disasm_count(bytes, addr, 1) {
        Ok(insns) => insns
            .iter()
            .next()
            .map(|x| format!("{} {}", x.mnemonic().unwrap_or("?"), x.op_str().unwrap_or("")))
            .unwrap_or_else(|| "(undecodable)".into()),
        Err(_) => "(undecodable)".into(),
    };
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let _ = writeln!(out, "{index} {addr:016x}: {hex:<30} {}", text.trim_end());
}

/// Re-export of the decoder's instruction type used in the hook signature.
pub mod iced_x86_shim {
    pub use cpu_x86::cpu::TraceInstruction as Instruction;
}
