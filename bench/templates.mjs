// Frame times of every template while it plays, in headless Chromium: what a learner's browser
// does with each model's live work (the linearizability checker, Raft's safety observer, the
// saga ledger) on top of drawing. Each template plays for up to 6 s of wall time at the given speed.
// Usage: bash scripts/setup.sh --test && trunk build --release --offline &&
//        node bench/templates.mjs [speed, default 10] [title ...]
import { start, openPage, chooseTemplate } from '../tests/e2e/browser.mjs';

const speed = process.argv[2] ?? '10';
const env = await start();
try {
  const { page, errors } = await openPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  const all = await page.$$eval('#template option', (os) => os.filter((o) => o.value !== '').map((o) => o.textContent));
  const titles = process.argv.length > 3 ? process.argv.slice(3) : all;
  console.log(`speed ${speed}x, up to 6 s each, only while the run plays; requestAnimationFrame intervals in ms (16.7 is every frame at 60 Hz)`);
  for (const title of titles) {
    await chooseTemplate(page, title);
    await page.waitForFunction((t) => document.querySelector('#scenario-title')?.textContent === t, title);
    await page.selectOption('#speed', speed);
    // Only while the run plays: a short run at a high speed ends before 6 s.
    const runMs = Number(await page.getAttribute('#timeline', 'max'));
    const wallMs = Math.min(6000, (runMs - (await page.getAttribute('#sim-time', 'data-time-us')) / 1000) / Number(speed) - 100);
    const xs = await page.evaluate((ms) => new Promise((done) => {
      const out = [];
      const t0 = performance.now();
      let last = t0;
      const tick = (t) => {
        out.push(t - last);
        last = t;
        if (t - t0 < ms) requestAnimationFrame(tick); else done(out);
      };
      requestAnimationFrame(tick);
    }), wallMs);
    xs.sort((a, b) => a - b);
    const q = (p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(1);
    const simS = Number(await page.getAttribute('#sim-time', 'data-time-us')) / 1e6;
    console.log(`${title.padEnd(48)} p50 ${q(0.5)}  p95 ${q(0.95)}  p99 ${q(0.99)}  max ${xs[xs.length - 1].toFixed(1)}  (${xs.length} frames, run at ${simS.toFixed(1)} s)`);
  }
  if (errors.length) console.log('errors:', errors);
} finally {
  await env.close();
}
