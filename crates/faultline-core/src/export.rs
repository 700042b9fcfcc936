//! Exports of a whole run: the trace as JSON Lines (the CLI's `--trace` format), as Chrome
//! trace-event JSON, which Perfetto (ui.perfetto.dev) and `chrome://tracing` open, and the
//! requests as OpenTelemetry spans in the OTLP/JSON shape.
//!
//! The page keeps only the newest trace events (a bounded ring), so an export runs the recorded
//! scenario again from zero, draining events as it goes; same scenario, same trace.

use serde_json::json;

use crate::scenario::Scenario;
use crate::trace::{TraceEvent, TraceKind};
use crate::world::{RunStatus, World};

/// The most bytes an export produces; a longer run is cut there, and says so.
pub const MAX_EXPORT_BYTES: usize = 64 << 20;
/// The most spans an OpenTelemetry export holds.
pub const MAX_EXPORT_SPANS: usize = 500_000;

/// Runs `s` from zero to `until_us` and hands every trace event to `each`, in order, until it
/// returns `false`. Returns the world where it stopped, and whether `each` cut the run short.
/// The trace keeps only the newest events, so whoever needs all of them drains them here (the
/// exports, and the lessons' judge).
pub(crate) fn replay(
    s: &Scenario,
    until_us: u64,
    mut each: impl FnMut(&TraceEvent) -> bool,
) -> Result<(World, bool), String> {
    let mut world = s.build(None).map_err(|e| e.to_string())?;
    loop {
        let status = world.run_until(until_us, 20_000);
        for e in world.trace_mut().drain() {
            if !each(&e) {
                return Ok((world, true));
            }
        }
        if !matches!(status, RunStatus::Budget) {
            return Ok((world, false));
        }
    }
}

/// [`replay`] for exports, which need only whether the run was cut.
fn for_each_event(
    s: &Scenario,
    until_us: u64,
    each: impl FnMut(&TraceEvent) -> bool,
) -> Result<bool, String> {
    replay(s, until_us, each).map(|(_, cut)| cut)
}

/// Turns trace events into structured log lines: the event's own fields, plus `log` (the line as
/// the page's event log reads it, with node names) and `trace_id` on every line about a
/// request's message (sent, delivered or lost), so one filter finds one request's whole story.
pub struct LogLines {
    names: Vec<String>,
    // Message id -> trace id, for messages in flight: bounded by the world's in-flight limit.
    // Looked up by id, never iterated.
    traces: std::collections::HashMap<u64, u64>,
}

impl LogLines {
    /// For a run whose nodes have these ids.
    pub fn new(names: Vec<String>) -> Self {
        LogLines {
            names,
            traces: Default::default(),
        }
    }

    /// One event as one line of JSON (without the newline).
    pub fn line(&mut self, e: &TraceEvent) -> String {
        let trace = match &e.kind {
            TraceKind::Sent { id, payload, .. } => {
                let t = payload.trace_id();
                if let Some(t) = t {
                    self.traces.insert(id.0, t);
                }
                t
            }
            TraceKind::Delivered { id, .. } | TraceKind::Dropped { id, .. } => {
                self.traces.remove(&id.0)
            }
            _ => None,
        };
        let mut v = crate::jsonpos::value_of(e);
        if let Some(o) = v.as_object_mut() {
            o.insert("log".into(), e.describe(&self.names).into());
            if let Some(t) = trace {
                o.insert("trace_id".into(), t.into());
            }
        }
        v.to_string()
    }
}

/// The trace up to `until_us` as JSON Lines (see [`LogLines`]), and whether it was cut at
/// [`MAX_EXPORT_BYTES`].
// Cold code: `inline` lets the page compile it at its own opt-level "z" (see Cargo.toml).
#[inline]
pub fn trace_jsonl(s: &Scenario, until_us: u64) -> Result<(String, bool), String> {
    let mut out = String::new();
    let mut lines = LogLines::new(s.nodes.iter().map(|n| n.id.clone()).collect());
    let cut = for_each_event(s, until_us, |e| {
        out.push_str(&lines.line(e));
        out.push('\n');
        out.len() < MAX_EXPORT_BYTES
    })?;
    Ok((out, cut))
}

/// The trace up to `until_us` in Chrome's trace-event format: one track per node; each message
/// a slice on its receiver's track from send to arrival (or loss); faults, state changes and
/// notices as instants. Times are in microseconds, as the format wants.
// Cold code: `inline` lets the page compile it at its own opt-level "z" (see Cargo.toml).
#[inline]
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
            TraceKind::Fault { .. } | TraceKind::Notice { .. } | TraceKind::Verdict { .. } => {
                Some(json!({
                    "name": e.describe(&names), "ph": "i", "s": "g", "pid": 1, "tid": 0, "ts": e.time_us,
                }))
            }
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

/// One span being built.
struct Span {
    node: usize,
    trace: u64,
    id: u64,
    parent: Option<u64>,
    name: String,
    kind: u8,
    start_us: u64,
    end_us: Option<u64>,
    error: Option<String>,
}

