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

// signedInPage opens the registration questionnaire with its Wasm held back,
// signs Camille in, deletes her draft (an earlier test's) and begins: the
// first page of questions, server-rendered. With holdScript, frame.js is
// held from then on until releaseScript(): "Commencer" posts by
// navigation, and the page is there before its frame.js has run.
async function signedInPage({ holdScript = false } = {}) {
  const page = await heldPage();
  await page.goto(SITE + '/inscription/');
  const signIn = page.frameLocator('parcours-questionnaire iframe');
  await signIn.locator('select#pc-demo').selectOption('pat-camille-durand');
  await signIn.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await signIn.locator('.pc-who', { hasText: 'Camille' }).waitFor();
  const frame = await (await page.locator('parcours-questionnaire iframe').elementHandle()).contentFrame();
  const status = await frame.evaluate(() => fetch('/api/v1/establishments/chu-exemple/questionnaires/maternite-inscription/draft', { method: 'DELETE' }).then((r) => r.status));
  assert.equal(status, 204, 'the draft deleted');
  let releaseScript = () => {};
  if (holdScript) {
    const held = new Promise((resolve) => { releaseScript = resolve; });
    await page.context().route(/\/frame\.[0-9a-f]+\.js$/, async (route) => {
      await held;
      await route.continue().catch(() => {});
    });
  }
  await page.reload({ waitUntil: 'commit' }); // its load would wait for a held frame.js
  const begin = page.frameLocator('parcours-questionnaire iframe');
  await begin.getByRole('button', { name: 'Commencer', exact: true }).click({ noWaitAfter: true });
  await begin.locator('h3#pc-step-title', { hasText: 'Votre grossesse' }).waitFor();
  const w = await (await page.locator('parcours-questionnaire iframe').elementHandle()).contentFrame();
  return { page, w, releaseScript };
}

// draft is the text of the frame's patient's draft on the host.
const draft = (w) => w.evaluate(() => fetch('/api/v1/establishments/chu-exemple/questionnaires/maternite-inscription/draft').then((r) => r.text()));

test('answers given before the Wasm runs are saved in the draft as they are given', async () => {
  const { page, w } = await signedInPage();
  assert.equal(await draft(w), '', 'no draft yet');
  await w.locator('.pc-qrow[data-link="mat-multiple"]').getByLabel('Non', { exact: true }).check();
  await w.locator('html[data-parcours-saved="1"]').waitFor({ state: 'attached' });
  assert.match(await draft(w), /"mat-multiple"/, 'the answer is in the draft on the host');
  await w.getByLabel('Quel âge avez-vous ?').fill('29');
  await w.getByLabel('Quel âge avez-vous ?').press('Tab'); // the change event
  await w.locator('html[data-parcours-saved="2"]').waitFor({ state: 'attached' });
  assert.match(await draft(w), /"valueInteger":\s*29/, 'the age typed is in the draft');
  // The state the Wasm starts from knows the draft's time: it is the
  // widget's own draft, not one saved in another tab (whose answers would
  // replace the widget's at the next sign-in).
  const updated = JSON.parse(await draft(w)).updated;
  const handed = await w.evaluate(() => JSON.parse(document.getElementById('parcours-state').textContent).draft_saved);
  assert.equal(Date.parse(handed), Date.parse(updated), 'the state handed to the Wasm has the draft saved in the background');
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'the Wasm is held back');

  // The Wasm takes over the answers; it saves at the next step.
  page.release();
  await running(w);
  const imc = w.locator('.pc-qrow[data-link="mat-imc"]').getByLabel('De 18,5 à 24,9', { exact: true });
  await imc.check();
  await w.getByRole('button', { name: 'Suivant' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Vos grossesses précédentes' }).waitFor();
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-parcours-saved')), '2', 'no background save once the Wasm runs');
  await page.close();
});

test('a step posted while a background save is under way waits for it', async () => {
  const { page, w } = await signedInPage();
  // The first save is held until the step has been pressed; the order in
  // which the host receives the posts is recorded.
  const order = [];
  let releaseSave;
  const saveHeld = new Promise((resolve) => { releaseSave = resolve; });
  let first = true;
  await page.context().route((u) => u.pathname === '/w/questionnaire', async (route) => {
    const req = route.request();
    const action = req.method() === 'POST' ? new URLSearchParams(req.postData() || '').get('a') : 'get';
    if (action === 'save' && first) {
      first = false;
      order.push('save (held)');
      await saveHeld;
      order.push('save released');
      await route.continue().catch(() => {});
      return;
    }
    order.push(action);
    await route.continue().catch(() => {});
  });
  await w.getByLabel('Quel âge avez-vous ?').fill('29');
  await w.getByLabel('Quel âge avez-vous ?').press('Tab'); // a save, held
  await w.locator('.pc-qrow[data-link="mat-multiple"]').getByLabel('Non', { exact: true }).check();
  await w.locator('.pc-qrow[data-link="mat-imc"]').getByLabel('De 18,5 à 24,9', { exact: true }).check();
  await w.getByRole('button', { name: 'Suivant' }).click();
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(order, ['save (held)'], 'the step waits for the save under way');
  releaseSave();
  await w.locator('h3#pc-step-title', { hasText: 'Vos grossesses précédentes' }).waitFor();
  assert.deepEqual(order, ['save (held)', 'save released', 'save', 'next'], 'the saves, then the step');
  const d = await draft(w);
  assert.match(d, /"valueInteger":\s*29/);
  assert.match(d, /"mat-imc"/, 'the last answer of the step is in the draft');
  await page.close();
});

test('answers given before the frame script runs are saved once it does', async () => {
  const { page, w, releaseScript } = await signedInPage({ holdScript: true });
  await w.locator('.pc-qrow[data-link="mat-multiple"]').getByLabel('Non', { exact: true }).check();
  assert.equal(await draft(w), '', 'nothing saved without frame.js');
  releaseScript();
  await w.locator('html[data-parcours-saved="1"]').waitFor({ state: 'attached' });
  assert.match(await draft(w), /"mat-multiple"/, 'the answer is in the draft on the host');
  await page.close();
});
