// The CloudStack client: requests signed and answers read by the wasm core, sent here as form
// POSTs — with the session (login, cookies), pacing after throttling, and `customjobid` making
// submits safe to retry. Waiting is in wait.js, what both protocols share in client.js.

import { csEncode, csLoginBody, readCloudStack } from 'jobwire-core';
import { Listing } from '../engine/index.js';
import { commandParams } from './options.js';
import { Client, held } from './client.js';
import { CookieJar, send } from './http.js';
import { Sweeps } from './sweep.js';
import { Flights, sleep } from './util.js';

/** What `readCloudStack` reads an answer as. */
const READ = { object: 0, submit: 1, status: 2, list: 3, login: 4 };

/** A v4 UUID for `customjobid`, from the host's CSPRNG (`randomUUID` needs a secure context). */
function randomUuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class CloudStack extends Client {
  constructor(options) {
    super(options);
    this.session = options.username !== undefined;
    this.jar = new CookieJar();
    /** Waits of different jobs sharing listings (see sweep.js), and the listings in flight by start. */
    this.sweeps = new Sweeps();
    this.listings = new Flights();
  }

  /**
   * One try: POSTs a form body (arguments and signatures stay out of URLs and logs), paced after
   * throttling; `{ value: { read, held } }` (`read`: what `readCloudStack` gave), or a failure
   * for `retrying` to judge.
   */
  async once(kind, body, holdSecs, signal) {
    // `kind`: what `readCloudStack` reads the answer as, or a reader of its own (a watch's).
    const read = typeof kind === 'function' ? kind : (...answer) => readCloudStack(kind, ...answer);
    try {
      const [slot, waitMs] = this.engine.reserve(performance.now());
      if (waitMs > 0) await sleep(waitMs, signal);
      const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
      if (holdSecs !== undefined) headers.Prefer = `wait=${holdSecs}`;
      const timeoutMs = this.options.requestTimeoutMs + (holdSecs ?? 0) * 1000;
      const response = await send(this.options.endpoint, { method: 'POST', headers, body, timeoutMs, signal, jar: this.jar });
      const get = (name) => response.headers.get(name) ?? undefined;
      const answer = read(response.status, get('content-type') ?? '', get('retry-after'), response.body);
      this.engine.answered(performance.now(), slot, response.status, answer[3]);
      const [value, error, retry, after] = answer;
      if (value !== undefined) return { value: { read: answer, held: held(response.headers) } };
      return { error, retry, after, expired: this.session && error.name === 'ApiError' && error.code === 401 };
    } catch (error) {
      if (signal?.aborted) throw error;
      return { error, retry: true };
    }
  }

  async loginOnce() {
    this.jar.clear();
    const { username, password, domain = '' } = this.options;
    const outcome = await this.once(READ.login, csLoginBody(username, password, domain));
    return outcome.error ? outcome : { value: outcome.value.read[0] };
  }

  /**
   * Sends `command` with `params` (`[name, value, …]`) until it is answered, signed afresh each
   * time. Resolves with `{ read, held }`: what `kind` read (`read[0]`; a status:
   * `[status, failure]`), whether the server held the request.
   */
  request(kind, command, params, { holdSecs, onDelay, signal } = {}) {
    const { apiKey, secretKey } = this.options;
    const tryOnce = (sessionKey) => this.once(kind, csEncode(command, params, apiKey, secretKey, sessionKey), holdSecs, signal);
    return this.exchange(tryOnce, { needsLogin: this.session, onDelay, signal });
  }

  /** A synchronous command's response object. */
  async call(command, params) {
    return (await this.request(READ.object, command, commandParams(params))).read[0];
  }

  /**
   * Submits an async command: `{ jobId, resourceId, command, submittedAt }`. Made safe to retry
   * with `customjobid`: when a lost answer's retry is refused because the id exists, the job
   * the first try created is adopted.
   */
  async submit(command, params) {
    const list = commandParams(params);
    const named = list.findIndex((name, i) => i % 2 === 0 && /^customjobid$/i.test(name));
    let customId = named < 0 ? undefined : list[named + 1];
    if (customId === undefined) list.push('customjobid', (customId = randomUuid()));
    let retried = false;
    try {
      const { read: [jobId, resourceId] } = await this.request(READ.submit, command, list, { onDelay: () => { retried = true; } });
      return { jobId, resourceId, command, submittedAt: Date.now() };
    } catch (error) {
      if (!(retried && error?.name === 'ApiError' && error.code === 431 && /customjobid/i.test(error.errortext))) throw error;
      // An earlier try got through: adopt its job.
      const [status] = await this.poll(customId);
      const resourceId = typeof status.raw?.jobinstanceid === 'string' ? status.raw.jobinstanceid : undefined;
      return { jobId: status.jobId, resourceId, command, submittedAt: Date.now() };
    }
  }

  /**
   * The jobs created since `sinceSecs` (all when `undefined`), at once or by pages: the
   * `Listing` (its `statuses` and `failures`).
   */
  async listJobs(sinceSecs, signal) {
    const listing = new Listing(this.engine, sinceSecs);
    for (let params = listing.params(false); ; params = listing.params(true)) {
      const { read: [more] } = await this.request((...answer) => listing.read(...answer), 'listAsyncJobs', params, { signal });
      if (!more) return listing;
    }
  }

  /**
   * `jobId`'s `[status, failure]` from a `listAsyncJobs` shared with the other waiting jobs,
   * which get theirs from it too, when others wait (see sweep.js); `undefined`: poll the job
   * alone (also when the listing failed or did not show it).
   */
  async pollByListing(jobId, signal) {
    const since = this.sweeps.listingSince(jobId);
    if (since === undefined) return undefined;
    let listing;
    try {
      // Polls that come due while a listing is out share it.
      listing = await this.listings.join(String(since.secs), (flightSignal) => this.listJobs(since.secs, flightSignal), undefined, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      return undefined;
    }
    const entries = listing.statuses.map((status, i) => [status, listing.failures[i]]);
    this.sweeps.deliver(entries, jobId, since);
    const own = entries.find(([status]) => status.jobId === jobId);
    if (own === undefined) this.sweeps.notShown(jobId, since);
    return own;
  }

  /** One `queryAsyncJobResult`, not shared (see `poll`). */
  async pollOnce(jobId, holdSecs, onDelay, signal) {
    const { read: [status, failure], held: wasHeld } = await this.request(READ.status, 'queryAsyncJobResult', ['jobid', jobId], { holdSecs, onDelay, signal });
    return [status, wasHeld, failure];
  }
}
