//! Conversions at the JS boundary: Rust errors to JS `Error` objects, JS values to Rust data.
//! JSON data crosses as text: out as JSON written in wasm and read by the host's `JSON.parse`
//! (`protocol::json::to_js`, statuses here), in through `JSON.stringify` and `JSON.parse`
//! (`protocol::json`): one small bridge instead of a serde backend for JS values.

// The package's core (`js-core` alone) uses only some of these; the Rust-client API (`js`) all.
#![cfg_attr(not(feature = "js"), allow(dead_code))]

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::Error;
use crate::protocol::{json, ApiError, JobSnapshot};

/// A JSON value as a plain JS value (objects, arrays, numbers, strings), through JSON text.
pub(super) fn value_to_js(value: &serde_json::Value) -> Result<JsValue, JsValue> {
    Ok(crate::protocol::json::to_js(value))
}

/// A status as the JS API shows it: `{ jobId, state, progress, resultCode, result, error,
/// command, created, completed, raw }` (the `JobSnapshot` fields in camelCase, `null` for
/// what is absent; `error` is `{ code, csErrorCode, text }`).
pub(super) fn to_js(status: &JobSnapshot) -> Result<JsValue, JsValue> {
    let mut text = String::new();
    write_status(status, &mut text);
    Ok(json::from_text(&text))
}

/// Statuses as a JS array of what [`to_js`] gives, from one text for the host's `JSON.parse` (a
/// listing page of 500: one call across the boundary instead of thousands). The Rust-client API
/// (`js` alone) hands statuses over one at a time.
#[cfg(feature = "js-core")]
pub(super) fn statuses_to_js(statuses: &[JobSnapshot]) -> js_sys::Array {
    let mut text = String::from("[");
    for (i, status) in statuses.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        write_status(status, &mut text);
    }
    text.push(']');
    json::from_text(&text).unchecked_into()
}

/// Appends a status as JSON text, its fields in the order the API documents them.
fn write_status(status: &JobSnapshot, out: &mut String) {
    let text = |value: &Option<String>, out: &mut String| match value {
        Some(value) => json::write_str(value, out),
        None => out.push_str("null"),
    };
    out.push_str("{\"jobId\":");
    json::write_str(&status.job_id, out);
    out.push_str(",\"state\":\"");
    out.push_str(status.state.as_str());
    out.push_str("\",\"progress\":");
    write_number(status.progress, out);
    out.push_str(",\"resultCode\":");
    write_number(status.result_code.map(|code| code as f64), out);
    out.push_str(",\"result\":");
    json::write(status.result.as_ref().unwrap_or(&serde_json::Value::Null), out);
    out.push_str(",\"error\":");
    match &status.error {
        Some(error) => {
            out.push_str("{\"code\":");
            write_number(Some(error.code as f64), out);
            out.push_str(",\"csErrorCode\":");
            write_number(error.cs_error_code.map(|code| code as f64), out);
            out.push_str(",\"text\":");
            json::write_str(&error.text, out);
            out.push('}');
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"command\":");
    text(&status.command, out);
    out.push_str(",\"created\":");
    text(&status.created, out);
    out.push_str(",\"completed\":");
    text(&status.completed, out);
    out.push_str(",\"raw\":");
    json::write(&status.raw, out);
    out.push('}');
}

/// Appends a number as JSON writes it (`null` when absent or not finite).
fn write_number(number: Option<f64>, out: &mut String) {
    match number.filter(|n| n.is_finite()) {
        Some(n) => out.push_str(&js_number_text(n)),
        None => out.push_str("null"),
    }
}

/// A JS value as JSON data (`JSON.stringify` semantics: `undefined` members and functions are
/// left out, `NaN` is `null`, a `toJSON` method is used); `None` for what JSON cannot show
/// (`undefined`, a function, a `BigInt`, a cycle).
pub(super) fn json_from_js(value: &JsValue) -> Option<serde_json::Value> {
    let text = js_sys::JSON::stringify(value).ok()?.as_string()?;
    crate::protocol::json::parse(text.as_bytes()).ok()
}

/// An optional argument's value; `None` when it is absent, `undefined` or `null` (all mean
/// "not given").
pub(super) fn given(value: Option<JsValue>) -> Option<JsValue> {
    value.filter(|value| !value.is_null_or_undefined())
}

/// An option's value; `None` when it is absent, `undefined` or `null` (all mean "not given").
/// What a getter (or proxy) of the caller's object throws is passed on.
pub(super) fn given_field(object: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    Ok(given(Some(js_sys::Reflect::get(object, &JsValue::from_str(key))?)))
}

/// A string argument of a JS method. wasm-bindgen's own `String` parameters take any JS value
/// unchecked, and a number or object there makes the glue write outside its buffer: every
/// method takes a `JsValue` and checks it here instead.
pub(super) fn string_arg(value: &JsValue, name: &str) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| type_error(&format!("{name} must be a string")))
}

