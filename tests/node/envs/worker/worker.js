// A module Worker: no DOM, no window; the package fetches its .wasm next to its own URL.
import init, * as jobwire from '/pkg/jobwire.js';
import { runJob } from '/shared/run-job.js';

self.onmessage = async ({ data: search }) => {
  try {
    await init();
    const value = await runJob(jobwire, search);
    self.postMessage({ ok: true, value, inWorker: typeof window === 'undefined' });
  } catch (err) {
    self.postMessage({ ok: false, error: `${err?.name}: ${err?.message}` });
  }
};
