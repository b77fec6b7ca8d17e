//! The decisions of a watch (many CloudStack jobs followed at once), sans IO: when to list next,
//! from which creation date, what a listing or a single status brings, which jobs to ask for one
//! by one, and what the finishes teach. The Rust client's watch and the JavaScript driver's run
//! the requests and sleeps; this says what to do.
//!
//! Listings start at the oldest unfinished job's creation (`startdate`); the first, before any
//! answer gave the creation times, at the oldest submit by the client's own clock (less a margin
//! for skew, [`first_listing_since`]), and again from the beginning if the clocks disagree by
//! more than that. Once a listing shows mostly other jobs ([`worth_listing`]), the few left are
//! asked for one by one.
//!
//! Like single waits, a watch's first listing waits for the earliest planned first poll of its
//! jobs, and it lists no sooner than the earliest finish the jobs' progress allows (a batch of
//! long jobs is not listed every few seconds for minutes just to read their progress). A small
//! watch also lists no later than the first finish that progress promises, however long its
//! backoff has grown.

use super::{
    first_listing_since, guess_missed, worth_listing, BatchEta, BatchTracker, DelayReason, PollPolicy, WaitStep, Waiter,
};
use crate::protocol::JobSnapshot;
use crate::time::{Duration, Instant};

/// Longest wait between two listings (the policy's own maximum when lower). One listing serves
/// every job of the batch, so ticking more often than a single job's backoff allows costs few
/// requests per job and keeps the detection lag of large batches down.
const MAX_TICK_INTERVAL: Duration = Duration::from_secs(3);

/// Longest wait for the earliest possible finish: however far off the jobs' progress puts it, a
/// watch lists at least this often while they run, so the progress it reports (a dashboard's
/// bars) still moves.
const MAX_ETA_WAIT: Duration = Duration::from_secs(10);

/// Listings aimed at the first finish the jobs' progress promised that found none, after which
/// that promise no longer shortens a tick (progress that is not linear in time).
const MAX_AIMED_MISSES: u32 = 2;

/// Shortest tick aimed at the promised first finish.
const MIN_AIMED_TICK: Duration = Duration::from_secs(1);

/// Most unfinished jobs for which ticks are aimed at the promised first finish. In a larger
/// watch some job is due at nearly every tick, so aiming would only add listings (measured with
/// 1,000 jobs: 1.2–1.3 instead of 1.0 requests/s), while its ticks, at most 3 s apart
/// ([`MAX_TICK_INTERVAL`]), already see finishes about a second late.
const AIMED_MAX_UNFINISHED: usize = 100;

/// One job of a watch, as the plan needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedJob {
    /// The job id.
    pub job_id: String,
    /// The command that started it (keys the learned durations).
    pub command: String,
    /// How old the job was when the watch began, when its submit is known.
    pub age: Option<Duration>,
}

/// What a finish teaches: the command, how long the job took (since its submit, or since the
/// watch began when unknown), and whether it was seen running (see
/// [`super::DurationLearner::observe_finish`]).
pub type Lesson = (String, Duration, bool);

/// The state of one watch.
#[derive(Debug)]
pub struct WatchPlan {
    jobs: Vec<WatchedJob>,
    /// `(job id, index in jobs)`, sorted by id: a lookup per news in large watches.
    by_id: Vec<(String, usize)>,
    /// Seen running, by index in `jobs`.
    seen_running: Vec<bool>,
    tracker: BatchTracker,
    etas: BatchEta,
    waiter: Waiter,
    started: Instant,
    tick_started: Instant,
    /// Where listings start until answers give the creation times (Unix seconds).
    guessed_since: Option<i64>,
    /// The few jobs left are asked for one by one, for the rest of the watch.
    per_job: bool,
    aimed_misses: u32,
    /// The current tick was aimed at a promised finish: unfinished jobs when it began.
    aimed_unfinished: Option<usize>,
}

