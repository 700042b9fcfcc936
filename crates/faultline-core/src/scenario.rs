//! The one scenario format: lessons, share links, the CLI and the page's import and export all
//! speak it. A scenario plus a seed plus its interventions identifies a run completely.
//!
//! The format is JSON, versioned ([`FORMAT_VERSION`]), strict (unknown fields are errors, since a
//! misspelt `timout_ms` that is silently ignored teaches the wrong lesson) and bounded (see
//! [`crate::limits`]). Every error names the field by path (`nodes[1].model.timeout_ms`), says
//! what was expected, and gives the line and column where the text has them.
//! `docs/scenario-format.md` documents it for people.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::dist::{Dist, long_ms_to_us, ms_to_us};
use crate::limits::*;
use crate::models::ModelSpec;
use crate::node::NodeId;
use crate::world::{Action, DirConfig, Parts, World};

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

fn default_duration_ms() -> f64 {
    60_000.0
}
fn default_bucket_ms() -> f64 {
    1_000.0
}
fn is_default_bucket(v: &f64) -> bool {
    *v == default_bucket_ms()
}

/// A scenario: the nodes, the links between them, the timed interventions, and the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Must be [`FORMAT_VERSION`].
    pub version: u32,
    /// A short title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// What the scenario shows, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The seed of every random choice in the run.
    #[serde(default)]
    pub seed: u64,
    /// How long the run lasts, in virtual milliseconds.
    #[serde(default = "default_duration_ms")]
    pub duration_ms: f64,
    /// The width of a metrics time bucket.
    #[serde(
        default = "default_bucket_ms",
        skip_serializing_if = "is_default_bucket"
    )]
    pub metrics_bucket_ms: f64,
    /// The nodes; their order is their index.
    pub nodes: Vec<NodeSpec>,
    /// The links; a message can only travel over a link.
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    /// Faults and setting changes at given times.
    #[serde(default)]
    pub interventions: Vec<Intervention>,
    /// A fault schedule drawn from the seed ([`crate::chaos`]): random crashes, cuts and slow
    /// links, expanded into interventions when the world is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos: Option<crate::chaos::Chaos>,
    /// How the page lays the scenario out; the simulator never reads it.
    #[serde(default, skip_serializing_if = "View::is_empty")]
    pub view: View,
}

/// One node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// A unique id: letters, digits, `-` and `_`.
    pub id: String,
    /// The model and its settings.
    pub model: ModelSpec,
}

/// A link between two nodes. The settings apply to both directions unless `reverse` gives the
/// direction `b -> a` its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One end.
    pub a: String,
    /// The other end.
    pub b: String,
    /// One-way latency.
    #[serde(default = "default_latency")]
    pub latency: Dist,
    /// Probability a message is lost, 0 to 1.
    #[serde(default)]
    pub loss: f64,
    /// Probability a message is delivered twice, 0 to 1.
    #[serde(default)]
    pub duplicate: f64,
    /// Let messages overtake each other (default: FIFO, like a TCP connection).
    #[serde(default)]
    pub reorder: bool,
    /// Messages per second the link carries; absent is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_per_s: Option<f64>,
    /// Messages that may wait for a bandwidth-limited link before new ones are dropped.
    #[serde(default = "default_queue_limit")]
    pub queue_limit: u32,
    /// Settings of the direction `b -> a`, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<DirSpec>,
}

/// The settings of one direction of a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirSpec {
    /// One-way latency.
    #[serde(default = "default_latency")]
    pub latency: Dist,
    /// Probability of loss.
    #[serde(default)]
    pub loss: f64,
    /// Probability of duplication.
    #[serde(default)]
    pub duplicate: f64,
    /// Allow overtaking.
    #[serde(default)]
    pub reorder: bool,
    /// Messages per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_per_s: Option<f64>,
    /// Queue length when bandwidth-limited.
    #[serde(default = "default_queue_limit")]
    pub queue_limit: u32,
}

fn default_latency() -> Dist {
    Dist::constant_ms(1.0)
}
fn default_queue_limit() -> u32 {
    1_000
}

/// Layout and view options for the page. Node positions are view state: the simulator ignores
/// them, but a share link must bring them back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    /// Node positions on the page's 600 x 400 canvas, by node id, as `[x, y]`. The page
    /// scales a layout that does not fit down evenly, so any finite layout is drawn whole.
    #[serde(default)]
    pub positions: BTreeMap<String, [f64; 2]>,
}

impl View {
    fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
}

