// Memory over a long run in headless Chromium: the default scenario made one hour long, played
// at 100x from a link; every few seconds of wall time it samples the virtual time, the wasm
// memory (the module's `memory.buffer.byteLength`, taken from Trunk's start event: wasm memory
// never shrinks, so this is the high-water mark) and the JS heap (CDP's Runtime.getHeapUsage).
// Usage: bash scripts/setup.sh --test && trunk build --release --offline && node bench/memory.mjs [minutes]
// Prints the samples, then one JSON line with the figures; FAULTLINE_DIST picks another build.
import { start, openPage } from '../tests/e2e/browser.mjs';
import { link, longRun } from './longrun.mjs';

const MINUTES = Number(process.argv[2] ?? 60);
const SAMPLE_MS = 3_000;

const env = await start();
try {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Trunk announces the started module with its exports, the memory among them.
  await context.addInitScript(() => {
    addEventListener('TrunkApplicationStarted', (e) => { window.__faultlineWasm = e.detail?.wasm; });
  });
  const { page, errors } = await openPage(context, `${env.url}${link(longRun(MINUTES), 0)}`);
  const cdp = await context.newCDPSession(page);
  const wasmBytes = () => page.evaluate(() => window.__faultlineWasm?.memory?.buffer?.byteLength ?? null);
  if ((await wasmBytes()) === null) throw new Error('the wasm memory is not reachable: did Trunk start the app?');
  await page.selectOption('#speed', '100');
  await page.click('#play-pause');
  const endUs = MINUTES * 60_000_000;
  const mb = (b) => Math.round((b / 1048576) * 10) / 10;
  const samples = [];
  const t0 = Date.now();
  for (;;) {
    await page.waitForTimeout(SAMPLE_MS);
    const virtualUs = Number(await page.getAttribute('#sim-time', 'data-time-us'));
    const heap = await cdp.send('Runtime.getHeapUsage');
    const s = { wall_s: Math.round((Date.now() - t0) / 1000), virtual_s: Math.round(virtualUs / 1e6), wasm_mb: mb(await wasmBytes()), js_heap_mb: mb(heap.usedSize) };
    samples.push(s);
    console.log(JSON.stringify(s));
    if (virtualUs >= endUs || Date.now() - t0 > 20 * 60_000) break;
  }
  const wasm = samples.map((s) => s.wasm_mb);
  const half = samples.filter((s) => s.virtual_s <= (MINUTES * 60) / 2).at(-1) ?? samples[0];
  console.log(JSON.stringify({
    run_minutes: MINUTES,
    reached_virtual_s: samples.at(-1).virtual_s,
    wasm_mb_first: wasm[0],
    wasm_mb_at_half: half.wasm_mb,
    wasm_mb_last: wasm.at(-1),
    wasm_mb_max: Math.max(...wasm),
    js_heap_mb_max: Math.max(...samples.map((s) => s.js_heap_mb)),
    chromium: env.browser.version(),
    errors,
  }));
} finally {
  await env.close();
}
