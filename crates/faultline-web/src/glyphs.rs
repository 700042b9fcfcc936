//! A picture per model, drawn around each node from its typed [`NodeView`]: a service's queue as
//! a tank that fills and its workers as slots, a client's retries in flight and the drain of its
//! oldest attempt's timeout, a retry budget as a gauge, a circuit breaker as a gate on its link,
//! a Raft server's term, election timer and log with the commit index, a replica's values and
//! versions, a stale read flagged at the reader, a queue's backlog, a saga's steps.
//!
//! Each glyph is plain data (compared by the canvas to skip work) and never only a colour: every
//! state also has a word, a number or a shape. Sizes are in the canvas's units (a node's radius
//! is 30).

use faultline_core::models::kv::key_name;
use faultline_core::view::{
    BreakerState, BreakerView, BudgetView, KvModeView, NodeView, RaftRole, SagaOutcome, StepState,
};
use yew::prelude::*;

/// The most worker slots drawn one by one; more are drawn as one bar.
const MAX_SLOTS: u32 = 10;
/// The most log entries drawn (the newest).
const LOG_BOXES: usize = 8;
/// The most sagas drawn (the oldest running).
const SAGA_ROWS: usize = 3;
/// How long an ended saga stays drawn, virtual microseconds: a compensation lasts tens of
/// milliseconds, a flicker at normal speed, so its final picture is held for a while.
pub const ENDED_SHOW_US: u64 = 2_000_000;

/// What is drawn around one node.
#[derive(Clone, Debug, PartialEq)]
pub enum Glyph {
    /// Nothing beyond the shape and the status line.
    Plain,
    /// A service: a queue tank and worker slots; `full` when it sheds.
    Service {
        /// Waiting in the queue.
        queued: usize,
        /// The queue's capacity.
        limit: u32,
        /// Busy workers.
        busy: usize,
        /// Workers.
        workers: u32,
        /// Down (an outage).
        down: bool,
    },
    /// A client: retries in flight, the oldest attempt's timeout left, the budget left.
    Client {
        /// Requests in flight on a second or later attempt.
        retrying: usize,
        /// The highest attempt number in flight.
        top_attempt: u32,
        /// The fraction of the oldest timed attempt's timeout left, 0 to 1.
        timeout_left: Option<f64>,
        /// The fraction of the retry budget left, 0 to 1.
        budget_left: Option<f64>,
    },
    /// A Raft server.
    Raft {
        /// The term (its colour class is `term-{term % 6}`).
        term: u64,
        /// The newest log entries: (term, committed).
        log: Vec<(u64, bool)>,
        /// Entries in the log.
        len: u64,
        /// The fraction of its election timer left, 0 to 1 (not a leader).
        timer_left: Option<f64>,
    },
    /// A key-value replica: mode and its values with versions.
    Replica {
        /// "CP" or "AP".
        mode: &'static str,
        /// "x=3 v2" per key (the first two keys).
        values: Vec<String>,
    },
    /// A key-value client: stale reads it saw, and the history's verdict.
    Reader {
        /// Stale reads counted.
        stale: i64,
        /// The history is not linearizable.
        broken: bool,
    },
    /// A queue: backlog against capacity, in flight, redeliveries.
    Queue {
        /// Ready messages.
        ready: usize,
        /// The backlog's capacity.
        max: u32,
        /// Delivered, not yet acked.
        in_flight: usize,
        /// Redeliveries so far.
        redelivered: u64,
    },
    /// A saga orchestrator: the oldest running sagas, each a row of step marks, and the saga
    /// that ended last, kept for [`ENDED_SHOW_US`] (a compensation takes milliseconds).
    Sagas {
        /// Per saga: its id and its steps' marks.
        rows: Vec<(u64, Vec<StepState>)>,
        /// The saga that ended in the last [`ENDED_SHOW_US`] (a compensated one first): its id,
        /// its final marks and how it ended.
        ended: Option<(u64, Vec<StepState>, SagaOutcome)>,
    },
    /// A two-phase-commit participant holding a lock while in doubt.
    Locked {
        /// Blocked waiting for the coordinator.
        blocked: bool,
    },
    /// A projection: how far behind the log it is.
    Lag {
        /// Events behind.
        lag: u64,
        /// The log's end as last seen.
        head: u64,
    },
}

