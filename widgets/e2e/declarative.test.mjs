// The booking page's element carries its frame in a declarative shadow root
// (<template shadowrootmode="open"><iframe src=…>): the browser requests the
// widget while it parses the page, before the loader has run. The loader
// adopts that frame (no second request), sizes it, relays its events; it
// corrects a frame whose address does not match the element; and without
// the loader at all, the widget still shows and works in its frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE, HOST, newPage } from './browser.mjs';
import { assertBooked } from './steps.mjs';

// sized waits until the frame of the element at selector is sized by its
// widget (the markup's 480 px give way to the content's height) and
// returns its frames' frameborder attributes: the markup's frame has one.
async function sized(page, selector) {
  await page.waitForFunction((sel) => {
    const f = document.querySelector(sel).shadowRoot.querySelector('iframe');
    return /^\d+px$/.test(f.style.height) && f.style.height !== '480px';
  }, selector, { timeout: 30000 });
  return page.evaluate((sel) => Array.from(document.querySelector(sel).shadowRoot.querySelectorAll('iframe'), (f) => f.getAttribute('frameborder')), selector);
}

// addMarkup opens the demo page, waits for its widget, then adds html (an
// element with its declarative shadow root, parsed as a page's would be)
// in a div#second, and returns the widget documents requested after.
async function addMarkup(page, html) {
  await page.goto(SITE + '/');
  await page.frameLocator('parcours-booking iframe').locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  const docs = widgetDocs(page);
  await page.evaluate((markup) => {
    const div = document.createElement('div');
    div.id = 'second';
    div.setHTMLUnsafe(markup);
    document.querySelector('main').append(div);
  }, html);
  return docs;
}

// widgetDocs counts the widget documents (of the booking widget, or of the
// one at path) the page's frames request.
function widgetDocs(page, path = '/w/booking') {
  const docs = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'document' && r.url().startsWith(HOST + path)) docs.push(r.url());
  });
  return docs;
}

test('the loader adopts the frame of the markup: one request, sized, working', async () => {
  const page = await newPage();
  const docs = widgetDocs(page);
  await page.goto(SITE + '/');
  const w = page.frameLocator('parcours-booking iframe');
  await w.locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  // Sized by the widget, whether the frame reported before or after the
  // loader ran; one frame, the markup's.
  assert.deepEqual(await sized(page, 'parcours-booking'), ['0']);
  assert.equal(docs.length, 1, `the widget is requested once: ${docs.join(' ')}`);
  const u = new URL(docs[0]);
  assert.equal(u.searchParams.get('parent'), new URL(SITE).origin);

  // It works (booking.test.mjs books on this very page, events included).
  await w.locator('button.pc-slot').first().click();
  await w.locator('h3#pc-step-title', { hasText: 'Vérifiez votre rendez-vous' }).waitFor();
  assert.deepEqual(page.errors, [], 'no console error (CSP violations included)');
  await page.context().close();
});

test('the registration page\'s questionnaire carries its frame too, adopted as is', async () => {
  const page = await newPage();
  const docs = widgetDocs(page, '/w/questionnaire');
  await page.goto(SITE + '/inscription/');
  await page.frameLocator('parcours-questionnaire iframe').locator('h2#pc-title', { hasText: 'Inscription à la maternité' }).waitFor({ timeout: 30000 });
  assert.deepEqual(await sized(page, 'parcours-questionnaire'), ['0'], 'one frame: the markup\'s');
  assert.equal(docs.length, 1, `the widget is requested once: ${docs.join(' ')}`);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a frame whose address does not match its element is corrected by the loader', async () => {
  const page = await newPage();
  // Markup for the maternity service whose frame asks for another service
  // and language.
  const origin = encodeURIComponent(new URL(SITE).origin);
  const docs = await addMarkup(page, `<parcours-booking establishment="chu-exemple" service="maternite" lang="fr"><template shadowrootmode="open"><iframe name="from-markup" src="${HOST}/w/booking?establishment=chu-exemple&amp;service=cardiologie&amp;lang=en&amp;parent=${origin}"></iframe></template></parcours-booking>`);
  const w = page.frameLocator('#second parcours-booking iframe');
  await w.locator('h3#pc-step-title', { hasText: 'Maternité' }).waitFor({ timeout: 30000 });
  const last = new URL(docs[docs.length - 1]);
  assert.equal(last.searchParams.get('service'), 'maternite');
  assert.equal(last.searchParams.get('lang'), 'fr');
  const frames = await page.evaluate(() => Array.from(document.querySelector('#second parcours-booking').shadowRoot.querySelectorAll('iframe'), (f) => f.name));
  assert.deepEqual(frames, ['from-markup'], 'one frame: the markup\'s, corrected');
  await page.context().close();
});

