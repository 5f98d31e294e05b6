import test, { type ExecutionContext } from 'ava';
import ExcelJS from 'exceljs';
import { inUnitOfWork, seedDemoHospital, type Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import { handoverRegistry } from '../src/org/people.ts';
import type { HttpClient, Res } from './helpers/client.ts';

// Issue 3 item 7 (R12.0, M7) and "Bad input": Excel template, export and import through HTTP. A dry
// run lists every problem by sheet, row, column and a Chinese reason and writes nothing; the real
// run is all or nothing, matches departments by code and people by employee number, and applying
// the same file twice changes nothing the second time; export → import is lossless.

const BASE = '/api/v1/org/excel';
const DEPT_H = ['编码', '名称', '上级编码', '类型', '院区编码', '排序', '负责人工号', '副职工号', '分管领导工号'];
const PEOPLE_H = ['工号', '姓名', '性别', '主部门编码', '兼职部门编码', '岗位编码', '职称编码', '职务编码', '直接上级工号', '手机', '办公电话', '邮箱', '状态', '接替人工号'];
/** a workbook from before leadership and handover columns existed (R12.0, M7) */
const OLD_DEPT_H = DEPT_H.slice(0, 6);
const OLD_PEOPLE_H = PEOPLE_H.slice(0, 13);
const ROLE_H = ['工号', '角色编码', '范围部门编码', '含下级'];

type Cell = string | number | Date | boolean | null;
type Sheets = Record<string, Cell[][]>;

async function workbook(sheets: Sheets, tweak?: (wb: ExcelJS.Workbook) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(name);
    for (const r of rows) ws.addRow(r);
  }
  tweak?.(wb);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function readBook(buf: Buffer): Promise<Record<string, Cell[][]>> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ExcelJS.Buffer);
  const out: Record<string, Cell[][]> = {};
  for (const ws of wb.worksheets) {
    const rows: Cell[][] = [];
    ws.eachRow((row) => rows.push((row.values as Cell[]).slice(1).map((v) => (v === undefined ? null : v))));
    out[ws.name] = rows;
  }
  return out;
}

