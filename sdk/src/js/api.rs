//! The JavaScript API (the only `#[wasm_bindgen]` code): `JobClient` and `Job` classes whose
//! async methods return Promises. Errors reject with `Error` objects whose `name` tells the
//! kind (`JobFailedError`, `TransportError`, `ProtocolError`, `ApiError`, `TimeoutError`,
//! `TypeError`) and which carry the details as properties.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::backend::{Backend, Boxed};
use super::convert::{error_to_js, to_js};
use super::{abort, backend, convert, watch};
use crate::client::{
    ApiKeyCredentials, ClientConfig, ClmClient, ClmConfig, Credentials, JobClient as CoreClient, SessionCredentials,
    SubmittedJob, WaitEvent,
};
use crate::engine::PollPolicy;
use crate::protocol::Format;
use crate::time::{SystemTime, UNIX_EPOCH};
use serde_json::Value;

/// The Promise of `future`, already marked handled (see [`handled`]).
fn promise(future: impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static) -> js_sys::Promise {
    // Boxed: one `future_to_promise` for every method instead of one copy per future type.
    let future: Boxed<'static, Result<JsValue, JsValue>> = Box::pin(future);
    handled(wasm_bindgen_futures::future_to_promise(future))
}

/// Marks `promise` as handled and gives it back: a caller that ignores a Promise of this API
/// (a fire-and-forget `job.wait(onProgress)`, say) never meets an unhandled-rejection report
/// (in Node, a crash); one that awaits it still gets the rejection.
pub(crate) fn handled(promise: js_sys::Promise) -> js_sys::Promise {
    thread_local! {
        static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
    }
    IGNORE.with(|ignore| {
        let _ = promise.catch(ignore);
    });
    promise
}

/// Options of `new JobClient({...})`.
struct ClientOptions {
    endpoint: String,
    api_key: Option<String>,
    secret_key: Option<String>,
    username: Option<String>,
    password: Option<String>,
    domain: Option<String>,
    response: Option<String>,
    long_poll_secs: Option<u32>,
    max_retries: Option<u32>,
    deadline_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    protocol: Option<String>,
    initial_delays: Vec<(String, crate::time::Duration)>,
}

impl ClientOptions {
    /// The waiting options both protocols share: long-polls (0 turns them off), retries, deadline,
    /// the time an answer may take.
    fn apply_waiting(
        &self,
        long_poll_secs: &mut Option<u32>,
        max_retries: &mut u32,
        policy: &mut PollPolicy,
        request_timeout: &mut crate::time::Duration,
    ) {
        if let Some(secs) = self.long_poll_secs {
            *long_poll_secs = (secs > 0).then_some(secs);
        }
        if let Some(retries) = self.max_retries {
            *max_retries = retries;
        }
        if let Some(ms) = self.deadline_ms {
            policy.deadline = Some(crate::time::Duration::from_millis(ms));
        }
        if let Some(ms) = self.request_timeout_ms {
            *request_timeout = crate::time::Duration::from_millis(ms);
        }
    }

    /// Reads the options object; a missing `endpoint` or a field of the wrong type is a
    /// `TypeError`, unknown fields are ignored.
    fn from_js(options: &JsValue) -> Result<Self, JsValue> {
        const WHAT: &str = "invalid JobClient options";
        if !options.is_object() {
            return Err(convert::type_error(&format!("{WHAT}: expected an object")));
        }
        let text = |key: &str| convert::string_field(options, key, WHAT);
        let int = |key: &str, max: u64| convert::integer_field(options, key, max, WHAT);
        let u32_max = u64::from(u32::MAX);
        Ok(ClientOptions {
            endpoint: text("endpoint")?.ok_or_else(|| convert::type_error(&format!("{WHAT}: missing endpoint")))?,
            api_key: text("apiKey")?,
            secret_key: text("secretKey")?,
            username: text("username")?,
            password: text("password")?,
            domain: text("domain")?,
            response: text("response")?,
            long_poll_secs: int("longPollSecs", u32_max)?.map(|n| n as u32),
            max_retries: int("maxRetries", u32_max)?.map(|n| n as u32),
            deadline_ms: int("deadlineMs", convert::MAX_SAFE_INTEGER)?,
            request_timeout_ms: int("requestTimeoutMs", convert::MAX_SAFE_INTEGER)?,
            protocol: text("protocol")?,
            initial_delays: initial_delays(options, WHAT)?,
        })
    }
}

