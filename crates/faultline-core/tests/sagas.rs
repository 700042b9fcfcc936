//! Sagas: the exact order of compensations, the pivot, and the invariants over many seeds with
//! random failures, lost messages and crashes.

mod common;

use common::counter;
use faultline_core::scenario::Scenario;
use faultline_core::trace::TraceKind;
use faultline_core::world::{RunStatus, World};
use serde_json::{Value, json};

struct Run {
    world: World,
    /// (node name, text) of every state line, in order.
    states: Vec<(String, String)>,
    /// (name, holds) of every verdict, in order.
    verdicts: Vec<(String, Option<bool>)>,
}

fn run(s: &Value, seed: Option<u64>) -> Run {
    let sc = Scenario::parse(&s.to_string()).expect("valid scenario");
    let mut world = sc.build(seed).expect("builds");
    let (mut states, mut verdicts) = (Vec::new(), Vec::new());
    loop {
        let status = world.run_until(sc.duration_us(), 100_000);
        let names = world.names().to_vec();
        for e in world.trace_mut().drain() {
            match e.kind {
                TraceKind::State { node, text } => states.push((names[node.index()].clone(), text)),
                TraceKind::Verdict { name, holds, .. } => verdicts.push((name, holds)),
                _ => {}
            }
        }
        if status != RunStatus::Budget {
            break;
        }
    }
    Run {
        world,
        states,
        verdicts,
    }
}

/// One saga over the given participants (name, action, extra settings), pivot at `pivot`.
fn one_saga(parts: &[(&str, &str, Value)], pivot: u8) -> Value {
    let mut nodes = vec![
        json!({"id": "orders", "model": {"type": "saga_orchestrator",
        "steps": parts.iter().map(|p| p.0).collect::<Vec<_>>(), "pivot": pivot,
        "rate_per_s": 100, "max_sagas": 1, "retry_ms": 100}}),
    ];
    let mut links = Vec::new();
    for (name, action, extra) in parts {
        let mut model = json!({"type": "saga_participant", "action": action,
            "latency": {"type": "constant", "ms": 5}});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                model[k] = v.clone();
            }
        }
        nodes.push(json!({"id": name, "model": model}));
        links.push(json!({"a": "orders", "b": name, "latency": {"type": "constant", "ms": 1}}));
    }
    json!({"version": 1, "seed": 1, "duration_ms": 5000, "nodes": nodes, "links": links})
}

fn order_saga(inv: Value, pay: Value, ship: Value) -> Value {
    one_saga(
        &[
            ("inventory", "reserve_inventory", inv),
            ("payments", "charge_payment", pay),
            ("shipping", "create_shipment", ship),
        ],
        1,
    )
}

fn orchestrator_lines(r: &Run) -> Vec<String> {
    r.states
        .iter()
        .filter(|(n, _)| n == "orders")
        .map(|(_, t)| t.split_once(": ").map_or(t.clone(), |x| x.1.to_string()))
        .collect()
}

fn all_hold(r: &Run) {
    let last: std::collections::BTreeMap<_, _> = r.verdicts.iter().cloned().collect();
    assert_eq!(last.len(), 3, "three invariants reported: {:?}", r.verdicts);
    assert!(last.values().all(|h| *h == Some(true)), "{:?}", r.verdicts);
}

