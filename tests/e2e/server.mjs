// The reference server on a free port; shared by the Playwright tests and tests/node (no
// dependencies, so importing it needs no npm install).
import { spawn } from 'node:child_process';

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
