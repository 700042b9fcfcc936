//! A service: requests wait in a queue for one of `concurrency` workers, take a time drawn from
//! `latency`, and succeed or fail with `error_rate`.
//!
//! Reference: the M/M/1 and M/M/c queues of queueing theory (see `docs/models/service.md`, Queueing):
//! with exponential service, one worker and Poisson arrivals, the mean time in the system is
//! 1 / (mu - lambda), and it grows without bound as utilisation nears 1. Queue time counts toward
//! the latency a caller sees, as in any real server.
//!
//! Failure modes besides `error_rate`: an `outage` (every request answered at once with 500 or
//! 503), slowness (`latency_factor`, `extra_latency_ms`) and "overloaded: do not retry"
//! (`no_retry_above`: a 503 marked `no_retry` while the queue is that long).
//!
//! Downstream calls (`downstream`): while handling a request the service calls other services,
//! in sequence or in parallel, waiting for all of them or a quorum, each call with its own
//! timeout, retries with backoff and optional circuit breaker (the client's code: see
//! [`super::downstream`]), and may answer with a `fallback` when they fail. Chains of services
//! follow `docs/models/service.md` (Availability; Retries): in series availability multiplies, latency
//! adds up, and retries at every layer multiply, (r+1)^L attempts at the bottom.
//!
//! Optimistic concurrency (AWS, "Exponential Backoff And Jitter", 2015): the service keeps one
//! row with a version. A read (`Op::Read`) is answered with the version; a compare-and-set
//! (`Op::CompareAndSet`) on the current version writes the row (the version goes up by one) and
//! answers 200, and on an older version writes nothing and answers 409 Conflict. Both are work
//! like any request (queue, workers, latency), and both are decided when the work completes, so
//! writers whose read-then-write overlap conflict. Ordered writes (`Op::Write`, Elasticsearch's
//! versioning, `docs/models/ordering.md`): a plain write sets the row as it arrives; one with a
//! version not newer than the row's is refused with 409. The row is `models::row`.
//!
//! Assumptions where the reference is silent: the queue is FIFO; a full queue answers 503 at
//! once (load shedding) without using a worker; a crash loses the queue and the work in progress
//! (callers time out); failures are decided when the work completes. A worker is held while its
//! request waits for its downstream calls (thread-per-request); the calls come first, the
//! service's own work after them; a downstream stage that fails answers 502 at once, or, with a
//! fallback, goes on to the service's own work and answers 200 (counted in `fallbacks`).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use crate::idhash::IdMap;

use super::downstream::{Calls, Downstream};
use super::row::{Row, RowAnswer};
use super::{ConfigError, check_ms, check_ratio};
use crate::dist::{Dist, ms_to_us};
use crate::msg::{Payload, Request, Response};
use crate::node::{AvailabilityModel, Ctx, InspectRow, Node, NodeId, TimerId};

fn default_latency() -> Dist {
    Dist::Exponential { mean_ms: 10.0 }
}
fn default_concurrency() -> u32 {
    4
}
fn default_queue_limit() -> u32 {
    100
}
fn one() -> f64 {
    1.0
}

/// A service's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Time to do the work of one request (not counting the queue).
    #[serde(default = "default_latency")]
    pub latency: Dist,
    /// Requests worked on at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Requests that may wait for a worker; more get 503 at once.
    #[serde(default = "default_queue_limit")]
    pub queue_limit: u32,
    /// Probability that a request fails with 500, 0 to 1.
    #[serde(default)]
    pub error_rate: f64,
    /// An outage: every request is answered at once with this status (500 to 599, e.g. 503),
    /// without work; `null` (the default) for none.
    #[serde(default)]
    pub outage: Option<u16>,
    /// Slowness: the work time is multiplied by this (1 to 1000; 1 by default).
    #[serde(default = "one")]
    pub latency_factor: f64,
    /// Slowness: added to every request's work time (0 to 3600000 ms; 0 by default).
    #[serde(default)]
    pub extra_latency_ms: f64,
    /// "Overloaded: do not retry": while this many requests or more wait in the queue, a new
    /// one is answered 503 at once, marked `no_retry`; `null` (the default) never does.
    #[serde(default)]
    pub no_retry_above: Option<u32>,
    /// Calls to other services made while handling each request; `null` (the default) for none.
    #[serde(default)]
    pub downstream: Option<Downstream>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            latency: default_latency(),
            concurrency: default_concurrency(),
            queue_limit: default_queue_limit(),
            error_rate: 0.0,
            outage: None,
            latency_factor: 1.0,
            extra_latency_ms: 0.0,
            no_retry_above: None,
            downstream: None,
        }
    }
}

