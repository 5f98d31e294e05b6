import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { openDatabase, type Database } from '@oa/db';
import { ManualClock } from '../src/clock.ts';
import { JobRunner, type JobHandler } from '../src/jobs/runner.ts';
import { backoffMs } from '../src/jobs/lease.ts';
import { createTestDb } from './helpers/db.ts';
import { startTestApp } from './helpers/app.ts';

// Principle 3: background work is durable. Each job runs once across processes, failures retry with
// backoff and end as dead letters the administrator can see, and a crashed holder's job is taken over.

const log = pino({ level: 'silent' });
const LEASE_MS = 5 * 60_000; // JobRunner's default lease

/** A promise plus its resolve/reject, to hold a handler in the middle of its work. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function setup(t: ExecutionContext) {
  const tdb = await createTestDb(t);
  const clock = new ManualClock();
  return { ...tdb, clock, runner: new JobRunner(tdb.db, clock, log) };
}

/** A second connection pool on the same database: what a second server process would have. */
function secondProcessDb(t: ExecutionContext, tdb: { url: string; dataDir: string; db: Database }): Database {
  const db = openDatabase({ url: tdb.url, dataDir: tdb.dataDir, auditKey: tdb.db.auditKey });
  t.teardown(() => db.close());
  return db;
}

test('a due job runs exactly once, with its payload, and is marked done', async (t) => {
  const { db, clock, runner } = await setup(t);
  const seen: unknown[] = [];
  runner.register('report.build', async (payload) => {
    seen.push(payload);
  });
  await runner.enqueue('report.build', { month: '2026-11', deptId: 7 });
  t.is(await runner.tick(), 1);
  t.deepEqual(seen, [{ month: '2026-11', deptId: 7 }]);
  clock.advanceMinutes(60);
  t.is(await runner.tick(), 0, 'a finished job is not run again');
  t.is(seen.length, 1);
  const job = await db.models.Job.findOne({ where: { kind: 'report.build' } });
  t.is(job!.status, 'done');
  t.is(job!.attempts, 1);
  t.is(job!.leaseOwner, null);
  t.is(job!.lastError, null);
});

test('a job scheduled for later does not run until the clock reaches its time', async (t) => {
  const { clock, runner } = await setup(t);
  let runs = 0;
  runner.register('reminder.send', async () => {
    runs++;
  });
  await runner.enqueue('reminder.send', null, { runAt: new Date(clock.now().getTime() + 10 * 60_000) });
  t.is(await runner.tick(), 0);
  clock.advance(10 * 60_000 - 1);
  t.is(await runner.tick(), 0, 'one millisecond early is still early');
  t.is(runs, 0);
  clock.advance(1);
  t.is(await runner.tick(), 1);
  t.is(runs, 1);
});

test('two server processes ticking at the same moment run each job once', async (t) => {
  const tdb = await createTestDb(t);
  const clock = new ManualClock();
  const runs = new Map<number, number>();
  const handler: JobHandler = async (payload) => {
    const n = (payload as { n: number }).n;
    runs.set(n, (runs.get(n) ?? 0) + 1);
  };
  const a = new JobRunner(tdb.db, clock, log);
  const b = new JobRunner(secondProcessDb(t, tdb), clock, log);
  a.register('mail.merge', handler);
  b.register('mail.merge', handler);
  t.not(a.owner, b.owner);
  let total = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 8; i++) await a.enqueue('mail.merge', { n: round * 8 + i });
    const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
    total += ra + rb;
    clock.advance(1000);
  }
  t.is(total, 24, 'tick counts add up to the jobs enqueued');
  t.is(runs.size, 24);
  t.deepEqual([...runs.values()].filter((c) => c !== 1), [], 'no job ran twice');
  t.is(await tdb.db.models.Job.count({ where: { status: 'done' } }), 24);
});

test('a failing job is retried after its backoff, not before, and ends dead with its last error', async (t) => {
  const ta = await startTestApp(t);
  const { jobs } = ta.deps;
  const attemptsSeen: number[] = [];
  jobs.register('his.sync', async (_p, job) => {
    attemptsSeen.push(job.attempts);
    throw new Error(`HIS 接口无响应（第 ${job.attempts} 次）`);
  });
  await jobs.enqueue('his.sync', { since: '2026-11-24' }, { maxAttempts: 3 });

  await jobs.tick();
  t.deepEqual(attemptsSeen, [1]);
  const { Job } = ta.deps.db.models;
  let row = await Job.findOne({ where: { kind: 'his.sync' } });
  t.is(row!.status, 'pending');
  t.is(row!.lastError, 'HIS 接口无响应（第 1 次）');
  t.is(row!.leaseOwner, null, 'the lease is released after a failure');

  for (const attempt of [1, 2]) {
    ta.clock.advance(backoffMs(attempt) - 1);
    await jobs.tick();
    t.is(attemptsSeen.length, attempt, `no retry before the ${backoffMs(attempt)} ms backoff`);
    ta.clock.advance(1);
    await jobs.tick();
    t.is(attemptsSeen.length, attempt + 1);
  }
  t.deepEqual(attemptsSeen, [1, 2, 3]);
  row = await Job.findOne({ where: { kind: 'his.sync' } });
  t.is(row!.status, 'dead');
  t.is(row!.attempts, 3);
  t.is(row!.lastError, 'HIS 接口无响应（第 3 次）');

  ta.clock.advanceMinutes(24 * 60);
  await jobs.tick();
  t.is(attemptsSeen.length, 3, 'a dead job is not retried on its own');

  // The administrator sees it among the dead jobs, with the reason.
  const admin = await ta.admin();
  const r = await admin.get('/api/v1/system/jobs?status=dead');
  t.is(r.status, 200);
  t.is(r.body.total, 1);
  t.like(r.body.items[0], { kind: 'his.sync', status: 'dead', attempts: 3, lastError: 'HIS 接口无响应（第 3 次）' });
  t.false('payload' in r.body.items[0], 'payloads are not listed');
});

