//! Dispatch for x87, MMX, SSE-family and XSAVE-family instructions. None are implemented
//! yet: every such instruction raises #UD and CPUID advertises none of them.

use super::Handler;
use iced_x86::Instruction;

/// The handler for a floating-point or vector instruction, if it is implemented.
pub fn handler_for(_i: &Instruction) -> Option<Handler> {
    None
}
