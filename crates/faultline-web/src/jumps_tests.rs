//! Jumps on the time line restore what playing straight through gives, and the snapshots stay
//! within their budget however long the run.

use super::*;
use crate::observed::played_straight;
use crate::snapshots::Budget;
use crate::templates::TEMPLATES;
use faultline_core::NodeId;
use faultline_core::rng::{SimRng, Stream};

/// What a learner sees of a moment of the run: the trace's hash and length, the invariants'
/// rows, the moments and the breakers' bands.
#[derive(Debug, PartialEq)]
struct Seen {
    now_us: u64,
    hash: u64,
    events: u64,
    rows: Vec<crate::verdicts::Row>,
    moments: Vec<crate::moments::Moment>,
    bands: Vec<crate::moments::Band>,
}

fn seen(w: &World, o: &Observed) -> Seen {
    Seen {
        now_us: w.now_us(),
        hash: w.trace().hash(),
        events: w.events(),
        rows: o.verdicts.rows(w),
        moments: o.moments.list(o.verdicts.violations(), w.names()),
        bands: o.moments.bands(w.names()),
    }
}

fn session(template: usize, duration_ms: f64, budget: Budget) -> Session {
    let mut s = Scenario::parse(TEMPLATES[template]).expect("valid");
    s.duration_ms = duration_ms;
    Session::with_budget(s, budget).expect("builds")
}

/// Jumps to `t` and checks the playhead against the recorded run played from zero to `t`.
fn jump_and_compare(p: &mut Session, t: u64) {
    p.seek(t);
    let (w, o) = played_straight(&p.recorded(), t);
    assert_eq!(
        seen(&p.world, p.observed()),
        seen(&w, &o),
        "a jump to {t} us"
    );
}

#[test]
fn a_jump_anywhere_restores_what_playing_from_zero_gives() {
    // Templates with invariants: a duplicate charge (checkout without keys, as the learner
    // turns them off), Raft's "one leader per term", the linearizability of a CP store; and the
    // breaker, for its moments and band.
    for template in [3, 13, 11, 2] {
        let mut p = session(template, 60_000.0, BUDGET);
        if template == 3 {
            p.intervene(Action::Set {
                node: NodeId(0),
                param: "idempotency_keys".into(),
                value: serde_json::json!(false),
            });
        }
        p.seek(60_000_000);
        let end = seen(&p.world, p.observed());
        assert!(
            !end.moments.is_empty() || !end.rows.is_empty(),
            "template {template} has something to restore"
        );
        // To the start, the middle, back to the end, then anywhere, backward and forward.
        for t in [
            0, 30_000_000, 60_000_000, 45_000_000, 12_345_678, 59_999_999,
        ] {
            jump_and_compare(&mut p, t);
        }
        let mut rng = SimRng::new(template as u64, Stream::World);
        for _ in 0..6 {
            jump_and_compare(&mut p, rng.below(60_000_000));
        }
        p.seek(60_000_000);
        assert_eq!(seen(&p.world, p.observed()), end, "template {template}");
    }
}

#[test]
fn a_jump_forward_starts_from_the_snapshot_ahead() {
    let mut p = session(0, 600_000.0, BUDGET);
    p.seek(600_000_000);
    let gap = p.snaps().max_gap_events();
    let whole = p.world.events();
    p.seek(0);
    p.seek(300_000_000);
    assert!(
        p.replayed() <= gap,
        "forward to the middle: {} events replayed, the longest gap is {gap}",
        p.replayed()
    );
    p.seek(600_000_000);
    assert!(p.replayed() <= gap, "forward to the end");
    assert!(gap * 20 < whole, "{gap} of {whole} events");
}

#[test]
fn an_intervention_ahead_never_hides_in_a_snapshot() {
    // Few snapshots, so replaying after a seek back fills gaps with new ones. The learner
    // crashed the server at 30 s, looked back at 3 s, then changed the past at 2.5 s: the crash
    // belongs to the discarded future, and no snapshot taken on the way may bring it back.
    let budget = Budget {
        bytes: BUDGET.bytes,
        count: 4,
        near: 1,
    };
    let mut p = session(0, 60_000.0, budget);
    p.seek(30_000_000);
    p.intervene(Action::Crash(NodeId(1)));
    p.seek(3_000_000);
    p.seek(40_000_000);
    p.seek(2_500_000);
    p.intervene(Action::Pause(NodeId(0)));
    assert_eq!(p.user.len(), 1, "only the pause is left");
    p.seek(50_000_000);
    let (w, o) = played_straight(&p.recorded(), 50_000_000);
    assert_eq!(seen(&p.world, p.observed()), seen(&w, &o));
    assert_eq!(
        p.world.liveness(NodeId(1)),
        faultline_core::world::Liveness::Up
    );
}

#[test]
fn thinning_keeps_the_snapshots_within_the_budget_and_the_gaps_even() {
    // A budget small enough to thin a ten-minute run many times over.
    let budget = Budget {
        bytes: 6 << 20,
        count: 40,
        near: 4,
    };
    let mut p = session(0, 600_000.0, budget);
    let mut rng = SimRng::new(3, Stream::World);
    let mut t = 0;
    while t < 600_000_000 {
        t += 20_000_000;
        p.seek(t);
        if t % 100_000_000 == 0 {
            // Look back now and then: the snapshots near the playhead move with it.
            p.seek(rng.below(t));
            p.seek(t);
        }
        let s = p.snaps();
        assert!(s.len() <= budget.count, "{} snapshots", s.len());
        assert!(
            s.bytes() <= budget.bytes || s.len() <= 2,
            "{} bytes in {} snapshots",
            s.bytes(),
            s.len()
        );
    }
    let s = p.snaps();
    let events = p.world.events();
    // The longest gap: at most about twice the average over the snapshots thinning may remove
    // (the natural spacing aside, one slice of the run).
    let kept = s.len() as u64;
    let bound = (2 * events / kept.saturating_sub(budget.near as u64 + 2).max(1))
        .max(SNAPSHOT_EVERY_EVENTS * 4);
    assert!(
        s.max_gap_events() <= bound,
        "longest gap {} events, bound {bound}, {kept} snapshots over {events} events",
        s.max_gap_events()
    );
    assert!(kept >= 10, "the budget is used: {kept} kept");
    // And a jump anywhere still lands on the run played straight through.
    jump_and_compare(&mut p, 333_333_333);
}

#[test]
fn memory_stays_flat_over_a_long_run() {
    // An hour at the page's budget: the snapshots' bytes stop growing once the budget is reached.
    let mut p = session(0, 3_600_000.0, BUDGET);
    let mut bytes = Vec::new();
    for minute in 1..=60u64 {
        p.seek(minute * 60_000_000);
        bytes.push(p.snaps().bytes());
    }
    assert!(bytes.iter().all(|b| *b <= BUDGET.bytes), "{bytes:?}");
    assert!(p.snaps().len() <= BUDGET.count);
}
