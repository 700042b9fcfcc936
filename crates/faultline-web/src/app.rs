//! The page: a toolbar, the canvas and a panel of numbers, around one [`Playback`].

use faultline_core::NodeId;
use faultline_core::scenario::Scenario;
use gloo_render::{AnimationFrame, request_animation_frame};
use yew::prelude::*;

use crate::canvas;
use crate::playback::Playback;

/// The scenario the page opens with.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../tests/scenarios/client-server.json");

/// Messages of the page.
pub enum Msg {
    /// An animation frame at this `performance.now()` timestamp.
    Frame(f64),
    /// Play or pause.
    Toggle,
}

/// The root component.
pub struct App {
    playback: Result<Playback, String>,
    last_frame_ms: Option<f64>,
    // Kept alive on purpose: dropping the handle cancels the next frame.
    frame: Option<AnimationFrame>,
}

impl App {
    fn request_frame(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.frame = Some(request_animation_frame(move |ts| {
            link.send_message(Msg::Frame(ts))
        }));
    }
}

fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let playback = Scenario::parse(DEFAULT_SCENARIO)
            .and_then(Playback::new)
            .map_err(|e| e.to_string());
        let mut app = App {
            playback,
            last_frame_ms: None,
            frame: None,
        };
        app.request_frame(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let Ok(pb) = &mut self.playback else {
            return false;
        };
        match msg {
            Msg::Frame(ts) => {
                // Render when time moved, including the frame in which the run ended.
                let playing = pb.playing;
                if let Some(last) = self.last_frame_ms {
                    pb.advance(ts - last);
                }
                self.last_frame_ms = Some(ts);
                self.request_frame(ctx);
                playing
            }
            Msg::Toggle => {
                pb.toggle();
                true
            }
        }
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first_render: bool) {
        if first_render
            && let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
        {
            // The end-to-end tests wait for this before they look at the page.
            let _ = body.set_attribute("data-ready", "1");
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let pb = match &self.playback {
            Ok(pb) => pb,
            Err(e) => {
                return html! { <main class="error" role="alert"><h1>{"Faultline"}</h1><p>{ e.clone() }</p></main> };
            }
        };
        let world = &pb.world;
        let now = world.now_us();
        let toggle = ctx.link().callback(|_| Msg::Toggle);
        let rows = (0..world.names().len()).map(|i| {
            let id = NodeId(i as u16);
            let m = world.metrics(id);
            let q = |p: f64| {
                m.latency
                    .quantile_us(p)
                    .map_or("–".to_string(), |us| fmt_ms(us as f64 / 1000.0))
            };
            html! {
                <tr>
                    <th scope="row">{ &world.names()[i] }</th>
                    <td>{ world.node(id).kind() }</td>
                    <td>{ m.successes }</td>
                    <td>{ m.failures }</td>
                    <td>{ q(0.5) }</td>
                    <td>{ q(0.99) }</td>
                </tr>
            }
        });
        html! {
            <div class="app">
                <header>
                    <h1>{"Faultline"}</h1>
                    <p class="tagline">{"Learn distributed systems by breaking them."}</p>
                </header>
                <main>
                    <section class="scenario" aria-labelledby="scenario-title">
                        <h2 id="scenario-title">{ &pb.scenario.title }</h2>
                        <p>{ &pb.scenario.description }</p>
                    </section>
                    <div class="toolbar" role="toolbar" aria-label="Time controls">
                        <button id="play-pause" aria-pressed={pb.playing.to_string()} onclick={toggle}>
                            { if pb.playing { "Pause" } else { "Play" } }
                        </button>
                        <output id="sim-time" data-time-us={now.to_string()} aria-label="Simulated time">
                            { format!("t = {}", faultline_core::fmt_time(now)) }
                        </output>
                        <span class="in-flight">{ format!("{} in flight", world.in_flight_count()) }</span>
                    </div>
                    if let Some(n) = &pb.notice {
                        <p class="notice" role="status">{ n.clone() }</p>
                    }
                    { canvas::view(world, &pb.scenario) }
                    <table class="stats">
                        <caption>{"Requests completed, by node"}</caption>
                        <thead><tr><th scope="col">{"node"}</th><th scope="col">{"model"}</th><th scope="col">{"ok"}</th><th scope="col">{"failed"}</th><th scope="col">{"p50"}</th><th scope="col">{"p99"}</th></tr></thead>
                        <tbody>{ for rows }</tbody>
                    </table>
                </main>
            </div>
        }
    }
}
