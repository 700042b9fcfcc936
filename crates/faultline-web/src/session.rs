//! A session: a scenario being played, with the learner's interventions, snapshots for the time
//! line, and the page's clock controls.
//!
//! Plain Rust with no browser types, so its rules are unit-tested natively.
//!
//! - A frame never accounts for more than [`MAX_FRAME_MS`] of wall time (a tab back from the
//!   background does not fast-forward a minute) nor handles more than [`EVENTS_PER_FRAME`] events
//!   (a busy scenario slows down instead of freezing the page).
//! - The run is played in slices of at most [`OBSERVE_EVERY_EVENTS`] events, and after each the
//!   session reads the new trace events into its lists (`observed.rs`: the invariants' verdicts
//!   and the time line's moments) before the trace's ring can forget them.
//! - Snapshots (`snapshots.rs`) are taken every [`SNAPSHOT_EVERY_EVENTS`] events or
//!   [`SNAPSHOT_EVERY_US`] of virtual time, whichever comes first, each with the lists read so
//!   far, and thinned to a byte budget as the run grows. A seek restores the nearest snapshot at
//!   or before its target, backward or forward, and replays from there: a jump's cost is bounded
//!   by the longest gap between snapshots, wherever it lands.
//! - After a seek back the session keeps the lists of the furthest moment the run reached, so
//!   the time line still marks what comes ahead (it is the same run); a fork forgets them.
//! - The learner's interventions are recorded with their time. One made in the past forks a new
//!   future: later interventions and snapshots are dropped and the run goes on from there.
//!   Interventions run after every other event of their microsecond (see the core's `World`), so
//!   the recorded run replays exactly from a link.

use faultline_core::scenario::{Intervention, Scenario, ScenarioErrors};
use faultline_core::world::{Action, RunStatus, World};

use crate::observed::Observed;
use crate::snapshots::{BUDGET, Budget, Saved, Snapshots};

/// The most wall time one frame may account for, in milliseconds.
pub const MAX_FRAME_MS: f64 = 100.0;
/// The most events one frame may handle.
pub const EVENTS_PER_FRAME: u64 = 50_000;
/// Take a snapshot at least this often, in events.
pub const SNAPSHOT_EVERY_EVENTS: u64 = 20_000;
/// Take a snapshot at least this often, in virtual microseconds.
pub const SNAPSHOT_EVERY_US: u64 = 2_000_000;
/// The most events one seek may replay before it gives up with a notice.
pub const EVENTS_PER_SEEK: u64 = 5_000_000;
/// Events run between two readings of the trace: the ring holds 200,000 events, so a reading is
/// never late unless events average more than 20 trace lines each.
pub const OBSERVE_EVERY_EVENTS: u64 = 10_000;
/// Playback speeds offered, as virtual time per wall time.
pub const SPEEDS: [f64; 9] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 100.0];

/// The lists of the furthest moment the run reached, kept while the playhead is behind it.
struct Frontier {
    events: u64,
    observed: Observed,
}

/// A running scenario and how it is being played.
pub struct Session {
    /// The scenario as loaded (its own interventions included).
    pub scenario: Scenario,
    /// The learner's interventions, in the order made, with their times.
    pub user: Vec<(u64, Action)>,
    /// The world at the playhead.
    pub world: World,
    /// Whether time is moving.
    pub playing: bool,
    /// Virtual time per wall time.
    pub speed: f64,
    /// Why playback stopped by itself (end of run, a limit), for people.
    pub notice: Option<String>,
    snaps: Snapshots,
    /// The lists read up to the playhead.
    observed: Observed,
    frontier: Option<Frontier>,
    /// The last property that turned violated and was not yet announced.
    turned: Option<String>,
    /// Counts changes of the lists, so the page redraws them only when they changed.
    version: u64,
    /// Events the last seek ran: what it cost.
    #[cfg(test)]
    replayed: u64,
}

impl Session {
    /// Builds the scenario's world, playing from time zero.
    pub fn new(scenario: Scenario) -> Result<Self, ScenarioErrors> {
        Self::with_budget(scenario, BUDGET)
    }

