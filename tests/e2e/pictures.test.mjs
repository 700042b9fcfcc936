// The pictures per model, asserted from what is drawn: a learner must see a retry storm fill a
// queue, a breaker's gate open and close, a Raft log grow and commit, a stale read flagged at the
// reader, a saga compensate; and the main parts of the page on the first screen at 1280 x 800.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, setRange, chooseTemplate } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const screen = { viewport: { width: 1280, height: 800 } };

/** Opens a template, paused, at `ms`. */
async function at(page, title, ms) {
  if (await page.textContent('#scenario-title') !== title) {
    await chooseTemplate(page, title);
    await page.waitForFunction((t) => document.querySelector('#scenario-title')?.textContent === t, title);
    if (await page.getAttribute('#play-pause', 'aria-pressed') === 'true') await page.click('#play-pause');
  }
  await setRange(page, '#timeline', ms);
  await page.waitForFunction((us) => Number(document.querySelector('#sim-time').dataset.timeUs) === us, ms * 1000);
}

test('a retry storm fills the server\'s queue and shows retries in flight at the client', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  await at(page, 'A retry storm', 5_000);
  const calm = await page.getAttribute('#canvas g.node[data-node="api"] .tank.queue', 'data-fill');
  await at(page, 'A retry storm', 20_000);
  assert.equal(await page.getAttribute('#canvas g.node[data-node="api"] .tank.queue', 'data-fill'), '1.00', `full at 20 s (was ${calm} at 5 s)`);
  assert.ok(await page.locator('#canvas g.node[data-node="api"] .tank.queue.full').count() === 1, 'drawn as full');
  const retrying = Number(await page.getAttribute('#canvas g.node[data-node="web"] .client-glyph', 'data-retrying'));
  assert.ok(retrying > 0, `retries in flight at the client: ${retrying}`);
  assert.match(await page.textContent('#canvas g.node[data-node="web"] .retries'), /↻\d+ #[2-9]/);
  assert.deepEqual(errors, []);
});

test('the breaker\'s gate is closed, opens in the outage with its wait counting down, and closes again', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  const gate = async () => page.getAttribute('#canvas .gate', 'data-breaker');
  await at(page, 'A circuit breaker opens, probes and closes', 5_000);
  assert.equal(await gate(), 'closed');
  let open = null;
  for (let ms = 10_000; ms <= 14_000 && !open; ms += 250) {
    await at(page, 'A circuit breaker opens, probes and closes', ms);
    if (await gate() === 'open') open = ms;
  }
  assert.ok(open, 'the gate opens during the outage');
  assert.match(await page.textContent('#canvas .gate'), /open \d\.\d s/, 'with the wait counting down');
  await at(page, 'A circuit breaker opens, probes and closes', 29_000);
  assert.equal(await gate(), 'closed', 'closed again after the recovery');
  assert.deepEqual(errors, []);
});

/** Each badge on the canvas (a gate's words, a pill above a node) whose text spills out of its box. */
async function spilling(page) {
  return page.$$eval('#canvas .badge', (bs) => bs.flatMap((b) => {
    const rect = b.querySelector('rect')?.getBBox();
    const text = b.querySelector('text');
    if (!rect || !text || !text.textContent.trim()) return [];
    const t = text.getBBox();
    const inside = t.x >= rect.x - 0.5 && t.x + t.width <= rect.x + rect.width + 0.5;
    return inside ? [] : [`"${text.textContent}" is ${t.width.toFixed(1)} wide in a box of ${rect.width.toFixed(1)}`];
  }));
}

test('a gate\'s words ("open 0.9 s") and every pill\'s stay inside their boxes, on a desktop and a phone', async () => {
  for (const options of [screen, { viewport: { width: 375, height: 812 }, hasTouch: true, isMobile: true }]) {
    const { page, errors } = await openPage(env.browser, env.url, options);
    if (await page.isVisible('#menu-button')) await page.click('#menu-button');
    const breaker = 'A circuit breaker opens, probes and closes';
    const seen = new Set();
    const bad = [];
    for (let ms = 10_000; ms <= 14_000; ms += 250) {
      await at(page, breaker, ms);
      seen.add(await page.getAttribute('#canvas .gate', 'data-breaker'));
      bad.push(...(await spilling(page)).map((s) => `${breaker} at ${ms} ms: ${s}`));
    }
    assert.ok(seen.has('open'), `the gate was open: ${[...seen]}`);
    // The other pictures' pills, deep in each template's run.
    const titles = await page.$$eval('#template option[value]:not([value=""])', (os) => os.map((o) => o.textContent));
    for (const title of titles) {
      await at(page, title, 0);
      await at(page, title, Math.min(12_000, Number(await page.getAttribute('#timeline', 'max'))));
      bad.push(...(await spilling(page)).map((s) => `${title}: ${s}`));
    }
    assert.deepEqual(bad, [], `${options.viewport.width} px`);
    assert.deepEqual(errors, []);
    await page.close();
  }
});

