//! The root component: it keeps the one [`Page`] in place, turns every event into an
//! [`Action`] for [`reduce`], carries out the [`Effect`](crate::state::Effect)s through
//! [`browser::run`], drives the animation frames, and lays the panels out.
//!
//! No other module imports this one: each panel is a component with small props and a
//! `Callback<Action>`, and Yew skips a panel whose props did not change.

use std::rc::Rc;

use gloo_render::{AnimationFrame, request_animation_frame};
use yew::prelude::*;

use crate::action::Action;
use crate::browser;
use crate::canvas::{Canvas, Scene, redraws_words};
use crate::compare_view::{CompareModel, CompareView};
use crate::event_log::EventLog;
use crate::inspector::Inspector;
use crate::lesson_panel::{LessonList, LessonPanel, ResultCard};
use crate::panels::{Charts, Export, KeyChart, Share, Stats};
use crate::reduce::reduce;
use crate::state::{LessonsLoad, Page};
use crate::sweep_view::SweepPanel;
use crate::toolbar::{Header, ScenarioBar, TimeControls};
use crate::views::{Spacetime, Verdicts, Waterfall};

/// Frame timings for `?bench=frames`.
#[derive(Default)]
struct FrameBench {
    intervals_ms: Vec<f64>,
    work_ms: Vec<f64>,
    work_start: Option<f64>,
    last_ms: Option<f64>,
    /// Interval p50 and p95, work p50 and p95 (ms), and the frames that missed a refresh.
    report: Option<(f64, f64, f64, f64, usize)>,
    /// The first frame's time stamp: the measurement starts after the page's first second.
    first_ms: Option<f64>,
    /// The measurement has started.
    started: bool,
    /// A sweep's seeds done when the report was made (`bench/frames.mjs --sweep`): whether it
    /// ran through the whole measurement.
    sweep_at_report: String,
}

impl FrameBench {
    /// Whether the frame at `ts` is measured: from the first frame at least
    /// [`WARM_UP_MS`](crate::framebench::WARM_UP_MS) after the first and with
    /// [`FULL`](crate::framebench::FULL) messages in flight, then every frame.
    fn warmed_up(&mut self, ts: f64, in_flight: usize) -> bool {
        let first = *self.first_ms.get_or_insert(ts);
        self.started |=
            ts - first >= crate::framebench::WARM_UP_MS && in_flight >= crate::framebench::FULL;
        self.started
    }
}

/// The root component.
pub struct App {
    page: Page,
    on: Callback<Action>,
    bench: Option<FrameBench>,
    // Kept alive on purpose: dropping the handle cancels the next frame.
    frame: Option<AnimationFrame>,
    /// Which panels below the stage are in view.
    panels: Option<browser::PanelWatch>,
    /// The last render came from something other than a frame: panels may have come or gone.
    rescan: bool,
    /// This render is a frame of a playing run: nodes not due keep their words
    /// ([`Scene::hold_words`]).
    playing_frame: bool,
    /// The canvas's last scene, whose words a playing frame may keep.
    scene: std::cell::RefCell<Option<Rc<Scene>>>,
    /// The clock as last shown (time, trace hash, messages in flight): while a run plays it
    /// moves with the canvas's words ([`redraws_words`]). Its text and the time line's
    /// thumb changing every frame made the browser redraw the strip between them and the canvas
    /// as well (the frame's damage is one rectangle).
    clock: std::cell::Cell<(u64, u64, usize)>,
}

impl App {
    fn request_frame(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.frame = Some(request_animation_frame(move |ts| {
            link.send_message(Action::Frame(ts))
        }));
    }

    /// Carries out the effects; one that fails is said on the page.
    fn run(&mut self, effects: Vec<crate::state::Effect>) {
        for e in effects {
            if let Err(why) = browser::run(e, &self.on) {
                // The failure's own effects (the address bar) are best effort.
                for e in reduce(&mut self.page, Action::Failed(why)) {
                    let _ = browser::run(e, &self.on);
                }
            }
        }
    }
}

