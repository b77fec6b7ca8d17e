//! How a `listAsyncJobs` listing is asked for: in one request where one answer is small enough,
//! else page by page.
//!
//! CloudStack lists everything at once for `pagesize=-1` ("unlimited", `BaseListCmd`), and at
//! most `default.page.size` (500) jobs a page otherwise. One request instead of one per 500 jobs
//! is what keeps a watch of many jobs light on the server and under its throttle; the bytes are
//! the same. But an answer must stay well under the body limit
//! ([`crate::protocol::MAX_BODY_BYTES`]), so "unlimited" is asked for only when the previous
//! listing showed at most [`ONE_REQUEST_MAX_JOBS`]; a listing of unknown size goes by pages, and
//! a server that refuses "unlimited" is listed by pages from then on.
//!
//! A listing starts at the oldest unfinished job's creation (`startdate`), so a watch does not
//! list the account's whole history (CloudStack keeps a day of jobs) at every tick. Before any
//! answer gave the creation times, the start comes from the client's own clock
//! ([`first_listing_since`]).

use crate::time::Duration;

/// Jobs per page when listing by pages (CloudStack's default `default.page.size`).
pub const LISTING_PAGE_SIZE: u32 = 500;

/// Most jobs a listing asks for in one answer. A finished job with its result is a few KB
/// (a deployed VM's details), so 2,000 stay far below the 16 MiB body limit.
pub const ONE_REQUEST_MAX_JOBS: u64 = 2_000;

/// How the next listing is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Everything in one request (`pagesize=-1`, no `page`).
    Unlimited,
    /// `page` 1, 2, … of `pagesize` [`LISTING_PAGE_SIZE`], until a short page or the `count`.
    Pages,
}

/// What a client has learned about its listings: their last size, and whether the server takes
/// `pagesize=-1`.
#[derive(Debug, Clone, Default)]
pub struct ListingPlan {
    last_count: Option<u64>,
    unlimited_refused: bool,
}

impl ListingPlan {
    /// How to ask for the next listing.
    pub fn paging(&self) -> Paging {
        match self.last_count {
            Some(count) if count <= ONE_REQUEST_MAX_JOBS && !self.unlimited_refused => Paging::Unlimited,
            _ => Paging::Pages,
        }
    }

    /// A listing showed `count` jobs in all.
    pub fn observed(&mut self, count: u64) {
        self.last_count = Some(count);
    }

    /// The server refused `pagesize=-1` (a parameter error): pages from now on.
    pub fn unlimited_refused(&mut self) {
        self.unlimited_refused = true;
    }

    /// An unlimited answer was too large to read: the size is unknown again, so the next listing
    /// goes by pages (and learns it anew).
    pub fn too_large(&mut self) {
        self.last_count = None;
    }
}

/// Most unfinished jobs a watch asks for one by one instead of listing (see [`worth_listing`]).
pub const PER_JOB_MAX: usize = 3;

/// Listed jobs per unfinished one beyond which a listing is mostly other jobs.
pub const LISTED_PER_UNFINISHED_MAX: usize = 20;

/// Whether a watch should keep listing, given how many jobs its last listing showed and how many
/// of its own are unfinished. A listing shows every job of the account created since the oldest
/// unfinished one: with a few of them left among many others (a long deploy on a busy account),
/// asking for those few one by one costs the server a few small answers instead of one of
/// hundreds of jobs, at the same number of requests for a single job.
pub fn worth_listing(listed: usize, unfinished: usize) -> bool {
    unfinished > PER_JOB_MAX || listed <= unfinished.saturating_mul(LISTED_PER_UNFINISHED_MAX)
}

