// Frame times of the playground in headless Chromium: opens ?bench=frames (30 nodes, about a
// thousand messages in flight), waits for the page's own report, prints it as JSON.
// Usage: bash scripts/setup.sh --test && trunk build --release --offline && node bench/frames.mjs
import { start, openPage } from '../tests/e2e/browser.mjs';

const env = await start();
try {
  const { page, errors } = await openPage(env.browser, `${env.url}?bench=frames`, { viewport: { width: 1280, height: 900 } });
  await page.waitForSelector('#frame-report', { timeout: 60_000 });
  const report = await page.$eval('#frame-report', (el) => ({
    text: el.textContent,
    interval_p95_ms: Number(el.dataset.intervalP95Ms),
    work_p95_ms: Number(el.dataset.workP95Ms),
  }));
  console.log(JSON.stringify({ ...report, chromium: env.browser.version(), errors }));
} finally {
  await env.close();
}
