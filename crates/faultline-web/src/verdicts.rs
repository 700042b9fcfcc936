//! The invariants panel's data: the latest verdict per (node, property), and the moment it
//! turned, kept by the page itself because the trace is a bounded ring.
//!
//! Models report verdicts with `TraceKind::Verdict`. The page also derives one the core already
//! knows: a payment service's duplicate charge (a `Metric` event) violates "no duplicate charge".
//!
//! Only *transitions* are kept (a property first seen, or its answer changed), in trace order.
//! The list is read as the run goes (`observed.rs`), and every snapshot of the time line carries
//! a copy, so a seek restores it with the world: the same run, so the same transitions.

use faultline_core::NodeId;
use faultline_core::trace::{TraceEvent, TraceKind};
use faultline_core::world::World;

/// Transitions kept before the oldest are folded into one per property.
const MAX_TRANSITIONS: usize = 4_096;
/// The derived property of a payment service.
pub const NO_DUPLICATE_CHARGE: &str = "no duplicate charge";

/// One transition of one property.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The trace event that made it.
    pub seq: u64,
    /// When.
    pub time_us: u64,
    /// Which node judged.
    pub node: NodeId,
    /// The property.
    pub name: String,
    /// Holds, violated, unknown.
    pub holds: Option<bool>,
    /// Why, for people.
    pub detail: String,
}

/// A row of the panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Which node judged.
    pub node: NodeId,
    /// The property.
    pub name: String,
    /// Holds, violated, unknown.
    pub holds: Option<bool>,
    /// Why, for people.
    pub detail: String,
    /// When it took this answer (`None`: from the start, never reported).
    pub since_us: Option<u64>,
}

/// What [`Verdicts::sync`] found.
#[derive(Debug, PartialEq)]
pub enum Sync {
    /// Up to date; these properties turned violated on the way (for the live region).
    Fresh(Vec<String>),
    /// The ring no longer holds events the list has not read (or the world was rewound
    /// behind the list): it cannot follow this world.
    Gap,
}

/// The accumulated transitions of one run, up to the moment read.
#[derive(Clone, Default)]
pub struct Verdicts {
    transitions: Vec<Transition>,
    /// Trace events read so far (the next `seq` to read).
    seen: u64,
    /// Transitions added so far (folding aside), so a reader can tell the list changed.
    changes: u64,
}

/// Whether a transition is about the same property as (`node`, `name`): a property of the
/// whole run (the KV history, Raft's safety, the saga ledger) is one, whichever node reported
/// it; any other is one per node.
fn same(t_node: NodeId, t_name: &str, node: NodeId, name: &str) -> bool {
    t_name == name && (t_node == node || faultline_core::models::run_wide_verdict(name))
}

/// The transition a trace event makes, if it is a verdict (or the payment's duplicate charge).
fn verdict_of(e: &TraceEvent) -> Option<(NodeId, String, Option<bool>, String)> {
    match &e.kind {
        TraceKind::Verdict {
            node,
            name,
            holds,
            detail,
        } => Some((*node, name.clone(), *holds, detail.clone())),
        TraceKind::Metric { node, name, .. } if name.starts_with("duplicate charge") => Some((
            *node,
            NO_DUPLICATE_CHARGE.to_string(),
            Some(false),
            name.clone(),
        )),
        _ => None,
    }
}

impl Verdicts {
    /// Reads one event; returns the property's name when it turned violated.
    pub fn observe(&mut self, e: &TraceEvent) -> Option<String> {
        self.seen = self.seen.max(e.seq + 1);
        let (node, name, holds, detail) = verdict_of(e)?;
        let last = self
            .transitions
            .iter()
            .rev()
            .find(|t| same(t.node, &t.name, node, &name));
        if last.is_some_and(|t| t.holds == holds) {
            return None;
        }
        let turned = (holds == Some(false)).then(|| name.clone());
        self.transitions.push(Transition {
            seq: e.seq,
            time_us: e.time_us,
            node,
            name,
            holds,
            detail,
        });
        self.changes += 1;
        if self.transitions.len() > MAX_TRANSITIONS {
            self.fold();
        }
        turned
    }

