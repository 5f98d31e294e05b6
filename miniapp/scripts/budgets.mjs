// Size budgets of the staff client (issue 7 "Budgets"), checked on the build output:
//   mp-weixin: main package <= 2 MB, whole mini-program <= 20 MB (WeChat's limits);
//   H5: JavaScript needed for the first screen <= 300 KB gzipped (the entry chunk and everything it
//   imports statically, plus the home page's chunk and its static imports).
// Run after `npm run build:h5 -w miniapp && npm run build:mp-weixin -w miniapp`:
//   npm run budgets -w miniapp        (exit 1 when a budget is exceeded or a build is missing)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;
const KB = 1024;
const BUDGETS = { mpMain: 2 * MB, mpTotal: 20 * MB, h5InitialGzip: 300 * KB };
const failures = [];
const lines = [];
const kb = (n) => `${(n / KB).toFixed(1)} KB`;

function walk(dir) {
  let out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out = e.isDirectory() ? out.concat(walk(p)) : out.concat([p]);
  }
  return out;
}

// ── mini-program ──
const mp = path.join(root, 'dist/build/mp-weixin');
if (!fs.existsSync(path.join(mp, 'app.json'))) failures.push('mp-weixin build missing (npm run build:mp-weixin -w miniapp)');
else {
  const app = JSON.parse(fs.readFileSync(path.join(mp, 'app.json'), 'utf8'));
  const subRoots = (app.subPackages ?? app.subpackages ?? []).map((s) => path.join(mp, s.root) + path.sep);
  let total = 0;
  let main = 0;
  const subs = new Map(subRoots.map((r) => [r, 0]));
  for (const f of walk(mp)) {
    if (path.basename(f) === 'project.config.json' || path.basename(f) === 'project.private.config.json') continue;
    const size = fs.statSync(f).size;
    total += size;
    const sub = subRoots.find((r) => f.startsWith(r));
    if (sub) subs.set(sub, subs.get(sub) + size);
    else main += size;
  }
  lines.push(`mp-weixin main package: ${kb(main)} (budget ${kb(BUDGETS.mpMain)})`);
  for (const [r, s] of subs) lines.push(`mp-weixin subpackage ${path.relative(mp, r)}: ${kb(s)}`);
  lines.push(`mp-weixin total: ${kb(total)} (budget ${kb(BUDGETS.mpTotal)})`);
  if (main > BUDGETS.mpMain) failures.push(`mp-weixin main package ${kb(main)} exceeds ${kb(BUDGETS.mpMain)}`);
  if (total > BUDGETS.mpTotal) failures.push(`mp-weixin total ${kb(total)} exceeds ${kb(BUDGETS.mpTotal)}`);
  for (const [r, s] of subs) if (s > BUDGETS.mpMain) failures.push(`mp-weixin subpackage ${path.relative(mp, r)} ${kb(s)} exceeds 2 MB`);
}

// ── H5 ──
const h5 = path.join(root, 'dist/build/h5');
const index = path.join(h5, 'index.html');
if (!fs.existsSync(index)) failures.push('H5 build missing (npm run build:h5 -w miniapp)');
else {
  const html = fs.readFileSync(index, 'utf8');
  const entries = [...html.matchAll(/<script[^>]+src="([^"]+\.js)"/g), ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g)].map((m) => m[1]);
  const seen = new Set();
  const visit = (rel) => {
    const file = path.join(h5, rel.replace(/^\//, ''));
    if (seen.has(file) || !fs.existsSync(file)) return;
    seen.add(file);
    const code = fs.readFileSync(file, 'utf8');
    // static imports only: `import … from "./x.js"` / `import "./x.js"` (dynamic import() is loaded later)
    for (const m of code.matchAll(/(?:^|[;\n}])\s*import\s*(?:[^'"()]*?from\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g)) visit(path.posix.join(path.posix.dirname(rel), m[1]));
  };
  for (const e of entries) visit(e);
  // the first page: the home page (workbench) chunk
  const assets = fs.readdirSync(path.join(h5, 'assets'));
  const home = assets.find((a) => a.startsWith('pages-workbench-workbench') && a.endsWith('.js'));
  if (home) visit(`/assets/${home}`);
  let raw = 0;
  let gz = 0;
  for (const f of seen) {
    const buf = fs.readFileSync(f);
    raw += buf.length;
    gz += zlib.gzipSync(buf, { level: 9 }).length;
  }
  lines.push(`H5 initial JavaScript: ${seen.size} files, ${kb(raw)} raw, ${kb(gz)} gzipped (budget ${kb(BUDGETS.h5InitialGzip)})`);
  let allGz = 0;
  for (const a of assets.filter((x) => x.endsWith('.js'))) allGz += zlib.gzipSync(fs.readFileSync(path.join(h5, 'assets', a)), { level: 9 }).length;
  lines.push(`H5 all JavaScript: ${kb(allGz)} gzipped`);
  if (gz > BUDGETS.h5InitialGzip) failures.push(`H5 initial JavaScript ${kb(gz)} gzipped exceeds ${kb(BUDGETS.h5InitialGzip)}`);
}

for (const l of lines) console.log(`[budgets] ${l}`);
if (failures.length) {
  for (const f of failures) console.error(`[budgets] FAIL ${f}`);
  process.exit(1);
}
console.log('[budgets] all budgets hold');
