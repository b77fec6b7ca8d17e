// The dashboard in headless Chromium against the reference server: connect, submit from the
// listApis-generated form, watch jobs go from pending to succeeded, a capacity failure, reload
// and resume, filters in a shared URL, dark mode, keyboard, XSS, virtualization, CSP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { artifacts, browser, server, startServer, watchErrors, withServerAndBrowser } from './support.mjs';

withServerAndBrowser({ jobDurationMs: 1500 });

const HUGE = 'Huge Instance — 512 vCPU, 8 TB RAM';

/** Logs in with the demo user on `page` (already at the dashboard) and waits for the form. */
async function login(page) {
  await page.getByRole('heading', { name: 'Jobwire' }).waitFor();
  assert.equal(await page.getByTestId('username').inputValue(), 'demo');
  await page.getByTestId('connect').click();
  // The form comes from listApis; the pickers fill from listZones / listServiceOfferings / …
  await page.locator('[data-testid=param-zoneid] option').first().waitFor({ state: 'attached' });
  await page.locator('[data-testid=param-templateid] option').first().waitFor({ state: 'attached' });
  await page.locator('[data-testid=param-serviceofferingid] option').first().waitFor({ state: 'attached' });
}

async function openDashboard(base = server.url, { viewport = { width: 1280, height: 720 }, context } = {}) {
  const page = context ? await context.newPage() : await browser.newPage({ viewport });
  if (context) await page.setViewportSize(viewport);
  const errors = watchErrors(page);
  await page.goto(`${base}/`);
  await login(page);
  return { page, errors };
}

/** Submits deployVirtualMachine with `fields` (test id suffix → value) `times` times. */
async function deploy(page, { name, displayname, offering, times } = {}) {
  await page.getByTestId('command').selectOption('deployVirtualMachine');
  if (name !== undefined) await page.getByTestId('param-name').fill(name);
  if (displayname !== undefined) await page.getByTestId('param-displayname').fill(displayname);
  if (offering) await page.getByTestId('param-serviceofferingid').selectOption({ label: offering });
  await page.getByTestId('submit-count').fill(String(times ?? 1));
  await page.getByTestId('submit').click();
}

const rowOf = (page, id) => page.locator(`[data-testid=job-row]:has([data-testid=job-id]:text-is("${id}"))`);

