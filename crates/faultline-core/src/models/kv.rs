//! A replicated key-value store, in two flavours, and clients that record a history a
//! linearizability checker judges as the run goes.
//!
//! # CAP in one model
//!
//! Gilbert and Lynch's proof of Brewer's conjecture says: while the network is partitioned, a
//! replica must choose between answering (availability) and answering only what is consistent
//! with every other answer (linearizability). The two modes make each choice:
//!
//! - **`cp`** is the ABD algorithm (Attiya, Bar-Noy and Dolev, 1995; multi-writer form by Lynch
//!   and Shvartsman): no leader, majority quorums. A write asks a majority for their versions,
//!   picks a higher one (counter + 1, then the coordinator's id), and stores it on a majority
//!   before it answers. A read asks a majority, takes the highest version, and writes it back to
//!   a majority before it answers, so no later read can see anything older. Any two majorities
//!   intersect, which is why the history is linearizable whatever the network does; the price is
//!   that a replica cut off from a majority cannot finish anything: it refuses (it never sent a
//!   write) or times out (it did, so the write may yet take effect).
//! - **`ap`** is Dynamo-style: the replica a client talks to coordinates; a write gets a
//!   last-writer-wins version (the coordinator's clock, then its id), is stored locally, sent to
//!   every peer, and answered once `w` replicas hold it; a read answers once `r` replicas
//!   replied, with the highest version among them, and repairs the stale ones it heard from.
//!   Every `anti_entropy_ms` each replica pushes its whole store to its peers, which keep the
//!   higher version of each key, so after a partition heals, replicas converge. Under a partition
//!   (and even without one, with `r = w = 1`) reads can be stale.
//!
//! `r + w > n` makes read and write quorums overlap, but it does **not** make the store
//! linearizable: a read can see a write still in progress and a later read miss it, and a
//! write that failed on a quorum may linger on the replicas it did reach (sloppy quorums and
//! hinted handoff, which this model does not have, loosen it further). The checker shows it.
//!
//! # Assumptions where the references are silent
//!
//! - Replicas keep their store across a crash (it is on disk); coordinations in progress are
//!   lost, and their clients time out.
//! - AP timestamps come from the coordinator's clock; all clocks agree (virtual time), so the
//!   last writer in real time wins, ties broken by replica id. No clock skew.
//! - A coordinator never gives up on its own store: it counts itself at once.
//! - A client has one operation outstanding at a time (a Jepsen "process"), waits an exponential
//!   think time between operations, and writes values that are unique in the run (1, 2, 3, ...), so
//!   a stale read names the write it missed.
//! - The history holds at most [`MAX_HISTORY`] operations; past that, clients stop (a notice in
//!   the trace) rather than let the checker's work grow without bound.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::{ConfigError, check_ms, check_ratio, resolve};
use crate::linearizability::{self, Op as LinOp, Register, RegisterOp, Verdict};
use crate::msg::Payload;
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

/// Operations one run records at most.
pub const MAX_HISTORY: usize = 1_000;
/// Steps one live check of one key may take (see [`crate::linearizability`]).
pub const LIVE_BUDGET: u64 = 200_000;
/// Keys a client may use at most.
pub const MAX_KEYS: u32 = 8;
/// Peers a replica may have at most (so at most 9 replicas).
pub const MAX_PEERS: usize = 8;

/// The name of the checker's verdict on the whole history.
pub const VERDICT: &str = "linearizable";

/// A key's name for people: `x`, `y`, `z`, `w`, ...
pub fn key_name(key: u8) -> &'static str {
    ["x", "y", "z", "w", "u", "v", "s", "t"]
        .get(usize::from(key))
        .copied()
        .unwrap_or("?")
}

/// A stored value's version: a counter (CP) or a timestamp in microseconds (AP), then the id of
/// the replica that made it. Ordered: higher wins.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Version {
    /// The counter or timestamp.
    pub ts: u64,
    /// The replica that made it (a node index).
    pub node: u16,
}

/// How a coordinator answered a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum KvOutcome {
    /// Done; a read carries the value it read (`None`: never written).
    Ok {
        /// The value read.
        value: Option<i64>,
    },
    /// Refused: nothing was done (no quorum before the coordinator's timeout).
    Refused,
    /// Unknown: a write may or may not take effect (it reached some replicas, not a quorum).
    Timeout,
}

/// The key-value store's messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kv", rename_all = "snake_case")]
pub enum KvMsg {
    /// Client to replica: read a key.
    Get {
        /// The client's request id.
        req: u64,
        /// The key.
        key: u8,
    },
    /// Client to replica: write a key.
    Put {
        /// The client's request id.
        req: u64,
        /// The key.
        key: u8,
        /// The value.
        value: i64,
    },
    /// Replica to client: the answer.
    Reply {
        /// Echoes the request id.
        req: u64,
        /// The outcome.
        outcome: KvOutcome,
    },
    /// Coordinator to replica: what is your version of this key?
    Query {
        /// The coordination's id.
        op: u64,
        /// The key.
        key: u8,
    },
    /// Replica to coordinator: my version and value.
    QueryReply {
        /// Echoes the coordination's id.
        op: u64,
        /// The version (default when never written).
        version: Version,
        /// The value.
        value: Option<i64>,
    },
    /// Coordinator to replica: keep this version if it is newer than yours.
    Store {
        /// The coordination's id.
        op: u64,
        /// The key.
        key: u8,
        /// The version.
        version: Version,
        /// The value.
        value: i64,
    },
    /// Replica to coordinator: stored (or already had something newer).
    StoreAck {
        /// Echoes the coordination's id.
        op: u64,
    },
    /// Anti-entropy: a replica's whole store, pushed to a peer.
    Sync {
        /// (key, version, value) for every key written.
        entries: Vec<(u8, Version, i64)>,
    },
}

