//! A service's calls to other services while it handles a request: in sequence or in parallel,
//! waiting for all of them or for a quorum, each with its own client policy.
//!
//! Each call follows the client's rules through the same retry driver (`models::retry`): a
//! timeout per attempt, retries with the AWS backoff strategies (`client::backoff_us`),
//! `retry_on`, "do not retry" answers never retried (`client::outcome_of`), an optional retry
//! budget and an optional Resilience4j circuit breaker ([`super::breaker`]), one per call.
//!
//! References (`docs/models/service.md`): Availability (in series, availability multiplies; a quorum of
//! k out of n independent calls is the k-of-n sum) and Retries (when every layer retries,
//! attempts multiply: (r+1)^L at the bottom for r retries at each of L layers).
//!
//! Hedged calls follow Dean and Barroso, "The Tail at Scale" (2013), as the client's
//! `hedge_after_ms` does: with a call's `hedge_after_ms`, an attempt without an answer after that
//! long gets one copy, the first answer wins, and the other's is counted as late. The copy
//! shares the attempt's timeout and breaker permit and is counted in `downstream_hedges`, not in
//! `downstream_attempts`.
//!
//! Assumptions where the references are silent: the calls carry the caller's trace id (so spans
//! nest); in sequence, calls go one after the other in the order listed, and stop as soon as the
//! outcome is known; in parallel, all go at once; once the stage is decided the calls still in
//! flight are abandoned (their answers are counted as late and ignored).
//!
//! A call can charge a card (`charge_cents`, to a `payment` service) and carry an idempotency key
//! (`idempotency_keys`, off by default), as a client does (Stripe's "Designing robust and
//! predictable APIs with idempotency", 2017). The key is made once per call of one incoming
//! request and reused by that call's retries. When the incoming request carries a key of its
//! own, the call's key is derived from it, so a retry by the caller upstream reaches the payment
//! service with the same key: the key travels end to end, as Stripe advises for a charge made
//! behind another service. Without an incoming key, a fresh one is drawn from the node's stream
//! (and only then: a call without keys draws exactly the random numbers it always did).

use serde::{Deserialize, Serialize};

use super::breaker::{Breaker, BreakerConfig};
use super::client::{BudgetState, RetryOn, RetryPolicy, outcome_of};
use super::retry::{Admit, Attempts, CallTimer, Next};
use super::service::Job;
use super::{ConfigError, check_ms, resolve};
use crate::dist::ms_to_us;
use crate::idhash::IdMap;
use crate::msg::{Op, Payload, Request, Response};
use crate::node::{Ctx, InspectRow, NodeId, TimerId};

/// The most downstream calls per service.
pub const MAX_CALLS: usize = 100;

/// One downstream call and the client policy it is made with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// The node called.
    pub target: String,
    /// The timeout of each attempt; `null` waits forever.
    #[serde(default)]
    pub timeout_ms: Option<f64>,
    /// Retries, as a client's (`max_attempts`, `backoff`, `budget`, `retry_on`).
    #[serde(default)]
    pub retry: RetryPolicy,
    /// A circuit breaker in front of this call; `null` for none.
    #[serde(default)]
    pub breaker: Option<BreakerConfig>,
    /// An optional call: when it fails, go on without it (a degraded answer, counted in
    /// `fallbacks`), as if it had succeeded.
    #[serde(default)]
    pub fallback: bool,
    /// Send charges of this amount (to a `payment` service) instead of plain calls; `null` for
    /// plain calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_cents: Option<u64>,
    /// Send an idempotency key, the same on every retry of the call (derived from the incoming
    /// request's key when it has one).
    #[serde(default)]
    pub idempotency_keys: bool,
    /// Hedged calls ("The Tail at Scale"): when an attempt has no answer after this long, send
    /// one copy and take whichever answer comes first; `null` (the default) never hedges.
    #[serde(default)]
    pub hedge_after_ms: Option<f64>,
}

