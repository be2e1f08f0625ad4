//! ACPI tables for the PC board: RSDP (ACPI 2.0+), XSDT, RSDT and MADT.
//!
//! No FADT/DSDT is built: the MADT is reachable from the RSDT/XSDT on its own, which is
//! all an OS needs to find the CPUs and the I/O APIC. Without a FADT there is no SCI, so
//! no override is emitted for IRQ 9.
//!
//! Layout at the `tables` address (offsets 16-byte aligned): XSDT at +0, RSDT at +48,
//! MADT at +96; [`acpi_tables_size`] gives the total. The RSDP goes at its own address
//! (the board puts it 16-byte aligned in 0xE0000-0xFFFFF so OSes scanning for
//! "RSD PTR " find it; ACPI 6.5 section 5.2.5.1).

use sim_core::{Error, GuestPhys, GuestRam, Result};

/// OEM ID in every table.
pub const OEM_ID: &[u8; 6] = b"CHIMRA";
/// OEM table ID in every table.
pub const OEM_TABLE_ID: &[u8; 8] = b"CHIMERA ";
const CREATOR_ID: &[u8; 4] = b"CHMR";
/// Size of the RSDP (ACPI 2.0+ layout).
pub const RSDP_SIZE: u64 = 36;
const HEADER: usize = 36;
const XSDT_OFF: u64 = 0;
const RSDT_OFF: u64 = 48;
const MADT_OFF: u64 = 96;

/// MADT entry types (ACPI 6.5 section 5.2.12).
const MADT_LAPIC: u8 = 0;
const MADT_IOAPIC: u8 = 1;
const MADT_ISO: u8 = 2;
const MADT_LAPIC_NMI: u8 = 4;
const MADT_X2APIC: u8 = 9;

/// MPS INTI flags: polarity active high (01), trigger edge (01) (ACPI 6.5 table 5.50).
const INTI_EDGE_HIGH: u16 = 0x0005;

/// Value that makes the byte sum of `bytes` plus it zero.
fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)).wrapping_neg()
}

/// Uses an x2APIC entry when the APIC ID or processor UID does not fit the 8-bit entry
/// (0xFF is reserved as "all processors").
fn needs_x2apic(index: usize, apic_id: u32) -> bool {
    apic_id >= 0xff || index >= 0xff
}

fn madt_size(cpus: &[u32]) -> u64 {
    let per_cpu: u64 = cpus.iter().enumerate().map(|(i, &id)| if needs_x2apic(i, id) { 16 } else { 8 }).sum();
    44 + per_cpu + 12 + 10 + 6
}

/// Bytes needed at the `tables` address for `cpus` (XSDT, RSDT and MADT).
pub fn acpi_tables_size(cpus: &[u32]) -> u64 {
    MADT_OFF + madt_size(cpus)
}