impl KvMsg {
    /// A short kind for colour and filters.
    pub fn kind(&self) -> &'static str {
        match self {
            KvMsg::Get { .. } | KvMsg::Put { .. } => "request",
            KvMsg::Reply {
                outcome: KvOutcome::Ok { .. },
                ..
            } => "response",
            KvMsg::Reply { .. } => "error",
            KvMsg::Query { .. } | KvMsg::QueryReply { .. } => "quorum",
            KvMsg::Store { .. } | KvMsg::StoreAck { .. } => "replicate",
            KvMsg::Sync { .. } => "sync",
        }
    }
}

impl fmt::Display for KvMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let val = |v: &Option<i64>| v.map_or_else(|| "nothing".to_string(), |v| v.to_string());
        match self {
            KvMsg::Get { req, key } => write!(f, "get {} r{req}", key_name(*key)),
            KvMsg::Put { req, key, value } => write!(f, "put {}={value} r{req}", key_name(*key)),
            KvMsg::Reply { req, outcome } => match outcome {
                KvOutcome::Ok { value } => write!(f, "reply r{req} ok {}", val(value)),
                KvOutcome::Refused => write!(f, "reply r{req} refused"),
                KvOutcome::Timeout => write!(f, "reply r{req} timed out"),
            },
            KvMsg::Query { op, key } => write!(f, "query {} o{op}", key_name(*key)),
            KvMsg::QueryReply { op, version, value } => {
                write!(
                    f,
                    "version {}.{} = {} o{op}",
                    version.ts,
                    version.node,
                    val(value)
                )
            }
            KvMsg::Store {
                op,
                key,
                version,
                value,
            } => write!(
                f,
                "store {}={value} v{}.{} o{op}",
                key_name(*key),
                version.ts,
                version.node
            ),
            KvMsg::StoreAck { op } => write!(f, "stored o{op}"),
            KvMsg::Sync { entries } => write!(f, "anti-entropy, {} keys", entries.len()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The history, shared by every node of a run (held in `Core`).

/// How a recorded operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistOutcome {
    /// Still waiting for an answer (indeterminate, as far as a check now knows).
    Pending,
    /// Answered ok; a read's value.
    Ok(Option<i64>),
    /// Refused: took no effect.
    Failed,
    /// Timed out: may or may not have taken effect.
    Indeterminate,
}

/// One operation a client issued.
#[derive(Clone, Debug)]
pub struct HistOp {
    /// The client.
    pub client: NodeId,
    /// The store: the first replica (by node index) of the group the client's replica belongs
    /// to. Keys of different stores are different registers.
    pub store: u16,
    /// The key.
    pub key: u8,
    /// `Some(v)` for a write of v, `None` for a read.
    pub write: Option<i64>,
    /// When the client called it.
    pub call_us: u64,
    /// When it ended (answered, refused or timed out).
    pub end_us: Option<u64>,
    /// How it ended.
    pub outcome: HistOutcome,
}

/// The run's history of key-value operations and the checker's answers so far: the cross-node
/// state key-value nodes report to through [`Ctx::checks`] (see [`super::checks`]). Part of
/// snapshots.
#[derive(Clone, Debug, Default)]
pub struct KvShared {
    pub(super) ops: Vec<HistOp>,
    pub(super) next_value: i64,
    /// The last verdict per (store, key) (absent: not checked yet).
    per_key: BTreeMap<(u16, u8), (Option<bool>, String)>,
    /// Union-find over node indices: a replica's parent towards its store's first replica.
    /// Replicas linked by their `peers` lists are one store; a scenario may hold several.
    parent: Vec<u16>,
    /// The last overall verdict emitted.
    emitted: Option<(Option<bool>, String)>,
    pub(super) full_noticed: bool,
    /// Node names, for explanations (only when the run has key-value clients).
    names: Vec<String>,
}

impl KvShared {
    /// The shared state for a run of these nodes: it keeps the names only when a key-value
    /// client is among them.
    pub(crate) fn for_nodes(nodes: &[Box<dyn Node>], names: &[String]) -> KvShared {
        let names = if nodes.iter().any(|n| n.kind() == "kv_client") {
            names.to_vec()
        } else {
            Vec::new()
        };
        KvShared {
            names,
            ..KvShared::default()
        }
    }

    fn name(&self, node: NodeId) -> String {
        self.names
            .get(node.index())
            .cloned()
            .unwrap_or_else(|| format!("node {}", node.0))
    }

    /// The operations recorded so far.
    pub fn ops(&self) -> &[HistOp] {
        &self.ops
    }

    /// Declares that a replica and its peers hold one store. Replicas declare it as they
    /// start, before any client calls; a restart declares the same again.
    pub fn join(&mut self, replica: NodeId, peers: &[NodeId]) {
        for &p in peers {
            let (a, b) = (self.store_of(replica), self.store_of(p));
            if a != b {
                // The smaller index is the root, so a store's id does not depend on the order
                // its replicas started in.
                let (root, child) = (a.min(b), a.max(b));
                let need = usize::from(child) + 1;
                if self.parent.len() < need {
                    let from = self.parent.len() as u16;
                    self.parent.extend(from..need as u16);
                }
                self.parent[usize::from(child)] = root;
                // Replicas declare their store as they start, before any client calls. A
                // replica that starts late (crashed at time zero) and links two stores makes
                // them one: what was recorded under the old id joins it, and the merged keys are
                // checked afresh (another store's writes can explain a read).
                for o in self.ops.iter_mut().filter(|o| o.store == child) {
                    o.store = root;
                }
                self.per_key
                    .retain(|(st, _), _| *st != child && *st != root);
            }
        }
    }

    /// The store a replica belongs to.
    pub fn store_of(&self, replica: NodeId) -> u16 {
        let mut i = replica.0;
        while let Some(&p) = self.parent.get(usize::from(i)).filter(|&&p| p != i) {
            i = p;
        }
        i
    }

    /// Every (store, key) with a recorded operation, in order.
    pub fn keys(&self) -> Vec<(u16, u8)> {
        let set: std::collections::BTreeSet<(u16, u8)> =
            self.ops.iter().map(|o| (o.store, o.key)).collect();
        set.into_iter().collect()
    }

    /// The overall verdict as last emitted: `Some(true)`, `Some(false)`, or `None` (unknown or
    /// not checked yet).
    pub fn verdict(&self) -> Option<bool> {
        self.emitted.as_ref().and_then(|e| e.0)
    }

    /// One key's sub-history in the checker's terms, and the index in `ops` of each entry.
    /// Failed operations are dropped; pending and timed-out ones are indeterminate.
    pub fn key_history(&self, store: u16, key: u8) -> (Vec<LinOp<RegisterOp>>, Vec<usize>) {
        let mut h = Vec::new();
        let mut idx = Vec::new();
        for (i, o) in self.ops.iter().enumerate() {
            if (o.store, o.key) != (store, key) {
                continue;
            }
            let (op, ret) = match (o.write, o.outcome) {
                (_, HistOutcome::Failed) => continue,
                // A read that never answered tells nothing.
                (None, HistOutcome::Pending | HistOutcome::Indeterminate) => continue,
                (None, HistOutcome::Ok(v)) => (RegisterOp::Read(v), o.end_us),
                (Some(v), HistOutcome::Ok(_)) => (RegisterOp::Write(v), o.end_us),
                (Some(v), _) => (RegisterOp::Write(v), None),
            };
            h.push(LinOp {
                client: u32::from(o.client.0),
                call_us: o.call_us,
                ret_us: ret,
                op,
                failed: false,
            });
            idx.push(i);
        }
        (h, idx)
    }

    /// Checks the history of one key of one store (within `budget` steps).
    pub fn check_key(&self, store: u16, key: u8, budget: u64) -> (Option<bool>, String) {
        let (h, idx) = self.key_history(store, key);
        let mut budget = budget;
        match linearizability::check(&Register, &h, &mut budget) {
            Verdict::Linearizable => (Some(true), String::new()),
            Verdict::Unknown => (
                None,
                format!(
                    "checking {} ran out of its budget of {LIVE_BUDGET} steps",
                    key_name(key)
                ),
            ),
            Verdict::NotLinearizable { ops, .. } => {
                let culprits: Vec<&HistOp> = ops.iter().map(|&j| &self.ops[idx[j]]).collect();
                (Some(false), self.explain(store, key, &culprits))
            }
        }
    }

    fn explain(&self, store: u16, key: u8, culprits: &[&HistOp]) -> String {
        let k = key_name(key);
        let show = |v: Option<i64>| v.map_or_else(|| "nothing".to_string(), |v| v.to_string());
        let Some(first) = culprits.first() else {
            return format!("the history of {k} has no valid order");
        };
        let at = crate::fmt_time(first.end_us.unwrap_or(first.call_us));
        match (first.write, first.outcome, culprits.get(1)) {
            (None, HistOutcome::Ok(v), Some(w)) => {
                // "Stale" only when the value read is older than the write it missed: its own
                // write completed before that one was called (or it read nothing).
                let older = v.is_none_or(|v| {
                    self.ops.iter().any(|o| {
                        (o.store, o.key) == (store, key)
                            && o.write == Some(v)
                            && o.end_us.is_some_and(|e| e < w.call_us)
                            && matches!(o.outcome, HistOutcome::Ok(_))
                    })
                });
                let what = if older { "stale read" } else { "read" };
                format!(
                    "{what} of {k} by {} at {at}: {} after write {} completed at {}",
                    self.name(first.client),
                    show(v),
                    show(w.write),
                    crate::fmt_time(w.end_us.unwrap_or(w.call_us)),
                )
            }
            (None, HistOutcome::Ok(v), None) => format!(
                "read of {k} by {} at {at} returned {}, which no order explains",
                self.name(first.client),
                show(v)
            ),
            _ => format!(
                "the operation of {} on {k} ending at {at} cannot be ordered",
                self.name(first.client)
            ),
        }
    }

    /// Whether the read at `index` is a definite stale read: it returned a value whose write
    /// completed before the latest write that completed before the read was called started
    /// (or nothing, after such a write). Such a read alone makes a history non-linearizable.
    pub fn is_stale_read(&self, index: usize) -> bool {
        let Some(r) = self.ops.get(index) else {
            return false;
        };
        let (None, HistOutcome::Ok(seen)) = (r.write, r.outcome) else {
            return false;
        };
        let done_before = |o: &&HistOp| {
            (o.store, o.key) == (r.store, r.key)
                && o.write.is_some()
                && matches!(o.outcome, HistOutcome::Ok(_))
                && o.end_us.is_some_and(|e| e < r.call_us)
        };
        let Some(latest) = self.ops.iter().filter(done_before).max_by_key(|o| o.end_us) else {
            return false;
        };
        match seen {
            None => true,
            Some(v) if Some(v) == latest.write => false,
            Some(v) => self
                .ops
                .iter()
                .find(|o| (o.store, o.key) == (r.store, r.key) && o.write == Some(v))
                .is_some_and(|w| w.end_us.is_some_and(|e| e < latest.call_us)),
        }
    }

    /// The overall verdict from the per-key ones: any false is false, else any unknown is
    /// unknown, else true.
    fn overall(&self) -> (Option<bool>, String) {
        if let Some((_, (_, d))) = self.per_key.iter().find(|(_, v)| v.0 == Some(false)) {
            return (Some(false), d.clone());
        }
        if let Some((_, (_, d))) = self.per_key.iter().find(|(_, v)| v.0.is_none()) {
            return (None, d.clone());
        }
        let n = self.ops.len();
        let s = if n == 1 { "" } else { "s" };
        (
            Some(true),
            format!("{n} operation{s} so far: a valid order exists"),
        )
    }
}

impl KvShared {
    /// Re-checks `key` of `store` after an operation on it ended: the overall `linearizable`
    /// verdict to put in the trace when it changed. A key found not linearizable stays so (more
    /// operations cannot give a history a valid order it lacked), so it is not checked again.
    pub(crate) fn recheck(&mut self, store: u16, key: u8) -> Option<(Option<bool>, String)> {
        match self.per_key.get(&(store, key)) {
            Some((Some(false), _)) => return None,
            // A key whose check ran out of budget is tried again only every 16th operation on
            // it, so a hard history costs at most one budget per 16 operations.
            Some((None, _)) => {
                let n = self
                    .ops
                    .iter()
                    .filter(|o| (o.store, o.key) == (store, key))
                    .count();
                if n % 16 != 0 {
                    return None;
                }
            }
            _ => {}
        }
        let v = self.check_key(store, key, LIVE_BUDGET);
        self.per_key.insert((store, key), v);
        let overall = self.overall();
        let changed = self.emitted.as_ref().map(|e| e.0) != Some(overall.0);
        if changed {
            self.emitted = Some(overall.clone());
            Some(overall)
        } else {
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The replica.

/// Consistency mode of a replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvMode {
    /// Majority quorums (ABD): linearizable, unavailable on a minority side.
    #[default]
    Cp,
    /// Local accept, asynchronous replication, last writer wins: available, possibly stale.
    Ap,
}

fn default_one() -> u32 {
    1
}
fn default_op_timeout_ms() -> f64 {
    500.0
}
fn default_anti_entropy_ms() -> f64 {
    1_000.0
}
fn default_true() -> bool {
    true
}

/// A replica's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvReplicaConfig {
    /// The other replicas (node ids), at most 8.
    pub peers: Vec<String>,
    /// `cp` or `ap`.
    #[serde(default)]
    pub mode: KvMode,
    /// AP: replicas a read hears from before it answers (1 to n).
    #[serde(default = "default_one")]
    pub r: u32,
    /// AP: replicas that hold a write before it is answered (1 to n).
    #[serde(default = "default_one")]
    pub w: u32,
    /// How long a coordinator waits for a quorum before it refuses (or, once a write was sent,
    /// answers "timed out"), 1 to 60000 ms.
    #[serde(default = "default_op_timeout_ms")]
    pub op_timeout_ms: f64,
    /// Period of the anti-entropy push of the whole store to every peer; 0 turns it off
    /// (0, or 10 to 60000 ms).
    #[serde(default = "default_anti_entropy_ms")]
    pub anti_entropy_ms: f64,
    /// AP: a read with r > 1 sends the newest value to the replicas it heard older ones from.
    #[serde(default = "default_true")]
    pub read_repair: bool,
}

impl KvReplicaConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.peers.len() > MAX_PEERS {
            return Err((
                "peers".into(),
                format!("at most {MAX_PEERS} peers, got {}", self.peers.len()),
            ));
        }
        let n = self.peers.len() as u32 + 1;
        for (f, v) in [("r", self.r), ("w", self.w)] {
            if v == 0 || v > n {
                return Err((
                    f.into(),
                    format!("expected 1 to {n} (the replicas), got {v}"),
                ));
            }
        }
        check_ms("op_timeout_ms", self.op_timeout_ms, 1.0, 60_000.0)?;
        if self.anti_entropy_ms != 0.0 {
            check_ms("anti_entropy_ms", self.anti_entropy_ms, 10.0, 60_000.0)?;
        }
        Ok(())
    }
}

