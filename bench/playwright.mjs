// playwright-core from where scripts/setup.sh --test installs it ($FAULTLINE_TOOLS), for benches
// that drive Chromium themselves rather than through tests/e2e/browser.mjs's fixed set-up.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const tools = process.env.FAULTLINE_TOOLS ?? join(process.env.HOME, '.cache/faultline');
const require = createRequire(join(tools, 'node_modules', 'noop.js'));
export const { chromium } = require('playwright-core');