impl Component for App {
    type Message = Action;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let start = browser::start();
        let bench = start.bench.then(FrameBench::default);
        let (page, effects) = Page::start(start);
        let mut app = App {
            page,
            on: ctx.link().callback(|a: Action| a),
            bench,
            frame: None,
            panels: None,
            rescan: true,
            playing_frame: false,
            scene: Default::default(),
            clock: Default::default(),
        };
        app.run(effects);
        app.request_frame(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, action: Action) -> bool {
        let frame = matches!(action, Action::Frame(_));
        if let Action::Frame(ts) = action {
            self.request_frame(ctx);
            let in_flight = self
                .page
                .session
                .as_ref()
                .map_or(0, |s| s.world.in_flight_count());
            if let Some(b) = &mut self.bench
                && b.report.is_none()
                && b.warmed_up(ts, in_flight)
            {
                if let Some(last) = b.last_ms {
                    b.intervals_ms.push(ts - last);
                }
                b.last_ms = Some(ts);
                b.work_start = Some(browser::now_ms());
            }
        }
        let was_playing = self.page.playing();
        // A sweep in its worker needs no frames: its batches arrive as actions of their own.
        let sweeping = self.page.sweep.on_thread();
        let effects = reduce(&mut self.page, action);
        self.run(effects);
        self.rescan |= !frame;
        self.playing_frame = frame && self.page.playing();
        // A frame while paused changes nothing on screen but a sweep's progress; the frame in
        // which a run (or a sweep) stops does.
        !frame || was_playing || sweeping
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first_render: bool) {
        if first_render {
            self.panels = browser::PanelWatch::new(self.on.clone());
        }
        if std::mem::take(&mut self.rescan)
            && let Some(w) = &mut self.panels
        {
            w.scan();
        }
        if let Some(b) = &mut self.bench
            && b.report.is_none()
            && let Some(start) = b.work_start.take()
        {
            b.work_ms.push(browser::now_ms() - start);
            if b.work_ms.len() >= crate::framebench::FRAMES {
                use crate::framebench::quantile;
                let missed = crate::framebench::missed(&b.intervals_ms);
                b.report = Some((
                    quantile(&mut b.intervals_ms, 0.5),
                    quantile(&mut b.intervals_ms, 0.95),
                    quantile(&mut b.work_ms, 0.5),
                    quantile(&mut b.work_ms, 0.95),
                    missed,
                ));
                let v = &self.page.sweep.view;
                b.sweep_at_report = match (v.running, &v.summary) {
                    (Some((done, all)), _) => format!("running: {done} of {all} seeds"),
                    (None, Some(s)) => format!("finished: {} seeds", s.seeds),
                    (None, None) => "none".into(),
                };
            }
        }
        if first_render
            && let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
        {
            // The end-to-end tests wait for this before they look at the page.
            let _ = body.set_attribute("data-ready", "1");
            // The static first paint (web/index.html) has done its job.
            if let Some(boot) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("boot"))
            {
                boot.remove();
            }
        }
    }

    fn view(&self, _ctx: &Context<Self>) -> Html {
        let page = &self.page;
        let s = match &page.session {
            Ok(s) => s,
            Err(e) => {
                return html! { <main class="error" role="alert"><h1>{"Faultline"}</h1><p>{ e.clone() }</p></main> };
            }
        };
        let world = &s.world;
        let on = &self.on;
        let mut scene = Scene::of(world, &s.scenario, &page.pos, page.still);
        if self.playing_frame
            && let Some(prev) = self.scene.borrow().as_deref()
        {
            scene.hold_words(prev, page.frames);
        }
        if !self.playing_frame || redraws_words(page.frames) {
            self.clock.set((
                world.now_us(),
                world.trace().hash(),
                world.in_flight_count(),
            ));
        }
        let (now_us, trace_hash, in_flight) = self.clock.get();
        let scene = Rc::new(scene);
        *self.scene.borrow_mut() = Some(scene.clone());
        let compare = CompareModel::of(page).map(Rc::new);
        let lower_views = !page.hides("log") && !page.embed;
        // Marks the page busy while the lessons or a template are on their way (the end-to-end
        // tests wait for it).
        let loading = if page.lessons_load == LessonsLoad::Loading {
            Some(AttrValue::Static("lessons"))
        } else {
            page.template_wanted.map(|_| AttrValue::Static("template"))
        };
        let busy = loading.is_some().then_some("true");
        html! {
            <div class={classes!("app", page.lesson.is_some().then_some("lesson-mode"), page.embed.then_some("embed"), page.menu.then_some("menu-open"))}
                 data-loading={loading} aria-busy={busy}>
                if !page.embed {
                    <Header lessons={!page.hides("lessons")} list_open={page.lesson_list}
                        first_visit={page.lesson.is_none() && page.progress.0.is_empty()} menu={page.menu} scenario_bar={page.lesson.is_none()} on={on.clone()} />
                }
                if page.lesson_list {
                    <LessonList catalog={page.catalog.clone()} load={page.lessons_load.clone()} progress={page.progress.clone()} on={on.clone()} />
                }
                <div class="layout">
                if let Some(m) = &page.lesson_view {
                    <LessonPanel catalog={page.catalog.clone()} model={m.clone()} on={on.clone()} />
                }
                <main>
                    if page.lesson.is_none() {
                        <ScenarioBar title={s.scenario.title.clone()} description={s.scenario.description.clone()}
                            hide_templates={page.hides("templates")} embed={page.embed}
                            loading={page.template_wanted.and_then(|i| crate::templates::template_titles().get(i).copied())}
                            on={on.clone()} />
                    }
                    <TimeControls playing={s.playing} speed={s.speed} seed={s.scenario.seed} still={page.still}
                        hide_seed={page.hides("seed")} embed={page.embed} comparing={page.compare.is_some()}
                        {now_us} end_us={s.end_us()} {trace_hash} {in_flight} moments={page.moment_list.clone()} bands={page.bands.clone()} on={on.clone()} />
                    if page.embed {
                        <p class="embed-open">
                            <button id="open-full" onclick={on.reform(|_| Action::OpenFull)}
                                title="This run at this moment, in the whole Faultline page (a new tab)">{"Open in Faultline ↗"}</button>
                        </p>
                    }
                    if !page.note.is_empty() {
                        <aside id="teacher-note-shown" class="teacher-note" aria-label="Note from your teacher">
                            <strong>{"Note: "}</strong>{ page.note.clone() }
                        </aside>
                    }
                    if let Some(n) = &s.notice {
                        <p class="notice" role="status">{ n.clone() }</p>
                    }
                    if let Some(e) = &page.error {
                        <p class="notice error-text" role="alert">{ e.clone() }</p>
                    }
                    <div class="stage">
                        <div class="canvas-wrap">
                            <Canvas {scene} selected={page.selected} on={on.clone()}
                                mentioned={page.lesson_view.as_ref().map(|m| m.mentions.clone()).unwrap_or_default()} />
                            if let Some(m) = &page.lesson_view {
                                <ResultCard catalog={page.catalog.clone()} model={m.clone()} on={on.clone()} />
                            }
                        </div>
                        <aside class="side">
                            if !page.hides("charts") {
                                <KeyChart chart={page.key_chart.clone()} />
                            }
                            <div class="side-scroll">
                                <Inspector model={page.inspector.clone()} on={on.clone()} />
                            </div>
                        </aside>
                    </div>
                    if let Some(model) = compare {
                        <CompareView {model} on={on.clone()} />
                    }
                    if let Some(b) = &self.bench {
                        <p class="notice" role="status">
                            if let Some((i50, i95, w50, w95, missed)) = b.report {
                                <output id="frame-report" data-interval-p95-ms={format!("{i95:.2}")} data-work-p95-ms={format!("{w95:.2}")} data-missed={missed.to_string()}
                                    data-sweep={b.sweep_at_report.clone()}>
                                    { format!("{} frames with {} messages in flight: frame interval p50 {i50:.1} ms, p95 {i95:.1} ms, {missed} of {} missed a refresh; page work per frame p50 {w50:.2} ms, p95 {w95:.2} ms; sweep at the end: {}",
                                        crate::framebench::FRAMES, world.in_flight_count(), b.intervals_ms.len(), b.sweep_at_report) }
                                </output>
                            } else {
                                // In steps of 50: a text changed every frame would be a repaint
                                // the benchmark adds to what it measures.
                                { format!("Measuring frames: {} of {}", b.work_ms.len() / 50 * 50, crate::framebench::FRAMES) }
                            }
                        </p>
                    }
                    <p id="announce" class="visually-hidden" aria-live="polite">{ &page.announce }</p>
                    if !page.embed {
                        <Share copied={page.copied.clone()} hidden={page.hidden.clone()} note={page.note.clone()}
                            locked={page.locked} unsolvable={page.unsolvable()} on={on.clone()} />
                    }
                    <Export json={page.scenario_json.clone()} hidden={page.embed} on={on.clone()} />
                    <Charts charts={page.charts.clone()} hidden={page.hides("charts")} on={on.clone()} />
                    <section class="views" aria-label="Invariants and message views" data-panel="views">
                        <Verdicts rows={page.verdict_rows.clone()} names={page.names.clone()} on={on.clone()} />
                        if lower_views {
                            <Spacetime drawn={page.spacetime.clone()} on={on.clone()} />
                            <Waterfall recent={page.recent.clone()} picked={page.request} bars={page.waterfall.clone()}
                                names={page.names.clone()} on={on.clone()} />
                        }
                    </section>
                    if !page.embed {
                        <SweepPanel view={page.sweep.view.clone()} on={on.clone()} />
                    }
                    if lower_views {
                        <EventLog lines={page.log.clone()} names={page.names.clone()} kinds={page.log_kinds}
                            node={page.log_node} trace={page.log_trace} trace_bad={page.log_trace_bad.clone()} on={on.clone()} />
                    }
                    <Stats rows={page.stats.clone()} hidden={page.hides("numbers")} />
                </main>
                </div>
            </div>
        }
    }
}
