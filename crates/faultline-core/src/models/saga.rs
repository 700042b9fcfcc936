//! The order saga, orchestrated or choreographed, and the checker of its invariants.
//!
//! Reference: Chris Richardson, "Microservices Patterns" (ch. 4), and Temporal's saga pattern
//! docs (see `docs/models/saga.md`):
//! - A saga is compensatable steps, then one **pivot** step (the go/no-go point), then retriable
//!   steps. Here: reserve inventory (compensatable: release it), charge the card (the pivot by
//!   default), create the shipment (retriable).
//! - When a step fails before or at the pivot, the compensations of the steps that succeeded run
//!   in **reverse** order, one after another; the failed step itself is not compensated. After
//!   the pivot, a failed step is retried until it succeeds.
//! - Compensations undo semantically: the order is marked REJECTED, inventory RELEASED, a charge
//!   REFUNDED. Nothing is deleted.
//! - Isolation countermeasure: a semantic lock. The order is PENDING until the saga ends; a
//!   reservation is RESERVED (PENDING) until the saga confirms it (COMMITTED) or releases it.
//! - Orchestration: one orchestrator calls each participant and waits for its answer.
//!   Choreography: each participant reacts to the previous one's event (and a failure travels
//!   back as an "undo" event, each participant compensating and passing it on).
//!
//! The invariants are checked live against what the participants really did (the [`Ledger`], a
//! cross-node checker that the models' own logic never reads): after a saga ends, a charged
//! payment has an approved order; no inventory is left reserved; compensations ran in reverse
//! order of the steps they undo.
//!
//! Assumptions where the reference is silent: the orchestrator's saga log, the order table and
//! the participants' records are durable (a crash loses only work in progress, and a restarted
//! orchestrator resumes each saga by sending its current request again); participants are
//! idempotent per saga (a repeated request gets the stored answer, and a compensation that
//! arrives before its step ran cancels it); compensations and confirmations always succeed
//! (they are retried until acknowledged); a step's request that times out is sent again
//! (`on_timeout: "retry"`), or, as a deliberate mistake to study, taken as a failure
//! (`on_timeout: "fail"`): the step may have happened anyway and is then never compensated.
//! A step's own retry policy (`retry_policies`, orchestration) follows Temporal's activity
//! retry policy ([`ActivityRetryPolicy`]): a failed step is run again after a growing wait, up
//! to its maximum attempts; a step before or at the pivot that runs out of attempts fails, and
//! the saga compensates. After the pivot a policy must not limit attempts (the step is retried
//! until it succeeds), but it sets the waits. A step without a policy keeps the rules above.
//! Choreography events are sent until acknowledged (at-least-once, as a broker would deliver
//! them), point to point between neighbours rather than through a `queue` node.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{ConfigError, check_ms, check_ratio, resolve};
use crate::dist::{Dist, ms_to_us};
use crate::models::flow::{EventKind, FlowMsg, Saga, StepOp, owned_id};
pub use crate::models::retry::ActivityRetryPolicy;
use crate::msg::Payload;
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

// ---------------------------------------------------------------------------------------------
// The checker

/// What a participant's step really did for one saga.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Nothing (yet).
    None,
    /// Done, under a semantic lock (inventory RESERVED (PENDING)).
    Pending,
    /// Done for good (charged, shipped, reservation committed).
    Committed,
    /// Undone semantically (released, refunded, cancelled).
    Compensated,
}

/// An order's status, as the order service keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// The saga is running (a semantic lock).
    Pending,
    /// The saga completed.
    Approved,
    /// The saga was compensated.
    Rejected,
}

/// One saga as the checker sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct SagaRecord {
    /// The participants, in step order, with their actions.
    pub steps: Vec<(NodeId, Action)>,
    /// The order's status.
    pub order: OrderStatus,
    /// The saga ended (the orchestrator or order service says so).
    pub ended: bool,
    /// Each step's effect.
    pub effects: Vec<Effect>,
    /// Steps in the order their actions succeeded.
    pub done_order: Vec<usize>,
    /// Steps in the order they were compensated.
    pub comp_order: Vec<usize>,
    flagged: [bool; 3],
}

/// The three invariants, in the order of [`Ledger::verdicts`].
pub const INVARIANTS: [&str; 3] = [
    "no charge without an order",
    "no inventory left reserved after the saga ends",
    "compensations in reverse order",
];

/// Sagas the checker remembers; the oldest ended ones are forgotten first.
const MAX_SAGAS: usize = 20_000;

/// The cross-node saga checker (one per world, in the engine's core, part of snapshots).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    sagas: BTreeMap<u64, SagaRecord>,
    dirty: BTreeSet<u64>,
    /// The verdict last reported for each invariant (None: none reported yet).
    pub verdicts: [Option<bool>; 3],
    /// (saga, invariant) pairs found violated.
    pub violations: u64,
}

impl SagaRecord {
    /// A new saga over these steps.
    pub fn new(steps: Vec<(NodeId, Action)>) -> Self {
        let n = steps.len();
        SagaRecord {
            steps,
            order: OrderStatus::Pending,
            ended: false,
            effects: vec![Effect::None; n],
            done_order: Vec::new(),
            comp_order: Vec::new(),
            flagged: [false; 3],
        }
    }

    /// Which invariants this saga breaks now (only an ended saga can break them), with why.
    pub fn violations(&self) -> [Option<String>; 3] {
        let mut out = [None, None, None];
        if !self.ended {
            return out;
        }
        for (i, (&(_, action), &e)) in self.steps.iter().zip(&self.effects).enumerate() {
            let done = matches!(e, Effect::Pending | Effect::Committed);
            if action == Action::ChargePayment && done && self.order != OrderStatus::Approved {
                out[0] = Some(format!("step {i} charged, order {:?}", self.order));
            }
            if action == Action::ReserveInventory && e == Effect::Pending {
                out[1] = Some(format!("step {i} still RESERVED (PENDING)"));
            }
        }
        // Reverse order: each compensation undoes a step that succeeded earlier than the one
        // compensated before it.
        let pos = |s: usize| self.done_order.iter().position(|&d| d == s);
        let mut last: Option<usize> = None;
        for &c in &self.comp_order {
            match (pos(c), last) {
                (None, _) => {} // cancelled before it ran: nothing to order
                (Some(p), Some(l)) if p >= l => {
                    out[2] = Some(format!(
                        "compensated {:?} after steps succeeded in order {:?}",
                        self.comp_order, self.done_order
                    ));
                    break;
                }
                (Some(p), _) => last = Some(p),
            }
        }
        out
    }
}

