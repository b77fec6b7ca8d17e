//! Batch tracking: many jobs followed with one `listAsyncJobs` listing per tick instead of one
//! request per job. The tracker decides, from each listing, which jobs changed (each change
//! reported once, a terminal state exactly once) and which jobs the listing could not show (they
//! are then asked for one by one).

use std::collections::{HashMap, HashSet};

use crate::protocol::{JobSnapshot, JobState};

/// What the tracker knows of one job.
#[derive(Debug, Clone, PartialEq)]
struct Known {
    state: JobState,
    progress: Option<f64>,
}

/// Follows a set of jobs across listings.
#[derive(Debug, Clone, Default)]
pub struct BatchTracker {
    jobs: HashMap<String, Option<Known>>,
    finished: HashSet<String>,
}

impl BatchTracker {
    /// Tracks `job_ids` (duplicates are tracked once).
    pub fn new<I: IntoIterator<Item = String>>(job_ids: I) -> Self {
        BatchTracker { jobs: job_ids.into_iter().map(|id| (id, None)).collect(), finished: HashSet::new() }
    }

    /// Takes one observation; returns it when it is news (first sight, another state, more
    /// progress). Jobs not tracked, and anything after a job's terminal state, are ignored.
    pub fn observe(&mut self, snapshot: &JobSnapshot) -> Option<JobSnapshot> {
        if self.finished.contains(&snapshot.job_id) {
            return None;
        }
        let known = self.jobs.get_mut(&snapshot.job_id)?;
        let progress = snapshot.progress.filter(|p| known.as_ref().and_then(|k| k.progress).is_none_or(|old| *p > old));
        let changed = known.as_ref().is_none_or(|k| k.state != snapshot.state) || progress.is_some();
        if !changed {
            return None;
        }
        let best = progress.or_else(|| known.as_ref().and_then(|k| k.progress));
        *known = Some(Known { state: snapshot.state, progress: best });
        if snapshot.state.is_terminal() {
            self.finished.insert(snapshot.job_id.clone());
        }
        Some(snapshot.clone())
    }

    /// Takes a full listing (all pages): the news, and the unfinished jobs it did not contain.
    pub fn observe_listing(&mut self, listing: &[JobSnapshot]) -> (Vec<JobSnapshot>, Vec<String>) {
        let news = listing.iter().filter_map(|s| self.observe(s)).collect();
        let listed: HashSet<&str> = listing.iter().map(|s| s.job_id.as_str()).collect();
        let mut missing: Vec<String> = self.unfinished().filter(|id| !listed.contains(id.as_str())).cloned().collect();
        missing.sort();
        (news, missing)
    }

    /// Jobs not finished yet.
    pub fn unfinished(&self) -> impl Iterator<Item = &String> {
        self.jobs.keys().filter(|id| !self.finished.contains(*id))
    }

    /// True once every job reached a terminal state.
    pub fn is_done(&self) -> bool {
        self.finished.len() == self.jobs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn snap(id: &str, state: JobState, progress: Option<f64>) -> JobSnapshot {
        JobSnapshot {
            job_id: id.into(),
            state,
            progress,
            result_code: None,
            result: None,
            error: None,
            command: None,
            created: None,
            completed: None,
            raw: serde_json::Value::Null,
        }
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
    }
}