test('a job whose holder died mid-run is taken over by another process after the lease', async (t) => {
  const tdb = await createTestDb(t);
  const clock = new ManualClock();
  const a = new JobRunner(tdb.db, clock, log);
  const b = new JobRunner(secondProcessDb(t, tdb), clock, log);
  const started = deferred();
  const hang = deferred();
  const calls: string[] = [];
  a.register('archive.month', async () => {
    calls.push('a');
    started.resolve();
    await hang.promise; // process A "dies" here: it never finishes
    throw new Error('A 进程已失联');
  });
  b.register('archive.month', async () => {
    calls.push('b');
  });
  await a.enqueue('archive.month', null);
  const aTick = a.tick();
  await started.promise;

  const { Job } = tdb.db.models;
  let row = await Job.findOne({ where: { kind: 'archive.month' } });
  t.is(row!.status, 'running');
  t.is(row!.leaseOwner, a.owner);

  clock.advance(LEASE_MS - 1);
  t.is(await b.tick(), 0, 'while the lease holds, nobody else takes the job');
  clock.advance(2);
  t.is(await b.tick(), 1, 'after the lease ran out, B takes the job over');
  t.deepEqual(calls, ['a', 'b']);
  row = await Job.findOne({ where: { kind: 'archive.month' } });
  t.is(row!.status, 'done');
  t.is(row!.attempts, 2);

  // A wakes up late and fails: it no longer holds the lease, so it cannot undo B's result.
  hang.resolve();
  await aTick;
  row = await Job.findOne({ where: { kind: 'archive.month' } });
  t.is(row!.status, 'done');
  t.is(row!.lastError, null);
  clock.advanceMinutes(60);
  t.is(await a.tick(), 0);
  t.is(await b.tick(), 0);
  t.deepEqual(calls, ['a', 'b']);
});

test('a row left running by a crashed process (lease in the past) is run again', async (t) => {
  const { db, clock, runner } = await setup(t);
  let runs = 0;
  runner.register('stats.rollup', async () => {
    runs++;
  });
  await runner.enqueue('stats.rollup', null);
  await db.models.Job.update(
    { status: 'running', leaseOwner: 'crashed-host:4242:deadbeef', leaseUntil: new Date(clock.now().getTime() + 1000), attempts: 1 },
    { where: { kind: 'stats.rollup' } },
  );
  t.is(await runner.tick(), 0, 'the lease is still valid');
  clock.advance(1001);
  t.is(await runner.tick(), 1);
  t.is(runs, 1);
  const row = await db.models.Job.findOne({ where: { kind: 'stats.rollup' } });
  t.is(row!.status, 'done');
  t.is(row!.attempts, 2);
});

test('a job whose holders keep dying is stopped after maxAttempts instead of crashing every process in turn', async (t) => {
  const { db, clock, runner } = await setup(t);
  let runs = 0;
  runner.register('pdf.render', async () => {
    runs++;
  });
  await runner.enqueue('pdf.render', { file: 'huge.pdf' }, { maxAttempts: 3 });
  // Three processes claimed it and died (out of memory, say): attempts 3, lease run out.
  await db.models.Job.update(
    { status: 'running', attempts: 3, leaseOwner: 'host-c:99:cafebabe', leaseUntil: new Date(clock.now().getTime() - 1) },
    { where: { kind: 'pdf.render' } },
  );
  await runner.tick();
  t.is(runs, 0, 'not run a fourth time');
  const row = await db.models.Job.findOne({ where: { kind: 'pdf.render' } });
  t.is(row!.status, 'dead');
  t.is(row!.leaseOwner, null);
  t.regex(row!.lastError ?? '', /中断/);
  clock.advanceMinutes(60);
  await runner.tick();
  t.is(runs, 0);
});

test('fire(kind, at) twice for the same instant, from two processes, enqueues and runs one job', async (t) => {
  const tdb = await createTestDb(t);
  const clock = new ManualClock('2026-11-25T18:00:00Z'); // 02:00 Beijing time
  const a = new JobRunner(tdb.db, clock, log);
  const b = new JobRunner(secondProcessDb(t, tdb), clock, log);
  let runs = 0;
  for (const r of [a, b]) {
    r.register('nightly.backup', async () => {
      runs++;
    });
  }
  const at = clock.now();
  await a.fire('nightly.backup', at);
  await a.fire('nightly.backup', at);
  await Promise.all([a.fire('nightly.backup', at), b.fire('nightly.backup', new Date(at.getTime()))]);
  const { Job } = tdb.db.models;
  t.is(await Job.count({ where: { kind: 'nightly.backup' } }), 1);
  await Promise.all([a.tick(), b.tick()]);
  t.is(runs, 1);

  // The next night is a different instant: a new job.
  const next = new Date(at.getTime() + 86_400_000);
  await b.fire('nightly.backup', next);
  t.is(await Job.count({ where: { kind: 'nightly.backup' } }), 2);
  clock.set(next);
  await Promise.all([a.tick(), b.tick()]);
  t.is(runs, 2);
});
