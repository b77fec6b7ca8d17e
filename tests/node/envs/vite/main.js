// Imported by name, as an app would after `npm install jobwire`; Vite bundles the glue and
// emits the .wasm as an asset.
import init, * as jobwire from 'jobwire';
import { report, runJob } from '../shared/run-job.js';

report(async () => {
  await init();
  return runJob(jobwire, location.search);
});
