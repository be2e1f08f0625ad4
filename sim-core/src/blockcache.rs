//! The basic-block cache, generic over the architecture's decoded-block type.
//!
//! Blocks are keyed by (guest physical PC, virtual PC, mode bits that change decoding). A
//! block remembers the code generation of its page ([`crate::GuestRam::code_gen`]); a store
//! into a line holding its code bumps that generation and the block is decoded again on its
//! next use. Lookup goes through the successor links of the previous block (direct
//! chaining), then a direct-mapped jump cache indexed by the virtual PC, then a hash map. The
//! cache is bounded: when it holds more than its capacity of instructions it is flushed
//! wholesale. Blocks are shared (`Rc`) so an executing block stays alive across a flush.

use serde::Serialize;
use std::collections::HashMap;
use std::rc::Rc;

/// What identifies a decoded block.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlockKey {
    /// Guest physical address of the first instruction.
    pub pa: u64,
    /// Virtual PC of the first instruction (decoded branch targets depend on it).
    pub va: u64,
    /// Mode bits that change decoding or semantics fixed at decode time.
    pub mode: u32,
}

/// A cached block.
pub struct CachedBlock<B> {
    pub key: BlockKey,
    /// Machine-wide page number of the block's code and its generation at decode time.
    pub page: usize,
    pub gen: u32,
    /// The architecture's decoded form.
    pub body: B,
    /// Successor links: (virtual PC, block id) of blocks that followed this one.
    succ: [(u64, u32); 2],
    next_slot: u8,
}

/// Hit, miss and invalidation counters.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct BlockStats {
    /// Blocks found through a successor link.
    pub chained: u64,
    /// Blocks found in the jump cache or hash map.
    pub hits: u64,
    /// Blocks that had to be decoded.
    pub misses: u64,
    /// Blocks found stale because their code was written.
    pub invalidations: u64,
    /// Wholesale flushes (capacity reached or requested).
    pub flushes: u64,
}

const JUMP_CACHE: usize = 4096;
const NONE: u32 = u32::MAX;

/// The cache itself.
pub struct BlockCache<B> {
    blocks: Vec<Rc<CachedBlock<B>>>,
    map: HashMap<BlockKey, u32>,
    jump: Box<[u32]>,
    insns: usize,
    capacity: usize,
    /// Counters.
    pub stats: BlockStats,
}

impl<B> BlockCache<B> {
    /// A cache that flushes itself beyond `capacity` decoded instructions.
    pub fn new(capacity: usize) -> Self {
        Self {
            blocks: Vec::new(),
            map: HashMap::new(),
            jump: vec![NONE; JUMP_CACHE].into_boxed_slice(),
            insns: 0,
            capacity,
            stats: BlockStats::default(),
        }
    }

    #[inline]
    fn slot(va: u64) -> usize {
        ((va ^ (va >> 12)) as usize) & (JUMP_CACHE - 1)
    }

    /// Finds the block for `key` whose code generation is still `gen_of(page)`. `prev` is the
    /// block that ran before (for chaining).
    #[inline]
    pub fn lookup(
        &mut self,
        key: BlockKey,
        prev: Option<u32>,
        gen_of: impl Fn(usize) -> u32,
    ) -> Option<(u32, Rc<CachedBlock<B>>)> {
        // 1. Successor link of the previous block.
        if let Some(pid) = prev {
            if let Some(pb) = self.blocks.get(pid as usize) {
                for &(va, id) in &pb.succ {
                    if va == key.va && id != NONE {
                        let b = &self.blocks[id as usize];
                        if b.key == key && b.gen == gen_of(b.page) {
                            self.stats.chained += 1;
                            return Some((id, b.clone()));
                        }
                    }
                }
            }
        }
        // 2. Jump cache, 3. hash map.
        let slot = Self::slot(key.va);
        let mut id = self.jump[slot];
        if id == NONE || self.blocks.get(id as usize).is_none_or(|b| b.key != key) {
            id = *self.map.get(&key)?;
            self.jump[slot] = id;
        }
        let b = &self.blocks[id as usize];
        if b.gen != gen_of(b.page) {
            self.stats.invalidations += 1;
            self.map.remove(&key);
            self.jump[slot] = NONE;
            return None;
        }
        self.stats.hits += 1;
        let b = b.clone();
        self.link(prev, key.va, id);
        Some((id, b))
    }

    fn link(&mut self, prev: Option<u32>, va: u64, id: u32) {
        let Some(pid) = prev else { return };
        let Some(pb) = self.blocks.get_mut(pid as usize) else { return };
        // Blocks are immutable while shared; only link those no executor holds.
        if let Some(pb) = Rc::get_mut(pb) {
            let s = pb.next_slot as usize & 1;
            pb.succ[s] = (va, id);
            pb.next_slot ^= 1;
        }
    }

    /// Inserts a freshly decoded block of `n_insns` instructions; flushes first when full.
    pub fn insert(
        &mut self,
        key: BlockKey,
        page: usize,
        gen: u32,
        body: B,
        n_insns: usize,
        prev: Option<u32>,
    ) -> (u32, Rc<CachedBlock<B>>) {
        self.stats.misses += 1;
        let mut prev = prev;
        if self.insns + n_insns > self.capacity || self.blocks.len() >= NONE as usize - 1 {
            self.flush();
            prev = None;
        }
        let id = self.blocks.len() as u32;
        let b = Rc::new(CachedBlock { key, page, gen, body, succ: [(0, NONE); 2], next_slot: 0 });
        self.blocks.push(b.clone());
        self.map.insert(key, id);
        self.jump[Self::slot(key.va)] = id;
        self.insns += n_insns;
        self.link(prev, key.va, id);
        (id, b)
    }

    /// Drops every block.
    pub fn flush(&mut self) {
        self.stats.flushes += 1;
        self.blocks.clear();
        self.map.clear();
        self.jump.fill(NONE);
        self.insns = 0;
    }

    /// Number of cached blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True if no block is cached.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pa: u64) -> BlockKey {
        BlockKey { pa, va: pa + 0x1000, mode: 64 }
    }

    #[test]
    fn hit_miss_chain_invalidate_flush() {
        let mut c: BlockCache<&'static str> = BlockCache::new(10);
        let gen0 = |_: usize| 0;
        assert!(c.lookup(key(0x100), None, gen0).is_none());
        let (a, _) = c.insert(key(0x100), 0, 0, "A", 4, None);
        let (b, _) = c.insert(key(0x200), 0, 0, "B", 4, Some(a));
        // A -> B is linked: found by chaining.
        let (id, blk) = c.lookup(key(0x200), Some(a), gen0).unwrap();
        assert_eq!((id, blk.body), (b, "B"));
        assert_eq!(c.stats.chained, 1);
        drop(blk);
        // Without a predecessor: jump cache hit.
        assert_eq!(c.lookup(key(0x100), None, gen0).unwrap().0, a);
        assert_eq!(c.stats.hits, 1);
        // The page's generation moved: stale, removed.
        assert!(c.lookup(key(0x100), None, |_| 1).is_none());
        assert_eq!(c.stats.invalidations, 1);
        assert!(c.lookup(key(0x100), None, gen0).is_none());
        // Capacity 10 with A and B (8 instructions) cached: C flushes them first, D fits.
        c.insert(key(0x300), 0, 0, "C", 4, None);
        assert_eq!(c.stats.flushes, 1);
        assert_eq!(c.len(), 1);
        c.insert(key(0x400), 0, 0, "D", 4, None);
        assert_eq!(c.len(), 2);
        assert!(c.lookup(key(0x200), None, gen0).is_none());
    }
}
