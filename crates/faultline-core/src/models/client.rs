//! A client: users sending requests to one target, with a timeout per attempt and retries with
//! backoff.
//!
//! References (listed in `docs/models/README.md`): backoff follows the AWS Architecture Blog's "Exponential
//! Backoff And Jitter" (2015), `attempt` counting retries from 1:
//! exponential `min(cap, base * 2^attempt)`; full jitter `uniform(0, that)`; equal jitter
//! `t/2 + uniform(0, t/2)`; decorrelated `min(cap, uniform(base, previous * 3))`.
//! Workloads: open loop (Poisson arrivals at `rate_per_s`, which keep coming whatever happens to
//! earlier requests: how real users behave) or closed loop (`users` that each wait for their
//! answer, then think for `think_ms`: how benchmarks behave).
//! Hedged requests follow Dean and Barroso, "The Tail at Scale" (2013): with `hedge_after_ms`,
//! an attempt without an answer after that long gets one copy, and the first answer wins.
//! The backoff, "do not retry" and retry-policy code is shared with a service's downstream
//! calls ([`super::downstream`]).
//!
//! Optimistic concurrency (`compare_and_set`) follows the experiment of the AWS post: each
//! logical request reads the target's row (getting its version), then writes it with a
//! compare-and-set on that version; a write that lost the race gets 409 Conflict and the whole
//! read-then-write is retried under `retry` (any backoff strategy). One read-then-write is one
//! attempt, the post's "call". Scheduled requests (`workload: at`) and named idempotency keys
//! (`idempotency_key`) let a scenario send the same key at chosen moments, hours apart (Stripe
//! keeps keys at least 24 hours).
//!
//! Assumptions where the references are silent: what is retried is a timeout or a 5xx/429
//! answer without "do not retry"; a response to an attempt that already timed out is counted
//! (`late_responses`) and ignored; latency is measured from the logical request's first attempt
//! to its final answer; a crash loses the requests in progress. A hedged copy is sent once per
//! attempt, shares the attempt's timeout and breaker permit, is counted in `hedges` (not in
//! `attempts`), and the answer that loses the race is counted as late.

use serde::{Deserialize, Serialize};

use super::breaker::{Breaker, BreakerConfig, State as BreakerState};
use super::retry::{Admit, Attempts, ClientTimer, Next};
use super::{ConfigError, check_ms, resolve};
use crate::dist::ms_to_us;
use crate::idhash::IdMap;
use crate::msg::{Op, Payload, Request, Response};
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};
use crate::rng::SimRng;

/// How requests are generated. Read by hand, as every tagged enum of a scenario (see
/// `tagged`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Workload {
    /// Poisson arrivals.
    Open {
        /// Mean arrivals per second.
        rate_per_s: f64,
    },
    /// A fixed number of users, each with one request at a time.
    Closed {
        /// How many users.
        users: u32,
        /// Mean think time between an answer and the next request (exponential).
        think_ms: f64,
    },
    /// One request at each of these moments of the run (a user acting at known times: a
    /// checkout, then a retry by hand 23 hours later).
    At {
        /// The moments, in milliseconds from the start (any order; 1 to 10,000 of them).
        times_ms: Vec<f64>,
    },
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(d, |v| {
            static SHAPE: crate::tagged::Shape<3> = crate::tagged::Shape::new(
                "type",
                "a workload",
                [
                    ("open", &["rate_per_s"]),
                    ("closed", &["users", "think_ms"]),
                    ("at", &["times_ms"]),
                ],
            );
            let (name, mut f) = SHAPE.open(v)?;
            Ok(match name {
                "open" => Workload::Open {
                    rate_per_s: f.req("rate_per_s")?,
                },
                "closed" => Workload::Closed {
                    users: f.req("users")?,
                    think_ms: f.req("think_ms")?,
                },
                "at" => Workload::At {
                    times_ms: f.req("times_ms")?,
                },
                other => return Err(SHAPE.unknown(other)),
            })
        })
    }
}

/// The most moments an `at` workload may list.
pub const MAX_AT_TIMES: usize = 10_000;

impl Default for Workload {
    fn default() -> Self {
        Workload::Open { rate_per_s: 10.0 }
    }
}

/// The pause before a retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    /// Retry at once.
    None,
    /// Always `base_ms` (`cap_ms` does not apply).
    Constant,
    /// `min(cap, base * 2^attempt)`.
    Exponential,
    /// `uniform(0, min(cap, base * 2^attempt))`.
    FullJitter,
    /// `t/2 + uniform(0, t/2)` with `t = min(cap, base * 2^attempt)`.
    EqualJitter,
    /// `min(cap, uniform(base, previous * 3))`, starting at `base`.
    DecorrelatedJitter,
    /// gRPC (proposal A6): retry `n` waits `min(base * multiplier^(n-1), cap) * uniform(0.8, 1.2)`,
    /// and attempts are capped at 5, the first included.
    Grpc,
}

/// gRPC caps attempts at 5, the first included (proposal A6).
pub const GRPC_MAX_ATTEMPTS: u32 = 5;

/// A backoff policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// The strategy.
    #[serde(rename = "type")]
    pub kind: BackoffKind,
    /// The base delay.
    #[serde(default = "default_base_ms")]
    pub base_ms: f64,
    /// The largest delay.
    #[serde(default = "default_cap_ms")]
    pub cap_ms: f64,
    /// The growth factor of `grpc` backoff (gRPC's service config requires one; 1.6 is the
    /// factor gRPC uses for connection backoff).
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
}

fn default_multiplier() -> f64 {
    1.6
}

