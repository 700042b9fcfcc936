//! What the panels draw, derived from the [`Page`]'s run: charts, the event log, the invariants,
//! the space-time diagram, the inspector, the lesson's goal, the numbers.
//!
//! Each is computed here, once per change, and held in the page in an `Rc`; the components take
//! them as props, so a panel whose data did not change is skipped by Yew's props comparison. While
//! a run plays, [`Page`]'s frame refreshes them on a schedule (see `state.rs`); after any other
//! action, all at once.

use faultline_core::NodeId;
use faultline_core::lesson::Check;
use faultline_core::scenario::Intervention;
use faultline_core::trace::{Fault, TraceKind};
use faultline_core::world::{Action as CoreAction, Liveness};

use crate::action::LogKind;
use crate::controls::Param;
use crate::lessons::OpenLesson;
use crate::session::Session;

/// Lines kept in the event log view.
pub const LOG_LINES: usize = 80;

/// Milliseconds for people: one decimal under 10 ms.
pub fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// One setting in the inspector: what it is and its value at the playhead.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamValue {
    /// The setting.
    pub param: Param,
    /// Its value now (`null` for an optional setting that is off).
    pub value: serde_json::Value,
}

/// One link of the inspected node, both ways.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkRow {
    /// The link's ends, as the core names them.
    pub a: NodeId,
    /// The other end.
    pub b: NodeId,
    /// The node at the other end.
    pub other: String,
    /// `a-b` by name, for element ids.
    pub key: String,
    /// Loss out and back, parts per million.
    pub loss_ppm: (u32, u32),
    /// Bandwidth out and back, messages per second (`None`: unlimited).
    pub bandwidth: (Option<u32>, Option<u32>),
}

/// Sandbox controls of the inspected node: who it can be linked to and unlinked from.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildRow {
    /// Nodes it is not linked to.
    pub can_link: Vec<String>,
    /// Nodes it is linked to.
    pub can_unlink: Vec<String>,
}

/// The inspector's content.
#[derive(Clone, Debug, PartialEq)]
pub struct InspectorModel {
    /// The node.
    pub id: NodeId,
    /// Its name.
    pub name: String,
    /// Its model, as the scenario names it.
    pub kind: &'static str,
    /// Its state in a few words.
    pub state: String,
    /// Up, crashed or paused.
    pub live: Liveness,
    /// The model's rows.
    pub rows: Vec<(String, String)>,
    /// Its settings, with values at the playhead.
    pub params: Vec<ParamValue>,
    /// Its links.
    pub links: Vec<LinkRow>,
    /// One of its links is cut.
    pub has_cut: bool,
    /// Sandbox controls (not in a lesson, nor embedded).
    pub build: Option<BuildRow>,
    /// A classroom link hides the crash and pause buttons.
    pub hide_actions: bool,
    /// A classroom link hides the settings.
    pub hide_settings: bool,
}

/// The goal's live part.
#[derive(Clone, Debug, PartialEq)]
pub struct GoalModel {
    /// Each condition, with what the run gave.
    pub checks: Vec<Check>,
    /// The run is at its end.
    pub at_end: bool,
    /// At the end, the goal holds.
    pub met: bool,
    /// What to tell the learner.
    pub status: String,
    /// Met in an earlier run.
    pub done: bool,
}

/// The lesson panel's state.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonModel {
    /// Which step, and what was revealed.
    pub open: OpenLesson,
    /// The goal, when the step has one.
    pub goal: Option<GoalModel>,
    /// A classroom link hides the solution.
    pub hide_solution: bool,
    /// The order the prediction's choices are shown in (indexes into the written choices).
    pub order: Vec<usize>,
    /// The nodes and links the step's text names, highlighted on the canvas.
    pub mentions: std::rc::Rc<crate::mentions::Mentions>,
}

/// The order to show `n` choices in for this learner and step: a shuffle seeded by both, so the
/// right answer sits at no habitual place, and a reload shows the same order.
pub fn choice_order(learner: u64, lesson: &str, step: usize, n: usize) -> Vec<usize> {
    // FNV-1a over the step's name, mixed with the learner's number (splitmix64 steps).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in lesson.bytes().chain((step as u64).to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let mut x = h ^ learner;
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    order
}

/// A row of the table of numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct StatRow {
    /// Node name.
    pub name: String,
    /// Its model.
    pub kind: &'static str,
    /// Requests that succeeded.
    pub ok: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Median latency, for people.
    pub p50: String,
    /// 99th percentile, for people.
    pub p99: String,
}

