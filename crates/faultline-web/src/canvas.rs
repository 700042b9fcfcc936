//! The canvas: nodes, links and the messages travelling between them, drawn in SVG from the
//! world's state at the playhead, with pointer and keyboard handlers.
//!
//! A message is drawn at the fraction of its journey given by the playhead between its send and
//! delivery times, which the core records on every message for exactly this purpose. Node
//! positions are view state: they live in the page and in the scenario's `view`, never in the
//! simulation.

use std::rc::Rc;

use faultline_core::NodeId;
use faultline_core::models::ModelSpec;
use faultline_core::scenario::Scenario;
use faultline_core::view::{BreakerState, BreakerView, ModelKind, NodeView, RaftRole};
use faultline_core::world::{Liveness, World};
use yew::prelude::*;

use crate::action::Action;
use crate::boards::{Board, boards_html};
use crate::glyphs::{Gate, Glyph, gate_label};
use crate::layout::{HEIGHT, NODE_R, WIDTH};
use crate::mentions::Mentions;
use crate::message_layer::{Dot, MessageLayer};

/// How a node is drawn, decided from its model and typed state.
#[derive(Clone, Debug, PartialEq)]
pub struct Look {
    /// A circle (request paths: clients, services, payments) or a rounded square with its kind.
    pub round: bool,
    /// A crown: it leads its cluster.
    pub leader: bool,
    /// A breaker's colour class, when it is not closed.
    pub breaker: Option<&'static str>,
}

/// One node as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeDraw {
    /// Its id.
    pub id: NodeId,
    /// Its name.
    pub name: String,
    /// Its model, as the scenario names it.
    pub kind: &'static str,
    /// Its centre.
    pub at: (f64, f64),
    /// Its state in a few words.
    pub state: String,
    /// Up, crashed, paused.
    pub live: Liveness,
    /// Shape and marks.
    pub look: Look,
    /// The model's picture around the node.
    pub glyph: Glyph,
    /// The model's name for people ("replica", "saga step").
    pub label: &'static str,
}

/// One link as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkDraw {
    /// Its ends' centres.
    pub from: (f64, f64),
    /// The other end.
    pub to: (f64, f64),
    /// Words for its accessible name: "a to b, cut from a to b".
    pub label: String,
    /// Cut either way.
    pub cut: bool,
}

/// The messages in flight, as drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Messages {
    /// Moving dots, painted on the message layer (`message_layer.rs`), not in the SVG.
    Dots(Rc<Vec<Dot>>),
    /// Reduced motion: a still count per link and direction, at (x, y).
    Counts(Vec<(f64, f64, String)>),
}

/// What the canvas draws at one moment: plain data, compared by the components to skip work.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    /// The nodes.
    pub nodes: Vec<NodeDraw>,
    /// The links, in the world's order (their index cuts and heals them).
    pub links: Rc<Vec<LinkDraw>>,
    /// The messages in flight.
    pub messages: Messages,
    /// Circuit breakers, as gates on their links.
    pub gates: Vec<Gate>,
    /// Tables and strips beside their nodes (a key store, an event log).
    pub boards: Vec<Board>,
}

/// A node's circuit breakers, each with the node its calls go to: a client's own, a service's
/// per downstream call. The one place the page decides which models have breakers.
fn breakers(view: &NodeView) -> Vec<(NodeId, &BreakerView)> {
    match view {
        NodeView::Client(c) => c.breaker.iter().map(|b| (c.target, b)).collect(),
        NodeView::Service(s) => s
            .downstream
            .iter()
            .flat_map(|d| &d.calls)
            .filter_map(|c| Some((c.target, c.breaker.as_ref()?)))
            .collect(),
        NodeView::Payment(_)
        | NodeView::Database(_)
        | NodeView::Cache(_)
        | NodeView::App(_)
        | NodeView::EventLog(_)
        | NodeView::OrderWriter(_)
        | NodeView::Projection(_)
        | NodeView::Raft(_)
        | NodeView::Producer(_)
        | NodeView::Queue(_)
        | NodeView::Consumer(_)
        | NodeView::SagaOrchestrator(_)
        | NodeView::SagaParticipant(_)
        | NodeView::TpcCoordinator(_)
        | NodeView::TpcParticipant(_)
        | NodeView::KvReplica(_)
        | NodeView::KvClient(_) => Vec::new(),
    }
}

