//! Services calling services: chains, fan-outs, fallbacks, "do not retry", outages, slowness and
//! hedged requests, against the references in `docs/models/service.md` (Retries; Availability).
#![cfg(not(target_arch = "wasm32"))]

use faultline_core::report::{NodeReport, Report};
use faultline_core::scenario::Scenario;
use serde_json::{Value, json};

/// Runs a scenario (as JSON) with a seed to its end.
fn run(s: &Value, seed: u64) -> Report {
    let s = Scenario::parse(&s.to_string()).expect("a valid scenario");
    let mut w = s.build(Some(seed)).expect("builds");
    w.run_until(s.duration_us(), u64::MAX);
    Report::of(&w)
}

fn node<'a>(r: &'a Report, id: &str) -> &'a NodeReport {
    r.nodes.iter().find(|n| n.id == id).expect("a node")
}

fn counter(r: &Report, id: &str, c: &str) -> i64 {
    *node(r, id)
        .counters
        .get(c)
        .unwrap_or_else(|| panic!("{id} has no counter {c}"))
}

fn link(a: &str, b: &str, ms: f64) -> Value {
    json!({"a": a, "b": b, "latency": {"type": "constant", "ms": ms}})
}

/// A client and `layers` services in series (`s1 -> s2 -> ...`), every caller with the same
/// retry policy (`attempts` in all, no backoff); `error_rates[i]` for service `i + 1`.
fn chain(
    error_rates: &[f64],
    attempts: u32,
    workload: Value,
    max_requests: u64,
    duration_ms: f64,
) -> Value {
    let n = error_rates.len();
    let mut nodes = vec![json!({"id": "client", "model": {
        "type": "client", "target": "s1", "workload": workload,
        "max_requests": max_requests,
        "retry": {"max_attempts": attempts}}})];
    let mut links = vec![link("client", "s1", 1.0)];
    for (i, e) in error_rates.iter().enumerate() {
        let mut m = json!({"type": "service", "error_rate": e, "concurrency": 10000,
                           "latency": {"type": "constant", "ms": 1}});
        if i + 1 < n {
            m["downstream"] = json!({"calls": [{"target": format!("s{}", i + 2),
                                               "retry": {"max_attempts": attempts}}]});
            links.push(link(&format!("s{}", i + 1), &format!("s{}", i + 2), 1.0));
        }
        nodes.push(json!({"id": format!("s{}", i + 1), "model": m}));
    }
    json!({"version": 1, "duration_ms": duration_ms, "nodes": nodes, "links": links})
}

fn one_at_a_time() -> Value {
    json!({"type": "closed", "users": 1, "think_ms": 0})
}

/// The Google SRE book: with r retries at each of L layers and every layer failing, the bottom
/// sees (r+1)^L attempts per user request (3 retries at 3 layers: 64).
#[test]
fn retries_at_every_layer_multiply_exactly() {
    for retries in 0..=3u32 {
        for layers in 1..=4u32 {
            // `layers` retrying callers: the client and the services above the bottom one.
            let s = chain(
                &vec![1.0; layers as usize],
                retries + 1,
                one_at_a_time(),
                3,
                600_000.0,
            );
            let r = run(&s, 1);
            let bottom = format!("s{layers}");
            let per_request = counter(&r, &bottom, "attempts_received") as f64 / 3.0;
            assert_eq!(
                per_request,
                f64::from((retries + 1).pow(layers)),
                "{retries} retries at {layers} layers"
            );
            for l in 1..=layers {
                assert_eq!(
                    counter(&r, &format!("s{l}"), "attempts_received"),
                    3 * i64::from((retries + 1).pow(l)),
                    "layer {l} of {layers}, {retries} retries"
                );
            }
            assert_eq!(node(&r, "client").failures, 3);
        }
    }
    // The book's figure: 3 retries at 3 layers, 64 calls on the database for one user action.
    let r = run(&chain(&[1.0; 3], 4, one_at_a_time(), 1, 600_000.0), 1);
    assert_eq!(counter(&r, "s3", "attempts_received"), 64);
}

/// In series latency adds up: each hop's network both ways plus its work.
#[test]
fn latency_adds_up_along_a_chain() {
    for n in 1..=5usize {
        let r = run(&chain(&vec![0.0; n], 1, one_at_a_time(), 20, 60_000.0), 1);
        let c = node(&r, "client");
        assert_eq!(c.successes, 20);
        let lat = c.latency.as_ref().expect("latency");
        // 1 ms each way per link, 1 ms of work per service.
        let expected = 3.0 * n as f64;
        assert!(
            (lat.mean_ms - expected).abs() < 1e-9 && (lat.max_ms - expected).abs() < 1e-9,
            "{n} hops: {lat:?}"
        );
    }
}

