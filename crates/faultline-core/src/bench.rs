//! The M/M/1 benchmark: the textbook queue, two ways.
//!
//! - [`run_mm1_station`]: one node holds the queue and the server, as the SimPy model in
//!   `bench/mm1_simpy.py` does: arrivals and service completions are timers on the engine's one
//!   event queue. This measures the engine itself, against SimPy's engine, like for like.
//! - [`run_mm1`]: Poisson arrivals (a `client` with an open workload) reach one worker (a
//!   `service` with concurrency 1) over a zero-latency link: the models the playground runs, with
//!   their per-request bookkeeping, messages and metrics.
//!
//! Queueing theory gives the mean time in the system, 1 / (mu - lambda) (see `docs/models/service.md`,
//! Queueing), so both double as correctness checks of the engine, the RNG and the models. The core
//! never reads a clock: callers time the runs themselves.

use crate::models::ModelSpec;
use crate::models::client::{ClientConfig, Workload};
use crate::models::service::ServiceConfig;
use crate::msg::Payload;
use crate::node::{Ctx, Node, TimerId};
use crate::scenario::{LinkSpec, NodeSpec, Scenario};
use crate::world::{Parts, RunStatus, World};
use crate::{NodeId, dist::Dist, limits};

/// Mean service time, in milliseconds (mu = 10 000 per second). Short, so that ten million
/// customers at high utilisation fit in the simulator's one-hour limit.
pub const SERVICE_MEAN_MS: f64 = 0.1;

/// What one benchmark run measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Mm1Outcome {
    /// Customers that completed.
    pub customers: u64,
    /// Events the engine handled.
    pub events: u64,
    /// Measured mean response time (waiting plus service), ms.
    pub measured_mean_response_ms: f64,
    /// 1 / (mu - lambda), ms.
    pub theoretical_mean_response_ms: f64,
}

/// Checks the benchmark's parameters, so a bad command line gets a message, not a panic.
pub fn check_params(customers: u64, rho: f64) -> Result<(), String> {
    if !(rho > 0.0 && rho < 1.0) {
        return Err(format!(
            "utilisation must be above 0 and below 1, got {rho}"
        ));
    }
    if customers == 0 || customers > max_customers(rho) {
        return Err(format!(
            "customers must be 1 to {} at utilisation {rho} (one simulated hour), got {customers}",
            max_customers(rho)
        ));
    }
    Ok(())
}

/// Timer tags of the station.
const ARRIVAL: u64 = 0;
const DEPARTURE: u64 = 1;

/// An M/M/1 queue as one node: Poisson arrivals, a FIFO line, one server.
#[derive(Clone, Debug)]
struct Station {
    interarrival: Dist,
    service: Dist,
    /// Arrivals still to come.
    left: u64,
    /// Arrival times of the customers in the system; the front one is in service.
    line: std::collections::VecDeque<u64>,
}

impl Station {
    fn serve_next(&mut self, ctx: &mut Ctx<'_>) {
        if !self.line.is_empty() {
            let t = self.service.sample_us(ctx.rng());
            ctx.set_timer(t, DEPARTURE);
        }
    }
    fn next_arrival(&mut self, ctx: &mut Ctx<'_>) {
        if self.left > 0 {
            self.left -= 1;
            let t = self.interarrival.sample_us(ctx.rng());
            ctx.set_timer(t, ARRIVAL);
        }
    }
}

impl Node for Station {
    // The station is a service with one worker and an unbounded line, and shows as one.
    fn model_kind(&self) -> crate::view::ModelKind {
        crate::view::ModelKind::Service
    }
    fn view(&self) -> crate::view::NodeView {
        let busy = usize::from(!self.line.is_empty());
        crate::view::NodeView::Service(crate::view::ServiceView {
            queued: self.line.len() - busy,
            queue_limit: u32::MAX,
            busy,
            workers: 1,
            outage: None,
            served: 0,
            errors: 0,
            shed: 0,
            overloaded: 0,
            attempts_received: 0,
            outage_answers: 0,
            downstream: None,
            row: None,
        })
    }
    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.next_arrival(ctx);
    }
    fn on_message(&mut self, _: &mut Ctx<'_>, _: NodeId, _: Payload) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _: TimerId, tag: u64) {
        let now = ctx.now_us();
        if tag == ARRIVAL {
            self.line.push_back(now);
            if self.line.len() == 1 {
                self.serve_next(ctx);
            }
            self.next_arrival(ctx);
        } else if let Some(arrived) = self.line.pop_front() {
            ctx.record_request(true, now - arrived);
            self.serve_next(ctx);
        }
    }
    fn on_restart(&mut self) {}
    fn settings(&self) -> Option<ModelSpec> {
        None
    }
    fn set_settings(&mut self, _: ModelSpec) -> Result<(), String> {
        Err("the benchmark station has no settings".into())
    }
    fn clone_box(&self) -> Box<dyn Node> {
        Box::new(self.clone())
    }
}

