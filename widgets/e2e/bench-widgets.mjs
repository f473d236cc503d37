// The messages, documents and access widgets,
// for bench.mjs, each on its page of the demo hospital site, the patient
// signed in before the timing (POST /api/v1/demo/session: the host
// renders their first screen, preloaded with their data). From the start
// of navigation:
//
//   content: the first contentful paint inside the widget's frame (the
//            server-rendered first screen: the threads, the documents, the
//            access log);
//   interactive: the first click that does something, until its result is
//            in the frame's DOM. A thread or a document opens, and an RPPS
//            number is looked up, before the Wasm runs (a form post the
//            frame sends, or a navigation before frame.js runs; after, the
//            Wasm handles it): the click is made as soon as the first
//            screen shows. A scenario without `posts` would wait for the
//            Wasm to have taken over (html[data-wasm="running"] and its
//            parcours:interactive mark);
//
// and the bytes transferred. Times are on the page's clock.

const TIMEOUT = 60000;

// The scenarios: the page, the patient, the control clicked, and what shows
// once the click is handled.
const WIDGETS = [
  {
    widget: 'messages', page: '/messagerie/', patient: 'pat-camille-durand',
    ready: '.pc-thread button', // the first thread, opened
    done: '#parcours-root[data-screen="thread"] .pc-message',
    posts: true,
  },
  {
    widget: 'documents', page: '/documents/', patient: 'pat-lucas-bernard',
    ready: '.pc-doc button', // the first document, opened in the viewer
    done: '#parcours-root[data-screen="document"] h3#pc-step-title',
    posts: true,
  },
  {
    widget: 'access', page: '/acces/', patient: 'pat-lucas-bernard',
    // A mistyped RPPS number (its check digit wrong), looked up: the
    // error shows, found by the widget's state machine without asking the
    // directory (look-ups that reach it are limited to 10 a minute per
    // patient, fewer than the runs).
    fill: ['input#pc-rpps', '10000009993'], ready: 'button.pc-lookup',
    done: '#pc-rpps-err',
    posts: true,
  },
];

// widgetScenarios returns bench.mjs's scenarios for WIDGETS; inPage and
// when are bench.mjs's (no selector engine injected in the page).
export function widgetScenarios(env, inPage, when) {
  const host = env.HOST_URL;
  if (!host) throw new Error('HOST_URL is required');
  return WIDGETS.map((w) => ({
    widget: w.widget, metrics: ['content', 'interactive', 'bytes'],
    setup: async (ctx) => {
      const r = await ctx.request.post(host + '/api/v1/demo/session', { data: { patient: w.patient } });
      if (!r.ok()) throw new Error(`demo sign-in: ${r.status()} ${await r.text()}`);
    },
    measure: async (page, net, site) => {
      await page.goto(site + w.page, { waitUntil: 'commit' });
      const pageOrigin = await page.evaluate(() => performance.timeOrigin);
      const frame = await widgetFrame(page, w.widget);
      await inPage(frame, when, w.ready);
      const content = await inPage(frame, () => new Promise((resolve) => {
        const fcp = () => performance.getEntriesByName('first-contentful-paint')[0];
        const done = (e) => resolve(performance.timeOrigin + e.startTime);
        if (fcp()) return done(fcp());
        new PerformanceObserver((l) => done(l.getEntries()[0])).observe({ type: 'paint', buffered: true });
      }));
      if (!w.posts) {
        await inPage(frame, () => new Promise((resolve) => {
          const ok = () => document.documentElement.getAttribute('data-wasm') === 'running' && performance.getEntriesByName('parcours:interactive').length > 0;
          if (ok()) return resolve();
          const t = setInterval(() => { if (ok()) { clearInterval(t); resolve(); } }, 20);
        }));
      }
      // The click was the Wasm's unless the frame posted the form.
      let posted = false;
      page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/w/' + w.widget) posted = true; });
      const done = inPage(frame, when, w.done).catch(() => null); // null: the frame navigated
      await inPage(frame, ([ready, fill]) => {
        if (fill) {
          const input = document.querySelector(fill[0]);
          input.value = fill[1];
          input.dispatchEvent(new Event('input', { bubbles: true }));
          input.dispatchEvent(new Event('change', { bubbles: true }));
        }
        document.querySelector(ready).click();
      }, [w.ready, w.fill]);
      let interactive = await done;
      if (interactive === null) interactive = await inPage(await widgetFrame(page, w.widget), when, w.done);
      const since = (t) => Math.round(t - pageOrigin);
      return { content: since(content), interactive: since(interactive), viaWasm: !posted, bytes: net.bytes() };
    },
  }));
}

// widgetFrame waits for the widget's frame (its document /w/{name}) to
// have committed: found among the page's frames, without a selector (which
// would inject Playwright's selector engine in the page, see inPage).
async function widgetFrame(page, name) {
  for (;;) {
    const f = page.frames().find((x) => x !== page.mainFrame() && new URL(x.url(), 'http://x').pathname === '/w/' + name);
    if (f) return f;
    await page.waitForEvent('framenavigated', { timeout: TIMEOUT });
  }
}
