//! The canvas: nodes, links and the messages travelling between them, drawn in SVG from the
//! world's state at the playhead.
//!
//! A message is drawn at the fraction of its journey given by the playhead between its send and
//! delivery times, which the core records on every message for exactly this purpose.

use faultline_core::NodeId;
use faultline_core::scenario::Scenario;
use faultline_core::world::{Liveness, World};
use yew::prelude::*;

/// The SVG's coordinate space.
pub const WIDTH: f64 = 600.0;
/// The SVG's coordinate space.
pub const HEIGHT: f64 = 320.0;

/// Where each node is drawn: the scenario's saved layout, or a circle for nodes without one.
pub fn positions(scenario: &Scenario) -> Vec<(f64, f64)> {
    let n = scenario.nodes.len().max(1) as f64;
    scenario
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| match scenario.view.positions.get(&node.id) {
            Some([x, y]) => (*x, *y),
            None => {
                let a = std::f64::consts::TAU * i as f64 / n;
                (
                    WIDTH / 2.0 + 200.0 * libm_cos(a),
                    HEIGHT / 2.0 + 120.0 * libm_sin(a),
                )
            }
        })
        .collect()
}

// Layout is view state, not simulation: the platform's trigonometry is fine here.
fn libm_cos(a: f64) -> f64 {
    a.cos()
}
fn libm_sin(a: f64) -> f64 {
    a.sin()
}

/// Draws the world.
pub fn view(world: &World, scenario: &Scenario) -> Html {
    let pos = positions(scenario);
    let now = world.now_us();
    let links = world.links().iter().map(|l| {
        let (ax, ay) = pos[l.a.index()];
        let (bx, by) = pos[l.b.index()];
        let cut = l.is_cut(0) || l.is_cut(1);
        let class = if cut { "link cut" } else { "link" };
        let name = format!(
            "link {} to {}{}",
            world.names()[l.a.index()],
            world.names()[l.b.index()],
            if cut { ", cut" } else { "" }
        );
        html! {
            <line class={class} x1={ax.to_string()} y1={ay.to_string()} x2={bx.to_string()} y2={by.to_string()}>
                <title>{ name }</title>
            </line>
        }
    });
    let mut msgs: Vec<_> = world.in_flight().collect();
    msgs.sort_by_key(|m| m.id);
    let messages = msgs.into_iter().map(|m| {
        let (fx, fy) = pos[m.from.index()];
        let (tx, ty) = pos[m.to.index()];
        let span = m.deliver_us.saturating_sub(m.sent_us).max(1) as f64;
        let f = if m.held {
            1.0
        } else {
            (now.saturating_sub(m.sent_us) as f64 / span).clamp(0.0, 1.0)
        };
        let (x, y) = (fx + (tx - fx) * f, fy + (ty - fy) * f);
        let class = classes!("msg", m.payload.kind(), m.doomed.map(|_| "doomed"));
        html! { <circle class={class} cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="6" /> }
    });
    let nodes = (0..world.names().len()).map(|i| {
        let id = NodeId(i as u16);
        let node = world.node(id);
        let (x, y) = pos[i];
        let name = &world.names()[i];
        let live = world.liveness(id);
        let state = match live {
            Liveness::Up => node.status(),
            Liveness::Crashed => "crashed".to_string(),
            Liveness::Paused => "paused".to_string(),
        };
        let class = classes!(
            "node",
            node.kind(),
            (live == Liveness::Crashed).then_some("crashed"),
            (live == Liveness::Paused).then_some("paused")
        );
        html! {
            <g class={class} data-node={name.clone()} transform={format!("translate({x},{y})")}
               role="img" aria-label={format!("node {name}, {}, {state}", node.kind())}>
                <circle r="30" />
                <text class="label" y="5">{ name }</text>
                <text class="status" y="48">{ state }</text>
            </g>
        }
    });
    html! {
        <svg id="canvas" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="group" aria-label="The simulated system">
            <g class="links">{ for links }</g>
            <g class="messages">{ for messages }</g>
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