/// How a node is drawn, from its typed view: never from its status text.
fn look(
    kind: ModelKind,
    view: &NodeView,
    breakers: &[(NodeId, &BreakerView)],
    live: Liveness,
) -> Look {
    // The worst of a node's breakers gives its colour: one open call is the picture's news.
    let breaker = breakers
        .iter()
        .fold(None, |worst, (_, b)| match (worst, b.state) {
            (_, BreakerState::Open) | (Some("breaker-open"), _) => Some("breaker-open"),
            (_, BreakerState::HalfOpen) => Some("breaker-half-open"),
            (w, BreakerState::Closed) => w,
        });
    Look {
        round: crate::kinds::on_request_path(kind),
        leader: live == Liveness::Up
            && matches!(view, NodeView::Raft(r) if r.role == RaftRole::Leader),
        breaker,
    }
}

impl Scene {
    /// The world at its playhead, with nodes at `pos`.
    pub fn of(world: &World, scenario: &Scenario, pos: &[(f64, f64)], still: bool) -> Scene {
        let names = world.names();
        let now = world.now_us();
        let at = |id: NodeId| pos.get(id.index()).copied().unwrap_or((0.0, 0.0));
        let mut gates = Vec::new();
        let mut gate = |from: NodeId, to: NodeId, b: &BreakerView| {
            let ((fx, fy), (tx, ty)) = (at(from), at(to));
            gates.push(Gate {
                at: (fx + (tx - fx) * 0.38, fy + (ty - fy) * 0.38),
                state: b.state,
                label: gate_label(b, now),
            });
        };
        let views: Vec<NodeView> = (0..names.len())
            .map(|i| world.node(NodeId(i as u16)).view())
            .collect();
        let nodes = (0..names.len())
            .map(|i| {
                let id = NodeId(i as u16);
                let node = world.node(id);
                let live = world.liveness(id);
                let state = crate::derive::node_state(world, id);
                let kind = node.kind();
                let view = &views[i];
                let calls = breakers(view);
                let look = look(node.model_kind(), view, &calls, live);
                for (to, b) in &calls {
                    gate(id, *to, b);
                }
                let election_max_us = match scenario.nodes.get(i).map(|n| &n.model) {
                    Some(ModelSpec::Raft(r)) => (r.election_timeout_max_ms * 1000.0) as u64,
                    _ => 0,
                };
                let stale = node
                    .counters()
                    .iter()
                    .find(|(k, _)| *k == "stale_reads")
                    .map_or(0, |(_, v)| *v);
                let glyph = if live == Liveness::Up {
                    Glyph::of(view, now, election_max_us, stale)
                } else {
                    Glyph::Plain
                };
                NodeDraw {
                    id,
                    name: names[i].clone(),
                    kind,
                    at: at(id),
                    state,
                    live,
                    look,
                    glyph,
                    label: crate::kinds::label(node.model_kind()),
                }
            })
            .collect();
        let links = world
            .links()
            .iter()
            .map(|l| {
                let (a, b) = (&names[l.a.index()], &names[l.b.index()]);
                let cut = match (l.is_cut(0), l.is_cut(1)) {
                    (false, false) => String::new(),
                    (true, true) => ", cut".to_string(),
                    (true, false) => format!(", cut from {a} to {b}"),
                    (false, true) => format!(", cut from {b} to {a}"),
                };
                LinkDraw {
                    from: at(l.a),
                    to: at(l.b),
                    cut: !cut.is_empty(),
                    label: format!("{a} to {b}{cut}"),
                }
            })
            .collect::<Vec<_>>()
            .into();
        let messages = if still {
            Messages::Counts(counts(world, pos))
        } else {
            Messages::Dots(Rc::new(crate::message_layer::dots(world, pos)))
        };
        let up: Vec<bool> = (0..names.len())
            .map(|i| world.liveness(NodeId(i as u16)) == Liveness::Up)
            .collect();
        let centres: Vec<(f64, f64)> = (0..names.len()).map(|i| at(NodeId(i as u16))).collect();
        let boards = crate::boards::of(names, &views, &up, &centres, now);
        Scene {
            nodes,
            links,
            messages,
            gates,
            boards,
        }
    }