/// System description table header (ACPI 6.5 section 5.2.6); checksum filled by `finish`.
fn sdt(sig: &[u8; 4], revision: u8, len: usize) -> Vec<u8> {
    let mut t = vec![0u8; len];
    t[0..4].copy_from_slice(sig);
    t[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    t[8] = revision;
    t[10..16].copy_from_slice(OEM_ID);
    t[16..24].copy_from_slice(OEM_TABLE_ID);
    t[24..28].copy_from_slice(&1u32.to_le_bytes());
    t[28..32].copy_from_slice(CREATOR_ID);
    t[32..36].copy_from_slice(&1u32.to_le_bytes());
    t
}

fn finish(mut t: Vec<u8>) -> Vec<u8> {
    t[9] = 0;
    t[9] = checksum(&t);
    t
}

fn madt(cpus: &[u32], ioapic: (u8, u32, u32), lapic_addr: u32) -> Vec<u8> {
    // ACPI 6.5 section 5.2.12: header, Local Interrupt Controller Address, Flags.
    let mut t = sdt(b"APIC", 3, HEADER);
    t.extend_from_slice(&lapic_addr.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes()); // PCAT_COMPAT: dual 8259s present
    for (i, &id) in cpus.iter().enumerate() {
        if needs_x2apic(i, id) {
            // Section 5.2.12.12: Processor Local x2APIC.
            t.extend_from_slice(&[MADT_X2APIC, 16, 0, 0]);
            t.extend_from_slice(&id.to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes()); // enabled
            t.extend_from_slice(&(i as u32).to_le_bytes());
        } else {
            // Section 5.2.12.2: Processor Local APIC.
            t.extend_from_slice(&[MADT_LAPIC, 8, i as u8, id as u8]);
            t.extend_from_slice(&1u32.to_le_bytes()); // enabled
        }
    }
    // Section 5.2.12.3: I/O APIC.
    let (io_id, io_addr, gsi_base) = ioapic;
    t.extend_from_slice(&[MADT_IOAPIC, 12, io_id, 0]);
    t.extend_from_slice(&io_addr.to_le_bytes());
    t.extend_from_slice(&gsi_base.to_le_bytes());
    // Section 5.2.12.5: Interrupt Source Override, ISA IRQ 0 (PIT) -> GSI 2.
    t.extend_from_slice(&[MADT_ISO, 10, 0, 0]);
    t.extend_from_slice(&2u32.to_le_bytes());
    t.extend_from_slice(&INTI_EDGE_HIGH.to_le_bytes());
    // Section 5.2.12.7: Local APIC NMI on LINT1 of all processors (UID 0xFF).
    t.extend_from_slice(&[MADT_LAPIC_NMI, 6, 0xff]);
    t.extend_from_slice(&INTI_EDGE_HIGH.to_le_bytes());
    t.push(1);
    let len = t.len() as u32;
    t[4..8].copy_from_slice(&len.to_le_bytes());
    finish(t)
}

/// Writes the ACPI tables at `tables` and the RSDP at `rsdp`; returns the RSDP address.
///
/// `cpus` are the local APIC IDs (processor UIDs are their indices), `ioapic` is
/// `(id, address, GSI base)`, `lapic_addr` the local APIC base.
pub fn build_acpi(
    ram: &mut GuestRam,
    rsdp: GuestPhys,
    tables: GuestPhys,
    cpus: &[u32],
    ioapic: (u8, u32, u32),
    lapic_addr: u32,
) -> Result<GuestPhys> {
    if cpus.is_empty() {
        return Err(Error::Config("ACPI: at least one CPU is required".into()));
    }
    if let Some((i, id)) = cpus.iter().enumerate().find(|(i, id)| cpus[..*i].contains(id)) {
        return Err(Error::Config(format!("ACPI: CPU {i} repeats local APIC ID {id}")));
    }
    if rsdp.raw() & 0xf != 0 {
        return Err(Error::Config(format!("ACPI: RSDP address {rsdp} is not 16-byte aligned")));
    }
    let size = acpi_tables_size(cpus);
    let t = tables.raw();
    let t_end = t.checked_add(size).filter(|&e| e <= 1 << 32).ok_or_else(|| {
        Error::Config(format!(
            "ACPI: tables at {tables}..+{size:#x} must lie below 4 GiB (RSDT has 32-bit pointers)"
        ))
    })?;
    for (at, len, what) in [(rsdp, RSDP_SIZE, "RSDP"), (tables, size, "tables")] {
        if !ram.contains(at, len) {
            return Err(Error::OutsideRam { addr: at, len, hint: format!(" (ACPI {what})") });
        }
    }
    if rsdp.raw() < t_end && t < rsdp.raw() + RSDP_SIZE {
        return Err(Error::Config(format!(
            "ACPI: RSDP at {rsdp} overlaps the tables at {tables}..{t_end:#x}"
        )));
    }

    let madt_addr = t + MADT_OFF;
    // ACPI 6.5 section 5.2.8: XSDT, 64-bit entries.
    let mut xsdt = sdt(b"XSDT", 1, HEADER + 8);
    xsdt[HEADER..].copy_from_slice(&madt_addr.to_le_bytes());
    // ACPI 6.5 section 5.2.7: RSDT, 32-bit entries.
    let mut rsdt = sdt(b"RSDT", 1, HEADER + 4);
    rsdt[HEADER..].copy_from_slice(&(madt_addr as u32).to_le_bytes());

    // ACPI 6.5 section 5.2.5.3: RSDP structure, revision 2.
    let mut r = [0u8; RSDP_SIZE as usize];
    r[0..8].copy_from_slice(b"RSD PTR ");
    r[9..15].copy_from_slice(OEM_ID);
    r[15] = 2;
    r[16..20].copy_from_slice(&((t + RSDT_OFF) as u32).to_le_bytes());
    r[20..24].copy_from_slice(&(RSDP_SIZE as u32).to_le_bytes());
    r[24..32].copy_from_slice(&(t + XSDT_OFF).to_le_bytes());
    r[8] = checksum(&r[..20]);
    r[32] = checksum(&r);

    let mut blob = vec![0u8; size as usize];
    for (off, table) in
        [(XSDT_OFF, finish(xsdt)), (RSDT_OFF, finish(rsdt)), (MADT_OFF, madt(cpus, ioapic, lapic_addr))]
    {
        let off = off as usize;
        blob[off..off + table.len()].copy_from_slice(&table);
    }
    // Both ranges were checked to be RAM above.
    let ok = ram.write(tables, &blob) && ram.write(rsdp, &r);
    debug_assert!(ok);
    Ok(rsdp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram() -> GuestRam {
        GuestRam::new(&[(GuestPhys(0), 0x10_0000)]).unwrap()
    }

    fn bytes(ram: &GuestRam, at: u64, len: usize) -> Vec<u8> {
        ram.slice(GuestPhys(at), len).unwrap().to_vec()
    }

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, &x| a.wrapping_add(x))
    }

    fn table(ram: &GuestRam, at: u64) -> Vec<u8> {
        let len = ram.read_u32(GuestPhys(at + 4)).unwrap() as usize;
        bytes(ram, at, len)
    }

    #[test]
    fn rsdp_xsdt_rsdt_madt() {
        let mut ram = ram();
        let cpus = [0, 1, 2, 3];
        let at = build_acpi(
            &mut ram,
            GuestPhys(0xe_0000),
            GuestPhys(0xe_1000),
            &cpus,
            (4, 0xfec0_0000, 0),
            0xfee0_0000,
        )
        .unwrap();
        assert_eq!(at, GuestPhys(0xe_0000));
        let r = bytes(&ram, 0xe_0000, 36);
        assert_eq!(&r[0..8], b"RSD PTR ");
        assert_eq!(&r[9..15], b"CHIMRA");
        assert_eq!(r[15], 2);
        assert_eq!(sum(&r[..20]), 0);
        assert_eq!(sum(&r), 0);
        assert_eq!(u32::from_le_bytes(r[20..24].try_into().unwrap()), 36);
        let rsdt_addr = u32::from_le_bytes(r[16..20].try_into().unwrap()) as u64;
        let xsdt_addr = u64::from_le_bytes(r[24..32].try_into().unwrap());

        let xsdt = table(&ram, xsdt_addr);
        assert_eq!(&xsdt[0..4], b"XSDT");
        assert_eq!(xsdt.len(), 44);
        assert_eq!(sum(&xsdt), 0);
        let madt_addr = u64::from_le_bytes(xsdt[36..44].try_into().unwrap());
        let rsdt = table(&ram, rsdt_addr);
        assert_eq!(&rsdt[0..4], b"RSDT");
        assert_eq!(sum(&rsdt), 0);
        assert_eq!(u32::from_le_bytes(rsdt[36..40].try_into().unwrap()) as u64, madt_addr);

        let madt = table(&ram, madt_addr);
        assert_eq!(&madt[0..4], b"APIC");
        assert_eq!(&madt[10..16], b"CHIMRA");
        assert_eq!(sum(&madt), 0);
        assert_eq!(madt.len() as u64, madt_size(&cpus));
        assert_eq!(madt_addr + madt.len() as u64, 0xe_1000 + acpi_tables_size(&cpus));
        assert_eq!(u32::from_le_bytes(madt[36..40].try_into().unwrap()), 0xfee0_0000);
        assert_eq!(u32::from_le_bytes(madt[40..44].try_into().unwrap()), 1);
        let mut entries = Vec::new();
        let mut off = 44;
        while off < madt.len() {
            let len = madt[off + 1] as usize;
            entries.push(madt[off..off + len].to_vec());
            off += len;
        }
        assert_eq!(off, madt.len());
        assert_eq!(entries.len(), 4 + 3);
        for (i, e) in entries[..4].iter().enumerate() {
            assert_eq!(e, &[0, 8, i as u8, cpus[i] as u8, 1, 0, 0, 0]);
        }
        assert_eq!(entries[4], [1, 12, 4, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0]);
        assert_eq!(entries[5], [2, 10, 0, 0, 2, 0, 0, 0, 5, 0]);
        assert_eq!(entries[6], [4, 6, 0xff, 5, 0, 1]);
    }

    #[test]
    fn large_apic_ids_use_x2apic_entries() {
        let mut ram = ram();
        let cpus = [0, 300];
        build_acpi(
            &mut ram,
            GuestPhys(0xf_0000),
            GuestPhys(0xe_0000),
            &cpus,
            (0, 0xfec0_0000, 0),
            0xfee0_0000,
        )
        .unwrap();
        let madt = table(&ram, 0xe_0000 + MADT_OFF);
        assert_eq!(sum(&madt), 0);
        let e = &madt[52..68];
        assert_eq!(e[0..2], [9, 16]);
        assert_eq!(u32::from_le_bytes(e[4..8].try_into().unwrap()), 300);
        assert_eq!(u32::from_le_bytes(e[8..12].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(e[12..16].try_into().unwrap()), 1);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut ram = ram();
        let io = (0, 0xfec0_0000, 0);
        let lapic = 0xfee0_0000;
        let mut call = |rsdp: u64, tables: u64, cpus: &[u32]| {
            build_acpi(&mut ram, GuestPhys(rsdp), GuestPhys(tables), cpus, io, lapic)
        };
        assert!(matches!(call(0xe_0008, 0xe_1000, &[0]), Err(Error::Config(_))));
        assert!(matches!(call(0xe_0000, 0xe_1000, &[]), Err(Error::Config(_))));
        assert!(matches!(call(0xe_0000, 0xe_1000, &[1, 1]), Err(Error::Config(_))));
        assert!(matches!(call(0xe_0000, 0xe_0010, &[0]), Err(Error::Config(_))));
        assert!(matches!(call(0xe_0000, 0xf_ffc0, &[0]), Err(Error::OutsideRam { .. })));
        assert!(matches!(call(0x20_0000, 0xe_0000, &[0]), Err(Error::OutsideRam { .. })));
    }
}
