// Moments on the time line and the charts: the breaker template's open, half-open and closed
// transitions are marked under the time line (buttons with a name, a kind and a time), a click
// seeks to the moment, and the charts' text reads at 12 px or more.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, simTime, setRange, chooseTemplate } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

test('the breaker template marks its transitions on the time line, and a click seeks there', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1280, height: 800 } });
  await chooseTemplate(page, 'A circuit breaker opens, probes and closes');
  await page.click('#play-pause'); // a template plays from zero: pause it
  await setRange(page, '#timeline', 26000);
  await page.waitForSelector('.moment-marks button[data-moment-kind="breaker-closed"]');
  const marks = page.locator('.moment-marks button.moment');
  const kinds = await marks.evaluateAll((bs) => bs.map((b) => [b.dataset.momentKind, Number(b.dataset.timeUs), b.textContent]));
  const of = (k) => kinds.filter(([kind]) => kind === k);
  assert.ok(of('breaker-open').length >= 1, `an open moment: ${JSON.stringify(kinds)}`);
  assert.ok(of('breaker-half-open').length >= 1, 'a half-open moment');
  assert.ok(of('breaker-closed').length >= 1, 'a closed moment');
  const [, openAt] = of('breaker-open')[0];
  const [, closedAt] = of('breaker-closed').at(-1);
  assert.ok(openAt >= 10_000_000 && openAt < closedAt && closedAt <= 25_000_000, `${openAt} then ${closedAt}`);
  // Each a button with a name that says when and what, and a glyph besides the colour.
  const first = page.locator(`.moment-marks button[data-moment-kind="breaker-open"][data-time-us="${openAt}"]`).first();
  const name = await first.evaluate((b) => b.querySelector('.visually-hidden').textContent);
  assert.match(name, /^t = 1\d\.\d{3} s: checkout's breaker opened/);
  assert.equal(await page.getByRole('button', { name }).count() >= 1, true);
  assert.equal(await first.locator('[aria-hidden="true"]').textContent(), 'O');
  // A click seeks to the moment.
  await first.click();
  await page.waitForFunction((t) => document.querySelector('#sim-time').dataset.timeUs === String(t), openAt);
  assert.equal(await simTime(page), openAt);
  assert.equal(await page.textContent('#sim-time'), name.split(':')[0]);
  // Keyboard: the markers take focus, and Enter seeks too.
  const closed = page.locator(`.moment-marks button[data-moment-kind="breaker-closed"][data-time-us="${closedAt}"]`).first();
  await closed.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((t) => document.querySelector('#sim-time').dataset.timeUs === String(t), closedAt);
  assert.equal(await simTime(page), closedAt);
  // The band under the time line: open and half-open are drawn, a half-open at least 4 px wide.
  const band = page.locator('.state-band');
  assert.match(await band.getAttribute('aria-label'), /checkout's breaker: .*open from/);
  const half = band.locator('.band.half-open').first();
  assert.ok((await half.boundingBox()).width >= 4, 'a short half-open stays visible');
  assert.ok(await band.locator('.band.open').count() >= 1);
  // Seeking back keeps the moments ahead (the same run); a fork forgets them.
  await setRange(page, '#timeline', 5000);
  await page.waitForFunction(() => document.querySelector('#sim-time').dataset.timeUs === '5000000');
  assert.ok(await page.locator('.moment-marks [data-moment-kind="breaker-closed"]').count() >= 1);
  await page.click('#canvas g.node[data-node="payments"]');
  await page.click('button.act[data-act="crash"]');
  await page.waitForSelector('.moment-marks [data-moment-kind="crash"][data-time-us="5000000"]');
  assert.equal(await page.locator('.moment-marks [data-moment-kind^="breaker"]').count(), 0);
  assert.match(await page.locator('.moment-marks [data-moment-kind="crash"]').textContent(), /t = 5\.000 s: payments crashed/);
  assert.deepEqual(errors, []);
});

test("the charts' text is at least 12 px on screen, and the rates chart marks the moments", async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1280, height: 800 } });
  await chooseTemplate(page, 'A circuit breaker opens, probes and closes');
  await page.click('#play-pause');
  await setRange(page, '#timeline', 26000);
  await page.waitForFunction(() => document.querySelector('#sim-time').dataset.timeUs === '26000000');
  const sizes = await page.$$eval('.charts figure.chart > svg', (svgs) => svgs.flatMap((svg) => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].map((t) => [t.textContent, Number(t.getAttribute('font-size')) * scale]);
  }));
  assert.ok(sizes.length > 10, 'charts are drawn');
  for (const [text, px] of sizes) assert.ok(px >= 12, `"${text}" at ${px.toFixed(1)} px`);
  assert.ok(sizes.every(([text]) => !/^\d+\.0$/.test(text)), 'integer ticks print as integers');
  const glyphs = await page.$$eval('.charts figure.chart', (fs) => fs
    .filter((f) => f.querySelector('figcaption').textContent.includes('requests per second'))
    .flatMap((f) => [...f.querySelectorAll('svg text')].map((t) => t.textContent.trim())));
  for (const glyph of ['O', 'H', 'C']) assert.ok(glyphs.includes(glyph), `${glyph} on the rates chart`);
  assert.deepEqual(errors, []);
});
