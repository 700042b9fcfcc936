//! Seed sweeps: one scenario run over many seeds, a figure read at the end of each run and every
//! invariant watched along the way.
//!
//! A rare failure hides in a single run: the duplicate charge that needs an unlucky retry, the
//! split vote that needs two timers drawn close together. FoundationDB and TigerBeetle find
//! theirs by running their deterministic simulators over thousands of seeds with faults
//! injected and invariants checked (TigerBeetle's VOPR prints the failing seed, and that seed
//! replays the failure exactly). A sweep is that, for a learner: the share of seeds where each
//! invariant broke, the failing seeds with the moment of their first violation, and the
//! distribution of a figure (percentiles, a histogram).
//!
//! Everything here is a pure function of the scenario and the seeds, so the CLI (which runs
//! seeds on every core) and the page (which runs them a slice at a time) print the same numbers:
//! each seed's outcome is independent of the others, and [`summarize`] reads the outcomes in
//! seed order whatever order they finished in.

use serde::{Deserialize, Serialize};

use crate::lesson::{REPORT_VALUES, figure};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::trace::{Fault, TraceEvent, TraceKind};
use crate::world::{RunStatus, World};

/// The most seeds one sweep runs.
pub const MAX_SEEDS: u64 = 100_000;
/// The most failing (or halted) seeds a summary lists per property; the counts cover all.
pub const MAX_LISTED: usize = 1_000;
/// The most properties one run's outcome keeps (a scenario has a handful).
pub const MAX_PROPERTIES: usize = 64;
/// Engine events per slice of a run, between two drains of the trace: well under the ring's
/// size, so no event is evicted before the watchers read it.
pub const EVENTS_PER_SLICE: u64 = 20_000;
/// The run-wide figure: the longest time a Raft cluster went without a leader after losing one.
pub const TIME_TO_NEW_LEADER: &str = "time_to_new_leader_ms";
/// The property the payment service's duplicate charges break (its `Metric` events), as the
/// page's invariants panel names it.
pub const NO_DUPLICATE_CHARGE: &str = "no duplicate charge";

/// The figure a sweep reads at the end of each run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Figure {
    /// One node's report figure or counter (`web.p99_ms`, `payments.duplicate_charges`).
    Node {
        /// The node id.
        node: String,
        /// The figure, as lesson goals name it.
        value: String,
    },
    /// A counter summed over every node that keeps it (`stale_reads`).
    Sum {
        /// The counter.
        value: String,
    },
    /// [`TIME_TO_NEW_LEADER`]: a leader lost (crashed, paused or stepped down) and not replaced
    /// by the run's end counts until the end. No value when no leader was ever lost.
    TimeToNewLeader,
}

