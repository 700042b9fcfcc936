//! [`reduce`]: one [`Action`] applied to the [`Page`], returning the [`Effect`]s the browser
//! must carry out. Plain Rust: see `state.rs` for the data flow and `state_tests.rs` for the
//! learner's acts driven natively.

use std::rc::Rc;

use faultline_core::NodeId;
use faultline_core::scenario::Scenario;
use faultline_core::share::{LessonAt, Link};
use faultline_core::world::Action as CoreAction;

use crate::layout::{self, HEIGHT, WIDTH};
use crate::lessons::{self, Catalog, OpenLesson, Progress};
use crate::session::Session;
use crate::state::{
    Action, Drag, Effect, ExportKind, HIDEABLE, LessonsLoad, NodeAct, Page, Pending, Start,
    file_stem, parse_trace_id, query_param,
};
use crate::templates::{DEFAULT_SCENARIO, template_titles};

/// `text` ending as a sentence, so that another can follow it: a reader's message may end
/// without a full stop (serde's "… at line 1 column 671") or with one.
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// Applies one action to the page and returns what the browser must do.
pub fn reduce(page: &mut Page, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    // A frame, and a sweep worker's batch of runs, refresh only what they change.
    match action {
        Action::Frame(ts) => {
            page.frame(ts, &mut fx);
            return fx;
        }
        Action::SweepWorker(id, e) => {
            page.sweep_worker(id, e, &mut fx);
            return fx;
        }
        _ => {}
    }
    if let Action::InView(panel, seen) = action {
        page.panel_in_view(panel, seen);
        return fx;
    }
    let Ok(s) = &mut page.session else {
        return fx;
    };
    // What the verdicts' list must re-read when this action moves or forks the run.
    let before = (s.world.now_us(), s.world.trace().hash());
    match action {
        Action::Frame(_) | Action::InView(..) | Action::SweepWorker(..) => {
            unreachable!("handled above")
        }
        Action::Toggle => s.toggle(),
        Action::Step => s.step(),
        Action::Speed(v) => s.set_speed(v),
        Action::Seek(t) => s.seek(t),
        Action::Reset => {
            s.reset(false);
            page.announce = "Started again from zero.".into();
        }
        Action::Seed(text) => match text.trim().parse::<u64>() {
            Ok(seed) => {
                s.set_seed(seed);
                page.error = None;
                page.announce = format!("Seed {seed}: the run starts again.");
            }
            Err(_) => {
                page.error = Some(format!(
                    "'{}' is not a seed: use a whole number from 0 to {}.",
                    text.chars().take(40).collect::<String>(),
                    u64::MAX
                ))
            }
        },
        Action::Select(id) => page.selected = if page.selected == id { None } else { id },
        Action::ToggleLink(i) => {
            if let Some(l) = s.world.links().get(i) {
                let (a, b) = (l.a, l.b);
                let action = if l.is_cut(0) || l.is_cut(1) {
                    CoreAction::Heal { a, b }
                } else {
                    CoreAction::Cut {
                        a,
                        b,
                        one_way: false,
                    }
                };
                s.intervene(action);
            }
        }
        Action::Node(id, act) => {
            if let Some(action) = node_action(s, id, act) {
                s.intervene(action);
            }
        }
        Action::Set(id, param, value) => {
            if id.index() >= s.world.names().len() {
                return fx;
            }
            let mut probe = s.world.node(id).clone_box();
            match faultline_core::models::set_param(&mut *probe, param, &value) {
                Ok(_) => {
                    s.intervene(CoreAction::Set {
                        node: id,
                        param: param.to_string(),
                        value,
                    });
                    page.error = None;
                }
                Err(e) => page.error = Some(format!("{param} not changed: {e}")),
            }
        }
        Action::SetLink(a, b, param, value) => {
            // Checked as the core will check it, so a refused value changes nothing.
            let mut probe = faultline_core::world::DirConfig::default();
            match faultline_core::scenario::set_dir_param(&mut probe, param, &value) {
                Ok(()) => {
                    s.intervene(CoreAction::SetLink {
                        a,
                        b,
                        param: param.to_string(),
                        value,
                    });
                    page.error = None;
                }
                Err(e) => page.error = Some(format!("link {param} not changed: {e}")),
            }
        }
        Action::DragStart(id, x, y) => {
            page.drag = Some(Drag {
                node: id,
                from: (x, y),
                moved: false,
            });
            return fx;
        }
        Action::DragMove(x, y) => {
            let Some(d) = &mut page.drag else { return fx };
            if !d.moved && (x - d.from.0).hypot(y - d.from.1) < 4.0 {
                return fx; // a click, not yet a drag
            }
            d.moved = true;
            if let Some(p) = page.pos.get_mut(d.node.index()) {
                *p = layout::inside(x, y);
            }
            return fx; // only the canvas changed: the panels stay as they are
        }
        Action::DragEnd => {
            let Some(d) = page.drag.take() else {
                return fx;
            };
            if d.moved {
                page.save_layout();
            } else {
                page.selected = if page.selected == Some(d.node) {
                    None
                } else {
                    Some(d.node)
                };
            }
        }
        Action::LogKind(k, on) => page.log_kinds[k as usize] = on,
        Action::LogNode(n) => page.log_node = n,
        Action::LogTrace(text) => match parse_trace_id(&text) {
            Ok(t) => {
                page.log_trace = t;
                page.log_trace_bad = None;
            }
            // A typo keeps the filter that was on, and says what a trace id looks like.
            Err(()) => page.log_trace_bad = Some(text.chars().take(20).collect()),
        },
        Action::CompareToggle => {
            page.compare = match page.compare.take() {
                Some(_) => None,
                None => match crate::compare::Compare::new(&s.recorded(), None, s.world.now_us()) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        page.error = Some(e);
                        None
                    }
                },
            };
            page.announce = if page.compare.is_some() {
                "Compare mode: change one setting in the second pane.".into()
            } else {
                "Compare mode off.".into()
            };
        }
        Action::CompareApply(i, path, text) => page.compare_apply(i, path, text),
        Action::PickRequest(r) => {
            page.request = r;
            page.refresh_waterfall();
        }
        Action::Still(on) => page.still = on,
        Action::Nudge(id, dx, dy) => {
            if let Some(p) = page.pos.get_mut(id.index()) {
                *p = layout::inside(p.0 + dx, p.1 + dy);
                page.save_layout();
            }
        }
        Action::LessonList(on) => {
            page.lesson_list = on;
            if on {
                page.want_lessons(None, &mut fx);
            }
        }
        Action::Menu(open) => page.menu = open,
        Action::OpenStep(l, st) => {
            if page.catalog.is_empty() {
                page.want_lessons(Some(Pending::Step(l, st)), &mut fx);
            } else {
                page.open_step(l, st, false);
            }
        }
        Action::LessonsArrived(r) => page.lessons_arrived(r),
        Action::LeaveLesson => {
            if let Ok(sc) = Scenario::parse(DEFAULT_SCENARIO) {
                page.load(sc);
            }
            page.lesson = None;
            page.pending = None;
            page.announce = "Back to the playground.".into();
        }
        Action::Hint => {
            if let Some(o) = &mut page.lesson {
                o.hints += 1;
            }
        }
        Action::ShowSolution => {
            if let Some(o) = &mut page.lesson {
                o.solution = true;
            }
        }
        Action::ApplySolution => {
            if let Some((l, st)) = page.lesson.as_ref().map(|o| (o.lesson, o.step)) {
                page.open_step(l, st, true);
                if let Ok(s) = &mut page.session {
                    s.playing = true;
                }
            }
        }
        Action::Predict(i) => {
            if let Some(o) = &mut page.lesson {
                o.predicted = Some(i);
            }
        }
        Action::Template(0) => {
            if let Ok(sc) = Scenario::parse(DEFAULT_SCENARIO) {
                page.edit(sc, "Template loaded.".into());
            }
        }
        // The other templates are not in the page: the run on screen stays until one arrives.
        Action::Template(i) => {
            if let Some(title) = template_titles().get(i) {
                page.pending = None; // the learner's choice wins over a lesson on its way
                page.template_wanted = Some(i);
                page.announce = format!("Loading the template \u{201c}{title}\u{201d}\u{2026}");
                fx.push(Effect::FetchTemplate(i));
            }
        }
        Action::TemplateArrived(i, r) => page.template_arrived(i, r),
        Action::CopyLink => {
            if let Some(text) = page.link_text() {
                let embed = if page.embed { "?embed=1" } else { "" };
                let url = format!("{}{embed}#{text}", page.base_url);
                // A refused clipboard (no permission, no focus) is not an error: the link is
                // also shown, selected, for copying by hand.
                fx.push(Effect::Clipboard(url.clone()));
                page.copied = Some(url);
                page.announce = "Link copied.".into();
            }
        }
        // A classroom link's choices are the teacher's: a student cannot undo them.
        Action::Hide(..) | Action::Note(_) if page.locked => {}
        Action::Hide(part, on) => {
            page.hidden.retain(|h| h != part);
            if on {
                page.hidden.push(part.to_string());
            }
            page.copied = None; // the old link no longer says what the teacher chose
        }
        Action::Note(text) => {
            page.note = clean_note(&text);
            page.copied = None;
        }
        Action::OpenFull => {
            if let Some(text) = page.link_text() {
                fx.push(Effect::OpenTab(format!("{}#{text}", page.base_url)));
            }
        }
        Action::Export(kind) => page.export(kind, &mut fx),
        Action::SaveSvg(stem, svg, png) => fx.push(if png {
            Effect::SavePng {
                name: format!("{stem}.png"),
                svg,
            }
        } else {
            Effect::Download {
                name: format!("{stem}.svg"),
                mime: "image/svg+xml",
                text: svg.to_string(),
            }
        }),
        Action::Imported(r) => match r.and_then(|text| {
            Scenario::parse(&text).map_err(|e| {
                format!("This file is not a scenario Faultline can open, so nothing changed. {e}")
            })
        }) {
            Ok(sc) => {
                page.lesson = None;
                page.pending = None;
                page.load(sc);
                page.announce = "Scenario opened.".into();
            }
            Err(e) => page.error = Some(e),
        },
        Action::AddNode(kind) => {
            let base = s.recorded();
            let n = base.nodes.len() as f64;
            let at = [
                (WIDTH / 2.0 + 40.0 * (n % 5.0) - 80.0).round(),
                (HEIGHT / 2.0 + 50.0 * ((n / 5.0).floor() % 3.0) - 50.0).round(),
            ];
            match crate::sandbox::add_node(&base, kind, at) {
                Ok((next, id)) => {
                    page.edit(next, format!("Added {id}; the run starts again from zero."));
                    page.selected = page
                        .session
                        .as_ref()
                        .ok()
                        .and_then(|s| s.world.names().iter().position(|n| *n == id))
                        .map(|i| NodeId(i as u16));
                }
                Err(e) => page.error = Some(e),
            }
        }
        Action::RemoveNode(id) => {
            let Some(name) = s.scenario.nodes.get(id.index()).map(|n| n.id.clone()) else {
                return fx;
            };
            let r = crate::sandbox::remove_node(&s.recorded(), &name);
            page.sandbox_edit(r, format!("Removed {name}"), None);
        }
        Action::AddLink(id, other) => {
            let Some(name) = s.scenario.nodes.get(id.index()).map(|n| n.id.clone()) else {
                return fx;
            };
            let r = crate::sandbox::add_link(&s.recorded(), &name, &other);
            page.sandbox_edit(r, format!("Linked {name} and {other}"), Some(id));
        }
        Action::RemoveLink(id, other) => {
            let Some(name) = s.scenario.nodes.get(id.index()).map(|n| n.id.clone()) else {
                return fx;
            };
            let r = crate::sandbox::remove_link(&s.recorded(), &name, &other);
            page.sandbox_edit(r, format!("Unlinked {name} and {other}"), Some(id));
        }
        Action::RunWithSettings => {
            s.restart_with_settings();
            page.announce = "Started again from zero with your settings.".into();
        }
        Action::Failed(e) => page.error = Some(e),
        Action::Sweep(act) => page.sweep_act(act, &mut fx),
    }
    page.judge_goal(&mut fx);
    page.sync_fragment(&mut fx);
    page.catch_up_narration();
    page.follow_compare(before);
    page.sweep_follow();
    page.refresh_all(Some(before));
    fx
}

