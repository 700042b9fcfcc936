//! AWS Architecture Blog, "Exponential Backoff And Jitter" (2015): clients contending for one
//! resource, with each backoff strategy.
#![cfg(not(target_arch = "wasm32"))]

use faultline_core::report::Report;
use faultline_core::scenario::Scenario;
use serde_json::json;

/// (total calls, completion time in ms) of `clients` clients that each need one successful
/// call to a resource that takes one call at a time and refuses (503) a call while busy.
fn contend(kind: &str, clients: u32, seed: u64) -> (f64, f64) {
    let s = json!({"version": 1, "duration_ms": 3_600_000, "nodes": [
        {"id": "clients", "model": {"type": "client", "target": "resource",
            "workload": {"type": "closed", "users": clients, "think_ms": 0},
            "max_requests": clients,
            "retry": {"max_attempts": 100,
                      "backoff": {"type": kind, "base_ms": BASE, "cap_ms": CAP}}}},
        {"id": "resource", "model": {"type": "service", "concurrency": 1, "queue_limit": 0,
            "latency": {"type": "constant", "ms": WORK}}}],
        "links": [{"a": "clients", "b": "resource", "latency": {"type": "constant", "ms": 0.5}}]});
    let s = Scenario::parse(&s.to_string()).unwrap();
    let mut w = s.build(Some(seed)).unwrap();
    w.run_until(s.duration_us(), u64::MAX);
    let r = Report::of(&w);
    let c = &r.nodes[0];
    assert_eq!(
        c.successes,
        u64::from(clients),
        "{kind}: every client got through"
    );
    (
        c.counters["attempts"] as f64,
        c.latency.as_ref().unwrap().max_ms,
    )
}

const BASE: f64 = 1.0;
const CAP: f64 = 1000.0;
const WORK: f64 = 1.0;

/// Mean (calls, completion time) over seeds 1 to 10.
fn mean(kind: &str, clients: u32) -> (f64, f64) {
    let (mut calls, mut time) = (0.0, 0.0);
    for seed in 1..=10 {
        let (c, t) = contend(kind, clients, seed);
        calls += c / 10.0;
        time += t / 10.0;
    }
    (calls, time)
}

/// The post's findings, as means over ten seeds of 100 clients (base 1 ms, cap 1 s, the
/// resource busy 1 ms per call). Measured: exponential 5050 calls and 91 s; full jitter about
/// 656 calls and 0.53 s; equal jitter about 669 calls and 0.69 s; decorrelated about 754 calls.
#[test]
fn jitter_strategies_rank_as_the_aws_post_reports() {
    let (expo_calls, expo_time) = mean("exponential", 100);
    let (full_calls, full_time) = mean("full_jitter", 100);
    let (equal_calls, equal_time) = mean("equal_jitter", 100);
    let (decor_calls, _) = mean("decorrelated_jitter", 100);
    // Without jitter the clients stay in step: one gets through per round, 100 + 99 + ... + 1.
    assert_eq!(expo_calls, 5050.0);
    // Full jitter: less than half the calls of un-jittered exponential backoff, far sooner.
    assert!(
        full_calls < 0.5 * expo_calls,
        "{full_calls} vs {expo_calls}"
    );
    assert!(full_time * 10.0 < expo_time, "{full_time} vs {expo_time}");
    // Equal jitter: about the same work as full jitter (within 15 %), but longer.
    assert!(
        (equal_calls / full_calls - 1.0).abs() < 0.15,
        "{equal_calls} vs {full_calls}"
    );
    assert!(equal_time > 1.1 * full_time, "{equal_time} vs {full_time}");
    // Decorrelated jitter: somewhat more work than full jitter (5 % to 60 % more).
    let more = decor_calls / full_calls;
    assert!((1.05..1.6).contains(&more), "{decor_calls} vs {full_calls}");
}

/// Jitter does not change the quadratic total work of N clients contending for one resource:
/// twice the clients, clearly more than twice the calls (measured: 276 then 656, 2.4 times).
#[test]
fn jitter_does_not_make_contention_linear() {
    let (fifty, _) = mean("full_jitter", 50);
    let (hundred, _) = mean("full_jitter", 100);
    assert!(hundred > 2.2 * fifty, "{fifty} then {hundred}");
}
