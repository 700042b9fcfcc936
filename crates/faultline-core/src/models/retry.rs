//! The retry driver: one call's attempts under a client policy, shared by the client
//! ([`super::client`]) and a service's downstream calls ([`super::downstream`]).
//!
//! A pure state machine: it never sends, sets a timer or counts. Its caller says when an attempt
//! begins, how it ended and whether it succeeded; the driver asks the circuit breaker, tells it
//! the outcome, and decides, under `retry_on`, `max_attempts` and the retry budget, whether to try
//! again and after how long (the AWS backoff formulas, `client::backoff_us`). The caller
//! then does what the answer says, with its own counters and messages.
//!
//! The timers of both callers are typed here too (`ClientTimer`, `CallTimer`): each is
//! encoded to the `u64` tag the engine carries, and decoded back, in one place.

use serde::{Deserialize, Serialize};

use super::breaker::{Breaker, Permit};
use super::client::{BudgetState, RetryOn, RetryPolicy, backoff_us};
use crate::rng::SimRng;

/// One call's attempts: how many so far, the last backoff, and the breaker's permit for the
/// attempt in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attempts {
    /// Attempts begun, the one in flight included (breaker rejections count).
    pub(crate) attempt: u32,
    /// When the current attempt began.
    pub(crate) started_us: u64,
    prev_sleep_us: u64,
    permit: Option<Permit>,
}

/// Whether an attempt may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Send it.
    Go,
    /// The breaker rejected it: it failed at once, as [`RetryOn::BreakerOpen`].
    Rejected,
}

/// What follows a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Try again after this pause.
    Retry {
        /// The backoff, microseconds.
        after_us: u64,
    },
    /// The call has failed: not retryable, or out of attempts.
    GiveUp,
    /// The call has failed: a retry was wanted but the budget refused it.
    BudgetExhausted,
}

impl Attempts {
    /// A new attempt begins at `now_us`: counts it and asks the breaker, if there is one (after
    /// its automatic transition, if due).
    pub(crate) fn begin(&mut self, now_us: u64, breaker: Option<&mut Breaker>) -> Admit {
        self.attempt += 1;
        self.permit = None;
        self.started_us = now_us;
        if let Some(b) = breaker {
            b.tick(now_us);
            match b.try_acquire(now_us) {
                Some(p) => self.permit = Some(p),
                None => return Admit::Rejected,
            }
        }
        Admit::Go
    }

    /// The attempt in flight ended at `now_us` (an answer, or its timeout). Tells the breaker
    /// that admitted it how it went (server errors, throttling and timeouts are failures).
    /// Returns whether the breaker was told (it may have moved).
    pub(crate) fn settle(
        &mut self,
        now_us: u64,
        breaker: Option<&mut Breaker>,
        failed: bool,
    ) -> bool {
        match (breaker, self.permit.take()) {
            (Some(b), Some(p)) => {
                b.on_result(now_us, p, failed, now_us - self.started_us);
                true
            }
            _ => false,
        }
    }

    /// The attempt in flight is abandoned without an outcome (a deadline passed): the breaker
    /// hears nothing of it.
    pub(crate) fn abandon(&mut self) {
        self.permit = None;
    }

    /// The attempt failed with `outcome` (`None`: never retryable). Charges the budget, and
    /// decides: a retry after a backoff drawn from `rng`, or the end of the call.
    pub(crate) fn failed(
        &mut self,
        policy: &RetryPolicy,
        budget: &mut BudgetState,
        outcome: Option<RetryOn>,
        now_us: u64,
        rng: &mut SimRng,
    ) -> Next {
        let retryable = outcome.is_some_and(|o| policy.retry_on.contains(&o));
        if let Some(b) = &policy.budget {
            budget.on_outcome(b, false);
        }
        let wants_retry = retryable && self.attempt < policy.effective_max_attempts();
        if !wants_retry {
            return Next::GiveUp;
        }
        if let Some(b) = &policy.budget
            && !budget.allow_retry(b, now_us)
        {
            return Next::BudgetExhausted;
        }
        let after_us = backoff_us(&policy.backoff, rng, self.attempt, self.prev_sleep_us);
        self.prev_sleep_us = after_us;
        Next::Retry { after_us }
    }

    /// The attempt succeeded: credits the budget.
    pub(crate) fn succeeded(policy: &RetryPolicy, budget: &mut BudgetState) {
        if let Some(b) = &policy.budget {
            budget.on_outcome(b, true);
        }
    }
}

fn default_initial_interval_ms() -> f64 {
    1_000.0
}
fn default_backoff_coefficient() -> f64 {
    2.0
}

/// The most attempts an activity retry policy may allow (0 means no limit).
pub const MAX_ACTIVITY_ATTEMPTS: u32 = 1_000;

