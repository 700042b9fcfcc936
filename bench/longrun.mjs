// Shared by bench/jumps.mjs and bench/memory.mjs: a long run of the default scenario, opened
// from a share link.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { ROOT } from '../tests/e2e/browser.mjs';

/** A share link (`#1.` + base64url of the raw-deflated JSON) opening `scenario` at `atMs`. */
export function link(scenario, atMs) {
  const json = JSON.stringify({ scenario, at_ms: atMs });
  return `#1.${deflateRawSync(Buffer.from(json), { level: 9 }).toString('base64url')}`;
}

/** The default scenario, `minutes` long. */
export function longRun(minutes) {
  const s = JSON.parse(readFileSync(join(ROOT, 'tests/scenarios/client-server.json'), 'utf8'));
  s.duration_ms = minutes * 60_000;
  return s;
}
