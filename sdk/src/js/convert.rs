//! Conversions at the JS boundary: Rust errors to JS `Error` objects, JS values to Rust data.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::protocol::ApiError;

/// Serialises to a plain JS object (maps as objects, not `Map`s).
pub(super) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| type_error(&format!("cannot convert value: {e}")))
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

/// A `TypeError` with `message`.
pub(super) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// Reads `{ name: value }` command arguments; numbers and booleans become strings, `null` and
/// `undefined` values are left out.
pub(super) fn params_from_js(params: JsValue) -> Result<Vec<(String, String)>, JsValue> {
    if params.is_undefined() || params.is_null() {
        return Ok(Vec::new());
    }
    let map: serde_json::Map<String, serde_json::Value> = serde_wasm_bindgen::from_value(params)
        .map_err(|e| type_error(&format!("params must be an object of strings, numbers or booleans: {e}")))?;
    map.into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => Ok((name, text)),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Ok((name, value.to_string())),
            _ => Err(type_error(&format!("param {name:?} must be a string, number or boolean"))),
        })
        .collect()
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

/// A JS `Error` named after the failure's kind, with its details as properties.
pub(super) fn error_to_js(error: &Error) -> JsValue {
    let js_error = js_sys::Error::new(&error.to_string());
    let name = match error {
        Error::Protocol(_) => "ProtocolError",
        Error::Transport(transport) => {
            if let crate::transport::TransportError::Status { status, .. } = transport {
                set(&js_error, "status", &JsValue::from_f64(f64::from(*status)));
            }
            "TransportError"
        }
        Error::Api(api) => {
            set_api_error(&js_error, api);
            "ApiError"
        }
        Error::LoginFailed(api) => {
            set_api_error(&js_error, api);
            "LoginError"
        }
        Error::JobFailed { job_id, error } => {
            set(&js_error, "jobId", &JsValue::from_str(job_id));
            set_api_error(&js_error, error);
            "JobFailedError"
        }
        Error::WaitTimedOut { job_id, .. } => {
            set(&js_error, "jobId", &JsValue::from_str(job_id));
            "TimeoutError"
        }
        Error::InvalidArgument(_) => return type_error(&error.to_string()),
    };
    js_error.set_name(name);
    js_error.into()
}