impl ServiceConfig {
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        self.latency.check().map_err(super::under("latency"))?;
        if !(1..=10_000).contains(&self.concurrency) {
            return Err((
                "concurrency".into(),
                format!("expected 1 to 10000, got {}", self.concurrency),
            ));
        }
        if self.queue_limit > 1_000_000 {
            return Err((
                "queue_limit".into(),
                format!("expected 0 to 1000000, got {}", self.queue_limit),
            ));
        }
        check_ratio("error_rate", self.error_rate)?;
        if let Some(s) = self.outage
            && !(500..=599).contains(&s)
        {
            return Err(("outage".into(), format!("expected 500 to 599, got {s}")));
        }
        let f = self.latency_factor;
        if !(f.is_finite() && (1.0..=1000.0).contains(&f)) {
            return Err((
                "latency_factor".into(),
                format!("expected 1 to 1000, got {f}"),
            ));
        }
        check_ms("extra_latency_ms", self.extra_latency_ms, 0.0, 3_600_000.0)?;
        if let Some(n) = self.no_retry_above
            && n > 1_000_000
        {
            return Err((
                "no_retry_above".into(),
                format!("expected 0 to 1000000, got {n}"),
            ));
        }
        if let Some(d) = &self.downstream {
            d.check().map_err(|(f, m)| (format!("downstream.{f}"), m))?;
        }
        Ok(())
    }

    /// The work time of one request: `latency`, slowed down as set. Draws nothing more than
    /// `latency` does, so a service without slowness keeps its trace.
    fn work_us(&self, ctx: &mut Ctx<'_>) -> u64 {
        let t = self.latency.sample_us(ctx.rng());
        if self.latency_factor == 1.0 && self.extra_latency_ms == 0.0 {
            return t;
        }
        let slow = (t as f64 * self.latency_factor) as u64;
        slow.saturating_add(ms_to_us(self.extra_latency_ms))
            .min(crate::limits::MAX_DELAY_US)
    }
}

settings!(Service(ServiceConfig));

#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) from: NodeId,
    pub(crate) req: Request,
    pub(crate) arrived_us: u64,
}

/// The service node.
#[derive(Clone, Debug)]
pub struct Service {
    cfg: ServiceConfig,
    queue: VecDeque<Job>,
    // Looked up by timer, never iterated.
    working: IdMap<TimerId, Job>,
    served: u64,
    errors: u64,
    shed: u64,
    attempts_received: u64,
    overloaded: u64,
    outage_answers: u64,
    fallbacks: u64,
    // Requests waiting for their downstream calls, with the calls' state.
    calls: Option<Calls>,
    reported: (i64, i64),
    // The row: optimistic concurrency and ordered writes.
    row: Row,
}

impl Service {
    /// A service with these settings.
    pub fn new(
        cfg: ServiceConfig,
        me: NodeId,
        lookup: &dyn Fn(&str) -> Option<NodeId>,
    ) -> Result<Self, ConfigError> {
        cfg.check()?;
        let calls = match &cfg.downstream {
            Some(d) => {
                Some(Calls::new(d, me, lookup).map_err(|(f, m)| (format!("downstream.{f}"), m))?)
            }
            None => None,
        };
        Ok(Service {
            calls,
            attempts_received: 0,
            overloaded: 0,
            outage_answers: 0,
            fallbacks: 0,
            cfg,
            queue: VecDeque::new(),
            working: IdMap::default(),
            served: 0,
            errors: 0,
            shed: 0,
            reported: (0, 0),
            row: Row::default(),
        })
    }

    /// A worker takes the job: its downstream calls first, if any, else its own work.
    fn start(&mut self, ctx: &mut Ctx<'_>, job: Job) {
        match (&mut self.calls, &self.cfg.downstream) {
            (Some(calls), Some(d)) => calls.begin(ctx, d, job),
            _ => self.work(ctx, job),
        }
    }

    /// The service's own work on a job.
    fn work(&mut self, ctx: &mut Ctx<'_>, job: Job) {
        let t = self.cfg.work_us(ctx);
        let timer = ctx.set_timer(t, 0);
        self.working.insert(timer, job);
    }

    /// Workers in use: working, or waiting for downstream calls.
    fn busy(&self) -> usize {
        self.working.len() + self.calls.as_ref().map_or(0, Calls::waiting)
    }