/// In series availability multiplies (0.99^5 = 0.95099): measured within three standard errors
/// of the formula, which the report states beside the measure.
#[test]
fn chain_availability_is_the_product_of_the_hops() {
    let rates = [0.01, 0.02, 0.005, 0.03, 0.01];
    let formula: f64 = rates.iter().map(|e| 1.0 - e).product();
    for seed in 1..=3 {
        let s = chain(
            &rates,
            1,
            json!({"type": "open", "rate_per_s": 1000}),
            6_000,
            60_000.0,
        );
        let r = run(&s, seed);
        let c = node(&r, "client");
        let got = c.availability_formula.expect("a formula");
        assert!((got - formula).abs() < 1e-12, "{got} vs {formula}");
        assert_eq!(c.completed, 6_000);
        let measured = c.successes as f64 / c.completed as f64;
        let se = (formula * (1.0 - formula) / c.completed as f64).sqrt();
        assert!(
            (measured - formula).abs() <= 3.0 * se,
            "seed {seed}: measured {measured}, formula {formula}, 3 SE = {}",
            3.0 * se
        );
    }
    // The reference's figures.
    let r = run(&chain(&[0.001; 5], 1, one_at_a_time(), 1, 1_000.0), 1);
    let f = node(&r, "client").availability_formula.unwrap();
    assert!((f - 0.99501).abs() < 5e-6, "{f}");
    let r = run(&chain(&[0.01; 10], 1, one_at_a_time(), 1, 1_000.0), 1);
    let f = node(&r, "client").availability_formula.unwrap();
    assert!((f - 0.90438).abs() < 5e-6, "{f}");
}

/// A fan-out to `n` replicas in parallel, waiting for a quorum, with or without a fallback.
fn fanout(n: usize, wait: Value, error_rate: f64, fallback: bool, requests: u64) -> Value {
    let mut nodes = vec![
        json!({"id": "client", "model": {"type": "client", "target": "api",
            "workload": {"type": "open", "rate_per_s": 500}, "max_requests": requests}}),
        json!({"id": "api", "model": {"type": "service", "concurrency": 10000,
            "latency": {"type": "constant", "ms": 1},
            "downstream": {
                "calls": (0..n).map(|i| json!({"target": format!("r{i}"), "timeout_ms": 100}))
                    .collect::<Vec<_>>(),
                "mode": "parallel", "wait": wait, "fallback": fallback}}}),
    ];
    let mut links = vec![link("client", "api", 1.0)];
    for i in 0..n {
        nodes.push(json!({"id": format!("r{i}"), "model": {"type": "service",
            "concurrency": 10000, "error_rate": error_rate,
            "latency": {"type": "exponential", "mean_ms": 5}}}));
        links.push(link("api", &format!("r{i}"), 1.0));
    }
    json!({"version": 1, "duration_ms": 60_000, "nodes": nodes, "links": links})
}

/// A quorum of k out of n independent replicas: the k-of-n sum (2 of 3 at 0.9: 0.972).
#[test]
fn a_quorum_fan_out_matches_the_k_of_n_formula() {
    let r = run(&fanout(3, json!({"quorum": 2}), 0.1, false, 8_000), 1);
    let c = node(&r, "client");
    let formula = c.availability_formula.unwrap();
    assert!((formula - 0.972).abs() < 1e-12, "{formula}");
    let measured = c.successes as f64 / c.completed as f64;
    let se = (formula * (1.0 - formula) / c.completed as f64).sqrt();
    assert!(
        (measured - formula).abs() <= 3.0 * se,
        "measured {measured}, formula {formula}"
    );
    // Parallel replicas, any one enough: 1 - (1 - 0.99)^2 = 0.9999.
    let r = run(&fanout(2, json!({"quorum": 1}), 0.01, false, 4_000), 1);
    let c = node(&r, "client");
    assert!((c.availability_formula.unwrap() - 0.9999).abs() < 1e-12);
    assert!(c.failures <= 3, "{} failures in 4000", c.failures);
    // Waiting for all three multiplies instead: 0.9^3.
    let r = run(&fanout(3, json!("all"), 0.1, false, 8_000), 2);
    let c = node(&r, "client");
    let formula = c.availability_formula.unwrap();
    assert!((formula - 0.729).abs() < 1e-12);
    let measured = c.successes as f64 / c.completed as f64;
    let se = (formula * (1.0 - formula) / c.completed as f64).sqrt();
    assert!((measured - formula).abs() <= 3.0 * se, "{measured}");
}

