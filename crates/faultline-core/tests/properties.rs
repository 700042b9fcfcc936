//! Property tests: random scenarios and random interventions never panic and keep the engine's
//! invariants. A failure prints the seed; `build(seed)` below turns it back into the scenario.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};

use faultline_core::NodeId;
use faultline_core::dist::Dist;
use faultline_core::models::ModelSpec;
use faultline_core::models::client::{Backoff, BackoffKind, ClientConfig, RetryPolicy, Workload};
use faultline_core::models::service::ServiceConfig;
use faultline_core::msg::MsgId;
use faultline_core::rng::{SimRng, Stream};
use faultline_core::scenario::{DirSpec, Intervention, LinkSpec, NodeSpec, Scenario};
use faultline_core::trace::{Fault, TraceEvent, TraceKind};
use faultline_core::world::{Action, RunStatus, World};
use proptest::prelude::*;

fn dist(r: &mut SimRng) -> Dist {
    let ms = |r: &mut SimRng, hi: u64| r.below(hi) as f64;
    match r.below(7) {
        0 => Dist::constant_ms(ms(r, 50)),
        1 => {
            let lo = ms(r, 30);
            Dist::Uniform {
                min_ms: lo,
                max_ms: lo + ms(r, 30),
            }
        }
        2 => Dist::Normal {
            mean_ms: ms(r, 40),
            stddev_ms: ms(r, 20),
        },
        3 => Dist::Exponential {
            mean_ms: 1.0 + ms(r, 30),
        },
        4 => Dist::LogNormal {
            median_ms: 1.0 + ms(r, 30),
            sigma: r.unit() * 1.5,
        },
        5 => Dist::Pareto {
            scale_ms: 1.0 + ms(r, 10),
            shape: 0.5 + r.unit() * 3.0,
        },
        _ => Dist::Bimodal {
            fast: Box::new(Dist::constant_ms(ms(r, 10))),
            slow: Box::new(Dist::Exponential {
                mean_ms: 50.0 + ms(r, 500),
            }),
            slow_ratio: r.unit() * 0.2,
        },
    }
}

