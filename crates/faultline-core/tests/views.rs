//! The typed view of each model (`faultline_core::view`) follows the model's real state: one
//! test per model that a change the run makes shows in the view.

mod common;

use common::{model, run_to};
use faultline_core::NodeId;
use faultline_core::scenario::Scenario;
use faultline_core::view::*;
use faultline_core::world::{Action, RunStatus, World};
use serde_json::{Value, json};

macro_rules! samples {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../tests/scenarios/", $name)))),*]
    };
}

const SAMPLES: [(&str, &str); 20] = samples!(
    "breaker.json",
    "cache.json",
    "chain.json",
    "client-server.json",
    "event-sourcing.json",
    "fanout.json",
    "faults.json",
    "hedging.json",
    "idempotent-checkout.json",
    "kv-ap.json",
    "kv-cp.json",
    "mm1.json",
    "observability.json",
    "queue.json",
    "raft.json",
    "retry-storm.json",
    "saga-choreography-queue.json",
    "saga-choreography.json",
    "saga-orchestrated.json",
    "two-phase-commit.json",
);

fn sample(name: &str) -> Value {
    let text = SAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no sample {name}"))
        .1;
    serde_json::from_str(text).expect("a sample is JSON")
}

fn view(w: &World, node: &str) -> NodeView {
    let id = w.node_id(node).unwrap_or_else(|| panic!("no node {node}"));
    w.node_view(id).expect("a node in the world has a view")
}

fn run_on(w: &mut World, until_us: u64) {
    while w.run_until(until_us, 1_000_000) == RunStatus::Budget {}
}

macro_rules! as_variant {
    ($v:expr, $variant:ident) => {
        match $v {
            NodeView::$variant(x) => x,
            other => panic!("expected {}, got {other:?}", stringify!($variant)),
        }
    };
}

#[test]
fn every_node_of_every_sample_has_a_view_of_its_own_kind() {
    for (name, text) in SAMPLES {
        let scenario = Scenario::parse(text).expect("a valid sample");
        let mut w = scenario.build(None).expect("builds");
        run_on(&mut w, 3_000_000);
        for (i, spec) in scenario.nodes.iter().enumerate() {
            let id = NodeId(i as u16);
            let v = w.node_view(id).expect("a view");
            assert_eq!(v.kind(), spec.model.kind(), "{name}: {}", spec.id);
            assert_eq!(w.node(id).kind(), v.kind().name(), "{name}: {}", spec.id);
            assert_eq!(w.node(id).model_kind(), v.kind(), "{name}: {}", spec.id);
            assert_eq!(ModelKind::from_name(v.kind().name()), Some(v.kind()));
            let text = serde_json::to_value(&v).expect("a view serializes");
            assert_eq!(text["kind"], v.kind().name(), "{name}: {}", spec.id);
        }
        assert_eq!(w.node_view(NodeId(scenario.nodes.len() as u16)), None);
    }
}

#[test]
fn a_model_kind_names_what_the_scenario_calls_it() {
    for k in ModelKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), json!(k.name()));
    }
}

#[test]
fn client_breaker_opens_with_its_wait_deadline_and_rejects() {
    let s = sample("breaker.json");
    let mut w = run_to(&s, None, 9_900_000);
    let c = as_variant!(view(&w, "checkout"), Client);
    let b = c.breaker.expect("the client has a breaker");
    assert_eq!(b.state, BreakerState::Closed);
    assert_eq!(b.open_until_us, None);
    assert!(c.requests > 100 && c.timeout_ms == Some(500.0));
    for r in &c.in_progress {
        if let Some(d) = r.attempt_deadline_us {
            assert_eq!(d, r.attempt_started_us + 500_000);
        }
    }
    // The service fails everything from 10 s: the breaker opens and waits 2 s.
    run_on(&mut w, 10_500_000);
    let c = as_variant!(view(&w, "checkout"), Client);
    let b = c.breaker.expect("the client has a breaker");
    assert_eq!(b.state, BreakerState::Open, "{b:?}");
    let opened = b.opened_at_us.expect("open since");
    assert!(opened >= 10_000_000);
    assert_eq!(b.open_until_us, Some(opened + 2_000_000));
    assert!(b.rejected > 0);
    assert!(b.failure_threshold_pct > 0.0);
    // With the service well again, trial calls close it.
    run_on(&mut w, 25_000_000);
    let b = as_variant!(view(&w, "checkout"), Client).breaker.unwrap();
    assert_eq!(b.state, BreakerState::Closed);
}