/// `initialDelayMs: { command: ms, … }`: a fixed first-poll delay per command.
fn initial_delays(options: &JsValue, what: &str) -> Result<Vec<(String, crate::time::Duration)>, JsValue> {
    let Some(value) = convert::given_field(options, "initialDelayMs")? else { return Ok(Vec::new()) };
    if !value.is_object() {
        return Err(convert::type_error(&format!("{what}: initialDelayMs must be an object of command: ms")));
    }
    let mut delays = Vec::new();
    for (command, ms) in convert::entries(&value)? {
        match ms.as_f64().filter(|ms| ms.is_finite() && (0.0..=convert::MAX_SAFE_INTEGER as f64).contains(ms)) {
            Some(ms) => delays.push((command, crate::time::Duration::from_millis(ms as u64))),
            None => {
                return Err(convert::type_error(&format!(
                    "{what}: initialDelayMs.{command} must be a non-negative number of ms"
                )))
            }
        }
    }
    Ok(delays)
}

/// A client of one endpoint.
#[wasm_bindgen]
pub struct JobClient {
    inner: Backend,
}

#[wasm_bindgen]
impl JobClient {
    /// `new JobClient(options)` (see `JobClientOptions`); throws `TypeError` on bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "JobClientOptions")] options: JsValue,
    ) -> Result<JobClient, JsValue> {
        let options = ClientOptions::from_js(&options)?;
        let clm = match options.protocol.as_deref() {
            None | Some("cloudstack") => false,
            Some("clm") => true,
            Some(other) => {
                return Err(convert::type_error(&format!(
                    "protocol must be \"cloudstack\" or \"clm\", got \"{other}\""
                )))
            }
        };
        if clm {
            return JobClient::new_clm(options);
        }
        let format = match options.response.as_deref() {
            None | Some("json") => Format::Json,
            #[cfg(feature = "xml")]
            Some("xml") => Format::Xml,
            Some(other) => {
                let known =
                    if cfg!(feature = "xml") { "\"json\" or \"xml\"" } else { "\"json\" (this build reads JSON only)" };
                return Err(convert::type_error(&format!("response must be {known}, got \"{other}\"")));
            }
        };
        let mut config = ClientConfig { format, ..ClientConfig::new(options.endpoint.clone()) };
        options.apply_waiting(
            &mut config.long_poll_secs,
            &mut config.max_retries,
            &mut config.policy,
            &mut config.request_timeout,
        );
        config.credentials = match (options.api_key, options.secret_key, options.username, options.password) {
            (Some(api_key), Some(secret_key), None, None) => {
                Credentials::ApiKey(ApiKeyCredentials { api_key, secret_key })
            }
            (None, None, Some(username), Some(password)) => Credentials::Session(SessionCredentials {
                username,
                password,
                domain: options.domain.unwrap_or_default(),
            }),
            (None, None, None, None) => Credentials::None,
            _ => return Err(convert::type_error("give either apiKey with secretKey, or username with password")),
        };
        config.initial_delays = options.initial_delays;
        let inner = CoreClient::new(config).map_err(|e| error_to_js(&e))?;
        Ok(JobClient { inner: Backend::CloudStack(inner) })
    }

    /// Submits an async command; resolves with a `Job` as soon as the server accepts it.
    #[wasm_bindgen(unchecked_return_type = "Promise<Job>")]
    pub fn submit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] command: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "CommandParams")] params: Option<JsValue>,
    ) -> js_sys::Promise {
        let client = self.inner.clone();
        promise(async move {
            let command = convert::string_arg(&command, "command")?;
            let submitted = client.submit(&command, params).await?;
            Ok(Job::new(client, submitted).into())
        })
    }

    /// Runs a synchronous command (e.g. `listZones`); resolves with the response object.
    #[wasm_bindgen(unchecked_return_type = "Promise<JsonValue>")]
    pub fn call(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] command: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "CommandParams")] params: Option<JsValue>,
    ) -> js_sys::Promise {
        let client = self.inner.clone();
        promise(async move {
            let command = convert::string_arg(&command, "command")?;
            convert::value_to_js(&client.call(&command, params).await?)
        })
    }

    /// A `Job` handle for a job id obtained elsewhere; throws `TypeError` unless it is a
    /// non-empty string.
    pub fn job(
        &self,
        #[wasm_bindgen(js_name = jobId, unchecked_param_type = "string")] job_id: JsValue,
    ) -> Result<Job, JsValue> {
        let job_id = convert::string_arg(&job_id, "jobId")?;
        if job_id.is_empty() {
            return Err(convert::type_error("jobId must not be empty"));
        }
        let submitted = SubmittedJob { job_id, resource_id: None, command: String::new(), submitted_at: None };
        Ok(Job::new(self.inner.clone(), submitted))
    }

    /// A `Job` handle from a resume token (`JSON.parse(JSON.stringify(job))`); throws
    /// `TypeError` for anything else.
    pub fn resume(&self, #[wasm_bindgen(unchecked_param_type = "ResumeToken")] token: JsValue) -> Result<Job, JsValue> {
        const WHAT: &str = "invalid resume token";
        if !token.is_object() {
            return Err(convert::type_error(&format!("{WHAT}: expected an object")));
        }
        let text = |key: &str| convert::string_field(&token, key, WHAT);
        let job_id = text("jobId")?.ok_or_else(|| convert::type_error(&format!("{WHAT}: missing jobId")))?;
        let token = (job_id, text("resourceId")?, text("command")?, submit_time(&token, WHAT)?);
        let (job_id, resource_id, command, at_ms) = token;
        if job_id.is_empty() {
            return Err(convert::type_error("invalid resume token: empty jobId"));
        }
        let submitted_at = at_ms.map(system_time_at);
        let submitted = SubmittedJob { job_id, resource_id, command: command.unwrap_or_default(), submitted_at };
        Ok(Job::new(self.inner.clone(), submitted))
    }

    /// Submits an async command and waits for it: `submit` then `job.wait(options)`; resolves
    /// with the job's result (CLM: the operation's result objects).
    #[wasm_bindgen(unchecked_return_type = "Promise<JsonValue>")]
    pub fn run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] command: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "CommandParams")] params: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions")] options: Option<JsValue>,
    ) -> js_sys::Promise {
        let client = self.inner.clone();
        let options = options.unwrap_or(JsValue::UNDEFINED);
        promise(async move {
            let command = convert::string_arg(&command, "command")?;
            let options = WaitOptions::from_js(&options)?;
            match client {
                // CLM holds the operation itself (`timeout` N) and polls only if a Task comes back.
                Backend::Clm(clm) => {
                    let body = backend::clm_body(params)?;
                    let mut sink = EventSink::new(&options);
                    let mut on_event = |event: WaitEvent<'_>| sink.handle(event);
                    let on_event: &mut dyn FnMut(WaitEvent<'_>) = &mut on_event;
                    let running = Box::pin(clm.run(&command, body, backend::CLM_RUN_HOLD_SECS, on_event));
                    supervise(running, &command, &options).await
                }
                client => {
                    let submitted = client.submit(&command, params).await?;
                    wait_for(client, submitted, options).await
                }
            }
        })
    }

    /// Follows `jobs` until all have finished: `for await (const update of client.watch(jobs))`
    /// yields every change (each finish exactly once). CloudStack jobs share one
    /// `listAsyncJobs` listing per tick; CLM tasks are waited for a few at a time.
    /// Takes `Job`s or resume tokens; the jobs stay usable. `{ onDelay }` reports every delay
    /// the watch chooses, and why.
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<JobStatus>")]
    pub fn watch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Array<Job | ResumeToken>")] jobs: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "WatchOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let list = convert::array_copy(&jobs)?.ok_or_else(|| convert::type_error("watch takes an array of jobs"))?;
        let submitted = list.iter().map(|job| job_from_js(&job)).collect::<Result<Vec<_>, _>>()?;
        let options = match convert::given(options) {
            None => watch::WatchOptions { on_delay: None, signal: None },
            Some(options) if options.is_object() => watch::WatchOptions {
                on_delay: convert::function_field(&options, "onDelay")?,
                signal: convert::signal_field(&options)?,
            },
            Some(_) => return Err(convert::type_error("watch options must be an object")),
        };
        Ok(watch::start(self.inner.clone(), submitted, options))
    }
}