    /// [`Session::new`] with another bound on the time line's snapshots.
    pub fn with_budget(scenario: Scenario, budget: Budget) -> Result<Self, ScenarioErrors> {
        let mut world = scenario.build(None)?;
        let start = Self::start_of(&mut world);
        let mut s = Session {
            observed: start.observed.clone(),
            snaps: Snapshots::new(start, budget),
            scenario,
            user: Vec::new(),
            world,
            playing: true,
            speed: 1.0,
            notice: None,
            frontier: None,
            turned: None,
            version: 0,
            #[cfg(test)]
            replayed: 0,
        };
        s.observe();
        Ok(s)
    }

    /// The snapshot of a new world, before time zero, with what its trace holds read.
    fn start_of(world: &mut World) -> Saved {
        let mut observed = Observed::default();
        observed.read(world);
        let ((snap, observed), bytes) = crate::meter::measure(|| (world.snapshot(), observed));
        Saved {
            covered_us: None,
            snap,
            observed,
            bytes,
        }
    }

    /// The end of the run, in virtual microseconds.
    pub fn end_us(&self) -> u64 {
        self.scenario.duration_us()
    }

    /// The lists read up to the playhead: the invariants' panel shows these.
    pub fn observed(&self) -> &Observed {
        &self.observed
    }

    /// The lists the time line marks: the furthest moment's, after a seek back in the same run.
    pub fn marks(&self) -> &Observed {
        self.frontier
            .as_ref()
            .map_or(&self.observed, |f| &f.observed)
    }

    /// The property that last turned violated since this was last asked, for the live region.
    pub fn take_turned(&mut self) -> Option<String> {
        self.turned.take()
    }

    /// Changes whenever [`Session::observed`] or [`Session::marks`] may have changed.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Plays or pauses; playing at the end of a run does nothing.
    pub fn toggle(&mut self) {
        if self.playing {
            self.playing = false;
        } else if self.world.now_us() < self.end_us() && self.world.halted().is_none() {
            self.playing = true;
            self.notice = None;
        }
    }

    /// Sets the speed, clamped to the offered range.
    pub fn set_speed(&mut self, speed: f64) {
        if speed.is_finite() {
            self.speed = speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
        }
    }

    /// Reads the trace's new events into the lists.
    fn observe(&mut self) {
        let read = self.observed.read(&self.world);
        if read.changed {
            self.version += 1;
        }
        if read.turned.is_some() {
            self.turned = read.turned;
        }
        if read.skipped > 0 {
            self.notice = Some(format!(
                "{} trace events came faster than they could be read: the invariants and the time line may miss something in them.",
                read.skipped
            ));
        }
        if self
            .frontier
            .as_ref()
            .is_some_and(|f| f.events <= self.world.events())
        {
            // The playhead caught up with the furthest moment: its own lists are as complete.
            self.frontier = None;
            self.version += 1;
        }
    }

    /// Runs to `target_us` in slices, reading the trace after each, so long seeks leave
    /// snapshots behind them.
    fn run_to(&mut self, target_us: u64, budget: u64) {
        let start_events = self.world.events();
        loop {
            let spent = self.world.events() - start_events;
            // A quiet stretch is crossed in one slice: the slice starts at the next event, so
            // an idle day of a long run costs one step, not one per snapshot interval.
            let from = match self.world.next_event_us() {
                Some(t) => t.max(self.world.now_us()),
                None => target_us,
            };
            let slice_end = target_us.min(from.saturating_add(SNAPSHOT_EVERY_US));
            let chunk = budget.saturating_sub(spent).min(OBSERVE_EVERY_EVENTS);
            let status = self.world.run_until(slice_end, chunk);
            self.observe();
            match status {
                RunStatus::Halted(why) => {
                    self.playing = false;
                    self.notice = Some(why);
                    break;
                }
                RunStatus::Budget if self.world.events() - start_events < budget => continue,
                RunStatus::Budget => {
                    if budget >= EVENTS_PER_SEEK {
                        self.notice = Some(format!(
                            "Stopped after {budget} events on the way: this run is very busy. Play on to continue."
                        ));
                    }
                    break;
                }
                RunStatus::Reached | RunStatus::Idle => self.maybe_snapshot(),
            }
            if self.world.now_us() >= target_us {
                break;
            }
        }
        if self.world.now_us() >= self.end_us() {
            self.playing = false;
            self.notice = Some("The run is over. Drag the time line back to look again.".into());
        }
    }

