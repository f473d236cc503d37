// End-to-end test of <parcours-messages> and <parcours-inbox> in headless
// Chromium, with two browser contexts (two people, two sessions): a patient
// writes to the maternity with an attachment, another midwife finds it in her
// inbox and replies, and the patient sees the reply without reloading. Then
// the patient's network fails while she writes: the message waits, shown as
// not sent, and leaves by itself once the network is back, stored once.
// Started by e2e_test.go (SITE_URL, HOST_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, HOST, newPage, signedInHeld, wasmRunning } from './browser.mjs';

async function widget(page, element) {
  const frame = await (await page.locator(element + ' iframe').elementHandle()).contentFrame();
  await wasmRunning(frame);
  return frame;
}

async function signIn(w, who, name) {
  await w.locator('select#pc-demo').selectOption(who);
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await w.locator('.pc-who', { hasText: name }).waitFor();
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

test('a patient writes with an attachment, the midwife replies, the patient sees it without reloading', async () => {
  const patient = await newPage();
  await patient.goto(SITE + '/messagerie/');
  const p = await widget(patient, 'parcours-messages');
  await signIn(p, 'pat-camille-durand', 'Camille');
  await p.locator('.pc-thread[data-thread="thr-demo-maternite"] button').click();
  await p.locator('h3#pc-step-title:focus').waitFor(); // focus moved to the conversation
  // Before writing: the promised response time and what to do in an emergency.
  await p.locator('.pc-response-time', { hasText: 'Réponse sous 2 jours ouvrés' }).waitFor();
  assert.match(await p.locator('.pc-before').textContent(), /appelez le 15/);

  // A page disguised as a PDF is refused before anything is sent.
  await p.locator('input#pc-files').setInputFiles([{ name: 'resultats.pdf', mimeType: 'application/pdf', buffer: Buffer.from('<html><body>hi</body></html>') }]);
  await p.locator('.pc-compose .pc-field-error[role="alert"]', { hasText: 'resultats.pdf' }).waitFor();
  await p.locator('input#pc-files').setInputFiles([{ name: 'echographie.pdf', mimeType: 'application/pdf', buffer: PDF }]);
  await p.locator('.pc-compose .pc-files li', { hasText: 'echographie.pdf' }).waitFor();

  await p.locator('textarea#pc-body').fill('Bonjour, voici le compte rendu de mon échographie.');
  await p.getByRole('button', { name: 'Envoyer', exact: true }).click();
  const mine = p.locator('.pc-message[data-mine="true"]', { hasText: 'compte rendu de mon échographie' });
  await mine.locator('.pc-msg-state', { hasText: 'Envoyé' }).waitFor();
  await mine.locator('a.pc-file', { hasText: 'echographie.pdf' }).waitFor();
  assert.equal(await p.locator('textarea#pc-body').inputValue(), '', 'the composer is emptied');
  // The page learns ids only.
  await patient.locator('#event-log li[data-event="parcours:message-sent"]').waitFor();
  assert.doesNotMatch(await patient.locator('#event-log').textContent(), /échographie/);

  // The midwife, in another browser.
  const midwife = await newPage();
  await midwife.goto(SITE + '/equipe/');
  const m = await widget(midwife, 'parcours-inbox');
  await signIn(m, 'pr-sophie-lefebvre', 'Sophie Lefebvre');
  await m.locator('.pc-tab[data-status="waiting"]').click();
  const entry = m.locator('.pc-thread[data-thread="thr-demo-maternite"]');
  await entry.waitFor();
  assert.notEqual(await entry.getAttribute('data-unread'), '0', 'the new message is unread');
  await entry.locator('button').click();
  const received = m.locator('.pc-message', { hasText: 'compte rendu de mon échographie' });
  await received.waitFor();
  // The attachment downloads with its bytes.
  const href = await received.locator('a.pc-file').getAttribute('href');
  const body = await m.evaluate(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer()).length, href);
  assert.equal(body, PDF.length);
  await m.getByRole('button', { name: 'Me l’attribuer' }).click();
  await m.locator('.pc-note', { hasText: 'Pris en charge par vous' }).waitFor();
  await m.locator('textarea#pc-body').fill('Bien reçu, nous le regarderons ensemble jeudi.');
  await m.getByRole('button', { name: 'Envoyer', exact: true }).click();
  await m.locator('.pc-message[data-mine="true"]', { hasText: 'ensemble jeudi' }).locator('.pc-msg-state', { hasText: 'Envoyé' }).waitFor();

  // The patient sees the reply within the refresh period, without reloading,
  // and her message as read.
  const started = Date.now();
  await p.locator('.pc-message[data-mine="false"]', { hasText: 'ensemble jeudi' }).waitFor({ timeout: 8000 });
  assert.ok(Date.now() - started < 8000);
  await mine.locator('.pc-msg-state', { hasText: 'Lu le' }).waitFor({ timeout: 8000 });

  assert.deepEqual(patient.errors, []);
  assert.deepEqual(midwife.errors, []);
  await patient.context().close();
  await midwife.context().close();
});

