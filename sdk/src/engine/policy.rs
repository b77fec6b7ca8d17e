//! The poll policy: exponential backoff with full jitter, bounded by a deadline.

use super::eta::FinishEstimate;
use super::learn::{DurationLearner, Expected};
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
    /// The first poll placed by the caller's configured initial delay for the command.
    InitialDelay,
    /// Placed by the learned duration of the command's past jobs (the first poll, or the
    /// opening of the expected window).
    Learned,
    /// Inside the window in which jobs of the command usually finish: polls closer together.
    ExpectedWindow,
    /// At the finish estimated from the job's reported progress.
    Eta,
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
            DelayReason::InitialDelay => "initial-delay",
            DelayReason::Learned => "learned-duration",
            DelayReason::ExpectedWindow => "expected-window",
            DelayReason::Eta => "eta",
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

/// Where a job's first poll goes, counted from when its wait (or watch) began: its command's
/// configured `initial` delay, else the duration `learner` learned for the command (never before
/// the policy's first delay), each less the job's `age` (when its submit was seen); `None` when
/// neither is known, so the policy's first delay applies.
pub fn planned_first_poll(
    policy: &PollPolicy,
    initial: Option<Duration>,
    learner: &DurationLearner,
    command: &str,
    age: Option<Duration>,
) -> Option<(Duration, DelayReason)> {
    let (delay, reason) = match initial {
        Some(initial) => (initial, DelayReason::InitialDelay),
        None => (learner.first_delay(command, policy.first_delay)?, DelayReason::Learned),
    };
    Some((delay.saturating_sub(age.unwrap_or_default()), reason))
}

/// Polls aimed at the estimated finish that found the job still running, after which the
/// estimate is no longer trusted (progress that is not linear in time) and backoff takes over.
const MAX_ETA_MISSES: u32 = 2;

/// Waiting for one job: counts polls, knows the deadline, and places each poll by what is known
/// of the job — a configured or learned first delay, the window in which jobs of its command
/// usually finish, the finish estimated from its reported progress — or else by backoff.
///
/// Times are seconds relative to the start of the wait (`started`); the job's submit lies
/// `age_at_start` before it when known.
#[derive(Debug, Clone)]
pub struct Waiter {
    policy: PollPolicy,
    started: Instant,
    polls: u32,
    first: Option<(Duration, DelayReason)>,
    age_at_start: Option<Duration>,
    expected: Option<Expected>,
    /// The finish estimated from the job's progress.
    estimate: FinishEstimate,
    /// The last poll was aimed at the latest estimated finish.
    aimed_at_finish: bool,
    eta_misses: u32,
    /// Backoff steps since the schedule last had something better to go by.
    backoff: u32,
}

impl Waiter {
    /// Starts waiting at `now`.
    pub fn new(policy: PollPolicy, now: Instant) -> Self {
        Waiter {
            policy,
            started: now,
            polls: 0,
            first: None,
            age_at_start: None,
            expected: None,
            estimate: FinishEstimate::new(now),
            aimed_at_finish: false,
            eta_misses: 0,
            backoff: 0,
        }
    }

    /// The schedule of one wait of a `command` job beginning `now`: the first poll where
    /// [`planned_first_poll`] puts it; with the job's `age` known, progress and the learned
    /// window count from its submit.
    pub fn for_job(
        policy: PollPolicy,
        initial: Option<Duration>,
        learner: &DurationLearner,
        command: &str,
        age: Option<Duration>,
        now: Instant,
    ) -> Self {
        let first = planned_first_poll(&policy, initial, learner, command, age);
        let mut waiter = Waiter::new(policy, now);
        if let Some(age) = age {
            waiter = waiter.job_age(age);
            if let Some(expected) = learner.expected(command) {
                waiter = waiter.expected(expected);
            }
        }
        match first {
            Some((delay, reason)) => waiter.first_delay(delay, reason),
            None => waiter,
        }
    }

    /// Starts waiting at `now`, placing the first poll after `first` (learned from past jobs of
    /// the same command) instead of the policy's fixed first delay.
    pub fn with_learned_first_delay(policy: PollPolicy, now: Instant, first: Duration) -> Self {
        Waiter::new(policy, now).first_delay(first, DelayReason::Learned)
    }

    /// Places the first poll `delay` after the start of the wait, for `reason`.
    #[must_use]
    pub fn first_delay(mut self, delay: Duration, reason: DelayReason) -> Self {
        self.first = Some((delay, reason));
        self
    }

