// End-to-end booking through the Cloudflare Worker: a hospital page (one
// origin) embeds <parcours-booking> of CH Nord, served by the Worker under
// workerd (another origin) in front of the FHIR test server. Started by
// TestWorker (host/cmd/parcours-worker/worker_test.go), which passes
// SITE_URL, HOST_URL (the Worker) and CHROMIUM, and then checks the
// appointment on the FHIR server. The steps are booking.test.mjs's (steps.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, HOST, newPage } from './browser.mjs';
import { bookSecondDay, assertBooked } from './steps.mjs';

test('a patient books through the Worker, with the Wasm from its static assets', async () => {
  const page = await newPage();
  const wasm = page.waitForResponse((r) => r.url().startsWith(HOST + '/a/parcours.') && r.url().endsWith('.wasm'), { timeout: 60000 });
  await page.goto(SITE + '/');
  const w = page.frameLocator('parcours-booking iframe');
  await w.locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  await assert.doesNotReject(w.locator('h3#pc-step-title', { hasText: 'Cardiologie' }).waitFor());

  // The browser Wasm comes from the Worker's static assets, compressed,
  // immutable, and runs in the frame.
  const res = await wasm;
  assert.equal(res.status(), 200);
  const h = await res.allHeaders();
  assert.equal(h['content-type'], 'application/wasm');
  assert.equal(h['cache-control'], 'public, max-age=31536000, immutable');
  assert.ok(['br', 'gzip'].includes(h['content-encoding']), `Content-Encoding ${h['content-encoding']}`);
  const frame = await (await page.locator('parcours-booking iframe').elementHandle()).contentFrame();
  await frame.waitForSelector('html[data-wasm="running"]', { timeout: 60000 });

  // Choose the second day, a slot, sign in (demo) and confirm.
  const detail = await bookSecondDay(page, w, 'pat-camille-durand', 'Camille DURAND');
  // For TestWorker, which looks the appointment up on the FHIR server.
  console.log(`# booked ${detail.appointment}`);

  // Reload: the session (in the Worker's isolate) survives.
  await page.reload();
  const w2 = page.frameLocator('parcours-booking iframe');
  await w2.locator('button.pc-slot').first().waitFor();
  await assertBooked(w2, detail.appointment);

  assert.deepEqual(page.errors, [], 'no console error (CSP violations included)');
  await page.context().close();
});
