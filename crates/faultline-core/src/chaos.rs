//! Chaos runs: a fault schedule written as data, expanded into ordinary timed interventions.
//!
//! Netflix's Chaos Monkey kills a random instance of a group now and then; Jepsen's nemeses
//! crash, pause and partition random nodes on a schedule; FoundationDB's and TigerBeetle's
//! simulators inject faults from the run's seed so that a failure found once replays exactly.
//! A scenario's `chaos` block is that, for a learner: "crash a random one of n1..n5 every 2 s
//! or so, for 200 to 1500 ms each".
//!
//! The schedule is drawn from the run's seed, each rule from its own stream
//! ([`crate::rng::Stream::Chaos`]), so the same scenario and seed give the same faults natively
//! and in wasm, another seed gives other faults (which is what a sweep wants), and a scenario
//! without `chaos` draws nothing new: its trace is unchanged. The faults become plain
//! interventions (`crash` then `restart`, `cut` then `heal`, ...) before the world is built, so
//! the engine knows nothing of chaos and the trace, the time line and the checkers see ordinary
//! faults.
//!
//! Within one rule, a target still down from that rule is not picked again until it is back;
//! rules do not coordinate with each other (a crash rule and a pause rule may hit one node at
//! once, as two independent operators would).

use serde::{Deserialize, Serialize};

use crate::dist::{Dist, ms_to_us};
use crate::rng::{SimRng, Stream};
use crate::scenario::{Intervention, Scenario};

/// The most fault rules in one `chaos` block.
pub const MAX_RULES: usize = 16;
/// The most faults one rule injects in a run.
pub const MAX_FAULTS_PER_RULE: u32 = 1_000;
/// The most faults all rules inject together in a run (each is two interventions at most).
pub const MAX_FAULTS: u32 = 2_000;
/// The shortest gap between two faults of a rule and the shortest down time, in microseconds:
/// a distribution that draws 0 must not stack a rule's faults on one instant.
pub const MIN_GAP_US: u64 = 1_000;
/// Draws one rule may make in a run (a rule whose targets are all down still draws its next
/// time): bounds the expansion whatever the distributions say.
const MAX_DRAWS_PER_RULE: u32 = 100_000;

/// A rule's `max` when it gives none.
const DEFAULT_MAX: u32 = 100;

/// A scenario's fault schedule: rules that each inject one kind of fault at random times into
/// random targets, between `from_ms` and `until_ms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chaos {
    /// No fault starts before this time (default: the run's start).
    #[serde(default)]
    pub from_ms: f64,
    /// No fault starts at or after this time (default: the run's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<f64>,
    /// The rules, each drawn from its own random stream.
    pub faults: Vec<ChaosRule>,
}

/// What one rule does to its target. Read by hand, as every tagged enum of a scenario (see
/// `tagged`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum ChaosRule {
    /// Crash a random node of `nodes`, restart it after `down`.
    Crash {
        /// The nodes it may crash.
        nodes: Vec<String>,
        /// The time from one fault's start to the next one's.
        every: Dist,
        /// How long the node stays down.
        down: Dist,
        /// The most faults this rule injects (default 100).
        max: u32,
    },
    /// Pause a random node of `nodes` (a stop-the-world pause), resume it after `down`.
    Pause {
        /// The nodes it may pause.
        nodes: Vec<String>,
        /// The time from one fault's start to the next one's.
        every: Dist,
        /// How long the node stays paused.
        down: Dist,
        /// The most faults this rule injects (default 100).
        max: u32,
    },
    /// Cut a random link of `links` (both directions), heal it after `down`.
    Cut {
        /// The links it may cut, as `[a, b]`; absent: every link of the scenario.
        #[serde(skip_serializing_if = "Option::is_none")]
        links: Option<Vec<[String; 2]>>,
        /// The time from one fault's start to the next one's.
        every: Dist,
        /// How long the link stays cut.
        down: Dist,
        /// The most faults this rule injects (default 100).
        max: u32,
    },
    /// Give a random link of `links` this `latency` (both directions), and its own back after
    /// `down`.
    Latency {
        /// The links it may slow, as `[a, b]`; absent: every link of the scenario.
        #[serde(skip_serializing_if = "Option::is_none")]
        links: Option<Vec<[String; 2]>>,
        /// The latency while the fault lasts.
        latency: Dist,
        /// The time from one fault's start to the next one's.
        every: Dist,
        /// How long the slow latency lasts.
        down: Dist,
        /// The most faults this rule injects (default 100).
        max: u32,
    },
}

