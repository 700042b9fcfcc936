//! Per-node metrics: RED (rate, errors, duration) as time series, counters and gauges.
//!
//! Memory is bounded two ways. Latency distributions are log-bucketed histograms (eight
//! sub-buckets per power of two: a percentile is within about 6 % of the truth) rather than
//! lists of samples. Time series hold at most [`MAX_SERIES_BUCKETS`] buckets; when a run outgrows
//! them, adjacent pairs merge and the bucket width doubles, so a long run keeps its whole shape
//! at a coarser grain.

use serde::Serialize;

use crate::limits::MAX_SERIES_BUCKETS;

const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
const HIST_LEN: usize = 16 + 40 * SUB as usize;

/// A log-linear histogram of durations in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    counts: Vec<u32>,
    total: u64,
    sum_us: u128,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; HIST_LEN],
            total: 0,
            sum_us: 0,
            max_us: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < 16 {
        return v as usize;
    }
    let octave = 63 - v.leading_zeros();
    let sub = (v >> (octave - SUB_BITS)) & (SUB - 1);
    (16 + (octave - 4) as u64 * SUB + sub).min(HIST_LEN as u64 - 1) as usize
}

fn bucket_mid(i: usize) -> u64 {
    if i < 16 {
        return i as u64;
    }
    let octave = (i as u64 - 16) / SUB + 4;
    let sub = (i as u64 - 16) % SUB;
    let lo = (1u64 << octave) + (sub << (octave - SUB_BITS as u64));
    lo + (1u64 << (octave - SUB_BITS as u64)) / 2
}

impl Histogram {
    /// Records one duration.
    pub fn record(&mut self, us: u64) {
        let b = bucket_of(us);
        self.counts[b] = self.counts[b].saturating_add(1);
        self.total += 1;
        self.sum_us += u128::from(us);
        self.max_us = self.max_us.max(us);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The exact mean, in microseconds.
    pub fn mean_us(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum_us as f64 / self.total as f64)
    }

    /// The exact maximum.
    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// The `q` quantile (0 to 1), within one bucket's width; never above the maximum.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return Some(bucket_mid(i).min(self.max_us));
            }
        }
        Some(self.max_us)
    }

    /// Non-empty buckets as (approximate value in us, count), for drawing a histogram.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (bucket_mid(i), *c))
    }
}

/// One bucket of a node's time series.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Requests completed (successfully or not) in this bucket.
    pub requests: u32,
    /// Of those, failures.
    pub errors: u32,
    /// Sum of their latencies.
    pub latency_sum_us: u64,
    /// The largest latency.
    pub latency_max_us: u64,
    /// A coarse latency histogram: two buckets per power of two of microseconds, so a bucket's
    /// percentiles ([`Bucket::latency_quantile_us`]) are within about 20 %; small enough to keep
    /// one per time bucket and to copy in every snapshot.
    pub latency_coarse: CoarseHist,
    /// The counters' totals at the end of this bucket, by name (attempts, retries, ...): the
    /// increase in a bucket is the difference from the previous one. Stored as totals so that a
    /// count costs one update, not two.
    pub counts: Named<u64>,
    /// Each gauge's value at the end of this bucket (queue length, ...).
    pub gauges: Named<i64>,
}

/// Two buckets per power of two of microseconds, up to 2^31 us (35 minutes).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CoarseHist(#[serde(with = "coarse_serde")] [u32; COARSE_LEN]);

const COARSE_LEN: usize = 64;

mod coarse_serde {
    pub fn serialize<S: serde::Serializer>(
        v: &[u32; super::COARSE_LEN],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&v[..], s)
    }
}

impl Default for CoarseHist {
    fn default() -> Self {
        CoarseHist([0; COARSE_LEN])
    }
}

impl CoarseHist {
    fn index(us: u64) -> usize {
        if us < 2 {
            return us as usize;
        }
        let octave = 63 - us.leading_zeros() as usize; // >= 1
        let half = ((us >> (octave - 1)) & 1) as usize;
        (octave * 2 + half).min(COARSE_LEN - 1)
    }

    fn upper(i: usize) -> u64 {
        if i < 2 {
            return i as u64;
        }
        let (octave, half) = (i / 2, i % 2);
        (1u64 << octave) + ((half as u64 + 1) << (octave - 1)) - 1
    }

