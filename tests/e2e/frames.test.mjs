// The message layer: messages in flight are painted on a canvas that lies exactly under the SVG
// canvas, sharp on a HiDPI screen, and each retry carries its attempt number, so a retry storm
// reads as many numbered messages, at a size one can read on a desktop and on a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, setRange, chooseTemplate } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

/** Opens the retry-storm template, paused. */
async function storm(page) {
  // A phone keeps the template picker behind the options menu.
  if (await page.isVisible('#menu-button')) await page.click('#menu-button');
  await chooseTemplate(page, 'A retry storm');
  await page.waitForFunction(() => document.querySelector('#scenario-title')?.textContent === 'A retry storm');
  if (await page.getAttribute('#play-pause', 'aria-pressed') === 'true') await page.click('#play-pause');
}

/** Seeks to `ms` and returns what the layer says it drew there. */
async function layerAt(page, ms) {
  await setRange(page, '#timeline', ms);
  await page.waitForFunction((us) => Number(document.querySelector('#sim-time').dataset.timeUs) === us, ms * 1000);
  return page.$eval('.message-layer', (el) => ({
    messages: Number(el.dataset.messages),
    numbered: Number(el.dataset.numbered),
    top: Number(el.dataset.topAttempt),
    px: Number(el.dataset.labelPx),
  }));
}

/** The layer's pixels that are neither transparent nor white: what it painted. */
async function paintedPixels(page) {
  return page.$eval('.message-layer', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && !(d[i] > 240 && d[i + 1] > 240 && d[i + 2] > 240)) n++;
    return n;
  });
}

/** Moments of the storm, 100 ms apart, and what was drawn at each. */
async function sweep(page, fromMs, toMs) {
  const seen = [];
  for (let ms = fromMs; ms <= toMs; ms += 100) seen.push(await layerAt(page, ms));
  return seen;
}

test('a retry storm is drawn as numbered messages, readable at 1280 px', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1280, height: 800 } });
  await storm(page);
  const calm = await sweep(page, 1_000, 2_000);
  assert.ok(calm.some((l) => l.messages > 0), 'messages travel in the calm start');
  assert.ok(calm.every((l) => l.numbered === 0), 'first attempts carry no number');
  const stormy = await sweep(page, 16_000, 18_000);
  const numbered = stormy.filter((l) => l.numbered > 0);
  assert.ok(numbered.length > stormy.length / 2, `numbers at ${numbered.length} of ${stormy.length} moments`);
  assert.ok(Math.max(...stormy.map((l) => l.top)) >= 3, `attempts up to #${Math.max(...stormy.map((l) => l.top))}`);
  assert.ok(numbered.every((l) => l.px >= 11), `text at ${numbered[0]?.px} px`);
  // What the attributes say was painted is in the bitmap.
  const at = 16_000 + 100 * stormy.findIndex((l) => l.numbered > 0);
  await layerAt(page, at);
  assert.ok(await paintedPixels(page) > 50, 'dots and numbers are painted');
  assert.deepEqual(errors, []);
});

test('the layer lies exactly under the SVG canvas, with a device pixel per pixel', async () => {
  const { page, errors } = await openPage(env.browser, env.url,
    { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 2 });
  const boxes = await page.evaluate(() => {
    const svg = document.querySelector('#canvas').getBoundingClientRect();
    const layer = document.querySelector('.message-layer');
    const r = layer.getBoundingClientRect();
    return { svg: [svg.left, svg.top, svg.width, svg.height], layer: [r.left, r.top, r.width, r.height],
      bitmap: [layer.width, layer.height], css: [layer.clientWidth, layer.clientHeight],
      hidden: layer.getAttribute('aria-hidden'), on_top: getComputedStyle(layer).zIndex };
  });
  // Inside the SVG's 1 px border.
  const [sl, st, sw, sh] = boxes.svg;
  const [ll, lt, lw, lh] = boxes.layer;
  for (const [a, b, what] of [[ll, sl + 1, 'left'], [lt, st + 1, 'top'], [lw, sw - 2, 'width'], [lh, sh - 2, 'height']]) {
    assert.ok(Math.abs(a - b) < 1, `${what}: layer ${a}, SVG ${b}`);
  }
  assert.ok(Math.abs(boxes.bitmap[0] - 2 * boxes.css[0]) <= 1 && Math.abs(boxes.bitmap[1] - 2 * boxes.css[1]) <= 1,
    `bitmap ${boxes.bitmap} for ${boxes.css} CSS px at 2x`);
  assert.equal(boxes.hidden, 'true', 'decorative for assistive technology');
  // The nodes are on top: a click on a node reaches it through the layer.
  const node = page.locator('#canvas g.node').first();
  await node.click();
  assert.equal(await node.getAttribute('aria-pressed'), 'true');
  assert.deepEqual(errors, []);
});

