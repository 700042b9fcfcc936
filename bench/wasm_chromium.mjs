// The wasm M/M/1 benchmark (crates/faultline-core/tests/bench_wasm.rs) in headless Chromium, the
// engine learners run it in, rather than in Node: wasm-bindgen's test runner serves the test as a
// page (its interactive mode), Playwright opens it in Debian's Chromium and this prints the line
// the test logs, with the browser's version. bench/run.sh calls it once per round.
//   node bench/wasm_chromium.mjs   (after bash scripts/setup.sh --test)
import { spawn } from 'node:child_process';
import { createServer, get } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tools = process.env.FAULTLINE_TOOLS ?? join(process.env.HOME ?? '', '.cache/faultline');
const { chromium } = createRequire(join(tools, 'node_modules', 'noop.js'))('playwright-core');

// A free port on 127.0.0.1 for the runner's page.
const port = await new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); });
});
const runner = spawn('cargo', ['test', '--profile', 'wasm', '--locked', '-p', 'faultline-core',
  '--target', 'wasm32-unknown-unknown', '--test', 'bench_wasm', '--', '--include-ignored', '--nocapture'], {
  cwd: ROOT,
  detached: true, // its own process group, so the runner's server goes with it
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: 'wasm-bindgen-test-runner',
    NO_HEADLESS: '1',
    WASM_BINDGEN_USE_BROWSER: '1',
    WASM_BINDGEN_TEST_ADDRESS: `127.0.0.1:${port}`,
  },
});
const stop = () => { try { process.kill(-runner.pid, 'SIGTERM'); } catch { /* already gone */ } };
const url = `http://127.0.0.1:${port}/`;
const up = () => new Promise((ok) => get(url, (r) => { r.resume(); ok(r.statusCode === 200); }).on('error', () => ok(false)));

let browser;
try {
  // The build is cached after the first round; a cold one takes minutes.
  const deadline = Date.now() + 600_000;
  while (!(await up())) {
    if (Date.now() > deadline || runner.exitCode !== null) throw new Error('the test runner did not start serving');
    await new Promise((ok) => setTimeout(ok, 250));
  }
  browser = await chromium.launch({
    executablePath: process.env.FAULTLINE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage();
  const line = new Promise((ok) => page.on('console', (m) => {
    const found = m.text().match(/\{"wasm_customers.*\}/);
    if (found) ok(found[0]);
  }));
  await page.goto(url);
  let timer;
  const late = new Promise((_, no) => { timer = setTimeout(() => no(new Error('no result in 120 s')), 120_000); });
  const result = await Promise.race([line, late]).finally(() => clearTimeout(timer));
  console.log(JSON.stringify({ ...JSON.parse(result), browser: `Chromium ${browser.version()}` }));
} catch (e) {
  console.error(`wasm_chromium: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  stop();
}
