//! The `faultline` command, end to end: the binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = root().join("target/cli-tests");
    std::fs::create_dir_all(&dir).expect("a temp folder");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a temp file");
    p
}

fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/scenarios"))
        .expect("samples")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn run_json_reports_add_up_for_every_sample() {
    for path in samples() {
        let o = faultline(&["run", path.to_str().expect("utf-8"), "--json"]);
        assert!(o.status.success(), "{}: {}", path.display(), stderr(&o));
        let r: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("the report is JSON");
        let m = &r["messages"];
        let (sent, delivered, dropped) = (
            m["sent"].as_u64().unwrap(),
            m["delivered"].as_u64().unwrap(),
            m["dropped"].as_u64().unwrap(),
        );
        assert_eq!(
            sent,
            delivered + dropped + r["in_flight"].as_u64().unwrap(),
            "{}",
            path.display()
        );
        for n in r["nodes"].as_array().expect("nodes") {
            assert_eq!(
                n["completed"],
                n["successes"].as_u64().unwrap() + n["failures"].as_u64().unwrap()
            );
            if n["kind"] == "client" {
                let c = &n["counters"];
                for key in [
                    "requests",
                    "successes",
                    "failures",
                    "timeouts",
                    "attempts",
                    "retries",
                ] {
                    assert!(
                        c[key].is_i64(),
                        "{}: a client reports {key}",
                        path.display()
                    );
                }
                let attempts = c["attempts"].as_i64().unwrap();
                let rejected = c["rejected"].as_i64().unwrap();
                assert!(
                    attempts + rejected
                        >= c["successes"].as_i64().unwrap() + c["failures"].as_i64().unwrap(),
                    "every completed request was sent or rejected by the breaker at least once"
                );
                if rejected == 0 {
                    assert_eq!(
                        attempts - c["requests"].as_i64().unwrap(),
                        c["retries"].as_i64().unwrap(),
                        "attempts beyond the first are retries"
                    );
                }
                assert_eq!(c["successes"], n["successes"]);
                if let Some(l) = n["latency"].as_object() {
                    let p = |k: &str| l[k].as_f64().unwrap();
                    assert!(
                        p("p50_ms") <= p("p90_ms")
                            && p("p90_ms") <= p("p99_ms")
                            && p("p99_ms") <= p("max_ms")
                    );
                }
            }
        }
    }
}

