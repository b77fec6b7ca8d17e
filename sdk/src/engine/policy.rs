//! The poll policy: exponential backoff with full jitter, bounded by a deadline.

use crate::time::{Duration, Instant};

/// How often to ask for a job's status and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    /// Delay between submit and the first poll (jobs rarely finish sooner).
    pub first_delay: Duration,
    /// No two polls of one job closer than this.
    pub min_interval: Duration,
    /// No two polls of one job further apart than this.
    pub max_interval: Duration,
    /// Growth of the backoff cap per poll.
    pub multiplier: f64,
    /// Stop waiting (not the job!) after this long; `None` waits forever.
    pub deadline: Option<Duration>,
}

impl Default for PollPolicy {
    /// First poll after 0.5 s, then exponential backoff with full jitter up to 5 s; cloudmonkey's
    /// 30 min overall wait.
    fn default() -> Self {
        PollPolicy {
            first_delay: Duration::from_millis(500),
            min_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(5),
            multiplier: 1.6,
            deadline: Some(Duration::from_secs(1800)),
        }
    }
}

impl PollPolicy {
    /// Delay before poll number `attempt` (0 = first poll after submit). `jitter` in `[0, 1)`
    /// places the delay between `min_interval` and the exponential cap ("full jitter"), so
    /// many clients do not poll in lock-step.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        if attempt == 0 {
            return self.first_delay;
        }
        let min = self.min_interval.as_secs_f64();
        let max = self.max_interval.as_secs_f64().max(min);
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let cap = (min * self.multiplier.max(1.0).powi(exponent)).min(max);
        Duration::from_secs_f64(min + (cap - min) * jitter.clamp(0.0, 1.0))
    }
}

/// Why the next poll happens when it does (observable for debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayReason {
    /// The policy's fixed wait between submit and the first poll.
    FirstPoll,
    /// The first poll placed by the learned duration of the command's past jobs.
    Learned,
    /// Exponential backoff after a pending answer.
    Backoff,
    /// The server asked for it (`Retry-After`).
    RetryAfter,
    /// Another try after a transient failure.
    Retry,
    /// No delay: the server held the previous request until the job changed (long-poll).
    LongPoll,
}

impl DelayReason {
    /// Lower-case name, as shown to JavaScript.
    pub fn as_str(self) -> &'static str {
        match self {
            DelayReason::FirstPoll => "first-poll",
            DelayReason::Learned => "learned-duration",
            DelayReason::Backoff => "backoff",
            DelayReason::RetryAfter => "retry-after",
            DelayReason::Retry => "retry",
            DelayReason::LongPoll => "long-poll",
        }
    }
}

/// What the waiter wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStep {
    /// Poll at this instant.
    PollAt(Instant, DelayReason),
    /// The deadline passed: stop waiting.
    GiveUp,
}

/// Waiting for one job: counts polls and knows the deadline.
#[derive(Debug, Clone)]
pub struct Waiter {
    policy: PollPolicy,
    started: Instant,
    polls: u32,
    learned_first: Option<Duration>,
}

impl Waiter {
    /// Starts waiting at `now`.
    pub fn new(policy: PollPolicy, now: Instant) -> Self {
        Waiter { policy, started: now, polls: 0, learned_first: None }
    }

    /// Starts waiting at `now`, placing the first poll after `first` (learned from past jobs of
    /// the same command) instead of the policy's fixed first delay.
    pub fn with_learned_first_delay(policy: PollPolicy, now: Instant, first: Duration) -> Self {
        Waiter { policy, started: now, polls: 0, learned_first: Some(first) }
    }

    /// How many polls were asked for so far.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// When to poll next, after a pending (or not yet any) answer. Never past the deadline: a
    /// last poll is placed right at it.
    #[must_use]
    pub fn next(&mut self, now: Instant, jitter: f64) -> WaitStep {
        self.next_with_hint(now, jitter, None)
    }

    /// Like [`Waiter::next`], but never sooner than `hint` (a server's `Retry-After`, or the
    /// wait before another try after a transient failure), which then names the reason.
    #[must_use]
    pub fn next_with_hint(&mut self, now: Instant, jitter: f64, hint: Option<(Duration, DelayReason)>) -> WaitStep {
        let (mut delay, mut reason) = match (self.polls, self.learned_first) {
            (0, Some(first)) => (first, DelayReason::Learned),
            (0, None) => (self.policy.first_delay, DelayReason::FirstPoll),
            (n, _) => (self.policy.delay(n, jitter), DelayReason::Backoff),
        };
        if let Some((at_least, why)) = hint {
            if at_least >= delay {
                (delay, reason) = (at_least, why);
            }
        }
        let mut at = now + delay;
        if let Some(deadline) = self.policy.deadline.map(|d| self.started + d) {
            if now >= deadline {
                return WaitStep::GiveUp;
            }
            at = at.min(deadline);
        }
        self.polls += 1;
        WaitStep::PollAt(at, reason)
    }

    /// Time spent waiting so far.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn policy() -> PollPolicy {
        PollPolicy {
            first_delay: Duration::from_secs(1),
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(8),
            multiplier: 2.0,
            deadline: Some(Duration::from_secs(20)),
        }
    }

    #[test]
    fn backoff_grows_to_the_cap_and_jitter_stays_in_range() {
        let p = policy();
        assert_eq!(p.delay(0, 0.9), Duration::from_secs(1));
        assert_eq!(p.delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(p.delay(2, 1.0), Duration::from_secs(4));
        assert_eq!(p.delay(10, 1.0), Duration::from_secs(8));
        assert_eq!(p.delay(10, 0.0), Duration::from_secs(1));
        assert_eq!(p.delay(u32::MAX, 5.0), Duration::from_secs(8));
    }

    #[test]
    fn learned_first_delay_and_hints_name_their_reason() {
        let start = Instant::now();
        let mut waiter = Waiter::with_learned_first_delay(policy(), start, Duration::from_secs(6));
        assert_eq!(waiter.next(start, 0.5), WaitStep::PollAt(start + Duration::from_secs(6), DelayReason::Learned));
        let now = start + Duration::from_secs(6);
        let hint = Some((Duration::from_secs(9), DelayReason::RetryAfter));
        assert_eq!(
            waiter.next_with_hint(now, 1.0, hint),
            WaitStep::PollAt(now + Duration::from_secs(9), DelayReason::RetryAfter)
        );
        // A hint shorter than the backoff does not shorten it.
        let now = now + Duration::from_secs(9);
        let short = Some((Duration::from_millis(1), DelayReason::Retry));
        assert_eq!(
            waiter.next_with_hint(now, 1.0, short),
            WaitStep::PollAt(now + Duration::from_secs(4), DelayReason::Backoff)
        );
        // The deadline (20 s) caps everything.
        let now = start + Duration::from_secs(19);
        assert!(
            matches!(waiter.next_with_hint(now, 1.0, hint), WaitStep::PollAt(at, _) if at == start + Duration::from_secs(20))
        );
    }

    #[test]
    fn waiter_gives_up_at_the_deadline_on_a_fake_clock() {
        let start = Instant::now();
        let mut waiter = Waiter::new(policy(), start);
        let mut now = start;
        let mut polls = Vec::new();
        while let WaitStep::PollAt(at, _) = waiter.next(now, 1.0) {
            assert!(at <= start + Duration::from_secs(20));
            polls.push(at.duration_since(start).as_secs());
            now = at;
        }
        assert_eq!(polls, vec![1, 3, 7, 15, 20]);
        assert_eq!(waiter.polls(), 5);
    }
}
