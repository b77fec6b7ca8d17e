// The dashboard's connections: API keys (remembered only when asked), a CLM connection beside a
// CloudStack one, raw XML / Task JSON and copy buttons, notifications of finished jobs, and
// phone / desktop widths without horizontal overflow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { artifacts, browser, server, startServer, watchErrors, withServerAndBrowser } from './support.mjs';

const API_KEY = 'demo-api-key-0123456789abcdef';
const SECRET = 'demo-secret-key-do-not-use-in-production';
const PASSWORD = 'demo-password';
const DESKTOP = { width: 1280, height: 720 };
const PHONE = { width: 390, height: 844 };

withServerAndBrowser({ jobDurationMs: 1500 });

/** Waits for the CloudStack submit form of the active connection, pickers filled. */
async function cloudStackFormReady(page) {
  await page.locator('[data-testid=param-zoneid] option').first().waitFor({ state: 'attached' });
  await page.locator('[data-testid=param-serviceofferingid] option').first().waitFor({ state: 'attached' });
  await page.locator('[data-testid=param-templateid] option').first().waitFor({ state: 'attached' });
}

/** Opens the dashboard in `context` (or a fresh one) and logs in to CloudStack with the demo session. */
async function openWithSession(context, viewport = DESKTOP) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  const errors = watchErrors(page);
  await page.goto(`${server.url}/`);
  await page.getByTestId('connect').click();
  await cloudStackFormReady(page);
  return { page, errors };
}

/** Adds a CLM connection (token login with the demo user) beside the open ones. */
async function addClm(page) {
  await page.getByTestId('add-connection').click();
  await page.getByTestId('protocol').selectOption('clm');
  assert.equal(await page.getByTestId('endpoint').inputValue(), server.url, 'CLM starts on the server root');
  assert.equal(await page.getByTestId('auth-apikey').count(), 0, 'CLM logs in with user and password only');
  await page.getByTestId('connect').click();
  await page.getByTestId('clm-form').waitFor();
}

async function deploy(page, { displayname, offering } = {}) {
  await page.getByTestId('command').selectOption('deployVirtualMachine');
  if (displayname !== undefined) await page.getByTestId('param-displayname').fill(displayname);
  if (offering) await page.getByTestId('param-serviceofferingid').selectOption({ label: offering });
  await page.getByTestId('submit-count').fill('1');
  await page.getByTestId('submit').click();
}

const rowOf = (page, id) => page.locator(`[data-testid=job-row]:has([data-testid=job-id]:text-is("${id}"))`);

/** Everything the page could have persisted or exposed: storage, cookies, URL. */
async function traces(page) {
  return page.evaluate(() => JSON.stringify({
    local: Object.entries(localStorage),
    session: Object.entries(sessionStorage),
    cookie: document.cookie,
    url: location.href,
    history: history.state,
  }));
}

