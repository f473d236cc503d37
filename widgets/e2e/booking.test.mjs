// End-to-end test of <parcours-booking> in headless Chromium, as a patient
// uses it: the demo hospital page (one origin) embeds the widget served by the
// Parcours host (another origin). Started by e2e_test.go, which passes
// SITE_URL, HOST_URL and, optionally, SCREENSHOT (a PNG path to write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { SITE, HOST, OTHER_SITE, newPage as openPage, wasmRunning } from './browser.mjs';
import { bookSecondDay, assertBooked } from './steps.mjs';

// newPage opens a page that accepts downloads (the .ics).
const newPage = (options = {}) => openPage({ acceptDownloads: true, ...options });

const widget = (page) => page.frameLocator('parcours-booking iframe');

test('a patient books, gets the confirmation and the event, then cancels after a reload', async () => {
  const page = await newPage();
  const t0 = performance.now();
  await page.goto(SITE + '/');
  const w = widget(page);
  const firstSlot = w.locator('button.pc-slot').first();
  await firstSlot.waitFor({ timeout: 30000 });
  const bookableMs = Math.round(performance.now() - t0);
  console.log(`# bookable slot visible ${bookableMs} ms after navigation (loopback)`);

  // The preset service is chosen; the frame is sized to its content: the
  // widget's report sets its height (the markup's frame has none in its
  // style, a frame the loader makes 30rem, until then).
  await assert.doesNotReject(w.locator('h3#pc-step-title', { hasText: 'Maternité' }).waitFor());
  await page.waitForFunction(() => /^\d+px$/.test(document.querySelector('parcours-booking').shadowRoot.querySelector('iframe').style.height));

  // Choose the second day, a slot, sign in (demo) and confirm.
  const detail = await bookSecondDay(page, w, 'pat-camille-durand', 'Camille DURAND');
  assert.match(detail.appointment, /^apt_/);

  // The .ics download.
  const link = w.getByRole('link', { name: 'Ajouter à mon agenda (.ics)' });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const ics = await readFile(await download.path(), 'utf8');
  assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
  assert.match(ics, new RegExp(`UID:${detail.appointment}@parcours`));
  assert.match(ics, /STATUS:CONFIRMED/);

  if (process.env.SCREENSHOT) {
    await page.locator('parcours-booking').screenshot({ path: process.env.SCREENSHOT });
  }

  // Reload: the session survives; the appointment is in "my appointments".
  await page.reload();
  await widget(page).locator('button.pc-slot').first().waitFor();
  const w2 = widget(page);
  const item = await assertBooked(w2, detail.appointment);

  // Cancel, with a confirmation step.
  await item.getByRole('button', { name: 'Annuler ce rendez-vous' }).click();
  await item.getByRole('button', { name: 'Oui, annuler' }).click();
  await w2.locator(`li.pc-appointment[data-appointment="${detail.appointment}"][data-status="cancelled"]`).waitFor();
  await page.locator('#event-log li[data-event="parcours:cancelled"]').waitFor();

  assert.deepEqual(page.errors, [], 'no console error (CSP violations included)');
  await page.context().close();
});

test('the widget speaks English with lang="en" and works from the keyboard', async () => {
  const page = await newPage();
  await page.goto(SITE + '/en/');
  const w = widget(page);
  await w.locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  await w.locator('h2#pc-title', { hasText: 'Book an appointment' }).waitFor();
  // Keyboard: focus the first slot and press Enter.
  await w.locator('button.pc-slot').first().focus();
  await page.keyboard.press('Enter');
  await w.locator('h3#pc-step-title', { hasText: 'Check your appointment' }).waitFor();
  // Focus moved to the new step's heading.
  const focused = await w.locator('h3#pc-step-title').evaluate((el) => document.activeElement === el);
  assert.ok(focused, 'focus is on the step heading');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the slots are in the server-rendered document, readable without JavaScript', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await page.goto(HOST + '/w/booking?establishment=chu-exemple&service=maternite&lang=fr');
  const slots = page.locator('button.pc-slot');
  assert.ok(await slots.count() > 0, 'server-rendered slots');
  assert.match(await slots.first().getAttribute('aria-label'), /\d{2}:\d{2} avec /);
  assert.equal(await page.locator('#parcours-root').getAttribute('aria-busy'), 'false');
  await page.context().close();
});

