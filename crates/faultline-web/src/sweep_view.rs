//! The Sweep panel: run the scenario on screen over seeds 1 to N, see the distribution of a
//! figure as a histogram and the share of seeds where each invariant broke, and open a failing
//! seed at its first violation. The state is `sweep_state.rs`'s.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::action::Action;
use crate::sweep_state::{MAX_SEEDS, SweepAct, SweepView};

/// The panel's properties.
#[derive(Properties, PartialEq)]
pub struct SweepProps {
    /// What to draw.
    pub view: Rc<SweepView>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// The histogram: one button per bar, which opens the bar's first seed at its end.
fn bars(v: &SweepView, on: &Callback<Action>) -> Html {
    let most = v.bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let figure = v
        .summary
        .as_ref()
        .map(|s| s.figure.clone())
        .unwrap_or_default();
    let items = v.bins.iter().map(|b| {
        let height = format!(
            "height: {}%",
            (b.count * 100 / most).max(if b.count > 0 { 3 } else { 0 })
        );
        let label = format!(
            "{} seeds with {figure} from {} to {}{}",
            b.count,
            num(b.lo),
            num(b.hi),
            b.first_seed
                .map_or(String::new(), |s| format!(": open seed {s}"))
        );
        let onclick = b
            .first_seed
            .map(|s| on.reform(move |_| Action::Sweep(SweepAct::Open(s, u64::MAX))));
        html! {
            <button class="sweep-bar" style={height} title={label.clone()} aria-label={label}
                disabled={onclick.is_none()} onclick={onclick.unwrap_or_default()}>
                <span class="visually-hidden">{ b.count }</span>
            </button>
        }
    });
    html! {
        <div class="sweep-hist" role="group" aria-label={format!("Histogram of {figure} over the seeds")}>
            { for items }
        </div>
    }
}

/// The Sweep panel.
#[function_component(SweepPanel)]
pub fn sweep_panel(props: &SweepProps) -> Html {
    let (v, on) = (&props.view, &props.on);
    let seeds_input = on.reform(|e: InputEvent| {
        let t = e.target_unchecked_into::<HtmlInputElement>().value();
        Action::Sweep(SweepAct::Seeds(t))
    });
    let figure_input = on.reform(|e: InputEvent| {
        let t = e.target_unchecked_into::<HtmlInputElement>().value();
        Action::Sweep(SweepAct::Figure(t))
    });
    let chaos = v.chaos;
    let toggle_chaos = on.reform(move |_| Action::Sweep(SweepAct::Chaos(!chaos)));
    let options = v
        .suggestions
        .iter()
        .map(|s| html! { <option value={s.clone()} /> });
    let stats = v.summary.as_ref().map(|s| match &s.stats {
        Some(st) => html! {
            <p id="sweep-stats">{ format!(
                "{} over {} seeds: min {}, p50 {}, p90 {}, p99 {}, max {}, mean {}",
                s.figure, st.count, num(st.min), num(st.p50), num(st.p90), num(st.p99), num(st.max), num(st.mean)
            ) }</p>
        },
        None => html! { <p id="sweep-stats">{ format!("{}: no seed had a value", s.figure) }</p> },
    });
    let props_list = v.summary.as_ref().map(|s| {
        let rows = s.properties.iter().map(|p| {
            let who = p.property.node.as_ref().map_or(String::new(), |n| format!(" ({n})"));
            let seeds = p.failing.iter().take(12).map(|f| {
                let at_us = (f.at_ms * 1000.0).round() as u64;
                let label = format!("Open seed {} at t = {:.3} s, when {} broke", f.seed, f.at_ms / 1000.0, p.property.name);
                let seed = f.seed;
                let onclick = on.reform(move |_| Action::Sweep(SweepAct::Open(seed, at_us)));
                html! { <button class="link-button sweep-seed" data-seed={f.seed.to_string()} aria-label={label} {onclick}>{ format!("seed {}", f.seed) }</button> }
            });
            html! {
                <li class={classes!("sweep-prop", (p.broken > 0).then_some("violated"))} data-name={p.property.name.clone()}
                    data-broken={p.broken.to_string()}>
                    <span>{ format!("{}{who}: ", p.property.name) }</span>
                    if p.broken == 0 {
                        <strong>{ format!("held in all {} seeds", s.seeds) }</strong>
                    } else {
                        <strong>{ format!("broke in {} of {} seeds ({:.1} %)", p.broken, s.seeds, p.share * 100.0) }</strong>
                        {" "}{ for seeds }
                    }
                </li>
            }
        });
        html! {
            if s.properties.is_empty() {
                <p class="hint">{"No node here checks an invariant."}</p>
            } else {
                <ul id="sweep-props">{ for rows }</ul>
            }
        }
    });
    let start = on.reform(|_| Action::Sweep(SweepAct::Start));
    let cancel = on.reform(|_| Action::Sweep(SweepAct::Cancel));
    let copy = on.reform(|_| Action::Sweep(SweepAct::CopyLink));
    // Where the seeds run, for people (the note below) and for the tests.
    let runner = if v.on_thread.is_some() {
        "page"
    } else {
        "worker"
    };
    html! {
        <section class="sweep" aria-labelledby="sweep-title" data-runner={runner}>
            <h3 id="sweep-title">{"Sweep seeds"}</h3>
            <p class="hint">{ "Run this scenario, with your changes, over many seeds: a rare failure shows up in a few of them, and each one replays exactly." }</p>
            <div class="sweep-form">
                <label>{ format!("Seeds (1 to {MAX_SEEDS}) ") }
                    <input id="sweep-seeds" type="number" min="1" max={MAX_SEEDS.to_string()} placeholder="100"
                        value={v.seeds_text.clone()} oninput={seeds_input} />
                </label>
                <label>{"Figure "}
                    <input id="sweep-figure" list="sweep-figures" placeholder="the first client's p99" size="24"
                        value={v.figure_text.clone()} oninput={figure_input} />
                </label>
                <datalist id="sweep-figures">{ for options }</datalist>
                <label class="sweep-chaos">
                    <input id="sweep-chaos" type="checkbox" checked={v.chaos} onchange={toggle_chaos} />
                    {" Chaos: random crashes and cuts, drawn from each seed"}
                </label>
                if v.running.is_some() {
                    <button id="sweep-cancel" onclick={cancel}>{"Cancel"}</button>
                } else {
                    <button id="sweep-run" onclick={start}>{"Run sweep"}</button>
                }
            </div>
            if let Some((done, all)) = v.running {
                <p role="status">
                    <progress id="sweep-progress" aria-label="Seeds swept" max={all.to_string()} value={done.to_string()} />
                    { format!(" {done} of {all} seeds") }
                </p>
            }
            if let Some(note) = &v.on_thread {
                <p class="hint" id="sweep-on-thread" role="status">{ note.clone() }</p>
            }
            if v.cancelled {
                <p class="hint" role="status">{ format!("Cancelled: the numbers below are the first {} seeds'.",
                    v.summary.as_ref().map_or(0, |s| s.seeds)) }</p>
            }
            if let Some(e) = &v.error {
                <p class="error-text" role="alert">{ e.clone() }</p>
            }
            if v.summary.is_some() {
                <p class="sweep-share">
                    <button id="sweep-copy-link" onclick={copy}>{"Copy sweep link"}</button>
                    { " Opens this scenario with these seeds and figure, and runs the sweep." }
                    if let Some(url) = &v.link {
                        <input id="sweep-link" type="text" readonly=true aria-label="The sweep's link" value={url.clone()} />
                    }
                </p>
            }
            if let Some(s) = &v.summary {
                <p class="hint" id="sweep-cli">{ format!("The same numbers: faultline sweep SCENARIO.json --seeds 1..{} --figure {}",
                    s.seed_range.map_or(0, |r| r.1), s.figure) }</p>
            }
            { for stats }
            if !v.bins.is_empty() { { bars(v, on) } }
            { for props_list }
        </section>
    }
}
