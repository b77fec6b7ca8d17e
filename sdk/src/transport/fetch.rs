//! Browser / Node backend: the global `fetch` through gloo-net, timers through gloo-timers.
//! Requests go with `credentials: "include"` so a CloudStack session cookie rides along.

use gloo_net::http::{Method as GlooMethod, RequestBuilder};
use web_sys::RequestCredentials;

use super::{HttpRequest, HttpResponse, Method, TransportError};
use crate::time::Duration;

/// Sends `request` with `fetch` and reads the whole body.
///
/// # Errors
/// [`TransportError::Network`] when `fetch` rejects (network, CORS), `InvalidRequest` when the
/// request cannot be built.
pub async fn send(request: HttpRequest) -> Result<HttpResponse, TransportError> {
    let method = match request.method {
        Method::Get => GlooMethod::GET,
        Method::Post => GlooMethod::POST,
    };
    let mut builder = RequestBuilder::new(&request.url).method(method).credentials(RequestCredentials::Include);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let built = match request.body {
        Some(body) => builder.body(body),
        None => builder.build(),
    }
    .map_err(|e| TransportError::InvalidRequest(e.to_string()))?;
    let response = built.send().await.map_err(|e| TransportError::Network(e.to_string()))?;
    let status = response.status();
    let headers = response.headers().entries().collect();
    let body = response.binary().await.map_err(|e| TransportError::Network(e.to_string()))?;
    Ok(HttpResponse { status, headers, body })
}

/// Waits `duration` with `setTimeout` on the global object (works in pages, workers and Node).
pub async fn sleep(duration: Duration) {
    let millis = u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
    gloo_timers::future::TimeoutFuture::new(millis).await;
}

/// Seconds since the Unix epoch (for `expires`).
pub fn unix_now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}
