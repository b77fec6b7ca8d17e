//! What the CloudStack and CLM clients do alike around their protocols: retrying one request
//! through transient failures (after the server's `Retry-After` or a jittered backoff), and
//! waiting for a job — long-polls while the server honours them, the policy's backoff otherwise,
//! the first poll placed by the learned duration of earlier jobs — given a way to ask for the
//! job's status once ([`JobSource`]).
//!
//! The protocol-specific parts (how a request is encoded, what an answer means, how a session is
//! renewed) stay with each client; the decisions come from the sans-IO [`crate::engine`].

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;

use crate::engine::{
    classify, parse_retry_after, planned_first_poll, retry_after_from_text, DelayReason, DurationLearner, Failure,
    Observed, PollPolicy, RetryBudget, WaitStep, Waiter,
};
use crate::error::{Error, Result};
use crate::protocol::{ApiError, JobSnapshot, JobState, ProtocolError};
use crate::time::{Duration, Instant};
use crate::transport::{self, HttpResponse, TransportError};

use super::share::{self, shared, Flights};
use super::sweep::Registration;
use super::{MaybeSync, SubmittedJob, WaitEvent};

/// Where a request's delays are reported: how long, why, after how many failures in a row.
/// Natively the callbacks are `Send`, so that a wait's future is (see [`super::MaybeSend`]).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type OnDelay<'a> = &'a mut (dyn FnMut(Duration, DelayReason, u32) + Send);
#[cfg(target_arch = "wasm32")]
pub(crate) type OnDelay<'a> = &'a mut dyn FnMut(Duration, DelayReason, u32);

/// Where a wait's statuses and delays are reported.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type OnEvent<'a> = &'a mut (dyn FnMut(WaitEvent<'_>) + Send);
#[cfg(target_arch = "wasm32")]
pub(crate) type OnEvent<'a> = &'a mut dyn FnMut(WaitEvent<'_>);

/// Where a wait's statuses alone are reported.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type OnUpdate<'a> = &'a mut (dyn FnMut(&JobSnapshot) + Send);
#[cfg(target_arch = "wasm32")]
pub(crate) type OnUpdate<'a> = &'a mut dyn FnMut(&JobSnapshot);

/// The delays among a request's events, for `on_delay`.
pub(crate) fn delays_to<'a>(on_delay: OnDelay<'a>) -> impl FnMut(WaitEvent<'_>) + 'a {
    move |event| {
        if let WaitEvent::Delay { delay, reason, retries } = event {
            on_delay(delay, reason, retries);
        }
    }
}

/// A request's delays as events, for `on_event`.
pub(crate) fn delays_from<'a>(on_event: OnEvent<'a>) -> impl FnMut(Duration, DelayReason, u32) + 'a {
    move |delay, reason, retries| on_event(WaitEvent::Delay { delay, reason, retries })
}

/// What one try of a request came to.
pub(crate) enum Attempt<T> {
    /// The answer.
    Done(T),
    /// Try again at once, without taking from the retry budget: the try renewed the session (or
    /// found it expired), which is progress, not a failure.
    Again,
    /// A failure, with the delay the server asked for (`Retry-After`), if any; retried when
    /// [`classify`] calls it transient and the budget allows.
    Failed(Error, Option<Duration>),
}

/// Longest `Retry-After` obeyed; a server asking for more gets another try after this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The retries of one request, for a loop that makes the tries itself:
///
/// ```ignore
/// let mut retries = Retries::new(max_retries);
/// loop {
///     let attempt = async { /* one try */ }.await?;
///     if let Some(value) = retries.after(attempt, on_delay).await? {
///         return Ok(value);
///     }
/// }
/// ```
///
/// (A loop rather than a function taking the try as an async closure: rustc cannot yet prove
/// such a closure's future `Send`, and natively the clients' futures are.)
pub(crate) struct Retries {
    budget: RetryBudget,
}

impl Retries {
    pub(crate) fn new(max_retries: u32) -> Self {
        Retries { budget: RetryBudget::new(max_retries) }
    }

    /// After a try: its value when done; `None` to try again — at once after
    /// [`Attempt::Again`], else after a delay (reported to `on_delay`, then slept): the server's
    /// `Retry-After` (capped at 5 minutes) or an exponential backoff with jitter. Transient
    /// failures (see [`classify`]) are retried up to `max_retries` times in a row; a permanent
    /// one, or one too many, is the error.
    pub(crate) async fn after<T>(&mut self, attempt: Attempt<T>, on_delay: OnDelay<'_>) -> Result<Option<T>> {
        let (error, retry_after) = match attempt {
            Attempt::Done(value) => return Ok(Some(value)),
            Attempt::Again => return Ok(None),
            Attempt::Failed(error, retry_after) => (error, retry_after),
        };
        if !worth_retrying(&error) || !self.budget.take() {
            return Err(error);
        }
        let retries = self.budget.used();
        let backoff = Duration::from_millis(200u64.saturating_mul(1 << retries.min(6))).min(Duration::from_secs(10));
        let jittered = backoff.mul_f64(0.5 + fastrand::f64() / 2.0);
        let (delay, reason) = match retry_after {
            Some(asked) => (asked.min(MAX_RETRY_AFTER), DelayReason::RetryAfter),
            None => (jittered, DelayReason::Retry),
        };
        on_delay(delay, reason, retries);
        transport::sleep(delay).await;
        Ok(None)
    }
}

