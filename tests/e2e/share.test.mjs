// Share links end to end: make a run in the page, copy its link, open it in a fresh page and get
// the same moment of the same run (the same trace hash); hostile links change nothing but a
// message; a classroom link hides what the teacher chose, for good, and carries a note; embed=1 is
// the minimal page, with a way into the full one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, openPage, setRange, chooseTemplate } from './browser.mjs';

let env;
before(async () => { env = await start(); });
after(async () => { await env?.close(); });

const state = async (page) => ({
  time: await page.getAttribute('#sim-time', 'data-time-us'),
  hash: await page.getAttribute('#sim-time', 'data-trace-hash'),
  linkClass: await page.getAttribute('#canvas g.link[data-link="0"]', 'class'),
});

test('a copied link opens the same run at the same moment', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await chooseTemplate(page, 'A circuit breaker opens, probes and closes');
  await page.selectOption('#speed', '10');
  await page.waitForFunction(() => Number(document.querySelector('#sim-time').dataset.timeUs) > 3_000_000);
  await page.click('#play-pause'); // pause
  // At 10x a slow frame moves a second: put the playhead at a known moment before 4 s.
  await setRange(page, '#timeline', 3200);
  // Change a setting and crash a node, so the link must carry the learner's interventions.
  await page.click('#canvas g.node[data-node="payments"]');
  await page.click('button.act[data-act="crash"]');
  await setRange(page, '#param-error_rate', 0.3);
  await setRange(page, '#timeline', 2500); // back before the crash: the link keeps the future
  const here = await state(page);
  await page.click('#copy-link');
  const url = await page.inputValue('#share-link');
  assert.match(url, /#1\.[A-Za-z0-9_-]+$/);
  // The address bar follows the state too, so a reload keeps it.
  assert.equal(new URL(page.url()).hash, new URL(url).hash);

  const other = await openPage(env.browser, url);
  assert.deepEqual(await state(other.page), here, 'same moment, same trace');
  assert.equal(await other.page.textContent('#scenario-title'), 'A circuit breaker opens, probes and closes');
  // And on into the same future: the crash the learner made comes at its time.
  for (const p of [page, other.page]) await setRange(p, '#timeline', 4000);
  assert.deepEqual(await state(other.page), await state(page));
  assert.match(await other.page.getAttribute('#canvas g.node[data-node="payments"]', 'class'), /crashed/);
  assert.deepEqual([...errors, ...other.errors], []);
});

test('malformed and hostile links show a message and open the default sandbox', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await page.click('#copy-link');
  const good = new URL(await page.inputValue('#share-link')).hash;
  const cases = [
    ['#1.<script>alert(1)</script>', /damaged/],
    ['#2.AAAA', /newer Faultline/],
    [`#1.${'A'.repeat(150_000)}`, /characters long/],
    [good.slice(0, Math.floor(good.length / 2)), /damaged/],
    ['#hello', /damaged/],
  ];
  for (const [hash, want] of cases) {
    const p = await openPage(env.browser, `${env.url}${hash}`);
    assert.match(await p.page.textContent('[role="alert"]'), want, hash.slice(0, 30));
    assert.equal(await p.page.textContent('#scenario-title'), 'A client and a server');
    assert.equal(await p.page.evaluate(() => window.__pwned ?? null), null);
    assert.deepEqual(p.errors, [], hash.slice(0, 30));
    await p.page.close();
  }
  assert.deepEqual(errors, []);
});

test('a classroom link hides what the teacher ticked, for good, and shows the note', async () => {
  const { page, errors } = await openPage(env.browser, env.url);
  await page.click('#classroom summary');
  await page.check('input.hide-part[data-part="seed"]');
  await page.check('input.hide-part[data-part="charts"]');
  await page.fill('#teacher-note', 'Before you press play: how many requests reach the server?');
  await page.click('#copy-link');
  const url = await page.inputValue('#share-link');
  const student = await openPage(env.browser, url);
  assert.equal(await student.page.isVisible('#seed'), false);
  assert.equal(await student.page.isVisible('section.charts'), false);
  assert.equal(await student.page.isVisible('#play-pause'), true);
  assert.match(await student.page.textContent('#teacher-note-shown'), /how many requests reach the server\?/);
  // The student has no boxes to untick; the link they copy hides the same parts.
  assert.equal(await student.page.locator('#classroom').count(), 0);
  assert.equal(await student.page.isVisible('#classroom-locked'), true);
  await student.page.click('#copy-link');
  const passed = await openPage(env.browser, await student.page.inputValue('#share-link'));
  assert.equal(await passed.page.isVisible('#seed'), false);
  assert.match(await passed.page.textContent('#teacher-note-shown'), /how many requests/);
  assert.deepEqual([...errors, ...student.errors, ...passed.errors], []);
});

