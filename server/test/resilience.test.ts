import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { pino } from 'pino';
import { openDatabase } from '@oa/db';
import { createApp } from '../src/app.ts';
import { deriveKey, loadConfig } from '../src/config.ts';
import { ManualClock } from '../src/clock.ts';
import { createTestDb, testDialect, TEST_DB_URL } from './helpers/db.ts';
import { HttpClient } from './helpers/client.ts';

// Foundation "bad input": database unreachable → 503 with Retry-After, the process stays up and
// recovers by itself. SQLite lives in-process and cannot go away, so this needs a database server.

/** A TCP relay we can cut and restore, standing between the app and MariaDB. */
async function relay(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      server!.close(() => resolve());
    });
  await open();
  return { port: () => port, cut, restore: open };
}

const needsServer = testDialect === 'mysql' ? test : test.skip;
if (testDialect !== 'mysql') console.log('resilience.test.ts: skipped on SQLite (in-process database cannot become unreachable); runs with TEST_DB_URL=mysql://… in CI');

needsServer('database unreachable: 503 with Retry-After, then recovery without a restart', async (t) => {
  const { url, dataDir } = await createTestDb(t);
  const target = new URL(TEST_DB_URL!);
  const r = await relay({ host: target.hostname, port: Number(target.port || 3306) });
  t.teardown(() => r.cut().catch(() => undefined));
  const viaRelay = new URL(url);
  viaRelay.host = `127.0.0.1:${r.port()}`;
  const config = loadConfig({ DATA_DIR: dataDir, DB_URL: viaRelay.toString(), LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off' });
  const db = openDatabase({ url: config.DB_URL, dataDir, auditKey: deriveKey(config.secret, 'audit-chain') });
  t.teardown(() => db.close());
  const app = await createApp({ config, db, clock: new ManualClock(), logger: pino({ level: 'silent' }) });
  const server = http.createServer(app.koa.callback());
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const c = new HttpClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);

  t.is((await c.get('/api/health')).status, 200);
  await r.cut();
  for (const path of ['/api/health', '/api/health']) {
    const down = await c.get(path);
    t.is(down.status, 503);
    t.truthy(down.headers.get('retry-after'));
    t.regex(down.body.detail, /数据库/);
  }
  const login = await c.post('/api/v1/auth/login', { username: 'x', password: 'y' });
  t.is(login.status, 503, 'sign-in while the database is down is a 503, not a 500 or a false "wrong password"');
  t.is(login.body.code, 'DATABASE_UNAVAILABLE');
  await r.restore();
  let status = 0;
  // the pool drops broken connections on first use; allow a few requests to get there
  for (let i = 0; i < 5 && status !== 200; i++) status = (await c.get('/api/health')).status;
  t.is(status, 200);
});
