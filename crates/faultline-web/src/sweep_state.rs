//! The Sweep panel's state: the current scenario (with the learner's interventions) run over
//! seeds 1 to N in the sweep's Web Worker, and its summary as the core computes it.
//!
//! Plain Rust, unit-tested natively. The runs and the summary are the core's
//! ([`faultline_core::sweep`]), so the panel's numbers are `faultline sweep FILE --seeds 1..N
//! --figure F`'s.
//!
//! A sweep runs in a Web Worker (`faultline-worker`, a second wasm binary started only when a
//! sweep starts): the page asks for it with [`Effect::StartWorker`], sends the request once
//! the worker says it is ready, and sums up the runs it sends back ([`Action::SweepWorker`]).
//! Cancelling terminates the worker. When no worker can start (a host that does not serve its
//! files, a browser that refuses workers, a worker from another release) the sweep goes on
//! from the next seed on the page's own thread, [`EVENTS_PER_FRAME`] engine events per
//! animation frame, and the panel says so: slower, and paused in a background tab.
//!
//! [`Action::SweepWorker`]: crate::action::Action::SweepWorker

use std::rc::Rc;

use faultline_core::chaos::Chaos;
use faultline_core::scenario::Scenario;
use faultline_core::share::{Link, LinkView, SweepAt};
use faultline_worker::{PROTOCOL, Reply, Request};

use crate::state::Effect;
use faultline_core::sweep::{Bin, Figure, SeedRun, SeedRunner, Summary, histogram, summarize};

/// Engine events a sweep on the page's thread may run per animation frame.
pub const EVENTS_PER_FRAME: u64 = 15_000;
/// What building a seed's world and reading its report cost, counted as events.
const EVENTS_PER_SEED: u64 = 500;
/// The most seeds the page sweeps.
pub const MAX_SEEDS: u64 = faultline_core::share::MAX_SWEEP_SEEDS;
/// Bars of the histogram.
pub const BINS: usize = 20;
/// How long a worker may take to say it is ready, in milliseconds of frames, before the sweep
/// runs on the page's thread instead (a worker whose wasm fails to load never says so).
pub const READY_TIMEOUT_MS: f64 = 10_000.0;

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
    /// Copy a link that opens this sweep (its scenario, seeds and figure) and runs it.
    CopyLink,
}

/// What the sweep's worker did, as the browser saw it.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkerEvent {
    /// It sent this text (a [`Reply`]).
    Message(String),
    /// It could not start, or it stopped with an error; why, for people.
    Failed(String),
}

/// Where a sweep runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Runner {
    /// In the worker with this number.
    Worker {
        /// The worker's number (a message from an older one is ignored).
        id: u64,
        /// It said it is ready and has the request.
        ready: bool,
        /// The first frame's time after it was started, for [`READY_TIMEOUT_MS`].
        since_ms: Option<f64>,
    },
    /// On the page's thread, a slice per frame.
    Thread,
}

/// A sweep under way.
pub struct Job {
    scenario: Scenario,
    figure: Figure,
    next: u64,
    last: u64,
    runner: Option<SeedRunner>,
    runs: Vec<SeedRun>,
    /// Where it runs.
    pub on: Runner,
}

impl Job {
    /// Seeds 1 to `n` of `scenario`, on the page's thread.
    pub fn new(scenario: Scenario, figure: Figure, n: u64) -> Job {
        Job {
            scenario,
            figure,
            next: 1,
            last: n.clamp(1, MAX_SEEDS),
            runner: None,
            runs: Vec::new(),
            on: Runner::Thread,
        }
    }

    /// The worker's request: the seeds not run yet.
    pub fn request(&self) -> String {
        Request {
            scenario: self.scenario.clone(),
            figure: self.figure.name(),
            first: self.next,
            last: self.last,
        }
        .to_text()
    }

