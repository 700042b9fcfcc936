//! Two-phase commit blocks: participants that voted yes hold their locks, in doubt, for as long
//! as the coordinator is down, and are released only when it comes back.

mod common;

use common::counter;
use faultline_core::scenario::Scenario;
use faultline_core::trace::TraceKind;
use faultline_core::world::World;
use serde_json::{Value, json};

const SAMPLE: &str = include_str!("../../../tests/scenarios/two-phase-commit.json");

fn build(s: &Value) -> World {
    Scenario::parse(&s.to_string())
        .expect("valid")
        .build(None)
        .expect("builds")
}

fn status(w: &World, node: &str) -> String {
    w.node(w.node_id(node).expect("node")).status()
}

fn sample(restart_ms: f64) -> Value {
    let mut s: Value = serde_json::from_str(SAMPLE).expect("json");
    s["duration_ms"] = json!(restart_ms + 5000.0);
    s["interventions"][1]["at_ms"] = json!(restart_ms);
    s
}

#[test]
fn a_coordinator_crash_after_the_votes_blocks_the_participants_until_it_restarts() {
    for restart_ms in [9000.0, 30000.0] {
        let mut w = build(&sample(restart_ms));
        let parts = ["orders", "stock", "billing"];
        w.run_until(5_020_000, u64::MAX);
        for p in parts {
            assert_eq!(status(&w, p), "PREPARED, locks held, in doubt", "{p}");
        }
        // Down: the participants wait, however long, and never decide alone.
        let just_before = (restart_ms as u64) * 1000 - 1000;
        w.run_until(just_before, u64::MAX);
        for p in parts {
            assert_eq!(status(&w, p), "blocked, in doubt since 5.0 s", "{p}");
            assert_eq!(counter(&w, p, "blocked"), 1, "{p}");
            assert_eq!(counter(&w, p, "committed"), 4, "{p}");
            assert_eq!(counter(&w, p, "aborted"), 0, "{p}");
            let in_doubt = counter(&w, p, "in_doubt_ms");
            let down_ms = just_before as i64 / 1000 - 5015;
            assert!(
                (down_ms - 1000..=down_ms + 200).contains(&in_doubt),
                "{p}: {in_doubt} ms in doubt, {down_ms} down"
            );
        }
        // Back: no record of the transaction, presumed abort, locks released.
        w.run_until((restart_ms as u64) * 1000 + 1_100_000, u64::MAX);
        for p in parts {
            assert_eq!(counter(&w, p, "blocked"), 0, "{p}");
            assert_eq!(counter(&w, p, "aborted"), 1, "{p}");
        }
        assert_eq!(counter(&w, "coordinator", "presumed_aborts"), 3);
        let released = w
            .trace()
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                TraceKind::State { text, .. } if text.starts_with("x5: ABORTED") => Some(e.time_us),
                _ => None,
            })
            .count();
        assert_eq!(released, 3);
    }
}

#[test]
fn a_logged_decision_is_sent_again_after_the_restart() {
    // The decision reaches the log, but the link to `orders` is cut before it gets there and
    // the coordinator then crashes: `orders` stays blocked until the restarted coordinator
    // re-sends the logged COMMIT.
    let mut s = sample(9000.0);
    s["interventions"] = json!([
        {"do": "cut", "at_ms": 5020, "a": "coordinator", "b": "orders", "one_way": true},
        {"do": "crash", "at_ms": 5100, "node": "coordinator"},
        {"do": "heal", "at_ms": 5200, "a": "coordinator", "b": "orders"},
        {"do": "restart", "at_ms": 9000, "node": "coordinator"}
    ]);
    let mut w = build(&s);
    w.run_until(8_900_000, u64::MAX);
    assert_eq!(status(&w, "orders"), "blocked, in doubt since 5.0 s");
    assert_eq!(counter(&w, "stock", "blocked"), 0);
    assert_eq!(counter(&w, "stock", "committed"), 5);
    w.run_until(9_100_000, u64::MAX);
    assert_eq!(counter(&w, "orders", "blocked"), 0);
    assert_eq!(
        counter(&w, "orders", "committed"),
        5,
        "the logged decision, not an abort"
    );
    assert_eq!(counter(&w, "orders", "aborted"), 0);
}

#[test]
fn without_a_crash_nothing_blocks_and_no_votes_abort() {
    let mut s = sample(9000.0);
    s["interventions"] = json!([]);
    s["nodes"][2]["model"]["no_rate"] = json!(0.5);
    let mut w = build(&s);
    w.run_until(14_500_000, u64::MAX);
    let committed = counter(&w, "coordinator", "committed");
    let aborted = counter(&w, "coordinator", "aborted");
    assert_eq!(committed + aborted, 14);
    assert!(
        aborted >= 3 && committed >= 3,
        "{committed} committed, {aborted} aborted"
    );
    for p in ["orders", "stock", "billing"] {
        assert_eq!(counter(&w, p, "blocked_episodes"), 0, "{p}");
        assert_eq!(counter(&w, p, "committed"), committed, "{p}");
    }
}
