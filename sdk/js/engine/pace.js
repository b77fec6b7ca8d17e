// The twin of `engine/pace.rs`: spacing requests after the server throttled (429). The requests
// admitted before a refusal, over the time until the server's Retry-After, give the rate it
// allows; later requests go that far apart (with a margin), so one refusal is the last.

const MARGIN = 1.1;
/** Refusals while paced before the learned spacing is dropped as wrong. */
const PACED_REFUSALS = 2;
const MIN_ADMITTED_TO_LEARN = 2;
/** After dropping a spacing, this long before another is learned. */
const COOL_DOWN = 60_000;
/** A pause this long (or the longest Retry-After) starts a new count. */
const QUIET = 1000;
/** Counts last this long before the next one starts. */
const EPOCH = 30_000;

export class Pacer {
  constructor() {
    /** `{ since, admitted }`: the requests admitted since `since`, and the count before it. */
    this.current = undefined;
    this.previous = undefined;
    this.lastSent = undefined;
    this.longestWait = 0;
    /** `[spacing, learnedAt]`. */
    this.spacing = undefined;
    this.pacedRefusals = 0;
    this.nextAt = undefined;
    this.quietUntil = undefined;
  }

  /** The time the next request may go (now or later), its slot taken. */
  reserve(now) {
    const at = this.nextAt === undefined ? now : Math.max(this.nextAt, now);
    if (this.spacing !== undefined) this.nextAt = at + this.spacing[0];
    const quiet = Math.max(QUIET, this.longestWait);
    const paused = this.lastSent === undefined || at - this.lastSent >= quiet;
    if (this.current !== undefined && !paused) {
      if (at - this.current.since >= EPOCH) {
        this.previous = this.current;
        this.current = { since: at, admitted: 0 };
      }
    } else {
      this.previous = undefined;
      this.current = { since: at, admitted: 0 };
    }
    this.lastSent = this.lastSent === undefined ? at : Math.max(this.lastSent, at);
    return at;
  }

  /** The request sent at `sentAt` was admitted. */
  admitted(sentAt) {
    for (const count of [this.current, this.previous]) {
      if (count !== undefined && sentAt >= count.since) {
        count.admitted += 1;
        return;
      }
    }
  }

  /** The request sent at `sentAt` was refused at `now`, the server asking for `retryAfter`. */
  refused(now, sentAt, retryAfter) {
    const windowEnd = now + retryAfter;
    this.longestWait = Math.max(this.longestWait, retryAfter);
    this.nextAt = this.nextAt === undefined ? windowEnd : Math.max(this.nextAt, windowEnd);
    const { current, previous } = this;
    this.current = this.previous = undefined;
    const since = (previous ?? current)?.since ?? now;
    const admitted = (current?.admitted ?? 0) + (previous?.admitted ?? 0);
    if (this.quietUntil !== undefined && now < this.quietUntil) return;
    if (this.spacing !== undefined) {
      if (sentAt < this.spacing[1]) return;
      this.pacedRefusals += 1;
      if (this.pacedRefusals >= PACED_REFUSALS) {
        this.spacing = undefined;
        this.pacedRefusals = 0;
        this.quietUntil = now + COOL_DOWN;
      }
    } else if (admitted >= MIN_ADMITTED_TO_LEARN) {
      const span = Math.max(windowEnd - since, 1);
      this.spacing = [(span * MARGIN) / admitted, now];
    }
  }
}
