//! The M/M/1 benchmark: the textbook queue, built from the real models.
//!
//! Poisson arrivals (a `client` with an open workload) at rate lambda reach one worker (a
//! `service` with concurrency 1 and exponential service times at rate mu) over a zero-latency
//! link. Queueing theory gives the mean time in the system, 1 / (mu - lambda) (see
//! `semantics.md`, Queueing), so the benchmark doubles as a correctness check of the engine, the
//! RNG and both models. The core never reads a clock: callers time [`run_mm1`] themselves.

use crate::models::ModelSpec;
use crate::models::client::{ClientConfig, Workload};
use crate::models::service::ServiceConfig;
use crate::scenario::{LinkSpec, NodeSpec, Scenario};
use crate::world::RunStatus;
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

/// The largest customer count that fits in one simulated hour at utilisation `rho`, with a
/// margin for the randomness of arrivals.
pub fn max_customers(rho: f64) -> u64 {
    let lambda_per_ms = rho / SERVICE_MEAN_MS;
    (limits::MAX_DURATION_US as f64 / 1000.0 * lambda_per_ms * 0.9) as u64
}

/// The M/M/1 scenario with `customers` arrivals at utilisation `rho` (0 < rho < 1).
pub fn mm1_scenario(customers: u64, rho: f64, seed: u64) -> Result<Scenario, String> {
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
    };
    let service = ServiceConfig {
        latency: Dist::Exponential {
            mean_ms: SERVICE_MEAN_MS,
        },
        concurrency: 1,
        queue_limit: 1_000_000,
        error_rate: 0.0,
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
            Workload::Closed { .. } => 0.0,
        },
        _ => 0.0,
    }
}
