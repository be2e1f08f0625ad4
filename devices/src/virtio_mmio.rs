//! virtio-mmio transport, virtio 1.x ("modern", Version 2) register layout, with split
//! virtqueues.
//!
//! References are to "Virtual I/O Device (VIRTIO) Version 1.2" (OASIS, 2022), "spec" below:
//! the MMIO register layout is spec 4.2.2, device status 2.1, feature bits 2.2 and 6,
//! notifications 2.3, the device configuration space and its generation 2.5, split
//! virtqueues 2.7.
//!
//! Modelling choices:
//! - Only the Version 2 layout is implemented (MagicValue "virt", Version 0x2). The legacy
//!   Version 1 layout (QueuePFN, GuestPageSize, QueueAlign; spec 4.2.4) is not offered, so a
//!   transitional driver uses the modern interface and a legacy-only driver sees a device it
//!   does not support. VIRTIO_F_VERSION_1 is always offered and must be accepted
//!   (spec 6.1: a device MAY fail to operate if it is not), otherwise FEATURES_OK stays clear.
//! - Transport features offered: VIRTIO_F_VERSION_1 only. Not offered: INDIRECT_DESC,
//!   EVENT_IDX, RING_PACKED, ACCESS_PLATFORM, RING_RESET, IN_ORDER, NOTIFICATION_DATA (so the
//!   QueueReset register reads 0 and ignores writes, and a descriptor with the INDIRECT flag
//!   is a driver error).
//! - No shared memory regions: SHMLen reads all ones for every SHMSel (spec 4.2.2).
//! - Control registers (0x000-0x0ff) take 32-bit aligned accesses only (spec 4.2.2.2: "The
//!   driver MUST only use 32 bit wide and aligned reads and writes"); other accesses read 0
//!   and are ignored. The device configuration space (0x100-) takes 1/2/4-byte accesses
//!   and 8-byte ones as two 32-bit halves (spec 4.2.2.2).
//! - Descriptors and rings are read from and written to guest RAM ([`GuestRam`]), which the
//!   board passes in on every access that may touch a queue (DMA is coherent: the DT marks
//!   the transports `dma-coherent`).
//! - Driver errors the device detects in a queue (a ring or buffer outside RAM, a descriptor
//!   index out of range, a chain longer than the queue or looping, an INDIRECT descriptor,
//!   a device-readable descriptor after a device-writable one (spec 2.7.4.2), an avail index
//!   more than Queue Size ahead) set DEVICE_NEEDS_RESET and raise a configuration change
//!   interrupt (spec 2.1.2: "the device SHOULD send a device configuration change
//!   notification"). The device then leaves its queues alone until the driver resets it.
//! - The interrupt line is a level: high while InterruptStatus is non-zero (spec 4.2.2:
//!   InterruptStatus bits stay set until acknowledged through InterruptACK).

use sim_core::irq::IrqLine;
use sim_core::{GuestPhys, GuestRam};

/// Size of one transport's register window on the `virt` board.
pub const VIRTIO_MMIO_WINDOW: u64 = 0x200;

/// "virt" in little-endian (spec 4.2.2, MagicValue).
pub const MAGIC: u32 = 0x7472_6976;
/// The modern (non-legacy) interface (spec 4.2.2, Version).
pub const VERSION: u32 = 2;
/// VendorID reported by chimera's transports ("CHIM" little-endian; the spec places no
/// constraint on the value).
pub const VENDOR_ID: u32 = 0x4d49_4843;

// Register offsets (spec 4.2.2, table 4.1).
pub const REG_MAGIC: u64 = 0x000;
pub const REG_VERSION: u64 = 0x004;
pub const REG_DEVICE_ID: u64 = 0x008;
pub const REG_VENDOR_ID: u64 = 0x00c;
pub const REG_DEVICE_FEATURES: u64 = 0x010;
pub const REG_DEVICE_FEATURES_SEL: u64 = 0x014;
pub const REG_DRIVER_FEATURES: u64 = 0x020;
pub const REG_DRIVER_FEATURES_SEL: u64 = 0x024;
pub const REG_QUEUE_SEL: u64 = 0x030;
pub const REG_QUEUE_NUM_MAX: u64 = 0x034;
pub const REG_QUEUE_NUM: u64 = 0x038;
pub const REG_QUEUE_READY: u64 = 0x044;
pub const REG_QUEUE_NOTIFY: u64 = 0x050;
pub const REG_INTERRUPT_STATUS: u64 = 0x060;
pub const REG_INTERRUPT_ACK: u64 = 0x064;
pub const REG_STATUS: u64 = 0x070;
pub const REG_QUEUE_DESC_LOW: u64 = 0x080;
pub const REG_QUEUE_DESC_HIGH: u64 = 0x084;
pub const REG_QUEUE_DRIVER_LOW: u64 = 0x090;
pub const REG_QUEUE_DRIVER_HIGH: u64 = 0x094;
pub const REG_QUEUE_DEVICE_LOW: u64 = 0x0a0;
pub const REG_QUEUE_DEVICE_HIGH: u64 = 0x0a4;
pub const REG_SHM_SEL: u64 = 0x0ac;
pub const REG_SHM_LEN_LOW: u64 = 0x0b0;
pub const REG_SHM_LEN_HIGH: u64 = 0x0b4;
pub const REG_SHM_BASE_LOW: u64 = 0x0b8;
pub const REG_SHM_BASE_HIGH: u64 = 0x0bc;
pub const REG_QUEUE_RESET: u64 = 0x0c0;
pub const REG_CONFIG_GENERATION: u64 = 0x0fc;
pub const REG_CONFIG: u64 = 0x100;

