//! CLM tasks: how a job looks as a `com.bmc.cloud.model.beans.Task`, and the task calls
//! `GET /csm/task/{taskInternalUUID}/status` (with RFC 7240 `Prefer: wait=N`), `.../result`
//! (paged for searches) and `GET /csm/Task/{guid}`.
//!
//! A task is a hub job of protocol CLM; `taskInternalUUID` is the job id. What CLM needs beyond
//! the job (the Task's own `guid`, the base URL for callbacks, class and operation names, a
//! search's rows) is kept as [`TaskMeta`] in the job's `params`.

use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use jobwire::protocol::clm::request::validate_task_id;
use jobwire::protocol::clm::TASK_CLASS;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::auth::Caller;
use super::render::{self, clm_date};
use super::search::{Page, Snapshot};
use super::{ClmError, RequestContext};
use crate::cloudstack::preferred_wait;
use crate::model::{unix_ms, Job, JobState, Protocol};
use crate::AppState;

/// What a CLM job carries besides the hub's job fields (stored as the job's `params`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskMeta {
    /// The Task object's `guid` (not the id polled: that is `taskInternalUUID`).
    pub task_guid: String,
    /// `BMC-Transaction-ID` of the request that submitted it (the Task's `transactionID`).
    pub transaction_id: String,
    /// The submitter's base URL, for the URIs of the Task sent to the callback.
    pub base_url: String,
    /// `className`, e.g. `ComputeContainer`.
    pub class_name: String,
    /// `operationName`, e.g. `start`.
    pub operation_name: String,
    /// A search's rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<Snapshot>,
}

impl TaskMeta {
    /// The metadata of `job`; defaults for a job without (not a CLM job, or a damaged row), so
    /// rendering never fails.
    pub fn of(job: &Job) -> TaskMeta {
        serde_json::from_value(job.params.clone()).unwrap_or_default()
    }
}

/// `taskState` of a job.
fn task_state(job: &Job, now_ms: u64) -> &'static str {
    match job.state {
        // QUEUED until the job shows progress, as a just-submitted CLM task is (one that reports
        // no progress runs at once).
        JobState::Pending if job.reports_progress && job.progress(now_ms) == 0 => "QUEUED",
        JobState::Pending => "RUNNING",
        JobState::Succeeded { .. } => "COMPLETED",
        JobState::Failed { .. } => "FAILED",
    }
}

/// `{base}/csm/task/{id}/{what}`.
fn task_uri(base_url: &str, job: &Job, what: &str) -> String {
    format!("{base_url}/csm/task/{}/{what}", job.id)
}

/// `job` as a CLM Task, its URIs under `base_url`.
pub fn task_json(job: &Job, base_url: &str, now_ms: u64) -> Value {
    let meta = TaskMeta::of(job);
    let guid = if meta.task_guid.is_empty() { job.id.clone() } else { meta.task_guid.clone() };
    let mut task = Map::new();
    task.insert("cloudClass".into(), json!(TASK_CLASS));
    task.insert("guid".into(), json!(guid));
    task.insert("taskInternalUUID".into(), json!(job.id));
    task.insert("taskState".into(), json!(task_state(job, now_ms)));
    task.insert("taskProgress".into(), json!(f64::from(job.progress(now_ms))));
    task.insert("creationTime".into(), json!(clm_date(job.created_ms)));
    task.insert("taskStatusURI".into(), json!(task_uri(base_url, job, "status")));
    task.insert("className".into(), json!(meta.class_name));
    task.insert("operationName".into(), json!(meta.operation_name));
    task.insert("isCallout".into(), json!(false));
    if !meta.transaction_id.is_empty() {
        task.insert("transactionID".into(), json!(meta.transaction_id));
    }
    let (success, error, sub_state, errors, results) = match &job.state {
        JobState::Pending => (false, false, None, Vec::new(), Vec::new()),
        JobState::Succeeded { .. } => {
            // Inline results as CLM sends them: `"<javaClass>:<json text>"`.
            let inline = result_objects(job, &meta, None).iter().map(inline_entry).collect();
            (true, false, Some("task_success"), Vec::new(), inline)
        }
        JobState::Failed { code, text } => {
            (false, true, Some("task_failure"), vec![render::cloud_error(&code.to_string(), text)], Vec::new())
        }
    };
    task.insert("isSuccess".into(), json!(success));
    task.insert("isError".into(), json!(error));
    task.insert("errors".into(), Value::Array(errors));
    task.insert("results".into(), Value::Array(results));
    if let Some(sub_state) = sub_state {
        task.insert("taskSubState".into(), json!(sub_state));
    }
    if let Some(completed) = job.completed_ms {
        task.insert("completionTime".into(), json!(clm_date(completed)));
        task.insert("taskResultURI".into(), json!(task_uri(base_url, job, "result")));
    }
    Value::Object(task)
}

