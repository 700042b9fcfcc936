// Time-line jumps in headless Chromium: the default scenario made 10 minutes and 1 hour long,
// opened from a link at its end (the page plays the whole run to get there, leaving its
// snapshots behind), then jumps to the start, the middle, the end and random moments, each
// measured from the time line's input event to the first animation frame that shows the new
// moment (the page's own work, the DOM patch and the frame).
// Usage: bash scripts/setup.sh --test && trunk build --release --offline && node bench/jumps.mjs [runs]
// Prints one JSON line per run length; FAULTLINE_DIST picks another build (a before/after).
import { start, openPage } from '../tests/e2e/browser.mjs';
import { link, longRun } from './longrun.mjs';

const RUNS = Number(process.argv[2] ?? 3); // each jump is measured this many times
const RANDOM = 10;

/** Jumps to `ms` and resolves to the wall milliseconds until a frame shows it. */
async function jump(page, ms) {
  return page.evaluate((v) => new Promise((done, fail) => {
    const el = document.querySelector('#timeline');
    const t0 = performance.now();
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    const want = String(v * 1000);
    const check = () => {
      if (document.querySelector('#sim-time').dataset.timeUs === want) done(performance.now() - t0);
      else if (performance.now() - t0 > 30_000) fail(new Error(`no frame showed ${want} us`));
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }), ms);
}

/** The moment to come back from before each jump, so every jump travels the same way. */
async function settle(page, ms) {
  await jump(page, ms);
  await page.waitForTimeout(50);
}

function pct(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const env = await start();
try {
  for (const minutes of [10, 60]) {
    const scenario = longRun(minutes);
    const endMs = minutes * 60_000;
    const { page, errors } = await openPage(env.browser, `${env.url}${link(scenario, endMs)}`, { viewport: { width: 1280, height: 900 } });
    const t0 = Date.now();
    await page.waitForFunction((t) => document.querySelector('#sim-time')?.dataset.timeUs === String(t), endMs * 1000, { timeout: 600_000 });
    const openS = (Date.now() - t0) / 1000;
    const round = (x) => Math.round(x * 10) / 10;
    const fig = { back_to_start: [], back_to_middle: [], forward_to_end: [], random: [] };
    for (let r = 0; r < RUNS; r += 1) {
      await settle(page, endMs);
      fig.back_to_start.push(await jump(page, 0));
      await settle(page, endMs);
      fig.back_to_middle.push(await jump(page, endMs / 2));
      await settle(page, endMs / 2);
      fig.forward_to_end.push(await jump(page, endMs));
    }
    // Random moments, each from the last: backward and forward alike (a fixed sequence).
    let x = 12345;
    for (let i = 0; i < RANDOM * RUNS; i += 1) {
      x = (x * 1103515245 + 12345) % 2147483648;
      fig.random.push(await jump(page, Math.round((x / 2147483648) * endMs / 10) * 10));
    }
    const out = { run_minutes: minutes, opened_at_end_s: round(openS) };
    for (const [k, xs] of Object.entries(fig)) {
      out[`${k}_ms`] = { min: round(Math.min(...xs)), median: round(pct(xs, 0.5)), max: round(Math.max(...xs)) };
    }
    out.chromium = env.browser.version();
    out.errors = errors;
    console.log(JSON.stringify(out));
    await page.close();
  }
} finally {
  await env.close();
}
