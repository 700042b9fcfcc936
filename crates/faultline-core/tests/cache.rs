//! The cache in front of a database (`models::cache`), against Facebook's memcache paper
//! ("Scaling Memcache at Facebook", NSDI 2013, section 3.2.1): with invalidate-on-write and
//! nothing racing, a cache never serves a value older than the database's; a reader's set that
//! lands after a writer's delete puts an old value back until the next write or the TTL; a lost
//! delete does the same; leases refuse the late set; a short TTL bounds how long staleness lasts.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{counters, model, run_to};
use faultline_core::scenario::Scenario;
use faultline_core::world::World;
use serde_json::{Value, json};

const SAMPLE: &str = include_str!("../../../tests/scenarios/cache.json");

fn sample() -> Value {
    serde_json::from_str(SAMPLE).unwrap()
}

fn set_app_loss(s: &mut Value, loss: f64) {
    for l in s["links"].as_array_mut().unwrap() {
        if l["b"] == "cache" && l["a"].as_str().unwrap().starts_with("app") {
            l["loss"] = json!(loss);
        }
    }
}

/// Runs to the end; returns the world (for its trace and nodes).
fn run(s: &Value, seed: u64) -> World {
    run_to(
        s,
        Some(seed),
        s["duration_ms"].as_u64().expect("duration") * 1000,
    )
}

/// One app, one operation at a time, no loss: nothing ever races.
fn sequential(strategy: &str) -> Value {
    let mut s = sample();
    s["nodes"].as_array_mut().unwrap().remove(1); // app2
    s["links"]
        .as_array_mut()
        .unwrap()
        .retain(|l| l["a"] != "app2");
    s["view"]["positions"]
        .as_object_mut()
        .unwrap()
        .remove("app2");
    let app = model(&mut s, "app1");
    app["strategy"] = json!(strategy);
    app["max_in_flight"] = json!(1);
    app["write_rate_per_s"] = json!(10);
    s
}

#[test]
fn invalidate_on_write_without_races_or_loss_never_serves_a_stale_read() {
    for strategy in ["invalidate_on_write", "write_through"] {
        for seed in 1..=5 {
            let w = run(&sequential(strategy), seed);
            let c = counters(&w, "cache");
            let app = counters(&w, "app1");
            // Write-through fills the cache on writes, so it misses only at the start.
            assert!(
                c["hits"] > 500 && c["misses"] > 0,
                "{strategy} {seed}: {c:?}"
            );
            assert!(app["writes"] > 100, "{strategy} {seed}: {app:?}");
            assert_eq!(c["stale_reads"], 0, "{strategy} seed {seed}: {c:?}");
            assert_eq!(c["max_stale_ms"], 0);
            assert_eq!(app["timeouts"], 0);
        }
    }
}

#[test]
fn cache_aside_with_ttl_only_is_stale_by_design_and_the_ttl_bounds_it() {
    // Writes leave the cached copy alone: reads after a write are stale until the TTL expires.
    let mut s = sequential("cache_aside");
    model(&mut s, "cache")["ttl_ms"] = json!(2000);
    for seed in 1..=3 {
        let w = run(&s, seed);
        let c = counters(&w, "cache");
        assert!(c["stale_reads"] > 100, "seed {seed}: {c:?}");
        // A copy is served at most 2 s after it was stored, and the version it holds was the
        // database's when the database read arrived, a few ms before: no read is staler than
        // the TTL plus that read-to-set time (measured: under 100 ms here).
        assert!(c["max_stale_ms"] <= 2100, "seed {seed}: {c:?}");
        assert!(c["max_stale_ms"] > 1000, "seed {seed}: {c:?}");
    }
}

