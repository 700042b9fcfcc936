// The Sweep panel end to end: a sweep over seeds, in its Web Worker (fetched only when a sweep
// starts), finds the ones where an invariant breaks, and a click opens one at the moment it
// broke; a long sweep shows its progress, keeps the page's frames coming and its clicks
// answered, and can be cancelled; a sweep's link opens the panel and runs it; without a worker
// the sweep runs on the page's thread and says so; the chaos toggle puts a fault schedule in the
// scenario.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, openPage, damage, ROOT } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

/** A share link to a scenario at time 0, as the page's "Copy link" makes it; `view` adds view options (a sweep). */
const linkTo = (scenario, view) =>
  `${env.url}#1.${deflateRawSync(Buffer.from(JSON.stringify({ scenario, at_ms: 0, ...(view ? { view } : {}) }))).toString('base64url')}`;

/** Opens `url` as openPage does, recording every request for the sweep worker's files from the start. */
async function openWatching(url) {
  const page = await env.browser.newPage();
  const asked = [];
  page.on('request', (r) => { if (/faultline-worker/.test(r.url())) asked.push(r.url()); });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  return { page, errors, asked };
}

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

test('a sweep in its worker finds a seed where an invariant breaks and opens it at that moment', async () => {
  const { page, errors, asked } = await openWatching(linkTo(RARE_DUPLICATES));
  await page.waitForLoadState('networkidle');
  assert.deepEqual(asked, [], 'the page opens without the sweep worker');
  await page.fill('#sweep-seeds', '30');
  await page.fill('#sweep-figure', 'payments.duplicate_charges');
  const started = page.waitForEvent('worker');
  await page.click('#sweep-run');
  await started;
  const row = '#sweep-props li[data-name="no duplicate charge"]';
  await page.waitForSelector('#sweep-run'); // the run button is back: the sweep finished
  await page.waitForSelector(row);
  const broken = Number(await page.getAttribute(row, 'data-broken'));
  assert.ok(broken > 0 && broken < 30, `some seeds but not all broke it: ${broken}`);
  assert.match(await page.textContent(row), new RegExp(`broke in ${broken} of 30 seeds`));
  assert.match(await page.textContent('#sweep-stats'), /payments\.duplicate_charges over 30 seeds/);
  assert.ok(await page.$$eval('.sweep-bar', (bars) => bars.length) >= 2, 'a histogram with bars');
  assert.match(await page.textContent('#sweep-cli'), /--seeds 1\.\.30 --figure payments\.duplicate_charges/);
  assert.equal(await page.getAttribute('.sweep', 'data-runner'), 'worker');
  // Packed, as the page's is (scripts/pack-wasm.mjs), and only that.
  assert.ok(asked.some((u) => u.endsWith('faultline-worker_bg.wasm.xz')), `the worker's wasm was fetched packed: ${asked}`);
  assert.ok(!asked.some((u) => u.endsWith('faultline-worker_bg.wasm')), `and not unpacked: ${asked}`);

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

test('a long sweep shows progress, keeps frames coming and clicks answered, and can be cancelled', async () => {
  const scenario = JSON.parse(readFileSync(join(ROOT, 'tests/scenarios/raft-chaos.json'), 'utf8'));
  // Each run ten times as long (two minutes): a thousand seeds of the twelve-second file finished
  // within the time the frames below take on a quiet machine, before the sweep could be cancelled.
  scenario.duration_ms *= 10;
  const { page, errors } = await openPage(env.browser, linkTo(scenario));
  // Frame intervals with the run playing, then with a sweep running too: the page is not frozen.
  await page.selectOption('#speed', '1');
  await page.click('#play-pause');
  const without = await frames(page);
  await page.fill('#sweep-seeds', '1000');
  await page.click('#sweep-run');
  await page.waitForSelector('#sweep-progress');
  // The first batch of runs has arrived: the worker is sweeping.
  await page.waitForFunction(() => Number(document.querySelector('#sweep-progress')?.getAttribute('value')) > 0);
  const during = await frames(page);
  console.log(`# frame interval p50/p95 playing: ${without.p50.toFixed(1)}/${without.p95.toFixed(1)} ms; `
    + `playing and sweeping: ${during.p50.toFixed(1)}/${during.p95.toFixed(1)} ms`);
  assert.ok(during.p95 < 250, `frames keep coming during a sweep (p95 ${during.p95.toFixed(1)} ms)`);
  // A click answers while the sweep runs: pause, and the button says so at once.
  const answered = await page.evaluate(() => new Promise((done) => {
    const button = document.querySelector('#play-pause');
    const t0 = performance.now();
    const seen = new MutationObserver(() => {
      if (button.getAttribute('aria-pressed') === 'false') { seen.disconnect(); done(performance.now() - t0); }
    });
    seen.observe(button, { attributes: true });
    button.click();
  }));
  console.log(`# a click answered in ${answered.toFixed(1)} ms during the sweep`);
  assert.ok(answered < 250, `the pause button answered in ${answered.toFixed(1)} ms`);
  assert.equal(await page.getAttribute('.sweep', 'data-runner'), 'worker');
  const done = Number(await page.getAttribute('#sweep-progress', 'value'));
  assert.ok(done > 0 && done < 1000, `still running: ${done}`);
  await page.click('#sweep-cancel');
  await page.waitForSelector('#sweep-run');
  assert.match(await page.textContent('.sweep'), /Cancelled/);
  // Cancelled means stopped: the numbers stay as they were.
  const seeds = await page.textContent('#sweep-stats');
  await page.waitForTimeout(500);
  assert.equal(await page.textContent('#sweep-stats'), seeds);
  assert.deepEqual(errors, []);
});

test("a sweep's link opens the panel with its settings and runs it; a malformed one is said", async () => {
  const { page, errors } = await openPage(env.browser, linkTo(RARE_DUPLICATES));
  await page.fill('#sweep-seeds', '30');
  await page.fill('#sweep-figure', 'payments.duplicate_charges');
  await page.click('#sweep-run');
  await page.waitForSelector('#sweep-copy-link');
  await page.waitForSelector('#sweep-run');
  const stats = await page.textContent('#sweep-stats');
  const row = '#sweep-props li[data-name="no duplicate charge"]';
  const broken = await page.getAttribute(row, 'data-broken');
  await page.click('#sweep-copy-link');
  const url = await page.inputValue('#sweep-link');
  assert.match(url, /#1\./);

  const other = await openPage(env.browser, url);
  await other.page.waitForSelector('#sweep-stats');
  await other.page.waitForSelector('#sweep-run');
  assert.equal(await other.page.inputValue('#sweep-seeds'), '30');
  assert.equal(await other.page.inputValue('#sweep-figure'), 'payments.duplicate_charges');
  assert.equal(await other.page.textContent('#sweep-stats'), stats, 'the same numbers');
  assert.equal(await other.page.getAttribute(row, 'data-broken'), broken);
  assert.deepEqual(other.errors, []);

  const bad = await openPage(env.browser, linkTo(RARE_DUPLICATES, { sweep: { seeds: 5000 } }));
  assert.match(await bad.page.textContent('.notice.error-text'), /asks for 5000 seeds; a sweep runs 1 to 1000/);
  assert.equal(await bad.page.$('#sweep-progress'), null, 'nothing runs');
  const odd = await openPage(env.browser, linkTo(RARE_DUPLICATES, { sweep: { seeds: 10, figure: 'payments.nope' } }));
  await odd.page.waitForSelector('.sweep [role="alert"]');
  assert.match(await odd.page.textContent('.sweep [role="alert"]'), /payments has no figure 'nope'/);
  assert.equal(await odd.page.inputValue('#sweep-seeds'), '10', 'the settings are kept to correct');
  assert.deepEqual(errors, []);
});

test("a damaged packed worker wasm falls back to the plain one, and the sweep runs in the worker", async () => {
  const page = await env.browser.newPage();
  const asked = [];
  page.on('request', (r) => { if (/faultline-worker_bg/.test(r.url())) asked.push(r.url().replace(/.*_bg\./, '')); });
  await damage(page, /faultline-worker_bg\.wasm\.xz$/);
  await page.goto(linkTo(RARE_DUPLICATES, { sweep: { seeds: 30, figure: 'payments.duplicate_charges' } }));
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  await page.waitForSelector('#sweep-stats', { timeout: 15_000 });
  await page.waitForSelector('#sweep-run');
  assert.equal(await page.getAttribute('.sweep', 'data-runner'), 'worker');
  assert.match(await page.textContent('#sweep-stats'), /payments\.duplicate_charges over 30 seeds/);
  assert.deepEqual(asked, ['wasm.xz', 'wasm']);
  await page.close();
});

test("without a worker the sweep runs on the page's thread, says so, and gives the same numbers", async () => {
  const page = await env.browser.newPage();
  await page.route('**/faultline-worker*', (route) => route.abort());
  await page.goto(linkTo(RARE_DUPLICATES, { sweep: { seeds: 30, figure: 'payments.duplicate_charges' } }));
  await page.waitForSelector('#sweep-on-thread', { timeout: 15_000 });
  assert.match(await page.textContent('#sweep-on-thread'), /runs on the page's own thread/);
  assert.equal(await page.getAttribute('.sweep', 'data-runner'), 'page');
  await page.waitForSelector('#sweep-stats');
  await page.waitForSelector('#sweep-run');
  const row = '#sweep-props li[data-name="no duplicate charge"]';
  assert.match(await page.textContent('#sweep-stats'), /payments\.duplicate_charges over 30 seeds/);
  const onThread = await page.getAttribute(row, 'data-broken');
  const { page: inWorker } = await openPage(env.browser, linkTo(RARE_DUPLICATES, { sweep: { seeds: 30, figure: 'payments.duplicate_charges' } }));
  await inWorker.waitForSelector('#sweep-stats');
  await inWorker.waitForSelector('#sweep-run');
  assert.equal(await inWorker.getAttribute('.sweep', 'data-runner'), 'worker');
  assert.equal(await inWorker.getAttribute(row, 'data-broken'), onThread);
  assert.equal(await inWorker.textContent('#sweep-stats'), await page.textContent('#sweep-stats'));
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