settings!(KvReplica(KvReplicaConfig));

fn us(ms: f64) -> u64 {
    (ms * 1_000.0) as u64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Query,
    Store,
}

#[derive(Clone, Debug)]
struct Pending {
    client: NodeId,
    req: u64,
    key: u8,
    /// `Some(v)` for a put.
    write: Option<i64>,
    phase: Phase,
    /// Replicas that answered this phase (self included).
    heard: Vec<NodeId>,
    /// Those that answered the query with an older version (for read repair).
    stale: Vec<NodeId>,
    needed: usize,
    best: (Version, Option<i64>),
    /// The version and value being stored (store phase).
    storing: (Version, i64),
    timer: TimerId,
}

/// A replica of the key-value store.
#[derive(Clone, Debug)]
pub struct KvReplica {
    cfg: KvReplicaConfig,
    me: NodeId,
    peers: Vec<NodeId>,
    /// Durable: the store.
    store: BTreeMap<u8, (Version, i64)>,
    next_op: u64,
    /// Durable: the highest CP version counter this replica issued, so two writes it
    /// coordinates at once never share a version.
    last_ts: u64,
    pending: BTreeMap<u64, Pending>,
    ae_timer: Option<TimerId>,
    served: u64,
    refused: u64,
    timed_out: u64,
}