/// A random but valid scenario, all of it derived from `seed`.
fn build(seed: u64) -> Scenario {
    let mut r = SimRng::new(seed, Stream::World);
    let n = 2 + r.below(9) as usize;
    let services: Vec<usize> = (0..n).filter(|i| *i == 0 || r.below(2) == 0).collect();
    let name = |i: usize| format!("n{i}");
    let mut nodes = Vec::new();
    for i in 0..n {
        let model = if services.contains(&i) && r.below(3) == 0 {
            ModelSpec::Payment(faultline_core::models::payment::PaymentConfig {
                latency: dist(&mut r),
                error_rate: r.unit() * 0.3,
                retention_ms: r.below(5_000) as f64,
                max_amount_cents: 1 + r.below(3_000),
            })
        } else if services.contains(&i) {
            ModelSpec::Service(ServiceConfig {
                latency: dist(&mut r),
                concurrency: 1 + r.below(8) as u32,
                queue_limit: r.below(50) as u32,
                error_rate: r.unit() * 0.3,
                ..Default::default()
            })
        } else {
            let kinds = [
                BackoffKind::None,
                BackoffKind::Constant,
                BackoffKind::Exponential,
                BackoffKind::FullJitter,
                BackoffKind::EqualJitter,
                BackoffKind::DecorrelatedJitter,
                BackoffKind::Grpc,
            ];
            ModelSpec::Client(Box::new(ClientConfig {
                target: name(services[r.below(services.len() as u64) as usize]),
                workload: if r.below(2) == 0 {
                    Workload::Open {
                        rate_per_s: 1.0 + r.below(200) as f64,
                    }
                } else {
                    Workload::Closed {
                        users: 1 + r.below(10) as u32,
                        think_ms: r.below(100) as f64,
                    }
                },
                timeout_ms: (r.below(3) > 0).then(|| 5.0 + r.below(500) as f64),
                retry: RetryPolicy {
                    max_attempts: 1 + r.below(4) as u32,
                    backoff: Backoff {
                        kind: kinds[r.below(kinds.len() as u64) as usize].clone(),
                        base_ms: r.below(100) as f64,
                        cap_ms: r.below(2_000) as f64,
                        multiplier: 1.0 + r.unit() * 3.0,
                    },
                    budget: match r.below(3) {
                        0 => None,
                        1 => Some(faultline_core::models::client::RetryBudget::Ratio {
                            ratio: r.unit() * 0.5,
                            window_ms: 1_000.0 + r.below(60_000) as f64,
                        }),
                        _ => Some(faultline_core::models::client::RetryBudget::TokenBucket {
                            max_tokens: 1.0 + r.below(100) as f64,
                            token_ratio: 0.01 + r.unit() * 0.5,
                        }),
                    },
                    retry_on: faultline_core::models::client::RetryOn::subset(r.below(32)),
                },
                idempotency_keys: r.below(2) == 0,
                max_requests: (r.below(4) == 0).then(|| r.below(100)),
                breaker: (r.below(3) == 0).then(|| {
                    faultline_core::models::breaker::BreakerConfig {
                        minimum_calls: Some(r.below(20) as u32),
                        window: Some(faultline_core::models::breaker::Window::Count {
                            size: 1 + r.below(50) as u32,
                        }),
                        wait_in_open_ms: Some(1.0 + r.below(2_000) as f64),
                        automatic_transition: Some(r.below(2) == 0),
                        permitted_calls_in_half_open: Some(1 + r.below(5) as u32),
                        ..Default::default()
                    }
                }),
                charge_cents: (r.below(2) == 0).then(|| r.below(2_000)),
                deadline_ms: (r.below(3) == 0).then(|| 1.0 + r.below(3_000) as f64),
                hedge_after_ms: None,
                idempotency_key: None,
                compare_and_set: false,
                writes: Default::default(),
            }))
        };
        nodes.push(NodeSpec { id: name(i), model });
    }
    let mut links = Vec::new();
    let mut linked = BTreeSet::new();
    for i in 0..n {
        for j in (i + 1)..n {
            if r.below(3) > 0 || i == 0 {
                linked.insert((i, j));
                let reverse = (r.below(4) == 0).then(|| DirSpec {
                    latency: dist(&mut r),
                    loss: r.unit() * 0.1,
                    duplicate: 0.0,
                    reorder: false,
                    bandwidth_per_s: None,
                    queue_limit: 100,
                });
                links.push(LinkSpec {
                    a: name(i),
                    b: name(j),
                    latency: dist(&mut r),
                    loss: if r.below(2) == 0 { 0.0 } else { r.unit() * 0.2 },
                    duplicate: if r.below(3) == 0 { r.unit() * 0.1 } else { 0.0 },
                    reorder: r.below(2) == 0,
                    bandwidth_per_s: (r.below(4) == 0).then(|| 10.0 + r.below(500) as f64),
                    queue_limit: r.below(20) as u32,
                    reverse,
                });
            }
        }
    }
    let duration_ms = 2_000.0 + r.below(4_000) as f64;
    let mut interventions = Vec::new();
    for _ in 0..r.below(12) {
        let at_ms = r.below(duration_ms as u64) as f64;
        let node = name(r.below(n as u64) as usize);
        let pair = *linked
            .iter()
            .nth(r.below(linked.len() as u64) as usize)
            .expect("node 0 links to all");
        let (a, b) = (name(pair.0), name(pair.1));
        interventions.push(match r.below(11) {
            0 => Intervention::Cut {
                at_ms,
                a,
                b,
                one_way: r.below(2) == 0,
            },
            1 => Intervention::Heal { at_ms, a, b },
            2 => Intervention::HealAll { at_ms },
            3 => Intervention::Partition {
                at_ms,
                groups: vec![vec![node]],
            },
            4 => Intervention::Crash { at_ms, node },
            5 => Intervention::Restart { at_ms, node },
            6 => Intervention::Pause { at_ms, node },
            7 => Intervention::Resume { at_ms, node },
            8 => Intervention::DropMessage {
                at_ms,
                message: r.below(500),
            },
            9 => Intervention::DelayMessage {
                at_ms,
                message: r.below(500),
                delay_ms: r.below(1_000) as f64,
            },
            _ => Intervention::SetLink {
                at_ms,
                a,
                b,
                param: "loss".into(),
                value: serde_json::json!(r.unit() * 0.5),
            },
        });
    }
    Scenario {
        version: 1,
        title: String::new(),
        description: String::new(),
        seed,
        duration_ms,
        metrics_bucket_ms: 100.0,
        nodes,
        links,
        interventions,
        chaos: None,
        view: Default::default(),
    }
}

