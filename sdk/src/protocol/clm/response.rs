//! CLM response bodies: what an operation answered, a task's status, a task's result.
//!
//! CLM answers a JSON array even for one object, and answers `200 OK` both when an operation
//! finished synchronously and when it was queued; what came back is told by the objects'
//! `cloudClass`, never by the HTTP status.

use serde_json::Value;

use super::task::{is_cloud_error, is_task, ResultEntry, Task};
use super::{fields, SEARCH_RESULTS_CLASS};
use crate::protocol::{excerpt, ApiError, ProtocolError};

/// What a CLM operation answered.
#[derive(Debug, Clone, PartialEq)]
pub enum ClmResponse {
    /// A single Task: the operation runs asynchronously (`timeout` 0, or a sync wait that ran
    /// out); poll it.
    Task(Box<Task>),
    /// `CloudError` objects: the server refused or failed the request.
    Errors(Vec<CloudError>),
    /// Cloud objects: the operation's synchronous result (possibly none).
    Objects(Vec<Value>),
}

/// An error CLM reports in a body (`com.bmc.cloud.model.beans.CloudError`).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudError {
    /// `errorID`, the error's identifier.
    pub error_id: Option<String>,
    /// `errorCause`, the human-readable reason.
    pub error_cause: Option<String>,
    /// `guid` of the error object.
    pub guid: Option<String>,
    /// The whole object.
    pub raw: Value,
}

impl CloudError {
    /// Reads a `CloudError` object.
    ///
    /// # Errors
    /// [`ProtocolError`] when the value is not an object or a field has the wrong type.
    pub fn from_value(value: &Value) -> Result<CloudError, ProtocolError> {
        let Value::Object(map) = value else {
            return Err(ProtocolError::UnexpectedShape(format!("CloudError is not an object: {}", excerpt(value))));
        };
        Ok(CloudError {
            error_id: fields::string(map, "errorID")?,
            error_cause: fields::string(map, "errorCause")?,
            guid: fields::string(map, "guid")?,
            raw: value.clone(),
        })
    }

    /// The error in the shared model: code = `errorID` when it is numeric, else 0 (a textual
    /// id is kept in the text instead, so it is not lost).
    pub fn to_api_error(&self) -> ApiError {
        let numeric = self.error_id.as_deref().and_then(|id| id.trim().parse::<i64>().ok());
        let cause = self.error_cause.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let text = match (cause, self.error_id.as_deref().filter(|_| numeric.is_none())) {
            (Some(cause), Some(id)) => format!("{cause} ({id})"),
            (Some(cause), None) => cause.to_owned(),
            (None, Some(id)) => format!("CLM error {id}"),
            (None, None) => "CLM error".to_owned(),
        };
        ApiError { code: numeric.unwrap_or(0), cs_error_code: None, text }
    }
}

/// A paged search answer (`com.bmc.cloud.model.beans.SearchResults`), as `/result` returns for
/// search operations.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// `guid` of the result object.
    pub guid: Option<String>,
    /// `pageNo`: the page returned (the seed shows 0 with `pageSize` 0 for an unpaged answer).
    pub page_no: Option<i64>,
    /// `pageSize`: objects per page, 0 when unpaged.
    pub page_size: Option<i64>,
    /// `totalRows`: how many objects matched in all.
    pub total_rows: Option<i64>,
    /// `results`: the objects of this page.
    pub results: Vec<Value>,
    /// The whole object.
    pub raw: Value,
}

impl SearchResults {
    /// Reads a `SearchResults` object.
    ///
    /// # Errors
    /// [`ProtocolError`] when the value is not an object or a field has the wrong type.
    pub fn from_value(value: &Value) -> Result<SearchResults, ProtocolError> {
        let Value::Object(map) = value else {
            return Err(ProtocolError::UnexpectedShape(format!("SearchResults is not an object: {}", excerpt(value))));
        };
        Ok(SearchResults {
            guid: fields::string(map, "guid")?,
            page_no: fields::integer(map, "pageNo")?,
            page_size: fields::integer(map, "pageSize")?,
            total_rows: fields::integer(map, "totalRows")?,
            results: fields::array(map, "results")?,
            raw: value.clone(),
        })
    }
}

/// What a task's result holds.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskResult {
    /// A single `SearchResults` object (search operations).
    Search(SearchResults),
    /// `CloudError` objects.
    Errors(Vec<CloudError>),
    /// Any other objects, `"<javaClass>:<json>"` strings decoded.
    Objects(Vec<ResultEntry>),
}