test('API keys, not remembered: no secret or password in storage, cookies or URL', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}/`);
  // Session login is the default; the remember box belongs to API keys only.
  assert.equal(await page.getByTestId('auth-session').isChecked(), true);
  assert.equal(await page.getByTestId('remember').count(), 0);
  await page.getByTestId('auth-apikey').check();
  await page.getByTestId('api-key').fill(API_KEY);
  await page.getByTestId('secret-key').fill(SECRET);
  assert.equal(await page.getByTestId('secret-key').getAttribute('type'), 'password');
  assert.equal(await page.getByTestId('remember').isChecked(), false, 'remember starts unticked');
  await page.getByTestId('connect').click();
  await cloudStackFormReady(page);
  assert.match(await page.getByTestId('connection-label').textContent(), /^key demo-api…@/);
  // The keys work for jobs too.
  await deploy(page);
  const row = page.getByTestId('job-row').first();
  await row.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
  await row.click();
  await page.getByTestId('job-detail').waitFor();
  const seen = await traces(page);
  assert.ok(!seen.includes(SECRET), `the secret key leaked: ${seen}`);
  assert.ok(!seen.includes(PASSWORD), `the password leaked: ${seen}`);
  assert.ok(JSON.parse(seen).local.some(([k]) => k.startsWith('jobwire.jobs:')), 'resume tokens are saved');
  assert.ok((await context.cookies()).every((c) => !c.value.includes(SECRET)));

  // A session login beside it (another tab of the same profile): the password is not kept either.
  const other = await context.newPage();
  const otherErrors = watchErrors(other);
  await other.goto(`${server.url}/?state=succeeded`);
  await other.getByTestId('connect').click();
  await cloudStackFormReady(other);
  const seenByOther = await traces(other);
  assert.ok(!seenByOther.includes(PASSWORD) && !seenByOther.includes(SECRET), seenByOther);
  assert.deepEqual([...errors, ...otherErrors], []);
  await context.close();
});

test('API keys, remembered: a reload reconnects with them; disconnect forgets them', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}/`);
  await page.getByTestId('auth-apikey').check();
  await page.getByTestId('api-key').fill(API_KEY);
  await page.getByTestId('secret-key').fill(SECRET);
  await page.getByTestId('remember').check();
  await page.getByTestId('connect').click();
  await cloudStackFormReady(page);
  const stored = await page.evaluate(() => localStorage.getItem('jobwire.remembered'));
  assert.deepEqual(JSON.parse(stored), [{ endpoint: `${server.url}/client/api`, apiKey: API_KEY, secretKey: SECRET }]);
  assert.ok(!(await traces(page)).includes(PASSWORD), 'never a password');

  await page.reload();
  // No click: the remembered keys connect by themselves.
  await cloudStackFormReady(page);
  assert.equal(await page.getByTestId('connection').count(), 1);
  assert.match(await page.getByTestId('connection-label').textContent(), /^key demo-api…@/);
  await deploy(page);
  await page.getByTestId('job-row').first().getByTestId('job-state').filter({ hasText: 'succeeded' })
    .waitFor({ timeout: 15000 });

  await page.getByTestId('disconnect').click();
  await page.getByTestId('connect-form').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('jobwire.remembered')), null);
  assert.ok(!(await traces(page)).includes(SECRET), 'the secret is gone after disconnect');
  assert.deepEqual(errors, []);
  await context.close();
});

