//! Latency distributions, as a scenario names them.
//!
//! All parameters are in milliseconds in the scenario (what people read on dashboards) and every
//! sample is returned in whole microseconds, clamped to `[0, MAX_DELAY_US]`, so one absurd tail
//! sample cannot push an event past the end of time.

use serde::{Deserialize, Serialize};

use crate::limits::MAX_DELAY_US;
use crate::rng::SimRng;

/// A distribution of durations.
///
/// Read by hand (`Dist::from_value`, see `tagged`), not by serde's derive for an internally
/// tagged enum, which cost the page about 40 KB of wasm for seven variants of plain numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Dist {
    /// Always `ms`.
    Constant {
        /// The duration.
        ms: f64,
    },
    /// Uniform between `min_ms` and `max_ms`.
    Uniform {
        /// Lower bound.
        min_ms: f64,
        /// Upper bound.
        max_ms: f64,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean.
        mean_ms: f64,
        /// Standard deviation.
        stddev_ms: f64,
    },
    /// Exponential (memoryless; the service time of an M/M/1 queue).
    Exponential {
        /// Mean.
        mean_ms: f64,
    },
    /// Log-normal: a long right tail, typical of real service latency.
    #[serde(rename = "lognormal")]
    LogNormal {
        /// The median (e^mu).
        median_ms: f64,
        /// The standard deviation of the logarithm; 0.5 is a moderate tail, 1.5 a heavy one.
        sigma: f64,
    },
    /// Pareto: `scale_ms` is the minimum; a smaller `shape` is a heavier tail.
    Pareto {
        /// The minimum value.
        scale_ms: f64,
        /// The tail index (alpha); must be positive.
        shape: f64,
    },
    /// "Usually fast, sometimes very slow": `slow` with probability `slow_ratio`, else `fast`.
    Bimodal {
        /// The common case.
        fast: Box<Dist>,
        /// The rare case.
        slow: Box<Dist>,
        /// The probability of the slow case, in `[0, 1]`.
        slow_ratio: f64,
    },
}

/// The variants as the scenario writes them: `type`, and each one's fields.
static SHAPE: crate::tagged::Shape<7> = crate::tagged::Shape::new(
    "type",
    "a distribution",
    [
        ("constant", &["ms"]),
        ("uniform", &["min_ms", "max_ms"]),
        ("normal", &["mean_ms", "stddev_ms"]),
        ("exponential", &["mean_ms"]),
        ("lognormal", &["median_ms", "sigma"]),
        ("pareto", &["scale_ms", "shape"]),
        ("bimodal", &["fast", "slow", "slow_ratio"]),
    ],
);

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(d, Dist::from_value)
    }
}

impl Dist {
    /// Reads a distribution from its JSON object: `type` picks the shape, the other fields are
    /// its parameters, all of them required and no others allowed.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn from_value(value: serde_json::Value) -> Result<Dist, serde_json::Error> {
        let (name, mut f) = SHAPE.open(value)?;
        Ok(match name {
            "constant" => Dist::Constant { ms: f.req("ms")? },
            "uniform" => Dist::Uniform {
                min_ms: f.req("min_ms")?,
                max_ms: f.req("max_ms")?,
            },
            "normal" => Dist::Normal {
                mean_ms: f.req("mean_ms")?,
                stddev_ms: f.req("stddev_ms")?,
            },
            "exponential" => Dist::Exponential {
                mean_ms: f.req("mean_ms")?,
            },
            "lognormal" => Dist::LogNormal {
                median_ms: f.req("median_ms")?,
                sigma: f.req("sigma")?,
            },
            "pareto" => Dist::Pareto {
                scale_ms: f.req("scale_ms")?,
                shape: f.req("shape")?,
            },
            "bimodal" => Dist::Bimodal {
                fast: Box::new(f.req("fast")?),
                slow: Box::new(f.req("slow")?),
                slow_ratio: f.req("slow_ratio")?,
            },
            other => return Err(SHAPE.unknown(other)),
        })
    }
}

impl Default for Dist {
    fn default() -> Self {
        Dist::Constant { ms: 0.0 }
    }
}

