// Hostile arguments to every method of the built package: each call returns, throws or
// rejects with an ordinary error; none traps the module (`WebAssembly.RuntimeError`), none
// escapes as an uncaught exception, and the module still works afterwards.
// Needs JOBWIRE_SERVER_BIN and JOBWIRE_DIST (./dev test sets them).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import init, { JobClient } from 'jobwire';
import { startServer } from '../e2e/server.mjs';

const apiKey = 'hostile-test-key';
const secretKey = 'hostile-test-secret';
const DEPLOY = {
  zoneid: 'a1f2c3d4-0000-4000-8000-000000000001',
  serviceofferingid: 'b1f2c3d4-0000-4000-8000-000000000001',
  templateid: 'c1f2c3d4-0000-4000-8000-000000000001',
};

let server;
before(async () => {
  server = await startServer({ jobDurationMs: 300, extraArgs: ['--demo-api-key', apiKey, '--demo-secret-key', secretKey] });
});
after(async () => {
  await server?.stop();
});

const boom = new Error('thrown by the caller');
const throwingProxy = () => new Proxy({}, { get() { throw boom; }, ownKeys() { throw boom; } });
const throwingArray = () => new Proxy([], { get() { throw boom; } });
const cycle = {};
cycle.self = cycle;

// Every kind of JS value, and objects whose reading runs caller code that throws.
const HOSTILE = [
  undefined, null, 0, -1, NaN, Infinity, 2 ** 53 + 2, 0.5, '', '\ud800', 'x'.repeat(100_000), true,
  {}, [], [[]], Symbol('s'), () => 1, 10n, cycle, new Map([['zoneid', {}]]), Object.create(null),
  { toString() { throw boom; }, valueOf() { throw boom; } },
  throwingProxy(), throwingArray(),
  { jobId: {} }, { jobId: 'j', submittedAt: -1 }, { timeoutMs: -5 }, { timeoutMs: NaN }, { signal: {} },
  { onProgress: 5 }, { initialDelayMs: throwingProxy() },
];

const describeValue = (value) => {
  try {
    return typeof value === 'symbol' || typeof value === 'bigint' ? typeof value : String(JSON.stringify(value)).slice(0, 30);
  } catch {
    return typeof value;
  }
};

/** Runs `call`; fails on a trap, a thrown non-error or an answer that is still pending after 2 s. */
async function probe(label, call) {
  let outcome;
  try {
    outcome = await Promise.race([
      Promise.resolve(call()).then(() => 'settled'),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 2000).unref()),
    ]);
  } catch (err) {
    assert.ok(!(err instanceof WebAssembly.RuntimeError), `${label}: the module trapped: ${err.message}`);
    assert.ok(err instanceof Error || err instanceof DOMException, `${label}: threw a non-error ${String(err)}`);
    outcome = err;
  }
  assert.notEqual(outcome, 'pending', `${label}: neither settled nor failed within 2 s`);
  return outcome;
}

