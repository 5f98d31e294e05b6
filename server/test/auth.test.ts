import test from 'ava';
import { startTestApp, USER_PASSWORD } from './helpers/app.ts';

// S1, R18, BAR IA-1..IA-5: sign-in, lockout, password policy, sessions.

test('admin signs in with the printed password, must change it first, then works', async (t) => {
  const ta = await startTestApp(t);
  const c = ta.client();
  const login = await c.login('admin', ta.adminPassword);
  t.is(login.status, 200);
  t.true(login.body.mustChangePassword);
  t.deepEqual(login.body.roles.sort(), ['auditadmin', 'secadmin', 'sysadmin']);
  // everything but me/password/logout is closed until the password is changed
  const blocked = await c.get('/api/v1/audit');
  t.is(blocked.status, 403);
  t.is(blocked.body.code, 'PASSWORD_CHANGE_REQUIRED');
  const weak = await c.post('/api/v1/me/password', { oldPassword: ta.adminPassword, newPassword: 'admin123' });
  t.is(weak.status, 400);
  t.is(weak.body.code, 'PASSWORD_POLICY');
  t.true(weak.body.errors.every((e: { path: string }) => e.path === 'newPassword'));
  t.regex(weak.body.detail, /密码/);
  const ok = await c.post('/api/v1/me/password', { oldPassword: ta.adminPassword, newPassword: 'Adm1n#Secure2026' });
  t.is(ok.status, 204);
  const me = await c.me();
  t.false(me.body.mustChangePassword);
  t.is((await c.get('/api/v1/audit')).status, 200);
  // the same old password no longer works, the new one does
  t.is((await ta.client().login('admin', ta.adminPassword)).status, 401);
  t.is((await ta.client().login('admin', 'Adm1n#Secure2026')).status, 200);
});

test('five wrong passwords lock the account; the right one is refused until the lock ends', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'zhang.san' });
  const c = ta.client();
  for (let i = 0; i < 5; i++) t.is((await c.login('zhang.san', 'Wrong#Pass1')).status, 401);
  const locked = await c.login('zhang.san', USER_PASSWORD);
  t.is(locked.status, 401);
  t.is(locked.body.code, 'LOGIN_FAILED');
  ta.clock.advanceMinutes(14);
  t.is((await c.login('zhang.san', USER_PASSWORD)).status, 401);
  ta.clock.advanceMinutes(2);
  t.is((await c.login('zhang.san', USER_PASSWORD)).status, 200);
  const { AuditLog, LoginLog } = ta.deps.db.models;
  t.is(await AuditLog.count({ where: { action: 'auth.account_locked' } }), 1);
  t.is(await LoginLog.count({ where: { username: 'zhang.san', result: 'failure' } }), 5);
  t.is(await LoginLog.count({ where: { username: 'zhang.san', result: 'locked' } }), 2);
  t.is(await LoginLog.count({ where: { username: 'zhang.san', result: 'success' } }), 1);
});

test('a security administrator can unlock an account at once', async (t) => {
  const ta = await startTestApp(t);
  const id = await ta.createUser({ username: 'li.si' });
  for (let i = 0; i < 5; i++) await ta.client().login('li.si', 'Wrong#Pass1');
  t.is((await ta.client().login('li.si', USER_PASSWORD)).status, 401);
  const admin = await ta.admin();
  t.is((await admin.post(`/api/v1/security/users/${id}/unlock`)).status, 204);
  t.is((await ta.client().login('li.si', USER_PASSWORD)).status, 200);
  t.is(await ta.deps.db.models.AuditLog.count({ where: { action: 'auth.unlock', objectId: String(id) } }), 1);
});

test('unknown user and wrong password get the same answer', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'wang.wu' });
  const a = await ta.client().login('nobody', 'Wrong#Pass1');
  const b = await ta.client().login('wang.wu', 'Wrong#Pass1');
  t.is(a.status, b.status);
  t.is(a.body.detail, b.body.detail);
  t.is(a.body.code, b.body.code);
});

