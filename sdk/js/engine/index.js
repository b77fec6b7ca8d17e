// The engine's decisions for the JavaScript driver, sans IO: the twin of the Rust engine
// (`sdk/src/engine/`), with the API `sdk/src/js/engine.rs` gives the Rust one in wasm (feature
// `js-engine`), so that sdk/js/engine/tests/twin.test.mjs can hold the two to the same decisions.
// It lives in JavaScript because the package's size floor leaves no room for it in wasm (see
// docs/package-size.md). Times are milliseconds on the caller's monotonic clock (`now`), wall
// time Unix seconds; `jitter` is a random number in [0, 1).

import { formatCloudstackDate } from './date.js';
import { DurationLearner } from './learn.js';
import { LISTING_PAGE_SIZE, ListingPlan } from './listing.js';
import { Pacer } from './pace.js';
import { defaultPolicy, plannedFirstPoll, Waiter } from './policy.js';
import { WatchPlan } from './watch.js';

/** What `readCloudStack` reads an answer as. */
const READ_STATUS = 2;
const READ_LIST = 3;

/** A caller's milliseconds as a duration: negative and NaN are 0, as the Rust core reads them. */
const millis = (ms) => (Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, 0), 1e15));

const asciiLower = (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * One client's engine state: the polling policy, learned durations, request pacing and the
 * listing plan. `core`: the wasm core's `readCloudStack` (listings read their answers with it).
 */
export class Engine {
  constructor(deadlineMs, initialDelays = [], core = undefined) {
    this.policy = defaultPolicy(deadlineMs >= 0 ? millis(deadlineMs) : undefined);
    this.initialDelays = [];
    for (let i = 0; i + 1 < initialDelays.length; i += 2) {
      const [command, delay] = [initialDelays[i], initialDelays[i + 1]];
      if (typeof command === 'string' && typeof delay === 'number') this.initialDelays.push([asciiLower(command), millis(delay)]);
    }
    this.learner = new DurationLearner();
    this.pacer = new Pacer();
    this.listing = new ListingPlan();
    this.core = core;
  }

  /** Reserves the next request's slot: `[slot, wait]` (0 unless the server throttled). */
  reserve(now) {
    const slot = this.pacer.reserve(now);
    return [slot, Math.max(slot - now, 0)];
  }

  /** The request sent in `slot` was answered with `status` (a 429 teaches the pacing). */
  answered(now, slot, status, retryAfterMs) {
    if (status === 429) this.pacer.refused(now, millis(slot), retryAfterMs === undefined ? 1000 : millis(retryAfterMs));
    else this.pacer.admitted(millis(slot));
  }

  /** The schedule of a wait for a `command` job; `ageMs` when its submit is known. */
  schedule(now, command, ageMs) {
    const age = ageMs === undefined ? undefined : millis(ageMs);
    const waiter = Waiter.forJob(this.policy, this.initialDelay(command), this.learner, command, age, now);
    return new Schedule(waiter, now, this.policy.deadline);
  }

  /** A watch of the jobs `ids` (their `commands`, their ages in ms, `NaN` when unknown). */
  watch(now, unixSecs, ids, commands, agesMs) {
    const jobs = ids.map((jobId, i) => ({ jobId, command: commands[i], age: Number.isNaN(agesMs[i]) ? undefined : millis(agesMs[i]) }));
    let first;
    for (const job of jobs) {
      const planned = plannedFirstPoll(this.policy, this.initialDelay(job.command), this.learner, job.command, job.age);
      if (planned === undefined) {
        first = undefined;
        break;
      }
      if (first === undefined || planned[0] < first[0]) first = planned;
    }
    return new Watch(new WatchPlan(jobs, this.policy, first, now, unixSecs), this);
  }

  /** The command's configured initial delay (names compared ignoring ASCII case). */
  initialDelay(command) {
    const name = asciiLower(command);
    return this.initialDelays.find(([configured]) => configured === name)?.[1];
  }

  /** A `command` job was seen finished `tookMs` after its submit. */
  finished(command, tookMs, seenRunning) {
    this.learner.observeFinish(command, millis(tookMs), seenRunning);
  }
}

/** One wait's schedule. */
export class Schedule {
  constructor(waiter, started, deadline) {
    this.waiter = waiter;
    this.started = started;
    this.deadline = deadline;
  }

  /** The next poll: `[delayMs, reason]`, or `undefined` once the deadline has passed. */
  next(now, jitter) {
    const step = this.waiter.next(now, jitter);
    return step && [Math.max(step[0] - now, 0), step[1]];
  }

  progress(now, progress) {
    this.waiter.observeProgress(now, progress);
  }

  /** Seconds the next long-poll may be held: `configured`, cut to the deadline's rest (≥ 1). */
  longPoll(now, configured) {
    if (this.deadline === undefined) return configured;
    const left = Math.max(this.deadline - Math.max(now - this.started, 0), 0);
    if (left === 0) return undefined;
    return Math.max(Math.min(configured, Math.ceil(left / 1000)), 1);
  }
}

/**
 * One `listAsyncJobs` listing of the jobs created since `since` (Unix seconds, or `undefined`:
 * all): asked for at once (`pagesize=-1`) where the engine's listing plan allows it, else by
 * pages; a server that refuses the former, or an answer too large to read, switches the plan to
 * pages. `statuses` (and `failures`, a JobFailedError for each failed job) collect the pages.
 */
export class Listing {
  constructor(engine, since) {
    this.engine = engine;
    this.since = since;
    /** The page asked for last (0: everything at once). */
    this.asked = engine.listing.unlimited() ? 0 : 1;
    this.statuses = [];
    this.failures = [];
  }

  /** The parameters of the first request, or (`next`) of the next page. */
  params(next) {
    if (next) this.asked += 1;
    const params = this.asked === 0 ? ['pagesize', '-1'] : ['page', String(this.asked), 'pagesize', String(LISTING_PAGE_SIZE)];
    // The second taken off guards against rounding of the server's dates.
    const since = this.since === undefined ? undefined : this.since - 1;
    if (since !== undefined && since >= 0) params.push('startdate', formatCloudstackDate(since));
    return params;
  }

  /** Reads one page's answer: `[more]` (whether `params(true)` is due), or a failure as `readCloudStack` gives it. */
  read(status, contentType, retryAfter, body) {
    const answer = this.engine.core.readCloudStack(READ_LIST, status, contentType, retryAfter, body);
    const [count, statuses, failures] = answer;
    const plan = this.engine.listing;
    if (count === undefined) {
      // An unlimited listing refused (431) or too large to read: by pages from now on.
      if (this.asked !== 0 || answer[4] === undefined) return answer;
      if (answer[4] === 'refused') plan.refused();
      else plan.tooLarge();
      return [true];
    }
    // Not `push(...statuses)`: an unlimited listing may hold more items than a call takes arguments.
    this.statuses = this.statuses.concat(statuses);
    this.failures = this.failures.concat(failures);
    const more = this.asked > 0 && statuses.length >= LISTING_PAGE_SIZE && this.statuses.length < count;
    if (!more) plan.observed(Math.max(count, this.statuses.length));
    return [more];
  }
}

/** A watch of many CloudStack jobs: the driver sends what it says and hands the answers back. */
export class Watch {
  constructor(plan, engine) {
    this.plan = plan;
    this.engine = engine;
    /** Where the listing under way starts, and the listing. */
    this.start = undefined;
    this.current = undefined;
  }

  /** The next tick's `[delayMs, reason]`; `undefined` once the deadline has passed. */
  next(now, jitter) {
    return this.plan.nextTick(now, jitter);
  }

  tick(now) {
    this.plan.tick(now);
  }

  /** The `listAsyncJobs` parameters of this tick's listing (`begin`) or its next page. */
  listing(begin) {
    if (begin) {
      this.start = this.plan.listing();
      this.current = this.start && new Listing(this.engine, this.start.since);
    }
    return this.current?.params(!begin);
  }

  /** Reads one listing page: `[more]`, or a failure as `readCloudStack` gives it. */
  page(status, contentType, retryAfter, body) {
    return this.current.read(status, contentType, retryAfter, body);
  }

  /** The listing is complete: `[news, missing, again]`. */
  listed(now) {
    if (this.start === undefined) throw new TypeError('no listing under way');
    const { news, lessons, missing, again } = this.plan.listed(this.current.statuses, this.start, now);
    this.start = this.current = undefined;
    this.learn(lessons);
    return [news, missing, again];
  }

  unfinished() {
    return this.plan.unfinished();
  }

  /** Reads one job's own status answer: `[news]`, or a failure as `readCloudStack` gives it. */
  status(now, status, contentType, retryAfter, body) {
    const answer = this.engine.core.readCloudStack(READ_STATUS, status, contentType, retryAfter, body);
    if (answer[0] === undefined) return answer;
    const polled = this.plan.polled(answer[0], now);
    if (polled === undefined) return [[]];
    this.learn(polled[1] === undefined ? [] : [polled[1]]);
    return [[polled[0]]];
  }

  ticked() {
    this.plan.ticked();
  }

  done() {
    return this.plan.isDone();
  }

  learn(lessons) {
    for (const [command, took, seenRunning] of lessons) this.engine.learner.observeFinish(command, took, seenRunning);
  }
}