fn default_base_ms() -> f64 {
    100.0
}
fn default_cap_ms() -> f64 {
    10_000.0
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            kind: BackoffKind::None,
            base_ms: default_base_ms(),
            cap_ms: default_cap_ms(),
            multiplier: default_multiplier(),
        }
    }
}

/// A retry policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retries).
    #[serde(default = "one")]
    pub max_attempts: u32,
    /// The pause before each retry.
    #[serde(default)]
    pub backoff: Backoff,
    /// A limit on retries across all requests; `null` for none (only `max_attempts` limits).
    #[serde(default)]
    pub budget: Option<RetryBudget>,
    /// Which failed outcomes are retried (all of them by default).
    #[serde(default = "RetryOn::all")]
    pub retry_on: Vec<RetryOn>,
}

/// An outcome of an attempt that a retry policy may retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetryOn {
    /// No answer within the timeout. This is also how a lost connection shows here: the
    /// simulated network drops messages silently, as a broken connection would.
    #[serde(rename = "timeout")]
    Timeout,
    /// A 5xx answer without "do not retry".
    #[serde(rename = "5xx")]
    ServerError,
    /// 429 Too Many Requests.
    #[serde(rename = "429")]
    TooManyRequests,
    /// 409 Conflict (a request with the same idempotency key is still running).
    #[serde(rename = "409")]
    Conflict,
    /// The client's own circuit breaker rejected the call.
    #[serde(rename = "breaker_open")]
    BreakerOpen,
}

impl RetryOn {
    /// Every outcome: the default.
    pub fn all() -> Vec<RetryOn> {
        vec![
            RetryOn::Timeout,
            RetryOn::ServerError,
            RetryOn::TooManyRequests,
            RetryOn::Conflict,
            RetryOn::BreakerOpen,
        ]
    }

    /// The outcomes picked by the bits of `mask`, in the order of [`RetryOn::all`].
    pub fn subset(mask: u64) -> Vec<RetryOn> {
        Self::all()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, o)| o)
            .collect()
    }
}

/// A retry budget: a limit on retries across all of a client's requests. Read by hand, as
/// every tagged enum of a scenario (see `tagged`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RetryBudget {
    /// The Google SRE book's per-client budget: retries may be at most `ratio` of the requests
    /// made in the last `window_ms` (10 % over a minute by default).
    Ratio {
        /// Retries per request allowed, 0 to 1 (default 0.1).
        ratio: f64,
        /// The window the ratio is measured over (default a minute).
        window_ms: f64,
    },
    /// gRPC's retry throttling: a bucket starting at `max_tokens`, -1 per failed attempt,
    /// +`token_ratio` per success, no retries while tokens <= `max_tokens` / 2.
    TokenBucket {
        /// The bucket's size.
        max_tokens: f64,
        /// Tokens a success adds.
        token_ratio: f64,
    },
}

impl<'de> Deserialize<'de> for RetryBudget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(d, |v| {
            static SHAPE: crate::tagged::Shape<2> = crate::tagged::Shape::new(
                "type",
                "a retry budget",
                [
                    ("ratio", &["ratio", "window_ms"]),
                    ("token_bucket", &["max_tokens", "token_ratio"]),
                ],
            );
            let (name, mut f) = SHAPE.open(v)?;
            Ok(match name {
                "ratio" => RetryBudget::Ratio {
                    ratio: f.or("ratio", 0.1)?,
                    window_ms: f.or("window_ms", 60_000.0)?,
                },
                "token_bucket" => RetryBudget::TokenBucket {
                    max_tokens: f.req("max_tokens")?,
                    token_ratio: f.req("token_ratio")?,
                },
                other => return Err(SHAPE.unknown(other)),
            })
        })
    }
}

/// A retry budget's running state.
#[derive(Clone, Debug, Default)]
pub(crate) struct BudgetState {
    // Ratio: (second, requests, retries) for the recent seconds.
    seconds: std::collections::VecDeque<(u64, u32, u32)>,
    // Token bucket: the tokens, starting full.
    tokens: Option<f64>,
}

impl BudgetState {
    fn second(&mut self, now_us: u64, window_us: u64) -> &mut (u64, u32, u32) {
        let s = now_us / 1_000_000;
        let keep = window_us.div_ceil(1_000_000).max(1);
        while self.seconds.front().is_some_and(|(t, _, _)| t + keep <= s) {
            self.seconds.pop_front();
        }
        if self.seconds.back().is_none_or(|(t, _, _)| *t != s) {
            self.seconds.push_back((s, 0, 0));
        }
        self.seconds.back_mut().expect("just pushed")
    }

    pub(crate) fn on_request(&mut self, b: &RetryBudget, now_us: u64) {
        if let RetryBudget::Ratio { window_ms, .. } = b {
            self.second(now_us, ms_to_us(*window_ms)).1 += 1;
        }
    }

    pub(crate) fn on_outcome(&mut self, b: &RetryBudget, ok: bool) {
        if let RetryBudget::TokenBucket {
            max_tokens,
            token_ratio,
        } = b
        {
            let t = self.tokens.get_or_insert(*max_tokens);
            *t = if ok {
                (*t + token_ratio).min(*max_tokens)
            } else {
                (*t - 1.0).max(0.0)
            };
        }
    }

    /// The budget's level for drawing.
    pub(crate) fn view(&self, b: &RetryBudget) -> crate::view::BudgetView {
        match b {
            RetryBudget::Ratio { ratio, window_ms } => {
                let (requests, retries) =
                    self.seconds.iter().fold((0u64, 0u64), |(q, r), (_, a, b)| {
                        (q + u64::from(*a), r + u64::from(*b))
                    });
                crate::view::BudgetView::Ratio {
                    ratio: *ratio,
                    window_ms: *window_ms,
                    requests,
                    retries,
                }
            }
            RetryBudget::TokenBucket { max_tokens, .. } => crate::view::BudgetView::TokenBucket {
                tokens: self.tokens.unwrap_or(*max_tokens),
                max_tokens: *max_tokens,
            },
        }
    }

