//! The Rust API: submit a CloudStack command, poll its job, wait for it. Drives the sans-IO
//! [`Waiter`] with the platform's transport and timer.

use serde_json::Value;

use crate::engine::{PollPolicy, WaitStep, Waiter};
use crate::error::{Error, Result};
use crate::protocol::cloudstack::{self, Auth, Envelope, Request};
use crate::protocol::{ApiError, Format, JobSnapshot, JobState};
use crate::time::Instant;
use crate::transport::{self, HttpRequest, HttpResponse, Method, TransportError};

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

/// Where and how to talk to a CloudStack endpoint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API URL, e.g. `http://localhost:8080/client/api`.
    pub endpoint: String,
    /// Signing credentials; `None` sends unsigned requests.
    pub credentials: Option<ApiKeyCredentials>,
    /// JSON or XML responses.
    pub format: Format,
    /// When to poll and for how long.
    pub policy: PollPolicy,
}

impl ClientConfig {
    /// A JSON, unsigned configuration with the default poll policy.
    pub fn new(endpoint: impl Into<String>) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            credentials: None,
            format: Format::Json,
            policy: PollPolicy::default(),
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

/// A client of one CloudStack endpoint.
#[derive(Debug, Clone)]
pub struct JobClient {
    config: ClientConfig,
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
        Ok(JobClient { config })
    }

    /// The configuration this client uses.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn auth(&self) -> Auth {
        match &self.config.credentials {
            None => Auth::None,
            Some(creds) => Auth::ApiKey {
                api_key: creds.api_key.clone(),
                secret_key: creds.secret_key.clone(),
                expires_in_secs: Some(600),
            },
        }
    }

    /// Sends one command (signed afresh each time) and returns its envelope; protocol error
    /// bodies become [`Error::Api`] whatever the HTTP status.
    ///
    /// # Errors
    /// [`Error::Transport`], [`Error::Protocol`] or [`Error::Api`].
    pub async fn call(&self, request: &Request) -> Result<Envelope> {
        let body = request.encode(self.config.format, &self.auth(), transport::unix_now());
        // POST keeps arguments (and the signature) out of URLs and server logs.
        let http = HttpRequest {
            method: Method::Post,
            url: self.config.endpoint.clone(),
            headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
            body: Some(body),
        };
        let response = transport::send(http).await?;
        decode(&response, self.config.format)
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
    /// # Errors
    /// As [`JobClient::call`], and [`crate::protocol::ProtocolError::MissingField`] if the command is not async.
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
        let envelope = self.call(&Request::query_async_job_result(job_id)).await?;
        Ok(cloudstack::parse_job_status(&envelope)?)
    }

    /// Polls until the job finishes, calling `on_update` with every answer. Resolves with the
    /// final snapshot on success.
    ///
    /// # Errors
    /// [`Error::JobFailed`] when the job fails or is cancelled, [`Error::WaitTimedOut`] when the
    /// policy's deadline passes (the job may still run), or a transport/protocol error.
    pub async fn wait(&self, job_id: &str, mut on_update: impl FnMut(&JobSnapshot)) -> Result<JobSnapshot> {
        let mut waiter = Waiter::new(self.config.policy.clone(), Instant::now());
        loop {
            let now = Instant::now();
            match waiter.next(now, fastrand::f64()) {
                WaitStep::GiveUp => {
                    let waited_ms = u64::try_from(waiter.elapsed(now).as_millis()).unwrap_or(u64::MAX);
                    return Err(Error::WaitTimedOut { job_id: job_id.into(), waited_ms });
                }
                WaitStep::PollAt(at, _) => transport::sleep(at.saturating_duration_since(now)).await,
            }
            let snapshot = self.poll(job_id).await?;
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
