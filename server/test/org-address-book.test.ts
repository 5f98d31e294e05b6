import test from 'ava';
import ExcelJS from 'exceljs';
import type { Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';
import { PERSONAL_MAX } from '../src/org/address-book.ts';

// Issue 3 item 9: the address book (通讯录, R11, R20.7). The directory by campus, department and
// name (pinyin through the people search, R3.17) with the phone visibility rules; personal
// contacts private to their owner; shared books visible through access grants; Excel round trip.

const AB = '/api/v1/org/address-book';

async function signIn(ta: TestApp, username: string): Promise<HttpClient> {
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return c;
}

async function audits(db: Database, action: string) {
  const rows = await db.models.AuditLog.findAll({ where: { action }, order: [['seq', 'ASC']], raw: true });
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail ?? 'null') }));
}

async function dept(ta: TestApp, d: { code: string; name: string; parentId?: number | null; campusId?: number | null; sort?: number }): Promise<number> {
  const { Department } = ta.deps.db.models;
  const parent = d.parentId ? await Department.findByPk(d.parentId) : null;
  const row = await Department.create({ code: d.code, name: d.name, parentId: d.parentId ?? null, campusId: d.campusId ?? null, kind: 'clinical', sort: d.sort ?? 0 });
  await row.update({ path: `${parent?.path ?? '/'}${row.id}/`, level: parent ? parent.level + 1 : 0 });
  return row.id;
}

/**
 * 医院 (no campus) → 院办 (no campus), 口腔科 (院本部) → 一病区; 分院口腔科 (天河分院).
 * People: 张三 (一病区, private mobile), 李四 (口腔科, public mobile, secondary in 院办),
 * 王五 (分院口腔科), 赵六 (一病区, disabled), the org admin in 院办.
 */
async function setup(ta: TestApp) {
  const { Campus, User, UserDept, Post, Position } = ta.deps.db.models;
  const yx = await Campus.create({ code: 'YX', name: '院本部', sort: 0 });
  const th = await Campus.create({ code: 'TH', name: '天河分院', sort: 1 });
  const root = await dept(ta, { code: 'H', name: '医院' });
  const office = await dept(ta, { code: 'YB', name: '院办', parentId: root, sort: 1 });
  const dental = await dept(ta, { code: 'KQ', name: '口腔科', parentId: root, campusId: yx.id, sort: 2 });
  const ward = await dept(ta, { code: 'KQ1', name: '一病区', parentId: dental });
  const branch = await dept(ta, { code: 'TH-KQ', name: '分院口腔科', parentId: root, campusId: th.id, sort: 3 });
  const nurse = await Post.create({ code: 'nurse', name: '护理岗' });
  const head = await Position.create({ code: 'hn', name: '护士长', rank: 1 });
  const person = async (username: string, name: string, roles: string[], f: Record<string, unknown>) => {
    const id = await ta.createUser({ username, name, roles });
    await User.update(f, { where: { id } });
    return id;
  };
  const admin = await person('org.admin', '组织管理员', ['orgadmin'], { employeeNo: 'A001', deptId: office, workPhone: '020-1000' });
  const zhang = await person('zhang', '张三', ['staff'], { employeeNo: 'E100', deptId: ward, workPhone: '020-1111', mobile: '13800000001', mobilePublic: false, postId: nurse.id, positionId: head.id, email: 'zs@h.cn', sort: 2 });
  const li = await person('li', '李四', ['staff'], { employeeNo: 'E101', deptId: dental, workPhone: '020-2222', mobile: '13800000002', mobilePublic: true, sort: 1 });
  const wang = await person('wang', '王五', ['staff'], { employeeNo: 'E102', deptId: branch, workPhone: '020-3333', mobile: '13800000003' });
  const zhao = await person('zhao', '赵六', ['staff'], { employeeNo: 'E103', deptId: ward, workPhone: '020-4444', status: 'disabled' });
  await UserDept.create({ userId: li, deptId: office });
  return { yx: yx.id, th: th.id, root, office, dental, ward, branch, admin, zhang, li, wang, zhao };
}

