// The first paint: before the simulator arrives the page already shows its title, a drawing of
// the canvas and a loading line (never blank on a slow network), and the app removes it once it
// has drawn itself. Assets are referenced relatively, so the site works under a sub-path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, openPage, ROOT } from './browser.mjs';

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
