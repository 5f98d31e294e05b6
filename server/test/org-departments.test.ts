import test from 'ava';
import { inUnitOfWork, seedDemoHospital, type Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';

// Issue 3 items 1, 10 and "Bad input": department tree maintenance through HTTP. Reading is open to
// everyone signed in; changes need org:manage (组织人事管理员); every change is audited with before
// and after; a loop in the tree is refused and changes nothing.

const BASE = '/api/v1/org/departments';

async function orgAdmin(ta: TestApp): Promise<HttpClient> {
  await ta.createUser({ username: 'org.admin', name: '组织管理员', roles: ['orgadmin'] });
  const c = ta.client();
  const r = await c.login('org.admin', USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login failed: ${r.status}`);
  return c;
}

async function staff(ta: TestApp, username = 'staff.a'): Promise<HttpClient> {
  await ta.createUser({ username, roles: ['staff'] });
  const c = ta.client();
  await c.login(username, USER_PASSWORD);
  return c;
}

async function seedDemo(ta: TestApp): Promise<void> {
  const staffRole = (await ta.deps.db.models.Role.findOne({ where: { code: 'staff' } }))!;
  await inUnitOfWork(ta.deps.db, { id: null, name: 'test' }, ta.clock.now(), (uow) =>
    seedDemoHospital(ta.deps.db, uow.t, { passwordHash: 'x', staffRoleId: staffRole.id, now: uow.now }),
  );
}

/** Create departments through the API: `[code, parentCode | null]`, in order. */
async function build(c: HttpClient, spec: [string, string | null][]): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [code, parent] of spec) {
    const r = await c.post(BASE, { code, name: `${code}科`, parentId: parent ? ids[parent]! : null, kind: 'clinical' });
    if (r.status !== 201) throw new Error(`create ${code}: ${r.status} ${JSON.stringify(r.body)}`);
    ids[code] = r.body.id;
  }
  return ids;
}

/** Every path is the parent's path plus the id, every level one more than the parent's. */
async function treeIsConsistent(db: Database): Promise<string[]> {
  const rows = await db.models.Department.findAll({ raw: true });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const problems: string[] = [];
  for (const r of rows) {
    const parent = r.parentId === null ? null : byId.get(r.parentId);
    const path = `${parent ? parent.path : '/'}${r.id}/`;
    if (r.path !== path) problems.push(`${r.code}: path ${r.path} ≠ ${path}`);
    if (r.level !== (parent ? parent.level + 1 : 0)) problems.push(`${r.code}: level ${r.level}`);
    // no loops: walking up ends at a root
    const seen = new Set<number>();
    for (let p = r; p.parentId !== null; p = byId.get(p.parentId)!) {
      if (seen.has(p.id)) {
        problems.push(`${r.code}: loop`);
        break;
      }
      seen.add(p.id);
    }
  }
  return problems;
}

async function audits(db: Database, action: string) {
  const rows = await db.models.AuditLog.findAll({ where: { action }, order: [['seq', 'ASC']], raw: true });
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail ?? 'null') }));
}

test('the tree: nested, sorted, with heads and head counts; anyone signed in may read it', async (t) => {
  const ta = await startTestApp(t);
  await seedDemo(ta);
  t.is((await ta.client().get(BASE)).status, 401);
  const c = await staff(ta);
  const r = await c.get(BASE);
  t.is(r.status, 200);
  const roots = r.body.items;
  t.is(roots.length, 1);
  const root = roots[0];
  t.is(root.name, '口腔医院');
  t.is(root.level, 0);
  t.is(root.heads.length, 1);
  t.is(root.children.length, 40, '44 departments, four of them one level further down');
  t.deepEqual(
    root.children.slice(0, 3).map((d: { code: string }) => d.code),
    ['YZB', 'DWB', 'YWB'],
    'siblings in their sort order',
  );
  const zwk = root.children.find((d: { code: string }) => d.code === 'ZWK');
  t.deepEqual(
    zwk.children.map((d: { code: string; level: number }) => [d.code, d.level]),
    [
      ['CD', 2],
      ['SSK', 2],
    ],
  );
  t.is(zwk.staffCount, 6);
  t.is(zwk.subtreeStaffCount, 13);
  t.is(zwk.kind, 'logistics');
  const { User, DeptLeader, Department } = ta.deps.db.models;
  t.is(root.subtreeStaffCount, await User.count({ where: { status: 'active', deptId: (await Department.findAll()).map((d) => d.id) } }));
  const ytys = root.children.find((d: { code: string }) => d.code === 'YX-YTYS');
  const head = (await DeptLeader.findOne({ where: { deptId: ytys.id, kind: 'head' } }))!;
  t.deepEqual(ytys.heads, [{ id: head.userId, name: (await User.findByPk(head.userId))!.name, active: true }]);
  t.is(ytys.deputies.length, 1);
  t.is(ytys.campusName, '越秀院区（本部）');
  t.is(root.children.find((d: { code: string }) => d.code === 'TH-ZZK').secondaryCount, 3);

  // one department, with its ancestors and leaders in charge
  const cd = zwk.children[0];
  const one = await c.get(`${BASE}/${cd.id}`);
  t.is(one.status, 200);
  t.deepEqual(
    one.body.ancestors.map((a: { name: string }) => a.name),
    ['口腔医院', '总务科'],
  );
  t.is(one.body.childCount, 0);
  t.deepEqual(one.body.leadersInCharge, []);
  t.is((await c.get(`${BASE}/${zwk.id}`)).body.leadersInCharge.length, 1);
  t.is((await c.get(`${BASE}/99999`)).status, 404);
  t.is((await c.get(`${BASE}/abc`)).status, 400);

  // disabled departments are hidden on request (with everything below them)
  await Department.update({ enabled: false }, { where: { id: zwk.id } });
  const enabled = await c.get(`${BASE}?enabledOnly=true`);
  t.falsy(enabled.body.items[0].children.find((d: { code: string }) => d.code === 'ZWK'));
  t.is((await c.get(BASE)).body.items[0].children.find((d: { code: string }) => d.code === 'ZWK').enabled, false);
});

test('create: path and level computed from the parent, audited', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const root = await c.post(BASE, { code: 'H', name: '医院', parentId: null, kind: 'admin' });
  t.is(root.status, 201);
  t.is(root.body.path, `/${root.body.id}/`);
  t.is(root.body.level, 0);
  const child = await c.post(BASE, { code: 'H-NK', name: ' 内科 ', parentId: root.body.id, kind: 'clinical' });
  t.is(child.status, 201);
  t.is(child.body.name, '内科', 'trimmed');
  t.is(child.body.path, `/${root.body.id}/${child.body.id}/`);
  t.is(child.body.level, 1);
  t.deepEqual(child.body.ancestors, [{ id: root.body.id, name: '医院' }]);
  const second = await c.post(BASE, { code: 'H-WK', name: '外科', parentId: root.body.id, kind: 'clinical' });
  t.true(second.body.sort > child.body.sort, 'a new department goes last among its siblings');
  const [row] = await audits(ta.deps.db, 'org.department.create');
  t.is(row!.objectType, 'department');
  t.is(row!.objectId, String(root.body.id));
  t.is(row!.actorName, 'org.admin');
  t.is(row!.detail.before, null);
  t.is(row!.detail.after.code, 'H');
  t.is(row!.detail.after.path, `/${root.body.id}/`);
});

test('bad input on create: duplicate code (any case), missing parent or campus, unknown fields and kinds', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const ids = await build(c, [['H', null]]);
  const before = await ta.deps.db.models.Department.count();
  const dup = await c.post(BASE, { code: 'h', name: '重复', parentId: ids.H, kind: 'admin' });
  t.is(dup.status, 409);
  t.is(dup.body.code, 'DEPT_CODE_TAKEN');
  t.is(dup.body.detail, '部门编码「h」已被部门「H科」使用，请换一个编码');
  const orphan = await c.post(BASE, { code: 'X', name: '孤儿', parentId: 9999, kind: 'admin' });
  t.is(orphan.status, 400);
  t.is(orphan.body.detail, '上级部门不存在');
  t.deepEqual(orphan.body.errors, [{ path: 'parentId', message: '上级部门不存在' }]);
  const campus = await c.post(BASE, { code: 'X', name: '无院区', parentId: ids.H, kind: 'admin', campusId: 77 });
  t.is(campus.status, 400);
  t.is(campus.body.errors[0].path, 'campusId');
  const bad = await c.post(BASE, { code: 'X Y', name: '', parentId: ids.H, kind: 'surgery', colour: 'red' });
  t.is(bad.status, 400);
  t.deepEqual(bad.body.errors.map((e: { path: string }) => e.path).sort(), ['code', 'colour', 'kind', 'name']);
  t.regex(bad.body.detail, /[\u4e00-\u9fff]/);
  t.is(await ta.deps.db.models.Department.count(), before, 'nothing created');
});

test('rename and move: the whole subtree gets new paths and levels, audited with before and after', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const ids = await build(c, [
    ['H', null],
    ['A', 'H'],
    ['A1', 'A'],
    ['A11', 'A1'],
    ['B', 'H'],
    ['B1', 'B'],
  ]);
  const rename = await c.send('PATCH', `${BASE}/${ids.A1}`, { name: '新名字', code: 'A1-NEW', sort: 9 });
  t.is(rename.status, 200);
  t.is(rename.body.name, '新名字');
  t.is(rename.body.code, 'A1-NEW');
  const [upd] = await audits(ta.deps.db, 'org.department.update');
  t.is(upd!.detail.before.name, 'A1科');
  t.is(upd!.detail.after.name, '新名字');
  t.is(upd!.detail.after.code, 'A1-NEW');

  // move A1 (with A11) under B1: two levels deeper
  const move = await c.send('PATCH', `${BASE}/${ids.A1}`, { parentId: ids.B1 });
  t.is(move.status, 200);
  t.is(move.body.path, `/${ids.H}/${ids.B}/${ids.B1}/${ids.A1}/`);
  t.is(move.body.level, 3);
  const a11 = (await ta.deps.db.models.Department.findByPk(ids.A11))!;
  t.is(a11.path, `/${ids.H}/${ids.B}/${ids.B1}/${ids.A1}/${ids.A11}/`);
  t.is(a11.level, 4);
  t.deepEqual(await treeIsConsistent(ta.deps.db), []);
  const [mv] = await audits(ta.deps.db, 'org.department.move');
  t.is(mv!.detail.before.parentId, ids.A);
  t.is(mv!.detail.after.parentId, ids.B1);
  t.is(mv!.detail.before.path, `/${ids.H}/${ids.A}/${ids.A1}/`);
  t.is(mv!.detail.descendantsMoved, 1);

  // and up to the top (a root of its own), then back
  const top = await c.send('PATCH', `${BASE}/${ids.A1}`, { parentId: null });
  t.is(top.body.path, `/${ids.A1}/`);
  t.is((await ta.deps.db.models.Department.findByPk(ids.A11))!.level, 1);
  t.is((await c.send('PATCH', `${BASE}/${ids.A1}`, { parentId: ids.A })).status, 200);
  t.deepEqual(await treeIsConsistent(ta.deps.db), []);
  const tree = await c.get(BASE);
  t.deepEqual(
    tree.body.items.map((d: { code: string }) => d.code),
    ['H'],
  );

  // nothing to change: no audit row
  const n = (await audits(ta.deps.db, 'org.department.update')).length;
  t.is((await c.send('PATCH', `${BASE}/${ids.B}`, { name: 'B科' })).status, 200);
  t.is((await audits(ta.deps.db, 'org.department.update')).length, n);
  const empty = await c.send('PATCH', `${BASE}/${ids.B}`, {});
  t.is(empty.status, 400);
  t.regex(empty.body.detail, /至少提供一个/);
  t.is((await c.send('PATCH', `${BASE}/9999`, { name: 'x' })).status, 404);
  const dup = await c.send('PATCH', `${BASE}/${ids.B}`, { code: 'a1-new' });
  t.is(dup.status, 409);
  t.is(dup.body.code, 'DEPT_CODE_TAKEN');
});

test('a move under itself or into its own subtree is refused and changes nothing', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const ids = await build(c, [
    ['H', null],
    ['A', 'H'],
    ['A1', 'A'],
    ['A11', 'A1'],
  ]);
  const snapshot = async () => JSON.stringify(await ta.deps.db.models.Department.findAll({ order: [['id', 'ASC']], raw: true }));
  const before = await snapshot();
  const auditCount = await ta.deps.db.models.AuditLog.count();

  const self = await c.send('PATCH', `${BASE}/${ids.A}`, { parentId: ids.A });
  t.is(self.status, 400);
  t.is(self.body.code, 'DEPT_CYCLE');
  t.is(self.body.detail, '不能把部门「A科」设为它自己的上级部门');
  t.deepEqual(self.body.errors, [{ path: 'parentId', message: '上级部门不能是部门自身' }]);

  const deep = await c.send('PATCH', `${BASE}/${ids.A}`, { parentId: ids.A11, name: '改名也不生效' });
  t.is(deep.status, 409);
  t.is(deep.body.code, 'DEPT_CYCLE');
  t.is(deep.body.detail, '不能把部门「A科」移到它自己的下级部门「A11科」之下');
  t.is((await c.send('PATCH', `${BASE}/${ids.H}`, { parentId: ids.A1 })).status, 409);

  const missing = await c.send('PATCH', `${BASE}/${ids.A}`, { parentId: 9999 });
  t.is(missing.status, 400);
  t.is(missing.body.errors[0].path, 'parentId');

  t.is(await snapshot(), before, 'the tree is untouched');
  t.is(await ta.deps.db.models.AuditLog.count(), auditCount, 'nothing audited as a change');
});

test('concurrent crossing moves never leave a loop', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const ids = await build(c, [
    ['H', null],
    ['X', 'H'],
    ['X1', 'X'],
    ['Y', 'H'],
    ['Y1', 'Y'],
  ]);
  for (let round = 0; round < 5; round++) {
    // X under Y1 and Y under X1 at the same moment: together they would make a loop
    const [a, b] = await Promise.all([c.send('PATCH', `${BASE}/${ids.X}`, { parentId: ids.Y1 }), c.send('PATCH', `${BASE}/${ids.Y}`, { parentId: ids.X1 })]);
    t.deepEqual([a.status, b.status].sort(), [200, 409], `round ${round}: one wins, the other sees the loop`);
    t.deepEqual(await treeIsConsistent(ta.deps.db), []);
    // put both back under H for the next round
    t.is((await c.send('PATCH', `${BASE}/${ids.X}`, { parentId: ids.H })).status, 200);
    t.is((await c.send('PATCH', `${BASE}/${ids.Y}`, { parentId: ids.H })).status, 200);
  }
  // moves and creates under the moving subtree at once: every new department lands on a correct path
  await Promise.all([
    c.send('PATCH', `${BASE}/${ids.X}`, { parentId: ids.Y1 }),
    ...Array.from({ length: 4 }, (_, i) => c.post(BASE, { code: `N${i}`, name: `新${i}`, parentId: ids.X1, kind: 'admin' })),
    c.send('PATCH', `${BASE}/${ids.X}`, { parentId: ids.H }),
  ]);
  t.deepEqual(await treeIsConsistent(ta.deps.db), []);
  t.is(await ta.deps.db.models.Department.count({ where: { parentId: ids.X1 } }), 4);

  // deleting a department while a child is created under it: never an orphan
  for (let round = 0; round < 4; round++) {
    const leaf = await c.post(BASE, { code: `L${round}`, name: `叶${round}`, parentId: ids.H, kind: 'admin' });
    const [del, add] = await Promise.all([
      c.send('DELETE', `${BASE}/${leaf.body.id}`),
      c.post(BASE, { code: `L${round}-C`, name: `子${round}`, parentId: leaf.body.id, kind: 'admin' }),
    ]);
    t.true(
      (del.status === 204 && add.status === 400) || (del.status === 409 && add.status === 201),
      `round ${round}: ${del.status}/${add.status}`,
    );
    t.deepEqual(await treeIsConsistent(ta.deps.db), []);
  }
  const all = await ta.deps.db.models.Department.findAll({ raw: true });
  t.true(all.every((d) => d.parentId === null || all.some((p) => p.id === d.parentId)));
});

test('leaders: heads and deputies replaced as a whole; unknown, disabled or doubled people refused', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const ids = await build(c, [
    ['H', null],
    ['A', 'H'],
  ]);
  const zhang = await ta.createUser({ username: 'zhang', name: '张主任' });
  const li = await ta.createUser({ username: 'li', name: '李副主任' });
  const wang = await ta.createUser({ username: 'wang', name: '王护士长' });
  const off = await ta.createUser({ username: 'off', name: '赵已停用' });
  await ta.deps.db.models.User.update({ status: 'disabled' }, { where: { id: off } });

  const set = await c.put(`${BASE}/${ids.A}/leaders`, { heads: [zhang], deputies: [wang, li] });
  t.is(set.status, 200);
  t.deepEqual(set.body.heads, [{ id: zhang, name: '张主任', active: true }]);
  t.deepEqual(
    set.body.deputies.map((p: { id: number }) => p.id),
    [wang, li],
    'in the order given',
  );
  const again = await c.put(`${BASE}/${ids.A}/leaders`, { heads: [li], deputies: [] });
  t.deepEqual(
    again.body.heads.map((p: { name: string }) => p.name),
    ['李副主任'],
  );
  t.deepEqual(again.body.deputies, []);
  const rows = await audits(ta.deps.db, 'org.department.leaders');
  t.is(rows.length, 2);
  t.deepEqual(rows[1]!.detail, { before: { heads: [zhang], deputies: [wang, li] }, after: { heads: [li], deputies: [] } });

  const bad = await c.put(`${BASE}/${ids.A}/leaders`, { heads: [9999, off], deputies: [] });
  t.is(bad.status, 400);
  t.deepEqual(bad.body.errors, [
    { path: 'heads[0]', message: '人员（编号 9999）不存在' },
    { path: 'heads[1]', message: '赵已停用已停用，不能担任部门领导' },
  ]);
  const both = await c.put(`${BASE}/${ids.A}/leaders`, { heads: [zhang], deputies: [zhang] });
  t.is(both.status, 400);
  t.is(both.body.detail, '张主任不能同时是部门负责人和副职');
  t.deepEqual((await c.get(`${BASE}/${ids.A}`)).body.heads.map((p: { id: number }) => p.id), [li], 'unchanged by the refused requests');
  t.is((await c.put(`${BASE}/9999/leaders`, { heads: [], deputies: [] })).status, 404);
  t.is((await c.put(`${BASE}/${ids.A}/leaders`, { heads: [zhang] })).status, 400, 'both lists are required');

  // leaders in charge
  const charge = await c.put(`${BASE}/${ids.A}/leaders-in-charge`, { userIds: [wang] });
  t.is(charge.status, 200);
  t.deepEqual(charge.body.leadersInCharge, [{ id: wang, name: '王护士长', active: true }]);
  const [lic] = await audits(ta.deps.db, 'org.department.leaders_in_charge');
  t.deepEqual(lic!.detail, { before: { userIds: [] }, after: { userIds: [wang] } });
  t.is((await c.put(`${BASE}/${ids.A}/leaders-in-charge`, { userIds: [off] })).status, 400);
});

test('delete: refused while it has sub-departments or people (primary or secondary), allowed when empty', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const ids = await build(c, [
    ['H', null],
    ['A', 'H'],
    ['A1', 'A'],
    ['B', 'H'],
  ]);
  const { User, UserDept, Department, DeptLeader, UserRoleScope, Role } = ta.deps.db.models;
  const kids = await c.send('DELETE', `${BASE}/${ids.A}`);
  t.is(kids.status, 409);
  t.is(kids.body.code, 'DEPT_HAS_CHILDREN');
  t.is(kids.body.detail, '部门「A科」下还有 1 个下级部门，请先删除或移走下级部门');

  const p1 = await ta.createUser({ username: 'p1' });
  const p2 = await ta.createUser({ username: 'p2' });
  const p3 = await ta.createUser({ username: 'p3' });
  await User.update({ deptId: ids.A1 }, { where: { id: [p1, p2] } });
  await User.update({ status: 'disabled' }, { where: { id: p2 } });
  await UserDept.create({ userId: p3, deptId: ids.A1! });
  const people = await c.send('DELETE', `${BASE}/${ids.A1}`);
  t.is(people.status, 409);
  t.is(people.body.code, 'DEPT_HAS_PEOPLE');
  t.is(people.body.detail, '部门「A1科」还有 2 名本部门人员（其中 1 名已停用）、1 名兼职人员，请先将人员调出后再删除；也可以改为停用该部门');
  await User.update({ deptId: null }, { where: { id: [p1, p2] } });
  const secondary = await c.send('DELETE', `${BASE}/${ids.A1}`);
  t.is(secondary.status, 409);
  t.regex(secondary.body.detail, /1 名兼职人员/);
  await UserDept.destroy({ where: { userId: p3 } });

  // a role granted for this department only
  const role = (await Role.findOne({ where: { code: 'staff' } }))!;
  await UserRoleScope.create({ userId: p1, roleId: role.id, deptId: ids.A1! });
  t.is((await c.send('DELETE', `${BASE}/${ids.A1}`)).body.code, 'DEPT_HAS_ROLE_SCOPES');
  await UserRoleScope.destroy({ where: { deptId: ids.A1 } });
  t.is(await Department.count({ where: { id: ids.A1 } }), 1, 'every refusal changed nothing');

  // empty at last: its leader rows go with it, audited with what it was
  await c.put(`${BASE}/${ids.A1}/leaders`, { heads: [p1], deputies: [] });
  const ok = await c.send('DELETE', `${BASE}/${ids.A1}`);
  t.is(ok.status, 204);
  t.is(await Department.count({ where: { id: ids.A1 } }), 0);
  t.is(await DeptLeader.count({ where: { deptId: ids.A1 } }), 0);
  const [del] = await audits(ta.deps.db, 'org.department.delete');
  t.is(del!.detail.after, null);
  t.is(del!.detail.before.code, 'A1');
  t.deepEqual(del!.detail.before.heads, [p1]);
  // and now A can go too
  t.is((await c.send('DELETE', `${BASE}/${ids.A}`)).status, 204);
  t.is((await c.send('DELETE', `${BASE}/${ids.A}`)).status, 404);
});

test('staff without org:manage may read but not change the tree; the refusal is audited', async (t) => {
  const ta = await startTestApp(t);
  const admin = await orgAdmin(ta);
  const ids = await build(admin, [
    ['H', null],
    ['A', 'H'],
  ]);
  const s = await staff(ta);
  t.is((await s.get(BASE)).status, 200);
  t.is((await s.get(`${BASE}/${ids.A}`)).status, 200);
  const attempts = [
    await s.post(BASE, { code: 'Z', name: 'Z', parentId: ids.H, kind: 'admin' }),
    await s.send('PATCH', `${BASE}/${ids.A}`, { name: '偷改' }),
    await s.send('PATCH', `${BASE}/${ids.A}`, { parentId: null }),
    await s.put(`${BASE}/${ids.A}/leaders`, { heads: [], deputies: [] }),
    await s.put(`${BASE}/${ids.A}/leaders-in-charge`, { userIds: [] }),
    await s.send('DELETE', `${BASE}/${ids.A}`),
  ];
  t.deepEqual(
    attempts.map((r) => r.status),
    [403, 403, 403, 403, 403, 403],
  );
  t.is(attempts[0]!.body.detail, '没有权限执行此操作');
  // the built-in system administrator does not manage the organisation either (三员 separation)
  const sys = await ta.admin();
  t.is((await sys.post(BASE, { code: 'Z', name: 'Z', parentId: ids.H, kind: 'admin' })).status, 403);
  t.is((await ta.deps.db.models.Department.findByPk(ids.A))!.name, 'A科');
  t.is(await ta.deps.db.models.AuditLog.count({ where: { action: 'access.denied' } }), 7);
});
