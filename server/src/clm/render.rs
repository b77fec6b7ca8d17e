//! CLM answers: JSON arrays (even for one object) as `application/json;charset=UTF-8`,
//! `CloudError` bodies for refusals, CLM's `yyyy/MM/dd HH:mm:ss zzz` timestamps (in UTC), and
//! the absolute base URL the server is reached at (for `taskStatusURI` / `taskResultURI`).

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jobwire::protocol::clm::CLOUD_ERROR_CLASS;
use serde_json::{json, Value};

/// The `Content-Type` of every CLM answer (and of callback POSTs).
pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// `items` as a JSON array with `status`.
pub fn array(status: StatusCode, items: Vec<Value>) -> Response {
    let body = Value::Array(items).to_string();
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], body).into_response()
}

/// `200 OK` with `items` as a JSON array.
pub fn ok(items: Vec<Value>) -> Response {
    array(StatusCode::OK, items)
}

/// A `com.bmc.cloud.model.beans.CloudError` object, as the SDK's `CloudError` reads it.
pub fn cloud_error(error_id: &str, cause: &str) -> Value {
    json!({
        "cloudClass": CLOUD_ERROR_CLASS,
        "errorID": error_id,
        "errorCause": cause,
        "guid": uuid::Uuid::new_v4().to_string(),
    })
}

/// A refused request: its HTTP status and the reason, answered as `[CloudError]` whose `errorID`
/// is the status code (numeric, so clients get it as the error code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cause} (HTTP {status})")]
pub struct ClmError {
    /// HTTP status.
    pub status: StatusCode,
    /// `errorCause`.
    pub cause: String,
}

impl ClmError {
    /// An error with `status` and `cause`.
    pub fn new(status: StatusCode, cause: impl Into<String>) -> Self {
        ClmError { status, cause: cause.into() }
    }

    /// 400: the request cannot be used as sent.
    pub fn bad_request(cause: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, cause)
    }

    /// 401: no, unknown or expired token; bad credentials.
    pub fn unauthorized(cause: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, cause)
    }

    /// 404: nothing the caller may see has that name.
    pub fn not_found(cause: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, cause)
    }

    /// 409: the object is not in a state that allows the request.
    pub fn conflict(cause: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, cause)
    }

    /// 500: the server failed (its storage); details go to the log, not to the caller.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error; please contact your system administrator")
    }
}

impl IntoResponse for ClmError {
    fn into_response(self) -> Response {
        let mut response = array(self.status, vec![cloud_error(self.status.as_str(), &self.cause)]);
        // Errors made outside the `/csm` router (the edge's body limit, injected faults) get a
        // transaction id too; inside it, the exchange's own id replaces this one.
        if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            response.headers_mut().insert(HeaderName::from_static(super::TRANSACTION_HEADER), value);
        }
        response
    }
}

/// A Unix time in milliseconds as CLM writes dates: `yyyy/MM/dd HH:mm:ss zzz`, here always UTC.
pub fn clm_date(unix_ms: u64) -> String {
    // CloudStack's formatter already does the calendar arithmetic (`2011-04-07T00:36:29+0000`);
    // only the separators and the zone differ.
    let iso = jobwire::protocol::cloudstack::signing::format_date(unix_ms / 1000);
    let (date, rest) = iso.split_once('T').unwrap_or((iso.as_str(), ""));
    let time = rest.get(..8).unwrap_or(rest);
    format!("{} {time} UTC", date.replace('-', "/"))
}

/// The absolute base URL (`scheme://host[:port]`) a client reached us at, for the URIs a Task
/// carries: the `Host` header (or the request target's authority, as HTTP/2 sends it), `https`
/// when a proxy says so in `X-Forwarded-Proto`. A missing or odd host (anything but letters,
/// digits and `-._:[]`) gives `localhost`, so a forged header cannot inject a path or scheme.
pub fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| uri.authority().map(|authority| authority.as_str()))
        .map(str::trim)
        .filter(|host| is_plain_authority(host))
        .unwrap_or("localhost");
    let scheme = match headers.get("x-forwarded-proto").and_then(|value| value.to_str().ok()) {
        Some(proto) if proto.trim().eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

fn is_plain_authority(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobwire::protocol::clm::date::parse_clm_date;

    #[test]
    fn dates_are_clm_formatted_and_read_back() {
        assert_eq!(clm_date(1_302_136_589_000), "2011/04/07 00:36:29 UTC");
        assert_eq!(parse_clm_date(&clm_date(1_302_136_589_999)), Some(1_302_136_589));
        assert_eq!(clm_date(0), "1970/01/01 00:00:00 UTC");
    }

    #[test]
    fn base_url_from_host_and_proxy() {
        let uri: Uri = "/csm/login".parse().unwrap_or_default();
        let mut headers = HeaderMap::new();
        assert_eq!(base_url(&headers, &uri), "http://localhost");
        headers.insert(header::HOST, HeaderValue::from_static("clm.example:8080"));
        assert_eq!(base_url(&headers, &uri), "http://clm.example:8080");
        headers.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert_eq!(base_url(&headers, &uri), "https://clm.example:8080");
        headers.insert(header::HOST, HeaderValue::from_static("evil.example/steal?x="));
        assert_eq!(base_url(&headers, &uri), "https://localhost");
        let absolute: Uri = "http://[::1]:9000/csm/login".parse().unwrap_or_default();
        assert_eq!(base_url(&HeaderMap::new(), &absolute), "http://[::1]:9000");
    }

    #[test]
    fn errors_are_cloud_error_arrays() {
        let error = ClmError::not_found("Task x not found");
        assert_eq!(error.to_string(), "Task x not found (HTTP 404 Not Found)");
        let value = cloud_error("404", "gone");
        assert_eq!((value["errorID"].as_str(), value["cloudClass"].as_str()), (Some("404"), Some(CLOUD_ERROR_CLASS)));
    }
}
