//! The Rust API: submit a CloudStack command, poll its job, wait for it. Drives the sans-IO
//! [`Waiter`](crate::engine::Waiter) with the platform's transport and timer, and keeps the
//! session (login, cookies, one re-login when a session expires). [`ClmClient`] does the same
//! for BMC CLM; the retry and wait loops both use live in `driver`.

pub(crate) mod clm;
mod cookies;
pub(crate) mod driver;
mod share;
mod sweep;
mod watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::engine::{
    classify, first_listing_since, retry_after_from_text, DelayReason, DurationLearner, Failure, ListingPlan, Observed,
    Pacer, PollPolicy,
};
use crate::error::{Error, Result};
use crate::protocol::cloudstack::{self, session, Auth, Envelope, LoginError, Request};
use crate::protocol::{Format, JobSnapshot, ProtocolError};
use crate::time::{Duration, Instant, SystemTime};
use crate::transport::{self, HttpRequest, HttpResponse, Method};
pub use clm::{ClmClient, ClmConfig};
use cookies::CookieJar;
use driver::{status_error, Attempt, JobSource, OnDelay};
use share::Flights;
use sweep::Sweeps;

/// `Send` natively, nothing in WebAssembly: what the clients ask of the callbacks they take.
/// Natively every future of [`JobClient`] and [`ClmClient`] is then `Send` (a tokio caller can
/// `spawn` a wait); in a browser, where everything runs on one thread, callbacks may hold
/// JavaScript values, which are not `Send`.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}

/// `Send` natively, nothing in WebAssembly: what the clients ask of the callbacks they take.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// `Sync` natively, nothing in WebAssembly: what a wait asks of the client it borrows, so that
/// natively the wait is `Send`.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) trait MaybeSync: Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Sync + ?Sized> MaybeSync for T {}
#[cfg(target_arch = "wasm32")]
pub(crate) trait MaybeSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSync for T {}

/// API key and secret key for signed requests.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyCredentials {
    /// The public API key.
    pub api_key: String,
    /// The secret key; signs requests, never sent.
    pub secret_key: String,
}

impl std::fmt::Debug for ApiKeyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCredentials").field("api_key", &self.api_key).finish_non_exhaustive()
    }
}

/// User name and password for a session login.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    /// User name.
    pub username: String,
    /// Password; sent only in the login POST body.
    pub password: String,
    /// Domain path (`/` or empty for ROOT).
    pub domain: String,
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("username", &self.username)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// How the client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// Unsigned requests (a server that runs every call as one user).
    #[default]
    None,
    /// Every request signed with an API key.
    ApiKey(ApiKeyCredentials),
    /// A session: `login` once, then the `sessionkey` and the session cookies.
    Session(SessionCredentials),
}

/// How long an answer may take, by default, beyond the time the server was asked to hold the
/// request: far above any answer a working server is slow with, well below "forever".
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to talk to a CloudStack endpoint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API URL, e.g. `http://localhost:8080/client/api`.
    pub endpoint: String,
    /// How to authenticate.
    pub credentials: Credentials,
    /// JSON or XML responses.
    pub format: Format,
    /// When to poll and for how long.
    pub policy: PollPolicy,
    /// Ask the server to hold status requests up to this long (RFC 7240 `Prefer: wait=N`);
    /// servers that ignore it are polled by `policy` as usual.
    pub long_poll_secs: Option<u32>,
    /// Transient failures (network, 429, 502/503/504, damaged bodies) tolerated in a row per call.
    pub max_retries: u32,
    /// Per command (case-insensitive): a fixed delay between submit and the first poll, instead
    /// of the learned or the policy's first delay (`deployVirtualMachine` → 30 s, say).
    pub initial_delays: Vec<(String, Duration)>,
    /// Polls of different jobs waited for at once go out as one shared `listAsyncJobs` when
    /// the server does not hold requests (on by default; off, each wait polls its own job).
    pub share_listings: bool,
    /// How long an answer may take beyond the time the server was asked to hold the request
    /// (`long_poll_secs`); a request unanswered by then fails as a network error and is retried
    /// like one.
    pub request_timeout: Duration,
}

