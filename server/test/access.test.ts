import http from 'node:http';
import test from 'ava';
import { startTestApp } from './helpers/app.ts';
import { PERMISSIONS } from '../src/access/permissions.ts';

// Principle 4 / BAR §6 item 1: deny by default on every registered route, path tricks included.

/** The only routes anyone may call without signing in. Adding one must be a deliberate edit here. */
const PUBLIC = new Set([
  'GET /api/health',
  'GET /api/metrics', // gated to loopback or METRICS_TOKEN inside the handler
  'POST /api/v1/auth/login',
  // WeCom (issue 6): the callback is called by WeCom's servers and authenticated by msg_signature
  // (a bad signature answers 401 and changes nothing, S1)
  'GET /wecom/callback',
  'POST /wecom/callback',
  // WeCom sign-in (R20.0): these are how a person without a session gets one (single-use WeCom codes)
  'GET /api/v1/auth/wecom/config',
  'GET /api/v1/auth/wecom/oauth',
  'GET /api/v1/auth/wecom/qr',
  'POST /api/v1/auth/wecom/miniprogram',
  'GET /api/openapi.json',
  'GET /api/docs',
  'GET /api/docs/init.js',
  'GET /api/docs/swagger-ui.css',
  'GET /api/docs/swagger-ui-bundle.js',
]);

const concrete = (path: string) => path.replace(/:[A-Za-z0-9_]+/g, '1');

function variants(path: string): string[] {
  const p = concrete(path);
  return [p, p.toUpperCase().replace('/API/', '/api/'), p.replace('/api/v1/', '/API/V1/'), p + '/'];
}

test('every route states its access; the public ones are exactly the allowlist', async (t) => {
  const ta = await startTestApp(t);
  const declared = ta.app.routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
  t.is(new Set(declared).size, declared.length, 'no route registered twice');
  const pub = ta.app.routes.filter((r) => r.access === 'public').map((r) => `${r.method.toUpperCase()} ${r.path}`);
  t.deepEqual(new Set(pub), PUBLIC);
  for (const r of ta.app.routes) {
    if (typeof r.access === 'object') t.true(Object.hasOwn(PERMISSIONS, r.access.permission), `${r.path} names a known permission`);
  }
  // nothing reaches the router except through the declared list
  const mounted = ta.app.router.stack.flatMap((l) => l.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${l.path}`));
  t.deepEqual(new Set(mounted), new Set(declared));
});

test('without a session every non-public route answers 401, whatever the path spelling', async (t) => {
  const ta = await startTestApp(t);
  const anon = ta.client();
  for (const r of ta.app.routes.filter((x) => x.access !== 'public')) {
    for (const path of variants(r.path)) {
      const res = await anon.send(r.method.toUpperCase(), path, r.method === 'get' ? undefined : {});
      t.is(res.status, 401, `${r.method} ${path}`);
      t.regex(res.headers.get('content-type') ?? '', /problem\+json/);
    }
  }
});

test('path tricks are refused before any route sees them', async (t) => {
  const ta = await startTestApp(t);
  // fetch() would normalise these paths before sending: use node:http to send them as written
  const rawGet = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const u = new URL(ta.url);
      http.get({ host: u.hostname, port: u.port, path }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
  for (const path of ['//api/v1/audit', '/api//v1/audit', '/api/v1/%2e%2e/v1/audit', '/api/v1/./audit', '/api/v1/audit;.js', '/api/v1/x/../audit', '/api/v1\\audit', '/api/v1/audit%2f']) {
    t.is(await rawGet(path), 400, path);
  }
});

test('a signed-in person without the permission gets 403 on every permission route, and the refusal is audited', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'staff.only' });
  const c = ta.client();
  await c.login('staff.only', 'Zk8#mq2!Lp');
  const guarded = ta.app.routes.filter((x) => typeof x.access === 'object');
  t.true(guarded.length >= 8);
  for (const r of guarded) {
    for (const path of variants(r.path)) {
      const res = await c.send(r.method.toUpperCase(), path, r.method === 'get' ? undefined : {});
      t.is(res.status, 403, `${r.method} ${path}`);
      t.is(res.body.code, 'FORBIDDEN');
    }
  }
  const denied = await ta.deps.db.models.AuditLog.count({ where: { action: 'access.denied' } });
  t.is(denied, guarded.length * 4);
});

test('each administrator role reaches only its own desk (三员 separation)', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'sys', roles: ['sysadmin'] });
  await ta.createUser({ username: 'sec', roles: ['secadmin'] });
  await ta.createUser({ username: 'aud', roles: ['auditadmin'] });
  const as = async (u: string) => {
    const c = ta.client();
    await c.login(u, 'Zk8#mq2!Lp');
    return c;
  };
  const sys = await as('sys');
  const sec = await as('sec');
  const aud = await as('aud');
  t.is((await sys.get('/api/v1/system/jobs')).status, 200);
  t.is((await sys.get('/api/v1/audit')).status, 403);
  t.is((await sys.get('/api/v1/security/password-policy')).status, 403);
  t.is((await sec.get('/api/v1/security/password-policy')).status, 200);
  t.is((await sec.get('/api/v1/audit')).status, 403);
  t.is((await sec.get('/api/v1/system/jobs')).status, 403);
  t.is((await aud.get('/api/v1/audit')).status, 200);
  t.is((await aud.get('/api/v1/security/password-policy')).status, 403);
  t.is((await aud.get('/api/v1/system/settings/upload')).status, 403);
});

test('a role taken away takes effect on the next request, without signing out', async (t) => {
  const ta = await startTestApp(t);
  const id = await ta.createUser({ username: 'aud2', roles: ['auditadmin'] });
  const c = ta.client();
  await c.login('aud2', 'Zk8#mq2!Lp');
  t.is((await c.get('/api/v1/audit')).status, 200);
  await ta.deps.db.models.UserRole.destroy({ where: { userId: id } });
  await ta.deps.sessions.invalidateUser(id);
  t.is((await c.get('/api/v1/audit')).status, 403);
});

test('a disabled person is signed out everywhere at once', async (t) => {
  const ta = await startTestApp(t);
  const id = await ta.createUser({ username: 'gone' });
  const c = ta.client();
  await c.login('gone', 'Zk8#mq2!Lp');
  await ta.deps.db.models.User.update({ status: 'disabled' }, { where: { id } });
  await ta.deps.sessions.revokeUser(id);
  t.is((await c.get('/api/v1/me')).status, 401);
  t.is((await ta.client().login('gone', 'Zk8#mq2!Lp')).status, 401);
});
