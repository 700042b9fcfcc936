//! Everything a learner (or the clock) can do to the page, and what the browser must do after.
//! See `state.rs` for the data flow.

use std::rc::Rc;

use faultline_core::NodeId;

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

/// A panel whose content is derived from the run and refreshed while it plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// All the charts, below the stage (the key chart beside the canvas is always refreshed).
    Charts,
    /// Invariants, the space-time diagram and the waterfall.
    Views,
    /// The event log.
    Log,
    /// The table of numbers.
    Stats,
}

impl Panel {
    /// Every panel.
    pub const ALL: [Panel; 4] = [Panel::Charts, Panel::Views, Panel::Log, Panel::Stats];

    /// The name its element carries in `data-panel`.
    pub fn name(self) -> &'static str {
        match self {
            Panel::Charts => "charts",
            Panel::Views => "views",
            Panel::Log => "log",
            Panel::Stats => "stats",
        }
    }
}

/// A line of the event log: its trace seq, kind, text and the request it belongs to.
pub type LogLine = (u64, LogKind, String, Option<(usize, u64)>);

/// Everything a learner (or the clock) can do to the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// An animation frame at this `performance.now()` timestamp.
    Frame(f64),
    /// A panel below the first screen came into view (true) or left it (false): while a run
    /// plays, one out of view is not recomputed (it is refreshed as it comes into view).
    InView(Panel, bool),
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
    /// Select a node (or none); selecting the selected node unselects it.
    Select(Option<NodeId>),
    /// Cut or heal a link (its index in the world's links).
    ToggleLink(usize),
    /// Act on a node.
    Node(NodeId, NodeAct),
    /// A pointer went down on a node, at this point of the canvas (SVG units).
    DragStart(NodeId, f64, f64),
    /// The pointer moved to this point of the canvas (SVG units).
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
    /// Open or close the menu of scenario and time options (a phone hides them behind it).
    Menu(bool),
    /// Open a lesson (index in the catalog) at a step.
    OpenStep(usize, usize),
    /// Leave the lesson for the playground.
    LeaveLesson,
    /// The lessons file's text arrived (or why it could not be fetched).
    LessonsArrived(Result<String, String>),
    /// Template `i`'s text arrived (or why it could not be fetched).
    TemplateArrived(usize, Result<String, String>),
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
    /// The teacher's note that links made from now on carry.
    Note(String),
    /// Embedded: open this run, at this moment, in the full page (a new tab).
    OpenFull,
    /// Download the run in a format.
    Export(ExportKind),
    /// Save a drawn view (a chart, the space-time diagram): file stem, SVG text, as PNG or not.
    SaveSvg(String, Rc<str>, bool),
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
    /// Apply a change to the second pane: node index, setting path, the value as typed (JSON,
    /// or else a word).
    CompareApply(usize, String, String),
    /// An effect could not be carried out (a download refused): say so.
    Failed(String),
    /// An act in the Sweep panel.
    Sweep(crate::sweep_state::SweepAct),
    /// The sweep's worker (its number) said something or failed.
    SweepWorker(u64, crate::sweep_state::WorkerEvent),
}

/// What the browser must do after an action; see `browser::run`.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Offer a file download.
    Download {
        /// File name.
        name: String,
        /// MIME type.
        mime: &'static str,
        /// The file's text.
        text: String,
    },
    /// Save an SVG drawing as a PNG file.
    SavePng {
        /// File name.
        name: String,
        /// The SVG text.
        svg: Rc<str>,
    },
    /// Put text on the clipboard.
    Clipboard(String),
    /// Save the lesson progress (its text) in local storage.
    SaveProgress(String),
    /// Forget saved progress that could not be read.
    ForgetProgress,
    /// Put this link text in the address bar's fragment (replacing the history entry).
    Fragment(String),
    /// Open this address in a new tab.
    OpenTab(String),
    /// Fetch the lessons file; its text comes back as [`Action::LessonsArrived`].
    FetchLessons,
    /// Fetch template `i`; its text comes back as [`Action::TemplateArrived`].
    FetchTemplate(usize),
    /// Start the sweep's Web Worker under this number (stopping any other); what it says comes
    /// back as [`Action::SweepWorker`].
    StartWorker(u64),
    /// Send the worker with this number a message.
    PostToWorker(u64, String),
    /// Stop the sweep's worker.
    StopWorker,
    /// Scroll the element with this id into view.
    Reveal(&'static str),
}
