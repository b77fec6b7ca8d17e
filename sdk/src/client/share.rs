//! Identical operations in flight at once are done once: the first caller (the leader) runs
//! the operation, callers that ask for the same thing meanwhile (followers) receive every
//! event it reports from then on and its outcome. Two `wait()`s of one job poll it once; two
//! `poll()`s sent at once make one request.
//!
//! Stopping one caller never stops the others: a follower that goes away just stops
//! listening; when the leader goes away (its future dropped, e.g. by a JavaScript
//! `AbortSignal`), the operation is dropped with it and one of the followers starts it anew
//! as the next leader, so no request goes out for a caller that stopped, and no one is left
//! waiting on work nobody does.
//!
//! Plain `Mutex` + `Waker`: the same code works on single-threaded WebAssembly and on native
//! multi-threaded runtimes (`Flights` is `Send + Sync` whenever its output is).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::engine::DelayReason;
use crate::error::Result;
use crate::protocol::JobSnapshot;
use crate::time::Duration;

use super::driver::OnEvent;
use super::{MaybeSend, WaitEvent};

/// Events kept for followers that have not taken them yet; a follower further behind misses
/// the oldest (they are progress reports and delays, the outcome is never lost).
const MAX_BACKLOG: usize = 64;

/// An owned [`WaitEvent`], kept for followers.
#[derive(Debug, Clone)]
enum Note {
    Status(Box<JobSnapshot>),
    Delay { delay: Duration, reason: DelayReason, retries: u32 },
}

impl Note {
    fn from_event(event: &WaitEvent<'_>) -> Self {
        match *event {
            WaitEvent::Status(snapshot) => Note::Status(Box::new(snapshot.clone())),
            WaitEvent::Delay { delay, reason, retries } => Note::Delay { delay, reason, retries },
        }
    }

    fn as_event(&self) -> WaitEvent<'_> {
        match self {
            Note::Status(snapshot) => WaitEvent::Status(snapshot),
            Note::Delay { delay, reason, retries } => {
                WaitEvent::Delay { delay: *delay, reason: *reason, retries: *retries }
            }
        }
    }
}

/// How a flight ended.
#[derive(Debug, Clone)]
enum Outcome<T> {
    Done(Result<T>),
    /// The leader went away before the end.
    Abandoned,
}

#[derive(Debug)]
struct FlightState<T> {
    /// Events since the first follower joined; `offset` is the number of the first one kept.
    notes: VecDeque<Note>,
    offset: u64,
    followers: usize,
    wakers: Vec<(u64, Waker)>,
    outcome: Option<Outcome<T>>,
}

/// One operation in flight.
#[derive(Debug)]
pub(crate) struct Flight<T> {
    state: Mutex<FlightState<T>>,
}

impl<T> Flight<T> {
    fn new() -> Self {
        Flight {
            state: Mutex::new(FlightState {
                notes: VecDeque::new(),
                offset: 0,
                followers: 0,
                wakers: Vec::new(),
                outcome: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FlightState<T>> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The leader reports `event`: kept for the followers, if there are any.
    fn publish(&self, event: &WaitEvent<'_>) {
        let mut state = self.lock();
        if state.followers == 0 {
            return;
        }
        state.notes.push_back(Note::from_event(event));
        if state.notes.len() > MAX_BACKLOG {
            state.notes.pop_front();
            state.offset += 1;
        }
        state.wakers.drain(..).for_each(|(_, waker)| waker.wake());
    }

    fn end(&self, outcome: Outcome<T>) {
        let mut state = self.lock();
        state.outcome = Some(outcome);
        state.wakers.drain(..).for_each(|(_, waker)| waker.wake());
    }
}

/// The operations of one client in flight, by key (e.g. the job id).
#[derive(Debug)]
pub(crate) struct Flights<T> {
    entries: Mutex<Vec<(String, Arc<Flight<T>>)>>,
    next_follower: AtomicU64,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Flights { entries: Mutex::new(Vec::new()), next_follower: AtomicU64::new(0) }
    }
}

/// Ends the leader's flight however the leader's future ends; dropped early, it abandons it.
pub(crate) struct Lead<'a, T> {
    flights: &'a Flights<T>,
    key: &'a str,
    flight: Arc<Flight<T>>,
    outcome: Option<Outcome<T>>,
}

impl<'a, T: Clone> Lead<'a, T> {
    /// Where the leader reports its events: kept for the followers, then passed to `on_event`.
    pub(crate) fn relay<'b>(&'b self, on_event: OnEvent<'b>) -> impl FnMut(WaitEvent<'_>) + 'b {
        let flight = &self.flight;
        move |event| {
            flight.publish(&event);
            on_event(event);
        }
    }

