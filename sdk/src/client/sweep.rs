//! Waits of different jobs on one CloudStack client share listings when the server does not
//! hold status requests: a poll that comes due while other waits sleep goes out as one
//! `listAsyncJobs` (created since the oldest waiting job) whose answer reaches every waiting
//! job. A job that finished is then seen at the next poll of *any* job, not only at its own,
//! and its own poll is never sent. Jobs a listing does not show (another account's, purged)
//! are polled one by one from then on.
//!
//! Before any answer gave a creation time, a listing starts where the client's clock puts the
//! oldest submit (less a margin for skew, as a watch's first listing): waits of jobs submitted
//! together share even their first polls. A listing so started that misses the job asking for
//! it (a server clock further behind) ends the guessing; its job polls alone this once.
//!
//! Only the bookkeeping lives here (which jobs wait, what a listing told each one); the client
//! sends the listing, the driver sleeps on [`Sweeps::news`] beside its own schedule.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::engine::worth_listing;
use crate::protocol::date::parse_cloudstack_date;
use crate::protocol::JobSnapshot;

/// One waiting job.
#[derive(Debug)]
struct Slot {
    job_id: String,
    /// When the server created the job (Unix seconds), once an answer said so.
    created_secs: Option<i64>,
    /// Where a listing showing the job may start by the client's clock (its submit less the
    /// margin for skew), when its submit time is known.
    guessed_since: Option<i64>,
    /// A status a listing brought that the wait has not taken yet.
    news: Option<JobSnapshot>,
    /// The latest status the wait saw (its own poll's or a listing's): not brought again.
    last: Option<JobSnapshot>,
    waker: Option<Waker>,
    /// A listing since the job's creation did not show it: poll it on its own.
    unlisted: bool,
}

/// The waiting jobs of one client (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Sweeps {
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    slots: Vec<Slot>,
    /// The last listing showed mostly other jobs than the few waiting
    /// ([`crate::engine::worth_listing`]): they poll alone until another wait joins.
    crowded: bool,
    /// A listing started by the client's clock missed its job: the clocks disagree, so listings
    /// start only at creation times the server gave, from now on.
    no_guesses: bool,
}

/// Where a shared listing starts (Unix seconds, its `startdate`), and whether the client's clock
/// chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Since {
    pub(crate) secs: i64,
    pub(crate) guessed: bool,
}

/// A registered wait; dropping it (the wait ended, or was dropped) takes the job out.
pub(crate) struct Registration {
    sweeps: Arc<Sweeps>,
    job_id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let slots = &mut self.sweeps.lock().slots;
        if let Some(index) = slots.iter().position(|slot| slot.job_id == self.job_id) {
            slots.swap_remove(index);
        }
    }
}

impl Sweeps {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts `job_id`'s wait in until the registration is dropped. `None` when the job waits
    /// already (another wait of it leads; shared waits run one loop per job). `guessed_since`
    /// (by the job's submit, [`crate::engine::first_listing_since`]), when known, lets listings
    /// include the job before an answer gave its creation time.
    pub(crate) fn register(self: &Arc<Self>, job_id: &str, guessed_since: Option<i64>) -> Option<Registration> {
        let mut waiting = self.lock();
        if waiting.slots.iter().any(|slot| slot.job_id == job_id) {
            return None;
        }
        waiting.crowded = false;
        waiting.slots.push(Slot {
            job_id: job_id.into(),
            created_secs: None,
            guessed_since,
            news: None,
            last: None,
            waker: None,
            unlisted: false,
        });
        Some(Registration { sweeps: Arc::clone(self), job_id: job_id.into() })
    }

    /// Keeps what `snapshot` (a status the wait of its job just saw) says of the job's creation
    /// time, and the status itself, so a listing does not bring it again.
    pub(crate) fn seen(&self, snapshot: &JobSnapshot) {
        if let Some(slot) = self.lock().slots.iter_mut().find(|slot| slot.job_id == snapshot.job_id) {
            if slot.created_secs.is_none() {
                slot.created_secs = snapshot.created.as_deref().and_then(parse_cloudstack_date);
            }
            slot.last = Some(snapshot.clone());
        }
    }

    /// When `job_id`'s poll should be a listing instead: other listable jobs wait too, the
    /// creation time (or, while the clocks agree, the submit) of one of them at least is known,
    /// and the last listing was not mostly other jobs (since the last wait joined). Gives the
    /// oldest of those times (the listing's `startdate`). Jobs with neither (known by id only,
    /// so taken as newer) are not in the way: a listing tells them their status too; one it
    /// does not show (an old job resumed, say) is polled alone from then on.
    pub(crate) fn listing_since(&self, job_id: &str) -> Option<Since> {
        let waiting = self.lock();
        let listable: Vec<&Slot> = waiting.slots.iter().filter(|slot| !slot.unlisted).collect();
        if listable.len() < 2 || !listable.iter().any(|slot| slot.job_id == job_id) || waiting.crowded {
            return None;
        }
        let since_of = |slot: &Slot| match (slot.created_secs, waiting.no_guesses) {
            (Some(secs), _) => Some(Since { secs, guessed: false }),
            (None, false) => slot.guessed_since.map(|secs| Since { secs, guessed: true }),
            (None, true) => None,
        };
        listable.iter().filter_map(|slot| since_of(slot)).min_by_key(|since| since.secs)
    }

