//! Behaviours of the public references that scenarios can now express: optimistic concurrency
//! under contention (AWS, "Exponential Backoff And Jitter", 2015), runs longer than an hour and
//! idempotency keys as strings (Stripe's idempotent requests), a retry policy per saga step
//! (Temporal's activity retry policy), and hedged downstream calls (Dean and Barroso, "The Tail
//! at Scale", 2013). Each test is named after the reference behaviour it checks.
#![cfg(not(target_arch = "wasm32"))]

use faultline_core::models::flow::{FlowMsg, StepOp};
use faultline_core::msg::Payload;
use faultline_core::report::{NodeReport, Report};
use faultline_core::scenario::Scenario;
use faultline_core::trace::{Fault, TraceKind};
use serde_json::{Value, json};

fn run(s: &Value, seed: Option<u64>) -> Report {
    let s = Scenario::parse(&s.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut w = s.build(seed).unwrap();
    w.run_until(s.duration_us(), u64::MAX);
    assert_eq!(w.halted(), None);
    Report::of(&w)
}

fn node<'a>(r: &'a Report, id: &str) -> &'a NodeReport {
    r.nodes.iter().find(|n| n.id == id).expect("node exists")
}

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Optimistic concurrency (AWS, "Exponential Backoff And Jitter")

/// (attempts, time until every writer is done in ms, the row's final version) for `writers`
/// writers that each read a row, then write it with a compare-and-set, retrying on conflict.
fn contend(kind: &str, writers: u32, seed: u64) -> (f64, f64, i64) {
    let s = json!({"version": 1, "duration_ms": 600_000, "nodes": [
        {"id": "writers", "model": {"type": "client", "target": "row",
            "workload": {"type": "closed", "users": writers, "think_ms": 0},
            "max_requests": writers, "compare_and_set": true,
            "retry": {"max_attempts": 100,
                      "backoff": {"type": kind, "base_ms": 1, "cap_ms": 1000}}}},
        {"id": "row", "model": {"type": "service", "concurrency": 100,
            "latency": {"type": "constant", "ms": 1}}}],
        "links": [{"a": "writers", "b": "row", "latency": {"type": "constant", "ms": 0.5}}]});
    let r = run(&s, Some(seed));
    let (c, row) = (node(&r, "writers"), node(&r, "row"));
    assert_eq!(
        c.successes,
        u64::from(writers),
        "{kind}, seed {seed}: every writer got through"
    );
    (
        c.counters["attempts"] as f64,
        c.latency.as_ref().unwrap().max_ms,
        row.counters["row_version"],
    )
}

/// Mean (attempts, completion time) over seeds 1 to 5.
fn mean(kind: &str, writers: u32) -> (f64, f64) {
    let (mut calls, mut time) = (0.0, 0.0);
    for seed in 1..=5 {
        let (c, t, version) = contend(kind, writers, seed);
        assert_eq!(
            version,
            i64::from(writers),
            "one write per writer, no lost update"
        );
        calls += c / 5.0;
        time += t / 5.0;
    }
    (calls, time)
}

/// The post's findings, as means over five seeds of 50 writers contending for one row (base
/// 1 ms, cap 1 s, 1 ms per read or write, 0.5 ms each way). Measured: exponential 1275 calls
/// and 41 s; full jitter about 309 calls and 0.34 s; equal jitter about 326 calls and 0.55 s;
/// decorrelated jitter about 341 calls and 0.23 s.
#[test]
fn optimistic_concurrency_strategies_rank_as_the_aws_post_reports() {
    let (expo_calls, expo_time) = mean("exponential", 50);
    let (full_calls, full_time) = mean("full_jitter", 50);
    let (equal_calls, equal_time) = mean("equal_jitter", 50);
    let (decor_calls, decor_time) = mean("decorrelated_jitter", 50);
    eprintln!(
        "calls: exponential {expo_calls}, full {full_calls}, equal {equal_calls}, decorrelated {decor_calls}"
    );
    eprintln!(
        "time ms: exponential {expo_time}, full {full_time}, equal {equal_time}, decorrelated {decor_time}"
    );
    // Without jitter the writers stay in step: one write wins per round, 50 + 49 + ... + 1.
    assert_eq!(expo_calls, 1275.0);
    // Exponential backoff without jitter is the clear loser: the most work and the most time.
    for (calls, time) in [
        (full_calls, full_time),
        (equal_calls, equal_time),
        (decor_calls, decor_time),
    ] {
        assert!(calls < expo_calls && time < expo_time);
    }
    // Full jitter: less than half the calls of un-jittered exponential backoff, far sooner.
    assert!(
        full_calls < 0.5 * expo_calls,
        "{full_calls} vs {expo_calls}"
    );
    assert!(full_time * 10.0 < expo_time, "{full_time} vs {expo_time}");
    // Equal jitter: about the same work as full jitter (within 20 %), but it takes longer.
    assert!(
        (equal_calls / full_calls - 1.0).abs() < 0.2,
        "{equal_calls} vs {full_calls}"
    );
    assert!(equal_time > 1.2 * full_time, "{equal_time} vs {full_time}");
    // Decorrelated jitter: "Full Jitter uses less work, but slightly more time".
    assert!(decor_calls > full_calls, "{decor_calls} vs {full_calls}");
    assert!(decor_time < full_time, "{decor_time} vs {full_time}");
}

