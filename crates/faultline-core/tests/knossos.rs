//! The linearizability checker against Knossos's published compare-and-set register histories:
//! every file under Knossos's `data/cas-register/bad/` must be found not linearizable, and every
//! file of the sample of `data/cas-register/good/` linearizable. See
//! `tests/data/linearizability/README.md` for the source, the sample and the licence.
//!
//! Knossos reads a history as Jepsen writes it: an `:invoke` opens an operation of its process,
//! the next `:ok`, `:fail` or `:info` of that process completes it. `:ok` took effect (a read's
//! value is the `:ok`'s), `:fail` took no effect (dropped), `:info` or no completion at all is
//! indeterminate. The register starts empty (`nil`, the `Register` model's `None`). Each event's
//! place in the history is its time. Operations of a non-integer process (`:nemesis`) are not
//! client operations and are skipped.

use faultline_core::linearizability::{DEFAULT_BUDGET, Op, Register, RegisterOp, Verdict, check};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/linearizability/knossos")
}

/// The EDN these files use: maps with keyword keys, integers, `nil`, keywords, strings,
/// vectors and lists (both read as [`Edn::Seq`]), `;` comments, commas as whitespace.
#[derive(Clone, Debug, PartialEq)]
enum Edn {
    Nil,
    Int(i64),
    Kw(String),
    Str(String),
    Seq(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    fn get(&self, key: &str) -> Option<&Edn> {
        let Edn::Map(entries) = self else { return None };
        entries
            .iter()
            .find(|(k, _)| matches!(k, Edn::Kw(k) if k == key))
            .map(|(_, v)| v)
    }
}

struct Reader<'a> {
    s: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn skip(&mut self) {
        while let Some(&c) = self.s.get(self.at) {
            if c == b';' {
                while self.s.get(self.at).is_some_and(|&c| c != b'\n') {
                    self.at += 1;
                }
            } else if c.is_ascii_whitespace() || c == b',' {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.s.get(self.at).copied()
    }

    fn seq(&mut self, close: u8) -> Vec<Edn> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(c) if c == close => {
                    self.at += 1;
                    return items;
                }
                Some(_) => items.push(self.value()),
                None => panic!("unclosed {}", close as char),
            }
        }
    }

    fn value(&mut self) -> Edn {
        let c = self.peek().expect("a value");
        match c {
            b'[' => Edn::Seq(self.seq(b']')),
            b'(' => Edn::Seq(self.seq(b')')),
            b'{' => {
                let items = self.seq(b'}');
                assert!(items.len().is_multiple_of(2), "odd map at byte {}", self.at);
                let mut it = items.into_iter();
                let mut entries = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Edn::Map(entries)
            }
            b'"' => {
                self.at += 1;
                let mut out = Vec::new();
                loop {
                    let c = *self.s.get(self.at).expect("unclosed string");
                    self.at += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            out.push(*self.s.get(self.at).expect("escape"));
                            self.at += 1;
                        }
                        c => out.push(c),
                    }
                }
                Edn::Str(String::from_utf8(out).expect("utf-8"))
            }
            _ => {
                let start = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|&c| !(c.is_ascii_whitespace() || b",;()[]{}\"".contains(&c)))
                {
                    self.at += 1;
                }
                let tok = std::str::from_utf8(&self.s[start..self.at]).expect("utf-8");
                if tok == "nil" {
                    Edn::Nil
                } else if let Some(k) = tok.strip_prefix(':') {
                    Edn::Kw(k.to_string())
                } else if let Ok(i) = tok.parse() {
                    Edn::Int(i)
                } else {
                    panic!("unsupported EDN token {tok:?} at byte {start}")
                }
            }
        }
    }
}

fn read_edn(text: &str) -> Edn {
    let mut r = Reader {
        s: text.as_bytes(),
        at: 0,
    };
    let v = r.value();
    assert_eq!(r.peek(), None, "one top-level value");
    v
}

fn int(v: &Edn) -> i64 {
    match v {
        Edn::Int(i) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// Knossos history -> checker operations (see the module comment).
fn convert(history: &Edn) -> Vec<Op<RegisterOp>> {
    let Edn::Seq(events) = history else {
        panic!("a history is a vector or list")
    };
    // Slots stay `None` for dropped (`:fail`) operations.
    let mut slots: Vec<Option<Op<RegisterOp>>> = Vec::new();
    let mut open: BTreeMap<i64, usize> = BTreeMap::new();
    for (t, e) in events.iter().enumerate() {
        let t = t as u64;
        let Some(Edn::Int(process)) = e.get("process") else {
            continue; // the nemesis
        };
        let (Some(Edn::Kw(ty)), Some(Edn::Kw(f)), Some(value)) =
            (e.get("type"), e.get("f"), e.get("value"))
        else {
            panic!("event without :type, :f or :value: {e:?}")
        };
        if ty == "invoke" {
            let op = match (f.as_str(), value) {
                ("read", _) => RegisterOp::Read(None),
                ("write", v) => RegisterOp::Write(int(v)),
                ("cas", Edn::Seq(v)) if v.len() == 2 => RegisterOp::Cas {
                    from: int(&v[0]),
                    to: int(&v[1]),
                    ok: true,
                },
                _ => panic!("unknown operation {e:?}"),
            };
            let prev = open.insert(*process, slots.len());
            assert!(prev.is_none(), "process {process} invoked twice: {e:?}");
            slots.push(Some(Op {
                client: u32::try_from(*process).expect("process id"),
                call_us: t,
                ret_us: None,
                op,
                failed: false,
            }));
            continue;
        }
        let i = open
            .remove(process)
            .unwrap_or_else(|| panic!("completion without invoke: {e:?}"));
        match ty.as_str() {
            "ok" => {
                let op = slots[i].as_mut().expect("open op");
                if let RegisterOp::Read(v) = &mut op.op {
                    *v = match value {
                        Edn::Nil => None,
                        v => Some(int(v)),
                    };
                }
                op.ret_us = Some(t);
            }
            "fail" => slots[i] = None,
            "info" => {} // indeterminate: no return
            other => panic!("unknown :type {other}"),
        }
    }
    slots.into_iter().flatten().collect()
}

fn load(path: &Path) -> Vec<Op<RegisterOp>> {
    let text = std::fs::read_to_string(path).expect("history");
    convert(&read_edn(&text))
}

fn files(dir: &str) -> Vec<PathBuf> {
    files_in(&data().join(dir))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "edn"))
        .collect();
    faultline_core::order::sort(&mut v);
    v
}