    /// Ends the flight with the leader's `result`, which followers get too.
    pub(crate) fn finish(mut self, result: Result<T>) -> Result<T> {
        self.outcome = Some(Outcome::Done(result.clone()));
        result
    }
}

impl<T> Drop for Lead<'_, T> {
    fn drop(&mut self) {
        self.flights.remove(self.key, &self.flight);
        self.flight.end(self.outcome.take().unwrap_or(Outcome::Abandoned));
    }
}

/// Counts a follower in while it listens.
struct Follow<'a, T> {
    flight: &'a Flight<T>,
    id: u64,
}

impl<T> Drop for Follow<'_, T> {
    fn drop(&mut self) {
        let mut state = self.flight.lock();
        state.followers = state.followers.saturating_sub(1);
        state.wakers.retain(|(id, _)| *id != self.id);
    }
}

impl<T> Flights<T> {
    fn lock(&self) -> MutexGuard<'_, Vec<(String, Arc<Flight<T>>)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remove(&self, key: &str, flight: &Arc<Flight<T>>) {
        self.lock().retain(|(k, f)| !(k == key && Arc::ptr_eq(f, flight)));
    }
}

/// Where a caller of [`Flights`] stands: leading the operation (it runs it), or following the
/// one in flight.
pub(crate) enum Joined<'a, T> {
    Lead(Lead<'a, T>),
    Follow(Arc<Flight<T>>),
}

/// Runs an operation for a key on [`Flights`], or follows the run of it already in flight:
/// `shared!(flights, key, on_event, |relay| operation)` evaluates to the operation's outcome.
/// Every event is reported to `on_event` (the leader's as they happen, through `relay`; a
/// follower's from when it joined). A follower whose leader went away runs it anew.
///
/// A macro, not a function taking the operation as an async closure: rustc cannot yet prove
/// such a closure's future `Send`, and natively the clients' futures are.
macro_rules! shared {
    ($flights:expr, $key:expr, $on_event:expr, |$relay:ident| $operation:expr) => {{
        let on_event: $crate::client::driver::OnEvent<'_> = $on_event;
        loop {
            match $flights.join($key) {
                $crate::client::share::Joined::Lead(lead) => {
                    let result = {
                        let mut relay = lead.relay(&mut *on_event);
                        let $relay: $crate::client::driver::OnEvent<'_> = &mut relay;
                        // Bound first: the operation's temporaries end before `relay` does.
                        let result = $operation;
                        result
                    };
                    break lead.finish(result);
                }
                $crate::client::share::Joined::Follow(flight) => {
                    if let Some(result) = $flights.follow(&flight, &mut *on_event).await {
                        break result;
                    }
                    // The leader went away: take over (or follow whoever did first).
                }
            }
        }
    }};
}
pub(crate) use shared;

/// The key of a status request of `job_id` asking the server to hold it `wait_secs`.
pub(crate) fn status_key(job_id: &str, wait_secs: Option<u32>) -> String {
    format!("{job_id}\n{}", wait_secs.unwrap_or(0))
}

