//! The page: toolbar, time line, canvas, inspector and numbers, around one [`Session`].

use faultline_core::NodeId;
use faultline_core::lesson::{Lesson, Outcome};
use faultline_core::scenario::{Intervention, Scenario};
use faultline_core::share::{LessonAt, Link, LinkView};
use faultline_core::trace::{Fault, TraceKind};
use faultline_core::world::{Action, Liveness};
use gloo_render::{AnimationFrame, request_animation_frame};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::canvas::{self, CanvasView, HEIGHT, WIDTH};
use crate::charts::{self, Chart};
use crate::controls::{self, Kind};
use crate::lessons::{self, Progress};
use crate::session::{SPEEDS, Session};

/// The scenario the page opens with.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../tests/scenarios/client-server.json");

/// Scenarios the sandbox can start from (the samples the test suites run), the default first.
pub const TEMPLATES: &[&str] = &[
    DEFAULT_SCENARIO,
    include_str!("../../../tests/scenarios/retry-storm.json"),
    include_str!("../../../tests/scenarios/breaker.json"),
    include_str!("../../../tests/scenarios/idempotent-checkout.json"),
    include_str!("../../../tests/scenarios/mm1.json"),
    include_str!("../../../tests/scenarios/faults.json"),
    include_str!("../../../tests/scenarios/chain.json"),
    include_str!("../../../tests/scenarios/fanout.json"),
    include_str!("../../../tests/scenarios/hedging.json"),
    include_str!("../../../tests/scenarios/cache.json"),
    include_str!("../../../tests/scenarios/event-sourcing.json"),
    include_str!("../../../tests/scenarios/kv-cp.json"),
    include_str!("../../../tests/scenarios/kv-ap.json"),
    include_str!("../../../tests/scenarios/raft.json"),
    include_str!("../../../tests/scenarios/queue.json"),
    include_str!("../../../tests/scenarios/saga-orchestrated.json"),
    include_str!("../../../tests/scenarios/saga-choreography.json"),
    include_str!("../../../tests/scenarios/saga-choreography-queue.json"),
    include_str!("../../../tests/scenarios/two-phase-commit.json"),
    include_str!("../../../tests/scenarios/observability.json"),
];

/// The templates' titles, read once (the view runs every frame).
fn template_titles() -> &'static [String] {
    static TITLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TITLES.get_or_init(|| {
        TEMPLATES
            .iter()
            .map(|t| Scenario::parse(t).map(|s| s.title).unwrap_or_default())
            .collect()
    })
}

/// What a learner can do to a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NodeAct {
    /// Crash it.
    Crash,
    /// Restart it.
    Restart,
    /// Pause it.
    Pause,
    /// Resume it.
    Resume,
    /// Cut all its links.
    Isolate,
    /// Heal all its links.
    Rejoin,
}

/// Messages of the page.
pub enum Msg {
    /// An animation frame at this `performance.now()` timestamp.
    Frame(f64),
    /// Play or pause.
    Toggle,
    /// Handle one event.
    Step,
    /// Set the speed.
    Speed(f64),
    /// Move the playhead (virtual microseconds).
    Seek(u64),
    /// Start again from zero, without the learner's interventions.
    Reset,
    /// Use another seed (the text of the seed box).
    Seed(String),
    /// Select a node (or none).
    Select(Option<NodeId>),
    /// Cut or heal a link.
    ToggleLink(usize),
    /// Act on a node.
    Node(NodeId, NodeAct),
    /// A pointer went down on a node.
    DragStart(NodeId, i32, f64, f64),
    /// The pointer moved.
    DragMove(f64, f64),
    /// The pointer went up.
    DragEnd,
    /// Move a node by keyboard.
    Nudge(NodeId, f64, f64),
    /// Change a setting of a node.
    Set(NodeId, &'static str, serde_json::Value),
    /// Change a setting of the link between two nodes (both directions).
    SetLink(NodeId, NodeId, &'static str, serde_json::Value),
    /// Show or hide a kind of event in the log.
    LogKind(LogKind, bool),
    /// Show only one node's events in the log (or all).
    LogNode(Option<NodeId>),
    /// The event log's trace filter as typed (`t6` or `6`; empty shows every request).
    LogTrace(String),
    /// Reduce motion on or off.
    Still(bool),
    /// Show or hide the list of lessons.
    LessonList(bool),
    /// Open a lesson (index in the catalog) at a step.
    OpenStep(usize, usize),
    /// Leave the lesson for the playground.
    LeaveLesson,
    /// Show the next hint.
    Hint,
    /// Show the solution.
    ShowSolution,
    /// Start the step again with its solution applied.
    ApplySolution,
    /// Answer the prediction question.
    Predict(usize),
    /// Run from zero with the learner's settings in force from the start.
    RunWithSettings,
    /// Start the sandbox from a template.
    Template(usize),
    /// Copy the link to this moment.
    CopyLink,
    /// Hide or show a part of the page in links made from now on (a classroom link).
    Hide(&'static str, bool),
    /// Download the run in a format.
    Export(ExportKind),
    /// A scenario file's text arrived (or why it could not be read).
    Imported(Result<String, String>),
    /// Sandbox: add a node of this kind.
    AddNode(&'static str),
    /// Sandbox: remove a node.
    RemoveNode(NodeId),
    /// Sandbox: link a node to another (by id).
    AddLink(NodeId, String),
    /// Sandbox: remove the link between a node and another (by id).
    RemoveLink(NodeId, String),
    /// Pick a request (client node index, trace id) for the waterfall, or none.
    PickRequest(Option<(usize, u64)>),
    /// Compare mode on or off.
    CompareToggle,
    /// Apply the compare form's change to the second pane.
    CompareApply,
}

/// What can be downloaded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExportKind {
    /// The scenario with the learner's changes (the CLI's format).
    Scenario,
    /// The trace as JSON Lines.
    TraceJsonl,
    /// The trace in Chrome's trace-event format, for Perfetto.
    TraceChrome,
    /// Requests as OpenTelemetry spans (OTLP/JSON).
    Spans,
}

/// Offers `text` as a file download.
pub(crate) fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let fail = |e: wasm_bindgen::JsValue| format!("The download could not start: {e:?}");
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let clicked = click_download(&url, name).map_err(fail);
    let _ = web_sys::Url::revoke_object_url(&url);
    clicked
}

/// Starts the browser's download of `href` as a file called `name`.
fn click_download(href: &str, name: &str) -> Result<(), wasm_bindgen::JsValue> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement =
        wasm_bindgen::JsCast::unchecked_into(doc.create_element("a")?);
    a.set_href(href);
    a.set_download(name);
    a.click();
    Ok(())
}

/// Saves an SVG chart as a PNG at twice its size: the browser draws the SVG onto a canvas,
/// on white (a chart's background is transparent), and the canvas gives the PNG.
pub(crate) fn save_png(name: String, svg: &str) {
    use wasm_bindgen::JsCast;
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(img) = web_sys::HtmlImageElement::new() else {
        return;
    };
    let src = format!(
        "data:image/svg+xml;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(svg))
    );
    let loaded = img.clone();
    let onload = wasm_bindgen::closure::Closure::once_into_js(move || {
        let (w, h) = (loaded.natural_width() * 2, loaded.natural_height() * 2);
        let Some(canvas) = doc
            .create_element("canvas")
            .ok()
            .and_then(|c| c.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        else {
            return;
        };
        canvas.set_width(w.max(1));
        canvas.set_height(h.max(1));
        let Some(ctx) = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        ctx.set_fill_style_str("white");
        ctx.fill_rect(0.0, 0.0, f64::from(w), f64::from(h));
        let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(
            &loaded,
            0.0,
            0.0,
            f64::from(w),
            f64::from(h),
        );
        if let Ok(url) = canvas.to_data_url() {
            let _ = click_download(&url, &name);
        }
    });
    img.set_onload(Some(onload.unchecked_ref()));
    img.set_src(&src);
}

/// A file name from a title: letters, digits and dashes.
fn file_stem(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "faultline".into()
    } else {
        s.chars().take(60).collect()
    }
}

/// Parts of the page a teacher can hide in a classroom link: (name in the link, label).
pub const HIDEABLE: &[(&str, &str)] = &[
    ("lessons", "the lesson list"),
    ("templates", "the template picker"),
    ("seed", "the seed"),
    ("settings", "node settings"),
    ("actions", "crash, pause and isolate buttons"),
    ("charts", "charts"),
    ("log", "the event log"),
    ("numbers", "the table of numbers"),
    ("solution", "the lesson's solution"),
];

/// The lesson step on screen and what the learner has revealed in it.
struct OpenLesson {
    lesson: usize,
    step: usize,
    hints: usize,
    solution: bool,
    predicted: Option<usize>,
}

/// Kinds of lines in the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// Sent, delivered, dropped.
    Messages,
    /// Timers that fired.
    Timers,
    /// Faults, state changes, settings, notices.
    Changes,
}

/// A trace id as the event log prints it (`t6`), or bare (`6`); `None` for an empty box.
fn parse_trace_id(text: &str) -> Result<Option<u64>, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let digits = t.strip_prefix(['t', 'T']).unwrap_or(t);
    digits.parse::<u64>().map(Some).map_err(|_| ())
}

impl LogKind {
    fn of(kind: &TraceKind) -> LogKind {
        match kind {
            TraceKind::Sent { .. } | TraceKind::Delivered { .. } | TraceKind::Dropped { .. } => {
                LogKind::Messages
            }
            TraceKind::TimerFired { .. } => LogKind::Timers,
            _ => LogKind::Changes,
        }
    }

    fn involves(kind: &TraceKind, n: NodeId) -> bool {
        match kind {
            TraceKind::Sent { from, to, .. }
            | TraceKind::Delivered { from, to, .. }
            | TraceKind::Dropped { from, to, .. } => *from == n || *to == n,
            TraceKind::TimerFired { node, .. }
            | TraceKind::State { node, .. }
            | TraceKind::Param { node, .. }
            | TraceKind::Metric { node, .. }
            | TraceKind::Verdict { node, .. } => *node == n,
            TraceKind::Fault { fault } => match fault {
                Fault::Cut { from, to } | Fault::Heal { from, to } => *from == n || *to == n,
                Fault::Crash { node }
                | Fault::Restart { node }
                | Fault::Pause { node }
                | Fault::Resume { node } => *node == n,
                _ => false,
            },
            TraceKind::Notice { .. } => true,
        }
    }
}

/// A line of the event log: its trace seq, kind, text and the request it belongs to.
type LogLine = (u64, LogKind, String, Option<(usize, u64)>);

/// Lines kept in the event log view.
const LOG_LINES: usize = 80;

/// Frame timings for `?bench=frames`.
#[derive(Default)]
struct FrameBench {
    intervals_ms: Vec<f64>,
    work_ms: Vec<f64>,
    work_start: Option<f64>,
    report: Option<(f64, f64, f64, f64)>,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The learner's system setting, the default of the page's own switch.
fn prefers_reduced_motion() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches())
}

