// Compiled by the package tests with `tsc --noEmit`: the declarations a consumer sees.
import init, { initSync, Job, JobClient, type JobClientOptions, type JobStatus } from 'jobwire';

await init();
initSync; // exported for Workers that import the .wasm as a module

const options: JobClientOptions = { endpoint: 'http://127.0.0.1:8080/client/api', response: 'xml' };
const client = new JobClient(options);
const job: Job = await client.submit('deployVirtualMachine', { zoneid: 'z', cpunumber: 2, startvm: true });
const id: string = job.id;
const resourceId: string | undefined = job.resourceId;
const status: JobStatus = await job.wait((s: JobStatus) => console.log(s.state, s.progress));
const state: 'pending' | 'succeeded' | 'failed' | 'cancelled' = status.state;
const polled: JobStatus = await client.job(id).poll();
const zones: unknown = await client.call('listZones', undefined);
console.log(resourceId, state, polled.error?.code, zones);

// @ts-expect-error response is 'json' or 'xml'
new JobClient({ endpoint: 'http://x/', response: 'yaml' });
// @ts-expect-error endpoint is required
new JobClient({});
