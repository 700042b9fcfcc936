//! The linearizability checker on 1,000 operations of one key, in WebAssembly under Node, for
//! comparison with the native `faultline bench lin`. Ignored by default (a benchmark measures; a
//! test must not assert a time). Run it with:
//!
//! ```text
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   cargo test --profile wasm -p faultline-core --target wasm32-unknown-unknown \
//!   --test lin_bench_wasm -- --include-ignored --nocapture
//! ```
#![cfg(target_arch = "wasm32")]

use faultline_core::linearizability::{DEFAULT_BUDGET, Register, Verdict, bench_history, check};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
#[ignore]
fn lin_1000_operations_on_one_key_in_wasm() {
    let history = bench_history(1_000, 5, 1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut budget = DEFAULT_BUDGET;
        let start = js_sys::Date::now();
        assert_eq!(
            check(&Register, &history, &mut budget),
            Verdict::Linearizable
        );
        best = best.min(js_sys::Date::now() - start);
    }
    wasm_bindgen_test::console_log!("{{\"wasm_lin_ops\": 1000, \"wasm_lin_ms\": {best:.3}}}");
}
