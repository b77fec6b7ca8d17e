// The twin of `engine/listing.rs`: how a watch lists jobs (`listAsyncJobs` at once or by pages),
// from which creation date the first listing starts, and when listing is not worth it.

export const LISTING_PAGE_SIZE = 500;
/** Listings of up to this many jobs are asked for in one request (`pagesize=-1`). */
const ONE_REQUEST_MAX_JOBS = 2000;
/** This many unfinished jobs or fewer may be asked for one by one. */
const PER_JOB_MAX = 3;
/** A listing is worth it while it shows at most this many jobs per unfinished one. */
const LISTED_PER_UNFINISHED_MAX = 20;
/** How far the server's clock may be behind ours. */
const CLOCK_SKEW_MARGIN = 5 * 60_000;

/** Whether the next listing is asked for at once (what the last one counted allows) or by pages. */
export class ListingPlan {
  constructor() {
    this.lastCount = undefined;
    this.unlimitedRefused = false;
  }

  unlimited() {
    return this.lastCount !== undefined && this.lastCount <= ONE_REQUEST_MAX_JOBS && !this.unlimitedRefused;
  }

  observed(count) {
    this.lastCount = count;
  }

  refused() {
    this.unlimitedRefused = true;
  }

  tooLarge() {
    this.lastCount = undefined;
  }
}

export function worthListing(listed, unfinished) {
  return unfinished > PER_JOB_MAX || listed <= unfinished * LISTED_PER_UNFINISHED_MAX;
}

/**
 * Where the first listing starts (Unix seconds): the oldest submit by our clock, less the skew
 * margin; `undefined` (the whole history) when a job's age is unknown.
 */
export function firstListingSince(nowSecs, ages) {
  if (ages.some((age) => age === undefined)) return undefined;
  const oldest = ages.reduce((oldest, age) => Math.max(oldest, age), 0);
  const back = Math.ceil((oldest + CLOCK_SKEW_MARGIN) / 1000);
  return nowSecs >= back ? nowSecs - back : undefined;
}

/** Whether a guessed start missed so many jobs that the clocks must disagree. */
export function guessMissed(missed) {
  return missed > PER_JOB_MAX;
}
