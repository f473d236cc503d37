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
//   interactive: one click on a slot, until the confirmation step shows
//            (answered by the host as a form post before the Wasm runs, in
//            place by the Wasm after);
// and the bytes transferred.
//
// PHQ-9 in <parcours-questionnaire> and in its peers (LHC-Forms, Medplum's
// QuestionnaireForm): the first question visible, and the first answer
// registered (bench-questionnaire.mjs says what each measures).
import { chromium } from 'playwright-core';
import { questionnaireScenarios } from './bench-questionnaire.mjs';

const SITE = process.env.SITE_URL;
const RUNS = Number(process.env.RUNS || 5);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!SITE) throw new Error('SITE_URL is required');

const PROFILES = {
  loopback: null,
  slow4g: { latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8, cpu: 4 },
};

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
  return { bytes: () => bytes };
}

async function measureBooking(page, net) {
  const t0 = Date.now();
  await page.goto(SITE + '/', { waitUntil: 'commit' });
  const handle = await page.waitForSelector('parcours-booking iframe', { state: 'attached', timeout: 60000 });
  const frame = await handle.contentFrame();
  await frame.waitForSelector('button.pc-slot', { timeout: 60000 });
  // First contentful paint of the frame, on the page's clock.
  const content = await frame.evaluate(() => new Promise((resolve) => {
    const fcp = () => performance.getEntriesByName('first-contentful-paint')[0];
    const done = (e) => resolve(performance.timeOrigin + e.startTime);
    if (fcp()) return done(fcp());
    new PerformanceObserver((l) => done(l.getEntries()[0])).observe({ type: 'paint', buffered: true });
  }));
  const pageOrigin = await page.evaluate(() => performance.timeOrigin);
  // Click the first slot once and wait for the confirmation step: before the
  // Wasm runs, the click is a form post the host answers with that step;
  // after, the Wasm handles it in place. Either way the patient is served.
  await frame.click('button.pc-slot', { timeout: 60000, noWaitAfter: true });
  const after = page.frames().find((f) => f.url().startsWith(frame.url().split('?')[0])) || frame;
  await after.waitForSelector('[data-step="confirm"]', { timeout: 60000 });
  const interactive = Date.now() - t0;
  const viaWasm = await after.evaluate(() => document.documentElement.getAttribute('data-wasm') === 'running');
  return { content: Math.round(content - pageOrigin), interactive, viaWasm, bytes: net.bytes() };
}

const booking = { widget: 'booking', measure: measureBooking, metrics: ['content', 'interactive', 'bytes'] };

// summary is the median, min and max of each of the scenario's metrics over
// the runs, and how many runs the Wasm handled.
function summary(scenario, runs) {
  const out = { viaWasm: runs.filter((r) => r.viaWasm).length };
  for (const m of scenario.metrics) {
    const s = runs.map((r) => r[m]).sort((a, b) => a - b);
    out[m] = { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
  }
  return out;
}

const newContext = () => browser.newContext({ viewport: { width: 412, height: 915 } });

// run measures a scenario RUNS times cold (a new context each) and RUNS times
// warm (one context, primed unthrottled). A scenario may prepare a context
// (setup) and reset what a run changed (before), both outside the timing.
async function run(scenario, profile) {
  const once = async (ctx, p) => {
    await scenario.before?.(ctx);
    const page = await ctx.newPage();
    // What went wrong on the page, to tell why a run failed.
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`); });
    try {
      return await scenario.measure(page, await throttle(page, p));
    } catch (e) {
      if (problems.length) e.message = `${e.message.split('\n')[0]} (${problems.slice(0, 3).join('; ')})`;
      throw e;
    } finally {
      await page.close();
    }
  };
  const cold = [];
  for (let i = 0; i < RUNS; i++) {
    const ctx = await newContext();
    try {
      await scenario.setup?.(ctx);
      cold.push(await once(ctx, profile));
    } finally {
      await ctx.close();
    }
  }
  const warm = [];
  const ctx = await newContext();
  try {
    await scenario.setup?.(ctx);
    await once(ctx, null);
    for (let i = 0; i < RUNS; i++) warm.push(await once(ctx, profile));
  } finally {
    await ctx.close();
  }
  return [['cold', cold], ['warm', warm]];
}

const progress = (msg) => process.stderr.write(`bench.mjs: ${msg}\n`);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = [];
const skipped = [];
try {
  const questionnaires = questionnaireScenarios(process.env);
  for (const [name, profile] of Object.entries(PROFILES)) {
    for (const scenario of [booking, ...questionnaires]) {
      const label = `${scenario.widget}${scenario.peer ? ' / ' + scenario.peer : ''}`;
      if (skipped.some((s) => s.peer && s.peer === scenario.peer)) continue;
      const t = Date.now();
      let measured;
      try {
        measured = await run(scenario, profile);
      } catch (e) {
        if (!scenario.peer) throw e;
        // A page that fails is reported, and the bench goes on.
        const reason = `failed on ${name}: ${String(e.message).split('\n')[0]}`;
        progress(`${label}: ${reason}`);
        skipped.push({ peer: scenario.peer, reason });
        continue;
      }
      progress(`${label}, ${name}: ${2 * RUNS} runs in ${((Date.now() - t) / 1000).toFixed(0)} s`);
      for (const [cache, runs] of measured) {
        results.push({ widget: scenario.widget, peer: scenario.peer, profile: name, cache, runs: runs.length, ...summary(scenario, runs) });
      }
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ chromium: browser.version(), results, skipped }));