/// Where the next listing starts (`listAsyncJobs` `startdate`, Unix seconds; `None` lists the
/// whole history), and whether the client's clock chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingStart {
    /// The start, if any.
    pub since: Option<i64>,
    /// Chosen by the client's clock, not by creation times the server gave.
    pub guessed: bool,
}

/// What a listing brought.
#[derive(Debug, Default)]
pub struct Listed {
    /// The changes to report (first sight, new state, more progress; each finish once).
    pub news: Vec<JobSnapshot>,
    /// What the finishes among them teach.
    pub lessons: Vec<Lesson>,
    /// Unfinished jobs the listing did not show: ask for each on its own.
    pub missing: Vec<String>,
    /// The listing started by the client's clock missed too many jobs: list again from the
    /// beginning (the clocks disagree).
    pub again: bool,
}

impl WatchPlan {
    /// A watch of `jobs` beginning `now` (`now_unix`: the wall clock, Unix seconds). `first`: the
    /// first listing's delay when every job's first poll is planned (the earliest of them), else
    /// the policy's first delay.
    pub fn new(
        jobs: Vec<WatchedJob>,
        policy: &PollPolicy,
        first: Option<(Duration, DelayReason)>,
        now: Instant,
        now_unix: u64,
    ) -> Self {
        let mut policy = policy.clone();
        policy.max_interval = policy.max_interval.min(MAX_TICK_INTERVAL);
        let waiter = match first {
            Some((delay, reason)) => Waiter::new(policy, now).first_delay(delay, reason),
            None => Waiter::new(policy, now),
        };
        let mut by_id: Vec<(String, usize)> = jobs.iter().enumerate().map(|(i, job)| (job.job_id.clone(), i)).collect();
        by_id.sort_unstable();
        WatchPlan {
            by_id,
            seen_running: vec![false; jobs.len()],
            tracker: BatchTracker::new(jobs.iter().map(|job| job.job_id.clone())),
            etas: BatchEta::new(now, jobs.iter().map(|job| (job.job_id.clone(), job.age))),
            guessed_since: first_listing_since(now_unix, jobs.iter().map(|job| job.age)),
            jobs,
            waiter,
            started: now,
            tick_started: now,
            per_job: false,
            aimed_misses: 0,
            aimed_unfinished: None,
        }
    }

    /// Whether every job has finished.
    pub fn is_done(&self) -> bool {
        self.tracker.is_done()
    }

    /// When the next tick goes, counted from `now`, and why; `None` once the deadline has passed.
    ///
    /// The delay counts from the start of the previous listing: one that took a while (many
    /// pages, or paced under a server's throttling) is not followed by the whole delay again.
    /// No listing before any job can finish (within [`MAX_ETA_WAIT`]), and a small watch lists
    /// no later than the first finish its jobs' progress promises.
    pub fn next_tick(&mut self, now: Instant, jitter: f64) -> Option<(Duration, DelayReason)> {
        let eta = self
            .etas
            .earliest_finish()
            .map(|at| (at.saturating_duration_since(self.tick_started).min(MAX_ETA_WAIT), DelayReason::Eta));
        // "Equal" jitter (the upper half between the interval's floor and the backoff's cap)
        // rather than a single wait's full jitter: one listing serves every job, so the watch is
        // one loop per client, not many polls to spread, and its early ticks at the floor only
        // cost requests (1,000 jobs: 1.0–1.1 instead of 1.2–1.3 requests/s, finishes seen
        // ~0.13 s later at p50).
        let jitter = 0.5 + jitter / 2.0;
        let WaitStep::PollAt(at, reason) = self.waiter.next_with_hint(self.tick_started, jitter, eta) else {
            return None;
        };
        let aiming =
            self.aimed_misses < MAX_AIMED_MISSES && self.tracker.unfinished().nth(AIMED_MAX_UNFINISHED).is_none();
        let due = aiming.then(|| self.etas.first_finish_by()).flatten();
        let due = due.map(|by| by.max(self.tick_started + MIN_AIMED_TICK)).filter(|due| *due < at);
        self.aimed_unfinished = due.map(|_| self.tracker.unfinished().count());
        let (at, reason) = due.map_or((at, reason), |due| (due, DelayReason::Eta));
        Some((at.saturating_duration_since(now), reason))
    }

