//! A typed view of every node: what a picture of it needs, read from the model itself.
//!
//! [`ModelKind`] names a model (one variant per [`crate::models::ModelSpec`] variant), and
//! [`NodeView`] carries, per model, the numbers and states a drawing needs: a breaker's state and
//! the end of its wait, a queue's depth and capacity, a Raft server's term, role, election
//! deadline and log with its commit index, a replica's values and versions, a saga's steps per
//! order. [`crate::node::Node::view`] makes one, and [`crate::world::World::node_view`] hands it to the
//! page. The page draws from these, never from status text; both enums are matched without a
//! catch-all in the core, so adding a model is a compiler error wherever something must be
//! decided for it.
//!
//! Everything here is a copy taken at one moment: reading a view never changes a run. Times are
//! virtual microseconds (`_us`), like the rest of the core. Lists that come from maps are sorted
//! by their key, so two views of the same state are equal.

use serde::Serialize;

use crate::node::NodeId;

/// A model, as the scenario's `type` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// A load generator with timeouts, retries and an optional circuit breaker.
    Client,
    /// A service with workers, a queue and optional downstream calls.
    Service,
    /// A payment service with an idempotency store.
    Payment,
    /// A key-value database with versions per key (behind a cache).
    Database,
    /// A cache with a TTL and optional leases.
    Cache,
    /// An app server reading and writing through a cache and a database.
    App,
    /// An append-only event log.
    EventLog,
    /// The command side of event sourcing: appends order events.
    OrderWriter,
    /// A read model following an event log.
    Projection,
    /// A Raft server.
    Raft,
    /// Publishes messages to a queue.
    Producer,
    /// A queue with at-least-once delivery.
    Queue,
    /// Processes a queue's messages.
    Consumer,
    /// Runs order sagas (orchestration or choreography).
    SagaOrchestrator,
    /// One step of a saga.
    SagaParticipant,
    /// A two-phase commit coordinator.
    TpcCoordinator,
    /// A two-phase commit participant.
    TpcParticipant,
    /// A replica of a key-value store (CP or AP).
    KvReplica,
    /// A key-value client recording a history.
    KvClient,
}

impl ModelKind {
    /// Every kind, in the order of [`crate::models::ModelSpec`].
    pub const ALL: [ModelKind; 19] = [
        ModelKind::Client,
        ModelKind::Service,
        ModelKind::Payment,
        ModelKind::Database,
        ModelKind::Cache,
        ModelKind::App,
        ModelKind::EventLog,
        ModelKind::OrderWriter,
        ModelKind::Projection,
        ModelKind::Raft,
        ModelKind::Producer,
        ModelKind::Queue,
        ModelKind::Consumer,
        ModelKind::SagaOrchestrator,
        ModelKind::SagaParticipant,
        ModelKind::TpcCoordinator,
        ModelKind::TpcParticipant,
        ModelKind::KvReplica,
        ModelKind::KvClient,
    ];

    /// The name the scenario's `type` uses (`client`, `kv_replica`, ...); what
    /// [`crate::node::Node::kind`] returns.
    pub const fn name(self) -> &'static str {
        match self {
            ModelKind::Client => "client",
            ModelKind::Service => "service",
            ModelKind::Payment => "payment",
            ModelKind::Database => "database",
            ModelKind::Cache => "cache",
            ModelKind::App => "app",
            ModelKind::EventLog => "event_log",
            ModelKind::OrderWriter => "order_writer",
            ModelKind::Projection => "projection",
            ModelKind::Raft => "raft",
            ModelKind::Producer => "producer",
            ModelKind::Queue => "queue",
            ModelKind::Consumer => "consumer",
            ModelKind::SagaOrchestrator => "saga_orchestrator",
            ModelKind::SagaParticipant => "saga_participant",
            ModelKind::TpcCoordinator => "tpc_coordinator",
            ModelKind::TpcParticipant => "tpc_participant",
            ModelKind::KvReplica => "kv_replica",
            ModelKind::KvClient => "kv_client",
        }
    }

    /// The kind a scenario's `type` names, if any.
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One node's state for drawing, per model.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeView {
    /// A client.
    Client(ClientView),
    /// A service.
    Service(ServiceView),
    /// A payment service.
    Payment(PaymentView),
    /// A database.
    Database(DatabaseView),
    /// A cache.
    Cache(CacheView),
    /// An app server.
    App(AppView),
    /// An event log.
    EventLog(EventLogView),
    /// An order writer.
    OrderWriter(OrderWriterView),
    /// A projection.
    Projection(ProjectionView),
    /// A Raft server.
    Raft(RaftView),
    /// A producer.
    Producer(ProducerView),
    /// A queue.
    Queue(QueueView),
    /// A consumer.
    Consumer(ConsumerView),
    /// A saga orchestrator (or a choreography's order service).
    SagaOrchestrator(SagaOrchestratorView),
    /// A saga participant.
    SagaParticipant(SagaParticipantView),
    /// A two-phase commit coordinator.
    TpcCoordinator(TpcCoordinatorView),
    /// A two-phase commit participant.
    TpcParticipant(TpcParticipantView),
    /// A key-value replica.
    KvReplica(KvReplicaView),
    /// A key-value client.
    KvClient(KvClientView),
}

