//! The scenarios the page carries and offers: the one it opens with, in the page, and the
//! sandbox's templates (the samples the test suites run), fetched when a learner picks one so
//! that they are not in the first download.

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

/// The scenario the page opens with (template 0, the only one in the page itself).
pub const DEFAULT_SCENARIO: &str = include_str!("../../../tests/scenarios/client-server.json");

/// Lists the templates once: their file names for the page, and (for the unit tests, which
/// read them natively) their text.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        /// The templates' files in `tests/scenarios/` (without `.json`), the default first.
        pub const TEMPLATE_NAMES: &[&str] = &[$($name),*];
        /// The templates' text, in the order of [`TEMPLATE_NAMES`].
        #[cfg(test)]
        pub const TEMPLATES: &[&str] =
            &[$(include_str!(concat!("../../../tests/scenarios/", $name, ".json"))),*];
    };
}

templates![
    "client-server",
    "retry-storm",
    "breaker",
    "idempotent-checkout",
    "mm1",
    "faults",
    "chain",
    "fanout",
    "hedging",
    "cache",
    "event-sourcing",
    "kv-cp",
    "kv-ap",
    "raft",
    "queue",
    "saga-orchestrated",
    "saga-choreography",
    "saga-choreography-queue",
    "two-phase-commit",
    "observability",
    "out-of-order-writes",
];

/// The templates' titles, in the order of [`TEMPLATE_NAMES`] (read from the files at build time,
/// so the picker is drawn without any template in the page).
pub fn template_titles() -> &'static [&'static str] {
    static TITLES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    TITLES.get_or_init(|| {
        TEMPLATE_NAMES
            .iter()
            .map(|n| {
                SCENARIO_TITLES
                    .iter()
                    .find(|(file, _)| file == n)
                    .map_or("", |(_, title)| title)
            })
            .collect()
    })
}

/// Where template `i` is, relative to the page (Trunk's build hook copies `tests/scenarios/`
/// to `scenarios/` beside it), with the samples' version.
pub fn template_url(i: usize) -> Option<String> {
    let name = TEMPLATE_NAMES.get(i)?;
    Some(format!("scenarios/{name}.json?v={SCENARIOS_VERSION}"))
}

/// The templates by topic, for the picker: (topic, indexes into [`TEMPLATE_NAMES`]). Every
/// template is in exactly one group (a unit test checks it).
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
        faultline_core::order::sort(&mut seen);
        assert_eq!(seen, (0..TEMPLATE_NAMES.len()).collect::<Vec<_>>());
    }

    #[test]
    fn the_default_scenario_is_the_first_template() {
        assert_eq!(TEMPLATES[0], DEFAULT_SCENARIO);
        assert_eq!(
            template_url(1).as_deref(),
            Some(format!("scenarios/retry-storm.json?v={SCENARIOS_VERSION}").as_str())
        );
        assert_eq!(template_url(TEMPLATE_NAMES.len()), None);
    }

    #[test]
    fn every_template_title_is_the_scenarios_own() {
        for (t, title) in TEMPLATES.iter().zip(template_titles()) {
            assert_eq!(Scenario::parse(t).expect("valid").title, *title);
            assert!(!title.is_empty());
        }
    }
}
