import test, { type ExecutionContext } from 'ava';
import { openDatabase } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import { AccessService, type GrantInput } from '../src/access/grants.ts';
import { DepartmentService } from '../src/org/departments.ts';

// Issue 3 item 8: the access-control service. Subjects (person, department with and without its
// subtree, role incl. scoped roles, post, group, everyone), inheritance down the resource tree,
// explicit deny, manage implies the rest, admin ranges, cache invalidation, the grants API.

const SYSTEM = { id: null, name: 'test' };

async function setup(t: ExecutionContext) {
  const ta = await startTestApp(t);
  const access = ta.deps.access;
  access.registerResourceType({ type: 'folder', name: '文件夹' });
  access.registerResourceType({ type: 'doc', name: '文档', actions: ['view', 'edit', 'print'] });
  return { ta, access };
}

let seq = 0;
async function person(ta: TestApp, p: { deptId?: number | null; postId?: number | null; status?: 'active' | 'disabled' } = {}): Promise<number> {
  const u = await ta.deps.db.models.User.create({
    username: `ag${++seq}`,
    employeeNo: null,
    name: `人员${seq}`,
    deptId: p.deptId ?? null,
    postId: p.postId ?? null,
    status: p.status ?? 'active',
  });
  return u.id;
}

async function dept(ta: TestApp, code: string, parentId: number | null = null): Promise<number> {
  const { Department } = ta.deps.db.models;
  const parent = parentId ? await Department.findByPk(parentId) : null;
  const row = await Department.create({ code, name: `部门${code}`, parentId, campusId: null, kind: 'clinical', sort: 0 });
  await row.update({ path: `${parent?.path ?? '/'}${row.id}/`, level: parent ? parent.level + 1 : 0 });
  return row.id;
}

const grant = (ta: TestApp, g: Omit<GrantInput, 'effect' | 'action'> & { action?: string; effect?: 'allow' | 'deny' }) =>
  ta.deps.access.createGrant({ action: 'view', effect: 'allow', ...g }, SYSTEM);

/** hospital → surgery → ward, and internal medicine beside surgery */
async function tree(ta: TestApp) {
  const hospital = await dept(ta, 'H');
  const surgery = await dept(ta, 'S', hospital);
  const ward = await dept(ta, 'W', surgery);
  const medicine = await dept(ta, 'M', hospital);
  return { hospital, surgery, ward, medicine };
}