/// A node's state in a few words, for its badge and its accessible name.
pub fn node_state(world: &faultline_core::world::World, id: NodeId) -> String {
    match world.liveness(id) {
        Liveness::Up => world.node(id).status(),
        Liveness::Crashed => "crashed".to_string(),
        Liveness::Paused => "paused".to_string(),
    }
}

/// The node's settings as they stand at the playhead: the scenario's, with every `set`
/// intervention up to now applied.
pub fn current_config(s: &Session, id: NodeId) -> serde_json::Value {
    let mut cfg = faultline_core::jsonpos::value_of(&s.scenario.nodes[id.index()].model);
    let now = s.world.now_us();
    let name = &s.scenario.nodes[id.index()].id;
    let scripted = s.scenario.interventions.iter().filter_map(|iv| match iv {
        Intervention::Set {
            at_ms,
            node,
            param,
            value,
        } if node == name && faultline_core::dist::ms_to_us(*at_ms) <= now => {
            Some((param.as_str(), value))
        }
        _ => None,
    });
    let learner = s.user.iter().filter_map(|(at, a)| match a {
        CoreAction::Set { node, param, value } if *node == id && *at <= now => {
            Some((param.as_str(), value))
        }
        _ => None,
    });
    for (param, value) in scripted.chain(learner) {
        if let Ok(next) = faultline_core::scenario::set_config_field(&cfg, param, value) {
            cfg = next;
        }
    }
    cfg
}

/// A short sentence for the live region about the trace events that matter to a listener.
pub fn narrate(kind: &TraceKind, names: &[String]) -> Option<String> {
    let n = |id: &NodeId| names.get(id.index()).cloned().unwrap_or_default();
    Some(match kind {
        TraceKind::Fault { fault } => match fault {
            Fault::Cut { from, to } => format!("Link from {} to {} cut.", n(from), n(to)),
            Fault::Heal { from, to } => format!("Link from {} to {} healed.", n(from), n(to)),
            Fault::Crash { node } => format!("{} crashed.", n(node)),
            Fault::Restart { node } => format!("{} restarted.", n(node)),
            Fault::Pause { node } => format!("{} paused.", n(node)),
            Fault::Resume { node } => format!("{} resumed.", n(node)),
            _ => return None,
        },
        TraceKind::State { node, text } => format!("{}: {text}.", n(node)),
        TraceKind::Notice { text } => text.clone(),
        TraceKind::Verdict {
            node,
            name,
            holds: Some(false),
            detail,
        } => format!("{}: {name} violated. {detail}", n(node)),
        _ => return None,
    })
}

impl LogKind {
    /// The kind of a trace event's line.
    pub fn of(kind: &TraceKind) -> LogKind {
        match kind {
            TraceKind::Sent { .. } | TraceKind::Delivered { .. } | TraceKind::Dropped { .. } => {
                LogKind::Messages
            }
            TraceKind::TimerFired { .. } => LogKind::Timers,
            _ => LogKind::Changes,
        }
    }

    /// Whether the event concerns node `n`.
    pub fn involves(kind: &TraceKind, n: NodeId) -> bool {
        match kind {
            TraceKind::Sent { from, to, .. }
            | TraceKind::Delivered { from, to, .. }
            | TraceKind::Dropped { from, to, .. } => *from == n || *to == n,
            TraceKind::TimerFired { node, .. }
            | TraceKind::State { node, .. }
            | TraceKind::Param { node, .. }
            | TraceKind::Metric { node, .. }
            | TraceKind::Verdict { node, .. } => *node == n,
            TraceKind::Fault { fault } => match fault {
                Fault::Cut { from, to } | Fault::Heal { from, to } => *from == n || *to == n,
                Fault::Crash { node }
                | Fault::Restart { node }
                | Fault::Pause { node }
                | Fault::Resume { node } => *node == n,
                _ => false,
            },
            TraceKind::Notice { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::choice_order;

    #[test]
    fn choices_are_a_stable_shuffle_per_learner_and_step() {
        let a = choice_order(42, "07-idempotency", 0, 3);
        assert_eq!(a, choice_order(42, "07-idempotency", 0, 3), "stable");
        let mut sorted = a.clone();
        faultline_core::order::sort(&mut sorted);
        assert_eq!(sorted, vec![0, 1, 2], "a permutation");
        // Over many learners, the first written choice lands in every place.
        let firsts: std::collections::BTreeSet<usize> = (0..50)
            .map(|l| {
                choice_order(l, "07-idempotency", 0, 3)
                    .iter()
                    .position(|&i| i == 0)
                    .unwrap()
            })
            .collect();
        assert_eq!(firsts.len(), 3, "{firsts:?}");
    }
}
