//! The scenarios the page carries: the one it opens with and the sandbox's templates (the
//! samples the test suites run).

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
    include_str!("../../../tests/scenarios/out-of-order-writes.json"),
];

/// The templates' titles, read once (the view runs every frame). Only the title is read, not
/// the whole scenario: the picker is drawn in the first frame, and twenty scenarios parsed and
/// checked there would delay it (a template is checked when it is chosen, and by the tests).
pub fn template_titles() -> &'static [String] {
    static TITLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TITLES.get_or_init(|| {
        TEMPLATES
            .iter()
            .map(|t| {
                serde_json::from_str::<serde_json::Value>(t)
                    .ok()
                    .and_then(|v| Some(v.get("title")?.as_str()?.to_string()))
                    .unwrap_or_default()
            })
            .collect()
    })
}

/// The templates by topic, for the picker: (topic, indexes into [`TEMPLATES`]). Every template is
/// in exactly one group (a unit test checks it).
pub const TEMPLATE_GROUPS: &[(&str, &[usize])] = &[
    ("Requests, timeouts and retries", &[0, 1, 5, 6, 7, 8]),
    ("Circuit breakers and idempotency", &[2, 3]),
    ("Queues and capacity", &[4, 14]),
    ("Data: caches, replicas, event logs", &[9, 11, 12, 10, 20]),
    ("Consensus", &[13]),
    ("Transactions: sagas and 2PC", &[15, 16, 17, 18]),
    ("Observability", &[19]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::scenario::Scenario;

    #[test]
    fn every_template_is_in_exactly_one_group() {
        let mut seen: Vec<usize> = TEMPLATE_GROUPS
            .iter()
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..TEMPLATES.len()).collect::<Vec<_>>());
    }

    #[test]
    fn every_template_title_is_the_scenarios_own() {
        for (t, title) in TEMPLATES.iter().zip(template_titles()) {
            assert_eq!(&Scenario::parse(t).expect("valid").title, title);
            assert!(!title.is_empty());
        }
    }
}
