//! The settings a learner can turn for each model, with units and sane ranges.
//!
//! The core validates every value again (a setting is an intervention like any other); these
//! ranges are what the sliders offer, chosen for teaching: wide enough to break things, narrow
//! enough that every stop of a slider shows something different.

use faultline_core::view::ModelKind;

/// How a setting is edited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A number on a slider.
    Number,
    /// A number, or none (`null`): a checkbox turns it off.
    Optional,
    /// On or off.
    Bool,
    /// One of a few words.
    Choice(&'static [&'static str]),
    /// Off (`null`) or one of a few complete settings, given as (label, JSON text).
    Preset(&'static [(&'static str, &'static str)]),
}

/// One setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    /// The dotted path in the model's settings.
    pub path: &'static str,
    /// For people.
    pub label: &'static str,
    /// Shown after the value.
    pub unit: &'static str,
    /// Slider range and step.
    pub min: f64,
    /// Slider range.
    pub max: f64,
    /// Slider step.
    pub step: f64,
    /// How it is edited.
    pub kind: Kind,
}

const fn num(
    path: &'static str,
    label: &'static str,
    unit: &'static str,
    min: f64,
    max: f64,
    step: f64,
) -> Param {
    Param {
        path,
        label,
        unit,
        min,
        max,
        step,
        kind: Kind::Number,
    }
}

const BACKOFFS: &[&str] = &[
    "none",
    "constant",
    "exponential",
    "full_jitter",
    "equal_jitter",
    "decorrelated_jitter",
    "grpc",
];

/// Retry budgets as the references define them (docs/scenario-format.md).
const BUDGETS: &[(&str, &str)] = &[
    (
        "10 % of requests (SRE book)",
        r#"{"type": "ratio", "ratio": 0.1, "window_ms": 10000}"#,
    ),
    (
        "token bucket (gRPC)",
        r#"{"type": "token_bucket", "max_tokens": 10, "token_ratio": 0.1}"#,
    ),
];

/// Breakers: the lessons' teaching one (quick to open and to probe) and Resilience4j's defaults.
const BREAKERS: &[(&str, &str)] = &[
    (
        "last 20 calls, open 2 s",
        r#"{"preset": "resilience4j", "minimum_calls": 10, "window": {"type": "count", "size": 20}, "wait_in_open_ms": 2000, "permitted_calls_in_half_open": 2}"#,
    ),
    ("Resilience4j defaults", r#"{"preset": "resilience4j"}"#),
];

const CLIENT: &[Param] = &[
    optional(
        "timeout_ms",
        "Timeout per attempt",
        "ms",
        10.0,
        5_000.0,
        10.0,
    ),
    num(
        "retry.max_attempts",
        "Attempts (first + retries)",
        "",
        1.0,
        10.0,
        1.0,
    ),
    choice("retry.backoff.type", "Backoff", BACKOFFS),
    num(
        "retry.backoff.base_ms",
        "Backoff base",
        "ms",
        0.0,
        2_000.0,
        10.0,
    ),
    num(
        "retry.backoff.cap_ms",
        "Backoff cap",
        "ms",
        0.0,
        30_000.0,
        100.0,
    ),
    Param {
        kind: Kind::Preset(BUDGETS),
        ..num("retry.budget", "Retry budget", "", 0.0, 0.0, 0.0)
    },
    flag("idempotency_keys", "Idempotency keys"),
    choice("writes", "Writes (numbered edits)", WRITES),
    Param {
        kind: Kind::Preset(BREAKERS),
        ..num("breaker", "Circuit breaker", "", 0.0, 0.0, 0.0)
    },
    num(
        "workload.rate_per_s",
        "Requests per second",
        "/s",
        1.0,
        500.0,
        1.0,
    ),
];

/// A client's writes (`docs/models/ordering.md`): none, as they arrive, or versioned.
const WRITES: &[&str] = &["off", "plain", "versioned"];

/// An on/off setting.
const fn flag(path: &'static str, label: &'static str) -> Param {
    Param {
        kind: Kind::Bool,
        ..num(path, label, "", 0.0, 0.0, 0.0)
    }
}

/// A number that can also be off (`null`).
const fn optional(
    path: &'static str,
    label: &'static str,
    unit: &'static str,
    min: f64,
    max: f64,
    step: f64,
) -> Param {
    Param {
        kind: Kind::Optional,
        ..num(path, label, unit, min, max, step)
    }
}

/// One of a few words.
const fn choice(path: &'static str, label: &'static str, words: &'static [&'static str]) -> Param {
    Param {
        kind: Kind::Choice(words),
        ..num(path, label, "", 0.0, 0.0, 0.0)
    }
}

