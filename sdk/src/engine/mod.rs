//! Sans-IO polling decisions: given the time and a random number, when to ask again, whether a
//! failure is worth another try, how long jobs of a command usually take.
//!
//! Nothing here sleeps, sends or reads a clock; the driver ([`crate::client`]) passes `now` in,
//! so tests run on a fake clock.

mod batch;
mod eta;
mod learn;
mod listing;
mod pace;
mod policy;
mod retry;
mod watch;

pub use batch::BatchTracker;
pub use eta::{BatchEta, FinishEstimate};
pub use learn::{DurationLearner, Expected};
pub use listing::{
    first_listing_since, guess_missed, worth_listing, ListingPlan, Paging, CLOCK_SKEW_MARGIN, LISTING_PAGE_SIZE,
    ONE_REQUEST_MAX_JOBS, PER_JOB_MAX,
};
pub use pace::{retry_after_from_text, Pacer};
pub use policy::{planned_first_poll, DelayReason, PollPolicy, WaitStep, Waiter};
pub use retry::{classify, parse_retry_after, Failure, Observed, RetryBudget};
pub use watch::{Lesson, Listed, ListingStart, WatchPlan, WatchedJob};
