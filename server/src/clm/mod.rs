//! BMC Cloud Lifecycle Management (CLM): the Task API under `/csm`, as protocols.md §5 and seed
//! 003 describe it, backed by the same hub (users, sessions, jobs, resources) as CloudStack.
//!
//! # URL scheme
//!
//! | call | answer |
//! |---|---|
//! | `POST /csm/login` `{"username","password"}` | `200`, header `Authentication-Token`, body `[]` |
//! | `POST /csm/logout` | `[]`; the token ends |
//! | `POST /csm/ComputeContainer` `{"name"?, "description"?, "timeout"?, "callbackURL"?}` | create a server (job `createServer`) |
//! | `GET /csm/ComputeContainer/{guid}` | `[ComputeContainer]` |
//! | `POST /csm/ComputeContainer/{guid}/start` / `/stop` `{"timeout"?, "callbackURL"?}` | job `startServer` / `stopServer` |
//! | `POST /csm/staticpool/search` `{"timeout"?, "callbackURL"?, "pageNo"?, "pageSize"?}` | job `search` over the static pools |
//! | `GET /csm/task/{taskInternalUUID}/status` | `[Task]`; honours `Prefer: wait=N` (≤ 30 s) |
//! | `GET /csm/task/{taskInternalUUID}/result?pageNo=&pageSize=` | `[result object]` |
//! | `GET /csm/Task/{guid}` | `[Task]` by the task object's own `guid` |
//!
//! Every call but login needs the `Authentication-Token` header (401 otherwise). Every answer is
//! a JSON array (`application/json;charset=UTF-8`) and carries `BMC-Transaction-ID`.
//!
//! Operations answer by the body's `timeout` (seed 003): `0` → the Task at once; omitted or `-1`
//! → wait up to [`operations::DEFAULT_SYNC_TIMEOUT_SECS`]; `N > 0` → wait up to N s. A job that
//! succeeds in time is answered with its cloud object, anything else (still running, or failed)
//! with the Task. Any other `timeout` is a 400.
//!
//! Refusals are `[CloudError]` bodies (`errorID` = the HTTP status, `errorCause` = why): 400 bad
//! input, 401 no or bad token / credentials, 404 unknown route, task or container — **also for
//! another user's task or container**, so ids of others cannot be probed —, 405 wrong method,
//! 409 wrong state (starting a running server, the result of an unfinished task), 413 body over
//! [`MAX_BODY_BYTES`], 500 the store failed.

pub mod auth;
pub mod callback;
pub mod operations;
pub mod render;
pub mod search;
pub mod tasks;

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{Map, Value};

pub use render::ClmError;

use crate::AppState;

/// Largest request body accepted; CLM bodies are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The response header naming the server transaction (lower case, as `HeaderName` wants it).
const TRANSACTION_HEADER: &str = "bmc-transaction-id";

/// The `/csm` routes, to be nested at `/csm`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/ComputeContainer", post(operations::create))
        .route("/ComputeContainer/{guid}", get(operations::get_container))
        .route("/ComputeContainer/{guid}/start", post(operations::start))
        .route("/ComputeContainer/{guid}/stop", post(operations::stop))
        .route("/staticpool/search", post(operations::search))
        .route("/task/{id}/status", get(tasks::status))
        .route("/task/{id}/result", get(tasks::result))
        .route("/Task/{guid}", get(tasks::by_guid))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(transaction))
}

async fn not_found() -> ClmError {
    ClmError::not_found("No such CLM resource")
}

async fn method_not_allowed() -> ClmError {
    ClmError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed for this CLM resource")
}

/// The id of one request/response exchange (`BMC-Transaction-ID`), also written into the Tasks
/// it creates (`transactionID`) so a client can correlate them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TransactionId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The middleware always sets it; a fresh id keeps handlers usable without it (unit use).
        Ok(parts.extensions.get::<TransactionId>().cloned().unwrap_or_else(TransactionId::new))
    }
}

impl TransactionId {
    fn new() -> Self {
        TransactionId(uuid::Uuid::new_v4().to_string())
    }
}

/// Gives every exchange a transaction id and answers it in `BMC-Transaction-ID`, errors and
/// fallbacks included.
async fn transaction(mut request: Request, next: Next) -> Response {
    let id = TransactionId::new();
    request.extensions_mut().insert(id.clone());
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(HeaderName::from_static(TRANSACTION_HEADER), value);
    }
    response
}

/// Where a request came in: the absolute base URL for the URIs the answer carries, and its
/// transaction id.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `http://host[:port]`, from the `Host` header (see [`render::base_url`]).
    pub base_url: String,
    /// This exchange's transaction id.
    pub transaction_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let TransactionId(transaction_id) = TransactionId::from_request_parts(parts, state).await?;
        Ok(RequestContext { base_url: render::base_url(&parts.headers, &parts.uri), transaction_id })
    }
}

/// The request body as a JSON object: empty means `{}`; anything but an object, malformed JSON,
/// or a body over [`MAX_BODY_BYTES`] is a CLM error.
pub fn read_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ClmError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ClmError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
            )
        } else {
            ClmError::bad_request(format!("Cannot read the request body: {}", rejection.body_text()))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ClmError::bad_request("The request body must be a JSON object")),
        Err(err) => Err(ClmError::bad_request(format!("Malformed JSON in the request body: {err}"))),
    }
}

/// A string field of a body: absent or `null` is `None`, another type a 400.
pub fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ClmError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ClmError::bad_request(format!("Field {name} must be a string"))),
    }
}