/// Checks the invariants over a whole trace and the world at its end.
fn check(events: &[TraceEvent], world: &World) -> Result<(), String> {
    let mut last = 0;
    let mut open: BTreeMap<MsgId, u64> = BTreeMap::new();
    // Per node: Some(kind) while crashed or paused.
    let mut down: BTreeMap<NodeId, &str> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if e.seq != i as u64 {
            return Err(format!("event {i} has seq {}", e.seq));
        }
        if e.time_us < last {
            return Err(format!(
                "time went backwards at event {i}: {} after {last}",
                e.time_us
            ));
        }
        last = e.time_us;
        let busy = |n: &NodeId, what: &str| match down.get(n) {
            Some(state) => Err(format!("{what} at n{} while {state}: {e}", n.0)),
            None => Ok(()),
        };
        match &e.kind {
            TraceKind::Sent { id, from, .. } => {
                busy(from, "a send")?;
                if open.insert(*id, e.time_us).is_some() {
                    return Err(format!("message {id} sent twice"));
                }
            }
            TraceKind::Delivered { id, to, .. } => {
                busy(to, "a delivery")?;
                open.remove(id)
                    .ok_or(format!("{id} delivered but never sent, or twice"))?;
            }
            TraceKind::Dropped { id, .. } => {
                open.remove(id)
                    .ok_or(format!("{id} dropped but never sent, or twice"))?;
            }
            TraceKind::TimerFired { node, .. } => busy(node, "a timer")?,
            TraceKind::Fault { fault } => match fault {
                Fault::Crash { node } => {
                    down.insert(*node, "crashed");
                }
                Fault::Pause { node } => {
                    down.insert(*node, "paused");
                }
                Fault::Restart { node } | Fault::Resume { node } => {
                    down.remove(node);
                }
                _ => {}
            },
            _ => {}
        }
    }
    let in_flight: BTreeSet<MsgId> = world.in_flight().map(|m| m.id).collect();
    let unaccounted: BTreeSet<MsgId> = open.keys().copied().collect();
    if unaccounted != in_flight {
        return Err(format!(
            "sent but neither delivered nor dropped: {unaccounted:?}; in flight: {in_flight:?}"
        ));
    }
    let c = world.counts();
    if c.sent != c.delivered + c.dropped + world.in_flight_count() as u64 {
        return Err(format!(
            "counts do not add up: {c:?} with {} in flight",
            world.in_flight_count()
        ));
    }
    Ok(())
}

/// Runs to the end in slices, draining the trace, checking the counts at every slice.
fn run_all(world: &mut World, until: u64) -> Result<Vec<TraceEvent>, String> {
    let mut events = Vec::new();
    loop {
        let status = world.run_until(until, 2_000);
        events.extend(world.trace_mut().drain());
        let c = world.counts();
        if c.sent != c.delivered + c.dropped + world.in_flight_count() as u64 {
            return Err(format!(
                "counts do not add up mid-run at {}: {c:?}",
                world.now_us()
            ));
        }
        match status {
            RunStatus::Budget => {}
            // A zero-delay loop is a property of the random scenario, not an engine bug: the
            // engine's job is to stop it cleanly, with the invariants intact.
            RunStatus::Halted(why) if why.starts_with("time stood still") => return Ok(events),
            RunStatus::Halted(why) => return Err(format!("halted: {why}")),
            _ => return Ok(events),
        }
    }
}

