//! Event sourcing and CQRS: an append-only log of events is the truth, and read models are
//! folds of it that lag behind.
//!
//! References: Martin Fowler, "Event Sourcing" (2005): every change of state is captured as an
//! event, stored in the order it happened; the application state at any time is the fold of the
//! events up to that time, so it can be rebuilt by replaying the log from the start ("complete
//! rebuild") and the state at a past moment found by replaying up to it ("temporal query").
//! Martin Fowler, "CQRS" (2011) and Greg Young's CQRS documents: the command side (writes) and
//! the query side (read models) are separate; the query side is updated from the events
//! asynchronously, so it is *eventually consistent*: it lags the log and converges to its fold
//! once writes stop.
//!
//! The models:
//! - `order_writer`, the command side: orders are placed, paid and shipped at `rate_per_s`. It
//!   validates each command against its own aggregate (an order is paid only once placed,
//!   shipped only once paid), and appends the event to the log, one at a time, waiting for the
//!   acknowledgement (resending after `timeout_ms`, with the same sequence number).
//! - `event_log`: an append-only, totally ordered log; offsets count from 0. Appends are
//!   deduplicated by the writer's sequence number (a resent append is acknowledged with its
//!   first offset). It answers polls with the events from an offset on. It keeps its own fold
//!   (the truth) and answers "the state as of time T" (`as_of_ms`) by folding the events
//!   appended up to T.
//! - `projection`, a read model ("orders by status" and revenue): it polls the log, then applies
//!   the events in offset order, each taking `apply_ms`. It applies **idempotently by offset**:
//!   it keeps the offset of the next event it needs, skips any event below it (a duplicate or a
//!   replayed poll) and never applies one above it (a gap: it polls again from its offset), so
//!   its state is always exactly the fold of the log's first `offset` events. Setting `rebuild`
//!   (an intervention) empties it and replays the log from offset 0.
//!
//! Assumptions where the references are silent: the log answers at once and keeps everything
//! (up to a limit, then it refuses appends); a poll returns at most `batch` events, and a
//! projection polls again at once while it knows of more, else after `poll_interval_ms`; the lag
//! a projection reports is the log's true length (read from the run's registry, as lag
//! monitoring asks the broker) minus its offset, as of the last event it handled; a `durable`
//! projection keeps its state and offset across a crash (they are stored together), a
//! non-durable one starts again from offset 0; a lost poll or answer is retried after
//! `poll_timeout_ms`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use super::{ConfigError, check_ms, resolve};
use crate::dist::ms_to_us;
use crate::msg::Payload;
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

/// Events a log keeps; past it, appends are refused.
pub const MAX_LOG_EVENTS: usize = 1_000_000;
/// The key under which a log records its length in the run's registry of commits
/// ([`crate::models::cache::Committed`]), so that projections can report their true lag.
const LOG_HEAD_KEY: u32 = 0;
/// Commands a writer queues while it waits for the log.
const MAX_WRITER_QUEUE: usize = 10_000;
/// Open orders a writer remembers per stage.
const MAX_OPEN_ORDERS: usize = 10_000;

/// What happened to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEventKind {
    /// An order was placed.
    Placed,
    /// It was paid.
    Paid,
    /// It was shipped.
    Shipped,
}

/// One event of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    /// The order it is about.
    pub order: u64,
    /// What happened.
    pub kind: OrderEventKind,
    /// The order's amount (payments add it to the revenue).
    pub amount_cents: u64,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            OrderEventKind::Placed => "placed",
            OrderEventKind::Paid => "paid",
            OrderEventKind::Shipped => "shipped",
        };
        write!(f, "order {} {what}", self.order)
    }
}

/// Messages between a writer, the log and projections.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "es", rename_all = "snake_case")]
pub enum EsMsg {
    /// Writer to log: append this event (`seq` counts the writer's events from 1).
    Append { seq: u64, event: Event },
    /// Log to writer: the event with this `seq` is at `offset`.
    Appended { seq: u64, offset: u64 },
    /// Projection to log: up to `max` events from offset `from`.
    Poll { from: u64, max: u32 },
    /// Log to projection: the events from `from` on, and the log's length (`head`).
    Events {
        from: u64,
        events: Vec<Event>,
        head: u64,
    },
}

