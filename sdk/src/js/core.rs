//! The sans-IO core the package's JavaScript driver (`sdk/js/driver/`) calls: CloudStack
//! request encoding and signing, answer parsing and error typing, and the engine's decisions
//! (when to poll next, how long jobs of a command take, how to space requests after throttling).
//!
//! Nothing here sends, sleeps or awaits: the driver does the fetches, timers and promises, which
//! JavaScript writes in a few lines where compiled async Rust costs tens of kilobytes of wasm.
//! Times are the page's monotonic clock (`performance.now()`, what [`Instant`] reads in wasm).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{error_to_js, params_from_js, to_js, type_error, value_to_js};
use crate::client::job_failed;
use crate::engine::{
    classify, parse_retry_after, retry_after_from_text, DelayReason, DurationLearner, Failure, Observed, Pacer,
    PollPolicy, WaitStep, Waiter,
};
use crate::error::Error;
use crate::protocol::cloudstack::{self, session, Auth, LoginError, Request};
use crate::protocol::{Format, JobState, ProtocolError};
use crate::time::{Duration, Instant};
use crate::transport::{unix_now, TransportError};

/// What a CloudStack answer is read as (`readCloudStack`'s `kind`).
const READ_OBJECT: u8 = 0;
const READ_SUBMIT: u8 = 1;
const READ_STATUS: u8 = 2;
const READ_LIST: u8 = 3;
const READ_LOGIN: u8 = 4;

/// Milliseconds as a duration; negative, NaN or huge values saturate instead of panicking.
fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64((ms / 1000.0).clamp(0.0, 1e12)).unwrap_or(Duration::ZERO)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// `[delayMs, reason]`, what the driver reports to `onDelay` and sleeps.
fn delay_pair(delay: Duration, reason: DelayReason) -> JsValue {
    js_sys::Array::of2(&JsValue::from_f64(ms(delay)), &JsValue::from_str(reason.as_str())).into()
}

/// One client's engine state: its credentials (signing), learned durations, request pacing and
/// polling policy. Times given and taken are milliseconds on the page's monotonic clock.
#[wasm_bindgen]
pub struct CloudStackCore {
    api_key: Option<(String, String)>,
    session_key: Option<String>,
    policy: PollPolicy,
    initial_delays: Vec<(String, Duration)>,
    learner: Rc<RefCell<DurationLearner>>,
    pacer: Pacer,
    /// What slot times are counted from.
    origin: Instant,
}

#[wasm_bindgen]
impl CloudStackCore {
    /// `deadlineMs` < 0: no deadline. `initialDelays`: `[command, ms, command, ms, …]`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        api_key: Option<String>,
        secret_key: Option<String>,
        deadline_ms: f64,
        initial_delays: Vec<JsValue>,
    ) -> CloudStackCore {
        let policy =
            PollPolicy { deadline: (deadline_ms >= 0.0).then(|| millis(deadline_ms)), ..PollPolicy::default() };
        let initial_delays = initial_delays
            .chunks(2)
            .filter_map(|pair| Some((pair.first()?.as_string()?, millis(pair.get(1)?.as_f64()?))))
            .collect();
        CloudStackCore {
            api_key: api_key.zip(secret_key),
            session_key: None,
            policy,
            initial_delays,
            learner: Rc::default(),
            pacer: Pacer::new(),
            origin: Instant::now(),
        }
    }

    /// The session key to sign requests with (`undefined` forgets it).
    #[wasm_bindgen(setter, js_name = sessionKey)]
    pub fn set_session_key(&mut self, key: Option<String>) {
        self.session_key = key;
    }

    /// The session key in use, if any.
    #[wasm_bindgen(getter, js_name = sessionKey)]
    pub fn session_key(&self) -> Option<String> {
        self.session_key.clone()
    }

    fn auth(&self) -> Auth {
        match (&self.api_key, &self.session_key) {
            (Some((api_key, secret_key)), _) => {
                Auth::ApiKey { api_key: api_key.clone(), secret_key: secret_key.clone(), expires_in_secs: Some(600) }
            }
            (None, Some(key)) => Auth::Session { session_key: key.clone() },
            (None, None) => Auth::None,
        }
    }

    /// The form body of `command` with `params` (`[name, value, name, value, …]`, as
    /// [`command_params`] gives them), signed afresh.
    pub fn encode(&self, command: &str, params: Vec<String>) -> String {
        let request = params.chunks_exact(2).fold(Request::new(command), |r, pair| r.param(&pair[0], &pair[1]));
        request.encode(Format::Json, &self.auth(), unix_now())
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
    /// when its submit is known.
    pub fn schedule(&self, command: &str, age_ms: Option<f64>) -> Schedule {
        let started = Instant::now();
        let age = age_ms.map(millis);
        let learner = self.learner.borrow();
        let configured = self.initial_delays.iter().find(|(name, _)| name.eq_ignore_ascii_case(command));
        let first = match configured {
            Some((_, initial)) => Some((*initial, DelayReason::InitialDelay)),
            None => learner.first_delay(command, self.policy.first_delay).map(|d| (d, DelayReason::Learned)),
        };
        let mut waiter = Waiter::new(self.policy.clone(), started);
        if let Some(age) = age {
            waiter = waiter.job_age(age);
            if let Some(expected) = learner.expected(command) {
                waiter = waiter.expected(expected);
            }
        }
        if let Some((delay, reason)) = first {
            waiter = waiter.first_delay(delay.saturating_sub(age.unwrap_or_default()), reason);
        }
        Schedule { waiter, started, deadline: self.policy.deadline }
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

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|deadline| self.started.elapsed() >= deadline)
    }
}

