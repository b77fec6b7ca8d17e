// ./dev bench (per-job section): the npm package itself (pkg/, the JavaScript driver over the wasm
// core) waiting for jobs of the reference server, as a JavaScript app would. `jobwire-bench`
// starts this with the server's address and reads one JSON line back: the requests sent (every
// `fetch` the package made) and when each job's promise resolved (Unix ms, fractional), which it
// sets against the server's own finish times.
//
// With JOBWIRE_WAY=watch it follows the CloudStack jobs of JOBWIRE_JOBS_FILE (resume tokens, JSON)
// with one `client.watch(jobs)` and reports every terminal status it saw and when, and when each
// request went out.
//
// Env: JOBWIRE_PKG (the package's directory), JOBWIRE_WAY (`long-poll`, `backoff`: CloudStack
// `wait()` with or without `Prefer: wait`; `clm-run`: CLM `run()`; `watch`), JOBWIRE_API (…/client/api),
// JOBWIRE_BASE (the CLM root), JOBWIRE_API_KEY, JOBWIRE_SECRET_KEY, JOBWIRE_USERNAME,
// JOBWIRE_PASSWORD, JOBWIRE_JOBS (count), JOBWIRE_SPACING_MS (between submits), JOBWIRE_DEPLOY
// (query string of the deploy parameters).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`package.mjs: ${name} is not set`);
  return value;
};
const way = env('JOBWIRE_WAY');
const now = () => performance.timeOrigin + performance.now();

// Every request the package sends goes through the global fetch.
let requests = 0;
const requestTimes = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => {
  requests += 1;
  requestTimes.push(now());
  return realFetch(...args);
};
const { JobClient } = await import(pathToFileURL(join(env('JOBWIRE_PKG'), 'node.js')).href);

if (way === 'watch') {
  const client = new JobClient({ endpoint: env('JOBWIRE_API'), apiKey: env('JOBWIRE_API_KEY'), secretKey: env('JOBWIRE_SECRET_KEY') });
  const reports = [];
  for await (const status of client.watch(JSON.parse(readFileSync(env('JOBWIRE_JOBS_FILE'), 'utf8')))) {
    if (status.state !== 'pending') reports.push({ jobId: status.jobId, state: status.state, atMs: now() });
  }
  // Written out before exiting: a pipe takes a long line in several writes.
  await new Promise((resolve) => process.stdout.write(`${JSON.stringify({ requests, requestTimes, reports })}\n`, resolve));
  process.exit(0);
}

const jobs = Number(env('JOBWIRE_JOBS'));
const spacingMs = Number(env('JOBWIRE_SPACING_MS'));
let follow;
if (way === 'clm-run') {
  const client = new JobClient({ protocol: 'clm', endpoint: env('JOBWIRE_BASE'), username: env('JOBWIRE_USERNAME'), password: env('JOBWIRE_PASSWORD') });
  follow = async (i) => {
    // The task's id when the operation came back as a Task; else the object it created.
    let taskId;
    const result = await client.run('ComputeContainer', { name: `bench-${i}` }, { onProgress: (status) => { taskId = status.jobId || taskId; } });
    const resolvedAtMs = now();
    return { jobId: taskId ?? result?.[0]?.guid, resolvedAtMs };
  };
} else {
  const longPollSecs = way === 'long-poll' ? 20 : 0;
  const client = new JobClient({ endpoint: env('JOBWIRE_API'), apiKey: env('JOBWIRE_API_KEY'), secretKey: env('JOBWIRE_SECRET_KEY'), longPollSecs });
  const params = Object.fromEntries(new URLSearchParams(env('JOBWIRE_DEPLOY')));
  follow = async () => {
    const job = await client.submit('deployVirtualMachine', params);
    await job.wait();
    return { jobId: job.id, resolvedAtMs: now() };
  };
}

const settled = await Promise.allSettled(
  Array.from({ length: jobs }, async (_, i) => {
    await new Promise((resolve) => setTimeout(resolve, i * spacingMs));
    return follow(i);
  }),
);
const done = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
const failures = settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason?.message ?? s.reason));
process.stdout.write(`${JSON.stringify({ requests, jobs: done, failures })}\n`);