/// A breaker drawn as a gate on the link from its owner to the node it calls.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// Where it sits (a third of the way from the owner).
    pub at: (f64, f64),
    /// Closed, open, half-open.
    pub state: BreakerState,
    /// Its words: "closed", "open 1.4 s", "trial 1/2".
    pub label: String,
}

fn fraction(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn budget_left(b: &BudgetView) -> f64 {
    match b {
        BudgetView::TokenBucket { tokens, max_tokens } => fraction(tokens / max_tokens.max(1e-9)),
        BudgetView::Ratio {
            ratio,
            requests,
            retries,
            ..
        } => {
            let allowed = ratio * (*requests as f64);
            if allowed <= 0.0 {
                1.0
            } else {
                fraction(1.0 - *retries as f64 / allowed)
            }
        }
    }
}

/// The gate's words for a breaker at `now_us`.
pub fn gate_label(b: &BreakerView, now_us: u64) -> String {
    match b.state {
        BreakerState::Closed => "closed".into(),
        BreakerState::Open => match b.open_until_us {
            Some(t) if t > now_us => format!("open {:.1} s", (t - now_us) as f64 / 1e6),
            _ => "open".into(),
        },
        BreakerState::HalfOpen => format!("trial {}/{}", b.half_open_admitted, b.half_open_permits),
    }
}

impl Glyph {
    /// The glyph for a node's view at `now_us`; `election_max_us` scales a Raft timer's ring;
    /// `stale_reads` is the node's counter of that name (a reader's flag).
    pub fn of(view: &NodeView, now_us: u64, election_max_us: u64, stale_reads: i64) -> Glyph {
        match view {
            NodeView::Service(s) => Glyph::Service {
                queued: s.queued,
                limit: s.queue_limit,
                busy: s.busy,
                workers: s.workers,
                down: s.outage.is_some(),
            },
            NodeView::Client(c) => {
                let oldest = c
                    .in_progress
                    .iter()
                    .filter_map(|r| Some((r.attempt_started_us, r.attempt_deadline_us?)))
                    .min();
                Glyph::Client {
                    retrying: c.in_progress.iter().filter(|r| r.attempt > 1).count(),
                    top_attempt: c.in_progress.iter().map(|r| r.attempt).max().unwrap_or(0),
                    timeout_left: oldest.map(|(start, end)| {
                        fraction(end.saturating_sub(now_us) as f64 / (end - start).max(1) as f64)
                    }),
                    budget_left: c.budget.as_ref().map(budget_left),
                }
            }
            NodeView::Raft(r) => {
                let skip = r.log.len().saturating_sub(LOG_BOXES);
                Glyph::Raft {
                    term: r.term,
                    log: r.log[skip..]
                        .iter()
                        .map(|e| (e.term, e.index <= r.commit_index))
                        .collect(),
                    len: r.log.len() as u64,
                    timer_left: (r.role != RaftRole::Leader)
                        .then_some(r.election_deadline_us)
                        .flatten()
                        .map(|d| {
                            fraction(
                                d.saturating_sub(now_us) as f64 / election_max_us.max(1) as f64,
                            )
                        }),
                }
            }
            NodeView::KvReplica(k) => Glyph::Replica {
                mode: match k.mode {
                    KvModeView::Cp => "CP",
                    KvModeView::Ap => "AP",
                },
                values: k
                    .entries
                    .iter()
                    .take(2)
                    .map(|e| format!("{}={} v{}", key_name(e.key), e.value, e.version))
                    .collect(),
            },
            NodeView::KvClient(k) => Glyph::Reader {
                stale: stale_reads,
                broken: k.linearizable == Some(false),
            },
            NodeView::Queue(q) => Glyph::Queue {
                ready: q.ready,
                max: q.max_depth,
                in_flight: q.in_flight,
                redelivered: q.redelivered,
            },
            NodeView::SagaOrchestrator(o) => {
                let recent = || {
                    o.ended
                        .iter()
                        .filter(|e| now_us.saturating_sub(e.ended_us) < ENDED_SHOW_US)
                };
                let ended = recent()
                    .find(|e| e.outcome == SagaOutcome::Compensated)
                    .or_else(|| recent().next())
                    .map(|e| (e.saga, e.steps.clone(), e.outcome));
                Glyph::Sagas {
                    rows: o
                        .sagas
                        .iter()
                        .take(SAGA_ROWS)
                        .map(|s| (s.saga, s.steps.clone()))
                        .collect(),
                    ended,
                }
            }
            NodeView::TpcParticipant(p) => match &p.prepared {
                Some(d) => Glyph::Locked { blocked: d.blocked },
                None => Glyph::Plain,
            },
            NodeView::Projection(p) => Glyph::Lag {
                lag: p.lag,
                head: p.head_seen,
            },
            NodeView::Payment(_)
            | NodeView::Database(_)
            | NodeView::Cache(_)
            | NodeView::App(_)
            | NodeView::EventLog(_)
            | NodeView::OrderWriter(_)
            | NodeView::Producer(_)
            | NodeView::Consumer(_)
            | NodeView::SagaParticipant(_)
            | NodeView::TpcCoordinator(_) => Glyph::Plain,
        }
    }

    /// Whether the shape's lower half is taken by the glyph (so the kind's name is not drawn).
    pub fn fills_shape(&self) -> bool {
        matches!(
            self,
            Glyph::Raft { .. } | Glyph::Replica { .. } | Glyph::Sagas { .. }
        )
    }

    /// The words the glyph draws, in the order [`Glyph::html`] draws them: they go into the
    /// node's accessible name, which must contain the visible text (WCAG 2.5.3, Label in Name).
    /// Keep the two in step; the e2e test `a11y.test.mjs` checks every template's canvas.
    pub fn words(&self) -> Vec<String> {
        match self {
            Glyph::Plain | Glyph::Service { .. } | Glyph::Lag { .. } => Vec::new(),
            Glyph::Client {
                retrying,
                top_attempt,
                ..
            } => (*retrying > 0)
                .then(|| retry_pill(*retrying, *top_attempt))
                .into_iter()
                .collect(),
            Glyph::Raft { term, .. } => vec![format!("term {term}")],
            Glyph::Replica { mode, values } => std::iter::once(mode.to_string())
                .chain(values.iter().cloned())
                .collect(),
            Glyph::Reader { stale, broken } => (*stale > 0 || *broken)
                .then(|| reader_flag(*stale, *broken))
                .into_iter()
                .collect(),
            Glyph::Queue {
                in_flight,
                redelivered,
                ..
            } => std::iter::once(format!("{in_flight} out"))
                .chain((*redelivered > 0).then(|| format!("↻{redelivered}")))
                .collect(),
            // Step marks are symbols, not words: the orchestrator's status line says it. The
            // ended saga's pill has words.
            Glyph::Sagas { ended, .. } => ended
                .iter()
                .map(|(id, steps, outcome)| ended_pill(*id, steps, *outcome))
                .collect(),
            Glyph::Locked { blocked } => vec![lock_flag(*blocked).to_string()],
        }
    }

    /// The glyph in SVG, in the node's frame. Texts are kept apart by a space, so the node's
    /// text reads as words ("x=3 v2 y=1 v1", not "x=3 v2y=1 v1").
    pub fn html(&self) -> Html {
        match self {
            Glyph::Plain => html! {},
            Glyph::Service {
                queued,
                limit,
                busy,
                workers,
                down,
            } => html! {
                <g class="glyph service-glyph" data-queued={queued.to_string()} data-busy={busy.to_string()}>
                    { tank(*queued as f64, f64::from(*limit), "queue", *down) }
                    { slots(*busy, *workers) }
                </g>
            },
            Glyph::Client {
                retrying,
                top_attempt,
                timeout_left,
                budget_left,
            } => html! {
                <g class="glyph client-glyph" data-retrying={retrying.to_string()}>
                    if let Some(f) = timeout_left {
                        { ring(*f, "timeout-ring") }
                    }
                    if *retrying > 0 {
                        <g class="retries" transform="translate(0,-44)">
                            { badge(retry_pill(*retrying, *top_attempt), 48.0, 7.0) }
                        </g>
                    }
                    if let Some(b) = budget_left {
                        { gauge(*b) }
                    }
                </g>
            },
            Glyph::Raft {
                term,
                log,
                len,
                timer_left,
            } => {
                let width = 7.0;
                let x0 = -(log.len() as f64 * width) / 2.0;
                html! {
                    <g class="glyph raft-glyph" data-term={term.to_string()} data-log={len.to_string()}
                       data-committed={log.iter().filter(|(_, c)| *c).count().to_string()}>
                        if let Some(f) = timer_left {
                            { ring(*f, "election-ring") }
                        }
                        <text class="term-label" y="-16">{ format!("term {term}") }</text>
                        { for log.iter().enumerate().map(|(i, (t, committed))| html! {
                            <rect class={classes!("entry", format!("term-{}", t % 6), committed.then_some("committed"))}
                                  x={format!("{:.1}", x0 + i as f64 * width)} y="11" width="6" height="10" rx="1" />
                        }) }
                    </g>
                }
            }
            Glyph::Replica { mode, values } => html! {
                <g class="glyph replica-glyph">
                    <text class="mode" y="-16">{ *mode }</text>
                    { for values.iter().enumerate().map(|(i, v)| html! {
                        <>{" "}<text class="value" y={(14 + 11 * i).to_string()}>{ v.clone() }</text></>
                    }) }
                </g>
            },
            Glyph::Reader { stale, broken } => html! {
                <g class="glyph reader-glyph" data-stale={stale.to_string()}>
                    if *stale > 0 || *broken {
                        <g class="stale-flag" transform="translate(0,-44)">
                            { badge(reader_flag(*stale, *broken), 60.0, 3.0) }
                        </g>
                    }
                </g>
            },
            Glyph::Queue {
                ready,
                max,
                in_flight,
                redelivered,
            } => html! {
                <g class="glyph queue-glyph" data-ready={ready.to_string()}>
                    { tank(*ready as f64, f64::from(*max), "backlog", false) }
                    <text class="kind-label" y="19">{ format!("{in_flight} out") }</text>
                    if *redelivered > 0 {
                        {" "}
                        <g class="retries" transform="translate(0,-44)">
                            { badge(format!("↻{redelivered}"), 48.0, 7.0) }
                        </g>
                    }
                </g>
            },
            Glyph::Sagas { rows, ended } => html! {
                <g class="glyph saga-glyph">
                    if let Some((id, steps, outcome)) = ended {
                        <g class={classes!("saga-ended", outcome_class(*outcome))} data-saga={id.to_string()} transform="translate(0,-44)">
                            { badge(ended_pill(*id, steps, *outcome), 100.0, 3.0) }
                        </g>
                        {" "}
                    }
                    { for rows.iter().enumerate().map(|(r, (id, steps))| html! {
                        <g class="saga-row" data-saga={id.to_string()} transform={format!("translate(0,{})", 10 + 8 * r)}>
                            { for steps.iter().enumerate().map(|(i, st)| {
                                let x = -(steps.len() as f64 * 9.0) / 2.0 + i as f64 * 9.0;
                                html! { <text class={classes!("step", step_class(*st))} x={format!("{x:.1}")} y="0">{ step_mark(*st) }</text> }
                            }) }
                        </g>
                    }) }
                </g>
            },
            Glyph::Locked { blocked } => html! {
                <g class="glyph lock-glyph" transform="translate(0,-44)">
                    { badge(lock_flag(*blocked).to_string(), 60.0, 3.0) }
                </g>
            },
            Glyph::Lag { lag, head } => html! {
                <g class="glyph lag-glyph" data-lag={lag.to_string()}>
                    { tank(*lag as f64, (*head).max(1) as f64, "lag", false) }
                </g>
            },
        }
    }
}

/// The width of `text` set at `px` pixels, in the same units, erring wide: bold DejaVu Sans
/// (what `system-ui` is on many Linux desktops and in headless Chromium) is among the widest
/// faces, at about 0.7 em a letter or digit; spaces and stops are narrow, symbols such as a
/// lock wide. A box sized by it holds its words on any common face.
pub fn text_width(text: &str, px: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' | '.' | ',' | ':' | '/' | '·' => 0.4,
            c if (c as u32) >= 0x1F000 => 1.3,
            _ => 0.72,
        })
        .sum();
    em * px
}