/// Converts milliseconds to whole microseconds (rounded half away from zero, as `f64::round`),
/// clamped to `[0, MAX_DELAY_US]`.
///
/// Every delay a model draws passes through here, so it avoids `f64::round`: without SSE4.1
/// (the default x86-64 target) and in wasm (whose `f64.nearest` rounds half to even) that is a
/// library call costing more than the rest of the conversion. Truncating and comparing the
/// fraction gives the same integer: below 2^53 the fraction `x - trunc(x)` is exact.
pub fn ms_to_us(ms: f64) -> u64 {
    if ms.is_nan() || ms <= 0.0 {
        return 0;
    }
    let x = ms * 1000.0;
    // round(x) >= MAX exactly when x >= MAX - 0.5, and then the rounding below gives MAX too.
    if x >= MAX_DELAY_US as f64 {
        return MAX_DELAY_US;
    }
    // 0 < x < MAX_DELAY_US < 2^53: the casts truncate and convert back exactly, and through
    // i64 rather than u64 each is one instruction.
    let t = x as i64;
    (if x - t as f64 >= 0.5 { t + 1 } else { t }) as u64
}

/// Converts a point in a run or a long span (an intervention's time, the run's duration, a key's
/// retention, a scheduled request) to whole microseconds, clamped to `[0, MAX_DURATION_US]`
/// rather than to the one-hour limit of a single delay.
pub fn long_ms_to_us(ms: f64) -> u64 {
    use crate::limits::MAX_DURATION_US;
    if ms.is_nan() || ms <= 0.0 {
        return 0;
    }
    let us = (ms * 1000.0).round();
    if us >= MAX_DURATION_US as f64 {
        MAX_DURATION_US
    } else {
        us as u64
    }
}

impl Dist {
    /// Shorthand for a constant distribution.
    pub fn constant_ms(ms: f64) -> Self {
        Dist::Constant { ms }
    }

    /// Draws one duration in microseconds.
    ///
    /// Inline for the two shapes on every path of a run (exponential arrivals and service
    /// times, constant link latencies), which are then a few instructions in the caller; the
    /// general sampler, recursive through `bimodal`, keeps a stack frame and stays a call.
    #[inline]
    pub fn sample_us(&self, rng: &mut SimRng) -> u64 {
        match self {
            Dist::Exponential { mean_ms } => ms_to_us(rng.exponential(*mean_ms)),
            Dist::Constant { ms } => ms_to_us(*ms),
            _ => self.sample_other_us(rng),
        }
    }

    #[inline(never)]
    fn sample_other_us(&self, rng: &mut SimRng) -> u64 {
        ms_to_us(self.sample_ms(rng))
    }

    fn sample_ms(&self, rng: &mut SimRng) -> f64 {
        match self {
            Dist::Constant { ms } => *ms,
            Dist::Uniform { min_ms, max_ms } => min_ms + (max_ms - min_ms) * rng.unit(),
            Dist::Normal { mean_ms, stddev_ms } => mean_ms + stddev_ms * rng.standard_normal(),
            Dist::Exponential { mean_ms } => rng.exponential(*mean_ms),
            Dist::LogNormal { median_ms, sigma } => {
                median_ms * libm::exp(sigma * rng.standard_normal())
            }
            Dist::Pareto { scale_ms, shape } => scale_ms / libm::pow(rng.unit_open0(), 1.0 / shape),
            Dist::Bimodal {
                fast,
                slow,
                slow_ratio,
            } => {
                if rng.unit() < *slow_ratio {
                    slow.sample_ms(rng)
                } else {
                    fast.sample_ms(rng)
                }
            }
        }
    }

    /// The distribution's mean in milliseconds, where it is finite (used by reports and charts to
    /// draw the expected value beside the measured one).
    pub fn mean_ms(&self) -> Option<f64> {
        match self {
            Dist::Constant { ms } => Some(*ms),
            Dist::Uniform { min_ms, max_ms } => Some((min_ms + max_ms) / 2.0),
            Dist::Normal { mean_ms, .. } | Dist::Exponential { mean_ms } => Some(*mean_ms),
            Dist::LogNormal { median_ms, sigma } => {
                Some(median_ms * libm::exp(sigma * sigma / 2.0))
            }
            Dist::Pareto { scale_ms, shape } => {
                (*shape > 1.0).then(|| shape * scale_ms / (shape - 1.0))
            }
            Dist::Bimodal {
                fast,
                slow,
                slow_ratio,
            } => Some(fast.mean_ms()? * (1.0 - slow_ratio) + slow.mean_ms()? * slow_ratio),
        }
    }

