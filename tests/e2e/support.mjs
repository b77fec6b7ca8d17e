// Test support: the reference server on a free port, and headless Debian Chromium.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** Starts jobwire-server on 127.0.0.1:0 and resolves with its base URL and a stop function. */
export function startServer({ jobDurationMs = 1500, extraArgs = [] } = {}) {
  const bin = process.env.JOBWIRE_SERVER_BIN;
  const dist = process.env.JOBWIRE_DIST;
  if (!bin || !dist) throw new Error('set JOBWIRE_SERVER_BIN and JOBWIRE_DIST (./dev test does)');
  const child = spawn(bin, ['--listen', '127.0.0.1:0', '--dist', dist, '--job-duration-ms', String(jobDurationMs), ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 15 s')), 15000);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/listening on (http:\/\/[^\s/]+)\//);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGINT'); }),
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited early (${code}): ${out}`)); });
  });
}

/** Headless Chromium from Debian (Playwright's own download is not reachable here). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Fails the test on any page error or console error, so a broken wasm load cannot pass silently. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  return errors;
}
