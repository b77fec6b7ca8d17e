//! Batch tracking: many jobs followed with one `listAsyncJobs` listing per tick instead of one
//! request per job. The tracker decides, from each listing, which jobs changed (each change
//! reported once, a terminal state exactly once) and which jobs the listing could not show (they
//! are then asked for one by one).

use crate::protocol::date::parse_cloudstack_date;
use crate::protocol::{JobSnapshot, JobState};

/// What the tracker knows of one job.
#[derive(Debug, Clone, PartialEq)]
struct Known {
    state: JobState,
    progress: Option<f64>,
}

/// One tracked job.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    known: Option<Known>,
    /// The terminal snapshot, once seen (until taken).
    last: Option<JobSnapshot>,
    finished: bool,
    /// When the server created the job (Unix seconds), once an answer said so.
    created_secs: Option<i64>,
}

/// Follows a set of jobs across listings.
#[derive(Debug, Clone, Default)]
pub struct BatchTracker {
    /// Sorted by id (a binary search per observation; a plain `Vec` keeps the WebAssembly
    /// build free of a hash map).
    jobs: Vec<Entry>,
    finished: usize,
}

impl BatchTracker {
    /// Tracks `job_ids` (duplicates are tracked once).
    pub fn new<I: IntoIterator<Item = String>>(job_ids: I) -> Self {
        let mut jobs: Vec<Entry> = job_ids
            .into_iter()
            .map(|id| Entry { id, known: None, last: None, finished: false, created_secs: None })
            .collect();
        jobs.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        jobs.dedup_by(|a, b| a.id == b.id);
        BatchTracker { jobs, finished: 0 }
    }

    fn index(&self, job_id: &str) -> Option<usize> {
        self.jobs.binary_search_by(|entry| entry.id.as_str().cmp(job_id)).ok()
    }

    /// Takes one observation; returns it when it is news (first sight, another state, more
    /// progress). Jobs not tracked, and anything after a job's terminal state, are ignored.
    pub fn observe(&mut self, snapshot: &JobSnapshot) -> Option<JobSnapshot> {
        let index = self.index(&snapshot.job_id)?;
        let entry = &mut self.jobs[index];
        if entry.created_secs.is_none() {
            entry.created_secs = snapshot.created.as_deref().and_then(parse_cloudstack_date);
        }
        if entry.finished {
            return None;
        }
        let known = &mut entry.known;
        let progress = snapshot.progress.filter(|p| known.as_ref().and_then(|k| k.progress).is_none_or(|old| *p > old));
        let changed = known.as_ref().is_none_or(|k| k.state != snapshot.state) || progress.is_some();
        if !changed {
            return None;
        }
        let best = progress.or_else(|| known.as_ref().and_then(|k| k.progress));
        *known = Some(Known { state: snapshot.state, progress: best });
        if snapshot.state.is_terminal() {
            entry.finished = true;
            entry.last = Some(snapshot.clone());
            self.finished += 1;
        }
        Some(snapshot.clone())
    }

    /// Takes a full listing (all pages): the news, and the unfinished jobs it did not contain
    /// (sorted by id).
    pub fn observe_listing(&mut self, listing: &[JobSnapshot]) -> (Vec<JobSnapshot>, Vec<String>) {
        let news = listing.iter().filter_map(|s| self.observe(s)).collect();
        let mut listed = vec![false; self.jobs.len()];
        for snapshot in listing {
            if let Some(index) = self.index(&snapshot.job_id) {
                listed[index] = true;
            }
        }
        let missing = self
            .jobs
            .iter()
            .zip(listed)
            .filter(|(entry, listed)| !entry.finished && !listed)
            .map(|(entry, _)| entry.id.clone())
            .collect();
        (news, missing)
    }

    /// Jobs not finished yet.
    pub fn unfinished(&self) -> impl Iterator<Item = &String> {
        self.jobs.iter().filter(|entry| !entry.finished).map(|entry| &entry.id)
    }

    /// When the oldest unfinished job was created (Unix seconds), if the server's answers gave
    /// the creation time of every unfinished job: a listing of the jobs created since then shows
    /// them all, however long the account's job history (`listAsyncJobs` `startdate`).
    pub fn oldest_unfinished_created(&self) -> Option<i64> {
        self.jobs
            .iter()
            .filter(|entry| !entry.finished)
            .try_fold(None, |oldest: Option<i64>, entry| {
                let created = entry.created_secs?;
                Some(Some(oldest.map_or(created, |oldest| oldest.min(created))))
            })
            .flatten()
    }

