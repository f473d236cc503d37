// End-to-end test of <parcours-access> in headless Chromium: a nurse reads
// a patient's document through the API, the patient opens the widget and
// sees that access; he grants the city doctor access by RPPS number, the
// doctor then reads his released documents through the API; the patient
// revokes the access and the doctor's next request no longer sees them.
// The same before the Wasm runs (form posts the host answers) and without
// JavaScript.
// Started by e2e_test.go (SITE_URL, HOST_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, HOST, newPage, signedInHeld, wasmRunning } from './browser.mjs';

const LUCAS = 'pat-lucas-bernard';
const BIOPSY = 'doc-demo-biopsie-renale';
const CITY_DOCTOR = 'pr-paul-mercier';
const CITY_DOCTOR_RPPS = '10000009992';

async function widget(page) {
  const frame = await (await page.locator('parcours-access iframe').elementHandle()).contentFrame();
  await wasmRunning(frame);
  return frame;
}

// api makes a practitioner's requests on the host, with their own cookies.
async function practitioner(page, id) {
  const api = page.context().request;
  const r = await api.post(HOST + '/api/v1/demo/practitioner-session', { data: { practitioner: id }, headers: { Origin: HOST } });
  assert.equal(r.status(), 200, await r.text());
  return api;
}

async function lucasDocuments(api) {
  const r = await api.get(HOST + '/api/v1/establishments/chu-exemple/documents');
  assert.equal(r.status(), 200, await r.text());
  const body = await r.json();
  return (body.documents || []).filter((d) => d.patient === LUCAS);
}

test('a patient sees who read his record, grants the city doctor access by RPPS and revokes it', async () => {
  // A nurse of his service reads his held biopsy report.
  const nursePage = await newPage();
  const nurse = await practitioner(nursePage, 'pr-nathalie-fournier');
  assert.equal((await nurse.get(HOST + '/api/v1/documents/' + BIOPSY)).status(), 200);

  const doctorPage = await newPage();
  const doctor = await practitioner(doctorPage, CITY_DOCTOR);
  assert.equal((await lucasDocuments(doctor)).length, 0, 'no access before the grant');

  const patient = await newPage({ viewport: { width: 320, height: 900 } });
  await patient.goto(SITE + '/acces/');
  const p = await widget(patient);
  await p.locator('select#pc-demo').selectOption(LUCAS);
  await p.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await p.locator('.pc-who', { hasText: 'Lucas' }).waitFor();
  await p.locator('.pc-access-entry[data-operation="getDocument"]', { hasText: 'Nathalie Fournier' }).first().waitFor();

  // An invalid number is refused before any call.
  const rpps = p.getByLabel('Numéro RPPS');
  assert.equal(await rpps.getAttribute('inputmode'), 'numeric');
  await rpps.fill('12345678901');
  await p.getByRole('button', { name: 'Rechercher' }).click();
  await p.locator('#pc-rpps-err', { hasText: 'pas valide' }).waitFor();

  await rpps.fill(CITY_DOCTOR_RPPS);
  await p.getByRole('button', { name: 'Rechercher' }).click();
  await p.locator('h3#pc-step-title:focus', { hasText: 'Donner accès à ce professionnel' }).waitFor();
  await p.locator('.pc-found-name', { hasText: 'Paul Mercier' }).waitFor();
  await p.getByRole('button', { name: 'Donner accès', exact: true }).click();
  await p.locator('.pc-grant[data-active="true"]', { hasText: 'Paul Mercier' }).waitFor();
  await p.locator('[role="status"]', { hasText: 'Accès accordé à Paul Mercier' }).waitFor();
  await patient.locator('#event-log li[data-event="parcours:access-granted"]').waitFor();
  assert.doesNotMatch(await patient.locator('#event-log').textContent(), /Mercier|Lucas/);

  const granted = await lucasDocuments(doctor);
  assert.ok(granted.length > 0, 'the doctor reads his released documents');
  assert.ok(!granted.some((d) => d.id === BIOPSY), 'never the held biopsy');

  await p.getByRole('button', { name: 'Retirer l’accès de Paul Mercier' }).click();
  await p.locator('h3#pc-step-title:focus', { hasText: 'Retirer l’accès de Paul Mercier ?' }).waitFor();
  await p.getByRole('button', { name: 'Oui, retirer l’accès' }).click();
  await p.locator('.pc-grant[data-active="false"]', { hasText: 'Accès retiré le' }).waitFor();
  await patient.locator('#event-log li[data-event="parcours:access-revoked"]').waitFor();

  assert.equal((await lucasDocuments(doctor)).length, 0, 'the next request no longer sees them');
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 320, `no horizontal scroll at 320 px (${width})`);

  assert.deepEqual(patient.errors, []);
  for (const pg of [patient, nursePage, doctorPage]) await pg.context().close();
});

