// The twin of `engine/learn.rs`: how long jobs of each command take, learned from their finishes
// (an exponentially weighted mean and variance of the log duration), and the window a new job of
// the command is expected to finish in.

/** Weight of the newest duration. */
const ALPHA = 0.3;
/** Spread assumed until a command has enough finishes to measure its own. */
const DEFAULT_SIGMA = 0.45;
const MIN_FOR_SPREAD = 3;
const MIN_SIGMA = 0.05;
/** The window is [typical · e^(−0.5σ), typical · e^(σ)]. */
const WINDOW_BEFORE = 0.5;
const WINDOW_AFTER = 1.0;

/** Seconds (the log scale's unit, as in Rust) to milliseconds, within `Duration`'s range. */
const fromSecs = (secs) => Math.min(Math.max(secs, 0), 1e9) * 1000;

export class DurationLearner {
  constructor() {
    /** command → `{ mean, variance, count }` of ln(seconds). */
    this.stats = new Map();
  }

  observe(command, duration) {
    const value = Math.log(Math.max(duration / 1000, 0.001));
    const stats = this.stats.get(command);
    if (stats === undefined) {
      this.stats.set(command, { mean: value, variance: 0, count: 1 });
      return;
    }
    const diff = value - stats.mean;
    stats.mean += ALPHA * diff;
    stats.variance = (1 - ALPHA) * (stats.variance + ALPHA * diff * diff);
    stats.count += 1;
  }

  /**
   * A job of `command` was seen finished `took` after its submit. Learned only when it was seen
   * running first, or when it beat the typical duration: a finish seen late says only "at most".
   */
  observeFinish(command, took, seenRunning) {
    if (!command) return;
    const typical = this.typical(command);
    if (seenRunning || (typical !== undefined && took < typical)) this.observe(command, took);
  }

  typical(command) {
    const stats = this.stats.get(command);
    return stats && fromSecs(Math.exp(stats.mean));
  }

  /** `{ opens, typical, closes }` for a new job of `command`, once one finished. */
  expected(command) {
    const stats = this.stats.get(command);
    if (stats === undefined) return undefined;
    const sigma = stats.count >= MIN_FOR_SPREAD ? Math.max(Math.sqrt(stats.variance), MIN_SIGMA) : DEFAULT_SIGMA;
    return {
      opens: fromSecs(Math.exp(stats.mean - WINDOW_BEFORE * sigma)),
      typical: fromSecs(Math.exp(stats.mean)),
      closes: fromSecs(Math.exp(stats.mean + WINDOW_AFTER * sigma)),
    };
  }

  /** The first poll of a new `command` job: when its window opens, never before `floor`. */
  firstDelay(command, floor) {
    const expected = this.expected(command);
    return expected && Math.max(expected.opens, floor);
  }
}