    /// Takes a worker's runs: each must be the next seed's (a run out of order or twice is
    /// dropped, so a confused worker cannot skew the numbers). Returns whether every seed is
    /// done.
    pub fn take_runs(&mut self, runs: Vec<SeedRun>) -> bool {
        for run in runs {
            if run.seed == self.next && self.next <= self.last {
                self.runs.push(run);
                self.next += 1;
            }
        }
        self.next > self.last
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
    /// Why the sweep runs on the page's thread rather than in a worker, when it does.
    pub on_thread: Option<String>,
    /// The latest summary (partial while running, or after a cancel).
    pub summary: Option<Rc<Summary>>,
    /// Its histogram.
    pub bins: Rc<Vec<Bin>>,
    /// The run was cancelled after this many seeds.
    pub cancelled: bool,
    /// What went wrong, for people.
    pub error: Option<String>,
    /// The sweep's link, once copied (shown for copying by hand).
    pub link: Option<String>,
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
    /// Workers started so far (each sweep's worker has the next number).
    workers: u64,
    /// The last sweep started: its scenario and settings, for its link.
    last: Option<(Scenario, SweepAt)>,
    /// The last sweep that ended (finished, cancelled or stopped): its scenario as
    /// [`same_run`] keys it, and its summary, which a lesson goal on a sweep is judged on.
    swept: Option<(Scenario, Rc<Summary>)>,
}

/// A scenario with its seed and layout cleared: a sweep of one counts for every seed of it,
/// wherever its nodes are drawn.
fn same_run(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    s.seed = 0;
    s.view = Default::default();
    s
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

    /// Whether a sweep runs on the page's thread (and so needs animation frames).
    pub fn on_thread(&self) -> bool {
        self.job.as_ref().is_some_and(|j| j.on == Runner::Thread)
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

    /// Starts a sweep of `s` with the panel's seeds and figure, in a new worker.
    pub fn start(&mut self, s: &Scenario, fx: &mut Vec<Effect>) {
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
                if self.job.is_some() {
                    fx.push(Effect::StopWorker);
                }
                self.workers += 1;
                let id = self.workers;
                let mut job = Job::new(s.clone(), figure, n);
                job.on = Runner::Worker {
                    id,
                    ready: false,
                    since_ms: None,
                };
                self.job = Some(job);
                self.last = Some((
                    s.clone(),
                    SweepAt {
                        seeds: n,
                        figure: self.view.figure_text.trim().to_string(),
                    },
                ));
                fx.push(Effect::StartWorker(id));
                self.set(|v| {
                    v.running = Some((0, n));
                    v.on_thread = None;
                    v.summary = None;
                    v.bins = Rc::new(Vec::new());
                    v.cancelled = false;
                    v.error = None;
                    v.link = None;
                });
            }
            (Err(e), _) | (_, Err(e)) => self.set(|v| v.error = Some(e)),
        }
    }

    /// Stops the sweep, keeping what ran.
    pub fn cancel(&mut self, fx: &mut Vec<Effect>) {
        if let Some(job) = self.job.take() {
            if job.on != Runner::Thread {
                fx.push(Effect::StopWorker);
            }
            self.swept = Some((same_run(&job.scenario), Rc::new(job.summary())));
            self.set(|v| {
                v.running = None;
                v.cancelled = true;
            });
        }
    }

    /// Re-reads the job's progress and summary into the view; `finished` ends the job.
    fn show(&mut self, finished: bool, error: Option<String>) {
        let Some(job) = &self.job else { return };
        let (done, all) = job.progress();
        let fresh = (Rc::new(job.summary()), Rc::new(job.histogram()));
        if finished {
            self.swept = Some((same_run(&job.scenario), fresh.0.clone()));
            self.job = None;
        }
        self.set(|v| {
            v.running = (!finished).then_some((done, all));
            (v.summary, v.bins) = (Some(fresh.0), fresh.1);
            if let Some(e) = error {
                v.error = Some(e);
            }
        });
    }

    /// The sweep stops with an error, keeping what ran.
    fn fail(&mut self, why: String, fx: &mut Vec<Effect>) {
        fx.push(Effect::StopWorker);
        if self.job.as_ref().is_some_and(|j| !j.runs.is_empty()) {
            self.show(true, Some(why));
        } else {
            self.job = None;
            self.set(|v| {
                v.running = None;
                v.error = Some(why);
            });
        }
    }

