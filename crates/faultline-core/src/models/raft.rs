//! Raft: a replicated log kept consistent by an elected leader.
//!
//! Reference: Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm" (2014),
//! Figure 2 and sections 5.1 to 5.4, and Ongaro's dissertation (see `docs/models/raft.md`).
//!
//! Each server is a **follower**, a **candidate** or a **leader**. Time is divided into terms.
//! A follower that hears nothing from a leader for an election timeout (drawn at random from a
//! range, 150 to 300 ms by default, and drawn again each time the timer restarts) becomes a
//! candidate: it increments its term, votes for itself and asks every other server for its vote.
//! A server grants at most one vote per term, and only to a candidate whose log is at least as
//! up to date as its own (a higher last term, or the same last term and a log at least as long).
//! A candidate with votes from a majority of the **full** cluster becomes leader; it sends
//! AppendEntries (empty ones are heartbeats) to keep its followers from starting elections.
//!
//! The leader appends commands to its log and replicates them. Each AppendEntries carries the
//! index and term of the entry before the new ones; a follower whose log does not contain that
//! entry refuses, and the leader retries one entry further back (`nextIndex`) until the logs
//! meet; a follower deletes any of its entries that conflict with the leader's. An entry is
//! **committed** once the leader of its own term has stored it on a majority; entries of earlier
//! terms are committed only indirectly, with a later entry of the current term (section 5.4.2:
//! counting replicas of an old entry is unsafe, Figure 8). Any message with a higher term makes
//! its receiver adopt that term and become a follower.
//!
//! The term, the vote and the log are durable (kept across a crash: [`Node::on_restart`]);
//! the role, the commit index, the votes received and the leader's `nextIndex`/`matchIndex` are
//! volatile.
//!
//! The five safety properties of the paper's Figure 3 are checked live by an [`Observer`] that
//! sees every node's reports (it lives in the world's core, outside every node, like a test
//! harness): Election Safety, Leader Append-Only, Log Matching, Leader Completeness and State
//! Machine Safety. Each is reported as a verdict in the trace when first established and when
//! it is violated.
//!
//! Assumptions where the reference is silent:
//! - Clients are a built-in workload: whoever is leader appends one command every
//!   `propose_every_ms`. A new leader first appends a no-op entry of its term (section 8 of the
//!   paper), so entries of earlier terms commit promptly even without commands.
//! - A leader sends AppendEntries when it appends an entry, on every heartbeat, after each
//!   success that leaves the follower behind and after each refusal (with one entry less), at
//!   most 64 entries a message. A refusal carries the follower's log length as a hint, so the
//!   leader skips past entries the follower cannot have.
//! - Applying an entry is instant: the state machine applies up to the commit index at once.
//! - No PreVote, no CheckQuorum, no membership changes, no log compaction (dissertation
//!   extensions): a server cut off from the others keeps raising its term, and disrupts the
//!   leader when it returns, as in the paper's basic algorithm. A log holds at most
//!   [`MAX_LOG_ENTRIES`] entries; a leader whose log is full stops proposing.
//! - With `randomized_timeouts` off every server uses `election_timeout_min_ms`: servers that
//!   start or time out together split the vote again and again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::{ConfigError, check_ms};
use crate::dist::ms_to_us;
use crate::msg::Payload;
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

/// The most entries one server's log may hold (no log compaction is modelled).
pub const MAX_LOG_ENTRIES: usize = 20_000;
/// The most entries one AppendEntries carries.
pub const MAX_ENTRIES_PER_APPEND: usize = 64;
/// The smallest and the largest cluster.
pub const CLUSTER_SIZE: (usize, usize) = (3, 7);

const TAG_ELECTION: u64 = 1;
const TAG_HEARTBEAT: u64 = 2;
const TAG_PROPOSE: u64 = 3;

fn default_timeout_min_ms() -> f64 {
    150.0
}
fn default_timeout_max_ms() -> f64 {
    300.0
}
fn default_heartbeat_ms() -> f64 {
    50.0
}
fn default_propose_every_ms() -> f64 {
    100.0
}
fn yes() -> bool {
    true
}

/// A Raft server's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaftConfig {
    /// The other servers of the cluster, by node id (this server's own id may be listed too).
    /// The cluster is this server and its peers: 3 to 7 servers.
    pub peers: Vec<String>,
    /// The shortest election timeout.
    #[serde(default = "default_timeout_min_ms")]
    pub election_timeout_min_ms: f64,
    /// The longest election timeout.
    #[serde(default = "default_timeout_max_ms")]
    pub election_timeout_max_ms: f64,
    /// Draw each election timeout uniformly from the range; when false every timeout is
    /// `election_timeout_min_ms`.
    #[serde(default = "yes")]
    pub randomized_timeouts: bool,
    /// How often a leader sends heartbeats.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: f64,
    /// A leader appends one command this often; 0 proposes none.
    #[serde(default = "default_propose_every_ms")]
    pub propose_every_ms: f64,
    /// A new leader appends a no-op entry of its term at once (paper, section 8).
    #[serde(default = "yes")]
    pub noop_on_election: bool,
}

impl RaftConfig {
    /// A configuration with the defaults and these peers.
    pub fn with_peers(peers: &[&str]) -> Self {
        RaftConfig {
            peers: peers.iter().map(|p| p.to_string()).collect(),
            election_timeout_min_ms: default_timeout_min_ms(),
            election_timeout_max_ms: default_timeout_max_ms(),
            randomized_timeouts: true,
            heartbeat_ms: default_heartbeat_ms(),
            propose_every_ms: default_propose_every_ms(),
            noop_on_election: true,
        }
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.peers.len() > CLUSTER_SIZE.1 {
            return Err((
                "peers".into(),
                format!(
                    "a cluster has {} to {} servers, got {} peers",
                    CLUSTER_SIZE.0,
                    CLUSTER_SIZE.1,
                    self.peers.len()
                ),
            ));
        }
        check_ms(
            "election_timeout_min_ms",
            self.election_timeout_min_ms,
            1.0,
            60_000.0,
        )?;
        check_ms(
            "election_timeout_max_ms",
            self.election_timeout_max_ms,
            1.0,
            60_000.0,
        )?;
        if self.election_timeout_max_ms < self.election_timeout_min_ms {
            return Err((
                "election_timeout_max_ms".into(),
                format!(
                    "expected at least election_timeout_min_ms ({}), got {}",
                    self.election_timeout_min_ms, self.election_timeout_max_ms
                ),
            ));
        }
        check_ms("heartbeat_ms", self.heartbeat_ms, 1.0, 60_000.0)?;
        if self.propose_every_ms != 0.0 {
            check_ms("propose_every_ms", self.propose_every_ms, 1.0, 60_000.0)
                .map_err(|(f, m)| (f, format!("{m} (or 0 for none)")))?;
        }
        Ok(())
    }
}