fn query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// One parameter of the page's query string (`?lesson=04-retries&step=2`), undecoded: lesson
/// ids are plain words.
fn query_param(q: &str, key: &str) -> Option<String> {
    q.trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.chars().take(80).collect())
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The saved lesson progress, and the sentence to show when it was corrupt and was reset.
fn load_progress() -> (Progress, Option<String>) {
    let Some(text) = storage().and_then(|s| s.get_item(lessons::PROGRESS_KEY).ok().flatten())
    else {
        return (Progress::default(), None);
    };
    match Progress::parse(&text) {
        Ok(p) => (p, None),
        Err(e) => {
            if let Some(s) = storage() {
                let _ = s.remove_item(lessons::PROGRESS_KEY);
            }
            (Progress::default(), Some(e))
        }
    }
}

struct Drag {
    node: NodeId,
    from: (f64, f64),
    moved: bool,
}

/// A part of the page that Yew redraws only when `version` moves.
pub struct Frozen;

/// [`Frozen`]'s properties: equal when the versions are.
#[derive(Properties)]
pub struct FrozenProps {
    /// Moves when the part changed.
    pub version: u64,
    /// The part.
    pub children: Html,
}

impl PartialEq for FrozenProps {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}

impl Component for Frozen {
    type Message = ();
    type Properties = FrozenProps;

    fn create(_: &Context<Self>) -> Self {
        Frozen
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &FrozenProps) -> bool {
        ctx.props().version != old.version
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        ctx.props().children.clone()
    }
}

/// The root component.
pub struct App {
    session: Result<Session, String>,
    pos: Vec<(f64, f64)>,
    selected: Option<NodeId>,
    drag: Option<Drag>,
    announce: String,
    seen_seq: u64,
    error: Option<String>,
    last_frame_ms: Option<f64>,
    svg: NodeRef,
    charts: Vec<Chart>,
    /// Moves when the page below the canvas must be drawn again: every message but a frame,
    /// and twice a second while playing.
    version: u64,
    /// [`App::version`] for the part below the canvas, which moves a little more often while
    /// playing: its three costly parts are refreshed in turn (see `Msg::Frame`).
    lower_version: u64,
    /// Compare mode's second pane.
    compare: Option<crate::compare::Compare>,
    frozen: std::cell::RefCell<Vec<(&'static str, u64, Html)>>,
    /// The invariants' transitions of this session, and the rows on screen.
    verdicts: crate::verdicts::Verdicts,
    verdict_rows: Vec<crate::verdicts::Row>,
    /// The space-time diagram (SVG text, messages drawn), redrawn a few times a second.
    spacetime: (String, usize),
    /// Recent requests for the waterfall's picker, and the picked one with its spans.
    recent: Vec<(usize, u64)>,
    request: Option<(usize, u64)>,
    waterfall: Result<Vec<crate::waterfall::Bar>, String>,
    frames: u64,
    bench: Option<FrameBench>,
    log_kinds: [bool; 3],
    log_node: Option<NodeId>,
    /// Only lines about this trace id's messages, when set.
    log_trace: Option<u64>,
    /// The trace filter's text when it is not a trace id, to say so beside it.
    log_trace_bad: Option<String>,
    log: Vec<LogLine>,
    still: bool,
    /// Parsed once and kept for the page's life (leaked on purpose: it is the page's data).
    catalog: &'static [(&'static str, Result<Lesson, String>)],
    progress: Progress,
    lesson: Option<OpenLesson>,
    lesson_list: bool,
    /// Parts hidden by a classroom link (or chosen for the next one).
    hidden: Vec<String>,
    /// The goal's verdict at the end of the run, keyed by the run's trace hash and time.
    end_verdict: Option<((u64, u64), faultline_core::lesson::Verdict)>,
    /// `?embed=1`: the minimal page for an iframe.
    embed: bool,
    /// What "Copy link" last did, for people.
    copied: Option<String>,
    // Kept alive on purpose: dropping the handle cancels the next frame.
    frame: Option<AnimationFrame>,
}

fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A short sentence for the live region about the trace events that matter to a listener.
fn narrate(kind: &TraceKind, names: &[String]) -> Option<String> {
    let n = |id: &NodeId| names.get(id.index()).cloned().unwrap_or_default();
    Some(match kind {
        TraceKind::Fault { fault } => match fault {
            Fault::Cut { from, to } => format!("Link from {} to {} cut.", n(from), n(to)),
            Fault::Heal { from, to } => format!("Link from {} to {} healed.", n(from), n(to)),
            Fault::Crash { node } => format!("{} crashed.", n(node)),
            Fault::Restart { node } => format!("{} restarted.", n(node)),
            Fault::Pause { node } => format!("{} paused.", n(node)),
            Fault::Resume { node } => format!("{} resumed.", n(node)),
            _ => return None,
        },
        TraceKind::State { node, text } => format!("{}: {text}.", n(node)),
        TraceKind::Notice { text } => text.clone(),
        TraceKind::Verdict {
            node,
            name,
            holds: Some(false),
            detail,
        } => format!("{}: {name} violated. {detail}", n(node)),
        _ => return None,
    })
}

impl App {
    /// Replaces the scenario on screen (a lesson step, a solution): a fresh run, paused at zero
    /// so the learner can read and set things up first.
    fn load(&mut self, scenario: Scenario) {
        match Session::new(scenario) {
            Ok(mut s) => {
                s.playing = false;
                if let Ok(old) = &self.session {
                    s.set_speed(old.speed); // the learner's chosen speed carries over
                }
                self.pos = canvas::positions(&s.scenario);
                self.session = Ok(s);
                self.selected = None;
                self.seen_seq = 0;
                self.log.clear();
                self.verdicts = Default::default();
                self.compare = None;
                self.request = None;
                self.waterfall = Ok(Vec::new());
                self.error = None;
            }
            // Lessons are checked by the tests, so this is a bug; say so and keep the current run.
            Err(e) => self.error = Some(format!("This step could not be opened: {e}")),
        }
    }

    fn open_step(&mut self, lesson: usize, step: usize, solved: bool) {
        let Some((_, Ok(l))) = self.catalog.get(lesson) else {
            return;
        };
        let Some(st) = l.steps.get(step) else { return };
        let scenario = if solved { st.solved(l) } else { st.scenario(l) };
        match scenario {
            Ok(sc) => {
                self.load(sc);
                let keep = self
                    .lesson
                    .as_ref()
                    .filter(|o| solved && o.lesson == lesson && o.step == step);
                let (hints, predicted) = keep.map_or((0, None), |o| (o.hints, o.predicted));
                self.lesson = Some(OpenLesson {
                    lesson,
                    step,
                    hints,
                    solution: solved,
                    predicted,
                });
                self.lesson_list = false;
                self.announce = format!("Lesson {}, step {}: {}.", l.title, step + 1, st.title);
            }
            Err(e) => self.error = Some(format!("This step could not be opened: {e}")),
        }
    }

    /// Restores a shared run: the lesson step (when there is one), the scenario with the
    /// learner's interventions, the moment, the view.
    fn open_link(&mut self, link: Link) {
        if let Some(LessonAt { id, step }) = &link.lesson {
            match self.catalog.iter().position(|(l, _)| l == id) {
                Some(i) => self.open_step(i, *step, false),
                None => {
                    self.error = Some(format!(
                        "This link was made in a lesson this page does not have ('{id}'); its run opens in the sandbox."
                    ))
                }
            }
        }
        let at_us = faultline_core::dist::ms_to_us(link.at_ms);
        self.load(link.scenario);
        if let Ok(s) = &mut self.session {
            s.seek(at_us);
            s.playing = false;
        }
        self.still = link.view.still;
        self.hidden = link
            .view
            .hide
            .into_iter()
            .filter(|h| HIDEABLE.iter().any(|(n, _)| n == h))
            .collect();
        self.announce = "The shared run is open, paused at its moment.".into();
    }

    /// Replaces the sandbox's scenario after an edit and plays it from zero.
    fn edit(&mut self, next: Scenario, said: String) {
        self.load(next);
        if let Ok(s) = &mut self.session {
            s.playing = true;
        }
        self.announce = said;
    }

    /// Applies a sandbox edit, or shows why it was refused (and changes nothing). `select` is the
    /// node to keep selected; the edited scenario keeps node order, so its id stays valid.
    fn sandbox_edit(&mut self, r: Result<Scenario, String>, done: String, select: Option<NodeId>) {
        match r {
            Ok(next) => {
                self.edit(next, format!("{done}; the run starts again from zero."));
                self.selected = select;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Says whether an export was cut at its size limit.
    fn export_note(&mut self, cut: bool) {
        self.error = cut.then(|| {
            format!(
                "The run's trace is longer than {} MB: the file holds its beginning.",
                faultline_core::export::MAX_EXPORT_BYTES >> 20
            )
        });
    }

    fn hides(&self, part: &str) -> bool {
        self.hidden.iter().any(|h| h == part)
    }

    /// This moment as a link text.
    fn link_text(&self) -> Option<String> {
        let s = self.session.as_ref().ok()?;
        Some(
            Link {
                scenario: s.recorded(),
                at_ms: s.world.now_us() as f64 / 1000.0,
                lesson: self.lesson.as_ref().map(|o| LessonAt {
                    id: self.catalog[o.lesson].0.to_string(),
                    step: o.step,
                }),
                view: LinkView {
                    still: self.still,
                    hide: self.hidden.clone(),
                },
            }
            .encode(),
        )
    }

    /// The whole URL of this moment (the page's address without its query, plus the link).
    fn share_url(&self) -> Option<String> {
        let loc = web_sys::window()?.location();
        let embed = if self.embed { "?embed=1" } else { "" };
        Some(format!(
            "{}{}{embed}#{}",
            loc.origin().ok()?,
            loc.pathname().ok()?,
            self.link_text()?
        ))
    }

    /// Keeps the address bar's fragment on the current state, so a reload or a copied address
    /// brings it back. Replaces the history entry: Back leaves the page, as people expect.
    fn sync_fragment(&self) {
        if self.bench.is_some() {
            return;
        }
        if let (Some(text), Some(h)) = (
            self.link_text(),
            web_sys::window().and_then(|w| w.history().ok()),
        ) {
            let _ = h.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("#{text}")),
            );
        }
    }

    /// Sandbox controls for the selected node: link it, unlink it, remove it.
    fn build_controls(&self, s: &Session, id: NodeId, ctx: &Context<Self>) -> Html {
        let names = s.world.names();
        let me = &names[id.index()];
        let linked_to = |other: &str| {
            s.scenario
                .links
                .iter()
                .any(|l| (&l.a == me && l.b == other) || (l.a == other && &l.b == me))
        };
        let others: Vec<&String> = names.iter().filter(|n| *n != me).collect();
        let can_link: Vec<&String> = others.iter().copied().filter(|n| !linked_to(n)).collect();
        let can_unlink: Vec<&String> = others.iter().copied().filter(|n| linked_to(n)).collect();
        let pick = |label: &'static str,
                    sel_id: &'static str,
                    list: Vec<&String>,
                    make: fn(NodeId, String) -> Msg| {
            let onchange = ctx.link().batch_callback(move |e: Event| {
                let el: HtmlSelectElement = e.target_unchecked_into();
                let v = el.value();
                (!v.is_empty()).then(|| make(id, v))
            });
            html! {
                <label class="build-pick">{ label }
                    <select id={sel_id} disabled={list.is_empty()} {onchange}>
                        <option value="" selected=true>{"…"}</option>
                        { for list.iter().map(|n| html! { <option value={(*n).clone()}>{ (*n).clone() }</option> }) }
                    </select>
                </label>
            }
        };
        let remove = ctx.link().callback(move |_| Msg::RemoveNode(id));
        html! {
            <div class="build" aria-label="Change the system">
                { pick("Link to ", "link-to", can_link, Msg::AddLink) }
                { pick("Unlink ", "unlink", can_unlink, Msg::RemoveLink) }
                <button id="remove-node" class="act" onclick={remove}>{ format!("Remove {me}") }</button>
            </div>
        }
    }

    fn share_view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let boxes = HIDEABLE.iter().map(|(name, label)| {
            let name: &'static str = name;
            let onchange = link.callback(move |e: Event| {
                Msg::Hide(name, e.target_unchecked_into::<HtmlInputElement>().checked())
            });
            html! {
                <label><input type="checkbox" class="hide-part" data-part={name} checked={self.hides(name)} {onchange} />{ format!(" {label}") }</label>
            }
        });
        html! {
            <section class="share" aria-label="Share">
                <button id="copy-link" onclick={link.callback(|_| Msg::CopyLink)}
                        title="A link to this run at this moment: the scenario, the seed, your changes">{"Copy link"}</button>
                if let Some(url) = &self.copied {
                    <input id="share-link" type="text" readonly=true value={url.clone()} aria-label="The link to this moment"
                           onfocus={Callback::from(|e: FocusEvent| e.target_unchecked_into::<HtmlInputElement>().select())} />
                    <span class="hint" role="status">{"Copied. Whoever opens it sees this run, paused at this moment."}</span>
                }
                <details id="classroom">
                    <summary>{"Classroom link: hide parts of the page"}</summary>
                    <p class="hint">{"Tick what your class should not see, then copy the link."}</p>
                    <div class="hide-parts">{ for boxes }</div>
                </details>
            </section>
        }
    }