test('CloudStack and CLM side by side: a CLM task tracked live, its detail, resumed after reload', async () => {
  const slow = await startServer({ jobDurationMs: 4000 });
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${slow.url}/`);
    await page.getByTestId('connect').click();
    await cloudStackFormReady(page);
    await page.getByTestId('add-connection').click();
    await page.getByTestId('protocol').selectOption('clm');
    assert.equal(await page.getByTestId('endpoint').inputValue(), slow.url);
    await page.getByTestId('connect').click();
    await page.getByTestId('clm-form').waitFor();
    assert.equal(await page.getByTestId('connection').count(), 2);
    assert.deepEqual(await page.getByTestId('connection').evaluateAll((els) => els.map((e) => e.dataset.protocol)),
      ['cloudstack', 'clm']);

    // A CLM task: create a server.
    await page.getByTestId('clm-operation').selectOption('create');
    await page.getByTestId('clm-name').fill('clm-web-1');
    await page.getByTestId('clm-submit').click();
    const clmRow = page.locator('[data-testid=job-row]:has([data-testid=job-protocol]:text-is("CLM"))');
    await clmRow.waitFor();
    assert.equal(await clmRow.getByTestId('job-command').textContent(), 'ComputeContainer.create');
    assert.equal(await clmRow.getByTestId('job-state').textContent(), 'pending');
    const clmId = (await clmRow.getByTestId('job-id').textContent()).trim();

    // A CloudStack job from the other connection, at the same time.
    await page.getByTestId('connection').first().getByRole('button', { name: /CloudStack/ }).click();
    await cloudStackFormReady(page);
    await deploy(page);
    const csRow = page.locator('[data-testid=job-row]:has([data-testid=job-protocol]:text-is("CloudStack"))');
    await csRow.waitFor();
    await page.screenshot({ path: join(artifacts, 'dashboard-two-connections.png') });

    await clmRow.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 20000 });
    await csRow.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 20000 });
    await clmRow.click();
    const detail = page.getByTestId('job-detail');
    await detail.waitFor();
    assert.equal(await detail.getByTestId('detail-protocol').textContent(), 'CLM');
    const timeline = await detail.getByTestId('timeline-entry').allTextContents();
    assert.match(timeline[0], /pending/);
    assert.match(timeline.at(-1), /succeeded 100%/);
    const values = await detail.getByTestId('tree-value').allTextContents();
    assert.ok(values.includes('clm-web-1'), `the tree shows the server: ${values}`);
    await detail.getByTestId('show-raw-answer').click();
    const task = JSON.parse(await detail.getByTestId('raw-answer').textContent());
    assert.equal(task.taskInternalUUID, clmId, 'the raw view is the Task JSON');
    await page.screenshot({ path: join(artifacts, 'dashboard-clm-detail.png'), fullPage: true });

    // Saved like CloudStack jobs: resume tokens under the CLM key, no credentials.
    const saved = await page.evaluate(() => Object.fromEntries(Object.entries(localStorage)));
    const clmKey = `jobwire.jobs:clm:${slow.url}`;
    assert.deepEqual(JSON.parse(saved[clmKey]).map((j) => j.jobId), [clmId]);
    assert.ok(!JSON.stringify(saved).includes(PASSWORD));

    // Reload: log in to both again, both jobs come back.
    const pending = page.locator('[data-testid=job-row]');
    await page.getByTestId('connection').last().getByRole('button', { name: /CLM/ }).click();
    await page.getByTestId('clm-form').waitFor();
    await page.getByTestId('clm-name').fill('clm-web-2');
    await page.getByTestId('clm-submit').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=job-row]').length === 3);
    await page.reload();
    await page.getByTestId('connect').click();
    await cloudStackFormReady(page);
    await page.getByTestId('add-connection').click();
    await page.getByTestId('protocol').selectOption('clm');
    await page.getByTestId('connect').click();
    await page.getByTestId('clm-form').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=job-row]').length === 3);
    assert.ok((await pending.getByTestId('job-id').allTextContents()).includes(clmId));
    await page.waitForFunction(() => document.querySelector('[data-testid=count-succeeded]')?.textContent === '3',
      null, { timeout: 20000 });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await slow.stop();
  }
});

test('raw XML of a CloudStack job, copy per tree node and of the raw views, markup as text', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  await context.addInitScript(() => {
    window.__copied = [];
    const clipboard = { writeText: (text) => { window.__copied.push(text); return Promise.resolve(); } };
    Object.defineProperty(Navigator.prototype, 'clipboard', { configurable: true, get: () => clipboard });
  });
  const { page, errors } = await openWithSession(context);
  const payload = '<img src=x onerror="window.__xss=1">&amp;<b>bold</b>';
  await deploy(page, { displayname: payload });
  const row = page.getByTestId('job-row').first();
  await row.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
  const jobId = (await row.getByTestId('job-id').textContent()).trim();
  await row.click();
  const detail = page.getByTestId('job-detail');
  await detail.getByTestId('result-tree').waitFor();

  // Copy the root node (the whole result) and a leaf.
  await detail.getByTestId('copy-node').first().click();
  const copiedRoot = JSON.parse(await page.evaluate(() => window.__copied.at(-1)));
  assert.equal(copiedRoot.virtualmachine.displayname, payload);
  await detail.getByRole('button', { name: 'Copy displayname as JSON' }).click();
  assert.equal(JSON.parse(await page.evaluate(() => window.__copied.at(-1))), payload);

  // Raw XML through the SDK, shown as text.
  await detail.getByTestId('show-raw-answer').click();
  const raw = detail.getByTestId('raw-answer');
  await raw.waitFor();
  const xml = await raw.textContent();
  assert.equal(await raw.getAttribute('data-format'), 'cloudstack');
  assert.match(xml, /<queryasyncjobresultresponse/);
  assert.ok(xml.includes(`<jobid>${jobId}</jobid>`), xml);
  assert.match(xml, /<jobstatus>1<\/jobstatus>/);
  assert.ok(xml.includes('&lt;img'), 'the payload is escaped in the XML and shown so');
  await detail.getByTestId('copy-raw-answer').click();
  assert.equal(await page.evaluate(() => window.__copied.at(-1)), xml);
  // The raw JSON view and its copy.
  await detail.getByTestId('show-raw').click();
  await detail.getByTestId('copy-result').click();
  assert.equal(JSON.parse(await page.evaluate(() => window.__copied.at(-1))).virtualmachine.id,
    (await row.getByTestId('job-resource').textContent()).trim());
  assert.equal(await page.locator('main img, main b, main script').count(), 0, 'no element was made from the text');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await page.screenshot({ path: join(artifacts, 'dashboard-raw-xml.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('notifications: finished jobs raise a desktop notification (when allowed) and a toast', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  await context.grantPermissions(['notifications'], { origin: server.url });
  await context.addInitScript(() => {
    window.__notifications = [];
    const Real = window.Notification;
    class Recording {
      constructor(title, options = {}) { window.__notifications.push({ title, body: options.body }); }
      static get permission() { return Real.permission; }
      static requestPermission() { return Real.requestPermission(); }
    }
    window.Notification = Recording;
  });
  const { page, errors } = await openWithSession(context);
  const toggle = page.getByTestId('notify-toggle');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  await page.locator('[data-testid=notify-toggle][aria-pressed=true]').waitFor();
  assert.equal(await page.evaluate(() => Notification.permission), 'granted');

  await deploy(page);
  const row = page.getByTestId('job-row').first();
  await row.waitFor();
  const okId = (await row.getByTestId('job-id').textContent()).trim();
  const toast = page.getByTestId('toast').filter({ hasText: okId });
  await toast.waitFor({ timeout: 15000 });
  assert.match(await toast.textContent(), new RegExp(`deployVirtualMachine job ${okId} succeeded`));
  assert.equal(await page.getByTestId('toasts').getAttribute('aria-live'), 'polite');
  await page.waitForFunction((id) => window.__notifications.some((n) => n.body.includes(id)), okId);
  const note = await page.evaluate((id) => window.__notifications.find((n) => n.body.includes(id)), okId);
  assert.match(note.title, /succeeded/);
  assert.match(note.body, /succeeded$/);

  // A failed job is announced too.
  await deploy(page, { offering: 'Huge Instance — 512 vCPU, 8 TB RAM' });
  await page.getByTestId('toast').filter({ hasText: 'failed' }).waitFor({ timeout: 15000 });
  await page.waitForFunction(() => window.__notifications.some((n) => /failed$/.test(n.body)));
  assert.equal(await page.evaluate(() => window.__notifications.length), 2, 'one notification per finished job');
  await page.screenshot({ path: join(artifacts, 'dashboard-notifications.png') });

  // Turned off: toasts only.
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await deploy(page);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=job-row]').length === 3);
  const lastId = (await page.getByTestId('job-id').first().textContent()).trim(); // newest first
  assert.notEqual(lastId, okId);
  await page.getByTestId('toast').filter({ hasText: lastId }).waitFor({ timeout: 15000 });
  assert.equal(await page.evaluate(() => window.__notifications.length), 2);

  // After a reload the three finished jobs come back (and are asked for again), unannounced.
  await page.reload();
  await page.getByTestId('connect').click();
  await cloudStackFormReady(page);
  await page.waitForFunction(() => {
    const states = [...document.querySelectorAll('[data-testid=job-row] [data-testid=job-state]')];
    return states.length === 3 && states.every((s) => /succeeded|failed/.test(s.textContent));
  }, null, { timeout: 15000 });
  await page.waitForTimeout(1500);
  assert.equal(await page.getByTestId('toast').count(), 0, 'no toast for jobs finished before the reload');
  assert.deepEqual(errors, []);
  await context.close();
});

test('phone and desktop widths: two connections and a job detail, no horizontal overflow', async () => {
  for (const [name, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.getByTestId('connect-form').waitFor();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(await overflow() <= 0, `${name}: the connect form overflows by ${await overflow()} px`);
    await page.getByTestId('connect').click();
    await cloudStackFormReady(page);
    await addClm(page);
    await page.getByTestId('clm-name').fill(`clm-${name}`);
    await page.getByTestId('clm-submit').click();
    const row = page.getByTestId('job-row').first();
    await row.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
    await row.click();
    await page.getByTestId('job-detail').waitFor();
    await page.getByTestId('show-raw-answer').click();
    await page.getByTestId('raw-answer').waitFor();
    assert.ok(await overflow() <= 0, `${name}: the page overflows by ${await overflow()} px`);
    await page.screenshot({ path: join(artifacts, `dashboard-${name}-two-connections.png`), fullPage: true });
    assert.deepEqual(errors, []);
    await context.close();
  }
});
