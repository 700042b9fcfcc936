//! The panels' data refreshed from the [`Page`]'s run: see `derive.rs` for what each holds. While
//! a run plays, the frame refreshes them on a schedule (`reduce.rs`); after any other action,
//! all at once.

use std::rc::Rc;

use faultline_core::NodeId;
use faultline_core::lesson::Outcome;
use faultline_core::trace::TraceKind;
use faultline_core::view::ModelKind;

use crate::charts;
use crate::controls;
use crate::derive::{
    BuildRow, GoalModel, InspectorModel, LOG_LINES, LessonModel, LinkRow, ParamValue, StatRow,
    current_config, fmt_ms, narrate, node_state,
};
use crate::state::{Effect, LogKind, LogLine, Page, Panel};

/// The gauges a node keeps (a Raft server's term and commits, a queue's depth), the first three
/// by name: the charts of a node that is not about requests.
fn gauge_names(w: &faultline_core::world::World, id: NodeId) -> Vec<&'static str> {
    let (series, _) = w.metrics(id).series();
    let mut names: Vec<&'static str> = series
        .iter()
        .flat_map(|b| b.gauges.iter().map(|(n, _)| n))
        .collect();
    faultline_core::order::sort(&mut names);
    names.dedup();
    names.truncate(3);
    names
}

/// While a run plays, the panels are refreshed once every this many frames (twice a second).
pub(crate) const PANEL_PERIOD: u64 = 30;

/// The frames of each [`PANEL_PERIOD`] in which the charts (with the inspector and the lesson),
/// the stats, the log and the views are refreshed: apart, and none of them a frame in which the
/// canvas redraws its words (those are the multiples of
/// [`WORDS_EVERY`](crate::canvas::WORDS_EVERY)), so no two costly updates share a frame.
pub(crate) const PANEL_PHASES: [u64; 4] = [1, 7, 13, 22];

impl Page {
    /// One animation frame: time moves while playing, and the panels are refreshed on a
    /// schedule. Returns whether anything on screen may have changed.
    pub(crate) fn frame(&mut self, ts: f64, fx: &mut Vec<Effect>) -> bool {
        self.sweep_frame(ts, fx);
        let Ok(s) = &mut self.session else {
            return false;
        };
        let playing = s.playing;
        if let Some(last) = self.last_frame_ms {
            s.advance(ts - last);
        }
        self.last_frame_ms = Some(ts);
        let now = s.world.now_us();
        let stopped = !s.playing;
        if let Some(c) = &mut self.compare {
            c.follow(now);
        }
        if !playing {
            return false;
        }
        self.judge_goal(fx);
        self.catch_up_narration();
        self.frames += 1;
        if stopped {
            self.sync_fragment(fx);
        }
        self.sync_verdicts(None);
        // Everything beside and below the canvas is refreshed twice a second. The costly parts
        // take turns, six to nine frames apart: refreshed in one frame they made it slow enough
        // to miss two (bench/frames.mjs: p95 33 ms against 16.7 ms). Never in a frame that
        // redraws the canvas's words ([`PANEL_PHASES`]). Once more in the frame the run stops,
        // so they show its end.
        // A panel out of view is not recomputed while the run plays (`Page::sees`): it is
        // refreshed when it comes into view, and when the run stops.
        let phase = self.frames % PANEL_PERIOD;
        let [charts, stats, log, views] = PANEL_PHASES;
        if phase == charts || stopped {
            self.refresh_charts_seen(stopped);
            self.refresh_inspector();
            self.refresh_lesson();
        }
        if (phase == stats && self.sees(Panel::Stats)) || stopped {
            self.refresh_stats();
        }
        if (phase == log && self.sees(Panel::Log)) || stopped {
            self.refresh_log();
        }
        if (phase == views && self.sees(Panel::Views)) || stopped {
            self.refresh_views();
            if self.request.is_some() && (self.frames % (4 * PANEL_PERIOD) == views || stopped) {
                self.refresh_waterfall();
            }
        }
        if stopped {
            self.refresh_scenario_json();
        }
        true
    }

