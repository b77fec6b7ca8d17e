// The async iterator `client.watch()` returns. The Rust task following the jobs pushes every
// status and then ends (or fails) the stream; `next()` hands the statuses out in order, or waits
// for the next one. Written in JavaScript because the iterator protocol (`next`, `return`,
// `Symbol.asyncIterator`, a promise per call) is the host's own: here it is a few lines, in wasm
// it was ~5 KB of closures and their glue.

const DONE = Object.freeze({ value: undefined, done: true });

/** Called from Rust: a new stream; `stopped` resolves when the caller breaks out of the loop. */
export function watchStream() {
  const queue = [];
  const waiting = []; // the settle functions of next() calls that found the queue empty, in order
  let ended = false;
  let failed = false;
  let failure;
  let stop;
  const stopped = new Promise((resolve) => { stop = resolve; });

  const settle = (resolve, reject) => {
    if (queue.length > 0) {
      resolve({ value: queue.shift(), done: false });
    } else if (failed) {
      // Rejected once; the stream is over after that.
      failed = false;
      reject(failure);
    } else if (ended) {
      resolve(DONE);
    } else {
      waiting.push({ resolve, reject });
    }
  };
  const wake = () => {
    for (const { resolve, reject } of waiting.splice(0)) settle(resolve, reject);
  };

  const iterator = {
    next() {
      const promise = new Promise(settle);
      // Handled: a caller that drops the iterator never meets an unhandled rejection; one that
      // awaits `next()` still gets it.
      promise.catch(() => {});
      return promise;
    },
    return() {
      stop();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  return {
    iterator,
    stopped,
    push(value) {
      queue.push(value);
      wake();
    },
    // Over either way: `stopped` settles too, so the Rust side's future on it frees its
    // callbacks (a promise that never settles would keep them for the life of the page).
    end() {
      ended = true;
      stop();
      wake();
    },
    fail(error) {
      ended = failed = true;
      failure = error;
      stop();
      wake();
    },
  };
}
