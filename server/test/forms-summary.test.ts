import test, { type ExecutionContext } from 'ava';
import { startTestApp } from './helpers/app.ts';
import { FormService } from '../src/forms/service.ts';
import { compileSchema, type FormSchema } from '../src/forms/index.ts';
import { EXPENSE_FORM } from '../src/forms/fixtures.ts';
import { runSummary, summarySpecSchema, type SummarySpec } from '../src/forms/summary.ts';
import { loadSlots } from '../src/forms/summary-rows.ts';

// Summary rows (R3.14, R3.18, R16.9): the flat per-submission rows with numbered slots must give
// exactly what the one-row-per-value field index gives, for every field kind, filter and
// aggregate, across versions and corrections. Service level, on SQLite and (TEST_DB_URL) MariaDB.

const actor = { id: 1, name: 'admin' };
const KINDS = ['personal', 'sick', 'annual'];

const FORM: FormSchema = {
  title: '汇总测试',
  fields: [
    { key: 'kind', label: '类型', type: 'select', options: KINDS.map((v) => ({ value: v, label: v })) },
    { key: 'note', label: '说明', type: 'text' },
    { key: 'days', label: '天数', type: 'number', precision: 1 },
    { key: 'amount', label: '金额', type: 'money' },
    { key: 'on', label: '日期', type: 'date' },
    { key: 'at', label: '时间', type: 'datetime' },
    { key: 'period', label: '期间', type: 'daterange' },
    { key: 'dept', label: '科室', type: 'department' },
    { key: 'big', label: '大额', type: 'computed', resultType: 'boolean', formula: 'amount > 50000' },
    { key: 'tags', label: '标签', type: 'multiselect', options: KINDS.map((v) => ({ value: v, label: v })) },
  ],
};

/** Deterministic pseudo-random values (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function input(rand: () => number, depts: number[]): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const day = () => `2026-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
  const v: Record<string, unknown> = { kind: pick(KINDS), note: pick(['甲', '乙', '丙丁', '事由']), days: String(Math.floor(rand() * 50) / 10), on: day(), at: `${day()}T${pick(['01', '15', '23'])}:30:00Z`, dept: pick(depts), tags: [pick(KINDS)] };
  if (rand() < 0.8) v.amount = String(Math.floor(rand() * 100_000) / 100); // some missing
  if (rand() < 0.7) {
    const s = day();
    v.period = { start: s, end: s };
  }
  return v;
}

const SPECS: Array<Partial<SummarySpec>> = [
  { groupBy: ['kind'], measures: [{ agg: 'count' }, { field: 'amount', agg: 'sum' }, { field: 'days', agg: 'avg' }, { field: 'amount', agg: 'min' }, { field: 'days', agg: 'max' }, { field: 'amount', agg: 'count' }] },
  { groupBy: ['dept', 'kind'], measures: [{ agg: 'count' }, { field: 'amount', agg: 'sum' }] },
  { groupBy: ['$dept', 'big'], measures: [{ agg: 'count' }, { field: 'note', agg: 'count' }] },
  { groupBy: ['on'], measures: [{ agg: 'count' }], filters: [{ field: 'on', op: 'range', from: '2026-03-01', to: '2026年6月30日' }] },
  { groupBy: ['at'], measures: [{ agg: 'count' }], filters: [{ field: 'at', op: 'range', from: '2026-06-01' }] },
  { groupBy: ['period.start'], measures: [{ field: 'days', agg: 'sum' }], filters: [{ field: 'kind', op: 'in', values: ['personal', 'sick'] }] },
  { groupBy: ['$submitter', '$status'], measures: [{ agg: 'count' }], filters: [{ field: 'note', op: 'contains', value: '丙' }, { field: 'amount', op: 'range', from: '100' }] },
  { measures: [{ agg: 'count' }, { field: 'amount', agg: 'sum' }], filters: [{ field: 'kind', op: 'eq', value: 'sick' }, { field: 'big', op: 'eq', value: true }, { field: '$submittedAt', op: 'range', from: '2020-01-01', to: '2099-12-31' }] },
  { measures: [{ agg: 'count' }], filters: [{ field: 'days', op: 'eq', value: '１.５' }] },
  // R3.14 calendar units of dates: month and year of fields, of a date range end, of the submission
  { groupBy: ['on:month'], measures: [{ agg: 'count' }, { field: 'amount', agg: 'sum' }] },
  { groupBy: ['at:year', 'kind'], measures: [{ agg: 'count' }, { field: 'days', agg: 'avg' }] },
  { groupBy: ['period.end:month'], measures: [{ agg: 'count' }], filters: [{ field: 'on', op: 'range', from: '2026-02-01' }] },
  { groupBy: ['$submittedAt:month', 'on:year'], measures: [{ agg: 'count' }] },
  { groupBy: ['on:day'], measures: [{ agg: 'count' }] },
  // index only: a multi-valued field (no slot), mixed with slotted ones
  { groupBy: ['tags'], measures: [{ agg: 'count' }, { field: 'amount', agg: 'sum' }] },
  { groupBy: ['kind'], measures: [{ agg: 'count' }], filters: [{ field: 'tags', op: 'eq', value: 'sick' }] },
  { groupBy: ['on:month', '$submittedAt:year'], measures: [{ agg: 'count' }], filters: [{ field: 'tags', op: 'in', values: ['sick', 'annual'] }] },
];

/** Runs each spec on both plans; `indexOnly` names fields without a slot (those specs must not use the rows). */
async function agree(t: ExecutionContext, svc: FormService, formId: number, schema: FormSchema, specs: Array<Partial<SummarySpec>>, indexOnly: string[]) {
  const form = compileSchema(schema);
  let rowQueries = 0;
  svc.db.models.FormSummaryRow.addHook('beforeFind', 'count', () => void rowQueries++);
  for (const raw of specs) {
    const spec = summarySpecSchema.parse(raw);
    const before = rowQueries;
    const viaRows = await runSummary(svc.db, form, formId, spec);
    const refs = [...spec.groupBy, ...spec.measures.map((m) => m.field), ...spec.filters.map((f) => f.field)];
    t.is(rowQueries > before, !refs.some((r) => r !== undefined && indexOnly.includes(r)), `plan of ${JSON.stringify(raw)}`);
    const viaIndex = await runSummary(svc.db, form, formId, spec, { via: 'index' });
    t.deepEqual(viaRows, viaIndex, JSON.stringify(raw));
    t.true(viaRows.total.v0 !== null, JSON.stringify(raw));
  }
  svc.db.models.FormSummaryRow.removeHook('beforeFind', 'count');
}

