// npm run bench:wecom — WeCom issue (6) benchmark (format: ../shared/BENCHMARKS.md), against the fake
// WeCom started in this process (SPEC.md §10) with a 3,000-person hospital.
//
// 1. Full contact sync (issue 6 item 5, P4): department/list once, user/list per department, one
//    unit of work creating 3,000 people, into a fresh database per run (SQLite; MariaDB too when
//    reachable). Reported: duration (target < 15 s), API calls made and calls per person; then a
//    second sync of the same data (nothing to change). Baseline in the same run: the bare fake round
//    trip for the same calls (fetchContacts alone, no database), as the ceiling the sync sits on.
// 2. Hospital-wide notice to 3,000 people (R20.1): textcard bodies from buildSendBodies (≤1,000
//    userids per message/send) sent through the client. Target: at most 3 send calls per 1,000
//    people; also checks every person received it once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { migrate, openDatabase, type Database } from '@oa/db';
import { buildSendBodies, startFakeWecom, textcard, WecomClient, type FakeWecom } from '@oa/wecom';
import { median, reachable, round, type Metric } from './common.ts';
import { createApp } from '../server/src/app.ts';
import { loadConfig } from '../server/src/config.ts';
import { bootstrap } from '../server/src/bootstrap.ts';
import { fetchContacts, fullSync, type SyncReport } from '../server/src/wecom/sync.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MARIADB = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/';
const PEOPLE = 3_000;
const SYNC_TARGET_S = 15;
const SENDS_PER_1000_TARGET = 3;

type Row = [what: string, value: string, note: string];

function contactClient(fake: FakeWecom): WecomClient {
  return new WecomClient({ corpId: fake.corpId, secret: fake.contactApp!.secret, apiBase: fake.url });
}

