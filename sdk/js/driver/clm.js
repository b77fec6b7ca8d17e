// The BMC CLM client: token login, operations (`POST csm/{path}` with a `timeout`), task
// statuses (`GET csm/task/{id}/status`), objects (`GET csm/{path}`). URLs, bodies and answers
// are the wasm core's; operations are repeated only after refusals (429, 503): CLM has no
// idempotency key, and a second send after a lost answer could create a second object.

import { clmBase, clmBody, clmLoginBody, clmOperation, clmStatusUrl, readClm } from 'jobwire-core';
import { jobwireError } from 'jobwire-errors';
import { Client, held } from './client.js';
import { send } from './http.js';
import { sharedWait } from './wait.js';

/** What `readClm` reads an answer as. */
const READ = { login: 0, operation: 1, status: 2, objects: 3 };

/** How long `run` lets the server hold the operation (its `timeout`) before polling. */
const RUN_HOLD_SECS = 30;

const JSON_BODY = 'application/json;charset=UTF-8';

export class Clm extends Client {
  constructor(options) {
    super(options);
    this.base = clmBase(options.endpoint);
  }

  /**
   * One try of a request: `{ value: { read, held } }`, or a failure for `retrying` to judge
   * (`operation`: only refusals that say "later" are tried again).
   */
  async once(kind, { method = 'GET', url, body, holdSecs, token, operation, signal }) {
    const headers = { Accept: 'application/json' };
    if (token !== undefined) headers['Authentication-Token'] = token;
    if (body !== undefined) headers['Content-Type'] = JSON_BODY;
    if (holdSecs !== undefined && !operation) headers.Prefer = `wait=${holdSecs}`;
    const timeoutMs = this.options.requestTimeoutMs + (holdSecs ?? 0) * 1000;
    let response;
    try {
      response = await send(url, { method, headers, body, timeoutMs, signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      return { error, retry: !operation };
    }
    const get = (name) => response.headers.get(name) ?? undefined;
    const { status } = response;
    const [value, error, retry, after] = readClm(kind, status, get('content-type') ?? '', get('retry-after'), get('authentication-token'), response.body);
    if (value !== undefined) return { value: { read: [value, error, retry, after], held: held(response.headers) } };
    const later = status === 429 || status === 503;
    return { error, retry: retry && (!operation || later), after, expired: kind !== READ.login && status === 401 };
  }

  async loginOnce() {
    const url = clmOperation(this.base, 'login')[0];
    const outcome = await this.once(READ.login, { method: 'POST', url, body: clmLoginBody(this.options.username, this.options.password) });
    return outcome.error ? outcome : { value: outcome.value.read[0] };
  }

  /** Sends one authenticated request until it is answered: `{ read, held }`. */
  request(kind, call, { onDelay, signal } = {}) {
    return this.exchange((token) => this.once(kind, { ...call, token, signal }), { needsLogin: true, onDelay, signal });
  }

  /** Objects read with `GET csm/{path}`, as sent. */
  async call(path) {
    const [url] = clmOperation(this.base, path);
    return (await this.request(READ.objects, { url })).read[0];
  }

  /** Sends an operation with `timeout` = `holdSecs`; the handle of its task, or `{ objects }`. */
  async operation(path, params, holdSecs, onDelay) {
    const [url, fallback, resourceId] = clmOperation(this.base, path);
    const body = clmBody(params, holdSecs);
    const submittedAt = Date.now();
    const call = { method: 'POST', url, body, holdSecs, operation: true };
    const { read: [first, failure, jobId, command] } = await this.request(READ.operation, call, { onDelay });
    if (jobId === undefined) return { objects: first };
    return { job: { jobId, resourceId, command: command ?? fallback, submittedAt }, status: first, failure };
  }

  /** Starts an operation asynchronously (`timeout` 0): its task's handle. */
  async submit(path, params) {
    const answer = await this.operation(path, params, 0);
    if (answer.job) return answer.job;
    throw jobwireError('ProtocolError', 'unexpected response shape: the server answered an asynchronous operation (timeout 0) without a Task');
  }

  /**
   * Runs an operation, letting the server hold it `RUN_HOLD_SECS`: its objects when it finished
   * in that time (no status request at all), else its task followed to the end. `emit` hears
   * the events, `signal` stops the waiting.
   */
  async run(path, params, emit, signal) {
    const answer = await this.operation(path, params, RUN_HOLD_SECS, (delay) => emit({ delay }));
    if (!answer.job) return { result: answer.objects };
    emit({ status: answer.status });
    if (answer.failure) throw answer.failure;
    return answer.status.state === 'pending' ? sharedWait(this, answer.job, emit, signal) : answer.status;
  }

  /** One task status request, not shared (see `poll`). */
  async pollOnce(jobId, holdSecs, onDelay, signal) {
    const url = clmStatusUrl(this.base, jobId);
    const { read: [status, failure], held: wasHeld } = await this.request(READ.status, { url, holdSecs }, { onDelay, signal });
    return [status, wasHeld, failure];
  }
}