settings!(Raft(RaftConfig));

/// One log entry: the term in which a leader created it and its command (0 is a no-op).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The leader's term when it appended the entry.
    pub term: u64,
    /// The command: unique per proposal, 0 for a leader's no-op.
    pub command: u64,
}

/// Raft's messages (the paper's two RPCs and their answers).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "rpc", rename_all = "snake_case")]
pub enum RaftMsg {
    /// A candidate asks for a vote.
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// The index of the candidate's last log entry.
        last_log_index: u64,
        /// The term of the candidate's last log entry.
        last_log_term: u64,
    },
    /// The answer to a [`RaftMsg::RequestVote`].
    Vote {
        /// The voter's current term, for the candidate to update itself.
        term: u64,
        /// Whether the candidate received the vote.
        granted: bool,
    },
    /// A leader replicates entries (none: a heartbeat).
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// The index of the entry just before the new ones.
        prev_log_index: u64,
        /// The term of that entry.
        prev_log_term: u64,
        /// The entries to store (empty for a heartbeat).
        entries: Vec<Entry>,
        /// The leader's commit index.
        leader_commit: u64,
    },
    /// The answer to an [`RaftMsg::AppendEntries`].
    Appended {
        /// The follower's current term.
        term: u64,
        /// The follower's log contained the entry at `prev_log_index` and now holds the entries.
        success: bool,
        /// On success the index of the last entry the request carried (the follower's match);
        /// on refusal the request's `prev_log_index`.
        index: u64,
        /// The follower's log length, a hint for the leader's `nextIndex`.
        log_len: u64,
    },
}

impl RaftMsg {
    /// A short kind for colouring and filtering.
    pub fn kind(&self) -> &'static str {
        match self {
            RaftMsg::RequestVote { .. } => "vote_request",
            RaftMsg::Vote { .. } => "vote",
            RaftMsg::AppendEntries { entries, .. } if entries.is_empty() => "heartbeat",
            RaftMsg::AppendEntries { .. } => "append",
            RaftMsg::Appended { .. } => "append_reply",
        }
    }
}

impl fmt::Display for RaftMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftMsg::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => write!(
                f,
                "RequestVote term {term} (last entry {last_log_index}, term {last_log_term})"
            ),
            RaftMsg::Vote { term, granted } => {
                let v = if *granted { "granted" } else { "refused" };
                write!(f, "vote {v}, term {term}")
            }
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => {
                if entries.is_empty() {
                    write!(f, "heartbeat term {term}")?;
                } else {
                    write!(
                        f,
                        "AppendEntries term {term}: entries {}-{}",
                        prev_log_index + 1,
                        prev_log_index + entries.len() as u64
                    )?;
                }
                write!(
                    f,
                    " after {prev_log_index} (term {prev_log_term}), commit {leader_commit}"
                )
            }
            RaftMsg::Appended {
                term,
                success,
                index,
                log_len,
            } => {
                if *success {
                    write!(f, "appended up to {index}, term {term}")
                } else {
                    write!(
                        f,
                        "refused: no entry {index} to match (log {log_len}), term {term}"
                    )
                }
            }
        }
    }
}

/// A server's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Role {
    /// Follows a leader, answers RPCs.
    #[default]
    Follower,
    /// Asks for votes.
    Candidate,
    /// Replicates its log.
    Leader,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// One of the five safety properties of the paper's Figure 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Property {
    /// At most one leader can be elected in a given term.
    ElectionSafety,
    /// A leader never overwrites or deletes entries in its log; it only appends.
    LeaderAppendOnly,
    /// Two logs with an entry of the same index and term are identical up to that index.
    LogMatching,
    /// An entry committed in a term is in the logs of the leaders of every higher term.
    LeaderCompleteness,
    /// No two servers apply different entries at the same index.
    StateMachineSafety,
}

impl Property {
    /// All five, in the paper's order.
    pub const ALL: [Property; 5] = [
        Property::ElectionSafety,
        Property::LeaderAppendOnly,
        Property::LogMatching,
        Property::LeaderCompleteness,
        Property::StateMachineSafety,
    ];

    /// The name the trace's verdicts carry.
    pub fn name(self) -> &'static str {
        match self {
            Property::ElectionSafety => "Election Safety",
            Property::LeaderAppendOnly => "Leader Append-Only",
            Property::LogMatching => "Log Matching",
            Property::LeaderCompleteness => "Leader Completeness",
            Property::StateMachineSafety => "State Machine Safety",
        }
    }
}

/// A verdict the observer asks the reporting node to put in the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The property.
    pub property: Property,
    /// Whether it holds.
    pub holds: bool,
    /// Why, for people.
    pub detail: String,
}

/// The cross-node checker of Raft's safety properties: every Raft node reports its role, its
/// log's changes and the entries it applies, and the observer judges each cluster. It keeps a
/// copy of every log, so it is part of the world's core (and of its snapshots), never of a
/// node: no node can read it.
///
/// A scenario may hold several clusters: servers belong to one when their `peers` lists link
/// them (directly or through others), as each server declares when it starts. Two clusters
/// each with a leader in term 1 break nothing; servers whose lists overlap but differ are one
/// misconfigured cluster, and are judged as one.
#[derive(Clone, Debug, Default)]
pub struct Observer {
    logs: Vec<Vec<Entry>>,
    roles: Vec<(Role, u64)>,
    /// Union-find over node indices: a server's parent towards its cluster's root.
    parent: Vec<usize>,
    /// The leader of each (cluster, term), as first elected.
    leaders: BTreeMap<(usize, u64), NodeId>,
    /// Per cluster, the entry applied at each index (index 1 first), with the term of the
    /// leader that committed it.
    applied: BTreeMap<usize, Vec<(Entry, u64)>>,
    verdicts: [Option<bool>; 5],
    violations: [u64; 5],
    findings: Vec<Finding>,
    names: Vec<Option<String>>,
}

impl Observer {
    /// Learns servers' ids for people (each server knows its peers' ids, not its own).
    pub fn learn_names(&mut self, names: &[(NodeId, String)]) {
        for (id, name) in names {
            let i = id.index();
            if self.names.len() <= i {
                self.names.resize(i + 1, None);
            }
            if self.names[i].is_none() {
                self.names[i] = Some(name.clone());
            }
        }
    }