    /// Whether a retry may go now; if so it is counted.
    pub(crate) fn allow_retry(&mut self, b: &RetryBudget, now_us: u64) -> bool {
        match b {
            RetryBudget::Ratio { ratio, window_ms } => {
                self.second(now_us, ms_to_us(*window_ms));
                let (requests, retries) =
                    self.seconds.iter().fold((0u64, 0u64), |(q, r), (_, a, b)| {
                        (q + u64::from(*a), r + u64::from(*b))
                    });
                let ok = (retries + 1) as f64 <= ratio * requests as f64;
                if ok {
                    self.seconds.back_mut().expect("this second").2 += 1;
                }
                ok
            }
            RetryBudget::TokenBucket { max_tokens, .. } => {
                self.tokens.unwrap_or(*max_tokens) > max_tokens / 2.0
            }
        }
    }
}

fn one() -> u32 {
    1
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 1,
            backoff: Backoff::default(),
            budget: None,
            retry_on: RetryOn::all(),
        }
    }
}

/// A client's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The node requests go to.
    pub target: String,
    /// How requests are generated.
    #[serde(default)]
    pub workload: Workload,
    /// The timeout of each attempt; `null` waits forever.
    #[serde(default)]
    pub timeout_ms: Option<f64>,
    /// Retries.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Send an idempotency key, generated once per logical request and reused by its retries.
    #[serde(default)]
    pub idempotency_keys: bool,
    /// Stop after this many logical requests; `null` never stops.
    #[serde(default)]
    pub max_requests: Option<u64>,
    /// A circuit breaker in front of the target; `null` for none.
    #[serde(default)]
    pub breaker: Option<BreakerConfig>,
    /// Ask the target to charge this many cents (a checkout); `null` sends plain calls.
    #[serde(default)]
    pub charge_cents: Option<u64>,
    /// A deadline for each logical request, across all its attempts and backoffs; `null` for none.
    #[serde(default)]
    pub deadline_ms: Option<f64>,
    /// Hedged requests (Dean and Barroso, "The Tail at Scale"): when an attempt has no answer
    /// after this long, send one more copy of it and take whichever answer comes first; `null`
    /// (the default) never hedges. About the service's p95 costs about 5 % extra load.
    #[serde(default)]
    pub hedge_after_ms: Option<f64>,
    /// An idempotency key named by the scenario, sent with every request of this client (a
    /// string, as Stripe's `Idempotency-Key` header); `null` (the default) sends generated keys
    /// when `idempotency_keys` is on, else none. The server refuses keys over 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Optimistic concurrency: each attempt reads the target's row, then writes it with a
    /// compare-and-set on the version read; a conflict (409) is retried under `retry`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compare_and_set: bool,
    /// Each logical request writes the target's row with this client's next edit number (1, 2,
    /// 3, ...), without waiting for the earlier writes: `plain`, or `versioned` (the number is
    /// the write's version, and the row refuses a write not newer than the one it holds).
    #[serde(default, skip_serializing_if = "Writes::is_off")]
    pub writes: Writes,
}

/// Whether a client's requests write the target's row, and how (`docs/models/ordering.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Writes {
    /// Plain calls (or charges, or compare-and-sets): the row is not written.
    #[default]
    Off,
    /// Each request sets the row to its edit number; the row applies writes as they arrive.
    Plain,
    /// Each write carries its edit number as its version, and the row refuses (409) one whose
    /// version is not newer than the version it holds: a write overtaken on the way is dropped.
    Versioned,
}

impl Writes {
    fn is_off(&self) -> bool {
        *self == Writes::Off
    }
}

impl ClientConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        match &self.workload {
            Workload::Open { rate_per_s } => {
                if !(rate_per_s.is_finite() && *rate_per_s > 0.0 && *rate_per_s <= 100_000.0) {
                    return Err((
                        "workload.rate_per_s".into(),
                        format!("expected more than 0 and at most 100000, got {rate_per_s}"),
                    ));
                }
            }
            Workload::Closed { users, think_ms } => {
                if !(1..=10_000).contains(users) {
                    return Err((
                        "workload.users".into(),
                        format!("expected 1 to 10000, got {users}"),
                    ));
                }
                check_ms("workload.think_ms", *think_ms, 0.0, 3_600_000.0)?;
            }
            Workload::At { times_ms } => {
                if !(1..=MAX_AT_TIMES).contains(&times_ms.len()) {
                    return Err((
                        "workload.times_ms".into(),
                        format!(
                            "expected 1 to {MAX_AT_TIMES} moments, got {}",
                            times_ms.len()
                        ),
                    ));
                }
                let most = crate::limits::MAX_DURATION_US as f64 / 1000.0;
                for (i, t) in times_ms.iter().enumerate() {
                    check_ms(&format!("workload.times_ms[{i}]"), *t, 0.0, most)?;
                }
            }
        }
        if let Some(k) = &self.idempotency_key {
            let n = k.chars().count();
            if n == 0 || n > crate::limits::MAX_TEXT_CHARS {
                return Err((
                    "idempotency_key".into(),
                    format!(
                        "expected 1 to {} characters, got {n} (the server itself refuses more than 255)",
                        crate::limits::MAX_TEXT_CHARS
                    ),
                ));
            }
        }
        if self.writes != Writes::Off {
            if self.compare_and_set {
                return Err((
                    "writes".into(),
                    "a client either writes its edits or does compare-and-sets, not both".into(),
                ));
            }
            if self.charge_cents.is_some() {
                return Err((
                    "charge_cents".into(),
                    "a write sets a row, it does not charge: remove one of them".into(),
                ));
            }
        }
        if self.compare_and_set {
            if self.hedge_after_ms.is_some() {
                return Err((
                    "hedge_after_ms".into(),
                    "a compare-and-set is not hedged: a copy would race its own write".into(),
                ));
            }
            if self.charge_cents.is_some() {
                return Err((
                    "charge_cents".into(),
                    "a compare-and-set writes a row, it does not charge: remove one of them".into(),
                ));
            }
        }
        if let Some(t) = self.timeout_ms {
            check_ms("timeout_ms", t, 0.001, 3_600_000.0)?;
        }
        self.retry.check("retry.")?;
        if let Some(d) = self.deadline_ms {
            check_ms("deadline_ms", d, 0.001, 3_600_000.0)?;
        }
        if let Some(h) = self.hedge_after_ms {
            check_ms("hedge_after_ms", h, 0.001, 3_600_000.0)?;
        }
        if let Some(b) = &self.breaker {
            b.check().map_err(|(f, m)| (format!("breaker.{f}"), m))?;
        }
        Ok(())
    }
}