    /// At the end of a run, judges the step's goal and saves the progress when it is met.
    fn judge_goal(&mut self) {
        let (Some(o), Ok(s)) = (&self.lesson, &self.session) else {
            return;
        };
        let (id, Ok(l)) = &self.catalog[o.lesson] else {
            return;
        };
        let Some(goal) = l.steps.get(o.step).and_then(|st| st.goal.as_ref()) else {
            return;
        };
        let key = (s.world.trace().hash(), s.world.now_us());
        if s.world.now_us() < s.end_us()
            || self.end_verdict.as_ref().is_some_and(|(k, _)| *k == key)
        {
            return;
        }
        // Judged on a fresh run of the recorded scenario, which sees every event; the page's own
        // world keeps only the newest (the same run: the recorded scenario replays exactly).
        let Ok(v) = faultline_core::lesson::run(&s.recorded()).map(|out| goal.judge(&out)) else {
            return;
        };
        let met = v.met;
        self.end_verdict = Some((key, v));
        if met && self.progress.mark(id, o.step) {
            self.announce = "Goal met. Well done.".into();
            if let Some(st) = storage() {
                // Progress that cannot be saved (private mode, a full store) still counts now.
                let _ = st.set_item(lessons::PROGRESS_KEY, &self.progress.to_text());
            }
        }
    }

    fn lesson_list_view(&self, ctx: &Context<Self>) -> Html {
        let items = self.catalog.iter().enumerate().map(|(i, (id, l))| match l {
            Ok(l) => {
                let done = self.progress.count(id);
                let goals = l.steps.iter().filter(|s| s.goal.is_some()).count();
                let onclick = ctx.link().callback(move |_| Msg::OpenStep(i, 0));
                html! {
                    <li>
                        <button class="lesson-open" data-lesson={*id} {onclick}>{ &l.title }</button>
                        <p class="hint">{ format!("{} · {} min · ", l.summary, l.minutes) }
                            <span class="progress">{ format!("{done} of {goals} {} met", if goals == 1 { "goal" } else { "goals" }) }</span></p>
                    </li>
                }
            }
            Err(e) => html! { <li><p class="error-text">{ format!("{id}: {e}") }</p></li> },
        });
        let close = ctx.link().callback(|_| Msg::LessonList(false));
        html! {
            <section id="lesson-list" class="lesson-list" aria-labelledby="lesson-list-title">
                <h2 id="lesson-list-title">{"Lessons"}</h2>
                <ol>{ for items }</ol>
                <button onclick={close}>{"Close"}</button>
            </section>
        }
    }

    fn lesson_panel(&self, o: &OpenLesson, s: &Session, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let (id, Ok(l)) = &self.catalog[o.lesson] else {
            return html! {};
        };
        let Some(st) = l.steps.get(o.step) else {
            return html! {};
        };
        let n = l.steps.len();
        let md = |text: &str| Html::from_html_unchecked(AttrValue::from(lessons::html(text)));
        let (lesson, step) = (o.lesson, o.step);
        let predict = st.predict.as_ref().map(|p| {
            let choices = p.choices.iter().enumerate().map(|(i, c)| {
                let onclick = link.callback(move |_| Msg::Predict(i));
                let class = match o.predicted {
                    Some(_) if i == p.answer => "choice right",
                    Some(k) if k == i => "choice wrong",
                    _ => "choice",
                };
                html! { <li><button {class} aria-pressed={(o.predicted == Some(i)).to_string()} {onclick}>{ c }</button></li> }
            });
            html! {
                <section class="predict" aria-label="Predict">
                    <h4>{"Predict first"}</h4>
                    <p>{ &p.question }</p>
                    <ol class="choices">{ for choices }</ol>
                    if let Some(k) = o.predicted {
                        <p class="explain" role="status">
                            <strong>{ if k == p.answer { "Right. " } else { "Not quite. " } }</strong>{ &p.explain }
                        </p>
                    }
                </section>
            }
        });
        let at_end = s.world.now_us() >= s.end_us();
        let goal = st.goal.as_ref().map(|g| {
            let key = (s.world.trace().hash(), s.world.now_us());
            let v = match &self.end_verdict {
                Some((k, v)) if at_end && *k == key => v.clone(),
                _ => g.judge(&Outcome::of_world(&s.world)),
            };
            let done = self.progress.done(id, step);
            let status = if at_end && v.met {
                "Goal met ✓".to_string()
            } else if at_end {
                "Not met yet: change something, then run from the start.".to_string()
            } else {
                format!(
                    "Checked at the end of the run ({}).",
                    faultline_core::fmt_time(s.end_us())
                )
            };
            html! {
                <section class="goal" aria-label="Goal">
                    <h4>{"Goal"}
                        if done { <span class="done">{" (met before)"}</span> }
                    </h4>
                    <ul>
                        { for v.checks.iter().map(|c| html! {
                            <li class={if c.met { "met" } else { "unmet" }}>
                                <span aria-hidden="true">{ if c.met { "● " } else { "○ " } }</span>
                                { &c.wants }<span class="got">{ format!(" (now: {})", c.got) }</span>
                            </li>
                        }) }
                    </ul>
                    <p id="goal-status" data-met={(at_end && v.met).to_string()} role="status">{ status }</p>
                </section>
            }
        });
        let hints = st
            .hints
            .iter()
            .take(o.hints)
            .map(|h| html! { <li>{ md(h) }</li> });
        let more_hints = o.hints < st.hints.len();
        let prev = (step > 0).then(|| link.callback(move |_| Msg::OpenStep(lesson, step - 1)));
        let next = (step + 1 < n).then(|| link.callback(move |_| Msg::OpenStep(lesson, step + 1)));
        html! {
            <aside class="lesson-panel" aria-labelledby="lesson-title">
                <p class="crumbs">
                    <button class="link-button" onclick={link.callback(|_| Msg::LessonList(true))}>{"All lessons"}</button>
                    <button class="link-button" id="leave-lesson" onclick={link.callback(|_| Msg::LeaveLesson)}>{"Playground"}</button>
                </p>
                <h2 id="lesson-title">{ &l.title }</h2>
                if step == 0 && !l.intro.is_empty() {
                    <div class="lesson-intro">{ md(&l.intro) }</div>
                }
                <h3 id="step-title">{ format!("Step {} of {n}: {}", step + 1, st.title) }</h3>
                <div class="step-text">{ md(&st.text) }</div>
                { for predict }
                if let Some(t) = &st.task {
                    <div class="task"><strong>{"Try: "}</strong>{ md(t) }</div>
                }
                { for goal }
                if !st.hints.is_empty() {
                    <ol class="hints">{ for hints }</ol>
                }
                <div class="lesson-actions">
                    if more_hints {
                        <button id="hint" onclick={link.callback(|_| Msg::Hint)}>{ if o.hints == 0 { "Hint" } else { "Another hint" } }</button>
                    }
                    <button id="run-settings" onclick={link.callback(|_| Msg::RunWithSettings)}
                            title="Start again from zero with the settings you changed in force from the start">{"Run from the start"}</button>
                    <button id="reset-step" onclick={link.callback(move |_| Msg::OpenStep(lesson, step))}>{"Reset step"}</button>
                    if !st.solution.is_empty() && !o.solution && !self.hides("solution") {
                        <button id="show-solution" onclick={link.callback(|_| Msg::ShowSolution)}>{"Show solution"}</button>
                    }
                </div>
                if o.solution {
                    <section class="solution" aria-label="Solution">
                        <h4>{"Solution"}</h4>
                        <ul>{ for st.solution.iter().map(|c| html! { <li>{ lessons::describe(c) }</li> }) }</ul>
                        <button id="apply-solution" onclick={link.callback(|_| Msg::ApplySolution)}>{"Apply it and run"}</button>
                    </section>
                }
                <nav class="step-nav" aria-label="Steps">
                    <button id="prev-step" disabled={prev.is_none()} onclick={prev.unwrap_or_default()}>{"Previous"}</button>
                    <span>{ format!("{} / {n}", step + 1) }</span>
                    <button id="next-step" disabled={next.is_none()} onclick={next.unwrap_or_default()}>{"Next"}</button>
                </nav>
            </aside>
        }
    }

