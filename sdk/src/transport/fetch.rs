//! Browser / Node backend: the global `fetch` and `setTimeout`, called directly (no wrapper
//! crate), so they work in pages, Workers and Node alike. Requests go with
//! `credentials: "include"` so a CloudStack session cookie rides along.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

use super::{HttpRequest, HttpResponse, Method, TransportError};
use crate::time::Duration;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (window, worker or Node).
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> js_sys::Promise;
    /// The global `setTimeout`; its id for `clearTimeout`.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: f64) -> JsValue;
    /// The global `clearTimeout`.
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// A rejection's text: `name: message` for an `Error`, the value itself for a string.
fn js_error_text(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", String::from(error.name()), String::from(error.message())),
        None => error.as_string().unwrap_or_else(|| "fetch failed".into()),
    }
}

#[wasm_bindgen(module = "/js/request.js")]
extern "C" {
    /// A fetch's signal and its `cancel()`, see `request.js`.
    type RequestSignal;
    #[wasm_bindgen(js_name = requestSignal)]
    fn request_signal(timeout_ms: f64) -> RequestSignal;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &RequestSignal) -> web_sys::AbortSignal;
    #[wasm_bindgen(method)]
    fn cancel(this: &RequestSignal);
}

/// Cancels the fetch when dropped: a wait that stopped (its signal, its deadline) leaves no
/// request open behind it. (Cancelling a fetch that has finished only clears its timer.)
struct CancelOnDrop(RequestSignal);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Sends `request` with `fetch` and reads the body into wasm memory, at most one byte past
/// [`MAX_BODY_BYTES`](crate::protocol::MAX_BODY_BYTES) (the parsers then refuse it with
/// `ProtocolError::TooLarge`): a hostile body cannot grow the wasm heap past the limit.
/// Dropping the future aborts the fetch.
///
/// # Errors
/// [`TransportError::Network`] when `fetch` rejects (network, CORS, the request's `timeout`
/// passed), `InvalidRequest` when the request cannot be built.
pub async fn send(request: HttpRequest) -> Result<HttpResponse, TransportError> {
    let invalid = |e: JsValue| TransportError::InvalidRequest(js_error_text(&e));
    let network = |e: JsValue| TransportError::Network(js_error_text(&e));
    let init = RequestInit::new();
    init.set_method(match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    });
    init.set_credentials(RequestCredentials::Include);
    let headers = Headers::new().map_err(invalid)?;
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(invalid)?;
    }
    init.set_headers(&headers);
    if let Some(body) = &request.body {
        init.set_body(&JsValue::from_str(body));
    }
    let signal = CancelOnDrop(request_signal(request.timeout.map_or(-1.0, |t| t.as_millis() as f64)));
    init.set_signal(Some(&signal.0.signal()));
    let built = Request::new_with_str_and_init(&request.url, &init).map_err(invalid)?;
    let response: Response = JsFuture::from(global_fetch(&built)).await.map_err(network)?.unchecked_into();
    let status = response.status();
    let mut headers = Vec::new();
    if let Ok(Some(entries)) = js_sys::try_iter(&response.headers()) {
        for entry in entries.flatten() {
            let pair: js_sys::Array = entry.unchecked_into();
            headers.push((pair.get(0).as_string().unwrap_or_default(), pair.get(1).as_string().unwrap_or_default()));
        }
    }
    let body = read_limited(&response).await?;
    Ok(HttpResponse { status, headers, body })
}

/// The body as bytes, cut one byte past the limit before it is copied out of the JS heap.
async fn read_limited(response: &Response) -> Result<Vec<u8>, TransportError> {
    let network = |e: JsValue| TransportError::Network(js_error_text(&e));
    let buffer = JsFuture::from(response.array_buffer().map_err(network)?).await.map_err(network)?;
    let bytes = js_sys::Uint8Array::new(&buffer);
    let limit = u32::try_from(crate::protocol::MAX_BODY_BYTES + 1).unwrap_or(u32::MAX);
    Ok(if bytes.length() > limit { bytes.subarray(0, limit).to_vec() } else { bytes.to_vec() })
}

/// A promise whose `resolve` this side holds, as a future. Dropped before the promise settled
/// (a wait stopped, a timer cleared, a listener removed), it resolves the promise itself: a
/// `JsFuture` frees its two callbacks, their Rust state and the JS values they hold only once
/// its promise settles, so every unsettled one would stay for the life of the page.
pub(crate) struct HeldPromise {
    resolve: Option<js_sys::Function>,
    settled: JsFuture,
}

impl HeldPromise {
    /// A new promise; `start` hands its `resolve` to whatever is to settle it (a timer, a
    /// listener) and may call it at once.
    pub(crate) fn new(start: impl FnOnce(&js_sys::Function)) -> Self {
        let mut start = Some(start);
        let mut resolve = None;
        let promise = js_sys::Promise::new(&mut |resolve_fn, _reject| {
            if let Some(start) = start.take() {
                start(&resolve_fn);
            }
            resolve = Some(resolve_fn);
        });
        HeldPromise { resolve, settled: JsFuture::from(promise) }
    }

    /// The promise's `resolve` (to remove it again as a listener).
    pub(crate) fn resolve_fn(&self) -> Option<&js_sys::Function> {
        self.resolve.as_ref()
    }
}

impl Future for HeldPromise {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.settled).poll(cx).map(drop)
    }
}

impl Drop for HeldPromise {
    fn drop(&mut self) {
        // Settling an already settled promise does nothing.
        if let Some(resolve) = self.resolve_fn() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

/// A `setTimeout` as a future; dropping it clears the timer (an abandoned wait leaves nothing
/// behind that would keep Node's event loop alive) and then settles its promise.
struct Timeout {
    id: JsValue,
    fired: HeldPromise,
}

impl Future for Timeout {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.fired).poll(cx)
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

/// The longest delay `setTimeout` keeps (2^31 − 1 ms, 24.8 days): a longer one fires at once.
const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// Resolves after `millis` (NaN and negatives are 0; infinity never), with `setTimeout` on the
/// global object, in steps of at most [`MAX_TIMER_MS`].
pub(crate) async fn sleep_ms(millis: f64) {
    let mut left = if millis > 0.0 { millis.floor() } else { 0.0 };
    loop {
        let step = left.min(MAX_TIMER_MS);
        let mut id = JsValue::UNDEFINED;
        let fired = HeldPromise::new(|resolve| id = set_timeout(resolve, step));
        Timeout { id, fired }.await;
        left -= step;
        if left <= 0.0 {
            return;
        }
    }
}

/// Waits `duration` with `setTimeout` on the global object (works in pages, workers and Node).
pub async fn sleep(duration: Duration) {
    sleep_ms(duration.as_millis() as f64).await;
}

/// Seconds since the Unix epoch (for `expires`).
pub fn unix_now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}
