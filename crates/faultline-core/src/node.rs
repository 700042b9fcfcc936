//! Nodes are state machines: messages and timers in, commands out.
//!
//! A node never touches the network, the event queue or another node. It gets a [`Ctx`] with
//! the virtual time of the event it handles, its own random stream, and verbs to send, set and
//! cancel timers, record metrics and report state changes; the engine applies them. Protocols are
//! then testable without a page, and the page cannot change what a protocol does.

use serde::Serialize;
use std::fmt;

use crate::msg::{MsgId, Payload};
use crate::rng::SimRng;
use crate::view::{ModelKind, NodeView};
use crate::world::Core;

/// A node's index in its scenario (the order of `nodes`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct NodeId(pub u16);

impl NodeId {
    /// As an index into per-node vectors.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A timer, unique within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TimerId(pub u64);

/// One row of a node's inspector: a label and a value, for people.
pub type InspectRow = (String, String);

/// A simulated process. Implementations live in [`crate::models`].
///
/// Not `Debug` as a supertrait: a supertrait's method sits in every model's vtable, so each
/// model's derived `Debug` (and its fields', down to the B-trees) was compiled into the page
/// though nothing printed it. A node prints as its model (below).
pub trait Node {
    /// The model this node is.
    fn model_kind(&self) -> ModelKind;

    /// The model's kind, as the scenario names it (`client`, `service`, ...).
    fn kind(&self) -> &'static str {
        self.model_kind().name()
    }

    /// The node's state for drawing (see [`crate::view`]). The page learns a node's state only
    /// from this; it must be cheap enough to call for every node on every frame.
    fn view(&self) -> NodeView;

    /// Called at time zero and after each restart.
    fn on_start(&mut self, ctx: &mut Ctx<'_>);

    /// A message arrived.
    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload);

    /// A timer this node set fired. `tag` is the value given to [`Ctx::set_timer`].
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, tag: u64);

    /// The node crashed and is restarting: drop volatile state, keep what the model keeps on
    /// disk (a Raft node's term, vote and log). Timers are already gone. `on_start` follows.
    fn on_restart(&mut self);

    /// A setting change the model answers itself, before its settings are read: an action
    /// (a projection's `rebuild`) or a setting fixed for the run. `None` (the default) lets
    /// [`crate::models::set_param`], the one way settings change, go on.
    fn set_early(
        &mut self,
        _param: &str,
        _value: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        None
    }

    /// The node's settings as a scenario gives them (`None`: it has none to change).
    fn settings(&self) -> Option<crate::models::ModelSpec>;

    /// Takes changed settings from now on (an intervention, through
    /// [`crate::models::set_param`]): checks them, or says why they are refused and keeps the
    /// old ones.
    fn set_settings(&mut self, next: crate::models::ModelSpec) -> Result<(), String>;

    /// A one-line state for accessible names and badges ("breaker open", "leader, term 3").
    fn status(&self) -> String {
        String::new()
    }

    /// The inspector's rows.
    fn inspect(&self) -> Vec<InspectRow> {
        Vec::new()
    }

    /// The model's own counters for reports, by name.
    fn counters(&self) -> Vec<(&'static str, i64)> {
        Vec::new()
    }

    /// How this node's availability combines with the nodes it calls, for the report's
    /// `availability_formula`; `None` (the default) when the model has no such formula.
    fn availability_model(&self) -> Option<AvailabilityModel> {
        None
    }

    /// A boxed copy (snapshots).
    fn clone_box(&self) -> Box<dyn Node>;
}

impl fmt::Debug for dyn Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("model", &self.model_kind())
            .finish_non_exhaustive()
    }
}