const names = (items: { name: string }[]) => items.map((i) => i.name);

test('R11/R20.7 directory: campuses and department tree with active member counts', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const c = await signIn(ta, 'zhang');
  const r = await c.get(`${AB}/tree`);
  t.is(r.status, 200);
  const [all, yx, th] = r.body.campuses;
  t.like(all, { id: null, name: '全院', memberCount: 2 }); // admin and 李四 (secondary in 院办)
  t.is(all.departments.length, 1);
  t.like(all.departments[0], { id: o.root, name: '医院', memberCount: 0, totalCount: 4 });
  t.deepEqual(
    all.departments[0].children.map((d: { name: string; memberCount: number }) => [d.name, d.memberCount]),
    [['院办', 2]],
    'campus departments are listed under their campus, not under the hospital-wide root',
  );
  t.like(yx, { id: o.yx, name: '院本部', memberCount: 2 });
  t.like(yx.departments[0], { id: o.dental, memberCount: 1, totalCount: 2 }); // 李四 + 张三 (赵六 disabled)
  t.like(yx.departments[0].children[0], { id: o.ward, memberCount: 1, totalCount: 1 });
  t.like(th, { id: o.th, name: '天河分院', memberCount: 1 });
  t.is(th.departments[0].id, o.branch);
  t.is((await ta.client().get(`${AB}/tree`)).status, 401);
});

test('R11/R20.7 directory by campus, department subtree (secondary members included) and pinyin; disabled people absent', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const c = await signIn(ta, 'wang');
  const list = async (qs: string) => {
    const r = await c.get(`${AB}/directory?${qs}`);
    t.is(r.status, 200, qs);
    return r.body;
  };
  // everyone active, in department tree order (院办 before 口腔科 before 一病区 before 分院口腔科)
  t.deepEqual(names((await list('')).items), ['组织管理员', '李四', '张三', '王五']);
  t.deepEqual(names((await list(`campusId=${o.yx}`)).items), ['李四', '张三']);
  t.deepEqual(names((await list(`campusId=${o.th}`)).items), ['王五']);
  t.deepEqual(names((await list(`deptId=${o.dental}`)).items), ['李四', '张三']);
  t.deepEqual(names((await list(`deptId=${o.dental}&includeSubtree=false`)).items), ['李四']);
  // 李四's secondary department is 院办: listed there too
  t.deepEqual(names((await list(`deptId=${o.office}`)).items), ['组织管理员', '李四']);
  const whole = await list(`deptId=${o.root}&pageSize=2&page=2`);
  t.is(whole.total, 4);
  t.deepEqual(names(whole.items), ['张三', '王五']);
  // the people search does the text matching: pinyin, initials, employee number, characters
  t.deepEqual(names((await list('q=zhangsan')).items), ['张三']);
  t.deepEqual(names((await list('q=zs')).items), ['张三']);
  t.is((await list('q=zs')).items[0].match, 'initials');
  t.deepEqual(names((await list('q=E101')).items), ['李四']);
  t.deepEqual(names((await list(`q=li&campusId=${o.th}`)).items), []);
  // 赵六 is disabled: not in lists, searches or cards
  t.deepEqual(names((await list('q=zhao')).items), []);
  t.deepEqual(names((await list(`deptId=${o.ward}`)).items), ['张三']);
  t.is((await c.get(`${AB}/people/${o.zhao}`)).status, 404);
  t.is((await c.get(`${AB}/people/99999`)).status, 404);
  // a card has everything a caller needs (R20.7: call or text directly)
  const card = await c.get(`${AB}/people/${o.zhang}`);
  t.is(card.status, 200);
  t.like(card.body, {
    name: '张三',
    employeeNo: 'E100',
    dept: { id: o.ward, name: '一病区' },
    campus: { id: o.yx, name: '院本部' },
    post: { name: '护理岗' },
    position: { name: '护士长' },
    workPhone: '020-1111',
    email: 'zs@h.cn',
  });
  t.deepEqual((await c.get(`${AB}/people/${o.li}`)).body.secondaryDepts, [{ id: o.office, name: '院办' }]);
});