/// The number of cases: `default` in CI, or `PROPTEST_CASES` for a longer hunt. (A config that
/// names its cases ignores the variable, so read it here.)
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    #[test]
    fn random_scenarios_keep_the_invariants(seed in any::<u64>()) {
        let s = build(seed);
        s.validate().map_err(|e| TestCaseError::fail(format!("seed {seed}: generated an invalid scenario: {e}")))?;
        let mut world = s.build(None).expect("validated");
        let events = run_all(&mut world, s.duration_us()).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
        check(&events, &world).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
    }

    #[test]
    fn live_interventions_keep_the_invariants(seed in any::<u64>(), moves in proptest::collection::vec((0u64..5_000_000, 0u8..8, 0u16..10), 0..12)) {
        let s = build(seed);
        let mut world = s.build(None).expect("valid");
        let n = world.names().len() as u16;
        let mut events = Vec::new();
        let mut moves = moves;
        faultline_core::order::sort_by_key(&mut moves, |m| m.0);
        for (at, kind, who) in moves {
            let node = NodeId(who % n);
            events.extend(run_all(&mut world, at.min(s.duration_us())).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?);
            let action = match kind {
                0 => Action::Crash(node),
                1 => Action::Restart(node),
                2 => Action::Pause(node),
                3 => Action::Resume(node),
                4 => Action::Partition { groups: vec![vec![node]] },
                5 => Action::HealAll,
                6 => Action::DropMessage(MsgId(u64::from(who) * 7)),
                _ => Action::DelayMessage(MsgId(u64::from(who) * 7), 500_000),
            };
            if kind % 2 == 0 { world.apply(action) } else { world.schedule_action(at, action) }
        }
        events.extend(run_all(&mut world, s.duration_us()).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?);
        check(&events, &world).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
    }

    #[test]
    fn restoring_a_snapshot_replays_exactly_and_a_change_forks(seed in any::<u64>(), cut in 0.1f64..0.9) {
        let s = build(seed);
        let mut world = s.build(None).expect("valid");
        let mid = (s.duration_us() as f64 * cut) as u64;
        world.run_until(mid, u64::MAX);
        // `mid`, or earlier if the scenario halted on a loop in which time stood still.
        let at = world.now_us();
        let snap = world.snapshot();
        world.run_until(s.duration_us(), u64::MAX);
        let (hash, events) = (world.trace().hash(), world.events());
        world.restore(&snap);
        prop_assert_eq!(world.now_us(), at);
        world.run_until(s.duration_us(), u64::MAX);
        prop_assert_eq!((world.trace().hash(), world.events()), (hash, events), "seed {}: replay differs", seed);
        // Fork: crash a node that is up at the snapshot's moment. The crash is in the trace and
        // changes what follows, so the hash must differ from the first future's.
        world.restore(&snap);
        if let Some(up) = (0..world.names().len() as u16)
            .map(NodeId)
            .find(|n| world.liveness(*n) == faultline_core::world::Liveness::Up)
        {
            world.apply(Action::Crash(up));
            world.run_until(s.duration_us(), u64::MAX);
            prop_assert_ne!(world.trace().hash(), hash, "seed {}: the fork did not change the future", seed);
        }
    }
}

#[test]
fn seed_sweep_of_the_fault_sample() {
    let text = include_str!("../../../tests/scenarios/faults.json");
    let s = Scenario::parse(text).expect("valid");
    for seed in 0..40 {
        let mut world = s.build(Some(seed)).expect("valid");
        let result = run_all(&mut world, s.duration_us()).and_then(|events| check(&events, &world));
        if let Err(e) = result {
            panic!(
                "seed {seed}: {e}\nreproduce: faultline run tests/scenarios/faults.json --seed {seed} --trace trace.jsonl"
            );
        }
    }
}

