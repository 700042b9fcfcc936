//! The canvas: nodes, links and the messages travelling between them, drawn in SVG from the
//! world's state at the playhead, with pointer and keyboard handlers.
//!
//! A message is drawn at the fraction of its journey given by the playhead between its send and
//! delivery times, which the core records on every message for exactly this purpose. Node
//! positions are view state: they live in the page and in the scenario's `view`, never in the
//! simulation.

use faultline_core::NodeId;
use faultline_core::scenario::Scenario;
use faultline_core::world::{Liveness, World};
use yew::html::Scope;
use yew::prelude::*;

use crate::app::{App, Msg};

/// The SVG's coordinate space.
pub const WIDTH: f64 = 600.0;
/// The SVG's coordinate space.
pub const HEIGHT: f64 = 320.0;
/// A node's radius.
pub const NODE_R: f64 = 30.0;

/// Where each node is drawn: the scenario's saved layout, or a circle for nodes without one.
pub fn positions(scenario: &Scenario) -> Vec<(f64, f64)> {
    let n = scenario.nodes.len().max(1) as f64;
    scenario
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| match scenario.view.positions.get(&node.id) {
            Some([x, y]) => (x.clamp(0.0, WIDTH), y.clamp(0.0, HEIGHT)),
            None => {
                // Layout is view state, not simulation: the platform's trigonometry is fine here.
                let a = std::f64::consts::TAU * i as f64 / n;
                (
                    WIDTH / 2.0 + 220.0 * a.cos(),
                    HEIGHT / 2.0 + 110.0 * a.sin(),
                )
            }
        })
        .collect()
}

/// A node's state in a few words, for its badge and its accessible name.
pub fn node_state(world: &World, id: NodeId) -> String {
    match world.liveness(id) {
        Liveness::Up => world.node(id).status(),
        Liveness::Crashed => "crashed".to_string(),
        Liveness::Paused => "paused".to_string(),
    }
}

/// What the canvas needs from the page.
pub struct CanvasView<'a> {
    /// The world at the playhead.
    pub world: &'a World,
    /// Node positions.
    pub pos: &'a [(f64, f64)],
    /// The selected node.
    pub selected: Option<NodeId>,
    /// Where the SVG element is, for pointer coordinates.
    pub svg_ref: &'a NodeRef,
    /// Reduced motion: count the messages on each link instead of moving them.
    pub still: bool,
    /// `Some(id)`: a small picture for comparing, with this element id, that takes no input.
    pub picture: Option<&'static str>,
}

/// Messages in flight past which dots are drawn for speed rather than smooth edges.
const MANY_MESSAGES: usize = 300;

