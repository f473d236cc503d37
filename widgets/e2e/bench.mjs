// Browser benchmark of the widgets, run by `make bench` (host/cmd/parcours-bench
// starts the host, the demo page and the questionnaire pages, and reads the
// JSON this prints). For each profile (loopback; Lighthouse's mobile Slow 4G:
// 150 ms RTT, 1.6 Mbps down, 750 kbps up, CPU 4x slower) and cache state
// (cold: a new browser context per run; warm: the same context, primed), it
// measures from the start of navigation, median of RUNS with min and max:
//
// The booking widget on the demo hospital page:
//   content: the first contentful paint inside the widget's frame (the
//            server-rendered slots);
//   interactive: one click on a slot (mouse input, as soon as the slots
//            are in the frame), until the confirmation step is in the
//            frame's DOM (answered by the host as a form post before the
//            Wasm runs, in place by the Wasm after);
// and the bytes transferred. Times are on the page's clock (from its
// navigation start), read in the page and the frame without Playwright's
// selector engine (see inPage).
//
// The messages, documents and access widgets on their demo pages: the
// first content, and the first click handled, which needs the Wasm
// (bench-widgets.mjs says what each measures).
//
// PHQ-9 in <parcours-questionnaire> and in its peers (LHC-Forms, Medplum's
// QuestionnaireForm): the first question visible, and the first answer
// registered (bench-questionnaire.mjs says what each measures).
//
// For a closer look at one widget (parcours-bench -booking):
//   ONLY=booking       only these scenarios (widget names, comma-separated);
//   PROFILES=slow4g    only these profiles;
//   SITE_URL_B=…       a second demo page (another build of the Wasm): each
//                      run is made on SITE_URL then on SITE_URL_B,
//                      interleaved, and reported as variants A and B;
//   CHROMIUM_ARGS_B=…  more Chromium flags, space-separated, for variant B
//                      (a second browser; on SITE_URL unless SITE_URL_B),
//                      e.g. --js-flags=--no-wasm-lazy-compilation;
//   QUESTIONNAIRE_B=loader-frames  with SITE_URL_B, variant B of the
//                      questionnaire is its element without its frame,
//                      which the loader makes (parcours-bench -questionnaire);
//   TRACE_DIR=…        a Chrome performance trace of each run (open it in
//                      DevTools' Performance panel), named after the run.
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { questionnaireScenarios } from './bench-questionnaire.mjs';
import { widgetScenarios } from './bench-widgets.mjs';
import { stopTrace } from './trace.mjs';

// The variants: [name, demo page URL, browser index] (browsers, below).
const SITES = [['', process.env.SITE_URL, 0]];
if (process.env.SITE_URL_B || process.env.CHROMIUM_ARGS_B) {
  SITES.splice(0, 1, ['A', process.env.SITE_URL, 0], ['B', process.env.SITE_URL_B || process.env.SITE_URL, process.env.CHROMIUM_ARGS_B ? 1 : 0]);
}
const ONLY = process.env.ONLY ? process.env.ONLY.split(',') : null;
const TRACE_DIR = process.env.TRACE_DIR || '';
const RUNS = Number(process.env.RUNS || 5);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!process.env.SITE_URL) throw new Error('SITE_URL is required');

const PROFILES = Object.fromEntries(Object.entries({
  loopback: null,
  slow4g: { latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8, cpu: 4 },
}).filter(([name]) => !process.env.PROFILES || process.env.PROFILES.split(',').includes(name)));

// throttle applies the profile to the page and counts the bytes it receives
// (its frames included).
async function throttle(page, profile) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  if (profile) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: profile.latency,
      downloadThroughput: profile.downloadThroughput, uploadThroughput: profile.uploadThroughput,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: profile.cpu });
  }
  // Dedicated workers (the widget frame compiles its Wasm in one) are
  // targets of their own: their bytes are counted from the browser's
  // session. The page's emulation does NOT cover them, and giving it to
  // them (Network.emulateNetworkConditions through Target.attachToTarget,
  // or auto-attached from the page's session) did not throttle their
  // fetches in Chromium 156: on Slow 4G, a worker's Wasm download is
  // unthrottled, so the Wasm's times are early on a cold cache.
  const b = await page.context().browser().newBrowserCDPSession();
  b.on('Target.receivedMessageFromTarget', ({ message }) => {
    const m = JSON.parse(message);
    if (m.method === 'Network.loadingFinished') bytes += m.params.encodedDataLength;
  });
  b.on('Target.targetCreated', async ({ targetInfo }) => {
    if (targetInfo.type !== 'worker') return;
    try {
      const { sessionId } = await b.send('Target.attachToTarget', { targetId: targetInfo.targetId, flatten: false });
      await b.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Network.enable', params: {} }) });
    } catch { /* gone already */ }
  });
  await b.send('Target.setDiscoverTargets', { discover: true });
  page.once('close', () => b.detach().catch(() => {}));
  return { bytes: () => bytes };
}

