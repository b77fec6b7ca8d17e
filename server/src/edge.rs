//! The API's edge, the layers every API request (`/client/api`, `/csm/…`) passes before its
//! handler: the request log and metrics ([`observe`]), the body-size limit and what the request
//! is ([`prepare`]), then fault injection ([`crate::faults::inject`]) — layered in that order
//! (outermost first) inside the CORS layer by [`crate::app`]. Other paths (the dashboard's
//! files, `/metrics`) pass straight through.
//!
//! The log holds method, path, command, status, latency and fault — never the query string or
//! the body: they carry signatures, API keys, passwords and session keys.

use std::pin::Pin;
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::cloudstack::{ApiFailure, Format};
use crate::faults::InjectedFault;
use crate::AppState;

/// Largest request body accepted: CloudStack's `request.content.size` default (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1_048_576;

/// Which API a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/client/api`.
    CloudStack,
    /// `/csm/…`.
    Clm,
}

impl Api {
    /// The API of `path`, or `None` for other paths.
    pub fn of(path: &str) -> Option<Api> {
        if path == "/client/api" {
            Some(Api::CloudStack)
        } else if path == "/csm" || path.starts_with("/csm/") {
            Some(Api::Clm)
        } else {
            None
        }
    }
}

/// What an API request is, as far as the edge needs to know: put in the request's extensions by
/// [`prepare`].
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// The API.
    pub api: Api,
    /// The `command` parameter as sent (CloudStack), for the error envelope's name.
    pub command: Option<String>,
    /// The metric label: a known command, `login` / `logout`, `csm` or `other`.
    pub label: &'static str,
    /// The `response` format asked for (CloudStack).
    pub format: Format,
}

impl ApiCall {
    fn new(api: Api, query: Option<&str>, body: &[u8]) -> Self {
        match api {
            Api::Clm => ApiCall { api, command: None, label: "csm", format: Format::Json },
            Api::CloudStack => {
                let mut params: Vec<(String, String)> =
                    serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
                // The body wins for a name in both, as in the handler; a body that is no form adds nothing.
                params.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default());
                let find = |name: &str| {
                    params
                        .iter()
                        .rev()
                        .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
                        .map(|(_, v)| v.clone())
                };
                let command = find("command");
                let format = Format::from_param(find("response").as_deref());
                ApiCall { api, label: command_label(command.as_deref()), command, format }
            }
        }
    }

    /// `failure` in this API's error shape: CloudStack's envelope (status = `errorcode`), or a
    /// CLM `CloudError` array with the status and `errorID` = the code.
    pub fn error(&self, failure: ApiFailure) -> Response {
        match self.api {
            Api::CloudStack => {
                let name = match &self.command {
                    Some(command) => format!("{}response", command.to_lowercase()),
                    None => "errorresponse".into(),
                };
                failure.render(self.format, &name)
            }
            Api::Clm => clm_error(failure.code, &failure.text),
        }
    }
}

/// CLM's error answer: a JSON array with one `CloudError` (`errorID` = the status), the same
/// shape the `/csm` handlers refuse with.
pub fn clm_error(status: u16, cause: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    crate::clm::ClmError::new(status, cause).into_response()
}

/// The metric label of a CloudStack command: its name when the server knows it (case-sensitive,
/// as dispatch is), else `other` — labels stay a small, fixed set whatever clients send.
pub fn command_label(command: Option<&str>) -> &'static str {
    let Some(command) = command else { return "other" };
    crate::cloudstack::api_names().find(|name| *name == command).unwrap_or("other")
}

/// The metric label a response was counted under (the command's, via [`prepare`]).
#[derive(Debug, Clone, Copy)]
struct CommandLabel(&'static str);

enum BodyError {
    TooLarge(Option<u64>),
    Unreadable,
}

/// Reads at most `limit` bytes of `body`.
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut buffer = Vec::new();
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            None => return Ok(Bytes::from(buffer)),
            Some(Err(_)) => return Err(BodyError::Unreadable),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if buffer.len() + data.len() > limit {
                        return Err(BodyError::TooLarge(None));
                    }
                    buffer.extend_from_slice(&data);
                }
            }
        }
    }
}

