// `client.watch(jobs)`: an async iterator of status changes. CloudStack jobs are followed by the
// engine's watch plan (one `listAsyncJobs` listing per tick, the jobs it cannot show asked
// for one by one); CLM tasks, which have no such listing, are waited for a few at a time.

import { watchStream } from '../stream.js';
import { Clm } from './clm.js';
import { abortReason, sleep, stopped, tell } from './util.js';
import { sharedWait } from './wait.js';

/** CLM tasks waited for at once. */
const CLM_CONCURRENCY = 8;

/** Follows CloudStack `jobs` until all finished, passing each change to `push`. */
async function followCloudStack(client, jobs, push, onDelay, signal) {
  const now = Date.now();
  const ages = jobs.map((job) => (job.submittedAt === undefined ? NaN : Math.max(0, now - job.submittedAt)));
  const watch = client.engine.watch(performance.now(), Math.floor(now / 1000), jobs.map((job) => job.jobId), jobs.map((job) => job.command), ages);
  const started = performance.now();
  const options = { onDelay: (delay) => tell(onDelay, delay), signal };
  while (!watch.done()) {
    const next = watch.next(performance.now(), Math.random());
    if (next === undefined) {
      throw stopped('TimeoutError', `stopped waiting for job batch after ${Math.round(performance.now() - started)} ms; the job may still be running`, 'batch');
    }
    const [delayMs, reason] = next;
    tell(onDelay, { delayMs, reason, retries: 0 });
    await sleep(delayMs, signal);
    watch.tick(performance.now());
    let missing;
    for (;;) {
      let params = watch.listing(true);
      if (params === undefined) {
        missing = watch.unfinished();
        break;
      }
      for (;;) {
        const { read: [more] } = await client.request((...answer) => watch.page(...answer), 'listAsyncJobs', params, options);
        if (!more) break;
        params = watch.listing(false);
      }
      const [news, unlisted, again] = watch.listed(performance.now());
      news.forEach(push);
      if (!again) {
        missing = unlisted;
        break;
      }
    }
    for (const jobId of missing) {
      const { read: [news] } = await client.request((...answer) => watch.status(performance.now(), ...answer), 'queryAsyncJobResult', ['jobid', jobId], options);
      news.forEach(push);
    }
    watch.ticked();
  }
}

/** Follows CLM `jobs` a few at a time; a failed task is a status like any other. */
async function followClm(client, jobs, push, onDelay, signal) {
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      let last;
      const emit = ({ status, delay }) => {
        if (delay) return tell(onDelay, delay);
        if (last?.state !== status.state || last?.progress !== status.progress) push(status);
        last = status;
      };
      try {
        await sharedWait(client, job, emit, signal);
      } catch (error) {
        if (error?.name !== 'JobFailedError') throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: CLM_CONCURRENCY }, worker));
}

/**
 * Starts following `jobs`; returns the async iterator. Breaking out of the loop stops the
 * watch (no request goes out afterwards); `signal` ends it with its reason.
 */
export function watch(client, jobs, { onDelay, signal }) {
  const stream = watchStream();
  const controller = new AbortController();
  const follow = client instanceof Clm ? followClm : followCloudStack;
  const stop = () => controller.abort();
  // The first ending wins: the stream ends once.
  let over = false;
  const end = (error) => {
    if (over) return;
    over = true;
    signal?.removeEventListener('abort', aborted);
    if (error === undefined) stream.end();
    else stream.fail(error);
  };
  const aborted = () => end(abortReason(signal, 'batch'));
  if (signal?.aborted) aborted();
  else {
    signal?.addEventListener('abort', aborted, { once: true });
    stream.stopped.then(stop);
    follow(client, jobs, (status) => stream.push(status), onDelay, controller.signal).then(
      () => end(),
      (error) => end(controller.signal.aborted ? undefined : error),
    ).finally(stop);
  }
  return stream.iterator;
}