test('a Raft server\'s log grows and its commit index moves', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  const leader = async () => page.$eval('#canvas g.node:has(.crown) .raft-glyph', (g) => ({
    log: Number(g.dataset.log), committed: Number(g.dataset.committed), term: Number(g.dataset.term),
  }));
  await at(page, 'Raft: a leader crash, a partition and a heal', 1_500);
  const early = await leader();
  await at(page, 'Raft: a leader crash, a partition and a heal', 2_500);
  const later = await leader();
  assert.ok(later.log > early.log, `the log grows: ${early.log} -> ${later.log}`);
  assert.ok(later.committed >= 1, `committed entries are drawn filled: ${later.committed}`);
  assert.ok(await page.locator('#canvas .election-ring').count() >= 2, 'followers show their election timers');
  assert.deepEqual(errors, []);
});

test('a stale read is flagged on the reader in the AP store', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  let flagged = 0;
  for (let ms = 8_000; ms <= 20_000 && !flagged; ms += 2_000) {
    await at(page, 'Key-value store, AP', ms);
    flagged = await page.locator('#canvas .stale-flag').count();
  }
  assert.ok(flagged >= 1, 'a reader carries the stale-read flag');
  assert.match(await page.textContent('#canvas .stale-flag'), /stale|not linearizable/);
  assert.deepEqual(errors, []);
});

test('a saga\'s compensation is drawn backwards at the orchestrator', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  // The first saga's payment fails at about 1.1 s and its inventory step is undone in a few tens
  // of milliseconds (seed 1): look at each 10 ms step of that stretch.
  let seen = 0;
  for (let ms = 1_050; ms <= 1_300 && !seen; ms += 10) {
    await at(page, 'An orchestrated order saga', ms);
    seen = await page.locator('#canvas .saga-glyph .step.compensating, #canvas .saga-glyph .step.compensated').count();
  }
  assert.ok(seen >= 1, 'a compensating step is drawn');
  assert.deepEqual(errors, []);
});

test('at 1280 x 800 the canvas, the time line, the inspector and the key chart are on the first screen', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  await page.locator('#canvas g.node[data-node="client"]').click();
  await page.waitForTimeout(600);
  for (const sel of ['#canvas', '#timeline', '#play-pause', '.inspector', '#key-chart']) {
    const box = await page.locator(sel).boundingBox();
    assert.ok(box, `${sel} is drawn`);
    assert.ok(box.y >= 0 && box.y + Math.min(box.height, 120) <= 800, `${sel} starts on the first screen: ${JSON.stringify(box)}`);
  }
  const canvas = await page.locator('#canvas').boundingBox();
  assert.ok(canvas.y + canvas.height <= 800, `the whole canvas is on the first screen: ${JSON.stringify(canvas)}`);
  assert.deepEqual(errors, []);
});