impl Figure {
    /// Reads a figure's name: `node.figure`, a bare report figure (the first client's), a bare
    /// counter (summed over the nodes that keep it) or [`TIME_TO_NEW_LEADER`]. The names are
    /// checked against the scenario's report before any run.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn parse(name: &str, s: &Scenario) -> Result<Figure, String> {
        let world = s.build(None).map_err(|e| e.to_string())?;
        let report = Report::of(&world);
        let counters =
            |n: &crate::report::NodeReport| -> Vec<String> { n.counters.keys().cloned().collect() };
        if name == TIME_TO_NEW_LEADER {
            return if report.nodes.iter().any(|n| n.kind == "raft") {
                Ok(Figure::TimeToNewLeader)
            } else {
                Err(format!(
                    "{TIME_TO_NEW_LEADER} needs Raft servers; this scenario has none"
                ))
            };
        }
        if let Some((node, value)) = name.split_once('.') {
            let n = report.nodes.iter().find(|n| n.id == node).ok_or_else(|| {
                let ids: Vec<&str> = report.nodes.iter().map(|n| n.id.as_str()).collect();
                format!("no node has the id '{node}' (nodes: {})", ids.join(", "))
            })?;
            if !REPORT_VALUES.contains(&value) && !n.counters.contains_key(value) {
                let mut known: Vec<String> = REPORT_VALUES.iter().map(|v| v.to_string()).collect();
                known.extend(counters(n));
                return Err(format!(
                    "{node} has no figure '{value}' (it has: {})",
                    known.join(", ")
                ));
            }
            return Ok(Figure::Node {
                node: node.into(),
                value: value.into(),
            });
        }
        if REPORT_VALUES.contains(&name) {
            let client = report
                .nodes
                .iter()
                .find(|n| n.kind == "client")
                .ok_or_else(|| {
                    format!("this scenario has no client: name the node, as NODE.{name}")
                })?;
            return Ok(Figure::Node {
                node: client.id.clone(),
                value: name.into(),
            });
        }
        if report.nodes.iter().any(|n| n.counters.contains_key(name)) {
            return Ok(Figure::Sum { value: name.into() });
        }
        let mut known: Vec<String> = report.nodes.iter().flat_map(counters).collect();
        crate::order::sort(&mut known);
        known.dedup();
        Err(format!(
            "unknown figure '{name}': a report figure ({}), {TIME_TO_NEW_LEADER}, NODE.FIGURE or \
             a counter ({})",
            REPORT_VALUES.join(", "),
            known.join(", ")
        ))
    }

    /// The figure a sweep reads when none is named: the first client's p99 latency, else (a
    /// Raft cluster) the time to a new leader, else the first counter of the first node.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn default_for(s: &Scenario) -> Result<Figure, String> {
        let world = s.build(None).map_err(|e| e.to_string())?;
        let report = Report::of(&world);
        if let Some(c) = report.nodes.iter().find(|n| n.kind == "client") {
            return Ok(Figure::Node {
                node: c.id.clone(),
                value: "p99_ms".into(),
            });
        }
        if report.nodes.iter().any(|n| n.kind == "raft") {
            return Ok(Figure::TimeToNewLeader);
        }
        report
            .nodes
            .iter()
            .find_map(|n| {
                n.counters.keys().next().map(|c| Figure::Node {
                    node: n.id.clone(),
                    value: c.clone(),
                })
            })
            .ok_or_else(|| "this scenario has no figure to read: name one".into())
    }

    /// The figure's name, as [`Figure::parse`] reads it.
    pub fn name(&self) -> String {
        match self {
            Figure::Node { node, value } => format!("{node}.{value}"),
            Figure::Sum { value } => value.clone(),
            Figure::TimeToNewLeader => TIME_TO_NEW_LEADER.into(),
        }
    }

    fn read(&self, report: &Report, leader: &LeaderWatch, end_us: u64) -> Option<f64> {
        match self {
            Figure::Node { node, value } => report
                .nodes
                .iter()
                .find(|n| &n.id == node)
                .and_then(|n| figure(n, value)),
            Figure::Sum { value } => {
                let mut vs = report.nodes.iter().filter_map(|n| n.counters.get(value));
                let first = vs.next()?;
                Some(vs.fold(*first as f64, |a, v| a + *v as f64))
            }
            Figure::TimeToNewLeader => leader.longest_gap_us(end_us).map(|us| us as f64 / 1000.0),
        }
    }
}

/// Who leads the Raft cluster and the longest leaderless stretch so far, from the trace: a
/// server's state lines "candidate -> leader, term N" and "leader -> follower, term N" (the
/// page's time line reads the same lines), and crashes and pauses of the leader.
#[derive(Clone, Debug, Default)]
struct LeaderWatch {
    leader: Option<crate::NodeId>,
    leaderless_since_us: Option<u64>,
    longest_us: Option<u64>,
}

impl LeaderWatch {
    fn observe(&mut self, e: &TraceEvent) {
        let lost = |w: &mut LeaderWatch| {
            w.leader = None;
            w.leaderless_since_us = Some(e.time_us);
        };
        match &e.kind {
            TraceKind::State { node, text } if text.starts_with("candidate -> leader") => {
                if let Some(since) = self.leaderless_since_us.take() {
                    let gap = e.time_us - since;
                    self.longest_us = Some(self.longest_us.map_or(gap, |l| l.max(gap)));
                }
                self.leader = Some(*node);
            }
            TraceKind::State { node, text }
                if text.starts_with("leader -> ") && self.leader == Some(*node) =>
            {
                lost(self)
            }
            TraceKind::Fault {
                fault: Fault::Crash { node } | Fault::Pause { node },
            } if self.leader == Some(*node) => lost(self),
            _ => {}
        }
    }