impl JobClient {
    /// `{ protocol: 'clm', endpoint, username, password }`: token login at `endpoint/csm/login`.
    fn new_clm(mut options: ClientOptions) -> Result<JobClient, JsValue> {
        let (Some(username), Some(password)) = (options.username.take(), options.password.take()) else {
            return Err(convert::type_error("protocol \"clm\" needs username and password"));
        };
        if options.api_key.is_some() || options.secret_key.is_some() {
            return Err(convert::type_error("protocol \"clm\" has no API keys; give username and password"));
        }
        let mut config = ClmConfig::new(options.endpoint.clone(), username, password);
        options.apply_waiting(
            &mut config.long_poll_secs,
            &mut config.max_retries,
            &mut config.policy,
            &mut config.request_timeout,
        );
        let inner = ClmClient::new(config).map_err(|e| error_to_js(&e))?;
        Ok(JobClient { inner: Backend::Clm(inner) })
    }
}

/// One submitted job. `JSON.stringify(job)` is its resume token.
#[wasm_bindgen]
pub struct Job {
    client: Backend,
    submitted: SubmittedJob,
}

impl Job {
    fn new(client: Backend, submitted: SubmittedJob) -> Self {
        Job { client, submitted }
    }
}

/// What `wait` takes: a progress callback, or `{ signal, timeoutMs, onProgress, onDelay }`.
struct WaitOptions {
    signal: Option<web_sys::AbortSignal>,
    timeout_ms: Option<f64>,
    on_progress: Option<js_sys::Function>,
    on_delay: Option<js_sys::Function>,
}

