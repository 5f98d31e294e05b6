import test, { type ExecutionContext } from 'ava';
import { seedDemoHospital, type Database, type Department } from '@oa/db';
import { createTestDb } from './helpers/db.ts';
import {
  deptDeputies,
  deptHeads,
  directSuperior,
  groupMembers,
  headOfInitiatorDept,
  leadersInCharge,
  levelsUp,
  usersWithPost,
  usersWithRole,
} from '../src/org/resolvers.ts';

// Issue 3 item 2: the resolvers the workflow engine calls, on the demo hospital and on small
// hand-built trees.

async function mkDept(db: Database, code: string, parent?: Department): Promise<Department> {
  const d = await db.models.Department.create({ code, name: code, parentId: parent?.id ?? null, campusId: null, kind: 'admin' });
  await d.update({ path: `${parent?.path ?? '/'}${d.id}/`, level: parent ? parent.level + 1 : 0 });
  return d;
}

interface PersonOpts {
  deptId?: number | null;
  superiorId?: number | null;
  positionId?: number | null;
  postId?: number | null;
  status?: 'active' | 'disabled';
  sort?: number;
}

async function mkUser(db: Database, name: string, o: PersonOpts = {}): Promise<number> {
  const u = await db.models.User.create({
    username: `u${Math.random().toString(36).slice(2, 10)}`,
    name,
    employeeNo: null,
    deptId: o.deptId ?? null,
    postId: o.postId ?? null,
    positionId: o.positionId ?? null,
    superiorId: o.superiorId ?? null,
    status: o.status ?? 'active',
    sort: o.sort ?? 0,
    mobile: null,
    email: null,
    wecomUserId: null,
    passwordHash: null,
    passwordChangedAt: null,
    lockedUntil: null,
  });
  return u.id;
}

/**
 * R 医院 (head 院长 P; leader in charge P)
 * ├─ A 内科 (head 主任 a, deputy ad; leader in charge 副院长 V)
 * │  ├─ A1 (no head)
 * │  │  └─ A1x (no head)   staff s1
 * │  └─ A2 (head 护士长 a2) staff s2
 * └─ B (no head, nobody in charge) staff b1
 */
async function smallHospital(t: ExecutionContext) {
  const { db } = await createTestDb(t);
  const { Position, DeptLeader, LeaderInCharge } = db.models;
  const [yz, fyz, kzr, fkzr, hsz] = await Position.bulkCreate([
    { code: 'YZ', name: '院长', rank: 100 },
    { code: 'FYZ', name: '副院长', rank: 90 },
    { code: 'KZR', name: '科主任', rank: 50 },
    { code: 'FKZR', name: '科副主任', rank: 45 },
    { code: 'HSZ', name: '护士长', rank: 40 },
  ]);
  const R = await mkDept(db, 'R');
  const A = await mkDept(db, 'A', R);
  const A1 = await mkDept(db, 'A1', A);
  const A1x = await mkDept(db, 'A1x', A1);
  const A2 = await mkDept(db, 'A2', A);
  const B = await mkDept(db, 'B', R);
  const P = await mkUser(db, '院长甲', { deptId: R.id, positionId: yz!.id });
  const V = await mkUser(db, '副院长乙', { deptId: R.id, positionId: fyz!.id });
  const a = await mkUser(db, '主任丙', { deptId: A.id, positionId: kzr!.id });
  const ad = await mkUser(db, '副主任丁', { deptId: A.id, positionId: fkzr!.id });
  const a2 = await mkUser(db, '护士长戊', { deptId: A2.id, positionId: hsz!.id });
  const s1 = await mkUser(db, '医生己', { deptId: A1x.id });
  const s2 = await mkUser(db, '护士庚', { deptId: A2.id });
  const b1 = await mkUser(db, '职员辛', { deptId: B.id });
  await DeptLeader.bulkCreate([
    { deptId: R.id, userId: P, kind: 'head' },
    { deptId: A.id, userId: a, kind: 'head' },
    { deptId: A.id, userId: ad, kind: 'deputy' },
    { deptId: A2.id, userId: a2, kind: 'head' },
  ]);
  await LeaderInCharge.bulkCreate([
    { deptId: R.id, userId: P },
    { deptId: A.id, userId: V },
  ]);
  return { db, R, A, A1, A1x, A2, B, P, V, a, ad, a2, s1, s2, b1, positions: { yz: yz!, fyz: fyz!, kzr: kzr!, fkzr: fkzr!, hsz: hsz! } };
}

