//! The cross-node checkers, in one bundle: what the engine's core keeps beside the nodes so that
//! properties spanning nodes can be judged from the truth, not from any one node's belief.
//!
//! - [`cache::Committed`]: what each database (and each event log) has committed, so a cache's
//!   hit can be judged stale exactly and a projection's lag measured against the log's end.
//! - [`raft::Observer`]: Raft's five safety properties, judged per cluster.
//! - [`saga::Ledger`]: what each saga participant really did, for the saga invariants.
//! - [`kv::KvShared`]: the key-value history and the linearizability checker's answers.
//!
//! The engine holds one [`Checks`] and names nothing else of the models but `Payload`. A node
//! reaches it only through [`crate::node::Ctx::checks`], a [`Reporter`]: reports go in, and the
//! verdicts they lead to go straight into the trace, in the reporting node's name. A report
//! answers only about itself (the history index of an operation just recorded, whether the hit
//! just reported was stale); no method hands a node another node's state or a checker's
//! internals. `Checks` is part of the core and so of snapshots.

use crate::node::NodeId;
use crate::trace::{Trace, TraceKind};

use super::{cache, kv, raft, saga};

/// Every cross-node checker of a run.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    committed: cache::Committed,
    raft: raft::Observer,
    sagas: saga::Ledger,
    kv: kv::KvShared,
}

impl Checks {
    /// The checkers for a run of these nodes (with these ids, for the verdicts' details).
    pub(crate) fn for_nodes(nodes: &[Box<dyn crate::node::Node>], names: &[String]) -> Checks {
        Checks {
            kv: kv::KvShared::for_nodes(nodes, names),
            ..Checks::default()
        }
    }

    /// The key-value history and the checker's answers so far (for tests, reports and the page;
    /// never for nodes).
    pub fn kv(&self) -> &kv::KvShared {
        &self.kv
    }

    /// Whether a verdict judges the whole run rather than the node that reported it: one of
    /// the properties these checkers judge (the key-value history, Raft's safety properties,
    /// the saga invariants). Whichever node reports it, it is one answer, and the page shows it
    /// as one row.
    pub fn run_wide_verdict(name: &str) -> bool {
        name == kv::VERDICT
            || raft::Property::ALL.iter().any(|p| p.name() == name)
            || saga::INVARIANTS.contains(&name)
    }
}

/// A node's one way into the checkers, for the event it is handling: write-only. Made by
/// [`crate::node::Ctx::checks`].
pub struct Reporter<'a> {
    pub(crate) checks: &'a mut Checks,
    pub(crate) trace: &'a mut Trace,
    pub(crate) me: NodeId,
    pub(crate) now_us: u64,
}

/// The answer to a stale cache hit: about that hit only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleHit {
    /// The version the database had committed.
    pub db_version: u64,
    /// How long the served version had been superseded, microseconds (a lower bound when the
    /// newer version is older than the commit times kept).
    pub age_us: u64,
}

/// The answer to a key-value operation's end: about that operation only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvReceipt {
    /// When the operation was called.
    pub call_us: u64,
    /// Whether it was a write.
    pub write: bool,
    /// Whether it was a read that returned a value older than one already written (a figure).
    pub stale_read: bool,
    /// The history's verdict now, as the trace has it.
    pub linearizable: Option<bool>,
}