test('R11 phone visibility: work phone for all; mobile only when public, to oneself and to org:manage', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const wang = await signIn(ta, 'wang');
  const zhang = await signIn(ta, 'zhang');
  const admin = await signIn(ta, 'org.admin');
  const mobileOf = async (c: HttpClient, id: number) => {
    const card = (await c.get(`${AB}/people/${id}`)).body;
    const row = (await c.get(`${AB}/directory?pageSize=200`)).body.items.find((x: { id: number }) => x.id === id);
    t.deepEqual([row.mobile, row.mobileHidden, row.workPhone], [card.mobile, card.mobileHidden, card.workPhone], 'list and card agree');
    return [card.mobile, card.mobileHidden, card.workPhone];
  };
  t.deepEqual(await mobileOf(wang, o.zhang), [null, true, '020-1111'], 'private mobile hidden from colleagues');
  t.deepEqual(await mobileOf(wang, o.li), ['13800000002', false, '020-2222'], 'public mobile shown');
  t.deepEqual(await mobileOf(zhang, o.zhang), ['13800000001', false, '020-1111'], 'one sees one\'s own');
  t.deepEqual(await mobileOf(admin, o.zhang), ['13800000001', false, '020-1111'], 'org:manage sees all');
  // the search route keeps its own (picker) shape: no phone numbers at all
  const hit = (await wang.get('/api/v1/org/people/search?q=zhangsan')).body.items[0];
  t.false('mobile' in hit);
  // a personal contact referring to a colleague follows the same rule
  const ref = await wang.post(`${AB}/personal`, { personId: o.zhang, note: '病区护士长' });
  t.is(ref.status, 201);
  t.like(ref.body, { kind: 'internal', name: '张三', organisation: '一病区', title: '护士长', phones: [{ label: '办公电话', number: '020-1111' }] });
  t.like(ref.body.person, { mobile: null, mobileHidden: true, active: true });
});

