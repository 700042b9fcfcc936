//! The frame-time benchmark: `?bench=frames` opens a busy scenario (30 nodes, about a thousand
//! messages in flight) and measures each frame: the wall time between animation frames and the
//! page's own work in a frame (advancing the simulation and patching the DOM), once the page
//! has started and the scenario is full ([`WARM_UP_MS`], [`FULL`]). After [`FRAMES`] frames it
//! writes the percentiles into `#frame-report` for people and for
//! `bench/frames.mjs`, which runs it in headless Chromium.

use faultline_core::dist::Dist;
use faultline_core::models::ModelSpec;
use faultline_core::models::client::{ClientConfig, Workload};
use faultline_core::models::service::ServiceConfig;
use faultline_core::scenario::{LinkSpec, NodeSpec, Scenario};

/// Frames measured.
pub const FRAMES: usize = 300;

/// The page's start-up, not measured: the first second after the first frame, while the browser
/// still compiles the wasm to optimised code in the background and the scenario fills up.
pub const WARM_UP_MS: f64 = 1_000.0;

/// Messages in flight before the measurement starts: the benchmark is of a full scenario.
pub const FULL: usize = 900;

/// 15 clients, each sending 170 requests a second to its own service 200 ms away, and the 15
/// services: about 15 x 170 x 0.4 s = 1,000 messages in flight.
pub fn scenario() -> Scenario {
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    let mut positions = std::collections::BTreeMap::new();
    for i in 0..15 {
        let (c, s) = (format!("c{i}"), format!("s{i}"));
        nodes.push(NodeSpec {
            id: c.clone(),
            model: ModelSpec::Client(Box::new(ClientConfig {
                target: s.clone(),
                workload: Workload::Open { rate_per_s: 170.0 },
                timeout_ms: Some(2_000.0),
                retry: Default::default(),
                idempotency_keys: false,
                max_requests: None,
                breaker: None,
                charge_cents: None,
                deadline_ms: None,
                hedge_after_ms: None,
                idempotency_key: None,
                compare_and_set: false,
                writes: Default::default(),
            })),
        });
        nodes.push(NodeSpec {
            id: s.clone(),
            model: ModelSpec::Service(ServiceConfig {
                latency: Dist::constant_ms(5.0),
                concurrency: 64,
                queue_limit: 1_000,
                error_rate: 0.0,
                ..Default::default()
            }),
        });
        links.push(LinkSpec::between(
            &c,
            &s,
            Dist::Uniform {
                min_ms: 180.0,
                max_ms: 220.0,
            },
        ));
        let x = 30.0 + 38.0 * i as f64;
        positions.insert(c, [x, 40.0]);
        positions.insert(s, [x, 280.0]);
    }
    Scenario {
        version: faultline_core::scenario::FORMAT_VERSION,
        title: "Frame-time benchmark".into(),
        description: "30 nodes and about a thousand messages in flight.".into(),
        seed: 1,
        duration_ms: 600_000.0,
        metrics_bucket_ms: 1_000.0,
        nodes,
        links,
        interventions: Vec::new(),
        chaos: None,
        view: faultline_core::scenario::View { positions },
    }
}

/// The intervals that missed a refresh: longer than 20 ms, where a 60 Hz screen's is 16.7 (a
/// missed one is 33.3). The time stamps jitter by a tenth of a millisecond, so a p95 of 16.8 ms
/// can mean no frame missed; this count says it plainly.
pub fn missed(intervals_ms: &[f64]) -> usize {
    intervals_ms.iter().filter(|ms| **ms > 20.0).count()
}

/// The `q` quantile of `xs` (sorted in place).
pub fn quantile(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    faultline_core::order::sort_by(xs, f64::total_cmp);
    let i = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    xs[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benchmark_scenario_has_thirty_nodes_and_a_thousand_messages_in_flight() {
        let s = scenario();
        s.validate().expect("valid");
        assert_eq!(s.nodes.len(), 30);
        let mut w = s.build(None).expect("builds");
        w.run_until(3_000_000, u64::MAX);
        let n = w.in_flight_count();
        assert!((800..=1_300).contains(&n), "{n} messages in flight");
    }

    #[test]
    fn a_missed_refresh_is_an_interval_of_two_or_more() {
        assert_eq!(missed(&[16.6, 16.7, 16.8, 33.3, 16.7, 50.0]), 2);
        assert_eq!(missed(&[]), 0);
    }

    #[test]
    fn quantiles() {
        let mut xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut xs, 0.95), 95.0);
        assert_eq!(quantile(&mut xs, 0.5), 50.0);
        assert_eq!(quantile(&mut [], 0.5), 0.0);
    }
}

#[cfg(test)]
mod cost {
    /// Not a test: what each of the page's refreshes costs natively on the benchmark's scenario.
    /// `cargo test --release -p faultline-web refresh_costs -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn refresh_costs() {
        let s = super::scenario();
        let mut w = s.build(None).expect("builds");
        w.run_until(3_000_000, u64::MAX);
        let id = faultline_core::NodeId(0);
        let time = |label: &str, f: &mut dyn FnMut()| {
            let t = std::time::Instant::now();
            for _ in 0..20 {
                f();
            }
            println!("{label}: {:?}", t.elapsed() / 20);
        };
        time("charts", &mut || {
            let _ = crate::charts::latency(&w, id, Some(2000.0));
            let _ = crate::charts::rates(&w, id, &[]);
            let _ = crate::charts::gauge(&w, faultline_core::NodeId(1), "queue", "q", &[]);
        });
        time("spacetime", &mut || {
            let _ = crate::spacetime::svg(&w, None);
        });
        time("recent", &mut || {
            let _ = crate::spacetime::recent_requests(&w, 30);
        });
        let names = w.names().to_vec();
        time("log", &mut || {
            let _: Vec<String> = w
                .trace()
                .events()
                .iter()
                .rev()
                .take(80)
                .map(|e| e.describe(&names))
                .collect();
        });
    }
}
