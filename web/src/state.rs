//! The dashboard's domain state: tracked jobs, filters and the derived views. Plain data;
//! signals only per row (and one revision counter for the table's order).

use jobwire::{JobSnapshot, JobState};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step of a job's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// Wall-clock time, milliseconds since the epoch.
    pub at_ms: f64,
    /// The state seen.
    pub state: JobState,
    /// The progress seen, if any.
    pub progress: Option<f64>,
}

/// A failure as the server described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// `errorcode`.
    pub code: i64,
    /// `cserrorcode`, when sent.
    pub cs_error_code: Option<i64>,
    /// `errortext` (rendered as text, never as HTML).
    pub text: String,
}

/// What the dashboard knows of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobData {
    /// Latest known state; once terminal it never goes back.
    pub state: JobState,
    /// Progress percent, when the server reports it.
    pub progress: Option<f64>,
    /// When tracking started (epoch ms).
    pub started_ms: f64,
    /// When a terminal state was seen (epoch ms).
    pub finished_ms: Option<f64>,
    /// The result object (rendered as text, never as HTML).
    pub result: Option<Value>,
    /// The failure.
    pub error: Option<JobFailure>,
    /// The last status object as the server sent it.
    pub raw: Option<Value>,
    /// Every change of state or progress, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Whether its finish was announced already (also before a reload: a job restored as
    /// finished is not announced again when its status comes back).
    pub announced: bool,
}

impl JobData {
    /// A job that was just accepted.
    pub fn submitted(now_ms: f64) -> Self {
        JobData {
            state: JobState::Pending,
            progress: Some(0.0),
            started_ms: now_ms,
            finished_ms: None,
            result: None,
            error: None,
            raw: None,
            timeline: vec![TimelineEntry { at_ms: now_ms, state: JobState::Pending, progress: Some(0.0) }],
            announced: false,
        }
    }

    /// Applies a newer observation; a terminal state is never replaced by a pending one and
    /// progress never drops. Returns whether anything changed.
    pub fn observe(&mut self, state: JobState, progress: Option<f64>, now_ms: f64) -> bool {
        if self.state.is_terminal() {
            return false;
        }
        let before = (self.state, self.progress);
        self.state = state;
        if let Some(p) = progress.filter(|p| p.is_finite()) {
            self.progress = Some(self.progress.map_or(p, |old| old.max(p)).clamp(0.0, 100.0));
        }
        if state.is_terminal() {
            self.finished_ms = Some(now_ms);
            if state == JobState::Succeeded {
                self.progress = Some(100.0);
            }
        }
        let changed = before != (self.state, self.progress);
        if changed {
            self.timeline.push(TimelineEntry { at_ms: now_ms, state: self.state, progress: self.progress });
        }
        changed
    }

    /// Applies a status answer: state, progress, and the result or failure once terminal.
    pub fn apply(&mut self, snapshot: &JobSnapshot, now_ms: f64) -> bool {
        if self.state.is_terminal() {
            return false;
        }
        let changed = self.observe(snapshot.state, snapshot.progress, now_ms);
        self.raw = Some(snapshot.raw.clone());
        match snapshot.state {
            JobState::Succeeded => self.result = snapshot.result.clone(),
            JobState::Failed | JobState::Cancelled => {
                self.error = Some(match &snapshot.error {
                    Some(error) => {
                        JobFailure { code: error.code, cs_error_code: error.cs_error_code, text: error.text.clone() }
                    }
                    None => JobFailure {
                        code: snapshot.result_code.unwrap_or_default(),
                        cs_error_code: None,
                        text: if snapshot.state == JobState::Cancelled { "job was cancelled" } else { "job failed" }
                            .into(),
                    },
                })
            }
            JobState::Pending => {}
        }
        changed
    }

    /// The progress to show at `now_ms`: the latest reading, carried forward while the job runs
    /// at the rate its readings show (servers truncate to whole percents, so the latest is taken
    /// at its midpoint), so the bar of a long job moves between listings, which come up to 10 s
    /// apart; never past 99 % before the end, never below the latest reading, and a reading
    /// below what the bar showed when it came does not move the bar back (it holds until the
    /// new estimate passes).
    pub fn shown_progress(&self, now_ms: f64) -> f64 {
        let latest_value = self.progress.unwrap_or(0.0);
        if self.state != JobState::Pending {
            return latest_value;
        }
        let readings: Vec<(f64, f64)> =
            self.timeline.iter().filter_map(|entry| entry.progress.map(|p| (entry.at_ms, p))).collect();
        let Some(carried) = carried_progress(&readings, now_ms) else { return latest_value };
        let held = match readings.split_last() {
            Some((latest, before)) => carried_progress(before, latest.0).unwrap_or(0.0),
            None => 0.0,
        };
        carried.max(held).min(99.0).max(latest_value)
    }

