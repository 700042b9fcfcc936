//! The page's bars: the header, the scenario's title with its templates and sandbox buttons,
//! and the time controls with the time line.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::action::Action;
use crate::moments_view::{MomentMarks, StateBands};
use crate::session::SPEEDS;
use crate::templates::{TEMPLATE_GROUPS, template_titles};

/// The header's properties.
#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    /// Show the Lessons button.
    pub lessons: bool,
    /// The lesson list is open.
    pub list_open: bool,
    /// No lesson open and none begun: offer the first one as the clear first action.
    pub first_visit: bool,
    /// The menu of scenario and time options is open.
    #[prop_or_default]
    pub menu: bool,
    /// The scenario bar is on the page (not in a lesson), so the menu holds its controls too.
    #[prop_or_default]
    pub scenario_bar: bool,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The title, the tagline and the Lessons button.
#[function_component(Header)]
pub fn header(props: &HeaderProps) -> Html {
    let open = props.list_open;
    let menu = props.menu;
    html! {
        <header>
            <h1>{"Faultline"}</h1>
            <p class="tagline">{"Learn distributed systems by breaking them."}</p>
            if props.lessons && props.first_visit {
                <button id="start-lesson" onclick={props.on.reform(|_| Action::OpenStep(0, 0))}>{"Start lesson 1"}</button>
            }
            if props.lessons {
                <button id="lessons-button" aria-expanded={open.to_string()} aria-controls="lesson-list"
                        onclick={props.on.reform(move |_| Action::LessonList(!open))}>{"Lessons"}</button>
            }
            // Shown on a phone only (web/style.css), where the options wait behind it so the
            // canvas is on the first screen.
            <button id="menu-button" class="menu-button" aria-expanded={menu.to_string()}
                    aria-controls={if props.scenario_bar { "scenario-controls time-options" } else { "time-options" }}
                    onclick={props.on.reform(move |_| Action::Menu(!menu))}>
                { if menu { "Close options" } else { "Options" } }
            </button>
        </header>
    }
}