    /// Keeps only the newest transition per property.
    fn fold(&mut self) {
        let mut kept: Vec<Transition> = Vec::new();
        for t in self.transitions.drain(..).rev() {
            if !kept.iter().any(|k| same(k.node, &k.name, t.node, &t.name)) {
                kept.push(t);
            }
        }
        kept.reverse();
        self.transitions = kept;
    }

    /// How many transitions were added so far: a reader compares it to tell a change.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Trace events read so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Gives up on the events before `seq` (the ring lost them unread): reads on from there.
    pub fn skip_to(&mut self, seq: u64) {
        self.seen = self.seen.max(seq);
    }

    /// The transitions to "violated", oldest first (the time line marks them).
    pub fn violations(&self) -> impl Iterator<Item = &Transition> {
        self.transitions.iter().filter(|t| t.holds == Some(false))
    }

    /// Reads the world's new trace events.
    pub fn sync(&mut self, world: &World) -> Sync {
        let trace = world.trace();
        if trace.len_total() < self.seen || trace.evicted() > self.seen {
            return Sync::Gap;
        }
        let turned = trace
            .since(self.seen)
            .filter_map(|e| self.observe(e))
            .collect::<Vec<_>>();
        self.seen = trace.len_total();
        Sync::Fresh(turned)
    }

    /// The panel's rows: the latest answer per property, by node then name; nodes that count
    /// duplicate charges and never had one show that it holds.
    pub fn rows(&self, world: &World) -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        for t in self.transitions.iter().rev() {
            if !rows.iter().any(|r| same(r.node, &r.name, t.node, &t.name)) {
                rows.push(Row {
                    node: t.node,
                    name: t.name.clone(),
                    holds: t.holds,
                    detail: t.detail.clone(),
                    since_us: Some(t.time_us),
                });
            }
        }
        for i in 0..world.names().len() {
            let node = NodeId(i as u16);
            let counts = world
                .node(node)
                .counters()
                .iter()
                .any(|(k, _)| *k == "duplicate_charges");
            if counts
                && !rows
                    .iter()
                    .any(|r| r.node == node && r.name == NO_DUPLICATE_CHARGE)
            {
                rows.push(Row {
                    node,
                    name: NO_DUPLICATE_CHARGE.into(),
                    holds: Some(true),
                    detail: "no card charged twice so far".into(),
                    since_us: None,
                });
            }
        }
        faultline_core::order::sort_by(&mut rows, |a, b| (a.node, &a.name).cmp(&(b.node, &b.name)));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;
    use faultline_core::scenario::Scenario;
    use faultline_core::world::Action;

    fn checkout(keys: bool) -> Session {
        let mut s = Scenario::parse(crate::templates::TEMPLATES[3]).expect("valid");
        if !keys {
            s.interventions
                .push(faultline_core::scenario::Intervention::Set {
                    at_ms: 0.0,
                    node: "checkout".into(),
                    param: "idempotency_keys".into(),
                    value: serde_json::json!(false),
                });
        }
        Session::new(s).expect("builds")
    }

    fn rows(p: &Session) -> Vec<Row> {
        p.observed().verdicts.rows(&p.world)
    }

    /// The rows of the recorded run played straight through to the session's moment.
    fn straight(p: &Session) -> Vec<Row> {
        let (w, o) = crate::observed::played_straight(&p.recorded(), p.world.now_us());
        o.verdicts.rows(&w)
    }

