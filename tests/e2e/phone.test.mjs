// The phone (375 x 812): the canvas on the first screen, the scenario and time options behind a
// menu button, and every text drawn on the canvas large enough to read. Font sizes are measured
// as rendered: the text's font size times the scale from its SVG units to screen pixels (its
// client rectangle over its bounding box), so every transform on the way counts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, setRange, chooseTemplate } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const phone = { viewport: { width: 375, height: 812 }, hasTouch: true, isMobile: true };
/** The smallest sizes on screen, CSS pixels: node names, and everything else (states, badges). */
const NAME_PX = 10;
const TEXT_PX = 9;

/** Every text drawn on the canvas now, with its size on screen. */
async function texts(page) {
  return page.$$eval('#canvas text', (ts) => ts
    .filter((t) => t.textContent.trim() && t.getBBox().height > 0 && t.getClientRects().length)
    .map((t) => {
      const box = t.getBBox();
      const rect = t.getBoundingClientRect();
      const scale = rect.height / box.height;
      return {
        text: t.textContent.trim(),
        name: t.classList.contains('label'),
        where: t.closest('[data-node]')?.dataset.node ?? t.closest('.gate, .board')?.getAttribute('class') ?? 'canvas',
        px: parseFloat(getComputedStyle(t).fontSize) * scale,
      };
    }));
}

test('at 375 px every name on the canvas is at least 10 px and every other text at least 9 px', async () => {
  const { page, errors } = await openPage(env.browser, env.url, phone);
  const titles = await page.$$eval('#template option[value]:not([value=""])', (os) => os.map((o) => o.textContent));
  assert.ok(titles.length >= 15, `templates: ${titles.length}`);
  const small = [];
  let measured = 0;
  let badges = 0;
  await page.tap('#menu-button');
  for (const title of titles) {
    await chooseTemplate(page, title);
    await page.waitForFunction((t) => document.querySelector('#scenario-title')?.textContent === t, title);
    if (await page.getAttribute('#play-pause', 'aria-pressed') === 'true') await page.click('#play-pause');
    // Two moments: early, and deep in the run where badges, flags and boards have appeared.
    const end = Number(await page.getAttribute('#timeline', 'max'));
    for (const ms of [1_200, Math.min(12_000, end)]) {
      await setRange(page, '#timeline', ms);
      await page.waitForFunction((us) => Number(document.querySelector('#sim-time').dataset.timeUs) === us, ms * 1000);
      for (const t of await texts(page)) {
        measured += 1;
        if (t.where.includes('gate') || t.where.includes('board')) badges += 1;
        const limit = t.name ? NAME_PX : TEXT_PX;
        if (t.px < limit - 0.01) small.push(`${title} at ${ms} ms: ${t.where} "${t.text}" ${t.px.toFixed(2)} px < ${limit}`);
      }
      const count = await page.$$eval('#canvas .badge text', (ts) => ts.length);
      badges += count;
    }
  }
  assert.ok(measured > 200, `texts measured: ${measured}`);
  assert.ok(badges > 10, `badges, gates and boards among them: ${badges}`);
  assert.deepEqual(small, [], `${small.length} texts too small:\n${small.slice(0, 20).join('\n')}`);
  assert.deepEqual(errors, []);
});

test('at 375 px the canvas is on the first screen and the options wait behind a menu button', async () => {
  const { page, errors } = await openPage(env.browser, env.url, phone);
  const canvas = await page.locator('#canvas').boundingBox();
  assert.ok(canvas.y >= 0 && canvas.y + canvas.height <= 812, `the whole canvas on the first screen: ${JSON.stringify(canvas)}`);
  assert.ok(await page.locator('#play-pause').isVisible(), 'play stays at hand');
  const menu = page.locator('#menu-button');
  assert.ok(await menu.isVisible(), 'a menu button');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  for (const sel of ['#template', '#speed', '#reset', '#seed']) {
    assert.equal(await page.locator(sel).isVisible(), false, `${sel} waits behind the menu`);
  }
  // Touch opens it.
  await page.tap('#menu-button');
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  for (const sel of ['#template', '#speed', '#reset', '#seed']) {
    assert.ok(await page.locator(sel).isVisible(), `${sel} shows in the open menu`);
  }
  // The keyboard closes it, and the hidden options leave the tab order.
  await menu.focus();
  await page.keyboard.press('Enter');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('#speed').isVisible(), false);
  await page.keyboard.press('Space');
  assert.equal(await menu.getAttribute('aria-expanded'), 'true', 'Space opens it too');
  const controls = (await menu.getAttribute('aria-controls')).split(' ');
  for (const id of controls) assert.equal(await page.locator(`#${id}`).count(), 1, `aria-controls names #${id}`);
  assert.deepEqual(errors, []);
});

