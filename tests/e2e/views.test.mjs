// The views of a run beyond the canvas: the invariants with their verdicts (and a jump to the
// moment one turned), the space-time diagram of messages, the waterfall of one request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, simTime, setRange, chooseTemplate } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

/** The idempotent checkout, paused at zero with its idempotency keys turned off. */
async function checkoutWithoutKeys(page) {
  await chooseTemplate(page, { value: '3' });
  await page.click('#play-pause');
  await page.locator('#canvas g.node[data-node="checkout"]').click();
  await page.uncheck('#param-idempotency_keys');
}

test('the invariants panel lists a violated verdict and jumps to its moment', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await checkoutWithoutKeys(page);
  const row = page.locator('#verdict-list li[data-name="no duplicate charge"]');
  assert.equal(await row.getAttribute('data-holds'), 'holds', 'nothing charged twice at zero');
  await setRange(page, '#timeline', 30000);
  assert.equal(await row.getAttribute('data-holds'), 'violated');
  assert.match(await row.textContent(), /payments: no duplicate charge: VIOLATED \(duplicate charge of 4999 cents for request t\d+\) at t = /);
  assert.match(await page.textContent('#announce'), /Invariant violated: no duplicate charge/);
  const at = await row.locator('.verdict-at').textContent();
  await row.locator('button.jump').click();
  const t = await simTime(page);
  assert.ok(t > 0 && t < 30_000_000, `jumped back to ${t}`);
  assert.equal(await page.textContent('#sim-time'), at.replace(' at ', ''));
  assert.equal(await row.getAttribute('data-holds'), 'violated', 'violated at that very moment');
  // Just before it, it held; forward again, violated at the same moment.
  await setRange(page, '#timeline', Math.floor(t / 1000) - 10);
  assert.equal(await row.getAttribute('data-holds'), 'holds');
  await setRange(page, '#timeline', 60000);
  assert.equal(await row.locator('.verdict-at').textContent(), at);
  // Reset drops the change: with the keys on it never turns.
  await page.click('#reset');
  await page.click('#play-pause');
  await setRange(page, '#timeline', 60000);
  assert.equal(await row.getAttribute('data-holds'), 'holds');
  assert.equal(await row.locator('.verdict-at').count(), 0);
  assert.deepEqual(errors, []);
});

test('the space-time diagram draws messages, and a click shows the request as a waterfall', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await checkoutWithoutKeys(page);
  await setRange(page, '#timeline', 10000);
  const lines = page.locator('#spacetime line.st-msg');
  assert.ok(await lines.count() > 20, 'a line per message');
  assert.ok(await page.locator('#spacetime .st-drop').count() > 0, 'lost answers are marked');
  assert.match(await page.getAttribute('#spacetime svg', 'viewBox'), /^0 0 600 /);
  // Click a request's message: its spans appear, the request on top and attempts under it.
  await page.locator('#spacetime line.st-msg.request[data-trace]').first().dispatchEvent('click');
  await page.waitForSelector('#waterfall-spans li', { timeout: 5_000 });
  const spans = await page.locator('#waterfall-spans li .span-label').allTextContents();
  assert.match(spans[0], /^request to payments on checkout$/);
  assert.ok(spans.some((s) => /^attempt 1 on checkout$/.test(s)), spans.join(' | '));
  assert.ok(await page.locator('#spacetime line.st-msg.hot').count() > 0, 'the request is highlighted');
  // The picker offers recent requests too.
  const options = await page.locator('#request-pick option').count();
  assert.ok(options > 5);
  await page.selectOption('#request-pick', { index: 3 });
  await page.waitForSelector('#waterfall-spans li');
  // So does a click on a sent message in the event log.
  const line = page.locator('.log-lines li.has-request').last();
  const trace = await line.getAttribute('data-trace');
  await line.dispatchEvent('click');
  assert.equal(await page.inputValue('#request-pick'), `0:${trace}`);
  await page.waitForSelector('#waterfall-spans li');
  assert.deepEqual(errors, []);
});

test('the space-time diagram is saved as SVG', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await page.waitForTimeout(600);
  await page.click('#play-pause');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('#spacetime button.save-chart'),
  ]);
  assert.equal(download.suggestedFilename(), 'space-time.svg');
  assert.deepEqual(errors, []);
});

