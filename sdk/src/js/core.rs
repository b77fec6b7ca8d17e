//! The sans-IO core the package's JavaScript driver (`sdk/js/driver/`) calls: request encoding
//! and signing, answer reading and error typing (CloudStack and CLM), and the engine's decisions
//! (when to poll next, how long jobs of a command take, how to space requests after throttling).
//!
//! Nothing here sends, sleeps or awaits: the driver does the fetches, timers and promises, which
//! JavaScript writes in a few lines where compiled async Rust costs tens of kilobytes of wasm.
//! The reading is the Rust client's own (`client::decode`, `client::clm`, `driver`), so both
//! clients judge answers alike. Times are the page's monotonic clock (`performance.now()`, what
//! [`Instant`] reads in wasm).
//!
//! Answers come back as arrays: `[value, …]`, or `[undefined, error, again, retryAfterMs]` (the
//! typed JS error, whether another try may help, the wait the server asked for).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::convert::{error_to_js, json_from_js, params_from_js, to_js, type_error, value_to_js};
use crate::client::clm::{self, Answer};
use crate::client::decode;
use crate::client::driver::{job_failed, retry_after, worth_retrying};
use crate::engine::{
    DelayReason, DurationLearner, Lesson, ListingPlan, ListingStart, Pacer, Paging, PollPolicy, WaitStep, Waiter,
    WatchPlan, WatchedJob, LISTING_PAGE_SIZE,
};
use crate::error::Error;
use crate::protocol::clm::auth::AUTH_TOKEN_HEADER;
use crate::protocol::clm::request::validate_task_id;
use crate::protocol::clm::{parse_task_status, status_path, AuthToken, LoginRequest, Timeout};
use crate::protocol::cloudstack::{self, session, Auth, LoginError, Request};
use crate::protocol::{json, ApiError, Format, JobSnapshot, JobState, ProtocolError};
use crate::time::{Duration, Instant};
use crate::transport::{unix_now, HttpResponse};

/// Milliseconds as a duration; negative, NaN or huge values saturate instead of panicking.
fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64((ms / 1000.0).clamp(0.0, 1e12)).unwrap_or(Duration::ZERO)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn text_or_undefined(text: Option<&str>) -> JsValue {
    text.map_or(JsValue::UNDEFINED, JsValue::from_str)
}

