// Every model in the browser: each template runs in the wasm build without a console error,
// draws its nodes, and the models' own signals reach the page (a Raft leader's crown and status,
// the key-value store's linearizability verdict, the sagas' invariants).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, simTime, setRange } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

/** Opens the template with this title; a template plays from zero. */
async function open(page, title) {
  await page.selectOption('#template', { label: title });
  await page.waitForFunction((t) => document.querySelector('#scenario-title')?.textContent === t, title);
}

test('every template runs in the browser and draws its nodes', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  const titles = await page.$$eval('#template option', (os) => os.filter((o) => o.value !== '').map((o) => o.textContent));
  assert.ok(titles.length >= 17, `a template per model: ${titles.length}`);
  for (const title of titles) {
    await open(page, title);
    const nodes = await page.locator('#canvas g.node').count();
    assert.ok(nodes >= 2, `${title}: ${nodes} nodes`);
    await setRange(page, '#timeline', 5000);
    assert.ok(await simTime(page) >= 4_000_000, `${title}: the run advances`);
    // Every node has an accessible name with its kind.
    const labels = await page.$$eval('#canvas g.node', (gs) => gs.map((g) => g.getAttribute('aria-label')));
    assert.ok(labels.every((l) => /^node \S+, \S+/.test(l)), `${title}: ${labels}`);
  }
  assert.deepEqual(errors, []);
});

test('a Raft cluster shows its leader, and a crash brings a new one', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await open(page, 'Raft: a leader crash, a partition and a heal');
  await setRange(page, '#timeline', 2500);
  const leaders = async () => (await page.$$eval('#canvas g.node', (gs) => gs
    .filter((g) => /, leader, term/.test(g.getAttribute('aria-label')))
    .map((g) => g.dataset.node)));
  const first = await leaders();
  assert.equal(first.length, 1, `one leader: ${first}`);
  assert.equal(await page.locator(`#canvas g.node[data-node="${first[0]}"] .crown`).count(), 1, 'the leader wears the crown');
  // The sample crashes the leader at 3 s; by 5 s another leads, in a higher term.
  await setRange(page, '#timeline', 5000);
  const second = await leaders();
  assert.equal(second.length, 1);
  assert.notEqual(second[0], first[0]);
  const safety = await page.$$eval('#verdict-list li[data-name="Election Safety"]', (ls) => ls.map((l) => l.dataset.holds));
  assert.ok(safety.length >= 1 && safety.every((h) => h === 'holds'), `Election Safety: ${safety}`);
  assert.deepEqual(errors, []);
});

test('an AP store under a partition is caught serving a stale read', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await open(page, 'Key-value store, AP');
  const duration = Number(await page.getAttribute('#timeline', 'max'));
  await setRange(page, '#timeline', duration);
  const row = page.locator('#verdict-list li[data-name="linearizable"][data-holds="violated"]');
  assert.ok(await row.count() >= 1, 'the checker says: not linearizable');
  assert.match(await row.first().textContent(), /stale read of/);
  assert.deepEqual(errors, []);
});

test('a link\'s bandwidth and loss are knobs: a narrow link makes requests time out', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await open(page, 'A client and a server');
  await page.click('#play-pause');
  const failed = () => page.locator('table.stats tbody tr:first-child td:nth-child(4)').textContent().then(Number);
  await setRange(page, '#timeline', 20000);
  const before = await failed();
  await setRange(page, '#timeline', 0);
  await page.locator('#canvas g.node[data-node="server"]').click();
  await page.check('fieldset.link-params input[type="checkbox"]');
  await setRange(page, '#link-bandwidth-client-server', 2);
  assert.match(await page.textContent('output[for="link-bandwidth-client-server"]'), /2 messages\/s/);
  await setRange(page, '#link-loss-client-server', 0.2);
  assert.match(await page.textContent('output[for="link-loss-client-server"]'), /20 %/);
  await setRange(page, '#timeline', 20000);
  const after = await failed();
  assert.ok(after > before + 10, `failed requests: ${before} with the link as it was, ${after} through 2 messages a second`);
  assert.deepEqual(errors, []);
});

test('a link that loses only one way says so, and its slider sets both ways', async () => {
  // Lesson 7: 5 % of the payment service's answers are lost on the way back to the checkout.
  const { page, errors } = await openPage(env.browser, `${env.url}?lesson=07-idempotency&step=1`);
  await page.locator('#canvas g.node[data-node="payments"]').click();
  const out = 'output[for="link-loss-checkout-payments"]';
  assert.equal((await page.textContent(out)).trim(), '5 % out, 0 % in');
  await page.locator('#canvas g.node[data-node="checkout"]').click();
  assert.equal((await page.textContent(out)).trim(), '0 % out, 5 % in', 'seen from the checkout');
  await setRange(page, '#link-loss-checkout-payments', 0.1);
  assert.equal((await page.textContent(out)).trim(), '10 %');
  assert.deepEqual(errors, []);
});