/// A fallback degrades gracefully: a dead dependency costs a degraded answer, not a failure.
#[test]
fn a_fallback_answers_200_when_the_calls_fail() {
    let mut s = fanout(2, json!("all"), 0.0, false, 200);
    s["nodes"][2]["model"]["outage"] = json!(503);
    let r = run(&s, 1);
    assert_eq!(node(&r, "client").successes, 0);
    assert_eq!(node(&r, "client").failures, 200);
    assert_eq!(counter(&r, "api", "fallbacks"), 0);
    assert_eq!(node(&r, "client").availability_formula, Some(0.0));

    s["nodes"][1]["model"]["downstream"]["fallback"] = json!(true);
    let r = run(&s, 1);
    assert_eq!(node(&r, "client").successes, 200);
    assert_eq!(counter(&r, "api", "fallbacks"), 200);
    assert_eq!(counter(&r, "r0", "outage"), 200);
    assert_eq!(node(&r, "client").availability_formula, Some(1.0));
}

/// "Overloaded: do not retry": the client honours `no_retry` and sends no retry for those.
#[test]
fn overloaded_answers_are_not_retried() {
    let s = json!({"version": 1, "duration_ms": 20_000, "nodes": [
        {"id": "client", "model": {"type": "client", "target": "server",
            "workload": {"type": "open", "rate_per_s": 50}, "retry": {"max_attempts": 5}}},
        {"id": "server", "model": {"type": "service", "concurrency": 1, "queue_limit": 1000,
            "no_retry_above": 3, "latency": {"type": "constant", "ms": 40}}}],
        "links": [link("client", "server", 1.0)]});
    let r = run(&s, 1);
    let overloaded = counter(&r, "server", "overloaded");
    assert!(overloaded > 100, "{overloaded}");
    assert_eq!(counter(&r, "client", "retries"), 0);
    assert_eq!(node(&r, "client").failures as i64, overloaded);
    // Without the flag the same 503s would be retried.
    let mut s2 = s.clone();
    s2["nodes"][1]["model"]["no_retry_above"] = Value::Null;
    s2["nodes"][1]["model"]["queue_limit"] = json!(3);
    let r = run(&s2, 1);
    assert!(counter(&r, "client", "retries") > 100);
}

/// An outage answers everything at once; slowness stretches the work.
#[test]
fn outage_and_slowness() {
    let base = json!({"version": 1, "duration_ms": 10_000, "nodes": [
        {"id": "client", "model": {"type": "client", "target": "server",
            "workload": {"type": "closed", "users": 1, "think_ms": 0},
            "max_requests": 10, "retry": {"max_attempts": 3}}},
        {"id": "server", "model": {"type": "service",
            "latency": {"type": "constant", "ms": 10}}}],
        "links": [link("client", "server", 1.0)]});
    let mut s = base.clone();
    s["nodes"][1]["model"]["outage"] = json!(503);
    let r = run(&s, 1);
    assert_eq!(node(&r, "client").failures, 10);
    assert_eq!(counter(&r, "server", "outage"), 30);
    assert_eq!(counter(&r, "server", "served"), 0);
    assert_eq!(node(&r, "client").latency.as_ref().unwrap().max_ms, 6.0);

    let mut s = base.clone();
    s["nodes"][1]["model"]["latency_factor"] = json!(3);
    s["nodes"][1]["model"]["extra_latency_ms"] = json!(5);
    let r = run(&s, 1);
    assert_eq!(node(&r, "client").latency.as_ref().unwrap().mean_ms, 37.0);
    // Off, the trace is the one without the settings.
    let mut s = base.clone();
    s["nodes"][1]["model"]["latency_factor"] = json!(1);
    assert_eq!(run(&s, 1).trace_hash, run(&base, 1).trace_hash);
}

