//! `client.watch(jobs)`: an async iterator of status changes, for `for await … of`.
//!
//! A Rust task follows the jobs and pushes every change into a stream (`js/stream.js`, the
//! iterator itself in JavaScript), whose `next()` hands them out in order or waits for the next
//! one. Breaking out of the loop (`return()`) stops the task: no request goes out afterwards.

use std::cell::RefCell;
use std::collections::VecDeque;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::abort::{aborted, race, First};
use super::backend::Backend;
use super::convert::{error_to_js, report_delay, to_js};
use crate::client::{SubmittedJob, WaitEvent};

/// CLM tasks waited for at once (CLM has no listing of many tasks in one request).
const CLM_CONCURRENCY: usize = 8;

#[wasm_bindgen(module = "/js/stream.js")]
extern "C" {
    /// The stream behind a watch's iterator.
    type WatchStream;
    /// A new stream.
    #[wasm_bindgen(js_name = watchStream)]
    fn watch_stream() -> WatchStream;
    /// The async iterator the caller loops over.
    #[wasm_bindgen(method, getter)]
    fn iterator(this: &WatchStream) -> JsValue;
    /// Resolves when the caller breaks out of the loop.
    #[wasm_bindgen(method, getter)]
    fn stopped(this: &WatchStream) -> js_sys::Promise;
    /// One more status for the iterator to yield.
    #[wasm_bindgen(method)]
    fn push(this: &WatchStream, value: JsValue);
    /// Ends the iteration after what was pushed.
    #[wasm_bindgen(method)]
    fn end(this: &WatchStream);
    /// Ends the iteration with `error` after what was pushed.
    #[wasm_bindgen(method)]
    fn fail(this: &WatchStream, error: JsValue);
}

/// What `watch` takes besides the jobs: `{ onDelay, signal }`.
pub(super) struct WatchOptions {
    /// Hears every delay chosen.
    pub on_delay: Option<js_sys::Function>,
    /// Ends the watch: the iterator rejects with the signal's reason (or an `AbortError`).
    pub signal: Option<web_sys::AbortSignal>,
}

/// Starts following `jobs`; returns the async iterator.
pub(super) fn start(backend: Backend, jobs: Vec<SubmittedJob>, options: WatchOptions) -> JsValue {
    let WatchOptions { on_delay, signal } = options;
    let stream = watch_stream();
    let iterator = stream.iterator();
    spawn_local(async move {
        let on_event = |event: WaitEvent<'_>| match event {
            WaitEvent::Status(snapshot) => {
                if let Ok(value) = to_js(snapshot) {
                    stream.push(value);
                }
            }
            WaitEvent::Delay { delay, reason, retries } => {
                if let Some(callback) = &on_delay {
                    report_delay(callback, delay, reason, retries);
                }
            }
        };
        let following = follow(backend, jobs, on_event);
        // `return()` (a `break` out of the loop) ends the stream quietly, the signal with its error.
        let stopped = async {
            let returned = JsFuture::from(stream.stopped());
            match signal {
                Some(signal) => match race(aborted(signal, "batch"), returned).await {
                    First::Left(error) => Some(error),
                    First::Right(_) => None,
                },
                None => returned.await.err(),
            }
        };
        match race(following, stopped).await {
            First::Left(Ok(())) | First::Right(None) => stream.end(),
            First::Left(Err(error)) => stream.fail(error_to_js(&error)),
            First::Right(Some(error)) => stream.fail(error),
        }
    });
    iterator
}

/// Follows the jobs until all finished, passing each change and each delay to `on_event`.
async fn follow(backend: Backend, jobs: Vec<SubmittedJob>, on_event: impl Fn(WaitEvent<'_>)) -> crate::Result<()> {
    match backend {
        Backend::CloudStack(client) => client.watch_events(&jobs, &on_event).await.map(drop),
        Backend::Clm(client) => {
            let queue = RefCell::new(VecDeque::from(jobs));
            let worker = || async {
                loop {
                    let Some(job) = queue.borrow_mut().pop_front() else { return Ok(()) };
                    let mut last: Option<(crate::JobState, Option<f64>)> = None;
                    let mut on_task_event = |event: WaitEvent<'_>| match event {
                        WaitEvent::Status(status) => {
                            let seen = (status.state, status.progress);
                            if last != Some(seen) {
                                last = Some(seen);
                                on_event(WaitEvent::Status(status));
                            }
                        }
                        delay => on_event(delay),
                    };
                    // `&mut dyn`: the same wait code as `Job.wait`'s, not a copy for this callback.
                    let on_task_event: &mut dyn FnMut(WaitEvent<'_>) = &mut on_task_event;
                    let outcome = Box::pin(client.wait_job(&job, on_task_event)).await;
                    match outcome {
                        // A failed task was reported as a status; the stream goes on.
                        Ok(_) | Err(crate::Error::JobFailed { .. }) => {}
                        Err(error) => return Err(error),
                    }
                }
            };
            let workers: Vec<_> = (0..CLM_CONCURRENCY).map(|_| Box::pin(worker())).collect();
            join_all(workers).await
        }
    }
}

/// Runs futures together; the first error wins.
async fn join_all<F: std::future::Future<Output = crate::Result<()>> + Unpin>(
    mut futures: Vec<F>,
) -> crate::Result<()> {
    std::future::poll_fn(|cx| {
        let mut index = 0;
        while index < futures.len() {
            match std::pin::Pin::new(&mut futures[index]).poll(cx) {
                std::task::Poll::Ready(Ok(())) => {
                    futures.swap_remove(index);
                }
                std::task::Poll::Ready(Err(error)) => return std::task::Poll::Ready(Err(error)),
                std::task::Poll::Pending => index += 1,
            }
        }
        if futures.is_empty() {
            std::task::Poll::Ready(Ok(()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}