    /// The page below the canvas: sharing, exports, charts, views, the log and the numbers.
    /// Drawn a few times a second while playing (see [`App::frozen`]).
    fn lower(&self, s: &Session, ctx: &Context<Self>) -> Html {
        let world = &s.world;
        let link = ctx.link();
        let rows = (0..world.names().len()).map(|i| {
            let id = NodeId(i as u16);
            let m = world.metrics(id);
            let q = |p: f64| {
                m.latency
                    .quantile_us(p)
                    .map_or("–".to_string(), |us| fmt_ms(us as f64 / 1000.0))
            };
            html! {
                <tr>
                    <th scope="row">{ &world.names()[i] }</th>
                    <td>{ world.node(id).kind() }</td>
                    <td>{ m.successes }</td>
                    <td>{ m.failures }</td>
                    <td>{ q(0.5) }</td>
                    <td>{ q(0.99) }</td>
                </tr>
            }
        });
        html! {
            <>
                    if !self.embed {
                        { self.share_view(ctx) }
                    }
                    <details class="export" hidden={self.embed}>
                        <summary>{"Save, open and export"}</summary>
                        <div class="export-actions">
                            <button id="export-scenario" onclick={link.callback(|_| Msg::Export(ExportKind::Scenario))}>{"Download scenario (JSON)"}</button>
                            <label class="upload">{"Open a scenario file "}
                                <input id="import-scenario" type="file" accept=".json,application/json" onchange={import_file(link)} />
                            </label>
                            <button id="export-jsonl" onclick={link.callback(|_| Msg::Export(ExportKind::TraceJsonl))}
                                    title="Every event up to now, one JSON object per line, as the faultline command writes">{"Trace (JSON Lines)"}</button>
                            <button id="export-chrome" onclick={link.callback(|_| Msg::Export(ExportKind::TraceChrome))}
                                    title="Opens in ui.perfetto.dev or chrome://tracing: one track per node">{"Trace for Perfetto"}</button>
                            <button id="export-spans" onclick={link.callback(|_| Msg::Export(ExportKind::Spans))}
                                    title="Each request, its attempts and the server's work as spans, in OpenTelemetry's OTLP/JSON shape">{"Spans (OpenTelemetry)"}</button>
                        </div>
                        <p class="hint">{"The scenario with your changes, as the faultline command reads it:"}</p>
                        // Serialised only while paused: not sixty times a second for nobody.
                        if s.playing {
                            <p class="hint">{"Pause to see the scenario with your changes."}</p>
                        } else {
                            <textarea id="scenario-json" readonly=true rows="12" aria-label="The scenario with your changes, as JSON"
                                      value={s.recorded().to_json()} />
                        }
                    </details>
                    <section class="charts" aria-label="Charts" hidden={self.hides("charts")}>
                        { for self.charts.iter().map(|c| {
                            let (name, svg) = (file_stem(&c.title), c.svg.clone());
                            let (png_name, png_svg) = (format!("{name}.png"), svg.clone());
                            let save = Callback::from(move |_: MouseEvent| {
                                // A failed download leaves the chart on the page: nothing to undo.
                                let _ = download(&format!("{name}.svg"), "image/svg+xml", &svg);
                            });
                            let save_as_png = Callback::from(move |_: MouseEvent| save_png(png_name.clone(), &png_svg));
                            html! {
                            <figure class="chart">
                                <figcaption>{ &c.title }<button class="save-chart link-button" onclick={save}
                                    aria-label={format!("Save the chart {} as SVG", c.title)}>{"SVG"}</button><button class="save-png link-button" onclick={save_as_png}
                                    aria-label={format!("Save the chart {} as PNG", c.title)}>{"PNG"}</button></figcaption>
                                { Html::from_html_unchecked(AttrValue::from(c.svg.clone())) }
                            </figure>
                        }}) }
                    </section>
                    <section class="views" aria-label="Invariants and message views">
                        { crate::views::verdicts(&self.verdict_rows, world.names(), link) }
                        if !self.hides("log") && !self.embed {
                            { crate::views::spacetime(&self.spacetime.0, self.spacetime.1, link) }
                            { crate::views::waterfall(&self.recent, self.request, &self.waterfall, world.names(), link) }
                        }
                    </section>
                    if !self.hides("log") && !self.embed {
                        { self.event_log(s, ctx) }
                    }
                    <table class="stats" hidden={self.hides("numbers")}>
                        <caption>{"Requests completed, by node"}</caption>
                        <thead><tr><th scope="col">{"node"}</th><th scope="col">{"model"}</th><th scope="col">{"ok"}</th><th scope="col">{"failed"}</th><th scope="col">{"p50"}</th><th scope="col">{"p99"}</th></tr></thead>
                        <tbody>{ for rows }</tbody>
                    </table>
            </>
        }
    }

    /// The compare form's change: node and setting from `#compare-param` ("index|path"), the
    /// value from `#compare-value` (JSON, or else a word).
    fn compare_form(s: &Session) -> Option<crate::compare::Change> {
        use wasm_bindgen::JsCast;
        let doc = web_sys::window()?.document()?;
        let pick: HtmlSelectElement = doc.get_element_by_id("compare-param")?.dyn_into().ok()?;
        let input: HtmlInputElement = doc.get_element_by_id("compare-value")?.dyn_into().ok()?;
        let (i, path) = pick
            .value()
            .split_once('|')
            .map(|(i, p)| (i.to_string(), p.to_string()))?;
        let node = s.scenario.nodes.get(i.parse::<usize>().ok()?)?.id.clone();
        let text = input.value();
        let value = serde_json::from_str(text.trim())
            .unwrap_or_else(|_| serde_json::Value::String(text.trim().to_string()));
        Some(crate::compare::Change {
            node,
            param: path,
            value,
        })
    }