/// A service's own settings, then those of its first four downstream calls (the inspector shows
/// only those a service has).
macro_rules! service_params {
    ($($own:expr),* ; $($i:literal => $n:literal),*) => {
        &[
            $($own,)*
            $(
                optional(concat!("downstream.calls.", $i, ".timeout_ms"), concat!("Call ", $n, ": timeout"), "ms", 10.0, 5_000.0, 10.0),
                num(concat!("downstream.calls.", $i, ".retry.max_attempts"), concat!("Call ", $n, ": attempts"), "", 1.0, 10.0, 1.0),
                flag(concat!("downstream.calls.", $i, ".fallback"), concat!("Call ", $n, ": optional (fall back)")),
                flag(concat!("downstream.calls.", $i, ".idempotency_keys"), concat!("Call ", $n, ": idempotency key")),
                optional(concat!("downstream.calls.", $i, ".hedge_after_ms"), concat!("Call ", $n, ": hedge after"), "ms", 1.0, 1_000.0, 1.0),
            )*
        ]
    };
}

const SERVICE: &[Param] = service_params![
    num("concurrency", "Workers", "", 1.0, 64.0, 1.0),
    num("queue_limit", "Queue limit", "", 0.0, 1_000.0, 10.0),
    num("error_rate", "Error rate", "", 0.0, 1.0, 0.01),
    // Two stops: 500 (a bug) and 503 (unavailable); off is the checkbox.
    optional("outage", "Outage, answering", "", 500.0, 503.0, 3.0),
    num("latency_factor", "Slowness (work time ×)", "×", 1.0, 20.0, 1.0),
    num("extra_latency_ms", "Extra work time", "ms", 0.0, 2_000.0, 10.0),
    optional("no_retry_above", "Overloaded: do not retry, from a queue of", "", 0.0, 200.0, 1.0),
    choice("downstream.mode", "Calls", &["sequence", "parallel"]),
    flag("downstream.fallback", "Fallback when calls fail");
    0 => "1", 1 => "2", 2 => "3", 3 => "4"
];

const RAFT: &[Param] = &[
    num(
        "election_timeout_min_ms",
        "Election timeout from",
        "ms",
        10.0,
        1_000.0,
        10.0,
    ),
    num(
        "election_timeout_max_ms",
        "Election timeout to",
        "ms",
        10.0,
        5_000.0,
        10.0,
    ),
    flag("randomized_timeouts", "Random election timeouts"),
    num("heartbeat_ms", "Heartbeat every", "ms", 5.0, 1_000.0, 5.0),
    num(
        "propose_every_ms",
        "A command every (0: none)",
        "ms",
        0.0,
        1_000.0,
        10.0,
    ),
];

const KV_REPLICA: &[Param] = &[
    choice("mode", "Mode", &["cp", "ap"]),
    num("r", "Read from (R)", "replicas", 1.0, 3.0, 1.0),
    num("w", "Write to (W)", "replicas", 1.0, 3.0, 1.0),
    num(
        "op_timeout_ms",
        "Operation timeout",
        "ms",
        10.0,
        5_000.0,
        10.0,
    ),
    num(
        "anti_entropy_ms",
        "Anti-entropy every (0: off)",
        "ms",
        0.0,
        5_000.0,
        10.0,
    ),
    flag("read_repair", "Read repair"),
];

const KV_CLIENT: &[Param] = &[
    num("write_ratio", "Writes", "", 0.0, 1.0, 0.05),
    num("think_ms", "Think time", "ms", 0.0, 2_000.0, 10.0),
    num("timeout_ms", "Timeout", "ms", 10.0, 5_000.0, 10.0),
];

const PRODUCER: &[Param] = &[num(
    "rate_per_s",
    "Messages per second",
    "/s",
    1.0,
    500.0,
    1.0,
)];

const QUEUE: &[Param] = &[
    num(
        "ack_timeout_ms",
        "Redeliver after no ack for",
        "ms",
        10.0,
        10_000.0,
        10.0,
    ),
    num("prefetch", "Unacked per consumer", "", 1.0, 100.0, 1.0),
];