    fn name(&self, n: NodeId) -> String {
        match self.names.get(n.index()) {
            Some(Some(name)) => name.clone(),
            _ => format!("node {}", n.0),
        }
    }

    fn slot(&mut self, n: NodeId) -> usize {
        let i = n.index();
        if self.logs.len() <= i {
            self.logs.resize_with(i + 1, Vec::new);
            self.roles.resize(i + 1, (Role::Follower, 0));
            let from = self.parent.len();
            self.parent.extend(from..=i);
        }
        i
    }

    /// The cluster of node index `i`: its root in the union-find.
    fn cluster(&self, mut i: usize) -> usize {
        while let Some(&p) = self.parent.get(i).filter(|&&p| p != i) {
            i = p;
        }
        i
    }

    /// Declares that `n` and its `peers` are one cluster. Servers declare it as they start,
    /// before any of them has a log or a vote, so the clusters are known before anything is
    /// judged; a restart declares the same again.
    pub fn join(&mut self, n: NodeId, peers: &[NodeId]) {
        let i = self.slot(n);
        for &p in peers {
            let j = self.slot(p);
            let (a, b) = (self.cluster(i), self.cluster(j));
            if a != b {
                // The smaller index is the root, so a cluster's key does not depend on the
                // order its servers started in.
                let (root, child) = (a.min(b), a.max(b));
                self.parent[child] = root;
                // Nothing is judged before every server has started; should a late join merge
                // two judged clusters, keep what each knew rather than forget it.
                if let Some(moved) = self.applied.remove(&child) {
                    self.applied.entry(root).or_insert(moved);
                }
                let terms: Vec<(u64, NodeId)> = self
                    .leaders
                    .iter()
                    .filter(|((c, _), _)| *c == child)
                    .map(|((_, t), l)| (*t, *l))
                    .collect();
                for (t, l) in terms {
                    self.leaders.remove(&(child, t));
                    self.leaders.entry((root, t)).or_insert(l);
                }
            }
        }
    }

    /// Declares every property holding, the first time any node starts.
    pub fn establish(&mut self) {
        for p in Property::ALL {
            let v = &mut self.verdicts[p as usize];
            if v.is_none() {
                *v = Some(true);
                self.findings.push(Finding {
                    property: p,
                    holds: true,
                    detail: "checked live on every event".into(),
                });
            }
        }
    }

    fn violated(&mut self, p: Property, detail: String) {
        self.violations[p as usize] += 1;
        if self.verdicts[p as usize] != Some(false) {
            self.verdicts[p as usize] = Some(false);
            self.findings.push(Finding {
                property: p,
                holds: false,
                detail,
            });
        }
    }

    /// The verdicts to put in the trace now (each once).
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    /// The current verdict on a property (`None` before any node started).
    pub fn verdict(&self, p: Property) -> Option<bool> {
        self.verdicts[p as usize]
    }

    /// How many violations of a property were seen (the trace reports the first).
    pub fn violations(&self, p: Property) -> u64 {
        self.violations[p as usize]
    }

    /// A node's role and term changed.
    pub fn role(&mut self, n: NodeId, role: Role, term: u64) {
        let i = self.slot(n);
        self.roles[i] = (role, term);
        if role == Role::Leader {
            self.elected(n, term);
        }
    }

    fn elected(&mut self, n: NodeId, term: u64) {
        let c = self.cluster(n.index());
        match self.leaders.get(&(c, term)) {
            Some(&other) if other != n => self.violated(
                Property::ElectionSafety,
                format!(
                    "two leaders in term {term}: {} and {}",
                    self.name(other),
                    self.name(n)
                ),
            ),
            Some(_) => {}
            None => {
                self.leaders.insert((c, term), n);
            }
        }
        // Leader Completeness: every entry committed in an earlier term is in the new leader's
        // log.
        let i = n.index();
        let missing = self
            .applied
            .get(&c)
            .into_iter()
            .flatten()
            .enumerate()
            .find(|(k, (e, t))| *t < term && self.logs[i].get(*k) != Some(e))
            .map(|(k, (e, t))| (k + 1, *e, *t));
        if let Some((index, e, t)) = missing {
            self.violated(
                Property::LeaderCompleteness,
                format!(
                    "{} leads term {term} without entry {index} (term {}), committed in term {t}",
                    self.name(n),
                    e.term
                ),
            );
        }
    }

    /// A node deleted the entries of its log after the first `len`.
    pub fn truncate(&mut self, n: NodeId, len: usize) {
        let i = self.slot(n);
        if len >= self.logs[i].len() {
            return;
        }
        let (role, term) = self.roles[i];
        if role == Role::Leader {
            self.violated(
                Property::LeaderAppendOnly,
                format!(
                    "{}, leader of term {term}, deleted entries from index {}",
                    self.name(n),
                    len + 1
                ),
            );
        }
        self.logs[i].truncate(len);
    }

    /// A node appended entries to its log.
    pub fn append(&mut self, n: NodeId, entries: &[Entry]) {
        let i = self.slot(n);
        for e in entries {
            self.logs[i].push(*e);
            let k = self.logs[i].len() - 1; // 0-based index of the new entry
            // Log Matching, incrementally: if it held before, a new entry agreeing in term with
            // another log's entry at the same index must be that entry, preceded by the same
            // entry (whose prefixes already match, by induction).
            let mut bad = None;
            let c = self.cluster(i);
            for (j, other) in self.logs.iter().enumerate() {
                if j == i || self.cluster(j) != c || other.get(k).is_none_or(|o| o.term != e.term) {
                    continue;
                }
                let same = other[k] == *e && (k == 0 || other[k - 1] == self.logs[i][k - 1]);
                if !same {
                    bad = Some(j);
                    break;
                }
            }
            if let Some(j) = bad {
                self.violated(
                    Property::LogMatching,
                    format!(
                        "{} and {} both hold an entry of term {} at index {} but their logs differ up to it",
                        self.name(n),
                        self.name(NodeId(j as u16)),
                        e.term,
                        k + 1
                    ),
                );
            }
        }
    }