/// A caller's command arguments (`{ name: value }` or a `Map`) read once, as
/// `[name, value, name, value, …]` in name order: numbers and booleans as text, `null` and
/// `undefined` left out; a `TypeError` for anything else.
#[wasm_bindgen(js_name = commandParams)]
pub fn command_params(params: JsValue) -> Result<Vec<String>, JsValue> {
    Ok(params_from_js(Some(params))?.into_iter().flat_map(|(name, value)| [name, value]).collect())
}

/// A CloudStack login's form body (JSON answers).
#[wasm_bindgen(js_name = loginBody)]
pub fn login_body(username: &str, password: &str, domain: &str) -> String {
    session::login_body(username, password, domain, Format::Json)
}

/// The wait an answer asks for before another try, in ms: its `Retry-After` (seconds or an
/// HTTP date), else, for a 429, the wait CloudStack states in its text.
fn retry_after_ms(status: u16, retry_after: Option<&str>, body: &[u8]) -> Option<f64> {
    let header = retry_after.and_then(|value| parse_retry_after(value, unix_now()));
    let text = || retry_after_from_text(&String::from_utf8_lossy(body));
    header.or_else(|| (status == 429).then(text).flatten()).map(ms)
}

/// Reads one CloudStack answer. `kind`: 0 the command's response object, 1 an async submit
/// (`{ jobId, resourceId }`), 2 a job status, 3 a job listing (`{ count, jobs }`), 4 a login
/// (its session key).
///
/// Returns `[value]` (a status: `[status, JobFailedError]` when the job failed), or `[undefined, error, again, retryAfterMs]`: the typed JS error, whether
/// another try may help (see [`classify`]), and the wait the server asked for.
#[wasm_bindgen(js_name = readCloudStack)]
pub fn read_cloudstack(
    kind: u8,
    status: u16,
    content_type: &str,
    retry_after: Option<String>,
    body: &[u8],
) -> Result<js_sys::Array, JsValue> {
    let after = || retry_after_ms(status, retry_after.as_deref(), body);
    let failed = |error: Error, again: bool| {
        let after = after().map_or(JsValue::UNDEFINED, JsValue::from_f64);
        js_sys::Array::of4(&JsValue::UNDEFINED, &error_to_js(&error), &JsValue::from_bool(again), &after)
    };
    let labelled = content_type.to_ascii_lowercase().contains("json");
    let ok = (200..300).contains(&status);
    let envelope = match cloudstack::parse_envelope(body, Format::Json) {
        Ok(envelope) => envelope,
        // Labelled JSON and not even well-formed: cut or garbled on the way, whatever the
        // status, so worth another try. Otherwise an HTTP error page is judged by its status.
        Err(error @ ProtocolError::Json(_)) if labelled => return Ok(failed(error.into(), true)),
        Err(_) if !ok => return Ok(failed(status_error(status, body), transient_status(status))),
        // An answer over the size limit would only be sent again.
        Err(error @ ProtocolError::TooLarge { .. }) => return Ok(failed(error.into(), false)),
        Err(error) => return Ok(failed(error.into(), true)),
    };
    if let Some(api) = envelope.api_error() {
        let again = classify(Observed::ApiCode(api.code)) == Failure::Transient;
        // A refused login is a verdict on the credentials, unless the server was only busy.
        let error = if kind == READ_LOGIN && !again { Error::LoginFailed(api) } else { Error::Api(api) };
        return Ok(failed(error, again));
    }
    if !ok {
        return Ok(failed(status_error(status, body), transient_status(status)));
    }
    let value = match kind {
        READ_OBJECT => value_to_js(&serde_json::Value::Object(envelope.body)),
        READ_SUBMIT => match cloudstack::parse_async_submit(&envelope) {
            Ok(accepted) => {
                let resource = accepted.resource_id.as_deref().map_or(JsValue::UNDEFINED, JsValue::from_str);
                Ok(js_sys::Array::of2(&JsValue::from_str(&accepted.job_id), &resource).into())
            }
            Err(error) => return Ok(failed(error.into(), false)),
        },
        // With the `JobFailedError` when the job ended in failure: `[status, error]`.
        READ_STATUS => match cloudstack::parse_job_status(&envelope) {
            Ok(snapshot) => {
                let failure = match snapshot.state {
                    JobState::Failed | JobState::Cancelled => error_to_js(&job_failed(&snapshot.job_id, &snapshot)),
                    _ => JsValue::UNDEFINED,
                };
                return Ok(js_sys::Array::of2(&to_js(&snapshot)?, &failure));
            }
            Err(error) => return Ok(failed(error.into(), true)),
        },
        READ_LIST => match cloudstack::parse_job_list(&envelope) {
            Ok(list) => {
                let jobs = list.jobs.iter().map(to_js).collect::<Result<js_sys::Array, _>>()?;
                Ok(js_sys::Array::of2(&JsValue::from_f64(list.count as f64), &jobs).into())
            }
            Err(error) => return Ok(failed(error.into(), true)),
        },
        READ_LOGIN => match session::parse_login(&envelope) {
            Ok(login) => Ok(JsValue::from_str(&login.session_key)),
            Err(LoginError::Refused(api)) => return Ok(failed(Error::LoginFailed(api), false)),
            Err(LoginError::Protocol(error)) => return Ok(failed(error.into(), true)),
        },
        _ => return Err(type_error("unknown answer kind")),
    }?;
    Ok(js_sys::Array::of1(&value))
}

fn transient_status(status: u16) -> bool {
    classify(Observed::HttpStatus(status)) == Failure::Transient
}

/// An HTTP error status whose body is no protocol message, with the start of the body.
fn status_error(status: u16, body: &[u8]) -> Error {
    let excerpt: String = String::from_utf8_lossy(body).chars().take(200).collect();
    TransportError::Status { status, excerpt }.into()
}