/// A pill of words above a node: a rounded box at least `min_w` wide and wide enough for its
/// text (10 px, `web/style.css`), so no word spills over its edge.
fn badge(text: String, min_w: f64, rx: f64) -> Html {
    let w = (text_width(&text, 10.0) + 8.0).max(min_w);
    html! {
        <g class="badge">
            <rect x={format!("{:.1}", -w / 2.0)} y="-9" width={format!("{w:.1}")} height="14" rx={rx.to_string()} />
            <text y="2">{ text }</text>
        </g>
    }
}

/// A client's retries in flight and the highest attempt number among them.
fn retry_pill(retrying: usize, top_attempt: u32) -> String {
    format!("↻{retrying} #{top_attempt}")
}

/// A key-value client's flag: its stale reads, or the history's verdict.
fn reader_flag(stale: i64, broken: bool) -> String {
    if broken {
        "not linearizable".to_string()
    } else {
        format!("⚠ {stale} stale")
    }
}

/// An ended saga's pill: "s7 ↺↺✗ undone" (its final marks, then the outcome in a word).
fn ended_pill(id: u64, steps: &[StepState], outcome: SagaOutcome) -> String {
    let marks: String = steps.iter().map(|s| step_mark(*s)).collect();
    let word = match outcome {
        SagaOutcome::Completed => "done",
        SagaOutcome::Compensated => "undone",
    };
    format!("s{id} {marks} {word}")
}