test('login names are unique after NFKC and case folding (full-width ＡＤＭＩＮ is admin)', async (t) => {
  const ta = await startTestApp(t);
  const r = await ta.client().login('ＡＤＭＩＮ', ta.adminPassword);
  t.is(r.status, 200);
  t.is(r.body.username, 'admin');
});

test('sessions expire after 30 idle minutes and after 12 hours in any case', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'idle' });
  const c = ta.client();
  await c.login('idle', USER_PASSWORD);
  ta.clock.advanceMinutes(29);
  t.is((await c.get('/api/v1/me')).status, 200);
  ta.clock.advanceMinutes(29); // 29 min since the last request
  t.is((await c.get('/api/v1/me')).status, 200);
  ta.clock.advanceMinutes(31);
  t.is((await c.get('/api/v1/me')).status, 401);

  const busy = ta.client();
  await busy.login('idle', USER_PASSWORD);
  for (let h = 0; h < 12 * 4 - 1; h++) {
    ta.clock.advanceMinutes(15);
    t.is((await busy.get('/api/v1/me')).status, 200, `at ${(h + 1) * 15} min`);
  }
  ta.clock.advanceMinutes(15); // 12 h since sign-in
  t.is((await busy.get('/api/v1/me')).status, 401);
});

test('logout ends the session on the server: the old cookie is refused', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'leaver' });
  const c = ta.client();
  await c.login('leaver', USER_PASSWORD);
  const stolen = new Map(c.cookies);
  t.is((await c.post('/api/v1/auth/logout')).status, 204);
  const replay = ta.client();
  replay.cookies = stolen;
  const r = await replay.get('/api/v1/me');
  t.is(r.status, 401);
  t.regex(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  t.is(r.body.detail, '请先登录');
});

test('cookie sessions need the CSRF token on writes; Bearer tokens (mini-program) do not', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'csrf' });
  const c = ta.client();
  await c.login('csrf', USER_PASSWORD);
  const r = await c.post('/api/v1/auth/logout', undefined, { csrf: false });
  t.is(r.status, 403);
  t.is(r.body.code, 'CSRF_FAILED');
  t.is((await c.get('/api/v1/me')).status, 200, 'the forged request changed nothing');

  const app = ta.client();
  const login = await app.post('/api/v1/auth/login', { username: 'csrf', password: USER_PASSWORD, mode: 'token' });
  t.is(login.status, 200);
  t.is(typeof login.body.token, 'string');
  t.is(app.cookies.has('oa_sid'), false);
  app.cookies.clear();
  app.bearer = login.body.token;
  t.is((await app.get('/api/v1/me')).status, 200);
  t.is((await app.post('/api/v1/auth/logout')).status, 204);
  t.is((await app.get('/api/v1/me')).status, 401);
});

test('a changed password ends the other sessions and cannot reuse the last five', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'rotator' });
  const laptop = ta.client();
  const phone = ta.client();
  await laptop.login('rotator', USER_PASSWORD);
  await phone.login('rotator', USER_PASSWORD);
  const pws = ['Rot#a7tion1', 'Rot#a7tion2', 'Rot#a7tion3', 'Rot#a7tion4', 'Rot#a7tion5'];
  let current = USER_PASSWORD;
  for (const pw of pws) {
    t.is((await laptop.post('/api/v1/me/password', { oldPassword: current, newPassword: pw })).status, 204);
    current = pw;
  }
  t.is((await laptop.get('/api/v1/me')).status, 200, 'the session that changed it stays');
  t.is((await phone.get('/api/v1/me')).status, 401, 'other sessions end');
  const reuse = await laptop.post('/api/v1/me/password', { oldPassword: current, newPassword: pws[1] });
  t.is(reuse.status, 400);
  t.is(reuse.body.code, 'PASSWORD_REUSED');
  // the very first password is more than five changes ago: allowed again
  t.is((await laptop.post('/api/v1/me/password', { oldPassword: current, newPassword: USER_PASSWORD })).status, 204);
});

