// The built npm package (pkg/, from `./dev package`) in Node.js ESM, imported as a consumer
// would (`import ... from 'jobwire'`, linked by the file: dependency), against the reference
// server. Needs JOBWIRE_SERVER_BIN and JOBWIRE_DIST (./dev test sets them).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import init, { ApiError, Job, JobClient, JobFailedError, JobwireError, TransportError } from 'jobwire';
import { startServer } from '../e2e/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = dirname(fileURLToPath(import.meta.resolve('jobwire/package.json')));
const run = promisify(execFile);

const ZONE = 'a1f2c3d4-0000-4000-8000-000000000001';
const SMALL = 'b1f2c3d4-0000-4000-8000-000000000001';
const HUGE = 'b1f2c3d4-0000-4000-8000-000000000003'; // exceeds every zone's capacity: 533
const TEMPLATE = 'c1f2c3d4-0000-4000-8000-000000000001';
const deploy = (serviceofferingid) => ({ zoneid: ZONE, serviceofferingid, templateid: TEMPLATE });
// The server's demo user; the SDK signs every request with it.
const apiKey = 'node-package-test-key';
const secretKey = 'node-package-test-secret';

let server;
let endpoint;
let options; // signed JobClient options for this server

before(async () => {
  server = await startServer({
    jobDurationMs: 1500,
    extraArgs: ['--demo-api-key', apiKey, '--demo-secret-key', secretKey],
  });
  endpoint = `${server.url}/client/api`;
  options = { endpoint, apiKey, secretKey };
  await init(); // already initialised by the Node entry: must be a harmless no-op
});

after(async () => {
  await server?.stop();
});

/** The `DelayReason` literals jobwire.d.ts declares. */
function declaredReasons() {
  const dts = readFileSync(join(pkgDir, 'jobwire.d.ts'), 'utf8');
  const union = dts.match(/export type DelayReason = ([^;]+);/)?.[1] ?? '';
  return [...union.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]);
}

