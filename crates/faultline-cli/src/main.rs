//! `faultline`: run, check and benchmark Faultline scenarios headless.
//!
//! The same scenario format, the same engine and the same error messages as the playground:
//! what runs here runs there, with the same trace for the same seed.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use faultline_core::lesson::Lesson;
use faultline_core::limits::{MAX_DURATION_US, MAX_SCENARIO_BYTES};
use faultline_core::report::Report;
use faultline_core::scenario::Scenario;
use faultline_core::world::RunStatus;

mod site;

/// `println!` that ends the program quietly when stdout is closed (`faultline run x | head`),
/// as Unix tools do, instead of panicking on the broken pipe.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("cannot write to stdout: {e}");
        }
    }};
}

mod sweep;

/// Exit codes: 0 ok, 1 a check failed, 2 bad input or usage, 3 a run stopped on a limit.
const BAD_INPUT: u8 = 2;
const HALTED: u8 = 3;

/// Trace events drained to the file per slice of the run: well under the ring buffer's size, so
/// no event is evicted before it is written.
const EVENTS_PER_SLICE: u64 = 20_000;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "Run, check and benchmark Faultline scenarios headless."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print a report.
    Run {
        /// The scenario file (JSON).
        scenario: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Run until this virtual time (e.g. 500ms, 60s, 2m); default: the scenario's duration.
        #[arg(long)]
        until: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Write the trace to this file as JSON Lines.
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Validate scenario files and lessons (directories are searched for *.json and *.md):
    /// each lesson step with a goal is run as it opens (the goal must fail) and with its
    /// solution (the goal must hold).
    Check {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run a scenario over many seeds (on every core) and print the distribution of a figure
    /// and the share of seeds where each invariant broke, with the failing seeds and the time of
    /// their first violation. Exits with 1 when an invariant broke in some seed.
    Sweep {
        /// The scenario file (JSON).
        scenario: PathBuf,
        /// The seeds: `1..1000` (both ends included), `5..=9`, or one seed.
        #[arg(long, default_value = "1..100")]
        seeds: String,
        /// The figure: `NODE.FIGURE` (`checkout.p99_ms`, `payments.duplicate_charges`), a report
        /// figure of the first client (`p99_ms`, `success_rate`), a counter summed over the
        /// nodes (`stale_reads`) or `time_to_new_leader_ms`. Default: the first client's p99.
        #[arg(long)]
        figure: Option<String>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Threads to run seeds on; 0 is one per core.
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Write every lesson of a folder, parsed and with its text as HTML, to one JSON file that
    /// the page fetches when a lesson is first opened (Trunk runs this as a build hook).
    Lessons {
        /// The lessons folder (its *.md files but README.md).
        dir: PathBuf,
        /// The JSON file to write.
        out: PathBuf,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// The M/M/1 queue: simulated customers per second, and the mean response time against theory.
    Mm1 {
        /// Customers to simulate.
        #[arg(long, default_value_t = 1_000_000)]
        customers: u64,
        /// Utilisation lambda / mu.
        #[arg(long, default_value_t = 0.8)]
        rho: f64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// `station`: one node holds the queue, as the SimPy model does (the engine, like for
        /// like). `services`: a client and a service over a link, the models the playground runs.
        #[arg(long, value_enum, default_value_t = Mm1Model::Station)]
        model: Mm1Model,
    },
    /// The linearizability checker: a linearizable register history of concurrent clients on
    /// one key, checked (best of five runs).
    Lin {
        /// Operations in the history (at most 100,000).
        #[arg(long, default_value_t = 1_000)]
        ops: usize,
        /// Concurrent clients (at most 64).
        #[arg(long, default_value_t = 5)]
        clients: u32,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// How the M/M/1 benchmark is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mm1Model {
    Station,
    Services,
}

/// Parses `500ms`, `60s`, `2m`, `1500us` (a bare number is milliseconds) into microseconds.
fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (try 500ms, 60s or 2m)"))?;
    let scale = match unit {
        "us" => 1.0,
        "" | "ms" => 1e3,
        "s" => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        _ => return Err(format!("'{unit}' is not a unit (use us, ms, s, m or h)")),
    };
    let us = v * scale;
    if !us.is_finite() || us < 0.0 || us > MAX_DURATION_US as f64 {
        return Err(format!(
            "'{text}' is beyond the limit of {} s",
            MAX_DURATION_US / 1_000_000
        ));
    }
    Ok(us.round() as u64)
}

fn read_text(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_SCENARIO_BYTES as u64 {
        return Err(format!(
            "{}: {} bytes is over the limit of {MAX_SCENARIO_BYTES}",
            path.display(),
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}

fn load(path: &Path) -> Result<Scenario, String> {
    let text = read_text(path)?;
    Scenario::parse(&text).map_err(|errs| {
        errs.0
            .iter()
            .map(|e| format!("{}: {e}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn run(
    path: &Path,
    seed: Option<u64>,
    until: Option<&str>,
    json: bool,
    trace: Option<&Path>,
) -> Result<(), (u8, String)> {
    let scenario = load(path).map_err(|e| (BAD_INPUT, e))?;
    let until_us = match until {
        Some(u) => parse_duration(u).map_err(|e| (BAD_INPUT, e))?,
        None => scenario.duration_us(),
    };
    let mut world = scenario
        .build(seed)
        .map_err(|e| (BAD_INPUT, e.to_string()))?;
    let mut out = match trace {
        Some(p) => Some(BufWriter::new(
            std::fs::File::create(p).map_err(|e| (BAD_INPUT, format!("{}: {e}", p.display())))?,
        )),
        None => {
            // Nobody reads the events: keep only the hash.
            world = {
                let mut w = world;
                w.trace_mut().drain();
                w
            };
            None
        }
    };
    let mut halted = None;
    let mut log = faultline_core::export::LogLines::new(world.names().to_vec());
    loop {
        let status = world.run_until(until_us, EVENTS_PER_SLICE);
        if let Some(w) = out.as_mut() {
            for e in world.trace_mut().drain() {
                w.write_all(log.line(&e).as_bytes())
                    .and_then(|()| w.write_all(b"\n"))
                    .map_err(|e| (BAD_INPUT, e.to_string()))?;
            }
        } else {
            world.trace_mut().drain();
        }
        match status {
            RunStatus::Budget => continue,
            RunStatus::Halted(why) => {
                halted = Some(why);
                break;
            }
            RunStatus::Reached | RunStatus::Idle => break,
        }
    }
    if let Some(mut w) = out {
        w.flush().map_err(|e| (BAD_INPUT, e.to_string()))?;
    }
    let report = Report::of(&world);
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serialises")
        );
    } else {
        print_table(&report);
    }
    match halted {
        Some(why) => Err((HALTED, format!("the run stopped early: {why}"))),
        None => Ok(()),
    }
}

fn print_table(r: &Report) {
    out!(
        "t = {:.3} s, {} events, {} messages sent, {} delivered, {} dropped, {} in flight, trace {}",
        r.time_ms / 1000.0,
        r.events,
        r.messages.sent,
        r.messages.delivered,
        r.messages.dropped,
        r.in_flight,
        r.trace_hash
    );
    out!(
        "{:<14} {:<10} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "node",
        "model",
        "completed",
        "ok",
        "failed",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms"
    );
    for n in &r.nodes {
        let l = |f: fn(&faultline_core::report::Latency) -> f64| {
            n.latency
                .as_ref()
                .map_or("-".into(), |l| format!("{:.1}", f(l)))
        };
        out!(
            "{:<14} {:<10} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}",
            n.id,
            n.kind,
            n.completed,
            n.successes,
            n.failures,
            l(|l| l.p50_ms),
            l(|l| l.p90_ms),
            l(|l| l.p99_ms),
            l(|l| l.max_ms)
        );
        let counters: Vec<String> = n.counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
        if !counters.is_empty() {
            out!("{:<14} {}", "", counters.join(", "));
        }
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let lesson = p.extension().is_some_and(|x| x == "md")
                && p.file_name().is_some_and(|n| n != "README.md");
            if p.is_dir() || lesson || p.extension().is_some_and(|x| x == "json") {
                collect(&p, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Parses a lesson and runs every step with a goal as it opens and with its solution.
fn check_lesson(f: &Path) -> bool {
    let text = match read_text(f) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    let lesson = match Lesson::parse(&text) {
        Ok(l) => l,
        Err(e) => {
            match e.line {
                Some(l) => eprintln!("{}:{l}: {}", f.display(), e.message),
                None => eprintln!("{}: {}", f.display(), e.message),
            }
            return false;
        }
    };
    match lesson.verify() {
        Ok(()) => {
            let goals = lesson.steps.iter().filter(|s| s.goal.is_some()).count();
            let n = lesson.steps.len();
            let plural =
                |k: usize, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
            out!(
                "ok {} ({}; {} {} as the step opens and {} with the solution)",
                f.display(),
                plural(n, "step"),
                plural(goals, "goal"),
                if goals == 1 { "fails" } else { "fail" },
                if goals == 1 { "holds" } else { "hold" },
            );
            true
        }
        Err(e) => {
            eprintln!("{}: {e}", f.display());
            false
        }
    }
}

/// `faultline lessons DIR OUT`: the page's lesson catalog. A lesson that does not parse is
/// named on stderr (and kept, with its error, for the page to list) but does not fail the build:
/// `faultline check` and the tests are where a lesson is refused.
fn write_lessons(dir: &Path, out: &Path) -> u8 {
    let catalog = match site::catalog(dir, read_text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return BAD_INPUT;
        }
    };
    for (id, l) in &catalog {
        if let Err(e) = l {
            eprintln!("warning: lesson {id}: {e}");
        }
    }
    let text = serde_json::to_string(&catalog).expect("lessons serialise");
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        eprintln!("{}: {e}", parent.display());
        return BAD_INPUT;
    }
    match std::fs::write(out, &text) {
        Ok(()) => {
            out!(
                "wrote {} ({} lessons, {} bytes)",
                out.display(),
                catalog.len(),
                text.len()
            );
            0
        }
        Err(e) => {
            eprintln!("{}: {e}", out.display());
            BAD_INPUT
        }
    }
}

fn check(paths: &[PathBuf]) -> u8 {
    let mut files = Vec::new();
    let mut bad = 0;
    for p in paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("{e}");
            bad += 1;
        }
    }
    for f in &files {
        if f.extension().is_some_and(|x| x == "md") {
            if !check_lesson(f) {
                bad += 1;
            }
            continue;
        }
        match read_text(f) {
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
            }
            Ok(text) => match Scenario::parse(&text) {
                Ok(_) => out!("ok {}", f.display()),
                Err(errs) => {
                    bad += 1;
                    for e in errs.0 {
                        let pos = match (e.line, e.column) {
                            (Some(l), Some(c)) => format!("{l}:{c}:"),
                            (Some(l), None) => format!("{l}:"),
                            _ => String::new(),
                        };
                        let field = if e.path.is_empty() {
                            String::new()
                        } else {
                            format!(" {}:", e.path)
                        };
                        eprintln!("{}:{pos}{field} {}", f.display(), e.message);
                    }
                }
            },
        }
    }
    u8::from(bad > 0)
}

fn bench_mm1(
    customers: u64,
    rho: f64,
    seed: u64,
    json: bool,
    model: Mm1Model,
) -> Result<(), (u8, String)> {
    let (out, seconds) = match model {
        Mm1Model::Station => {
            // Parameters are checked before the clock starts.
            faultline_core::bench::check_params(customers, rho).map_err(|e| (BAD_INPUT, e))?;
            let start = Instant::now();
            let out = faultline_core::bench::run_mm1_station(customers, rho, seed)
                .map_err(|e| (HALTED, e))?;
            (out, start.elapsed().as_secs_f64())
        }
        Mm1Model::Services => {
            let scenario = faultline_core::bench::mm1_scenario(customers, rho, seed)
                .map_err(|e| (BAD_INPUT, e))?;
            let start = Instant::now();
            let out = faultline_core::bench::run_mm1(&scenario).map_err(|e| (HALTED, e))?;
            (out, start.elapsed().as_secs_f64())
        }
    };
    let model_name = match model {
        Mm1Model::Station => "station",
        Mm1Model::Services => "services",
    };
    let per_s = out.customers as f64 / seconds;
    if json {
        let v = serde_json::json!({
            "customers": out.customers,
            "events": out.events,
            "seconds": seconds,
            "customers_per_s": per_s,
            "events_per_s": out.events as f64 / seconds,
            "measured_mean_response_ms": out.measured_mean_response_ms,
            "theoretical_mean_response_ms": out.theoretical_mean_response_ms,
            "rho": rho,
            "seed": seed,
            "model": model_name,
        });
        out!("{v}");
    } else {
        out!(
            "M/M/1 ({model_name}) at rho {rho}: {} customers, {} events in {seconds:.3} s: {per_s:.0} customers/s, {:.0} events/s",
            out.customers,
            out.events,
            out.events as f64 / seconds
        );
        out!(
            "mean response {:.4} ms measured, {:.4} ms in theory ({:+.2} %)",
            out.measured_mean_response_ms,
            out.theoretical_mean_response_ms,
            (out.measured_mean_response_ms / out.theoretical_mean_response_ms - 1.0) * 100.0
        );
    }
    Ok(())
}

fn bench_lin(ops: usize, clients: u32, seed: u64) -> Result<(), (u8, String)> {
    use faultline_core::linearizability::{DEFAULT_BUDGET, Register, bench_history, check};
    if ops == 0 || ops > 100_000 || clients == 0 || clients > 64 {
        return Err((
            BAD_INPUT,
            "--ops must be 1 to 100000 and --clients 1 to 64".to_string(),
        ));
    }
    let history = bench_history(ops, clients, seed);
    let mut best = f64::MAX;
    let mut verdict = None;
    let mut steps = 0;
    for _ in 0..5 {
        let mut budget = DEFAULT_BUDGET * 10;
        let start = Instant::now();
        let v = check(&Register, &history, &mut budget);
        best = best.min(start.elapsed().as_secs_f64());
        steps = DEFAULT_BUDGET * 10 - budget;
        verdict = Some(v);
    }
    println!(
        "{ops} operations, {clients} clients, one key: {:?} in {:.3} ms ({steps} steps)",
        verdict.and_then(|v| v.holds()),
        best * 1000.0
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { BAD_INPUT } else { 0 });
        }
    };
    let result = match &cli.command {
        Command::Run {
            scenario,
            seed,
            until,
            json,
            trace,
        } => run(scenario, *seed, until.as_deref(), *json, trace.as_deref()),
        Command::Check { paths } => return ExitCode::from(check(paths)),
        Command::Sweep {
            scenario,
            seeds,
            figure,
            json,
            threads,
        } => match sweep::sweep(scenario, seeds, figure.as_deref(), *json, *threads) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Lessons { dir, out } => return ExitCode::from(write_lessons(dir, out)),
        Command::Bench {
            which:
                Bench::Mm1 {
                    customers,
                    rho,
                    seed,
                    json,
                    model,
                },
        } => bench_mm1(*customers, *rho, *seed, *json, *model),
        Command::Bench {
            which: Bench::Lin { ops, clients, seed },
        } => bench_lin(*ops, *clients, *seed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_parse_with_units_and_limits() {
        assert_eq!(parse_duration("500ms"), Ok(500_000));
        assert_eq!(parse_duration("60s"), Ok(60_000_000));
        assert_eq!(parse_duration("2m"), Ok(120_000_000));
        assert_eq!(parse_duration("1500us"), Ok(1_500));
        assert_eq!(parse_duration("250"), Ok(250_000));
        assert!(parse_duration("2 fortnights").is_err());
        assert!(parse_duration("-5s").is_err());
        assert_eq!(parse_duration("25h"), Ok(90_000_000_000), "past a day");
        assert!(parse_duration("169h").is_err(), "over the one-week limit");
    }
}