/// One saga step's retry policy, with the semantics of Temporal's activity `RetryPolicy`
/// (docs.temporal.io, "Retry Policies"): retry `n` (counting from 1) waits
/// `min(initial_interval * backoff_coefficient^(n-1), maximum_interval)`, without jitter, and
/// the activity fails for good after `maximum_attempts` attempts, the first included (0: no
/// limit). The defaults are Temporal's: 1 s, 2.0, 100 x the initial interval, unlimited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRetryPolicy {
    /// The wait before the first retry.
    #[serde(default = "default_initial_interval_ms")]
    pub initial_interval_ms: f64,
    /// How much each wait grows over the previous one (at least 1).
    #[serde(default = "default_backoff_coefficient")]
    pub backoff_coefficient: f64,
    /// The longest wait; `null` (the default) is 100 times `initial_interval_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_interval_ms: Option<f64>,
    /// Attempts in all, the first included; 0 (the default) retries until the step succeeds.
    #[serde(default)]
    pub maximum_attempts: u32,
}

impl Default for ActivityRetryPolicy {
    fn default() -> Self {
        ActivityRetryPolicy {
            initial_interval_ms: default_initial_interval_ms(),
            backoff_coefficient: default_backoff_coefficient(),
            maximum_interval_ms: None,
            maximum_attempts: 0,
        }
    }
}

impl ActivityRetryPolicy {
    /// The longest wait, in milliseconds.
    pub fn maximum_interval(&self) -> f64 {
        self.maximum_interval_ms
            .unwrap_or(100.0 * self.initial_interval_ms)
    }

    /// The wait before the retry that follows failed attempt `attempt` (counting from 1), in
    /// milliseconds.
    pub fn wait_ms(&self, attempt: u32) -> f64 {
        let n = f64::from(attempt.max(1) - 1);
        (self.initial_interval_ms * libm::pow(self.backoff_coefficient, n))
            .min(self.maximum_interval())
    }

    /// Whether a step that failed at attempt `attempt` is tried again.
    pub fn retries_after(&self, attempt: u32) -> bool {
        self.maximum_attempts == 0 || attempt < self.maximum_attempts
    }

    /// Checks ranges, as Temporal does (a coefficient of at least 1, a maximum interval no
    /// shorter than the initial one); field names relative to the policy.
    pub(crate) fn check(&self) -> Result<(), super::ConfigError> {
        super::check_ms(
            "initial_interval_ms",
            self.initial_interval_ms,
            1.0,
            3_600_000.0,
        )?;
        let c = self.backoff_coefficient;
        if !(c.is_finite() && (1.0..=100.0).contains(&c)) {
            return Err((
                "backoff_coefficient".into(),
                format!("expected 1 to 100 (Temporal requires at least 1), got {c}"),
            ));
        }
        if let Some(m) = self.maximum_interval_ms {
            super::check_ms(
                "maximum_interval_ms",
                m,
                self.initial_interval_ms,
                3_600_000.0,
            )?;
        }
        if self.maximum_attempts > MAX_ACTIVITY_ATTEMPTS {
            return Err((
                "maximum_attempts".into(),
                format!(
                    "expected 0 (no limit) to {MAX_ACTIVITY_ATTEMPTS}, got {}",
                    self.maximum_attempts
                ),
            ));
        }
        Ok(())
    }
}

/// Packs a timer's kind (3 bits) and id into a tag.
fn pack(kind: u64, id: u64) -> u64 {
    (id << 3) | kind
}

/// A client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientTimer {
    /// The next arrival of an open workload.
    Arrival,
    /// An attempt's timeout, by request id.
    Timeout(u64),
    /// A backoff ended: the next attempt of this request (trace id).
    Backoff(u64),
    /// A closed workload's user finished thinking.
    Think(u32),
    /// The breaker's automatic move to half-open is due.
    Breaker,
    /// A request's deadline (trace id).
    Deadline(u64),
    /// Time to send a hedged copy of this attempt (request id).
    Hedge(u64),
}

impl ClientTimer {
    /// The tag the engine carries.
    pub(crate) fn tag(self) -> u64 {
        match self {
            ClientTimer::Arrival => pack(0, 0),
            ClientTimer::Timeout(req) => pack(1, req),
            ClientTimer::Backoff(trace) => pack(2, trace),
            ClientTimer::Think(user) => pack(3, u64::from(user)),
            ClientTimer::Breaker => pack(4, 0),
            ClientTimer::Deadline(trace) => pack(5, trace),
            ClientTimer::Hedge(req) => pack(6, req),
        }
    }