/// Whether another try may help after `error` (see [`classify`]): network trouble, throttling,
/// gateway and availability errors and damaged answers may pass; refusals the server chose to
/// send, answers over the size limit and the caller's own mistakes do not.
pub(crate) fn worth_retrying(error: &Error) -> bool {
    let observed = match error {
        Error::Transport(TransportError::Network(_)) => Observed::Network,
        Error::Transport(TransportError::Status { status, .. }) => Observed::HttpStatus(*status),
        Error::Api(api) => Observed::ApiCode(api.code),
        // An answer over the size limit is no transmission accident: asking again would
        // only make the server send it again.
        Error::Protocol(ProtocolError::TooLarge { .. }) => return false,
        Error::Protocol(_) => Observed::MalformedBody,
        _ => return false,
    };
    classify(observed) == Failure::Transient
}

/// The delay a response's `Retry-After` header asks for (seconds or an HTTP-date), if any.
/// A 429 without the header falls back on the wait CloudStack states in its refusal's text.
pub(crate) fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let header = response.header("retry-after").and_then(|value| parse_retry_after(value, transport::unix_now()));
    header.or_else(|| {
        (response.status == 429).then(|| retry_after_from_text(&String::from_utf8_lossy(&response.body))).flatten()
    })
}

/// An HTTP error status whose body is no protocol message, with the start of the body.
pub(crate) fn status_error(response: &HttpResponse) -> TransportError {
    let text = String::from_utf8_lossy(&response.body);
    let excerpt: String = text.chars().take(200).collect();
    TransportError::Status { status: response.status, excerpt }
}

/// The error of a job that ended in failure or was cancelled: the snapshot's own reason, or a
/// generic one with its result code.
pub(crate) fn job_failed(job_id: &str, snapshot: &JobSnapshot) -> Error {
    let error = snapshot.error.clone().unwrap_or_else(|| ApiError {
        code: snapshot.result_code.unwrap_or_default(),
        cs_error_code: None,
        text: "job failed".into(),
    });
    Error::JobFailed { job_id: job_id.into(), error, raw: Box::new(snapshot.raw.clone()) }
}

/// A future of a [`JobSource`]: boxed, so the source can be a `dyn` and the wait code below is
/// compiled once for both clients (the package's size); `Send` natively.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
#[cfg(target_arch = "wasm32")]
pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A client that can ask for a job's status: what [`wait_job`] needs. Used as `dyn JobSource`
/// (see [`Boxed`]); `Sync` natively, so a wait holding one is `Send`.
pub(crate) trait JobSource: MaybeSync {
    /// When to poll and for how long.
    fn policy(&self) -> &PollPolicy;

    /// How long a status request may ask the server to hold it (`Prefer: wait=N`), if at all.
    fn long_poll_secs(&self) -> Option<u32>;

    /// The caller's fixed delay between submitting a `command` job and its first poll, if set.
    fn initial_delay(&self, command: &str) -> Option<Duration> {
        let _ = command;
        None
    }

    /// The client's learned job durations (shared by its clones); see [`learner`].
    fn learner(&self) -> &Mutex<DurationLearner>;

    /// The client's status requests in flight (shared by its clones), for [`shared_poll`].
    fn polls(&self) -> &Flights<(JobSnapshot, bool)>;

    /// One status request (transient failures retried, their delays reported to `on_delay`),
    /// asking the server to hold it `wait_secs` when given; also says whether the server
    /// honoured that (`Preference-Applied`). Not shared: see [`shared_poll`].
    fn poll_once<'a>(
        &'a self,
        job_id: &'a str,
        wait_secs: Option<u32>,
        on_delay: OnDelay<'a>,
    ) -> Boxed<'a, Result<(JobSnapshot, bool)>>;

    /// The status a wait asks for: [`shared_poll`], or a cheaper way the client has.
    fn poll_status<'a>(
        &'a self,
        job_id: &'a str,
        wait_secs: Option<u32>,
        on_delay: OnDelay<'a>,
    ) -> Boxed<'a, Result<(JobSnapshot, bool)>>;

    /// Counts the job's wait in for polls shared with other waiting jobs (see
    /// [`super::sweep`]) while the registration lives; `None` where polls are not shared.
    fn share_polls(&self, job: &SubmittedJob) -> Option<Registration> {
        let _ = job;
        None
    }

    /// The next status another job's shared poll brings for this job; `None` where polls are
    /// not shared (then nothing ever comes).
    fn listed<'a>(&'a self, job_id: &'a str) -> Option<Boxed<'a, JobSnapshot>> {
        let _ = job_id;
        None
    }

    /// Every status the wait sees (shared polls keep the job's creation time).
    fn seen(&self, snapshot: &JobSnapshot) {
        let _ = snapshot;
    }
}

