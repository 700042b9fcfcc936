//! A cache in front of a database, and the ways they come to disagree.
//!
//! Three models work together: `app` servers run a workload of reads and writes over a few keys,
//! a `cache` holds copies of values with a time to live (TTL), and a `database` holds the truth:
//! one version number per key, incremented by each write.
//!
//! References: the cache-aside ("look-aside") pattern as Facebook's "Scaling Memcache at
//! Facebook" (Nishtala et al., NSDI 2013) describes it: a read asks the cache, and on a miss reads
//! the database and sets the value in the cache; a write updates the database and then deletes
//! the key from the cache (a delete, not an update, because deletes are idempotent). The paper
//! names the race this model shows (section 3.2.1, "stale sets"): a reader misses, reads the old
//! value, a writer updates the database and deletes the key, and only then does the reader's set
//! arrive, putting the old value back; it stays until the TTL expires or the next delete.
//! Memcache's *leases* prevent it: on a miss the cache hands out a token, a delete invalidates the
//! token, and a set whose token is no longer valid is refused.
//!
//! Strategies (on the app):
//! - `cache_aside`: reads as above; a write only updates the database and the cached copy stays
//!   until its TTL expires. Staleness is by design, bounded by the TTL.
//! - `invalidate_on_write`: cache-aside reads; a write updates the database, then deletes the key
//!   from the cache. A lost delete (link loss) or the stale-set race leaves an old value.
//! - `write_through`: a write goes to the cache, which writes the database and, once it has
//!   committed, stores the new version itself. Reads are cache-aside, so the stale-set race stays.
//!
//! **A stale read**, exactly: a cache hit whose version is older than the version the database
//! has committed for that key at the instant the cache answers it (the read completes at the
//! cache; the reply's trip back is not counted). A database read is never stale. Its age is the
//! time since the database committed the first version newer than the one served.
//!
//! Assumptions where the references are silent: the cache answers at once (its latency is the
//! link's); the database serves operations concurrently, each after a time drawn from `latency`;
//! a read sees the snapshot committed when it arrives (as under snapshot isolation, so a slow
//! query can return a value overwritten while it ran) and a write commits at the end of its
//! time; values are their version
//! numbers; TTL expiry is checked when a key is read; a cache restart empties it (and its
//! leases), a database restart keeps what it committed; an app operation that gets no answer
//! within `timeout_ms` is abandoned (a write whose delete went unanswered counts as a lost
//! invalidation, though the app cannot tell a lost delete from a lost answer).

// Where an app server's operation is: the same steps its view shows, so one enum serves both.
use crate::view::AppStep as Phase;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use super::{ConfigError, check_ms, resolve};
use crate::dist::{Dist, ms_to_us};
use crate::msg::Payload;
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

/// Versions of a key whose commit times the registry keeps, to date a stale read.
const COMMIT_TIMES_KEPT: usize = 64;
/// How long a cache waits for the database's answer to a write-through write.
const THROUGH_TIMEOUT_US: u64 = 60_000_000;
/// Operations a database works on at once; more are dropped (the caller times out).
const MAX_DB_JOBS: usize = 50_000;
/// Keys a workload may use.
const MAX_KEYS: u32 = 1_000;

/// Messages between apps, the cache and the database. `op` is the sender's own operation id;
/// the answer echoes it. Values are version numbers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op_kind", rename_all = "snake_case")]
pub enum CacheMsg {
    /// App to cache: read a key.
    Get { op: u64, key: u32 },
    /// Cache to app: the cached version (`None`: a miss), and a lease token on a miss when the
    /// cache hands out leases.
    GetReply {
        op: u64,
        key: u32,
        version: Option<u64>,
        lease: Option<u64>,
    },
    /// App to cache: store a version read from the database (after a miss).
    Set {
        op: u64,
        key: u32,
        version: u64,
        lease: Option<u64>,
    },
    /// Cache to app: whether the set was stored (a lease no longer valid refuses it).
    SetReply { op: u64, key: u32, stored: bool },
    /// App to cache: invalidate a key.
    Delete { op: u64, key: u32 },
    /// Cache to app: the key is gone.
    DeleteReply { op: u64, key: u32 },
    /// App to cache: write through the cache (`write_through`).
    Write { op: u64, key: u32 },
    /// Cache to app: the write committed as this version.
    WriteReply { op: u64, key: u32, version: u64 },
    /// To the database: read a key.
    DbRead { op: u64, key: u32 },
    /// From the database: the committed version when the read was served.
    DbReadReply { op: u64, key: u32, version: u64 },
    /// To the database: write a key (a new version).
    DbWrite { op: u64, key: u32 },
    /// From the database: the write committed as this version.
    DbWriteReply { op: u64, key: u32, version: u64 },
}

