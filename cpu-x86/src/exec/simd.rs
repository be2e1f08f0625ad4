//! Dispatch for x87, SSE-family and XSAVE-family instructions, plus the checks and operand
//! helpers they share (SDM Vol 1 chapters 8-13, Vol 3A 2.5 CR0/CR4 control bits).
//!
//! * `simd/softfloat.rs`: the software IEEE 754 arithmetic (exact, host independent).
//! * `simd/x87.rs`: the x87 FPU.
//! * `simd/sse.rs`: SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2 (and CRC32, PCLMULQDQ).
//! * `simd/xsave.rs`: FXSAVE/FXRSTOR, XSAVE/XRSTOR, XGETBV/XSETBV, LDMXCSR/STMXCSR.
//!
//! MMX is not implemented: every instruction with an MMX register operand raises #UD and
//! CPUID does not advertise MMX.

mod softfloat;
mod sse;
pub(crate) mod x87;
mod xsave;

use super::Handler;
use crate::cpu::X86Cpu;
use crate::cpuid::Feature;
use crate::fault::{exc, GP0, NM, UD_, X};
use crate::platform::X86Platform;
use crate::state::{cr0, cr4};
use iced_x86::{CpuidFeature as CF, EncodingKind, Instruction, Mnemonic as M, OpKind};

/// The handler for a floating-point or vector instruction, if it is implemented.
pub fn handler_for(i: &Instruction) -> Option<Handler> {
    if i.encoding() != EncodingKind::Legacy {
        return None; // VEX/EVEX/XOP/3DNow!: AVX and later are not implemented.
    }
    let has_mm = (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Register && i.op_register(n).is_mm());
    if has_mm {
        return None; // MMX is not implemented.
    }
    match i.mnemonic() {
        M::Fxsave | M::Fxsave64 | M::Fxrstor | M::Fxrstor64 => Some(xsave::fxsave_fxrstor),
        M::Xsave | M::Xsave64 | M::Xrstor | M::Xrstor64 => Some(xsave::xsave_xrstor),
        M::Xgetbv | M::Xsetbv => Some(xsave::xgetbv_xsetbv),
        M::Ldmxcsr | M::Stmxcsr => Some(xsave::ldst_mxcsr),
        M::Wait => Some(x87::fwait),
        m if x87::is_x87(i, m) => Some(x87::exec),
        _ if i.cpuid_features().iter().any(|f| {
            matches!(f, CF::SSE | CF::SSE2 | CF::SSE3 | CF::SSSE3 | CF::SSE4_1 | CF::SSE4_2 | CF::PCLMULQDQ)
        }) =>
        {
            Some(sse::exec)
        }
        _ => None,
    }
}

/// True if every CPUID feature the instruction needs is enabled in the model.
pub(crate) fn features_ok(c: &X86Cpu, i: &Instruction) -> bool {
    i.cpuid_features().iter().all(|f| {
        let need = match f {
            CF::SSE => Feature::Sse,
            CF::SSE2 => Feature::Sse2,
            CF::SSE3 => Feature::Sse3,
            CF::SSSE3 => Feature::Ssse3,
            CF::SSE4_1 => Feature::Sse41,
            CF::SSE4_2 => Feature::Sse42,
            CF::PCLMULQDQ => Feature::Pclmulqdq,
            CF::FPU | CF::FPU287 | CF::FPU387 => Feature::Fpu,
            CF::FXSR => Feature::Fxsr,
            CF::XSAVE => Feature::Xsave,
            CF::CMOV => Feature::Cmov,
            CF::POPCNT => Feature::Popcnt,
            CF::INTEL8086 | CF::INTEL186 | CF::INTEL286 | CF::INTEL386 | CF::INTEL486 | CF::X64 => {
                return true
            }
            _ => return false,
        };
        c.cpuid.has(need)
    })
}

/// The checks every SSE-family instruction makes first (SDM Vol 3A 13.1 / Vol 2 "Exceptions
/// type" tables): #UD if the feature is absent, CR0.EM=1 or CR4.OSFXSR=0; #NM if CR0.TS=1.
pub(crate) fn sse_avail(c: &X86Cpu, i: &Instruction) -> X<()> {
    if !features_ok(c, i) || c.cr0 & cr0::EM != 0 || c.cr4 & cr4::OSFXSR == 0 {
        return Err(UD_);
    }
    if c.cr0 & cr0::TS != 0 {
        return Err(exc(NM));
    }
    Ok(())
}

/// Reads `size` (1..=16) bytes at `seg:off` as a little-endian value.
pub(crate) fn read_bytes(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    seg: usize,
    off: u64,
    size: u64,
) -> X<u128> {
    if size <= 8 {
        return Ok(c.read_mem(p, seg, off, size.max(1))? as u128);
    }
    let lo = c.read_mem(p, seg, off, 8)? as u128;
    let hi = c.read_mem(p, seg, off.wrapping_add(8), size - 8)? as u128;
    Ok(lo | (hi << 64))
}

