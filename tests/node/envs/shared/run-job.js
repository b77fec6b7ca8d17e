// The job every environment runs with the package it imported (`jobwire`, the module
// namespace): submit a deploy, wait for it with progress, and report what came back. Options
// arrive in the page's query string.
export async function runJob(jobwire, search) {
  const { JobClient, ApiError, JobwireError } = jobwire;
  const query = new URLSearchParams(search);
  const client = new JobClient({
    protocol: 'cloudstack',
    endpoint: query.get('endpoint'),
    apiKey: query.get('apiKey'),
    secretKey: query.get('secretKey'),
    longPollSecs: 0, // plain polling, so progress reports the pending states too
  });
  const job = await client.submit('deployVirtualMachine', {
    zoneid: query.get('zoneid'),
    serviceofferingid: query.get('serviceofferingid'),
    templateid: query.get('templateid'),
  });
  const states = [];
  const result = await job.wait({ onProgress: (s) => states.push(s.state), timeoutMs: 60000 });
  // An aborted wait rejects with an AbortError and sends nothing more.
  const controller = new AbortController();
  const aborted = job.wait({ signal: controller.signal }).then(() => 'resolved', (err) => err.name);
  controller.abort();
  // Refusals are instances of the classes the package exports, however it was loaded.
  const refused = await client.submit('frobnicate', {}).then(
    () => 'resolved',
    (err) => `${err.name} ${err instanceof ApiError && err instanceof JobwireError} ${err.code}`,
  );
  return {
    refused,
    jobId: job.id,
    resourceId: job.resourceId,
    submittedAt: job.submittedAt,
    vmId: result?.virtualmachine?.id,
    states,
    abortedWait: await aborted,
    token: JSON.parse(JSON.stringify(job)),
  };
}

/** Runs `body` and records its outcome on the page for the test to read. */
export async function report(body) {
  try {
    document.body.dataset.outcome = JSON.stringify({ ok: true, value: await body() });
  } catch (err) {
    document.body.dataset.outcome = JSON.stringify({ ok: false, error: `${err?.name}: ${err?.message}` });
  }
}
