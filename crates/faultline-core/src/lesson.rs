//! Guided lessons: Markdown files in `lessons/` with a scenario, steps, and goals the simulator
//! checks. `docs/writing-lessons.md` is the author's guide; this module is its parser and judge.
//!
//! A lesson is Markdown so authors write prose, not JSON strings. Its structure:
//!
//! - front matter between `---` lines: `title`, `summary`, optional `minutes`;
//! - the introduction, then one fenced `scenario` block: the lesson's scenario, in the one
//!   scenario format;
//! - each `## ` heading starts a step. A step's fenced blocks give its `changes` to the lesson
//!   scenario, a `predict` question, the `goal` the simulator checks and a `solution` (the
//!   changes that meet the goal, which the tests apply); paragraphs that start with `Try:` and
//!   `Hint:` are the step's task and its hints; everything else is the step's text.
//!
//! Every step starts from the lesson scenario plus that step's own changes, so a learner can
//! open any step from a link and get the same run.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::report::{NodeReport, Report};
use crate::scenario::{Intervention, Scenario, set_config_field};

/// The largest lesson file read, in bytes.
pub const MAX_LESSON_BYTES: usize = 256 * 1024;
/// The most steps in a lesson.
pub const MAX_STEPS: usize = 32;
/// The most changes (or solution entries) in a step.
pub const MAX_CHANGES: usize = 64;
/// The most hints in a step.
pub const MAX_HINTS: usize = 8;
/// The deepest nesting of `all`/`any`/`not` in a goal.
pub const MAX_GOAL_DEPTH: usize = 8;
/// The most conditions in one goal, counted over the whole tree.
pub const MAX_GOAL_TERMS: usize = 64;

/// A problem in a lesson file, at a line when one is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    /// 1-based line in the file.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LessonError {}

fn err(line: Option<usize>, message: impl Into<String>) -> LessonError {
    LessonError {
        line,
        message: message.into(),
    }
}

/// A guided lesson.
///
/// It serialises as the page reads it: `faultline lessons` writes every lesson, parsed and with
/// its text as HTML, into the built site, so the page downloads neither the Markdown parser nor
/// this module's reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    /// The title, from the front matter.
    pub title: String,
    /// One sentence on what the learner will see.
    pub summary: String,
    /// About how long the lesson takes.
    pub minutes: u32,
    /// The introduction, Markdown.
    pub intro: String,
    /// The scenario every step starts from.
    pub scenario: Scenario,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A course as the page reads it (`faultline lessons` writes it): each lesson's id and the
/// lesson, or why it does not parse, in course order.
pub type Prepared = Vec<(String, Result<Lesson, String>)>;

/// One step of a lesson.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The heading.
    pub title: String,
    /// The explanation, Markdown.
    pub text: String,
    /// What to do, Markdown (the paragraph that starts with `Try:`).
    pub task: Option<String>,
    /// Hints, shown one at a time, Markdown.
    pub hints: Vec<String>,
    /// How this step's scenario differs from the lesson's.
    pub changes: Vec<Change>,
    /// A question to answer before running.
    pub predict: Option<Predict>,
    /// What the simulator checks; a step without one is reading only.
    pub goal: Option<Goal>,
    /// Changes that meet the goal (the lesson tests apply them; the page offers them last).
    pub solution: Vec<Change>,
}

/// A change to a scenario: one setting of a node or a link, or an intervention to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// Set a node's model setting, dotted for nested ones (`retry.max_attempts`).
    Node {
        /// The node id.
        node: String,
        /// The setting.
        param: String,
        /// The value.
        value: serde_json::Value,
    },
    /// Set a link's setting (`latency`, `loss`, `duplicate`, `reorder`, ...).
    Link {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// The setting.
        param: String,
        /// The value.
        value: serde_json::Value,
    },
    /// Add a timed intervention (a crash, a partition, ...).
    Do(Intervention),
}

/// A prediction question: the learner commits to an answer before the run shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predict {
    /// The question.
    pub question: String,
    /// Two to six choices.
    pub choices: Vec<String>,
    /// The index of the right choice.
    pub answer: usize,
    /// Why that answer is right, shown after the learner answers.
    pub explain: String,
}

/// A condition on a run's report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Goal {
    /// Every condition holds.
    All(Vec<Goal>),
    /// At least one holds.
    Any(Vec<Goal>),
    /// The condition does not hold.
    Not(Box<Goal>),
    /// A node's figure is within bounds.
    Measure {
        /// The node id.
        node: String,
        /// A report figure (`successes`, `p99_ms`, `error_rate`, ...) or a model counter
        /// (`retries`, `duplicate_charges`, ...).
        value: String,
        /// The least allowed, inclusive.
        at_least: Option<f64>,
        /// The most allowed, inclusive.
        at_most: Option<f64>,
        /// How the page says it, e.g. "nobody is charged twice".
        says: Option<String>,
    },
    /// A node reported a change of state whose text contains `state` (e.g. `-> OPEN`, as a
    /// breaker says "breaker CLOSED -> OPEN: ..."), within a window of the run.
    Event {
        /// The node id.
        node: String,
        /// Text the state change contains.
        state: String,
        /// The window's start, inclusive (default: the run's start).
        from_ms: Option<f64>,
        /// The window's end, inclusive (default: the run's end).
        to_ms: Option<f64>,
        /// How the page says it.
        says: Option<String>,
    },
    /// A property held in every run of a sweep of the scenario over seeds 1 to `seeds`: a rare
    /// failure, which the one seed a step opens with may not show. Judged on
    /// [`Outcome::sweep`] (the CLI and the tests sweep; the page uses the learner's own sweep).
    Sweep {
        /// The property, as the invariants panel and the sweep name it ("no duplicate charge").
        property: String,
        /// Seeds 1 to this many, at most [`crate::share::MAX_SWEEP_SEEDS`].
        seeds: u64,
        /// How the page says it.
        says: Option<String>,
    },
}

/// The most state changes a run's outcome keeps (the first ones).
pub const MAX_STATES: usize = 10_000;

/// A state change a node reported.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSeen {
    /// The node id.
    pub node: String,
    /// When.
    pub time_us: u64,
    /// What the model said.
    pub text: String,
}

