import test, { type ExecutionContext } from 'ava';
import { seedDemoHospital } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import { loadSnapshot, peopleSearch, searchPeople, searchSnapshot, type MatchKind, type PeopleQuery, type PersonHit, type Snapshot } from '../src/org/search.ts';

// R3.17: people search and pickers: employee number, Chinese name, full pinyin, initials, surnames
// with special readings, ranking, department/role/post/campus filters, invalidation on change.

const PATH = '/api/v1/org/people/search';

async function setup(t: ExecutionContext, opts: { demo?: boolean } = {}) {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'picker', name: '选人者' });
  const c = ta.client();
  t.is((await c.login('picker', USER_PASSWORD)).status, 200);
  if (opts.demo) {
    const staff = await ta.deps.db.models.Role.findOne({ where: { code: 'staff' } });
    await ta.deps.db.transaction((tx) => seedDemoHospital(ta.deps.db, tx, { passwordHash: 'x', staffRoleId: staff!.id, now: ta.clock.now() }));
  }
  const search = async (params: Record<string, string | number | boolean>) => {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
    const r = await c.get<{ items: PersonHit[] }>(`${PATH}?${qs}`);
    t.is(r.status, 200, JSON.stringify(r.body));
    return r.body.items;
  };
  return { ta, c, search };
}

let seq = 0;
async function person(ta: TestApp, p: { name: string; employeeNo?: string; deptId?: number | null; status?: 'active' | 'disabled'; sort?: number }): Promise<number> {
  const u = await ta.deps.db.models.User.create({
    username: `p${++seq}`,
    employeeNo: p.employeeNo ?? null,
    name: p.name,
    deptId: p.deptId ?? null,
    postId: null,
    titleId: null,
    positionId: null,
    superiorId: null,
    successorId: null,
    gender: null,
    workPhone: '020-80000000',
    mobile: '13800000000',
    email: null,
    wecomUserId: null,
    passwordHash: null,
    passwordChangedAt: null,
    lockedUntil: null,
    status: p.status ?? 'active',
    sort: p.sort ?? 0,
  });
  return u.id;
}

async function dept(ta: TestApp, d: { code: string; name: string; parentId?: number | null; sort?: number }): Promise<number> {
  const { Department } = ta.deps.db.models;
  const parent = d.parentId ? await Department.findByPk(d.parentId) : null;
  const row = await Department.create({ code: d.code, name: d.name, parentId: d.parentId ?? null, campusId: null, kind: 'clinical', sort: d.sort ?? 0 });
  await row.update({ path: `${parent?.path ?? '/'}${row.id}/`, level: parent ? parent.level + 1 : 0 });
  return row.id;
}

const names = (items: PersonHit[]) => items.map((i) => i.name);

test('anonymous callers get 401; bad queries get 400 naming the field in Chinese', async (t) => {
  const { ta, c } = await setup(t);
  const anon = await ta.client().get(`${PATH}?q=zhang`);
  t.is(anon.status, 401);

  const cases: [string, string, RegExp][] = [
    ['limit=1000', 'query.limit', /100/],
    ['limit=0', 'query.limit', /至少/],
    ['limit=abc', 'query.limit', /整数/],
    [`q=${'张'.repeat(65)}`, 'query.q', /64/],
    ['q=a&q=b', 'query.q', /搜索词/],
    ['deptId=-3', 'query.deptId', /部门编号/],
    ['includeSubtree=yes', 'query.includeSubtree', /true 或 false/],
    ['activeOnly=1', 'query.activeOnly', /true 或 false/],
    ['campusId=x', 'query.campusId', /院区编号/],
    ['mobile=138', 'query.mobile', /不允许/],
  ];
  for (const [qs, path, message] of cases) {
    const r = await c.get(`${PATH}?${qs}`);
    t.is(r.status, 400, qs);
    t.is(r.body.code, 'VALIDATION_FAILED', qs);
    const err = r.body.errors.find((e: { path: string }) => e.path === path);
    t.truthy(err, `${qs}: ${JSON.stringify(r.body.errors)}`);
    t.regex(err.message, message, qs);
    t.regex(r.body.detail, /查询参数校验失败/);
  }
  // exactly 64 characters is fine, and so is no query at all
  t.is((await c.get(`${PATH}?q=${'张'.repeat(64)}`)).status, 200);
  t.is((await c.get(PATH)).status, 200);
});

