//! Seed sweeps in a Web Worker: the message protocol between the page and the worker, and the
//! worker's sweep loop.
//!
//! A sweep of a thousand seeds is seconds of simulation. On the page's own thread it has to be
//! cut into slices between animation frames (slow, and stopped in a background tab); in a
//! worker it runs flat out on a second thread while the page draws. The worker is a second,
//! small wasm binary (`src/main.rs`: the core and the browser glue, no UI) that Trunk builds
//! beside the page and the page starts only when a sweep starts, so it costs the page's first
//! download nothing.
//!
//! The protocol is JSON text both ways (one `postMessage` string per message):
//!
//! ```text
//! worker -> page   {"kind":"ready","protocol":1}          once its wasm is running
//! page -> worker   Request {scenario, figure, first, last}
//! worker -> page   {"kind":"runs","runs":[SeedRun...]}     in seed order, a batch at most
//!                                                          every BATCH_MS of wall time
//! worker -> page   {"kind":"failed","error":"..."}         a request it cannot run
//! ```
//!
//! The worker sends each seed's [`SeedRun`], not a summary: the page sums them up with
//! [`faultline_core::sweep::summarize`], as the CLI does, so both print the same numbers (the
//! workspace's `serde_json` reads floats back bit for bit). Cancelling is terminating the
//! worker; the page ignores a message from a worker it no longer runs.
//!
//! Plain Rust, tested natively: the browser glue in `main.rs` only moves text.

use faultline_core::scenario::Scenario;
use faultline_core::sweep::{Figure, MAX_SEEDS, SeedRun, run_seed};
use serde::{Deserialize, Serialize};

/// The protocol's version: the worker says it when it is ready, and a page that speaks
/// another (a cached worker from an older release) does not send it a sweep.
pub const PROTOCOL: u32 = 1;

/// The worker's script, as Trunk names it (`{bin}_loader.js`, not hashed: a worker's file name
/// is needed at run time), relative to the page so the site runs under any sub-path.
pub const LOADER_URL: &str = "./faultline-worker_loader.js";

/// The least wall time between two batches of runs, in milliseconds: often enough for a
/// progress bar, seldom enough that the page does not re-render per seed.
pub const BATCH_MS: f64 = 100.0;

/// A sweep to run: seeds `first..=last` of `scenario`, reading `figure` at the end of each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The scenario with the learner's interventions, as the page recorded it.
    pub scenario: Scenario,
    /// The figure's name as [`Figure::parse`] reads it; empty for [`Figure::default_for`].
    pub figure: String,
    /// The first seed.
    pub first: u64,
    /// The last seed (included).
    pub last: u64,
}

/// What the worker says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// Its wasm runs and it listens; it speaks [`PROTOCOL`] version `protocol`.
    Ready {
        /// The protocol version.
        protocol: u32,
    },
    /// The next seeds' runs, in seed order.
    Runs {
        /// The runs.
        runs: Vec<SeedRun>,
    },
    /// The request could not be run; a sentence for people.
    Failed {
        /// Why.
        error: String,
    },
}

impl Reply {
    /// The message text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("a reply always serialises")
    }

    /// Reads a message text.
    pub fn parse(text: &str) -> Result<Reply, String> {
        serde_json::from_str(text)
            .map_err(|e| format!("an unreadable message from the worker: {e}"))
    }
}

impl Request {
    /// The message text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("a request always serialises")
    }

    /// Checks the request and reads its figure.
    fn figure(&self) -> Result<Figure, String> {
        self.scenario
            .validate()
            .map_err(|e| format!("the scenario is not valid: {e}"))?;
        if self.first == 0 || self.last < self.first || self.last - self.first >= MAX_SEEDS {
            return Err(format!(
                "seeds {}..{} are not a range of 1 to {MAX_SEEDS} seeds from seed 1 up",
                self.first, self.last
            ));
        }
        match self.figure.trim() {
            "" => Figure::default_for(&self.scenario),
            name => Figure::parse(name, &self.scenario),
        }
    }
}