/// `source`'s learned durations, locked.
pub(crate) fn learner(source: &dyn JobSource) -> MutexGuard<'_, DurationLearner> {
    source.learner().lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One status request ([`JobSource::poll_once`]), unless the same one is already in flight
/// (another caller's poll or wait of the job): then its answer is shared.
pub(crate) async fn shared_poll(
    source: &dyn JobSource,
    job_id: &str,
    wait_secs: Option<u32>,
    on_delay: OnDelay<'_>,
) -> Result<(JobSnapshot, bool)> {
    let key = share::status_key(job_id, wait_secs);
    let mut on_event = delays_to(on_delay);
    shared!(source.polls(), &key, &mut on_event, |relay| {
        source.poll_once(job_id, wait_secs, &mut delays_from(relay)).await
    })
}

/// How close before a job's own next poll a status from another job's listing may come to
/// stand in for that poll (the poll is then not sent; the schedule goes on from there).
const LISTING_STANDS_IN: Duration = Duration::from_millis(300);

/// Sleeps `delay`, or less when another job's shared poll brings this job's status first.
async fn sleep_or_listed(source: &dyn JobSource, job_id: &str, delay: Duration) -> Option<JobSnapshot> {
    let mut sleeping = pin!(transport::sleep(delay));
    let Some(mut listed) = source.listed(job_id) else {
        sleeping.await;
        return None;
    };
    poll_fn(|cx| {
        if let Poll::Ready(snapshot) = listed.as_mut().poll(cx) {
            return Poll::Ready(Some(snapshot));
        }
        sleeping.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// [`wait_job`] shared by the concurrent waits of one job on `waits` (see
/// [`JobClient::wait_job`](super::JobClient::wait_job)). Each wait keeps its own deadline: one
/// that joined another's wait late does not end with that wait's timeout, but goes on (leading
/// now) until its own deadline passes.
pub(crate) async fn shared_wait(
    source: &dyn JobSource,
    waits: &Flights<JobSnapshot>,
    job: &SubmittedJob,
    on_event: OnEvent<'_>,
) -> Result<JobSnapshot> {
    let started = Instant::now();
    loop {
        match shared!(waits, &job.job_id, on_event, |relay| wait_job(source, job, started, relay).await) {
            Err(Error::WaitTimedOut { .. }) if !deadline_passed(source.policy(), started) => continue,
            outcome => return outcome,
        }
    }
}

/// [`shared_wait`] for a job known by its id only, reporting just the statuses: what both
/// clients' `wait(job_id, on_update)` do.
pub(crate) async fn wait_by_id(
    source: &dyn JobSource,
    waits: &Flights<JobSnapshot>,
    job_id: &str,
    on_update: OnUpdate<'_>,
) -> Result<JobSnapshot> {
    let job = SubmittedJob { job_id: job_id.into(), resource_id: None, command: String::new(), submitted_at: None };
    let mut on_event = |event: WaitEvent<'_>| {
        if let WaitEvent::Status(status) = event {
            on_update(status);
        }
    };
    shared_wait(source, waits, &job, &mut on_event).await
}

/// Whether a wait begun at `started` has used up the policy's deadline.
fn deadline_passed(policy: &PollPolicy, started: Instant) -> bool {
    policy.deadline.is_some_and(|deadline| started.elapsed() >= deadline)
}

/// Polls `job` until it finishes, reporting every status and every chosen delay with its
/// reason. While the server honours long-polls the next request goes out as soon as the
/// previous one returns (the server did the waiting); otherwise the policy's backoff spaces
/// them, starting from the duration learned from earlier jobs of the same command.
///
/// # Errors
/// [`Error::JobFailed`] when the job fails or is cancelled, [`Error::WaitTimedOut`] when the
/// policy's deadline passes (the job may still run; the handle stays usable), or a
/// transport/protocol error after the retry budget.
pub(crate) async fn wait_job(
    source: &dyn JobSource,
    job: &SubmittedJob,
    started: Instant,
    on_event: OnEvent<'_>,
) -> Result<JobSnapshot> {
    let policy = source.policy();
    let mut waiter = schedule(source, job, started);
    let mut server_waits = source.long_poll_secs().is_some();
    let mut seen_pending = false;
    // Registered once the server is known not to hold requests; dropped with the wait.
    let mut shared = None;
    // This job's own next poll, kept while other jobs' listings bring its status.
    let mut planned: Option<Instant> = None;
    let timed_out = |job_id: &str| {
        let waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Error::WaitTimedOut { job_id: job_id.into(), waited_ms }
    };
    loop {
        let now = Instant::now();
        let mut listed = None;
        let wait_secs = if server_waits {
            match long_poll_budget(policy, source.long_poll_secs(), started) {
                Some(secs) => Some(secs),
                None => return Err(timed_out(&job.job_id)),
            }
        } else {
            if shared.is_none() {
                shared = source.share_polls(job);
            }
            // A status another job's listing brought well before this job's own next poll
            // (placed by its schedule, e.g. just after its estimated finish) does not move that
            // poll: only a finish ends the wait early. One that comes shortly before stands in
            // for it.
            let at = match planned.take().filter(|at| *at > now) {
                Some(at) => at,
                None => match waiter.next(now, fastrand::f64()) {
                    WaitStep::GiveUp => return Err(timed_out(&job.job_id)),
                    WaitStep::PollAt(at, reason) => {
                        on_event(WaitEvent::Delay { delay: at.saturating_duration_since(now), reason, retries: 0 });
                        at
                    }
                },
            };
            listed = sleep_or_listed(source, &job.job_id, at.saturating_duration_since(now)).await;
            if listed.is_some() && at.saturating_duration_since(Instant::now()) > LISTING_STANDS_IN {
                planned = Some(at);
            }
            None
        };
        let (snapshot, held) = match listed {
            Some(snapshot) => (snapshot, false),
            None => source.poll_status(&job.job_id, wait_secs, &mut delays_from(&mut *on_event)).await?,
        };
        source.seen(&snapshot);
        server_waits = server_waits && held;
        on_event(WaitEvent::Status(&snapshot));
        if snapshot.state.is_terminal() {
            let took = took(job, started);
            learner(source).observe_finish(&job.command, took, seen_pending);
        }
        seen_pending = seen_pending || snapshot.state == JobState::Pending;
        if snapshot.state == JobState::Pending {
            waiter.observe_progress(Instant::now(), snapshot.progress);
        }
        match snapshot.state {
            JobState::Pending => {
                if server_waits {
                    on_event(WaitEvent::Delay { delay: Duration::ZERO, reason: DelayReason::LongPoll, retries: 0 });
                }
            }
            JobState::Succeeded => return Ok(snapshot),
            JobState::Failed | JobState::Cancelled => return Err(job_failed(&job.job_id, &snapshot)),
        }
    }
}

/// The schedule of one wait (see [`Waiter::for_job`]).
fn schedule(source: &dyn JobSource, job: &SubmittedJob, started: Instant) -> Waiter {
    let initial = source.initial_delay(&job.command);
    let learner = learner(source);
    Waiter::for_job(source.policy().clone(), initial, &learner, &job.command, age(job, started), started)
}

/// Where `job`'s first poll goes, counted from `started` (see [`planned_first_poll`]).
pub(crate) fn first_poll(
    source: &dyn JobSource,
    learner: &DurationLearner,
    job: &SubmittedJob,
    started: Instant,
) -> Option<(Duration, DelayReason)> {
    let initial = source.initial_delay(&job.command);
    planned_first_poll(source.policy(), initial, learner, &job.command, age(job, started))
}

/// How old `job` was at `started` (when its wait or watch began), when its submit was seen. A
/// submit time ahead of the wall clock (another machine's, or a clock set back) counts as now.
pub(crate) fn age(job: &SubmittedJob, started: Instant) -> Option<Duration> {
    let since_submit = job.submitted_at?.elapsed().unwrap_or_default();
    Some(since_submit.saturating_sub(started.elapsed()))
}

/// How long `job` took, seen finished now: since its submit, or since `started` (when its wait
/// or watch began) where the submit is unknown.
pub(crate) fn took(job: &SubmittedJob, started: Instant) -> Duration {
    job.submitted_at.and_then(|at| at.elapsed().ok()).unwrap_or_else(|| started.elapsed())
}

/// Seconds the next long-poll may ask for: the configured wait, cut to the deadline; `None`
/// once the deadline has passed (or without a configured wait).
fn long_poll_budget(policy: &PollPolicy, configured: Option<u32>, started: Instant) -> Option<u32> {
    let configured = configured?;
    match policy.deadline {
        None => Some(configured),
        Some(deadline) => {
            let left = deadline.saturating_sub(started.elapsed());
            if left.is_zero() {
                return None;
            }
            // Round up so a sub-second remainder still gets one last short poll.
            let left_secs = u32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0)).unwrap_or(u32::MAX);
            Some(configured.min(left_secs).max(1))
        }
    }
}
