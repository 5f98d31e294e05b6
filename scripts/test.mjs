// `npm test`: the ava suites (db, server, wecom, end-to-end in a browser), then each client's
// vitest suites (admin, miniapp). With `--tap` (CI) every suite reports TAP-style `# pass/# fail/
// # skip` lines that .ci/run adds up.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const tap = args.includes('--tap');
let failed = false;

const ava = spawnSync('npx', ['ava', ...args], { cwd: root, stdio: 'inherit' });
if (ava.status !== 0) failed = true;

for (const ws of ['admin', 'miniapp']) {
  const dir = path.join(root, ws);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test) continue;
  if (!tap) {
    const r = spawnSync('npm', ['run', 'test', '-w', ws], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed = true;
    continue;
  }
  const out = path.join(root, '.tmp', `vitest-${ws}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.rmSync(out, { force: true });
  const r = spawnSync('npx', ['vitest', 'run', '--reporter=json', `--outputFile=${out}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  let report = null;
  try {
    report = JSON.parse(fs.readFileSync(out, 'utf8'));
  } catch {
    console.log(`not ok - ${ws}: vitest did not produce a report (exit ${r.status})`);
    console.log('# pass 0\n# fail 1\n# skip 0');
    failed = true;
    continue;
  }
  for (const file of report.testResults ?? []) {
    for (const a of file.assertionResults ?? []) {
      if (a.status === 'failed') console.log(`not ok - ${ws} › ${a.fullName}\n  ---\n  ${String((a.failureMessages ?? []).join('\n')).split('\n').slice(0, 20).join('\n  ')}\n  ...`);
    }
  }
  console.log(`# ${ws} (vitest)\n# pass ${report.numPassedTests}\n# fail ${report.numFailedTests}\n# skip ${report.numPendingTests + (report.numTodoTests ?? 0)}`);
  if (report.numFailedTests > 0 || r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