test('compare mode: two panes on one clock whose figures differ after one change', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await chooseTemplate(page, { value: '3' });
  await page.click('#play-pause');
  await page.click('#compare-toggle');
  assert.equal(await page.getAttribute('#compare-toggle', 'aria-pressed'), 'true');
  assert.equal(await page.locator('#compare-a g.node').count(), 2);
  assert.equal(await page.locator('#compare-b g.node').count(), 2);
  const cell = (figure, pane) => page.textContent(`#compare-figures tr[data-figure="${figure}"] td[data-pane="${pane}"]`);
  // Unchanged, the panes are the same run.
  await setRange(page, '#timeline', 5000);
  assert.equal(await cell('attempts', 'a'), await cell('attempts', 'b'));
  // A longer timeout in the second pane: fewer retries, so fewer attempts, at the same moment.
  await page.selectOption('#compare-param', '0|timeout_ms');
  await page.fill('#compare-value', '2000');
  await page.click('#compare-apply');
  assert.match(await page.textContent('#compare-changed'), /checkout timeout_ms = 2000/);
  await setRange(page, '#timeline', 20000);
  const [a, b] = [Number(await cell('attempts', 'a')), Number(await cell('attempts', 'b'))];
  assert.ok(b < a, `attempts ${a} as is, ${b} changed`);
  // Both panes follow the clock while playing.
  await page.click('#play-pause');
  await page.waitForFunction(() => Number(document.querySelector('#sim-time').dataset.timeUs) > 21_000_000);
  await page.click('#play-pause');
  assert.ok(Number(await cell('attempts', 'b')) > b);
  // A refused value changes nothing and says why.
  await page.fill('#compare-value', '-5');
  await page.click('#compare-apply');
  assert.match(await page.textContent('.notice.error-text'), /timeout_ms not changed/);
  await page.click('#compare-toggle');
  assert.equal(await page.locator('#compare-b').count(), 0);
  assert.deepEqual(errors, []);
});

test('the new views fit a 375 px wide screen', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 375, height: 800 } });
  await page.click('#menu-button'); // a phone keeps the templates and Compare behind it
  await chooseTemplate(page, { value: '3' });
  await page.click('#play-pause');
  await page.click('#compare-toggle');
  await setRange(page, '#timeline', 5000);
  await page.selectOption('#request-pick', { index: 1 });
  await page.waitForSelector('#waterfall-spans li');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (${overflow} px too wide)`);
  assert.deepEqual(errors, []);
});

test('the event log follows one trace id across every service it reached', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  const title = 'An API, four dependencies, one long tail';
  await chooseTemplate(page, title);
  await page.waitForFunction((t) => document.querySelector('#scenario-title')?.textContent === t, title);
  // A template plays from zero: pause it, so the log stands still while it is read.
  await page.click('#play-pause');
  assert.equal(await page.getAttribute('#play-pause', 'aria-pressed'), 'false');
  await setRange(page, '#timeline', 2000);
  // A request that web sent and the api has answered: its trace id, as the log prints it.
  const answered = page.locator('.log-lines li.has-request', { hasText: 'api -> web' }).first();
  const trace = await answered.getAttribute('data-trace');
  assert.ok(trace, 'the api answered a request in the first two seconds');
  await page.fill('#log-trace', `t${trace}`);
  await page.press('#log-trace', 'Enter');
  await page.waitForFunction(() => document.querySelector('#log-trace-help').textContent.startsWith('Only'));
  const lines = await page.$$eval('.log-lines li', (ls) => ls.map((l) => l.textContent));
  const ids = new Set();
  const reached = new Set();
  for (const l of lines) {
    const s = l.match(/ sent (m\d+) \S+ -> (\S+): .*\bt(\d+)\b/);
    if (s) {
      assert.equal(s[3], trace, l);
      ids.add(s[1]);
      reached.add(s[2]);
    } else {
      // Arrivals and losses name only their message: one of this request's.
      const m = l.match(/ (?:delivered|dropped) (m\d+) /);
      assert.ok(m && ids.has(m[1]), `not about t${trace}: ${l}`);
    }
  }
  // The api calls its four dependencies with the same id, and they answer.
  for (const n of ['api', 'auth', 'catalog', 'reviews', 'recommendations', 'web']) {
    assert.ok(reached.has(n), `t${trace} reached ${n}: ${[...reached]}`);
  }
  // A typo says what a trace id looks like and keeps the filter that was on.
  await page.fill('#log-trace', 'r25');
  await page.press('#log-trace', 'Enter');
  assert.match(await page.textContent('#log-trace-help'), /"r25" is not a trace id: type t and a number, like t6/);
  assert.equal(await page.locator('.log-lines li').count(), lines.length);
  // An empty box shows every request's lines again.
  await page.fill('#log-trace', '');
  await page.press('#log-trace', 'Enter');
  await page.waitForFunction((t) => document.querySelector('#log-trace-help').textContent === ''
    && [...document.querySelectorAll('.log-lines li.has-request')].some((l) => l.dataset.trace !== t), trace);
  assert.deepEqual(errors, []);
});