fn inline_entry(object: &Value) -> Value {
    let class = object.get("cloudClass").and_then(Value::as_str).unwrap_or("java.lang.Object");
    let text = serde_json::to_string_pretty(object).unwrap_or_else(|_| object.to_string());
    Value::String(format!("{class}:{text}"))
}

/// What a succeeded job produced, as cloud objects: a search's page (`page`, or the one its
/// body asked for), or the object the job acted on. Empty for jobs that did not succeed.
pub fn result_objects(job: &Job, meta: &TaskMeta, page: Option<Page>) -> Vec<Value> {
    let JobState::Succeeded { result } = &job.state else { return Vec::new() };
    if let Some(search) = &meta.search {
        return vec![search.results(page.unwrap_or(search.page))];
    }
    // Effects report `{"<resource kind>": object}` for jobs on a resource.
    match job.instance.as_ref().and_then(|(kind, _)| result.get(kind)) {
        Some(object) => vec![object.clone()],
        None => Vec::new(),
    }
}

/// The caller's CLM job `id`, or 404 (also for another user's task: its existence is not told).
fn owned_task(state: &AppState, caller: &Caller, id: &str) -> Result<Job, ClmError> {
    state.hub.job(id).filter(|job| job.protocol == Protocol::Clm && job.owner == caller.user.id).ok_or_else(|| {
        match validate_task_id(id) {
            Ok(id) => ClmError::not_found(format!("Task {id} not found")),
            // Not echoed: it is no id of ours and may be anything.
            Err(_) => ClmError::not_found("Task not found"),
        }
    })
}

fn task_id(path: Result<Path<String>, PathRejection>) -> Result<String, ClmError> {
    path.map(|Path(id)| id).map_err(|_| ClmError::not_found("Task not found"))
}

/// `GET /csm/task/{taskInternalUUID}/status`: `[Task]`. With `Prefer: wait=N` (capped at 30 s)
/// the answer for an unfinished task is held until it finishes or N s pass, and says
/// `Preference-Applied: wait=N`.
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    context: RequestContext,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ClmError> {
    let id = task_id(path)?;
    let mut job = owned_task(&state, &caller, &id)?;
    let wait = preferred_wait(&headers);
    if let Some(wait) = wait {
        if !job.is_finished() {
            state.hub.wait_for_finish(&id, Duration::from_secs(wait)).await;
            job = state.hub.job(&id).unwrap_or(job);
        }
    }
    let mut response = render::ok(vec![task_json(&job, &context.base_url, unix_ms())]);
    if let Some(wait) = wait {
        if let Ok(value) = HeaderValue::from_str(&format!("wait={wait}")) {
            response.headers_mut().insert(HeaderName::from_static("preference-applied"), value);
        }
        response.headers_mut().insert(HeaderName::from_static("vary"), HeaderValue::from_static("Prefer"));
    }
    Ok(response)
}

