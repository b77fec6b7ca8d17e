//! `client.watch(jobs)`: an async iterator of status changes, for `for await … of`.
//!
//! A Rust task follows the jobs and queues every change; `next()` hands them out in order, or
//! waits for the next one. Breaking out of the loop (`return()`) stops the task: no request goes
//! out afterwards.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::abort::{aborted, race, First};
use super::backend::Backend;
use super::convert::{error_to_js, report_delay, to_js};
use crate::client::{SubmittedJob, WaitEvent};

/// CLM tasks waited for at once (CLM has no listing of many tasks in one request).
const CLM_CONCURRENCY: usize = 8;

#[derive(Default)]
struct State {
    queue: VecDeque<JsValue>,
    finished: bool,
    error: Option<JsValue>,
    /// The `resolve`/`reject` of a `next()` that found the queue empty.
    waiting: Option<(js_sys::Function, js_sys::Function)>,
    /// Resolves the stop promise the task races against.
    stop: Option<js_sys::Function>,
}

type Shared = Rc<RefCell<State>>;

fn iter_result(value: &JsValue, done: bool) -> JsValue {
    let result = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&result, &"value".into(), value);
    let _ = js_sys::Reflect::set(&result, &"done".into(), &JsValue::from_bool(done));
    result.into()
}

/// Hands `value` to a waiting `next()`, or queues it.
fn deliver(state: &Shared, value: JsValue) {
    let waiting = state.borrow_mut().waiting.take();
    match waiting {
        Some((resolve, _)) => {
            let _ = resolve.call1(&JsValue::NULL, &iter_result(&value, false));
        }
        None => state.borrow_mut().queue.push_back(value),
    }
}

/// Ends the stream (with an error to reject with, if any).
fn finish(state: &Shared, error: Option<JsValue>) {
    let waiting = {
        let mut s = state.borrow_mut();
        s.finished = true;
        s.error = error.clone();
        s.waiting.take()
    };
    if let Some((resolve, reject)) = waiting {
        let _ = match error {
            Some(error) => reject.call1(&JsValue::NULL, &error),
            None => resolve.call1(&JsValue::NULL, &iter_result(&JsValue::UNDEFINED, true)),
        };
    }
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
    let state: Shared = Rc::default();
    let stop = js_sys::Promise::new(&mut |resolve, _| state.borrow_mut().stop = Some(resolve));
    let task_state = Rc::clone(&state);
    spawn_local(async move {
        let on_event = |event: WaitEvent<'_>| match event {
            WaitEvent::Status(snapshot) => {
                if let Ok(value) = to_js(snapshot) {
                    deliver(&task_state, value);
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
            let returned = JsFuture::from(stop);
            match signal {
                Some(signal) => match race(aborted(signal, "batch"), returned).await {
                    First::Left(error) => Some(error),
                    First::Right(_) => None,
                },
                None => returned.await.err(),
            }
        };
        match race(following, stopped).await {
            First::Left(Ok(())) => finish(&task_state, None),
            First::Left(Err(error)) => finish(&task_state, Some(error_to_js(&error))),
            First::Right(error) => finish(&task_state, error),
        }
    });
    iterator(state)
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

/// The iterator object: `next()`, `return()` and `[Symbol.asyncIterator]()`. Its three closures
/// live as long as the page (one small allocation per `watch` call).
fn iterator(state: Shared) -> JsValue {
    let object = js_sys::Object::new();
    let next_state = Rc::clone(&state);
    let next = Closure::<dyn Fn() -> js_sys::Promise>::new(move || {
        let state = Rc::clone(&next_state);
        super::handled(js_sys::Promise::new(&mut |resolve, reject| {
            let mut s = state.borrow_mut();
            if let Some(value) = s.queue.pop_front() {
                let _ = resolve.call1(&JsValue::NULL, &iter_result(&value, false));
            } else if s.finished {
                let _ = match s.error.take() {
                    Some(error) => reject.call1(&JsValue::NULL, &error),
                    None => resolve.call1(&JsValue::NULL, &iter_result(&JsValue::UNDEFINED, true)),
                };
            } else {
                s.waiting = Some((resolve, reject));
            }
        }))
    });
    let return_state = Rc::clone(&state);
    let stop = Closure::<dyn Fn() -> js_sys::Promise>::new(move || {
        let stop = return_state.borrow_mut().stop.take();
        if let Some(stop) = stop {
            let _ = stop.call0(&JsValue::NULL);
        }
        js_sys::Promise::resolve(&iter_result(&JsValue::UNDEFINED, true))
    });
    let this = object.clone();
    let itself = Closure::<dyn Fn() -> JsValue>::new(move || this.clone().into());
    let _ = js_sys::Reflect::set(&object, &"next".into(), next.as_ref());
    let _ = js_sys::Reflect::set(&object, &"return".into(), stop.as_ref());
    let _ = js_sys::Reflect::set(&object, &js_sys::Symbol::async_iterator(), itself.as_ref());
    next.forget();
    stop.forget();
    itself.forget();
    object.into()
}