/// A fault or a change of setting at a given time. Read by hand, as every tagged enum of a
/// scenario (see `tagged`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Intervention {
    /// Cut the link `a`-`b` (only `a -> b` with `one_way`).
    Cut {
        /// When.
        at_ms: f64,
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// Cut only the direction `a -> b` (default false).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        one_way: bool,
    },
    /// Heal the link `a`-`b`, both directions.
    Heal {
        /// When.
        at_ms: f64,
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// Heal every link.
    HealAll {
        /// When.
        at_ms: f64,
    },
    /// Split the nodes into groups that cannot talk to each other; unlisted nodes form one more.
    Partition {
        /// When.
        at_ms: f64,
        /// The groups, by node id.
        groups: Vec<Vec<String>>,
    },
    /// Crash a node (its volatile state is lost).
    Crash {
        /// When.
        at_ms: f64,
        /// Which.
        node: String,
    },
    /// Restart a crashed node.
    Restart {
        /// When.
        at_ms: f64,
        /// Which.
        node: String,
    },
    /// Pause a node (a stop-the-world pause).
    Pause {
        /// When.
        at_ms: f64,
        /// Which.
        node: String,
    },
    /// Resume a paused node.
    Resume {
        /// When.
        at_ms: f64,
        /// Which.
        node: String,
    },
    /// Change a node's setting, e.g. `timeout_ms` or `retry.max_attempts`.
    Set {
        /// When.
        at_ms: f64,
        /// Which node.
        node: String,
        /// The setting, dotted for nested ones.
        param: String,
        /// The new value.
        value: serde_json::Value,
    },
    /// Change a link's `latency`, `loss`, `duplicate` or `reorder`, both directions.
    SetLink {
        /// When.
        at_ms: f64,
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// The setting.
        param: String,
        /// The new value.
        value: serde_json::Value,
    },
    /// Drop the message with this id if it is in flight.
    DropMessage {
        /// When.
        at_ms: f64,
        /// The message id (as in the trace).
        message: u64,
    },
    /// Delay the message with this id if it is in flight.
    DelayMessage {
        /// When.
        at_ms: f64,
        /// The message id.
        message: u64,
        /// The extra delay.
        delay_ms: f64,
    },
}

impl<'de> Deserialize<'de> for Intervention {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(d, Intervention::from_value)
    }
}