impl Reporter<'_> {
    fn verdict(&mut self, name: &str, holds: Option<bool>, detail: String) {
        let kind = TraceKind::Verdict {
            node: self.me,
            name: name.into(),
            holds,
            detail,
        };
        self.trace.push(self.now_us, kind);
    }

    fn state(&mut self, text: String) {
        let kind = TraceKind::State {
            node: self.me,
            text,
        };
        self.trace.push(self.now_us, kind);
    }

    // ---- Committed values (databases, event logs, caches, projections)

    /// This node (a database, or an event log under key 0) committed `version` of `key`.
    pub fn committed(&mut self, key: u32, version: u64) {
        self.checks
            .committed
            .commit(self.me, key, version, self.now_us);
    }

    /// This cache served `version` of `key` from `db`: when a newer version was already
    /// committed the hit was stale, and the answer says how (else `None`).
    pub fn cache_hit(&mut self, db: NodeId, key: u32, version: u64) -> Option<StaleHit> {
        let c = &self.checks.committed;
        let db_version = c.version(db, key);
        (version < db_version).then(|| {
            let since = c.committed_at_us(db, key, version + 1);
            StaleHit {
                db_version,
                age_us: since.map_or(0, |t| self.now_us.saturating_sub(t)),
            }
        })
    }

    /// The length `log` has committed (0 before any append): a projection's lag figure only.
    pub fn log_end(&mut self, log: NodeId, key: u32) -> u64 {
        self.checks.committed.version(log, key)
    }

    // ---- Raft

    /// This Raft server started with these peers (ids, and names for people).
    pub fn raft_started(&mut self, peers: &[NodeId], names: &[(NodeId, String)]) {
        let obs = &mut self.checks.raft;
        obs.establish();
        obs.join(self.me, peers);
        obs.learn_names(names);
        self.raft_findings();
    }

    /// This Raft server's role and term are now these.
    pub fn raft_role(&mut self, role: raft::Role, term: u64) {
        self.checks.raft.role(self.me, role, term);
        self.raft_findings();
    }

    /// This Raft server kept only the first `len` entries of its log.
    pub fn raft_truncated(&mut self, len: usize) {
        self.checks.raft.truncate(self.me, len);
        self.raft_findings();
    }

    /// This Raft server appended entries to its log.
    pub fn raft_appended(&mut self, entries: &[raft::Entry]) {
        self.checks.raft.append(self.me, entries);
        self.raft_findings();
    }

    /// This Raft server applied the entry at `index` (from 1) in its term `term`.
    pub fn raft_applied(&mut self, index: u64, entry: raft::Entry, term: u64) {
        self.checks.raft.apply(self.me, index, entry, term);
        self.raft_findings();
    }

    fn raft_findings(&mut self) {
        for f in self.checks.raft.take_findings() {
            self.verdict(f.property.name(), Some(f.holds), f.detail);
        }
    }

    // ---- Sagas

    /// This orchestrator started `saga` with these participants, in step order.
    pub fn saga_started(&mut self, saga: u64, steps: &[NodeId]) {
        self.checks.sagas.start(saga, steps);
    }

    /// This participant did (or undid) its step of `saga`.
    pub fn saga_effect(&mut self, saga: u64, action: saga::Action, effect: saga::Effect) {
        self.checks.sagas.effect(saga, self.me, action, effect);
    }

    /// This orchestrator ended `saga` with the order in this status.
    pub fn saga_ended(&mut self, saga: u64, order: saga::OrderStatus) {
        self.checks.sagas.end(saga, order);
    }

    /// This orchestrator asks for the invariants to be checked now. The verdicts that changed go
    /// into the trace; returns how many new violations this check found.
    pub fn saga_audit(&mut self) -> u64 {
        let before = self.checks.sagas.violations;
        let changed = self.checks.sagas.check();
        let new = self.checks.sagas.violations - before;
        for (k, holds, detail) in changed {
            self.verdict(saga::INVARIANTS[k], Some(holds), detail);
        }
        new
    }

    // ---- Key-value history

    /// This replica serves a store with these peers.
    pub fn kv_joined(&mut self, peers: &[NodeId]) {
        self.checks.kv.join(self.me, peers);
    }

    /// Whether the history is full: a client then stops calling (the trace says so once).
    pub fn kv_full(&mut self) -> bool {
        let kv = &mut self.checks.kv;
        if kv.ops.len() < kv::MAX_HISTORY {
            return false;
        }
        if !kv.full_noticed {
            kv.full_noticed = true;
            self.state(format!(
                "the history is full ({} operations): clients stop",
                kv::MAX_HISTORY
            ));
        }
        true
    }

    /// This client calls `replica` on `key`, a write when `write`: the operation's index in the
    /// history and, for a write, the unique value to write.
    pub fn kv_called(&mut self, replica: NodeId, key: u8, write: bool) -> (usize, Option<i64>) {
        let kv = &mut self.checks.kv;
        let value = write.then(|| {
            kv.next_value += 1;
            kv.next_value
        });
        let store = kv.store_of(replica);
        kv.ops.push(kv::HistOp {
            client: self.me,
            store,
            key,
            write: value,
            call_us: self.now_us,
            end_us: None,
            outcome: kv::HistOutcome::Pending,
        });
        (kv.ops.len() - 1, value)
    }

    /// The operation at `index` ended so. Re-checks its key and puts a changed overall verdict
    /// in the trace. `None` for an index the history does not hold.
    pub fn kv_returned(&mut self, index: usize, outcome: kv::HistOutcome) -> Option<KvReceipt> {
        let now = self.now_us;
        let kv = &mut self.checks.kv;
        let op = kv.ops.get_mut(index)?;
        op.end_us = Some(now);
        op.outcome = outcome;
        let (store, key, write, call_us) = (op.store, op.key, op.write, op.call_us);
        let stale_read = kv.is_stale_read(index);
        if let Some((holds, detail)) = kv.recheck(store, key) {
            self.verdict(kv::VERDICT, holds, detail);
        }
        Some(KvReceipt {
            call_us,
            write: write.is_some(),
            stale_read,
            linearizable: self.checks.kv.verdict(),
        })
    }
}
