//! The trace: what happened in a run, in order. Charts, the event log, lesson goals and golden
//! tests all read it.
//!
//! The buffer is a ring: it keeps the newest [`crate::limits::DEFAULT_TRACE_CAPACITY`] events
//! (configurable) and counts the ones it evicted, so memory stays bounded on long runs. The hash
//! covers every event ever recorded, evicted or not; two runs with equal hashes had equal traces.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::NodeId;
use crate::msg::{MsgId, Payload};
use crate::stable_hash::StableHasher;

/// Why a message never reached its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// The link (this direction) was cut when the message would have arrived.
    LinkCut,
    /// There is no link between the two nodes.
    NoLink,
    /// The destination was crashed when the message arrived.
    NodeDown,
    /// The link's queue was full (bandwidth limit).
    QueueFull,
    /// Dropped by hand (an intervention).
    Intervention,
    /// Too many messages in flight (a limit of the simulator).
    Overload,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Loss => "lost",
            DropReason::LinkCut => "link cut",
            DropReason::NoLink => "no link",
            DropReason::NodeDown => "node down",
            DropReason::QueueFull => "link queue full",
            DropReason::Intervention => "dropped by hand",
            DropReason::Overload => "too many messages in flight",
        })
    }
}

/// One event of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceEvent {
    /// The event's position in the run's trace (0, 1, 2, ...).
    pub seq: u64,
    /// Virtual time, in microseconds.
    pub time_us: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: TraceKind,
}

/// The kinds of trace events.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceKind {
    /// A message left `from`; it will arrive at `deliver_us` unless something drops it first.
    Sent {
        /// The message.
        id: MsgId,
        /// Sender.
        from: NodeId,
        /// Destination.
        to: NodeId,
        /// When it is due to arrive (for animation); equal to the send time when dropped at once.
        deliver_us: u64,
        /// `Some(original)` when the network duplicated a message.
        duplicate_of: Option<MsgId>,
        /// The contents.
        payload: Payload,
    },
    /// A message reached `to` and was handled.
    Delivered {
        /// The message.
        id: MsgId,
        /// Sender.
        from: NodeId,
        /// Destination.
        to: NodeId,
        /// When it was sent.
        sent_us: u64,
    },
    /// A message was lost.
    Dropped {
        /// The message.
        id: MsgId,
        /// Sender.
        from: NodeId,
        /// Destination.
        to: NodeId,
        /// When it was sent.
        sent_us: u64,
        /// Why.
        reason: DropReason,
    },
    /// A node's timer fired.
    TimerFired {
        /// The node.
        node: NodeId,
        /// The timer's id.
        timer: u64,
        /// The model's tag for it.
        tag: u64,
    },
    /// A model reported a change of state ("breaker CLOSED -> OPEN: failure rate 60 % >= 50 %").
    State {
        /// The node.
        node: NodeId,
        /// What changed, for people.
        text: String,
    },
    /// A fault was injected or healed.
    Fault {
        /// What.
        fault: Fault,
    },
    /// A setting was changed by an intervention.
    Param {
        /// The node.
        node: NodeId,
        /// The setting.
        param: String,
        /// The new value, as JSON text.
        value: String,
    },
    /// A model recorded a notable number (e.g. a verdict).
    Metric {
        /// The node.
        node: NodeId,
        /// What is measured.
        name: String,
        /// The value.
        value: i64,
    },
    /// A named invariant or checker verdict, as a model judged it at this moment ("one leader
    /// per term", "linearizable"). The page lists the latest verdict per node and name; a click
    /// jumps to the moment it changed.
    Verdict {
        /// The node that judged (for cluster-wide properties, the node whose event decided it).
        node: NodeId,
        /// The property, for people: "one leader per term".
        name: String,
        /// `Some(true)` holds, `Some(false)` is violated, `None` is unknown (a checker's budget ran
        /// out).
        holds: Option<bool>,
        /// Why, for people: "stale read of x by client-2 at 4.2 s".
        detail: String,
    },
    /// The simulator itself has something to say (a limit was reached).
    Notice {
        /// The message, for people.
        text: String,
    },
}

/// A fault, as recorded in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// Messages from `from` to `to` are dropped until healed.
    Cut {
        /// One end.
        from: NodeId,
        /// The other end.
        to: NodeId,
    },
    /// The direction `from` to `to` works again.
    Heal {
        /// One end.
        from: NodeId,
        /// The other end.
        to: NodeId,
    },
    /// The node crashed: volatile state lost, messages to it dropped.
    Crash {
        /// The node.
        node: NodeId,
    },
    /// The node restarted from its durable state.
    Restart {
        /// The node.
        node: NodeId,
    },
    /// The node is paused: it handles nothing, its messages and timers wait.
    Pause {
        /// The node.
        node: NodeId,
    },
    /// The node resumed; what waited is handled now, late.
    Resume {
        /// The node.
        node: NodeId,
    },
    /// One message in flight was dropped by hand.
    DropMessage {
        /// The message.
        id: MsgId,
    },
    /// One message in flight was delayed by hand.
    DelayMessage {
        /// The message.
        id: MsgId,
        /// The extra delay.
        delay_us: u64,
    },
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_with(f, &|n: NodeId| format!("n{}", n.0))
    }
}

impl TraceEvent {
    /// One line for people, naming nodes with `name`.
    pub fn describe(&self, names: &[String]) -> String {
        let name = |n: NodeId| {
            names
                .get(usize::from(n.0))
                .cloned()
                .unwrap_or(format!("n{}", n.0))
        };
        let mut s = String::new();
        let _ = fmt::write(&mut s, format_args!("{}", Describe(self, &name)));
        s
    }

