// The package's public types besides its classes, for both builds: package.sh adds them to
// jobwire.d.ts (sdk/js/driver/api.d.ts declares the package's classes; wasm-bindgen those of the
// Rust-client build, JOBWIRE_RUST_API=1).
/** Any value JSON can carry: what servers send in results and raw answers. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };
/** `JSON.stringify(job)`: enough to follow the job again later, in another page or process. */
export interface ResumeToken {
  jobId: string;
  resourceId?: string | null;
  command?: string;
  /** When the submit was accepted (Unix ms): a resumed wait or watch counts from there. */
  submittedAt?: number;
}

/** Base class of every error jobwire itself reports (stopped waits are `DOMException`s). */
export class JobwireError extends Error {}
/** The job ran and ended in failure or was cancelled; the job itself is finished. */
export class JobFailedError extends JobwireError {
  readonly name: 'JobFailedError';
  jobId: string;
  /** `jobresultcode`/`errorcode` (CloudStack), the error code (CLM). */
  code: number;
  /** CloudStack's `cserrorcode`, when sent. */
  cserrorcode?: number;
  /** The server's reason, as `message` without the job id. */
  errortext: string;
  /** The whole final status as the server sent it. */
  raw: JsonValue;
}
/** The server refused the request (CloudStack `errorcode`/`errortext`). */
export class ApiError extends JobwireError {
  readonly name: 'ApiError';
  code: number;
  cserrorcode?: number;
  errortext: string;
}
/** The server refused the login. */
export class LoginError extends JobwireError {
  readonly name: 'LoginError';
  code: number;
  cserrorcode?: number;
  errortext: string;
}
/** The request did not complete (network, CORS, an HTTP status without a protocol body) after the retries. */
export class TransportError extends JobwireError {
  readonly name: 'TransportError';
  /** The HTTP status, when there was an answer. */
  status?: number;
}
/** The server answered something that is not a valid protocol message. */
export class ProtocolError extends JobwireError {
  readonly name: 'ProtocolError';
}
/**
 * Rejections of `wait()`/`run()` when the caller stopped waiting: a `DOMException` named
 * `AbortError` (the signal aborted without a reason) or `TimeoutError` (`timeoutMs`, or the
 * client's `deadlineMs`), with the `jobId`. The job may still run; the handle stays usable.
 */
export interface StoppedWaiting extends DOMException {
  readonly name: 'AbortError' | 'TimeoutError';
  jobId: string;
}

export interface JobClientOptions {
  /** "cloudstack" (default) or "clm" (BMC Cloud Lifecycle Management: username and password). */
  protocol?: 'cloudstack' | 'clm';
  /** CloudStack: the API URL, e.g. "http://localhost:8080/client/api"; CLM: the base URL, e.g. "http://localhost:8080". */
  endpoint: string;
  /** API-key signing: both or neither. */
  apiKey?: string;
  secretKey?: string;
  /** Session login (CloudStack `login`): username and password, optional domain path. */
  username?: string;
  password?: string;
  domain?: string;
  /** Ask the server to hold status requests up to this many seconds (RFC 7240 `Prefer: wait`); 0 turns it off. Default 20. */
  longPollSecs?: number;
  /** Transient failures (network, 429, 502/503/504, damaged bodies) retried in a row. Default 10. */
  maxRetries?: number;
  /** Overall wait deadline in ms (default 30 minutes). */
  deadlineMs?: number;
  /** How long (ms) an answer may take beyond the time the server was asked to hold the request (`longPollSecs`, CLM's sync `timeout`); a request unanswered by then fails as a network error and is retried like one. Default 30000. */
  requestTimeoutMs?: number;
  /** CloudStack: a fixed delay (ms) between submit and the first poll, per command, e.g. `{ deployVirtualMachine: 30000 }`; without it the first poll is placed by the durations of earlier jobs of the command. */
  initialDelayMs?: Record<string, number>;
  /** CloudStack's response format: "json", the default and the only one this package reads (it leaves the XML reader out for size; every CloudStack command answers in JSON). */
  response?: 'json';
}
export interface JobStatus {
  jobId: string;
  state: 'pending' | 'succeeded' | 'failed' | 'cancelled';
  progress: number | null;
  resultCode: number | null;
  /** On success: CloudStack's `jobresult` (e.g. `{ virtualmachine: {...} }`), CLM's task results. */
  result: JsonValue;
  error: { code: number; csErrorCode: number | null; text: string } | null;
  command: string | null;
  created: string | null;
  completed: string | null;
  /** The whole status object as the server sent it. */
  raw: JsonValue;
  /** Milliseconds since the wait started (statuses passed to onProgress). */
  elapsedMs?: number;
  /** Estimated milliseconds to completion, from the progress so far (onProgress). */
  etaMs?: number | null;
}
export interface WaitOptions {
  /** Stop waiting when this signal aborts (rejects with its reason, or an AbortError). */
  signal?: AbortSignal;
  /** Stop waiting after this many milliseconds (rejects with a TimeoutError). */
  timeoutMs?: number;
  /** Every status seen; progress never goes down. */
  onProgress?: (status: JobStatus) => void;
  /** Every delay the client chose, and why. */
  onDelay?: (delay: Delay) => void;
}
/** Why the client waits before its next request (see `Delay`). */
export type DelayReason = 'first-poll' | 'initial-delay' | 'learned-duration' | 'expected-window' | 'eta' | 'backoff' | 'retry-after' | 'retry' | 'long-poll';
/** A command's arguments: CloudStack's `{ name: value }` (numbers and booleans are sent as text; `null` and `undefined` members are left out), or a CLM operation's JSON body. */
export type CommandParams = { [name: string]: string | number | boolean | null | undefined } | JsonObject;
/** A delay the client chose before its next request, and why: first-poll, initial-delay (initialDelayMs), learned-duration, expected-window (polls closer together where jobs of the command usually finish), eta (the finish estimated from the job's progress; for a watch, the earliest any of its jobs can finish), backoff, retry-after, retry, long-poll. */
export interface Delay {
  delayMs: number;
  reason: DelayReason;
  /** Transient failures in a row before this delay. */
  retries: number;
}
export interface WatchOptions {
  /** Every delay the watch chose (before each listing, before each retry), and why. */
  onDelay?: (delay: Delay) => void;
  /** Stop watching when this signal aborts: the iterator then rejects with the signal's reason, or an AbortError (jobId "batch"); the jobs run on. */
  signal?: AbortSignal;
}
