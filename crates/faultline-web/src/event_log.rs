//! The event log: the newest trace events that pass the learner's filters (kind, node, request).

use std::rc::Rc;

use faultline_core::NodeId;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::action::{Action, LogKind, LogLine};

/// The event log's properties.
#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    /// The lines, oldest first.
    pub lines: Rc<Vec<LogLine>>,
    /// Node names.
    pub names: Rc<[String]>,
    /// Which kinds are shown.
    pub kinds: [bool; 3],
    /// Only this node's lines.
    pub node: Option<NodeId>,
    /// Only this request's lines.
    pub trace: Option<u64>,
    /// A trace filter that is not a trace id, as typed.
    pub trace_bad: Option<String>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The event log with its filters; a click on a sent message shows its request.
#[function_component(EventLog)]
pub fn event_log(props: &EventLogProps) -> Html {
    let on = &props.on;
    let toggle = |label: &'static str, k: LogKind| {
        let onchange = on.reform(move |e: Event| {
            let el: HtmlInputElement = e.target_unchecked_into();
            Action::LogKind(k, el.checked())
        });
        html! { <label><input type="checkbox" class="log-kind" data-kind={label} checked={props.kinds[k as usize]} {onchange} />{ format!(" {label}") }</label> }
    };
    let on_node = on.reform(|e: Event| {
        let el: HtmlSelectElement = e.target_unchecked_into();
        Action::LogNode(el.value().parse::<u16>().ok().map(NodeId))
    });
    let on_trace = on.reform(|e: Event| {
        let el: HtmlInputElement = e.target_unchecked_into();
        Action::LogTrace(el.value())
    });
    let on_click = on.clone();
    let onclick = Callback::from(move |e: MouseEvent| {
        if let Some(r) = crate::views::clicked_request(&e) {
            on_click.emit(Action::PickRequest(Some(r)));
        }
    });
    html! {
        <section class="event-log" aria-label="Event log" data-panel="log">
            <h3>{"Event log"}</h3>
            <div class="log-filters">
                { toggle("messages", LogKind::Messages) }
                { toggle("timers", LogKind::Timers) }
                { toggle("changes", LogKind::Changes) }
                <label>{"Node "}
                    <select id="log-node" onchange={on_node}>
                        <option value="" selected={props.node.is_none()}>{"all"}</option>
                        { for props.names.iter().enumerate().map(|(i, n)| html! {
                            <option value={i.to_string()} selected={props.node == Some(NodeId(i as u16))}>{ n }</option>
                        }) }
                    </select>
                </label>
                <label>{"Trace "}
                    <input id="log-trace" type="text" inputmode="text" size="6" maxlength="24"
                        placeholder="t6" aria-describedby="log-trace-help" onchange={on_trace}
                        value={props.trace.map(|t| format!("t{t}")).unwrap_or_default()} />
                </label>
            </div>
            <p id="log-trace-help" class={classes!("hint", props.trace_bad.is_some().then_some("error-text"))} aria-live="polite">{
                match (&props.trace_bad, props.trace) {
                    (Some(bad), _) => format!("\"{bad}\" is not a trace id: type t and a number, like t6, or clear the box."),
                    (None, Some(t)) => format!("Only the messages of request t{t}, on every node it reached. Clear the box for all."),
                    (None, None) => String::new(),
                }
            }</p>
            // It scrolls, so it takes focus: a keyboard can then scroll it with the arrows.
            <ol class="log-lines" tabindex="0" aria-label="Event log lines, oldest first" aria-live="off" {onclick}>
                { for props.lines.iter().map(|(seq, k, line, request)| html! {
                    <li key={*seq} class={classes!(format!("{k:?}").to_lowercase(), request.is_some().then_some("has-request"))}
                        data-client={request.map(|r| r.0.to_string())} data-trace={request.map(|r| r.1.to_string())}>{ line }</li>
                }) }
            </ol>
        </section>
    }
}