impl Ledger {
    /// Registers a saga as it starts.
    pub fn start(&mut self, saga: u64, steps: &[NodeId]) {
        let steps = steps.iter().map(|&n| (n, Action::Other)).collect();
        if self.sagas.len() >= MAX_SAGAS {
            let old = self
                .sagas
                .iter()
                .find(|(_, r)| r.ended)
                .map(|(k, _)| *k)
                .or_else(|| self.sagas.keys().next().copied());
            if let Some(k) = old {
                self.sagas.remove(&k);
                self.dirty.remove(&k);
            }
        }
        self.sagas.insert(saga, SagaRecord::new(steps));
    }

    /// A participant reports what it did for a saga (ignored for a saga the ledger forgot).
    pub fn effect(&mut self, saga: u64, node: NodeId, action: Action, effect: Effect) {
        let Some(r) = self.sagas.get_mut(&saga) else {
            return;
        };
        let Some(i) = r.steps.iter().position(|(n, _)| *n == node) else {
            return;
        };
        r.steps[i].1 = action;
        let before = r.effects[i];
        r.effects[i] = effect;
        if before == Effect::None && matches!(effect, Effect::Pending | Effect::Committed) {
            r.done_order.push(i);
        }
        if effect == Effect::Compensated && before != Effect::Compensated {
            r.comp_order.push(i);
        }
        if r.ended {
            self.dirty.insert(saga);
        }
    }

    /// The saga ended with this order status.
    pub fn end(&mut self, saga: u64, order: OrderStatus) {
        if let Some(r) = self.sagas.get_mut(&saga) {
            r.order = order;
            r.ended = true;
            self.dirty.insert(saga);
        }
    }

    /// One saga's record.
    pub fn saga(&self, saga: u64) -> Option<&SagaRecord> {
        self.sagas.get(&saga)
    }

    /// Checks the sagas that changed since the last check. Returns the verdicts that changed
    /// (invariant index, holds, detail) and counts new violations.
    pub fn check(&mut self) -> Vec<(usize, bool, String)> {
        let mut fresh: [Option<String>; 3] = [None, None, None];
        let mut any_ended = false;
        for id in std::mem::take(&mut self.dirty) {
            let Some(r) = self.sagas.get_mut(&id) else {
                continue;
            };
            any_ended |= r.ended;
            for (k, v) in r.violations().into_iter().enumerate() {
                if let Some(why) = v
                    && !r.flagged[k]
                {
                    r.flagged[k] = true;
                    self.violations += 1;
                    fresh[k].get_or_insert(format!("saga s{id}: {why}"));
                }
            }
        }
        let mut out = Vec::new();
        for (k, f) in fresh.into_iter().enumerate() {
            match (f, self.verdicts[k]) {
                (Some(why), Some(true) | None) => {
                    self.verdicts[k] = Some(false);
                    out.push((k, false, why));
                }
                (None, None) if any_ended => {
                    self.verdicts[k] = Some(true);
                    out.push((k, true, "holds for every saga that ended".into()));
                }
                _ => {}
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Participants

/// What a participant's step does (it names the states its trace lines show).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Reserve inventory: RESERVED (PENDING), then COMMITTED or RELEASED.
    ReserveInventory,
    /// Charge the card: CHARGED, or REFUNDED.
    ChargePayment,
    /// Create the shipment: SHIPMENT CREATED, or CANCELLED.
    CreateShipment,
    /// Any other step: DONE, or UNDONE.
    Other,
}

impl Action {
    fn done_effect(self) -> Effect {
        match self {
            Action::ReserveInventory => Effect::Pending,
            _ => Effect::Committed,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Action::ReserveInventory => "inventory",
            Action::ChargePayment => "payment",
            Action::CreateShipment => "shipment",
            Action::Other => "step",
        }
    }
    fn state(self, e: Effect) -> &'static str {
        match (self, e) {
            (_, Effect::None) => "NONE",
            (Action::ReserveInventory, Effect::Pending) => "RESERVED (PENDING)",
            (Action::ReserveInventory, Effect::Committed) => "COMMITTED",
            (Action::ReserveInventory, Effect::Compensated) => "RELEASED",
            (Action::ChargePayment, Effect::Compensated) => "REFUNDED",
            (Action::ChargePayment, _) => "CHARGED",
            (Action::CreateShipment, Effect::Compensated) => "CANCELLED",
            (Action::CreateShipment, _) => "CREATED",
            (Action::Other, Effect::Compensated) => "UNDONE",
            (Action::Other, _) => "DONE",
        }
    }
}

fn default_action() -> Action {
    Action::Other
}
fn default_latency() -> Dist {
    Dist::Constant { ms: 20.0 }
}
fn default_retry_ms() -> f64 {
    300.0
}

/// A saga participant's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantConfig {
    /// What the step does.
    #[serde(default = "default_action")]
    pub action: Action,
    /// Time to run the step's action.
    #[serde(default = "default_latency")]
    pub latency: Dist,
    /// Probability that the action fails (out of stock, card declined), 0 to 1.
    #[serde(default)]
    pub failure_rate: f64,
    /// The next this many actions fail, whatever `failure_rate` says (0 to 1,000,000).
    #[serde(default)]
    pub fail_next: u32,
    /// Every action fails.
    #[serde(default)]
    pub always_fail: bool,
    /// Choreography: who sends this step its "go" event and gets its "undo" event.
    #[serde(default)]
    pub prev: Option<String>,
    /// Choreography: who gets this step's "done" event.
    #[serde(default)]
    pub next: Option<String>,
    /// Choreography: the step comes after the pivot, so it is retried until it succeeds.
    #[serde(default)]
    pub retriable: bool,
    /// Choreography: the pause before an event is sent again, or a retriable step run again.
    #[serde(default = "default_retry_ms")]
    pub retry_ms: f64,
    /// Choreography over a queue: the queue node that carries this step's events (publish to
    /// it instead of sending to `prev`/`next`); events arriving from it are de-duplicated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
}

impl ParticipantConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        self.latency.check().map_err(super::under("latency"))?;
        check_ratio("failure_rate", self.failure_rate)?;
        if self.fail_next > 1_000_000 {
            return Err(("fail_next".into(), "expected 0 to 1000000".into()));
        }
        check_ms("retry_ms", self.retry_ms, 1.0, 3_600_000.0)?;
        if self.prev.is_some() != self.next.is_some() {
            return Err((
                "next".into(),
                "a choreography participant needs both prev and next".into(),
            ));
        }
        Ok(())
    }
}

settings!(SagaParticipant(ParticipantConfig));

#[derive(Clone, Copy, Debug, PartialEq)]
enum Rec {
    /// The action is running (volatile: a crash loses it).
    Running(u32),
    /// It failed at this attempt; nothing was done.
    Failed(u32),
    /// It happened (or was compensated, or confirmed).
    Effect(Effect),
}

/// Where a running action's answer goes.
#[derive(Clone, Copy, Debug)]
enum ReplyTo {
    Orchestrator(NodeId, u8),
    Choreography,
}