test('the payment\'s key store is a table beside it, and a repeated request visibly hits its row', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  const title = 'The duplicated checkout, fixed';
  await at(page, title, 2_000);
  const board = '#canvas .board.keys[data-owner="payments"]';
  assert.equal(await page.locator(board).count(), 1, 'the key store is drawn');
  const stored = Number(await page.getAttribute(board, 'data-stored'));
  const rows = await page.locator(`${board} .key-row`).count();
  assert.ok(rows >= 1 && rows <= 4, `a few rows: ${rows}`);
  assert.ok(stored >= rows, `${stored} keys stored, ${rows} shown`);
  assert.match(await page.textContent(`${board} .board-title`), new RegExp(`${stored} keys`));
  // A checkout retries when its answer is lost or slow: its key comes back and hits its row.
  let hit = null;
  for (let ms = 2_000; ms <= 30_000 && !hit; ms += 250) {
    await at(page, title, ms);
    const found = await page.locator(`${board} .key-row.hit`).count();
    if (found) {
      hit = await page.$eval(`${board} .key-row.hit`, (g) => ({
        kind: g.dataset.hit, text: g.textContent, back: getComputedStyle(g.querySelector('.row-back')).fill,
      }));
      hit.ms = ms;
    }
  }
  assert.ok(hit, 'a repeated request hits a row within 30 s');
  assert.ok(['replayed', 'conflict'].includes(hit.kind), JSON.stringify(hit));
  assert.match(hit.text, /replayed|409 busy/, 'the hit is said in words, not colour only');
  assert.notEqual(hit.back, 'transparent', 'and the row is marked');
  // The mark lasts a while and then goes: 6 s on (past its last retry), that hit is no longer marked.
  await at(page, title, hit.ms + 6_000);
  const later = await page.$$eval(`${board} .key-row.hit`, (gs) => gs.map((g) => g.textContent));
  assert.ok(!later.includes(hit.text), `the mark of ${hit.ms} ms has gone: ${later}`);
  assert.deepEqual(errors, []);
});

test('the event log is a strip of offsets with each projection\'s offset and lag marked on it', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  await at(page, 'Event sourcing: a log and two read models', 10_000);
  const strip = '#canvas .board.log-strip[data-owner="log"]';
  assert.equal(await page.locator(strip).count(), 1, 'the log\'s strip is drawn');
  const length = Number(await page.getAttribute(strip, 'data-length'));
  assert.ok(length > 16, `the log has grown: ${length}`);
  assert.equal(await page.locator(`${strip} .cell`).count(), 16, 'its newest offsets as cells');
  const marks = await page.$$eval(`${strip} .log-mark`, (gs) => gs.map((g) => ({
    name: g.dataset.projection, offset: Number(g.dataset.offset), lag: Number(g.dataset.lag), text: g.textContent,
  })));
  assert.deepEqual(marks.map((m) => m.name).sort(), ['dashboard', 'report'], 'one mark per projection');
  for (const m of marks) {
    assert.equal(m.lag, length - m.offset, `${m.name}: lag is the log's end minus its offset`);
    assert.match(m.text, new RegExp(`${m.name} @${m.offset}: ${m.lag} behind`));
  }
  assert.deepEqual(errors, []);
});

test('a saga\'s compensation stays on screen after it ends', async () => {
  const { page, errors } = await openPage(env.browser, env.url, screen);
  const title = 'An orchestrated order saga';
  const ended = '#canvas .saga-ended.compensated';
  let first = null;
  for (let ms = 1_050; ms <= 1_600 && first === null; ms += 10) {
    await at(page, title, ms);
    if (await page.locator(ended).count()) first = ms;
  }
  assert.ok(first !== null, 'a compensated saga is drawn when it ends');
  assert.match(await page.textContent(ended), /s\d+ .*↺.* undone/);
  // Its compensation took tens of milliseconds; its picture is still there a second later.
  await at(page, title, first + 1_000);
  assert.equal(await page.locator(ended).count(), 1, 'still drawn 1 s after it ended');
  assert.deepEqual(errors, []);
});

test('the nodes a lesson step names are highlighted on the canvas, with a cue of their own', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?lesson=10-cap&step=0`, screen);
  await page.waitForSelector('#canvas g.node');
  const nodes = await page.$$eval('#canvas g.node', (gs) => gs.map((g) => g.dataset.node));
  const named = await page.$$eval('.step-text code', (cs) => cs.map((c) => c.textContent.trim()));
  const expected = nodes.filter((n) => named.includes(n)).sort();
  assert.ok(expected.length >= 1, `the step names a node: ${named}`);
  const marked = await page.$$eval('#canvas g.node.mentioned', (gs) => gs.map((g) => g.dataset.node));
  assert.deepEqual(marked.sort(), expected, 'exactly the named nodes are highlighted');
  const cue = await page.$eval('#canvas g.node.mentioned', (g) => ({
    mention: getComputedStyle(g.querySelector('.mention')).fill,
    halo: getComputedStyle(g.querySelector('.halo')).stroke,
    label: g.getAttribute('aria-label'),
  }));
  assert.notEqual(cue.mention, 'none', 'a fill behind the node');
  assert.equal(cue.halo, 'none', 'not the focus or selection ring');
  assert.match(cue.label, /named in the step/);
  assert.deepEqual(errors, []);
});