    /// A node applied the entry at `index` (1-based) to its state machine; `term` is the node's
    /// current term.
    pub fn apply(&mut self, n: NodeId, index: u64, entry: Entry, term: u64) {
        let k = index.saturating_sub(1) as usize;
        let i = self.slot(n);
        let c = self.cluster(i);
        let applied = self.applied.entry(c).or_default();
        match applied.get(k) {
            Some((e, _)) if *e != entry => {
                let e = *e;
                self.violated(
                    Property::StateMachineSafety,
                    format!(
                        "{} applied entry {index} of term {}, another server applied one of term {}",
                        self.name(n),
                        entry.term,
                        e.term
                    ),
                );
            }
            Some(_) => {}
            None if k == applied.len() => {
                applied.push((entry, term));
                // Leader Completeness for leaders elected before this commit was known.
                let bad = self.roles.iter().enumerate().find(|(j, (r, t))| {
                    *r == Role::Leader
                        && *t > term
                        && self.cluster(*j) == c
                        && self.logs[*j].get(k) != Some(&entry)
                });
                if let Some((j, (_, t))) = bad {
                    let t = *t;
                    self.violated(
                        Property::LeaderCompleteness,
                        format!(
                            "{} leads term {t} without entry {index}, committed in term {term}",
                            self.name(NodeId(j as u16))
                        ),
                    );
                }
            }
            None => {
                let next = applied.len() + 1;
                self.violated(
                    Property::StateMachineSafety,
                    format!("{} applied entry {index} before entry {next}", self.name(n)),
                )
            }
        }
    }
}

/// The leader's new commit index, if it advances: the highest index `n` above `commit_index`
/// whose entry is of the leader's `current_term` and is stored on `majority` servers (the
/// leader's own copy, plus the followers whose `match_index` reaches `n`). Entries of earlier
/// terms are never committed by counting their replicas (paper, section 5.4.2 and Figure 8);
/// they commit with the first entry of the current term after them.
pub fn commit_point(
    log: &[Entry],
    current_term: u64,
    commit_index: u64,
    match_index: &[u64],
    majority: usize,
) -> Option<u64> {
    let mut n = log.len() as u64;
    while n > commit_index {
        if log[n as usize - 1].term != current_term {
            return None; // below here every entry is of an earlier term
        }
        let stored = 1 + match_index.iter().filter(|&&m| m >= n).count();
        if stored >= majority {
            return Some(n);
        }
        n -= 1;
    }
    None
}

/// Whether a candidate's log, given as (last term, last index), is at least as up to date as
/// the voter's (paper, section 5.4.1): the later last term wins; with equal last terms, the
/// longer log.
pub fn at_least_as_up_to_date(candidate: (u64, u64), voter: (u64, u64)) -> bool {
    candidate.0 > voter.0 || (candidate.0 == voter.0 && candidate.1 >= voter.1)
}

/// A Raft server.
#[derive(Clone, Debug)]
pub struct Raft {
    cfg: RaftConfig,
    me: NodeId,
    /// The other servers, in scenario order, with their ids for people.
    peers: Vec<(NodeId, String)>,
    // Durable (kept across a crash).
    current_term: u64,
    voted_for: Option<NodeId>,
    log: Vec<Entry>,
    // Volatile.
    role: Role,
    commit_index: u64,
    leader: Option<NodeId>,
    votes: Vec<NodeId>,
    /// Another candidate asked for a vote in this node's current candidacy's term.
    rival: bool,
    next_index: Vec<u64>,
    match_index: Vec<u64>,
    election_timer: Option<TimerId>,
    /// When `election_timer` fires (for the view; meaningful while it is set).
    election_deadline_us: Option<u64>,
    heartbeat_timer: Option<TimerId>,
    propose_timer: Option<TimerId>,
    log_full_said: bool,
    // Statistics (kept across a crash: they describe the run, not the server).
    elections: u64,
    leaders_elected: u64,
    split_votes: u64,
    proposed: u64,
}

impl Raft {
    /// A server with these settings; `lookup` resolves the peers' ids.
    pub fn new(
        cfg: RaftConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let mut peers: Vec<(NodeId, String)> = Vec::new();
        for (i, p) in cfg.peers.iter().enumerate() {
            let field = format!("peers[{i}]");
            let Some(id) = lookup(p) else {
                return Err((field, format!("no node has the id '{p}'")));
            };
            if id == me {
                continue;
            }
            if peers.iter().any(|(q, _)| *q == id) {
                return Err((field, format!("'{p}' is listed twice")));
            }
            peers.push((id, p.clone()));
        }
        let size = peers.len() + 1;
        if !(CLUSTER_SIZE.0..=CLUSTER_SIZE.1).contains(&size) {
            return Err((
                "peers".into(),
                format!(
                    "a cluster has {} to {} servers; with this one, these peers make {size}",
                    CLUSTER_SIZE.0, CLUSTER_SIZE.1
                ),
            ));
        }
        crate::order::sort_by_key(&mut peers, |(id, _)| *id);
        let n = peers.len();
        Ok(Raft {
            cfg,
            me,
            peers,
            current_term: 0,
            voted_for: None,
            log: Vec::new(),
            role: Role::Follower,
            commit_index: 0,
            leader: None,
            votes: Vec::new(),
            rival: false,
            next_index: vec![1; n],
            match_index: vec![0; n],
            election_timer: None,
            election_deadline_us: None,
            heartbeat_timer: None,
            propose_timer: None,
            log_full_said: false,
            elections: 0,
            leaders_elected: 0,
            split_votes: 0,
            proposed: 0,
        })
    }