settings!(Client(ClientConfig));

impl From<Box<ClientConfig>> for ClientConfig {
    fn from(c: Box<ClientConfig>) -> Self {
        *c
    }
}

impl ClientConfig {
    /// What an attempt's (first) request of edit number `edit` asks for.
    fn op(&self, edit: u64) -> Op {
        match (self.writes, self.charge_cents) {
            (Writes::Plain, _) => Op::Write {
                value: edit,
                version: None,
            },
            (Writes::Versioned, _) => Op::Write {
                value: edit,
                version: Some(edit),
            },
            _ if self.compare_and_set => Op::Read,
            (Writes::Off, Some(amount_cents)) => Op::Charge { amount_cents },
            (Writes::Off, None) => Op::Call,
        }
    }
}

impl RetryPolicy {
    /// Attempts allowed per request: `max_attempts`, capped at 5 under gRPC's rules.
    pub fn effective_max_attempts(&self) -> u32 {
        match self.backoff.kind {
            BackoffKind::Grpc => self.max_attempts.min(GRPC_MAX_ATTEMPTS),
            _ => self.max_attempts,
        }
    }

    /// Checks ranges; `prefix` names where the policy sits (`retry.`, `downstream.calls[0].retry.`).
    pub(crate) fn check(&self, prefix: &str) -> Result<(), ConfigError> {
        if !(1..=100).contains(&self.max_attempts) {
            return Err((
                format!("{prefix}max_attempts"),
                format!("expected 1 to 100, got {}", self.max_attempts),
            ));
        }
        check_ms(
            &format!("{prefix}backoff.base_ms"),
            self.backoff.base_ms,
            0.0,
            3_600_000.0,
        )?;
        check_ms(
            &format!("{prefix}backoff.cap_ms"),
            self.backoff.cap_ms,
            0.0,
            3_600_000.0,
        )?;
        let m = self.backoff.multiplier;
        if !(m.is_finite() && (1.0..=10.0).contains(&m)) {
            return Err((
                format!("{prefix}backoff.multiplier"),
                format!("expected 1 to 10, got {m}"),
            ));
        }
        match &self.budget {
            Some(RetryBudget::Ratio { ratio, window_ms }) => {
                if !(ratio.is_finite() && (0.0..=1.0).contains(ratio)) {
                    return Err((
                        format!("{prefix}budget.ratio"),
                        format!("expected 0 to 1, got {ratio}"),
                    ));
                }
                check_ms(
                    &format!("{prefix}budget.window_ms"),
                    *window_ms,
                    1_000.0,
                    3_600_000.0,
                )?;
            }
            Some(RetryBudget::TokenBucket {
                max_tokens,
                token_ratio,
            }) => {
                if !(max_tokens.is_finite() && *max_tokens > 0.0 && *max_tokens <= 1_000.0) {
                    return Err((
                        format!("{prefix}budget.max_tokens"),
                        format!(
                            "expected more than 0 and at most 1000 (gRPC's limits), got {max_tokens}"
                        ),
                    ));
                }
                if !(token_ratio.is_finite() && *token_ratio > 0.0 && *token_ratio <= 1.0) {
                    return Err((
                        format!("{prefix}budget.token_ratio"),
                        format!("expected more than 0 and at most 1, got {token_ratio}"),
                    ));
                }
            }
            None => {}
        }
        Ok(())
    }
}

/// The pause before retry number `retry` (counting from 1), under the AWS formulas (or gRPC's);
/// `prev_us` is the previous pause (decorrelated jitter). Shared by the client and a service's
/// downstream calls, so both draw the same numbers for the same policy.
pub(crate) fn backoff_us(b: &Backoff, rng: &mut SimRng, retry: u32, prev_us: u64) -> u64 {
    let base = ms_to_us(b.base_ms);
    let cap = ms_to_us(b.cap_ms);
    let expo = base.saturating_mul(1u64 << retry.min(40)).min(cap);
    match b.kind {
        BackoffKind::None => 0,
        BackoffKind::Constant => base,
        BackoffKind::Exponential => expo,
        BackoffKind::FullJitter => rng.range_inclusive(0, expo),
        BackoffKind::EqualJitter => expo / 2 + rng.range_inclusive(0, expo / 2),
        BackoffKind::DecorrelatedJitter => {
            let prev = if prev_us == 0 { base } else { prev_us };
            rng.range_inclusive(base, prev.saturating_mul(3).max(base))
                .min(cap)
        }
        BackoffKind::Grpc => {
            let n = f64::from(retry.max(1) - 1);
            let t = (b.base_ms * libm::pow(b.multiplier, n)).min(b.cap_ms);
            ms_to_us(t * (0.8 + 0.4 * rng.unit()))
        }
    }
}

