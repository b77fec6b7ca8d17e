//! CloudStack responses, JSON or XML, into the shared model.
//!
//! Both formats are first brought to one JSON-value [`Envelope`] (the single top-level
//! `…response` object), then read by the same functions. Error bodies are recognised by their
//! `errorcode` field whatever the HTTP status, as CloudStack sends them with any status.

use serde_json::{Map, Value};

#[cfg(feature = "xml")]
use crate::protocol::xml;
#[cfg(not(feature = "xml"))]
use crate::protocol::XML_FEATURE_OFF;
use crate::protocol::{check_size, excerpt, json, ApiError, Format, JobSnapshot, JobState, ProtocolError};

/// The top-level response object: its name (`deployvirtualmachineresponse`, …) and content.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The response name, e.g. `queryasyncjobresultresponse` or `errorresponse`.
    pub name: String,
    /// The object inside the envelope.
    pub body: Map<String, Value>,
}

impl Envelope {
    /// The error this envelope carries, if it is an error response.
    pub fn api_error(&self) -> Option<ApiError> {
        let code = int_field(&self.body, "errorcode").ok().flatten()?;
        Some(ApiError {
            code,
            cs_error_code: int_field(&self.body, "cserrorcode").ok().flatten(),
            text: str_field(&self.body, "errortext").ok().flatten().unwrap_or_default(),
        })
    }
}

/// Reads a response body in `format` into its [`Envelope`].
///
/// JSON: the single top-level key ending in `response` (or the only key). XML: the root
/// element. An empty list response (`{"listzonesresponse":{}}`) is an envelope with no fields.
///
/// # Errors
/// [`ProtocolError`] when the body is malformed or not an envelope.
pub fn parse_envelope(body: &[u8], format: Format) -> Result<Envelope, ProtocolError> {
    check_size(body)?;
    let (name, content) = match format {
        Format::Json => {
            let value = json::parse(body).map_err(ProtocolError::Json)?;
            let Value::Object(top) = value else {
                return Err(ProtocolError::UnexpectedShape(format!("top level is not an object: {}", excerpt(&value))));
            };
            let key = match top.len() {
                1 => top.keys().next().cloned(),
                _ => top.keys().find(|k| k.ends_with("response")).cloned(),
            }
            .ok_or_else(|| ProtocolError::UnexpectedShape("no `…response` object at the top level".into()))?;
            let content = top.get(&key).cloned().unwrap_or(Value::Null);
            (key, content)
        }
        #[cfg(feature = "xml")]
        Format::Xml => {
            let doc = xml::parse(body)?;
            (doc.root, doc.content)
        }
        #[cfg(not(feature = "xml"))]
        Format::Xml => return Err(ProtocolError::Xml(XML_FEATURE_OFF.into())),
    };
    let body = match content {
        Value::Object(map) => map,
        // `<listzonesresponse></listzonesresponse>` or a JSON null: an empty envelope.
        Value::String(text) if text.trim().is_empty() => Map::new(),
        Value::Null => Map::new(),
        other => {
            return Err(ProtocolError::UnexpectedShape(format!("`{name}` is not an object: {}", excerpt(&other))));
        }
    };
    Ok(Envelope { name, body })
}

/// What an async command answers at once: the job id and, for create commands, the new
/// resource's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncSubmit {
    /// `jobid`.
    pub job_id: String,
    /// `id` of the resource being created, when the command creates one.
    pub resource_id: Option<String>,
}

/// Reads the immediate answer of an async command.
///
/// # Errors
/// [`ProtocolError::MissingField`] when there is no `jobid` (the command was not async).
pub fn parse_async_submit(envelope: &Envelope) -> Result<AsyncSubmit, ProtocolError> {
    let job_id = str_field(&envelope.body, "jobid")?.ok_or(ProtocolError::MissingField("jobid"))?;
    let resource_id = str_field(&envelope.body, "id")?;
    Ok(AsyncSubmit { job_id, resource_id })
}

/// Reads a `queryAsyncJobResult` answer (root `queryasyncjobresultresponse`, or the seed's
/// `queryasyncjobresult`), or one entry of `listAsyncJobs`, into a [`JobSnapshot`].
///
/// # Errors
/// [`ProtocolError`] when `jobid` or `jobstatus` is missing or out of range.
pub fn parse_job_status(envelope: &Envelope) -> Result<JobSnapshot, ProtocolError> {
    job_from_object(&envelope.body)
}

