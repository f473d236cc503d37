// End-to-end test of the Wasm taking over a server-rendered widget that the
// patient has already started to fill in, in headless Chromium: what was
// typed or chosen before the Wasm ran must still be there, and be the
// widget's, once it runs. Started by e2e_test.go (SITE_URL, HOST_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, newPage } from './browser.mjs';

// heldPage opens a page whose Wasm download waits for page.release().
async function heldPage() {
  const page = await newPage();
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  page.release = release;
  await page.context().route(/\.wasm$/, async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  return page;
}

async function running(frame) {
  await frame.waitForSelector('html[data-wasm="running"]', { timeout: 30000 });
  await frame.waitForFunction(() => performance.getEntriesByName('parcours:interactive').length > 0, null, { timeout: 30000 });
}

test('answers given before the Wasm runs are kept when it takes over the questionnaire', async () => {
  const page = await heldPage();
  await page.goto(SITE + '/inscription/');
  const w = await (await page.locator('parcours-questionnaire iframe').elementHandle()).contentFrame();
  await w.locator('select#pc-demo').selectOption('pat-camille-durand');
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await w.getByRole('button', { name: 'Commencer' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Votre grossesse' }).waitFor();
  await w.getByLabel('Quel âge avez-vous ?').fill('29');
  await w.locator('.pc-qrow[data-link="mat-multiple"]').getByLabel('Non', { exact: true }).check();
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'the Wasm is held back');

  page.release();
  await running(w);
  assert.equal(await w.getByLabel('Quel âge avez-vous ?').inputValue(), '29', 'the age typed before the Wasm ran');
  assert.ok(await w.locator('.pc-qrow[data-link="mat-multiple"]').getByLabel('Non', { exact: true }).isChecked(), 'the choice made before the Wasm ran');
  // And they are the widget's: with the last answer of the step, it moves on.
  await w.locator('.pc-qrow[data-link="mat-imc"]').getByLabel('De 18,5 à 24,9', { exact: true }).check();
  await w.getByRole('button', { name: 'Suivant' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Vos grossesses précédentes' }).waitFor();
  assert.equal(await w.locator('.pc-field-error').count(), 0, 'no answer missing');
  await page.close();
});

test('a choice made in a list before the Wasm runs is kept when it takes over the booking', async () => {
  const page = await heldPage();
  await page.goto(SITE + '/');
  const w = await (await page.locator('parcours-booking iframe').elementHandle()).contentFrame();
  await w.locator('button.pc-slot').first().click(); // a form post, answered by the host
  await w.locator('h3#pc-step-title', { hasText: 'Vérifiez votre rendez-vous' }).waitFor();
  await w.locator('select#pc-demo').selectOption('pat-lucas-bernard');
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'the Wasm is held back');

  page.release();
  await running(w);
  assert.equal(await w.locator('select#pc-demo').inputValue(), 'pat-lucas-bernard', 'the patient chosen before the Wasm ran');
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click(); // handled by the Wasm
  await w.locator('.pc-who', { hasText: 'Lucas BERNARD' }).waitFor();
  await page.close();
});
