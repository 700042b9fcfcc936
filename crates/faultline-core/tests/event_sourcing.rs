//! Event sourcing and CQRS (`models::event_sourcing`), against Martin Fowler's "Event Sourcing"
//! and "CQRS": a read model is a fold of the log that lags and converges once writes stop; a
//! rebuild by replay gives the same state; the state at a past time is the fold up to it.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeMap;

use common::{counters, model, run_to};
use faultline_core::scenario::Scenario;
use faultline_core::trace::TraceKind;
use faultline_core::world::World;
use serde_json::{Value, json};

const SAMPLE: &str = include_str!("../../../tests/scenarios/event-sourcing.json");

fn sample() -> Value {
    serde_json::from_str(SAMPLE).unwrap()
}

fn run_to_ms(s: &Value, seed: u64, until_ms: u64) -> World {
    run_to(s, Some(seed), until_ms * 1000)
}

fn run(s: &Value, seed: u64) -> World {
    let ms = s["duration_ms"].as_f64().unwrap() as u64;
    run_to_ms(s, seed, ms)
}

const STATE: [&str; 5] = ["placed", "paid", "shipped", "revenue_cents", "digest"];

fn state(c: &BTreeMap<&'static str, i64>) -> Vec<i64> {
    STATE.iter().map(|k| c[k]).collect()
}

fn states(w: &World, kind: &str) -> Vec<String> {
    w.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::State { text, .. } if text.contains(kind) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// The sample with the writer stopping at `stop_ms` and no rebuild.
fn stopping(stop_ms: u64) -> Value {
    let mut s = sample();
    s["interventions"] = json!([
        {"do": "set", "at_ms": stop_ms, "node": "checkout", "param": "rate_per_s", "value": 0}
    ]);
    s
}

#[test]
fn projections_converge_to_the_logs_fold_when_the_writer_stops() {
    for seed in 1..=4 {
        let w = run(&stopping(15_000), seed);
        let log = counters(&w, "log");
        assert!(log["appended"] > 200, "{log:?}");
        for p in ["dashboard", "report"] {
            let c = counters(&w, p);
            assert_eq!(c["offset"], log["appended"], "{p} seed {seed}");
            assert_eq!(c["lag_events"], 0, "{p} seed {seed}");
            assert_eq!(state(&c), state(&log), "{p} seed {seed}");
            // Applied once each: no rebuild, no duplicate.
            assert_eq!(c["applied"], c["offset"]);
        }
    }
}

#[test]
fn lag_grows_at_the_difference_of_the_rates() {
    // Evenly spaced writes at 50 a second; the projection applies one event per 40 ms (25 a
    // second) in batches of 10, each batch one poll round trip of 2 ms: 10 events per 402 ms.
    // After 20 s the log has 1000 events and the projection has applied 20 / 0.402 * 10 = 497,
    // so it is about 503 behind: the lag grows by (50 - 25) events a second.
    let s = json!({
        "version": 1, "seed": 1, "duration_ms": 20000,
        "nodes": [
            {"id": "w", "model": {"type": "order_writer", "log": "log", "rate_per_s": 50, "poisson": false}},
            {"id": "log", "model": {"type": "event_log"}},
            {"id": "slow", "model": {"type": "projection", "log": "log", "apply_ms": 40, "batch": 10}},
            {"id": "fast", "model": {"type": "projection", "log": "log", "apply_ms": 10, "batch": 10, "poll_interval_ms": 100}}
        ],
        "links": [
            {"a": "w", "b": "log", "latency": {"type": "constant", "ms": 1}},
            {"a": "log", "b": "slow", "latency": {"type": "constant", "ms": 1}},
            {"a": "log", "b": "fast", "latency": {"type": "constant", "ms": 1}}
        ]
    });
    for seed in 1..=3 {
        let w = run(&s, seed);
        let log = counters(&w, "log")["appended"];
        assert!((998..=1000).contains(&log), "{log}");
        let slow = counters(&w, "slow");
        let behind = log - slow["offset"];
        assert!(
            (490..=515).contains(&behind),
            "seed {seed}: {behind} behind"
        );
        assert!(slow["max_lag_events"] >= 480, "{slow:?}");
        // A projection faster than the writer stays within one poll's worth of events: at
        // most 100 ms of writes (5) plus the batch being applied (10).
        let fast = counters(&w, "fast");
        assert!(fast["max_lag_events"] <= 15, "seed {seed}: {fast:?}");
    }
}

#[test]
fn a_rebuild_by_replay_gives_the_same_state() {
    let mut s = stopping(10_000);
    s["interventions"].as_array_mut().unwrap().push(
        json!({"do": "set", "at_ms": 15000, "node": "dashboard", "param": "rebuild", "value": true}),
    );
    for seed in 1..=3 {
        let before = counters(&run_to_ms(&s, seed, 14_900), "dashboard");
        let w = run(&s, seed);
        let after = counters(&w, "dashboard");
        assert_eq!(after["rebuilds"], 1);
        assert_eq!(state(&before), state(&after), "seed {seed}");
        assert_eq!(before["offset"], after["offset"]);
        assert_eq!(
            after["applied"],
            2 * after["offset"],
            "every event applied twice"
        );
        let lines = states(&w, "rebuil");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("replaying the log from offset 0"));
        assert_eq!(
            lines[1],
            format!("rebuilt: caught up at offset {}", after["offset"])
        );
    }
}

