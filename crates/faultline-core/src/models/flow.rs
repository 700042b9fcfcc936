//! The messages of the messaging and transaction models: a queue and its consumers, sagas
//! (orchestrated and choreographed) and two-phase commit. One enum, carried by
//! [`crate::msg::Payload::Flow`], so the engine and the page see one closed type.

use crate::node::NodeId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a saga participant is asked to do for one saga.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOp {
    /// Run the step's action (reserve, charge, ship).
    Run,
    /// Undo it semantically (release, refund).
    Compensate,
    /// The saga succeeded: lift the semantic lock (RESERVED (PENDING) -> COMMITTED).
    Confirm,
}

impl StepOp {
    fn name(self) -> &'static str {
        match self {
            StepOp::Run => "run",
            StepOp::Compensate => "compensate",
            StepOp::Confirm => "confirm",
        }
    }
}

/// A choreography event: what a participant (or the order service) tells its neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The previous step succeeded (or the order was created): run yours.
    Done,
    /// The next step failed or was compensated: compensate yours, then pass it back.
    Undo,
    /// The order was approved: lift your semantic lock.
    Approved,
}

/// One message of the queue, saga or two-phase commit models.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum FlowMsg {
    /// A producer publishes a message to a queue.
    Publish {
        /// The message id, unique per run.
        id: u64,
    },
    /// A queue delivers a message to a consumer.
    Deliver {
        /// The message id.
        id: u64,
        /// Deliveries before this one (0 for the first).
        redeliveries: u32,
    },
    /// A consumer acknowledges a message after processing it.
    Ack {
        /// The message id.
        id: u64,
    },
    /// An orchestrator asks a participant to run, compensate or confirm its step of a saga.
    Step {
        /// The saga.
        saga: u64,
        /// The step's index in the saga.
        step: u8,
        /// What to do.
        op: StepOp,
        /// Counts the orchestrator's deliberate retries of a failed step after the pivot (a
        /// resend after a timeout keeps the number): a participant runs a failed step again only
        /// for a higher one.
        attempt: u32,
    },
    /// A participant's answer to a [`FlowMsg::Step`].
    StepReply {
        /// The saga.
        saga: u64,
        /// The step's index.
        step: u8,
        /// What was asked.
        op: StepOp,
        /// Whether the step's action succeeded (compensations and confirms always do).
        ok: bool,
    },
    /// A choreography event, sent until acknowledged.
    Event {
        /// The saga.
        saga: u64,
        /// What happened.
        kind: EventKind,
    },
    /// Acknowledges a [`FlowMsg::Event`].
    EventAck {
        /// The saga.
        saga: u64,
        /// The event's kind.
        kind: EventKind,
    },
    /// Two-phase commit, phase one: prepare and vote.
    Prepare {
        /// The transaction.
        tx: u64,
    },
    /// A participant's vote.
    Vote {
        /// The transaction.
        tx: u64,
        /// Yes: prepared, locks held until the decision.
        yes: bool,
    },
    /// Phase two: the coordinator's decision.
    Decision {
        /// The transaction.
        tx: u64,
        /// Commit (true) or abort.
        commit: bool,
    },
    /// A participant applied the decision.
    DecisionAck {
        /// The transaction.
        tx: u64,
    },
    /// An in-doubt participant asks the coordinator for the decision.
    Query {
        /// The transaction.
        tx: u64,
    },
    /// Choreography over a queue: a participant hands an event for `to` to its broker, resent
    /// until the broker reports it delivered with [`FlowMsg::EventQueued`].
    EventPublish {
        /// The saga.
        saga: u64,
        /// What happened.
        kind: EventKind,
        /// The consumer the broker delivers it to (a node id).
        to: u16,
    },
    /// The broker delivered an [`FlowMsg::EventPublish`] and its consumer acknowledged it.
    EventQueued {
        /// The saga.
        saga: u64,
        /// The event's kind.
        kind: EventKind,
        /// Its consumer (a node id).
        to: u16,
    },
}

impl FlowMsg {
    /// A short kind for colour and filters.
    pub fn kind(&self) -> &'static str {
        match self {
            FlowMsg::Publish { .. } => "publish",
            FlowMsg::Deliver { .. } => "deliver",
            FlowMsg::Ack { .. } | FlowMsg::EventAck { .. } | FlowMsg::DecisionAck { .. } => "ack",
            FlowMsg::Step { .. } | FlowMsg::Prepare { .. } | FlowMsg::Query { .. } => "request",
            FlowMsg::StepReply { ok: true, .. } | FlowMsg::Vote { yes: true, .. } => "response",
            FlowMsg::StepReply { .. } | FlowMsg::Vote { .. } => "error",
            FlowMsg::Event { .. } | FlowMsg::EventPublish { .. } => "event",
            FlowMsg::EventQueued { .. } => "ack",
            FlowMsg::Decision { .. } => "decision",
        }
    }

    /// The saga, transaction or message this belongs to.
    pub fn trace_id(&self) -> Option<u64> {
        match self {
            FlowMsg::Publish { id } | FlowMsg::Deliver { id, .. } | FlowMsg::Ack { id } => {
                Some(*id)
            }
            FlowMsg::Step { saga, .. }
            | FlowMsg::StepReply { saga, .. }
            | FlowMsg::Event { saga, .. }
            | FlowMsg::EventAck { saga, .. }
            | FlowMsg::EventPublish { saga, .. }
            | FlowMsg::EventQueued { saga, .. } => Some(*saga),
            FlowMsg::Prepare { tx }
            | FlowMsg::Vote { tx, .. }
            | FlowMsg::Decision { tx, .. }
            | FlowMsg::DecisionAck { tx }
            | FlowMsg::Query { tx } => Some(*tx),
        }
    }
}

