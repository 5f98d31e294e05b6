// npm run bench:workflow — Workflow issue (4) benchmark (format: ../shared/BENCHMARKS.md).
// A 5-step leave process (step 2 is a 3-person countersign) driven end to end through the service
// layer by CONCURRENCY workers, each starting an instance and approving its tasks as they appear,
// on a temporary SQLite file and, when reachable, a MariaDB database created for the run. In the
// same run, the ceiling: the same transactions with the same row inserts and updates (instance,
// tokens, tasks, history, outbox, audit) issued through the bare driver (sqlite3 / mysql2) with
// the same concurrency. Reports completed instances/s, task completions/s, p95 per action and
// the ratio to the ceiling; median of RUNS runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import sqlite3 from 'sqlite3';
import { type Database } from '@oa/db';
import { median, quantile, reachable, round, type Metric, withBenchDatabase } from './common.ts';
import { systemClock } from '../server/src/clock.ts';
import { createApp } from '../server/src/app.ts';
import { loadConfig } from '../server/src/config.ts';
import { workflowOf } from '../server/src/workflow/module.ts';
import type { ProcessDefinition } from '../server/src/workflow/definition.ts';

process.setSourceMapsEnabled(false);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const MARIADB = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/';
/** start + 1 + 3 (countersign) + 1 + 1 + 1 */
const TASKS_PER_INSTANCE = 7;

interface Timing {
  seconds: number;
  /** CPU time of this process per completed instance (stable when the machine is busy) */
  cpuMsPerInstance: number;
  start: number[];
  approve: number[];
}

function leaveProcess(u: number[]): ProcessDefinition {
  const step = (id: string, name: string, ids: number[], mode: 'any' | 'all' = 'any') => ({ id, name, type: 'approval' as const, assignees: [{ kind: 'person' as const, userIds: ids }], mode, onEmpty: 'fail' as const, skipIfInitiator: false, skipIfJustApproved: false, rejectTo: 'end' as const });
  const nodes: ProcessDefinition['nodes'] = [
    { id: 'start', name: '发起', type: 'start' },
    step('head', '科主任', [u[1]!]),
    step('cs', '会签', [u[2]!, u[3]!, u[4]!], 'all'),
    step('hr', '人事科', [u[5]!]),
    step('vp', '分管院长', [u[6]!]),
    step('dean', '院长', [u[7]!]),
    { id: 'end', name: '结束', type: 'end' },
  ];
  return { nodes, edges: nodes.slice(1).map((n, i) => ({ id: `e${i}`, from: nodes[i]!.id, to: n.id })) };
}

/** run `total` jobs with `concurrency` workers */
async function pool(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<{ seconds: number; cpuMsPerInstance: number }> {
  let next = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await job(next++);
    }),
  );
  const c = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpuMsPerInstance: (c.user + c.system) / 1000 / total };
}

// ---- through the service layer ---------------------------------------------------------------