test('R3.18 R16.9 summary rows give exactly what the field index gives: every kind, filter and aggregate, missing values, corrections', async (t) => {
  const ta = await startTestApp(t);
  const { Department } = ta.deps.db.models;
  const depts = [(await Department.create({ code: 'A', name: '甲科', parentId: null, campusId: null, kind: 'clinical' })).id, (await Department.create({ code: 'B', name: '乙科', parentId: null, campusId: null, kind: 'clinical' })).id];
  const svc = new FormService(ta.deps.db, ta.clock);
  const formId = await svc.createForm(actor, 'sum', FORM);
  await svc.publish(actor, formId);
  const slots = await loadSlots(ta.deps.db, formId);
  t.deepEqual(
    [...slots].map(([k, s]) => `${k}:${s.kind}${s.slot}`).sort(),
    ['kind:t0', 'note:t1', 'days:n0', 'amount:n1', 'on:d0', 'at:d1', 'period.start:d2', 'period.end:d3', 'dept:n2', 'big:t2'].sort(),
    'slots in field order by kind; the multi-valued field has none',
  );
  const rand = rng(7);
  const ids: number[] = [];
  for (let i = 0; i < 40; i++) {
    const deptId = depts[i % 2]!;
    ids.push((await svc.submit({ actor, user: { id: 1 + (i % 3), name: `u${i % 3}`, deptId } }, formId, input(rand, depts))).id);
  }
  t.is(await ta.deps.db.models.FormSummaryRow.count({ where: { formId } }), 40);
  await agree(t, svc, formId, FORM, SPECS, ['tags']);

  // R16.10 a correction rewrites the summary row: a cleared amount becomes null there too.
  const s = await svc.submission(ids[0]!);
  await svc.correct({ actor, user: { id: 1, name: 'admin' } }, ids[0]!, s.rev, { amount: null, kind: 'annual', note: '更正后' }, '核对');
  const row = await ta.deps.db.models.FormSummaryRow.findOne({ where: { submissionId: ids[0]! }, raw: true });
  t.like(row, { t0: 'annual', t1: '更正后', n1: null });
  await agree(t, svc, formId, FORM, SPECS, ['tags']);
});

