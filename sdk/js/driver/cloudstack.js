// The CloudStack client: requests signed and answers read by the wasm core, sent here — with the
// session (login, cookies, one re-login when it expires), retries, pacing after throttling,
// shared status requests and shared waits. The waiting itself is in wait.js.

import { CloudStackCore, commandParams, loginBody, readCloudStack } from 'jobwire-core';
import { CookieJar, send } from './http.js';
import { Flights, retrying, sleep } from './util.js';

/** What `readCloudStack` reads an answer as. */
export const READ = { object: 0, submit: 1, status: 2, list: 3, login: 4 };

/** A v4 UUID for `customjobid`, from the host's CSPRNG (`randomUUID` needs a secure context). */
function randomUuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class CloudStack {
  constructor(options) {
    this.options = options;
    this.core = new CloudStackCore(options.apiKey, options.secretKey, options.deadlineMs ?? -1, options.initialDelays);
    this.session = options.username !== undefined;
    this.jar = new CookieJar();
    /** The login in flight: concurrent calls wait for it instead of logging in too. */
    this.loggingIn = undefined;
    this.polls = new Flights();
    this.waits = new Flights();
  }

  /** POSTs a form body (arguments and signatures stay out of URLs and logs), paced after throttling. */
  async post(body, kind, holdSecs, signal) {
    const [slot, waitMs] = this.core.reserve();
    if (waitMs > 0) await sleep(waitMs, signal);
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (holdSecs !== undefined) headers.Prefer = `wait=${holdSecs}`;
    const timeoutMs = this.options.requestTimeoutMs + (holdSecs ?? 0) * 1000;
    const response = await send(this.options.endpoint, { method: 'POST', headers, body, timeoutMs, signal, jar: this.jar });
    const read = readCloudStack(kind, response.status, response.headers.get('content-type') ?? '', response.headers.get('retry-after') ?? undefined, response.body);
    this.core.answered(slot, response.status, read[3]);
    return { read, held: /wait/i.test(response.headers.get('preference-applied') ?? '') };
  }

  /**
   * One try of a request: `{ value: { read, held } }` (`read`: what `readCloudStack` gave), or a
   * failure for `retrying` to judge.
   */
  async once(kind, encode, holdSecs, signal) {
    try {
      const answer = await this.post(encode(), kind, holdSecs, signal);
      const [value, error, retry, after] = answer.read;
      return value === undefined ? { error, retry, after } : { value: answer };
    } catch (error) {
      if (signal?.aborted) throw error;
      return { error, retry: true };
    }
  }

  /** Logs in (one login at a time; refused credentials end it, anything else is retried). */
  login() {
    this.loggingIn ??= retrying(this.options.maxRetries, undefined, undefined, async () => {
      this.jar.clear();
      const { username, password, domain = '' } = this.options;
      const outcome = await this.once(READ.login, () => loginBody(username, password, domain));
      if (!outcome.error) this.core.sessionKey = outcome.value.read[0];
      return outcome;
    }).finally(() => { this.loggingIn = undefined; });
    return this.loggingIn;
  }

  /**
   * Sends `command` with `params` (`[name, value, …]`) until it is answered: signed afresh each
   * time, logged in first (and once more when the session expired), transient failures retried.
   * Resolves with `{ read, held }`: what `kind` read (`read[0]`; a status: `[status, failure]`),
   * whether the server held the request.
   */
  exchange(kind, command, params, { holdSecs, onDelay, signal } = {}) {
    let loggedInNow = false;
    return retrying(this.options.maxRetries, onDelay, signal, async () => {
      if (this.session && this.core.sessionKey === undefined) {
        // Not the caller's signal: the login is shared, and one caller stopping must not end it.
      await this.login();
        loggedInNow = true;
      }
      const keySent = this.core.sessionKey;
      const outcome = await this.once(kind, () => this.core.encode(command, params), holdSecs, signal);
      if (outcome.error?.name === 'ApiError' && outcome.error.code === 401 && this.session && !loggedInNow) {
        // The session expired: log in again, once. Only the key sent is dropped: a concurrent
        // call may have logged in anew already.
        if (this.core.sessionKey === keySent) this.core.sessionKey = undefined;
        return { again: true };
      }
      return outcome;
    });
  }

  /** A synchronous command's response object. */
  async call(command, params) {
    return (await this.exchange(READ.object, command, commandParams(params))).read[0];
  }

  /**
   * Submits an async command: `{ jobId, resourceId, submittedAt }`. Made safe to retry with
   * `customjobid`: when a lost answer's retry is refused because the id exists, the job the
   * first try created is adopted.
   */
  async submit(command, params) {
    const list = commandParams(params);
    const named = list.findIndex((name, i) => i % 2 === 0 && /^customjobid$/i.test(name));
    let customId = named < 0 ? undefined : list[named + 1];
    if (customId === undefined) list.push('customjobid', (customId = randomUuid()));
    let retried = false;
    try {
      const { read } = await this.exchange(READ.submit, command, list, { onDelay: () => { retried = true; } });
      const [jobId, resourceId] = read[0];
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
   * One status request, shared with an identical one in flight: `[status, held, failure]`
   * (`failure`: the JobFailedError of a failed job).
   */
  poll(jobId, { holdSecs, onDelay, signal } = {}) {
    const start = (flightSignal, emit) => this.exchange(READ.status, 'queryAsyncJobResult', ['jobid', jobId], {
      holdSecs,
      signal: flightSignal,
      onDelay: (delay) => emit(delay),
    }).then(({ read: [status, failure], held }) => [status, held, failure]);
    return this.polls.join(`${jobId}|${holdSecs ?? ''}`, start, onDelay, signal);
  }
}
