//! The Rust API: submit a CloudStack command, poll its job, wait for it. Drives the sans-IO
//! [`Waiter`] with the platform's transport and timer, and keeps the session (login, cookies,
//! one re-login when a session expires).

mod cookies;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::engine::{PollPolicy, WaitStep, Waiter};
use crate::error::{Error, Result};
use crate::protocol::cloudstack::{self, session, Auth, Envelope, LoginError, Request};
use crate::protocol::{ApiError, Format, JobSnapshot, JobState};
use crate::time::Instant;
use crate::transport::{self, HttpRequest, HttpResponse, Method, TransportError};
use cookies::CookieJar;

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
}

#[derive(Debug, Default)]
struct SessionState {
    session_key: Option<String>,
    jar: CookieJar,
}

/// A client of one CloudStack endpoint. Clones share the session.
#[derive(Debug, Clone)]
pub struct JobClient {
    config: ClientConfig,
    session: Arc<Mutex<SessionState>>,
}

impl JobClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the endpoint is not an `http(s)://` URL.
    pub fn new(config: ClientConfig) -> Result<Self> {
        if !(config.endpoint.starts_with("http://") || config.endpoint.starts_with("https://")) {
            return Err(Error::InvalidArgument(format!("endpoint must be an http(s) URL, got {:?}", config.endpoint)));
        }
        Ok(JobClient { config, session: Arc::default() })
    }

    /// The configuration this client uses.
    pub fn config(&self) -> &ClientConfig {
        &self.config
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
    /// the session cookies where the platform does not keep them itself.
    async fn post(&self, body: String, extra_headers: &[(String, String)]) -> Result<HttpResponse> {
        let mut headers = vec![("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
        if let Some(cookies) = self.session().jar.header() {
            headers.push(("Cookie".into(), cookies));
        }
        headers.extend_from_slice(extra_headers);
        let request =
            HttpRequest { method: Method::Post, url: self.config.endpoint.clone(), headers, body: Some(body) };
        let response = transport::send(request).await?;
        self.session().jar.absorb(response.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        Ok(response)
    }

    /// Logs in with the session credentials (also done on demand by every call).
    ///
    /// # Errors
    /// [`Error::LoginFailed`] when the server refuses the credentials, [`Error::InvalidArgument`]
    /// without session credentials, or a transport/protocol error.
    pub async fn login(&self) -> Result<()> {
        let Credentials::Session(creds) = &self.config.credentials else {
            return Err(Error::InvalidArgument("login needs session credentials (username, password)".into()));
        };
        self.session().jar.clear();
        let body = session::login_body(&creds.username, &creds.password, &creds.domain, self.config.format);
        let response = self.post(body, &[]).await?;
        let envelope = match cloudstack::parse_envelope(&response.body, self.config.format) {
            Ok(envelope) => envelope,
            Err(_) if !(200..300).contains(&response.status) => return Err(status_error(&response).into()),
            Err(error) => return Err(error.into()),
        };
        match session::parse_login(&envelope) {
            Ok(login) => {
                self.session().session_key = Some(login.session_key);
                Ok(())
            }
            Err(LoginError::Refused(error)) => Err(Error::LoginFailed(error)),
            Err(LoginError::Protocol(error)) => Err(error.into()),
        }
    }

    /// Ends the session (a no-op without one).
    ///
    /// # Errors
    /// A transport/protocol error; the local session is forgotten either way.
    pub async fn logout(&self) -> Result<()> {
        let Some(key) = self.session().session_key.take() else { return Ok(()) };
        let body = session::logout_request().encode(self.config.format, &Auth::Session { session_key: key }, 0);
        let result = self.post(body, &[]).await;
        self.session().jar.clear();
        result.map(drop)
    }

    /// Sends one command (signed afresh each time) and returns its envelope and the raw
    /// response; protocol error bodies become [`Error::Api`] whatever the HTTP status. With
    /// session credentials it logs in first when needed and once more when the session expired.
    async fn exchange(
        &self,
        request: &Request,
        extra_headers: &[(String, String)],
    ) -> Result<(Envelope, HttpResponse)> {
        let session_mode = matches!(self.config.credentials, Credentials::Session(_));
        let mut logged_in_now = false;
        loop {
            if session_mode && self.session().session_key.is_none() {
                self.login().await?;
                logged_in_now = true;
            }
            let body = request.encode(self.config.format, &self.auth(), transport::unix_now());
            let response = self.post(body, extra_headers).await?;
            match decode(&response, self.config.format) {
                Err(Error::Api(error)) if error.code == 401 && session_mode && !logged_in_now => {
                    // The session expired: log in again, once.
                    self.session().session_key = None;
                }
                Ok(envelope) => return Ok((envelope, response)),
                Err(error) => return Err(error),
            }
        }
    }

    /// Sends one command and returns its envelope.
    ///
    /// # Errors
    /// [`Error::Transport`], [`Error::Protocol`], [`Error::Api`] or [`Error::LoginFailed`].
    pub async fn call(&self, request: &Request) -> Result<Envelope> {
        Ok(self.exchange(request, &[]).await?.0)
    }

    /// Runs a synchronous command and returns the object inside its envelope.
    ///
    /// # Errors
    /// As [`JobClient::call`].
    pub async fn call_value(&self, command: &str, params: &[(String, String)]) -> Result<Value> {
        let request = params.iter().fold(Request::new(command), |r, (k, v)| r.param(k, v));
        Ok(Value::Object(self.call(&request).await?.body))
    }

    /// Submits an async command; resolves as soon as the server has accepted it. It is sent
    /// once: a timeout later never re-submits it.
    ///
    /// # Errors
    /// As [`JobClient::call`], and [`crate::protocol::ProtocolError::MissingField`] if the
    /// command is not async.
    pub async fn submit(&self, command: &str, params: &[(String, String)]) -> Result<SubmittedJob> {
        let request = params.iter().fold(Request::new(command), |r, (k, v)| r.param(k, v));
        let envelope = self.call(&request).await?;
        let accepted = cloudstack::parse_async_submit(&envelope)?;
        Ok(SubmittedJob { job_id: accepted.job_id, resource_id: accepted.resource_id, command: command.into() })
    }

    /// Asks once for the job's status.
    ///
    /// # Errors
    /// As [`JobClient::call`].
    pub async fn poll(&self, job_id: &str) -> Result<JobSnapshot> {
        Ok(self.poll_with(job_id, None).await?.0)
    }

    /// One status request, optionally asking the server to hold it `wait_secs`; also says
    /// whether the server honoured that (`Preference-Applied`).
    async fn poll_with(&self, job_id: &str, wait_secs: Option<u32>) -> Result<(JobSnapshot, bool)> {
        let headers: Vec<(String, String)> =
            wait_secs.map(|s| ("Prefer".to_owned(), format!("wait={s}"))).into_iter().collect();
        let (envelope, response) = self.exchange(&Request::query_async_job_result(job_id), &headers).await?;
        let held = response.header("preference-applied").is_some_and(|v| v.to_ascii_lowercase().contains("wait"));
        Ok((cloudstack::parse_job_status(&envelope)?, held))
    }

    /// Polls until the job finishes, calling `on_update` with every answer. Resolves with the
    /// final snapshot on success.
    ///
    /// While the server honours long-polls the next request goes out as soon as the previous
    /// one returns (the server did the waiting); otherwise the policy's backoff spaces them.
    ///
    /// # Errors
    /// [`Error::JobFailed`] when the job fails or is cancelled, [`Error::WaitTimedOut`] when the
    /// policy's deadline passes (the job may still run), or a transport/protocol error.
    pub async fn wait(&self, job_id: &str, mut on_update: impl FnMut(&JobSnapshot)) -> Result<JobSnapshot> {
        let started = Instant::now();
        let mut waiter = Waiter::new(self.config.policy.clone(), started);
        let mut server_waits = self.config.long_poll_secs.is_some();
        loop {
            let now = Instant::now();
            if !server_waits {
                match waiter.next(now, fastrand::f64()) {
                    WaitStep::GiveUp => {
                        let waited_ms = u64::try_from(waiter.elapsed(now).as_millis()).unwrap_or(u64::MAX);
                        return Err(Error::WaitTimedOut { job_id: job_id.into(), waited_ms });
                    }
                    WaitStep::PollAt(at, _) => transport::sleep(at.saturating_duration_since(now)).await,
                }
            }
            let wait_secs = if server_waits { self.long_poll_budget(started) } else { None };
            if server_waits && wait_secs.is_none() {
                let waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                return Err(Error::WaitTimedOut { job_id: job_id.into(), waited_ms });
            }
            let (snapshot, held) = self.poll_with(job_id, wait_secs).await?;
            server_waits = server_waits && held;
            on_update(&snapshot);
            match snapshot.state {
                JobState::Pending => continue,
                JobState::Succeeded => return Ok(snapshot),
                JobState::Failed | JobState::Cancelled => {
                    let error = snapshot.error.clone().unwrap_or_else(|| ApiError {
                        code: snapshot.result_code.unwrap_or_default(),
                        cs_error_code: None,
                        text: "job failed".into(),
                    });
                    return Err(Error::JobFailed { job_id: job_id.into(), error });
                }
            }
        }
    }

    /// Seconds the next long-poll may ask for: the configured wait, cut to the deadline;
    /// `None` once the deadline has passed.
    fn long_poll_budget(&self, started: Instant) -> Option<u32> {
        let configured = self.config.long_poll_secs?;
        match self.config.policy.deadline {
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
}

/// Turns an HTTP response into an envelope: a protocol error body wins over the status; a body
/// that does not parse is a protocol error on 2xx and a status error otherwise.
fn decode(response: &HttpResponse, format: Format) -> Result<Envelope> {
    match cloudstack::parse_envelope(&response.body, format) {
        Ok(envelope) => match envelope.api_error() {
            Some(error) => Err(Error::Api(error)),
            None if (200..300).contains(&response.status) => Ok(envelope),
            None => Err(status_error(response).into()),
        },
        Err(_) if !(200..300).contains(&response.status) => Err(status_error(response).into()),
        Err(error) => Err(error.into()),
    }
}

fn status_error(response: &HttpResponse) -> TransportError {
    let text = String::from_utf8_lossy(&response.body);
    let excerpt: String = text.chars().take(200).collect();
    TransportError::Status { status: response.status, excerpt }
}