describe('package layout', () => {
  test("'jobwire' resolves to the Node entry under Node", () => {
    assert.equal(fileURLToPath(import.meta.resolve('jobwire')), join(pkgDir, 'node.js'));
  });

  test('package.json is an ESM package with a node condition and shared types', () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    assert.equal(pkg.name, 'jobwire');
    assert.match(pkg.version, /^\d+\.\d+\.\d+/);
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.license, 'Apache-2.0');
    assert.deepEqual(pkg.exports['.'], { types: './jobwire.d.ts', node: './node.js', default: './index.js' });
    assert.deepEqual(pkg.exports['./manual'], { types: './jobwire.d.ts', default: './jobwire.js' });
    assert.deepEqual(pkg.sideEffects, ['./node.js', './index.js']);
    for (const file of [pkg.main, pkg.module, pkg.types, 'jobwire_bg.wasm', 'node.js', 'README.md']) {
      assert.ok(existsSync(join(pkgDir, file)), `${file} is in the package`);
      assert.ok(pkg.files.includes(file.replace('./', '')), `${file} is listed in files`);
    }
  });

  test('the TypeScript declarations declare JobClient and Job', () => {
    const dts = readFileSync(join(pkgDir, 'jobwire.d.ts'), 'utf8');
    assert.match(dts, /export class JobClient \{/);
    assert.match(dts, /export class Job \{/);
    // Params are optional (CLM reads and many CloudStack commands take none) and take CLM's JSON bodies.
    assert.match(dts, /submit\(command: string, params\?: CommandParams\): Promise<Job>;/);
    assert.match(dts, /call\(command: string, params\?: CommandParams\): Promise<JsonValue>;/);
    assert.match(dts, /wait\(options\?: WaitOptions \| \(\(status: JobStatus\) => void\)\): Promise<JsonValue>;/);
    assert.match(dts, /watch\(jobs: Array<Job \| ResumeToken>, options\?: WatchOptions\): AsyncIterableIterator<JobStatus>;/);
    assert.match(dts, /export interface WaitOptions \{/);
    assert.match(dts, /export class JobFailedError extends JobwireError \{/);
    // Everything public is typed: `any` appears only in wasm-bindgen's internal InitOutput.
    const publicPart = dts.slice(0, dts.indexOf('export interface InitOutput'));
    assert.doesNotMatch(publicPart, /[:<|(,]\s*any\b/);
    assert.match(dts, /export default function __wbg_init/);
  });

  test('a TypeScript consumer type-checks against the package (tsc --noEmit)', async (t) => {
    const tsc = join(here, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tsc)) return t.skip('typescript not installed (npm ci in tests/node)');
    await run(process.execPath, [tsc, '--noEmit', '-p', here], { cwd: here }).catch((err) => {
      assert.fail(`tsc --noEmit failed:\n${err.stdout}${err.stderr}`);
    });
  });
});

describe('JobClient against the reference server', () => {
  test('submit gives id and resourceId at once; wait resolves with the created VM', async () => {
    // Plain polling (no `Prefer: wait` long-poll, which would report only the final status), so
    // onProgress sees the pending states. Older SDKs ignore the unknown option.
    const client = new JobClient({ ...options, longPollSecs: 0 });
    const job = await client.submit('deployVirtualMachine', deploy(SMALL));
    assert.ok(job instanceof Job);
    assert.match(job.id, /^[0-9a-f-]{36}$/);
    assert.match(job.resourceId, /^[0-9a-f-]{36}$/);
    const seen = [];
    const result = await job.wait((s) => seen.push(s));
    // wait() resolves with the job's result; onProgress saw the statuses, the last one final.
    assert.equal(result.virtualmachine.id, job.resourceId);
    assert.deepEqual(seen.at(-1).result, result);
    assert.equal(seen.at(-1).jobId, job.id);
    assert.ok(seen.length >= 2, `onProgress called for every poll (${seen.length})`);
    assert.equal(seen[0].state, 'pending', 'the first poll comes before the 1.5 s job ends');
    assert.ok(seen.filter((s) => s.state === 'pending').every((s) => s.jobId === job.id && s.result == null));
    assert.equal(seen.at(-1).state, 'succeeded');
  });

  test('two waits of one job at once poll it once (counted by the server)', async () => {
    const statusRequests = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith('jobwire_http_requests_total{command="queryAsyncJobResult"'))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };
    const client = new JobClient({ ...options, longPollSecs: 0 });
    const job = await client.submit('deployVirtualMachine', deploy(SMALL));
    const before = await statusRequests();
    const first = [];
    const second = [];
    const [a, b] = await Promise.all([job.wait((s) => first.push(s)), job.wait((s) => second.push(s))]);
    assert.equal(a.virtualmachine.id, job.resourceId);
    assert.deepEqual(b, a);
    assert.deepEqual(first.map((s) => s.state), second.map((s) => s.state), 'both see every status');
    assert.equal((await statusRequests()) - before, first.length, 'one status request per status, not two');
  });

  test('waits of different jobs share listAsyncJobs listings when the server does not hold requests', async () => {
    const requests = async (command) => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith(`jobwire_http_requests_total{command="${command}"`))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };
    const client = new JobClient({ ...options, longPollSecs: 0 });
    const jobs = await Promise.all(Array.from({ length: 6 }, () => client.submit('deployVirtualMachine', deploy(SMALL))));
    const before = [await requests('queryAsyncJobResult'), await requests('listAsyncJobs')];
    const statuses = jobs.map(() => []);
    const results = await Promise.all(jobs.map((job, i) => job.wait((s) => statuses[i].push(s))));
    results.forEach((result, i) => assert.equal(result.virtualmachine.id, jobs[i].resourceId));
    statuses.forEach((seen, i) => assert.ok(seen.every((s) => s.jobId === jobs[i].id) && seen.at(-1).state === 'succeeded'));
    const [queries, listings] = [(await requests('queryAsyncJobResult')) - before[0], (await requests('listAsyncJobs')) - before[1]];
    // Alone, each wait polls its job at least twice (pending at the first poll, then done).
    assert.ok(listings >= 1, `no listing shared (${queries} status requests)`);
    assert.ok(queries + listings < jobs.length * 2, `${queries} status requests and ${listings} listings for ${jobs.length} jobs`);
  });

  test('JSON.stringify(job) is a resume token; client.job(id) resumes it', async () => {
    const client = new JobClient(options);
    const before = Date.now();
    const job = await client.submit('deployVirtualMachine', deploy(SMALL));
    const after = Date.now();
    assert.ok(job.submittedAt >= before - 1 && job.submittedAt <= after + 1, `${before} ${job.submittedAt} ${after}`);
    const token = JSON.parse(JSON.stringify(job));
    assert.deepEqual(token, {
      jobId: job.id, resourceId: job.resourceId, command: 'deployVirtualMachine', submittedAt: job.submittedAt,
    });
    // The submit's time survives resuming; a job known by its id alone has none.
    assert.equal(client.resume(token).submittedAt, job.submittedAt);
    assert.equal(client.resume({ jobId: job.id }).submittedAt, undefined);
    for (const submittedAt of ['yesterday', -1, 1.5, 2 ** 60]) {
      assert.throws(() => client.resume({ ...token, submittedAt }), { name: 'TypeError', message: /submittedAt/ });
    }
    const resumed = client.job(token.jobId);
    assert.equal(resumed.id, job.id);
    assert.equal(resumed.submittedAt, undefined);
    assert.equal((await resumed.poll()).state, 'pending');
    const result = await resumed.wait();
    assert.equal(result.virtualmachine.id, token.resourceId);
  });

  test('a resumed job counts from its submit, also one from before this process started', async () => {
    const client = new JobClient({ ...options, longPollSecs: 0, initialDelayMs: { deployVirtualMachine: 60_000 } });
    const job = await client.submit('deployVirtualMachine', deploy(SMALL));
    // As if submitted an hour ago in another page or process: its initial delay is long over.
    const token = { ...JSON.parse(JSON.stringify(job)), submittedAt: job.submittedAt - 3_600_000 };
    const resumed = client.resume(token);
    assert.equal(resumed.submittedAt, token.submittedAt);
    // A wait's first delay is all that matters here: each wait stops there (the job is followed
    // on below, by the handle from the submit).
    const firstDelay = async (handle) => {
      const controller = new AbortController();
      let first;
      const onDelay = (delay) => { first ??= delay; controller.abort(); };
      await assert.rejects(handle.wait({ signal: controller.signal, onDelay }), { name: 'AbortError' });
      return first;
    };
    const old = await firstDelay(resumed);
    assert.equal(old.reason, 'initial-delay', JSON.stringify(old));
    assert.ok(old.delayMs < 1_000, JSON.stringify(old));
    // A token from half a minute ago: the other half of the 60 s.
    const recent = await firstDelay(client.resume({ ...token, submittedAt: job.submittedAt - 30_000 }));
    assert.ok(recent.delayMs > 25_000 && recent.delayMs <= 30_000, JSON.stringify(recent));
    assert.equal((await job.wait()).virtualmachine.id, job.resourceId);
  });

  test('a failed job rejects with JobFailedError 533', async () => {
    const client = new JobClient(options);
    const job = await client.submit('deployVirtualMachine', deploy(HUGE));
    await assert.rejects(job.wait(), (err) => {
      assert.ok(err instanceof JobFailedError && err instanceof JobwireError && err instanceof Error);
      assert.equal(err.name, 'JobFailedError');
      assert.equal(err.code, 533);
      assert.equal(err.jobId, job.id);
      assert.match(err.errortext, /insufficient capacity/);
      assert.match(err.message, new RegExp(`job ${job.id} failed: .*insufficient capacity`));
      // The whole final status as the server sent it.
      assert.equal(err.raw.jobid, job.id);
      assert.equal(err.raw.jobstatus, 2);
      assert.equal(err.raw.jobresult.errorcode, 533);
      return true;
    });
  });

  test('a wait the caller stops rejects with DOMException TimeoutError / AbortError; the job runs on', async () => {
    const client = new JobClient(options);
    const job = await client.submit('deployVirtualMachine', deploy(SMALL));
    const stopped = (name, jobId) => (err) => {
      assert.ok(err instanceof DOMException, `${err}`);
      assert.ok(!(err instanceof JobwireError));
      assert.equal(err.name, name);
      assert.equal(err.jobId, jobId);
      return true;
    };
    await assert.rejects(job.wait({ timeoutMs: 50 }), stopped('TimeoutError', job.id));
    // AbortSignal.abort() gives the platform's own AbortError as its reason: passed on untouched.
    await assert.rejects(job.wait({ signal: AbortSignal.abort() }), stopped('AbortError', undefined));
    const short = new JobClient({ ...options, deadlineMs: 50 });
    await assert.rejects(short.job(job.id).wait(), stopped('TimeoutError', job.id));
    // A signal's own reason is what the wait rejects with, as with fetch().
    const reason = new Error('user went away');
    await assert.rejects(job.wait({ signal: AbortSignal.abort(reason) }), (err) => err === reason);
    assert.equal((await job.wait()).virtualmachine.id, job.resourceId);
  });

  test('an unknown command rejects with ApiError 432', async () => {
    const client = new JobClient(options);
    await assert.rejects(client.submit('frobnicate', {}), (err) => {
      assert.ok(err instanceof ApiError && err instanceof JobwireError);
      assert.equal(err.name, 'ApiError');
      assert.equal(err.code, 432);
      assert.match(err.errortext, /frobnicate/);
      return true;
    });
  });

  test('call runs a synchronous command; the package reads JSON and refuses XML at once', async () => {
    const zones = await new JobClient({ ...options, response: 'json' }).call('listZones', {});
    assert.ok(zones.zone.some((z) => z.id === ZONE), JSON.stringify(zones));
    assert.throws(() => new JobClient({ ...options, response: 'xml' }), { name: 'TypeError', message: /JSON only/ });
  });

  test('unsigned or wrongly signed requests reject with ApiError 401', async () => {
    for (const bad of [{ endpoint }, { endpoint, apiKey, secretKey: 'not-the-secret' }]) {
      await assert.rejects(new JobClient(bad).call('listZones'), { name: 'ApiError', code: 401 });
    }
  });

  test('an unreachable endpoint rejects with TransportError', async () => {
    const stopped = await startServer({ jobDurationMs: 0 });
    await stopped.stop();
    const client = new JobClient({ endpoint: `${stopped.url}/client/api` });
    await assert.rejects(client.call('listZones'), (err) => err instanceof TransportError && err.name === 'TransportError');
  });

  test('a server that never answers rejects with TransportError after requestTimeoutMs, each retry given up as fast', async () => {
    // Accepts connections and never answers: a hung backend, a black-holed proxy.
    const held = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const client = new JobClient({ endpoint: `http://127.0.0.1:${silent.address().port}/client/api`, requestTimeoutMs: 200, maxRetries: 2 });
      const started = Date.now();
      await assert.rejects(client.call('listZones'), (err) => err instanceof TransportError && /timed? ?out/i.test(err.message));
      assert.equal(held.length, 3, 'the first try and two retries');
      assert.ok(Date.now() - started < 5000, `gave up after ${Date.now() - started} ms`);
    } finally {
      held.forEach((socket) => socket.destroy());
      silent.close();
    }
  });

  test('aborting a wait closes the request it has in flight at once', async () => {
    // Holds every request unanswered; `asked` has the sockets a request arrived on.
    const held = [];
    const asked = [];
    const silent = createServer((socket) => {
      held.push(socket);
      socket.once('data', () => asked.push(socket));
    });
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const client = new JobClient({ endpoint: `http://127.0.0.1:${silent.address().port}/client/api`, requestTimeoutMs: 20_000 });
      const controller = new AbortController();
      const waiting = client.job('job-1').wait({ signal: controller.signal });
      for (let i = 0; i < 200 && asked.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(asked.length, 1, 'the first poll went out');
      const closed = new Promise((resolve) => asked[0].once('close', () => resolve('closed')));
      controller.abort();
      await assert.rejects(waiting, { name: 'AbortError' });
      // Not left open for the 20 s the request may otherwise take.
      const outcome = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 2000))]);
      assert.equal(outcome, 'closed');
    } finally {
      held.forEach((socket) => socket.destroy());
      silent.close();
    }
  });

  test('bad constructor options throw TypeError', () => {
    for (const bad of [undefined, {}, { endpoint: 42 }, { endpoint, response: 'yaml' }, { endpoint, requestTimeoutMs: -1 },
      { endpoint, apiKey: 'only-the-key' }, { endpoint: 'not a url' }]) {
      assert.throws(() => new JobClient(bad), TypeError, JSON.stringify(bad));
    }
  });

  // The package is built with `-Zfmt-debug=none`: a message that showed its value with `{:?}`
  // would show nothing there. These name what was wrong.
  test('error messages quote the value that was refused', async () => {
    const refused = [
      [{ endpoint, response: 'yaml' }, 'got "yaml"'],
      [{ endpoint: 'not a url' }, 'got "not a url"'],
      [{ protocol: 'soap', endpoint }, 'got "soap"'],
      [{ protocol: 'clm', endpoint: 'ftp://h/', username: 'u', password: 'p' }, 'got "ftp://h/"'],
    ];
    for (const [bad, quoted] of refused) {
      assert.throws(() => new JobClient(bad), (err) => err instanceof TypeError && err.message.includes(quoted), JSON.stringify(bad));
    }
    await assert.rejects(new JobClient(options).call('listZones', { zoneid: {} }),
      (err) => err instanceof TypeError && err.message.includes('param "zoneid"'));
  });
});

