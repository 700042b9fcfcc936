//! Chaos schedules and seed sweeps: a schedule expands into ordinary interventions from the
//! seed (same seed, same faults; another seed, other faults; bounded), and a sweep finds the
//! seeds where an invariant breaks, each of which replays its violation alone.

use faultline_core::chaos::Chaos;
use faultline_core::scenario::{Intervention, Scenario};
use faultline_core::sweep::{
    Figure, SeedRun, TIME_TO_NEW_LEADER, histogram, parse_seeds, run_seed, summarize,
};
use serde_json::json;

const RAFT_CHAOS: &str = include_str!("../../../tests/scenarios/raft-chaos.json");
const RAFT: &str = include_str!("../../../tests/scenarios/raft.json");

/// A checkout without idempotency keys over a link that loses 1 % of answers: a lost answer
/// is retried and charged again, so a duplicate charge needs an unlucky seed.
fn rare_duplicates() -> Scenario {
    Scenario::parse(
        &json!({
            "version": 1, "seed": 1, "duration_ms": 3000,
            "nodes": [
                {"id": "checkout", "model": {"type": "client", "target": "payments",
                  "workload": {"type": "open", "rate_per_s": 10}, "timeout_ms": 300,
                  "retry": {"max_attempts": 3}, "idempotency_keys": false, "charge_cents": 4999}},
                {"id": "payments", "model": {"type": "payment",
                  "latency": {"type": "constant", "ms": 20}}}
            ],
            "links": [{"a": "checkout", "b": "payments", "latency": {"type": "constant", "ms": 10},
                       "reverse": {"latency": {"type": "constant", "ms": 10}, "loss": 0.01}}]
        })
        .to_string(),
    )
    .expect("the fixture is valid")
}

fn chaos_of(s: &Scenario) -> &Chaos {
    s.chaos.as_ref().expect("the sample has a chaos block")
}