impl<T: Clone + MaybeSend> Flights<T> {
    /// How many operations are in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().len()
    }

    /// Leads the operation for `key`, or follows the one in flight (see [`shared!`]).
    pub(crate) fn join<'a>(&'a self, key: &'a str) -> Joined<'a, T> {
        let mut entries = self.lock();
        if let Some((_, flight)) = entries.iter().find(|(k, _)| k == key) {
            return Joined::Follow(Arc::clone(flight));
        }
        let flight = Arc::new(Flight::new());
        entries.push((key.to_owned(), Arc::clone(&flight)));
        Joined::Lead(Lead { flights: self, key, flight, outcome: None })
    }

    /// Follows `flight` until it ends: its outcome, or `None` when its leader went away.
    pub(crate) async fn follow(&self, flight: &Flight<T>, on_event: OnEvent<'_>) -> Option<Result<T>> {
        match self.listen(flight, on_event).await {
            Outcome::Done(result) => Some(result),
            Outcome::Abandoned => None,
        }
    }

    /// Listens to `flight` until it ends.
    async fn listen(&self, flight: &Flight<T>, on_event: OnEvent<'_>) -> Outcome<T> {
        let id = self.next_follower.fetch_add(1, Ordering::Relaxed);
        let mut cursor = {
            let mut state = flight.lock();
            state.followers += 1;
            state.offset + state.notes.len() as u64
        };
        let _follow = Follow { flight, id };
        poll_fn(|cx| {
            let (notes, outcome) = {
                let mut state = flight.lock();
                let skip = usize::try_from(cursor.saturating_sub(state.offset)).unwrap_or(usize::MAX);
                let notes: Vec<Note> = state.notes.iter().skip(skip).cloned().collect();
                cursor = state.offset + state.notes.len() as u64;
                let outcome = state.outcome.clone();
                if outcome.is_none() {
                    match state.wakers.iter_mut().find(|(i, _)| *i == id) {
                        Some((_, waker)) => waker.clone_from(cx.waker()),
                        None => state.wakers.push((id, cx.waker().clone())),
                    }
                }
                (notes, outcome)
            };
            notes.iter().for_each(|note| on_event(note.as_event()));
            match outcome {
                Some(outcome) => Poll::Ready(outcome),
                None => Poll::Pending,
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobState;
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::pin;
    use std::task::Context;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn snapshot(state: JobState) -> JobSnapshot {
        JobSnapshot::bare("j", state)
    }

    impl<T: Clone + MaybeSend> Flights<T> {
        /// `op` for `key` through [`shared!`].
        async fn run(
            &self,
            key: &str,
            on_event: OnEvent<'_>,
            mut op: impl AsyncFnMut(OnEvent<'_>) -> Result<T>,
        ) -> Result<T> {
            shared!(self, key, on_event, |relay| op(relay).await)
        }
    }

    /// Pending until `gate` opens.
    async fn until(gate: &Cell<bool>) {
        poll_fn(|_| if gate.get() { Poll::Ready(()) } else { Poll::Pending }).await
    }

    /// Polls `future` until it is ready (the futures here need no wake-ups).
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
    }

    #[test]
    fn followers_get_the_leaders_events_and_outcome_and_run_nothing() {
        let flights = Flights::<u32>::default();
        let (runs, gate) = (Cell::new(0), Cell::new(false));
        let op = async |relay: OnEvent<'_>| {
            runs.set(runs.get() + 1);
            until(&gate).await;
            relay(WaitEvent::Status(&snapshot(JobState::Pending)));
            Ok(7)
        };
        // Atomics: natively the callbacks are `Send`.
        let (first, second) = (AtomicU64::new(0), AtomicU64::new(0));
        let mut on_first = |_: WaitEvent<'_>| _ = first.fetch_add(1, Ordering::Relaxed);
        let mut on_second = |_: WaitEvent<'_>| _ = second.fetch_add(1, Ordering::Relaxed);
        let mut a = pin!(flights.run("j", &mut on_first, op));
        let mut b = pin!(flights.run("j", &mut on_second, op));
        let (mut out_a, mut out_b) = (None, None);
        block_on(poll_fn(|cx| {
            if out_a.is_none() {
                out_a = match a.as_mut().poll(cx) {
                    Poll::Ready(value) => Some(value),
                    Poll::Pending => None,
                };
            }
            if out_b.is_none() {
                out_b = match b.as_mut().poll(cx) {
                    Poll::Ready(value) => Some(value),
                    Poll::Pending => None,
                };
            }
            gate.set(true);
            if out_a.is_some() && out_b.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        assert_eq!((out_a.and_then(Result::ok), out_b.and_then(Result::ok), runs.get()), (Some(7), Some(7), 1));
        assert_eq!(flights.in_flight(), 0);
        assert_eq!((first.load(Ordering::Relaxed), second.load(Ordering::Relaxed)), (1, 1));
    }

    #[test]
    fn a_follower_takes_over_when_the_leader_goes_away() {
        let flights = Flights::<u32>::default();
        let (runs, gate) = (Cell::new(0), Cell::new(false));
        let op = async |_: OnEvent<'_>| {
            runs.set(runs.get() + 1);
            until(&gate).await;
            Ok(runs.get())
        };
        let (mut on_leader, mut on_follower) = (|_: WaitEvent<'_>| {}, |_: WaitEvent<'_>| {});
        let mut leader = Box::pin(flights.run("j", &mut on_leader, op));
        let mut follower = Box::pin(flights.run("j", &mut on_follower, op));
        block_on(poll_fn(|cx| {
            assert!(leader.as_mut().poll(cx).is_pending() && follower.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        }));
        assert_eq!((runs.get(), flights.in_flight()), (1, 1));
        // The leader is stopped (an AbortSignal): its run is dropped, the follower runs anew.
        drop(leader);
        assert_eq!(flights.in_flight(), 0);
        gate.set(true);
        assert_eq!(block_on(follower).ok(), Some(2));
        assert_eq!(flights.in_flight(), 0);
        // A follower that goes away leaves the leader alone.
        gate.set(false);
        let mut leader = Box::pin(flights.run("j", &mut on_leader, op));
        let mut follower = Box::pin(flights.run("j", &mut on_follower, op));
        block_on(poll_fn(|cx| {
            assert!(leader.as_mut().poll(cx).is_pending() && follower.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        }));
        drop(follower);
        gate.set(true);
        assert_eq!(block_on(leader).ok(), Some(3));
    }
}
