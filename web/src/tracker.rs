//! The dashboard's controller: the tracked jobs, one SDK batch watch (`JobClient::watch`) for
//! every unfinished job, restarted when jobs are added, slowed while the tab is hidden; and
//! the periodic flush that keeps the table's order, localStorage and "last updated" current
//! without recomputing anything per status update.

use std::collections::HashMap;

use futures::future::{select, AbortHandle, Abortable};
use jobwire::time::Duration;
use jobwire::{JobClient, JobSnapshot, SubmittedJob};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser::{now_ms, page_hidden, save_jobs};
use crate::state::{JobData, JobRow};

/// While the tab is hidden: one short round of polling every this long.
const HIDDEN_PAUSE: Duration = Duration::from_secs(15);
/// Length of one such round (the watch's first listing comes after 0.5 s).
const HIDDEN_ROUND: Duration = Duration::from_secs(2);
/// After a transport failure, the watch starts again this much later.
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// How the dashboard is polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// Nothing to follow.
    Idle,
    /// Following jobs at the SDK's pace.
    Live,
    /// The tab is hidden: short rounds far apart.
    Slow,
}

impl PollMode {
    /// What the status bar shows.
    pub fn label(self) -> &'static str {
        match self {
            PollMode::Idle => "idle",
            PollMode::Live => "live",
            PollMode::Slow => "slowed (tab hidden)",
        }
    }
}