/// What a goal is judged on: the report at the end, and the state changes along the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// The state changes, in order (at most [`MAX_STATES`]).
    pub states: Vec<StateSeen>,
    /// A sweep of the same scenario over seeds from 1, for [`Goal::Sweep`]; `None` when none
    /// was run.
    pub sweep: Option<crate::sweep::Summary>,
}

impl Outcome {
    /// The outcome so far of a world being played. The page's world keeps only recent trace
    /// events, so this is for the live view; the verdict comes from [`run`], which sees all.
    pub fn of_world(world: &crate::world::World) -> Outcome {
        let names = world.names();
        Outcome {
            report: Report::of(world),
            states: world
                .trace()
                .events()
                .iter()
                .filter_map(|e| state_seen(e, names))
                .take(MAX_STATES)
                .collect(),
            sweep: None,
        }
    }
}

fn state_seen(e: &crate::trace::TraceEvent, names: &[String]) -> Option<StateSeen> {
    match &e.kind {
        crate::trace::TraceKind::State { node, text } => Some(StateSeen {
            node: names.get(node.index()).cloned().unwrap_or_default(),
            time_us: e.time_us,
            text: text.clone(),
        }),
        // A verdict reads as the event log shows it, "linearizable: VIOLATED (stale read ...)",
        // so a `state` goal can ask that an invariant broke or held without a second syntax.
        crate::trace::TraceKind::Verdict {
            node,
            name,
            holds,
            detail,
        } => Some(StateSeen {
            node: names.get(node.index()).cloned().unwrap_or_default(),
            time_us: e.time_us,
            text: format!(
                "{name}: {}{}",
                match holds {
                    Some(true) => "holds",
                    Some(false) => "VIOLATED",
                    None => "unknown",
                },
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({detail})")
                }
            ),
        }),
        _ => None,
    }
}

/// The goal JSON as written; converted to [`Goal`] after its shape is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalSpec {
    all: Option<Vec<GoalSpec>>,
    any: Option<Vec<GoalSpec>>,
    not: Option<Box<GoalSpec>>,
    node: Option<String>,
    value: Option<String>,
    at_least: Option<f64>,
    at_most: Option<f64>,
    says: Option<String>,
    state: Option<String>,
    from_ms: Option<f64>,
    to_ms: Option<f64>,
    property: Option<String>,
    holds_in_seeds: Option<u64>,
}

/// The figures a goal can read besides a model's counters.
pub const REPORT_VALUES: &[&str] = &[
    "completed",
    "successes",
    "failures",
    "success_rate",
    "error_rate",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "mean_ms",
    "availability_formula",
];

impl GoalSpec {
    fn into_goal(self, depth: usize, terms: &mut usize) -> Result<Goal, String> {
        *terms += 1;
        if depth > MAX_GOAL_DEPTH {
            return Err(format!(
                "the goal nests deeper than {MAX_GOAL_DEPTH} levels"
            ));
        }
        if *terms > MAX_GOAL_TERMS {
            return Err(format!(
                "the goal has more than {MAX_GOAL_TERMS} conditions"
            ));
        }
        let kinds = [
            self.all.is_some(),
            self.any.is_some(),
            self.not.is_some(),
            self.value.is_some() || (self.node.is_some() && self.state.is_none()),
            self.state.is_some(),
            self.property.is_some() || self.holds_in_seeds.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "a goal is exactly one of {\"all\": [..]}, {\"any\": [..]}, {\"not\": ..}, \
                 {\"node\", \"value\", \"at_least\"/\"at_most\"}, {\"node\", \"state\", \
                 \"from_ms\"/\"to_ms\"} or {\"property\", \"holds_in_seeds\"}"
                    .into(),
            );
        }
        let list = |v: Vec<GoalSpec>, terms: &mut usize| -> Result<Vec<Goal>, String> {
            if v.is_empty() {
                return Err("\"all\" and \"any\" need at least one condition".into());
            }
            v.into_iter()
                .map(|g| g.into_goal(depth + 1, terms))
                .collect()
        };
        let compound = self.at_least.is_some()
            || self.at_most.is_some()
            || self.says.is_some()
            || self.from_ms.is_some()
            || self.to_ms.is_some();
        let combines = self.all.is_some() || self.any.is_some() || self.not.is_some();
        if combines && compound {
            return Err("\"at_least\", \"at_most\" and \"says\" belong with \"node\"".into());
        }
        if let Some(v) = self.all {
            return Ok(Goal::All(list(v, terms)?));
        }
        if let Some(v) = self.any {
            return Ok(Goal::Any(list(v, terms)?));
        }
        if let Some(g) = self.not {
            return Ok(Goal::Not(Box::new(g.into_goal(depth + 1, terms)?)));
        }
        if self.property.is_some() || self.holds_in_seeds.is_some() {
            let (Some(property), Some(seeds)) = (self.property, self.holds_in_seeds) else {
                return Err("a sweep goal needs both \"property\" and \"holds_in_seeds\"".into());
            };
            if self.at_least.is_some()
                || self.at_most.is_some()
                || self.from_ms.is_some()
                || self.to_ms.is_some()
            {
                return Err(
                    "a sweep goal takes \"property\", \"holds_in_seeds\" and \"says\" only".into(),
                );
            }
            let most = crate::share::MAX_SWEEP_SEEDS;
            if !(1..=most).contains(&seeds) {
                return Err(format!(
                    "\"holds_in_seeds\" is 1 to {most} (the page sweeps at most {most})"
                ));
            }
            if property.is_empty() || property.chars().count() > 80 {
                return Err("\"property\" is an invariant's name: 1 to 80 characters".into());
            }
            return Ok(Goal::Sweep {
                property,
                seeds,
                says: self.says,
            });
        }
        if let Some(state) = self.state {
            let node = self.node.ok_or("a state goal needs a \"node\"")?;
            if self.at_least.is_some() || self.at_most.is_some() {
                return Err("a state goal takes \"from_ms\"/\"to_ms\", not bounds".into());
            }
            if state.is_empty() || state.chars().count() > 200 {
                return Err("\"state\" is the text to look for: 1 to 200 characters".into());
            }
            for b in [self.from_ms, self.to_ms].into_iter().flatten() {
                if !(b.is_finite() && b >= 0.0) {
                    return Err(format!("the time {b} is not a time of the run"));
                }
            }
            if let (Some(a), Some(b)) = (self.from_ms, self.to_ms)
                && a > b
            {
                return Err(format!("from_ms {a} is after to_ms {b}"));
            }
            return Ok(Goal::Event {
                node,
                state,
                from_ms: self.from_ms,
                to_ms: self.to_ms,
                says: self.says,
            });
        }
        let (Some(node), Some(value)) = (self.node, self.value) else {
            return Err("a measure needs both \"node\" and \"value\"".into());
        };
        if self.at_least.is_none() && self.at_most.is_none() {
            return Err(format!(
                "the goal on {node} {value} needs \"at_least\" or \"at_most\""
            ));
        }
        for b in [self.at_least, self.at_most].into_iter().flatten() {
            if !b.is_finite() {
                return Err(format!("the bound {b} is not a finite number"));
            }
        }
        if let (Some(lo), Some(hi)) = (self.at_least, self.at_most)
            && lo > hi
        {
            return Err(format!(
                "at_least {lo} is above at_most {hi}: nothing can meet it"
            ));
        }
        Ok(Goal::Measure {
            node,
            value,
            at_least: self.at_least,
            at_most: self.at_most,
            says: self.says,
        })
    }
}