test('department heads: own head, or the nearest ancestor with one (flagged); deputies stay in their department', async (t) => {
  const h = await smallHospital(t);
  const own = await deptHeads(h.db, h.A2.id);
  t.deepEqual(own.userIds, [h.a2]);
  t.false(own.inherited);
  t.is(own.fromDeptId, h.A2.id);
  t.is(own.explain, 'A2的负责人：护士长戊');

  const up = await deptHeads(h.db, h.A1x.id);
  t.deepEqual(up.userIds, [h.a]);
  t.true(up.inherited);
  t.is(up.fromDeptId, h.A.id);
  t.regex(up.explain, /A1x未设负责人，取上级部门A的负责人：主任丙/);

  t.deepEqual((await deptHeads(h.db, h.B.id)).userIds, [h.P]);
  t.deepEqual((await deptDeputies(h.db, h.A.id)).userIds, [h.ad]);
  const none = await deptDeputies(h.db, h.A2.id);
  t.deepEqual(none.userIds, []);
  t.is(none.explain, 'A2未设副职');
});

test('a disabled head is skipped and the walk goes on up; co-heads come back in leader order', async (t) => {
  const h = await smallHospital(t);
  const { DeptLeader, User } = h.db.models;
  await User.update({ status: 'disabled' }, { where: { id: h.a2 } });
  const r = await deptHeads(h.db, h.A2.id);
  t.deepEqual(r.userIds, [h.a]);
  t.true(r.inherited);
  // two heads: sort decides, not id
  const second = await mkUser(h.db, '主任壬', { deptId: h.A.id });
  await DeptLeader.update({ sort: 5 }, { where: { deptId: h.A.id, userId: h.a } });
  await DeptLeader.create({ deptId: h.A.id, userId: second, kind: 'head', sort: 1 });
  t.deepEqual((await deptHeads(h.db, h.A.id)).userIds, [second, h.a]);
  // everyone up the chain disabled: nobody, said so
  await User.update({ status: 'disabled' }, { where: { id: [h.a, second, h.P] } });
  const nobody = await deptHeads(h.db, h.A1x.id);
  t.deepEqual(nobody.userIds, []);
  t.is(nobody.fromDeptId, null);
  t.is(nobody.explain, 'A1x及其上级部门均未设负责人');
});

test("initiator's department head, with the head-is-initiator case flagged", async (t) => {
  const h = await smallHospital(t);
  const r = await headOfInitiatorDept(h.db, h.s2);
  t.deepEqual(r.userIds, [h.a2]);
  t.false(r.initiatorIsHead);
  t.regex(r.explain, /^发起人护士庚所在部门：A2的负责人：护士长戊$/);
  const self = await headOfInitiatorDept(h.db, h.a2);
  t.deepEqual(self.userIds, [h.a2]);
  t.true(self.initiatorIsHead);
  t.regex(self.explain, /发起人本人即负责人/);
  const inherited = await headOfInitiatorDept(h.db, h.s1);
  t.deepEqual(inherited.userIds, [h.a]);
  t.true(inherited.inherited);
  const homeless = await mkUser(h.db, '无部门');
  const none = await headOfInitiatorDept(h.db, homeless);
  t.deepEqual(none.userIds, []);
  t.regex(none.explain, /没有所属部门/);
});

test('direct superior: department head; a head gets the head above; departments without a head are skipped', async (t) => {
  const h = await smallHospital(t);
  const s2 = await directSuperior(h.db, h.s2);
  t.deepEqual(s2.userIds, [h.a2]);
  t.is(s2.source, 'dept_head');
  t.is(s2.fromDeptId, h.A2.id);
  // the head of A2 is not their own superior: the head of A is
  const a2 = await directSuperior(h.db, h.a2);
  t.deepEqual(a2.userIds, [h.a]);
  t.regex(a2.explain, /本人是A2负责人，取A负责人 主任丙/);
  // A1x and A1 have no head
  const s1 = await directSuperior(h.db, h.s1);
  t.deepEqual(s1.userIds, [h.a]);
  t.regex(s1.explain, /A1x未设负责人，A1未设负责人，取A负责人/);
  t.deepEqual((await directSuperior(h.db, h.a)).userIds, [h.P]);
  // the deputy is not a head: the head of their own department is their superior
  t.deepEqual((await directSuperior(h.db, h.ad)).userIds, [h.a]);
  const top = await directSuperior(h.db, h.P);
  t.deepEqual(top.userIds, []);
  t.is(top.source, 'none');
  t.regex(top.explain, /没有直接上级/);
});