    /// The job was submitted `age` before the wait started: progress then counts from 0 at
    /// the submit, and the expected window applies.
    #[must_use]
    pub fn job_age(mut self, age: Duration) -> Self {
        self.age_at_start = Some(age);
        self.estimate = self.estimate.submitted(age);
        self
    }

    /// When jobs of this command usually finish (counted from the submit; needs
    /// [`Waiter::job_age`]).
    #[must_use]
    pub fn expected(mut self, expected: Expected) -> Self {
        self.expected = Some(expected);
        self
    }

    /// How many polls were asked for so far.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// The finish estimated from the job's progress, if any: earliest and latest instant.
    pub fn estimated_finish(&self) -> Option<(Instant, Instant)> {
        self.estimate.finish()
    }

    /// A pending answer reported `progress` (percent, 0–100) at `now`; see
    /// [`FinishEstimate::observe`]. Call before [`Waiter::next`].
    pub fn observe_progress(&mut self, now: Instant, progress: Option<f64>) {
        self.estimate.observe(now, progress);
    }

    /// When to poll next, after a pending (or not yet any) answer. Never past the deadline: a
    /// last poll is placed right at it.
    #[must_use]
    pub fn next(&mut self, now: Instant, jitter: f64) -> WaitStep {
        self.next_with_hint(now, jitter, None)
    }

    /// The delay the schedule itself wants next, and why.
    fn planned(&mut self, now: Instant, jitter: f64) -> (Duration, DelayReason) {
        let min = self.policy.min_interval;
        if self.polls == 0 {
            return self.first.unwrap_or((self.policy.first_delay, DelayReason::FirstPoll));
        }
        if std::mem::take(&mut self.aimed_at_finish) {
            self.eta_misses += 1;
        }
        if let Some((earliest, latest)) = self.estimate.finish().filter(|_| self.eta_misses < MAX_ETA_MISSES) {
            if latest > now {
                self.backoff = 0;
                // A narrow estimate (or one already under way): one poll just after its end. A
                // wide one: a poll at its start, which refines it.
                let width = latest.saturating_duration_since(earliest);
                let narrow = width <= min.max(latest.saturating_duration_since(now).mul_f64(0.1));
                let target = if narrow || earliest <= now + min {
                    self.aimed_at_finish = true;
                    latest
                } else {
                    earliest
                };
                return (target.saturating_duration_since(now).max(min), DelayReason::Eta);
            }
        }
        if let (Some(expected), Some(age)) = (self.expected, self.age_at_start) {
            // Counted from the start of this wait and the job's age then: submit times are
            // wall-clock, and a browser's `Instant`s cannot reach back before the page's load.
            let opens = self.started + expected.opens.saturating_sub(age);
            let closes = self.started + expected.closes.saturating_sub(age);
            if now < opens {
                return (opens.saturating_duration_since(now).max(min), DelayReason::Learned);
            }
            if now < closes {
                self.backoff = 0;
                // About four polls across the window.
                let spacing = expected.closes.saturating_sub(expected.opens) / 4;
                return (spacing.clamp(min, self.policy.max_interval.max(min)), DelayReason::ExpectedWindow);
            }
        }
        self.backoff = self.backoff.saturating_add(1);
        (self.policy.delay(self.backoff, jitter), DelayReason::Backoff)
    }

