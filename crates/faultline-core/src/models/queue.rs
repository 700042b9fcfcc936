//! A message queue with at-least-once delivery, its producers and its consumers.
//!
//! Reference: at-least-once delivery as brokers such as RabbitMQ (manual acknowledgements,
//! a consumer prefetch) and Amazon SQS (a visibility timeout) provide it, and the
//! de-duplicating ("idempotent") consumer of Chris Richardson's "Microservices Patterns"
//! (see `docs/models/queue.md`):
//! - The queue hands a message to a consumer and keeps it, unacknowledged, until that consumer
//!   acks it. If no ack arrives within `ack_timeout_ms`, the message is delivered again (to the
//!   next consumer with room): a lost ack, a crashed consumer or a slow one all cause a
//!   redelivery. Nothing is lost, but a message can be processed more than once.
//! - A consumer acks only after processing. Without de-duplication a redelivered message is
//!   processed again and its side effect happens twice (`duplicates_processed`). With it, the
//!   consumer keeps the ids it processed (in the same transaction as the side effect) for
//!   `dedup_retention_ms`, and a redelivery of a known id is acked without processing.
//!
//! Assumptions where the reference is silent: the queue's messages are durable (a crash keeps
//! them; unacked ones are delivered again after a restart); publishing is fire-and-forget (a
//! publish lost on its link is lost: give the producer's link no loss to study delivery alone);
//! the de-duplication store and the side-effect record are each consumer's own, so duplicates are
//! counted, and caught, per consumer; delivery is FIFO with redeliveries at the head.
//!
//! A queue is also a choreographed saga's broker: a [`FlowMsg::EventPublish`] names its consumer
//! (which must be one of `consumers`) and is delivered as a [`FlowMsg::Event`] to that consumer
//! only, again after `ack_timeout_ms`, until the consumer's [`FlowMsg::EventAck`] arrives; then
//! the publisher is told ([`FlowMsg::EventQueued`]) and stops publishing it.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

use super::{ConfigError, check_ms, check_ratio, resolve};
use crate::dist::{Dist, ms_to_us};
use crate::idhash::IdMap;
use crate::models::flow::{EventKind, FlowMsg, Msg, Saga, owned_id};
use crate::msg::Payload;
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

fn default_rate() -> f64 {
    10.0
}
fn default_ack_timeout_ms() -> f64 {
    1000.0
}
fn default_prefetch() -> u32 {
    10
}
fn default_max_depth() -> u32 {
    100_000
}
fn default_processing() -> Dist {
    Dist::Constant { ms: 20.0 }
}
fn default_retention_ms() -> f64 {
    24.0 * 3_600_000.0
}

/// A producer's settings: it publishes to `queue` at `rate_per_s` (Poisson arrivals).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerConfig {
    /// The queue's node id.
    pub queue: String,
    /// Messages per second, Poisson: more than 0, at most 10,000.
    #[serde(default = "default_rate")]
    pub rate_per_s: f64,
    /// Stop after this many messages.
    #[serde(default)]
    pub max_messages: Option<u64>,
}

impl ProducerConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !(self.rate_per_s.is_finite() && self.rate_per_s > 0.0 && self.rate_per_s <= 10_000.0) {
            return Err((
                "rate_per_s".into(),
                format!(
                    "expected more than 0, at most 10000, got {}",
                    self.rate_per_s
                ),
            ));
        }
        if self.max_messages.is_some_and(|m| m > 10_000_000) {
            return Err(("max_messages".into(), "expected at most 10000000".into()));
        }
        Ok(())
    }
}

settings!(Producer(ProducerConfig));

/// The producer node.
#[derive(Clone, Debug)]
pub struct Producer {
    cfg: ProducerConfig,
    queue: NodeId,
    me: NodeId,
    published: u64,
}