/// Dean and Barroso: hedging after about the p95 costs about 5 % more requests and cuts the
/// 99th percentile sharply for a long-tailed service.
#[test]
fn hedging_after_the_p95_cuts_the_tail_for_about_5_percent_more_load() {
    let s = |hedge: Option<f64>| {
        json!({"version": 1, "duration_ms": 120_000, "nodes": [
            {"id": "client", "model": {"type": "client", "target": "server",
                "workload": {"type": "open", "rate_per_s": 100}, "hedge_after_ms": hedge}},
            {"id": "server", "model": {"type": "service", "concurrency": 10000,
                "latency": {"type": "bimodal",
                    "fast": {"type": "lognormal", "median_ms": 10, "sigma": 0.3},
                    "slow": {"type": "uniform", "min_ms": 200, "max_ms": 1000},
                    "slow_ratio": 0.03}}}],
            "links": [link("client", "server", 1.0)]})
    };
    for seed in 1..=3 {
        let plain = run(&s(None), seed);
        let c = node(&plain, "client");
        let p99 = c.latency.as_ref().unwrap().p99_ms;
        // The p95 of this service: its fast mode's (1.645 sigma above the median) plus the
        // network, about 18.4 ms; the slow mode (3 %) is above it.
        let hedged = run(&s(Some(19.0)), seed);
        let h = node(&hedged, "client");
        let hp99 = h.latency.as_ref().unwrap().p99_ms;
        let extra = counter(&hedged, "client", "hedges") as f64 / h.completed as f64;
        assert!(p99 > 200.0, "seed {seed}: the tail without hedging: {p99}");
        assert!(
            hp99 * 5.0 < p99,
            "seed {seed}: p99 {p99} ms without, {hp99} ms with hedging"
        );
        assert!(
            (0.03..=0.08).contains(&extra),
            "seed {seed}: extra load {extra}"
        );
        assert_eq!(
            counter(&hedged, "server", "attempts_received"),
            counter(&hedged, "client", "attempts") + counter(&hedged, "client", "hedges")
        );
    }
}

/// Trace ids propagate: a downstream call's spans nest under the server span that made it, in
/// the user request's trace.
#[test]
fn downstream_spans_nest_under_the_server_span_that_called() {
    let s = chain(&[0.0, 0.0, 0.5], 2, one_at_a_time(), 20, 10_000.0);
    let s = Scenario::parse(&s.to_string()).unwrap();
    let (text, _) = faultline_core::export::otel_spans(&s, s.duration_us()).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let spans: Vec<Value> = v["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["scopeSpans"][0]["spans"].as_array().unwrap().clone())
        .collect();
    let by_id = |id: &Value| spans.iter().find(|s| &s["spanId"] == id);
    let roots = spans
        .iter()
        .filter(|s| s.get("parentSpanId").is_none())
        .count();
    assert_eq!(roots, 20, "one root per user request");
    let traces: std::collections::BTreeSet<String> = spans
        .iter()
        .map(|s| s["traceId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(traces.len(), 20, "one trace per user request");
    for sp in &spans {
        if let Some(p) = sp.get("parentSpanId") {
            let parent = by_id(p).expect("the parent is exported");
            assert_eq!(parent["traceId"], sp["traceId"]);
        }
    }
    // The bottom service's spans are four levels below a root: root, attempt, s1's server span,
    // s1's call attempt, s2's server span, s2's call attempt, s3's server span.
    fn depth<'a>(spans: &'a [Value], mut s: &'a Value) -> usize {
        let mut d = 0;
        while let Some(p) = s.get("parentSpanId") {
            s = spans.iter().find(|x| &x["spanId"] == p).unwrap();
            d += 1;
        }
        d
    }
    let deepest = spans.iter().map(|s| depth(&spans, s)).max().unwrap();
    assert_eq!(deepest, 6);
}

/// An optional call: the request goes on without it; the essential one still decides.
#[test]
fn an_optional_call_is_done_without_and_an_essential_one_is_not() {
    let mut s = fanout(2, json!("all"), 0.0, false, 300);
    s["nodes"][1]["model"]["downstream"]["calls"][1]["fallback"] = json!(true);
    s["nodes"][3]["model"]["outage"] = json!(503);
    let r = run(&s, 1);
    assert_eq!(node(&r, "client").successes, 300);
    assert_eq!(counter(&r, "api", "fallbacks"), 300);
    assert_eq!(counter(&r, "api", "downstream_failures"), 300);
    assert_eq!(node(&r, "client").availability_formula, Some(1.0));
    // The essential call down: no fallback for it.
    s["nodes"][3]["model"]["outage"] = Value::Null;
    s["nodes"][2]["model"]["outage"] = json!(503);
    let r = run(&s, 1);
    assert_eq!(node(&r, "client").successes, 0);
    assert_eq!(counter(&r, "api", "fallbacks"), 0);
    assert_eq!(node(&r, "client").availability_formula, Some(0.0));
}

/// Bad settings are refused with the field's path, never a panic.
#[test]
fn bad_downstream_and_failure_settings_are_named() {
    let good = chain(&[0.0, 0.0], 1, one_at_a_time(), 1, 1_000.0);
    let refused = |path: &str, v: Value| {
        let mut s = good.clone();
        let mut at = &mut s;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            at = match p.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*p],
            };
        }
        at[parts[parts.len() - 1]] = v;
        let e = Scenario::parse(&s.to_string()).expect_err(path);
        e.0[0].path.clone() + ": " + &e.0[0].message
    };
    let e = refused("nodes.1.model.outage", json!(404));
    assert!(e.contains("outage") && e.contains("500 to 599"), "{e}");
    let e = refused("nodes.1.model.latency_factor", json!(0.5));
    assert!(e.contains("latency_factor"), "{e}");
    let e = refused("nodes.1.model.downstream.wait", json!({"quorum": 2}));
    assert!(e.contains("downstream.wait.quorum"), "{e}");
    let e = refused("nodes.1.model.downstream.calls.0.target", json!("nowhere"));
    assert!(
        e.contains("downstream.calls[0].target") && e.contains("nowhere"),
        "{e}"
    );
    let e = refused("nodes.1.model.downstream.calls.0.target", json!("s1"));
    assert!(e.contains("itself"), "{e}");
    let e = refused("nodes.1.model.downstream.calls", json!([]));
    assert!(e.contains("downstream.calls"), "{e}");
    let e = refused(
        "nodes.1.model.downstream.calls.0.retry.max_attempts",
        json!(0),
    );
    assert!(e.contains("downstream.calls[0].retry.max_attempts"), "{e}");
    let e = refused("nodes.0.model.hedge_after_ms", json!(-1));
    assert!(e.contains("hedge_after_ms"), "{e}");
}