// inPage runs fn in a frame's main world and returns its result. Unlike
// Playwright's selectors (waitForSelector, click), it injects nothing: the
// selector engine is a 330 KB script whose evaluation took 100 to 200 ms of
// the throttled main thread, in the page and again in the frame, on the
// critical path of what is measured.
const inPage = (frame, fn, arg) => {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out in ${frame.url()}: ${arg || fn}`)), 60000); });
  return Promise.race([frame.evaluate(fn, arg), limit]).finally(() => clearTimeout(timer));
};

// when resolves with the time (on the frame's clock: its timeOrigin plus
// now) at which selector first matches in the frame's document.
const when = (selector) => new Promise((resolve) => {
  const now = () => performance.timeOrigin + performance.now();
  if (document.querySelector(selector)) return resolve(now());
  const mo = new MutationObserver(() => {
    if (document.querySelector(selector)) {
      mo.disconnect();
      resolve(now());
    }
  });
  mo.observe(document, { childList: true, subtree: true, attributes: true });
});

// bookingFrame waits for the booking widget's frame to have committed its
// document.
async function bookingFrame(page) {
  for (;;) {
    const f = page.frames().find((x) => x !== page.mainFrame() && new URL(x.url(), 'http://x').pathname === '/w/booking');
    if (f) return f;
    await page.waitForEvent('framenavigated', { timeout: 60000 });
  }
}

async function measureBooking(page, net, site, prime) {
  await page.goto(site + '/', { waitUntil: 'commit' });
  const pageOrigin = await page.evaluate(() => performance.timeOrigin);
  const frame = await bookingFrame(page);
  await inPage(frame, when, 'button.pc-slot');
  // First contentful paint of the frame, on the page's clock.
  const content = await inPage(frame, () => new Promise((resolve) => {
    const fcp = () => performance.getEntriesByName('first-contentful-paint')[0];
    const done = (e) => resolve(performance.timeOrigin + e.startTime);
    if (fcp()) return done(fcp());
    new PerformanceObserver((l) => done(l.getEntries()[0])).observe({ type: 'paint', buffered: true });
  }));
  // Click the first slot once, as a patient would (mouse input at its
  // centre), and wait for the confirmation step: before the Wasm runs, the
  // click is a form post the frame sends and swaps in the host's answer
  // (or, failing that, a navigation); after, the Wasm handles it in place.
  // Either way the patient is served.
  // No scrolling: scrolled inside the frame (its first height is the
  // loader's 30rem), the slot moved when the frame was resized to its
  // content and the click landed on another control.
  const box = await inPage(frame, () => {
    const r = document.querySelector('button.pc-slot').getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
  const at = await (await frame.frameElement()).boundingBox();
  const viewport = page.viewportSize();
  if (at.y + box.y > viewport.height || box.y > at.height) throw new Error(`the first slot is out of sight (${JSON.stringify({ box, at })})`);
  // The click was the Wasm's unless the frame posted the form.
  let posted = false;
  page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/w/booking') posted = true; });
  const confirmed = inPage(frame, when, '[data-step="confirm"]').catch(() => null); // null: the frame navigated
  const click = await page.evaluate(() => performance.timeOrigin + performance.now());
  await page.mouse.click(at.x + box.x, at.y + box.y);
  let done, after = frame;
  try {
    done = await confirmed;
    if (done === null) {
      after = await bookingFrame(page);
      done = await inPage(after, when, '[data-step="confirm"]');
    }
  } catch (e) {
    // What the frame showed, to tell a lost click from a slow one.
    const seen = await inPage(after, (p) => ({
      wasm: document.documentElement.getAttribute('data-wasm'), error: document.documentElement.getAttribute('data-wasm-error'),
      step: document.querySelector('[data-step]')?.getAttribute('data-step'), busy: document.querySelector('form[aria-busy]') !== null,
      at: document.elementFromPoint(p.x, p.y)?.outerHTML.slice(0, 120),
    }), box).catch((x) => x.message);
    e.message += ` (clicked at ${JSON.stringify(box)}: ${JSON.stringify(seen)})`;
    throw e;
  }
  const viaWasm = !posted;
  // Priming a warm cache: the Wasm (fetched by a worker, which the page's
  // closing would abort) is in the cache once it runs.
  if (prime) await inPage(after, when, 'html[data-wasm="running"]');
  // When the Wasm was instantiated and had rendered (frame.js's and the Go
  // side's performance marks, on the page's clock; in the document that
  // handled the click: none when it was a form post).
  const marks = await inPage(after, () => Object.fromEntries(['parcours:wasm-instantiated', 'parcours:interactive'].map((n) => {
    const m = performance.getEntriesByName(n)[0];
    return [n, m ? performance.timeOrigin + m.startTime : null];
  })));
  const since = (t) => (t === null ? null : Math.round(t - pageOrigin));
  return {
    content: since(content), click: since(click), interactive: since(done), viaWasm, bytes: net.bytes(),
    wasmInstantiated: since(marks['parcours:wasm-instantiated']), wasmRendered: since(marks['parcours:interactive']),
  };
}

const booking = {
  widget: 'booking', measure: measureBooking, metrics: ['content', 'interactive', 'bytes'],
  // Reported by parcours-bench -booking only (absent from runs without the Wasm).
  extra: ['click', 'wasmInstantiated', 'wasmRendered'],
};

// The booking widget's Wasm start, without a click (ONLY=booking-start,
// for an A/B of two builds): when the Wasm was instantiated and had
// rendered, and the CPU time (V8's sampling profiler, on the throttled
// clock) of go.run: the Go runtime's and packages' initialisation, the
// first build and the hydrating render.
async function measureStart(page, net, site) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  await page.goto(site + '/', { waitUntil: 'commit' });
  const pageOrigin = await page.evaluate(() => performance.timeOrigin);
  const frame = await bookingFrame(page);
  const marks = await inPage(frame, () => new Promise((resolve) => {
    const get = () => ['parcours:wasm-instantiated', 'parcours:interactive'].map((n) => performance.getEntriesByName(n)[0]);
    const check = () => {
      const [i, r] = get();
      if (r) resolve([performance.timeOrigin + i.startTime, performance.timeOrigin + r.startTime]);
      else setTimeout(check, 50);
    };
    check();
  }));
  const { profile } = await cdp.send('Profiler.stop');
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inRun = new Map();
  const isRun = (id) => {
    if (inRun.has(id)) return inRun.get(id);
    const cf = byId.get(id).callFrame;
    const v = (cf.functionName === 'run' && /wasm_exec/.test(cf.url)) || (parent.has(id) && isRun(parent.get(id)));
    inRun.set(id, v);
    return v;
  };
  let goRun = 0;
  for (let i = 0; i < profile.samples.length; i++) if (isRun(profile.samples[i])) goRun += (profile.timeDeltas[i + 1] ?? 0) / 1000;
  return {
    wasmInstantiated: Math.round(marks[0] - pageOrigin), wasmRendered: Math.round(marks[1] - pageOrigin),
    goStart: Math.round(marks[1] - marks[0]), goRunCPU: Math.round(goRun), bytes: net.bytes(),
  };
}

const bookingStart = { widget: 'booking-start', measure: measureStart, metrics: ['wasmInstantiated', 'wasmRendered', 'goStart', 'goRunCPU', 'bytes'] };

// summary is the median, min and max of each of the scenario's metrics over
// the runs, and how many runs the Wasm handled.
function summary(scenario, runs) {
  const out = { viaWasm: runs.filter((r) => r.viaWasm).length };
  for (const m of [...scenario.metrics, ...(scenario.extra || [])]) {
    const s = runs.map((r) => r[m]).filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
    if (s.length) out[m] = { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], n: s.length };
  }
  return out;
}

const newContext = (b = 0) => browsers[b].newContext({ viewport: { width: 412, height: 915 } });

// run measures a scenario RUNS times cold (a new context each) and RUNS times
// warm (one context per site, primed unthrottled), on each site in turn
// (interleaved, so that the machine's load weighs alike on A and B). A
// scenario may prepare a context (setup) and reset what a run changed
// (before), both outside the timing.
async function run(scenario, profile, profileName) {
  const once = async (ctx, p, site, label, variant = '') => {
    await scenario.before?.(ctx);
    const page = await ctx.newPage();
    // What went wrong on the page, to tell why a run failed.
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`); });
    let cdp = null;
    try {
      const net = await throttle(page, p);
      if (TRACE_DIR && label) {
        cdp = await ctx.newCDPSession(page);
        await cdp.send('Tracing.start', {
          transferMode: 'ReturnAsStream',
          traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'blink.user_timing', 'loading', 'v8.execute', 'disabled-by-default-v8.cpu_profiler', 'v8', 'v8.wasm', 'netlog', 'blink.resource', 'toplevel'] },
        });
      }
      const r = await scenario.measure(page, net, site, !label, variant);
      if (cdp) writeFileSync(`${TRACE_DIR}/${scenario.widget}-${label}.json`, await stopTrace(cdp));
      return r;
    } catch (e) {
      if (problems.length) e.message = `${e.message.split('\n')[0]} (${problems.slice(0, 3).join('; ')})`;
      throw e;
    } finally {
      await page.close();
    }
  };
  const out = [];
  const cold = SITES.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, [variant, site, b]] of SITES.entries()) {
      const ctx = await newContext(b);
      try {
        await scenario.setup?.(ctx);
        // Throttled and cold, the frame's compile worker is refused, so the
        // frame falls back to fetching and compiling its Wasm itself:
        // Chromium's network emulation does not throttle a worker's fetch
        // (above), which would bring the Wasm as fast as on loopback. The
        // fallback's compilation holds the main thread, so the cold times
        // after the Wasm are a phone's at worst, never better.
        if (profile) await ctx.route(/\/compile\.[^/]*js(\?|$)/, (route) => route.abort());
        cold[k].push(await once(ctx, profile, site, `${profileName}-cold${variant}-${i}`, variant));
      } finally {
        await ctx.close();
      }
    }
  }
  const warm = SITES.map(() => []);
  const ctxs = [];
  try {
    for (const [variant, site, b] of SITES) {
      const ctx = await newContext(b);
      ctxs.push(ctx);
      await scenario.setup?.(ctx);
      await once(ctx, null, site, '', variant);
    }
    for (let i = 0; i < RUNS; i++) {
      for (const [k, [variant, site]] of SITES.entries()) warm[k].push(await once(ctxs[k], profile, site, `${profileName}-warm${variant}-${i}`, variant));
    }
  } finally {
    for (const ctx of ctxs) await ctx.close();
  }
  for (const [k, [variant]] of SITES.entries()) out.push(['cold', variant, cold[k]], ['warm', variant, warm[k]]);
  return out;
}