// Device status bits (spec 2.1).
pub const STATUS_ACKNOWLEDGE: u32 = 1;
pub const STATUS_DRIVER: u32 = 2;
pub const STATUS_DRIVER_OK: u32 = 4;
pub const STATUS_FEATURES_OK: u32 = 8;
pub const STATUS_DEVICE_NEEDS_RESET: u32 = 64;
pub const STATUS_FAILED: u32 = 128;

// InterruptStatus bits (spec 4.2.2).
/// Used Buffer Notification.
pub const INT_VRING: u32 = 1;
/// Configuration Change Notification.
pub const INT_CONFIG: u32 = 2;

/// VIRTIO_F_VERSION_1 (spec 6).
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;

// Split virtqueue descriptor flags (spec 2.7.5).
pub const VIRTQ_DESC_F_NEXT: u16 = 1;
pub const VIRTQ_DESC_F_WRITE: u16 = 2;
pub const VIRTQ_DESC_F_INDIRECT: u16 = 4;
/// avail.flags: the driver asks not to be interrupted (spec 2.7.7).
pub const VIRTQ_AVAIL_F_NO_INTERRUPT: u16 = 1;

/// Largest Queue Size of a split virtqueue (spec 2.7: 32768).
pub const MAX_QUEUE_SIZE: u16 = 32768;

/// A driver error found in a virtqueue (the device then needs a reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// A ring or descriptor table is not in RAM.
    RingOutsideRam,
    /// avail.idx moved more than Queue Size entries ahead (spec 2.7.6).
    AvailIndex { avail: u16, last: u16 },
    /// A descriptor index is not below Queue Size (spec 2.7.5).
    DescIndex(u16),
    /// The chain is longer than Queue Size, i.e. it loops (spec 2.7.5.3.1).
    ChainTooLong,
    /// VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC (spec 2.7.5.3.1).
    Indirect,
    /// A device-readable descriptor after a device-writable one (spec 2.7.4.2).
    ReadableAfterWritable,
    /// A buffer is not entirely in RAM.
    BufferOutsideRam { addr: u64, len: u32 },
}

/// One descriptor of a chain (spec 2.7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desc {
    pub addr: u64,
    pub len: u32,
    /// Device-writable (VIRTQ_DESC_F_WRITE).
    pub write: bool,
}

/// A validated descriptor chain taken from the available ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Index of the head descriptor (what goes into the used ring).
    pub head: u16,
    pub descs: Vec<Desc>,
}

impl Chain {
    /// Total length of the device-readable part.
    pub fn readable_len(&self) -> u64 {
        self.descs.iter().filter(|d| !d.write).map(|d| u64::from(d.len)).sum()
    }
    /// Copies the device-readable part out of guest RAM.
    pub fn read_all(&self, mem: &GuestRam) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.readable_len() as usize);
        for d in self.descs.iter().filter(|d| !d.write) {
            // The range was checked when the chain was taken.
            if let Some(s) = mem.slice(GuestPhys(d.addr), d.len as usize) {
                out.extend_from_slice(s);
            }
        }
        out
    }
    /// Fills the device-writable part with `data` from its start; returns the bytes written.
    pub fn write_all(&self, mem: &mut GuestRam, data: &[u8]) -> u32 {
        let mut done = 0usize;
        for d in self.descs.iter().filter(|d| d.write) {
            if done == data.len() {
                break;
            }
            let n = (d.len as usize).min(data.len() - done);
            if mem.write(GuestPhys(d.addr), &data[done..done + n]) {
                done += n;
            } else {
                break;
            }
        }
        done as u32
    }
    /// Total length of the device-writable part.
    pub fn writable_len(&self) -> u64 {
        self.descs.iter().filter(|d| d.write).map(|d| u64::from(d.len)).sum()
    }
}

/// A split virtqueue as configured through the transport (spec 2.7, 4.2.3.2).
#[derive(Debug, Clone, Default)]
pub struct Queue {
    /// QueueNumMax: 0 if the queue does not exist.
    pub max_size: u16,
    /// QueueNum (Queue Size).
    pub size: u16,
    pub ready: bool,
    /// Descriptor Area, Driver Area (available ring), Device Area (used ring).
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    /// Next available-ring entry the device will take.
    pub last_avail: u16,
    /// Next used-ring index the device will publish.
    pub next_used: u16,
    /// A used buffer was published and the driver did not suppress interrupts.
    signal: bool,
}

impl Queue {
    fn new(max_size: u16) -> Self {
        Self { max_size, ..Self::default() }
    }

    fn reset(&mut self) {
        *self = Self::new(self.max_size);
    }

    /// Checks the queue configuration when the driver sets QueueReady: Queue Size a power
    /// of 2 up to QueueNumMax (spec 2.7), the alignment of each part (spec 2.7, table
    /// "Virtqueue Part Alignment": 16, 2, 4) and every part in RAM.
    fn check_config(&self, mem: &GuestRam) -> bool {
        let n = u64::from(self.size);
        self.size != 0
            && self.size.is_power_of_two()
            && self.size <= self.max_size
            && self.desc.is_multiple_of(16)
            && self.avail.is_multiple_of(2)
            && self.used.is_multiple_of(4)
            && mem.contains(GuestPhys(self.desc), 16 * n)
            && mem.contains(GuestPhys(self.avail), 6 + 2 * n)
            && mem.contains(GuestPhys(self.used), 6 + 8 * n)
    }

    fn rd16(mem: &GuestRam, at: u64) -> Result<u16, QueueError> {
        mem.read_le::<2>(GuestPhys(at)).map(u16::from_le_bytes).ok_or(QueueError::RingOutsideRam)
    }

