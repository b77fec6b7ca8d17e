//! Following many jobs at once: one `listAsyncJobs` listing (all its pages) per tick instead of
//! a status request per job, the jobs a listing cannot show asked for one by one. What to do
//! when is the sans-IO [`WatchPlan`]'s (shared with the JavaScript driver); this sends the
//! requests, sleeps, and reports.

use crate::engine::{DelayReason, Lesson, Paging, WatchPlan, WatchedJob, LISTING_PAGE_SIZE};
use crate::error::{Error, Result};
use crate::protocol::cloudstack::{self, Request};
use crate::protocol::{JobSnapshot, ProtocolError};
use crate::time::{Duration, Instant};
use crate::transport;

use super::driver::{self, OnDelay, OnEvent};
use super::{JobClient, MaybeSend, SubmittedJob, WaitEvent};

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

    /// The watch itself, one copy for every kind of callback: the requests and sleeps the
    /// [`WatchPlan`] asks for.
    async fn watch_with(&self, jobs: &[SubmittedJob], on_event: OnEvent<'_>) -> Result<Vec<JobSnapshot>> {
        let started = Instant::now();
        let watched = jobs.iter().map(|job| WatchedJob {
            job_id: job.job_id.clone(),
            command: job.command.clone(),
            age: driver::age(job, started),
        });
        let first = self.first_listing_delay(jobs, started);
        let mut plan = WatchPlan::new(watched.collect(), &self.config.policy, first, started, transport::unix_now());
        while !plan.is_done() {
            let Some((delay, reason)) = plan.next_tick(Instant::now(), fastrand::f64()) else {
                let waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                return Err(Error::WaitTimedOut { job_id: "batch".into(), waited_ms });
            };
            on_event(WaitEvent::Delay { delay, reason, retries: 0 });
            transport::sleep(delay).await;
            plan.tick(Instant::now());
            let missing = loop {
                let Some(start) = plan.listing() else { break plan.unfinished() };
                let listing = self.list_jobs(start.since, &mut driver::delays_from(&mut *on_event)).await?;
                let listed = plan.listed(&listing, start, Instant::now());
                self.report(listed.news, listed.lessons, on_event);
                if !listed.again {
                    break listed.missing;
                }
            };
            for job_id in missing {
                let (snapshot, _) =
                    driver::shared_poll(self, &job_id, None, &mut driver::delays_from(&mut *on_event)).await?;
                if let Some((news, lesson)) = plan.polled(&snapshot, Instant::now()) {
                    self.report(vec![news], lesson.into_iter().collect(), on_event);
                }
            }
            plan.ticked();
        }
        // In the order given; a duplicate's final snapshot was taken by its first occurrence.
        Ok(jobs.iter().filter_map(|job| plan.take_final(&job.job_id)).collect())
    }

    /// A watch's news: learned from (finishes teach their commands' durations), then reported.
    fn report(&self, news: Vec<JobSnapshot>, lessons: Vec<Lesson>, on_event: OnEvent<'_>) {
        let mut learner = driver::learner(self);
        for (command, took, was_running) in lessons {
            learner.observe_finish(&command, took, was_running);
        }
        drop(learner);
        for snapshot in &news {
            on_event(WaitEvent::Status(snapshot));
        }
    }

    /// The first listing's delay when every job's first poll is planned (a configured initial
    /// delay or a learned duration for its command, see [`driver::first_poll`]): the
    /// earliest of them; `None` (the policy's first delay) when a job's command is new or
    /// unknown.
    fn first_listing_delay(&self, jobs: &[SubmittedJob], started: Instant) -> Option<(Duration, DelayReason)> {
        let learner = driver::learner(self);
        let firsts: Option<Vec<(Duration, DelayReason)>> =
            jobs.iter().map(|job| driver::first_poll(self, &learner, job, started)).collect();
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
