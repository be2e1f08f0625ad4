//! Instruction execution: one file per instruction family; [`execute`] dispatches on the
//! decoder's mnemonic to the family's handler.

mod alu;
mod bcd;
mod bits;
mod control;
mod data;
pub(crate) mod fast;
pub(crate) mod flags;
mod io;
pub(crate) mod operand;
mod shift;
pub(crate) mod simd;
mod string;
mod system;

use crate::cpu::X86Cpu;
use crate::fault::{UD_, X};
use crate::platform::X86Platform;
use iced_x86::{Instruction, Mnemonic as M, OpKind};

/// A handler executes one decoded instruction.
pub type Handler = fn(&mut X86Cpu, &mut dyn X86Platform, &Instruction) -> X<()>;

fn nop(_: &mut X86Cpu, _: &mut dyn X86Platform, _: &Instruction) -> X<()> {
    Ok(())
}

fn ud(_: &mut X86Cpu, _: &mut dyn X86Platform, _: &Instruction) -> X<()> {
    Err(UD_)
}

/// LOCK is valid only on these read-modify-write instructions with a memory destination
/// (SDM Vol 2A LOCK).
fn lockable(m: M) -> bool {
    matches!(
        m,
        M::Add
            | M::Adc
            | M::And
            | M::Btc
            | M::Btr
            | M::Bts
            | M::Cmpxchg
            | M::Cmpxchg8b
            | M::Cmpxchg16b
            | M::Dec
            | M::Inc
            | M::Neg
            | M::Not
            | M::Or
            | M::Sbb
            | M::Sub
            | M::Xor
            | M::Xadd
            | M::Xchg
    )
}

