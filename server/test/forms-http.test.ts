import test from 'ava';
import ExcelJS from 'exceljs';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';
import { EXPENSE_FORM, LEAVE_FORM, PURCHASE_FORM } from '../src/forms/fixtures.ts';
import { validateSubmission } from '../src/forms/index.ts';

// Issue 5 through the HTTP API: designing, checking and publishing forms (R16.1, R16.5), filling in
// standalone forms with every "bad input" rule (R16.3, R16.6), the database checks at submit time
// (people, departments, files, lookups; R16.7), permissions (staff cannot design, others'
// submissions are 404), and versions (old submissions render and validate as before).

const F = '/api/v1/forms';
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function signIn(ta: TestApp, username: string): Promise<HttpClient> {
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return c;
}

export async function setup(t: Parameters<typeof startTestApp>[0]) {
  const ta = await startTestApp(t);
  ta.clock.set('2026-11-25T02:00:00Z');
  const { Department, User } = ta.deps.db.models;
  const dept = await Department.create({ code: 'KQNK', name: '口腔内科', parentId: null, campusId: null, kind: 'clinical' });
  const closed = await Department.create({ code: 'OLD', name: '已撤销科室', parentId: null, campusId: null, kind: 'clinical', enabled: false });
  const ids: Record<string, number> = {};
  for (const n of ['alice', 'bob']) ids[n] = await ta.createUser({ username: n, name: n === 'alice' ? '张丽' : '王博' });
  ids.designer = await ta.createUser({ username: 'designer', name: '表单管理员', roles: ['processadmin'] });
  await User.update({ deptId: dept.id, employeeNo: '10001' }, { where: { id: ids.alice } });
  const c: Record<string, HttpClient> = {};
  for (const n of Object.keys(ids)) c[n] = await signIn(ta, n);
  return { ta, ids, c, deptId: dept.id, closedDeptId: closed.id };
}

/** Create, publish and return ids of a standalone form. */
export async function publishForm(designer: HttpClient, key: string, draft: unknown): Promise<{ formId: number; versionId: number }> {
  const created = await designer.post(`${F}/defs`, { key, draft, standalone: true });
  if (created.status !== 201) throw new Error(`create ${key}: ${created.status} ${JSON.stringify(created.body)}`);
  const pub = await designer.post(`${F}/defs/${created.body.id}/publish`);
  if (pub.status !== 200) throw new Error(`publish ${key}: ${pub.status} ${JSON.stringify(pub.body)}`);
  return { formId: created.body.id, versionId: pub.body.versionId };
}

const paths = (r: { body: { errors?: Array<{ path: string }> } }) => (r.body.errors ?? []).map((e) => e.path);