/// Writes `size` (1..=16) bytes at `seg:off`; the whole range is checked first so a fault
/// leaves memory unchanged.
pub(crate) fn write_bytes(
    c: &mut X86Cpu,
    p: &mut dyn X86Platform,
    seg: usize,
    off: u64,
    size: u64,
    v: u128,
) -> X<()> {
    if size <= 8 {
        return c.write_mem(p, seg, off, size.max(1), v as u64);
    }
    c.probe_write(p, seg, off, size)?;
    c.write_mem(p, seg, off, 8, v as u64)?;
    c.write_mem(p, seg, off.wrapping_add(8), size - 8, (v >> 64) as u64)
}

/// #GP(0) unless `seg:off` is aligned to `align` bytes (in the linear address space).
pub(crate) fn check_aligned(c: &X86Cpu, seg: usize, off: u64, size: u64, align: u64) -> X<()> {
    let la = c.linear(seg, off, size.max(1), false)?;
    if la & (align - 1) != 0 {
        return Err(GP0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::fault;
    use crate::testing::{long_mode_cpu, MockPlatform};
    use crate::X86Cpu;
    use iced_x86::{Code, Encoder, Instruction as I, MemoryOperand, Register as R};
    use sim_core::GuestPhys;

    fn mem(base: R, disp: i64) -> MemoryOperand {
        MemoryOperand::with_base_displ(base, disp)
    }

    /// Assembles `ins`, runs them (one step each) with SSE enabled and no IDT.
    fn run(ins: &[I], setup: impl FnOnce(&mut X86Cpu, &mut MockPlatform)) -> (X86Cpu, MockPlatform) {
        let mut e = Encoder::new(64);
        let mut code = Vec::new();
        for i in ins {
            e.encode(i, 0x1000 + code.len() as u64).expect("encode");
            code.extend(e.take_buffer());
        }
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &code);
        let mut c = long_mode_cpu(&mut p, 0x1000);
        c.cr4 |= crate::state::cr4::OSFXSR | crate::state::cr4::OSXMMEXCPT;
        c.idtr.limit = 0;
        c.regs[3] = 0x4000; // RBX: data area
        setup(&mut c, &mut p);
        for _ in 0..ins.len() {
            c.step(&mut p);
        }
        (c, p)
    }

    fn faulted(c: &X86Cpu, v: u8) -> bool {
        c.stats.exceptions[v as usize] == 1
    }

    #[test]
    fn fxsave_layout() {
        let ins = [
            I::with(Code::Fninit),
            I::with(Code::Fld1),
            I::with1(Code::Fxsave_m512byte, mem(R::RBX, 0)).expect("i"),
        ];
        let (_, p) = run(&ins, |c, _| {
            c.fpu.xmm[1] = 0x0011_2233_4455_6677_8899_aabb_ccdd_eeff;
            c.fpu.mxcsr = 0x1fa0;
        });
        let b = p.ram.slice(GuestPhys(0x4000), 512).expect("ram").to_vec();
        assert_eq!(&b[0..2], &[0x7f, 0x03]); // FCW
        assert_eq!(&b[2..4], &[0x00, 0x38]); // FSW: TOP = 7
        assert_eq!(b[4], 0x80); // abridged tag: R7 valid
        assert_eq!(&b[24..32], &[0xa0, 0x1f, 0, 0, 0xff, 0xff, 0, 0]); // MXCSR, MXCSR_MASK
        assert_eq!(&b[32..42], &[0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]); // ST0 = 1.0
        assert_eq!(
            u128::from_le_bytes(b[176..192].try_into().expect("16")),
            0x0011_2233_4455_6677_8899_aabb_ccdd_eeff
        );
    }

    #[test]
    fn unmasked_simd_exception_is_xm_or_ud() {
        let div = [I::with2(Code::Divsd_xmm_xmmm64, R::XMM0, R::XMM1).expect("i")];
        let setup = |c: &mut X86Cpu, _: &mut MockPlatform| {
            c.fpu.mxcsr = 0x1f80 & !0x200; // ZM unmasked
            c.fpu.xmm[0] = 1.0f64.to_bits() as u128;
        };
        let (c, _) = run(&div, setup);
        assert!(faulted(&c, fault::XM));
        assert_eq!(c.fpu.xmm[0], 1.0f64.to_bits() as u128, "destination unchanged");
        assert_ne!(c.fpu.mxcsr & 4, 0, "ZE set");
        let (c, _) = run(&div, |c, p| {
            setup(c, p);
            c.cr4 &= !crate::state::cr4::OSXMMEXCPT;
        });
        assert!(faulted(&c, fault::UD));
    }

    #[test]
    fn control_register_gating_and_alignment() {
        let addps = [I::with2(Code::Addps_xmm_xmmm128, R::XMM0, R::XMM1).expect("i")];
        let (c, _) = run(&addps, |c, _| c.cr0 |= crate::state::cr0::EM);
        assert!(faulted(&c, fault::UD));
        let (c, _) = run(&addps, |c, _| c.cr4 &= !crate::state::cr4::OSFXSR);
        assert!(faulted(&c, fault::UD));
        let (c, _) = run(&addps, |c, _| c.cr0 |= crate::state::cr0::TS);
        assert!(faulted(&c, fault::NM));
        let (c, _) = run(&[I::with(Code::Fld1)], |c, _| c.cr0 |= crate::state::cr0::EM);
        assert!(faulted(&c, fault::NM));
        let movaps = [I::with2(Code::Movaps_xmm_xmmm128, R::XMM0, mem(R::RBX, 8)).expect("i")];
        let (c, _) = run(&movaps, |_, _| {});
        assert!(faulted(&c, fault::GP));
        let movups = [I::with2(Code::Movups_xmm_xmmm128, R::XMM0, mem(R::RBX, 8)).expect("i")];
        let (c, _) = run(&movups, |_, p| {
            p.ram.write(GuestPhys(0x4008), &[7; 16]);
        });
        assert_eq!(c.fpu.xmm[0], u128::from_le_bytes([7; 16]));
        // MOVSS from memory zeroes the upper lanes; register to register merges.
        let movss = [I::with2(Code::Movss_xmm_xmmm32, R::XMM0, mem(R::RBX, 0)).expect("i")];
        let (c, _) = run(&movss, |c, p| {
            c.fpu.xmm[0] = u128::MAX;
            p.ram.write(GuestPhys(0x4000), &[1, 2, 3, 4, 5, 6, 7, 8]);
        });
        assert_eq!(c.fpu.xmm[0], 0x0403_0201);
    }

    #[test]
    fn mxcsr_and_xcr0_rules() {
        let ld = [I::with1(Code::Ldmxcsr_m32, mem(R::RBX, 0)).expect("i")];
        let (c, _) = run(&ld, |_, p| {
            p.ram.write(GuestPhys(0x4000), &[0x80, 0x1f, 1, 0]);
        });
        assert!(faulted(&c, fault::GP));
        let (c, _) = run(&ld, |_, p| {
            p.ram.write(GuestPhys(0x4000), &[0xc0, 0x9f, 0, 0]);
        });
        assert_eq!(c.fpu.mxcsr, 0x9fc0);
        let xset = [I::with(Code::Xsetbv)];
        let (c, _) = run(&xset, |c, _| c.regs[0] = 3);
        assert!(faulted(&c, fault::UD), "needs CR4.OSXSAVE");
        let osx = |c: &mut X86Cpu| {
            c.cr4 |= crate::state::cr4::OSXSAVE;
            c.regs[1] = 0;
            c.regs[2] = 0;
        };
        let (c, _) = run(&xset, |c, _| {
            osx(c);
            c.regs[0] = 3;
        });
        assert_eq!(c.xcr0, 3);
        for bad in [2u64, 7, 5, 0x1_0000_0003] {
            let (c, _) = run(&xset, |c, _| {
                osx(c);
                c.regs[0] = bad & 0xffff_ffff;
                c.regs[2] = bad >> 32;
            });
            assert!(faulted(&c, fault::GP), "XCR0={bad:#x}");
        }
        let (c, _) = run(&xset, |c, _| {
            osx(c);
            c.regs[0] = 3;
            c.cpl = 3;
        });
        assert!(faulted(&c, fault::GP), "privileged");
    }

    #[test]
    fn x87_unmasked_exception_is_deferred_to_next_wait() {
        // FLDZ; FLD1; FDIV ST0, ST1 (1/0, ZM unmasked) -> ES; FADD -> #MF.
        let ins = [
            I::with(Code::Fldz),
            I::with(Code::Fld1),
            I::with2(Code::Fdiv_st0_sti, R::ST0, R::ST1).expect("i"),
            I::with2(Code::Fadd_st0_sti, R::ST0, R::ST1).expect("i"),
        ];
        let (c, _) = run(&ins, |c, _| c.fpu.fcw = 0x037b);
        assert_ne!(c.fpu.fsw & 0x84, 0, "ZE and ES set");
        assert!(faulted(&c, fault::MF));
        assert_eq!(crate::exec::simd::x87::st_bits(&c, 0), 0x3fff_8000_0000_0000_0000, "ST0 unchanged");
    }

    #[test]
    fn fist_rounding_control() {
        // FLD qword [rbx]; FISTP dword [rbx+8] under each RC.
        let ins = [
            I::with1(Code::Fld_m64fp, mem(R::RBX, 0)).expect("i"),
            I::with1(Code::Fistp_m32int, mem(R::RBX, 8)).expect("i"),
        ];
        for (rc, x, want) in
            [(0u16, -2.5f64, -2i32), (1, -2.5, -3), (2, 2.1, 3), (3, -2.7, -2), (0, 3e10, i32::MIN)]
        {
            let (_, p) = run(&ins, |c, p| {
                c.fpu.fcw = 0x037f | rc << 10;
                p.ram.write(GuestPhys(0x4000), &x.to_le_bytes());
            });
            let got =
                i32::from_le_bytes(p.ram.slice(GuestPhys(0x4008), 4).expect("ram").try_into().expect("4"));
            assert_eq!(got, want, "rc={rc} x={x}");
        }
    }
}