impl WaitOptions {
    fn from_js(options: &JsValue) -> Result<Self, JsValue> {
        if let Some(callback) = options.dyn_ref::<js_sys::Function>() {
            return Ok(WaitOptions {
                signal: None,
                timeout_ms: None,
                on_progress: Some(callback.clone()),
                on_delay: None,
            });
        }
        if options.is_null_or_undefined() {
            return Ok(WaitOptions { signal: None, timeout_ms: None, on_progress: None, on_delay: None });
        }
        if !options.is_object() {
            return Err(convert::type_error("wait options must be an object or a function"));
        }
        let function = |name: &str| convert::function_field(options, name);
        let signal = convert::signal_field(options)?;
        let timeout_ms = match convert::given_field(options, "timeoutMs")? {
            None => None,
            Some(value) => match value.as_f64() {
                Some(ms) if ms >= 0.0 => Some(ms),
                _ => return Err(convert::type_error("timeoutMs must be a non-negative number")),
            },
        };
        Ok(WaitOptions { signal, timeout_ms, on_progress: function("onProgress")?, on_delay: function("onDelay")? })
    }
}

/// Passes a wait's events to the JS callbacks: statuses with the best progress so far, the time
/// waited and an ETA; delays with their reason.
struct EventSink {
    on_progress: Option<js_sys::Function>,
    on_delay: Option<js_sys::Function>,
    best_progress: Option<f64>,
    started_ms: f64,
}

