// End-to-end test of the Wasm code cache across two visits of the demo
// hospital page, in headless Chromium with a profile on disk, as a patient's
// browser has (the other tests' contexts are incognito, where Chromium never
// reads the Wasm code cache). V8 compiles a Wasm function the first time it
// runs, on the thread that runs it: without the cache, every visit compiles
// the Wasm's start again on the frame's main thread (1,400 functions in
// the booking widget). Chromium writes the cache through the context that
// compiled the module, the frame's compile worker (wasm/web/compile.js),
// which the frame must therefore keep (wasm/web/frame.js); a terminated
// worker drops it. Chromium writes it once V8 has optimised some code and
// then seen none for a while (--wasm-caching-timeout-ms, 2 s); the flag
// below makes it write at once, so that the test does not wait on that
// heuristic. Started by e2e_test.go (SITE_URL, CHROMIUM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { stopTrace } from './trace.mjs';

const SITE = process.env.SITE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(SITE, 'SITE_URL is required');

// bookingFrame opens the demo page and returns the booking widget's frame
// once its Wasm runs.
async function bookingFrame(page) {
  await page.goto(SITE + '/');
  const frame = await (await page.locator('parcours-booking iframe').elementHandle()).contentFrame();
  await frame.locator('html[data-wasm="running"]').waitFor({ state: 'attached', timeout: 60000 });
  return frame;
}

// traced runs f with a Chromium trace of the Wasm's compilation and
// returns the names of the events seen.
async function traced(page, f) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Tracing.start', {
    transferMode: 'ReturnAsStream',
    traceConfig: { includedCategories: ['v8.wasm', 'disabled-by-default-devtools.timeline'] },
  });
  await f();
  const text = await stopTrace(cdp);
  return new Set(JSON.parse(text).traceEvents.map((e) => e.name));
}

test('a second visit compiles the Wasm from the code cache the first visit wrote, and the widget works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parcours-codecache-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    viewport: { width: 420, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--js-flags=--wasm-caching-timeout-ms=0'],
  });
  try {
    const errors = [];
    context.on('page', (p) => p.on('pageerror', (e) => errors.push(e.message)));
    // First visit: the Wasm runs, and its code cache reaches the disk
    // (Chromium's code cache for Wasm, beside the HTTP cache).
    const first = await context.newPage();
    await bookingFrame(first);
    const cacheDir = join(dir, 'Default', 'Code Cache', 'wasm');
    const written = () => existsSync(cacheDir) && readdirSync(cacheDir).some((f) => /_0$/.test(f));
    for (let i = 0; i < 600 && !written(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(written(), 'the first visit wrote no Wasm code cache (the compile worker gone before Chromium sent it?)');
    await first.close();

    // Second visit: the frame's compile worker takes the module from the
    // code cache, and the widget runs from it.
    const second = await context.newPage();
    let frame;
    const seen = await traced(second, async () => { frame = await bookingFrame(second); });
    assert.ok(seen.has('v8.wasm.moduleCacheHit'), 'the second visit did not use the code cache');
    assert.ok(!seen.has('v8.wasm.moduleCacheInvalid') && !seen.has('v8.wasm.moduleCacheInvalidDigest'), 'the code cache was refused');
    // The widget works from the cached module: a slot pressed shows the
    // confirmation step, in place (no form post).
    let posted = false;
    second.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/w/booking') posted = true; });
    await frame.locator('button.pc-slot').first().click();
    await frame.locator('[data-step="confirm"]').waitFor({ timeout: 30000 });
    assert.equal(posted, false, 'the click was a form post, not the Wasm');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
