// Screenshots of the page as a learner sees it, for looking at (and for the README):
//   trunk build --release --offline && node bench/shots.mjs [out-dir]
// Each template is opened from the picker, played to a moment where its idea shows, paused,
// and shot at 1280 x 800; the home page, a lesson step and the retry storm also at 375 x 812.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { start, openPage, setRange, chooseTemplate } from '../tests/e2e/browser.mjs';

const out = process.argv[2] ?? 'target/shots';
mkdirSync(out, { recursive: true });
const env = await start();
const wide = { viewport: { width: 1280, height: 800 } };
const phone = { viewport: { width: 375, height: 812 }, hasTouch: true, isMobile: true };

async function template(page, label, ms) {
  // A phone keeps the template picker behind its menu button: open it, pick, close it.
  const menu = await page.locator('#menu-button').isVisible();
  if (menu) await page.click('#menu-button');
  await chooseTemplate(page, label);
  if (menu) await page.click('#menu-button');
  await page.click('#play-pause'); // a loaded template plays: pause it, then jump
  await setRange(page, '#timeline', ms);
  await page.waitForTimeout(300);
}

const shots = [
  ['home', wide, async () => {}],
  ['retry-storm', wide, (p) => template(p, 'A retry storm', 20_000)],
  ['breaker', wide, (p) => template(p, 'A circuit breaker opens, probes and closes', 11_500)],
  ['cap-partition', wide, (p) => template(p, 'Key-value store, CP', 9_000)],
  ['raft', wide, (p) => template(p, 'Raft: a leader crash, a partition and a heal', 4_000)],
  ['saga', wide, (p) => template(p, 'An orchestrated order saga', 6_000)],
  ['checkout', wide, (p) => template(p, 'The duplicated checkout, fixed', 12_750)],
  ['event-sourcing', wide, (p) => template(p, 'Event sourcing: a log and two read models', 10_000)],
  // Just after save 18 arrived behind save 19: the row went back, and the board says so.
  ['out-of-order', wide, (p) => template(p, 'Writes out of order', 3_330)],
  ['home-phone', phone, async () => {}],
  ['retry-storm-phone', phone, (p) => template(p, 'A retry storm', 20_000)],
  ['raft-phone', phone, (p) => template(p, 'Raft: a leader crash, a partition and a heal', 4_000)],
  ['checkout-phone', phone, (p) => template(p, 'The duplicated checkout, fixed', 12_750)],
  ['out-of-order-phone', phone, (p) => template(p, 'Writes out of order', 3_330)],
];
for (const [name, opts, go] of shots) {
  const { page, errors } = await openPage(env.browser, env.url, opts);
  try {
    await go(page);
    await page.screenshot({ path: join(out, `${name}.png`) });
    console.log(`${name}.png${errors.length ? ` (errors: ${errors.join('; ')})` : ''}`);
  } catch (e) {
    console.log(`${name}: ${e.message.split('\n')[0]}`);
  }
  await page.close();
}
// A lesson step as a learner finishes it: the prediction answered, the solution applied and run
// to the end, the verdict on the canvas.
for (const [name, opts] of [['lesson', wide], ['lesson-phone', phone]]) {
  const { page } = await openPage(env.browser, `${env.url}?lesson=04-retries&step=2`, opts);
  // A phone keeps the step's text behind a toggle.
  if (await page.isVisible('#step-toggle')) await page.click('#step-toggle');
  if (await page.locator('.predict').count()) await page.click('.predict .choices li[data-choice="0"] button');
  if (await page.isVisible('#menu-button')) await page.click('#menu-button'); // a phone's options
  await page.selectOption('#speed', '100');
  if (await page.isVisible('#menu-button')) await page.click('#menu-button'); // closed again
  await page.click('#show-solution');
  await page.click('#apply-solution');
  await page.waitForSelector('#result-card', { timeout: 30_000 });
  await page.$eval('.lesson-panel', (p) => { p.scrollTop = p.scrollHeight; });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(out, `${name}.png`) });
  console.log(`${name}.png`);
  await page.close();
}
await env.close();