test('R11 personal address book: CRUD for the owner only (others 404), limits, stale version 409, audited', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const zhang = await signIn(ta, 'zhang');
  const wang = await signIn(ta, 'wang');
  const created = await zhang.post(`${AB}/personal`, {
    name: '陈医生',
    organisation: '市第一人民医院',
    title: '主任医师',
    phones: [
      { label: '手机', number: '139 0000 0000' },
      { label: '办公', number: '020-8888-1234' },
    ],
    email: 'chen@example.cn',
    tags: ['外院专家', '会诊', '会诊'],
    note: '周三门诊',
  });
  t.is(created.status, 201);
  t.like(created.body, { kind: 'external', name: '陈医生', tags: ['外院专家', '会诊'], version: 0, person: null });
  const id = created.body.id;
  await zhang.post(`${AB}/personal`, { name: '供应商小刘', organisation: '某器械公司', tags: ['供应商'] });
  await zhang.post(`${AB}/personal`, { personId: o.li });

  // the owner's list: search by pinyin, organisation, phone digits, tag
  const list = async (c: HttpClient, qs = '') => (await c.get(`${AB}/personal?${qs}`)).body;
  t.is((await list(zhang)).total, 3);
  t.deepEqual((await list(zhang)).tags, ['供应商', '会诊', '外院专家'].sort((a, b) => a.localeCompare(b, 'zh-Hans-CN')));
  t.deepEqual(names((await list(zhang, 'q=chen')).items), ['陈医生']);
  t.deepEqual(names((await list(zhang, 'q=cys')).items), ['陈医生']);
  t.deepEqual(names((await list(zhang, `q=${encodeURIComponent('器械')}`)).items), ['供应商小刘']);
  t.deepEqual(names((await list(zhang, 'q=88881234')).items), ['陈医生']);
  t.deepEqual(names((await list(zhang, `tag=${encodeURIComponent('供应商')}`)).items), ['供应商小刘']);
  t.deepEqual(names((await list(zhang, 'q=lisi')).items), ['李四']);

  // nobody else sees or touches them
  t.is((await list(wang)).total, 0);
  t.is((await wang.get(`${AB}/personal/${id}`)).status, 404);
  t.is((await wang.send('PATCH', `${AB}/personal/${id}`, { note: 'x', version: 0 })).status, 404);
  t.is((await wang.send('DELETE', `${AB}/personal/${id}`)).status, 404);
  const admin = await signIn(ta, 'org.admin');
  t.is((await admin.get(`${AB}/personal/${id}`)).status, 404, 'not even org:manage');

  // optimistic version
  const edited = await zhang.send('PATCH', `${AB}/personal/${id}`, { note: '周四门诊', version: 0 });
  t.is(edited.status, 200);
  t.is(edited.body.version, 1);
  t.is(edited.body.note, '周四门诊');
  const stale = await zhang.send('PATCH', `${AB}/personal/${id}`, { note: '过期编辑', version: 0 });
  t.is(stale.status, 409);
  t.is(stale.body.code, 'VERSION_CONFLICT');
  t.regex(stale.headers.get('content-type') ?? '', /problem\+json/);
  t.is(stale.body.detail, '该联系人已被他人修改，请刷新后重新编辑');
  t.is((await zhang.get(`${AB}/personal/${id}`)).body.note, '周四门诊');

  // internal references: the same person once; contact fields follow the person, not editable
  const again = await zhang.post(`${AB}/personal`, { personId: o.li });
  t.is(again.status, 409);
  t.is(again.body.detail, '该院内人员已在通讯录中');
  const liRef = (await list(zhang, 'q=lisi')).items[0];
  const noEdit = await zhang.send('PATCH', `${AB}/personal/${liRef.id}`, { phones: [], version: liRef.version });
  t.is(noEdit.status, 400);
  t.deepEqual(noEdit.body.errors, [{ path: 'phones', message: '院内人员的姓名和联系方式随人员信息自动更新，不能修改' }]);
  await ta.deps.db.models.User.update({ workPhone: '020-9999' }, { where: { id: o.li } });
  t.deepEqual((await zhang.get(`${AB}/personal/${liRef.id}`)).body.phones[0], { label: '办公电话', number: '020-9999' }, 'details stay current');
  await ta.deps.db.models.User.update({ status: 'disabled' }, { where: { id: o.li } });
  t.like((await zhang.get(`${AB}/personal/${liRef.id}`)).body, { name: '李四', phones: [], email: null, person: { id: o.li, active: false } });

  t.is((await zhang.send('DELETE', `${AB}/personal/${id}`)).status, 204);
  t.is((await zhang.get(`${AB}/personal/${id}`)).status, 404);
  t.is((await audits(ta.deps.db, 'addressbook.personal.create')).length, 3);
  t.deepEqual((await audits(ta.deps.db, 'addressbook.personal.update'))[0]!.detail.after.note, '周四门诊');
  t.like((await audits(ta.deps.db, 'addressbook.personal.delete'))[0]!.detail, { before: { name: '陈医生' }, after: null });

  // limit per person, with a clear message
  const { AddressBookEntry } = ta.deps.db.models;
  const have = await AddressBookEntry.count({ where: { ownerId: o.wang } });
  await AddressBookEntry.bulkCreate(
    Array.from({ length: PERSONAL_MAX - have }, (_, i) => ({ ownerId: o.wang, bookId: null, personId: null, name: `联系人${i}`, organisation: null, title: null, phones: [], email: null, note: null, tags: [], createdBy: o.wang, updatedBy: o.wang })),
  );
  const full = await wang.post(`${AB}/personal`, { name: '再加一个' });
  t.is(full.status, 409);
  t.is(full.body.code, 'ADDRESS_BOOK_FULL');
  t.is(full.body.detail, `个人通讯录最多 ${PERSONAL_MAX} 位联系人，现有 ${PERSONAL_MAX} 位，请先删除不再需要的联系人`);
  t.is((await zhang.post(`${AB}/personal`, { name: '别人的不受影响' })).status, 201);
});