#[wasm_bindgen]
extern "C" {
    // js_sys's `Object::entries` and `Array::from` are not `catch`: what a caller's getter or
    // proxy throws there would unwind through the module (and, in a promise's task, escape as
    // an uncaught exception). These return it as an `Err`.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = entries)]
    fn object_entries(object: &JsValue) -> Result<js_sys::Array, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Array, js_name = from)]
    fn array_from(list: &JsValue) -> Result<js_sys::Array, JsValue>;
}

/// The own enumerable `[name, value]` pairs of `object` (`Object.entries`), read once.
pub(super) fn entries(object: &JsValue) -> Result<impl Iterator<Item = (String, JsValue)>, JsValue> {
    // A fresh array of fresh `[string, value]` arrays: reading it runs no caller code.
    let pairs = object_entries(object)?;
    Ok((0..pairs.length()).map(move |i| {
        let pair: js_sys::Array = pairs.get(i).unchecked_into();
        (pair.get(0).as_string().unwrap_or_default(), pair.get(1))
    }))
}

/// A copy of a JS array (`Array.from`, which reads a proxy's items once, under `catch`): its
/// items can then be read without running caller code. `None` for anything but an array.
pub(super) fn array_copy(list: &JsValue) -> Result<Option<js_sys::Array>, JsValue> {
    if !js_sys::Array::is_array(list) {
        return Ok(None);
    }
    array_from(list).map(Some)
}

/// A string-valued option: `undefined` and `null` are `None`, anything but a string is refused.
pub(super) fn string_field(object: &JsValue, key: &str, what: &str) -> Result<Option<String>, JsValue> {
    let Some(value) = given_field(object, key)? else { return Ok(None) };
    value.as_string().map(Some).ok_or_else(|| type_error(&format!("{what}: {key} must be a string")))
}

/// An integer option in `0..=max`: `undefined` and `null` are `None`.
pub(super) fn integer_field(object: &JsValue, key: &str, max: u64, what: &str) -> Result<Option<u64>, JsValue> {
    let Some(value) = given_field(object, key)? else { return Ok(None) };
    match value.as_f64() {
        Some(n) if n >= 0.0 && n <= max as f64 && n.fract() == 0.0 => Ok(Some(n as u64)),
        _ => Err(type_error(&format!("{what}: {key} must be an integer from 0 to {max}"))),
    }
}

/// A status as `onProgress` sees it: with the best progress so far (never lower), the time
/// waited and an estimate of the time left.
pub(super) fn status_with_timing(
    status: &crate::JobSnapshot,
    progress: Option<f64>,
    elapsed_ms: f64,
) -> Result<JsValue, JsValue> {
    let value = to_js(status)?;
    let set = |key: &str, v: JsValue| js_sys::Reflect::set(&value, &JsValue::from_str(key), &v).map(drop);
    set("progress", progress.map_or(JsValue::NULL, JsValue::from_f64))?;
    set("elapsedMs", JsValue::from_f64(elapsed_ms))?;
    let eta = match progress {
        Some(p) if p > 0.0 && p < 100.0 => JsValue::from_f64(elapsed_ms * (100.0 - p) / p),
        Some(p) if p >= 100.0 => JsValue::from_f64(0.0),
        _ => JsValue::NULL,
    };
    set("etaMs", eta)?;
    Ok(value)
}

/// A function-valued option: `undefined` and `null` are `None`, anything but a function is
/// refused.
pub(super) fn function_field(object: &JsValue, key: &str) -> Result<Option<js_sys::Function>, JsValue> {
    instance_field(object, key, "a function")
}

/// The `signal` option: `undefined` and `null` are `None`, anything but an `AbortSignal` is
/// refused.
pub(super) fn signal_field(object: &JsValue) -> Result<Option<web_sys::AbortSignal>, JsValue> {
    instance_field(object, "signal", "an AbortSignal")
}

/// An option that must be a `T` (`kind` names it in the `TypeError`).
fn instance_field<T: JsCast>(object: &JsValue, key: &str, kind: &str) -> Result<Option<T>, JsValue> {
    let Some(value) = given_field(object, key)? else { return Ok(None) };
    value.dyn_into().map(Some).map_err(|_| type_error(&format!("{key} must be {kind}")))
}

/// Calls an `onDelay` callback with `{ delayMs, reason, retries }`; what it throws is ignored,
/// so a faulty callback cannot stop a wait or a watch.
pub(super) fn report_delay(
    callback: &js_sys::Function,
    delay: crate::time::Duration,
    reason: crate::engine::DelayReason,
    retries: u32,
) {
    let info = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&info, &JsValue::from_str(key), value);
    let _ = set("delayMs", &JsValue::from_f64(delay.as_secs_f64() * 1000.0));
    let _ = set("reason", &reason.as_str().into());
    let _ = set("retries", &JsValue::from(retries));
    let _ = callback.call1(&JsValue::NULL, &info);
}