impl CacheMsg {
    /// A short kind for colour and filters.
    pub fn kind(&self) -> &'static str {
        match self {
            CacheMsg::Delete { .. } => "invalidate",
            CacheMsg::Get { .. }
            | CacheMsg::Set { .. }
            | CacheMsg::Write { .. }
            | CacheMsg::DbRead { .. }
            | CacheMsg::DbWrite { .. } => "request",
            _ => "response",
        }
    }
}

impl fmt::Display for CacheMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheMsg::Get { op, key } => write!(f, "get k{key} (op {op})"),
            CacheMsg::GetReply {
                key,
                version: Some(v),
                ..
            } => write!(f, "hit k{key} v{v}"),
            CacheMsg::GetReply {
                key, lease: None, ..
            } => write!(f, "miss k{key}"),
            CacheMsg::GetReply {
                key,
                lease: Some(l),
                ..
            } => write!(f, "miss k{key}, lease {l}"),
            CacheMsg::Set {
                key,
                version,
                lease,
                ..
            } => {
                write!(f, "set k{key} v{version}")?;
                if let Some(l) = lease {
                    write!(f, " lease {l}")?;
                }
                Ok(())
            }
            CacheMsg::SetReply { key, stored, .. } => {
                write!(
                    f,
                    "set k{key} {}",
                    if *stored { "stored" } else { "refused" }
                )
            }
            CacheMsg::Delete { key, .. } => write!(f, "delete k{key}"),
            CacheMsg::DeleteReply { key, .. } => write!(f, "deleted k{key}"),
            CacheMsg::Write { key, .. } => write!(f, "write-through k{key}"),
            CacheMsg::WriteReply { key, version, .. } => write!(f, "written k{key} v{version}"),
            CacheMsg::DbRead { key, .. } => write!(f, "db read k{key}"),
            CacheMsg::DbReadReply { key, version, .. } => write!(f, "db k{key} = v{version}"),
            CacheMsg::DbWrite { key, .. } => write!(f, "db write k{key}"),
            CacheMsg::DbWriteReply { key, version, .. } => {
                write!(f, "db committed k{key} v{version}")
            }
        }
    }
}

/// What each database has committed, per key, shared by the run so that a cache can tell a
/// stale hit exactly (and each event log its length, under key 0, so that a projection can
/// report its true lag). Only the committing node writes its own entries; it is part of
/// snapshots. Nodes read it for figures, never to decide what to do.
#[derive(Clone, Debug, Default)]
pub struct Committed {
    keys: BTreeMap<(NodeId, u32), KeyRecord>,
}

#[derive(Clone, Debug, Default)]
struct KeyRecord {
    version: u64,
    /// Commit times of the last versions, oldest first; the last is `version`'s.
    times_us: VecDeque<u64>,
}

impl Committed {
    /// A database commits `version` of `key` at `now_us`.
    pub(crate) fn commit(&mut self, db: NodeId, key: u32, version: u64, now_us: u64) {
        let r = self.keys.entry((db, key)).or_default();
        r.version = version;
        r.times_us.push_back(now_us);
        if r.times_us.len() > COMMIT_TIMES_KEPT {
            r.times_us.pop_front();
        }
    }

