// The twin of `engine/policy.rs` and `engine/eta.rs`'s `FinishEstimate`: when one wait polls next
// (the configured or learned first poll, the finish estimated from progress, the window learned
// from past jobs of the command, else backoff with full jitter), within the deadline. Times are
// milliseconds on one monotonic clock. sdk/js/engine/tests/twin.test.mjs holds it to the Rust
// engine's decisions.

/** The Rust client's `PollPolicy::default()`; `deadline` in ms or `undefined`. */
export function defaultPolicy(deadline) {
  return { firstDelay: 500, minInterval: 250, maxInterval: 5000, multiplier: 1.6, deadline };
}

/** Backoff delay of the `attempt`th poll: full jitter between the minimum and the grown cap. */
export function backoffDelay(policy, attempt, jitter) {
  if (attempt === 0) return policy.firstDelay;
  const min = policy.minInterval;
  const max = Math.max(policy.maxInterval, min);
  const cap = Math.min(min * Math.max(policy.multiplier, 1) ** attempt, max);
  return min + (cap - min) * Math.min(Math.max(jitter, 0), 1);
}

/** Progress is reported in whole percents: a reading of p means anywhere in [p, p + 1). */
const PROGRESS_QUANTUM = 1;

/** When one job will finish, from its progress readings: `[earliest, latest]` or `undefined`. */
export class FinishEstimate {
  constructor(origin) {
    this.origin = origin;
    /** `[time, progress, quantum]` the rate is measured from. */
    this.base = undefined;
    this.finish = undefined;
  }

  /** The job was submitted `age` ago at 0 %. */
  submitted(age) {
    this.base = [-age, 0, 0];
    return this;
  }

  observe(now, progress) {
    if (!(Number.isFinite(progress) && progress >= 0 && progress < 100)) {
      this.finish = undefined;
      return;
    }
    const x = Math.max(0, now - this.origin);
    if (this.base === undefined) {
      this.base = [x, progress, PROGRESS_QUANTUM];
      return;
    }
    const [x0, p0, q0] = this.base;
    const dt = x - x0;
    const low = progress - p0 - q0;
    const high = progress + PROGRESS_QUANTUM - p0;
    if (dt <= 0 || low <= 0) {
      this.finish = undefined;
      return;
    }
    const latest = x + ((100 - progress) * dt) / low;
    const earliest = x + (Math.max(100 - progress - PROGRESS_QUANTUM, 0) * dt) / high;
    this.finish = [this.instant(Math.min(earliest, latest)), this.instant(latest)];
  }

  instant(offset) {
    return this.origin + Math.min(Math.max(offset, 0), 1e12);
  }
}

/**
 * Where a job's first poll goes, counted from when its wait (or watch) began: its command's
 * configured `initial` delay, else the duration `learner` learned for the command (never before
 * the policy's first delay), each less the job's `age`; `undefined` when neither is known.
 */
export function plannedFirstPoll(policy, initial, learner, command, age) {
  let planned;
  if (initial !== undefined) planned = [initial, 'initial-delay'];
  else {
    const learned = learner.firstDelay(command, policy.firstDelay);
    if (learned !== undefined) planned = [learned, 'learned-duration'];
  }
  return planned && [Math.max(planned[0] - (age ?? 0), 0), planned[1]];
}

/** Aimed polls that found the job still running before the estimate is no longer trusted. */
const MAX_ETA_MISSES = 2;

/** One wait's schedule (`Waiter`): `next()` gives `[at, reason]`, or `undefined` at the deadline. */
export class Waiter {
  constructor(policy, now) {
    this.policy = policy;
    this.started = now;
    this.polls = 0;
    /** `[delay, reason]` of the first poll, when planned. */
    this.first = undefined;
    this.ageAtStart = undefined;
    /** `{ opens, typical, closes }` learned for the command. */
    this.expected = undefined;
    this.estimate = new FinishEstimate(now);
    this.aimedAtFinish = false;
    this.etaMisses = 0;
    this.backoff = 0;
  }

  /**
   * The schedule of one wait of a `command` job beginning `now`: the first poll where
   * `plannedFirstPoll` puts it; with the job's `age` known, progress and the learned window count
   * from its submit.
   */
  static forJob(policy, initial, learner, command, age, now) {
    const first = plannedFirstPoll(policy, initial, learner, command, age);
    const waiter = new Waiter(policy, now);
    if (age !== undefined) {
      waiter.jobAge(age);
      const expected = learner.expected(command);
      if (expected !== undefined) waiter.withExpected(expected);
    }
    if (first !== undefined) waiter.firstDelay(...first);
    return waiter;
  }

  firstDelay(delay, reason) {
    this.first = [delay, reason];
    return this;
  }

  jobAge(age) {
    this.ageAtStart = age;
    this.estimate.submitted(age);
    return this;
  }

  withExpected(expected) {
    this.expected = expected;
    return this;
  }

  observeProgress(now, progress) {
    this.estimate.observe(now, progress);
  }

  planned(now, jitter) {
    const { policy } = this;
    const min = policy.minInterval;
    if (this.polls === 0) return this.first ?? [policy.firstDelay, 'first-poll'];
    if (this.aimedAtFinish) {
      this.aimedAtFinish = false;
      this.etaMisses += 1;
    }
    const finish = this.etaMisses < MAX_ETA_MISSES ? this.estimate.finish : undefined;
    if (finish !== undefined && finish[1] > now) {
      const [earliest, latest] = finish;
      this.backoff = 0;
      const narrow = latest - earliest <= Math.max(min, (latest - now) * 0.1);
      let target = earliest;
      if (narrow || earliest <= now + min) {
        this.aimedAtFinish = true;
        target = latest;
      }
      return [Math.max(target - now, min), 'eta'];
    }
    if (this.expected !== undefined && this.ageAtStart !== undefined) {
      const { opens, closes } = this.expected;
      const age = this.ageAtStart;
      const opensAt = this.started + Math.max(opens - age, 0);
      const closesAt = this.started + Math.max(closes - age, 0);
      if (now < opensAt) return [Math.max(opensAt - now, min), 'learned-duration'];
      if (now < closesAt) {
        this.backoff = 0;
        const spacing = Math.max(closes - opens, 0) / 4;
        return [Math.min(Math.max(spacing, min), Math.max(policy.maxInterval, min)), 'expected-window'];
      }
    }
    this.backoff += 1;
    return [backoffDelay(policy, this.backoff, jitter), 'backoff'];
  }

  /** The next poll, or a later `hint` (`[delay, reason]`) when it asks for more. */
  next(now, jitter, hint) {
    let [delay, reason] = this.planned(now, jitter);
    if (hint !== undefined && hint[0] >= delay) [delay, reason] = hint;
    let at = now + delay;
    if (this.policy.deadline !== undefined) {
      const deadline = this.started + this.policy.deadline;
      if (now >= deadline) return undefined;
      at = Math.min(at, deadline);
    }
    this.polls += 1;
    return [at, reason];
  }
}
