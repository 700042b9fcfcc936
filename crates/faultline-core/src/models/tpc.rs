//! Two-phase commit: a coordinator and its participants, and why it blocks.
//!
//! Reference: the two-phase commit protocol (Gray, "Notes on Data Base Operating Systems",
//! 1978; Bernstein, Hadzilacos and Goodman, "Concurrency Control and Recovery in Database
//! Systems", ch. 7), as `docs/models/two-phase-commit.md` states the point: a participant that voted yes
//! holds its locks until it hears the coordinator's decision, however long the coordinator is
//! down.
//! - Phase one: the coordinator sends PREPARE; each participant votes yes (it has forced a
//!   prepare record and keeps its locks: PREPARED, in doubt) or no (it aborts at once).
//! - Phase two: all yes, the decision is COMMIT; any no or a missing vote (after
//!   `vote_timeout_ms`), ABORT. Participants apply it, release their locks and acknowledge.
//! - A participant that voted yes may not decide alone. If the decision does not come, it asks
//!   the coordinator every `query_ms` and stays BLOCKED, locks held, until it is answered.
//!
//! What the model assumes (the reference leaves it to implementations):
//! - The coordinator forces its decision to a durable log, taking `log_ms`, **before** sending
//!   it. A crash before the write completes loses the decision; a crash after keeps it, and the
//!   restarted coordinator sends it again to every participant that has not acknowledged.
//! - Presumed abort: the coordinator logs nothing before the decision, so a restarted
//!   coordinator answers a query about a transaction it has no record of with ABORT.
//! - Participants do not talk to each other (no cooperative termination protocol), so a
//!   prepared participant learns the outcome only from the coordinator.
//! - Each participant guards one resource with one lock and does not wait for it: a PREPARE
//!   that finds it held by another prepared transaction votes no (`lock_conflicts`). A
//!   participant's prepare record survives its crash; its votes "no" are not logged.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

use super::{ConfigError, check_ms, check_ratio, resolve};
use crate::dist::{Dist, ms_to_us};
use crate::models::flow::{FlowMsg, Tx, owned_id};
use crate::msg::Payload;
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

fn default_every_ms() -> f64 {
    1000.0
}
fn default_vote_timeout_ms() -> f64 {
    1000.0
}
fn default_log_ms() -> f64 {
    10.0
}
fn default_resend_ms() -> f64 {
    500.0
}
fn default_prepare() -> Dist {
    Dist::Constant { ms: 5.0 }
}
fn default_query_ms() -> f64 {
    1000.0
}

/// The coordinator's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// The participants' node ids (1 to 16).
    pub participants: Vec<String>,
    /// A transaction starts every this many ms (the first at `every_ms`), 1 to 3,600,000.
    #[serde(default = "default_every_ms")]
    pub every_ms: f64,
    /// Stop after this many transactions.
    #[serde(default)]
    pub max_transactions: Option<u64>,
    /// Votes missing after this long mean ABORT.
    #[serde(default = "default_vote_timeout_ms")]
    pub vote_timeout_ms: f64,
    /// Time to force the decision to the log before sending it (0 to 60,000).
    #[serde(default = "default_log_ms")]
    pub log_ms: f64,
    /// The decision is sent again to participants that have not acknowledged it, this often.
    #[serde(default = "default_resend_ms")]
    pub resend_ms: f64,
}

impl CoordinatorConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.participants.is_empty() || self.participants.len() > 16 {
            return Err((
                "participants".into(),
                "expected 1 to 16 participants".into(),
            ));
        }
        check_ms("every_ms", self.every_ms, 1.0, 3_600_000.0)?;
        if self.max_transactions.is_some_and(|m| m > 1_000_000) {
            return Err(("max_transactions".into(), "expected at most 1000000".into()));
        }
        check_ms("vote_timeout_ms", self.vote_timeout_ms, 1.0, 3_600_000.0)?;
        check_ms("log_ms", self.log_ms, 0.0, 60_000.0)?;
        check_ms("resend_ms", self.resend_ms, 1.0, 3_600_000.0)
    }
}

settings!(TpcCoordinator(CoordinatorConfig));

#[derive(Clone, Debug)]
struct Voting {
    votes: Vec<Option<bool>>,
    timer: TimerId,
}

