//! QEMU's firmware configuration device (`fw_cfg`), traditional I/O-port interface only.
//!
//! QEMU docs: fw_cfg (docs/specs/fw_cfg.rst). A 16-bit selector register at port 0x510
//! picks an item; the data register at port 0x511 then returns the item's bytes one by one
//! from offset 0, reads past the end return 0, and every selector write resets the offset.
//! Writes to the data register are ignored (as on QEMU since 2.4). There is no DMA interface,
//! so the ID item (0x0001) advertises only the traditional interface (bit 0).
//!
//! Files: [`FwCfg::add_file`] gives each named blob a selector key from 0x0020 upward (in
//! insertion order) and rebuilds the file directory (key 0x0019), whose entries are sorted by
//! name: big-endian `u32` count, then per file `u32` size, `u16` select, `u16` reserved and a
//! 56-byte NUL-padded name.
//!
//! The board maps port 0x510, length 2, with `AccessSize::B1_2`.

use sim_core::bus::{Device, IoCtx, PioDevice};
use std::collections::BTreeMap;

/// Selector port.
pub const FW_CFG_PORT_SEL: u16 = 0x510;
/// Data port.
pub const FW_CFG_PORT_DATA: u16 = 0x511;

/// Signature item ("QEMU").
pub const FW_CFG_SIGNATURE: u16 = 0x0000;
/// Interface ID item (bit 0: traditional interface, bit 1: DMA).
pub const FW_CFG_ID: u16 = 0x0001;
/// RAM size item (u64 LE).
pub const FW_CFG_RAM_SIZE: u16 = 0x0003;
/// Number of boot CPUs (u16 LE).
pub const FW_CFG_NB_CPUS: u16 = 0x0005;
/// Maximum number of CPUs (u16 LE).
pub const FW_CFG_MAX_CPUS: u16 = 0x000f;
/// File directory item.
pub const FW_CFG_FILE_DIR: u16 = 0x0019;
/// First selector key given to files.
pub const FW_CFG_FILE_FIRST: u16 = 0x0020;
/// Length of a name in a directory entry, NUL padding included.
pub const FW_CFG_MAX_FILE_PATH: usize = 56;

/// The fw_cfg device.
pub struct FwCfg {
    items: BTreeMap<u16, Vec<u8>>,
    files: Vec<(String, u16)>,
    selected: u16,
    offset: usize,
}

impl FwCfg {
    /// An empty fw_cfg device (no items, not even the signature).
    pub fn new() -> Self {
        Self { items: BTreeMap::new(), files: Vec::new(), selected: 0, offset: 0 }
    }

    /// A device with the standard items: signature, ID, RAM size, CPU counts and an empty
    /// file directory.
    pub fn standard(ram_size: u64, nb_cpus: u16, max_cpus: u16) -> Self {
        let mut f = Self::new();
        // QEMU docs: fw_cfg, "Signature" (0x0000) and "Revision / feature bitmap" (0x0001).
        f.add_bytes(FW_CFG_SIGNATURE, b"QEMU".as_slice());
        f.add_bytes(FW_CFG_ID, 1u32.to_le_bytes().to_vec());
        f.add_bytes(FW_CFG_RAM_SIZE, ram_size.to_le_bytes().to_vec());
        f.add_bytes(FW_CFG_NB_CPUS, nb_cpus.to_le_bytes().to_vec());
        f.add_bytes(FW_CFG_MAX_CPUS, max_cpus.to_le_bytes().to_vec());
        f.rebuild_dir();
        f
    }

    /// Sets item `key` to `data` (replacing any previous content).
    pub fn add_bytes(&mut self, key: u16, data: impl Into<Vec<u8>>) {
        self.items.insert(key, data.into());
    }

    /// Adds (or replaces) file `name` and returns its selector key. Names longer than 55
    /// bytes are truncated in the directory.
    pub fn add_file(&mut self, name: &str, data: impl Into<Vec<u8>>) -> u16 {
        let key = match self.files.iter().find(|(n, _)| n == name) {
            Some(&(_, k)) => k,
            None => {
                let k = FW_CFG_FILE_FIRST.wrapping_add(self.files.len() as u16);
                self.files.push((name.to_string(), k));
                k
            }
        };
        self.items.insert(key, data.into());
        self.rebuild_dir();
        key
    }

    /// The bytes of item `key`, if present.
    pub fn item(&self, key: u16) -> Option<&[u8]> {
        self.items.get(&key).map(|v| v.as_slice())
    }

    fn rebuild_dir(&mut self) {
        // QEMU docs: fw_cfg, "File Directory": big-endian count and entries, sorted by name.
        let mut files: Vec<&(String, u16)> = self.files.iter().collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut dir = Vec::with_capacity(4 + files.len() * 64);
        dir.extend_from_slice(&(files.len() as u32).to_be_bytes());
        for (name, key) in files {
            let size = self.items.get(key).map_or(0, |d| d.len()) as u32;
            dir.extend_from_slice(&size.to_be_bytes());
            dir.extend_from_slice(&key.to_be_bytes());
            dir.extend_from_slice(&0u16.to_be_bytes());
            let mut n = [0u8; FW_CFG_MAX_FILE_PATH];
            let b = name.as_bytes();
            let len = b.len().min(FW_CFG_MAX_FILE_PATH - 1);
            n[..len].copy_from_slice(&b[..len]);
            dir.extend_from_slice(&n);
        }
        self.items.insert(FW_CFG_FILE_DIR, dir);
    }

