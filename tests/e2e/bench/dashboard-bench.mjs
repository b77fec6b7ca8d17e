// Dashboard benchmark in headless Chromium (./dev bench): time to first render and p95 frame
// time while jobs update, for 100 and 10,000 jobs in the same run (the page's hidden ?bench=N
// mode fabricates the jobs, no server calls), and the download size (wasm + JS + CSS, gzipped).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchBrowser, startServer } from '../support.mjs';

const SIZES = [100, 10000];
const MEASURE_MS = 3000;

const server = await startServer();
const browser = await launchBrowser();
const rows = [];
try {
  for (const n of SIZES) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${server.url}/?bench=${n}`);
    await page.waitForFunction(() => window.__bench?.rendered > 0, null, { timeout: 60000 });
    const firstRender = await page.evaluate(() => window.__bench.rendered);
    const inDom = await page.locator('[data-testid=job-row]').count();
    const frames = await page.evaluate((ms) => new Promise((done) => {
      window.__benchUpdate = true;
      const deltas = [];
      let last = performance.now();
      const start = last;
      const tick = (now) => {
        deltas.push(now - last);
        last = now;
        if (now - start < ms) requestAnimationFrame(tick); else done(deltas);
      };
      requestAnimationFrame(tick);
    }), MEASURE_MS);
    frames.sort((a, b) => a - b);
    const p95 = frames[Math.min(frames.length - 1, Math.floor(frames.length * 0.95))];
    const p50 = frames[Math.floor(frames.length / 2)];
    rows.push({ jobs: n, firstRender, p50, p95, frames: frames.length, inDom });
    await page.close();
  }
} finally {
  await browser.close();
  await server.stop();
}

const dist = process.env.JOBWIRE_DIST;
const sizes = readdirSync(dist).filter((f) => /\.(wasm|js|css)$/.test(f)).map((f) => {
  const body = readFileSync(join(dist, f));
  return { file: f, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
});

const pad = (s, w) => String(s).padStart(w);
console.log('\ndashboard in headless Chromium (1280×720), jobs updating: a tenth of them every 16 ms');
console.log(`${pad('jobs', 6)} ${pad('first render ms', 16)} ${pad('p50 frame ms', 13)} ${pad('p95 frame ms', 13)} ${pad('frames', 7)} ${pad('rows in DOM', 12)}`);
for (const r of rows) {
  console.log(`${pad(r.jobs, 6)} ${pad(r.firstRender.toFixed(0), 16)} ${pad(r.p50.toFixed(1), 13)} ${pad(r.p95.toFixed(1), 13)} ${pad(r.frames, 7)} ${pad(r.inDom, 12)}`);
}
console.log('\ndownload size');
for (const s of sizes) console.log(`${s.file.padEnd(34)} ${pad(s.raw, 8)} B  ${pad(s.gzip, 8)} B gzipped`);
const total = sizes.reduce((a, s) => a + s.gzip, 0);
console.log(`${'total'.padEnd(34)} ${pad(sizes.reduce((a, s) => a + s.raw, 0), 8)} B  ${pad(total, 8)} B gzipped`);
