//! Faultline's playground: a Yew page that draws the core's simulation and drives its time.
//!
//! Architecture invariant: this crate owns everything that touches the browser (the DOM,
//! `requestAnimationFrame`, the wall clock); the core never does. The page turns each frame's
//! wall-clock delta into a bounded amount of virtual time and asks the core to run up to it.

mod action;
mod app;
mod boards;
mod browser;
mod canvas;
mod charts;
mod compare;
mod compare_view;
mod controls;
mod derive;
mod event_log;
mod framebench;
mod glyphs;
mod inspector;
mod kinds;
mod layout;
mod lesson_panel;
mod lessons;
mod mentions;
mod message_layer;
mod meter;
mod moments;
mod moments_view;
mod observed;
mod panels;
mod reduce;
mod refresh;
mod sandbox;
mod session;
mod snapshots;
mod spacetime;
mod state;
mod sweep_state;
mod sweep_view;
mod templates;
mod toolbar;
mod verdicts;
mod views;
mod waterfall;

/// Counts the heap per thread, so the time line can keep its snapshots within a byte budget.
#[global_allocator]
static ALLOCATOR: meter::Counting = meter::Counting;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
