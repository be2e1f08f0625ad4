//! MMIO and port-I/O buses.
//!
//! Both buses are range maps (`BTreeMap` keyed by range start) from an address range to a
//! device; overlapping registrations are refused. A device declares which access sizes it
//! handles ([`AccessSize`] mask); the bus splits wider accesses into the widest declared size
//! and widens narrower ones (reads extract the bytes asked for; writes carry the value in its
//! byte lanes with the other lanes zero). Unclaimed reads return all ones and unclaimed writes
//! are dropped, as on a PC's ISA bus. Every access carries the current tick and devices may
//! schedule events on the machine's [`EventQueue`].

use crate::clock::{EventQueue, Priority};
use crate::{Error, GuestPhys, Result};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A set of access sizes in bytes (bit n set: 2^n bytes allowed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AccessSize(pub u8);

impl AccessSize {
    /// 1-byte accesses only.
    pub const B1: Self = Self(1);
    /// 1- and 2-byte accesses.
    pub const B1_2: Self = Self(3);
    /// 1-, 2- and 4-byte accesses.
    pub const B1_4: Self = Self(7);
    /// 4-byte accesses only.
    pub const B4: Self = Self(4);
    /// 4- and 8-byte accesses.
    pub const B4_8: Self = Self(12);
    /// Any size from 1 to 8 bytes.
    pub const ANY: Self = Self(15);

    fn allows(self, size: u8) -> bool {
        size.is_power_of_two() && size <= 8 && self.0 & (1 << size.trailing_zeros()) != 0
    }
    fn widest_at_most(self, size: u8) -> Option<u8> {
        (0..4).rev().map(|s| 1u8 << s).find(|&s| s <= size && self.0 & (1 << s.trailing_zeros()) != 0)
    }
    fn narrowest(self) -> u8 {
        1 << self.0.trailing_zeros().min(3)
    }
}

/// Context handed to a device on every access or event: the current tick and a way to
/// schedule the device's own events.
pub struct IoCtx<'a> {
    /// Current machine tick (cycles).
    pub now: u64,
    queue: &'a mut EventQueue<(usize, u64)>,
    dev: usize,
}

impl IoCtx<'_> {
    /// Schedules `token` to be delivered to this device's `on_event` at absolute `tick`.
    pub fn schedule(&mut self, tick: u64, prio: Priority, token: u64) {
        self.queue.schedule(tick, prio, (self.dev, token));
    }
}

/// A device reachable through port I/O.
pub trait PioDevice {
    /// Reads `size` bytes at `port`.
    fn pio_read(&mut self, port: u16, size: u8, ctx: &mut IoCtx) -> u32;
    /// Writes `size` bytes at `port`.
    fn pio_write(&mut self, port: u16, size: u8, val: u32, ctx: &mut IoCtx);
}

/// A device reachable through MMIO; `offset` is relative to the registered base.
pub trait MmioDevice {
    /// Reads `size` bytes at `offset`.
    fn mmio_read(&mut self, offset: u64, size: u8, ctx: &mut IoCtx) -> u64;
    /// Writes `size` bytes at `offset`.
    fn mmio_write(&mut self, offset: u64, size: u8, val: u64, ctx: &mut IoCtx);
}

/// Every device: a name, and optionally scheduled events.
pub trait Device {
    /// Short name for messages (`"uart0"`, `"pit"`).
    fn name(&self) -> &str;
    /// A scheduled event with `token` is due.
    fn on_event(&mut self, _token: u64, _ctx: &mut IoCtx) {}
    /// As a port-I/O device, if it is one.
    fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
        None
    }
    /// As an MMIO device, if it is one.
    fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
        None
    }
}

/// A shared handle to a device (the machine is single-threaded and deterministic).
pub type DeviceRef = Rc<RefCell<dyn Device>>;

#[derive(Clone)]
struct Range {
    end: u64, // exclusive
    dev: usize,
    sizes: AccessSize,
}

#[derive(Default)]
struct RangeMap {
    map: BTreeMap<u64, Range>,
}