/// One page of `listAsyncJobs`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobList {
    /// `count`: how many jobs match in all pages (0 when the server sends an empty envelope).
    pub count: u64,
    /// The jobs of this page.
    pub jobs: Vec<JobSnapshot>,
}

/// Reads a `listAsyncJobs` answer: `count` and `asyncjobs` (an empty list is `{}`; XML shows a
/// one-job list as a single object).
///
/// # Errors
/// [`ProtocolError`] when an entry is not a valid job.
pub fn parse_job_list(envelope: &Envelope) -> Result<JobList, ProtocolError> {
    let jobs = match envelope.body.get("asyncjobs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(job_from_value).collect::<Result<_, _>>()?,
        Some(single) => vec![job_from_value(single)?],
    };
    let count = int_field(&envelope.body, "count")?.map_or(jobs.len() as u64, |c| u64::try_from(c).unwrap_or(0));
    Ok(JobList { count, jobs })
}

fn job_from_value(value: &Value) -> Result<JobSnapshot, ProtocolError> {
    match value {
        Value::Object(map) => job_from_object(map),
        other => Err(ProtocolError::UnexpectedShape(format!("job entry is not an object: {}", excerpt(other)))),
    }
}

/// Reads one job object (the flat fields of `queryasyncjobresultresponse`).
pub fn job_from_object(job: &Map<String, Value>) -> Result<JobSnapshot, ProtocolError> {
    let job_id = str_field(job, "jobid")?.ok_or(ProtocolError::MissingField("jobid"))?;
    let status = int_field(job, "jobstatus")?.ok_or(ProtocolError::MissingField("jobstatus"))?;
    let state = match status {
        0 => JobState::Pending,
        1 => JobState::Succeeded,
        2 => JobState::Failed,
        3 => JobState::Cancelled,
        _ => {
            return Err(ProtocolError::InvalidField { field: "jobstatus", value: status.to_string() });
        }
    };
    let result_code = int_field(job, "jobresultcode")?;
    let result = job.get("jobresult").cloned();
    let error = match state {
        JobState::Failed | JobState::Cancelled => Some(failure_reason(result.as_ref(), result_code, state)),
        _ => None,
    };
    Ok(JobSnapshot {
        job_id,
        state,
        progress: int_field(job, "jobprocstatus")?.map(|p| p as f64),
        result_code,
        result: if state == JobState::Succeeded { result } else { None },
        error,
        command: str_field(job, "cmd")?,
        created: str_field(job, "created")?,
        completed: str_field(job, "completed")?,
        raw: Value::Object(job.clone()),
    })
}

/// The reason a job failed: `jobresult.{errorcode,errortext}` on modern servers, a text
/// `jobresult` with `jobresultcode` on 2.x servers.
fn failure_reason(result: Option<&Value>, result_code: Option<i64>, state: JobState) -> ApiError {
    let fallback_text = if state == JobState::Cancelled { "job was cancelled" } else { "job failed" };
    match result {
        Some(Value::Object(map)) => ApiError {
            code: int_field(map, "errorcode").ok().flatten().or(result_code).unwrap_or_default(),
            cs_error_code: int_field(map, "cserrorcode").ok().flatten(),
            text: str_field(map, "errortext").ok().flatten().unwrap_or_else(|| fallback_text.into()),
        },
        Some(Value::String(text)) if !text.is_empty() => {
            ApiError { code: result_code.unwrap_or_default(), cs_error_code: None, text: text.clone() }
        }
        _ => ApiError { code: result_code.unwrap_or_default(), cs_error_code: None, text: fallback_text.into() },
    }
}

/// A string field; numbers are accepted too (ids were integers before 3.x, and XML has no types).
fn str_field(map: &Map<String, Value>, field: &'static str) -> Result<Option<String>, ProtocolError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(json::number_text(number))),
        Some(other) => Err(ProtocolError::InvalidField { field, value: excerpt(other) }),
    }
}

