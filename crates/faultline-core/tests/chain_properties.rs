//! Property test: random downstream calls, chains, fan-outs, fallbacks, breakers, outages and
//! hedges never panic, every request ends, and the counters agree with each other.
#![cfg(not(target_arch = "wasm32"))]

use faultline_core::report::Report;
use faultline_core::rng::{SimRng, Stream};
use faultline_core::scenario::Scenario;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A random retry policy.
fn retry(r: &mut SimRng) -> Value {
    let kinds = [
        "none",
        "constant",
        "exponential",
        "full_jitter",
        "equal_jitter",
        "decorrelated_jitter",
        "grpc",
    ];
    let on = ["timeout", "5xx", "429", "409", "breaker_open"][r.below(5) as usize];
    let mut p = json!({
        "max_attempts": 1 + r.below(3),
        "backoff": {"type": kinds[r.below(kinds.len() as u64) as usize],
                    "base_ms": r.below(50), "cap_ms": r.below(200)},
        "retry_on": [on, "5xx"],
    });
    if r.below(4) == 0 {
        p["budget"] = json!({"type": "token_bucket", "max_tokens": 1 + r.below(10),
                             "token_ratio": 0.1});
    }
    p
}

/// A random scenario: clients in front of a random DAG of services (a service only calls
/// services after it, so there is no loop), no message loss and no crash, so every request must
/// end; all of it derived from `seed`.
fn build(seed: u64) -> Value {
    let mut r = SimRng::new(seed, Stream::World);
    let services = 1 + r.below(6) as usize;
    let clients = 1 + r.below(2) as usize;
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    let name = |i: usize| format!("s{i}");
    let lat = |r: &mut SimRng| match r.below(3) {
        0 => json!({"type": "constant", "ms": r.below(20)}),
        1 => json!({"type": "exponential", "mean_ms": 1 + r.below(20)}),
        _ => json!({"type": "bimodal", "fast": {"type": "constant", "ms": 2},
                    "slow": {"type": "constant", "ms": 100}, "slow_ratio": 0.1}),
    };
    for c in 0..clients {
        let target = name(r.below(services as u64) as usize);
        let mut m = json!({"type": "client", "target": target,
            "workload": {"type": "open", "rate_per_s": 5 + r.below(100)},
            "max_requests": 1 + r.below(25), "retry": retry(&mut r)});
        if r.below(2) == 0 {
            m["timeout_ms"] = json!(20 + r.below(300));
        }
        if r.below(2) == 0 {
            m["hedge_after_ms"] = json!(1 + r.below(50));
        }
        if r.below(3) == 0 {
            m["breaker"] = json!({"minimum_calls": 2, "wait_in_open_ms": 1 + r.below(500),
                                  "window": {"type": "count", "size": 4}});
        }
        if r.below(4) == 0 {
            m["deadline_ms"] = json!(50 + r.below(500));
        }
        let id = format!("c{c}");
        links.push(json!({"a": id, "b": target, "latency": lat(&mut r)}));
        nodes.push(json!({"id": id, "model": m}));
    }
    for i in 0..services {
        let mut m = json!({"type": "service", "latency": lat(&mut r),
            "concurrency": 1 + r.below(8), "queue_limit": r.below(20),
            "error_rate": r.unit() * 0.5});
        match r.below(6) {
            0 => m["outage"] = json!(500 + r.below(4)),
            1 => m["no_retry_above"] = json!(r.below(5)),
            2 => {
                m["latency_factor"] = json!(1.0 + r.unit() * 4.0);
                m["extra_latency_ms"] = json!(r.below(30));
            }
            _ => {}
        }
        let later: Vec<usize> = (i + 1..services).collect();
        if !later.is_empty() && r.below(3) > 0 {
            let n = 1 + r.below(later.len().min(4) as u64) as usize;
            let calls: Vec<Value> = (0..n)
                .map(|_| {
                    let t = later[r.below(later.len() as u64) as usize];
                    let mut c = json!({"target": name(t), "retry": retry(&mut r)});
                    if r.below(2) == 0 {
                        c["timeout_ms"] = json!(10 + r.below(300));
                    }
                    if r.below(3) == 0 {
                        c["fallback"] = json!(true);
                    }
                    if r.below(3) == 0 {
                        c["breaker"] =
                            json!({"preset": "opossum", "wait_in_open_ms": 1 + r.below(300)});
                    }
                    c
                })
                .collect();
            let wait = if r.below(2) == 0 {
                json!("all")
            } else {
                json!({"quorum": 1 + r.below(n as u64)})
            };
            m["downstream"] = json!({"calls": calls,
                "mode": if r.below(2) == 0 { "sequence" } else { "parallel" },
                "wait": wait, "fallback": r.below(2) == 0});
            for t in (i + 1)..services {
                links.push(json!({"a": name(i), "b": name(t), "latency": lat(&mut r)}));
            }
        }
        nodes.push(json!({"id": name(i), "model": m}));
    }
    // Long enough for every request to end: arrivals stop within a few seconds, and each
    // layer's attempts, timeouts and backoffs are bounded.
    json!({"version": 1, "seed": seed, "duration_ms": 600_000, "nodes": nodes, "links": links})
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn check(seed: u64) -> Result<(), TestCaseError> {
    let text = build(seed).to_string();
    let s = Scenario::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    let mut w = s.build(None).expect("builds");
    w.run_until(s.duration_us(), 5_000_000);
    let r = Report::of(&w);
    prop_assert!(r.halted.is_none(), "halted: {:?}\n{text}", r.halted);
    prop_assert_eq!(r.in_flight, 0, "messages still in flight\n{}", text);
    let get = |n: &faultline_core::report::NodeReport, c: &str| *n.counters.get(c).unwrap_or(&0);
    let (mut sent, mut received) = (0, 0);
    for n in &r.nodes {
        match n.kind {
            "client" => {
                // Every request ends.
                prop_assert_eq!(get(n, "in_progress"), 0, "{}\n{}", n.id, text);
                prop_assert_eq!(get(n, "requests"), get(n, "successes") + get(n, "failures"));
                prop_assert_eq!(n.completed as i64, get(n, "requests"));
                sent += get(n, "attempts") + get(n, "hedges");
            }
            _ => {
                prop_assert_eq!(get(n, "queued") + get(n, "busy"), 0, "{}\n{}", n.id, text);
                prop_assert_eq!(get(n, "waiting_for_calls"), 0);
                prop_assert_eq!(
                    get(n, "attempts_received"),
                    get(n, "served") + get(n, "shed") + get(n, "overloaded") + get(n, "outage"),
                    "{}\n{}",
                    n.id,
                    text
                );
                prop_assert_eq!(n.completed as i64, get(n, "served"));
                // A fallback stands for a failed optional call or a failed stage.
                prop_assert!(
                    get(n, "fallbacks") <= get(n, "downstream_failures") + get(n, "served")
                );
                prop_assert!(get(n, "downstream_retries") <= get(n, "downstream_attempts"));
                sent += get(n, "downstream_attempts");
                received += get(n, "attempts_received");
            }
        }
        if let Some(a) = n.availability_formula {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&a), "{a}");
        }
    }
    // No loss: every attempt sent was received.
    prop_assert_eq!(sent, received, "{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn random_chains_fan_outs_and_hedges_keep_their_invariants(seed in any::<u64>()) {
        check(seed)?;
    }
}
