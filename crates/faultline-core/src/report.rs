//! The run report: what `faultline run --json` prints and what lesson goals and charts read.
//! `docs/scenario-format.md` documents every field.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::node::NodeId;
use crate::world::{Counts, Liveness, World};

/// Latency percentiles in milliseconds, from the node's histogram (each within about 6 %).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Exact maximum.
    pub max_ms: f64,
    /// Exact mean.
    pub mean_ms: f64,
}

/// One node's part of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeReport {
    /// The node's id.
    pub id: String,
    /// Its model.
    pub kind: &'static str,
    /// Up, crashed or paused at the end.
    pub liveness: Liveness,
    /// Requests this node completed (a client: logical requests answered or given up; a
    /// service: requests it worked on).
    pub completed: u64,
    /// Of those, successful.
    pub successes: u64,
    /// Of those, failed.
    pub failures: u64,
    /// `successes / completed`, 0 to 1; `None` when nothing completed.
    pub success_rate: Option<f64>,
    /// Latency of the completed requests, when there were any.
    pub latency: Option<Latency>,
    /// The model's own counters (requests, attempts, timeouts, retries, ...).
    pub counters: BTreeMap<String, i64>,
    /// The availability the formula predicts from the settings (`docs/models/service.md`, Availability):
    /// the product of the hops' availabilities in series, the k-of-n sum for a quorum, one
    /// attempt each (no retries). `None` for models without one. Compare with the measured
    /// `success_rate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_formula: Option<f64>,
}

/// A whole run's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Virtual time at the end, in milliseconds.
    pub time_ms: f64,
    /// Events processed.
    pub events: u64,
    /// The trace hash, hex (equal hashes: equal traces).
    pub trace_hash: String,
    /// Messages sent, delivered, dropped; the rest were in flight at the end.
    pub messages: Counts,
    /// Messages still in flight at the end.
    pub in_flight: usize,
    /// Why the run stopped early, if a limit stopped it.
    pub halted: Option<String>,
    /// Per node, in scenario order.
    pub nodes: Vec<NodeReport>,
}

/// What the availability formula knows of a node while it is computed.
#[derive(Clone, Copy, PartialEq)]
enum Formula {
    Unknown,
    InProgress,
    Done(Option<f64>),
}