/// The end of a `chaos` run of 50 sagas: every saga ended, approved or compensated, the
/// invariants held throughout, no inventory stays reserved, and each approved order is charged
/// once (net of refunds).
fn fifty_sagas_ended_well(r: &Run, ctx: &str) {
    let w = &r.world;
    assert_eq!(counter(w, "orders", "invariant_violations"), 0, "{ctx}");
    assert!(
        r.verdicts.iter().all(|v| v.1 == Some(true)),
        "{ctx}: {:?}",
        r.verdicts
    );
    assert_eq!(counter(w, "orders", "sagas_started"), 50, "{ctx}");
    assert_eq!(
        counter(w, "orders", "sagas_running"),
        0,
        "{ctx}: every saga ended"
    );
    let completed = counter(w, "orders", "sagas_completed");
    assert_eq!(
        completed + counter(w, "orders", "sagas_compensated"),
        50,
        "{ctx}"
    );
    assert!(completed > 0, "{ctx}: some orders approved");
    assert_eq!(counter(w, "inventory", "reserved_now"), 0, "{ctx}");
    assert_eq!(
        counter(w, "payments", "charges") - counter(w, "payments", "refunds"),
        completed,
        "{ctx}: one charge per approved order"
    );
}

#[test]
fn failing_after_the_pivot_retries_and_never_compensates() {
    let r = run(
        &order_saga(json!({}), json!({}), json!({"fail_next": 2})),
        None,
    );
    let lines = orchestrator_lines(&r);
    assert_eq!(
        lines,
        [
            "order PENDING",
            "inventory ok",
            "payments ok",
            "shipping failed after the pivot, retrying",
            "shipping failed after the pivot, retrying",
            "shipping ok, confirming",
            "order APPROVED",
        ],
        "{lines:?}"
    );
    assert_eq!(counter(&r.world, "orders", "compensations"), 0);
    assert_eq!(counter(&r.world, "orders", "sagas_completed"), 1);
    assert_eq!(counter(&r.world, "shipping", "runs"), 3);
    assert_eq!(counter(&r.world, "inventory", "reserved_now"), 0);
    all_hold(&r);
}

#[test]
fn failing_at_the_charge_releases_the_inventory_only() {
    let r = run(
        &order_saga(json!({}), json!({"always_fail": true}), json!({})),
        None,
    );
    let lines = orchestrator_lines(&r);
    assert_eq!(
        lines,
        [
            "order PENDING",
            "inventory ok",
            "payments failed, compensating 1 step(s) in reverse order",
            "inventory compensated",
            "order REJECTED",
        ],
        "{lines:?}"
    );
    assert_eq!(counter(&r.world, "inventory", "compensations"), 1);
    assert_eq!(
        counter(&r.world, "payments", "compensations"),
        0,
        "the failed step is not compensated"
    );
    assert_eq!(counter(&r.world, "payments", "charges"), 0);
    assert_eq!(counter(&r.world, "payments", "refunds"), 0);
    assert_eq!(counter(&r.world, "shipping", "runs"), 0);
    assert_eq!(counter(&r.world, "orders", "sagas_compensated"), 1);
    // Semantic, not a deletion: the reservation is RELEASED, the order REJECTED.
    assert!(
        r.states
            .iter()
            .any(|(n, t)| n == "inventory" && t.ends_with("inventory RELEASED"))
    );
    all_hold(&r);
}

#[test]
fn failing_at_the_first_step_compensates_nothing() {
    let r = run(
        &order_saga(json!({"fail_next": 1}), json!({}), json!({})),
        None,
    );
    assert_eq!(
        orchestrator_lines(&r),
        [
            "order PENDING",
            "inventory failed, compensating 0 step(s) in reverse order",
            "order REJECTED"
        ]
    );
    assert_eq!(counter(&r.world, "orders", "compensations"), 0);
}

