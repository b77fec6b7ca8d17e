//! CLM operations: create / start / stop a ComputeContainer and search the static pools. Each
//! validates its body at once (errors come back synchronously, no task is made), makes a hub
//! job, and answers by the body's `timeout` (seed 003):
//!
//! - `0`: at once, `[Task]` (QUEUED);
//! - omitted or `-1`: waits up to [`DEFAULT_SYNC_TIMEOUT_SECS`], then as for `N`;
//! - `N > 0`: waits up to N s; a job that succeeded by then is answered with its cloud object
//!   (`[ComputeContainer]`, `[SearchResults]`), one still running or failed with `[Task]`.
//!
//! HTTP status is 200 in every one of these cases: CLM tells a Task by its `cloudClass`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::Response;
use jobwire::protocol::clm::request::{CALLBACK_URL_FIELD, TIMEOUT_FIELD};
use jobwire::protocol::clm::{OperationBody, Timeout};
use serde_json::{json, Map, Value};

use super::auth::Caller;
use super::render::{self, clm_date};
use super::search::{self, Page, Snapshot};
use super::tasks::{result_objects, task_json, TaskMeta};
use super::{read_object, string_field, ClmError, RequestContext};
use crate::model::{unix_ms, Job, JobState, Plan, Protocol, Resource};
use crate::AppState;

/// How long `timeout: -1` (or none) waits for the job, seconds.
pub const DEFAULT_SYNC_TIMEOUT_SECS: u64 = 60;

/// Resource kind of a server (also the key of its job's result object).
pub const CONTAINER_KIND: &str = "ComputeContainer";

/// `cloudClass` of a server.
pub const CONTAINER_CLASS: &str = "com.bmc.cloud.model.beans.ComputeContainer";

/// Longest server name and description accepted.
const MAX_NAME_LEN: usize = 255;

/// Longest callback URL accepted.
const MAX_CALLBACK_LEN: usize = 2048;

/// The mode fields every operation body may carry.
struct Options {
    timeout: Timeout,
    callback_url: Option<String>,
}

impl Options {
    fn read(body: &Map<String, Value>) -> Result<Options, ClmError> {
        let timeout = match body.get(TIMEOUT_FIELD) {
            // Omitted means -1 (seed 003).
            None | Some(Value::Null) => Timeout::SyncDefault,
            Some(value) => value.as_i64().and_then(Timeout::from_i64).ok_or_else(|| {
                ClmError::bad_request("timeout must be an integer: 0 (asynchronous), -1 (server default) or seconds")
            })?,
        };
        let callback_url = string_field(body, CALLBACK_URL_FIELD)?.map(str::to_owned);
        if let Some(url) = &callback_url {
            // The SDK's own rule (absolute http/https, no whitespace), plus what the client needs.
            let valid = url.len() <= MAX_CALLBACK_LEN
                && OperationBody::new(Timeout::Async).callback_url(url.as_str()).is_ok()
                && reqwest::Url::parse(url).is_ok();
            if !valid {
                return Err(ClmError::bad_request(format!(
                    "{CALLBACK_URL_FIELD} must be an absolute http or https URL of at most {MAX_CALLBACK_LEN} characters"
                )));
            }
        }
        Ok(Options { timeout, callback_url })
    }

    /// How long to wait for the job; `None` answers at once.
    fn wait(&self) -> Option<Duration> {
        match self.timeout {
            Timeout::Async => None,
            Timeout::SyncDefault => Some(Duration::from_secs(DEFAULT_SYNC_TIMEOUT_SECS)),
            Timeout::SyncFor(seconds) => Some(Duration::from_secs(u64::from(seconds))),
        }
    }
}

/// What an operation asks the job runner to do.
struct NewTask {
    /// Hub command name (`createServer`, `search`, …), which picks its effect and duration.
    command: &'static str,
    /// `className` (short).
    class_name: &'static str,
    /// `operationName`.
    operation_name: &'static str,
    /// The server acted on.
    container: Option<String>,
    /// Resources it creates (their rows exist while it runs).
    created: Vec<Resource>,
    /// A search's rows.
    search: Option<Snapshot>,
}

