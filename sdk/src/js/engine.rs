//! The Rust engine's decisions with the API of the JavaScript driver's engine
//! (`sdk/js/engine/index.js`), for the test that holds the two to the same decisions
//! (`sdk/js/engine/tests/twin.test.mjs`, feature `js-engine`). The package itself runs the
//! JavaScript twin: in wasm these classes cost ~19 KB gzipped, a third of its size floor.
//!
//! Every method is given the time (`now`, milliseconds on the caller's monotonic clock) and the
//! randomness (`jitter`, in [0, 1)) it decides with, so a test can replay one scenario on both.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{statuses_to_js, type_error};
use super::core::{failed, ms, response};
use crate::client::decode;
use crate::engine::{
    planned_first_poll, DelayReason, DurationLearner, Lesson, ListingPlan, ListingStart, Pacer, Paging, PollPolicy,
    WaitStep, Waiter, WatchPlan, WatchedJob, LISTING_PAGE_SIZE,
};
use crate::error::Error;
use crate::protocol::cloudstack;
use crate::protocol::date::parse_cloudstack_date;
use crate::protocol::{Format, JobSnapshot, ProtocolError};
use crate::time::{Duration, Instant};

/// Milliseconds as a duration; negative, NaN or huge values saturate instead of panicking.
fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64((ms / 1000.0).clamp(0.0, 1e12)).unwrap_or(Duration::ZERO)
}

/// The caller's clock: its milliseconds as instants from a fixed origin.
#[derive(Clone, Copy)]
struct Clock {
    origin: Instant,
}

impl Clock {
    fn at(self, now_ms: f64) -> Instant {
        self.origin + millis(now_ms)
    }

    fn ms(self, instant: Instant) -> f64 {
        ms(instant.saturating_duration_since(self.origin))
    }
}

/// One client's engine state: learned durations, request pacing, the listing plan and the
/// polling policy.
#[wasm_bindgen]
pub struct Engine {
    policy: PollPolicy,
    /// Whether `listAsyncJobs` is asked for in one request or by pages (shared by watches).
    listing: Rc<RefCell<ListingPlan>>,
    initial_delays: Vec<(String, Duration)>,
    learner: Rc<RefCell<DurationLearner>>,
    pacer: Pacer,
    clock: Clock,
}

#[wasm_bindgen]
impl Engine {
    /// `deadlineMs` < 0: no deadline. `initialDelays`: `[command, ms, command, ms, …]`.
    #[wasm_bindgen(constructor)]
    pub fn new(deadline_ms: f64, initial_delays: Vec<JsValue>) -> Engine {
        let policy =
            PollPolicy { deadline: (deadline_ms >= 0.0).then(|| millis(deadline_ms)), ..PollPolicy::default() };
        let initial_delays = initial_delays
            .chunks(2)
            .filter_map(|pair| Some((pair.first()?.as_string()?, millis(pair.get(1)?.as_f64()?))))
            .collect();
        Engine {
            policy,
            listing: Rc::default(),
            initial_delays,
            learner: Rc::default(),
            pacer: Pacer::new(),
            clock: Clock { origin: Instant::now() },
        }
    }

    /// Reserves the next request's slot: `[slot, wait]`, the wait the spacing learned from
    /// throttling asks for first (0 unless the server throttled).
    pub fn reserve(&mut self, now_ms: f64) -> Vec<f64> {
        let now = self.clock.at(now_ms);
        let slot = self.pacer.reserve(now);
        vec![self.clock.ms(slot), ms(slot.saturating_duration_since(now))]
    }

    /// The request sent in `slot` was answered with `status`: a 429 teaches the pacer the wait
    /// (`retryAfterMs`, else 1 s); anything else admits the slot.
    pub fn answered(&mut self, now_ms: f64, slot_ms: f64, status: u16, retry_after_ms: Option<f64>) {
        let slot = self.clock.at(slot_ms);
        if status == 429 {
            let wait = retry_after_ms.map_or(Duration::from_secs(1), millis);
            self.pacer.refused(self.clock.at(now_ms), slot, wait);
        } else {
            self.pacer.admitted(slot);
        }
    }

    /// The schedule of a wait for a `command` job beginning now; `ageMs`: how old the job is,
    /// when its submit is known.
    pub fn schedule(&self, now_ms: f64, command: &str, age_ms: Option<f64>) -> Schedule {
        let started = self.clock.at(now_ms);
        let (initial, learner) = (self.initial_delay(command), self.learner.borrow());
        let waiter = Waiter::for_job(self.policy.clone(), initial, &learner, command, age_ms.map(millis), started);
        Schedule { waiter, started, deadline: self.policy.deadline, clock: self.clock }
    }