/// Found by the property test: six closed-loop users with no think time charge more than the
/// payment service accepts, over a link with no latency. Every request is refused at once and the
/// next one starts at once, so time never moves. The run must stop with a message, quickly,
/// instead of spinning at t = 0 until memory runs out.
#[test]
fn a_loop_in_which_time_stands_still_halts_with_a_message() {
    let s = Scenario::parse(
        r#"{"version": 1, "seed": 1, "duration_ms": 5000,
        "nodes": [
          {"id": "shop", "model": {"type": "client", "target": "pay", "workload": {"type": "closed", "users": 6, "think_ms": 0}, "charge_cents": 187}},
          {"id": "pay", "model": {"type": "payment", "latency": {"type": "constant", "ms": 4}, "max_amount_cents": 93}}
        ],
        "links": [{"a": "shop", "b": "pay", "latency": {"type": "constant", "ms": 0}}]}"#,
    )
    .expect("valid");
    let mut world = s.build(None).expect("valid");
    match world.run_until(s.duration_us(), u64::MAX) {
        RunStatus::Halted(why) => {
            assert!(why.starts_with("time stood still"), "{why}");
            assert_eq!(world.now_us(), 0);
        }
        other => panic!("expected a halt, got {other:?}"),
    }
    // The halt is in the trace too, as a notice the page shows.
    assert!(world.trace().events().iter().any(|e| matches!(&e.kind, faultline_core::trace::TraceKind::Notice { text } if text.starts_with("time stood still"))));
}

/// Share links: round trips, and a decoder that never panics on damaged or hostile text.
/// The million-input run the note reports: `PROPTEST_CASES=1000000 cargo test --release -p
/// faultline-core --test properties share_decode`.
mod share_links {
    use super::build;
    use faultline_core::share::{LessonAt, Link, LinkView};
    use proptest::prelude::*;

    fn link(seed: u64, at: f64, step: Option<usize>) -> Link {
        let scenario = build(seed);
        Link {
            at_ms: (scenario.duration_ms * at).floor(),
            scenario,
            lesson: step.map(|step| LessonAt {
                id: "04-retries".into(),
                step,
            }),
            view: LinkView {
                still: seed.is_multiple_of(2),
                hide: if seed.is_multiple_of(3) {
                    vec!["seed".into()]
                } else {
                    vec![]
                },
                note: if seed.is_multiple_of(5) {
                    format!("Look at node {seed} \"closely\" <b>")
                } else {
                    String::new()
                },
                sweep: seed
                    .is_multiple_of(7)
                    .then(|| faultline_core::share::SweepAt {
                        seeds: 1 + seed % 1000,
                        figure: if seed.is_multiple_of(2) {
                            "p99_ms".into()
                        } else {
                            String::new()
                        },
                    }),
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: super::cases(64), ..ProptestConfig::default() })]

        #[test]
        fn share_encode_then_decode_is_the_identity(seed in any::<u64>(), at in 0.0f64..1.0, step in proptest::option::of(0usize..8)) {
            let l = link(seed, at, step);
            prop_assert_eq!(Link::decode(&l.encode()), Ok(l));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: super::cases(512), ..ProptestConfig::default() })]

        /// Damage a real link the ways copying does (cut short, a character changed, text
        /// inserted) and send arbitrary text: always an answer, never a panic.
        #[test]
        fn share_decode_never_panics(seed in 0u64..64, cut in 0.0f64..1.0, at in 0.0f64..1.0, ch in any::<char>(), junk in ".{0,40}", mode in 0u8..4) {
            let good = link(seed, 0.5, None).encode();
            let i = ((good.len() as f64) * at) as usize;
            let i = (0..=i).rev().find(|k| good.is_char_boundary(*k)).unwrap_or(0);
            let text = match mode {
                0 => good[..((good.len() as f64 * cut) as usize).min(good.len())].to_string(),
                1 => { let mut s = good.clone(); s.insert(i, ch); s }
                2 => { let mut s = good.clone(); s.replace_range(i..(i + 1).min(s.len()), &ch.to_string()); s }
                _ => junk,
            };
            let _ = Link::decode(&text);
        }
    }
}