fn outcome_class(o: SagaOutcome) -> &'static str {
    match o {
        SagaOutcome::Completed => "completed",
        SagaOutcome::Compensated => "compensated",
    }
}

/// A two-phase-commit participant's lock.
fn lock_flag(blocked: bool) -> &'static str {
    if blocked {
        "🔒 blocked"
    } else {
        "🔒 in doubt"
    }
}

/// A saga step's mark: a word-free shape per state, readable without colour.
fn step_mark(s: StepState) -> &'static str {
    match s {
        StepState::Pending => "·",
        StepState::Running => "▸",
        StepState::Done => "✓",
        StepState::Failed => "✗",
        StepState::Compensating => "◂",
        StepState::Compensated => "↺",
        StepState::Unknown => "?",
    }
}

fn step_class(s: StepState) -> &'static str {
    match s {
        StepState::Pending => "pending",
        StepState::Running => "running",
        StepState::Done => "done",
        StepState::Failed => "failed",
        StepState::Compensating => "compensating",
        StepState::Compensated => "compensated",
        StepState::Unknown => "unknown",
    }
}

/// A vertical tank on the node's right that fills from the bottom; vermillion when nearly full.
fn tank(level: f64, capacity: f64, what: &'static str, down: bool) -> Html {
    let f = if capacity > 0.0 {
        fraction(level / capacity)
    } else {
        0.0
    };
    let h = 56.0 * f;
    let class = classes!(
        "tank",
        what,
        (f >= 0.9).then_some("full"),
        down.then_some("down")
    );
    html! {
        <g {class} data-fill={format!("{f:.2}")}>
            <rect class="tank-wall" x="36" y="-28" width="9" height="56" rx="2" />
            <rect class="tank-level" x="36" y={format!("{:.1}", 28.0 - h)} width="9" height={format!("{h:.1}")} rx="2" />
        </g>
    }
}

