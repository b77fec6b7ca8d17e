//! The inverse of [`super::response`]: a job back into CloudStack's wire form, JSON or XML.
//! Used by tests (round trips), by tools that record fixtures, and by anything that must answer
//! as a CloudStack server would.

use serde_json::{json, Map, Value};

#[cfg(feature = "xml")]
use crate::protocol::{xml, Format};
use crate::protocol::{JobSnapshot, JobState};

/// The version claimed in XML's `cloud-stack-version` attribute.
pub const CLOUDSTACK_VERSION: &str = "4.19.0.0";

/// The flat `queryasyncjobresultresponse` fields of `job`.
pub fn job_to_object(job: &JobSnapshot) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("jobid".into(), json!(job.job_id));
    let status = match job.state {
        JobState::Pending => 0,
        JobState::Succeeded => 1,
        JobState::Failed => 2,
        JobState::Cancelled => 3,
    };
    out.insert("jobstatus".into(), json!(status));
    if let Some(progress) = job.progress {
        out.insert("jobprocstatus".into(), json!(progress as i64));
    }
    if let Some(code) = job.result_code {
        out.insert("jobresultcode".into(), json!(code));
    }
    match (&job.result, &job.error) {
        (Some(result), _) => {
            out.insert("jobresulttype".into(), json!("object"));
            out.insert("jobresult".into(), result.clone());
        }
        (None, Some(error)) => {
            out.insert("jobresulttype".into(), json!("object"));
            let mut reason = Map::new();
            reason.insert("errorcode".into(), json!(error.code));
            if let Some(cs) = error.cs_error_code {
                reason.insert("cserrorcode".into(), json!(cs));
            }
            reason.insert("errortext".into(), json!(error.text));
            out.insert("jobresult".into(), Value::Object(reason));
        }
        (None, None) => {}
    }
    for (name, value) in [("cmd", &job.command), ("created", &job.created), ("completed", &job.completed)] {
        if let Some(value) = value {
            out.insert(name.into(), json!(value));
        }
    }
    out
}

/// `body` in the `name` envelope as `format` bytes.
#[cfg(feature = "xml")]
pub fn render_envelope(name: &str, body: &Map<String, Value>, format: Format) -> Vec<u8> {
    match format {
        Format::Json => json!({ name: body }).to_string().into_bytes(),
        Format::Xml => {
            xml::write(name, &[("cloud-stack-version", CLOUDSTACK_VERSION)], &Value::Object(body.clone())).into_bytes()
        }
    }
}
