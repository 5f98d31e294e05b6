import test from 'ava';
import type { Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';
import { handoverRegistry } from '../src/org/people.ts';
import { conflict } from '../src/http/errors.ts';

// Issue 3 items 1, 10 and "Bad input": people through HTTP. Everyone signed in may read the list
// and a person's record (picker fields only); org:manage changes them. Every change is audited
// with before and after; bad input changes nothing.

const BASE = '/api/v1/org/people';
const DEPTS = '/api/v1/org/departments';

async function orgAdmin(ta: TestApp): Promise<HttpClient> {
  await ta.createUser({ username: 'org.admin', name: '组织管理员', roles: ['orgadmin'] });
  return signIn(ta, 'org.admin');
}

async function signIn(ta: TestApp, username: string, password = USER_PASSWORD): Promise<HttpClient> {
  const c = ta.client();
  const r = await c.login(username, password);
  if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return c;
}

async function staff(ta: TestApp, username = 'staff.a'): Promise<HttpClient> {
  await ta.createUser({ username, roles: ['staff'] });
  return signIn(ta, username);
}

/** Departments through the API: `[code, parentCode | null]`, in order. */
async function build(c: HttpClient, spec: [string, string | null][]): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [code, parent] of spec) {
    const r = await c.post(DEPTS, { code, name: `${code}科`, parentId: parent ? ids[parent]! : null, kind: 'clinical' });
    if (r.status !== 201) throw new Error(`create ${code}: ${r.status} ${JSON.stringify(r.body)}`);
    ids[code] = r.body.id;
  }
  return ids;
}

