//! Seeded randomness: one master seed, one ChaCha stream per consumer.
//!
//! Every random choice in a run comes from a [`SimRng`] derived from the scenario's seed, so a
//! scenario and a seed name one trace. The samplers below are written out here rather than taken
//! from `rand_distr` on purpose: a share link or a lesson names a seed, and the trace it replays
//! must not change because a dependency changed how it turns bits into a normal deviate.
//!
//! Architecture invariant: transcendental functions come from the `libm` crate, never from
//! `f64::ln` and friends, which call the platform's C library natively and a Rust port in wasm;
//! the two may differ in the last bit, and one bit is enough to fork a trace.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Which consumer a stream belongs to. Streams are independent: adding a node does not change
/// the numbers another node or a link draws.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// The engine's own draws (message ids never need randomness; this is for faults).
    World,
    /// Node `i`'s private stream.
    Node(u16),
    /// Link `i`, direction `d` (0: a to b, 1: b to a).
    Link(u16, u8),
    /// Rule `i` of the scenario's chaos schedule ([`crate::chaos`]).
    Chaos(u16),
}

impl Stream {
    fn number(self) -> u64 {
        match self {
            Stream::World => 0,
            Stream::Node(i) => (1 << 32) | u64::from(i),
            Stream::Link(i, d) => (2 << 32) | (u64::from(i) << 1) | u64::from(d & 1),
            Stream::Chaos(i) => (3 << 32) | u64::from(i),
        }
    }
}

/// A deterministic random number generator (ChaCha8) with the few samplers the models need.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The stream `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: Stream) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream.number());
        SimRng { inner }
    }

    /// 64 uniformly random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform float in `(0, 1]`: safe to take the logarithm of.
    pub fn unit_open0(&mut self) -> f64 {
        1.0 - self.unit()
    }

    /// A uniform integer in `[0, n)` (`n > 0`), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let n = n.max(1);
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `[lo, hi]`.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `ppm / 1_000_000`. Probabilities are integer parts per million so
    /// that a scenario's 0.1 % loss is the same number on every platform.
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        ppm > 0 && (ppm >= 1_000_000 || self.below(1_000_000) < u64::from(ppm))
    }

    /// An exponential deviate with the given mean (inverse transform).
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * libm::log(self.unit_open0())
    }

    /// A standard normal deviate (Box-Muller; the second value is discarded so that the stream
    /// position depends only on the number of calls).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = self.unit_open0();
        let u2 = self.unit();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn streams_are_reproducible_and_independent() {
        let mut a = SimRng::new(7, Stream::Node(1));
        let mut b = SimRng::new(7, Stream::Node(1));
        let mut c = SimRng::new(7, Stream::Node(2));
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn samplers_have_the_right_means() {
        let mut r = SimRng::new(1, Stream::World);
        let n = 200_000;
        let mean_exp = (0..n).map(|_| r.exponential(2.0)).sum::<f64>() / f64::from(n);
        assert!((mean_exp - 2.0).abs() < 0.03, "exponential mean {mean_exp}");
        let mean_norm = (0..n).map(|_| r.standard_normal()).sum::<f64>() / f64::from(n);
        assert!(mean_norm.abs() < 0.01, "normal mean {mean_norm}");
        let hits = (0..n).filter(|_| r.chance_ppm(100_000)).count();
        assert!((hits as f64 / f64::from(n) - 0.1).abs() < 0.005);
        assert!((0..1000).all(|_| r.below(3) < 3));
    }
}