/// One line of a goal's verdict, for the page and the CLI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// What the condition asks, for people.
    pub wants: String,
    /// What the run gave, for people.
    pub got: String,
    /// Whether it holds.
    pub met: bool,
}

/// A goal's verdict on a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// Whether the whole goal holds.
    pub met: bool,
    /// Each measured condition, in the order written.
    pub checks: Vec<Check>,
}

/// Reads a figure of a node's report; `None` when the run has none (no latency without
/// completed requests) or the name is unknown.
pub fn figure(n: &NodeReport, value: &str) -> Option<f64> {
    let lat = |f: fn(&crate::report::Latency) -> f64| n.latency.as_ref().map(f);
    match value {
        "completed" => Some(n.completed as f64),
        "successes" => Some(n.successes as f64),
        "failures" => Some(n.failures as f64),
        "success_rate" => n.success_rate,
        "error_rate" => (n.completed > 0).then(|| n.failures as f64 / n.completed as f64),
        "p50_ms" => lat(|l| l.p50_ms),
        "p90_ms" => lat(|l| l.p90_ms),
        "p99_ms" => lat(|l| l.p99_ms),
        "max_ms" => lat(|l| l.max_ms),
        "mean_ms" => lat(|l| l.mean_ms),
        "availability_formula" => n.availability_formula,
        c => n.counters.get(c).map(|v| *v as f64),
    }
}