test('the markup of `parcours snippet -page` is adopted as is', async () => {
  const page = await newPage();
  // The script tag is the page's already; the element with its frame.
  const html = process.env.EMBED_HTML;
  const docs = await addMarkup(page, html.slice(html.indexOf('<parcours-booking')));
  const w = page.frameLocator('#second parcours-booking iframe');
  await w.locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  assert.deepEqual(await sized(page, '#second parcours-booking'), ['0'], 'one frame: the markup\'s');
  assert.equal(docs.length, 1, `one request: ${docs.join(' ')}`);
  await page.context().close();
});

test('without the loader, the frame of the markup still shows the widget, and it works', async () => {
  const page = await newPage();
  await page.route(HOST + '/parcours.js', (route) => route.abort());
  await page.goto(SITE + '/');
  const w = page.frameLocator('parcours-booking iframe');
  const slot = w.locator('button.pc-slot').first();
  await slot.waitFor({ timeout: 30000 });
  await slot.click();
  await w.locator('h3#pc-step-title', { hasText: 'Vérifiez votre rendez-vous' }).waitFor();
  await page.context().close();
});

// racePage opens a page of the test's site (e2e_test.go's racePages) whose
// loader runs while the element's markup is still being parsed, and checks
// that the loader adopted the markup's frame: one frame, one request.
async function racePage(page, path) {
  const docs = widgetDocs(page);
  await page.goto(SITE + path);
  const w = page.frameLocator('parcours-booking iframe');
  await w.locator('button.pc-slot').first().waitFor({ timeout: 30000 });
  assert.deepEqual(await sized(page, 'parcours-booking'), ['0'], 'one frame: the markup\'s');
  assert.equal(docs.length, 1, `one request: ${docs.join(' ')}`);
  assert.deepEqual(page.errors, []);
}

test('a loader that runs before the element is parsed waits for its frame and adopts it', async () => {
  const page = await newPage();
  // A blocking script tag in the head: the element is defined before the
  // parser reaches it, so it is connected before its shadow root exists.
  await racePage(page, '/course/tete');
  await page.context().close();
});

test('a loader that runs between the element\'s shadow root and its frame adopts the frame', async () => {
  const page = await newPage();
  // The loader runs once the declarative shadow root is attached, before
  // its frame is parsed (the order CI met once with an async script tag).
  await racePage(page, '/course/ombre');
  await page.context().close();
});

// heldStyles opens a page whose stylesheet (site.css: the widgets' theme,
// --parcours-primary and --parcours-radius) is held until the loader has
// run: an async loader may run before the page's CSS has arrived. It
// returns the widget documents the page's frames requested and the page
// element's frames' addresses once the widget shows.
async function heldStyles(page, path, element) {
  const docs = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'document' && r.url().startsWith(HOST + '/w/')) docs.push(r.url());
  });
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route(SITE + '/site.css', async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  await page.goto(SITE + path, { waitUntil: 'commit' });
  // The loader has run and the parser is past the element (the document
  // parsed, or a node after the element, as the loader itself tells):
  // what the loader decides for it is decided (the stylesheet is still
  // held). Polled on a timer: Playwright's default polls on animation
  // frames, and a page whose stylesheet is held renders none (the check
  // then ran once, too early, and never again: CI met it). On a
  // time-out, what the page had.
  const decided = (el) => {
    const e = document.querySelector(el);
    let after = false;
    for (let n = e; n && !after; n = n.parentNode) after = !!n.nextSibling;
    return customElements.get(el) !== undefined && (document.readyState !== 'loading' || after);
  };
  try {
    await page.waitForFunction(decided, element, { timeout: 30000, polling: 50 });
  } catch (e) {
    const seen = await page.evaluate((el) => ({
      readyState: document.readyState, defined: customElements.get(el) !== undefined, element: !!document.querySelector(el),
      resources: performance.getEntriesByType('resource').map((r) => `${r.name} ${Math.round(r.startTime)}-${Math.round(r.responseEnd)}`),
    }), element).catch((x) => x.message);
    throw new Error(`${e.message.split('\n')[0]} (${JSON.stringify(seen)})`);
  }
  assert.equal(await page.evaluate(() => document.querySelector('link[href="/site.css"]').sheet), null, 'the stylesheet is still held');
  release();
  await page.frameLocator(element + ' iframe').locator('h3#pc-step-title, h2#pc-title').first().waitFor({ timeout: 30000 });
  const srcs = await page.evaluate((el) => Array.from(document.querySelector(el).shadowRoot.querySelectorAll('iframe'), (f) => f.src), element);
  return { docs, srcs };
}