/// A downstream call honours "do not retry" like a client does.
#[test]
fn downstream_calls_do_not_retry_overloaded_answers() {
    let mut s = chain(
        &[0.0, 0.0],
        4,
        json!({"type": "open", "rate_per_s": 300}),
        3_000,
        20_000.0,
    );
    s["nodes"][0]["model"]["retry"]["max_attempts"] = json!(1);
    let bottom = &mut s["nodes"][2]["model"];
    bottom["concurrency"] = json!(1);
    bottom["no_retry_above"] = json!(1);
    bottom["latency"] = json!({"type": "constant", "ms": 5});
    let r = run(&s, 1);
    let overloaded = counter(&r, "s2", "overloaded");
    assert!(overloaded > 500, "{overloaded}");
    assert_eq!(counter(&r, "s1", "downstream_retries"), 0);
    assert_eq!(counter(&r, "s1", "downstream_failures"), overloaded);
}

/// Dean and Barroso: a request that waits for all of N leaves, each slow with probability p, is
/// slow with probability 1 - (1 - p)^N (p = 0.01, N = 100: 63 %). A timeout between the fast
/// and the slow mode turns "slow" into "failed", so the client's success rate is (1 - p)^N.
#[test]
fn waiting_for_all_of_n_leaves_is_slow_with_1_minus_1_minus_p_to_the_n() {
    for (n, requests) in [(1usize, 4_000u64), (10, 4_000), (100, 2_000)] {
        let calls: Vec<Value> = (0..n).map(|_| json!({"target": "leaf"})).collect();
        let s = json!({"version": 1, "duration_ms": 120_000, "nodes": [
            {"id": "client", "model": {"type": "client", "target": "root",
                "workload": {"type": "open", "rate_per_s": 50}, "max_requests": requests,
                "timeout_ms": 50}},
            {"id": "root", "model": {"type": "service", "concurrency": 10000,
                "latency": {"type": "constant", "ms": 0},
                "downstream": {"calls": calls, "mode": "parallel"}}},
            {"id": "leaf", "model": {"type": "service", "concurrency": 10000,
                "latency": {"type": "bimodal", "fast": {"type": "constant", "ms": 1},
                    "slow": {"type": "constant", "ms": 100}, "slow_ratio": 0.01}}}],
            "links": [link("client", "root", 1.0), link("root", "leaf", 1.0)]});
        let r = run(&s, 1);
        let c = node(&r, "client");
        assert_eq!(c.completed, requests);
        let fast = 0.99f64.powi(n as i32);
        let measured = c.successes as f64 / c.completed as f64;
        let se = (fast * (1.0 - fast) / c.completed as f64).sqrt();
        assert!(
            (measured - fast).abs() <= 3.0 * se,
            "N = {n}: {measured} fast, expected {fast} (3 SE = {})",
            3.0 * se
        );
    }
}