/** Runs `script` as an ES module in a fresh Node process, where 'jobwire' is installed, with `env` added. */
function runModule(script, env) {
  return run(process.execPath, ['--input-type=module', '-e', script], { cwd: here, env: { ...process.env, ...env } });
}

test('promises the caller ignores never become unhandled rejections; awaited ones still reject', async () => {
  // In a child process: an unhandled rejection would be counted there (not crash this runner).
  const script = `
    import { JobClient } from 'jobwire';
    const unhandled = [];
    process.on('unhandledRejection', (reason) => unhandled.push(String(reason?.name ?? reason)));
    const options = JSON.parse(process.env.OPTIONS);
    const client = new JobClient(options);
    const failing = await client.submit('deployVirtualMachine', JSON.parse(process.env.HUGE_DEPLOY));
    // Each of these rejects; none is awaited or given a handler.
    failing.wait();
    failing.wait({ onProgress() {} });
    client.submit('frobnicate', {});
    client.run('frobnicate', {});
    client.call('frobnicate', {});
    client.job('no-such-job').poll();
    (await client.submit('deployVirtualMachine', JSON.parse(process.env.HUGE_DEPLOY))).wait({ timeoutMs: 1 });
    failing.wait({ signal: AbortSignal.abort() });
    new JobClient({ endpoint: 'http://127.0.0.1:9/client/api', maxRetries: 0 }).call('listZones');
    // Awaited, the same calls still reject.
    const awaited = await failing.wait().then(() => 'resolved', (err) => err.name);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    console.log(JSON.stringify({ unhandled, awaited }));`;
  const { stdout } = await runModule(script, { OPTIONS: JSON.stringify(options), HUGE_DEPLOY: JSON.stringify(deploy(HUGE)) });
  const outcome = JSON.parse(stdout.trim().split('\n').at(-1));
  assert.deepEqual(outcome, { unhandled: [], awaited: 'JobFailedError' });
});

