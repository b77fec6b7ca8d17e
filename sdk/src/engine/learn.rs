//! Learned job durations: a job that usually takes 8 s is not polled every 200 ms for 8 s.
//! Per command, the client remembers how long finished jobs took — a moving average and a
//! moving variance of the logarithm, since durations are roughly log-normal — and from them
//! places the first poll shortly before the typical finish and an expected window in which to
//! poll more densely.

use crate::time::Duration;

/// Weight of the newest observation in the moving averages.
const ALPHA: f64 = 0.3;
/// The spread (standard deviation of the log) assumed until a few jobs were seen: the first
/// poll then goes out at about 0.8 of the typical duration.
const DEFAULT_SIGMA: f64 = 0.45;
/// Jobs seen before the learned spread is trusted.
const MIN_FOR_SPREAD: u32 = 3;
/// Least spread assumed: even very regular jobs vary a little.
const MIN_SIGMA: f64 = 0.05;
/// The expected window, in standard deviations of the log around the typical duration: it
/// opens early enough that about two thirds of the jobs are still running (so their finish is
/// seen promptly), and closes once about five sixths have finished.
const WINDOW_BEFORE: f64 = 0.5;
const WINDOW_AFTER: f64 = 1.0;

/// What is known of one command's durations.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LogStats {
    mean: f64,
    variance: f64,
    count: u32,
}

/// When jobs of a command are expected to finish, counted from their submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// Early in the window: about a third of the jobs have finished by then.
    pub opens: Duration,
    /// The typical (median) duration.
    pub typical: Duration,
    /// Late in the window: about five sixths of the jobs have finished by then.
    pub closes: Duration,
}

/// Typical durations per command.
#[derive(Debug, Clone, Default)]
pub struct DurationLearner {
    /// Per command. A list, not a map: a client runs a handful of commands.
    stats: Vec<(String, LogStats)>,
}

/// Seconds as a duration, saturating instead of panicking on odd values.
fn secs(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.clamp(0.0, 1e9)).unwrap_or(Duration::ZERO)
}

impl DurationLearner {
    /// Records that a `command` job took `duration` (from submit to the poll that saw it finish).
    pub fn observe(&mut self, command: &str, duration: Duration) {
        let value = duration.as_secs_f64().max(0.001).ln();
        match self.stats.iter_mut().find(|(name, _)| name == command) {
            Some((_, stats)) => {
                let diff = value - stats.mean;
                stats.mean += ALPHA * diff;
                stats.variance = (1.0 - ALPHA) * (stats.variance + ALPHA * diff * diff);
                stats.count = stats.count.saturating_add(1);
            }
            None => self.stats.push((command.to_owned(), LogStats { mean: value, variance: 0.0, count: 1 })),
        }
    }

    fn stats(&self, command: &str) -> Option<LogStats> {
        self.stats.iter().find(|(name, _)| name == command).map(|(_, stats)| *stats)
    }

    /// A wait or watch saw a `command` job finish `took` after its submit. Seen running before,
    /// it took about that long. Finished at the first look, it took at most that long — a wait
    /// begun late would teach a duration the job never had (and delay every later first poll),
    /// so such a sighting may only lower the estimate.
    pub fn observe_finish(&mut self, command: &str, took: Duration, seen_running: bool) {
        if command.is_empty() {
            return;
        }
        if seen_running || self.typical(command).is_some_and(|typical| took < typical) {
            self.observe(command, took);
        }
    }

    /// The typical duration of `command` jobs, once at least one was seen.
    pub fn typical(&self, command: &str) -> Option<Duration> {
        self.stats(command).map(|stats| secs(stats.mean.exp()))
    }

    /// When `command` jobs are expected to finish, once at least one was seen (the spread is
    /// assumed until a few were).
    pub fn expected(&self, command: &str) -> Option<Expected> {
        let stats = self.stats(command)?;
        let sigma = if stats.count >= MIN_FOR_SPREAD { stats.variance.sqrt().max(MIN_SIGMA) } else { DEFAULT_SIGMA };
        Some(Expected {
            opens: secs((stats.mean - WINDOW_BEFORE * sigma).exp()),
            typical: secs(stats.mean.exp()),
            closes: secs((stats.mean + WINDOW_AFTER * sigma).exp()),
        })
    }

    /// When to poll a new `command` job first (from its submit), if anything was learned: as
    /// the expected window opens, never sooner than `floor` (the policy's first delay).
    pub fn first_delay(&self, command: &str, floor: Duration) -> Option<Duration> {
        self.expected(command).map(|expected| expected.opens.max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_finish_at_the_first_look_only_lowers_the_estimate() {
        let mut learner = DurationLearner::default();
        // Nothing known, finished at the first look: it may have taken far less; nothing learned.
        learner.observe_finish("deploy", Duration::from_secs(30), false);
        assert_eq!(learner.typical("deploy"), None);
        learner.observe_finish("deploy", Duration::from_secs(8), true);
        let typical = learner.typical("deploy").unwrap();
        // Longer than typical at the first look: not learned; shorter: learned.
        learner.observe_finish("deploy", Duration::from_secs(60), false);
        assert_eq!(learner.typical("deploy"), Some(typical));
        learner.observe_finish("deploy", Duration::from_secs(2), false);
        assert!(learner.typical("deploy").unwrap() < typical);
        // Jobs known by id only (no command) teach nothing.
        learner.observe_finish("", Duration::from_secs(5), true);
        assert_eq!(learner.typical(""), None);
    }

    #[test]
    fn learns_per_command_and_follows_change() {
        let mut learner = DurationLearner::default();
        assert_eq!(learner.first_delay("deploy", Duration::from_millis(500)), None);
        learner.observe("deploy", Duration::from_secs(8));
        // One job seen: the assumed spread puts the first poll at about 0.8 of it.
        let first = learner.first_delay("deploy", Duration::from_millis(500)).unwrap();
        assert!((6.3..6.5).contains(&first.as_secs_f64()), "{first:?}");
        for _ in 0..10 {
            learner.observe("deploy", Duration::from_secs(8));
        }
        // Very regular jobs: the first poll goes out just before the finish.
        let first = learner.first_delay("deploy", Duration::from_millis(500)).unwrap();
        assert!((7.7..8.0).contains(&first.as_secs_f64()), "{first:?}");
        learner.observe("stop", Duration::from_secs(1));
        assert_eq!(learner.first_delay("stop", Duration::from_secs(2)), Some(Duration::from_secs(2)));
        for _ in 0..20 {
            learner.observe("deploy", Duration::from_secs(2));
        }
        let typical = learner.typical("deploy").unwrap().as_secs_f64();
        assert!((1.9..2.2).contains(&typical), "{typical}");
    }

    #[test]
    fn spread_widens_the_expected_window() {
        let mut learner = DurationLearner::default();
        for i in 0..40 {
            // Alternating 2 s and 8 s: typical 4 s, spread ln 2 ≈ 0.69.
            learner.observe("deploy", Duration::from_secs(if i % 2 == 0 { 2 } else { 8 }));
        }
        let expected = learner.expected("deploy").unwrap();
        assert!(expected.opens < Duration::from_secs(4) && expected.closes > Duration::from_secs(6), "{expected:?}");
        assert!(expected.opens <= expected.typical && expected.typical <= expected.closes);
        // Nonsense durations never panic.
        learner.observe("odd", Duration::MAX);
        learner.observe("odd", Duration::ZERO);
        assert!(learner.expected("odd").is_some());
    }
}
