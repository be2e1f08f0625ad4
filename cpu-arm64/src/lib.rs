//! AArch64 CPU model (placeholder while the crate is being built).
