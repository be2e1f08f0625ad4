//! The fixed physical memory map, interrupt numbers and CPU affinities of the AArch64 `virt`
//! board.
//!
//! The layout is QEMU's `virt` machine (hw/arm/virt.c, `base_memmap` and `a15irqmap`), so
//! guests built for `qemu-system-aarch64 -M virt` find their devices where they expect them:
//!
//! | range                       | device                                               |
//! |-----------------------------|------------------------------------------------------|
//! | `0x0000_0000..0x0800_0000`  | flash (boot ROM); never RAM                          |
//! | `0x0800_0000..0x0801_0000`  | GICv3 distributor                                    |
//! | `0x080A_0000..0x0900_0000`  | GICv3 redistributors, `0x2_0000` per CPU (123 max)   |
//! | `0x0900_0000..0x0900_1000`  | PL011 UART, SPI 1                                    |
//! | `0x0901_0000..0x0901_1000`  | PL031 RTC, SPI 2                                     |
//! | `0x0A00_0000..0x0A00_4000`  | 32 virtio-mmio transports of `0x200`, SPIs 16-47     |
//! | `0x4000_0000..`             | RAM                                                  |

/// Base of the flash window at the bottom of the address space (QEMU virt `VIRT_FLASH`).
pub const FLASH_BASE: u64 = 0;
/// Size of the flash window (QEMU virt `VIRT_FLASH`).
pub const FLASH_SIZE: u64 = 0x0800_0000;
/// GICv3 distributor (QEMU virt `VIRT_GIC_DIST`).
pub const GIC_DIST_BASE: u64 = 0x0800_0000;
/// Size of the distributor frame: 64 KiB (QEMU virt `VIRT_GIC_DIST`).
pub const GIC_DIST_SIZE: u64 = 0x1_0000;
/// First GICv3 redistributor (QEMU virt `VIRT_GIC_REDIST`).
pub const GIC_REDIST_BASE: u64 = 0x080A_0000;
/// Size of the whole redistributor window (QEMU virt `VIRT_GIC_REDIST`).
pub const GIC_REDIST_REGION_SIZE: u64 = 0x00F6_0000;
/// Bytes per redistributor: the RD_base and SGI_base 64 KiB frames (GICv3 IHI0069,
/// "The GIC Redistributor register map"; QEMU `GICV3_REDIST_SIZE`).
pub const GIC_REDIST_STRIDE: u64 = 0x2_0000;
/// Most CPUs the redistributor window holds: `0xF6_0000 / 0x2_0000` (QEMU virt refuses more
/// without its high redistributor region, which this board does not have).
pub const MAX_CPUS: u32 = (GIC_REDIST_REGION_SIZE / GIC_REDIST_STRIDE) as u32;
/// PL011 UART (QEMU virt `VIRT_UART`).
pub const UART_BASE: u64 = 0x0900_0000;
/// Size of the PL011 register frame.
pub const UART_SIZE: u64 = 0x1000;
/// SPI number of the PL011 (QEMU virt `a15irqmap[VIRT_UART]`); INTID = 32 + SPI.
pub const UART_SPI: u32 = 1;
/// PL031 real-time clock (QEMU virt `VIRT_RTC`).
pub const RTC_BASE: u64 = 0x0901_0000;
/// Size of the PL031 register frame.
pub const RTC_SIZE: u64 = 0x1000;
/// SPI number of the PL031 (QEMU virt `a15irqmap[VIRT_RTC]`).
pub const RTC_SPI: u32 = 2;
/// First virtio-mmio transport (QEMU virt `VIRT_MMIO`).
pub const VIRTIO_MMIO_BASE: u64 = 0x0A00_0000;
/// Size of one virtio-mmio transport; transport `n` is at `VIRTIO_MMIO_BASE + n * 0x200`.
pub const VIRTIO_MMIO_SIZE: u64 = 0x200;
/// SPI of transport 0; transport `n` uses SPI `16 + n` (QEMU virt `a15irqmap[VIRT_MMIO]`).
pub const VIRTIO_MMIO_FIRST_SPI: u32 = 16;
/// Number of virtio-mmio transports QEMU virt creates (`NUM_VIRTIO_TRANSPORTS`); SPI 48 and
/// up belong to other devices there, so this is also the most this board may have.
pub const VIRTIO_MMIO_MAX: u32 = 32;
/// Start of RAM (QEMU virt `VIRT_MEM`, 1 GiB).
pub const RAM_BASE: u64 = 0x4000_0000;
/// Frequency of the fixed APB clock that feeds the PL011 and PL031 (QEMU virt `/apb-pclk`).
pub const APB_CLOCK_HZ: u32 = 24_000_000;