impl KvReplica {
    /// A replica with these settings.
    pub fn new(
        cfg: KvReplicaConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let mut peers = Vec::new();
        for (i, p) in cfg.peers.iter().enumerate() {
            let id = resolve(&format!("peers[{i}]"), p, me, lookup)?;
            if peers.contains(&id) {
                return Err((format!("peers[{i}]"), format!("'{p}' is listed twice")));
            }
            peers.push(id);
        }
        Ok(KvReplica {
            cfg,
            me,
            peers,
            store: BTreeMap::new(),
            next_op: 1,
            last_ts: 0,
            pending: BTreeMap::new(),
            ae_timer: None,
            served: 0,
            refused: 0,
            timed_out: 0,
        })
    }

    fn n(&self) -> usize {
        self.peers.len() + 1
    }

    fn majority(&self) -> usize {
        self.n() / 2 + 1
    }

    fn local(&self, key: u8) -> (Version, Option<i64>) {
        self.store
            .get(&key)
            .map_or((Version::default(), None), |&(v, x)| (v, Some(x)))
    }

    /// Keeps `(version, value)` for `key` if it is newer than what this replica has.
    fn merge(&mut self, key: u8, version: Version, value: i64) -> bool {
        if self.local(key).0 >= version {
            return false;
        }
        self.store.insert(key, (version, value));
        true
    }

