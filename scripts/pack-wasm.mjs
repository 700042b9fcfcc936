// Packs the page's wasm for the first download: writes X_bg.wasm.xz beside X_bg.wasm, copies a
// small streaming xz decoder (the npm package xz-decompress, xz-embedded in wasm, installed by
// scripts/setup.sh) beside the page, and rewrites index.html so the page fetches the .xz,
// decompresses it as it arrives and compiles it as it is decompressed. The sweep's Web Worker
// gets the same: its loader (Trunk's `*_loader.js` shim) is rewritten to fetch its wasm packed.
//
// Why: most static hosts that serve a project page (GitHub Pages among them) send gzip and never
// brotli, and the wasm is nearly all of the first download. LZMA packs it about a quarter smaller
// than gzip -9, and a little smaller than brotli at quality 11 (page wasm: 754 KB gzip, 580 KB
// brotli, 558 KB xz), for a 9 KB decoder and about 40 ms of decoding on a laptop that overlaps
// the download. The host needs no setting: the .xz is served as it is, like any binary file.
//
// The plain .wasm stays beside it, and the page falls back to it (with a warning in the console)
// if the decoder or the .xz does not load or does not decode: a learner never sees a broken page
// because of the packing.
//
// Trunk runs it after a release build, before scripts/compress.mjs (Trunk.toml's post_build
// hook); by hand: node scripts/pack-wasm.mjs dist
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('usage: node scripts/pack-wasm.mjs DIR (or set TRUNK_STAGING_DIR)');
  process.exit(2);
}
if (process.env.TRUNK_PROFILE && process.env.TRUNK_PROFILE !== 'release') {
  console.log(`pack-wasm: skipped for a ${process.env.TRUNK_PROFILE} build`);
  process.exit(0);
}

const tools = process.env.FAULTLINE_TOOLS ?? join(process.env.HOME ?? '', '.cache/faultline');
const pkg = join(tools, 'node_modules', 'xz-decompress');
let version;
try {
  version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
} catch {
  // Not fatal: the page loads its plain wasm, as before; only the first download is larger.
  console.warn(`pack-wasm: xz-decompress is not in ${tools} (bash scripts/setup.sh installs it); the page loads its wasm unpacked`);
  process.exit(0);
}

const page = join(dir, 'index.html');
let html = readFileSync(page, 'utf8');
// Trunk 0.21's loader for the page (the worker has its own, started only for a sweep). Trunk is
// pinned (scripts/setup.sh); if its output changes, fail the build rather than ship a page that
// silently stopped packing.
const load = /const wasm = await init\(\{ module_or_path: '(\.\/[^']+_bg\.wasm)' \}\);/;
const m = html.match(load);
if (!m) {
  console.error("pack-wasm: index.html has no Trunk loader of the form \"const wasm = await init({ module_or_path: './X_bg.wasm' });\"");
  process.exit(1);
}
const wasmUrl = m[1];

// LZMA2 over the whole file in one dictionary (the smallest power of two that holds it), with
// the literal context of the previous byte's every bit (lc=4) and no position bits: wasm code is
// a byte stream with no alignment to exploit. Measured on the page's wasm: 2 KB smaller than
// xz -9e's defaults. CRC32, which every xz decoder checks.
function pack(url) {
  const file = join(dir, url.slice(2));
  const size = statSync(file).size;
  const dict = Math.min(Math.max(2 ** Math.ceil(Math.log2(size)), 1 << 20), 1 << 26);
  let packed;
  try {
    packed = execFileSync(
      'xz',
      ['-c', '-T1', '--check=crc32', `--lzma2=preset=9e,dict=${dict},lc=4,lp=0,pb=0`, file],
      { maxBuffer: 4 * size + (1 << 20) },
    );
  } catch (e) {
    console.warn(`pack-wasm: xz did not run (${e.message.split('\n')[0]}); the page loads its wasm unpacked`);
    process.exit(0);
  }
  writeFileSync(`${file}.xz`, packed);
  console.log(`pack-wasm: ${url.slice(2)} ${size} bytes -> ${packed.length} bytes .xz`);
}

