// The first load on a slow network: serves dist/ as a static host does (gzip, or brotli with
// --br: the .gz/.br files beside each asset when the build wrote them, else compressed on the
// fly at the highest level), throttles Chromium to "Fast 3G" through the DevTools protocol
// (Network.emulateNetworkConditions: 1.6 Mbps down, 750 kbps up, 150 ms round trip), opens the
// page with an empty cache and prints, per run and as the median:
//   paint_ms   first contentful paint (the static #boot: title, drawing, loading line)
//   ready_ms   the app's first render (body[data-ready="1"], the boot screen removed)
//   bytes      bytes over the wire (compressed), and per file
// With --cpu N the page's CPU is also slowed N times (Emulation.setCPUThrottlingRate), as a
// phone's is: the wasm's decoding and compiling then weigh more against the download.
// Usage: trunk build --release --offline && node bench/load.mjs [--runs 3] [--br] [--cpu 4] [--dist DIR]
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { chromium } from './playwright.mjs';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Math.min(Math.max(Number(opt('--runs', '3')) || 3, 1), 20);
const encoding = args.includes('--br') ? 'br' : 'gzip';
const cpu = Math.min(Math.max(Number(opt('--cpu', '1')) || 1, 1), 20);
const dist = resolve(opt('--dist', join(ROOT, 'dist')));
if (!existsSync(join(dist, 'index.html'))) {
  console.error(`no site in ${dist}: run trunk build --release --offline first`);
  process.exit(2);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.wasm', '.css', '.json', '.svg']);
const cache = new Map();
function body(file) {
  if (cache.has(file)) return cache.get(file);
  const ext = extname(file);
  let out = { data: readFileSync(file), enc: null, from: 'raw' };
  if (COMPRESSIBLE.has(ext)) {
    const pre = `${file}.${encoding === 'br' ? 'br' : 'gz'}`;
    if (existsSync(pre)) out = { data: readFileSync(pre), enc: encoding, from: 'precompressed' };
    else if (encoding === 'br') {
      out = { data: brotliCompressSync(out.data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }), enc: 'br', from: 'on the fly' };
    } else out = { data: gzipSync(out.data, { level: 9 }), enc: 'gzip', from: 'on the fly' };
  }
  cache.set(file, out);
  return out;
}

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = normalize(join(dist, path));
  if (file !== dist && !file.startsWith(dist + sep)) return res.writeHead(403).end();
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  if (!existsSync(file)) return res.writeHead(404).end('not found');
  const b = body(file);
  const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
  if (b.enc) headers['content-encoding'] = b.enc;
  res.writeHead(200, headers).end(b.data);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.FAULTLINE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function once() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // The moment the app marks itself ready, on the page's own clock (as paint entries are).
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.body?.dataset.ready === '1') {
        window.__readyMs = performance.now();
        obs.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-ready'] });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (cpu > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpu });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: 1.6e6 / 8, // bytes per second
    uploadThroughput: 750e3 / 8,
  });
  const urls = new Map();
  const files = {};
  const failed = [];
  // Requests still open: the page may mark itself ready a moment before the browser closes a
  // download it has already read all of (the packed wasm's end of stream), so bytes are counted
  // once every request has finished, while the ready time is the one the page marked.
  const open = new Set();
  cdp.on('Network.requestWillBeSent', (e) => open.add(e.requestId));
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  const nameOf = (id) => (urls.get(id) ?? '?').replace(url, '') || 'index.html';
  cdp.on('Network.loadingFinished', (e) => {
    open.delete(e.requestId);
    const name = nameOf(e.requestId);
    files[name] = (files[name] ?? 0) + e.encodedDataLength;
  });
  // A request the browser marks failed still cost what it received: under this throttling,
  // Chromium reports the packed wasm as aborted just after its last byte has arrived (it does
  // not without throttling), so its bytes are the sum of what arrived.
  const received = new Map();
  cdp.on('Network.dataReceived', (e) => received.set(e.requestId, (received.get(e.requestId) ?? 0) + e.encodedDataLength));
  cdp.on('Network.loadingFailed', (e) => {
    open.delete(e.requestId);
    const name = nameOf(e.requestId);
    files[name] = (files[name] ?? 0) + (received.get(e.requestId) ?? 0);
    failed.push(`${name}: ${e.errorText}`);
  });
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.__readyMs !== undefined, null, { timeout: 120_000, polling: 50 });
  const t = await page.evaluate(() => ({
    paint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    ready: window.__readyMs,
  }));
  for (let waited = 0; open.size > 0 && waited < 10_000; waited += 50) await new Promise((ok) => setTimeout(ok, 50));
  await context.close();
  const bytes = Object.values(files).reduce((a, b) => a + b, 0);
  return { paint_ms: Math.round(t.paint), ready_ms: Math.round(t.ready), bytes, files, ...(failed.length ? { failed } : {}) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const all = [];
  for (let i = 0; i < runs; i++) {
    const r = await once();
    all.push(r);
    console.log(JSON.stringify({ run: i + 1, ...r }));
  }
  console.log(JSON.stringify({
    network: 'Fast 3G: 1.6 Mbps down, 750 kbps up, 150 ms RTT',
    encoding,
    cpu_slowdown: cpu,
    served: [...new Set([...cache.values()].map((b) => b.from))].join(', '),
    runs,
    median_paint_ms: median(all.map((r) => r.paint_ms)),
    median_ready_ms: median(all.map((r) => r.ready_ms)),
    median_bytes: median(all.map((r) => r.bytes)),
    chromium: browser.version(),
  }));
} finally {
  await browser.close();
  server.close();
}
