//! Compare mode on screen: the two panes on one clock, small, with their key figures side by
//! side, and the form that changes one setting in the second pane.

use std::rc::Rc;

use faultline_core::NodeId;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::canvas::{Picture, Scene};
use crate::compare::{EXTRA, Figures};
use crate::controls;
use crate::derive::{current_config, fmt_ms};
use crate::state::{Action, Page};

/// What the compare panel shows.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareModel {
    /// The first pane's picture.
    pub a: Rc<Scene>,
    /// The second pane's picture.
    pub b: Rc<Scene>,
    /// What the second pane changed, for people.
    pub changed: String,
    /// The moment, for people.
    pub at: String,
    /// Key figures: (key, label, first pane, second pane).
    pub rows: Vec<(&'static str, &'static str, String, String)>,
    /// Settings that can be changed: ("node index|path", label).
    pub options: Vec<(String, String)>,
}

impl CompareModel {
    /// The compare panel for the page, when compare mode is on.
    pub fn of(page: &Page) -> Option<CompareModel> {
        let (Ok(s), Some(c)) = (&page.session, &page.compare) else {
            return None;
        };
        let (fa, fb) = (Figures::of(&s.world), Figures::of(&c.session.world));
        let pct = |f: &Figures| f.success_pct().map_or("–".into(), |p| format!("{p:.1} %"));
        let p99 = |f: &Figures| f.p99_us.map_or("–".into(), |us| fmt_ms(us as f64 / 1000.0));
        let mut rows = vec![
            ("success", "success rate", pct(&fa), pct(&fb)),
            ("p99", "p99 latency", p99(&fa), p99(&fb)),
            (
                "attempts",
                "attempts",
                fa.attempts.to_string(),
                fb.attempts.to_string(),
            ),
            (
                "failed",
                "failed requests",
                fa.failed.to_string(),
                fb.failed.to_string(),
            ),
        ];
        // The counters this run's models keep: duplicate charges, stale reads, elections...
        let show = |v: Option<i64>| v.map_or("–".to_string(), |n| n.to_string());
        for (i, (counter, label)) in EXTRA.iter().enumerate() {
            let (x, y) = (fa.extra[i], fb.extra[i]);
            if x.is_some() || y.is_some() {
                rows.push((counter, label, show(x), show(y)));
            }
        }
        let options = s
            .scenario
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                let cfg = current_config(s, NodeId(i as u16));
                controls::params_for(s.world.node(NodeId(i as u16)).model_kind())
                    .iter()
                    .filter(move |p| controls::get(&cfg, p.path).is_some())
                    .map(move |p| {
                        let unit = if p.unit.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", p.unit)
                        };
                        (
                            format!("{i}|{}", p.path),
                            format!("{}: {}{unit}", n.id, p.label),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        Some(CompareModel {
            a: Rc::new(Scene::of(&s.world, &s.scenario, &page.pos, page.still)),
            b: Rc::new(Scene::of(
                &c.session.world,
                &c.session.scenario,
                &page.pos,
                page.still,
            )),
            changed: c
                .change
                .as_ref()
                .map_or("nothing changed yet".to_string(), |ch| {
                    format!("{} {} = {}", ch.node, ch.param, ch.value)
                }),
            at: faultline_core::fmt_time(s.world.now_us()),
            rows,
            options,
        })
    }
}

/// The compare panel's properties.
#[derive(Properties, PartialEq)]
pub struct CompareViewProps {
    /// What to show.
    pub model: Rc<CompareModel>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The two panes, the form and the figures.
#[function_component(CompareView)]
pub fn compare_view(props: &CompareViewProps) -> Html {
    let m = &props.model;
    let (pick, value) = (use_node_ref(), use_node_ref());
    let (pick_el, value_el) = (pick.clone(), value.clone());
    let on = props.on.clone();
    let apply = Callback::from(move |_: MouseEvent| {
        let (Some(p), Some(v)) = (
            pick_el.cast::<HtmlSelectElement>(),
            value_el.cast::<HtmlInputElement>(),
        ) else {
            return;
        };
        let pv = p.value();
        if let Some((i, path)) = pv.split_once('|')
            && let Ok(i) = i.parse::<usize>()
        {
            on.emit(Action::CompareApply(i, path.to_string(), v.value()));
        }
    });
    html! {
        <section class="compare" aria-labelledby="compare-title">
            <h3 id="compare-title">{"Compare: the same run, one setting changed"}</h3>
            <div class="compare-form">
                <label>{"Setting "}<select id="compare-param" ref={pick}>
                    { for m.options.iter().map(|(v, label)| html! { <option value={v.clone()}>{ label }</option> }) }
                </select></label>
                <label>{"Value "}<input id="compare-value" ref={value} type="text" size="8" placeholder="2000, false…" /></label>
                <button id="compare-apply" onclick={apply}>{"Apply to the second pane"}</button>
            </div>
            <div class="compare-panes">
                <figure class="pane"><figcaption>{"As it is"}</figcaption><Picture scene={m.a.clone()} id="compare-a" /></figure>
                <figure class="pane"><figcaption id="compare-changed">{ format!("Changed: {}", m.changed) }</figcaption><Picture scene={m.b.clone()} id="compare-b" /></figure>
            </div>
            <table id="compare-figures" class="stats">
                <caption>{ format!("Key figures at t = {}", m.at) }</caption>
                <thead><tr><th scope="col">{"figure"}</th><th scope="col">{"as it is"}</th><th scope="col">{"changed"}</th></tr></thead>
                <tbody>
                    { for m.rows.iter().map(|(key, label, a, b)| html! {
                        <tr data-figure={*key}><th scope="row">{ *label }</th><td data-pane="a">{ a.clone() }</td><td data-pane="b">{ b.clone() }</td></tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}