// The loader's body, for the page (`init`, in a module script) and the worker (`wasm_bindgen`,
// in its classic loader script). It checks that the decoder is there, falls back to the plain
// wasm on any failure, and reads the .xz's body through to its end: the decoder stops at the
// end of the xz stream without asking for it, and the browser would count the download as cut
// short. No integrity check on the fetch: one with integrity metadata is not read until all of
// it has arrived, which would stop the decoding and compiling as it downloads.
// `fetchDecoder` is the statement that loads the decoder first, where it is not loaded already.
const loader = (init, plain, what, fetchDecoder = '') => `// Packed by scripts/pack-wasm.mjs: the wasm arrives as .xz, decompressed and compiled as it downloads.
const plain = '${plain}';
let wasm;
try {${fetchDecoder ? `\n  ${fetchDecoder}` : ''}
  const Xz = globalThis['xz-decompress']?.XzReadableStream;
  if (!Xz) throw new Error('the xz decoder did not load');
  const packed = await fetch(plain + '.xz');
  if (!packed.ok) throw new Error(\`\${packed.status} \${packed.statusText} for \${packed.url}\`);
  const reader = packed.body.getReader();
  const body = new ReadableStream({
    async pull(c) {
      const { done, value } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
  });
  const unpacked = new Response(new Xz(body), { headers: { 'content-type': 'application/wasm' } });
  wasm = await ${init}({ module_or_path: unpacked });
  while (!(await reader.read()).done);
} catch (e) {
  console.warn('Faultline: the packed ${what} did not load, so it loads unpacked:', e);
  wasm = await ${init}({ module_or_path: plain });
}`;

pack(wasmUrl);
const decoder = `xz-decompress-${version}.min.js`;
copyFileSync(join(pkg, 'dist', 'package', 'xz-decompress.min.js'), join(dir, decoder));

// The page. The decoder is a classic script, deferred: deferred and module scripts run in
// document order, so it is defined before the loader runs (and the loader checks, and falls
// back if it is not). The .xz is preloaded where Trunk preloaded the plain wasm, so its download
// starts with the page's JS, not after it.
html = html.replace(load, () => loader('init', wasmUrl, 'simulator'));
const preload = new RegExp(`<link rel="preload" href="${wasmUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>`);
if (!preload.test(html)) {
  console.error(`pack-wasm: index.html has no preload link for ${wasmUrl}`);
  process.exit(1);
}
html = html.replace(
  preload,
  () => `<link rel="preload" href="${wasmUrl}.xz" crossorigin="anonymous" as="fetch">`,
);
html = html.replace('<script type="module">', () => `<script defer src="./${decoder}"></script>\n<script type="module">`);
writeFileSync(page, html);

// Each Web Worker's loader (Trunk's data-loader-shim: one line that imports the glue and starts
// the wasm). A worker's importScripts runs the decoder's script with `self` as its global.
for (const name of readdirSync(dir).filter((f) => f.endsWith('_loader.js')).sort()) {
  const shim = readFileSync(join(dir, name), 'utf8');
  const w = shim.match(/^importScripts\("(\.\/[^"]+\.js)"\);wasm_bindgen\("(\.\/[^"]+_bg\.wasm)"\);$/);
  if (!w) {
    console.error(`pack-wasm: ${name} is not Trunk's worker loader of the form importScripts("./X.js");wasm_bindgen("./X_bg.wasm");`);
    process.exit(1);
  }
  pack(w[2]);
  const body = loader('wasm_bindgen', w[2], 'sweep worker', `importScripts('./${decoder}');`);
  writeFileSync(join(dir, name), `importScripts("${w[1]}");\n(async () => {\n${body}\n})();\n`);
}
console.log(`pack-wasm: decoder ${decoder}; index.html and the workers' loaders load the .xz files`);
