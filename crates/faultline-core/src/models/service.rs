//! A service: requests wait in a queue for one of `concurrency` workers, take a time drawn from
//! `latency`, and succeed or fail with `error_rate`.
//!
//! Reference: the M/M/1 and M/M/c queues of queueing theory (see `semantics.md`, Queueing):
//! with exponential service, one worker and Poisson arrivals, the mean time in the system is
//! 1 / (mu - lambda), and it grows without bound as utilisation nears 1. Queue time counts toward
//! the latency a caller sees, as in any real server.
//!
//! Assumptions where the reference is silent: the queue is FIFO; a full queue answers 503 at
//! once (load shedding) without using a worker; a crash loses the queue and the work in progress
//! (callers time out); failures are decided when the work completes.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use crate::idhash::IdMap;

use super::{ConfigError, check_ratio};
use crate::dist::Dist;
use crate::msg::{Payload, Request, Response};
use crate::node::{Ctx, InspectRow, Node, NodeId, TimerId};

fn default_latency() -> Dist {
    Dist::Exponential { mean_ms: 10.0 }
}
fn default_concurrency() -> u32 {
    4
}
fn default_queue_limit() -> u32 {
    100
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
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            latency: default_latency(),
            concurrency: default_concurrency(),
            queue_limit: default_queue_limit(),
            error_rate: 0.0,
        }
    }
}

impl ServiceConfig {
    fn check(&self) -> Result<(), ConfigError> {
        self.latency
            .check()
            .map_err(|(f, m)| (format!("latency.{f}").trim_end_matches('.').to_string(), m))?;
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
        check_ratio("error_rate", self.error_rate)
    }
}

#[derive(Clone, Debug)]
struct Job {
    from: NodeId,
    req: Request,
    arrived_us: u64,
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
    reported: (i64, i64),
}

impl Service {
    /// A service with these settings.
    pub fn new(cfg: ServiceConfig) -> Result<Self, ConfigError> {
        cfg.check()?;
        Ok(Service {
            cfg,
            queue: VecDeque::new(),
            working: IdMap::default(),
            served: 0,
            errors: 0,
            shed: 0,
            reported: (0, 0),
        })
    }

    fn start(&mut self, ctx: &mut Ctx<'_>, job: Job) {
        let t = self.cfg.latency.sample_us(ctx.rng());
        let timer = ctx.set_timer(t, 0);
        self.working.insert(timer, job);
    }

    /// Reports the queue and the busy workers when they changed (a gauge per event would be
    /// most of the cost of a busy service).
    fn gauges(&mut self, ctx: &mut Ctx<'_>) {
        let now = (self.queue.len() as i64, self.working.len() as i64);
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
    fn kind(&self) -> &'static str {
        "service"
    }

    fn on_start(&mut self, _ctx: &mut Ctx<'_>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: Payload) {
        let Payload::Request(req) = msg else { return };
        let job = Job {
            from,
            req,
            arrived_us: ctx.now_us(),
        };
        if self.working.len() < self.cfg.concurrency as usize {
            self.start(ctx, job);
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
            };
            ctx.send(from, Payload::Response(r));
        }
        self.gauges(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: TimerId, _tag: u64) {
        let Some(job) = self.working.remove(&timer) else {
            return;
        };
        let failed = self.cfg.error_rate > 0.0 && ctx.rng().unit() < self.cfg.error_rate;
        let status = if failed { 500 } else { 200 };
        self.served += 1;
        self.errors += u64::from(failed);
        ctx.record_request(!failed, ctx.now_us() - job.arrived_us);
        let r = Response {
            trace_id: job.req.trace_id,
            req_id: job.req.req_id,
            status,
            no_retry: false,
            replayed: false,
        };
        ctx.send(job.from, Payload::Response(r));
        if let Some(next) = self.queue.pop_front() {
            self.start(ctx, next);
        }
        self.gauges(ctx);
    }

    fn on_restart(&mut self) {
        self.queue.clear();
        self.working.clear();
    }

    fn set_param(&mut self, param: &str, value: &serde_json::Value) -> Result<String, String> {
        let (cfg, v) = super::set_param(&self.cfg, param, value, ServiceConfig::check)?;
        self.cfg = cfg;
        Ok(v)
    }

    fn status(&self) -> String {
        format!("{} busy, {} queued", self.working.len(), self.queue.len())
    }

    fn inspect(&self) -> Vec<InspectRow> {
        vec![
            (
                "workers busy".into(),
                format!("{} of {}", self.working.len(), self.cfg.concurrency),
            ),
            (
                "queue".into(),
                format!("{} of {}", self.queue.len(), self.cfg.queue_limit),
            ),
            ("served".into(), self.served.to_string()),
            ("errors".into(), self.errors.to_string()),
            ("shed (503)".into(), self.shed.to_string()),
        ]
    }

    fn counters(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("served", self.served as i64),
            ("errors", self.errors as i64),
            ("shed", self.shed as i64),
        ]
    }

    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}
