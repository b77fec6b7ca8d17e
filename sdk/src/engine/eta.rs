//! When will a job finish? Estimated from the progress it reports (CloudStack `jobprocstatus`,
//! CLM `taskProgress`), assuming progress grows linearly in time. One job's estimate places a
//! single wait's polls ([`super::Waiter`]); a batch's earliest one lets a watch skip listings
//! that could not show a finish ([`BatchEta`]).

use crate::protocol::JobSnapshot;
use crate::time::{Duration, Instant};

/// Progress readings are taken as truncated to whole percents: the true progress of a reading
/// `p` lies in `[p, p + 1)`.
const PROGRESS_QUANTUM: f64 = 1.0;

/// One job's finish, estimated from its progress readings.
///
/// Times are seconds relative to `origin`; the job's submit, when known, is a reading of 0 %.
#[derive(Debug, Clone)]
pub struct FinishEstimate {
    origin: Instant,
    /// The reading progress is measured from: (seconds, progress, quantum of its progress).
    base: Option<(f64, f64, f64)>,
    /// The finish estimated from the latest reading: earliest and latest instant.
    finish: Option<(Instant, Instant)>,
}

impl FinishEstimate {
    /// No reading yet; times count from `origin`.
    pub fn new(origin: Instant) -> Self {
        FinishEstimate { origin, base: None, finish: None }
    }

    /// The job was submitted `age` before `origin`: progress counts from 0 % there, so the
    /// first reading already gives an estimate.
    #[must_use]
    pub fn submitted(mut self, age: Duration) -> Self {
        self.base = Some((-age.as_secs_f64(), 0.0, 0.0));
        self
    }

    /// The estimate, if any: earliest and latest instant.
    pub fn finish(&self) -> Option<(Instant, Instant)> {
        self.finish
    }

    /// A pending answer reported `progress` (percent, 0–100) at `now`. With progress measured
    /// from a known submit, or from an earlier reading, the finish is estimated assuming progress
    /// grows linearly in time; readings are taken as truncated to whole percents, which bounds
    /// the estimate from both sides. No progress (or none since the base) clears the estimate.
    pub fn observe(&mut self, now: Instant, progress: Option<f64>) {
        let Some(progress) = progress.filter(|p| p.is_finite() && (0.0..100.0).contains(p)) else {
            self.finish = None;
            return;
        };
        let x = now.saturating_duration_since(self.origin).as_secs_f64();
        let Some((x0, p0, q0)) = self.base else {
            self.base = Some((x, progress, PROGRESS_QUANTUM));
            return;
        };
        let dt = x - x0;
        let (low, high) = (progress - p0 - q0, progress + PROGRESS_QUANTUM - p0);
        if dt <= 0.0 || low <= 0.0 {
            self.finish = None;
            return;
        }
        // Latest: the reading's true progress at its lowest, the slowest rate consistent with
        // both readings; earliest: the other way round.
        let latest = x + (100.0 - progress) * dt / low;
        let earliest = x + (100.0 - progress - PROGRESS_QUANTUM).max(0.0) * dt / high;
        self.finish = Some((self.instant(earliest.min(latest)), self.instant(latest)));
    }

    fn instant(&self, seconds: f64) -> Instant {
        self.origin + Duration::try_from_secs_f64(seconds.clamp(0.0, 1e9)).unwrap_or(Duration::ZERO)
    }
}

/// Jobs seen finished before the earliest finish their progress allowed, after which a batch's
/// estimates are no longer trusted (progress that is not linear in time).
const MAX_EARLY_FINISHES: u32 = 2;

/// The finish estimates of a batch of jobs: no job can finish before the earliest of them, so a
/// listing before it would show nothing new but progress. Only when every unfinished job has an
/// estimate (a job reporting no progress could finish at any time).
#[derive(Debug, Clone)]
pub struct BatchEta {
    /// (job id, estimate, finished), sorted by id.
    jobs: Vec<(String, FinishEstimate, bool)>,
    early_finishes: u32,
}