    /// Like [`Waiter::next`], but never sooner than `hint` (a server's `Retry-After`, or the
    /// wait before another try after a transient failure), which then names the reason.
    #[must_use]
    pub fn next_with_hint(&mut self, now: Instant, jitter: f64, hint: Option<(Duration, DelayReason)>) -> WaitStep {
        let (mut delay, mut reason) = self.planned(now, jitter);
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

    fn at(step: WaitStep, start: Instant) -> (f64, DelayReason) {
        match step {
            WaitStep::PollAt(at, reason) => (at.duration_since(start).as_secs_f64(), reason),
            WaitStep::GiveUp => panic!("gave up"),
        }
    }

    #[test]
    fn progress_places_one_poll_just_after_the_estimated_finish() {
        let start = Instant::now();
        let mut waiter = Waiter::new(PollPolicy::default(), start).job_age(Duration::ZERO);
        assert_eq!(at(waiter.next(start, 0.5), start), (0.5, DelayReason::FirstPoll));
        // 12 % after 0.5 s: the job takes between 3.85 s and 4.17 s (whole percents).
        let now = start + Duration::from_millis(500);
        waiter.observe_progress(now, Some(12.0));
        let (earliest, latest) = waiter.estimated_finish().unwrap();
        assert!((earliest.duration_since(start).as_secs_f64() - 3.846).abs() < 0.01);
        assert!((latest.duration_since(start).as_secs_f64() - 4.167).abs() < 0.01);
        let (when, reason) = at(waiter.next(now, 0.5), start);
        assert_eq!(reason, DelayReason::Eta);
        assert!((when - 4.167).abs() < 0.01, "{when}");
    }

    #[test]
    fn a_wide_estimate_is_refined_first_and_misses_fall_back_to_backoff() {
        let start = Instant::now();
        let mut waiter = Waiter::new(PollPolicy::default(), start).job_age(Duration::ZERO);
        let _ = waiter.next(start, 0.5);
        // 1 % after 0.5 s: between 25 s and 50 s; poll at 25 s to learn more.
        let now = start + Duration::from_millis(500);
        waiter.observe_progress(now, Some(1.0));
        let (when, reason) = at(waiter.next(now, 0.5), start);
        assert_eq!(reason, DelayReason::Eta);
        assert!((when - 25.0).abs() < 0.01, "{when}");
        // 60 % at 25 s: between 40.98 s and 41.67 s, narrow: one poll at its end.
        let now = start + Duration::from_secs(25);
        waiter.observe_progress(now, Some(60.0));
        let (when, reason) = at(waiter.next(now, 0.5), start);
        assert_eq!(reason, DelayReason::Eta);
        assert!((when - 41.667).abs() < 0.01, "{when}");
        // Still running there (progress stalls at 99 %): one more aimed poll, then backoff.
        let now = start + Duration::from_secs_f64(41.667);
        waiter.observe_progress(now, Some(99.0));
        assert_eq!(at(waiter.next(now, 0.5), start).1, DelayReason::Eta);
        let now = now + Duration::from_secs(1);
        waiter.observe_progress(now, Some(99.0));
        let (when, reason) = at(waiter.next(now, 0.0), start);
        assert_eq!(reason, DelayReason::Backoff);
        assert!((when - now.duration_since(start).as_secs_f64() - 0.25).abs() < 0.001);
        // No progress (CloudStack's usual 0) estimates nothing.
        waiter.observe_progress(now, Some(0.0));
        assert_eq!(waiter.estimated_finish(), None);
    }

    #[test]
    fn two_readings_estimate_a_resumed_job_of_unknown_age() {
        let start = Instant::now();
        let mut waiter = Waiter::new(PollPolicy::default(), start);
        let _ = waiter.next(start, 0.5);
        waiter.observe_progress(start + Duration::from_secs(1), Some(10.0));
        assert_eq!(waiter.estimated_finish(), None, "one reading of a job of unknown age says nothing");
        let _ = waiter.next(start + Duration::from_secs(1), 0.5);
        let now = start + Duration::from_secs(2);
        waiter.observe_progress(now, Some(20.0));
        // 9–11 points per second from 20 %: done between 9.18 s and 10.9 s; wide, so its start.
        let (when, reason) = at(waiter.next(now, 0.5), start);
        assert_eq!(reason, DelayReason::Eta);
        assert!((when - (2.0 + 79.0 / 11.0)).abs() < 0.01, "{when}");
        for nonsense in [Some(f64::NAN), Some(-3.0), Some(250.0), None] {
            waiter.observe_progress(now, nonsense);
            assert_eq!(waiter.estimated_finish(), None);
        }
    }

    #[test]
    fn without_progress_the_expected_window_is_polled_densely_then_backoff() {
        let start = Instant::now();
        let expected = Expected {
            opens: Duration::from_secs(4),
            typical: Duration::from_secs(6),
            closes: Duration::from_secs(12),
        };
        // Waiting began 1 s after the submit; the configured initial delay wins the first poll.
        let mut waiter = Waiter::new(policy(), start)
            .job_age(Duration::from_secs(1))
            .expected(expected)
            .first_delay(Duration::from_secs(2), DelayReason::InitialDelay);
        let mut now = start;
        let mut steps = Vec::new();
        for _ in 0..8 {
            let (when, reason) = at(waiter.next(now, 1.0), start);
            waiter.observe_progress(start + Duration::from_secs_f64(when), Some(0.0));
            steps.push((when, reason));
            now = start + Duration::from_secs_f64(when);
        }
        use DelayReason::*;
        assert_eq!(
            steps,
            vec![
                (2.0, InitialDelay),
                (3.0, Learned),
                (5.0, ExpectedWindow),
                (7.0, ExpectedWindow),
                (9.0, ExpectedWindow),
                (11.0, ExpectedWindow),
                (13.0, Backoff),
                (17.0, Backoff)
            ]
        );
    }
}
