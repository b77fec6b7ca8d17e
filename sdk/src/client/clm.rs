//! The Rust API for BMC Cloud Lifecycle Management (CLM): log in, run an operation, poll or wait
//! for its task, read the task's result. Same shape as the CloudStack [`JobClient`]
//! (`submit` → [`SubmittedJob`], `poll`, `wait_job` with [`WaitEvent`]s) and the same machinery
//! ([`driver`]), so callers and the JavaScript layer can treat both alike.
//!
//! URLs are built below the configured base: `POST {base}/csm/login`, an operation
//! `POST {base}/csm/{operation_path}`, `GET {base}/csm/task/{id}/status` and `.../result`.
//!
//! [`JobClient`]: super::JobClient

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::driver::{self, Attempt, JobSource, OnDelay};
use super::share::Flights;
use super::{MaybeSend, SubmittedJob, WaitEvent};
use crate::engine::{DurationLearner, PollPolicy};
use crate::error::{Error, Result};
use crate::protocol::clm::auth::{AUTH_TOKEN_HEADER, CONTENT_TYPE};
use crate::protocol::clm::request::{resolve, validate_task_id};
use crate::protocol::clm::{
    parse_response, parse_task_result, parse_task_status, read_login_token, result_path, status_path, transaction_id,
    AuthToken, ClmResponse, CloudError, LoginRequest, OperationBody, Task, TaskResult, Timeout,
};
use crate::protocol::json;
use crate::protocol::{ApiError, JobSnapshot, JobState, ProtocolError};
use crate::time::{Duration, SystemTime};
use crate::transport::{self, HttpRequest, HttpResponse, Method};

/// Where and how to talk to a CLM server.
#[derive(Clone)]
pub struct ClmConfig {
    /// The server root, e.g. `http://127.0.0.1:8080` (or a gateway prefix such as
    /// `https://gw.example/clm`); `csm/...` paths are resolved below it.
    pub base_url: String,
    /// The CLM user name.
    pub username: String,
    /// The password; sent only in the login body, never shown by `{:?}`.
    pub password: String,
    /// When to poll and for how long.
    pub policy: PollPolicy,
    /// Ask the server to hold status requests up to this long (RFC 7240 `Prefer: wait=N`);
    /// servers that ignore it are polled by `policy` as usual.
    pub long_poll_secs: Option<u32>,
    /// Transient failures (network, 429, 502/503/504, damaged bodies) tolerated in a row per call.
    pub max_retries: u32,
    /// How long an answer may take beyond the time the server was asked to hold the request
    /// (`long_poll_secs`, a sync `timeout`); a request unanswered by then fails as a network
    /// error, retried as [`Replay`] allows.
    pub request_timeout: Duration,
}