/// How far the client's clock may run ahead of the server's before a listing started by it
/// ([`first_listing_since`]) misses jobs: clocks not kept by NTP drift minutes, not hours. A
/// larger skew costs one more listing, not a lost job (see [`guess_missed`]).
pub const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The `startdate` (Unix seconds) of a watch's first listing, made before any answer gave the
/// jobs' creation times: `now_secs` on the client's clock, less the oldest job's age (since its
/// submit was answered) and [`CLOCK_SKEW_MARGIN`]. `None`, and so a listing of the account's
/// whole history, when a job's age is unknown (a handle made from a bare id).
pub fn first_listing_since(now_secs: u64, ages: impl IntoIterator<Item = Option<Duration>>) -> Option<i64> {
    let oldest = ages.into_iter().try_fold(Duration::ZERO, |oldest, age| Some(oldest.max(age?)))?;
    // Whole seconds up: a job submitted 2.5 s ago was created 3 s ago on a second-rounded date.
    let back = oldest.saturating_add(CLOCK_SKEW_MARGIN);
    let back = back.as_secs().saturating_add(u64::from(back.subsec_nanos() > 0));
    i64::try_from(now_secs.checked_sub(back)?).ok()
}

/// Whether a listing started by the client's clock ([`first_listing_since`]) missed so many of
/// the unfinished jobs that the clocks disagree by more than the margin: the listing is then
/// asked for again from the beginning of the history (one request) rather than each missed job
/// on its own. A few missed may be jobs no listing shows (another account's, purged).
pub fn guess_missed(missed: usize) -> bool {
    missed > PER_JOB_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_by_pages_until_a_listing_showed_its_size() {
        let mut plan = ListingPlan::default();
        assert_eq!(plan.paging(), Paging::Pages);
        plan.observed(1_000);
        assert_eq!(plan.paging(), Paging::Unlimited);
        plan.observed(ONE_REQUEST_MAX_JOBS);
        assert_eq!(plan.paging(), Paging::Unlimited);
        plan.observed(ONE_REQUEST_MAX_JOBS + 1);
        assert_eq!(plan.paging(), Paging::Pages);
        plan.observed(3);
        assert_eq!(plan.paging(), Paging::Unlimited);
    }

    #[test]
    fn a_refusal_is_for_good_and_a_too_large_answer_until_the_next_size() {
        let mut plan = ListingPlan::default();
        plan.observed(10);
        plan.too_large();
        assert_eq!(plan.paging(), Paging::Pages);
        plan.observed(10);
        assert_eq!(plan.paging(), Paging::Unlimited);
        plan.unlimited_refused();
        assert_eq!(plan.paging(), Paging::Pages);
        plan.observed(10);
        assert_eq!(plan.paging(), Paging::Pages);
    }

    #[test]
    fn a_few_jobs_among_many_listed_are_asked_for_one_by_one() {
        // Many of its own left: always a listing, however many others it shows.
        assert!(worth_listing(100_000, PER_JOB_MAX + 1));
        // A few left: a listing while it is mostly theirs.
        assert!(worth_listing(20, 1));
        assert!(!worth_listing(21, 1));
        assert!(worth_listing(60, 3));
        assert!(!worth_listing(61, 3));
        assert!(worth_listing(0, 0));
    }

    #[test]
    fn the_first_listing_starts_before_the_oldest_submit_by_the_margin() {
        let now = 1_795_773_600;
        let margin = CLOCK_SKEW_MARGIN.as_secs() as i64;
        let ages = [Some(Duration::from_millis(2_500)), Some(Duration::from_secs(40)), Some(Duration::ZERO)];
        assert_eq!(first_listing_since(now, ages), Some(now as i64 - 40 - margin));
        // Part of a second counts as a whole one.
        assert_eq!(first_listing_since(now, [Some(Duration::from_millis(40_001))]), Some(now as i64 - 41 - margin));
        assert_eq!(first_listing_since(now, []), Some(now as i64 - margin));
        // One age unknown: no start (the whole history).
        assert_eq!(first_listing_since(now, [Some(Duration::from_secs(1)), None]), None);
        // A clock before the margin, or an age beyond it: no start rather than a wrapped one.
        assert_eq!(first_listing_since(10, [Some(Duration::ZERO)]), None);
        assert_eq!(first_listing_since(now, [Some(Duration::MAX)]), None);
    }

    #[test]
    fn a_guessed_listing_is_redone_when_it_missed_more_than_a_few_jobs() {
        assert!(!guess_missed(0));
        assert!(!guess_missed(PER_JOB_MAX));
        assert!(guess_missed(PER_JOB_MAX + 1));
    }
}