    /// No worker: the sweep goes on from its next seed on the page's thread.
    fn move_to_thread(&mut self, why: &str, fx: &mut Vec<Effect>) {
        fx.push(Effect::StopWorker);
        if let Some(job) = &mut self.job {
            job.on = Runner::Thread;
            let note = format!(
                "No background worker could start ({why}), so this sweep runs on the page's own \
                 thread: slower, and paused while the tab is hidden."
            );
            self.set(|v| v.on_thread = Some(note));
        }
    }

    /// What the worker with number `id` did.
    pub fn worker(&mut self, id: u64, event: WorkerEvent, fx: &mut Vec<Effect>) {
        let Some(job) = &mut self.job else { return };
        let Runner::Worker {
            id: current, ready, ..
        } = &mut job.on
        else {
            return;
        };
        if *current != id {
            return; // a worker already stopped
        }
        match event {
            WorkerEvent::Failed(why) if !*ready => self.move_to_thread(&why, fx),
            WorkerEvent::Failed(why) => self.fail(format!("The sweep's worker stopped: {why}"), fx),
            WorkerEvent::Message(text) => match Reply::parse(&text) {
                Ok(Reply::Ready { protocol }) if protocol == PROTOCOL => {
                    *ready = true;
                    fx.push(Effect::PostToWorker(id, job.request()));
                }
                Ok(Reply::Ready { protocol }) => self.move_to_thread(
                    &format!(
                        "the worker speaks protocol {protocol} and this page {PROTOCOL}: reload the page"
                    ),
                    fx,
                ),
                Ok(Reply::Runs { runs }) => {
                    let finished = job.take_runs(runs);
                    if finished {
                        fx.push(Effect::StopWorker);
                    }
                    self.show(finished, None);
                }
                Ok(Reply::Failed { error }) => self.fail(error, fx),
                Err(e) => self.fail(format!("The sweep stopped: {e}"), fx),
            },
        }
    }