test('the Wasm takes over the server-rendered DOM without replacing it', async () => {
  const page = await newPage();
  // Runs in every frame at document start (CDP-injected, outside the CSP):
  // mark the server's nodes before the Wasm can touch them.
  await page.addInitScript(() => {
    document.addEventListener('DOMContentLoaded', () => {
      const slot = document.querySelector('button.pc-slot');
      const title = document.querySelector('#pc-step-title');
      if (slot) slot.parcoursServerNode = true;
      if (title) title.parcoursServerNode = true;
    });
  });
  await page.goto(SITE + '/');
  const frame = await (await page.locator('parcours-booking iframe').elementHandle()).contentFrame();
  // Once the Wasm's first render is done, the nodes are still the server's.
  await wasmRunning(frame);
  const kept = await frame.evaluate(() => ({
    slot: document.querySelector('button.pc-slot')?.parcoursServerNode === true,
    title: document.querySelector('#pc-step-title')?.parcoursServerNode === true,
  }));
  console.log('# kept', JSON.stringify(kept), await frame.evaluate(() => document.querySelectorAll('button.pc-slot').length));
  assert.deepEqual(kept, { slot: true, title: true }, 'server nodes kept by the hydration');
  // And they work: a click on the server's slot button goes to the confirmation.
  await frame.locator('button.pc-slot').first().click();
  await frame.locator('h3#pc-step-title', { hasText: 'Vérifiez votre rendez-vous' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('without WebAssembly (or before it arrives) the widget books through form posts', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await page.goto(HOST + '/w/booking?establishment=chu-exemple&service=consultations&lang=fr');
  await page.locator('button.pc-slot').first().click();
  await page.locator('h3#pc-step-title', { hasText: 'Vérifiez votre rendez-vous' }).waitFor();
  await page.locator('select#pc-demo').selectOption('pat-lucas-bernard');
  await page.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await page.getByRole('button', { name: 'Confirmer le rendez-vous' }).click();
  await page.locator('h3#pc-step-title', { hasText: 'Rendez-vous confirmé' }).waitFor();
  assert.match(await page.locator('dl.pc-summary').textContent(), /Consultations externes/);
  await page.context().close();
});

test('an establishment rule (a plugin) refuses a second maternity registration, with its reason', async () => {
  const page = await newPage();
  await page.goto(SITE + '/');
  const w = widget(page);
  await w.locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  // Wait for the Wasm, so that clicks are handled in place.
  const frame = await (await page.locator('parcours-booking iframe').elementHandle()).contentFrame();
  await frame.waitForSelector('html[data-wasm="running"]');
  await w.locator('button.pc-slot').nth(2).click();
  await w.locator('select#pc-demo').selectOption('pat-ines-moreau');
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await w.getByRole('button', { name: 'Confirmer le rendez-vous' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Rendez-vous confirmé' }).waitFor();
  await w.getByRole('button', { name: 'Prendre un autre rendez-vous' }).click();
  await w.locator('button.pc-choice[data-service="maternite"]').click();
  // Another day than the first booking's: late in the day, the first day
  // shown may have fewer slots left than an index would need. Wait for the
  // service's days and first slots, so that the day clicked is not one of a
  // list about to be replaced.
  await w.locator('button.pc-day[aria-pressed="true"]').waitFor();
  await w.locator('button.pc-slot').first().waitFor();
  const second = w.locator('button.pc-day').nth(1);
  const secondText = (await second.textContent()).trim();
  await second.click();
  await w.locator('button.pc-day[aria-pressed="true"]', { hasText: secondText }).waitFor();
  await w.locator('button.pc-slot').first().click();
  await w.getByRole('button', { name: 'Confirmer le rendez-vous' }).click();
  const alert = w.locator('.pc-error[role="alert"]');
  await alert.waitFor();
  assert.match(await alert.textContent(), /Vous avez déjà une inscription en maternité à venir/);
  assert.equal(await w.getByRole('button', { name: 'Réessayer' }).count(), 0, 'a rule refusal offers no retry');
  assert.deepEqual(page.errors.filter((e) => !/status of 422/.test(e)), []);
  await page.context().close();
});

test('a page on an origin the host does not allow gets no widget', { skip: !OTHER_SITE }, async () => {
  const page = await newPage();
  await page.goto(OTHER_SITE + '/');
  // The loader still creates the frame, but frame-ancestors blocks its document.
  const frame = page.locator('parcours-booking iframe');
  await frame.waitFor({ state: 'attached' });
  await page.waitForTimeout(1500);
  const content = page.frames().find((f) => f.url().startsWith(HOST + '/w/'));
  const mounted = content ? await content.locator('#parcours-root').count().catch(() => 0) : 0;
  assert.equal(mounted, 0, 'the widget document is not rendered in a frame of a disallowed origin');
  await page.context().close();
});