/// Makes the job, hands it to the runner, and answers by `options.timeout`.
async fn run(
    state: &AppState,
    caller: &Caller,
    context: &RequestContext,
    options: Options,
    new: NewTask,
) -> Result<Response, ClmError> {
    let NewTask { command, class_name, operation_name, container, created, search } = new;
    let now = unix_ms();
    let plan = if state.scenario.random_failure() {
        Plan::Fail {
            code: 530,
            text: format!("{class_name}.{operation_name} failed: internal error in the simulated cloud"),
        }
    } else {
        // `None` for commands the scenario has no capacity rule for (today: CloudStack's only).
        state.scenario.capacity_failure(command).unwrap_or(Plan::Succeed)
    };
    let meta = TaskMeta {
        task_guid: uuid::Uuid::new_v4().to_string(),
        transaction_id: context.transaction_id.clone(),
        base_url: context.base_url.clone(),
        class_name: class_name.into(),
        operation_name: operation_name.into(),
        search,
    };
    let params = serde_json::to_value(&meta).map_err(|err| {
        tracing::error!(%err, "cannot encode task metadata");
        ClmError::internal()
    })?;
    let job = Job {
        id: uuid::Uuid::new_v4().to_string(),
        owner: caller.user.id.clone(),
        protocol: Protocol::Clm,
        command: command.into(),
        cmd_class: format!("com.bmc.cloud.model.beans.{class_name}"),
        instance: container.map(|id| (CONTAINER_KIND.to_owned(), id)),
        created_ms: now,
        finish_at_ms: now.saturating_add(state.scenario.job_duration_ms(command)),
        completed_ms: None,
        plan,
        state: JobState::Pending,
        params,
        callback_url: options.callback_url.clone(),
        reports_progress: state.job_progress,
    };
    let job_id = job.id.clone();
    state.hub.submit(job.clone(), created).map_err(|err| {
        tracing::error!(%err, "cannot save a CLM task");
        ClmError::internal()
    })?;
    let Some(wait) = options.wait() else {
        // The Task as queued (seed 003: QUEUED), however long the store took.
        return Ok(render::ok(vec![task_json(&job, &context.base_url, job.created_ms)]));
    };
    state.hub.wait_for_finish(&job_id, wait).await;
    let job = state.hub.job(&job_id).unwrap_or(job);
    if matches!(job.state, JobState::Succeeded { .. }) {
        return Ok(render::ok(result_objects(&job, &TaskMeta::of(&job), None)));
    }
    Ok(render::ok(vec![task_json(&job, &context.base_url, unix_ms())]))
}

/// An optional text field of at most [`MAX_NAME_LEN`] characters without control characters.
fn text_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ClmError> {
    let value = string_field(body, name)?;
    if value.is_some_and(|text| text.chars().count() > MAX_NAME_LEN || text.chars().any(char::is_control)) {
        return Err(ClmError::bad_request(format!(
            "{name} must be at most {MAX_NAME_LEN} characters without control characters"
        )));
    }
    Ok(value)
}

/// `POST /csm/ComputeContainer`: a new server (state `Starting` at once, `Running` when its
/// `createServer` job succeeds, `Error` when it fails). Body fields `name` (default
/// `cc-<first 8 of its guid>`) and `description`, optional.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    context: RequestContext,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ClmError> {
    let body = read_object(body)?;
    let options = Options::read(&body)?;
    let guid = uuid::Uuid::new_v4().to_string();
    let name = match text_field(&body, "name")? {
        Some(name) if !name.trim().is_empty() => name.to_owned(),
        Some(_) => return Err(ClmError::bad_request("name must not be blank")),
        None => format!("cc-{}", guid.get(..8).unwrap_or(&guid)),
    };
    let mut object = json!({
        "cloudClass": CONTAINER_CLASS, "guid": guid, "name": name, "owner": caller.user.username,
        "state": "Starting", "createdTime": clm_date(unix_ms()),
    });
    if let (Some(description), Some(map)) = (text_field(&body, "description")?, object.as_object_mut()) {
        map.insert("description".into(), json!(description));
    }
    let resource = Resource {
        id: guid.clone(),
        kind: CONTAINER_KIND.into(),
        owner: caller.user.id.clone(),
        object,
        removed: false,
    };
    let new = NewTask {
        command: "createServer",
        class_name: CONTAINER_KIND,
        operation_name: "create",
        container: Some(guid),
        created: vec![resource],
        search: None,
    };
    run(&state, &caller, &context, options, new).await
}

/// The caller's server `guid`, or 404 (also for another user's).
fn owned_container(state: &AppState, caller: &Caller, guid: &str) -> Result<Resource, ClmError> {
    state
        .hub
        .resource(guid)
        .filter(|r| r.kind == CONTAINER_KIND && r.owner == caller.user.id && !r.removed)
        .ok_or_else(|| ClmError::not_found("ComputeContainer not found"))
}

fn container_guid(path: Result<Path<String>, PathRejection>) -> Result<String, ClmError> {
    path.map(|Path(guid)| guid).map_err(|_| ClmError::not_found("ComputeContainer not found"))
}