    fn write_with(
        &self,
        f: &mut fmt::Formatter<'_>,
        name: &dyn Fn(NodeId) -> String,
    ) -> fmt::Result {
        write!(f, "{:>12} #{} ", crate::fmt_time(self.time_us), self.seq)?;
        match &self.kind {
            TraceKind::Sent {
                id,
                from,
                to,
                deliver_us,
                duplicate_of,
                payload,
            } => {
                write!(
                    f,
                    "sent {id} {} -> {}: {payload}, due {}",
                    name(*from),
                    name(*to),
                    crate::fmt_time(*deliver_us)
                )?;
                if let Some(o) = duplicate_of {
                    write!(f, " (duplicate of {o})")?;
                }
                Ok(())
            }
            TraceKind::Delivered {
                id,
                from,
                to,
                sent_us,
            } => write!(
                f,
                "delivered {id} {} -> {} after {}",
                name(*from),
                name(*to),
                crate::fmt_duration(self.time_us.saturating_sub(*sent_us))
            ),
            TraceKind::Dropped {
                id,
                from,
                to,
                reason,
                ..
            } => {
                write!(f, "dropped {id} {} -> {}: {reason}", name(*from), name(*to))
            }
            TraceKind::TimerFired { node, timer, tag } => {
                write!(f, "timer {timer} fired at {} (tag {tag})", name(*node))
            }
            TraceKind::State { node, text } => write!(f, "{}: {text}", name(*node)),
            TraceKind::Fault { fault } => match fault {
                Fault::Cut { from, to } => write!(f, "link cut {} -> {}", name(*from), name(*to)),
                Fault::Heal { from, to } => {
                    write!(f, "link healed {} -> {}", name(*from), name(*to))
                }
                Fault::Crash { node } => write!(f, "{} crashed", name(*node)),
                Fault::Restart { node } => write!(f, "{} restarted", name(*node)),
                Fault::Pause { node } => write!(f, "{} paused", name(*node)),
                Fault::Resume { node } => write!(f, "{} resumed", name(*node)),
                Fault::DropMessage { id } => write!(f, "{id} dropped by hand"),
                Fault::DelayMessage { id, delay_us } => {
                    write!(f, "{id} delayed by {}", crate::fmt_duration(*delay_us))
                }
            },
            TraceKind::Param { node, param, value } => {
                write!(f, "{}.{param} = {value}", name(*node))
            }
            TraceKind::Metric {
                node,
                name: metric,
                value,
            } => {
                write!(f, "{} {metric} = {value}", name(*node))
            }
            TraceKind::Verdict {
                node,
                name: what,
                holds,
                detail,
            } => {
                let v = match holds {
                    Some(true) => "holds",
                    Some(false) => "VIOLATED",
                    None => "unknown",
                };
                write!(f, "{} {what}: {v}", name(*node))?;
                if !detail.is_empty() {
                    write!(f, " ({detail})")?;
                }
                Ok(())
            }
            TraceKind::Notice { text } => write!(f, "notice: {text}"),
        }
    }
}

struct Describe<'a>(&'a TraceEvent, &'a dyn Fn(NodeId) -> String);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_with(f, self.1)
    }
}

/// The trace buffer: a bounded ring of the newest events plus a hash of all of them.
#[derive(Clone, Debug)]
pub struct Trace {
    events: VecDeque<TraceEvent>,
    capacity: usize,
    recording: bool,
    next_seq: u64,
    hash: u64,
}

impl Trace {
    /// A trace keeping the newest `capacity` events. With `capacity == 0` events are hashed and
    /// counted but not kept (benchmarks, long headless runs).
    pub fn new(capacity: usize) -> Self {
        Trace {
            events: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            recording: true,
            next_seq: 0,
            hash: StableHasher::default().finish(),
        }
    }

    /// Turns recording off entirely (no hash, no events): the fastest mode, for benchmarks.
    pub fn disable(&mut self) {
        self.recording = false;
    }

    /// Whether events are being recorded.
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    pub(crate) fn push(&mut self, time_us: u64, kind: TraceKind) {
        if !self.recording {
            return;
        }
        let event = TraceEvent {
            seq: self.next_seq,
            time_us,
            kind,
        };
        self.next_seq += 1;
        let mut h = StableHasher::resume(self.hash);
        event.hash(&mut h);
        self.hash = h.finish();
        if self.capacity == 0 {
            return;
        }
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The hash of every event recorded so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// How many events were recorded in all (kept or evicted).
    pub fn len_total(&self) -> u64 {
        self.next_seq
    }

    /// The events still kept, oldest first.
    pub fn events(&self) -> &VecDeque<TraceEvent> {
        &self.events
    }

    /// How many of the oldest events were evicted.
    pub fn evicted(&self) -> u64 {
        self.next_seq - self.events.len() as u64
    }

    /// Events with `seq >= from_seq` that are still kept.
    pub fn since(&self, from_seq: u64) -> impl Iterator<Item = &TraceEvent> {
        let skip = from_seq.saturating_sub(self.evicted()) as usize;
        self.events.iter().skip(skip)
    }

    /// Forgets events with `seq >= seq` and restores the hash (restoring a snapshot). Moving
    /// forward (a snapshot ahead of the ring's newest event) forgets every kept event: the ones
    /// in between were never recorded here, and the ring holds a contiguous run of events.
    pub(crate) fn rewind(&mut self, seq: u64, hash: u64) {
        if seq > self.next_seq {
            self.events.clear();
        }
        while self.events.back().is_some_and(|e| e.seq >= seq) {
            self.events.pop_back();
        }
        self.next_seq = seq;
        self.hash = hash;
    }

    /// Removes and returns the kept events (streaming them to a file as a run goes).
    pub fn drain(&mut self) -> Vec<TraceEvent> {
        self.events.drain(..).collect()
    }
}