    /// Seconds since tracking started, frozen once the job finished.
    pub fn elapsed_secs(&self, now_ms: f64) -> f64 {
        ((self.finished_ms.unwrap_or(now_ms) - self.started_ms) / 1000.0).max(0.0)
    }
}

/// What is needed to resume following a job after a reload (no credentials in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeToken {
    /// The job id.
    pub job_id: String,
    /// The resource the command creates, if any.
    pub resource_id: Option<String>,
    /// The command that started the job.
    pub command: String,
}

/// What localStorage keeps of a tracked job: its resume token, when tracking started, and the
/// parameters it was submitted with (for resubmit). Never credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredJob {
    /// The resume token (`jobId`, `resourceId`, `command`).
    #[serde(flatten)]
    pub token: ResumeToken,
    /// When tracking started (epoch ms).
    #[serde(default)]
    pub started_ms: f64,
    /// Submit parameters.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Whether it had finished (and was announced) when saved.
    #[serde(default)]
    pub finished: bool,
}

/// The API a connection (and so each of its jobs) speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Apache CloudStack (`/client/api`).
    #[default]
    CloudStack,
    /// BMC Cloud Lifecycle Management (`/csm/...`).
    Clm,
}

impl Protocol {
    /// What the UI shows.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::CloudStack => "CloudStack",
            Protocol::Clm => "CLM",
        }
    }

    /// The name used in form values and test ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::CloudStack => "cloudstack",
            Protocol::Clm => "clm",
        }
    }

    /// From [`Protocol::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        [Protocol::CloudStack, Protocol::Clm].into_iter().find(|p| p.as_str() == name)
    }
}

/// One row of the jobs table.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    /// The job id (the row's key).
    pub id: String,
    /// The command that started it.
    pub command: String,
    /// The resource it creates, if any.
    pub resource_id: Option<String>,
    /// The parameters it was submitted with (for resubmit), when known.
    pub params: Vec<(String, String)>,
    /// Live data.
    pub data: RwSignal<JobData>,
    /// The protocol of the connection that follows it.
    pub protocol: Protocol,
    /// The key of that connection (its storage key; empty outside the app).
    pub source: String,
}

impl JobRow {
    /// A fresh row in state pending.
    pub fn new(token: ResumeToken, params: Vec<(String, String)>, started_ms: f64) -> Self {
        JobRow {
            id: token.job_id,
            command: token.command,
            resource_id: token.resource_id,
            params,
            data: RwSignal::new(JobData::submitted(started_ms)),
            protocol: Protocol::CloudStack,
            source: String::new(),
        }
    }

    /// The row as followed by the connection `source` speaking `protocol`.
    pub fn from_source(mut self, protocol: Protocol, source: &str) -> Self {
        self.protocol = protocol;
        self.source = source.to_owned();
        self
    }

    /// What localStorage keeps of the row.
    pub fn stored(&self) -> StoredJob {
        StoredJob {
            token: self.token(),
            started_ms: self.data.with_untracked(|d| d.started_ms),
            params: self.params.clone(),
            finished: self.data.with_untracked(|d| d.announced),
        }
    }

    /// A row brought back from localStorage after a reload.
    pub fn restored(stored: StoredJob, now_ms: f64) -> Self {
        let started = if stored.started_ms > 0.0 { stored.started_ms } else { now_ms };
        let row = JobRow::new(stored.token, stored.params, started);
        row.data.update_untracked(|d| d.announced = stored.finished);
        row
    }

    /// The row's resume token.
    pub fn token(&self) -> ResumeToken {
        ResumeToken { job_id: self.id.clone(), resource_id: self.resource_id.clone(), command: self.command.clone() }
    }
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

/// A state from its display name.
pub fn parse_state(label: &str) -> Option<JobState> {
    ALL_STATES.into_iter().find(|s| state_label(*s) == label)
}

/// Every state, in display order.
pub const ALL_STATES: [JobState; 4] = [JobState::Pending, JobState::Succeeded, JobState::Failed, JobState::Cancelled];

/// Column the table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// When tracking started.
    #[default]
    Started,
    /// State (pending first).
    State,
    /// Command name.
    Command,
}

