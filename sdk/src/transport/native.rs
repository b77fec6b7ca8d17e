//! Native backend: reqwest on tokio.

use std::sync::OnceLock;

use super::{HttpRequest, HttpResponse, Method, TransportError};
use crate::time::Duration;

/// Longest wait for a TCP (and TLS) connection. A connect attempt whose SYN is lost is otherwise
/// left to the kernel's retransmissions (1, 3, 7, 15, 31, 63 s): a server restarting under load
/// once stalled a submit 73 s that way. A new attempt after this is cheap, and every request the
/// clients send may be retried.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn client() -> Result<&'static reqwest::Client, TransportError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| TransportError::InvalidRequest(format!("HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// Sends `request` and reads the body, at most one byte past
/// [`MAX_BODY_BYTES`](crate::protocol::MAX_BODY_BYTES): a longer one is cut there (and the
/// connection dropped) so the parsers refuse it with `ProtocolError::TooLarge` without this side
/// ever holding more than the limit.
///
/// # Errors
/// [`TransportError::Network`] when no response arrives (in time: the request's `timeout`, or
/// [`CONNECT_TIMEOUT`] for the connection), `InvalidRequest` for a bad URL.
pub async fn send(request: HttpRequest) -> Result<HttpResponse, TransportError> {
    let method = match request.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
    };
    let url = reqwest::Url::parse(&request.url).map_err(|e| TransportError::InvalidRequest(e.to_string()))?;
    let mut builder = client()?.request(method, url);
    if let Some(timeout) = request.timeout {
        builder = builder.timeout(timeout);
    }
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let response = builder.send().await.map_err(network_error)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let limit = crate::protocol::MAX_BODY_BYTES + 1;
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.map_err(network_error)? {
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == limit {
            break;
        }
    }
    Ok(HttpResponse { status, headers, body })
}

/// A network error with its causes: reqwest's own text ("error sending request for url …")
/// leaves out why (refused, reset, a TLS certificate problem), which is what a user needs.
fn network_error(err: reqwest::Error) -> TransportError {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    TransportError::Network(text)
}

/// Waits `duration` on tokio's timer.
pub async fn sleep(duration: Duration) {
    tokio::time::sleep(duration).await;
}

/// Seconds since the Unix epoch (for `expires`).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