impl RangeMap {
    fn insert(&mut self, start: u64, len: u64, r: Range, names: &[(String, DeviceRef)]) -> Result<()> {
        let end = start + len;
        let clash = self.map.range(..end).next_back().filter(|(&s, e)| s < end && start < e.end);
        if let Some((_, other)) = clash {
            return Err(Error::Overlap {
                start,
                end,
                name: names[r.dev].0.clone(),
                other: names[other.dev].0.clone(),
            });
        }
        self.map.insert(start, Range { end, ..r });
        Ok(())
    }
    #[inline]
    fn find(&self, addr: u64) -> Option<(u64, &Range)> {
        let (&s, r) = self.map.range(..=addr).next_back()?;
        (addr < r.end).then_some((s, r))
    }
}

/// The machine's buses, devices and event queue.
pub struct Bus {
    devs: Vec<(String, DeviceRef)>,
    pio: RangeMap,
    mmio: RangeMap,
    queue: EventQueue<(usize, u64)>,
    /// Accesses that hit no device.
    pub unclaimed: u64,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Self {
        Self {
            devs: Vec::new(),
            pio: RangeMap::default(),
            mmio: RangeMap::default(),
            queue: EventQueue::new(),
            unclaimed: 0,
        }
    }

    /// Adds a device; returns its index (used in range registration).
    pub fn add_device(&mut self, dev: DeviceRef) -> usize {
        let name = dev.borrow().name().to_string();
        self.devs.push((name, dev));
        self.devs.len() - 1
    }

    /// Maps ports `[port, port+len)` to device `dev`.
    pub fn map_pio(&mut self, dev: usize, port: u16, len: u16, sizes: AccessSize) -> Result<()> {
        let r = Range { end: 0, dev, sizes };
        self.pio.insert(port as u64, len as u64, r, &self.devs)
    }

    /// Maps `[base, base+len)` of physical address space to device `dev`.
    pub fn map_mmio(&mut self, dev: usize, base: GuestPhys, len: u64, sizes: AccessSize) -> Result<()> {
        let r = Range { end: 0, dev, sizes };
        self.mmio.insert(base.raw(), len, r, &self.devs)
    }

    /// True if `pa` is claimed by an MMIO device.
    pub fn is_mmio(&self, pa: GuestPhys) -> bool {
        self.mmio.find(pa.raw()).is_some()
    }

    /// All MMIO ranges with their device names (for overlap checks by loaders).
    pub fn mmio_ranges(&self) -> Vec<(u64, u64, String)> {
        self.mmio.map.iter().map(|(&s, r)| (s, r.end, self.devs[r.dev].0.clone())).collect()
    }

