// Resume tokens across a Node process restart: a first process submits jobs, writes their
// JSON resume tokens to a file and is SIGKILLed while it waits for them; a second process
// resumes them (client.resume(token).wait() and client.watch(tokens)) and sees each finish
// exactly once, in the state the server has. 20 % of the API requests meet injected faults
// (lost submit answers included: the first process's submits adopt their jobs by customjobid).
// Needs JOBWIRE_SERVER_BIN and JOBWIRE_DIST (./dev test sets them).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JobClient } from 'jobwire';
import { startServer } from '../e2e/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const JOBS = 12;
const apiKey = 'node-resume-test-key';
const secretKey = 'node-resume-test-secret';
const FAULTS = ['status502', 'status503', 'drop', 'drop_after', 'truncate', 'malformed'];

let server;
let options;
let dir;

before(async () => {
  server = await startServer({
    jobDurationMs: 1500,
    extraArgs: ['--demo-api-key', apiKey, '--demo-secret-key', secretKey, '--fault-rate', '0.2',
      ...FAULTS.flatMap((fault) => ['--fault', fault])],
  });
  options = { endpoint: `${server.url}/client/api`, apiKey, secretKey, maxRetries: 15 };
  dir = mkdtempSync(join(tmpdir(), 'jobwire-resume-'));
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs resume-child.mjs with `env`; resolves with its process and a stream of its stdout lines. */
function child(env) {
  const proc = spawn(process.execPath, [join(here, 'resume-child.mjs')], {
    cwd: here,
    env: { ...process.env, OPTIONS: JSON.stringify(options), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters = [];
  proc.stdout.on('data', (chunk) => {
    out += chunk;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const lineSeen = (text) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within 30 s: ${out}`)), 30000).unref();
    const check = () => (out.includes(text) ? (clearTimeout(timer), resolve()) : waiters.push(check));
    check();
    exited.then(({ code }) => { if (!out.includes(text)) { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)); } });
  });
  return { proc, exited, lineSeen, output: () => out };
}

test('a second Node process resumes the first one\'s jobs from their tokens; each finishes once', async () => {
  const tokensFile = join(dir, 'tokens.json');
  const first = child({ MODE: 'submit', JOBS: String(JOBS), TOKENS: tokensFile });
  await first.lineSeen('written');
  first.proc.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  assert.ok(!first.output().includes('finished before the kill'), 'killed while its jobs ran');

  const tokens = JSON.parse(readFileSync(tokensFile, 'utf8'));
  assert.equal(tokens.length, JOBS);
  assert.equal(new Set(tokens.map((t) => t.jobId)).size, JOBS, 'one job per submit');
  for (const token of tokens) {
    assert.deepEqual(Object.keys(token).sort(), ['command', 'jobId', 'resourceId', 'submittedAt']);
    assert.ok(token.submittedAt <= Date.now() && token.submittedAt > Date.now() - 60_000, String(token.submittedAt));
    assert.equal(token.command, 'deployVirtualMachine');
    assert.doesNotMatch(JSON.stringify(token), new RegExp(secretKey), 'no secret in a token');
  }

  const second = child({ MODE: 'resume', TOKENS: tokensFile });
  const { code } = await Promise.race([
    second.exited,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`resume did not end: ${second.output()}`)), 60000).unref()),
  ]);
  assert.equal(code, 0, second.output());
  const reports = second.output().trim().split('\n').map((line) => JSON.parse(line));
  const byJob = new Map();
  for (const r of reports) {
    assert.ok(!byJob.has(r.jobId), `${r.jobId} reported finished twice`);
    byJob.set(r.jobId, r);
  }
  assert.deepEqual([...byJob.keys()].sort(), tokens.map((t) => t.jobId).sort(), 'every job reported');
  assert.equal(reports.filter((r) => r.via === 'resume').length, JOBS / 2);

  // What the server says (through the SDK, whose retries absorb the faults).
  const listed = await new JobClient(options).call('listAsyncJobs', {});
  const server = new Map(listed.asyncjobs.map((j) => [j.jobid, j]));
  assert.equal(server.size, JOBS, 'no job submitted twice');
  tokens.forEach((token, i) => {
    const job = server.get(token.jobId);
    const want = i % 4 === 3 ? 'failed' : 'succeeded';
    assert.equal(byJob.get(token.jobId).state, want, `job ${i}`);
    assert.equal(job.jobstatus, want === 'succeeded' ? 1 : 2, `job ${i} on the server`);
    assert.equal(job.jobinstanceid, token.resourceId);
    if (want === 'succeeded') assert.equal(byJob.get(token.jobId).vm, token.resourceId);
  });
});
