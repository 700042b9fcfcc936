//! The page's state as plain Rust: a [`Page`]. The [`Action`]s a learner (or the clock) takes
//! are in `action.rs`; `reduce.rs` applies one and returns the [`Effect`]s the browser must carry
//! out (a download, the clipboard, saved progress, the address bar).
//!
//! Nothing here touches the browser, so every rule is unit-tested natively (`reduce_tests.rs`).
//! The data flow, as in Yew's `function_todomvc`:
//!
//! ```text
//! DOM event -> component -> Callback<Action> -> reduce(&mut Page, Action) -> Vec<Effect>
//!                                                      |                        |
//!                                   the root's view() from Page       browser::run(effect)
//! ```
//!
//! A `World` is too costly to clone per frame, so the root keeps one `Page` in place and
//! reduces into it. What the panels draw is derived once per change (see `derive.rs`) and held
//! in `Rc`s: a component re-renders only when its props differ.

use std::rc::Rc;

use faultline_core::NodeId;
use faultline_core::lesson::{Change, Verdict};
use faultline_core::share::{LessonAt, Link, LinkView};

use crate::charts::Chart;
use crate::derive::{InspectorModel, LessonModel, StatRow};
use crate::lessons::{Catalog, OpenLesson, Progress};
use crate::session::Session;

pub use crate::action::{Action, Effect, ExportKind, LogKind, LogLine, NodeAct, Panel};

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

/// The lessons file's fetch: not asked for yet (or done), on its way, or failed.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LessonsLoad {
    /// Not fetched, or fetched already ([`Page::catalog`] says which).
    #[default]
    Idle,
    /// On its way.
    Loading,
    /// Failed: why, for people. Asking again fetches again.
    Failed(String),
}

/// A lesson asked for before the lessons arrived, opened when they do.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pending {
    /// A lesson by index at a step (a button pressed while they were on their way).
    Step(usize, usize),
    /// A lesson by id, at a step counted from 1 when given (`?lesson=ID&step=N`).
    Named(String, Option<usize>),
    /// The lesson a shared run was made in, by id and step: it joins the run already on screen.
    Link(String, usize),
}

/// A node being dragged: where the pointer went down, and whether it has moved yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Drag {
    pub(crate) node: NodeId,
    pub(crate) from: (f64, f64),
    pub(crate) moved: bool,
}

/// What the page is started from: what the browser knows at load time.
#[derive(Clone, Debug, Default)]
pub struct Start {
    /// The query string (`?lesson=04-retries&step=2&embed=1`).
    pub query: String,
    /// The fragment (`#v1...`), a shared link.
    pub hash: String,
    /// Saved progress text, if any.
    pub progress: Option<String>,
    /// The system asks for reduced motion.
    pub reduced_motion: bool,
    /// The page's address without query or fragment, for share links.
    pub base_url: String,
    /// `?bench=frames`: the frame benchmark's busy scenario, and no address-bar updates.
    pub bench: bool,
    /// This learner's own number (kept in local storage), which orders prediction choices.
    pub learner: u64,
}

/// The whole page state.
pub struct Page {
    /// The run on screen, or why the page could not start one.
    pub session: Result<Session, String>,
    /// Node positions on the canvas (view state, never in the simulation).
    pub pos: Vec<(f64, f64)>,
    /// The selected node.
    pub selected: Option<NodeId>,
    pub(crate) drag: Option<Drag>,
    /// The live region's sentence.
    pub announce: String,
    pub(crate) seen_seq: u64,
    /// An error to show, for people.
    pub error: Option<String>,
    pub(crate) last_frame_ms: Option<f64>,
    /// Compare mode's second pane.
    pub compare: Option<crate::compare::Compare>,
    /// The session's lists' version the panels were last drawn from (`Session::version`).
    pub(crate) marks_version: u64,
    /// Frames played (the refresh schedule counts them).
    pub(crate) frames: u64,
    /// Event log filters: by kind, by node, by trace id, and a trace filter that did not parse.
    pub log_kinds: [bool; 3],
    /// Only this node's lines.
    pub log_node: Option<NodeId>,
    /// Only this request's lines.
    pub log_trace: Option<u64>,
    /// The trace filter's text when it is not a trace id, to say so beside it.
    pub log_trace_bad: Option<String>,
    /// Reduce motion.
    pub still: bool,
    /// The lessons, once fetched (empty before).
    pub catalog: Catalog,
    /// Whether the lessons are being fetched, or why they could not be.
    pub lessons_load: LessonsLoad,
    /// What to open when the lessons arrive.
    pub(crate) pending: Option<Pending>,
    /// The template the learner picked, on its way (a later choice or any new scenario
    /// supersedes it).
    pub template_wanted: Option<usize>,
    /// Goals met so far.
    pub progress: Progress,
    /// The lesson step on screen.
    pub lesson: Option<OpenLesson>,
    /// The lesson list is open.
    pub lesson_list: bool,
    /// The menu of scenario and time options is open (it matters on a phone only).
    pub menu: bool,
    /// Parts hidden by a classroom link (or chosen for the next one).
    pub hidden: Vec<String>,
    /// The page was opened from a classroom link that hides parts: they stay hidden, and the
    /// panel that would show them again is hidden too.
    pub locked: bool,
    /// The teacher's note: shown above the canvas, and carried by links made from this page.
    pub note: String,
    /// The goal's verdict at the end of the run, keyed by the run's trace hash and time.
    pub(crate) end_verdict: Option<((u64, u64), Verdict)>,
    /// `?embed=1`: the minimal page for an iframe.
    pub embed: bool,
    /// What "Copy link" last did, for people.
    pub copied: Option<String>,
    /// The page's address without query or fragment.
    pub base_url: String,
    /// The frame benchmark runs: no address-bar updates.
    pub bench: bool,
    /// This learner's own number, which orders prediction choices (stable across reloads).
    pub learner: u64,
    /// The picked request for the waterfall.
    pub request: Option<(usize, u64)>,
    /// The nodes' names.
    pub names: Rc<[String]>,
    // Derived: what the panels draw, refreshed by `derive.rs` on a schedule while playing and
    // after every other action. Held in `Rc`s so the components compare them cheaply.
    /// Charts for the selected node or the first client.
    pub charts: Rc<Vec<Chart>>,
    /// The chart that matters most for the scenario, shown beside the canvas (also among
    /// `charts`, which are refreshed less often while they are out of view).
    pub key_chart: Option<Rc<Chart>>,
    /// Which panels below the stage are in view (indexed by [`Panel`]); all until the page's
    /// observer says otherwise.
    pub in_view: [bool; 4],
    /// The event log's lines.
    pub log: Rc<Vec<LogLine>>,
    /// The invariants' rows.
    pub verdict_rows: Rc<Vec<crate::verdicts::Row>>,
    /// The moments marked on the time line and the charts, in time order.
    pub moment_list: Rc<Vec<crate::moments::Moment>>,
    /// Each breaker's states over time, for the band under the time line.
    pub bands: Rc<Vec<crate::moments::Band>>,
    /// The space-time diagram (SVG text, messages drawn).
    pub spacetime: Rc<(String, usize)>,
    /// Recent requests for the waterfall's picker.
    pub recent: Rc<Vec<(usize, u64)>>,
    /// The picked request's spans.
    pub waterfall: Rc<Result<Vec<crate::waterfall::Bar>, String>>,
    /// The inspector's content for the selected node.
    pub inspector: Option<Rc<InspectorModel>>,
    /// The lesson panel's live part (the goal's checks).
    pub lesson_view: Option<Rc<LessonModel>>,
    /// The table of numbers.
    pub stats: Rc<Vec<StatRow>>,
    /// The scenario with the learner's changes as JSON, while paused.
    pub scenario_json: Option<Rc<str>>,
    /// The Sweep panel: seeds run a slice per frame, and their summary.
    pub sweep: crate::sweep_state::Sweep,
}