#[test]
fn knossos_histories_get_knossos_verdicts() {
    let mut failures = Vec::new();
    let mut counts = [0, 0];
    // Four good files have no client operation that took effect: in
    // `mongodb-v0-ack-rollback-.edn` only the nemesis acts, in `-9`, `-10` and `-11` every
    // operation failed. They check that the converter drops what Knossos drops.
    let mut total_ops = 0;
    for (dir, expected, n) in [("good", true, 22), ("bad", false, 7)] {
        let paths = files(dir);
        assert_eq!(paths.len(), n, "{dir}: the files listed in the README");
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let ops = load(&path);
            total_ops += ops.len();
            let mut budget = DEFAULT_BUDGET * 10;
            let verdict = check(&Register, &ops, &mut budget);
            if verdict.holds() != Some(expected) {
                failures.push(format!(
                    "{dir}/{name} ({} ops): expected linearizable = {expected}, got {verdict:?}",
                    ops.len()
                ));
            }
            println!(
                "{dir}/{name}: {} ops, {} steps, {verdict:?}",
                ops.len(),
                DEFAULT_BUDGET * 10 - budget
            );
            counts[usize::from(expected)] += 1;
        }
    }
    assert_eq!(counts, [7, 22]);
    assert!(
        total_ops > 1_000,
        "parsed only {total_ops} operations in all"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Knossos's comment in `rethink-fail-minimal.edn`: a read of 3 while the value could only be 0
/// or 4, followed by a read of 4 that an older checker wrongly blamed. The culprit named first
/// must be the read of 3.
#[test]
fn rethink_fail_minimal_blames_the_read_of_3() {
    let ops = load(&data().join("bad/rethink-fail-minimal.edn"));
    assert_eq!(ops.len(), 4);
    let Verdict::NotLinearizable { ops: culprits, .. } =
        check(&Register, &ops, &mut DEFAULT_BUDGET.clone())
    else {
        panic!("rethink-fail-minimal must not be linearizable");
    };
    assert_eq!(
        ops[culprits[0]].op,
        RegisterOp::Read(Some(3)),
        "{culprits:?}"
    );
}

#[test]
fn the_converter_reads_fail_info_and_nil_as_knossos_does() {
    // immediate-failure: a read of nil pending, a write of 3 that failed, the read returns 3.
    let ops = load(&data().join("bad/immediate-failure.edn"));
    assert_eq!(
        ops,
        vec![Op {
            client: 1,
            call_us: 0,
            ret_us: Some(3),
            op: RegisterOp::Read(Some(3)),
            failed: false,
        }],
        "the failed write is dropped"
    );
    // bad-analysis: process 6's read and process 20's write never complete (indeterminate);
    // the read of 0 is Some(0), not the empty register.
    let ops = load(&data().join("bad/bad-analysis.edn"));
    let pending: Vec<_> = ops.iter().filter(|o| o.ret_us.is_none()).collect();
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(ops.iter().any(|o| o.op == RegisterOp::Read(Some(0))));
    let text = "({:process 1, :type :invoke, :f :read, :value nil}\n\
                 {:process 1 :type :ok :f :read :value nil} ; a comment\n\
                 {:process 2, :type :invoke, :f :cas, :value [1 2]}\n\
                 {:process 2, :type :info, :f :cas, :value [1 2], :error \"a \\\"q\\\"\"})";
    let ops = convert(&read_edn(text));
    assert_eq!(ops[0].op, RegisterOp::Read(None));
    assert_eq!(ops[0].ret_us, Some(1));
    assert_eq!(ops[1].ret_us, None);
    assert_eq!(check(&Register, &ops, &mut 1_000), Verdict::Linearizable);
}

/// Every history of a Knossos checkout, not only the committed sample:
/// `KNOSSOS_CAS_REGISTER=/path/to/knossos/data/cas-register cargo test -p faultline-core
/// --test knossos -- --ignored --nocapture`
#[test]
#[ignore]
fn all_of_knossos_cas_register() {
    let root = PathBuf::from(
        std::env::var("KNOSSOS_CAS_REGISTER").expect("KNOSSOS_CAS_REGISTER=.../data/cas-register"),
    );
    let mut failures = Vec::new();
    let mut n = 0;
    for (dir, expected) in [("good", true), ("bad", false)] {
        for path in files_in(&root.join(dir)) {
            let ops = load(&path);
            let mut budget = DEFAULT_BUDGET * 10;
            let start = std::time::Instant::now();
            let verdict = check(&Register, &ops, &mut budget);
            println!(
                "{dir}/{}: {} ops, {} steps, {:.1} ms, {verdict:?}",
                path.file_name().unwrap().to_string_lossy(),
                ops.len(),
                DEFAULT_BUDGET * 10 - budget,
                start.elapsed().as_secs_f64() * 1000.0
            );
            if verdict.holds() != Some(expected) {
                failures.push(format!("{}: {verdict:?}", path.display()));
            }
            n += 1;
        }
    }
    println!("{n} histories checked");
    assert!(n > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