impl<'de> Deserialize<'de> for ChaosRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(d, |v| {
            static SHAPE: crate::tagged::Shape<4> = crate::tagged::Shape::new(
                "fault",
                "a fault rule",
                [
                    ("crash", &["nodes", "every", "down", "max"]),
                    ("pause", &["nodes", "every", "down", "max"]),
                    ("cut", &["links", "every", "down", "max"]),
                    ("latency", &["links", "latency", "every", "down", "max"]),
                ],
            );
            let (name, mut f) = SHAPE.open(v)?;
            Ok(match name {
                "crash" => ChaosRule::Crash {
                    nodes: f.req("nodes")?,
                    every: f.req("every")?,
                    down: f.req("down")?,
                    max: f.or("max", DEFAULT_MAX)?,
                },
                "pause" => ChaosRule::Pause {
                    nodes: f.req("nodes")?,
                    every: f.req("every")?,
                    down: f.req("down")?,
                    max: f.or("max", DEFAULT_MAX)?,
                },
                "cut" => ChaosRule::Cut {
                    links: f.or("links", None)?,
                    every: f.req("every")?,
                    down: f.req("down")?,
                    max: f.or("max", DEFAULT_MAX)?,
                },
                "latency" => ChaosRule::Latency {
                    links: f.or("links", None)?,
                    latency: f.req("latency")?,
                    every: f.req("every")?,
                    down: f.req("down")?,
                    max: f.or("max", DEFAULT_MAX)?,
                },
                other => return Err(SHAPE.unknown(other)),
            })
        })
    }
}

/// A rule's targets: node ids, or links as pairs of ids.
enum Targets<'a> {
    Nodes(&'a [String]),
    Links(Vec<(&'a str, &'a str)>),
}

impl ChaosRule {
    fn timing(&self) -> (&Dist, &Dist, u32) {
        match self {
            ChaosRule::Crash {
                every, down, max, ..
            }
            | ChaosRule::Pause {
                every, down, max, ..
            }
            | ChaosRule::Cut {
                every, down, max, ..
            }
            | ChaosRule::Latency {
                every, down, max, ..
            } => (every, down, *max),
        }
    }

    fn targets<'a>(&'a self, s: &'a Scenario) -> Targets<'a> {
        let links = |l: &'a Option<Vec<[String; 2]>>| match l {
            Some(l) => l.iter().map(|[a, b]| (a.as_str(), b.as_str())).collect(),
            None => s
                .links
                .iter()
                .map(|l| (l.a.as_str(), l.b.as_str()))
                .collect(),
        };
        match self {
            ChaosRule::Crash { nodes, .. } | ChaosRule::Pause { nodes, .. } => {
                Targets::Nodes(nodes)
            }
            ChaosRule::Cut { links: l, .. } | ChaosRule::Latency { links: l, .. } => {
                Targets::Links(links(l))
            }
        }
    }

    /// The interventions that start and end one fault on target `k`.
    fn fault(&self, s: &Scenario, k: usize, at_ms: f64, end_ms: f64) -> [Intervention; 2] {
        let (node, link) = match self.targets(s) {
            Targets::Nodes(n) => (n[k].clone(), (String::new(), String::new())),
            Targets::Links(l) => (String::new(), (l[k].0.to_string(), l[k].1.to_string())),
        };
        let (a, b) = link;
        match self {
            ChaosRule::Crash { .. } => [
                Intervention::Crash {
                    at_ms,
                    node: node.clone(),
                },
                Intervention::Restart {
                    at_ms: end_ms,
                    node,
                },
            ],
            ChaosRule::Pause { .. } => [
                Intervention::Pause {
                    at_ms,
                    node: node.clone(),
                },
                Intervention::Resume {
                    at_ms: end_ms,
                    node,
                },
            ],
            ChaosRule::Cut { .. } => [
                Intervention::Cut {
                    at_ms,
                    a: a.clone(),
                    b: b.clone(),
                    one_way: false,
                },
                Intervention::Heal {
                    at_ms: end_ms,
                    a,
                    b,
                },
            ],
            ChaosRule::Latency { latency, .. } => {
                let own = own_latency(s, &a, &b).cloned().unwrap_or_default();
                [
                    Intervention::SetLink {
                        at_ms,
                        a: a.clone(),
                        b: b.clone(),
                        param: "latency".into(),
                        value: crate::jsonpos::value_of(latency),
                    },
                    Intervention::SetLink {
                        at_ms: end_ms,
                        a,
                        b,
                        param: "latency".into(),
                        value: crate::jsonpos::value_of(&own),
                    },
                ]
            }
        }
    }
}

