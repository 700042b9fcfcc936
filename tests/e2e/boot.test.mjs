// The first paint: before the simulator arrives the page already shows its title, a drawing of
// the canvas and a loading line (never blank on a slow network), and the app removes it once it
// has drawn itself. Assets are referenced relatively, so the site works under a sub-path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, openPage, chooseTemplate, damage, ROOT } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

test('the page paints before the wasm arrives, and the app replaces the first paint', async () => {
  const page = await env.browser.newPage();
  // Hold the wasm back: what shows meanwhile is the static first paint.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route(/_bg\.wasm(\.xz)?$/, async (route) => { await held; await route.continue(); });
  await page.goto(env.url);
  await page.waitForSelector('#boot');
  assert.match(await page.textContent('#boot'), /Faultline.*Loading the simulator/s);
  assert.ok(await page.isVisible('#boot svg'), 'a drawing of the canvas');
  release();
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  assert.equal(await page.locator('#boot').count(), 0, 'the first paint is gone');
  assert.ok(await page.isVisible('#canvas'));
  await page.close();
});

test('the built page names its assets relatively, so it deploys under any sub-path', async () => {
  const html = readFileSync(join(ROOT, 'dist', 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length >= 3, `${refs}`);
  for (const r of refs) assert.ok(!r.startsWith('/'), `relative: ${r}`);
  const { page, errors } = await openPage(env.browser, env.url);
  assert.deepEqual(errors, []);
  await page.close();
});

// The page's wasm is fetched packed as .xz (scripts/pack-wasm.mjs), about a quarter smaller than
// gzip, and decoded as it arrives. If the decoder or the .xz fails, the page loads the plain wasm:
// slower, but never broken.
async function boot(setup) {
  const page = await env.browser.newPage();
  const warnings = [];
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const wasm = [];
  page.on('request', (r) => { if (/faultline-web-.*_bg\.wasm/.test(r.url())) wasm.push(r.url().replace(/.*_bg\./, '')); });
  await setup?.(page);
  await page.goto(env.url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  // The app works, not just shows: the run plays and its time line moves.
  const t0 = Number(await page.inputValue('#timeline'));
  if ((await page.getAttribute('#play-pause', 'aria-pressed')) === 'false') await page.click('#play-pause');
  await page.waitForFunction((t) => Number(document.querySelector('#timeline').value) > t, t0, { timeout: 5_000 });
  await page.close();
  return { warnings, errors, wasm };
}

test('the page fetches its wasm packed as .xz, and only that', async () => {
  const { warnings, errors, wasm } = await boot();
  assert.deepEqual(wasm, ['wasm.xz']);
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings.filter((w) => /packed/.test(w)), []);
});

test('a damaged .xz falls back to the plain wasm, with a warning', async () => {
  const { warnings, errors, wasm } = await boot(async (page) => {
    await damage(page, /_bg\.wasm\.xz$/);
  });
  assert.deepEqual(wasm, ['wasm.xz', 'wasm']);
  assert.ok(warnings.some((w) => /packed simulator did not load/.test(w)), warnings.join('\n'));
  assert.deepEqual(errors, []);
});

test('a missing decoder falls back to the plain wasm', async () => {
  const { warnings, wasm } = await boot(async (page) => {
    await page.route(/xz-decompress-[^/]*\.js$/, (route) => route.fulfill({ status: 404, body: 'not found' }));
  });
  assert.equal(wasm.at(-1), 'wasm');
  assert.ok(warnings.some((w) => /packed simulator did not load.*the xz decoder did not load/.test(w)), warnings.join('\n'));
});

test('templates are not in the first download: one is fetched when picked, and a failed fetch keeps the run', async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const fetched = [];
  page.on('request', (r) => { if (r.url().includes('/scenarios/')) fetched.push(new URL(r.url()).pathname); });
  await page.goto(env.url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  assert.deepEqual(fetched, [], 'no template is fetched at start');
  const first = await page.textContent('#scenario-title');
  // Offline: the pick is said to have failed, and the scenario on screen stays.
  await page.route('**/scenarios/**', (route) => route.abort('internetdisconnected'));
  await page.selectOption('#template', { label: 'A retry storm' });
  await page.waitForSelector('.notice.error-text');
  assert.match(await page.textContent('.notice.error-text'), /“A retry storm” could not be loaded.*offline.*Your scenario is kept/s);
  assert.equal(await page.textContent('#scenario-title'), first);
  assert.equal(await page.locator('[data-loading]').count(), 0, 'not left busy');
  // The picker is back at "a template…", so picking the same one again is a change.
  assert.equal(await page.$eval('#template', (s) => s.value), '');
  // Back online: picking it again opens it, and only its own file was asked for.
  await page.unroute('**/scenarios/**');
  fetched.length = 0;
  await chooseTemplate(page, 'A retry storm');
  assert.deepEqual(fetched, ['/scenarios/retry-storm.json']);
  assert.deepEqual(errors, []);
  await page.close();
});