    /// The tick begins (after its delay) at `now`.
    pub fn tick(&mut self, now: Instant) {
        self.tick_started = now;
    }

    /// Where this tick's listing starts; `None` when the jobs left are asked for one by one
    /// (see [`WatchPlan::unfinished`]).
    pub fn listing(&self) -> Option<ListingStart> {
        if self.per_job {
            return None;
        }
        let known = self.tracker.oldest_unfinished_created();
        Some(ListingStart { since: known.or(self.guessed_since), guessed: known.is_none() })
    }

    /// The unfinished jobs.
    pub fn unfinished(&self) -> Vec<String> {
        self.tracker.unfinished().cloned().collect()
    }

    /// Takes a whole listing (every page) that started at `start`, seen at `now`.
    pub fn listed(&mut self, listing: &[JobSnapshot], start: ListingStart, now: Instant) -> Listed {
        listing.iter().for_each(|snapshot| self.etas.observe(now, snapshot));
        let (news, missing) = self.tracker.observe_listing(listing);
        let lessons = news.iter().filter_map(|snapshot| self.lesson(snapshot, now)).collect();
        if start.guessed && start.since.is_some() && guess_missed(missing.len()) {
            // The client's clock runs ahead of the server's: the whole history once (the next
            // listings start at creation times the server gave).
            self.guessed_since = None;
            return Listed { news, lessons, missing: Vec::new(), again: true };
        }
        // A listing from a guessed start or none shows others the next one leaves out: only one
        // from the server's creation times says how many it brings.
        self.per_job = !start.guessed && !worth_listing(listing.len(), self.tracker.unfinished().count());
        Listed { news, lessons, missing, again: false }
    }

    /// Takes one job's own status, seen at `now`: the news, if any, and what it teaches.
    pub fn polled(&mut self, snapshot: &JobSnapshot, now: Instant) -> Option<(JobSnapshot, Option<Lesson>)> {
        self.etas.observe(now, snapshot);
        let news = self.tracker.observe(snapshot)?;
        let lesson = self.lesson(&news, now);
        Some((news, lesson))
    }

    /// The tick is over (its listing and single polls done).
    pub fn ticked(&mut self) {
        if let Some(before) = self.aimed_unfinished.take() {
            if self.tracker.unfinished().count() == before {
                self.aimed_misses += 1;
            }
        }
    }

    /// The final snapshot of `job_id`, once (see [`BatchTracker::take_final`]).
    pub fn take_final(&mut self, job_id: &str) -> Option<JobSnapshot> {
        self.tracker.take_final(job_id)
    }