impl NodeView {
    /// The model this view is of.
    pub fn kind(&self) -> ModelKind {
        match self {
            NodeView::Client(_) => ModelKind::Client,
            NodeView::Service(_) => ModelKind::Service,
            NodeView::Payment(_) => ModelKind::Payment,
            NodeView::Database(_) => ModelKind::Database,
            NodeView::Cache(_) => ModelKind::Cache,
            NodeView::App(_) => ModelKind::App,
            NodeView::EventLog(_) => ModelKind::EventLog,
            NodeView::OrderWriter(_) => ModelKind::OrderWriter,
            NodeView::Projection(_) => ModelKind::Projection,
            NodeView::Raft(_) => ModelKind::Raft,
            NodeView::Producer(_) => ModelKind::Producer,
            NodeView::Queue(_) => ModelKind::Queue,
            NodeView::Consumer(_) => ModelKind::Consumer,
            NodeView::SagaOrchestrator(_) => ModelKind::SagaOrchestrator,
            NodeView::SagaParticipant(_) => ModelKind::SagaParticipant,
            NodeView::TpcCoordinator(_) => ModelKind::TpcCoordinator,
            NodeView::TpcParticipant(_) => ModelKind::TpcParticipant,
            NodeView::KvReplica(_) => ModelKind::KvReplica,
            NodeView::KvClient(_) => ModelKind::KvClient,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resilience: breakers, budgets, clients, services, payments

/// A circuit breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through and are counted.
    Closed,
    /// Calls are rejected until the wait has passed.
    Open,
    /// A few trial calls go through.
    HalfOpen,
}

/// A circuit breaker (resilience4j's state machine, `models::breaker`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerView {
    /// Closed, open or half-open.
    pub state: BreakerState,
    /// When it opened (open only).
    pub opened_at_us: Option<u64>,
    /// When the wait in the open state ends (open only): with automatic transition it moves to
    /// half-open then; without, the first call after it does.
    pub open_until_us: Option<u64>,
    /// Whether the move to half-open happens by itself when the wait ends.
    pub automatic: bool,
    /// Trial calls allowed in half-open.
    pub half_open_permits: u32,
    /// Trial calls admitted so far in this half-open state.
    pub half_open_admitted: u32,
    /// Calls in the sliding window now (closed state).
    pub window_calls: u32,
    /// Failed calls among them.
    pub window_failures: u32,
    /// Slow calls among them.
    pub window_slow: u32,
    /// The window's failure rate, percent (0 when the window is empty).
    pub failure_rate_pct: f64,
    /// The failure rate, percent, at which it opens.
    pub failure_threshold_pct: f64,
    /// Calls it has rejected.
    pub rejected: u64,
}

/// A retry budget's level.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BudgetView {
    /// The SRE book's ratio: retries at most `ratio` of the requests in the window.
    Ratio {
        /// Retries allowed per request.
        ratio: f64,
        /// The window, in milliseconds.
        window_ms: f64,
        /// Requests counted in the seconds kept.
        requests: u64,
        /// Retries counted in the seconds kept.
        retries: u64,
    },
    /// gRPC's token bucket: no retries while `tokens` <= `max_tokens` / 2.
    TokenBucket {
        /// Tokens now.
        tokens: f64,
        /// The bucket's size (it starts full).
        max_tokens: f64,
    },
}

