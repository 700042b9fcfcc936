//! A payment service: charges cards (the side effect, kept in a ledger) behind an idempotency
//! store with Stripe's semantics.
//!
//! Reference: Stripe's idempotent requests (see `semantics.md`):
//! - The result of the **first** request with a key is stored, success or failure (500s
//!   included), and replayed to later requests with the same key, marked as a replay. The charge
//!   happens at most once.
//! - The same key with other parameters is an `idempotency_error` (status 400 here) and charges
//!   nothing.
//! - The same key while the first request is still executing gets **409**, and nothing is stored
//!   for it; a retry after the first completes gets the stored result.
//! - A request that fails validation before execution (an amount of zero or over the limit,
//!   status 400) stores nothing: a corrected retry with the same key executes.
//! - Keys are kept for `retention_ms` (24 h by default); after that a reused key is a new request.
//!
//! Without a key every request executes, so a retried checkout can charge twice: the ledger then
//! holds two charges for one logical request. The service counts that as a duplicate charge and
//! records it in the trace; it recognises "the same logical request" by the request's trace id,
//! which only the checker reads: the service's own logic never uses it.
//!
//! Assumptions where the reference is silent: a failed execution (status 500, with probability
//! `error_rate`) charges nothing; execution takes a time drawn from `latency`, with no limit on
//! concurrent executions; a crash loses the store and the executions in progress but not the
//! ledger (charges are durable at the card network).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{ConfigError, check_ratio};
use crate::dist::{Dist, ms_to_us};
use crate::idhash::IdMap;
use crate::msg::{Op, Payload, Request, Response};
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};
use crate::view::{KeyHit, KeyRow, MAX_KEY_ROWS};

fn default_latency() -> Dist {
    Dist::LogNormal {
        median_ms: 80.0,
        sigma: 0.4,
    }
}
fn default_retention_ms() -> f64 {
    24.0 * 3_600_000.0
}
fn default_max_amount() -> u64 {
    1_000_000
}

/// The payment service's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentConfig {
    /// Time to execute a charge.
    #[serde(default = "default_latency")]
    pub latency: Dist,
    /// Probability that an execution fails with 500 (and charges nothing).
    #[serde(default)]
    pub error_rate: f64,
    /// How long a key's result is kept.
    #[serde(default = "default_retention_ms")]
    pub retention_ms: f64,
    /// The largest valid amount, in cents; larger ones fail validation.
    #[serde(default = "default_max_amount")]
    pub max_amount_cents: u64,
}