    /// Takes the next available descriptor chain, if any (spec 2.7.13 "Receiving Used
    /// Buffers" from the device side: 2.7.6 available ring, 2.7.5 descriptor table).
    pub fn pop(&mut self, mem: &GuestRam) -> Result<Option<Chain>, QueueError> {
        if !self.ready || self.size == 0 {
            return Ok(None);
        }
        let avail_idx = Self::rd16(mem, self.avail.wrapping_add(2))?;
        let pending = avail_idx.wrapping_sub(self.last_avail);
        if pending == 0 {
            return Ok(None);
        }
        if pending > self.size {
            return Err(QueueError::AvailIndex { avail: avail_idx, last: self.last_avail });
        }
        let slot = u64::from(self.last_avail % self.size);
        let head = Self::rd16(mem, self.avail.wrapping_add(4 + 2 * slot))?;
        let chain = self.walk(mem, head)?;
        self.last_avail = self.last_avail.wrapping_add(1);
        Ok(Some(chain))
    }

    fn walk(&self, mem: &GuestRam, head: u16) -> Result<Chain, QueueError> {
        let mut descs = Vec::new();
        let mut i = head;
        let mut seen_write = false;
        loop {
            if i >= self.size {
                return Err(QueueError::DescIndex(i));
            }
            // spec 2.7.5.3.1: a chain is at most Queue Size long; a longer walk is a loop.
            if descs.len() >= usize::from(self.size) {
                return Err(QueueError::ChainTooLong);
            }
            let raw = mem
                .read_le::<16>(GuestPhys(self.desc.wrapping_add(16 * u64::from(i))))
                .ok_or(QueueError::RingOutsideRam)?;
            let addr = u64::from_le_bytes(raw[0..8].try_into().unwrap_or_default());
            let len = u32::from_le_bytes(raw[8..12].try_into().unwrap_or_default());
            let flags = u16::from_le_bytes([raw[12], raw[13]]);
            let next = u16::from_le_bytes([raw[14], raw[15]]);
            if flags & VIRTQ_DESC_F_INDIRECT != 0 {
                return Err(QueueError::Indirect);
            }
            let write = flags & VIRTQ_DESC_F_WRITE != 0;
            if seen_write && !write {
                return Err(QueueError::ReadableAfterWritable);
            }
            seen_write |= write;
            if !mem.contains(GuestPhys(addr), u64::from(len)) {
                return Err(QueueError::BufferOutsideRam { addr, len });
            }
            descs.push(Desc { addr, len, write });
            if flags & VIRTQ_DESC_F_NEXT == 0 {
                return Ok(Chain { head, descs });
            }
            i = next;
        }
    }

    /// Returns chain `head` to the driver with `len` bytes written into it (spec 2.7.8), and
    /// notes whether the driver wants an interrupt (spec 2.7.7: without
    /// VIRTIO_F_EVENT_IDX, none when avail.flags has VIRTQ_AVAIL_F_NO_INTERRUPT).
    pub fn push_used(&mut self, mem: &mut GuestRam, head: u16, len: u32) -> Result<(), QueueError> {
        let slot = u64::from(self.next_used % self.size.max(1));
        let mut elem = [0u8; 8];
        elem[..4].copy_from_slice(&u32::from(head).to_le_bytes());
        elem[4..].copy_from_slice(&len.to_le_bytes());
        if !mem.write(GuestPhys(self.used.wrapping_add(4 + 8 * slot)), &elem) {
            return Err(QueueError::RingOutsideRam);
        }
        self.next_used = self.next_used.wrapping_add(1);
        if !mem.write(GuestPhys(self.used.wrapping_add(2)), &self.next_used.to_le_bytes()) {
            return Err(QueueError::RingOutsideRam);
        }
        let flags = Self::rd16(mem, self.avail)?;
        if flags & VIRTQ_AVAIL_F_NO_INTERRUPT == 0 {
            self.signal = true;
        }
        Ok(())
    }
}

/// What a device did while processing its queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Its configuration space changed (the transport bumps ConfigGeneration and raises a
    /// configuration change notification, spec 2.5.1, 4.2.2).
    pub config_changed: bool,
}

/// A virtio device behind a transport (the device-type specific part, spec 5).
pub trait VirtioDevice {
    /// Device ID (spec 5: 3 = console).
    fn device_id(&self) -> u32;
    /// Device-type feature bits offered (the transport adds VIRTIO_F_VERSION_1).
    fn features(&self) -> u64;
    /// QueueNumMax of each virtqueue, in queue index order.
    fn queue_max_sizes(&self) -> Vec<u16>;
    /// Reads the device configuration space at `offset` into `data`.
    fn read_config(&self, offset: u64, data: &mut [u8]);
    /// A driver write to the device configuration space.
    fn write_config(&mut self, offset: u64, data: &[u8]);
    /// The device was reset (status 0 written, spec 2.4).
    fn reset(&mut self);
    /// Processes the queues: `notified` is the queue the driver notified, `None` when the
    /// board polls (e.g. host input arrived). The device takes chains with [`Queue::pop`]
    /// and returns them with [`Queue::push_used`]; `features` are the negotiated ones.
    fn process(
        &mut self,
        notified: Option<usize>,
        queues: &mut [Queue],
        features: u64,
        mem: &mut GuestRam,
    ) -> Result<Work, QueueError>;
}

/// One virtio-mmio transport, possibly empty (DeviceID 0: spec 4.2.3.1.1, "a device with
/// Device ID 0x0 ... the driver MUST NOT use the device").
pub struct VirtioMmio {
    dev: Option<Box<dyn VirtioDevice>>,
    irq: IrqLine,
    queues: Vec<Queue>,
    status: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    shm_sel: u32,
    interrupt_status: u32,
    config_generation: u32,
    irq_level: bool,
    /// The last driver error found in a queue (for diagnostics and tests).
    pub last_error: Option<QueueError>,
}