    /// The two panes on one clock, small, with their key figures side by side.
    fn compare_view(&self, s: &Session, c: &crate::compare::Compare, ctx: &Context<Self>) -> Html {
        use crate::compare::Figures;
        let picture = |w: &faultline_core::world::World, id: &'static str| {
            canvas::view(
                CanvasView {
                    world: w,
                    pos: &self.pos,
                    selected: None,
                    svg_ref: &NodeRef::default(),
                    still: self.still,
                    picture: Some(id),
                },
                ctx.link(),
            )
        };
        let (fa, fb) = (Figures::of(&s.world), Figures::of(&c.session.world));
        let changed = c
            .change
            .as_ref()
            .map_or("nothing changed yet".to_string(), |ch| {
                format!("{} {} = {}", ch.node, ch.param, ch.value)
            });
        let pct = |f: &Figures| f.success_pct().map_or("–".into(), |p| format!("{p:.1} %"));
        let p99 = |f: &Figures| f.p99_us.map_or("–".into(), |us| fmt_ms(us as f64 / 1000.0));
        let mut rows: Vec<(&str, &str, String, String)> = vec![
            ("success", "success rate", pct(&fa), pct(&fb)),
            ("p99", "p99 latency", p99(&fa), p99(&fb)),
            (
                "attempts",
                "attempts",
                fa.attempts.to_string(),
                fb.attempts.to_string(),
            ),
            (
                "failed",
                "failed requests",
                fa.failed.to_string(),
                fb.failed.to_string(),
            ),
        ];
        // The counters this run's models keep: duplicate charges, stale reads, elections...
        let show = |v: Option<i64>| v.map_or("–".to_string(), |n| n.to_string());
        for (i, (counter, label)) in crate::compare::EXTRA.iter().enumerate() {
            let (a, b) = (fa.extra[i], fb.extra[i]);
            if a.is_some() || b.is_some() {
                rows.push((counter, label, show(a), show(b)));
            }
        }
        let options = s.scenario.nodes.iter().enumerate().flat_map(|(i, n)| {
            let cfg = Self::current_config(s, NodeId(i as u16));
            controls::params_for(s.world.node(NodeId(i as u16)).kind())
                .iter()
                .filter(move |p| controls::get(&cfg, p.path).is_some())
                .map(move |p| html! { <option value={format!("{i}|{}", p.path)}>{ format!("{}: {}{}", n.id, p.label, if p.unit.is_empty() { String::new() } else { format!(" ({})", p.unit) }) }</option> })
                .collect::<Vec<_>>()
        });
        html! {
            <section class="compare" aria-labelledby="compare-title">
                <h3 id="compare-title">{"Compare: the same run, one setting changed"}</h3>
                <div class="compare-form">
                    <label>{"Setting "}<select id="compare-param">{ for options }</select></label>
                    <label>{"Value "}<input id="compare-value" type="text" size="8" placeholder="2000, false…" /></label>
                    <button id="compare-apply" onclick={ctx.link().callback(|_| Msg::CompareApply)}>{"Apply to the second pane"}</button>
                </div>
                <div class="compare-panes">
                    <figure class="pane"><figcaption>{"As it is"}</figcaption>{ picture(&s.world, "compare-a") }</figure>
                    <figure class="pane"><figcaption id="compare-changed">{ format!("Changed: {changed}") }</figcaption>{ picture(&c.session.world, "compare-b") }</figure>
                </div>
                <table id="compare-figures" class="stats">
                    <caption>{ format!("Key figures at t = {}", faultline_core::fmt_time(s.world.now_us())) }</caption>
                    <thead><tr><th scope="col">{"figure"}</th><th scope="col">{"as it is"}</th><th scope="col">{"changed"}</th></tr></thead>
                    <tbody>
                        { for rows.iter().map(|(key, label, a, b)| html! {
                            <tr data-figure={*key}><th scope="row">{ *label }</th><td data-pane="a">{ a.clone() }</td><td data-pane="b">{ b.clone() }</td></tr>
                        }) }
                    </tbody>
                </table>
            </section>
        }
    }

    /// `make()`'s page part, rebuilt only when [`App::version`] moved: between refreshes the
    /// same part is handed to Yew, which then skips it (see [`Frozen`]).
    fn frozen(&self, key: &'static str, make: impl FnOnce() -> Html) -> Html {
        let version = if key == "lower" {
            self.lower_version
        } else {
            self.version
        };
        let mut cache = self.frozen.borrow_mut();
        let html = match cache.iter().find(|(k, v, _)| *k == key && *v == version) {
            Some((_, _, h)) => h.clone(),
            None => {
                let h = make();
                cache.retain(|(k, _, _)| *k != key);
                cache.push((key, version, h.clone()));
                h
            }
        };
        html! { <Frozen {version}>{ html }</Frozen> }
    }

    fn request_frame(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.frame = Some(request_animation_frame(move |ts| {
            link.send_message(Msg::Frame(ts))
        }));
    }

    fn to_svg(&self, cx: f64, cy: f64) -> Option<(f64, f64)> {
        let el = self.svg.cast::<web_sys::Element>()?;
        let r = el.get_bounding_client_rect();
        if r.width() <= 0.0 || r.height() <= 0.0 {
            return None;
        }
        let x = (cx - r.left()) * WIDTH / r.width();
        let y = (cy - r.top()) * HEIGHT / r.height();
        Some(canvas::inside(x, y))
    }

    /// Saves the layout as drawn after a node moved: every node's position, not only the moved
    /// one's, because a saved layout that did not fit was scaled to be drawn, and a mix of scaled
    /// and unscaled positions would be scaled again, wrongly, when the link is opened.
    fn save_layout(&mut self) {
        if let Ok(s) = &mut self.session {
            for (node, &(x, y)) in s.scenario.nodes.iter().zip(&self.pos) {
                s.scenario
                    .view
                    .positions
                    .insert(node.id.clone(), [x.round(), y.round()]);
            }
        }
    }

    /// Reads new trace events into the live region's sentence.
    fn catch_up_narration(&mut self) {
        let Ok(s) = &self.session else { return };
        let trace = s.world.trace();
        if trace.len_total() < self.seen_seq {
            self.seen_seq = trace.len_total(); // rewound by a seek
            return;
        }
        let names = s.world.names();
        if let Some(text) = trace
            .since(self.seen_seq)
            .filter_map(|e| narrate(&e.kind, names))
            .last()
        {
            self.announce = text;
        }
        self.seen_seq = trace.len_total();
    }

    /// Reads the newest trace events that pass the log's filters.
    fn refresh_log(&mut self) {
        let Ok(s) = &self.session else { return };
        let names = s.world.names();
        let kinds = self.log_kinds;
        let node = self.log_node;
        let events = s.world.trace().events();
        // The messages of the filtered trace: a delivery or a loss names only its message, so
        // they are found from the sends, in a first pass over the (bounded) ring.
        let traced: Option<std::collections::HashSet<u64>> = self.log_trace.map(|t| {
            events
                .iter()
                .filter_map(|e| match &e.kind {
                    TraceKind::Sent { id, payload, .. } if payload.trace_id() == Some(t) => {
                        Some(id.0)
                    }
                    _ => None,
                })
                .collect()
        });
        let mut lines: Vec<LogLine> = events
            .iter()
            .rev()
            .filter(|e| {
                let k = LogKind::of(&e.kind);
                kinds[k as usize]
                    && node.is_none_or(|n| LogKind::involves(&e.kind, n))
                    && traced.as_ref().is_none_or(|ids| match &e.kind {
                        TraceKind::Sent { id, .. }
                        | TraceKind::Delivered { id, .. }
                        | TraceKind::Dropped { id, .. } => ids.contains(&id.0),
                        _ => false,
                    })
            })
            .take(LOG_LINES)
            .map(|e| {
                let request = match &e.kind {
                    TraceKind::Sent {
                        from, to, payload, ..
                    } => crate::spacetime::request_of(from.index(), to.index(), payload),
                    _ => None,
                };
                (e.seq, LogKind::of(&e.kind), e.describe(names), request)
            })
            .collect();
        lines.reverse();
        self.log = lines;
    }

    /// Reads new verdicts; `before` (time, trace hash) is the moment before a change of the run:
    /// when the trace differs, the list forgets what came after it first.
    fn sync_verdicts(&mut self, before: Option<(u64, u64, bool)>) {
        use crate::verdicts::Sync;
        let Ok(s) = &self.session else { return };
        let w = &s.world;
        let mut ok = true;
        if let Some((t, hash, _)) = before
            && hash != w.trace().hash()
        {
            ok = self.verdicts.rewind(w, t.min(w.now_us()));
        }
        let turned = match ok.then(|| self.verdicts.sync(w)) {
            Some(Sync::Fresh(t)) => t,
            _ => {
                self.verdicts.rebuild(&s.recorded(), w);
                Vec::new()
            }
        };
        if let Some(name) = turned.last() {
            self.announce = format!("Invariant violated: {name}.");
        }
        if !turned.is_empty() || before.is_some() {
            self.verdict_rows = self.verdicts.rows(w);
        }
    }

    /// Redraws the space-time diagram, the verdicts' rows and the list of recent requests.
    fn refresh_views(&mut self) {
        let Ok(s) = &self.session else { return };
        let w = &s.world;
        self.verdict_rows = self.verdicts.rows(w);
        if !self.hides("log") {
            self.spacetime = crate::spacetime::svg(w, self.request);
        }
        self.recent = crate::spacetime::recent_requests(w, 30);
    }

    /// Rebuilds the picked request's spans (a replay of the run up to now).
    fn refresh_waterfall(&mut self) {
        let Ok(s) = &self.session else { return };
        self.waterfall = match self.request {
            Some((c, t)) => crate::waterfall::bars(&s.recorded(), s.world.now_us(), c, t),
            None => Ok(Vec::new()),
        };
        self.spacetime = crate::spacetime::svg(&s.world, self.request);
    }

    /// Redraws the charts for the selected node, or the first client.
    fn refresh_charts(&mut self) {
        let Ok(s) = &self.session else { return };
        let w = &s.world;
        // A node that is not about requests (a Raft server, a queue, a projection) charts the
        // gauges it keeps: term and commits, depth and unacked messages, lag.
        if let Some(id) = self
            .selected
            .filter(|id| !matches!(w.node(*id).kind(), "client" | "service" | "payment"))
        {
            let (series, _) = w.metrics(id).series();
            let mut names: Vec<&'static str> = series
                .iter()
                .flat_map(|b| b.gauges.iter().map(|(n, _)| n))
                .collect();
            names.sort_unstable();
            names.dedup();
            self.charts = names
                .into_iter()
                .take(3)
                .filter_map(|g| charts::gauge(w, id, g, &g.replace('_', " ")))
                .collect();
            if !self.charts.is_empty() {
                return;
            }
        }
        let focus = self
            .selected
            .filter(|id| matches!(w.node(*id).kind(), "client" | "service" | "payment"))
            .or_else(|| {
                (0..w.names().len() as u16)
                    .map(NodeId)
                    .find(|id| w.node(*id).kind() == "client")
            });
        let Some(id) = focus else {
            self.charts.clear();
            return;
        };
        let timeout = Self::current_config(s, id)
            .get("timeout_ms")
            .and_then(|v| v.as_f64());
        let services = (0..w.names().len() as u16)
            .map(NodeId)
            .filter(|n| w.node(*n).kind() == "service");
        self.charts = [charts::latency(w, id, timeout), charts::rates(w, id)]
            .into_iter()
            .chain(
                services
                    .take(2)
                    .map(|n| charts::gauge(w, n, "queue", "queue length")),
            )
            .flatten()
            .collect();
    }

    fn node_action(s: &Session, id: NodeId, act: NodeAct) -> Option<Action> {
        let links_of = || {
            s.world
                .links()
                .iter()
                .filter(move |l| l.a == id || l.b == id)
        };
        Some(match act {
            NodeAct::Crash => Action::Crash(id),
            NodeAct::Restart => Action::Restart(id),
            NodeAct::Pause => Action::Pause(id),
            NodeAct::Resume => Action::Resume(id),
            NodeAct::Isolate => Action::Partition {
                groups: vec![vec![id]],
            },
            NodeAct::Rejoin => {
                let l = links_of().find(|l| l.is_cut(0) || l.is_cut(1))?;
                Action::Heal { a: l.a, b: l.b }
            }
        })
    }

    /// The node's settings as they stand at the playhead: the scenario's, with every `set`
    /// intervention up to now applied.
    fn current_config(s: &Session, id: NodeId) -> serde_json::Value {
        let mut cfg = serde_json::to_value(&s.scenario.nodes[id.index()].model).unwrap_or_default();
        let now = s.world.now_us();
        let name = &s.scenario.nodes[id.index()].id;
        let scripted = s.scenario.interventions.iter().filter_map(|iv| match iv {
            Intervention::Set {
                at_ms,
                node,
                param,
                value,
            } if node == name && faultline_core::dist::ms_to_us(*at_ms) <= now => {
                Some((param.as_str(), value))
            }
            _ => None,
        });
        let learner = s.user.iter().filter_map(|(at, a)| match a {
            Action::Set { node, param, value } if *node == id && *at <= now => {
                Some((param.as_str(), value))
            }
            _ => None,
        });
        for (param, value) in scripted.chain(learner) {
            if let Ok(next) = faultline_core::scenario::set_config_field(&cfg, param, value) {
                cfg = next;
            }
        }
        cfg
    }

    fn event_log(&self, s: &Session, ctx: &Context<Self>) -> Html {
        let toggle = |label: &'static str, k: LogKind| {
            let on = self.log_kinds[k as usize];
            let onchange = ctx.link().callback(move |e: Event| {
                let el: HtmlInputElement = e.target_unchecked_into();
                Msg::LogKind(k, el.checked())
            });
            html! { <label><input type="checkbox" class="log-kind" data-kind={label} checked={on} {onchange} />{ format!(" {label}") }</label> }
        };
        let on_node = ctx.link().callback(|e: Event| {
            let el: HtmlSelectElement = e.target_unchecked_into();
            Msg::LogNode(el.value().parse::<u16>().ok().map(NodeId))
        });
        let on_trace = ctx.link().callback(|e: Event| {
            let el: HtmlInputElement = e.target_unchecked_into();
            Msg::LogTrace(el.value())
        });
        let names = s.world.names();
        html! {
            <section class="event-log" aria-label="Event log">
                <h3>{"Event log"}</h3>
                <div class="log-filters">
                    { toggle("messages", LogKind::Messages) }
                    { toggle("timers", LogKind::Timers) }
                    { toggle("changes", LogKind::Changes) }
                    <label>{"Node "}
                        <select id="log-node" onchange={on_node}>
                            <option value="" selected={self.log_node.is_none()}>{"all"}</option>
                            { for names.iter().enumerate().map(|(i, n)| html! {
                                <option value={i.to_string()} selected={self.log_node == Some(NodeId(i as u16))}>{ n }</option>
                            }) }
                        </select>
                    </label>
                    <label>{"Trace "}
                        <input id="log-trace" type="text" inputmode="text" size="6" maxlength="24"
                            placeholder="t6" aria-describedby="log-trace-help" onchange={on_trace}
                            value={self.log_trace.map(|t| format!("t{t}")).unwrap_or_default()} />
                    </label>
                </div>
                <p id="log-trace-help" class={classes!("hint", self.log_trace_bad.is_some().then_some("error-text"))} aria-live="polite">{
                    match (&self.log_trace_bad, self.log_trace) {
                        (Some(bad), _) => format!("\"{bad}\" is not a trace id: type t and a number, like t6, or clear the box."),
                        (None, Some(t)) => format!("Only the messages of request t{t}, on every node it reached. Clear the box for all."),
                        (None, None) => String::new(),
                    }
                }</p>
                <ol class="log-lines" aria-live="off" onclick={ctx.link().batch_callback(|e: MouseEvent| {
                    // A click on a sent message shows its request in the waterfall.
                    let el: web_sys::Element = e.target_unchecked_into();
                    let client = el.get_attribute("data-client")?.parse::<usize>().ok()?;
                    let trace = el.get_attribute("data-trace")?.parse::<u64>().ok()?;
                    Some(Msg::PickRequest(Some((client, trace))))
                })}>
                    { for self.log.iter().map(|(seq, k, line, request)| html! {
                        <li key={*seq} class={classes!(format!("{k:?}").to_lowercase(), request.is_some().then_some("has-request"))}
                            data-client={request.map(|r| r.0.to_string())} data-trace={request.map(|r| r.1.to_string())}>{ line }</li>
                    }) }
                </ol>
            </section>
        }
    }

    fn inspector(&self, s: &Session, ctx: &Context<Self>) -> Html {
        let Some(id) = self.selected else {
            return html! { <p class="hint">{"Select a node to see inside it and turn its knobs. Click a link to cut it."}</p> };
        };
        let world = &s.world;
        let node = world.node(id);
        let name = &world.names()[id.index()];
        let live = world.liveness(id);
        let rows = node
            .inspect()
            .into_iter()
            .map(|(k, v)| html! { <><dt>{ k }</dt><dd>{ v }</dd></> });
        let act = |label: &'static str, a: NodeAct, enabled: bool| {
            let onclick = ctx.link().callback(move |_| Msg::Node(id, a));
            html! { <button class="act" data-act={label.to_lowercase()} disabled={!enabled} {onclick}>{ label }</button> }
        };
        let cfg = Self::current_config(s, id);
        let params = controls::params_for(node.kind()).iter().filter(|p| controls::get(&cfg, p.path).is_some()).map(|p| {
            let value = controls::get(&cfg, p.path).cloned().unwrap_or_default();
            let path = p.path;
            let input_id = format!("param-{}", path.replace('.', "-"));
            let editor = match p.kind {
                Kind::Number | Kind::Optional => {
                    let v = value.as_f64();
                    let param = *p;
                    let oninput = ctx.link().batch_callback(move |e: InputEvent| {
                        let el: HtmlInputElement = e.target_unchecked_into();
                        el.value().parse::<f64>().ok().map(|v| Msg::Set(id, path, controls::number(&param, v)))
                    });
                    let shown = v.map_or("none".to_string(), |v| if p.step >= 1.0 { format!("{v:.0}") } else { format!("{v}") });
                    let off = p.kind == Kind::Optional && v.is_none();
                    let toggle = (p.kind == Kind::Optional).then(|| {
                        let param = *p;
                        let onchange = ctx.link().callback(move |e: Event| {
                            let el: HtmlInputElement = e.target_unchecked_into();
                            // Turned on, a setting starts from a middling value within its range.
                            let on = controls::number(&param, 1000.0_f64.clamp(param.min, param.max));
                            Msg::Set(id, path, if el.checked() { on } else { serde_json::Value::Null })
                        });
                        html! { <label class="opt"><input type="checkbox" checked={!off} {onchange} />{" on"}</label> }
                    });
                    html! {
                        <>
                            <input id={input_id.clone()} type="range" min={p.min.to_string()} max={p.max.to_string()} step={p.step.to_string()}
                                   value={v.unwrap_or(p.min).to_string()} disabled={off} {oninput} />
                            <output for={input_id.clone()}>{ format!("{shown} {}", if v.is_some() { p.unit } else { "" }) }</output>
                            { for toggle }
                        </>
                    }
                }
                Kind::Bool => {
                    let onchange = ctx.link().callback(move |e: Event| {
                        let el: HtmlInputElement = e.target_unchecked_into();
                        Msg::Set(id, path, serde_json::json!(el.checked()))
                    });
                    html! { <input id={input_id.clone()} type="checkbox" checked={value.as_bool().unwrap_or(false)} {onchange} /> }
                }
                Kind::Preset(presets) => {
                    let onchange = ctx.link().batch_callback(move |e: Event| {
                        let el: HtmlSelectElement = e.target_unchecked_into();
                        let v = match el.value().parse::<usize>() {
                            Ok(i) => serde_json::from_str(presets.get(i)?.1).ok()?,
                            Err(_) if el.value() == "off" => serde_json::Value::Null,
                            Err(_) => return None, // "custom": nothing to set
                        };
                        Some(Msg::Set(id, path, v))
                    });
                    let cur = controls::preset_of(presets, &value);
                    html! {
                        <select id={input_id.clone()} {onchange}>
                            <option value="off" selected={cur == Some(None)}>{"off"}</option>
                            { for presets.iter().enumerate().map(|(i, (label, _))| html! {
                                <option value={i.to_string()} selected={cur == Some(Some(i))}>{ *label }</option>
                            }) }
                            if cur.is_none() {
                                <option value="custom" selected=true>{"custom (from the scenario)"}</option>
                            }
                        </select>
                    }
                }
                Kind::Choice(choices) => {
                    let onchange = ctx.link().callback(move |e: Event| {
                        let el: HtmlSelectElement = e.target_unchecked_into();
                        Msg::Set(id, path, serde_json::json!(el.value()))
                    });
                    let cur = value.as_str().unwrap_or_default().to_string();
                    html! {
                        <select id={input_id.clone()} {onchange}>
                            { for choices.iter().map(|c| html! { <option value={*c} selected={cur == *c}>{ c.replace('_', " ") }</option> }) }
                        </select>
                    }
                }
            };
            html! { <div class="param"><label for={input_id}>{ p.label }</label>{ editor }</div> }
        });
        let has_cut = world
            .links()
            .iter()
            .any(|l| (l.a == id || l.b == id) && (l.is_cut(0) || l.is_cut(1)));
        // The node's links: loss, and bandwidth (the fallacy "bandwidth is infinite"), both ways.
        let link_rows = world.links().iter().filter(|l| l.a == id || l.b == id).map(|l| {
            let (a, b) = (l.a, l.b);
            let other = &world.names()[if a == id { b } else { a }.index()];
            // Direction 0 is a -> b. A link may differ each way (answers lost on the way back
            // only, say): then both are shown, and a slider sets both.
            let (out_dir, in_dir) = if a == id { (0, 1) } else { (1, 0) };
            let cfg = l.config(out_dir);
            let back = l.config(in_dir);
            let loss = f64::from(cfg.loss_ppm) / 1e6;
            let loss_back = f64::from(back.loss_ppm) / 1e6;
            let loss_text = if cfg.loss_ppm == back.loss_ppm {
                format!("{:.0} %", loss * 100.0)
            } else {
                format!("{:.0} % out, {:.0} % in", loss * 100.0, loss_back * 100.0)
            };
            let key = format!("{}-{}", world.names()[a.index()], world.names()[b.index()]);
            let loss_id = format!("link-loss-{key}");
            let bw_id = format!("link-bandwidth-{key}");
            let on_loss = ctx.link().batch_callback(move |e: InputEvent| {
                let el: HtmlInputElement = e.target_unchecked_into();
                el.value().parse::<f64>().ok().map(|v| Msg::SetLink(a, b, "loss", serde_json::json!(v)))
            });
            let bw = (cfg.bandwidth_per_s > 0).then_some(cfg.bandwidth_per_s);
            let bw_back = (back.bandwidth_per_s > 0).then_some(back.bandwidth_per_s);
            let bw_words = |b: Option<u32>| b.map_or("unlimited".to_string(), |b| format!("{b} messages/s"));
            let bw_text = if bw == bw_back {
                bw_words(bw)
            } else {
                format!("{} out, {} in", bw_words(bw), bw_words(bw_back))
            };
            let on_bw = ctx.link().batch_callback(move |e: InputEvent| {
                let el: HtmlInputElement = e.target_unchecked_into();
                el.value().parse::<u32>().ok().map(|v| Msg::SetLink(a, b, "bandwidth_per_s", serde_json::json!(v)))
            });
            let on_limit = ctx.link().callback(move |e: Event| {
                let el: HtmlInputElement = e.target_unchecked_into();
                Msg::SetLink(a, b, "bandwidth_per_s", if el.checked() { serde_json::json!(100) } else { serde_json::Value::Null })
            });
            html! {
                <fieldset class="link-params">
                    <legend>{ format!("Link to {other}") }</legend>
                    <div class="param">
                        <label for={loss_id.clone()}>{ if cfg.loss_ppm == back.loss_ppm { "Loss" } else { "Loss (the slider sets both ways)" } }</label>
                        <input id={loss_id.clone()} type="range" min="0" max="0.5" step="0.01" value={loss.to_string()} oninput={on_loss} />
                        <output for={loss_id}>{ loss_text }</output>
                    </div>
                    <div class="param">
                        <label for={bw_id.clone()}>{"Bandwidth"}</label>
                        <input id={bw_id.clone()} type="range" min="1" max="1000" step="1" value={bw.unwrap_or(1000).to_string()} disabled={bw.is_none()} oninput={on_bw} />
                        <output for={bw_id}>{ bw_text }</output>
                        <label class="opt"><input type="checkbox" checked={bw.is_some()} onchange={on_limit} />{" limit"}</label>
                    </div>
                </fieldset>
            }
        });
        let close = ctx.link().callback(|_| Msg::Select(None));
        html! {
            <section class="inspector" aria-label={format!("Inspector: {name}")}>
                <h3>{ name }<span class="kind">{ node.kind() }</span><button class="close" aria-label="Close the inspector" onclick={close}>{"×"}</button></h3>
                <p class="state">{ canvas::node_state(world, id) }</p>
                <div class="actions" hidden={self.hides("actions")}>
                    { act("Crash", NodeAct::Crash, live != Liveness::Crashed) }
                    { act("Restart", NodeAct::Restart, live == Liveness::Crashed) }
                    { act("Pause", NodeAct::Pause, live == Liveness::Up) }
                    { act("Resume", NodeAct::Resume, live == Liveness::Paused) }
                    { act("Isolate", NodeAct::Isolate, true) }
                    { act("Rejoin", NodeAct::Rejoin, has_cut) }
                </div>
                <dl>{ for rows }</dl>
                <div class="params" hidden={self.hides("settings")}>{ for params }{ for link_rows }</div>
                if self.lesson.is_none() && !self.embed {
                    { self.build_controls(s, id, ctx) }
                }
            </section>
        }
    }
}

