//! String instructions MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS with REP/REPE/REPNE (SDM Vol 2B,
//! "REP/REPE/REPZ/REPNE/REPNZ"). A repeated instruction runs in chunks: after at most
//! `CHUNK` iterations RIP stays on the instruction so interrupts can be taken in between, as the
//! architecture allows; registers always reflect the completed iterations, so faults are
//! restartable.

use super::flags as fl;
use super::operand::{sreg, trunc};
use crate::cpu::X86Cpu;
use crate::fault::X;
use crate::platform::X86Platform;
use crate::state::{flags::*, ES};
use iced_x86::{Instruction, Mnemonic, OpKind};

const CHUNK: u64 = 4096;

/// REP MOVS/STOS moving forward through RAM: whole runs of elements that stay inside one
/// page on each side are copied or filled at once, with the same segment-limit, paging and
/// self-modifying-code checks as element-wise execution (the architecture lets a repeated
/// string instruction run in any grouping of iterations, SDM Vol 1 7.3.9.3 "fast-string
/// operation"). Returns the iterations done; stops early (leaving the rest to the element
/// loop, which raises any fault precisely) at anything unusual: MMIO, a page-straddling
/// element, overlapping source and destination, address-size wrap-around.
fn bulk_copy(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    m: Mnemonic,
    src_seg: usize,
    asize: u64,
    size: u64,
    upd: &dyn Fn(&mut X86Cpu, usize, u64),
) -> X<u64> {
    use crate::mmu::Access;
    let movs = matches!(m, Mnemonic::Movsb | Mnemonic::Movsw | Mnemonic::Movsd | Mnemonic::Movsq);
    let amask = trunc(u64::MAX, asize);
    let mut done = 0u64;
    loop {
        let cnt = trunc(c.regs[1], asize);
        if cnt == 0 || done >= CHUNK * 16 {
            return Ok(done);
        }
        let di = trunc(c.regs[7], asize);
        let Ok(dla) = c.linear(ES, di, size, true) else { return Ok(done) };
        let mut k = cnt.min((0x1000 - (dla & 0xfff)) / size).min((amask - di) / size + 1);
        let si = trunc(c.regs[6], asize);
        let mut sla = 0;
        if movs {
            let Ok(l) = c.linear(src_seg, si, size, false) else { return Ok(done) };
            sla = l;
            k = k.min((0x1000 - (sla & 0xfff)) / size).min((amask - si) / size + 1);
        }
        if k == 0 {
            return Ok(done);
        }
        let bytes = k * size;
        // Segment limits for the whole run.
        if c.linear(ES, di, bytes, true).is_err() || (movs && c.linear(src_seg, si, bytes, false).is_err()) {
            return Ok(done);
        }
        let Ok(td) = c.translate(p, dla, Access::Write, false) else { return Ok(done) };
        if td.host.is_null() {
            return Ok(done);
        }
        let mut src_host = std::ptr::null_mut();
        if movs {
            let Ok(ts) = c.translate(p, sla, Access::Read, false) else { return Ok(done) };
            if ts.host.is_null() {
                return Ok(done);
            }
            // Forward element order differs from memmove when the destination starts inside
            // the source run: leave that to the element loop.
            if ts.pa < td.pa && td.pa < ts.pa + bytes {
                return Ok(done);
            }
            src_host = ts.host;
        }
        if td.code && p.ram().code_write(sim_core::GuestPhys(td.pa), bytes) {
            c.exit_block = true;
        }
        // SAFETY: both runs lie inside single RAM pages (k was bounded by the page ends and
        // the translations point at their first byte); an overlap is only possible with the
        // destination below the source, where `copy` (memmove) equals forward copying.
        unsafe {
            if movs {
                std::ptr::copy(src_host as *const u8, td.host, bytes as usize);
            } else {
                let v = c.regs[0].to_le_bytes();
                for e in 0..k as usize {
                    std::ptr::copy_nonoverlapping(v.as_ptr(), td.host.add(e * size as usize), size as usize);
                }
            }
        }
        upd(c, 7, bytes);
        if movs {
            upd(c, 6, bytes);
        }
        let rest = trunc(c.regs[1].wrapping_sub(k), asize);
        c.regs[1] = if asize == 2 { (c.regs[1] & !0xffff) | rest } else { rest };
        done += k;
    }
}

fn addr_size(i: &Instruction) -> u64 {
    for n in 0..i.op_count() {
        match i.op_kind(n) {
            OpKind::MemorySegSI | OpKind::MemoryESDI | OpKind::MemorySegDI => return 2,
            OpKind::MemorySegESI | OpKind::MemoryESEDI | OpKind::MemorySegEDI => return 4,
            OpKind::MemorySegRSI | OpKind::MemoryESRDI | OpKind::MemorySegRDI => return 8,
            _ => {}
        }
    }
    8
}

fn elem_size(i: &Instruction) -> u64 {
    match i.mnemonic() {
        Mnemonic::Movsb
        | Mnemonic::Stosb
        | Mnemonic::Lodsb
        | Mnemonic::Cmpsb
        | Mnemonic::Scasb
        | Mnemonic::Insb
        | Mnemonic::Outsb => 1,
        Mnemonic::Movsw
        | Mnemonic::Stosw
        | Mnemonic::Lodsw
        | Mnemonic::Cmpsw
        | Mnemonic::Scasw
        | Mnemonic::Insw
        | Mnemonic::Outsw => 2,
        Mnemonic::Movsq | Mnemonic::Stosq | Mnemonic::Lodsq | Mnemonic::Cmpsq | Mnemonic::Scasq => 8,
        _ => 4,
    }
}