    /// The servers in the cluster, this one included.
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    fn majority(&self) -> usize {
        self.cluster_size() / 2 + 1
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.current_term
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The log.
    pub fn log(&self) -> &[Entry] {
        &self.log
    }

    /// The commit index.
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    fn term_at(&self, index: u64) -> u64 {
        if index == 0 {
            0
        } else {
            self.log.get(index as usize - 1).map_or(0, |e| e.term)
        }
    }

    fn last_term(&self) -> u64 {
        self.term_at(self.last_index())
    }

    fn name_of(&self, id: NodeId) -> String {
        if id == self.me {
            return "itself".into();
        }
        self.peers
            .iter()
            .find(|(p, _)| *p == id)
            .map_or_else(|| format!("node {}", id.0), |(_, n)| n.clone())
    }

    fn peer_slot(&self, id: NodeId) -> Option<usize> {
        self.peers.iter().position(|(p, _)| *p == id)
    }

    /// Tells the observer the role and term, and puts what it found in the trace.
    fn observe_role(&self, ctx: &mut Ctx<'_>) {
        ctx.checks().raft_role(self.role, self.current_term);
    }

    fn election_timeout_us(&self, ctx: &mut Ctx<'_>) -> u64 {
        let lo = ms_to_us(self.cfg.election_timeout_min_ms).max(1);
        if !self.cfg.randomized_timeouts {
            return lo;
        }
        let hi = ms_to_us(self.cfg.election_timeout_max_ms).max(lo);
        ctx.rng().range_inclusive(lo, hi)
    }

    fn reset_election_timer(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        let after = self.election_timeout_us(ctx);
        self.election_timer = Some(ctx.set_timer(after, TAG_ELECTION));
        self.election_deadline_us = Some(ctx.now_us().saturating_add(after));
    }

    fn stop_leader_timers(&mut self, ctx: &mut Ctx<'_>) {
        for t in [self.heartbeat_timer.take(), self.propose_timer.take()]
            .into_iter()
            .flatten()
        {
            ctx.cancel_timer(t);
        }
    }

    /// Adopts a higher term seen in a message and becomes a follower (Figure 2, all servers).
    fn adopt_term(&mut self, ctx: &mut Ctx<'_>, term: u64) {
        let was = self.role;
        self.current_term = term;
        self.voted_for = None;
        self.role = Role::Follower;
        self.leader = None;
        self.votes.clear();
        if was == Role::Leader {
            self.stop_leader_timers(ctx);
            self.reset_election_timer(ctx);
        }
        if was == Role::Follower {
            ctx.state(format!("follower, term {term}"));
        } else {
            ctx.state(format!("{} -> follower, term {term}", was.name()));
        }
        ctx.gauge("term", term as i64);
        ctx.gauge("is_leader", 0);
        self.observe_role(ctx);
    }

    fn start_election(&mut self, ctx: &mut Ctx<'_>) {
        if self.role == Role::Candidate && self.rival {
            // Another candidate stood in the term that just ended, and nobody won it: a split
            // vote.
            self.split_votes += 1;
            ctx.count("split_votes", 1);
        }
        let was = self.role;
        self.current_term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.me);
        self.votes = vec![self.me];
        self.rival = false;
        self.leader = None;
        self.elections += 1;
        ctx.count("elections", 1);
        ctx.gauge("term", self.current_term as i64);
        ctx.state(format!(
            "{} -> candidate, term {}",
            was.name(),
            self.current_term
        ));
        self.observe_role(ctx);
        self.reset_election_timer(ctx);
        let msg = RaftMsg::RequestVote {
            term: self.current_term,
            last_log_index: self.last_index(),
            last_log_term: self.last_term(),
        };
        for (p, _) in &self.peers {
            ctx.send(*p, Payload::Raft(msg.clone()));
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_>) {
        self.role = Role::Leader;
        self.leader = Some(self.me);
        self.leaders_elected += 1;
        ctx.count("leaders_elected", 1);
        ctx.gauge("is_leader", 1);
        if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        let next = self.last_index() + 1;
        self.next_index.iter_mut().for_each(|n| *n = next);
        self.match_index.iter_mut().for_each(|m| *m = 0);
        ctx.state(format!("candidate -> leader, term {}", self.current_term));
        self.observe_role(ctx);
        if self.cfg.noop_on_election {
            self.append_own(ctx, 0);
        }
        self.broadcast(ctx);
        self.heartbeat_timer = Some(ctx.set_timer(ms_to_us(self.cfg.heartbeat_ms), TAG_HEARTBEAT));
        if self.cfg.propose_every_ms > 0.0 {
            self.propose_timer =
                Some(ctx.set_timer(ms_to_us(self.cfg.propose_every_ms), TAG_PROPOSE));
        }
    }

    /// The leader appends an entry of its term (a command, or 0 for a no-op).
    fn append_own(&mut self, ctx: &mut Ctx<'_>, command: u64) -> bool {
        if self.log.len() >= MAX_LOG_ENTRIES {
            if !self.log_full_said {
                self.log_full_said = true;
                ctx.state(format!(
                    "log full ({MAX_LOG_ENTRIES} entries): no more proposals"
                ));
            }
            return false;
        }
        let e = Entry {
            term: self.current_term,
            command,
        };
        self.log.push(e);
        ctx.checks().raft_appended(&[e]);
        self.advance_commit(ctx); // a cluster's own copy counts toward the majority
        true
    }

    fn broadcast(&mut self, ctx: &mut Ctx<'_>) {
        for slot in 0..self.peers.len() {
            self.send_append(ctx, slot);
        }
    }

    fn send_append(&mut self, ctx: &mut Ctx<'_>, slot: usize) {
        let next = self.next_index[slot].clamp(1, self.last_index() + 1);
        let prev = next - 1;
        let end = (self.log.len()).min(prev as usize + MAX_ENTRIES_PER_APPEND);
        let entries = self.log[prev as usize..end].to_vec();
        let msg = RaftMsg::AppendEntries {
            term: self.current_term,
            prev_log_index: prev,
            prev_log_term: self.term_at(prev),
            entries,
            leader_commit: self.commit_index,
        };
        ctx.send(self.peers[slot].0, Payload::Raft(msg));
    }

    /// The leader commits the highest index of its own term that a majority stores (Figure 2,
    /// rules for leaders; never by counting replicas of an earlier term's entry).
    fn advance_commit(&mut self, ctx: &mut Ctx<'_>) {
        let point = commit_point(
            &self.log,
            self.current_term,
            self.commit_index,
            &self.match_index,
            self.majority(),
        );
        if let Some(n) = point {
            self.commit_to(ctx, n);
            ctx.state(format!("committed index {n}"));
        }
    }

    /// Applies the entries up to `index` and tells the observer.
    fn commit_to(&mut self, ctx: &mut Ctx<'_>, index: u64) {
        let index = index.min(self.last_index());
        if index <= self.commit_index {
            return;
        }
        let from = self.commit_index + 1;
        self.commit_index = index;
        for i in from..=index {
            ctx.checks()
                .raft_applied(i, self.log[i as usize - 1], self.current_term);
        }
        ctx.gauge("committed", index as i64);
    }

    fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    ) {
        if term > self.current_term {
            self.adopt_term(ctx, term);
        }
        if term == self.current_term && self.role == Role::Candidate && from != self.me {
            self.rival = true;
        }
        let up_to_date = at_least_as_up_to_date(
            (last_log_term, last_log_index),
            (self.last_term(), self.last_index()),
        );
        let granted =
            term == self.current_term && self.voted_for.is_none_or(|v| v == from) && up_to_date;
        if granted {
            self.voted_for = Some(from);
            self.reset_election_timer(ctx);
        }
        let reply = RaftMsg::Vote {
            term: self.current_term,
            granted,
        };
        ctx.send(from, Payload::Raft(reply));
    }