/// Runs one request's text: every seed in order, posting runs in batches (`now_ms` is the wall
/// clock, which only spaces the batches out); a request it cannot read or run gets one
/// [`Reply::Failed`].
pub fn serve(text: &str, post: &mut dyn FnMut(&Reply), now_ms: &mut dyn FnMut() -> f64) {
    let request: Request = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            post(&Reply::Failed {
                error: format!("The sweep's request could not be read: {e}"),
            });
            return;
        }
    };
    let figure = match request.figure() {
        Ok(f) => f,
        Err(error) => {
            post(&Reply::Failed { error });
            return;
        }
    };
    let mut batch = Vec::new();
    let mut last_post = now_ms();
    for seed in request.first..=request.last {
        match run_seed(&request.scenario, &figure, seed) {
            Ok(run) => batch.push(run),
            Err(e) => {
                post(&Reply::Failed {
                    error: format!("Seed {seed} could not run: {e}"),
                });
                return;
            }
        }
        let now = now_ms();
        if seed == request.last || now - last_post >= BATCH_MS {
            post(&Reply::Runs {
                runs: std::mem::take(&mut batch),
            });
            last_post = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::sweep::summarize;

    fn raft_chaos() -> Scenario {
        Scenario::parse(include_str!("../../../tests/scenarios/raft-chaos.json")).unwrap()
    }

    /// Serves `request` with a clock that moves `tick` ms per reading; returns the replies as
    /// the page reads them (through their text).
    fn serve_all(request: &str, tick: f64) -> Vec<Reply> {
        let mut out = Vec::new();
        let mut t = 0.0;
        serve(
            request,
            &mut |r| out.push(Reply::parse(&r.to_text()).unwrap()),
            &mut || {
                t += tick;
                t
            },
        );
        out
    }

    #[test]
    fn a_worker_sweep_gives_the_clis_numbers() {
        let s = raft_chaos();
        let request = Request {
            scenario: s.clone(),
            figure: "time_to_new_leader_ms".into(),
            first: 1,
            last: 8,
        };
        // A slow clock: one batch at the end. A fast one: a batch per seed or two.
        for (tick, batches) in [(1.0, 1..=1), (60.0, 3..=8)] {
            let replies = serve_all(&request.to_text(), tick);
            assert!(
                batches.contains(&replies.len()),
                "{tick}: {}",
                replies.len()
            );
            let runs: Vec<SeedRun> = replies
                .into_iter()
                .flat_map(|r| match r {
                    Reply::Runs { runs } => runs,
                    other => panic!("{other:?}"),
                })
                .collect();
            let figure = Figure::parse("time_to_new_leader_ms", &s).unwrap();
            let cli: Vec<SeedRun> = (1..=8).map(|k| run_seed(&s, &figure, k).unwrap()).collect();
            assert_eq!(runs, cli, "every run, bit for bit, in seed order");
            assert_eq!(summarize(&figure, &runs), summarize(&figure, &cli));
        }
    }

    #[test]
    fn a_request_it_cannot_run_gets_one_sentence() {
        let good = Request {
            scenario: raft_chaos(),
            figure: String::new(),
            first: 1,
            last: 2,
        };
        let cases = [
            ("not json".to_string(), "could not be read"),
            (
                Request {
                    figure: "n9.p99_ms".into(),
                    ..good.clone()
                }
                .to_text(),
                "n9",
            ),
            (
                Request {
                    first: 0,
                    ..good.clone()
                }
                .to_text(),
                "not a range",
            ),
            (
                Request {
                    last: MAX_SEEDS + 5,
                    ..good.clone()
                }
                .to_text(),
                "not a range",
            ),
        ];
        for (text, want) in cases {
            let replies = serve_all(&text, 1.0);
            assert!(
                matches!(&replies[..], [Reply::Failed { error }] if error.contains(want)),
                "{want}: {replies:?}"
            );
        }
        // The default figure: the scenario's own (Raft: the time to a new leader).
        let replies = serve_all(&good.to_text(), 1.0);
        assert!(matches!(&replies[..], [Reply::Runs { runs }] if runs.len() == 2));
    }

    #[test]
    fn the_ready_message_names_the_protocol() {
        assert_eq!(
            Reply::Ready { protocol: PROTOCOL }.to_text(),
            r#"{"kind":"ready","protocol":1}"#
        );
    }
}