#[test]
fn compensations_run_in_reverse_order_of_the_steps_that_succeeded() {
    // Five steps, the pivot at the fourth: it fails, so the first three are compensated,
    // third, second, first; the participants' own lines say so in that order.
    let r = run(
        &one_saga(
            &[
                ("a", "reserve_inventory", json!({})),
                ("b", "other", json!({})),
                ("c", "charge_payment", json!({})),
                ("d", "other", json!({"always_fail": true})),
                ("e", "create_shipment", json!({})),
            ],
            3,
        ),
        None,
    );
    let comp: Vec<String> = orchestrator_lines(&r)
        .iter()
        .filter_map(|l| l.strip_suffix(" compensated").map(str::to_string))
        .collect();
    assert_eq!(comp, ["c", "b", "a"]);
    let undone: Vec<&str> = r
        .states
        .iter()
        .filter(|(_, t)| {
            t.ends_with("RELEASED") || t.ends_with("REFUNDED") || t.ends_with("UNDONE")
        })
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(undone, ["c", "b", "a"]);
    assert_eq!(
        counter(&r.world, "c", "refunds"),
        1,
        "a charge before the pivot is refunded"
    );
    assert_eq!(counter(&r.world, "d", "compensations"), 0);
    assert_eq!(counter(&r.world, "e", "runs"), 0);
    all_hold(&r);
}

const ORCHESTRATED: &str = include_str!("../../../tests/scenarios/saga-orchestrated.json");
const CHOREOGRAPHY: &str = include_str!("../../../tests/scenarios/saga-choreography.json");
const CHOREOGRAPHY_QUEUE: &str =
    include_str!("../../../tests/scenarios/saga-choreography-queue.json");

/// The sample with random failures, 5 % loss, and crashes of random nodes chosen by the seed;
/// it stops starting sagas at 30 s so every saga can finish.
fn chaos(text: &str, seed: u64) -> Value {
    let mut s: Value = serde_json::from_str(text).expect("json");
    s["nodes"][0]["model"]["max_sagas"] = json!(50);
    s["nodes"][0]["model"]["rate_per_s"] = json!(3);
    s["nodes"][2]["model"]["failure_rate"] = json!(0.3);
    s["nodes"][3]["model"]["failure_rate"] = json!(0.3);
    s["nodes"][1]["model"]["failure_rate"] = json!(0.1);
    for l in s["links"].as_array_mut().expect("links") {
        l["loss"] = json!(0.05);
    }
    let names = ["orders", "inventory", "payments", "shipping"];
    let mut iv = Vec::new();
    for k in 0..3u64 {
        let node = names[((seed * 7 + k * 3) % 4) as usize];
        let at = 2000 + 4000 * k + (seed * 131) % 2000;
        iv.push(json!({"do": "crash", "at_ms": at, "node": node}));
        iv.push(json!({"do": "restart", "at_ms": at + 1500, "node": node}));
    }
    s["interventions"] = json!(iv);
    s
}

#[test]
fn the_invariants_hold_over_many_seeds_with_failures_loss_and_crashes() {
    for (name, text) in [
        ("orchestrated", ORCHESTRATED),
        ("choreography", CHOREOGRAPHY),
    ] {
        for seed in 1..=40 {
            let r = run(&chaos(text, seed), Some(seed));
            fifty_sagas_ended_well(&r, &format!("{name} seed {seed}"));
        }
    }
}

#[test]
fn taking_a_timeout_for_a_failure_breaks_the_invariants_and_the_checker_sees_it() {
    let (mut broken, mut total) = (0, 0);
    for seed in 1..=5 {
        let mut s = chaos(ORCHESTRATED, seed);
        s["nodes"][0]["model"]["on_timeout"] = json!("fail");
        let r = run(&s, Some(seed));
        let v = counter(&r.world, "orders", "invariant_violations");
        total += v;
        if v > 0 {
            broken += 1;
            assert!(r.verdicts.iter().any(|x| x.1 == Some(false)), "seed {seed}");
        }
    }
    assert!(broken >= 3, "violations in {broken} of 5 seeds");
    assert!(total >= 10, "each broken saga counts: {total}");
}