/// An integer field, as a JSON number or (XML, older servers) a numeric string.
fn int_field(map: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, ProtocolError> {
    let invalid = |value: &Value| ProtocolError::InvalidField { field, value: excerpt(value) };
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Number(number)) => number.as_i64().map(Some).ok_or_else(|| invalid(value)),
        Some(value @ Value::String(text)) => text.trim().parse().map(Some).map_err(|_| invalid(value)),
        Some(other) => Err(invalid(other)),
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn json_envelope(value: Value) -> Envelope {
        parse_envelope(value.to_string().as_bytes(), Format::Json).unwrap()
    }

    #[test]
    #[cfg(feature = "xml")]
    fn async_submit_from_json_and_seed_xml() {
        let env = json_envelope(json!({"deployvirtualmachineresponse": {"id": "vm-1", "jobid": "job-1"}}));
        assert_eq!(
            parse_async_submit(&env).unwrap(),
            AsyncSubmit { job_id: "job-1".into(), resource_id: Some("vm-1".into()) }
        );
        let xml = b"<deployvirtualmachineresponse>\n<jobid>1</jobid>\n<id>100</id>\n</deployvirtualmachineresponse>";
        let env = parse_envelope(xml, Format::Xml).unwrap();
        assert_eq!(env.name, "deployvirtualmachineresponse");
        assert_eq!(
            parse_async_submit(&env).unwrap(),
            AsyncSubmit { job_id: "1".into(), resource_id: Some("100".into()) }
        );
    }

    #[test]
    #[cfg(feature = "xml")]
    fn pending_seed_root_is_accepted() {
        let xml = b"<queryasyncjobresult>\n<jobid>1</jobid>\n<jobstatus>0</jobstatus>\n<jobprocstatus>1</jobprocstatus>\n</queryasyncjobresult>";
        let job = parse_job_status(&parse_envelope(xml, Format::Xml).unwrap()).unwrap();
        assert_eq!((job.job_id.as_str(), job.state, job.progress), ("1", JobState::Pending, Some(1.0)));
    }

    #[test]
    fn succeeded_job_keeps_its_whole_result() {
        let env = json_envelope(json!({"queryasyncjobresultresponse": {
            "jobid": "j", "jobstatus": 1, "jobresultcode": 0, "jobresulttype": "object",
            "jobresult": {"virtualmachine": {"id": "vm", "nic": [{"id": "n1"}, {"id": "n2"}], "cpunumber": 2}}}}));
        let job = parse_job_status(&env).unwrap();
        assert_eq!(job.state, JobState::Succeeded);
        assert_eq!(job.result.unwrap()["virtualmachine"]["nic"][1]["id"], "n2");
        assert_eq!(job.error, None);
    }

    #[test]
    #[cfg(feature = "xml")]
    fn failed_job_carries_its_reason_object_or_text() {
        let env = json_envelope(json!({"queryasyncjobresultresponse": {"jobid": "j", "jobstatus": 2,
            "jobresultcode": 530, "jobresult": {"errorcode": 533, "errortext": "no capacity"}}}));
        let job = parse_job_status(&env).unwrap();
        assert_eq!(job.error, Some(ApiError { code: 533, cs_error_code: None, text: "no capacity".into() }));
        let xml = b"<queryasyncjobresultresponse><jobid>1</jobid><jobstatus>2</jobstatus><jobresultcode>551</jobresultcode><jobresulttype>text</jobresulttype><jobresult>Unable to deploy</jobresult></queryasyncjobresultresponse>";
        let job = parse_job_status(&parse_envelope(xml, Format::Xml).unwrap()).unwrap();
        assert_eq!(job.error, Some(ApiError { code: 551, cs_error_code: None, text: "Unable to deploy".into() }));
    }

    #[test]
    fn cancelled_is_terminal() {
        let env = json_envelope(json!({"queryasyncjobresultresponse": {"jobid": "j", "jobstatus": 3}}));
        let job = parse_job_status(&env).unwrap();
        assert!(job.state.is_terminal());
        assert_eq!(job.state, JobState::Cancelled);
    }

    #[test]
    #[cfg(feature = "xml")]
    fn job_lists_in_every_shape() {
        let env = json_envelope(json!({"listasyncjobsresponse": {"count": 2, "asyncjobs": [
            {"jobid": "a", "jobstatus": 0}, {"jobid": "b", "jobstatus": 1, "jobresult": {"success": true}}]}}));
        let list = parse_job_list(&env).unwrap();
        assert_eq!(list.count, 2);
        assert_eq!(
            list.jobs.iter().map(|j| (j.job_id.as_str(), j.state)).collect::<Vec<_>>(),
            vec![("a", JobState::Pending), ("b", JobState::Succeeded)]
        );
        assert_eq!(
            parse_job_list(&json_envelope(json!({"listasyncjobsresponse": {}}))).unwrap(),
            JobList { count: 0, jobs: vec![] }
        );
        let xml = b"<listasyncjobsresponse><count>1</count><asyncjobs><jobid>x</jobid><jobstatus>2</jobstatus></asyncjobs></listasyncjobsresponse>";
        let list = parse_job_list(&parse_envelope(xml, Format::Xml).unwrap()).unwrap();
        assert_eq!((list.count, list.jobs[0].state), (1, JobState::Failed));
        let bad = json_envelope(json!({"listasyncjobsresponse": {"asyncjobs": [1]}}));
        assert!(matches!(parse_job_list(&bad), Err(ProtocolError::UnexpectedShape(_))));
    }

    #[test]
    fn error_envelope_is_recognised() {
        let env = json_envelope(
            json!({"errorresponse": {"uuidList": [], "errorcode": 432, "cserrorcode": 9999, "errortext": "Unknown API command: foo"}}),
        );
        assert_eq!(
            env.api_error(),
            Some(ApiError { code: 432, cs_error_code: Some(9999), text: "Unknown API command: foo".into() })
        );
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        assert!(matches!(parse_envelope(b"{", Format::Json), Err(ProtocolError::Json(_))));
        assert!(matches!(parse_envelope(b"[1]", Format::Json), Err(ProtocolError::UnexpectedShape(_))));
        assert!(matches!(parse_envelope(b"{}", Format::Json), Err(ProtocolError::UnexpectedShape(_))));
        let env = json_envelope(json!({"queryasyncjobresultresponse": {"jobid": "j", "jobstatus": 7}}));
        assert!(matches!(parse_job_status(&env), Err(ProtocolError::InvalidField { field: "jobstatus", .. })));
        let env = json_envelope(json!({"queryasyncjobresultresponse": {"jobstatus": 1}}));
        assert_eq!(parse_job_status(&env), Err(ProtocolError::MissingField("jobid")));
        // Empty bodies, HTML error pages, XML bombs, deep nesting, oversized bodies.
        assert!(matches!(parse_envelope(b"", Format::Json), Err(ProtocolError::Json(_))));
        assert!(matches!(parse_envelope(b"", Format::Xml), Err(ProtocolError::Xml(_))));
        let html = b"<html><head><title>502 Bad Gateway</title></head><body><hr>nginx</body></html>";
        assert!(matches!(parse_envelope(html, Format::Json), Err(ProtocolError::Json(_))));
        let page = parse_envelope(html, Format::Xml);
        assert!(page.is_err() || parse_job_status(&page.unwrap()) == Err(ProtocolError::MissingField("jobid")));
        #[cfg(feature = "xml")]
        {
            let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><r>&lol2;</r>"#;
            assert!(
                matches!(parse_envelope(bomb, Format::Xml), Err(ProtocolError::Xml(text)) if text.contains("lol2"))
            );
        }
        #[cfg(not(feature = "xml"))]
        assert_eq!(
            parse_envelope(b"<r/>", Format::Xml),
            Err(ProtocolError::Xml(crate::protocol::XML_FEATURE_OFF.into()))
        );
        let deep = "[".repeat(10_000);
        assert!(matches!(parse_envelope(deep.as_bytes(), Format::Json), Err(ProtocolError::Json(_))));
        let huge = vec![b' '; crate::protocol::MAX_BODY_BYTES + 1];
        assert!(matches!(parse_envelope(&huge, Format::Json), Err(ProtocolError::TooLarge { .. })));
        let env = json_envelope(json!({"queryasyncjobresultresponse": {"jobid": {"x": 1}, "jobstatus": 1}}));
        assert!(matches!(parse_job_status(&env), Err(ProtocolError::InvalidField { field: "jobid", .. })));
    }
}
