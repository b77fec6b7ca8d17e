//! How the simulated cloud behaves: job durations, random failures, all from one seed so a run
//! repeats. Configured by flags (and later a scenario file).

use std::collections::HashMap;
use std::sync::Mutex;

/// A job-duration distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Duration {
    /// Always this many milliseconds.
    Fixed(u64),
    /// Log-normal with this median and 95th percentile (ms): most jobs near the median, a long
    /// tail, as real provisioning times are.
    LogNormal {
        /// Median, ms.
        median_ms: u64,
        /// 95th percentile, ms.
        p95_ms: u64,
    },
}

impl Duration {
    fn sample(self, rng: &mut fastrand::Rng) -> u64 {
        match self {
            Duration::Fixed(ms) => ms,
            Duration::LogNormal { median_ms, p95_ms } => {
                let mu = (median_ms.max(1) as f64).ln();
                let sigma = ((p95_ms.max(median_ms).max(1) as f64).ln() - mu) / 1.645;
                // Box–Muller: one standard normal from two uniforms.
                let (u1, u2) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                (mu + sigma * z).exp().round() as u64
            }
        }
    }
}

/// The scenario: durations per command, failure rate, and the seeded random source.
#[derive(Debug)]
pub struct Scenario {
    default_duration: Duration,
    durations: HashMap<String, Duration>,
    failure_rate: f64,
    rng: Mutex<fastrand::Rng>,
}

impl Scenario {
    /// Every job takes `default_duration`; `failure_rate` of them fail with an internal error.
    pub fn new(seed: u64, default_duration: Duration, failure_rate: f64) -> Self {
        Scenario {
            default_duration,
            durations: HashMap::new(),
            failure_rate: failure_rate.clamp(0.0, 1.0),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// Sets the duration of one command's jobs.
    #[must_use]
    pub fn with_duration(mut self, command: &str, duration: Duration) -> Self {
        self.durations.insert(command.to_owned(), duration);
        self
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, fastrand::Rng> {
        self.rng.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long the next `command` job runs, ms.
    pub fn job_duration_ms(&self, command: &str) -> u64 {
        let distribution = self.durations.get(command).copied().unwrap_or(self.default_duration);
        distribution.sample(&mut self.rng())
    }

    /// Whether the next job fails at random.
    pub fn random_failure(&self) -> bool {
        self.failure_rate > 0.0 && self.rng().f64() < self.failure_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_run() {
        let make = || Scenario::new(7, Duration::LogNormal { median_ms: 1000, p95_ms: 5000 }, 0.2);
        let (a, b) = (make(), make());
        let run = |s: &Scenario| (0..50).map(|_| (s.job_duration_ms("x"), s.random_failure())).collect::<Vec<_>>();
        assert_eq!(run(&a), run(&b));
    }

    #[test]
    fn lognormal_has_its_median_and_tail() {
        let s = Scenario::new(1, Duration::LogNormal { median_ms: 1000, p95_ms: 5000 }, 0.0);
        let mut samples: Vec<u64> = (0..4000).map(|_| s.job_duration_ms("x")).collect();
        samples.sort_unstable();
        let median = samples[2000];
        let p95 = samples[3800];
        assert!((850..1150).contains(&median), "median {median}");
        assert!((4000..6200).contains(&p95), "p95 {p95}");
        assert!(!s.random_failure());
    }

    #[test]
    fn fixed_durations_per_command() {
        let s = Scenario::new(1, Duration::Fixed(10), 0.0).with_duration("slow", Duration::Fixed(99));
        assert_eq!((s.job_duration_ms("fast"), s.job_duration_ms("slow")), (10, 99));
    }
}