impl Producer {
    /// A producer with these settings.
    pub fn new(
        cfg: ProducerConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let queue = resolve("queue", &cfg.queue, me, lookup)?;
        Ok(Producer {
            cfg,
            queue,
            me,
            published: 0,
        })
    }

    fn arm(&self, ctx: &mut Ctx<'_>) {
        if self.cfg.max_messages.is_some_and(|m| self.published >= m) {
            return;
        }
        let gap_ms = ctx.rng().exponential(1000.0 / self.cfg.rate_per_s);
        ctx.set_timer(ms_to_us(gap_ms).max(1), 0);
    }
}

impl Node for Producer {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Producer
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.arm(ctx);
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_>, _from: NodeId, _msg: Payload) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId, _tag: u64) {
        if self.cfg.max_messages.is_some_and(|m| self.published >= m) {
            return;
        }
        self.published += 1;
        // Unique across producers: the producer's index in the high bits.
        let id = owned_id(self.me, self.published);
        ctx.send(self.queue, Payload::Flow(FlowMsg::Publish { id }));
        ctx.count("published", 1);
        self.arm(ctx);
    }

    fn on_restart(&mut self) {}

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: ProducerConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!("{} published", self.published)
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Producer(crate::view::ProducerView {
            published: self.published,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![("published".into(), self.published.to_string())]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![("published", self.published as i64)]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

/// A queue's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The consumers' node ids (1 to 16), served round-robin.
    pub consumers: Vec<String>,
    /// How long a delivered message waits for its ack before it is delivered again.
    #[serde(default = "default_ack_timeout_ms")]
    pub ack_timeout_ms: f64,
    /// Unacked messages a consumer may hold at once (1 to 10,000).
    #[serde(default = "default_prefetch")]
    pub prefetch: u32,
    /// Messages the queue holds, ready and unacked; a publish beyond is rejected (1 to 1,000,000).
    #[serde(default = "default_max_depth")]
    pub max_depth: u32,
}

impl QueueConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.consumers.is_empty() || self.consumers.len() > 16 {
            return Err(("consumers".into(), "expected 1 to 16 consumers".into()));
        }
        check_ms("ack_timeout_ms", self.ack_timeout_ms, 1.0, 3_600_000.0)?;
        if !(1..=10_000).contains(&self.prefetch) {
            return Err((
                "prefetch".into(),
                format!("expected 1 to 10000, got {}", self.prefetch),
            ));
        }
        if !(1..=1_000_000).contains(&self.max_depth) {
            return Err((
                "max_depth".into(),
                format!("expected 1 to 1000000, got {}", self.max_depth),
            ));
        }
        Ok(())
    }
}

settings!(Queue(QueueConfig));

#[derive(Clone, Debug)]
struct Unacked {
    consumer: usize,
    timer: TimerId,
    deliveries: u32,
}

/// The queue node.
#[derive(Clone, Debug)]
pub struct Queue {
    cfg: QueueConfig,
    consumers: Vec<NodeId>,
    /// Ready messages: (id, deliveries so far).
    ready: VecDeque<(u64, u32)>,
    unacked: BTreeMap<u64, Unacked>,
    by_timer: IdMap<TimerId, u64>,
    held: Vec<u32>,
    next: usize,
    /// Routed saga events (durable): id -> (consumer index, saga, kind, publisher).
    routes: BTreeMap<u64, (usize, u64, EventKind, NodeId)>,
    /// Routed events waiting for room at their consumer: (id, deliveries so far).
    routed_ready: VecDeque<(u64, u32)>,
    routed_ids: u64,
    unroutable: u64,
    published: u64,
    delivered: u64,
    redelivered: u64,
    acked: u64,
    late_acks: u64,
    rejected: u64,
}