#[derive(Clone, Debug)]
struct Decided {
    commit: bool,
    acked: Vec<bool>,
}

const TAG_NEXT: u64 = 0;
const TAG_VOTES: u64 = 1;
const TAG_LOGGED: u64 = 2;
const TAG_RESEND: u64 = 3;
/// Decisions kept in the log until acknowledged; past this many, new transactions wait.
const MAX_OPEN: usize = 10_000;

/// The coordinator node.
#[derive(Clone, Debug)]
pub struct Coordinator {
    cfg: CoordinatorConfig,
    me: NodeId,
    parts: Vec<NodeId>,
    /// Volatile: transactions collecting votes.
    voting: BTreeMap<u64, Voting>,
    /// Volatile: decisions being forced to the log, by the timer that completes the write.
    logging: BTreeMap<TimerId, (u64, bool)>,
    /// Durable: the log of decisions not yet acknowledged by every participant.
    decided: BTreeMap<u64, Decided>,
    started: u64,
    committed: u64,
    aborted: u64,
    presumed_aborts: u64,
}

impl Coordinator {
    /// A coordinator with these settings.
    pub fn new(
        cfg: CoordinatorConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let mut parts = Vec::new();
        for (i, p) in cfg.participants.iter().enumerate() {
            parts.push(resolve(&format!("participants[{i}]"), p, me, lookup)?);
        }
        Ok(Coordinator {
            cfg,
            me,
            parts,
            voting: BTreeMap::new(),
            logging: BTreeMap::new(),
            decided: BTreeMap::new(),
            started: 0,
            committed: 0,
            aborted: 0,
            presumed_aborts: 0,
        })
    }

    fn decide(&mut self, ctx: &mut Ctx<'_>, tx: u64, commit: bool) {
        if let Some(v) = self.voting.remove(&tx) {
            ctx.cancel_timer(v.timer);
        }
        ctx.state(format!(
            "{}: decided {}, forcing it to the log",
            Tx(tx),
            if commit { "COMMIT" } else { "ABORT" }
        ));
        let t = ctx.set_timer(ms_to_us(self.cfg.log_ms), TAG_LOGGED);
        self.logging.insert(t, (tx, commit));
    }

    fn send_decision(&self, ctx: &mut Ctx<'_>, tx: u64) {
        let Some(d) = self.decided.get(&tx) else {
            return;
        };
        for (i, &p) in self.parts.iter().enumerate() {
            if !d.acked[i] {
                ctx.send(
                    p,
                    Payload::Flow(FlowMsg::Decision {
                        tx,
                        commit: d.commit,
                    }),
                );
            }
        }
    }
}

