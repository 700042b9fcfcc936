//! The models: what a node in a scenario can be. Each follows a public reference (see
//! `docs/models/README.md`), names it in its docs, and says what it
//! assumes where the reference is silent.

/// Makes a model's settings type [`Settings`]: `settings!(Variant(Type))`, written beside the
/// type in its model's file.
macro_rules! settings {
    ($variant:ident($ty:ty)) => {
        impl crate::models::Settings for $ty {
            fn into_spec(self) -> crate::models::ModelSpec {
                crate::models::ModelSpec::$variant(self.into())
            }
            fn from_spec(spec: crate::models::ModelSpec) -> Option<Self> {
                match spec {
                    #[allow(clippy::useless_conversion)] // a `Box` for the client, else itself
                    crate::models::ModelSpec::$variant(c) => Some(Self::from(c)),
                    _ => None,
                }
            }
            fn check_settings(&self) -> Result<(), crate::models::ConfigError> {
                self.check()
            }
        }
    };
}

pub mod breaker;
pub mod cache;
pub mod checks;
pub mod client;
pub mod downstream;
pub mod event_sourcing;
pub mod flow;
pub mod kv;
pub mod payment;
pub mod queue;
pub mod raft;
pub mod retry;
pub(crate) mod row;
pub mod saga;
pub mod service;
pub mod tpc;

use serde::{Deserialize, Serialize};

use crate::node::{Node, NodeId};
use crate::view::ModelKind;

/// A node's model and settings, as the scenario names them: `{"type": "client", ...}`.
///
/// Read through one path, [`ModelSpec::from_value`] (see its `Deserialize`), not serde's derive
/// for an internally tagged enum: the derive buffers the object and deserialises every model's
/// settings from that buffer, a second copy of each settings reader beside the one that live
/// setting changes use (`serde_json::Value`), which the page downloads twice.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModelSpec {
    /// A load generator: users sending requests with timeouts and retries.
    Client(Box<client::ClientConfig>),
    /// A service with a latency distribution, a concurrency limit and a queue.
    Service(service::ServiceConfig),
    /// A payment service with an idempotency store (Stripe's semantics) and a ledger.
    Payment(payment::PaymentConfig),
    /// A key-value store with versions per key (behind a cache).
    Database(cache::DatabaseConfig),
    /// A cache with a TTL and optional leases, in front of a database.
    Cache(cache::CacheConfig),
    /// An app server reading and writing through a cache and a database.
    App(cache::AppConfig),
    /// An append-only event log (event sourcing).
    EventLog(event_sourcing::EventLogConfig),
    /// The command side: places, pays and ships orders, appending events to a log.
    OrderWriter(event_sourcing::OrderWriterConfig),
    /// A read model that follows an event log, lagging behind it.
    Projection(event_sourcing::ProjectionConfig),
    /// A Raft server (Ongaro and Ousterhout, 2014) in a cluster of 3 to 7.
    Raft(raft::RaftConfig),
    /// Publishes messages to a queue at a rate.
    Producer(queue::ProducerConfig),
    /// A queue with at-least-once delivery and redelivery after an ack timeout.
    Queue(queue::QueueConfig),
    /// Processes a queue's messages and acks them, with or without de-duplication.
    Consumer(queue::ConsumerConfig),
    /// Runs order sagas: an orchestrator, or the order service of a choreography.
    SagaOrchestrator(saga::OrchestratorConfig),
    /// One step of a saga (reserve inventory, charge, ship), with its compensation.
    SagaParticipant(saga::ParticipantConfig),
    /// A two-phase commit coordinator.
    TpcCoordinator(tpc::CoordinatorConfig),
    /// A two-phase commit participant (a resource manager with one lock).
    TpcParticipant(tpc::ParticipantConfig),
    /// A replica of a key-value store, CP (majority quorums) or AP (last writer wins).
    KvReplica(kv::KvReplicaConfig),
    /// A key-value client that records a history for the linearizability checker.
    KvClient(kv::KvClientConfig),
}

/// An error in a model's settings: (field path below `model`, message).
pub type ConfigError = (String, String);

/// The `type` names, for the "unknown variant" message.
const MODEL_TYPES: [&str; ModelKind::ALL.len()] = {
    let mut out = [""; ModelKind::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = ModelKind::ALL[i].name();
        i += 1;
    }
    out
};