#[test]
fn the_trace_file_is_complete_and_reproducible() {
    let out1 = root().join("target/cli-tests/a.jsonl");
    let out2 = root().join("target/cli-tests/b.jsonl");
    let out3 = root().join("target/cli-tests/c.jsonl");
    std::fs::create_dir_all(out1.parent().unwrap()).unwrap();
    let run = |out: &Path, seed: &str| {
        let o = faultline(&[
            "run",
            "tests/scenarios/faults.json",
            "--json",
            "--seed",
            seed,
            "--trace",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).expect("JSON")
    };
    let report = run(&out1, "5");
    run(&out2, "5");
    run(&out3, "6");
    let a = std::fs::read(&out1).unwrap();
    assert_eq!(a, std::fs::read(&out2).unwrap(), "same seed, same bytes");
    assert_ne!(
        a,
        std::fs::read(&out3).unwrap(),
        "another seed, another trace"
    );
    let text = String::from_utf8(a).unwrap();
    let (mut sent, mut delivered, mut dropped) = (0, 0, 0);
    for (i, line) in text.lines().enumerate() {
        let e: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert_eq!(e["seq"].as_u64(), Some(i as u64), "no event is missing");
        match e["event"].as_str().unwrap() {
            "sent" => sent += 1,
            "delivered" => delivered += 1,
            "dropped" => dropped += 1,
            _ => {}
        }
    }
    let m = &report["messages"];
    assert_eq!(
        (sent, delivered, dropped),
        (
            m["sent"].as_u64().unwrap(),
            m["delivered"].as_u64().unwrap(),
            m["dropped"].as_u64().unwrap()
        )
    );
}

#[test]
fn until_stops_early_and_seed_changes_the_run() {
    let o = faultline(&[
        "run",
        "tests/scenarios/client-server.json",
        "--json",
        "--until",
        "2s",
    ]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["time_ms"], 2000.0);
    let o = faultline(&[
        "run",
        "tests/scenarios/client-server.json",
        "--until",
        "forever",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a duration"), "{}", stderr(&o));
}

#[test]
fn check_names_the_line_and_the_field() {
    let good = std::fs::read_to_string(root().join("tests/scenarios/client-server.json")).unwrap();
    let bad = temp(
        "broken.json",
        &good
            .replacen("\"target\": \"server\"", "\"target\": \"db\"", 1)
            .replacen("\"timeout_ms\"", "\"timout_ms\"", 1),
    );
    let o = faultline(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("broken.json:8:") && err.contains("nodes[0].model: unknown field `timout_ms`"),
        "{err}"
    );
    let o = faultline(&["check", "tests/scenarios"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.starts_with("ok ")).count(),
        samples().len()
    );
}

#[test]
fn check_runs_every_lesson_and_names_a_broken_one() {
    let o = faultline(&["check", "lessons"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lessons = std::fs::read_dir(root().join("lessons"))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("README.md"))
        .count();
    assert!(lessons >= 3);
    assert_eq!(
        stdout(&o)
            .lines()
            .filter(|l| l.starts_with("ok lessons/"))
            .count(),
        lessons,
        "{}",
        stdout(&o)
    );
    // A solution that no longer solves (an author changed the scenario) fails the check.
    let good = std::fs::read_to_string(root().join("lessons/07-idempotency.md")).unwrap();
    let unsolved = temp(
        "unsolved.md",
        &good.replacen(
            "[{\"node\": \"checkout\", \"param\": \"idempotency_keys\", \"value\": true}]",
            "[{\"node\": \"checkout\", \"param\": \"timeout_ms\", \"value\": 301}]",
            1,
        ),
    );
    let o = faultline(&["check", unsolved.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("step 1 (Charged twice): the solution does not meet the goal"),
        "{}",
        stderr(&o)
    );
    // A misspelt setting names its line.
    let typo = temp(
        "typo.md",
        &good.replacen(
            "\"retry.max_attempts\", \"value\": 1",
            "\"retry.max_atempts\", \"value\": 1",
            1,
        ),
    );
    let o = faultline(&["check", typo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let line = good
        .lines()
        .position(|l| l.contains("\"retry.max_attempts\", \"value\": 1"))
        .unwrap()
        + 1;
    assert!(
        stderr(&o).contains(&format!("typo.md:{line}: step 2"))
            && stderr(&o).contains("unknown setting 'retry.max_atempts'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn malformed_input_exits_with_a_message_not_a_panic() {
    for (name, text) in [
        ("empty.json", ""),
        ("trunc.json", "{\"version\": 1, \"nodes\": [{\"id\""),
        ("bin.json", "\u{0}\u{1}\u{2}"),
    ] {
        let p = temp(name, text);
        let o = faultline(&["run", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(!stderr(&o).contains("panicked"), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
    let p = temp("latin1.json", "");
    std::fs::write(&p, [0xff, 0xfe, 0x41]).unwrap();
    let o = faultline(&["check", p.to_str().unwrap()]);
    assert!(stderr(&o).contains("not UTF-8"), "{}", stderr(&o));
    let o = faultline(&["run", "no/such/file.json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = faultline(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bench_mm1_matches_theory_and_reports_its_fields() {
    let o = faultline(&[
        "bench",
        "mm1",
        "--customers",
        "200000",
        "--rho",
        "0.8",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for k in [
        "customers",
        "events",
        "seconds",
        "customers_per_s",
        "measured_mean_response_ms",
        "theoretical_mean_response_ms",
    ] {
        assert!(v[k].is_number(), "missing {k}");
    }
    assert_eq!(v["customers"], 200_000);
    let err = v["measured_mean_response_ms"].as_f64().unwrap()
        / v["theoretical_mean_response_ms"].as_f64().unwrap()
        - 1.0;
    assert!(err.abs() < 0.05, "{v}");
    assert_eq!(v["model"], "station");
    // The same queue through the client and service models agrees with theory too.
    let o = faultline(&[
        "bench",
        "mm1",
        "--customers",
        "100000",
        "--rho",
        "0.5",
        "--model",
        "services",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["model"], "services");
    let err = v["measured_mean_response_ms"].as_f64().unwrap()
        / v["theoretical_mean_response_ms"].as_f64().unwrap()
        - 1.0;
    assert!(err.abs() < 0.05, "{v}");
    let o = faultline(&["bench", "mm1", "--rho", "1.5"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `faultline run x | head -1`: the reader closes the pipe after one line; the CLI stops quietly
/// with success, as Unix tools do, instead of panicking on the broken pipe.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(root)
        .args(["check", "tests/scenarios/", "lessons/"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe closes while the CLI still has lines to write.
    assert!(first.starts_with("ok "), "first line: {first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(
        out.status.success(),
        "status {:?}, stderr: {err}",
        out.status
    );
}

/// A checkout without idempotency keys whose answers are lost 1 % of the time: a duplicate
/// charge needs an unlucky seed.
const RARE_DUPLICATES: &str = r#"{"version": 1, "seed": 1, "duration_ms": 3000,
  "nodes": [
    {"id": "checkout", "model": {"type": "client", "target": "payments",
      "workload": {"type": "open", "rate_per_s": 10}, "timeout_ms": 300,
      "retry": {"max_attempts": 3}, "idempotency_keys": false, "charge_cents": 4999}},
    {"id": "payments", "model": {"type": "payment", "latency": {"type": "constant", "ms": 20}}}],
  "links": [{"a": "checkout", "b": "payments", "latency": {"type": "constant", "ms": 10},
    "reverse": {"latency": {"type": "constant", "ms": 10}, "loss": 0.01}}]}"#;

#[test]
fn sweep_finds_the_failing_seeds_and_each_replays_with_run() {
    let path = temp("rare-duplicates.json", RARE_DUPLICATES);
    let p = path.to_str().expect("utf-8");
    let o = faultline(&[
        "sweep",
        p,
        "--seeds",
        "1..30",
        "--figure",
        "payments.duplicate_charges",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "an invariant broke: exit 1; {}",
        stderr(&o)
    );
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("the summary is JSON");
    assert_eq!(s["seeds"], 30);
    assert_eq!(s["figure"], "payments.duplicate_charges");
    let dup = s["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "no duplicate charge")
        .expect("the duplicate charge is a property");
    assert_eq!(dup["node"], "payments");
    let broken = dup["broken"].as_u64().unwrap();
    assert!(broken > 0 && broken < 30, "{dup}");
    assert_eq!(s["stats"]["count"], 30);
    assert!(s["stats"]["max"].as_f64().unwrap() >= 1.0);
    // The first failing seed, run alone, charges twice.
    let seed = dup["failing"][0]["seed"].as_u64().unwrap().to_string();
    let at_ms = dup["failing"][0]["at_ms"].as_f64().unwrap();
    assert!(at_ms > 0.0 && at_ms <= 3000.0);
    let r = faultline(&["run", p, "--seed", &seed, "--json"]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    assert!(
        r["nodes"][1]["counters"]["duplicate_charges"]
            .as_i64()
            .unwrap()
            >= 1
    );
    // The table says the same, and how to replay.
    let t = faultline(&[
        "sweep",
        p,
        "--seeds",
        "1..30",
        "--figure",
        "duplicate_charges",
    ]);
    let text = stdout(&t);
    assert!(
        text.contains(&format!(
            "no duplicate charge (payments): BROKE in {broken} of 30 seeds"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("faultline run {p} --seed {seed}")),
        "{text}"
    );
}

#[test]
fn sweep_numbers_do_not_depend_on_the_threads() {
    let path = root().join("tests/scenarios/raft-chaos.json");
    let p = path.to_str().expect("utf-8");
    let run = |threads: &str| {
        let o = faultline(&[
            "sweep",
            p,
            "--seeds",
            "3..10",
            "--threads",
            threads,
            "--json",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "Raft's safety holds: {}",
            stdout(&o)
        );
        stdout(&o)
    };
    let one = run("1");
    assert_eq!(one, run("3"));
    let s: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(
        s["figure"], "time_to_new_leader_ms",
        "a Raft cluster's default figure"
    );
    assert_eq!(s["seed_range"], serde_json::json!([3, 10]));
    assert_eq!(
        s["properties"].as_array().unwrap().len(),
        5,
        "Raft's five properties"
    );
    assert!(
        s["properties"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["broken"] == 0 && p["judged"] == 8)
    );
}

#[test]
fn sweep_refuses_bad_seeds_and_figures_with_a_message() {
    let path = root().join("tests/scenarios/raft-chaos.json");
    let p = path.to_str().expect("utf-8");
    let o = faultline(&["sweep", p, "--seeds", "9..3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("ends before it starts"),
        "{}",
        stderr(&o)
    );
    let o = faultline(&["sweep", p, "--figure", "n1.nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--figure: n1 has no figure 'nope'"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("leaders_elected"),
        "it lists what there is: {}",
        stderr(&o)
    );
}
