//! The CLM `Task` bean (`com.bmc.cloud.model.beans.Task`) and its mapping onto [`JobSnapshot`].
//!
//! Only `QUEUED` and `COMPLETED` are confirmed `taskState` values, so the state mapping leans on
//! the `isError`/`isSuccess` flags and `completionTime` and treats any other state as still
//! running unless those say it ended (see [`Task::state`]).

use serde_json::{Map, Value};

use super::response::TaskResult;
use super::{date, fields, CLOUD_ERROR_CLASS, TASK_CLASS};
use crate::protocol::{excerpt, ApiError, JobSnapshot, JobState, ProtocolError};

/// A CLM task as the server reports it, every documented field typed, the whole object in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// `cloudClass`: always [`TASK_CLASS`] for a task.
    pub cloud_class: String,
    /// `guid`: the task object's own id (for `GET csm/Task/{guid}`), not the one to poll.
    pub guid: Option<String>,
    /// `taskInternalUUID`: the id in `csm/task/{id}/status` and `/result`; the job id.
    pub task_internal_uuid: String,
    /// `parentTaskInternalUUID`, for sub-tasks.
    pub parent_task_internal_uuid: Option<String>,
    /// `taskState`, e.g. `QUEUED`, `COMPLETED`, as sent.
    pub task_state: Option<String>,
    /// `taskSubState`, e.g. `task_success`, `task_success_final`.
    pub task_sub_state: Option<String>,
    /// `taskProgress`, a percentage (`100.0` when done).
    pub task_progress: Option<f64>,
    /// `creationTime`, as sent (`yyyy/MM/dd HH:mm:ss zzz`); see [`Task::created_unix`].
    pub creation_time: Option<String>,
    /// `completionTime`, as sent; see [`Task::completed_unix`].
    pub completion_time: Option<String>,
    /// `taskStatusURI`: the absolute status URL, as the server knows its own address.
    pub task_status_uri: Option<String>,
    /// `taskResultURI`: the absolute result URL, present once the task is complete.
    pub task_result_uri: Option<String>,
    /// `isError`.
    pub is_error: Option<bool>,
    /// `isSuccess`.
    pub is_success: Option<bool>,
    /// `isCallout`: the task runs a callout.
    pub is_callout: Option<bool>,
    /// `errors`, each item kept as sent (their shape is not documented).
    pub errors: Vec<Value>,
    /// `results`, decoded (see [`ResultEntry`]).
    pub results: Vec<ResultEntry>,
    /// `className`, the class operated on, e.g. `ComputeContainer`.
    pub class_name: Option<String>,
    /// `operationName`, e.g. `start`.
    pub operation_name: Option<String>,
    /// `transactionID`, which matches the `BMC-Transaction-ID` response header.
    pub transaction_id: Option<String>,
    /// The whole task object, unknown fields included.
    pub raw: Value,
}

/// `taskState` values read as "cancelled" (compared case-insensitively).
const CANCELLED_STATES: &[&str] = &["CANCELLED", "CANCELED"];

/// `taskState` values read as "failed"; none is confirmed by BMC's docs, they are the names Java
/// task engines commonly use.
const FAILED_STATES: &[&str] = &["FAILED", "FAILURE", "ERROR", "ERRORED", "ABORTED", "TIMEDOUT", "TIMED_OUT"];

/// `taskState` values read as "finished"; `COMPLETED` is the documented one.
const DONE_STATES: &[&str] = &["COMPLETED", "COMPLETE", "SUCCEEDED", "SUCCESS", "SUCCESSFUL", "FINISHED", "DONE"];

/// `taskState` values known to mean "not finished"; unlike unknown states, a stray
/// `completionTime` does not end them.
const RUNNING_STATES: &[&str] =
    &["QUEUED", "NEW", "PENDING", "SCHEDULED", "WAITING", "STARTED", "RUNNING", "IN_PROGRESS", "EXECUTING"];

fn state_in(state: &str, set: &[&str]) -> bool {
    set.iter().any(|s| s.eq_ignore_ascii_case(state))
}

