//! The machine clock and its event queue.
//!
//! Time is counted in CPU cycles of the machine clock. Timer devices schedule events at an
//! absolute tick with a named [`Priority`]; events at the same tick fire in priority order,
//! then in the order they were scheduled, so a run is deterministic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Named priorities of events that fire at the same tick (lower fires first).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Clock and counter updates that other events may read.
    Clock = 0,
    /// Timer expiries (PIT, APIC timer, HPET, RTC).
    Timer = 10,
    /// Other device work (serial transmit completion and the like).
    Device = 20,
    /// Host-visible bookkeeping (statistics, limits).
    Host = 30,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    tick: u64,
    prio: Priority,
    seq: u64,
}

/// A min-queue of events keyed by `(tick, priority, insertion order)`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(Key, Slot<E>)>>,
    seq: u64,
}

struct Slot<E>(E);
impl<E> PartialEq for Slot<E> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<E> Eq for Slot<E> {}
impl<E> PartialOrd for Slot<E> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Slot<E> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self { heap: BinaryHeap::new(), seq: 0 }
    }
    /// Schedules `ev` at absolute `tick`.
    pub fn schedule(&mut self, tick: u64, prio: Priority, ev: E) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Reverse((Key { tick, prio, seq }, Slot(ev))));
    }
    /// The tick of the earliest event.
    pub fn next_tick(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((k, _))| k.tick)
    }
    /// Removes and returns the earliest event if it is due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<(u64, E)> {
        if self.next_tick()? <= now {
            self.heap.pop().map(|Reverse((k, Slot(e)))| (k.tick, e))
        } else {
            None
        }
    }
    /// Number of queued events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_tick_then_priority_then_fifo() {
        let mut q = EventQueue::new();
        q.schedule(10, Priority::Device, "d10");
        q.schedule(5, Priority::Host, "h5");
        q.schedule(10, Priority::Timer, "t10a");
        q.schedule(10, Priority::Timer, "t10b");
        q.schedule(5, Priority::Clock, "c5");
        assert_eq!(q.next_tick(), Some(5));
        assert_eq!(q.pop_due(4), None);
        let mut got = vec![];
        while let Some((_, e)) = q.pop_due(100) {
            got.push(e);
        }
        assert_eq!(got, ["c5", "h5", "t10a", "t10b", "d10"]);
        assert!(q.is_empty());
    }
}