/// How a failed answer may be retried. As stripe-node does: server errors, throttling and 409
/// conflicts (the first request with this idempotency key is still running), unless the server
/// said "do not retry"; `None` is never retried.
pub(crate) fn outcome_of(r: &Response) -> Option<RetryOn> {
    match r.status {
        _ if r.no_retry => None,
        500.. => Some(RetryOn::ServerError),
        429 => Some(RetryOn::TooManyRequests),
        409 => Some(RetryOn::Conflict),
        _ => None,
    }
}

#[derive(Clone, Debug)]
struct Logical {
    start_us: u64,
    key: Option<u64>,
    current_req: u64,
    timeout: Option<TimerId>,
    user: Option<u32>,
    // The attempts so far, the breaker's permit for the one in flight, when it started.
    tries: Attempts,
    deadline: Option<TimerId>,
    // The hedged copy of the attempt in flight, and the timer that will send it.
    hedge_req: Option<u64>,
    hedge_timer: Option<TimerId>,
    // For the view: when the attempt's timeout fires, when a backoff ends, when the deadline
    // passes (each meaningful while its timer is pending).
    timeout_at_us: u64,
    retry_at_us: Option<u64>,
    deadline_at_us: u64,
    // Optimistic concurrency: the attempt in flight has read the row and sent its
    // compare-and-set.
    cas_sent: bool,
    // Ordered writes: this request's edit number (its order among the client's requests,
    // from 1), the same on every retry.
    edit: u64,
}

/// The client node.
#[derive(Clone, Debug)]
pub struct Client {
    cfg: ClientConfig,
    target: NodeId,
    me: NodeId,
    // Looked up by id, never iterated: order cannot leak into the trace.
    logical: IdMap<u64, Logical>,
    req_to_trace: IdMap<u64, u64>,
    next_trace: u64,
    next_req: u64,
    requests: u64,
    successes: u64,
    failures: u64,
    timeouts: u64,
    attempts: u64,
    retries: u64,
    late_responses: u64,
    hedges: u64,
    // Calls the breaker rejected: kept here, as a breaker restarts from zero after a crash.
    rejected: u64,
    budget_exhausted: u64,
    deadline_exceeded: u64,
    // Compare-and-sets refused with 409 (optimistic concurrency).
    conflicts: u64,
    // Writes refused as older than the row (`writes: versioned`).
    writes_refused: u64,
    // An `at` workload: its moments in order, and the next one to come.
    at_us: Vec<u64>,
    next_at: usize,
    breaker: Option<Breaker>,
    budget: BudgetState,
}

impl Client {
    /// A client with these settings.
    pub fn new(
        cfg: ClientConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let target = resolve("target", &cfg.target, me, lookup)?;
        let breaker = cfg.breaker.as_ref().map(|b| Breaker::new(b.rules()));
        let mut at_us: Vec<u64> = match &cfg.workload {
            Workload::At { times_ms } => times_ms
                .iter()
                .map(|&t| crate::dist::long_ms_to_us(t))
                .collect(),
            _ => Vec::new(),
        };
        crate::order::sort(&mut at_us);
        Ok(Client {
            conflicts: 0,
            writes_refused: 0,
            at_us,
            next_at: 0,
            breaker,
            budget: BudgetState::default(),
            cfg,
            target,
            me,
            logical: IdMap::default(),
            req_to_trace: IdMap::default(),
            next_trace: 0,
            next_req: 0,
            requests: 0,
            successes: 0,
            failures: 0,
            timeouts: 0,
            attempts: 0,
            retries: 0,
            late_responses: 0,
            hedges: 0,
            rejected: 0,
            budget_exhausted: 0,
            deadline_exceeded: 0,
        })
    }

    fn may_start(&self) -> bool {
        self.cfg.max_requests.is_none_or(|m| self.requests < m)
    }

    fn schedule_arrival(&mut self, ctx: &mut Ctx<'_>) {
        if !self.may_start() {
            return;
        }
        match self.cfg.workload {
            Workload::Open { rate_per_s } => {
                let gap_us = ms_to_us(ctx.rng().exponential(1000.0 / rate_per_s));
                ctx.set_timer(gap_us, ClientTimer::Arrival.tag());
            }
            Workload::At { .. } => {
                // Moments that passed while the client was down are skipped: nobody sent them.
                let now = ctx.now_us();
                while self.at_us.get(self.next_at).is_some_and(|&t| t < now) {
                    self.next_at += 1;
                }
                if let Some(&t) = self.at_us.get(self.next_at) {
                    self.next_at += 1;
                    ctx.set_timer(t - now, ClientTimer::Arrival.tag());
                }
            }
            Workload::Closed { .. } => {}
        }
    }

    fn begin(&mut self, ctx: &mut Ctx<'_>, user: Option<u32>) {
        if !self.may_start() {
            return;
        }
        // Trace ids carry the node so spans from different clients never collide.
        let trace_id = (u64::from(self.me.0) << 48) | self.next_trace;
        self.next_trace += 1;
        self.requests += 1;
        if let Some(b) = &self.cfg.retry.budget {
            self.budget.on_request(b, ctx.now_us());
        }
        let key = self.cfg.idempotency_keys.then(|| ctx.rng().next_u64());
        let l = Logical {
            start_us: ctx.now_us(),
            key,
            current_req: 0,
            timeout: None,
            user,
            tries: Attempts::default(),
            deadline: None,
            hedge_req: None,
            hedge_timer: None,
            timeout_at_us: 0,
            retry_at_us: None,
            deadline_at_us: 0,
            cas_sent: false,
            edit: self.requests,
        };
        self.logical.insert(trace_id, l);
        if let Some(d) = self.cfg.deadline_ms {
            let t = ctx.set_timer(ms_to_us(d), ClientTimer::Deadline(trace_id).tag());
            if let Some(l) = self.logical.get_mut(&trace_id) {
                l.deadline = Some(t);
                l.deadline_at_us = ctx.now_us().saturating_add(ms_to_us(d));
            }
        }
        self.attempt(ctx, trace_id);
    }