test('direct superior: the explicit one wins; a disabled or self superior falls back to the head chain', async (t) => {
  const h = await smallHospital(t);
  const { User } = h.db.models;
  await User.update({ superiorId: h.V }, { where: { id: h.s2 } });
  const explicit = await directSuperior(h.db, h.s2);
  t.deepEqual(explicit.userIds, [h.V]);
  t.is(explicit.source, 'explicit');
  t.is(explicit.explain, '护士庚的直接上级（指定）：副院长乙');

  await User.update({ status: 'disabled' }, { where: { id: h.V } });
  const fallback = await directSuperior(h.db, h.s2);
  t.deepEqual(fallback.userIds, [h.a2]);
  t.is(fallback.source, 'dept_head');
  t.regex(fallback.explain, /指定的上级副院长乙已停用/);

  await User.update({ superiorId: h.b1 }, { where: { id: h.b1 } });
  const self = await directSuperior(h.db, h.b1);
  t.deepEqual(self.userIds, [h.P]);
  t.regex(self.explain, /指定的上级是本人，已忽略/);
});

test('levels up: N levels, until a rank, both, to the top', async (t) => {
  const h = await smallHospital(t);
  const two = await levelsUp(h.db, h.s2, { levels: 2 });
  t.deepEqual(two.userIds, [h.a2, h.a]);
  t.is(two.stoppedBecause, 'levels');
  t.is(two.explain, '护士庚的逐级上级：护士长戊（护士长） → 主任丙（科主任）；已到 2 级');

  const all = await levelsUp(h.db, h.s2);
  t.deepEqual(all.userIds, [h.a2, h.a, h.P]);
  t.is(all.stoppedBecause, 'top');
  t.deepEqual(
    all.steps.map((s) => s.rank),
    [40, 50, 100],
  );

  const toChief = await levelsUp(h.db, h.s2, { untilRank: 50 });
  t.deepEqual(toChief.userIds, [h.a2, h.a]);
  t.is(toChief.stoppedBecause, 'rank');

  // the first person at or above the rank is included, and the chain stops there
  await h.db.models.User.update({ superiorId: h.V }, { where: { id: h.a } });
  const toVice = await levelsUp(h.db, h.s2, { untilRank: 90 });
  t.deepEqual(toVice.userIds, [h.a2, h.a, h.V]);
  t.deepEqual(
    toVice.steps.map((s) => s.source),
    ['dept_head', 'dept_head', 'explicit'],
  );
  t.is(toVice.stoppedBecause, 'rank');

  // the levels limit comes first
  const one = await levelsUp(h.db, h.s2, { levels: 1, untilRank: 90 });
  t.deepEqual(one.userIds, [h.a2]);
  t.is(one.stoppedBecause, 'levels');

  // nobody reaches the rank: the whole chain, said so
  const never = await levelsUp(h.db, h.s2, { untilRank: 200 });
  t.deepEqual(never.userIds, [h.a2, h.a, h.V, h.P]);
  t.is(never.stoppedBecause, 'top');
  t.regex(never.explain, /途中没有职级 ≥ 200 的人员/);

  // the initiator's own rank does not count: a chief asking for "up to rank 50" gets the one above
  await h.db.models.User.update({ superiorId: null }, { where: { id: h.a } });
  t.deepEqual((await levelsUp(h.db, h.a, { untilRank: 50 })).userIds, [h.P]);
  t.deepEqual((await levelsUp(h.db, h.s2, { levels: 0 })).userIds, []);
  t.deepEqual((await levelsUp(h.db, h.P, { levels: 3 })).userIds, []);
});

test('a loop in explicit superiors ends the chain instead of running forever', async (t) => {
  const h = await smallHospital(t);
  const { User } = h.db.models;
  const x = await mkUser(h.db, '甲', { deptId: h.B.id });
  const y = await mkUser(h.db, '乙', { deptId: h.B.id, superiorId: x });
  const z = await mkUser(h.db, '丙', { deptId: h.B.id, superiorId: y });
  await User.update({ superiorId: z }, { where: { id: x } });
  const r = await levelsUp(h.db, x, { levels: 50 });
  t.deepEqual(r.userIds, [z, y]);
  t.is(r.stoppedBecause, 'cycle');
  t.regex(r.explain, /上级关系出现循环（又回到甲）/);
  // two people naming each other, no limit given
  await User.update({ superiorId: x }, { where: { id: z } });
  await User.update({ superiorId: z }, { where: { id: x } });
  const pair = await levelsUp(h.db, x);
  t.deepEqual(pair.userIds, [z]);
  t.is(pair.stoppedBecause, 'cycle');
});