    fn on_vote(&mut self, ctx: &mut Ctx<'_>, from: NodeId, term: u64, granted: bool) {
        if term > self.current_term {
            self.adopt_term(ctx, term);
            return;
        }
        if self.role != Role::Candidate || term != self.current_term || !granted {
            return;
        }
        if !self.votes.contains(&from) {
            self.votes.push(from);
        }
        if self.votes.len() >= self.majority() {
            self.become_leader(ctx);
        }
    }

    fn on_append_entries(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: NodeId,
        term: u64,
        (prev_log_index, prev_log_term): (u64, u64),
        entries: Vec<Entry>,
        leader_commit: u64,
    ) {
        if term > self.current_term {
            self.adopt_term(ctx, term);
        }
        let refuse = |s: &Self, ctx: &mut Ctx<'_>| {
            let r = RaftMsg::Appended {
                term: s.current_term,
                success: false,
                index: prev_log_index,
                log_len: s.last_index(),
            };
            ctx.send(from, Payload::Raft(r));
        };
        if term < self.current_term || self.role == Role::Leader {
            refuse(self, ctx); // a stale leader learns the newer term from the answer
            return;
        }
        if self.role == Role::Candidate {
            // Another server won this term's election.
            self.role = Role::Follower;
            self.votes.clear();
            ctx.state(format!("candidate -> follower, term {}", self.current_term));
            self.observe_role(ctx);
        }
        if self.leader != Some(from) {
            self.leader = Some(from);
        }
        self.reset_election_timer(ctx);
        if prev_log_index > self.last_index() || self.term_at(prev_log_index) != prev_log_term {
            refuse(self, ctx);
            return;
        }
        // Store the entries: skip those already held, delete from the first conflict on.
        let mut k = 0;
        while k < entries.len() {
            let index = prev_log_index + 1 + k as u64;
            if index > self.last_index() {
                break;
            }
            if self.term_at(index) != entries[k].term {
                self.log.truncate(index as usize - 1);
                ctx.checks().raft_truncated(self.log.len());
                break;
            }
            k += 1;
        }
        let room = MAX_LOG_ENTRIES.saturating_sub(self.log.len());
        let new = &entries[k..entries.len().min(k + room)];
        if !new.is_empty() {
            self.log.extend_from_slice(new);
            ctx.checks().raft_appended(new);
        }
        let last_new = prev_log_index + (k + new.len()) as u64;
        if leader_commit > self.commit_index {
            self.commit_to(ctx, leader_commit.min(last_new));
        }
        let r = RaftMsg::Appended {
            term: self.current_term,
            success: true,
            index: last_new,
            log_len: self.last_index(),
        };
        ctx.send(from, Payload::Raft(r));
    }

    fn on_appended(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: NodeId,
        term: u64,
        success: bool,
        index: u64,
        log_len: u64,
    ) {
        if term > self.current_term {
            self.adopt_term(ctx, term);
            return;
        }
        if self.role != Role::Leader || term != self.current_term {
            return;
        }
        let Some(slot) = self.peer_slot(from) else {
            return;
        };
        if success {
            let m = index.min(self.last_index());
            if m <= self.match_index[slot] {
                return; // an old or duplicated answer: nothing new
            }
            self.match_index[slot] = m;
            if m + 1 > self.next_index[slot] {
                self.next_index[slot] = m + 1;
            }
            self.advance_commit(ctx);
            // The follower is still behind and this answers the latest request: send more.
            if m + 1 == self.next_index[slot] && self.next_index[slot] <= self.last_index() {
                self.send_append(ctx, slot);
            }
        } else {
            let floor = self.match_index[slot] + 1;
            let next = self.next_index[slot]
                .min(index)
                .min(log_len + 1)
                .max(floor)
                .max(1);
            if next < self.next_index[slot] {
                self.next_index[slot] = next;
                self.send_append(ctx, slot);
            }
        }
    }

    fn last_terms(&self) -> String {
        let from = self.log.len().saturating_sub(8);
        let mut s = String::new();
        if from > 0 {
            s.push_str("... ");
        }
        for (i, e) in self.log[from..].iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&e.term.to_string());
        }
        s
    }
}

impl Node for Raft {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Raft
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        let peers: Vec<NodeId> = self.peers.iter().map(|(p, _)| *p).collect();
        self.role = Role::Follower;
        ctx.state(format!("follower, term {}", self.current_term));
        ctx.gauge("term", self.current_term as i64);
        ctx.gauge("is_leader", 0);
        // The checker's first verdicts follow the state line, as they always have.
        ctx.checks().raft_started(&peers, &self.peers);
        self.observe_role(ctx);
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Raft(msg) = msg else { return };
        if from == self.me {
            return;
        }
        match msg {
            RaftMsg::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_request_vote(ctx, from, term, last_log_index, last_log_term),
            RaftMsg::Vote { term, granted } => self.on_vote(ctx, from, term, granted),
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.on_append_entries(
                ctx,
                from,
                term,
                (prev_log_index, prev_log_term),
                entries,
                leader_commit,
            ),
            RaftMsg::Appended {
                term,
                success,
                index,
                log_len,
            } => self.on_appended(ctx, from, term, success, index, log_len),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, tag: u64) {
        match tag {
            TAG_ELECTION if self.election_timer == Some(timer) => {
                self.election_timer = None;
                if self.role != Role::Leader {
                    self.start_election(ctx);
                }
            }
            TAG_HEARTBEAT if self.heartbeat_timer == Some(timer) => {
                self.heartbeat_timer = None;
                if self.role == Role::Leader {
                    self.broadcast(ctx);
                    self.heartbeat_timer =
                        Some(ctx.set_timer(ms_to_us(self.cfg.heartbeat_ms), TAG_HEARTBEAT));
                    if self.propose_timer.is_none() && self.cfg.propose_every_ms > 0.0 {
                        // Proposals were switched on during this leader's term.
                        self.propose_timer =
                            Some(ctx.set_timer(ms_to_us(self.cfg.propose_every_ms), TAG_PROPOSE));
                    }
                }
            }
            TAG_PROPOSE if self.propose_timer == Some(timer) => {
                self.propose_timer = None;
                if self.role == Role::Leader && self.cfg.propose_every_ms > 0.0 {
                    let command = ((u64::from(self.me.0) + 1) << 40) | (self.proposed + 1);
                    if self.append_own(ctx, command) {
                        self.proposed += 1;
                        ctx.count("proposed", 1);
                        self.broadcast(ctx);
                    }
                    self.propose_timer =
                        Some(ctx.set_timer(ms_to_us(self.cfg.propose_every_ms), TAG_PROPOSE));
                }
            }
            _ => {}
        }
    }

