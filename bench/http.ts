// npm run bench:http — Foundation issue benchmark (format: ../shared/BENCHMARKS.md).
// In one run: a bare node:http JSON endpoint (the ceiling), then the real server's GET /api/health
// and session-authenticated GET /api/v1/me, with autocannon at 100 connections, on SQLite and on
// MariaDB (when reachable). Servers run in child processes so autocannon does not share their core.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { reachable } from './common.ts';
import { openDatabase } from '@oa/db';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 100;
const MARIADB = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function child(args: string[], env: Record<string, string>): { proc: ChildProcess; out: () => string; waitFor: (s: string) => Promise<void> } {
  // stdout goes to a file, as a production log would: reading 15k access-log lines a second here
  // would take CPU from autocannon, which shares this two-core machine with the server.
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'oa-bench-log-')), 'stdout.log');
  const fd = fs.openSync(logFile, 'w');
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', fd, 'inherit'] });
  fs.closeSync(fd);
  proc.once('exit', () => fs.rmSync(path.dirname(logFile), { recursive: true, force: true }));
  const out = () => {
    try {
      return fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('{'))
        .join('\n');
    } catch {
      return '';
    }
  };
  return {
    proc,
    out,
    waitFor: (s) =>
      new Promise((resolve, reject) => {
        const t = setInterval(() => {
          if (out().includes(s)) {
            clearInterval(t);
            resolve();
          } else if (proc.exitCode !== null) {
            clearInterval(t);
            reject(new Error(`exited: ${out()}`));
          }
        }, 100);
      }),
  };
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function measure(url: string, headers: Record<string, string> = {}): Promise<Sample> {
  const samples: Sample[] = [];
  await autocannon({ url, connections: CONNECTIONS, duration: 1, headers }); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
    samples.push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx });
  }
  return { rps: median(samples.map((s) => s.rps)), p50: median(samples.map((s) => s.p50)), p99: median(samples.map((s) => s.p99)), errors: samples.reduce((a, s) => a + s.errors, 0) };
}

async function ceiling(): Promise<Sample> {
  const port = await freePort();
  const src = `require('node:http').createServer((q, s) => { const b = JSON.stringify({ status: 'ok', now: Date.now() }); s.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) }); s.end(b); }).listen(${port}, '127.0.0.1', () => console.log('ready'));`;
  const c = child(['-e', src], {});
  await c.waitFor('ready');
  try {
    return await measure(`http://127.0.0.1:${port}/`);
  } finally {
    c.proc.kill();
  }
}

async function realServer(dbUrl: string | undefined): Promise<{ health: Sample; me: Sample }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-bench-'));
  const port = await freePort();
  const env: Record<string, string> = { DATA_DIR: dataDir, PORT: String(port), DEMO_DATA: 'off', LOG_LEVEL: 'info', NODE_ENV: 'production' };
  if (dbUrl) env.DB_URL = dbUrl;
  // exactly what `npm start` runs (node flags included); the clients are already built
  const c = child(['scripts/start.mjs'], env);
  try {
    await c.waitFor('[启动完成]');
    const password = /初始密码：(\S+)/.exec(c.out())![1]!;
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    const cookie = login.headers.getSetCookie().map((s) => s.split(';')[0]).join('; ');
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const change = await fetch(`${base}/api/v1/me/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
      body: JSON.stringify({ oldPassword: password, newPassword: 'Bench#Passw0rd!' }),
    });
    if (change.status !== 204) throw new Error(`password change failed: ${change.status}`);
    const health = await measure(`${base}/api/health`);
    const me = await measure(`${base}/api/v1/me`, { cookie });
    return { health, me };
  } finally {
    c.proc.kill('SIGTERM');
    await new Promise((r) => c.proc.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const metrics: { name: string; value: number; unit: string; target?: number; better: 'higher' | 'lower' }[] = [];
  const table: string[][] = [];
  const add = (label: string, s: Sample, ceil?: number, target?: number) => {
    metrics.push({ name: `${label}_rps`, value: Math.round(s.rps), unit: '1/s', better: 'higher' });
    metrics.push({ name: `${label}_p50_ms`, value: s.p50, unit: 'ms', better: 'lower' });
    metrics.push({ name: `${label}_p99_ms`, value: s.p99, unit: 'ms', better: 'lower' });
    if (ceil) metrics.push({ name: `${label}_ratio_to_ceiling`, value: +(s.rps / ceil).toFixed(3), unit: 'ratio', ...(target ? { target } : {}), better: 'higher' });
    table.push([label, Math.round(s.rps).toString(), String(s.p50), String(s.p99), ceil ? (s.rps / ceil).toFixed(3) : '', String(s.errors)]);
  };
  console.log(`bench:http — ${RUNS} runs × ${DURATION}s, ${CONNECTIONS} connections, median of runs`);
  const ceil = await ceiling();
  add('node_http_ceiling', ceil);
  const dbs: [string, string | undefined][] = [['sqlite', undefined]];
  let mariaDbName: string | undefined;
  if (await reachable(MARIADB)) {
    mariaDbName = `oa_bench_${process.pid}`;
    const admin = openDatabase({ url: MARIADB, dataDir: os.tmpdir(), auditKey: Buffer.alloc(32) });
    await admin.sequelize.query(`CREATE DATABASE IF NOT EXISTS \`${mariaDbName}\` CHARACTER SET utf8mb4`);
    await admin.close();
    const u = new URL(MARIADB);
    u.pathname = `/${mariaDbName}`;
    dbs.push(['mariadb', u.toString()]);
  } else {
    console.log(`MariaDB not reachable at ${MARIADB}: measuring SQLite only`);
  }
  try {
    for (const [label, url] of dbs) {
      const r = await realServer(url);
      add(`${label}_health`, r.health, ceil.rps);
      add(`${label}_me_authenticated`, r.me, ceil.rps, 0.3);
    }
  } finally {
    if (mariaDbName) {
      const admin = openDatabase({ url: MARIADB, dataDir: os.tmpdir(), auditKey: Buffer.alloc(32) });
      await admin.sequelize.query(`DROP DATABASE IF EXISTS \`${mariaDbName}\``);
      await admin.close();
    }
  }
  const result = {
    name: 'http',
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, node ${process.version}`,
    db: dbs.map(([l]) => l).join('+'),
    runs: RUNS,
    seconds_per_run: DURATION,
    connections: CONNECTIONS,
    metrics,
  };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/http.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(['what', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'errors'].join('\t'));
  for (const row of table) console.log(row.join('\t'));
  console.log('written bench/results/http.json');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
