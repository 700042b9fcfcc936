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
