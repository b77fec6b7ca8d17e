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
}