    /// While a run plays, keeps `prev`'s words and gauges in frame `frame` unless it is a
    /// redraw frame: the nodes' words and gauges are redrawn together every [`WORDS_EVERY`]
    /// frames, while the messages move every frame. A node whose shape, place or liveness
    /// changed is drawn afresh at once: a crash, a breaker's colour or a new leader never waits.
    ///
    /// Why: every changed word or ring makes the browser repaint and re-rasterise the SVG's
    /// tiles around it. With 30 nodes redrawn every frame, Chromium's threads needed more than
    /// the two cores of the benchmark's machine and about 9 % of frames were missed
    /// (`bench/frames.mjs`, after the start-up); with the nodes taking turns, a third each frame,
    /// about 5 %, since their changes still touched most tiles every frame; all together every
    /// third frame, about 2 %. 20 redraws a second is still smooth for a counter or a ring.
    pub fn hold_words(&mut self, prev: &Scene, frame: u64) {
        if redraws_words(frame) {
            return;
        }
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if let Some(p) = prev.nodes.get(i)
                && p.id == n.id
                && p.at == n.at
                && p.live == n.live
                && p.look == n.look
                && p.name == n.name
            {
                n.state.clone_from(&p.state);
                n.glyph.clone_from(&p.glyph);
            }
        }
    }
}

/// While a run plays, a node's words and gauge are redrawn every this many frames
/// ([`Scene::hold_words`]).
pub const WORDS_EVERY: u64 = 3;

/// Whether playing frame `frame` redraws the words (and, in the page, the clock with them).
pub fn redraws_words(frame: u64) -> bool {
    frame.is_multiple_of(WORDS_EVERY)
}

/// Reduced motion: a still count of the messages travelling each way on each link.
fn counts(world: &World, pos: &[(f64, f64)]) -> Vec<(f64, f64, String)> {
    let mut per_link: std::collections::BTreeMap<(NodeId, NodeId), usize> =
        std::collections::BTreeMap::new();
    for m in world.in_flight() {
        *per_link.entry((m.from, m.to)).or_default() += 1;
    }
    per_link
        .into_iter()
        .map(|((from, to), n)| {
            let (fx, fy) = pos[from.index()];
            let (tx, ty) = pos[to.index()];
            // Each direction's count sits on its own side of the middle.
            let (x, y) = (fx + (tx - fx) * 0.4, fy + (ty - fy) * 0.4 - 10.0);
            (x, y, format!("{n} to {}", world.names()[to.index()]))
        })
        .collect()
}

fn messages_html(m: &Messages) -> Html {
    match m {
        Messages::Dots(dots) => crate::message_layer::svg_paths(dots),
        Messages::Counts(labels) => html! {
            <>{ for labels.iter().map(|(x, y, text)| html! {
                <text class="link-count" x={format!("{x:.1}")} y={format!("{y:.1}")}>{ text.clone() }</text>
            }) }</>
        },
    }
}

