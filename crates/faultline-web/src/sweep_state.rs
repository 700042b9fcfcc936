//! The Sweep panel's state: the current scenario (with the learner's interventions) run over
//! seeds 1 to N, a slice per animation frame, and its summary as the core computes it.
//!
//! Plain Rust, unit-tested natively. The runs and the summary are the core's
//! ([`faultline_core::sweep`]), so the panel's numbers are `faultline sweep FILE --seeds 1..N
//! --figure F`'s.
//!
//! The compromise: the sweep runs on the page's own thread, [`EVENTS_PER_FRAME`] engine events
//! per animation frame (a few milliseconds), not in a Web Worker. The page stays responsive (a
//! frame still has most of its 16.7 ms for drawing and input), but a sweep runs at a fraction of
//! the speed a worker would give it, and not at all in a background tab. A worker needs a second
//! wasm binary built by Trunk and a message protocol; it is the next step.

use std::rc::Rc;

use faultline_core::chaos::Chaos;
use faultline_core::scenario::Scenario;
use faultline_core::share::Link;

use crate::state::Effect;
use faultline_core::sweep::{Bin, Figure, SeedRun, SeedRunner, Summary, histogram, summarize};

/// Engine events a sweep may run per animation frame.
pub const EVENTS_PER_FRAME: u64 = 15_000;
/// What building a seed's world and reading its report cost, counted as events.
const EVENTS_PER_SEED: u64 = 500;
/// The most seeds the page sweeps.
pub const MAX_SEEDS: u64 = 1_000;
/// Bars of the histogram.
pub const BINS: usize = 20;

/// What a learner can do in the Sweep panel.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepAct {
    /// The number of seeds as typed.
    Seeds(String),
    /// The figure as typed.
    Figure(String),
    /// Run the sweep.
    Start,
    /// Stop it (what ran so far is kept).
    Cancel,
    /// Open a seed's run at a moment (virtual microseconds).
    Open(u64, u64),
    /// Chaos on or off for the run on screen (and so for the next sweep).
    Chaos(bool),
}

/// A sweep under way.
pub struct Job {
    scenario: Scenario,
    figure: Figure,
    next: u64,
    last: u64,
    runner: Option<SeedRunner>,
    runs: Vec<SeedRun>,
}

impl Job {
    /// Seeds 1 to `n` of `scenario`.
    pub fn new(scenario: Scenario, figure: Figure, n: u64) -> Job {
        Job {
            scenario,
            figure,
            next: 1,
            last: n.clamp(1, MAX_SEEDS),
            runner: None,
            runs: Vec::new(),
        }
    }

    /// Runs about `budget` events' worth; returns whether every seed is done.
    pub fn work(&mut self, budget: u64) -> Result<bool, String> {
        let mut left = budget;
        loop {
            if self.runner.is_none() {
                if self.next > self.last {
                    return Ok(true);
                }
                self.runner = Some(SeedRunner::new(&self.scenario, &self.figure, self.next)?);
                self.next += 1;
                left = left.saturating_sub(EVENTS_PER_SEED);
            }
            let r = self.runner.as_mut().expect("set above");
            let before = r.events();
            let done = r.advance(left.max(1));
            left = left.saturating_sub((r.events() - before).max(1));
            if let Some(run) = done {
                self.runs.push(run);
                self.runner = None;
                left = left.saturating_sub(EVENTS_PER_SEED);
            }
            if left == 0 {
                return Ok(self.runner.is_none() && self.next > self.last);
            }
        }
    }

    /// Seeds finished, and seeds in all.
    pub fn progress(&self) -> (u64, u64) {
        (self.runs.len() as u64, self.last)
    }

    /// The summary of the seeds finished so far.
    pub fn summary(&self) -> Summary {
        summarize(&self.figure, &self.runs)
    }

    /// The histogram of the seeds finished so far.
    pub fn histogram(&self) -> Vec<Bin> {
        histogram(&self.runs, BINS)
    }
}

/// What the panel draws.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SweepView {
    /// The number of seeds as typed.
    pub seeds_text: String,
    /// The figure as typed (empty: the default).
    pub figure_text: String,
    /// Figures to suggest for this scenario.
    pub suggestions: Rc<Vec<String>>,
    /// Whether the run on screen has a chaos schedule.
    pub chaos: bool,
    /// Seeds done and in all, while running.
    pub running: Option<(u64, u64)>,
    /// The latest summary (partial while running, or after a cancel).
    pub summary: Option<Rc<Summary>>,
    /// Its histogram.
    pub bins: Rc<Vec<Bin>>,
    /// The run was cancelled after this many seeds.
    pub cancelled: bool,
    /// What went wrong, for people.
    pub error: Option<String>,
}