    /// The version `db` has committed for `key` (0 before any write).
    pub fn version(&self, db: NodeId, key: u32) -> u64 {
        self.keys.get(&(db, key)).map_or(0, |r| r.version)
    }

    /// When `db` committed `version` of `key`; for a version older than the kept window, the
    /// oldest time kept (so an age computed from it is a lower bound).
    pub fn committed_at_us(&self, db: NodeId, key: u32, version: u64) -> Option<u64> {
        let r = self.keys.get(&(db, key))?;
        let back = r.version.checked_sub(version)?;
        let n = r.times_us.len() as u64;
        let i = n.saturating_sub(1).saturating_sub(back);
        r.times_us.get(i as usize).copied()
    }
}

// ---------------------------------------------------------------------------------------------
// The database

fn default_db_latency() -> Dist {
    Dist::LogNormal {
        median_ms: 10.0,
        sigma: 0.5,
    }
}

/// A database's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Time to serve one read or commit one write.
    #[serde(default = "default_db_latency")]
    pub latency: Dist,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            latency: default_db_latency(),
        }
    }
}

impl DatabaseConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        self.latency.check().map_err(super::under("latency"))
    }
}

settings!(Database(DatabaseConfig));

#[derive(Clone, Debug)]
struct DbJob {
    from: NodeId,
    op: u64,
    key: u32,
    write: bool,
    arrived_us: u64,
    /// A read's snapshot: the version committed when it arrived.
    snapshot: u64,
}

/// A key-value store: one version per key, every key starting at version 0.
#[derive(Clone, Debug)]
pub struct Database {
    cfg: DatabaseConfig,
    /// Durable: survives a restart.
    versions: BTreeMap<u32, u64>,
    jobs: BTreeMap<TimerId, DbJob>,
    reads: u64,
    writes: u64,
}

impl Database {
    /// A database with these settings.
    pub fn new(cfg: DatabaseConfig) -> Result<Self, ConfigError> {
        cfg.check()?;
        Ok(Database {
            cfg,
            versions: BTreeMap::new(),
            jobs: BTreeMap::new(),
            reads: 0,
            writes: 0,
        })
    }
}