test('leaders in charge: the department\'s own, else the nearest ancestor\'s; disabled leaders are skipped', async (t) => {
  const h = await smallHospital(t);
  const own = await leadersInCharge(h.db, h.A.id);
  t.deepEqual(own.userIds, [h.V]);
  t.false(own.inherited);
  t.is(own.explain, 'A的分管领导：副院长乙');
  const deep = await leadersInCharge(h.db, h.A1x.id);
  t.deepEqual(deep.userIds, [h.V]);
  t.true(deep.inherited);
  t.is(deep.fromDeptId, h.A.id);
  t.deepEqual((await leadersInCharge(h.db, h.B.id)).userIds, [h.P]);
  await h.db.models.User.update({ status: 'disabled' }, { where: { id: h.V } });
  const after = await leadersInCharge(h.db, h.A1x.id);
  t.deepEqual(after.userIds, [h.P]);
  t.is(after.fromDeptId, h.R.id);
  await h.db.models.LeaderInCharge.destroy({ where: { deptId: h.R.id } });
  const none = await leadersInCharge(h.db, h.A1x.id);
  t.deepEqual(none.userIds, []);
  t.is(none.explain, 'A1x及其上级部门均未设分管领导');
});

test('roles: global holders by membership (primary or secondary), scoped holders where the scope covers the department', async (t) => {
  const h = await smallHospital(t);
  const { Role, UserRole, UserRoleScope, UserDept } = h.db.models;
  const qc = await Role.create({ code: 'qc', name: '质控员', permissions: [] });
  const other = await Role.create({ code: 'other', name: '其他', permissions: [] });
  const g1 = await mkUser(h.db, '全局一', { deptId: h.A2.id, sort: 2 });
  const g2 = await mkUser(h.db, '全局二', { deptId: h.B.id, sort: 1 });
  await UserDept.create({ userId: g2, deptId: h.A2.id });
  const gOff = await mkUser(h.db, '全局停用', { deptId: h.A2.id, status: 'disabled' });
  const scA = await mkUser(h.db, '范围A含下级', { deptId: h.B.id, sort: 3 });
  const scAonly = await mkUser(h.db, '范围仅A', { deptId: h.B.id, sort: 4 });
  const scA1 = await mkUser(h.db, '范围A1', { deptId: h.B.id, sort: 5 });
  const notQc = await mkUser(h.db, '别的角色', { deptId: h.A2.id });
  await UserRole.bulkCreate([
    { userId: g1, roleId: qc.id },
    { userId: g2, roleId: qc.id },
    { userId: gOff, roleId: qc.id },
    { userId: notQc, roleId: other.id },
  ]);
  await UserRoleScope.bulkCreate([
    { userId: scA, roleId: qc.id, deptId: h.A.id, subtree: true },
    { userId: scAonly, roleId: qc.id, deptId: h.A.id, subtree: false },
    { userId: scA1, roleId: qc.id, deptId: h.A1.id, subtree: false },
  ]);

  const everyone = await usersWithRole(h.db, 'qc');
  t.deepEqual(everyone.userIds, [g2, g1, scA, scAonly, scA1], 'all active holders, by sort');
  t.regex(everyone.explain, /具有角色「质控员」的人员：全局二、全局一/);

  // A2: g1 (primary), g2 (secondary), scA (A with subtree covers A2); not scAonly, not scA1
  t.deepEqual((await usersWithRole(h.db, 'qc', { deptId: h.A2.id })).userIds, [g2, g1, scA]);
  // A itself: both scopes on A; nobody holds it globally there
  t.deepEqual((await usersWithRole(h.db, 'qc', { deptId: h.A.id })).userIds, [scA, scAonly]);
  // A and everything below it: scopes inside the subtree count too
  t.deepEqual((await usersWithRole(h.db, 'qc', { deptId: h.A.id, subtree: true })).userIds, [g2, g1, scA, scAonly, scA1]);
  // A1x: only the subtree scope on A reaches it (A1's scope is without subtree)
  t.deepEqual((await usersWithRole(h.db, 'qc', { deptId: h.A1x.id })).userIds, [scA]);
  t.deepEqual((await usersWithRole(h.db, 'qc', { deptId: h.B.id })).userIds, [g2]);
  const r = await usersWithRole(h.db, 'qc', { deptId: h.R.id });
  t.deepEqual(r.userIds, []);
  t.is(r.explain, 'R中没有具有角色「质控员」的在职人员');
  t.is((await usersWithRole(h.db, 'nope')).explain, '角色「nope」不存在');
});