impl EsMsg {
    /// A short kind for colour and filters.
    pub fn kind(&self) -> &'static str {
        match self {
            EsMsg::Append { .. } | EsMsg::Poll { .. } => "request",
            EsMsg::Appended { .. } | EsMsg::Events { .. } => "response",
        }
    }
}

impl fmt::Display for EsMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EsMsg::Append { seq, event } => write!(f, "append #{seq}: {event}"),
            EsMsg::Appended { seq, offset } => write!(f, "appended #{seq} at offset {offset}"),
            EsMsg::Poll { from, max } => write!(f, "poll from offset {from} (up to {max})"),
            EsMsg::Events { from, events, head } => write!(
                f,
                "{} events from offset {from} (head {head})",
                events.len()
            ),
        }
    }
}

/// An order's status in the read model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Placed,
    Paid,
    Shipped,
}

/// The fold of a sequence of events: orders by status and the revenue. Both the log (the
/// truth) and the projections (the read models) compute it; they agree when they have applied
/// the same events in the same order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Orders {
    status: BTreeMap<u64, Status>,
    /// Orders placed.
    pub placed: u64,
    /// Orders paid.
    pub paid: u64,
    /// Orders shipped.
    pub shipped: u64,
    /// The sum of the paid orders' amounts.
    pub revenue_cents: u64,
    /// Events that did not apply (a payment for an order not awaiting one, ...).
    pub ignored: u64,
}

impl Orders {
    /// Applies one event.
    pub fn apply(&mut self, e: &Event) {
        let now = self.status.get(&e.order).copied();
        match (e.kind, now) {
            (OrderEventKind::Placed, None) => {
                self.status.insert(e.order, Status::Placed);
                self.placed += 1;
            }
            (OrderEventKind::Paid, Some(Status::Placed)) => {
                self.status.insert(e.order, Status::Paid);
                self.paid += 1;
                self.revenue_cents += e.amount_cents;
            }
            (OrderEventKind::Shipped, Some(Status::Paid)) => {
                self.status.insert(e.order, Status::Shipped);
                self.shipped += 1;
            }
            _ => self.ignored += 1,
        }
    }