impl Node for Database {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Database
    }

    fn on_start(&mut self, _ctx: &mut Ctx<'_>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Cache(m) = msg else { return };
        let (op, key, write) = match m {
            CacheMsg::DbRead { op, key } => (op, key, false),
            CacheMsg::DbWrite { op, key } => (op, key, true),
            _ => return,
        };
        if self.jobs.len() >= MAX_DB_JOBS {
            return;
        }
        let t = self.cfg.latency.sample_us(ctx.rng());
        let timer = ctx.set_timer(t, 0);
        let snapshot = self.versions.get(&key).copied().unwrap_or(0);
        self.jobs.insert(
            timer,
            DbJob {
                from,
                op,
                key,
                write,
                arrived_us: ctx.now_us(),
                snapshot,
            },
        );
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, _tag: u64) {
        let Some(job) = self.jobs.remove(&timer) else {
            return;
        };
        let v = self.versions.entry(job.key).or_insert(0);
        let reply = if job.write {
            *v += 1;
            self.writes += 1;
            ctx.count("db_writes", 1);
            ctx.checks().committed(job.key, *v);
            CacheMsg::DbWriteReply {
                op: job.op,
                key: job.key,
                version: *v,
            }
        } else {
            self.reads += 1;
            ctx.count("db_reads", 1);
            CacheMsg::DbReadReply {
                op: job.op,
                key: job.key,
                version: job.snapshot,
            }
        };
        ctx.record_request(true, ctx.now_us() - job.arrived_us);
        ctx.send(job.from, Payload::Cache(reply));
    }

    fn on_restart(&mut self) {
        self.jobs.clear();
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: DatabaseConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!(
            "{} keys written, {} in progress",
            self.versions.len(),
            self.jobs.len()
        )
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Database(crate::view::DatabaseView {
            versions: self
                .versions
                .iter()
                .map(|(&key, &version)| crate::view::KeyVersion { key, version })
                .collect(),
            in_progress: self.jobs.len(),
            reads: self.reads,
            writes: self.writes,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        let mut rows = vec![
            ("in progress".into(), self.jobs.len().to_string()),
            ("reads".into(), self.reads.to_string()),
            ("writes".into(), self.writes.to_string()),
        ];
        rows.extend(
            self.versions
                .iter()
                .take(16)
                .map(|(k, v)| (format!("k{k}"), format!("v{v}"))),
        );
        rows
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("db_reads", self.reads as i64),
            ("db_writes", self.writes as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The cache

fn default_ttl_ms() -> f64 {
    10_000.0
}

/// A cache's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// The database behind it: writes through go there, and stale hits are judged against it.
    pub database: String,
    /// How long a stored value may be served, 1 ms to 1 h.
    #[serde(default = "default_ttl_ms")]
    pub ttl_ms: f64,
    /// Memcache's leases: a miss hands out a token, a delete or a write voids it, and a set
    /// with a void token is refused.
    #[serde(default)]
    pub leases: bool,
}

impl CacheConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        check_ms("ttl_ms", self.ttl_ms, 1.0, 3_600_000.0)
    }
}

settings!(Cache(CacheConfig));

#[derive(Clone, Debug)]
struct Entry {
    version: u64,
    expires_us: u64,
}

/// The cache node.
#[derive(Clone, Debug)]
pub struct Cache {
    cfg: CacheConfig,
    db: NodeId,
    entries: BTreeMap<u32, Entry>,
    leases: BTreeMap<u32, u64>,
    next_lease: u64,
    /// Write-through writes waiting for the database: our op -> (app, its op, timer). One
    /// with no answer within `THROUGH_TIMEOUT_US` is forgotten (the app has timed out).
    through: BTreeMap<u64, (NodeId, u64, TimerId)>,
    next_op: u64,
    hits: u64,
    misses: u64,
    stale_reads: u64,
    max_stale_us: u64,
    sets: u64,
    sets_refused: u64,
    invalidations: u64,
    expired: u64,
    started: bool,
}

impl Cache {
    /// A cache with these settings.
    pub fn new(
        cfg: CacheConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let db = resolve("database", &cfg.database, me, lookup)?;
        Ok(Cache {
            cfg,
            db,
            entries: BTreeMap::new(),
            leases: BTreeMap::new(),
            next_lease: 1,
            through: BTreeMap::new(),
            next_op: 1,
            hits: 0,
            misses: 0,
            stale_reads: 0,
            max_stale_us: 0,
            sets: 0,
            sets_refused: 0,
            invalidations: 0,
            expired: 0,
            started: false,
        })
    }

    fn get(&mut self, ctx: &mut Ctx<'_>, from: NodeId, op: u64, key: u32) {
        let now = ctx.now_us();
        if self.entries.get(&key).is_some_and(|e| e.expires_us <= now) {
            self.entries.remove(&key);
            self.expired += 1;
        }
        let reply = if let Some(e) = self.entries.get(&key) {
            let version = e.version;
            self.hits += 1;
            ctx.count("hits", 1);
            if let Some(stale) = ctx.checks().cache_hit(self.db, key, version) {
                let db_version = stale.db_version;
                self.stale_reads += 1;
                ctx.count("stale_reads", 1);
                self.max_stale_us = self.max_stale_us.max(stale.age_us);
                if self.stale_reads == 1 {
                    let detail =
                        format!("stale read of k{key}: cache v{version}, db v{db_version}");
                    ctx.state(detail.clone());
                    ctx.verdict("fresh reads", Some(false), detail);
                }
            }
            CacheMsg::GetReply {
                op,
                key,
                version: Some(version),
                lease: None,
            }
        } else {
            self.misses += 1;
            ctx.count("misses", 1);
            let lease = self.cfg.leases.then(|| {
                let l = self.next_lease;
                self.next_lease += 1;
                self.leases.insert(key, l);
                l
            });
            CacheMsg::GetReply {
                op,
                key,
                version: None,
                lease,
            }
        };
        ctx.send(from, Payload::Cache(reply));
    }

    fn store(&mut self, now_us: u64, key: u32, version: u64) {
        let expires_us = now_us.saturating_add(ms_to_us(self.cfg.ttl_ms));
        if self.entries.len() < MAX_KEYS as usize * 4 || self.entries.contains_key(&key) {
            self.entries.insert(
                key,
                Entry {
                    version,
                    expires_us,
                },
            );
        }
    }
}

impl Node for Cache {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Cache
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        // The verdict is first known at the start; after a restart it is not repeated.
        if !self.started {
            self.started = true;
            ctx.verdict("fresh reads", Some(true), "no stale read yet");
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Cache(m) = msg else { return };
        match m {
            CacheMsg::Get { op, key } => self.get(ctx, from, op, key),
            CacheMsg::Set {
                op,
                key,
                version,
                lease,
            } => {
                let stored = if self.cfg.leases {
                    let ok = lease.is_some() && self.leases.get(&key) == lease.as_ref();
                    if ok {
                        self.leases.remove(&key);
                    }
                    ok
                } else {
                    true
                };
                if stored {
                    self.sets += 1;
                    self.store(ctx.now_us(), key, version);
                } else {
                    self.sets_refused += 1;
                    ctx.count("sets_refused", 1);
                }
                ctx.send(from, Payload::Cache(CacheMsg::SetReply { op, key, stored }));
            }
            CacheMsg::Delete { op, key } => {
                self.invalidations += 1;
                self.entries.remove(&key);
                self.leases.remove(&key);
                ctx.send(from, Payload::Cache(CacheMsg::DeleteReply { op, key }));
            }
            CacheMsg::Write { op, key } => {
                if self.through.len() >= 100_000 {
                    return;
                }
                let mine = self.next_op;
                self.next_op += 1;
                let timer = ctx.set_timer(THROUGH_TIMEOUT_US, mine);
                self.through.insert(mine, (from, op, timer));
                ctx.send(self.db, Payload::Cache(CacheMsg::DbWrite { op: mine, key }));
            }
            CacheMsg::DbWriteReply { op, key, version } => {
                let Some((app, app_op, timer)) = self.through.remove(&op) else {
                    return;
                };
                ctx.cancel_timer(timer);
                self.leases.remove(&key);
                self.store(ctx.now_us(), key, version);
                let reply = CacheMsg::WriteReply {
                    op: app_op,
                    key,
                    version,
                };
                ctx.send(app, Payload::Cache(reply));
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_>, _timer: TimerId, tag: u64) {
        // A write-through write the database never answered: the answer was lost, or the
        // database lost the write in a crash. The cache keeps what it had.
        self.through.remove(&tag);
    }

    fn on_restart(&mut self) {
        self.entries.clear();
        self.leases.clear();
        self.through.clear();
    }

    fn set_early(
        &mut self,
        param: &str,
        _value: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        if param == "database" {
            return Some(Err("the database cannot change during a run".into()));
        }
        None
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: CacheConfig = super::take(next)?;
        if !cfg.leases {
            self.leases.clear();
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        if self.stale_reads > 0 {
            format!("{} stale reads", self.stale_reads)
        } else {
            format!("{} keys cached", self.entries.len())
        }
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Cache(crate::view::CacheView {
            entries: self
                .entries
                .iter()
                .map(|(&key, e)| crate::view::CacheEntryView {
                    key,
                    version: e.version,
                    expires_us: e.expires_us,
                })
                .collect(),
            leased: self.leases.keys().copied().collect(),
            hits: self.hits,
            misses: self.misses,
            stale_reads: self.stale_reads,
            max_stale_us: self.max_stale_us,
            sets: self.sets,
            sets_refused: self.sets_refused,
            invalidations: self.invalidations,
            expired: self.expired,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        let mut rows = vec![
            ("hits".into(), self.hits.to_string()),
            ("misses".into(), self.misses.to_string()),
            ("stale reads".into(), self.stale_reads.to_string()),
            (
                "longest staleness".into(),
                format!("{:.1} ms", self.max_stale_us as f64 / 1000.0),
            ),
            ("sets refused (lease)".into(), self.sets_refused.to_string()),
            ("invalidations".into(), self.invalidations.to_string()),
            ("TTL".into(), format!("{} ms", self.cfg.ttl_ms)),
        ];
        rows.extend(
            self.entries
                .iter()
                .take(16)
                .map(|(k, e)| (format!("k{k}"), format!("v{}", e.version))),
        );
        rows
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("hits", self.hits as i64),
            ("misses", self.misses as i64),
            ("stale_reads", self.stale_reads as i64),
            ("max_stale_ms", (self.max_stale_us / 1000) as i64),
            ("sets", self.sets as i64),
            ("sets_refused", self.sets_refused as i64),
            ("invalidations", self.invalidations as i64),
            ("expired", self.expired as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The app

/// How an app keeps the cache in step with its writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Writes update the database only; cached copies expire with their TTL.
    CacheAside,
    /// Writes update the database, then delete the key from the cache.
    InvalidateOnWrite,
    /// Writes go through the cache, which stores the committed version.
    WriteThrough,
}

fn default_strategy() -> Strategy {
    Strategy::InvalidateOnWrite
}
fn default_read_rate() -> f64 {
    50.0
}
fn default_write_rate() -> f64 {
    5.0
}
fn default_keys() -> u32 {
    4
}
fn default_timeout_ms() -> f64 {
    1_000.0
}
fn default_max_in_flight() -> u32 {
    100
}

/// An app server's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// The cache node.
    pub cache: String,
    /// The database node.
    pub database: String,
    /// How writes keep the cache in step.
    #[serde(default = "default_strategy")]
    pub strategy: Strategy,
    /// Reads a second (Poisson arrivals), 0 to 10000.
    #[serde(default = "default_read_rate")]
    pub read_rate_per_s: f64,
    /// Writes a second (Poisson arrivals), 0 to 10000.
    #[serde(default = "default_write_rate")]
    pub write_rate_per_s: f64,
    /// Keys the workload uses, chosen uniformly: k0, k1, ... (1 to 1000).
    #[serde(default = "default_keys")]
    pub keys: u32,
    /// An operation with no answer after this long is abandoned, 1 ms to 1 h.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: f64,
    /// Operations at once; an arrival past it is skipped (1 makes the app sequential).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
}

impl AppConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        for (f, v) in [
            ("read_rate_per_s", self.read_rate_per_s),
            ("write_rate_per_s", self.write_rate_per_s),
        ] {
            if !(v.is_finite() && (0.0..=10_000.0).contains(&v)) {
                return Err((f.into(), format!("expected 0 to 10000 per second, got {v}")));
            }
        }
        if !(1..=MAX_KEYS).contains(&self.keys) {
            return Err((
                "keys".into(),
                format!("expected 1 to {MAX_KEYS}, got {}", self.keys),
            ));
        }
        check_ms("timeout_ms", self.timeout_ms, 1.0, 3_600_000.0)?;
        if !(1..=10_000).contains(&self.max_in_flight) {
            return Err((
                "max_in_flight".into(),
                format!("expected 1 to 10000, got {}", self.max_in_flight),
            ));
        }
        Ok(())
    }
}

settings!(App(AppConfig));

#[derive(Clone, Debug)]
struct AppOp {
    key: u32,
    phase: Phase,
    started_us: u64,
    timer: TimerId,
    /// The lease a miss handed out, sent back with the set.
    lease: Option<u64>,
}

const TAG_READ: u64 = 0;
const TAG_WRITE: u64 = 1;
const TAG_OP: u64 = 2;

/// An app server: the workload, and the cache-aside logic.
#[derive(Clone, Debug)]
pub struct App {
    cfg: AppConfig,
    cache: NodeId,
    db: NodeId,
    ops: BTreeMap<u64, AppOp>,
    next_op: u64,
    reads: u64,
    writes: u64,
    timeouts: u64,
    skipped: u64,
    invalidations_sent: u64,
    invalidations_lost: u64,
}

impl App {
    /// An app with these settings.
    pub fn new(
        cfg: AppConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let cache = resolve("cache", &cfg.cache, me, lookup)?;
        let db = resolve("database", &cfg.database, me, lookup)?;
        Ok(App {
            cfg,
            cache,
            db,
            ops: BTreeMap::new(),
            next_op: 1,
            reads: 0,
            writes: 0,
            timeouts: 0,
            skipped: 0,
            invalidations_sent: 0,
            invalidations_lost: 0,
        })
    }

    fn arm(&self, ctx: &mut Ctx<'_>, tag: u64) {
        let rate = if tag == TAG_READ {
            self.cfg.read_rate_per_s
        } else {
            self.cfg.write_rate_per_s
        };
        if rate > 0.0 {
            let gap = ms_to_us(ctx.rng().exponential(1000.0 / rate)).max(1);
            ctx.set_timer(gap, tag);
        }
    }

    fn begin(&mut self, ctx: &mut Ctx<'_>, write: bool) {
        if self.ops.len() >= self.cfg.max_in_flight as usize {
            self.skipped += 1;
            return;
        }
        let key = ctx.rng().below(u64::from(self.cfg.keys)) as u32;
        let op = self.next_op;
        self.next_op += 1;
        let timer = ctx.set_timer(ms_to_us(self.cfg.timeout_ms), TAG_OP + op);
        let (phase, msg, to) = match (write, self.cfg.strategy) {
            (false, _) => (Phase::CacheGet, CacheMsg::Get { op, key }, self.cache),
            (true, Strategy::WriteThrough) => {
                (Phase::CacheWrite, CacheMsg::Write { op, key }, self.cache)
            }
            (true, _) => (Phase::DbWrite, CacheMsg::DbWrite { op, key }, self.db),
        };
        if write {
            self.writes += 1;
        } else {
            self.reads += 1;
        }
        self.ops.insert(
            op,
            AppOp {
                key,
                phase,
                started_us: ctx.now_us(),
                timer,
                lease: None,
            },
        );
        ctx.send(to, Payload::Cache(msg));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>, op: u64) {
        if let Some(o) = self.ops.remove(&op) {
            ctx.cancel_timer(o.timer);
            ctx.record_request(true, ctx.now_us() - o.started_us);
        }
    }
}

impl Node for App {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::App
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.arm(ctx, TAG_READ);
        self.arm(ctx, TAG_WRITE);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, msg: Payload) {
        let Payload::Cache(m) = msg else { return };
        let (op, expect) = match &m {
            CacheMsg::GetReply { op, .. } => (*op, Phase::CacheGet),
            CacheMsg::DbReadReply { op, .. } => (*op, Phase::DbRead),
            CacheMsg::SetReply { op, .. } => (*op, Phase::CacheSet),
            CacheMsg::DbWriteReply { op, .. } => (*op, Phase::DbWrite),
            CacheMsg::DeleteReply { op, .. } => (*op, Phase::CacheDelete),
            CacheMsg::WriteReply { op, .. } => (*op, Phase::CacheWrite),
            _ => return,
        };
        // A late answer to an abandoned or already-advanced operation is ignored.
        let Some(o) = self.ops.get_mut(&op) else {
            return;
        };
        if o.phase != expect {
            return;
        }
        let key = o.key;
        match m {
            CacheMsg::GetReply {
                version: None,
                lease,
                ..
            } => {
                o.phase = Phase::DbRead;
                o.lease = lease;
                ctx.send(self.db, Payload::Cache(CacheMsg::DbRead { op, key }));
            }
            CacheMsg::DbReadReply { version, .. } => {
                o.phase = Phase::CacheSet;
                let lease = o.lease.take();
                let set = CacheMsg::Set {
                    op,
                    key,
                    version,
                    lease,
                };
                ctx.send(self.cache, Payload::Cache(set));
            }
            CacheMsg::DbWriteReply { .. } if self.cfg.strategy == Strategy::InvalidateOnWrite => {
                o.phase = Phase::CacheDelete;
                self.invalidations_sent += 1;
                ctx.count("invalidations_sent", 1);
                ctx.send(self.cache, Payload::Cache(CacheMsg::Delete { op, key }));
            }
            _ => self.finish(ctx, op),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId, tag: u64) {
        match tag {
            TAG_READ | TAG_WRITE => {
                self.begin(ctx, tag == TAG_WRITE);
                self.arm(ctx, tag);
            }
            t => {
                let op = t - TAG_OP;
                let Some(o) = self.ops.remove(&op) else {
                    return;
                };
                self.timeouts += 1;
                ctx.count("timeouts", 1);
                if o.phase == Phase::CacheDelete {
                    self.invalidations_lost += 1;
                    ctx.count("invalidations_lost", 1);
                }
                ctx.record_request(false, ctx.now_us() - o.started_us);
            }
        }
    }

    fn on_restart(&mut self) {
        self.ops.clear();
    }

    fn set_early(
        &mut self,
        param: &str,
        _value: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        if param == "cache" || param == "database" {
            return Some(Err(format!("the {param} cannot change during a run")));
        }
        None
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: AppConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!("{} operations in progress", self.ops.len())
    }

    fn view(&self) -> crate::view::NodeView {
        let ops = self
            .ops
            .values()
            .map(|o| crate::view::AppOpView {
                key: o.key,
                step: o.phase,
                started_us: o.started_us,
            })
            .collect();
        crate::view::NodeView::App(crate::view::AppView {
            ops,
            reads: self.reads,
            writes: self.writes,
            timeouts: self.timeouts,
            skipped: self.skipped,
            invalidations_sent: self.invalidations_sent,
            invalidations_lost: self.invalidations_lost,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            (
                "strategy".into(),
                match self.cfg.strategy {
                    Strategy::CacheAside => "cache-aside (TTL only)",
                    Strategy::InvalidateOnWrite => "invalidate on write",
                    Strategy::WriteThrough => "write-through",
                }
                .into(),
            ),
            ("in progress".into(), self.ops.len().to_string()),
            ("reads".into(), self.reads.to_string()),
            ("writes".into(), self.writes.to_string()),
            ("timeouts".into(), self.timeouts.to_string()),
            (
                "invalidations sent".into(),
                self.invalidations_sent.to_string(),
            ),
            (
                "invalidations lost".into(),
                self.invalidations_lost.to_string(),
            ),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("reads", self.reads as i64),
            ("writes", self.writes as i64),
            ("timeouts", self.timeouts as i64),
            ("skipped", self.skipped as i64),
            ("invalidations_sent", self.invalidations_sent as i64),
            ("invalidations_lost", self.invalidations_lost as i64),
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
    fn the_registry_dates_each_version_and_keys_a_window() {
        let (db, other) = (NodeId(3), NodeId(4));
        let mut c = Committed::default();
        assert_eq!(c.version(db, 1), 0);
        assert_eq!(c.committed_at_us(db, 1, 1), None);
        for v in 1..=100u64 {
            c.commit(db, 1, v, v * 10);
        }
        assert_eq!(c.version(db, 1), 100);
        assert_eq!(c.version(other, 1), 0);
        assert_eq!(c.committed_at_us(db, 1, 100), Some(1000));
        assert_eq!(c.committed_at_us(db, 1, 60), Some(600));
        // Older than the window: the oldest time kept, a lower bound on the age.
        assert_eq!(c.committed_at_us(db, 1, 2), Some(370));
        assert_eq!(c.committed_at_us(db, 1, 101), None);
    }

    #[test]
    fn messages_say_what_they_carry() {
        let m = CacheMsg::GetReply {
            op: 1,
            key: 3,
            version: Some(4),
            lease: None,
        };
        assert_eq!(m.to_string(), "hit k3 v4");
        assert_eq!(m.kind(), "response");
        assert_eq!(CacheMsg::Delete { op: 1, key: 3 }.kind(), "invalidate");
    }
}