/// PPI of the secure EL1 physical timer (INTID 29, as the Arm BSA recommends; QEMU virt
/// `ARCH_TIMER_S_EL1_IRQ`).
pub const TIMER_SEC_EL1_PPI: u32 = 13;
/// PPI of the non-secure EL1 physical timer (INTID 30; QEMU `ARCH_TIMER_NS_EL1_IRQ`).
pub const TIMER_NS_EL1_PPI: u32 = 14;
/// PPI of the virtual timer (INTID 27; QEMU `ARCH_TIMER_VIRT_IRQ`).
pub const TIMER_VIRT_PPI: u32 = 11;
/// PPI of the non-secure EL2 physical timer (INTID 26; QEMU `ARCH_TIMER_NS_EL2_IRQ`).
pub const TIMER_NS_EL2_PPI: u32 = 10;
/// PPI of the PMU overflow interrupt (INTID 23; QEMU virt `VIRTUAL_PMU_IRQ`).
pub const PMU_PPI: u32 = 7;

/// CPUs per Aff1 cluster. QEMU virt with a GICv3 groups 16 CPUs per cluster
/// (`virt_cpu_mp_affinity`: `GICV3_TARGETLIST_BITS`), because a GICv3 SGI reaches at most
/// 16 Aff0 values of one cluster (ICC_SGI1R_EL1.TargetList is 16 bits, GICv3 IHI0069).
pub const CPUS_PER_CLUSTER: u32 = 16;

/// The affinity fields of MPIDR_EL1: Aff3 (bits 39:32) and Aff2..Aff0 (bits 23:0)
/// (Arm ARM D19 MPIDR_EL1; PSCI DEN0022 uses the same layout for `target_cpu`).
pub const MPIDR_AFFINITY_MASK: u64 = 0xff_00ff_ffff;

/// Affinity value (MPIDR_EL1 without the RES1 bit 31, U and MT) of CPU `index`:
/// Aff1 = `index / 16`, Aff0 = `index % 16`, as QEMU virt with a GICv3 assigns them.
pub const fn virt_mpidr(index: u32) -> u64 {
    (((index / CPUS_PER_CLUSTER) as u64) << 8) | (index % CPUS_PER_CLUSTER) as u64
}

// The device windows must not overlap each other or RAM (checked at compile time).
const _: () = {
    assert!(FLASH_BASE + FLASH_SIZE <= GIC_DIST_BASE);
    assert!(GIC_DIST_BASE + GIC_DIST_SIZE <= GIC_REDIST_BASE);
    assert!(GIC_REDIST_BASE + GIC_REDIST_REGION_SIZE <= UART_BASE);
    assert!(UART_BASE + UART_SIZE <= RTC_BASE);
    assert!(RTC_BASE + RTC_SIZE <= VIRTIO_MMIO_BASE);
    assert!(VIRTIO_MMIO_BASE + VIRTIO_MMIO_MAX as u64 * VIRTIO_MMIO_SIZE <= RAM_BASE);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinities_follow_sixteen_cpu_clusters() {
        assert_eq!(virt_mpidr(0), 0);
        assert_eq!(virt_mpidr(7), 7);
        assert_eq!(virt_mpidr(15), 0xf);
        assert_eq!(virt_mpidr(16), 0x100);
        assert_eq!(virt_mpidr(122), 0x70a);
        assert_eq!(virt_mpidr(MAX_CPUS - 1) & !MPIDR_AFFINITY_MASK, 0);
        assert_eq!(MAX_CPUS, 123);
    }
}
