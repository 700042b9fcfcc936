// The Sweep panel end to end: a sweep over seeds finds the ones where an invariant breaks, and a
// click opens one at the moment it broke; a long sweep shows its progress, keeps the page's
// frames coming and can be cancelled; the chaos toggle puts a fault schedule in the scenario.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, openPage, ROOT } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

/** A share link to a scenario at time 0, as the page's "Copy link" makes it. */
const linkTo = (scenario) =>
  `${env.url}#1.${deflateRawSync(Buffer.from(JSON.stringify({ scenario, at_ms: 0 }))).toString('base64url')}`;

// A checkout without idempotency keys whose answers are lost 1 % of the time: a duplicate charge
// needs an unlucky seed (the CLI's tests sweep the same scenario).
const RARE_DUPLICATES = {
  version: 1, title: 'Rare duplicate charges', seed: 1, duration_ms: 3000,
  nodes: [
    { id: 'checkout', model: { type: 'client', target: 'payments', workload: { type: 'open', rate_per_s: 10 },
      timeout_ms: 300, retry: { max_attempts: 3 }, idempotency_keys: false, charge_cents: 4999 } },
    { id: 'payments', model: { type: 'payment', latency: { type: 'constant', ms: 20 } } },
  ],
  links: [{ a: 'checkout', b: 'payments', latency: { type: 'constant', ms: 10 },
    reverse: { latency: { type: 'constant', ms: 10 }, loss: 0.01 } }],
};

test('a sweep finds a seed where an invariant breaks and opens it at that moment', async () => {
  const { page, errors } = await openPage(env.browser, linkTo(RARE_DUPLICATES));
  await page.fill('#sweep-seeds', '30');
  await page.fill('#sweep-figure', 'payments.duplicate_charges');
  await page.click('#sweep-run');
  const row = '#sweep-props li[data-name="no duplicate charge"]';
  await page.waitForSelector('#sweep-run'); // the run button is back: the sweep finished
  await page.waitForSelector(row);
  const broken = Number(await page.getAttribute(row, 'data-broken'));
  assert.ok(broken > 0 && broken < 30, `some seeds but not all broke it: ${broken}`);
  assert.match(await page.textContent(row), new RegExp(`broke in ${broken} of 30 seeds`));
  assert.match(await page.textContent('#sweep-stats'), /payments\.duplicate_charges over 30 seeds/);
  assert.ok(await page.$$eval('.sweep-bar', (bars) => bars.length) >= 2, 'a histogram with bars');
  assert.match(await page.textContent('#sweep-cli'), /--seeds 1\.\.30 --figure payments\.duplicate_charges/);

  // The first failing seed opens paused at its first violation, and the invariants panel says so.
  const button = page.locator(`${row} button.sweep-seed`).first();
  const seed = await button.getAttribute('data-seed');
  const label = await button.getAttribute('aria-label');
  const atS = Number(label.match(/t = ([0-9.]+) s/)[1]);
  await button.click();
  assert.equal(await page.inputValue('#seed'), seed);
  assert.equal(await page.getAttribute('#play-pause', 'aria-pressed'), 'false');
  const timeUs = Number(await page.getAttribute('#sim-time', 'data-time-us'));
  assert.ok(Math.abs(timeUs - atS * 1e6) <= 1000, `opened at ${timeUs} us, broke at ${atS} s`);
  await page.waitForSelector('#verdict-list li.verdict[data-name="no duplicate charge"][data-holds="violated"]');
  assert.deepEqual(errors, []);
});

/** The intervals of the next 60 animation frames: p50 and p95, in milliseconds. */
async function frames(page) {
  const xs = await page.evaluate(() => new Promise((done) => {
    const out = [];
    let last = performance.now();
    const tick = (t) => {
      out.push(t - last);
      last = t;
      if (out.length < 60) requestAnimationFrame(tick); else done(out);
    };
    requestAnimationFrame(tick);
  }));
  xs.sort((a, b) => a - b);
  return { p50: xs[30], p95: xs[Math.floor(xs.length * 0.95)] };
}

test('a long sweep shows progress, keeps frames coming and can be cancelled', async () => {
  const scenario = JSON.parse(readFileSync(join(ROOT, 'tests/scenarios/raft-chaos.json'), 'utf8'));
  const { page, errors } = await openPage(env.browser, linkTo(scenario));
  // Frame intervals with the run playing, then with a sweep running too: the page is not frozen.
  await page.selectOption('#speed', '1');
  await page.click('#play-pause');
  const without = await frames(page);
  await page.fill('#sweep-seeds', '1000');
  await page.click('#sweep-run');
  await page.waitForSelector('#sweep-progress');
  const during = await frames(page);
  console.log(`# frame interval p50/p95 playing: ${without.p50.toFixed(1)}/${without.p95.toFixed(1)} ms; `
    + `playing and sweeping: ${during.p50.toFixed(1)}/${during.p95.toFixed(1)} ms`);
  assert.ok(during.p95 < 250, `frames keep coming during a sweep (p95 ${during.p95.toFixed(1)} ms)`);
  const done = Number(await page.getAttribute('#sweep-progress', 'value'));
  assert.ok(done < 1000, 'still running');
  await page.click('#sweep-cancel');
  await page.waitForSelector('#sweep-run');
  assert.match(await page.textContent('.sweep'), /Cancelled/);
  assert.deepEqual(errors, []);
});

test('the chaos toggle puts a fault schedule drawn from the seed in the scenario', async () => {
  const scenario = JSON.parse(readFileSync(join(ROOT, 'tests/scenarios/raft.json'), 'utf8'));
  const { page, errors } = await openPage(env.browser, linkTo(scenario));
  assert.equal(await page.isChecked('#sweep-chaos'), false);
  await page.click('#sweep-chaos');
  assert.equal(await page.isChecked('#sweep-chaos'), true);
  const json = JSON.parse(await page.inputValue('#scenario-json'));
  assert.ok(json.chaos.faults.some((f) => f.fault === 'crash'), 'a crash rule');
  await page.click('#sweep-chaos');
  assert.equal(JSON.parse(await page.inputValue('#scenario-json')).chaos, undefined);
  assert.deepEqual(errors, []);
});
