//! Hash maps keyed by ids, for membership and lookup only.
//!
//! `std`'s default hasher is seeded from OS entropy, which the core must never read. This one is
//! a fixed multiply-xorshift over a `u64` id: fast, and the same everywhere. The rule that keeps
//! runs deterministic still applies: never iterate one of these maps in anything that affects the
//! trace (use `BTreeMap` or `Vec` for that).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for integer ids.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let x = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^ (x >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 ^= i;
    }
    fn write_u32(&mut self, i: u32) {
        self.0 ^= u64::from(i);
    }
    fn write_u16(&mut self, i: u16) {
        self.0 ^= u64::from(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 ^= i as u64;
    }
}

/// A map keyed by ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
/// A set of ids.
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// The engine's set of pending timer ids: open addressing with linear probing over a
/// power-of-two table, deletion by backward shift (no tombstones), at most half full.
///
/// Every timer is inserted once and removed once (fired or cancelled), so this set is on the
/// path of every timer event. A general `HashSet` costs about 30 instructions per operation
/// there (its SIMD group probing is generic code in wasm); this costs about ten. Timer ids are
/// a counter, and Fibonacci hashing (multiply, keep the top bits) spreads consecutive ids evenly.
/// Like [`IdSet`], it is for membership only and is never iterated.
#[derive(Clone, Debug, Default)]
pub struct PendingSet {
    /// `id + 1` where an id is stored, 0 where the slot is empty.
    slots: Vec<u64>,
    len: usize,
    /// `64 - log2(slots.len())`: the hash keeps the top bits.
    shift: u32,
}

impl PendingSet {
    const MIN_SLOTS: usize = 16;

    #[inline]
    fn home(&self, id: u64) -> usize {
        (id.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The slot holding `id`, if it is in the set.
    #[inline]
    fn find(&self, id: u64) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let key = id.wrapping_add(1);
        let mut i = self.home(id);
        loop {
            match self.slots[i] {
                0 => return None,
                k if k == key => return Some(i),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Whether `id` is in the set.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        self.find(id).is_some()
    }

    /// Adds `id`; returns false if it was already there. `u64::MAX` cannot be stored (the
    /// engine's timer counter never reaches it).
    #[inline]
    pub fn insert(&mut self, id: u64) -> bool {
        debug_assert!(id != u64::MAX);
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let key = id.wrapping_add(1);
        let mut i = self.home(id);
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = key;
                    self.len += 1;
                    return true;
                }
                k if k == key => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Removes `id`; returns whether it was there.
    #[inline]
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(mut hole) = self.find(id) else {
            return false;
        };
        self.len -= 1;
        // Backward shift: move later members of the probe run into the hole when their home
        // is not between the hole and themselves, so lookups never meet a gap inside a run.
        let mask = self.slots.len() - 1;
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let k = self.slots[i];
            if k == 0 {
                break;
            }
            let home = self.home(k - 1);
            // Distance from home to i, and from home to the hole, along the ring.
            if (i.wrapping_sub(home) & mask) >= (i.wrapping_sub(hole) & mask) {
                self.slots[hole] = k;
                hole = i;
            }
        }
        self.slots[hole] = 0;
        true
    }

    /// How many ids are in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let new_len = (self.slots.len() * 2).max(Self::MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![0; new_len]);
        self.shift = 64 - new_len.trailing_zeros();
        self.len = 0;
        for k in old.into_iter().filter(|&k| k != 0) {
            self.insert(k - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Random inserts, removes and lookups agree with a `BTreeSet`, through growth and long
    /// probe runs (ids that share a home slot).
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn pending_set_agrees_with_a_btree_set() {
        let mut rng = crate::rng::SimRng::new(5, crate::rng::Stream::World);
        let mut set = PendingSet::default();
        let mut model = BTreeSet::new();
        let mut next = 0u64;
        for step in 0..200_000u32 {
            // Phases: growing, mixed, draining, so the table both grows and empties.
            let phase = step / 50_000;
            let r = rng.below(100);
            let insert = match phase {
                0 => r < 70,
                3 => r < 30,
                _ => r < 50,
            };
            if insert {
                // Mostly the next id (as the engine does), sometimes an old or far one.
                let id = match rng.below(10) {
                    0 => rng.below(next + 1),
                    1 => next + rng.below(1 << 40),
                    _ => {
                        next += 1;
                        next
                    }
                };
                assert_eq!(set.insert(id), model.insert(id), "insert {id}");
            } else {
                let id = if model.is_empty() || rng.below(4) == 0 {
                    rng.below(next + 2)
                } else {
                    // An id that is there, found by a random probe into the model.
                    let probe = rng.below(next + 1);
                    *model
                        .range(probe..)
                        .next()
                        .or(model.iter().next_back())
                        .unwrap()
                };
                assert_eq!(set.remove(id), model.remove(&id), "remove {id}");
            }
            let q = rng.below(next + 2);
            assert_eq!(set.contains(q), model.contains(&q), "contains {q}");
            assert_eq!(set.len(), model.len());
        }
        for id in model.iter() {
            assert!(set.contains(*id));
        }
    }
}
