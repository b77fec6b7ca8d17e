// Imported by name, as an app would after `npm install jobwire`; Vite bundles the glue and
// emits the .wasm as an asset. Nothing to initialise: the import did it.
import * as jobwire from 'jobwire';
import { report, runJob } from '../shared/run-job.js';

report(async () => runJob(jobwire, location.search));