fn target(iv: &Intervention) -> (String, f64) {
    match iv {
        Intervention::Crash { node, at_ms } | Intervention::Restart { node, at_ms } => {
            (node.clone(), *at_ms)
        }
        Intervention::Cut { a, b, at_ms, .. } | Intervention::Heal { a, b, at_ms } => {
            (format!("{a}-{b}"), *at_ms)
        }
        other => panic!("the sample's chaos makes only crashes and cuts, not {other:?}"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_chaos_schedule_is_the_same_for_a_seed_and_differs_between_seeds() {
    let s = Scenario::parse(RAFT_CHAOS).expect("the sample is valid");
    let a = chaos_of(&s).expand(&s, 5);
    assert_eq!(a, chaos_of(&s).expand(&s, 5), "same seed, same faults");
    assert_ne!(a, chaos_of(&s).expand(&s, 6), "another seed, other faults");
    assert!(
        a.len() >= 4,
        "about five crashes and seven cuts in 11 s: {a:?}"
    );
    let crashes = a
        .iter()
        .filter(|i| matches!(i, Intervention::Crash { .. }))
        .count();
    assert!((1..=20).contains(&crashes), "bounded by max: {crashes}");
    // Time order, inside the window, and a crashed node is not crashed again before it is back.
    let times: Vec<f64> = a.iter().map(Intervention::at_ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times.iter().all(|t| (1000.0..=12_000.0).contains(t)));
    let mut down: Vec<String> = Vec::new();
    for iv in &a {
        let (who, at) = target(iv);
        match iv {
            Intervention::Crash { .. } | Intervention::Cut { .. } => {
                assert!(
                    !down.contains(&who),
                    "{who} faulted again while down, at {at}"
                );
                down.push(who);
            }
            _ => down.retain(|d| d != &who),
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_chaos_run_is_the_run_of_its_expanded_interventions() {
    // The schedule becomes plain interventions: writing them out replays the same trace.
    let s = Scenario::parse(RAFT_CHAOS).expect("the sample is valid");
    for seed in [3, 4] {
        let expanded = s.with_chaos_expanded(seed);
        assert!(expanded.chaos.is_none());
        let again =
            Scenario::parse(&expanded.to_json()).expect("the expansion is a valid scenario");
        let hash = |sc: &Scenario, seed| {
            let mut w = sc.build(Some(seed)).expect("builds");
            w.run_until(sc.duration_us(), u64::MAX);
            w.trace().hash()
        };
        assert_eq!(hash(&s, seed), hash(&again, seed), "seed {seed}");
    }
    // And the chaos changes the run: without it, seed 3 is another trace.
    let mut calm = s.clone();
    calm.chaos = None;
    let mut a = s.build(Some(3)).unwrap();
    let mut b = calm.build(Some(3)).unwrap();
    a.run_until(s.duration_us(), u64::MAX);
    b.run_until(s.duration_us(), u64::MAX);
    assert_ne!(a.trace().hash(), b.trace().hash());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_bad_chaos_block_is_refused_with_its_path() {
    let mut doc: serde_json::Value = serde_json::from_str(RAFT_CHAOS).unwrap();
    doc["chaos"]["faults"][0]["nodes"][2] = json!("n9");
    doc["chaos"]["faults"][1]["max"] = json!(5000);
    let errs = Scenario::parse(&doc.to_string()).expect_err("n9 does not exist");
    let text = errs.to_string();
    assert!(
        text.contains("chaos.faults[0].nodes[2]: no node has the id 'n9'"),
        "{text}"
    );
    assert!(
        text.contains("chaos.faults[1].max: expected 1 to 1000, got 5000"),
        "{text}"
    );

    let mut doc: serde_json::Value = serde_json::from_str(RAFT_CHAOS).unwrap();
    doc["chaos"]["faults"][1]["links"] = json!([["n1", "n9"]]);
    doc["chaos"]["until_ms"] = json!(500);
    let text = Scenario::parse(&doc.to_string()).unwrap_err().to_string();
    assert!(
        text.contains("there is no link between n1 and n9"),
        "{text}"
    );
    assert!(text.contains("chaos.until_ms"), "{text}");

    let mut doc: serde_json::Value = serde_json::from_str(RAFT_CHAOS).unwrap();
    doc["chaos"]["faults"][0]["fault"] = json!("meteor");
    let text = Scenario::parse(&doc.to_string()).unwrap_err().to_string();
    assert!(
        text.contains("chaos.faults[0]") && text.contains("meteor"),
        "{text}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_latency_fault_slows_a_link_and_gives_its_latency_back() {
    let mut doc: serde_json::Value = serde_json::from_str(RAFT).unwrap();
    doc["interventions"] = json!([]);
    doc["chaos"] = json!({"faults": [{"fault": "latency", "links": [["n1", "n2"]],
        "latency": {"type": "constant", "ms": 400},
        "every": {"type": "constant", "ms": 1000}, "down": {"type": "constant", "ms": 300}}]});
    let s = Scenario::parse(&doc.to_string()).expect("valid");
    let ivs = s.chaos.as_ref().unwrap().expand(&s, 1);
    // Every second, 300 ms of slowness: nine faults fit in 10 s (the tenth would start at 10 s).
    assert_eq!(ivs.len(), 18, "{ivs:?}");
    match (&ivs[0], &ivs[1]) {
        (
            Intervention::SetLink {
                at_ms: t0,
                value: v0,
                ..
            },
            Intervention::SetLink {
                at_ms: t1,
                value: v1,
                ..
            },
        ) => {
            assert_eq!((*t0, *t1), (1000.0, 1300.0));
            assert_eq!(v0["ms"], json!(400.0));
            assert_eq!(
                v1,
                &json!({"type": "uniform", "min_ms": 2.0, "max_ms": 8.0})
            );
        }
        other => panic!("expected two set_link, got {other:?}"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn seed_ranges_and_figure_names_are_read_with_clear_errors() {
    assert_eq!(parse_seeds("1..1000"), Ok((1, 1000)));
    assert_eq!(parse_seeds("5..=7"), Ok((5, 7)));
    assert_eq!(parse_seeds("42"), Ok((42, 42)));
    assert!(parse_seeds("9..3").unwrap_err().contains("ends before"));
    assert!(parse_seeds("1..1000000").unwrap_err().contains("limit"));
    assert!(
        parse_seeds("a..b")
            .unwrap_err()
            .contains("not a seed range")
    );

    let s = rare_duplicates();
    assert_eq!(
        Figure::parse("p99_ms", &s),
        Ok(Figure::Node {
            node: "checkout".into(),
            value: "p99_ms".into()
        })
    );
    assert_eq!(
        Figure::parse("duplicate_charges", &s),
        Ok(Figure::Sum {
            value: "duplicate_charges".into()
        })
    );
    assert!(
        Figure::parse("payments.nope", &s)
            .unwrap_err()
            .contains("has no figure 'nope'")
    );
    assert!(
        Figure::parse("cart.p99_ms", &s)
            .unwrap_err()
            .contains("no node has the id 'cart'")
    );
    assert!(
        Figure::parse(TIME_TO_NEW_LEADER, &s)
            .unwrap_err()
            .contains("Raft")
    );
    assert_eq!(Figure::default_for(&s).unwrap().name(), "checkout.p99_ms");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_sweep_finds_the_seeds_with_a_duplicate_charge_and_each_replays_alone() {
    let s = rare_duplicates();
    let figure = Figure::parse("duplicate_charges", &s).unwrap();
    let runs: Vec<SeedRun> = (1..=40)
        .map(|seed| run_seed(&s, &figure, seed).unwrap())
        .collect();
    let summary = summarize(&figure, &runs);
    assert_eq!(summary.seeds, 40);
    assert_eq!(summary.seed_range, Some((1, 40)));
    let dup = summary
        .properties
        .iter()
        .find(|p| p.property.name == "no duplicate charge")
        .expect("the payment service's duplicate charges are a property");
    assert_eq!(dup.property.node.as_deref(), Some("payments"));
    assert!(
        dup.broken > 0 && dup.broken < 40,
        "some seeds but not all: {} of 40",
        dup.broken
    );
    assert_eq!(dup.failing.len() as u64, dup.broken);
    assert!((dup.share - dup.broken as f64 / 40.0).abs() < 1e-12);
    // The figure agrees with the invariant: the seeds that broke it charged twice.
    for f in &dup.failing {
        let r = &runs[(f.seed - 1) as usize];
        assert!(
            r.value.unwrap() >= 1.0,
            "seed {} broke it without a duplicate",
            f.seed
        );
        // A failing seed run alone gives the same run and the same moment.
        let again = run_seed(&s, &figure, f.seed).unwrap();
        assert_eq!(&again, r);
        assert!(f.at_ms > 0.0 && f.at_ms <= 3000.0);
    }
    let clean = runs.iter().filter(|r| r.violations.is_empty()).count() as u64;
    assert_eq!(clean + dup.broken, 40);
    // The order the outcomes come in (threads finish in any order) does not matter.
    let mut shuffled = runs.clone();
    shuffled.reverse();
    shuffled.swap(3, 17);
    assert_eq!(summarize(&figure, &shuffled), summary);
    // The histogram holds every seed with a value.
    let bins = histogram(&runs, 10);
    assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 40);
    let stats = summary.stats.unwrap();
    assert_eq!(stats.count, 40);
    assert!(stats.min <= stats.p50 && stats.p50 <= stats.p99 && stats.p99 <= stats.max);
    assert!(stats.max >= 1.0);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn time_to_a_new_leader_is_measured_from_the_leaders_crash() {
    // raft.json crashes the leader n2 at 3 s; a new one is elected within an election timeout
    // or a few (150 to 300 ms each, split votes aside).
    let s = Scenario::parse(RAFT).unwrap();
    let figure = Figure::parse(TIME_TO_NEW_LEADER, &s).unwrap();
    let r = run_seed(&s, &figure, s.seed).unwrap();
    let v = r.value.expect("the leader was lost and replaced");
    assert!((100.0..2_000.0).contains(&v), "{v} ms");
    assert!(
        r.violations.is_empty(),
        "Raft's safety holds: {:?}",
        r.violations
    );
    assert!(
        r.properties
            .iter()
            .any(|p| p.name == "Election Safety" && p.node.is_none()),
        "Raft's properties are run-wide: {:?}",
        r.properties
    );
}

#[test]
fn a_lesson_goal_on_a_sweep_needs_every_seed_to_hold() {
    use faultline_core::lesson::{Goal, run, run_for};
    let goal = Goal::parse(
        r#"{"property": "no duplicate charge", "holds_in_seeds": 40, "says": "nobody is charged twice on any seed"}"#,
    )
    .unwrap();
    assert_eq!(goal.sweep_seeds(), Some(40));
    let s = rare_duplicates();
    // One run alone is not enough to judge it: it asks for a sweep.
    let v = goal.judge(&run(&s).unwrap());
    assert!(!v.met && v.checks[0].got.contains("not swept yet"), "{v:?}");
    // Swept: some seeds charge twice, so it does not hold, and says how many.
    let v = goal.judge(&run_for(&goal, &s).unwrap());
    assert!(!v.met, "{v:?}");
    assert!(v.checks[0].got.contains("of 40 seeds"), "{v:?}");
    assert_eq!(v.checks[0].wants, "nobody is charged twice on any seed");
    // With idempotency keys no seed charges twice.
    let mut keyed = s.clone();
    let faultline_core::models::ModelSpec::Client(c) = &mut keyed.nodes[0].model else {
        panic!("the first node is the checkout")
    };
    c.idempotency_keys = true;
    let v = goal.judge(&run_for(&goal, &keyed).unwrap());
    assert!(v.met, "{v:?}");
    assert_eq!(v.checks[0].got, "held in all 40 seeds");
    // A sweep shorter than asked does not count.
    let mut out = run_for(&goal, &keyed).unwrap();
    out.sweep = Some(faultline_core::sweep::sweep_seeds(&keyed, 10).unwrap());
    let v = goal.judge(&out);
    assert!(
        !v.met && v.checks[0].got.contains("10 seeds swept"),
        "{v:?}"
    );
    // Malformed sweep goals get a sentence.
    for (text, want) in [
        (r#"{"property": "x"}"#, "needs both"),
        (r#"{"property": "x", "holds_in_seeds": 0}"#, "1 to 1000"),
        (r#"{"property": "x", "holds_in_seeds": 5000}"#, "1 to 1000"),
        (r#"{"property": "", "holds_in_seeds": 5}"#, "1 to 80"),
        (
            r#"{"property": "x", "holds_in_seeds": 5, "at_most": 1}"#,
            "only",
        ),
        (
            r#"{"property": "x", "holds_in_seeds": 5, "node": "a", "value": "p99_ms", "at_most": 1}"#,
            "exactly one",
        ),
    ] {
        let e = Goal::parse(text).unwrap_err();
        assert!(e.contains(want), "{text}: {e}");
    }
}