async function person(c: HttpClient, body: Record<string, unknown>): Promise<any> {
  const r = await c.post(BASE, body);
  if (r.status !== 201) throw new Error(`create person: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function audits(db: Database, action: string) {
  const rows = await db.models.AuditLog.findAll({ where: { action }, order: [['seq', 'ASC']], raw: true });
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail ?? 'null') }));
}

/** Statements the database ran while `fn` ran. */
async function countQueries(db: Database, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const hook = () => {
    n++;
  };
  db.sequelize.addHook('beforeQuery', 'count', hook);
  try {
    await fn();
  } finally {
    db.sequelize.removeHook('beforeQuery', 'count');
  }
  return n;
}

test('list: paging, sorting by the whitelist, filters, department subtree', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [
    ['H', null],
    ['A', 'H'],
    ['A1', 'A'],
    ['B', 'H'],
  ]);
  const { Post, Title } = ta.deps.db.models;
  const nurse = await Post.create({ code: 'nurse', name: '护理岗' });
  const senior = await Title.create({ code: 'zrys', name: '主任医师', grade: 'senior' });
  const zhang = await person(c, { employeeNo: '1003', name: '张三', deptId: d.A, postId: nurse.id, sort: 3 });
  const wang = await person(c, { employeeNo: '1001', name: '王五', deptId: d.A1, titleId: senior.id, sort: 1 });
  const li = await person(c, { employeeNo: '1004', name: '李四', deptId: d.B, postId: nurse.id, sort: 2 });
  const a = await person(c, { employeeNo: '1002', name: '阿明', deptId: d.H, sort: 4 });
  const names = (r: { body: { items: { name: string }[] } }) => r.body.items.map((p) => p.name);
  const only = (r: { body: { items: { id: number }[] } }, ids: number[]) => r.body.items.map((p) => p.id).filter((id) => ids.includes(id));
  const ours = [zhang.id, wang.id, li.id, a.id];

  // by name: pinyin order (a, li, wang, zhang), both ways; the org admin (no department) comes along
  const byName = await c.get(`${BASE}?sort=name&status=active&deptId=${d.H}`);
  t.is(byName.status, 200);
  t.deepEqual(names(byName), ['阿明', '李四', '王五', '张三']);
  t.deepEqual(names(await c.get(`${BASE}?sort=name&order=desc&deptId=${d.H}`)), ['张三', '王五', '李四', '阿明']);
  t.deepEqual(names(await c.get(`${BASE}?sort=employeeNo&deptId=${d.H}`)), ['王五', '阿明', '张三', '李四']);
  t.deepEqual(names(await c.get(`${BASE}?sort=sort&deptId=${d.H}`)), ['王五', '李四', '张三', '阿明']);
  // by department: the tree's order (H, A, A1, B), depth first
  t.deepEqual(names(await c.get(`${BASE}?sort=dept&deptId=${d.H}`)), ['阿明', '张三', '王五', '李四']);
  t.deepEqual(names(await c.get(`${BASE}?sort=dept&order=desc&deptId=${d.H}`)), ['李四', '王五', '张三', '阿明']);

  // paging
  const p1 = await c.get(`${BASE}?sort=employeeNo&deptId=${d.H}&pageSize=3&page=1`);
  const p2 = await c.get(`${BASE}?sort=employeeNo&deptId=${d.H}&pageSize=3&page=2`);
  t.is(p1.body.total, 4);
  t.is(p1.body.pageSize, 3);
  t.deepEqual(names(p1), ['王五', '阿明', '张三']);
  t.deepEqual(names(p2), ['李四']);
  const all = await c.get(`${BASE}?pageSize=200`);
  t.is(all.body.total, 6, 'four people, the org admin and the built-in admin');
  t.deepEqual(only(all, ours).sort(), [...ours].sort());

  // filters: department with or without its subtree, post, title, status
  t.deepEqual(names(await c.get(`${BASE}?deptId=${d.A}&sort=name`)), ['王五', '张三']);
  t.deepEqual(names(await c.get(`${BASE}?deptId=${d.A}&includeSubtree=false`)), ['张三']);
  t.deepEqual(names(await c.get(`${BASE}?postId=${nurse.id}&sort=name`)), ['李四', '张三']);
  t.deepEqual(names(await c.get(`${BASE}?titleId=${senior.id}`)), ['王五']);
  t.is((await c.get(`${BASE}?status=disabled`)).body.total, 0);
  // a secondary department counts only when asked for
  t.is((await c.put(`${BASE}/${li.id}/secondary-departments`, { deptIds: [d.A1] })).status, 200);
  t.deepEqual(names(await c.get(`${BASE}?deptId=${d.A1}`)), ['王五']);
  t.deepEqual(names(await c.get(`${BASE}?deptId=${d.A1}&includeSecondary=true&sort=name`)), ['李四', '王五']);

  // bad queries: a clear Chinese 400
  for (const q of ['pageSize=201', 'sort=passwordHash', 'order=up', 'deptId=abc', 'status=gone', 'page=0', 'colour=red']) {
    const r = await c.get(`${BASE}?${q}`);
    t.is(r.status, 400, q);
    t.regex(r.body.detail, /[\u4e00-\u9fff]/);
  }
  t.is((await c.get(`${BASE}?deptId=99999`)).status, 400);
  t.is((await ta.client().get(BASE)).status, 401);
});

test('3,000 people: a page costs the same few queries whatever its size, and stays fast', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [
    ['H', null],
    ['A', 'H'],
    ['B', 'H'],
    ['C', 'A'],
  ]);
  const { User, Post, Title, Position } = ta.deps.db.models;
  const posts = await Promise.all([1, 2, 3].map((i) => Post.create({ code: `p${i}`, name: `岗位${i}` })));
  const title = await Title.create({ code: 't', name: '主治医师', grade: 'intermediate' });
  const position = await Position.create({ code: 'k', name: '科主任', rank: 3 });
  const deptIds = [d.H!, d.A!, d.B!, d.C!];
  const surnames = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨';
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    username: `u${i}`,
    employeeNo: String(100000 + i),
    name: `${surnames[i % surnames.length]}${'一二三四五六七八九十'[i % 10]}${'甲乙丙丁'[i % 4]}`,
    deptId: deptIds[i % 4]!,
    postId: posts[i % 3]!.id,
    titleId: i % 2 ? title.id : null,
    positionId: i % 50 ? null : position.id,
    mobile: `139${String(i).padStart(8, '0')}`,
    mobilePublic: i % 2 === 0,
    email: null,
    wecomUserId: null,
    passwordHash: null,
    passwordChangedAt: null,
    lockedUntil: null,
    superiorId: null,
    successorId: null,
    sort: i % 7,
  }));
  for (let i = 0; i < rows.length; i += 500) await User.bulkCreate(rows.slice(i, i + 500));
  await c.get(`${BASE}?pageSize=1`); // warm the session cache
  for (const sort of ['employeeNo', 'name', 'dept', 'sort']) {
    const small = await countQueries(ta.deps.db, () => c.get(`${BASE}?sort=${sort}&pageSize=20&deptId=${d.H}`));
    const started = performance.now();
    let r: any;
    const large = await countQueries(ta.deps.db, async () => {
      r = await c.get(`${BASE}?sort=${sort}&order=desc&pageSize=200&page=3&deptId=${d.H}`);
    });
    const ms = performance.now() - started;
    t.is(r.status, 200);
    t.is(r.body.items.length, 200);
    t.is(r.body.total, 3000);
    t.true(large <= small + 2, `${sort}: ${small} queries for 20 rows, ${large} for 200`);
    t.true(large <= 10, `${sort}: ${large} queries`);
    t.true(ms < 1500, `${sort}: ${ms.toFixed(0)} ms`);
    t.truthy(r.body.items[0].dept && r.body.items[0].post);
  }
  // pages do not overlap and cover everyone exactly once
  const seen = new Set<number>();
  for (let page = 1; page <= 15; page++) {
    const r = await c.get(`${BASE}?sort=name&pageSize=200&page=${page}&deptId=${d.H}`);
    for (const p of r.body.items) seen.add(p.id);
  }
  t.is(seen.size, 3000);
});

test('staff see picker fields only: no login names, and personal mobiles only where public', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [['H', null]]);
  const open = await person(c, { employeeNo: 'E1', name: '公开', deptId: d.H, mobile: '13900000001', mobilePublic: true, workPhone: '020-1', email: 'a@b.cn' });
  const hidden = await person(c, { employeeNo: 'E2', name: '保密', deptId: d.H, mobile: '13900000002', workPhone: '020-2', superiorId: open.id });
  const s = await staff(ta);
  const list = await s.get(`${BASE}?deptId=${d.H}&sort=employeeNo`);
  t.is(list.status, 200);
  const [o, h] = list.body.items;
  t.is(o.mobile, '13900000001');
  t.is(h.mobile, null, 'private mobile hidden from staff');
  t.is(h.workPhone, '020-2', 'work phone visible to staff');
  for (const p of [o, h]) {
    t.deepEqual(Object.keys(p).sort(), ['dept', 'employeeNo', 'id', 'mobile', 'name', 'position', 'post', 'status', 'title', 'workPhone']);
  }
  const one = await s.get(`${BASE}/${hidden.id}`);
  t.is(one.status, 200);
  t.is(one.body.mobile, null);
  t.is(one.body.username, undefined);
  t.is(one.body.roles, undefined);
  t.deepEqual(one.body.superior, { id: open.id, name: '公开', active: true });
  t.deepEqual(one.body.dept, { id: d.H, name: 'H科' });
  // the org admin sees everything
  const full = await c.get(`${BASE}/${hidden.id}`);
  t.is(full.body.mobile, '13900000002');
  t.is(full.body.username, 'e2');
  t.deepEqual(full.body.roles, [{ code: 'staff', name: '普通员工', dept: null, subtree: false }]);
  t.is(full.body.passwordHash, undefined);
  t.is((await s.get(`${BASE}/99999`)).status, 404);
  t.is((await s.post(BASE, { employeeNo: 'E3', name: '越权', deptId: d.H })).status, 403);
});

test('create: username from the employee number, random initial password, staff role; duplicates 409 and nothing created', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [
    ['H', null],
    ['OFF', 'H'],
  ]);
  const created = await c.post(BASE, { employeeNo: 'Ａb01', name: '钱七', deptId: d.H, mobile: '13800000000' });
  t.is(created.status, 201);
  t.is(created.body.employeeNo, 'Ab01', 'NFKC: full-width letters and digits become ASCII');
  t.is(created.body.username, 'ab01');
  t.is(typeof created.body.initialPassword, 'string');
  t.true(created.body.initialPassword.length >= 12);
  t.is(created.body.mustChangePassword, true);
  t.is(created.body.version, 0);
  t.deepEqual(
    created.body.roles.map((r: { code: string }) => r.code),
    ['staff'],
  );
  // the initial password works once, and asks for a new one
  const newcomer = ta.client();
  const login = await newcomer.login('AB01', created.body.initialPassword);
  t.is(login.status, 200);
  t.is((await newcomer.get(BASE)).body.code, 'PASSWORD_CHANGE_REQUIRED');
  // never in the audit trail
  const [audit] = await audits(ta.deps.db, 'org.person.create');
  t.is(audit!.detail.after.employeeNo, 'Ab01');
  t.false(JSON.stringify(audit!.detail).includes(created.body.initialPassword));
  t.false(/passwordHash|argon2/.test(JSON.stringify(audit!.detail)));
  t.is(created.headers.get('cache-control'), 'no-store');

  const { User } = ta.deps.db.models;
  const before = await User.count();
  const dupNo = await c.post(BASE, { employeeNo: 'ab01', username: 'someone', name: '重复工号', deptId: d.H });
  t.is(dupNo.status, 409);
  t.is(dupNo.body.code, 'EMPLOYEE_NO_TAKEN');
  t.is(dupNo.body.detail, '工号「ab01」已被「钱七」使用，工号必须全院唯一');
  const dupName = await c.post(BASE, { employeeNo: 'X9', username: 'ＡＢ01', name: '重复登录名', deptId: d.H });
  t.is(dupName.status, 409);
  t.is(dupName.body.code, 'USERNAME_TAKEN');
  t.regex(dupName.body.detail, /登录名「ab01」已被「钱七」使用/);
  // bad department, post, superior, missing login name, unknown fields
  await c.send('PATCH', `${DEPTS}/${d.OFF}`, { enabled: false });
  const cases: [Record<string, unknown>, number, string][] = [
    [{ employeeNo: 'X1', name: '甲', deptId: 9999 }, 400, 'DEPT_NOT_FOUND'],
    [{ employeeNo: 'X1', name: '甲', deptId: d.OFF }, 400, 'DEPT_DISABLED'],
    [{ employeeNo: 'X1', name: '甲', deptId: d.H, postId: 9999 }, 400, 'POST_NOT_FOUND'],
    [{ employeeNo: 'X1', name: '甲', deptId: d.H, superiorId: 9999 }, 400, 'SUPERIOR_NOT_FOUND'],
    [{ name: '甲', deptId: d.H }, 400, 'USERNAME_REQUIRED'],
    [{ employeeNo: 'X1', name: '', deptId: d.H, colour: 'red' }, 400, 'VALIDATION_FAILED'],
  ];
  for (const [body, status, code] of cases) {
    const r = await c.post(BASE, body);
    t.is(r.status, status, JSON.stringify(body));
    t.is(r.body.code, code);
    t.regex(r.body.detail, /[\u4e00-\u9fff]/);
  }
  t.is(await User.count(), before, 'nothing created');
});

test('superior: a person as their own superior, or A→B→A, is refused and changes nothing', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [['H', null]]);
  const a = await person(c, { employeeNo: 'A', name: '甲', deptId: d.H });
  const b = await person(c, { employeeNo: 'B', name: '乙', deptId: d.H, superiorId: a.id });
  const cc = await person(c, { employeeNo: 'C', name: '丙', deptId: d.H, superiorId: b.id });
  const { User } = ta.deps.db.models;
  const state = async () => (await User.findAll({ attributes: ['id', 'superiorId', 'version'], order: [['id', 'ASC']], raw: true })).map((u) => ({ ...u }));
  const before = await state();

  const self = await c.send('PATCH', `${BASE}/${a.id}`, { superiorId: a.id, version: 0 });
  t.is(self.status, 400);
  t.is(self.body.code, 'SUPERIOR_CYCLE');
  t.is(self.body.detail, '不能把人员设为自己的直接上级');
  const loop = await c.send('PATCH', `${BASE}/${a.id}`, { superiorId: b.id, version: 0 });
  t.is(loop.status, 400);
  t.is(loop.body.code, 'SUPERIOR_CYCLE');
  t.is(loop.body.detail, '不能把「乙」设为甲的直接上级：上级链「乙 → 甲」又回到了甲本人，会形成循环');
  const longer = await c.send('PATCH', `${BASE}/${a.id}`, { superiorId: cc.id, version: 0, name: '甲改' });
  t.is(longer.status, 400);
  t.regex(longer.body.detail, /丙 → 乙 → 甲/);
  t.deepEqual(await state(), before, 'nothing changed');
  t.is((await User.findByPk(a.id))!.name, '甲');
  t.is(await ta.deps.db.models.AuditLog.count({ where: { action: 'org.person.update' } }), 0);

  // a disabled person cannot become anyone's superior
  await c.post(`${BASE}/${cc.id}/disable`, { successorId: b.id, reason: '离职' });
  const gone = await c.send('PATCH', `${BASE}/${a.id}`, { superiorId: cc.id, version: 0 });
  t.is(gone.status, 400);
  t.is(gone.body.code, 'SUPERIOR_DISABLED');
  // clearing and re-pointing works
  const ok = await c.send('PATCH', `${BASE}/${b.id}`, { superiorId: null, version: 0 });
  t.is(ok.status, 200);
  t.is(ok.body.superior, null);
  t.is((await c.send('PATCH', `${BASE}/${a.id}`, { superiorId: b.id, version: 0 })).status, 200);
});

test('optimistic concurrency: a stale version gets 409 and changes nothing; changes are audited', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [
    ['H', null],
    ['A', 'H'],
  ]);
  const p = await person(c, { employeeNo: 'P1', name: '孙八', deptId: d.H });
  const read = await c.get(`${BASE}/${p.id}`);
  t.is(read.body.version, 0);
  const first = await c.send('PATCH', `${BASE}/${p.id}`, { name: '孙捌', deptId: d.A, version: 0 });
  t.is(first.status, 200);
  t.is(first.body.version, 1);
  t.deepEqual(first.body.dept, { id: d.A, name: 'A科' });
  const stale = await c.send('PATCH', `${BASE}/${p.id}`, { name: '孙八八', version: 0 });
  t.is(stale.status, 409);
  t.is(stale.body.code, 'VERSION_CONFLICT');
  t.is(stale.body.detail, '该人员信息已被他人修改，请刷新后重新编辑');
  t.is((await c.get(`${BASE}/${p.id}`)).body.name, '孙捌');
  t.is((await c.send('PATCH', `${BASE}/${p.id}`, { name: '孙八' })).status, 400, 'version is required');
  // nothing to change: no audit, no version bump
  t.is((await c.send('PATCH', `${BASE}/${p.id}`, { name: '孙捌', version: 1 })).body.version, 1);
  const rows = await audits(ta.deps.db, 'org.person.update');
  t.is(rows.length, 1);
  t.like(rows[0]!.detail, { before: { name: '孙八', deptId: d.H }, after: { name: '孙捌', deptId: d.A } });
  t.false('passwordHash' in rows[0]!.detail.after);
  // the people search follows the rename
  const hit = await c.get(`/api/v1/org/people/search?q=${encodeURIComponent('孙捌')}`);
  t.deepEqual(
    hit.body.items.map((x: { id: number }) => x.id),
    [p.id],
  );
  // a move into a disabled department is refused
  await c.send('PATCH', `${DEPTS}/${d.H}`, { enabled: false });
  const moved = await c.send('PATCH', `${BASE}/${p.id}`, { deptId: d.H, version: 1 });
  t.is(moved.status, 400);
  t.is(moved.body.code, 'DEPT_DISABLED');
});

test('moving people while their target department is deleted never orphans anyone', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [['H', null]]);
  const { User, Department } = ta.deps.db.models;
  for (let round = 0; round < 6; round++) {
    const target = (await c.post(DEPTS, { code: `T${round}`, name: `目标${round}`, parentId: d.H, kind: 'admin' })).body.id;
    const p = await person(c, { employeeNo: `M${round}`, name: `移${round}`, deptId: d.H });
    const [move, del] = await Promise.all([c.send('PATCH', `${BASE}/${p.id}`, { deptId: target, version: 0 }), c.send('DELETE', `${DEPTS}/${target}`)]);
    const exists = !!(await Department.findByPk(target));
    const deptId = (await User.findByPk(p.id))!.deptId;
    if (move.status === 200) {
      t.is(del.status, 409, 'the delete saw the person');
      t.true(exists);
      t.is(deptId, target);
    } else {
      t.is(del.status, 204);
      t.is(move.status, 400);
      t.is(deptId, d.H!);
    }
  }
  const all = await User.findAll({ attributes: ['deptId'], raw: true });
  const ids = new Set((await Department.findAll({ attributes: ['id'], raw: true })).map((x) => x.id));
  t.true(all.every((u) => u.deptId === null || ids.has(u.deptId)));
});

test('secondary departments: replaced as a whole, the primary one refused', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [
    ['H', null],
    ['A', 'H'],
    ['B', 'H'],
  ]);
  const p = await person(c, { employeeNo: 'S1', name: '周九', deptId: d.H });
  const set = await c.put(`${BASE}/${p.id}/secondary-departments`, { deptIds: [d.B, d.A, d.A] });
  t.is(set.status, 200);
  t.deepEqual(set.body.secondaryDepts, [
    { id: d.A, name: 'A科' },
    { id: d.B, name: 'B科' },
  ]);
  const primary = await c.put(`${BASE}/${p.id}/secondary-departments`, { deptIds: [d.H] });
  t.is(primary.status, 400);
  t.is(primary.body.code, 'SECONDARY_IS_PRIMARY');
  const missing = await c.put(`${BASE}/${p.id}/secondary-departments`, { deptIds: [d.A, 9999] });
  t.is(missing.status, 400);
  t.deepEqual(missing.body.errors, [{ path: 'deptIds[1]', message: '部门（编号 9999）不存在' }]);
  t.is(await ta.deps.db.models.UserDept.count({ where: { userId: p.id } }), 2, 'unchanged');
  t.is((await c.put(`${BASE}/${p.id}/secondary-departments`, { deptIds: [d.B] })).body.secondaryDepts.length, 1);
  const rows = await audits(ta.deps.db, 'org.person.secondary_depts');
  t.deepEqual(
    rows.map((r) => r.detail),
    [
      { before: { deptIds: [] }, after: { deptIds: [d.A!, d.B!].sort((x, y) => x - y) } },
      { before: { deptIds: [d.A!, d.B!].sort((x, y) => x - y) }, after: { deptIds: [d.B] } },
    ],
  );
});

test('roles: global and scoped; admin roles cannot be granted; a change applies on the next request without signing in again', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [
    ['H', null],
    ['A', 'H'],
  ]);
  const p = await person(c, { employeeNo: 'R1', username: 'roles.person', name: '吴十', deptId: d.H });
  const { User, UserRole, UserRoleScope } = ta.deps.db.models;
  // give them a usable password, then sign them in
  await User.update({ passwordHash: (await User.findOne({ where: { username: 'org.admin' } }))!.passwordHash, mustChangePassword: false }, { where: { id: p.id } });
  const them = await signIn(ta, 'roles.person');
  t.is((await them.post(DEPTS, { code: 'X', name: 'X', parentId: null, kind: 'admin' })).status, 403);

  for (const code of ['sysadmin', 'secadmin', 'auditadmin']) {
    const r = await c.put(`${BASE}/${p.id}/roles`, { roles: [{ code: 'staff' }, { code, deptId: code === 'secadmin' ? d.A : undefined }] });
    t.is(r.status, 403, code);
    t.is(r.body.code, 'ADMIN_ROLE_NOT_GRANTABLE');
    t.regex(r.body.detail, /三员/);
  }
  const unknown = await c.put(`${BASE}/${p.id}/roles`, { roles: [{ code: 'wizard' }, { code: 'staff', deptId: 9999 }] });
  t.is(unknown.status, 400);
  t.deepEqual(
    unknown.body.errors.map((e: { path: string }) => e.path),
    ['roles[0].code', 'roles[1].deptId'],
  );
  t.is(await UserRole.count({ where: { userId: p.id } }), 1, 'still just staff');
  t.is(await UserRoleScope.count({ where: { userId: p.id } }), 0);

  const granted = await c.put(`${BASE}/${p.id}/roles`, { roles: [{ code: 'staff' }, { code: 'orgadmin' }, { code: 'staff', deptId: d.A, subtree: false }] });
  t.is(granted.status, 200);
  t.deepEqual(granted.body.roles, [
    { code: 'orgadmin', name: '组织人事管理员', dept: null, subtree: false },
    { code: 'staff', name: '普通员工', dept: null, subtree: false },
    { code: 'staff', name: '普通员工', dept: { id: d.A, name: 'A科' }, subtree: false },
  ]);
  // same session, next request: the new permission is there
  const me = await them.get('/api/v1/me');
  t.true(me.body.roles.includes('orgadmin'));
  t.is((await them.post(DEPTS, { code: 'X', name: 'X', parentId: null, kind: 'admin' })).status, 201);
  // and taken away the same way
  t.is((await c.put(`${BASE}/${p.id}/roles`, { roles: [{ code: 'staff' }] })).status, 200);
  t.is((await them.post(DEPTS, { code: 'Y', name: 'Y', parentId: null, kind: 'admin' })).status, 403);
  const rows = await audits(ta.deps.db, 'org.person.roles');
  t.is(rows.length, 2);
  t.deepEqual(rows[0]!.detail.before, { roles: [{ code: 'staff' }] });
  t.deepEqual(rows[1]!.detail.after, { roles: [{ code: 'staff' }] });

  // the built-in administrator keeps sysadmin whatever this screen sends
  const admin = (await User.findOne({ where: { username: 'admin' } }))!;
  t.is((await c.put(`${BASE}/${admin.id}/roles`, { roles: [{ code: 'staff' }] })).status, 200);
  const adminRoles = (await c.get(`${BASE}/${admin.id}`)).body.roles.map((r: { code: string }) => r.code).sort();
  t.deepEqual(adminRoles, ['auditadmin', 'secadmin', 'staff', 'sysadmin'], 'the 三员 roles it held stay');
});

test('disable with a successor: leadership moves, handovers run, the person is signed out and kept in the list', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [
    ['H', null],
    ['A', 'H'],
    ['B', 'H'],
  ]);
  const { User, DeptLeader, LeaderInCharge } = ta.deps.db.models;
  const leaving = await person(c, { employeeNo: 'L1', username: 'leaving', name: '郑离', deptId: d.A, mobile: '13700000000' });
  const succ = await person(c, { employeeNo: 'L2', name: '王接', deptId: d.A });
  const deputy = await person(c, { employeeNo: 'L3', name: '冯副', deptId: d.B });
  await User.update({ passwordHash: (await User.findOne({ where: { username: 'org.admin' } }))!.passwordHash, mustChangePassword: false }, { where: { id: leaving.id } });
  t.is((await c.put(`${DEPTS}/${d.A}/leaders`, { heads: [leaving.id], deputies: [] })).status, 200);
  t.is((await c.put(`${DEPTS}/${d.B}/leaders`, { heads: [leaving.id], deputies: [succ.id] })).status, 200);
  t.is((await c.put(`${DEPTS}/${d.H}/leaders`, { heads: [deputy.id], deputies: [leaving.id] })).status, 200);
  t.is((await c.put(`${DEPTS}/${d.B}/leaders-in-charge`, { userIds: [leaving.id] })).status, 200);
  const session = await signIn(ta, 'leaving');
  t.is((await session.get(BASE)).status, 200);

  const calls: [number, number][] = [];
  handoverRegistry(ta.deps).register('test-workflow', async (from, to, uow) => {
    calls.push([from, to]);
    uow.audit({ action: 'test.handover', objectType: 'user', objectId: from, detail: { to } });
    return { tasks: 3 };
  });

  // bad successors: the person themselves, unknown, disabled
  const self = await c.post(`${BASE}/${leaving.id}/disable`, { successorId: leaving.id, reason: '离职' });
  t.is(self.status, 400);
  t.is(self.body.code, 'SUCCESSOR_SELF');
  t.is((await c.post(`${BASE}/${leaving.id}/disable`, { successorId: 9999, reason: '离职' })).body.code, 'SUCCESSOR_NOT_FOUND');
  t.is((await c.post(`${BASE}/${leaving.id}/disable`, { successorId: succ.id, reason: '' })).status, 400);
  t.deepEqual(calls, []);
  t.is((await User.findByPk(leaving.id))!.status, 'active');

  const r = await c.post(`${BASE}/${leaving.id}/disable`, { successorId: succ.id, reason: '调往外院' });
  t.is(r.status, 200);
  t.is(r.body.status, 'disabled');
  t.deepEqual(r.body.successor, { id: succ.id, name: '王接', active: true });
  t.deepEqual(calls, [[leaving.id, succ.id]]);
  // leadership: head of A passes over; in B the successor (deputy) becomes head; in H the deputy place passes
  const leaders = async (deptId: number) =>
    (await DeptLeader.findAll({ where: { deptId }, order: [['userId', 'ASC']], raw: true })).map((l) => [l.userId, l.kind]);
  t.deepEqual(await leaders(d.A!), [[succ.id, 'head']]);
  t.deepEqual(await leaders(d.B!), [[succ.id, 'head']]);
  t.deepEqual(await leaders(d.H!), [
    [succ.id, 'deputy'],
    [deputy.id, 'head'],
  ]);
  t.deepEqual(
    (await LeaderInCharge.findAll({ raw: true })).map((l) => [l.userId, l.deptId]),
    [[succ.id, d.B]],
  );
  // signed out at once, and cannot sign in again
  t.is((await session.get(BASE)).status, 401);
  t.is((await ta.client().login('leaving', USER_PASSWORD)).status, 401);
  // kept, with everything, and still listed with its status
  const listed = await c.get(`${BASE}?deptId=${d.A}&sort=employeeNo`);
  t.deepEqual(
    listed.body.items.map((p: { name: string; status: string }) => [p.name, p.status]),
    [
      ['郑离', 'disabled'],
      ['王接', 'active'],
    ],
  );
  t.deepEqual(
    (await c.get(`${BASE}?status=disabled`)).body.items.map((p: { id: number }) => p.id),
    [leaving.id],
  );
  t.is((await User.findByPk(leaving.id))!.mobile, '13700000000');
  const [audit] = await audits(ta.deps.db, 'org.person.disable');
  t.like(audit!.detail, { before: { status: 'active' }, after: { status: 'disabled', successorId: succ.id }, reason: '调往外院', handover: { 'test-workflow': { tasks: 3 } } });
  t.is(audit!.detail.movedLeaders.length, 3);
  t.false(/passwordHash|argon2/.test(JSON.stringify(audit!.detail)));
  t.is((await audits(ta.deps.db, 'test.handover')).length, 1, 'the handover wrote in the same unit of work');

  // twice: 409; a disabled successor: 400
  t.is((await c.post(`${BASE}/${leaving.id}/disable`, { successorId: succ.id, reason: '再次' })).status, 409);
  const other = await c.post(`${BASE}/${deputy.id}/disable`, { successorId: leaving.id, reason: '离职' });
  t.is(other.status, 400);
  t.is(other.body.code, 'SUCCESSOR_DISABLED');

  // enable: may sign in again; leadership stays with the successor
  const en = await c.post(`${BASE}/${leaving.id}/enable`);
  t.is(en.status, 200);
  t.is(en.body.status, 'active');
  t.is((await ta.client().login('leaving', USER_PASSWORD)).status, 200);
  t.deepEqual(await leaders(d.A!), [[succ.id, 'head']]);
  t.is((await c.post(`${BASE}/${leaving.id}/enable`)).status, 409);
});

test('a handover that refuses rolls the whole disable back', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [['H', null]]);
  const p = await person(c, { employeeNo: 'H1', name: '褚一', deptId: d.H });
  const s = await person(c, { employeeNo: 'H2', name: '卫二', deptId: d.H });
  await c.put(`${DEPTS}/${d.H}/leaders`, { heads: [p.id], deputies: [] });
  handoverRegistry(ta.deps).register('documents', async () => {
    throw conflict('褚一还有 2 份公文正在签发，请先处理', 'OPEN_DOCUMENTS');
  });
  const r = await c.post(`${BASE}/${p.id}/disable`, { successorId: s.id, reason: '离职' });
  t.is(r.status, 409);
  t.is(r.body.detail, '褚一还有 2 份公文正在签发，请先处理');
  const { User, DeptLeader } = ta.deps.db.models;
  t.is((await User.findByPk(p.id))!.status, 'active');
  t.is((await DeptLeader.findOne({ where: { deptId: d.H } }))!.userId, p.id);
  t.is((await audits(ta.deps.db, 'org.person.disable')).length, 0);
  // the 三员 administrators and oneself cannot be disabled here
  const admin = (await User.findOne({ where: { username: 'admin' } }))!;
  t.is((await c.post(`${BASE}/${admin.id}/disable`, { successorId: s.id, reason: 'x' })).status, 403);
  const me = (await User.findOne({ where: { username: 'org.admin' } }))!;
  t.is((await c.post(`${BASE}/${me.id}/disable`, { successorId: s.id, reason: 'x' })).body.code, 'DISABLE_SELF');
});

test('crossing superior changes (A→B while B→A) never both succeed', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const d = await build(c, [['H', null]]);
  const { User } = ta.deps.db.models;
  for (let round = 0; round < 6; round++) {
    const a = await person(c, { employeeNo: `XA${round}`, name: `甲${round}`, deptId: d.H });
    const b = await person(c, { employeeNo: `XB${round}`, name: `乙${round}`, deptId: d.H });
    const results = await Promise.all([
      c.send('PATCH', `${BASE}/${a.id}`, { superiorId: b.id, version: 0 }),
      c.send('PATCH', `${BASE}/${b.id}`, { superiorId: a.id, version: 0 }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    t.is(statuses[0], 200, JSON.stringify(statuses));
    t.true(statuses[1] === 400 || statuses[1] === 409, JSON.stringify(results.map((r) => r.body)));
    t.regex(results.find((r) => r.status !== 200)!.body.detail, /[\u4e00-\u9fff]/);
    const [ra, rb] = [(await User.findByPk(a.id))!, (await User.findByPk(b.id))!];
    t.false(ra.superiorId === b.id && rb.superiorId === a.id, 'no loop');
  }
});