    fn reply(&mut self, ctx: &mut Ctx<'_>, client: NodeId, req: u64, outcome: KvOutcome) {
        match outcome {
            KvOutcome::Ok { .. } => self.served += 1,
            KvOutcome::Refused => self.refused += 1,
            KvOutcome::Timeout => self.timed_out += 1,
        }
        ctx.send(client, Payload::Kv(KvMsg::Reply { req, outcome }));
    }

    fn begin(&mut self, ctx: &mut Ctx<'_>, client: NodeId, req: u64, key: u8, write: Option<i64>) {
        let local = self.local(key);
        match self.cfg.mode {
            KvMode::Ap => {
                if let Some(value) = write {
                    let ts = ctx.now_us().max(local.0.ts + 1);
                    let version = Version {
                        ts,
                        node: self.me.0,
                    };
                    self.merge(key, version, value);
                    let op = self.new_op();
                    for p in self.peers.clone() {
                        ctx.send(
                            p,
                            Payload::Kv(KvMsg::Store {
                                op,
                                key,
                                version,
                                value,
                            }),
                        );
                    }
                    if self.cfg.w <= 1 {
                        self.reply(ctx, client, req, KvOutcome::Ok { value: None });
                    } else {
                        self.wait(ctx, op, client, req, key, write, Phase::Store, local);
                        if let Some(p) = self.pending.get_mut(&op) {
                            p.storing = (version, value);
                            p.needed = self.cfg.w as usize;
                        }
                    }
                } else if self.cfg.r <= 1 {
                    self.reply(ctx, client, req, KvOutcome::Ok { value: local.1 });
                } else {
                    let op = self.new_op();
                    self.wait(ctx, op, client, req, key, None, Phase::Query, local);
                    if let Some(p) = self.pending.get_mut(&op) {
                        p.needed = self.cfg.r as usize;
                    }
                    for p in self.peers.clone() {
                        ctx.send(p, Payload::Kv(KvMsg::Query { op, key }));
                    }
                }
            }
            KvMode::Cp => {
                let op = self.new_op();
                self.wait(ctx, op, client, req, key, write, Phase::Query, local);
                for p in self.peers.clone() {
                    ctx.send(p, Payload::Kv(KvMsg::Query { op, key }));
                }
                self.advance(ctx, op);
            }
        }
    }

    fn new_op(&mut self) -> u64 {
        let op = self.next_op;
        self.next_op += 1;
        op
    }

    #[allow(clippy::too_many_arguments)]
    fn wait(
        &mut self,
        ctx: &mut Ctx<'_>,
        op: u64,
        client: NodeId,
        req: u64,
        key: u8,
        write: Option<i64>,
        phase: Phase,
        local: (Version, Option<i64>),
    ) {
        let timer = ctx.set_timer(us(self.cfg.op_timeout_ms), op);
        let needed = self.majority();
        self.pending.insert(
            op,
            Pending {
                client,
                req,
                key,
                write,
                phase,
                heard: vec![self.me],
                stale: Vec::new(),
                needed,
                best: local,
                storing: (Version::default(), 0),
                timer,
            },
        );
    }