/// `GET /csm/ComputeContainer/{guid}`: `[ComputeContainer]`.
pub async fn get_container(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ClmError> {
    let guid = container_guid(path)?;
    Ok(render::ok(vec![owned_container(&state, &caller, &guid)?.object]))
}

/// `POST /csm/ComputeContainer/{guid}/start`: needs the server `Stopped`; it is `Starting` until
/// the job ends (`Running`, or back to `Stopped` on failure). 409 from any other state.
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ClmError> {
    change_state(&state, &caller, &context, path, body, ("startServer", "start", "Stopped", "Starting")).await
}

/// `POST /csm/ComputeContainer/{guid}/stop`: needs the server `Running`; it is `Stopping` until
/// the job ends (`Stopped`, or back to `Running` on failure). 409 from any other state.
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ClmError> {
    change_state(&state, &caller, &context, path, body, ("stopServer", "stop", "Running", "Stopping")).await
}

/// Checks and marks the transition under the hub's lock (two concurrent starts cannot both
/// pass), then runs the job. `transition` is (command, operation, required state, transient state).
async fn change_state(
    state: &AppState,
    caller: &Caller,
    context: &RequestContext,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
    transition: (&'static str, &'static str, &str, &str),
) -> Result<Response, ClmError> {
    let (command, operation, required, transient) = transition;
    let guid = container_guid(path)?;
    let options = Options::read(&read_object(body)?)?;
    owned_container(state, caller, &guid)?;
    let mut found_state = None;
    let updated = state.hub.update_resource(&guid, |resource| {
        if resource.state() == required {
            if let Some(object) = resource.object.as_object_mut() {
                object.insert("state".into(), json!(transient));
            }
        } else {
            found_state = Some(resource.state().to_owned());
        }
    });
    updated.map_err(|err| {
        tracing::error!(%err, "cannot save a ComputeContainer");
        ClmError::internal()
    })?;
    if let Some(current) = found_state {
        return Err(ClmError::conflict(format!(
            "ComputeContainer {guid} is {current}; {operation} needs it {required}"
        )));
    }
    let new = NewTask {
        command,
        class_name: CONTAINER_KIND,
        operation_name: operation,
        container: Some(guid),
        created: Vec::new(),
        search: None,
    };
    run(state, caller, context, options, new).await
}

/// `POST /csm/staticpool/search`: every static pool, as a `SearchResults` (paged by the body's
/// `pageNo` / `pageSize`, or later by `/result`'s query).
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    context: RequestContext,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ClmError> {
    let body = read_object(body)?;
    let options = Options::read(&body)?;
    let page = Page::from_body(&body)?;
    let snapshot = Snapshot { guid: uuid::Uuid::new_v4().to_string(), rows: search::static_pools(), page };
    let new = NewTask {
        command: "search",
        class_name: "StaticPool",
        operation_name: "search",
        container: None,
        created: Vec::new(),
        search: Some(snapshot),
    };
    run(&state, &caller, &context, options, new).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(body: Value) -> Result<Options, ClmError> {
        match body {
            Value::Object(map) => Options::read(&map),
            _ => Err(ClmError::bad_request("not an object")),
        }
    }

    #[test]
    fn timeout_modes() {
        let wait = |body| options(body).map(|o| o.wait());
        assert_eq!(wait(json!({})), Ok(Some(Duration::from_secs(DEFAULT_SYNC_TIMEOUT_SECS))));
        assert_eq!(wait(json!({"timeout": -1})), Ok(Some(Duration::from_secs(DEFAULT_SYNC_TIMEOUT_SECS))));
        assert_eq!(wait(json!({"timeout": 0})), Ok(None));
        assert_eq!(wait(json!({"timeout": 7})), Ok(Some(Duration::from_secs(7))));
        for bad in [json!({"timeout": -2}), json!({"timeout": "5"}), json!({"timeout": 1.5}), json!({"timeout": 1e12})]
        {
            assert!(options(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn callback_urls_are_checked() {
        let url = |u: &str| options(json!({"callbackURL": u})).map(|o| o.callback_url);
        assert_eq!(url("http://127.0.0.1:9/cb/t0k"), Ok(Some("http://127.0.0.1:9/cb/t0k".into())));
        assert!(url("https://hooks.example/x").is_ok());
        for bad in
            ["ftp://x/y", "/relative", "javascript:alert(1)", "http://a b/", &format!("http://h/{}", "x".repeat(3000))]
        {
            assert!(url(bad).is_err(), "{bad}");
        }
        assert!(options(json!({"callbackURL": 5})).is_err());
    }
}
