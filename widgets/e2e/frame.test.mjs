// End-to-end test of the widget frame's form posts before the Wasm runs
// (wasm/web/frame.js), in headless Chromium: the Wasm's download is held
// back while the patient goes through booking steps. The frame answers each
// post in place (fetch, then the host's next screen swapped in) instead of
// navigating, which would abort the download and start it again; once the
// Wasm arrives it hydrates the latest screen. Without an answer in place, the
// form posts the ordinary way. Started by e2e_test.go (SITE_URL, HOST_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, HOST, newPage as openPage } from './browser.mjs';

// gate is a promise the test resolves when it wants.
function gate() {
  let open;
  const p = new Promise((resolve) => { open = resolve; });
  p.open = open;
  return p;
}

// newPage opens the demo hospital page's context with the Wasm held back
// until wasm.open(), and records what the widget's frame asks of the host:
// the Wasm requests, the form posts (fetch or navigation), the frame's
// navigations, and console errors.
async function newPage() {
  const page = await openPage({}, { withLocation: true });
  const context = page.context();
  page.wasm = gate();
  page.wasmRequests = 0;
  await context.route(/\.wasm$/, async (route) => {
    page.wasmRequests++;
    await page.wasm;
    await route.continue().catch(() => {}); // the page may be gone
  });
  page.posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/w/booking') page.posts.push(r);
  });
  // Tag the step heading of every screen the frame swaps in (an expando
  // property: it stays with the node), to tell whether the Wasm kept it.
  await context.addInitScript(() => {
    const parse = DOMParser.prototype.parseFromString;
    DOMParser.prototype.parseFromString = function (...args) {
      const doc = parse.apply(this, args);
      const title = doc.getElementById('pc-step-title');
      if (title) title.parcoursTestNode = true;
      return doc;
    };
  });
  page.navigations = 0;
  page.on('framenavigated', (f) => { if (f !== page.mainFrame() && f.url().startsWith(HOST + '/w/')) page.navigations++; });
  return page;
}

// open loads the demo page and returns the booking widget's frame, with the
// server-rendered slots shown and a marker set in its window.
async function open(page) {
  await page.goto(SITE + '/');
  const frame = await (await page.locator('parcours-booking iframe').elementHandle()).contentFrame();
  await frame.locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  await frame.evaluate(() => { window.parcoursTestMarker = 'same document'; });
  page.navigations = 0; // the frame's first load
  return frame;
}

const marker = (frame) => frame.evaluate(() => window.parcoursTestMarker ?? null);
const wasmState = (frame) => frame.evaluate(() => ({
  wasm: document.documentElement.getAttribute('data-wasm'),
  error: document.documentElement.getAttribute('data-wasm-error'),
}));
const stepTitle = (frame, text) => frame.locator('h3#pc-step-title', { hasText: text }).waitFor();

// titleKept tells whether the step heading is the node swapped in (tagged
// by newPage's init script): the Wasm hydrated it rather than replacing it.
const titleKept = (frame) => frame.evaluate(() => document.getElementById('pc-step-title')?.parcoursTestNode === true);

// hydrated waits until the Wasm has started and rendered once.
async function hydrated(frame) {
  await frame.waitForSelector('html[data-wasm="running"]', { timeout: 30000 });
  await frame.waitForFunction(() => performance.getEntriesByName('parcours:interactive').length > 0, null, { timeout: 30000 });
}