    /// True once every job reached a terminal state.
    pub fn is_done(&self) -> bool {
        self.finished == self.jobs.len()
    }

    /// The terminal snapshot of `job_id`, once: later calls (a duplicate id) answer `None`.
    pub fn take_final(&mut self, job_id: &str) -> Option<JobSnapshot> {
        let index = self.index(job_id)?;
        self.jobs[index].last.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn snap(id: &str, state: JobState, progress: Option<f64>) -> JobSnapshot {
        JobSnapshot { progress, ..JobSnapshot::bare(id, state) }
    }

    #[test]
    fn each_change_once_and_terminal_states_exactly_once() {
        let mut tracker = BatchTracker::new(["a".to_owned(), "b".to_owned(), "a".to_owned()]);
        let (news, missing) =
            tracker.observe_listing(&[snap("a", JobState::Pending, Some(10.0)), snap("x", JobState::Pending, None)]);
        assert_eq!(news.len(), 1, "untracked x ignored");
        assert_eq!(missing, vec!["b".to_owned()]);
        // Same state, same progress: no news; lower progress: no news; more: news.
        assert!(tracker.observe(&snap("a", JobState::Pending, Some(10.0))).is_none());
        assert!(tracker.observe(&snap("a", JobState::Pending, Some(5.0))).is_none());
        assert!(tracker.observe(&snap("a", JobState::Pending, Some(50.0))).is_some());
        assert!(tracker.observe(&snap("a", JobState::Succeeded, None)).is_some());
        // A stale pending listing after the finish changes nothing, nor does a repeat.
        assert!(tracker.observe(&snap("a", JobState::Pending, Some(60.0))).is_none());
        assert!(tracker.observe(&snap("a", JobState::Succeeded, None)).is_none());
        assert!(!tracker.is_done());
        let (news, missing) = tracker.observe_listing(&[snap("b", JobState::Failed, None)]);
        assert_eq!((news.len(), missing.len()), (1, 0));
        assert!(tracker.is_done());
        // Each final snapshot once, whatever the duplicates asked for.
        assert_eq!(tracker.take_final("a").map(|s| s.state), Some(JobState::Succeeded));
        assert_eq!(tracker.take_final("a"), None);
        assert_eq!(tracker.take_final("x"), None);
    }

    #[test]
    fn missing_jobs_come_sorted_and_unfinished_only() {
        let ids = ["c", "a", "b", "d"].map(String::from);
        let mut tracker = BatchTracker::new(ids);
        let (_, missing) = tracker.observe_listing(&[snap("b", JobState::Pending, None)]);
        assert_eq!(missing, ["a", "c", "d"]);
        let (_, missing) = tracker.observe_listing(&[snap("d", JobState::Succeeded, None)]);
        assert_eq!(missing, ["a", "b", "c"]);
        assert_eq!(tracker.unfinished().count(), 3);
    }

    fn created(id: &str, state: JobState, created: &str) -> JobSnapshot {
        JobSnapshot { created: Some(created.into()), ..snap(id, state, None) }
    }

    #[test]
    fn listings_start_at_the_oldest_unfinished_job_once_every_creation_time_is_known() {
        let mut tracker = BatchTracker::new(["a", "b", "c"].map(String::from));
        assert_eq!(tracker.oldest_unfinished_created(), None, "nothing known yet");
        tracker.observe_listing(&[
            created("a", JobState::Pending, "2026-11-27T10:00:05+0000"),
            created("b", JobState::Pending, "2026-11-27T10:00:01+0000"),
        ]);
        assert_eq!(tracker.oldest_unfinished_created(), None, "c's creation time is still unknown");
        // An offset and an unparseable date: the offset is honoured, the bad date stays unknown.
        tracker.observe(&created("c", JobState::Pending, "2026-11-27T11:00:03+0100"));
        assert_eq!(tracker.oldest_unfinished_created(), Some(1_795_773_601));
        // The oldest finishes: the listing may start later; when all finish there is none.
        tracker.observe(&created("b", JobState::Succeeded, "2026-11-27T10:00:01+0000"));
        assert_eq!(tracker.oldest_unfinished_created(), Some(1_795_773_603));
        let mut unknown = BatchTracker::new(["d".to_owned()]);
        unknown.observe(&created("d", JobState::Pending, "yesterday"));
        assert_eq!(unknown.oldest_unfinished_created(), None);
        tracker.observe(&snap("a", JobState::Failed, None));
        tracker.observe(&snap("c", JobState::Succeeded, None));
        assert_eq!(tracker.oldest_unfinished_created(), None);
    }
}