/// The scenario bar's properties.
#[derive(Properties, PartialEq)]
pub struct ScenarioBarProps {
    /// The scenario's title.
    pub title: AttrValue,
    /// Its description.
    pub description: AttrValue,
    /// Hide the template picker.
    pub hide_templates: bool,
    /// Embedded: no sandbox.
    pub embed: bool,
    /// The title of the template on its way, if one is.
    #[prop_or_default]
    pub loading: Option<&'static str>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The scenario's title and description, the template picker and the sandbox's add buttons.
#[function_component(ScenarioBar)]
pub fn scenario_bar(props: &ScenarioBarProps) -> Html {
    let on = &props.on;
    let on_template = on.clone();
    let onchange = Callback::from(move |e: Event| {
        let el: HtmlSelectElement = e.target_unchecked_into();
        if let Ok(i) = el.value().parse::<usize>() {
            on_template.emit(Action::Template(i));
        }
        // The picker is an action, not a state: it goes back to "a template…", so that picking
        // the same template again (after a failed fetch, or to start it over) is a change too.
        // The scenario's title above says what is open.
        el.set_value("");
    });
    html! {
        <section class="scenario" aria-labelledby="scenario-title">
            <h2 id="scenario-title">{ &props.title }</h2>
            <p>{ &props.description }</p>
            <div id="scenario-controls" class="scenario-controls">
            <label class="template" hidden={props.hide_templates || props.embed}>{"Start from "}
                <select id="template" {onchange}>
                    // While a template is fetched, the picker itself says so: where the learner
                    // looks, and nothing around it moves.
                    <option value="" selected=true disabled=true>{
                        match props.loading {
                            Some(title) => format!("Loading \u{201c}{title}\u{201d}\u{2026}"),
                            None => "a template\u{2026}".to_string(),
                        }
                    }</option>
                    { for TEMPLATE_GROUPS.iter().map(|(topic, members)| html! {
                        <optgroup label={*topic}>
                            { for members.iter().map(|&i| html! {
                                <option value={i.to_string()}>{ template_titles().get(i).copied().unwrap_or_default() }</option>
                            }) }
                        </optgroup>
                    }) }
                </select>
            </label>
            <span class="add-nodes" hidden={props.embed}>
                { for crate::sandbox::KINDS.iter().map(|k| {
                    let k: &'static str = k;
                    html! { <button id={format!("add-{k}")} class="act" onclick={on.reform(move |_| Action::AddNode(k))}>{ format!("+ {k}") }</button> }
                }) }
            </span>
            </div>
        </section>
    }
}

/// The time controls' properties.
#[derive(Properties, PartialEq)]
pub struct TimeControlsProps {
    /// Time is moving.
    pub playing: bool,
    /// Virtual time per wall time.
    pub speed: f64,
    /// The run's seed.
    pub seed: u64,
    /// Reduce motion.
    pub still: bool,
    /// Hide the seed (a classroom link).
    pub hide_seed: bool,
    /// Embedded: no compare mode.
    pub embed: bool,
    /// Compare mode is on.
    pub comparing: bool,
    /// The playhead, virtual microseconds.
    pub now_us: u64,
    /// The end of the run, virtual microseconds.
    pub end_us: u64,
    /// The trace's hash at the playhead (for the tests and for people comparing runs).
    pub trace_hash: u64,
    /// Messages in flight.
    pub in_flight: usize,
    /// The moments marked under the time line.
    #[prop_or_default]
    pub moments: std::rc::Rc<Vec<crate::moments::Moment>>,
    /// The breakers' state bands under the time line.
    #[prop_or_default]
    pub bands: std::rc::Rc<Vec<crate::moments::Band>>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// Play, step, speed, reset, reduce motion, seed, compare; and the time line.
#[function_component(TimeControls)]
pub fn time_controls(props: &TimeControlsProps) -> Html {
    let on = &props.on;
    let on_seek_cb = on.clone();
    let on_seek = Callback::from(move |e: InputEvent| {
        let el: HtmlInputElement = e.target_unchecked_into();
        if let Ok(ms) = el.value().parse::<u64>() {
            on_seek_cb.emit(Action::Seek(ms.saturating_mul(1000)));
        }
    });
    let on_speed_cb = on.clone();
    let on_speed = Callback::from(move |e: Event| {
        let el: HtmlSelectElement = e.target_unchecked_into();
        if let Ok(v) = el.value().parse::<f64>() {
            on_speed_cb.emit(Action::Speed(v));
        }
    });
    let on_seed = on.reform(|e: Event| {
        let el: HtmlInputElement = e.target_unchecked_into();
        Action::Seed(el.value())
    });
    let now = props.now_us;
    html! {
        <div class="time-controls">
            <div class="toolbar" role="toolbar" aria-label="Time controls">
                <button id="play-pause" aria-pressed={props.playing.to_string()} onclick={on.reform(|_| Action::Toggle)}>
                    { if props.playing { "Pause" } else { "Play" } }
                </button>
                <span id="time-options" class="time-options">
                <button id="step" onclick={on.reform(|_| Action::Step)} title="Handle exactly one event">{"Step"}</button>
                <label class="speed">{"Speed "}
                    <select id="speed" onchange={on_speed}>
                        { for SPEEDS.iter().map(|v| html! { <option value={v.to_string()} selected={*v == props.speed}>{ format!("{v}×") }</option> }) }
                    </select>
                </label>
                <button id="reset" onclick={on.reform(|_| Action::Reset)} title="Start again from zero, without your changes">{"Reset"}</button>
                <label class="still">
                    <input id="reduce-motion" type="checkbox" checked={props.still}
                           onchange={on.reform(|e: Event| Action::Still(e.target_unchecked_into::<HtmlInputElement>().checked()))} />
                    {" Reduce motion"}
                </label>
                <label class="seed" hidden={props.hide_seed}>{"Seed "}
                    <input id="seed" type="text" inputmode="numeric" size="8" value={props.seed.to_string()} onchange={on_seed} />
                </label>
                if !props.embed {
                    <button id="compare-toggle" aria-pressed={props.comparing.to_string()} onclick={on.reform(|_| Action::CompareToggle)}
                            title="Run a copy of this run beside it with one setting changed">{"Compare"}</button>
                }
                </span>
            </div>
            <div class="timeline">
                <div class="timeline-track">
                    <input id="timeline" type="range" min="0" max={(props.end_us / 1000).to_string()} step="10" value={(now / 1000).to_string()}
                           aria-label="Time line" aria-valuetext={faultline_core::fmt_time(now)} oninput={on_seek} />
                    <StateBands bands={props.bands.clone()} now_us={now} end_us={props.end_us} />
                    <MomentMarks moments={props.moments.clone()} end_us={props.end_us} on={on.clone()} />
                </div>
                <output id="sim-time" data-time-us={now.to_string()} data-trace-hash={format!("{:016x}", props.trace_hash)} aria-label="Simulated time">
                    { format!("t = {}", faultline_core::fmt_time(now)) }
                </output>
                <span class="in-flight">{ format!("{} in flight", props.in_flight) }</span>
            </div>
        </div>
    }
}