test('surnames with special readings: 单 shan, 曾 zeng, 解 xie, 区 ou, 仇 qiu, 欧阳 ouyang', async (t) => {
  const { ta, search } = await setup(t);
  for (const name of ['单俊', '曾小贤', '解放', '区伟', '仇敏', '欧阳娜', '但军', '张伟']) await person(ta, { name });
  const first = async (q: string) => (await search({ q }))[0];
  const expectations: [string, string, MatchKind][] = [
    ['shanjun', '单俊', 'pinyin'],
    ['ShanJun', '单俊', 'pinyin'],
    ['shan jun', '单俊', 'pinyin'],
    ['sj', '单俊', 'initials'],
    ['SJ', '单俊', 'initials'],
    ['zengxiaoxian', '曾小贤', 'pinyin'],
    ['zeng', '曾小贤', 'pinyin'],
    ['zxx', '曾小贤', 'initials'],
    ['xief', '解放', 'pinyin'],
    ['xie', '解放', 'pinyin'],
    ['ouwei', '区伟', 'pinyin'],
    ['ow', '区伟', 'initials'],
    ['qm', '仇敏', 'initials'],
    ['qiumin', '仇敏', 'pinyin'],
    ['oyn', '欧阳娜', 'initials'],
    ['ouyangna', '欧阳娜', 'pinyin'],
    ['单', '单俊', 'namePrefix'],
    ['单俊', '单俊', 'name'],
    ['小贤', '曾小贤', 'nameContains'],
    ['单j', '单俊', 'pinyin'],
  ];
  for (const [q, name, match] of expectations) {
    const hit = await first(q);
    t.is(hit?.name, name, q);
    t.is(hit?.match, match, q);
  }
  // the everyday readings of these characters do not find them
  t.deepEqual(names(await search({ q: 'danjun' })), ['但军']);
  t.deepEqual(names(await search({ q: 'cengxiaoxian' })), []);
  t.deepEqual(names(await search({ q: 'jiefang' })), []);
  t.deepEqual(names(await search({ q: 'quwei' })), []);
  t.deepEqual(names(await search({ q: 'choumin' })), []);
  // 'ou' finds both 区 and 欧阳, nothing else
  t.deepEqual(names(await search({ q: 'ou' })).sort(), ['区伟', '欧阳娜'].sort());
});

test('ranking: exact employee number, exact name, name prefix, pinyin, exact initials, longer initials, number prefix, name contains', async (t) => {
  const { ta, search } = await setup(t);
  // created in the "wrong" order so that id order alone would rank them the other way round
  await person(ta, { name: '王2024', employeeNo: 'A0001' });
  await person(ta, { name: '赵六', employeeNo: '20245' });
  await person(ta, { name: '李四', employeeNo: '2024' });
  const byNumber = await search({ q: '2024' });
  t.deepEqual(
    byNumber.map((h) => [h.name, h.match]),
    [
      ['李四', 'employeeNo'],
      ['赵六', 'employeeNoPrefix'],
      ['王2024', 'nameContains'],
    ],
  );
  // employee numbers are matched without regard to case or full-width characters
  t.is((await search({ q: 'ａ０００１' }))[0]?.name, '王2024');
  t.is((await search({ q: 'a0001' }))[0]?.match, 'employeeNo');

  await person(ta, { name: '李张三' });
  await person(ta, { name: '张三丰', sort: 5 });
  await person(ta, { name: '张三', sort: 1 });
  t.deepEqual(
    (await search({ q: 'zs' })).map((h) => [h.name, h.match]),
    [
      ['张三', 'initials'],
      ['张三丰', 'initialsPrefix'],
    ],
  );
  t.deepEqual(
    (await search({ q: '张三' })).map((h) => [h.name, h.match]),
    [
      ['张三', 'name'],
      ['张三丰', 'namePrefix'],
      ['李张三', 'nameContains'],
    ],
  );
  // same kind of match: person sort decides (张三 sort 1 before 张三丰 sort 5)
  t.deepEqual(names(await search({ q: 'zhangsan' })), ['张三', '张三丰']);

  // same kind of match, people in different departments: department order decides
  const a = await dept(ta, { code: 'A', name: '甲科', sort: 2 });
  const b = await dept(ta, { code: 'B', name: '乙科', sort: 1 });
  const bChild = await dept(ta, { code: 'B1', name: '乙科一组', parentId: b, sort: 9 });
  await person(ta, { name: '孙一', deptId: a });
  await person(ta, { name: '孙二', deptId: bChild });
  await person(ta, { name: '孙三', deptId: b, sort: 3 });
  await person(ta, { name: '孙四', deptId: b, sort: 2 });
  t.deepEqual(names(await search({ q: 'sun' })), ['孙四', '孙三', '孙二', '孙一']);
  // the limit cuts after ranking
  t.deepEqual(names(await search({ q: 'sun', limit: 2 })), ['孙四', '孙三']);
});

