// ./dev bench (per-job section): @azure/core-lro's poller, with its defaults, waiting for
// CloudStack jobs of the reference server — what a JavaScript app would write with the peer
// package. `jobwire-bench` starts this with the server's address and reads one JSON line back:
// the requests sent and when each job's poller resolved (Unix ms, fractional), which it sets
// against the server's own finish times.
//
// core-lro speaks Azure's protocol, so a thin adapter translates: the submit answers 202 with an
// `operation-location` naming the job, each poll is a freshly signed `queryAsyncJobResult`
// whose `jobstatus` becomes core-lro's `status`. Nothing else is configured: the default
// interval (2 s) and core-lro's own `Retry-After` handling decide when to poll.
//
// Env: JOBWIRE_API (…/client/api), JOBWIRE_API_KEY, JOBWIRE_SECRET_KEY, JOBWIRE_JOBS (count),
// JOBWIRE_SPACING_MS (between submits), JOBWIRE_DEPLOY (query string of the deploy parameters).
import { createHmac } from 'node:crypto';
import { createHttpPoller } from '@azure/core-lro';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`corelro.mjs: ${name} is not set`);
  return value;
};
const api = env('JOBWIRE_API');
const apiKey = env('JOBWIRE_API_KEY');
const secretKey = env('JOBWIRE_SECRET_KEY');
const jobs = Number(env('JOBWIRE_JOBS'));
const spacingMs = Number(env('JOBWIRE_SPACING_MS'));
const deployParams = Object.fromEntries(new URLSearchParams(env('JOBWIRE_DEPLOY')));

// CloudStack's signature: names sorted, values encoded as Java's URLEncoder (+ → %20), the whole
// string lower-cased, HMAC-SHA1, Base64.
const javaEncode = (value) =>
  encodeURIComponent(value).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
function signedUrl(params) {
  const all = { ...params, apiKey, response: 'json' };
  const query = Object.keys(all).sort().map((name) => `${name}=${javaEncode(String(all[name]))}`).join('&');
  const signature = createHmac('sha1', secretKey).update(query.toLowerCase()).digest('base64');
  return `${api}?${query}&signature=${encodeURIComponent(signature)}`;
}

let requests = 0;
async function send(method, params) {
  requests += 1;
  const url = signedUrl(params);
  const response = await fetch(url, { method });
  const headers = {};
  response.headers.forEach((value, name) => { headers[name.toLowerCase()] = value; });
  return { statusCode: response.status, headers, body: await response.json(), request: { method, url } };
}

const statusOf = { 0: 'Running', 1: 'Succeeded', 2: 'Failed' };

async function deployAndWait() {
  let jobId;
  const poller = createHttpPoller(
    {
      async sendInitialRequest() {
        const raw = await send('POST', { command: 'deployVirtualMachine', ...deployParams });
        jobId = raw.body.deployvirtualmachineresponse?.jobid;
        if (!jobId) throw new Error(`deploy refused: ${JSON.stringify(raw.body)}`);
        const operation = `${api}?command=queryAsyncJobResult&jobid=${encodeURIComponent(jobId)}`;
        const rawResponse = { ...raw, statusCode: 202, headers: { ...raw.headers, 'operation-location': operation } };
        return { flatResponse: raw.body, rawResponse };
      },
      async sendPollRequest(path) {
        const id = new URL(path).searchParams.get('jobid');
        const raw = await send('GET', { command: 'queryAsyncJobResult', jobid: id });
        const job = raw.body.queryasyncjobresultresponse ?? {};
        const body = { status: statusOf[job.jobstatus] ?? 'Running', result: job.jobresult };
        if (job.jobstatus === 2) body.error = { code: String(job.jobresultcode), message: JSON.stringify(job.jobresult) };
        return { flatResponse: body, rawResponse: { ...raw, body } };
      },
    },
    { skipFinalGet: true },
  );
  await poller;
  return { jobId, resolvedAtMs: performance.timeOrigin + performance.now() };
}

const settled = await Promise.allSettled(
  Array.from({ length: jobs }, async (_, i) => {
    await new Promise((resolve) => setTimeout(resolve, i * spacingMs));
    return deployAndWait();
  }),
);
const done = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
const failures = settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason?.message ?? s.reason));
process.stdout.write(`${JSON.stringify({ requests, jobs: done, failures })}\n`);
