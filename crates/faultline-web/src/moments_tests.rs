use super::*;
use crate::session::Session;
use crate::templates::TEMPLATES;
use faultline_core::scenario::Scenario;
use faultline_core::world::Action;

fn template(i: usize) -> Session {
    Session::new(Scenario::parse(TEMPLATES[i]).expect("valid")).expect("builds")
}

/// The moments the session read up to its playhead.
fn read(p: &Session) -> Moments {
    p.observed().moments.clone()
}

/// The moments the time line marks (those ahead of the playhead too, after a seek back).
fn marked(p: &Session) -> Vec<Moment> {
    p.marks().moments.moments.clone()
}

fn kinds_between(m: &Moments, from_us: u64, to_us: u64) -> Vec<Kind> {
    m.moments
        .iter()
        .filter(|x| x.time_us >= from_us && x.time_us <= to_us)
        .map(|x| x.kind)
        .collect()
}

#[test]
fn the_breaker_opens_half_opens_and_closes_between_10_and_25_s() {
    let mut p = template(2);
    p.seek(26_000_000);
    let m = read(&p);
    let kinds = kinds_between(&m, 10_000_000, 25_000_000);
    let open = kinds.iter().position(|k| *k == Kind::Open).expect("opened");
    let half = kinds
        .iter()
        .position(|k| *k == Kind::HalfOpen)
        .expect("half");
    let closed = kinds
        .iter()
        .rposition(|k| *k == Kind::Closed)
        .expect("closed");
    assert!(open < half && half < closed, "{kinds:?}");
    let first = m
        .moments
        .iter()
        .find(|x| x.kind == Kind::Open)
        .expect("open");
    assert!(
        first.what.starts_with("checkout's breaker opened ("),
        "{}",
        first.what
    );
    assert!(first.label().starts_with("t = 1"), "{}", first.label());
    // The band: closed from zero, then open, half-open ... and closed at the end.
    let bands = m.bands(p.world.names());
    assert_eq!(bands.len(), 1);
    let segs = &bands[0].segments;
    assert_eq!((segs[0].from_us, segs[0].state), (0, Kind::Closed));
    assert_eq!(segs.last().map(|s| s.state), Some(Kind::Closed));
    assert_eq!(segs.last().map(|s| s.to_us), Some(None));
    assert!(segs.windows(2).all(|w| w[0].to_us == Some(w[1].from_us)));
    assert!(segs.iter().any(|s| s.state == Kind::HalfOpen));
}

#[test]
fn a_seek_back_keeps_the_moments_ahead_and_a_fork_forgets_them() {
    let mut p = template(2);
    p.seek(26_000_000);
    let all = marked(&p);
    assert!(!all.is_empty());
    // The same run: what comes after 5 s is still marked, though not yet read at 5 s.
    p.seek(5_000_000);
    assert_eq!(marked(&p), all);
    assert_eq!(read(&p).len(), 0, "nothing happened before 10 s");
    p.seek(15_000_000);
    assert_eq!(marked(&p), all);
    p.seek(26_000_000);
    assert_eq!(read(&p).moments, all);
    // A fork at 5 s forgets what came after.
    p.seek(5_000_000);
    p.intervene(Action::Pause(NodeId(0)));
    assert!(marked(&p).iter().all(|x| x.time_us <= 5_000_000));
    // Played straight through, the recorded run gives the same moments.
    p.seek(26_000_000);
    let (_, straight) = crate::observed::played_straight(&p.recorded(), 26_000_000);
    assert_eq!(marked(&p), straight.moments.moments);
}

#[test]
fn a_crash_intervention_appears_and_a_fork_is_followed() {
    let mut p = template(2);
    p.seek(3_000_000);
    p.intervene(Action::Crash(NodeId(1)));
    let m = read(&p);
    let crash = m.moments.last().expect("a moment");
    assert_eq!((crash.kind, crash.time_us), (Kind::Crash, 3_000_000));
    assert_eq!(crash.label(), "t = 3.000 s: payments crashed");
    p.seek(4_000_000);
    p.intervene(Action::Restart(NodeId(1)));
    p.seek(6_000_000);
    assert_eq!(
        read(&p)
            .moments
            .iter()
            .filter(|x| x.kind != Kind::Open)
            .map(|x| x.kind)
            .take(2)
            .collect::<Vec<_>>(),
        [Kind::Crash, Kind::Restart]
    );
    // Back before the crash, and a different future: the crash is forgotten.
    p.seek(2_000_000);
    p.intervene(Action::Pause(NodeId(1)));
    p.seek(6_000_000);
    assert!(marked(&p).iter().all(|x| x.kind != Kind::Crash));
}

