// Waits of different jobs on one CloudStack client share listings when the server does not hold
// status requests (the driver's side of the Rust client's `client/sweep.rs`, which documents the
// rules): a poll that comes due while other waits sleep goes out as one `listAsyncJobs` (created
// since the oldest waiting job), whose answer reaches every waiting job. A finish is then seen at
// the next poll of any job. Only the bookkeeping lives here; cloudstack.js sends the listing and
// wait.js sleeps on `news()` beside its own schedule.

import { cloudstackDate } from '../engine/date.js';
import { worthListing } from '../engine/listing.js';

export class Sweeps {
  constructor() {
    /** job id → `{ createdSecs, guessedSince, news, last, wake, unlisted }`. */
    this.slots = new Map();
    /** The last listing showed mostly other jobs: the few waiting poll alone until another joins. */
    this.crowded = false;
    /** A listing started by our clock missed its job: listings start at creation times only. */
    this.noGuesses = false;
  }

  /**
   * Counts `jobId`'s wait in; returns what takes it out again, or `undefined` when the job waits
   * already. `guessedSince`: where a listing may start by the job's submit, when known.
   */
  register(jobId, guessedSince) {
    if (this.slots.has(jobId)) return undefined;
    this.crowded = false;
    this.slots.set(jobId, { createdSecs: undefined, guessedSince, news: undefined, last: undefined, wake: undefined, unlisted: false });
    return () => this.slots.delete(jobId);
  }

  /** The wait of `status`'s job saw it: its creation time, and not to bring it again. */
  seen(status) {
    const slot = this.slots.get(status.jobId);
    if (slot === undefined) return;
    if (slot.createdSecs === undefined && typeof status.created === 'string') slot.createdSecs = cloudstackDate(status.created);
    slot.last = status;
  }

  /** Where `jobId`'s poll should list from instead (`{ secs, guessed }`), or `undefined`: poll alone. */
  listingSince(jobId) {
    const listable = [...this.slots].filter(([, slot]) => !slot.unlisted);
    if (listable.length < 2 || this.crowded || !listable.some(([id]) => id === jobId)) return undefined;
    let oldest;
    for (const [, slot] of listable) {
      let since;
      if (slot.createdSecs !== undefined) since = { secs: slot.createdSecs, guessed: false };
      else if (!this.noGuesses && slot.guessedSince !== undefined) since = { secs: slot.guessedSince, guessed: true };
      if (since !== undefined && (oldest === undefined || since.secs < oldest.secs)) oldest = since;
    }
    return oldest;
  }

  /** Hands a listing asked for by `jobId`'s wait to the other waiting jobs it shows. */
  deliver(listing, jobId, since) {
    const shown = new Map(listing.map((entry) => [entry[0].jobId, entry]));
    for (const [id, slot] of this.slots) {
      if (slot.unlisted) continue;
      const entry = shown.get(id);
      if (entry === undefined) slot.unlisted = slot.createdSecs !== undefined && slot.createdSecs >= since.secs;
      else if (id !== jobId && (slot.last?.state !== entry[0].state || slot.last?.progress !== entry[0].progress)) {
        slot.news = entry;
        slot.wake?.();
      }
    }
    if (!since.guessed) this.crowded = !worthListing(listing.length, [...this.slots.values()].filter((slot) => !slot.unlisted).length);
  }

  /** A listing from `since` did not show `jobId`, the job that asked for it. */
  notShown(jobId, since) {
    if (since.guessed) this.noGuesses = true;
    else if (this.slots.has(jobId)) this.slots.get(jobId).unlisted = true;
  }

  /**
   * The next `[status, failure]` a listing brings for `jobId`: `{ promise, cancel }` (the promise
   * never settles unless one does).
   */
  news(jobId) {
    const slot = this.slots.get(jobId);
    let cancel = () => {};
    const promise = new Promise((resolve) => {
      if (slot === undefined) return;
      const take = () => {
        slot.wake = undefined;
        const news = slot.news;
        slot.news = undefined;
        resolve(news);
      };
      if (slot.news !== undefined) take();
      else {
        slot.wake = take;
        cancel = () => { if (slot.wake === take) slot.wake = undefined; };
      }
    });
    return { promise, cancel };
  }
}