#[test]
fn the_sample_rebuilds_while_writes_go_on_and_still_matches_the_log() {
    let w = run(&sample(), 5);
    let (log, d, r) = (
        counters(&w, "log"),
        counters(&w, "dashboard"),
        counters(&w, "report"),
    );
    assert_eq!(d["rebuilds"], 1);
    // The dashboard keeps up within a poll: at most a handful of events behind the log.
    assert!(log["appended"] - d["offset"] <= 5, "{log:?} {d:?}");
    // The report falls behind by about (20 - 1000/60) a second for 30 s, about 100.
    let behind = log["appended"] - r["offset"];
    assert!((50..=200).contains(&behind), "report {behind} behind");
}

#[test]
fn a_crash_keeps_a_durable_read_model_and_replays_a_volatile_one() {
    for durable in [true, false] {
        let mut s = stopping(10_000);
        model(&mut s, "dashboard")["durable"] = json!(durable);
        s["interventions"].as_array_mut().unwrap().extend([
            json!({"do": "crash", "at_ms": 5000, "node": "dashboard"}),
            json!({"do": "restart", "at_ms": 6000, "node": "dashboard"}),
        ]);
        let w = run(&s, 2);
        let (log, d) = (counters(&w, "log"), counters(&w, "dashboard"));
        assert_eq!(state(&d), state(&log), "durable {durable}");
        if durable {
            assert_eq!(d["applied"], d["offset"]);
        } else {
            // It had applied about 5 s of events, and applies them again.
            assert!(d["applied"] > d["offset"] + 50, "{d:?}");
        }
    }
}

#[test]
fn a_paused_projection_falls_behind_and_catches_up() {
    let mut s = stopping(20_000);
    s["interventions"].as_array_mut().unwrap().extend([
        json!({"do": "pause", "at_ms": 5000, "node": "dashboard"}),
        json!({"do": "resume", "at_ms": 10000, "node": "dashboard"}),
    ]);
    for seed in 1..=3 {
        let w = run(&s, seed);
        let (log, d) = (counters(&w, "log"), counters(&w, "dashboard"));
        // Five seconds of about 20 events a second.
        assert!(
            (60..=160).contains(&d["max_lag_events"]),
            "seed {seed}: {d:?}"
        );
        assert_eq!(d["lag_events"], 0);
        assert_eq!(state(&d), state(&log));
        assert_eq!(d["applied"], d["offset"], "nothing applied twice");
    }
}

#[test]
fn lost_appends_and_polls_are_retried_and_kept_once() {
    let mut s = stopping(15_000);
    for l in s["links"].as_array_mut().unwrap() {
        l["loss"] = json!(0.1);
    }
    // One append at a time: with a 1 s timeout, each lost one would cost a second, and a
    // fifth of them are lost one way or the other; 50 ms keeps the writer ahead of its rate.
    model(&mut s, "checkout")["timeout_ms"] = json!(50);
    model(&mut s, "dashboard")["poll_timeout_ms"] = json!(50);
    model(&mut s, "report")["poll_timeout_ms"] = json!(50);
    for seed in 1..=3 {
        let w = run(&s, seed);
        let (wr, log) = (counters(&w, "checkout"), counters(&w, "log"));
        assert!(wr["resends"] > 0);
        assert!(log["resent_appends"] > 0, "some acknowledgements were lost");
        assert_eq!(wr["appended"], log["appended"], "each event once");
        assert_eq!(wr["commands"], wr["appended"]);
        for p in ["dashboard", "report"] {
            assert_eq!(state(&counters(&w, p)), state(&log), "{p} seed {seed}");
        }
    }
}

