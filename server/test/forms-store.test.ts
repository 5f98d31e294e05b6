import test from 'ava';
import { startTestApp } from './helpers/app.ts';
import { FormService, formatSerial, indexRowsOf } from '../src/forms/service.ts';
import { compileSchema, validateSubmission } from '../src/forms/index.ts';
import { EXPENSE_FORM, LEAVE_FORM } from '../src/forms/fixtures.ts';

// Persistence (issue 5 items 6 and 8; R16.5, R16.9, R3.14): versions, submissions, field index, serials.
// Service level; the HTTP routes are still to come.

const actor = { id: 1, name: 'admin' };

test('R16.9 index rows: one per scalar, sub-table cells with row numbers, totals, dates typed', (t) => {
  const form = compileSchema(EXPENSE_FORM);
  const r = validateSubmission(EXPENSE_FORM, { budgetNo: 'YS-1', items: [{ date: '2026-11-20', category: '差旅', amount: '12.5' }, { date: '2026-11-21', category: '办公', amount: '1' }] }, { now: new Date('2026-11-25T02:00:00Z'), user: { id: 7, name: '王', deptId: 3 } });
  t.true(r.ok, JSON.stringify(r.errors));
  const rows = indexRowsOf(form, r.value, r.totals);
  t.deepEqual(rows.find((x) => x.fieldKey === 'total'), { fieldKey: 'total', rowNo: -1, valueText: null, valueNum: '1350', valueDate: null, valueMonth: null, valueYear: null });
  t.deepEqual(rows.filter((x) => x.fieldKey === 'items.amount').map((x) => [x.rowNo, x.valueNum]), [[0, '1250'], [1, '100']]);
  t.deepEqual(rows.find((x) => x.fieldKey === 'items.date' && x.rowNo === 1)?.valueDate, '2026-11-21');
  t.like(rows.find((x) => x.fieldKey === 'items.date' && x.rowNo === 1), { valueMonth: '2026-11', valueYear: '2026' }, 'R3.14 month and year stored for grouping');
  t.deepEqual(rows.find((x) => x.fieldKey === 'items.amount.$total')?.valueNum, '1350');
  t.is(formatSerial('QJ-{yyyy}-{0000}', new Date('2026-12-31T17:00:00Z'), 7), 'QJ-2027-0007', 'Beijing date');
});

test('R16.5 publish freezes a version; submissions keep theirs; serials count per year; index written', async (t) => {
  const ta = await startTestApp(t);
  const svc = new FormService(ta.deps.db, ta.clock);
  const formId = await svc.createForm(actor, 'leave', LEAVE_FORM);
  await t.throwsAsync(svc.submit({ actor, user: { id: 1, name: 'admin' } }, formId, {}), { message: '表单尚未发布' });
  const v1 = await svc.publish(actor, formId);
  t.is(v1.version, 1);
  const who = { actor, user: { id: 1, name: 'admin', deptId: null } };
  const data = { leaveType: 'personal', period: { start: '2026-11-30', end: '2026-12-02' }, reason: '家中有事' };
  const a = await svc.submit(who, formId, data);
  const b = await svc.submit(who, formId, data);
  t.is(a.serialNo, 'QJ-2026-0001');
  t.is(b.serialNo, 'QJ-2026-0002');
  // A new draft with a new required field, published as version 2.
  const draft2 = { ...LEAVE_FORM, fields: [...LEAVE_FORM.fields, { key: 'phone', label: '联系电话', type: 'text' as const, required: true }] };
  await svc.updateDraft(actor, formId, draft2, 1);
  await t.throwsAsync(svc.updateDraft(actor, formId, draft2, 1), { message: /已被他人修改/ });
  const v2 = await svc.publish(actor, formId);
  t.is(v2.version, 2);
  const bad = await t.throwsAsync(svc.submit(who, formId, data));
  t.regex((bad as Error & { errors?: Array<{ message: string }> }).errors?.[0]?.message ?? '', /请填写联系电话/);
  const old = await svc.submission(a.id);
  t.is(old.versionId, v1.versionId, 'old submissions keep their version');
  const { form } = await svc.version(old.versionId);
  t.true(validateSubmission(form.schema, old.data, { previous: old.data }).ok, 'and still validate exactly as before');
  // Field index rows exist and are queryable by typed column.
  const rows = await ta.deps.db.models.FormFieldIndex.findAll({ where: { submissionId: a.id, fieldKey: 'days' }, raw: true });
  t.is(Number(rows[0]!.valueNum), 3);
  // Year rollover restarts the counter.
  ta.clock.set('2027-01-02T02:00:00Z');
  const c = await svc.submit(who, formId, { ...data, phone: '1', period: { start: '2026-12-28', end: '2026-12-30' } });
  t.is(c.serialNo, 'QJ-2027-0001');
  // Audited.
  const audits = await ta.deps.db.models.AuditLog.findAll({ where: { action: 'form.submit' }, raw: true });
  t.is(audits.length, 3);
});

test('R16.5 a schema with errors cannot be saved; duplicate keys are refused', async (t) => {
  const ta = await startTestApp(t);
  const svc = new FormService(ta.deps.db, ta.clock);
  const err = await t.throwsAsync(svc.createForm(actor, 'x', { title: 'x', fields: [{ key: 'a', label: 'A', type: 'hologram' }] }));
  t.regex((err as Error & { errors?: Array<{ message: string }> }).errors?.[0]?.message ?? '', /未知的字段类型/);
  await svc.createForm(actor, 'exp', EXPENSE_FORM);
  await t.throwsAsync(svc.createForm(actor, 'exp', EXPENSE_FORM), { message: /已存在/ });
});

test('R16.1 serial numbers under concurrency: 20 parallel submits on a new period, then 20 more, get 40 distinct consecutive numbers', async (t) => {
  const ta = await startTestApp(t);
  const svc = new FormService(ta.deps.db, ta.clock);
  const formId = await svc.createForm(actor, 'leave', LEAVE_FORM);
  await svc.publish(actor, formId);
  const who = { actor, user: { id: 1, name: 'admin', deptId: null } };
  const data = { leaveType: 'personal', period: { start: '2026-11-30', end: '2026-12-02' }, reason: '家中有事' };
  const burst = () => Promise.all(Array.from({ length: 20 }, () => svc.submit(who, formId, data)));
  const first = await burst(); // the counter row of 2026 does not exist yet: the racing inserts
  const second = await burst(); // the row exists: the racing increments
  const serials = [...first, ...second].map((r) => r.serialNo).sort();
  t.deepEqual(serials, Array.from({ length: 40 }, (_, i) => `QJ-2026-${String(i + 1).padStart(4, '0')}`));
  const stored = await ta.deps.db.models.FormSubmission.findAll({ where: { formId }, attributes: ['serialNo'], raw: true });
  t.is(new Set(stored.map((s) => s.serialNo)).size, 40);
});