#[test]
fn a_compare_and_set_on_a_changed_version_conflicts_and_writes_nothing() {
    // Two writers read version 0 together; the first write wins, the second gets 409 and, with
    // no retries, fails: the row ends at version 1, never overwritten blindly.
    let s = json!({"version": 1, "duration_ms": 1_000, "nodes": [
        {"id": "writers", "model": {"type": "client", "target": "row",
            "workload": {"type": "closed", "users": 2, "think_ms": 0},
            "max_requests": 2, "compare_and_set": true}},
        {"id": "row", "model": {"type": "service", "concurrency": 10,
            "latency": {"type": "constant", "ms": 1}}}],
        "links": [{"a": "writers", "b": "row", "latency": {"type": "constant", "ms": 1}}]});
    let r = run(&s, None);
    let (c, row) = (node(&r, "writers"), node(&r, "row"));
    assert_eq!((c.successes, c.failures), (1, 1));
    assert_eq!(c.counters["conflicts"], 1);
    assert_eq!(row.counters["writes"], 1);
    assert_eq!(row.counters["conflicts"], 1);
    assert_eq!(row.counters["row_version"], 1);
}

// ---------------------------------------------------------------------------------------------
// Long runs and idempotency keys as strings (Stripe)

#[test]
fn stripe_replays_a_key_retried_at_23_hours_and_starts_a_new_request_after_24() {
    let s = Scenario::parse(&sample("idempotency-day.json").to_string()).unwrap();
    let mut w = s.build(None).unwrap();
    w.run_until(s.duration_us(), u64::MAX);
    let events = w.events();
    let r = Report::of(&w);
    let p = node(&r, "payments");
    // 0 h: charged. 23 h: replayed. 25 h: the key was pruned, a new request, charged.
    assert_eq!(p.counters["charges"], 2);
    assert_eq!(p.counters["replays"], 1);
    assert_eq!(p.counters["duplicate_charges"], 0);
    // The same key with another amount: an idempotency error, nothing charged.
    assert_eq!(p.counters["idempotency_errors"], 1);
    // The 300-character key: refused before anything was stored.
    assert_eq!(p.counters["invalid"], 1);
    assert_eq!(node(&r, "shopper").successes, 3);
    assert_eq!(node(&r, "other-cart").failures, 1);
    assert_eq!(node(&r, "long-key").failures, 1);
    // 26 hours of virtual time, five requests: the quiet hours cost no events.
    assert_eq!(r.time_ms, 93_600_000.0);
    assert!(events < 100, "{events} events");
}

fn checkout(key: &str, amount: u64) -> Value {
    json!({"id": format!("c{amount}-{}", key.len()), "model": {"type": "client",
        "target": "payments", "workload": {"type": "at", "times_ms": [0]},
        "idempotency_key": key, "charge_cents": amount}})
}