// Hand-written so the password never reaches a log through `{:?}`.
impl std::fmt::Debug for ClmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClmConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("policy", &self.policy)
            .field("long_poll_secs", &self.long_poll_secs)
            .field("max_retries", &self.max_retries)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl ClmConfig {
    /// A configuration with the default poll policy, 20 s long-polls and 10 retries.
    pub fn new(base_url: impl Into<String>, username: impl Into<String>, password: impl Into<String>) -> Self {
        ClmConfig {
            base_url: base_url.into(),
            username: username.into(),
            password: password.into(),
            policy: PollPolicy::default(),
            long_poll_secs: Some(20),
            max_retries: 10,
            request_timeout: super::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Whether a request may be sent again after a failure that leaves open whether the server
/// acted on it (no answer, a gateway error, a damaged answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Reads and logins: sending twice does no harm.
    Safe,
    /// Operations: CLM has no idempotency key (CloudStack's `customjobid`), so a second send
    /// could create a second server. Only answers that say the request was refused unprocessed
    /// (401, 429, 503) are retried.
    RefusalsOnly,
}

impl Replay {
    fn may_retry(self, status: Option<u16>) -> bool {
        self == Replay::Safe || matches!(status, Some(429 | 503))
    }
}

/// One authenticated request, as [`ClmClient::exchange`] sends it (again, when allowed).
#[derive(Debug)]
struct Call {
    method: Method,
    url: String,
    body: Option<String>,
    /// Headers besides the token, `Accept` and `Content-Type`.
    headers: Vec<(String, String)>,
    replay: Replay,
    /// How long the server was asked to hold it (`Prefer: wait`, a sync `timeout`).
    hold_secs: Option<u32>,
}

impl Call {
    /// A read: safe to repeat.
    fn get(url: String) -> Self {
        Call { method: Method::Get, url, body: None, headers: Vec::new(), replay: Replay::Safe, hold_secs: None }
    }

    /// A status read the server is asked to hold up to `wait_secs` (`Prefer: wait`).
    fn status(url: String, wait_secs: Option<u32>) -> Self {
        let mut call = Call::get(url);
        call.headers.extend(transport::prefer_wait(wait_secs));
        call.hold_secs = wait_secs;
        call
    }

    /// An operation: repeated only after a refusal.
    fn operation(url: String, body: String) -> Self {
        Call {
            method: Method::Post,
            url,
            body: Some(body),
            headers: Vec::new(),
            replay: Replay::RefusalsOnly,
            hold_secs: None,
        }
    }
}

#[derive(Debug, Default)]
struct ClmState {
    token: Option<AuthToken>,
    transaction_id: Option<String>,
    logins: u64,
}

/// Reads a successful answer of [`ClmClient::exchange_read`]; natively `Send`, so that the
/// exchange's future is (see [`OnDelay`]).
#[cfg(not(target_arch = "wasm32"))]
type ReadAnswer<'a> = &'a mut (dyn FnMut(&HttpResponse) -> Result<()> + Send);
#[cfg(target_arch = "wasm32")]
type ReadAnswer<'a> = &'a mut dyn FnMut(&HttpResponse) -> Result<()>;

/// A client of one CLM server. Clones share the session (token), the learned job durations and
/// the diagnostics, and the operations in flight (concurrent waits of one task poll it once,
/// concurrent identical status requests are sent once).
#[derive(Debug, Clone)]
pub struct ClmClient {
    /// Shared, not copied, by clones (every JS `Job` handle holds one).
    config: Arc<ClmConfig>,
    /// `base_url` with a trailing slash, so [`resolve`] keeps its last segment (a gateway prefix).
    base: Arc<str>,
    state: Arc<Mutex<ClmState>>,
    /// Durations of finished tasks, by operation.
    learner: Arc<Mutex<DurationLearner>>,
    requests: Arc<AtomicU64>,
    /// Waits in flight, by task id.
    waits: Arc<Flights<JobSnapshot>>,
    /// Status requests in flight, by task id and long-poll wait.
    polls: Arc<Flights<(JobSnapshot, bool)>>,
}

impl ClmClient {
    /// A client for `config`; nothing is sent until the first call.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the base URL is not an absolute `http(s)` URL, or carries
    /// a query or fragment.
    pub fn new(config: ClmConfig) -> Result<Self> {
        let base = base_of(&config.base_url)?;
        Ok(ClmClient {
            config: Arc::new(config),
            base: base.into(),
            state: Arc::default(),
            learner: Arc::default(),
            requests: Arc::default(),
            waits: Arc::default(),
            polls: Arc::default(),
        })
    }

    /// The configuration this client uses.
    pub fn config(&self) -> &ClmConfig {
        &self.config
    }

    /// The `BMC-Transaction-ID` of the last answer any clone of this client received, to quote
    /// when reporting a problem to the CLM administrators (it matches the server's logs and a
    /// Task's `transactionID`).
    pub fn last_transaction_id(&self) -> Option<String> {
        self.state().transaction_id.clone()
    }

    /// How many times this client (and its clones) logged in: more than once means tokens
    /// expired (or [`ClmClient::logout`] was called) and were renewed on the fly.
    pub fn logins(&self) -> u64 {
        self.state().logins
    }

    /// HTTP requests this client (and its clones) sent so far, retries and logins included.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn state(&self) -> MutexGuard<'_, ClmState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `{base}/{path}`; `path` is one of ours or checked by [`ClmClient::operation`].
    fn url(&self, path: &str) -> Result<String> {
        resolve(&self.base, path).map_err(|error| Error::InvalidArgument(error.to_string()))
    }

    /// Sends one request, counting it and noting the answer's transaction id.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = transport::send(request).await?;
        if let Some(id) = transaction_id(&response.headers) {
            self.state().transaction_id = Some(id);
        }
        Ok(response)
    }

    /// Logs in with the configured credentials and keeps the token (also done on demand by
    /// every call, and again once when a token has expired).
    ///
    /// # Errors
    /// [`Error::LoginFailed`] when the server refuses the credentials (401); a transport or
    /// protocol error after the retry budget (a login answer without `Authentication-Token`,
    /// e.g. a browser not allowed to read it by CORS, is a [`ProtocolError::MissingField`]).
    pub async fn login(&self) -> Result<()> {
        let mut retries = driver::Retries::new(self.config.max_retries);
        loop {
            let attempt = self.login_once().await?;
            if let Some(()) = retries.after(attempt, &mut |_, _, _| {}).await? {
                return Ok(());
            }
        }
    }

    /// One login request; logins may be repeated freely (each makes a new token).
    async fn login_once(&self) -> Result<Attempt<()>> {
        let body = json::to_text(&LoginRequest::new(&self.config.username, &self.config.password).to_json());
        let request = HttpRequest {
            method: Method::Post,
            url: self.url("csm/login")?,
            headers: vec![("Content-Type".into(), CONTENT_TYPE.into()), ("Accept".into(), "application/json".into())],
            body: Some(body),
            timeout: Some(self.config.request_timeout),
        };
        let response = match self.send(request).await {
            Ok(response) => response,
            Err(error) => return Ok(Attempt::Failed(error, None)),
        };
        if response.status == 401 {
            let error = match refusal(&response) {
                Error::Api(api) => api,
                other => ApiError { code: 401, cs_error_code: None, text: other.to_string() },
            };
            return Err(Error::LoginFailed(error));
        }
        if !(200..300).contains(&response.status) {
            return Ok(Attempt::Failed(refusal(&response), driver::retry_after(&response)));
        }
        // A missing or unusable token header is a configuration problem (CORS, a proxy), which
        // another try does not fix.
        let token = read_login_token(&response.headers)?;
        let mut state = self.state();
        state.token = Some(token);
        state.logins += 1;
        Ok(Attempt::Done(()))
    }

    /// Ends the session (a no-op without one). A token the server already forgot (401) counts
    /// as ended.
    ///
    /// # Errors
    /// A transport error or the server's refusal; the local token is forgotten either way, so
    /// the next call logs in again.
    pub async fn logout(&self) -> Result<()> {
        let Some(token) = self.state().token.take() else { return Ok(()) };
        let request = HttpRequest {
            method: Method::Post,
            url: self.url("csm/logout")?,
            headers: vec![
                (AUTH_TOKEN_HEADER.into(), token.as_str().into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: None,
            timeout: Some(self.config.request_timeout),
        };
        let response = self.send(request).await?;
        if (200..300).contains(&response.status) || response.status == 401 {
            return Ok(());
        }
        Err(refusal(&response))
    }

    /// Sends one authenticated request and reads a 2xx answer with `parse`; refusals become
    /// [`Error::Api`] (code = `errorID`, or the HTTP status when that is not a number).
    ///
    /// Logs in first when there is no token, and once more when the token was refused (it
    /// expired or was ended elsewhere). Failures are retried within
    /// [`ClmConfig::max_retries`] as `replay` allows, after the server's `Retry-After` or a
    /// short backoff, each delay reported to `on_delay`.
    async fn exchange<T: MaybeSend>(
        &self,
        call: &Call,
        on_delay: OnDelay<'_>,
        parse: impl Fn(&HttpResponse) -> Result<T> + MaybeSend,
    ) -> Result<T> {
        let mut answer = None;
        let read = &mut answer;
        self.exchange_read(call, on_delay, &mut move |response| {
            *read = Some(parse(response)?);
            Ok(())
        })
        .await?;
        answer.ok_or_else(|| Error::Protocol(ProtocolError::UnexpectedShape("the answer was not read".into())))
    }

    /// [`ClmClient::exchange`] with the answer read by `read`: one copy of the exchange for
    /// every kind of answer (the package's size).
    async fn exchange_read(&self, call: &Call, on_delay: OnDelay<'_>, read: ReadAnswer<'_>) -> Result<()> {
        let mut logged_in_now = false;
        let mut retries = driver::Retries::new(self.config.max_retries);
        loop {
            let attempt: Result<Attempt<_>> = async {
                let token = self.state().token.clone();
                let Some(token) = token else {
                    return match self.login_once().await? {
                        Attempt::Done(()) => {
                            logged_in_now = true;
                            Ok(Attempt::Again)
                        }
                        Attempt::Again => Ok(Attempt::Again),
                        Attempt::Failed(error, retry_after) => Ok(Attempt::Failed(error, retry_after)),
                    };
                };
                let mut headers = vec![
                    (AUTH_TOKEN_HEADER.to_owned(), token.as_str().to_owned()),
                    ("Accept".to_owned(), "application/json".to_owned()),
                ];
                if call.body.is_some() {
                    headers.push(("Content-Type".into(), CONTENT_TYPE.into()));
                }
                headers.extend_from_slice(&call.headers);
                let request = HttpRequest {
                    method: call.method,
                    url: call.url.clone(),
                    headers,
                    body: call.body.clone(),
                    timeout: Some(transport::answer_timeout(self.config.request_timeout, call.hold_secs)),
                };
                let response = match self.send(request).await {
                    Ok(response) => response,
                    Err(error) if call.replay.may_retry(None) => return Ok(Attempt::Failed(error, None)),
                    Err(error) => return Err(error),
                };
                if response.status == 401 && !logged_in_now {
                    // The token expired or was ended: log in again, once. Only the token sent is
                    // dropped, in case a clone already replaced it.
                    let mut state = self.state();
                    if state.token.as_ref() == Some(&token) {
                        state.token = None;
                    }
                    return Ok(Attempt::Again);
                }
                let outcome =
                    if (200..300).contains(&response.status) { read(&response) } else { Err(refusal(&response)) };
                match outcome {
                    Ok(value) => Ok(Attempt::Done(value)),
                    Err(error) if call.replay.may_retry(Some(response.status)) => {
                        Ok(Attempt::Failed(error, driver::retry_after(&response)))
                    }
                    Err(error) => Err(error),
                }
            }
            .await;
            if let Some(value) = retries.after(attempt?, on_delay).await? {
                return Ok(value);
            }
        }
    }

    /// An operation path's URL, command name and object id (see [`operation`]).
    fn operation(&self, operation_path: &str) -> Result<(String, String, Option<String>)> {
        operation(&self.base, operation_path)
    }

    /// The handle of an operation's Task.
    fn submitted(
        task: &Task,
        fallback_command: &str,
        resource_id: Option<String>,
        at: SystemTime,
    ) -> Result<SubmittedJob> {
        // The id goes into later URLs: one that is not a plain path segment is refused here.
        validate_task_id(&task.task_internal_uuid)?;
        Ok(SubmittedJob {
            job_id: task.task_internal_uuid.clone(),
            resource_id,
            command: task.command().unwrap_or_else(|| fallback_command.to_owned()),
            submitted_at: Some(at),
        })
    }

    /// Starts an operation asynchronously (`"timeout": 0`): resolves with the handle of its
    /// Task as soon as the server has accepted it.
    ///
    /// `operation_path` is below `csm/`, e.g. `ComputeContainer`, `ComputeContainer/{guid}/stop`
    /// or `staticpool/search`; `body` is the operation's JSON object (`null` for none), whose
    /// `timeout` is replaced. `resource_id` is the object's guid when the path names it; the
    /// command is the Task's `className.operationName` (e.g. `ComputeContainer.create`).
    ///
    /// Failures that leave open whether the server ran the operation (no answer, a gateway
    /// error, a damaged answer) are not retried: CLM has no idempotency key, and a second
    /// send could create a second object.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unusable path or a body that is not an object;
    /// [`Error::Api`] when the server refuses the operation; [`Error::LoginFailed`]; a
    /// [`ProtocolError`] when the answer is not a Task; a transport error.
    pub async fn submit(&self, operation_path: &str, body: Value) -> Result<SubmittedJob> {
        let (url, fallback_command, resource_id) = self.operation(operation_path)?;
        let body = operation_body(body, Timeout::Async)?;
        let answer = self.exchange(&Call::operation(url, body), &mut |_, _, _| {}, parse_operation).await?;
        match answer {
            Answer::Task(task) => Self::submitted(&task, &fallback_command, resource_id, SystemTime::now()),
            Answer::Objects(_) => Err(ProtocolError::UnexpectedShape(
                "the server answered an asynchronous operation (timeout 0) without a Task".into(),
            )
            .into()),
        }
    }

    /// Runs an operation and resolves when it has finished: the server is asked to hold the
    /// request up to `wait_secs` (`"timeout": N`; 0 answers at once). When the operation
    /// finished in that time, the answer is its cloud objects and the snapshot resolves at
    /// once, without a single status request: `Succeeded`, with `result` and `raw` the objects
    /// as CLM answered them (a JSON array, the same shape a polled task's inline results
    /// have) and an empty `job_id` (no Task was shown). Otherwise the answer is the Task, which
    /// is reported to `on_event` and then waited for as [`ClmClient::wait_job`] does.
    ///
    /// Retries are limited as for [`ClmClient::submit`].
    ///
    /// # Errors
    /// As [`ClmClient::submit`] and [`ClmClient::wait_job`].
    pub async fn run(
        &self,
        operation_path: &str,
        body: Value,
        wait_secs: u32,
        mut on_event: impl FnMut(WaitEvent<'_>) + MaybeSend,
    ) -> Result<JobSnapshot> {
        let (url, fallback_command, resource_id) = self.operation(operation_path)?;
        let timeout = if wait_secs == 0 { Timeout::Async } else { Timeout::SyncFor(wait_secs) };
        let body = operation_body(body, timeout)?;
        let sent_at = SystemTime::now();
        let call = Call { hold_secs: Some(wait_secs), ..Call::operation(url, body) };
        let answer = self.exchange(&call, &mut driver::delays_from(&mut on_event), parse_operation).await?;
        let task = match answer {
            Answer::Task(task) => task,
            Answer::Objects(objects) => {
                let objects = Value::Array(objects);
                return Ok(JobSnapshot {
                    job_id: String::new(),
                    state: JobState::Succeeded,
                    progress: None,
                    result_code: None,
                    result: Some(objects.clone()),
                    error: None,
                    command: None,
                    created: None,
                    completed: None,
                    raw: objects,
                });
            }
        };
        // The job started when the request went out: the server held it `wait_secs` already.
        let job = Self::submitted(&task, &fallback_command, resource_id, sent_at)?;
        let snapshot = task.to_snapshot();
        on_event(WaitEvent::Status(&snapshot));
        match snapshot.state {
            JobState::Pending => self.wait_job(&job, on_event).await,
            JobState::Succeeded => Ok(snapshot),
            JobState::Failed | JobState::Cancelled => Err(driver::job_failed(&job.job_id, &snapshot)),
        }
    }

    /// Asks once for the task's status (transient failures retried).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an id that cannot be a task id; [`Error::Api`] (404) for
    /// a task the server does not know or shows to someone else; a transport/protocol error.
    pub async fn poll(&self, job_id: &str) -> Result<JobSnapshot> {
        Ok(driver::shared_poll(self, job_id, None, &mut |_, _, _| {}).await?.0)
    }

    /// Polls until the task finishes, calling `on_update` with every answer. Resolves with the
    /// final snapshot on success.
    ///
    /// # Errors
    /// As [`ClmClient::wait_job`].
    pub async fn wait(&self, job_id: &str, mut on_update: impl FnMut(&JobSnapshot) + MaybeSend) -> Result<JobSnapshot> {
        driver::wait_by_id(self, &self.waits, job_id, &mut on_update).await
    }

    /// Polls `job`'s task until it finishes, reporting every status and every chosen delay
    /// with its reason, exactly as [`JobClient::wait_job`](super::JobClient::wait_job) does:
    /// long-polls (`Prefer: wait=N`) while the server honours them, else the policy's backoff
    /// from the duration learned for the command. A succeeded snapshot's `result` holds the
    /// task's inline results (e.g. `[ComputeContainer]`); [`ClmClient::result`] reads them too.
    ///
    /// # Errors
    /// [`Error::JobFailed`] with the task's `errors` when it fails or is cancelled,
    /// [`Error::WaitTimedOut`] when the policy's deadline passes (the task may still run), or a
    /// transport/protocol error after the retry budget.
    pub async fn wait_job(
        &self,
        job: &SubmittedJob,
        mut on_event: impl FnMut(WaitEvent<'_>) + MaybeSend,
    ) -> Result<JobSnapshot> {
        driver::shared_wait(self, &self.waits, job, &mut on_event).await
    }

    /// The result of a finished task (`GET csm/task/{id}/result`): a search's `SearchResults`
    /// page (`page` = `(pageNo, pageSize)`, pages counted from 0, size 0 = all rows; `None`
    /// for the page the operation asked for), the objects another operation produced, or the
    /// `CloudError`s of a failed task.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unusable id; [`Error::Api`] when the task is unknown
    /// (404) or not finished (409); a transport/protocol error.
    pub async fn result(&self, job_id: &str, page: Option<(u32, u32)>) -> Result<TaskResult> {
        let mut url = self.url(&result_path(job_id).map_err(|error| Error::InvalidArgument(error.to_string()))?)?;
        if let Some((page_no, page_size)) = page {
            url.push_str(&format!("?pageNo={page_no}&pageSize={page_size}"));
        }
        self.exchange(&Call::get(url), &mut |_, _, _| {}, |response| Ok(parse_task_result(&response.body)?)).await
    }

    /// Reads objects with `GET csm/{path}` (e.g. `ComputeContainer/{guid}`), the answer's
    /// array as sent (a Task counts as an object here).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unusable path; [`Error::Api`] when the server refuses
    /// (404 for an unknown object); a transport/protocol error.
    pub async fn get(&self, path: &str) -> Result<Vec<Value>> {
        let (url, _, _) = self.operation(path)?;
        let answer = self.exchange(&Call::get(url), &mut |_, _, _| {}, parse_operation).await?;
        Ok(match answer {
            Answer::Task(task) => vec![task.raw],
            Answer::Objects(objects) => objects,
        })
    }
}

impl JobSource for ClmClient {
    fn policy(&self) -> &PollPolicy {
        &self.config.policy
    }

    fn long_poll_secs(&self) -> Option<u32> {
        self.config.long_poll_secs
    }

    fn learner(&self) -> &Mutex<DurationLearner> {
        &self.learner
    }

    fn polls(&self) -> &Flights<(JobSnapshot, bool)> {
        &self.polls
    }

    fn poll_once<'a>(
        &'a self,
        job_id: &'a str,
        wait_secs: Option<u32>,
        on_delay: OnDelay<'a>,
    ) -> driver::Boxed<'a, Result<(JobSnapshot, bool)>> {
        Box::pin(async move {
            let url = self.url(&status_path(job_id).map_err(|error| Error::InvalidArgument(error.to_string()))?)?;
            self.exchange(&Call::status(url, wait_secs), on_delay, |response| {
                Ok((parse_task_status(&response.body)?.to_snapshot(), response.wait_applied()))
            })
            .await
        })
    }

    fn poll_status<'a>(
        &'a self,
        job_id: &'a str,
        wait_secs: Option<u32>,
        on_delay: OnDelay<'a>,
    ) -> driver::Boxed<'a, Result<(JobSnapshot, bool)>> {
        Box::pin(driver::shared_poll(self, job_id, wait_secs, on_delay))
    }
}

/// The configured server root as every URL is resolved below it (with a trailing `/`).
///
/// # Errors
/// [`Error::InvalidArgument`] unless it is an absolute http(s) URL without query or fragment.
pub(crate) fn base_of(base_url: &str) -> Result<String> {
    let url = base_url.trim();
    if url.contains(['?', '#']) {
        return Err(Error::InvalidArgument(format!("base_url must not carry a query or fragment: \"{url}\"")));
    }
    let base = if url.ends_with('/') { url.to_owned() } else { format!("{url}/") };
    resolve(&base, "csm/login")
        .map_err(|_| Error::InvalidArgument(format!("base_url must be an absolute http(s) URL, got \"{base_url}\"")))?;
    Ok(base)
}

/// An operation path below `csm/` (a leading `/` or `csm/` is accepted too) on the server at
/// `base`: its URL, a command name for it (used when the Task names none), and the id of the
/// object it acts on when the path names one (`Class/{guid}/operation`).
pub(crate) fn operation(base: &str, operation_path: &str) -> Result<(String, String, Option<String>)> {
    let trimmed = operation_path.trim().trim_start_matches('/');
    let below = trimmed.strip_prefix("csm/").unwrap_or(trimmed).trim_end_matches('/');
    if below.is_empty() {
        return Err(Error::InvalidArgument("operation path is empty".into()));
    }
    let url = resolve(base, &format!("csm/{below}")).map_err(|error| Error::InvalidArgument(error.to_string()))?;
    // The command names what is done, not to which object: it keys the learned durations.
    let segments: Vec<&str> = below.split('/').collect();
    Ok(match segments.as_slice() {
        [class, id, operation] => (url, format!("{class}.{operation}"), Some((*id).to_owned())),
        _ => (url, segments.join("."), None),
    })
}

/// The JSON text of an operation body in `timeout` mode.
pub(crate) fn operation_body(body: Value, timeout: Timeout) -> Result<String> {
    let body = OperationBody::from_json(body, timeout)
        .map_err(|_| Error::InvalidArgument("an operation body must be a JSON object (or null)".into()))?;
    Ok(json::to_text(&body.to_json()))
}

/// What a 2xx operation (or object) answer holds.
pub(crate) enum Answer {
    /// A single Task: the operation runs on.
    Task(Box<Task>),
    /// Cloud objects: the operation's result (or the objects read).
    Objects(Vec<Value>),
}

/// An operation's 2xx answer; `CloudError`s in it are the server's refusal.
pub(crate) fn parse_operation(response: &HttpResponse) -> Result<Answer> {
    match parse_response(&response.body)? {
        ClmResponse::Task(task) => Ok(Answer::Task(task)),
        ClmResponse::Objects(objects) => Ok(Answer::Objects(objects)),
        ClmResponse::Errors(errors) => Err(Error::Api(api_error(&errors, response.status))),
    }
}

/// A non-2xx answer as an error: its `CloudError`s when the body holds them, else the status.
pub(crate) fn refusal(response: &HttpResponse) -> Error {
    match parse_response(&response.body) {
        Ok(ClmResponse::Errors(errors)) if !errors.is_empty() => Error::Api(api_error(&errors, response.status)),
        _ => driver::status_error(response).into(),
    }
}

/// One error from a `CloudError` list: the first one's code (the HTTP `status` when its
/// `errorID` is not a number, so refusals stay classifiable), every cause in the text.
fn api_error(errors: &[CloudError], status: u16) -> ApiError {
    let mut all = errors.iter().map(CloudError::to_api_error);
    let Some(mut first) = all.next() else {
        return ApiError { code: i64::from(status), cs_error_code: None, text: "CLM error".into() };
    };
    if first.code == 0 {
        first.code = i64::from(status);
    }
    for other in all {
        first.text.push_str("; ");
        first.text.push_str(&other.text);
    }
    first
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn client(base: &str) -> ClmClient {
        match ClmClient::new(ClmConfig::new(base, "alice", "s3cret-pw")) {
            Ok(client) => client,
            Err(error) => panic!("{base}: {error}"),
        }
    }

    fn response(status: u16, body: Value) -> HttpResponse {
        HttpResponse { status, headers: Vec::new(), body: body.to_string().into_bytes() }
    }

    #[test]
    fn config_debug_hides_the_password() {
        let debug = format!("{:?}", client("http://h:8080"));
        assert!(debug.contains("alice") && !debug.contains("s3cret-pw"), "{debug}");
    }

    #[test]
    fn base_urls_keep_a_gateway_prefix_and_bad_ones_are_refused() {
        assert_eq!(client("http://h:8080").url("csm/login").ok().as_deref(), Some("http://h:8080/csm/login"));
        assert_eq!(client(" http://h:8080/ ").url("csm/login").ok().as_deref(), Some("http://h:8080/csm/login"));
        // Without the trailing slash a plain RFC 3986 resolution would drop `clm`.
        assert_eq!(client("https://gw/clm").url("csm/login").ok().as_deref(), Some("https://gw/clm/csm/login"));
        for bad in ["ftp://h", "h:8080", "", "http://h/?x=1", "http://h/#top"] {
            let result = ClmClient::new(ClmConfig::new(bad, "u", "p"));
            assert!(matches!(result, Err(Error::InvalidArgument(_))), "{bad:?}");
        }
    }

    #[test]
    fn operation_paths_name_url_command_and_object() {
        let client = client("http://h");
        let op = |path: &str| client.operation(path).map_err(|e| e.to_string());
        assert_eq!(
            op("ComputeContainer"),
            Ok(("http://h/csm/ComputeContainer".into(), "ComputeContainer".into(), None))
        );
        assert_eq!(
            op("/csm/ComputeContainer/g-1/start"),
            Ok(("http://h/csm/ComputeContainer/g-1/start".into(), "ComputeContainer.start".into(), Some("g-1".into())))
        );
        assert_eq!(op("staticpool/search/").map(|(_, c, id)| (c, id)), Ok(("staticpool.search".into(), None)));
        for bad in ["", "/", "csm/", "../login", "ComputeContainer?x=1", "a/./b", "http://evil/x", "a b"] {
            assert!(matches!(client.operation(bad), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
    }

    #[test]
    fn refusals_become_typed_errors() {
        let body = json!([{"cloudClass": crate::protocol::clm::CLOUD_ERROR_CLASS, "errorID": "404",
            "errorCause": "Task t not found"}]);
        assert!(
            matches!(refusal(&response(404, body)), Error::Api(ApiError { code: 404, ref text, .. }) if text == "Task t not found")
        );
        // A textual errorID keeps the HTTP status as the code (so 429/503 stay retryable).
        let textual = json!([
            {"cloudClass": crate::protocol::clm::CLOUD_ERROR_CLASS, "errorID": "CSM-7", "errorCause": "busy"},
            {"cloudClass": crate::protocol::clm::CLOUD_ERROR_CLASS, "errorCause": "try later"}
        ]);
        let Error::Api(error) = refusal(&response(503, textual)) else { panic!("not an Api error") };
        assert_eq!((error.code, error.text.as_str()), (503, "busy (CSM-7); try later"));
        // A proxy's page is a status error.
        let page = HttpResponse { status: 502, headers: Vec::new(), body: b"<html>Bad Gateway</html>".to_vec() };
        assert!(matches!(
            refusal(&page),
            Error::Transport(crate::transport::TransportError::Status { status: 502, .. })
        ));
        // CloudErrors in a 2xx operation answer are a refusal too.
        let ok = json!([{"cloudClass": crate::protocol::clm::CLOUD_ERROR_CLASS, "errorID": "400", "errorCause": "x"}]);
        assert!(matches!(parse_operation(&response(200, ok)), Err(Error::Api(ApiError { code: 400, .. }))));
        assert!(matches!(parse_operation(&response(200, json!([]))), Ok(Answer::Objects(v)) if v.is_empty()));
    }

    #[test]
    fn operations_are_repeated_only_after_refusals() {
        assert!(Replay::Safe.may_retry(None) && Replay::Safe.may_retry(Some(502)));
        assert!(Replay::RefusalsOnly.may_retry(Some(429)) && Replay::RefusalsOnly.may_retry(Some(503)));
        for status in [None, Some(200), Some(500), Some(502), Some(504)] {
            assert!(!Replay::RefusalsOnly.may_retry(status), "{status:?}");
        }
    }

    #[test]
    fn operation_bodies_get_the_timeout_mode() {
        let parsed = |text: Result<String>| text.ok().and_then(|t| serde_json::from_str::<Value>(&t).ok());
        assert_eq!(
            parsed(operation_body(json!({"name": "a", "timeout": 9}), Timeout::Async)),
            Some(json!({"name": "a", "timeout": 0}))
        );
        assert_eq!(parsed(operation_body(Value::Null, Timeout::SyncFor(5))), Some(json!({"timeout": 5})));
        assert!(matches!(operation_body(json!([1]), Timeout::Async), Err(Error::InvalidArgument(_))));
    }
}
