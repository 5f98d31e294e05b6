import test from 'ava';
import ExcelJS from 'exceljs';
import { ConnectionError, type Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';
import { shanghaiDate, shanghaiMidnight, TRANSFER_JOB } from '../src/org/transfers.ts';

// Issue 3 items 5 and 6: transfers (调动) taking effect on their date through the durable job
// runner and an injected clock; notifications once each; cancel; lookup; the Excel summary;
// information changes (信息变更) approved or rejected; batch changes, all or nothing.

const T = '/api/v1/org/transfers';
const INFO = '/api/v1/org/info-changes';
const BATCH = '/api/v1/org/people/batch-update';

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

/** Two departments under a root, a post and a position, the org admin, a person and both heads. */
async function setup(ta: TestApp) {
  const { Post, Position, User, DeptLeader } = ta.deps.db.models;
  await ta.createUser({ username: 'org.admin', name: '组织管理员', roles: ['orgadmin'] });
  const admin = await signIn(ta, 'org.admin');
  const mk = async (code: string, parent: number | null) => {
    const r = await admin.post('/api/v1/org/departments', { code, name: `${code}科`, parentId: parent, kind: 'clinical' });
    if (r.status !== 201) throw new Error(`dept ${code}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as number;
  };
  const root = await mk('H', null);
  const A = await mk('A', root);
  const B = await mk('B', root);
  const nurse = await Post.create({ code: 'nurse', name: '护理岗' });
  const doctor = await Post.create({ code: 'doctor', name: '医师岗' });
  const head = await Position.create({ code: 'hn', name: '护士长', rank: 1 });
  const person = async (username: string, name: string, employeeNo: string, deptId: number, postId: number | null = null) => {
    const id = await ta.createUser({ username, name, roles: ['staff'] });
    await User.update({ employeeNo, deptId, postId }, { where: { id } });
    return id;
  };
  const zhang = await person('zhang', '张三', 'E100', A, nurse.id);
  const headA = await person('head.a', '甲主任', 'E001', A);
  const headB = await person('head.b', '乙主任', 'E002', B);
  await DeptLeader.create({ deptId: A, userId: headA, kind: 'head', sort: 0 });
  await DeptLeader.create({ deptId: B, userId: headB, kind: 'head', sort: 0 });
  return { admin, root, A, B, nurse: nurse.id, doctor: doctor.id, head: head.id, zhang, headA, headB };
}

async function inboxTotal(ta: TestApp, username: string): Promise<number> {
  const c = await signIn(ta, username);
  const r = await c.get('/api/v1/inbox');
  return r.body.total as number;
}

test('a future transfer waits for its date, then moves the person exactly once; everyone concerned is told once', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User, Job, Transfer } = ta.deps.db.models;

  // typing the employee number fills in the rest
  const look = await s.admin.get(`${T}/lookup?q=e100`);
  t.is(look.status, 200);
  t.is(look.body.items.length, 1);
  t.is(look.body.items[0].id, s.zhang);
  t.is(look.body.items[0].dept.id, s.A);
  t.is(look.body.items[0].post.id, s.nurse);
  t.is((await s.admin.get(`${T}/lookup?q=${encodeURIComponent('张三')}`)).body.items[0].id, s.zhang);
  t.is((await s.admin.get(`${T}/lookup?q=nobody`)).body.items.length, 0);

  // the clock starts at 2026-11-25 10:00 Beijing time
  t.is(shanghaiDate(ta.clock.now()), '2026-11-25');
  const created = await s.admin.post(T, { person: 'E100', toDeptId: s.B, toPostId: s.doctor, toPositionId: s.head, effectiveDate: '2026-11-28', reason: '工作需要' });
  t.is(created.status, 201, JSON.stringify(created.body));
  const tr = created.body;
  t.is(tr.status, 'draft');
  t.is(tr.person.id, s.zhang);
  t.deepEqual(tr.fromDept, { id: s.A, name: 'A科' });
  t.deepEqual(tr.toDept, { id: s.B, name: 'B科' });
  t.deepEqual(tr.fromPost, { id: s.nurse, name: '护理岗' });
  t.is(tr.fromPosition, null);

  const versionBefore = (await User.findByPk(s.zhang))!.version;
  const ok = await s.admin.post(`${T}/${tr.id}/approve`);
  t.is(ok.status, 200, JSON.stringify(ok.body));
  t.is(ok.body.status, 'approved');
  t.is(ok.body.approvedBy.name, '组织管理员');
  t.is((await s.admin.post(`${T}/${tr.id}/approve`)).status, 409, 'approving twice is refused');
  t.is((await User.findByPk(s.zhang))!.deptId, s.A, 'not moved before the date');

  const jobs = await Job.findAll({ where: { kind: TRANSFER_JOB }, raw: true });
  t.is(jobs.length, 1);
  t.is(new Date(jobs[0]!.runAt).toISOString(), shanghaiMidnight('2026-11-28').toISOString());
  t.is(new Date(jobs[0]!.runAt).toISOString(), '2026-11-27T16:00:00.000Z');

  t.is(await ta.deps.jobs.tick(), 0);
  ta.clock.set('2026-11-27T15:59:59Z');
  t.is(await ta.deps.jobs.tick(), 0);
  t.is((await User.findByPk(s.zhang))!.deptId, s.A, 'one second before midnight: still in A');

  ta.clock.set('2026-11-27T16:00:00Z');
  t.is(await ta.deps.jobs.tick(), 1);
  const moved = (await User.findByPk(s.zhang))!;
  t.is(moved.deptId, s.B);
  t.is(moved.postId, s.doctor);
  t.is(moved.positionId, s.head);
  t.is(moved.version, versionBefore + 1);
  t.is((await Transfer.findByPk(tr.id))!.status, 'effective');
  s.admin = await signIn(ta, 'org.admin'); // days went by: the old session ran out
  t.is((await s.admin.get(`${T}/${tr.id}`)).body.status, 'effective');

  // running the job again changes nothing
  await ta.deps.jobs.enqueue(TRANSFER_JOB, { transferId: tr.id });
  t.is(await ta.deps.jobs.tick(), 1);
  t.is((await User.findByPk(s.zhang))!.version, versionBefore + 1);
  const moves = await audits(ta.deps.db, 'org.person.transfer');
  t.is(moves.length, 1);
  t.is(moves[0]!.detail.before.deptId, s.A);
  t.is(moves[0]!.detail.after.deptId, s.B);
  t.is(moves[0]!.detail.transferId, tr.id);
  t.is((await audits(ta.deps.db, 'org.transfer.approve')).length, 1);
  t.is((await audits(ta.deps.db, 'org.transfer.effective')).length, 1);
  t.is((await s.admin.post(`${T}/${tr.id}/cancel`)).status, 409, 'an effective transfer cannot be cancelled');

  // notifications: the person and both heads, once each
  await ta.deps.dispatcher.dispatchDue();
  await ta.deps.dispatcher.dispatchDue();
  t.is(await inboxTotal(ta, 'zhang'), 1);
  t.is(await inboxTotal(ta, 'head.a'), 1);
  t.is(await inboxTotal(ta, 'head.b'), 1);
  const msgs = await ta.deps.db.models.InboxMessage.findAll({ where: { userId: s.zhang }, raw: true });
  t.regex(msgs[0]!.body ?? '', /A科.*B科.*2026-11-28/);
});

test('a date today or in the past applies at approval; cancel before effect; the job of a cancelled transfer does nothing', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User, Job } = ta.deps.db.models;

  // by exact name; keeps the current post when none is given
  const past = await s.admin.post(T, { person: '张三', toDeptId: s.B, effectiveDate: '2026-11-20', reason: '补录' });
  t.is(past.status, 201, JSON.stringify(past.body));
  t.deepEqual(past.body.toPost, { id: s.nurse, name: '护理岗' });
  const ap = await s.admin.post(`${T}/${past.body.id}/approve`);
  t.is(ap.status, 200);
  t.is(ap.body.status, 'effective');
  t.is((await User.findByPk(s.zhang))!.deptId, s.B);
  t.is(await Job.count({ where: { kind: TRANSFER_JOB } }), 0, 'nothing scheduled');

  // today counts as due
  const today = await s.admin.post(T, { personId: s.zhang, toDeptId: s.A, effectiveDate: '2026-11-25', reason: '回调' });
  t.is((await s.admin.post(`${T}/${today.body.id}/approve`)).body.status, 'effective');
  t.is((await User.findByPk(s.zhang))!.deptId, s.A);

  // a draft can be cancelled
  const draft = await s.admin.post(T, { personId: s.zhang, toDeptId: s.B, effectiveDate: '2026-12-01', reason: '草稿' });
  const c1 = await s.admin.post(`${T}/${draft.body.id}/cancel`, { reason: '不调了' });
  t.is(c1.status, 200);
  t.is(c1.body.status, 'cancelled');
  t.is((await s.admin.post(`${T}/${draft.body.id}/approve`)).status, 409);

  // an approved one too: its job then finds nothing to do
  const later = await s.admin.post(T, { personId: s.zhang, toDeptId: s.B, effectiveDate: '2026-12-01', reason: '计划' });
  t.is((await s.admin.post(`${T}/${later.body.id}/approve`)).status, 200);
  t.is((await s.admin.post(`${T}/${later.body.id}/cancel`)).body.status, 'cancelled');
  t.is((await s.admin.post(`${T}/${later.body.id}/cancel`)).status, 409);
  ta.clock.set('2026-12-01T00:00:00Z');
  t.is(await ta.deps.jobs.tick(), 1);
  t.is((await User.findByPk(s.zhang))!.deptId, s.A, 'cancelled: not moved');
  s.admin = await signIn(ta, 'org.admin'); // days went by: the old session ran out
  await ta.deps.dispatcher.dispatchDue();
  const zhangMsgs = await ta.deps.db.models.InboxMessage.findAll({ where: { userId: s.zhang }, raw: true });
  t.true(zhangMsgs.some((m) => m.title === '您的调动已撤销'));

  // bad input changes nothing
  t.is((await s.admin.post(T, { person: 'E999', toDeptId: s.B, effectiveDate: '2026-12-01', reason: 'x' })).status, 400);
  t.is((await s.admin.post(T, { personId: s.zhang, toDeptId: s.B, effectiveDate: '2026-02-30', reason: 'x' })).status, 400);
  t.is((await s.admin.post(T, { personId: s.zhang, toDeptId: s.A, effectiveDate: '2026-12-01', reason: 'x' })).status, 400, 'nothing would change');
  t.is((await s.admin.post(T, { toDeptId: s.B, effectiveDate: '2026-12-01', reason: 'x' })).status, 400);
  t.is((await s.admin.post(T, { personId: s.zhang, toDeptId: 99999, effectiveDate: '2026-12-01', reason: 'x' })).status, 400);

  // list and filters
  const all = await s.admin.get(T);
  t.is(all.body.total, 4);
  t.is((await s.admin.get(`${T}?status=cancelled`)).body.total, 2);
  t.is((await s.admin.get(`${T}?dateFrom=2026-11-21&dateTo=2026-11-30`)).body.total, 1);
  t.is((await s.admin.get(`${T}?deptId=${s.A}&status=effective`)).body.total, 2);
});

test('the transfer summary exports to Excel with Chinese headers', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  await s.admin.post(T, { personId: s.zhang, toDeptId: s.B, effectiveDate: '2026-11-20', reason: '工作需要' });
  const second = await s.admin.post(T, { personId: s.headA, toDeptId: s.B, effectiveDate: '2026-12-10', reason: '轮岗' });
  await s.admin.post(`${T}/${second.body.id}/approve`);
  const r = await s.admin.get(`${T}/export.xlsx`);
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /spreadsheetml/);
  t.regex(r.headers.get('content-disposition') ?? '', /attachment/);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(r.bytes as unknown as ExcelJS.Buffer);
  const ws = wb.getWorksheet('调动汇总')!;
  const header = (ws.getRow(1).values as unknown[]).slice(1);
  t.deepEqual(header.slice(0, 4), ['工号', '姓名', '原部门', '新部门']);
  t.true(header.includes('生效日期'));
  t.is(ws.rowCount, 3);
  const rows = [2, 3].map((i) => (ws.getRow(i).values as unknown[]).slice(1));
  t.deepEqual(rows[0]!.slice(0, 4), ['E100', '张三', 'A科', 'B科']);
  t.is(rows[0]![8], '2026-11-20');
  t.is(rows[0]![10], '待审批');
  t.deepEqual(rows[1]!.slice(0, 4), ['E001', '甲主任', 'A科', 'B科']);
  t.is(rows[1]![10], '已审批（待生效）');
  // filtered
  const only = await s.admin.get(`${T}/export.xlsx?status=approved`);
  const wb2 = new ExcelJS.Workbook();
  await wb2.xlsx.load(only.bytes as unknown as ExcelJS.Buffer);
  t.is(wb2.getWorksheet('调动汇总')!.rowCount, 2);
  t.is((await audits(ta.deps.db, 'org.transfer.export')).length, 2);
});

test('information changes: a person asks for their own file, the org admin approves or rejects, the person is told', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User } = ta.deps.db.models;
  const me = await signIn(ta, 'zhang');

  t.is((await me.post(INFO, { changes: {} })).status, 400, 'nothing to change');
  t.is((await me.post(INFO, { personId: s.headA, changes: { mobile: '13900000000' } })).status, 403, 'only for oneself');
  t.is((await me.post(INFO, { changes: { name: '改名' } })).status, 400, 'only the allowed fields');
  const req = await me.post(INFO, { changes: { mobile: '13800000000', mobilePublic: true, email: 'zhang@example.com' }, reason: '换号' });
  t.is(req.status, 201, JSON.stringify(req.body));
  t.is(req.body.status, 'pending');
  t.is((await User.findByPk(s.zhang))!.mobile, null, 'nothing changes before approval');
  t.is((await me.get(`${INFO}/mine`)).body.total, 1);

  // staff may not decide
  t.is((await me.post(`${INFO}/${req.body.id}/approve`)).status, 403);
  t.is((await me.get(INFO)).status, 403);

  t.is((await s.admin.get(`${INFO}?status=pending`)).body.total, 1);
  const ok = await s.admin.post(`${INFO}/${req.body.id}/approve`);
  t.is(ok.status, 200, JSON.stringify(ok.body));
  t.is(ok.body.status, 'approved');
  t.deepEqual(ok.body.priorValues, { mobile: null, email: null, mobilePublic: false });
  const u = (await User.findByPk(s.zhang))!;
  t.is(u.mobile, '13800000000');
  t.is(u.email, 'zhang@example.com');
  t.true(!!u.mobilePublic);
  t.is((await s.admin.post(`${INFO}/${req.body.id}/approve`)).status, 409);
  const a = await audits(ta.deps.db, 'org.person.info_change');
  t.is(a.length, 1);
  t.is(a[0]!.detail.before.mobile, null);
  t.is(a[0]!.detail.after.mobile, '13800000000');

  // rejected: the file stays as it is
  const req2 = await me.post(INFO, { changes: { workPhone: '8888' } });
  t.is((await s.admin.post(`${INFO}/${req2.body.id}/reject`, {})).status, 400, 'a reason is required');
  const no = await s.admin.post(`${INFO}/${req2.body.id}/reject`, { reason: '号码有误' });
  t.is(no.status, 200);
  t.is(no.body.status, 'rejected');
  t.is(no.body.decisionNote, '号码有误');
  t.is((await User.findByPk(s.zhang))!.workPhone, null);
  t.is((await s.admin.post(`${INFO}/${req2.body.id}/approve`)).status, 409);

  await ta.deps.dispatcher.dispatchDue();
  await ta.deps.dispatcher.dispatchDue();
  const inbox = await me.get('/api/v1/inbox');
  t.is(inbox.body.total, 2);
  t.deepEqual(inbox.body.items.map((m: { title: string }) => m.title).sort(), ['您的信息变更已批准', '您的信息变更未通过'].sort());
});

test('batch update: all or nothing, audited per person; staff are refused every admin route', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User } = ta.deps.db.models;
  const ids = [s.zhang, s.headA, s.headB];
  const snapshot = async () => (await User.findAll({ where: { id: ids }, order: [['id', 'ASC']], raw: true })).map((u) => [u.deptId, u.postId, u.version]);
  const before = await snapshot();

  const bad = await s.admin.post(BATCH, { personIds: [s.zhang, 99999, s.headA], fields: { postId: s.doctor } });
  t.is(bad.status, 400);
  t.is(bad.body.errors[0].path, 'personIds[1]');
  t.deepEqual(await snapshot(), before, 'one bad id: nothing changed');
  t.is((await s.admin.post(BATCH, { personIds: ids, fields: { postId: 99999 } })).status, 400);
  t.is((await s.admin.post(BATCH, { personIds: ids, fields: { deptId: 99999, postId: s.doctor } })).status, 400);
  t.deepEqual(await snapshot(), before, 'a bad field value: nothing changed');
  t.is((await s.admin.post(BATCH, { personIds: ids, fields: {} })).status, 400);

  const ok = await s.admin.post(BATCH, { personIds: ids, fields: { postId: s.doctor, deptId: s.B } });
  t.is(ok.status, 200, JSON.stringify(ok.body));
  t.deepEqual(ok.body, { updated: 3, unchanged: 0 });
  for (const u of await User.findAll({ where: { id: ids }, raw: true })) {
    t.is(u.postId, s.doctor);
    t.is(u.deptId, s.B);
  }
  const a = await audits(ta.deps.db, 'org.person.batch_update');
  t.is(a.length, 3);
  t.deepEqual(a.map((x) => Number(x.objectId)).sort((x, y) => x - y), [...ids].sort((x, y) => x - y));
  // again: nothing to change
  t.deepEqual((await s.admin.post(BATCH, { personIds: ids, fields: { postId: s.doctor } })).body, { updated: 0, unchanged: 3 });

  const staff = await signIn(ta, 'zhang');
  const draft = await s.admin.post(T, { personId: s.zhang, toDeptId: s.A, effectiveDate: '2026-12-01', reason: 'x' });
  t.is((await staff.post(BATCH, { personIds: ids, fields: { postId: s.nurse } })).status, 403);
  t.is((await staff.get(T)).status, 403);
  t.is((await staff.get(`${T}/lookup?q=E100`)).status, 403);
  t.is((await staff.get(`${T}/export.xlsx`)).status, 403);
  t.is((await staff.post(T, { personId: s.zhang, toDeptId: s.A, effectiveDate: '2026-12-01', reason: 'x' })).status, 403);
  t.is((await staff.post(`${T}/${draft.body.id}/approve`)).status, 403);
  t.is((await staff.post(`${T}/${draft.body.id}/cancel`)).status, 403);
  t.is((await staff.post(`${INFO}/1/reject`, { reason: 'x' })).status, 403);
});

// ---- R12.3: a transfer whose move fails on its date is not silent ---------------------------------

async function inboxTitles(ta: TestApp, userId: number): Promise<string[]> {
  await ta.deps.dispatcher.dispatchDue();
  await ta.deps.dispatcher.dispatchDue();
  return (await ta.deps.db.models.InboxMessage.findAll({ where: { userId }, order: [['id', 'ASC']], raw: true })).map((m) => m.title);
}

test('R12.3: the target department disabled before the date: the transfer fails with a Chinese reason, admins and the author are told, retry after fixing', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User, Job, Transfer, InboxMessage } = ta.deps.db.models;
  // a second org admin (told too) and an author who is an org admin through a department-scoped role
  const admin2 = await ta.createUser({ username: 'org.admin2', name: '第二管理员', roles: ['orgadmin'] });
  const adminId = (await User.findOne({ where: { username: 'org.admin' } }))!.id;

  const tr = (await s.admin.post(T, { personId: s.zhang, toDeptId: s.B, effectiveDate: '2026-11-28', reason: '工作需要' })).body;
  t.is((await s.admin.post(`${T}/${tr.id}/approve`)).body.status, 'approved');
  // meanwhile the target department is disabled
  const off = await s.admin.send('PATCH', `/api/v1/org/departments/${s.B}`, { enabled: false });
  t.is(off.status, 200, JSON.stringify(off.body));

  ta.clock.set('2026-11-27T16:00:00Z');
  t.is(await ta.deps.jobs.tick(), 1);
  t.is((await User.findByPk(s.zhang))!.deptId, s.A, 'not moved');
  const row = (await Transfer.findByPk(tr.id))!;
  t.is(row.status, 'failed');
  t.is(row.failureReason, '调入部门「B科」已停用');
  t.is(new Date(row.failedAt!).toISOString(), '2026-11-27T16:00:00.000Z');
  const job = (await Job.findOne({ where: { kind: TRANSFER_JOB }, raw: true }))!;
  t.is(job.status, 'done', 'the job ended: not a dead job, the transfer carries the failure');
  const failed = await audits(ta.deps.db, 'org.transfer.failed');
  t.is(failed.length, 1);
  t.is(failed[0]!.detail.after.failureReason, '调入部门「B科」已停用');
  t.is(failed[0]!.detail.before.status, 'approved');

  // told: both org admins (the author among them) once each; the person is not bothered
  const titles = await inboxTitles(ta, adminId);
  t.deepEqual(titles, ['调动未能生效：张三']);
  t.deepEqual(await inboxTitles(ta, admin2), ['调动未能生效：张三']);
  const msg = (await InboxMessage.findOne({ where: { userId: adminId }, raw: true }))!;
  t.regex(msg.body ?? '', /张三调至「B科」的调动（2026-11-28 生效）未能执行：调入部门「B科」已停用。请处理后在调动管理中重试，或撤销该调动/);
  t.false((await inboxTitles(ta, s.zhang)).some((x) => x.includes('未能生效')));
  // a later tick does nothing more
  t.is(await ta.deps.jobs.tick(), 0);

  // visible in the list, the filter and the detail
  s.admin = await signIn(ta, 'org.admin');
  const list = await s.admin.get(`${T}?status=failed`);
  t.is(list.status, 200, JSON.stringify(list.body));
  t.is(list.body.total, 1);
  t.is(list.body.items[0].failureReason, '调入部门「B科」已停用');
  const detail = await s.admin.get(`${T}/${tr.id}`);
  t.is(detail.body.status, 'failed');
  t.is(detail.body.failureReason, '调入部门「B科」已停用');
  t.is((await s.admin.get(`${T}?status=approved`)).body.total, 0);
  t.is((await s.admin.get(`${T}?status=broken`)).status, 400);

  // the Excel summary says so
  const x = await s.admin.get(`${T}/export.xlsx?status=failed`);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(x.bytes as unknown as ExcelJS.Buffer);
  const values = (wb.getWorksheet('调动汇总')!.getRow(2).values as unknown[]).slice(1);
  t.true(values.includes('生效失败'));
  t.true(values.includes('调入部门「B科」已停用'));

  // retry before fixing the cause: 409 saying why, still failed, nothing moved, no new message
  const early = await s.admin.post(`${T}/${tr.id}/retry`);
  t.is(early.status, 409);
  t.is(early.body.detail, '调动仍无法生效：调入部门「B科」已停用');
  t.is((await Transfer.findByPk(tr.id))!.status, 'failed');
  t.is((await User.findByPk(s.zhang))!.deptId, s.A);
  t.is((await inboxTitles(ta, adminId)).length, 1);
  // only failed transfers can be retried; staff cannot
  const draft = (await s.admin.post(T, { personId: s.headA, toDeptId: s.root, effectiveDate: '2026-12-20', reason: '轮岗' })).body;
  t.is((await s.admin.post(`${T}/${draft.id}/retry`)).status, 409);
  t.is((await s.admin.post(`${T}/999999/retry`)).status, 404);
  t.is((await (await signIn(ta, 'zhang')).post(`${T}/${tr.id}/retry`)).status, 403);

  // the cause fixed: retry applies it at once
  t.is((await s.admin.send('PATCH', `/api/v1/org/departments/${s.B}`, { enabled: true })).status, 200);
  const ok = await s.admin.post(`${T}/${tr.id}/retry`);
  t.is(ok.status, 200, JSON.stringify(ok.body));
  t.is(ok.body.status, 'effective');
  t.is(ok.body.failureReason, null);
  t.is((await User.findByPk(s.zhang))!.deptId, s.B);
  // the failed retry rolled back as a whole; its new failure was recorded on its own
  t.is((await audits(ta.deps.db, 'org.transfer.retry')).length, 1);
  t.is((await audits(ta.deps.db, 'org.transfer.failed')).length, 2);
  t.is((await audits(ta.deps.db, 'org.transfer.effective')).length, 1);
  t.is((await s.admin.post(`${T}/${tr.id}/retry`)).status, 409, 'an effective transfer is not retried');
});

test('R12.3: the target department deleted before the date: failed with the reason; the admin cancels it and the person is told', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User, Transfer } = ta.deps.db.models;
  const c = (await s.admin.post('/api/v1/org/departments', { code: 'C', name: 'C科', parentId: s.root, kind: 'clinical' })).body.id as number;
  const tr = (await s.admin.post(T, { personId: s.zhang, toDeptId: c, effectiveDate: '2026-11-28', reason: '新科室' })).body;
  t.is((await s.admin.post(`${T}/${tr.id}/approve`)).status, 200);
  t.is((await s.admin.send('DELETE', `/api/v1/org/departments/${c}`)).status, 204);

  ta.clock.set('2026-11-28T01:00:00Z');
  t.is(await ta.deps.jobs.tick(), 1);
  const row = (await Transfer.findByPk(tr.id))!;
  t.is(row.status, 'failed');
  t.is(row.failureReason, `调入部门已被删除（部门编号 ${c}）`);
  t.is((await User.findByPk(s.zhang))!.deptId, s.A);

  s.admin = await signIn(ta, 'org.admin');
  const cancelled = await s.admin.post(`${T}/${tr.id}/cancel`, { reason: '科室已撤销' });
  t.is(cancelled.status, 200, JSON.stringify(cancelled.body));
  t.is(cancelled.body.status, 'cancelled');
  t.is(cancelled.body.failureReason, row.failureReason, 'the failure stays on record');
  t.is((await s.admin.post(`${T}/${tr.id}/retry`)).status, 409);
  const titles = await inboxTitles(ta, s.zhang);
  t.true(titles.includes('您的调动已撤销'));
});

test('R12.3: a person disabled before the date: the transfer fails instead of moving a disabled person', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User, Transfer } = ta.deps.db.models;
  const tr = (await s.admin.post(T, { personId: s.zhang, toDeptId: s.B, effectiveDate: '2026-11-28', reason: '工作需要' })).body;
  await s.admin.post(`${T}/${tr.id}/approve`);
  const off = await s.admin.post(`/api/v1/org/people/${s.zhang}/disable`, { successorId: s.headA, reason: '离职' });
  t.is(off.status, 200, JSON.stringify(off.body));
  ta.clock.set('2026-11-28T00:00:00Z');
  await ta.deps.jobs.tick();
  t.is((await Transfer.findByPk(tr.id))!.failureReason, '张三已停用，不能再调动');
  t.is((await User.findByPk(s.zhang))!.deptId, s.A);
});

test('R12.3: a transient database error is retried with backoff, not marked failed; only the last attempt fails the transfer', async (t) => {
  const ta = await startTestApp(t);
  const s = await setup(ta);
  const { User, Job, Transfer, Department } = ta.deps.db.models;
  const tr = (await s.admin.post(T, { personId: s.zhang, toDeptId: s.B, effectiveDate: '2026-11-28', reason: '工作需要' })).body;
  await s.admin.post(`${T}/${tr.id}/approve`);

  // the database drops out while the job runs
  const original = Department.findByPk.bind(Department);
  let down = true;
  (Department as unknown as { findByPk: unknown }).findByPk = (...args: Parameters<typeof Department.findByPk>) => {
    // only the move's own read fails: recording the failure afterwards works (a brief outage)
    const attrs = (args[1] as { attributes?: string[] } | undefined)?.attributes ?? [];
    if (down && attrs.includes('enabled')) throw new ConnectionError(new Error('connect ECONNREFUSED 127.0.0.1:3306'));
    return original(...args);
  };
  t.teardown(() => {
    (Department as unknown as { findByPk: unknown }).findByPk = original;
  });
  ta.clock.set('2026-11-28T00:00:00Z');
  t.is(await ta.deps.jobs.tick(), 1);
  let job = (await Job.findOne({ where: { kind: TRANSFER_JOB }, raw: true }))!;
  t.is(job.status, 'pending', 'back in the queue');
  t.true(new Date(job.runAt).getTime() > ta.clock.now().getTime(), 'after a backoff');
  t.regex(job.lastError ?? '', /ECONNREFUSED/);
  t.is((await Transfer.findByPk(tr.id))!.status, 'approved', 'not failed');
  t.is((await audits(ta.deps.db, 'org.transfer.failed')).length, 0);

  // the database is back: the next attempt moves the person
  down = false;
  ta.clock.advance(60 * 60_000);
  t.is(await ta.deps.jobs.tick(), 1);
  t.is((await Transfer.findByPk(tr.id))!.status, 'effective');
  t.is((await User.findByPk(s.zhang))!.deptId, s.B);

  // a second transfer whose every attempt meets the outage: the last one records the failure
  s.admin = await signIn(ta, 'org.admin');
  const tr2 = (await s.admin.post(T, { personId: s.zhang, toDeptId: s.A, effectiveDate: '2026-11-30', reason: '回调' })).body;
  t.is((await s.admin.post(`${T}/${tr2.id}/approve`)).body.status, 'approved');
  await Job.update({ maxAttempts: 2 }, { where: { dedupeKey: `${TRANSFER_JOB}:${tr2.id}` } });
  down = true;
  ta.clock.set('2026-11-30T00:00:00Z');
  t.is(await ta.deps.jobs.tick(), 1);
  t.is((await Transfer.findByPk(tr2.id))!.status, 'approved', 'first attempt: retried');
  ta.clock.advance(60 * 60_000);
  t.is(await ta.deps.jobs.tick(), 1);
  down = false;
  const failed = (await Transfer.findByPk(tr2.id))!;
  t.is(failed.status, 'failed');
  t.is(failed.failureReason, '系统在 2 次自动重试后仍未能执行调动（数据库暂时无法连接）；请确认系统恢复正常后重试');
  job = (await Job.findOne({ where: { dedupeKey: `${TRANSFER_JOB}:${tr2.id}` }, raw: true }))!;
  t.is(job.status, 'done');
  await ta.deps.dispatcher.dispatchDue();
  const adminId = (await User.findOne({ where: { username: 'org.admin' } }))!.id;
  t.true((await inboxTitles(ta, adminId)).includes('调动未能生效：张三'));
  // and the admin retries it once the database is fine
  s.admin = await signIn(ta, 'org.admin');
  t.is((await s.admin.post(`${T}/${tr2.id}/retry`)).body.status, 'effective');
  t.is((await User.findByPk(s.zhang))!.deptId, s.A);
});