test('R16.1 R16.5 staff cannot design; designers create, check (errors with paths), save with rev, publish and list versions', async (t) => {
  const { c } = await setup(t);
  t.is((await c.alice!.post(`${F}/defs`, { key: 'leave', draft: LEAVE_FORM })).status, 403);
  t.is((await c.alice!.get(`${F}/defs`)).status, 403);

  // Check without saving: unknown types, formulas that do not parse or name missing fields, cycles.
  const bad = {
    title: '坏表单',
    fields: [
      { key: 'a', label: 'A', type: 'hologram' },
      { key: 'b', label: 'B', type: 'computed', resultType: 'number', formula: 'SUM(' },
      { key: 'c', label: 'C', type: 'computed', resultType: 'number', formula: 'nosuch + 1' },
      { key: 'd', label: 'D', type: 'computed', resultType: 'number', formula: 'e + 1' },
      { key: 'e', label: 'E', type: 'computed', resultType: 'number', formula: 'd + 1' },
    ],
  };
  const chk = await c.designer!.post(`${F}/defs/check`, { draft: bad });
  t.is(chk.status, 200);
  t.false(chk.body.ok);
  t.true(chk.body.errors.some((e: { path: string; message: string }) => e.path === 'fields[0].type' && /未知的字段类型/.test(e.message)), JSON.stringify(chk.body.errors));
  const fixed = { ...bad, fields: bad.fields.slice(1) };
  const chk2 = await c.designer!.post(`${F}/defs/check`, { draft: fixed });
  const byPath = new Map(chk2.body.errors.map((e: { path: string; message: string }) => [e.path, e.message]));
  t.regex(String(byPath.get('fields[0].formula')), /公式错误/);
  t.regex(String(byPath.get('fields[1].formula')), /不存在的字段“nosuch”/);
  t.true(chk2.body.errors.some((e: { message: string }) => /循环引用/.test(e.message)));
  const refused = await c.designer!.post(`${F}/defs`, { key: 'bad', draft: bad });
  t.is(refused.status, 400);
  t.is(refused.body.code, 'FORM_SCHEMA_INVALID');
  t.true(paths(refused).includes('fields[0].type'));

  const created = await c.designer!.post(`${F}/defs`, { key: 'leave', draft: LEAVE_FORM, standalone: true });
  t.is(created.status, 201);
  t.is(created.body.rev, 1);
  t.is((await c.designer!.post(`${F}/defs`, { key: 'leave', draft: LEAVE_FORM })).status, 409);
  const id = created.body.id;
  const saved = await c.designer!.put(`${F}/defs/${id}`, { rev: 1, draft: { ...LEAVE_FORM, title: '请假申请单' } });
  t.is(saved.status, 200);
  t.is(saved.body.rev, 2);
  t.is((await c.designer!.put(`${F}/defs/${id}`, { rev: 1, draft: LEAVE_FORM })).status, 409, 'stale rev');
  t.is((await c.alice!.post(`${F}/defs/${id}/publish`)).status, 403);
  const pub = await c.designer!.post(`${F}/defs/${id}/publish`);
  t.is(pub.body.version, 1);
  const versions = await c.designer!.get(`${F}/defs/${id}/versions`);
  t.deepEqual(versions.body.items.map((v: { version: number }) => v.version), [1]);
  // Anyone signed in reads a published version (to render it) and sees the catalogue.
  const v = await c.alice!.get(`${F}/versions/${pub.body.versionId}`);
  t.is(v.status, 200);
  t.is(v.body.schema.title, '请假申请单');
  t.true(v.body.latest);
  const cat = await c.bob!.get(`${F}/catalogue`);
  t.deepEqual(cat.body.items.map((x: { key: string }) => x.key), ['leave']);
});

test('R16.3 R16.6 R16.8 leave form: three date formats, computed working days, serial numbers, defaults, own submissions only (others 404)', async (t) => {
  const { c, ids, deptId } = await setup(t);
  const { formId, versionId } = await publishForm(c.designer!, 'leave', LEAVE_FORM);
  const r = await c.alice!.post(`${F}/submissions`, { formId, versionId, data: { leaveType: 'personal', period: { start: '2026年11月30日', end: '２０２６/１２/０２' }, reason: '家中有事' } });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.is(r.body.serialNo, 'QJ-2026-0001');
  t.deepEqual(r.body.data.period, { start: '2026-11-30', end: '2026-12-02' });
  t.is(r.body.data.days, 3);
  t.is(r.body.data.applicant, ids.alice, '$user.id default');
  t.is(r.body.data.dept, deptId, '$user.deptId default');
  t.is(r.body.data.applyDate, '2026-11-25', 'TODAY() in Beijing');
  const r2 = await c.alice!.post(`${F}/submissions`, { formId, data: { leaveType: 'sick', period: ['2026-12-07', '2026-12-07'], reason: '发烧' } });
  t.is(r2.body.serialNo, 'QJ-2026-0002');

  const mine = await c.alice!.get(`${F}/submissions/mine`);
  t.is(mine.body.total, 2);
  t.is((await c.alice!.get(`${F}/submissions/${r.body.id}`)).status, 200);
  t.is((await c.bob!.get(`${F}/submissions/${r.body.id}`)).status, 404, "others' submissions look missing");
  t.is((await c.bob!.get(`${F}/submissions/mine`)).body.total, 0);
  t.is((await c.designer!.get(`${F}/submissions/${r.body.id}`)).status, 200, 'forms:data reads any');

  // Rules through the API, each with its path.
  const bad = await c.alice!.post(`${F}/submissions`, { formId, data: { leaveType: 'annual', period: { start: '2026-12-01', end: '2026-12-31' }, reason: '旅游' } });
  t.is(bad.status, 400);
  t.is(bad.body.code, 'FORM_INVALID');
  t.deepEqual(paths(bad), ['period']);
  t.regex(bad.body.errors[0].message, /年假单次不能超过 15 个工作日/);
  const wrongDate = await c.alice!.post(`${F}/submissions`, { formId, data: { leaveType: 'sick', period: { start: '2026-02-30', end: '2026-03-01' }, reason: 'x' } });
  t.deepEqual(paths(wrongDate).sort(), ['period', 'reason']);
  const sickLong = await c.alice!.post(`${F}/submissions`, { formId, data: { leaveType: 'sick', period: { start: '2026-11-30', end: '2026-12-04' }, reason: '住院治疗' } });
  t.deepEqual(paths(sickLong), ['proof'], 'conditional required: sick leave over 2 days needs proof');
  const unknown = await c.alice!.post(`${F}/submissions`, { formId, data: { leaveType: 'personal', period: { start: '2026-11-30', end: '2026-11-30' }, reason: '有事', evil: 1 } });
  t.deepEqual(paths(unknown), ['evil']);
  const forged = await c.alice!.post(`${F}/submissions`, { formId, data: { applicant: ids.bob, leaveType: 'personal', period: { start: '2026-11-30', end: '2026-11-30' }, reason: '有事' } });
  t.deepEqual(paths(forged), ['applicant'], 'read-only fields cannot be written');
  const stale = await c.alice!.post(`${F}/submissions`, { formId, versionId: versionId + 100, data: {} });
  t.is(stale.status, 409);
  t.is(stale.body.code, 'FORM_VERSION_STALE');
});