impl EventSink {
    fn new(options: &WaitOptions) -> Self {
        EventSink {
            on_progress: options.on_progress.clone(),
            on_delay: options.on_delay.clone(),
            best_progress: None,
            started_ms: jobwire_now_ms(),
        }
    }

    fn handle(&mut self, event: WaitEvent<'_>) {
        match event {
            WaitEvent::Status(status) => {
                if let Some(p) = status.progress {
                    self.best_progress = Some(self.best_progress.map_or(p, |b| b.max(p)));
                }
                if let Some(callback) = &self.on_progress {
                    let elapsed = jobwire_now_ms() - self.started_ms;
                    if let Ok(value) = convert::status_with_timing(status, self.best_progress, elapsed) {
                        // A throwing callback must not stop the wait.
                        let _ = callback.call1(&JsValue::NULL, &value);
                    }
                }
            }
            WaitEvent::Delay { delay, reason, retries } => {
                if let Some(callback) = &self.on_delay {
                    convert::report_delay(callback, delay, reason, retries);
                }
            }
        }
    }
}

/// Waits for `submitted` with `options`: the job's result on success, a rejection otherwise.
fn wait_for(
    client: Backend,
    submitted: SubmittedJob,
    options: WaitOptions,
) -> Boxed<'static, Result<JsValue, JsValue>> {
    Box::pin(async move {
        let mut sink = EventSink::new(&options);
        let mut on_event = |event: WaitEvent<'_>| sink.handle(event);
        let waiting = client.wait_job(&submitted, &mut on_event);
        supervise(waiting, &submitted.job_id, &options).await
    })
}

/// Runs a wait until it ends or the caller stops waiting (signal, timeout): the job's result on
/// success. Stopping drops the wait: no request goes out afterwards; the job itself is untouched.
async fn supervise(
    waiting: Boxed<'_, crate::Result<crate::JobSnapshot>>,
    job_id: &str,
    options: &WaitOptions,
) -> Result<JsValue, JsValue> {
    if let Some(signal) = &options.signal {
        if signal.aborted() {
            return Err(abort::aborted(signal.clone(), job_id).await);
        }
    }
    let stop = async {
        let timeout = async {
            match options.timeout_ms {
                Some(ms) => {
                    abort::sleep_ms(ms).await;
                    convert::stopped_waiting(
                        "TimeoutError",
                        &format!(
                            "stopped waiting for job {job_id} after {} ms; the job may still be running",
                            convert::js_number_text(ms)
                        ),
                        job_id,
                    )
                }
                None => std::future::pending().await,
            }
        };
        match options.signal.clone() {
            Some(signal) => match abort::race(abort::aborted(signal, job_id), timeout).await {
                abort::First::Left(error) | abort::First::Right(error) => error,
            },
            None => timeout.await,
        }
    };
    match abort::race(waiting, stop).await {
        abort::First::Left(Ok(snapshot)) => convert::value_to_js(snapshot.result.as_ref().unwrap_or(&Value::Null)),
        abort::First::Left(Err(error)) => Err(error_to_js(&error)),
        abort::First::Right(error) => Err(error),
    }
}

/// A job from a `Job` object (its `id`/`command`/`submittedAt` getters) or a resume token
/// (`jobId`).
fn job_from_js(value: &JsValue) -> Result<SubmittedJob, JsValue> {
    let not_a_job = || convert::type_error("each job must be a Job or a resume token with a jobId");
    if !value.is_object() {
        return Err(not_a_job());
    }
    let text = |key: &str| Ok::<_, JsValue>(js_sys::Reflect::get(value, &key.into())?.as_string());
    let job_id = match text("jobId")? {
        Some(id) => Some(id),
        None => text("id")?,
    };
    let job_id = job_id.filter(|id| !id.is_empty()).ok_or_else(not_a_job)?;
    Ok(SubmittedJob {
        job_id,
        resource_id: text("resourceId")?,
        command: text("command")?.unwrap_or_default(),
        submitted_at: submit_time(value, "invalid job")?.map(system_time_at),
    })
}