impl fmt::Display for FlowMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowMsg::Publish { id } => write!(f, "publish {}", Msg(*id)),
            FlowMsg::Deliver { id, redeliveries } => {
                write!(f, "deliver {}", Msg(*id))?;
                if *redeliveries > 0 {
                    write!(f, " (redelivery {redeliveries})")?;
                }
                Ok(())
            }
            FlowMsg::Ack { id } => write!(f, "ack {}", Msg(*id)),
            FlowMsg::Step {
                saga,
                step,
                op,
                attempt,
            } => {
                write!(f, "saga {} step {step} {}", Saga(*saga), op.name())?;
                if *attempt > 1 {
                    write!(f, " attempt {attempt}")?;
                }
                Ok(())
            }
            FlowMsg::StepReply { saga, step, op, ok } => write!(
                f,
                "saga {} step {step} {} {}",
                Saga(*saga),
                op.name(),
                if *ok { "ok" } else { "failed" }
            ),
            FlowMsg::Event { saga, kind } => write!(f, "event {} {kind:?}", Saga(*saga)),
            FlowMsg::EventAck { saga, kind } => write!(f, "event ack {} {kind:?}", Saga(*saga)),
            FlowMsg::EventPublish { saga, kind, .. } => {
                write!(f, "publish event {} {kind:?}", Saga(*saga))
            }
            FlowMsg::EventQueued { saga, kind, .. } => {
                write!(f, "delivered event {} {kind:?}", Saga(*saga))
            }
            FlowMsg::Prepare { tx } => write!(f, "prepare {}", Tx(*tx)),
            FlowMsg::Vote { tx, yes } => {
                write!(f, "vote {} {}", Tx(*tx), if *yes { "yes" } else { "no" })
            }
            FlowMsg::Decision { tx, commit } => {
                write!(
                    f,
                    "{} {}",
                    if *commit { "commit" } else { "abort" },
                    Tx(*tx)
                )
            }
            FlowMsg::DecisionAck { tx } => write!(f, "done {}", Tx(*tx)),
            FlowMsg::Query { tx } => write!(f, "decision? {}", Tx(*tx)),
        }
    }
}

/// Bits of a run-wide id that count within its owner (a producer's messages, a coordinator's
/// transactions, an orchestrator's sagas); the bits above hold the owner's node index, so two
/// owners never share an id.
const OWN_BITS: u32 = 40;

/// The `n`th id of `owner`, unique in the run.
pub fn owned_id(owner: NodeId, n: u64) -> u64 {
    (u64::from(owner.0) << OWN_BITS) | n
}

/// The owner's own count in an id: what people read. The log line names the owner already, so
/// the node index in the high bits only made the number unreadable (`s1099511627777`).
pub fn own_count(id: u64) -> u64 {
    id & ((1 << OWN_BITS) - 1)
}

/// A two-phase commit transaction id as people read it: `x5` for a coordinator's fifth.
pub struct Tx(pub u64);

impl fmt::Display for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x{}", own_count(self.0))
    }
}

/// A saga id as people read it: `s7` for an orchestrator's seventh.
pub struct Saga(pub u64);

impl fmt::Display for Saga {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", own_count(self.0))
    }
}

/// A queued message's id as people read it: `q3` for a producer's third.
pub struct Msg(pub u64);

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "q{}", own_count(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_the_owner_counts_them_whatever_its_node_index() {
        assert_eq!(Saga((3 << 40) | 7).to_string(), "s7");
        assert_eq!(Saga(12).to_string(), "s12");
        assert_eq!(Tx((4 << 40) | 10).to_string(), "x10");
        assert_eq!(Msg(owned_id(NodeId(2), 3)).to_string(), "q3");
        assert_eq!(
            FlowMsg::Ack {
                id: owned_id(NodeId(5), 9)
            }
            .to_string(),
            "ack q9"
        );
        let m = FlowMsg::Event {
            saga: (2 << 40) | 5,
            kind: EventKind::Done,
        };
        assert!(m.to_string().starts_with("event s5 "), "{m}");
    }
}