impl Task {
    /// Reads a task from its JSON object.
    ///
    /// # Errors
    /// [`ProtocolError::UnexpectedShape`] when the value is not an object or its `cloudClass` is
    /// not [`TASK_CLASS`]; [`ProtocolError::MissingField`] without `taskInternalUUID`;
    /// [`ProtocolError::InvalidField`] when a field has the wrong type.
    pub fn from_value(value: &Value) -> Result<Task, ProtocolError> {
        let Value::Object(map) = value else {
            return Err(ProtocolError::UnexpectedShape(format!("task is not an object: {}", excerpt(value))));
        };
        Task::from_object(map)
    }

    /// Reads a task from its JSON object's fields; see [`Task::from_value`].
    pub fn from_object(map: &Map<String, Value>) -> Result<Task, ProtocolError> {
        let cloud_class = fields::string(map, "cloudClass")?.ok_or(ProtocolError::MissingField("cloudClass"))?;
        if cloud_class != TASK_CLASS {
            return Err(ProtocolError::UnexpectedShape(format!("`cloudClass` is \"{cloud_class}\", not a Task")));
        }
        let task_internal_uuid =
            fields::string(map, "taskInternalUUID")?.ok_or(ProtocolError::MissingField("taskInternalUUID"))?;
        // Each field read keeps the first error for the end: one check instead of an early return
        // (and the drops of the fields read so far) after each of them.
        let mut invalid = None;
        let mut string = |field| fields::kept(&mut invalid, fields::string(map, field));
        let (guid, parent_task_internal_uuid) = (string("guid"), string("parentTaskInternalUUID"));
        let (task_state, task_sub_state) = (string("taskState"), string("taskSubState"));
        let (creation_time, completion_time) = (string("creationTime"), string("completionTime"));
        let (task_status_uri, task_result_uri) = (string("taskStatusURI"), string("taskResultURI"));
        let (class_name, operation_name) = (string("className"), string("operationName"));
        let transaction_id = string("transactionID");
        let task_progress = fields::kept(&mut invalid, fields::float(map, "taskProgress"));
        let mut flag = |field| fields::kept(&mut invalid, fields::boolean(map, field));
        let (is_error, is_success, is_callout) = (flag("isError"), flag("isSuccess"), flag("isCallout"));
        let errors = fields::kept(&mut invalid, fields::array(map, "errors").map(Some)).unwrap_or_default();
        let results = fields::kept(&mut invalid, fields::array(map, "results").map(Some)).unwrap_or_default();
        if let Some(error) = invalid {
            return Err(error);
        }
        Ok(Task {
            cloud_class,
            guid,
            task_internal_uuid,
            parent_task_internal_uuid,
            task_state,
            task_sub_state,
            task_progress,
            creation_time,
            completion_time,
            task_status_uri,
            task_result_uri,
            is_error,
            is_success,
            is_callout,
            errors,
            results: results.iter().map(ResultEntry::decode).collect(),
            class_name,
            operation_name,
            transaction_id,
            raw: Value::Object(map.clone()),
        })
    }

    /// Where the task is, from its state and flags, in this order:
    /// 1. `taskState` CANCELLED/CANCELED → [`JobState::Cancelled`];
    /// 2. `isError: true` or a failed-like state (FAILED, ERROR, ABORTED, …) → [`JobState::Failed`];
    /// 3. `isSuccess: true` → [`JobState::Succeeded`];
    /// 4. a known running state (QUEUED, RUNNING, …) → [`JobState::Pending`];
    /// 5. a finished state (COMPLETED, …), or an unknown one with `completionTime` set → ended:
    ///    [`JobState::Failed`] when `isSuccess` is explicitly false or `errors` is not empty,
    ///    else [`JobState::Succeeded`];
    /// 6. anything else → [`JobState::Pending`] (keep polling).
    pub fn state(&self) -> JobState {
        let state = self.task_state.as_deref().map(str::trim).unwrap_or_default();
        if state_in(state, CANCELLED_STATES) {
            return JobState::Cancelled;
        }
        if self.is_error == Some(true) || state_in(state, FAILED_STATES) {
            return JobState::Failed;
        }
        if self.is_success == Some(true) {
            return JobState::Succeeded;
        }
        if state_in(state, RUNNING_STATES) {
            return JobState::Pending;
        }
        let completed = self.completion_time.as_deref().is_some_and(|t| !t.trim().is_empty());
        if state_in(state, DONE_STATES) || completed {
            if self.is_success == Some(false) || !self.errors.is_empty() {
                return JobState::Failed;
            }
            return JobState::Succeeded;
        }
        JobState::Pending
    }

