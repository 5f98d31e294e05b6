import test from 'ava';
import type { Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';

// Issue 3 item 1: 自定义角色组. Shared groups are seen by everyone and kept by org:manage; a
// personal group is its owner's alone (404 for everyone else, org admins included).

const BASE = '/api/v1/org/groups';

async function signIn(ta: TestApp, username: string, roles: string[] = ['staff'], name?: string): Promise<{ c: HttpClient; id: number }> {
  const id = await ta.createUser({ username, roles, name });
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return { c, id };
}

async function audits(db: Database, action: string) {
  const rows = await db.models.AuditLog.findAll({ where: { action }, order: [['seq', 'ASC']], raw: true });
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail ?? 'null') }));
}

test('personal groups are their owner\'s alone; shared ones are seen by all and kept by org:manage', async (t) => {
  const ta = await startTestApp(t);
  const admin = await signIn(ta, 'org.admin', ['orgadmin'], '组织管理员');
  const alice = await signIn(ta, 'alice', ['staff'], '艾丽');
  const bob = await signIn(ta, 'bob', ['staff'], '鲍勃');
  const carol = await signIn(ta, 'carol', ['staff'], '卡萝');

  // anyone signed in may make a personal group
  const mine = await alice.c.post(BASE, { name: '常用审批人', memberIds: [carol.id, bob.id, carol.id] });
  t.is(mine.status, 201);
  t.like(mine.body, { name: '常用审批人', shared: false, ownerId: alice.id, memberCount: 2 });
  t.deepEqual(
    mine.body.members.map((m: { id: number }) => m.id).sort(),
    [bob.id, carol.id].sort(),
  );
  t.deepEqual(Object.keys(mine.body.members[0]).sort(), ['dept', 'employeeNo', 'id', 'name', 'status']);
  // but not a shared one
  const sharedByStaff = await alice.c.post(BASE, { name: '全院', shared: true, memberIds: [] });
  t.is(sharedByStaff.status, 403);
  t.is(sharedByStaff.body.detail, '只有组织人事管理员可以创建共享分组');
  const shared = await admin.c.post(BASE, { name: '院办', shared: true, memberIds: [alice.id] });
  t.is(shared.status, 201);
  t.like(shared.body, { shared: true, ownerId: null });
  const bobsOwn = await bob.c.post(BASE, { name: '鲍勃的组', memberIds: [alice.id] });

  // visibility: shared first, then one's own
  const names = async (c: HttpClient) => (await c.get(BASE)).body.items.map((g: { name: string }) => g.name);
  t.deepEqual(await names(alice.c), ['院办', '常用审批人']);
  t.deepEqual(await names(bob.c), ['院办', '鲍勃的组']);
  t.deepEqual(await names(admin.c), ['院办'], 'org admins do not see personal groups either');
  for (const [who, c] of [
    ['bob', bob.c],
    ['admin', admin.c],
  ] as const) {
    t.is((await c.get(`${BASE}/${mine.body.id}`)).status, 404, who);
    t.is((await c.send('PATCH', `${BASE}/${mine.body.id}`, { name: '偷改' })).status, 404, who);
    t.is((await c.put(`${BASE}/${mine.body.id}/members`, { memberIds: [] })).status, 404, who);
    t.is((await c.send('DELETE', `${BASE}/${mine.body.id}`)).status, 404, who);
  }
  t.is((await alice.c.get(`${BASE}/${bobsOwn.body.id}`)).status, 404);
  t.is((await alice.c.get(`${BASE}/99999`)).status, 404);

  // staff may use a shared group but not change it
  t.is((await alice.c.get(`${BASE}/${shared.body.id}`)).status, 200);
  const touch = await alice.c.send('PATCH', `${BASE}/${shared.body.id}`, { name: '改名' });
  t.is(touch.status, 403);
  t.is(touch.body.detail, '共享分组只能由组织人事管理员修改');
  t.is((await alice.c.put(`${BASE}/${shared.body.id}/members`, { memberIds: [] })).status, 403);
  t.is((await alice.c.send('DELETE', `${BASE}/${shared.body.id}`)).status, 403);
  t.is((await admin.c.put(`${BASE}/${shared.body.id}/members`, { memberIds: [alice.id, bob.id] })).body.memberCount, 2);

  // the owner keeps their own group
  t.is((await alice.c.send('PATCH', `${BASE}/${mine.body.id}`, { name: '审批常用' })).body.name, '审批常用');
  const members = await alice.c.put(`${BASE}/${mine.body.id}/members`, { memberIds: [bob.id] });
  t.is(members.status, 200);
  t.deepEqual(
    members.body.members.map((m: { id: number }) => m.id),
    [bob.id],
  );
  t.is((await alice.c.send('DELETE', `${BASE}/${mine.body.id}`)).status, 204);
  t.deepEqual(await names(alice.c), ['院办']);
  t.is(await ta.deps.db.models.UserGroupMember.count({ where: { groupId: mine.body.id } }), 0);

  // every change audited with before and after
  t.deepEqual(
    (await audits(ta.deps.db, 'org.group.update')).map((a) => a.detail),
    [{ before: { name: '常用审批人' }, after: { name: '审批常用' } }],
  );
  const del = await audits(ta.deps.db, 'org.group.delete');
  t.deepEqual(del[0]!.detail, { before: { name: '审批常用', ownerId: alice.id, memberIds: [bob.id] }, after: null });
  t.is((await audits(ta.deps.db, 'org.group.create')).length, 3);
  t.is((await audits(ta.deps.db, 'org.group.members')).length, 2);
  t.is((await ta.client().get(BASE)).status, 401);
});

test('bad input: unknown or disabled members, duplicate names, empty names; nothing changes', async (t) => {
  const ta = await startTestApp(t);
  const alice = await signIn(ta, 'alice');
  const bob = await signIn(ta, 'bob');
  const { User, UserGroup } = ta.deps.db.models;
  await User.update({ status: 'disabled' }, { where: { id: bob.id } });
  const g = await alice.c.post(BASE, { name: '组一', memberIds: [] });
  t.is(g.status, 201);
  const unknown = await alice.c.post(BASE, { name: '组二', memberIds: [alice.id, 9999, bob.id] });
  t.is(unknown.status, 400);
  t.deepEqual(unknown.body.errors, [
    { path: 'memberIds[1]', message: '人员（编号 9999）不存在' },
    { path: 'memberIds[2]', message: 'bob已停用，不能加入分组' },
  ]);
  const dup = await alice.c.post(BASE, { name: '组一', memberIds: [] });
  t.is(dup.status, 409);
  t.is(dup.body.detail, '您已有名为「组一」的分组');
  const empty = await alice.c.post(BASE, { name: '  ', memberIds: [], extra: 1 });
  t.is(empty.status, 400);
  t.regex(empty.body.detail, /[\u4e00-\u9fff]/);
  t.is(await UserGroup.count(), 1);
  t.is((await alice.c.put(`${BASE}/${g.body.id}/members`, { memberIds: [bob.id] })).status, 400);
  // the same name in someone else's scope is fine
  await User.update({ status: 'active' }, { where: { id: bob.id } });
  t.is((await bob.c.post(BASE, { name: '组一', memberIds: [] })).status, 201);
});
