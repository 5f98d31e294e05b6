// Renders the tab bar icons (81x81 PNG, as mp-weixin requires local PNGs) from inline SVG with the
// project's headless Chromium. Run once after changing an icon: node miniapp/scripts/make-tab-icons.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../test/package.json'));
const { chromium } = require('playwright-core');
const out = path.join(here, '../src/static/tab');

const ICONS = {
  workbench: '<rect x="10" y="10" width="26" height="26" rx="6"/><rect x="45" y="10" width="26" height="26" rx="6"/><rect x="10" y="45" width="26" height="26" rx="6"/><rect x="45" y="45" width="26" height="26" rx="13"/>',
  approval: '<rect x="14" y="9" width="53" height="64" rx="8" fill="none" stroke-width="7"/><path d="M27 42 l10 10 l18 -20" fill="none" stroke-width="7" stroke-linecap="round" stroke-linejoin="round"/>',
  contacts: '<circle cx="40" cy="28" r="14" fill="none" stroke-width="7"/><path d="M14 72 c2 -18 14 -24 26 -24 s24 6 26 24" fill="none" stroke-width="7" stroke-linecap="round"/>',
  me: '<circle cx="40" cy="40" r="29" fill="none" stroke-width="7"/><circle cx="40" cy="34" r="9"/><path d="M24 59 c4 -10 10 -12 16 -12 s12 2 16 12" fill="none" stroke-width="6" stroke-linecap="round"/>',
};

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 81, height: 81 } });
for (const [name, shape] of Object.entries(ICONS)) {
  for (const [suffix, color] of [['', '#7a7e83'], ['-on', '#1677ff']]) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="81" height="81" viewBox="0 0 81 81" fill="${color}" stroke="${color}">${shape}</svg>`;
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
    await page.screenshot({ path: path.join(out, `${name}${suffix}.png`), omitBackground: true, clip: { x: 0, y: 0, width: 81, height: 81 } });
  }
}
await browser.close();
console.log(`tab icons written to ${out}`);