impl ClientConfig {
    /// A JSON, unsigned configuration with the default poll policy and 20 s long-polls.
    pub fn new(endpoint: impl Into<String>) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            credentials: Credentials::None,
            format: Format::Json,
            policy: PollPolicy::default(),
            long_poll_secs: Some(20),
            max_retries: 10,
            initial_delays: Vec::new(),
            share_listings: true,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The answer to an async command: the job's handle, available at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedJob {
    /// The job id.
    pub job_id: String,
    /// The id of the resource the command creates, when it creates one.
    pub resource_id: Option<String>,
    /// The command that started the job.
    pub command: String,
    /// When the submit was accepted: what learned durations, progress estimates and a watch's
    /// first listing count from. Wall-clock time, not an [`Instant`], so a job handed to another
    /// page or process keeps it (a browser's `Instant`s start at page load).
    pub submitted_at: Option<SystemTime>,
}

/// What a wait reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitEvent<'a> {
    /// A status answer.
    Status(&'a JobSnapshot),
    /// The next request waits `delay` for `reason` (`retries` transient failures so far).
    Delay {
        /// How long until the next request.
        delay: Duration,
        /// Why that long.
        reason: DelayReason,
        /// Transient failures in a row before this delay.
        retries: u32,
    },
}

#[derive(Default)]
struct SessionState {
    session_key: Option<String>,
    jar: CookieJar,
    /// A call is logging in: the others wait for its session instead of logging in too (each
    /// login replaces the cookies, so concurrent logins would refuse each other's requests).
    logging_in: bool,
    /// Spacing of requests once the server has throttled one.
    pacer: Pacer,
    /// Whether `listAsyncJobs` is asked for in one request or by pages.
    listing: ListingPlan,
}

/// Marks the login in flight; clears the mark however the login ends (also when its future is
/// dropped, e.g. by a JavaScript `AbortSignal`).
struct LoginInFlight<'a>(&'a JobClient);

impl Drop for LoginInFlight<'_> {
    fn drop(&mut self) {
        self.0.session().logging_in = false;
    }
}

// Hand-written: the session key and the session cookies are credentials, so `{:?}` of a client
// shows only whether there is a session.
impl std::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionState")
            .field("logged_in", &self.session_key.is_some())
            .field("cookies", &self.jar.header().is_some())
            .finish()
    }
}

/// A client of one CloudStack endpoint. Clones share the session, the learned durations and
/// the operations in flight: concurrent waits of one job poll it once, concurrent identical
/// status requests are sent once.
#[derive(Debug, Clone)]
pub struct JobClient {
    /// Shared, not copied, by clones (every JS `Job` handle holds one).
    config: Arc<ClientConfig>,
    session: Arc<Mutex<SessionState>>,
    /// Durations of finished jobs, by command.
    learner: Arc<Mutex<DurationLearner>>,
    requests: Arc<AtomicU64>,
    /// Waits in flight, by job id.
    waits: Arc<Flights<JobSnapshot>>,
    /// Status requests in flight, by job id and long-poll wait.
    polls: Arc<Flights<(JobSnapshot, bool)>>,
    /// Waiting jobs whose polls may go out as one listing (servers that do not hold requests).
    sweeps: Arc<Sweeps>,
    /// Such listings in flight, by `startdate`: polls that come due meanwhile share them.
    listings: Arc<Flights<Vec<JobSnapshot>>>,
}