/// A `TypeError` with `message`.
pub(super) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// Reads `{ name: value }` command arguments; numbers and booleans become strings, `null` and
/// `undefined` values are left out.
pub(super) fn params_from_js(params: Option<JsValue>) -> Result<Vec<(String, String)>, JsValue> {
    let Some(params) = given(params) else {
        return Ok(Vec::new());
    };
    let object = match params.dyn_ref::<js_sys::Map>() {
        Some(map) => js_sys::Object::from_entries(map)?,
        None if params.is_object() && !js_sys::Array::is_array(&params) => params.unchecked_into(),
        None => return Err(type_error("params must be an object of strings, numbers or booleans")),
    };
    let mut out = Vec::new();
    for (name, value) in entries(&object)? {
        let text = if let Some(text) = value.as_string() {
            Some(text)
        } else if let Some(flag) = value.as_bool() {
            Some(flag.to_string())
        } else if let Some(number) = value.as_f64() {
            number_text(number)
        } else if value.is_bigint() {
            js_sys::BigInt::unchecked_from_js(value).to_string(10).ok().map(String::from)
        } else if value.is_null_or_undefined() {
            None
        } else {
            return Err(type_error(&format!("param \"{name}\" must be a string, number or boolean")));
        };
        // `null`, `undefined` (and NaN / infinities, which JSON shows as null) are left out.
        out.extend(text.map(|text| (name, text)));
    }
    // In name order, as a JSON object map holds them.
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A number as text without Rust's float formatting: integers as integers, other numbers as
/// JavaScript writes them (the same digits for the values a caller gives, e.g. `1500.5`).
pub(super) fn js_number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        return (number as i64).to_string();
    }
    crate::protocol::json::float_text(number)
}

/// The largest integer a double holds exactly (`Number.MAX_SAFE_INTEGER`).
pub(super) const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// A number as a parameter value: safe integers as integers (`-0` is `0`), other finite
/// numbers as JavaScript writes them (`String(n)`), `None` for NaN and the infinities.
fn number_text(number: f64) -> Option<String> {
    if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER as f64 {
        return Some((number as i64).to_string());
    }
    number.is_finite().then(|| js_number_text(number))
}

fn set(target: &js_sys::Error, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

fn set_api_error(target: &js_sys::Error, error: &ApiError) {
    set(target, "code", &JsValue::from_f64(error.code as f64));
    if let Some(cs) = error.cs_error_code {
        set(target, "cserrorcode", &JsValue::from_f64(cs as f64));
    }
    set(target, "errortext", &JsValue::from_str(&error.text));
}

// The error classes live in JavaScript (a wasm-bindgen type cannot extend `Error`).
#[wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    /// A new `JobFailedError`, `ApiError`, … (the class called `name`) with `message`.
    #[wasm_bindgen(js_name = jobwireError)]
    fn jobwire_error(name: &str, message: &str) -> js_sys::Error;
    /// A `DOMException` named `name` (`AbortError`, `TimeoutError`).
    #[wasm_bindgen(js_name = stoppedWaiting)]
    pub(super) fn dom_exception(name: &str, message: &str) -> js_sys::Error;
}

/// The JS error for `error`: an instance of the class of its kind (`JobFailedError`, …,
/// exported by the package), with its details as properties; a `TimeoutError` when the
/// client's own deadline passed, a `TypeError` for unusable arguments.
pub(super) fn error_to_js(error: &Error) -> JsValue {
    let message = error.to_string();
    let js_error = match error {
        Error::Protocol(_) => jobwire_error("ProtocolError", &message),
        Error::Transport(transport) => {
            let js_error = jobwire_error("TransportError", &message);
            if let crate::transport::TransportError::Status { status, .. } = transport {
                set(&js_error, "status", &JsValue::from_f64(f64::from(*status)));
            }
            js_error
        }
        Error::Api(api) => {
            let js_error = jobwire_error("ApiError", &message);
            set_api_error(&js_error, api);
            js_error
        }
        Error::LoginFailed(api) => {
            let js_error = jobwire_error("LoginError", &message);
            set_api_error(&js_error, api);
            js_error
        }
        Error::JobFailed { job_id, error, raw } => {
            let js_error = jobwire_error("JobFailedError", &message);
            set(&js_error, "jobId", &JsValue::from_str(job_id));
            set_api_error(&js_error, error);
            set(&js_error, "raw", &value_to_js(raw).unwrap_or(JsValue::NULL));
            js_error
        }
        Error::WaitTimedOut { job_id, .. } => return stopped_waiting("TimeoutError", &message, job_id),
        Error::InvalidArgument(_) => return type_error(&message),
    };
    js_error.into()
}

/// The standard error of a stopped wait: a `DOMException` named `name` (`AbortError`,
/// `TimeoutError`), as `fetch` and `AbortSignal.timeout()` reject with, carrying the `jobId`.
pub(super) fn stopped_waiting(name: &str, message: &str, job_id: &str) -> JsValue {
    let error = dom_exception(name, message);
    // Setting a property on a fresh DOMException cannot fail.
    let _ = js_sys::Reflect::set(&error, &"jobId".into(), &job_id.into());
    error.into()
}