test('R16.3 bad input: retired options, 10,000-row tables, full-width digits, oversized and scripted rich text', async (t) => {
  const { c, deptId } = await setup(t);
  const { formId } = await publishForm(c.designer!, 'expense', EXPENSE_FORM);
  await c.designer!.post(`${F}/sources`, { key: 'budget', name: '预算', keyColumn: 'no', labelColumn: 'name', columns: [{ key: 'no', label: '预算编号' }, { key: 'name', label: '预算名称' }, { key: 'balance', label: '余额', type: 'money' }], rows: [{ no: 'YS-1', name: '办公经费', balance: '10000' }] });
  const item = (amount: unknown, extra: Record<string, unknown> = {}) => ({ date: '2026-11-20', category: '办公', amount, ...extra });

  const huge = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-1', items: Array.from({ length: 10_000 }, () => item('1')) } });
  t.is(huge.status, 400);
  t.is(huge.body.errors[0].path, 'items');
  t.regex(huge.body.errors[0].message, /最多 200 行，提交了 10000 行/);

  const fw = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-1', items: [item('１２３.５０', { invoices: '２' }), item('￥1,000元')] } });
  t.is(fw.status, 201, JSON.stringify(fw.body));
  t.deepEqual(fw.body.data.items.map((r: { amount: number }) => r.amount), [12350, 100000], 'yuan text → fen, full-width digits');
  t.is(fw.body.data.items[0].invoices, 2);
  t.is(fw.body.data.total, 112350);
  t.deepEqual(fw.body.totals, { items: { amount: 112350, invoices: 2 } });

  const bigRich = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-1', items: [item('1')], description: '<p>' + 'x'.repeat(100_000) + '</p>' } });
  t.is(bigRich.status, 400);
  t.deepEqual(paths(bigRich), ['description']);
  const script = await c.alice!.post(`${F}/submissions`, {
    formId,
    data: { dept: deptId, budgetNo: 'YS-1', items: [item('1')], description: '<p onclick="steal()">说明<script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">链接</a></p>' },
  });
  t.is(script.status, 201);
  const stored = (await ta_get(c.alice!, `${F}/submissions/${script.body.id}`)).data.description as string;
  t.notRegex(stored, /script|onerror|onclick|javascript:/i);
  t.regex(stored, /说明/);

  const bad = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-1', items: [item('abc'), item('1', { category: '旅游' }), item('3000', { category: '招待' })] } });
  t.is(bad.status, 400);
  t.deepEqual(paths(bad).sort(), ['items[0].amount', 'items[1].category', 'items[2].amount'], 'each row reported at its path');
  const rowRule = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-1', items: [item('3000', { category: '招待' })] } });
  t.deepEqual(paths(rowRule), ['items[0].amount'], 'row rule: entertainment at most 2000 yuan per line');

  // Options changed while in use: a retired option cannot be chosen on new submissions.
  const leave = await publishForm(c.designer!, 'leave', LEAVE_FORM);
  const retired = await c.alice!.post(`${F}/submissions`, { formId: leave.formId, data: { leaveType: 'legacy', period: { start: '2026-11-30', end: '2026-11-30' }, reason: '探亲' } });
  t.is(retired.status, 400);
  t.regex(retired.body.errors[0].message, /已停用/);
});

