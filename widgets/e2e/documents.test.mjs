// End-to-end test of <parcours-documents> in headless Chromium: a diabetic
// patient opens a PDF report in the widget's viewer and his HbA1c trend (a
// chart and the same values as a table); a nurse of diabetology, in another
// browser, releases the renal biopsy held back until the announcement
// consultation, and the patient then sees it. A patient adds a PDF of her
// own; an HTML page named .pdf is refused before anything is sent.
// Started by e2e_test.go (SITE_URL, HOST_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, HOST, newPage, signedInHeld, wasmRunning } from './browser.mjs';

const BIOPSY = 'doc-demo-biopsie-renale';
const HBA1C = '4548-4';

async function widget(page) {
  const frame = await (await page.locator('parcours-documents iframe').elementHandle()).contentFrame();
  await wasmRunning(frame);
  return frame;
}

async function signIn(w, who, name) {
  await w.locator('select#pc-demo').selectOption(who);
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await w.locator('.pc-who', { hasText: name }).waitFor();
}

test('a patient opens a PDF report and his HbA1c trend; the nurse releases the biopsy and he sees it', async () => {
  const patient = await newPage();
  await patient.goto(SITE + '/documents/');
  const p = await widget(patient);
  await signIn(p, 'pat-lucas-bernard', 'Lucas');
  await p.locator('.pc-count', { hasText: 'documents' }).waitFor();
  assert.equal(await p.locator(`.pc-doc[data-document="${BIOPSY}"]`).count(), 0, 'the held biopsy is not listed');

  // A PDF report, in the browser's own viewer inside the widget.
  const report = p.locator('.pc-doc[data-type="consultation_report"] button').first();
  const title = (await report.locator('.pc-doc-title').textContent()).trim();
  const pdf = patient.waitForResponse((r) => r.url().includes('/content?disposition=inline'));
  await report.click();
  await p.locator('h3#pc-step-title:focus', { hasText: title }).waitFor();
  const viewer = p.locator('iframe.pc-viewer');
  await viewer.waitFor();
  const resp = await pdf;
  assert.equal(resp.status(), 200);
  const headers = await resp.allHeaders();
  assert.equal(headers['content-type'], 'application/pdf');
  assert.match(headers['content-disposition'], /^inline;/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.match(headers['content-security-policy'], /^sandbox; default-src 'none'/);
  assert.match(await viewer.getAttribute('title'), new RegExp(title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(await p.locator('a.pc-btn[download]').textContent(), /Télécharger \(PDF, \d+ ko\)/);

  // The HbA1c trend from the list: a dot per value, the same values in a table.
  await p.getByRole('button', { name: 'Retour à la liste' }).click();
  await p.locator(`.pc-analytes li[data-analyte="${HBA1C}"] button`).click();
  const chart = p.locator('svg.pc-chart[role="img"]');
  await chart.waitFor();
  const dots = await chart.locator('circle').count();
  assert.ok(dots >= 12, `${dots} dots`);
  assert.equal(await p.locator('.pc-trend-table tbody tr').count(), dots);
  assert.match(await chart.getAttribute('aria-label'), /tableau/);
  await p.locator('.pc-chart-box figcaption', { hasText: 'valeurs de référence' }).waitFor();

  // The nurse, in another browser, releases the biopsy after the announcement consultation.
  const nurse = await newPage();
  await nurse.goto(SITE + '/documents/');
  const n = await widget(nurse);
  await signIn(n, 'pr-nathalie-fournier', 'Nathalie Fournier');
  const held = n.locator(`.pc-doc[data-document="${BIOPSY}"]`);
  await held.locator('.pc-badge-held').waitFor();
  await held.locator('button').click();
  await n.getByRole('button', { name: 'Libérer pour le patient' }).click();
  await n.getByRole('button', { name: 'Oui, libérer' }).click();
  await n.locator('.pc-release', { hasText: 'par Nathalie Fournier' }).waitFor();
  await nurse.locator('#event-log li[data-event="parcours:document-released"]').waitFor();

  // Back to his list, the patient sees it, new.
  await p.getByRole('button', { name: 'Retour à la liste' }).click();
  const released = p.locator(`.pc-doc[data-document="${BIOPSY}"][data-new="true"]`);
  await released.waitFor({ timeout: 10000 });
  await released.locator('button').click();
  await p.locator('iframe.pc-viewer').waitFor();

  // The filters apply as he types; Enter in the search posts nothing (the
  // Wasm handles the form's default button) and Filtrer, for pages
  // without the Wasm, is hidden.
  await p.getByRole('button', { name: 'Retour à la liste' }).click();
  const search = p.getByLabel('Rechercher dans les titres');
  await search.fill('zzz introuvable');
  await p.locator('.pc-empty', { hasText: 'Aucun document' }).waitFor();
  let navigated = false;
  p.page().on('framenavigated', (f) => { if (f === p) navigated = true; });
  await search.press('Enter');
  await search.fill('');
  await p.locator('.pc-doc').first().waitFor();
  assert.ok(!navigated, 'Enter in the search did not post the form');
  assert.equal(await p.getByRole('button', { name: 'Filtrer' }).count(), 0, 'Filtrer is hidden once the Wasm runs');

  assert.deepEqual(patient.errors, []);
  assert.deepEqual(nurse.errors, []);
  await patient.context().close();
  await nurse.context().close();
});

test('a patient adds a PDF for her care team; an HTML page named .pdf is refused', async () => {
  const patient = await newPage();
  await patient.goto(SITE + '/documents/');
  const p = await widget(patient);
  await signIn(p, 'pat-camille-durand', 'Camille');
  await p.getByRole('button', { name: 'Ajouter un document' }).click();
  await p.locator('h3#pc-step-title:focus').waitFor();

  await p.locator('input#pc-file').setInputFiles([{ name: 'resultats.pdf', mimeType: 'application/pdf', buffer: Buffer.from('<html><body>hi</body></html>') }]);
  await p.locator('.pc-field-error[role="alert"]', { hasText: 'resultats.pdf' }).waitFor();
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
  await p.locator('input#pc-file').setInputFiles([{ name: 'ordonnance.pdf', mimeType: 'application/pdf', buffer: pdf }]);
  await p.locator('.pc-chosen', { hasText: 'ordonnance.pdf' }).waitFor();
  await p.locator('input#pc-doc-title').fill('Ordonnance du médecin traitant');
  await p.getByRole('button', { name: 'Envoyer', exact: true }).click();

  const added = p.locator('.pc-doc[data-type="patient_document"]', { hasText: 'Ordonnance du médecin traitant' });
  await added.waitFor();
  await patient.locator('#event-log li[data-event="parcours:document-uploaded"]').waitFor();
  assert.doesNotMatch(await patient.locator('#event-log').textContent(), /Ordonnance/);
  assert.deepEqual(patient.errors, []);
  await patient.context().close();
});

test('before the Wasm runs, a report opens by a form post; the Wasm takes over the open report', async () => {
  const page = await signedInHeld('pat-lucas-bernard');
  await page.goto(SITE + '/documents/');
  const w = await (await page.locator('parcours-documents iframe').elementHandle()).contentFrame();
  const report = w.locator('.pc-doc[data-type="consultation_report"] button').first();
  const title = (await report.locator('.pc-doc-title').textContent()).trim();
  await report.click();
  await w.locator('#parcours-root[data-screen="document"] h3#pc-step-title', { hasText: title }).waitFor();
  await w.locator('iframe.pc-viewer').waitFor();
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'opened before the Wasm');

  page.release();
  await wasmRunning(w);
  assert.equal(await w.locator('#parcours-root').getAttribute('data-screen'), 'document', 'the Wasm starts on the open report');
  await w.getByRole('button', { name: 'Retour à la liste' }).click(); // handled by the Wasm
  await w.locator('#parcours-root[data-screen="list"] .pc-doc').first().waitFor();
  await page.context().close();
});

test('before the Wasm runs, a patient adds a PDF by a form post; the Wasm takes over the list', async () => {
  const page = await signedInHeld('pat-camille-durand');
  await page.goto(SITE + '/documents/');
  const w = await (await page.locator('parcours-documents iframe').elementHandle()).contentFrame();
  await w.getByRole('button', { name: 'Ajouter un document' }).click();
  await w.locator('#parcours-root[data-screen="upload"] h3#pc-step-title').waitFor();
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
  await w.locator('input#pc-doc-title').fill('Carte de groupe sanguin');
  await w.locator('input#pc-file').setInputFiles([{ name: 'groupe.pdf', mimeType: 'application/pdf', buffer: pdf }]);
  await w.getByRole('button', { name: 'Envoyer', exact: true }).click();
  await w.locator('#parcours-root[data-screen="list"] .pc-doc[data-type="patient_document"]', { hasText: 'Carte de groupe sanguin' }).waitFor();
  await page.locator('#event-log li[data-event="parcours:document-uploaded"]').waitFor();
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'added before the Wasm');

  page.release();
  await wasmRunning(w);
  assert.equal(await w.locator('.pc-doc', { hasText: 'Carte de groupe sanguin' }).count(), 1);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('without JavaScript, a patient adds a PDF for her care team', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  const r = await page.context().request.post(HOST + '/api/v1/demo/session', { data: { patient: 'pat-camille-durand' } });
  assert.ok(r.ok(), `demo sign-in: ${r.status()}`);
  await page.goto(HOST + '/w/documents?establishment=chu-exemple&lang=fr');
  await page.getByRole('button', { name: 'Ajouter un document' }).click();
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
  await page.locator('input#pc-doc-title').fill('Compte rendu de la sage-femme libérale');
  await page.locator('input#pc-file').setInputFiles([{ name: 'cr.pdf', mimeType: 'application/pdf', buffer: pdf }]);
  await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
  await page.locator('.pc-doc[data-type="patient_document"]', { hasText: 'Compte rendu de la sage-femme libérale' }).waitFor();
  await page.context().close();
});

test('without JavaScript, a patient filters his documents and keeps the filter while reading one', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  const r = await page.context().request.post(HOST + '/api/v1/demo/session', { data: { patient: 'pat-lucas-bernard' } });
  assert.ok(r.ok(), `demo sign-in: ${r.status()}`);
  await page.goto(HOST + '/w/documents?establishment=chu-exemple&lang=fr');
  const all = await page.locator('.pc-doc').count();
  await page.getByLabel('Type de document').selectOption('lab_report');
  await page.getByRole('button', { name: 'Filtrer' }).click();
  await page.locator('.pc-doc').first().waitFor();
  const labs = await page.locator('.pc-doc').count();
  assert.ok(labs > 0 && labs < all, `${labs} of ${all}`);
  assert.equal(await page.locator('.pc-doc:not([data-type="lab_report"])').count(), 0);
  await page.locator('.pc-doc button').first().click();
  await page.getByRole('button', { name: 'Retour à la liste' }).click();
  await page.locator('.pc-doc').first().waitFor();
  assert.equal(await page.locator('.pc-doc').count(), labs, 'the filter is kept');
  await page.getByLabel('Rechercher dans les titres').fill('zzz introuvable');
  await page.getByLabel('Rechercher dans les titres').press('Enter'); // the default button filters
  await page.locator('.pc-empty', { hasText: 'Aucun document' }).waitFor();
  await page.context().close();
});

test('without JavaScript, a patient opens a report and a trend of results', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  const r = await page.context().request.post(HOST + '/api/v1/demo/session', { data: { patient: 'pat-lucas-bernard' } });
  assert.ok(r.ok(), `demo sign-in: ${r.status()}`);
  await page.goto(HOST + '/w/documents?establishment=chu-exemple&lang=fr');
  await page.locator(`.pc-analytes li[data-analyte="${HBA1C}"] button`).click();
  await page.locator('svg.pc-chart[role="img"]').waitFor();
  await page.getByRole('button', { name: 'Retour à la liste' }).click();
  await page.locator('.pc-doc[data-type="consultation_report"] button').first().click();
  await page.locator('iframe.pc-viewer').waitFor();
  await page.context().close();
});