/// `GET /csm/task/{taskInternalUUID}/result[?pageNo=&pageSize=]`: `[result object]` of a
/// succeeded task (a search's `SearchResults` page, or the object acted on); the task's
/// `[CloudError]`s for a failed one; 409 while it runs.
pub async fn result(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ClmError> {
    let id = task_id(path)?;
    let job = owned_task(&state, &caller, &id)?;
    let meta = TaskMeta::of(&job);
    match &job.state {
        JobState::Pending => Err(ClmError::conflict(format!("Task {id} has not completed; poll its taskStatusURI"))),
        JobState::Failed { code, text } => Ok(render::ok(vec![render::cloud_error(&code.to_string(), text)])),
        JobState::Succeeded { .. } => {
            let default = meta.search.as_ref().map(|search| search.page).unwrap_or_default();
            let page = Page::from_query(query.as_deref(), default)?;
            Ok(render::ok(result_objects(&job, &meta, Some(page))))
        }
    }
}

/// `GET /csm/Task/{guid}`: `[Task]` by the task object's `guid`.
pub async fn by_guid(
    State(state): State<AppState>,
    caller: Caller,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ClmError> {
    let guid = task_id(path)?;
    let found = state.hub.jobs_where(|job| {
        job.protocol == Protocol::Clm
            && job.owner == caller.user.id
            && job.params.get("taskGuid").and_then(Value::as_str) == Some(guid.as_str())
    });
    let job = found.into_iter().next().ok_or_else(|| ClmError::not_found("Task not found"))?;
    Ok(render::ok(vec![task_json(&job, &context.base_url, unix_ms())]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Plan;
    use jobwire::protocol::clm::{parse_task_status, Task};
    use jobwire::protocol::JobState as SdkState;

    fn job(state: JobState) -> Job {
        let meta = TaskMeta {
            task_guid: "tg".into(),
            transaction_id: "tx".into(),
            base_url: "http://h".into(),
            class_name: "ComputeContainer".into(),
            operation_name: "start".into(),
            search: None,
        };
        Job {
            id: "t-1".into(),
            owner: "u".into(),
            protocol: Protocol::Clm,
            command: "startServer".into(),
            cmd_class: "com.bmc.cloud.model.beans.ComputeContainer".into(),
            instance: Some(("ComputeContainer".into(), "cc".into())),
            created_ms: 1_000,
            finish_at_ms: 2_000,
            completed_ms: (!matches!(state, JobState::Pending)).then_some(2_000),
            plan: Plan::Succeed,
            state,
            params: serde_json::to_value(meta).unwrap_or_default(),
            callback_url: None,
            reports_progress: true,
        }
    }

    fn sdk_task(job: &Job, now_ms: u64) -> Task {
        let body = Value::Array(vec![task_json(job, "http://h:8080", now_ms)]).to_string();
        match parse_task_status(body.as_bytes()) {
            Ok(task) => task,
            Err(err) => panic!("the SDK cannot read our task: {err}"),
        }
    }

    #[test]
    fn pending_tasks_are_queued_then_running() {
        let queued = sdk_task(&job(JobState::Pending), 1_000);
        assert_eq!((queued.task_state.as_deref(), queued.state()), (Some("QUEUED"), SdkState::Pending));
        assert_eq!(queued.task_status_uri.as_deref(), Some("http://h:8080/csm/task/t-1/status"));
        assert_eq!((queued.task_result_uri, queued.completion_time), (None, None));
        assert_eq!(queued.guid.as_deref(), Some("tg"));
        assert_eq!(queued.transaction_id.as_deref(), Some("tx"));
        let running = sdk_task(&job(JobState::Pending), 1_500);
        assert_eq!((running.task_state.as_deref(), running.task_progress), (Some("RUNNING"), Some(49.0)));
    }

    #[test]
    fn finished_tasks_carry_results_or_errors() {
        let object = json!({"cloudClass": "com.bmc.cloud.model.beans.ComputeContainer", "guid": "cc"});
        let done = sdk_task(&job(JobState::Succeeded { result: json!({"ComputeContainer": object}) }), 5_000);
        assert_eq!((done.state(), done.task_progress), (SdkState::Succeeded, Some(100.0)));
        assert_eq!(done.task_result_uri.as_deref(), Some("http://h:8080/csm/task/t-1/result"));
        assert_eq!(done.results.len(), 1);
        assert_eq!(done.results[0].value, object);
        assert_eq!(done.command().as_deref(), Some("ComputeContainer.start"));

        let failed = sdk_task(&job(JobState::Failed { code: 530, text: "boom".into() }), 5_000);
        assert_eq!(failed.state(), SdkState::Failed);
        let error = failed.error().map(|e| (e.code, e.text));
        assert_eq!(error, Some((530, "boom".into())));
    }

    #[test]
    fn metadata_survives_a_damaged_row() {
        let mut damaged = job(JobState::Pending);
        damaged.params = json!("not an object");
        assert_eq!(TaskMeta::of(&damaged), TaskMeta::default());
        assert_eq!(task_json(&damaged, "http://h", 1_000)["guid"], "t-1");
    }
}