    /// A number that changes with any difference in the orders' statuses (for tests and the
    /// inspector: equal digests, almost surely equal states).
    pub fn digest(&self) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (order, s) in &self.status {
            for b in order.to_le_bytes().into_iter().chain([*s as u8]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        (h >> 1) as i64
    }

    fn summary(&self) -> String {
        format!(
            "{} placed, {} paid, {} shipped, revenue {}.{:02}",
            self.placed,
            self.paid,
            self.shipped,
            self.revenue_cents / 100,
            self.revenue_cents % 100
        )
    }

    fn counters(&self) -> [(&'static str, i64); 4] {
        [
            ("placed", self.placed as i64),
            ("paid", self.paid as i64),
            ("shipped", self.shipped as i64),
            ("revenue_cents", self.revenue_cents as i64),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// The log

/// An event log's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLogConfig {
    /// Answer "the state as of this time" (ms since the start) in the inspector and the
    /// `as_of_*` counters; `null` for none.
    #[serde(default)]
    pub as_of_ms: Option<f64>,
}

impl EventLogConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        match self.as_of_ms {
            Some(t) => check_ms("as_of_ms", t, 0.0, 3_600_000.0),
            None => Ok(()),
        }
    }
}

settings!(EventLog(EventLogConfig));

/// The append-only log. Durable: a restart keeps every event.
#[derive(Clone, Debug)]
pub struct EventLog {
    cfg: EventLogConfig,
    events: Vec<Event>,
    appended_us: Vec<u64>,
    /// Per writer: its last sequence number and the offset it got.
    last: BTreeMap<NodeId, (u64, u64)>,
    fold: Orders,
    duplicates: u64,
    refused: u64,
    polls: u64,
}

impl EventLog {
    /// A log with these settings.
    pub fn new(cfg: EventLogConfig) -> Result<Self, ConfigError> {
        cfg.check()?;
        Ok(EventLog {
            cfg,
            events: Vec::new(),
            appended_us: Vec::new(),
            last: BTreeMap::new(),
            fold: Orders::default(),
            duplicates: 0,
            refused: 0,
            polls: 0,
        })
    }

    /// The events appended at or before `t_us`: an offset, and the fold of the events before it.
    fn as_of(&self, t_us: u64) -> (u64, Orders) {
        let n = self.appended_us.partition_point(|&t| t <= t_us);
        let mut o = Orders::default();
        for e in &self.events[..n] {
            o.apply(e);
        }
        (n as u64, o)
    }
}

impl Node for EventLog {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::EventLog
    }

    fn on_start(&mut self, _ctx: &mut Ctx<'_>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Es(m) = msg else { return };
        match m {
            EsMsg::Append { seq, event } => {
                let offset = match self.last.get(&from) {
                    Some(&(s, off)) if seq == s => {
                        self.duplicates += 1;
                        off
                    }
                    Some(&(s, _)) if seq < s => return,
                    _ if self.events.len() >= MAX_LOG_EVENTS => {
                        self.refused += 1;
                        return;
                    }
                    _ => {
                        let off = self.events.len() as u64;
                        self.events.push(event);
                        self.appended_us.push(ctx.now_us());
                        self.fold.apply(&event);
                        self.last.insert(from, (seq, off));
                        ctx.count("appended", 1);
                        ctx.checks().committed(LOG_HEAD_KEY, off + 1);
                        off
                    }
                };
                ctx.send(from, Payload::Es(EsMsg::Appended { seq, offset }));
            }
            EsMsg::Poll { from: start, max } => {
                self.polls += 1;
                let head = self.events.len() as u64;
                let lo = start.min(head) as usize;
                let hi = (lo + max.clamp(1, 10_000) as usize).min(self.events.len());
                let reply = EsMsg::Events {
                    from: lo as u64,
                    events: self.events[lo..hi].to_vec(),
                    head,
                };
                ctx.send(from, Payload::Es(reply));
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_>, _timer: TimerId, _tag: u64) {}

    fn on_restart(&mut self) {}

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: EventLogConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!("{} events", self.events.len())
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::EventLog(crate::view::EventLogView {
            length: self.events.len() as u64,
            duplicates: self.duplicates,
            refused: self.refused,
            polls: self.polls,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        let mut rows = vec![
            ("events (head offset)".into(), self.events.len().to_string()),
            ("state".into(), self.fold.summary()),
            ("resent appends".into(), self.duplicates.to_string()),
        ];
        if let Some(t) = self.cfg.as_of_ms {
            let (n, o) = self.as_of(ms_to_us(t));
            rows.push((
                format!("as of {:.1} s", t / 1000.0),
                format!("offset {n}: {}", o.summary()),
            ));
        }
        rows
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        let mut c = vec![
            ("appended", self.events.len() as i64),
            ("resent_appends", self.duplicates as i64),
            ("refused", self.refused as i64),
            ("digest", self.fold.digest()),
        ];
        c.extend(self.fold.counters());
        if let Some(t) = self.cfg.as_of_ms {
            let (n, o) = self.as_of(ms_to_us(t));
            c.push(("as_of_offset", n as i64));
            c.push(("as_of_placed", o.placed as i64));
            c.push(("as_of_paid", o.paid as i64));
            c.push(("as_of_shipped", o.shipped as i64));
        }
        c
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The command side

fn default_rate() -> f64 {
    20.0
}
fn default_true() -> bool {
    true
}
fn default_writer_timeout_ms() -> f64 {
    1_000.0
}

/// An order writer's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderWriterConfig {
    /// The event log.
    pub log: String,
    /// Commands a second, 0 to 10000.
    #[serde(default = "default_rate")]
    pub rate_per_s: f64,
    /// Poisson arrivals (`true`) or evenly spaced ones.
    #[serde(default = "default_true")]
    pub poisson: bool,
    /// An append not acknowledged after this long is sent again, 1 ms to 1 h.
    #[serde(default = "default_writer_timeout_ms")]
    pub timeout_ms: f64,
}

impl OrderWriterConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let r = self.rate_per_s;
        if !(r.is_finite() && (0.0..=10_000.0).contains(&r)) {
            return Err((
                "rate_per_s".into(),
                format!("expected 0 to 10000 per second, got {r}"),
            ));
        }
        check_ms("timeout_ms", self.timeout_ms, 1.0, 3_600_000.0)
    }
}

settings!(OrderWriter(OrderWriterConfig));

const W_ARRIVAL: u64 = 0;
const W_TIMEOUT: u64 = 1;

/// The command side: places, pays and ships orders, appending each event to the log.
#[derive(Clone, Debug)]
pub struct OrderWriter {
    cfg: OrderWriterConfig,
    log: NodeId,
    next_order: u64,
    awaiting_payment: VecDeque<(u64, u64)>,
    awaiting_shipping: VecDeque<(u64, u64)>,
    /// Events decided, not yet acknowledged; the front one is on the wire.
    pending: VecDeque<Event>,
    next_seq: u64,
    sending: Option<(u64, TimerId)>,
    commands: u64,
    appended: u64,
    resends: u64,
    dropped: u64,
}

impl OrderWriter {
    /// A writer with these settings.
    pub fn new(
        cfg: OrderWriterConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let log = resolve("log", &cfg.log, me, lookup)?;
        Ok(OrderWriter {
            cfg,
            log,
            next_order: 1,
            awaiting_payment: VecDeque::new(),
            awaiting_shipping: VecDeque::new(),
            pending: VecDeque::new(),
            next_seq: 1,
            sending: None,
            commands: 0,
            appended: 0,
            resends: 0,
            dropped: 0,
        })
    }

    fn arm(&self, ctx: &mut Ctx<'_>) {
        let r = self.cfg.rate_per_s;
        if r > 0.0 {
            let mean = 1000.0 / r;
            let ms = if self.cfg.poisson {
                ctx.rng().exponential(mean)
            } else {
                mean
            };
            ctx.set_timer(ms_to_us(ms).max(1), W_ARRIVAL);
        }
    }

    /// Decides the next command against the writer's own aggregate.
    fn command(&mut self, ctx: &mut Ctx<'_>) -> Event {
        let r = ctx.rng().unit();
        let full = self.awaiting_payment.len() >= MAX_OPEN_ORDERS
            || self.awaiting_shipping.len() >= MAX_OPEN_ORDERS;
        if ((r < 0.3 && !self.awaiting_payment.is_empty()) || (full && r < 0.65))
            && let Some((order, amount_cents)) = self.awaiting_payment.pop_front()
        {
            self.awaiting_shipping.push_back((order, amount_cents));
            return Event {
                order,
                kind: OrderEventKind::Paid,
                amount_cents,
            };
        }
        if ((0.3..0.6).contains(&r) || full)
            && let Some((order, amount_cents)) = self.awaiting_shipping.pop_front()
        {
            return Event {
                order,
                kind: OrderEventKind::Shipped,
                amount_cents,
            };
        }
        let order = self.next_order;
        self.next_order += 1;
        let amount_cents = 500 + 100 * ctx.rng().below(96);
        self.awaiting_payment.push_back((order, amount_cents));
        Event {
            order,
            kind: OrderEventKind::Placed,
            amount_cents,
        }
    }

    fn send_front(&mut self, ctx: &mut Ctx<'_>) {
        if self.sending.is_some() {
            return;
        }
        if let Some(e) = self.pending.front().copied() {
            let seq = self.next_seq;
            let t = ctx.set_timer(ms_to_us(self.cfg.timeout_ms), W_TIMEOUT);
            self.sending = Some((seq, t));
            ctx.send(self.log, Payload::Es(EsMsg::Append { seq, event: e }));
        }
    }
}

impl Node for OrderWriter {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::OrderWriter
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.arm(ctx);
        self.send_front(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, msg: Payload) {
        let Payload::Es(EsMsg::Appended { seq, .. }) = msg else {
            return;
        };
        let Some((s, timer)) = self.sending else {
            return;
        };
        if s != seq {
            return;
        }
        ctx.cancel_timer(timer);
        self.sending = None;
        self.pending.pop_front();
        self.next_seq += 1;
        self.appended += 1;
        self.send_front(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId, tag: u64) {
        if tag == W_ARRIVAL {
            self.commands += 1;
            if self.pending.len() < MAX_WRITER_QUEUE {
                let e = self.command(ctx);
                self.pending.push_back(e);
                self.send_front(ctx);
            } else {
                self.dropped += 1;
            }
            self.arm(ctx);
        } else {
            // No acknowledgement: send the same event again, with the same sequence number.
            self.sending = None;
            self.resends += 1;
            self.send_front(ctx);
        }
    }

    fn on_restart(&mut self) {
        // Decided events wait in a durable outbox with the aggregate (a transactional outbox):
        // after a restart the front one is sent again with its sequence number, and the log's
        // deduplication keeps it once.
        self.sending = None;
    }

    fn set_early(
        &mut self,
        param: &str,
        _value: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        if param == "log" {
            return Some(Err("the log cannot change during a run".into()));
        }
        None
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: OrderWriterConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!("{} appended, {} waiting", self.appended, self.pending.len())
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::OrderWriter(crate::view::OrderWriterView {
            pending: self.pending.len(),
            sending: self.sending.is_some(),
            awaiting_payment: self.awaiting_payment.len(),
            awaiting_shipping: self.awaiting_shipping.len(),
            commands: self.commands,
            appended: self.appended,
            resends: self.resends,
            dropped: self.dropped,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("rate".into(), format!("{} a second", self.cfg.rate_per_s)),
            ("commands".into(), self.commands.to_string()),
            ("appended".into(), self.appended.to_string()),
            ("waiting to append".into(), self.pending.len().to_string()),
            ("resent".into(), self.resends.to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("commands", self.commands as i64),
            ("appended", self.appended as i64),
            ("resends", self.resends as i64),
            ("dropped", self.dropped as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The read model

fn default_apply_ms() -> f64 {
    5.0
}
fn default_poll_interval_ms() -> f64 {
    100.0
}
fn default_batch() -> u32 {
    100
}
fn default_poll_timeout_ms() -> f64 {
    1_000.0
}

/// A projection's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectionConfig {
    /// The event log it follows.
    pub log: String,
    /// Time to apply one event, 0 to 60000 ms.
    #[serde(default = "default_apply_ms")]
    pub apply_ms: f64,
    /// Wait between polls once caught up, 1 ms to 60 s.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: f64,
    /// Events asked for per poll, 1 to 10000.
    #[serde(default = "default_batch")]
    pub batch: u32,
    /// A poll not answered after this long is sent again, 1 ms to 1 h.
    #[serde(default = "default_poll_timeout_ms")]
    pub poll_timeout_ms: f64,
    /// Keeps its state and offset across a crash; otherwise it replays from 0 after one.
    #[serde(default = "default_true")]
    pub durable: bool,
}

impl ProjectionConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        check_ms("apply_ms", self.apply_ms, 0.0, 60_000.0)?;
        check_ms("poll_interval_ms", self.poll_interval_ms, 1.0, 60_000.0)?;
        check_ms("poll_timeout_ms", self.poll_timeout_ms, 1.0, 3_600_000.0)?;
        if !(1..=10_000).contains(&self.batch) {
            return Err((
                "batch".into(),
                format!("expected 1 to 10000, got {}", self.batch),
            ));
        }
        Ok(())
    }
}

settings!(Projection(ProjectionConfig));

const P_POLL: u64 = 0;
const P_APPLY: u64 = 1;
const P_TIMEOUT: u64 = 2;

/// A read model following the log.
#[derive(Clone, Debug)]
pub struct Projection {
    cfg: ProjectionConfig,
    log: NodeId,
    state: Orders,
    /// The offset of the next event to apply (= events applied since the last rebuild).
    offset: u64,
    /// Events fetched, not yet applied, with their offsets.
    queue: VecDeque<(u64, Event)>,
    /// A poll on the wire: the offset it asked from, and its timeout.
    polling: Option<(u64, TimerId)>,
    /// The poll timer or the apply timer, whichever is set.
    waiting: Option<TimerId>,
    head_seen: u64,
    applied: u64,
    skipped: u64,
    max_lag: u64,
    rebuilds: u64,
    /// A rebuild was asked for; announce it at the next event.
    rebuild_pending: bool,
    /// Replaying after a rebuild: say so when caught up.
    replaying: bool,
    reported_lag: i64,
    /// The log's length when this node last handled an event (the simulator's view, for the
    /// lag figures only; the projection's behaviour uses `head_seen`).
    log_head: u64,
}

impl Projection {
    /// A projection with these settings.
    pub fn new(
        cfg: ProjectionConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let log = resolve("log", &cfg.log, me, lookup)?;
        Ok(Projection {
            cfg,
            log,
            state: Orders::default(),
            offset: 0,
            queue: VecDeque::new(),
            polling: None,
            waiting: None,
            head_seen: 0,
            applied: 0,
            skipped: 0,
            max_lag: 0,
            rebuilds: 0,
            rebuild_pending: false,
            replaying: false,
            reported_lag: -1,
            log_head: 0,
        })
    }

    /// Events in the log that this read model has not applied, as of its last event.
    fn lag(&self) -> u64 {
        self.log_head
            .max(self.head_seen)
            .saturating_sub(self.offset)
    }

    /// Reads the log's true length (as Kafka's lag monitoring asks the broker for the log end
    /// offset) and records the lag.
    fn note_lag(&mut self, ctx: &mut Ctx<'_>) {
        self.log_head = ctx.checks().log_end(self.log, LOG_HEAD_KEY);
        let lag = self.lag();
        self.max_lag = self.max_lag.max(lag);
        if lag as i64 != self.reported_lag {
            self.reported_lag = lag as i64;
            ctx.gauge("lag_events", lag as i64);
        }
    }

    fn announce(&mut self, ctx: &mut Ctx<'_>) {
        if self.rebuild_pending {
            self.rebuild_pending = false;
            ctx.state("rebuild: replaying the log from offset 0");
        }
    }

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        if self.polling.is_some() {
            return;
        }
        if let Some(t) = self.waiting.take() {
            ctx.cancel_timer(t);
        }
        let from = self.offset + self.queue.len() as u64;
        let t = ctx.set_timer(ms_to_us(self.cfg.poll_timeout_ms), P_TIMEOUT);
        self.polling = Some((from, t));
        let max = self.cfg.batch;
        ctx.send(self.log, Payload::Es(EsMsg::Poll { from, max }));
    }

    /// Applies what is queued (at once when `apply_ms` is 0, else the front one after it), or
    /// polls again.
    fn next(&mut self, ctx: &mut Ctx<'_>) {
        if self.waiting.is_some() || self.polling.is_some() {
            return;
        }
        if !self.queue.is_empty() {
            if self.cfg.apply_ms > 0.0 {
                self.waiting = Some(ctx.set_timer(ms_to_us(self.cfg.apply_ms).max(1), P_APPLY));
                return;
            }
            while let Some((off, e)) = self.queue.pop_front() {
                self.apply(ctx, off, &e);
            }
        }
        if self.head_seen > self.offset {
            self.poll(ctx);
        } else {
            self.waiting = Some(ctx.set_timer(ms_to_us(self.cfg.poll_interval_ms), P_POLL));
        }
    }

    /// Applies one event, idempotently by offset.
    fn apply(&mut self, ctx: &mut Ctx<'_>, off: u64, e: &Event) {
        if off < self.offset {
            self.skipped += 1;
            return;
        }
        if off > self.offset {
            // A gap: never apply out of order; fetch again from our offset.
            self.queue.clear();
            return;
        }
        self.state.apply(e);
        self.offset += 1;
        self.applied += 1;
        ctx.count("applied", 1);
        self.note_lag(ctx);
        if self.replaying && self.lag() == 0 {
            self.replaying = false;
            ctx.state(format!("rebuilt: caught up at offset {}", self.offset));
        }
    }

    fn reset(&mut self) {
        self.state = Orders::default();
        self.offset = 0;
        self.queue.clear();
    }
}

impl Node for Projection {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Projection
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.announce(ctx);
        self.poll(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, msg: Payload) {
        let Payload::Es(EsMsg::Events { from, events, head }) = msg else {
            return;
        };
        self.announce(ctx);
        self.head_seen = self.head_seen.max(head);
        let Some((asked, timer)) = self.polling else {
            return;
        };
        ctx.cancel_timer(timer);
        self.polling = None;
        let expect = self.offset + self.queue.len() as u64;
        if asked == expect && from == expect {
            let n = events.len() as u64;
            self.queue
                .extend((from..from + n).zip(events.iter().copied()));
        }
        self.note_lag(ctx);
        // An answer to a poll from before a rebuild asked from the wrong offset: poll again.
        if self.queue.is_empty() && self.head_seen > self.offset {
            self.poll(ctx);
        } else {
            self.next(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, tag: u64) {
        self.announce(ctx);
        self.note_lag(ctx);
        match tag {
            P_POLL => {
                if self.waiting == Some(timer) {
                    self.waiting = None;
                }
                self.poll(ctx);
            }
            P_APPLY => {
                if self.waiting == Some(timer) {
                    self.waiting = None;
                }
                if let Some((off, e)) = self.queue.pop_front() {
                    self.apply(ctx, off, &e);
                }
                self.next(ctx);
            }
            _ => {
                if self.polling.is_some_and(|(_, t)| t == timer) {
                    self.polling = None;
                    self.poll(ctx);
                }
            }
        }
    }

    fn on_restart(&mut self) {
        self.queue.clear();
        self.polling = None;
        self.waiting = None;
        self.reported_lag = -1;
        if !self.cfg.durable {
            self.reset();
        }
    }

    fn set_early(
        &mut self,
        param: &str,
        value: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        if param == "log" {
            return Some(Err("the log cannot change during a run".into()));
        }
        if param == "rebuild" {
            // An action, not a setting: empty the read model and replay the log from 0.
            if value != &serde_json::Value::Bool(true) {
                return Some(Err("rebuild: expected true".into()));
            }
            self.reset();
            self.rebuilds += 1;
            self.rebuild_pending = true;
            self.replaying = true;
            return Some(Ok("true".into()));
        }
        None
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: ProjectionConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        match self.lag() {
            0 => format!("caught up at offset {}", self.offset),
            n => format!("offset {}, {n} behind", self.offset),
        }
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Projection(crate::view::ProjectionView {
            log: self.log,
            offset: self.offset,
            lag: self.lag(),
            head_seen: self.head_seen,
            max_lag: self.max_lag,
            queued: self.queue.len(),
            applied: self.applied,
            replaying: self.replaying,
            rebuilds: self.rebuilds,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("offset".into(), self.offset.to_string()),
            ("log head (last poll)".into(), self.head_seen.to_string()),
            ("lag (events)".into(), self.lag().to_string()),
            ("state as of its offset".into(), self.state.summary()),
            ("fetched, not applied".into(), self.queue.len().to_string()),
            ("applied (with replays)".into(), self.applied.to_string()),
            ("rebuilds".into(), self.rebuilds.to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        let mut c = vec![
            ("offset", self.offset as i64),
            ("lag_events", self.lag() as i64),
            ("max_lag_events", self.max_lag as i64),
            ("applied", self.applied as i64),
            ("duplicates_skipped", self.skipped as i64),
            ("rebuilds", self.rebuilds as i64),
            ("digest", self.state.digest()),
        ];
        c.extend(self.state.counters());
        c
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(order: u64, kind: OrderEventKind) -> Event {
        Event {
            order,
            kind,
            amount_cents: 1000,
        }
    }

    #[test]
    fn the_fold_follows_each_orders_life_and_order_matters() {
        use OrderEventKind::*;
        let mut a = Orders::default();
        for e in [ev(1, Placed), ev(1, Paid), ev(2, Placed), ev(1, Shipped)] {
            a.apply(&e);
        }
        assert_eq!(
            (a.placed, a.paid, a.shipped, a.revenue_cents),
            (2, 1, 1, 1000)
        );
        // Shipped before paid does not apply: the order of the log is part of the truth.
        let mut b = Orders::default();
        for e in [ev(1, Placed), ev(1, Shipped), ev(1, Paid), ev(2, Placed)] {
            b.apply(&e);
        }
        assert_eq!((b.shipped, b.ignored), (0, 1));
        assert_ne!(a.digest(), b.digest());
    }
}