    fn record(&mut self, us: u64) {
        let i = Self::index(us);
        self.0[i] = self.0[i].saturating_add(1);
    }

    fn merge(&mut self, o: &CoarseHist) {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a = a.saturating_add(*b);
        }
    }
}

/// A few named numbers. A node records a handful of names, so a small vector searched by
/// pointer first (the names are `&'static str` constants) beats any map on the hot path.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Named<T>(Vec<(&'static str, T)>);

impl<T: Copy + Default> Named<T> {
    fn slot(&mut self, name: &'static str) -> &mut T {
        let i = match self
            .0
            .iter()
            .position(|(k, _)| std::ptr::eq(*k, name) || *k == name)
        {
            Some(i) => i,
            None => {
                self.0.push((name, T::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// The value of `name`, if recorded.
    pub fn get(&self, name: &str) -> Option<T> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    /// Every (name, value), in the order first recorded.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, T)> + '_ {
        self.0.iter().copied()
    }
}

impl Bucket {
    /// The `q` quantile (0 to 1) of this bucket's latencies, from the coarse histogram (the
    /// upper edge of the bucket it falls in, never above the exact maximum).
    pub fn latency_quantile_us(&self, q: f64) -> Option<u64> {
        if self.requests == 0 {
            return None;
        }
        let total: u64 = self.latency_coarse.0.iter().map(|c| u64::from(*c)).sum();
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.latency_coarse.0.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return Some(CoarseHist::upper(i).min(self.latency_max_us));
            }
        }
        Some(self.latency_max_us)
    }

    fn merge(&mut self, o: Bucket) {
        self.latency_coarse.merge(&o.latency_coarse);
        self.requests += o.requests;
        self.errors += o.errors;
        self.latency_sum_us += o.latency_sum_us;
        self.latency_max_us = self.latency_max_us.max(o.latency_max_us);
        // Totals and gauges at the end of the later bucket are those of the merged one.
        self.counts = o.counts;
        self.gauges = o.gauges;
    }
}

/// A node's metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeMetrics {
    /// Latency of completed requests (as this node observed them), whole run.
    pub latency: Histogram,
    /// Completed requests that succeeded.
    pub successes: u64,
    /// Completed requests that failed.
    pub failures: u64,
    /// Monotonic counters, whole run.
    pub counters: Named<u64>,
    /// Current gauge values.
    pub gauges: Named<i64>,
    series: Vec<Bucket>,
    bucket_us: u64,
    // The current bucket covers [current_start_us, current_start_us + bucket_us).
    current_start_us: u64,
}

impl NodeMetrics {
    /// Empty metrics with time buckets of `bucket_us`.
    pub fn new(bucket_us: u64) -> Self {
        NodeMetrics {
            latency: Histogram::default(),
            successes: 0,
            failures: 0,
            counters: Named::default(),
            gauges: Named::default(),
            series: Vec::new(),
            bucket_us: bucket_us.max(1),
            current_start_us: u64::MAX,
        }
    }

    #[inline]
    fn bucket(&mut self, now_us: u64) -> &mut Bucket {
        // Fast path: time only moves forward, and most records land in the current bucket.
        let n = self.series.len();
        if n > 0
            && now_us >= self.current_start_us
            && now_us - self.current_start_us < self.bucket_us
        {
            return &mut self.series[n - 1];
        }
        self.open_bucket(now_us)
    }

    /// The bucket for `now_us` when it is not the current one: closes the current bucket,
    /// down-samples if the series is full, and opens the new one.
    #[cold]
    #[inline(never)]
    fn open_bucket(&mut self, now_us: u64) -> &mut Bucket {
        // The current bucket closes: record the totals and gauges at its end.
        self.close_current();
        let mut idx = (now_us / self.bucket_us) as usize;
        while idx >= MAX_SERIES_BUCKETS {
            // Down-sample: merge pairs, double the width.
            let old = std::mem::take(&mut self.series);
            let mut it = old.into_iter();
            while let Some(mut a) = it.next() {
                if let Some(b) = it.next() {
                    a.merge(b);
                }
                self.series.push(a);
            }
            self.bucket_us *= 2;
            idx = (now_us / self.bucket_us) as usize;
        }
        if self.series.len() <= idx {
            // Quiet buckets in between carry the totals forward.
            let fill = Bucket {
                counts: self.counters.clone(),
                gauges: self.gauges.clone(),
                ..Bucket::default()
            };
            self.series.resize(idx + 1, fill);
        }
        self.current_start_us = idx as u64 * self.bucket_us;
        &mut self.series[idx]
    }