async function ta_get(c: HttpClient, path: string) {
  const r = await c.get(path);
  if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
  return r.body;
}

test('R16.7 expense budget lookup: an imported Excel sheet fills name and balance; unknown numbers, forged balances and over-budget claims are refused', async (t) => {
  const { c, deptId, ta } = await setup(t);
  const { formId, versionId } = await publishForm(c.designer!, 'expense', EXPENSE_FORM);

  // The budget sheet, uploaded as an xlsx and imported as a data source.
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('预算');
  ws.addRow(['预算编号', '预算名称', '负责人', '余额（元）']);
  ws.addRow(['YS-2026-001', '办公经费', '张丽', 5000]);
  ws.addRow(['YS-2026-002', '培训经费', '王博', '1,200.50']);
  const up = await c.designer!.upload('/api/v1/files', { name: '预算.xlsx', bytes: Buffer.from(await wb.xlsx.writeBuffer()) });
  t.is(up.status, 201, JSON.stringify(up.body));
  const columns = [
    { key: 'no', label: '预算编号' },
    { key: 'name', label: '预算名称' },
    { key: 'owner', label: '负责人' },
    { key: 'balance', label: '余额', header: '余额（元）', type: 'money' },
  ];
  t.is((await c.alice!.post(`${F}/sources`, { key: 'budget', name: '预算', keyColumn: 'no', columns, fileId: up.body.id })).status, 403);
  const imp = await c.designer!.post(`${F}/sources`, { key: 'budget', name: '预算', keyColumn: 'no', labelColumn: 'name', columns, fileId: up.body.id });
  t.is(imp.status, 201, JSON.stringify(imp.body));
  t.is(imp.body.rowCount, 2);
  const badRows = await c.designer!.post(`${F}/sources`, { key: 'budget2', name: '预算2', keyColumn: 'no', columns, rows: [{ no: 'A', balance: '十元' }, { no: 'A' }] });
  t.is(badRows.status, 400);
  t.deepEqual(paths(badRows), ['rows[0].balance', 'rows[1].no']);

  // The linkage endpoint: budget number → name and balance (fen), through the form's field.
  const look = await c.alice!.get(`${F}/versions/${versionId}/lookup?field=budgetNo&key=YS-2026-002`);
  t.is(look.status, 200, JSON.stringify(look.body));
  t.deepEqual(look.body.fill, { budgetName: '培训经费', budgetBalance: 120050 });
  t.is(look.body.label, '培训经费');
  t.is((await c.alice!.get(`${F}/versions/${versionId}/lookup?field=budgetNo&key=YS-404`)).status, 404);
  t.is((await c.alice!.get(`${F}/versions/${versionId}/lookup?field=payee&key=x`)).status, 400, 'not a lookup field');
  const opts = await c.alice!.get(`${F}/versions/${versionId}/options?field=budgetNo&q=YS-2026`);
  t.deepEqual(opts.body.items.map((o: { key: string }) => o.key), ['YS-2026-001', 'YS-2026-002']);

  const items = [{ date: '2026-11-20', category: '培训', amount: '1000' }];
  const ok = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-2026-002', items } });
  t.is(ok.status, 201, JSON.stringify(ok.body));
  t.is(ok.body.data.budgetName, '培训经费', 'filled on the server');
  t.is(ok.body.data.budgetBalance, 120050);
  // A forged balance on the read-only target is replaced by the source's value: the rule still holds.
  const over = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-2026-002', budgetBalance: 99_999_999, items: [{ ...items[0], amount: '1300' }] } });
  t.is(over.status, 400);
  t.deepEqual(paths(over), ['total']);
  t.regex(over.body.errors[0].message, /超出预算余额/);
  const missing = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-404', items } });
  t.deepEqual(paths(missing), ['budgetNo']);
  t.regex(missing.body.errors[0].message, /YS-404.*不存在/);
  const closedDept = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: 99999, budgetNo: 'YS-2026-001', items } });
  t.deepEqual(paths(closedDept), ['dept']);

  // A source limited to granted people: lookups and submissions are refused for others.
  await c.designer!.put(`${F}/sources/budget`, { key: 'budget', name: '预算', keyColumn: 'no', labelColumn: 'name', audience: 'grant', columns, fileId: up.body.id });
  t.is((await c.alice!.get(`${F}/versions/${versionId}/lookup?field=budgetNo&key=YS-2026-002`)).status, 403);
  const denied = await c.alice!.post(`${F}/submissions`, { formId, data: { dept: deptId, budgetNo: 'YS-2026-002', items } });
  t.regex(denied.body.errors[0].message, /无权使用数据源/);
  const alice = await ta.deps.db.models.User.findOne({ where: { username: 'alice' } });
  await ta.deps.access.createGrant({ resourceType: 'form_source', resourceId: 'budget', subjectType: 'user', subjectId: alice!.id, action: 'view', effect: 'allow' }, { id: 1, name: 'admin' });
  t.is((await c.alice!.get(`${F}/versions/${versionId}/lookup?field=budgetNo&key=YS-2026-002`)).status, 200, 'granted');
});