impl Intervention {
    /// Reads an intervention from its JSON object: `do` picks the kind.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    fn from_value(v: serde_json::Value) -> Result<Intervention, serde_json::Error> {
        static SHAPE: crate::tagged::Shape<12> = crate::tagged::Shape::new(
            "do",
            "an intervention",
            [
                ("cut", &["at_ms", "a", "b", "one_way"]),
                ("heal", &["at_ms", "a", "b"]),
                ("heal_all", &["at_ms"]),
                ("partition", &["at_ms", "groups"]),
                ("crash", &["at_ms", "node"]),
                ("restart", &["at_ms", "node"]),
                ("pause", &["at_ms", "node"]),
                ("resume", &["at_ms", "node"]),
                ("set", &["at_ms", "node", "param", "value"]),
                ("set_link", &["at_ms", "a", "b", "param", "value"]),
                ("drop_message", &["at_ms", "message"]),
                ("delay_message", &["at_ms", "message", "delay_ms"]),
            ],
        );
        let (name, mut f) = SHAPE.open(v)?;
        let at_ms = f.req("at_ms")?;
        Ok(match name {
            "cut" => Intervention::Cut {
                at_ms,
                a: f.req("a")?,
                b: f.req("b")?,
                one_way: f.or("one_way", false)?,
            },
            "heal" => Intervention::Heal {
                at_ms,
                a: f.req("a")?,
                b: f.req("b")?,
            },
            "heal_all" => Intervention::HealAll { at_ms },
            "partition" => Intervention::Partition {
                at_ms,
                groups: f.req("groups")?,
            },
            // The four that act on one node.
            "crash" | "restart" | "pause" | "resume" => {
                let node = f.req("node")?;
                match name {
                    "crash" => Intervention::Crash { at_ms, node },
                    "restart" => Intervention::Restart { at_ms, node },
                    "pause" => Intervention::Pause { at_ms, node },
                    _ => Intervention::Resume { at_ms, node },
                }
            }
            "set" => Intervention::Set {
                at_ms,
                node: f.req("node")?,
                param: f.req("param")?,
                value: f.req("value")?,
            },
            "set_link" => Intervention::SetLink {
                at_ms,
                a: f.req("a")?,
                b: f.req("b")?,
                param: f.req("param")?,
                value: f.req("value")?,
            },
            "drop_message" => Intervention::DropMessage {
                at_ms,
                message: f.req("message")?,
            },
            "delay_message" => Intervention::DelayMessage {
                at_ms,
                message: f.req("message")?,
                delay_ms: f.req("delay_ms")?,
            },
            other => return Err(SHAPE.unknown(other)),
        })
    }

    /// When it happens, in milliseconds.
    pub fn at_ms(&self) -> f64 {
        match self {
            Intervention::Cut { at_ms, .. }
            | Intervention::Heal { at_ms, .. }
            | Intervention::HealAll { at_ms }
            | Intervention::Partition { at_ms, .. }
            | Intervention::Crash { at_ms, .. }
            | Intervention::Restart { at_ms, .. }
            | Intervention::Pause { at_ms, .. }
            | Intervention::Resume { at_ms, .. }
            | Intervention::Set { at_ms, .. }
            | Intervention::SetLink { at_ms, .. }
            | Intervention::DropMessage { at_ms, .. }
            | Intervention::DelayMessage { at_ms, .. } => *at_ms,
        }
    }

    /// The intervention that records `action` taken at `at_us`, naming nodes by id.
    pub fn from_action(at_us: u64, action: &Action, names: &[String]) -> Intervention {
        let at_ms = at_us as f64 / 1000.0;
        let n = |id: NodeId| names[id.index()].clone();
        match action {
            Action::Cut { a, b, one_way } => Intervention::Cut {
                at_ms,
                a: n(*a),
                b: n(*b),
                one_way: *one_way,
            },
            Action::Heal { a, b } => Intervention::Heal {
                at_ms,
                a: n(*a),
                b: n(*b),
            },
            Action::HealAll => Intervention::HealAll { at_ms },
            Action::Partition { groups } => Intervention::Partition {
                at_ms,
                groups: groups
                    .iter()
                    .map(|g| g.iter().map(|m| n(*m)).collect())
                    .collect(),
            },
            Action::Crash(x) => Intervention::Crash { at_ms, node: n(*x) },
            Action::Restart(x) => Intervention::Restart { at_ms, node: n(*x) },
            Action::Pause(x) => Intervention::Pause { at_ms, node: n(*x) },
            Action::Resume(x) => Intervention::Resume { at_ms, node: n(*x) },
            Action::Set { node, param, value } => Intervention::Set {
                at_ms,
                node: n(*node),
                param: param.clone(),
                value: value.clone(),
            },
            Action::SetLink { a, b, param, value } => Intervention::SetLink {
                at_ms,
                a: n(*a),
                b: n(*b),
                param: param.clone(),
                value: value.clone(),
            },
            Action::DropMessage(id) => Intervention::DropMessage {
                at_ms,
                message: id.0,
            },
            Action::DelayMessage(id, d) => Intervention::DelayMessage {
                at_ms,
                message: id.0,
                delay_ms: *d as f64 / 1000.0,
            },
        }
    }
}

/// A problem with a scenario: where, what, and the line when the text has one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioError {
    /// The field, as a path: `nodes[1].model.timeout_ms`; empty for the whole document.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// 1-based line in the input, when known.
    pub line: Option<usize>,
    /// 1-based column in the input, when known.
    pub column: Option<usize>,
}