    fn close_current(&mut self) {
        if let Some(last) = self.series.last_mut() {
            last.counts = self.counters.clone();
            last.gauges = self.gauges.clone();
        }
    }

    /// Records a completed request.
    pub fn request(&mut self, now_us: u64, ok: bool, latency_us: u64) {
        self.latency.record(latency_us);
        if ok {
            self.successes += 1;
        } else {
            self.failures += 1;
        }
        let b = self.bucket(now_us);
        b.requests += 1;
        b.errors += u32::from(!ok);
        b.latency_sum_us += latency_us;
        b.latency_max_us = b.latency_max_us.max(latency_us);
        b.latency_coarse.record(latency_us);
    }

    /// Adds to a counter.
    pub fn count(&mut self, now_us: u64, name: &'static str, delta: u64) {
        self.bucket(now_us);
        *self.counters.slot(name) += delta;
    }

    /// Sets a gauge.
    pub fn gauge(&mut self, now_us: u64, name: &'static str, value: i64) {
        self.bucket(now_us);
        *self.gauges.slot(name) = value;
    }

    /// The time series (the open bucket with the totals so far) and the width of its buckets
    /// in microseconds.
    pub fn series(&self) -> (Vec<Bucket>, u64) {
        let mut series = self.series.clone();
        if let Some(last) = series.last_mut() {
            last.counts = self.counters.clone();
            last.gauges = self.gauges.clone();
        }
        (series, self.bucket_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn quantiles_are_within_a_bucket() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 100);
        }
        for (q, want) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = h.quantile_us(q).unwrap() as f64;
            assert!((got - want).abs() / want < 0.07, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.max_us(), 1_000_000);
        assert_eq!(h.quantile_us(1.0), Some(1_000_000));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bucket_percentiles_are_coarse_but_honest() {
        let mut m = NodeMetrics::new(1_000_000);
        for v in 1..=1_000u64 {
            m.request(10, true, v * 1_000);
        }
        let (series, _) = m.series();
        let b = &series[0];
        for (q, want) in [(0.5, 500_000.0), (0.99, 990_000.0)] {
            let got = b.latency_quantile_us(q).unwrap() as f64;
            assert!(
                got >= want * 0.99 && got <= want * 1.3,
                "q{q}: {got} vs {want}"
            );
        }
        assert_eq!(b.latency_quantile_us(1.0), Some(1_000_000));
        assert_eq!(Bucket::default().latency_quantile_us(0.5), None);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn long_series_downsample_and_keep_totals() {
        let mut m = NodeMetrics::new(1_000);
        for t in 0..(MAX_SERIES_BUCKETS as u64 * 5) {
            m.request(t * 1_000, t % 2 == 0, 10);
        }
        let (series, width) = m.series();
        assert!(series.len() <= MAX_SERIES_BUCKETS);
        assert!(width >= 8_000);
        let total: u32 = series.iter().map(|b| b.requests).sum();
        assert_eq!(u64::from(total), m.successes + m.failures);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bucket_counts_are_running_totals_and_gauges_last_values() {
        let mut m = NodeMetrics::new(1_000);
        m.count(100, "attempts", 2);
        m.gauge(200, "queue", 5);
        m.count(2_500, "attempts", 1);
        m.gauge(2_600, "queue", 1);
        let (series, _) = m.series();
        assert_eq!(series.len(), 3);
        let totals: Vec<u64> = series
            .iter()
            .map(|b| b.counts.get("attempts").unwrap_or(0))
            .collect();
        assert_eq!(
            totals,
            [2, 2, 3],
            "the quiet middle bucket carries the total forward"
        );
        let queue: Vec<i64> = series
            .iter()
            .map(|b| b.gauges.get("queue").unwrap_or(0))
            .collect();
        assert_eq!(queue, [5, 5, 1]);
    }
}