test('R11 validation: problem+json in Chinese with field paths; nothing written', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const zhang = await signIn(ta, 'zhang');
  const bad = await zhang.post(`${AB}/personal`, {
    name: '',
    phones: [{ label: '手机', number: 'abc' }, { number: '123456' }],
    email: 'not-an-email',
    tags: ['x'.repeat(21)],
    extra: 1,
  });
  t.is(bad.status, 400);
  t.regex(bad.headers.get('content-type') ?? '', /problem\+json/);
  t.is(bad.body.code, 'VALIDATION_FAILED');
  t.regex(bad.body.detail, /^请求内容校验失败/);
  const paths = bad.body.errors.map((e: { path: string }) => e.path).sort();
  t.deepEqual(paths, ['email', 'extra', 'name', 'phones[0].number', 'phones[1].label', 'tags[0]'].sort());
  for (const e of bad.body.errors) t.regex(e.message, /[\u4e00-\u9fff]/, e.path);
  t.is(bad.body.errors.find((e: { path: string }) => e.path === 'phones[0].number').message, '电话号码只能包含数字、空格和 + - ( ) # * , 转');

  const neither = await zhang.post(`${AB}/personal`, { note: '只有备注' });
  t.is(neither.status, 400);
  t.deepEqual(neither.body.errors, [{ path: 'name', message: '请填写姓名，或选择院内人员（personId）' }]);
  const both = await zhang.post(`${AB}/personal`, { personId: o.li, name: '李四', phones: [] });
  t.is(both.status, 400);
  t.deepEqual(
    both.body.errors.map((e: { path: string }) => e.path),
    ['name', 'phones'],
  );
  const gone = await zhang.post(`${AB}/personal`, { personId: o.zhao });
  t.deepEqual(gone.body.errors, [{ path: 'personId', message: '院内人员不存在或已停用' }]);
  const noVersion = await zhang.send('PATCH', `${AB}/personal/1`, { note: 'x' });
  t.is(noVersion.status, 400);
  t.deepEqual(noVersion.body.errors, [{ path: 'version', message: '缺少版本号 version（编辑前读取到的版本）' }]);
  const q = await zhang.get(`${AB}/directory?deptId=abc&pageSize=999&foo=1`);
  t.is(q.status, 400);
  t.deepEqual(q.body.errors.map((e: { path: string }) => e.path).sort(), ['query.deptId', 'query.foo', 'query.pageSize']);
  const unknownDept = await zhang.get(`${AB}/directory?deptId=99999`);
  t.is(unknownDept.status, 400);
  t.deepEqual(unknownDept.body.errors, [{ path: 'query.deptId', message: '部门不存在' }]);
  t.is(await ta.deps.db.models.AddressBookEntry.count(), 0);
});