/// The formula's availability of every node (see [`NodeReport::availability_formula`]);
/// `None` for a node when a node on the way has no formula or the calls loop. Memoised, so a
/// wide fan-out costs one visit per node.
pub fn availability_formulas(world: &World) -> Vec<Option<f64>> {
    fn visit(world: &World, id: NodeId, memo: &mut [Formula]) -> Option<f64> {
        match memo[id.index()] {
            Formula::Done(v) => return v,
            Formula::InProgress => return None,
            Formula::Unknown => {}
        }
        memo[id.index()] = Formula::InProgress;
        let v = world.node(id).availability_model().and_then(|m| {
            let a = m
                .calls
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = visit(world, *c, memo);
                    // An optional call always "succeeds": its failure has a fallback.
                    if m.optional.get(i).copied().unwrap_or(false) {
                        Some(1.0)
                    } else {
                        v
                    }
                })
                .collect::<Option<Vec<f64>>>()?;
            // P(at least `need` of the independent calls succeed): the distribution of the
            // number of successes, one call at a time.
            let mut dist = vec![1.0];
            for p in &a {
                let mut next = vec![0.0; dist.len() + 1];
                for (k, q) in dist.iter().enumerate() {
                    next[k] += q * (1.0 - p);
                    next[k + 1] += q * p;
                }
                dist = next;
            }
            let stage: f64 = dist.iter().skip(m.need).sum();
            Some(m.own * if m.fallback { 1.0 } else { stage })
        });
        memo[id.index()] = Formula::Done(v);
        v
    }
    let n = world.names().len();
    let mut memo = vec![Formula::Unknown; n];
    (0..n)
        .map(|i| visit(world, NodeId(i as u16), &mut memo))
        .collect()
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Report {
    /// The report of a world as it is now.
    pub fn of(world: &World) -> Report {
        let formulas = availability_formulas(world);
        let nodes = (0..world.names().len())
            .map(|i| {
                let id = NodeId(i as u16);
                let m = world.metrics(id);
                let h = &m.latency;
                let latency = (h.count() > 0).then(|| Latency {
                    p50_ms: ms(h.quantile_us(0.5).unwrap_or(0)),
                    p90_ms: ms(h.quantile_us(0.9).unwrap_or(0)),
                    p99_ms: ms(h.quantile_us(0.99).unwrap_or(0)),
                    max_ms: ms(h.max_us()),
                    mean_ms: h.mean_us().unwrap_or(0.0) / 1000.0,
                });
                let node = world.node(id);
                // `extend`, not `collect`: collecting into a B-tree compiles a sort of its own.
                let mut counters: BTreeMap<String, i64> = BTreeMap::new();
                counters.extend(m.counters.iter().map(|(k, v)| (k.to_string(), v as i64)));
                counters.extend(node.counters().into_iter().map(|(k, v)| (k.to_string(), v)));
                NodeReport {
                    id: world.names()[i].clone(),
                    kind: node.kind(),
                    liveness: world.liveness(id),
                    completed: m.successes + m.failures,
                    successes: m.successes,
                    failures: m.failures,
                    success_rate: (m.successes + m.failures > 0)
                        .then(|| m.successes as f64 / (m.successes + m.failures) as f64),
                    latency,
                    counters,
                    availability_formula: formulas[i],
                }
            })
            .collect();
        Report {
            seed: world.seed(),
            time_ms: ms(world.now_us()),
            events: world.events(),
            trace_hash: format!("{:016x}", world.trace().hash()),
            messages: world.counts(),
            in_flight: world.in_flight_count(),
            halted: world.halted().map(str::to_string),
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    /// The samples, as the determinism test lists them.
    const SAMPLES: &[(&str, &str)] = &[
        (
            "breaker",
            include_str!("../../../tests/scenarios/breaker.json"),
        ),
        ("chain", include_str!("../../../tests/scenarios/chain.json")),
        (
            "fanout",
            include_str!("../../../tests/scenarios/fanout.json"),
        ),
        (
            "faults",
            include_str!("../../../tests/scenarios/faults.json"),
        ),
        (
            "hedging",
            include_str!("../../../tests/scenarios/hedging.json"),
        ),
        (
            "idempotent-checkout",
            include_str!("../../../tests/scenarios/idempotent-checkout.json"),
        ),
        ("queue", include_str!("../../../tests/scenarios/queue.json")),
        (
            "retry-storm",
            include_str!("../../../tests/scenarios/retry-storm.json"),
        ),
        (
            "saga-choreography-queue",
            include_str!("../../../tests/scenarios/saga-choreography-queue.json"),
        ),
    ];

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_report_has_the_success_rate_to_compare_with_the_availability_formula() {
        let (_, text) = SAMPLES[1];
        let s = Scenario::parse(text).expect("chain.json is valid");
        let mut w = s.build(None).expect("builds");
        let empty = Report::of(&w);
        assert_eq!(empty.nodes[0].success_rate, None, "nothing completed yet");
        w.run_until(s.duration_us(), u64::MAX);
        let r = Report::of(&w);
        let web = &r.nodes[0];
        assert!(web.completed > 0);
        assert_eq!(
            web.success_rate,
            Some(web.successes as f64 / web.completed as f64)
        );
        let json = serde_json::to_value(&r).expect("serialises");
        let node = &json["nodes"][0];
        assert!(node["success_rate"].is_f64(), "{node}");
        assert!(node["availability_formula"].is_f64(), "{node}");
        assert_eq!(
            crate::lesson::figure(web, "success_rate"),
            web.success_rate,
            "lesson goals read the same figure"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn counters_that_are_zero_are_reported_as_zero() {
        // Before anything happened, every counter a model can count is in the report, at 0.
        let expected: &[(&str, &[&str])] = &[
            (
                "client",
                &[
                    "attempts",
                    "retries",
                    "timeouts",
                    "late_responses",
                    "hedges",
                    "rejected",
                    "budget_exhausted",
                    "deadline_exceeded",
                ],
            ),
            (
                "payment",
                &["charges", "duplicate_charges", "idempotency_errors"],
            ),
            ("queue", &["rejected", "unroutable"]),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (name, text) in SAMPLES {
            let s = Scenario::parse(text).expect("samples are valid");
            let w = s.build(None).expect("samples build");
            for n in Report::of(&w).nodes {
                for (kind, names) in expected {
                    if n.kind == *kind {
                        seen.insert(*kind);
                        for c in *names {
                            assert_eq!(n.counters.get(*c), Some(&0), "{name}: {} {c}", n.id);
                        }
                    }
                }
                if n.kind == "service" && n.counters.contains_key("downstream_attempts") {
                    seen.insert("downstream");
                    assert_eq!(
                        n.counters.get("downstream_budget_exhausted"),
                        Some(&0),
                        "{name}: {}",
                        n.id
                    );
                }
            }
        }
        assert_eq!(
            seen.len(),
            expected.len() + 1,
            "every kind was seen: {seen:?}"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_counted_name_is_a_model_counter_with_the_same_value() {
        // A name a model counts as it goes is one of its own counters too, so a run where it
        // never happened still reports it (at 0), and the two never disagree.
        for (name, text) in SAMPLES {
            let s = Scenario::parse(text).expect("samples are valid");
            let mut w = s.build(None).expect("samples build");
            w.run_until(s.duration_us(), u64::MAX);
            for i in 0..w.names().len() {
                let id = NodeId(i as u16);
                let own: BTreeMap<&str, i64> = w.node(id).counters().into_iter().collect();
                for (k, v) in w.metrics(id).counters.iter() {
                    assert_eq!(
                        own.get(k),
                        Some(&(v as i64)),
                        "{name}: {} counts {k} but its counters say {:?}",
                        w.names()[i],
                        own.get(k)
                    );
                }
            }
        }
    }
}