test('at 375 px the longest scenario title is read whole, with the canvas still on the first screen', async () => {
  const { page, errors } = await openPage(env.browser, env.url, phone);
  await page.tap('#menu-button');
  // Whichever template has the longest title, so a longer one added later is the one checked.
  const longest = await page.$$eval('#template option[value]:not([value=""])', (os) => os
    .map((o) => o.textContent)
    .reduce((a, b) => (b.length > a.length ? b : a)));
  await chooseTemplate(page, longest);
  await page.tap('#menu-button');
  const title = page.locator('#scenario-title');
  const { box, clipped } = await title.evaluate((h) => ({
    box: h.getBoundingClientRect().toJSON(),
    clipped: h.scrollWidth > h.clientWidth,
  }));
  assert.ok(!clipped && box.x >= 0 && box.right <= 375, `the title within the screen: ${JSON.stringify(box)}`);
  const canvas = await page.locator('#canvas').boundingBox();
  assert.ok(canvas.y >= 0 && canvas.y + canvas.height <= 812, `the whole canvas on the first screen: ${JSON.stringify(canvas)}`);
  assert.deepEqual(errors, []);
});

test('at 375 px an error said after a pick in the options menu is on the screen, not below it', async () => {
  const { page, errors } = await openPage(env.browser, env.url, phone);
  await page.route('**/scenarios/**', (route) => route.abort('internetdisconnected'));
  await page.tap('#menu-button');
  await page.selectOption('#template', { label: 'A retry storm' });
  const notice = page.locator('.notice.error-text');
  await notice.waitFor();
  // In the page's flow it would start below the first screen, under the time controls.
  const box = await notice.boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height <= 812, `the whole notice on screen: ${JSON.stringify(box)}`);
  assert.match(await notice.textContent(), /could not be loaded/);
  // Scrolled to the bottom of the page, where its place in the flow is, it is still in view.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const below = await notice.boundingBox();
  assert.ok(below.y + below.height <= 812 && below.y >= 0, 'still on screen when scrolled');
  assert.deepEqual(errors.filter((e) => !e.includes('ERR_INTERNET_DISCONNECTED')), []);
});

test('at 1280 px there is no menu button and the options are in their bars', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1280, height: 800 } });
  assert.equal(await page.locator('#menu-button').isVisible(), false);
  for (const sel of ['#template', '#speed', '#reset', '#seed']) {
    assert.ok(await page.locator(sel).isVisible(), `${sel} is visible`);
  }
  assert.deepEqual(errors, []);
});

test('in a lesson at 375 px the canvas is on the first screen and the step\'s text waits behind a toggle', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?lesson=04-retries`, phone);
  const canvas = await page.locator('#canvas').boundingBox();
  assert.ok(canvas.y >= 0 && canvas.y + canvas.height <= 812, `the whole canvas on the first screen: ${JSON.stringify(canvas)}`);
  assert.ok(await page.locator('#play-pause').isVisible(), 'play stays at hand');
  assert.ok(await page.locator('#step-title').isVisible(), 'the step is named above it');
  const toggle = page.locator('#step-toggle');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('.step-text').isVisible(), false, 'the text waits');
  // A tap shows the step's text, its prediction and its actions; the panel never scrolls sideways.
  await toggle.tap();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  for (const sel of ['.step-text', '.predict', '#run-settings']) {
    assert.ok(await page.locator(sel).isVisible(), `${sel} shows`);
  }
  const panel = await page.locator('.lesson-panel').boundingBox();
  assert.ok(panel.x >= 0 && panel.x + panel.width <= 375, `no sideways scrolling: ${JSON.stringify(panel)}`);
  await page.click('.predict .choices li[data-choice="0"] button');
  assert.ok(await page.locator('.predict .explain').isVisible(), 'the prediction answers');
  await toggle.tap();
  assert.equal(await page.locator('.step-text').isVisible(), false, 'and hides again');
  assert.deepEqual(errors, []);
});

test('at 1280 px a lesson step shows its text beside the canvas, with no toggle', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?lesson=04-retries&step=2`, { viewport: { width: 1280, height: 800 } });
  assert.equal(await page.locator('#step-toggle').isVisible(), false);
  assert.ok(await page.locator('.step-text').isVisible());
  const panel = await page.locator('.lesson-panel').boundingBox();
  const canvas = await page.locator('#canvas').boundingBox();
  assert.ok(panel.x + panel.width <= canvas.x, 'beside the canvas');
  assert.deepEqual(errors, []);
});
