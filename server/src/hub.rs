//! The live state: users, sessions, jobs and resources in memory (every read is served from
//! here), written through to the [`Store`] on every change; the job runner that finishes each
//! job at its time; and per-job notifications for requests that wait (`Prefer: wait=N`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::effects;
use crate::model::{unix_ms, Job, JobState, Resource, User};
use crate::store::{Session, Store, StoreError};

/// Called with every job that just finished (CLM callbacks, metrics).
pub type FinishHook = Box<dyn Fn(&Job) + Send + Sync>;

#[derive(Default)]
struct State {
    users: HashMap<String, User>,
    sessions: HashMap<String, Session>,
    jobs: HashMap<String, Job>,
    /// Job ids in submission order, for listing and paging.
    job_order: Vec<String>,
    resources: HashMap<String, Resource>,
    /// Resource ids in creation order.
    resource_order: Vec<String>,
}

/// A session's expiry moves forward in steps of at most this much (one minute), and of a
/// thirtieth of its idle timeout when that is shorter.
pub const SESSION_SLIDE_STEP_MS: u64 = 60_000;

/// The server's state. Cheap to share (`Arc<Hub>`).
pub struct Hub {
    state: Mutex<State>,
    store: Store,
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
    finish_hooks: Mutex<Vec<FinishHook>>,
}

