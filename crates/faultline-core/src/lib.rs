//! # faultline-core
//!
//! Faultline's deterministic discrete-event simulator. A [`scenario::Scenario`] (nodes, links,
//! timed interventions, a seed) builds a [`world::World`]; the world runs events in
//! (time, sequence) order over virtual time, with a network that delays, loses, duplicates and
//! partitions, and nodes that are pure state machines ([`node::Node`]). Everything it does is
//! recorded in a [`trace::Trace`] and in per-node [`metrics`].
//!
//! Architecture invariants, each checked in CI:
//! - The same scenario and seed give the same trace, natively and in wasm.
//! - This crate never reads a clock or OS entropy and never depends on a web crate.
//! - Everything is bounded ([`limits`]): a hostile scenario gets a clear error, never a hang.
//!
//! ```
//! use faultline_core::scenario::Scenario;
//! let text = r#"{"version": 1, "duration_ms": 2000,
//!   "nodes": [{"id": "client", "model": {"type": "client", "target": "server"}},
//!             {"id": "server", "model": {"type": "service"}}],
//!   "links": [{"a": "client", "b": "server", "latency": {"type": "constant", "ms": 20}}]}"#;
//! let scenario = Scenario::parse(text).unwrap();
//! let mut world = scenario.build(None).unwrap();
//! world.run_until(scenario.duration_us(), u64::MAX);
//! let report = faultline_core::report::Report::of(&world);
//! assert!(report.nodes[0].successes > 0);
//! ```

pub mod bench;
pub mod chaos;
pub mod dist;
mod events;
pub mod export;
pub mod idhash;
pub mod jsonpos;
pub mod lesson;
pub mod limits;
pub mod linearizability;
pub mod metrics;
pub mod models;
pub mod msg;
pub mod node;
pub mod order;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod share;
pub mod stable_hash;
pub mod sweep;
mod tagged;
pub mod trace;
pub mod view;
pub mod world;

pub use node::NodeId;
pub use view::{ModelKind, NodeView};

/// Formats a virtual time for people: `12.345 s`.
pub fn fmt_time(us: u64) -> String {
    format!("{}.{:03} s", us / 1_000_000, (us / 1_000) % 1_000)
}

/// Formats a duration for people: `850 us`, `12.3 ms`, `1.20 s`.
pub fn fmt_duration(us: u64) -> String {
    if us < 1_000 {
        format!("{us} us")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1_000.0)
    } else {
        format!("{:.2} s", us as f64 / 1_000_000.0)
    }
}