test('passwords older than 90 days must be changed before anything else', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'old.pw' });
  ta.clock.advance(91 * 86_400_000);
  const c = ta.client();
  const r = await c.login('old.pw', USER_PASSWORD);
  t.is(r.status, 200);
  t.true(r.body.mustChangePassword);
  t.is((await c.get('/api/v1/inbox')).body.code, 'PASSWORD_CHANGE_REQUIRED');
  t.is((await c.post('/api/v1/me/password', { oldPassword: USER_PASSWORD, newPassword: 'Fresh#Pass2026' })).status, 204);
  t.is((await c.get('/api/v1/inbox')).status, 200);
});

test('one NAT address over the failure limit: known browsers still sign in, a sprayer is held back', async (t) => {
  const ta = await startTestApp(t, { LOGIN_IP_MAX_FAILURES: '3' });
  await ta.createUser({ username: 'nurse.a' });
  await ta.createUser({ username: 'nurse.b' });
  const nurseA = ta.client();
  t.is((await nurseA.login('nurse.a', USER_PASSWORD)).status, 200); // her browser is now known
  const sprayer = ta.client();
  for (const u of ['x1', 'x2', 'x3']) t.is((await sprayer.login(u, 'Spray#123456')).status, 401);
  const held = await sprayer.login('nurse.b', USER_PASSWORD);
  t.is(held.status, 429);
  t.truthy(held.headers.get('retry-after'));
  const again = ta.client();
  again.cookies.set('oa_dev', nurseA.cookies.get('oa_dev')!);
  t.is((await again.login('nurse.a', USER_PASSWORD)).status, 200);
  // a forged device cookie does not help
  const forged = ta.client();
  forged.cookies.set('oa_dev', nurseA.cookies.get('oa_dev')!.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A')));
  t.is((await forged.login('nurse.a', USER_PASSWORD)).status, 429);
  ta.clock.advanceMinutes(16);
  t.is((await sprayer.login('nurse.b', USER_PASSWORD)).status, 200, 'the window passes');
  t.true((await ta.deps.db.models.LoginLog.count({ where: { result: 'rate_limited' } })) >= 2);
});

test('the security administrator sets the password policy; bad values are refused by field', async (t) => {
  const ta = await startTestApp(t);
  const admin = await ta.admin();
  const bad = await admin.put('/api/v1/security/password-policy', { minLength: 4, minClasses: 3, historyCount: 5, maxAgeDays: 90, forceChangeOnFirstLogin: true });
  t.is(bad.status, 400);
  t.is(bad.body.errors[0].path, 'minLength');
  const ok = await admin.put('/api/v1/security/password-policy', { minLength: 12, minClasses: 3, historyCount: 5, maxAgeDays: 90, forceChangeOnFirstLogin: true });
  t.is(ok.status, 200);
  const r = await admin.post('/api/v1/me/password', { oldPassword: ta.adminPassword, newPassword: 'Short#Pw12' });
  t.is(r.status, 400);
  t.regex(r.body.detail, /至少 12 位/);
  t.is(await ta.deps.db.models.AuditLog.count({ where: { action: 'settings.update' } }), 1);
});

test('signing in again from the same browser ends the previous session', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'twice' });
  const c = ta.client();
  await c.login('twice', USER_PASSWORD);
  const first = new Map(c.cookies);
  await c.login('twice', USER_PASSWORD);
  t.is((await c.get('/api/v1/me')).status, 200);
  const old = ta.client();
  old.cookies = first;
  t.is((await old.get('/api/v1/me')).status, 401);
});

test('the login log can be filtered by user name, literally (an underscore is not a wildcard)', async (t) => {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'li_si' });
  await ta.createUser({ username: 'lixsi' });
  await ta.client().login('li_si', 'Wrong#Pass1');
  await ta.client().login('lixsi', 'Wrong#Pass1');
  const admin = await ta.admin();
  const r = await admin.get('/api/v1/security/login-log?username=LI_SI');
  t.is(r.status, 200);
  t.is(r.body.total, 1);
  t.is(r.body.items[0].username, 'li_si');
  t.is(r.body.items[0].reason, '密码错误');
});
