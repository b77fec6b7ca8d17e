// The error classes jobwire rejects with, so callers can write `err instanceof JobFailedError`
// (re-exported from the package's entry). Written in JavaScript because a wasm-bindgen type
// cannot extend `Error`; the Rust side only picks the class and sets the details.

/** Base class of every error jobwire itself reports. */
export class JobwireError extends Error {}

/** The job ran and ended in failure (or was cancelled): the job itself is finished. */
export class JobFailedError extends JobwireError {}

/** The server refused the request (CloudStack `errorcode`/`errortext`). */
export class ApiError extends JobwireError {}

/** The server refused the login. */
export class LoginError extends JobwireError {}

/** The request did not complete: network, CORS, an HTTP status without a protocol body. */
export class TransportError extends JobwireError {}

/** The server answered something that is not a valid protocol message. */
export class ProtocolError extends JobwireError {}

const CLASSES = { JobFailedError, ApiError, LoginError, TransportError, ProtocolError };

// `name` on the prototype, as the built-in errors have it: `err.name` tells the kind, and a
// minifier renaming the classes cannot change it.
for (const [name, Class] of Object.entries(CLASSES)) {
  Object.defineProperty(Class.prototype, 'name', { value: name, writable: true, configurable: true });
}
Object.defineProperty(JobwireError.prototype, 'name', { value: 'JobwireError', writable: true, configurable: true });

/** Called from Rust: a new error of the class called `name`. */
export function jobwireError(name, message) {
  return new (CLASSES[name] ?? JobwireError)(message);
}

/**
 * Called from Rust: the standard error for "the caller stopped waiting" (`AbortError`,
 * `TimeoutError`), a `DOMException` as `fetch` and `AbortSignal.timeout()` give.
 */
export function stoppedWaiting(name, message) {
  return new DOMException(message, name);
}