impl JobClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the endpoint is not an `http(s)://` URL, or XML
    /// responses are asked of a build without the `xml` feature.
    pub fn new(config: ClientConfig) -> Result<Self> {
        if !(config.endpoint.starts_with("http://") || config.endpoint.starts_with("https://")) {
            return Err(Error::InvalidArgument(format!(
                "endpoint must be an http(s) URL, got \"{}\"",
                config.endpoint
            )));
        }
        #[cfg(not(feature = "xml"))]
        if config.format == Format::Xml {
            return Err(Error::InvalidArgument(crate::protocol::XML_FEATURE_OFF.into()));
        }
        Ok(JobClient {
            config: Arc::new(config),
            session: Arc::default(),
            learner: Arc::default(),
            requests: Arc::default(),
            waits: Arc::default(),
            polls: Arc::default(),
            sweeps: Arc::default(),
            listings: Arc::default(),
        })
    }

    /// The configuration this client uses.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// HTTP requests this client (and its clones) sent so far, retries and logins included.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn session(&self) -> MutexGuard<'_, SessionState> {
        self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn auth(&self) -> Auth {
        match &self.config.credentials {
            Credentials::None => Auth::None,
            Credentials::ApiKey(creds) => Auth::ApiKey {
                api_key: creds.api_key.clone(),
                secret_key: creds.secret_key.clone(),
                expires_in_secs: Some(600),
            },
            Credentials::Session(_) => match &self.session().session_key {
                Some(key) => Auth::Session { session_key: key.clone() },
                None => Auth::None,
            },
        }
    }

    /// POSTs a form body (keeping arguments and signatures out of URLs and server logs), with
    /// the session cookies where the platform does not keep them itself. `wait_secs` asks the
    /// server to hold it (`Prefer: wait`), and the answer is awaited that much longer than
    /// `request_timeout`.
    ///
    /// Once the server has throttled a request (429), every request waits for its slot in the
    /// spacing learned from that refusal ([`Pacer`]), so throttling refuses once, not once per
    /// window.
    async fn post(&self, body: String, wait_secs: Option<u32>) -> Result<HttpResponse> {
        let slot = self.session().pacer.reserve(Instant::now());
        let wait = slot.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            transport::sleep(wait).await;
        }
        let mut headers = vec![("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
        if let Some(cookies) = self.session().jar.header() {
            headers.push(("Cookie".into(), cookies));
        }
        headers.extend(transport::prefer_wait(wait_secs));
        let request = HttpRequest {
            method: Method::Post,
            url: self.config.endpoint.clone(),
            headers,
            body: Some(body),
            timeout: Some(transport::answer_timeout(self.config.request_timeout, wait_secs)),
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = transport::send(request).await?;
        let mut session = self.session();
        session.jar.absorb(response.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        if response.status == 429 {
            // CloudStack states the wait in milliseconds in its text; a header only in seconds.
            let text = String::from_utf8_lossy(&response.body);
            let wait = retry_after_from_text(&text).or_else(|| driver::retry_after(&response));
            session.pacer.refused(Instant::now(), slot, wait.unwrap_or(Duration::from_secs(1)));
        } else {
            session.pacer.admitted(slot);
        }
        drop(session);
        Ok(response)
    }

    /// Logs in with the session credentials (also done on demand by every call). Transient
    /// failures (network, throttling, a damaged answer) are retried within
    /// [`ClientConfig::max_retries`]; a refusal of the credentials is not.
    ///
    /// # Errors
    /// [`Error::LoginFailed`] when the server refuses the credentials, [`Error::InvalidArgument`]
    /// without session credentials, or a transport/protocol error after the retry budget.
    pub async fn login(&self) -> Result<()> {
        let mut retries = driver::Retries::new(self.config.max_retries);
        loop {
            let attempt = self.login_once().await?;
            if let Some(()) = retries.after(attempt, &mut |_, _, _| {}).await? {
                return Ok(());
            }
        }
    }

    /// Makes sure there is a session: `None` when there is one (perhaps after waiting for
    /// another call's login), else the outcome of this call's own login.
    async fn ensure_session(&self) -> Result<Option<Attempt<()>>> {
        loop {
            {
                let mut session = self.session();
                if session.session_key.is_some() {
                    return Ok(None);
                }
                if !session.logging_in {
                    session.logging_in = true;
                    break;
                }
            }
            transport::sleep(Duration::from_millis(10)).await;
        }
        let _in_flight = LoginInFlight(self);
        self.login_once().await.map(Some)
    }

    /// One login request: done, or a failure for [`driver::Retries`] to judge (with the
    /// server's `Retry-After`); refused credentials end it at once.
    async fn login_once(&self) -> Result<Attempt<()>> {
        let Credentials::Session(creds) = &self.config.credentials else {
            return Err(Error::InvalidArgument("login needs session credentials (username, password)".into()));
        };
        self.session().jar.clear();
        let body = session::login_body(&creds.username, &creds.password, &creds.domain, self.config.format);
        let response = match self.post(body, None).await {
            Ok(response) => response,
            Err(error) => return Ok(Attempt::Failed(error, None)),
        };
        let retry_after = driver::retry_after(&response);
        let envelope = match decode(&response, self.config.format) {
            Ok(envelope) => envelope,
            // Throttling (429) or an unavailable server (503) is no verdict on the credentials.
            Err(Error::Api(error)) if classify(Observed::ApiCode(error.code)) == Failure::Permanent => {
                return Err(Error::LoginFailed(error));
            }
            Err(error) => return Ok(Attempt::Failed(error, retry_after)),
        };
        match session::parse_login(&envelope) {
            Ok(login) => {
                self.session().session_key = Some(login.session_key);
                Ok(Attempt::Done(()))
            }
            Err(LoginError::Refused(error)) => Err(Error::LoginFailed(error)),
            Err(LoginError::Protocol(error)) => Ok(Attempt::Failed(error.into(), retry_after)),
        }
    }

    /// Ends the session (a no-op without one).
    ///
    /// # Errors
    /// A transport/protocol error; the local session is forgotten either way.
    pub async fn logout(&self) -> Result<()> {
        let Some(key) = self.session().session_key.take() else { return Ok(()) };
        let body = session::logout_request().encode(self.config.format, &Auth::Session { session_key: key }, 0);
        let result = self.post(body, None).await;
        self.session().jar.clear();
        result.map(drop)
    }

    /// Sends one command (signed afresh each time) and returns its envelope and the raw
    /// response; protocol error bodies become [`Error::Api`] whatever the HTTP status.
    ///
    /// With session credentials it logs in first when needed and once more when the session
    /// expired. Transient failures are retried within [`ClientConfig::max_retries`], after the
    /// server's `Retry-After` or a short backoff, each delay reported to `on_delay`.
    async fn exchange(
        &self,
        request: &Request,
        wait_secs: Option<u32>,
        on_delay: OnDelay<'_>,
    ) -> Result<(Envelope, HttpResponse)> {
        self.exchange_as(self.config.format, request, wait_secs, on_delay).await
    }

    /// [`JobClient::exchange`] asking for `format` instead of the configured one.
    async fn exchange_as(
        &self,
        format: Format,
        request: &Request,
        wait_secs: Option<u32>,
        on_delay: OnDelay<'_>,
    ) -> Result<(Envelope, HttpResponse)> {
        let session_mode = matches!(self.config.credentials, Credentials::Session(_));
        let mut logged_in_now = false;
        let mut retries = driver::Retries::new(self.config.max_retries);
        loop {
            let attempt: Result<Attempt<_>> = async {
                if session_mode {
                    // One login at a time per client; a login lost to the network or a proxy is
                    // retried like any other request; refused credentials end the call.
                    match self.ensure_session().await? {
                        Some(Attempt::Done(())) => logged_in_now = true,
                        None => {}
                        Some(Attempt::Again) => return Ok(Attempt::Again),
                        Some(Attempt::Failed(error, retry_after)) => return Ok(Attempt::Failed(error, retry_after)),
                    }
                }
                let key_sent = self.session().session_key.clone();
                let body = request.encode(format, &self.auth(), transport::unix_now());
                let (error, retry_after) = match self.post(body, wait_secs).await {
                    Ok(response) => match decode(&response, format) {
                        Ok(envelope) => return Ok(Attempt::Done((envelope, response))),
                        Err(error) => (error, driver::retry_after(&response)),
                    },
                    Err(error) => (error, None),
                };
                match &error {
                    Error::Api(api) if api.code == 401 && session_mode && !logged_in_now => {
                        // The session expired: log in again, once. Only the key sent is dropped: a
                        // concurrent call may have logged in anew already.
                        let mut session = self.session();
                        if session.session_key == key_sent {
                            session.session_key = None;
                        }
                        Ok(Attempt::Again)
                    }
                    _ => Ok(Attempt::Failed(error, retry_after)),
                }
            }
            .await;
            if let Some(value) = retries.after(attempt?, on_delay).await? {
                return Ok(value);
            }
        }
    }

    /// Sends one command and returns its envelope.
    ///
    /// # Errors
    /// [`Error::Transport`], [`Error::Protocol`], [`Error::Api`] or [`Error::LoginFailed`].
    pub async fn call(&self, request: &Request) -> Result<Envelope> {
        Ok(self.exchange(request, None, &mut |_, _, _| {}).await?.0)
    }

    /// Sends one command asking for `format` (whatever the configured one) and returns the
    /// answer's text as the server sent it, e.g. to show a raw XML response. The answer is
    /// checked like any other: refusals are errors, not text.
    ///
    /// # Errors
    /// As [`JobClient::call`].
    pub async fn call_text(&self, request: &Request, format: Format) -> Result<String> {
        let (_, response) = self.exchange_as(format, request, None, &mut |_, _, _| {}).await?;
        Ok(String::from_utf8_lossy(&response.body).into_owned())
    }

    /// Runs a synchronous command and returns the object inside its envelope.
    ///
    /// # Errors
    /// As [`JobClient::call`].
    pub async fn call_value(&self, command: &str, params: &[(String, String)]) -> Result<Value> {
        let request = params.iter().fold(Request::new(command), |r, (k, v)| r.param(k, v));
        Ok(Value::Object(self.call(&request).await?.body))
    }

    /// Submits an async command; resolves as soon as the server has accepted it.
    ///
    /// Retrying a submit is made safe with CloudStack's `customjobid`: the client picks the
    /// job's UUID, so when an answer is lost and the retry is refused because that id exists,
    /// the job the first attempt created is adopted instead of a second one being made. A
    /// timeout of a later wait never re-submits.
    ///
    /// # Errors
    /// As [`JobClient::call`], and [`crate::protocol::ProtocolError::MissingField`] if the
    /// command is not async.
    pub async fn submit(&self, command: &str, params: &[(String, String)]) -> Result<SubmittedJob> {
        let mut request = params.iter().fold(Request::new(command), |r, (k, v)| r.param(k, v));
        let custom_id = match params.iter().find(|(k, _)| k.eq_ignore_ascii_case("customjobid")) {
            Some((_, id)) => id.clone(),
            None => {
                let id = random_uuid();
                request = request.param("customjobid", id.clone());
                id
            }
        };
        let mut retried = false;
        let outcome = self.exchange(&request, None, &mut |_, _, _| retried = true).await;
        let envelope = match outcome {
            Ok((envelope, _)) => envelope,
            Err(Error::Api(error))
                if retried && error.code == 431 && error.text.to_ascii_lowercase().contains("customjobid") =>
            {
                // An earlier attempt got through: adopt its job.
                let job = self.poll(&custom_id).await?;
                let resource_id = job.raw.get("jobinstanceid").and_then(Value::as_str).map(str::to_owned);
                return Ok(SubmittedJob {
                    job_id: job.job_id,
                    resource_id,
                    command: command.into(),
                    submitted_at: Some(SystemTime::now()),
                });
            }
            Err(error) => return Err(error),
        };
        let accepted = cloudstack::parse_async_submit(&envelope)?;
        Ok(SubmittedJob {
            job_id: accepted.job_id,
            resource_id: accepted.resource_id,
            command: command.into(),
            submitted_at: Some(SystemTime::now()),
        })
    }

    /// Asks once for the job's status (transient failures retried).
    ///
    /// # Errors
    /// As [`JobClient::call`].
    pub async fn poll(&self, job_id: &str) -> Result<JobSnapshot> {
        Ok(driver::shared_poll(self, job_id, None, &mut |_, _, _| {}).await?.0)
    }

    /// Polls until the job finishes, calling `on_update` with every answer. Resolves with the
    /// final snapshot on success.
    ///
    /// # Errors
    /// As [`JobClient::wait_job`].
    pub async fn wait(&self, job_id: &str, mut on_update: impl FnMut(&JobSnapshot) + MaybeSend) -> Result<JobSnapshot> {
        driver::wait_by_id(self, &self.waits, job_id, &mut on_update).await
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
    ///
    /// Concurrent waits of one job (on this client or its clones) share one wait: the job is
    /// polled once for all of them, each gets every status and delay from when it began and
    /// the outcome. Stopping one of them does not stop the others, and each keeps its own
    /// deadline (counted from when it began).
    pub async fn wait_job(
        &self,
        job: &SubmittedJob,
        mut on_event: impl FnMut(WaitEvent<'_>) + MaybeSend,
    ) -> Result<JobSnapshot> {
        driver::shared_wait(self, &self.waits, job, &mut on_event).await
    }
}

impl JobSource for JobClient {
    fn policy(&self) -> &PollPolicy {
        &self.config.policy
    }

    fn long_poll_secs(&self) -> Option<u32> {
        self.config.long_poll_secs
    }

    fn initial_delay(&self, command: &str) -> Option<Duration> {
        let configured = self.config.initial_delays.iter();
        configured.filter(|(name, _)| name.eq_ignore_ascii_case(command)).map(|(_, delay)| *delay).next()
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
            let request = Request::query_async_job_result(job_id);
            let (envelope, response) = self.exchange(&request, wait_secs, on_delay).await?;
            Ok((cloudstack::parse_job_status(&envelope)?, response.wait_applied()))
        })
    }

    fn poll_status<'a>(
        &'a self,
        job_id: &'a str,
        wait_secs: Option<u32>,
        on_delay: OnDelay<'a>,
    ) -> driver::Boxed<'a, Result<(JobSnapshot, bool)>> {
        Box::pin(async move {
            if wait_secs.is_none() {
                if let Some(snapshot) = self.poll_by_listing(job_id).await {
                    return Ok((snapshot, false));
                }
            }
            driver::shared_poll(self, job_id, wait_secs, on_delay).await
        })
    }

    fn share_polls(&self, job: &SubmittedJob) -> Option<sweep::Registration> {
        let guessed_since = first_listing_since(transport::unix_now(), [driver::age(job, Instant::now())]);
        let register = || self.sweeps.register(&job.job_id, guessed_since);
        self.config.share_listings.then(register).flatten()
    }

    fn listed<'a>(&'a self, job_id: &'a str) -> Option<driver::Boxed<'a, JobSnapshot>> {
        Some(Box::pin(self.sweeps.news(job_id)))
    }

    fn seen(&self, snapshot: &JobSnapshot) {
        self.sweeps.seen(snapshot);
    }
}