impl CallSpec {
    /// The request `req_id` of this call in state `c`: an attempt, or its hedged copy, which is
    /// the same call (the same charge under the same key).
    fn request(&self, c: &CallState, trace_id: u64, req_id: u64) -> Request {
        Request {
            trace_id,
            req_id,
            attempt: c.tries.attempt,
            idempotency_key: if self.idempotency_keys { c.key } else { None },
            op: match self.charge_cents {
                Some(amount_cents) => Op::Charge { amount_cents },
                None => Op::Call,
            },
            named_key: None,
        }
    }
}

/// The idempotency key of call `i` of a request that came with key `incoming`: a mix of the two
/// (SplitMix64's finaliser), so every call has its own key and a retried request the same ones.
fn derived_key(incoming: u64, i: usize) -> u64 {
    let mut z = incoming ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The order the calls go in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One after the other, in the order listed: latencies add up.
    #[default]
    Sequence,
    /// All at once: the stage takes as long as the slowest call it waits for.
    Parallel,
}

/// How many calls must succeed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Every call.
    #[default]
    All,
    /// At least this many (1 to the number of calls).
    Quorum(u32),
}

/// A service's downstream calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downstream {
    /// The calls (1 to 100; the same target may appear more than once, e.g. a fan-out to
    /// many leaves of one replicated service).
    pub calls: Vec<CallSpec>,
    /// `sequence` (the default) or `parallel`.
    #[serde(default)]
    pub mode: Mode,
    /// `"all"` (the default) or `{"quorum": k}`.
    #[serde(default)]
    pub wait: Wait,
    /// When the calls fail, answer 200 anyway (a degraded answer, counted in `fallbacks`)
    /// instead of 502.
    #[serde(default)]
    pub fallback: bool,
}

impl Downstream {
    /// Checks ranges; field names relative to `downstream`.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_CALLS).contains(&self.calls.len()) {
            return Err((
                "calls".into(),
                format!("expected 1 to {MAX_CALLS} calls, got {}", self.calls.len()),
            ));
        }
        for (i, c) in self.calls.iter().enumerate() {
            if let Some(t) = c.timeout_ms {
                check_ms(&format!("calls[{i}].timeout_ms"), t, 0.001, 3_600_000.0)?;
            }
            c.retry.check(&format!("calls[{i}].retry."))?;
            if let Some(h) = c.hedge_after_ms {
                check_ms(&format!("calls[{i}].hedge_after_ms"), h, 0.001, 3_600_000.0)?;
            }
            if let Some(b) = &c.breaker {
                b.check()
                    .map_err(|(f, m)| (format!("calls[{i}].breaker.{f}"), m))?;
            }
        }
        if let Wait::Quorum(k) = self.wait
            && !(1..=self.calls.len() as u32).contains(&k)
        {
            return Err((
                "wait.quorum".into(),
                format!(
                    "expected 1 to {} (the number of calls), got {k}",
                    self.calls.len()
                ),
            ));
        }
        Ok(())
    }

    /// How many calls must succeed.
    pub fn need(&self) -> usize {
        match self.wait {
            Wait::All => self.calls.len(),
            Wait::Quorum(k) => k as usize,
        }
    }
}

/// One call of one request.
#[derive(Clone, Debug, Default)]
struct CallState {
    tries: Attempts,
    req: Option<u64>,
    timeout: Option<TimerId>,
    done: Option<bool>,
    /// The call's idempotency key, made at its first attempt (with `idempotency_keys`).
    key: Option<u64>,
    // The hedged copy of the attempt in flight, and the timer that will send it.
    hedge_req: Option<u64>,
    hedge_timer: Option<TimerId>,
}

impl CallState {
    /// The attempt in flight is over: forget its hedged copy (a late answer to it is then
    /// counted as late) and the timer that would send one.
    fn drop_hedge(&mut self, ctx: &mut Ctx<'_>, by_req: &mut IdMap<u64, (u64, usize)>) {
        if let Some(t) = self.hedge_timer.take() {
            ctx.cancel_timer(t);
        }
        if let Some(h) = self.hedge_req.take() {
            by_req.remove(&h);
        }
    }
}

