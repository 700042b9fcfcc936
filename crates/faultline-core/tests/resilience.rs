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

type Counters = Vec<(&'static str, i64)>;

const CHECKOUT: &str = include_str!("../../../tests/scenarios/idempotent-checkout.json");

/// Runs the checkout with changes to the client's and the payment service's settings; returns
/// the payment service's counters and the client's.
fn checkout(
    client: &[(&str, serde_json::Value)],
    payment: &[(&str, serde_json::Value)],
) -> (Counters, Counters) {
    let mut doc: serde_json::Value = serde_json::from_str(CHECKOUT).expect("JSON");
    for (k, v) in client {
        doc["nodes"][0]["model"][*k] = v.clone();
    }
    for (k, v) in payment {
        doc["nodes"][1]["model"][*k] = v.clone();
    }
    let s = Scenario::parse(&doc.to_string()).expect("valid");
    let mut w = s.build(None).expect("builds");
    w.run_until(s.duration_us(), u64::MAX);
    (w.node(NodeId(1)).counters(), w.node(NodeId(0)).counters())
}

fn get(c: &[(&'static str, i64)], k: &str) -> i64 {
    c.iter().find(|(n, _)| *n == k).map_or(0, |(_, v)| *v)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn idempotency_keys_prevent_duplicate_charges_that_retries_cause_without_them() {
    let (with, client) = checkout(&[], &[]);
    assert_eq!(get(&with, "duplicate_charges"), 0, "{with:?}");
    assert!(
        get(&with, "replays") > 10,
        "retries after a charge got its stored result: {with:?}"
    );
    assert!(
        get(&with, "conflicts") > 10,
        "retries during a charge got 409: {with:?}"
    );
    assert!(get(&client, "retries") > 50, "{client:?}");
    let (without, _) = checkout(&[("idempotency_keys", false.into())], &[]);
    assert!(
        get(&without, "duplicate_charges") > 20,
        "without keys, retries charge again: {without:?}"
    );
    assert_eq!(get(&without, "replays"), 0);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_pruned_key_starts_a_new_request() {
    // Keys kept for no time at all: a retry after the first charge completed charges again.
    let (pruned, _) = checkout(&[], &[("retention_ms", 0.into())]);
    assert!(get(&pruned, "duplicate_charges") > 0, "{pruned:?}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn invalid_amounts_charge_nothing_and_store_nothing() {
    let (p, c) = checkout(&[("charge_cents", 0.into())], &[]);
    assert_eq!(
        (get(&p, "charges"), get(&p, "replays"), get(&p, "conflicts")),
        (0, 0, 0),
        "{p:?}"
    );
    assert!(get(&p, "invalid") > 100);
    assert_eq!(get(&c, "successes"), 0);
    let (p, _) = checkout(&[("charge_cents", 2_000_000.into())], &[]);
    assert_eq!(get(&p, "charges"), 0, "over the limit: {p:?}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_stored_failure_is_replayed_not_retried_into_a_charge() {
    // Every execution fails: the first result (500) is stored and replayed to the retries, so
    // retrying never turns into a charge.
    let (p, _) = checkout(&[], &[("error_rate", 1.into())]);
    assert_eq!(get(&p, "charges"), 0);
    assert!(
        get(&p, "replays") > 100,
        "the stored 500 was replayed: {p:?}"
    );
}

/// Under total failure, the load a client puts on its target per user request: attempts sent
/// over logical requests.
fn amplification(budget: serde_json::Value) -> f64 {
    let text = r#"{"version": 1, "seed": 3, "duration_ms": 120000,
      "nodes": [
        {"id": "c", "model": {"type": "client", "target": "s", "workload": {"type": "open", "rate_per_s": 50},
          "timeout_ms": 1000, "retry": {"max_attempts": 3}}},
        {"id": "s", "model": {"type": "service", "latency": {"type": "constant", "ms": 1}, "error_rate": 1, "concurrency": 100}}],
      "links": [{"a": "c", "b": "s", "latency": {"type": "constant", "ms": 5}}]}"#;
    let mut doc: serde_json::Value = serde_json::from_str(text).expect("JSON");
    doc["nodes"][0]["model"]["retry"]["budget"] = budget;
    let s = Scenario::parse(&doc.to_string()).expect("valid");
    let mut w = s.build(None).expect("builds");
    w.run_until(s.duration_us(), u64::MAX);
    let c = w.node(NodeId(0)).counters();
    get(&c, "attempts") as f64 / get(&c, "requests") as f64
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_retry_budget_caps_the_load_of_a_total_failure_as_the_sre_book_says() {
    // SRE book: with only a per-request cap of 3 attempts, load grows to just under 3x; with a
    // 10 % per-client budget, to about 1.1x.
    let capped = amplification(serde_json::Value::Null);
    assert!(
        (2.9..=3.0).contains(&capped),
        "only the per-request cap: {capped:.3}x"
    );
    let budget = amplification(serde_json::json!({"type": "ratio", "ratio": 0.1}));
    assert!(
        (1.05..=1.12).contains(&budget),
        "with a 10 % budget: {budget:.3}x"
    );
    // gRPC's throttling stops retrying once half the tokens are gone: close to 1x.
    let grpc = amplification(
        serde_json::json!({"type": "token_bucket", "max_tokens": 10, "token_ratio": 0.1}),
    );
    assert!((1.0..1.01).contains(&grpc), "gRPC token bucket: {grpc:.4}x");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn grpc_backoff_follows_proposal_a6_and_caps_attempts_at_five() {
    let text = r#"{"version": 1, "seed": 5, "duration_ms": 20000,
      "nodes": [
        {"id": "c", "model": {"type": "client", "target": "s", "workload": {"type": "open", "rate_per_s": 5},
          "timeout_ms": 1000, "retry": {"max_attempts": 10, "backoff": {"type": "grpc", "base_ms": 100, "multiplier": 2, "cap_ms": 500}}}},
        {"id": "s", "model": {"type": "service", "latency": {"type": "constant", "ms": 1}, "error_rate": 1, "concurrency": 100}}],
      "links": [{"a": "c", "b": "s", "latency": {"type": "constant", "ms": 5}}]}"#;
    let sends = attempt_times(text);
    let finished: Vec<&Vec<u64>> = sends
        .values()
        .filter(|v| v.len() >= 5 || v[0] < 15_000_000)
        .collect();
    assert!(finished.len() > 50);
    for times in finished {
        assert_eq!(
            times.len(),
            5,
            "gRPC caps attempts at 5 though the policy says 10: {times:?}"
        );
        for (n, pair) in times.windows(2).enumerate() {
            // The gap is one round trip (5 + 1 + 5 ms) plus the backoff of retry n + 1.
            let backoff_ms = (pair[1] - pair[0]) as f64 / 1000.0 - 11.0;
            let nominal = (100.0 * 2f64.powi(n as i32)).min(500.0);
            assert!(
                backoff_ms >= nominal * 0.8 - 0.01 && backoff_ms <= nominal * 1.2 + 0.01,
                "retry {}: waited {backoff_ms} ms, expected {nominal} ms +-20 %",
                n + 1
            );
        }
    }
}

fn failing_client(
    retry: serde_json::Value,
    extra: &[(&str, serde_json::Value)],
    cut: bool,
) -> (Counters, faultline_core::metrics::NodeMetrics) {
    let mut doc: serde_json::Value = serde_json::from_str(
        r#"{"version": 1, "seed": 8, "duration_ms": 20000,
      "nodes": [
        {"id": "c", "model": {"type": "client", "target": "s", "workload": {"type": "open", "rate_per_s": 20}, "timeout_ms": 300}},
        {"id": "s", "model": {"type": "service", "latency": {"type": "constant", "ms": 1}, "error_rate": 1, "concurrency": 100}}],
      "links": [{"a": "c", "b": "s", "latency": {"type": "constant", "ms": 5}}]}"#,
    )
    .expect("JSON");
    doc["nodes"][0]["model"]["retry"] = retry;
    for (k, v) in extra {
        doc["nodes"][0]["model"][*k] = v.clone();
    }
    if cut {
        doc["interventions"] = serde_json::json!([{"do": "cut", "at_ms": 0, "a": "c", "b": "s"}]);
    }
    let s = Scenario::parse(&doc.to_string()).expect("valid");
    let mut w = s.build(None).expect("builds");
    w.run_until(s.duration_us(), u64::MAX);
    (w.node(NodeId(0)).counters(), w.metrics(NodeId(0)).clone())
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn only_the_outcomes_listed_in_retry_on_are_retried() {
    let (all, _) = failing_client(serde_json::json!({"max_attempts": 3}), &[], false);
    let attempts = get(&all, "attempts");
    assert!(
        attempts >= 3 * get(&all, "failures") && attempts <= 3 * get(&all, "requests"),
        "three attempts each: {all:?}"
    );
    let (timeouts_only, _) = failing_client(
        serde_json::json!({"max_attempts": 3, "retry_on": ["timeout"]}),
        &[],
        false,
    );
    assert_eq!(
        get(&timeouts_only, "retries"),
        0,
        "500s are not retried when only timeouts are: {timeouts_only:?}"
    );
    let (cut, _) = failing_client(
        serde_json::json!({"max_attempts": 3, "retry_on": ["timeout"]}),
        &[],
        true,
    );
    assert!(get(&cut, "retries") > 100, "timeouts are: {cut:?}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_deadline_ends_a_request_whatever_its_retries() {
    let retry =
        serde_json::json!({"max_attempts": 10, "backoff": {"type": "constant", "base_ms": 100}});
    let (c, m) = failing_client(retry.clone(), &[("deadline_ms", 1000.into())], true);
    let exceeded = m.counters.get("deadline_exceeded").unwrap_or(0) as i64;
    assert!(exceeded > 300, "{c:?}");
    assert_eq!(exceeded, get(&c, "failures"));
    assert_eq!(
        m.latency.max_us(),
        1_000_000,
        "no request outlives its deadline"
    );
    // Without it, ten attempts of 300 ms plus nine pauses of 100 ms: 3.9 s per request.
    let (_, m) = failing_client(retry, &[], true);
    assert_eq!(m.latency.max_us(), 3_900_000);
}

/// The send times of each request's attempts, by trace id.
fn attempt_times(text: &str) -> std::collections::BTreeMap<u64, Vec<u64>> {
    let s = Scenario::parse(text).expect("valid");
    let mut w = s.build(None).expect("builds");
    let mut sends: std::collections::BTreeMap<u64, Vec<u64>> = std::collections::BTreeMap::new();
    loop {
        let status = w.run_until(s.duration_us(), 20_000);
        for e in w.trace_mut().drain() {
            if let TraceKind::Sent {
                payload: faultline_core::msg::Payload::Request(r),
                ..
            } = e.kind
            {
                sends.entry(r.trace_id).or_default().push(e.time_us);
            }
        }
        if status != faultline_core::world::RunStatus::Budget {
            break;
        }
    }
    sends
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn constant_backoff_waits_base_whatever_the_cap() {
    // The AWS post's constant strategy sleeps `base`; `cap` bounds the growing strategies only.
    let text = r#"{"version": 1, "seed": 3, "duration_ms": 5000,
      "nodes": [
        {"id": "c", "model": {"type": "client", "target": "s", "workload": {"type": "open", "rate_per_s": 2},
          "max_requests": 3, "retry": {"max_attempts": 3, "backoff": {"type": "constant", "base_ms": 500, "cap_ms": 100}}}},
        {"id": "s", "model": {"type": "service", "latency": {"type": "constant", "ms": 1}, "error_rate": 1, "concurrency": 100}}],
      "links": [{"a": "c", "b": "s", "latency": {"type": "constant", "ms": 5}}]}"#;
    let sends = attempt_times(text);
    assert_eq!(sends.len(), 3, "{sends:?}");
    for times in sends.values() {
        assert_eq!(times.len(), 3, "{times:?}");
        for pair in times.windows(2) {
            // One round trip (5 + 1 + 5 ms), then the pause: 500 ms, not the cap's 100 ms.
            assert_eq!(pair[1] - pair[0], 11_000 + 500_000, "{times:?}");
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_call_not_permitted_by_the_breaker_is_traced_and_counted() {
    // Resilience4j publishes an event for each call not permitted (CircuitBreakerOnCallNotPermitted)
    // and counts it (numberOfNotPermittedCalls). Here the checkout also crashes and restarts
    // during the outage: its breaker restarts closed, but the rejections it made stay counted.
    let mut doc: serde_json::Value = serde_json::from_str(BREAKER).expect("JSON");
    doc["interventions"]
        .as_array_mut()
        .expect("interventions")
        .extend([
            serde_json::json!({"do": "crash", "at_ms": 15000, "node": "checkout"}),
            serde_json::json!({"do": "restart", "at_ms": 15001, "node": "checkout"}),
        ]);
    let s = Scenario::parse(&doc.to_string()).expect("valid");
    let mut w = s.build(None).expect("builds");
    let mut traced = Vec::new();
    loop {
        let status = w.run_until(s.duration_us(), 20_000);
        for e in w.trace_mut().drain() {
            if let TraceKind::Metric {
                node, name, value, ..
            } = &e.kind
                && name.starts_with("rejected by the breaker")
            {
                assert_eq!(*node, NodeId(0));
                traced.push((e.time_us, name.clone(), *value));
            }
        }
        if status != faultline_core::world::RunStatus::Budget {
            break;
        }
    }
    let before_crash = traced.iter().filter(|(t, ..)| *t < 15_000_000).count();
    assert!(before_crash > 20, "rejections before the crash: {traced:?}");
    assert!(
        traced
            .iter()
            .any(|(_, n, _)| n == "rejected by the breaker (OPEN)"),
        "{traced:?}"
    );
    // Each event carries the running count.
    for (k, (_, _, v)) in traced.iter().enumerate() {
        assert_eq!(*v, k as i64 + 1);
    }
    let report = faultline_core::report::Report::of(&w);
    assert_eq!(
        report.nodes[0].counters["rejected"],
        traced.len() as i64,
        "the report counts every rejection, those before the crash too"
    );
}