    fn attempt(&mut self, ctx: &mut Ctx<'_>, trace_id: u64) {
        let req_id = self.next_req;
        self.next_req += 1;
        let timeout_us = self.cfg.timeout_ms.map(ms_to_us);
        let Some(l) = self.logical.get_mut(&trace_id) else {
            return;
        };
        let op = self.cfg.op(l.edit);
        l.current_req = req_id;
        l.retry_at_us = None;
        l.cas_sent = false;
        if l.tries.begin(ctx.now_us(), self.breaker.as_mut()) == Admit::Rejected {
            // Rejected without reaching the target: fails fast, and the retry policy decides as
            // for any failed attempt. The trace and the counter show it.
            self.rejected += 1;
            ctx.count("rejected", 1);
            if let Some(b) = &self.breaker {
                ctx.metric_event(b.rejection(), self.rejected as i64);
            }
            self.breaker_news(ctx);
            self.failed_attempt(ctx, trace_id, Some(RetryOn::BreakerOpen));
            return;
        }
        self.breaker_news(ctx);
        let Some(l) = self.logical.get_mut(&trace_id) else {
            return;
        };
        let req = Request {
            trace_id,
            req_id,
            attempt: l.tries.attempt,
            idempotency_key: l.key,
            op,
            named_key: self.cfg.idempotency_key.clone(),
        };
        self.attempts += 1;
        ctx.count("attempts", 1);
        if l.tries.attempt > 1 {
            self.retries += 1;
            ctx.count("retries", 1);
        }
        l.timeout = timeout_us.map(|t| ctx.set_timer(t, ClientTimer::Timeout(req_id).tag()));
        l.timeout_at_us = ctx.now_us().saturating_add(timeout_us.unwrap_or(0));
        l.hedge_req = None;
        l.hedge_timer = self
            .cfg
            .hedge_after_ms
            .map(|h| ctx.set_timer(ms_to_us(h), ClientTimer::Hedge(req_id).tag()));
        self.req_to_trace.insert(req_id, trace_id);
        ctx.send(self.target, Payload::Request(req));
    }

    /// The read of attempt `trace_id` answered `version`: write the row with a compare-and-set
    /// on it, within what is left of the attempt's timeout.
    fn send_cas(&mut self, ctx: &mut Ctx<'_>, trace_id: u64, version: u64) {
        let req_id = self.next_req;
        self.next_req += 1;
        let Some(l) = self.logical.get_mut(&trace_id) else {
            return;
        };
        l.current_req = req_id;
        l.cas_sent = true;
        if self.cfg.timeout_ms.is_some() {
            let left = l.timeout_at_us.saturating_sub(ctx.now_us());
            l.timeout = Some(ctx.set_timer(left, ClientTimer::Timeout(req_id).tag()));
        }
        let req = Request {
            trace_id,
            req_id,
            attempt: l.tries.attempt,
            idempotency_key: l.key,
            op: Op::CompareAndSet { version },
            named_key: self.cfg.idempotency_key.clone(),
        };
        self.req_to_trace.insert(req_id, trace_id);
        ctx.send(self.target, Payload::Request(req));
    }

    /// The attempt `req_id` has had no answer for `hedge_after_ms`: send one copy of it.
    fn hedge(&mut self, ctx: &mut Ctx<'_>, req_id: u64) {
        let Some(&trace_id) = self.req_to_trace.get(&req_id) else {
            return;
        };
        let Some(l) = self.logical.get_mut(&trace_id) else {
            return;
        };
        let op = self.cfg.op(l.edit);
        l.hedge_timer = None;
        if l.current_req != req_id || l.hedge_req.is_some() {
            return;
        }
        let copy = self.next_req;
        self.next_req += 1;
        l.hedge_req = Some(copy);
        let req = Request {
            trace_id,
            req_id: copy,
            attempt: l.tries.attempt,
            idempotency_key: l.key,
            op,
            named_key: self.cfg.idempotency_key.clone(),
        };
        self.hedges += 1;
        ctx.count("hedges", 1);
        self.req_to_trace.insert(copy, trace_id);
        ctx.send(self.target, Payload::Request(req));
    }

    /// The attempt in flight for `l` is over: forget its hedged copy (a late answer to it is
    /// then counted as late) and the hedge timer.
    fn drop_hedge(ctx: &mut Ctx<'_>, req_to_trace: &mut IdMap<u64, u64>, l: &mut Logical) {
        if let Some(t) = l.hedge_timer.take() {
            ctx.cancel_timer(t);
        }
        if let Some(h) = l.hedge_req.take() {
            req_to_trace.remove(&h);
        }
    }