test('each subject kind: person, department with and without subtree, role, post, group, everyone', async (t) => {
  const { ta, access } = await setup(t);
  const { hospital, surgery, ward, medicine } = await tree(ta);
  const { Post, Role, UserRole, UserGroup, UserGroupMember, UserDept } = ta.deps.db.models;
  const post = await Post.create({ code: 'nurse', name: '护理岗' });
  const role = await Role.create({ code: 'reviewer', name: '审阅人', permissions: [] });
  const group = await UserGroup.create({ name: '质控小组', ownerId: null, createdAt: new Date() });

  const inSurgery = await person(ta, { deptId: surgery });
  const inWard = await person(ta, { deptId: ward });
  const inMedicine = await person(ta, { deptId: medicine });
  const nurse = await person(ta, { deptId: medicine, postId: post.id });
  const reviewer = await person(ta, {});
  await UserRole.create({ userId: reviewer, roleId: role.id });
  const member = await person(ta, {});
  await UserGroupMember.create({ groupId: group.id, userId: member });
  const secondary = await person(ta, { deptId: medicine });
  await UserDept.create({ userId: secondary, deptId: ward });
  const nobody = await person(ta, {});
  const all = { inSurgery, inWard, inMedicine, nurse, reviewer, member, secondary, nobody };

  const docs = { byPerson: 1, deptOnly: 2, deptTree: 3, byRole: 4, byPost: 5, byGroup: 6, everyone: 7, root: 8 };
  await grant(ta, { resourceType: 'doc', resourceId: docs.byPerson, subjectType: 'user', subjectId: inMedicine });
  await grant(ta, { resourceType: 'doc', resourceId: docs.deptOnly, subjectType: 'dept', subjectId: surgery, subtree: false });
  await grant(ta, { resourceType: 'doc', resourceId: docs.deptTree, subjectType: 'dept', subjectId: surgery });
  await grant(ta, { resourceType: 'doc', resourceId: docs.byRole, subjectType: 'role', subjectId: role.id });
  await grant(ta, { resourceType: 'doc', resourceId: docs.byPost, subjectType: 'post', subjectId: post.id });
  await grant(ta, { resourceType: 'doc', resourceId: docs.byGroup, subjectType: 'group', subjectId: group.id });
  await grant(ta, { resourceType: 'doc', resourceId: docs.everyone, subjectType: 'everyone' });
  await grant(ta, { resourceType: 'doc', resourceId: docs.root, subjectType: 'dept', subjectId: hospital });

  const who = async (doc: number) => {
    const out: string[] = [];
    for (const [name, id] of Object.entries(all)) if (await access.can(id, 'view', { type: 'doc', id: doc })) out.push(name);
    return out;
  };
  t.deepEqual(await who(docs.byPerson), ['inMedicine']);
  t.deepEqual(await who(docs.deptOnly), ['inSurgery'], 'without subtree: the department’s own people only');
  t.deepEqual(await who(docs.deptTree), ['inSurgery', 'inWard', 'secondary'], 'with subtree: the ward below it too, and a secondary member of the ward');
  t.deepEqual(await who(docs.byRole), ['reviewer']);
  t.deepEqual(await who(docs.byPost), ['nurse']);
  t.deepEqual(await who(docs.byGroup), ['member']);
  t.deepEqual(await who(docs.everyone), Object.keys(all));
  t.deepEqual(await who(docs.root), ['inSurgery', 'inWard', 'inMedicine', 'nurse', 'secondary'], 'the whole hospital, people without a department not included');
  t.false(await access.can(inMedicine, 'edit', { type: 'doc', id: docs.byPerson }), 'view does not give edit');
  t.false(await access.can(inMedicine, 'view', { type: 'doc', id: 999 }), 'no grant: no');

  // disabled people may do nothing, not even what everyone may
  await ta.deps.db.models.User.update({ status: 'disabled' }, { where: { id: nobody } });
  t.false(await access.can(nobody, 'view', { type: 'doc', id: docs.everyone }));
  t.false(await access.can(987654, 'view', { type: 'doc', id: docs.everyone }), 'unknown people neither');
});

test('scoped roles hold only for resources in their departments (with or without subtree)', async (t) => {
  const { ta, access } = await setup(t);
  const { surgery, ward, medicine } = await tree(ta);
  const { Role, UserRoleScope } = ta.deps.db.models;
  const role = await Role.create({ code: 'qc', name: '质控员', permissions: [] });
  const tree1 = await person(ta);
  const exact = await person(ta);
  await UserRoleScope.create({ userId: tree1, roleId: role.id, deptId: surgery, subtree: true });
  await UserRoleScope.create({ userId: exact, roleId: role.id, deptId: surgery, subtree: false });
  // folders hang below departments; the role is granted on every folder
  for (const [folder, d] of [[1, surgery], [2, ward], [3, medicine]] as const) {
    await access.setParent({ type: 'folder', id: folder }, { type: 'dept', id: d });
    await grant(ta, { resourceType: 'folder', resourceId: folder, subjectType: 'role', subjectId: role.id });
  }
  await grant(ta, { resourceType: 'doc', resourceId: 9, subjectType: 'role', subjectId: role.id });
  const can = (u: number, folder: number) => access.can(u, 'view', { type: 'folder', id: folder });
  t.true(await can(tree1, 1));
  t.true(await can(tree1, 2), 'ward is below surgery');
  t.false(await can(tree1, 3));
  t.true(await can(exact, 1));
  t.false(await can(exact, 2), 'without subtree: not the ward');
  t.false(await can(exact, 3));
  t.false(await access.can(tree1, 'view', { type: 'doc', id: 9 }), 'a resource outside every department is outside every scope');
});

