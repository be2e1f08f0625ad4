//! Guests cannot hurt the host: random instruction bytes executed in every mode, with random
//! registers and control state, must end in architectural outcomes (faults, shutdown, halt),
//! never a host panic. Debug builds also check every arithmetic overflow.

use cpu_x86::testing::{long_mode_cpu, MockPlatform};
use cpu_x86::{RunState, X86Cpu};
use proptest::prelude::*;
use sim_core::GuestPhys;

fn run(cpu: &mut X86Cpu, p: &mut MockPlatform, steps: usize) {
    for _ in 0..steps {
        if matches!(cpu.state, RunState::Shutdown | RunState::Halted) {
            break;
        }
        cpu.step(p);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("ROBUST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500),
        .. ProptestConfig::default()
    })]

    #[test]
    fn random_code_in_long_mode(code in prop::collection::vec(any::<u8>(), 1..256),
                                regs in prop::array::uniform16(any::<u64>()),
                                cpl3 in any::<bool>(), cr4_bits in any::<u8>()) {
        let mut p = MockPlatform::new(4 << 20);
        p.ram.write(GuestPhys(0x1000), &code);
        let mut c = long_mode_cpu(&mut p, 0x1000);
        c.regs = regs;
        c.regs[4] = 0x8_0000 | (regs[4] & 0xff8);
        if cpl3 {
            c.cpl = 3;
        }
        // Random optional features on (they may or may not be accepted by the model).
        let _ = c.write_cr(&mut p, 4, c.cr4 | (((cr4_bits as u64) & 0x3b) << 16));
        run(&mut c, &mut p, 200);
    }

    #[test]
    fn random_code_in_real_and_protected_mode(code in prop::collection::vec(any::<u8>(), 1..256),
                                              regs in prop::array::uniform16(any::<u64>()),
                                              protected in any::<bool>(), big in any::<bool>()) {
        let mut p = MockPlatform::new(2 << 20);
        p.ram.write(GuestPhys(0x7c00), &code);
        let mut c = X86Cpu::new(cpu_x86::CpuidModel::new("max", &[]).unwrap(), 0, true, 7);
        if protected {
            c.setup_protected_flat(0x7c00);
            if !big {
                c.seg[cpu_x86::state::CS].attr &= !0x4000; // 16-bit code segment
                c.update_mode();
            }
        } else {
            c.seg[cpu_x86::state::CS] = cpu_x86::state::Segment::real(0);
            c.rip = 0x7c00;
            c.update_mode();
        }
        for (i, r) in regs.iter().enumerate() {
            c.regs[i] = r & 0xffff_ffff;
        }
        run(&mut c, &mut p, 200);
    }
}