/// The canvas's properties.
#[derive(Properties, PartialEq)]
pub struct CanvasProps {
    /// What to draw.
    pub scene: Rc<Scene>,
    /// The selected node.
    pub selected: Option<NodeId>,
    /// The nodes and links the open lesson step names.
    #[prop_or_default]
    pub mentioned: Rc<Mentions>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// A pointer position in the SVG's own units.
fn to_svg(svg: &NodeRef, e: &PointerEvent) -> Option<(f64, f64)> {
    let el = svg.cast::<web_sys::Element>()?;
    let r = el.get_bounding_client_rect();
    if r.width() <= 0.0 || r.height() <= 0.0 {
        return None;
    }
    let x = (f64::from(e.client_x()) - r.left()) * WIDTH / r.width();
    let y = (f64::from(e.client_y()) - r.top()) * HEIGHT / r.height();
    Some((x, y))
}

/// What a node needs to start a drag: the SVG (pointer positions, pointer capture) and the flag
/// the canvas's pointer-move handler reads. Equal while the canvas lives, so a node's props
/// compare equal from frame to frame when its picture did not change.
#[derive(Clone)]
struct DragTarget {
    svg: NodeRef,
    dragging: Rc<std::cell::RefCell<bool>>,
}

impl PartialEq for DragTarget {
    fn eq(&self, other: &Self) -> bool {
        self.svg == other.svg && Rc::ptr_eq(&self.dragging, &other.dragging)
    }
}

/// The interactive canvas: nodes to select and drag, links to cut.
///
/// Each node and the links are components of their own with plain-data props: the scene is new
/// every frame while a run plays, but a node whose picture did not change is neither rebuilt nor
/// diffed (`bench/frames.mjs`).
#[function_component(Canvas)]
pub fn canvas(props: &CanvasProps) -> Html {
    let svg = use_node_ref();
    let dragging = use_mut_ref(|| false);
    let CanvasProps {
        scene,
        selected,
        mentioned,
        on,
    } = props;
    let target = DragTarget {
        svg: svg.clone(),
        dragging: dragging.clone(),
    };
    let nodes = scene.nodes.iter().map(|n| {
        html! {
            <CanvasNode key={n.id.index()} node={n.clone()} selected={*selected == Some(n.id)}
                named={mentioned.nodes.contains(&n.id)} target={target.clone()} on={on.clone()} />
        }
    });
    let (svg_move, on_move, drag_move) = (svg.clone(), on.clone(), dragging.clone());
    let onpointermove = Callback::from(move |e: PointerEvent| {
        if *drag_move.borrow()
            && let Some((x, y)) = to_svg(&svg_move, &e)
        {
            on_move.emit(Action::DragMove(x, y));
        }
    });
    let end = |on: &Callback<Action>| {
        let (on, drag) = (on.clone(), dragging.clone());
        Callback::from(move |_: PointerEvent| {
            if std::mem::take(&mut *drag.borrow_mut()) {
                on.emit(Action::DragEnd);
            }
        })
    };
    // Moving messages are painted on the layer under the SVG; still counts are SVG text.
    let (dots, still) = match &scene.messages {
        Messages::Dots(d) => (d.clone(), html! {}),
        Messages::Counts(_) => (Rc::new(Vec::new()), messages_html(&scene.messages)),
    };
    html! {
        <>
        <MessageLayer {dots} />
        <svg id="canvas" ref={svg.clone()} viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="group"
             aria-label="The simulated system: Tab to a node or a link" {onpointermove} onpointerup={end(on)} onpointercancel={end(on)}>
            <Links links={scene.links.clone()} mentioned={mentioned.clone()} on={on.clone()} />
            <g class="messages" aria-hidden="true">{ still }</g>
            { gates_html(&scene.gates) }
            <g class="nodes">{ for nodes }</g>
            { boards_html(&scene.boards) }
        </svg>
        </>
    }
}

/// The links' properties.
#[derive(Properties, PartialEq)]
struct LinksProps {
    links: Rc<Vec<LinkDraw>>,
    mentioned: Rc<Mentions>,
    on: Callback<Action>,
}

/// The links, each a button that cuts or heals it.
#[function_component(Links)]
fn links(props: &LinksProps) -> Html {
    let LinksProps {
        links,
        mentioned,
        on,
    } = props;
    let links = links.iter().enumerate().map(|(i, l)| {
        let named = mentioned.links.contains(&i);
        let label = format!("link {}{}. Press Enter to {}.", l.label, if named { ", named in the step" } else { "" },
            if l.cut { "heal it" } else { "cut it" });
        let onclick = on.reform(move |_| Action::ToggleLink(i));
        let on_key = on.clone();
        let onkeydown = Callback::from(move |e: KeyboardEvent| {
            if matches!(e.key().as_str(), "Enter" | " ") {
                e.prevent_default();
                on_key.emit(Action::ToggleLink(i));
            }
        });
        let ((x1, y1), (x2, y2)) = (l.from, l.to);
        let (x1, y1, x2, y2) = (x1.to_string(), y1.to_string(), x2.to_string(), y2.to_string());
        html! {
            <g class={classes!("link", l.cut.then_some("cut"), named.then_some("mentioned"))} data-link={i.to_string()} tabindex="0" role="button" aria-label={label} {onclick} {onkeydown}>
                if named {
                    <line class="mention" x1={x1.clone()} y1={y1.clone()} x2={x2.clone()} y2={y2.clone()} />
                }
                <line class="hit" x1={x1.clone()} y1={y1.clone()} x2={x2.clone()} y2={y2.clone()} />
                <line class="wire" {x1} {y1} {x2} {y2} />
            </g>
        }
    });
    html! { <g class="links">{ for links }</g> }
}

/// One node's properties.
#[derive(Properties, PartialEq)]
struct CanvasNodeProps {
    node: NodeDraw,
    selected: bool,
    /// Named by the open lesson step.
    named: bool,
    target: DragTarget,
    on: Callback<Action>,
}

/// One node on the canvas: selected with Enter or a press, dragged, nudged with the arrows.
#[function_component(CanvasNode)]
fn canvas_node(props: &CanvasNodeProps) -> Html {
    let CanvasNodeProps {
        node: n,
        selected: is_selected,
        named,
        target,
        on,
    } = props;
    let id = n.id;
    let (svg_down, on_down, drag_down) = (target.svg.clone(), on.clone(), target.dragging.clone());
    let onpointerdown = Callback::from(move |e: PointerEvent| {
        e.prevent_default();
        if let Some(el) = svg_down.cast::<web_sys::Element>() {
            let _ = el.set_pointer_capture(e.pointer_id());
        }
        if let Some((x, y)) = to_svg(&svg_down, &e) {
            *drag_down.borrow_mut() = true;
            on_down.emit(Action::DragStart(id, x, y));
        }
    });
    let on_key = on.clone();
    let onkeydown = Callback::from(move |e: KeyboardEvent| {
        let action = match e.key().as_str() {
            "Enter" | " " => Action::Select(Some(id)),
            "ArrowLeft" => Action::Nudge(id, -10.0, 0.0),
            "ArrowRight" => Action::Nudge(id, 10.0, 0.0),
            "ArrowUp" => Action::Nudge(id, 0.0, -10.0),
            "ArrowDown" => Action::Nudge(id, 0.0, 10.0),
            _ => return,
        };
        e.prevent_default();
        on_key.emit(action);
    });
    let mut label = node_label(n);
    if *named {
        label.push_str(", named in the step");
    }
    html! {
        <g class={classes!(node_class(n, *is_selected), named.then_some("mentioned"))} data-node={n.name.clone()} transform={format!("translate({:.1},{:.1})", n.at.0, n.at.1)}
           tabindex="0" role="button" aria-label={label}
           aria-pressed={is_selected.to_string()} {onpointerdown} {onkeydown}>
            if *named {
                // A highlighter's mark behind the node: a fill, where focus and selection
                // are rings and state is the shape's stroke.
                <circle class="mention" r="46" />
            }
            { node_body(n) }
        </g>
    }
}

fn node_class(n: &NodeDraw, selected: bool) -> Classes {
    classes!(
        "node",
        n.kind,
        (n.live == Liveness::Crashed).then_some("crashed"),
        (n.live == Liveness::Paused).then_some("paused"),
        selected.then_some("selected"),
        n.look.breaker
    )
}

/// Whether the node's shape shows its kind's name (a square whose glyph leaves room).
fn kind_drawn(n: &NodeDraw) -> bool {
    !n.look.round && !n.glyph.fills_shape()
}

/// A node's accessible name: the words drawn on it, in the order [`node_body`] draws them (WCAG
/// 2.5.3, Label in Name: a speech-input user says what they see), then its kind where the shape
/// does not show it: "node server, 0 busy, 0 queued, service".
fn node_label(n: &NodeDraw) -> String {
    let mut words = vec![n.name.clone()];
    if kind_drawn(n) {
        words.push(n.label.to_string());
    }
    words.extend(n.glyph.words());
    words.push(n.state.clone());
    if !kind_drawn(n) {
        words.push(n.label.to_string());
    }
    words.retain(|w| !w.is_empty());
    format!("node {}", words.join(", "))
}

/// A node's shape and marks, shared by the canvas and its pictures. Selection and focus are a
/// halo around the node; state is the shape's stroke, its glyph and words: never the same cue.
/// Its texts come in reading order (name, kind, glyph, status), a space apart, as
/// [`node_label`] says them.
fn node_body(n: &NodeDraw) -> Html {
    let r = NODE_R;
    let (side, dx) = status_anchor(n.at.0);
    // A long name is set smaller so it stays inside its shape (six bold characters fit).
    let chars = n.name.chars().count();
    let long = chars > 6;
    let size = (13.0 * 6.0 / chars.max(1) as f64).max(8.0);
    // One group, so a phone can enlarge the whole node (web/style.css).
    html! {
        <g class="body">
            <circle class="halo" r="42" />
            if n.look.round {
                <circle class="shape" r={r.to_string()} />
            } else {
                <rect class="shape" x={(-r).to_string()} y={(-r).to_string()} width={(2.0 * r).to_string()} height={(2.0 * r).to_string()} rx="8" />
            }
            <text class={classes!("label", long.then_some("long"))} y={if n.look.round { "5" } else { "2" }}
                  style={long.then(|| format!("font-size: {size:.1}px"))}>{ n.name.clone() }</text>
            {" "}
            if kind_drawn(n) {
                <text class="kind-label" y="19">{ n.label }</text>
                {" "}
            }
            { n.glyph.html() }
            {" "}
            if n.look.leader {
                <path class="crown" d="M-12 -33L-12 -45L-6 -38L0 -47L6 -38L12 -45L12 -33Z" />
            }
            <text class={classes!("status", side)} x={dx} y="48">{ n.state.clone() }</text>
        </g>
    }
}

/// The gates of circuit breakers on their links, with their words.
fn gates_html(gates: &[Gate]) -> Html {
    html! {
        <g class="gates" aria-hidden="true">
            { for gates.iter().map(|g| {
                let class = match g.state {
                    BreakerState::Closed => "closed",
                    BreakerState::Open => "open",
                    BreakerState::HalfOpen => "half-open",
                };
                // Sized to its words ("open 0.9 s" is wider than "closed"), at 10 px bold.
                let w = (crate::glyphs::text_width(&g.label, 10.0) + 10.0).max(54.0);
                html! {
                    <g class={classes!("gate", class)} data-breaker={class} transform={format!("translate({:.1},{:.1})", g.at.0, g.at.1)}>
                        <g class="badge">
                            <rect x={format!("{:.1}", -w / 2.0)} y="-9" width={format!("{w:.1}")} height="18" rx="4" />
                            <text y="4">{ g.label.clone() }</text>
                        </g>
                    </g>
                }
            }) }
        </g>
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

/// A still picture's properties.
#[derive(Properties, PartialEq)]
pub struct PictureProps {
    /// What to draw.
    pub scene: Rc<Scene>,
    /// The SVG element's id.
    pub id: &'static str,
}

/// A still picture of a world for the compare panes: no focus, no pointer.
#[function_component(Picture)]
pub fn picture(props: &PictureProps) -> Html {
    let scene = &props.scene;
    let links = scene.links.iter().map(|l| {
        let ((x1, y1), (x2, y2)) = (l.from, l.to);
        html! { <g class={classes!("link", l.cut.then_some("cut"))}><line class="wire" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} /></g> }
    });
    let nodes = scene.nodes.iter().map(|n| {
        html! {
            <g class={node_class(n, false)} data-node={n.name.clone()} transform={format!("translate({:.1},{:.1})", n.at.0, n.at.1)}>
                { node_body(n) }
            </g>
        }
    });
    html! {
        <svg id={props.id} class="picture" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} aria-hidden="true">
            <g class="links">{ for links }</g>
            <g class="messages">{ messages_html(&scene.messages) }</g>
            { gates_html(&scene.gates) }
            <g class="nodes">{ for nodes }</g>
            { boards_html(&scene.boards) }
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;
    use faultline_core::scenario::Scenario;

    fn at(title: &str, t_us: u64) -> Scene {
        let sc = crate::templates::TEMPLATES
            .iter()
            .map(|t| Scenario::parse(t).expect("valid"))
            .find(|s| s.title.starts_with(title))
            .unwrap_or_else(|| panic!("no template {title}"));
        let pos = crate::layout::positions(&sc);
        let mut s = Session::new(sc).expect("builds");
        s.seek(t_us);
        Scene::of(&s.world, &s.scenario, &pos, false)
    }

    /// The picture's marks come from the typed node view: a Raft leader wears the crown, and a
    /// breaker's colour follows its state through an outage.
    #[test]
    fn a_leader_and_an_open_breaker_are_drawn_from_the_typed_view() {
        let crowns: Vec<usize> = (0..20)
            .map(|i| {
                let raft = at("Raft", i * 500_000);
                assert!(
                    raft.nodes.iter().all(|n| !n.look.round),
                    "servers are squares"
                );
                raft.nodes.iter().filter(|n| n.look.leader).count()
            })
            .collect();
        assert_eq!(crowns[0], 0, "no leader before the first election");
        assert!(crowns.contains(&1), "a leader is crowned: {crowns:?}");
        let seen: Vec<Option<&str>> = (0..60)
            .map(|i| {
                at("A circuit breaker", i * 1_000_000)
                    .nodes
                    .iter()
                    .find_map(|n| n.look.breaker)
            })
            .collect();
        assert!(seen.contains(&Some("breaker-open")), "{seen:?}");
        assert_eq!(seen[0], None, "closed at the start");
    }

    /// While a run plays, the nodes' words and gauges move only in every third frame, all
    /// together; a node that crashed (or changed shape) is redrawn at once.
    #[test]
    fn words_are_redrawn_every_third_frame_but_a_crash_at_once() {
        let before = at("A retry storm", 4_000_000);
        let after = at("A retry storm", 6_000_000);
        assert_ne!(
            before.nodes.iter().map(|n| &n.state).collect::<Vec<_>>(),
            after.nodes.iter().map(|n| &n.state).collect::<Vec<_>>(),
            "the words change over two seconds"
        );
        for frame in 0..6 {
            let mut held = after.clone();
            held.hold_words(&before, frame);
            let from = if redraws_words(frame) {
                &after
            } else {
                &before
            };
            for (h, f) in held.nodes.iter().zip(&from.nodes) {
                assert_eq!((&h.state, &h.glyph), (&f.state, &f.glyph), "frame {frame}");
            }
            assert_eq!(held.messages, after.messages, "messages move every frame");
        }
        let mut crashed = after.clone();
        crashed.nodes[0].live = Liveness::Crashed;
        crashed.nodes[0].state = "crashed".into();
        crashed.hold_words(&before, 1);
        assert_eq!(
            crashed.nodes[0].state, "crashed",
            "a crash is drawn at once"
        );
        assert_eq!(crashed.nodes[1].state, before.nodes[1].state);
    }

    /// No panel refresh falls in a frame that redraws the canvas's words: two costly updates
    /// in one frame made it miss the next.
    #[test]
    fn panel_refreshes_and_word_redraws_never_share_a_frame() {
        use crate::refresh::{PANEL_PERIOD, PANEL_PHASES};
        assert_eq!(
            PANEL_PERIOD % WORDS_EVERY,
            0,
            "the two schedules repeat together"
        );
        for (i, p) in PANEL_PHASES.iter().enumerate() {
            assert!(*p < PANEL_PERIOD);
            assert!(!redraws_words(*p), "phase {p} redraws words too");
            assert!(!PANEL_PHASES[..i].contains(p), "phase {p} twice");
        }
    }
}