test('filters on the demo hospital: department subtree, secondary departments, campus, post, role', async (t) => {
  const { ta, search } = await setup(t, { demo: true });
  const { Department, User, Post, Campus, Role, UserRoleScope, UserDept } = ta.deps.db.models;
  const hmwk = (await Department.findOne({ where: { code: 'YX-HMWK' } }))!;
  const wards = await Department.findAll({ where: { parentId: hmwk.id }, order: [['sort', 'ASC']] });
  t.is(wards.length, 2);
  const inTree = await User.findAll({ where: { deptId: [hmwk.id, ...wards.map((w) => w.id)] } });
  t.is(inTree.length, 33);

  const subtree = await search({ deptId: hmwk.id, limit: 100 });
  t.deepEqual(subtree.map((h) => h.id).sort((x, y) => x - y), inTree.map((u) => u.id).sort((x, y) => x - y));
  // tree order: the department itself, then its wards in their order
  t.deepEqual([...new Set(subtree.map((h) => h.dept!.name))], [hmwk.name, ...wards.map((w) => w.name)]);
  const only = await search({ deptId: hmwk.id, includeSubtree: false, limit: 100 });
  t.is(only.length, 14);
  t.true(only.every((h) => h.dept!.id === hmwk.id));
  // text and department together
  const someone = inTree.find((u) => u.deptId === wards[0]!.id)!;
  t.is((await search({ q: someone.employeeNo!, deptId: hmwk.id }))[0]?.id, someone.id);
  t.deepEqual(await search({ q: someone.employeeNo!, deptId: wards[1]!.id }), []);

  // secondary departments (兼职) count as membership; the primary department is what is shown
  const thZzk = (await Department.findOne({ where: { code: 'TH-ZZK' } }))!;
  const secondary = await UserDept.findAll({ where: { deptId: thZzk.id } });
  t.is(secondary.length, 3);
  const thPeople = await search({ deptId: thZzk.id, limit: 100 });
  t.is(thPeople.length, 6 + 3);
  for (const s of secondary) t.is(thPeople.find((h) => h.id === s.userId)?.dept?.name, '口腔种植科');

  // campus: departments inherit it; hospital-wide departments belong to none
  const th = (await Campus.findOne({ where: { code: 'TH' } }))!;
  const onTh = await search({ campusId: th.id, limit: 100 });
  t.is(onTh.length, 14 + 10 + 10 + 6 + 8 + 7 + 4 + 3);
  t.true(onTh.every((h) => h.campus === '天河院区' || secondary.some((s) => s.userId === h.id)));

  const nursing = (await Post.findOne({ where: { code: 'HLG' } }))!;
  const nurses = await search({ postId: nursing.id, limit: 100 });
  t.true(nurses.length > 10);
  t.true(nurses.every((h) => h.post === '护理岗'));

  // roles, global and scoped to departments
  const hr = await ta.createUser({ username: 'hr1', name: '人事甲', roles: ['orgadmin'] });
  t.deepEqual((await search({ roleCode: 'orgadmin' })).map((h) => h.id), [hr]);
  const orgadmin = (await Role.findOne({ where: { code: 'orgadmin' } }))!;
  await UserRoleScope.create({ userId: someone.id, roleId: orgadmin.id, deptId: hmwk.id, subtree: true });
  t.deepEqual((await search({ roleCode: 'orgadmin' })).map((h) => h.id).sort(), [hr, someone.id].sort());
  t.deepEqual((await search({ roleCode: 'orgadmin', deptId: hmwk.id })).map((h) => h.id), [someone.id]);
  t.deepEqual(await search({ roleCode: 'no-such-role' }), []);
  t.deepEqual(names(await search({ roleCode: 'sysadmin' })), ['系统管理员']);

  // employee number and name on the demo data; a picker sees nothing more than it needs
  const first = (await search({ q: '10001' }))[0]!;
  t.is(first.employeeNo, '10001');
  t.is(first.match, 'employeeNo');
  t.deepEqual(Object.keys(first).sort(), ['campus', 'dept', 'employeeNo', 'id', 'match', 'name', 'position', 'post', 'status', 'title']);
  const u = (await User.findOne({ where: { employeeNo: '10001' } }))!;
  t.is(first.name, u.name);
  t.is(first.position, '院长');
  t.is((await search({ q: u.name }))[0]?.id, u.id);
  t.is((await search({ q: u.pinyin! }))[0]?.id, u.id);

  // without a text query: the hospital in tree order (院长办公室 first)
  const root = (await Department.findOne({ where: { code: 'ROOT' } }))!;
  const top = await search({ deptId: root.id, limit: 6 });
  t.true(top.every((h) => h.dept?.name === '院长办公室' && h.match === null));
  t.deepEqual(top.map((h) => h.employeeNo), ['10001', '10002', '10003', '10004', '10005', '10006']);
});

