import test from 'ava';
import ExcelJS from 'exceljs';
import { startTestApp, USER_PASSWORD } from './helpers/app.ts';
import { EXPENSE_FORM, LEAVE_FORM } from '../src/forms/fixtures.ts';

// Summary tables over the form data index (R3.14, R3.18, R16.9) and the admin data tools: find by
// any field, correct with a reason, history, re-index (R16.10). Through the HTTP API.

const F = '/api/v1/forms';

async function setup(t: Parameters<typeof startTestApp>[0]) {
  const ta = await startTestApp(t);
  ta.clock.set('2026-11-25T02:00:00Z');
  const { Department, User } = ta.deps.db.models;
  const d1 = await Department.create({ code: 'D1', name: '口腔内科', parentId: null, campusId: null, kind: 'clinical' });
  const d2 = await Department.create({ code: 'D2', name: '口腔外科', parentId: null, campusId: null, kind: 'clinical' });
  const ids = {
    alice: await ta.createUser({ username: 'alice', name: '张丽' }),
    bob: await ta.createUser({ username: 'bob', name: '王博' }),
    admin: await ta.createUser({ username: 'dataadmin', name: '数据管理员', roles: ['processadmin'] }),
  };
  await User.update({ deptId: d1.id }, { where: { id: ids.alice } });
  await User.update({ deptId: d2.id }, { where: { id: ids.bob } });
  const login = async (u: string) => {
    const c = ta.client();
    await c.login(u, USER_PASSWORD);
    return c;
  };
  const c = { alice: await login('alice'), bob: await login('bob'), admin: await login('dataadmin') };
  const pub = async (key: string, draft: unknown) => {
    const created = await c.admin.post(`${F}/defs`, { key, draft, standalone: true });
    await c.admin.post(`${F}/defs/${created.body.id}/publish`);
    return created.body.id as number;
  };
  return { ta, c, ids, d1: d1.id, d2: d2.id, pub };
}

