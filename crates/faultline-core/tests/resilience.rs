//! The resilience models in a running world: what a learner would see happen.

use faultline_core::NodeId;
use faultline_core::scenario::Scenario;
use faultline_core::trace::TraceKind;

const BREAKER: &str = include_str!("../../../tests/scenarios/breaker.json");

fn breaker_lines(text: &str, seed: Option<u64>) -> (Vec<(u64, String)>, i64, i64) {
    let s = Scenario::parse(text).expect("valid");
    let mut w = s.build(seed).expect("builds");
    let mut lines = Vec::new();
    loop {
        let status = w.run_until(s.duration_us(), 20_000);
        for e in w.trace_mut().drain() {
            if let TraceKind::State { text, .. } = e.kind
                && text.starts_with("breaker")
            {
                lines.push((e.time_us, text));
            }
        }
        if status != faultline_core::world::RunStatus::Budget {
            break;
        }
    }
    let counters = w.node(NodeId(0)).counters();
    let get = |k: &str| {
        counters
            .iter()
            .find(|(n, _)| *n == k)
            .map_or(0, |(_, v)| *v)
    };
    (lines, get("rejected"), get("attempts"))
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_breaker_opens_in_the_outage_probes_and_closes_after_it() {
    let (lines, rejected, _) = breaker_lines(BREAKER, None);
    let first_open = lines
        .iter()
        .find(|(_, t)| t.contains("CLOSED -> OPEN"))
        .expect("it opened");
    assert!(
        (10_000_000..11_500_000).contains(&first_open.0),
        "opened within 1.5 s of the outage at 10 s: {first_open:?}"
    );
    assert!(
        first_open.1.contains("failure rate") && first_open.1.contains(">= 50 %"),
        "{first_open:?}"
    );
    assert!(rejected > 20, "calls were rejected while open: {rejected}");
    // During the outage every trial fails: HALF_OPEN -> OPEN at least once.
    assert!(
        lines
            .iter()
            .any(|(t, l)| l.contains("HALF_OPEN -> OPEN") && *t < 20_000_000),
        "{lines:?}"
    );
    let closed = lines
        .iter()
        .find(|(_, l)| l.contains("HALF_OPEN -> CLOSED"))
        .expect("it closed again");
    assert!(
        (20_000_000..23_000_000).contains(&closed.0),
        "closed soon after the service came back: {closed:?}"
    );
    // No wait is shorter than the configured 2 s: OPEN -> HALF_OPEN strictly after it.
    let mut opened_at = None;
    for (t, l) in &lines {
        if l.ends_with("calls") || l.contains("-> OPEN") {
            opened_at = Some(*t);
        }
        if l.contains("OPEN -> HALF_OPEN") {
            assert!(
                t - opened_at.expect("opened before") > 2_000_000,
                "{lines:?}"
            );
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn without_a_breaker_every_call_reaches_the_failing_service() {
    let mut doc: serde_json::Value = serde_json::from_str(BREAKER).expect("JSON");
    doc["nodes"][0]["model"]
        .as_object_mut()
        .expect("a model")
        .remove("breaker");
    let no_breaker = doc.to_string();
    let (lines, rejected, attempts_without) = breaker_lines(&no_breaker, None);
    assert!(lines.is_empty() && rejected == 0);
    let (_, _, attempts_with) = breaker_lines(BREAKER, None);
    assert!(
        attempts_with + 100 < attempts_without,
        "the breaker spared the service: {attempts_with} vs {attempts_without} calls"
    );
}
