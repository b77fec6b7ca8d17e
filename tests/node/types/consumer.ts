// Compiled by the package tests with `tsc --noEmit`: the declarations a consumer sees.
import init, {
  initSync, Job, JobClient, JobFailedError, JobwireError, TransportError,
  type Delay, type DelayReason, type JobClientOptions, type JobStatus, type JsonValue, type ResumeToken, type StoppedWaiting,
} from 'jobwire';

import initManual, { JobClient as ManualJobClient } from 'jobwire/manual';

await init(); // a no-op after the initialising import, still typed
await initManual({ module_or_path: new URL('https://cdn.example/jobwire_bg.wasm') });
initSync; // exported for Workers that import the .wasm as a module
const sameClass: typeof JobClient = ManualJobClient;

const options: JobClientOptions = { endpoint: 'http://127.0.0.1:8080/client/api', response: 'json' };
const client = new JobClient(options);
const job: Job = await client.submit('deployVirtualMachine', { zoneid: 'z', cpunumber: 2, startvm: true });
const id: string = job.id;
const resourceId: string | undefined = job.resourceId;
let last: JobStatus | undefined;
const result: JsonValue = await job.wait((s: JobStatus) => { last = s; });
const state: 'pending' | 'succeeded' | 'failed' | 'cancelled' | undefined = last?.state;
const polled: JobStatus = await client.job(id).poll();
const zones: unknown = await client.call('listZones');
// A CLM operation's body is JSON, nested objects included.
const clm = new JobClient({ protocol: 'clm', endpoint: 'http://127.0.0.1:8080', username: 'u', password: 'p' });
await clm.submit('ComputeContainer', { name: 'web', serviceOffering: { guid: 'g' }, count: 2 });
// @ts-expect-error a CloudStack param or CLM body member cannot be a function
await client.submit('deployVirtualMachine', { zoneid: () => 'z' });
console.log(resourceId, state, polled.error?.code, zones, result, sameClass);

// @ts-expect-error the package reads JSON only
new JobClient({ endpoint: 'http://x/', response: 'xml' });
// @ts-expect-error endpoint is required
new JobClient({});

// Results and raw answers are JSON values, not `any`: narrowing is required.
// @ts-expect-error a JsonValue may be null or a string: no blind property access
polled.result.virtualmachine;
// @ts-expect-error wait() resolves with the result, not a status
(await job.wait()).state;
if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
  const vm: JsonValue = result.virtualmachine;
  console.log(vm);
}
const token: ResumeToken = job.toJSON();
client.resume(token);
client.watch([job, token]);
client.watch([job], { onDelay: (delay: Delay) => console.log(delay.delayMs, delay.reason, delay.retries) });
const reason: DelayReason = 'long-poll';
// @ts-expect-error reasons are a closed set of names
const notAReason: DelayReason = 'soon';
console.log(reason, notAReason);

// Errors are classes: instanceof narrows to their fields.
try {
  await job.wait({ timeoutMs: 1000, signal: AbortSignal.timeout(2000) });
} catch (err) {
  if (err instanceof JobFailedError) {
    const code: number = err.code;
    const cserrorcode: number | undefined = err.cserrorcode;
    const raw: JsonValue = err.raw;
    const name: 'JobFailedError' = err.name;
    console.log(code, cserrorcode, raw, name, err.jobId, err.errortext, err.message);
  } else if (err instanceof TransportError) {
    const status: number | undefined = err.status;
    console.log(status);
  } else if (err instanceof DOMException) {
    const stopped = err as StoppedWaiting;
    console.log(stopped.name, stopped.jobId);
  }
  const base: Error = new JobwireError('x');
  console.log(base);
}
