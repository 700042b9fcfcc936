//! What travels between nodes.
//!
//! One closed enum for every model's messages: the engine stays generic (it never looks inside),
//! while traces, snapshots and the page get a concrete, serialisable, hashable type.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};

/// Identifies one message on the wire, unique within a run, in send order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MsgId(pub u64);

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}", self.0)
    }
}

/// A message's contents.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A request from a client (or a service calling downstream).
    Request(Request),
    /// The answer to a [`Request`].
    Response(Response),
    /// Between app servers, a cache and a database (`models::cache`).
    Cache(crate::models::cache::CacheMsg),
    /// Between an order writer, an event log and projections (`models::event_sourcing`).
    Es(crate::models::event_sourcing::EsMsg),
    /// A Raft RPC or its answer.
    Raft(crate::models::raft::RaftMsg),
    /// A queue, saga or two-phase commit message.
    Flow(crate::models::flow::FlowMsg),
    /// The replicated key-value store's messages.
    Kv(crate::models::kv::KvMsg),
}

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// A generic call: do the work, answer.
    Call,
    /// Charge a card (the payment service's side effect).
    Charge {
        /// The amount, in cents.
        amount_cents: u64,
    },
    /// Read the service's row: the answer carries its version (optimistic concurrency).
    Read,
    /// Write the service's row if its version is still `version` (a compare-and-set); else
    /// 409 Conflict and nothing is written.
    CompareAndSet {
        /// The version the writer read.
        version: u64,
    },
    /// Write the service's row: set it to `value` (a user saving a form field: the writer's
    /// edits are numbered 1, 2, 3, ... in the order it made them). With `version`, only if that
    /// is newer than the version the row holds (a conditional write, as Elasticsearch's external
    /// versioning or a Kafka producer's sequence number); else 409 Conflict, nothing written.
    Write {
        /// The value written: the writer's edit number.
        value: u64,
        /// The write's version; `None` writes whatever the row holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u64>,
    },
}

/// A request: one attempt of one logical request.
///
/// `Hash` is written by hand so that a request without a named key hashes exactly as it did
/// before named keys existed: golden trace hashes of older scenarios stay valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The logical request (the user action) this attempt belongs to; spans group by it.
    pub trace_id: u64,
    /// This attempt's own id, unique per sender; the response echoes it.
    pub req_id: u64,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// The idempotency key, when the client sends one (the same on every retry).
    pub idempotency_key: Option<u64>,
    /// What to do.
    pub op: Op,
    /// An idempotency key the scenario named (a string, as Stripe's `Idempotency-Key` header),
    /// sent instead of a generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_key: Option<String>,
}

impl Hash for Request {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.trace_id.hash(h);
        self.req_id.hash(h);
        self.attempt.hash(h);
        self.idempotency_key.hash(h);
        self.op.hash(h);
        if let Some(k) = &self.named_key {
            k.hash(h);
        }
    }
}

/// A response to one request attempt.
///
/// `Hash` is written by hand, as [`Request`]'s: a response without a version hashes as before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Echoes [`Request::trace_id`].
    pub trace_id: u64,
    /// Echoes [`Request::req_id`].
    pub req_id: u64,
    /// An HTTP-like status: 200 ok, 409 conflict, 429 too many requests, 500 error, 503 unavailable.
    pub status: u16,
    /// The server asks the client not to retry (e.g. "overloaded: do not retry").
    pub no_retry: bool,
    /// The response is a replay of a stored result (`Idempotent-Replayed: true`).
    pub replayed: bool,
    /// The row's version, in the answer to an [`Op::Read`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Hash for Response {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.trace_id.hash(h);
        self.req_id.hash(h);
        self.status.hash(h);
        self.no_retry.hash(h);
        self.replayed.hash(h);
        if let Some(v) = self.version {
            v.hash(h);
        }
    }
}

