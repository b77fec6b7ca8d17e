// The twin of `engine/batch.rs` (`BatchTracker`) and `engine/eta.rs` (`BatchEta`): what a batch
// of jobs' statuses bring (each change once, a finish once, never a job lost) and when the batch's
// first finish is due by its jobs' progress. Statuses are the package's (`{ jobId, state,
// progress, created, … }`); jobs are kept in id order, as the Rust ones are.

import { cloudstackDate } from './date.js';
import { FinishEstimate } from './policy.js';

const terminal = (status) => status.state !== 'pending';

/** `ids` sorted (code-unit order: byte order for the ASCII ids servers give) without repeats. */
function sortedIds(ids) {
  return [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export class BatchTracker {
  constructor(jobIds) {
    /** id → `{ id, known: { state, progress }, finished, createdSecs }`, in id order. */
    this.jobs = new Map(sortedIds(jobIds).map((id) => [id, { id, known: undefined, finished: false, createdSecs: undefined }]));
    this.finished = 0;
  }

  /** What `status` brings: the status when it changed something, else `undefined`. */
  observe(status) {
    const entry = this.jobs.get(status.jobId);
    if (entry === undefined) return undefined;
    if (entry.createdSecs === undefined && typeof status.created === 'string') entry.createdSecs = cloudstackDate(status.created);
    if (entry.finished) return undefined;
    const { known } = entry;
    let progress = status.progress ?? undefined;
    if (progress !== undefined && known?.progress !== undefined && !(progress > known.progress)) progress = undefined;
    if (known !== undefined && known.state === status.state && progress === undefined) return undefined;
    entry.known = { state: status.state, progress: progress ?? known?.progress };
    if (terminal(status)) {
      entry.finished = true;
      this.finished += 1;
    }
    return status;
  }

  /** A listing's news, and the unfinished jobs it did not show (in id order). */
  observeListing(listing) {
    const news = listing.map((status) => this.observe(status)).filter((status) => status !== undefined);
    const listed = new Set(listing.map((status) => status.jobId));
    return [news, this.unfinished().filter((id) => !listed.has(id))];
  }

  unfinished() {
    return [...this.jobs.values()].filter((entry) => !entry.finished).map((entry) => entry.id);
  }

  unfinishedCount() {
    return this.jobs.size - this.finished;
  }

  /** The oldest creation of the unfinished jobs, once every one's is known. */
  oldestUnfinishedCreated() {
    let oldest;
    for (const entry of this.jobs.values()) {
      if (entry.finished) continue;
      if (entry.createdSecs === undefined) return undefined;
      oldest = oldest === undefined ? entry.createdSecs : Math.min(oldest, entry.createdSecs);
    }
    return oldest;
  }

  isDone() {
    return this.finished === this.jobs.size;
  }
}

/** Finishes before the earliest estimate after which estimates are no longer waited for. */
const MAX_EARLY_FINISHES = 2;

export class BatchEta {
  /** `jobs`: `[id, age or undefined]`. */
  constructor(origin, jobs) {
    this.jobs = new Map();
    for (const [id, age] of jobs) {
      if (this.jobs.has(id)) continue;
      const estimate = new FinishEstimate(origin);
      if (age !== undefined) estimate.submitted(age);
      this.jobs.set(id, { estimate, finished: false });
    }
    this.earlyFinishes = 0;
  }

  observe(now, status) {
    const job = this.jobs.get(status.jobId);
    if (job === undefined || job.finished) return;
    if (terminal(status)) {
      job.finished = true;
      const finish = job.estimate.finish;
      if (finish !== undefined && now < finish[0]) this.earlyFinishes += 1;
      return;
    }
    job.estimate.observe(now, status.progress ?? undefined);
  }

  /** The earliest any unfinished job can finish, once every one has an estimate. */
  earliestFinish() {
    if (this.earlyFinishes >= MAX_EARLY_FINISHES) return undefined;
    let soonest;
    for (const { estimate, finished } of this.jobs.values()) {
      if (finished) continue;
      if (estimate.finish === undefined) return undefined;
      soonest = soonest === undefined ? estimate.finish[0] : Math.min(soonest, estimate.finish[0]);
    }
    return soonest;
  }

  /** The time by which some job will have finished, when `earliestFinish` is known. */
  firstFinishBy() {
    if (this.earliestFinish() === undefined) return undefined;
    let by;
    for (const { estimate, finished } of this.jobs.values()) {
      if (!finished && estimate.finish !== undefined) by = by === undefined ? estimate.finish[1] : Math.min(by, estimate.finish[1]);
    }
    return by;
  }
}
