// The signal of one fetch: aborted when its time is up (a `TimeoutError`, which the fetch and the
// body's read reject with), or when Rust drops the request (`cancel`: a wait that stopped leaves
// no request open, e.g. a long-poll holding one of the six connections a browser opens per
// HTTP/1.1 host). Here rather than in Rust: a timer that aborts a controller is two lines in
// JavaScript, ~1 KB gzipped of futures and closures in wasm.

/** `ms`: the longest the request may take; a negative value sets no limit. */
export function requestSignal(ms) {
  const controller = new AbortController();
  const timer = ms >= 0
    // setTimeout fires at once beyond 2^31 - 1 ms (24.8 days): such a limit is none.
    ? setTimeout(() => controller.abort(new DOMException(`no answer: timed out after ${ms} ms`, 'TimeoutError')), Math.min(ms, 2 ** 31 - 1))
    : undefined;
  return {
    signal: controller.signal,
    // After the answer was read this changes nothing but the timer.
    cancel() {
      clearTimeout(timer);
      controller.abort();
    },
  };
}