/** A fresh, migrated, bootstrapped database (roles exist); dropped by `close`. */
async function freshDatabase(label: 'sqlite' | 'mariadb'): Promise<{ db: Database; close(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-bench-wecom-'));
  const auditKey = crypto.randomBytes(32);
  let dbUrl = `sqlite:${path.join(dataDir, 'bench.sqlite')}`;
  let dropName: string | undefined;
  if (label === 'mariadb') {
    dropName = `oa_bench_wecom_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
    const admin = openDatabase({ url: MARIADB, dataDir, auditKey });
    await admin.sequelize.query(`CREATE DATABASE \`${dropName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.close();
    const u = new URL(MARIADB);
    u.pathname = `/${dropName}`;
    dbUrl = u.toString();
  }
  const db = openDatabase({ url: dbUrl, dataDir, auditKey });
  await migrate(db);
  const config = loadConfig({ DATA_DIR: dataDir, DB_URL: dbUrl, LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off', NODE_ENV: 'production' });
  const app = await createApp({ config, db });
  await bootstrap(app.deps, { demo: false });
  return {
    db,
    async close() {
      await app.close();
      await db.close();
      if (dropName) {
        const admin = openDatabase({ url: MARIADB, dataDir, auditKey });
        await admin.sequelize.query(`DROP DATABASE IF EXISTS \`${dropName}\``);
        await admin.close();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function benchSync(fake: FakeWecom, label: 'sqlite' | 'mariadb', out: Metric[], rows: Row[]): Promise<void> {
  const first: number[] = [];
  const second: number[] = [];
  let rep: SyncReport | undefined;
  let again: SyncReport | undefined;
  for (let r = 0; r < RUNS; r++) {
    const { db, close } = await freshDatabase(label);
    try {
      const deps = { db, clock: { now: () => new Date() }, client: contactClient(fake) };
      const actor = { id: null, name: 'bench' };
      let t0 = performance.now();
      rep = await fullSync(deps, actor);
      first.push(performance.now() - t0);
      if (rep.people.created !== PEOPLE || rep.conflictCount) throw new Error(`sync created ${rep.people.created} people, ${rep.conflictCount} conflicts`);
      t0 = performance.now();
      again = await fullSync(deps, actor);
      second.push(performance.now() - t0);
      if (again.changes !== 0) throw new Error(`second sync changed ${again.changes} rows`);
    } finally {
      await close();
    }
  }
  const s = median(first) / 1000;
  out.push({ name: `${label}_full_sync_3000_people_s`, value: round(s, 2), unit: 's', target: SYNC_TARGET_S, better: 'lower' });
  out.push({ name: `${label}_full_sync_unchanged_s`, value: round(median(second) / 1000, 2), unit: 's', better: 'lower' });
  out.push({ name: `${label}_full_sync_api_calls`, value: rep!.apiCalls, unit: 'calls', better: 'lower' });
  out.push({ name: `${label}_full_sync_calls_per_person`, value: round(rep!.apiCalls / PEOPLE, 4), unit: 'calls/person', better: 'lower' });
  rows.push([`${label}: full sync of ${PEOPLE} people`, `${s.toFixed(2)} s`, `target < ${SYNC_TARGET_S} s; ${rep!.apiCalls} API calls (${JSON.stringify(rep!.callsByPath)})`]);
  rows.push([`${label}: second sync (no change)`, `${(median(second) / 1000).toFixed(2)} s`, `${again!.people.unchanged} unchanged, ${again!.changes} changes`]);
}

async function benchFetchCeiling(fake: FakeWecom, out: Metric[], rows: Row[]): Promise<number> {
  const times: number[] = [];
  let calls = 0;
  await fetchContacts(contactClient(fake)); // warm-up: JIT of the fake and the client
  for (let r = 0; r < RUNS; r++) {
    const client = contactClient(fake);
    const t0 = performance.now();
    const data = await fetchContacts(client);
    times.push(performance.now() - t0);
    calls = client.stats.calls;
    if (data.users.length !== PEOPLE) throw new Error(`fetched ${data.users.length} people`);
  }
  const s = median(times) / 1000;
  out.push({ name: 'baseline_bare_fake_round_trip_same_calls_s', value: round(s, 3), unit: 's', better: 'lower' });
  rows.push([`baseline: fake round trip, same ${calls} calls`, `${s.toFixed(3)} s`, 'fetch only, no database']);
  return s;
}

async function benchNotice(fake: FakeWecom, out: Metric[], rows: Row[]): Promise<void> {
  const client = new WecomClient({ corpId: fake.corpId, secret: fake.app.secret, agentId: fake.app.agentId, apiBase: fake.url });
  const userids = [...fake.directory.users.values()].map((u) => u.userid);
  const times: number[] = [];
  let sends = 0;
  for (let r = 0; r < RUNS; r++) {
    const bodies = buildSendBodies(
      textcard({ title: `全院通知（第 ${r + 1} 次）`, description: '<div class="normal">今晚 22:00–23:00 信息系统例行维护，请提前保存工作。</div>', url: 'https://oa.hospital.example/h5/notices/1' }),
      { users: userids },
      { agentId: fake.app.agentId },
    );
    const before = client.stats.byPath['/cgi-bin/message/send'] ?? 0;
    const msgCount = fake.messages.length;
    const t0 = performance.now();
    for (const b of bodies) await client.sendMessage(b);
    times.push(performance.now() - t0);
    sends = (client.stats.byPath['/cgi-bin/message/send'] ?? 0) - before;
    const delivered = new Set(fake.messages.slice(msgCount).flatMap((m) => m.delivered));
    if (delivered.size !== PEOPLE) throw new Error(`notice reached ${delivered.size} of ${PEOPLE} people`);
  }
  const per1000 = sends / (PEOPLE / 1000);
  out.push({ name: 'notice_3000_people_send_calls', value: sends, unit: 'calls', better: 'lower' });
  out.push({ name: 'notice_send_calls_per_1000_people', value: round(per1000, 2), unit: 'calls/1000 people', target: SENDS_PER_1000_TARGET, better: 'lower' });
  out.push({ name: 'notice_3000_people_ms', value: round(median(times), 1), unit: 'ms', better: 'lower' });
  rows.push([`notice to ${PEOPLE} people`, `${median(times).toFixed(1)} ms`, `${sends} message/send calls (${per1000.toFixed(2)} per 1,000; target ≤ ${SENDS_PER_1000_TARGET})`]);
}

async function main() {
  console.log(`bench:wecom — ${PEOPLE} people in the fake WeCom, ${RUNS} runs (median)`);
  const fake = await startFakeWecom({
    people: PEOPLE,
    // the notice runs send one message per person per run: stay clear of the per-member 30/min drop
    memberPerMinute: 1000,
    memberPerHour: 10_000,
    apps: [
      { agentId: 1000002, secret: 'fake-app-secret', name: '协同办公', legacy: true },
      { secret: 'fake-contact-secret', name: '通讯录同步', contactSync: true, legacy: true },
    ],
  });
  const metrics: Metric[] = [];
  const rows: Row[] = [];
  const dbs: Array<'sqlite' | 'mariadb'> = ['sqlite'];
  try {
    if (await reachable(MARIADB)) dbs.push('mariadb');
    else console.log(`MariaDB not reachable at ${MARIADB}: measuring SQLite only`);
    const ceiling = await benchFetchCeiling(fake, metrics, rows);
    for (const label of dbs) {
      await benchSync(fake, label, metrics, rows);
      const sync = metrics.find((m) => m.name === `${label}_full_sync_3000_people_s`)!.value;
      metrics.push({ name: `${label}_full_sync_ratio_to_fetch_ceiling`, value: round(sync / ceiling, 2), unit: 'ratio', better: 'lower' });
    }
    await benchNotice(fake, metrics, rows);
  } finally {
    await fake.close();
  }
  const result = { name: 'wecom', date: new Date().toISOString(), machine: `${os.cpus().length} cores, node ${process.version}`, db: dbs.join('+'), runs: RUNS, people: PEOPLE, metrics };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/wecom.json'), JSON.stringify(result, null, 2) + '\n');
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [what, value, note] of rows) console.log([what.padEnd(width), value.padStart(10), `  ${note}`].join(' '));
  const missed = metrics.filter((m) => m.target !== undefined && (m.better === 'lower' ? m.value > m.target : m.value < m.target));
  console.log(missed.length ? `targets missed: ${missed.map((m) => `${m.name}=${m.value}`).join(', ')}` : 'all targets met');
  console.log('written bench/results/wecom.json');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