/// One request waiting for its calls.
#[derive(Clone, Debug)]
struct Pending {
    job: Job,
    calls: Vec<CallState>,
    next: usize,
    ok: usize,
    failed: usize,
}

/// The running state of a service's downstream calls.
#[derive(Clone, Debug)]
pub(crate) struct Calls {
    targets: Vec<NodeId>,
    breakers: Vec<Option<Breaker>>,
    budgets: Vec<BudgetState>,
    // Looked up by id, never iterated.
    pending: IdMap<u64, Pending>,
    by_req: IdMap<u64, (u64, usize)>,
    next_job: u64,
    next_req: u64,
    attempts: u64,
    retries: u64,
    timeouts: u64,
    failures: u64,
    rejected: u64,
    budget_exhausted: u64,
    late: u64,
    fallbacks: u64,
    hedges: u64,
    // Whether any call hedges (its counter is reported then).
    hedging: bool,
    decided: Vec<(Job, bool)>,
}

impl Calls {
    pub(crate) fn new(
        d: &Downstream,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        let targets = d
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| resolve(&format!("calls[{i}].target"), &c.target, me, lookup))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Calls {
            breakers: d
                .calls
                .iter()
                .map(|c| c.breaker.as_ref().map(|b| Breaker::new(b.rules())))
                .collect(),
            budgets: vec![BudgetState::default(); targets.len()],
            targets,
            pending: IdMap::default(),
            by_req: IdMap::default(),
            next_job: 0,
            next_req: 0,
            attempts: 0,
            retries: 0,
            timeouts: 0,
            failures: 0,
            rejected: 0,
            budget_exhausted: 0,
            late: 0,
            fallbacks: 0,
            hedges: 0,
            hedging: d.calls.iter().any(|c| c.hedge_after_ms.is_some()),
            decided: Vec::new(),
        })
    }

    /// The nodes called, in order.
    pub(crate) fn targets(&self) -> &[NodeId] {
        &self.targets
    }

    /// Failed optional calls the requests did without.
    pub(crate) fn fallbacks(&self) -> u64 {
        self.fallbacks
    }

    /// Requests waiting for their calls (each holds a worker).
    pub(crate) fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// The first call whose breaker is open, for the status line.
    pub(crate) fn open_breakers(&self) -> Option<usize> {
        self.breakers.iter().position(|b| {
            b.as_ref()
                .is_some_and(|b| matches!(b.state(), super::breaker::State::Open { .. }))
        })
    }

    /// A crash: the calls in progress are lost; breakers live in memory and restart closed.
    pub(crate) fn restart(&mut self) {
        self.pending.clear();
        self.by_req.clear();
        for b in self.breakers.iter_mut().flatten() {
            *b = Breaker::new(b.rules().clone());
        }
        for b in &mut self.budgets {
            *b = BudgetState::default();
        }
    }

    /// New policies (a setting changed; the targets are the same): a changed breaker keeps its
    /// state under the new rules, an added one starts closed, a removed one is gone.
    pub(crate) fn set_policies(&mut self, d: &Downstream) {
        self.hedging |= d.calls.iter().any(|c| c.hedge_after_ms.is_some());
        for (slot, c) in self.breakers.iter_mut().zip(&d.calls) {
            *slot = match (slot.take(), &c.breaker) {
                (Some(mut b), Some(cfg)) => {
                    b.set_rules(cfg.rules());
                    Some(b)
                }
                (None, Some(cfg)) => Some(Breaker::new(cfg.rules())),
                (_, None) => None,
            };
        }
    }

    /// Starts the calls of a job a worker took.
    pub(crate) fn begin(&mut self, ctx: &mut Ctx<'_>, d: &Downstream, job: Job) {
        let id = self.next_job;
        self.next_job += 1;
        let n = d.calls.len();
        let first = match d.mode {
            Mode::Sequence => 1,
            Mode::Parallel => n,
        };
        self.pending.insert(
            id,
            Pending {
                job,
                calls: vec![CallState::default(); n],
                next: first,
                ok: 0,
                failed: 0,
            },
        );
        for i in 0..first {
            if let Some(b) = &d.calls[i].retry.budget {
                self.budgets[i].on_request(b, ctx.now_us());
            }
            self.attempt(ctx, d, id, i);
        }
    }

    /// The stages decided since the last call: each job with whether its calls succeeded.
    pub(crate) fn take_decided(&mut self) -> Vec<(Job, bool)> {
        std::mem::take(&mut self.decided)
    }

    /// Sends the next attempt of call `i` of job `id`, unless its breaker rejects it.
    fn attempt(&mut self, ctx: &mut Ctx<'_>, d: &Downstream, id: u64, i: usize) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        let c = &mut p.calls[i];
        if c.done.is_some() {
            return;
        }
        if c.tries.begin(ctx.now_us(), self.breakers[i].as_mut()) == Admit::Rejected {
            self.rejected += 1;
            ctx.count("downstream_rejected", 1);
            if let Some(b) = &self.breakers[i] {
                let text = format!("call {i} {}", b.rejection());
                ctx.metric_event(text, self.rejected as i64);
            }
            self.breaker_news(ctx, i);
            self.failed(ctx, d, id, i, Some(RetryOn::BreakerOpen));
            return;
        }
        let req_id = self.next_req;
        self.next_req += 1;
        c.req = Some(req_id);
        let spec = &d.calls[i];
        if spec.idempotency_keys && c.key.is_none() {
            c.key = Some(match p.job.req.idempotency_key {
                Some(k) => derived_key(k, i),
                None => ctx.rng().next_u64(),
            });
        }
        c.timeout = d.calls[i]
            .timeout_ms
            .map(|t| ctx.set_timer(ms_to_us(t), CallTimer::Timeout(req_id).tag()));
        let req = spec.request(c, p.job.req.trace_id, req_id);
        self.attempts += 1;
        ctx.count("downstream_attempts", 1);
        if c.tries.attempt > 1 {
            self.retries += 1;
            ctx.count("downstream_retries", 1);
        }
        c.hedge_timer = d.calls[i]
            .hedge_after_ms
            .map(|h| ctx.set_timer(ms_to_us(h), CallTimer::Hedge(req_id).tag()));
        self.by_req.insert(req_id, (id, i));
        self.breaker_news(ctx, i);
        ctx.send(self.targets[i], Payload::Request(req));
    }

    /// The attempt `req_id` has had no answer for its call's `hedge_after_ms`: send one copy.
    fn hedge(&mut self, ctx: &mut Ctx<'_>, d: &Downstream, req_id: u64) {
        let Some(&(id, i)) = self.by_req.get(&req_id) else {
            return;
        };
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        let c = &mut p.calls[i];
        c.hedge_timer = None;
        if c.req != Some(req_id) || c.hedge_req.is_some() || c.done.is_some() {
            return;
        }
        let copy = self.next_req;
        self.next_req += 1;
        c.hedge_req = Some(copy);
        // The copy is the same call: the same charge under the same key, so a payment service
        // answers whichever arrives second from its idempotency store instead of charging twice.
        let req = d.calls[i].request(c, p.job.req.trace_id, copy);
        self.hedges += 1;
        ctx.count("downstream_hedges", 1);
        self.by_req.insert(copy, (id, i));
        ctx.send(self.targets[i], Payload::Request(req));
    }

    /// An attempt of call `i` failed: retry it, or the call has failed.
    fn failed(
        &mut self,
        ctx: &mut Ctx<'_>,
        d: &Downstream,
        id: u64,
        i: usize,
        outcome: Option<RetryOn>,
    ) {
        let policy = &d.calls[i].retry;
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        let c = &mut p.calls[i];
        c.req = None;
        c.drop_hedge(ctx, &mut self.by_req);
        let now = ctx.now_us();
        match c
            .tries
            .failed(policy, &mut self.budgets[i], outcome, now, ctx.rng())
        {
            Next::Retry { after_us } => {
                let t = CallTimer::Backoff { job: id, call: i };
                ctx.set_timer(after_us, t.tag());
            }
            Next::BudgetExhausted => {
                self.budget_exhausted += 1;
                ctx.count("downstream_budget_exhausted", 1);
                self.done(ctx, d, id, i, false);
            }
            Next::GiveUp => self.done(ctx, d, id, i, false),
        }
    }

    /// Call `i` of job `id` ended for good: decide the stage, or go on with the next call.
    fn done(&mut self, ctx: &mut Ctx<'_>, d: &Downstream, id: u64, i: usize, ok: bool) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        p.calls[i].done = Some(ok);
        let ok = ok || {
            let optional = d.calls[i].fallback;
            if optional {
                // Failed, but the request can do without it.
                self.fallbacks += 1;
                ctx.count("fallbacks", 1);
            }
            optional
        };
        if ok {
            p.ok += 1;
        } else {
            p.failed += 1;
        }
        if p.calls[i].done == Some(false) {
            self.failures += 1;
            ctx.count("downstream_failures", 1);
        }
        let (n, need) = (d.calls.len(), d.need());
        if p.ok >= need || p.failed > n - need {
            let verdict = p.ok >= need;
            let p = self.pending.remove(&id).expect("just looked up");
            // Calls still in flight are abandoned: their answers will be late.
            for mut c in p.calls {
                if let Some(t) = c.timeout {
                    ctx.cancel_timer(t);
                }
                if let Some(r) = c.req {
                    self.by_req.remove(&r);
                }
                c.drop_hedge(ctx, &mut self.by_req);
            }
            self.decided.push((p.job, verdict));
        } else if d.mode == Mode::Sequence && p.next < n {
            let next = p.next;
            p.next += 1;
            if let Some(b) = &d.calls[next].retry.budget {
                self.budgets[next].on_request(b, ctx.now_us());
            }
            self.attempt(ctx, d, id, next);
        }
    }

    /// Tells call `i`'s breaker how the attempt in flight ended.
    fn breaker_result(&mut self, ctx: &mut Ctx<'_>, id: u64, i: usize, failed: bool) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        if p.calls[i]
            .tries
            .settle(ctx.now_us(), self.breakers[i].as_mut(), failed)
        {
            self.breaker_news(ctx, i);
        }
    }

    /// Puts call `i`'s breaker transitions in the trace, and sets its automatic-transition
    /// timer.
    fn breaker_news(&mut self, ctx: &mut Ctx<'_>, i: usize) {
        let Some(b) = &mut self.breakers[i] else {
            return;
        };
        let news = b.take_transitions();
        if news.is_empty() {
            return;
        }
        for line in news {
            ctx.state(format!("breaker to call {i}: {line}"));
        }
        if let Some(t) = b.deadline_us() {
            ctx.set_timer(t.saturating_sub(ctx.now_us()), CallTimer::Breaker(i).tag());
        }
    }

    /// An answer from a downstream service.
    pub(crate) fn on_response(&mut self, ctx: &mut Ctx<'_>, d: &Downstream, r: Response) {
        let Some((id, i)) = self.by_req.remove(&r.req_id) else {
            self.late += 1;
            ctx.count("downstream_late", 1);
            return;
        };
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        let c = &mut p.calls[i];
        if c.hedge_req.is_some() || c.hedge_timer.is_some() {
            // The first answer wins, the primary's or the copy's; the other's will be late.
            if c.hedge_req == Some(r.req_id) {
                c.hedge_req = c.req;
                c.req = Some(r.req_id);
            }
            c.drop_hedge(ctx, &mut self.by_req);
        }
        if let Some(t) = c.timeout.take() {
            ctx.cancel_timer(t);
        }
        self.breaker_result(ctx, id, i, r.status >= 500 || r.status == 429);
        if r.is_ok() {
            Attempts::succeeded(&d.calls[i].retry, &mut self.budgets[i]);
            if let Some(p) = self.pending.get_mut(&id) {
                p.calls[i].req = None;
            }
            self.done(ctx, d, id, i, true);
        } else {
            self.failed(ctx, d, id, i, outcome_of(&r));
        }
    }

    /// One of the calls' timers fired.
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, d: &Downstream, t: u64) {
        match CallTimer::from_tag(t) {
            Some(CallTimer::Timeout(id)) => {
                let Some((job, i)) = self.by_req.remove(&id) else {
                    return;
                };
                self.timeouts += 1;
                ctx.count("downstream_timeouts", 1);
                if let Some(p) = self.pending.get_mut(&job) {
                    p.calls[i].timeout = None;
                    p.calls[i].drop_hedge(ctx, &mut self.by_req);
                }
                self.breaker_result(ctx, job, i, true);
                self.failed(ctx, d, job, i, Some(RetryOn::Timeout));
            }
            Some(CallTimer::Backoff { job, call: i }) if i < d.calls.len() => {
                self.attempt(ctx, d, job, i);
            }
            Some(CallTimer::Hedge(req)) => self.hedge(ctx, d, req),
            Some(CallTimer::Breaker(i)) => {
                if let Some(Some(b)) = self.breakers.get_mut(i) {
                    b.tick(ctx.now_us());
                    self.breaker_news(ctx, i);
                }
            }
            Some(CallTimer::Backoff { .. }) | None => {}
        }
    }

    /// The calls for drawing; `d` is the service's current settings for them.
    pub(crate) fn view(&self, d: &Downstream) -> crate::view::DownstreamView {
        let calls = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, &target)| {
                let spec = d.calls.get(i);
                crate::view::CallView {
                    target,
                    optional: spec.is_some_and(|c| c.fallback),
                    breaker: self.breakers[i].as_ref().map(Breaker::view),
                    budget: spec
                        .and_then(|c| c.retry.budget.as_ref())
                        .map(|b| self.budgets[i].view(b)),
                }
            })
            .collect();
        crate::view::DownstreamView {
            calls,
            waiting: self.pending.len(),
            attempts: self.attempts,
            retries: self.retries,
            timeouts: self.timeouts,
            failures: self.failures,
            rejected: self.rejected,
        }
    }

    /// The inspector's rows.
    pub(crate) fn inspect(&self) -> Vec<InspectRow> {
        let mut rows = vec![
            ("waiting for calls".into(), self.pending.len().to_string()),
            ("downstream attempts".into(), self.attempts.to_string()),
            ("downstream retries".into(), self.retries.to_string()),
            ("downstream timeouts".into(), self.timeouts.to_string()),
            ("downstream failures".into(), self.failures.to_string()),
        ];
        for (i, b) in self.breakers.iter().enumerate() {
            if let Some(b) = b {
                rows.push((format!("breaker to call {i}"), b.state().name().to_string()));
            }
        }
        rows
    }

    /// The counters for reports.
    pub(crate) fn counters(&self) -> Vec<(&'static str, i64)> {
        let mut c = vec![
            ("downstream_attempts", self.attempts as i64),
            ("downstream_retries", self.retries as i64),
            ("downstream_timeouts", self.timeouts as i64),
            ("downstream_failures", self.failures as i64),
            ("downstream_rejected", self.rejected as i64),
            ("downstream_budget_exhausted", self.budget_exhausted as i64),
            ("downstream_late", self.late as i64),
            ("waiting_for_calls", self.pending.len() as i64),
        ];
        if self.hedging {
            c.push(("downstream_hedges", self.hedges as i64));
        }
        c
    }
}