impl PaymentConfig {
    fn check(&self) -> Result<(), ConfigError> {
        self.latency.check().map_err(super::under("latency"))?;
        check_ratio("error_rate", self.error_rate)?;
        super::check_ms(
            "retention_ms",
            self.retention_ms,
            0.0,
            30.0 * 24.0 * 3_600_000.0,
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Stored {
    /// The first request is executing.
    Running,
    /// Its result.
    Done { status: u16 },
}

#[derive(Clone, Debug)]
struct Entry {
    amount_cents: u64,
    stored_at_us: u64,
    state: Stored,
    /// The latest repeat that hit this key, for the picture only: nothing here reads it.
    last_hit: Option<(KeyHit, u64)>,
}

#[derive(Clone, Debug)]
struct Execution {
    from: NodeId,
    req: Request,
    amount_cents: u64,
    started_us: u64,
}

/// The payment service node.
#[derive(Clone, Debug)]
pub struct Payment {
    cfg: PaymentConfig,
    store: IdMap<u64, Entry>,
    running: IdMap<TimerId, Execution>,
    /// Charges made, per logical request (trace id): the ledger, durable.
    ledger: BTreeMap<u64, u32>,
    charges: u64,
    duplicate_charges: u64,
    replays: u64,
    conflicts: u64,
    rejected: u64,
    idempotency_errors: u64,
}

impl Payment {
    /// A payment service with these settings.
    pub fn new(cfg: PaymentConfig) -> Result<Self, ConfigError> {
        cfg.check()?;
        Ok(Payment {
            cfg,
            store: IdMap::default(),
            running: IdMap::default(),
            ledger: BTreeMap::new(),
            charges: 0,
            duplicate_charges: 0,
            replays: 0,
            conflicts: 0,
            rejected: 0,
            idempotency_errors: 0,
        })
    }

    fn answer(ctx: &mut Ctx<'_>, to: NodeId, req: &Request, status: u16, replayed: bool) {
        let r = Response {
            trace_id: req.trace_id,
            req_id: req.req_id,
            status,
            no_retry: false,
            replayed,
        };
        ctx.send(to, Payload::Response(r));
    }
}

impl Node for Payment {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Payment
    }

    fn on_start(&mut self, _ctx: &mut Ctx<'_>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Request(req) = msg else { return };
        let amount_cents = match req.op {
            Op::Charge { amount_cents } => amount_cents,
            Op::Call => 0,
        };
        // Validation comes before anything is stored.
        if amount_cents == 0 || amount_cents > self.cfg.max_amount_cents {
            self.rejected += 1;
            ctx.count("invalid", 1);
            Self::answer(ctx, from, &req, 400, false);
            return;
        }
        let now = ctx.now_us();
        if let Some(key) = req.idempotency_key {
            let retention = ms_to_us(self.cfg.retention_ms);
            if self
                .store
                .get(&key)
                .is_some_and(|e| now.saturating_sub(e.stored_at_us) > retention)
            {
                self.store.remove(&key); // pruned: the key starts a new request
            }
            if let Some(e) = self.store.get_mut(&key) {
                if e.amount_cents != amount_cents {
                    e.last_hit = Some((KeyHit::Mismatch, now));
                    self.idempotency_errors += 1;
                    ctx.count("idempotency_errors", 1);
                    Self::answer(ctx, from, &req, 400, false);
                    return;
                }
                match e.state {
                    Stored::Running => {
                        e.last_hit = Some((KeyHit::Conflict, now));
                        self.conflicts += 1;
                        ctx.count("conflicts", 1);
                        Self::answer(ctx, from, &req, 409, false);
                    }
                    Stored::Done { status } => {
                        e.last_hit = Some((KeyHit::Replayed, now));
                        self.replays += 1;
                        ctx.count("replays", 1);
                        Self::answer(ctx, from, &req, status, true);
                    }
                }
                return;
            }
            self.store.insert(
                key,
                Entry {
                    amount_cents,
                    stored_at_us: now,
                    state: Stored::Running,
                    last_hit: None,
                },
            );
        }
        let t = self.cfg.latency.sample_us(ctx.rng());
        let timer = ctx.set_timer(t, 0);
        self.running.insert(
            timer,
            Execution {
                from,
                req,
                amount_cents,
                started_us: now,
            },
        );
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, _tag: u64) {
        let Some(x) = self.running.remove(&timer) else {
            return;
        };
        let failed = self.cfg.error_rate > 0.0 && ctx.rng().unit() < self.cfg.error_rate;
        let status = if failed { 500 } else { 200 };
        if !failed {
            self.charges += 1;
            ctx.count("charges", 1);
            let n = self.ledger.entry(x.req.trace_id).or_default();
            *n += 1;
            if *n > 1 {
                self.duplicate_charges += 1;
                ctx.count("duplicate_charges", 1);
                ctx.metric_event(
                    format!(
                        "duplicate charge of {} cents for request t{}",
                        x.amount_cents, x.req.trace_id
                    ),
                    i64::from(*n),
                );
            }
        }
        if let Some(key) = x.req.idempotency_key
            && let Some(e) = self.store.get_mut(&key)
        {
            e.state = Stored::Done { status };
        }
        ctx.record_request(!failed, ctx.now_us().saturating_sub(x.started_us));
        Self::answer(ctx, x.from, &x.req, status, false);
    }

    fn on_restart(&mut self) {
        self.store.clear();
        self.running.clear();
    }

    fn set_param(&mut self, param: &str, value: &serde_json::Value) -> Result<String, String> {
        let (cfg, v) = super::set_param(&self.cfg, param, value, PaymentConfig::check)?;
        self.cfg = cfg;
        Ok(v)
    }

    fn status(&self) -> String {
        if self.duplicate_charges > 0 {
            format!(
                "{} charges, {} duplicate",
                self.charges, self.duplicate_charges
            )
        } else {
            format!("{} charges", self.charges)
        }
    }

    fn view(&self) -> crate::view::NodeView {
        // The most recently touched rows, newest first: one pass keeping a few, since the store
        // holds a whole retention period's keys and the page asks for a view every frame.
        let newest_first = |r: &KeyRow| (std::cmp::Reverse(r.touched_us()), r.key);
        let mut keys: Vec<KeyRow> = Vec::with_capacity(MAX_KEY_ROWS + 1);
        for (&key, e) in self.store.iter() {
            let row = KeyRow {
                key,
                state: match e.state {
                    Stored::Running => crate::view::KeyState::Running,
                    Stored::Done { status } => crate::view::KeyState::Done { status },
                },
                amount_cents: e.amount_cents,
                stored_at_us: e.stored_at_us,
                last_hit: e.last_hit,
            };
            if keys.len() == MAX_KEY_ROWS
                && keys
                    .last()
                    .is_some_and(|l| newest_first(l) <= newest_first(&row))
            {
                continue;
            }
            let at = keys.partition_point(|k| newest_first(k) <= newest_first(&row));
            keys.insert(at, row);
            keys.truncate(MAX_KEY_ROWS);
        }
        crate::view::NodeView::Payment(crate::view::PaymentView {
            keys,
            keys_stored: self.store.len(),
            executing: self.running.len(),
            charges: self.charges,
            duplicate_charges: self.duplicate_charges,
            replays: self.replays,
            conflicts: self.conflicts,
            rejected: self.rejected,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            ("charges".into(), self.charges.to_string()),
            (
                "duplicate charges".into(),
                self.duplicate_charges.to_string(),
            ),
            ("keys stored".into(), self.store.len().to_string()),
            ("replayed results".into(), self.replays.to_string()),
            ("409 conflicts".into(), self.conflicts.to_string()),
            ("executing".into(), self.running.len().to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("charges", self.charges as i64),
            ("duplicate_charges", self.duplicate_charges as i64),
            ("replays", self.replays as i64),
            ("conflicts", self.conflicts as i64),
            ("invalid", self.rejected as i64),
            ("idempotency_errors", self.idempotency_errors as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}
