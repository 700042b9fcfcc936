//! The queue with at-least-once delivery: a lost ack causes exactly one redelivery, and a
//! de-duplicating consumer turns that redelivery into no second side effect.

mod common;

use common::counter;
use faultline_core::NodeId;
use faultline_core::scenario::Scenario;
use faultline_core::world::{RunStatus, World};
use serde_json::json;

fn run(s: &serde_json::Value, seed: Option<u64>) -> (World, Scenario) {
    let s = Scenario::parse(&s.to_string()).expect("valid scenario");
    let mut w = s.build(seed).expect("builds");
    while w.run_until(s.duration_us(), 100_000) == RunStatus::Budget {
        w.trace_mut().drain();
    }
    (w, s)
}

/// One message; the consumer's first ack is lost (its link to the queue is cut one way until
/// 300 ms), the queue's 500 ms ack timeout redelivers it once.
fn one_lost_ack(dedup: bool) -> serde_json::Value {
    json!({
        "version": 1, "seed": 1, "duration_ms": 3000,
        "nodes": [
            {"id": "producer", "model": {"type": "producer", "queue": "queue", "rate_per_s": 1000, "max_messages": 1}},
            {"id": "queue", "model": {"type": "queue", "consumers": ["worker"], "ack_timeout_ms": 500}},
            {"id": "worker", "model": {"type": "consumer", "queue": "queue",
                "processing": {"type": "constant", "ms": 20}, "dedup": dedup}}
        ],
        "links": [
            {"a": "producer", "b": "queue", "latency": {"type": "constant", "ms": 5}},
            {"a": "queue", "b": "worker", "latency": {"type": "constant", "ms": 10}}
        ],
        "interventions": [
            {"do": "cut", "at_ms": 0, "a": "worker", "b": "queue", "one_way": true},
            {"do": "heal", "at_ms": 300, "a": "worker", "b": "queue"}
        ]
    })
}

#[test]
fn a_lost_ack_causes_exactly_one_redelivery_and_a_duplicate_without_dedup() {
    let (w, _) = run(&one_lost_ack(false), None);
    assert_eq!(counter(&w, "queue", "published"), 1);
    assert_eq!(counter(&w, "queue", "delivered"), 2);
    assert_eq!(counter(&w, "queue", "redelivered"), 1);
    assert_eq!(counter(&w, "queue", "acked"), 1);
    assert_eq!(counter(&w, "queue", "unacked"), 0);
    assert_eq!(counter(&w, "queue", "depth"), 0);
    assert_eq!(
        counter(&w, "worker", "processed"),
        2,
        "the side effect twice"
    );
    assert_eq!(counter(&w, "worker", "duplicates_processed"), 1);
}

#[test]
fn with_dedup_the_side_effect_happens_once() {
    let (w, _) = run(&one_lost_ack(true), None);
    assert_eq!(counter(&w, "queue", "redelivered"), 1);
    assert_eq!(counter(&w, "queue", "acked"), 1);
    assert_eq!(
        counter(&w, "worker", "processed"),
        1,
        "the side effect once"
    );
    assert_eq!(counter(&w, "worker", "duplicates_processed"), 0);
    assert_eq!(counter(&w, "worker", "duplicates_skipped"), 1);
}

#[test]
fn a_crashed_consumer_loses_nothing_the_queue_redelivers_it() {
    // The consumer takes 200 ms per message and crashes at 100 ms, mid-work, restarting at
    // 200 ms: no ack came, so after the 500 ms timeout the message is delivered again.
    let mut s = one_lost_ack(false);
    s["nodes"][2]["model"]["processing"] = json!({"type": "constant", "ms": 200});
    s["interventions"] = json!([
        {"do": "crash", "at_ms": 100, "node": "worker"},
        {"do": "restart", "at_ms": 200, "node": "worker"}
    ]);
    let (w, _) = run(&s, None);
    assert_eq!(counter(&w, "queue", "redelivered"), 1);
    assert_eq!(counter(&w, "queue", "acked"), 1);
    assert_eq!(
        counter(&w, "worker", "processed"),
        1,
        "the crash came before the side effect"
    );
    assert_eq!(counter(&w, "worker", "duplicates_processed"), 0);
}

#[test]
fn the_sample_loses_no_message_and_dedup_removes_every_duplicate() {
    let text = include_str!("../../../tests/scenarios/queue.json");
    let base: serde_json::Value = serde_json::from_str(text).expect("json");
    for seed in 1..=5 {
        let (w, _) = run(&base, Some(seed));
        let published = counter(&w, "queue", "published");
        let acked = counter(&w, "queue", "acked");
        let open = counter(&w, "queue", "depth");
        assert_eq!(
            published,
            acked + open,
            "seed {seed}: every message acked or still queued"
        );
        assert!(
            open <= 12,
            "seed {seed}: at most a prefetch's worth at the end: {open}"
        );
        let dups = counter(&w, "worker", "duplicates_processed");
        // 5 % of acks lost: about 5 % of messages processed twice.
        assert!(
            (published / 40..=published / 10).contains(&dups),
            "seed {seed}: {dups} duplicates of {published}"
        );
        let mut fixed = base.clone();
        fixed["nodes"][2]["model"]["dedup"] = json!(true);
        let (w, _) = run(&fixed, Some(seed));
        assert_eq!(
            counter(&w, "worker", "duplicates_processed"),
            0,
            "seed {seed}"
        );
        assert!(
            counter(&w, "worker", "duplicates_skipped") > 0,
            "seed {seed}"
        );
        // Each message's side effect at most once; only those still queued at the end may not
        // have happened yet.
        let (processed, published) = (
            counter(&w, "worker", "processed"),
            counter(&w, "queue", "published"),
        );
        let open = counter(&w, "queue", "depth");
        assert!(
            processed <= published && processed >= published - open,
            "seed {seed}: {processed} processed of {published}, {open} open"
        );
    }
}

#[test]
fn queue_node_ids_are_checked() {
    let mut s = one_lost_ack(false);
    s["nodes"][1]["model"]["consumers"] = json!(["nobody"]);
    let err = Scenario::parse(&s.to_string()).and_then(|s| s.build(None).map(|_| ()));
    let text = format!("{:?}", err.expect_err("unknown consumer"));
    assert!(text.contains("nobody"), "{text}");
    let _ = NodeId(0);
}

#[test]
fn a_queue_crash_keeps_its_messages_and_redelivers_the_unacked_ones() {
    // The queue crashes while its one message is being processed (so the ack finds it down)
    // and restarts: the message is durable, delivered again, processed again without dedup.
    let mut s = one_lost_ack(false);
    s["nodes"][2]["model"]["processing"] = json!({"type": "constant", "ms": 100});
    s["interventions"] = json!([
        {"do": "crash", "at_ms": 50, "node": "queue"},
        {"do": "restart", "at_ms": 300, "node": "queue"}
    ]);
    let (w, _) = run(&s, None);
    assert_eq!(counter(&w, "queue", "published"), 1);
    assert_eq!(counter(&w, "queue", "redelivered"), 1);
    assert_eq!(counter(&w, "queue", "acked"), 1);
    assert_eq!(counter(&w, "worker", "processed"), 2);
    assert_eq!(counter(&w, "worker", "duplicates_processed"), 1);
}
