//! Protocol layer: pure data and parsing, no I/O and no clock.
//!
//! Every protocol maps its job status onto [`JobSnapshot`] so the engine, the JS API and the
//! dashboard handle CloudStack jobs and CLM tasks alike.

pub mod clm;
pub mod cloudstack;
pub mod date;
pub mod json;
#[cfg(feature = "xml")]
pub mod xml;

use serde::Serialize;
use serde_json::Value;

/// Where a job is in its life. Terminal states never change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Queued or running (CloudStack `jobstatus` 0).
    Pending,
    /// Finished with a result (CloudStack `jobstatus` 1).
    Succeeded,
    /// Finished with an error (CloudStack `jobstatus` 2).
    Failed,
    /// Cancelled by the server (CloudStack `jobstatus` 3); terminal, counts as a failure.
    Cancelled,
}

impl JobState {
    /// The lower-case name, as serialised (`pending`, `succeeded`, `failed`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// True once the job can no longer change.
    pub fn is_terminal(self) -> bool {
        !matches!(self, JobState::Pending)
    }
}

/// One observation of a job, the same shape for every protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSnapshot {
    /// The job id, opaque (integers of old servers and UUIDs alike).
    pub job_id: String,
    /// Pending, succeeded, failed or cancelled.
    pub state: JobState,
    /// Progress as the server reports it (`jobprocstatus`), when it does.
    pub progress: Option<f64>,
    /// `jobresultcode`: 0 on success or while pending, the error code on failure.
    pub result_code: Option<i64>,
    /// The result object on success (`jobresult`), kept whole.
    pub result: Option<Value>,
    /// The reason on failure.
    pub error: Option<ApiError>,
    /// The command that started the job (CloudStack `cmd`, a Java class name).
    pub command: Option<String>,
    /// When the job was created, as the server wrote it.
    pub created: Option<String>,
    /// When the job finished, as the server wrote it.
    pub completed: Option<String>,
    /// The whole status object, for fields this model does not name.
    pub raw: Value,
}

impl JobSnapshot {
    /// A bare snapshot of `job_id` in `state`, nothing else known: the tests' fixture.
    #[cfg(test)]
    pub(crate) fn bare(job_id: &str, state: JobState) -> Self {
        JobSnapshot {
            job_id: job_id.into(),
            state,
            progress: None,
            result_code: None,
            result: None,
            error: None,
            command: None,
            created: None,
            completed: None,
            raw: Value::Null,
        }
    }

    /// The protocol-neutral status: what the engine and the dashboard act on.
    pub fn status(&self) -> JobStatus {
        match self.state {
            JobState::Pending => JobStatus::Pending { progress: self.progress },
            JobState::Succeeded => JobStatus::Succeeded { result: self.result.clone().unwrap_or(Value::Null) },
            JobState::Failed | JobState::Cancelled => {
                let error = self.error.clone().unwrap_or_else(|| ApiError {
                    code: self.result_code.unwrap_or_default(),
                    cs_error_code: None,
                    text: if self.state == JobState::Cancelled { "job was cancelled" } else { "job failed" }.into(),
                });
                JobStatus::Failed { code: error.code, message: error.text, detail: self.raw.clone() }
            }
        }
    }
}

/// A job's status without protocol details.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum JobStatus {
    /// Not finished; progress in percent when the server reports it.
    Pending {
        /// Progress, 0–100.
        progress: Option<f64>,
    },
    /// Finished with this result.
    Succeeded {
        /// The result object.
        result: Value,
    },
    /// Finished in failure (cancelled jobs included).
    Failed {
        /// The protocol's error code.
        code: i64,
        /// The server's message.
        message: String,
        /// The whole status object, for everything else the server said.
        detail: Value,
    },
}

/// An error a server reported in a protocol body: CloudStack's `errorcode`/`cserrorcode`/`errortext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("error {code}: {text}")]
pub struct ApiError {
    /// `errorcode` (equals the HTTP status on CloudStack).
    pub code: i64,
    /// `cserrorcode`, the Java exception class code, when present.
    pub cs_error_code: Option<i64>,
    /// `errortext`.
    pub text: String,
}

/// Largest response body the parsers accept: 16 MiB, far above any job status or page of a
/// list (CloudStack's own request limit is 1 MiB), small enough to bound memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Refuses bodies over [`MAX_BODY_BYTES`].
pub(crate) fn check_size(body: &[u8]) -> Result<(), ProtocolError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ProtocolError::TooLarge { size: body.len(), limit: MAX_BODY_BYTES });
    }
    Ok(())
}

/// Response body formats the protocols use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `response=json`.
    #[default]
    Json,
    /// `response=xml` (CloudStack's default when `response` is absent).
    Xml,
}

impl Format {
    /// The value of CloudStack's `response` parameter.
    pub fn as_param(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Xml => "xml",
        }
    }
}

/// Why an XML body is refused by a build without the `xml` feature.
#[cfg(not(feature = "xml"))]
pub(crate) const XML_FEATURE_OFF: &str = "this build of jobwire reads JSON only (XML needs its `xml` feature)";

/// A body that is not a valid protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The body is not well-formed JSON.
    #[error("malformed JSON response: {0}")]
    Json(String),
    /// The body is not well-formed XML.
    #[error("malformed XML response: {0}")]
    Xml(String),
    /// The body is larger than the parser accepts (a guard against hostile or broken servers).
    #[error("response of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The body's size as received: the transports stop reading one byte past the limit,
        /// so a bigger body shows as `limit + 1`.
        size: usize,
        /// The limit, [`MAX_BODY_BYTES`].
        limit: usize,
    },
    /// The body nests deeper than the parser allows (a guard against hostile input).
    #[error("response nests deeper than {0} levels")]
    TooDeep(usize),
    /// A field the protocol requires is absent.
    #[error("response lacks required field `{0}`")]
    MissingField(&'static str),
    /// A field has a value of the wrong type or range.
    #[error("field `{field}` has an invalid value: {value}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What was found, shortened.
        value: String,
    },
    /// The body's overall shape is not the expected envelope.
    #[error("unexpected response shape: {0}")]
    UnexpectedShape(String),
}

/// Shortens a value for an error message so a hostile body cannot bloat errors.
pub(crate) fn excerpt(value: &Value) -> String {
    let mut text = json::to_text(value);
    if text.len() > 80 {
        let mut cut = 80;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}