impl Queue {
    /// A queue with these settings.
    pub fn new(
        cfg: QueueConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let mut consumers = Vec::new();
        for (i, c) in cfg.consumers.iter().enumerate() {
            consumers.push(resolve(&format!("consumers[{i}]"), c, me, lookup)?);
        }
        let n = consumers.len();
        Ok(Queue {
            cfg,
            consumers,
            ready: VecDeque::new(),
            unacked: BTreeMap::new(),
            by_timer: IdMap::default(),
            held: vec![0; n],
            next: 0,
            routes: BTreeMap::new(),
            routed_ready: VecDeque::new(),
            routed_ids: 0,
            unroutable: 0,
            published: 0,
            delivered: 0,
            redelivered: 0,
            acked: 0,
            late_acks: 0,
            rejected: 0,
        })
    }

    fn depth(&self) -> usize {
        self.ready.len() + self.routed_ready.len() + self.unacked.len()
    }

    /// Puts a message back to be delivered again, at the head of its line.
    fn requeue(&mut self, id: u64, deliveries: u32) {
        if self.routes.contains_key(&id) {
            self.routed_ready.push_front((id, deliveries));
        } else {
            self.ready.push_front((id, deliveries));
        }
    }

    /// Delivers the routed saga events whose consumer has room, oldest first.
    /// Books message `id` as held by consumer `c` until its ack or its ack timeout, and counts
    /// the delivery (a redelivery when it was delivered before). The caller sends it.
    fn hand_out(&mut self, ctx: &mut Ctx<'_>, id: u64, c: usize, deliveries: u32) {
        let timer = ctx.set_timer(ms_to_us(self.cfg.ack_timeout_ms), 0);
        self.by_timer.insert(timer, id);
        self.unacked.insert(
            id,
            Unacked {
                consumer: c,
                timer,
                deliveries: deliveries + 1,
            },
        );
        self.held[c] += 1;
        self.delivered += 1;
        ctx.count("delivered", 1);
        if deliveries > 0 {
            self.redelivered += 1;
            ctx.count("redelivered", 1);
        }
    }

    fn dispatch_routed(&mut self, ctx: &mut Ctx<'_>) {
        let waiting = std::mem::take(&mut self.routed_ready);
        for (id, deliveries) in waiting {
            let Some(&(c, saga, kind, _)) = self.routes.get(&id) else {
                continue;
            };
            if self.held[c] >= self.cfg.prefetch {
                self.routed_ready.push_back((id, deliveries));
                continue;
            }
            self.hand_out(ctx, id, c, deliveries);
            ctx.send(
                self.consumers[c],
                Payload::Flow(FlowMsg::Event { saga, kind }),
            );
        }
    }

    fn dispatch(&mut self, ctx: &mut Ctx<'_>) {
        if !self.routed_ready.is_empty() {
            self.dispatch_routed(ctx);
        }
        let n = self.consumers.len();
        while !self.ready.is_empty() {
            let Some(c) = (0..n)
                .map(|k| (self.next + k) % n)
                .find(|&c| self.held[c] < self.cfg.prefetch)
            else {
                break;
            };
            self.next = (c + 1) % n;
            let Some((id, deliveries)) = self.ready.pop_front() else {
                break;
            };
            self.hand_out(ctx, id, c, deliveries);
            ctx.send(
                self.consumers[c],
                Payload::Flow(FlowMsg::Deliver {
                    id,
                    redeliveries: deliveries,
                }),
            );
        }
        ctx.gauge("depth", self.depth() as i64);
        ctx.gauge("unacked", self.unacked.len() as i64);
    }
}

