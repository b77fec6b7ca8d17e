//! Following many jobs at once: one `listAsyncJobs` listing (all its pages) per tick instead of
//! a status request per job; the jobs the listing cannot show (purged, or of an account the
//! listing does not cover) are asked for one by one, and so are the last few once a listing
//! shows mostly other jobs ([`crate::engine::worth_listing`]). Decisions are the
//! [`BatchTracker`]'s.
//! Listings start at the oldest unfinished job's creation (`startdate`); the first, before any
//! answer gave the creation times, at the oldest submit by the client's own clock (less a margin
//! for skew, [`crate::engine::first_listing_since`]), and again from the beginning if the clocks
//! disagree by more than that.
//! Like single waits, a watch learns from the jobs it sees finish, its first listing waits for
//! the earliest window in which a job's command usually finishes, and it lists no sooner than
//! the earliest finish the jobs' progress allows (a batch of long jobs is not listed every few
//! seconds for minutes just to read their progress). A small watch also lists no later than the
//! first finish that progress promises, however long its backoff has grown.

use crate::engine::{
    first_listing_since, guess_missed, worth_listing, BatchEta, BatchTracker, DelayReason, Paging, WaitStep, Waiter,
    LISTING_PAGE_SIZE,
};
use crate::error::{Error, Result};
use crate::protocol::cloudstack::{self, Request};
use crate::protocol::{JobSnapshot, ProtocolError};
use crate::time::{Duration, Instant};
use crate::transport;

use super::driver::{self, OnDelay, OnEvent};
use super::{JobClient, MaybeSend, SubmittedJob, WaitEvent};

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