/// A trace id as the event log prints it (`t6`), or bare (`6`); `None` for an empty box.
pub(crate) fn parse_trace_id(text: &str) -> Result<Option<u64>, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let digits = t.strip_prefix(['t', 'T']).unwrap_or(t);
    digits.parse::<u64>().map(Some).map_err(|_| ())
}

/// One parameter of a query string (`?lesson=04-retries&step=2`), undecoded: lesson ids are
/// plain words. At most 80 characters are read.
pub(crate) fn query_param(q: &str, key: &str) -> Option<String> {
    q.trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.chars().take(80).collect())
}

/// A file name from a title: letters, digits and dashes.
pub fn file_stem(title: &str) -> String {
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

impl Page {
    /// Whether time is moving.
    pub fn playing(&self) -> bool {
        self.session.as_ref().is_ok_and(|s| s.playing)
    }

    /// Whether a teacher's link hides this part.
    pub fn hides(&self, part: &str) -> bool {
        self.hidden.iter().any(|h| h == part)
    }

    /// Why the open lesson step cannot be solved with the parts the teacher hides, if it cannot:
    /// its solution changes a setting (hidden with "settings") or adds a crash or a cut (hidden
    /// with "actions"). A sentence for the teacher, before the link goes to a class.
    pub fn unsolvable(&self) -> Option<String> {
        let o = self.lesson.as_ref()?;
        let lesson = self.catalog.get(o.lesson)?.1.as_ref().ok()?;
        let step = lesson.steps.get(o.step)?;
        step.goal.as_ref()?;
        let mut needs: Vec<&str> = step
            .solution
            .iter()
            .map(|c| match c {
                Change::Node { .. } | Change::Link { .. } => "settings",
                Change::Do(_) => "actions",
            })
            .filter(|part| self.hides(part))
            .collect();
        needs.dedup();
        let labels: Vec<&str> = needs
            .iter()
            .filter_map(|n| HIDEABLE.iter().find(|(h, _)| h == n).map(|(_, l)| *l))
            .collect();
        (!labels.is_empty()).then(|| {
            format!(
                "Step {} of \"{}\" is solved with {}: with {} hidden, your class cannot meet its goal.",
                o.step + 1,
                lesson.title,
                labels.join(" and "),
                if labels.len() > 1 { "them" } else { "it" },
            )
        })
    }

    /// The lesson step on screen as a link names it; while the lessons are on their way, the
    /// one asked for (so a link copied meanwhile keeps it).
    pub(crate) fn lesson_at(&self) -> Option<LessonAt> {
        if let Some(o) = &self.lesson {
            return Some(LessonAt {
                id: self.catalog.get(o.lesson)?.0.clone(),
                step: o.step,
            });
        }
        match &self.pending {
            Some(Pending::Link(id, step)) => Some(LessonAt {
                id: id.clone(),
                step: *step,
            }),
            _ => None,
        }
    }

    /// This moment as a link text.
    pub fn link_text(&self) -> Option<String> {
        let s = self.session.as_ref().ok()?;
        Some(
            Link {
                scenario: s.recorded(),
                at_ms: s.world.now_us() as f64 / 1000.0,
                lesson: self.lesson_at(),
                view: self.link_view(),
            }
            .encode(),
        )
    }

    /// The view options a link from this page carries: reduced motion, the teacher's hidden
    /// parts and note (a sweep only in the Sweep panel's own link).
    pub(crate) fn link_view(&self) -> LinkView {
        LinkView {
            still: self.still,
            hide: self.hidden.clone(),
            note: self.note.clone(),
            sweep: None,
        }
    }
}