impl TaskResult {
    /// Classifies result entries, from `/result` or a completed task's inline `results[]`.
    ///
    /// # Errors
    /// [`ProtocolError`] when a `SearchResults` or `CloudError` object has mistyped fields.
    pub fn from_entries(entries: Vec<ResultEntry>) -> Result<TaskResult, ProtocolError> {
        if entries.iter().any(|entry| is_cloud_error(&entry.value)) {
            let errors = entries.iter().filter(|e| is_cloud_error(&e.value)).map(|e| CloudError::from_value(&e.value));
            return errors.collect::<Result<_, _>>().map(TaskResult::Errors);
        }
        if let [entry] = entries.as_slice() {
            let is_search = entry.java_class.as_deref() == Some(SEARCH_RESULTS_CLASS)
                || entry.value.get("cloudClass").and_then(Value::as_str) == Some(SEARCH_RESULTS_CLASS);
            if is_search && entry.value.is_object() {
                return SearchResults::from_value(&entry.value).map(TaskResult::Search);
            }
        }
        Ok(TaskResult::Objects(entries))
    }
}

/// The objects of a CLM body: the top-level array's items. A lone object is taken as a
/// one-item array, as a proxy or an older server may unwrap it.
fn body_items(body: &[u8]) -> Result<Vec<Value>, ProtocolError> {
    crate::protocol::check_size(body)?;
    let value = crate::protocol::json::parse(body).map_err(ProtocolError::Json)?;
    match value {
        Value::Array(items) => Ok(items),
        object @ Value::Object(_) => Ok(vec![object]),
        other => Err(ProtocolError::UnexpectedShape(format!("top level is not an array: {}", excerpt(&other)))),
    }
}

/// Reads what a CLM operation answered.
///
/// A body is a [`ClmResponse::Task`] when it holds exactly one object and that object's
/// `cloudClass` is `com.bmc.cloud.model.beans.Task`; several Tasks are the answer of a search over
/// tasks, hence [`ClmResponse::Objects`]. Any `CloudError` makes it [`ClmResponse::Errors`] (with
/// only the errors).
///
/// # Errors
/// [`ProtocolError`] when the body is not JSON, not an array of objects' shape, or holds a Task
/// or CloudError with mistyped fields.
pub fn parse_response(body: &[u8]) -> Result<ClmResponse, ProtocolError> {
    let items = body_items(body)?;
    if let [item] = items.as_slice() {
        if is_task(item) {
            return Task::from_value(item).map(|task| ClmResponse::Task(Box::new(task)));
        }
    }
    if items.iter().any(is_cloud_error) {
        let errors = items.iter().filter(|item| is_cloud_error(item)).map(CloudError::from_value);
        return errors.collect::<Result<_, _>>().map(ClmResponse::Errors);
    }
    Ok(ClmResponse::Objects(items))
}

/// Reads the answer of `GET csm/task/{taskInternalUUID}/status` (or of `taskStatusURI`): the
/// first Task in the body.
///
/// # Errors
/// [`ProtocolError::UnexpectedShape`] when the body holds no Task (a `CloudError` answer is
/// reported with its cause); other [`ProtocolError`]s for malformed bodies or tasks.
pub fn parse_task_status(body: &[u8]) -> Result<Task, ProtocolError> {
    let items = body_items(body)?;
    if let Some(task) = items.iter().find(|item| is_task(item)) {
        return Task::from_value(task);
    }
    if let Some(error) = items.iter().find(|item| is_cloud_error(item)) {
        let error = CloudError::from_value(error)?.to_api_error();
        return Err(ProtocolError::UnexpectedShape(format!("CloudError instead of a Task: {error}")));
    }
    match items.first() {
        Some(first) => Err(ProtocolError::UnexpectedShape(format!("no Task in the response: {}", excerpt(first)))),
        None => Err(ProtocolError::UnexpectedShape("empty response instead of a Task".into())),
    }
}

