// The capstone lesson (17), end to end, as a learner takes it: see the incident, stop the double
// charges with keys turned on in two inspectors, fix the cascade with two sliders, then run a
// game day: crash the payment provider and restart it from its inspector at moments picked on
// the time line. Each goal is judged by the simulator at the end of the run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, setRange } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const wide = { viewport: { width: 1300, height: 950 } };

/** Answers the step's prediction (any choice: the goal shows once it is answered). */
async function predict(page) {
  await page.click('.predict .choices li[data-choice="0"] button');
  await page.waitForSelector('#goal-status');
}

/** Waits until the verdict at the end of the run is `met` (true or false); `why` names it. */
async function verdict(page, met, why) {
  // The status is 'false' while the run goes on; 'Not met' is the verdict at its end.
  await page.waitForFunction((m) => {
    const el = document.querySelector('#goal-status');
    return m ? el?.dataset.met === 'true' : /Not met/.test(el?.textContent ?? '');
  }, met, { timeout: 30_000 })
    .catch(async () => assert.fail(`${why}: ${await page.textContent('.goal')}`));
}

async function select(page, node) {
  await page.click(`#canvas g.node[data-node="${node}"]`);
  await page.waitForSelector(`.inspector[aria-label="Inspector: ${node}"]`);
}

test('complete the capstone: the 2 AM checkout incident', async () => {
  const { page, errors } = await openPage(env.browser, env.url, wide);
  await page.click('#lessons-button');
  await page.click('button.lesson-open[data-lesson="17-checkout-incident"]');
  assert.match(await page.textContent('#lesson-title'), /2 AM checkout incident/);
  assert.match(await page.textContent('#step-title'), /Step 1 of 3: 2:07 AM: the pager/);
  await page.selectOption('#speed', '100');

  // Step 1: the incident as it happened: customers charged twice, the goal not met.
  await predict(page);
  await page.click('#play-pause');
  await verdict(page, false, 'the incident charges customers twice');
  assert.match(await page.textContent('.goal'), /nobody is charged twice.*duplicate_charges = [1-9]\d*/s);
  // The key has to start where the order starts, in the app, and travel through checkout.
  await select(page, 'shoppers');
  await page.check('#param-idempotency_keys');
  await select(page, 'checkout');
  await page.check('#param-downstream-calls-0-idempotency_keys');
  await page.click('#run-settings');
  await verdict(page, true, 'with the keys nobody pays twice');
  assert.match(await page.textContent('.goal'), /duplicate_charges = 0/);
  assert.equal(await page.getAttribute('#result-card', 'data-met'), 'true');

  // Step 2: the cascade. The keys are kept by the step; the timeout and the workers are ours.
  await page.click('#result-next');
  assert.match(await page.textContent('#step-title'), /Step 2 of 3: The cascade/);
  await predict(page);
  await select(page, 'checkout');
  assert.ok(await page.isChecked('#param-downstream-calls-0-idempotency_keys'), 'the step keeps the keys');
  await setRange(page, '#param-downstream-calls-0-timeout_ms', 3000);
  await setRange(page, '#param-concurrency', 32);
  await page.click('#run-settings');
  await verdict(page, true, 'a timeout above the slow charges and enough workers keep the shop up');
  assert.match(await page.textContent('.goal'), /at least 98 % of orders succeed/);

  // Step 3: a game day. Crash payments at 10 s and restart it at 15 s, picked on the time line.
  await page.click('#result-next');
  assert.match(await page.textContent('#step-title'), /Step 3 of 3: Game day/);
  await predict(page);
  await setRange(page, '#timeline', 10000);
  await page.waitForFunction(() => document.querySelector('#sim-time').dataset.timeUs === '10000000');
  await select(page, 'payments');
  await page.click('button.act[data-act="crash"]');
  await setRange(page, '#timeline', 15000);
  await page.waitForFunction(() => document.querySelector('#sim-time').dataset.timeUs === '15000000');
  await page.click('button.act[data-act="restart"]');
  await page.click('#play-pause');
  await verdict(page, true, 'the steady state holds through the fault');
  assert.match(await page.textContent('.goal'), /your fault reached payments/);
  assert.match(await page.textContent('#result-next'), /All lessons/, 'the last step of the course');

  const saved = JSON.parse(await page.evaluate(() => localStorage.getItem('faultline.progress.v1')));
  assert.deepEqual(saved['17-checkout-incident'], [0, 1, 2]);
  assert.deepEqual(errors, []);
});
