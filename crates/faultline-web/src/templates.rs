//! The scenarios the page carries: the one it opens with and the sandbox's templates (the
//! samples the test suites run).

use faultline_core::scenario::Scenario;

/// The scenario the page opens with.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../tests/scenarios/client-server.json");

/// Scenarios the sandbox can start from (the samples the test suites run), the default first.
pub const TEMPLATES: &[&str] = &[
    DEFAULT_SCENARIO,
    include_str!("../../../tests/scenarios/retry-storm.json"),
    include_str!("../../../tests/scenarios/breaker.json"),
    include_str!("../../../tests/scenarios/idempotent-checkout.json"),
    include_str!("../../../tests/scenarios/mm1.json"),
    include_str!("../../../tests/scenarios/faults.json"),
    include_str!("../../../tests/scenarios/chain.json"),
    include_str!("../../../tests/scenarios/fanout.json"),
    include_str!("../../../tests/scenarios/hedging.json"),
    include_str!("../../../tests/scenarios/cache.json"),
    include_str!("../../../tests/scenarios/event-sourcing.json"),
    include_str!("../../../tests/scenarios/kv-cp.json"),
    include_str!("../../../tests/scenarios/kv-ap.json"),
    include_str!("../../../tests/scenarios/raft.json"),
    include_str!("../../../tests/scenarios/queue.json"),
    include_str!("../../../tests/scenarios/saga-orchestrated.json"),
    include_str!("../../../tests/scenarios/saga-choreography.json"),
    include_str!("../../../tests/scenarios/saga-choreography-queue.json"),
    include_str!("../../../tests/scenarios/two-phase-commit.json"),
    include_str!("../../../tests/scenarios/observability.json"),
];

/// The templates' titles, read once (the view runs every frame).
pub fn template_titles() -> &'static [String] {
    static TITLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TITLES.get_or_init(|| {
        TEMPLATES
            .iter()
            .map(|t| Scenario::parse(t).map(|s| s.title).unwrap_or_default())
            .collect()
    })
}