test('grants are inherited down the resource tree (department → folder → document); deny anywhere on the path wins', async (t) => {
  const { ta, access } = await setup(t);
  const { surgery, ward } = await tree(ta);
  const alice = await person(ta, { deptId: ward });
  const bob = await person(ta, { deptId: ward });
  await access.setParent({ type: 'folder', id: 'f1' }, { type: 'dept', id: ward });
  await access.setParent({ type: 'folder', id: 'f2' }, { type: 'folder', id: 'f1' });
  await access.setParent({ type: 'doc', id: 'd1' }, { type: 'folder', id: 'f2' });
  const d1 = { type: 'doc', id: 'd1' };

  t.false(await access.can(alice, 'view', d1));
  await grant(ta, { resourceType: 'dept', resourceId: surgery, subjectType: 'dept', subjectId: surgery });
  t.true(await access.can(alice, 'view', d1), 'a grant on a department above reaches documents in its folders');
  t.true(await access.can(alice, 'view', { type: 'folder', id: 'f2' }));

  // a deny on the middle folder for Bob only
  const deny = await grant(ta, { resourceType: 'folder', resourceId: 'f2', subjectType: 'user', subjectId: bob, effect: 'deny' });
  t.false(await access.can(bob, 'view', d1));
  t.true(await access.can(bob, 'view', { type: 'folder', id: 'f1' }), 'the deny does not reach upwards');
  t.true(await access.can(alice, 'view', d1), 'nor other people');
  // a nearer allow does not re-open what a farther deny closed
  await grant(ta, { resourceType: 'doc', resourceId: 'd1', subjectType: 'user', subjectId: bob });
  t.false(await access.can(bob, 'view', d1));
  await access.deleteGrant(deny.id, SYSTEM);
  t.true(await access.can(bob, 'view', d1));
  // and a deny on the document itself beats the allow inherited from far above
  await grant(ta, { resourceType: 'doc', resourceId: 'd1', subjectType: 'dept', subjectId: ward, effect: 'deny', action: 'edit' });
  await grant(ta, { resourceType: 'folder', resourceId: 'f1', subjectType: 'everyone', action: 'edit' });
  t.false(await access.can(alice, 'edit', d1));
  t.true(await access.can(alice, 'edit', { type: 'folder', id: 'f2' }));

  // moving a document re-parents it: the old chain no longer counts
  await access.setParent({ type: 'doc', id: 'd1' }, null);
  t.false(await access.can(alice, 'view', d1));
  // a loop is refused
  const loop = await t.throwsAsync(access.setParent({ type: 'folder', id: 'f1' }, { type: 'folder', id: 'f2' }));
  t.regex(loop!.message, /自己的下级/);
});

test('manage implies every other action; a deny of an action also denies manage, a deny of manage only manage', async (t) => {
  const { ta, access } = await setup(t);
  const u = await person(ta);
  const v = await person(ta);
  await grant(ta, { resourceType: 'doc', resourceId: 1, subjectType: 'user', subjectId: u, action: 'manage' });
  for (const a of ['view', 'edit', 'print', 'manage']) t.true(await access.can(u, a, { type: 'doc', id: 1 }), a);
  await grant(ta, { resourceType: 'doc', resourceId: 1, subjectType: 'user', subjectId: u, action: 'print', effect: 'deny' });
  t.false(await access.can(u, 'print', { type: 'doc', id: 1 }));
  t.false(await access.can(u, 'manage', { type: 'doc', id: 1 }), 'who may not print may not manage');
  t.true(await access.can(u, 'view', { type: 'doc', id: 1 }));

  await grant(ta, { resourceType: 'doc', resourceId: 2, subjectType: 'user', subjectId: v, action: 'manage' });
  await grant(ta, { resourceType: 'doc', resourceId: 2, subjectType: 'everyone', action: 'manage', effect: 'deny' });
  t.false(await access.can(v, 'manage', { type: 'doc', id: 2 }));
  t.true(await access.can(v, 'edit', { type: 'doc', id: 2 }), 'deny manage leaves the lesser actions');
});