/// The latency of the link `a`-`b` as the scenario gives it, when both directions share it.
fn own_latency<'a>(s: &'a Scenario, a: &str, b: &str) -> Option<&'a Dist> {
    let l = s
        .links
        .iter()
        .find(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))?;
    match &l.reverse {
        Some(r) if r.latency != l.latency => None,
        _ => Some(&l.latency),
    }
}

impl Chaos {
    /// Checks the schedule against its scenario: known nodes and links, distributions, limits.
    /// Returns every problem as (path under `chaos`, message).
    pub fn check(&self, s: &Scenario) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        let duration_ms = s.duration_ms;
        if !(self.from_ms.is_finite() && self.from_ms >= 0.0 && self.from_ms < duration_ms) {
            errs.push((
                "from_ms".into(),
                format!(
                    "expected 0 to less than the run's duration ({duration_ms} ms), got {}",
                    self.from_ms
                ),
            ));
        }
        if let Some(u) = self.until_ms
            && !(u.is_finite() && u > self.from_ms && u <= duration_ms)
        {
            errs.push((
                "until_ms".into(),
                format!(
                    "expected more than from_ms ({}) and at most the run's duration ({duration_ms} ms), got {u}",
                    self.from_ms
                ),
            ));
        }
        if self.faults.is_empty() || self.faults.len() > MAX_RULES {
            errs.push((
                "faults".into(),
                format!("expected 1 to {MAX_RULES} rules, got {}", self.faults.len()),
            ));
        }
        let node = |id: &str| s.nodes.iter().any(|n| n.id == id);
        let linked = |a: &str, b: &str| {
            s.links
                .iter()
                .any(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))
        };
        let mut total = 0u32;
        for (i, rule) in self.faults.iter().take(MAX_RULES).enumerate() {
            let p = format!("faults[{i}]");
            let (every, down, max) = rule.timing();
            for (field, d) in [("every", every), ("down", down)] {
                if let Err((f, m)) = d.check() {
                    let f = if f.is_empty() {
                        String::new()
                    } else {
                        format!(".{f}")
                    };
                    errs.push((format!("{p}.{field}{f}"), m));
                }
            }
            if let ChaosRule::Latency { latency, .. } = rule
                && let Err((f, m)) = latency.check()
            {
                let f = if f.is_empty() {
                    String::new()
                } else {
                    format!(".{f}")
                };
                errs.push((format!("{p}.latency{f}"), m));
            }
            if max == 0 || max > MAX_FAULTS_PER_RULE {
                errs.push((
                    format!("{p}.max"),
                    format!("expected 1 to {MAX_FAULTS_PER_RULE}, got {max}"),
                ));
            }
            total = total.saturating_add(max);
            match rule.targets(s) {
                Targets::Nodes(nodes) => {
                    if nodes.is_empty() || nodes.len() > crate::limits::MAX_NODES {
                        errs.push((format!("{p}.nodes"), "name at least one node".into()));
                    }
                    for (k, n) in nodes.iter().enumerate() {
                        if !node(n) {
                            errs.push((
                                format!("{p}.nodes[{k}]"),
                                format!("no node has the id '{n}'"),
                            ));
                        }
                    }
                }
                Targets::Links(links) => {
                    if links.is_empty() || links.len() > crate::limits::MAX_LINKS {
                        errs.push((
                            format!("{p}.links"),
                            "name at least one link (the scenario has none)".into(),
                        ));
                    }
                    for (k, (a, b)) in links.iter().enumerate() {
                        if !linked(a, b) {
                            errs.push((
                                format!("{p}.links[{k}]"),
                                format!("there is no link between {a} and {b}"),
                            ));
                        } else if matches!(rule, ChaosRule::Latency { .. })
                            && own_latency(s, a, b).is_none()
                        {
                            errs.push((
                                format!("{p}.links[{k}]"),
                                format!(
                                    "the link {a}-{b} has its own reverse latency, which a \
                                     latency fault (both directions) could not restore"
                                ),
                            ));
                        }
                    }
                }
            }
        }
        if total > MAX_FAULTS {
            errs.push((
                "faults".into(),
                format!("the rules' max add up to {total}; the limit is {MAX_FAULTS} faults"),
            ));
        }
        let room = crate::limits::MAX_INTERVENTIONS.saturating_sub(s.interventions.len());
        if 2 * total as usize > room {
            errs.push((
                "faults".into(),
                format!(
                    "the rules' max ({total} faults, two interventions each) and the scenario's \
                     {} interventions exceed the limit of {} interventions",
                    s.interventions.len(),
                    crate::limits::MAX_INTERVENTIONS
                ),
            ));
        }
        errs
    }

    /// The faults of the run with this seed, as interventions in time order. Assumes the
    /// schedule passed [`Chaos::check`]. A fault that would end after the run has no end.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn expand(&self, s: &Scenario, seed: u64) -> Vec<Intervention> {
        let duration_us = s.duration_us();
        let from_us = ms_to_us(self.from_ms);
        let until_us = self.until_ms.map_or(duration_us, ms_to_us).min(duration_us);
        let ms = |us: u64| us as f64 / 1000.0;
        let mut out: Vec<(u64, Intervention)> = Vec::new();
        for (i, rule) in self.faults.iter().enumerate().take(MAX_RULES) {
            let mut rng = SimRng::new(seed, Stream::Chaos(i as u16));
            let (every, down, max) = rule.timing();
            let n = match rule.targets(s) {
                Targets::Nodes(n) => n.len(),
                Targets::Links(l) => l.len(),
            };
            if n == 0 {
                continue;
            }
            // When each target is back from this rule's last fault on it.
            let mut back_us = vec![0u64; n];
            let mut t = from_us;
            let mut faults = 0;
            for _ in 0..MAX_DRAWS_PER_RULE {
                t = t.saturating_add(every.sample_us(&mut rng).max(MIN_GAP_US));
                if t >= until_us || faults >= max.min(MAX_FAULTS_PER_RULE) {
                    break;
                }
                let free: Vec<usize> = (0..n).filter(|k| back_us[*k] <= t).collect();
                if free.is_empty() {
                    continue;
                }
                let k = free[rng.below(free.len() as u64) as usize];
                let end = t.saturating_add(down.sample_us(&mut rng).max(MIN_GAP_US));
                let [start, stop] = rule.fault(s, k, ms(t), ms(end));
                out.push((t, start));
                if end <= duration_us {
                    out.push((end, stop));
                }
                back_us[k] = end;
                faults += 1;
            }
        }
        // Stable: at one instant, rules act in the order written, a rule's end before its start.
        crate::order::sort_by_key(&mut out, |(t, _)| *t);
        out.into_iter().map(|(_, iv)| iv).collect()
    }
}