#[test]
fn stripe_refuses_keys_over_255_characters() {
    let ok = "a".repeat(255);
    let long = "a".repeat(256);
    let s = json!({"version": 1, "duration_ms": 10_000, "nodes": [
        checkout(&ok, 100), checkout(&long, 200),
        {"id": "payments", "model": {"type": "payment",
            "latency": {"type": "constant", "ms": 10}}}],
        "links": [
            {"a": "c100-255", "b": "payments"}, {"a": "c200-256", "b": "payments"}]});
    let r = run(&s, None);
    assert_eq!(node(&r, "c100-255").successes, 1);
    assert_eq!(node(&r, "c200-256").failures, 1);
    let p = node(&r, "payments");
    assert_eq!((p.counters["charges"], p.counters["invalid"]), (1, 1));
}

#[test]
fn stripe_answers_the_same_key_with_other_parameters_with_an_idempotency_error() {
    // Two carts send the key "cart-7" 1 s apart, with 10.00 and then 12.00.
    let s = json!({"version": 1, "duration_ms": 10_000, "nodes": [
        {"id": "first", "model": {"type": "client", "target": "payments",
            "workload": {"type": "at", "times_ms": [0]},
            "idempotency_key": "cart-7", "charge_cents": 1000}},
        {"id": "second", "model": {"type": "client", "target": "payments",
            "workload": {"type": "at", "times_ms": [1000]},
            "idempotency_key": "cart-7", "charge_cents": 1200}},
        {"id": "payments", "model": {"type": "payment",
            "latency": {"type": "constant", "ms": 10}}}],
        "links": [{"a": "first", "b": "payments"}, {"a": "second", "b": "payments"}]});
    let r = run(&s, None);
    let p = node(&r, "payments");
    assert_eq!(p.counters["charges"], 1);
    assert_eq!(p.counters["idempotency_errors"], 1);
    assert_eq!(node(&r, "second").failures, 1);
}

#[test]
fn a_run_lasts_up_to_a_week_and_interventions_happen_past_the_first_hour() {
    let week_ms = 7.0 * 24.0 * 3_600_000.0;
    let s = |duration_ms: f64| {
        json!({"version": 1, "duration_ms": duration_ms, "nodes": [
            {"id": "c", "model": {"type": "client", "target": "s",
                "workload": {"type": "at", "times_ms": [0, 90_000_000]}, "timeout_ms": 100}},
            {"id": "s", "model": {"type": "service"}}],
            "links": [{"a": "c", "b": "s"}],
            "interventions": [{"do": "crash", "at_ms": 86_400_000, "node": "s"}]})
    };
    let err = Scenario::parse(&s(week_ms + 1.0).to_string()).unwrap_err();
    assert_eq!(err.0[0].path, "duration_ms");
    let scenario = Scenario::parse(&s(week_ms).to_string()).unwrap();
    let mut w = scenario.build(None).unwrap();
    w.run_until(scenario.duration_us(), u64::MAX);
    let crash = w
        .trace()
        .events()
        .iter()
        .find(|e| {
            matches!(
                e.kind,
                TraceKind::Fault {
                    fault: Fault::Crash { .. }
                }
            )
        })
        .expect("the crash at 24 h is in the trace");
    assert_eq!(crash.time_us, 86_400_000_000);
    let r = Report::of(&w);
    let c = node(&r, "c");
    // The request at 0 was answered; the one at 25 h found the service down and timed out.
    assert_eq!((c.successes, c.failures), (1, 1));
    assert_eq!(r.time_ms, week_ms);
}

// ---------------------------------------------------------------------------------------------
// A retry policy per saga step (Temporal)

fn saga(policies: Value, inventory: Value, shipping: Value) -> Value {
    json!({"version": 1, "duration_ms": 30_000, "nodes": [
        {"id": "orders", "model": {"type": "saga_orchestrator",
            "steps": ["inventory", "payments", "shipping"], "pivot": 1, "max_sagas": 1,
            "rate_per_s": 1000, "step_timeout_ms": 5_000, "retry_policies": policies}},
        {"id": "inventory", "model": inventory},
        {"id": "payments", "model": {"type": "saga_participant", "action": "charge_payment",
            "latency": {"type": "constant", "ms": 10}}},
        {"id": "shipping", "model": shipping}],
        "links": [
            {"a": "orders", "b": "inventory", "latency": {"type": "constant", "ms": 5}},
            {"a": "orders", "b": "payments", "latency": {"type": "constant", "ms": 5}},
            {"a": "orders", "b": "shipping", "latency": {"type": "constant", "ms": 5}}]})
}