test('R16.5 R3.18 summary slots across versions: kept per key, new fields get fresh slots, a kind change retires a slot for good, overflow uses the index', async (t) => {
  const ta = await startTestApp(t);
  const svc = new FormService(ta.deps.db, ta.clock);
  // 18 text fields: 16 slots, the last two only in the index.
  const v1: FormSchema = { title: '多字段', fields: [...Array.from({ length: 18 }, (_, i) => ({ key: `t${i}`, label: `文本${i}`, type: 'text' as const })), { key: 'x', label: '数', type: 'number' }] };
  const formId = await svc.createForm(actor, 'many', v1);
  await svc.publish(actor, formId);
  let slots = await loadSlots(ta.deps.db, formId);
  t.is(slots.get('t15')?.slot, 15);
  t.false(slots.has('t16'));
  t.deepEqual(slots.get('x'), { kind: 'n', slot: 0 });
  const who = { actor, user: { id: 1, name: 'a' } };
  const fill = (n: number, extra: Record<string, unknown> = {}) => Object.fromEntries([...Array.from({ length: 18 }, (_, i) => [`t${i}`, `v${(n + i) % 3}`]), ['x', n], ...Object.entries(extra)]);
  for (let n = 0; n < 6; n++) await svc.submit(who, formId, fill(n));

  // v2: x becomes text (kind change: retired), a new number field y gets n1 (never n0 again).
  const v2: FormSchema = { ...v1, fields: [...v1.fields.filter((f) => f.key !== 'x'), { key: 'x', label: '数', type: 'text' }, { key: 'y', label: '新数', type: 'number' }] };
  const def = await svc.getForm(formId);
  await svc.updateDraft(actor, formId, v2, def.rev);
  await svc.publish(actor, formId);
  slots = await loadSlots(ta.deps.db, formId);
  t.false(slots.has('x'), 'retired');
  t.deepEqual(slots.get('y'), { kind: 'n', slot: 1 });
  for (let n = 0; n < 4; n++) await svc.submit(who, formId, fill(n, { x: `文${n}`, y: n * 10 }));
  const specs: Array<Partial<SummarySpec>> = [
    { groupBy: ['t0', 't17'], measures: [{ agg: 'count' }] },
    { groupBy: ['t3'], measures: [{ agg: 'count' }, { field: 'y', agg: 'sum' }], filters: [{ field: 't15', op: 'in', values: ['v0', 'v1'] }] },
    { groupBy: ['x'], measures: [{ agg: 'count' }] },
  ];
  await agree(t, svc, formId, v2, specs, ['t16', 't17', 'x']);
  const r = await runSummary(ta.deps.db, compileSchema(v2), formId, summarySpecSchema.parse({ groupBy: ['x'], measures: [{ agg: 'count' }] }));
  t.deepEqual(
    r.rows.map((x) => [x.groups[0]!.value, x.values.v0]),
    [[null, 6], ['文0', 1], ['文1', 1], ['文2', 1], ['文3', 1]],
    'v1 numbers are not read as v2 text',
  );
});

test('R3.14 group a date by month or by year: labels, totals, sub-table rows, bad units refused', async (t) => {
  const ta = await startTestApp(t);
  const svc = new FormService(ta.deps.db, ta.clock);
  const formId = await svc.createForm(actor, 'exp', EXPENSE_FORM);
  await svc.publish(actor, formId);
  const who = { actor, user: { id: 1, name: 'a', deptId: null } };
  const item = (date: string, amount: string) => ({ date, category: '差旅', amount });
  await svc.submit(who, formId, { dept: 1, budgetNo: 'B1', items: [item('2025-12-30', '10'), item('2026-01-02', '20')] });
  await svc.submit(who, formId, { dept: 1, budgetNo: 'B1', items: [item('2026-01-15', '1.5'), item('2026-03-01', '100')] });
  const form = compileSchema(EXPENSE_FORM);
  const run = (raw: Partial<SummarySpec>) => runSummary(ta.deps.db, form, formId, summarySpecSchema.parse(raw));

  const byMonth = await run({ groupBy: ['items.date:month'], measures: [{ agg: 'count' }, { field: 'items.amount', agg: 'sum' }] });
  t.is(byMonth.grain, 'row');
  t.is(byMonth.columns[0]!.label, '费用明细.日期（按月）');
  t.deepEqual(
    byMonth.rows.map((r) => [r.groups[0]!.value, r.groups[0]!.label, r.values.v0, r.values.v1]),
    [
      ['2025-12', '2025年12月', 1, 1000],
      ['2026-01', '2026年1月', 2, 2150],
      ['2026-03', '2026年3月', 1, 10000],
    ],
  );
  t.deepEqual(byMonth.total, { v0: 4, v1: 13150 });
  const byYear = await run({ groupBy: ['items.date:year'], measures: [{ field: 'items.amount', agg: 'sum' }], filters: [{ field: 'items.amount', op: 'range', from: '2' }] });
  t.deepEqual(
    byYear.rows.map((r) => [r.groups[0]!.label, r.values.v0]),
    [
      ['2025年', 1000],
      ['2026年', 12000],
    ],
  );
  const submitted = await run({ groupBy: ['$submittedAt:year'], measures: [{ agg: 'count' }, { field: 'total', agg: 'sum' }] });
  t.is(submitted.rows.length, 1);
  t.regex(submitted.rows[0]!.groups[0]!.label, /^\d{4}年$/);
  t.deepEqual(submitted.rows[0]!.values, { v0: 2, v1: 13150 });

  const bad = await t.throwsAsync(run({ groupBy: ['total:month'], measures: [{ agg: 'count' }] }));
  t.regex(bad.message, /不是日期/);
  t.false(summarySpecSchema.safeParse({ groupBy: ['items.date:week'], measures: [{ agg: 'count' }] }).success);
});