impl BatchEta {
    /// Estimates for `jobs`: ids with the age of each job at `origin` when known.
    pub fn new<I: IntoIterator<Item = (String, Option<Duration>)>>(origin: Instant, jobs: I) -> Self {
        let mut jobs: Vec<(String, FinishEstimate, bool)> = jobs
            .into_iter()
            .map(|(id, age)| {
                let estimate = FinishEstimate::new(origin);
                let estimate = match age {
                    Some(age) => estimate.submitted(age),
                    None => estimate,
                };
                (id, estimate, false)
            })
            .collect();
        jobs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        jobs.dedup_by(|a, b| a.0 == b.0);
        BatchEta { jobs, early_finishes: 0 }
    }

    /// Takes an answer about a job at `now` (untracked jobs are ignored).
    pub fn observe(&mut self, now: Instant, snapshot: &JobSnapshot) {
        let Ok(index) = self.jobs.binary_search_by(|(id, _, _)| id.as_str().cmp(&snapshot.job_id)) else {
            return;
        };
        let (_, estimate, finished) = &mut self.jobs[index];
        if *finished {
            return;
        }
        if snapshot.state.is_terminal() {
            *finished = true;
            if estimate.finish().is_some_and(|(earliest, _)| now < earliest) {
                self.early_finishes += 1;
            }
            return;
        }
        estimate.observe(now, snapshot.progress);
    }

    /// The earliest instant any unfinished job may finish; `None` when one has no estimate,
    /// when all finished, or once jobs finished earlier than their progress allowed.
    pub fn earliest_finish(&self) -> Option<Instant> {
        if self.early_finishes >= MAX_EARLY_FINISHES {
            return None;
        }
        let mut unfinished = self.jobs.iter().filter(|(_, _, finished)| !finished).peekable();
        unfinished.peek()?;
        unfinished.map(|(_, estimate, _)| estimate.finish().map(|(earliest, _)| earliest)).try_fold(
            None,
            |soonest: Option<Instant>, earliest| {
                let earliest = earliest?;
                Some(Some(soonest.map_or(earliest, |soonest| soonest.min(earliest))))
            },
        )?
    }