    /// Moves a coordination on once its phase has a quorum.
    fn advance(&mut self, ctx: &mut Ctx<'_>, op: u64) {
        let Some(p) = self.pending.get(&op) else {
            return;
        };
        if p.heard.len() < p.needed {
            return;
        }
        let p = self.pending.remove(&op).expect("present");
        match (self.cfg.mode, p.phase) {
            (KvMode::Cp, Phase::Query) => {
                let (version, value) = match p.write {
                    Some(v) => {
                        // Higher than any version the quorum has, and than any this replica
                        // issued before: unique, even for writes coordinated at once.
                        self.last_ts = self.last_ts.max(p.best.0.ts) + 1;
                        let ts = self.last_ts;
                        (
                            Version {
                                ts,
                                node: self.me.0,
                            },
                            v,
                        )
                    }
                    None => match p.best.1 {
                        Some(v) => (p.best.0, v),
                        None => {
                            // Nothing was ever written on this majority: nothing to write back.
                            ctx.cancel_timer(p.timer);
                            self.reply(ctx, p.client, p.req, KvOutcome::Ok { value: None });
                            return;
                        }
                    },
                };
                self.merge(p.key, version, value);
                let key = p.key;
                self.pending.insert(
                    op,
                    Pending {
                        phase: Phase::Store,
                        heard: vec![self.me],
                        storing: (version, value),
                        ..p
                    },
                );
                for peer in self.peers.clone() {
                    ctx.send(
                        peer,
                        Payload::Kv(KvMsg::Store {
                            op,
                            key,
                            version,
                            value,
                        }),
                    );
                }
                self.advance(ctx, op);
            }
            (KvMode::Cp, Phase::Store) => {
                ctx.cancel_timer(p.timer);
                let value = if p.write.is_some() {
                    None
                } else {
                    Some(p.storing.1)
                };
                self.reply(ctx, p.client, p.req, KvOutcome::Ok { value });
            }
            (KvMode::Ap, Phase::Query) => {
                ctx.cancel_timer(p.timer);
                if let (true, (v, Some(x))) = (self.cfg.read_repair, p.best) {
                    self.merge(p.key, v, x);
                    for s in &p.stale {
                        let m = KvMsg::Store {
                            op: 0,
                            key: p.key,
                            version: v,
                            value: x,
                        };
                        ctx.send(*s, Payload::Kv(m));
                    }
                }
                self.reply(ctx, p.client, p.req, KvOutcome::Ok { value: p.best.1 });
            }
            (KvMode::Ap, Phase::Store) => {
                ctx.cancel_timer(p.timer);
                self.reply(ctx, p.client, p.req, KvOutcome::Ok { value: None });
            }
        }
    }

    fn arm_anti_entropy(&mut self, ctx: &mut Ctx<'_>, first: bool) {
        if self.cfg.anti_entropy_ms <= 0.0 || self.peers.is_empty() {
            self.ae_timer = None;
            return;
        }
        let period = us(self.cfg.anti_entropy_ms).max(1);
        // A random phase at first, so replicas do not push in lockstep.
        let after = if first {
            1 + ctx.rng().below(period)
        } else {
            period
        };
        self.ae_timer = Some(ctx.set_timer(after, 0));
    }
}

impl Node for KvReplica {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::KvReplica
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        let peers = self.peers.clone();
        ctx.checks().kv_joined(&peers);
        self.arm_anti_entropy(ctx, true);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Kv(m) = msg else { return };
        match m {
            KvMsg::Get { req, key } => self.begin(ctx, from, req, key.min(7), None),
            KvMsg::Put { req, key, value } => self.begin(ctx, from, req, key.min(7), Some(value)),
            KvMsg::Query { op, key } => {
                let (version, value) = self.local(key);
                ctx.send(from, Payload::Kv(KvMsg::QueryReply { op, version, value }));
            }
            KvMsg::QueryReply { op, version, value } => {
                let Some(p) = self.pending.get_mut(&op) else {
                    return;
                };
                if p.phase != Phase::Query || p.heard.contains(&from) {
                    return;
                }
                p.heard.push(from);
                if version > p.best.0 {
                    // Everyone heard so far is older.
                    p.stale = p.heard.iter().copied().filter(|&h| h != from).collect();
                    p.best = (version, value);
                } else if version < p.best.0 {
                    p.stale.push(from);
                }
                p.stale.retain(|&s| s != self.me);
                self.advance(ctx, op);
            }
            KvMsg::Store {
                op,
                key,
                version,
                value,
            } => {
                self.merge(key, version, value);
                if op != 0 {
                    ctx.send(from, Payload::Kv(KvMsg::StoreAck { op }));
                }
            }
            KvMsg::StoreAck { op } => {
                let Some(p) = self.pending.get_mut(&op) else {
                    return;
                };
                if p.phase != Phase::Store || p.heard.contains(&from) {
                    return;
                }
                p.heard.push(from);
                self.advance(ctx, op);
            }
            KvMsg::Sync { entries } => {
                for (k, v, x) in entries.into_iter().take(MAX_KEYS as usize) {
                    self.merge(k, v, x);
                }
            }
            KvMsg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId, tag: u64) {
        if tag == 0 {
            let entries: Vec<(u8, Version, i64)> =
                self.store.iter().map(|(&k, &(v, x))| (k, v, x)).collect();
            if !entries.is_empty() {
                for p in self.peers.clone() {
                    ctx.send(
                        p,
                        Payload::Kv(KvMsg::Sync {
                            entries: entries.clone(),
                        }),
                    );
                }
            }
            self.arm_anti_entropy(ctx, false);
            return;
        }
        let Some(p) = self.pending.remove(&tag) else {
            return;
        };
        // Refuse when nothing was stored anywhere yet; once a store phase began (a write, or a
        // read's write-back), it may still take effect: answer "timed out".
        let outcome = match p.phase {
            Phase::Query => KvOutcome::Refused,
            Phase::Store => KvOutcome::Timeout,
        };
        self.reply(ctx, p.client, p.req, outcome);
    }

