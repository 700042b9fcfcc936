//! The M/M/1 benchmark in WebAssembly under Node, for comparison with the native
//! `faultline bench mm1`. Ignored by default (a benchmark measures; a test must not assert a
//! time); run it with `bash bench/run.sh`, which passes `--include-ignored`.
#![cfg(target_arch = "wasm32")]

use faultline_core::bench::{mm1_scenario, run_mm1, run_mm1_station};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
#[ignore]
fn mm1_customers_per_second_in_wasm() {
    let customers = 1_000_000;
    let scenario = mm1_scenario(customers, 0.8, 1).expect("valid");
    // Best of three for each build of the model (see faultline_core::bench), after a run to warm
    // up: the engine's first runs go through the browser's baseline compiler while its
    // optimising one works in the background, a cost paid once per page, not per run, and one
    // the native build (compiled ahead of time) never pays.
    let best = |run: &dyn Fn() -> u64| {
        assert_eq!(run(), customers);
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = js_sys::Date::now();
            assert_eq!(run(), customers);
            best = best.min((js_sys::Date::now() - start) / 1000.0);
        }
        best
    };
    let station = best(&|| run_mm1_station(customers, 0.8, 1).expect("runs").customers);
    let services = best(&|| run_mm1(&scenario).expect("runs").customers);
    wasm_bindgen_test::console_log!(
        "{{\"wasm_customers\": {customers}, \"wasm_seconds\": {station:.3}, \"wasm_customers_per_s\": {:.0}, \"wasm_services_customers_per_s\": {:.0}}}",
        customers as f64 / station,
        customers as f64 / services
    );
}
