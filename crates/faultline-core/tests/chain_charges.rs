//! A charge made behind another service: `shoppers -> checkout -> payments`, checkout charging
//! through its downstream call. Retries at both layers charge twice unless the idempotency key
//! travels from where the order starts to the payment service (the capstone lesson's chain).

use faultline_core::NodeId;
use faultline_core::scenario::Scenario;

/// The chain, with payments slower than checkout's 1 s call timeout from 2 s to 8 s, so calls
/// time out while their charges go through.
fn chain(app_keys: bool, call_keys: bool, charge: bool) -> serde_json::Value {
    let mut call = serde_json::json!({"target": "payments", "timeout_ms": 1000,
        "retry": {"max_attempts": 3}, "idempotency_keys": call_keys});
    if charge {
        call["charge_cents"] = 4999.into();
    }
    serde_json::json!({
        "version": 1, "seed": 7, "duration_ms": 12000,
        "nodes": [
            {"id": "shoppers", "model": {"type": "client", "target": "checkout",
                "workload": {"type": "open", "rate_per_s": 20}, "timeout_ms": 3000,
                "retry": {"max_attempts": 3}, "idempotency_keys": app_keys}},
            {"id": "checkout", "model": {"type": "service", "concurrency": 64,
                "downstream": {"calls": [call]}}},
            {"id": "payments", "model": {"type": "payment",
                "latency": {"type": "lognormal", "median_ms": 150, "sigma": 0.4}}}
        ],
        "links": [{"a": "shoppers", "b": "checkout"}, {"a": "checkout", "b": "payments"}],
        "interventions": [
            {"do": "set", "at_ms": 2000, "node": "payments", "param": "latency",
             "value": {"type": "lognormal", "median_ms": 1200, "sigma": 0.4}},
            {"do": "set", "at_ms": 8000, "node": "payments", "param": "latency",
             "value": {"type": "lognormal", "median_ms": 150, "sigma": 0.4}}
        ]
    })
}

/// Runs the chain; returns a counter reader per node (shoppers, checkout, payments).
fn run(doc: serde_json::Value) -> impl Fn(u16, &str) -> i64 {
    let s = Scenario::parse(&doc.to_string()).expect("valid");
    let mut w = s.build(None).expect("builds");
    w.run_until(s.duration_us(), u64::MAX);
    let counters: Vec<Vec<(&'static str, i64)>> =
        (0..3).map(|i| w.node(NodeId(i)).counters()).collect();
    move |node, k| {
        counters[node as usize]
            .iter()
            .find(|(n, _)| *n == k)
            .map_or(0, |(_, v)| *v)
    }
}

const PAYMENTS: u16 = 2;

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_call_without_charge_cents_is_a_plain_call_the_payment_service_refuses() {
    let c = run(chain(false, false, false));
    assert_eq!(c(PAYMENTS, "charges"), 0);
    assert!(c(PAYMENTS, "invalid") > 100, "amount 0 fails validation");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn retries_behind_a_service_charge_twice_without_keys() {
    let c = run(chain(false, false, true));
    assert!(c(PAYMENTS, "charges") > 200);
    assert!(
        c(PAYMENTS, "duplicate_charges") > 30,
        "timed-out calls were charged, and retried"
    );
    assert_eq!(c(PAYMENTS, "replays"), 0);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_key_made_in_the_middle_misses_the_retries_from_upstream() {
    // Checkout's own key covers its retries; the app's retry is a new request to checkout,
    // with a new key, and charges again.
    let none = run(chain(false, false, true))(PAYMENTS, "duplicate_charges");
    let c = run(chain(false, true, true));
    assert!(c(PAYMENTS, "replays") + c(PAYMENTS, "conflicts") > 0);
    let dup = c(PAYMENTS, "duplicate_charges");
    assert!(dup > 0 && dup < none, "fewer, not none: {dup} vs {none}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_key_made_where_the_order_starts_and_passed_along_charges_once() {
    let c = run(chain(true, true, true));
    assert_eq!(c(PAYMENTS, "duplicate_charges"), 0);
    assert!(c(0, "retries") > 10, "the app retried: {}", c(0, "retries"));
    assert!(c(1, "downstream_retries") > 10, "checkout retried");
    assert!(
        c(PAYMENTS, "replays") + c(PAYMENTS, "conflicts") > 10,
        "repeats got the stored result, or a 409 while the first still ran"
    );
}