/// A span id from its parts (FNV-1a: stable, and never zero).
fn span_id(parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h.max(1)
}

/// The OTLP `traceId` of the logical request `trace_id` sent by the client at node index
/// `client`, as [`otel_spans`] writes it (the page picks a request's spans by it).
pub fn otel_trace_id(client: usize, trace_id: u64) -> String {
    let trace = span_id(&[client as u64, trace_id]);
    format!("{trace:016x}{:016x}", span_id(&[trace]))
}

/// The run's requests as OpenTelemetry spans, in the OTLP/JSON shape: per logical request a root
/// span on the client, a CLIENT span per attempt, and a SERVER span for each attempt a service
/// received, its child. Times are virtual, counted from the Unix epoch (a run starts in 1970).
/// An attempt that got no answer by `until_us` ends there, with an error status.
// Cold code: `inline` lets the page compile it at its own opt-level "z" (see Cargo.toml).
#[inline]
pub fn otel_spans(s: &Scenario, until_us: u64) -> Result<(String, bool), String> {
    use crate::msg::Payload;
    use std::collections::HashMap;
    let names: Vec<String> = s.nodes.iter().map(|n| n.id.clone()).collect();
    let mut spans: Vec<Span> = Vec::new();
    let mut in_flight: HashMap<u64, Payload> = HashMap::new();
    let mut attempt_of: HashMap<(usize, u64), usize> = HashMap::new(); // (client, req) -> span
    let mut served: HashMap<(usize, u64), usize> = HashMap::new(); // (server, req) -> span
    let mut root_of: HashMap<(usize, u64), usize> = HashMap::new(); // (client, trace) -> span
    let mut serving: HashMap<(usize, u64), usize> = HashMap::new(); // (server, trace) -> span
    let cut = for_each_event(s, until_us, |e| {
        match &e.kind {
            TraceKind::Sent {
                id,
                from,
                to,
                payload,
                ..
            } => {
                let (from, to) = (from.index(), to.index());
                match payload {
                    // A service calling downstream while it serves a request: the call's attempts
                    // are children of that server span, in its trace.
                    Payload::Request(r) if serving.contains_key(&(from, r.trace_id)) => {
                        let parent = serving[&(from, r.trace_id)];
                        let (trace, parent_id) = (spans[parent].trace, spans[parent].id);
                        spans.push(Span {
                            node: from,
                            trace,
                            id: span_id(&[from as u64, r.req_id, 1]),
                            parent: Some(parent_id),
                            name: format!("call {} attempt {}", names[to], r.attempt),
                            kind: 3,
                            start_us: e.time_us,
                            end_us: None,
                            error: None,
                        });
                        attempt_of.insert((from, r.req_id), spans.len() - 1);
                    }
                    Payload::Request(r) => {
                        let trace = span_id(&[from as u64, r.trace_id]);
                        let root = *root_of.entry((from, r.trace_id)).or_insert_with(|| {
                            spans.push(Span {
                                node: from,
                                trace,
                                id: span_id(&[from as u64, r.trace_id, 0]),
                                parent: None,
                                name: format!("request to {}", names[to]),
                                kind: 1,
                                start_us: e.time_us,
                                end_us: None,
                                error: None,
                            });
                            spans.len() - 1
                        });
                        spans.push(Span {
                            node: from,
                            trace,
                            id: span_id(&[from as u64, r.req_id, 1]),
                            parent: Some(spans[root].id),
                            name: format!("attempt {}", r.attempt),
                            kind: 3,
                            start_us: e.time_us,
                            end_us: None,
                            error: None,
                        });
                        attempt_of.insert((from, r.req_id), spans.len() - 1);
                    }
                    Payload::Response(r) => {
                        if let Some(&i) = served.get(&(from, r.req_id)) {
                            spans[i].end_us.get_or_insert(e.time_us);
                            if !r.is_ok() {
                                spans[i].error.get_or_insert(format!("status {}", r.status));
                            }
                        }
                    }
                    // Spans follow requests and responses; other models' messages have none.
                    _ => {}
                }
                in_flight.insert(id.0, payload.clone());
            }
            TraceKind::Delivered { id, to, from, .. } => {
                let (to, from) = (to.index(), from.index());
                match in_flight.remove(&id.0) {
                    Some(Payload::Request(r)) => {
                        if let Some(&a) = attempt_of.get(&(from, r.req_id)) {
                            let (trace, parent) = (spans[a].trace, spans[a].id);
                            spans.push(Span {
                                node: to,
                                trace,
                                id: span_id(&[to as u64, id.0, 2]),
                                parent: Some(parent),
                                name: format!(
                                    "handle {}",
                                    match r.op {
                                        crate::msg::Op::Call => "call",
                                        crate::msg::Op::Charge { .. } => "charge",
                                        crate::msg::Op::Read => "read",
                                        crate::msg::Op::CompareAndSet { .. } => {
                                            "compare_and_set"
                                        }
                                        crate::msg::Op::Write { .. } => "write",
                                    }
                                ),
                                kind: 2,
                                start_us: e.time_us,
                                end_us: None,
                                error: None,
                            });
                            served.insert((to, r.req_id), spans.len() - 1);
                            serving.insert((to, r.trace_id), spans.len() - 1);
                        }
                    }
                    Some(Payload::Response(r)) => {
                        if let Some(&a) = attempt_of.get(&(to, r.req_id)) {
                            spans[a].end_us.get_or_insert(e.time_us);
                            if !r.is_ok() {
                                spans[a].error.get_or_insert(format!("status {}", r.status));
                            }
                            if let Some(&root) = root_of.get(&(to, r.trace_id)) {
                                spans[root].end_us = Some(e.time_us);
                                spans[root].error =
                                    (!r.is_ok()).then(|| format!("status {}", r.status));
                            }
                        }
                    }
                    Some(_) | None => {}
                }
            }
            TraceKind::Dropped { id, .. } => {
                in_flight.remove(&id.0);
            }
            _ => {}
        }
        spans.len() < MAX_EXPORT_SPANS
    })?;
    let mut by_node: Vec<Vec<serde_json::Value>> = vec![Vec::new(); names.len()];
    for sp in &spans {
        let end = sp.end_us.unwrap_or(until_us).max(sp.start_us);
        let error = sp
            .error
            .clone()
            .or_else(|| sp.end_us.is_none().then(|| "no answer".to_string()));
        let mut v = json!({
            "traceId": format!("{:016x}{:016x}", sp.trace, span_id(&[sp.trace])),
            "spanId": format!("{:016x}", sp.id),
            "name": sp.name,
            "kind": sp.kind,
            "startTimeUnixNano": (sp.start_us * 1000).to_string(),
            "endTimeUnixNano": (end * 1000).to_string(),
            "status": match &error {
                Some(m) => json!({"code": 2, "message": m}),
                None => json!({"code": 1}),
            },
        });
        if let Some(p) = sp.parent {
            v["parentSpanId"] = json!(format!("{p:016x}"));
        }
        by_node[sp.node].push(v);
    }
    let resource_spans: Vec<serde_json::Value> = by_node
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, spans)| json!({
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": names[i]}}]},
            "scopeSpans": [{"scope": {"name": "faultline"}, "spans": spans}],
        }))
        .collect();
    Ok((json!({"resourceSpans": resource_spans}).to_string(), cut))
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
        // Structured logs: every line reads as the event log does, with node names, and every
        // line about a request's message carries its trace id, arrivals included.
        let values: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(values.iter().all(|v| v["log"].is_string()));
        let delivered: Vec<&serde_json::Value> = values
            .iter()
            .filter(|v| v["event"] == "delivered")
            .collect();
        assert!(!delivered.is_empty());
        assert!(
            delivered.iter().all(|v| v["trace_id"].is_u64()),
            "{:?}",
            delivered[0]
        );
        let names = &s.nodes[0].id;
        assert!(
            values
                .iter()
                .any(|v| v["log"].as_str().unwrap().contains(names.as_str()))
        );
        // Half the run: a prefix of the same trace.
        let (half, _) = trace_jsonl(&s, s.duration_us() / 2).unwrap();
        assert!(text.starts_with(&half));
    }

    #[test]
    fn the_otel_export_nests_attempts_under_requests_and_server_spans_under_attempts() {
        let mut s = scenario();
        s.interventions.clear();
        let (text, _) = otel_spans(&s, s.duration_us()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let rs = v["resourceSpans"].as_array().unwrap();
        let service = |n: &str| {
            rs.iter()
                .find(|r| r["resource"]["attributes"][0]["value"]["stringValue"] == n)
                .unwrap()["scopeSpans"][0]["spans"]
                .as_array()
                .unwrap()
                .clone()
        };
        let (client, server) = (service("c"), service("s"));
        let roots: Vec<_> = client
            .iter()
            .filter(|s| s.get("parentSpanId").is_none())
            .collect();
        let attempts: Vec<_> = client.iter().filter(|s| s["kind"] == 3).collect();
        assert!(!roots.is_empty() && attempts.len() >= roots.len());
        // Every server span's parent is a client attempt of the same trace.
        for sp in &server {
            let parent = attempts
                .iter()
                .find(|a| a["spanId"] == sp["parentSpanId"])
                .expect("a parent attempt");
            assert_eq!(parent["traceId"], sp["traceId"]);
            let t = |x: &serde_json::Value, k: &str| x[k].as_str().unwrap().parse::<u64>().unwrap();
            assert!(t(sp, "startTimeUnixNano") >= t(parent, "startTimeUnixNano"));
        }
        // With 20 % loss some attempts got no answer: they end in an error.
        assert!(attempts.iter().any(|a| a["status"]["code"] == 2));
        assert!(attempts.iter().any(|a| a["status"]["code"] == 1));
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