test('disabled people are left out unless asked for', async (t) => {
  const { ta, search } = await setup(t);
  const id = await person(ta, { name: '离职者', employeeNo: '30001' });
  t.deepEqual(names(await search({ q: 'lzz' })), ['离职者']);
  await ta.deps.db.models.User.update({ status: 'disabled' }, { where: { id } });
  t.deepEqual(await search({ q: 'lzz' }), []);
  t.deepEqual(await search({ q: '30001' }), []);
  const all = await search({ q: 'lzz', activeOnly: false });
  t.is(all.length, 1);
  t.is(all[0]!.status, 'disabled');
});

test('the index follows every change: renames, moves, roles, rollbacks, writes around the models', async (t) => {
  const { ta, search } = await setup(t);
  const { User, Department, UserRole, Role } = ta.deps.db.models;
  const d = await dept(ta, { code: 'K1', name: '口腔内科' });
  const id = await person(ta, { name: '张伟', employeeNo: '40001', deptId: d });
  t.deepEqual(names(await search({ q: 'zhangwei' })), ['张伟']); // index loaded

  // a rename in a transaction: found under the new pinyin at once, no longer under the old one;
  // a search while it is not committed yet sees the old state and must not keep it afterwards
  const svc = peopleSearch(ta.deps);
  await ta.deps.db.transaction(async (tx) => {
    const u = (await User.findByPk(id, { transaction: tx }))!;
    await u.update({ name: '曾伟' }, { transaction: tx });
    t.deepEqual(names(await svc.search({ q: 'zhangwei' })), ['张伟']);
  });
  t.deepEqual(names(await search({ q: 'zengwei' })), ['曾伟']);
  t.deepEqual(await search({ q: 'zhangwei' }), []);

  // a rolled-back change leaves the index as it was
  await t.throwsAsync(
    ta.deps.db.transaction(async (tx) => {
      await User.update({ name: '王伟' }, { where: { id }, transaction: tx });
      throw new Error('abort');
    }),
  );
  t.deepEqual(names(await search({ q: 'zengwei' })), ['曾伟']);
  t.deepEqual(await search({ q: 'wangwei' }), []);

  // department renamed, person moved, role granted
  await Department.update({ name: '牙体牙髓科' }, { where: { id: d } });
  t.is((await search({ q: '40001' }))[0]?.dept?.name, '牙体牙髓科');
  const d2 = await dept(ta, { code: 'K2', name: '牙周科' });
  await User.update({ deptId: d2 }, { where: { id } });
  t.deepEqual((await search({ deptId: d2 })).map((h) => h.id), [id]);
  const orgadmin = (await Role.findOne({ where: { code: 'orgadmin' } }))!;
  t.deepEqual(await search({ roleCode: 'orgadmin' }), []);
  await UserRole.create({ userId: id, roleId: orgadmin.id });
  t.deepEqual((await search({ roleCode: 'orgadmin' })).map((h) => h.id), [id]);

  // writes that only touch sign-in state do not throw the index away
  const before = (svc as unknown as { snap: unknown }).snap;
  await User.update({ failedCount: 3 }, { where: { id } });
  await search({ q: 'zengwei' });
  t.is((svc as unknown as { snap: unknown }).snap, before);

  // a write around the models (raw SQL, another process) needs invalidate(), which also tells
  // the other instances over the bus
  await User.update({ name: '解伟', pinyin: 'xiewei', pinyinInitials: 'xw' }, { where: { id }, hooks: false });
  t.deepEqual(await search({ q: 'xiewei' }), []); // stale until told
  const heard: unknown[] = [];
  ta.deps.bus.subscribe((m) => heard.push(m));
  await svc.invalidate();
  t.deepEqual(heard, [{ type: 'org' }]);
  t.deepEqual(names(await search({ q: 'xiewei' })), ['解伟']);

  // a message from another instance drops the index too
  await User.update({ name: '区伟', pinyin: 'ouwei', pinyinInitials: 'ow' }, { where: { id }, hooks: false });
  await ta.deps.bus.publish({ type: 'org' });
  t.deepEqual(names(await search({ q: 'ouwei' })), ['区伟']);

  // and should a message be lost, a snapshot older than five minutes is refreshed in the background
  await User.update({ name: '仇伟', pinyin: 'qiuwei', pinyinInitials: 'qw' }, { where: { id }, hooks: false });
  ta.clock.advanceMinutes(6);
  let found: string[] = [];
  for (let i = 0; i < 50 && !found.length; i++) {
    found = names(await search({ q: 'qiuwei' }));
    if (!found.length) await new Promise((r) => setTimeout(r, 20));
  }
  t.deepEqual(found, ['仇伟']);
});

