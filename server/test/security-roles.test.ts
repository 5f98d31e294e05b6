import test from 'ava';
import { startTestApp, USER_PASSWORD } from './helpers/app.ts';

// R19 / 等保 三员分立: the security administrator appoints the business administrators (so a fresh
// installation can get its first organisation and process administrators) and the three
// administrator roles, one per person, never for themself, never removing the last of them.

test('the bootstrap admin appoints the first org and process administrators, and 三员 one per person', async (t) => {
  const ta = await startTestApp(t);
  const admin = await ta.admin();
  const zhou = await ta.createUser({ username: 'zhou', name: '周主任' });
  const wu = await ta.createUser({ username: 'wu', name: '吴工程师' });
  const roles = await admin.get('/api/v1/security/roles');
  t.true(roles.body.items.some((r: { code: string }) => r.code === 'processadmin'));

  const set = await admin.put(`/api/v1/security/people/${zhou}/roles`, { roles: [{ code: 'orgadmin' }, { code: 'processadmin' }] });
  t.is(set.status, 200, JSON.stringify(set.body));
  const c = ta.client();
  await c.login('zhou', USER_PASSWORD);
  t.is((await c.get('/api/v1/org/people?page=1&pageSize=5')).status, 200, 'org:manage took effect');
  t.is((await c.get('/api/v1/workflow/processes')).status, 200, 'workflow:design took effect');

  const bad = await admin.put(`/api/v1/security/people/${zhou}/roles`, { roles: [{ code: 'auditadmin' }] });
  t.is(bad.status, 403, '三员 roles are not business roles');
  t.is((await admin.put(`/api/v1/security/people/${wu}/admin-role`, { role: 'auditadmin' })).status, 200);
  const both = await admin.put(`/api/v1/security/people/${wu}/admin-role`, { role: 'sysadmin' });
  t.deepEqual(both.body.roles.filter((r: string) => ['sysadmin', 'secadmin', 'auditadmin'].includes(r)), ['sysadmin'], 'one administrator role per person');

  const me = (await admin.me()).body.id as number;
  t.is((await admin.put(`/api/v1/security/people/${me}/roles`, { roles: [{ code: 'orgadmin' }] })).status, 403, 'never for oneself');
  t.is((await c.put(`/api/v1/security/people/${wu}/admin-role`, { role: null })).status, 403, 'only the security administrator appoints');
  const audit = await ta.deps.db.models.AuditLog.findOne({ where: { action: 'security.admin_role' } });
  t.truthy(audit);
});

test('a security administrator takes over from the bootstrap admin and cannot remove their own role', async (t) => {
  const ta = await startTestApp(t);
  const admin = await ta.admin();
  const li = await ta.createUser({ username: 'li', name: '李安全' });
  t.is((await admin.put(`/api/v1/security/people/${li}/admin-role`, { role: 'secadmin' })).status, 200);
  const c = ta.client();
  await c.login('li', USER_PASSWORD);
  const me = (await admin.me()).body.id as number;
  // li (secadmin) removes admin's roles: admin keeps none of 三员; then li is the last secadmin
  t.is((await c.put(`/api/v1/security/people/${me}/admin-role`, { role: null })).status, 200);
  const last = await c.put(`/api/v1/security/people/${li}/admin-role`, { role: null });
  t.is(last.status, 403, 'and not by oneself either');
});