impl Node for Queue {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Queue
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.dispatch(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        match msg {
            Payload::Flow(FlowMsg::Publish { id }) => {
                if self.depth() >= self.cfg.max_depth as usize {
                    self.rejected += 1;
                    ctx.count("rejected", 1);
                    return;
                }
                self.published += 1;
                ctx.count("published", 1);
                self.ready.push_back((id, 0));
                self.dispatch(ctx);
            }
            Payload::Flow(FlowMsg::Ack { id }) => {
                if let Some(u) = self.unacked.remove(&id) {
                    ctx.cancel_timer(u.timer);
                    self.by_timer.remove(&u.timer);
                    self.held[u.consumer] = self.held[u.consumer].saturating_sub(1);
                    self.acked += 1;
                    ctx.count("acked", 1);
                    self.dispatch(ctx);
                } else {
                    // An ack for a message already acked (a duplicate's), or one redelivered and
                    // now waiting: the first ack settled it.
                    self.late_acks += 1;
                    ctx.count("late_acks", 1);
                }
            }
            Payload::Flow(FlowMsg::EventPublish { saga, kind, to }) => {
                let Some(c) = self.consumers.iter().position(|n| n.0 == to) else {
                    self.unroutable += 1;
                    ctx.count("unroutable", 1);
                    return;
                };
                if self.depth() >= self.cfg.max_depth as usize {
                    self.rejected += 1;
                    ctx.count("rejected", 1);
                    return; // not confirmed: the publisher sends it again
                }
                self.published += 1;
                ctx.count("published", 1);
                self.routed_ids += 1;
                let id = (1 << 63) | self.routed_ids;
                self.routes.insert(id, (c, saga, kind, from));
                self.routed_ready.push_back((id, 0));
                self.dispatch(ctx);
            }
            Payload::Flow(FlowMsg::EventAck { saga, kind }) => {
                // The consumer processed (or de-duplicated) the event: settle every delivery of
                // it to that consumer (a publish sent twice is two messages).
                let settled: Vec<u64> = self
                    .unacked
                    .iter()
                    .filter(|(id, u)| {
                        self.routes.get(id).is_some_and(|&(c, s, k, _)| {
                            c == u.consumer && self.consumers[c] == from && s == saga && k == kind
                        })
                    })
                    .map(|(id, _)| *id)
                    .collect();
                if settled.is_empty() {
                    self.late_acks += 1;
                    ctx.count("late_acks", 1);
                    return;
                }
                for id in settled {
                    if let Some(u) = self.unacked.remove(&id) {
                        ctx.cancel_timer(u.timer);
                        self.by_timer.remove(&u.timer);
                        self.held[u.consumer] = self.held[u.consumer].saturating_sub(1);
                        if let Some((_, _, _, publisher)) = self.routes.remove(&id) {
                            // Tell the publisher its event arrived: it stops publishing it.
                            let to = from.0;
                            ctx.send(
                                publisher,
                                Payload::Flow(FlowMsg::EventQueued { saga, kind, to }),
                            );
                        }
                        self.acked += 1;
                        ctx.count("acked", 1);
                    }
                }
                self.dispatch(ctx);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, _tag: u64) {
        let Some(id) = self.by_timer.remove(&timer) else {
            return;
        };
        let Some(u) = self.unacked.remove(&id) else {
            return;
        };
        self.held[u.consumer] = self.held[u.consumer].saturating_sub(1);
        // A routed event is named as the participants' log lines name it ("event s5 Done"),
        // not by the broker's internal id, whose top bit marks it routed.
        let what = match self.routes.get(&id) {
            Some(&(_, saga, kind, _)) => format!("event {} {kind:?}", Saga(saga)),
            None => Msg(id).to_string(),
        };
        ctx.state(format!(
            "{what}: no ack within {} ms, delivering it again",
            self.cfg.ack_timeout_ms
        ));
        self.requeue(id, u.deliveries);
        self.dispatch(ctx);
    }

    fn on_restart(&mut self) {
        // Messages are durable: the unacked ones are ready again, oldest first.
        let back: Vec<(u64, u32)> = self
            .unacked
            .iter()
            .map(|(id, u)| (*id, u.deliveries))
            .collect();
        for (id, d) in back.into_iter().rev() {
            self.requeue(id, d);
        }
        self.unacked.clear();
        self.by_timer.clear();
        self.held.iter_mut().for_each(|h| *h = 0);
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: QueueConfig = super::take(next)?;
        if cfg.consumers != self.cfg.consumers {
            return Err("consumers cannot change during a run".into());
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!(
            "{} ready, {} unacked",
            self.ready.len() + self.routed_ready.len(),
            self.unacked.len()
        )
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Queue(crate::view::QueueView {
            ready: self.ready.len() + self.routed_ready.len(),
            max_depth: self.cfg.max_depth,
            in_flight: self.unacked.len(),
            published: self.published,
            delivered: self.delivered,
            redelivered: self.redelivered,
            acked: self.acked,
            rejected: self.rejected,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("ready".into(), self.ready.len().to_string()),
            ("unacked".into(), self.unacked.len().to_string()),
            ("published".into(), self.published.to_string()),
            ("delivered".into(), self.delivered.to_string()),
            ("redelivered".into(), self.redelivered.to_string()),
            ("acked".into(), self.acked.to_string()),
            (
                "ack timeout".into(),
                format!("{} ms", self.cfg.ack_timeout_ms),
            ),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("published", self.published as i64),
            ("delivered", self.delivered as i64),
            ("redelivered", self.redelivered as i64),
            ("acked", self.acked as i64),
            ("late_acks", self.late_acks as i64),
            ("rejected", self.rejected as i64),
            ("unroutable", self.unroutable as i64),
            ("unacked", self.unacked.len() as i64),
            ("depth", self.depth() as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

/// A consumer's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    /// The queue's node id (acks go there).
    pub queue: String,
    /// Time to process one message; messages are processed concurrently.
    #[serde(default = "default_processing")]
    pub processing: Dist,
    /// Probability that processing fails: no side effect, no ack (the queue redelivers).
    #[serde(default)]
    pub failure_rate: f64,
    /// Keep processed ids and skip (but ack) a message already processed.
    #[serde(default)]
    pub dedup: bool,
    /// How long a processed id is kept (0 to 30 days).
    #[serde(default = "default_retention_ms")]
    pub dedup_retention_ms: f64,
}

impl ConsumerConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        self.processing
            .check()
            .map_err(super::under("processing"))?;
        check_ratio("failure_rate", self.failure_rate)?;
        check_ms(
            "dedup_retention_ms",
            self.dedup_retention_ms,
            0.0,
            30.0 * 24.0 * 3_600_000.0,
        )
    }
}

settings!(Consumer(ConsumerConfig));

/// Ids processed are kept at most this many (the oldest go first), whatever the retention.
const MAX_SEEN: usize = 1_000_000;

/// The consumer node.
#[derive(Clone, Debug)]
pub struct Consumer {
    cfg: ConsumerConfig,
    queue: NodeId,
    working: IdMap<TimerId, u64>,
    /// The de-duplication store (durable, written with the side effect): id -> when.
    seen: BTreeMap<u64, u64>,
    seen_order: VecDeque<(u64, u64)>,
    /// The checker's record of side effects per id, kept whatever the retention (only the
    /// counters read it; the consumer's logic never does).
    effects: BTreeMap<u64, u32>,
    effects_order: VecDeque<u64>,
    received: u64,
    processed: u64,
    duplicates_processed: u64,
    duplicates_skipped: u64,
    failed: u64,
    acks_sent: u64,
}

impl Consumer {
    /// A consumer with these settings.
    pub fn new(
        cfg: ConsumerConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let queue = resolve("queue", &cfg.queue, me, lookup)?;
        Ok(Consumer {
            cfg,
            queue,
            working: IdMap::default(),
            seen: BTreeMap::new(),
            seen_order: VecDeque::new(),
            effects: BTreeMap::new(),
            effects_order: VecDeque::new(),
            received: 0,
            processed: 0,
            duplicates_processed: 0,
            duplicates_skipped: 0,
            failed: 0,
            acks_sent: 0,
        })
    }

    fn prune(&mut self, now: u64) {
        let keep = ms_to_us(self.cfg.dedup_retention_ms);
        while let Some(&(id, at)) = self.seen_order.front() {
            if now.saturating_sub(at) > keep || self.seen_order.len() > MAX_SEEN {
                self.seen_order.pop_front();
                if self.seen.get(&id) == Some(&at) {
                    self.seen.remove(&id);
                }
            } else {
                break;
            }
        }
    }

    fn ack(&mut self, ctx: &mut Ctx<'_>, id: u64) {
        self.acks_sent += 1;
        ctx.send(self.queue, Payload::Flow(FlowMsg::Ack { id }));
    }
}

impl Node for Consumer {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Consumer
    }

    fn on_start(&mut self, _ctx: &mut Ctx<'_>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, msg: Payload) {
        let Payload::Flow(FlowMsg::Deliver { id, .. }) = msg else {
            return;
        };
        self.received += 1;
        let t = self.cfg.processing.sample_us(ctx.rng());
        let timer = ctx.set_timer(t, 0);
        self.working.insert(timer, id);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, _tag: u64) {
        let Some(id) = self.working.remove(&timer) else {
            return;
        };
        let now = ctx.now_us();
        self.prune(now);
        if self.cfg.dedup && self.seen.contains_key(&id) {
            // Seen in the processed-ids store: ack without doing it again.
            self.duplicates_skipped += 1;
            ctx.count("duplicates_skipped", 1);
            ctx.state(format!(
                "{}: already processed, acked without processing",
                Msg(id)
            ));
            self.ack(ctx, id);
            return;
        }
        if self.cfg.failure_rate > 0.0 && ctx.rng().unit() < self.cfg.failure_rate {
            self.failed += 1;
            ctx.count("failed", 1);
            return; // no ack: the queue delivers it again after its ack timeout
        }
        self.processed += 1;
        ctx.count("processed", 1);
        if self.cfg.dedup {
            self.seen.insert(id, now);
            self.seen_order.push_back((id, now));
        }
        match self.effects.get_mut(&id) {
            Some(n) => {
                *n += 1;
                self.duplicates_processed += 1;
                ctx.count("duplicates_processed", 1);
                ctx.metric_event(format!("{} processed again", Msg(id)), i64::from(*n));
            }
            None => {
                self.effects.insert(id, 1);
                self.effects_order.push_back(id);
                if self.effects_order.len() > MAX_SEEN
                    && let Some(old) = self.effects_order.pop_front()
                {
                    self.effects.remove(&old);
                }
            }
        }
        self.ack(ctx, id);
    }

    fn on_restart(&mut self) {
        // Work in progress is lost, unacked: the queue redelivers it. The store is durable.
        self.working.clear();
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: ConsumerConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        let mut s = format!("{} processed", self.processed);
        if self.duplicates_processed > 0 {
            s.push_str(&format!(", {} twice", self.duplicates_processed));
        }
        if self.cfg.dedup {
            s.push_str(", dedup on");
        }
        s
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Consumer(crate::view::ConsumerView {
            working: self.working.len(),
            dedup: self.cfg.dedup,
            received: self.received,
            processed: self.processed,
            duplicates_processed: self.duplicates_processed,
            duplicates_skipped: self.duplicates_skipped,
            acks_sent: self.acks_sent,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("processing".into(), self.working.len().to_string()),
            ("processed".into(), self.processed.to_string()),
            (
                "processed again (duplicates)".into(),
                self.duplicates_processed.to_string(),
            ),
            (
                "skipped as duplicates".into(),
                self.duplicates_skipped.to_string(),
            ),
            (
                "de-duplication".into(),
                if self.cfg.dedup { "on" } else { "off" }.into(),
            ),
            ("ids kept".into(), self.seen.len().to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("received", self.received as i64),
            ("processed", self.processed as i64),
            ("duplicates_processed", self.duplicates_processed as i64),
            ("duplicates_skipped", self.duplicates_skipped as i64),
            ("failed", self.failed as i64),
            ("acks_sent", self.acks_sent as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}