    /// By when the first of the unfinished jobs should have finished, by their progress: the
    /// soonest of their latest estimates. `None` as for [`BatchEta::earliest_finish`].
    pub fn first_finish_by(&self) -> Option<Instant> {
        self.earliest_finish()?;
        let unfinished = self.jobs.iter().filter(|(_, _, finished)| !finished);
        unfinished.filter_map(|(_, estimate, _)| estimate.finish().map(|(_, latest)| latest)).min()
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use crate::protocol::JobState;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn snapshot(id: &str, state: JobState, progress: Option<f64>) -> JobSnapshot {
        JobSnapshot { progress, ..JobSnapshot::bare(id, state) }
    }

    fn secs(origin: Instant, at: Instant) -> f64 {
        at.saturating_duration_since(origin).as_secs_f64()
    }

    #[test]
    fn one_reading_after_a_known_submit_bounds_the_finish() {
        let origin = Instant::now();
        let mut estimate = FinishEstimate::new(origin).submitted(Duration::from_secs(1));
        // 2 s after the submit, 20 % (truly 20–21 %): 100 % between 2 + 79·2/21 and 2 + 80·2/20.
        estimate.observe(origin + Duration::from_secs(1), Some(20.0));
        let (earliest, latest) = estimate.finish().expect("an estimate");
        assert!((secs(origin, earliest) - (1.0 + 79.0 * 2.0 / 21.0)).abs() < 1e-6);
        assert!((secs(origin, latest) - (1.0 + 80.0 * 2.0 / 20.0)).abs() < 1e-6);
        // No progress reported: no estimate.
        estimate.observe(origin + Duration::from_secs(2), None);
        assert_eq!(estimate.finish(), None);
    }

    #[test]
    fn zero_progress_says_nothing() {
        let origin = Instant::now();
        let mut estimate = FinishEstimate::new(origin).submitted(Duration::from_secs(3));
        estimate.observe(origin, Some(0.0));
        assert_eq!(estimate.finish(), None);
    }

    #[test]
    fn a_batch_finishes_no_sooner_than_its_earliest_job() {
        let origin = Instant::now();
        let age = Some(Duration::ZERO);
        let mut batch = BatchEta::new(origin, [("a".to_owned(), age), ("b".to_owned(), age), ("a".to_owned(), age)]);
        let at = origin + Duration::from_secs(1);
        batch.observe(at, &snapshot("a", JobState::Pending, Some(10.0)));
        assert_eq!(batch.earliest_finish(), None, "b has no estimate yet");
        batch.observe(at, &snapshot("b", JobState::Pending, Some(50.0)));
        batch.observe(at, &snapshot("untracked", JobState::Pending, Some(99.0)));
        // b: 50 % after 1 s finishes at 1 + 49/51 s at the earliest; a (10 %) much later.
        let soonest = batch.earliest_finish().expect("both estimated");
        assert!((secs(origin, soonest) - (1.0 + 49.0 / 51.0)).abs() < 1e-6);
        batch.observe(origin + Duration::from_secs(2), &snapshot("b", JobState::Succeeded, None));
        let soonest = batch.earliest_finish().expect("a is estimated");
        assert!((secs(origin, soonest) - (1.0 + 89.0 / 11.0)).abs() < 1e-6);
        batch.observe(origin + Duration::from_secs(10), &snapshot("a", JobState::Failed, None));
        assert_eq!(batch.earliest_finish(), None, "nothing left to wait for");
    }

    #[test]
    fn the_first_finish_is_due_by_the_soonest_latest_estimate() {
        let origin = Instant::now();
        let age = Some(Duration::ZERO);
        let mut batch = BatchEta::new(origin, [("a".to_owned(), age), ("b".to_owned(), age)]);
        let at = origin + Duration::from_secs(1);
        batch.observe(at, &snapshot("a", JobState::Pending, Some(10.0)));
        assert_eq!(batch.first_finish_by(), None, "b has no estimate yet");
        batch.observe(at, &snapshot("b", JobState::Pending, Some(50.0)));
        // b: 50 % after 1 s is done by 1 + 50/50 s at the latest; a (10 %) by 1 + 90/10 s.
        let by = batch.first_finish_by().expect("both estimated");
        assert!((secs(origin, by) - 2.0).abs() < 1e-6);
        batch.observe(origin + Duration::from_secs(2), &snapshot("b", JobState::Succeeded, None));
        let by = batch.first_finish_by().expect("a is estimated");
        assert!((secs(origin, by) - 10.0).abs() < 1e-6);
    }

    #[test]
    fn jobs_finishing_before_their_progress_allowed_end_the_trust() {
        let origin = Instant::now();
        let ids = ["a", "b", "c"].map(|id| (id.to_owned(), Some(Duration::ZERO)));
        let mut batch = BatchEta::new(origin, ids);
        let at = origin + Duration::from_secs(1);
        for id in ["a", "b", "c"] {
            batch.observe(at, &snapshot(id, JobState::Pending, Some(10.0)));
        }
        // 10 % after 1 s: none can finish before ~9 s, yet a finishes at 2 s.
        batch.observe(origin + Duration::from_secs(2), &snapshot("a", JobState::Succeeded, None));
        assert!(batch.earliest_finish().is_some(), "one early finish may be a fluke");
        batch.observe(origin + Duration::from_secs(2), &snapshot("b", JobState::Succeeded, None));
        assert_eq!(batch.earliest_finish(), None, "two: progress is not linear here");
    }
}