#[test]
fn client_requests_in_progress_show_their_retry_and_budget() {
    let mut s = sample("retry-storm.json");
    model(&mut s, "web")["retry"]["budget"] =
        json!({"type": "token_bucket", "max_tokens": 10, "token_ratio": 0.1});
    let mut w = run_to(&s, None, 5_000_000);
    let c = as_variant!(view(&w, "web"), Client);
    assert_eq!(c.max_attempts, 4);
    assert!(
        matches!(c.budget, Some(BudgetView::TokenBucket { max_tokens, .. }) if max_tokens == 10.0)
    );
    // Slow answers from 10 s: attempts time out, retries follow and the bucket drains.
    run_on(&mut w, 12_000_000);
    let c = as_variant!(view(&w, "web"), Client);
    assert!(c.retries > 0 && c.timeouts > 0);
    let Some(BudgetView::TokenBucket { tokens, .. }) = c.budget else {
        panic!("a token bucket")
    };
    assert!(tokens < 10.0, "{tokens}");
    assert!(c.in_progress.iter().all(|r| r.attempt >= 1));
    assert!(
        c.in_progress
            .windows(2)
            .all(|p| p[0].trace_id < p[1].trace_id)
    );
}

#[test]
fn service_queue_and_workers_follow_the_load_and_an_outage_shows() {
    let s = sample("retry-storm.json");
    let mut w = run_to(&s, None, 9_000_000);
    let before = as_variant!(view(&w, "api"), Service);
    assert_eq!((before.workers, before.queue_limit), (4, 200));
    assert!(before.served > 0 && before.busy <= 4);
    assert_eq!(before.outage, None);
    // Three times slower from 10 s: the queue fills.
    run_on(&mut w, 14_000_000);
    let after = as_variant!(view(&w, "api"), Service);
    assert!(after.queued > before.queued, "{before:?} {after:?}");
    let api = w.node_id("api").unwrap();
    w.apply(Action::Set {
        node: api,
        param: "outage".into(),
        value: json!(503),
    });
    assert_eq!(as_variant!(view(&w, "api"), Service).outage, Some(503));
}

#[test]
fn service_downstream_calls_show_their_breakers() {
    let s = sample("fanout.json");
    let w = run_to(&s, None, 10_000_000);
    let search = as_variant!(view(&w, "search"), Service);
    let d = search.downstream.expect("search calls the shards");
    assert_eq!(d.calls.len(), 3);
    assert_eq!(d.calls[0].target, w.node_id("shard-a").unwrap());
    assert!(d.attempts > 0);
}

#[test]
fn payment_idempotency_store_shows_its_newest_rows() {
    let s = sample("idempotent-checkout.json");
    let mut w = run_to(&s, None, 5_000_000);
    let before = as_variant!(view(&w, "payments"), Payment);
    run_on(&mut w, 20_000_000);
    let after = as_variant!(view(&w, "payments"), Payment);
    assert!(after.charges > before.charges);
    // 20 checkouts a second for 20 s: hundreds of keys stored, a few rows shown.
    assert!(
        after.keys_stored > before.keys_stored,
        "{}",
        after.keys_stored
    );
    assert!(after.keys_stored > MAX_KEY_ROWS, "{}", after.keys_stored);
    assert_eq!(after.keys.len(), MAX_KEY_ROWS);
    assert!(
        after
            .keys
            .windows(2)
            .all(|p| p[0].touched_us() >= p[1].touched_us()),
        "newest first: {:?}",
        after.keys
    );
    assert!(
        after.keys.iter().all(|r| r.touched_us() <= w.now_us()),
        "nothing from the future"
    );
    assert!(
        after
            .keys
            .iter()
            .any(|r| matches!(r.state, KeyState::Done { .. }))
    );
}

/// A retried checkout reuses its key: the repeat hits the row the first attempt stored, and the
/// view says how it was answered (replayed, or 409 while the first still runs) and when.
#[test]
fn payment_row_hit_by_a_repeat_says_replayed_or_conflict() {
    let s = sample("idempotent-checkout.json");
    let mut w = run_to(&s, None, 0);
    let mut seen: Vec<(u64, KeyHit, u64)> = Vec::new();
    let mut replays = 0;
    let mut conflicts = 0;
    for step in 1..=300u64 {
        run_on(&mut w, step * 100_000);
        let p = as_variant!(view(&w, "payments"), Payment);
        for r in &p.keys {
            if let Some((hit, at)) = r.last_hit {
                assert!(at >= r.stored_at_us && at <= w.now_us(), "{r:?}");
                if !seen.contains(&(r.key, hit, at)) {
                    seen.push((r.key, hit, at));
                }
            }
        }
        replays = p.replays;
        conflicts = p.conflicts;
    }
    assert!(replays + conflicts > 0, "the sample repeats requests");
    assert!(
        seen.iter().any(|(_, h, _)| *h == KeyHit::Replayed),
        "a replayed row is shown: {seen:?}"
    );
    assert!(
        seen.iter().any(|(_, h, _)| *h == KeyHit::Conflict),
        "a 409 row is shown: {seen:?}"
    );
}

