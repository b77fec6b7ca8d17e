// One HTTP exchange with the platform's fetch: a time limit, the caller's signal, the body read
// with a size cap, and the cookies Node's fetch does not keep (browsers keep them and hide them).

import { networkError } from './util.js';

/** Answers above this many bytes are refused (protocol::MAX_BODY_BYTES): read one more to tell. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Sends one request; resolves with `{ status, headers, body }` (body: bytes, at most one past the
 * limit). Rejects with a TransportError (`network error: …`) when no answer came within
 * `timeoutMs`, or none at all, or with `signal`'s reason when it aborted.
 */
export async function send(url, { method = 'GET', headers = {}, body, timeoutMs, signal, jar }) {
  const controller = new AbortController();
  const abort = () => controller.abort(signal.reason);
  signal?.addEventListener('abort', abort, { once: true });
  const timer = timeoutMs === undefined ? undefined
    : setTimeout(() => controller.abort(new DOMException(`no answer: timed out after ${timeoutMs} ms`, 'TimeoutError')), Math.min(timeoutMs, 2 ** 31 - 1));
  try {
    const cookie = jar?.header();
    if (cookie) headers = { ...headers, Cookie: cookie };
    const response = await fetch(url, { method, headers, body, credentials: 'include', signal: controller.signal });
    jar?.absorb(response.headers);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body: bytes.length > MAX_BODY_BYTES ? bytes.subarray(0, MAX_BODY_BYTES + 1) : bytes };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw networkError(controller.signal.aborted ? controller.signal.reason : error);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
    // A request that ended any other way leaves no connection open.
    controller.abort();
  }
}

/** CloudStack's session cookies, for hosts whose fetch shows `Set-Cookie` (Node) and keeps none. */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }

  /** Takes every `Set-Cookie`: new values kept, expired ones (`Max-Age=0`, empty) dropped. */
  absorb(headers) {
    for (const line of headers.getSetCookie?.() ?? []) {
      const [pair, ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      if (at < 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      this.cookies.delete(name);
      const expired = !value || attributes.some((a) => /^\s*max-age\s*=\s*[0-]/i.test(a));
      if (!expired) this.cookies.set(name, value);
    }
  }

  /** The `Cookie` header, if any cookie is kept. */
  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') || undefined;
  }

  clear() {
    this.cookies.clear();
  }
}
