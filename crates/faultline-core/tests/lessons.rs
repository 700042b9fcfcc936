//! Every lesson in `lessons/` is a real puzzle: each step's goal fails as the step opens and
//! holds once its solution is applied, and its text has what the page shows.

use faultline_core::lesson::{Change, Lesson, apply_all, run_for};
use std::path::{Path, PathBuf};

fn lessons() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the lessons folder")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("README.md"))
        .collect();
    faultline_core::order::sort(&mut v);
    v
}

#[test]
fn every_lesson_step_fails_first_and_its_solution_meets_the_goal() {
    let files = lessons();
    assert!(files.len() >= 3, "the curriculum has lessons: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lesson = Lesson::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!lesson.intro.is_empty(), "{}: an introduction", f.display());
        for (i, step) in lesson.steps.iter().enumerate() {
            let name = format!("{} step {}", f.display(), i + 1);
            assert!(!step.text.is_empty(), "{name}: text");
            let Some(goal) = &step.goal else { continue };
            assert!(
                step.task.is_some(),
                "{name}: a step with a goal says what to try"
            );
            assert!(
                !step.hints.is_empty(),
                "{name}: a step with a goal has a hint"
            );
            let before = goal.judge(&run_for(goal, &step.scenario(&lesson).unwrap()).unwrap());
            assert!(!before.met, "{name}: already met: {before:?}");
            let after = goal.judge(&run_for(goal, &step.solved(&lesson).unwrap()).unwrap());
            assert!(after.met, "{name}: the solution fails: {after:?}");
            assert!(after.checks.iter().all(|c| c.met));
        }
    }
}