    /// Hands a listing (asked for by `job_id`'s wait, which takes its own answer itself) to the
    /// other waiting jobs it shows; listable jobs it does not show are polled alone from now on.
    /// `since` is the listing's `startdate`: a job created before it cannot be missing. Only a
    /// listing started by creation times judges whether listings bring mostly other jobs (one
    /// started by the client's clock holds minutes more of them).
    pub(crate) fn deliver(&self, listing: &[JobSnapshot], job_id: &str, since: Since) {
        let mut waiting = self.lock();
        for slot in waiting.slots.iter_mut().filter(|slot| !slot.unlisted) {
            match listing.iter().find(|snapshot| snapshot.job_id == slot.job_id) {
                Some(snapshot) if slot.job_id != job_id && slot.last.as_ref() != Some(snapshot) => {
                    slot.news = Some(snapshot.clone());
                    if let Some(waker) = slot.waker.take() {
                        waker.wake();
                    }
                }
                Some(_) => {}
                None => slot.unlisted = slot.created_secs.is_some_and(|created| created >= since.secs),
            }
        }
        if !since.guessed {
            let listable = waiting.slots.iter().filter(|slot| !slot.unlisted).count();
            waiting.crowded = !worth_listing(listing.len(), listable);
        }
    }

    /// A listing from `since` did not show `job_id`, the job that asked for it. Started by the
    /// server's creation times, that marks the job as one listings do not show; started by the
    /// client's clock, it tells that the clocks disagree: no more such starts.
    pub(crate) fn not_shown(&self, job_id: &str, since: Since) {
        let mut waiting = self.lock();
        if since.guessed {
            waiting.no_guesses = true;
        } else if let Some(slot) = waiting.slots.iter_mut().find(|slot| slot.job_id == job_id) {
            slot.unlisted = true;
        }
    }