    /// Answers a job now, without work.
    fn answer(ctx: &mut Ctx<'_>, job: &Job, status: u16, no_retry: bool) {
        let r = Response {
            trace_id: job.req.trace_id,
            req_id: job.req.req_id,
            status,
            no_retry,
            replayed: false,
            version: None,
        };
        ctx.send(job.from, Payload::Response(r));
    }

    /// A worker is free: the next job in the queue, if any, takes it.
    fn next(&mut self, ctx: &mut Ctx<'_>) {
        if self.busy() < self.cfg.concurrency as usize
            && let Some(next) = self.queue.pop_front()
        {
            self.start(ctx, next);
        }
    }

    /// Handles the downstream stages decided so far: on to the service's own work, or a
    /// failure. A loop, not recursion: a failure frees a worker, whose next job may be decided
    /// at once (a breaker rejecting its calls).
    fn after_calls(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let done = match &mut self.calls {
                Some(c) => c.take_decided(),
                None => return,
            };
            if done.is_empty() {
                break;
            }
            for (job, ok) in done {
                let fallback = self.cfg.downstream.as_ref().is_some_and(|d| d.fallback);
                if ok {
                    self.work(ctx, job);
                } else if fallback {
                    self.fallbacks += 1;
                    ctx.count("fallbacks", 1);
                    self.work(ctx, job);
                } else {
                    // 502 Bad Gateway: a call this request needed failed.
                    self.served += 1;
                    self.errors += 1;
                    ctx.record_request(false, ctx.now_us() - job.arrived_us);
                    Self::answer(ctx, &job, 502, false);
                    self.next(ctx);
                }
            }
        }
        self.gauges(ctx);
    }

    /// Reports the queue and the busy workers when they changed (a gauge per event would be
    /// most of the cost of a busy service).
    fn gauges(&mut self, ctx: &mut Ctx<'_>) {
        let now = (self.queue.len() as i64, self.busy() as i64);
        if now.0 != self.reported.0 {
            ctx.gauge("queue", now.0);
        }
        if now.1 != self.reported.1 {
            ctx.gauge("busy", now.1);
        }
        self.reported = now;
    }
}