    /// The attempt in flight for `trace_id` ended without success; retry or give up.
    fn failed_attempt(&mut self, ctx: &mut Ctx<'_>, trace_id: u64, outcome: Option<RetryOn>) {
        let Some(l) = self.logical.get_mut(&trace_id) else {
            return;
        };
        let now = ctx.now_us();
        match l
            .tries
            .failed(&self.cfg.retry, &mut self.budget, outcome, now, ctx.rng())
        {
            Next::Retry { after_us } => {
                l.retry_at_us = Some(now.saturating_add(after_us));
                ctx.set_timer(after_us, ClientTimer::Backoff(trace_id).tag());
            }
            Next::BudgetExhausted => {
                self.budget_exhausted += 1;
                ctx.count("budget_exhausted", 1);
                self.finish(ctx, trace_id, false);
            }
            Next::GiveUp => self.finish(ctx, trace_id, false),
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>, trace_id: u64, ok: bool) {
        let Some(l) = self.logical.remove(&trace_id) else {
            return;
        };
        if let Some(t) = l.deadline {
            ctx.cancel_timer(t);
        }
        if ok {
            self.successes += 1;
        } else {
            self.failures += 1;
        }
        ctx.record_request(ok, ctx.now_us() - l.start_us);
        if let (Some(_), Workload::Closed { think_ms, .. }) = (l.user, &self.cfg.workload) {
            let think = ms_to_us(ctx.rng().exponential(*think_ms));
            ctx.set_timer(think, ClientTimer::Think(l.user.unwrap_or(0)).tag());
        }
    }

    /// Puts the breaker's transitions in the trace and, when it opened with automatic
    /// transition, sets the timer that will move it to half-open.
    fn breaker_news(&mut self, ctx: &mut Ctx<'_>) {
        let Some(b) = &mut self.breaker else { return };
        let news = b.take_transitions();
        if news.is_empty() {
            return;
        }
        for line in news {
            ctx.state(line);
        }
        if let Some(d) = b.deadline_us() {
            ctx.set_timer(d.saturating_sub(ctx.now_us()), ClientTimer::Breaker.tag());
        }
    }

    /// Tells the breaker how the attempt in flight for `trace_id` ended.
    fn breaker_result(&mut self, ctx: &mut Ctx<'_>, trace_id: u64, failed: bool) {
        let Some(l) = self.logical.get_mut(&trace_id) else {
            return;
        };
        if l.tries.settle(ctx.now_us(), self.breaker.as_mut(), failed) {
            self.breaker_news(ctx);
        }
    }

    fn on_response(&mut self, ctx: &mut Ctx<'_>, r: Response) {
        let Some(trace_id) = self.req_to_trace.remove(&r.req_id) else {
            self.late_responses += 1;
            ctx.count("late_responses", 1);
            return;
        };
        let Some(l) = self.logical.get_mut(&trace_id) else {
            return;
        };
        if l.current_req != r.req_id && l.hedge_req != Some(r.req_id) {
            self.late_responses += 1;
            return;
        }
        if l.hedge_req.is_some() || l.hedge_timer.is_some() {
            // The first answer wins; the other copy's answer will be late.
            let other = if l.current_req == r.req_id {
                l.hedge_req
            } else {
                Some(l.current_req)
            };
            l.hedge_req = other;
            Self::drop_hedge(ctx, &mut self.req_to_trace, l);
        }
        if let Some(t) = l.timeout.take() {
            ctx.cancel_timer(t);
        }
        if self.cfg.compare_and_set {
            if r.is_ok() && !l.cas_sent {
                // The read is half of the attempt: write now. The breaker hears the attempt's
                // outcome once, after the write.
                self.send_cas(ctx, trace_id, r.version.unwrap_or(0));
                return;
            }
            if r.status == 409 {
                self.conflicts += 1;
                ctx.count("conflicts", 1);
            }
        }
        if self.cfg.writes != Writes::Off && r.status == 409 {
            self.writes_refused += 1;
            ctx.count("writes_refused", 1);
        }
        // The breaker counts server errors and throttling as failures; other answers mean the
        // target is up.
        self.breaker_result(ctx, trace_id, r.status >= 500 || r.status == 429);
        // Failures reach the budget through `failed_attempt`, with timeouts and rejections.
        if r.is_ok() {
            Attempts::succeeded(&self.cfg.retry, &mut self.budget);
            self.finish(ctx, trace_id, true);
        } else {
            self.failed_attempt(ctx, trace_id, outcome_of(&r));
        }
    }
}

/// The breaker's state for people: "closed", "open", "half-open".
fn breaker_word(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "closed",
        BreakerState::Open { .. } => "open",
        BreakerState::HalfOpen => "half-open",
    }
}