/// Reads the chosen file (within the scenario size limit) and sends its text to the page.
fn import_file(link: &html::Scope<App>) -> Callback<Event> {
    let link = link.clone();
    Callback::from(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value(""); // choosing the same file again is a new import
        let limit = faultline_core::limits::MAX_SCENARIO_BYTES;
        if file.size() > limit as f64 {
            link.send_message(Msg::Imported(Err(format!(
                "{} is {} bytes; a scenario is at most {limit}. Nothing changed.",
                file.name(),
                file.size()
            ))));
            return;
        }
        let link = link.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
            link.send_message(Msg::Imported(
                text.ok().and_then(|t| t.as_string()).ok_or_else(|| {
                    format!(
                        "{} could not be read as text. Nothing changed.",
                        file.name()
                    )
                }),
            ));
        });
    })
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let bench = query().contains("bench=frames").then(FrameBench::default);
        let scenario = match bench {
            Some(_) => Ok(crate::framebench::scenario()),
            None => Scenario::parse(DEFAULT_SCENARIO),
        };
        let session = scenario.and_then(Session::new).map_err(|e| e.to_string());
        let pos = session
            .as_ref()
            .map(|s| canvas::positions(&s.scenario))
            .unwrap_or_default();
        let mut app = App {
            session,
            pos,
            selected: None,
            drag: None,
            announce: String::new(),
            seen_seq: 0,
            error: None,
            last_frame_ms: None,
            svg: NodeRef::default(),
            charts: Vec::new(),
            version: 0,
            lower_version: 0,
            compare: None,
            frozen: Default::default(),
            verdicts: Default::default(),
            verdict_rows: Vec::new(),
            spacetime: (String::new(), 0),
            recent: Vec::new(),
            request: None,
            waterfall: Ok(Vec::new()),
            frames: 0,
            bench,
            log_kinds: [true, false, true],
            log_node: None,
            log_trace: None,
            log_trace_bad: None,
            log: Vec::new(),
            still: prefers_reduced_motion(),
            catalog: Box::leak(lessons::catalog().into_boxed_slice()),
            progress: Progress::default(),
            lesson: None,
            lesson_list: false,
            hidden: Vec::new(),
            end_verdict: None,
            embed: false,
            copied: None,
            frame: None,
        };
        let (progress, corrupt) = load_progress();
        app.progress = progress;
        app.error = corrupt;
        let q = query();
        if app.bench.is_none()
            && let Some(id) = query_param(&q, "lesson")
        {
            match app.catalog.iter().position(|(l, _)| *l == id) {
                Some(i) => {
                    // `step` counts from 1 in links, as people count.
                    let n = app.catalog[i].1.as_ref().map_or(1, |l| l.steps.len());
                    let step = query_param(&q, "step")
                        .and_then(|v| v.parse::<usize>().ok())
                        .map_or(0, |v| v.clamp(1, n) - 1);
                    app.open_step(i, step, false);
                }
                None => {
                    app.error = Some(format!(
                        "There is no lesson '{id}'. Here is the playground; the list of lessons is under Lessons."
                    ))
                }
            }
        }
        app.embed = query_param(&q, "embed").as_deref() == Some("1");
        let hash = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        if app.bench.is_none() && hash.len() > 1 {
            match Link::decode(&hash) {
                Ok(link) => app.open_link(link),
                Err(e) => app.error = Some(format!("{e} The default sandbox is open instead.")),
            }
        }
        app.request_frame(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let Ok(s) = &mut self.session else {
            return false;
        };
        // What the verdicts' list must re-read when this message moves or forks the run.
        let before = (
            s.world.now_us(),
            s.world.trace().hash(),
            matches!(msg, Msg::Frame(_)),
        );
        match msg {
            Msg::Frame(ts) => {
                if let Some(b) = &mut self.bench
                    && b.report.is_none()
                {
                    if let Some(last) = self.last_frame_ms {
                        b.intervals_ms.push(ts - last);
                    }
                    b.work_start = Some(now_ms());
                }
                // Render when time moved, including the frame in which the run ended.
                let playing = s.playing;
                if let Some(last) = self.last_frame_ms {
                    s.advance(ts - last);
                }
                self.last_frame_ms = Some(ts);
                if let Some(c) = &mut self.compare {
                    c.follow(s.world.now_us());
                }
                self.request_frame(ctx);
                if playing {
                    self.judge_goal();
                    self.catch_up_narration();
                    // Charts are costly to draw: a few times a second is plenty.
                    self.frames += 1;
                    // ... and once more in the frame the run stops, so they show its end.
                    let stopped = self.session.as_ref().is_ok_and(|s| !s.playing);
                    if stopped {
                        self.sync_fragment();
                    }
                    self.sync_verdicts(None);
                    // Everything beside and below the canvas is drawn twice a second. The three
                    // costly parts take turns, ten frames apart: drawn in one frame they made it
                    // slow enough to miss two (bench/frames.mjs: p95 33 ms against 16.7 ms).
                    let phase = self.frames % 30;
                    if phase == 1 || stopped {
                        self.refresh_charts();
                        self.version += 1;
                        self.lower_version += 1;
                    }
                    if phase == 11 || stopped {
                        self.refresh_log();
                        self.lower_version += 1;
                    }
                    if phase == 21 || stopped {
                        self.refresh_views();
                        if self.request.is_some() && (self.frames % 120 == 21 || stopped) {
                            self.refresh_waterfall();
                        }
                        self.lower_version += 1;
                    }
                }
                return playing;
            }
            Msg::Toggle => s.toggle(),
            Msg::Step => s.step(),
            Msg::Speed(v) => s.set_speed(v),
            Msg::Seek(t) => s.seek(t),
            Msg::Reset => {
                s.reset(false);
                self.announce = "Started again from zero.".into();
            }
            Msg::Seed(text) => match text.trim().parse::<u64>() {
                Ok(seed) => {
                    s.set_seed(seed);
                    self.error = None;
                    self.announce = format!("Seed {seed}: the run starts again.");
                }
                Err(_) => {
                    self.error = Some(format!(
                        "'{text}' is not a seed: use a whole number from 0 to {}.",
                        u64::MAX
                    ))
                }
            },
            Msg::Select(id) => self.selected = if self.selected == id { None } else { id },
            Msg::ToggleLink(i) => {
                if let Some(l) = s.world.links().get(i) {
                    let (a, b) = (l.a, l.b);
                    let action = if l.is_cut(0) || l.is_cut(1) {
                        Action::Heal { a, b }
                    } else {
                        Action::Cut {
                            a,
                            b,
                            one_way: false,
                        }
                    };
                    s.intervene(action);
                }
            }
            Msg::Node(id, act) => {
                if let Some(action) = Self::node_action(s, id, act) {
                    s.intervene(action);
                }
            }
            Msg::Set(id, param, value) => {
                let mut probe = s.world.node(id).clone_box();
                match probe.set_param(param, &value) {
                    Ok(_) => {
                        s.intervene(Action::Set {
                            node: id,
                            param: param.to_string(),
                            value,
                        });
                        self.error = None;
                    }
                    Err(e) => self.error = Some(format!("{param} not changed: {e}")),
                }
            }
            Msg::SetLink(a, b, param, value) => {
                // Checked as the core will check it, so a refused value changes nothing.
                let mut probe = faultline_core::world::DirConfig::default();
                match faultline_core::scenario::set_dir_param(&mut probe, param, &value) {
                    Ok(()) => {
                        s.intervene(Action::SetLink {
                            a,
                            b,
                            param: param.to_string(),
                            value,
                        });
                        self.error = None;
                    }
                    Err(e) => self.error = Some(format!("link {param} not changed: {e}")),
                }
            }
            Msg::DragStart(id, pointer, cx, cy) => {
                if let Some(el) = self.svg.cast::<web_sys::Element>() {
                    let _ = el.set_pointer_capture(pointer);
                }
                self.drag = Some(Drag {
                    node: id,
                    from: (cx, cy),
                    moved: false,
                });
                return false;
            }
            Msg::DragMove(cx, cy) => {
                let Some(d) = &self.drag else { return false };
                let (node, from) = (d.node, d.from);
                if !d.moved && (cx - from.0).hypot(cy - from.1) < 4.0 {
                    return false; // a click, not yet a drag
                }
                let Some(p) = self.to_svg(cx, cy) else {
                    return false;
                };
                self.pos[node.index()] = p;
                if let Some(d) = &mut self.drag {
                    d.moved = true;
                }
                return true; // only the canvas changed: no need to redraw the charts
            }
            Msg::DragEnd => {
                let Some(d) = self.drag.take() else {
                    return false;
                };
                if d.moved {
                    self.save_layout();
                } else {
                    self.selected = if self.selected == Some(d.node) {
                        None
                    } else {
                        Some(d.node)
                    };
                }
            }
            Msg::LogKind(k, on) => self.log_kinds[k as usize] = on,
            Msg::LogNode(n) => self.log_node = n,
            Msg::LogTrace(text) => match parse_trace_id(&text) {
                Ok(t) => {
                    self.log_trace = t;
                    self.log_trace_bad = None;
                }
                // A typo keeps the filter that was on, and says what a trace id looks like.
                Err(()) => self.log_trace_bad = Some(text.chars().take(20).collect()),
            },
            Msg::CompareToggle => {
                self.compare = match self.compare.take() {
                    Some(_) => None,
                    None => {
                        match crate::compare::Compare::new(&s.recorded(), None, s.world.now_us()) {
                            Ok(c) => Some(c),
                            Err(e) => {
                                self.error = Some(e);
                                None
                            }
                        }
                    }
                };
                self.announce = if self.compare.is_some() {
                    "Compare mode: change one setting in the second pane.".into()
                } else {
                    "Compare mode off.".into()
                };
            }
            Msg::CompareApply => {
                if let Some(change) = Self::compare_form(s) {
                    let probe = s.world.node_id(&change.node).map(|id| {
                        s.world
                            .node(id)
                            .clone_box()
                            .set_param(&change.param, &change.value)
                    });
                    match probe {
                        Some(Ok(_)) => {
                            match crate::compare::Compare::new(
                                &s.recorded(),
                                Some(change),
                                s.world.now_us(),
                            ) {
                                Ok(c) => {
                                    self.compare = Some(c);
                                    self.error = None;
                                    self.announce = "The second pane runs with your change.".into();
                                }
                                Err(e) => self.error = Some(e),
                            }
                        }
                        Some(Err(e)) => {
                            self.error = Some(format!("{} not changed: {e}", change.param))
                        }
                        None => {}
                    }
                }
            }
            Msg::PickRequest(r) => {
                self.request = r;
                self.refresh_waterfall();
            }
            Msg::Still(on) => self.still = on,
            Msg::Nudge(id, dx, dy) => {
                let (x, y) = self.pos[id.index()];
                self.pos[id.index()] = canvas::inside(x + dx, y + dy);
                self.save_layout();
            }
            Msg::LessonList(on) => self.lesson_list = on,
            Msg::OpenStep(l, st) => self.open_step(l, st, false),
            Msg::LeaveLesson => {
                if let Ok(sc) = Scenario::parse(DEFAULT_SCENARIO) {
                    self.load(sc);
                }
                self.lesson = None;
                self.announce = "Back to the playground.".into();
            }
            Msg::Hint => {
                if let Some(o) = &mut self.lesson {
                    o.hints += 1;
                }
            }
            Msg::ShowSolution => {
                if let Some(o) = &mut self.lesson {
                    o.solution = true;
                }
            }
            Msg::ApplySolution => {
                if let Some((l, st)) = self.lesson.as_ref().map(|o| (o.lesson, o.step)) {
                    self.open_step(l, st, true);
                    if let Ok(s) = &mut self.session {
                        s.playing = true;
                    }
                }
            }
            Msg::Predict(i) => {
                if let Some(o) = &mut self.lesson {
                    o.predicted = Some(i);
                }
            }
            Msg::Template(i) => {
                if let Some(Ok(sc)) = TEMPLATES.get(i).map(|t| Scenario::parse(t)) {
                    self.edit(sc, "Template loaded.".into());
                }
            }
            Msg::CopyLink => {
                if let Some(url) = self.share_url() {
                    if let Some(w) = web_sys::window() {
                        let p = w.navigator().clipboard().write_text(&url);
                        // A refused clipboard (no permission, no focus) is not an error: the link
                        // is also shown, selected, for copying by hand.
                        wasm_bindgen_futures::spawn_local(async move {
                            let _ = wasm_bindgen_futures::JsFuture::from(p).await;
                        });
                    }
                    self.copied = Some(url);
                    self.announce = "Link copied.".into();
                }
            }
            Msg::Hide(part, on) => {
                self.hidden.retain(|h| h != part);
                if on {
                    self.hidden.push(part.to_string());
                }
                self.copied = None; // the old link no longer says what the teacher chose
            }
            Msg::Export(kind) => {
                let rec = s.recorded();
                let now = s.world.now_us();
                use faultline_core::export as x;
                // A trace export says whether it was cut at its size limit; a scenario is whole.
                let traced = |r: Result<(String, bool), String>| r.map(|(t, cut)| (t, Some(cut)));
                let (suffix, mime, made) = match kind {
                    ExportKind::Scenario => ("json", "application/json", Ok((rec.to_json(), None))),
                    ExportKind::TraceJsonl => (
                        "trace.jsonl",
                        "application/x-ndjson",
                        traced(x::trace_jsonl(&rec, now)),
                    ),
                    ExportKind::TraceChrome => (
                        "perfetto.json",
                        "application/json",
                        traced(x::chrome_trace(&rec, now)),
                    ),
                    ExportKind::Spans => (
                        "otlp.json",
                        "application/json",
                        traced(x::otel_spans(&rec, now)),
                    ),
                };
                let stem = file_stem(&rec.title);
                match made.and_then(|(text, cut)| {
                    download(&format!("{stem}.{suffix}"), mime, &text).map(|_| cut)
                }) {
                    Ok(Some(cut)) => self.export_note(cut),
                    Ok(None) => {}
                    Err(e) => self.error = Some(e),
                }
            }
            Msg::Imported(r) => match r.and_then(|text| {
                Scenario::parse(&text).map_err(|e| {
                    format!(
                        "This file is not a scenario Faultline can open, so nothing changed. {e}"
                    )
                })
            }) {
                Ok(sc) => {
                    self.lesson = None;
                    self.load(sc);
                    self.announce = "Scenario opened.".into();
                }
                Err(e) => self.error = Some(e),
            },
            Msg::AddNode(kind) => {
                let base = s.recorded();
                let n = base.nodes.len() as f64;
                let at = [
                    (WIDTH / 2.0 + 40.0 * (n % 5.0) - 80.0).round(),
                    (HEIGHT / 2.0 + 50.0 * ((n / 5.0).floor() % 3.0) - 50.0).round(),
                ];
                match crate::sandbox::add_node(&base, kind, at) {
                    Ok((next, id)) => {
                        self.edit(next, format!("Added {id}; the run starts again from zero."));
                        self.selected = self
                            .session
                            .as_ref()
                            .ok()
                            .and_then(|s| s.world.names().iter().position(|n| *n == id))
                            .map(|i| NodeId(i as u16));
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            Msg::RemoveNode(id) => {
                let name = s.scenario.nodes[id.index()].id.clone();
                let r = crate::sandbox::remove_node(&s.recorded(), &name);
                self.sandbox_edit(r, format!("Removed {name}"), None);
            }
            Msg::AddLink(id, other) => {
                let name = s.scenario.nodes[id.index()].id.clone();
                let r = crate::sandbox::add_link(&s.recorded(), &name, &other);
                self.sandbox_edit(r, format!("Linked {name} and {other}"), Some(id));
            }
            Msg::RemoveLink(id, other) => {
                let name = s.scenario.nodes[id.index()].id.clone();
                let r = crate::sandbox::remove_link(&s.recorded(), &name, &other);
                self.sandbox_edit(r, format!("Unlinked {name} and {other}"), Some(id));
            }
            Msg::RunWithSettings => {
                s.restart_with_settings();
                self.announce = "Started again from zero with your settings.".into();
            }
        }
        self.judge_goal();
        self.sync_fragment();
        self.catch_up_narration();
        self.refresh_charts();
        self.refresh_log();
        if let (Some(c), Ok(s)) = (&mut self.compare, &self.session) {
            let forks = s.world.trace().hash() != before.1 && s.world.now_us() == before.0;
            if forks || s.world.now_us() == 0 {
                if let Ok(next) =
                    crate::compare::Compare::new(&s.recorded(), c.change.clone(), s.world.now_us())
                {
                    *c = next;
                }
            } else {
                c.follow(s.world.now_us());
            }
        }
        if !before.2 {
            self.version += 1;
            self.lower_version += 1;
            self.sync_verdicts(Some(before));
            if self.request.is_some()
                && self
                    .session
                    .as_ref()
                    .is_ok_and(|s| s.world.trace().hash() != before.1)
            {
                self.refresh_waterfall();
            }
        }
        self.refresh_views();
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first_render: bool) {
        if let Some(b) = &mut self.bench
            && b.report.is_none()
            && let Some(start) = b.work_start.take()
        {
            b.work_ms.push(now_ms() - start);
            if b.work_ms.len() >= crate::framebench::FRAMES {
                use crate::framebench::quantile;
                b.report = Some((
                    quantile(&mut b.intervals_ms, 0.5),
                    quantile(&mut b.intervals_ms, 0.95),
                    quantile(&mut b.work_ms, 0.5),
                    quantile(&mut b.work_ms, 0.95),
                ));
            }
        }
        if first_render
            && let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
        {
            // The end-to-end tests wait for this before they look at the page.
            let _ = body.set_attribute("data-ready", "1");
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let s = match &self.session {
            Ok(s) => s,
            Err(e) => {
                return html! { <main class="error" role="alert"><h1>{"Faultline"}</h1><p>{ e.clone() }</p></main> };
            }
        };
        let world = &s.world;
        let now = world.now_us();
        let link = ctx.link();
        let end_ms = s.end_us() / 1000;
        let on_seek = link.batch_callback(|e: InputEvent| {
            let el: HtmlInputElement = e.target_unchecked_into();
            el.value()
                .parse::<u64>()
                .ok()
                .map(|ms| Msg::Seek(ms.saturating_mul(1000)))
        });
        let on_speed = link.batch_callback(|e: Event| {
            let el: HtmlSelectElement = e.target_unchecked_into();
            el.value().parse::<f64>().ok().map(Msg::Speed)
        });
        let on_seed = link.callback(|e: Event| {
            let el: HtmlInputElement = e.target_unchecked_into();
            Msg::Seed(el.value())
        });
        let speed = s.speed;
        let panel = self
            .lesson
            .as_ref()
            .map(|o| self.frozen("panel", || self.lesson_panel(o, s, ctx)));
        let list_open = self.lesson_list;
        html! {
            <div class={classes!("app", panel.is_some().then_some("lesson-mode"), self.embed.then_some("embed"))}>
                if !self.embed {
                    <header>
                        <h1>{"Faultline"}</h1>
                        <p class="tagline">{"Learn distributed systems by breaking them."}</p>
                        if !self.hides("lessons") {
                            <button id="lessons-button" aria-expanded={list_open.to_string()} aria-controls="lesson-list"
                                    onclick={link.callback(move |_| Msg::LessonList(!list_open))}>{"Lessons"}</button>
                        }
                    </header>
                }
                if list_open {
                    { self.lesson_list_view(ctx) }
                }
                <div class="layout">
                { for panel }
                <main>
                    if self.lesson.is_none() {
                        <section class="scenario" aria-labelledby="scenario-title">
                            <h2 id="scenario-title">{ &s.scenario.title }</h2>
                            <p>{ &s.scenario.description }</p>
                            <label class="template" hidden={self.hides("templates") || self.embed}>{"Start from "}
                                <select id="template" onchange={link.batch_callback(|e: Event| {
                                    let el: HtmlSelectElement = e.target_unchecked_into();
                                    el.value().parse::<usize>().ok().map(Msg::Template)
                                })}>
                                    <option value="" selected=true disabled=true>{"a template…"}</option>
                                    { for template_titles().iter().enumerate().map(|(i, title)| html! {
                                        <option value={i.to_string()}>{ title }</option>
                                    }) }
                                </select>
                            </label>
                            <span class="add-nodes" hidden={self.embed}>
                                { for crate::sandbox::KINDS.iter().map(|k| {
                                    let k: &'static str = k;
                                    html! { <button id={format!("add-{k}")} class="act" onclick={link.callback(move |_| Msg::AddNode(k))}>{ format!("+ {k}") }</button> }
                                }) }
                            </span>
                        </section>
                    }
                    <div class="toolbar" role="toolbar" aria-label="Time controls">
                        <button id="play-pause" aria-pressed={s.playing.to_string()} onclick={link.callback(|_| Msg::Toggle)}>
                            { if s.playing { "Pause" } else { "Play" } }
                        </button>
                        <button id="step" onclick={link.callback(|_| Msg::Step)} title="Handle exactly one event">{"Step"}</button>
                        <label class="speed">{"Speed "}
                            <select id="speed" onchange={on_speed}>
                                { for SPEEDS.iter().map(|v| html! { <option value={v.to_string()} selected={*v == speed}>{ format!("{v}×") }</option> }) }
                            </select>
                        </label>
                        <button id="reset" onclick={link.callback(|_| Msg::Reset)} title="Start again from zero, without your changes">{"Reset"}</button>
                        <label class="still">
                            <input id="reduce-motion" type="checkbox" checked={self.still}
                                   onchange={link.callback(|e: Event| Msg::Still(e.target_unchecked_into::<HtmlInputElement>().checked()))} />
                            {" Reduce motion"}
                        </label>
                        <label class="seed" hidden={self.hides("seed")}>{"Seed "}
                            <input id="seed" type="text" inputmode="numeric" size="8" value={s.scenario.seed.to_string()} onchange={on_seed} />
                        </label>
                        if !self.embed {
                            <button id="compare-toggle" aria-pressed={self.compare.is_some().to_string()} onclick={link.callback(|_| Msg::CompareToggle)}
                                    title="Run a copy of this run beside it with one setting changed">{"Compare"}</button>
                        }
                    </div>
                    <div class="timeline">
                        <input id="timeline" type="range" min="0" max={end_ms.to_string()} step="10" value={(now / 1000).to_string()}
                               aria-label="Time line" aria-valuetext={faultline_core::fmt_time(now)} oninput={on_seek} />
                        <output id="sim-time" data-time-us={now.to_string()} data-trace-hash={format!("{:016x}", world.trace().hash())} aria-label="Simulated time">
                            { format!("t = {}", faultline_core::fmt_time(now)) }
                        </output>
                        <span class="in-flight">{ format!("{} in flight", world.in_flight_count()) }</span>
                    </div>
                    if let Some(n) = &s.notice {
                        <p class="notice" role="status">{ n.clone() }</p>
                    }
                    if let Some(e) = &self.error {
                        <p class="notice error-text" role="alert">{ e.clone() }</p>
                    }
                    <div class="stage">
                        { canvas::view(CanvasView { world, pos: &self.pos, selected: self.selected, svg_ref: &self.svg, still: self.still, picture: None }, link) }
                        <aside class="side">{ self.frozen("inspector", || self.inspector(s, ctx)) }</aside>
                    </div>
                    if let Some(c) = &self.compare {
                        { self.compare_view(s, c, ctx) }
                    }
                    if let Some(b) = &self.bench {
                        <p class="notice" role="status">
                            if let Some((i50, i95, w50, w95)) = b.report {
                                <output id="frame-report" data-interval-p95-ms={format!("{i95:.2}")} data-work-p95-ms={format!("{w95:.2}")}>
                                    { format!("{} frames with {} messages in flight: frame interval p50 {i50:.1} ms, p95 {i95:.1} ms; page work per frame p50 {w50:.2} ms, p95 {w95:.2} ms",
                                        crate::framebench::FRAMES, world.in_flight_count()) }
                                </output>
                            } else {
                                { format!("Measuring frames: {} of {}", b.work_ms.len(), crate::framebench::FRAMES) }
                            }
                        </p>
                    }
                    <p id="announce" class="visually-hidden" aria-live="polite">{ &self.announce }</p>
                    { self.frozen("lower", || self.lower(s, ctx)) }
                </main>
                </div>
            </div>
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_trace_id;

    #[test]
    fn the_trace_filter_reads_what_the_log_prints() {
        assert_eq!(parse_trace_id("t6"), Ok(Some(6)));
        assert_eq!(parse_trace_id(" T42 "), Ok(Some(42)));
        assert_eq!(parse_trace_id("6"), Ok(Some(6)));
        assert_eq!(parse_trace_id("  "), Ok(None));
        // What the log prints beside a trace id is not one: a request id, a status.
        for bad in [
            "r25",
            "t",
            "t-1",
            "t6 r25",
            "tt6",
            "t99999999999999999999999",
        ] {
            assert_eq!(parse_trace_id(bad), Err(()), "{bad}");
        }
    }
}
