//! Property test for the queue, saga and two-phase commit models: random settings, lossy links
//! and random crashes never panic, and with a correct orchestrator the saga invariants hold.
#![cfg(not(target_arch = "wasm32"))]

use faultline_core::scenario::Scenario;
use faultline_core::trace::TraceKind;
use faultline_core::world::{Action, RunStatus};
use proptest::prelude::*;
use serde_json::{Value, json};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
struct Knobs {
    ratios: Vec<f64>,
    ms: Vec<f64>,
    flags: Vec<bool>,
    crashes: Vec<(usize, u32, u32)>,
    pivot: u8,
    steps: usize,
    fail_next: u32,
    seed: u64,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        prop::collection::vec(prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64], 12),
        prop::collection::vec(prop_oneof![Just(0.0), Just(1.0), 0.0..2000.0f64], 8),
        prop::collection::vec(any::<bool>(), 6),
        prop::collection::vec((0usize..12, 0u32..5000, 0u32..3000), 0..6),
        0u8..5,
        1usize..6,
        0u32..5,
        any::<u64>(),
    )
        .prop_map(
            |(ratios, ms, flags, crashes, pivot, steps, fail_next, seed)| Knobs {
                ratios,
                ms,
                flags,
                crashes,
                pivot,
                steps,
                fail_next,
                seed,
            },
        )
}

/// A world holding every new model: a queue, a saga (orchestrated or choreographed) and 2PC.
fn scenario(k: &Knobs) -> Value {
    let r = &k.ratios;
    let ms = |i: usize| k.ms[i].max(5.0);
    let choreo = k.flags[0];
    let n = k.steps;
    let pivot = k.pivot.min(n as u8 - 1);
    let steps: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let actions = [
        "reserve_inventory",
        "charge_payment",
        "create_shipment",
        "other",
    ];
    let mut nodes = vec![
        json!({"id": "producer", "model": {"type": "producer", "queue": "queue", "rate_per_s": 1.0 + r[0] * 50.0}}),
        json!({"id": "queue", "model": {"type": "queue", "consumers": ["c1", "c2"], "ack_timeout_ms": ms(0), "prefetch": 1 + (r[1] * 20.0) as u32}}),
        json!({"id": "c1", "model": {"type": "consumer", "queue": "queue", "processing": {"type": "exponential", "mean_ms": ms(1) / 10.0}, "failure_rate": r[2], "dedup": k.flags[1], "dedup_retention_ms": ms(2)}}),
        json!({"id": "c2", "model": {"type": "consumer", "queue": "queue", "dedup": k.flags[2]}}),
        json!({"id": "orders", "model": {"type": "saga_orchestrator", "mode": if choreo { "choreography" } else { "orchestration" },
            "steps": steps, "pivot": pivot, "rate_per_s": 1.0 + r[3] * 10.0, "step_timeout_ms": ms(3), "retry_ms": ms(4)}}),
        json!({"id": "coord", "model": {"type": "tpc_coordinator", "participants": ["t1", "t2"], "every_ms": ms(5), "log_ms": k.ms[6].min(100.0), "vote_timeout_ms": ms(7)}}),
        json!({"id": "t1", "model": {"type": "tpc_participant", "no_rate": r[4]}}),
        json!({"id": "t2", "model": {"type": "tpc_participant", "no_rate": r[5], "query_ms": ms(2)}}),
    ];
    let mut links = vec![
        json!({"a": "producer", "b": "queue"}),
        json!({"a": "queue", "b": "c1", "loss": r[6] * 0.5, "duplicate": r[7] * 0.2, "reorder": k.flags[3]}),
        json!({"a": "queue", "b": "c2", "loss": r[6] * 0.3}),
        json!({"a": "coord", "b": "t1", "loss": r[8] * 0.3}),
        json!({"a": "coord", "b": "t2"}),
    ];
    for i in 0..n {
        let name = format!("p{i}");
        let mut m = json!({"type": "saga_participant", "action": actions[i % 4],
            "latency": {"type": "exponential", "mean_ms": 1.0 + r[9] * 50.0},
            "failure_rate": r[(10 + i) % 12] * 0.5, "fail_next": k.fail_next});
        if choreo {
            m["prev"] = json!(if i == 0 {
                "orders".into()
            } else {
                format!("p{}", i - 1)
            });
            m["next"] = json!(if i + 1 == n {
                "orders".into()
            } else {
                format!("p{}", i + 1)
            });
            m["retriable"] = json!(i > usize::from(pivot));
            if i > 0 {
                links.push(json!({"a": format!("p{}", i - 1), "b": name, "loss": r[11] * 0.2}));
            }
        }
        // After the pivot a step is retried until it succeeds: it must be able to.
        m["always_fail"] = json!(k.flags[4] && i <= usize::from(pivot));
        nodes.push(json!({"id": name, "model": m}));
        links.push(json!({"a": "orders", "b": name, "loss": r[11] * 0.2, "duplicate": r[7] * 0.1}));
    }
    let names: Vec<String> = nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap_or("").to_string())
        .collect();
    let mut iv = Vec::new();
    for &(who, at, down) in &k.crashes {
        let node = &names[who % names.len()];
        iv.push(json!({"do": "crash", "at_ms": at, "node": node}));
        iv.push(json!({"do": "restart", "at_ms": (at + down).min(5000), "node": node}));
    }
    json!({"version": 1, "seed": k.seed, "duration_ms": 5000, "nodes": nodes, "links": links, "interventions": iv})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), ..ProptestConfig::default() })]

    #[test]
    fn random_settings_never_panic_and_the_saga_invariants_hold(k in knobs()) {
        let text = scenario(&k).to_string();
        let s = Scenario::parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        let mut w = s.build(None).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        loop {
            let status = w.run_until(s.duration_us(), 200_000);
            for e in w.trace_mut().drain() {
                if let TraceKind::Verdict { name, holds, detail, .. } = e.kind {
                    prop_assert_eq!(holds, Some(true), "{}: {} in {}", name, detail, text);
                }
            }
            if status != RunStatus::Budget {
                prop_assert!(matches!(status, RunStatus::Reached | RunStatus::Idle), "{:?} {}", status, text);
                break;
            }
        }
        for i in 0..w.names().len() {
            let node = w.node(faultline_core::NodeId(i as u16));
            let _ = (node.status(), node.inspect(), node.counters());
        }
    }

    #[test]
    fn set_param_with_random_values_never_panics(k in knobs(), v in prop_oneof![
        Just(json!(-1)), Just(json!(0)), Just(json!(1e300)), Just(json!("x")), Just(json!(null)),
        Just(json!(true)), Just(json!(0.5)), Just(json!([])), Just(json!({}))]) {
        let s = Scenario::parse(&scenario(&k).to_string()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut w = s.build(None).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        w.run_until(500_000, u64::MAX);
        let params = ["ack_timeout_ms", "prefetch", "max_depth", "dedup", "failure_rate", "fail_next",
            "always_fail", "pivot", "on_timeout", "rate_per_s", "no_rate", "query_ms", "log_ms",
            "every_ms", "consumers", "steps", "retry_ms", "max_messages", "processing"];
        for i in 0..w.names().len() {
            for p in params {
                w.apply(Action::Set { node: faultline_core::NodeId(i as u16), param: p.into(), value: v.clone() });
            }
        }
        w.run_until(2_000_000, u64::MAX);
    }
}