    fn maybe_snapshot(&mut self) {
        let now = self.world.now_us();
        // A learner's intervention still to come is in the world's queue; restoring a snapshot
        // schedules those after it again, so one taken now would run it twice.
        if self.user.iter().any(|(at, _)| *at > now)
            || !self.snaps.due(
                now,
                self.world.events(),
                SNAPSHOT_EVERY_US,
                SNAPSHOT_EVERY_EVENTS,
            )
        {
            return;
        }
        let (world, observed) = (&mut self.world, &self.observed);
        let ((snap, observed), bytes) =
            crate::meter::measure(|| (world.snapshot(), observed.clone()));
        let playhead = self.world.events();
        self.snaps.insert(
            Saved {
                covered_us: Some(now),
                snap,
                observed,
                bytes,
            },
            playhead,
        );
    }

    /// Advances by one frame of `wall_ms` wall-clock milliseconds; does nothing while paused.
    pub fn advance(&mut self, wall_ms: f64) {
        if !self.playing || !wall_ms.is_finite() || wall_ms <= 0.0 {
            return;
        }
        let wall_ms = wall_ms.min(MAX_FRAME_MS);
        let step_us = (wall_ms * self.speed * 1000.0).round() as u64;
        let target = self
            .world
            .now_us()
            .saturating_add(step_us.max(1))
            .min(self.end_us());
        self.run_to(target, EVENTS_PER_FRAME);
    }

    /// Handles exactly one event (the "step" button), pausing first.
    pub fn step(&mut self) {
        self.playing = false;
        match self.world.next_event_us() {
            Some(t) if t <= self.end_us() => {
                self.world.step();
                self.observe();
            }
            _ => self.notice = Some("Nothing more happens before the end of the run.".into()),
        }
    }

    /// Moves the playhead to `t_us` from the nearest snapshot at or before it, backward or
    /// forward; forward, straight on when no snapshot lies between the playhead and `t_us`.
    pub fn seek(&mut self, t_us: u64) {
        let t = t_us.min(self.end_us());
        let i = self.snaps.at_or_before(t);
        let onward = t >= self.world.now_us() && self.world.halted().is_none();
        if !onward || self.snaps.get(i).events() > self.world.events() {
            self.restore(i);
        }
        #[cfg(test)]
        let from = self.world.events();
        self.run_to(t, EVENTS_PER_SEEK);
        #[cfg(test)]
        {
            self.replayed = self.world.events() - from;
        }
    }

    /// Restores snapshot `i` with its lists, and reschedules the learner's interventions that
    /// came after it. Going back, the lists of the furthest moment are kept for the time line.
    fn restore(&mut self, i: usize) {
        let s = self.snaps.get(i);
        let here = self.world.events();
        if s.events() < here && self.frontier.as_ref().is_none_or(|f| f.events < here) {
            self.frontier = Some(Frontier {
                events: here,
                observed: self.observed.clone(),
            });
        }
        self.world.restore(&s.snap);
        self.observed = s.observed.clone();
        let covered = s.covered_us;
        for (at, action) in &self.user {
            if covered.is_none_or(|c| *at > c) {
                self.world.schedule_action(*at, action.clone());
            }
        }
        self.version += 1;
        self.notice = None;
        self.observe();
    }

    /// Restores the latest snapshot that covers no more than `t`.
    fn restore_before(&mut self, t: u64) {
        self.restore(self.snaps.at_or_before(t));
    }

    /// Records and applies an intervention at the playhead. Made in the past, it forks a new
    /// future: the learner's later interventions and the snapshots after now are dropped.
    pub fn intervene(&mut self, action: Action) {
        let now = self.world.now_us();
        self.user.retain(|(at, _)| *at <= now);
        self.user.push((now, action));
        self.snaps.forget_from(now);
        self.frontier = None;
        self.restore_before(now);
        self.frontier = None;
        self.run_to(now, EVENTS_PER_SEEK);
    }

    /// Starts the run again from time zero; with `keep` false the learner's interventions go.
    pub fn reset(&mut self, keep: bool) {
        if !keep {
            self.user.clear();
        }
        self.snaps.forget_from(0);
        self.restore_before(0);
        self.frontier = None;
        self.playing = true;
    }