test('admin ranges: a manage grant on a department covers it and everything below it, nothing beside or above', async (t) => {
  const { ta, access } = await setup(t);
  const { hospital, surgery, ward, medicine } = await tree(ta);
  const sub = await dept(ta, 'W2', ward);
  const admin = await person(ta);
  t.false(await access.managesDept(admin, surgery));
  await grant(ta, { resourceType: 'dept', resourceId: surgery, subjectType: 'user', subjectId: admin, action: 'manage' });
  t.true(await access.managesDept(admin, surgery));
  t.true(await access.managesDept(admin, ward));
  t.true(await access.managesDept(admin, sub));
  t.false(await access.managesDept(admin, medicine));
  t.false(await access.managesDept(admin, hospital));
  t.deepEqual((await access.managedDeptIds(admin)).sort((a, b) => a - b), [surgery, ward, sub].sort((a, b) => a - b));
  // a carve-out: the sub-ward is managed by someone else
  await grant(ta, { resourceType: 'dept', resourceId: sub, subjectType: 'user', subjectId: admin, action: 'manage', effect: 'deny' });
  t.false(await access.managesDept(admin, sub));
  t.deepEqual((await access.managedDeptIds(admin)).sort((a, b) => a - b), [surgery, ward].sort((a, b) => a - b));
  // a department moved under the range comes into it, at once
  await new DepartmentService(ta.deps.db, ta.clock).update(medicine, { parentId: surgery }, SYSTEM);
  t.true(await access.managesDept(admin, medicine));
  t.deepEqual((await access.managedDeptIds(admin)).sort((a, b) => a - b), [surgery, ward, medicine].sort((a, b) => a - b));
  // list filters for other resource types
  await access.setParent({ type: 'folder', id: 'a' }, { type: 'dept', id: ward });
  await access.setParent({ type: 'folder', id: 'b' }, { type: 'dept', id: hospital });
  await access.setParent({ type: 'doc', id: 'x' }, { type: 'folder', id: 'a' });
  t.deepEqual(await access.allowedIds(admin, 'view', 'folder'), ['a']);
  t.deepEqual(await access.allowedIds(admin, 'edit', 'doc'), ['x']);
  t.deepEqual(await access.filter(admin, 'view', 'folder', ['a', 'b', 'c']), ['a']);
});