impl Node for Service {
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Service
    }

    fn on_start(&mut self, _ctx: &mut Ctx<'_>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let req = match msg {
            Payload::Request(req) => req,
            Payload::Response(r) => {
                if let (Some(calls), Some(d)) = (&mut self.calls, &self.cfg.downstream) {
                    calls.on_response(ctx, d, r);
                    self.after_calls(ctx);
                }
                return;
            }
            // Other models' messages (merged later) are not for a service.
            #[allow(unreachable_patterns)]
            _ => return,
        };
        self.attempts_received += 1;
        let job = Job {
            from,
            req,
            arrived_us: ctx.now_us(),
        };
        if let Some(status) = self.cfg.outage {
            self.outage_answers += 1;
            ctx.count("outage", 1);
            Self::answer(ctx, &job, status, false);
            return;
        }
        if self.busy() < self.cfg.concurrency as usize {
            self.start(ctx, job);
        } else if self
            .cfg
            .no_retry_above
            .is_some_and(|n| self.queue.len() >= n as usize)
        {
            self.overloaded += 1;
            ctx.count("overloaded", 1);
            Self::answer(ctx, &job, 503, true);
        } else if self.queue.len() < self.cfg.queue_limit as usize {
            self.queue.push_back(job);
        } else {
            self.shed += 1;
            ctx.count("shed", 1);
            let r = Response {
                trace_id: job.req.trace_id,
                req_id: job.req.req_id,
                status: 503,
                no_retry: false,
                replayed: false,
                version: None,
            };
            ctx.send(from, Payload::Response(r));
        }
        self.after_calls(ctx);
        self.gauges(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, tag: u64) {
        if tag != 0 {
            if let (Some(calls), Some(d)) = (&mut self.calls, &self.cfg.downstream) {
                calls.on_timer(ctx, d, tag);
                self.after_calls(ctx);
            }
            return;
        }
        let Some(job) = self.working.remove(&timer) else {
            return;
        };
        let failed = self.cfg.error_rate > 0.0 && ctx.rng().unit() < self.cfg.error_rate;
        let answer = if failed {
            RowAnswer {
                status: 500,
                version: None,
                no_retry: false,
            }
        } else {
            self.row.apply(ctx, job.from, &job.req.op)
        };
        self.served += 1;
        self.errors += u64::from(failed);
        ctx.record_request(!failed, ctx.now_us() - job.arrived_us);
        let r = Response {
            trace_id: job.req.trace_id,
            req_id: job.req.req_id,
            status: answer.status,
            no_retry: answer.no_retry,
            replayed: false,
            version: answer.version,
        };
        ctx.send(job.from, Payload::Response(r));
        if let Some(next) = self.queue.pop_front() {
            self.start(ctx, next);
        }
        self.after_calls(ctx);
        self.gauges(ctx);
    }

    fn on_restart(&mut self) {
        self.queue.clear();
        self.working.clear();
        if let Some(c) = &mut self.calls {
            c.restart();
        }
    }

    fn settings(&self) -> Option<super::ModelSpec> {
        super::spec(self.cfg.clone())
    }

    fn set_settings(&mut self, next: super::ModelSpec) -> Result<(), String> {
        let cfg: ServiceConfig = super::take(next)?;
        // The downstream targets were resolved when the run was built; their policies may change.
        let targets = |c: &ServiceConfig| {
            c.downstream
                .as_ref()
                .map(|d| d.calls.iter().map(|c| c.target.clone()).collect::<Vec<_>>())
        };
        if targets(&cfg) != targets(&self.cfg) {
            return Err("the downstream calls' targets cannot change during a run".into());
        }
        if let (Some(calls), Some(d)) = (&mut self.calls, &cfg.downstream) {
            calls.set_policies(d);
        }
        self.cfg = cfg;
        Ok(())
    }

    fn status(&self) -> String {
        if let Some(s) = self.cfg.outage {
            return format!("outage ({s})");
        }
        let mut t = format!("{} busy, {} queued", self.busy(), self.queue.len());
        if let Some(open) = self.calls.as_ref().and_then(Calls::open_breakers) {
            t.push_str(&format!(", breaker open to {open}"));
        }
        t
    }

    fn availability_model(&self) -> Option<AvailabilityModel> {
        let own = if self.cfg.outage.is_some() {
            0.0
        } else {
            1.0 - self.cfg.error_rate
        };
        let (calls, optional, need, fallback) = match (&self.calls, &self.cfg.downstream) {
            (Some(c), Some(d)) => (
                c.targets().to_vec(),
                d.calls.iter().map(|c| c.fallback).collect(),
                d.need(),
                d.fallback,
            ),
            _ => (Vec::new(), Vec::new(), 0, false),
        };
        Some(AvailabilityModel {
            own,
            calls,
            optional,
            need,
            fallback,
        })
    }

    fn view(&self) -> crate::view::NodeView {
        crate::view::NodeView::Service(crate::view::ServiceView {
            queued: self.queue.len(),
            queue_limit: self.cfg.queue_limit,
            busy: self.busy(),
            workers: self.cfg.concurrency,
            outage: self.cfg.outage,
            served: self.served,
            errors: self.errors,
            shed: self.shed,
            overloaded: self.overloaded,
            attempts_received: self.attempts_received,
            outage_answers: self.outage_answers,
            downstream: match (&self.calls, &self.cfg.downstream) {
                (Some(c), Some(d)) => Some(c.view(d)),
                _ => None,
            },
            row: self.row.view(),
        })
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            (
                "workers busy".into(),
                format!("{} of {}", self.busy(), self.cfg.concurrency),
            ),
            (
                "queue".into(),
                format!("{} of {}", self.queue.len(), self.cfg.queue_limit),
            ),
            ("served".into(), self.served.to_string()),
            ("errors".into(), self.errors.to_string()),
            ("shed (503)".into(), self.shed.to_string()),
            (
                "attempts received".into(),
                self.attempts_received.to_string(),
            ),
            (
                "overloaded (503, do not retry)".into(),
                self.overloaded.to_string(),
            ),
            ("outage answers".into(), self.outage_answers.to_string()),
            (
                "fallbacks".into(),
                (self.fallbacks + self.calls.as_ref().map_or(0, Calls::fallbacks)).to_string(),
            ),
        ]
        .into_iter()
        .chain(self.calls.iter().flat_map(Calls::inspect))
        .chain(self.row.inspect())
        .collect()
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        let mut c = vec![
            ("served", self.served as i64),
            ("errors", self.errors as i64),
            ("shed", self.shed as i64),
            ("attempts_received", self.attempts_received as i64),
            ("overloaded", self.overloaded as i64),
            ("outage", self.outage_answers as i64),
            (
                "fallbacks",
                (self.fallbacks + self.calls.as_ref().map_or(0, Calls::fallbacks)) as i64,
            ),
            ("queued", self.queue.len() as i64),
            ("busy", self.busy() as i64),
        ];
        if let Some(calls) = &self.calls {
            c.extend(calls.counters());
        }
        // Only for a service that holds a row someone reads or writes.
        self.row.counters(&mut c);
        c
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}
