//! Playback: a scenario's world plus the page's clock controls (play, pause, speed).
//!
//! Plain Rust with no browser types, so its rules are unit-tested natively: a frame never
//! advances virtual time by more than [`MAX_FRAME_MS`] of wall time (a tab coming back from the
//! background does not fast-forward a minute at once) nor handles more than
//! [`EVENTS_PER_FRAME`] events (a busy scenario slows down instead of freezing the page).

use faultline_core::scenario::{Scenario, ScenarioErrors};
use faultline_core::world::{RunStatus, World};

/// The most wall time one frame may account for, in milliseconds.
pub const MAX_FRAME_MS: f64 = 100.0;
/// The most events one frame may handle.
pub const EVENTS_PER_FRAME: u64 = 50_000;

/// A running scenario and how it is being played.
pub struct Playback {
    /// The scenario being played.
    pub scenario: Scenario,
    /// Its world at the playhead.
    pub world: World,
    /// Whether time is moving.
    pub playing: bool,
    /// Virtual milliseconds per wall millisecond.
    pub speed: f64,
    /// Why playback stopped by itself (end of run, a limit), for people.
    pub notice: Option<String>,
}

impl Playback {
    /// Builds the scenario's world, paused at time zero... then playing.
    pub fn new(scenario: Scenario) -> Result<Self, ScenarioErrors> {
        let world = scenario.build(None)?;
        Ok(Playback {
            scenario,
            world,
            playing: true,
            speed: 1.0,
            notice: None,
        })
    }

    /// The end of the run, in virtual microseconds.
    pub fn end_us(&self) -> u64 {
        self.scenario.duration_us()
    }

    /// Plays or pauses; playing again at the end of a run does nothing.
    pub fn toggle(&mut self) {
        if self.playing {
            self.playing = false;
        } else if self.world.now_us() < self.end_us() && self.world.halted().is_none() {
            self.playing = true;
            self.notice = None;
        }
    }

    /// Advances by one frame of `wall_ms` wall-clock milliseconds; does nothing while paused.
    pub fn advance(&mut self, wall_ms: f64) {
        if !self.playing || !wall_ms.is_finite() || wall_ms <= 0.0 {
            return;
        }
        let wall_ms = wall_ms.min(MAX_FRAME_MS);
        let step_us = (wall_ms * self.speed * 1000.0).round() as u64;
        let target = self
            .world
            .now_us()
            .saturating_add(step_us.max(1))
            .min(self.end_us());
        match self.world.run_until(target, EVENTS_PER_FRAME) {
            RunStatus::Halted(why) => {
                self.playing = false;
                self.notice = Some(why);
            }
            RunStatus::Reached | RunStatus::Idle | RunStatus::Budget => {}
        }
        if self.world.now_us() >= self.end_us() {
            self.playing = false;
            self.notice = Some("The run is over.".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playback() -> Playback {
        let s =
            Scenario::parse(crate::app::DEFAULT_SCENARIO).expect("the default scenario is valid");
        Playback::new(s).expect("it builds")
    }

    #[test]
    fn time_moves_only_while_playing() {
        let mut p = playback();
        p.advance(16.0);
        let t1 = p.world.now_us();
        assert_eq!(t1, 16_000);
        p.toggle();
        p.advance(16.0);
        assert_eq!(p.world.now_us(), t1, "paused: time stands still");
        p.toggle();
        p.advance(16.0);
        assert!(p.world.now_us() > t1);
    }

    #[test]
    fn a_long_frame_is_capped() {
        let mut p = playback();
        p.advance(60_000.0);
        assert_eq!(p.world.now_us(), (MAX_FRAME_MS * 1000.0) as u64);
    }

    #[test]
    fn playback_stops_at_the_end_of_the_run() {
        let mut p = playback();
        p.speed = 1_000.0;
        for _ in 0..1_000 {
            p.advance(100.0);
        }
        assert_eq!(p.world.now_us(), p.end_us());
        assert!(!p.playing);
        p.toggle();
        assert!(!p.playing, "cannot play past the end");
    }
}
