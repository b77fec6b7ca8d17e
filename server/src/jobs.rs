//! Async jobs: each has a start, a duration and a fixed outcome; its status at any instant
//! follows from the clock, so a job advances whether anybody polls it or not.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jobwire::protocol::cloudstack::signing::format_date;
use serde_json::{json, Map, Value};

/// How a job ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `jobstatus` 1 with this `jobresult` object.
    Success(Value),
    /// `jobstatus` 2 with `jobresultcode`/`errorcode` `code`.
    Failure {
        /// CloudStack error code (e.g. 533 insufficient capacity).
        code: i64,
        /// `errortext`.
        text: String,
    },
}

/// One async job.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job's UUID.
    pub id: String,
    /// The Java command class CloudStack reports as `cmd`.
    pub cmd_class: String,
    /// The entity the job acts on (`VirtualMachine`, its id).
    pub instance: Option<(&'static str, String)>,
    /// How the job ends.
    pub outcome: Outcome,
    created_unix: u64,
    started: Instant,
    duration: Duration,
}

impl Job {
    /// A job starting now.
    pub fn new(
        cmd_class: &str,
        instance: Option<(&'static str, String)>,
        duration: Duration,
        outcome: Outcome,
    ) -> Self {
        Job {
            id: uuid::Uuid::new_v4().to_string(),
            cmd_class: cmd_class.into(),
            instance,
            outcome,
            created_unix: unix_now(),
            started: Instant::now(),
            duration,
        }
    }

    /// The job as `queryAsyncJobResult` shows it at `now`.
    pub fn view(&self, now: Instant) -> Map<String, Value> {
        let elapsed = now.saturating_duration_since(self.started);
        let mut out = Map::new();
        out.insert("accountid".into(), json!(crate::seed::DEMO_ACCOUNT_ID));
        out.insert("userid".into(), json!(crate::seed::DEMO_USER_ID));
        out.insert("cmd".into(), json!(self.cmd_class));
        if elapsed < self.duration {
            // jobprocstatus advances with the job (percent), so clients can show progress.
            let percent = (elapsed.as_secs_f64() / self.duration.as_secs_f64() * 100.0) as i64;
            out.insert("jobstatus".into(), json!(0));
            out.insert("jobprocstatus".into(), json!(percent.clamp(0, 99)));
            out.insert("jobresultcode".into(), json!(0));
        } else {
            let completed = self.created_unix + self.duration.as_secs();
            out.insert("jobprocstatus".into(), json!(0));
            match &self.outcome {
                Outcome::Success(result) => {
                    out.insert("jobstatus".into(), json!(1));
                    out.insert("jobresultcode".into(), json!(0));
                    out.insert("jobresult".into(), result.clone());
                }
                Outcome::Failure { code, text } => {
                    out.insert("jobstatus".into(), json!(2));
                    out.insert("jobresultcode".into(), json!(530));
                    out.insert("jobresult".into(), json!({"errorcode": code, "errortext": text}));
                }
            }
            out.insert("jobresulttype".into(), json!("object"));
            out.insert("completed".into(), json!(format_date(completed)));
        }
        if let Some((kind, id)) = &self.instance {
            out.insert("jobinstancetype".into(), json!(kind));
            out.insert("jobinstanceid".into(), json!(id));
        }
        out.insert("created".into(), json!(format_date(self.created_unix)));
        out.insert("jobid".into(), json!(self.id));
        out
    }
}

/// Every job, by id.
#[derive(Debug, Default)]
pub struct JobStore {
    jobs: Mutex<HashMap<String, Job>>,
}

impl JobStore {
    /// Stores `job` and returns its id.
    pub fn insert(&self, job: Job) -> String {
        let id = job.id.clone();
        self.lock().insert(id.clone(), job);
        id
    }

    /// The job's view at `now`, if it exists.
    pub fn view(&self, id: &str, now: Instant) -> Option<Map<String, Value>> {
        self.lock().get(id).map(|job| job.view(now))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        // A panic while holding the lock cannot leave the map half-written: recover it.
        self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_clock() {
        let job = Job::new("Cmd", None, Duration::from_secs(10), Outcome::Success(json!({"success": true})));
        let pending = job.view(job.started + Duration::from_secs(5));
        assert_eq!((pending["jobstatus"].clone(), pending["jobprocstatus"].clone()), (json!(0), json!(50)));
        assert!(pending.get("jobresult").is_none() && pending.get("completed").is_none());
        let done = job.view(job.started + Duration::from_secs(10));
        assert_eq!(done["jobstatus"], json!(1));
        assert_eq!(done["jobresult"], json!({"success": true}));
    }

    #[test]
    fn failure_carries_code_and_text() {
        let job = Job::new("Cmd", None, Duration::ZERO, Outcome::Failure { code: 533, text: "no capacity".into() });
        let done = job.view(Instant::now());
        assert_eq!(done["jobstatus"], json!(2));
        assert_eq!(done["jobresult"], json!({"errorcode": 533, "errortext": "no capacity"}));
    }
}