#[test]
fn a_choreography_compensates_in_reverse_order_by_passing_undo_back() {
    // Four steps in a chain, the third fails: the second, then the first, compensate, then the
    // order service rejects the order. Nothing is sent to the fourth.
    let names = ["a", "b", "c", "d"];
    let mut nodes = vec![
        json!({"id": "orders", "model": {"type": "saga_orchestrator",
        "mode": "choreography", "steps": names, "pivot": 2, "rate_per_s": 100, "max_sagas": 1}}),
    ];
    let mut links = vec![json!({"a": "d", "b": "orders"})];
    for (i, n) in names.iter().enumerate() {
        let prev = if i == 0 { "orders" } else { names[i - 1] };
        let next = if i == 3 { "orders" } else { names[i + 1] };
        let mut m = json!({"type": "saga_participant", "prev": prev, "next": next,
            "latency": {"type": "constant", "ms": 5}, "retriable": i == 3});
        if i == 2 {
            m["always_fail"] = json!(true);
        }
        nodes.push(json!({"id": n, "model": m}));
        links.push(json!({"a": prev, "b": n}));
        if i == 1 || i == 2 {
            links.push(json!({"a": "orders", "b": n})); // for "approved"
        }
    }
    let s = json!({"version": 1, "seed": 1, "duration_ms": 3000, "nodes": nodes, "links": links});
    let r = run(&s, None);
    let lines: Vec<String> = r
        .states
        .iter()
        .map(|(n, t)| format!("{n} {}", t.split_once(": ").map_or(t.as_str(), |x| x.1)))
        .collect();
    assert_eq!(
        lines,
        [
            "orders order PENDING",
            "a step DONE",
            "b step DONE",
            "c step failed",
            "b step UNDONE",
            "a step UNDONE",
            "orders order REJECTED",
        ],
        "{lines:?}"
    );
    assert_eq!(counter(&r.world, "d", "runs"), 0);
    all_hold(&r);
}

#[test]
fn a_choreography_over_a_queue_ignores_redelivered_events_and_keeps_the_invariants() {
    let mut ignored = 0;
    let mut redelivered = 0;
    for seed in 1..=30 {
        let r = run(&chaos(CHOREOGRAPHY_QUEUE, seed), Some(seed));
        let w = &r.world;
        let ctx = format!("queue seed {seed}");
        fifty_sagas_ended_well(&r, &ctx);
        // Every event went through the broker, none point to point.
        assert!(counter(w, "broker", "published") > 0, "{ctx}");
        redelivered += counter(w, "broker", "redelivered");
        for p in ["inventory", "payments", "shipping"] {
            ignored += counter(w, p, "duplicate_events_ignored");
        }
    }
    assert!(redelivered > 0, "loss makes the broker deliver again");
    assert!(
        ignored > 0,
        "some redelivered events were ignored, not processed twice"
    );
}

#[test]
fn the_queue_sample_completes_sagas_without_double_charges() {
    let s: Value = serde_json::from_str(CHOREOGRAPHY_QUEUE).expect("json");
    let r = run(&s, None);
    let w = &r.world;
    all_hold(&r);
    let completed = counter(w, "orders", "sagas_completed");
    assert!(completed > 50, "{completed} orders approved");
    assert_eq!(
        counter(w, "payments", "charges") - counter(w, "payments", "refunds"),
        completed
    );
    assert!(counter(w, "broker", "redelivered") > 0);
}

/// The broker itself crashes and restarts, mid-run, on top of the failures, loss and crashes of
/// the participants. Its stored messages are durable; what was sent to it while it was down is
/// lost and must be sent again by whoever sent it. Every saga still ends, and the invariants hold.
#[test]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_broker_crash_loses_no_saga_and_keeps_the_invariants() {
    for seed in 1..=20 {
        let mut s = chaos(CHOREOGRAPHY_QUEUE, seed);
        let at = 3000 + (seed * 577) % 6000;
        let iv = s["interventions"].as_array_mut().expect("interventions");
        iv.push(json!({"do": "crash", "at_ms": at, "node": "broker"}));
        iv.push(json!({"do": "restart", "at_ms": at + 2000, "node": "broker"}));
        let r = run(&s, Some(seed));
        fifty_sagas_ended_well(&r, &format!("broker crash at {at} ms, seed {seed}"));
    }
}
