//! Builds a `pc` machine through the library API, boots the compute guest with a command line,
//! and reads its statistics.
//!
//! Run with `cargo run --release --example run_pc`.

use chimera::machine::pc::{BootImage, PcConfig, PcMachine, SerialOut};
use std::cell::RefCell;
use std::rc::Rc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serial = Rc::new(RefCell::new(Vec::new()));
    let cfg = PcConfig {
        ram_size: 64 << 20,
        cpus: 1,
        cpu_model: "max".into(),
        serial: SerialOut::Buffer(serial.clone()),
        ..PcConfig::default()
    };
    let mut machine = PcMachine::new(cfg)?;
    let kernel = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/guests/x86/bin/compute.elf"))?;
    machine.load(&BootImage { kernel, cmdline: "iters=1000000".into(), modules: vec![], initrd: None })?;
    let outcome = machine.run(Some(100_000_000), None);
    print!("{}", String::from_utf8_lossy(&serial.borrow()));
    println!("exit: {:?} (status {})", outcome.exit, outcome.exit.status());
    println!(
        "{} instructions, {} virtual cycles, {:.1} MIPS",
        outcome.instructions,
        outcome.cycles,
        outcome.mips()
    );
    let s = &machine.cpus[0].stats;
    println!(
        "cpu0: {} port I/O exits, {} MMIO exits, {} interrupts",
        s.pio_exits, s.mmio_exits, s.interrupts
    );
    Ok(())
}