/// The core action for a learner's act on a node; `None` when there is nothing to do (rejoin
/// with no cut link).
fn node_action(s: &Session, id: NodeId, act: NodeAct) -> Option<CoreAction> {
    Some(match act {
        NodeAct::Crash => CoreAction::Crash(id),
        NodeAct::Restart => CoreAction::Restart(id),
        NodeAct::Pause => CoreAction::Pause(id),
        NodeAct::Resume => CoreAction::Resume(id),
        NodeAct::Isolate => CoreAction::Partition {
            groups: vec![vec![id]],
        },
        NodeAct::Rejoin => {
            let l = s
                .world
                .links()
                .iter()
                .filter(|l| l.a == id || l.b == id)
                .find(|l| l.is_cut(0) || l.is_cut(1))?;
            CoreAction::Heal { a: l.a, b: l.b }
        }
    })
}

impl Page {
    /// Builds the download of the run in `kind`'s format.
    fn export(&mut self, kind: ExportKind, fx: &mut Vec<Effect>) {
        let Ok(s) = &self.session else { return };
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
        match made {
            Ok((text, cut)) => {
                fx.push(Effect::Download {
                    name: format!("{}.{suffix}", file_stem(&rec.title)),
                    mime,
                    text,
                });
                self.error = cut.filter(|c| *c).map(|_| {
                    format!(
                        "The run's trace is longer than {} MB: the file holds its beginning.",
                        faultline_core::export::MAX_EXPORT_BYTES >> 20
                    )
                });
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Runs the second pane with one setting changed, or says why the value is refused.
    fn compare_apply(&mut self, i: usize, path: String, text: String) {
        let Ok(s) = &self.session else { return };
        let Some(node) = s.scenario.nodes.get(i).map(|n| n.id.clone()) else {
            return;
        };
        let text = text.trim();
        let value = serde_json::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.chars().take(200).collect()));
        let change = crate::compare::Change {
            node,
            param: path,
            value,
        };
        let probe = faultline_core::models::set_param(
            &mut *s.world.node(NodeId(i as u16)).clone_box(),
            &change.param,
            &change.value,
        );
        if let Err(e) = probe {
            self.error = Some(format!("{} not changed: {e}", change.param));
            return;
        }
        match crate::compare::Compare::new(&s.recorded(), Some(change), s.world.now_us()) {
            Ok(c) => {
                self.compare = Some(c);
                self.error = None;
                self.announce = "The second pane runs with your change.".into();
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Keeps the second pane on the first's clock; rebuilds it when the first forked.
    fn follow_compare(&mut self, before: (u64, u64)) {
        let (Some(c), Ok(s)) = (&mut self.compare, &self.session) else {
            return;
        };
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
}

impl Page {
    /// The page as it opens: the default scenario, or the lesson step, link or benchmark that
    /// the address names; with the effects of opening (forgetting corrupt saved progress).
    pub fn start(start: Start) -> (Page, Vec<Effect>) {
        let scenario = if start.bench {
            Ok(crate::framebench::scenario())
        } else {
            Scenario::parse(DEFAULT_SCENARIO)
        };
        let session = scenario.and_then(Session::new).map_err(|e| e.to_string());
        let pos = session
            .as_ref()
            .map(|s| layout::positions(&s.scenario))
            .unwrap_or_default();
        let mut page = Page {
            session,
            pos,
            selected: None,
            drag: None,
            announce: String::new(),
            seen_seq: 0,
            error: None,
            last_frame_ms: None,
            compare: None,
            marks_version: u64::MAX,
            frames: 0,
            log_kinds: [true, false, true],
            log_node: None,
            log_trace: None,
            log_trace_bad: None,
            still: start.reduced_motion,
            catalog: Catalog::default(),
            lessons_load: LessonsLoad::Idle,
            pending: None,
            template_wanted: None,
            progress: Progress::default(),
            lesson: None,
            lesson_list: false,
            menu: false,
            hidden: Vec::new(),
            locked: false,
            note: String::new(),
            end_verdict: None,
            embed: query_param(&start.query, "embed").as_deref() == Some("1"),
            copied: None,
            base_url: start.base_url,
            bench: start.bench,
            learner: start.learner,
            request: None,
            names: Rc::from(Vec::new()),
            charts: Rc::default(),
            key_chart: None,
            in_view: [true; 4],
            log: Rc::default(),
            verdict_rows: Rc::default(),
            moment_list: Rc::default(),
            bands: Rc::default(),
            spacetime: Rc::default(),
            recent: Rc::default(),
            waterfall: Rc::new(Ok(Vec::new())),
            inspector: None,
            lesson_view: None,
            stats: Rc::default(),
            scenario_json: None,
            sweep: Default::default(),
        };
        let mut fx = Vec::new();
        if let Some(text) = start.progress {
            match Progress::parse(&text) {
                Ok(p) => page.progress = p,
                Err(e) => {
                    page.error = Some(e);
                    fx.push(Effect::ForgetProgress);
                }
            }
        }
        if !page.bench
            && let Some(id) = query_param(&start.query, "lesson")
        {
            if lessons::LESSON_IDS.contains(&id.as_str()) {
                // `step` counts from 1 in links, as people count.
                let step = query_param(&start.query, "step").and_then(|v| v.parse::<usize>().ok());
                page.want_lessons(Some(Pending::Named(id, step)), &mut fx);
            } else {
                page.error = Some(format!(
                    "There is no lesson '{id}'. Here is the playground; the list of lessons is under Lessons."
                ));
            }
        }
        if !page.bench && start.hash.len() > 1 {
            match Link::decode(&start.hash) {
                Ok(link) => page.open_link(link, &mut fx),
                Err(e) => {
                    page.error = Some(format!(
                        "{} The default sandbox is open instead.",
                        sentence(&e)
                    ))
                }
            }
        }
        if page.bench {
            page.bench_sweep(&start.query, &start.hash, &mut fx);
        }
        page.refresh_all(None);
        (page, fx)
    }

    /// Replaces the scenario on screen (a lesson step, a solution): a fresh run, paused at zero
    /// so the learner can read and set things up first.
    pub(crate) fn load(&mut self, scenario: Scenario) {
        self.template_wanted = None; // a scenario on screen supersedes a template on its way
        match Session::new(scenario) {
            Ok(mut s) => {
                s.playing = false;
                if let Ok(old) = &self.session {
                    s.set_speed(old.speed); // the learner's chosen speed carries over
                }
                self.pos = layout::positions(&s.scenario);
                self.session = Ok(s);
                self.selected = None;
                self.seen_seq = 0;
                self.marks_version = u64::MAX;
                self.compare = None;
                self.request = None;
                self.error = None;
            }
            // Lessons are checked by the tests, so this is a bug; say so and keep the current run.
            Err(e) => self.error = Some(format!("This step could not be opened: {e}")),
        }
    }

    pub(crate) fn open_step(&mut self, lesson: usize, step: usize, solved: bool) {
        let catalog = self.catalog.clone(); // an `Rc`: the step is read while the page changes
        let Some((_, Ok(l))) = catalog.get(lesson) else {
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

    /// Asks for the lessons (unless they are here or on their way) and notes what to open when
    /// they arrive. The run on screen stays as it is meanwhile.
    pub(crate) fn want_lessons(&mut self, then: Option<Pending>, fx: &mut Vec<Effect>) {
        if !self.catalog.is_empty() {
            return;
        }
        if then.is_some() {
            self.pending = then;
        }
        if self.lessons_load != LessonsLoad::Loading {
            self.lessons_load = LessonsLoad::Loading;
            fx.push(Effect::FetchLessons);
        }
    }

    /// The lessons file arrived: read it and open what was asked for. A fetch or a file that
    /// failed is said, the run on screen is kept, and asking again fetches again.
    pub(crate) fn lessons_arrived(&mut self, r: Result<String, String>) {
        let pending = self.pending.take();
        match r.and_then(|text| Catalog::from_json(&text)) {
            Ok(c) => {
                self.catalog = c;
                self.lessons_load = LessonsLoad::Idle;
            }
            Err(e) => {
                let e = format!(
                    "The lessons could not be loaded: {} Your run is kept; try Lessons again.",
                    sentence(&e)
                );
                self.lessons_load = LessonsLoad::Failed(e.clone());
                self.error = Some(e);
                return;
            }
        }
        match pending {
            Some(Pending::Step(l, st)) => self.open_step(l, st, false),
            Some(Pending::Named(id, step)) => match self.catalog.find(&id) {
                Some(i) => {
                    let n = self.catalog[i].1.as_ref().map_or(1, |l| l.steps.len());
                    let step = step.map_or(0, |v| v.clamp(1, n) - 1);
                    self.open_step(i, step, false);
                }
                None => {
                    self.error = Some(format!(
                        "There is no lesson '{id}'. Here is the playground; the list of lessons is under Lessons."
                    ))
                }
            },
            Some(Pending::Link(id, step)) => self.join_lesson(&id, step),
            None => {}
        }
        self.refresh_all(None);
    }

    /// Template `i` arrived: open it if it is still the one wanted. A fetch that failed, or a
    /// file that does not read, is said and the run on screen is kept; picking it again
    /// fetches again.
    pub(crate) fn template_arrived(&mut self, i: usize, r: Result<String, String>) {
        if self.template_wanted != Some(i) {
            return; // superseded by a later choice or by another scenario
        }
        self.template_wanted = None;
        let title = template_titles().get(i).copied().unwrap_or_default();
        match r.and_then(|text| Scenario::parse(&text).map_err(|e| e.to_string())) {
            Ok(sc) => self.edit(sc, "Template loaded.".into()),
            Err(e) => {
                self.error = Some(format!(
                    "The template \u{201c}{title}\u{201d} could not be loaded: {} Your scenario is kept; pick the template again to retry.",
                    sentence(&e)
                ));
                self.announce = String::new();
            }
        }
    }

    /// Shows the lesson panel of a shared run made in a lesson, over the run already on screen.
    fn join_lesson(&mut self, id: &str, step: usize) {
        let Some(i) = self.catalog.find(id) else {
            self.error = Some(format!(
                "This link was made in a lesson this page does not have ('{id}'); its run opens in the sandbox."
            ));
            return;
        };
        let Some((l, st)) = self.catalog[i]
            .1
            .as_ref()
            .ok()
            .and_then(|l| Some((l, l.steps.get(step)?)))
        else {
            return;
        };
        self.announce = format!("Lesson {}, step {}: {}.", l.title, step + 1, st.title);
        self.lesson = Some(OpenLesson {
            lesson: i,
            step,
            hints: 0,
            solution: false,
            predicted: None,
        });
        self.lesson_list = false;
    }

    /// Restores a shared run: the scenario with the learner's interventions, the moment, the
    /// view, and the lesson step it was made in (when the lessons arrive, if they are not here).
    pub(crate) fn open_link(&mut self, link: Link, fx: &mut Vec<Effect>) {
        let lesson = link.lesson.clone();
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
        self.locked = !self.hidden.is_empty();
        self.note = clean_note(&link.view.note);
        self.announce = "The shared run is open, paused at its moment.".into();
        if let Some(at) = &link.view.sweep {
            self.sweep_from_link(at, fx);
        }
        if let Some(LessonAt { id, step }) = lesson {
            if !self.catalog.is_empty() {
                self.join_lesson(&id, step);
            } else if lessons::LESSON_IDS.contains(&id.as_str()) {
                self.want_lessons(Some(Pending::Link(id, step)), fx);
            } else {
                self.error = Some(format!(
                    "This link was made in a lesson this page does not have ('{id}'); its run opens in the sandbox."
                ));
            }
        }
    }

    /// Replaces the sandbox's scenario after an edit and plays it from zero.
    pub(crate) fn edit(&mut self, next: Scenario, said: String) {
        self.pending = None; // the learner's own work wins over a lesson still on its way
        self.load(next);
        if let Ok(s) = &mut self.session {
            s.playing = true;
        }
        self.announce = said;
    }

    /// Applies a sandbox edit, or shows why it was refused (and changes nothing). `select` is the
    /// node to keep selected; the edited scenario keeps node order, so its id stays valid.
    pub(crate) fn sandbox_edit(
        &mut self,
        r: Result<Scenario, String>,
        done: String,
        select: Option<NodeId>,
    ) {
        match r {
            Ok(next) => {
                self.edit(next, format!("{done}; the run starts again from zero."));
                self.selected = select;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Keeps the address bar's fragment on the current state, so a reload or a copied address
    /// brings it back.
    pub(crate) fn sync_fragment(&self, fx: &mut Vec<Effect>) {
        if self.bench {
            return;
        }
        if let Some(text) = self.link_text() {
            fx.push(Effect::Fragment(text));
        }
    }

    /// Saves the layout as drawn after a node moved: every node's position, not only the moved
    /// one's, because a saved layout that did not fit was scaled to be drawn, and a mix of scaled
    /// and unscaled positions would be scaled again, wrongly, when the link is opened.
    pub(crate) fn save_layout(&mut self) {
        if let Ok(s) = &mut self.session {
            for (node, &(x, y)) in s.scenario.nodes.iter().zip(&self.pos) {
                s.scenario
                    .view
                    .positions
                    .insert(node.id.clone(), [x.round(), y.round()]);
            }
        }
    }
}

#[cfg(test)]
#[path = "reduce_tests.rs"]
mod tests;

/// A teacher's note as the page keeps it: one paragraph, without control characters, at most
/// [`MAX_NOTE_CHARS`](faultline_core::share::MAX_NOTE_CHARS) characters.
fn clean_note(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(faultline_core::share::MAX_NOTE_CHARS)
        .collect::<String>()
        .trim_start()
        .to_string()
}
