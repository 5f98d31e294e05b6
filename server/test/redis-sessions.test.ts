import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { ManualClock } from '../src/clock.ts';
import { bootstrap } from '../src/bootstrap.ts';
import { createTestDb } from './helpers/db.ts';
import { HttpClient } from './helpers/client.ts';

// Sessions in Redis (REDIS_URL): several server instances share them, and a logout on one
// instance is refused on every other at once (never serve a revoked session).

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/13';

async function redisUp(): Promise<boolean> {
  const u = new URL(REDIS);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 6379), u.hostname);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

const up = await redisUp();
if (!up) console.log(`redis-sessions.test.ts: skipped, no Redis at ${REDIS}`);
const maybe = up ? test.serial : test.skip;

maybe('two instances share Redis sessions; logout on one is honoured by the other immediately', async (t) => {
  const flush = new Redis(REDIS);
  await flush.flushdb();
  t.teardown(async () => {
    await flush.flushdb();
    flush.disconnect();
  });
  const { url, dataDir, db } = await createTestDb(t);
  const clock = new ManualClock();
  const config = loadConfig({ DATA_DIR: dataDir, DB_URL: url, REDIS_URL: REDIS, LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off' });
  const start = async () => {
    const app = await createApp({ config, db, clock, logger: pino({ level: 'silent' }) });
    const server = http.createServer(app.koa.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(async () => {
      server.closeAllConnections();
      server.close();
      await app.close();
    });
    return { app, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
  const a = await start();
  const b = await start();
  const boot = await bootstrap(a.app.deps, { demo: false });

  const onA = new HttpClient(a.base);
  t.is((await onA.login('admin', boot.adminPassword!)).status, 200);
  t.is(await db.models.Session.count(), 0, 'the session lives in Redis, not in the database');
  const onB = new HttpClient(b.base);
  onB.cookies = onA.cookies;
  t.is((await onB.get('/api/v1/me')).status, 200, 'instance B knows the session');
  t.is((await onB.get('/api/v1/me')).status, 200, 'and now has it cached');
  t.is((await onA.post('/api/v1/auth/logout')).status, 204);
  t.is((await onB.get('/api/v1/me')).status, 401, 'B refuses the revoked session on the very next request');

  // idle expiry is enforced with Redis too
  const c = new HttpClient(a.base);
  await c.login('admin', boot.adminPassword!);
  clock.advanceMinutes(31);
  t.is((await c.get('/api/v1/me')).status, 401);
});
