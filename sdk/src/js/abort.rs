//! Stopping a wait from JavaScript: an `AbortSignal`, a timeout, and racing them against the
//! wait. Dropping the losing future stops the polling at once: no request goes out after abort.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, AddEventListenerOptions};

use super::convert::stopped_waiting;
use crate::transport::HeldPromise;

/// Which of two futures finished first.
pub(super) enum First<A, B> {
    /// The first one.
    Left(A),
    /// The second one.
    Right(B),
}

/// Runs both futures, returns the first output; the other future is dropped (cancelled).
pub(super) async fn race<A: Future, B: Future>(a: A, b: B) -> First<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(First::Left(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(First::Right(out));
        }
        Poll::Pending
    })
    .await
}

/// Resolves when `signal` aborts (at once if it already has) with the error to reject with:
/// the signal's `reason` when it has one (as `fetch` does; left as the caller made it), else
/// an `AbortError` naming `job_id` (`batch` for a watch).
pub(super) async fn aborted(signal: AbortSignal, job_id: &str) -> JsValue {
    Listening::new(&signal).await;
    let reason = signal.reason();
    if reason.is_undefined() {
        stopped_waiting("AbortError", "stopped waiting: aborted; the job may still be running", job_id)
    } else {
        reason
    }
}

/// Resolves when `signal` aborts (at once if it already has). Dropped first (the wait ended
/// another way), it takes its listener off the signal: one long-lived signal given to many
/// waits does not collect a listener per wait.
struct Listening<'a> {
    signal: &'a AbortSignal,
    fired: HeldPromise,
}

impl<'a> Listening<'a> {
    fn new(signal: &'a AbortSignal) -> Self {
        let fired = HeldPromise::new(|resolve| {
            if signal.aborted() {
                let _ = resolve.call0(&JsValue::NULL);
            } else {
                let options = AddEventListenerOptions::new();
                options.set_once(true);
                let _ =
                    signal.add_event_listener_with_callback_and_add_event_listener_options("abort", resolve, &options);
            }
        });
        Listening { signal, fired }
    }
}

impl Future for Listening<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.fired).poll(cx)
    }
}

impl Drop for Listening<'_> {
    fn drop(&mut self) {
        if let Some(listener) = self.fired.resolve_fn() {
            let _ = self.signal.remove_event_listener_with_callback("abort", listener);
        }
    }
}

/// Resolves after `millis`.
pub(super) async fn sleep_ms(millis: f64) {
    crate::transport::sleep_ms(millis).await;
}
