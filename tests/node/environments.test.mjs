// The built package where JavaScript apps run it, in headless Chromium against the reference
// server on another origin (CORS): a plain `<script type="module">` page that imports the files
// as served, a module Web Worker, and an app bundled by Vite (`import ... from 'jobwire'`).
// Node 20 ESM is package.test.mjs. Needs JOBWIRE_SERVER_BIN and JOBWIRE_DIST (./dev test sets them).
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { launchBrowser, watchErrors } from '../e2e/support.mjs';
import { startServer } from '../e2e/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const envs = join(here, 'envs');
const pkgDir = dirname(fileURLToPath(import.meta.resolve('jobwire/package.json')));
const viteOut = mkdtempSync(join(tmpdir(), 'jobwire-vite-'));
const apiKey = 'environments-test-key';
const secretKey = 'environments-test-secret';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

let api;
let site;
let browser;
let query;

/** Serves `/pkg/` (the package as built), the env pages and the Vite output from one origin. */
function startSite() {
  const roots = { pkg: pkgDir, shared: join(envs, 'shared'), plain: join(envs, 'plain'), worker: join(envs, 'worker'), vite: viteOut };
  const served = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [, top, ...rest] = path.split('/');
    const root = roots[top];
    let file = root && normalize(join(root, ...rest));
    if (file && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file || !file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    served.push(path);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    origin: `http://127.0.0.1:${server.address().port}`,
    served,
    stop: () => new Promise((done) => server.close(done)),
  })));
}

before(async () => {
  await build({
    root: join(envs, 'vite'),
    base: '/vite/',
    logLevel: 'warn',
    build: { outDir: viteOut, emptyOutDir: true },
  });
  api = await startServer({ jobDurationMs: 1200, extraArgs: ['--demo-api-key', apiKey, '--demo-secret-key', secretKey] });
  site = await startSite();
  browser = await launchBrowser();
  query = new URLSearchParams({
    endpoint: `${api.url}/client/api`,
    apiKey,
    secretKey,
    zoneid: 'a1f2c3d4-0000-4000-8000-000000000001',
    serviceofferingid: 'b1f2c3d4-0000-4000-8000-000000000001',
    templateid: 'c1f2c3d4-0000-4000-8000-000000000001',
  }).toString();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await api?.stop();
  rmSync(viteOut, { recursive: true, force: true });
});

/** Opens `path`, waits for the page's outcome and checks the job it ran. */
async function runIn(path) {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  try {
    await page.goto(`${site.origin}${path}?${query}`);
    await page.waitForFunction(() => document.body?.dataset.outcome, null, { timeout: 60000 });
    const outcome = JSON.parse(await page.evaluate(() => document.body.dataset.outcome));
    assert.equal(outcome.ok, true, outcome.error);
    const run = outcome.value;
    assert.match(run.jobId, /^[0-9a-f-]{36}$/);
    assert.equal(run.vmId, run.resourceId, 'the result is the VM the submit named');
    assert.equal(run.states[0], 'pending', 'progress reported the pending job');
    assert.equal(run.states.at(-1), 'succeeded');
    assert.equal(run.abortedWait, 'AbortError');
    assert.equal(run.refused, 'ApiError true 432');
    assert.equal(typeof run.submittedAt, 'number');
    assert.deepEqual(run.token,
      { jobId: run.jobId, resourceId: run.resourceId, command: 'deployVirtualMachine', submittedAt: run.submittedAt });
    // The refused `frobnicate` is the one failed request the browser may log.
    assert.deepEqual(errors.filter((e) => !/status of 432\b/.test(e)), []);
    return run;
  } finally {
    await page.close();
  }
}

test('a plain <script type="module"> page imports the package files as served', async () => {
  await runIn('/plain/');
  assert.ok(site.served.includes('/pkg/jobwire_bg.wasm'), 'init() fetched the .wasm next to the glue');
});

test('a module Web Worker runs jobs with the package', async () => {
  const run = await runIn('/worker/');
  assert.equal(run.inWorker, true, 'the job ran where there is no window');
});

test('an app bundled by Vite imports it as `jobwire`', async () => {
  const before = site.served.length;
  await runIn('/vite/');
  const fetched = site.served.slice(before);
  assert.ok(fetched.some((p) => /^\/vite\/assets\/.*\.wasm$/.test(p)), `Vite emitted and loaded the .wasm: ${fetched}`);
  assert.ok(!fetched.some((p) => p.startsWith('/pkg/')), 'the bundle needs nothing outside its own output');
});
