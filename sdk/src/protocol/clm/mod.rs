//! BMC Cloud Lifecycle Management (CLM): the Task API as pure data and parsing.
//!
//! - [`request`]: operation bodies with their `timeout` mode, task status/result URLs;
//! - [`auth`]: the login body, the `Authentication-Token` and `BMC-Transaction-ID` headers;
//! - [`response`]: response bodies — a Task, cloud objects or `CloudError`s — and task results;
//! - [`task`]: the `Task` bean and its mapping onto [`JobSnapshot`](crate::protocol::JobSnapshot);
//! - [`date`]: CLM's `yyyy/MM/dd HH:mm:ss zzz` timestamps.
//!
//! Nothing here does I/O or reads a clock.

pub mod auth;
pub mod date;
mod fields;
pub mod request;
pub mod response;
pub mod task;

pub use auth::{read_login_token, transaction_id, AuthToken, LoginRequest};
pub use request::{result_path, result_url, status_path, status_url, OperationBody, Timeout};
pub use response::{
    parse_response, parse_task_result, parse_task_status, ClmResponse, CloudError, SearchResults, TaskResult,
};
pub use task::{ResultEntry, Task};

/// `cloudClass` of a task; how an asynchronous answer is recognised (CLM answers `200 OK` either way).
pub const TASK_CLASS: &str = "com.bmc.cloud.model.beans.Task";

/// `cloudClass` of an error object.
pub const CLOUD_ERROR_CLASS: &str = "com.bmc.cloud.model.beans.CloudError";

/// `cloudClass` of a paged search answer.
pub const SEARCH_RESULTS_CLASS: &str = "com.bmc.cloud.model.beans.SearchResults";