    /// Resolves with the next status a listing brings for `job_id` (never, unless registered).
    pub(crate) async fn news(&self, job_id: &str) -> JobSnapshot {
        poll_fn(|cx| {
            let mut waiting = self.lock();
            let Some(slot) = waiting.slots.iter_mut().find(|slot| slot.job_id == job_id) else {
                return Poll::Pending;
            };
            match slot.news.take() {
                Some(snapshot) => Poll::Ready(snapshot),
                None => {
                    slot.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobState;
    use std::future::Future;
    use std::pin::pin;
    use std::task::Context;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Unix seconds of the tests' clock (2026-11-27T10:00:00Z).
    const NOW: i64 = 1_795_773_600;

    /// A listing's start at a creation time the server gave.
    fn known(date: &str) -> Option<Since> {
        parse_cloudstack_date(date).map(|secs| Since { secs, guessed: false })
    }

    fn snapshot(job_id: &str, created: &str, state: JobState) -> JobSnapshot {
        JobSnapshot { created: Some(created.into()), ..JobSnapshot::bare(job_id, state) }
    }

    #[test]
    fn a_listing_is_asked_only_when_others_wait_and_a_creation_time_is_known() {
        let sweeps = Arc::new(Sweeps::default());
        let a = sweeps.register("a", None);
        assert!(a.is_some());
        assert!(sweeps.register("a", None).is_none(), "one loop per job");
        sweeps.seen(&snapshot("a", "2026-11-27T10:00:05+0000", JobState::Pending));
        assert_eq!(sweeps.listing_since("a"), None, "alone: its own poll");
        let b = sweeps.register("b", None);
        let a_created = known("2026-11-27T10:00:05+0000");
        assert_eq!(sweeps.listing_since("b"), a_created, "b (creation unknown) asks since a's");
        assert_eq!(sweeps.listing_since("a"), a_created);
        sweeps.seen(&snapshot("b", "2026-11-27T10:00:01+0000", JobState::Pending));
        let since = sweeps.listing_since("a");
        assert_eq!(since, known("2026-11-27T10:00:01+0000"));
        assert_eq!(sweeps.listing_since("c"), None, "not registered");
        drop(b);
        assert_eq!(sweeps.listing_since("a"), None, "b's wait ended");
        drop(a);
        assert!(sweeps.register("a", None).is_some(), "a's registration ended with its wait");
    }

    #[test]
    fn a_listing_wakes_the_other_waits_and_sets_apart_jobs_it_cannot_show() {
        let sweeps = Arc::new(Sweeps::default());
        let _regs: Vec<_> = ["a", "b", "c"].iter().map(|id| sweeps.register(id, None)).collect();
        for id in ["a", "b", "c"] {
            sweeps.seen(&snapshot(id, "2026-11-27T10:00:00+0000", JobState::Pending));
        }
        let since = sweeps.listing_since("a").expect("a listing");
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut b_news = pin!(sweeps.news("b"));
        assert!(b_news.as_mut().poll(&mut cx).is_pending());
        let listing = [
            snapshot("a", "2026-11-27T10:00:00+0000", JobState::Pending),
            snapshot("b", "2026-11-27T10:00:00+0000", JobState::Succeeded),
        ];
        sweeps.deliver(&listing, "a", since);
        match b_news.as_mut().poll(&mut cx) {
            Poll::Ready(news) => assert_eq!(news.state, JobState::Succeeded),
            Poll::Pending => panic!("b was not told"),
        }
        sweeps.seen(&listing[1]);
        sweeps.deliver(&listing, "c", since);
        assert!(pin!(sweeps.news("b")).as_mut().poll(&mut cx).is_pending(), "b saw that status already");
        let mut a_news = pin!(sweeps.news("a"));
        assert!(a_news.as_mut().poll(&mut cx).is_pending(), "the asking wait takes its answer itself");
        // c was created since `since` and is not listed: it is polled alone from now on, and the
        // others still share listings.
        assert_eq!(sweeps.listing_since("c"), None);
        assert_eq!(sweeps.listing_since("a"), Some(since));
    }

    #[test]
    fn a_listing_of_mostly_other_jobs_ends_the_sharing_until_another_wait_joins() {
        let sweeps = Arc::new(Sweeps::default());
        let _regs: Vec<_> = ["a", "b"].iter().map(|id| sweeps.register(id, None)).collect();
        for id in ["a", "b"] {
            sweeps.seen(&snapshot(id, "2026-11-27T10:00:00+0000", JobState::Pending));
        }
        let since = sweeps.listing_since("a").expect("a listing");
        let listing: Vec<JobSnapshot> = (0..41)
            .map(|n| snapshot(&format!("other-{n}"), "2026-11-27T10:00:01+0000", JobState::Pending))
            .chain(["a", "b"].map(|id| snapshot(id, "2026-11-27T10:00:00+0000", JobState::Pending)))
            .collect();
        // 40 jobs for 2 waiting: worth it still (at most 20 each); 43 are not.
        sweeps.deliver(&listing[3..], "a", since);
        assert_eq!(sweeps.listing_since("a"), Some(since));
        sweeps.deliver(&listing, "a", since);
        assert_eq!(sweeps.listing_since("a"), None, "41 others: each polls alone");
        assert_eq!(sweeps.listing_since("b"), None);
        let _c = sweeps.register("c", None);
        assert_eq!(sweeps.listing_since("a"), Some(since), "a wait joined: judged anew");
    }

    #[test]
    fn submits_start_listings_until_one_misses_the_job_asking_for_it() {
        let sweeps = Arc::new(Sweeps::default());
        let _a = sweeps.register("a", Some(NOW - 330));
        let _b = sweeps.register("b", Some(NOW - 310));
        let _c = sweeps.register("c", None);
        // The oldest guess: shared from the first poll on.
        let since = sweeps.listing_since("c").expect("a listing");
        assert_eq!(since, Since { secs: NOW - 330, guessed: true });
        // The oldest of the known creation times and the guesses starts the listing: a guess
        // while it is older, b's creation (an hour before NOW) once that is known.
        sweeps.seen(&snapshot("a", "2026-11-27T10:00:00+0000", JobState::Pending));
        assert_eq!(sweeps.listing_since("a"), Some(Since { secs: NOW - 310, guessed: true }), "a's creation is NOW");
        sweeps.seen(&snapshot("b", "2026-11-27T09:00:00+0000", JobState::Pending));
        assert_eq!(sweeps.listing_since("a"), known("2026-11-27T09:00:00+0000"));
        // A guessed listing with many other jobs does not end the sharing (it holds minutes
        // more of them than the next); a listing without the job asking for it ends the guesses.
        let others: Vec<JobSnapshot> =
            (0..100).map(|n| snapshot(&format!("other-{n}"), "2026-11-28T10:00:00+0000", JobState::Pending)).collect();
        sweeps.deliver(&others, "c", since);
        sweeps.not_shown("c", since);
        assert_eq!(sweeps.listing_since("c"), known("2026-11-27T09:00:00+0000"), "c was not set apart");
        let _d = sweeps.register("d", Some(NOW - 7_200));
        assert_eq!(sweeps.listing_since("d"), known("2026-11-27T09:00:00+0000"), "no more guesses");
    }
}