#[test]
fn counters_add_up() {
    // Without loss or timeouts: every miss is one database read and one set; every write one
    // database write and one delete; the database serves exactly those.
    let s = sample();
    let w = run(&s, 4);
    let c = counters(&w, "cache");
    let db = counters(&w, "db");
    let (a1, a2) = (counters(&w, "app1"), counters(&w, "app2"));
    assert_eq!(a1["timeouts"] + a2["timeouts"], 0);
    // A few operations may still be in flight at the end.
    let writes = a1["writes"] + a2["writes"];
    assert!(
        (writes - db["db_writes"]).abs() <= 4,
        "{a1:?} {a2:?} {db:?}"
    );
    assert!((c["misses"] - db["db_reads"]).abs() <= 4, "{c:?} {db:?}");
    assert!((a1["reads"] + a2["reads"] - c["hits"] - c["misses"]).abs() <= 4);
    assert!((a1["invalidations_sent"] + a2["invalidations_sent"] - c["invalidations"]).abs() <= 4);
    assert!(c["stale_reads"] <= c["hits"]);
}

/// Seeds in which the longest staleness went past `ms`.
fn seeds_staler_than(s: &Value, ms: i64, seeds: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    seeds
        .filter(|&seed| counters(&run(s, seed), "cache")["max_stale_ms"] > ms)
        .collect()
}

#[test]
fn the_stale_set_race_leaves_old_values_and_leases_prevent_it() {
    // Statistical: the race needs a write to commit while a reader's miss is being filled, so
    // it does not happen in every run. Over 60 s it happens in nearly all (measured on seeds 1
    // to 10: the longest staleness 742 ms to 2994 ms, every seed over 500 ms).
    let mut s = sample();
    s["duration_ms"] = json!(60000);
    let raced = seeds_staler_than(&s, 500, 1..=10);
    assert!(
        raced.len() >= 9,
        "stale for over 500 ms only in seeds {raced:?}"
    );

    // Leases: the late set is refused. What staleness remains is the instant between a commit
    // and its delete reaching the cache (measured: 13 ms to 131 ms).
    let mut leased = s.clone();
    model(&mut leased, "cache")["leases"] = json!(true);
    let still = seeds_staler_than(&leased, 200, 1..=10);
    assert!(
        still.is_empty(),
        "with leases, stale for over 200 ms in {still:?}"
    );
    let w = run(&leased, 1);
    assert!(counters(&w, "cache")["sets_refused"] > 0);
}

#[test]
fn a_lost_invalidation_leaves_an_old_value_until_the_ttl() {
    let mut lossy = sample();
    set_app_loss(&mut lossy, 0.05);
    let mut lost = 0;
    let mut long = 0;
    for seed in 1..=6 {
        let w = run(&lossy, seed);
        let (a1, a2) = (counters(&w, "app1"), counters(&w, "app2"));
        lost += a1["invalidations_lost"] + a2["invalidations_lost"];
        long += i64::from(counters(&w, "cache")["max_stale_ms"] > 1000);
    }
    assert!(lost > 0);
    assert!(long >= 4, "a staleness over 1 s in only {long} of 6 runs");

    // A short TTL bounds it: nothing is served more than a TTL after it was stored, so a read
    // is stale for at most the TTL plus the time between the database read and the set.
    model(&mut lossy, "cache")["ttl_ms"] = json!(500);
    for seed in 1..=6 {
        let c = counters(&run(&lossy, seed), "cache");
        assert!(c["max_stale_ms"] <= 800, "seed {seed}: {c:?}");
    }
}

#[test]
fn the_first_stale_read_is_a_verdict_with_the_versions() {
    let w = run(&sample(), 1);
    let verdicts: Vec<String> = common::verdicts(&w, "fresh reads")
        .into_iter()
        .map(|(holds, detail)| {
            assert_eq!(holds, Some(detail == "no stale read yet"));
            detail
        })
        .collect();
    // First known at the start (it holds), then broken at the first stale read, once.
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert_eq!(verdicts[0], "no stale read yet");
    let d = &verdicts[1];
    // "stale read of k3: cache v4, db v5"
    assert!(d.starts_with("stale read of k"), "{d}");
    let nums: Vec<u64> = d
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|x| x.parse().ok())
        .collect();
    assert_eq!(nums.len(), 3, "{d}");
    assert!(nums[1] < nums[2], "{d}");
}