test('posts: primary and secondary departments, with or without the subtree; disabled people skipped', async (t) => {
  const h = await smallHospital(t);
  const { Post, UserDept } = h.db.models;
  const [nurse, doctor] = await Post.bulkCreate([
    { code: 'HLG', name: '护理岗' },
    { code: 'YSG', name: '医师岗' },
  ]);
  const n1 = await mkUser(h.db, '护一', { deptId: h.A2.id, postId: nurse!.id });
  const n2 = await mkUser(h.db, '护二', { deptId: h.B.id, postId: nurse!.id });
  await UserDept.create({ userId: n2, deptId: h.A1.id });
  await mkUser(h.db, '护三', { deptId: h.A2.id, postId: nurse!.id, status: 'disabled' });
  const d1 = await mkUser(h.db, '医一', { deptId: h.A2.id, postId: doctor!.id });
  t.deepEqual((await usersWithPost(h.db, nurse!.id)).userIds, [n1, n2]);
  t.deepEqual((await usersWithPost(h.db, nurse!.id, { deptId: h.A1.id })).userIds, [n2]);
  t.deepEqual((await usersWithPost(h.db, nurse!.id, { deptId: h.A2.id })).userIds, [n1]);
  t.deepEqual((await usersWithPost(h.db, nurse!.id, { deptId: h.A.id })).userIds, []);
  const sub = await usersWithPost(h.db, nurse!.id, { deptId: h.A.id, subtree: true });
  t.deepEqual(sub.userIds, [n1, n2]);
  t.is(sub.explain, 'A（含下级部门）中岗位为「护理岗」的人员：护一、护二');
  t.deepEqual((await usersWithPost(h.db, doctor!.id, { deptId: h.A.id, subtree: true })).userIds, [d1]);
  t.regex((await usersWithPost(h.db, 9999)).explain, /岗位.*不存在/);
});

test('group members: active ones, by sort then id', async (t) => {
  const h = await smallHospital(t);
  const { UserGroup, UserGroupMember } = h.db.models;
  const g = await UserGroup.create({ name: '院感小组', ownerId: null, createdAt: new Date() });
  const m1 = await mkUser(h.db, '组员一', { sort: 2 });
  const m2 = await mkUser(h.db, '组员二', { sort: 1 });
  const m3 = await mkUser(h.db, '组员三', { sort: 1, status: 'disabled' });
  await UserGroupMember.bulkCreate([m1, m2, m3].map((userId) => ({ groupId: g.id, userId })));
  const r = await groupMembers(h.db, g.id);
  t.deepEqual(r.userIds, [m2, m1]);
  t.is(r.explain, '人员组「院感小组」的成员：组员二、组员一');
  const empty = await UserGroup.create({ name: '空组', ownerId: null, createdAt: new Date() });
  t.deepEqual((await groupMembers(h.db, empty.id)).userIds, []);
  t.regex((await groupMembers(h.db, 9999)).explain, /不存在/);
});

test('unknown people and departments resolve to nobody, with a reason', async (t) => {
  const h = await smallHospital(t);
  for (const r of [
    await deptHeads(h.db, 9999),
    await deptDeputies(h.db, 9999),
    await leadersInCharge(h.db, 9999),
    await headOfInitiatorDept(h.db, 9999),
    await directSuperior(h.db, 9999),
    await levelsUp(h.db, 9999, { levels: 2 }),
    await usersWithRole(h.db, 'qc', { deptId: 9999 }),
  ]) {
    t.deepEqual(r.userIds, []);
    t.regex(r.explain, /不存在/);
  }
});

test('resolvers read inside the caller\'s transaction', async (t) => {
  const h = await smallHospital(t);
  await h.db.transaction(async (tx) => {
    await h.db.models.DeptLeader.create({ deptId: h.B.id, userId: h.b1, kind: 'head' }, { transaction: tx });
    t.deepEqual((await deptHeads(h.db, h.B.id, { transaction: tx })).userIds, [h.b1]);
    t.deepEqual((await levelsUp(h.db, h.b1, { transaction: tx })).userIds, [h.P]);
  });
});