#[test]
fn a_solution_holds_for_other_seeds_too() {
    // A goal that only one seed meets would teach luck: check the solutions over a few seeds.
    for f in lessons() {
        let lesson = Lesson::parse(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for (i, step) in lesson.steps.iter().enumerate() {
            let Some(goal) = &step.goal else { continue };
            for seed in 1..=3 {
                let mut s = step.solved(&lesson).unwrap();
                s.seed = seed;
                let v = goal.judge(&run_for(goal, &s).unwrap());
                assert!(v.met, "{} step {} seed {seed}: {v:?}", f.display(), i + 1);
                let mut s = step.scenario(&lesson).unwrap();
                s.seed = seed;
                let v = goal.judge(&run_for(goal, &s).unwrap());
                assert!(
                    !v.met,
                    "{} step {} seed {seed} met unsolved: {v:?}",
                    f.display(),
                    i + 1
                );
            }
        }
    }
}

/// A lesson's step, found by its file and heading.
fn step_of(file: &str, title: &str) -> (Lesson, usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../lessons")
        .join(file);
    let lesson = Lesson::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let i = lesson
        .steps
        .iter()
        .position(|s| s.title == title)
        .unwrap_or_else(|| panic!("{file}: no step '{title}'"));
    (lesson, i)
}

fn node_change(node: &str, param: &str, value: serde_json::Value) -> Change {
    Change::Node {
        node: node.into(),
        param: param.into(),
        value,
    }
}

/// Runs a step with `changes` on top of the ones it opens with and checks, over seeds 1 to 3,
/// that the goal is not met, and that the only conditions that fail are the ones that name
/// the idea (`wants` contains `marker`): the shortcut meets the rest, as it used to meet the
/// whole goal.
fn shortcut_fails(file: &str, title: &str, changes: &[Change], marker: &str) {
    let (lesson, i) = step_of(file, title);
    let step = &lesson.steps[i];
    let goal = step.goal.as_ref().expect("a goal");
    let mut all = step.changes.clone();
    all.extend(changes.iter().cloned());
    for seed in 1..=3 {
        let mut s = apply_all(&lesson.scenario, &all).unwrap();
        s.seed = seed;
        let v = goal.judge(&run_for(goal, &s).unwrap());
        assert!(
            !v.met,
            "{file} '{title}' seed {seed}: the shortcut passes: {v:?}"
        );
        let failing: Vec<_> = v.checks.iter().filter(|c| !c.met).collect();
        assert!(
            failing.iter().all(|c| c.wants.contains(marker)),
            "{file} '{title}' seed {seed}: the shortcut fails for another reason: {v:?}"
        );
    }
}

#[test]
fn turning_retries_off_does_not_calm_the_retry_storm() {
    // Lesson 04: with one attempt there is no storm, and no retry for the flaky API either.
    shortcut_fails(
        "04-retries.md",
        "The retry storm",
        &[node_change(
            "web",
            "retry.max_attempts",
            serde_json::json!(1),
        )],
        "still retries",
    );
}

#[test]
fn a_breaker_that_never_closes_again_does_not_pass() {
    // Lesson 08: a breaker that waits 60 s (Resilience4j's default) spares payments and cuts the
    // timeouts, but refuses every order after payments has recovered.
    let breaker = serde_json::json!({"preset": "resilience4j", "minimum_calls": 10,
        "window": {"type": "count", "size": 20}, "wait_in_open_ms": 60000,
        "permitted_calls_in_half_open": 2});
    for title in ["A dependency that is down", "A dependency that hangs"] {
        shortcut_fails(
            "08-circuit-breakers.md",
            title,
            &[node_change("checkout", "breaker", breaker.clone())],
            "closes again",
        );
    }
}

#[test]
fn a_chain_with_no_retry_left_does_not_pass() {
    // Lesson 02: removing every retry keeps s10's load low, and undoes the fix of step 2.
    let one = serde_json::json!(1);
    shortcut_fails(
        "02-chains.md",
        "Retries multiply too",
        &[
            node_change("web", "retry.max_attempts", one.clone()),
            node_change("s8", "downstream.calls.0.retry.max_attempts", one.clone()),
            node_change("s9", "downstream.calls.0.retry.max_attempts", one),
        ],
        "still retries",
    );
}

#[test]
fn turning_retries_off_does_not_end_the_metastable_storm() {
    // Lesson 06: with one attempt the storm never starts, and the odd failure is never retried.
    shortcut_fails(
        "06-retry-budgets.md",
        "The storm that does not stop",
        &[node_change(
            "web",
            "retry.max_attempts",
            serde_json::json!(1),
        )],
        "still retries",
    );
}

#[test]
fn a_key_made_in_checkout_alone_still_charges_twice() {
    // Lesson 17: checkout's own key covers its retries, not the app's, which reach checkout as
    // new requests.
    shortcut_fails(
        "17-checkout-incident.md",
        "2:07 AM: the pager",
        &[node_change(
            "checkout",
            "downstream.calls.0.idempotency_keys",
            serde_json::json!(true),
        )],
        "charged twice",
    );
}

#[test]
fn the_cascade_needs_both_the_timeout_and_the_workers() {
    // Lesson 17: a 3 s timeout with 16 workers still fills checkout's queue; 32 workers with
    // the 1 s timeout still cut off every slow charge.
    shortcut_fails(
        "17-checkout-incident.md",
        "The cascade",
        &[node_change(
            "checkout",
            "downstream.calls.0.timeout_ms",
            serde_json::json!(3000),
        )],
        "orders",
    );
    shortcut_fails(
        "17-checkout-incident.md",
        "The cascade",
        &[node_change(
            "checkout",
            "concurrency",
            serde_json::json!(32),
        )],
        "orders succeed",
    );
}

#[test]
fn saves_that_no_longer_overtake_or_no_longer_write_do_not_pass() {
    // Lesson 01: a FIFO link keeps the saves in order, and with the writes off nothing is
    // written out of order; but the step is about saves sent over a network that reorders, and
    // the only condition that fails is the one that asks for it.
    let title = "Messages arrive in order";
    shortcut_fails(
        "01-fallacies.md",
        title,
        &[Change::Link {
            a: "browser".into(),
            b: "shop".into(),
            param: "reorder".into(),
            value: serde_json::json!(false),
        }],
        "still reorders",
    );
    shortcut_fails(
        "01-fallacies.md",
        title,
        &[node_change("browser", "writes", serde_json::json!("off"))],
        "still reorders",
    );
}