/// Reads the answer of `GET csm/task/{taskInternalUUID}/result` (or of `taskResultURI`).
///
/// # Errors
/// [`ProtocolError`] when the body is not a JSON array, or a `SearchResults`/`CloudError` in it
/// has mistyped fields.
pub fn parse_task_result(body: &[u8]) -> Result<TaskResult, ProtocolError> {
    TaskResult::from_entries(body_items(body)?.iter().map(ResultEntry::decode).collect())
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use crate::protocol::clm::{CLOUD_ERROR_CLASS, TASK_CLASS};
    use crate::protocol::JobState;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn bytes(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn a_single_task_is_recognised_by_cloud_class() {
        let body = bytes(json!([{"cloudClass": TASK_CLASS, "taskInternalUUID": "t", "taskState": "QUEUED"}]));
        let Ok(ClmResponse::Task(task)) = parse_response(&body) else { panic!("not a task") };
        assert_eq!((task.task_internal_uuid.as_str(), task.state()), ("t", JobState::Pending));
        // Same object unwrapped from its array.
        let body = bytes(json!({"cloudClass": TASK_CLASS, "taskInternalUUID": "t"}));
        assert!(matches!(parse_response(&body), Ok(ClmResponse::Task(_))));
    }

    #[test]
    fn objects_and_several_tasks_are_objects() {
        let body = bytes(json!([{"cloudClass": "com.bmc.cloud.model.beans.StaticPool", "guid": "p"}]));
        assert_eq!(
            parse_response(&body),
            Ok(ClmResponse::Objects(vec![json!({"cloudClass": "com.bmc.cloud.model.beans.StaticPool", "guid": "p"})]))
        );
        let two = bytes(json!([
            {"cloudClass": TASK_CLASS, "taskInternalUUID": "a"},
            {"cloudClass": TASK_CLASS, "taskInternalUUID": "b"}
        ]));
        assert!(matches!(parse_response(&two), Ok(ClmResponse::Objects(items)) if items.len() == 2));
        assert_eq!(parse_response(b"[]"), Ok(ClmResponse::Objects(vec![])));
        // A Task-looking object with a different class string is not a Task.
        let body = bytes(json!([{"cloudClass": "com.bmc.cloud.model.beans.TaskX", "taskInternalUUID": "t"}]));
        assert!(matches!(parse_response(&body), Ok(ClmResponse::Objects(_))));
    }

    #[test]
    fn cloud_errors_are_reported() {
        let body = bytes(
            json!([{"cloudClass": CLOUD_ERROR_CLASS, "errorCause": "Invalid token", "errorID": "401", "guid": "g"}]),
        );
        let Ok(ClmResponse::Errors(errors)) = parse_response(&body) else { panic!("not errors") };
        assert_eq!(errors[0].to_api_error(), ApiError { code: 401, cs_error_code: None, text: "Invalid token".into() });
        let textual =
            CloudError { error_id: Some("BMC-CSM-7".into()), error_cause: None, guid: None, raw: Value::Null };
        assert_eq!(textual.to_api_error().text, "CLM error BMC-CSM-7");
        let err = parse_task_status(&body);
        assert!(matches!(err, Err(ProtocolError::UnexpectedShape(ref m)) if m.contains("Invalid token")), "{err:?}");
    }

    #[test]
    fn task_status_needs_a_task() {
        assert!(matches!(parse_task_status(b"[]"), Err(ProtocolError::UnexpectedShape(_))));
        assert!(matches!(parse_task_status(b"[{\"cloudClass\":\"x\"}]"), Err(ProtocolError::UnexpectedShape(_))));
        let body = bytes(json!([{"cloudClass": TASK_CLASS}]));
        assert_eq!(parse_task_status(&body), Err(ProtocolError::MissingField("taskInternalUUID")));
    }

    #[test]
    fn task_result_classification() {
        let search = bytes(json!([{"cloudClass": SEARCH_RESULTS_CLASS, "pageNo": 2, "pageSize": "10", "totalRows": 25,
            "results": [{"guid": "a"}]}]));
        let Ok(TaskResult::Search(page)) = parse_task_result(&search) else { panic!("not a search") };
        assert_eq!(
            (page.page_no, page.page_size, page.total_rows, page.results.len()),
            (Some(2), Some(10), Some(25), 1)
        );

        let strings = bytes(json!(["com.bmc.cloud.model.beans.ComputeContainer:{\"guid\":\"cc\"}", "opaque"]));
        let Ok(TaskResult::Objects(entries)) = parse_task_result(&strings) else { panic!("not objects") };
        assert_eq!(entries[0].value, json!({"guid": "cc"}));
        assert_eq!(entries[1].value, json!("opaque"));

        let as_string = bytes(json!([format!("{SEARCH_RESULTS_CLASS}:{{\"pageNo\":0,\"results\":[]}}")]));
        assert!(matches!(
            parse_task_result(&as_string),
            Ok(TaskResult::Search(SearchResults { page_no: Some(0), .. }))
        ));

        let bad_page = bytes(json!([{"cloudClass": SEARCH_RESULTS_CLASS, "totalRows": "many"}]));
        assert!(matches!(parse_task_result(&bad_page), Err(ProtocolError::InvalidField { field: "totalRows", .. })));
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        for body in [&b""[..], b"[", b"\xff\xfe", b"nul"] {
            assert!(matches!(parse_response(body), Err(ProtocolError::Json(_))), "{body:?}");
        }
        for body in [&b"1"[..], b"\"x\"", b"null", b"true"] {
            assert!(matches!(parse_response(body), Err(ProtocolError::UnexpectedShape(_))), "{body:?}");
            assert!(matches!(parse_task_result(body), Err(ProtocolError::UnexpectedShape(_))), "{body:?}");
        }
        // Hostile nesting hits serde_json's recursion limit: an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse_response(deep.as_bytes()), Err(ProtocolError::Json(_))));
        let body = bytes(json!([{"cloudClass": CLOUD_ERROR_CLASS, "errorCause": ["not", "text"]}]));
        assert!(matches!(parse_response(&body), Err(ProtocolError::InvalidField { field: "errorCause", .. })));
    }
}
