// Accessibility: axe-core (installed by scripts/setup.sh --test into $FAULTLINE_TOOLS) runs in the
// page on the home page, a lesson step and the 375 px phone layout. Any violation of impact
// serious or critical fails the test; each is printed with its id, impact and first targets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { start, openPage, setRange, chooseTemplate } from './browser.mjs';

const tools = process.env.FAULTLINE_TOOLS ?? join(process.env.HOME, '.cache/faultline');
const require = createRequire(join(tools, 'node_modules', 'noop.js'));
const AXE = require.resolve('axe-core/axe.min.js');

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const desktop = { viewport: { width: 1280, height: 800 } };
const phone = { viewport: { width: 375, height: 812 }, hasTouch: true, isMobile: true };

/** Runs axe on the page as it is; returns its violations. */
async function axe(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      count: v.nodes.length,
      targets: v.nodes.slice(0, 4).map((n) => n.target.join(' ')),
      html: v.nodes[0]?.html.slice(0, 120) ?? '',
    }));
  });
}

/** Prints every violation; returns the serious and critical ones, one line each. */
function report(where, violations) {
  for (const v of violations) {
    console.log(`${where}: ${v.impact} ${v.id} (${v.count}x: ${v.help}) at ${v.targets.join(' | ')}; first: ${v.html}`);
  }
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${where}: ${v.impact} ${v.id} at ${v.targets.join(' | ')}`);
}

/** Lets the run fill the event log, then pauses it so the page holds still while axe reads it. */
async function runAWhileThenPause(page) {
  await page.waitForFunction(() => Number(document.querySelector('#sim-time').dataset.timeUs) > 1_500_000, null, { timeout: 15_000 });
  if ((await page.getAttribute('#play-pause', 'aria-pressed')) === 'true') await page.click('#play-pause');
}

test('the home page at 1280 x 800 has no serious or critical axe violation', async () => {
  const { page, errors } = await openPage(env.browser, env.url, desktop);
  const bad = [];
  bad.push(...report('home 1280x800, at load', await axe(page)));
  await runAWhileThenPause(page);
  await page.click('#canvas g.node[data-node="server"]');
  await page.waitForSelector('.inspector');
  bad.push(...report('home 1280x800, paused with the server inspected', await axe(page)));
  assert.deepEqual(bad, [], 'axe found serious or critical violations');
  assert.deepEqual(errors, []);
});

test('a lesson step has no serious or critical axe violation', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?lesson=01-fallacies&step=1`, desktop);
  await page.waitForSelector('#step-title');
  const bad = [];
  bad.push(...report('lesson 01-fallacies step 1, opened', await axe(page)));
  // Predicted, solved and run to the end: the explanation, the solution and a met goal.
  await page.click('.predict .choices li:nth-child(2) button');
  await page.selectOption('#speed', '100');
  await page.click('#show-solution');
  await page.click('#apply-solution');
  await page.waitForFunction(() => document.querySelector('#goal-status')?.dataset.met === 'true', null, { timeout: 20_000 });
  bad.push(...report('lesson 01-fallacies step 1, goal met', await axe(page)));
  assert.deepEqual(bad, [], 'axe found serious or critical violations');
  assert.deepEqual(errors, []);
});

test('the home page at 375 x 812 has no serious or critical axe violation', async () => {
  const { page, errors } = await openPage(env.browser, env.url, phone);
  const bad = [];
  bad.push(...report('home 375x812, at load', await axe(page)));
  await runAWhileThenPause(page);
  bad.push(...report('home 375x812, paused', await axe(page)));
  assert.deepEqual(bad, [], 'axe found serious or critical violations');
  assert.deepEqual(errors, []);
});

test('every template: each node on the canvas says the words drawn on it', async () => {
  // The canvas's pictures change per model and over a run; a node's accessible name is built
  // from the same words (canvas.rs node_label, glyphs.rs Glyph::words). Checked at 5 s.
  const { page, errors } = await openPage(env.browser, env.url, desktop);
  const titles = await page.$$eval('#template option', (os) => os.filter((o) => o.value !== '').map((o) => o.textContent));
  const bad = [];
  for (const title of titles) {
    await chooseTemplate(page, title);
    await page.waitForFunction((t) => document.querySelector('#scenario-title')?.textContent === t, title);
    await setRange(page, '#timeline', 5000);
    if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
    const violations = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run('#canvas', { runOnly: ['label-content-name-mismatch'], resultTypes: ['violations'] });
      return r.violations.flatMap((v) => v.nodes.map((n) => n.html.slice(0, 200)));
    });
    bad.push(...violations.map((html) => `${title}: ${html}`));
  }
  assert.ok(titles.length >= 17, `templates: ${titles.length}`);
  assert.deepEqual(bad, [], 'a node whose name misses words drawn on it');
  assert.deepEqual(errors, []);
});