    /// How long the watch has waited at `now`.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// A news's lesson: once a job finished, its command, duration and whether it was seen
    /// running; a running job is noted as such.
    fn lesson(&mut self, snapshot: &JobSnapshot, now: Instant) -> Option<Lesson> {
        let found = self.by_id.binary_search_by(|(id, _)| id.as_str().cmp(&snapshot.job_id)).ok()?;
        let index = self.by_id[found].1;
        if !snapshot.state.is_terminal() {
            self.seen_running[index] = true;
            return None;
        }
        let job = &self.jobs[index];
        let took = job.age.unwrap_or_default() + self.elapsed(now);
        Some((job.command.clone(), took, self.seen_running[index]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobState;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// 2026-11-28T12:00:00Z.
    const NOW_UNIX: u64 = 1_795_867_200;

    fn job(id: &str, age_secs: Option<u64>) -> WatchedJob {
        WatchedJob { job_id: id.into(), command: "deployVirtualMachine".into(), age: age_secs.map(Duration::from_secs) }
    }

    fn snap(id: &str, state: JobState, created: Option<&str>) -> JobSnapshot {
        JobSnapshot { created: created.map(str::to_owned), ..JobSnapshot::bare(id, state) }
    }

    fn plan(jobs: Vec<WatchedJob>, now: Instant) -> WatchPlan {
        WatchPlan::new(jobs, &PollPolicy::default(), None, now, NOW_UNIX)
    }

    #[test]
    fn the_first_listing_starts_at_the_oldest_submit_and_a_miss_lists_again_from_the_beginning() {
        let now = Instant::now();
        let mut plan = plan(vec![job("a", Some(30)), job("b", Some(10)), job("c", Some(20)), job("d", Some(5))], now);
        let start = plan.listing().expect("a listing");
        // The oldest submit (30 s ago) less the 5-minute margin for clock skew.
        assert_eq!(start, ListingStart { since: Some(NOW_UNIX as i64 - 30 - 300), guessed: true });
        // The server's clock is far behind: the guessed start shows none of the four jobs.
        let listed = plan.listed(&[], start, now);
        assert!(listed.again && listed.missing.is_empty(), "{listed:?}");
        let again = plan.listing().expect("a listing");
        assert_eq!(again, ListingStart { since: None, guessed: true }, "the whole history once");
        let listed = plan.listed(&[], again, now);
        assert!(!listed.again, "never twice");
        assert_eq!(listed.missing.len(), 4, "jobs not even the whole history shows are asked for one by one");
    }

    #[test]
    fn a_listing_of_mostly_other_jobs_leaves_the_few_left_to_single_polls() {
        let now = Instant::now();
        let mut plan = plan(vec![job("a", None), job("b", None)], now);
        let created = "2026-11-28T11:59:00+0000";
        let first = plan.listing().expect("a listing");
        assert_eq!(first.since, None, "unknown submits: the whole history");
        let own = [snap("a", JobState::Pending, Some(created)), snap("b", JobState::Pending, Some(created))];
        let listed = plan.listed(&own, first, now);
        assert_eq!(listed.news.len(), 2);
        // Creation times known now: listings start there, and judge how many others they bring.
        let second = plan.listing().expect("a listing");
        assert!(!second.guessed && second.since.is_some(), "{second:?}");
        let mut crowded: Vec<JobSnapshot> = (0..100).map(|i| snap(&format!("x{i}"), JobState::Pending, None)).collect();
        crowded.extend(own.iter().cloned());
        let listed = plan.listed(&crowded, second, now);
        assert!(listed.news.is_empty() && listed.missing.is_empty());
        assert_eq!(plan.listing(), None, "per-job polls from now on");
        assert_eq!(plan.unfinished(), vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn finishes_are_news_once_and_teach_the_duration_since_the_submit() {
        let now = Instant::now();
        let mut plan = plan(vec![job("a", Some(40))], now);
        assert!(plan.polled(&snap("a", JobState::Pending, None), now).is_some_and(|(_, lesson)| lesson.is_none()));
        let later = now + Duration::from_secs(20);
        let (news, lesson) = plan.polled(&snap("a", JobState::Succeeded, None), later).expect("news");
        assert_eq!(news.state, JobState::Succeeded);
        assert_eq!(lesson, Some(("deployVirtualMachine".to_owned(), Duration::from_secs(60), true)));
        assert!(plan.polled(&snap("a", JobState::Succeeded, None), later).is_none(), "once");
        assert!(plan.is_done());
    }

    #[test]
    fn ticks_stay_within_the_deadline_and_no_longer_than_the_tick_interval_apart() {
        let now = Instant::now();
        let policy = PollPolicy { deadline: Some(Duration::from_secs(60)), ..PollPolicy::default() };
        let mut plan = WatchPlan::new(vec![job("a", None)], &policy, None, now, NOW_UNIX);
        let mut at = now;
        for _ in 0..30 {
            let Some((delay, _)) = plan.next_tick(at, 0.99) else { break };
            assert!(delay <= MAX_TICK_INTERVAL, "{delay:?}");
            at += delay;
            plan.tick(at);
        }
        assert!(at <= now + Duration::from_secs(60));
        assert_eq!(plan.next_tick(now + Duration::from_secs(61), 0.5), None, "the deadline passed");
    }
}