impl JobClient {
    /// Follows `jobs` until every one has finished, calling `on_update` with each change (first
    /// sight, new state, more progress; a terminal state exactly once). Resolves with the final
    /// snapshot of every job, in the order given (duplicates once). Failed jobs are reported,
    /// not raised: the batch itself only fails on transport/protocol errors or the deadline.
    ///
    /// # Errors
    /// [`Error::WaitTimedOut`] (job id `batch`) when the policy's deadline passes, or a
    /// transport/protocol error after the retry budget.
    pub async fn watch(
        &self,
        jobs: &[SubmittedJob],
        mut on_update: impl FnMut(&JobSnapshot) + MaybeSend,
    ) -> Result<Vec<JobSnapshot>> {
        let mut on_event = |event: WaitEvent<'_>| {
            if let WaitEvent::Status(snapshot) = event {
                on_update(snapshot);
            }
        };
        self.watch_with(jobs, &mut on_event).await
    }

    /// Like [`JobClient::watch`], reporting also every delay the watch chooses and why: before
    /// each listing ([`DelayReason::Eta`] when the jobs' progress lets none finish sooner), and
    /// before each retry of a failed request. [`WaitEvent::Status`] carries the changes only.
    ///
    /// # Errors
    /// As [`JobClient::watch`].
    pub async fn watch_events(
        &self,
        jobs: &[SubmittedJob],
        mut on_event: impl FnMut(WaitEvent<'_>) + MaybeSend,
    ) -> Result<Vec<JobSnapshot>> {
        self.watch_with(jobs, &mut on_event).await
    }

    /// The watch itself, one copy for every kind of callback.
    async fn watch_with(&self, jobs: &[SubmittedJob], on_event: OnEvent<'_>) -> Result<Vec<JobSnapshot>> {
        let mut tracker = BatchTracker::new(jobs.iter().map(|job| job.job_id.clone()));
        let started = Instant::now();
        let mut policy = self.config.policy.clone();
        policy.max_interval = policy.max_interval.min(MAX_TICK_INTERVAL);
        let mut waiter = match self.first_listing_delay(jobs, started) {
            Some((delay, reason)) => Waiter::new(policy, started).first_delay(delay, reason),
            None => Waiter::new(policy, started),
        };
        let mut etas = BatchEta::new(started, jobs.iter().map(|job| (job.job_id.clone(), driver::age(job, started))));
        let mut lessons = Lessons::new(jobs);
        let mut tick_started = started;
        let mut per_job = false;
        // Until answers give the jobs' creation times, listings start where the client's clock
        // puts the oldest submit, not at the beginning of the account's history.
        let mut guessed_since =
            first_listing_since(transport::unix_now(), jobs.iter().map(|job| driver::age(job, started)));
        let mut aimed_misses = 0;
        while !tracker.is_done() {
            // The delay counts from the start of the previous listing: a listing that takes a
            // while (many pages, or paced under a server's throttling) is not followed by the
            // whole delay again. No listing before any job can finish (within MAX_ETA_WAIT).
            let eta = etas
                .earliest_finish()
                .map(|at| (at.saturating_duration_since(tick_started).min(MAX_ETA_WAIT), DelayReason::Eta));
            // "Equal" jitter (the upper half between the interval's floor and the backoff's cap)
            // rather than a single wait's full jitter: one listing serves every job, so the
            // watch is one loop per client, not many polls to spread, and its early ticks at
            // the floor only cost requests (1,000 jobs: 1.0–1.1 instead of 1.2–1.3 requests/s,
            // finishes seen ~0.13 s later at p50).
            let jitter = 0.5 + fastrand::f64() / 2.0;
            let aimed = match waiter.next_with_hint(tick_started, jitter, eta) {
                WaitStep::GiveUp => {
                    let waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    return Err(Error::WaitTimedOut { job_id: "batch".into(), waited_ms });
                }
                WaitStep::PollAt(at, reason) => {
                    // No later than the first job should have finished by its progress: a long
                    // backoff would otherwise leave that finish unseen for most of a tick.
                    let aiming =
                        aimed_misses < MAX_AIMED_MISSES && tracker.unfinished().nth(AIMED_MAX_UNFINISHED).is_none();
                    let due = aiming.then(|| etas.first_finish_by()).flatten();
                    let due = due.map(|by| by.max(tick_started + MIN_AIMED_TICK)).filter(|due| *due < at);
                    let (at, reason) = due.map_or((at, reason), |due| (due, DelayReason::Eta));
                    let delay = at.saturating_duration_since(Instant::now());
                    on_event(WaitEvent::Delay { delay, reason, retries: 0 });
                    transport::sleep(delay).await;
                    due.is_some()
                }
            };
            tick_started = Instant::now();
            // Only an aimed listing is judged by whether it saw a finish.
            let unfinished_before = aimed.then(|| tracker.unfinished().count());
            // Once a listing showed mostly other jobs, the few left are asked for one by one
            // (for the rest of the watch: fewer of its own only make a listing worse).
            let missing = if per_job {
                tracker.unfinished().cloned().collect()
            } else {
                let known_since = tracker.oldest_unfinished_created();
                let mut since = known_since.or(guessed_since);
                loop {
                    let listing = self.list_jobs(since, &mut driver::delays_from(&mut *on_event)).await?;
                    let listed_at = Instant::now();
                    listing.iter().for_each(|snapshot| etas.observe(listed_at, snapshot));
                    let (news, missing) = tracker.observe_listing(&listing);
                    for snapshot in &news {
                        self.report(&mut lessons, snapshot, started, on_event);
                    }
                    if known_since.is_none() && since.is_some() && guess_missed(missing.len()) {
                        // The client's clock runs ahead of the server's: the whole history
                        // once (the next listings start at creation times the server gave).
                        (guessed_since, since) = (None, None);
                        continue;
                    }
                    // A listing from a guessed start or none shows others the next one leaves
                    // out: only one from the server's creation times says how many it brings.
                    per_job = known_since.is_some() && !worth_listing(listing.len(), tracker.unfinished().count());
                    break missing;
                }
            };
            for job_id in missing {
                let (snapshot, _) =
                    driver::shared_poll(self, &job_id, None, &mut driver::delays_from(&mut *on_event)).await?;
                etas.observe(Instant::now(), &snapshot);
                if let Some(news) = tracker.observe(&snapshot) {
                    self.report(&mut lessons, &news, started, on_event);
                }
            }
            if unfinished_before.is_some_and(|before| tracker.unfinished().count() == before) {
                aimed_misses += 1;
            }
        }
        // In the order given; a duplicate's final snapshot was taken by its first occurrence.
        Ok(jobs.iter().filter_map(|job| tracker.take_final(&job.job_id)).collect())
    }

    /// A watch's news: learned from (a finish teaches its command's duration), then reported.
    fn report(&self, lessons: &mut Lessons<'_>, snapshot: &JobSnapshot, started: Instant, on_event: OnEvent<'_>) {
        if let Some((command, took, was_running)) = lessons.observe(snapshot, started) {
            driver::learner(self).observe_finish(command, took, was_running);
        }
        on_event(WaitEvent::Status(snapshot));
    }

    /// The first listing's delay when every job's first poll is planned (a configured initial
    /// delay or a learned duration for its command, see [`driver::planned_first_poll`]): the
    /// earliest of them; `None` (the policy's first delay) when a job's command is new or
    /// unknown.
    fn first_listing_delay(&self, jobs: &[SubmittedJob], started: Instant) -> Option<(Duration, DelayReason)> {
        let learner = driver::learner(self);
        let firsts: Option<Vec<(Duration, DelayReason)>> =
            jobs.iter().map(|job| driver::planned_first_poll(self, &learner, job, started)).collect();
        firsts?.into_iter().min_by_key(|(delay, _)| *delay)
    }

    /// Every job `listAsyncJobs` shows: in one request or page by page, as the client's
    /// [`crate::engine::ListingPlan`] says; only those created since `since_secs` (Unix
    /// seconds) when known, so a long job history is not listed again at every tick. The
    /// second taken off guards against rounding of the server's dates.
    pub(super) async fn list_jobs(&self, since_secs: Option<i64>, on_delay: OnDelay<'_>) -> Result<Vec<JobSnapshot>> {
        let startdate = since_secs
            .and_then(|secs| u64::try_from(secs.saturating_sub(1)).ok())
            .map(cloudstack::signing::format_date);
        let listing = |paging: &[(&str, String)]| {
            let mut request = Request::new("listAsyncJobs");
            for (name, value) in paging {
                request = request.param(*name, value.clone());
            }
            match &startdate {
                Some(startdate) => request.param("startdate", startdate.clone()),
                None => request,
            }
        };
        let (jobs, count) = 'listed: {
            if self.session().listing.paging() == Paging::Unlimited {
                let answer = self.exchange(&listing(&[("pagesize", "-1".into())]), None, &mut *on_delay).await;
                match answer.and_then(|(envelope, _)| Ok(cloudstack::parse_job_list(&envelope)?)) {
                    Ok(list) => break 'listed (list.jobs, list.count),
                    // A server without "unlimited" refuses the parameter; one too large to read
                    // is asked for again by pages. Anything else is the listing's failure.
                    Err(Error::Api(refusal)) if refusal.code == 431 => self.session().listing.unlimited_refused(),
                    Err(Error::Protocol(ProtocolError::TooLarge { .. })) => self.session().listing.too_large(),
                    Err(error) => return Err(error),
                }
            }
            let mut jobs = Vec::new();
            let mut page = 1u64;
            loop {
                let request = listing(&[("page", page.to_string()), ("pagesize", LISTING_PAGE_SIZE.to_string())]);
                let list = cloudstack::parse_job_list(&self.exchange(&request, None, &mut *on_delay).await?.0)?;
                let got = list.jobs.len();
                jobs.extend(list.jobs);
                // A short page, or everything counted, ends the listing (servers that ignore
                // paging send everything at once).
                if got < LISTING_PAGE_SIZE as usize || jobs.len() as u64 >= list.count {
                    break 'listed (jobs, list.count);
                }
                page += 1;
            }
        };
        // The size the plan goes by: what the server counted, or what came if it counted less.
        self.session().listing.observed(count.max(jobs.len() as u64));
        Ok(jobs)
    }
}