#[test]
fn a_snapshot_restores_what_the_database_committed() {
    // The registry of committed versions lives in the world's core: a restore must bring it
    // back, or the stale-read check after a seek would judge against the future.
    let s = sample();
    let scenario = Scenario::parse(&s.to_string()).unwrap();
    let mut w = scenario.build(Some(2)).unwrap();
    w.run_until(10_000_000, u64::MAX);
    let snap = w.snapshot();
    w.run_until(scenario.duration_us(), u64::MAX);
    let (h1, c1) = (w.trace().hash(), counters(&w, "cache"));
    w.restore(&snap);
    w.run_until(scenario.duration_us(), u64::MAX);
    assert_eq!(w.trace().hash(), h1);
    assert_eq!(counters(&w, "cache"), c1);
}

#[test]
fn bad_settings_are_refused_with_the_field() {
    for (node, field, value) in [
        ("cache", "ttl_ms", json!(0)),
        ("cache", "database", json!("nobody")),
        ("app1", "keys", json!(0)),
        ("app1", "read_rate_per_s", json!(-1)),
        ("app1", "strategy", json!("write_back")),
        ("app1", "max_in_flight", json!(0)),
        ("db", "latency", json!({"type": "constant", "ms": -1})),
    ] {
        let mut s = sample();
        model(&mut s, node)[field] = value;
        let e = Scenario::parse(&s.to_string())
            .and_then(|sc| sc.build(None).map(|_| ()))
            .expect_err(field);
        // serde names an unknown variant rather than the field.
        let named = if field == "strategy" {
            "write_back"
        } else {
            field
        };
        assert!(e.to_string().contains(named), "{field}: {e}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn cases(default: u32) -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases(24)))]

        /// Random strategies, rates, TTLs, leases, loss and a crash never panic, and the
        /// counters keep their invariants.
        #[test]
        fn random_settings_keep_the_invariants(
            seed in 0u64..1000,
            strategy in 0usize..3,
            reads in 0.0f64..200.0,
            writes in 0.0f64..50.0,
            keys in 1u32..20,
            ttl in 1.0f64..5000.0,
            leases: bool,
            loss in 0.0f64..0.3,
            crash_cache: bool,
        ) {
            let mut s = sample();
            s["duration_ms"] = json!(5000);
            for app in ["app1", "app2"] {
                let m = model(&mut s, app);
                m["strategy"] = json!(["cache_aside", "invalidate_on_write", "write_through"][strategy]);
                m["read_rate_per_s"] = json!(reads);
                m["write_rate_per_s"] = json!(writes);
                m["keys"] = json!(keys);
                m["timeout_ms"] = json!(300);
            }
            let c = model(&mut s, "cache");
            c["ttl_ms"] = json!(ttl);
            c["leases"] = json!(leases);
            set_app_loss(&mut s, loss);
            if crash_cache {
                s["interventions"] = json!([
                    {"do": "crash", "at_ms": 2000, "node": "cache"},
                    {"do": "restart", "at_ms": 2500, "node": "cache"}
                ]);
            }
            let w = run(&s, seed);
            let c = counters(&w, "cache");
            let db = counters(&w, "db");
            let (a1, a2) = (counters(&w, "app1"), counters(&w, "app2"));
            prop_assert!(c["stale_reads"] <= c["hits"]);
            prop_assert!(c["hits"] + c["misses"] <= a1["reads"] + a2["reads"]);
            prop_assert!(db["db_writes"] <= a1["writes"] + a2["writes"]);
            prop_assert!(a1["invalidations_lost"] <= a1["invalidations_sent"]);
            if c["stale_reads"] == 0 {
                prop_assert_eq!(c["max_stale_ms"], 0);
            }
        }
    }
}
