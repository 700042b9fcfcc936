// Shared set-up for the end-to-end tests: the built site on 127.0.0.1, Debian's Chromium driven
// by playwright-core (installed by scripts/setup.sh into $FAULTLINE_TOOLS), and a collector that
// fails a test on any console error or uncaught page error.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const ARTIFACTS = join(here, 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const tools = process.env.FAULTLINE_TOOLS ?? join(process.env.HOME, '.cache/faultline');
const require = createRequire(join(tools, 'node_modules', 'noop.js'));
const { chromium } = require('playwright-core');

/**
 * Starts the server and the browser; returns { url, browser, close }. `isolated`: the site is
 * served cross-origin isolated (COOP and COEP headers), which gives the page's clocks their
 * full precision (5 µs instead of 100 µs with jitter).
 */
export async function start({ isolated = false } = {}) {
  const headers = isolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
    : {};
  const site = await serve(process.env.FAULTLINE_DIST ?? join(ROOT, 'dist'), headers);
  const browser = await chromium.launch({
    executablePath: process.env.FAULTLINE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  return {
    url: site.url,
    browser,
    async close() {
      await browser.close();
      await site.close();
    },
  };
}

/** A new page that records console errors and page errors into `errors`. */
export async function openPage(browser, url, options = {}) {
  const page = await browser.newPage(options);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
  // A lesson address fetches the lessons after the first render: wait until they are in.
  await page.waitForSelector('[data-loading]', { state: 'detached', timeout: 15_000 });
  return { page, errors };
}

/** Answers requests matching `pattern` with their real body with one byte flipped in the
 * middle: a packed wasm that arrives damaged (its LZMA stream or its CRC fails). */
export function damage(page, pattern) {
  return page.route(pattern, async (route) => {
    const body = await (await route.fetch()).body();
    body[body.length >> 1] ^= 0xff;
    await route.fulfill({ body, contentType: 'application/octet-stream' });
  });
}

/**
 * Picks a template in the sandbox's picker, by its title (or `{ value }`), and waits until it is
 * on screen: every template but the default is fetched when it is picked.
 */
export async function chooseTemplate(page, which) {
  const label = typeof which === 'string'
    ? which
    : await page.$eval(`#template option[value="${which.value}"]`, (o) => o.textContent);
  await page.selectOption('#template', { label });
  await page.waitForFunction(
    (t) => document.querySelector('#scenario-title')?.textContent === t && !document.querySelector('[data-loading]'),
    label,
    { timeout: 15_000 },
  );
}

/** The simulated time shown on the page, in microseconds. */
export async function simTime(page) {
  return Number(await page.getAttribute('#sim-time', 'data-time-us'));
}

/**
 * Moves a range input (a slider, the time line) to `value` as a learner's drag would, and
 * returns once the page has painted what followed (the next animation frame), so that what a
 * test reads next is the page's answer to the drag.
 */
export async function setRange(page, selector, value) {
  await page.$eval(selector, (el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    return new Promise((done) => requestAnimationFrame(() => done()));
  }, value);
}