test('the cache answers warm calls and is invalidated by grant and organisation changes on the next call', async (t) => {
  const { ta, access } = await setup(t);
  const { surgery, medicine } = await tree(ta);
  const { User, Role, UserRole, UserRoleScope, UserGroup, UserGroupMember, UserDept, Post } = ta.deps.db.models;
  const u = await person(ta, { deptId: medicine });
  const doc = (id: number) => ({ type: 'doc', id });
  await grant(ta, { resourceType: 'doc', resourceId: 1, subjectType: 'dept', subjectId: surgery });
  t.false(await access.can(u, 'view', doc(1)));

  // the cache is what answers: a write around the models is not seen until invalidate()
  await ta.deps.db.sequelize.query(`UPDATE ${ta.deps.db.sequelize.getQueryInterface().quoteIdentifier('user')} SET dept_id = ${surgery} WHERE id = ${u}`);
  t.false(await access.can(u, 'view', doc(1)), 'cached');
  await access.invalidate();
  t.true(await access.can(u, 'view', doc(1)));

  // department: an instance save and a bulk update
  const row = (await User.findByPk(u))!;
  await row.update({ deptId: medicine });
  t.false(await access.can(u, 'view', doc(1)));
  await User.update({ deptId: surgery }, { where: { id: u } });
  t.true(await access.can(u, 'view', doc(1)));
  await User.update({ deptId: medicine }, { where: { id: u } });
  t.false(await access.can(u, 'view', doc(1)));

  // secondary department, inside a transaction: seen once committed
  await ta.deps.db.transaction(async (tx) => {
    await UserDept.create({ userId: u, deptId: surgery }, { transaction: tx });
    t.false(await access.can(u, 'view', doc(1)), 'not before commit');
  });
  t.true(await access.can(u, 'view', doc(1)));
  await UserDept.destroy({ where: { userId: u } });
  t.false(await access.can(u, 'view', doc(1)));

  // grants added and removed
  const g = await grant(ta, { resourceType: 'doc', resourceId: 1, subjectType: 'user', subjectId: u });
  t.true(await access.can(u, 'view', doc(1)));
  await access.deleteGrant(g.id, SYSTEM);
  t.false(await access.can(u, 'view', doc(1)));

  // role, global and scoped
  const role = await Role.create({ code: 'r1', name: '角色一', permissions: [] });
  await grant(ta, { resourceType: 'doc', resourceId: 2, subjectType: 'role', subjectId: role.id });
  t.false(await access.can(u, 'view', doc(2)));
  await UserRole.create({ userId: u, roleId: role.id });
  t.true(await access.can(u, 'view', doc(2)));
  await UserRole.destroy({ where: { userId: u, roleId: role.id } });
  t.false(await access.can(u, 'view', doc(2)));
  await access.setParent({ type: 'folder', id: 'f' }, { type: 'dept', id: surgery });
  await grant(ta, { resourceType: 'folder', resourceId: 'f', subjectType: 'role', subjectId: role.id });
  t.false(await access.can(u, 'view', { type: 'folder', id: 'f' }));
  await UserRoleScope.create({ userId: u, roleId: role.id, deptId: surgery, subtree: true });
  t.true(await access.can(u, 'view', { type: 'folder', id: 'f' }));

  // post
  const post = await Post.create({ code: 'p1', name: '岗位一' });
  await grant(ta, { resourceType: 'doc', resourceId: 3, subjectType: 'post', subjectId: post.id });
  t.false(await access.can(u, 'view', doc(3)));
  await User.update({ postId: post.id }, { where: { id: u } });
  t.true(await access.can(u, 'view', doc(3)));

  // group membership, and the group deleted
  const group = await UserGroup.create({ name: '组一', ownerId: null, createdAt: new Date() });
  await grant(ta, { resourceType: 'doc', resourceId: 4, subjectType: 'group', subjectId: group.id });
  t.false(await access.can(u, 'view', doc(4)));
  await UserGroupMember.bulkCreate([{ groupId: group.id, userId: u }]);
  t.true(await access.can(u, 'view', doc(4)));
  await UserGroupMember.destroy({ where: { groupId: group.id } });
  t.false(await access.can(u, 'view', doc(4)));

  // a department moved into the granted subtree
  const unit = await dept(ta, 'U', medicine);
  const v = await person(ta, { deptId: unit });
  t.false(await access.can(v, 'view', doc(1)));
  await new DepartmentService(ta.deps.db, ta.clock).update(unit, { parentId: surgery }, SYSTEM);
  t.true(await access.can(v, 'view', doc(1)));

  // the answer from the database alone agrees
  for (const id of [1, 2, 3, 4]) t.is(await access.canUncached(u, 'view', doc(id)), await access.can(u, 'view', doc(id)), `doc ${id}`);
});