/// Milliseconds on the page's clock.
fn jobwire_now_ms() -> f64 {
    js_sys::Date::now()
}

/// The `submittedAt` of a job or resume token (Unix ms, optional): what lets a watch or wait of
/// a job handed over (or resumed in another page or process) count its progress and learned
/// duration from the submit.
fn submit_time(value: &JsValue, what: &str) -> Result<Option<u64>, JsValue> {
    convert::integer_field(value, "submittedAt", convert::MAX_SAFE_INTEGER, what)
}

/// `at_ms` (Unix ms, at most `Number.MAX_SAFE_INTEGER`) as a wall-clock time.
fn system_time_at(at_ms: u64) -> SystemTime {
    UNIX_EPOCH + crate::time::Duration::from_millis(at_ms)
}

#[wasm_bindgen]
impl Job {
    /// The job id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.submitted.job_id.clone()
    }

    /// The id of the resource the command creates, if any.
    #[wasm_bindgen(getter, js_name = resourceId)]
    pub fn resource_id(&self) -> Option<String> {
        self.submitted.resource_id.clone()
    }

    /// When the server accepted the job's submit, in Unix milliseconds (`Date.now()`'s clock);
    /// `undefined` when unknown (a job known by its id only).
    #[wasm_bindgen(getter, js_name = submittedAt)]
    pub fn submitted_at(&self) -> Option<f64> {
        let since_epoch = self.submitted.submitted_at?.duration_since(UNIX_EPOCH).ok()?;
        Some(since_epoch.as_millis() as f64)
    }

    /// The command that started the job (empty when unknown).
    #[wasm_bindgen(getter)]
    pub fn command(&self) -> String {
        self.submitted.command.clone()
    }

    /// Asks once for the job's status.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobStatus>")]
    pub fn poll(&self) -> js_sys::Promise {
        let client = self.client.clone();
        let job_id = self.submitted.job_id.clone();
        promise(async move {
            let snapshot = client.poll(&job_id).await.map_err(|e| error_to_js(&e))?;
            to_js(&snapshot)
        })
    }

    /// Waits until the job finishes: resolves with its result on success (CloudStack's
    /// `jobresult`, e.g. `{ virtualmachine: {...} }`; CLM's task results; `onProgress` saw the
    /// final status); rejects with `JobFailedError` when the job failed, `AbortError` (or the
    /// signal's reason) / `TimeoutError` when the caller stopped waiting — the job may still
    /// run and this handle stays usable.
    #[wasm_bindgen(unchecked_return_type = "Promise<JsonValue>")]
    pub fn wait(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "WaitOptions | ((status: JobStatus) => void)")] options: Option<
            JsValue,
        >,
    ) -> js_sys::Promise {
        let (client, submitted) = (self.client.clone(), self.submitted.clone());
        let options = options.unwrap_or(JsValue::UNDEFINED);
        promise(async move { wait_for(client, submitted, WaitOptions::from_js(&options)?).await })
    }

    /// `JSON.stringify(job)` gives a resume token: `{ command, jobId, resourceId, submittedAt }`
    /// (`submittedAt` when known).
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "ResumeToken")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        // Keys in the order a JSON object map held them (alphabetical).
        let token = js_sys::Object::new();
        let resource_id = self.submitted.resource_id.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        js_sys::Reflect::set(&token, &"command".into(), &JsValue::from_str(&self.submitted.command))?;
        js_sys::Reflect::set(&token, &"jobId".into(), &JsValue::from_str(&self.submitted.job_id))?;
        js_sys::Reflect::set(&token, &"resourceId".into(), &resource_id)?;
        if let Some(at_ms) = self.submitted_at() {
            js_sys::Reflect::set(&token, &"submittedAt".into(), &JsValue::from_f64(at_ms))?;
        }
        Ok(token.into())
    }
}