async function serviceRun(db: Database, dataDir: string, dbUrl: string): Promise<Timing> {
  const config = loadConfig({ DATA_DIR: dataDir, DB_URL: dbUrl, LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off', NODE_ENV: 'production' });
  const app = await createApp({ config, db, clock: systemClock });
  try {
    const wf = workflowOf(app.deps);
    const { User, WfTask } = db.models;
    const users: number[] = [];
    for (let i = 0; i < 8; i++) users.push((await User.create({ username: `wf${crypto.randomUUID().slice(0, 8)}`, name: `员工${i}`, employeeNo: null, deptId: null, postId: null, mobile: null, email: null, wecomUserId: null, passwordHash: null, passwordChangedAt: null, lockedUntil: null })).id);
    const actor = { id: users[0]!, name: '员工0' };
    const key = `leave${crypto.randomUUID().slice(0, 8)}`;
    const p = await wf.processes.create({ key, name: '请假', definition: leaveProcess(users) }, actor);
    await wf.processes.publish(p.id, p.rev, null, actor);
    const people = new Map(users.map((id, i) => [id, { id, name: `员工${i}` }]));
    const start: number[] = [];
    const approve: number[] = [];
    const { seconds, cpuMsPerInstance } = await pool(INSTANCES, CONCURRENCY, async () => {
      let t0 = performance.now();
      const id = await wf.service.start(actor, { processKey: key, formData: { days: 2, reason: '事假' } });
      start.push(performance.now() - t0);
      for (;;) {
        const open = await WfTask.findAll({ where: { instanceId: id, status: 'pending' }, attributes: ['id', 'assigneeId'], raw: true });
        if (!open.length) break;
        for (const task of open) {
          t0 = performance.now();
          await wf.service.act(people.get(task.assigneeId)!, task.id, { action: 'approve', comment: '同意' });
          approve.push(performance.now() - t0);
        }
      }
    });
    const done = await db.models.WfInstance.count({ where: { processId: p.id, status: 'completed' } });
    if (done !== INSTANCES) throw new Error(`only ${done} of ${INSTANCES} instances completed`);
    return { seconds, cpuMsPerInstance, start, approve };
  } finally {
    await app.close();
  }
}

// ---- the ceiling: the same writes through the bare driver ------------------------------------

interface Bare {
  /** run statements in one transaction on one connection */
  tx(stmts: [string, unknown[]][]): Promise<{ insertIds: number[] }>;
  close(): Promise<void>;
}

async function bareMysql(url: string): Promise<Bare> {
  const u = new URL(url);
  const p = mysql.createPool({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1), connectionLimit: 10 });
  return {
    async tx(stmts) {
      const c = await p.getConnection();
      try {
        await c.beginTransaction();
        const insertIds: number[] = [];
        for (const [sql, args] of stmts) {
          const [r] = await c.query(sql, args);
          insertIds.push((r as { insertId?: number }).insertId ?? 0);
        }
        await c.commit();
        return { insertIds };
      } catch (e) {
        await c.rollback();
        throw e;
      } finally {
        c.release();
      }
    },
    close: () => p.end(),
  };
}

async function bareSqlite(file: string): Promise<Bare> {
  const db = new sqlite3.Database(file);
  const run = (sql: string, args: unknown[] = []) =>
    new Promise<number>((resolve, reject) =>
      db.run(sql, args, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve(this.lastID);
      }),
    );
  await run('PRAGMA journal_mode = WAL');
  await run('PRAGMA synchronous = NORMAL');
  let chain: Promise<unknown> = Promise.resolve();
  return {
    // one connection: transactions queue behind each other, as the app's write mutex does
    tx(stmts) {
      const p = chain.then(async () => {
        await run('BEGIN IMMEDIATE');
        try {
          const insertIds: number[] = [];
          for (const [sql, args] of stmts) insertIds.push(await run(sql, args));
          await run('COMMIT');
          return { insertIds };
        } catch (e) {
          await run('ROLLBACK');
          throw e;
        }
      });
      chain = p.catch(() => undefined);
      return p;
    },
    close: () => new Promise((r) => db.close(() => r())),
  };
}