    /// Starts again from zero with the learner's setting changes in force from the start (their
    /// faults keep their times): "what if it had been set like this all along?", which is how a
    /// lesson's goal is met.
    pub fn restart_with_settings(&mut self) {
        for (at, a) in &mut self.user {
            if matches!(a, Action::Set { .. } | Action::SetLink { .. }) {
                *at = 0;
            }
        }
        // Stable: settings made at zero keep the order they were made in.
        faultline_core::order::sort_by_key(&mut self.user, |(at, _)| *at);
        self.reset(true);
    }

    /// Rebuilds the run with another seed (the learner's interventions are kept).
    pub fn set_seed(&mut self, seed: u64) {
        self.scenario.seed = seed;
        self.world = self
            .scenario
            .build(None)
            .expect("the scenario was valid and a seed cannot break it");
        let budget = self.snaps.budget();
        self.snaps = Snapshots::new(Self::start_of(&mut self.world), budget);
        self.frontier = None;
        self.restore_before(0);
        self.frontier = None;
    }

    /// The scenario with the learner's interventions appended: what a link or an export holds.
    pub fn recorded(&self) -> Scenario {
        let mut s = self.scenario.clone();
        let names = self.world.names();
        s.interventions.extend(
            self.user
                .iter()
                .map(|(at, a)| Intervention::from_action(*at, a, names)),
        );
        s
    }

    /// The time line's snapshots.
    #[cfg(test)]
    pub fn snaps(&self) -> &Snapshots {
        &self.snaps
    }

    /// How many snapshots the time line holds.
    #[cfg(test)]
    pub fn snapshots(&self) -> usize {
        self.snaps.len()
    }

    /// Events the last seek ran.
    #[cfg(test)]
    pub fn replayed(&self) -> u64 {
        self.replayed
    }
}

