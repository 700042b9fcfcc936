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