impl<'de> Deserialize<'de> for ModelSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        ModelSpec::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl ModelSpec {
    /// Reads a model from its JSON object: `type` picks the model, the other fields are its
    /// settings. The messages are serde's own (`missing field `type``, `unknown variant ...`,
    /// `unknown field ...`), as the derived reader gave them.
    // Cold code: `inline` so the page compiles it at "z" (ARCHITECTURE.md, serde code).
    #[inline]
    pub fn from_value(value: serde_json::Value) -> Result<ModelSpec, serde_json::Error> {
        use serde::de::Error as _;
        use serde_json::{Error, Value, from_value as read};
        let (kind, fields) =
            crate::tagged::split(value, "type", "an object with a `type`", "a model name")?;
        let Some(kind) = ModelKind::from_name(&kind) else {
            return Err(Error::unknown_variant(&kind, &MODEL_TYPES));
        };
        let rest = Value::Object(fields);
        // No catch-all: a new model is a compile error here.
        Ok(match kind {
            ModelKind::Client => ModelSpec::Client(Box::new(read(rest)?)),
            ModelKind::Service => ModelSpec::Service(read(rest)?),
            ModelKind::Payment => ModelSpec::Payment(read(rest)?),
            ModelKind::Database => ModelSpec::Database(read(rest)?),
            ModelKind::Cache => ModelSpec::Cache(read(rest)?),
            ModelKind::App => ModelSpec::App(read(rest)?),
            ModelKind::EventLog => ModelSpec::EventLog(read(rest)?),
            ModelKind::OrderWriter => ModelSpec::OrderWriter(read(rest)?),
            ModelKind::Projection => ModelSpec::Projection(read(rest)?),
            ModelKind::Raft => ModelSpec::Raft(read(rest)?),
            ModelKind::Producer => ModelSpec::Producer(read(rest)?),
            ModelKind::Queue => ModelSpec::Queue(read(rest)?),
            ModelKind::Consumer => ModelSpec::Consumer(read(rest)?),
            ModelKind::SagaOrchestrator => ModelSpec::SagaOrchestrator(read(rest)?),
            ModelKind::SagaParticipant => ModelSpec::SagaParticipant(read(rest)?),
            ModelKind::TpcCoordinator => ModelSpec::TpcCoordinator(read(rest)?),
            ModelKind::TpcParticipant => ModelSpec::TpcParticipant(read(rest)?),
            ModelKind::KvReplica => ModelSpec::KvReplica(read(rest)?),
            ModelKind::KvClient => ModelSpec::KvClient(read(rest)?),
        })
    }

    /// The model this spec builds.
    pub fn kind(&self) -> crate::view::ModelKind {
        use crate::view::ModelKind as K;
        match self {
            ModelSpec::Client(_) => K::Client,
            ModelSpec::Service(_) => K::Service,
            ModelSpec::Payment(_) => K::Payment,
            ModelSpec::Database(_) => K::Database,
            ModelSpec::Cache(_) => K::Cache,
            ModelSpec::App(_) => K::App,
            ModelSpec::EventLog(_) => K::EventLog,
            ModelSpec::OrderWriter(_) => K::OrderWriter,
            ModelSpec::Projection(_) => K::Projection,
            ModelSpec::Raft(_) => K::Raft,
            ModelSpec::Producer(_) => K::Producer,
            ModelSpec::Queue(_) => K::Queue,
            ModelSpec::Consumer(_) => K::Consumer,
            ModelSpec::SagaOrchestrator(_) => K::SagaOrchestrator,
            ModelSpec::SagaParticipant(_) => K::SagaParticipant,
            ModelSpec::TpcCoordinator(_) => K::TpcCoordinator,
            ModelSpec::TpcParticipant(_) => K::TpcParticipant,
            ModelSpec::KvReplica(_) => K::KvReplica,
            ModelSpec::KvClient(_) => K::KvClient,
        }
    }

    /// Builds the node; `lookup` resolves node ids that the settings name.
    pub fn build(
        &self,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Box<dyn Node>, ConfigError> {
        match self {
            ModelSpec::Client(c) => Ok(Box::new(client::Client::new((**c).clone(), me, lookup)?)),
            ModelSpec::Service(c) => Ok(Box::new(service::Service::new(c.clone(), me, lookup)?)),
            ModelSpec::Payment(c) => Ok(Box::new(payment::Payment::new(c.clone())?)),
            ModelSpec::Database(c) => Ok(Box::new(cache::Database::new(c.clone())?)),
            ModelSpec::Cache(c) => Ok(Box::new(cache::Cache::new(c.clone(), me, lookup)?)),
            ModelSpec::App(c) => Ok(Box::new(cache::App::new(c.clone(), me, lookup)?)),
            ModelSpec::EventLog(c) => Ok(Box::new(event_sourcing::EventLog::new(c.clone())?)),
            ModelSpec::OrderWriter(c) => Ok(Box::new(event_sourcing::OrderWriter::new(
                c.clone(),
                me,
                lookup,
            )?)),
            ModelSpec::Projection(c) => Ok(Box::new(event_sourcing::Projection::new(
                c.clone(),
                me,
                lookup,
            )?)),
            ModelSpec::Raft(c) => Ok(Box::new(raft::Raft::new(c.clone(), me, lookup)?)),
            ModelSpec::Producer(c) => Ok(Box::new(queue::Producer::new(c.clone(), me, lookup)?)),
            ModelSpec::Queue(c) => Ok(Box::new(queue::Queue::new(c.clone(), me, lookup)?)),
            ModelSpec::Consumer(c) => Ok(Box::new(queue::Consumer::new(c.clone(), me, lookup)?)),
            ModelSpec::SagaOrchestrator(c) => {
                Ok(Box::new(saga::Orchestrator::new(c.clone(), me, lookup)?))
            }
            ModelSpec::SagaParticipant(c) => {
                Ok(Box::new(saga::Participant::new(c.clone(), me, lookup)?))
            }
            ModelSpec::TpcCoordinator(c) => {
                Ok(Box::new(tpc::Coordinator::new(c.clone(), me, lookup)?))
            }
            ModelSpec::TpcParticipant(c) => Ok(Box::new(tpc::Participant::new(c.clone())?)),
            ModelSpec::KvReplica(c) => Ok(Box::new(kv::KvReplica::new(c.clone(), me, lookup)?)),
            ModelSpec::KvClient(c) => Ok(Box::new(kv::KvClient::new(c.clone(), me, lookup)?)),
        }
    }
}

/// Resolves a node id named in a model's settings.
pub(crate) fn resolve(
    field: &str,
    id: &str,
    me: NodeId,
    lookup: &dyn Fn(&str) -> Option<NodeId>,
) -> Result<NodeId, ConfigError> {
    match lookup(id) {
        Some(n) if n == me => Err((field.into(), "a node cannot send to itself".into())),
        Some(n) => Ok(n),
        None => Err((field.into(), format!("no node has the id '{id}'"))),
    }
}

/// Checks that `v` is a finite number of milliseconds in `[lo, hi]`.
pub(crate) fn check_ms(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err((field.into(), format!("expected {lo} to {hi} ms, got {v}")))
    }
}

