/**
 * Shared parts of the staff-client browser tests (test/e2e/staff-*.test.ts, issue 7): a real server
 * with the demo hospital (DEMO_DATA=on: 302 staff, the leave and purchase processes), Debian's
 * Chromium through playwright-core, the guard that fails a test on any request leaving the server,
 * and small API helpers for finding people.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium fonts-wqy-zenhei`) and the H5 build
 * (`npm run build:h5 -w miniapp`); without either, the tests are skipped with the reason printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = '/usr/bin/chromium';
export const H5_INDEX = path.join(REPO, 'miniapp/dist/build/h5/index.html');
export const ARTIFACTS = path.join(REPO, 'test/artifacts');
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function skipReason(): string | null {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} not found (apt-get install -y chromium fonts-wqy-zenhei)`;
  if (!fs.existsSync(H5_INDEX)) return 'miniapp/dist/build/h5/index.html not found (npm run build:h5 -w miniapp)';
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface DemoServer {
  base: string;
  /** the demo staff's shared password, printed once at first start */
  staffPassword: string;
  /** `admin`'s first-start password (must be changed at first sign-in) */
  adminPassword: string;
  output(): string;
  stop(): Promise<void>;
}

/** The real server on a fresh SQLite database in `dataDir`, with the demo hospital seeded. */
export async function startDemoServer(dataDir: string, env: Record<string, string> = {}): Promise<DemoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DEMO_DATA: 'on',
      SCHEDULER: 'on',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', killOnExit);
      resolve();
    }),
  );
  const output = () => `stdout:\n${out}\nstderr:\n${err}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + 120_000;
  while (!out.includes('[启动完成]')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited early\n${output()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server did not start within 120 s\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const line = out.split('\n').find((l) => l.includes('所有演示员工的统一密码：'));
  const staffPassword = line?.split('统一密码：')[1]?.split(/\s/)[0];
  if (!staffPassword) {
    await stop();
    throw new Error(`no demo password line (the database must be new)\n${output()}`);
  }
  const adminPassword = out.split('\n').find((l) => l.startsWith('[首次启动]'))?.split('初始密码：')[1]?.split(/\s/)[0] ?? '';
  return { base: `http://127.0.0.1:${port}`, staffPassword, adminPassword, output, stop };
}

// ── API helpers (Bearer mode, as the mini-program signs in) ───────────────────────────────────

export interface Person {
  id: number;
  name: string;
  employeeNo: string | null;
  dept: { id: number; name: string } | null;
  position: { id: number; name: string } | null;
}

export async function apiLogin(base: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password, mode: 'token' }) });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

export async function apiGet<T>(base: string, token: string, p: string): Promise<T> {
  const r = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

export async function apiPost<T>(base: string, token: string, p: string, body: unknown): Promise<T> {
  const r = await fetch(`${base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`POST ${p}: ${r.status} ${await r.text()}`);
  return (r.status === 204 ? undefined : await r.json()) as T;
}

const HEAD_POSITIONS = new Set(['院长', '科主任', '科长']);

/**
 * Pairs of (initiator, department head) from the demo directory: clinical departments whose head
 * has the 科主任 position, an initiator there who is no leader. One pair per viewport, so the
 * tests never share a to-do list entry.
 */
export async function leavePairs(base: string, token: string, count: number): Promise<{ initiator: Person; head: Person }[]> {
  const tree = await apiGet<{ campuses: { departments: { id: number; name: string; children: unknown[] }[] }[] }>(base, token, '/api/v1/org/address-book/tree');
  const depts = tree.campuses.flatMap((c) => c.departments).filter((d) => d.id > 19);
  const out: { initiator: Person; head: Person }[] = [];
  for (const d of depts) {
    if (out.length >= count) break;
    const people = (await apiGet<{ items: Person[] }>(base, token, `/api/v1/org/address-book/directory?deptId=${d.id}&includeSubtree=false&pageSize=100`)).items;
    const head = people.find((p) => p.position?.name === '科主任');
    const initiator = people.find((p) => !p.position || !HEAD_POSITIONS.has(p.position.name));
    if (head && initiator && head.employeeNo && initiator.employeeNo) out.push({ initiator, head });
  }
  if (out.length < count) throw new Error(`only ${out.length} department(s) with a head and a member`);
  return out;
}

// ── browser ─────────────────────────────────────────────────────────────────────────────────

export interface Viewport {
  name: string;
  width: number;
  height: number;
  scale: number;
}

export const VIEWPORTS: Viewport[] = [
  { name: 'phone', width: 390, height: 844, scale: 1 },
  { name: 'tablet', width: 1280, height: 800, scale: 2 },
  { name: 'desktop', width: 1440, height: 900, scale: 1 },
];

export interface Browser {
  /** a fresh, isolated browser profile (one person signed in per context) */
  person(label: string): Promise<Page>;
  /** script errors and requests to other hosts seen so far */
  problems: string[];
  foreign: string[];
  close(): Promise<void>;
}

export async function openBrowser(base: string, vp: Viewport, profileRoot: string): Promise<Browser> {
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const foreign: string[] = [];
  let n = 0;
  return {
    problems,
    foreign,
    async person(label) {
      const ctx = await chromium.launchPersistentContext(path.join(profileRoot, `${vp.name}-${label}-${n++}`), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        locale: 'zh-CN',
        timezoneId: 'Asia/Shanghai',
        viewport: { width: vp.width, height: vp.height },
        deviceScaleFactor: vp.scale,
      });
      ctx.setDefaultTimeout(20_000);
      contexts.push(ctx);
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      page.on('pageerror', (e) => problems.push(`${label}: pageerror: ${e.message}`));
      page.on('console', (m) => {
        // expected: 401 before signing in; 409 when two people act at once; 404 for a missing favicon
        if (m.type() === 'error' && !/status of (401|404|409)/.test(m.text())) problems.push(`${label}: console: ${m.text()}`);
      });
      // Nothing may leave the server (issue 7: closed hospital network): no CDN, no web fonts.
      ctx.on('request', (r) => {
        const u = r.url();
        if (!u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(`${label}: ${u}`);
      });
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
    },
  };
}

export async function signIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/pages/login/index`);
  await page.locator('[data-testid=login-username] input').fill(username);
  await page.locator('[data-testid=login-password] input').fill(password);
  await page.getByTestId('login-submit').click();
  // the workbench is the home page: uni shows it as `/`
  await page.getByTestId('hello').waitFor();
}

export async function shot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(350); // let popups finish their transitions
  await page.screenshot({ path: file, animations: 'disabled' });
  return file;
}

/** 'YYYY-MM-DD' → the calendar's month title and day text */
export function calendarParts(date: string): { month: string; day: string } {
  const [y, m, d] = date.split('-').map(Number);
  return { month: `${y}年${m}月`, day: String(d) };
}

/** A Tuesday and the Wednesday after it, at least 8 days ahead (two working days at most). */
export function nextTwoWorkdays(from = new Date()): [string, string] {
  const d = new Date(from.getTime() + 8 * 86400_000);
  while (d.getDay() !== 2) d.setDate(d.getDate() + 1);
  const e = new Date(d.getTime() + 86400_000);
  const f = (x: Date) => `${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, '0')}-${String(x.getDate()).padStart(2, '0')}`;
  return [f(d), f(e)];
}