    /// A watch of the jobs `ids` (with their `commands`, and their ages in ms, `NaN` when
    /// unknown) beginning now (`unixSecs` on the wall clock).
    pub fn watch(
        &self,
        now_ms: f64,
        unix_secs: f64,
        ids: Vec<String>,
        commands: Vec<String>,
        ages_ms: Vec<f64>,
    ) -> Watch {
        let jobs: Vec<WatchedJob> = ids
            .into_iter()
            .zip(commands)
            .zip(ages_ms)
            .map(|((job_id, command), age)| WatchedJob { job_id, command, age: (!age.is_nan()).then(|| millis(age)) })
            .collect();
        let learner = self.learner.borrow();
        let first_of = |job: &WatchedJob| {
            planned_first_poll(&self.policy, self.initial_delay(&job.command), &learner, &job.command, job.age)
        };
        let firsts: Option<Vec<_>> = jobs.iter().map(first_of).collect();
        let first = firsts.and_then(|firsts| firsts.into_iter().min_by_key(|(delay, _)| *delay));
        let now = self.clock.at(now_ms);
        Watch {
            plan: WatchPlan::new(jobs, &self.policy, first, now, unix_secs.max(0.0) as u64),
            learner: Rc::clone(&self.learner),
            listing: Rc::clone(&self.listing),
            clock: self.clock,
            start: None,
            pages: Vec::new(),
            page: 0,
        }
    }

    /// The command's configured initial delay.
    fn initial_delay(&self, command: &str) -> Option<Duration> {
        self.initial_delays.iter().find(|(name, _)| name.eq_ignore_ascii_case(command)).map(|(_, delay)| *delay)
    }

    /// A `command` job was seen finished `tookMs` after its submit (or the wait's start);
    /// `seenRunning`: an earlier answer showed it pending.
    pub fn finished(&self, command: &str, took_ms: f64, seen_running: bool) {
        self.learner.borrow_mut().observe_finish(command, millis(took_ms), seen_running);
    }
}

/// One wait's schedule (see [`Waiter`]).
#[wasm_bindgen]
pub struct Schedule {
    waiter: Waiter,
    started: Instant,
    deadline: Option<Duration>,
    clock: Clock,
}

#[wasm_bindgen]
impl Schedule {
    /// The next poll: `[delayMs, reason]`, or `undefined` once the deadline has passed.
    pub fn next(&mut self, now_ms: f64, jitter: f64) -> JsValue {
        let now = self.clock.at(now_ms);
        match self.waiter.next(now, jitter) {
            WaitStep::GiveUp => JsValue::UNDEFINED,
            WaitStep::PollAt(at, reason) => delay_pair(at.saturating_duration_since(now), reason),
        }
    }

    /// A status showed the job pending at `progress` (percent, when reported).
    pub fn progress(&mut self, now_ms: f64, progress: Option<f64>) {
        self.waiter.observe_progress(self.clock.at(now_ms), progress);
    }

    /// Seconds the next long-poll may ask the server to hold it: `configured`, cut to what is
    /// left of the deadline (a sub-second rest still gets one short poll); `undefined` once the
    /// deadline has passed.
    #[wasm_bindgen(js_name = longPoll)]
    pub fn long_poll(&self, now_ms: f64, configured: u32) -> Option<u32> {
        let Some(deadline) = self.deadline else { return Some(configured) };
        let left = deadline.saturating_sub(self.clock.at(now_ms).saturating_duration_since(self.started));
        if left.is_zero() {
            return None;
        }
        let left_secs = u32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0)).unwrap_or(u32::MAX);
        Some(configured.min(left_secs).max(1))
    }
}

/// A watch of many CloudStack jobs (the [`WatchPlan`]): the driver asks when to tick, sends the
/// listing pages and single status requests it gets the parameters of, and hands their answers
/// back; the news come out as statuses, and what finishes teach goes to the engine.
#[wasm_bindgen]
pub struct Watch {
    plan: WatchPlan,
    learner: Rc<RefCell<DurationLearner>>,
    listing: Rc<RefCell<ListingPlan>>,
    clock: Clock,
    /// Where the listing under way starts.
    start: Option<ListingStart>,
    /// Its pages so far.
    pages: Vec<JobSnapshot>,
    /// The page asked for last (0: everything at once).
    page: u32,
}

#[wasm_bindgen]
impl Watch {
    /// The next tick's `[delayMs, reason]`; `undefined` once the deadline has passed.
    pub fn next(&mut self, now_ms: f64, jitter: f64) -> JsValue {
        match self.plan.next_tick(self.clock.at(now_ms), jitter) {
            Some((delay, reason)) => delay_pair(delay, reason),
            None => JsValue::UNDEFINED,
        }
    }

    /// The tick begins (its delay is over).
    pub fn tick(&mut self, now_ms: f64) {
        self.plan.tick(self.clock.at(now_ms));
    }

    /// The `listAsyncJobs` parameters of this tick's listing: its first request (`begin`), or its
    /// next page. The first asks for everything at once (`pagesize=-1`) where the listing plan
    /// allows it, else for page 1. `undefined` when the jobs left are asked for one by one (see
    /// `unfinished`).
    pub fn listing(&mut self, begin: bool) -> Option<Vec<String>> {
        if begin {
            self.start = Some(self.plan.listing()?);
            self.pages.clear();
            self.page = u32::from(self.listing.borrow().paging() != Paging::Unlimited);
        } else {
            self.start?;
            self.page += 1;
        }
        let mut params = match self.page {
            0 => vec!["pagesize".to_owned(), "-1".to_owned()],
            page => vec!["page".to_owned(), page.to_string(), "pagesize".to_owned(), LISTING_PAGE_SIZE.to_string()],
        };
        // The second taken off guards against rounding of the server's dates.
        let since = self.start?.since.and_then(|secs| u64::try_from(secs.saturating_sub(1)).ok());
        if let Some(since) = since {
            params.extend(["startdate".to_owned(), cloudstack::signing::format_date(since)]);
        }
        Some(params)
    }