/// Runs `customers` through a one-node M/M/1 station at utilisation `rho`, with the trace off.
pub fn run_mm1_station(customers: u64, rho: f64, seed: u64) -> Result<Mm1Outcome, String> {
    check_params(customers, rho)?;
    let mu = 1.0 / SERVICE_MEAN_MS;
    let lambda = rho * mu;
    let station = Station {
        interarrival: Dist::Exponential {
            mean_ms: 1.0 / lambda,
        },
        service: Dist::Exponential {
            mean_ms: SERVICE_MEAN_MS,
        },
        left: customers,
        line: Default::default(),
    };
    let mut world = World::from_parts(Parts {
        seed,
        names: vec!["station".into()],
        nodes: vec![Box::new(station)],
        links: Vec::new(),
        actions: Vec::new(),
        bucket_us: 60_000_000,
        trace_capacity: 0,
        settings: crate::world::Settings::READ,
    });
    world.trace_mut().disable();
    if let RunStatus::Halted(why) = world.run_until(limits::MAX_DURATION_US, u64::MAX) {
        return Err(why);
    }
    let m = world.metrics(NodeId(0));
    Ok(Mm1Outcome {
        customers: m.latency.count(),
        events: world.events(),
        measured_mean_response_ms: m.latency.mean_us().unwrap_or(0.0) / 1000.0,
        theoretical_mean_response_ms: 1.0 / (mu - lambda),
    })
}

/// The largest customer count that fits in one simulated hour at utilisation `rho`, with a
/// margin for the randomness of arrivals.
pub fn max_customers(rho: f64) -> u64 {
    let lambda_per_ms = rho / SERVICE_MEAN_MS;
    (limits::MAX_DURATION_US as f64 / 1000.0 * lambda_per_ms * 0.9) as u64
}

/// The M/M/1 scenario with `customers` arrivals at utilisation `rho` (0 < rho < 1).
pub fn mm1_scenario(customers: u64, rho: f64, seed: u64) -> Result<Scenario, String> {
    check_params(customers, rho)?;
    let lambda_per_s = rho * 1000.0 / SERVICE_MEAN_MS;
    let client = ClientConfig {
        target: "queue".into(),
        workload: Workload::Open {
            rate_per_s: lambda_per_s,
        },
        timeout_ms: None,
        retry: Default::default(),
        idempotency_keys: false,
        max_requests: Some(customers),
        breaker: None,
        charge_cents: None,
        deadline_ms: None,
        hedge_after_ms: None,
        idempotency_key: None,
        compare_and_set: false,
        writes: Default::default(),
    };
    let service = ServiceConfig {
        latency: Dist::Exponential {
            mean_ms: SERVICE_MEAN_MS,
        },
        concurrency: 1,
        queue_limit: 1_000_000,
        error_rate: 0.0,
        ..Default::default()
    };
    Ok(Scenario {
        version: crate::scenario::FORMAT_VERSION,
        title: format!("M/M/1 at utilisation {rho}"),
        description: String::new(),
        seed,
        duration_ms: limits::MAX_DURATION_US as f64 / 1000.0,
        metrics_bucket_ms: 60_000.0,
        nodes: vec![
            NodeSpec {
                id: "source".into(),
                model: ModelSpec::Client(Box::new(client)),
            },
            NodeSpec {
                id: "queue".into(),
                model: ModelSpec::Service(service),
            },
        ],
        links: vec![LinkSpec::between("source", "queue", Dist::constant_ms(0.0))],
        interventions: Vec::new(),
        chaos: None,
        view: Default::default(),
    })
}

/// Runs the scenario from [`mm1_scenario`] to completion with the trace off.
pub fn run_mm1(scenario: &Scenario) -> Result<Mm1Outcome, String> {
    let mut world = scenario.build(None).map_err(|e| e.to_string())?;
    world.trace_mut().disable();
    if let RunStatus::Halted(why) = world.run_until(scenario.duration_us(), u64::MAX) {
        return Err(why);
    }
    let m = world.metrics(NodeId(0));
    let lambda = scenario_rate_per_ms(scenario);
    let mu = 1.0 / SERVICE_MEAN_MS;
    Ok(Mm1Outcome {
        customers: m.latency.count(),
        events: world.events(),
        measured_mean_response_ms: m.latency.mean_us().unwrap_or(0.0) / 1000.0,
        theoretical_mean_response_ms: 1.0 / (mu - lambda),
    })
}

fn scenario_rate_per_ms(s: &Scenario) -> f64 {
    match &s.nodes[0].model {
        ModelSpec::Client(c) => match c.workload {
            Workload::Open { rate_per_s } => rate_per_s / 1000.0,
            Workload::Closed { .. } | Workload::At { .. } => 0.0,
        },
        _ => 0.0,
    }
}