/// One request a client has in progress.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestView {
    /// Its trace id.
    pub trace_id: u64,
    /// The attempt number (1 for the first), counting attempts the breaker rejected.
    pub attempt: u32,
    /// When the request began.
    pub started_us: u64,
    /// When the current attempt began.
    pub attempt_started_us: u64,
    /// When the current attempt times out, if it is on the wire with a timeout.
    pub attempt_deadline_us: Option<u64>,
    /// When the next attempt goes, if the request is waiting out a backoff.
    pub retry_at_us: Option<u64>,
    /// When the whole request gives up (its `deadline_ms`), if it has one.
    pub deadline_us: Option<u64>,
    /// Whether a hedged copy of the attempt is on the wire.
    pub hedged: bool,
}

/// A client: its requests in progress, its policy and its totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClientView {
    /// The node it sends to.
    pub target: NodeId,
    /// Requests in progress, by trace id.
    pub in_progress: Vec<RequestView>,
    /// The per-attempt timeout, if any.
    pub timeout_ms: Option<f64>,
    /// The per-request deadline, if any.
    pub deadline_ms: Option<f64>,
    /// Attempts allowed per request.
    pub max_attempts: u32,
    /// Its circuit breaker, if it has one.
    pub breaker: Option<BreakerView>,
    /// Its retry budget, if it has one.
    pub budget: Option<BudgetView>,
    /// Requests begun.
    pub requests: u64,
    /// Requests that succeeded.
    pub successes: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Attempts sent.
    pub attempts: u64,
    /// Retries sent.
    pub retries: u64,
    /// Answers that came after their attempt was given up.
    pub late_responses: u64,
    /// Hedged copies sent.
    pub hedges: u64,
}

/// One downstream call a service makes for each request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallView {
    /// The node called.
    pub target: NodeId,
    /// Whether the request can do without it (a fallback).
    pub optional: bool,
    /// The call's circuit breaker, if it has one.
    pub breaker: Option<BreakerView>,
    /// The call's retry budget, if it has one.
    pub budget: Option<BudgetView>,
}

/// A service's downstream calls.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DownstreamView {
    /// The calls, in the order of the settings.
    pub calls: Vec<CallView>,
    /// Requests waiting for their calls (each holds a worker).
    pub waiting: usize,
    /// Attempts sent.
    pub attempts: u64,
    /// Retries sent.
    pub retries: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Calls that failed for good.
    pub failures: u64,
    /// Attempts a breaker rejected.
    pub rejected: u64,
}

/// A service: workers, queue, load shedding and outage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceView {
    /// Requests waiting in the queue.
    pub queued: usize,
    /// The queue's capacity.
    pub queue_limit: u32,
    /// Workers busy (working, or waiting for downstream calls).
    pub busy: usize,
    /// Workers.
    pub workers: u32,
    /// The status it answers everything with during an outage; `None` when up.
    pub outage: Option<u16>,
    /// Requests answered after work.
    pub served: u64,
    /// Errors answered.
    pub errors: u64,
    /// Requests shed with a 503 (queue full).
    pub shed: u64,
    /// Requests refused as overloaded (503, do not retry).
    pub overloaded: u64,
    /// Attempts received.
    pub attempts_received: u64,
    /// Answers given during an outage.
    pub outage_answers: u64,
    /// Its downstream calls, if it makes any.
    pub downstream: Option<DownstreamView>,
    /// Its row, once a client's edits have written it (`writes`).
    pub row: Option<RowView>,
}

/// A service's row written by edits (`docs/models/ordering.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RowView {
    /// The edit number the row holds.
    pub value: u64,
    /// The row's version.
    pub version: u64,
    /// Versioned writes refused as not newer than the row.
    pub stale_writes: u64,
    /// Times a plain write put back an older edit of the same writer.
    pub went_backwards: u64,
    /// The latest refused write: its edit number, and when.
    pub last_refused: Option<(u64, u64)>,
    /// The latest step back: the edit the row held, the older one it took, and when.
    pub last_backwards: Option<(u64, u64, u64)>,
}

/// The state of one idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyState {
    /// The first request with this key is still executing (a repeat gets a 409).
    Running,
    /// Done: a repeat gets this stored status back.
    Done {
        /// The stored response's status.
        status: u16,
    },
}

/// How a repeated request with a stored key was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyHit {
    /// The first request had finished: its stored result was replayed, nothing charged.
    Replayed,
    /// The first request was still executing: answered 409, nothing charged.
    Conflict,
    /// The same key with another amount: refused (400), nothing charged.
    Mismatch,
}