impl Node for Client {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Client
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        match self.cfg.workload {
            Workload::Open { .. } | Workload::At { .. } => self.schedule_arrival(ctx),
            Workload::Closed { users, .. } => {
                for u in 0..users {
                    self.begin(ctx, Some(u));
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, msg: Payload) {
        if let Payload::Response(r) = msg {
            self.on_response(ctx, r);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _timer: TimerId, tag: u64) {
        match ClientTimer::from_tag(tag) {
            ClientTimer::Arrival => {
                self.begin(ctx, None);
                self.schedule_arrival(ctx);
            }
            ClientTimer::Timeout(id) => {
                let Some(trace_id) = self.req_to_trace.remove(&id) else {
                    return;
                };
                self.timeouts += 1;
                ctx.count("timeouts", 1);
                if let Some(l) = self.logical.get_mut(&trace_id) {
                    l.timeout = None;
                    Self::drop_hedge(ctx, &mut self.req_to_trace, l);
                }
                self.breaker_result(ctx, trace_id, true);
                self.failed_attempt(ctx, trace_id, Some(RetryOn::Timeout));
            }
            ClientTimer::Backoff(id) => self.attempt(ctx, id),
            ClientTimer::Hedge(id) => self.hedge(ctx, id),
            ClientTimer::Deadline(id) => {
                // The deadline passed: whatever is in flight or waiting is abandoned, and the
                // request fails. A late answer is then counted as late and ignored.
                let Some(l) = self.logical.get_mut(&id) else {
                    return;
                };
                l.deadline = None;
                if let Some(t) = l.timeout.take() {
                    ctx.cancel_timer(t);
                }
                let current = l.current_req;
                l.tries.abandon();
                Self::drop_hedge(ctx, &mut self.req_to_trace, l);
                self.req_to_trace.remove(&current);
                self.deadline_exceeded += 1;
                ctx.count("deadline_exceeded", 1);
                self.finish(ctx, id, false);
            }
            ClientTimer::Breaker => {
                if let Some(b) = &mut self.breaker {
                    b.tick(ctx.now_us());
                }
                self.breaker_news(ctx);
            }
            ClientTimer::Think(user) => self.begin(ctx, Some(user)),
        }
    }

    fn on_restart(&mut self) {
        self.logical.clear();
        self.req_to_trace.clear();
        // A breaker lives in the process's memory: it restarts closed.
        self.breaker = self.cfg.breaker.as_ref().map(|b| Breaker::new(b.rules()));
    }

    fn set_early(
        &mut self,
        param: &str,
        _value: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        if param == "target" {
            return Some(Err("the target cannot change during a run".into()));
        }
        None
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: ClientConfig = super::take(next)?;
        if cfg.workload != self.cfg.workload {
            self.at_us = match &cfg.workload {
                Workload::At { times_ms } => times_ms
                    .iter()
                    .map(|&t| crate::dist::long_ms_to_us(t))
                    .collect(),
                _ => Vec::new(),
            };
            crate::order::sort(&mut self.at_us);
            self.next_at = 0;
        }
        // A changed breaker keeps its state and window under the new rules; an added one starts
        // closed; a removed one is gone.
        self.breaker = match (self.breaker.take(), &cfg.breaker) {
            (Some(mut b), Some(c)) => {
                b.set_rules(c.rules());
                Some(b)
            }
            (None, Some(c)) => Some(Breaker::new(c.rules())),
            (_, None) => None,
        };
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        match &self.breaker {
            Some(b) => format!(
                "{} in progress, breaker {}",
                self.logical.len(),
                breaker_word(b.state())
            ),
            None => format!("{} in progress", self.logical.len()),
        }
    }

    fn view(&self) -> crate::view::NodeView {
        let mut in_progress: Vec<crate::view::RequestView> = self
            .logical
            .iter()
            .map(|(&trace_id, l)| crate::view::RequestView {
                trace_id,
                attempt: l.tries.attempt,
                started_us: l.start_us,
                attempt_started_us: l.tries.started_us,
                attempt_deadline_us: l.timeout.map(|_| l.timeout_at_us),
                retry_at_us: l.retry_at_us,
                deadline_us: l.deadline.map(|_| l.deadline_at_us),
                hedged: l.hedge_req.is_some(),
            })
            .collect();
        crate::order::sort_by_key(&mut in_progress, |r| r.trace_id);
        crate::view::NodeView::Client(crate::view::ClientView {
            target: self.target,
            in_progress,
            timeout_ms: self.cfg.timeout_ms,
            deadline_ms: self.cfg.deadline_ms,
            max_attempts: self.cfg.retry.effective_max_attempts(),
            breaker: self.breaker.as_ref().map(Breaker::view),
            budget: self.cfg.retry.budget.as_ref().map(|b| self.budget.view(b)),
            requests: self.requests,
            successes: self.successes,
            failures: self.failures,
            timeouts: self.timeouts,
            attempts: self.attempts,
            retries: self.retries,
            late_responses: self.late_responses,
            hedges: self.hedges,
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        let timeout = self
            .cfg
            .timeout_ms
            .map_or("none".to_string(), |t| format!("{t} ms"));
        let mut rows = vec![
            ("in progress".into(), self.logical.len().to_string()),
            ("requests".into(), self.requests.to_string()),
            ("successes".into(), self.successes.to_string()),
            ("failures".into(), self.failures.to_string()),
            ("timeouts".into(), self.timeouts.to_string()),
            ("attempts".into(), self.attempts.to_string()),
            ("timeout".into(), timeout),
            (
                "max attempts".into(),
                self.cfg.retry.max_attempts.to_string(),
            ),
        ];
        if let Some(b) = &self.breaker {
            let (calls, failures, slow) = b.window_counts();
            rows.push(("breaker".into(), b.state().name().to_string()));
            rows.push((
                "breaker window".into(),
                format!("{calls} calls, {failures} failed, {slow} slow"),
            ));
            rows.push(("rejected by breaker".into(), self.rejected.to_string()));
        }
        rows
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        let mut counters = vec![
            ("requests", self.requests as i64),
            ("successes", self.successes as i64),
            ("failures", self.failures as i64),
            ("timeouts", self.timeouts as i64),
            ("attempts", self.attempts as i64),
            ("retries", self.retries as i64),
            ("late_responses", self.late_responses as i64),
            ("hedges", self.hedges as i64),
            // Requests still waiting for an answer: without a timeout, a lost message leaves
            // one waiting forever, and only this number shows it.
            ("in_progress", self.logical.len() as i64),
            ("rejected", self.rejected as i64),
            ("budget_exhausted", self.budget_exhausted as i64),
            ("deadline_exceeded", self.deadline_exceeded as i64),
        ];
        if self.cfg.compare_and_set {
            counters.push(("conflicts", self.conflicts as i64));
        }
        if self.cfg.writes != Writes::Off {
            counters.push(("writes_refused", self.writes_refused as i64));
        }
        counters
    }

    fn availability_model(&self) -> Option<crate::node::AvailabilityModel> {
        // The formula counts one attempt: retries and timeouts are what the run measures.
        Some(crate::node::AvailabilityModel {
            own: 1.0,
            calls: vec![self.target],
            optional: Vec::new(),
            need: 1,
            fallback: false,
        })
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}