test('before the Wasm runs, a patient grants access (Enter in the field looks up), then the Wasm revokes it', async () => {
  const doctorPage = await newPage();
  const doctor = await practitioner(doctorPage, CITY_DOCTOR);
  const page = await signedInHeld(LUCAS);
  await page.goto(SITE + '/acces/');
  const w = await (await page.locator('parcours-access iframe').elementHandle()).contentFrame();
  const rpps = w.getByLabel('Numéro RPPS');
  await rpps.fill(CITY_DOCTOR_RPPS);
  await rpps.press('Enter'); // the form's default button: the look-up, never a grant's "Retirer"
  await w.locator('#parcours-root[data-screen="confirm-grant"] h3#pc-step-title:focus', { hasText: 'Donner accès à ce professionnel' }).waitFor();
  await w.locator('.pc-found-name', { hasText: 'Paul Mercier' }).waitFor();
  await w.getByRole('button', { name: 'Donner accès', exact: true }).click();
  await w.locator('.pc-grant[data-active="true"]', { hasText: 'Paul Mercier' }).waitFor();
  await page.locator('#event-log li[data-event="parcours:access-granted"]').waitFor();
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'granted before the Wasm');
  assert.ok((await lucasDocuments(doctor)).length > 0, 'the doctor reads his released documents');

  page.release();
  await wasmRunning(w);
  await w.getByRole('button', { name: 'Retirer l’accès de Paul Mercier' }).click(); // handled by the Wasm
  await w.getByRole('button', { name: 'Oui, retirer l’accès' }).click();
  await w.locator('.pc-grant[data-active="false"]', { hasText: 'Accès retiré le' }).first().waitFor();
  await page.locator('#event-log li[data-event="parcours:access-revoked"]').waitFor();
  assert.equal((await lucasDocuments(doctor)).length, 0, 'revoked');
  assert.deepEqual(page.errors, []);
  for (const pg of [page, doctorPage]) await pg.context().close();
});

test('without JavaScript, a patient grants access and revokes it', async () => {
  const doctorPage = await newPage();
  const doctor = await practitioner(doctorPage, CITY_DOCTOR);
  const page = await newPage({ javaScriptEnabled: false });
  const r = await page.context().request.post(HOST + '/api/v1/demo/session', { data: { patient: LUCAS } });
  assert.ok(r.ok(), `demo sign-in: ${r.status()}`);
  await page.goto(HOST + '/w/access?establishment=chu-exemple&lang=fr');
  await page.getByLabel('Numéro RPPS').fill('12345678901');
  await page.getByRole('button', { name: 'Rechercher' }).click();
  await page.locator('#pc-rpps-err', { hasText: 'pas valide' }).waitFor();
  await page.getByLabel('Numéro RPPS').fill(CITY_DOCTOR_RPPS);
  await page.getByRole('button', { name: 'Rechercher' }).click();
  await page.getByRole('button', { name: 'Donner accès', exact: true }).click();
  await page.locator('.pc-grant[data-active="true"]', { hasText: 'Paul Mercier' }).waitFor();
  assert.ok((await lucasDocuments(doctor)).length > 0, 'the doctor reads his released documents');
  await page.getByRole('button', { name: 'Retirer l’accès de Paul Mercier' }).click();
  await page.getByRole('button', { name: 'Oui, retirer l’accès' }).click();
  await page.locator('#parcours-root[data-screen="home"]').waitFor();
  assert.equal(await page.locator('.pc-grant[data-active="true"]').count(), 0);
  assert.equal((await lucasDocuments(doctor)).length, 0, 'revoked');
  for (const pg of [page, doctorPage]) await pg.context().close();
});