impl JobClient {
    /// `job_id`'s status from one `listAsyncJobs` shared with the other waiting jobs, which get
    /// their status from it too — when other jobs wait (see [`Sweeps`]). `None`: poll the job
    /// alone (also when the listing failed or did not show it).
    async fn poll_by_listing(&self, job_id: &str) -> Option<JobSnapshot> {
        let since = self.sweeps.listing_since(job_id)?;
        // Polls that come due while a listing is out share it.
        let key = since.secs.to_string();
        let listing = share::shared!(self.listings, &key, &mut |_| {}, |_relay| self
            .list_jobs(Some(since.secs), &mut |_, _, _| {})
            .await)
        .ok()?;
        self.sweeps.deliver(&listing, job_id, since);
        let own = listing.into_iter().find(|snapshot| snapshot.job_id == job_id);
        if own.is_none() {
            self.sweeps.not_shown(job_id, since);
        }
        own
    }
}

/// A random (version 4) UUID for `customjobid`.
fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Turns an HTTP response into an envelope: a protocol error body wins over the status; a body
/// that does not parse is a protocol error on 2xx and a status error otherwise — unless it is
/// labelled as the protocol's format and is not even well-formed: then it was cut or garbled on
/// the way, whatever the status, and stays a protocol error (another try is worth it; the status
/// alone would make a damaged `431 customjobid … already in use` look final).
pub(crate) fn decode(response: &HttpResponse, format: Format) -> Result<Envelope> {
    match cloudstack::parse_envelope(&response.body, format) {
        Ok(envelope) => match envelope.api_error() {
            Some(error) => Err(Error::Api(error)),
            None if (200..300).contains(&response.status) => Ok(envelope),
            None => Err(status_error(response).into()),
        },
        Err(error @ (ProtocolError::Json(_) | ProtocolError::Xml(_))) if labelled_as(response, format) => {
            Err(error.into())
        }
        Err(_) if !(200..300).contains(&response.status) => Err(status_error(response).into()),
        Err(error) => Err(error.into()),
    }
}

/// Whether the response's `Content-Type` says it is `format`.
fn labelled_as(response: &HttpResponse, format: Format) -> bool {
    let content_type = response.header("content-type").unwrap_or_default().to_ascii_lowercase();
    match format {
        Format::Json => content_type.contains("json"),
        Format::Xml => content_type.contains("xml"),
    }
}
