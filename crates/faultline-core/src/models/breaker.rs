//! A circuit breaker: a state machine in front of a downstream that stops calling it while it
//! fails, and probes it before trusting it again.
//!
//! Reference: Resilience4j (CircuitBreakerConfig, CircuitBreakerStateMachine,
//! CircuitBreakerMetrics), as Resilience4j's documentation states it, by default:
//!
//! - CLOSED records each call's outcome in a sliding window (count-based: the last N calls;
//!   time-based: N one-second buckets). Below the minimum number of calls no rate is computed
//!   (for a count window the minimum is min(minimum calls, window size)). It opens when the
//!   failure rate is **at or above** its threshold (exactly 50 % opens) or the slow-call rate is at
//!   or above its own; a call is slow when it took **strictly longer** than the slow threshold.
//! - OPEN rejects every call, without reaching the downstream, until the wait has **strictly**
//!   passed. With automatic transition off (the default) the first call after the wait moves it
//!   to HALF_OPEN and goes through; with it on, the move happens at the deadline itself (a
//!   scheduled task `wait` after opening), so a call at exactly the deadline is a trial call.
//! - HALF_OPEN admits exactly the permitted number of trial calls and rejects the rest. Once
//!   min(minimum calls, permitted calls) of them have completed (CircuitBreakerMetrics.forHalfOpen:
//!   a count window the size of the permitted calls) it evaluates them alone: over a threshold,
//!   OPEN again (a new wait); else CLOSED with empty metrics. Trial calls still in flight then
//!   change nothing.
//! - Calls admitted in an earlier state (in flight when it opened) change nothing.
//!
//! Presets: **opossum** (Node): trips when the error percentage is **strictly above** 50, no
//! minimum volume, a 10 s rolling window in 10 buckets, a 30 s reset timeout, **one** trial call,
//! and any failure while half-open reopens it. **Polly v8** (.NET): failure ratio at or above
//! 10 % with at least 100 calls in a 30 s sampling window, a 5 s break, one trial call.
//!
//! Assumptions where the references are silent: what counts as a failure is decided by the
//! caller (the client counts timeouts and 5xx/429 answers); opossum's and Polly's slow-call
//! detection is off, as in those libraries.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use super::{ConfigError, check_ms};
use crate::dist::ms_to_us;

/// Which library's rules to follow; explicit settings override the preset's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Resilience4j's defaults.
    #[default]
    Resilience4j,
    /// opossum's defaults and rules.
    Opossum,
    /// Polly v8's defaults.
    Polly,
}

/// The sliding window. Read by hand, as every tagged enum of a scenario (see `tagged`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Window {
    /// The last `size` calls.
    Count {
        /// How many calls.
        size: u32,
    },
    /// The calls of the last `seconds` seconds, in one-second buckets.
    Time {
        /// How many seconds.
        seconds: u32,
    },
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::tagged::deserialize(d, |v| {
            static SHAPE: crate::tagged::Shape<2> = crate::tagged::Shape::new(
                "type",
                "a sliding window",
                [("count", &["size"]), ("time", &["seconds"])],
            );
            let (name, mut f) = SHAPE.open(v)?;
            Ok(match name {
                "count" => Window::Count {
                    size: f.req("size")?,
                },
                "time" => Window::Time {
                    seconds: f.req("seconds")?,
                },
                other => return Err(SHAPE.unknown(other)),
            })
        })
    }
}

/// A breaker's settings, as a scenario writes them. Absent fields take the preset's values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Whose rules.
    #[serde(default)]
    pub preset: Preset,
    /// Failure rate that opens it, percent.
    #[serde(default)]
    pub failure_rate_threshold: Option<f64>,
    /// Slow-call rate that opens it, percent (Resilience4j only).
    #[serde(default)]
    pub slow_call_rate_threshold: Option<f64>,
    /// A call slower than this is slow.
    #[serde(default)]
    pub slow_call_duration_ms: Option<f64>,
    /// How long it stays open.
    #[serde(default)]
    pub wait_in_open_ms: Option<f64>,
    /// Trial calls admitted while half-open.
    #[serde(default)]
    pub permitted_calls_in_half_open: Option<u32>,
    /// Calls needed before a rate is computed.
    #[serde(default)]
    pub minimum_calls: Option<u32>,
    /// The sliding window.
    #[serde(default)]
    pub window: Option<Window>,
    /// Move from OPEN to HALF_OPEN at the deadline rather than on the next call.
    #[serde(default)]
    pub automatic_transition: Option<bool>,
}