    fn on_restart(&mut self) {
        self.pending.clear();
        self.ae_timer = None;
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: KvReplicaConfig = super::take(next)?;
        if cfg.peers != self.cfg.peers {
            return Err("peers cannot change during a run".into());
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        let mode = match self.cfg.mode {
            KvMode::Cp => "CP",
            KvMode::Ap => "AP",
        };
        let keys: Vec<String> = self
            .store
            .iter()
            .map(|(&k, &(_, x))| format!("{}={x}", key_name(k)))
            .collect();
        if keys.is_empty() {
            format!("{mode} replica, empty")
        } else {
            format!("{mode} replica, {}", keys.join(" "))
        }
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::KvReplica(crate::view::KvReplicaView {
            mode: match self.cfg.mode {
                KvMode::Cp => crate::view::KvModeView::Cp,
                KvMode::Ap => crate::view::KvModeView::Ap,
            },
            entries: self
                .store
                .iter()
                .map(|(&key, &(v, value))| crate::view::KvEntryView {
                    key,
                    value,
                    version: v.ts,
                    version_node: v.node,
                })
                .collect(),
            pending: self.pending.len(),
            served: self.served,
            refused: self.refused,
            timed_out: self.timed_out,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        let mut rows = vec![
            (
                "mode".to_string(),
                format!("{:?}", self.cfg.mode).to_lowercase(),
            ),
            ("replicas".to_string(), self.n().to_string()),
            ("in progress".to_string(), self.pending.len().to_string()),
        ];
        for (&k, &(v, x)) in &self.store {
            rows.push((
                format!("key {}", key_name(k)),
                format!("{x} (version {}.{})", v.ts, v.node),
            ));
        }
        rows
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        // A digest of the store, so equal digests mean equal stores (versions included).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (&k, &(v, x)) in &self.store {
            for word in [u64::from(k), v.ts, u64::from(v.node), x as u64] {
                h = (h ^ word).wrapping_mul(0x0100_0000_01b3);
            }
        }
        vec![
            ("served", self.served as i64),
            ("refused", self.refused as i64),
            ("timeouts", self.timed_out as i64),
            ("keys", self.store.len() as i64),
            ("digest", (h >> 1) as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

fn default_write_ratio() -> f64 {
    0.5
}
fn default_think_ms() -> f64 {
    100.0
}
fn default_timeout_ms() -> f64 {
    1_000.0
}

/// A key-value client's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvClientConfig {
    /// The replica it sends every operation to (node id).
    pub replica: String,
    /// Keys it uses, 1 to 8 (`x`, `y`, `z`, ...).
    #[serde(default = "default_one")]
    pub keys: u32,
    /// Share of operations that are writes, 0 to 1.
    #[serde(default = "default_write_ratio")]
    pub write_ratio: f64,
    /// Mean think time between one answer and the next operation (exponential), 0 to 60000 ms.
    #[serde(default = "default_think_ms")]
    pub think_ms: f64,
    /// How long it waits for an answer; then the operation is indeterminate (1 to 60000 ms).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: f64,
}

impl KvClientConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_KEYS).contains(&self.keys) {
            return Err((
                "keys".into(),
                format!("expected 1 to {MAX_KEYS}, got {}", self.keys),
            ));
        }
        check_ratio("write_ratio", self.write_ratio)?;
        check_ms("think_ms", self.think_ms, 0.0, 60_000.0)?;
        check_ms("timeout_ms", self.timeout_ms, 1.0, 60_000.0)
    }
}

settings!(KvClient(KvClientConfig));

#[derive(Clone, Copy, Debug)]
struct InFlight {
    req: u64,
    index: usize,
    timer: TimerId,
}

const THINK: u64 = 0;
const TIMEOUT: u64 = 1;

/// A client issuing reads and writes to one replica and recording them in the run's history.
#[derive(Clone, Debug)]
pub struct KvClient {
    cfg: KvClientConfig,
    replica: NodeId,
    next_req: u64,
    inflight: Option<InFlight>,
    reads_ok: u64,
    writes_ok: u64,
    refused: u64,
    timeouts: u64,
    linearizable: i64,
    stale_reads: u64,
}

impl KvClient {
    /// A client with these settings.
    pub fn new(
        cfg: KvClientConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let replica = resolve("replica", &cfg.replica, me, lookup)?;
        Ok(KvClient {
            cfg,
            replica,
            next_req: 1,
            inflight: None,
            reads_ok: 0,
            writes_ok: 0,
            refused: 0,
            timeouts: 0,
            linearizable: -1,
            stale_reads: 0,
        })
    }

    fn think(&mut self, ctx: &mut Ctx<'_>) {
        let t = ctx.rng().exponential(self.cfg.think_ms * 1_000.0);
        ctx.set_timer(t.min(60_000_000.0) as u64, THINK);
    }

    fn issue(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.checks().kv_full() {
            return;
        }
        let key = ctx.rng().below(u64::from(self.cfg.keys)) as u8;
        let write = ctx.rng().unit() < self.cfg.write_ratio;
        let req = self.next_req;
        self.next_req += 1;
        let (index, value) = ctx.checks().kv_called(self.replica, key, write);
        let msg = match value {
            Some(value) => KvMsg::Put { req, key, value },
            None => KvMsg::Get { req, key },
        };
        ctx.send(self.replica, Payload::Kv(msg));
        let timer = ctx.set_timer(us(self.cfg.timeout_ms), TIMEOUT);
        self.inflight = Some(InFlight { req, index, timer });
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>, index: usize, outcome: HistOutcome) {
        let now = ctx.now_us();
        let Some(r) = ctx.checks().kv_returned(index, outcome) else {
            return;
        };
        match outcome {
            HistOutcome::Ok(_) if r.write => self.writes_ok += 1,
            HistOutcome::Ok(_) => self.reads_ok += 1,
            HistOutcome::Failed => self.refused += 1,
            _ => self.timeouts += 1,
        }
        ctx.record_request(matches!(outcome, HistOutcome::Ok(_)), now - r.call_us);
        if r.stale_read {
            self.stale_reads += 1;
        }
        self.linearizable = match r.linearizable {
            Some(true) => 1,
            Some(false) => 0,
            None => -1,
        };
    }
}

impl Node for KvClient {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::KvClient
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.think(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, msg: Payload) {
        let Payload::Kv(KvMsg::Reply { req, outcome }) = msg else {
            return;
        };
        let Some(f) = self.inflight else { return };
        if f.req != req {
            return; // a late answer to an operation already given up on
        }
        self.inflight = None;
        ctx.cancel_timer(f.timer);
        let outcome = match outcome {
            KvOutcome::Ok { value } => HistOutcome::Ok(value),
            KvOutcome::Refused => HistOutcome::Failed,
            KvOutcome::Timeout => HistOutcome::Indeterminate,
        };
        self.finish(ctx, f.index, outcome);
        self.think(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId, tag: u64) {
        match tag {
            THINK => {
                if self.inflight.is_none() {
                    self.issue(ctx);
                }
            }
            _ => {
                if let Some(f) = self.inflight.take() {
                    self.finish(ctx, f.index, HistOutcome::Indeterminate);
                    self.think(ctx);
                }
            }
        }
    }

    fn on_restart(&mut self) {
        // The operation in flight stays pending in the history: indeterminate.
        self.inflight = None;
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: KvClientConfig = super::take(next)?;
        if cfg.replica != self.cfg.replica {
            return Err("replica cannot change during a run".into());
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        match self.linearizable {
            1 => "linearizable so far".into(),
            0 => "NOT linearizable".into(),
            _ => "linearizability unknown".into(),
        }
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::KvClient(crate::view::KvClientView {
            in_flight: self.inflight.is_some(),
            reads_ok: self.reads_ok,
            writes_ok: self.writes_ok,
            refused: self.refused,
            timeouts: self.timeouts,
            linearizable: match self.linearizable {
                1 => Some(true),
                0 => Some(false),
                _ => None,
            },
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("reads ok".into(), self.reads_ok.to_string()),
            ("writes ok".into(), self.writes_ok.to_string()),
            ("refused".into(), self.refused.to_string()),
            ("timed out".into(), self.timeouts.to_string()),
            ("waiting".into(), self.inflight.is_some().to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("reads_ok", self.reads_ok as i64),
            ("writes_ok", self.writes_ok as i64),
            ("refused", self.refused as i64),
            ("timeouts", self.timeouts as i64),
            ("linearizable", self.linearizable),
            ("stale_reads", self.stale_reads as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_timestamp_then_replica() {
        let a = Version { ts: 5, node: 2 };
        let b = Version { ts: 5, node: 3 };
        let c = Version { ts: 6, node: 0 };
        assert!(a < b && b < c && Version::default() < a);
    }

    #[test]
    fn a_refused_operation_is_dropped_and_a_timed_out_write_is_indeterminate() {
        let mut kv = KvShared::default();
        let op = |write, end, outcome| HistOp {
            client: NodeId(1),
            store: 0,
            key: 0,
            write,
            call_us: 10,
            end_us: end,
            outcome,
        };
        kv.ops.push(op(Some(1), Some(20), HistOutcome::Failed));
        kv.ops
            .push(op(Some(2), Some(20), HistOutcome::Indeterminate));
        kv.ops.push(op(None, Some(20), HistOutcome::Ok(Some(3))));
        let (h, idx) = kv.key_history(0, 0);
        assert_eq!(idx, vec![1, 2]);
        assert_eq!(h[0].ret_us, None);
        assert_eq!(kv.check_key(0, 0, LIVE_BUDGET).0, Some(false));
    }

    #[test]
    fn stores_merged_by_a_late_replica_share_one_history() {
        let mut kv = KvShared::default();
        kv.join(NodeId(2), &[NodeId(1)]);
        kv.join(NodeId(4), &[NodeId(3)]);
        assert_eq!((kv.store_of(NodeId(2)), kv.store_of(NodeId(4))), (1, 3));
        let op = |store, write, read| HistOp {
            client: NodeId(9),
            store,
            key: 0,
            write,
            call_us: if write.is_some() { 0 } else { 20 },
            end_us: Some(if write.is_some() { 10 } else { 30 }),
            outcome: HistOutcome::Ok(read),
        };
        // Store 3 read the value store 1 wrote: unexplained while they are apart.
        kv.ops.push(op(1, Some(7), None));
        kv.ops.push(op(3, None, Some(7)));
        kv.per_key.insert((3, 0), kv.check_key(3, 0, LIVE_BUDGET));
        assert_eq!(kv.per_key[&(3, 0)].0, Some(false));
        // Replica 0 starts late and lists 2 and 4 as peers: one store, one history, rechecked.
        kv.join(NodeId(0), &[NodeId(2), NodeId(4)]);
        assert_eq!(kv.store_of(NodeId(3)), 0);
        assert_eq!(kv.keys(), vec![(0, 0)]);
        assert!(kv.per_key.is_empty(), "the merged key is checked afresh");
        assert_eq!(kv.check_key(0, 0, LIVE_BUDGET).0, Some(true));
    }

    #[test]
    fn stale_read_detail_names_the_write_it_missed() {
        let mut kv = KvShared::default();
        let op = |client, write, call, end, outcome| HistOp {
            client: NodeId(client),
            store: 0,
            key: 0,
            write,
            call_us: call,
            end_us: Some(end),
            outcome,
        };
        kv.ops
            .push(op(3, Some(1), 0, 1_000_000, HistOutcome::Ok(None)));
        kv.ops
            .push(op(3, Some(2), 2_000_000, 3_900_000, HistOutcome::Ok(None)));
        kv.ops
            .push(op(4, None, 4_000_000, 4_200_000, HistOutcome::Ok(Some(1))));
        let (holds, detail) = kv.check_key(0, 0, LIVE_BUDGET);
        assert_eq!(holds, Some(false));
        assert_eq!(
            detail,
            "stale read of x by node 4 at 4.200 s: 1 after write 2 completed at 3.900 s"
        );
    }
}