    /// Reads one listing page: `[more]` (whether another page is due: ask `listing(false)`), or
    /// a failure as `readCloudStack` gives it. An unlimited listing the server refused (431) or
    /// that was too large to read switches the plan to pages: `[true]` (page 1 is due).
    pub fn page(&mut self, status: u16, content_type: &str, retry_after: Option<String>, body: &[u8]) -> js_sys::Array {
        let response = response(status, content_type, retry_after, body);
        let list = decode(&response, Format::Json).and_then(|envelope| Ok(cloudstack::parse_job_list(&envelope)?));
        match list {
            Ok(list) => {
                let got = list.jobs.len();
                self.pages.extend(list.jobs);
                let count = list.count.max(self.pages.len() as u64);
                let more = self.page > 0 && got >= LISTING_PAGE_SIZE as usize && (self.pages.len() as u64) < list.count;
                if !more {
                    // The size the plan goes by: what the server counted, or what came if less.
                    self.listing.borrow_mut().observed(count);
                }
                js_sys::Array::of1(&JsValue::from_bool(more))
            }
            Err(Error::Api(refusal)) if self.page == 0 && refusal.code == 431 => {
                self.listing.borrow_mut().unlimited_refused();
                js_sys::Array::of1(&JsValue::TRUE)
            }
            Err(Error::Protocol(ProtocolError::TooLarge { .. })) if self.page == 0 => {
                self.listing.borrow_mut().too_large();
                js_sys::Array::of1(&JsValue::TRUE)
            }
            Err(error) => failed(&error, &response),
        }
    }

    /// The listing is complete: `[news, missing, again]` (the changes to report, the unfinished
    /// jobs it did not show, and whether to list again from the beginning at once).
    pub fn listed(&mut self, now_ms: f64) -> Result<js_sys::Array, JsValue> {
        let Some(start) = self.start.take() else { return Err(type_error("no listing under way")) };
        let listed = self.plan.listed(&std::mem::take(&mut self.pages), start, self.clock.at(now_ms));
        let news = self.news(&listed.news, listed.lessons)?;
        let missing: js_sys::Array = listed.missing.iter().map(|id| JsValue::from_str(id)).collect();
        Ok(js_sys::Array::of3(&news, &missing, &JsValue::from_bool(listed.again)))
    }

    /// The unfinished jobs (to ask for one by one).
    pub fn unfinished(&self) -> Vec<String> {
        self.plan.unfinished()
    }

    /// Reads one job's own status answer: `[news]` (the changes to report, maybe none), or a
    /// failure as `readCloudStack` gives it.
    pub fn status(
        &mut self,
        now_ms: f64,
        status: u16,
        content_type: &str,
        retry_after: Option<String>,
        body: &[u8],
    ) -> Result<js_sys::Array, JsValue> {
        let response = response(status, content_type, retry_after, body);
        let snapshot =
            decode(&response, Format::Json).and_then(|envelope| Ok(cloudstack::parse_job_status(&envelope)?));
        match snapshot {
            Ok(snapshot) => {
                let (news, lessons) = match self.plan.polled(&snapshot, self.clock.at(now_ms)) {
                    Some((news, lesson)) => (vec![news], lesson.into_iter().collect()),
                    None => (Vec::new(), Vec::new()),
                };
                Ok(js_sys::Array::of1(&self.news(&news, lessons)?))
            }
            Err(error) => Ok(failed(&error, &response)),
        }
    }

    /// The tick is over.
    pub fn ticked(&mut self) {
        self.plan.ticked();
    }

    /// Whether every job has finished.
    pub fn done(&self) -> bool {
        self.plan.is_done()
    }

    /// Learns from `lessons`; the news as statuses.
    fn news(&self, news: &[JobSnapshot], lessons: Vec<Lesson>) -> Result<JsValue, JsValue> {
        let mut learner = self.learner.borrow_mut();
        for (command, took, was_running) in lessons {
            learner.observe_finish(&command, took, was_running);
        }
        Ok(statuses_to_js(news).into())
    }
}

/// `[delayMs, reason]`.
fn delay_pair(delay: Duration, reason: DelayReason) -> JsValue {
    js_sys::Array::of2(&JsValue::from_f64(ms(delay)), &JsValue::from_str(reason.as_str())).into()
}

/// A CloudStack date (`created`, `2026-11-28T12:00:00+0000`) as Unix seconds; `undefined` when
/// the text is no such date (the reference for the JS engine's own reader, `sdk/js/engine/date.js`).
#[wasm_bindgen(js_name = cloudstackDate)]
pub fn cloudstack_date(text: &str) -> Option<f64> {
    parse_cloudstack_date(text).map(|secs| secs as f64)
}