/// The rules in force, with the preset applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    /// Failure-rate threshold, percent.
    pub failure_pct: f64,
    /// Trip at exactly the threshold (Resilience4j, Polly) or only above it (opossum).
    pub trip_at_threshold: bool,
    /// Slow-call rate threshold, percent, when slow calls count.
    pub slow_pct: Option<f64>,
    /// Slow-call duration, microseconds.
    pub slow_us: u64,
    /// Wait in OPEN, microseconds.
    pub wait_us: u64,
    /// Trial calls in HALF_OPEN.
    pub half_open_permits: u32,
    /// Minimum calls before a rate is computed.
    pub minimum_calls: u32,
    /// The window.
    pub window: Window,
    /// Automatic OPEN -> HALF_OPEN.
    pub automatic: bool,
    /// Any failure in HALF_OPEN reopens at once (opossum).
    pub half_open_failure_reopens: bool,
}

impl BreakerConfig {
    /// The rules: the preset's, overridden by what is set.
    pub fn rules(&self) -> Rules {
        let mut r = match self.preset {
            Preset::Resilience4j => Rules {
                failure_pct: 50.0,
                trip_at_threshold: true,
                slow_pct: Some(100.0),
                slow_us: 60_000_000,
                wait_us: 60_000_000,
                half_open_permits: 10,
                minimum_calls: 100,
                window: Window::Count { size: 100 },
                automatic: false,
                half_open_failure_reopens: false,
            },
            Preset::Opossum => Rules {
                failure_pct: 50.0,
                trip_at_threshold: false,
                slow_pct: None,
                slow_us: u64::MAX,
                wait_us: 30_000_000,
                half_open_permits: 1,
                minimum_calls: 0,
                window: Window::Time { seconds: 10 },
                automatic: false,
                half_open_failure_reopens: true,
            },
            Preset::Polly => Rules {
                failure_pct: 10.0,
                trip_at_threshold: true,
                slow_pct: None,
                slow_us: u64::MAX,
                wait_us: 5_000_000,
                half_open_permits: 1,
                minimum_calls: 100,
                window: Window::Time { seconds: 30 },
                automatic: false,
                half_open_failure_reopens: false,
            },
        };
        if let Some(v) = self.failure_rate_threshold {
            r.failure_pct = v;
        }
        if let Some(v) = self.slow_call_rate_threshold {
            r.slow_pct = Some(v);
        }
        if let Some(v) = self.slow_call_duration_ms {
            r.slow_us = ms_to_us(v);
            r.slow_pct.get_or_insert(100.0);
        }
        if let Some(v) = self.wait_in_open_ms {
            r.wait_us = ms_to_us(v);
        }
        if let Some(v) = self.permitted_calls_in_half_open {
            r.half_open_permits = v;
        }
        if let Some(v) = self.minimum_calls {
            r.minimum_calls = v;
        }
        if let Some(v) = self.window {
            r.window = v;
        }
        if let Some(v) = self.automatic_transition {
            r.automatic = v;
        }
        r
    }

    /// Checks ranges; field names relative to the breaker.
    pub fn check(&self) -> Result<(), ConfigError> {
        for (field, v) in [
            ("failure_rate_threshold", self.failure_rate_threshold),
            ("slow_call_rate_threshold", self.slow_call_rate_threshold),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0 && v <= 100.0)
            {
                return Err((
                    field.into(),
                    format!("expected more than 0 and at most 100 (percent), got {v}"),
                ));
            }
        }
        if let Some(v) = self.slow_call_duration_ms {
            check_ms("slow_call_duration_ms", v, 0.0, 3_600_000.0)?;
        }
        if let Some(v) = self.wait_in_open_ms {
            // Resilience4j's builder refuses a wait under 1 ms ("waitDurationInOpenState must be
            // at least 1[ms]"): a breaker that never waits would never reject anything.
            if v.is_finite() && v < 1.0 {
                return Err((
                    "wait_in_open_ms".into(),
                    format!(
                        "expected at least 1 ms (Resilience4j requires a wait of at least 1 ms in OPEN), got {v}"
                    ),
                ));
            }
            check_ms("wait_in_open_ms", v, 1.0, 3_600_000.0)?;
        }
        if let Some(v) = self.permitted_calls_in_half_open
            && !(1..=1_000).contains(&v)
        {
            return Err((
                "permitted_calls_in_half_open".into(),
                format!("expected 1 to 1000, got {v}"),
            ));
        }
        if let Some(v) = self.minimum_calls
            && v > 100_000
        {
            return Err((
                "minimum_calls".into(),
                format!("expected 0 to 100000, got {v}"),
            ));
        }
        match self.window {
            Some(Window::Count { size }) if !(1..=10_000).contains(&size) => Err((
                "window.size".into(),
                format!("expected 1 to 10000 calls, got {size}"),
            )),
            Some(Window::Time { seconds }) if !(1..=3_600).contains(&seconds) => Err((
                "window.seconds".into(),
                format!("expected 1 to 3600 seconds, got {seconds}"),
            )),
            _ => Ok(()),
        }
    }
}