test('submit → pending → succeeded: timeline, result tree and raw JSON', async () => {
  const { page, errors } = await openDashboard();
  // Every listing the page sends, by its form body.
  const listings = [];
  page.on('request', (request) => {
    const body = new URLSearchParams(request.postData() ?? '');
    if (body.get('command') === 'listAsyncJobs') listings.push(body);
  });
  // The command list holds only async commands.
  const commands = await page.locator('[data-testid=command] option').allTextContents();
  assert.ok(commands.includes('deployVirtualMachine') && commands.includes('createSnapshot'), commands.join());
  assert.ok(!commands.includes('listZones') && !commands.includes('deleteVolume'), 'sync commands are not offered');
  await deploy(page, { name: 'e2e-web-1' });

  const row = page.getByTestId('job-row').first();
  await row.waitFor();
  const state = row.getByTestId('job-state');
  assert.equal(await state.textContent(), 'pending', 'a fresh job shows pending');
  await page.screenshot({ path: join(artifacts, 'dashboard-pending.png') });

  await state.filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
  // The job was followed by listings that start near its submit (by the page's clock, less the
  // SDK's margin for clock skew), never by one of the account's whole job history.
  assert.ok(listings.length >= 1, 'the job was followed by listings');
  for (const listing of listings) {
    const since = Date.parse(listing.get('startdate')?.replace(/([+-]\d\d)(\d\d)$/, '$1:$2') ?? '');
    assert.ok(Date.now() - since < 10 * 60_000, `listing since ${listing.get('startdate')}`);
  }
  // The overview counts at the next flush (every 200 ms), just after the row changed.
  await page.getByTestId('count-succeeded').filter({ hasText: /^1$/ }).waitFor({ timeout: 3000 });
  assert.match(await page.getByTestId('last-updated').textContent(), /updated \d+ s ago/);
  await row.click();
  const detail = page.getByTestId('job-detail');
  await detail.waitFor();
  const timeline = await detail.getByTestId('timeline-entry').allTextContents();
  assert.ok(timeline.length >= 2, `timeline: ${timeline}`);
  assert.match(timeline[0], /pending/);
  assert.match(timeline.at(-1), /succeeded 100%/);
  const values = await detail.getByTestId('tree-value').allTextContents();
  assert.ok(values.includes('e2e-web-1'), 'the tree shows the VM name');
  await detail.getByTestId('show-raw').click();
  const vm = JSON.parse(await detail.getByTestId('job-result').textContent()).virtualmachine;
  assert.equal(vm.name, 'e2e-web-1');
  assert.equal(vm.state, 'Running');
  const resourceId = (await row.getByTestId('job-resource').textContent()).trim();
  assert.equal(vm.id, resourceId, 'the result is the VM the submit announced');
  // The job is in the URL, so the view can be shared.
  const jobId = (await row.getByTestId('job-id').textContent()).trim();
  assert.equal(new URL(page.url()).searchParams.get('job'), jobId);
  // The resume token is the SDK's {jobId, resourceId, command}.
  assert.deepEqual(JSON.parse(await detail.getByTestId('resume-token').textContent()),
    { jobId, resourceId, command: 'deployVirtualMachine' });
  await page.screenshot({ path: join(artifacts, 'dashboard-succeeded.png') });
  // The overview histogram is SVG and counts the finished job.
  const bars = await page.getByTestId('histogram-bar').evaluateAll((els) => els.map((e) => Number(e.dataset.count)));
  assert.equal(bars.reduce((a, b) => a + b, 0), 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a wrong password is refused with a visible error, then the right one logs in', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page);
  await page.goto(`${server.url}/`);
  await page.getByTestId('password').fill('wrong');
  await page.getByTestId('connect').click();
  const problem = page.getByTestId('problem');
  await problem.waitFor();
  assert.match(await problem.textContent(), /531/);
  await page.getByTestId('password').fill('demo-password');
  await page.getByTestId('connect').click();
  await page.getByTestId('submit').waitFor();
  // The refused login shows as a 531 response in the console; nothing else may.
  assert.deepEqual(errors.filter((e) => !e.includes('531')), []);
  await page.close();
});

test('a deploy beyond capacity ends failed with errorcode 533, cserrorcode and errortext', async () => {
  const { page, errors } = await openDashboard();
  await deploy(page, { offering: HUGE });
  const row = page.getByTestId('job-row').first();
  await row.getByTestId('job-state').filter({ hasText: 'failed' }).waitFor({ timeout: 15000 });
  await row.click();
  assert.match(await page.getByTestId('job-error').textContent(), /^533: .*insufficient capacity/);
  assert.equal(await page.getByTestId('job-errorcode').textContent(), '533');
  // The reference server sends no cserrorcode for failed jobs: the field says so.
  assert.match(await page.getByTestId('job-cserrorcode').textContent(), /^(\d+|—)$/);
  assert.match(await page.getByTestId('job-errortext').textContent(), /insufficient capacity/);
  await page.screenshot({ path: join(artifacts, 'dashboard-failed.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('reload: tracked jobs come back from localStorage and resume polling', async () => {
  const slow = await startServer({ jobDurationMs: 6000 });
  try {
    const { page, errors } = await openDashboard(slow.url);
    await deploy(page, { times: 3 });
    await page.getByTestId('job-row').nth(2).waitFor();
    const ids = (await page.getByTestId('job-id').allTextContents()).sort();
    assert.equal(ids.length, 3);
    assert.equal(await page.getByTestId('count-pending').textContent(), '3');
    const stored = await page.evaluate(() => Object.entries(localStorage));
    assert.equal(stored.length, 1);
    const saved = JSON.parse(stored[0][1]);
    assert.deepEqual(saved.map((t) => t.jobId).sort(), ids);
    // Credentials are never stored.
    assert.ok(!stored[0][1].includes('demo-password') && !stored[0][0].includes('demo-password'));

    await page.reload();
    await login(page);
    await page.getByTestId('job-row').nth(2).waitFor();
    assert.deepEqual((await page.getByTestId('job-id').allTextContents()).sort(), ids, 'the same jobs are back');
    await page.waitForFunction(() => document.querySelector('[data-testid=count-succeeded]')?.textContent === '3',
      null, { timeout: 20000 });
    assert.equal(await page.getByTestId('count-pending').textContent(), '0');
    await page.screenshot({ path: join(artifacts, 'dashboard-resumed.png') });
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await slow.stop();
  }
});

test('filters live in the URL: a shared link shows the same view', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const { page, errors } = await openDashboard(server.url, { context });
  await deploy(page, { times: 2 });
  await page.getByTestId('job-row').nth(1).waitFor();
  await deploy(page, { offering: HUGE });
  await page.getByTestId('job-row').nth(2).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=count-failed]')?.textContent === '1',
    null, { timeout: 15000 });
  await page.getByTestId('filter-state').selectOption('failed');
  await page.getByTestId('shown-count').filter({ hasText: '1 of 3 jobs' }).waitFor();
  assert.equal(await page.getByTestId('job-row').count(), 1);
  const failedId = (await page.getByTestId('job-id').first().textContent()).trim();
  await page.getByTestId('sort-command').click();
  const shared = page.url();
  const query = new URL(shared).searchParams;
  assert.equal(query.get('state'), 'failed');
  assert.equal(query.get('sort'), 'command');
  await page.screenshot({ path: join(artifacts, 'dashboard-filtered.png') });

  // The same link in another tab (same browser profile, so the tracked jobs are there too).
  const other = await context.newPage();
  const otherErrors = watchErrors(other);
  await other.goto(shared);
  await login(other);
  await other.getByTestId('shown-count').filter({ hasText: '1 of 3 jobs' }).waitFor();
  assert.equal(await other.getByTestId('filter-state').inputValue(), 'failed');
  assert.equal(await other.getByTestId('job-id').first().textContent(), failedId);
  assert.equal(await other.locator('th[aria-sort=descending] button').textContent(), 'Command ▼');
  assert.deepEqual([...errors, ...otherErrors], []);
  await context.close();
});

test('dark mode follows prefers-color-scheme', async () => {
  const { page, errors } = await openDashboard();
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await background(), 'rgb(247, 248, 250)');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await background(), 'rgb(18, 21, 27)');
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('header')).color), 'rgb(230, 233, 239)');
  await deploy(page, { name: 'dark-1' });
  await page.getByTestId('job-row').first().getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
  await page.getByTestId('job-row').first().click();
  await page.screenshot({ path: join(artifacts, 'dashboard-dark.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('keyboard: arrows move through the rows, Enter opens the detail, Escape closes it', async () => {
  const { page, errors } = await openDashboard();
  await deploy(page, { times: 3 });
  await page.getByTestId('job-row').nth(2).waitFor();
  const ids = await page.getByTestId('job-id').allTextContents();
  await page.getByTestId('job-table').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const detail = page.getByTestId('job-detail');
  await detail.waitFor();
  assert.equal((await detail.locator('h2 .mono').textContent()).trim(), ids[1]);
  assert.equal(await page.getByTestId('job-table').getAttribute('aria-activedescendant'), `job-row-${ids[1]}`);
  await page.keyboard.press('Escape');
  await detail.waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('XSS: markup in a job result is shown as text and runs nothing', async () => {
  const { page, errors } = await openDashboard();
  const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  await deploy(page, { name: 'xss-1', displayname: payload });
  const row = page.getByTestId('job-row').first();
  await row.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
  await row.click();
  const detail = page.getByTestId('job-detail');
  await detail.getByTestId('result-tree').waitFor();
  const values = await detail.getByTestId('tree-value').allTextContents();
  assert.ok(values.includes(payload), `the markup shows as its characters: ${JSON.stringify(values)}`);
  await detail.getByTestId('show-raw').click();
  const raw = JSON.parse(await detail.getByTestId('job-result').textContent());
  assert.equal(raw.virtualmachine.displayname, payload, 'the raw view holds the same text');
  await detail.getByTestId('show-tree').click();
  assert.equal(await page.locator('main img, main script').count(), 0, 'no element was made from the text');
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'nothing ran');
  await page.screenshot({ path: join(artifacts, 'dashboard-xss.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('polling slows while the tab is hidden and catches up when shown', async () => {
  const slow = await startServer({ jobDurationMs: 8000 });
  try {
    const { page, errors } = await openDashboard(slow.url);
    await deploy(page);
    await page.getByTestId('poll-mode').filter({ hasText: 'live' }).waitFor();
    const setHidden = (hidden) => page.evaluate((h) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true })); // as browsers fire it
    }, hidden);
    await setHidden(true);
    await page.getByTestId('poll-mode').filter({ hasText: 'slowed (tab hidden)' }).waitFor();
    await setHidden(false);
    await page.getByTestId('poll-mode').filter({ hasText: 'live' }).waitFor();
    await page.getByTestId('job-row').first().getByTestId('job-state').filter({ hasText: 'succeeded' })
      .waitFor({ timeout: 20000 });
    await page.getByTestId('poll-mode').filter({ hasText: 'idle' }).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await slow.stop();
  }
});

test('the page has no inline script and a CSP that forbids it', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}/`);
  await page.getByTestId('connect').waitFor();
  const csp = await page.locator('meta[http-equiv=Content-Security-Policy]').getAttribute('content');
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
  assert.ok(scriptSrc && !scriptSrc.includes('unsafe-inline'), scriptSrc);
  assert.equal(await page.evaluate(() => document.querySelectorAll('script:not([src])').length), 0);
  // An inline script injected now is refused by the policy.
  await page.evaluate(() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); });
  assert.equal(await page.evaluate(() => window.__inline), undefined);
  assert.ok(errors.some((e) => /Content Security Policy/.test(e)), 'the refusal is reported');
  await page.close();
});

test('10,000 jobs: only a window of rows is in the DOM, scrolling moves it', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page);
  await page.goto(`${server.url}/?bench=10000`);
  await page.getByTestId('shown-count').filter({ hasText: '10000 of 10000 jobs' }).waitFor();
  const rows = await page.getByTestId('job-row').count();
  assert.ok(rows > 5 && rows < 60, `${rows} rows in the DOM`);
  await page.getByTestId('job-table').evaluate((el) => { el.scrollTop = 5000 * 36; });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=job-row]')]
    .some((r) => Number(r.getAttribute('aria-rowindex')) > 5000));
  assert.ok(await page.getByTestId('job-row').count() < 60);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(artifacts, 'dashboard-phone.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('through the gateway: the dashboard on one server drives jobs on another', async () => {
  // A second instance in gateway mode in front of the first, as one would run it before a real
  // CloudStack (which sends no CORS headers).
  const gateway = await startServer({ extraArgs: ['--upstream', `${server.url}/client/api`] });
  try {
    const { page, errors } = await openDashboard(gateway.url);
    await deploy(page);
    const row = page.getByTestId('job-row').first();
    await row.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
    assert.ok((await page.locator('.endpoint').textContent()).startsWith(gateway.url), 'the page talks to the gateway');
    await page.screenshot({ path: join(artifacts, 'dashboard-gateway.png') });
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await gateway.stop();
  }
});