test('R11 shared books: kept by addressbook:manage, visible only to granted subjects (department subtree, group); revoked → invisible', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const admin = await signIn(ta, 'org.admin');
  const zhang = await signIn(ta, 'zhang'); // 一病区, under 口腔科
  const li = await signIn(ta, 'li'); // 口腔科
  const wang = await signIn(ta, 'wang'); // 分院口腔科

  // staff may not create or change books
  const denied = await zhang.post(`${AB}/shared`, { name: '外院专家' });
  t.is(denied.status, 403);
  const book = await admin.post(`${AB}/shared`, { name: '外院专家', description: '会诊专家联系方式' });
  t.is(book.status, 201);
  t.like(book.body, { name: '外院专家', entryCount: 0, version: 0, canManage: true });
  const id = book.body.id;
  t.is((await admin.post(`${AB}/shared`, { name: '外院专家' })).status, 409);
  const entry = await admin.post(`${AB}/shared/${id}/entries`, { name: '周教授', organisation: '中山大学附属口腔医院', phones: [{ label: '手机', number: '13900000000' }] });
  t.is(entry.status, 201);
  await admin.post(`${AB}/shared/${id}/entries`, { personId: o.zhang });

  // nobody sees it before it is shared
  const visible = async (c: HttpClient) => names((await c.get(`${AB}/shared`)).body.items);
  for (const c of [zhang, li, wang]) {
    t.deepEqual(await visible(c), []);
    t.is((await c.get(`${AB}/shared/${id}`)).status, 404);
    t.is((await c.get(`${AB}/shared/${id}/entries`)).status, 404);
    t.is((await c.get(`${AB}/shared/${id}/entries/${entry.body.id}`)).status, 404);
    t.is((await c.get(`${AB}/shared/${id}/export`)).status, 404);
  }
  t.deepEqual(await visible(admin), ['外院专家'], 'the keepers see every book');

  // share with 口腔科 and everything below it
  const toDept = await admin.post(`${AB}/shared/${id}/shares`, { subjectType: 'dept', subjectId: o.dental, subtree: true });
  t.is(toDept.status, 201);
  t.like(toDept.body, { resourceType: 'addressbook', resourceId: String(id), action: 'view', effect: 'allow', subjectName: '口腔科' });
  t.deepEqual(await visible(zhang), ['外院专家'], 'subtree: 一病区 is below 口腔科');
  t.deepEqual(await visible(li), ['外院专家']);
  t.deepEqual(await visible(wang), []);
  const entries = await zhang.get(`${AB}/shared/${id}/entries`);
  t.is(entries.status, 200);
  t.deepEqual(names(entries.body.items), ['张三', '周教授']);
  t.like(entries.body.items[0].person, { mobile: '13800000001', mobileHidden: false }, 'the viewer\'s own mobile');
  const asLi = (await li.get(`${AB}/shared/${id}/entries`)).body.items[0];
  t.like(asLi.person, { mobile: null, mobileHidden: true }, 'internal entries keep the mobile rule');
  t.is((await li.send('PATCH', `${AB}/shared/${id}/entries/${entry.body.id}`, { note: 'x', version: 0 })).status, 403, 'readers cannot edit');

  // share with a group: its members see it
  const group = await admin.post('/api/v1/org/groups', { name: '分院联络', shared: true, memberIds: [o.wang] });
  const toGroup = await admin.post(`${AB}/shared/${id}/shares`, { subjectType: 'group', subjectId: group.body.id });
  t.is(toGroup.status, 201);
  t.deepEqual(await visible(wang), ['外院专家']);
  t.is((await wang.get(`${AB}/shared/${id}`)).body.entryCount, 2);
  const shares = await admin.get(`${AB}/shared/${id}/shares`);
  t.deepEqual(shares.body.items.map((g: { subjectType: string }) => g.subjectType).sort(), ['dept', 'group']);

  // revoked → invisible again
  t.is((await admin.send('DELETE', `${AB}/shared/${id}/shares/${toGroup.body.id}`)).status, 204);
  t.deepEqual(await visible(wang), []);
  t.is((await wang.get(`${AB}/shared/${id}/entries`)).status, 404);
  t.is((await admin.send('DELETE', `${AB}/shared/${id}/shares/${toGroup.body.id}`)).status, 404);
  // a group member removed from the group loses it too (the access service follows group changes)
  await admin.post(`${AB}/shared/${id}/shares`, { subjectType: 'group', subjectId: group.body.id });
  t.deepEqual(await visible(wang), ['外院专家']);
  await admin.put(`/api/v1/org/groups/${group.body.id}/members`, { memberIds: [] });
  t.deepEqual(await visible(wang), []);

  // bad share requests are refused in Chinese
  const badShare = await admin.post(`${AB}/shared/${id}/shares`, { subjectType: 'dept' });
  t.is(badShare.status, 400);
  t.regex(badShare.body.detail, /请指定要授权的部门/);
  t.is((await admin.post(`${AB}/shared/99999/shares`, { subjectType: 'everyone' })).status, 404);

  // edits: optimistic version on entries and books
  const e1 = await admin.send('PATCH', `${AB}/shared/${id}/entries/${entry.body.id}`, { title: '主任医师', version: 0 });
  t.is(e1.status, 200);
  t.is((await admin.send('PATCH', `${AB}/shared/${id}/entries/${entry.body.id}`, { title: '教授', version: 0 })).status, 409);
  t.is((await admin.send('PATCH', `${AB}/shared/${id}`, { name: '外院专家库', version: 0 })).body.name, '外院专家库');
  const staleBook = await admin.send('PATCH', `${AB}/shared/${id}`, { name: '又改', version: 0 });
  t.is(staleBook.status, 409);
  t.is(staleBook.body.detail, '该通讯录已被他人修改，请刷新后重新编辑');
  // an entry is reached only through its own book
  const other = await admin.post(`${AB}/shared`, { name: '供应商' });
  t.is((await admin.get(`${AB}/shared/${other.body.id}/entries/${entry.body.id}`)).status, 404);

  // deleting a book takes its entries and its shares with it
  t.is((await admin.send('DELETE', `${AB}/shared/${id}`)).status, 204);
  t.is(await ta.deps.db.models.AddressBookEntry.count({ where: { bookId: id } }), 0);
  t.is(await ta.deps.db.models.AccessGrant.count({ where: { resourceType: 'addressbook', resourceId: String(id) } }), 0);
  t.deepEqual(await visible(li), []);
  t.like((await audits(ta.deps.db, 'addressbook.book.delete'))[0]!.detail.before, { name: '外院专家库', entries: 2 });
  t.is((await audits(ta.deps.db, 'addressbook.entry.create')).length, 2);
  t.is((await audits(ta.deps.db, 'addressbook.entry.update')).length, 1);
});