fn participant(action: &str, extra: Value) -> Value {
    let mut p = json!({"type": "saga_participant", "action": action,
        "latency": {"type": "constant", "ms": 10}});
    p.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    p
}

/// When the orchestrator sent each `Run` request to `to`, in whole ms.
fn runs_of(w: &faultline_core::world::World, to: &str) -> Vec<u64> {
    let to = w.node_id(to).unwrap();
    w.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent {
                to: t,
                payload:
                    Payload::Flow(FlowMsg::Step {
                        op: StepOp::Run, ..
                    }),
                ..
            } if *t == to => Some(e.time_us / 1000),
            _ => None,
        })
        .collect()
}

#[test]
fn temporal_retry_policy_retries_a_step_before_the_pivot_then_compensates_when_attempts_run_out() {
    let policy = json!({"inventory": {"initial_interval_ms": 100, "backoff_coefficient": 2,
        "maximum_attempts": 3}});
    let s = saga(
        policy,
        participant("reserve_inventory", json!({"always_fail": true})),
        participant("create_shipment", json!({})),
    );
    let scenario = Scenario::parse(&s.to_string()).unwrap();
    let mut w = scenario.build(None).unwrap();
    w.run_until(scenario.duration_us(), u64::MAX);
    // Three attempts, 20 ms each way and back, waiting 100 ms then 200 ms between them.
    let runs = runs_of(&w, "inventory");
    assert_eq!(runs.len(), 3, "{runs:?}");
    let gaps: Vec<u64> = runs.windows(2).map(|p| p[1] - p[0]).collect();
    assert_eq!(gaps, [120, 220]);
    let r = Report::of(&w);
    let o = node(&r, "orders");
    assert_eq!(o.counters["step_retries"], 2);
    assert_eq!(o.counters["sagas_compensated"], 1);
}

#[test]
fn temporal_retry_policy_retries_a_step_after_the_pivot_until_it_succeeds_up_to_the_maximum_interval()
 {
    let policy = json!({"shipping": {"initial_interval_ms": 100, "backoff_coefficient": 3,
        "maximum_interval_ms": 500}});
    let s = saga(
        policy,
        participant("reserve_inventory", json!({})),
        participant("create_shipment", json!({"fail_next": 4})),
    );
    let scenario = Scenario::parse(&s.to_string()).unwrap();
    let mut w = scenario.build(None).unwrap();
    w.run_until(scenario.duration_us(), u64::MAX);
    let runs = runs_of(&w, "shipping");
    let gaps: Vec<u64> = runs.windows(2).map(|p| p[1] - p[0]).collect();
    // Waits of 100, 300, then 900 capped at 500, and 500 again: 20 ms of round trip each.
    assert_eq!(gaps, [120, 320, 520, 520]);
    let r = Report::of(&w);
    let o = node(&r, "orders");
    assert_eq!(o.counters["step_retries"], 4);
    assert_eq!(o.counters["sagas_completed"], 1);
}