    /// The timer a tag stands for.
    pub(crate) fn from_tag(tag: u64) -> ClientTimer {
        let id = tag >> 3;
        match tag & 7 {
            0 => ClientTimer::Arrival,
            1 => ClientTimer::Timeout(id),
            2 => ClientTimer::Backoff(id),
            4 => ClientTimer::Breaker,
            5 => ClientTimer::Deadline(id),
            6 => ClientTimer::Hedge(id),
            // 3, and 7 which no timer uses: a user's think time, as it always was.
            _ => ClientTimer::Think(id as u32),
        }
    }
}

/// Bits of a downstream backoff timer's id that hold the call's index (`MAX_CALLS` <= 128).
const CALL_BITS: u64 = 7;

/// A service's downstream calls' timers (never 0: tag 0 is the service's own work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallTimer {
    /// An attempt's timeout, by request id.
    Timeout(u64),
    /// A backoff ended: the next attempt of call `call` of job `job`.
    Backoff {
        /// The job (a request waiting for its calls).
        job: u64,
        /// The call's index.
        call: usize,
    },
    /// Call `i`'s breaker's automatic move to half-open is due.
    Breaker(usize),
    /// Time to send a hedged copy of this attempt (request id).
    Hedge(u64),
}

impl CallTimer {
    /// The tag the engine carries.
    pub(crate) fn tag(self) -> u64 {
        match self {
            CallTimer::Timeout(req) => pack(1, req),
            CallTimer::Backoff { job, call } => pack(2, (job << CALL_BITS) | call as u64),
            CallTimer::Breaker(i) => pack(3, i as u64),
            CallTimer::Hedge(req) => pack(4, req),
        }
    }

