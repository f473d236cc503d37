// Browser benchmark of the booking widget, run by `make bench`
// (host/cmd/parcours-bench starts the host and the demo page and reads the
// JSON this prints). For each profile (loopback; Lighthouse's mobile Slow 4G:
// 150 ms RTT, 1.6 Mbps down, 750 kbps up, CPU 4x slower) and cache state
// (cold: a new browser context per run; warm: the same context, primed), it
// measures from the start of navigation:
//   content: the first contentful paint inside the widget's frame (the
//            server-rendered slots);
//   interactive: one click on a slot, until the confirmation step shows
//            (answered by the host as a form post before the Wasm runs, in
//            place by the Wasm after);
// and the bytes transferred. Median of RUNS with min and max.
import { chromium } from 'playwright-core';

const SITE = process.env.SITE_URL;
const RUNS = Number(process.env.RUNS || 5);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!SITE) throw new Error('SITE_URL is required');

const PROFILES = {
  loopback: null,
  slow4g: { latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8, cpu: 4 },
};

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

async function measure(page, profile) {
  const net = await throttle(page, profile);
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

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = [];
try {
  for (const [name, profile] of Object.entries(PROFILES)) {
    // Cold: a fresh context (empty cache) per run.
    const cold = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 412, height: 915 } });
      cold.push(await measure(await ctx.newPage(), profile));
      await ctx.close();
    }
    // Warm: one context, primed once, then measured.
    const warm = [];
    const ctx = await browser.newContext({ viewport: { width: 412, height: 915 } });
    await measure(await ctx.newPage(), null);
    for (let i = 0; i < RUNS; i++) {
      const page = await ctx.newPage();
      warm.push(await measure(page, profile));
      await page.close();
    }
    await ctx.close();
    for (const [cache, runs] of [['cold', cold], ['warm', warm]]) {
      results.push({
        widget: 'booking', profile: name, cache, runs: runs.length,
        content: stats(runs.map((r) => r.content)),
        interactive: stats(runs.map((r) => r.interactive)),
        viaWasm: runs.filter((r) => r.viaWasm).length,
        bytes: stats(runs.map((r) => r.bytes)),
      });
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ chromium: browser.version(), results }));