impl Node for Coordinator {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::TpcCoordinator
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        ctx.set_timer(ms_to_us(self.cfg.every_ms), TAG_NEXT);
        ctx.set_timer(ms_to_us(self.cfg.resend_ms), TAG_RESEND);
        // After a restart: the logged decisions go out again.
        let txs: Vec<u64> = self.decided.keys().copied().collect();
        for tx in txs {
            ctx.state(format!("{}: re-sending the logged decision", Tx(tx)));
            self.send_decision(ctx, tx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Flow(m) = msg else { return };
        let Some(i) = self.parts.iter().position(|&p| p == from) else {
            return;
        };
        match m {
            FlowMsg::Vote { tx, yes } => {
                let Some(v) = self.voting.get_mut(&tx) else {
                    return; // late: decided already
                };
                v.votes[i] = Some(yes);
                if !yes {
                    self.decide(ctx, tx, false);
                } else if v.votes.iter().all(|v| *v == Some(true)) {
                    self.decide(ctx, tx, true);
                }
            }
            FlowMsg::DecisionAck { tx } => {
                if let Some(d) = self.decided.get_mut(&tx) {
                    d.acked[i] = true;
                    if d.acked.iter().all(|a| *a) {
                        self.decided.remove(&tx);
                    }
                }
            }
            FlowMsg::Query { tx } => {
                if let Some(d) = self.decided.get(&tx) {
                    let commit = d.commit;
                    ctx.send(from, Payload::Flow(FlowMsg::Decision { tx, commit }));
                } else if !self.voting.contains_key(&tx)
                    && !self.logging.values().any(|(t, _)| *t == tx)
                {
                    // No record: presumed abort.
                    self.presumed_aborts += 1;
                    ctx.count("presumed_aborts", 1);
                    ctx.state(format!("{}: no record of it, presumed ABORT", Tx(tx)));
                    ctx.send(from, Payload::Flow(FlowMsg::Decision { tx, commit: false }));
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, tag: u64) {
        match tag {
            TAG_NEXT => {
                if self.cfg.max_transactions.is_some_and(|m| self.started >= m) {
                    return;
                }
                ctx.set_timer(ms_to_us(self.cfg.every_ms), TAG_NEXT);
                if self.decided.len() + self.voting.len() >= MAX_OPEN {
                    return;
                }
                self.started += 1;
                let tx = owned_id(self.me, self.started);
                ctx.count("started", 1);
                let t = ctx.set_timer(ms_to_us(self.cfg.vote_timeout_ms), TAG_VOTES);
                self.voting.insert(
                    tx,
                    Voting {
                        votes: vec![None; self.parts.len()],
                        timer: t,
                    },
                );
                for &p in &self.parts {
                    ctx.send(p, Payload::Flow(FlowMsg::Prepare { tx }));
                }
            }
            TAG_VOTES => {
                let tx = self
                    .voting
                    .iter()
                    .find(|(_, v)| v.timer == timer)
                    .map(|(tx, _)| *tx);
                if let Some(tx) = tx {
                    ctx.state(format!("{}: votes missing after the timeout", Tx(tx)));
                    self.decide(ctx, tx, false);
                }
            }
            TAG_LOGGED => {
                let Some((tx, commit)) = self.logging.remove(&timer) else {
                    return;
                };
                if commit {
                    self.committed += 1;
                    ctx.count("committed", 1);
                } else {
                    self.aborted += 1;
                    ctx.count("aborted", 1);
                }
                self.decided.insert(
                    tx,
                    Decided {
                        commit,
                        acked: vec![false; self.parts.len()],
                    },
                );
                self.send_decision(ctx, tx);
            }
            _ => {
                let txs: Vec<u64> = self.decided.keys().copied().collect();
                for tx in txs {
                    self.send_decision(ctx, tx);
                }
                ctx.set_timer(ms_to_us(self.cfg.resend_ms), TAG_RESEND);
            }
        }
    }

    fn on_restart(&mut self) {
        // Votes and unwritten decisions were in memory only.
        self.voting.clear();
        self.logging.clear();
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: CoordinatorConfig = super::take(next)?;
        if cfg.participants != self.cfg.participants {
            return Err("participants cannot change during a run".into());
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        format!(
            "{} committed, {} aborted, {} voting",
            self.committed,
            self.aborted,
            self.voting.len()
        )
    }

    fn view(&self) -> crate::view::NodeView {
        use crate::view::{TxState, TxView};
        let mut transactions: Vec<TxView> = self
            .voting
            .iter()
            .map(|(&tx, v)| TxView {
                tx,
                state: TxState::Voting {
                    votes: v.votes.clone(),
                },
            })
            .chain(self.logging.values().map(|&(tx, commit)| TxView {
                tx,
                state: TxState::Logging { commit },
            }))
            .chain(self.decided.iter().map(|(&tx, d)| TxView {
                tx,
                state: TxState::Decided {
                    commit: d.commit,
                    acked: d.acked.clone(),
                },
            }))
            .collect();
        crate::order::sort_by_key(&mut transactions, |t| t.tx);
        crate::view::NodeView::TpcCoordinator(crate::view::TpcCoordinatorView {
            participants: self.parts.clone(),
            transactions,
            started: self.started,
            committed: self.committed,
            aborted: self.aborted,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("started".into(), self.started.to_string()),
            ("voting".into(), self.voting.len().to_string()),
            (
                "decisions awaiting acks".into(),
                self.decided.len().to_string(),
            ),
            ("committed".into(), self.committed.to_string()),
            ("aborted".into(), self.aborted.to_string()),
            ("presumed aborts".into(), self.presumed_aborts.to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("started", self.started as i64),
            ("committed", self.committed as i64),
            ("aborted", self.aborted as i64),
            ("presumed_aborts", self.presumed_aborts as i64),
            ("awaiting_acks", self.decided.len() as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

/// A participant's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantConfig {
    /// Probability of voting no (the work failed), 0 to 1.
    #[serde(default)]
    pub no_rate: f64,
    /// Time to prepare (do the work, force the prepare record) before voting.
    #[serde(default = "default_prepare")]
    pub prepare: Dist,
    /// An in-doubt participant asks the coordinator for the decision this often.
    #[serde(default = "default_query_ms")]
    pub query_ms: f64,
}

impl ParticipantConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        check_ratio("no_rate", self.no_rate)?;
        self.prepare.check().map_err(super::under("prepare"))?;
        check_ms("query_ms", self.query_ms, 1.0, 3_600_000.0)
    }
}

settings!(TpcParticipant(ParticipantConfig));

#[derive(Clone, Debug)]
struct Prepared {
    tx: u64,
    coordinator: NodeId,
    since_us: u64,
    blocked: bool,
}

const TAG_PREPARED: u64 = 0;
const TAG_QUERY: u64 = 1;
/// Outcomes remembered, to answer a repeated decision.
const MAX_DONE: usize = 1_000;

/// The participant node.
#[derive(Clone, Debug)]
pub struct Participant {
    cfg: ParticipantConfig,
    /// Durable: the prepared transaction holding the lock.
    prepared: Option<Prepared>,
    /// Volatile: prepares being worked on, by timer.
    preparing: BTreeMap<TimerId, (u64, NodeId)>,
    done: VecDeque<u64>,
    now_us: u64,
    held_us: u64,
    committed: u64,
    aborted: u64,
    votes_no: u64,
    lock_conflicts: u64,
    blocked_episodes: u64,
}

impl Participant {
    /// A participant with these settings.
    pub fn new(cfg: ParticipantConfig) -> Result<Self, ConfigError> {
        cfg.check()?;
        Ok(Participant {
            cfg,
            prepared: None,
            preparing: BTreeMap::new(),
            done: VecDeque::new(),
            now_us: 0,
            held_us: 0,
            committed: 0,
            aborted: 0,
            votes_no: 0,
            lock_conflicts: 0,
            blocked_episodes: 0,
        })
    }

    fn in_doubt_us(&self) -> u64 {
        self.held_us
            + self
                .prepared
                .as_ref()
                .map_or(0, |p| self.now_us.saturating_sub(p.since_us))
    }
}

impl Node for Participant {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::TpcParticipant
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.now_us = ctx.now_us();
        if self.prepared.is_some() {
            // Recovered a prepare record: still in doubt, ask at once.
            ctx.set_timer(0, TAG_QUERY);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        self.now_us = ctx.now_us();
        let Payload::Flow(m) = msg else { return };
        match m {
            FlowMsg::Prepare { tx } => {
                if self.prepared.as_ref().is_some_and(|p| p.tx == tx) {
                    ctx.send(from, Payload::Flow(FlowMsg::Vote { tx, yes: true }));
                    return;
                }
                let t = self.cfg.prepare.sample_us(ctx.rng());
                let timer = ctx.set_timer(t, TAG_PREPARED);
                self.preparing.insert(timer, (tx, from));
            }
            FlowMsg::Decision { tx, commit } => {
                if self.prepared.as_ref().is_some_and(|p| p.tx == tx) {
                    let p = self.prepared.take().expect("checked");
                    let held = self.now_us.saturating_sub(p.since_us);
                    self.held_us += held;
                    if commit {
                        self.committed += 1;
                        ctx.count("committed", 1);
                    } else {
                        self.aborted += 1;
                        ctx.count("aborted", 1);
                    }
                    ctx.state(format!(
                        "{}: {}, locks released after {} in doubt",
                        Tx(tx),
                        if commit { "COMMITTED" } else { "ABORTED" },
                        if held >= 1_000_000 {
                            format!("{:.1} s", held as f64 / 1e6)
                        } else {
                            format!("{} ms", held / 1000)
                        }
                    ));
                    ctx.gauge("blocked", 0);
                    self.done.push_back(tx);
                    if self.done.len() > MAX_DONE {
                        self.done.pop_front();
                    }
                }
                ctx.send(from, Payload::Flow(FlowMsg::DecisionAck { tx }));
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, tag: u64) {
        self.now_us = ctx.now_us();
        match tag {
            TAG_PREPARED => {
                let Some((tx, from)) = self.preparing.remove(&timer) else {
                    return;
                };
                if self.done.contains(&tx) {
                    return;
                }
                let conflict = self.prepared.is_some();
                let no =
                    conflict || (self.cfg.no_rate > 0.0 && ctx.rng().unit() < self.cfg.no_rate);
                if no {
                    // Voting no aborts at once: no lock is kept.
                    self.votes_no += 1;
                    ctx.count("votes_no", 1);
                    if conflict {
                        self.lock_conflicts += 1;
                        ctx.count("lock_conflicts", 1);
                    }
                    ctx.state(format!(
                        "{}: voted NO{}",
                        Tx(tx),
                        if conflict {
                            " (lock held by another)"
                        } else {
                            ""
                        }
                    ));
                    ctx.send(from, Payload::Flow(FlowMsg::Vote { tx, yes: false }));
                    return;
                }
                self.prepared = Some(Prepared {
                    tx,
                    coordinator: from,
                    since_us: self.now_us,
                    blocked: false,
                });
                ctx.state(format!("{}: PREPARED, locks held, in doubt", Tx(tx)));
                ctx.send(from, Payload::Flow(FlowMsg::Vote { tx, yes: true }));
                ctx.set_timer(ms_to_us(self.cfg.query_ms), TAG_QUERY);
            }
            _ => {
                let now = self.now_us;
                let Some(p) = self.prepared.as_mut() else {
                    return;
                };
                if !p.blocked {
                    p.blocked = true;
                    self.blocked_episodes += 1;
                    ctx.count("blocked_episodes", 1);
                    ctx.gauge("blocked", 1);
                    ctx.state(format!(
                        "{}: blocked, in doubt since {:.1} s: no decision yet, asking the coordinator",
                        Tx(p.tx),
                        p.since_us as f64 / 1e6
                    ));
                }
                let _ = now;
                let (tx, c) = (p.tx, p.coordinator);
                ctx.send(c, Payload::Flow(FlowMsg::Query { tx }));
                ctx.set_timer(ms_to_us(self.cfg.query_ms), TAG_QUERY);
            }
        }
    }

    fn on_restart(&mut self) {
        self.preparing.clear();
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: ParticipantConfig = super::take(next)?;
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        match &self.prepared {
            Some(p) if p.blocked => {
                format!("blocked, in doubt since {:.1} s", p.since_us as f64 / 1e6)
            }
            Some(_) => "PREPARED, locks held, in doubt".into(),
            None => format!("{} committed, {} aborted", self.committed, self.aborted),
        }
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::TpcParticipant(crate::view::TpcParticipantView {
            prepared: self.prepared.as_ref().map(|p| crate::view::InDoubtView {
                tx: p.tx,
                coordinator: p.coordinator,
                since_us: p.since_us,
                blocked: p.blocked,
            }),
            preparing: self.preparing.len(),
            committed: self.committed,
            aborted: self.aborted,
            votes_no: self.votes_no,
            held_us: self.held_us,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            (
                "lock".into(),
                match &self.prepared {
                    Some(p) => format!("held by {}", Tx(p.tx)),
                    None => "free".into(),
                },
            ),
            ("committed".into(), self.committed.to_string()),
            ("aborted".into(), self.aborted.to_string()),
            ("votes no".into(), self.votes_no.to_string()),
            ("lock conflicts".into(), self.lock_conflicts.to_string()),
            (
                "time in doubt".into(),
                format!("{:.1} s", self.in_doubt_us() as f64 / 1e6),
            ),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            (
                "blocked",
                i64::from(self.prepared.as_ref().is_some_and(|p| p.blocked)),
            ),
            ("blocked_episodes", self.blocked_episodes as i64),
            ("in_doubt_ms", (self.in_doubt_us() / 1000) as i64),
            ("committed", self.committed as i64),
            ("aborted", self.aborted as i64),
            ("votes_no", self.votes_no as i64),
            ("lock_conflicts", self.lock_conflicts as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}
