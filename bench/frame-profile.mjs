// Where a frame of ?bench=frames goes: records a Chromium trace (devtools.timeline categories,
// the ones the DevTools Performance panel records) over a few seconds of the benchmark scenario
// playing, and prints, per frame on the renderer's main thread, the time spent in script (the
// wasm: simulation, Yew's render and diff, the message layer's paint calls), style, layout,
// pre-paint and paint, layerize and commit, and garbage collection; and the raster threads' work.
// Usage: trunk build --release --offline && node bench/frame-profile.mjs [seconds] [trace.json]
import { writeFileSync } from 'node:fs';
import { start, openPage } from '../tests/e2e/browser.mjs';

const seconds = Number(process.argv[2] ?? 4);
const out = process.argv[3];
const env = await start();
try {
  const { page, errors } = await openPage(env.browser, `${env.url}?bench=frames`, { viewport: { width: 1280, height: 900 } });
  // Let the scenario fill up (about a thousand messages in flight after a second or so).
  await page.waitForTimeout(2_000);
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const done = new Promise((ok) => cdp.once('Tracing.tracingComplete', ok));
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: {
      includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink', 'cc', 'gpu',
        'disabled-by-default-devtools.timeline.frame', 'toplevel', 'blink.user_timing'],
    },
  });
  await page.waitForTimeout(seconds * 1000);
  await cdp.send('Tracing.end');
  await done;
  if (out) writeFileSync(out, JSON.stringify({ traceEvents: events }));

  // The renderer's main thread and its raster threads, by name.
  const names = new Map();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
  const thread = (e) => names.get(`${e.pid}:${e.tid}`) ?? '?';
  const mainKeys = new Set([...names].filter(([, n]) => n === 'CrRendererMain').map(([k]) => k));
  // The main thread of the page's renderer: the one with the most animation frames.
  const count = new Map();
  for (const e of events) if (e.name === 'FireAnimationFrame') count.set(`${e.pid}:${e.tid}`, (count.get(`${e.pid}:${e.tid}`) ?? 0) + 1);
  const main = [...mainKeys].sort((a, b) => (count.get(b) ?? 0) - (count.get(a) ?? 0))[0];
  const complete = events.filter((e) => e.ph === 'X' && typeof e.dur === 'number');
  const onMain = complete.filter((e) => `${e.pid}:${e.tid}` === main);

  // Self time per event name on the main thread: an event's duration less its children's.
  onMain.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const self = new Map();
  const stack = [];
  for (const e of onMain) {
    while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
    const parent = stack.at(-1);
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur);
    self.set(e.name, (self.get(e.name) ?? 0) + e.dur);
    stack.push(e);
  }
  const frames = count.get(main) ?? 1;
  const span = (onMain.reduce((m, e) => Math.max(m, e.ts + e.dur), -Infinity) - onMain.reduce((m, e) => Math.min(m, e.ts), Infinity)) / 1000;
  const rows = [...self].filter(([, us]) => us > 0).sort((a, b) => b[1] - a[1]).slice(0, 25)
    .map(([name, us]) => ({ name, ms_per_frame: +(us / 1000 / frames).toFixed(2), total_ms: +(us / 1000).toFixed(0) }));

  // Whole-task durations per animation frame: the main thread's busy time between two frames.
  const tasks = onMain.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask');
  const busy = tasks.reduce((s, e) => s + e.dur, 0) / 1000;
  const raster = complete.filter((e) => /Raster|Compositor/.test(thread(e)) && e.name === 'RasterTask')
    .reduce((s, e) => s + e.dur, 0) / 1000;
  const perFrame = (name) => onMain.filter((e) => e.name === name).map((e) => e.dur / 1000).sort((a, b) => a - b);
  const p = (xs, q) => xs.length ? +xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)].toFixed(2) : null;
  const summary = {};
  for (const n of ['FireAnimationFrame', 'UpdateLayoutTree', 'Layout', 'PrePaint', 'Paint', 'Layerize', 'Commit', 'FunctionCall']) {
    const xs = perFrame(n);
    summary[n] = { count: xs.length, p50: p(xs, 0.5), p95: p(xs, 0.95), sum_ms: +xs.reduce((a, b) => a + b, 0).toFixed(0) };
  }
  // Per frame: the main thread's self time by kind, from one animation frame to the next.
  const kind = (name) => {
    if (/^(UpdateLayoutTree|RecalculateStyles|ScheduleStyleRecalculation|InvalidateLayout)$/.test(name)) return 'style';
    if (/^(Layout|LayoutShift|IntersectionObserverController::computeIntersections|ResizeObserver.*)$/.test(name)) return 'layout';
    if (/^(PrePaint|Paint|PaintImage|Layerize|UpdateLayer|UpdateLayerTree|Commit|PaintSetup|CompositeLayers|UpdateLayoutTree.*Paint)$/.test(name)) return 'paint';
    if (/^(ParseHTML|ParseAuthorStyleSheet|HTMLDocumentParser.*)$/.test(name)) return 'parse';
    if (/GC|GarbageCollect/i.test(name)) return 'gc';
    if (/^(FunctionCall|FireAnimationFrame|EvaluateScript|v8\..*|V8\..*|RunMicrotasks|TimerFire|EventDispatch|FireIdleCallback)$/.test(name)) return 'script';
    return 'other';
  };
  const starts = onMain.filter((e) => e.name === 'FireAnimationFrame').map((e) => e.ts).sort((a, b) => a - b);
  const perFrameKinds = starts.slice(0, -1).map(() => ({ script: 0, style: 0, layout: 0, paint: 0, parse: 0, gc: 0, other: 0 }));
  {
    const st = [];
    for (const e of onMain) {
      while (st.length && st.at(-1).ts + st.at(-1).dur <= e.ts) st.pop();
      const parent = st.at(-1);
      const i = starts.findLastIndex((t) => t <= e.ts);
      if (i >= 0 && i < perFrameKinds.length) {
        perFrameKinds[i][kind(e.name)] += e.dur / 1000;
        if (parent) perFrameKinds[i][kind(parent.name)] -= e.dur / 1000;
      }
      st.push(e);
    }
  }
  const byKind = {};
  for (const k of ['script', 'style', 'layout', 'paint', 'parse', 'gc', 'other']) {
    const xs = perFrameKinds.map((f) => Math.max(0, f[k])).sort((a, b) => a - b);
    byKind[k] = { p50: p(xs, 0.5), p95: p(xs, 0.95) };
  }
  const totals = perFrameKinds.map((f, i) => ({ i, total: Object.values(f).reduce((a, b) => a + Math.max(0, b), 0), ...f }));
  const tot = totals.map((f) => f.total).sort((a, b) => a - b);
  byKind.total = { p50: p(tot, 0.5), p95: p(tot, 0.95) };
  const intervals = starts.slice(1).map((t, i) => (t - starts[i]) / 1000).sort((a, b) => a - b);
  const heaviest = [...totals].sort((a, b) => b.total - a.total).slice(0, 8)
    .map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, k === 'i' ? v : +v.toFixed(1)])));
  console.log(JSON.stringify({
    interval_ms: { p50: p(intervals, 0.5), p95: p(intervals, 0.95) },
    main_thread_per_frame_ms: byKind, heaviest_frames: heaviest,
    seconds_traced: +(span / 1000).toFixed(2), animation_frames: frames, fps: +(frames / (span / 1000)).toFixed(1),
    main_thread_busy_ms_per_frame: +(busy / frames).toFixed(2), raster_ms_per_frame: +(raster / frames).toFixed(2),
    summary, self_time_top: rows, errors,
  }, null, 1));
} finally {
  await env.close();
}