test('R3.18 R16.9 summary tables: group by up to two fields, count/sum/avg/min/max, filters eq/range/contains/in, sub-table rows, Excel export, saved reports', async (t) => {
  const { c, d1, d2, pub } = await setup(t);
  const leave = await pub('leave', LEAVE_FORM);
  const L = (who: 'alice' | 'bob', leaveType: string, start: string, end: string, reason = '事由说明') =>
    c[who].post(`${F}/submissions`, { formId: leave, data: { leaveType, period: { start, end }, reason, ...(leaveType === 'sick' ? { headOpinion: '同意' } : {}) } });
  t.is((await L('alice', 'personal', '2026-11-30', '2026-12-02')).status, 201); // 3 days
  t.is((await L('alice', 'sick', '2026-12-07', '2026-12-08', '发烧就诊')).status, 201); // 2
  t.is((await L('bob', 'personal', '2026-12-01', '2026-12-01')).status, 201); // 1
  t.is((await L('bob', 'annual', '2026-12-14', '2026-12-18', '年休')).status, 201); // 5

  const run = (spec: unknown) => c.admin.post(`${F}/data/summary`, { formId: leave, spec });
  t.is((await c.alice.post(`${F}/data/summary`, { formId: leave, spec: { measures: [{ agg: 'count' }] } })).status, 403);

  const byType = await run({ groupBy: ['leaveType'], measures: [{ agg: 'count' }, { field: 'days', agg: 'sum' }, { field: 'days', agg: 'avg' }, { field: 'days', agg: 'max' }] });
  t.is(byType.status, 200, JSON.stringify(byType.body));
  t.deepEqual(
    byType.body.rows.map((r: { groups: Array<{ label: string }>; values: Record<string, number> }) => [r.groups[0]!.label, r.values.v0, r.values.v1, r.values.v2, r.values.v3]),
    [
      ['年假', 1, 5, 5, 5],
      ['事假', 2, 4, 2, 3],
      ['病假', 1, 2, 2, 2],
    ],
  );
  t.deepEqual(byType.body.total, { v0: 4, v1: 11, v2: 2.75, v3: 5 });

  const two = await run({ groupBy: ['dept', 'leaveType'], measures: [{ agg: 'count' }, { field: 'days', agg: 'min' }] });
  t.deepEqual(
    two.body.rows.map((r: { groups: Array<{ label: string }>; values: Record<string, number> }) => [...r.groups.map((g) => g.label), r.values.v0]),
    [
      ['口腔内科', '事假', 1],
      ['口腔内科', '病假', 1],
      ['口腔外科', '年假', 1],
      ['口腔外科', '事假', 1],
    ],
  );
  const filtered = await run({
    groupBy: ['$dept'],
    measures: [{ agg: 'count' }, { field: 'days', agg: 'sum' }],
    filters: [
      { field: 'leaveType', op: 'in', values: ['personal', 'sick'] },
      { field: 'period.start', op: 'range', from: '2026/11/30', to: '2026年12月7日' },
      { field: 'reason', op: 'contains', value: '事由' },
    ],
  });
  t.deepEqual(
    filtered.body.rows.map((r: { groups: Array<{ value: number }>; values: Record<string, number> }) => [r.groups[0]!.value, r.values.v0, r.values.v1]),
    [
      [d1, 1, 3],
      [d2, 1, 1],
    ],
  );
  const eq = await run({ measures: [{ agg: 'count' }], filters: [{ field: 'days', op: 'eq', value: '５' }] });
  t.deepEqual(eq.body.total, { v0: 1 });
  t.is((await run({ measures: [{ field: 'reason', agg: 'sum' }] })).status, 400, 'only numbers are summed');
  t.is((await run({ groupBy: ['a', 'b', 'c'], measures: [{ agg: 'count' }] })).status, 400, 'at most 2 group fields');
  t.is((await run({ measures: [{ agg: 'count' }], filters: [{ field: 'nosuch', op: 'eq', value: 1 }] })).status, 400);

  // Expense: sub-table rows as the grain (sum of amounts by category), money in fen, export in yuan.
  await c.admin.post(`${F}/sources`, { key: 'budget', name: '预算', keyColumn: 'no', columns: [{ key: 'no', label: '编号' }, { key: 'name', label: '名称' }, { key: 'balance', label: '余额', type: 'money' }], rows: [{ no: 'B1', name: '经费', balance: '100000' }] });
  const exp = await pub('expense', EXPENSE_FORM);
  const E = (who: 'alice' | 'bob', items: Array<[string, string]>) =>
    c[who].post(`${F}/submissions`, { formId: exp, data: { dept: who === 'alice' ? d1 : d2, budgetNo: 'B1', items: items.map(([category, amount]) => ({ date: '2026-11-20', category, amount })) } });
  t.is((await E('alice', [['差旅', '100.50'], ['办公', '20']])).status, 201);
  t.is((await E('bob', [['差旅', '300'], ['差旅', '0.25']])).status, 201);
  const byCat = await c.admin.post(`${F}/data/summary`, { formId: exp, spec: { groupBy: ['items.category'], measures: [{ agg: 'count' }, { field: 'items.amount', agg: 'sum' }] } });
  t.is(byCat.status, 200, JSON.stringify(byCat.body));
  t.is(byCat.body.grain, 'row');
  t.deepEqual(
    byCat.body.rows.map((r: { groups: Array<{ label: string }>; values: Record<string, number> }) => [r.groups[0]!.label, r.values.v0, r.values.v1]),
    [
      ['办公', 1, 2000],
      ['差旅', 3, 40075],
    ],
  );
  t.true(byCat.body.columns[2].money);
  const rowFilter = await c.admin.post(`${F}/data/summary`, { formId: exp, spec: { groupBy: ['dept'], measures: [{ field: 'items.amount', agg: 'sum' }], filters: [{ field: 'items.category', op: 'eq', value: '差旅' }] } });
  t.deepEqual(
    rowFilter.body.rows.map((r: { groups: Array<{ label: string }>; values: Record<string, number> }) => [r.groups[0]!.label, r.values.v0]),
    [
      ['口腔内科', 10050],
      ['口腔外科', 30025],
    ],
    'a filter on a column of the grain table selects rows',
  );
  const totals = await c.admin.post(`${F}/data/summary`, { formId: exp, spec: { measures: [{ field: 'total', agg: 'sum' }], filters: [{ field: 'total', op: 'range', from: '150' }] } });
  t.deepEqual(totals.body.total, { v0: 30025 }, 'money filters in yuan');

  const xlsx = await c.admin.post(`${F}/data/summary/export`, { formId: exp, spec: { groupBy: ['items.category'], measures: [{ field: 'items.amount', agg: 'sum', label: '金额' }] } });
  t.is(xlsx.status, 200);
  t.regex(xlsx.headers.get('content-disposition') ?? '', /xlsx/);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx.bytes as unknown as ArrayBuffer);
  const ws = wb.worksheets[0]!;
  t.deepEqual(ws.getRow(1).values, [undefined, '费用明细.类别', '金额（元）']);
  t.deepEqual(ws.getRow(3).values, [undefined, '差旅', 400.75]);
  t.deepEqual(ws.getRow(4).values, [undefined, '合计', 420.75]);

  const saved = await c.admin.post(`${F}/data/reports`, { formId: leave, name: '请假汇总', spec: { groupBy: ['leaveType'], measures: [{ agg: 'count' }] } });
  t.is(saved.status, 201);
  const ran = await c.admin.get(`${F}/data/reports/${saved.body.id}/run`);
  t.is(ran.body.rows.length, 3);
  t.is((await c.admin.get(`${F}/data/reports/${saved.body.id}/export`)).status, 200);
  t.is((await c.admin.get(`${F}/data/reports?formId=${leave}`)).body.items.length, 1);
  t.is((await c.admin.send('DELETE', `${F}/data/reports/${saved.body.id}`)).status, 204);
});