    /// Checks the parameters; returns the first problem as (field, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        self.check_depth(0)
    }

    fn check_depth(&self, depth: u32) -> Result<(), (String, String)> {
        let non_neg = |field: &str, v: f64| -> Result<(), (String, String)> {
            if !v.is_finite() || v < 0.0 {
                return Err((
                    field.into(),
                    format!("expected a finite number >= 0, got {v}"),
                ));
            }
            if v * 1000.0 > MAX_DELAY_US as f64 {
                return Err((
                    field.into(),
                    format!("{v} ms is over the limit of {} ms", MAX_DELAY_US / 1000),
                ));
            }
            Ok(())
        };
        match self {
            Dist::Constant { ms } => non_neg("ms", *ms),
            Dist::Uniform { min_ms, max_ms } => {
                non_neg("min_ms", *min_ms)?;
                non_neg("max_ms", *max_ms)?;
                if max_ms < min_ms {
                    return Err((
                        "max_ms".into(),
                        format!("expected max_ms >= min_ms ({min_ms})"),
                    ));
                }
                Ok(())
            }
            Dist::Normal { mean_ms, stddev_ms } => {
                non_neg("mean_ms", *mean_ms)?;
                non_neg("stddev_ms", *stddev_ms)
            }
            Dist::Exponential { mean_ms } => non_neg("mean_ms", *mean_ms),
            Dist::LogNormal { median_ms, sigma } => {
                non_neg("median_ms", *median_ms)?;
                if !(0.0..=4.0).contains(sigma) {
                    return Err(("sigma".into(), format!("expected 0 to 4, got {sigma}")));
                }
                Ok(())
            }
            Dist::Pareto { scale_ms, shape } => {
                non_neg("scale_ms", *scale_ms)?;
                if !(shape.is_finite() && *shape >= 0.1 && *shape <= 100.0) {
                    return Err(("shape".into(), format!("expected 0.1 to 100, got {shape}")));
                }
                Ok(())
            }
            Dist::Bimodal {
                fast,
                slow,
                slow_ratio,
            } => {
                if depth >= 2 {
                    return Err((
                        "".into(),
                        "bimodal distributions nest at most 2 deep".into(),
                    ));
                }
                if !(0.0..=1.0).contains(slow_ratio) {
                    return Err((
                        "slow_ratio".into(),
                        format!("expected 0 to 1, got {slow_ratio}"),
                    ));
                }
                fast.check_depth(depth + 1)
                    .map_err(|(f, m)| (format!("fast.{f}").trim_end_matches('.').into(), m))?;
                slow.check_depth(depth + 1)
                    .map_err(|(f, m)| (format!("slow.{f}").trim_end_matches('.').into(), m))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    /// Every shape reads back what it writes, and each mistake gets serde's message for it.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reads_what_it_writes_and_names_each_mistake() {
        let all = [
            Dist::Constant { ms: 5.0 },
            Dist::Uniform {
                min_ms: 1.0,
                max_ms: 2.5,
            },
            Dist::Normal {
                mean_ms: 10.0,
                stddev_ms: 2.0,
            },
            Dist::Exponential { mean_ms: 7.0 },
            Dist::LogNormal {
                median_ms: 20.0,
                sigma: 0.5,
            },
            Dist::Pareto {
                scale_ms: 3.0,
                shape: 1.5,
            },
            Dist::Bimodal {
                fast: Box::new(Dist::Constant { ms: 1.0 }),
                slow: Box::new(Dist::Uniform {
                    min_ms: 100.0,
                    max_ms: 200.0,
                }),
                slow_ratio: 0.01,
            },
        ];
        for d in all {
            let text = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<Dist>(&text).unwrap(), d, "{text}");
        }
        let err = |text: &str| serde_json::from_str::<Dist>(text).unwrap_err().to_string();
        // A whole number is a number of milliseconds too.
        assert_eq!(
            serde_json::from_str::<Dist>(r#"{"type": "constant", "ms": 5}"#).unwrap(),
            Dist::Constant { ms: 5.0 }
        );
        assert!(err(r#"{"ms": 5}"#).contains("missing field `type`"));
        assert!(
            err(r#"{"type": "gamma"}"#)
                .contains("unknown variant `gamma`, expected one of `constant`")
        );
        assert!(err(r#"{"type": "uniform", "min_ms": 1}"#).contains("missing field `max_ms`"));
        assert!(
            err(r#"{"type": "constant", "ms": 1, "mean_ms": 2}"#)
                .contains("unknown field `mean_ms`, expected `ms`")
        );
        assert!(
            err(r#"{"type": "constant", "ms": "5"}"#)
                .contains(r#"invalid type: string "5", expected f64"#)
        );
        assert!(err(r#"[1, 2]"#).contains("invalid type: sequence, expected a distribution"));
        assert!(err(r#"{"type": "bimodal", "fast": {"type": "constant"}, "slow": {"type": "constant", "ms": 1}, "slow_ratio": 0.1}"#)
            .contains("missing field `ms`"));
    }

    /// The conversion every drawn delay goes through must give exactly what `f64::round` gave,
    /// or every trace changes: halves, values one ulp either side of a half, tiny and huge
    /// values, and a few million random ones.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ms_to_us_rounds_as_f64_round_does() {
        fn reference(ms: f64) -> u64 {
            if ms.is_nan() || ms <= 0.0 {
                return 0;
            }
            let us = (ms * 1000.0).round();
            if us >= MAX_DELAY_US as f64 {
                MAX_DELAY_US
            } else {
                us as u64
            }
        }
        let mut cases = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            0.0005,
            0.0015,
            0.0025,
            0.4999999999999999,
            MAX_DELAY_US as f64 / 1000.0,
            (MAX_DELAY_US as f64 - 0.5) / 1000.0,
            (MAX_DELAY_US as f64 - 0.6) / 1000.0,
            1e300,
        ];
        for us in [
            0u64,
            1,
            2,
            3,
            7,
            100,
            12_345,
            1 << 30,
            MAX_DELAY_US - 2,
            MAX_DELAY_US - 1,
        ] {
            let half = us as f64 + 0.5;
            for x in [half, half.next_down(), half.next_up(), us as f64] {
                cases.push(x / 1000.0);
                cases.push(x / 1000.0 + 1e-12);
            }
        }
        let mut r = SimRng::new(11, Stream::World);
        for _ in 0..2_000_000 {
            // Spread over every scale a delay takes, from nanoseconds to past the limit.
            let scale = libm::pow(10.0, r.unit() * 14.0 - 6.0);
            cases.push(r.unit() * scale);
        }
        for ms in cases {
            assert_eq!(ms_to_us(ms), reference(ms), "{ms:e} ms");
        }
    }

    fn mean_of(d: &Dist, n: u32) -> f64 {
        let mut r = SimRng::new(3, Stream::World);
        (0..n)
            .map(|_| d.sample_us(&mut r) as f64 / 1000.0)
            .sum::<f64>()
            / f64::from(n)
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn sample_means_match_the_formulas() {
        let cases = [
            Dist::constant_ms(20.0),
            Dist::Uniform {
                min_ms: 10.0,
                max_ms: 30.0,
            },
            Dist::Exponential { mean_ms: 50.0 },
            Dist::LogNormal {
                median_ms: 40.0,
                sigma: 0.5,
            },
            Dist::Pareto {
                scale_ms: 10.0,
                shape: 3.0,
            },
            Dist::Bimodal {
                fast: Box::new(Dist::constant_ms(10.0)),
                slow: Box::new(Dist::constant_ms(1000.0)),
                slow_ratio: 0.1,
            },
        ];
        for d in cases {
            let want = d.mean_ms().unwrap();
            let got = mean_of(&d, 100_000);
            assert!(
                (got - want).abs() / want < 0.03,
                "{d:?}: mean {got}, want {want}"
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn absurd_parameters_are_rejected_and_samples_clamped() {
        assert!(Dist::constant_ms(-1.0).check().is_err());
        assert!(Dist::constant_ms(f64::NAN).check().is_err());
        assert!(
            Dist::Uniform {
                min_ms: 5.0,
                max_ms: 1.0
            }
            .check()
            .is_err()
        );
        assert!(
            Dist::Pareto {
                scale_ms: 1.0,
                shape: 0.0
            }
            .check()
            .is_err()
        );
        let mut r = SimRng::new(3, Stream::World);
        let heavy = Dist::Pareto {
            scale_ms: 1000.0,
            shape: 0.1,
        };
        assert!((0..10_000).all(|_| heavy.sample_us(&mut r) <= MAX_DELAY_US));
    }
}