#[test]
fn cache_database_and_app_views_follow_reads_and_writes() {
    let s = sample("cache.json");
    let mut w = run_to(&s, None, 2_000_000);
    let db0 = as_variant!(view(&w, "db"), Database);
    let cache0 = as_variant!(view(&w, "cache"), Cache);
    run_on(&mut w, 20_000_000);
    let db = as_variant!(view(&w, "db"), Database);
    let cache = as_variant!(view(&w, "cache"), Cache);
    let app = as_variant!(view(&w, "app1"), App);
    assert!(db.writes > db0.writes);
    let total = |d: &DatabaseView| d.versions.iter().map(|k| k.version).sum::<u64>();
    assert!(total(&db) > total(&db0));
    assert!(cache.hits + cache.misses > cache0.hits + cache0.misses);
    assert!(!cache.entries.is_empty());
    assert!(app.reads > 0 && app.ops.len() <= 100);
}

#[test]
fn event_log_grows_and_projections_follow_it() {
    let s = sample("event-sourcing.json");
    let mut w = run_to(&s, None, 3_000_000);
    let log0 = as_variant!(view(&w, "log"), EventLog);
    let dash0 = as_variant!(view(&w, "dashboard"), Projection);
    run_on(&mut w, 15_000_000);
    let log = as_variant!(view(&w, "log"), EventLog);
    let dash = as_variant!(view(&w, "dashboard"), Projection);
    let writer = as_variant!(view(&w, "checkout"), OrderWriter);
    assert!(log.length > log0.length);
    assert!(dash.offset > dash0.offset);
    assert!(dash.offset <= log.length);
    assert_eq!(
        dash.log,
        w.node_id("log").unwrap(),
        "it names the log it follows"
    );
    assert!(writer.appended > 0 && writer.appended <= log.length);
}

#[test]
fn raft_leader_log_grows_and_its_commit_index_moves() {
    let s = sample("raft.json");
    let mut w = run_to(&s, None, 1_500_000);
    let ids = ["n1", "n2", "n3", "n4", "n5"];
    let leader_of = |w: &World| {
        ids.into_iter()
            .map(|n| (n, as_variant!(view(w, n), Raft)))
            .find(|(_, r)| r.role == RaftRole::Leader)
    };
    let (name, before) = leader_of(&w).expect("a leader by 1.5 s");
    assert_eq!(
        before.election_deadline_us, None,
        "a leader has no election timer"
    );
    assert_eq!(before.cluster_size, 5);
    for n in ids.into_iter().filter(|n| *n != name) {
        let f = as_variant!(view(&w, n), Raft);
        if f.role == RaftRole::Follower {
            assert!(f.election_deadline_us.expect("a follower waits") > w.now_us());
        }
    }
    run_on(&mut w, 2_500_000);
    let after = as_variant!(view(&w, name), Raft);
    assert_eq!(after.role, RaftRole::Leader, "no fault before 3 s");
    assert!(after.log.len() > before.log.len());
    assert!(after.commit_index > before.commit_index);
    assert!(after.commit_index <= after.log.len() as u64);
    assert!(
        after
            .log
            .iter()
            .enumerate()
            .all(|(i, e)| e.index == i as u64 + 1)
    );
    assert!(after.log.iter().all(|e| e.term <= after.term));
}

#[test]
fn queue_backlog_grows_while_its_consumer_is_down() {
    let s = sample("queue.json");
    let mut w = run_to(&s, None, 5_000_000);
    let q0 = as_variant!(view(&w, "queue"), Queue);
    let c0 = as_variant!(view(&w, "worker"), Consumer);
    assert!(c0.processed > 0);
    w.apply(Action::Crash(w.node_id("worker").unwrap()));
    run_on(&mut w, 10_000_000);
    let q = as_variant!(view(&w, "queue"), Queue);
    assert!(q.ready > q0.ready + 50, "{q0:?} {q:?}");
    assert!(q.redelivered > q0.redelivered);
    assert!(as_variant!(view(&w, "producer"), Producer).published > q.ready as u64);
}