    /// The timer a tag stands for; `None` for a tag no call timer has.
    pub(crate) fn from_tag(tag: u64) -> Option<CallTimer> {
        let id = tag >> 3;
        match tag & 7 {
            1 => Some(CallTimer::Timeout(id)),
            2 => Some(CallTimer::Backoff {
                job: id >> CALL_BITS,
                call: (id & ((1 << CALL_BITS) - 1)) as usize,
            }),
            3 => Some(CallTimer::Breaker(id as usize)),
            4 => Some(CallTimer::Hedge(id)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::breaker::{BreakerConfig, State, Window};
    use crate::models::client::{Backoff, BackoffKind, RetryBudget};
    use crate::rng::Stream;

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            backoff: Backoff {
                kind: BackoffKind::Exponential,
                base_ms: 100.0,
                cap_ms: 1_000.0,
                multiplier: 2.0,
            },
            ..RetryPolicy::default()
        }
    }

    fn rng() -> SimRng {
        SimRng::new(1, Stream::Node(0))
    }

    #[test]
    fn a_failed_attempt_is_retried_with_exponential_backoff_until_attempts_run_out() {
        let (p, mut budget, mut rng) = (policy(3), BudgetState::default(), rng());
        let mut a = Attempts::default();
        let mut pauses = Vec::new();
        loop {
            assert_eq!(a.begin(0, None), Admit::Go);
            match a.failed(&p, &mut budget, Some(RetryOn::ServerError), 0, &mut rng) {
                Next::Retry { after_us } => pauses.push(after_us),
                Next::GiveUp => break,
                Next::BudgetExhausted => panic!("no budget"),
            }
        }
        assert_eq!(a.attempt, 3);
        assert_eq!(pauses, [200_000, 400_000]);
    }

    #[test]
    fn an_outcome_not_in_retry_on_ends_the_call() {
        let mut p = policy(5);
        p.retry_on = vec![RetryOn::Timeout];
        let mut a = Attempts::default();
        a.begin(0, None);
        let next = a.failed(
            &p,
            &mut BudgetState::default(),
            Some(RetryOn::ServerError),
            0,
            &mut rng(),
        );
        assert_eq!(next, Next::GiveUp);
        a.begin(0, None);
        let next = a.failed(&p, &mut BudgetState::default(), None, 0, &mut rng());
        assert_eq!(next, Next::GiveUp, "'do not retry' is never retried");
    }

    #[test]
    fn a_token_bucket_refuses_retries_once_half_empty_and_successes_refill_it() {
        let mut p = policy(10);
        p.budget = Some(RetryBudget::TokenBucket {
            max_tokens: 4.0,
            token_ratio: 1.0,
        });
        let (mut budget, mut rng) = (BudgetState::default(), rng());
        let mut a = Attempts::default();
        a.begin(0, None);
        // 4 -> 3 tokens: more than half, a retry may go.
        let n = a.failed(&p, &mut budget, Some(RetryOn::Timeout), 0, &mut rng);
        assert!(matches!(n, Next::Retry { .. }));
        a.begin(0, None);
        // 3 -> 2: no longer more than half.
        let n = a.failed(&p, &mut budget, Some(RetryOn::Timeout), 0, &mut rng);
        assert_eq!(n, Next::BudgetExhausted);
        Attempts::succeeded(&p, &mut budget);
        let mut b = Attempts::default();
        b.begin(0, None);
        // 3 -> 2 again after one success.
        let n = b.failed(&p, &mut budget, Some(RetryOn::Timeout), 0, &mut rng);
        assert_eq!(n, Next::BudgetExhausted);
        Attempts::succeeded(&p, &mut budget);
        Attempts::succeeded(&p, &mut budget);
        let mut c = Attempts::default();
        c.begin(0, None);
        let n = c.failed(&p, &mut budget, Some(RetryOn::Timeout), 0, &mut rng);
        assert!(matches!(n, Next::Retry { .. }), "4 -> 3: retries again");
    }

    #[test]
    fn the_breaker_hears_each_admitted_attempt_once_and_rejects_when_open() {
        let cfg = BreakerConfig {
            minimum_calls: Some(2),
            window: Some(Window::Count { size: 2 }),
            wait_in_open_ms: Some(1_000.0),
            ..Default::default()
        };
        let mut b = Breaker::new(cfg.rules());
        let mut a = Attempts::default();
        for t in [0, 10] {
            assert_eq!(a.begin(t, Some(&mut b)), Admit::Go);
            assert!(a.settle(t + 5, Some(&mut b), true));
            assert!(!a.settle(t + 6, Some(&mut b), true), "told once");
        }
        assert!(matches!(b.state(), State::Open { .. }));
        assert_eq!(a.begin(20, Some(&mut b)), Admit::Rejected);
        assert_eq!(a.attempt, 3, "a rejected attempt counts");
        assert!(
            !a.settle(21, Some(&mut b), false),
            "no permit, nothing to tell"
        );
        // An abandoned attempt tells the breaker nothing.
        let mut c = Attempts::default();
        assert_eq!(
            c.begin(2_000_000, Some(&mut b)),
            Admit::Go,
            "half-open trial"
        );
        c.abandon();
        assert!(!c.settle(2_000_001, Some(&mut b), false));
    }

    #[test]
    fn temporal_activity_retry_waits_grow_by_the_coefficient_up_to_the_maximum_interval() {
        let p = ActivityRetryPolicy {
            initial_interval_ms: 100.0,
            backoff_coefficient: 2.0,
            maximum_interval_ms: Some(500.0),
            maximum_attempts: 5,
        };
        let waits: Vec<f64> = (1..=5).map(|a| p.wait_ms(a)).collect();
        assert_eq!(waits, [100.0, 200.0, 400.0, 500.0, 500.0]);
        assert!(
            p.retries_after(4) && !p.retries_after(5),
            "5 attempts in all"
        );
        let d = ActivityRetryPolicy::default();
        assert_eq!(d.wait_ms(1), 1_000.0, "Temporal's initial interval: 1 s");
        assert_eq!(
            d.wait_ms(20),
            100_000.0,
            "capped at 100 x the initial interval"
        );
        assert!(d.retries_after(1_000_000), "0 attempts: no limit");
        let bad = ActivityRetryPolicy {
            backoff_coefficient: 0.5,
            ..ActivityRetryPolicy::default()
        };
        assert_eq!(bad.check().unwrap_err().0, "backoff_coefficient");
        let bad = ActivityRetryPolicy {
            maximum_interval_ms: Some(10.0),
            ..ActivityRetryPolicy::default()
        };
        assert_eq!(bad.check().unwrap_err().0, "maximum_interval_ms");
    }

    #[test]
    fn timers_round_trip_through_their_tags_as_the_old_integers() {
        let client = [
            (ClientTimer::Arrival, 0),
            (ClientTimer::Timeout(5), (5 << 3) | 1),
            (ClientTimer::Backoff(7), (7 << 3) | 2),
            (ClientTimer::Think(2), (2 << 3) | 3),
            (ClientTimer::Breaker, 4),
            (ClientTimer::Deadline(9), (9 << 3) | 5),
            (ClientTimer::Hedge(11), (11 << 3) | 6),
        ];
        for (t, tag) in client {
            assert_eq!(t.tag(), tag);
            assert_eq!(ClientTimer::from_tag(tag), t);
        }
        let call = [
            (CallTimer::Timeout(5), (5 << 3) | 1),
            (
                CallTimer::Backoff { job: 3, call: 2 },
                (((3 << 7) | 2) << 3) | 2,
            ),
            (CallTimer::Breaker(4), (4 << 3) | 3),
            (CallTimer::Hedge(6), (6 << 3) | 4),
        ];
        for (t, tag) in call {
            assert_eq!(t.tag(), tag);
            assert_ne!(tag, 0, "tag 0 is the service's own");
            assert_eq!(CallTimer::from_tag(tag), Some(t));
        }
        assert_eq!(CallTimer::from_tag(0), None);
    }
}
