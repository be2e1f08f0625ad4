//! Lazy arithmetic flags. The specialized handlers record the last flag-setting operation
//! (kind, operands, result, size) instead of computing CF/PF/AF/ZF/SF/OF; the flags are
//! computed when something reads them. Only specialized handlers run with flags pending:
//! every generic handler, event delivery and the single-step path materialize them first,
//! so `rflags` is exact wherever the rest of the CPU looks at it.

use crate::cpu::X86Cpu;
use crate::exec::flags as fl;
use crate::exec::operand::{sign_bit, trunc};
use crate::state::flags::*;
use iced_x86::ConditionCode;

/// The pending flag-setting operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum LazyOp {
    /// Nothing pending: `rflags` holds the status flags.
    #[default]
    None,
    Add,
    Sub,
    Logic,
    /// INC/DEC keep CF: `b` holds the CF to keep.
    Inc,
    Dec,
    /// Shifts by a non-zero count `b` (already masked) of the original value `a`.
    Shl,
    Shr,
    Sar,
}

/// Operands of the pending operation.
#[derive(Copy, Clone, Debug, Default)]
pub struct Lazy {
    pub op: LazyOp,
    pub size: u8,
    pub a: u64,
    pub b: u64,
    pub r: u64,
    /// A later ROL/ROR replaced CF and OF: `CFOF_SET` plus the new CF/OF bits (0 if none).
    pub cfof: u64,
}

/// Marks [`Lazy::cfof`] as holding a CF/OF override.
pub const CFOF_SET: u64 = 1 << 63;

impl Lazy {
    /// The status flags the pending operation produces (SDM Vol 1 appendix A; shift flag
    /// policy as in `exec/shift.rs`).
    pub fn status(&self) -> u64 {
        let s = self.base_status();
        if self.cfof & CFOF_SET != 0 {
            (s & !(CF | OF)) | (self.cfof & (CF | OF))
        } else {
            s
        }
    }

    fn base_status(&self) -> u64 {
        let size = self.size as u64;
        let (a, b, r) = (self.a, self.b, self.r);
        match self.op {
            LazyOp::None => 0,
            LazyOp::Add => fl::add(a, b, 0, r, size),
            LazyOp::Sub => fl::sub(a, b, 0, r, size),
            LazyOp::Logic => fl::logic(r, size),
            LazyOp::Inc => (fl::add(a, 1, 0, r, size) & !CF) | (b & CF),
            LazyOp::Dec => (fl::sub(a, 1, 0, r, size) & !CF) | (b & CF),
            LazyOp::Shl => {
                let bits = size * 8;
                let cf = b <= bits && (a >> (bits - b)) & 1 != 0;
                let mut f = fl::szp(r, size);
                if cf {
                    f |= CF;
                }
                if ((r & sign_bit(size) != 0) as u64 ^ cf as u64) != 0 {
                    f |= OF;
                }
                f
            }
            LazyOp::Shr => {
                let bits = size * 8;
                let cf = b <= bits && (a >> (b - 1)) & 1 != 0;
                let mut f = fl::szp(r, size);
                if cf {
                    f |= CF;
                }
                if trunc(a, size) & sign_bit(size) != 0 {
                    f |= OF;
                }
                f
            }
            LazyOp::Sar => {
                let s = crate::exec::operand::sext(a, size) as i64;
                let cf = (s >> (b - 1).min(63)) & 1 != 0;
                fl::szp(r, size) | if cf { CF } else { 0 }
            }
        }
    }
}

impl X86Cpu {
    /// Computes pending flags into `rflags`.
    #[inline]
    pub fn materialize(&mut self) {
        if self.lazy.op != LazyOp::None {
            self.rflags = (self.rflags & !STATUS) | self.lazy.status();
            self.lazy.op = LazyOp::None;
        }
    }

    /// RFLAGS with any pending flags applied, without changing state.
    pub fn flags(&self) -> u64 {
        if self.lazy.op == LazyOp::None {
            self.rflags
        } else {
            (self.rflags & !STATUS) | self.lazy.status()
        }
    }