test('an image zooms in place once the Wasm runs, and by form posts before it or without JavaScript', async () => {
  const ECHO = 'doc-demo-echographie-t1';
  const zoom = (w) => w.locator('figure.pc-image').first().getAttribute('data-zoom');

  // Before the Wasm runs: the buttons are the form's, and post.
  const held = await signedInHeld('pat-camille-durand');
  await held.goto(SITE + '/documents/');
  const h = await (await held.locator('parcours-documents iframe').elementHandle()).contentFrame();
  await h.locator(`button[value="open:${ECHO}"]`).click();
  await h.locator('figure.pc-image img').first().waitFor();
  assert.equal(await zoom(h), '100');
  await h.getByRole('button', { name: 'Agrandir l’image' }).click();
  await h.locator('figure.pc-image[data-zoom="150"]').first().waitFor();
  assert.equal(await h.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'zoomed before the Wasm');

  // Once it runs, it takes over the zoomed image and zooms in place: the
  // frame's document stays the same.
  held.release();
  await wasmRunning(h);
  assert.equal(await zoom(h), '150', 'the Wasm starts at the level posted');
  await h.evaluate(() => { window.sameDocument = true; });
  await h.getByRole('button', { name: 'Agrandir l’image' }).click();
  await h.locator('figure.pc-image[data-zoom="200"]').first().waitFor();
  await h.getByRole('button', { name: 'Réduire l’image' }).click();
  await h.locator('figure.pc-image[data-zoom="150"]').first().waitFor();
  assert.equal(await h.evaluate(() => window.sameDocument), true, 'zoomed by the Wasm, without a post');
  await held.context().close();

  // Without JavaScript.
  const page = await newPage({ javaScriptEnabled: false });
  const r = await page.context().request.post(HOST + '/api/v1/demo/session', { data: { patient: 'pat-camille-durand' } });
  assert.ok(r.ok(), `demo sign-in: ${r.status()}`);
  await page.goto(HOST + '/w/documents?establishment=chu-exemple&lang=fr');
  await page.locator(`button[value="open:${ECHO}"]`).click();
  await page.getByRole('button', { name: 'Agrandir l’image' }).click();
  await page.locator('figure.pc-image[data-zoom="150"]').first().waitFor();
  assert.ok(await page.getByRole('button', { name: 'Réduire l’image' }).isEnabled());
  await page.context().close();
});
