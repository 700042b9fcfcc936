//! The inspector: inside the selected node, its acts (crash, pause, isolate), its settings, its
//! links, and in the sandbox the controls that change the system.

use std::rc::Rc;

use faultline_core::world::Liveness;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::action::{Action, NodeAct};
use crate::controls::{self, Kind};
use crate::derive::{BuildRow, InspectorModel, LinkRow, ParamValue};

/// The inspector's properties.
#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    /// The selected node's content, or none selected.
    pub model: Option<Rc<InspectorModel>>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The inspector, or a hint when no node is selected.
#[function_component(Inspector)]
pub fn inspector(props: &InspectorProps) -> Html {
    let Some(m) = &props.model else {
        return html! { <p class="hint">{"Select a node to see inside it and turn its knobs. Click a link to cut it."}</p> };
    };
    let on = &props.on;
    let id = m.id;
    let act = |label: &'static str, a: NodeAct, enabled: bool| {
        let onclick = on.reform(move |_| Action::Node(id, a));
        html! { <button class="act" data-act={label.to_lowercase()} disabled={!enabled} {onclick}>{ label }</button> }
    };
    let rows = m
        .rows
        .iter()
        .map(|(k, v)| html! { <><dt>{ k }</dt><dd>{ v }</dd></> });
    let close = on.reform(|_| Action::Select(None));
    html! {
        <section class="inspector" aria-label={format!("Inspector: {}", m.name)}>
            <h3>{ &m.name }<span class="kind">{ m.kind }</span><button class="close" aria-label="Close the inspector" onclick={close}>{"×"}</button></h3>
            <p class="state">{ &m.state }</p>
            <div class="actions" hidden={m.hide_actions}>
                { act("Crash", NodeAct::Crash, m.live != Liveness::Crashed) }
                { act("Restart", NodeAct::Restart, m.live == Liveness::Crashed) }
                { act("Pause", NodeAct::Pause, m.live == Liveness::Up) }
                { act("Resume", NodeAct::Resume, m.live == Liveness::Paused) }
                { act("Isolate", NodeAct::Isolate, true) }
                { act("Rejoin", NodeAct::Rejoin, m.has_cut) }
            </div>
            <dl>{ for rows }</dl>
            <div class="params" hidden={m.hide_settings}>
                { for m.params.iter().map(|p| param(m, p, on)) }
                { for m.links.iter().map(|l| link_params(l, on)) }
            </div>
            if let Some(b) = &m.build {
                { build(m, b, on) }
            }
        </section>
    }
}

/// One setting's editor: a slider, a switch, a preset or a choice.
fn param(m: &InspectorModel, pv: &ParamValue, on: &Callback<Action>) -> Html {
    let (id, p, value) = (m.id, pv.param, &pv.value);
    let path = p.path;
    let input_id = format!("param-{}", path.replace('.', "-"));
    let editor = match p.kind {
        Kind::Number | Kind::Optional => {
            let v = value.as_f64();
            let on_input = on.clone();
            let oninput = Callback::from(move |e: InputEvent| {
                let el: HtmlInputElement = e.target_unchecked_into();
                if let Ok(v) = el.value().parse::<f64>() {
                    on_input.emit(Action::Set(id, path, controls::number(&p, v)));
                }
            });
            let shown = v.map_or("none".to_string(), |v| {
                if p.step >= 1.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v}")
                }
            });
            let off = p.kind == Kind::Optional && v.is_none();
            let toggle = (p.kind == Kind::Optional).then(|| {
                let onchange = on.reform(move |e: Event| {
                    let el: HtmlInputElement = e.target_unchecked_into();
                    // Turned on, a setting starts from a middling value within its range.
                    let start = controls::number(&p, 1000.0_f64.clamp(p.min, p.max));
                    Action::Set(
                        id,
                        path,
                        if el.checked() {
                            start
                        } else {
                            serde_json::Value::Null
                        },
                    )
                });
                html! { <label class="opt"><input type="checkbox" checked={!off} {onchange} />{" on"}</label> }
            });
            html! {
                <>
                    <input id={input_id.clone()} type="range" min={p.min.to_string()} max={p.max.to_string()} step={p.step.to_string()}
                           value={v.unwrap_or(p.min).to_string()} disabled={off} {oninput} />
                    <output for={input_id.clone()}>{ format!("{shown} {}", if v.is_some() { p.unit } else { "" }) }</output>
                    { for toggle }
                </>
            }
        }
        Kind::Bool => {
            let onchange = on.reform(move |e: Event| {
                let el: HtmlInputElement = e.target_unchecked_into();
                Action::Set(id, path, serde_json::json!(el.checked()))
            });
            html! { <input id={input_id.clone()} type="checkbox" checked={value.as_bool().unwrap_or(false)} {onchange} /> }
        }
        Kind::Preset(presets) => {
            let on_pick = on.clone();
            let onchange = Callback::from(move |e: Event| {
                let el: HtmlSelectElement = e.target_unchecked_into();
                let v = match el.value().parse::<usize>() {
                    Ok(i) => presets.get(i).and_then(|p| serde_json::from_str(p.1).ok()),
                    Err(_) if el.value() == "off" => Some(serde_json::Value::Null),
                    Err(_) => None, // "custom": nothing to set
                };
                if let Some(v) = v {
                    on_pick.emit(Action::Set(id, path, v));
                }
            });
            let cur = controls::preset_of(presets, value);
            html! {
                <select id={input_id.clone()} {onchange}>
                    <option value="off" selected={cur == Some(None)}>{"off"}</option>
                    { for presets.iter().enumerate().map(|(i, (label, _))| html! {
                        <option value={i.to_string()} selected={cur == Some(Some(i))}>{ *label }</option>
                    }) }
                    if cur.is_none() {
                        <option value="custom" selected=true>{"custom (from the scenario)"}</option>
                    }
                </select>
            }
        }
        Kind::Choice(choices) => {
            let onchange = on.reform(move |e: Event| {
                let el: HtmlSelectElement = e.target_unchecked_into();
                Action::Set(id, path, serde_json::json!(el.value()))
            });
            let cur = value.as_str().unwrap_or_default().to_string();
            html! {
                <select id={input_id.clone()} {onchange}>
                    { for choices.iter().map(|c| html! { <option value={*c} selected={cur == *c}>{ c.replace('_', " ") }</option> }) }
                </select>
            }
        }
    };
    html! { <div class="param"><label for={input_id}>{ p.label }</label>{ editor }</div> }
}

