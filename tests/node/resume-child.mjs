// A Node process of the resume-token test (resume.test.mjs), run as a child so it can be killed:
//   MODE=submit: submits JOBS deploys, writes their resume tokens (JSON.stringify(job)) to
//                TOKENS, prints "written", then waits for them like an app would — until killed.
//   MODE=resume: reads TOKENS, follows the first half with client.resume(token).wait() and the
//                rest with client.watch(tokens), printing one JSON line per terminal report.
// OPTIONS holds the JobClient options.
import { readFileSync, writeFileSync } from 'node:fs';
import { JobClient } from 'jobwire';

const ZONE = 'a1f2c3d4-0000-4000-8000-000000000001';
const SMALL = 'b1f2c3d4-0000-4000-8000-000000000001';
const HUGE = 'b1f2c3d4-0000-4000-8000-000000000003'; // 533: insufficient capacity
const TEMPLATE = 'c1f2c3d4-0000-4000-8000-000000000001';

const client = new JobClient(JSON.parse(process.env.OPTIONS));
const report = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (process.env.MODE === 'submit') {
  const count = Number(process.env.JOBS);
  const jobs = await Promise.all(Array.from({ length: count }, (_, i) =>
    client.submit('deployVirtualMachine', {
      zoneid: ZONE, serviceofferingid: i % 4 === 3 ? HUGE : SMALL, templateid: TEMPLATE, name: `resume-${i}`,
    })));
  writeFileSync(process.env.TOKENS, JSON.stringify(jobs));
  process.stdout.write('written\n');
  // Keep following them, as the app would have, until the parent kills this process.
  await Promise.allSettled(jobs.map((job) => job.wait()));
  process.stdout.write('finished before the kill\n');
} else {
  const tokens = JSON.parse(readFileSync(process.env.TOKENS, 'utf8'));
  const half = Math.ceil(tokens.length / 2);
  const waited = tokens.slice(0, half).map(async (token) => {
    const job = client.resume(token);
    try {
      const result = await job.wait(); // resolves only when the job succeeded
      report({ jobId: job.id, state: 'succeeded', via: 'resume', vm: result?.virtualmachine?.id });
    } catch (err) {
      report({ jobId: job.id, state: err.name === 'JobFailedError' ? 'failed' : `error ${err.name}: ${err.message}`, via: 'resume' });
    }
  });
  const watched = (async () => {
    for await (const update of client.watch(tokens.slice(half))) {
      if (update.state !== 'pending') {
        report({ jobId: update.jobId, state: update.state, via: 'watch', vm: update.result?.virtualmachine?.id });
      }
    }
  })();
  await Promise.all([...waited, watched]);
}
