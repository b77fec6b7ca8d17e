// The JavaScript engine (sdk/js/engine/) against the Rust engine it is the twin of: the same
// scenarios, replayed on both with the same clock readings and jitter, must give the same
// decisions at every step. The Rust engine runs from the wasm core built with feature
// `js-engine` (`JOBWIRE_ORACLE=1 scripts/package.sh DIR`; ./dev test builds it and sets
// JOBWIRE_ORACLE=DIR). Scenarios are random but seeded: a failure names its seed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cloudstackDate, formatCloudstackDate } from '../date.js';
import { Engine } from '../index.js';

const oracleDir = process.env.JOBWIRE_ORACLE;
let rust;

before(async () => {
  assert.ok(oracleDir, 'JOBWIRE_ORACLE: the directory of the wasm core built with feature js-engine');
  rust = await import(pathToFileURL(join(oracleDir, 'jobwire.js')).href);
  rust.initSync({ module: readFileSync(join(oracleDir, 'jobwire_bg.wasm')) });
});

/** mulberry32: a small seeded generator, so a failing scenario can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (list) => list[next.int(list.length)];
  next.chance = (p) => next() < p;
  return next;
}

/**
 * Equal decisions: times within 50 µs. Rust rounds durations to whole nanoseconds where JS keeps
 * float milliseconds, so slot times drift apart by about a microsecond per learned spacing.
 */