impl Hub {
    /// Loads everything from `store`.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be read.
    pub fn load(store: Store) -> Result<Arc<Self>, StoreError> {
        let loaded = store.load()?;
        let mut state = State::default();
        for user in loaded.users {
            state.users.insert(user.id.clone(), user);
        }
        for session in loaded.sessions {
            state.sessions.insert(session.key.clone(), session);
        }
        for job in loaded.jobs {
            state.job_order.push(job.id.clone());
            state.jobs.insert(job.id.clone(), job);
        }
        for resource in loaded.resources {
            state.resource_order.push(resource.id.clone());
            state.resources.insert(resource.id.clone(), resource);
        }
        Ok(Arc::new(Hub {
            state: Mutex::new(state),
            store,
            waiters: Mutex::new(HashMap::new()),
            finish_hooks: Mutex::new(Vec::new()),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a function called with every finished job.
    pub fn on_finish(&self, hook: FinishHook) {
        self.finish_hooks.lock().unwrap_or_else(|p| p.into_inner()).push(hook);
    }

    /// Starts the runner for every job still pending (after a restart: those past their time
    /// finish at once, the others at their time). Call once, inside the tokio runtime.
    pub fn resume_pending(self: &Arc<Self>) {
        let pending: Vec<(String, u64)> =
            self.state().jobs.values().filter(|j| !j.is_finished()).map(|j| (j.id.clone(), j.finish_at_ms)).collect();
        for (id, finish_at) in pending {
            self.schedule(id, finish_at);
        }
    }

    fn schedule(self: &Arc<Self>, job_id: String, finish_at_ms: u64) {
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            let wait = finish_at_ms.saturating_sub(unix_ms());
            tokio::time::sleep(Duration::from_millis(wait)).await;
            hub.finish(&job_id);
        });
    }

    // --- users and sessions ----------------------------------------------------------------

    /// Adds or replaces a user.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be saved.
    pub fn put_user(&self, user: User) -> Result<(), StoreError> {
        self.store.save_user(&user)?;
        self.state().users.insert(user.id.clone(), user);
        Ok(())
    }

    /// The user with `api_key`.
    pub fn user_by_api_key(&self, api_key: &str) -> Option<User> {
        self.state().users.values().find(|u| u.api_key == api_key).cloned()
    }

    /// The user `username` in `domain` (`/` = ROOT).
    pub fn user_by_name(&self, username: &str, domain: &str) -> Option<User> {
        self.state().users.values().find(|u| u.username == username && u.domain == domain).cloned()
    }

    /// The user with `id`.
    pub fn user(&self, id: &str) -> Option<User> {
        self.state().users.get(id).cloned()
    }

    /// Records a session with its `JSESSIONID` until `expires_ms`.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be saved.
    pub fn put_session(&self, key: &str, user_id: &str, jsessionid: &str, expires_ms: u64) -> Result<(), StoreError> {
        let session = Session { key: key.into(), user_id: user_id.into(), jsessionid: jsessionid.into(), expires_ms };
        self.store.save_session(&session)?;
        self.state().sessions.insert(key.to_owned(), session);
        Ok(())
    }

    /// The user and `JSESSIONID` of a live session, whose idle timeout starts again: it then
    /// ends `idle_timeout_ms` after `now_ms` (sessions end after inactivity, as CloudStack's and
    /// CLM's do). The expiry moves in steps of [`SESSION_SLIDE_STEP_MS`], so a busy session is
    /// written to SQLite about once a minute, not at every request. An expired session is
    /// forgotten.
    pub fn session(&self, key: &str, now_ms: u64, idle_timeout_ms: u64) -> Option<(User, String)> {
        let slide_to_ms = now_ms.saturating_add(idle_timeout_ms);
        let step_ms = (idle_timeout_ms / 30).min(SESSION_SLIDE_STEP_MS);
        let mut state = self.state();
        match state.sessions.get_mut(key) {
            Some(session) if session.expires_ms > now_ms => {
                let slid = (slide_to_ms >= session.expires_ms.saturating_add(step_ms)).then(|| {
                    session.expires_ms = slide_to_ms;
                    session.clone()
                });
                let jsessionid = session.jsessionid.clone();
                let user_id = session.user_id.clone();
                let user = state.users.get(&user_id).cloned();
                drop(state);
                if let Some(session) = slid {
                    if let Err(err) = self.store.save_session(&session) {
                        // The call is still served; after a restart the session ends earlier.
                        tracing::warn!(%err, "cannot save a session's new expiry");
                    }
                }
                user.map(|user| (user, jsessionid))
            }
            Some(_) => {
                state.sessions.remove(key);
                drop(state);
                let _ = self.store.delete_session(key);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be deleted.
    pub fn end_session(&self, key: &str) -> Result<(), StoreError> {
        self.state().sessions.remove(key);
        self.store.delete_session(key)
    }

    // --- jobs ------------------------------------------------------------------------------

    /// Stores `job` (and any resources its command created, in the same transaction) and
    /// schedules its completion. The id check and the insert happen under one lock, so two
    /// requests with the same `customjobid` cannot both get through.
    ///
    /// # Errors
    /// [`StoreError::DuplicateJob`] when a job with this id exists, another [`StoreError`] when
    /// it cannot be saved; nothing is kept then.
    pub fn submit(self: &Arc<Self>, job: Job, created: Vec<Resource>) -> Result<(), StoreError> {
        {
            let mut state = self.state();
            if state.jobs.contains_key(&job.id) {
                return Err(StoreError::DuplicateJob(job.id));
            }
            self.store.save_together(&[&job], &created.iter().collect::<Vec<_>>())?;
            for resource in created {
                state.resource_order.push(resource.id.clone());
                state.resources.insert(resource.id.clone(), resource);
            }
            state.job_order.push(job.id.clone());
            state.jobs.insert(job.id.clone(), job.clone());
        }
        self.schedule(job.id, job.finish_at_ms);
        Ok(())
    }

    /// Whether a job with `id` exists (of any owner).
    pub fn job_exists(&self, id: &str) -> bool {
        self.state().jobs.contains_key(id)
    }

    /// The job with `id`.
    pub fn job(&self, id: &str) -> Option<Job> {
        self.state().jobs.get(id).cloned()
    }

    /// Jobs passing `filter`, in submission order.
    pub fn jobs_where(&self, filter: impl Fn(&Job) -> bool) -> Vec<Job> {
        let state = self.state();
        state.job_order.iter().filter_map(|id| state.jobs.get(id)).filter(|j| filter(j)).cloned().collect()
    }

    /// How many jobs pass `filter`, and a copy of those in the `(skip, take)` window (all of
    /// them without one), in submission order.
    pub fn jobs_window(&self, filter: impl Fn(&Job) -> bool, window: Option<(usize, usize)>) -> (usize, Vec<Job>) {
        let state = self.state();
        let (skip, take) = window.unwrap_or((0, usize::MAX));
        let mut count = 0;
        let mut jobs = Vec::new();
        for job in state.job_order.iter().filter_map(|id| state.jobs.get(id)).filter(|j| filter(j)) {
            if count >= skip && jobs.len() < take {
                jobs.push(job.clone());
            }
            count += 1;
        }
        (count, jobs)
    }

    /// Finishes the job now: applies its effect to the resources, records the outcome, wakes
    /// waiters. A finished job is left alone (the runner may fire twice after a restart).
    pub fn finish(&self, job_id: &str) {
        let finished = {
            let mut state = self.state();
            let state = &mut *state;
            let Some(job) = state.jobs.get_mut(job_id) else { return };
            if job.is_finished() {
                return;
            }
            let (outcome, touched) = effects::complete(job, &mut state.resources);
            job.state = outcome;
            job.completed_ms = Some(unix_ms());
            // The effect and the outcome in one transaction: a crash in between must not leave
            // a resource changed by a job that, after the restart, runs again.
            let resources: Vec<&Resource> = touched.iter().filter_map(|id| state.resources.get(id)).collect();
            if let Err(err) = self.store.save_together(&[&*job], &resources) {
                tracing::error!(%err, job = %job_id, "cannot save finished job");
            }
            job.clone()
        };
        if let Some(notify) = self.waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(job_id) {
            notify.notify_waiters();
        }
        for hook in self.finish_hooks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            hook(&finished);
        }
    }

    /// Waits until the job finishes or `limit` passes; returns at once for a finished or unknown
    /// job. Waiting costs a parked task, no thread and no database access.
    pub async fn wait_for_finish(&self, job_id: &str, limit: Duration) {
        let notify = {
            let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(waiters.entry(job_id.to_owned()).or_default())
        };
        let notified = notify.notified();
        tokio::pin!(notified);
        // Register before checking, so a finish between the check and the await is not missed.
        notified.as_mut().enable();
        if self.job(job_id).is_none_or(|job| job.is_finished()) {
            return;
        }
        let _ = tokio::time::timeout(limit, notified).await;
    }

    // --- resources -------------------------------------------------------------------------

    /// The resource with `id`.
    pub fn resource(&self, id: &str) -> Option<Resource> {
        self.state().resources.get(id).cloned()
    }

    /// Resources passing `filter`, in creation order.
    pub fn resources_where(&self, filter: impl Fn(&Resource) -> bool) -> Vec<Resource> {
        let state = self.state();
        state.resource_order.iter().filter_map(|id| state.resources.get(id)).filter(|r| filter(r)).cloned().collect()
    }

    /// Changes a resource now (synchronous commands) and saves it.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be saved; the change is undone then.
    pub fn update_resource(
        &self,
        id: &str,
        change: impl FnOnce(&mut Resource),
    ) -> Result<Option<Resource>, StoreError> {
        let mut state = self.state();
        let Some(resource) = state.resources.get_mut(id) else { return Ok(None) };
        let before = resource.clone();
        change(resource);
        if let Err(err) = self.store.save_resource(resource) {
            *resource = before;
            return Err(err);
        }
        Ok(Some(resource.clone()))
    }

    /// Adds a resource now (synchronous create commands).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be saved.
    pub fn add_resource(&self, resource: Resource) -> Result<(), StoreError> {
        self.store.save_resource(&resource)?;
        let mut state = self.state();
        state.resource_order.push(resource.id.clone());
        state.resources.insert(resource.id.clone(), resource);
        Ok(())
    }

    /// Counts of jobs by state name (`pending`, `succeeded`, `failed`), for metrics.
    pub fn job_counts(&self) -> [(&'static str, usize); 3] {
        let state = self.state();
        let mut counts = [("pending", 0), ("succeeded", 0), ("failed", 0)];
        for job in state.jobs.values() {
            let index = match job.state {
                JobState::Pending => 0,
                JobState::Succeeded { .. } => 1,
                JobState::Failed { .. } => 2,
            };
            counts[index].1 += 1;
        }
        counts
    }
}
