// What every end-to-end test file shares: the addresses e2e_test.go passes
// (SITE_URL, HOST_URL, OTHER_SITE_URL, CHROMIUM), one headless Chromium per
// file, and pages that record console errors (CSP violations among them).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const SITE = process.env.SITE_URL;
export const HOST = process.env.HOST_URL;
// The same page on an origin the host does not allow.
export const OTHER_SITE = process.env.OTHER_SITE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(SITE && HOST, 'SITE_URL and HOST_URL are required');

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

// newPage opens a page in a new context (a new person: own cookies, own
// cache) with a phone's viewport; page.errors collects the console's errors
// (with their source location when withLocation is set) and uncaught ones.
export async function newPage(options = {}, { withLocation = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 420, height: 900 }, ...options });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(withLocation ? m.text() + ' @' + JSON.stringify(m.location()) : m.text());
  });
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

// wasmRunning waits until the Wasm runs the widget of target (a frame, or
// a page opened on the widget document) and has rendered once: its DOM
// handlers are attached, so that clicks are the Wasm's, not form posts.
// (window.vuguRender is no sign of it: the helper script defines it as the
// document loads, long before the Wasm.)
export async function wasmRunning(target, timeout = 30000) {
  await target.waitForSelector('html[data-wasm="running"]', { timeout });
  await target.waitForFunction(() => performance.getEntriesByName('parcours:interactive').length > 0, null, { timeout });
}

// signedInHeld opens a page whose context is signed in as a demo patient
// (through the host's API, before any widget shows) and whose Wasm
// downloads wait for page.release(): the widgets as a patient sees them
// before their Wasm has arrived.
export async function signedInHeld(patient) {
  const page = await newPage();
  const r = await page.context().request.post(HOST + '/api/v1/demo/session', { data: { patient } });
  if (!r.ok()) throw new Error(`demo sign-in: ${r.status()}`);
  const held = new Promise((resolve) => { page.release = resolve; });
  await page.context().route(/\.wasm$/, async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  return page;
}