    fn longest_gap_us(&self, end_us: u64) -> Option<u64> {
        let open = self.leaderless_since_us.map(|s| end_us.saturating_sub(s));
        match (self.longest_us, open) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A property, as one row of a sweep's summary: its name, and the node that judged it for a
/// property of one node (`None` for a property of the whole run, such as Raft's safety).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Property {
    /// The property, for people: "one leader per term".
    pub name: String,
    /// The node it is about, for a per-node property.
    pub node: Option<String>,
}

/// The first violation of one property in one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The property.
    pub property: Property,
    /// When it first broke, in virtual microseconds.
    pub time_us: u64,
    /// Why, for people (the verdict's detail).
    pub detail: String,
}

/// What one seed's run gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// The figure at the end of the run; `None` when the run had none (no request completed).
    pub value: Option<f64>,
    /// Every property the run judged (held or not), sorted.
    pub properties: Vec<Property>,
    /// The first violation of each property that broke, in the order they broke.
    pub violations: Vec<Violation>,
    /// Why the run stopped early, if a limit stopped it.
    pub halted: Option<String>,
    /// The run's trace hash, hex: the seed replays exactly this run.
    pub trace_hash: String,
}

/// One seed's run, advanced a slice at a time (the page runs one between two frames).
pub struct SeedRunner {
    world: World,
    seed: u64,
    figure: Figure,
    until_us: u64,
    names: Vec<String>,
    leader: LeaderWatch,
    properties: Vec<Property>,
    violations: Vec<Violation>,
}

impl SeedRunner {
    /// Builds the run of `s` with `seed`.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn new(s: &Scenario, figure: &Figure, seed: u64) -> Result<SeedRunner, String> {
        let world = s.build(Some(seed)).map_err(|e| e.to_string())?;
        Ok(SeedRunner {
            names: world.names().to_vec(),
            world,
            seed,
            figure: figure.clone(),
            until_us: s.duration_us(),
            leader: LeaderWatch::default(),
            properties: Vec::new(),
            violations: Vec::new(),
        })
    }

    /// Events handled so far (a caller that shares a budget between seeds counts with it).
    pub fn events(&self) -> u64 {
        self.world.events()
    }

    /// Virtual time reached so far, in microseconds.
    pub fn time_us(&self) -> u64 {
        self.world.now_us()
    }

    /// Runs at most `max_events` more events (and no more than [`EVENTS_PER_SLICE`]); returns
    /// the outcome once the run is over.
    pub fn advance(&mut self, max_events: u64) -> Option<SeedRun> {
        let status = self
            .world
            .run_until(self.until_us, max_events.clamp(1, EVENTS_PER_SLICE));
        for e in self.world.trace_mut().drain() {
            self.observe(&e);
        }
        let halted = match status {
            RunStatus::Budget => return None,
            RunStatus::Halted(why) => Some(why),
            RunStatus::Reached | RunStatus::Idle => None,
        };
        let report = Report::of(&self.world);
        let mut properties = self.properties.clone();
        crate::order::sort(&mut properties);
        Some(SeedRun {
            seed: self.seed,
            value: self
                .figure
                .read(&report, &self.leader, self.world.now_us())
                .filter(|v| v.is_finite()),
            properties,
            violations: self.violations.clone(),
            halted,
            trace_hash: report.trace_hash,
        })
    }

    fn observe(&mut self, e: &TraceEvent) {
        self.leader.observe(e);
        let (node, name, holds, detail) = match &e.kind {
            TraceKind::Verdict {
                node,
                name,
                holds,
                detail,
            } => (*node, name.as_str(), *holds, detail.as_str()),
            TraceKind::Metric { node, name, .. } if name.starts_with("duplicate charge") => {
                (*node, NO_DUPLICATE_CHARGE, Some(false), name.as_str())
            }
            _ => return,
        };
        let property = Property {
            name: name.to_string(),
            node: (!crate::models::run_wide_verdict(name))
                .then(|| self.names.get(node.index()).cloned().unwrap_or_default()),
        };
        if !self.properties.contains(&property) {
            if self.properties.len() >= MAX_PROPERTIES {
                return;
            }
            self.properties.push(property.clone());
        }
        if holds == Some(false) && !self.violations.iter().any(|v| v.property == property) {
            self.violations.push(Violation {
                property,
                time_us: e.time_us,
                detail: detail.to_string(),
            });
        }
    }
}

/// Runs `s` with `seed` to its end.
pub fn run_seed(s: &Scenario, figure: &Figure, seed: u64) -> Result<SeedRun, String> {
    let mut r = SeedRunner::new(s, figure, seed)?;
    loop {
        if let Some(out) = r.advance(EVENTS_PER_SLICE) {
            return Ok(out);
        }
    }
}