#[test]
fn saga_steps_move_forward_and_participants_record_them() {
    let mut s = sample("saga-orchestrated.json");
    model(&mut s, "shipping")["always_fail"] = json!(true);
    let mut w = run_to(&s, None, 2_000_000);
    let o0 = as_variant!(view(&w, "orders"), SagaOrchestrator);
    run_on(&mut w, 10_000_000);
    let o = as_variant!(view(&w, "orders"), SagaOrchestrator);
    assert!(o.started > o0.started);
    assert!(o.compensated > 0);
    assert_eq!(o.participants.len(), 3);
    assert!(o.sagas.iter().all(|g| g.steps.len() == 3));
    let inv = as_variant!(view(&w, "inventory"), SagaParticipant);
    assert!(
        inv.records
            .iter()
            .any(|(_, r)| *r == StepRecord::Compensated)
    );
}

/// A compensation takes tens of milliseconds; the orchestrator keeps its last ended sagas with
/// their final marks, so the picture can hold them on screen after the fact.
#[test]
fn ended_sagas_stay_in_the_view_with_their_compensation() {
    let mut s = sample("saga-orchestrated.json");
    model(&mut s, "shipping")["always_fail"] = json!(true);
    let w = run_to(&s, None, 10_000_000);
    let o = as_variant!(view(&w, "orders"), SagaOrchestrator);
    assert!(!o.ended.is_empty() && o.ended.len() <= 2 * MAX_ENDED_SAGAS);
    assert!(o.ended.windows(2).all(|p| p[0].ended_us >= p[1].ended_us));
    let last = &o.ended[0];
    assert_eq!(
        last.outcome,
        SagaOutcome::Compensated,
        "shipping always fails"
    );
    assert!(last.ended_us <= w.now_us());
    assert!(
        o.sagas.iter().all(|g| g.saga != last.saga),
        "ended is not running"
    );
    // Forward steps run in order: the one that failed is marked so, every step before it was
    // undone, and none after it ran.
    for e in o
        .ended
        .iter()
        .filter(|e| e.outcome == SagaOutcome::Compensated)
    {
        let failed = e.steps.iter().position(|s| *s == StepState::Failed);
        let failed = failed.unwrap_or_else(|| panic!("a failed step: {e:?}"));
        assert!(
            e.steps[..failed]
                .iter()
                .all(|s| *s == StepState::Compensated),
            "{e:?}"
        );
        assert!(
            e.steps[failed + 1..]
                .iter()
                .all(|s| *s == StepState::Pending),
            "{e:?}"
        );
    }
}

#[test]
fn two_phase_commit_participants_hold_locks_in_doubt_while_the_coordinator_is_down() {
    let s = sample("two-phase-commit.json");
    let mut w = run_to(&s, None, 7_000_000);
    let c = as_variant!(view(&w, "coordinator"), TpcCoordinator);
    assert!(c.started >= 5);
    let in_doubt: Vec<_> = ["orders", "stock", "billing"]
        .into_iter()
        .filter_map(|n| as_variant!(view(&w, n), TpcParticipant).prepared)
        .collect();
    assert!(
        !in_doubt.is_empty(),
        "the crash at 5.03 s leaves someone prepared"
    );
    run_on(&mut w, 15_000_000);
    for n in ["orders", "stock", "billing"] {
        let p = as_variant!(view(&w, n), TpcParticipant);
        assert!(p.committed > 0);
    }
    assert!(as_variant!(view(&w, "coordinator"), TpcCoordinator).committed > c.committed);
}

#[test]
fn kv_replicas_show_values_with_versions_and_their_mode() {
    for (name, mode) in [
        ("kv-cp.json", KvModeView::Cp),
        ("kv-ap.json", KvModeView::Ap),
    ] {
        let s = sample(name);
        let mut w = run_to(&s, None, 100_000);
        let r0 = as_variant!(view(&w, "r1"), KvReplica);
        assert_eq!(r0.mode, mode);
        run_on(&mut w, 5_000_000);
        let r = as_variant!(view(&w, "r1"), KvReplica);
        assert!(!r.entries.is_empty(), "{name}");
        assert!(r.entries.iter().all(|e| e.version > 0));
        let c = as_variant!(view(&w, "client-1"), KvClient);
        assert!(c.reads_ok + c.writes_ok > 0, "{name}");
    }
}