/// A link's loss and bandwidth (the fallacy "bandwidth is infinite"), both ways.
fn link_params(l: &LinkRow, on: &Callback<Action>) -> Html {
    let (a, b) = (l.a, l.b);
    let (loss, loss_back) = (f64::from(l.loss_ppm.0) / 1e6, f64::from(l.loss_ppm.1) / 1e6);
    let same_loss = l.loss_ppm.0 == l.loss_ppm.1;
    let loss_text = if same_loss {
        format!("{:.0} %", loss * 100.0)
    } else {
        format!("{:.0} % out, {:.0} % in", loss * 100.0, loss_back * 100.0)
    };
    let loss_id = format!("link-loss-{}", l.key);
    let bw_id = format!("link-bandwidth-{}", l.key);
    let on_loss_cb = on.clone();
    let on_loss = Callback::from(move |e: InputEvent| {
        let el: HtmlInputElement = e.target_unchecked_into();
        if let Ok(v) = el.value().parse::<f64>() {
            on_loss_cb.emit(Action::SetLink(a, b, "loss", serde_json::json!(v)));
        }
    });
    let (bw, bw_back) = l.bandwidth;
    let bw_words =
        |b: Option<u32>| b.map_or("unlimited".to_string(), |b| format!("{b} messages/s"));
    let bw_text = if bw == bw_back {
        bw_words(bw)
    } else {
        format!("{} out, {} in", bw_words(bw), bw_words(bw_back))
    };
    let on_bw_cb = on.clone();
    let on_bw = Callback::from(move |e: InputEvent| {
        let el: HtmlInputElement = e.target_unchecked_into();
        if let Ok(v) = el.value().parse::<u32>() {
            on_bw_cb.emit(Action::SetLink(
                a,
                b,
                "bandwidth_per_s",
                serde_json::json!(v),
            ));
        }
    });
    let on_limit = on.reform(move |e: Event| {
        let el: HtmlInputElement = e.target_unchecked_into();
        let v = if el.checked() {
            serde_json::json!(100)
        } else {
            serde_json::Value::Null
        };
        Action::SetLink(a, b, "bandwidth_per_s", v)
    });
    html! {
        <fieldset class="link-params">
            <legend>{ format!("Link to {}", l.other) }</legend>
            <div class="param">
                <label for={loss_id.clone()}>{ if same_loss { "Loss" } else { "Loss (the slider sets both ways)" } }</label>
                <input id={loss_id.clone()} type="range" min="0" max="0.5" step="0.01" value={loss.to_string()} oninput={on_loss} />
                <output for={loss_id}>{ loss_text }</output>
            </div>
            <div class="param">
                <label for={bw_id.clone()}>{"Bandwidth"}</label>
                <input id={bw_id.clone()} type="range" min="1" max="1000" step="1" value={bw.unwrap_or(1000).to_string()} disabled={bw.is_none()} oninput={on_bw} />
                <output for={bw_id}>{ bw_text }</output>
                <label class="opt"><input type="checkbox" checked={bw.is_some()} onchange={on_limit} />{" limit"}</label>
            </div>
        </fieldset>
    }
}

/// Sandbox controls for the selected node: link it, unlink it, remove it.
fn build(m: &InspectorModel, b: &BuildRow, on: &Callback<Action>) -> Html {
    let id = m.id;
    let pick = |label: &'static str,
                sel_id: &'static str,
                list: &[String],
                make: fn(faultline_core::NodeId, String) -> Action| {
        let on = on.clone();
        let onchange = Callback::from(move |e: Event| {
            let el: HtmlSelectElement = e.target_unchecked_into();
            let v = el.value();
            if !v.is_empty() {
                on.emit(make(id, v));
            }
        });
        html! {
            <label class="build-pick">{ label }
                <select id={sel_id} disabled={list.is_empty()} {onchange}>
                    <option value="" selected=true>{"…"}</option>
                    { for list.iter().map(|n| html! { <option value={n.clone()}>{ n.clone() }</option> }) }
                </select>
            </label>
        }
    };
    let remove = on.reform(move |_| Action::RemoveNode(id));
    html! {
        <div class="build" aria-label="Change the system">
            { pick("Link to ", "link-to", &b.can_link, Action::AddLink) }
            { pick("Unlink ", "unlink", &b.can_unlink, Action::RemoveLink) }
            <button id="remove-node" class="act" onclick={remove}>{ format!("Remove {}", m.name) }</button>
        </div>
    }
}
