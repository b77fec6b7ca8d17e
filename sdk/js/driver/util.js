// What every part of the driver shares: timers that a signal cancels, operations shared by
// their concurrent callers, the retry loop, and the errors of a caller who stopped waiting.

import { jobwireError, stoppedWaiting } from 'jobwire-errors';

/** setTimeout's longest delay (2^31 - 1 ms, 24.8 days); longer waits go in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Marks `promise` handled and gives it back: ignored promises never report unhandled rejections. */
export function handled(promise) {
  promise.catch(() => {});
  return promise;
}

/** The error `signal` stands for: its reason, or an AbortError naming `jobId`. */
export function abortReason(signal, jobId) {
  return signal.reason !== undefined
    ? signal.reason
    : stopped('AbortError', 'stopped waiting: aborted; the job may still be running', jobId);
}

/** A DOMException named `name` (AbortError, TimeoutError) carrying the `jobId`. */
export function stopped(name, message, jobId) {
  const error = stoppedWaiting(name, message);
  error.jobId = jobId;
  return error;
}

/**
 * Resolves when `signal` aborts (with `onAbort`'s value), `ms` pass (with `undefined`), or never
 * without either; `cancel()` takes the timer and the listener away.
 */
function watchFor(ms, signal, onAbort) {
  let cancel = () => {};
  const promise = new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(onAbort());
    let timer;
    const abort = () => { clearTimeout(timer); reject(onAbort()); };
    const step = (left) => {
      timer = setTimeout(() => (left > MAX_TIMER_MS ? step(left - MAX_TIMER_MS) : (signal?.removeEventListener('abort', abort), resolve())), Math.min(left, MAX_TIMER_MS));
    };
    if (ms !== undefined) step(Math.max(0, ms));
    signal?.addEventListener('abort', abort, { once: true });
    cancel = () => { clearTimeout(timer); signal?.removeEventListener('abort', abort); };
  });
  return { promise: handled(promise), cancel };
}

/** Sleeps `ms`; rejects at once when `signal` aborts (with its reason). */
export function sleep(ms, signal) {
  return timer(ms, signal).promise;
}

/** `sleep` as `{ promise, cancel }`: `cancel()` ends the timer (the promise then never settles). */
export function timer(ms, signal) {
  return watchFor(ms, signal, () => signal.reason);
}

/**
 * Runs `work` until it settles, or until the caller stops waiting: `signal` aborts (its reason,
 * or an AbortError) or `timeoutMs` passes (a TimeoutError). Either way `leave()` is called.
 */
export async function supervise(work, { signal, timeoutMs }, jobId, leave) {
  const stop = watchFor(timeoutMs, signal, () => abortReason(signal, jobId));
  const timedOut = stop.promise.then(() => {
    throw stopped('TimeoutError', `stopped waiting for job ${jobId} after ${timeoutMs} ms; the job may still be running`, jobId);
  });
  try {
    return await (timeoutMs === undefined && !signal ? work : Promise.race([work, timedOut]));
  } finally {
    stop.cancel();
    leave?.();
  }
}

/**
 * Operations shared by concurrent callers, by key: the first caller starts `start(signal, emit)`,
 * later ones join it; each gets the events emitted from when it joined, and the outcome. The
 * operation is aborted when its last caller leaves (`signal` aborts) before it settles.
 */
export class Flights {
  constructor() {
    this.flights = new Map();
  }

  /** Joins (or starts) the operation `key`; `onEvent` hears its events; `signal` leaves it. */
  join(key, start, onEvent, signal) {
    let flight = this.flights.get(key);
    const starting = !flight;
    if (starting) {
      flight = { controller: new AbortController(), listeners: new Set(), callers: 0 };
      this.flights.set(key, flight);
    }
    flight.callers++;
    if (onEvent) flight.listeners.add(onEvent);
    if (starting) {
      // Started once the first caller listens: what the operation reports at once reaches it.
      const done = () => { if (this.flights.get(key) === flight) this.flights.delete(key); };
      flight.promise = handled(start(flight.controller.signal, (event) => flight.listeners.forEach((l) => l(event))));
      flight.promise.then(done, done);
    }
    const leave = () => {
      flight.listeners.delete(onEvent);
      if (--flight.callers === 0 && this.flights.get(key) === flight) {
        this.flights.delete(key);
        flight.controller.abort();
      }
    };
    const left = watchFor(undefined, signal, () => signal.reason);
    return Promise.race([flight.promise, left.promise]).finally(() => { left.cancel(); leave(); });
  }

  /** Operations in flight. */
  get size() {
    return this.flights.size;
  }
}

/** The backoff before retry number `retries` (1, 2, …): 400 ms doubling to 10 s, jittered by half. */
function backoff(retries) {
  return Math.min(200 * 2 ** Math.min(retries, 6), 10_000) * (0.5 + Math.random() / 2);
}

/**
 * Calls `attempt()` until it gives a value: it answers `{ value }`, `{ again: true }` (try again
 * at once: a renewed session is progress, not a failure) or `{ error, retry, after }`. Failures
 * that `retry` are tried again up to `maxRetries` times in a row, after the server's wait
 * (`after` ms, at most 5 minutes) or a jittered backoff, each delay reported to `onDelay`.
 */
export async function retrying(maxRetries, onDelay, signal, attempt) {
  for (let retries = 0; ;) {
    const outcome = await attempt();
    if (!outcome.error) {
      if (outcome.again) continue;
      return outcome.value;
    }
    if (!outcome.retry || retries >= maxRetries) throw outcome.error;
    retries++;
    const asked = outcome.after !== undefined;
    const delayMs = asked ? Math.min(outcome.after, 300_000) : backoff(retries);
    onDelay?.({ delayMs, reason: asked ? 'retry-after' : 'retry', retries });
    await sleep(delayMs, signal);
  }
}

/** A TransportError for a request that got no answer: network, CORS, timeout. */
export function networkError(error) {
  const text = error instanceof Error || error instanceof DOMException ? `${error.name}: ${error.message}` : String(error ?? 'fetch failed');
  return jobwireError('TransportError', `network error: ${text}`);
}

/** What a caller's callback throws must not stop a wait. */
export function tell(callback, value) {
  try {
    callback?.(value);
  } catch {
    // ignored: see above
  }
}