test('another instance drops its cache through the bus', async (t) => {
  const { ta, access } = await setup(t);
  const { surgery } = await tree(ta);
  // a second instance: its own connection pool and models, sharing only the database and the bus
  const other = openDatabase({ url: ta.tdb.url, dataDir: ta.tdb.dataDir, auditKey: Buffer.alloc(32) });
  t.teardown(() => other.close());
  const remote = new AccessService({ db: other, bus: ta.deps.bus, clock: ta.clock });
  t.teardown(() => remote.dispose());
  remote.registerResourceType({ type: 'doc', name: '文档' });
  const u = await person(ta);
  await grant(ta, { resourceType: 'doc', resourceId: 1, subjectType: 'dept', subjectId: surgery });
  t.false(await remote.can(u, 'view', { type: 'doc', id: 1 }));
  await ta.deps.db.models.User.update({ deptId: surgery }, { where: { id: u } });
  t.true(await remote.can(u, 'view', { type: 'doc', id: 1 }), 'a person moved on instance A is seen on instance B');
  const g = await grant(ta, { resourceType: 'doc', resourceId: 1, subjectType: 'user', subjectId: u, effect: 'deny' });
  t.false(await remote.can(u, 'view', { type: 'doc', id: 1 }), 'a grant made on A is seen on B');
  await access.deleteGrant(g.id, SYSTEM);
  t.true(await remote.can(u, 'view', { type: 'doc', id: 1 }));
});

