//! A hasher whose output is the same on every platform, for trace hashes.
//!
//! `std`'s `DefaultHasher` is randomly keyed (and may change between releases), and `Hash` feeds
//! `usize`/`isize` (lengths, enum discriminants) in native width, which differs between x86_64
//! and wasm32. This FNV-1a widens both to 64 bits, so a trace hashes alike natively and in wasm.

use std::hash::Hasher;

/// 64-bit FNV-1a with platform-independent integer widths.
#[derive(Clone, Debug)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHasher {
    /// Continues a hash from a previous `finish()` value.
    pub fn resume(state: u64) -> Self {
        StableHasher(state)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write(&(i as i64).to_le_bytes());
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }
}