test('a message written while the network is down is kept, shown as not sent, and sent once when it returns', async () => {
  const patient = await newPage();
  await patient.goto(SITE + '/messagerie/');
  const p = await widget(patient, 'parcours-messages');
  await signIn(p, 'pat-camille-durand', 'Camille');
  await p.locator('.pc-thread[data-thread="thr-demo-maternite"] button').click();
  await p.locator('textarea#pc-body').waitFor();

  await patient.context().setOffline(true);
  const text = 'Écrit dans un tunnel, envoyé à la sortie.';
  await p.locator('textarea#pc-body').fill(text);
  await p.getByRole('button', { name: 'Envoyer', exact: true }).click();
  const pending = p.locator('.pc-pending[data-state="waiting"]', { hasText: text });
  await pending.locator('.pc-msg-state', { hasText: 'pas de connexion' }).waitFor();
  await pending.getByRole('button', { name: 'Renvoyer' }).waitFor();
  await p.locator('.pc-offline').waitFor({ timeout: 8000 }); // the next refresh failed too

  await patient.context().setOffline(false);
  const sent = p.locator('.pc-message:not(.pc-pending)[data-mine="true"]', { hasText: text });
  await sent.locator('.pc-msg-state', { hasText: 'Envoyé' }).waitFor({ timeout: 8000 });
  await p.locator('.pc-offline').waitFor({ state: 'detached', timeout: 8000 });
  assert.equal(await p.locator('.pc-pending').count(), 0);
  assert.equal(await p.locator('.pc-message', { hasText: text }).count(), 1);

  // Stored once: the conversation as the host lists it.
  const conv = await p.evaluate(async () => (await fetch('/api/v1/threads/thr-demo-maternite')).json());
  assert.equal(conv.messages.filter((m) => m.body === text).length, 1);
  await patient.context().close();
});

test('before the Wasm runs, a thread opens by a form post; what was written and attached meanwhile is sent once it runs', async () => {
  const page = await signedInHeld('pat-camille-durand');
  await page.goto(SITE + '/messagerie/');
  const w = await (await page.locator('parcours-messages iframe').elementHandle()).contentFrame();
  await w.locator('.pc-thread[data-thread="thr-demo-maternite"] button').click();
  await w.locator('#parcours-root[data-screen="thread"] .pc-message', { hasText: 'Fractionnez vos repas' }).waitFor();
  // Written and attached before the Wasm runs: kept, and the file read
  // once it does (its input keeps the file; the widget reads it on change).
  await w.locator('textarea#pc-body').fill('Voici mon bilan sanguin, avant le rendez-vous.');
  await w.locator('input#pc-files').setInputFiles([{ name: 'bilan.pdf', mimeType: 'application/pdf', buffer: PDF }]);
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'opened before the Wasm');

  page.release();
  await wasmRunning(w);
  await w.locator('.pc-compose .pc-files li', { hasText: 'bilan.pdf' }).waitFor();
  assert.equal(await w.locator('textarea#pc-body').inputValue(), 'Voici mon bilan sanguin, avant le rendez-vous.');
  await w.getByRole('button', { name: 'Envoyer', exact: true }).click();
  const mine = w.locator('.pc-message[data-mine="true"]', { hasText: 'Voici mon bilan sanguin' });
  await mine.locator('.pc-msg-state', { hasText: 'Envoyé' }).waitFor();
  await mine.locator('a.pc-file', { hasText: 'bilan.pdf' }).waitFor();
  await page.context().close();
});

