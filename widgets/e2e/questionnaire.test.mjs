// End-to-end test of <parcours-questionnaire> in headless Chromium: the
// maternity registration questionnaire on the demo hospital page, answered
// by a patient who reloads half-way, resumes, submits and sees the result,
// then books the consultation it leads to. Started by e2e_test.go (SITE_URL,
// HOST_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, HOST, newPage, wasmRunning } from './browser.mjs';

const frameOf = async (page) => (await page.locator('parcours-questionnaire iframe').elementHandle()).contentFrame();

// waitForWasm waits until the Wasm runs the widget, so that actions are
// handled in place (before that, they are form posts: tested below).
async function waitForWasm(page) {
  const frame = await frameOf(page);
  await wasmRunning(frame);
  return frame;
}

// choose checks the radio of a question (by its linkId) with the given label.
async function choose(w, linkId, label) {
  await w.locator(`.pc-qrow[data-link="${linkId}"]`).getByLabel(label, { exact: true }).check();
}

test('a patient fills in the maternity questionnaire, reloads, resumes, submits and books', async () => {
  const page = await newPage();
  await page.goto(SITE + '/inscription/');
  let w = await waitForWasm(page);
  await w.locator('h2#pc-title', { hasText: 'Inscription à la maternité' }).waitFor();

  await w.locator('select#pc-demo').selectOption('pat-camille-durand');
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await w.getByRole('button', { name: 'Commencer' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Votre grossesse' }).waitFor();
  assert.equal(await w.locator('#pc-progress-text').textContent(), 'Étape 1 sur 5');
  // Focus moved to the step heading for keyboard and screen reader users.
  assert.ok(await w.locator('h3#pc-step-title').evaluate((el) => document.activeElement === el));

  // Inline validation: next with nothing answered.
  await w.getByRole('button', { name: 'Suivant' }).click();
  const ageError = w.locator('.pc-qrow[data-link="mat-age"] .pc-field-error');
  await ageError.waitFor();
  assert.equal(await w.getByLabel('Quel âge avez-vous ?').getAttribute('aria-invalid'), 'true');

  await w.getByLabel('Quel âge avez-vous ?').fill('29');
  await choose(w, 'mat-multiple', 'Non');
  await choose(w, 'mat-imc', 'De 18,5 à 24,9');
  await w.getByRole('button', { name: 'Suivant' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Vos grossesses précédentes' }).waitFor();
  await w.getByLabel(/Combien d'accouchements/).fill('0');
  await w.getByRole('button', { name: 'Suivant' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Votre santé' }).waitFor();
  // Wait for the draft of step 2 to be on the host before reloading.
  await w.locator('p[role="status"]', { hasText: 'Brouillon enregistré.' }).waitFor();

  // Reload half-way: the draft is resumed at the first unanswered step.
  await page.reload();
  w = await waitForWasm(page);
  await w.getByRole('button', { name: 'Reprendre où j’en étais' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Votre santé' }).waitFor();

  await choose(w, 'mat-diabete', 'Oui');
  await choose(w, 'mat-hta', 'Non');
  await choose(w, 'mat-medicaments', 'Non');
  await w.getByRole('button', { name: 'Suivant' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Tabac et alcool' }).waitFor();
  await choose(w, 'mat-tabac', 'Non');
  await choose(w, 'mat-alcool', 'Non');
  await w.getByRole('button', { name: 'Vérifier mes réponses' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Vérifiez vos réponses' }).waitFor();
  assert.match(await w.locator('.pc-review').first().textContent(), /29/);

  await w.getByRole('button', { name: 'Envoyer mes réponses' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Vos réponses ont été envoyées' }).waitFor();
  // Diabetes before the pregnancy: follow-up B, by an obstetrician.
  assert.match(await w.locator('.pc-result-level').textContent(), /Suivi B/);
  assert.equal(await w.locator('.pc-gauge').getAttribute('aria-label'), 'Niveau 4 sur 4');
  await w.locator('.pc-note', { hasText: 'L’équipe soignante a été prévenue' }).waitFor();

  // The page gets parcours:submitted with ids only.
  const entry = page.locator('#event-log li[data-event="parcours:submitted"]');
  await entry.waitFor();
  const detail = JSON.parse((await entry.textContent()).replace('parcours:submitted ', ''));
  assert.deepEqual(Object.keys(detail).sort(), ['questionnaire', 'response']);
  assert.equal(detail.questionnaire, 'maternite-inscription');
  assert.match(detail.response, /^qr-/);

  // The next step books in the maternity, in the same frame, signed in.
  await w.getByRole('link', { name: 'Prendre rendez-vous' }).click();
  const f = await frameOf(page);
  await f.locator('h3#pc-step-title', { hasText: 'Maternité' }).waitFor({ timeout: 30000 });
  assert.match(f.url(), /service=maternite/);

  assert.deepEqual(page.errors, [], 'no console error (CSP violations included)');
  await page.context().close();
});

test('an urgent answer shows the urgent-help numbers at once (EPDS item 10)', async () => {
  const page = await newPage();
  await page.goto(HOST + '/w/questionnaire?establishment=chu-exemple&questionnaire=epds&lang=en');
  await wasmRunning(page);
  await page.locator('select#pc-demo').selectOption('pat-ines-moreau');
  await page.getByRole('button', { name: 'Sign in (demo)' }).click();
  await page.getByRole('button', { name: 'Start' }).click();
  assert.equal(await page.locator('.pc-urgent').count(), 0);
  const item10 = page.locator('.pc-qrow[data-link$="10"] input[type="radio"]').first();
  await item10.check();
  const alert = page.locator('.pc-urgent[role="alert"]');
  await alert.waitFor();
  assert.match(await alert.textContent(), /3114/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('without JavaScript the questionnaire works through form posts', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await page.goto(HOST + '/w/questionnaire?establishment=chu-exemple&questionnaire=gad-7&lang=fr');
  await page.locator('select#pc-demo').selectOption('pat-lucas-bernard');
  await page.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await page.getByRole('button', { name: 'Commencer' }).click();
  const radios = page.locator('.pc-qrow[data-kind="question"]');
  const n = await radios.count();
  assert.ok(n >= 7, `GAD-7 shows its questions (${n})`);
  for (let i = 0; i < n; i++) {
    await radios.nth(i).locator('input[type="radio"]').first().check();
  }
  await page.getByRole('button', { name: /Suivant|Vérifier mes réponses/ }).click();
  while (await page.getByRole('button', { name: 'Envoyer mes réponses' }).count() === 0) {
    const qs = page.locator('.pc-qrow[data-kind="question"]');
    for (let i = 0; i < await qs.count(); i++) await qs.nth(i).locator('input[type="radio"]').first().check();
    await page.getByRole('button', { name: /Suivant|Vérifier mes réponses/ }).click();
  }
  await page.getByRole('button', { name: 'Envoyer mes réponses' }).click();
  await page.locator('h3#pc-step-title', { hasText: 'Vos réponses ont été envoyées' }).waitFor();
  await page.context().close();
});

test('without JavaScript a repeating group keeps its instances from one form post to the next', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await page.goto(HOST + '/w/questionnaire?establishment=chu-exemple&questionnaire=grossesses&lang=fr');
  await page.locator('select#pc-demo').selectOption('pat-camille-durand');
  await page.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await page.getByRole('button', { name: 'Commencer' }).click();
  const years = page.locator('.pc-qrow[data-link="annee"] input');
  // Each "Ajouter" is a form post: the instance it adds, empty, must be
  // there for the next post, with what was typed into it.
  await page.getByRole('button', { name: 'Ajouter' }).click();
  await years.nth(0).fill('2015');
  await page.getByRole('button', { name: 'Ajouter' }).click();
  await years.nth(1).fill('2018');
  await page.getByRole('button', { name: 'Ajouter' }).click();
  await years.nth(2).fill('2021');
  assert.equal(await years.count(), 3);
  // Another tab removes the first; then this tab, whose page is older,
  // removes "the first" too: its fields name the instances they belong to.
  const other = await page.context().newPage();
  await other.goto(HOST + '/w/questionnaire?establishment=chu-exemple&questionnaire=grossesses&lang=fr');
  await other.getByRole('button', { name: 'Reprendre' }).click();
  const otherYears = other.locator('.pc-qrow[data-link="annee"] input');
  assert.deepEqual(await otherYears.evaluateAll(els => els.map(e => e.value)), ['2015', '2018', '']);
  await other.getByRole('button', { name: 'Retirer' }).first().click();
  assert.deepEqual(await otherYears.evaluateAll(els => els.map(e => e.value)), ['2018', '']);
  await page.getByRole('button', { name: 'Retirer' }).first().click();
  assert.deepEqual(await years.evaluateAll(els => els.map(e => e.value)), ['2018', '2021']);
  await page.getByRole('button', { name: 'Vérifier mes réponses' }).click();
  const review = await page.locator('.pc-step').textContent();
  assert.match(review, /2018/);
  assert.match(review, /2021/);
  assert.doesNotMatch(review, /2015/);
  await page.getByRole('button', { name: 'Envoyer mes réponses' }).click();
  await page.locator('h3#pc-step-title', { hasText: 'Vos réponses ont été envoyées' }).waitFor();
  await page.context().close();
});

test('Enter in a field goes on to the next step: it never presses another button of the page', async () => {
  // The form's first button in a repeating group is the first instance's
  // "Retirer": the browser's implicit submission (Enter in a text field)
  // pressed it, without the Wasm as with it.
  for (const javaScriptEnabled of [false, true]) {
    const page = await newPage({ javaScriptEnabled });
    await page.goto(HOST + '/w/questionnaire?establishment=chu-exemple&questionnaire=grossesses&lang=fr');
    if (javaScriptEnabled) await wasmRunning(page.mainFrame());
    await page.locator('select#pc-demo').selectOption('pat-lucas-bernard');
    await page.getByRole('button', { name: 'Se connecter (démo)' }).click();
    await page.locator('.pc-who', { hasText: 'Lucas' }).waitFor();
    const del = await page.context().request.delete(HOST + '/api/v1/establishments/chu-exemple/questionnaires/grossesses/draft');
    assert.equal(del.status(), 204, 'the draft of an earlier run deleted');
    await page.reload();
    if (javaScriptEnabled) await wasmRunning(page.mainFrame());
    await page.getByRole('button', { name: 'Commencer', exact: true }).click();
    const years = page.locator('.pc-qrow[data-link="annee"] input');
    await page.getByRole('button', { name: 'Ajouter' }).click();
    await years.first().waitFor();
    await years.first().fill('2016');
    await years.first().press('Enter');
    await page.locator('h3#pc-step-title', { hasText: 'Vérifiez vos réponses' }).waitFor();
    assert.match(await page.locator('.pc-step').textContent(), /2016/, `the instance is kept (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`);
    await page.context().close();
  }
});