    fn ctx(&mut self, now: u64, dev: usize) -> IoCtx<'_> {
        IoCtx { now, queue: &mut self.queue, dev }
    }

    /// Port read of `size` (1, 2 or 4) bytes.
    pub fn pio_read(&mut self, port: u16, size: u8, now: u64) -> u32 {
        let mut val = 0u32;
        let mut done = 0u8;
        while done < size {
            let p = port.wrapping_add(done as u16);
            let Some((_, r)) = self.pio.find(p as u64) else {
                self.unclaimed += 1;
                val |= 0xff << (done * 8);
                done += 1;
                continue;
            };
            let (dev, sizes) = (r.dev, r.sizes);
            let step = sizes.widest_at_most(size - done).unwrap_or(sizes.narrowest());
            let d = self.devs[dev].1.clone();
            let mut ctx = self.ctx(now, dev);
            let mut b = d.borrow_mut();
            let v = b.as_pio().map_or(u32::MAX, |pd| pd.pio_read(p, step, &mut ctx));
            let take = step.min(size - done);
            let mask = if take >= 4 { u32::MAX } else { (1u32 << (take * 8)) - 1 };
            val |= (v & mask) << (done * 8);
            done += take;
        }
        val
    }

    /// Port write of `size` (1, 2 or 4) bytes.
    pub fn pio_write(&mut self, port: u16, size: u8, val: u32, now: u64) {
        let mut done = 0u8;
        while done < size {
            let p = port.wrapping_add(done as u16);
            let Some((_, r)) = self.pio.find(p as u64) else {
                self.unclaimed += 1;
                done += 1;
                continue;
            };
            let (dev, sizes) = (r.dev, r.sizes);
            let step = sizes.widest_at_most(size - done).unwrap_or(sizes.narrowest());
            let take = step.min(size - done);
            let mask = if take >= 4 { u32::MAX } else { (1u32 << (take * 8)) - 1 };
            let part = (val >> (done * 8)) & mask;
            let d = self.devs[dev].1.clone();
            let mut ctx = self.ctx(now, dev);
            if let Some(pd) = d.borrow_mut().as_pio() {
                pd.pio_write(p, step, part, &mut ctx);
            }
            done += take;
        }
    }

    /// MMIO read of `size` (1, 2, 4 or 8) bytes; `None` if no device claims `pa`.
    pub fn mmio_read(&mut self, pa: GuestPhys, size: u8, now: u64) -> Option<u64> {
        let (start, r) = self.mmio.find(pa.raw())?;
        let (dev, sizes) = (r.dev, r.sizes);
        let d = self.devs[dev].1.clone();
        let off = pa.raw() - start;
        let mut ctx = self.ctx(now, dev);
        let mut b = d.borrow_mut();
        let md = b.as_mmio()?;
        if sizes.allows(size) {
            return Some(md.mmio_read(off, size, &mut ctx));
        }
        // Split into the widest allowed pieces, or widen to the narrowest.
        let step = sizes.widest_at_most(size).unwrap_or(sizes.narrowest());
        let mut val = 0u64;
        let mut done = 0u8;
        while done < size {
            let o = off + done as u64;
            let aligned = o & !(step as u64 - 1);
            let v = md.mmio_read(aligned, step, &mut ctx) >> ((o - aligned) * 8);
            let take = (step - (o - aligned) as u8).min(size - done);
            let mask = if take >= 8 { u64::MAX } else { (1u64 << (take * 8)) - 1 };
            val |= (v & mask) << (done * 8);
            done += take;
        }
        Some(val)
    }

    /// MMIO write; `false` if no device claims `pa`.
    pub fn mmio_write(&mut self, pa: GuestPhys, size: u8, val: u64, now: u64) -> bool {
        let Some((start, r)) = self.mmio.find(pa.raw()) else {
            return false;
        };
        let (dev, sizes) = (r.dev, r.sizes);
        let d = self.devs[dev].1.clone();
        let off = pa.raw() - start;
        let mut ctx = self.ctx(now, dev);
        let mut b = d.borrow_mut();
        let Some(md) = b.as_mmio() else {
            return false;
        };
        if sizes.allows(size) {
            md.mmio_write(off, size, val, &mut ctx);
            return true;
        }
        let step = sizes.widest_at_most(size).unwrap_or(sizes.narrowest());
        let mut done = 0u8;
        while done < size {
            let o = off + done as u64;
            let aligned = o & !(step as u64 - 1);
            let lane = (o - aligned) as u8;
            let take = (step - lane).min(size - done);
            let mask = if take >= 8 { u64::MAX } else { (1u64 << (take * 8)) - 1 };
            let part = ((val >> (done * 8)) & mask) << (lane * 8);
            md.mmio_write(aligned, step, part, &mut ctx);
            done += take;
        }
        true
    }

    /// Tick of the earliest scheduled device event.
    pub fn next_event(&self) -> Option<u64> {
        self.queue.next_tick()
    }

    /// Schedules an event for device `dev` from outside an access (e.g. at reset).
    pub fn schedule(&mut self, dev: usize, tick: u64, prio: Priority, token: u64) {
        self.queue.schedule(tick, prio, (dev, token));
    }

    /// Delivers every event due at or before `now`; returns how many fired.
    pub fn run_events(&mut self, now: u64) -> usize {
        let mut n = 0;
        while let Some((tick, (dev, token))) = self.queue.pop_due(now) {
            let d = self.devs[dev].1.clone();
            let mut ctx = IoCtx { now: tick, queue: &mut self.queue, dev };
            d.borrow_mut().on_event(token, &mut ctx);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Regs {
        name: &'static str,
        mem: [u8; 16],
        log: Vec<(u64, u8)>,
        fired: Vec<(u64, u64)>,
    }
    impl Device for Regs {
        fn name(&self) -> &str {
            self.name
        }
        fn on_event(&mut self, token: u64, ctx: &mut IoCtx) {
            self.fired.push((ctx.now, token));
        }
        fn as_pio(&mut self) -> Option<&mut dyn PioDevice> {
            Some(self)
        }
        fn as_mmio(&mut self) -> Option<&mut dyn MmioDevice> {
            Some(self)
        }
    }
    impl PioDevice for Regs {
        fn pio_read(&mut self, port: u16, size: u8, _: &mut IoCtx) -> u32 {
            self.log.push((port as u64, size));
            self.mem[(port & 15) as usize] as u32
        }
        fn pio_write(&mut self, port: u16, size: u8, val: u32, ctx: &mut IoCtx) {
            self.log.push((port as u64, size));
            self.mem[(port & 15) as usize] = val as u8;
            ctx.schedule(ctx.now + 5, Priority::Timer, val as u64);
        }
    }
    impl MmioDevice for Regs {
        fn mmio_read(&mut self, off: u64, size: u8, _: &mut IoCtx) -> u64 {
            self.log.push((off, size));
            let mut v = 0u64;
            for i in 0..size as usize {
                v |= (self.mem[off as usize + i] as u64) << (8 * i);
            }
            v
        }
        fn mmio_write(&mut self, off: u64, size: u8, val: u64, _: &mut IoCtx) {
            self.log.push((off, size));
            for i in 0..size as usize {
                self.mem[off as usize + i] = (val >> (8 * i)) as u8;
            }
        }
    }
    fn regs(name: &'static str) -> Rc<RefCell<Regs>> {
        Rc::new(RefCell::new(Regs { name, mem: [0; 16], log: vec![], fired: vec![] }))
    }

    #[test]
    fn pio_split_unclaimed_and_events() {
        let r = regs("r");
        let mut bus = Bus::new();
        let i = bus.add_device(r.clone());
        bus.map_pio(i, 0x10, 4, AccessSize::B1).unwrap();
        bus.pio_write(0x10, 2, 0xbbaa, 100);
        assert_eq!(r.borrow().mem[0..2], [0xaa, 0xbb]);
        assert_eq!(bus.pio_read(0x10, 2, 0), 0xbbaa);
        // Port 0x14 is unclaimed: ones.
        assert_eq!(bus.pio_read(0x13, 2, 0), 0xff00);
        assert_eq!(bus.unclaimed, 1);
        assert_eq!(bus.next_event(), Some(105));
        assert_eq!(bus.run_events(104), 0);
        assert_eq!(bus.run_events(200), 2);
        assert_eq!(r.borrow().fired, vec![(105, 0xaa), (105, 0xbb)]);
    }

    #[test]
    fn overlaps_are_refused() {
        let mut bus = Bus::new();
        let a = bus.add_device(regs("a"));
        let b = bus.add_device(regs("b"));
        bus.map_mmio(a, GuestPhys(0x1000), 0x100, AccessSize::ANY).unwrap();
        let e = bus.map_mmio(b, GuestPhys(0x10f0), 0x100, AccessSize::ANY).unwrap_err();
        assert!(e.to_string().contains("`b` overlaps `a`"), "{e}");
        bus.map_mmio(b, GuestPhys(0x1100), 0x100, AccessSize::ANY).unwrap();
        assert!(bus.is_mmio(GuestPhys(0x11ff)) && !bus.is_mmio(GuestPhys(0x1200)));
    }

    #[test]
    fn mmio_split_and_widen() {
        let r = regs("r");
        let mut bus = Bus::new();
        let i = bus.add_device(r.clone());
        bus.map_mmio(i, GuestPhys(0x2000), 16, AccessSize::B4).unwrap();
        assert!(bus.mmio_write(GuestPhys(0x2000), 8, 0x1122_3344_5566_7788, 0));
        assert_eq!(bus.mmio_read(GuestPhys(0x2000), 8, 0), Some(0x1122_3344_5566_7788));
        // A 1-byte read at offset 5 widens to the 4-byte register at offset 4.
        assert_eq!(bus.mmio_read(GuestPhys(0x2005), 1, 0), Some(0x33));
        assert_eq!(r.borrow().log.last(), Some(&(4, 4)));
        assert_eq!(bus.mmio_read(GuestPhys(0x3000), 4, 0), None);
    }
}