test('before the Wasm runs, a message and its file are sent by a form post under the id of its form; the Wasm then takes over the thread', async () => {
  const page = await signedInHeld('pat-camille-durand');
  await page.goto(SITE + '/messagerie/');
  const w = await (await page.locator('parcours-messages iframe').elementHandle()).contentFrame();
  await w.locator('.pc-thread[data-thread="thr-demo-maternite"] button').click();
  await w.locator('#parcours-root[data-screen="thread"] .pc-message', { hasText: 'Fractionnez vos repas' }).waitFor();
  const text = 'Mon échographie du premier trimestre, en pièce jointe.';
  await w.locator('textarea#pc-body').fill(text);
  await w.locator('input#pc-files').setInputFiles([{ name: 'echo.pdf', mimeType: 'application/pdf', buffer: PDF }]);
  const client = await w.locator('#pc-send input[name="client"]').getAttribute('value');
  const posted = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/w/messages');
  await w.getByRole('button', { name: 'Envoyer', exact: true }).click();
  assert.match((await posted).headers()['content-type'], /^multipart\/form-data; boundary=/, 'posted with its file');
  const mine = w.locator('.pc-message[data-mine="true"]', { hasText: text });
  await mine.locator('a.pc-file', { hasText: 'echo.pdf' }).waitFor();
  await w.locator('[role="status"]', { hasText: 'Message envoyé.' }).waitFor();
  await page.locator('#event-log li[data-event="parcours:message-sent"]').waitFor();
  assert.equal(await w.evaluate(() => document.documentElement.getAttribute('data-wasm')), null, 'sent before the Wasm');
  assert.equal(await w.locator('textarea#pc-body').inputValue(), '', 'the composer is empty');
  assert.notEqual(await w.locator('#pc-send input[name="client"]').getAttribute('value'), client, 'the next message has its own id');

  page.release();
  await wasmRunning(w);
  assert.equal(await w.locator('.pc-message', { hasText: text }).count(), 1);
  const conv = await w.evaluate(async () => (await fetch('/api/v1/threads/thr-demo-maternite')).json());
  const stored = conv.messages.filter((m) => m.body === text);
  assert.equal(stored.length, 1, 'stored once');
  assert.equal(stored[0].client_id, client);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('without JavaScript, a patient answers her care team with a file', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  const r = await page.context().request.post(HOST + '/api/v1/demo/session', { data: { patient: 'pat-camille-durand' } });
  assert.ok(r.ok(), `demo sign-in: ${r.status()}`);
  await page.goto(HOST + '/w/messages?establishment=chu-exemple&service=maternite&lang=fr');
  await page.locator('.pc-thread[data-thread="thr-demo-maternite"] button').click();
  const text = 'Envoyé sans JavaScript, avec mon ordonnance.';
  await page.locator('textarea#pc-body').fill(text);
  await page.locator('input#pc-files').setInputFiles([{ name: 'ordonnance.pdf', mimeType: 'application/pdf', buffer: PDF }]);
  await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
  await page.locator('.pc-message[data-mine="true"]', { hasText: text }).locator('a.pc-file', { hasText: 'ordonnance.pdf' }).waitFor();
  await page.context().close();
});

test('before the Wasm runs, a message posted once the session has ended is refused above the widget, its text kept', async () => {
  const page = await signedInHeld('pat-camille-durand');
  await page.goto(SITE + '/messagerie/');
  const w = await (await page.locator('parcours-messages iframe').elementHandle()).contentFrame();
  await w.locator('.pc-thread[data-thread="thr-demo-maternite"] button').click();
  await w.locator('#parcours-root[data-screen="thread"] .pc-message').first().waitFor();
  const text = 'Écrit pendant que la session prenait fin.';
  await w.locator('textarea#pc-body').fill(text);
  // The session ends elsewhere (a sign-out in another tab).
  const out = await page.context().request.delete(HOST + '/api/v1/session', { headers: { Origin: HOST } });
  assert.ok(out.ok(), `sign-out: ${out.status()}`);
  let navigated = false;
  page.on('framenavigated', (f) => { if (f === w) navigated = true; });
  await w.getByRole('button', { name: 'Envoyer', exact: true }).click();
  await w.locator('#parcours-refused[role="alert"]', { hasText: 'reconnectez-vous' }).waitFor();
  assert.equal(await w.locator('textarea#pc-body').inputValue(), text, 'what was written is kept');
  assert.ok(!navigated, 'the post was not sent again by navigation');
  page.release();
  await page.context().close();
});