async function orgAdmin(ta: TestApp): Promise<HttpClient> {
  await ta.createUser({ username: 'org.admin', name: '组织管理员', roles: ['orgadmin'] });
  const c = ta.client();
  const r = await c.login('org.admin', USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login failed: ${r.status}`);
  return c;
}

async function upload(c: HttpClient, buf: Buffer, name = 'org.xlsx'): Promise<number> {
  const r = await c.upload('/api/v1/files', { name, bytes: buf });
  if (r.status !== 201) throw new Error(`upload: ${r.status} ${r.text}`);
  return r.body.id;
}

async function runImport(c: HttpClient, buf: Buffer, dryRun: boolean): Promise<Res<any>> {
  const fileId = await upload(c, buf);
  return c.post(`${BASE}/import?dryRun=${dryRun}`, { fileId });
}

/** The reference data a hospital maintains before importing: campuses, posts, titles, positions. */
async function reference(db: Database): Promise<void> {
  const { Campus, Post, Title, Position } = db.models;
  await Campus.bulkCreate([
    { code: 'YX', name: '越秀院区' },
    { code: 'TH', name: '天河院区' },
  ]);
  await Post.bulkCreate([
    { code: 'YSG', name: '医师岗' },
    { code: 'HLG', name: '护理岗' },
  ]);
  await Title.bulkCreate([{ code: 'ZRYS', name: '主任医师', grade: 'senior' }]);
  await Position.bulkCreate([{ code: 'KZR', name: '科主任', rank: 50 }]);
}

const VALID: Sheets = {
  部门: [
    DEPT_H,
    // a child before its parent: order in the file does not matter
    ['NK-1', '内科一病区', 'NK', '临床', 'YX', 2],
    ['ROOT', '口腔医院', null, '行政', null, 0],
    ['NK', '内科', 'ROOT', '临床', 'YX', 1],
    ['YWB', '医务部', 'ROOT', '行政', null, 3],
  ],
  人员: [
    PEOPLE_H,
    // employee numbers typed as numbers (10001.0 in Excel) are read as text
    [10001, '张三', '男', 'NK', 'YWB', 'YSG', 'ZRYS', 'KZR', null, '13800000001', '020-1234', 'zhang@example.com', '在职'],
    ['10002', '李四', '女', 'NK-1', null, 'HLG', null, null, 10001, null, null, null, '在职'],
    ['10003', '王五', null, 'YWB', 'NK,NK-1', null, null, null, '10001', null, null, null, '停用'],
  ],
  角色: [ROLE_H, ['10001', 'orgadmin', null, null], ['10002', 'staff', null, null], ['10002', 'orgadmin', 'NK', '否']],
};

async function orgState(db: Database) {
  const { Department, User, UserDept, UserRole, UserRoleScope, AuditLog } = db.models;
  return {
    depts: await Department.findAll({ order: [['id', 'ASC']], raw: true }),
    users: await User.findAll({ order: [['id', 'ASC']], raw: true }),
    secondary: await UserDept.findAll({ order: [['userId', 'ASC'], ['deptId', 'ASC']], raw: true }),
    roles: await UserRole.findAll({ order: [['userId', 'ASC'], ['roleId', 'ASC']], raw: true }),
    scopes: await UserRoleScope.findAll({ order: [['id', 'ASC']], raw: true }),
    audit: await AuditLog.count({ where: { action: ['org.import', 'org.person.create', 'org.person.update', 'org.department.create', 'org.department.update', 'org.person.roles'] } }),
  };
}

async function seedDemo(ta: TestApp): Promise<void> {
  const staffRole = (await ta.deps.db.models.Role.findOne({ where: { code: 'staff' } }))!;
  await inUnitOfWork(ta.deps.db, { id: null, name: 'test' }, ta.clock.now(), (uow) =>
    seedDemoHospital(ta.deps.db, uow.t, { passwordHash: 'x', staffRoleId: staffRole.id, now: uow.now }),
  );
}

type Problem = { sheet: string; row: number; column: string; cell?: string; reason: string };

/** A dry run that must find `expect` (sheet, row, column and a reason matching the pattern) and change nothing. */
async function expectProblems(t: ExecutionContext, ta: TestApp, c: HttpClient, buf: Buffer, expect: [string, number, string, RegExp][]): Promise<Problem[]> {
  const before = await orgState(ta.deps.db);
  for (const dryRun of [true, false]) {
    const r = await runImport(c, buf, dryRun);
    t.is(r.status, 200, r.text);
    const rep = r.body.report;
    t.false(rep.ok);
    t.false(rep.applied);
    t.is(r.body.status, dryRun ? 'done' : 'failed');
    const problems = rep.problems as Problem[];
    for (const [sheet, row, column, reason] of expect) {
      t.true(
        problems.some((p) => p.sheet === sheet && p.row === row && p.column === column && reason.test(p.reason)),
        `expected ${sheet}!${row} ${column} ${reason} in ${JSON.stringify(problems, null, 1)}`,
      );
    }
    for (const p of problems) t.regex(p.reason, /[\u4e00-\u9fff]/);
    t.deepEqual(await orgState(ta.deps.db), before, 'nothing changed');
    if (!dryRun) return problems;
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------

test('template downloads with the three sheets and their Chinese headers; staff get 403 everywhere', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const r = await c.get(`${BASE}/template`);
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /spreadsheetml/);
  t.regex(r.headers.get('content-disposition') ?? '', /attachment/);
  const book = await readBook(r.bytes);
  t.deepEqual(book['部门'], [DEPT_H]);
  t.deepEqual(book['人员'], [PEOPLE_H]);
  t.deepEqual(book['角色'], [ROLE_H]);
  t.truthy(book['说明']);
  // the empty template imports cleanly and changes nothing
  const dry = await runImport(c, r.bytes, true);
  t.true(dry.body.report.ok);
  t.is(dry.body.report.changes, 0);

  await ta.createUser({ username: 'staff.a', roles: ['staff'] });
  const s = ta.client();
  await s.login('staff.a', USER_PASSWORD);
  t.is((await s.get(`${BASE}/template`)).status, 403);
  t.is((await s.get(`${BASE}/export`)).status, 403);
  const fileId = await upload(s, r.bytes);
  t.is((await s.post(`${BASE}/import?dryRun=true`, { fileId })).status, 403);
  t.is((await s.post(`${BASE}/import?dryRun=false`, { fileId })).status, 403);
  t.is((await ta.client().get(`${BASE}/template`)).status, 401);
  // someone else's upload cannot be imported
  t.is((await c.post(`${BASE}/import?dryRun=true`, { fileId })).status, 404);
});

test('a valid file: the dry run counts and writes nothing; the real run writes everything; a second run changes nothing', async (t) => {
  const ta = await startTestApp(t);
  const db = ta.deps.db;
  await reference(db);
  const c = await orgAdmin(ta);
  const buf = await workbook(VALID);
  const before = await orgState(db);

  const dry = await runImport(c, buf, true);
  t.is(dry.status, 200, dry.text);
  t.is(dry.body.status, 'done');
  t.deepEqual(dry.body.report.problems, []);
  t.deepEqual(dry.body.report.counts, {
    departments: { created: 4, updated: 0, unchanged: 0 },
    people: { created: 3, updated: 0, unchanged: 0 },
    roles: { added: 4, removed: 0 },
    leadership: { updated: 0 },
    handovers: 0,
  });
  t.deepEqual(await orgState(db), before, 'a dry run writes nothing');

  const real = await runImport(c, buf, false);
  t.is(real.status, 200, real.text);
  t.is(real.body.status, 'done');
  t.true(real.body.report.applied);
  t.deepEqual(real.body.report.counts, dry.body.report.counts);
  t.is(real.body.percent, 100);

  const { Department, User, UserDept, UserRole, UserRoleScope, Role, Campus, AuditLog } = db.models;
  const depts = new Map((await Department.findAll({ raw: true })).map((d) => [d.code, d]));
  const root = depts.get('ROOT')!;
  const nk = depts.get('NK')!;
  const nk1 = depts.get('NK-1')!;
  t.is(root.path, `/${root.id}/`);
  t.is(nk.parentId, root.id);
  t.is(nk1.path, `/${root.id}/${nk.id}/${nk1.id}/`);
  t.is(nk1.level, 2);
  t.is(nk1.kind, 'clinical');
  t.is(nk1.sort, 2);
  t.is(nk1.campusId, (await Campus.findOne({ where: { code: 'YX' } }))!.id);
  const people = new Map((await User.findAll({ where: { employeeNo: ['10001', '10002', '10003'] }, raw: true })).map((u) => [u.employeeNo, u]));
  const zhang = people.get('10001')!;
  t.is(zhang.name, '张三');
  t.is(zhang.username, '10001');
  t.is(zhang.passwordHash, null, 'imported people have no password: WeCom or a reset');
  t.is(zhang.deptId, nk.id);
  t.is(zhang.mobile, '13800000001');
  t.is(zhang.pinyin, 'zhangsan');
  t.is(people.get('10002')!.superiorId, zhang.id);
  t.is(people.get('10003')!.status, 'disabled');
  t.deepEqual(
    (await UserDept.findAll({ where: { userId: people.get('10003')!.id }, raw: true })).map((x) => x.deptId).sort(),
    [nk.id, nk1.id].sort(),
  );
  const role = async (code: string) => (await Role.findOne({ where: { code } }))!.id;
  t.deepEqual((await UserRole.findAll({ where: { userId: zhang.id }, raw: true })).map((x) => x.roleId), [await role('orgadmin')]);
  const scope = (await UserRoleScope.findAll({ where: { userId: people.get('10002')!.id }, raw: true }))[0]!;
  t.like({ ...scope, subtree: !!scope.subtree }, { roleId: await role('orgadmin'), deptId: nk.id, subtree: false });
  // people not named in the 角色 sheet get the ordinary staff role
  t.deepEqual((await UserRole.findAll({ where: { userId: people.get('10003')!.id }, raw: true })).map((x) => x.roleId), [await role('staff')]);
  t.is(await AuditLog.count({ where: { action: 'org.import' } }), 1);
  t.is(await AuditLog.count({ where: { action: 'org.person.create' } }), 3);
  t.is(await AuditLog.count({ where: { action: 'org.department.create' } }), 4);

  // the imported people are findable at once (search follows the writes)
  const found = await c.get(`/api/v1/org/people/search?q=${encodeURIComponent('张三')}`);
  t.is(found.status, 200);
  t.true(JSON.stringify(found.body).includes('10001'));

  // idempotent: the same file again changes nothing and says so
  const afterFirst = await orgState(db);
  const again = await runImport(c, buf, false);
  t.is(again.body.status, 'done');
  t.is(again.body.report.changes, 0);
  t.deepEqual(again.body.report.counts, {
    departments: { created: 0, updated: 0, unchanged: 4 },
    people: { created: 0, updated: 0, unchanged: 3 },
    roles: { added: 0, removed: 0 },
    leadership: { updated: 0 },
    handovers: 0,
  });
  const afterSecond = await orgState(db);
  t.deepEqual(afterSecond.depts, afterFirst.depts);
  t.deepEqual(afterSecond.users, afterFirst.users);
  t.deepEqual(afterSecond.secondary, afterFirst.secondary);
  t.deepEqual(afterSecond.roles, afterFirst.roles);
  t.deepEqual(afterSecond.scopes, afterFirst.scopes);

  // an update: a changed name and a move are counted as updates, the rest unchanged
  const edited = structuredClone(VALID);
  edited['人员']![2]![1] = '李思';
  edited['部门']![4]![2] = 'NK';
  const upd = await runImport(c, await workbook(edited), false);
  t.like(upd.body.report.counts, { departments: { created: 0, updated: 1, unchanged: 3 }, people: { created: 0, updated: 1, unchanged: 2 } });
  const ywb = (await Department.findOne({ where: { code: 'YWB' }, raw: true }))!;
  t.is(ywb.path, `/${root.id}/${nk.id}/${ywb.id}/`);
  t.is((await User.findByPk(people.get('10002')!.id, { raw: true }))!.pinyin, 'lisi');
});

test('progress: a job id is returned at once with wait=0 and polled until done', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const fileId = await upload(c, await workbook(VALID));
  const r = await c.post(`${BASE}/import?dryRun=false&wait=0`, { fileId });
  t.true([200, 202].includes(r.status), r.text);
  let job = r.body;
  for (let i = 0; i < 200 && job.status !== 'done' && job.status !== 'failed'; i++) {
    await new Promise((res) => setTimeout(res, 25));
    const g = await c.get(`${BASE}/import/${r.body.id}`);
    t.is(g.status, 200);
    job = g.body;
    t.true(job.percent >= 0 && job.percent <= 100);
  }
  t.is(job.status, 'done');
  t.is(job.report.counts.people.created, 3);
  // only the person who started it sees it
  await ta.createUser({ username: 'org.other', roles: ['orgadmin'] });
  const o = ta.client();
  await o.login('org.other', USER_PASSWORD);
  t.is((await o.get(`${BASE}/import/${r.body.id}`)).status, 404);
});

test('export → import is lossless on the demo hospital', async (t) => {
  const ta = await startTestApp(t);
  await seedDemo(ta);
  const db = ta.deps.db;
  // someone holds a role the organisation administrator may not give: it exports and imports back
  const sysadmin = (await db.models.Role.findOne({ where: { code: 'sysadmin' } }))!;
  await db.models.UserRole.create({ userId: (await db.models.User.findOne({ where: { employeeNo: '10005' } }))!.id, roleId: sysadmin.id });
  const c = await orgAdmin(ta);
  const e1 = await c.get(`${BASE}/export`);
  t.is(e1.status, 200);
  const book1 = await readBook(e1.bytes);
  t.is(book1['部门']!.length - 1, await db.models.Department.count());
  t.is(book1['人员']!.length - 1, await db.models.User.count({ where: { employeeNo: { [(await import('@oa/db')).Op.ne]: null } } }));
  t.true(book1['角色']!.length > 1);

  // the export imports back as "nothing to change"
  const dry = await runImport(c, e1.bytes, true);
  t.deepEqual(dry.body.report.problems, []);
  t.is(dry.body.report.changes, 0, JSON.stringify(dry.body.report.counts));

  // change the organisation in every way the file describes…
  const { Department, User, UserDept, UserRole, UserRoleScope, Role } = db.models;
  const someone = (await User.findOne({ where: { employeeNo: '10010' } }))!;
  const other = (await User.findOne({ where: { employeeNo: '10020' } }))!;
  await someone.update({ name: '改了名', mobile: null, gender: '男', status: 'disabled', superiorId: other.id });
  const ward = (await Department.findOne({ where: { code: 'YX-HMWK-1' } }))!;
  const campusless = (await Department.findOne({ where: { code: 'CWB' } }))!;
  await ward.update({ name: '改名病区', sort: 99 });
  await campusless.update({ kind: 'clinical' });
  await UserDept.destroy({ where: {} });
  await UserDept.create({ userId: other.id, deptId: ward.id });
  const orgadmin = (await Role.findOne({ where: { code: 'orgadmin' } }))!;
  await UserRole.create({ userId: other.id, roleId: orgadmin.id });
  await UserRoleScope.create({ userId: someone.id, roleId: orgadmin.id, deptId: ward.id, subtree: true });

  // …and importing the first export brings it all back
  const real = await runImport(c, e1.bytes, false);
  t.is(real.body.status, 'done', real.text);
  t.true(real.body.report.changes > 0);
  const e2 = await c.get(`${BASE}/export`);
  t.deepEqual(await readBook(e2.bytes), book1);
  t.is((await runImport(c, e2.bytes, false)).body.report.changes, 0);
});

// ---- bad input -------------------------------------------------------------------------------------

test('wrong, missing and duplicated headers are named by column; no sheet at all is refused', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const buf = await workbook({
    部门: [['编码', '部门名称', '类型'], ['A', '甲', '临床']],
    人员: [['工号', '姓名', '主部门编码', '工号'], ['1', '张三', 'A', '1']],
  });
  await expectProblems(t, ta, c, buf, [
    ['部门', 1, '部门名称', /无法识别的列名「部门名称」/],
    ['部门', 1, '名称', /缺少必填列「名称」/],
    ['人员', 1, '工号', /出现了两次/],
  ]);
  const none = await workbook({ Sheet1: [['a', 'b']] });
  const r = await runImport(c, none, true);
  t.regex(r.body.report.problems[0].reason, /没有「部门」「人员」「角色」/);
});

test('merged cells in the data area are reported with their range', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const buf = await workbook(VALID, (wb) => wb.getWorksheet('人员')!.mergeCells('D2:D3'));
  await expectProblems(t, ta, c, buf, [['人员', 2, '', /D2:D3 是合并单元格/]]);
});

test('numbers and dates where text is expected: whole numbers are read as text, dates and decimals are reported', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const sheets = structuredClone(VALID);
  sheets['人员']![1]![9] = new Date(Date.UTC(2024, 0, 5)); // 手机 typed as a date
  sheets['人员']![2]![0] = 10002.5; // 工号 a decimal
  sheets['人员']![3]![10] = 2 ** 64; // 办公电话 beyond Excel's precision (18446744073709551616)
  const problems = await expectProblems(t, ta, c, await workbook(sheets), [
    ['人员', 2, '手机', /应填文本，单元格是日期（2024-01-05）/],
    ['人员', 3, '工号', /小数 10002\.5/],
    ['人员', 4, '办公电话', /精度/],
  ]);
  t.is(problems.find((p) => p.column === '手机')!.cell, 'J2');
  // 10001 typed as a number was accepted as the text "10001": no problem about it
  t.false(problems.some((p) => p.row === 2 && p.column === '工号'));
});

test('unknown codes are reported one by one', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const sheets = structuredClone(VALID);
  sheets['部门']![1]![4] = 'XX'; // 院区
  sheets['部门']![1]![3] = '门诊'; // 类型
  sheets['人员']![1]![3] = 'NOPE'; // 主部门
  sheets['人员']![1]![4] = 'YWB,GONE'; // 兼职
  sheets['人员']![2]![5] = 'P9'; // 岗位
  sheets['人员']![2]![8] = '99999'; // 上级
  sheets['角色']![1]![1] = 'nobody'; // 角色
  sheets['角色']!.push(['10001', 'sysadmin', null, null]); // not the importer's to give
  await expectProblems(t, ta, c, await workbook(sheets), [
    ['部门', 2, '院区编码', /院区编码「XX」在系统中不存在/],
    ['部门', 2, '类型', /临床、医技、行政 或 后勤，这里是「门诊」/],
    ['人员', 2, '主部门编码', /部门编码「NOPE」不存在/],
    ['人员', 2, '兼职部门编码', /「GONE」不存在/],
    ['人员', 3, '岗位编码', /岗位编码「P9」在系统中不存在/],
    ['人员', 3, '直接上级工号', /「99999」不存在/],
    ['角色', 2, '角色编码', /角色编码「nobody」在系统中不存在/],
    ['角色', 5, '角色编码', /无权分配角色「系统管理员」/],
  ]);
});

test('a loop among the imported departments, through an existing one too', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  await runImport(c, await workbook(VALID), false);
  const buf = await workbook({
    部门: [
      DEPT_H,
      ['A', '甲', 'B', '临床', null, null],
      ['B', '乙', 'C', '临床', null, null],
      ['C', '丙', 'A', '临床', null, null],
      // ROOT (existing) under NK-1, which is under NK, which is under ROOT
      ['ROOT', '口腔医院', 'NK-1', '行政', null, 0],
      ['SELF', '自己', 'SELF', '行政', null, null],
    ],
  });
  await expectProblems(t, ta, c, buf, [
    ['部门', 2, '上级编码', /上级部门形成循环：.*A.*B.*C/],
    ['部门', 3, '上级编码', /上级部门形成循环/],
    ['部门', 4, '上级编码', /上级部门形成循环/],
    ['部门', 5, '上级编码', /上级部门形成循环：.*ROOT.*NK-1.*NK.*ROOT|上级部门形成循环：.*NK.*ROOT/],
    ['部门', 6, '上级编码', /不能是它自己的上级部门/],
  ]);
});

test('duplicate employee numbers and department codes inside the file', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const sheets = structuredClone(VALID);
  sheets['人员']!.push(['10002', '重复', null, 'NK', null, null, null, null, null, null, null, null, null]);
  sheets['部门']!.push(['nk', '内科重复', 'ROOT', '临床', null, null]);
  await expectProblems(t, ta, c, await workbook(sheets), [
    ['人员', 5, '工号', /工号「10002」与第 3 行重复/],
    ['部门', 6, '编码', /部门编码「nk」与第 4 行重复/],
  ]);
});

test('a superior chain that loops, and a person as their own superior', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const sheets = structuredClone(VALID);
  sheets['人员']![1]![8] = '10003'; // 10001 → 10003 → 10001
  sheets['人员']!.push(['10004', '赵六', null, 'NK', null, null, null, null, '10004', null, null, null, null]);
  await expectProblems(t, ta, c, await workbook(sheets), [
    ['人员', 2, '直接上级工号', /直接上级形成循环：10001 → 10003 → 10001|直接上级形成循环：10003 → 10001 → 10003/],
    ['人员', 4, '直接上级工号', /直接上级形成循环/],
    ['人员', 5, '直接上级工号', /直接上级不能是本人/],
  ]);
});

test('10,000 blank rows are skipped quickly and not reported', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const buf = await workbook(VALID, (wb) => {
    const ws = wb.getWorksheet('人员')!;
    // blank, whitespace-only and formatted-but-empty rows, then one more real person after them
    for (let i = 0; i < 10_000; i++) {
      const row = ws.addRow(i % 3 === 0 ? ['', ' ', null] : i % 3 === 1 ? ['   '] : []);
      row.getCell(1).numFmt = '@';
      row.getCell(2).value = i % 3 === 2 ? '' : row.getCell(2).value;
    }
    ws.addRow(['10009', '钱七', null, 'NK', null, null, null, null, null, null, null, null, null]);
  });
  const t0 = Date.now();
  const dry = await runImport(c, buf, true);
  const ms = Date.now() - t0;
  t.deepEqual(dry.body.report.problems, []);
  t.is(dry.body.report.rows.people, 4);
  t.true(dry.body.report.rows.blank >= 9_000);
  t.true(ms < 10_000, `dry run took ${ms} ms`);
  const real = await runImport(c, buf, false);
  t.is(real.body.report.counts.people.created, 4);
});

test('more rows than the limit are refused as a whole with one problem', async (t) => {
  const ta = await startTestApp(t);
  await reference(ta.deps.db);
  const c = await orgAdmin(ta);
  const rows: Cell[][] = [DEPT_H];
  for (let i = 0; i <= 5_000; i++) rows.push([`D${i}`, `部门${i}`, null, '临床', null, null]);
  const problems = await expectProblems(t, ta, c, await workbook({ 部门: rows }), [['部门', 5_002, '', /超过 5000 行的上限/]]);
  t.is(problems.length, 1);
});

test('a file that is not an xlsx is refused before reading', async (t) => {
  const ta = await startTestApp(t);
  const c = await orgAdmin(ta);
  const csv = await c.upload('/api/v1/files', { name: 'org.csv', bytes: '工号,姓名\n1,张三\n' });
  t.is(csv.status, 201);
  const r = await c.post(`${BASE}/import?dryRun=true`, { fileId: csv.body.id });
  t.is(r.status, 400);
  t.regex(r.body.detail, /\.xlsx/);
});

// ---- leadership in the workbook (R12.0, M7) --------------------------------------------------------

/** VALID with leaders: ROOT headed by 10001; NK headed by 10001 with deputies 10004、10002; 分管 NK: 10004 and 10002. */
function withLeaders(): Sheets {
  const sheets = structuredClone(VALID);
  sheets['部门']![2]!.push('10001', null, null); // ROOT
  sheets['部门']![3]!.push('10001', '10004、10002', '10004,10002'); // NK: order kept, both separators
  sheets['人员']!.push(['10004', '赵六', null, 'NK', null, null, null, null, null, null, null, null, null]);
  return sheets;
}

async function leadersOf(db: Database, code: string) {
  const { Department, DeptLeader, LeaderInCharge, User } = db.models;
  const d = (await Department.findOne({ where: { code } }))!;
  const no = new Map((await User.findAll({ raw: true })).map((u) => [u.id, u.employeeNo]));
  const rows = await DeptLeader.findAll({ where: { deptId: d.id }, order: [['sort', 'ASC'], ['userId', 'ASC']], raw: true });
  return {
    heads: rows.filter((r) => r.kind === 'head').map((r) => no.get(r.userId)),
    deputies: rows.filter((r) => r.kind === 'deputy').map((r) => no.get(r.userId)),
    charge: (await LeaderInCharge.findAll({ where: { deptId: d.id }, raw: true })).map((r) => no.get(r.userId)).sort(),
  };
}

test('R12.0/M7: heads, deputies (in order) and leaders in charge import from the 部门 sheet; idempotent; absent columns leave leadership untouched; blank cells clear it', async (t) => {
  const ta = await startTestApp(t);
  const db = ta.deps.db;
  await reference(db);
  const c = await orgAdmin(ta);
  const sheets = withLeaders();

  const dry = await runImport(c, await workbook(sheets), true);
  t.deepEqual(dry.body.report.problems, []);
  t.deepEqual(dry.body.report.counts.leadership, { updated: 2 });
  t.is(await db.models.DeptLeader.count(), 0, 'a dry run writes nothing');

  const real = await runImport(c, await workbook(sheets), false);
  t.is(real.body.status, 'done', real.text);
  t.deepEqual(await leadersOf(db, 'ROOT'), { heads: ['10001'], deputies: [], charge: [] });
  t.deepEqual(await leadersOf(db, 'NK'), { heads: ['10001'], deputies: ['10004', '10002'], charge: ['10002', '10004'] });
  t.is(await db.models.AuditLog.count({ where: { action: 'org.department.leaders' } }), 2);
  t.is(await db.models.AuditLog.count({ where: { action: 'org.department.leaders_in_charge' } }), 1);
  // the resolvers the workflow engine uses see them
  const nk = await c.get(`/api/v1/org/departments/${(await db.models.Department.findOne({ where: { code: 'NK' } }))!.id}`);
  t.is(nk.status, 200);
  t.true(JSON.stringify(nk.body).includes('赵六'));

  // the same file again: nothing changes
  const again = await runImport(c, await workbook(sheets), false);
  t.is(again.body.report.changes, 0, JSON.stringify(again.body.report.counts));

  // an old workbook without the leadership columns imports and leaves leadership as it is
  const old: Sheets = {
    部门: [OLD_DEPT_H, ...sheets['部门']!.slice(1).map((r) => r.slice(0, 6))],
    人员: [OLD_PEOPLE_H, ...sheets['人员']!.slice(1).map((r) => r.slice(0, 13))],
  };
  const o = await runImport(c, await workbook(old), false);
  t.is(o.body.status, 'done', o.text);
  t.is(o.body.report.changes, 0);
  t.deepEqual(await leadersOf(db, 'NK'), { heads: ['10001'], deputies: ['10004', '10002'], charge: ['10002', '10004'] });

  // only the 副职工号 column: deputies reordered, heads and leaders in charge untouched
  const onlyDeputies: Sheets = { 部门: [['编码', '名称', '类型', '副职工号'], ['NK', '内科', '临床', '10002、10004']] };
  const r1 = await runImport(c, await workbook(onlyDeputies), false);
  t.deepEqual(r1.body.report.counts.leadership, { updated: 1 });
  t.deepEqual(await leadersOf(db, 'NK'), { heads: ['10001'], deputies: ['10002', '10004'], charge: ['10002', '10004'] });
  // promoting a deputy to head takes them off the deputies
  const promote: Sheets = { 部门: [['编码', '名称', '类型', '负责人工号'], ['NK', '内科', '临床', '10004']] };
  await runImport(c, await workbook(promote), false);
  t.deepEqual(await leadersOf(db, 'NK'), { heads: ['10004'], deputies: ['10002'], charge: ['10002', '10004'] });
  // a blank cell in a present column: none of that kind
  const clear: Sheets = { 部门: [['编码', '名称', '类型', '副职工号', '分管领导工号'], ['NK', '内科', '临床', null, '']] };
  const r2 = await runImport(c, await workbook(clear), false);
  t.is(r2.body.status, 'done', r2.text);
  t.deepEqual(await leadersOf(db, 'NK'), { heads: ['10004'], deputies: [], charge: [] });
});

test('R12.0/M7: bad leadership cells are reported by sheet, row and column in Chinese and change nothing', async (t) => {
  const ta = await startTestApp(t);
  const db = ta.deps.db;
  await reference(db);
  const c = await orgAdmin(ta);
  await runImport(c, await workbook(withLeaders()), false);
  const sheets = withLeaders();
  sheets['部门']![1]!.push('99999', null, null); // NK-1: unknown head
  sheets['部门']![2]![6] = '10003'; // ROOT: 10003 is 停用 in this file
  sheets['部门']![3]![7] = '10004、10001、10004'; // NK: the head as deputy, and a duplicate
  sheets['部门']![4]!.push(null, null, '10002;10003'); // YWB: a disabled leader in charge
  await expectProblems(t, ta, c, await workbook(sheets), [
    ['部门', 2, '负责人工号', /负责人工号中的工号「99999」不存在（本文件人员表和系统中都没有）/],
    ['部门', 3, '负责人工号', /「王五」（工号 10003）在本文件中状态为停用，不能担任部门负责人/],
    ['部门', 4, '副职工号', /工号「10004」在「副职工号」中重复/],
    ['部门', 4, '副职工号', /「张三」（工号 10001）已是本部门负责人，不能同时是副职/],
    ['部门', 5, '分管领导工号', /「王五」（工号 10003）在本文件中状态为停用，不能担任分管领导/],
  ]);
  // a person disabled in the system (not in this file) cannot lead either
  const other: Sheets = { 部门: [['编码', '名称', '类型', '负责人工号'], ['YWB', '医务部', '行政', '10003']] };
  await expectProblems(t, ta, c, await workbook(other), [['部门', 2, '负责人工号', /「王五」（工号 10003）已停用，不能担任部门负责人/]]);
});

// ---- disabling through the import hands over (R12.0 with item 1's handover) ---------------------------

test('R12.0: disabling an active person through the import needs 接替人工号 and hands leadership and open work to the successor', async (t) => {
  const ta = await startTestApp(t);
  const db = ta.deps.db;
  await reference(db);
  const c = await orgAdmin(ta);
  await runImport(c, await workbook(withLeaders()), false);
  const { User, AuditLog } = db.models;
  const id = async (no: string) => (await User.findOne({ where: { employeeNo: no } }))!.id;
  // a module with open work (as the workflow engine will) registers a handover
  const moved: [number, number][] = [];
  handoverRegistry(ta.deps).register('test.work', async (from, to) => {
    moved.push([from, to]);
    return { tasks: 2 };
  });

  // 10001 leads ROOT and NK; the file disables them
  const off = withLeaders();
  off['人员']![1]![12] = '停用';
  off['部门']![2]![6] = null; // ROOT's head cleared in the file (otherwise a disabled head is refused)
  off['部门']![3]![6] = null;
  // …without a successor: the dry run says so, for a workbook without the column too
  await expectProblems(t, ta, c, await workbook(off), [['人员', 2, '接替人工号', /停用在职人员「张三」（工号 10001）时必须填写接替人工号/]]);
  const oldLayout: Sheets = { 人员: [OLD_PEOPLE_H, ['10001', '张三', '男', 'NK', null, null, null, null, null, null, null, null, '停用']] };
  await expectProblems(t, ta, c, await workbook(oldLayout), [['人员', 2, '接替人工号', /必须填写接替人工号.*请在人员表中增加「接替人工号」列/]]);
  // …with a successor who is disabled, unknown, or the person themself
  for (const [no, reason] of [
    ['10003', /接替人「王五」（工号 10003）在本文件中被停用，请选择在职人员/],
    ['88888', /接替人工号「88888」不存在/],
    ['10001', /接替人不能是被停用的本人/],
  ] as const) {
    off['人员']![1]![13] = no;
    await expectProblems(t, ta, c, await workbook(off), [['人员', 2, '接替人工号', reason]]);
  }
  t.deepEqual(moved, [], 'no handover ran for a refused file');

  // the old layout with leadership kept: 10001 stays head of ROOT and NK in the system and passes them on
  const disable: Sheets = { 人员: [PEOPLE_H, ['10001', '张三', '男', 'NK', null, null, null, null, null, null, null, null, '停用', '10002']] };
  const dry = await runImport(c, await workbook(disable), true);
  t.deepEqual(dry.body.report.problems, []);
  t.is(dry.body.report.counts.handovers, 1);
  t.deepEqual(moved, [], 'a dry run hands nothing over');
  const real = await runImport(c, await workbook(disable), false);
  t.is(real.body.status, 'done', real.text);
  const zhang = (await User.findByPk(await id('10001')))!;
  t.is(zhang.status, 'disabled');
  t.is(zhang.successorId, await id('10002'));
  // ROOT: 10002 takes the head place; NK: 10002 was a deputy and becomes head (the stronger place)
  t.deepEqual(await leadersOf(db, 'ROOT'), { heads: ['10002'], deputies: [], charge: [] });
  t.deepEqual(await leadersOf(db, 'NK'), { heads: ['10002'], deputies: ['10004'], charge: ['10002', '10004'] });
  t.deepEqual(moved, [[await id('10001'), await id('10002')]]);
  const audit = (await AuditLog.findOne({ where: { action: 'org.person.disable' }, raw: true }))!;
  const detail = JSON.parse(audit.detail ?? 'null');
  t.is(detail.via, 'import');
  t.is(detail.successor.id, await id('10002'));
  t.deepEqual(detail.handover, { 'test.work': { tasks: 2 } });
  t.is(detail.movedLeaders.length, 2);
  // the same file again changes nothing: 10001 is already disabled
  const again = await runImport(c, await workbook(disable), false);
  t.is(again.body.report.changes, 0);
  t.is(moved.length, 1);

  // an export names the successor of a disabled person; it imports back unchanged
  const book = await readBook((await c.get(`${BASE}/export`)).bytes);
  const row = book['人员']!.find((r) => r[0] === '10001')!;
  t.is(row[12], '停用');
  t.is(row[13], '10002');
  t.is(book['部门']!.find((r) => r[0] === 'NK')![6], '10002');
});

test('R12.0: the importer cannot disable themself, nor a 三员 administrator', async (t) => {
  const ta = await startTestApp(t);
  const db = ta.deps.db;
  await reference(db);
  const c = await orgAdmin(ta);
  await runImport(c, await workbook(VALID), false);
  const { User, UserRole, Role } = db.models;
  await User.update({ employeeNo: '90000' }, { where: { username: 'org.admin' } });
  const sys = (await Role.findOne({ where: { code: 'sysadmin' } }))!;
  await UserRole.create({ userId: (await User.findOne({ where: { employeeNo: '10002' } }))!.id, roleId: sys.id });
  const file: Sheets = {
    人员: [
      PEOPLE_H,
      ['90000', '组织管理员', null, 'NK', null, null, null, null, null, null, null, null, '停用', '10001'],
      ['10002', '李四', '女', 'NK-1', null, 'HLG', null, null, 10001, null, null, null, '停用', '10001'],
    ],
  };
  await expectProblems(t, ta, c, await workbook(file), [
    ['人员', 2, '状态', /不能通过导入停用您自己的账号/],
    ['人员', 3, '状态', /「李四」（工号 10002）担任三员管理员角色，不能通过导入停用/],
  ]);
});

test('R12.0/M7: the template has the leadership and successor columns; export → import of leadership is lossless on the demo hospital', async (t) => {
  const ta = await startTestApp(t);
  await seedDemo(ta);
  const db = ta.deps.db;
  const c = await orgAdmin(ta);
  const tpl = await readBook((await c.get(`${BASE}/template`)).bytes);
  t.deepEqual(tpl['部门'], [DEPT_H]);
  t.deepEqual(tpl['人员'], [PEOPLE_H]);
  t.true(tpl['说明']!.some((r) => String(r[3] ?? '').includes('接替人工号')));

  const e1 = await c.get(`${BASE}/export`);
  const book1 = await readBook(e1.bytes);
  const depts = book1['部门']!.slice(1);
  t.true(depts.some((r) => r[6]), 'some department has a head');
  t.true(depts.some((r) => r[8]), 'some department has a leader in charge');
  t.is(
    depts.reduce((n, r) => n + (r[6] ? String(r[6]).split('、').length : 0) + (r[7] ? String(r[7]).split('、').length : 0), 0),
    await db.models.DeptLeader.count(),
    'every head and deputy is in the file',
  );
  t.is(depts.reduce((n, r) => n + (r[8] ? String(r[8]).split('、').length : 0), 0), await db.models.LeaderInCharge.count());

  // change the leadership everywhere…
  const { DeptLeader, LeaderInCharge } = db.models;
  const some = (await DeptLeader.findAll({ limit: 3, raw: true })).map((l) => l.deptId);
  await DeptLeader.destroy({ where: { deptId: some } });
  const charge = (await LeaderInCharge.findOne({ raw: true }))!;
  await LeaderInCharge.destroy({ where: { deptId: charge.deptId } });
  const dry = await runImport(c, e1.bytes, true);
  t.true(dry.body.report.counts.leadership.updated >= 2, JSON.stringify(dry.body.report.counts));
  // …and importing the first export brings it all back
  const real = await runImport(c, e1.bytes, false);
  t.is(real.body.status, 'done', real.text);
  t.deepEqual(await readBook((await c.get(`${BASE}/export`)).bytes), book1);
});