/// All string instructions.
pub fn string(c: &mut X86Cpu, p: &mut dyn X86Platform, i: &Instruction) -> X<()> {
    let asize = addr_size(i);
    let size = elem_size(i);
    let rep = i.has_rep_prefix() || i.has_repne_prefix();
    let m = i.mnemonic();
    let src_seg = sreg(i.memory_segment());
    let step = if c.rflags & DF != 0 { size.wrapping_neg() } else { size };
    let port = c.regs[2] as u16;
    if matches!(
        m,
        Mnemonic::Insb
            | Mnemonic::Insw
            | Mnemonic::Insd
            | Mnemonic::Outsb
            | Mnemonic::Outsw
            | Mnemonic::Outsd
    ) {
        c.io_permitted(p, port, size)?;
    }
    let upd = |c: &mut X86Cpu, r: usize, d: u64| {
        let v = trunc(c.regs[r].wrapping_add(d), asize);
        c.regs[r] = if asize == 2 { (c.regs[r] & !0xffff) | v } else { v };
    };
    let mut n = 0u64;
    let bulk = rep
        && c.rflags & DF == 0
        && !c.data_bps
        && !(c.cpl == 3 && c.cr0 & crate::state::cr0::AM != 0 && c.rflags & AC != 0)
        && matches!(
            m,
            Mnemonic::Movsb
                | Mnemonic::Movsw
                | Mnemonic::Movsd
                | Mnemonic::Movsq
                | Mnemonic::Stosb
                | Mnemonic::Stosw
                | Mnemonic::Stosd
                | Mnemonic::Stosq
        );
    if bulk {
        n = bulk_copy(c, p, m, src_seg, asize, size, &upd)?;
        if trunc(c.regs[1], asize) == 0 {
            return Ok(());
        }
    }
    loop {
        if rep {
            if trunc(c.regs[1], asize) == 0 {
                return Ok(());
            }
            if n >= CHUNK {
                // Yield: re-execute this instruction for the remaining iterations.
                c.rip = c.rip.wrapping_sub(i.len() as u64);
                return Ok(());
            }
        }
        let si = trunc(c.regs[6], asize);
        let di = trunc(c.regs[7], asize);
        let mut stop = false;
        match m {
            Mnemonic::Movsb | Mnemonic::Movsw | Mnemonic::Movsd | Mnemonic::Movsq => {
                let v = c.read_mem(p, src_seg, si, size)?;
                c.write_mem(p, ES, di, size, v)?;
                upd(c, 6, step);
                upd(c, 7, step);
            }
            Mnemonic::Stosb | Mnemonic::Stosw | Mnemonic::Stosd | Mnemonic::Stosq => {
                c.write_mem(p, ES, di, size, trunc(c.regs[0], size))?;
                upd(c, 7, step);
            }
            Mnemonic::Lodsb | Mnemonic::Lodsw | Mnemonic::Lodsd | Mnemonic::Lodsq => {
                let v = c.read_mem(p, src_seg, si, size)?;
                let r = match size {
                    1 => iced_x86::Register::AL,
                    2 => iced_x86::Register::AX,
                    4 => iced_x86::Register::EAX,
                    _ => iced_x86::Register::RAX,
                };
                c.set_reg(r, v);
                upd(c, 6, step);
            }
            Mnemonic::Cmpsb | Mnemonic::Cmpsw | Mnemonic::Cmpsd | Mnemonic::Cmpsq => {
                let a = c.read_mem(p, src_seg, si, size)?;
                let b = c.read_mem(p, ES, di, size)?;
                let r = a.wrapping_sub(b);
                c.set_status(fl::sub(a, b, 0, r, size));
                upd(c, 6, step);
                upd(c, 7, step);
                stop = true;
            }
            Mnemonic::Scasb | Mnemonic::Scasw | Mnemonic::Scasd | Mnemonic::Scasq => {
                let a = trunc(c.regs[0], size);
                let b = c.read_mem(p, ES, di, size)?;
                let r = a.wrapping_sub(b);
                c.set_status(fl::sub(a, b, 0, r, size));
                upd(c, 7, step);
                stop = true;
            }
            Mnemonic::Insb | Mnemonic::Insw | Mnemonic::Insd => {
                // Check the destination before the port read has side effects.
                c.probe_write(p, ES, di, size)?;
                c.stats.pio_exits += 1;
                c.exit_block = true;
                p.sync(c.cycle_count());
                let v = p.pio_read(port, size as u8) as u64;
                c.write_mem(p, ES, di, size, v)?;
                upd(c, 7, step);
            }
            _ => {
                let v = c.read_mem(p, src_seg, si, size)?;
                c.stats.pio_exits += 1;
                c.exit_block = true;
                p.sync(c.cycle_count());
                p.pio_write(port, size as u8, v as u32);
                upd(c, 6, step);
            }
        }
        if !rep {
            return Ok(());
        }
        let cnt = trunc(c.regs[1].wrapping_sub(1), asize);
        c.regs[1] = if asize == 2 { (c.regs[1] & !0xffff) | cnt } else { cnt };
        n += 1;
        if stop {
            let zf = c.rflags & ZF != 0;
            if (i.has_repe_prefix() && !zf) || (i.has_repne_prefix() && zf) {
                return Ok(());
            }
        }
        if cnt == 0 {
            return Ok(());
        }
    }
}