/// Messages as dots at the fraction of their journey.
fn moving(world: &World, pos: &[(f64, f64)], now: u64) -> Html {
    // Messages are drawn as one path per kind: a thousand messages in flight are then a
    // handful of DOM nodes for Yew to patch each frame, not a thousand.
    let mut paths: std::collections::BTreeMap<(&'static str, bool), String> =
        std::collections::BTreeMap::new();
    for m in world.in_flight() {
        let (fx, fy) = pos[m.from.index()];
        let (tx, ty) = pos[m.to.index()];
        let span = m.deliver_us.saturating_sub(m.sent_us).max(1) as f64;
        let f = if m.held {
            1.0
        } else {
            (now.saturating_sub(m.sent_us) as f64 / span).clamp(0.0, 1.0)
        };
        let (x, y) = (fx + (tx - fx) * f, fy + (ty - fy) * f);
        let d = paths
            .entry((m.payload.kind(), m.doomed.is_some()))
            .or_default();
        // A dot: a zero-length segment with a round cap (cheaper to paint than arcs).
        let _ = std::fmt::Write::write_fmt(d, format_args!("M{x:.1} {y:.1}h0"));
    }
    // Hundreds of anti-aliased round dots repainted every frame were what made frames late
    // (bench/frames.mjs, 1,000 messages: 3-7 % of frames over 20 ms, none with the messages
    // hidden). Past a few hundred, dots are drawn without anti-aliasing: about 0.2 % late, and
    // at that density nobody sees the edges.
    let many = world.in_flight_count() > MANY_MESSAGES;
    let paths_html = paths.into_iter().map(|((kind, doomed), d)| {
        let class = classes!(
            "msg",
            kind,
            doomed.then_some("doomed"),
            many.then_some("many")
        );
        html! { <path class={class} d={d} /> }
    });
    html! { <>{ for paths_html }</> }
}

/// Reduced motion: a still count of the messages travelling each way on each link.
fn counts(world: &World, pos: &[(f64, f64)]) -> Html {
    let mut per_link: std::collections::BTreeMap<(NodeId, NodeId), usize> =
        std::collections::BTreeMap::new();
    for m in world.in_flight() {
        *per_link.entry((m.from, m.to)).or_default() += 1;
    }
    let labels = per_link.into_iter().map(|((from, to), n)| {
        let (fx, fy) = pos[from.index()];
        let (tx, ty) = pos[to.index()];
        // Each direction's count sits on its own side of the middle.
        let (x, y) = (fx + (tx - fx) * 0.4, fy + (ty - fy) * 0.4 - 10.0);
        let to_name = &world.names()[to.index()];
        html! { <text class="link-count" x={format!("{x:.1}")} y={format!("{y:.1}")}>{ format!("{n} to {to_name}") }</text> }
    });
    html! { <>{ for labels }</> }
}

/// Draws the world.
pub fn view(c: CanvasView<'_>, link: &Scope<App>) -> Html {
    let CanvasView {
        world,
        pos,
        selected,
        svg_ref,
        still,
        picture,
    } = c;
    if let Some(id) = picture {
        return picture_view(world, pos, still, id);
    }
    let now = world.now_us();
    let names = world.names();
    let links = world.links().iter().enumerate().map(|(i, l)| {
        let (ax, ay) = pos[l.a.index()];
        let (bx, by) = pos[l.b.index()];
        let cut = match (l.is_cut(0), l.is_cut(1)) {
            (false, false) => String::new(),
            (true, true) => ", cut".to_string(),
            (true, false) => format!(", cut from {} to {}", names[l.a.index()], names[l.b.index()]),
            (false, true) => format!(", cut from {} to {}", names[l.b.index()], names[l.a.index()]),
        };
        let class = classes!("link", (!cut.is_empty()).then_some("cut"));
        let label = format!("link {} to {}{cut}. Press Enter to {}.", names[l.a.index()], names[l.b.index()], if cut.is_empty() { "cut it" } else { "heal it" });
        let onclick = link.callback(move |_| Msg::ToggleLink(i));
        let onkeydown = link.batch_callback(move |e: KeyboardEvent| {
            matches!(e.key().as_str(), "Enter" | " ").then(|| {
                e.prevent_default();
                Msg::ToggleLink(i)
            })
        });
        let (x1, y1, x2, y2) = (ax.to_string(), ay.to_string(), bx.to_string(), by.to_string());
        html! {
            <g class={class} data-link={i.to_string()} tabindex="0" role="button" aria-label={label} {onclick} {onkeydown}>
                <line class="hit" x1={x1.clone()} y1={y1.clone()} x2={x2.clone()} y2={y2.clone()} />
                <line class="wire" {x1} {y1} {x2} {y2} />
            </g>
        }
    });
    let messages = if still {
        counts(world, pos)
    } else {
        moving(world, pos, now)
    };
    let nodes = (0..names.len()).map(|i| {
        let id = NodeId(i as u16);
        let node = world.node(id);
        let (x, y) = pos[i];
        let name = &names[i];
        let live = world.liveness(id);
        let state = node_state(world, id);
        let class = classes!(
            "node",
            node.kind(),
            (live == Liveness::Crashed).then_some("crashed"),
            (live == Liveness::Paused).then_some("paused"),
            (selected == Some(id)).then_some("selected"),
            // The breaker's colour: the status names it ("breaker open").
            state.contains("breaker open").then_some("breaker-open"),
            state.contains("breaker half-open").then_some("breaker-half-open")
        );
        let onpointerdown = link.callback(move |e: PointerEvent| {
            e.prevent_default();
            Msg::DragStart(id, e.pointer_id(), e.client_x() as f64, e.client_y() as f64)
        });
        let onkeydown = link.batch_callback(move |e: KeyboardEvent| {
            let msg = match e.key().as_str() {
                "Enter" | " " => Msg::Select(Some(id)),
                "ArrowLeft" => Msg::Nudge(id, -10.0, 0.0),
                "ArrowRight" => Msg::Nudge(id, 10.0, 0.0),
                "ArrowUp" => Msg::Nudge(id, 0.0, -10.0),
                "ArrowDown" => Msg::Nudge(id, 0.0, 10.0),
                _ => return None,
            };
            e.prevent_default();
            Some(msg)
        });
        html! {
            <g class={class} data-node={name.clone()} transform={format!("translate({x:.1},{y:.1})")}
               tabindex="0" role="button" aria-label={format!("node {name}, {}, {state}", node.kind())}
               aria-pressed={(selected == Some(id)).to_string()} {onpointerdown} {onkeydown}>
                { node_body(world, id, name, &state) }
            </g>
        }
    });
    let onpointermove =
        link.callback(|e: PointerEvent| Msg::DragMove(e.client_x() as f64, e.client_y() as f64));
    let onpointerup = link.callback(|_: PointerEvent| Msg::DragEnd);
    let onpointercancel = link.callback(|_: PointerEvent| Msg::DragEnd);
    html! {
        <svg id="canvas" ref={svg_ref.clone()} viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="group"
             aria-label="The simulated system: Tab to a node or a link" {onpointermove} {onpointerup} {onpointercancel}>
            <g class="links">{ for links }</g>
            <g class="messages" aria-hidden="true">{ messages }</g>
            <g class="nodes">{ for nodes }</g>
        </svg>
    }
}

/// Kinds drawn as circles; any other kind (a model this page does not know yet) is a rounded
/// square with its kind's name, so it still reads right.
const ROUND_KINDS: &[&str] = &["client", "service", "payment"];

/// A node's shape and marks, shared by the canvas and its pictures: a crown when its status
/// says it leads.
fn node_body(world: &World, id: NodeId, name: &str, state: &str) -> Html {
    let kind = world.node(id).kind();
    let leader = world.liveness(id) == Liveness::Up && state.starts_with("leader");
    let r = NODE_R;
    html! {
        <>
            if ROUND_KINDS.contains(&kind) {
                <circle r={r.to_string()} />
            } else {
                <rect class="shape" x={(-r).to_string()} y={(-r).to_string()} width={(2.0 * r).to_string()} height={(2.0 * r).to_string()} rx="8" />
                <text class="kind-label" y="19">{ kind }</text>
            }
            if leader {
                <path class="crown" d="M-12 -33L-12 -45L-6 -38L0 -47L6 -38L12 -45L12 -33Z" />
            }
            <text class="label" y={if ROUND_KINDS.contains(&kind) { "5" } else { "2" }}>{ name }</text>
            <text class="status" y="48">{ state.to_string() }</text>
        </>
    }
}

/// A still picture of the world for the compare panes: no focus, no pointer.
fn picture_view(world: &World, pos: &[(f64, f64)], still: bool, id: &'static str) -> Html {
    let names = world.names();
    let links = world.links().iter().map(|l| {
        let (ax, ay) = pos[l.a.index()];
        let (bx, by) = pos[l.b.index()];
        let class = classes!("link", (l.is_cut(0) || l.is_cut(1)).then_some("cut"));
        html! { <g {class}><line class="wire" x1={ax.to_string()} y1={ay.to_string()} x2={bx.to_string()} y2={by.to_string()} /></g> }
    });
    let messages = if still {
        counts(world, pos)
    } else {
        moving(world, pos, world.now_us())
    };
    let nodes = (0..names.len()).map(|i| {
        let nid = NodeId(i as u16);
        let live = world.liveness(nid);
        let state = node_state(world, nid);
        let (x, y) = pos[i];
        let class = classes!(
            "node",
            world.node(nid).kind(),
            (live == Liveness::Crashed).then_some("crashed"),
            (live == Liveness::Paused).then_some("paused")
        );
        html! {
            <g {class} data-node={names[i].clone()} transform={format!("translate({x:.1},{y:.1})")}>
                { node_body(world, nid, &names[i], &state) }
            </g>
        }
    });
    html! {
        <svg {id} class="picture" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} aria-hidden="true">
            <g class="links">{ for links }</g>
            <g class="messages">{ messages }</g>
            <g class="nodes">{ for nodes }</g>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_positions_are_used_and_missing_ones_are_laid_out_inside() {
        let mut s = Scenario::parse(crate::app::DEFAULT_SCENARIO).expect("valid");
        let p = positions(&s);
        assert_eq!(p[0], (120.0, 160.0));
        s.view.positions.clear();
        for (x, y) in positions(&s) {
            assert!((0.0..=WIDTH).contains(&x) && (0.0..=HEIGHT).contains(&y));
        }
    }
}