/// The tracked jobs and the machinery that follows them. `Copy`: all fields are arena handles.
#[derive(Clone, Copy)]
pub struct Dashboard {
    /// The connected client.
    pub client: RwSignal<Option<JobClient>>,
    /// Every tracked job, in submit order.
    pub jobs: RwSignal<Vec<JobRow>>,
    /// Bumped (at most every flush) when any job's state changed: the table re-sorts then.
    pub revision: RwSignal<u64>,
    /// The latest problem to show.
    pub problem: RwSignal<Option<String>>,
    /// Current polling mode.
    pub mode: RwSignal<PollMode>,
    /// When the server last answered (epoch ms).
    pub last_update_ms: RwSignal<Option<f64>>,
    /// The clock the elapsed columns follow (epoch ms, every flush).
    pub now_ms: RwSignal<f64>,
    index: StoredValue<HashMap<String, RwSignal<JobData>>>,
    incoming: StoredValue<Vec<JobRow>>,
    dirty: StoredValue<bool>,
    persist_dirty: StoredValue<bool>,
    restart_scheduled: StoredValue<bool>,
    watch: StoredValue<Option<AbortHandle>>,
    requests_seen: StoredValue<u64>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Dashboard {
    /// An empty dashboard (no client yet).
    pub fn new() -> Self {
        Dashboard {
            client: RwSignal::new(None),
            jobs: RwSignal::new(Vec::new()),
            revision: RwSignal::new(0),
            problem: RwSignal::new(None),
            mode: RwSignal::new(PollMode::Idle),
            last_update_ms: RwSignal::new(None),
            now_ms: RwSignal::new(now_ms()),
            index: StoredValue::new(HashMap::new()),
            incoming: StoredValue::new(Vec::new()),
            dirty: StoredValue::new(false),
            persist_dirty: StoredValue::new(false),
            restart_scheduled: StoredValue::new(false),
            watch: StoredValue::new(None),
            requests_seen: StoredValue::new(0),
        }
    }

    /// Starts the periodic flush (every `period`) and the visibility listener.
    pub fn start(self, period: Duration) {
        let _ = set_interval_with_handle(move || self.flush(), period);
        let handle = window_event_listener_untyped("visibilitychange", move |_| {
            if self.client.with_untracked(Option::is_some) {
                self.restart_watch();
            }
        });
        // The listener lives as long as the page.
        std::mem::forget(handle);
    }

    /// The endpoint the client talks to.
    pub fn endpoint(&self) -> Option<String> {
        self.client.with_untracked(|c| c.as_ref().map(|c| c.config().endpoint.clone()))
    }

    /// Adds rows (shown at the next flush) and follows them.
    pub fn add(&self, rows: Vec<JobRow>) {
        self.index.update_value(|index| {
            for row in &rows {
                index.insert(row.id.clone(), row.data);
            }
        });
        self.incoming.update_value(|incoming| incoming.extend(rows));
        self.persist_dirty.set_value(true);
        self.schedule_watch();
    }

    /// Adds rows at once, without following them (component tests and the benchmark).
    pub fn add_now(&self, rows: Vec<JobRow>) {
        self.index.update_value(|index| {
            for row in &rows {
                index.insert(row.id.clone(), row.data);
            }
        });
        self.jobs.update(|jobs| jobs.extend(rows));
    }

    /// Stops tracking `id`.
    pub fn remove(&self, id: &str) {
        self.index.update_value(|index| {
            index.remove(id);
        });
        self.jobs.update(|jobs| jobs.retain(|row| row.id != id));
        self.persist_dirty.set_value(true);
        self.schedule_watch();
    }

    /// A status answer from the watch.
    pub fn on_snapshot(&self, snapshot: &JobSnapshot) {
        let Some(data) = self.index.with_value(|index| index.get(&snapshot.job_id).copied()) else { return };
        let now = now_ms();
        let mut changed = false;
        data.update(|d| changed = d.apply(snapshot, now));
        if changed {
            self.dirty.set_value(true);
        }
    }

    /// Marks the table's order stale (the benchmark's fabricated updates).
    pub fn touch(&self) {
        self.dirty.set_value(true);
    }

    /// Applies what accumulated since the last flush: new rows, the table order, localStorage,
    /// the clock and "last updated".
    pub fn flush(&self) {
        let now = now_ms();
        self.now_ms.set(now);
        let incoming = self.incoming.try_update_value(std::mem::take).unwrap_or_default();
        if !incoming.is_empty() {
            self.jobs.update(|jobs| jobs.extend(incoming));
        }
        if self.dirty.try_update_value(std::mem::take).unwrap_or(false) {
            self.revision.update(|r| *r += 1);
        }
        if self.persist_dirty.try_update_value(std::mem::take).unwrap_or(false) {
            self.persist();
        }
        if let Some(sent) = self.client.with_untracked(|c| c.as_ref().map(JobClient::requests_sent)) {
            if sent != self.requests_seen.get_value() {
                self.requests_seen.set_value(sent);
                self.last_update_ms.set(Some(now));
            }
        }
    }

    fn persist(&self) {
        if let Some(endpoint) = self.endpoint() {
            let stored: Vec<_> = self.jobs.with_untracked(|jobs| {
                jobs.iter().chain(self.incoming.with_value(|i| i.clone()).iter()).map(JobRow::stored).collect()
            });
            save_jobs(&endpoint, &stored);
        }
    }

    /// Restarts the watch soon (many adds in a row restart it once).
    pub fn schedule_watch(&self) {
        if self.restart_scheduled.get_value() {
            return;
        }
        self.restart_scheduled.set_value(true);
        let this = *self;
        set_timeout(
            move || {
                this.restart_scheduled.set_value(false);
                this.restart_watch();
            },
            std::time::Duration::from_millis(30),
        );
    }

    fn unfinished(&self) -> Vec<SubmittedJob> {
        let pending_ids: Vec<String> = self.index.with_value(|index| {
            index
                .iter()
                .filter(|(_, d)| d.with_untracked(|d| !d.state.is_terminal()))
                .map(|(id, _)| id.clone())
                .collect()
        });
        pending_ids
            .into_iter()
            .map(|job_id| SubmittedJob { job_id, resource_id: None, command: String::new(), submitted_at: None })
            .collect()
    }

    /// Stops the running watch and starts one for every unfinished job: at the SDK's pace
    /// while the page is visible, in short rounds every [`HIDDEN_PAUSE`] while it is hidden.
    pub fn restart_watch(&self) {
        if let Some(handle) = self.watch.try_update_value(Option::take).flatten() {
            handle.abort();
        }
        let Some(client) = self.client.get_untracked() else { return };
        if self.unfinished().is_empty() {
            self.mode.set(PollMode::Idle);
            return;
        }
        let this = *self;
        let (handle, registration) = AbortHandle::new_pair();
        self.watch.set_value(Some(handle));
        let follow = async move {
            loop {
                let jobs = this.unfinished();
                if jobs.is_empty() {
                    break;
                }
                if page_hidden() {
                    this.mode.set(PollMode::Slow);
                    let round = Box::pin(client.watch(&jobs, |s| this.on_snapshot(s)));
                    let _ = select(round, Box::pin(jobwire::transport::sleep(HIDDEN_ROUND))).await;
                    jobwire::transport::sleep(HIDDEN_PAUSE).await;
                    continue;
                }
                this.mode.set(PollMode::Live);
                match client.watch(&jobs, |s| this.on_snapshot(s)).await {
                    Ok(_) => {}
                    Err(error) => {
                        this.problem.set(Some(format!("following jobs: {error}")));
                        jobwire::transport::sleep(RETRY_PAUSE).await;
                    }
                }
            }
            this.mode.set(PollMode::Idle);
        };
        spawn_local(async move {
            let _ = Abortable::new(follow, registration).await;
        });
    }
}