impl Chaos {
    /// The schedule the page's "chaos" toggle adds to a scenario without one: every node that
    /// is not a load generator (client, producer, key-value client) may crash, about six times a
    /// run in all, each for 0.2 to 1.5 s; and every link may be cut as often, each for 0.2 to
    /// 1 s. Faults start after the first tenth of the run, once the system has settled. `None`
    /// when there is nothing to break.
    pub fn default_for(s: &Scenario) -> Option<Chaos> {
        use crate::view::ModelKind;
        let nodes: Vec<String> = s
            .nodes
            .iter()
            .filter(|n| {
                !matches!(
                    n.model.kind(),
                    ModelKind::Client | ModelKind::Producer | ModelKind::KvClient
                )
            })
            .map(|n| n.id.clone())
            .collect();
        let every = Dist::Exponential {
            mean_ms: (s.duration_ms / 6.0).max(100.0),
        };
        let down = |max_ms: f64| Dist::Uniform {
            min_ms: 200.0_f64.min(s.duration_ms / 20.0),
            max_ms: max_ms.min(s.duration_ms / 5.0),
        };
        let mut faults = Vec::new();
        if !nodes.is_empty() {
            faults.push(ChaosRule::Crash {
                nodes,
                every: every.clone(),
                down: down(1_500.0),
                max: 20,
            });
        }
        if !s.links.is_empty() {
            faults.push(ChaosRule::Cut {
                links: None,
                every,
                down: down(1_000.0),
                max: 20,
            });
        }
        (!faults.is_empty()).then(|| Chaos {
            from_ms: s.duration_ms / 10.0,
            until_ms: None,
            faults,
        })
    }
}

impl Scenario {
    /// This scenario as the run with `seed` plays it: the chaos schedule (if any) expanded into
    /// ordinary interventions after the written ones, and the `chaos` block removed. The page
    /// can show it, and `faultline run` of it replays the same trace.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn with_chaos_expanded(&self, seed: u64) -> Scenario {
        let mut s = self.clone();
        if let Some(chaos) = s.chaos.take() {
            s.interventions.extend(chaos.expand(self, seed));
        }
        s
    }
}
