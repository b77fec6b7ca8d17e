// The dashboard in headless Chromium against the reference server: deploy a VM, watch it go
// from pending to succeeded, see a capacity failure.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, launchBrowser, startServer, watchErrors } from './support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ jobDurationMs: 1500 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openDashboard(base = server.url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page);
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'Jobwire' }).waitFor();
  // Session login with the demo user the form starts with.
  assert.equal(await page.getByTestId('username').inputValue(), 'demo');
  await page.getByTestId('connect').click();
  // The pickers fill from listZones / listServiceOfferings / listTemplates.
  await page.locator('[data-testid=zone] option').first().waitFor({ state: 'attached' });
  return { page, errors };
}

test('deploy VM: submit → pending → succeeded with its result', async () => {
  const { page, errors } = await openDashboard();
  await page.getByTestId('vm-name').fill('e2e-web-1');
  await page.getByTestId('deploy').click();

  const row = page.getByTestId('job-row').first();
  await row.waitFor();
  const state = row.getByTestId('job-state');
  assert.equal(await state.textContent(), 'pending', 'a fresh job shows pending');
  await page.screenshot({ path: join(artifacts, 'dashboard-pending.png') });

  await state.filter({ hasText: 'succeeded' }).waitFor({ timeout: 15000 });
  await row.click();
  const result = page.getByTestId('job-result');
  await result.waitFor();
  const vm = JSON.parse(await result.textContent()).virtualmachine;
  assert.equal(vm.name, 'e2e-web-1');
  assert.equal(vm.state, 'Running');
  const resourceId = (await row.locator('td').nth(2).textContent()).trim();
  assert.equal(vm.id, resourceId, 'the result is the VM the submit announced');
  await page.screenshot({ path: join(artifacts, 'dashboard-succeeded.png') });
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
  await page.getByTestId('deploy').waitFor();
  // The refused login shows as a 531 response in the console; nothing else may.
  assert.deepEqual(errors.filter((e) => !e.includes('531')), []);
  await page.close();
});

test('a deploy beyond capacity ends failed with errorcode 533', async () => {
  const { page, errors } = await openDashboard();
  await page.getByTestId('offering').selectOption({ label: 'Huge Instance — 512 vCPU, 8 TB RAM' });
  await page.getByTestId('deploy').click();
  const row = page.getByTestId('job-row').first();
  await row.getByTestId('job-state').filter({ hasText: 'failed' }).waitFor({ timeout: 15000 });
  await row.click();
  const error = await page.getByTestId('job-error').textContent();
  assert.match(error, /^533: .*insufficient capacity/);
  await page.screenshot({ path: join(artifacts, 'dashboard-failed.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('through the gateway: the dashboard on one server drives jobs on another', async () => {
  // A second instance in gateway mode in front of the first, as one would run it before a real
  // CloudStack (which sends no CORS headers).
  const gateway = await startServer({ extraArgs: ['--upstream', `${server.url}/client/api`] });
  try {
    const { page, errors } = await openDashboard(gateway.url);
    await page.getByTestId('deploy').click();
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