    /// Selects item `key` and rewinds the data offset.
    pub fn select(&mut self, key: u16) {
        self.selected = key;
        self.offset = 0;
    }

    /// Reads the next data byte of the selected item (0 past its end or for unknown keys).
    pub fn read_byte(&mut self) -> u8 {
        // Bit 14 of the selector is the (obsolete) write flag; it does not change the item.
        let key = self.selected & !0x4000;
        let b = self.items.get(&key).and_then(|d| d.get(self.offset)).copied().unwrap_or(0);
        if self.items.get(&key).is_some_and(|d| self.offset < d.len()) {
            self.offset += 1;
        }
        b
    }
}

impl Device for FwCfg {
    fn name(&self) -> &str {
        "fw_cfg"
    }
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        Some(self)
    }
}

impl PioDevice for FwCfg {
    fn pio_read(&mut self, port: u16, size: u8, _ctx: &mut IoCtx) -> u32 {
        match port {
            FW_CFG_PORT_DATA => {
                // Wider reads are string-preserving: the first byte lands in the lowest lane.
                let mut v = 0u32;
                for i in 0..u32::from(size.min(4)) {
                    v |= u32::from(self.read_byte()) << (8 * i);
                }
                v
            }
            _ => 0,
        }
    }

    fn pio_write(&mut self, port: u16, size: u8, val: u32, _ctx: &mut IoCtx) {
        if port == FW_CFG_PORT_SEL {
            let key = if size == 1 { val as u8 as u16 } else { val as u16 };
            self.select(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rig;
    use sim_core::bus::AccessSize;

    fn rig(f: FwCfg) -> Rig<FwCfg> {
        Rig::new(f).pio(0x510, 2, AccessSize::B1_2)
    }

    fn read_item(r: &mut Rig<FwCfg>, key: u16, n: usize) -> Vec<u8> {
        r.bus.pio_write(0x510, 2, key as u32, 0);
        (0..n).map(|_| r.inb(0x511, 0)).collect()
    }

    #[test]
    fn standard_items() {
        let mut r = rig(FwCfg::standard(0x1_2000_0000, 2, 4));
        assert_eq!(read_item(&mut r, 0, 6), b"QEMU\0\0");
        assert_eq!(read_item(&mut r, 1, 4), [1, 0, 0, 0]);
        assert_eq!(read_item(&mut r, 3, 8), 0x1_2000_0000u64.to_le_bytes());
        assert_eq!(read_item(&mut r, 5, 2), [2, 0]);
        assert_eq!(read_item(&mut r, 0xf, 2), [4, 0]);
        assert_eq!(read_item(&mut r, 0x19, 5), [0, 0, 0, 0, 0]);
        // Unknown key: zeros.
        assert_eq!(read_item(&mut r, 0x1234, 2), [0, 0]);
    }

    #[test]
    fn reselect_rewinds_and_wide_reads_are_string_order() {
        let mut r = rig(FwCfg::standard(0, 1, 1));
        assert_eq!(read_item(&mut r, 0, 2), b"QE");
        r.bus.pio_write(0x510, 2, 0, 0);
        assert_eq!(r.bus.pio_read(0x511, 1, 0), u32::from(b'Q'));
        // A 2-byte write through the bus at 0x510 is one selector write.
        r.bus.pio_write(0x510, 2, 0, 0);
        assert_eq!(r.dev.borrow_mut().read_byte(), b'Q');
        assert_eq!(r.dev.borrow_mut().read_byte(), b'E');
    }

    #[test]
    fn file_directory_bytes() {
        let mut f = FwCfg::standard(0, 1, 1);
        let kz = f.add_file("opt/z", vec![1, 2, 3]);
        let ka = f.add_file("etc/a", vec![9; 300]);
        assert_eq!((kz, ka), (0x20, 0x21));
        assert_eq!(f.add_file("opt/z", vec![7]), 0x20, "replacing keeps the key");
        let mut r = rig(f);
        let dir = read_item(&mut r, 0x19, 4 + 2 * 64);
        assert_eq!(dir[0..4], [0, 0, 0, 2]);
        // Sorted by name: etc/a first.
        assert_eq!(dir[4..8], [0, 0, 1, 0x2c]);
        assert_eq!(dir[8..10], [0, 0x21]);
        assert_eq!(dir[10..12], [0, 0]);
        assert_eq!(&dir[12..17], b"etc/a");
        assert!(dir[17..68].iter().all(|&b| b == 0));
        assert_eq!(dir[68..72], [0, 0, 0, 1]);
        assert_eq!(dir[72..74], [0, 0x20]);
        assert_eq!(&dir[76..81], b"opt/z");
        assert_eq!(read_item(&mut r, 0x20, 3), [7, 0, 0]);
    }
}
