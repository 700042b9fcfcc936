// The walking skeleton, end to end: the page loads without errors, the core's simulation runs
// while playing and stands still while paused, and messages travel on the canvas.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { start, openPage, simTime, ARTIFACTS } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

test('the simulation advances while playing and stands still while paused', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1100, height: 850 } });
  const button = page.locator('#play-pause');
  if ((await button.getAttribute('aria-pressed')) !== 'true') await button.click();
  assert.equal(await button.getAttribute('aria-pressed'), 'true');

  const t0 = await simTime(page);
  await page.waitForTimeout(700);
  const t1 = await simTime(page);
  assert.ok(t1 > t0, `time should advance while playing: ${t0} -> ${t1}`);

  // Requests and responses are drawn as they travel (ten a second, 30-50 ms each way), painted
  // on the message layer under the SVG (it counts what it painted).
  await page.waitForFunction(() => Number(document.querySelector('.canvas-wrap .message-layer')?.dataset.messages) > 0,
    null, { timeout: 3_000 });
  assert.ok(await page.locator('#canvas g.node[data-node="client"]').count() === 1);
  assert.ok(await page.locator('#canvas g.node[data-node="server"]').count() === 1);

  await button.click();
  assert.equal(await button.getAttribute('aria-pressed'), 'false');
  assert.equal((await button.textContent()).trim(), 'Play');
  const t2 = await simTime(page);
  await page.waitForTimeout(700);
  const t3 = await simTime(page);
  assert.equal(t3, t2, 'time should stand still while paused');

  await button.click();
  await page.waitForTimeout(500);
  assert.ok((await simTime(page)) > t3, 'time should move again after Play');

  await page.screenshot({ path: join(ARTIFACTS, 'skeleton.png') });
  assert.deepEqual(errors, []);
});
