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
}