/// A node's part of the availability formula (`docs/models/service.md`, Availability): it answers well
/// with probability `own` when at least `need` of the nodes it `calls` answered well (or always,
/// with a `fallback`). Series hops multiply; `need` of n independent calls is the k-of-n sum.
#[derive(Clone, Debug, PartialEq)]
pub struct AvailabilityModel {
    /// The node's own availability (1 - its error rate).
    pub own: f64,
    /// The nodes it calls for each request.
    pub calls: Vec<NodeId>,
    /// Which of those calls are optional (a failure is replaced by a fallback); empty for none.
    pub optional: Vec<bool>,
    /// How many of those calls must succeed.
    pub need: usize,
    /// A failed call stage still gets a good answer (a fallback).
    pub fallback: bool,
}

impl Clone for Box<dyn Node> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// What a node may do while it handles one event.
pub struct Ctx<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) me: NodeId,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) epoch: u32,
}

impl Ctx<'_> {
    /// The virtual time of the event being handled, in microseconds. It is the only clock a
    /// node sees.
    pub fn now_us(&self) -> u64 {
        self.core.now_us
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// This node's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// Sends a message; the network decides when (and whether) it arrives.
    pub fn send(&mut self, to: NodeId, payload: Payload) -> MsgId {
        self.core.send(self.me, to, payload)
    }

    /// Sets a timer firing `after_us` from now, with a tag the node chooses.
    pub fn set_timer(&mut self, after_us: u64, tag: u64) -> TimerId {
        self.core.set_timer(self.me, self.epoch, after_us, tag)
    }

    /// Cancels a timer; cancelling one that already fired does nothing.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.core.cancel_timer(self.me, timer);
    }

    /// Records a completed request (as this node saw it) for the RED metrics.
    pub fn record_request(&mut self, ok: bool, latency_us: u64) {
        let now = self.core.now_us;
        self.core.metrics[self.me.index()].request(now, ok, latency_us);
    }

    /// Adds to a named counter (attempts, retries, rejections, ...).
    pub fn count(&mut self, name: &'static str, delta: u64) {
        let now = self.core.now_us;
        self.core.metrics[self.me.index()].count(now, name, delta);
    }

    /// Sets a named gauge (queue length, in-flight calls, ...).
    pub fn gauge(&mut self, name: &'static str, value: i64) {
        let now = self.core.now_us;
        self.core.metrics[self.me.index()].gauge(now, name, value);
    }

    /// The cross-node checkers, write-only: this node reports what it did, and the verdicts
    /// that follow go into the trace in its name (see [`crate::models::checks`]). A node never
    /// reads the checkers' truth about other nodes.
    pub fn checks(&mut self) -> crate::models::checks::Reporter<'_> {
        crate::models::checks::Reporter {
            checks: &mut self.core.checks,
            trace: &mut self.core.trace,
            me: self.me,
            now_us: self.core.now_us,
        }
    }

    /// Reports a change of state worth a line in the trace.
    pub fn state(&mut self, text: impl Into<String>) {
        let kind = crate::trace::TraceKind::State {
            node: self.me,
            text: text.into(),
        };
        let now = self.core.now_us;
        self.core.trace.push(now, kind);
    }

    /// Records a notable number in the trace (a verdict, a count a lesson goal reads).
    pub fn metric_event(&mut self, name: impl Into<String>, value: i64) {
        let kind = crate::trace::TraceKind::Metric {
            node: self.me,
            name: name.into(),
            value,
        };
        let now = self.core.now_us;
        self.core.trace.push(now, kind);
    }

    /// Records a verdict on a named property: an invariant checked live ("one leader per
    /// term") or a checker's answer ("linearizable"). `holds: None` means unknown. Emit one when
    /// the answer changes or is first known, not on every event, so the trace stays readable.
    pub fn verdict(
        &mut self,
        name: impl Into<String>,
        holds: Option<bool>,
        detail: impl Into<String>,
    ) {
        let kind = crate::trace::TraceKind::Verdict {
            node: self.me,
            name: name.into(),
            holds,
            detail: detail.into(),
        };
        let now = self.core.now_us;
        self.core.trace.push(now, kind);
    }
}
