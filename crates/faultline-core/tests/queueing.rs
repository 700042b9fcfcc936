//! Queueing theory as a check of the engine, the RNG and the client and service models: an
//! M/M/1 queue's mean time in the system is 1 / (mu - lambda) (`docs/models/service.md`, Queueing).

use faultline_core::bench::{mm1_scenario, run_mm1, run_mm1_station};

fn check(rho: f64, customers: u64, seed: u64) {
    let s = mm1_scenario(customers, rho, seed).expect("a valid benchmark");
    let out = run_mm1(&s).expect("runs to completion");
    assert_eq!(out.customers, customers, "every customer was served");
    let err = out.measured_mean_response_ms / out.theoretical_mean_response_ms - 1.0;
    assert!(
        err.abs() < 0.05,
        "rho {rho}: measured {:.4} ms, theory {:.4} ms ({:+.1} %); reproduce: faultline bench mm1 --model services --customers {customers} --rho {rho} --seed {seed}",
        out.measured_mean_response_ms,
        out.theoretical_mean_response_ms,
        err * 100.0
    );
}

#[test]
fn mm1_mean_response_time_at_half_load() {
    check(0.5, 200_000, 1);
}

#[test]
fn mm1_mean_response_time_at_80_percent_load() {
    // Higher utilisation converges more slowly: more customers.
    check(0.8, 400_000, 2);
}

/// The one-node station (the benchmark's default, the SimPy model's twin) obeys the same law.
#[test]
fn the_station_matches_queueing_theory_at_both_loads() {
    for (rho, customers, seed) in [(0.5, 200_000, 3), (0.8, 400_000, 4)] {
        let out = run_mm1_station(customers, rho, seed).expect("runs to completion");
        assert_eq!(out.customers, customers, "every customer was served");
        let err = out.measured_mean_response_ms / out.theoretical_mean_response_ms - 1.0;
        assert!(
            err.abs() < 0.05,
            "rho {rho}: measured {:.4} ms, theory {:.4} ms ({:+.1} %); reproduce: faultline bench mm1 --model station --customers {customers} --rho {rho} --seed {seed}",
            out.measured_mean_response_ms,
            out.theoretical_mean_response_ms,
            err * 100.0
        );
    }
    assert!(run_mm1_station(1_000, 1.0, 1).is_err());
    assert!(run_mm1_station(0, 0.5, 1).is_err());
}

#[test]
fn absurd_benchmark_parameters_are_refused() {
    assert!(
        mm1_scenario(1_000, 1.0, 1).is_err(),
        "rho 1 never reaches a steady state"
    );
    assert!(mm1_scenario(1_000, -0.5, 1).is_err());
    assert!(mm1_scenario(0, 0.5, 1).is_err());
    assert!(
        mm1_scenario(u64::MAX, 0.5, 1).is_err(),
        "more than an hour of simulated time"
    );
}