    /// The failure reason when the task failed or was cancelled, built from `errors[]`: the code
    /// is the first numeric error code found (0 when there is none), the text the items'
    /// messages joined by `; `.
    pub fn error(&self) -> Option<ApiError> {
        let state = self.state();
        if !matches!(state, JobState::Failed | JobState::Cancelled) {
            return None;
        }
        let code = self.errors.iter().find_map(error_code).unwrap_or(0);
        let messages: Vec<String> = self.errors.iter().map(error_message).filter(|m| !m.is_empty()).collect();
        let text = if messages.is_empty() {
            let verb = if state == JobState::Cancelled { "was cancelled" } else { "failed" };
            match self.task_state.as_deref() {
                Some(task_state) => format!("task {verb} (taskState {task_state})"),
                None => format!("task {verb}"),
            }
        } else {
            messages.join("; ")
        };
        Some(ApiError { code, cs_error_code: None, text })
    }

    /// The inline `results[]`, classified like a `/result` body (a completed search task carries
    /// its `SearchResults` here as a `<javaClass>:<json>` string).
    ///
    /// # Errors
    /// As [`TaskResult::from_entries`].
    pub fn inline_result(&self) -> Result<TaskResult, ProtocolError> {
        TaskResult::from_entries(self.results.clone())
    }

    /// `creationTime` as Unix seconds, when its format and zone are readable.
    pub fn created_unix(&self) -> Option<i64> {
        self.creation_time.as_deref().and_then(date::parse_clm_date)
    }

    /// `completionTime` as Unix seconds, when its format and zone are readable.
    pub fn completed_unix(&self) -> Option<i64> {
        self.completion_time.as_deref().and_then(date::parse_clm_date)
    }