const CONSUMER: &[Param] = &[
    flag("dedup", "De-duplicate by message id"),
    num(
        "dedup_retention_ms",
        "Remember ids for",
        "ms",
        0.0,
        600_000.0,
        1_000.0,
    ),
    num("failure_rate", "Failure rate", "", 0.0, 1.0, 0.01),
];

const SAGA_ORCHESTRATOR: &[Param] = &[
    num("pivot", "Pivot step (0 = first)", "", 0.0, 2.0, 1.0),
    choice("on_timeout", "A step that times out", &["retry", "fail"]),
    num("step_timeout_ms", "Step timeout", "ms", 10.0, 5_000.0, 10.0),
    num("rate_per_s", "Orders per second", "/s", 1.0, 100.0, 1.0),
];

const SAGA_PARTICIPANT: &[Param] = &[
    num("failure_rate", "Failure rate", "", 0.0, 1.0, 0.01),
    flag("always_fail", "Always fail"),
];

const TPC_COORDINATOR: &[Param] = &[
    num(
        "vote_timeout_ms",
        "Wait for votes",
        "ms",
        10.0,
        5_000.0,
        10.0,
    ),
    num(
        "log_ms",
        "Write the decision to the log in",
        "ms",
        0.0,
        1_000.0,
        1.0,
    ),
];

const TPC_PARTICIPANT: &[Param] = &[num("no_rate", "Votes no", "", 0.0, 1.0, 0.01)];

const APP: &[Param] = &[
    choice(
        "strategy",
        "Cache strategy",
        &["cache_aside", "invalidate_on_write", "write_through"],
    ),
    num("read_rate_per_s", "Reads per second", "/s", 0.0, 200.0, 1.0),
    num(
        "write_rate_per_s",
        "Writes per second",
        "/s",
        0.0,
        50.0,
        1.0,
    ),
];

const CACHE: &[Param] = &[
    num("ttl_ms", "Time to live", "ms", 100.0, 20_000.0, 100.0),
    flag("leases", "Leases (memcache)"),
];

const ORDER_WRITER: &[Param] = &[num(
    "rate_per_s",
    "Events per second",
    "/s",
    1.0,
    100.0,
    1.0,
)];

const PROJECTION: &[Param] = &[
    num("apply_ms", "Time to apply one event", "ms", 0.0, 200.0, 1.0),
    num("poll_interval_ms", "Poll every", "ms", 1.0, 5_000.0, 1.0),
    flag("durable", "Keeps its state on a crash"),
];

const PAYMENT: &[Param] = &[
    num("error_rate", "Error rate", "", 0.0, 1.0, 0.01),
    num(
        "retention_ms",
        "Keys kept for",
        "ms",
        0.0,
        86_400_000.0,
        1_000.0,
    ),
];

/// The settings offered for a model kind. A new model is a compiler error here: decide which of
/// its settings a learner turns.
pub fn params_for(kind: ModelKind) -> &'static [Param] {
    match kind {
        ModelKind::Client => CLIENT,
        ModelKind::Service => SERVICE,
        ModelKind::Payment => PAYMENT,
        ModelKind::Raft => RAFT,
        ModelKind::KvReplica => KV_REPLICA,
        ModelKind::KvClient => KV_CLIENT,
        ModelKind::Producer => PRODUCER,
        ModelKind::Queue => QUEUE,
        ModelKind::Consumer => CONSUMER,
        ModelKind::SagaOrchestrator => SAGA_ORCHESTRATOR,
        ModelKind::SagaParticipant => SAGA_PARTICIPANT,
        ModelKind::TpcCoordinator => TPC_COORDINATOR,
        ModelKind::TpcParticipant => TPC_PARTICIPANT,
        ModelKind::App => APP,
        ModelKind::Cache => CACHE,
        ModelKind::OrderWriter => ORDER_WRITER,
        ModelKind::Projection => PROJECTION,
        // Nothing to turn: a database answers at once, an event log only appends.
        ModelKind::Database | ModelKind::EventLog => &[],
    }
}

/// The JSON for a slider's value: a whole number where the slider moves in whole steps, since
/// settings such as `retry.max_attempts` are integers and `1.0` is not one.
pub fn number(p: &Param, v: f64) -> serde_json::Value {
    if p.step >= 1.0 && v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::json!(v as i64)
    } else {
        serde_json::json!(v)
    }
}

