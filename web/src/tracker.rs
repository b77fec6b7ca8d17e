//! The controller of one connection: its tracked jobs, followed with the SDK — one batch watch
//! (`JobClient::watch`) for every unfinished CloudStack job, or a few `ClmClient::wait_job`s at
//! a time for CLM tasks — restarted when jobs are added, slowed while the tab is hidden; and
//! the periodic flush that keeps the table's order, localStorage and "last updated" current
//! without recomputing anything per status update. Several connections share one jobs list
//! ([`Shared`]), each row tagged with its connection's key.

use std::collections::HashMap;

use futures::future::{select, AbortHandle, Abortable};
use futures::StreamExt;
use jobwire::time::{Duration, UNIX_EPOCH};
use jobwire::{Error, JobSnapshot, JobState, SubmittedJob, WaitEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::Client;
use crate::browser::{now_ms, page_hidden, save_jobs};
use crate::state::{JobData, JobRow};

/// CLM tasks waited for at once (each wait holds one long-poll; browsers allow 6 connections
/// per origin, and the other connections and submits need some).
const CLM_WAITS: usize = 3;

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

/// What every connection's dashboard shares: the one jobs list the table shows, its
/// revision, the clock and the problem line.
#[derive(Clone, Copy)]
pub struct Shared {
    /// Every tracked job of every connection.
    pub jobs: RwSignal<Vec<JobRow>>,
    /// Bumped when any job's state changed.
    pub revision: RwSignal<u64>,
    /// The latest problem to show.
    pub problem: RwSignal<Option<String>>,
    /// The clock the elapsed columns follow.
    pub now_ms: RwSignal<f64>,
}

impl Shared {
    /// Fresh, empty signals.
    pub fn new() -> Self {
        Shared {
            jobs: RwSignal::new(Vec::new()),
            revision: RwSignal::new(0),
            problem: RwSignal::new(None),
            now_ms: RwSignal::new(now_ms()),
        }
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

/// A job that has just finished, as reported to [`Dashboard::set_on_finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The job id.
    pub id: String,
    /// Its command (CLM: `Class.operation`).
    pub command: String,
    /// How it ended.
    pub state: JobState,
}

/// The tracked jobs and the machinery that follows them. `Copy`: all fields are arena handles.
#[derive(Clone, Copy)]
pub struct Dashboard {
    /// The connected client.
    pub client: RwSignal<Option<Client>>,
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
    index: StoredValue<HashMap<String, (RwSignal<JobData>, String)>>,
    key: StoredValue<String>,
    on_finish: StoredValue<Option<Callback<Finished>>>,
    incoming: StoredValue<Vec<JobRow>>,
    dirty: StoredValue<bool>,
    persist_dirty: StoredValue<bool>,
    restart_scheduled: StoredValue<bool>,
    flush_scheduled: StoredValue<bool>,
    watch: StoredValue<Option<AbortHandle>>,
    stopper: StoredValue<Option<Box<dyn FnOnce() + Send + Sync>>>,
    requests_seen: StoredValue<u64>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Dashboard {
    /// An empty dashboard (no client yet) with signals of its own.
    pub fn new() -> Self {
        Self::shared(Shared::new())
    }

    /// An empty dashboard showing its jobs in `shared` (with other connections' jobs).
    pub fn shared(shared: Shared) -> Self {
        Dashboard {
            client: RwSignal::new(None),
            jobs: shared.jobs,
            revision: shared.revision,
            problem: shared.problem,
            mode: RwSignal::new(PollMode::Idle),
            last_update_ms: RwSignal::new(None),
            now_ms: shared.now_ms,
            index: StoredValue::new(HashMap::new()),
            key: StoredValue::new(String::new()),
            on_finish: StoredValue::new(None),
            incoming: StoredValue::new(Vec::new()),
            dirty: StoredValue::new(false),
            persist_dirty: StoredValue::new(false),
            restart_scheduled: StoredValue::new(false),
            flush_scheduled: StoredValue::new(false),
            watch: StoredValue::new(None),
            stopper: StoredValue::new(None),
            requests_seen: StoredValue::new(0),
        }
    }

    /// Starts the periodic flush (every `period`) and the visibility and page-leaving listeners;
    /// all end with [`Dashboard::stop`] (or the page).
    pub fn start(self, period: Duration) {
        let interval = set_interval_with_handle(move || self.flush(), period).ok();
        let listener = window_event_listener_untyped("visibilitychange", move |_| {
            if self.client.with_untracked(Option::is_some) {
                self.restart_watch();
            }
        });
        // A reload (or leaving) right after a job finished must not lose what the next flush
        // would have saved, or the finish is announced again after the reload.
        let leaving = window_event_listener_untyped("pagehide", move |_| self.flush());
        self.stopper.set_value(Some(Box::new(move || {
            if let Some(interval) = interval {
                interval.clear();
            }
            listener.remove();
            leaving.remove();
        })));
    }

    /// Uses `client` from now on; its rows are tagged (and saved) with its key.
    pub fn connect(&self, client: Client) {
        self.key.set_value(client.key());
        self.client.set(Some(client));
    }

    /// Stops following, flushing and listening; the rows of this connection leave the table.
    pub fn stop(&self) {
        if let Some(handle) = self.watch.try_update_value(Option::take).flatten() {
            handle.abort();
        }
        if let Some(stop) = self.stopper.try_update_value(Option::take).flatten() {
            stop();
        }
        let key = self.key.get_value();
        self.jobs.update(|jobs| jobs.retain(|row| row.source != key));
        self.index.update_value(HashMap::clear);
        self.client.set(None);
        self.mode.set(PollMode::Idle);
    }

    /// Calls `callback` whenever a followed job reaches a final state.
    pub fn set_on_finish(&self, callback: Callback<Finished>) {
        self.on_finish.set_value(Some(callback));
    }

    /// The key of the connection: what its rows carry and its jobs are saved under.
    pub fn key(&self) -> String {
        self.key.get_value()
    }

    /// Adds rows (shown at the next flush, tagged with this connection) and follows them.
    pub fn add(&self, rows: Vec<JobRow>) {
        let key = self.key.get_value();
        let protocol = self.client.with_untracked(|c| c.as_ref().map(Client::protocol)).unwrap_or_default();
        let rows: Vec<JobRow> = rows.into_iter().map(|row| row.from_source(protocol, &key)).collect();
        self.index.update_value(|index| {
            for row in &rows {
                index.insert(row.id.clone(), (row.data, row.command.clone()));
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
                index.insert(row.id.clone(), (row.data, row.command.clone()));
            }
        });
        self.jobs.update(|jobs| jobs.extend(rows));
    }

    /// Stops tracking `id`.
    pub fn remove(&self, id: &str) {
        self.index.update_value(|index| {
            index.remove(id);
        });
        let key = self.key.get_value();
        self.jobs.update(|jobs| jobs.retain(|row| row.id != id || row.source != key));
        self.persist_dirty.set_value(true);
        self.schedule_watch();
    }

    /// A status answer from the watch.
    pub fn on_snapshot(&self, snapshot: &JobSnapshot) {
        let Some((data, command)) = self.index.with_value(|index| index.get(&snapshot.job_id).cloned()) else {
            return;
        };
        let now = now_ms();
        let mut changed = false;
        let mut finished = None;
        data.update(|d| {
            let was_terminal = d.state.is_terminal();
            changed = d.apply(snapshot, now);
            if !was_terminal && d.state.is_terminal() && !d.announced {
                d.announced = true;
                finished = Some(d.state);
            }
        });
        if changed {
            self.dirty.set_value(true);
        }
        if finished.is_some() {
            // Saved as finished, so a reload does not announce it again; and counted at once, so
            // the overview never shows a job pending that its row and toast show finished.
            self.persist_dirty.set_value(true);
            self.schedule_flush();
        }
        if let (Some(state), Some(callback)) = (finished, self.on_finish.get_value()) {
            callback.run(Finished { id: snapshot.job_id.clone(), command, state });
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
        if let Some(sent) = self.client.with_untracked(|c| c.as_ref().map(Client::requests_sent)) {
            if sent != self.requests_seen.get_value() {
                self.requests_seen.set_value(sent);
                self.last_update_ms.set(Some(now));
            }
        }
    }

    fn persist(&self) {
        if self.client.with_untracked(Option::is_none) {
            return;
        }
        let key = self.key.get_value();
        let stored: Vec<_> = self.jobs.with_untracked(|jobs| {
            jobs.iter()
                .chain(self.incoming.with_value(|i| i.clone()).iter())
                .filter(|row| row.source == key)
                .map(JobRow::stored)
                .collect()
        });
        save_jobs(&key, &stored);
    }

    /// Flushes as soon as the current task ends (many finishes of one listing flush once).
    fn schedule_flush(&self) {
        let this = *self;
        once_after(self.flush_scheduled, std::time::Duration::ZERO, move || this.flush());
    }

    /// Restarts the watch soon (many adds in a row restart it once).
    pub fn schedule_watch(&self) {
        let this = *self;
        once_after(self.restart_scheduled, std::time::Duration::from_millis(30), move || this.restart_watch());
    }

    /// The jobs not finished yet, with their commands (what the SDK learns durations by) and
    /// submit times (where a watch's first listing starts; kept across reloads).
    fn unfinished(&self) -> Vec<SubmittedJob> {
        self.index.with_value(|index| {
            index
                .iter()
                .filter_map(|(job_id, (data, command))| {
                    let started_ms = data.with_untracked(|d| (!d.state.is_terminal()).then_some(d.started_ms))?;
                    // A time the clock cannot hold (not a finite, non-negative number) is unknown.
                    let since_epoch = Duration::try_from_secs_f64(started_ms / 1000.0).ok();
                    let submitted_at = since_epoch.and_then(|since| UNIX_EPOCH.checked_add(since));
                    Some(SubmittedJob {
                        job_id: job_id.clone(),
                        resource_id: None,
                        command: command.clone(),
                        submitted_at,
                    })
                })
                .collect()
        })
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
                    let round = Box::pin(this.follow(&client, &jobs));
                    let _ = select(round, Box::pin(jobwire::transport::sleep(HIDDEN_ROUND))).await;
                    jobwire::transport::sleep(HIDDEN_PAUSE).await;
                    continue;
                }
                this.mode.set(PollMode::Live);
                match this.follow(&client, &jobs).await {
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

    /// Follows `jobs` until all finished: one batch watch for CloudStack; for CLM a wait per
    /// task, [`CLM_WAITS`] at a time (a failed task or a wait past the policy's deadline is not
    /// a problem: the failure was reported as a status, and an unfinished task is followed again).
    async fn follow(self, client: &Client, jobs: &[SubmittedJob]) -> jobwire::Result<()> {
        match client {
            Client::CloudStack(client) => client.watch(jobs, |s| self.on_snapshot(s)).await.map(drop),
            Client::Clm(client) => {
                let mut waits = futures::stream::iter(jobs.iter().cloned())
                    .map(|job| {
                        let client = client.clone();
                        async move {
                            client
                                .wait_job(&job, |event| {
                                    if let WaitEvent::Status(snapshot) = event {
                                        self.on_snapshot(snapshot);
                                    }
                                })
                                .await
                        }
                    })
                    .buffer_unordered(CLM_WAITS);
                let mut first_error = None;
                while let Some(outcome) = waits.next().await {
                    match outcome {
                        Ok(_) | Err(Error::JobFailed { .. } | Error::WaitTimedOut { .. }) => {}
                        Err(error) => {
                            first_error.get_or_insert(error);
                        }
                    }
                }
                first_error.map_or(Ok(()), Err)
            }
        }
    }
}

/// Runs `action` after `delay`, unless a run marked by `scheduled` is already waiting: many
/// requests in a row make one run.
fn once_after(scheduled: StoredValue<bool>, delay: std::time::Duration, action: impl FnOnce() + 'static) {
    if scheduled.get_value() {
        return;
    }
    scheduled.set_value(true);
    set_timeout(
        move || {
            scheduled.set_value(false);
            action();
        },
        delay,
    );
}