/// The panel's state, kept in the page.
#[derive(Default)]
pub struct Sweep {
    /// The sweep under way.
    pub job: Option<Job>,
    /// What the panel draws.
    pub view: Rc<SweepView>,
    /// The nodes the suggestions were made for.
    followed: Vec<String>,
}

/// Figures a scenario offers: the first client's report figures, every node's counters as
/// `node.counter`, and the time to a new leader for a Raft cluster.
pub fn suggestions(s: &Scenario) -> Vec<String> {
    let Ok(world) = s.build(None) else {
        return Vec::new();
    };
    let report = faultline_core::report::Report::of(&world);
    let mut out = Vec::new();
    if let Some(c) = report.nodes.iter().find(|n| n.kind == "client") {
        for v in ["p99_ms", "p50_ms", "success_rate", "error_rate", "max_ms"] {
            out.push(format!("{}.{v}", c.id));
        }
    }
    if report.nodes.iter().any(|n| n.kind == "raft") {
        out.push(faultline_core::sweep::TIME_TO_NEW_LEADER.into());
    }
    for n in &report.nodes {
        for c in n.counters.keys() {
            out.push(format!("{}.{c}", n.id));
        }
    }
    out.truncate(200);
    out
}

/// The scenario with the chaos toggle's schedule on or off.
pub fn with_chaos(s: &Scenario, on: bool) -> Result<Scenario, String> {
    let mut next = s.clone();
    next.chaos = if on {
        Some(Chaos::default_for(s).ok_or("this scenario has nothing chaos could break")?)
    } else {
        None
    };
    next.validate().map_err(|e| e.to_string())?;
    Ok(next)
}

impl Sweep {
    fn set(&mut self, f: impl FnOnce(&mut SweepView)) {
        let mut v = (*self.view).clone();
        f(&mut v);
        self.view = Rc::new(v);
    }

    /// Follows the scenario on screen: its figures (rebuilt only when its nodes change), and
    /// whether it has chaos.
    pub fn follow(&mut self, s: &Scenario) {
        let chaos = s.chaos.is_some();
        let key: Vec<String> = s
            .nodes
            .iter()
            .map(|n| format!("{}:{:?}", n.id, n.model.kind()))
            .collect();
        if self.followed != key {
            let suggestions = Rc::new(suggestions(s));
            self.followed = key;
            self.set(|v| v.suggestions = suggestions);
        }
        if self.view.chaos != chaos {
            self.set(|v| v.chaos = chaos);
        }
    }

    /// Starts a sweep of `s` with the panel's seeds and figure.
    pub fn start(&mut self, s: &Scenario) {
        let n = match self.view.seeds_text.trim() {
            "" => Ok(100),
            t => t
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_SEEDS).contains(n))
                .ok_or(format!(
                    "'{t}' is not a number of seeds from 1 to {MAX_SEEDS}"
                )),
        };
        let figure = match self.view.figure_text.trim() {
            "" => Figure::default_for(s),
            t => Figure::parse(t, s),
        };
        match (n, figure) {
            (Ok(n), Ok(figure)) => {
                self.job = Some(Job::new(s.clone(), figure, n));
                self.set(|v| {
                    v.running = Some((0, n));
                    v.summary = None;
                    v.bins = Rc::new(Vec::new());
                    v.cancelled = false;
                    v.error = None;
                });
            }
            (Err(e), _) | (_, Err(e)) => self.set(|v| v.error = Some(e)),
        }
    }

    /// Stops the sweep, keeping what ran.
    pub fn cancel(&mut self) {
        if self.job.take().is_some() {
            self.set(|v| {
                v.running = None;
                v.cancelled = true;
            });
        }
    }

    /// Works on the sweep for one frame; returns whether it changed what the panel draws.
    pub fn frame(&mut self) -> bool {
        let Some(job) = &mut self.job else {
            return false;
        };
        let before = job.progress().0;
        let result = job.work(EVENTS_PER_FRAME);
        let (done, all) = job.progress();
        // The summary is re-read when a seed finished, not every frame.
        let fresh = (done != before).then(|| (Rc::new(job.summary()), Rc::new(job.histogram())));
        let finished = !matches!(result, Ok(false));
        if finished {
            self.job = None;
        }
        self.set(|v| {
            v.running = (!finished).then_some((done, all));
            if let Some((s, b)) = fresh {
                v.summary = Some(s);
                v.bins = b;
            }
            if let Err(e) = result {
                v.error = Some(e);
            }
        });
        true
    }

    /// Applies a typed field.
    pub fn edit(&mut self, act: &SweepAct) {
        match act {
            SweepAct::Seeds(t) => {
                let t: String = t.chars().take(20).collect();
                self.set(|v| v.seeds_text = t)
            }
            SweepAct::Figure(t) => {
                let t: String = t.chars().take(100).collect();
                self.set(|v| v.figure_text = t)
            }
            _ => {}
        }
    }
}

