//! The page's views of a run beyond the canvas: the invariants and their verdicts, the
//! space-time diagram of messages, and the waterfall of one request's spans.

use std::rc::Rc;

use faultline_core::fmt_time;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::action::Action;
use crate::verdicts::Row;
use crate::waterfall::Bar;

/// "holds", "VIOLATED", "unknown".
fn answer(holds: Option<bool>) -> (&'static str, &'static str) {
    match holds {
        Some(true) => ("holds", "holds"),
        Some(false) => ("VIOLATED", "violated"),
        None => ("unknown", "unknown"),
    }
}

/// The invariants panel's properties.
#[derive(Properties, PartialEq)]
pub struct VerdictsProps {
    /// The rows.
    pub rows: Rc<Vec<Row>>,
    /// Node names.
    pub names: Rc<[String]>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The invariants panel: the latest verdict per node and property, each with a jump to the
/// moment it took that answer.
#[function_component(Verdicts)]
pub fn verdicts(props: &VerdictsProps) -> Html {
    let (rows, names, on) = (&props.rows, &props.names, &props.on);
    let items = rows.iter().map(|r| {
        let node = names.get(r.node.index()).cloned().unwrap_or_default();
        let (word, class) = answer(r.holds);
        let at = r.since_us.map(fmt_time);
        let jump = r.since_us.map(|t| {
            let onclick = on.reform(move |_| Action::Seek(t));
            let label = format!("Jump to t = {}, when {} on {node} became {}", fmt_time(t), r.name, word.to_lowercase());
            html! { <button class="jump link-button" aria-label={label} {onclick}>{"Jump"}</button> }
        });
        html! {
            <li class={classes!("verdict", class)} data-name={r.name.clone()} data-holds={class}>
                <span class="verdict-name">{
                    // A property of the whole run is one row, whichever node reported it last.
                    if faultline_core::models::run_wide_verdict(&r.name) {
                        format!("{} (whole run, reported by {node})", r.name)
                    } else {
                        format!("{node}: {}", r.name)
                    }
                }</span>{": "}
                <strong class="verdict-answer">{ word }</strong>
                if !r.detail.is_empty() { <span class="verdict-detail">{ format!(" ({})", r.detail) }</span> }
                if let Some(at) = at { <span class="verdict-at">{ format!(" at t = {at}") }</span> }
                {" "}{ for jump }
            </li>
        }
    });
    html! {
        <section class="verdicts" aria-labelledby="verdicts-title">
            <h3 id="verdicts-title">{"Invariants"}</h3>
            if rows.is_empty() {
                <p class="hint">{"No node here checks an invariant yet."}</p>
            } else {
                <ul id="verdict-list" aria-labelledby="verdicts-title">{ for items }</ul>
            }
        </section>
    }
}

/// Offers an SVG as a download, or as a PNG.
pub fn save_buttons(stem: &str, what: &str, svg: &Rc<str>, on: &Callback<Action>) -> Html {
    let (a, b) = (svg.clone(), svg.clone());
    let (sa, sb) = (stem.to_string(), stem.to_string());
    let save = on.reform(move |_: MouseEvent| Action::SaveSvg(sa.clone(), a.clone(), false));
    let png = on.reform(move |_: MouseEvent| Action::SaveSvg(sb.clone(), b.clone(), true));
    html! {
        <>
            <button class="save-chart link-button" onclick={save} aria-label={format!("Save the {what} as SVG")}>{"SVG"}</button>
            <button class="save-png link-button" onclick={png} aria-label={format!("Save the {what} as PNG")}>{"PNG"}</button>
        </>
    }
}

/// The request a clicked element names (`data-client`, `data-trace`), if any.
pub fn clicked_request(e: &MouseEvent) -> Option<(usize, u64)> {
    let el: web_sys::Element = e.target_unchecked_into();
    let client = el.get_attribute("data-client")?.parse::<usize>().ok()?;
    let trace = el.get_attribute("data-trace")?.parse::<u64>().ok()?;
    Some((client, trace))
}

/// The space-time diagram's properties.
#[derive(Properties, PartialEq)]
pub struct SpacetimeProps {
    /// The SVG text and the number of messages drawn.
    pub drawn: Rc<(String, usize)>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The space-time diagram; a click on a message picks its request for the waterfall.
#[function_component(Spacetime)]
pub fn spacetime(props: &SpacetimeProps) -> Html {
    let (svg, lines) = (&props.drawn.0, props.drawn.1);
    let on = &props.on;
    let on_click = on.clone();
    let onclick = Callback::from(move |e: MouseEvent| {
        if let Some(r) = clicked_request(&e) {
            on_click.emit(Action::PickRequest(Some(r)));
        }
    });
    let shared: Rc<str> = Rc::from(svg.as_str());
    html! {
        <figure class="chart spacetime" id="spacetime">
            <figcaption>{ format!("Recent messages, a lane per node ({lines} drawn); click one to see its request") }
                { save_buttons("space-time", "space-time diagram", &shared, on) }</figcaption>
            <div class="spacetime-body" role="img" aria-label={format!("Space-time diagram: a lane per node, time to the right, {lines} messages")} {onclick}>
                { Html::from_html_unchecked(AttrValue::from(svg.to_string())) }
            </div>
        </figure>
    }
}

/// The waterfall's properties.
#[derive(Properties, PartialEq)]
pub struct WaterfallProps {
    /// Recent requests to pick from.
    pub recent: Rc<Vec<(usize, u64)>>,
    /// The picked one.
    pub picked: Option<(usize, u64)>,
    /// Its spans, or why there are none.
    pub bars: Rc<Result<Vec<Bar>, String>>,
    /// Node names.
    pub names: Rc<[String]>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The waterfall of the picked request, with a picker of recent requests.
#[function_component(Waterfall)]
pub fn waterfall(props: &WaterfallProps) -> Html {
    let (recent, picked, bars, names) = (&props.recent, props.picked, &*props.bars, &props.names);
    let value = |(c, t): (usize, u64)| format!("{c}:{t}");
    let onchange = props.on.reform(|e: Event| {
        let el: HtmlSelectElement = e.target_unchecked_into();
        let v = el.value();
        Action::PickRequest(
            v.split_once(':')
                .and_then(|(c, t)| Some((c.parse().ok()?, t.parse().ok()?))),
        )
    });
    let label =
        |(c, t): (usize, u64)| format!("t{t} from {}", names.get(c).cloned().unwrap_or_default());
    let mut options: Vec<(usize, u64)> = recent.as_ref().clone();
    if let Some(p) = picked
        && !options.contains(&p)
    {
        options.insert(0, p);
    }
    let body = match bars {
        Err(e) => html! { <p class="error-text">{ e.clone() }</p> },
        Ok(b) if b.is_empty() => {
            html! { <p class="hint">{ if picked.is_some() { "No spans for this request yet." } else { "Pick a request, or click a message in the diagram." } }</p> }
        }
        Ok(b) => {
            let t0 = b.iter().map(|x| x.start_us).min().unwrap_or(0);
            let t1 = b.iter().map(|x| x.end_us).max().unwrap_or(t0).max(t0 + 1);
            let span = (t1 - t0) as f64;
            let rows = b.iter().map(|x| {
                let left = (x.start_us - t0) as f64 / span * 100.0;
                let width = ((x.end_us - x.start_us) as f64 / span * 100.0).max(0.5);
                let dur = fmt_time(x.end_us - x.start_us);
                let error = x.error.clone().map(|e| format!(", {e}")).unwrap_or_default();
                html! {
                    <li class={classes!("span", x.error.is_some().then_some("failed"))} style={format!("--depth: {}", x.depth)}>
                        <span class="span-label">{ format!("{} on {}", x.name, x.node) }</span>
                        <span class="span-track"><span class="span-bar" style={format!("left: {left:.2}%; width: {width:.2}%")}></span></span>
                        <span class="span-time">{ format!("{dur} from {}{error}", fmt_time(x.start_us)) }</span>
                    </li>
                }
            });
            html! { <ol id="waterfall-spans" class="waterfall-spans" aria-label="Spans, in start order">{ for rows }</ol> }
        }
    };
    html! {
        <section class="waterfall" aria-labelledby="waterfall-title">
            <h3 id="waterfall-title">{"Request waterfall"}</h3>
            <label>{"Request "}
                <select id="request-pick" {onchange}>
                    <option value="" selected={picked.is_none()}>{"none"}</option>
                    { for options.iter().map(|r| html! { <option value={value(*r)} selected={picked == Some(*r)}>{ label(*r) }</option> }) }
                </select>
            </label>
            { body }
        </section>
    }
}
