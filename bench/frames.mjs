// Frame times of the playground in headless Chromium: opens ?bench=frames (30 nodes, about a
// thousand messages in flight), waits for the page's own report, prints it as JSON. The page
// measures 300 frames once it has started and the scenario is full (the first second, and until
// 900 messages are in flight, are not measured: see crates/faultline-web/src/framebench.rs), and
// counts the frames that missed a refresh (an interval over 20 ms).
//
// The site is served cross-origin isolated (COOP and COEP headers) so that the frames' time
// stamps have the browser's full precision: otherwise Chromium rounds them to 100 µs with a
// random jitter, and about 6 % of the intervals of a page that misses no refresh read 16.8 ms
// (measured: 161 x 16.7, 116 x 16.6, 17 x 16.8), which puts the p95 at 16.8 whatever the page
// does. Isolated, the same page's intervals read 16.660-16.670 ms, and a missed refresh 33.3.
//
// --sweep: the same, while a 1,000-seed sweep of lesson 07's scenario (the duplicated order:
// 30 s of checkout each) runs in the sweep's Web Worker, started as the page opens; the report
// says how far the sweep had got when the measurement ended, and the sweep's wall time.
// --sweep --thread: the sweep on the page's own thread instead (the fallback when no worker
// can start), to measure what the worker saves.
//
// Usage: bash scripts/setup.sh --test && trunk build --release --offline && node bench/frames.mjs [--sweep [--thread]]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { start, openPage, ROOT } from '../tests/e2e/browser.mjs';

const SWEEP_SEEDS = 1000;
const sweep = process.argv.includes('--sweep');
const thread = process.argv.includes('--thread');

/** Lesson 07's scenario (its first `scenario` block) as a sweep link, as "Copy sweep link" makes it. */
function lessonSweepLink() {
  const md = readFileSync(join(ROOT, 'lessons/07-idempotency.md'), 'utf8');
  const block = md.match(/```scenario\n([\s\S]*?)\n```/);
  if (!block) throw new Error('lessons/07-idempotency.md has no scenario block');
  const link = { scenario: JSON.parse(block[1]), at_ms: 0,
    view: { sweep: { seeds: SWEEP_SEEDS, figure: 'payments.duplicate_charges' } } };
  return `1.${deflateRawSync(Buffer.from(JSON.stringify(link))).toString('base64url')}`;
}

const env = await start({ isolated: true });
try {
  const url = `${env.url}?bench=frames${thread ? '&thread=1' : ''}${sweep ? `#${lessonSweepLink()}` : ''}`;
  const { page, errors } = await openPage(env.browser, url, { viewport: { width: 1280, height: 900 } });
  await page.waitForSelector('#frame-report', { timeout: 120_000 });
  const report = await page.$eval('#frame-report', (el) => ({
    text: el.textContent,
    interval_p95_ms: Number(el.dataset.intervalP95Ms),
    work_p95_ms: Number(el.dataset.workP95Ms),
    missed: Number(el.dataset.missed),
    sweep_at_report: el.dataset.sweep,
  }));
  let sweepResult;
  if (sweep) {
    // The sweep's end: the run button is back. Its wall time counts from the page's start.
    await page.waitForSelector('.sweep #sweep-run', { timeout: 600_000 });
    sweepResult = await page.evaluate(() => ({
      wall_s_since_page_start: Number((performance.now() / 1000).toFixed(2)),
      runner: document.querySelector('.sweep').dataset.runner,
      stats: document.querySelector('#sweep-stats')?.textContent,
    }));
  }
  console.log(JSON.stringify({ ...report, sweep: sweepResult, chromium: env.browser.version(), errors }));
} finally {
  await env.close();
}