/// The participant node.
#[derive(Clone, Debug)]
pub struct Participant {
    cfg: ParticipantConfig,
    prev: Option<NodeId>,
    next: Option<NodeId>,
    broker: Option<NodeId>,
    /// Over a queue (durable, kept with the side effects): the events already processed.
    seen: BTreeSet<(u64, u8)>,
    duplicates_ignored: u64,
    records: BTreeMap<u64, Rec>,
    running: BTreeMap<TimerId, (u64, ReplyTo)>,
    /// Choreography outbox (durable): events sent until acknowledged.
    outbox: BTreeMap<(u64, u8), (NodeId, EventKind)>,
    retry_timers: BTreeMap<TimerId, (u64, u8)>,
    runs: u64,
    failures: u64,
    compensations: u64,
    charges: u64,
    refunds: u64,
}

/// A choreography event for `to`, from an orchestrator or a participant alike: sent to it, or,
/// with a `broker`, published to the broker for it.
fn send_event(ctx: &mut Ctx<'_>, broker: Option<NodeId>, to: NodeId, saga: u64, kind: EventKind) {
    match broker {
        Some(b) => ctx.send(
            b,
            Payload::Flow(FlowMsg::EventPublish {
                saga,
                kind,
                to: to.0,
            }),
        ),
        None => ctx.send(to, Payload::Flow(FlowMsg::Event { saga, kind })),
    };
}

fn kind_code(k: EventKind) -> u8 {
    match k {
        EventKind::Done => 0,
        EventKind::Undo => 1,
        EventKind::Approved => 2,
    }
}

/// Sagas a participant remembers; the oldest are forgotten first.
const MAX_RECORDS: usize = 100_000;

/// A retry of a retriable step, in the retry timer map (not an event).
const RERUN: u8 = 9;

impl Participant {
    /// A participant with these settings.
    pub fn new(
        cfg: ParticipantConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let prev = match &cfg.prev {
            Some(p) => Some(resolve("prev", p, me, lookup)?),
            None => None,
        };
        let next = match &cfg.next {
            Some(p) => Some(resolve("next", p, me, lookup)?),
            None => None,
        };
        let broker = match &cfg.broker {
            Some(b) => Some(resolve("broker", b, me, lookup)?),
            None => None,
        };
        Ok(Participant {
            cfg,
            prev,
            next,
            broker,
            seen: BTreeSet::new(),
            duplicates_ignored: 0,
            records: BTreeMap::new(),
            running: BTreeMap::new(),
            outbox: BTreeMap::new(),
            retry_timers: BTreeMap::new(),
            runs: 0,
            failures: 0,
            compensations: 0,
            charges: 0,
            refunds: 0,
        })
    }

    fn reserved_now(&self) -> usize {
        self.records
            .values()
            .filter(|r| **r == Rec::Effect(Effect::Pending))
            .count()
    }

    fn set(&mut self, ctx: &mut Ctx<'_>, saga: u64, e: Effect) {
        self.records.insert(saga, Rec::Effect(e));
        let a = self.cfg.action;
        ctx.checks().saga_effect(saga, a, e);
        ctx.state(format!("{}: {} {}", Saga(saga), a.label(), a.state(e)));
        if a == Action::ReserveInventory {
            ctx.gauge("reserved_now", self.reserved_now() as i64);
        }
    }

    fn start_run(&mut self, ctx: &mut Ctx<'_>, saga: u64, to: ReplyTo, attempt: u32) {
        self.records.insert(saga, Rec::Running(attempt));
        if self.records.len() > MAX_RECORDS {
            self.records.pop_first(); // the oldest saga of the lowest-numbered orchestrator
        }
        let t = self.cfg.latency.sample_us(ctx.rng());
        let timer = ctx.set_timer(t, 0);
        self.running.insert(timer, (saga, to));
    }

    fn compensate(&mut self, ctx: &mut Ctx<'_>, saga: u64) {
        match self.records.get(&saga) {
            Some(Rec::Effect(Effect::Pending | Effect::Committed)) => {
                self.compensations += 1;
                ctx.count("compensations", 1);
                if self.cfg.action == Action::ChargePayment {
                    self.refunds += 1;
                    ctx.count("refunds", 1);
                }
                self.set(ctx, saga, Effect::Compensated);
            }
            Some(Rec::Effect(Effect::Compensated)) | Some(Rec::Failed(_)) => {}
            Some(Rec::Effect(Effect::None)) | Some(Rec::Running(_)) | None => {
                // Compensated before it ran: the step is cancelled and will not run.
                self.records.insert(saga, Rec::Effect(Effect::Compensated));
                ctx.state(format!(
                    "{}: {} cancelled before it ran",
                    Saga(saga),
                    self.cfg.action.label()
                ));
            }
        }
    }

    fn emit(&mut self, ctx: &mut Ctx<'_>, saga: u64, to: NodeId, kind: EventKind) {
        self.outbox.insert((saga, kind_code(kind)), (to, kind));
        send_event(ctx, self.broker, to, saga, kind);
        let t = ctx.set_timer(ms_to_us(self.cfg.retry_ms), 1);
        self.retry_timers.insert(t, (saga, kind_code(kind)));
    }

    fn fails(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.cfg.always_fail {
            return true;
        }
        if self.cfg.fail_next > 0 {
            self.cfg.fail_next -= 1;
            return true;
        }
        self.cfg.failure_rate > 0.0 && ctx.rng().unit() < self.cfg.failure_rate
    }
}