    /// `className.operationName` (e.g. `ComputeContainer.start`), or whichever of the two is sent.
    pub fn command(&self) -> Option<String> {
        match (&self.class_name, &self.operation_name) {
            (Some(class), Some(operation)) => Some(format!("{class}.{operation}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }

    /// The task in the shared job model.
    ///
    /// `result` is the decoded `results[]` as a JSON array when the task succeeded with inline
    /// results (BMC prefers fetching `taskResultURI`, so it is often absent); `result_code` is
    /// the error code on failure and `None` otherwise, as CLM has no result code of its own.
    pub fn to_snapshot(&self) -> JobSnapshot {
        let state = self.state();
        let error = self.error();
        let result = (state == JobState::Succeeded && !self.results.is_empty())
            .then(|| Value::Array(self.results.iter().map(|entry| entry.value.clone()).collect()));
        JobSnapshot {
            job_id: self.task_internal_uuid.clone(),
            state,
            progress: self.task_progress,
            result_code: error.as_ref().map(|e| e.code),
            result,
            error,
            command: self.command(),
            created: self.creation_time.clone(),
            completed: self.completion_time.clone(),
            raw: self.raw.clone(),
        }
    }
}

impl From<&Task> for JobSnapshot {
    fn from(task: &Task) -> JobSnapshot {
        task.to_snapshot()
    }
}

/// Fields that name an error's code, in the order they are tried (`errorID` is CLM's
/// `CloudError` field; the others are common Java error-bean names).
const CODE_FIELDS: &[&str] = &["errorID", "errorId", "errorCode", "errorcode", "code", "messageNumber"];

/// Fields that hold an error's message, in the order they are tried (`errorCause` is CLM's
/// `CloudError` field).
const MESSAGE_FIELDS: &[&str] = &[
    "errorCause",
    "message",
    "errorMessage",
    "localizedMessage",
    "errortext",
    "errorText",
    "description",
    "detail",
    "cause",
];

/// An error item's numeric code, when it has one.
fn error_code(item: &Value) -> Option<i64> {
    let decoded = ResultEntry::decode(item);
    let map = decoded.value.as_object()?;
    CODE_FIELDS.iter().find_map(|field| map.get(*field).and_then(fields::loose_integer))
}

/// An error item's message: a string as is (or the message inside a `<class>:<json>` string),
/// an object's first message field, else a shortened dump of the item.
fn error_message(item: &Value) -> String {
    let decoded = ResultEntry::decode(item);
    match &decoded.value {
        Value::String(text) => text.trim().to_owned(),
        Value::Object(map) => MESSAGE_FIELDS
            .iter()
            .find_map(|field| match map.get(*field) {
                Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
                _ => None,
            })
            .unwrap_or_else(|| excerpt(item)),
        Value::Null => String::new(),
        other => excerpt(other),
    }
}

/// One entry of a task's `results[]`.
///
/// CLM sends most results as strings `"<javaClass>:<json text>"`, e.g.
/// `"com.bmc.cloud.model.beans.SearchResults:{\r\n  \"pageNo\" : 0, …}"`. Decoding never fails
/// and never loses data: an entry that is not such a string is kept as it came.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultEntry {
    /// The Java class: the string's prefix, or a plain object's `cloudClass`.
    pub java_class: Option<String>,
    /// The decoded JSON; for a string that holds no JSON, that string.
    pub value: Value,
    /// The entry as received when it was a string (so a failed decode can be inspected).
    pub raw_text: Option<String>,
}

impl ResultEntry {
    /// Decodes one `results[]` item.
    pub fn decode(item: &Value) -> ResultEntry {
        match item {
            Value::String(text) => ResultEntry::decode_str(text),
            other => ResultEntry { java_class: cloud_class(other), value: other.clone(), raw_text: None },
        }
    }

    /// Decodes a result string: `<javaClass>:<json object or array>`, or bare JSON.
    pub fn decode_str(text: &str) -> ResultEntry {
        let raw_text = Some(text.to_owned());
        let trimmed = text.trim_start();
        if trimmed.starts_with(['{', '[']) {
            if let Ok(value) = crate::protocol::json::parse(trimmed.as_bytes()) {
                return ResultEntry { java_class: cloud_class(&value), value, raw_text };
            }
        } else if let Some((class, json)) = trimmed.split_once(':') {
            let json = json.trim_start();
            // Only objects and arrays count, so `"Status:1"` or a URL stays the plain string it is.
            if is_java_class_name(class) && json.starts_with(['{', '[']) {
                if let Ok(value) = crate::protocol::json::parse(json.as_bytes()) {
                    return ResultEntry { java_class: Some(class.to_owned()), value, raw_text };
                }
            }
        }
        ResultEntry { java_class: None, value: Value::String(text.to_owned()), raw_text }
    }

    /// True when the entry's JSON was decoded (or was JSON to begin with).
    pub fn is_decoded(&self) -> bool {
        // A string that decodes always yields an object or array, so a string value means "kept".
        self.raw_text.is_none() || !self.value.is_string()
    }
}

/// The `cloudClass` of a JSON object, if any.
fn cloud_class(value: &Value) -> Option<String> {
    value.get("cloudClass").and_then(Value::as_str).map(str::to_owned)
}

/// A dotted Java binary class name: identifier characters (`$` included, for nested classes)
/// separated by single dots. ASCII only: CLM's classes (`com.bmc.cloud…`) are, and Unicode's
/// letter tables would cost the wasm ~2 KB gzipped; a result under any other prefix is kept as
/// the string it is, never lost.
fn is_java_class_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

/// True when `value` is an object whose `cloudClass` is a Task.
pub(crate) fn is_task(value: &Value) -> bool {
    value.get("cloudClass").and_then(Value::as_str) == Some(TASK_CLASS)
}

/// True when `value` is an object whose `cloudClass` is a CloudError.
pub(crate) fn is_cloud_error(value: &Value) -> bool {
    value.get("cloudClass").and_then(Value::as_str) == Some(CLOUD_ERROR_CLASS)
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn task(extra: Value) -> Task {
        let mut value = json!({"cloudClass": TASK_CLASS, "taskInternalUUID": "t-1"});
        if let (Some(map), Value::Object(extra)) = (value.as_object_mut(), extra) {
            map.extend(extra);
        }
        match Task::from_value(&value) {
            Ok(task) => task,
            Err(e) => panic!("test task did not parse: {e}"),
        }
    }

    #[test]
    fn state_mapping_follows_flags_and_states() {
        let cases = [
            (json!({"taskState": "QUEUED"}), JobState::Pending),
            (json!({"taskState": "RUNNING", "taskProgress": 40}), JobState::Pending),
            (json!({"taskState": "COMPLETED", "isSuccess": true, "isError": false}), JobState::Succeeded),
            (json!({"taskState": "COMPLETED", "isSuccess": false, "isError": true}), JobState::Failed),
            (json!({"taskState": "FAILED"}), JobState::Failed),
            (json!({"taskState": "error"}), JobState::Failed),
            (json!({"taskState": "CANCELLED", "isError": true}), JobState::Cancelled),
            (json!({"taskState": "Canceled"}), JobState::Cancelled),
            (json!({"taskState": "WHATEVER"}), JobState::Pending),
            (json!({"taskState": "WHATEVER", "completionTime": "2011/04/06 17:37:12 PDT"}), JobState::Succeeded),
            (json!({"taskState": "WHATEVER", "completionTime": "x", "errors": ["boom"]}), JobState::Failed),
            (json!({"taskState": "WHATEVER", "isSuccess": true}), JobState::Succeeded),
            (json!({"taskState": "WHATEVER", "isError": "true"}), JobState::Failed),
            (json!({"taskState": "QUEUED", "completionTime": "2011/04/06 17:37:12 PDT"}), JobState::Pending),
            (json!({"taskState": "COMPLETED"}), JobState::Succeeded),
            (json!({"taskState": "COMPLETED", "isSuccess": false}), JobState::Failed),
            (json!({}), JobState::Pending),
        ];
        for (fields, expected) in cases {
            assert_eq!(task(fields.clone()).state(), expected, "{fields}");
        }
    }

    #[test]
    fn errors_become_one_api_error() {
        let failed = task(json!({"taskState": "FAILED", "isError": true, "errors": [
            {"cloudClass": CLOUD_ERROR_CLASS, "errorCause": "Host unreachable", "errorID": "CSM-1"},
            {"message": "rolled back", "errorCode": "5003"},
            "plain text",
            {"odd": 1}
        ]}));
        let error = failed.error();
        assert_eq!(
            error,
            Some(ApiError {
                code: 5003,
                cs_error_code: None,
                text: "Host unreachable; rolled back; plain text; {\"odd\":1}".into()
            })
        );
        let snapshot = failed.to_snapshot();
        assert_eq!((snapshot.state, snapshot.result_code, snapshot.result), (JobState::Failed, Some(5003), None));
    }

    #[test]
    fn failure_without_errors_names_the_state() {
        assert_eq!(
            task(json!({"taskState": "ABORTED"})).error().map(|e| e.text),
            Some("task failed (taskState ABORTED)".into())
        );
        let cancelled = task(json!({"taskState": "CANCELLED"})).error();
        assert_eq!(
            cancelled,
            Some(ApiError { code: 0, cs_error_code: None, text: "task was cancelled (taskState CANCELLED)".into() })
        );
        assert_eq!(task(json!({"isError": true})).error().map(|e| e.text), Some("task failed".into()));
        assert_eq!(task(json!({"taskState": "COMPLETED", "isSuccess": true})).error(), None);
    }

    #[test]
    fn error_strings_with_embedded_json_are_read() {
        let failed = task(json!({"isError": true, "errors": [
            "com.bmc.cloud.model.beans.CloudError:{\"errorCause\":\"quota exceeded\",\"errorID\":42}"
        ]}));
        assert_eq!(failed.error(), Some(ApiError { code: 42, cs_error_code: None, text: "quota exceeded".into() }));
    }

    #[test]
    fn result_strings_decode_or_stay_verbatim() {
        let entry = ResultEntry::decode_str("com.bmc.cloud.model.beans.SearchResults:{\r\n  \"pageNo\" : 1\r\n}");
        assert_eq!(entry.java_class.as_deref(), Some("com.bmc.cloud.model.beans.SearchResults"));
        assert_eq!(entry.value, json!({"pageNo": 1}));
        assert!(entry.is_decoded());

        for text in [
            "com.example.Foo:{broken",
            "http://host/x",
            "Status:1",
            "not json",
            "a..b:{}",
            ":{}",
            "",
            "com.bmc.Ünïcode:{}",
        ] {
            let entry = ResultEntry::decode_str(text);
            assert_eq!(entry.value, Value::String(text.into()), "{text:?}");
            assert_eq!(entry.java_class, None, "{text:?}");
            assert_eq!(entry.raw_text.as_deref(), Some(text));
            assert!(!entry.is_decoded(), "{text:?}");
        }

        let bare = ResultEntry::decode_str(" {\"cloudClass\":\"com.x.Y\",\"a\":1}");
        assert_eq!(bare.java_class.as_deref(), Some("com.x.Y"));
        let object = ResultEntry::decode(&json!({"cloudClass": "com.x.Z", "b": 2}));
        assert_eq!(
            (object.java_class.as_deref(), object.raw_text.as_deref(), object.is_decoded()),
            (Some("com.x.Z"), None, true)
        );
        let nested = ResultEntry::decode_str("com.x.Outer$Inner:[1,2]");
        assert_eq!((nested.java_class.as_deref(), nested.value), (Some("com.x.Outer$Inner"), json!([1, 2])));
    }

    #[test]
    fn succeeded_snapshot_carries_inline_results() {
        let done = task(json!({"taskState": "COMPLETED", "isSuccess": true, "taskProgress": "100.0",
            "className": "ComputeContainer", "operationName": "start",
            "results": ["com.x.A:{\"a\":1}", {"b": 2}, "opaque"]}));
        let snapshot = done.to_snapshot();
        assert_eq!(snapshot.result, Some(json!([{"a": 1}, {"b": 2}, "opaque"])));
        assert_eq!(snapshot.progress, Some(100.0));
        assert_eq!(snapshot.command.as_deref(), Some("ComputeContainer.start"));
        assert_eq!(snapshot.result_code, None);
    }

    #[test]
    fn malformed_tasks_are_typed_errors() {
        assert!(matches!(Task::from_value(&json!([])), Err(ProtocolError::UnexpectedShape(_))));
        assert_eq!(Task::from_value(&json!({"taskInternalUUID": "x"})), Err(ProtocolError::MissingField("cloudClass")));
        assert!(matches!(
            Task::from_value(&json!({"cloudClass": "com.bmc.cloud.model.beans.StaticPool", "taskInternalUUID": "x"})),
            Err(ProtocolError::UnexpectedShape(_))
        ));
        assert_eq!(
            Task::from_value(&json!({"cloudClass": TASK_CLASS})),
            Err(ProtocolError::MissingField("taskInternalUUID"))
        );
        for (field, bad) in [
            ("taskProgress", json!("half")),
            ("isError", json!(1)),
            ("errors", json!("none")),
            ("results", json!({})),
            ("guid", json!({"a": 1})),
        ] {
            let mut value = json!({"cloudClass": TASK_CLASS, "taskInternalUUID": "x"});
            value[field] = bad;
            assert!(
                matches!(Task::from_value(&value), Err(ProtocolError::InvalidField { field: f, .. }) if f == field),
                "{field}"
            );
        }
    }

    #[test]
    fn dates_and_unknown_fields() {
        let t = task(json!({"creationTime": "2011/04/06 17:36:29 PDT", "completionTime": "someday", "vendorX": 1}));
        assert_eq!(t.created_unix(), Some(1_302_136_589));
        assert_eq!(t.completed_unix(), None);
        assert_eq!(t.completion_time.as_deref(), Some("someday"));
        assert_eq!(t.raw["vendorX"], 1);
    }
}