impl SortKey {
    /// The name used in the URL.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Started => "started",
            SortKey::State => "state",
            SortKey::Command => "command",
        }
    }

    /// From the URL name.
    pub fn parse(name: &str) -> Option<Self> {
        [SortKey::Started, SortKey::State, SortKey::Command].into_iter().find(|k| k.as_str() == name)
    }
}

/// The table's filters and order (all of it lives in the URL).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this command.
    pub command: Option<String>,
    /// Case-insensitive text in id, command or resource id.
    pub search: String,
    /// Sort column.
    pub sort: SortKey,
    /// Ascending instead of descending.
    pub ascending: bool,
}

fn state_rank(state: JobState) -> u8 {
    match state {
        JobState::Succeeded => 0,
        JobState::Cancelled => 1,
        JobState::Failed => 2,
        JobState::Pending => 3,
    }
}

/// The rows `filters` lets through, in its order (reads row data without tracking it).
pub fn view_rows(rows: &[JobRow], filters: &Filters) -> Vec<JobRow> {
    let needle = filters.search.trim().to_lowercase();
    let mut keyed: Vec<(JobRow, JobState, f64)> = rows
        .iter()
        .filter_map(|row| {
            let (state, started) = row.data.with_untracked(|d| (d.state, d.started_ms));
            if filters.state.is_some_and(|s| s != state) {
                return None;
            }
            if filters.command.as_ref().is_some_and(|c| *c != row.command) {
                return None;
            }
            let matches = needle.is_empty()
                || row.id.to_lowercase().contains(&needle)
                || row.command.to_lowercase().contains(&needle)
                || row.resource_id.as_deref().is_some_and(|r| r.to_lowercase().contains(&needle));
            if !matches {
                return None;
            }
            Some((row.clone(), state, started))
        })
        .collect();
    // Stable sorts on a started-ascending base keep ties in submit order.
    keyed.sort_by(|a, b| a.2.total_cmp(&b.2));
    match filters.sort {
        SortKey::Started => {}
        SortKey::State => keyed.sort_by_key(|(_, state, _)| state_rank(*state)),
        SortKey::Command => keyed.sort_by(|a, b| a.0.command.cmp(&b.0.command)),
    }
    // Descending (the default) shows the newest job, and pending before finished, first.
    if !filters.ascending {
        keyed.reverse();
    }
    keyed.into_iter().map(|(row, _, _)| row).collect()
}

/// Jobs per state, in [`ALL_STATES`] order.
pub fn counts(rows: &[JobRow]) -> [usize; 4] {
    let mut counts = [0; 4];
    for row in rows {
        let state = row.data.with_untracked(|d| d.state);
        if let Some(i) = ALL_STATES.iter().position(|s| *s == state) {
            counts[i] += 1;
        }
    }
    counts
}

/// A duration histogram: `bins` equal buckets from 0 to the longest finished job.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Width of one bucket, seconds.
    pub bucket_secs: f64,
    /// Jobs per bucket.
    pub counts: Vec<usize>,
}

/// Durations of finished jobs bucketed for the overview chart.
pub fn duration_histogram(rows: &[JobRow], bins: usize) -> Histogram {
    let durations: Vec<f64> = rows
        .iter()
        .filter_map(|row| row.data.with_untracked(|d| d.finished_ms.map(|f| ((f - d.started_ms) / 1000.0).max(0.0))))
        .collect();
    let bins = bins.max(1);
    let longest = durations.iter().copied().fold(0.0_f64, f64::max);
    let bucket_secs = if longest > 0.0 { longest / bins as f64 } else { 1.0 };
    let mut counts = vec![0; bins];
    for d in durations {
        let i = ((d / bucket_secs) as usize).min(bins - 1);
        counts[i] += 1;
    }
    Histogram { bucket_secs, counts }
}