/// A figure for people: a yes/no/unknown answer in words (the KV client's `linearizable` is kept
/// as 1, 0 or -1), any other number as [`fmt_num`] writes it.
fn fmt_figure(value: &str, v: f64) -> String {
    if value == crate::models::kv::VERDICT {
        return match v {
            1.0 => "yes".into(),
            0.0 => "no".into(),
            _ => "not decided yet".into(),
        };
    }
    fmt_num(v)
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

impl Goal {
    /// Parses a goal from its JSON text.
    pub fn parse(text: &str) -> Result<Goal, String> {
        let spec: GoalSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
        spec.into_goal(0, &mut 0)
    }

    /// Checks that every node and figure the goal names exists in this report (a report of
    /// the step's world before it runs has every counter, at zero).
    pub fn check_names(&self, report: &Report) -> Result<(), String> {
        match self {
            Goal::All(v) | Goal::Any(v) => v.iter().try_for_each(|g| g.check_names(report)),
            Goal::Not(g) => g.check_names(report),
            // A property is named by the models' verdicts as they run; a misspelt one holds on
            // every seed, which `verify` catches (the goal would hold as the step opens).
            Goal::Sweep { .. } => Ok(()),
            Goal::Event { node, .. } => report
                .nodes
                .iter()
                .any(|n| &n.id == node)
                .then_some(())
                .ok_or_else(|| {
                    format!("the goal names node '{node}', which is not in the scenario")
                }),
            Goal::Measure { node, value, .. } => {
                let n = report.nodes.iter().find(|n| &n.id == node).ok_or_else(|| {
                    let ids: Vec<&str> = report.nodes.iter().map(|n| n.id.as_str()).collect();
                    format!(
                        "the goal names node '{node}'; the nodes are {}",
                        ids.join(", ")
                    )
                })?;
                if REPORT_VALUES.contains(&value.as_str()) || n.counters.contains_key(value) {
                    Ok(())
                } else {
                    let mut known: Vec<&str> = REPORT_VALUES.to_vec();
                    known.extend(n.counters.keys().map(String::as_str));
                    Err(format!(
                        "{node} ({}) has no figure '{value}' (known: {})",
                        n.kind,
                        known.join(", ")
                    ))
                }
            }
        }
    }

    /// Judges a run's report.
    pub fn judge(&self, outcome: &Outcome) -> Verdict {
        let mut checks = Vec::new();
        let met = self.eval(outcome, &mut checks, false);
        Verdict { met, checks }
    }

    fn eval(&self, outcome: &Outcome, checks: &mut Vec<Check>, negated: bool) -> bool {
        let report = &outcome.report;
        match self {
            // Every branch is evaluated (no short cut) so the page can list every condition.
            Goal::All(v) => v
                .iter()
                .map(|g| g.eval(outcome, checks, negated))
                .fold(true, |a, b| a & b),
            Goal::Any(v) => v
                .iter()
                .map(|g| g.eval(outcome, checks, negated))
                .fold(false, |a, b| a | b),
            Goal::Not(g) => !g.eval(outcome, checks, !negated),
            Goal::Sweep {
                property,
                seeds,
                says,
            } => {
                let (inside, got) =
                    crate::sweep::property_held(outcome.sweep.as_ref(), property, *seeds);
                let plain = format!("'{property}' holds in every one of seeds 1 to {seeds}");
                checks.push(Check {
                    wants: match (says, negated) {
                        (Some(s), _) => s.clone(),
                        (None, false) => plain,
                        (None, true) => format!("not: {plain}"),
                    },
                    got,
                    met: inside != negated,
                });
                inside
            }
            Goal::Event {
                node,
                state,
                from_ms,
                to_ms,
                says,
            } => {
                let lo = from_ms.map_or(0, crate::dist::ms_to_us);
                let hi = to_ms.map_or(u64::MAX, crate::dist::ms_to_us);
                let seen = outcome.states.iter().find(|e| {
                    &e.node == node
                        && e.text.contains(state.as_str())
                        && (lo..=hi).contains(&e.time_us)
                });
                let window = match (from_ms, to_ms) {
                    (Some(a), Some(b)) => format!(
                        " between {} and {}",
                        crate::fmt_time(crate::dist::ms_to_us(*a)),
                        crate::fmt_time(crate::dist::ms_to_us(*b))
                    ),
                    (Some(a), None) => {
                        format!(" after {}", crate::fmt_time(crate::dist::ms_to_us(*a)))
                    }
                    (None, Some(b)) => {
                        format!(" before {}", crate::fmt_time(crate::dist::ms_to_us(*b)))
                    }
                    (None, None) => String::new(),
                };
                let plain = format!("{node} reports '{state}'{window}");
                let wants = match (says, negated) {
                    (Some(s), _) => s.clone(),
                    (None, false) => plain,
                    (None, true) => format!("not: {plain}"),
                };
                let inside = seen.is_some();
                checks.push(Check {
                    wants,
                    got: match seen {
                        Some(e) => format!("{node}: {} at {}", e.text, crate::fmt_time(e.time_us)),
                        None => format!("{node}: not seen"),
                    },
                    met: inside != negated,
                });
                inside
            }
            Goal::Measure {
                node,
                value,
                at_least,
                at_most,
                says,
            } => {
                let got = report
                    .nodes
                    .iter()
                    .find(|n| &n.id == node)
                    .and_then(|n| figure(n, value));
                let inside = got.is_some_and(|v| {
                    at_least.is_none_or(|lo| v >= lo) && at_most.is_none_or(|hi| v <= hi)
                });
                let bounds = match (at_least, at_most) {
                    (Some(lo), Some(hi)) => {
                        format!("between {} and {}", fmt_num(*lo), fmt_num(*hi))
                    }
                    (Some(lo), None) => format!("at least {}", fmt_num(*lo)),
                    (None, Some(hi)) => format!("at most {}", fmt_num(*hi)),
                    (None, None) => String::new(),
                };
                let plain = format!("{node} {value} {bounds}");
                let wants = match (says, negated) {
                    (Some(s), _) => s.clone(),
                    (None, false) => plain,
                    (None, true) => format!("not: {plain}"),
                };
                let met = inside != negated;
                checks.push(Check {
                    wants,
                    got: match got {
                        Some(v) => format!("{node} {value} = {}", fmt_figure(value, v)),
                        None => format!("{node} {value}: none yet"),
                    },
                    met,
                });
                inside
            }
        }
    }
}

impl Change {
    fn from_json(v: serde_json::Value) -> Result<Change, String> {
        let obj = v
            .as_object()
            .ok_or("a change is an object: {\"node\", \"param\", \"value\"}, {\"link\": [a, b], \"param\", \"value\"} or an intervention with \"do\"")?;
        if obj.contains_key("do") {
            return serde_json::from_value(v.clone())
                .map(Change::Do)
                .map_err(|e| e.to_string());
        }
        let keys_ok = |want: &[&str]| {
            obj.keys().all(|k| want.contains(&k.as_str())) && obj.len() == want.len()
        };
        let param = obj
            .get("param")
            .and_then(|p| p.as_str())
            .map(str::to_string);
        let value = obj.get("value").cloned();
        if let Some(node) = obj.get("node") {
            let (Some(node), Some(param), Some(value), true) = (
                node.as_str(),
                param,
                value,
                keys_ok(&["node", "param", "value"]),
            ) else {
                return Err(
                    "a node change is exactly {\"node\": id, \"param\": name, \"value\": v}".into(),
                );
            };
            return Ok(Change::Node {
                node: node.to_string(),
                param,
                value,
            });
        }
        if let Some(link) = obj.get("link") {
            let ends: Option<Vec<&str>> = link
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| a.iter().map(|x| x.as_str()).collect());
            let (Some(ends), Some(param), Some(value), true) =
                (ends, param, value, keys_ok(&["link", "param", "value"]))
            else {
                return Err(
                    "a link change is exactly {\"link\": [a, b], \"param\": name, \"value\": v}"
                        .into(),
                );
            };
            return Ok(Change::Link {
                a: ends[0].to_string(),
                b: ends[1].to_string(),
                param,
                value,
            });
        }
        Err("a change names a \"node\", a \"link\" or an intervention (\"do\")".into())
    }

    /// Applies the change to a scenario.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn apply(&self, s: &mut Scenario) -> Result<(), String> {
        match self {
            Change::Node { node, param, value } => {
                let spec = s
                    .nodes
                    .iter_mut()
                    .find(|n| &n.id == node)
                    .ok_or_else(|| format!("no node '{node}'"))?;
                spec.model = set_config_field(&spec.model, param, value)
                    .map_err(|e| format!("{node}: {e}"))?;
            }
            Change::Link { a, b, param, value } => {
                let link = s
                    .links
                    .iter_mut()
                    .find(|l| (&l.a == a && &l.b == b) || (&l.a == b && &l.b == a))
                    .ok_or_else(|| format!("no link between '{a}' and '{b}'"))?;
                *link = set_config_field(link, param, value)
                    .map_err(|e| format!("link {a}-{b}: {e}"))?;
            }
            Change::Do(i) => s.interventions.push(i.clone()),
        }
        Ok(())
    }
}

/// Applies changes to a copy of a scenario and checks the result.
// Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
#[inline]
pub fn apply_all(base: &Scenario, changes: &[Change]) -> Result<Scenario, String> {
    let mut s = base.clone();
    for c in changes {
        c.apply(&mut s)?;
    }
    s.validate().map_err(|e| e.to_string())?;
    Ok(s)
}

