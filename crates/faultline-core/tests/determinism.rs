//! Determinism: the same scenario and seed give the same trace, twice in a row and natively as
//! in wasm (Node). The golden file `tests/scenarios/trace-hashes.txt` holds each sample's trace
//! hash and event count; the native run checks it and the wasm run checks it too, which is the
//! native-against-wasm comparison.
//!
//! After an intended change of behaviour, regenerate it with
//! `FAULTLINE_BLESS=1 cargo test -p faultline-core --test determinism`.

use faultline_core::report::Report;
use faultline_core::scenario::Scenario;
use faultline_core::trace::TraceEvent;

/// A sample's name and text.
macro_rules! sample {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../tests/scenarios/", $name)),
        )
    };
}

/// Every sample scenario, embedded so the wasm build (which has no file system) runs them too.
const SAMPLES: &[(&str, &str)] = &[
    sample!("breaker.json"),
    sample!("cache.json"),
    sample!("chain.json"),
    sample!("client-server.json"),
    sample!("downstream-hedging.json"),
    sample!("event-sourcing.json"),
    sample!("fanout.json"),
    sample!("faults.json"),
    sample!("hedging.json"),
    sample!("idempotency-day.json"),
    sample!("idempotent-checkout.json"),
    sample!("kv-ap.json"),
    sample!("kv-cp.json"),
    sample!("mm1.json"),
    sample!("observability.json"),
    sample!("occ-contention.json"),
    sample!("out-of-order-writes.json"),
    sample!("queue.json"),
    sample!("raft-chaos.json"),
    sample!("raft.json"),
    sample!("retry-storm.json"),
    sample!("saga-choreography-queue.json"),
    sample!("saga-choreography.json"),
    sample!("saga-orchestrated.json"),
    sample!("saga-retry-policy.json"),
    sample!("two-phase-commit.json"),
];

const GOLDEN: &str = include_str!("../../../tests/scenarios/trace-hashes.txt");

/// Runs a sample to its end with a trace ring large enough to keep every event.
fn run(text: &str, seed: Option<u64>) -> (u64, u64, Vec<TraceEvent>, Report) {
    let scenario = Scenario::parse(text).expect("samples are valid");
    let mut world = scenario.build(seed).expect("samples build");
    let mut events = Vec::new();
    loop {
        let status = world.run_until(scenario.duration_us(), 50_000);
        events.extend(world.trace_mut().drain());
        if status != faultline_core::world::RunStatus::Budget {
            break;
        }
    }
    (
        world.trace().hash(),
        world.trace().len_total(),
        events,
        Report::of(&world),
    )
}

fn hashes() -> String {
    SAMPLES
        .iter()
        .map(|(name, text)| {
            let (hash, count, _, _) = run(text, None);
            format!("{name} {hash:016x} {count}\n")
        })
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn traces_match_the_golden_hashes() {
    let now = hashes();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("FAULTLINE_BLESS").is_some() {
        std::fs::write(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/scenarios/trace-hashes.txt"
            ),
            &now,
        )
        .expect("write the golden file");
        return;
    }
    assert_eq!(
        now, GOLDEN,
        "trace hashes differ from tests/scenarios/trace-hashes.txt (left: now, right: golden).\n\
         If behaviour changed on purpose, regenerate: FAULTLINE_BLESS=1 cargo test -p faultline-core --test determinism"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_sample_runs_twice_with_identical_traces() {
    for (name, text) in SAMPLES {
        let (h1, n1, e1, r1) = run(text, None);
        let (h2, n2, e2, r2) = run(text, None);
        assert_eq!((h1, n1), (h2, n2), "{name}: hash or length differs");
        assert!(e1 == e2, "{name}: the event lists differ");
        assert_eq!(r1, r2, "{name}: the reports differ");
        assert_eq!(e1.len() as u64, n1, "{name}: every event was drained");
    }
}

/// A scenario's canonical text (what "Export" saves and the editor shows) is serde_json's
/// pretty text, though the page writes it compact and indents it, and it reads back the same.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_sample_writes_serde_json_pretty_text_and_reads_it_back() {
    for (name, text) in SAMPLES {
        let s = Scenario::parse(text).expect("samples are valid");
        let json = s.to_json();
        assert_eq!(json, serde_json::to_string_pretty(&s).unwrap(), "{name}");
        assert_eq!(Scenario::parse(&json).expect("reads back"), s, "{name}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn another_seed_gives_another_trace() {
    let (_, text) = SAMPLES[0];
    let (a, ..) = run(text, Some(1));
    let (b, ..) = run(text, Some(2));
    assert_ne!(a, b);
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_sample_file_is_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scenarios");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("the samples folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    faultline_core::order::sort(&mut on_disk);
    let embedded: Vec<String> = SAMPLES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        embedded, on_disk,
        "add every sample in tests/scenarios to SAMPLES (sorted)"
    );
}

/// A time line jumps forward by restoring a snapshot ahead of the playhead: the ring then holds
/// only events from the snapshot on (never a gap in it), and the run goes on exactly as played
/// straight through.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn restoring_a_snapshot_ahead_of_the_playhead_continues_the_same_run() {
    for (name, text) in SAMPLES {
        let s = Scenario::parse(text).expect("valid");
        let end = s.duration_us();
        let mut w = s.build(None).expect("builds");
        w.run_until(end / 2, u64::MAX);
        let ahead = w.snapshot();
        w.run_until(end, u64::MAX);
        let (hash, events) = (w.trace().hash(), w.events());
        let mut back = s.build(None).expect("builds");
        back.run_until(end / 4, u64::MAX);
        // A sparse run (a quiet day of `idempotency-day.json`) may have no event between the
        // two moments: then the snapshot is not ahead in the trace, and the ring stays whole.
        let ahead_in_trace = ahead.events() > back.events();
        back.restore(&ahead);
        let first = back.trace().events().front().map(|e| e.seq);
        if ahead_in_trace {
            assert_eq!(
                first, None,
                "{name}: the ring forgot the events before the jump"
            );
        }
        back.run_until(end, u64::MAX);
        assert_eq!(
            (back.trace().hash(), back.events()),
            (hash, events),
            "{name}"
        );
        let seqs: Vec<u64> = back.trace().events().iter().map(|e| e.seq).collect();
        assert!(
            seqs.windows(2).all(|p| p[1] == p[0] + 1),
            "{name}: the ring is contiguous"
        );
    }
}
