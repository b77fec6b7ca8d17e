// A module Worker: no DOM, no window; the package's default entry fetches its .wasm next to
// its own URL when imported. The job's options come in this worker's URL.
import * as jobwire from '/pkg/index.js';
import { runJob } from '/shared/run-job.js';

try {
  const value = await runJob(jobwire, self.location.search);
  self.postMessage({ ok: true, value, inWorker: typeof window === 'undefined' });
} catch (err) {
  self.postMessage({ ok: false, error: `${err?.name}: ${err?.message}` });
}