test('R16.10 admin data tools: find by any field, correct with a reason (re-validated, re-indexed, audited), history kept, stale rev 409', async (t) => {
  const { ta, c, pub } = await setup(t);
  const leave = await pub('leave', LEAVE_FORM);
  const a = await c.alice.post(`${F}/submissions`, { formId: leave, data: { leaveType: 'personal', period: { start: '2026-11-30', end: '2026-12-02' }, reason: '家中有事' } });
  await c.bob.post(`${F}/submissions`, { formId: leave, data: { leaveType: 'sick', period: { start: '2026-12-01', end: '2026-12-01' }, reason: '感冒' } });

  t.is((await c.alice.post(`${F}/data/search`, { formId: leave, filters: [] })).status, 403);
  const found = await c.admin.post(`${F}/data/search`, { formId: leave, filters: [{ field: 'reason', op: 'contains', value: '家中' }] });
  t.is(found.status, 200);
  t.deepEqual(found.body.items.map((s: { id: number }) => s.id), [a.body.id]);
  const byDays = await c.admin.post(`${F}/data/search`, { formId: leave, filters: [{ field: 'days', op: 'range', from: 2 }] });
  t.is(byDays.body.total, 1);

  const noReason = await c.admin.post(`${F}/data/submissions/${a.body.id}/corrections`, { rev: 1, changes: { period: { start: '2026-11-30', end: '2026-12-04' } } });
  t.is(noReason.status, 400);
  const badValue = await c.admin.post(`${F}/data/submissions/${a.body.id}/corrections`, { rev: 1, changes: { leaveType: 'bogus' }, reason: '核对原始单据' });
  t.is(badValue.status, 400);
  t.is(badValue.body.errors[0].path, 'leaveType');
  const serial = await c.admin.post(`${F}/data/submissions/${a.body.id}/corrections`, { rev: 1, changes: { serialNo: 'X' }, reason: '核对原始单据' });
  t.is(serial.status, 400);
  const ok = await c.admin.post(`${F}/data/submissions/${a.body.id}/corrections`, { rev: 1, changes: { period: { start: '2026-11-30', end: '2026-12-04' }, applicant: a.body.submitterId }, reason: '核对原始单据，结束日期有误' });
  t.is(ok.status, 200, JSON.stringify(ok.body));
  t.is(ok.body.rev, 2);
  t.is(ok.body.data.days, 5, 'computed fields recomputed');
  t.deepEqual(
    ok.body.changes.map((x: { path: string }) => x.path).sort(),
    ['days', 'period'],
  );
  t.is((await c.admin.post(`${F}/data/submissions/${a.body.id}/corrections`, { rev: 1, changes: { reason: '再改' }, reason: '再次更正' })).status, 409);

  // Re-indexed: the summary sees the new value; history keeps the old one; audited with the reason.
  const sum = await c.admin.post(`${F}/data/summary`, { formId: leave, spec: { measures: [{ field: 'days', agg: 'sum' }] } });
  t.deepEqual(sum.body.total, { v0: 6 });
  const hist = await c.admin.get(`${F}/data/submissions/${a.body.id}/history`);
  t.is(hist.body.changes.length, 1);
  t.is(hist.body.changes[0].reason, '核对原始单据，结束日期有误');
  t.is(hist.body.changes[0].actorName, '数据管理员');
  t.deepEqual(hist.body.changes[0].changes.find((x: { path: string }) => x.path === 'days'), { path: 'days', old: 3, new: 5 });
  const audit = await ta.deps.db.models.AuditLog.findOne({ where: { action: 'form.correct' } });
  t.truthy(audit);
  t.regex(JSON.stringify(audit!.detail), /结束日期有误/);
  // The submitter sees the corrected data.
  t.is((await c.alice.get(`${F}/submissions/${a.body.id}`)).body.data.days, 5);
});
