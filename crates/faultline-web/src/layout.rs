//! Where nodes are drawn: the canvas's coordinate space, a saved layout fitted to it, and the
//! rule that keeps every node whole inside it. Node positions are view state: they live in the
//! page and in the scenario's `view`, never in the simulation.

use faultline_core::scenario::Scenario;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_positions_are_used_and_missing_ones_are_laid_out_inside() {
        let mut s = Scenario::parse(crate::templates::DEFAULT_SCENARIO).expect("valid");
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
        let templates = crate::templates::TEMPLATES
            .iter()
            .map(|t| Scenario::parse(t).expect("valid"));
        let catalog = crate::lessons::test_catalog();
        let lessons = catalog.iter().flat_map(|(id, l)| {
            let l = l.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
            let steps: Vec<Scenario> = l
                .steps
                .iter()
                .map(|st| st.scenario(l).expect("applies"))
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
        let mut s = Scenario::parse(crate::templates::DEFAULT_SCENARIO).expect("valid");
        s.view.positions.insert("client".into(), [-90_000.0, 5.0]);
        s.view.positions.insert("server".into(), [90_000.0, 5.0]);
        let p = positions(&s);
        for &(x, y) in &p {
            assert_eq!(inside(x, y), (x, y));
        }
        assert!(p[1].0 - p[0].0 > 400.0, "still side by side: {p:?}");
    }
}
