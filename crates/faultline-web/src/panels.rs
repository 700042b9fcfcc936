//! The panels below the canvas: sharing, saving and exporting, the charts, the numbers.

use std::rc::Rc;

use faultline_core::share::MAX_NOTE_CHARS;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::charts::Chart;
use crate::derive::StatRow;
use crate::state::{Action, ExportKind, HIDEABLE, file_stem};

/// The share panel's properties.
#[derive(Properties, PartialEq)]
pub struct ShareProps {
    /// The link "Copy link" made last.
    pub copied: Option<String>,
    /// Parts a classroom link hides.
    pub hidden: Vec<String>,
    /// The teacher's note links carry.
    pub note: String,
    /// Opened from a classroom link: its hidden parts cannot be shown again here.
    pub locked: bool,
    /// Why the open lesson step cannot be solved with what is hidden, if so.
    pub unsolvable: Option<String>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// Copy a link to this moment; a classroom link that hides parts of the page.
#[function_component(Share)]
pub fn share(props: &ShareProps) -> Html {
    let on = &props.on;
    let boxes = HIDEABLE.iter().map(|(name, label)| {
        let name: &'static str = name;
        let onchange = on.reform(move |e: Event| {
            Action::Hide(name, e.target_unchecked_into::<HtmlInputElement>().checked())
        });
        let checked = props.hidden.iter().any(|h| h == name);
        html! {
            <label><input type="checkbox" class="hide-part" data-part={name} {checked} {onchange} />{ format!(" {label}") }</label>
        }
    });
    html! {
        <section class="share" aria-label="Share">
            <button id="copy-link" onclick={on.reform(|_| Action::CopyLink)}
                    title="A link to this run at this moment: the scenario, the seed, your changes">{"Copy link"}</button>
            if let Some(url) = &props.copied {
                <input id="share-link" type="text" readonly=true value={url.clone()} aria-label="The link to this moment"
                       onfocus={Callback::from(|e: FocusEvent| e.target_unchecked_into::<HtmlInputElement>().select())} />
                <span class="hint" role="status">{"Copied. Whoever opens it sees this run, paused at this moment."}</span>
            }
            if props.locked {
                <p class="hint" id="classroom-locked">{"This classroom link hides parts of the page; links you copy hide them too."}</p>
            } else {
                <details id="classroom">
                    <summary>{"Classroom link: hide parts, add a note"}</summary>
                    <p class="hint">{"Tick what your class should not see, write a note if you like, then copy the link."}</p>
                    <div class="hide-parts">{ for boxes }</div>
                    if let Some(why) = &props.unsolvable {
                        <p class="warn" id="classroom-warning" role="status">{ why.clone() }</p>
                    }
                    <label class="note-edit">{"Note for your class "}
                        <textarea id="teacher-note" rows="2" maxlength={MAX_NOTE_CHARS.to_string()} value={props.note.clone()}
                            placeholder="e.g. Before you press play: how many charges will the customer see?"
                            oninput={on.reform(|e: InputEvent| Action::Note(e.target_unchecked_into::<HtmlTextAreaElement>().value()))} />
                    </label>
                </details>
            }
        </section>
    }
}

/// The export panel's properties.
#[derive(Properties, PartialEq)]
pub struct ExportProps {
    /// The scenario with the learner's changes, as JSON; `None` while playing.
    pub json: Option<Rc<str>>,
    /// Embedded: hidden.
    pub hidden: bool,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// Save the scenario, open one, export the trace.
#[function_component(Export)]
pub fn export(props: &ExportProps) -> Html {
    let on = &props.on;
    let on_file = on.clone();
    let onchange = Callback::from(move |e: Event| {
        crate::browser::read_file(e.target_unchecked_into(), on_file.clone());
    });
    html! {
        <details class="export" hidden={props.hidden}>
            <summary>{"Save, open and export"}</summary>
            <div class="export-actions">
                <button id="export-scenario" onclick={on.reform(|_| Action::Export(ExportKind::Scenario))}>{"Download scenario (JSON)"}</button>
                <label class="upload">{"Open a scenario file "}
                    <input id="import-scenario" type="file" accept=".json,application/json" {onchange} />
                </label>
                <button id="export-jsonl" onclick={on.reform(|_| Action::Export(ExportKind::TraceJsonl))}
                        title="Every event up to now, one JSON object per line, as the faultline command writes">{"Trace (JSON Lines)"}</button>
                <button id="export-chrome" onclick={on.reform(|_| Action::Export(ExportKind::TraceChrome))}
                        title="Opens in ui.perfetto.dev or chrome://tracing: one track per node">{"Trace for Perfetto"}</button>
                <button id="export-spans" onclick={on.reform(|_| Action::Export(ExportKind::Spans))}
                        title="Each request, its attempts and the server's work as spans, in OpenTelemetry's OTLP/JSON shape">{"Spans (OpenTelemetry)"}</button>
            </div>
            <p class="hint">{"The scenario with your changes, as the faultline command reads it:"}</p>
            if let Some(json) = &props.json {
                <textarea id="scenario-json" readonly=true rows="12" aria-label="The scenario with your changes, as JSON"
                          value={json.to_string()} />
            } else {
                <p class="hint">{"Pause to see the scenario with your changes."}</p>
            }
        </details>
    }
}

/// The charts' properties.
#[derive(Properties, PartialEq)]
pub struct ChartsProps {
    /// The charts.
    pub charts: Rc<Vec<Chart>>,
    /// Hidden by a classroom link.
    pub hidden: bool,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The charts, each with its SVG and PNG buttons.
#[function_component(Charts)]
pub fn charts(props: &ChartsProps) -> Html {
    let on = &props.on;
    html! {
        <section class="charts" aria-label="Charts" hidden={props.hidden} data-panel="charts">
            { for props.charts.iter().map(|c| {
                let svg: Rc<str> = Rc::from(c.svg.as_str());
                html! {
                    <figure class="chart">
                        <figcaption>{ &c.title }{ crate::views::save_buttons(&file_stem(&c.title), &format!("chart {}", c.title), &svg, on) }</figcaption>
                        { Html::from_html_unchecked(AttrValue::from(c.svg.clone())) }
                    </figure>
                }
            }) }
        </section>
    }
}

/// The numbers' properties.
#[derive(Properties, PartialEq)]
pub struct StatsProps {
    /// One row per node.
    pub rows: Rc<Vec<StatRow>>,
    /// Hidden by a classroom link.
    pub hidden: bool,
}

/// Requests completed, by node.
#[function_component(Stats)]
pub fn stats(props: &StatsProps) -> Html {
    html! {
        <table class="stats" hidden={props.hidden} data-panel="stats">
            <caption>{"Requests completed, by node"}</caption>
            <thead><tr><th scope="col">{"node"}</th><th scope="col">{"model"}</th><th scope="col">{"ok"}</th><th scope="col">{"failed"}</th><th scope="col">{"p50"}</th><th scope="col">{"p99"}</th></tr></thead>
            <tbody>
                { for props.rows.iter().map(|r| html! {
                    <tr>
                        <th scope="row">{ &r.name }</th>
                        <td>{ r.kind }</td>
                        <td>{ r.ok }</td>
                        <td>{ r.failed }</td>
                        <td>{ &r.p50 }</td>
                        <td>{ &r.p99 }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

/// The key chart's properties.
#[derive(Properties, PartialEq)]
pub struct KeyChartProps {
    /// The chart, if there is one.
    pub chart: Option<Rc<Chart>>,
}

/// The chart that matters for the scenario, beside the canvas (the full set is below).
#[function_component(KeyChart)]
pub fn key_chart(props: &KeyChartProps) -> Html {
    let Some(c) = &props.chart else {
        return html! {};
    };
    html! {
        <figure class="key-chart" id="key-chart">
            <figcaption>{ &c.title }</figcaption>
            { Html::from_html_unchecked(AttrValue::from(c.svg.clone())) }
        </figure>
    }
}