test('a loader that runs before the page\'s stylesheet has loaded keeps the markup\'s frame, theme included', async () => {
  // Before: the loader read no theme from the element (the stylesheet not
  // in yet), found the markup's address different and reloaded the frame
  // without the theme: a second request, and whatever the patient had
  // done in the frame lost.
  const page = await newPage();
  const { docs, srcs } = await heldStyles(page, '/', 'parcours-booking');
  assert.equal(docs.length, 1, `the widget is requested once: ${docs.join(' ')}`);
  assert.equal(srcs.length, 1);
  assert.equal(new URL(srcs[0]).searchParams.get('theme-primary'), '#5b2a86', 'the page\'s theme');
  await page.context().close();
});

test('the registration page\'s frame, adopted by a loader that runs before the page\'s stylesheet has loaded, carries the page\'s theme', async () => {
  // The registration page's element carries its frame in its markup,
  // with two theme properties of the page's stylesheet: the loader
  // compares them once the stylesheet is in, and keeps the frame.
  const page = await newPage();
  const { docs, srcs } = await heldStyles(page, '/inscription/', 'parcours-questionnaire');
  assert.equal(docs.length, 1, `the widget is requested once: ${docs.join(' ')}`);
  assert.equal(srcs.length, 1);
  assert.equal(new URL(srcs[0]).searchParams.get('theme-primary'), '#5b2a86', 'the page\'s theme');
  assert.equal(new URL(srcs[0]).searchParams.get('theme-radius'), '6px');
  await page.context().close();
});

test('a frame made by a loader that runs before the page\'s stylesheet has loaded carries the page\'s theme', async () => {
  // The same registration page without the frame in its markup
  // (/sans-cadre/: hospitalsite.Config.LoaderFrames): the loader makes
  // the frame once the page's stylesheet is in, with its theme.
  const page = await newPage();
  const { docs, srcs } = await heldStyles(page, '/sans-cadre/inscription/', 'parcours-questionnaire');
  assert.equal(docs.length, 1, `the widget is requested once: ${docs.join(' ')}`);
  assert.equal(srcs.length, 1);
  assert.equal(new URL(srcs[0]).searchParams.get('theme-primary'), '#5b2a86', 'the page\'s theme');
  assert.equal(new URL(srcs[0]).searchParams.get('theme-radius'), '6px');
  await page.context().close();
});

test('a booking made in the markup\'s frame before the loader runs reaches the page once the loader has adopted the frame', async () => {
  // The frame works without the loader; its events went to a page that
  // did not listen yet, and were lost: the page never learnt of the
  // booking. They are kept and sent again when the loader says hello.
  const page = await newPage();
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route(HOST + '/parcours.js', async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  await page.goto(SITE + '/', { waitUntil: 'domcontentloaded' });
  const w = page.frameLocator('parcours-booking iframe');
  await w.locator('button.pc-slot').first().click({ timeout: 30000 });
  await w.locator('select#pc-demo').selectOption('pat-camille-durand');
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await w.getByRole('button', { name: 'Confirmer le rendez-vous' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Rendez-vous confirmé' }).waitFor();
  assert.equal(await page.evaluate(() => customElements.get('parcours-booking')), undefined, 'the loader is held back');

  release();
  // Adopted: sized by its widget on hello, and the events sent with it.
  assert.deepEqual(await sized(page, 'parcours-booking'), ['0']);
  const entries = page.locator('#event-log li[data-event="parcours:booked"]');
  await entries.first().waitFor();
  assert.equal(await entries.count(), 1, 'the booking reaches the page, once');
  const detail = JSON.parse((await entries.first().textContent()).replace('parcours:booked ', ''));
  assert.match(detail.appointment, /^apt_/);
  assert.deepEqual(page.errors, []);
  // Cancelled, for the other tests: the maternity takes one registration
  // per patient (the demo's booking rule).
  const item = await assertBooked(w, detail.appointment);
  await item.getByRole('button', { name: 'Annuler ce rendez-vous' }).click();
  await item.getByRole('button', { name: 'Oui, annuler' }).click();
  await w.locator(`li.pc-appointment[data-appointment="${detail.appointment}"][data-status="cancelled"]`).waitFor();
  await page.context().close();
});