test('before the Wasm arrives, form posts are answered in place, then the Wasm takes over the latest screen', async () => {
  const page = await newPage();
  const frame = await open(page);
  const history = await page.evaluate(() => history.length);
  assert.equal(page.wasmRequests, 1, 'the Wasm is requested once');

  // Another day, then a slot: two form posts, answered without navigating.
  const days = frame.locator('button.pc-day');
  await days.nth(1).click();
  await frame.waitForFunction(() => document.querySelectorAll('button.pc-day')[1]?.getAttribute('aria-pressed') === 'true');
  const slot = frame.locator('button.pc-slot').first();
  const clock = (await slot.textContent()).trim();
  await slot.click();
  await stepTitle(frame, 'Vérifiez votre rendez-vous');
  assert.match(await frame.locator('dl.pc-summary').textContent(), new RegExp(clock));
  assert.ok(await frame.evaluate(() => document.activeElement?.id === 'pc-step-title'), 'focus is on the new step heading');

  // Sign in (demo) and confirm: two more posts; the booking's event reaches
  // the page as it does from the Wasm.
  await frame.locator('select#pc-demo').selectOption('pat-lucas-bernard');
  await frame.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await frame.locator('.pc-who', { hasText: 'Lucas BERNARD' }).waitFor();
  await frame.getByRole('button', { name: 'Confirmer le rendez-vous' }).click();
  await stepTitle(frame, 'Rendez-vous confirmé');
  const entry = page.locator('#event-log li[data-event="parcours:booked"]');
  await entry.waitFor();
  const detail = JSON.parse((await entry.textContent()).replace('parcours:booked ', ''));
  assert.match(detail.appointment, /^apt_/);

  // The frame never navigated: same window, one Wasm download, no history.
  assert.equal(await marker(frame), 'same document');
  assert.equal(page.navigations, 0, 'the frame did not navigate');
  assert.equal(page.wasmRequests, 1, 'the Wasm download was not started again');
  assert.equal(await page.evaluate(() => history.length), history, 'no history entry');
  assert.equal(page.posts.length, 4);
  for (const r of page.posts) {
    assert.equal(r.resourceType(), 'fetch');
    assert.equal((await r.allHeaders()).origin, HOST, 'a same-origin post');
    assert.equal((await r.response()).status(), 200, 'the host\'s cross-origin check lets it through');
  }
  assert.deepEqual(await wasmState(frame), { wasm: null, error: null });
  assert.equal(await frame.locator('#parcours-state').count(), 1, 'one state: the latest screen\'s');
  assert.equal(await frame.locator('#parcours-events').count(), 1);
  assert.equal(await frame.locator('form.pc-form[aria-busy]').count(), 0);

  // The Wasm arrives: it hydrates the confirmation screen in place.
  assert.ok(await titleKept(frame), 'the heading is the one swapped in');
  page.wasm.open();
  await hydrated(frame);
  assert.deepEqual(await wasmState(frame), { wasm: 'running', error: null });
  assert.ok(await titleKept(frame), 'the Wasm kept the swapped-in screen');
  await stepTitle(frame, 'Rendez-vous confirmé');

  // The next clicks are the Wasm's: no form post.
  await frame.getByRole('button', { name: 'Mes rendez-vous' }).first().click();
  const item = frame.locator(`li.pc-appointment[data-appointment="${detail.appointment}"]`);
  await item.waitFor();
  await item.getByRole('button', { name: 'Annuler ce rendez-vous' }).click();
  await item.getByRole('button', { name: 'Oui, annuler' }).click();
  await frame.locator(`li.pc-appointment[data-appointment="${detail.appointment}"][data-status="cancelled"]`).waitFor();
  assert.equal(page.posts.length, 4, 'the Wasm answered without a form post');
  assert.equal(await marker(frame), 'same document');
  assert.equal(page.navigations, 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a Wasm that arrives while a post is under way starts once its answer is in', async () => {
  const page = await newPage();
  // Hold the first form post's answer.
  const answer = gate();
  await page.context().route((url) => url.pathname === '/w/booking', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    await answer;
    await route.continue().catch(() => {});
  });
  const frame = await open(page);
  await frame.locator('button.pc-slot').first().click();
  await frame.locator('form.pc-form[aria-busy="true"]').waitFor();
  // A second click while the first is under way posts nothing more.
  await frame.locator('button.pc-slot').nth(1).click();

  page.wasm.open();
  await frame.waitForFunction(() => performance.getEntriesByName('parcours:wasm-instantiated').length > 0, null, { timeout: 30000 });
  // frame.js starts the Wasm, or defers it, in the task that marks it
  // instantiated: it would be running by now.
  assert.deepEqual(await wasmState(frame), { wasm: null, error: null }, 'the Wasm waits for the answer');

  answer.open();
  await stepTitle(frame, 'Vérifiez votre rendez-vous');
  await hydrated(frame); // its first render done
  assert.ok(await titleKept(frame), 'the Wasm hydrated the answered screen');
  await stepTitle(frame, 'Vérifiez votre rendez-vous');
  assert.equal(page.posts.length, 1, 'one post');
  assert.equal(page.wasmRequests, 1);

  // "Choose another slot" is the Wasm's.
  await frame.getByRole('button', { name: 'Choisir un autre créneau' }).click();
  await frame.locator('button.pc-slot').first().waitFor();
  assert.equal(page.posts.length, 1, 'no form post once the Wasm runs');
  assert.equal(await marker(frame), 'same document');
  assert.equal(page.navigations, 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('when the post cannot be answered in place, the form posts by navigation', async () => {
  const page = await newPage();
  // The frame's fetch fails; an ordinary form post goes through.
  await page.context().route((url) => url.pathname === '/w/booking', (route) => {
    const r = route.request();
    if (r.method() === 'POST' && r.resourceType() === 'fetch') return route.abort();
    return route.continue();
  });
  const frame = await open(page);
  const slot = frame.locator('button.pc-slot').nth(1);
  const clock = (await slot.textContent()).trim();
  await slot.click();
  await stepTitle(frame, 'Vérifiez votre rendez-vous');
  // The chosen slot went with the post.
  assert.match(await frame.locator('dl.pc-summary').textContent(), new RegExp(clock));
  assert.deepEqual(page.posts.map((r) => r.resourceType()), ['fetch', 'document']);
  assert.equal(page.navigations, 1, 'the frame navigated');
  assert.equal(await marker(frame), null, 'a new document');

  // The new document's Wasm still takes over.
  page.wasm.open();
  await hydrated(frame);
  assert.deepEqual(await wasmState(frame), { wasm: 'running', error: null });
  assert.deepEqual(page.errors.filter((e) => !/ERR_FAILED/.test(e)), []);
  await page.context().close();
});

test('the Wasm is fetched and compiled by a worker, once the frame has painted its first content', async () => {
  // On the frame's main thread, the Wasm's body (6.8 MB decoded, handed over
  // at once by a warm cache) and its compilation held back the first paint
  // (fetched from the document's head) and the first click by over a second
  // on a phone (issue 8).
  const page = await newPage();
  const workers = [];
  page.on('worker', (w) => workers.push(new URL(w.url()).pathname));
  page.wasm.open();
  const frame = await open(page);
  await hydrated(frame);
  const t = await frame.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
    resources: performance.getEntriesByType('resource').map((e) => ({ path: new URL(e.name).pathname, start: e.startTime })),
    preloads: document.querySelectorAll('link[rel="preload"]').length,
  }));
  assert.equal(typeof t.fcp, 'number', 'the frame painted');
  assert.deepEqual(t.resources.filter((r) => r.path.endsWith('.wasm')), [], 'the frame itself fetched no Wasm');
  assert.equal(page.wasmRequests, 1, 'one Wasm request');
  assert.equal(workers.length, 1, 'one worker');
  assert.match(workers[0], /^\/a\/compile\.[0-9a-f]+\.js$/);
  const compiler = t.resources.find((r) => r.path === workers[0]);
  assert.ok(compiler, 'the worker script is among the frame\'s resources');
  assert.ok(compiler.start >= t.fcp, `the worker started at ${compiler.start} ms, before the first contentful paint at ${t.fcp} ms`);
  assert.equal(t.preloads, 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