/// One client's engine state: learned durations, request pacing and the polling policy. Times
/// given and taken are milliseconds on the page's monotonic clock.
#[wasm_bindgen]
pub struct Engine {
    policy: PollPolicy,
    /// Whether `listAsyncJobs` is asked for in one request or by pages (shared by watches).
    listing: Rc<RefCell<ListingPlan>>,
    initial_delays: Vec<(String, Duration)>,
    learner: Rc<RefCell<DurationLearner>>,
    pacer: Pacer,
    /// What slot times are counted from.
    origin: Instant,
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
            origin: Instant::now(),
        }
    }

    /// Reserves the next request's slot: `[slotMs, waitMs]`, the wait the spacing learned from
    /// throttling asks for first (0 unless the server throttled).
    pub fn reserve(&mut self) -> Vec<f64> {
        let now = Instant::now();
        let slot = self.pacer.reserve(now);
        vec![ms(slot.saturating_duration_since(self.origin)), ms(slot.saturating_duration_since(now))]
    }

    /// The request sent in `slot` was answered with `status`: a 429 teaches the pacer the wait
    /// (`retryAfterMs`, else 1 s); anything else admits the slot.
    pub fn answered(&mut self, slot_ms: f64, status: u16, retry_after_ms: Option<f64>) {
        let slot = self.origin + millis(slot_ms);
        if status == 429 {
            let wait = retry_after_ms.map_or(Duration::from_secs(1), millis);
            self.pacer.refused(Instant::now(), slot, wait);
        } else {
            self.pacer.admitted(slot);
        }
    }

    /// The schedule of a wait for a `command` job beginning now; `ageMs`: how old the job is,
    /// when its submit is known. The first poll goes after the command's configured initial
    /// delay, else the learned one, each less the job's age.
    pub fn schedule(&self, command: &str, age_ms: Option<f64>) -> Schedule {
        let started = Instant::now();
        let age = age_ms.map(millis);
        let mut waiter = Waiter::new(self.policy.clone(), started);
        if let Some(age) = age {
            waiter = waiter.job_age(age);
            if let Some(expected) = self.learner.borrow().expected(command) {
                waiter = waiter.expected(expected);
            }
        }
        if let Some((delay, reason)) = self.planned_first(command, age) {
            waiter = waiter.first_delay(delay, reason);
        }
        Schedule { waiter, started, deadline: self.policy.deadline }
    }

    /// A watch of the jobs `ids` (with their `commands`, and their ages in ms, `NaN` when
    /// unknown) beginning now. Its first listing goes at the earliest planned first poll when
    /// every job has one, else after the policy's first delay.
    pub fn watch(&self, ids: Vec<String>, commands: Vec<String>, ages_ms: Vec<f64>) -> Watch {
        let now = Instant::now();
        let jobs: Vec<WatchedJob> = ids
            .into_iter()
            .zip(commands)
            .zip(ages_ms)
            .map(|((job_id, command), age)| WatchedJob { job_id, command, age: (!age.is_nan()).then(|| millis(age)) })
            .collect();
        let firsts: Option<Vec<_>> = jobs.iter().map(|job| self.planned_first(&job.command, job.age)).collect();
        let first = firsts.and_then(|firsts| firsts.into_iter().min_by_key(|(delay, _)| *delay));
        Watch {
            plan: WatchPlan::new(jobs, &self.policy, first, now, unix_now()),
            learner: Rc::clone(&self.learner),
            listing: Rc::clone(&self.listing),
            start: None,
            pages: Vec::new(),
            page: 0,
        }
    }

    /// Where a `command` job's first poll goes, counted from now: the command's configured
    /// initial delay, else the learned one, each less the job's `age`.
    fn planned_first(&self, command: &str, age: Option<Duration>) -> Option<(Duration, DelayReason)> {
        let configured = self.initial_delays.iter().find(|(name, _)| name.eq_ignore_ascii_case(command));
        let (delay, reason) = match configured {
            Some((_, initial)) => (*initial, DelayReason::InitialDelay),
            None => (self.learner.borrow().first_delay(command, self.policy.first_delay)?, DelayReason::Learned),
        };
        Some((delay.saturating_sub(age.unwrap_or_default()), reason))
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
}

#[wasm_bindgen]
impl Schedule {
    /// The next poll: `[delayMs, reason]`, or `undefined` once the deadline has passed.
    pub fn next(&mut self) -> JsValue {
        let now = Instant::now();
        match self.waiter.next(now, fastrand::f64()) {
            WaitStep::GiveUp => JsValue::UNDEFINED,
            WaitStep::PollAt(at, reason) => delay_pair(at.saturating_duration_since(now), reason),
        }
    }

    /// A status showed the job pending at `progress` (percent, when reported).
    pub fn progress(&mut self, progress: Option<f64>) {
        self.waiter.observe_progress(Instant::now(), progress);
    }