/// One row of a payment service's idempotency store.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyRow {
    /// The idempotency key (for a named key, a hash of its name).
    pub key: u64,
    /// The key's name, when the scenario named it.
    pub name: Option<String>,
    /// Running or done.
    pub state: KeyState,
    /// The amount the first request asked for.
    pub amount_cents: u64,
    /// When it was stored (it is kept for `retention_ms`).
    pub stored_at_us: u64,
    /// The latest repeat that hit this row, and when: a picture marks the row for a while.
    pub last_hit: Option<(KeyHit, u64)>,
}

impl KeyRow {
    /// When the row was last touched: stored, or hit by a repeat.
    pub fn touched_us(&self) -> u64 {
        self.last_hit
            .map_or(self.stored_at_us, |(_, t)| t.max(self.stored_at_us))
    }
}

/// The most rows of an idempotency store a [`PaymentView`] carries: a picture shows a few, and a
/// store of a day's keys must not be copied every frame.
pub const MAX_KEY_ROWS: usize = 6;

/// A payment service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PaymentView {
    /// The idempotency store's most recently touched rows (stored or hit by a repeat), newest
    /// first, ties by key; at most [`MAX_KEY_ROWS`].
    pub keys: Vec<KeyRow>,
    /// Keys in the store, all of them.
    pub keys_stored: usize,
    /// Charges executing now.
    pub executing: usize,
    /// Charges made.
    pub charges: u64,
    /// Charges made twice for one logical request.
    pub duplicate_charges: u64,
    /// Stored results replayed to a repeat.
    pub replays: u64,
    /// Repeats answered 409 (the first still running).
    pub conflicts: u64,
    /// Requests refused as invalid.
    pub rejected: u64,
}

// ---------------------------------------------------------------------------------------------
// Caching

/// A key's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KeyVersion {
    /// The key.
    pub key: u32,
    /// Its version.
    pub version: u64,
}

/// A database.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatabaseView {
    /// The version of each key written, by key.
    pub versions: Vec<KeyVersion>,
    /// Operations in progress.
    pub in_progress: usize,
    /// Reads done.
    pub reads: u64,
    /// Writes done.
    pub writes: u64,
}

/// One cached key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CacheEntryView {
    /// The key.
    pub key: u32,
    /// The version cached.
    pub version: u64,
    /// When it expires.
    pub expires_us: u64,
}

/// A cache.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheView {
    /// The entries, by key.
    pub entries: Vec<CacheEntryView>,
    /// Keys with a lease handed out (leases on).
    pub leased: Vec<u32>,
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Hits that returned a version older than the database's.
    pub stale_reads: u64,
    /// The oldest staleness seen, microseconds.
    pub max_stale_us: u64,
    /// Sets stored.
    pub sets: u64,
    /// Sets refused (a stale lease).
    pub sets_refused: u64,
    /// Invalidations applied.
    pub invalidations: u64,
    /// Entries expired.
    pub expired: u64,
}

/// What an app's operation is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStep {
    /// A read asked the cache.
    CacheGet,
    /// A read missed and asked the database.
    DbRead,
    /// A read fills the cache.
    CacheSet,
    /// A write asked the database.
    DbWrite,
    /// A write invalidates the cache.
    CacheDelete,
    /// A write updates the cache (write-through).
    CacheWrite,
}

/// One operation of an app in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AppOpView {
    /// The key.
    pub key: u32,
    /// What it waits for.
    pub step: AppStep,
    /// When it began.
    pub started_us: u64,
}

/// An app server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppView {
    /// Operations in progress, in the order they began.
    pub ops: Vec<AppOpView>,
    /// Reads done.
    pub reads: u64,
    /// Writes done.
    pub writes: u64,
    /// Operations that timed out.
    pub timeouts: u64,
    /// Operations skipped.
    pub skipped: u64,
    /// Invalidations sent.
    pub invalidations_sent: u64,
    /// Invalidations lost.
    pub invalidations_lost: u64,
}

// ---------------------------------------------------------------------------------------------
// Event sourcing

/// An event log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventLogView {
    /// Events in the log (the next offset).
    pub length: u64,
    /// Appends refused as duplicates.
    pub duplicates: u64,
    /// Appends refused.
    pub refused: u64,
    /// Polls answered.
    pub polls: u64,
}

/// An order writer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderWriterView {
    /// Events waiting to be appended.
    pub pending: usize,
    /// Whether an append is on the wire.
    pub sending: bool,
    /// Orders waiting for payment.
    pub awaiting_payment: usize,
    /// Orders waiting for shipping.
    pub awaiting_shipping: usize,
    /// Commands handled.
    pub commands: u64,
    /// Events appended.
    pub appended: u64,
    /// Appends sent again.
    pub resends: u64,
    /// Events dropped.
    pub dropped: u64,
}