test('the manual entry (jobwire/manual) initialises from bytes in a fresh process, as in Workers', async () => {
  const script = `
    import { readFileSync } from 'node:fs';
    import init, { JobClient } from 'jobwire/manual';
    await init({ module_or_path: readFileSync(new URL('jobwire_bg.wasm', ${JSON.stringify(pathToFileURL(pkgDir + '/').href)})) });
    const zones = await new JobClient(JSON.parse(process.env.OPTIONS)).call('listZones');
    console.log(zones.count);`;
  const { stdout } = await runModule(script, { OPTIONS: JSON.stringify(options) });
  assert.equal(Number(stdout.trim()) > 0, true, stdout);
});

describe('watching many jobs', () => {
  test('for await … of client.watch(jobs) yields each finish once, then ends; jobs stay usable', async () => {
    const client = new JobClient(options);
    const jobs = await Promise.all([
      client.submit('deployVirtualMachine', deploy(SMALL)),
      client.submit('deployVirtualMachine', deploy(SMALL)),
      client.submit('deployVirtualMachine', deploy(HUGE)),
    ]);
    const finished = new Map();
    const delays = [];
    for await (const update of client.watch(jobs, { onDelay: (delay) => delays.push(delay) })) {
      if (update.state !== 'pending') {
        assert.ok(!finished.has(update.jobId), `${update.jobId} reported finished twice`);
        finished.set(update.jobId, update.state);
      }
    }
    assert.deepEqual([...finished.keys()].sort(), jobs.map((j) => j.id).sort());
    assert.equal(finished.get(jobs[2].id), 'failed');
    assert.equal(finished.get(jobs[0].id), 'succeeded');
    // The handles were not consumed by watch.
    assert.equal((await jobs[0].poll()).state, 'succeeded');
    // Every delay before a listing was reported; once the first listing read the jobs' progress
    // (a third of the way through 1.5 s jobs), the next waited for the earliest possible finish.
    assert.ok(delays.length >= 2, JSON.stringify(delays));
    assert.ok(delays.every((d) => d.delayMs >= 0 && declaredReasons().includes(d.reason) && d.retries === 0), JSON.stringify(delays));
    assert.equal(delays[0].reason, 'first-poll');
    // The jobs' submits are known (Job objects carry submittedAt), so the first listing's
    // progress already places the second listing at the earliest possible finish.
    assert.equal(delays[1].reason, 'eta', JSON.stringify(delays));
  });

  test('an AbortSignal ends a watch: the iterator rejects with the reason; the jobs run on', async () => {
    const client = new JobClient(options);
    const job = await client.submit('deployVirtualMachine', deploy(SMALL));
    const controller = new AbortController();
    const reason = new Error('the page went away');
    const seen = [];
    await assert.rejects(async () => {
      for await (const update of client.watch([job], { signal: controller.signal })) {
        seen.push(update.state);
        controller.abort(reason);
      }
    }, (err) => err === reason);
    assert.deepEqual(seen, ['pending']);
    // Already aborted: the first next() rejects, with an AbortError when the signal has no reason.
    const iterator = client.watch([job], { signal: AbortSignal.abort() });
    await assert.rejects(iterator.next(), { name: 'AbortError' });
    assert.throws(() => client.watch([job], { signal: 'soon' }), TypeError);
    assert.equal((await job.wait()).virtualmachine.id, job.resourceId);
  });

  test('next() called again before the last one settled: each call gets its own update', { timeout: 30_000 }, async () => {
    const client = new JobClient(options);
    const jobs = await Promise.all([SMALL, SMALL].map((offering) => client.submit('deployVirtualMachine', deploy(offering))));
    const iterator = client.watch(jobs);
    // Three calls at once, none lost (each settles), each with a different update.
    const first = await Promise.all([1, 2, 3].map(() => iterator.next()));
    assert.ok(first.every((r) => r.done === false), JSON.stringify(first));
    const seen = first.map((r) => `${r.value.jobId} ${r.value.state} ${r.value.progress}`);
    assert.equal(new Set(seen).size, 3, JSON.stringify(seen));
    const finished = first.filter((r) => r.value.state !== 'pending').map((r) => r.value.jobId);
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      if (r.value.state !== 'pending') finished.push(r.value.jobId);
    }
    assert.deepEqual(finished.sort(), jobs.map((j) => j.id).sort());
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  test('breaking out of the loop stops watching', async () => {
    const client = new JobClient(options);
    const job = await client.submit('deployVirtualMachine', deploy(SMALL));
    for await (const update of client.watch([JSON.parse(JSON.stringify(job))])) {
      assert.equal(update.jobId, job.id);
      break;
    }
    assert.throws(() => client.watch('nope'), TypeError);
    assert.throws(() => client.watch([{}]), TypeError);
    assert.throws(() => client.watch([], { onDelay: 'not a function' }), TypeError);
    assert.throws(() => client.watch([], 42), TypeError);
  });
});

describe('BMC CLM through the same JobClient', () => {
  const clm = () => new JobClient({ protocol: 'clm', endpoint: server.url, username: 'demo', password: 'demo-password' });

  test('run() lets the server hold the operation and resolves with the created server', async () => {
    const result = await clm().run('ComputeContainer', { name: 'node-clm-1' });
    const container = result[0];
    assert.equal(container.cloudClass, 'com.bmc.cloud.model.beans.ComputeContainer');
    assert.equal(container.name, 'node-clm-1');
  });

  test('submit() answers a task at once; wait() follows it to the end', async () => {
    const job = await clm().submit('ComputeContainer', { name: 'node-clm-2' });
    assert.ok(job.id, 'taskInternalUUID');
    const seen = [];
    const result = await job.wait({ onProgress: (s) => seen.push(s.state) });
    assert.equal(result[0].name, 'node-clm-2');
    assert.equal(seen.at(-1), 'succeeded');
  });

  test('a wrong password and a bad body are typed errors', async () => {
    const refused = new JobClient({ protocol: 'clm', endpoint: server.url, username: 'demo', password: 'wrong' });
    await assert.rejects(refused.submit('ComputeContainer', {}), (e) => e.name === 'LoginError' && e.code === 401);
    await assert.rejects(clm().submit('ComputeContainer', 'not an object'), TypeError);
    assert.throws(() => new JobClient({ protocol: 'clm', endpoint: server.url, apiKey: 'k', secretKey: 's' }), TypeError);
  });
});