impl ScenarioError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "line {l}")?;
            if let Some(c) = self.column {
                write!(f, ", column {c}")?;
            }
            f.write_str(": ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// The errors of one document, as one value (so `?` works on `parse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// Strips serde_json's " at line L column C" suffix: the position is reported separately.
fn bare_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A checked ratio in `[0, 1]` as parts per million.
fn ratio_ppm(v: f64) -> Option<u32> {
    (v.is_finite() && (0.0..=1.0).contains(&v)).then(|| (v * 1_000_000.0).round() as u32)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl DirSpec {
    fn to_config(&self) -> Result<DirConfig, (String, String)> {
        self.latency
            .check()
            .map_err(|(f, m)| (join("latency", &f), m))?;
        let loss_ppm = ratio_ppm(self.loss).ok_or((
            "loss".to_string(),
            format!("expected 0 to 1, got {}", self.loss),
        ))?;
        let duplicate_ppm = ratio_ppm(self.duplicate).ok_or((
            "duplicate".to_string(),
            format!("expected 0 to 1, got {}", self.duplicate),
        ))?;
        let bandwidth_per_s = match self.bandwidth_per_s {
            None => 0,
            Some(b) if b.is_finite() && (1.0..=1_000_000.0).contains(&b) => b.round() as u32,
            Some(b) => {
                return Err((
                    "bandwidth_per_s".into(),
                    format!("expected 1 to 1000000 messages per second, got {b}"),
                ));
            }
        };
        if self.queue_limit > 1_000_000 {
            return Err((
                "queue_limit".into(),
                format!("expected at most 1000000, got {}", self.queue_limit),
            ));
        }
        Ok(DirConfig {
            latency: self.latency.clone(),
            loss_ppm,
            duplicate_ppm,
            reorder: self.reorder,
            bandwidth_per_s,
            queue_limit: self.queue_limit,
        })
    }
}

impl LinkSpec {
    /// A plain link between `a` and `b`: this latency both ways, no loss, FIFO, unlimited.
    pub fn between(a: &str, b: &str, latency: Dist) -> LinkSpec {
        LinkSpec {
            a: a.into(),
            b: b.into(),
            latency,
            loss: 0.0,
            duplicate: 0.0,
            reorder: false,
            bandwidth_per_s: None,
            queue_limit: default_queue_limit(),
            reverse: None,
        }
    }

    /// The settings of the direction `a -> b`.
    pub fn forward(&self) -> DirSpec {
        DirSpec {
            latency: self.latency.clone(),
            loss: self.loss,
            duplicate: self.duplicate,
            reorder: self.reorder,
            bandwidth_per_s: self.bandwidth_per_s,
            queue_limit: self.queue_limit,
        }
    }
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Changes one setting of a link direction (the `set_link` intervention).
// Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
#[inline]
pub fn set_dir_param(
    cfg: &mut DirConfig,
    param: &str,
    value: &serde_json::Value,
) -> Result<(), String> {
    match param {
        "latency" => {
            let d: Dist = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
            d.check().map_err(|(f, m)| join(&f, &m))?;
            cfg.latency = d;
        }
        "loss" | "duplicate" => {
            let v = value
                .as_f64()
                .and_then(ratio_ppm)
                .ok_or_else(|| format!("expected a number from 0 to 1, got {value}"))?;
            if param == "loss" {
                cfg.loss_ppm = v;
            } else {
                cfg.duplicate_ppm = v;
            }
        }
        "reorder" => {
            cfg.reorder = value
                .as_bool()
                .ok_or_else(|| format!("expected true or false, got {value}"))?
        }
        // Messages already waiting keep their departure times; the new rate paces the next.
        "bandwidth_per_s" => {
            cfg.bandwidth_per_s = match value.as_f64() {
                _ if value.is_null() => 0,
                Some(b) if b.is_finite() && (1.0..=1_000_000.0).contains(&b) => b.round() as u32,
                _ => {
                    return Err(format!(
                        "expected 1 to 1000000 messages per second, or null for unlimited, got {value}"
                    ));
                }
            }
        }
        "queue_limit" => {
            cfg.queue_limit =
                value.as_u64().filter(|q| *q <= 1_000_000).ok_or_else(|| {
                    format!("expected a whole number from 0 to 1000000, got {value}")
                })? as u32
        }
        _ => {
            return Err(format!(
                "unknown link setting '{param}' (expected latency, loss, duplicate, reorder, \
                 bandwidth_per_s or queue_limit)"
            ));
        }
    }
    Ok(())
}

/// Sets one field of a serialisable configuration by dotted path, through serde, so the same
/// type checks and unknown-field checks as the scenario apply. Returns the new configuration.
pub fn set_config_field<T>(cfg: &T, path: &str, value: &serde_json::Value) -> Result<T, String>
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    let mut doc = crate::jsonpos::value_of(cfg);
    let mut at = &mut doc;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        // A list's items by index (`downstream.calls.0.retry.max_attempts`).
        if at.is_array()
            && let Ok(k) = part.parse::<usize>()
        {
            let list = at.as_array_mut().expect("checked");
            let n = list.len();
            at = list
                .get_mut(k)
                .ok_or_else(|| format!("'{path}': no item {k} in a list of {n}"))?;
            continue;
        }
        let obj = at
            .as_object_mut()
            .ok_or_else(|| format!("'{}' is not a group of settings", parts[..i].join(".")))?;
        // A model's settings carry its `type` tag beside them: it names the model, and is not
        // one of its settings (a node does not turn into another model).
        let tag = i == 0 && obj.contains_key("type");
        if tag && *part == "type" {
            return Err("'type' is the model itself, not one of its settings".into());
        }
        if !obj.contains_key(*part) {
            let known: Vec<&str> = obj
                .keys()
                .map(String::as_str)
                .filter(|k| !(tag && *k == "type"))
                .collect();
            let unknown = format!(
                "unknown setting '{path}' (known here: {})",
                known.join(", ")
            );
            // A setting left out because it is off (`"bandwidth_per_s": null` is not written)
            // still exists: it is one the settings accept and keep when given.
            if i + 1 < parts.len() {
                return Err(unknown);
            }
            obj.insert((*part).to_string(), value.clone());
            let next: T = serde_json::from_value(doc).map_err(|_| unknown.clone())?;
            let kept = crate::jsonpos::value_of(&next);
            let got = parts.iter().try_fold(&kept, |v, k| v.get(*k));
            // Numbers compare as numbers: `15` given is `15.0` kept.
            let same = match (got, value) {
                (Some(a), b) if a.is_number() && b.is_number() => a.as_f64() == b.as_f64(),
                (Some(a), b) => a == b,
                (None, _) => false,
            };
            return if same { Ok(next) } else { Err(unknown) };
        }
        at = obj.get_mut(*part).expect("checked");
    }
    *at = value.clone();
    serde_json::from_value(doc).map_err(|e| format!("{path}: {e}"))
}

impl Scenario {
    /// Reads and checks a scenario from JSON text.
    // Cold code: `inline` lets the page compile it at its own opt-level "z" (see Cargo.toml).
    #[inline]
    pub fn parse(text: &str) -> Result<Scenario, ScenarioErrors> {
        if text.len() > MAX_SCENARIO_BYTES {
            return Err(ScenarioErrors(vec![ScenarioError::at(
                "",
                format!(
                    "the scenario is {} bytes; the limit is {MAX_SCENARIO_BYTES}",
                    text.len()
                ),
            )]));
        }
        // Text to a `Value` first, then the `Value` to the types: every reader in the page goes
        // through `Value` (models' settings, live changes, links, lessons), so each type's reader
        // is compiled for that one deserialiser, not also for the text one (ARCHITECTURE.md).
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return Err(ScenarioErrors(vec![ScenarioError {
                    path: String::new(),
                    message: bare_message(&e),
                    line: (e.line() > 0).then(|| e.line()),
                    column: (e.line() > 0).then(|| e.column()),
                }]));
            }
        };
        // The version first, so a newer file gets "made by a newer Faultline", not a field error.
        if let Some(v) = value.get("version").and_then(|v| v.as_u64())
            && v != u64::from(FORMAT_VERSION)
        {
            let mut e = ScenarioError::at("version", version_message(v));
            e.line = crate::jsonpos::line_of(text, "version");
            return Err(ScenarioErrors(vec![e]));
        }
        let scenario: Scenario = match serde_path_to_error::deserialize(value) {
            Ok(s) => s,
            Err(e) => {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                let mut err = ScenarioError::at(&path, bare_message(e.inner()));
                // An unknown field is found in the text by its own name, so the line is the
                // misspelt field's, not its object's.
                let field = err
                    .message
                    .strip_prefix("unknown field `")
                    .and_then(|r| r.split('`').next());
                err.line = field
                    .filter(|_| !path.is_empty())
                    .and_then(|f| crate::jsonpos::line_of(text, &join(&path, f)))
                    .or_else(|| crate::jsonpos::line_of(text, &path));
                return Err(ScenarioErrors(vec![err]));
            }
        };
        match scenario.validate() {
            Ok(()) => Ok(scenario),
            Err(mut errs) => {
                for e in &mut errs.0 {
                    e.line = crate::jsonpos::line_of(text, &e.path);
                }
                Err(errs)
            }
        }
    }

    /// Pretty JSON, the format's canonical text.
    // Cold code: `inline` lets the page compile it at its own opt-level "z" (see Cargo.toml).
    #[inline]
    pub fn to_json(&self) -> String {
        // Compact, then indented: the page then carries one scenario writer (see `indent`).
        let compact = serde_json::to_string(self).expect("a scenario always serialises");
        crate::jsonpos::indent(&compact)
    }

    /// Checks everything a parse cannot: limits, references, ranges. Returns every problem.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn validate(&self) -> Result<(), ScenarioErrors> {
        self.resolve().map(|_| ())
    }

    /// Builds the world for this scenario; `seed` overrides the scenario's own.
    /// A chaos schedule is drawn from the seed the run uses, so each seed has its own faults.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn build(&self, seed: Option<u64>) -> Result<World, ScenarioErrors> {
        let mut parts = match &self.chaos {
            None => self.resolve()?,
            Some(_) => {
                self.resolve()?; // the schedule's own errors, with their paths
                self.with_chaos_expanded(seed.unwrap_or(self.seed))
                    .resolve()?
            }
        };
        if let Some(s) = seed {
            parts.seed = s;
        }
        Ok(World::from_parts(parts))
    }

    /// The run's length in microseconds.
    pub fn duration_us(&self) -> u64 {
        long_ms_to_us(self.duration_ms)
    }

    /// Checks every `set` intervention in the order the run applies them (by time, then as
    /// written), each against its node's settings as the earlier sets left them. Keyed by the
    /// intervention's index; a `set` at a bad time or on an unknown node is left out (its own
    /// error says why).
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    fn check_sets(
        &self,
        nodes: &[Box<dyn crate::node::Node>],
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> BTreeMap<usize, Result<(), String>> {
        let mut checked = BTreeMap::new();
        if nodes.len() != self.nodes.len() {
            return checked; // a node failed to build (reported): the indices would not match
        }
        let duration_us = self.duration_us();
        let mut sets: Vec<(u64, usize)> = self
            .interventions
            .iter()
            .enumerate()
            .filter(|(_, iv)| matches!(iv, Intervention::Set { .. }))
            .map(|(i, iv)| (iv.at_ms(), i))
            .filter(|(at, _)| at.is_finite() && *at >= 0.0 && long_ms_to_us(*at) <= duration_us)
            .map(|(at, i)| (long_ms_to_us(at), i))
            .collect();
        crate::order::sort(&mut sets);
        let mut probes: BTreeMap<NodeId, Box<dyn crate::node::Node>> = BTreeMap::new();
        for (_, i) in sets {
            let Intervention::Set {
                node, param, value, ..
            } = &self.interventions[i]
            else {
                continue;
            };
            let Some(id) = lookup(node) else {
                continue;
            };
            let probe = probes
                .entry(id)
                .or_insert_with(|| nodes[id.index()].clone_box());
            checked.insert(
                i,
                crate::models::set_param(&mut **probe, param, value).map(|_| ()),
            );
        }
        checked
    }

    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    fn resolve(&self) -> Result<Parts, ScenarioErrors> {
        // A RefCell, so the nested lookups below can all report into one list.
        let errs = std::cell::RefCell::new(Vec::new());
        let mut err = |p: String, m: String| errs.borrow_mut().push(ScenarioError::at(p, m));
        if self.version != FORMAT_VERSION {
            err("version".into(), version_message(u64::from(self.version)));
        }
        for (field, text) in [("title", &self.title), ("description", &self.description)] {
            if text.chars().count() > MAX_TEXT_CHARS {
                err(field.into(), format!("at most {MAX_TEXT_CHARS} characters"));
            }
        }
        if !(self.duration_ms.is_finite()
            && self.duration_ms > 0.0
            && self.duration_ms * 1000.0 <= MAX_DURATION_US as f64)
        {
            err(
                "duration_ms".into(),
                format!(
                    "expected more than 0 and at most {} ms, got {}",
                    MAX_DURATION_US / 1000,
                    self.duration_ms
                ),
            );
        }
        if !(self.metrics_bucket_ms.is_finite()
            && (10.0..=60_000.0).contains(&self.metrics_bucket_ms))
        {
            err(
                "metrics_bucket_ms".into(),
                format!("expected 10 to 60000, got {}", self.metrics_bucket_ms),
            );
        }
        if self.nodes.is_empty() || self.nodes.len() > MAX_NODES {
            err(
                "nodes".into(),
                format!("expected 1 to {MAX_NODES} nodes, got {}", self.nodes.len()),
            );
        }
        if self.links.len() > MAX_LINKS {
            err(
                "links".into(),
                format!(
                    "expected at most {MAX_LINKS} links, got {}",
                    self.links.len()
                ),
            );
        }
        if self.interventions.len() > MAX_INTERVENTIONS {
            err(
                "interventions".into(),
                format!(
                    "expected at most {MAX_INTERVENTIONS}, got {}",
                    self.interventions.len()
                ),
            );
        }
        if !errs.borrow().is_empty() {
            return Err(ScenarioErrors(errs.take()));
        }
        let names: Vec<String> = self.nodes.iter().map(|n| n.id.clone()).collect();
        // The first node with an id owns it; a later one is the duplicate to report.
        let mut index: BTreeMap<&str, NodeId> = BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            index.entry(n.as_str()).or_insert(NodeId(i as u16));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if !valid_id(&n.id) {
                err(
                    format!("nodes[{i}].id"),
                    format!(
                        "'{}' is not a valid id: 1 to {MAX_ID_CHARS} letters, digits, '-' or '_'",
                        n.id
                    ),
                );
            } else if index.get(n.id.as_str()) != Some(&NodeId(i as u16)) {
                err(
                    format!("nodes[{i}].id"),
                    format!("'{}' is used by another node", n.id),
                );
            }
        }
        let lookup = |id: &str| index.get(id).copied();
        let mut nodes = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            match n.model.build(NodeId(i as u16), &lookup) {
                Ok(node) => nodes.push(node),
                Err((f, m)) => err(join(&format!("nodes[{i}].model"), &f), m),
            }
        }
        let mut links = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, l) in self.links.iter().enumerate() {
            let p = format!("links[{i}]");
            let a = lookup(&l.a);
            let b = lookup(&l.b);
            if a.is_none() {
                err(format!("{p}.a"), format!("no node has the id '{}'", l.a));
            }
            if b.is_none() {
                err(format!("{p}.b"), format!("no node has the id '{}'", l.b));
            }
            let fwd = l
                .forward()
                .to_config()
                .map_err(|(f, m)| err(format!("{p}.{f}"), m));
            let rev = match &l.reverse {
                None => l.forward().to_config().map_err(|_| ()),
                Some(r) => r
                    .to_config()
                    .map_err(|(f, m)| err(format!("{p}.reverse.{f}"), m)),
            };
            if let (Some(a), Some(b), Ok(f), Ok(r)) = (a, b, fwd, rev) {
                if a == b {
                    err(format!("{p}.b"), "a link joins two different nodes".into());
                } else if !seen.insert((a.min(b), a.max(b))) {
                    err(p.clone(), format!("{} and {} are already linked", l.a, l.b));
                } else {
                    links.push((a, b, f, r));
                }
            }
        }
        let linked = |a: NodeId, b: NodeId| seen.contains(&(a.min(b), a.max(b)));
        let mut actions = Vec::new();
        let duration_us = self.duration_us();
        // A `set` is checked against the node's settings as the earlier sets leave them (the
        // run applies them in time order, then as written), not against its first settings:
        // "min 12, then max 24" is fine where "max 24" alone is not.
        let set_checks = self.check_sets(&nodes, &lookup);
        for (i, iv) in self.interventions.iter().enumerate() {
            let p = format!("interventions[{i}]");
            let at = iv.at_ms();
            if !(at.is_finite() && at >= 0.0 && long_ms_to_us(at) <= duration_us) {
                err(
                    format!("{p}.at_ms"),
                    format!(
                        "expected 0 to the scenario's duration ({} ms), got {at}",
                        self.duration_ms
                    ),
                );
                continue;
            }
            let node =
                |field: &str, id: &str, errs: &mut dyn FnMut(String, String)| -> Option<NodeId> {
                    let r = lookup(id);
                    if r.is_none() {
                        errs(format!("{p}.{field}"), format!("no node has the id '{id}'"));
                    }
                    r
                };
            let pair = |a: &str,
                        b: &str,
                        errs: &mut dyn FnMut(String, String)|
             -> Option<(NodeId, NodeId)> {
                let (x, y) = (node("a", a, errs), node("b", b, errs));
                let (x, y) = (x?, y?);
                if !linked(x, y) {
                    errs(p.clone(), format!("there is no link between {a} and {b}"));
                    return None;
                }
                Some((x, y))
            };
            let action = match iv {
                Intervention::Cut { a, b, one_way, .. } => {
                    pair(a, b, &mut err).map(|(a, b)| Action::Cut {
                        a,
                        b,
                        one_way: *one_way,
                    })
                }
                Intervention::Heal { a, b, .. } => {
                    pair(a, b, &mut err).map(|(a, b)| Action::Heal { a, b })
                }
                Intervention::HealAll { .. } => Some(Action::HealAll),
                Intervention::Partition { groups, .. } => {
                    let mut used = std::collections::BTreeSet::new();
                    let mut ok = true;
                    let mut gs = Vec::new();
                    for (g, members) in groups.iter().enumerate() {
                        let mut ids = Vec::new();
                        for (k, m) in members.iter().enumerate() {
                            match lookup(m) {
                                Some(id) if used.insert(id) => ids.push(id),
                                Some(_) => {
                                    ok = false;
                                    err(
                                        format!("{p}.groups[{g}][{k}]"),
                                        format!("{m} is in two groups"),
                                    );
                                }
                                None => {
                                    ok = false;
                                    err(
                                        format!("{p}.groups[{g}][{k}]"),
                                        format!("no node has the id '{m}'"),
                                    );
                                }
                            }
                        }
                        gs.push(ids);
                    }
                    ok.then_some(Action::Partition { groups: gs })
                }
                Intervention::Crash { node: n, .. } => node("node", n, &mut err).map(Action::Crash),
                Intervention::Restart { node: n, .. } => {
                    node("node", n, &mut err).map(Action::Restart)
                }
                Intervention::Pause { node: n, .. } => node("node", n, &mut err).map(Action::Pause),
                Intervention::Resume { node: n, .. } => {
                    node("node", n, &mut err).map(Action::Resume)
                }
                Intervention::Set {
                    node: n,
                    param,
                    value,
                    ..
                } => {
                    let id = node("node", n, &mut err);
                    match (id, set_checks.get(&i)) {
                        (Some(id), Some(Ok(()))) => Some(Action::Set {
                            node: id,
                            param: param.clone(),
                            value: value.clone(),
                        }),
                        (Some(_), Some(Err(e))) => {
                            err(format!("{p}.value"), e.clone());
                            None
                        }
                        _ => None,
                    }
                }
                Intervention::SetLink {
                    a, b, param, value, ..
                } => {
                    let r = pair(a, b, &mut err);
                    match set_dir_param(&mut DirConfig::default(), param, value) {
                        Ok(()) => r.map(|(a, b)| Action::SetLink {
                            a,
                            b,
                            param: param.clone(),
                            value: value.clone(),
                        }),
                        Err(e) => {
                            err(format!("{p}.param"), e);
                            None
                        }
                    }
                }
                Intervention::DropMessage { message, .. } => {
                    Some(Action::DropMessage(crate::msg::MsgId(*message)))
                }
                Intervention::DelayMessage {
                    message, delay_ms, ..
                } => {
                    if delay_ms.is_finite()
                        && *delay_ms >= 0.0
                        && ms_to_us(*delay_ms) < MAX_DELAY_US
                    {
                        Some(Action::DelayMessage(
                            crate::msg::MsgId(*message),
                            ms_to_us(*delay_ms),
                        ))
                    } else {
                        err(
                            format!("{p}.delay_ms"),
                            format!("expected 0 to {} ms, got {delay_ms}", MAX_DELAY_US / 1000),
                        );
                        None
                    }
                }
            };
            if let Some(a) = action {
                actions.push((long_ms_to_us(at), a));
            }
        }
        for (id, xy) in &self.view.positions {
            if lookup(id).is_none() {
                err(
                    format!("view.positions.{id}"),
                    format!("no node has the id '{id}'"),
                );
            } else if !xy.iter().all(|v| v.is_finite() && v.abs() <= 100_000.0) {
                err(
                    format!("view.positions.{id}"),
                    "expected coordinates within +-100000".into(),
                );
            }
        }
        if let Some(chaos) = &self.chaos {
            for (path, message) in chaos.check(self) {
                err(format!("chaos.{path}"), message);
            }
        }
        if !errs.borrow().is_empty() {
            return Err(ScenarioErrors(errs.take()));
        }
        // Interventions at the same moment apply in the order written; the queue's sequence
        // numbers keep that order.
        crate::order::sort_by_key(&mut actions, |(t, _)| *t);
        Ok(Parts {
            seed: self.seed,
            names,
            nodes,
            links,
            actions,
            bucket_us: ms_to_us(self.metrics_bucket_ms),
            trace_capacity: DEFAULT_TRACE_CAPACITY,
            settings: crate::world::Settings::READ,
        })
    }
}

fn version_message(v: u64) -> String {
    if v > u64::from(FORMAT_VERSION) {
        format!(
            "this scenario was made by a newer Faultline (format version {v}); this one reads version {FORMAT_VERSION}"
        )
    } else {
        format!("unknown format version {v}; this Faultline reads version {FORMAT_VERSION}")
    }
}