/// Which preset a setting's value is: `Some(None)` for off, `Some(Some(i))` for preset `i`
/// (every field the preset names has the preset's value), `None` for something else.
pub fn preset_of(presets: &[(&str, &str)], value: &serde_json::Value) -> Option<Option<usize>> {
    if value.is_null() {
        return Some(None);
    }
    let cur = value.as_object()?;
    presets
        .iter()
        .position(|(_, text)| {
            serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|p| p.as_object().cloned())
                .is_some_and(|p| {
                    p.iter()
                        .all(|(k, v)| cur.get(k).is_some_and(|c| covers(v, c)))
                })
        })
        .map(Some)
}

/// Whether `have` has every field `want` names, with the same value; numbers compare as numbers
/// (`10000` and `10000.0` are one setting).
fn covers(want: &serde_json::Value, have: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (want, have) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|h| covers(v, h))),
        _ => want == have,
    }
}

/// Reads a dotted path in a JSON value; a number indexes a list (`downstream.calls.0`).
pub fn get<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |v, k| match v {
        serde_json::Value::Array(a) => a.get(k.parse::<usize>().ok()?),
        _ => v.get(k),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::scenario::Scenario;

    /// Every offered setting exists in the model's settings and accepts both ends of its range,
    /// so no slider can produce a value the core refuses.
    #[test]
    fn every_slider_value_is_accepted_by_the_core() {
        for text in crate::templates::TEMPLATES {
            sliders_accepted(text);
        }
        // And every lesson step, where the learner turns the knobs the lesson asks for.
        for (id, l) in crate::lessons::test_catalog().iter() {
            let l = l.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
            for st in &l.steps {
                sliders_accepted(&st.scenario(l).unwrap().to_json());
            }
        }
    }

    fn sliders_accepted(text: &str) {
        let s = Scenario::parse(text).expect("valid");
        let world = s.build(None).expect("builds");
        for (i, spec) in s.nodes.iter().enumerate() {
            let node = world.node(faultline_core::NodeId(i as u16));
            let cfg = faultline_core::jsonpos::value_of(&spec.model);
            for p in params_for(node.model_kind()) {
                let values: Vec<serde_json::Value> = match p.kind {
                    Kind::Number | Kind::Optional => vec![number(p, p.min), number(p, p.max)],
                    Kind::Bool => vec![true.into(), false.into()],
                    Kind::Choice(c) => c.iter().map(|w| (*w).into()).collect(),
                    Kind::Preset(ps) => std::iter::once(serde_json::Value::Null)
                        .chain(
                            ps.iter()
                                .map(|(_, t)| serde_json::from_str(t).expect("JSON")),
                        )
                        .collect(),
                };
                // The inspector offers only the settings a node has (no `downstream.*` on a
                // service without calls).
                if get(&cfg, p.path).is_none() {
                    continue;
                }
                if p.path.starts_with("workload.")
                    && get(&cfg, "workload.type").and_then(|t| t.as_str()) != Some("open")
                {
                    continue;
                }
                for v in values {
                    let mut probe = node.clone_box();
                    if let Err(e) = faultline_core::models::set_param(&mut *probe, p.path, &v) {
                        // A bound that depends on another offered setting (the election
                        // timeout's end below its start) is refused with a message naming it;
                        // the page shows that message and keeps the value. Anything else is a
                        // slider that offers what the core refuses.
                        let names_partner = params_for(node.model_kind())
                            .iter()
                            .any(|o| o.path != p.path && e.contains(o.path));
                        assert!(names_partner, "{} {} = {v}: {e}", node.kind(), p.path);
                        continue;
                    }
                    if let Kind::Preset(ps) = p.kind {
                        // The control shows the preset it just set, once the core has filled in
                        // the defaults.
                        let set =
                            faultline_core::scenario::set_config_field(&spec.model, p.path, &v)
                                .expect("accepted above");
                        let want = ps.iter().position(|(_, t)| {
                            serde_json::from_str::<serde_json::Value>(t).unwrap() == v
                        });
                        let shown = serde_json::to_value(&set).unwrap();
                        assert_eq!(
                            preset_of(ps, get(&shown, p.path).unwrap()),
                            Some(want),
                            "{} {}",
                            node.kind(),
                            p.path
                        );
                    }
                }
            }
        }
    }
}
