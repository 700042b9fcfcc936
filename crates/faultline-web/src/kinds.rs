//! What the page decides per model kind, each as a match with no catch-all: a new model in the
//! core is a compiler error here until the page says how to treat it.

use faultline_core::view::ModelKind;

/// Models on a request's path (a client, the services it calls, a payment service): drawn as
/// circles, and charted by latency and rates. Every other model is drawn as a rounded square
/// with its kind, and charted by the gauges it keeps (term, depth, lag).
pub fn on_request_path(kind: ModelKind) -> bool {
    match kind {
        ModelKind::Client | ModelKind::Service | ModelKind::Payment => true,
        ModelKind::Database
        | ModelKind::Cache
        | ModelKind::App
        | ModelKind::EventLog
        | ModelKind::OrderWriter
        | ModelKind::Projection
        | ModelKind::Raft
        | ModelKind::Producer
        | ModelKind::Queue
        | ModelKind::Consumer
        | ModelKind::SagaOrchestrator
        | ModelKind::SagaParticipant
        | ModelKind::TpcCoordinator
        | ModelKind::TpcParticipant
        | ModelKind::KvReplica
        | ModelKind::KvClient => false,
    }
}

/// Models that make requests and time them (the clients of every model family): their
/// successes, failures, attempts and latency are a run's key figures.
pub fn makes_requests(kind: ModelKind) -> bool {
    match kind {
        ModelKind::Client | ModelKind::KvClient | ModelKind::App => true,
        ModelKind::Service
        | ModelKind::Payment
        | ModelKind::Database
        | ModelKind::Cache
        | ModelKind::EventLog
        | ModelKind::OrderWriter
        | ModelKind::Projection
        | ModelKind::Raft
        | ModelKind::Producer
        | ModelKind::Queue
        | ModelKind::Consumer
        | ModelKind::SagaOrchestrator
        | ModelKind::SagaParticipant
        | ModelKind::TpcCoordinator
        | ModelKind::TpcParticipant
        | ModelKind::KvReplica => false,
    }
}

/// The model's name for people, drawn under a square node.
pub fn label(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Client => "client",
        ModelKind::Service => "service",
        ModelKind::Payment => "payments",
        ModelKind::Database => "database",
        ModelKind::Cache => "cache",
        ModelKind::App => "app",
        ModelKind::EventLog => "event log",
        ModelKind::OrderWriter => "writer",
        ModelKind::Projection => "projection",
        ModelKind::Raft => "raft",
        ModelKind::Producer => "producer",
        ModelKind::Queue => "queue",
        ModelKind::Consumer => "consumer",
        ModelKind::SagaOrchestrator => "orchestrator",
        ModelKind::SagaParticipant => "saga step",
        ModelKind::TpcCoordinator => "coordinator",
        ModelKind::TpcParticipant => "participant",
        ModelKind::KvReplica => "replica",
        ModelKind::KvClient => "kv client",
    }
}
