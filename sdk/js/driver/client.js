// What the CloudStack and CLM clients share: the engine (schedule, learned durations, pacing),
// the login (one at a time, its credential kept), requests retried with one re-login when the
// credential expired, and status requests and waits shared by their concurrent callers.

import { readCloudStack } from 'jobwire-core';
import { Engine } from '../engine/index.js';
import { Flights, retrying } from './util.js';

export class Client {
  constructor(options) {
    this.options = options;
    this.engine = new Engine(options.deadlineMs ?? -1, options.initialDelays, { readCloudStack });
    /** The session key (CloudStack) or token (CLM), once logged in. */
    this.credential = undefined;
    /** The login in flight: concurrent calls wait for it instead of logging in too. */
    this.loggingIn = undefined;
    this.polls = new Flights();
    this.waits = new Flights();
  }

  /**
   * Logs in (`loginOnce()` until it gives the credential; refused credentials end it). Not
   * under any caller's signal: the login is shared, and one caller stopping must not end it.
   */
  login() {
    this.loggingIn ??= retrying(this.options.maxRetries, undefined, undefined, () => this.loginOnce())
      .then((credential) => { this.credential = credential; })
      .finally(() => { this.loggingIn = undefined; });
    return this.loggingIn;
  }

  /**
   * Tries `tryOnce(credential)` until it gives a value (see `retrying`): logged in first when
   * `needsLogin` and there is no credential; an answer that says the credential expired
   * (`{ expired: true }`) logs in again, once.
   */
  exchange(tryOnce, { needsLogin, onDelay, signal }) {
    let loggedInNow = false;
    return retrying(this.options.maxRetries, onDelay, signal, async () => {
      if (needsLogin && this.credential === undefined) {
        await this.login();
        loggedInNow = true;
      }
      const sent = this.credential;
      const outcome = await tryOnce(sent);
      if (!outcome.expired) return outcome;
      if (!needsLogin || loggedInNow) return { error: outcome.error };
      // Only the credential sent is dropped: a concurrent call may have logged in anew already.
      if (this.credential === sent) this.credential = undefined;
      return { again: true };
    });
  }

  /**
   * One status request, shared with an identical one in flight: `[status, held, failure]`
   * (`held`: the server held it as asked; `failure`: the JobFailedError of a failed job).
   */
  poll(jobId, { holdSecs, onDelay, signal } = {}) {
    const start = (flightSignal, emit) => this.pollOnce(jobId, holdSecs, (delay) => emit(delay), flightSignal);
    return this.polls.join(`${jobId}|${holdSecs ?? ''}`, start, onDelay, signal);
  }
}

/** Whether the server held a request as `Prefer: wait` asked (RFC 7240 `Preference-Applied`). */
export function held(headers) {
  return /wait/i.test(headers.get('preference-applied') ?? '');
}