/// Reads `A..B` (both included: `1..1000` is a thousand seeds), `A..=B`, or one seed `N`.
pub fn parse_seeds(text: &str) -> Result<(u64, u64), String> {
    let t = text.trim();
    let num = |x: &str| {
        x.trim()
            .parse::<u64>()
            .map_err(|_| format!("'{text}' is not a seed range (try 1..1000)"))
    };
    let (a, b) = match t.split_once("..") {
        Some((a, b)) => (num(a)?, num(b.strip_prefix('=').unwrap_or(b))?),
        None => (num(t)?, num(t)?),
    };
    if b < a {
        return Err(format!("'{text}': the range ends before it starts"));
    }
    if b - a >= MAX_SEEDS {
        return Err(format!("'{text}' is over the limit of {MAX_SEEDS} seeds"));
    }
    Ok((a, b))
}

/// The figure over the seeds that had it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// Seeds with a value.
    pub count: u64,
    /// The least value.
    pub min: f64,
    /// The median (nearest rank).
    pub p50: f64,
    /// The 90th percentile (nearest rank).
    pub p90: f64,
    /// The 99th percentile (nearest rank).
    pub p99: f64,
    /// The greatest value.
    pub max: f64,
    /// The mean.
    pub mean: f64,
}

/// A seed where a property broke, and when.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failing {
    /// The seed.
    pub seed: u64,
    /// The first violation's virtual time, in milliseconds.
    pub at_ms: f64,
    /// Why, for people.
    pub detail: String,
}

/// One property over the sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PropertySummary {
    /// The property.
    #[serde(flatten)]
    pub property: Property,
    /// Seeds whose run judged it at all.
    pub judged: u64,
    /// Seeds where it broke.
    pub broken: u64,
    /// `broken` over all the sweep's seeds, 0 to 1.
    pub share: f64,
    /// The failing seeds in seed order (the first [`MAX_LISTED`]).
    pub failing: Vec<Failing>,
}

/// A seed whose run a limit stopped early.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Halted {
    /// The seed.
    pub seed: u64,
    /// Why.
    pub why: String,
}

/// A whole sweep: what `faultline sweep --json` prints and the page's Sweep panel draws.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// The first and last seed run (the outcomes' least and greatest).
    pub seed_range: Option<(u64, u64)>,
    /// The figure's name.
    pub figure: String,
    /// The figure's distribution; `None` when no seed had a value.
    pub stats: Option<Stats>,
    /// Seeds without a value for the figure.
    pub without_value: u64,
    /// Every property any run judged, with the share of seeds where it broke.
    pub properties: Vec<PropertySummary>,
    /// Seeds stopped early by a limit (the first [`MAX_LISTED`]).
    pub halted: Vec<Halted>,
}

/// The `q` quantile of sorted values by nearest rank.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = libm::ceil(q * n as f64) as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// Sums up the outcomes of a sweep, in seed order whatever order they come in.
pub fn summarize(figure: &Figure, runs: &[SeedRun]) -> Summary {
    let mut order: Vec<&SeedRun> = runs.iter().collect();
    crate::order::sort_by_key(&mut order, |r| r.seed);
    let mut values: Vec<f64> = order.iter().filter_map(|r| r.value).collect();
    let without_value = (order.len() - values.len()) as u64;
    let stats = (!values.is_empty()).then(|| {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        crate::order::sort_by(&mut values, f64::total_cmp);
        Stats {
            count: values.len() as u64,
            min: values[0],
            p50: nearest_rank(&values, 0.5),
            p90: nearest_rank(&values, 0.9),
            p99: nearest_rank(&values, 0.99),
            max: values[values.len() - 1],
            mean,
        }
    });
    let mut props: Vec<Property> = order
        .iter()
        .flat_map(|r| r.properties.iter().cloned())
        .collect();
    crate::order::sort(&mut props);
    props.dedup();
    let properties = props
        .into_iter()
        .map(|p| {
            let judged = order.iter().filter(|r| r.properties.contains(&p)).count() as u64;
            let mut broken = 0u64;
            let mut failing = Vec::new();
            for r in &order {
                if let Some(v) = r.violations.iter().find(|v| v.property == p) {
                    broken += 1;
                    if failing.len() < MAX_LISTED {
                        failing.push(Failing {
                            seed: r.seed,
                            at_ms: v.time_us as f64 / 1000.0,
                            detail: v.detail.clone(),
                        });
                    }
                }
            }
            PropertySummary {
                property: p,
                judged,
                broken,
                share: if order.is_empty() {
                    0.0
                } else {
                    broken as f64 / order.len() as f64
                },
                failing,
            }
        })
        .collect();
    Summary {
        seeds: order.len() as u64,
        seed_range: order
            .first()
            .zip(order.last())
            .map(|(a, b)| (a.seed, b.seed)),
        figure: figure.name(),
        stats,
        without_value,
        properties,
        halted: order
            .iter()
            .filter_map(|r| {
                r.halted.as_ref().map(|why| Halted {
                    seed: r.seed,
                    why: why.clone(),
                })
            })
            .take(MAX_LISTED)
            .collect(),
    }
}