#[test]
fn a_step_after_the_pivot_may_not_limit_its_attempts() {
    let policy = json!({"shipping": {"maximum_attempts": 3}});
    let s = saga(
        policy,
        participant("reserve_inventory", json!({})),
        participant("create_shipment", json!({})),
    );
    let err = Scenario::parse(&s.to_string()).unwrap_err();
    assert_eq!(
        err.0[0].path,
        "nodes[0].model.retry_policies.shipping.maximum_attempts"
    );
    assert!(err.0[0].message.contains("after the pivot"), "{err}");
    let s = saga(
        json!({"nobody": {}}),
        participant("reserve_inventory", json!({})),
        participant("create_shipment", json!({})),
    );
    let err = Scenario::parse(&s.to_string()).unwrap_err();
    assert!(err.0[0].message.contains("not one of the steps"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Hedged downstream calls ("The Tail at Scale")

#[test]
fn hedged_downstream_calls_cut_the_tail_for_about_five_percent_more_load() {
    let r = run(&sample("downstream-hedging.json"), None);
    let p99 = |id: &str| node(&r, id).latency.as_ref().unwrap().p99_ms;
    let (plain, hedged) = (p99("users-plain"), p99("users-hedged"));
    assert!(hedged * 3.0 < plain, "p99 {hedged} ms hedged vs {plain} ms");
    let api = node(&r, "api-hedged");
    let extra =
        api.counters["downstream_hedges"] as f64 / api.counters["downstream_attempts"] as f64;
    assert!((0.03..0.09).contains(&extra), "{extra}");
    assert!(
        !node(&r, "api-plain")
            .counters
            .contains_key("downstream_hedges")
    );
}

// ---------------------------------------------------------------------------------------------
// Writes out of order (Elasticsearch's external versioning; `docs/models/ordering.md`)

/// The sample's run with the editor's `writes` set to `writes` (and, with `reorder: false`, a
/// FIFO link): (the row's final edit, the newest edit sent, went_backwards, stale_writes).
fn autosave(writes: &str, reorder: bool, seed: u64) -> (i64, i64, i64, i64) {
    let mut s = sample("out-of-order-writes.json");
    s["nodes"][0]["model"]["writes"] = writes.into();
    s["links"][0]["reorder"] = reorder.into();
    let r = run(&s, Some(seed));
    let (editor, drafts) = (node(&r, "editor"), node(&r, "drafts"));
    assert_eq!(
        editor.counters["in_progress"], 0,
        "{writes}, seed {seed}: every save was answered before the end"
    );
    (
        drafts.counters["row_value"],
        editor.counters["requests"],
        drafts.counters["went_backwards"],
        drafts.counters["stale_writes"],
    )
}

#[test]
fn plain_writes_over_a_reordering_link_leave_the_row_on_an_older_edit() {
    let runs: Vec<_> = (1..=20).map(|seed| autosave("plain", true, seed)).collect();
    for (seed, &(_, sent, backwards, stale)) in (1..).zip(&runs) {
        assert_eq!(sent, 150, "seed {seed}: the editor saved 150 times");
        assert!(
            backwards > 0,
            "seed {seed}: an overtaken save put the row back"
        );
        assert_eq!(stale, 0, "seed {seed}: plain writes are never refused");
    }
    let ended_older = runs.iter().filter(|(row, sent, ..)| row < sent).count();
    assert!(
        ended_older > 0,
        "some run ends with an older edit than the newest save: {runs:?}"
    );
    // A FIFO link (a single TCP connection) keeps the saves in order: the row never goes back.
    for seed in 1..=5 {
        let (row, sent, backwards, _) = autosave("plain", false, seed);
        assert_eq!((row, backwards), (sent, 0), "seed {seed}, FIFO link");
    }
}

#[test]
fn versioned_writes_refuse_an_overtaken_save_and_the_row_never_goes_back() {
    for seed in 1..=20 {
        let (row, sent, backwards, stale) = autosave("versioned", true, seed);
        assert_eq!(backwards, 0, "seed {seed}: the row never went back");
        assert_eq!(row, sent, "seed {seed}: the row ends on the newest save");
        assert!(stale > 0, "seed {seed}: the overtaken saves were refused");
    }
}

#[test]
fn a_stale_write_is_answered_409_do_not_retry_and_changes_nothing() {
    let s = json!({"version": 1, "duration_ms": 2_000, "nodes": [
        {"id": "w", "model": {"type": "client", "target": "row",
            "workload": {"type": "at", "times_ms": [0, 10]}, "writes": "versioned",
            "timeout_ms": 1000, "retry": {"max_attempts": 3}}},
        {"id": "row", "model": {"type": "service", "concurrency": 1,
            "latency": {"type": "constant", "ms": 1}}}],
        // Edit 1 takes 100 ms, edit 2 takes 20 ms: a reordering link lets 2 arrive first.
        "links": [{"a": "w", "b": "row", "latency": {"type": "uniform", "min_ms": 20, "max_ms": 100},
                   "reorder": true}]});
    let runs: Vec<Report> = (1..=30).map(|seed| run(&s, Some(seed))).collect();
    let overtaken = runs
        .iter()
        .find(|r| node(r, "row").counters["stale_writes"] == 1)
        .expect("in some run edit 2 overtakes edit 1");
    let (w, row) = (node(overtaken, "w"), node(overtaken, "row"));
    assert_eq!(row.counters["row_value"], 2);
    assert_eq!(row.counters["row_version"], 2);
    assert_eq!(row.counters["writes"], 1, "only edit 2 was written");
    assert_eq!((w.successes, w.failures), (1, 1));
    assert_eq!(w.counters["retries"], 0, "a stale write is not retried");
}
