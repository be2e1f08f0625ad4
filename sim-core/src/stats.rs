//! Per-CPU statistics, serialisable for `--stats`.

use serde::Serialize;

/// Counters kept by every CPU model.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct CpuStats {
    /// Instructions retired.
    pub instructions: u64,
    /// Cycles consumed (functional mode: one per instruction plus I/O latency).
    pub cycles: u64,
    /// Exceptions delivered, by vector (faults, traps, aborts; not external interrupts).
    #[serde(serialize_with = "ser_vectors")]
    pub exceptions: Vec<u64>,
    /// External interrupts delivered.
    pub interrupts: u64,
    /// Port-I/O accesses that left the CPU.
    pub pio_exits: u64,
    /// MMIO accesses that left the CPU.
    pub mmio_exits: u64,
    /// Times the CPU halted (HLT, WFI, ...).
    pub halts: u64,
}

fn ser_vectors<S: serde::Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(None)?;
    for (i, n) in v.iter().enumerate().filter(|(_, n)| **n != 0) {
        m.serialize_entry(&i.to_string(), n)?;
    }
    m.end()
}

impl CpuStats {
    /// Fresh counters with room for 256 exception vectors.
    pub fn new() -> Self {
        Self { exceptions: vec![0; 256], ..Default::default() }
    }
    /// Counts one exception with `vector`.
    #[inline]
    pub fn count_exception(&mut self, vector: u8) {
        if self.exceptions.len() < 256 {
            self.exceptions.resize(256, 0);
        }
        self.exceptions[vector as usize] += 1;
    }
}