/// Tests over the documented bodies kept in `sdk/tests/fixtures/clm/` (see its README).
#[cfg(test)]
mod fixture_tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use crate::protocol::{ApiError, JobState};
    use serde_json::{json, Value};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const QUEUED: &[u8] = include_bytes!("../../../tests/fixtures/clm/queued_task.json");
    const COMPLETED: &[u8] = include_bytes!("../../../tests/fixtures/clm/completed_task.json");
    const SEARCH: &[u8] = include_bytes!("../../../tests/fixtures/clm/search_result.json");
    const ENTRY: &str = include_str!("../../../tests/fixtures/clm/result_entry.txt");
    const FAILED: &[u8] = include_bytes!("../../../tests/fixtures/clm/failed_task.json");
    const OPERATION: &[u8] = include_bytes!("../../../tests/fixtures/clm/completed_operation_task.json");
    const CLOUD_ERROR: &[u8] = include_bytes!("../../../tests/fixtures/clm/cloud_error.json");

    const SEED_ID: &str = "46c723fa-48e0-41fd-86d5-47caa2318488";

    fn task(body: &[u8]) -> Task {
        match parse_task_status(body) {
            Ok(task) => task,
            Err(e) => panic!("fixture did not parse: {e}"),
        }
    }

    #[test]
    fn queued_seed_task_is_a_pending_task() {
        let Ok(ClmResponse::Task(task)) = parse_response(QUEUED) else { panic!("queued fixture is not a Task") };
        assert_eq!(task.task_internal_uuid, SEED_ID);
        assert_eq!(task.guid.as_deref(), Some("433cf70c-c1dc-4137-b8b4-cfa761f49988"));
        assert_eq!(task.task_state.as_deref(), Some("QUEUED"));
        assert_eq!(task.created_unix(), Some(1_302_136_589));
        assert_eq!(
            task.task_status_uri.as_deref(),
            Some(&*format!("http://172.22.174.37:8080/csm/task/{SEED_ID}/status"))
        );
        let snapshot = task.to_snapshot();
        assert_eq!((snapshot.job_id.as_str(), snapshot.state), (SEED_ID, JobState::Pending));
        assert_eq!((snapshot.progress, snapshot.error, snapshot.result), (None, None, None));
        assert_eq!(snapshot.created.as_deref(), Some("2011/04/06 17:36:29 PDT"));
        assert_eq!(
            snapshot.raw["taskStatusURI"],
            json!(format!("http://172.22.174.37:8080/csm/task/{SEED_ID}/status"))
        );
        // The status URL the SDK builds itself matches the one the server sent.
        assert_eq!(status_url("http://172.22.174.37:8080/", &snapshot.job_id).ok(), task.task_status_uri);
    }

    #[test]
    fn completed_seed_task_succeeds_with_inline_search_results() {
        let task = task(COMPLETED);
        assert_eq!(task.state(), JobState::Succeeded);
        assert_eq!((task.is_success, task.is_error, task.is_callout), (Some(true), Some(false), Some(false)));
        assert_eq!((task.task_progress, task.task_sub_state.as_deref()), (Some(100.0), Some("task_success")));
        assert_eq!(task.completed_unix(), Some(1_302_136_632));
        assert_eq!(task.results.len(), 1);
        assert_eq!(task.results[0].java_class.as_deref(), Some(SEARCH_RESULTS_CLASS));
        let Ok(TaskResult::Search(page)) = task.inline_result() else { panic!("inline result is not a search") };
        assert_eq!((page.page_no, page.page_size, page.total_rows), (Some(0), Some(0), Some(3)));
        assert_eq!(page.results[1]["name"], " yComputePool");
        let snapshot = task.to_snapshot();
        assert_eq!(snapshot.result.as_ref().map(|r| r[0]["totalRows"].clone()), Some(json!(3)));
        assert_eq!(snapshot.completed.as_deref(), Some("2011/04/06 17:37:12 PDT"));
    }

    #[test]
    fn result_entry_text_decodes_to_the_result_endpoint_object() {
        let entry = ResultEntry::decode_str(ENTRY);
        assert!(ENTRY.contains("\r\n"), "fixture lost its CRLFs");
        assert_eq!(entry.java_class.as_deref(), Some(SEARCH_RESULTS_CLASS));
        assert_eq!(entry.raw_text.as_deref(), Some(ENTRY));
        // The inline string and the `/result` body describe the same object.
        let Ok(TaskResult::Search(from_result)) = parse_task_result(SEARCH) else { panic!("result is not a search") };
        assert_eq!(entry.value, from_result.raw);
        assert_eq!(task(COMPLETED).results[0], entry);
    }

    #[test]
    fn search_result_fixture_pages() {
        let Ok(TaskResult::Search(page)) = parse_task_result(SEARCH) else { panic!("result is not a search") };
        assert_eq!(page.guid.as_deref(), Some("98bba6dc-be05-4b72-a0a5-dbf4d3b2791d"));
        assert_eq!((page.page_no, page.page_size, page.total_rows), (Some(0), Some(0), Some(3)));
        let names: Vec<&str> = page.results.iter().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(names, ["CompactPODDev_default_pool", " yComputePool", "VDS Pool"]);
        assert_eq!(page.results[0]["pooledObjects"].as_array().map(Vec::len), Some(17));
    }

    #[test]
    fn failed_task_reports_its_errors() {
        let task = task(FAILED);
        assert_eq!(task.state(), JobState::Failed);
        assert_eq!(task.errors.len(), 2);
        let snapshot = task.to_snapshot();
        assert_eq!(
            snapshot.error,
            Some(ApiError {
                code: 20021,
                cs_error_code: None,
                text: "Unable to start compute container: host esx-17 is unreachable; Provisioning rolled back".into()
            })
        );
        assert_eq!((snapshot.result_code, snapshot.result, snapshot.progress), (Some(20021), None, Some(60.0)));
        assert_eq!(snapshot.command.as_deref(), Some("ComputeContainer.start"));
        assert_eq!(task.transaction_id.as_deref(), Some("7f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8"));
    }

    #[test]
    fn operation_task_fields_and_lenient_results() {
        let task = task(OPERATION);
        assert_eq!(task.state(), JobState::Succeeded);
        assert_eq!(task.parent_task_internal_uuid.as_deref(), Some("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"));
        assert_eq!(task.task_progress, Some(100.0));
        assert_eq!(task.task_sub_state.as_deref(), Some("task_success_final"));
        assert_eq!((task.created_unix(), task.completed_unix()), (Some(1_410_940_863), Some(1_410_940_965)));
        assert_eq!(task.raw["unknownVendorField"], json!({"kept": true}));
        let [container, note, tag] = task.results.as_slice() else { panic!("expected 3 results") };
        assert_eq!(container.java_class.as_deref(), Some("com.bmc.cloud.model.beans.ComputeContainer"));
        assert_eq!(container.value["name"], "web-01");
        assert_eq!(note.value, Value::String("com.bmc.cloud.model.beans.Note:this is not JSON".into()));
        assert!(!note.is_decoded());
        assert_eq!((tag.java_class.as_deref(), tag.raw_text.as_deref()), (Some("com.bmc.cloud.model.beans.Tag"), None));
        let Ok(TaskResult::Objects(entries)) = task.inline_result() else { panic!("expected objects") };
        assert_eq!(entries.len(), 3);
        let snapshot = task.to_snapshot();
        assert_eq!(
            snapshot.result.as_ref().and_then(|r| r[1].as_str()),
            Some("com.bmc.cloud.model.beans.Note:this is not JSON")
        );
    }

    #[test]
    fn cloud_error_fixture() {
        let Ok(ClmResponse::Errors(errors)) = parse_response(CLOUD_ERROR) else { panic!("not errors") };
        assert_eq!(
            errors[0].to_api_error(),
            ApiError {
                code: 0,
                cs_error_code: None,
                text: "The Authentication-Token is invalid or has expired (AUTH-0001)".into()
            }
        );
        assert!(matches!(parse_task_status(CLOUD_ERROR), Err(crate::protocol::ProtocolError::UnexpectedShape(_))));
        assert!(matches!(parse_task_result(CLOUD_ERROR), Ok(TaskResult::Errors(e)) if e.len() == 1));
    }

    #[test]
    fn truncated_fixtures_fail_cleanly() {
        // Every prefix of a real body is either a typed error or (for none of them) a panic.
        for body in [QUEUED, COMPLETED, FAILED].map(<[u8]>::trim_ascii_end) {
            for cut in (0..body.len()).step_by(7) {
                assert!(parse_response(&body[..cut]).is_err(), "prefix of {cut} bytes parsed");
            }
        }
    }
}