/// The breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Calls go through and are recorded.
    Closed,
    /// Calls are rejected; it opened at `since_us`.
    Open {
        /// When it opened.
        since_us: u64,
    },
    /// Trial calls go through.
    HalfOpen,
}

impl State {
    /// The state's name as the libraries print it.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Open { .. } => "OPEN",
            State::HalfOpen => "HALF_OPEN",
        }
    }
}

/// A call admitted by the breaker; hand it back with the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permit {
    generation: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    calls: u32,
    failures: u32,
    slow: u32,
}

/// The state machine.
#[derive(Clone, Debug)]
pub struct Breaker {
    rules: Rules,
    state: State,
    generation: u64,
    // Count window: the outcomes of the last calls, (failed, slow).
    calls: VecDeque<(bool, bool)>,
    // Time window: (second, tally) for the recent seconds.
    buckets: VecDeque<(u64, Tally)>,
    half_open_admitted: u32,
    half_open: Tally,
    transitions: Vec<String>,
    /// Calls rejected so far.
    pub rejected: u64,
}

impl Breaker {
    /// A closed breaker with these rules.
    pub fn new(rules: Rules) -> Self {
        Breaker {
            rules,
            state: State::Closed,
            generation: 0,
            calls: VecDeque::new(),
            buckets: VecDeque::new(),
            half_open_admitted: 0,
            half_open: Tally::default(),
            transitions: Vec::new(),
            rejected: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Replaces the rules (a setting changed); the state and the recorded calls stay.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// Why the last call was refused, for the trace: "rejected by the breaker (OPEN)".
    pub fn rejection(&self) -> &'static str {
        match self.state {
            State::HalfOpen => "rejected by the breaker (HALF_OPEN, every trial call taken)",
            _ => "rejected by the breaker (OPEN)",
        }
    }

    /// Transitions since the last call, described for the trace.
    pub fn take_transitions(&mut self) -> Vec<String> {
        std::mem::take(&mut self.transitions)
    }

    /// When an automatic OPEN -> HALF_OPEN move is due, if one is.
    pub fn deadline_us(&self) -> Option<u64> {
        match self.state {
            // Resilience4j schedules the move `wait` after opening: at the deadline itself.
            State::Open { since_us } if self.rules.automatic => {
                Some(since_us.saturating_add(self.rules.wait_us))
            }
            _ => None,
        }
    }

    fn move_to(&mut self, to: State, why: String) {
        self.transitions.push(format!(
            "breaker {} -> {}: {why}",
            self.state.name(),
            to.name()
        ));
        self.state = to;
        self.generation += 1;
        self.calls.clear();
        self.buckets.clear();
        self.half_open_admitted = 0;
        self.half_open = Tally::default();
    }

    /// The automatic transition, when its deadline has come.
    pub fn tick(&mut self, now_us: u64) {
        if let Some(d) = self.deadline_us()
            && now_us >= d
        {
            self.move_to(
                State::HalfOpen,
                format!("the wait of {} ms passed", self.rules.wait_us / 1000),
            );
        }
    }

    /// Asks to make a call now: a permit, or `None` when the breaker rejects it.
    pub fn try_acquire(&mut self, now_us: u64) -> Option<Permit> {
        if let State::Open { since_us } = self.state {
            if !self.rules.automatic && now_us.saturating_sub(since_us) > self.rules.wait_us {
                self.move_to(
                    State::HalfOpen,
                    format!(
                        "the wait of {} ms passed and a call came",
                        self.rules.wait_us / 1000
                    ),
                );
            } else {
                self.rejected += 1;
                return None;
            }
        }
        if self.state == State::HalfOpen {
            if self.half_open_admitted >= self.rules.half_open_permits {
                self.rejected += 1;
                return None;
            }
            self.half_open_admitted += 1;
        }
        Some(Permit {
            generation: self.generation,
        })
    }

    fn tripped(&self, t: Tally) -> Option<String> {
        let calls = f64::from(t.calls.max(1));
        let failure = f64::from(t.failures) * 100.0 / calls;
        let slow = f64::from(t.slow) * 100.0 / calls;
        let over = |rate: f64, threshold: f64| {
            if self.rules.trip_at_threshold {
                rate >= threshold
            } else {
                rate > threshold
            }
        };
        let cmp = if self.rules.trip_at_threshold {
            ">="
        } else {
            ">"
        };
        if over(failure, self.rules.failure_pct) {
            return Some(format!(
                "failure rate {failure:.1} % {cmp} {} % over {} calls",
                self.rules.failure_pct, t.calls
            ));
        }
        if let Some(threshold) = self.rules.slow_pct
            && over(slow, threshold)
        {
            return Some(format!(
                "slow-call rate {slow:.1} % {cmp} {threshold} % over {} calls",
                t.calls
            ));
        }
        None
    }

    fn window_tally(&mut self, now_us: u64) -> (Tally, u32) {
        match self.rules.window {
            Window::Count { size } => {
                while self.calls.len() > size as usize {
                    self.calls.pop_front();
                }
                let mut t = Tally::default();
                for (failed, slow) in &self.calls {
                    t.calls += 1;
                    t.failures += u32::from(*failed);
                    t.slow += u32::from(*slow);
                }
                (t, self.rules.minimum_calls.min(size))
            }
            Window::Time { seconds } => {
                let now_s = now_us / 1_000_000;
                while self
                    .buckets
                    .front()
                    .is_some_and(|(s, _)| *s + u64::from(seconds) <= now_s)
                {
                    self.buckets.pop_front();
                }
                let mut t = Tally::default();
                for (_, b) in &self.buckets {
                    t.calls += b.calls;
                    t.failures += b.failures;
                    t.slow += b.slow;
                }
                (t, self.rules.minimum_calls)
            }
        }
    }

    /// Trial calls that decide HALF_OPEN: Resilience4j keeps them in a count window the size of
    /// the permitted calls, whose minimum is min(minimum calls, permitted calls), at least one.
    fn half_open_quorum(&self) -> u32 {
        self.rules
            .minimum_calls
            .min(self.rules.half_open_permits)
            .max(1)
    }

    /// Records the outcome of a permitted call that took `duration_us`.
    pub fn on_result(&mut self, now_us: u64, permit: Permit, failed: bool, duration_us: u64) {
        if permit.generation != self.generation {
            return; // admitted in an earlier state: changes nothing
        }
        let slow = self.rules.slow_pct.is_some() && duration_us > self.rules.slow_us;
        match self.state {
            State::Closed => {
                match self.rules.window {
                    Window::Count { .. } => self.calls.push_back((failed, slow)),
                    Window::Time { .. } => {
                        let s = now_us / 1_000_000;
                        if self.buckets.back().is_none_or(|(b, _)| *b != s) {
                            self.buckets.push_back((s, Tally::default()));
                        }
                        let b = &mut self.buckets.back_mut().expect("just pushed").1;
                        b.calls += 1;
                        b.failures += u32::from(failed);
                        b.slow += u32::from(slow);
                    }
                }
                let (t, minimum) = self.window_tally(now_us);
                if t.calls >= minimum.max(1)
                    && let Some(why) = self.tripped(t)
                {
                    self.move_to(State::Open { since_us: now_us }, why);
                }
            }
            State::HalfOpen => {
                self.half_open.calls += 1;
                self.half_open.failures += u32::from(failed);
                self.half_open.slow += u32::from(slow);
                if failed && self.rules.half_open_failure_reopens {
                    self.move_to(
                        State::Open { since_us: now_us },
                        "a trial call failed".into(),
                    );
                } else if self.half_open.calls >= self.half_open_quorum() {
                    let t = self.half_open;
                    match self.tripped(t) {
                        Some(why) => self.move_to(
                            State::Open { since_us: now_us },
                            format!("trial calls: {why}"),
                        ),
                        None => self.move_to(
                            State::Closed,
                            format!(
                                "{} of {} trial calls succeeded",
                                t.calls - t.failures,
                                t.calls
                            ),
                        ),
                    }
                }
            }
            State::Open { .. } => {}
        }
    }

    /// The numbers in the window now, for the inspector: (calls, failures, slow).
    pub fn window_counts(&self) -> (u32, u32, u32) {
        let mut t = Tally::default();
        for (failed, slow) in &self.calls {
            t.calls += 1;
            t.failures += u32::from(*failed);
            t.slow += u32::from(*slow);
        }
        for (_, b) in &self.buckets {
            t.calls += b.calls;
            t.failures += b.failures;
            t.slow += b.slow;
        }
        (t.calls, t.failures, t.slow)
    }

    /// The breaker for drawing: its state, the end of its wait when open, its window.
    pub fn view(&self) -> crate::view::BreakerView {
        use crate::view::BreakerState as S;
        let (calls, failures, slow) = self.window_counts();
        let (state, opened_at_us) = match self.state {
            State::Closed => (S::Closed, None),
            State::Open { since_us } => (S::Open, Some(since_us)),
            State::HalfOpen => (S::HalfOpen, None),
        };
        crate::view::BreakerView {
            state,
            opened_at_us,
            open_until_us: opened_at_us.map(|t| t.saturating_add(self.rules.wait_us)),
            automatic: self.rules.automatic,
            half_open_permits: self.rules.half_open_permits,
            half_open_admitted: self.half_open_admitted,
            window_calls: calls,
            window_failures: failures,
            window_slow: slow,
            failure_rate_pct: if calls == 0 {
                0.0
            } else {
                f64::from(failures) * 100.0 / f64::from(calls)
            },
            failure_threshold_pct: self.rules.failure_pct,
            rejected: self.rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r4j(min: u32, size: u32) -> Breaker {
        let cfg = BreakerConfig {
            minimum_calls: Some(min),
            window: Some(Window::Count { size }),
            wait_in_open_ms: Some(1_000.0),
            permitted_calls_in_half_open: Some(2),
            ..Default::default()
        };
        Breaker::new(cfg.rules())
    }

    fn call(b: &mut Breaker, now: u64, failed: bool) -> bool {
        match b.try_acquire(now) {
            Some(p) => {
                b.on_result(now, p, failed, 1_000);
                true
            }
            None => false,
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn resilience4j_defaults_match_the_reference() {
        let r = BreakerConfig::default().rules();
        assert_eq!(
            (r.failure_pct, r.slow_pct, r.slow_us, r.wait_us),
            (50.0, Some(100.0), 60_000_000, 60_000_000)
        );
        assert_eq!(
            (r.half_open_permits, r.minimum_calls, r.window, r.automatic),
            (10, 100, Window::Count { size: 100 }, false)
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn below_the_minimum_nothing_trips_and_exactly_fifty_percent_opens() {
        let mut b = r4j(10, 100);
        for i in 0..9 {
            call(&mut b, i, true);
        }
        assert_eq!(
            b.state(),
            State::Closed,
            "9 failures of 9 calls: below the minimum of 10"
        );
        let mut b = r4j(10, 100);
        for i in 0..10 {
            call(&mut b, i, i % 2 == 0);
        }
        assert!(
            matches!(b.state(), State::Open { .. }),
            "5 of 10 is exactly 50 %: opens"
        );
        assert!(b.take_transitions()[0].contains("failure rate 50.0 % >= 50 % over 10 calls"));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_count_window_smaller_than_the_minimum_uses_its_size() {
        let mut b = r4j(100, 4);
        for i in 0..4 {
            call(&mut b, i, true);
        }
        assert!(
            matches!(b.state(), State::Open { .. }),
            "min(100, 4) = 4 calls suffice"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_call_exactly_at_the_slow_threshold_is_not_slow() {
        let cfg = BreakerConfig {
            minimum_calls: Some(2),
            window: Some(Window::Count { size: 2 }),
            slow_call_duration_ms: Some(100.0),
            ..Default::default()
        };
        let mut b = Breaker::new(cfg.rules());
        for t in 0..2 {
            let p = b.try_acquire(t).unwrap();
            b.on_result(t, p, false, 100_000);
        }
        assert_eq!(b.state(), State::Closed);
        let p = b.try_acquire(3).unwrap();
        b.on_result(3, p, false, 100_001);
        let p = b.try_acquire(4).unwrap();
        b.on_result(4, p, false, 100_001);
        assert!(
            matches!(b.state(), State::Open { .. }),
            "two slow calls of two: 100 % >= 100 %"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn open_rejects_until_the_wait_has_strictly_passed() {
        let mut b = r4j(2, 2);
        call(&mut b, 0, true);
        call(&mut b, 10, true);
        assert_eq!(b.state(), State::Open { since_us: 10 });
        assert!(
            b.try_acquire(10 + 1_000_000).is_none(),
            "exactly at the wait: still open"
        );
        assert_eq!(b.rejected, 1);
        assert!(
            b.try_acquire(10 + 1_000_001).is_some(),
            "strictly after: half-open, this call goes through"
        );
        assert_eq!(b.state(), State::HalfOpen);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn half_open_admits_exactly_the_permitted_trials_then_decides() {
        let mut b = r4j(2, 2);
        call(&mut b, 0, true);
        call(&mut b, 1, true);
        let t = 2_000_000;
        let p1 = b.try_acquire(t).unwrap();
        let p2 = b.try_acquire(t).unwrap();
        assert!(b.try_acquire(t).is_none(), "only 2 trial calls");
        b.on_result(t, p1, false, 1);
        assert_eq!(b.state(), State::HalfOpen, "waits for both trials");
        b.on_result(t, p2, true, 1);
        assert!(
            matches!(b.state(), State::Open { .. }),
            "1 of 2 failed: 50 % >= 50 %, open again"
        );
        let t = 4_000_000;
        let p1 = b.try_acquire(t).unwrap();
        let p2 = b.try_acquire(t).unwrap();
        b.on_result(t, p1, false, 1);
        b.on_result(t, p2, false, 1);
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.window_counts(), (0, 0, 0), "closed with empty metrics");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn half_open_decides_after_min_of_minimum_calls_and_permitted_calls() {
        // Resilience4j: minimum 2 calls, 5 permitted in HALF_OPEN: two completed trials decide.
        let cfg = BreakerConfig {
            minimum_calls: Some(2),
            window: Some(Window::Count { size: 2 }),
            wait_in_open_ms: Some(1_000.0),
            permitted_calls_in_half_open: Some(5),
            ..Default::default()
        };
        let mut b = Breaker::new(cfg.rules());
        call(&mut b, 0, true);
        call(&mut b, 1, true);
        let t = 2_000_000;
        let trials: Vec<Permit> = (0..5).map(|_| b.try_acquire(t).unwrap()).collect();
        assert!(b.try_acquire(t).is_none(), "only 5 trial calls");
        b.on_result(t, trials[0], false, 1);
        assert_eq!(b.state(), State::HalfOpen, "one trial is below min(2, 5)");
        b.on_result(t, trials[1], false, 1);
        assert_eq!(
            b.state(),
            State::Closed,
            "two successful trials of min(2, 5) close it without waiting for the other three"
        );
        b.on_result(t, trials[2], true, 1);
        assert_eq!(
            b.window_counts(),
            (0, 0, 0),
            "a later trial changes nothing"
        );
        // And the other way round: minimum 10, 3 permitted: all three decide.
        let cfg = BreakerConfig {
            minimum_calls: Some(10),
            window: Some(Window::Count { size: 10 }),
            wait_in_open_ms: Some(1_000.0),
            permitted_calls_in_half_open: Some(3),
            ..Default::default()
        };
        let mut b = Breaker::new(cfg.rules());
        for i in 0..10 {
            call(&mut b, i, true);
        }
        let t = 2_000_000;
        let trials: Vec<Permit> = (0..3).map(|_| b.try_acquire(t).unwrap()).collect();
        b.on_result(t, trials[0], true, 1);
        b.on_result(t, trials[1], false, 1);
        assert_eq!(b.state(), State::HalfOpen, "2 of min(10, 3) = 3");
        b.on_result(t, trials[2], false, 1);
        assert_eq!(b.state(), State::Closed, "1 of 3 failed: 33 % < 50 %");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn calls_in_flight_when_it_opened_change_nothing() {
        let mut b = r4j(2, 2);
        let early = b.try_acquire(0).unwrap();
        call(&mut b, 1, true);
        call(&mut b, 2, true);
        assert!(matches!(b.state(), State::Open { .. }));
        b.on_result(5, early, false, 1);
        assert!(matches!(b.state(), State::Open { .. }));
        assert_eq!(b.window_counts(), (0, 0, 0));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn open_moves_to_half_open_exactly_at_the_wait_deadline() {
        let cfg = BreakerConfig {
            minimum_calls: Some(1),
            window: Some(Window::Count { size: 1 }),
            wait_in_open_ms: Some(500.0),
            automatic_transition: Some(true),
            ..Default::default()
        };
        let mut b = Breaker::new(cfg.rules());
        call(&mut b, 0, true);
        assert_eq!(b.deadline_us(), Some(500_000));
        b.tick(499_999);
        assert!(matches!(b.state(), State::Open { .. }));
        b.tick(500_000);
        assert_eq!(b.state(), State::HalfOpen);
        // A call at exactly the deadline (the caller ticks first, as the models do) is a trial.
        let mut b = Breaker::new(cfg.rules());
        call(&mut b, 0, true);
        b.tick(500_000);
        assert!(b.try_acquire(500_000).is_some(), "admitted at the deadline");
        assert_eq!(b.rejected, 0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn opossum_trips_only_above_fifty_percent_and_one_failed_trial_reopens() {
        let cfg = BreakerConfig {
            preset: Preset::Opossum,
            ..Default::default()
        };
        let r = cfg.rules();
        assert_eq!(
            (r.wait_us, r.half_open_permits, r.window, r.minimum_calls),
            (30_000_000, 1, Window::Time { seconds: 10 }, 0)
        );
        let mut b = Breaker::new(r);
        call(&mut b, 0, false);
        call(&mut b, 1, true);
        assert_eq!(
            b.state(),
            State::Closed,
            "1 of 2 is exactly 50 %: opossum needs more"
        );
        call(&mut b, 2, true);
        assert!(
            matches!(b.state(), State::Open { .. }),
            "2 of 3 is above 50 %"
        );
        let t = 2 + 30_000_001;
        let p = b.try_acquire(t).unwrap();
        assert!(b.try_acquire(t).is_none(), "one trial call");
        b.on_result(t, p, true, 1);
        assert!(matches!(b.state(), State::Open { .. }));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_time_window_forgets_old_seconds() {
        let cfg = BreakerConfig {
            preset: Preset::Polly,
            minimum_calls: Some(4),
            ..Default::default()
        };
        let mut b = Breaker::new(cfg.rules());
        for i in 0..3 {
            call(&mut b, i, true);
        }
        // 40 s later the three failures have left the 30 s window.
        for i in 0..4 {
            call(&mut b, 40_000_000 + i, false);
        }
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.window_counts(), (4, 0, 0));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn absurd_settings_are_refused() {
        let bad = [
            BreakerConfig {
                failure_rate_threshold: Some(0.0),
                ..Default::default()
            },
            BreakerConfig {
                failure_rate_threshold: Some(150.0),
                ..Default::default()
            },
            BreakerConfig {
                permitted_calls_in_half_open: Some(0),
                ..Default::default()
            },
            BreakerConfig {
                window: Some(Window::Count { size: 0 }),
                ..Default::default()
            },
            BreakerConfig {
                wait_in_open_ms: Some(-5.0),
                ..Default::default()
            },
        ];
        for b in bad {
            assert!(b.check().is_err(), "{b:?}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn wait_in_open_must_be_at_least_one_ms_as_resilience4j_requires() {
        for v in [0.0, 0.5] {
            let b = BreakerConfig {
                wait_in_open_ms: Some(v),
                ..Default::default()
            };
            let (field, message) = b.check().unwrap_err();
            assert_eq!(field, "wait_in_open_ms");
            assert!(message.contains("at least 1 ms"), "{message}");
        }
        let b = BreakerConfig {
            wait_in_open_ms: Some(1.0),
            ..Default::default()
        };
        assert_eq!(b.check(), Ok(()));
    }
}