const progress = (msg) => process.stderr.write(`bench.mjs: ${msg}\n`);

const launch = (more) => chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', ...more],
});
const browsers = [await launch([])];
if (process.env.CHROMIUM_ARGS_B) browsers.push(await launch(process.env.CHROMIUM_ARGS_B.split(' ').filter(Boolean)));
const browser = browsers[0];
const results = [];
const skipped = [];
try {
  const questionnaires = !ONLY || ONLY.includes('questionnaire') ? questionnaireScenarios(process.env) : [];
  const others = widgetScenarios(process.env, inPage, when);
  for (const [name, profile] of Object.entries(PROFILES)) {
    for (const scenario of [booking, ...others, ...questionnaires, ...(ONLY?.includes('booking-start') ? [bookingStart] : [])].filter((sc) => !ONLY || ONLY.includes(sc.widget))) {
      const label = `${scenario.widget}${scenario.peer ? ' / ' + scenario.peer : ''}`;
      if (skipped.some((s) => s.peer && s.peer === scenario.peer)) continue;
      const t = Date.now();
      let measured;
      try {
        measured = await run(scenario, profile, name);
      } catch (e) {
        if (!scenario.peer) throw e;
        // A page that fails is reported, and the bench goes on.
        const reason = `failed on ${name}: ${String(e.message).split('\n')[0]}`;
        progress(`${label}: ${reason}`);
        skipped.push({ peer: scenario.peer, reason });
        continue;
      }
      progress(`${label}, ${name}: ${2 * RUNS * SITES.length} runs in ${((Date.now() - t) / 1000).toFixed(0)} s`);
      for (const [cache, variant, runs] of measured) {
        results.push({ widget: scenario.widget, peer: scenario.peer, profile: name, cache, variant, runs: runs.length, ...summary(scenario, runs) });
      }
    }
  }
} finally {
  for (const b of browsers) await b.close();
}
console.log(JSON.stringify({ chromium: browser.version(), results, skipped }));