test('hostile arguments never trap the module or escape uncaught; it works afterwards', { timeout: 120_000 }, async () => {
  const uncaught = [];
  const onUncaught = (err) => uncaught.push(String(err?.stack ?? err));
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  try {
    // An endpoint that refuses connections, no retries: whatever reaches the network fails at once.
    const dead = { endpoint: 'http://127.0.0.1:9/client/api', apiKey, secretKey, maxRetries: 0 };
    const client = new JobClient(dead);
    const clm = new JobClient({ protocol: 'clm', endpoint: 'http://127.0.0.1:9', username: 'u', password: 'p', maxRetries: 0 });
    const job = client.job('some-job');
    const optionKeys = ['protocol', 'endpoint', 'apiKey', 'username', 'domain', 'response', 'longPollSecs',
      'maxRetries', 'requestTimeoutMs', 'deadlineMs', 'initialDelayMs'];
    for (const value of HOSTILE) {
      const v = describeValue(value);
      await probe(`new JobClient(${v})`, () => new JobClient(value));
      for (const key of optionKeys) await probe(`new JobClient({ ${key}: ${v} })`, () => new JobClient({ ...dead, [key]: value }));
      for (const target of [client, clm]) {
        await probe(`submit(${v}, {})`, () => target.submit(value, {}));
        await probe(`submit('c', ${v})`, () => target.submit('deployVirtualMachine', value));
        await probe(`submit('c', { zoneid: ${v} })`, () => target.submit('deployVirtualMachine', { zoneid: value }));
        await probe(`call(${v}, ${v})`, () => target.call(value, value));
        await probe(`run(${v}, ${v}, ${v})`, () => target.run(value, value, value));
        await probe(`job(${v})`, () => target.job(value));
        await probe(`resume(${v})`, () => target.resume(value));
        await probe(`watch(${v}, ${v})`, () => target.watch(value, value));
        await probe(`watch([${v}])`, () => target.watch([value]));
      }
      await probe(`wait(${v})`, () => job.wait(value));
      await probe(`wait({ timeoutMs: ${v}, onProgress: ${v} })`, () => job.wait({ timeoutMs: value, onProgress: value }));
      await probe(`wait({ signal: ${v}, onDelay: ${v} })`, () => job.wait({ signal: value, onDelay: value }));
    }

    // Strings are checked, not trusted: a number where a command or job id belongs is a TypeError.
    await assert.rejects(client.submit(42, {}), { name: 'TypeError', message: /command must be a string/ });
    await assert.rejects(client.call({}), { name: 'TypeError', message: /command must be a string/ });
    await assert.rejects(clm.run(null, {}), { name: 'TypeError', message: /command must be a string/ });
    assert.throws(() => client.job(7), { name: 'TypeError', message: /jobId must be a string/ });
    assert.throws(() => client.job(''), { name: 'TypeError', message: /jobId must not be empty/ });
    // What the caller's own getters throw comes back unchanged, not as a missing field.
    assert.throws(() => new JobClient(throwingProxy()), (err) => err === boom);
    await assert.rejects(client.submit('deployVirtualMachine', throwingProxy()), (err) => err === boom);
    assert.throws(() => client.watch(throwingArray()), (err) => err === boom);
    assert.throws(() => client.watch([throwingProxy()]), (err) => err === boom);
    await assert.rejects(job.wait(throwingProxy()), (err) => err === boom);

    const live = new JobClient({ endpoint: `${server.url}/client/api`, apiKey, secretKey });
    const deployed = await live.submit('deployVirtualMachine', DEPLOY);
    const result = await deployed.wait({ timeoutMs: 30_000 });
    assert.equal(result.virtualmachine.id, deployed.resourceId);
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  assert.deepEqual(uncaught, []);
});

test('a wait limit beyond setTimeout\'s 24.8 days (or Infinity) is a long limit, not an instant timeout', async () => {
  const client = new JobClient({ endpoint: `${server.url}/client/api`, apiKey, secretKey });
  for (const timeoutMs of [2 ** 31, 2 ** 32, 1e300, Infinity]) {
    const job = await client.submit('deployVirtualMachine', DEPLOY);
    const result = await job.wait({ timeoutMs });
    assert.equal(result.virtualmachine.id, job.resourceId, `timeoutMs ${timeoutMs}`);
  }
});

test('waits that end leave nothing behind: no listener on a shared signal, no JS value held in the module', async () => {
  const { getEventListeners } = await import('node:events');
  const wasm = await init();
  const live = () => {
    const table = wasm.__wbindgen_externrefs;
    let count = 0;
    for (let i = 0; i < table.length; i++) if (table.get(i) !== undefined) count++;
    return count;
  };
  const client = new JobClient({ endpoint: `${server.url}/client/api`, apiKey, secretKey });
  const job = await client.submit('deployVirtualMachine', DEPLOY);
  await job.wait();
  // One controller for the page's life, given to every wait (as a dashboard does).
  const page = new AbortController();
  const before = live();
  // 20 rounds: a watch's first listing waits the policy's first delay (~0.5 s).
  for (let i = 0; i < 20; i++) {
    await job.wait({ signal: page.signal, timeoutMs: 600_000 });
    for await (const status of client.watch([job], { signal: page.signal })) assert.equal(status.state, 'succeeded');
  }
  assert.equal(getEventListeners(page.signal, 'abort').length, 0, 'abort listeners left on the signal');
  // Each unsettled promise a wait or watch left behind held ~3 JS values (its callbacks) for
  // good: ~180 here before.
  assert.ok(live() - before < 20, `${live() - before} more JS values held after 20 waits and watches`);
  // The signal still stops a wait.
  const pending = job.wait({ signal: page.signal });
  page.abort();
  await assert.rejects(pending, { name: 'AbortError' });
});
