// Every model in the browser: each template runs in the wasm build without a console error,
// draws its nodes, and the models' own signals reach the page (a Raft leader's crown and status,
// the key-value store's linearizability verdict, the sagas' invariants).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, simTime, setRange, chooseTemplate } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

/** Opens the template with this title; a template plays from zero. */
async function open(page, title) {
  await chooseTemplate(page, title);
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

test('writes that overtake each other: the row goes back, and with versions the stale write is refused', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1280, height: 800 } });
  await open(page, 'Writes out of order');
  if (await page.getAttribute('#play-pause', 'aria-pressed') === 'true') await page.click('#play-pause');
  const at = async (ms) => {
    await setRange(page, '#timeline', ms);
    await page.waitForFunction((us) => Number(document.querySelector('#sim-time').dataset.timeUs) === us, ms * 1000);
  };
  const board = page.locator('#canvas g.row-board[data-owner="drafts"]');
  const label = () => page.locator('#canvas g.board-at:has(g.row-board)').getAttribute('aria-label');
  /** Steps through the run until the row's news is `news`; returns the moment, or -1. */
  const findNews = async (news) => {
    for (let ms = 200; ms <= 20_000; ms += 100) {
      await at(ms);
      if (await board.count() && await board.getAttribute('data-news') === news) return ms;
    }
    return -1;
  };

  // On the wire: a save that a newer one has passed carries its edit number in vermillion.
  let overtaken = 0;
  for (let ms = 200; ms <= 10_000 && overtaken === 0; ms += 100) {
    await at(ms);
    await page.waitForTimeout(20);
    overtaken = Number(await page.getAttribute('.message-layer', 'data-overtaken'));
  }
  assert.ok(overtaken > 0, 'an overtaken save is marked on the wire');

  // Plain writes: the row goes back to an older edit, and the board says so in words.
  const back = await findNews('went-back');
  assert.ok(back > 0, 'the row went back at some moment');
  const [, from, to] = (await label()).match(/went back: (\d+) → (\d+)/) ?? [];
  assert.ok(Number(from) > Number(to), `from edit ${from} back to the older edit ${to}`);
  await at(Number(await page.getAttribute('#timeline', 'max')));
  assert.ok(Number(await board.getAttribute('data-went-back')) > 0);

  // Versioned writes, from the start: the overtaken saves are refused and the row never goes back.
  await at(0);
  await page.locator('#canvas g.node[data-node="editor"]').click();
  await page.selectOption('#param-writes', 'versioned');
  const refused = await findNews('refused');
  assert.ok(refused > 0, 'a stale save was refused at some moment');
  assert.match(await label(), /edit \d+ refused: older/);
  await at(Number(await page.getAttribute('#timeline', 'max')));
  assert.equal(await board.getAttribute('data-went-back'), '0', 'the row never went back');
  assert.ok(Number(await board.getAttribute('data-refused')) > 0);
  // It ends on the editor's last save (150).
  assert.equal(await board.getAttribute('data-value'), '150');
  assert.deepEqual(errors, []);
});