/// Runs a scenario to its end and returns what goals are judged on: every state change is
/// collected as the run goes (the trace itself keeps only the newest events).
// Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
#[inline]
pub fn run(s: &Scenario) -> Result<Outcome, String> {
    let names: Vec<String> = s.nodes.iter().map(|n| n.id.clone()).collect();
    let mut states = Vec::new();
    let (world, _) = crate::export::replay(s, s.duration_us(), |e| {
        if states.len() < MAX_STATES
            && let Some(st) = state_seen(e, &names)
        {
            states.push(st);
        }
        true
    })?;
    Ok(Outcome {
        report: Report::of(&world),
        states,
        sweep: None,
    })
}

/// Runs `s` as [`run`] does and, when `goal` asks for a sweep, sweeps seeds 1 to its number
/// too (what `faultline check` and the tests judge a goal on).
// Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
#[inline]
pub fn run_for(goal: &Goal, s: &Scenario) -> Result<Outcome, String> {
    let mut out = run(s)?;
    if let Some(n) = goal.sweep_seeds() {
        out.sweep = Some(crate::sweep::sweep_seeds(s, n)?);
    }
    Ok(out)
}

impl Goal {
    /// The most seeds any of its sweep conditions asks for; `None` when it has none.
    pub fn sweep_seeds(&self) -> Option<u64> {
        match self {
            Goal::All(v) | Goal::Any(v) => v.iter().filter_map(Goal::sweep_seeds).max(),
            Goal::Not(g) => g.sweep_seeds(),
            Goal::Sweep { seeds, .. } => Some(*seeds),
            Goal::Measure { .. } | Goal::Event { .. } => None,
        }
    }
}

impl Step {
    /// The scenario this step opens with.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn scenario(&self, lesson: &Lesson) -> Result<Scenario, String> {
        apply_all(&lesson.scenario, &self.changes)
    }

    /// The step's scenario with its solution applied.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn solved(&self, lesson: &Lesson) -> Result<Scenario, String> {
        let mut all = self.changes.clone();
        all.extend(self.solution.iter().cloned());
        apply_all(&lesson.scenario, &all)
    }
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn json_error_line(e: &serde_json::Error) -> Option<usize> {
    (e.line() > 0).then(|| e.line())
}