test('hiding the settings a lesson step needs warns the teacher', async () => {
  const { page, errors } = await openPage(env.browser, `${env.url}?lesson=04-retries&step=2`);
  await page.click('#classroom summary');
  await page.check('input.hide-part[data-part="charts"]');
  assert.equal(await page.locator('#classroom-warning').count(), 0, 'charts are not needed to solve it');
  await page.check('input.hide-part[data-part="settings"]');
  assert.match(await page.textContent('#classroom-warning'), /Step 2 .* cannot meet its goal/);
  await page.uncheck('input.hide-part[data-part="settings"]');
  assert.equal(await page.locator('#classroom-warning').count(), 0);
  assert.deepEqual(errors, []);
});

test('embed=1 is the minimal page, with a way into the full page at the same moment', async () => {
  const embed = await openPage(env.browser, `${env.url}?embed=1`);
  assert.equal(await embed.page.locator('header').count(), 0);
  assert.equal(await embed.page.isVisible('#canvas'), true);
  await embed.page.click('#play-pause'); // pause
  await setRange(embed.page, '#timeline', 1500);
  const here = await state(embed.page);
  const [full] = await Promise.all([
    embed.page.context().waitForEvent('page'),
    embed.page.click('#open-full'),
  ]);
  await full.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  assert.equal(new URL(full.url()).search, '', 'not embedded');
  assert.equal(await full.locator('header').count(), 1);
  assert.deepEqual(await state(full), here, 'same moment, same trace');
  assert.deepEqual(embed.errors, []);
});

test('download the scenario and traces; open a scenario file; a corrupt file changes nothing', async () => {
  const { page, errors } = await openPage(env.browser, env.url, { acceptDownloads: true });
  await page.selectOption('#speed', '10');
  await page.waitForFunction(() => Number(document.querySelector('#sim-time').dataset.timeUs) > 2_000_000);
  await page.click('#play-pause');
  await page.click('details.export summary');
  const grab = async (button) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    const path = await dl.path();
    return { name: dl.suggestedFilename(), text: (await import('node:fs')).readFileSync(path, 'utf8') };
  };
  const scenario = await grab('#export-scenario');
  assert.equal(scenario.name, 'a-client-and-a-server.json');
  const parsed = JSON.parse(scenario.text);
  assert.equal(parsed.version, 1);
  const jsonl = await grab('#export-jsonl');
  const lines = jsonl.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length > 10);
  assert.deepEqual(lines.map((e) => e.seq).slice(0, 3), [0, 1, 2]);
  assert.ok(lines.at(-1).time_us <= Number(await page.getAttribute('#sim-time', 'data-time-us')));
  const chrome = JSON.parse((await grab('#export-chrome')).text);
  assert.ok(chrome.traceEvents.some((e) => e.ph === 'X'));
  const spans = JSON.parse((await grab('#export-spans')).text);
  const serverSpans = spans.resourceSpans.find((r) => r.resource.attributes[0].value.stringValue === 'server');
  assert.ok(serverSpans.scopeSpans[0].spans.every((sp) => sp.kind === 2 && sp.parentSpanId));
  const chart = await grab('figure.chart:first-of-type .save-chart');
  assert.match(chart.name, /\.svg$/);
  assert.match(chart.text, /^<svg/);
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('figure.chart:first-of-type .save-png')]);
  assert.match(png.suggestedFilename(), /\.png$/);
  const bytes = (await import('node:fs')).readFileSync(await png.path());
  assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG file');
  assert.ok(bytes.length > 2000, 'with a picture in it');

  // A corrupt file: a message with the line, and the run on screen is untouched.
  const before = await page.getAttribute('#sim-time', 'data-trace-hash');
  await page.setInputFiles('#import-scenario', { name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"version": 1, "nodes": [}') });
  await page.waitForSelector('[role="alert"]');
  assert.match(await page.textContent('[role="alert"]'), /not a scenario Faultline can open.*line 1/);
  assert.equal(await page.getAttribute('#sim-time', 'data-trace-hash'), before);
  // The downloaded file, renamed, opens.
  parsed.title = 'My own scenario';
  await page.setInputFiles('#import-scenario', { name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(parsed)) });
  await page.waitForFunction(() => document.querySelector('#scenario-title').textContent === 'My own scenario');
  assert.deepEqual(errors, []);
});