test('R16.6 purchase form: files must be the submitter’s, people and departments must exist, pattern on full-width phone numbers, visibility', async (t) => {
  const { c, ta } = await setup(t);
  const withPeople = {
    ...PURCHASE_FORM,
    fields: [...PURCHASE_FORM.fields, { key: 'buyer', label: '采购员', type: 'person' as const }, { key: 'photo', label: '实物照片', type: 'image' as const, maxFiles: 2 }],
  };
  const { formId } = await publishForm(c.designer!, 'purchase', withPeople);
  const lines = [{ itemName: '牙科手机', qty: '２', unitPrice: '30000' }];
  const base = { title: '采购牙科手机', needDate: '2026-12-01', lines };
  // 60,000 yuan ≥ 50,000: quotes required; ≥ 100,000 would show the dean's opinion.
  const noQuote = await c.alice!.post(`${F}/submissions`, { formId, data: base });
  t.deepEqual(paths(noQuote), ['quotes']);
  const bobFile = await c.bob!.upload('/api/v1/files', { name: '报价单.txt', bytes: '报价 30000 元' });
  const aliceFile = await c.alice!.upload('/api/v1/files', { name: '报价单.txt', bytes: '报价 29800 元' });
  const png = await c.alice!.upload('/api/v1/files', { name: 'photo.png', bytes: PNG });
  const theirs = await c.alice!.post(`${F}/submissions`, { formId, data: { ...base, quotes: [bobFile.body.id] } });
  t.deepEqual(paths(theirs), ['quotes'], "someone else's file");
  const notImage = await c.alice!.post(`${F}/submissions`, { formId, data: { ...base, quotes: [aliceFile.body.id], photo: [aliceFile.body.id] } });
  t.deepEqual(paths(notImage), ['photo']);
  const ghost = await c.alice!.post(`${F}/submissions`, { formId, data: { ...base, quotes: [aliceFile.body.id], buyer: 424242 } });
  t.deepEqual(paths(ghost), ['buyer']);
  const phone = await c.alice!.post(`${F}/submissions`, { formId, data: { ...base, quotes: [aliceFile.body.id], contactPhone: '１２３' } });
  t.deepEqual(paths(phone), ['contactPhone']);
  t.regex(phone.body.errors[0].message, /11 位手机号/);
  const dean = await c.alice!.post(`${F}/submissions`, { formId, data: { ...base, quotes: [aliceFile.body.id], deanOpinion: '同意' } });
  t.is(dean.status, 201);
  t.false('deanOpinion' in dean.body.data, 'a field hidden by its rule is not stored');
  const past = await c.alice!.post(`${F}/submissions`, { formId, data: { ...base, needDate: '2026-11-01', quotes: [aliceFile.body.id] } });
  t.deepEqual(paths(past), ['needDate']);

  const ok = await c.alice!.post(`${F}/submissions`, { formId, data: { ...base, quotes: [aliceFile.body.id], photo: [png.body.id], buyer: (await ta.deps.db.models.User.findOne({ where: { username: 'bob' } }))!.id, contactPhone: '１３８００１３８０００' } });
  t.is(ok.status, 201, JSON.stringify(ok.body));
  t.is(ok.body.data.contactPhone, '13800138000');
  t.is(ok.body.data.totalAmount, 6_000_000);
  t.regex(ok.body.serialNo, /^CG-2026-\d{5}$/);
  // The files now belong to the submission: forms:data holders may download them, bob may not.
  t.is((await c.designer!.get(`/api/v1/files/${aliceFile.body.id}`)).status, 200);
  t.is((await c.bob!.get(`/api/v1/files/${aliceFile.body.id}`)).status, 404);
  // Print view: escaped, laid out, names instead of ids.
  const print = await c.alice!.get(`${F}/submissions/${ok.body.id}/print`);
  t.is(print.status, 200);
  t.regex(print.headers.get('content-type') ?? '', /text\/html/);
  t.regex(print.text, /采购牙科手机/);
  t.regex(print.text, /60000\.00 元/);
  t.regex(print.text, /王博/);
  t.is((await c.bob!.get(`${F}/submissions/${ok.body.id}/print`)).status, 404);
});