    #[test]
    fn a_duplicate_charge_violates_the_property_and_a_seek_back_forgets_it() {
        let mut p = checkout(false);
        let first = rows(&p);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].holds, Some(true));
        p.seek(30_000_000);
        assert_eq!(p.take_turned().as_deref(), Some(NO_DUPLICATE_CHARGE));
        let row = rows(&p).remove(0);
        assert_eq!(row.holds, Some(false));
        let at = row.since_us.expect("a moment");
        assert!(at > 0 && at <= 30_000_000);
        // Back to just before it: it holds again; forward: violated at the same moment.
        p.seek(at - 1);
        assert_eq!(rows(&p)[0].holds, Some(true));
        assert_eq!(rows(&p), straight(&p));
        p.seek(30_000_000);
        assert_eq!(rows(&p)[0].since_us, Some(at));
        assert_eq!(rows(&p), straight(&p));
    }

    #[test]
    fn with_keys_it_holds_and_a_fork_is_followed() {
        let mut p = checkout(true);
        p.seek(20_000_000);
        assert_eq!(rows(&p)[0].holds, Some(true));
        p.seek(5_000_000);
        p.intervene(Action::Set {
            node: NodeId(0),
            param: "idempotency_keys".into(),
            value: serde_json::json!(false),
        });
        p.seek(60_000_000);
        assert_eq!(rows(&p)[0].holds, Some(false), "the fork charges twice");
        assert_eq!(rows(&p), straight(&p));
    }

    #[test]
    fn model_verdicts_keep_the_moment_their_answer_changed() {
        let p = checkout(true);
        let mut v = Verdicts::default();
        let ev = |seq: u64, t: u64, holds: Option<bool>, detail: &str| TraceEvent {
            seq,
            time_us: t,
            kind: TraceKind::Verdict {
                node: NodeId(1),
                name: "one leader per term".into(),
                holds,
                detail: detail.into(),
            },
        };
        assert_eq!(v.observe(&ev(0, 10, Some(true), "")), None);
        assert_eq!(
            v.observe(&ev(1, 20, Some(true), "again")),
            None,
            "no change"
        );
        let turned = v.observe(&ev(2, 30, Some(false), "two leaders in term 3"));
        assert_eq!(turned.as_deref(), Some("one leader per term"));
        v.observe(&ev(3, 40, None, "budget ran out"));
        let rows = v.rows(&p.world);
        let row = rows
            .iter()
            .find(|r| r.name == "one leader per term")
            .expect("listed");
        assert_eq!((row.holds, row.since_us), (None, Some(40)));
        assert_eq!(row.detail, "budget ran out");
    }

    #[test]
    fn a_verdict_on_the_whole_run_is_one_row_whoever_reported_it() {
        let p = checkout(true);
        let mut v = Verdicts::default();
        let ev = |seq: u64, node: u16, name: &str, holds: bool| TraceEvent {
            seq,
            time_us: seq * 10,
            kind: TraceKind::Verdict {
                node: NodeId(node),
                name: name.into(),
                holds: Some(holds),
                detail: String::new(),
            },
        };
        // The KV history: client 1 saw it hold, then client 2 found a stale read. One answer:
        // violated, not "holds" on one client beside "violated" on another.
        v.observe(&ev(0, 1, "linearizable", true));
        v.observe(&ev(1, 2, "linearizable", false));
        // A property of one node (a cache's reads) stays one row per node.
        v.observe(&ev(2, 0, "fresh reads", true));
        v.observe(&ev(3, 1, "fresh reads", false));
        let rows = v.rows(&p.world);
        let lin: Vec<_> = rows.iter().filter(|r| r.name == "linearizable").collect();
        assert_eq!(lin.len(), 1, "{rows:?}");
        assert_eq!((lin[0].node, lin[0].holds), (NodeId(2), Some(false)));
        assert_eq!(rows.iter().filter(|r| r.name == "fresh reads").count(), 2);
    }

    #[test]
    fn many_flips_are_folded_and_stay_bounded() {
        let mut v = Verdicts::default();
        for i in 0..10_000u64 {
            v.observe(&TraceEvent {
                seq: i,
                time_us: i,
                kind: TraceKind::Verdict {
                    node: NodeId((i % 3) as u16),
                    name: "p".into(),
                    holds: Some(i % 2 == 0),
                    detail: String::new(),
                },
            });
        }
        assert!(v.transitions.len() <= MAX_TRANSITIONS);
        assert_eq!(v.transitions.last().map(|t| t.seq), Some(9_999));
    }
}