async function ceilingRun(bare: Bare, mysqlDialect: boolean): Promise<Timing> {
  const now = new Date();
  const lock = mysqlDialect ? ' FOR UPDATE' : '';
  const hist = (inst: number, action: string): [string, unknown[]] => ['INSERT INTO wf_history (instance_id, at, actor_id, action) VALUES (?, ?, ?, ?)', [inst, now, 1, action]];
  const audit = (): [string, unknown[]] => ['INSERT INTO bench_audit (at, action, prev_hash, hash) VALUES (?, ?, ?, ?)', [now, 'workflow.task.approve', crypto.randomBytes(32).toString('hex'), crypto.randomBytes(32).toString('hex')]];
  const outbox = (key: string): [string, unknown[]] => [
    "INSERT INTO outbox (channel, recipient, payload, idempotency_key, status, attempts, next_attempt_at, created_at) VALUES ('inbox', '1', '{}', ?, 'pending', 0, ?, ?)",
    [key, now, now],
  ];
  const start: number[] = [];
  const approve: number[] = [];
  const { seconds, cpuMsPerInstance } = await pool(INSTANCES, CONCURRENCY, async () => {
    let t0 = performance.now();
    const { insertIds } = await bare.tx([
      ["INSERT INTO wf_instance (process_id, version_id, title, initiator_id, status, suspended, urgency, form_data, created_at, updated_at, rev) VALUES (1, 1, '请假', 1, 'running', 0, 'normal', '{}', ?, ?, 1)", [now, now]],
    ]);
    const inst = insertIds[0]!;
    const t = await bare.tx([
      ["INSERT INTO wf_token (instance_id, node_id, status, created_at) VALUES (?, 'head', 'active', ?)", [inst, now]],
      hist(inst, 'submit'),
      ["INSERT INTO wf_task (instance_id, token_id, node_id, node_name, kind, assignee_id, status, seq, created_at, rev) VALUES (?, 0, 'head', '科主任', 'approval', 2, 'pending', 0, ?, 1)", [inst, now]],
      hist(inst, 'assign'),
      ['UPDATE wf_instance SET current_nodes = ?, rev = rev + 1 WHERE id = ?', ['["科主任"]', inst]],
      outbox(crypto.randomUUID()),
      audit(),
    ]);
    start.push(performance.now() - t0);
    let task = t.insertIds[2]!;
    // 6 more approvals: each closes a task, writes history, opens the next task(s), updates the
    // token and the instance, queues notices and an audit row
    for (let step = 0; step < TASKS_PER_INSTANCE - 1 + 0; step++) {
      t0 = performance.now();
      const r = await bare.tx([
        [`SELECT id, rev FROM wf_instance WHERE id = ?${lock}`, [inst]],
        ["UPDATE wf_task SET status = 'done', outcome = 'approve', done_at = ?, rev = rev + 1 WHERE id = ?", [now, task]],
        hist(inst, 'approve'),
        hist(inst, 'node_complete'),
        ["INSERT INTO wf_task (instance_id, token_id, node_id, node_name, kind, assignee_id, status, seq, created_at, rev) VALUES (?, 0, 'n', 'n', 'approval', 2, 'pending', 0, ?, 1)", [inst, now]],
        hist(inst, 'assign'),
        ["UPDATE wf_token SET node_id = 'n' WHERE instance_id = ?", [inst]],
        ['UPDATE wf_instance SET current_nodes = ?, rev = rev + 1 WHERE id = ?', ['["n"]', inst]],
        outbox(crypto.randomUUID()),
        outbox(crypto.randomUUID()),
        audit(),
      ]);
      task = r.insertIds[4]!;
      approve.push(performance.now() - t0);
    }
  });
  return { seconds, cpuMsPerInstance, start, approve };
}

// ---- the run ------------------------------------------------------------------------------