impl Response {
    /// A 2xx status.
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Payload {
    /// A short kind for colouring and filtering: `request`, `response`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Request(_) => "request",
            Payload::Response(r) if r.is_ok() => "response",
            Payload::Response(_) => "error",
            Payload::Cache(m) => m.kind(),
            Payload::Es(m) => m.kind(),
            Payload::Raft(m) => m.kind(),
            Payload::Flow(m) => m.kind(),
            Payload::Kv(m) => m.kind(),
        }
    }

    /// Which try of its sender this message is, when it is one of several: 1 for a request's
    /// first attempt, 2 for its first retry, ...; a queue's delivery counts its redeliveries
    /// the same way. `None` for messages that are never retried as such (responses, Raft RPCs).
    /// The page draws it on the message ("#2"), so a storm reads as many numbered messages.
    pub fn attempt(&self) -> Option<u32> {
        match self {
            Payload::Request(r) => Some(r.attempt),
            Payload::Flow(crate::models::flow::FlowMsg::Deliver { redeliveries, .. }) => {
                Some(redeliveries.saturating_add(1))
            }
            Payload::Response(_)
            | Payload::Cache(_)
            | Payload::Es(_)
            | Payload::Raft(_)
            | Payload::Flow(_)
            | Payload::Kv(_) => None,
        }
    }

    /// The logical request this message belongs to, if any.
    pub fn trace_id(&self) -> Option<u64> {
        match self {
            Payload::Request(r) => Some(r.trace_id),
            Payload::Response(r) => Some(r.trace_id),
            Payload::Cache(_) | Payload::Es(_) => None,
            Payload::Raft(_) => None,
            Payload::Flow(m) => m.trace_id(),
            Payload::Kv(_) => None,
        }
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Request(r) => {
                write!(
                    f,
                    "request t{} r{} attempt {}",
                    r.trace_id, r.req_id, r.attempt
                )?;
                if let Some(k) = &r.named_key {
                    write!(f, " key {k}")?;
                } else if let Some(k) = r.idempotency_key {
                    write!(f, " key {k:x}")?;
                }
                match r.op {
                    Op::Read => write!(f, " read")?,
                    Op::CompareAndSet { version } => write!(f, " cas v{version}")?,
                    Op::Write { value, version } => {
                        write!(f, " write {value}")?;
                        if let Some(v) = version {
                            write!(f, " v{v}")?;
                        }
                    }
                    Op::Call | Op::Charge { .. } => {}
                }
                Ok(())
            }
            Payload::Response(r) => {
                write!(f, "response t{} r{} {}", r.trace_id, r.req_id, r.status)?;
                if r.replayed {
                    write!(f, " (replayed)")?;
                }
                if let Some(v) = r.version {
                    write!(f, " v{v}")?;
                }
                if r.no_retry {
                    write!(f, " (do not retry)")?;
                }
                Ok(())
            }
            Payload::Cache(m) => write!(f, "{m}"),
            Payload::Es(m) => write!(f, "{m}"),
            Payload::Raft(m) => write!(f, "{m}"),
            Payload::Flow(m) => m.fmt(f),
            Payload::Kv(m) => write!(f, "{m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::flow::FlowMsg;

    #[test]
    fn a_retry_and_a_redelivery_say_which_try_they_are() {
        let request = |attempt| {
            Payload::Request(Request {
                trace_id: 1,
                req_id: 7,
                attempt,
                idempotency_key: None,
                op: Op::Call,
                named_key: None,
            })
        };
        assert_eq!(request(1).attempt(), Some(1));
        assert_eq!(request(3).attempt(), Some(3));
        let deliver = |redeliveries| {
            Payload::Flow(FlowMsg::Deliver {
                id: 4,
                redeliveries,
            })
        };
        assert_eq!(
            deliver(0).attempt(),
            Some(1),
            "a first delivery is the first try"
        );
        assert_eq!(deliver(2).attempt(), Some(3));
        let answer = Payload::Response(Response {
            trace_id: 1,
            req_id: 7,
            status: 200,
            no_retry: false,
            replayed: false,
            version: None,
        });
        assert_eq!(answer.attempt(), None, "an answer is not a try");
    }
}
