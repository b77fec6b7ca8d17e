// The package's API: `JobClient` and `Job`, whose methods return Promises. The protocol and the
// engine's decisions are the wasm core's; this file reads the caller's options and arguments,
// reports statuses and delays, and turns stopped waits into the standard DOMExceptions.

import { Clm } from './clm.js';
import { CloudStack } from './cloudstack.js';
import { readOptions, readToken, stringArg, waitOptions, watchArgs } from './options.js';
import { handled, supervise, tell } from './util.js';
import { sharedWait } from './wait.js';
import { watch } from './watch.js';

export { JobwireError, JobFailedError, ApiError, LoginError, TransportError, ProtocolError } from 'jobwire-errors';

/** Private state of the public objects, out of the callers' reach. */
const clients = new WeakMap();
const jobs = new WeakMap();

/** A status as `onProgress` sees it: the best progress so far, the time waited, an estimate of the time left. */
function withTiming(status, progress, elapsedMs) {
  let etaMs = null;
  if (progress !== null && progress > 0) etaMs = progress >= 100 ? 0 : elapsedMs * (100 - progress) / progress;
  return { ...status, progress, elapsedMs, etaMs };
}

/** A wait's events, passed to the caller's `onProgress` and `onDelay`. */
function eventSink({ onProgress, onDelay }) {
  const started = performance.now();
  let best = null;
  return ({ status, delay }) => {
    if (delay) return tell(onDelay, delay);
    if (status.progress !== null) best = best === null ? status.progress : Math.max(best, status.progress);
    if (onProgress) tell(onProgress, withTiming(status, best, performance.now() - started));
  };
}

/**
 * Runs `wait(emit, signal)` (a wait's events to the caller's callbacks) until it ends or the
 * caller stops waiting for `jobId`; resolves with the final status's result.
 */
async function supervised(wait, options, jobId) {
  const controller = new AbortController();
  const status = await supervise(wait(eventSink(options), controller.signal), options, jobId, () => controller.abort());
  return status.result;
}

/** Waits for `job` on `client` with the caller's wait options; resolves with the result. */
function waitFor(client, job, options) {
  return supervised((emit, signal) => sharedWait(client, job, emit, signal), options, job.jobId);
}

/** One submitted job. `JSON.stringify(job)` is its resume token. */
export class Job {
  /** @internal */
  constructor(client, job) {
    jobs.set(this, { client, job });
  }

  /** The job id. */
  get id() {
    return jobs.get(this).job.jobId;
  }

  /** The id of the resource the command creates, if any. */
  get resourceId() {
    return jobs.get(this).job.resourceId;
  }

  /** The command that started the job (empty when unknown). */
  get command() {
    return jobs.get(this).job.command;
  }

  /** When the server accepted the submit (Unix ms); `undefined` when unknown. */
  get submittedAt() {
    return jobs.get(this).job.submittedAt;
  }

  /** Asks once for the job's status. */
  poll() {
    const { client, job } = jobs.get(this);
    return handled(client.poll(job.jobId).then(([status]) => status));
  }

  /** Waits until the job finishes; resolves with its result. */
  wait(options) {
    const { client, job } = jobs.get(this);
    return handled((async () => waitFor(client, job, waitOptions(options)))());
  }

  /** The resume token: `{ command, jobId, resourceId, submittedAt }` (`submittedAt` when known). */
  toJSON() {
    const { job } = jobs.get(this);
    const token = { command: job.command, jobId: job.jobId, resourceId: job.resourceId ?? null };
    if (job.submittedAt !== undefined) token.submittedAt = job.submittedAt;
    return token;
  }
}

/** A client of one endpoint. */
export class JobClient {
  /** `new JobClient(options)`; throws `TypeError` on bad options. */
  constructor(options) {
    const read = readOptions(options);
    clients.set(this, read.protocol === 'clm' ? new Clm(read) : new CloudStack(read));
  }

  /** Runs a synchronous command; resolves with the response object. */
  call(command, params) {
    const client = clients.get(this);
    return handled((async () => client.call(stringArg(command, 'command'), params))());
  }

  /** Submits an async command; resolves with a `Job` as soon as the server accepts it. */
  submit(command, params) {
    const client = clients.get(this);
    return handled((async () => new Job(client, await client.submit(stringArg(command, 'command'), params)))());
  }

  /** Submits an async command and waits for it; resolves with the job's result. */
  run(command, params, options) {
    const client = clients.get(this);
    return handled((async () => {
      const name = stringArg(command, 'command');
      const wait = waitOptions(options);
      // CLM holds the operation itself and polls only if a Task comes back.
      if (client instanceof Clm) return supervised((emit, signal) => client.run(name, params, emit, signal), wait, name);
      return waitFor(client, await client.submit(name, params), wait);
    })());
  }

  /** A `Job` for a job id obtained elsewhere; throws `TypeError` unless it is a non-empty string. */
  job(jobId) {
    const id = stringArg(jobId, 'jobId');
    if (!id) throw new TypeError('jobId must not be empty');
    return new Job(clients.get(this), { jobId: id, resourceId: undefined, command: '', submittedAt: undefined });
  }

  /**
   * Follows `jobs` (`Job`s or resume tokens) until all have finished: an async iterator of every
   * change, each finish exactly once. `{ onDelay, signal }`.
   */
  watch(jobs, options) {
    return watch(clients.get(this), ...watchArgs(jobs, options));
  }

  /** A `Job` from a resume token; throws `TypeError` for anything else. */
  resume(token) {
    return new Job(clients.get(this), readToken(token));
  }
}