    /// Refreshes every panel; `before` (time, trace hash) is the moment before the action, when
    /// one ran: the lists are redrawn, and a fork's picked request too.
    pub(crate) fn refresh_all(&mut self, before: Option<(u64, u64)>) {
        if let Ok(s) = &self.session
            && *self.names != *s.world.names()
        {
            self.names = Rc::from(s.world.names());
        }
        self.sync_verdicts(before); // first: the charts mark the moments
        self.refresh_charts();
        self.refresh_log();
        let forked = before.is_some_and(|(_, hash)| {
            self.session
                .as_ref()
                .is_ok_and(|s| s.world.trace().hash() != hash)
        });
        if self.request.is_some() && forked {
            self.refresh_waterfall();
        }
        self.refresh_views();
        self.refresh_inspector();
        self.refresh_lesson();
        self.refresh_stats();
        self.refresh_scenario_json();
    }

    /// Reads new trace events into the live region's sentence.
    pub(crate) fn catch_up_narration(&mut self) {
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

    /// At the end of a run, judges the step's goal and saves the progress when it is met.
    pub(crate) fn judge_goal(&mut self, fx: &mut Vec<Effect>) {
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
        // A goal on a sweep is judged on the learner's own last sweep of this scenario.
        let recorded = s.recorded();
        let Ok(v) = faultline_core::lesson::run(&recorded).map(|mut out| {
            out.sweep = self.sweep.swept(&recorded);
            goal.judge(&out)
        }) else {
            return;
        };
        let met = v.met;
        self.end_verdict = Some((key, v));
        if met && self.progress.mark(id, o.step) {
            self.announce = "Goal met. Well done.".into();
            // Progress that cannot be saved (private mode, a full store) still counts now.
            fx.push(Effect::SaveProgress(self.progress.to_text()));
        }
        self.refresh_lesson();
    }

    /// Reads the newest trace events that pass the log's filters.
    pub(crate) fn refresh_log(&mut self) {
        let Ok(s) = &self.session else { return };
        let names = s.world.names();
        let kinds = self.log_kinds;
        let node = self.log_node;
        let events = s.world.trace().events();
        // The messages of the filtered trace: a delivery or a loss names only its message, so
        // they are found from the sends, in a first pass over the (bounded) ring.
        // `extend`, not `collect`: collecting into a B-tree compiles a sort of its own (order.rs).
        let traced: Option<std::collections::BTreeSet<u64>> = self.log_trace.map(|t| {
            let mut ids = std::collections::BTreeSet::new();
            ids.extend(events.iter().filter_map(|e| match &e.kind {
                TraceKind::Sent { id, payload, .. } if payload.trace_id() == Some(t) => Some(id.0),
                _ => None,
            }));
            ids
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
        if *self.log != lines {
            self.log = Rc::new(lines);
        }
    }

    /// Redraws the invariants' rows, the moments and the breakers' bands when the session's
    /// lists changed (or after an action, `before` being the moment before it), and announces a
    /// property that turned violated. The session keeps the lists itself (`observed.rs`): a jump
    /// restores them with its snapshot, so nothing here replays the run.
    pub(crate) fn sync_verdicts(&mut self, before: Option<(u64, u64)>) {
        let Ok(s) = &mut self.session else { return };
        if let Some(name) = s.take_turned() {
            self.announce = format!("Invariant violated: {name}.");
        }
        if before.is_none() && s.version() == self.marks_version {
            return;
        }
        self.marks_version = s.version();
        let w = &s.world;
        let rows = s.observed().verdicts.rows(w);
        if *self.verdict_rows != rows {
            self.verdict_rows = Rc::new(rows);
        }
        let marks = s.marks();
        let list = marks.moments.list(marks.verdicts.violations(), w.names());
        if *self.moment_list != list {
            self.moment_list = Rc::new(list);
        }
        let bands = marks.moments.bands(w.names());
        if *self.bands != bands {
            self.bands = Rc::new(bands);
        }
    }

    /// Redraws the space-time diagram, the verdicts' rows and the list of recent requests.
    pub(crate) fn refresh_views(&mut self) {
        let Ok(s) = &self.session else { return };
        let w = &s.world;
        let rows = s.observed().verdicts.rows(w);
        if *self.verdict_rows != rows {
            self.verdict_rows = Rc::new(rows);
        }
        if !self.hides("log") && !self.embed {
            let st = crate::spacetime::svg(w, self.request);
            if *self.spacetime != st {
                self.spacetime = Rc::new(st);
            }
        }
        let recent = crate::spacetime::recent_requests(w, 30);
        if *self.recent != recent {
            self.recent = Rc::new(recent);
        }
    }

    /// Rebuilds the picked request's spans (a replay of the run up to now).
    pub(crate) fn refresh_waterfall(&mut self) {
        let Ok(s) = &self.session else { return };
        self.waterfall = Rc::new(match self.request {
            Some((c, t)) => crate::waterfall::bars(&s.recorded(), s.world.now_us(), c, t),
            None => Ok(Vec::new()),
        });
        self.spacetime = Rc::new(crate::spacetime::svg(&s.world, self.request));
    }

    /// A panel came into view or left it. One that comes into view while the run plays is
    /// refreshed at once (it was not while out of view); while paused every panel is fresh.
    pub(crate) fn panel_in_view(&mut self, panel: Panel, seen: bool) {
        let was = std::mem::replace(&mut self.in_view[panel as usize], seen);
        if !seen || was || !self.playing() {
            return;
        }
        match panel {
            Panel::Charts => self.refresh_charts(),
            Panel::Views => self.refresh_views(),
            Panel::Log => self.refresh_log(),
            Panel::Stats => self.refresh_stats(),
        }
    }

    /// Whether a panel below the stage is in view.
    pub(crate) fn sees(&self, panel: Panel) -> bool {
        self.in_view[panel as usize]
    }

    /// Redraws the key chart beside the canvas, and the others when they are in view (or `all`).
    pub(crate) fn refresh_charts_seen(&mut self, all: bool) {
        if all || self.sees(Panel::Charts) {
            self.refresh_charts();
        } else {
            self.refresh_key_chart();
        }
    }

    /// Redraws the key chart alone: the one beside the canvas, always in view. The same chart as
    /// [`Page::refresh_charts`] picks, drawn alone (the others wait until they are in view).
    fn refresh_key_chart(&mut self) {
        let Ok(s) = &self.session else { return };
        if self.hides("charts") {
            return;
        }
        let w = &s.world;
        let moments = &self.moment_list[..];
        let about_requests = |id: NodeId| crate::kinds::on_request_path(w.node(id).model_kind());
        let chart = match self.selected.filter(|id| !about_requests(*id)) {
            Some(id) => gauge_names(w, id)
                .into_iter()
                .find_map(|g| charts::gauge(w, id, g, &g.replace('_', " "), moments)),
            None => None,
        }
        .or_else(|| {
            let id = self.request_focus()?;
            charts::rates(w, id, moments)
                .or_else(|| {
                    let timeout = current_config(s, id)
                        .get("timeout_ms")
                        .and_then(|v| v.as_f64());
                    charts::latency(w, id, timeout)
                })
                .or_else(|| {
                    (0..w.names().len() as u16)
                        .map(NodeId)
                        .filter(|n| w.node(*n).model_kind() == ModelKind::Service)
                        .take(2)
                        .find_map(|n| charts::gauge(w, n, "queue", "queue length", moments))
                })
        });
        if self.key_chart.as_deref() != chart.as_ref() {
            self.key_chart = chart.map(Rc::new);
        }
    }

    /// The node whose requests the charts follow: the selected one, or the first client.
    fn request_focus(&self) -> Option<NodeId> {
        let w = &self.session.as_ref().ok()?.world;
        let about_requests = |id: NodeId| crate::kinds::on_request_path(w.node(id).model_kind());
        self.selected.filter(|id| about_requests(*id)).or_else(|| {
            (0..w.names().len() as u16)
                .map(NodeId)
                .find(|id| w.node(*id).model_kind() == ModelKind::Client)
        })
    }

    /// Redraws the charts for the selected node, or the first client.
    pub(crate) fn refresh_charts(&mut self) {
        let Ok(s) = &self.session else { return };
        if self.hides("charts") {
            return;
        }
        let w = &s.world;
        let moments = &self.moment_list[..];
        let about_requests = |id: NodeId| crate::kinds::on_request_path(w.node(id).model_kind());
        let mut charts = Vec::new();
        let mut key = None;
        // A node that is not about requests (a Raft server, a queue, a projection) charts the
        // gauges it keeps: term and commits, depth and unacked messages, lag.
        if let Some(id) = self.selected.filter(|id| !about_requests(*id)) {
            charts = gauge_names(w, id)
                .into_iter()
                .filter_map(|g| charts::gauge(w, id, g, &g.replace('_', " "), moments))
                .collect();
        }
        if charts.is_empty()
            && let Some(id) = self.request_focus()
        {
            let timeout = current_config(s, id)
                .get("timeout_ms")
                .and_then(|v| v.as_f64());
            let services = (0..w.names().len() as u16)
                .map(NodeId)
                .filter(|n| w.node(*n).model_kind() == ModelKind::Service);
            let (latency, rates) = (
                charts::latency(w, id, timeout),
                charts::rates(w, id, moments),
            );
            // Requests against attempts is where a storm or an outage shows first.
            key = rates.is_some().then_some(usize::from(latency.is_some()));
            charts = [latency, rates]
                .into_iter()
                .chain(
                    services
                        .take(2)
                        .map(|n| charts::gauge(w, n, "queue", "queue length", moments)),
                )
                .flatten()
                .collect();
        }
        let key = key
            .or((!charts.is_empty()).then_some(0))
            .and_then(|i| charts.get(i));
        if self.key_chart.as_deref() != key {
            self.key_chart = key.cloned().map(Rc::new);
        }
        if *self.charts != charts {
            self.charts = Rc::new(charts);
        }
    }

    /// Rebuilds the inspector's content for the selected node.
    pub(crate) fn refresh_inspector(&mut self) {
        let next = self.inspector_model().map(Rc::new);
        if self.inspector != next {
            self.inspector = next;
        }
    }

    fn inspector_model(&self) -> Option<InspectorModel> {
        let s = self.session.as_ref().ok()?;
        let id = self.selected?;
        let world = &s.world;
        let names = world.names();
        let name = names.get(id.index())?.clone();
        let node = world.node(id);
        let cfg = current_config(s, id);
        let params = controls::params_for(node.model_kind())
            .iter()
            .filter_map(|p| {
                controls::get(&cfg, p.path).map(|v| ParamValue {
                    param: *p,
                    value: v.clone(),
                })
            })
            .collect();
        let links = world
            .links()
            .iter()
            .filter(|l| l.a == id || l.b == id)
            .map(|l| {
                // Direction 0 is a -> b. A link may differ each way (answers lost on the way
                // back only, say): then both are shown, and a slider sets both.
                let (out_dir, in_dir) = if l.a == id { (0, 1) } else { (1, 0) };
                let (out, back) = (l.config(out_dir), l.config(in_dir));
                let bw = |b: u32| (b > 0).then_some(b);
                LinkRow {
                    a: l.a,
                    b: l.b,
                    other: names[if l.a == id { l.b } else { l.a }.index()].clone(),
                    key: format!("{}-{}", names[l.a.index()], names[l.b.index()]),
                    loss_ppm: (out.loss_ppm, back.loss_ppm),
                    bandwidth: (bw(out.bandwidth_per_s), bw(back.bandwidth_per_s)),
                }
            })
            .collect();
        let has_cut = world
            .links()
            .iter()
            .any(|l| (l.a == id || l.b == id) && (l.is_cut(0) || l.is_cut(1)));
        let build = (self.lesson.is_none() && !self.embed).then(|| {
            let linked_to = |other: &str| {
                s.scenario
                    .links
                    .iter()
                    .any(|l| (l.a == name && l.b == other) || (l.a == other && l.b == name))
            };
            let others = names.iter().filter(|n| **n != name);
            BuildRow {
                can_link: others.clone().filter(|n| !linked_to(n)).cloned().collect(),
                can_unlink: others.filter(|n| linked_to(n)).cloned().collect(),
            }
        });
        Some(InspectorModel {
            id,
            kind: node.kind(),
            state: node_state(world, id),
            live: world.liveness(id),
            rows: node.inspect(),
            params,
            links,
            has_cut,
            build,
            hide_actions: self.hides("actions"),
            hide_settings: self.hides("settings"),
            name,
        })
    }

    /// Rebuilds the lesson panel's live part.
    pub(crate) fn refresh_lesson(&mut self) {
        let next = self.lesson_model().map(Rc::new);
        if self.lesson_view != next {
            self.lesson_view = next;
        }
    }

    fn lesson_model(&self) -> Option<LessonModel> {
        let o = self.lesson.as_ref()?;
        let s = self.session.as_ref().ok()?;
        let (id, Ok(l)) = &self.catalog[o.lesson] else {
            return None;
        };
        let st = l.steps.get(o.step)?;
        let at_end = s.world.now_us() >= s.end_us();
        let goal = st.goal.as_ref().map(|g| {
            let key = (s.world.trace().hash(), s.world.now_us());
            let v = match &self.end_verdict {
                Some((k, v)) if at_end && *k == key => v.clone(),
                _ => g.judge(&Outcome::of_world(&s.world)),
            };
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
            GoalModel {
                checks: v.checks,
                at_end,
                met: at_end && v.met,
                status,
                // "Met before" means an earlier run: not the one that just met it.
                done: self.progress.done(id, o.step) && !(at_end && v.met),
            }
        });
        let order = st.predict.as_ref().map_or(Vec::new(), |p| {
            crate::derive::choice_order(self.learner, id, o.step, p.choices.len())
        });
        let links: Vec<(NodeId, NodeId)> = s.world.links().iter().map(|l| (l.a, l.b)).collect();
        let shown = st.predict.is_none() || o.predicted.is_some();
        let mentions = crate::mentions::of(st, shown, s.world.names(), &links);
        Some(LessonModel {
            order,
            mentions: match &self.lesson_view {
                // The same names keep the same Rc, so the canvas's props compare equal cheaply.
                Some(m) if *m.mentions == mentions => m.mentions.clone(),
                _ => Rc::new(mentions),
            },
            open: o.clone(),
            goal,
            hide_solution: self.hides("solution"),
        })
    }

    /// Rebuilds the table of numbers.
    pub(crate) fn refresh_stats(&mut self) {
        let Ok(s) = &self.session else { return };
        let world = &s.world;
        let rows: Vec<StatRow> = (0..world.names().len())
            .map(|i| {
                let id = NodeId(i as u16);
                let m = world.metrics(id);
                let q = |p: f64| {
                    m.latency
                        .quantile_us(p)
                        .map_or("–".to_string(), |us| fmt_ms(us as f64 / 1000.0))
                };
                StatRow {
                    name: world.names()[i].clone(),
                    kind: world.node(id).kind(),
                    ok: m.successes,
                    failed: m.failures,
                    p50: q(0.5),
                    p99: q(0.99),
                }
            })
            .collect();
        if *self.stats != rows {
            self.stats = Rc::new(rows);
        }
    }

    /// The scenario with the learner's changes, serialised only while paused: not sixty times a
    /// second for nobody.
    pub(crate) fn refresh_scenario_json(&mut self) {
        let Ok(s) = &self.session else { return };
        if s.playing {
            self.scenario_json = None;
            return;
        }
        let json = s.recorded().to_json();
        if self.scenario_json.as_deref() != Some(json.as_str()) {
            self.scenario_json = Some(Rc::from(json));
        }
    }
}
