//! Learned job durations: a job that usually takes 8 s is not polled every 200 ms for 8 s.
//! Per command, the client remembers how long finished jobs took (a moving average of the
//! logarithm, since durations are roughly log-normal) and places the first poll shortly before
//! the typical finish.

use crate::time::Duration;

/// Weight of the newest observation in the moving average.
const ALPHA: f64 = 0.3;
/// The first poll goes out at this share of the typical duration: early enough that most jobs
/// are still running, so the finish is seen by the following polls and not much later.
const SHARE: f64 = 0.8;

/// Typical durations per command.
#[derive(Debug, Clone, Default)]
pub struct DurationLearner {
    /// Per command: the moving average of the log of the duration in seconds, and how many
    /// jobs it saw. A list, not a map: a client runs a handful of commands.
    log_means: Vec<(String, f64, u32)>,
}

impl DurationLearner {
    /// Records that a `command` job took `duration` (from submit to the poll that saw it finish).
    pub fn observe(&mut self, command: &str, duration: Duration) {
        let value = duration.as_secs_f64().max(0.001).ln();
        match self.log_means.iter_mut().find(|(name, _, _)| name == command) {
            Some((_, mean, count)) => {
                *mean = ALPHA * value + (1.0 - ALPHA) * *mean;
                *count += 1;
            }
            None => self.log_means.push((command.to_owned(), value, 1)),
        }
    }

    /// The typical duration of `command` jobs, once at least one was seen.
    pub fn typical(&self, command: &str) -> Option<Duration> {
        self.log_means
            .iter()
            .find(|(name, _, _)| name == command)
            .map(|(_, mean, _)| Duration::from_secs_f64(mean.exp()))
    }

    /// When to poll a new `command` job first, if anything was learned; never sooner than
    /// `floor` (the policy's first delay).
    pub fn first_delay(&self, command: &str, floor: Duration) -> Option<Duration> {
        self.typical(command).map(|typical| typical.mul_f64(SHARE).max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn learns_per_command_and_follows_change() {
        let mut learner = DurationLearner::default();
        assert_eq!(learner.first_delay("deploy", Duration::from_millis(500)), None);
        for _ in 0..10 {
            learner.observe("deploy", Duration::from_secs(8));
        }
        learner.observe("stop", Duration::from_secs(1));
        let deploy = learner.first_delay("deploy", Duration::from_millis(500)).unwrap();
        assert!((6.3..6.5).contains(&deploy.as_secs_f64()), "{deploy:?}");
        assert_eq!(learner.first_delay("stop", Duration::from_secs(2)), Some(Duration::from_secs(2)));
        for _ in 0..20 {
            learner.observe("deploy", Duration::from_secs(2));
        }
        let typical = learner.typical("deploy").unwrap().as_secs_f64();
        assert!((1.9..2.2).contains(&typical), "{typical}");
    }
}