async function onDatabase(label: 'sqlite' | 'mariadb', metrics: Metric[], lines: string[]): Promise<void> {
  await withBenchDatabase(label, 'wf', MARIADB, async ({ db, dbUrl, dataDir }) => {
    // the ceiling's audit rows go to a plain table of the same shape (no chain, no head lock)
    await db.sequelize.query(
      label === 'mariadb'
        ? 'CREATE TABLE bench_audit (seq INTEGER PRIMARY KEY AUTO_INCREMENT, at DATETIME(3), action VARCHAR(64), prev_hash VARCHAR(64), hash VARCHAR(64))'
        : 'CREATE TABLE bench_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at DATETIME, action VARCHAR(64), prev_hash VARCHAR(64), hash VARCHAR(64))',
    );
    const bare = label === 'mariadb' ? await bareMysql(dbUrl) : await bareSqlite(dbUrl.slice('sqlite:'.length));
    const svc: Timing[] = [];
    const ceil: Timing[] = [];
    try {
      for (let r = 0; r < RUNS; r++) {
        ceil.push(await ceilingRun(bare, label === 'mariadb'));
        svc.push(await serviceRun(db, dataDir, dbUrl));
      }
    } finally {
      await bare.close();
    }
    const rate = (x: Timing) => INSTANCES / x.seconds;
    const svcRate = median(svc.map(rate));
    const ceilRate = median(ceil.map(rate));
    const approveP95 = median(svc.map((x) => quantile(x.approve, 0.95)));
    const startP95 = median(svc.map((x) => quantile(x.start, 0.95)));
    const ceilApproveP95 = median(ceil.map((x) => quantile(x.approve, 0.95)));
    const svcCpu = median(svc.map((x) => x.cpuMsPerInstance));
    const ceilCpu = median(ceil.map((x) => x.cpuMsPerInstance));
    metrics.push(
      { name: `${label}_completed_instances_per_s`, value: round(svcRate, 1), unit: '1/s', ...(label === 'mariadb' ? { target: 100 } : {}), better: 'higher' },
      { name: `${label}_task_completions_per_s`, value: round(svcRate * TASKS_PER_INSTANCE, 1), unit: '1/s', better: 'higher' },
      { name: `${label}_driver_ceiling_instances_per_s`, value: round(ceilRate, 1), unit: '1/s', better: 'higher' },
      { name: `${label}_ratio_to_driver_ceiling`, value: round(svcRate / ceilRate, 3), unit: 'ratio', ...(label === 'mariadb' ? { target: 0.3 } : {}), better: 'higher' },
      { name: `${label}_start_p95_ms`, value: round(startP95, 2), unit: 'ms', better: 'lower' },
      { name: `${label}_approve_p95_ms`, value: round(approveP95, 2), unit: 'ms', better: 'lower' },
      { name: `${label}_driver_approve_p95_ms`, value: round(ceilApproveP95, 2), unit: 'ms', better: 'lower' },
      { name: `${label}_cpu_ms_per_instance`, value: round(svcCpu, 2), unit: 'ms', better: 'lower' },
      { name: `${label}_driver_cpu_ms_per_instance`, value: round(ceilCpu, 2), unit: 'ms', better: 'lower' },
    );
    lines.push(
      `${label.padEnd(8)} service ${svcRate.toFixed(1)} inst/s (${(svcRate * TASKS_PER_INSTANCE).toFixed(0)} tasks/s), start p95 ${startP95.toFixed(1)} ms, approve p95 ${approveP95.toFixed(1)} ms | driver ${ceilRate.toFixed(1)} inst/s, approve p95 ${ceilApproveP95.toFixed(1)} ms | ratio ${(svcRate / ceilRate).toFixed(3)} | CPU/instance ${svcCpu.toFixed(1)} vs ${ceilCpu.toFixed(1)} ms  [runs: ${svc.map((x) => rate(x).toFixed(0)).join(', ')} vs ${ceil.map((x) => rate(x).toFixed(0)).join(', ')}]`,
    );
  });
}

async function main() {
  console.log(`bench:workflow — ${INSTANCES} instances of a 5-step leave process (3-person countersign), ${CONCURRENCY} concurrent, ${RUNS} runs (median)`);
  const metrics: Metric[] = [];
  const lines: string[] = [];
  const dbs: ('sqlite' | 'mariadb')[] = process.env.BENCH_DB === 'mariadb' ? [] : ['sqlite'];
  if (process.env.BENCH_DB !== 'sqlite' && (await reachable(MARIADB))) dbs.push('mariadb');
  else console.log(`MariaDB not reachable at ${MARIADB}: measuring SQLite only`);
  for (const label of dbs) await onDatabase(label, metrics, lines);
  const result = { name: 'workflow', date: new Date().toISOString(), machine: `${os.cpus().length} cores, node ${process.version}`, db: dbs.join('+'), runs: RUNS, instances: INSTANCES, concurrency: CONCURRENCY, metrics };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/workflow.json'), JSON.stringify(result, null, 2) + '\n');
  for (const l of lines) console.log(l);
  const missed = metrics.filter((m) => m.target !== undefined && (m.better === 'lower' ? m.value > m.target : m.value < m.target));
  console.log(missed.length ? `targets missed: ${missed.map((m) => `${m.name}=${m.value}`).join(', ')}` : 'all targets met');
  console.log('written bench/results/workflow.json');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