#[test]
fn raft_marks_leaders_crashes_and_one_moment_per_partition() {
    let mut p = template(13);
    p.seek(9_000_000);
    let m = read(&p);
    let leader = m
        .moments
        .iter()
        .find(|x| x.kind == Kind::Leader)
        .expect("a leader is elected");
    assert!(
        leader.what.contains("became leader (term "),
        "{}",
        leader.what
    );
    assert_eq!(
        kinds_between(&m, 3_000_000, 3_000_000),
        [Kind::Crash],
        "{:?}",
        m.moments
    );
    let cut: Vec<_> = m.moments.iter().filter(|x| x.kind == Kind::Cut).collect();
    assert_eq!(cut.len(), 1, "a partition is one moment: {cut:?}");
    assert_eq!(cut[0].time_us, 6_500_000);
    assert!(
        cut[0].what.starts_with("links ") && cut[0].what.contains(" more cut"),
        "{}",
        cut[0].what
    );
    assert_eq!(m.moments.iter().filter(|x| x.kind == Kind::Heal).count(), 1);
}

#[test]
fn violations_come_from_the_invariants_list_in_time_order() {
    let mut m = Moments::default();
    let names = vec!["a".to_string(), "b".to_string()];
    let crash = TraceEvent {
        seq: 5,
        time_us: 2_000,
        kind: TraceKind::Fault {
            fault: Fault::Crash { node: NodeId(0) },
        },
    };
    assert!(m.observe(&crash, &names));
    let t = crate::verdicts::Transition {
        seq: 3,
        time_us: 1_000,
        node: NodeId(1),
        name: "one leader per term".into(),
        holds: Some(false),
        detail: String::new(),
    };
    let list = m.list([&t], &names);
    assert_eq!(
        list.iter().map(|x| x.kind).collect::<Vec<_>>(),
        [Kind::Violated, Kind::Crash]
    );
    assert_eq!(
        list[0].label(),
        "t = 0.001 s: one leader per term violated (b)"
    );
}

#[test]
fn state_lines_are_read_as_the_models_write_them() {
    assert_eq!(
        breaker_line("breaker CLOSED -> OPEN: failure rate 60 % >= 50 %"),
        Some((None, Kind::Closed, Kind::Open, "failure rate 60 % >= 50 %"))
    );
    assert_eq!(
        breaker_line("breaker to call 2: breaker OPEN -> HALF_OPEN: the wait of 2000 ms passed"),
        Some((
            Some(2),
            Kind::Open,
            Kind::HalfOpen,
            "the wait of 2000 ms passed"
        ))
    );
    assert_eq!(breaker_line("follower, term 2"), None);
    assert_eq!(
        leader_line("candidate -> leader, term 3"),
        Some((Kind::Leader, "3"))
    );
    assert_eq!(
        leader_line("leader -> follower, term 4"),
        Some((Kind::StepDown, "4"))
    );
    assert_eq!(leader_line("candidate -> follower, term 4"), None);
    assert_eq!(leader_line("committed index 3"), None);
}

#[test]
fn many_moments_stay_bounded() {
    let mut m = Moments::default();
    let names = vec!["a".to_string()];
    for i in 0..2_000u64 {
        m.observe(
            &TraceEvent {
                seq: i,
                time_us: i * 10,
                kind: TraceKind::Fault {
                    fault: if i % 2 == 0 {
                        Fault::Crash { node: NodeId(0) }
                    } else {
                        Fault::Restart { node: NodeId(0) }
                    },
                },
            },
            &names,
        );
    }
    assert_eq!(m.len(), MAX_MOMENTS);
    assert_eq!(m.moments.last().map(|x| x.seq), Some(1_999));
}
