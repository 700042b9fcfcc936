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
pub const HEIGHT: f64 = 400.0;
/// A node's radius.
pub const NODE_R: f64 = 30.0;

/// How far a node's centre stays from the canvas's edges, so that its shape, the crown above a
/// leader and its status line below are all drawn inside.
const PAD_X: f64 = 50.0;
const PAD_TOP: f64 = 50.0;
const PAD_BOTTOM: f64 = 56.0;

/// A node's centre moved to the nearest point where the node is drawn whole.
pub fn inside(x: f64, y: f64) -> (f64, f64) {
    (
        x.clamp(PAD_X, WIDTH - PAD_X),
        y.clamp(PAD_TOP, HEIGHT - PAD_BOTTOM),
    )
}

/// Where each node is drawn: the scenario's saved layout, or an ellipse for nodes without one.
///
/// A saved layout that does not fit the canvas (drawn for a larger one, or typed by hand) is
/// scaled down evenly and centred, so it keeps its shape and every node is drawn whole; one that
/// fits is used as it is.
pub fn positions(scenario: &Scenario) -> Vec<(f64, f64)> {
    let n = scenario.nodes.len().max(1) as f64;
    let (cx, cy) = (WIDTH / 2.0, (PAD_TOP + HEIGHT - PAD_BOTTOM) / 2.0);
    let (half_w, half_h) = (WIDTH / 2.0 - PAD_X, (HEIGHT - PAD_TOP - PAD_BOTTOM) / 2.0);
    let saved: Vec<Option<(f64, f64)>> = scenario
        .nodes
        .iter()
        .map(|node| scenario.view.positions.get(&node.id).map(|&[x, y]| (x, y)))
        .collect();
    let fit = fit(saved.iter().flatten().copied(), (cx, cy), (half_w, half_h));
    saved
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            Some((x, y)) => {
                let (x, y) = fit(*x, *y);
                inside(x, y)
            }
            None => {
                // Layout is view state, not simulation: the platform's trigonometry is fine here.
                let a = std::f64::consts::TAU * i as f64 / n;
                (cx + (half_w - 30.0) * a.cos(), cy + half_h * a.sin())
            }
        })
        .collect()
}

/// The map that brings these points inside the box centred at `c` with half-sizes `half`: the
/// identity when they are all in it, else one even scale (never up) about their centre.
fn fit(
    points: impl Iterator<Item = (f64, f64)>,
    c: (f64, f64),
    half: (f64, f64),
) -> impl Fn(f64, f64) -> (f64, f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let fits = x0 > x1 // no saved point at all
        || (x0 >= c.0 - half.0 && x1 <= c.0 + half.0 && y0 >= c.1 - half.1 && y1 <= c.1 + half.1);
    let scale = if fits {
        1.0
    } else {
        let sx = if x1 > x0 {
            2.0 * half.0 / (x1 - x0)
        } else {
            1.0
        };
        let sy = if y1 > y0 {
            2.0 * half.1 / (y1 - y0)
        } else {
            1.0
        };
        sx.min(sy).min(1.0)
    };
    let mid = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    move |x, y| {
        if fits {
            (x, y)
        } else {
            (c.0 + (x - mid.0) * scale, c.1 + (y - mid.1) * scale)
        }
    }
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
                { node_body(world, id, name, &state, x) }
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
fn node_body(world: &World, id: NodeId, name: &str, state: &str, x: f64) -> Html {
    let kind = world.node(id).kind();
    let leader = world.liveness(id) == Liveness::Up && state.starts_with("leader");
    let r = NODE_R;
    let (side, dx) = status_anchor(x);
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
            <text class={classes!("status", side)} x={dx} y="48">{ state.to_string() }</text>
        </>
    }
}

/// Where a node's status line hangs: centred under it, or, near an edge, from the node's
/// outer side inward, so that a long status ("0 appended, 0 waiting") is not cut by the edge.
/// Returns the class that sets its anchor and its `x` in the node's frame.
fn status_anchor(x: f64) -> (Option<&'static str>, &'static str) {
    if x < 120.0 {
        (Some("from-left"), "-30")
    } else if x > WIDTH - 120.0 {
        (Some("from-right"), "30")
    } else {
        (None, "0")
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
                { node_body(world, nid, &names[i], &state, x) }
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
        assert_eq!(p[0], (120.0, 197.0));
        s.view.positions.clear();
        let p = positions(&s);
        for &(x, y) in &p {
            assert_eq!(inside(x, y), (x, y), "drawn whole");
        }
        assert!(p[0] != p[1]);
    }

    /// Every template's and every lesson step's layout is drawn whole, keeps its shape and puts
    /// no node on top of another.
    #[test]
    fn every_template_and_lesson_is_drawn_whole_without_overlaps() {
        let templates = crate::app::TEMPLATES
            .iter()
            .map(|t| Scenario::parse(t).expect("valid"));
        let lessons = crate::lessons::catalog().into_iter().flat_map(|(id, l)| {
            let l = l.unwrap_or_else(|e| panic!("{id}: {e}"));
            let steps: Vec<Scenario> = l
                .steps
                .iter()
                .map(|st| st.scenario(&l).expect("applies"))
                .collect();
            steps
        });
        for s in templates.chain(lessons) {
            let p = positions(&s);
            for (i, &(x, y)) in p.iter().enumerate() {
                assert_eq!(
                    inside(x, y),
                    (x, y),
                    "{}: {} cut at the edge",
                    s.title,
                    s.nodes[i].id
                );
                for (j, &(u, v)) in p.iter().enumerate().skip(i + 1) {
                    assert!(
                        (x - u).hypot(y - v) >= 2.0 * NODE_R,
                        "{}: {} overlaps {}",
                        s.title,
                        s.nodes[i].id,
                        s.nodes[j].id
                    );
                }
            }
            // The same shape: one scale for x and y, and the same order left to right.
            let saved: Vec<Option<&[f64; 2]>> = s
                .nodes
                .iter()
                .map(|n| s.view.positions.get(&n.id))
                .collect();
            for i in 0..p.len() {
                for j in 0..p.len() {
                    if let (Some(a), Some(b)) = (saved[i], saved[j]) {
                        assert_eq!(a[0] < b[0], p[i].0 < p[j].0, "{}", s.title);
                        assert_eq!(a[1] < b[1], p[i].1 < p[j].1, "{}", s.title);
                    }
                }
            }
        }
    }

    #[test]
    fn a_layout_typed_far_off_is_brought_in() {
        let mut s = Scenario::parse(crate::app::DEFAULT_SCENARIO).expect("valid");
        s.view.positions.insert("client".into(), [-90_000.0, 5.0]);
        s.view.positions.insert("server".into(), [90_000.0, 5.0]);
        let p = positions(&s);
        for &(x, y) in &p {
            assert_eq!(inside(x, y), (x, y));
        }
        assert!(p[1].0 - p[0].0 > 400.0, "still side by side: {p:?}");
    }
}