/// A projection (a read model).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectionView {
    /// The event log it follows.
    pub log: NodeId,
    /// Events applied from the log (its offset).
    pub offset: u64,
    /// How far behind the log's end it is.
    pub lag: u64,
    /// The log's end as last seen.
    pub head_seen: u64,
    /// The largest lag seen.
    pub max_lag: u64,
    /// Events received, waiting to be applied.
    pub queued: usize,
    /// Events applied.
    pub applied: u64,
    /// Whether it is rebuilding from offset 0.
    pub replaying: bool,
    /// Rebuilds done.
    pub rebuilds: u64,
}

// ---------------------------------------------------------------------------------------------
// Consensus

/// A Raft server's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftRole {
    /// Follows a leader.
    Follower,
    /// Asks for votes.
    Candidate,
    /// Replicates its log.
    Leader,
}

/// One log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LogEntryView {
    /// Its index, from 1.
    pub index: u64,
    /// The term it was made in.
    pub term: u64,
}

/// A Raft server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RaftView {
    /// The current term.
    pub term: u64,
    /// Follower, candidate or leader.
    pub role: RaftRole,
    /// Who it voted for in this term.
    pub voted_for: Option<NodeId>,
    /// The leader it follows, if it knows one.
    pub leader: Option<NodeId>,
    /// When it starts an election unless it hears from a leader (not a leader).
    pub election_deadline_us: Option<u64>,
    /// Its log.
    pub log: Vec<LogEntryView>,
    /// The highest index known committed.
    pub commit_index: u64,
    /// The servers in its cluster, itself included.
    pub cluster_size: usize,
}

// ---------------------------------------------------------------------------------------------
// Messaging

/// A producer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProducerView {
    /// Messages published.
    pub published: u64,
}

/// A queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueView {
    /// Messages ready for delivery (the backlog).
    pub ready: usize,
    /// The backlog's capacity.
    pub max_depth: u32,
    /// Messages delivered and not yet acknowledged.
    pub in_flight: usize,
    /// Messages published.
    pub published: u64,
    /// Deliveries made.
    pub delivered: u64,
    /// Deliveries made again after an ack timeout.
    pub redelivered: u64,
    /// Acknowledgements received.
    pub acked: u64,
    /// Publishes refused (full).
    pub rejected: u64,
}

/// A consumer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsumerView {
    /// Messages being processed.
    pub working: usize,
    /// Whether it de-duplicates.
    pub dedup: bool,
    /// Messages received.
    pub received: u64,
    /// Messages processed.
    pub processed: u64,
    /// Messages processed a second time.
    pub duplicates_processed: u64,
    /// Duplicates recognised and skipped.
    pub duplicates_skipped: u64,
    /// Acknowledgements sent.
    pub acks_sent: u64,
}

// ---------------------------------------------------------------------------------------------
// Transactions

/// Where one step of a saga stands, as its orchestrator knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started.
    Pending,
    /// Running (or waiting to be tried again).
    Running,
    /// Done.
    Done,
    /// Failed: the saga goes backwards from here.
    Failed,
    /// Being compensated.
    Compensating,
    /// Compensated.
    Compensated,
    /// Unknown to the orchestrator (a choreography's participants talk among themselves).
    Unknown,
}

/// One saga an orchestrator is running.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SagaView {
    /// The saga's id.
    pub saga: u64,
    /// Each step's state, in step order.
    pub steps: Vec<StepState>,
    /// The attempt of the step running.
    pub attempt: u32,
}

/// How a saga ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaOutcome {
    /// Every step done: the order is approved.
    Completed,
    /// A step failed and the steps done before it were undone: the order is rejected.
    Compensated,
}

/// A saga that has ended, kept so that a picture can show it after the fact: a compensation
/// takes a few tens of milliseconds, too short to see while the run plays.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndedSagaView {
    /// The saga's id.
    pub saga: u64,
    /// Each step's final state, in step order.
    pub steps: Vec<StepState>,
    /// Completed or compensated.
    pub outcome: SagaOutcome,
    /// When it ended.
    pub ended_us: u64,
}

/// The most ended sagas of each outcome an orchestrator keeps for its view.
pub const MAX_ENDED_SAGAS: usize = 3;