function same(js, rs, where) {
  const close = (a, b) => Math.abs(a - b) <= 0.05;
  const walk = (a, b, path) => {
    // Rust's `Vec<f64>` arrives as a Float64Array.
    if (ArrayBuffer.isView(b)) b = Array.from(b);
    if (typeof b === 'number' && typeof a === 'number') {
      if (!(close(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) assert.fail(`${where}${path}: JS ${a} ≠ Rust ${b}`);
    } else if (Array.isArray(b)) {
      assert.ok(Array.isArray(a), `${where}${path}: JS ${JSON.stringify(a)} is no array (Rust ${JSON.stringify(b)})`);
      assert.equal(a.length, b.length, `${where}${path}: JS ${JSON.stringify(a)} ≠ Rust ${JSON.stringify(b)}`);
      b.forEach((item, i) => walk(a[i], item, `${path}[${i}]`));
    } else if (b !== null && typeof b === 'object' && 'jobId' in b) {
      // A status: what the engine decided about it, not the object's identity.
      for (const key of ['jobId', 'state', 'progress']) walk(a?.[key], b[key], `${path}.${key}`);
    } else {
      assert.deepEqual(a, b, `${where}${path}`);
    }
  };
  walk(js, rs, '');
}

/** Runs `step(impl)` on both engines' objects and checks they decided alike. */
function both(pair, where, step) {
  const js = step(pair.js);
  const rs = step(pair.rs);
  same(js, rs, where);
  return js;
}

function engines(rng) {
  const deadline = rng.pick([-1, 0, 5_000, 60_000, 1_800_000]);
  const delays = rng.chance(0.5) ? ['deployVirtualMachine', rng.int(8000), 'CREATEVOLUME', rng.int(3000)] : [];
  const core = { readCloudStack: rust.readCloudStack };
  return { js: new Engine(deadline, delays, core), rs: new rust.Engine(deadline, delays), deadline };
}

const COMMANDS = ['deployVirtualMachine', 'createVolume', 'createvolume', 'startVirtualMachine', ''];
const PROGRESS = [undefined, 0, 3, 12, 12.5, 40, 99, 99.9, 100, -1, 150, NaN, Infinity];

describe('the JS engine decides as the Rust engine', () => {
  test('CloudStack dates are read alike (offsets, ranges, leap days, malformed text)', () => {
    const rng = random(77);
    const two = (n) => String(n).padStart(2, '0');
    const texts = [];
    for (let i = 0; i < 20_000; i++) {
      const year = rng.pick([0, 1, 50, 1969, 1970, 2000, 2024, 2026, 2100, 9999]);
      const [month, day] = [rng.int(14), rng.int(33)];
      const [hour, minute, second] = [rng.int(26), rng.int(62), rng.int(62)];
      const zone = rng.pick(['Z', '+0000', '-0800', '+05:30', '+01', '+1900', '-18:00', '+00:60', '+00:', 'z', '', ' UTC']);
      let text = `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}${zone}`;
      if (rng.chance(0.05)) text = ` ${text}\n`;
      if (rng.chance(0.05)) text = text.replace(rng.pick(['-', 'T', ':']), rng.pick(['/', ' ', '.']));
      texts.push(text);
    }
    texts.push('', 'T', '2026-11-28', '２０２６-11-28T12:00:00Z', '2026-11-28T12:00:00+0000junk');
    let valid = 0;
    for (const text of texts) {
      const expected = rust.cloudstackDate(text);
      assert.equal(cloudstackDate(text), expected, JSON.stringify(text));
      if (expected !== undefined) valid += 1;
    }
    assert.ok(valid > 1000 && valid < texts.length - 1000, `${valid} of ${texts.length} valid: both kinds covered`);
  });


  test('single waits: first polls (configured, learned), the expected window, estimates, backoff, deadlines, long-polls', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = random(seed);
      const engine = engines(rng);
      let now = rng.int(1e6);
      for (let wait = 0; wait < 6; wait++) {
        const command = rng.pick(COMMANDS);
        const age = rng.chance(0.3) ? undefined : rng.int(20_000);
        const pair = { js: engine.js.schedule(now, command, age), rs: engine.rs.schedule(now, command, age) };
        const steps = 1 + rng.int(25);
        let running = false;
        for (let step = 0; step < steps; step++) {
          const where = `seed ${seed} wait ${wait} step ${step}`;
          const configured = rng.pick([1, 5, 30, 120]);
          both(pair, `${where} longPoll`, (s) => s.longPoll(now, configured));
          const jitter = rng();
          const next = both(pair, `${where} next`, (s) => s.next(now, jitter));
          if (next === undefined) break;
          // Timers fire a little late; exactly on a boundary, nanosecond rounding would decide.
          now += rng.chance(0.8) ? next[0] + 0.01 + rng() : rng.int(10_000);
          if (rng.chance(0.7)) {
            const progress = rng.pick(PROGRESS) ?? (rng.chance(0.5) ? rng() * 100 : undefined);
            both(pair, `${where} progress`, (s) => s.progress(now, progress));
            running = true;
          }
        }
        const [took, seenRunning] = [rng.int(60_000), running || rng.chance(0.5)];
        both(engine, `seed ${seed} wait ${wait} finished`, (e) => e.finished(command, took, seenRunning));
      }
    }
  });

  test('pacing: slots after throttling, learned spacing, its drop and cool-down', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = random(1000 + seed);
      const engine = engines(rng);
      let now = rng.int(1e5);
      const sent = [];
      // Some clients send in long bursts (counts roll over by epoch), others pause often.
      const busy = rng.pick([0.5, 0.97, 0.995]);
      for (let step = 0; step < 1000; step++) {
        const where = `seed ${seed} step ${step}`;
        if (sent.length === 0 || rng.chance(0.55)) {
          const slots = { js: engine.js.reserve(now), rs: engine.rs.reserve(now) };
          same(slots.js, slots.rs, `${where} reserve`);
          // Each engine is answered for its own slot (they differ by rounding, as slot times may).
          sent.push({ js: slots.js[0], rs: slots.rs[0] });
        } else {
          const slot = sent.splice(rng.int(sent.length), 1)[0];
          const status = rng.chance(0.2) ? 429 : rng.pick([200, 200, 200, 503]);
          const retryAfter = rng.chance(0.3) ? undefined : rng.int(4000);
          engine.js.answered(now, slot.js, status, retryAfter);
          engine.rs.answered(now, slot.rs, status, retryAfter);
        }
        now += rng.chance(busy) ? rng.int(60) : rng.int(3000);
      }
    }
  });

  test('watches: ticks, listing starts and pages, the skew redo, per-job polls, news once, lessons', () => {
    const day = Date.UTC(2026, 10, 28) / 1000;
    for (let seed = 1; seed <= 150; seed++) {
      const rng = random(5000 + seed);
      const engine = engines(rng);
      let now = rng.int(1e6);
      const unix = day + rng.int(86_400);
      const count = 1 + rng.int(rng.pick([12, 12, 12, 150, 700]));
      const jobs = Array.from({ length: count }, (_, i) => ({
        jobId: `job-${seed}-${String(i).padStart(4, '0')}`,
        command: rng.pick(COMMANDS),
        age: rng.chance(0.3) ? NaN : rng.int(600_000),
        created: unix - rng.int(rng.chance(0.2) ? 3000 : 900),
        state: 0,
        progress: undefined,
      }));
      // Jobs of others the listings also show.
      const others = Array.from({ length: rng.int(rng.chance(0.3) ? 200 : 5) }, (_, i) => ({
        jobId: `other-${i}`, command: 'x', created: unix - rng.int(900), state: 0, progress: undefined,
      }));
      const args = [jobs.map((j) => j.jobId), jobs.map((j) => j.command), jobs.map((j) => j.age)];
      const watch = { js: engine.js.watch(now, unix, ...args), rs: engine.rs.watch(now, unix, ...args) };
      // Jobs either jump about, or progress steadily (each at its own rate) so that estimates
      // hold and watches aim at the finishes.
      const steady = rng.chance(0.5);
      const start = now;
      for (const job of jobs) job.rate = (0.5 + rng() * 10) / 1000; // percent per ms
      const evolve = () => {
        for (const job of [...jobs, ...others]) {
          if (job.state !== 0) continue;
          if (steady && job.rate) {
            const done = (now - start) * job.rate;
            if (done >= 100) job.state = 1;
            else job.progress = Math.floor(done);
          } else if (rng.chance(0.15)) job.state = rng.chance(0.85) ? 1 : 2;
          else if (rng.chance(0.5)) job.progress = Math.min(99, (job.progress ?? 0) + rng.int(30));
        }
      };
      const json = (job) => ({
        jobid: job.jobId, cmd: job.command, jobstatus: job.state, created: formatCloudstackDate(job.created),
        ...(job.progress === undefined ? {} : { jobprocstatus: job.progress }),
        ...(job.state === 1 ? { jobresultcode: 0, jobresult: { ok: true } } : {}),
        ...(job.state === 2 ? { jobresultcode: 530, jobresult: { errorcode: 530, errortext: 'failed' } } : {}),
      });
      const body = (object) => new TextEncoder().encode(JSON.stringify(object));
      for (let tick = 0; tick < 60; tick++) {
        const where = `seed ${seed} tick ${tick}`;
        if (both(watch, `${where} done`, (w) => w.done())) break;
        const jitter = rng();
        const next = both(watch, `${where} next`, (w) => w.next(now, jitter));
        if (next === undefined) break;
        now += next[0] + 0.01 + rng();
        evolve();
        both(watch, `${where} tick`, (w) => w.tick(now));
        let missing;
        for (let round = 0; round < 3; round++) {
          let params = both(watch, `${where} listing`, (w) => w.listing(true));
          if (params === undefined) {
            missing = both(watch, `${where} unfinished`, (w) => w.unfinished());
            break;
          }
          for (let page = 0; page < 10; page++) {
            const at = params.indexOf('startdate');
            const since = at < 0 ? -Infinity : Date.parse(params[at + 1].replace('+0000', 'Z')) / 1000;
            const shown = [...jobs, ...others].filter((job) => job.created >= since && rng.chance(0.97));
            const number = params[0] === 'page' ? Number(params[1]) : 0;
            let answer;
            if (number === 0 && rng.chance(0.1)) {
              answer = [431, body({ listasyncjobsresponse: { errorcode: 431, errortext: 'pagesize=-1 is not allowed' } })];
            } else {
              const items = number === 0 ? shown : shown.slice((number - 1) * 500, number * 500);
              answer = [200, body({ listasyncjobsresponse: { count: shown.length, asyncjobs: items.map(json) } })];
            }
            const [status, bytes] = answer;
            const [more] = both(watch, `${where} page ${page}`, (w) => w.page(status, 'application/json', undefined, bytes));
            if (!more) break;
            params = both(watch, `${where} next page`, (w) => w.listing(false));
          }
          const [, unlisted, again] = both(watch, `${where} listed`, (w) => w.listed(now));
          if (!again) {
            missing = unlisted;
            break;
          }
        }
        for (const jobId of missing ?? []) {
          const job = jobs.find((j) => j.jobId === jobId);
          const bytes = body({ queryasyncjobresultresponse: json(job) });
          both(watch, `${where} status ${jobId}`, (w) => w.status(now, 200, 'application/json', undefined, bytes));
        }
        both(watch, `${where} ticked`, (w) => w.ticked());
      }
      // What the watch taught: the next wait of each command starts alike.
      for (const command of COMMANDS) both(engine, `seed ${seed} learned ${command}`, (e) => e.schedule(now, command, 0).next(now, 0.5));
    }
  });
});
