// Sign-in from an embedded widget with third-party cookies blocked, as
// browsers do by default now: the hospital page (localhost) embeds the
// widget of the host (https://127.0.0.1, another site); the widget opens the
// identity provider in a popup, and the session reaches the frame through
// the origin-checked handoff, as a partitioned cookie. Started by
// signin_test.go with SITE_URL, HOST_URL, IDP_URL and CHROMIUM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const SITE = process.env.SITE_URL;
const HOST = process.env.HOST_URL;
const IDP = process.env.IDP_URL;
assert.ok(SITE && HOST && IDP, 'SITE_URL, HOST_URL and IDP_URL are required');

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Block third-party cookies, as the browsers' default now is.
      '--test-third-party-cookie-phaseout',
      // The test host's certificate is self-signed.
      '--ignore-certificate-errors'],
  });
});
after(async () => { await browser?.close(); });

// openProvider clicks the widget's sign-in link and returns the identity
// provider's popup, its form filled in for Camille (not yet sent).
async function openProvider(page, link) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), link.click()]);
  await popup.waitForURL((u) => u.toString().startsWith(IDP), { timeout: 15000 });
  await popup.locator('input[name="username"]').fill('camille.durand@example.test');
  await popup.locator('input[name="password"]').fill('parcours-demo');
  return popup;
}

test('a patient signs in from a widget embedded by another site, third-party cookies blocked', async () => {
  const context = await browser.newContext({ viewport: { width: 420, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const log = [];
  page.on('response', (r) => { if (r.url().includes('/session')) log.push(r.status() + ' ' + r.url()); });
  await page.goto(SITE + '/');
  const handle = await page.locator('parcours-booking iframe').elementHandle();
  const frame = await handle.contentFrame();
  await frame.waitForSelector('button.pc-slot', { timeout: 30000 });
  assert.ok(frame.url().startsWith(HOST + '/w/booking'), `the widget is the host's: ${frame.url()}`);

  // The control: third-party cookies are indeed blocked in this frame, and
  // partitioned ones are kept. Without it the test would prove nothing.
  const jar = await frame.evaluate(() => {
    document.cookie = 'probe_unpartitioned=1; SameSite=None; Secure; Path=/';
    document.cookie = 'probe_partitioned=1; SameSite=None; Secure; Partitioned; Path=/';
    return document.cookie;
  });
  assert.ok(!jar.includes('probe_unpartitioned'), `third-party cookies are not blocked: ${jar}`);
  assert.ok(jar.includes('probe_partitioned'), `partitioned cookies are refused: ${jar}`);

  // "My appointments" asks to sign in; the button opens the provider in a popup.
  await frame.getByRole('button', { name: 'Mes rendez-vous' }).first().click();
  const link = frame.locator('a[data-parcours-signin]').first();
  await link.waitFor();
  const popup = await openProvider(page, link);
  await Promise.all([
    popup.waitForEvent('close', { timeout: 20000 }),
    popup.locator('button[type="submit"]').click(),
  ]);

  // The frame is signed in, without a reload of the page: "my
  // appointments" now offers to sign out.
  await frame.getByRole('button', { name: 'Se déconnecter' }).waitFor({ timeout: 15000 });
  assert.equal(log.filter((l) => l.startsWith('204 ') && l.includes('/api/v1/session/handoff')).length, 1, 'one handoff: ' + JSON.stringify(log));
  const session = await frame.evaluate(async () => (await fetch('/api/v1/session', { credentials: 'same-origin' })).json());
  assert.equal(session.patient?.id, 'pat-camille-durand');
  // The session cookie is the host's, partitioned, HttpOnly (invisible here).
  const cookies = await context.cookies(HOST);
  const sessionCookie = cookies.find((c) => c.name === '__Host-parcours_session');
  assert.ok(sessionCookie, `no session cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
  assert.equal(sessionCookie.httpOnly, true);
  assert.equal(sessionCookie.secure, true);
  assert.ok(!(await frame.evaluate(() => document.cookie)).includes('parcours_session'));
  // The page itself (another site) never sees the host's cookie.
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('parcours'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('a sign-in that ends while a form post is under way still reaches the widget', async () => {
  // Before its Wasm runs, the widget's buttons post its form, one post at
  // a time (frame.js): the session-changed click that ends a sign-in,
  // made while a post was under way, was swallowed, and the post's answer
  // (drawn before the sign-in) left the widget signed out for good.
  // ignoreHTTPSErrors: route.fetch's own requests (the host's certificate is self-signed).
  const context = await browser.newContext({ viewport: { width: 420, height: 900 }, ignoreHTTPSErrors: true });
  await context.route(/\.wasm$/, () => {}); // the Wasm never arrives
  let holding = false, release;
  const held = new Promise((resolve) => { release = resolve; });
  await context.route((u) => u.pathname === '/w/booking', async (route) => {
    if (route.request().method() !== 'POST' || !holding) return route.continue();
    holding = false;
    const response = await route.fetch(); // answered now: before the sign-in
    await held;
    await route.fulfill({ response });
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(SITE + '/');
  const frame = await (await page.locator('parcours-booking iframe').elementHandle()).contentFrame();
  await frame.waitForSelector('button.pc-slot', { timeout: 30000 });
  const mine = frame.getByRole('button', { name: 'Mes rendez-vous' }).first();
  await mine.click();
  const link = frame.locator('a[data-parcours-signin]').first();
  await link.waitFor();
  const popup = await openProvider(page, link);

  // A post under way (its answer held) while the sign-in ends.
  holding = true;
  await mine.click();
  await frame.locator('form.pc-form[aria-busy="true"]').waitFor();
  const handoff = page.waitForResponse((r) => r.url().includes('/api/v1/session/handoff') && r.status() === 204, { timeout: 20000 });
  await Promise.all([
    popup.waitForEvent('close', { timeout: 20000 }),
    popup.locator('button[type="submit"]').click(),
  ]);
  await (await handoff).finished();
  await frame.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0))); // the frame has read the answer
  assert.equal(await frame.getByRole('button', { name: 'Se déconnecter' }).count(), 0, 'the held post is still under way');
  release();

  await frame.getByRole('button', { name: 'Se déconnecter' }).waitFor({ timeout: 15000 });
  assert.deepEqual(errors, []);
  await context.close();
});