test('on a 375 px phone the attempt numbers are still drawn, at 10 px', async () => {
  const { page, errors } = await openPage(env.browser, env.url,
    { viewport: { width: 375, height: 800 }, hasTouch: true, isMobile: true });
  await storm(page);
  const stormy = await sweep(page, 16_000, 17_000);
  const numbered = stormy.filter((l) => l.numbered > 0);
  assert.ok(numbered.length > 0, 'numbers drawn on a phone');
  assert.ok(numbered.every((l) => l.px >= 9), `text at ${numbered[0].px} px`);
  assert.deepEqual(errors, []);
});

test('a number leaves the screen with its message: nothing stays behind on the layer', async () => {
  const { page, errors } = await openPage(env.browser, env.url,
    { viewport: { width: 375, height: 800 }, hasTouch: true, isMobile: true });
  await storm(page);
  // A calm moment first, before any number was ever written: only its dots are painted.
  assert.equal((await layerAt(page, 1_000)).numbered, 0);
  const fresh = await paintedPixels(page);
  assert.ok(fresh > 0, 'the calm moment has messages in flight');
  // Through the storm, where numbers are written beside the retries, and back.
  const stormy = await sweep(page, 16_000, 16_500);
  assert.ok(stormy.some((l) => l.numbered > 0), 'numbers were drawn');
  assert.equal((await layerAt(page, 1_000)).numbered, 0);
  assert.equal(await paintedPixels(page), fresh, 'the same pixels as before the storm: no number left behind');
  assert.deepEqual(errors, []);
});

/** The newest line of the event log's time, in seconds. */
async function newestLogLine(page) {
  return page.$eval('.log-lines li:last-child', (li) => parseFloat(li.textContent.trim()));
}

test('while a run plays, the panels below the first screen are current as they scroll into view, and when paused', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1280, height: 800 } });
  assert.equal(await page.getAttribute('#play-pause', 'aria-pressed'), 'true', 'the default scenario plays');
  const simS = async () => Number(await page.getAttribute('#sim-time', 'data-time-us')) / 1e6;
  await page.waitForFunction(() => Number(document.querySelector('#sim-time').dataset.timeUs) > 4_000_000, null, { timeout: 20_000 });
  // The event log is below the first screen: scrolled into view, its newest line is from about now.
  await page.locator('.event-log').scrollIntoViewIfNeeded();
  await page.waitForTimeout(150);
  const [line, now] = [await newestLogLine(page), await simS()];
  assert.ok(now - line < 1.0, `the newest line (${line} s) is from less than a second before now (${now} s)`);
  // It keeps up while in view (refreshed twice a second).
  await page.waitForTimeout(1_500);
  const [later, now2] = [await newestLogLine(page), await simS()];
  assert.ok(later > line && now2 - later < 1.0, `${later} s at ${now2} s`);
  // Out of view again, then paused: the log shows the moment of the pause.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(1_000);
  await page.click('#play-pause');
  const paused = await simS();
  await page.locator('.event-log').scrollIntoViewIfNeeded();
  const last = await newestLogLine(page);
  assert.ok(paused - last < 1.0 && last <= paused, `paused at ${paused} s, newest line ${last} s`);
  assert.deepEqual(errors, []);
});
