// The twin of `engine/watch.rs`: the decisions of a watch of many CloudStack jobs (when to list
// next, from which creation date, which jobs to ask for one by one, what finishes teach). The
// driver's watch runs the requests and sleeps.

import { BatchEta, BatchTracker } from './batch.js';
import { firstListingSince, guessMissed, worthListing } from './listing.js';
import { Waiter } from './policy.js';

/** Longest wait between two listings. */
const MAX_TICK_INTERVAL = 3000;
/** Longest wait for the earliest finish progress allows. */
const MAX_ETA_WAIT = 10_000;
/** Aimed ticks that found nothing finished before aiming stops. */
const MAX_AIMED_MISSES = 2;
const MIN_AIMED_TICK = 1000;
/** Only watches of this many unfinished jobs or fewer aim at a finish. */
const AIMED_MAX_UNFINISHED = 100;

export class WatchPlan {
  /**
   * `jobs`: `{ jobId, command, age }` (age in ms, or `undefined`); `first`: the planned first
   * listing's `[delay, reason]`; `nowUnix`: seconds, our wall clock.
   */
  constructor(jobs, policy, first, now, nowUnix) {
    const tickPolicy = { ...policy, maxInterval: Math.min(policy.maxInterval, MAX_TICK_INTERVAL) };
    this.waiter = new Waiter(tickPolicy, now);
    if (first !== undefined) this.waiter.firstDelay(...first);
    this.jobs = jobs;
    this.byId = new Map();
    jobs.forEach((job, index) => this.byId.has(job.jobId) || this.byId.set(job.jobId, index));
    this.seenRunning = jobs.map(() => false);
    this.tracker = new BatchTracker(jobs.map((job) => job.jobId));
    this.etas = new BatchEta(now, jobs.map((job) => [job.jobId, job.age]));
    this.guessedSince = firstListingSince(nowUnix, jobs.map((job) => job.age));
    this.started = now;
    this.tickStarted = now;
    this.perJob = false;
    this.aimedMisses = 0;
    this.aimedUnfinished = undefined;
  }

  isDone() {
    return this.tracker.isDone();
  }

  /** The next tick's `[delay, reason]` from `now`; `undefined` once the deadline has passed. */
  nextTick(now, jitter) {
    const earliest = this.etas.earliestFinish();
    const eta = earliest === undefined ? undefined : [Math.min(Math.max(earliest - this.tickStarted, 0), MAX_ETA_WAIT), 'eta'];
    const step = this.waiter.next(this.tickStarted, 0.5 + jitter / 2, eta);
    if (step === undefined) return undefined;
    let [at, reason] = step;
    const unfinished = this.tracker.unfinishedCount();
    const aiming = this.aimedMisses < MAX_AIMED_MISSES && unfinished <= AIMED_MAX_UNFINISHED;
    let due = aiming ? this.etas.firstFinishBy() : undefined;
    if (due !== undefined) due = Math.max(due, this.tickStarted + MIN_AIMED_TICK);
    if (due !== undefined && !(due < at)) due = undefined;
    this.aimedUnfinished = due === undefined ? undefined : unfinished;
    if (due !== undefined) [at, reason] = [due, 'eta'];
    return [Math.max(at - now, 0), reason];
  }

  tick(now) {
    this.tickStarted = now;
  }

  /** Where this tick's listing starts (`{ since, guessed }`); `undefined`: ask one by one. */
  listing() {
    if (this.perJob) return undefined;
    const known = this.tracker.oldestUnfinishedCreated();
    return { since: known ?? this.guessedSince, guessed: known === undefined };
  }

  unfinished() {
    return this.tracker.unfinished();
  }

  /** What a complete listing brings: `{ news, lessons, missing, again }`. */
  listed(listing, start, now) {
    for (const status of listing) this.etas.observe(now, status);
    const [news, missing] = this.tracker.observeListing(listing);
    const lessons = news.map((status) => this.lesson(status, now)).filter((lesson) => lesson !== undefined);
    if (start.guessed && start.since !== undefined && guessMissed(missing.length)) {
      this.guessedSince = undefined;
      return { news, lessons, missing: [], again: true };
    }
    this.perJob = !start.guessed && !worthListing(listing.length, this.tracker.unfinishedCount());
    return { news, lessons, missing, again: false };
  }

  /** What one job's own status brings: `[news, lesson]`, or `undefined` when nothing changed. */
  polled(status, now) {
    this.etas.observe(now, status);
    const news = this.tracker.observe(status);
    return news === undefined ? undefined : [news, this.lesson(news, now)];
  }

  ticked() {
    const before = this.aimedUnfinished;
    this.aimedUnfinished = undefined;
    if (before !== undefined && this.tracker.unfinishedCount() === before) this.aimedMisses += 1;
  }

  /** What a finish teaches: `[command, took, seenRunning]`. */
  lesson(status, now) {
    const index = this.byId.get(status.jobId);
    if (index === undefined) return undefined;
    if (status.state === 'pending') {
      this.seenRunning[index] = true;
      return undefined;
    }
    const job = this.jobs[index];
    return [job.command, (job.age ?? 0) + Math.max(now - this.started, 0), this.seenRunning[index]];
  }
}