/// `readings` (time ms, percent; oldest first) carried forward to `at_ms` at the rate from the
/// first to the latest (the latest taken at its truncation midpoint); `None` without a rate.
fn carried_progress(readings: &[(f64, f64)], at_ms: f64) -> Option<f64> {
    let (first, latest) = (readings.first()?, readings.last()?);
    let (span, gained) = (latest.0 - first.0, latest.1 + 0.5 - first.1);
    (span > 0.0 && gained > 0.0).then(|| latest.1 + gained / span * (at_ms - latest.0).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_state_is_never_undone_and_progress_never_drops() {
        let start = 1_000.0;
        let mut job = JobData::submitted(start);
        job.observe(JobState::Pending, Some(40.0), start);
        job.observe(JobState::Pending, Some(10.0), start);
        assert_eq!(job.progress, Some(40.0));
        job.observe(JobState::Succeeded, None, start + 2_000.0);
        assert!(!job.observe(JobState::Pending, Some(0.0), start + 3_000.0));
        assert_eq!(job.state, JobState::Succeeded);
        assert_eq!(job.progress, Some(100.0));
        assert_eq!(job.elapsed_secs(start + 9_000.0), 2.0);
        let states: Vec<_> = job.timeline.iter().map(|t| (t.state, t.progress)).collect();
        assert_eq!(
            states,
            [(JobState::Pending, Some(0.0)), (JobState::Pending, Some(40.0)), (JobState::Succeeded, Some(100.0))]
        );
    }

    #[test]
    fn a_running_jobs_progress_is_carried_forward_at_its_slowest_rate() {
        let start = 1_000.0;
        let mut job = JobData::submitted(start);
        assert_eq!(job.shown_progress(start + 5_000.0), 0.0, "no reading yet");
        // 21 % (21–22 %) after 10 s: 2.15 % a second.
        job.observe(JobState::Pending, Some(21.0), start + 10_000.0);
        assert_eq!(job.shown_progress(start + 10_000.0), 21.0);
        assert!((job.shown_progress(start + 15_000.0) - 31.75).abs() < 1e-9);
        assert_eq!(job.shown_progress(start + 100_000.0), 99.0, "never past 99 % before the end");
        // 30 % at 15 s, below the 31.75 % shown then: the bar holds until the new estimate
        // (30.5 % over 15 s) passes it, about 0.9 s later.
        job.observe(JobState::Pending, Some(30.0), start + 15_000.0);
        assert!((job.shown_progress(start + 15_000.0) - 31.75).abs() < 1e-9);
        assert!((job.shown_progress(start + 15_500.0) - 31.75).abs() < 1e-9);
        assert!(job.shown_progress(start + 17_000.0) > 31.75);
        job.observe(JobState::Succeeded, None, start + 30_000.0);
        assert_eq!(job.shown_progress(start + 40_000.0), 100.0);
        // A job reporting no progress stays where it is.
        let mut silent = JobData::submitted(start);
        silent.observe(JobState::Pending, Some(0.0), start + 10_000.0);
        assert_eq!(silent.shown_progress(start + 20_000.0), 0.0);
    }

    fn row(id: &str, command: &str, started: f64, state: JobState) -> JobRow {
        let token = ResumeToken { job_id: id.into(), resource_id: Some(format!("res-{id}")), command: command.into() };
        let row = JobRow::new(token, vec![], started);
        row.data.update(|d| {
            d.observe(state, None, started + 500.0);
        });
        row
    }

    #[test]
    fn filters_and_sorts() {
        let owner = Owner::new();
        owner.with(|| {
            let rows = vec![
                row("a", "deployVirtualMachine", 1.0, JobState::Succeeded),
                row("b", "createVolume", 2.0, JobState::Pending),
                row("c", "deployVirtualMachine", 3.0, JobState::Failed),
            ];
            let ids = |f: &Filters| view_rows(&rows, f).iter().map(|r| r.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&Filters::default()), ["c", "b", "a"], "newest first");
            assert_eq!(ids(&Filters { ascending: true, ..Filters::default() }), ["a", "b", "c"]);
            assert_eq!(ids(&Filters { sort: SortKey::State, ..Filters::default() }), ["b", "c", "a"]);
            assert_eq!(
                ids(&Filters { sort: SortKey::Command, ascending: true, ..Filters::default() }),
                ["b", "a", "c"]
            );
            assert_eq!(ids(&Filters { state: Some(JobState::Pending), ..Filters::default() }), ["b"]);
            assert_eq!(
                ids(&Filters { command: Some("deployVirtualMachine".into()), ..Filters::default() }),
                ["c", "a"]
            );
            assert_eq!(ids(&Filters { search: "RES-B".into(), ..Filters::default() }), ["b"]);
            assert_eq!(counts(&rows), [1, 1, 1, 0]);
            let histogram = duration_histogram(&rows, 4);
            assert_eq!(histogram.counts.iter().sum::<usize>(), 2);
        });
    }
}
