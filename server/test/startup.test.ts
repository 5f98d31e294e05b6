import test from 'ava';
import { Op } from '@oa/db';
import { loadConfig, ConfigError } from '../src/config.ts';
import { createTestDb, tempDir } from './helpers/db.ts';
import { freePort, startServer } from './helpers/spawn.ts';

// Foundation "done when": a fresh start prints the admin password once, health answers, admin signs in.

test('a bad environment value stops start-up with a clear message and exit code 78', async (t) => {
  const e = t.throws(() => loadConfig({ PORT: 'abc', DATA_DIR: tempDir(t) }), { instanceOf: ConfigError });
  t.regex(e!.message, /PORT/);
  const s = startServer(t, { PORT: '99999', DATA_DIR: tempDir(t) });
  t.is(await s.exited, 78);
  t.regex(s.stderr(), /配置错误[\s\S]*PORT/);
});

test('first start prints the admin password and the demo password once; both work; a restart prints nothing', async (t) => {
  const { url, dataDir } = await createTestDb(t, { migrate: false });
  const port = String(await freePort());
  const env = { DB_URL: url, DATA_DIR: dataDir, PORT: port, DEMO_DATA: 'on' };
  const first = startServer(t, env);
  const out = await first.waitFor('[启动完成]');
  const admin = /管理员账号 admin 的初始密码：(\S+)/.exec(out)?.[1];
  const demo = /所有演示员工的统一密码：(\S+)/.exec(out)?.[1];
  const sample = /示例账号 (\d+) /.exec(out)?.[1];
  t.truthy(admin);
  t.truthy(demo);
  t.truthy(sample);
  const base = `http://127.0.0.1:${port}`;
  const health = await fetch(`${base}/api/health`);
  t.is(health.status, 200);
  t.like(await health.json(), { status: 'ok', migrations: { current: true } });
  const login = async (username: string, password: string) =>
    fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const a = await login('admin', admin!);
  t.is(a.status, 200);
  t.like(await a.json(), { username: 'admin', mustChangePassword: true });
  const d = await login(sample!, demo!);
  t.is(d.status, 200);
  t.like(await d.json(), { mustChangePassword: false });
  t.is(await first.stop(), 0, 'SIGTERM stops it cleanly');

  const second = startServer(t, env);
  const out2 = await second.waitFor('[启动完成]');
  t.notRegex(out2, /初始密码|统一密码/);
  t.is((await login('admin', admin!)).status, 200, 'the same password still works after a restart');
});

test('with DEMO_DATA=off there are no demo accounts: only admin exists', async (t) => {
  const { url, dataDir, db } = await createTestDb(t, { migrate: false });
  const s = startServer(t, { DB_URL: url, DATA_DIR: dataDir, PORT: String(await freePort()), DEMO_DATA: 'off' });
  const out = await s.waitFor('[启动完成]');
  t.regex(out, /管理员账号 admin 的初始密码/);
  t.notRegex(out, /演示/);
  t.is(await db.models.User.count(), 1);
  t.is(await db.models.Campus.count(), 0);
});

test('the demo hospital has two campuses, about forty departments and about three hundred staff', async (t) => {
  const { url, dataDir, db } = await createTestDb(t, { migrate: false });
  const s = startServer(t, { DB_URL: url, DATA_DIR: dataDir, PORT: String(await freePort()), DEMO_DATA: 'on' });
  await s.waitFor('[启动完成]');
  t.is(await db.models.Campus.count(), 2);
  const depts = await db.models.Department.count();
  t.true(depts >= 38 && depts <= 50, `${depts} departments`);
  const all = await db.models.User.count();
  t.true(all - 1 >= 280 && all - 1 <= 320, `${all - 1} staff`);
  const names = (await db.models.User.findAll({ where: { username: { [Op.ne]: 'admin' } }, attributes: ['name', 'employeeNo'], raw: true }));
  t.true(names.every((u) => /^[\u4e00-\u9fa5]{2,4}$/.test(u.name) && /^\d{5}$/.test(u.employeeNo ?? '')), 'Chinese names and employee numbers');
  const kinds = new Set((await db.models.Department.findAll({ attributes: ['kind'], raw: true })).map((d) => d.kind));
  t.deepEqual([...kinds].sort(), ['admin', 'clinical', 'logistics', 'medtech']);
});

test('a database written by a newer program is refused at start', async (t) => {
  const { url, dataDir, db } = await createTestDb(t);
  await db.sequelize.getQueryInterface().bulkInsert('schema_migration', [{ name: '9999-from-the-future' }]);
  const s = startServer(t, { DB_URL: url, DATA_DIR: dataDir, PORT: String(await freePort()) });
  t.is(await s.exited, 1);
  t.regex(s.stderr(), /数据库结构比当前程序新.*9999-from-the-future/);
});
