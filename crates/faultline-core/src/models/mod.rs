//! The models: what a node in a scenario can be. Each follows a public reference (see
//! `docs/models.md` and `shared/reference/semantics.md`), names it in its docs, and says what it
//! assumes where the reference is silent.

pub mod breaker;
pub mod client;
pub mod kv;
pub mod payment;
pub mod service;

use serde::{Deserialize, Serialize};

use crate::node::{Node, NodeId};

/// A node's model and settings, as the scenario names them: `{"type": "client", ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModelSpec {
    /// A load generator: users sending requests with timeouts and retries.
    Client(Box<client::ClientConfig>),
    /// A service with a latency distribution, a concurrency limit and a queue.
    Service(service::ServiceConfig),
    /// A payment service with an idempotency store (Stripe's semantics) and a ledger.
    Payment(payment::PaymentConfig),
    /// A replica of a key-value store, CP (majority quorums) or AP (last writer wins).
    KvReplica(kv::KvReplicaConfig),
    /// A key-value client that records a history for the linearizability checker.
    KvClient(kv::KvClientConfig),
}

/// An error in a model's settings: (field path below `model`, message).
pub type ConfigError = (String, String);

impl ModelSpec {
    /// Builds the node; `lookup` resolves node ids that the settings name.
    pub fn build(
        &self,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Box<dyn Node>, ConfigError> {
        match self {
            ModelSpec::Client(c) => Ok(Box::new(client::Client::new((**c).clone(), me, lookup)?)),
            ModelSpec::Service(c) => Ok(Box::new(service::Service::new(c.clone())?)),
            ModelSpec::Payment(c) => Ok(Box::new(payment::Payment::new(c.clone())?)),
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

/// Checks that `v` is a ratio in `[0, 1]`.
pub(crate) fn check_ratio(field: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err((field.into(), format!("expected 0 to 1, got {v}")))
    }
}

/// Applies one setting change to a configuration through serde and the model's own checks.
pub(crate) fn set_param<T>(
    cfg: &T,
    param: &str,
    value: &serde_json::Value,
    check: impl Fn(&T) -> Result<(), ConfigError>,
) -> Result<(T, String), String>
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    let next = crate::scenario::set_config_field(cfg, param, value)?;
    check(&next).map_err(|(f, m)| if f.is_empty() { m } else { format!("{f}: {m}") })?;
    Ok((next, value.to_string()))
}