/// What a watch's jobs teach about their commands' durations.
struct Lessons<'a> {
    jobs: &'a [SubmittedJob],
    /// `(job id, index in jobs)`, sorted by id.
    by_id: Vec<(&'a str, usize)>,
    /// Seen running, by index.
    seen_running: Vec<bool>,
}

impl<'a> Lessons<'a> {
    fn new(jobs: &'a [SubmittedJob]) -> Self {
        let mut by_id: Vec<(&str, usize)> = jobs.iter().enumerate().map(|(i, job)| (job.job_id.as_str(), i)).collect();
        by_id.sort_unstable();
        Lessons { jobs, by_id, seen_running: vec![false; jobs.len()] }
    }

    /// Takes news of a job: once one seen running finished, its command, how long it took
    /// (since its submit, or since the watch began when unknown) and whether it was seen
    /// running (see [`crate::engine::DurationLearner::observe_finish`]).
    fn observe(&mut self, snapshot: &JobSnapshot, started: Instant) -> Option<(&'a str, Duration, bool)> {
        let found = self.by_id.binary_search_by(|(id, _)| (*id).cmp(snapshot.job_id.as_str())).ok()?;
        let index = self.by_id[found].1;
        let job = &self.jobs[index];
        if !snapshot.state.is_terminal() {
            self.seen_running[index] = true;
            return None;
        }
        Some((job.command.as_str(), driver::took(job, started), self.seen_running[index]))
    }
}
