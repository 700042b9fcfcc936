// The first paint: before the simulator arrives the page already shows its title, a drawing of
// the canvas and a loading line (never blank on a slow network), and the app removes it once it
// has drawn itself. Assets are referenced relatively, so the site works under a sub-path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, openPage, chooseTemplate, ROOT } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

test('the page paints before the wasm arrives, and the app replaces the first paint', async () => {
  const page = await env.browser.newPage();
  // Hold the wasm back: what shows meanwhile is the static first paint.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/*.wasm', async (route) => { await held; await route.continue(); });
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
