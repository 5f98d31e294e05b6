import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { createApp, type OaApp } from '../../src/app.ts';
import { loadConfig, deriveKey } from '../../src/config.ts';
import { ManualClock } from '../../src/clock.ts';
import { bootstrap } from '../../src/bootstrap.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { createTestDb, tempDir, type TestDb } from './db.ts';
import { HttpClient } from './client.ts';

export interface TestApp {
  app: OaApp;
  deps: OaApp['deps'];
  clock: ManualClock;
  url: string;
  tdb: TestDb;
  adminPassword: string;
  /** a new cookie-jar client */
  client(): HttpClient;
  /** a signed-in client for `admin`, password already changed (ready to use) */
  admin(): Promise<HttpClient>;
  createUser(u: { username: string; password?: string; name?: string; roles?: string[]; mustChangePassword?: boolean }): Promise<number>;
}

export const USER_PASSWORD = 'Zk8#mq2!Lp';

export async function startTestApp(t: ExecutionContext, env: Record<string, string> = {}, opts: { clientsRoot?: string } = {}): Promise<TestApp> {
  const dataDir = tempDir(t);
  const base = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', SCHEDULER: 'off', DEMO_DATA: 'off', ...env };
  const tdb = await createTestDb(t, { dataDir, auditKey: deriveKey(loadConfig(base).secret, 'audit-chain') });
  const config = loadConfig({ ...base, DB_URL: tdb.url });
  const clock = new ManualClock();
  const app = await createApp({ config, db: tdb.db, clock, logger: pino({ level: 'silent' }), clientsRoot: opts.clientsRoot });
  const boot = await bootstrap(app.deps, { demo: false });
  const server = http.createServer(app.koa.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await app.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ta: TestApp = {
    app,
    deps: app.deps,
    clock,
    url,
    tdb,
    adminPassword: boot.adminPassword!,
    client: () => new HttpClient(url),
    async admin() {
      const c = new HttpClient(url);
      await c.login('admin', ta.adminPassword);
      const newPw = 'Adm1n#Secure2026';
      const r = await c.post('/api/v1/me/password', { oldPassword: ta.adminPassword, newPassword: newPw });
      if (r.status !== 204) throw new Error(`admin password change failed: ${r.status} ${JSON.stringify(r.body)}`);
      ta.adminPassword = newPw;
      await c.me();
      return c;
    },
    async createUser(u) {
      const { User, Role, UserRole } = app.deps.db.models;
      const user = await User.create({
        username: u.username,
        employeeNo: null,
        name: u.name ?? u.username,
        deptId: null,
        postId: null,
        mobile: null,
        email: null,
        wecomUserId: null,
        passwordHash: await hashPassword(u.password ?? USER_PASSWORD),
        passwordChangedAt: clock.now(),
        mustChangePassword: u.mustChangePassword ?? false,
        lockedUntil: null,
      });
      for (const code of u.roles ?? ['staff']) {
        const role = await Role.findOne({ where: { code } });
        await UserRole.create({ userId: user.id, roleId: role!.id });
      }
      return user.id;
    },
  };
  return ta;
}