    /// The carry flag when it is cheap to find; `None` when only the full flag computation
    /// knows it (a pending shift), for which the caller takes its slow path.
    #[inline(always)]
    pub(crate) fn carry_fast(&self) -> Option<u64> {
        let l = &self.lazy;
        // The most frequent cases first (INC/DEC after a logic operation, in loops).
        if l.cfof & CFOF_SET != 0 && l.op != LazyOp::None {
            return Some(l.cfof & CF);
        }
        if l.op == LazyOp::Logic {
            return Some(0);
        }
        Some(match l.op {
            LazyOp::None => self.rflags & CF,
            LazyOp::Inc | LazyOp::Dec => l.b & CF,
            LazyOp::Add => {
                let m = trunc(u64::MAX, l.size as u64);
                ((l.r & m) < (l.a & m)) as u64
            }
            LazyOp::Sub => {
                let m = trunc(u64::MAX, l.size as u64);
                ((l.a & m) < (l.b & m)) as u64
            }
            _ => return None,
        })
    }

    /// Evaluates a condition code from the pending operation directly for the common ones;
    /// `None` when the flags must be computed first (the caller's slow path does).
    #[inline(always)]
    pub(crate) fn cond_fast(&self, cc: ConditionCode) -> Option<bool> {
        let l = &self.lazy;
        if l.op == LazyOp::None {
            return Some(self.cond(cc));
        }
        let size = l.size as u64;
        // Branch-free mask of the operand size (1, 2, 4 or 8 bytes).
        let m = u64::MAX >> (64 - 8 * size);
        let r = l.r & m;
        match cc {
            ConditionCode::e => return Some(r == 0),
            ConditionCode::ne => return Some(r != 0),
            ConditionCode::s => return Some(r & sign_bit(size) != 0),
            ConditionCode::ns => return Some(r & sign_bit(size) == 0),
            _ => {}
        }
        if l.op == LazyOp::Sub && l.cfof == 0 {
            let (a, b) = (l.a & m, l.b & m);
            let sa = crate::exec::operand::sext(a, size) as i64;
            let sb = crate::exec::operand::sext(b, size) as i64;
            return match cc {
                ConditionCode::b => Some(a < b),
                ConditionCode::ae => Some(a >= b),
                ConditionCode::be => Some(a <= b),
                ConditionCode::a => Some(a > b),
                ConditionCode::l => Some(sa < sb),
                ConditionCode::ge => Some(sa >= sb),
                ConditionCode::le => Some(sa <= sb),
                ConditionCode::g => Some(sa > sb),
                _ => None,
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_matches_eager_for_every_condition() {
        // Sub: compare lazily evaluated conditions with the materialized flags.
        let vals = [0u64, 1, 2, 0x7f, 0x80, 0xff, 0x7fff_ffff, 0x8000_0000, u64::MAX, 0x8000_0000_0000_0000];
        let ccs = [
            ConditionCode::o,
            ConditionCode::no,
            ConditionCode::b,
            ConditionCode::ae,
            ConditionCode::e,
            ConditionCode::ne,
            ConditionCode::be,
            ConditionCode::a,
            ConditionCode::s,
            ConditionCode::ns,
            ConditionCode::p,
            ConditionCode::np,
            ConditionCode::l,
            ConditionCode::ge,
            ConditionCode::le,
            ConditionCode::g,
        ];
        let mut cpu = crate::X86Cpu::new(crate::CpuidModel::new("max", &[]).unwrap(), 0, true, 0);
        for op in [LazyOp::Add, LazyOp::Sub, LazyOp::Logic, LazyOp::Inc, LazyOp::Dec] {
            for size in [1u8, 2, 4, 8] {
                for &a in &vals {
                    for &b in &vals {
                        let r = match op {
                            LazyOp::Add => a.wrapping_add(b),
                            LazyOp::Sub => a.wrapping_sub(b),
                            LazyOp::Logic => a ^ b,
                            LazyOp::Inc => a.wrapping_add(1),
                            _ => a.wrapping_sub(1),
                        };
                        let bb = if matches!(op, LazyOp::Inc | LazyOp::Dec) { b & CF } else { b };
                        for cfof in [0, CFOF_SET, CFOF_SET | CF, CFOF_SET | OF, CFOF_SET | CF | OF] {
                            for &cc in &ccs {
                                cpu.lazy = Lazy { op, size, a, b: bb, r, cfof };
                                let lazy = cpu.cond_fast(cc);
                                let c = cpu.carry_fast();
                                cpu.materialize();
                                if let Some(lazy) = lazy {
                                    assert_eq!(
                                        lazy,
                                        cpu.cond(cc),
                                        "{op:?} size {size} a {a:#x} b {b:#x} {cc:?}"
                                    );
                                }
                                // Only pending shifts need the full computation for CF.
                                assert_eq!(c, Some(cpu.rflags & CF), "{op:?} carry");
                                if cfof != 0 {
                                    assert_eq!(cpu.rflags & (CF | OF), cfof & (CF | OF));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
