//! One way to send an HTTP request, whatever the platform: `fetch` in wasm, reqwest natively.
//! Both backends have the same three functions (`send`, `sleep`, `unix_now`).

use crate::time::Duration;

#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
pub use fetch::{send, sleep, unix_now};
// For the JS API: its `timeoutMs`, and its abort listeners.
#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub(crate) use fetch::{sleep_ms, HeldPromise};

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::{send, sleep, unix_now};

/// HTTP methods the protocols use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// A request, plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// GET or POST.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body (form-encoded or JSON text).
    pub body: Option<String>,
    /// The longest to wait for the whole answer, after which the request fails as a network
    /// error (retried like one); `None` waits as long as the platform does, which may be never
    /// when a server or a network silently drops the connection.
    pub timeout: Option<Duration>,
}

/// How long to wait for an answer the server was asked to hold up to `hold_secs` (a long-poll's
/// `Prefer: wait`, CLM's sync `timeout`): `beyond` more than the hold.
pub fn answer_timeout(beyond: Duration, hold_secs: Option<u32>) -> Duration {
    beyond.saturating_add(Duration::from_secs(hold_secs.map_or(0, u64::from)))
}

/// The header asking the server to hold a request up to `secs` seconds (RFC 7240 `Prefer:
/// wait=N`), when given.
pub fn prefer_wait(secs: Option<u32>) -> Option<(String, String)> {
    secs.map(|secs| ("Prefer".to_owned(), format!("wait={secs}")))
}

/// A response, plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the server held the request as `Prefer: wait` asked (RFC 7240
    /// `Preference-Applied: wait=N`).
    pub fn wait_applied(&self) -> bool {
        self.header("preference-applied").is_some_and(|v| v.to_ascii_lowercase().contains("wait"))
    }
}

/// The request did not produce a usable HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No response: connection refused or dropped, DNS, CORS refusal in a browser.
    #[error("network error: {0}")]
    Network(String),
    /// An HTTP error status whose body is not a protocol error.
    #[error("HTTP {status}: {excerpt}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body, for diagnostics.
        excerpt: String,
    },
    /// The request could not be built (bad URL, header).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}
