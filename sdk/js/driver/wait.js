// Waiting for one job until it finishes: long-polls while the server honours them, else the
// schedule the engine chooses (configured or learned first poll, the expected window,
// the finish estimated from progress, backoff), every status and delay reported. Concurrent
// waits of one job share one wait; each keeps its own deadline.

import { firstListingSince } from '../engine/listing.js';
import { sleep, stopped, timer } from './util.js';

/** A status a listing brought this long or less before the job's own poll stands in for it. */
const LISTING_STANDS_IN_MS = 300;

/**
 * Sleeps `ms`, or less when another job's shared listing brings this job's `[status, failure]`
 * first (that, else `undefined`).
 */
async function sleepOrListed(client, jobId, ms, signal) {
  if (!client.sweeps) return sleep(ms, signal);
  const [slept, news] = [timer(ms, signal), client.sweeps.news(jobId)];
  try {
    return await Promise.race([slept.promise, news.promise]);
  } finally {
    slept.cancel();
    news.cancel();
  }
}

/**
 * Polls `job` (`{ jobId, command, submittedAt }`) until it finishes; resolves with its final
 * status, rejects with its JobFailedError, a TimeoutError at the client's deadline, or what a
 * request failed with. `emit` hears the events (`{ status }`, `{ delay }`); `signal` stops it.
 */
async function waitJob(client, job, started, emit, signal) {
  const { engine, options } = client;
  const ageMs = job.submittedAt === undefined ? undefined : Math.max(0, started.wall - job.submittedAt);
  const schedule = engine.schedule(performance.now(), job.command, ageMs);
  let serverWaits = options.longPollSecs > 0;
  let seenPending = false;
  // Registered with the client's shared listings once the server is known not to hold requests.
  let unregister;
  // This job's own next poll, kept while other jobs' listings bring its status.
  let planned;
  const timedOut = () => stopped('TimeoutError', `stopped waiting for job ${job.jobId} after ${Math.round(performance.now() - started.mono)} ms; the job may still be running`, job.jobId);
  try {
    for (;;) {
      let holdSecs;
      let listed;
      if (serverWaits) {
        holdSecs = schedule.longPoll(performance.now(), options.longPollSecs);
        if (holdSecs === undefined) throw timedOut();
      } else {
        if (unregister === undefined && client.sweeps) {
          const age = job.submittedAt === undefined ? undefined : Math.max(0, Date.now() - job.submittedAt);
          unregister = client.sweeps.register(job.jobId, firstListingSince(Math.floor(Date.now() / 1000), [age]));
        }
        // A status another job's listing brought well before this job's own next poll does not
        // move that poll: only a finish ends the wait early.
        let at = planned !== undefined && planned > performance.now() ? planned : undefined;
        planned = undefined;
        if (at === undefined) {
          const now = performance.now();
          const next = schedule.next(now, Math.random());
          if (next === undefined) throw timedOut();
          const [delayMs, reason] = next;
          emit({ delay: { delayMs, reason, retries: 0 } });
          at = now + delayMs;
        }
        listed = await sleepOrListed(client, job.jobId, at - performance.now(), signal);
        if (listed !== undefined && at - performance.now() > LISTING_STANDS_IN_MS) planned = at;
        listed ??= await client.pollByListing?.(job.jobId, signal);
      }
      const [status, held, failure] = listed ?? (await client.poll(job.jobId, { holdSecs, signal, onDelay: (delay) => emit({ delay }) }));
      client.sweeps?.seen(status);
      serverWaits = serverWaits && held;
      emit({ status });
      const pending = status.state === 'pending';
      if (!pending) {
        const tookMs = job.submittedAt === undefined ? performance.now() - started.mono : Date.now() - job.submittedAt;
        engine.finished(job.command, tookMs, seenPending);
      }
      seenPending ||= pending;
      if (pending) {
        schedule.progress(performance.now(), status.progress ?? undefined);
        if (serverWaits) emit({ delay: { delayMs: 0, reason: 'long-poll', retries: 0 } });
      } else if (failure) {
        throw failure;
      } else {
        return status;
      }
    }
  } finally {
    unregister?.();
  }
}

/**
 * Waits for `job`, sharing the wait with the job's other waits on this client: the job is polled
 * once for all of them. A wait that joined late does not end with the first one's deadline: it
 * goes on (leading now) until its own has passed.
 */
export async function sharedWait(client, job, emit, signal) {
  const started = { mono: performance.now(), wall: Date.now() };
  const deadlineMs = client.options.deadlineMs;
  for (;;) {
    try {
      return await client.waits.join(job.jobId, (flightSignal, relay) => waitJob(client, job, started, relay, flightSignal), emit, signal);
    } catch (error) {
      const ownDeadlinePassed = deadlineMs === undefined || performance.now() - started.mono >= deadlineMs;
      if (error?.name !== 'TimeoutError' || error.jobId !== job.jobId || ownDeadlinePassed || signal?.aborted) throw error;
    }
  }
}