impl Lesson {
    /// Parses a lesson file and checks everything that can be checked without running it:
    /// the scenario, every step's changes, goal names and solution.
    pub fn parse(text: &str) -> Result<Lesson, LessonError> {
        if text.len() > MAX_LESSON_BYTES {
            return Err(err(
                None,
                format!(
                    "the lesson is {} bytes; the limit is {MAX_LESSON_BYTES}",
                    text.len()
                ),
            ));
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (front, body, body_start) = split_front_matter(text)?;
        let mut title = None;
        let mut summary = None;
        let mut minutes = 10;
        for (i, line) in front.lines().enumerate() {
            let at = Some(i + 2);
            if line.trim().is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                return Err(err(at, format!("expected 'key: value', got '{line}'")));
            };
            let v = unquote(v.trim()).to_string();
            match k.trim() {
                "title" => title = Some(v),
                "summary" => summary = Some(v),
                "minutes" => {
                    minutes = v
                        .parse::<u32>()
                        .ok()
                        .filter(|m| (1..=240).contains(m))
                        .ok_or_else(|| err(at, format!("minutes: expected 1 to 240, got '{v}'")))?
                }
                other => {
                    return Err(err(
                        at,
                        format!("unknown key '{other}' (expected title, summary, minutes)"),
                    ));
                }
            }
        }
        let title = title
            .filter(|t| !t.is_empty())
            .ok_or_else(|| err(Some(1), "the front matter needs a title"))?;
        let summary = summary
            .filter(|t| !t.is_empty())
            .ok_or_else(|| err(Some(1), "the front matter needs a summary"))?;

        let line = |offset: usize| line_at(text, body_start + offset);
        let mut intro = String::new();
        let mut scenario: Option<Scenario> = None;
        let mut steps: Vec<(Lines, Step)> = Vec::new();
        let mut depth = 0usize;
        let mut events = Parser::new(body).into_offset_iter().peekable();
        while let Some((ev, range)) = events.next() {
            match ev {
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H2,
                    ..
                }) if depth == 0 => {
                    let mut heading = String::new();
                    for (e, _) in events.by_ref() {
                        match e {
                            Event::End(TagEnd::Heading(_)) => break,
                            Event::Text(t) | Event::Code(t) => heading.push_str(&t),
                            _ => {}
                        }
                    }
                    if steps.len() == MAX_STEPS {
                        return Err(err(
                            Some(line(range.start)),
                            format!("a lesson has at most {MAX_STEPS} steps"),
                        ));
                    }
                    let at = line(range.start);
                    steps.push((
                        Lines {
                            step: at,
                            changes: at,
                            goal: at,
                            solution: at,
                        },
                        Step {
                            title: heading.trim().to_string(),
                            text: String::new(),
                            task: None,
                            hints: Vec::new(),
                            changes: Vec::new(),
                            predict: None,
                            goal: None,
                            solution: Vec::new(),
                        },
                    ));
                }
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if depth == 0 => {
                    let mut code = String::new();
                    let mut code_start = None;
                    for (e, r) in events.by_ref() {
                        match e {
                            Event::End(TagEnd::CodeBlock) => break,
                            Event::Text(t) => {
                                code_start.get_or_insert(r.start);
                                code.push_str(&t);
                            }
                            _ => {}
                        }
                    }
                    // JSON line numbers count from the block's first line.
                    let first = code_start.map_or(line(range.start) + 1, line);
                    let at =
                        |l: Option<usize>| Some(l.map_or(line(range.start), |l| first + l - 1));
                    let kind = info.split_whitespace().next().unwrap_or("").to_string();
                    if let Some((lines, _)) = steps.last_mut() {
                        match kind.as_str() {
                            "changes" => lines.changes = first,
                            "goal" => lines.goal = first,
                            "solution" => lines.solution = first,
                            _ => {}
                        }
                    }
                    let step = steps.last_mut().map(|(_, s)| s);
                    match (kind.as_str(), step) {
                        ("scenario", None) => {
                            if scenario.is_some() {
                                return Err(err(at(None), "a lesson has one scenario block"));
                            }
                            scenario = Some(Scenario::parse(&code).map_err(|es| {
                                let e = &es.0[0];
                                let field = if e.path.is_empty() {
                                    String::new()
                                } else {
                                    format!("{}: ", e.path)
                                };
                                err(at(e.line), format!("scenario: {field}{}", e.message))
                            })?);
                        }
                        ("scenario", Some(_)) => {
                            return Err(err(
                                at(None),
                                "the scenario block comes before the first step; a step \
                                 changes it with a `changes` block",
                            ));
                        }
                        ("changes" | "solution", Some(step)) => {
                            let list: Vec<serde_json::Value> = serde_json::from_str(&code)
                                .map_err(|e| {
                                    err(at(json_error_line(&e)), format!("{kind}: {e}"))
                                })?;
                            if list.len() > MAX_CHANGES {
                                return Err(err(
                                    at(None),
                                    format!("{kind}: at most {MAX_CHANGES} entries"),
                                ));
                            }
                            let parsed = list
                                .into_iter()
                                .map(Change::from_json)
                                .collect::<Result<Vec<_>, _>>()
                                .map_err(|e| err(at(None), format!("{kind}: {e}")))?;
                            let into = if kind == "changes" {
                                &mut step.changes
                            } else {
                                &mut step.solution
                            };
                            if !into.is_empty() {
                                return Err(err(at(None), format!("a step has one {kind} block")));
                            }
                            *into = parsed;
                        }
                        ("predict", Some(step)) => {
                            let p: Predict = serde_json::from_str(&code).map_err(|e| {
                                err(at(json_error_line(&e)), format!("predict: {e}"))
                            })?;
                            if !(2..=6).contains(&p.choices.len()) || p.answer >= p.choices.len() {
                                return Err(err(
                                    at(None),
                                    "predict: two to six choices, and an answer that is the \
                                     index of one (0 is the first)",
                                ));
                            }
                            step.predict = Some(p);
                        }
                        ("goal", Some(step)) => {
                            if step.goal.is_some() {
                                return Err(err(at(None), "a step has one goal block"));
                            }
                            step.goal = Some(
                                Goal::parse(&code)
                                    .map_err(|e| err(at(None), format!("goal: {e}")))?,
                            );
                        }
                        ("changes" | "solution" | "predict" | "goal", None) => {
                            return Err(err(
                                at(None),
                                format!("a {kind} block belongs in a step (after a ## heading)"),
                            ));
                        }
                        _ => {
                            // Any other fenced block (an example, a diagram) is text.
                            push_markdown(&mut steps, &mut intro, &body[range.clone()]);
                        }
                    }
                }
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H1,
                    ..
                }) if depth == 0 => {
                    // The H1 repeats the title; the page shows the front matter's.
                    for (e, _) in events.by_ref() {
                        if let Event::End(TagEnd::Heading(_)) = e {
                            break;
                        }
                    }
                }
                Event::Start(Tag::Paragraph) if depth == 0 => {
                    let src = body[range.clone()].trim_end();
                    for (e, _) in events.by_ref() {
                        if let Event::End(TagEnd::Paragraph) = e {
                            break;
                        }
                    }
                    let at = Some(line(range.start));
                    if let Some(rest) = src.strip_prefix("Try:") {
                        let step = steps
                            .last_mut()
                            .ok_or_else(|| err(at, "a Try: paragraph belongs in a step"))?;
                        if step.1.task.is_some() {
                            return Err(err(at, "a step has one Try: paragraph"));
                        }
                        step.1.task = Some(rest.trim().to_string());
                    } else if let Some(rest) = src.strip_prefix("Hint:") {
                        let step = steps
                            .last_mut()
                            .ok_or_else(|| err(at, "a Hint: paragraph belongs in a step"))?;
                        if step.1.hints.len() == MAX_HINTS {
                            return Err(err(at, format!("a step has at most {MAX_HINTS} hints")));
                        }
                        step.1.hints.push(rest.trim().to_string());
                    } else {
                        push_markdown(&mut steps, &mut intro, src);
                    }
                }
                Event::Start(_) => {
                    if depth == 0 {
                        push_markdown(&mut steps, &mut intro, body[range.clone()].trim_end());
                    }
                    depth += 1;
                }
                Event::End(_) => depth = depth.saturating_sub(1),
                Event::Rule | Event::Html(_) if depth == 0 => {
                    push_markdown(&mut steps, &mut intro, body[range.clone()].trim_end());
                }
                _ => {}
            }
        }
        let scenario = scenario.ok_or_else(|| {
            err(
                None,
                "the lesson has no ```scenario block (it goes before the first ## step)",
            )
        })?;
        if steps.is_empty() {
            return Err(err(
                None,
                "the lesson has no steps (each starts with a ## heading)",
            ));
        }
        let lesson = Lesson {
            title,
            summary,
            minutes,
            intro: intro.trim().to_string(),
            scenario,
            steps: steps.iter().map(|(_, s)| s.clone()).collect(),
        };
        for (i, (lines, step)) in steps.iter().enumerate() {
            let name = format!("step {} ({})", i + 1, step.title);
            let s = step
                .scenario(&lesson)
                .map_err(|e| err(Some(lines.changes), format!("{name}: changes: {e}")))?;
            if let Some(g) = &step.goal {
                let world = s
                    .build(None)
                    .map_err(|e| err(Some(lines.step), e.to_string()))?;
                g.check_names(&Report::of(&world))
                    .map_err(|e| err(Some(lines.goal), format!("{name}: goal: {e}")))?;
                if step.solution.is_empty() {
                    return Err(err(
                        Some(lines.goal),
                        format!("{name}: a step with a goal needs a solution"),
                    ));
                }
                step.solved(&lesson)
                    .map_err(|e| err(Some(lines.solution), format!("{name}: solution: {e}")))?;
            } else if !step.solution.is_empty() {
                return Err(err(
                    Some(lines.solution),
                    format!("{name}: a solution without a goal"),
                ));
            }
        }
        Ok(lesson)
    }

    /// Runs every step with a goal twice, as it opens and with its solution, and says which
    /// steps are not a puzzle: the goal must fail first and hold after the solution. This is
    /// what `faultline check` and the lesson tests run.
    pub fn verify(&self) -> Result<(), String> {
        for (i, step) in self.steps.iter().enumerate() {
            let Some(goal) = &step.goal else { continue };
            let name = format!("step {} ({})", i + 1, step.title);
            let before = run_for(goal, &step.scenario(self)?)?;
            if let Some(h) = &before.report.halted {
                return Err(format!("{name}: the run halted: {h}"));
            }
            if goal.judge(&before).met {
                return Err(format!(
                    "{name}: the goal is already met before the learner changes anything"
                ));
            }
            let after = run_for(goal, &step.solved(self)?)?;
            let v = goal.judge(&after);
            if !v.met {
                let missed: Vec<String> = v
                    .checks
                    .iter()
                    .filter(|c| !c.met)
                    .map(|c| format!("wants {}, got {}", c.wants, c.got))
                    .collect();
                return Err(format!(
                    "{name}: the solution does not meet the goal: {}",
                    missed.join("; ")
                ));
            }
        }
        Ok(())
    }
}