    /// Seconds the next long-poll may ask the server to hold it: `configured`, cut to what is
    /// left of the deadline (a sub-second rest still gets one short poll); `undefined` once the
    /// deadline has passed.
    #[wasm_bindgen(js_name = longPoll)]
    pub fn long_poll(&self, configured: u32) -> Option<u32> {
        let Some(deadline) = self.deadline else { return Some(configured) };
        let left = deadline.saturating_sub(self.started.elapsed());
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
    pub fn next(&mut self) -> JsValue {
        match self.plan.next_tick(Instant::now(), fastrand::f64()) {
            Some((delay, reason)) => delay_pair(delay, reason),
            None => JsValue::UNDEFINED,
        }
    }

    /// The tick begins (its delay is over).
    pub fn tick(&mut self) {
        self.plan.tick(Instant::now());
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
    pub fn listed(&mut self) -> Result<js_sys::Array, JsValue> {
        let Some(start) = self.start.take() else { return Err(type_error("no listing under way")) };
        let listed = self.plan.listed(&std::mem::take(&mut self.pages), start, Instant::now());
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
                let (news, lessons) = match self.plan.polled(&snapshot, Instant::now()) {
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
        Ok(news.iter().map(to_js).collect::<Result<js_sys::Array, _>>()?.into())
    }
}

/// `[delayMs, reason]`.
fn delay_pair(delay: Duration, reason: DelayReason) -> JsValue {
    js_sys::Array::of2(&JsValue::from_f64(ms(delay)), &JsValue::from_str(reason.as_str())).into()
}

/// An answer as the Rust client's readers take it.
fn response(status: u16, content_type: &str, retry_after: Option<String>, body: &[u8]) -> HttpResponse {
    let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
    headers.extend(retry_after.map(|value| ("retry-after".to_owned(), value)));
    HttpResponse { status, headers, body: body.to_vec() }
}

/// `[undefined, error, again, retryAfterMs]`, `again` as the Rust client judges `error`.
fn failed(error: &Error, response: &HttpResponse) -> js_sys::Array {
    failed_once(error, response, worth_retrying(error))
}

/// `[undefined, error, again, retryAfterMs]`.
fn failed_once(error: &Error, response: &HttpResponse, again: bool) -> js_sys::Array {
    let after = retry_after(response).map_or(JsValue::UNDEFINED, |wait| JsValue::from_f64(ms(wait)));
    js_sys::Array::of4(&JsValue::UNDEFINED, &error_to_js(error), &JsValue::from_bool(again), &after)
}

/// `[status, failure]`: a status, with its `JobFailedError` when the job ended in failure.
fn status_pair(snapshot: &JobSnapshot) -> Result<js_sys::Array, JsValue> {
    let failure = match snapshot.state {
        JobState::Failed | JobState::Cancelled => error_to_js(&job_failed(&snapshot.job_id, snapshot)),
        JobState::Pending | JobState::Succeeded => JsValue::UNDEFINED,
    };
    Ok(js_sys::Array::of2(&to_js(snapshot)?, &failure))
}

/// What a CloudStack answer is read as (`readCloudStack`'s `kind`).
const READ_OBJECT: u8 = 0;
const READ_SUBMIT: u8 = 1;
const READ_STATUS: u8 = 2;
const READ_LIST: u8 = 3;
const READ_LOGIN: u8 = 4;

/// A caller's command arguments (`{ name: value }` or a `Map`) read once, as
/// `[name, value, name, value, …]` in name order: numbers and booleans as text, `null` and
/// `undefined` left out; a `TypeError` for anything else.
#[wasm_bindgen(js_name = commandParams)]
pub fn command_params(params: JsValue) -> Result<Vec<String>, JsValue> {
    Ok(params_from_js(Some(params))?.into_iter().flat_map(|(name, value)| [name, value]).collect())
}

/// The form body of `command` with `params` (`[name, value, …]`, as [`command_params`] gives
/// them), signed afresh with the API keys, or carrying the session key.
#[wasm_bindgen(js_name = csEncode)]
pub fn cs_encode(
    command: &str,
    params: Vec<String>,
    api_key: Option<String>,
    secret_key: Option<String>,
    session_key: Option<String>,
) -> String {
    let auth = match (api_key, secret_key, session_key) {
        (Some(api_key), Some(secret_key), _) => Auth::ApiKey { api_key, secret_key, expires_in_secs: Some(600) },
        (_, _, Some(session_key)) => Auth::Session { session_key },
        _ => Auth::None,
    };
    let request = params.chunks_exact(2).fold(Request::new(command), |r, pair| r.param(&pair[0], &pair[1]));
    request.encode(Format::Json, &auth, unix_now())
}

/// A CloudStack login's form body (JSON answers).
#[wasm_bindgen(js_name = csLoginBody)]
pub fn cs_login_body(username: &str, password: &str, domain: &str) -> String {
    session::login_body(username, password, domain, Format::Json)
}

/// Reads one CloudStack answer. `kind`: 0 the command's response object, 1 an async submit
/// (`[jobId, resourceId]`), 2 a job status (`[status, failure]`), 3 a job listing
/// (`[count, statuses]`), 4 a login (its session key).
#[wasm_bindgen(js_name = readCloudStack)]
pub fn read_cloudstack(
    kind: u8,
    status: u16,
    content_type: &str,
    retry_after: Option<String>,
    body: &[u8],
) -> Result<js_sys::Array, JsValue> {
    let response = response(status, content_type, retry_after, body);
    let envelope = match decode(&response, Format::Json) {
        Ok(envelope) => envelope,
        // A refused login is a verdict on the credentials, unless the server was only busy.
        Err(Error::Api(api)) if kind == READ_LOGIN && !worth_retrying(&Error::Api(api.clone())) => {
            return Ok(failed(&Error::LoginFailed(api), &response))
        }
        Err(error) => return Ok(failed(&error, &response)),
    };
    let read: Result<js_sys::Array, Error> = match kind {
        READ_OBJECT => Ok(js_sys::Array::of1(&value_to_js(&Value::Object(envelope.body))?)),
        // Not retried: an answer without a job id says the command is not async.
        READ_SUBMIT => match cloudstack::parse_async_submit(&envelope) {
            Ok(accepted) => Ok(js_sys::Array::of2(
                &JsValue::from_str(&accepted.job_id),
                &text_or_undefined(accepted.resource_id.as_deref()),
            )),
            Err(error) => return Ok(failed_once(&error.into(), &response, false)),
        },
        READ_STATUS => cloudstack::parse_job_status(&envelope).map_err(Error::from).and_then(|s| Ok(status_pair(&s)?)),
        READ_LIST => match cloudstack::parse_job_list(&envelope) {
            Ok(list) => {
                let jobs = list.jobs.iter().map(to_js).collect::<Result<js_sys::Array, _>>()?;
                Ok(js_sys::Array::of2(&JsValue::from_f64(list.count as f64), &jobs))
            }
            Err(error) => Err(error.into()),
        },
        READ_LOGIN => match session::parse_login(&envelope) {
            Ok(login) => Ok(js_sys::Array::of1(&JsValue::from_str(&login.session_key))),
            Err(LoginError::Refused(api)) => Err(Error::LoginFailed(api)),
            Err(LoginError::Protocol(error)) => Err(error.into()),
        },
        _ => return Err(type_error("unknown answer kind")),
    };
    Ok(read.unwrap_or_else(|error| failed(&error, &response)))
}

impl From<JsValue> for Error {
    /// A JS exception while building an answer's objects (out of memory, say): no protocol fault.
    fn from(_: JsValue) -> Self {
        Error::InvalidArgument("the answer could not be shown to JavaScript".into())
    }
}

/// The CLM server root every URL is resolved below (with a trailing `/`); a `TypeError` unless
/// it is an absolute http(s) URL without query or fragment.
#[wasm_bindgen(js_name = clmBase)]
pub fn clm_base(base_url: &str) -> Result<String, JsValue> {
    clm::base_of(base_url).map_err(|error| error_to_js(&error))
}

/// An operation path's `[url, command, objectId]` below `base` (see `client::clm::operation`);
/// a `TypeError` for an unusable path.
#[wasm_bindgen(js_name = clmOperation)]
pub fn clm_operation(base: &str, path: &str) -> Result<js_sys::Array, JsValue> {
    let (url, command, object) = clm::operation(base, path).map_err(|error| error_to_js(&error))?;
    let url = JsValue::from_str(&url);
    Ok(js_sys::Array::of3(&url, &JsValue::from_str(&command), &text_or_undefined(object.as_deref())))
}

/// The JSON text of an operation body (a plain object; `undefined` or `null` is `{}`) with its
/// `timeout` set: 0 runs it asynchronously, N lets the server hold the request N seconds.
#[wasm_bindgen(js_name = clmBody)]
pub fn clm_body(body: JsValue, timeout_secs: u32) -> Result<String, JsValue> {
    let fields =
        if body.is_null_or_undefined() { Some(Value::Object(serde_json::Map::new())) } else { json_from_js(&body) };
    let Some(fields @ Value::Object(_)) = fields else {
        return Err(type_error("a CLM operation body must be a plain object"));
    };
    let timeout = if timeout_secs == 0 { Timeout::Async } else { Timeout::SyncFor(timeout_secs) };
    clm::operation_body(fields, timeout).map_err(|error| error_to_js(&error))
}

/// The URL of a task's status below `base`; a `TypeError` for an id that cannot be a task id.
#[wasm_bindgen(js_name = clmStatusUrl)]
pub fn clm_status_url(base: &str, task_id: &str) -> Result<String, JsValue> {
    let path = status_path(task_id).map_err(|error| type_error(&error.to_string()))?;
    clm::operation(base, &path).map(|(url, _, _)| url).map_err(|error| error_to_js(&error))
}

/// A CLM login's JSON body.
#[wasm_bindgen(js_name = clmLoginBody)]
pub fn clm_login_body(username: &str, password: &str) -> String {
    json::to_text(&LoginRequest::new(username, password).to_json())
}

/// What a CLM answer is read as (`readClm`'s `kind`).
const CLM_LOGIN: u8 = 0;
const CLM_OPERATION: u8 = 1;
const CLM_STATUS: u8 = 2;
const CLM_OBJECTS: u8 = 3;

/// Reads one CLM answer. `kind`: 0 a login (`[token]`, from `authToken`, the
/// `Authentication-Token` header), 1 an operation (`[status, failure, taskId, command]` for a
/// Task; `[objects]` when it finished within its `timeout`), 2 a task status
/// (`[status, failure]`), 3 objects read with GET (`[objects]`, a Task among them as sent).
#[wasm_bindgen(js_name = readClm)]
pub fn read_clm(
    kind: u8,
    status: u16,
    content_type: &str,
    retry_after: Option<String>,
    auth_token: Option<String>,
    body: &[u8],
) -> Result<js_sys::Array, JsValue> {
    let response = response(status, content_type, retry_after, body);
    if kind == CLM_LOGIN && status == 401 {
        let error = match clm::refusal(&response) {
            Error::Api(api) => api,
            other => ApiError { code: 401, cs_error_code: None, text: other.to_string() },
        };
        return Ok(failed(&Error::LoginFailed(error), &response));
    }
    if !(200..300).contains(&status) {
        return Ok(failed(&clm::refusal(&response), &response));
    }
    let read: Result<js_sys::Array, Error> = match kind {
        // A missing or unusable token header is a configuration problem (CORS, a proxy), which
        // another try does not fix.
        CLM_LOGIN => match auth_token.as_deref().map(AuthToken::new) {
            Some(Ok(token)) => Ok(js_sys::Array::of1(&JsValue::from_str(token.as_str()))),
            Some(Err(error)) => return Ok(failed_once(&error.into(), &response, false)),
            None => {
                let missing = ProtocolError::MissingField(AUTH_TOKEN_HEADER);
                return Ok(failed_once(&missing.into(), &response, false));
            }
        },
        CLM_OPERATION | CLM_OBJECTS => match clm::parse_operation(&response) {
            Ok(Answer::Objects(objects)) => Ok(js_sys::Array::of1(&value_to_js(&Value::Array(objects))?)),
            Ok(Answer::Task(task)) if kind == CLM_OBJECTS => {
                Ok(js_sys::Array::of1(&value_to_js(&Value::Array(vec![task.raw]))?))
            }
            Ok(Answer::Task(task)) => match validate_task_id(&task.task_internal_uuid) {
                Ok(id) => {
                    let pair = status_pair(&task.to_snapshot())?;
                    pair.push(&JsValue::from_str(id));
                    pair.push(&text_or_undefined(task.command().as_deref()));
                    Ok(pair)
                }
                Err(error) => Err(error.into()),
            },
            Err(error) => Err(error),
        },
        CLM_STATUS => {
            parse_task_status(body).map_err(Error::from).and_then(|task| Ok(status_pair(&task.to_snapshot())?))
        }
        _ => return Err(type_error("unknown answer kind")),
    };
    Ok(read.unwrap_or_else(|error| failed(&error, &response)))
}