fn body_failure(error: &BodyError) -> ApiFailure {
    match error {
        BodyError::TooLarge(size) => ApiFailure::param(format!(
            "Request body{} exceeds the limit of {MAX_REQUEST_BYTES} bytes (request.content.size)",
            size.map(|s| format!(" of {s} bytes")).unwrap_or_default()
        )),
        BodyError::Unreadable => ApiFailure::malformed("the request body could not be read"),
    }
}

/// Middleware: buffers an API request's body up to [`MAX_REQUEST_BYTES`] (a bigger one gets the
/// API's own error: CloudStack 431, CLM 413 — not axum's plain-text 413), and notes the
/// [`ApiCall`] for the layers inside and the label for [`observe`].
pub async fn prepare(request: Request, next: Next) -> Response {
    let Some(api) = Api::of(request.uri().path()) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let query = parts.uri.query().map(str::to_owned);
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let bytes = match declared {
        // Refused unread: no point receiving a body that will be thrown away.
        Some(size) if size > MAX_REQUEST_BYTES as u64 => Err(BodyError::TooLarge(Some(size))),
        _ => read_limited(body, MAX_REQUEST_BYTES).await,
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(error) => {
            let call = ApiCall::new(api, query.as_deref(), b"");
            let failure = body_failure(&error);
            let mut response = match api {
                Api::Clm if matches!(error, BodyError::TooLarge(_)) => clm_error(413, &failure.text),
                _ => call.error(failure),
            };
            // The client may still be sending: tell it this connection ends here.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response.extensions_mut().insert(CommandLabel(call.label));
            return response;
        }
    };
    let call = ApiCall::new(api, query.as_deref(), &bytes);
    let label = call.label;
    parts.extensions.insert(call);
    let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    response.extensions_mut().insert(CommandLabel(label));
    response
}

/// Middleware: logs every request (API ones at info, others at debug) and counts API requests,
/// their durations and injected faults in [`crate::metrics`].
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The path only: the query carries credentials.
    let path = request.uri().path().to_owned();
    let api = Api::of(&path);
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let fault = response.extensions().get::<InjectedFault>().map(|f| f.0);
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let Some(_) = api else {
        tracing::debug!(%method, %path, status, latency_ms, "request");
        return response;
    };
    let command = response.extensions().get::<CommandLabel>().map_or("other", |l| l.0);
    let fault_name = fault.map(|f| f.name());
    let status_label = match fault {
        Some(crate::faults::Fault::Drop | crate::faults::Fault::DropAfter) => "dropped".to_owned(),
        _ => status.to_string(),
    };
    state.metrics.record_request(command, &status_label, elapsed.as_secs_f64());
    if let Some(name) = fault_name {
        state.metrics.record_fault(name);
    }
    tracing::info!(%method, %path, command, status = %status_label, latency_ms, fault = fault_name.unwrap_or("none"), "request");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths() {
        assert_eq!(Api::of("/client/api"), Some(Api::CloudStack));
        assert_eq!(Api::of("/csm/login"), Some(Api::Clm));
        assert_eq!(Api::of("/csm"), Some(Api::Clm));
        for other in ["/", "/metrics", "/client/api/x", "/csmx", "/index.html"] {
            assert_eq!(Api::of(other), None, "{other}");
        }
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(command_label(Some("deployVirtualMachine")), "deployVirtualMachine");
        assert_eq!(command_label(Some("login")), "login");
        assert_eq!(command_label(Some("DEPLOYVIRTUALMACHINE")), "other");
        assert_eq!(command_label(Some("x\"y")), "other");
        assert_eq!(command_label(None), "other");
    }

    #[test]
    fn call_from_query_and_form() {
        let call = ApiCall::new(Api::CloudStack, Some("command=listZones&response=json"), b"");
        assert_eq!((call.command.as_deref(), call.label, call.format), (Some("listZones"), "listZones", Format::Json));
        let call = ApiCall::new(Api::CloudStack, Some("response=json"), b"command=frob&apiKey=x");
        assert_eq!((call.command.as_deref(), call.label), (Some("frob"), "other"));
        let call = ApiCall::new(Api::CloudStack, None, b"\xff\xfe not a form");
        assert_eq!((call.command, call.format), (None, Format::Xml));
    }
}
