//! Exports of a whole run: the trace as JSON Lines (the CLI's `--trace` format) and as Chrome
//! trace-event JSON, which Perfetto (ui.perfetto.dev) and `chrome://tracing` open.
//!
//! The page keeps only the newest trace events (a bounded ring), so an export runs the recorded
//! scenario again from zero, draining events as it goes; same scenario, same trace.

use serde_json::json;

use crate::scenario::Scenario;
use crate::trace::{TraceEvent, TraceKind};
use crate::world::RunStatus;

/// The most bytes an export produces; a longer run is cut there, and says so.
pub const MAX_EXPORT_BYTES: usize = 64 << 20;

/// Runs `s` from zero to `until_us` and hands every trace event to `each`, in order, until it
/// returns `false`. Returns whether the run was cut short by `each`.
fn for_each_event(
    s: &Scenario,
    until_us: u64,
    mut each: impl FnMut(&TraceEvent) -> bool,
) -> Result<bool, String> {
    let mut world = s.build(None).map_err(|e| e.to_string())?;
    loop {
        let status = world.run_until(until_us, 20_000);
        for e in world.trace_mut().drain() {
            if !each(&e) {
                return Ok(true);
            }
        }
        if !matches!(status, RunStatus::Budget) {
            return Ok(false);
        }
    }
}

/// The trace up to `until_us` as JSON Lines, and whether it was cut at [`MAX_EXPORT_BYTES`].
pub fn trace_jsonl(s: &Scenario, until_us: u64) -> Result<(String, bool), String> {
    let mut out = String::new();
    let cut = for_each_event(s, until_us, |e| {
        out.push_str(&serde_json::to_string(e).expect("events serialise"));
        out.push('\n');
        out.len() < MAX_EXPORT_BYTES
    })?;
    Ok((out, cut))
}

/// The trace up to `until_us` in Chrome's trace-event format: one track per node; each message
/// a slice on its receiver's track from send to arrival (or loss); faults, state changes and
/// notices as instants. Times are in microseconds, as the format wants.
pub fn chrome_trace(s: &Scenario, until_us: u64) -> Result<(String, bool), String> {
    let names: Vec<String> = s.nodes.iter().map(|n| n.id.clone()).collect();
    let name = |i: usize| names.get(i).cloned().unwrap_or_default();
    let mut events: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": i, "args": {"name": n}}))
        .collect();
    let mut bytes = 0usize;
    let mut payloads = std::collections::HashMap::new();
    let cut = for_each_event(s, until_us, |e| {
        let v = match &e.kind {
            TraceKind::Sent { id, payload, .. } => {
                // Remembered until the message arrives or is lost; bounded by messages in flight.
                payloads.insert(id.0, payload.kind());
                None
            }
            TraceKind::Delivered {
                id,
                from,
                to,
                sent_us,
            } => Some(json!({
                "name": format!("{} m{}", payloads.remove(&id.0).unwrap_or("message"), id.0),
                "ph": "X", "pid": 1, "tid": to.index(), "ts": sent_us,
                "dur": e.time_us - sent_us, "args": {"from": name(from.index())},
            })),
            TraceKind::Dropped {
                id,
                from,
                to,
                sent_us,
                reason,
            } => Some(json!({
                "name": format!("lost {} m{}", payloads.remove(&id.0).unwrap_or("message"), id.0),
                "ph": "X", "pid": 1, "tid": to.index(), "ts": sent_us,
                "dur": e.time_us - sent_us, "args": {"from": name(from.index()), "reason": reason},
            })),
            TraceKind::State { node, text } => Some(json!({
                "name": text, "ph": "i", "s": "t", "pid": 1, "tid": node.index(), "ts": e.time_us,
            })),
            TraceKind::Fault { .. } | TraceKind::Notice { .. } => Some(json!({
                "name": e.describe(&names), "ph": "i", "s": "g", "pid": 1, "tid": 0, "ts": e.time_us,
            })),
            _ => None,
        };
        if let Some(v) = v {
            bytes += v.to_string().len();
            events.push(v);
        }
        bytes < MAX_EXPORT_BYTES
    })?;
    let doc = json!({"traceEvents": events, "displayTimeUnit": "ms",
                     "otherData": {"scenario": s.title, "seed": s.seed}});
    Ok((doc.to_string(), cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario::parse(
            r#"{"version": 1, "title": "t", "duration_ms": 3000,
              "nodes": [{"id": "c", "model": {"type": "client", "target": "s"}},
                        {"id": "s", "model": {"type": "service"}}],
              "links": [{"a": "c", "b": "s", "loss": 0.2}],
              "interventions": [{"do": "crash", "at_ms": 1000, "node": "s"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_jsonl_export_is_the_whole_trace_of_the_run() {
        let s = scenario();
        let (text, cut) = trace_jsonl(&s, s.duration_us()).unwrap();
        assert!(!cut);
        let mut world = s.build(None).unwrap();
        world.run_until(s.duration_us(), u64::MAX);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() as u64, world.trace().len_total());
        let first: TraceEvent = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first.seq, 0);
        // Half the run: a prefix of the same trace.
        let (half, _) = trace_jsonl(&s, s.duration_us() / 2).unwrap();
        assert!(text.starts_with(&half));
    }

    #[test]
    fn the_chrome_export_has_a_track_per_node_and_slices_for_messages() {
        let s = scenario();
        let (text, cut) = chrome_trace(&s, s.duration_us()).unwrap();
        assert!(!cut);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ev = v["traceEvents"].as_array().unwrap();
        assert_eq!(ev.iter().filter(|e| e["ph"] == "M").count(), 2);
        assert!(
            ev.iter()
                .any(|e| e["ph"] == "X" && e["name"].as_str().unwrap().starts_with("request"))
        );
        assert!(
            ev.iter()
                .any(|e| e["ph"] == "X" && e["name"].as_str().unwrap().starts_with("lost"))
        );
        assert!(
            ev.iter()
                .any(|e| e["ph"] == "i" && e["name"].as_str().unwrap().contains("crash"))
        );
        assert!(
            ev.iter()
                .filter(|e| e["ph"] == "X")
                .all(|e| e["dur"].as_u64().is_some())
        );
    }
}