/// A saga orchestrator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SagaOrchestratorView {
    /// The participants, in step order.
    pub participants: Vec<NodeId>,
    /// The sagas running, by id.
    pub sagas: Vec<SagaView>,
    /// The sagas that ended last, newest first; at most [`MAX_ENDED_SAGAS`] of each outcome.
    pub ended: Vec<EndedSagaView>,
    /// Sagas started.
    pub started: u64,
    /// Sagas completed.
    pub completed: u64,
    /// Sagas compensated.
    pub compensated: u64,
    /// Invariant violations found.
    pub violations: u64,
}

/// What a participant's step did for one saga.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepRecord {
    /// Running, at this attempt.
    Running(u32),
    /// Failed at this attempt; nothing was done.
    Failed(u32),
    /// Nothing done (yet).
    Nothing,
    /// Done under a semantic lock (reserved, pending).
    Pending,
    /// Done for good.
    Committed,
    /// Undone (released, refunded, cancelled).
    Compensated,
}

/// A saga participant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SagaParticipantView {
    /// What its step does.
    pub action: crate::models::saga::Action,
    /// Per saga it remembers, by saga id: what it did.
    pub records: Vec<(u64, StepRecord)>,
    /// Actions run.
    pub runs: u64,
    /// Actions failed.
    pub failures: u64,
    /// Compensations run.
    pub compensations: u64,
}

/// A transaction's state at a coordinator.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TxState {
    /// Collecting votes: each participant's, `None` until it answers.
    Voting {
        /// Votes by participant, in order.
        votes: Vec<Option<bool>>,
    },
    /// The decision is being forced to the log.
    Logging {
        /// Commit or abort.
        commit: bool,
    },
    /// Decided and logged; waiting for acknowledgements.
    Decided {
        /// Commit or abort.
        commit: bool,
        /// Acknowledgements by participant, in order.
        acked: Vec<bool>,
    },
}

/// One transaction at a coordinator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TxView {
    /// Its id.
    pub tx: u64,
    /// Where it stands.
    pub state: TxState,
}

/// A two-phase commit coordinator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TpcCoordinatorView {
    /// The participants, in order.
    pub participants: Vec<NodeId>,
    /// Open transactions, by id.
    pub transactions: Vec<TxView>,
    /// Transactions started.
    pub started: u64,
    /// Transactions committed.
    pub committed: u64,
    /// Transactions aborted.
    pub aborted: u64,
}

/// A prepared transaction holding a participant's lock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InDoubtView {
    /// The transaction.
    pub tx: u64,
    /// Its coordinator.
    pub coordinator: NodeId,
    /// Since when it holds the lock.
    pub since_us: u64,
    /// Whether it is blocked (asked the coordinator and is waiting).
    pub blocked: bool,
}

/// A two-phase commit participant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TpcParticipantView {
    /// The prepared transaction: in doubt, holding the lock.
    pub prepared: Option<InDoubtView>,
    /// Prepares being worked on.
    pub preparing: usize,
    /// Transactions committed.
    pub committed: u64,
    /// Transactions aborted.
    pub aborted: u64,
    /// Votes "no" given.
    pub votes_no: u64,
    /// Total time the lock was held, microseconds.
    pub held_us: u64,
}

// ---------------------------------------------------------------------------------------------
// Replication

/// A key-value store's consistency mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvModeView {
    /// Majority quorums: linearizable.
    Cp,
    /// Last writer wins: available, possibly stale.
    Ap,
}

/// One key of a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KvEntryView {
    /// The key.
    pub key: u8,
    /// Its value.
    pub value: i64,
    /// Its version's counter or timestamp.
    pub version: u64,
    /// The replica that made the version.
    pub version_node: u16,
}

/// A key-value replica.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KvReplicaView {
    /// CP or AP.
    pub mode: KvModeView,
    /// Its store, by key.
    pub entries: Vec<KvEntryView>,
    /// Operations it coordinates now.
    pub pending: usize,
    /// Operations served.
    pub served: u64,
    /// Operations refused.
    pub refused: u64,
    /// Operations timed out.
    pub timed_out: u64,
}

/// A key-value client.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KvClientView {
    /// Whether an operation is on the wire.
    pub in_flight: bool,
    /// Reads that succeeded.
    pub reads_ok: u64,
    /// Writes that succeeded.
    pub writes_ok: u64,
    /// Operations refused.
    pub refused: u64,
    /// Operations timed out.
    pub timeouts: u64,
    /// The history's verdict as last reported: `Some(true)` linearizable so far.
    pub linearizable: Option<bool>,
}