impl VirtioMmio {
    /// A transport with `dev` behind it (`None`: an empty slot) driving `irq`.
    pub fn new(dev: Option<Box<dyn VirtioDevice>>, irq: IrqLine) -> Self {
        let queues = dev
            .as_ref()
            .map(|d| d.queue_max_sizes().into_iter().map(|m| Queue::new(m.min(MAX_QUEUE_SIZE))).collect())
            .unwrap_or_default();
        Self {
            dev,
            irq,
            queues,
            status: 0,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            shm_sel: 0,
            interrupt_status: 0,
            config_generation: 0,
            irq_level: false,
            last_error: None,
        }
    }

    /// The device behind the transport.
    pub fn device(&self) -> Option<&dyn VirtioDevice> {
        self.dev.as_deref()
    }

    /// The device status register (spec 2.1).
    pub fn status(&self) -> u32 {
        self.status
    }

    /// The virtqueues.
    pub fn queues(&self) -> &[Queue] {
        &self.queues
    }

    fn offered(&self) -> u64 {
        self.dev.as_ref().map_or(0, |d| d.features() | VIRTIO_F_VERSION_1)
    }

    fn sel_queue(&mut self) -> Option<&mut Queue> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    fn update_irq(&mut self) {
        let level = self.interrupt_status != 0;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    /// Device reset (spec 2.4, 4.2.2.1: InterruptStatus and every QueueReady cleared).
    fn reset(&mut self) {
        self.status = 0;
        self.driver_features = 0;
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.queue_sel = 0;
        self.shm_sel = 0;
        self.interrupt_status = 0;
        self.last_error = None;
        for q in &mut self.queues {
            q.reset();
        }
        if let Some(d) = self.dev.as_mut() {
            d.reset();
        }
        self.update_irq();
    }

    fn needs_reset(&mut self, e: QueueError) {
        self.last_error = Some(e);
        if self.status & STATUS_DEVICE_NEEDS_RESET == 0 {
            self.status |= STATUS_DEVICE_NEEDS_RESET;
            self.interrupt_status |= INT_CONFIG;
        }
        self.update_irq();
    }

    /// Runs the device on its queues (after a notification, or when the board polls).
    pub fn process(&mut self, notified: Option<usize>, mem: &mut GuestRam) {
        // spec 2.1.2 / 3.1.1: queues are used once DRIVER_OK is set, and not after the
        // device asked for a reset.
        if self.status & STATUS_DRIVER_OK == 0 || self.status & STATUS_DEVICE_NEEDS_RESET != 0 {
            return;
        }
        let Some(dev) = self.dev.as_mut() else { return };
        match dev.process(notified, &mut self.queues, self.driver_features, mem) {
            Ok(w) => {
                if w.config_changed {
                    self.config_generation = self.config_generation.wrapping_add(1);
                    self.interrupt_status |= INT_CONFIG;
                }
            }
            Err(e) => self.needs_reset(e),
        }
        for q in &mut self.queues {
            if std::mem::take(&mut q.signal) {
                self.interrupt_status |= INT_VRING;
            }
        }
        self.update_irq();
    }

    /// A guest read of `size` bytes at `offset` in the window.
    pub fn read(&mut self, offset: u64, size: u8) -> u64 {
        if offset >= REG_CONFIG {
            return self.config_read(offset - REG_CONFIG, size);
        }
        if size != 4 || !offset.is_multiple_of(4) {
            return 0;
        }
        let q = self.queues.get(self.queue_sel as usize);
        let v: u32 = match offset {
            REG_MAGIC => MAGIC,
            REG_VERSION => VERSION,
            REG_DEVICE_ID => self.dev.as_ref().map_or(0, |d| d.device_id()),
            REG_VENDOR_ID => VENDOR_ID,
            REG_DEVICE_FEATURES => match self.device_features_sel {
                0 => self.offered() as u32,
                1 => (self.offered() >> 32) as u32,
                _ => 0,
            },
            REG_QUEUE_NUM_MAX => q.map_or(0, |q| u32::from(q.max_size)),
            REG_QUEUE_READY => q.map_or(0, |q| u32::from(q.ready)),
            REG_INTERRUPT_STATUS => self.interrupt_status,
            REG_STATUS => self.status,
            // The queue area registers are write-only for the driver (spec 4.2.2, table 4.1);
            // a read, which a driver must not do, returns what was written.
            REG_QUEUE_DESC_LOW => q.map_or(0, |q| q.desc as u32),
            REG_QUEUE_DESC_HIGH => q.map_or(0, |q| (q.desc >> 32) as u32),
            REG_QUEUE_DRIVER_LOW => q.map_or(0, |q| q.avail as u32),
            REG_QUEUE_DRIVER_HIGH => q.map_or(0, |q| (q.avail >> 32) as u32),
            REG_QUEUE_DEVICE_LOW => q.map_or(0, |q| q.used as u32),
            REG_QUEUE_DEVICE_HIGH => q.map_or(0, |q| (q.used >> 32) as u32),
            // No shared memory regions: length -1 (spec 4.2.2, SHMLenLow/High).
            REG_SHM_LEN_LOW | REG_SHM_LEN_HIGH if self.dev.is_some() => u32::MAX,
            REG_SHM_BASE_LOW | REG_SHM_BASE_HIGH if self.dev.is_some() => u32::MAX,
            REG_CONFIG_GENERATION => self.config_generation,
            _ => 0,
        };
        u64::from(v)
    }

    /// A guest write of `size` bytes of `val` at `offset`; `mem` is guest RAM for queue
    /// processing.
    pub fn write(&mut self, offset: u64, size: u8, val: u64, mem: &mut GuestRam) {
        if offset >= REG_CONFIG {
            self.config_write(offset - REG_CONFIG, size, val);
            return;
        }
        if size != 4 || !offset.is_multiple_of(4) || self.dev.is_none() {
            return;
        }
        let v = val as u32;
        // spec 4.2.2.3: queue registers may be written only while QueueReady is 0.
        let configurable = |q: &Queue| !q.ready;
        match offset {
            REG_DEVICE_FEATURES_SEL => self.device_features_sel = v,
            REG_DRIVER_FEATURES_SEL => self.driver_features_sel = v,
            // spec 3.1.1: features are fixed once FEATURES_OK is set.
            REG_DRIVER_FEATURES if self.status & STATUS_FEATURES_OK == 0 => match self.driver_features_sel {
                0 => self.driver_features = (self.driver_features & !0xffff_ffff) | u64::from(v),
                1 => self.driver_features = (self.driver_features & 0xffff_ffff) | (u64::from(v) << 32),
                _ => {}
            },
            REG_QUEUE_SEL => self.queue_sel = v,
            REG_QUEUE_NUM => {
                if let Some(q) = self.sel_queue().filter(|q| configurable(q)) {
                    q.size = v.min(u32::from(u16::MAX)) as u16;
                }
            }
            REG_QUEUE_DESC_LOW
            | REG_QUEUE_DESC_HIGH
            | REG_QUEUE_DRIVER_LOW
            | REG_QUEUE_DRIVER_HIGH
            | REG_QUEUE_DEVICE_LOW
            | REG_QUEUE_DEVICE_HIGH => {
                if let Some(q) = self.sel_queue().filter(|q| configurable(q)) {
                    let slot = match offset & !4 {
                        REG_QUEUE_DESC_LOW => &mut q.desc,
                        REG_QUEUE_DRIVER_LOW => &mut q.avail,
                        _ => &mut q.used,
                    };
                    *slot = if offset & 4 == 0 {
                        (*slot & !0xffff_ffff) | u64::from(v)
                    } else {
                        (*slot & 0xffff_ffff) | (u64::from(v) << 32)
                    };
                }
            }
            REG_QUEUE_READY => {
                let Some(q) = self.queues.get_mut(self.queue_sel as usize) else { return };
                if v & 1 == 0 {
                    // Leaving the queue: spec 4.2.3.2 has the driver write 0 to stop using it.
                    q.ready = false;
                } else if !q.ready {
                    if q.check_config(mem) {
                        q.ready = true;
                        q.last_avail = 0;
                        q.next_used = 0;
                    } else {
                        self.needs_reset(QueueError::RingOutsideRam);
                    }
                }
            }
            REG_QUEUE_NOTIFY => {
                // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
                let q = v as usize;
                if q < self.queues.len() {
                    self.process(Some(q), mem);
                }
            }
            REG_INTERRUPT_ACK => {
                self.interrupt_status &= !v;
                self.update_irq();
            }
            REG_STATUS => self.write_status(v, mem),
            REG_SHM_SEL => self.shm_sel = v,
            _ => {}
        }
    }

    fn write_status(&mut self, v: u32, mem: &mut GuestRam) {
        if v == 0 {
            self.reset();
            return;
        }
        let old = self.status;
        let mut new = (v & 0xff & !STATUS_DEVICE_NEEDS_RESET) | (old & STATUS_DEVICE_NEEDS_RESET);
        if new & STATUS_FEATURES_OK != 0 && old & STATUS_FEATURES_OK == 0 {
            // spec 2.2.2: accept only a subset of what was offered; VERSION_1 is required
            // (spec 6.1) because there is no legacy interface.
            let offered = self.offered();
            let ok = self.driver_features & !offered == 0 && self.driver_features & VIRTIO_F_VERSION_1 != 0;
            if !ok {
                new &= !STATUS_FEATURES_OK;
            }
        }
        // DRIVER_OK needs FEATURES_OK (spec 3.1.1 steps 5-8).
        if new & STATUS_FEATURES_OK == 0 {
            new &= !STATUS_DRIVER_OK;
        }
        self.status = new;
        if new & STATUS_DRIVER_OK != 0 && old & STATUS_DRIVER_OK == 0 {
            // Buffers made available before DRIVER_OK are processed now.
            self.process(None, mem);
        }
    }

    fn config_read(&self, off: u64, size: u8) -> u64 {
        let Some(d) = self.dev.as_ref() else { return 0 };
        let mut b = [0u8; 8];
        let n = usize::from(size.min(8));
        d.read_config(off, &mut b[..n]);
        u64::from_le_bytes(b)
    }

    fn config_write(&mut self, off: u64, size: u8, val: u64) {
        let Some(d) = self.dev.as_mut() else { return };
        let n = usize::from(size.min(8));
        d.write_config(off, &val.to_le_bytes()[..n]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sim_core::irq::IrqLines;
    use std::cell::RefCell;
    use std::rc::Rc;

    pub const RAM: u64 = 0x4000_0000;

    /// A test device: 2 queues of 8; queue 0 echoes readable bytes into writable ones
    /// of the same chain, and everything read is logged.
    pub struct Echo {
        pub log: Rc<RefCell<Vec<u8>>>,
        pub resets: Rc<RefCell<u32>>,
    }

    impl VirtioDevice for Echo {
        fn device_id(&self) -> u32 {
            42
        }
        fn features(&self) -> u64 {
            1 << 3
        }
        fn queue_max_sizes(&self) -> Vec<u16> {
            vec![8, 8]
        }
        fn read_config(&self, off: u64, data: &mut [u8]) {
            for (i, b) in data.iter_mut().enumerate() {
                *b = (off as u8).wrapping_add(i as u8);
            }
        }
        fn write_config(&mut self, _off: u64, _data: &[u8]) {}
        fn reset(&mut self) {
            *self.resets.borrow_mut() += 1;
        }
        fn process(
            &mut self,
            _n: Option<usize>,
            queues: &mut [Queue],
            _f: u64,
            mem: &mut GuestRam,
        ) -> Result<Work, QueueError> {
            let q = &mut queues[0];
            while let Some(c) = q.pop(mem)? {
                let data = c.read_all(mem);
                self.log.borrow_mut().extend_from_slice(&data);
                let n = c.write_all(mem, &data);
                q.push_used(mem, c.head, n)?;
            }
            Ok(Work::default())
        }
    }

    pub struct Setup {
        pub t: VirtioMmio,
        pub mem: GuestRam,
        pub lines: Rc<IrqLines>,
        pub log: Rc<RefCell<Vec<u8>>>,
    }

    // Queue 0 layout used by the tests: desc at RAM+0x1000, avail RAM+0x2000, used RAM+0x3000.
    pub const DESC: u64 = RAM + 0x1000;
    pub const AVAIL: u64 = RAM + 0x2000;
    pub const USED: u64 = RAM + 0x3000;

    pub fn w(s: &mut Setup, off: u64, v: u32) {
        s.t.write(off, 4, u64::from(v), &mut s.mem);
    }
    pub fn r(s: &mut Setup, off: u64) -> u32 {
        s.t.read(off, 4) as u32
    }

    /// Negotiates `features` and sets queue `qi` up with `size` entries at DESC/AVAIL/USED.
    pub fn bring_up(s: &mut Setup, features: u64, qi: u32, size: u32) -> u32 {
        w(s, REG_STATUS, STATUS_ACKNOWLEDGE);
        w(s, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
        w(s, REG_DRIVER_FEATURES_SEL, 0);
        w(s, REG_DRIVER_FEATURES, features as u32);
        w(s, REG_DRIVER_FEATURES_SEL, 1);
        w(s, REG_DRIVER_FEATURES, (features >> 32) as u32);
        w(s, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
        let st = r(s, REG_STATUS);
        if st & STATUS_FEATURES_OK == 0 {
            return st;
        }
        w(s, REG_QUEUE_SEL, qi);
        w(s, REG_QUEUE_NUM, size);
        w(s, REG_QUEUE_DESC_LOW, DESC as u32);
        w(s, REG_QUEUE_DESC_HIGH, (DESC >> 32) as u32);
        w(s, REG_QUEUE_DRIVER_LOW, AVAIL as u32);
        w(s, REG_QUEUE_DRIVER_HIGH, 0);
        w(s, REG_QUEUE_DEVICE_LOW, USED as u32);
        w(s, REG_QUEUE_DEVICE_HIGH, 0);
        w(s, REG_QUEUE_READY, 1);
        w(s, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
        r(s, REG_STATUS)
    }

    pub fn setup_with(dev: Box<dyn VirtioDevice>, log: Rc<RefCell<Vec<u8>>>) -> Setup {
        let lines = IrqLines::new();
        let t = VirtioMmio::new(Some(dev), lines.line(5));
        let mem = GuestRam::new(&[(GuestPhys(RAM), 0x10_0000)]).unwrap();
        Setup { t, mem, lines, log }
    }

    fn setup() -> Setup {
        let log = Rc::new(RefCell::new(Vec::new()));
        setup_with(Box::new(Echo { log: log.clone(), resets: Rc::new(RefCell::new(0)) }), log)
    }

    pub fn desc(s: &mut Setup, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&addr.to_le_bytes());
        b[8..12].copy_from_slice(&len.to_le_bytes());
        b[12..14].copy_from_slice(&flags.to_le_bytes());
        b[14..].copy_from_slice(&next.to_le_bytes());
        assert!(s.mem.write(GuestPhys(DESC + 16 * u64::from(i)), &b));
    }

    /// Publishes `head` in avail slot `idx % size` and sets avail.idx = idx + 1.
    pub fn avail(s: &mut Setup, size: u16, idx: u16, head: u16) {
        let slot = u64::from(idx % size);
        assert!(s.mem.write(GuestPhys(AVAIL + 4 + 2 * slot), &head.to_le_bytes()));
        assert!(s.mem.write(GuestPhys(AVAIL + 2), &idx.wrapping_add(1).to_le_bytes()));
    }

    fn used_idx(s: &Setup) -> u16 {
        u16::from_le_bytes(s.mem.read_le::<2>(GuestPhys(USED + 2)).unwrap())
    }

    #[test]
    fn identification_and_empty_slot() {
        let lines = IrqLines::new();
        let mut mem = GuestRam::new(&[(GuestPhys(RAM), 0x1000)]).unwrap();
        let mut t = VirtioMmio::new(None, lines.line(1));
        assert_eq!(t.read(REG_MAGIC, 4), 0x7472_6976);
        assert_eq!(t.read(REG_VERSION, 4), 2);
        assert_eq!(t.read(REG_DEVICE_ID, 4), 0);
        assert_eq!(t.read(REG_VENDOR_ID, 4), u64::from(VENDOR_ID));
        assert_eq!(t.read(REG_DEVICE_FEATURES, 4), 0);
        assert_eq!(t.read(REG_QUEUE_NUM_MAX, 4), 0);
        t.write(REG_STATUS, 4, 0xf, &mut mem);
        assert_eq!(t.read(REG_STATUS, 4), 0);
        t.write(REG_QUEUE_NOTIFY, 4, 0, &mut mem);
        assert_eq!(t.read(REG_CONFIG, 4), 0);

        let mut s = setup();
        assert_eq!(r(&mut s, REG_DEVICE_ID), 42);
        // Byte reads of control registers are not allowed: 0.
        assert_eq!(s.t.read(REG_MAGIC, 1), 0);
        assert_eq!(s.t.read(REG_MAGIC + 2, 4), 0);
        w(&mut s, REG_DEVICE_FEATURES_SEL, 0);
        assert_eq!(r(&mut s, REG_DEVICE_FEATURES), 1 << 3);
        w(&mut s, REG_DEVICE_FEATURES_SEL, 1);
        assert_eq!(r(&mut s, REG_DEVICE_FEATURES), 1);
        w(&mut s, REG_DEVICE_FEATURES_SEL, 2);
        assert_eq!(r(&mut s, REG_DEVICE_FEATURES), 0);
        w(&mut s, REG_QUEUE_SEL, 1);
        assert_eq!(r(&mut s, REG_QUEUE_NUM_MAX), 8);
        w(&mut s, REG_QUEUE_SEL, 2);
        assert_eq!(r(&mut s, REG_QUEUE_NUM_MAX), 0);
        assert_eq!(r(&mut s, REG_SHM_LEN_LOW), u32::MAX);
        assert_eq!(s.t.read(REG_CONFIG + 3, 2), 0x0403);
        assert_eq!(r(&mut s, REG_CONFIG_GENERATION), 0);
    }

    #[test]
    fn feature_negotiation() {
        let mut s = setup();
        // VERSION_1 missing: FEATURES_OK refused.
        let st = bring_up(&mut s, 1 << 3, 0, 8);
        assert_eq!(st & STATUS_FEATURES_OK, 0);
        w(&mut s, REG_STATUS, 0);
        // A feature not offered: refused.
        let st = bring_up(&mut s, VIRTIO_F_VERSION_1 | 1 << 4, 0, 8);
        assert_eq!(st & STATUS_FEATURES_OK, 0);
        w(&mut s, REG_STATUS, 0);
        assert_eq!(r(&mut s, REG_STATUS), 0);
        let st = bring_up(&mut s, VIRTIO_F_VERSION_1 | 1 << 3, 0, 8);
        assert_eq!(st, 0xf);
        // Features cannot change after FEATURES_OK.
        w(&mut s, REG_DRIVER_FEATURES_SEL, 0);
        w(&mut s, REG_DRIVER_FEATURES, 0);
        assert_eq!(s.t.driver_features, VIRTIO_F_VERSION_1 | 1 << 3);
    }

    #[test]
    fn echo_chain_and_interrupts() {
        let mut s = setup();
        assert_eq!(bring_up(&mut s, VIRTIO_F_VERSION_1, 0, 8), 0xf);
        assert!(s.mem.write(GuestPhys(RAM + 0x8000), b"hello"));
        desc(&mut s, 3, RAM + 0x8000, 3, VIRTQ_DESC_F_NEXT, 5);
        desc(&mut s, 5, RAM + 0x8003, 2, VIRTQ_DESC_F_NEXT, 1);
        desc(&mut s, 1, RAM + 0x9000, 16, VIRTQ_DESC_F_WRITE, 0);
        avail(&mut s, 8, 0, 3);
        assert_eq!(s.lines.levels() & 1 << 5, 0);
        w(&mut s, REG_QUEUE_NOTIFY, 0);
        assert_eq!(&*s.log.borrow(), b"hello");
        assert_eq!(s.mem.slice(GuestPhys(RAM + 0x9000), 5).unwrap(), b"hello");
        assert_eq!(used_idx(&s), 1);
        assert_eq!(s.mem.read_u32(GuestPhys(USED + 4)), Some(3));
        assert_eq!(s.mem.read_u32(GuestPhys(USED + 8)), Some(5));
        assert_eq!(r(&mut s, REG_INTERRUPT_STATUS), INT_VRING);
        assert_ne!(s.lines.levels() & 1 << 5, 0);
        w(&mut s, REG_INTERRUPT_ACK, INT_VRING);
        assert_eq!(r(&mut s, REG_INTERRUPT_STATUS), 0);
        assert_eq!(s.lines.levels() & 1 << 5, 0);
        // With VIRTQ_AVAIL_F_NO_INTERRUPT the buffer is used silently; the ring wraps.
        assert!(s.mem.write(GuestPhys(AVAIL), &1u16.to_le_bytes()));
        for i in 1..20u16 {
            desc(&mut s, 0, RAM + 0x8000, 1, 0, 0);
            avail(&mut s, 8, i, 0);
            w(&mut s, REG_QUEUE_NOTIFY, 0);
        }
        assert_eq!(used_idx(&s), 20);
        assert_eq!(r(&mut s, REG_INTERRUPT_STATUS), 0);
        assert_eq!(r(&mut s, REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, 0);
        // Queue registers are frozen while ready; reset clears QueueReady.
        w(&mut s, REG_QUEUE_NUM, 4);
        assert_eq!(s.t.queues()[0].size, 8);
        w(&mut s, REG_STATUS, 0);
        assert_eq!(r(&mut s, REG_QUEUE_READY), 0);
        assert_eq!(r(&mut s, REG_STATUS), 0);
    }

    /// Every malformed chain ends in DEVICE_NEEDS_RESET with a configuration interrupt, and
    /// nothing is processed afterwards.
    #[test]
    fn malformed_chains_need_reset() {
        type Case = (&'static str, fn(&mut Setup), QueueError);
        let cases: [Case; 7] = [
            ("index out of range", |s| avail(s, 8, 0, 9), QueueError::DescIndex(9)),
            (
                "next out of range",
                |s| {
                    desc(s, 0, RAM + 0x8000, 1, VIRTQ_DESC_F_NEXT, 8);
                    avail(s, 8, 0, 0)
                },
                QueueError::DescIndex(8),
            ),
            (
                "loop",
                |s| {
                    desc(s, 0, RAM + 0x8000, 1, VIRTQ_DESC_F_NEXT, 1);
                    desc(s, 1, RAM + 0x8000, 1, VIRTQ_DESC_F_NEXT, 0);
                    avail(s, 8, 0, 0)
                },
                QueueError::ChainTooLong,
            ),
            (
                "self loop",
                |s| {
                    desc(s, 2, RAM + 0x8000, 1, VIRTQ_DESC_F_NEXT, 2);
                    avail(s, 8, 0, 2)
                },
                QueueError::ChainTooLong,
            ),
            (
                "buffer outside RAM",
                |s| {
                    desc(s, 0, RAM + 0xf_fff0, 0x20, 0, 0);
                    avail(s, 8, 0, 0)
                },
                QueueError::BufferOutsideRam { addr: RAM + 0xf_fff0, len: 0x20 },
            ),
            (
                "readable after writable",
                |s| {
                    desc(s, 0, RAM + 0x8000, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
                    desc(s, 1, RAM + 0x8000, 1, 0, 0);
                    avail(s, 8, 0, 0)
                },
                QueueError::ReadableAfterWritable,
            ),
            (
                "indirect",
                |s| {
                    desc(s, 0, RAM + 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
                    avail(s, 8, 0, 0)
                },
                QueueError::Indirect,
            ),
        ];
        for (name, f, err) in cases {
            let mut s = setup();
            assert_eq!(bring_up(&mut s, VIRTIO_F_VERSION_1, 0, 8), 0xf, "{name}");
            f(&mut s);
            w(&mut s, REG_QUEUE_NOTIFY, 0);
            assert_eq!(s.t.last_error, Some(err), "{name}");
            assert_ne!(r(&mut s, REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, 0, "{name}");
            assert_eq!(r(&mut s, REG_INTERRUPT_STATUS), INT_CONFIG, "{name}");
            assert_ne!(s.lines.levels() & 1 << 5, 0, "{name}");
            assert_eq!(used_idx(&s), 0, "{name}");
            // The driver cannot clear NEEDS_RESET except by resetting.
            w(&mut s, REG_STATUS, 0xf);
            assert_ne!(r(&mut s, REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, 0, "{name}");
            w(&mut s, REG_STATUS, 0);
            assert_eq!(r(&mut s, REG_STATUS), 0, "{name}");
            assert_eq!(s.lines.levels() & 1 << 5, 0, "{name}");
            // And the device works again after a fresh bring-up (with fresh rings: the
            // driver reinitialises them, spec 2.7.1).
            assert!(s.mem.write(GuestPhys(AVAIL), &[0; 0x20]));
            assert!(s.mem.write(GuestPhys(USED), &[0; 0x50]));
            assert_eq!(bring_up(&mut s, VIRTIO_F_VERSION_1, 0, 8), 0xf, "{name}");
            desc(&mut s, 0, RAM + 0x8000, 1, 0, 0);
            avail(&mut s, 8, 0, 0);
            w(&mut s, REG_QUEUE_NOTIFY, 0);
            assert_eq!(used_idx(&s), 1, "{name}");
        }
    }

    #[test]
    fn avail_index_too_far_ahead() {
        let mut s = setup();
        assert_eq!(bring_up(&mut s, VIRTIO_F_VERSION_1, 0, 8), 0xf);
        assert!(s.mem.write(GuestPhys(AVAIL + 2), &9u16.to_le_bytes()));
        w(&mut s, REG_QUEUE_NOTIFY, 0);
        assert_eq!(s.t.last_error, Some(QueueError::AvailIndex { avail: 9, last: 0 }));
    }

    #[test]
    fn bad_queue_configuration() {
        // Size not a power of two, above the maximum, zero; misaligned or outside RAM.
        let bad: [(u32, u64); 5] =
            [(6, DESC), (16, DESC), (0, DESC), (8, DESC + 8), (8, RAM + 0x10_0000 - 0x40)];
        for (size, d) in bad {
            let mut s = setup();
            bring_up(&mut s, VIRTIO_F_VERSION_1, 0, 8);
            w(&mut s, REG_STATUS, 0);
            w(&mut s, REG_STATUS, 1);
            w(&mut s, REG_QUEUE_NUM, size);
            w(&mut s, REG_QUEUE_DESC_LOW, d as u32);
            w(&mut s, REG_QUEUE_DRIVER_LOW, AVAIL as u32);
            w(&mut s, REG_QUEUE_DEVICE_LOW, USED as u32);
            w(&mut s, REG_QUEUE_READY, 1);
            assert_eq!(r(&mut s, REG_QUEUE_READY), 0, "size {size} desc {d:#x}");
            assert_ne!(r(&mut s, REG_STATUS) & STATUS_DEVICE_NEEDS_RESET, 0);
        }
    }

    #[test]
    fn random_register_and_ring_garbage_never_panics() {
        let mut g = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            g = g.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            g >> 11
        };
        for round in 0..40 {
            let mut s = setup();
            bring_up(&mut s, VIRTIO_F_VERSION_1, 0, 8);
            // Random descriptor table and avail ring contents.
            for i in 0..0x100u64 {
                let v = next();
                let v = if round % 2 == 0 { v & 0x0000_0000_ffff_ff0f | 0x4000_0000 } else { v };
                s.mem.write_u64(GuestPhys(DESC + 8 * i), v);
                s.mem.write_u64(GuestPhys(AVAIL + 8 * (i % 8)), next() & 0x0007_0007_0007_0007);
            }
            for _ in 0..200 {
                let off = (next() % 0x110) & !3;
                let size = [1u8, 2, 4, 8][(next() % 4) as usize];
                if next() % 3 == 0 {
                    s.t.read(off, size);
                } else {
                    let v = if off == REG_QUEUE_NOTIFY { next() % 3 } else { next() };
                    s.t.write(off, size, v, &mut s.mem);
                }
                s.t.process(None, &mut s.mem);
            }
        }
    }
}
