import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { openDatabase } from '@oa/db';
import { startTestApp, USER_PASSWORD } from './helpers/app.ts';
import { createTestDb } from './helpers/db.ts';
import { ManualClock } from '../src/clock.ts';
import { JobRunner } from '../src/jobs/runner.ts';
import { DbRateLimiter } from '../src/system/rate-limit.ts';

// Concurrency and failure cases found in review: each failed before its fix.

test('a parallel burst of guesses gets at most five password checks; the right password is then refused too', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'target' });
  const guesses = Array.from({ length: 30 }, (_, i) => ta.client().login('target', `Wrong#Guess${i}`));
  const right = ta.client().login('target', USER_PASSWORD);
  const results = await Promise.all([...guesses, right]);
  t.true(results.every((r) => r.status === 401), results.map((r) => r.status).join(','));
  const { LoginLog, AuditLog } = ta.deps.db.models;
  t.true((await LoginLog.count({ where: { username: 'target', result: 'failure' } })) <= 5);
  t.is(await AuditLog.count({ where: { action: 'auth.account_locked' } }), 1);
  t.is((await ta.client().login('target', USER_PASSWORD)).status, 401, 'locked afterwards');
});

test('a signed-in session cannot guess the password through "change password": it is locked out and signed out', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'oracle' });
  const c = ta.client();
  await c.login('oracle', USER_PASSWORD);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await c.post('/api/v1/me/password', { oldPassword: `Guess#${i}abc`, newPassword: 'New#Passw0rd9' })).status);
  t.deepEqual(statuses.slice(0, 4), [400, 400, 400, 400]);
  t.is(statuses[4], 401, 'the fifth wrong guess locks the account');
  t.is((await c.get('/api/v1/me')).status, 401, 'and ends the session');
  t.is((await ta.client().login('oracle', USER_PASSWORD)).status, 401, 'the right password does not help while locked');
});

test('ten simultaneous first hits of the rate limiter count ten, without deadlocks', async (t) => {
  const { db } = await createTestDb(t);
  const limiter = new DbRateLimiter(db, new ManualClock());
  const counts = await Promise.all(Array.from({ length: 10 }, () => limiter.hit('login-ip:10.0.0.9', 60_000)));
  t.is(Math.max(...counts), 10, 'no hit lost');
  t.is((await limiter.peek('login-ip:10.0.0.9', 60_000)).count, 10);
  await limiter.undo('login-ip:10.0.0.9');
  t.is((await limiter.peek('login-ip:10.0.0.9', 60_000)).count, 9);
});

test('an upload cut off mid-body leaves no temporary file and no open handle', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'uploader' });
  const c = ta.client();
  await c.login('uploader', USER_PASSWORD);
  const u = new URL(ta.url);
  const tmpDir = path.join(ta.deps.config.filesDir, 'tmp');
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  let sawPart = false;
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect(Number(u.port), u.hostname, () => {
        const b = 'XyZ';
        const head = `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n`;
        s.write(
          `POST /api/v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${b}\r\nContent-Length: 1000000\r\nCookie: ${cookie}\r\nX-CSRF-Token: ${c.csrfToken}\r\n\r\n${head}%PDF-1.4 ${'A'.repeat(20_000)}`,
        );
        // wait until the server has started writing the part, then drop the connection (Wi-Fi gone)
        const poll = setInterval(() => {
          if (fs.readdirSync(tmpDir).some((f) => f.endsWith('.part'))) {
            sawPart = true;
            clearInterval(poll);
            s.destroy();
            resolve();
          }
        }, 5);
      });
    });
  }
  t.true(sawPart);
  // the server settles the aborted requests on its own; poll (bounded) until the files are gone
  for (let i = 0; i < 200 && fs.readdirSync(tmpDir).length; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 100 && fs.readdirSync(tmpDir).length; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(fs.readdirSync(tmpDir), []);
  const open = fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith('.part');
    } catch {
      return false;
    }
  });
  t.is(open.length, 0);
  t.is(await ta.deps.db.models.StoredFile.count(), 0);
});

test('a slow first job does not hand the next one an expired lease (no double run across processes)', async (t) => {
  const tdb = await createTestDb(t);
  const db2 = openDatabase({ url: tdb.url, dataDir: tdb.dataDir, auditKey: tdb.db.auditKey });
  t.teardown(() => db2.close());
  const clock = new ManualClock();
  const log = pino({ level: 'silent' });
  const a = new JobRunner(tdb.db, clock, log);
  const b = new JobRunner(db2, clock, log);
  const runs: string[] = [];
  let bTicked = false;
  const handler = (who: string) => async (p: unknown) => {
    const n = (p as { n: number }).n;
    runs.push(`${who}:${n}`);
    if (n === 1) clock.advanceMinutes(6); // the first job of the batch takes six minutes
    if (n === 2 && who === 'A' && !bTicked) {
      bTicked = true;
      await b.tick(); // another process polls while A works on job 2
    }
  };
  a.register('report', handler('A'));
  b.register('report', handler('B'));
  await a.enqueue('report', { n: 1 });
  await a.enqueue('report', { n: 2 });
  await a.tick();
  t.deepEqual(runs, ['A:1', 'A:2']);
});

test('a nested transaction is refused at once instead of hanging', async (t) => {
  const { db } = await createTestDb(t);
  await t.throwsAsync(
    db.transaction(async () => db.transaction(async () => 1)),
    { message: /nested db\.transaction/ },
  );
  t.is(await db.transaction(async () => 2), 2, 'the queue is free afterwards');
});
