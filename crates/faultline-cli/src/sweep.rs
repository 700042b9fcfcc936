//! `faultline sweep`: one scenario over many seeds, on every core.
//!
//! Each seed's run is [`faultline_core::sweep::run_seed`], independent of the others, and the
//! summary is [`faultline_core::sweep::summarize`] of the outcomes in seed order, so the numbers
//! do not depend on how many threads ran them or which finished first, and equal the page's.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use faultline_core::sweep::{Figure, SeedRun, Summary, parse_seeds, run_seed, summarize};

use crate::{BAD_INPUT, load};

/// Failing seeds the table lists per property (the JSON lists up to `MAX_LISTED`).
const TABLE_LISTED: usize = 10;

/// Runs the seeds on `threads` threads (0: one per core) and returns the outcomes.
fn run_all(
    scenario: &faultline_core::scenario::Scenario,
    figure: &Figure,
    (first, last): (u64, u64),
    threads: usize,
) -> Result<Vec<SeedRun>, String> {
    let count = last - first + 1;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if threads == 0 { cores } else { threads }.clamp(1, 256);
    let threads = threads.min(count as usize);
    let next = AtomicU64::new(first);
    let results: Vec<Result<Vec<SeedRun>, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let seed = next.fetch_add(1, Ordering::Relaxed);
                        if seed > last || seed < first {
                            return Ok(mine);
                        }
                        mine.push(run_seed(scenario, figure, seed)?);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a sweep thread panicked".into()))
            })
            .collect()
    });
    let mut runs = Vec::with_capacity(count as usize);
    for r in results {
        runs.extend(r?);
    }
    runs.sort_by_key(|r| r.seed);
    Ok(runs)
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn print_table(path: &Path, title: &str, s: &Summary, seconds: f64, threads: usize) {
    let range = s
        .seed_range
        .map_or(String::new(), |(a, b)| format!(" ({a}..{b})"));
    let title = if title.is_empty() {
        String::new()
    } else {
        format!(" \"{title}\"")
    };
    out!(
        "{} seeds{range} of {}{title} in {seconds:.2} s on {threads} threads",
        s.seeds,
        path.display()
    );
    match &s.stats {
        Some(st) => out!(
            "{} over {} seeds: min {}, p50 {}, p90 {}, p99 {}, max {}, mean {}",
            s.figure,
            st.count,
            fmt_value(st.min),
            fmt_value(st.p50),
            fmt_value(st.p90),
            fmt_value(st.p99),
            fmt_value(st.max),
            fmt_value(st.mean)
        ),
        None => out!("{}: no seed had a value", s.figure),
    }
    if s.without_value > 0 && s.stats.is_some() {
        out!("  ({} seeds without a value)", s.without_value);
    }
    if s.properties.is_empty() {
        out!("no invariant was judged in any seed");
    }
    for p in &s.properties {
        let who = p
            .property
            .node
            .as_ref()
            .map_or(String::new(), |n| format!(" ({n})"));
        if p.broken == 0 {
            out!(
                "{}{who}: held in every seed (judged in {})",
                p.property.name,
                p.judged
            );
            continue;
        }
        out!(
            "{}{who}: BROKE in {} of {} seeds ({:.1} %)",
            p.property.name,
            p.broken,
            s.seeds,
            p.share * 100.0
        );
        for f in p.failing.iter().take(TABLE_LISTED) {
            out!(
                "  seed {} at {:.3} s: {}",
                f.seed,
                f.at_ms / 1000.0,
                f.detail
            );
        }
        if p.broken as usize > TABLE_LISTED {
            out!(
                "  ... {} more (--json lists them)",
                p.broken as usize - TABLE_LISTED
            );
        }
    }
    for h in &s.halted {
        out!("seed {} stopped early: {}", h.seed, h.why);
    }
    if let Some(f) = s.properties.iter().find_map(|p| p.failing.first()) {
        out!(
            "replay a failing seed: faultline run {} --seed {}",
            path.display(),
            f.seed
        );
    }
}

/// `faultline sweep`. Exit code 1 when an invariant broke in some seed (a finding, as `check`
/// fails on one), 2 on bad input.
pub fn sweep(
    path: &Path,
    seeds: &str,
    figure: Option<&str>,
    json: bool,
    threads: usize,
) -> Result<u8, (u8, String)> {
    let scenario = load(path).map_err(|e| (BAD_INPUT, e))?;
    let range = parse_seeds(seeds).map_err(|e| (BAD_INPUT, e))?;
    let figure = match figure {
        Some(name) => Figure::parse(name, &scenario),
        None => Figure::default_for(&scenario),
    }
    .map_err(|e| (BAD_INPUT, format!("--figure: {e}")))?;
    let start = Instant::now();
    let runs = run_all(&scenario, &figure, range, threads).map_err(|e| (BAD_INPUT, e))?;
    let seconds = start.elapsed().as_secs_f64();
    let summary = summarize(&figure, &runs);
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("a summary serialises")
        );
    } else {
        let used = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        }
        .min(runs.len().max(1));
        print_table(path, &scenario.title, &summary, seconds, used);
    }
    Ok(u8::from(summary.properties.iter().any(|p| p.broken > 0)))
}
