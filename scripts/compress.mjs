// Precompresses the built site: writes FILE.gz and FILE.br (brotli, quality 11) beside every
// asset a browser downloads, so a static host that serves precompressed files (nginx
// gzip_static/brotli_static, Caddy's precompressed, many CDNs) sends the smallest bytes without
// compressing on each request. The .gz files come from zopfli (@gfx/zopfli, installed by
// scripts/setup.sh): ordinary gzip that every browser reads, about 4 % smaller than zlib's level
// 9 (the page's wasm: 873 KB at level 9, 835 KB from zopfli). Without it, Node's zlib writes them.
// Trunk runs it after a release build (Trunk.toml's post_build hook, with TRUNK_STAGING_DIR);
// by hand: node scripts/compress.mjs dist
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const WORTH = new Set(['.html', '.js', '.wasm', '.css', '.json', '.svg', '.txt', '.map']);
// A file smaller than this gains nothing worth a second request header's round trip.
const MIN_BYTES = 512;
// Bounded: a site is a handful of files, nesting is shallow.
const MAX_DEPTH = 8;
// Zopfli's passes over each block: 5 gives all but 0.01 % of what 15 gives, in 9 s rather than
// 12 for the page's wasm.
const ZOPFLI_ITERATIONS = 5;

function loadZopfli() {
  const tools = process.env.FAULTLINE_TOOLS ?? join(process.env.HOME ?? '', '.cache/faultline');
  try {
    return createRequire(join(tools, 'node_modules', 'noop.js'))('@gfx/zopfli');
  } catch {
    console.warn(`compress: @gfx/zopfli is not in ${tools} (bash scripts/setup.sh installs it); .gz files come from zlib`);
    return null;
  }
}
const zopfli = loadZopfli();
const zopfliGzip = (body) =>
  new Promise((ok, fail) =>
    zopfli.gzip(body, { numiterations: ZOPFLI_ITERATIONS }, (e, out) => (e ? fail(e) : ok(Buffer.from(out)))),
  );

const dir = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('usage: node scripts/compress.mjs DIR (or set TRUNK_STAGING_DIR)');
  process.exit(2);
}
if (process.env.TRUNK_PROFILE && process.env.TRUNK_PROFILE !== 'release') {
  console.log(`compress: skipped for a ${process.env.TRUNK_PROFILE} build`);
  process.exit(0);
}

function* files(d, depth) {
  if (depth > MAX_DEPTH) return;
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) yield* files(p, depth + 1);
    else if (WORTH.has(extname(p)) && statSync(p).size >= MIN_BYTES) yield p;
  }
}

let raw = 0;
let gz = 0;
let br = 0;
for (const f of files(dir, 0)) {
  const body = readFileSync(f);
  // The smaller of the two: zopfli never loses by much on a tiny file, but need not win.
  const z = gzipSync(body, { level: 9 });
  const g = zopfli ? [await zopfliGzip(body), z].reduce((a, b) => (b.length < a.length ? b : a)) : z;
  const b = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });
  writeFileSync(`${f}.gz`, g);
  writeFileSync(`${f}.br`, b);
  raw += body.length;
  gz += g.length;
  br += b.length;
}
console.log(`compress: ${raw} bytes -> ${gz} gzip (${zopfli ? 'zopfli' : 'zlib'}), ${br} brotli (.gz and .br beside each file in ${dir})`);
