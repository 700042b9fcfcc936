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
use rand_core::SeedableRng;

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
///
/// The stream is exactly `rand_chacha::ChaCha8Rng`'s (seeded with `seed_from_u64`, then
/// `set_stream`), read 64 bits at a time; the tests compare them draw for draw. The block
/// function is our own scalar code rather than `rand_chacha`'s: that one computes four blocks
/// at once through `ppv-lite86`, whose portable fallback (all that wasm gets) made it the
/// largest cost of an M/M/1 customer in the browser after `log`; scalar rounds are what
/// WebAssembly runs well, and one block (eight draws) is buffered rather than four, so a
/// snapshot copies 64 bytes of buffer per stream instead of 256. `rand_chacha` still derives
/// the key from the seed, once per stream.
///
/// The logarithms the exponential and normal samplers take are computed a block at a time (see
/// `SimRng::ln_unit_open0`) by `ln_unit`, which gives `libm::log`'s bits for every draw, so
/// the numbers are the ones `libm::log` one draw at a time gave; but eight independent
/// logarithms overlap in the processor where one at a time each waited for the last. Taken
/// one by one, `log` was a third of an M/M/1 customer's time, spent waiting.
#[derive(Clone, Debug)]
pub struct SimRng {
    /// The 256-bit key, as eight little-endian words.
    key: [u32; 8],
    /// The stream number (the 64-bit nonce).
    stream: u64,
    /// The number of the next block to compute.
    block: u64,
    /// The current block's output.
    buf: [u32; 16],
    /// The next unread word of `buf`; 16 when it is used up. Always even: only 64-bit reads.
    next: usize,
    /// `ln` of each of the block's eight draws read as [`SimRng::unit_open0`]; meaningful only
    /// when `logs_ready`.
    logs: [f64; 8],
    /// Whether `logs` holds this block's logarithms: set by the first logarithm the block is
    /// asked for, cleared by each refill, so a stream that never samples one never pays for it.
    logs_ready: bool,
}

/// "expand 32-byte k", ChaCha's constant words.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

#[inline(always)]
fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

impl SimRng {
    /// The stream `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: Stream) -> Self {
        let seed_bytes = ChaCha8Rng::seed_from_u64(seed).get_seed();
        let mut key = [0u32; 8];
        for (k, b) in key.iter_mut().zip(seed_bytes.chunks_exact(4)) {
            *k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        SimRng {
            key,
            stream: stream.number(),
            block: 0,
            buf: [0; 16],
            next: 16,
            logs: [0.0; 8],
            logs_ready: false,
        }
    }

    /// Computes block number `self.block` into `buf` (ChaCha with 8 rounds, a 64-bit block
    /// counter in words 12 and 13 and the stream in words 14 and 15, as `rand_chacha` lays
    /// them out).
    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        let k = &self.key;
        let input = [
            SIGMA[0],
            SIGMA[1],
            SIGMA[2],
            SIGMA[3],
            k[0],
            k[1],
            k[2],
            k[3],
            k[4],
            k[5],
            k[6],
            k[7],
            self.block as u32,
            (self.block >> 32) as u32,
            self.stream as u32,
            (self.stream >> 32) as u32,
        ];
        let mut x = input;
        for _ in 0..4 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        for ((out, x), i) in self.buf.iter_mut().zip(x).zip(input) {
            *out = x.wrapping_add(i);
        }
        self.block = self.block.wrapping_add(1);
        self.next = 0;
        self.logs_ready = false;
    }

    /// Fills `logs` with the logarithms of all eight draws of the current block (those already
    /// read are never looked at; a fixed count of eight lets the compiler run two lanes at
    /// once). The iterations do not depend on each other, which is the point: the processor
    /// runs them side by side.
    #[cold]
    #[inline(never)]
    fn fill_logs(&mut self) {
        for (log, pair) in self.logs.iter_mut().zip(self.buf.chunks_exact(2)) {
            *log = ln_unit(1.0 - to_unit(join(pair[0], pair[1])));
        }
        self.logs_ready = true;
    }

    /// Takes the next draw of the block, refilling first if it is used up, and returns its
    /// index in `buf`: even and below 16, so `i` and `i + 1` are in bounds.
    #[inline(always)]
    fn take(&mut self) -> usize {
        if self.next >= 16 {
            self.refill();
        }
        let i = self.next & 14;
        self.next = i + 2;
        i
    }

    /// 64 uniformly random bits: two consecutive words of the stream, the first the low half.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let i = self.take();
        join(self.buf[i], self.buf[i + 1])
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        to_unit(self.next_u64())
    }

    /// `libm::log(self.unit_open0())`, bit for bit and drawing the same 64 bits, taken from the
    /// block's batch of logarithms.
    #[inline]
    fn ln_unit_open0(&mut self) -> f64 {
        let i = self.take();
        if !self.logs_ready {
            self.fill_logs();
        }
        self.logs[i >> 1]
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
        -mean * self.ln_unit_open0()
    }

    /// A standard normal deviate (Box-Muller; the second value is discarded so that the stream
    /// position depends only on the number of calls).
    pub fn standard_normal(&mut self) -> f64 {
        let ln_u1 = self.ln_unit_open0();
        let u2 = self.unit();
        libm::sqrt(-2.0 * ln_u1) * libm::cos(std::f64::consts::TAU * u2)
    }
}