impl Node for Participant {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::SagaParticipant
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        // A choreographed step received and not finished runs again; so does a failed step
        // after the pivot whose retry timer the crash took.
        let retriable = self.cfg.retriable && self.prev.is_some();
        let inbox: Vec<(u64, u32)> = self
            .records
            .iter()
            .filter_map(|(&s, r)| match r {
                Rec::Running(a) => Some((s, *a)),
                Rec::Failed(a) if retriable => Some((s, a + 1)),
                _ => None,
            })
            .collect();
        for (saga, attempt) in inbox {
            self.start_run(ctx, saga, ReplyTo::Choreography, attempt);
        }
        // The outbox is durable: send what was not acknowledged again.
        let pending: Vec<(u64, NodeId, EventKind)> = self
            .outbox
            .iter()
            .map(|(&(s, _), &(to, k))| (s, to, k))
            .collect();
        for (s, to, k) in pending {
            self.emit(ctx, s, to, k);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Flow(m) = msg else { return };
        match m {
            FlowMsg::Step {
                saga,
                step,
                op,
                attempt,
            } => {
                let reply = |ctx: &mut Ctx<'_>, ok: bool| {
                    ctx.send(
                        from,
                        Payload::Flow(FlowMsg::StepReply { saga, step, op, ok }),
                    );
                };
                match op {
                    StepOp::Run => match self.records.get(&saga) {
                        None => {
                            self.start_run(ctx, saga, ReplyTo::Orchestrator(from, step), attempt)
                        }
                        Some(Rec::Running(_)) => {} // its answer will come
                        Some(Rec::Failed(a)) if *a < attempt => {
                            self.start_run(ctx, saga, ReplyTo::Orchestrator(from, step), attempt);
                        }
                        Some(Rec::Failed(_)) => reply(ctx, false),
                        Some(Rec::Effect(Effect::Compensated)) => reply(ctx, false),
                        Some(Rec::Effect(_)) => reply(ctx, true),
                    },
                    StepOp::Compensate => {
                        self.compensate(ctx, saga);
                        reply(ctx, true);
                    }
                    StepOp::Confirm => {
                        if self.records.get(&saga) == Some(&Rec::Effect(Effect::Pending)) {
                            self.set(ctx, saga, Effect::Committed);
                        }
                        reply(ctx, true);
                    }
                }
            }
            FlowMsg::Event { saga, kind } => {
                ctx.send(from, Payload::Flow(FlowMsg::EventAck { saga, kind }));
                if self.broker.is_some() && !self.seen.insert((saga, kind_code(kind))) {
                    // At-least-once delivery: a redelivered event was already processed.
                    self.duplicates_ignored += 1;
                    ctx.count("duplicate_events_ignored", 1);
                    return;
                }
                if self.seen.len() > MAX_RECORDS {
                    self.seen.pop_first();
                }
                match kind {
                    EventKind::Done => {
                        if !self.records.contains_key(&saga) {
                            self.start_run(ctx, saga, ReplyTo::Choreography, 1);
                        }
                    }
                    EventKind::Undo => {
                        let was = self.records.get(&saga).copied();
                        self.compensate(ctx, saga);
                        // Pass it back once: the step before compensates next.
                        if matches!(was, Some(Rec::Effect(Effect::Pending | Effect::Committed)))
                            && let Some(p) = self.prev
                        {
                            self.emit(ctx, saga, p, EventKind::Undo);
                        }
                    }
                    EventKind::Approved => {
                        if self.records.get(&saga) == Some(&Rec::Effect(Effect::Pending)) {
                            self.set(ctx, saga, Effect::Committed);
                        }
                    }
                }
            }
            FlowMsg::EventAck { saga, kind } => {
                self.outbox.remove(&(saga, kind_code(kind)));
            }
            FlowMsg::EventQueued { saga, kind, .. } if Some(from) == self.broker => {
                self.outbox.remove(&(saga, kind_code(kind)));
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, _tag: u64) {
        if let Some((saga, code)) = self.retry_timers.remove(&timer) {
            if code == RERUN {
                if let Some(&Rec::Failed(a)) = self.records.get(&saga) {
                    self.start_run(ctx, saga, ReplyTo::Choreography, a + 1);
                }
            } else if let Some(&(to, kind)) = self.outbox.get(&(saga, code)) {
                self.emit(ctx, saga, to, kind);
            }
            return;
        }
        let Some((saga, to)) = self.running.remove(&timer) else {
            return;
        };
        let Some(&Rec::Running(attempt)) = self.records.get(&saga) else {
            return; // cancelled by a compensation while it ran
        };
        self.runs += 1;
        let failed = self.fails(ctx);
        if failed {
            self.failures += 1;
            ctx.count("failures", 1);
            self.records.insert(saga, Rec::Failed(attempt));
            ctx.state(format!(
                "{}: {} failed",
                Saga(saga),
                self.cfg.action.label()
            ));
        } else {
            if self.cfg.action == Action::ChargePayment {
                self.charges += 1;
                ctx.count("charges", 1);
            }
            self.set(ctx, saga, self.cfg.action.done_effect());
        }
        match to {
            ReplyTo::Orchestrator(o, step) => {
                ctx.send(
                    o,
                    Payload::Flow(FlowMsg::StepReply {
                        saga,
                        step,
                        op: StepOp::Run,
                        ok: !failed,
                    }),
                );
            }
            ReplyTo::Choreography => match (failed, self.next, self.prev) {
                (false, Some(n), _) => self.emit(ctx, saga, n, EventKind::Done),
                (true, _, _) if self.cfg.retriable => {
                    let t = ctx.set_timer(ms_to_us(self.cfg.retry_ms), 1);
                    self.retry_timers.insert(t, (saga, RERUN));
                }
                (true, _, Some(p)) => self.emit(ctx, saga, p, EventKind::Undo),
                _ => {}
            },
        }
    }

    fn on_restart(&mut self) {
        self.running.clear();
        self.retry_timers.clear();
        if self.prev.is_none() {
            // Orchestrated: the orchestrator asks again.
            self.records.retain(|_, r| !matches!(r, Rec::Running(_)));
        }
        // Choreographed: the "go" event was acknowledged on receipt, so the step is in a durable
        // inbox and runs again from the start after the restart (`on_start`).
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: ParticipantConfig = super::take(next)?;
        if cfg.prev != self.cfg.prev || cfg.next != self.cfg.next || cfg.broker != self.cfg.broker {
            return Err("prev, next and broker cannot change during a run".into());
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        let a = self.cfg.action;
        let mut s = match a {
            Action::ReserveInventory => format!("{} reserved", self.reserved_now()),
            Action::ChargePayment => format!("{} charges, {} refunds", self.charges, self.refunds),
            _ => format!("{} done", self.runs - self.failures),
        };
        if self.cfg.always_fail {
            s.push_str(", always failing");
        } else if self.cfg.fail_next > 0 {
            s.push_str(&format!(", failing the next {}", self.cfg.fail_next));
        }
        s
    }

    fn view(&self) -> crate::view::NodeView {
        use crate::view::StepRecord as R;
        crate::view::NodeView::SagaParticipant(crate::view::SagaParticipantView {
            action: self.cfg.action,
            records: self
                .records
                .iter()
                .map(|(&saga, r)| {
                    let r = match *r {
                        Rec::Running(a) => R::Running(a),
                        Rec::Failed(a) => R::Failed(a),
                        Rec::Effect(Effect::None) => R::Nothing,
                        Rec::Effect(Effect::Pending) => R::Pending,
                        Rec::Effect(Effect::Committed) => R::Committed,
                        Rec::Effect(Effect::Compensated) => R::Compensated,
                    };
                    (saga, r)
                })
                .collect(),
            runs: self.runs,
            failures: self.failures,
            compensations: self.compensations,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("action".into(), format!("{:?}", self.cfg.action)),
            ("runs".into(), self.runs.to_string()),
            ("failures".into(), self.failures.to_string()),
            ("compensations".into(), self.compensations.to_string()),
            ("reserved now".into(), self.reserved_now().to_string()),
            ("charges".into(), self.charges.to_string()),
            ("refunds".into(), self.refunds.to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        let mut c = vec![
            ("runs", self.runs as i64),
            ("failures", self.failures as i64),
            ("compensations", self.compensations as i64),
            ("charges", self.charges as i64),
            ("refunds", self.refunds as i64),
            ("reserved_now", self.reserved_now() as i64),
        ];
        if self.broker.is_some() {
            c.push(("duplicate_events_ignored", self.duplicates_ignored as i64));
        }
        c
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The orchestrator (or, in a choreography, the order service)

/// How the sagas are coordinated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// This node calls each participant in turn.
    Orchestration,
    /// This node creates the order and tells the first participant; the participants pass
    /// events along (`prev` and `next`) and the last one tells this node.
    Choreography,
}

/// What the orchestrator does when a step's answer does not come in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// Ask again (the participant is idempotent per saga): correct.
    Retry,
    /// Take the silence as a failure: a deliberate mistake, since the step may have happened.
    Fail,
}

fn default_mode() -> Mode {
    Mode::Orchestration
}
fn default_pivot() -> u8 {
    1
}
fn default_saga_rate() -> f64 {
    2.0
}
fn default_step_timeout_ms() -> f64 {
    500.0
}
fn default_on_timeout() -> OnTimeout {
    OnTimeout::Retry
}

/// The orchestrator's (or order service's) settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrchestratorConfig {
    /// Orchestration or choreography.
    #[serde(default = "default_mode")]
    pub mode: Mode,
    /// The participants' node ids, in step order (1 to 8).
    pub steps: Vec<String>,
    /// The pivot step's index, from 0 (the charge in the order saga): steps before it are
    /// compensated when it or they fail, steps after it are retried until they succeed.
    #[serde(default = "default_pivot")]
    pub pivot: u8,
    /// Sagas started per second (Poisson), more than 0, at most 1,000.
    #[serde(default = "default_saga_rate")]
    pub rate_per_s: f64,
    /// Stop after this many sagas.
    #[serde(default)]
    pub max_sagas: Option<u64>,
    /// How long to wait for a participant's answer (or an event's acknowledgement).
    #[serde(default = "default_step_timeout_ms")]
    pub step_timeout_ms: f64,
    /// The pause before a failed step after the pivot is tried again.
    #[serde(default = "default_retry_ms")]
    pub retry_ms: f64,
    /// Orchestration: what a step's timeout means.
    #[serde(default = "default_on_timeout")]
    pub on_timeout: OnTimeout,
    /// Choreography over a queue: the queue node that carries the order service's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    /// Orchestration: a retry policy per step, by the step's node id (Temporal's activity
    /// retry policy). A step without one fails at once before the pivot and is retried every
    /// `retry_ms` after it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retry_policies: BTreeMap<String, ActivityRetryPolicy>,
}

impl OrchestratorConfig {
    /// The retry policy of step `step`, if it has one.
    fn policy(&self, step: usize) -> Option<&ActivityRetryPolicy> {
        self.retry_policies.get(self.steps.get(step)?)
    }

    fn check_policies(&self) -> Result<(), ConfigError> {
        if !self.retry_policies.is_empty() && self.mode != Mode::Orchestration {
            return Err((
                "retry_policies".into(),
                "step retry policies apply to orchestration: in a choreography each participant retries its own events".into(),
            ));
        }
        for (name, p) in &self.retry_policies {
            let field = |f: &str| format!("retry_policies.{name}.{f}");
            let Some(i) = self.steps.iter().position(|s| s == name) else {
                return Err((
                    format!("retry_policies.{name}"),
                    format!("'{name}' is not one of the steps"),
                ));
            };
            p.check().map_err(|(f, m)| (field(&f), m))?;
            if i > usize::from(self.pivot) && p.maximum_attempts != 0 {
                return Err((
                    field("maximum_attempts"),
                    format!(
                        "step {i} comes after the pivot: it must be retried until it succeeds (0, no limit), got {}",
                        p.maximum_attempts
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.steps.is_empty() || self.steps.len() > 8 {
            return Err(("steps".into(), "expected 1 to 8 steps".into()));
        }
        if usize::from(self.pivot) >= self.steps.len() {
            return Err((
                "pivot".into(),
                format!(
                    "expected a step index from 0 to {}, got {}",
                    self.steps.len() - 1,
                    self.pivot
                ),
            ));
        }
        if !(self.rate_per_s.is_finite() && self.rate_per_s > 0.0 && self.rate_per_s <= 1000.0) {
            return Err((
                "rate_per_s".into(),
                format!(
                    "expected more than 0, at most 1000, got {}",
                    self.rate_per_s
                ),
            ));
        }
        if self.max_sagas.is_some_and(|m| m > 1_000_000) {
            return Err(("max_sagas".into(), "expected at most 1000000".into()));
        }
        check_ms("step_timeout_ms", self.step_timeout_ms, 1.0, 3_600_000.0)?;
        check_ms("retry_ms", self.retry_ms, 1.0, 3_600_000.0)?;
        self.check_policies()
    }
}

settings!(SagaOrchestrator(OrchestratorConfig));

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Running step `step`; `retry_wait`: waiting to try a failed step after the pivot again.
    Forward { retry_wait: bool },
    /// Compensating `succeeded[k]`, counting down `k`.
    Compensating { k: usize },
    /// Confirming the succeeded steps: which have answered.
    Confirming { acked: Vec<bool> },
    /// Choreography: telling the first participant to start.
    Starting,
    /// Choreography: waiting for the last participant's "done" or the first one's "undo".
    Waiting,
    /// Choreography: telling every participant the order is approved.
    Approving { acked: Vec<bool> },
}

#[derive(Clone, Debug)]
struct Run {
    phase: Phase,
    step: usize,
    attempt: u32,
    succeeded: Vec<usize>,
    timer: Option<TimerId>,
}

/// Each step's final mark for a saga that ended: all done when approved; otherwise the step
/// that failed and the steps undone before it (a choreography's orchestrator knows neither).
fn final_marks(r: &Run, n: usize, order: OrderStatus) -> Vec<crate::view::StepState> {
    use crate::view::StepState as S;
    if order == OrderStatus::Approved {
        return vec![S::Done; n];
    }
    if matches!(
        r.phase,
        Phase::Starting | Phase::Waiting | Phase::Approving { .. }
    ) {
        return vec![S::Unknown; n];
    }
    let mut steps = vec![S::Pending; n];
    if let Some(x) = steps.get_mut(r.step) {
        *x = S::Failed;
    }
    for &i in &r.succeeded {
        if let Some(x) = steps.get_mut(i) {
            *x = S::Compensated;
        }
    }
    steps
}

/// Sagas running at once; more are not started.
const MAX_ACTIVE: usize = 10_000;
const TAG_WORKLOAD: u64 = 0;
const TAG_AUDIT: u64 = 1;
const TAG_SAGA: u64 = 2;
const AUDIT_US: u64 = 500_000;

/// The orchestrator node.
#[derive(Clone, Debug)]
pub struct Orchestrator {
    cfg: OrchestratorConfig,
    me: NodeId,
    steps: Vec<NodeId>,
    broker: Option<NodeId>,
    active: BTreeMap<u64, Run>,
    by_timer: BTreeMap<TimerId, u64>,
    /// The sagas that ended last, newest first, for the picture only: nothing here reads it.
    ended: VecDeque<crate::view::EndedSagaView>,
    started: u64,
    completed: u64,
    compensated: u64,
    compensations: u64,
    violations: u64,
    not_started: u64,
    step_retries: u64,
}

impl Orchestrator {
    /// An orchestrator with these settings.
    pub fn new(
        cfg: OrchestratorConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let mut steps = Vec::new();
        for (i, s) in cfg.steps.iter().enumerate() {
            steps.push(resolve(&format!("steps[{i}]"), s, me, lookup)?);
        }
        let broker = match &cfg.broker {
            Some(b) => Some(resolve("broker", b, me, lookup)?),
            None => None,
        };
        Ok(Orchestrator {
            cfg,
            me,
            steps,
            broker,
            active: BTreeMap::new(),
            by_timer: BTreeMap::new(),
            ended: VecDeque::new(),
            started: 0,
            completed: 0,
            compensated: 0,
            compensations: 0,
            violations: 0,
            not_started: 0,
            step_retries: 0,
        })
    }

    fn arm_workload(&self, ctx: &mut Ctx<'_>) {
        if self.cfg.max_sagas.is_some_and(|m| self.started >= m) {
            return;
        }
        let gap_ms = ctx.rng().exponential(1000.0 / self.cfg.rate_per_s);
        ctx.set_timer(ms_to_us(gap_ms).max(1), TAG_WORKLOAD);
    }

    fn arm(&mut self, ctx: &mut Ctx<'_>, saga: u64, after_ms: f64) {
        let t = ctx.set_timer(ms_to_us(after_ms), TAG_SAGA);
        self.by_timer.insert(t, saga);
        if let Some(r) = self.active.get_mut(&saga)
            && let Some(old) = r.timer.replace(t)
        {
            ctx.cancel_timer(old);
            self.by_timer.remove(&old);
        }
    }

    fn name(&self, step: usize) -> &str {
        &self.cfg.steps[step]
    }

    /// Sends the saga's current request(s) and waits for the answer.
    fn send_current(&mut self, ctx: &mut Ctx<'_>, saga: u64) {
        let Some(r) = self.active.get(&saga) else {
            return;
        };
        let attempt = r.attempt;
        let step_msg = |step: usize, op| {
            Payload::Flow(FlowMsg::Step {
                saga,
                step: step as u8,
                op,
                attempt,
            })
        };
        match &r.phase {
            Phase::Forward { .. } => {
                ctx.send(self.steps[r.step], step_msg(r.step, StepOp::Run));
            }
            Phase::Compensating { k } => {
                let s = r.succeeded[*k];
                ctx.send(self.steps[s], step_msg(s, StepOp::Compensate));
            }
            Phase::Confirming { acked } => {
                for (i, &s) in r.succeeded.iter().enumerate() {
                    if !acked[i] {
                        ctx.send(self.steps[s], step_msg(s, StepOp::Confirm));
                    }
                }
            }
            Phase::Starting => {
                send_event(ctx, self.broker, self.steps[0], saga, EventKind::Done);
            }
            Phase::Waiting => return,
            Phase::Approving { acked } => {
                for (i, &n) in self.steps.iter().enumerate() {
                    if !acked[i] {
                        send_event(ctx, self.broker, n, saga, EventKind::Approved);
                    }
                }
            }
        }
        self.arm(ctx, saga, self.cfg.step_timeout_ms);
    }

    fn start_saga(&mut self, ctx: &mut Ctx<'_>) {
        if self.active.len() >= MAX_ACTIVE {
            self.not_started += 1;
            return;
        }
        self.started += 1;
        let saga = owned_id(self.me, self.started);
        let steps = self.steps.clone();
        ctx.checks().saga_started(saga, &steps);
        ctx.count("sagas_started", 1);
        ctx.state(format!("{}: order PENDING", Saga(saga)));
        let phase = match self.cfg.mode {
            Mode::Orchestration => Phase::Forward { retry_wait: false },
            Mode::Choreography => Phase::Starting,
        };
        self.active.insert(
            saga,
            Run {
                phase,
                step: 0,
                attempt: 1,
                succeeded: Vec::new(),
                timer: None,
            },
        );
        self.send_current(ctx, saga);
    }

    /// The current step failed (or, with `on_timeout: fail`, did not answer).
    fn step_failed(&mut self, ctx: &mut Ctx<'_>, saga: u64) {
        let Some(r) = self.active.get_mut(&saga) else {
            return;
        };
        let step = r.step;
        if let Some(p) = self.cfg.policy(step)
            && p.retries_after(r.attempt)
        {
            // The step's own policy (Temporal's): wait, then run it again.
            let wait_ms = p.wait_ms(r.attempt);
            r.phase = Phase::Forward { retry_wait: true };
            ctx.state(format!(
                "{}: {} failed at attempt {}, retrying in {}",
                Saga(saga),
                self.cfg.steps[step],
                r.attempt,
                crate::fmt_time(crate::dist::ms_to_us(wait_ms))
            ));
            self.step_retries += 1;
            ctx.count("step_retries", 1);
            self.arm(ctx, saga, wait_ms);
            return;
        }
        if step > usize::from(self.cfg.pivot) {
            r.phase = Phase::Forward { retry_wait: true };
            ctx.state(format!(
                "{}: {} failed after the pivot, retrying",
                Saga(saga),
                self.cfg.steps[step]
            ));
            self.arm(ctx, saga, self.cfg.retry_ms);
            return;
        }
        ctx.state(format!(
            "{}: {} failed, compensating {} step(s) in reverse order",
            Saga(saga),
            self.cfg.steps[step],
            r.succeeded.len()
        ));
        if r.succeeded.is_empty() {
            self.end(ctx, saga, OrderStatus::Rejected);
        } else {
            r.phase = Phase::Compensating {
                k: r.succeeded.len() - 1,
            };
            self.send_current(ctx, saga);
        }
    }

    fn end(&mut self, ctx: &mut Ctx<'_>, saga: u64, order: OrderStatus) {
        let Some(r) = self.active.remove(&saga) else {
            return;
        };
        if let Some(t) = r.timer {
            ctx.cancel_timer(t);
            self.by_timer.remove(&t);
        }
        self.ended.push_front(crate::view::EndedSagaView {
            saga,
            steps: final_marks(&r, self.steps.len(), order),
            outcome: match order {
                OrderStatus::Approved => crate::view::SagaOutcome::Completed,
                _ => crate::view::SagaOutcome::Compensated,
            },
            ended_us: ctx.now_us(),
        });
        // Per outcome: sagas complete several times a second, and a compensation must not be
        // pushed out by them before anyone has seen it.
        let outcome = self.ended[0].outcome;
        if self.ended.iter().filter(|e| e.outcome == outcome).count() > crate::view::MAX_ENDED_SAGAS
            && let Some(oldest) = self.ended.iter().rposition(|e| e.outcome == outcome)
        {
            self.ended.remove(oldest);
        }
        match order {
            OrderStatus::Approved => {
                self.completed += 1;
                ctx.count("sagas_completed", 1);
                ctx.state(format!("{}: order APPROVED", Saga(saga)));
            }
            _ => {
                self.compensated += 1;
                ctx.count("sagas_compensated", 1);
                ctx.state(format!("{}: order REJECTED", Saga(saga)));
            }
        }
        ctx.checks().saga_ended(saga, order);
        self.audit(ctx);
    }

    /// Checks the invariants against the ledger and reports verdicts that changed.
    fn audit(&mut self, ctx: &mut Ctx<'_>) {
        let new = ctx.checks().saga_audit();
        if new > 0 {
            self.violations += new;
            ctx.count("invariant_violations", new);
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_>, saga: u64, step: usize, op: StepOp, ok: bool) {
        let n = self.steps.len();
        let Some(r) = self.active.get_mut(&saga) else {
            return;
        };
        match (&mut r.phase, op) {
            (Phase::Forward { retry_wait: false }, StepOp::Run) if step == r.step => {
                if !ok {
                    self.step_failed(ctx, saga);
                    return;
                }
                r.succeeded.push(step);
                let name = self.cfg.steps[step].clone();
                if step + 1 < n {
                    r.step += 1;
                    r.attempt = 1;
                    ctx.state(format!("{}: {name} ok", Saga(saga)));
                } else {
                    let acked = vec![false; r.succeeded.len()];
                    r.phase = Phase::Confirming { acked };
                    ctx.state(format!("{}: {name} ok, confirming", Saga(saga)));
                }
                self.send_current(ctx, saga);
            }
            (Phase::Compensating { k }, StepOp::Compensate) if r.succeeded[*k] == step => {
                self.compensations += 1;
                ctx.count("compensations", 1);
                ctx.state(format!(
                    "{}: {} compensated",
                    Saga(saga),
                    self.cfg.steps[step]
                ));
                if *k == 0 {
                    self.end(ctx, saga, OrderStatus::Rejected);
                } else {
                    *k -= 1;
                    self.send_current(ctx, saga);
                }
            }
            (Phase::Confirming { acked }, StepOp::Confirm) => {
                if let Some(i) = r.succeeded.iter().position(|&s| s == step) {
                    acked[i] = true;
                }
                if acked.iter().all(|a| *a) {
                    self.end(ctx, saga, OrderStatus::Approved);
                }
            }
            _ => {} // a late or repeated answer
        }
    }

    fn on_event_ack(&mut self, ctx: &mut Ctx<'_>, from: NodeId, saga: u64, kind: EventKind) {
        let Some(r) = self.active.get_mut(&saga) else {
            return;
        };
        match (&mut r.phase, kind) {
            (Phase::Starting, EventKind::Done) if from == self.steps[0] => {
                r.phase = Phase::Waiting;
                if let Some(t) = r.timer.take() {
                    ctx.cancel_timer(t);
                    self.by_timer.remove(&t);
                }
            }
            (Phase::Approving { acked }, EventKind::Approved) => {
                if let Some(i) = self.steps.iter().position(|&n| n == from) {
                    acked[i] = true;
                }
                if acked.iter().all(|a| *a) {
                    self.end(ctx, saga, OrderStatus::Approved);
                }
            }
            _ => {}
        }
    }

    fn on_event(&mut self, ctx: &mut Ctx<'_>, from: NodeId, saga: u64, kind: EventKind) {
        let last = *self.steps.last().expect("at least one step");
        // Over a queue the broker delivers: the chain says who sent it (only the last step
        // tells the order service "done", only the first one "undo").
        let from = match (self.broker, kind) {
            (Some(b), EventKind::Done) if from == b => last,
            (Some(b), EventKind::Undo) if from == b => self.steps[0],
            _ => from,
        };
        let Some(r) = self.active.get_mut(&saga) else {
            return;
        };
        match kind {
            EventKind::Done if from == last => {
                if matches!(r.phase, Phase::Starting | Phase::Waiting) {
                    r.phase = Phase::Approving {
                        acked: vec![false; self.steps.len()],
                    };
                    ctx.state(format!("{}: every step done, approving", Saga(saga)));
                    self.send_current(ctx, saga);
                }
            }
            EventKind::Undo if from == self.steps[0] => {
                self.end(ctx, saga, OrderStatus::Rejected);
            }
            _ => {}
        }
    }
}

impl Node for Orchestrator {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::SagaOrchestrator
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.arm_workload(ctx);
        ctx.set_timer(AUDIT_US, TAG_AUDIT);
        // The saga log is durable: resume every saga where it stood.
        let ids: Vec<u64> = self.active.keys().copied().collect();
        for saga in ids {
            if let Some(r) = self.active.get_mut(&saga)
                && r.phase == (Phase::Forward { retry_wait: true })
            {
                r.phase = Phase::Forward { retry_wait: false };
                r.attempt += 1;
            }
            self.send_current(ctx, saga);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Flow(m) = msg else { return };
        match m {
            FlowMsg::StepReply { saga, step, op, ok }
                if self.steps.get(usize::from(step)) == Some(&from) =>
            {
                self.on_reply(ctx, saga, usize::from(step), op, ok);
            }
            FlowMsg::Event { saga, kind } => {
                ctx.send(from, Payload::Flow(FlowMsg::EventAck { saga, kind }));
                self.on_event(ctx, from, saga, kind);
            }
            FlowMsg::EventAck { saga, kind } => self.on_event_ack(ctx, from, saga, kind),
            FlowMsg::EventQueued { saga, kind, to } if Some(from) == self.broker => {
                self.on_event_ack(ctx, NodeId(to), saga, kind);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, tag: u64) {
        match tag {
            TAG_WORKLOAD => {
                if self.cfg.max_sagas.is_some_and(|m| self.started >= m) {
                    return;
                }
                self.start_saga(ctx);
                self.arm_workload(ctx);
            }
            TAG_AUDIT => {
                self.audit(ctx);
                ctx.set_timer(AUDIT_US, TAG_AUDIT);
            }
            _ => {
                let Some(saga) = self.by_timer.remove(&timer) else {
                    return;
                };
                let Some(r) = self.active.get_mut(&saga) else {
                    return;
                };
                if r.timer != Some(timer) {
                    return;
                }
                r.timer = None;
                match r.phase {
                    Phase::Forward { retry_wait: true } => {
                        r.phase = Phase::Forward { retry_wait: false };
                        r.attempt += 1;
                        self.send_current(ctx, saga);
                    }
                    Phase::Forward { retry_wait: false }
                        if self.cfg.on_timeout == OnTimeout::Fail =>
                    {
                        let step = r.step;
                        ctx.state(format!(
                            "{}: {} did not answer in time, taken as failed",
                            Saga(saga),
                            self.name(step)
                        ));
                        self.step_failed(ctx, saga);
                    }
                    _ => self.send_current(ctx, saga),
                }
            }
        }
    }

    fn on_restart(&mut self) {
        self.by_timer.clear();
        for r in self.active.values_mut() {
            r.timer = None;
        }
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: OrchestratorConfig = super::take(next)?;
        if cfg.steps != self.cfg.steps || cfg.mode != self.cfg.mode || cfg.broker != self.cfg.broker
        {
            return Err("steps, mode and broker cannot change during a run".into());
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        let mut s = format!(
            "{} running, {} completed, {} compensated",
            self.active.len(),
            self.completed,
            self.compensated
        );
        if self.violations > 0 {
            s.push_str(&format!(", {} invariant violations", self.violations));
        }
        s
    }

    fn view(&self) -> crate::view::NodeView {
        use crate::view::StepState as S;
        let n = self.steps.len();
        let sagas = self
            .active
            .iter()
            .map(|(&saga, r)| {
                let mut steps = vec![S::Pending; n];
                let mut mark = |i: usize, st: S| {
                    if let Some(x) = steps.get_mut(i) {
                        *x = st;
                    }
                };
                match &r.phase {
                    Phase::Forward { .. } => {
                        for &i in &r.succeeded {
                            mark(i, S::Done);
                        }
                        mark(r.step, S::Running);
                    }
                    Phase::Compensating { k } => {
                        mark(r.step, S::Failed);
                        for (j, &i) in r.succeeded.iter().enumerate() {
                            mark(
                                i,
                                match j.cmp(k) {
                                    std::cmp::Ordering::Less => S::Done,
                                    std::cmp::Ordering::Equal => S::Compensating,
                                    std::cmp::Ordering::Greater => S::Compensated,
                                },
                            );
                        }
                    }
                    Phase::Confirming { .. } => {
                        for &i in &r.succeeded {
                            mark(i, S::Done);
                        }
                    }
                    Phase::Starting | Phase::Waiting => steps = vec![S::Unknown; n],
                    Phase::Approving { .. } => steps = vec![S::Done; n],
                }
                crate::view::SagaView {
                    saga,
                    steps,
                    attempt: r.attempt,
                }
            })
            .collect();
        crate::view::NodeView::SagaOrchestrator(crate::view::SagaOrchestratorView {
            participants: self.steps.clone(),
            sagas,
            ended: self.ended.iter().cloned().collect(),
            started: self.started,
            completed: self.completed,
            compensated: self.compensated,
            violations: self.violations,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("mode".into(), format!("{:?}", self.cfg.mode)),
            (
                "pivot".into(),
                self.name(usize::from(self.cfg.pivot)).to_string(),
            ),
            ("running".into(), self.active.len().to_string()),
            ("started".into(), self.started.to_string()),
            ("completed".into(), self.completed.to_string()),
            ("compensated".into(), self.compensated.to_string()),
            ("compensations".into(), self.compensations.to_string()),
            ("invariant violations".into(), self.violations.to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        let mut c = vec![
            ("sagas_started", self.started as i64),
            ("sagas_completed", self.completed as i64),
            ("sagas_compensated", self.compensated as i64),
            ("sagas_running", self.active.len() as i64),
            ("compensations", self.compensations as i64),
            ("invariant_violations", self.violations as i64),
        ];
        if !self.cfg.retry_policies.is_empty() {
            c.push(("step_retries", self.step_retries as i64));
        }
        c
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INV: NodeId = NodeId(1);
    const PAY: NodeId = NodeId(2);
    const SHIP: NodeId = NodeId(3);

    fn ledger() -> Ledger {
        let mut l = Ledger::default();
        l.start(7, &[INV, PAY, SHIP]);
        l
    }

    #[test]
    fn a_charge_without_an_approved_order_is_detected() {
        let mut l = ledger();
        l.effect(7, INV, Action::ReserveInventory, Effect::Pending);
        l.effect(7, PAY, Action::ChargePayment, Effect::Committed);
        l.effect(7, INV, Action::ReserveInventory, Effect::Compensated);
        l.end(7, OrderStatus::Rejected);
        let v = l.check();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].0, 0);
        assert!(!v[0].1, "{v:?}");
        assert!(v[0].2.contains("charged, order Rejected"), "{v:?}");
        assert!(v[1].1 && v[2].1, "the others hold: {v:?}");
        assert_eq!(l.violations, 1);
        assert_eq!(l.verdicts, [Some(false), Some(true), Some(true)]);
        // Reported once: nothing new, nothing said.
        assert!(l.check().is_empty());
    }

    #[test]
    fn inventory_left_reserved_is_detected_even_when_it_happens_after_the_end() {
        let mut l = ledger();
        l.end(7, OrderStatus::Rejected);
        assert!(l.check().iter().all(|v| v.1), "holds at the end");
        // A late reservation (a request that timed out and ran anyway).
        l.effect(7, INV, Action::ReserveInventory, Effect::Pending);
        let v = l.check();
        assert_eq!(
            v,
            vec![(1, false, "saga s7: step 0 still RESERVED (PENDING)".into())]
        );
    }

    #[test]
    fn compensations_out_of_reverse_order_are_detected() {
        let mut l = ledger();
        l.effect(7, INV, Action::ReserveInventory, Effect::Pending);
        l.effect(7, PAY, Action::ChargePayment, Effect::Committed);
        l.effect(7, INV, Action::ReserveInventory, Effect::Compensated);
        l.effect(7, PAY, Action::ChargePayment, Effect::Compensated);
        l.end(7, OrderStatus::Rejected);
        let v = l.check();
        assert!(v.contains(&(
            2,
            false,
            "saga s7: compensated [0, 1] after steps succeeded in order [0, 1]".into()
        )));
    }

    #[test]
    fn a_correct_saga_breaks_nothing() {
        let mut l = ledger();
        l.effect(7, INV, Action::ReserveInventory, Effect::Pending);
        l.effect(7, PAY, Action::ChargePayment, Effect::Committed);
        l.effect(7, PAY, Action::ChargePayment, Effect::Compensated);
        l.effect(7, INV, Action::ReserveInventory, Effect::Compensated);
        l.end(7, OrderStatus::Rejected);
        assert!(l.check().iter().all(|v| v.1));
        assert_eq!(l.violations, 0);
        let r = l.saga(7).expect("kept");
        assert_eq!(r.comp_order, [1, 0]);
        assert_eq!(r.done_order, [0, 1]);
    }

    #[test]
    fn a_running_saga_is_not_judged() {
        let mut l = ledger();
        l.effect(7, PAY, Action::ChargePayment, Effect::Committed);
        assert!(l.check().is_empty());
        assert_eq!(l.verdicts, [None, None, None]);
    }
}