#[cfg(test)]
#[path = "jumps_tests.rs"]
mod jumps_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::NodeId;

    fn session() -> Session {
        let s = Scenario::parse(crate::templates::DEFAULT_SCENARIO)
            .expect("the default scenario is valid");
        Session::new(s).expect("it builds")
    }

    #[test]
    fn time_moves_only_while_playing() {
        let mut p = session();
        p.advance(16.0);
        let t1 = p.world.now_us();
        assert_eq!(t1, 16_000);
        p.toggle();
        p.advance(16.0);
        assert_eq!(p.world.now_us(), t1, "paused: time stands still");
        p.toggle();
        p.advance(16.0);
        assert!(p.world.now_us() > t1);
    }

    #[test]
    fn restarting_with_settings_moves_them_to_time_zero_and_keeps_faults_in_place() {
        let mut p = session();
        p.set_speed(100.0);
        for _ in 0..20 {
            p.advance(100.0);
        }
        let t = p.world.now_us();
        assert!(t > 0);
        p.intervene(Action::Crash(NodeId(1)));
        p.intervene(Action::Set {
            node: NodeId(0),
            param: "timeout_ms".into(),
            value: serde_json::json!(123),
        });
        p.restart_with_settings();
        assert_eq!(p.world.now_us(), 0);
        let times: Vec<u64> = p.user.iter().map(|(at, _)| *at).collect();
        assert_eq!(times, vec![0, t]);
        assert!(matches!(p.user[0].1, Action::Set { .. }));
        // The setting is in force from the first event on: the run records it at time zero.
        let rec = p.recorded();
        assert!(rec.interventions.iter().any(|i| matches!(i,
            Intervention::Set { at_ms, param, .. } if *at_ms == 0.0 && param == "timeout_ms")));
    }

    #[test]
    fn a_long_frame_is_capped() {
        let mut p = session();
        p.advance(60_000.0);
        assert_eq!(p.world.now_us(), (MAX_FRAME_MS * 1000.0) as u64);
    }

    #[test]
    fn playback_stops_at_the_end_of_the_run() {
        let mut p = session();
        p.set_speed(100.0);
        for _ in 0..10_000 {
            p.advance(100.0);
        }
        assert_eq!(p.world.now_us(), p.end_us());
        assert!(!p.playing);
        p.toggle();
        assert!(!p.playing, "cannot play past the end");
    }

    #[test]
    fn seeking_back_and_forth_replays_the_same_run() {
        let mut p = session();
        p.seek(20_000_000);
        let hash = p.world.trace().hash();
        let events = p.world.events();
        assert!(p.snapshots() > 2, "snapshots were taken on the way");
        p.seek(3_500_000);
        assert_eq!(p.world.now_us(), 3_500_000);
        p.seek(20_000_000);
        assert_eq!((p.world.trace().hash(), p.world.events()), (hash, events));
    }

    #[test]
    fn a_quiet_day_costs_a_few_snapshots_and_seeks_into_it_replay_the_same_run() {
        // Stripe's day: a request at 0 and one at 25 h, nothing in between. Seeking to the end
        // crosses the quiet hours in one slice each and snapshots only where events happened.
        let s = Scenario::parse(
            r#"{"version": 1, "duration_ms": 93600000, "nodes": [
                {"id": "c", "model": {"type": "client", "target": "s",
                  "workload": {"type": "at", "times_ms": [0, 90000000]}}},
                {"id": "s", "model": {"type": "service"}}],
              "links": [{"a": "c", "b": "s"}]}"#,
        )
        .unwrap();
        let mut p = Session::new(s).unwrap();
        p.seek(p.end_us());
        let (hash, events) = (p.world.trace().hash(), p.world.events());
        assert!(p.snapshots() <= 4, "{} snapshots", p.snapshots());
        p.seek(50_000_000_000);
        assert_eq!(p.world.now_us(), 50_000_000_000);
        p.seek(p.end_us());
        assert_eq!((p.world.trace().hash(), p.world.events()), (hash, events));
    }

    #[test]
    fn an_intervention_in_the_past_forks_and_replays_from_a_link() {
        let mut p = session();
        let (client, server) = (NodeId(0), NodeId(1));
        p.seek(10_000_000);
        p.intervene(Action::Crash(server));
        p.seek(20_000_000);
        let unchanged = p.world.trace().hash();
        // Back in time, a different intervention: the old future is gone.
        p.seek(5_000_000);
        p.intervene(Action::Cut {
            a: client,
            b: server,
            one_way: false,
        });
        assert_eq!(
            p.user.len(),
            1,
            "the later crash belonged to the discarded future"
        );
        p.seek(20_000_000);
        assert_ne!(p.world.trace().hash(), unchanged);
        // The recorded scenario, replayed from scratch, gives exactly the same trace.
        let mut replay = p
            .recorded()
            .build(None)
            .expect("the recorded scenario is valid");
        replay.run_until(20_000_000, u64::MAX);
        assert_eq!(replay.trace().hash(), p.world.trace().hash());
        assert_eq!(replay.events(), p.world.events());
    }

    #[test]
    fn an_intervention_while_paused_at_zero_is_kept_by_seeks() {
        let mut p = session();
        p.toggle();
        p.intervene(Action::Crash(NodeId(1)));
        p.seek(3_000_000);
        p.seek(0);
        p.seek(3_000_000);
        let m = p.world.metrics(NodeId(0));
        assert_eq!(m.successes, 0, "the server was down from the start");
    }

    /// A benchmark, not a test (it asserts no time): how long jumps take natively in a
    /// 10-minute and a 1-hour run, and what they replay. Run:
    /// `cargo test --release -p faultline-web seek_benchmark -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn seek_benchmark() {
        for minutes in [10u64, 60] {
            let mut s = Scenario::parse(crate::templates::DEFAULT_SCENARIO).expect("valid");
            s.duration_ms = (minutes * 60_000) as f64;
            let end = minutes * 60_000_000;
            let mut p = Session::new(s).expect("builds");
            p.seek(end);
            let mut rng = faultline_core::rng::SimRng::new(9, faultline_core::rng::Stream::World);
            let timed = |p: &mut Session, t: u64| {
                let start = std::time::Instant::now();
                p.seek(t);
                (start.elapsed(), p.replayed())
            };
            let to_start = timed(&mut p, 0);
            p.seek(end);
            let to_middle = timed(&mut p, end / 2);
            let to_end = timed(&mut p, end);
            let mut worst = (std::time::Duration::ZERO, 0);
            for _ in 0..200 {
                let t = rng.below(end);
                worst = worst.max(timed(&mut p, t));
            }
            let (n, bytes, gap) = (
                p.snaps().len(),
                p.snaps().bytes(),
                p.snaps().max_gap_events(),
            );
            println!(
                "{minutes}-minute run, {} events: (time, events replayed) to start {to_start:?}, back to middle {to_middle:?}, forward to end {to_end:?}, worst of 200 random {worst:?}; {n} snapshots, {:.1} MB, longest gap {gap} events",
                p.world.events(),
                bytes as f64 / 1e6
            );
        }
    }
}