    /// Works on the sweep for one frame at `ts` (milliseconds): a slice of seeds on the page's
    /// thread, or the worker's time to say it is ready. Returns whether it changed what the
    /// panel draws.
    pub fn frame(&mut self, ts: f64, fx: &mut Vec<Effect>) -> bool {
        let Some(job) = &mut self.job else {
            return false;
        };
        if let Runner::Worker {
            ready, since_ms, ..
        } = &mut job.on
        {
            let since = *since_ms.get_or_insert(ts);
            if *ready || ts - since < READY_TIMEOUT_MS {
                return false;
            }
            self.move_to_thread("it did not answer within 10 s", fx);
            return true;
        }
        let before = job.progress().0;
        let result = job.work(EVENTS_PER_FRAME);
        let done = job.progress().0;
        let finished = !matches!(result, Ok(false));
        // The summary is re-read when a seed finished, not every frame.
        if done != before || finished {
            self.show(finished, result.err());
        } else {
            let all = job.progress().1;
            self.set(|v| v.running = Some((done, all)));
        }
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
                let t: String = t
                    .chars()
                    .take(faultline_core::share::MAX_FIGURE_CHARS)
                    .collect();
                self.set(|v| v.figure_text = t)
            }
            _ => {}
        }
    }

    /// Shows a link's sweep in the panel and runs it on `s` (the link's scenario).
    pub fn run_link(&mut self, at: &SweepAt, s: &Scenario, fx: &mut Vec<Effect>) {
        self.settings(at);
        self.start(s, fx);
        fx.push(Effect::Reveal("sweep-title"));
    }

    /// Puts a link's seeds and figure in the panel's fields.
    fn settings(&mut self, at: &SweepAt) {
        let (seeds, figure) = (at.seeds.to_string(), at.figure.clone());
        self.set(|v| {
            v.seeds_text = seeds;
            v.figure_text = figure;
        });
    }

    /// The summary of the last sweep that ended, if it swept `s` (any seed, any layout).
    pub fn swept(&self, s: &Scenario) -> Option<Summary> {
        let (key, summary) = self.swept.as_ref()?;
        (*key == same_run(s)).then(|| (**summary).clone())
    }

    /// The last sweep's link: its scenario from time zero, its seeds and figure.
    pub fn link(&self, view: LinkView) -> Option<Link> {
        let (scenario, at) = self.last.clone()?;
        Some(Link {
            scenario,
            at_ms: 0.0,
            lesson: None,
            view: LinkView {
                sweep: Some(at),
                ..view
            },
        })
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
                self.sweep.start(&scenario, fx);
                if let Some((_, n)) = self.sweep.view.running {
                    self.announce = format!("Sweeping {n} seeds.");
                }
            }
            SweepAct::Cancel => {
                self.sweep.cancel(fx);
                self.announce = "Sweep cancelled.".into();
                self.end_verdict = None;
            }
            SweepAct::CopyLink => {
                if let Some(link) = self.sweep.link(self.link_view()) {
                    let url = format!("{}#{}", self.base_url, link.encode());
                    fx.push(Effect::Clipboard(url.clone()));
                    self.sweep.set(|v| v.link = Some(url));
                    self.announce = "Sweep link copied.".into();
                }
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

    /// What the sweep's worker did; nothing else on the page changes, so nothing else is
    /// refreshed (a batch of runs arrives up to ten times a second).
    pub(crate) fn sweep_worker(&mut self, id: u64, event: WorkerEvent, fx: &mut Vec<Effect>) {
        let was = self.sweep.job.is_some();
        self.sweep.worker(id, event, fx);
        if was && self.sweep.job.is_none() {
            if self.sweep.view.error.is_none() {
                self.announce = "Sweep finished.".into();
            }
            self.sweep_ended(fx);
        }
    }

    /// One animation frame's work on a sweep on the page's thread.
    pub(crate) fn sweep_frame(&mut self, ts: f64, fx: &mut Vec<Effect>) {
        let was = self.sweep.job.is_some();
        self.sweep.frame(ts, fx);
        if was && self.sweep.job.is_none() {
            self.sweep_ended(fx);
        }
    }

    /// A sweep ended: a lesson goal on a sweep is judged again (at the run's end).
    fn sweep_ended(&mut self, fx: &mut Vec<Effect>) {
        self.end_verdict = None;
        self.judge_goal(fx);
    }

    /// Opens a link's sweep: the panel shows its settings and runs it on the link's scenario.
    pub(crate) fn sweep_from_link(&mut self, at: &SweepAt, fx: &mut Vec<Effect>) {
        if let Ok(s) = &self.session {
            let scenario = s.recorded();
            self.sweep.run_link(at, &scenario, fx);
            if self.sweep.view.running.is_some() {
                self.announce = format!("This link's sweep of {} seeds is running.", at.seeds);
            }
        }
    }

    /// `?bench=frames#LINK`: the frame benchmark measures while the link's sweep runs (its
    /// scenario is swept; the benchmark's stays on screen). `&thread=1` runs it on the page's
    /// thread, to measure what the worker saves.
    pub(crate) fn bench_sweep(&mut self, query: &str, hash: &str, fx: &mut Vec<Effect>) {
        let Ok(link) = Link::decode(hash) else { return };
        let Some(at) = &link.view.sweep else { return };
        self.sweep.settings(at);
        self.sweep.start(&link.scenario, fx);
        if crate::state::query_param(query, "thread").as_deref() == Some("1") {
            self.sweep
                .move_to_thread("the benchmark asked for the page's thread", fx);
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

    /// What the worker would say: `serve`'s replies as text, the way the browser hands them on.
    fn worker_replies(request: &str, tick: f64) -> Vec<String> {
        let mut out = Vec::new();
        let mut t = 0.0;
        faultline_worker::serve(request, &mut |r| out.push(r.to_text()), &mut || {
            t += tick;
            t
        });
        out
    }

    fn started(fx: &[Effect]) -> u64 {
        match fx.last() {
            Some(Effect::StartWorker(id)) => *id,
            other => panic!("no worker started: {other:?}"),
        }
    }

    #[test]
    fn a_sweep_in_the_worker_gives_the_clis_numbers() {
        let s = raft_chaos();
        let mut sw = Sweep::default();
        sw.edit(&SweepAct::Seeds("6".into()));
        sw.edit(&SweepAct::Figure("time_to_new_leader_ms".into()));
        let mut fx = Vec::new();
        sw.start(&s, &mut fx);
        let id = started(&fx);
        assert!(!sw.on_thread(), "the page's thread does not run it");
        assert!(
            !sw.frame(0.0, &mut fx),
            "nothing to do in a frame while the worker starts"
        );
        fx.clear();
        sw.worker(
            id,
            WorkerEvent::Message(Reply::Ready { protocol: PROTOCOL }.to_text()),
            &mut fx,
        );
        let Some(Effect::PostToWorker(to, request)) = fx.pop() else {
            panic!("the request is sent once the worker is ready")
        };
        assert_eq!(to, id);
        let replies = worker_replies(&request, 60.0);
        assert!(replies.len() > 1, "several batches");
        for (i, text) in replies.into_iter().enumerate() {
            // A message from an older worker changes nothing.
            sw.worker(id + 7, WorkerEvent::Message(text.clone()), &mut fx);
            sw.worker(id, WorkerEvent::Message(text), &mut fx);
            if i == 0 {
                let (done, all) = sw.view.running.unwrap();
                assert!(done > 0 && done < all, "progress: {done} of {all}");
            }
        }
        assert_eq!(sw.view.running, None, "finished");
        assert_eq!(fx.last(), Some(&Effect::StopWorker));
        let figure = Figure::parse("time_to_new_leader_ms", &s).unwrap();
        let whole: Vec<_> = (1..=6).map(|k| run_seed(&s, &figure, k).unwrap()).collect();
        assert_eq!(
            *sw.view.summary.clone().unwrap(),
            summarize(&figure, &whole)
        );
        assert_eq!(*sw.view.bins, histogram(&whole, BINS));
    }

    #[test]
    fn without_a_worker_the_sweep_goes_on_on_the_pages_thread() {
        let s = raft_chaos();
        let figure = Figure::default_for(&s).unwrap();
        let mut sw = Sweep::default();
        sw.edit(&SweepAct::Seeds("4".into()));
        let mut fx = Vec::new();
        sw.start(&s, &mut fx);
        let id = started(&fx);
        // A worker that dies after two seeds ends the sweep with what it sent.
        sw.worker(
            id,
            WorkerEvent::Message(Reply::Ready { protocol: PROTOCOL }.to_text()),
            &mut fx,
        );
        let one = Reply::Runs {
            runs: (1..=2).map(|k| run_seed(&s, &figure, k).unwrap()).collect(),
        };
        sw.worker(id, WorkerEvent::Message(one.to_text()), &mut fx);
        assert_eq!(sw.view.running, Some((2, 4)));
        sw.worker(id, WorkerEvent::Failed("out of memory".into()), &mut fx);
        assert!(sw.job.is_none(), "a worker that dies mid-sweep ends it");
        assert!(sw.view.error.as_ref().unwrap().contains("out of memory"));
        assert_eq!(
            sw.view.summary.as_ref().unwrap().seeds,
            2,
            "what ran is kept"
        );

        // A worker that cannot start: the page's thread runs every seed instead.
        sw.start(&s, &mut fx);
        let id = started(&fx);
        sw.worker(
            id,
            WorkerEvent::Failed("its script did not load".into()),
            &mut fx,
        );
        assert!(sw.on_thread());
        assert!(
            sw.view
                .on_thread
                .as_ref()
                .unwrap()
                .contains("its script did not load")
        );
        let mut frames = 0;
        while sw.view.running.is_some() {
            assert!(sw.frame(frames as f64 * 16.0, &mut fx));
            frames += 1;
            assert!(frames < 10_000, "the sweep ends");
        }
        let whole: Vec<_> = (1..=4).map(|k| run_seed(&s, &figure, k).unwrap()).collect();
        assert_eq!(
            *sw.view.summary.clone().unwrap(),
            summarize(&figure, &whole)
        );

        // A worker that never says it is ready is given up after READY_TIMEOUT_MS.
        sw.start(&s, &mut fx);
        assert!(!sw.frame(1_000.0, &mut fx));
        assert!(!sw.on_thread());
        assert!(sw.frame(1_000.0 + READY_TIMEOUT_MS, &mut fx));
        assert!(sw.on_thread());
        assert!(
            sw.view
                .on_thread
                .as_ref()
                .unwrap()
                .contains("did not answer")
        );
        // A worker from another release is not sent the sweep.
        sw.start(&s, &mut fx);
        let id = started(&fx);
        fx.clear();
        sw.worker(
            id,
            WorkerEvent::Message(
                Reply::Ready {
                    protocol: PROTOCOL + 1,
                }
                .to_text(),
            ),
            &mut fx,
        );
        assert!(sw.on_thread() && sw.view.on_thread.as_ref().unwrap().contains("reload"));
        assert_eq!(fx, vec![Effect::StopWorker]);
    }

    #[test]
    fn the_panel_runs_cancels_and_refuses_bad_input() {
        let s = raft_chaos();
        let mut sw = Sweep::default();
        let mut fx = Vec::new();
        sw.edit(&SweepAct::Seeds("5000".into()));
        sw.start(&s, &mut fx);
        assert!(sw.job.is_none() && fx.is_empty());
        assert!(sw.view.error.as_ref().unwrap().contains("from 1 to 1000"));
        sw.edit(&SweepAct::Seeds("3".into()));
        sw.edit(&SweepAct::Figure("n9.p99_ms".into()));
        sw.start(&s, &mut fx);
        assert!(sw.view.error.as_ref().unwrap().contains("n9"));
        sw.edit(&SweepAct::Figure("".into()));
        sw.start(&s, &mut fx);
        assert_eq!(sw.view.running, Some((0, 3)));
        sw.cancel(&mut fx);
        assert_eq!(
            fx.last(),
            Some(&Effect::StopWorker),
            "cancel stops the worker"
        );
        assert!(sw.view.cancelled && sw.view.running.is_none());
        let id = started(&fx[..fx.len() - 1]);
        let mut more = Vec::new();
        sw.worker(
            id,
            WorkerEvent::Message(Reply::Ready { protocol: PROTOCOL }.to_text()),
            &mut more,
        );
        assert!(
            more.is_empty(),
            "a cancelled sweep's worker is not answered"
        );
        // The worker's own refusal is said.
        sw.start(&s, &mut fx);
        let id = started(&fx);
        let no = Reply::Failed {
            error: "Seed 1 could not run: too big".into(),
        };
        sw.worker(id, WorkerEvent::Message(no.to_text()), &mut fx);
        assert!(sw.job.is_none() && sw.view.error.as_ref().unwrap().contains("too big"));
        sw.worker(id, WorkerEvent::Message("{garbage".into()), &mut fx);
    }

    #[test]
    fn a_sweeps_link_carries_its_scenario_seeds_and_figure() {
        let s = raft_chaos();
        let mut sw = Sweep::default();
        let mut fx = Vec::new();
        assert!(sw.link(LinkView::default()).is_none(), "no sweep, no link");
        let at = SweepAt {
            seeds: 25,
            figure: "time_to_new_leader_ms".into(),
        };
        sw.run_link(&at, &s, &mut fx);
        assert_eq!(sw.view.seeds_text, "25");
        assert_eq!(sw.view.running, Some((0, 25)));
        assert!(fx.contains(&Effect::Reveal("sweep-title")));
        let link = sw.link(LinkView::default()).unwrap();
        assert_eq!(link.view.sweep, Some(at));
        assert_eq!(link.scenario, s);
        assert_eq!(Link::decode(&link.encode()).unwrap(), link);
        // A link's figure the scenario does not have: a clear message, nothing runs.
        let mut sw = Sweep::default();
        let bad = SweepAt {
            seeds: 5,
            figure: "payments.duplicate_charges".into(),
        };
        sw.run_link(&bad, &s, &mut fx);
        assert!(sw.job.is_none());
        assert!(
            sw.view.error.as_ref().unwrap().contains("payments"),
            "{:?}",
            sw.view.error
        );
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