/// `libm::log(x)` for `x` in `[2^-1022, 1]`, bit for bit: the same operations in the same
/// order (Rust never reorders or fuses floating-point arithmetic), with the branches for zero,
/// negative, subnormal, infinite and NaN arguments left out, none of which a draw from
/// [`SimRng::unit_open0`] (at least 2^-53) can be. `libm::log` returns 0 for 1 by a branch; the
/// arithmetic below gives the same +0. Without branches, eight of them run as vector lanes.
/// `libm` 0.2's `log` is FreeBSD's `e_log.c`; see there for why the arithmetic is what it is.
/// This is the one transcendental function not called from `libm` (see the module's
/// invariant): if a `libm` update ever changed `log`, `ln_unit_is_libms_log` fails, and the
/// golden traces, which were made with these bits, say this copy is the one to keep.
#[inline(always)]
fn ln_unit(x: f64) -> f64 {
    // The constants by their bits, as e_log.c gives them.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
    const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
    const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
    const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
    const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
    const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
    const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);
    let ui = x.to_bits();
    // Reduce x into [sqrt(2)/2, sqrt(2)] times 2^k.
    let hx = ((ui >> 32) as u32).wrapping_add(0x3ff0_0000 - 0x3fe6_a09e);
    let k = (hx >> 20) as i32 - 0x3ff;
    let hx = (hx & 0x000f_ffff) + 0x3fe6_a09e;
    let x = f64::from_bits((u64::from(hx) << 32) | (ui & 0xffff_ffff));
    let f = x - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let dk = f64::from(k);
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

/// Two consecutive words of the stream as one draw, the first the low half.
#[inline(always)]
fn join(low: u32, high: u32) -> u64 {
    u64::from(low) | (u64::from(high) << 32)
}

/// 64 random bits as a uniform float in `[0, 1)`: the top 53 bits, scaled.
#[inline(always)]
fn to_unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our ChaCha8 is `rand_chacha`'s stream, draw for draw: every lesson, share link and
    /// golden trace names seeds whose numbers must not change. Seeds and streams of every
    /// kind, thousands of blocks each, and a copy taken mid-block goes on the same way.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_stream_is_rand_chachas() {
        use rand_core::Rng;
        let streams = [
            Stream::World,
            Stream::Node(0),
            Stream::Node(7),
            Stream::Node(u16::MAX),
            Stream::Link(3, 1),
            Stream::Chaos(2),
        ];
        for seed in [0, 1, 42, 0x1234_5678_9abc_def0, u64::MAX] {
            for stream in streams {
                let mut reference = ChaCha8Rng::seed_from_u64(seed);
                reference.set_stream(stream.number());
                let mut ours = SimRng::new(seed, stream);
                for i in 0..20_000 {
                    assert_eq!(
                        ours.next_u64(),
                        reference.next_u64(),
                        "seed {seed}, {stream:?}, draw {i}"
                    );
                }
                reference.next_u64();
                ours.next_u64(); // mid-block now, at an odd draw
                let mut copy = ours.clone();
                for _ in 0..100 {
                    let want = reference.next_u64();
                    assert_eq!(ours.next_u64(), want);
                    assert_eq!(copy.next_u64(), want);
                }
            }
        }
    }

    /// `ln_unit` is `libm::log`, bit for bit, over the whole range a draw can take: every
    /// binade from 2^-53 to 1 (random mantissas and both ends of each), the draws nearest 1,
    /// and millions of draws as `unit_open0` makes them.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ln_unit_is_libms_log() {
        let check = |x: f64| {
            assert_eq!(ln_unit(x).to_bits(), libm::log(x).to_bits(), "log({x:e})");
        };
        let mut r = SimRng::new(5, Stream::World);
        check(1.0);
        for m in 1..100_000u64 {
            check(1.0 - m as f64 / (1u64 << 53) as f64);
            check(m as f64 / (1u64 << 53) as f64);
        }
        for e in -1022..=0 {
            let binade = libm::ldexp(1.0, e);
            check(binade);
            check(f64::from_bits((binade * 2.0).to_bits() - 1));
            for _ in 0..2_000 {
                check(binade * (1.0 + r.unit()));
            }
        }
        for _ in 0..2_000_000 {
            check(r.unit_open0());
        }
    }

    /// The batched logarithms are `libm::log` of the very draws `unit_open0` would give, bit
    /// for bit, however draws of other kinds interleave with them: every exponential delay in
    /// every saved link depends on it.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn batched_logarithms_are_the_draws_logarithms() {
        for seed in [0, 3, 99] {
            let mut batched = SimRng::new(seed, Stream::Node(1));
            let mut plain = SimRng::new(seed, Stream::Node(1));
            let mut pattern = SimRng::new(seed, Stream::World);
            for i in 0..20_000 {
                match pattern.below(4) {
                    0 => {
                        let want = -2.5 * libm::log(plain.unit_open0());
                        assert_eq!(
                            batched.exponential(2.5).to_bits(),
                            want.to_bits(),
                            "draw {i}"
                        );
                    }
                    1 => assert_eq!(batched.next_u64(), plain.next_u64()),
                    2 => {
                        let (u1, u2) = (plain.unit_open0(), plain.unit());
                        let want = libm::sqrt(-2.0 * libm::log(u1))
                            * libm::cos(std::f64::consts::TAU * u2);
                        assert_eq!(batched.standard_normal().to_bits(), want.to_bits());
                    }
                    _ => {
                        // A copy taken mid-block carries its batch with it.
                        batched = batched.clone();
                        assert_eq!(batched.unit().to_bits(), plain.unit().to_bits());
                    }
                }
            }
        }
    }

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
