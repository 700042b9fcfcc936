//! The linearizability checker against public histories with known verdicts: Porcupine's
//! Jepsen etcd logs (a compare-and-set register) and its key-value logs (get, put, append; 1, 10
//! and 50 clients). The verdicts are those Porcupine's own tests assert; see
//! `tests/data/linearizability/README.md` for the source and licence.
//!
//! Each event's line number is its time, as Porcupine orders events by their place in the log.

use faultline_core::linearizability::{
    DEFAULT_BUDGET, KvOp, KvString, Op, Register, RegisterOp, Verdict, bench_history, check,
    check_keyed,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/linearizability")
}

fn verdicts() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(data().join("verdicts.txt")).expect("verdicts.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, v) = l.split_once(' ').expect("name verdict");
            (name.to_string(), v == "linearizable")
        })
        .collect()
}

/// Reads a Jepsen etcd log the way Porcupine's `parseJepsenLog` does.
fn parse_etcd(text: &str) -> Vec<Op<RegisterOp>> {
    let mut ops: Vec<Op<RegisterOp>> = Vec::new();
    let mut open: BTreeMap<u32, usize> = BTreeMap::new();
    let int = |s: &str| s.trim_matches(|c| c == '[' || c == ']').parse::<i64>().ok();
    for (t, line) in text.lines().enumerate() {
        let t = t as u64;
        let Some((_, rest)) = line.split_once("jepsen.util - ") else {
            continue;
        };
        let w: Vec<&str> = rest.split_whitespace().collect();
        if w.len() < 3 {
            continue;
        }
        let Ok(proc) = w[0].parse::<u32>() else {
            continue;
        };
        let call = |op| Op {
            client: proc,
            call_us: t,
            ret_us: None,
            op,
            failed: false,
        };
        match (w[1], w[2]) {
            (":invoke", ":read") => {
                open.insert(proc, ops.len());
                ops.push(call(RegisterOp::Read(None)));
            }
            (":invoke", ":write") => {
                open.insert(proc, ops.len());
                ops.push(call(RegisterOp::Write(int(w[3]).expect("value"))));
            }
            (":invoke", ":cas") => {
                open.insert(proc, ops.len());
                ops.push(call(RegisterOp::Cas {
                    from: int(w[3]).expect("from"),
                    to: int(w[4]).expect("to"),
                    ok: false,
                }));
            }
            (":ok", ":read") => {
                let i = open.remove(&proc).expect("open read");
                ops[i].op = RegisterOp::Read(int(w[3]));
                ops[i].ret_us = Some(t);
            }
            (":ok", ":write") => {
                let i = open.remove(&proc).expect("open write");
                ops[i].ret_us = Some(t);
            }
            (":ok" | ":fail", ":cas") => {
                let i = open.remove(&proc).expect("open cas");
                if let RegisterOp::Cas { ok, .. } = &mut ops[i].op {
                    *ok = w[1] == ":ok";
                }
                ops[i].ret_us = Some(t);
            }
            (":fail", ":read") => {
                // Timed out: indeterminate (a read changes nothing either way).
                open.remove(&proc);
            }
            _ => {}
        }
    }
    ops
}

/// The value of `:name "..."` or `:name nil` in one EDN-like line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(name)? + name.len();
    let rest = line[at..].trim_start();
    if let Some(r) = rest.strip_prefix('"') {
        r.find('"').map(|e| &r[..e])
    } else {
        rest.split([',', '}']).next().map(str::trim)
    }
}

/// Reads a Porcupine key-value log the way its `parseKvLog` does.
fn parse_kv(text: &str) -> Vec<(String, Op<KvOp>)> {
    let mut ops: Vec<(String, Op<KvOp>)> = Vec::new();
    let mut open: BTreeMap<u32, usize> = BTreeMap::new();
    for (t, line) in text.lines().enumerate() {
        let t = t as u64;
        let (Some(p), Some(ty), Some(f), Some(key), Some(value)) = (
            field(line, ":process"),
            field(line, ":type"),
            field(line, ":f"),
            field(line, ":key"),
            field(line, ":value"),
        ) else {
            continue;
        };
        let proc: u32 = p.parse().expect("process");
        match ty {
            ":invoke" => {
                let op = match f {
                    ":get" => KvOp::Get(String::new()),
                    ":put" => KvOp::Put(value.to_string()),
                    ":append" => KvOp::Append(value.to_string()),
                    other => panic!("unknown f {other}"),
                };
                open.insert(proc, ops.len());
                ops.push((
                    key.to_string(),
                    Op {
                        client: proc,
                        call_us: t,
                        ret_us: None,
                        op,
                        failed: false,
                    },
                ));
            }
            ":ok" => {
                let i = open.remove(&proc).expect("open op");
                if let KvOp::Get(v) = &mut ops[i].1.op {
                    *v = value.to_string();
                }
                ops[i].1.ret_us = Some(t);
            }
            _ => {}
        }
    }
    ops
}

#[test]
fn porcupine_histories_get_porcupines_verdicts() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, expected) in verdicts() {
        let mut budget = DEFAULT_BUDGET * 10;
        let verdict = if name.starts_with("etcd") {
            let text = std::fs::read_to_string(data().join("etcd").join(&name)).expect("log");
            let ops = parse_etcd(&text);
            assert!(
                ops.len() > 20,
                "{name}: parsed only {} operations",
                ops.len()
            );
            check(&Register, &ops, &mut budget)
        } else {
            let text = std::fs::read_to_string(data().join("kv").join(&name)).expect("log");
            let ops = parse_kv(&text);
            assert!(
                ops.len() > 20,
                "{name}: parsed only {} operations",
                ops.len()
            );
            check_keyed(&KvString, &ops, &mut budget)
        };
        if verdict.holds() != Some(expected) {
            failures.push(format!("{name}: expected {expected}, got {verdict:?}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 108, "every file in verdicts.txt");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bad_kv_history_names_a_get_and_the_write_it_missed() {
    let text = std::fs::read_to_string(data().join("kv/c01-bad.txt")).expect("log");
    let ops = parse_kv(&text);
    let Verdict::NotLinearizable { key, ops: culprits } =
        check_keyed(&KvString, &ops, &mut DEFAULT_BUDGET.clone())
    else {
        panic!("c01-bad must not be linearizable");
    };
    assert!(!key.is_empty());
    assert!(
        matches!(ops[culprits[0]].1.op, KvOp::Get(_)),
        "{culprits:?}"
    );
    assert!(
        culprits.len() >= 2,
        "the write the get missed: {culprits:?}"
    );
    assert!(culprits.iter().all(|&i| ops[i].0 == key));
}

#[test]
fn a_small_budget_answers_unknown_rather_than_running_on() {
    let text = std::fs::read_to_string(data().join("kv/c50-ok.txt")).expect("log");
    let ops = parse_kv(&text);
    assert_eq!(check_keyed(&KvString, &ops, &mut 100), Verdict::Unknown);
}

/// `cargo test --release -p faultline-core --test linearizability -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_1000_operations_on_one_key() {
    let h = bench_history(1_000, 5, 1);
    let mut best = f64::MAX;
    let mut steps = 0;
    for _ in 0..5 {
        let mut budget = DEFAULT_BUDGET * 10;
        let start = std::time::Instant::now();
        assert_eq!(check(&Register, &h, &mut budget), Verdict::Linearizable);
        best = best.min(start.elapsed().as_secs_f64());
        steps = DEFAULT_BUDGET * 10 - budget;
    }
    println!(
        "{{\"native_ops\": 1000, \"native_ms\": {:.3}, \"steps\": {steps}}}",
        best * 1000.0
    );
}