impl crate::state::Page {
    /// Carries out an act of the Sweep panel.
    pub(crate) fn sweep_act(&mut self, act: SweepAct, fx: &mut Vec<Effect>) {
        let Ok(s) = &self.session else { return };
        match act {
            SweepAct::Seeds(_) | SweepAct::Figure(_) => self.sweep.edit(&act),
            SweepAct::Start => {
                let scenario = s.recorded();
                self.sweep.start(&scenario);
                if let Some((_, n)) = self.sweep.view.running {
                    self.announce = format!("Sweeping {n} seeds.");
                }
            }
            SweepAct::Cancel => {
                self.sweep.cancel();
                self.announce = "Sweep cancelled.".into();
            }
            SweepAct::Chaos(on) => match with_chaos(&s.recorded(), on) {
                Ok(next) => {
                    let at_us = s.world.now_us();
                    self.load(next);
                    if let Ok(s) = &mut self.session {
                        s.seek(at_us);
                    }
                    self.announce = if on {
                        "Chaos on: random crashes and cuts, drawn from the seed; the run starts again."
                    } else {
                        "Chaos off: the run starts again without it."
                    }
                    .into();
                }
                Err(e) => self.error = Some(e),
            },
            SweepAct::Open(seed, at_us) => {
                let mut scenario = s.recorded();
                scenario.seed = seed;
                let at_us = at_us.min(scenario.duration_us());
                let lesson = self.lesson_at();
                let view = self.link_view();
                self.open_link(
                    Link {
                        scenario,
                        at_ms: at_us as f64 / 1000.0,
                        lesson,
                        view,
                    },
                    fx,
                );
                self.announce = format!(
                    "Seed {seed} is open, paused at t = {}.",
                    faultline_core::fmt_time(at_us)
                );
            }
        }
    }

    /// Keeps the panel's figure suggestions for the scenario on screen.
    pub(crate) fn sweep_follow(&mut self) {
        if let Ok(s) = &self.session {
            self.sweep.follow(&s.scenario);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::sweep::run_seed;

    fn raft_chaos() -> Scenario {
        Scenario::parse(include_str!("../../../tests/scenarios/raft-chaos.json")).unwrap()
    }

    #[test]
    fn a_sweep_in_slices_gives_the_clis_numbers() {
        let s = raft_chaos();
        let figure = Figure::parse("time_to_new_leader_ms", &s).unwrap();
        let mut job = Job::new(s.clone(), figure.clone(), 6);
        let mut frames = 0;
        while !job.work(3_000).unwrap() {
            frames += 1;
            assert!(frames < 10_000, "the sweep ends");
        }
        assert!(
            frames > 6,
            "small budgets split the seeds over frames: {frames}"
        );
        let whole: Vec<_> = (1..=6).map(|k| run_seed(&s, &figure, k).unwrap()).collect();
        assert_eq!(job.summary(), summarize(&figure, &whole));
        assert_eq!(job.progress(), (6, 6));
    }

    #[test]
    fn the_panel_runs_cancels_and_refuses_bad_input() {
        let s = raft_chaos();
        let mut sw = Sweep::default();
        sw.edit(&SweepAct::Seeds("5000".into()));
        sw.start(&s);
        assert!(sw.job.is_none());
        assert!(sw.view.error.as_ref().unwrap().contains("from 1 to 1000"));
        sw.edit(&SweepAct::Seeds("3".into()));
        sw.edit(&SweepAct::Figure("n9.p99_ms".into()));
        sw.start(&s);
        assert!(sw.view.error.as_ref().unwrap().contains("n9"));
        sw.edit(&SweepAct::Figure("".into()));
        sw.start(&s);
        assert_eq!(sw.view.running, Some((0, 3)));
        assert!(sw.frame());
        sw.cancel();
        assert!(sw.view.cancelled && sw.view.running.is_none());
        assert!(!sw.frame(), "nothing runs after a cancel");
        sw.start(&s);
        while sw.view.running.is_some() {
            sw.frame();
        }
        let summary = sw.view.summary.clone().unwrap();
        assert_eq!(summary.seeds, 3);
        assert_eq!(summary.figure, "time_to_new_leader_ms");
    }

    #[test]
    fn the_chaos_toggle_adds_and_removes_a_schedule() {
        let calm = Scenario::parse(include_str!("../../../tests/scenarios/raft.json")).unwrap();
        let wild = with_chaos(&calm, true).unwrap();
        assert!(wild.chaos.is_some());
        assert_eq!(with_chaos(&wild, false).unwrap(), calm);
        assert!(suggestions(&calm).contains(&"time_to_new_leader_ms".to_string()));
    }
}
