//! x87 FPU, MMX and SSE register state (SDM Vol 1 chapters 8-11).

/// Floating-point and vector register state. The x87 registers hold 80-bit extended values
/// in their memory layout (64-bit significand, then sign and exponent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FpuState {
    /// x87 control word (FINIT value 0x037f).
    pub fcw: u16,
    /// x87 status word.
    pub fsw: u16,
    /// Full x87 tag word (2 bits per physical register; 3 = empty).
    pub ftw: u16,
    /// Physical registers R0-R7 as 80-bit values (ST(i) = R[(TOP + i) % 8]).
    pub st: [[u8; 10]; 8],
    /// Last instruction pointer, operand pointer and opcode.
    pub fip: u64,
    pub fcs: u16,
    pub fdp: u64,
    pub fds: u16,
    pub fop: u16,
    /// MXCSR (reset value 0x1f80).
    pub mxcsr: u32,
    /// XMM0-XMM15.
    pub xmm: [u128; 16],
}

impl Default for FpuState {
    /// The power-on state (SDM Vol 3A table 9-1): FCW 0x0040, tags empty, MXCSR 0x1f80.
    fn default() -> Self {
        Self {
            fcw: 0x0040,
            fsw: 0,
            ftw: 0xffff,
            st: [[0; 10]; 8],
            fip: 0,
            fcs: 0,
            fdp: 0,
            fds: 0,
            fop: 0,
            mxcsr: 0x1f80,
            xmm: [0; 16],
        }
    }
}
