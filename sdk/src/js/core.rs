//! The sans-IO core the package's JavaScript driver (`sdk/js/driver/`) calls: request encoding
//! and signing, answer reading and error typing (CloudStack and CLM). The engine's decisions
//! (when to poll next, pacing, learned durations, a watch's plan) are the driver's own twin of
//! the Rust engine (`sdk/js/engine/`), which `engine` (feature `js-engine`) exports from Rust for
//! the test that holds the two equal.
//!
//! Nothing here sends, sleeps or awaits: the driver does the fetches, timers and promises, which
//! JavaScript writes in a few lines where compiled async Rust costs tens of kilobytes of wasm.
//! The reading is the Rust client's own (`client::decode`, `client::clm`, `driver`), so both
//! clients judge answers alike.
//!
//! Answers come back as arrays: `[value, …]`, or `[undefined, error, again, retryAfterMs]` (the
//! typed JS error, whether another try may help, the wait the server asked for).

use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::convert::{error_to_js, json_from_js, statuses_to_js, to_js, type_error, value_to_js};
use crate::client::clm::{self, Answer};
use crate::client::decode;
use crate::client::driver::{job_failed, retry_after, worth_retrying};
use crate::error::Error;
use crate::protocol::clm::auth::AUTH_TOKEN_HEADER;
use crate::protocol::clm::request::validate_task_id;
use crate::protocol::clm::{parse_task_status, status_path, AuthToken, LoginRequest, Timeout};
use crate::protocol::cloudstack::{self, session, Auth, LoginError, Request};
use crate::protocol::{json, ApiError, Format, JobSnapshot, JobState, ProtocolError};
use crate::time::Duration;
use crate::transport::{unix_now, HttpResponse};

fn text_or_undefined(text: Option<&str>) -> JsValue {
    text.map_or(JsValue::UNDEFINED, JsValue::from_str)
}

/// An answer as the Rust client's readers take it.
pub(super) fn response(status: u16, content_type: &str, retry_after: Option<String>, body: &[u8]) -> HttpResponse {
    let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
    headers.extend(retry_after.map(|value| ("retry-after".to_owned(), value)));
    HttpResponse { status, headers, body: body.to_vec() }
}

/// `[undefined, error, again, retryAfterMs]`, `again` as the Rust client judges `error`.
pub(super) fn failed(error: &Error, response: &HttpResponse) -> js_sys::Array {
    failed_once(error, response, worth_retrying(error))
}

/// `[undefined, error, again, retryAfterMs]`.
pub(super) fn failed_once(error: &Error, response: &HttpResponse, again: bool) -> js_sys::Array {
    let after = retry_after(response).map_or(JsValue::UNDEFINED, |wait| JsValue::from_f64(ms(wait)));
    js_sys::Array::of4(&JsValue::UNDEFINED, &error_to_js(error), &JsValue::from_bool(again), &after)
}

/// Why a listing asked for at once (`pagesize=-1`) would succeed by pages: the server refused
/// unlimited listings (431, `"refused"`), or the answer was too large to read (`"too-large"`).
fn by_pages(error: &Error) -> Option<&'static str> {
    match error {
        Error::Api(refusal) if refusal.code == 431 => Some("refused"),
        Error::Protocol(ProtocolError::TooLarge { .. }) => Some("too-large"),
        _ => None,
    }
}

/// Milliseconds of a duration, as JavaScript counts time.
pub(super) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// `[status, failure]`: a status, with its `JobFailedError` when the job ended in failure.
fn status_pair(snapshot: &JobSnapshot) -> Result<js_sys::Array, JsValue> {
    Ok(js_sys::Array::of2(&to_js(snapshot)?, &failure(snapshot)))
}

/// The `JobFailedError` of a job that ended in failure; `undefined` for any other.
fn failure(snapshot: &JobSnapshot) -> JsValue {
    match snapshot.state {
        JobState::Failed | JobState::Cancelled => error_to_js(&job_failed(&snapshot.job_id, snapshot)),
        JobState::Pending | JobState::Succeeded => JsValue::UNDEFINED,
    }
}

/// What a CloudStack answer is read as (`readCloudStack`'s `kind`).
const READ_OBJECT: u8 = 0;
const READ_SUBMIT: u8 = 1;
const READ_STATUS: u8 = 2;
const READ_LIST: u8 = 3;
const READ_LOGIN: u8 = 4;

/// The form body of `command` with `params` (`[name, value, …]`, as the driver's `commandParams`
/// gives them), signed afresh with the API keys, or carrying the session key.
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
/// (`[count, statuses, failures]`, a `JobFailedError` for each status of a failed job; a failure
/// that asking by pages avoids carries a fifth item, see [`by_pages`]), 4 a login (its session
/// key).
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
        Err(error) => {
            let failure = failed(&error, &response);
            if let (READ_LIST, Some(hint)) = (kind, by_pages(&error)) {
                failure.push(&JsValue::from_str(hint));
            }
            return Ok(failure);
        }
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
                let failures: js_sys::Array = list.jobs.iter().map(failure).collect();
                let statuses = statuses_to_js(&list.jobs);
                Ok(js_sys::Array::of3(&JsValue::from_f64(list.count as f64), &statuses, &failures))
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
