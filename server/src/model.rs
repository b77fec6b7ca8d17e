//! The server's domain data: users, jobs and resources. Plain data, serialisable so the store
//! can persist it as JSON columns.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which API a job was submitted through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `/client/api`.
    CloudStack,
    /// `/csm/...`.
    Clm,
}

/// An API user: CloudStack account user and CLM user alike.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// UUID.
    pub id: String,
    /// Account UUID.
    pub account_id: String,
    /// Login name.
    pub username: String,
    /// Password (plain: this is a test server; never logged).
    pub password: String,
    /// Account name.
    pub account: String,
    /// Domain path, `/` for ROOT.
    pub domain: String,
    /// Domain UUID.
    pub domain_id: String,
    /// API key.
    pub api_key: String,
    /// Secret key (never logged).
    pub secret_key: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("id", &self.id).field("username", &self.username).finish_non_exhaustive()
    }
}

/// How a job ends; decided when it is submitted so runs with one seed repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Plan {
    /// The job succeeds; its effect is applied to the resource at completion.
    Succeed,
    /// The job fails with `code` and `text`.
    Fail {
        /// CloudStack error code (530 internal, 533 capacity, …).
        code: i64,
        /// `errortext`.
        text: String,
    },
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum JobState {
    /// Running until `finish_at_ms`.
    Pending,
    /// Finished with `result` (CloudStack `jobresult`).
    Succeeded {
        /// The result object, e.g. `{"virtualmachine": {…}}`.
        result: Value,
    },
    /// Finished in failure.
    Failed {
        /// Error code.
        code: i64,
        /// Error text.
        text: String,
    },
}

/// An async job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// UUID (or a caller's `customjobid`).
    pub id: String,
    /// The user who submitted it; nobody else sees it.
    pub owner: String,
    /// CloudStack or CLM.
    pub protocol: Protocol,
    /// API name, e.g. `deployVirtualMachine`.
    pub command: String,
    /// CloudStack's `cmd` (Java class name).
    pub cmd_class: String,
    /// The entity acted on: kind (`VirtualMachine`) and id.
    pub instance: Option<(String, String)>,
    /// Unix milliseconds when it was submitted.
    pub created_ms: u64,
    /// Unix milliseconds when it finishes.
    pub finish_at_ms: u64,
    /// Completion time, once finished.
    pub completed_ms: Option<u64>,
    /// Decided outcome.
    pub plan: Plan,
    /// Current state.
    pub state: JobState,
    /// The command's parameters (lower-case names), for effects applied at completion.
    pub params: Value,
    /// CLM: the callback URL to POST the task to when it finishes.
    pub callback_url: Option<String>,
    /// Progress grows with time while pending; otherwise it stays 0 until the end (jobs saved
    /// before this field existed report progress).
    #[serde(default = "reports_progress_default")]
    pub reports_progress: bool,
}

fn reports_progress_default() -> bool {
    true
}

impl Job {
    /// Progress in percent at `now_ms`: time-based while pending (0 throughout for a job that
    /// reports none), 100 once finished.
    pub fn progress(&self, now_ms: u64) -> u8 {
        match self.state {
            JobState::Pending if !self.reports_progress => 0,
            JobState::Pending => {
                let total = self.finish_at_ms.saturating_sub(self.created_ms).max(1);
                let done = now_ms.saturating_sub(self.created_ms).min(total);
                u8::try_from(done * 99 / total).unwrap_or(99)
            }
            _ => 100,
        }
    }

    /// True once the job can no longer change.
    pub fn is_finished(&self) -> bool {
        !matches!(self.state, JobState::Pending)
    }
}

/// A cloud resource (virtual machine, volume, snapshot, template): its kind, owner, and the
/// object the list commands show (`state` included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// UUID.
    pub id: String,
    /// Object name: `virtualmachine`, `volume`, `snapshot`, `template`.
    pub kind: String,
    /// Owner's user id.
    pub owner: String,
    /// The object as the API shows it.
    pub object: Value,
    /// Removed resources are kept for history but no longer listed.
    pub removed: bool,
}

impl Resource {
    /// The object's `state` field.
    pub fn state(&self) -> &str {
        self.object.get("state").and_then(Value::as_str).unwrap_or("")
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