/// One bar of a histogram.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bin {
    /// The bar's lower bound, inclusive.
    pub lo: f64,
    /// Its upper bound (inclusive for the last bar).
    pub hi: f64,
    /// Seeds whose value falls in it.
    pub count: u64,
    /// The least such seed, to open.
    pub first_seed: Option<u64>,
}

/// The outcomes' values in `bins` equal bars (1 to 100) from the least to the greatest value;
/// one bar when every value is the same. Empty when no seed has a value.
pub fn histogram(runs: &[SeedRun], bins: usize) -> Vec<Bin> {
    let values: Vec<(u64, f64)> = runs
        .iter()
        .filter_map(|r| r.value.map(|v| (r.seed, v)))
        .collect();
    let Some(lo) = values.iter().map(|v| v.1).min_by(f64::total_cmp) else {
        return Vec::new();
    };
    let hi = values
        .iter()
        .map(|v| v.1)
        .max_by(f64::total_cmp)
        .unwrap_or(lo);
    let n = if hi > lo { bins.clamp(1, 100) } else { 1 };
    let width = (hi - lo) / n as f64;
    let mut out: Vec<Bin> = (0..n)
        .map(|i| Bin {
            lo: lo + width * i as f64,
            hi: if i + 1 == n {
                hi
            } else {
                lo + width * (i + 1) as f64
            },
            count: 0,
            first_seed: None,
        })
        .collect();
    for (seed, v) in values {
        let i = if width > 0.0 {
            (((v - lo) / width) as usize).min(n - 1)
        } else {
            0
        };
        out[i].count += 1;
        out[i].first_seed = Some(out[i].first_seed.map_or(seed, |s| s.min(seed)));
    }
    out
}

/// Seeds 1 to `n` of `s` run and summed up, the figure the scenario's default: what a lesson
/// goal on a property over a sweep ([`crate::lesson::Goal::Sweep`]) is judged on.
pub fn sweep_seeds(s: &Scenario, n: u64) -> Result<Summary, String> {
    let figure = Figure::default_for(s)?;
    let runs = (1..=n)
        .map(|seed| run_seed(s, &figure, seed))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(summarize(&figure, &runs))
}

/// Whether `property` held in every seed of a sweep that covers seeds 1 to `seeds`, and what
/// the sweep gave, for people. No sweep, or a shorter one, does not hold.
pub fn property_held(summary: Option<&Summary>, property: &str, seeds: u64) -> (bool, String) {
    let Some(s) = summary else {
        return (
            false,
            format!("not swept yet: sweep {seeds} seeds (the Sweep panel)"),
        );
    };
    if s.seed_range
        .is_none_or(|(first, last)| first != 1 || last < seeds)
    {
        return (
            false,
            format!("{} seeds swept; this asks for seeds 1 to {seeds}", s.seeds),
        );
    }
    // Seeds where it broke at any node, each counted once (a run judges a property per node).
    let mut broken: Vec<u64> = s
        .properties
        .iter()
        .filter(|p| p.property.name == property)
        .flat_map(|p| p.failing.iter().map(|f| f.seed))
        .filter(|seed| *seed <= seeds)
        .collect();
    crate::order::sort(&mut broken);
    broken.dedup();
    match broken.first() {
        None => (true, format!("held in all {seeds} seeds")),
        Some(first) => (
            false,
            format!(
                "broke in {} of {seeds} seeds (the first: seed {first})",
                broken.len()
            ),
        ),
    }
}