/// Where a step's parts start in the file, for error messages.
struct Lines {
    step: usize,
    changes: usize,
    goal: usize,
    solution: usize,
}

fn push_markdown(steps: &mut [(Lines, Step)], intro: &mut String, src: &str) {
    let into = match steps.last_mut() {
        Some((_, s)) => &mut s.text,
        None => intro,
    };
    if !into.is_empty() {
        into.push_str("\n\n");
    }
    into.push_str(src);
}

/// Splits `---` front matter from the body; returns (front, body, body's byte offset).
/// A front-matter value without the quotes YAML allows around it (`title: "CAP: a choice"`),
/// which a teacher writes out of habit and a learner must not see.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q))
            && !inner.contains(q)
        {
            return inner;
        }
    }
    v
}

fn split_front_matter(text: &str) -> Result<(&str, &str, usize), LessonError> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(|| {
            err(
                Some(1),
                "a lesson starts with front matter: a '---' line, 'title: ...', 'summary: ...', \
                 and '---'",
            )
        })?;
    let head = text.len() - rest.len();
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let body_start = head + offset + line.len();
            return Ok((&rest[..offset], &text[body_start..], body_start));
        }
        offset += line.len();
    }
    Err(err(Some(1), "the front matter has no closing '---' line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_goal_reads_verdicts_as_the_log_shows_them() {
        use crate::trace::{TraceEvent, TraceKind};
        let names = vec!["store".to_string()];
        let event = |holds| TraceEvent {
            seq: 0,
            time_us: 4_200_000,
            kind: TraceKind::Verdict {
                node: crate::node::NodeId(0),
                name: "linearizable".into(),
                holds,
                detail: "stale read of x".into(),
            },
        };
        let seen = state_seen(&event(Some(false)), &names).expect("a verdict is seen");
        assert_eq!(seen.text, "linearizable: VIOLATED (stale read of x)");
        assert_eq!(seen.node, "store");
        let goal = Goal::parse(r#"{"node": "store", "state": "linearizable: VIOLATED"}"#).unwrap();
        let report = Report {
            seed: 0,
            time_ms: 0.0,
            events: 0,
            trace_hash: String::new(),
            messages: Default::default(),
            in_flight: 0,
            halted: None,
            nodes: Vec::new(),
        };
        let outcome = |holds| Outcome {
            report: report.clone(),
            states: vec![state_seen(&event(holds), &names).unwrap()],
            sweep: None,
        };
        assert!(goal.judge(&outcome(Some(false))).met);
        assert!(
            !goal.judge(&outcome(Some(true))).met,
            "a verdict that holds is not a violation"
        );
    }

    const SCENARIO: &str = r#"{"version": 1, "duration_ms": 5000,
  "nodes": [{"id": "client", "model": {"type": "client", "target": "server",
              "workload": {"type": "open", "rate_per_s": 20}, "timeout_ms": 1000}},
            {"id": "server", "model": {"type": "service",
              "latency": {"type": "constant", "ms": 400}}}],
  "links": [{"a": "client", "b": "server", "latency": {"type": "constant", "ms": 10}}]}"#;

    fn lesson(steps: &str) -> String {
        format!(
            "---\ntitle: T\nsummary: S\n---\n# T\n\nIntro.\n\n```scenario\n{SCENARIO}\n```\n\n{steps}"
        )
    }

    const STEP: &str = "## Tighten\n\nText *here*.\n\nTry: set the timeout.\n\nHint: lower.\n\n```changes\n[{\"node\": \"client\", \"param\": \"timeout_ms\", \"value\": 2000}]\n```\n\n```goal\n{\"node\": \"client\", \"value\": \"p99_ms\", \"at_most\": 300}\n```\n\n```solution\n[{\"node\": \"server\", \"param\": \"latency\", \"value\": {\"type\": \"constant\", \"ms\": 100}}]\n```\n";

    #[test]
    fn front_matter_values_may_be_quoted_as_in_yaml() {
        let text = lesson(STEP).replacen(
            "title: T\nsummary: S",
            "title: \"CAP: a choice\"\nsummary: 'S: quoted'",
            1,
        );
        let l = Lesson::parse(&text).unwrap();
        assert_eq!(l.title, "CAP: a choice");
        assert_eq!(l.summary, "S: quoted");
        // A quote that is part of the text stays.
        let text = lesson(STEP).replacen("title: T", "title: \"Exactly once\" is a myth", 1);
        assert_eq!(
            Lesson::parse(&text).unwrap().title,
            "\"Exactly once\" is a myth"
        );
        let text = lesson(STEP).replacen("title: T", "title: \"A\" or \"B\"", 1);
        assert_eq!(Lesson::parse(&text).unwrap().title, "\"A\" or \"B\"");
    }

    #[test]
    fn a_lesson_reads_into_steps_with_text_task_hints_goal_and_solution() {
        let l = Lesson::parse(&lesson(STEP)).unwrap();
        assert_eq!(l.title, "T");
        assert_eq!(l.intro, "Intro.");
        assert_eq!(l.steps.len(), 1);
        let s = &l.steps[0];
        assert_eq!(s.title, "Tighten");
        assert_eq!(s.text, "Text *here*.");
        assert_eq!(s.task.as_deref(), Some("set the timeout."));
        assert_eq!(s.hints, vec!["lower."]);
        assert_eq!(s.scenario(&l).unwrap().nodes[0].model, {
            let mut m = l.scenario.nodes[0].model.clone();
            m = set_config_field(&m, "timeout_ms", &serde_json::json!(2000)).unwrap();
            m
        });
        l.verify().unwrap();
    }

    #[test]
    fn the_goal_fails_as_the_step_opens_and_holds_with_the_solution() {
        let l = Lesson::parse(&lesson(STEP)).unwrap();
        let step = &l.steps[0];
        let goal = step.goal.as_ref().unwrap();
        let before = goal.judge(&run(&step.scenario(&l).unwrap()).unwrap());
        assert!(!before.met);
        assert_eq!(before.checks[0].wants, "client p99_ms at most 300");
        assert_eq!(
            before.checks[0].got, "client p99_ms = 2000",
            "queueing pushes it to the timeout"
        );
        assert!(goal.judge(&run(&step.solved(&l).unwrap()).unwrap()).met);
    }

    #[test]
    fn a_solution_that_does_not_solve_is_reported() {
        let bad = STEP.replace("\"ms\": 100}", "\"ms\": 350}");
        let l = Lesson::parse(&lesson(&bad)).unwrap();
        let e = l.verify().unwrap_err();
        assert!(e.contains("the solution does not meet the goal"), "{e}");
    }

    #[test]
    fn mistakes_are_reported_at_their_line() {
        let cases = [
            (
                STEP.replace("\"p99_ms\"", "\"p99\""),
                "has no figure 'p99'",
                31,
            ),
            (
                STEP.replace("\"client\", \"param\"", "\"clint\", \"param\""),
                "no node 'clint'",
                27,
            ),
            (
                STEP.replace("\"at_most\": 300", "\"at_most\": 300,"),
                "goal:",
                30,
            ),
            (
                STEP.replace("\"timeout_ms\"", "\"timeout\""),
                "unknown setting 'timeout'",
                27,
            ),
        ];
        for (step, want, line) in cases {
            let e = Lesson::parse(&lesson(&step)).unwrap_err();
            assert!(e.message.contains(want), "{e} lacks {want}");
            assert_eq!(e.line, Some(line), "{e}");
        }
        let e = Lesson::parse("# no front matter").unwrap_err();
        assert!(e.message.contains("front matter"));
        let e = Lesson::parse(&lesson("")).unwrap_err();
        assert!(e.message.contains("no steps"));
        let broken = lesson(STEP).replace("\"duration_ms\": 5000", "\"duration_ms\": \"x\"");
        let e = Lesson::parse(&broken).unwrap_err();
        assert!(e.message.starts_with("scenario: duration_ms"), "{e}");
        assert_eq!(e.line, Some(10));
    }

    #[test]
    fn a_state_goal_looks_for_a_state_change_within_its_window() {
        let s = Scenario::parse(include_str!("../../../tests/scenarios/breaker.json")).unwrap();
        let out = run(&s).unwrap();
        let opened = |from: f64, to: f64| {
            Goal::parse(&format!(
                r#"{{"node": "checkout", "state": "-> OPEN", "from_ms": {from}, "to_ms": {to}}}"#
            ))
            .unwrap()
            .judge(&out)
        };
        // The payments service fails from 10 s: the breaker opens soon after, not before.
        let v = opened(10_000.0, 15_000.0);
        assert!(v.met, "{v:?}");
        assert!(
            v.checks[0].got.contains("CLOSED -> OPEN"),
            "{}",
            v.checks[0].got
        );
        assert_eq!(
            v.checks[0].wants,
            "checkout reports '-> OPEN' between 10.000 s and 15.000 s"
        );
        assert!(!opened(0.0, 9_999.0).met);
        for bad in [
            r#"{"state": "x"}"#,
            r#"{"node": "c", "state": "x", "at_least": 1}"#,
            r#"{"node": "c", "state": "x", "from_ms": 5, "to_ms": 1}"#,
            r#"{"node": "c", "state": "", "from_ms": 1}"#,
            r#"{"node": "c", "state": "x", "value": "y", "at_most": 1}"#,
        ] {
            assert!(Goal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn goals_combine_and_every_condition_is_listed() {
        let g = Goal::parse(
            r#"{"all": [{"node": "client", "value": "successes", "at_least": 1},
                        {"not": {"node": "client", "value": "failures", "at_least": 1},
                         "says": "x"}]}"#,
        );
        assert!(g.unwrap_err().contains("belong with"));
        let g = Goal::parse(
            r#"{"any": [{"node": "client", "value": "successes", "at_least": 1000000},
                        {"not": {"node": "client", "value": "failures", "at_least": 1}}]}"#,
        )
        .unwrap();
        let l = Lesson::parse(&lesson(STEP)).unwrap();
        let v = g.judge(&run(&l.steps[0].solved(&l).unwrap()).unwrap());
        assert!(v.met, "{v:?}");
        assert_eq!(v.checks.len(), 2);
        assert!(!v.checks[0].met);
        assert!(v.checks[1].met);
        assert_eq!(v.checks[1].wants, "not: client failures at least 1");
        for bad in [
            r#"{"node": "c", "value": "x"}"#,
            r#"{"node": "c", "value": "x", "at_least": 2, "at_most": 1}"#,
            r#"{"all": []}"#,
            r#"{"node": "c", "value": "x", "at_most": 1, "all": []}"#,
            r#"{"nod": "c"}"#,
        ] {
            assert!(Goal::parse(bad).is_err(), "{bad}");
        }
        let deep = format!(
            "{}{}{}",
            "{\"not\": ".repeat(20),
            r#"{"node": "c", "value": "x", "at_most": 1}"#,
            "}".repeat(20)
        );
        assert!(Goal::parse(&deep).unwrap_err().contains("deeper"));
    }

    /// A goal on the checker's answer reads "yes", "no" or "not decided yet", never "-1".
    #[test]
    fn a_linearizability_figure_reads_as_words() {
        assert_eq!(fmt_figure("linearizable", 1.0), "yes");
        assert_eq!(fmt_figure("linearizable", 0.0), "no");
        assert_eq!(fmt_figure("linearizable", -1.0), "not decided yet");
        assert_eq!(fmt_figure("retries", 3.0), "3");
    }
}