/// Puts a nested setting's error under its parent: `latency` + `mean_ms` is `latency.mean_ms`,
/// and an error about the whole setting (no field) is `latency`.
pub(crate) fn under(parent: &'static str) -> impl Fn(ConfigError) -> ConfigError {
    move |(field, message)| {
        let path = if field.is_empty() {
            parent.to_string()
        } else {
            format!("{parent}.{field}")
        };
        (path, message)
    }
}

/// Checks that `v` is a ratio in `[0, 1]`.
pub(crate) fn check_ratio(field: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err((field.into(), format!("expected 0 to 1, got {v}")))
    }
}

/// Changes one setting of a running node by dotted path (`retry.max_attempts`): the model may
/// answer first ([`Node::set_early`]: an action, or a setting fixed for the run); otherwise its
/// settings go through serde, so a change gets the scenario's own type and unknown-field checks,
/// and then through the model's checks ([`Node::set_settings`]). Returns the new value as JSON
/// text, or why it was refused (the node is then unchanged).
///
/// Cold code, and `inline` on purpose: the serde code this instantiates for every model's
/// settings is then compiled by the crate that calls it (the page, at opt-level "z"), not by
/// the engine at 2. The engine itself reaches it only through [`crate::world`]'s `Settings`, a
/// function pointer taken where the scenario is built.
#[inline]
pub fn set_param(
    node: &mut dyn Node,
    param: &str,
    value: &serde_json::Value,
) -> Result<String, String> {
    if let Some(done) = node.set_early(param, value) {
        return done;
    }
    let Some(now) = node.settings() else {
        return Err(format!("this node has no setting {param}"));
    };
    // The settings with their `type` tag, patched as the controls and lessons patch a
    // scenario's model: one reader of every model's settings for all three, where a patch per
    // settings type compiled nineteen (about 39 KB of the page's wasm).
    let next = crate::scenario::set_config_field(&now, param, value)?;
    node.set_settings(next)?;
    Ok(value.to_string())
}

/// A model's settings type: the [`ModelSpec`] variant that carries it, and its checks. What
/// lets each model's [`Node::settings`] and [`Node::set_settings`] be two lines.
pub(crate) trait Settings: Sized {
    fn into_spec(self) -> ModelSpec;
    fn from_spec(spec: ModelSpec) -> Option<Self>;
    fn check_settings(&self) -> Result<(), ConfigError>;
}

/// A node's settings as a spec (for [`Node::settings`]).
pub(crate) fn spec<T: Settings>(cfg: T) -> Option<ModelSpec> {
    Some(cfg.into_spec())
}

/// Changed settings of the node's own type, checked, as one message if refused
/// (`field: problem`), for [`Node::set_settings`]. Another model's settings are a bug: the
/// settings a node is given are always its own, changed.
pub(crate) fn take<T: Settings>(next: ModelSpec) -> Result<T, String> {
    let cfg = T::from_spec(next).ok_or("these settings are another model's")?;
    cfg.check_settings()
        .map_err(|(f, m)| if f.is_empty() { m } else { format!("{f}: {m}") })?;
    Ok(cfg)
}

/// Whether a verdict judges the whole run rather than the node that reported it: a history
/// shared by many nodes, checked by one checker in the engine's core (the key-value history,
/// Raft's safety properties, the saga ledger). Whichever node reports it, it is one answer, and
/// the page shows it as one row.
pub fn run_wide_verdict(name: &str) -> bool {
    checks::Checks::run_wide_verdict(name)
}