test('changes to some people patch the index in place, and the result equals a full reload', async (t) => {
  const { ta } = await setup(t, { demo: true });
  const { db } = ta.deps;
  const { User, UserDept, Department, UserRole, Role } = db.models;
  const svc = peopleSearch(ta.deps);
  const state = () => (svc as unknown as { snap: Snapshot }).snap;
  const depts = await Department.findAll({ order: [['id', 'ASC']] });
  const queries: PeopleQuery[] = [
    ...['zh', 'l', 'w', 'c', '1000', '1002', '王', '李', '伟', 'zw', 'sj', '单', 'xie', 'qiu', 'ou'].map((q) => ({ q, limit: 100 })),
    ...depts.map((d) => ({ deptId: d.id, limit: 100 })),
    ...depts.slice(0, 5).map((d) => ({ deptId: d.id, includeSubtree: false, q: 'z', activeOnly: false })),
    { roleCode: 'orgadmin' },
  ];
  const same = async (what: string) => {
    const fresh = await loadSnapshot(db, 0, 0);
    for (const q of queries) {
      const members = q.roleCode ? new Set((await UserRole.findAll({ where: { roleId: (await Role.findOne({ where: { code: q.roleCode } }))!.id } })).map((r) => r.userId)) : null;
      t.deepEqual(await svc.search(q), searchSnapshot(fresh, q, members), `${what}: ${JSON.stringify(q)}`);
    }
  };
  await same('loaded');
  const frame = state().frame;
  const heard: unknown[] = [];
  ta.deps.bus.subscribe((m) => heard.push(m));

  const [a, b, c] = await User.findAll({ where: { deptId: depts[5]!.id }, order: [['id', 'ASC']] });
  await a!.update({ name: '单小单', sort: -1 });
  t.deepEqual(heard.at(-1), { type: 'org', userIds: [a!.id] });
  await same('renamed');
  await User.update({ deptId: depts[30]!.id }, { where: { id: [b!.id, c!.id] } });
  await same('moved');
  await UserDept.create({ userId: a!.id, deptId: depts[40]!.id });
  await same('secondary added');
  await UserDept.destroy({ where: { userId: a!.id } });
  await same('secondary removed');
  await User.update({ status: 'disabled' }, { where: { id: b!.id } });
  await same('disabled');
  await db.transaction(async (tx) => {
    await User.bulkCreate(
      ['新人甲', '新人乙'].map((name, i) => ({
        username: `new${i}`,
        employeeNo: `9000${i}`,
        name,
        deptId: depts[2]!.id,
        postId: null,
      })),
      { transaction: tx },
    );
    await c!.update({ name: '区大伟' }, { transaction: tx });
  });
  await same('created in a transaction');
  await (await User.findOne({ where: { employeeNo: '90001' } }))!.destroy();
  await same('destroyed');
  const orgadmin = (await Role.findOne({ where: { code: 'orgadmin' } }))!;
  await UserRole.create({ userId: c!.id, roleId: orgadmin.id });
  await same('role granted');
  // all of that was patched: the departments were never read again
  t.is(state().frame, frame);

  // a department change reloads everything
  await depts[5]!.update({ name: '改名科' });
  await same('department renamed');
  t.not(state().frame, frame);
});

test('every module calls the same search as the API', async (t) => {
  const { ta, search } = await setup(t);
  await person(ta, { name: '欧阳娜', employeeNo: '50001' });
  const direct = await searchPeople(ta.deps, { q: 'oyn' });
  t.deepEqual(direct, await search({ q: 'oyn' }));
  t.is(peopleSearch(ta.deps), peopleSearch(ta.deps));
});
