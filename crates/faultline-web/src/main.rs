//! Faultline's playground: a Yew page that draws the core's simulation and drives its time.
//!
//! Architecture invariant: this crate owns everything that touches the browser (the DOM,
//! `requestAnimationFrame`, the wall clock); the core never does. The page turns each frame's
//! wall-clock delta into a bounded amount of virtual time and asks the core to run up to it.

mod app;
mod canvas;
mod charts;
mod compare;
mod controls;
mod framebench;
mod lessons;
mod sandbox;
mod session;
mod spacetime;
mod verdicts;
mod views;
mod waterfall;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