test('API: the security administrator lists, creates and deletes grants, audited; staff get 403; bad input 400 in Chinese', async (t) => {
  const { ta } = await setup(t);
  const { surgery, ward } = await tree(ta);
  await ta.createUser({ username: 'sec', roles: ['secadmin'] });
  const staffId = await ta.createUser({ username: 'staff1' });
  await ta.deps.db.models.User.update({ deptId: ward }, { where: { id: staffId } });
  const sec = ta.client();
  t.is((await sec.login('sec', USER_PASSWORD)).status, 200);
  const staff = ta.client();
  t.is((await staff.login('staff1', USER_PASSWORD)).status, 200);
  const base = '/api/v1/access/grants';

  for (const r of [await staff.get(`${base}?resourceType=dept&resourceId=${surgery}`), await staff.post(base, {}), await staff.send('DELETE', `${base}/1`), await staff.get('/api/v1/access/resource-types')]) {
    t.is(r.status, 403);
    t.is(r.body.code, 'FORBIDDEN');
  }

  const types = await sec.get('/api/v1/access/resource-types');
  t.is(types.status, 200);
  t.truthy(types.body.items.find((x: { type: string }) => x.type === 'dept'));

  const created = await sec.post(base, { resourceType: 'dept', resourceId: surgery, subjectType: 'dept', subjectId: surgery, action: 'view', effect: 'allow' });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.like(created.body, { resourceType: 'dept', resourceId: String(surgery), subjectType: 'dept', subjectId: surgery, subtree: true, subjectName: '部门S', effect: 'allow' });
  t.true(await ta.deps.access.can(staffId, 'view', { type: 'dept', id: ward }), 'the ward inherits from surgery');
  const all = await sec.post(base, { resourceType: 'doc', resourceId: 'a-1', subjectType: 'everyone', action: 'print', effect: 'deny' });
  t.is(all.status, 201);
  t.is(all.body.subjectId, null);
  t.is(all.body.subjectName, '全体人员');

  const listed = await sec.get(`${base}?resourceType=dept&resourceId=${ward}`);
  t.is(listed.status, 200);
  t.deepEqual(listed.body.items, []);
  t.is(listed.body.inherited.length, 1);
  t.deepEqual(listed.body.inherited[0].from, { type: 'dept', id: String(surgery) });
  const own = await sec.get(`${base}?resourceType=dept&resourceId=${surgery}`);
  t.is(own.body.items[0].id, created.body.id);

  const dup = await sec.post(base, { resourceType: 'dept', resourceId: surgery, subjectType: 'dept', subjectId: surgery, action: 'view', effect: 'deny' });
  t.is(dup.status, 409);
  t.is(dup.body.code, 'GRANT_EXISTS');
  t.regex(dup.body.detail, /已有同一操作的授权（允许）/);

  const bad: [unknown, string, RegExp][] = [
    [{ resourceType: 'dept', resourceId: surgery, subjectType: 'robot', subjectId: 1, action: 'view', effect: 'allow' }, 'VALIDATION_FAILED', /授权对象类型无效/],
    [{ resourceType: 'spaceship', resourceId: 1, subjectType: 'user', subjectId: staffId, action: 'view', effect: 'allow' }, 'UNKNOWN_RESOURCE_TYPE', /未知的资源类型「spaceship」/],
    [{ resourceType: 'Dept!', resourceId: 1, subjectType: 'user', subjectId: staffId, action: 'view', effect: 'allow' }, 'VALIDATION_FAILED', /资源类型只能包含/],
    [{ resourceType: 'dept', resourceId: surgery, subjectType: 'user', subjectId: staffId, action: 'fly', effect: 'allow' }, 'UNKNOWN_ACTION', /没有操作「fly」/],
    [{ resourceType: 'dept', resourceId: surgery, subjectType: 'user', subjectId: staffId, action: 'view', effect: 'maybe' }, 'VALIDATION_FAILED', /allow（允许）或 deny/],
    [{ resourceType: 'dept', resourceId: surgery, subjectType: 'user', subjectId: 999999, action: 'view', effect: 'allow' }, 'SUBJECT_NOT_FOUND', /人员（编号 999999）不存在/],
    [{ resourceType: 'dept', resourceId: 999999, subjectType: 'user', subjectId: staffId, action: 'view', effect: 'allow' }, 'RESOURCE_NOT_FOUND', /部门（编号 999999）不存在/],
    [{ resourceType: 'dept', resourceId: surgery, subjectType: 'role', action: 'view', effect: 'allow' }, 'INVALID_SUBJECT', /请指定要授权的角色/],
    [{ resourceType: 'dept', resourceId: surgery, subjectType: 'everyone', subjectId: 3, action: 'view', effect: 'allow' }, 'INVALID_SUBJECT', /全体人员/],
    [{ resourceType: 'dept', resourceId: surgery, subjectType: 'user', subjectId: staffId, subtree: true, action: 'view', effect: 'allow' }, 'INVALID_SUBJECT', /只有授权给部门/],
  ];
  for (const [body, code, detail] of bad) {
    const r = await sec.post(base, body);
    t.is(r.status, 400, JSON.stringify(body));
    t.is(r.body.code, code, JSON.stringify(body));
    t.regex(r.body.detail, detail, JSON.stringify(r.body));
  }
  t.is((await sec.get(`${base}?resourceType=nope&resourceId=1`)).status, 400);

  t.is((await sec.send('DELETE', `${base}/${created.body.id}`)).status, 204);
  t.false(await ta.deps.access.can(staffId, 'view', { type: 'dept', id: ward }), 'revoked at once');
  const gone = await sec.send('DELETE', `${base}/${created.body.id}`);
  t.is(gone.status, 404);
  t.regex(gone.body.detail, /授权不存在/);

  const { AuditLog } = ta.deps.db.models;
  const rows = await AuditLog.findAll({ where: { objectType: 'access_grant' }, order: [['seq', 'ASC']], raw: true });
  t.deepEqual(
    rows.map((r) => r.action),
    ['access.grant.create', 'access.grant.create', 'access.grant.delete'],
  );
  const createDetail = JSON.parse(rows[0]!.detail!);
  t.is(createDetail.before, null);
  t.like(createDetail.after, { resourceType: 'dept', resourceId: String(surgery), subjectType: 'dept', subjectId: surgery, subtree: true, action: 'view', effect: 'allow' });
  t.is(rows[0]!.actorName, 'sec');
  const deleteDetail = JSON.parse(rows[2]!.detail!);
  t.like(deleteDetail.before, { subjectType: 'dept', effect: 'allow' });
  t.is(deleteDetail.after, null);
});