/// Worker slots above the node: one box per worker, filled when busy.
fn slots(busy: usize, workers: u32) -> Html {
    if workers > MAX_SLOTS {
        let f = fraction(busy as f64 / f64::from(workers.max(1)));
        return html! {
            <g class="slots bar" transform="translate(0,-44)">
                <rect class="slot" x="-25" y="-5" width="50" height="8" />
                <rect class="slot busy" x="-25" y="-5" width={format!("{:.1}", 50.0 * f)} height="8" />
            </g>
        };
    }
    let w = 6.0;
    let x0 = -(f64::from(workers) * w) / 2.0;
    html! {
        <g class="slots" transform="translate(0,-44)">
            { for (0..workers as usize).map(|i| html! {
                <rect class={classes!("slot", (i < busy).then_some("busy"))} x={format!("{:.1}", x0 + i as f64 * w)} y="-5" width="5" height="8" />
            }) }
        </g>
    }
}

/// A ring around the node that drains clockwise from the top as `left` goes from 1 to 0.
fn ring(left: f64, class: &'static str) -> Html {
    let r = 36.0;
    let circumference = std::f64::consts::TAU * r;
    html! {
        <circle class={classes!("ring", class)} r={r.to_string()} transform="rotate(-90)"
                stroke-dasharray={format!("{:.1} {circumference:.1}", circumference * left)}
                data-left={format!("{left:.2}")} />
    }
}

/// A small gauge on the node's left: the retry budget left.
fn gauge(left: f64) -> Html {
    let h = 56.0 * left;
    html! {
        <g class={classes!("tank", "budget", (left <= 0.5).then_some("low"))} data-fill={format!("{left:.2}")}>
            <rect class="tank-wall" x="-45" y="-28" width="9" height="56" rx="2" />
            <rect class="tank-level" x="-45" y={format!("{:.1}", 28.0 - h)} width="9" height={format!("{h:.1}")} rx="2" />
        </g>
    }
}