#[test]
fn the_log_answers_the_state_as_of_a_past_time() {
    let mut s = stopping(15_000);
    // As of the end: everything. As of 10 s: what a projection had applied when it was
    // caught up at 10 s is at most that.
    model(&mut s, "log")["as_of_ms"] = json!(30000);
    let w = run(&s, 1);
    let log = counters(&w, "log");
    assert_eq!(log["as_of_offset"], log["appended"]);
    assert_eq!(log["as_of_placed"], log["placed"]);
    model(&mut s, "log")["as_of_ms"] = json!(10000);
    let w = run(&s, 1);
    let log = counters(&w, "log");
    let at10 = counters(&run_to_ms(&s, 1, 10_000), "log");
    assert_eq!(log["as_of_offset"], at10["appended"]);
    assert_eq!(log["as_of_placed"], at10["placed"]);
    assert_eq!(log["as_of_paid"], at10["paid"]);
    assert_eq!(log["as_of_shipped"], at10["shipped"]);
    assert!(log["as_of_offset"] < log["appended"]);
}

#[test]
fn bad_settings_are_refused_with_the_field() {
    for (node, field, value) in [
        ("checkout", "rate_per_s", json!(-1)),
        ("checkout", "log", json!("nobody")),
        ("dashboard", "apply_ms", json!(-5)),
        ("dashboard", "batch", json!(0)),
        ("dashboard", "poll_interval_ms", json!(0)),
        ("log", "as_of_ms", json!(-1)),
    ] {
        let mut s = sample();
        model(&mut s, node)[field] = value;
        let e = Scenario::parse(&s.to_string())
            .and_then(|sc| sc.build(None).map(|_| ()))
            .expect_err(field);
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    let mut s = sample();
    s["interventions"][0]["value"] = json!(false);
    assert!(Scenario::parse(&s.to_string()).is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn cases(default: u32) -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases(24)))]

        /// Random rates, speeds, batches, loss, crashes, pauses and rebuilds never panic; a
        /// projection never gets ahead of the log, and whenever it has applied as many events
        /// as the log holds, its state is the log's fold. Every event is in the log once.
        #[test]
        fn random_settings_keep_the_invariants(
            seed in 0u64..1000,
            rate in 0.0f64..200.0,
            poisson: bool,
            apply in 0.0f64..30.0,
            poll in 1.0f64..500.0,
            batch in 1u32..200,
            loss in 0.0f64..0.3,
            durable: bool,
            fault in 0usize..4,
            stop: bool,
        ) {
            let mut s = sample();
            s["duration_ms"] = json!(8000);
            let w = model(&mut s, "checkout");
            w["rate_per_s"] = json!(rate);
            w["poisson"] = json!(poisson);
            w["timeout_ms"] = json!(200);
            for p in ["dashboard", "report"] {
                let m = model(&mut s, p);
                m["apply_ms"] = json!(apply);
                m["poll_interval_ms"] = json!(poll);
                m["batch"] = json!(batch);
                m["durable"] = json!(durable);
                m["poll_timeout_ms"] = json!(200);
            }
            for l in s["links"].as_array_mut().unwrap() {
                l["loss"] = json!(loss);
            }
            let mut iv = vec![match fault {
                0 => json!({"do": "crash", "at_ms": 2000, "node": "report"}),
                1 => json!({"do": "pause", "at_ms": 2000, "node": "report"}),
                2 => json!({"do": "crash", "at_ms": 2000, "node": "log"}),
                _ => json!({"do": "set", "at_ms": 2000, "node": "report", "param": "rebuild", "value": true}),
            }];
            iv.push(match fault {
                0 | 2 => json!({"do": "restart", "at_ms": 3000, "node": if fault == 0 { "report" } else { "log" }}),
                1 => json!({"do": "resume", "at_ms": 3000, "node": "report"}),
                _ => json!({"do": "set", "at_ms": 3000, "node": "dashboard", "param": "rebuild", "value": true}),
            });
            if stop {
                iv.push(json!({"do": "set", "at_ms": 4000, "node": "checkout", "param": "rate_per_s", "value": 0}));
            }
            s["interventions"] = json!(iv);
            let w = run(&s, seed);
            let (wr, log) = (counters(&w, "checkout"), counters(&w, "log"));
            // One append may be in the log with its acknowledgement lost or still on the way.
            prop_assert!(log["appended"] >= wr["appended"]);
            prop_assert!(log["appended"] <= wr["appended"] + 1);
            prop_assert!(wr["appended"] <= wr["commands"]);
            for p in ["dashboard", "report"] {
                let c = counters(&w, p);
                prop_assert!(c["offset"] <= log["appended"]);
                prop_assert!(c["applied"] >= c["offset"]);
                if c["offset"] == log["appended"] {
                    prop_assert_eq!(state(&c), state(&log), "{}", p);
                }
            }
        }
    }
}
