//! The page's views of a run beyond the canvas: the invariants and their verdicts, the
//! space-time diagram of messages, and the waterfall of one request's spans.

use faultline_core::fmt_time;
use web_sys::HtmlSelectElement;
use yew::html::Scope;
use yew::prelude::*;

use crate::app::{App, Msg};
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

/// The invariants panel: the latest verdict per node and property, each with a jump to the
/// moment it took that answer.
pub fn verdicts(rows: &[Row], names: &[String], link: &Scope<App>) -> Html {
    let items = rows.iter().map(|r| {
        let node = names.get(r.node.index()).cloned().unwrap_or_default();
        let (word, class) = answer(r.holds);
        let at = r.since_us.map(fmt_time);
        let jump = r.since_us.map(|t| {
            let onclick = link.callback(move |_| Msg::Seek(t));
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
fn save_buttons(stem: &'static str, what: &'static str, svg: &str) -> Html {
    let (a, b) = (svg.to_string(), svg.to_string());
    let save = Callback::from(move |_: MouseEvent| {
        // A failed download leaves the view on the page: nothing to undo.
        let _ = crate::app::download(&format!("{stem}.svg"), "image/svg+xml", &a);
    });
    let png = Callback::from(move |_: MouseEvent| crate::app::save_png(format!("{stem}.png"), &b));
    html! {
        <>
            <button class="save-chart link-button" onclick={save} aria-label={format!("Save the {what} as SVG")}>{"SVG"}</button>
            <button class="save-png link-button" onclick={png} aria-label={format!("Save the {what} as PNG")}>{"PNG"}</button>
        </>
    }
}

/// The space-time diagram; a click on a message picks its request for the waterfall.
pub fn spacetime(svg: &str, lines: usize, link: &Scope<App>) -> Html {
    let onclick = link.batch_callback(|e: MouseEvent| {
        let el: web_sys::Element = e.target_unchecked_into();
        let client = el.get_attribute("data-client")?.parse::<usize>().ok()?;
        let trace = el.get_attribute("data-trace")?.parse::<u64>().ok()?;
        Some(Msg::PickRequest(Some((client, trace))))
    });
    html! {
        <figure class="chart spacetime" id="spacetime">
            <figcaption>{ format!("Recent messages, a lane per node ({lines} drawn); click one to see its request") }
                { save_buttons("space-time", "space-time diagram", svg) }</figcaption>
            <div class="spacetime-body" role="img" aria-label={format!("Space-time diagram: a lane per node, time to the right, {lines} messages")} {onclick}>
                { Html::from_html_unchecked(AttrValue::from(svg.to_string())) }
            </div>
        </figure>
    }
}

/// The waterfall of the picked request, with a picker of recent requests.
pub fn waterfall(
    recent: &[(usize, u64)],
    picked: Option<(usize, u64)>,
    bars: &Result<Vec<Bar>, String>,
    names: &[String],
    link: &Scope<App>,
) -> Html {
    let value = |(c, t): (usize, u64)| format!("{c}:{t}");
    let onchange = link.callback(|e: Event| {
        let el: HtmlSelectElement = e.target_unchecked_into();
        let v = el.value();
        Msg::PickRequest(
            v.split_once(':')
                .and_then(|(c, t)| Some((c.parse().ok()?, t.parse().ok()?))),
        )
    });
    let label =
        |(c, t): (usize, u64)| format!("t{t} from {}", names.get(c).cloned().unwrap_or_default());
    let mut options: Vec<(usize, u64)> = recent.to_vec();
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