    fn on_restart(&mut self) {
        // current_term, voted_for and log are on disk; the rest is lost.
        self.role = Role::Follower;
        self.commit_index = 0;
        self.leader = None;
        self.votes.clear();
        self.rival = false;
        self.next_index.iter_mut().for_each(|n| *n = 1);
        self.match_index.iter_mut().for_each(|m| *m = 0);
        self.election_timer = None;
        self.heartbeat_timer = None;
        self.propose_timer = None;
        self.log_full_said = false;
    }

    fn set_early(
        &mut self,
        param: &str,
        _value: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        if param == "peers" || param.starts_with("peers.") {
            return Some(Err(
                "the cluster's membership is fixed (membership changes are not modelled)".into(),
            ));
        }
        None
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: RaftConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!("{}, term {}", self.role.name(), self.current_term)
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Raft(crate::view::RaftView {
            term: self.current_term,
            role: match self.role {
                Role::Follower => crate::view::RaftRole::Follower,
                Role::Candidate => crate::view::RaftRole::Candidate,
                Role::Leader => crate::view::RaftRole::Leader,
            },
            voted_for: self.voted_for,
            leader: self.leader,
            election_deadline_us: self.election_timer.and(self.election_deadline_us),
            log: (1u64..)
                .zip(&self.log)
                .map(|(index, e)| crate::view::LogEntryView {
                    index,
                    term: e.term,
                })
                .collect(),
            commit_index: self.commit_index,
            cluster_size: self.cluster_size(),
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        let mut rows = vec![
            ("role".into(), self.role.name().to_string()),
            ("term".into(), self.current_term.to_string()),
            (
                "voted for".into(),
                self.voted_for
                    .map_or_else(|| "nobody".to_string(), |v| self.name_of(v)),
            ),
            (
                "leader".into(),
                self.leader
                    .map_or_else(|| "unknown".to_string(), |v| self.name_of(v)),
            ),
            ("log length".into(), self.log.len().to_string()),
            ("last terms".into(), self.last_terms()),
            ("commit index".into(), self.commit_index.to_string()),
            (
                "election timeout".into(),
                if self.cfg.randomized_timeouts {
                    format!(
                        "{}-{} ms",
                        self.cfg.election_timeout_min_ms, self.cfg.election_timeout_max_ms
                    )
                } else {
                    format!("{} ms (fixed)", self.cfg.election_timeout_min_ms)
                },
            ),
        ];
        if self.role == Role::Candidate {
            rows.push((
                "votes".into(),
                format!("{} of {} needed", self.votes.len(), self.majority()),
            ));
        }
        if self.role == Role::Leader {
            for (slot, (_, name)) in self.peers.iter().enumerate() {
                rows.push((
                    format!("{name} next / match"),
                    format!("{} / {}", self.next_index[slot], self.match_index[slot]),
                ));
            }
        }
        rows.push((
            "reference".into(),
            "Raft (Ongaro and Ousterhout, 2014)".into(),
        ));
        rows
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("term", self.current_term as i64),
            ("elections", self.elections as i64),
            ("leaders_elected", self.leaders_elected as i64),
            ("split_votes", self.split_votes as i64),
            ("committed", self.commit_index as i64),
            ("log_length", self.log.len() as i64),
            ("proposed", self.proposed as i64),
            ("is_leader", i64::from(self.role == Role::Leader)),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(term: u64, command: u64) -> Entry {
        Entry { term, command }
    }

    fn violated(obs: &mut Observer, p: Property) -> String {
        let f = obs.take_findings();
        let hit = f.iter().find(|f| f.property == p && !f.holds);
        assert_eq!(obs.verdict(p), Some(false), "{p:?} caught: {f:?}");
        hit.expect("a finding").detail.clone()
    }

    fn fresh() -> Observer {
        let mut o = Observer::default();
        let all: Vec<NodeId> = (0..8).map(NodeId).collect();
        o.join(NodeId(0), &all);
        o.establish();
        let f = o.take_findings();
        assert_eq!(f.len(), 5);
        assert!(f.iter().all(|f| f.holds));
        o.establish();
        assert!(o.take_findings().is_empty(), "established once");
        o
    }

    #[test]
    fn the_checker_catches_two_leaders_in_one_term() {
        let mut o = fresh();
        o.role(NodeId(0), Role::Leader, 3);
        o.role(NodeId(1), Role::Leader, 4);
        o.role(NodeId(0), Role::Leader, 3); // the same leader again is fine
        assert!(o.take_findings().is_empty());
        o.role(NodeId(2), Role::Leader, 3);
        let d = violated(&mut o, Property::ElectionSafety);
        assert!(d.contains("term 3") && d.contains("node 0") && d.contains("node 2"));
        // Reported once, counted every time.
        o.role(NodeId(3), Role::Leader, 3);
        assert!(o.take_findings().is_empty());
        assert_eq!(o.violations(Property::ElectionSafety), 2);
    }

    #[test]
    fn the_checker_catches_a_leader_deleting_entries() {
        let mut o = fresh();
        o.append(NodeId(0), &[e(1, 1), e(1, 2)]);
        o.truncate(NodeId(0), 1); // a follower may
        o.role(NodeId(0), Role::Leader, 2);
        o.append(NodeId(0), &[e(2, 3)]);
        assert!(o.take_findings().is_empty());
        o.truncate(NodeId(0), 1);
        let d = violated(&mut o, Property::LeaderAppendOnly);
        assert!(d.contains("term 2") && d.contains("index 2"), "{d}");
    }

    #[test]
    fn the_checker_catches_logs_that_agree_on_a_term_but_not_before_it() {
        let mut o = fresh();
        o.append(NodeId(0), &[e(1, 1), e(2, 2)]);
        o.append(NodeId(1), &[e(1, 1), e(2, 2), e(2, 3)]); // matching: fine
        o.append(NodeId(2), &[e(1, 9)]); // differs at index 1 with the same term
        let d = violated(&mut o, Property::LogMatching);
        assert!(d.contains("index 1"), "{d}");
        let mut o = fresh();
        o.append(NodeId(0), &[e(1, 1), e(2, 2)]);
        o.append(NodeId(1), &[e(3, 1), e(2, 2)]); // same entry at 2, different before it
        violated(&mut o, Property::LogMatching);
    }

    #[test]
    fn the_checker_catches_different_entries_applied_at_one_index() {
        let mut o = fresh();
        o.append(NodeId(0), &[e(1, 1)]);
        o.apply(NodeId(0), 1, e(1, 1), 1);
        o.apply(NodeId(1), 1, e(1, 1), 1);
        assert!(o.take_findings().is_empty());
        o.apply(NodeId(2), 1, e(2, 5), 2);
        let d = violated(&mut o, Property::StateMachineSafety);
        assert!(d.contains("entry 1"), "{d}");
    }

    #[test]
    fn the_checker_catches_a_leader_without_a_committed_entry() {
        let mut o = fresh();
        o.append(NodeId(0), &[e(1, 1)]);
        o.apply(NodeId(0), 1, e(1, 1), 1);
        o.append(NodeId(1), &[e(1, 1)]);
        o.role(NodeId(1), Role::Leader, 2); // has it: fine
        assert!(o.take_findings().is_empty());
        o.role(NodeId(2), Role::Leader, 3); // an empty log
        let d = violated(&mut o, Property::LeaderCompleteness);
        assert!(d.contains("term 3") && d.contains("entry 1"), "{d}");
        // A leader elected before the commit was known is checked when it is.
        let mut o = fresh();
        o.role(NodeId(2), Role::Leader, 5);
        o.apply(NodeId(0), 1, e(1, 1), 1);
        violated(&mut o, Property::LeaderCompleteness);
    }

    #[test]
    fn a_vote_goes_only_to_a_log_at_least_as_up_to_date() {
        assert!(at_least_as_up_to_date((3, 5), (3, 5)), "equal logs");
        assert!(
            at_least_as_up_to_date((3, 6), (3, 5)),
            "same last term, longer"
        );
        assert!(
            !at_least_as_up_to_date((3, 4), (3, 5)),
            "same last term, shorter"
        );
        assert!(
            at_least_as_up_to_date((4, 1), (3, 9)),
            "a later last term beats length"
        );
        assert!(
            !at_least_as_up_to_date((2, 9), (3, 1)),
            "an earlier last term loses"
        );
        assert!(at_least_as_up_to_date((0, 0), (0, 0)), "two empty logs");
    }

    #[test]
    fn an_earlier_terms_entry_is_never_committed_by_counting_replicas() {
        // The paper's Figure 8 (c): S1 leads term 4 with [1, 2]; the term-2 entry at index 2
        // is on S1, S2 and S3, a majority of 5, yet it must not be committed by counting.
        let log = [e(1, 1), e(2, 2)];
        assert_eq!(commit_point(&log, 4, 1, &[2, 2, 0, 0], 3), None);
        // Once an entry of term 4 is on a majority, it commits, and index 2 with it.
        let log = [e(1, 1), e(2, 2), e(4, 3)];
        assert_eq!(commit_point(&log, 4, 1, &[2, 2, 0, 0], 3), None);
        assert_eq!(commit_point(&log, 4, 1, &[3, 2, 0, 0], 3), None);
        assert_eq!(commit_point(&log, 4, 1, &[3, 3, 0, 0], 3), Some(3));
        // The highest index of the current term on a majority, never a lower one again.
        let log = [e(4, 1), e(4, 2), e(4, 3)];
        assert_eq!(commit_point(&log, 4, 0, &[2, 3, 1, 0], 3), Some(2));
        assert_eq!(commit_point(&log, 4, 2, &[2, 3, 1, 0], 3), None);
        // The full cluster counts: with 7 servers, 3 copies are not enough.
        assert_eq!(commit_point(&log, 4, 0, &[3, 3, 0, 0, 0, 0], 4), None);
    }

    fn lookup(id: &str) -> Option<NodeId> {
        ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"]
            .iter()
            .position(|n| *n == id)
            .map(|i| NodeId(i as u16))
    }

    #[test]
    fn settings_are_checked_with_the_field_named() {
        let ok = RaftConfig::with_peers(&["n1", "n2", "n3"]);
        let r = Raft::new(ok.clone(), NodeId(0), &lookup).unwrap();
        assert_eq!(r.cluster_size(), 3, "its own id in the list is allowed");
        let err = |c: RaftConfig| Raft::new(c, NodeId(0), &lookup).unwrap_err();
        assert_eq!(err(RaftConfig::with_peers(&["n2"])).0, "peers");
        assert_eq!(
            err(RaftConfig::with_peers(&[
                "n2", "n3", "n4", "n5", "n6", "n7", "n8"
            ]))
            .0,
            "peers"
        );
        assert_eq!(err(RaftConfig::with_peers(&["n2", "x"])).0, "peers[1]");
        assert_eq!(err(RaftConfig::with_peers(&["n2", "n2"])).0, "peers[1]");
        let mut c = ok.clone();
        c.election_timeout_max_ms = 100.0;
        assert_eq!(err(c).0, "election_timeout_max_ms");
        let mut c = ok.clone();
        c.heartbeat_ms = f64::NAN;
        assert_eq!(err(c).0, "heartbeat_ms");
        let mut c = ok.clone();
        c.propose_every_ms = 0.5;
        assert_eq!(err(c.clone()).0, "propose_every_ms");
        c.propose_every_ms = 0.0;
        assert!(Raft::new(c, NodeId(0), &lookup).is_ok());
        let mut r = Raft::new(ok, NodeId(0), &lookup).unwrap();
        let set = |r: &mut Raft, p: &str, v| crate::models::set_param(r, p, &v);
        assert!(set(&mut r, "peers", serde_json::json!(["n2"])).is_err());
        assert!(set(&mut r, "election_timeout_min_ms", serde_json::json!(400)).is_err());
        assert!(set(&mut r, "randomized_timeouts", serde_json::json!(false)).is_ok());
        assert_eq!(r.status(), "follower, term 0");
    }

    #[test]
    fn messages_round_trip_and_read_well() {
        let m = Payload::Raft(RaftMsg::AppendEntries {
            term: 4,
            prev_log_index: 6,
            prev_log_term: 3,
            entries: vec![e(4, 7)],
            leader_commit: 5,
        });
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Payload>(&text).unwrap(), m);
        assert_eq!(m.kind(), "append");
        assert_eq!(
            m.to_string(),
            "AppendEntries term 4: entries 7-7 after 6 (term 3), commit 5"
        );
        let v = Payload::Raft(RaftMsg::Vote {
            term: 2,
            granted: true,
        });
        assert_eq!(v.to_string(), "vote granted, term 2");
        assert_eq!(v.trace_id(), None);
    }
}