/// The handler for a mnemonic (decided once per decoded instruction).
pub fn handler_for(i: &Instruction) -> Handler {
    if i.has_lock_prefix() && (!lockable(i.mnemonic()) || i.op0_kind() != OpKind::Memory) {
        return ud;
    }
    match i.mnemonic() {
        M::Add | M::Or | M::Adc | M::Sbb | M::And | M::Sub | M::Xor | M::Cmp | M::Test => alu::binop,
        M::Inc | M::Dec | M::Neg | M::Not => alu::unop,
        M::Mul => alu::mul1,
        M::Imul if i.op_count() == 1 => alu::mul1,
        M::Imul => alu::imul_n,
        M::Div | M::Idiv => alu::div,
        M::Xadd => alu::xadd,
        M::Cmpxchg => alu::cmpxchg,
        M::Cmpxchg8b | M::Cmpxchg16b => alu::cmpxchg_wide,
        M::Adcx | M::Adox => alu::adcx_adox,
        M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Rcl | M::Rcr => shift::shift,
        M::Shld | M::Shrd => shift::shxd,
        M::Sarx | M::Shlx | M::Shrx | M::Rorx => shift::bmi2_shift,
        M::Bt | M::Bts | M::Btr | M::Btc => bits::bt,
        M::Bsf | M::Bsr | M::Tzcnt | M::Lzcnt | M::Popcnt => bits::bitscan,
        M::Bswap => bits::bswap,
        M::Movbe => bits::movbe,
        M::Andn | M::Bextr | M::Blsi | M::Blsmsk | M::Blsr | M::Bzhi | M::Pdep | M::Pext | M::Mulx => {
            bits::bmi
        }
        M::Mov => {
            let crdr = |k: OpKind, r: iced_x86::Register| k == OpKind::Register && (r.is_cr() || r.is_dr());
            if crdr(i.op0_kind(), i.op0_register()) || crdr(i.op1_kind(), i.op1_register()) {
                system::mov_crdr
            } else {
                data::mov
            }
        }
        M::Movzx | M::Movsx | M::Movsxd => data::movx,
        M::Lea => data::lea,
        M::Xchg => data::xchg,
        M::Push => data::push,
        M::Pop => data::pop,
        M::Pusha | M::Pushad => data::pusha,
        M::Popa | M::Popad => data::popa,
        M::Pushf | M::Pushfd | M::Pushfq => data::pushf,
        M::Popf | M::Popfd | M::Popfq => data::popf,
        M::Cbw | M::Cwde | M::Cdqe | M::Cwd | M::Cdq | M::Cqo => data::convert,
        M::Cmova
        | M::Cmovae
        | M::Cmovb
        | M::Cmovbe
        | M::Cmove
        | M::Cmovg
        | M::Cmovge
        | M::Cmovl
        | M::Cmovle
        | M::Cmovne
        | M::Cmovno
        | M::Cmovnp
        | M::Cmovns
        | M::Cmovo
        | M::Cmovp
        | M::Cmovs => data::cmov,
        M::Seta
        | M::Setae
        | M::Setb
        | M::Setbe
        | M::Sete
        | M::Setg
        | M::Setge
        | M::Setl
        | M::Setle
        | M::Setne
        | M::Setno
        | M::Setnp
        | M::Setns
        | M::Seto
        | M::Setp
        | M::Sets => data::setcc,
        M::Lahf | M::Sahf => data::lahf_sahf,
        M::Xlatb => data::xlat,
        M::Enter | M::Leave => data::enter_leave,
        M::Lds | M::Les | M::Lfs | M::Lgs | M::Lss => data::lxs,
        M::Rdrand | M::Rdseed => data::rdrand,
        M::Daa | M::Das => bcd::daa_das,
        M::Aaa | M::Aas => bcd::aaa_aas,
        M::Aam | M::Aad => bcd::aam_aad,
        M::Bound => bcd::bound,
        M::Jmp => control::jmp,
        _ if i.is_jcc_short_or_near() => control::jcc,
        M::Call => control::call,
        M::Ret => control::ret,
        M::Retf => control::retf,
        M::Loop | M::Loope | M::Loopne | M::Jcxz | M::Jecxz | M::Jrcxz => control::loop_,
        M::Int | M::Int3 | M::Into | M::Int1 => control::int,
        M::Iret | M::Iretd | M::Iretq => control::iret,
        M::Clc | M::Stc | M::Cmc | M::Cld | M::Std | M::Cli | M::Sti | M::Clac | M::Stac => control::flag_op,
        M::Hlt => control::hlt,
        M::Movsb
        | M::Movsw
        | M::Movsq
        | M::Stosb
        | M::Stosw
        | M::Stosd
        | M::Stosq
        | M::Lodsb
        | M::Lodsw
        | M::Lodsd
        | M::Lodsq
        | M::Cmpsb
        | M::Cmpsw
        | M::Cmpsq
        | M::Scasb
        | M::Scasw
        | M::Scasd
        | M::Scasq
        | M::Insb
        | M::Insw
        | M::Insd
        | M::Outsb
        | M::Outsw
        | M::Outsd => string::string,
        // MOVSD/CMPSD share their mnemonic with SSE2 forms: only the string encodings here.
        M::Movsd | M::Cmpsd if i.op0_kind() != OpKind::Register => string::string,
        M::In | M::Out => io::inout,
        M::Lgdt | M::Lidt | M::Sgdt | M::Sidt => system::dtr,
        M::Lldt | M::Ltr | M::Sldt | M::Str => system::ldt_tr,
        M::Clts | M::Lmsw | M::Smsw => system::cr0_ops,
        M::Rdmsr | M::Wrmsr => system::msr,
        M::Cpuid => system::cpuid,
        M::Rdtsc | M::Rdtscp | M::Rdpid => system::tsc,
        M::Invlpg | M::Invpcid => system::invlpg,
        M::Lar | M::Lsl | M::Verr | M::Verw => system::seg_query,
        M::Swapgs => system::swapgs,
        M::Syscall | M::Sysret | M::Sysretq => system::syscall,
        M::Sysenter | M::Sysexit | M::Sysexitq => system::sysenter,
        M::Rdfsbase | M::Rdgsbase | M::Wrfsbase | M::Wrgsbase => system::fsgsbase,
        M::Rdpkru | M::Wrpkru => system::pkru,
        M::Wbinvd | M::Invd => system::cache,
        M::Clflush | M::Clflushopt => system::clflush,
        M::Arpl => system::arpl,
        M::Nop
        | M::Pause
        | M::Lfence
        | M::Sfence
        | M::Mfence
        | M::Prefetchnta
        | M::Prefetcht0
        | M::Prefetcht1
        | M::Prefetcht2
        | M::Prefetchw
        | M::Endbr64
        | M::Endbr32 => nop,
        // x87, MMX, SSE*, XSAVE: see simd.rs.
        _ => simd::handler_for(i).unwrap_or(ud),
    }
}
