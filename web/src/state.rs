//! The dashboard's domain state: tracked jobs. Plain data; signals only per row.

use jobwire::time::Instant;
use jobwire::JobState;
use leptos::prelude::*;

/// What the dashboard knows of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobData {
    /// Latest known state; once terminal it never goes back.
    pub state: JobState,
    /// Progress percent, when the server reports it.
    pub progress: Option<f64>,
    /// When tracking started.
    pub started: Instant,
    /// When a terminal state was seen.
    pub finished: Option<Instant>,
    /// The result, pretty-printed JSON (rendered as text, never as HTML).
    pub result: Option<String>,
    /// The failure, `errorcode: errortext`.
    pub error: Option<String>,
}

impl JobData {
    /// A job that was just accepted.
    pub fn submitted(now: Instant) -> Self {
        JobData {
            state: JobState::Pending,
            progress: Some(0.0),
            started: now,
            finished: None,
            result: None,
            error: None,
        }
    }

    /// Applies a newer observation; a terminal state is never replaced by a pending one.
    pub fn observe(&mut self, state: JobState, progress: Option<f64>, now: Instant) {
        if self.state.is_terminal() {
            return;
        }
        self.state = state;
        if let Some(p) = progress {
            self.progress = Some(self.progress.map_or(p, |old| old.max(p)));
        }
        if state.is_terminal() {
            self.finished = Some(now);
            if state == JobState::Succeeded {
                self.progress = Some(100.0);
            }
        }
    }

    /// Seconds since tracking started, frozen once the job finished.
    pub fn elapsed_secs(&self, now: Instant) -> f64 {
        self.finished.unwrap_or(now).saturating_duration_since(self.started).as_secs_f64()
    }
}

/// One row of the jobs table.
#[derive(Debug, Clone)]
pub struct JobRow {
    /// The job id (the row's key).
    pub id: String,
    /// The command that started it.
    pub command: String,
    /// The resource it creates, if any.
    pub resource_id: Option<String>,
    /// Live data.
    pub data: RwSignal<JobData>,
}

/// Display name of a state.
pub fn state_label(state: JobState) -> &'static str {
    match state {
        JobState::Pending => "pending",
        JobState::Succeeded => "succeeded",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobwire::time::Duration;

    #[test]
    fn terminal_state_is_never_undone_and_progress_never_drops() {
        let start = Instant::now();
        let mut job = JobData::submitted(start);
        job.observe(JobState::Pending, Some(40.0), start);
        job.observe(JobState::Pending, Some(10.0), start);
        assert_eq!(job.progress, Some(40.0));
        job.observe(JobState::Succeeded, None, start + Duration::from_secs(2));
        job.observe(JobState::Pending, Some(0.0), start + Duration::from_secs(3));
        assert_eq!(job.state, JobState::Succeeded);
        assert_eq!(job.progress, Some(100.0));
        assert_eq!(job.elapsed_secs(start + Duration::from_secs(9)), 2.0);
    }
}