async function upload(c: HttpClient, buf: Buffer | Uint8Array, name = 'contacts.xlsx'): Promise<number> {
  const r = await c.upload('/api/v1/files', { name, bytes: buf });
  if (r.status !== 201) throw new Error(`upload: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id as number;
}

test('R11 Excel: export a personal book, import it into a shared book with a dry run (row/column/reason) and an all-or-nothing run', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const admin = await signIn(ta, 'org.admin');
  const zhang = await signIn(ta, 'zhang');
  await zhang.post(`${AB}/personal`, { name: '陈医生', organisation: '市一院', phones: [{ label: '手机', number: '13900000000' }, { label: '办公', number: '020-1234' }], tags: ['专家'] });
  await zhang.post(`${AB}/personal`, { personId: o.li, note: '同事' });
  const exported = await zhang.get(`${AB}/personal-export`);
  t.is(exported.status, 200);
  t.regex(exported.headers.get('content-type') ?? '', /spreadsheetml/);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(exported.bytes as unknown as ArrayBuffer);
  const ws = wb.getWorksheet('联系人')!;
  t.deepEqual((ws.getRow(1).values as unknown[]).slice(1), ['姓名', '单位', '职务', '电话', '邮箱', '标签', '备注', '院内工号']);
  t.deepEqual([1, 2, 4, 6].map((n) => ws.getRow(2).getCell(n).value), ['陈医生', '市一院', '手机:13900000000；办公:020-1234', '专家']);
  t.is(ws.getRow(3).getCell(8).value, 'E101');
  t.is((await audits(ta.deps.db, 'addressbook.personal.export')).length, 1);

  const book = (await admin.post(`${AB}/shared`, { name: '导入测试' })).body;
  // a clean file: dry run writes nothing, the real run writes everything
  const fileId = await upload(admin, exported.bytes);
  const dry = await admin.post(`${AB}/shared/${book.id}/import?dryRun=true`, { fileId });
  t.is(dry.status, 200);
  t.like(dry.body, { dryRun: true, ok: true, rows: 2, added: 2, problems: [] });
  t.is(await ta.deps.db.models.AddressBookEntry.count({ where: { bookId: book.id } }), 0);
  const real = await admin.post(`${AB}/shared/${book.id}/import?dryRun=false`, { fileId });
  t.like(real.body, { dryRun: false, ok: true, added: 2 });
  const rows = (await admin.get(`${AB}/shared/${book.id}/entries`)).body.items;
  t.deepEqual(
    rows.map((r: { name: string; kind: string }) => [r.name, r.kind]),
    [
      ['陈医生', 'external'],
      ['李四', 'internal'],
    ],
  );
  t.deepEqual(rows[0].phones, [
    { label: '手机', number: '13900000000' },
    { label: '办公', number: '020-1234' },
  ]);
  t.is((await audits(ta.deps.db, 'addressbook.entry.import')).length, 1);

  // a file with problems: every one by row and column, nothing written even on a real run
  const bad = new ExcelJS.Workbook();
  const s = bad.addWorksheet('联系人');
  s.addRow(['姓名', '单位', '电话', '邮箱', '院内工号']);
  s.addRow(['好人', '某院', '手机:13800000000', null, null]);
  s.addRow([null, '某院', null, null, null]);
  s.addRow(['坏电话', null, '手机:abc', 'bad-mail', null]);
  s.addRow([null, null, null, null, 'E999']);
  s.addRow([null, null, null, null, 'E101']); // already in the book
  const badId = await upload(admin, Buffer.from(await bad.xlsx.writeBuffer()));
  for (const dryRun of ['true', 'false']) {
    const r = await admin.post(`${AB}/shared/${book.id}/import?dryRun=${dryRun}`, { fileId: badId });
    t.is(r.status, 200);
    t.false(r.body.ok);
    t.is(r.body.added, 0);
    t.deepEqual(r.body.problems, [
      { row: 3, column: '姓名', reason: '姓名不能为空（或填写院内工号）' },
      { row: 4, column: '电话', reason: '电话号码只能包含数字、空格和 + - ( ) # * , 转' },
      { row: 4, column: '邮箱', reason: '邮箱格式不正确' },
      { row: 5, column: '院内工号', reason: '院内工号「E999」不存在' },
      { row: 6, column: '院内工号', reason: '该院内人员已在通讯录中' },
    ]);
  }
  t.is(await ta.deps.db.models.AddressBookEntry.count({ where: { bookId: book.id } }), 2);
  // staff import into their own book only; shared-book import needs addressbook:manage
  t.is((await zhang.post(`${AB}/shared/${book.id}/import?dryRun=true`, { fileId: badId })).status, 403);
  const own = await zhang.post(`${AB}/personal-import?dryRun=true`, { fileId: await upload(zhang, exported.bytes) });
  t.like(own.body, { ok: false, problems: [{ row: 3, column: '院内工号', reason: '该院内人员已在通讯录中' }] });
  t.is((await zhang.get(`${AB}/template`)).status, 200);
});

test('R11 races: parallel additions never overfill a personal book; parallel edits of one version → one wins, the other 409', async (t) => {
  const ta = await startTestApp(t);
  const o = await setup(ta);
  const zhang = await signIn(ta, 'zhang');
  const { AddressBookEntry } = ta.deps.db.models;
  await AddressBookEntry.bulkCreate(
    Array.from({ length: PERSONAL_MAX - 2 }, (_, i) => ({ ownerId: o.zhang, bookId: null, personId: null, name: `联系人${i}`, organisation: null, title: null, phones: [], email: null, note: null, tags: [], createdBy: o.zhang, updatedBy: o.zhang })),
  );
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => zhang.post(`${AB}/personal`, { name: `并发${i}` })));
  const statuses = results.map((r) => r.status);
  t.true(statuses.filter((s) => s === 201).length <= 2, statuses.join());
  for (const r of results) if (r.status !== 201) t.is(r.status, 409, JSON.stringify(r.body));
  t.true((await AddressBookEntry.count({ where: { ownerId: o.zhang } })) <= PERSONAL_MAX);

  const e = (await zhang.get(`${AB}/personal?q=${encodeURIComponent('联系人1')}&pageSize=1`)).body.items[0];
  const edits = await Promise.all([zhang.send('PATCH', `${AB}/personal/${e.id}`, { note: '甲', version: e.version }), zhang.send('PATCH', `${AB}/personal/${e.id}`, { note: '乙', version: e.version })]);
  t.deepEqual(edits.map((r) => r.status).sort(), [200, 409]);
  t.is((await zhang.get(`${AB}/personal/${e.id}`)).body.version, e.version + 1);
});