test('demo hospital: heads, superiors, the chain to the president, leaders in charge, roles and posts', async (t) => {
  const { db } = await createTestDb(t);
  const { Role, Department, User, Position, Post, DeptLeader, LeaderInCharge, UserDept } = db.models;
  const staffRole = await Role.create({ code: 'staff', name: '普通员工', permissions: [] });
  await db.transaction((tx) => seedDemoHospital(db, tx, { passwordHash: 'x', staffRoleId: staffRole.id, now: new Date('2026-11-25T02:00:00Z') }));
  const dept = async (code: string) => (await Department.findOne({ where: { code } }))!;
  const headOf = async (code: string) => (await DeptLeader.findOne({ where: { deptId: (await dept(code)).id, kind: 'head' } }))!.userId;
  const president = (await User.findOne({ where: { positionId: (await Position.findOne({ where: { code: 'YZ' } }))!.id } }))!;
  const root = await dept('ROOT');

  // 牙体牙髓科: a doctor's head is the chief; the chief's superior is the president (head of the hospital)
  const ytys = await dept('YX-YTYS');
  const doctor = (await User.findOne({ where: { deptId: ytys.id, positionId: null }, order: [['id', 'ASC']] }))!;
  const chief = await headOf('YX-YTYS');
  const h = await headOfInitiatorDept(db, doctor.id);
  t.deepEqual(h.userIds, [chief]);
  t.false(h.inherited);
  t.regex(h.explain, /^发起人.+所在部门：牙体牙髓科的负责人：/);
  t.true((await headOfInitiatorDept(db, chief)).initiatorIsHead);
  t.deepEqual((await directSuperior(db, doctor.id)).userIds, [chief]);
  const chiefUp = await directSuperior(db, chief);
  t.deepEqual(chiefUp.userIds, [president.id]);
  t.is(chiefUp.fromDeptId, root.id);
  t.deepEqual((await directSuperior(db, president.id)).userIds, []);
  t.is((await deptDeputies(db, ytys.id)).userIds.length, 1, 'the head nurse');

  // a ward of 口腔颌面外科: ward head → department chief → president
  const ward = await dept('YX-HMWK-1');
  const nurse = (await User.findOne({ where: { deptId: ward.id, positionId: null }, order: [['id', 'ASC']] }))!;
  const chain = await levelsUp(db, nurse.id);
  t.deepEqual(chain.userIds, [await headOf('YX-HMWK-1'), await headOf('YX-HMWK'), president.id]);
  t.deepEqual(
    chain.steps.map((s) => s.positionName),
    ['科主任', '科主任', '院长'],
  );
  t.deepEqual((await levelsUp(db, nurse.id, { levels: 2 })).userIds, chain.userIds.slice(0, 2));
  const toPresident = await levelsUp(db, nurse.id, { untilRank: 90 });
  t.deepEqual(toPresident.userIds, chain.userIds);
  t.is(toPresident.stoppedBecause, 'rank');

  // 车队 has no leader in charge of its own: 总务科's deputy president
  const zwk = await dept('ZWK');
  const zwkLeader = (await LeaderInCharge.findOne({ where: { deptId: zwk.id } }))!.userId;
  const cd = await leadersInCharge(db, (await dept('CD')).id);
  t.deepEqual(cd.userIds, [zwkLeader]);
  t.true(cd.inherited);
  t.is(cd.fromDeptId, zwk.id);
  t.regex(cd.explain, /^车队未设分管领导，取上级部门总务科的分管领导：/);
  t.deepEqual((await leadersInCharge(db, root.id)).userIds, []);

  // everyone holds `staff`: 总务科 alone has 6, with 车队 and 膳食科 13
  t.is((await usersWithRole(db, 'staff', { deptId: zwk.id })).userIds.length, 6);
  t.is((await usersWithRole(db, 'staff', { deptId: zwk.id, subtree: true })).userIds.length, 13);
  t.is((await usersWithRole(db, 'staff')).userIds.length, await User.count());

  // three 种植科 clinicians also work at 天河: they count there for their post
  const thZzk = await dept('TH-ZZK');
  const secondary = await UserDept.findAll({ where: { deptId: thZzk.id } });
  t.is(secondary.length, 3);
  for (const s of secondary) {
    const person = (await User.findByPk(s.userId))!;
    t.true((await usersWithPost(db, person.postId!, { deptId: thZzk.id })).userIds.includes(person.id));
  }
  // over all posts, 天河种植科 counts its own people and the three part-timers, each once
  let total = 0;
  for (const p of await Post.findAll()) total += (await usersWithPost(db, p.id, { deptId: thZzk.id })).userIds.length;
  t.is(total, (await User.count({ where: { deptId: thZzk.id } })) + 3);
});