test('R16.5 versions: after a new version (retired option, new required field) old submissions still render and validate as before', async (t) => {
  const { c, ta } = await setup(t);
  const { formId, versionId: v1 } = await publishForm(c.designer!, 'leave', LEAVE_FORM);
  const old = await c.alice!.post(`${F}/submissions`, { formId, data: { leaveType: 'marriage', period: { start: '2026-11-30', end: '2026-12-01' }, reason: '结婚' } });
  t.is(old.status, 201);
  const def = await c.designer!.get(`${F}/defs/${formId}`);
  const v2draft = {
    ...LEAVE_FORM,
    fields: [
      ...LEAVE_FORM.fields.map((f) => (f.key === 'leaveType' && f.type === 'select' ? { ...f, options: f.options.map((o) => (o.value === 'marriage' ? { ...o, disabled: true } : o)) } : f)),
      { key: 'phone', label: '联系电话', type: 'text' as const, required: true },
    ],
  };
  t.is((await c.designer!.put(`${F}/defs/${formId}`, { rev: def.body.rev, draft: v2draft })).status, 200);
  const v2 = await c.designer!.post(`${F}/defs/${formId}/publish`);
  t.is(v2.body.version, 2);
  const now = await c.alice!.post(`${F}/submissions`, { formId, data: { leaveType: 'marriage', period: { start: '2026-11-30', end: '2026-12-01' }, reason: '结婚' } });
  t.deepEqual(paths(now).sort(), ['leaveType', 'phone']);
  const stale = await c.alice!.post(`${F}/submissions`, { formId, versionId: v1, data: {} });
  t.is(stale.status, 409);

  const got = await c.alice!.get(`${F}/submissions/${old.body.id}`);
  t.is(got.body.versionId, v1);
  t.is(got.body.version, 1);
  const schema1 = (await c.alice!.get(`${F}/versions/${got.body.versionId}`)).body;
  t.false(schema1.latest);
  t.false(schema1.schema.fields.some((f: { key: string }) => f.key === 'phone'));
  t.true(validateSubmission(schema1.schema, got.body.data, { previous: got.body.data }).ok, 'validates against its own version');
  // An admin correction is validated against version 1 too (no phone required; marriage still valid there).
  const fixed = await c.designer!.post(`${F}/data/submissions/${old.body.id}/corrections`, { rev: 1, changes: { reason: '结婚（补充说明）' }, reason: '申请人口头补充' });
  t.is(fixed.status, 200, JSON.stringify(fixed.body));
  t.is(fixed.body.data.leaveType, 'marriage');
  const row = await ta.deps.db.models.FormSubmission.findByPk(old.body.id);
  t.is(row!.versionId, v1);
});
