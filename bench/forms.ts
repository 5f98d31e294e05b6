// npm run bench:forms — Custom forms issue (5) benchmark (format: ../shared/BENCHMARKS.md).
//  1. validate + index: a 40-field form (39 top-level fields and a sub-table of 6 columns with
//     totals) filled with 50 rows, through validateSubmission and indexRowsOf; median per call over
//     several runs. Baseline in the same run: a bare zod parse of an equivalent object schema
//     (types and bounds only: no normalisation, formulas, rules or index).
//     Also: one whole submit through FormService (serial number, stored value, index rows, audit)
//     on each database, for information.
//  2. summary query over 100,000 indexed submissions on SQLite and, when reachable, MariaDB (a
//     database created for the run and dropped after it): group by department with count, sum and
//     average under two filters, and by two fields without filters. Baselines in the same run: read
//     every submission's JSON text, JSON.parse and aggregate in JS (the full scan the index avoids),
//     and the same summaries through the field index joins (the previous plan, still used for
//     sub-table rows and fields without a summary slot).
//     Seeding uses bulk inserts (1,000 submissions a statement) of what submit writes: the stored
//     value, its field index rows and its summary row (slots assigned by publishing the form).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Database } from '@oa/db';
import { median, quantile, reachable, round, type Metric, withBenchDatabase } from './common.ts';
import { compileSchema } from '../server/src/forms/compile.ts';
import { validateSubmission } from '../server/src/forms/validate.ts';
import { FormService, indexRowsOf } from '../server/src/forms/service.ts';
import { runSummary, type SummarySpec } from '../server/src/forms/summary.ts';
import { loadSlots, summaryRowOf } from '../server/src/forms/summary-rows.ts';
// zod is a dependency of @oa/server only: the forms schema module re-exports the copy it uses
import { z, type FormSchema } from '../server/src/forms/schema.ts';
import { ManualClock } from '../server/src/clock.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MARIADB = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/';
const SUBMISSIONS = Number(process.env.BENCH_SUBMISSIONS ?? 100_000);
const VALIDATE_CALLS = 300;
const VALIDATE_TARGET_MS = 5;
const SUMMARY_TARGET_MS = 500;

/** mulberry32: the same data on every run */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Row = [what: string, value: string, note: string];

// ---- 1. validate + index -------------------------------------------------------------------------

const CATEGORIES = ['差旅', '办公', '培训', '招待', '耗材'];

/** 39 top-level fields of the usual kinds plus a 6-column sub-table = 40 fields. */
function bigForm(): FormSchema {
  const fields: FormSchema['fields'] = [];
  for (let i = 0; i < 10; i++) fields.push({ key: `t${i}`, label: `文本${i}`, type: 'text', maxLength: 100, ...(i < 3 ? { required: true } : {}) });
  for (let i = 0; i < 8; i++) fields.push({ key: `n${i}`, label: `数字${i}`, type: 'number', min: 0, max: 1_000_000, precision: 2 });
  for (let i = 0; i < 6; i++) fields.push({ key: `m${i}`, label: `金额${i}`, type: 'money', min: 0 });
  for (let i = 0; i < 5; i++) fields.push({ key: `d${i}`, label: `日期${i}`, type: 'date' });
  for (let i = 0; i < 5; i++) fields.push({ key: `s${i}`, label: `选项${i}`, type: 'select', options: CATEGORIES.map((c) => ({ value: c, label: c })) });
  fields.push({ key: 'note', label: '说明', type: 'textarea', maxLength: 2000 });
  fields.push({ key: 'period', label: '期间', type: 'daterange' });
  fields.push({ key: 'tags', label: '标签', type: 'multiselect', options: CATEGORIES.map((c) => ({ value: c, label: c })) });
  fields.push({ key: 'sumN', label: '数字合计', type: 'computed', resultType: 'number', formula: 'n0 + n1 + n2 + n3' });
  fields.push({
    key: 'items',
    label: '明细',
    type: 'subtable',
    maxRows: 200,
    columns: [
      { key: 'date', label: '日期', type: 'date', required: true },
      { key: 'category', label: '类别', type: 'select', required: true, options: CATEGORIES.map((c) => ({ value: c, label: c })) },
      { key: 'qty', label: '数量', type: 'number', precision: 0, min: 1 },
      { key: 'price', label: '单价', type: 'money', min: 0 },
      { key: 'amount', label: '金额', type: 'computed', resultType: 'money', formula: 'qty * price' },
      { key: 'remark', label: '备注', type: 'text', maxLength: 100 },
    ],
    totals: ['qty', 'amount'],
    rowRules: [{ formula: "category != '招待' || amount <= 200000", message: '单笔招待费不能超过 2000 元', column: 'amount' }],
  });
  fields.push({ key: 'total', label: '总额', type: 'computed', resultType: 'money', formula: 'SUM(items.amount)' });
  fields.push({ key: 'person', label: '经办人', type: 'person' });
  return { title: '四十字段表单', fields, rules: [{ formula: 'total >= 0', message: '总额不能为负', field: 'total' }] };
}

function bigInput(rand: () => number): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  for (let i = 0; i < 10; i++) v[`t${i}`] = `文本内容${i}-${Math.floor(rand() * 1000)}`;
  for (let i = 0; i < 8; i++) v[`n${i}`] = String(Math.floor(rand() * 10000) / 100);
  for (let i = 0; i < 6; i++) v[`m${i}`] = `${Math.floor(rand() * 100000) / 100}`;
  for (let i = 0; i < 5; i++) v[`d${i}`] = `2026-1${i % 3}-0${1 + i}`;
  for (let i = 0; i < 5; i++) v[`s${i}`] = CATEGORIES[i % CATEGORIES.length];
  v.note = '说明文字'.repeat(20);
  v.period = { start: '2026-11-01', end: '2026-11-30' };
  v.tags = ['差旅', '办公'];
  v.person = 7;
  v.items = Array.from({ length: 50 }, (_, i) => ({ date: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`, category: CATEGORIES[i % 4], qty: String(1 + (i % 5)), price: `${10 + i}.50`, remark: `第${i + 1}行` }));
  return v;
}

/** What a bare zod parse of the same shape checks: types and bounds. */
function bareZod() {
  const shape: Record<string, z.ZodType> = {};
  for (let i = 0; i < 10; i++) shape[`t${i}`] = i < 3 ? z.string().max(100) : z.string().max(100).optional();
  for (let i = 0; i < 8; i++) shape[`n${i}`] = z.coerce.number().min(0).max(1_000_000).optional();
  for (let i = 0; i < 6; i++) shape[`m${i}`] = z.coerce.number().min(0).optional();
  for (let i = 0; i < 5; i++) shape[`d${i}`] = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional();
  for (let i = 0; i < 5; i++) shape[`s${i}`] = z.enum(CATEGORIES as [string, ...string[]]).optional();
  shape.note = z.string().max(2000).optional();
  shape.period = z.object({ start: z.string(), end: z.string() }).optional();
  shape.tags = z.array(z.enum(CATEGORIES as [string, ...string[]])).optional();
  shape.person = z.number().int().positive().optional();
  shape.items = z
    .array(z.object({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), category: z.enum(CATEGORIES as [string, ...string[]]), qty: z.coerce.number().int().min(1), price: z.coerce.number().min(0), remark: z.string().max(100).optional() }))
    .max(200);
  return z.object(shape);
}

/** Median over runs of each run's median and 95th percentile per call. */
function timePerCall(fn: () => void): { median: number; p95: number } {
  for (let i = 0; i < 50; i++) fn(); // warm-up (JIT, compiled schema cache)
  const medians: number[] = [];
  const p95s: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const ms: number[] = [];
    for (let i = 0; i < VALIDATE_CALLS; i++) {
      const t0 = performance.now();
      fn();
      ms.push(performance.now() - t0);
    }
    medians.push(median(ms));
    p95s.push(quantile(ms, 0.95));
  }
  return { median: median(medians), p95: median(p95s) };
}

function measureValidation(out: Metric[], rows: Row[]): FormSchema {
  const schema = bigForm();
  const form = compileSchema(schema);
  const input = bigInput(rng(1));
  const ctx = { now: new Date('2026-11-25T02:00:00Z'), user: { id: 7, name: '张丽', deptId: 3 } };
  const check = validateSubmission(schema, input, ctx);
  if (!check.ok) throw new Error(`bench form does not validate: ${JSON.stringify(check.errors.slice(0, 3))}`);
  const indexRows = indexRowsOf(form, check.value, check.totals).length;
  const timed = timePerCall(() => {
    const r = validateSubmission(schema, input, ctx);
    indexRowsOf(form, r.value, r.totals);
  });
  const ours = timed.median;
  const zs = bareZod();
  if (!zs.safeParse(input).success) throw new Error('bare zod schema does not accept the input');
  const base = timePerCall(() => zs.parse(input)).median;
  out.push({ name: 'validate_index_40_fields_50_rows_median_ms', value: round(ours), unit: 'ms', target: VALIDATE_TARGET_MS, better: 'lower' });
  out.push({ name: 'validate_index_40_fields_50_rows_p95_ms', value: round(timed.p95), unit: 'ms', better: 'lower' });
  out.push({ name: 'bare_zod_parse_median_ms', value: round(base), unit: 'ms', better: 'lower' });
  out.push({ name: 'validate_index_ratio_to_bare_zod', value: round(ours / base, 2), unit: 'ratio', better: 'lower' });
  rows.push(['validate + index (40 fields, 50 rows)', `${round(ours)} ms`, `${indexRows} index rows; p95 ${round(timed.p95)} ms; target < ${VALIDATE_TARGET_MS} ms`]);
  rows.push(['  baseline: bare zod parse', `${round(base)} ms`, `ratio ${round(ours / base, 2)}×`]);
  return schema;
}

// ---- 2. summary over 100,000 submissions --------------------------------------------------------------

/** The summary form: department, leave type, days, amount, date, text. */
const SUMMARY_FORM: FormSchema = {
  title: '汇总基准表单',
  fields: [
    { key: 'dept', label: '科室', type: 'department' },
    { key: 'kind', label: '类型', type: 'select', options: ['personal', 'sick', 'annual', 'marriage', 'other'].map((v) => ({ value: v, label: v })) },
    { key: 'days', label: '天数', type: 'number', precision: 1 },
    { key: 'amount', label: '金额', type: 'money' },
    { key: 'applyDate', label: '申请日期', type: 'date' },
    { key: 'reason', label: '事由', type: 'text' },
  ],
};
const KINDS = ['personal', 'sick', 'annual', 'marriage', 'other'];
const DEPTS = 40;

/** Publishes the summary form and bulk-inserts `n` submissions of it; returns the form id. */
async function seedSubmissions(db: Database, n: number): Promise<number> {
  const rand = rng(20261125);
  const clock = new ManualClock();
  clock.set('2026-11-25T02:00:00Z');
  const svc = new FormService(db, clock);
  const actor = { id: 1, name: 'bench' };
  const formId = await svc.createForm(actor, 'summary', SUMMARY_FORM);
  const { versionId } = await svc.publish(actor, formId);
  const slots = await loadSlots(db, formId);
  const form = compileSchema(SUMMARY_FORM);
  const qi = db.sequelize.getQueryInterface();
  const { FormSummaryRow } = db.models;
  const now = new Date('2026-11-25T02:00:00Z');
  const BATCH = 1000;
  for (let start = 0; start < n; start += BATCH) {
    const subs: Array<Record<string, unknown>> = [];
    const idx: Array<Record<string, unknown>> = [];
    const flat: Array<ReturnType<typeof summaryRowOf>> = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      const id = i + 1;
      const value = {
        dept: 1 + Math.floor(rand() * DEPTS),
        kind: KINDS[Math.floor(rand() * KINDS.length)]!,
        days: Math.floor(rand() * 100) / 10,
        amount: Math.floor(rand() * 1_000_000),
        applyDate: `2026-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`,
        reason: `事由${Math.floor(rand() * 1000)}`,
      };
      subs.push({ id, form_id: formId, version_id: versionId, serial_no: null, data: JSON.stringify(value), totals: null, submitter_id: 1, dept_id: value.dept, status: 'submitted', rev: 1, created_at: now, updated_at: now });
      const rows = indexRowsOf(form, value);
      for (const r of rows) idx.push({ submission_id: id, form_id: formId, field_key: r.fieldKey, row_no: r.rowNo, value_text: r.valueText, value_num: r.valueNum, value_date: r.valueDate, value_month: r.valueMonth, value_year: r.valueYear });
      flat.push(summaryRowOf(slots, rows, { submissionId: id, formId, submitterId: 1, deptId: value.dept, status: 'submitted', submittedAt: now }));
    }
    await db.sequelize.transaction(async (t) => {
      await qi.bulkInsert('form_submission', subs, { transaction: t });
      await qi.bulkInsert('form_field_index', idx, { transaction: t });
      await FormSummaryRow.bulkCreate(flat, { transaction: t });
    });
  }
  return formId;
}

/** The baseline: every submission's JSON, parsed and aggregated in JS with the same filters. */
async function baselineSummary(db: Database, formId: number): Promise<number> {
  const rows = (await db.models.FormSubmission.findAll({ where: { formId }, attributes: ['data'], raw: true })) as unknown as Array<{ data: string | Record<string, unknown> }>;
  const groups = new Map<number, { count: number; sum: number; days: number }>();
  for (const r of rows) {
    const v = (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as { dept: number; kind: string; days: number; amount: number; applyDate: string };
    if (!(v.kind === 'personal' || v.kind === 'sick')) continue;
    if (v.applyDate < '2026-03-01' || v.applyDate > '2026-09-30') continue;
    const g = groups.get(v.dept) ?? { count: 0, sum: 0, days: 0 };
    g.count++;
    g.sum += v.amount;
    g.days += v.days;
    groups.set(v.dept, g);
  }
  return groups.size;
}

const FILTERED: SummarySpec = {
  groupBy: ['dept'],
  measures: [{ agg: 'count' }, { field: 'amount', agg: 'sum' }, { field: 'days', agg: 'avg' }],
  filters: [
    { field: 'kind', op: 'in', values: ['personal', 'sick'] },
    { field: 'applyDate', op: 'range', from: '2026-03-01', to: '2026-09-30' },
  ],
};
const TWO_GROUPS: SummarySpec = { groupBy: ['dept', 'kind'], measures: [{ agg: 'count' }, { field: 'amount', agg: 'sum' }, { field: 'days', agg: 'max' }], filters: [] };

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up (page cache, statement)
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function onDatabase(label: 'sqlite' | 'mariadb', bigSchema: FormSchema, out: Metric[], rows: Row[]): Promise<void> {
  await withBenchDatabase(label, 'forms', MARIADB, async ({ db }) => {
    const t0 = performance.now();
    const summaryFormId = await seedSubmissions(db, SUBMISSIONS);
    const indexCount = await db.models.FormFieldIndex.count();
    console.log(`${label}: seeded ${SUBMISSIONS} submissions (${indexCount} index rows) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const form = compileSchema(SUMMARY_FORM);
    const check = await runSummary(db, form, summaryFormId, FILTERED);
    const expected = await baselineSummary(db, summaryFormId);
    if (check.rows.length !== expected) throw new Error(`summary has ${check.rows.length} groups, the JS scan ${expected}`);
    const viaIndex = await runSummary(db, form, summaryFormId, FILTERED, { via: 'index' });
    if (JSON.stringify(viaIndex) !== JSON.stringify(check)) throw new Error('the summary rows and the field index disagree');
    // Interleaved, so that both plans and the baseline see the same load on a shared machine.
    const filtered: number[] = [];
    const two: number[] = [];
    const base: number[] = [];
    const filteredJoins: number[] = [];
    const twoJoins: number[] = [];
    const subjects: Array<[number[], () => Promise<unknown>]> = [
      [filtered, () => runSummary(db, form, summaryFormId, FILTERED)],
      [two, () => runSummary(db, form, summaryFormId, TWO_GROUPS)],
      [base, () => baselineSummary(db, summaryFormId)],
      [filteredJoins, () => runSummary(db, form, summaryFormId, FILTERED, { via: 'index' })],
      [twoJoins, () => runSummary(db, form, summaryFormId, TWO_GROUPS, { via: 'index' })],
    ];
    for (const [, fn] of subjects) await fn(); // warm-up (page cache, statements)
    for (let run = 0; run < RUNS; run++) {
      for (const [ms, fn] of subjects) {
        const t = performance.now();
        await fn();
        ms.push(performance.now() - t);
      }
    }
    const [f, g2, b, fj, g2j] = [filtered, two, base, filteredJoins, twoJoins].map(median) as [number, number, number, number, number];
    out.push({ name: `${label}_summary_100k_filtered_group_median_ms`, value: round(f, 1), unit: 'ms', target: SUMMARY_TARGET_MS, better: 'lower' });
    out.push({ name: `${label}_summary_100k_two_groups_median_ms`, value: round(g2, 1), unit: 'ms', target: SUMMARY_TARGET_MS, better: 'lower' });
    out.push({ name: `${label}_baseline_json_scan_median_ms`, value: round(b, 1), unit: 'ms', better: 'lower' });
    out.push({ name: `${label}_summary_speedup_over_json_scan`, value: round(b / f, 2), unit: 'ratio', better: 'higher' });
    out.push({ name: `${label}_summary_two_groups_speedup_over_json_scan`, value: round(b / g2, 2), unit: 'ratio', better: 'higher' });
    out.push({ name: `${label}_index_joins_100k_filtered_group_median_ms`, value: round(fj, 1), unit: 'ms', better: 'lower' });
    out.push({ name: `${label}_index_joins_100k_two_groups_median_ms`, value: round(g2j, 1), unit: 'ms', better: 'lower' });
    rows.push([`${label}: summary, 2 filters, by dept`, `${round(f, 1)} ms`, `target < ${SUMMARY_TARGET_MS} ms; ${check.rows.length} groups`]);
    rows.push([`${label}: summary, by dept × kind`, `${round(g2, 1)} ms`, `target < ${SUMMARY_TARGET_MS} ms`]);
    rows.push([`${label}:   baseline: JSON.parse + JS scan`, `${round(b, 1)} ms`, `summary is ${round(b / f, 2)}× / ${round(b / g2, 2)}× faster`]);
    rows.push([`${label}:   previous plan: index joins, 2 filters`, `${round(fj, 1)} ms`, `${round(fj / f, 1)}× the summary rows`]);
    rows.push([`${label}:   previous plan: index joins, dept × kind`, `${round(g2j, 1)} ms`, `${round(g2j / g2, 1)}× the summary rows`]);

    // One whole submit (validate, serial, store, index rows, audit) of the 40-field form.
    const clock = new ManualClock();
    clock.set('2026-11-25T02:00:00Z');
    const svc = new FormService(db, clock);
    const actor = { id: 1, name: 'bench' };
    const formId = await svc.createForm(actor, 'big', bigSchema);
    await svc.publish(actor, formId);
    const input = bigInput(rng(2));
    const who = { actor, user: { id: 7, name: '张丽', deptId: 3 } };
    const submit = await timeAsync(async () => {
      for (let i = 0; i < 20; i++) await svc.submit(who, formId, input);
    });
    out.push({ name: `${label}_submit_40_fields_50_rows_median_ms`, value: round(submit / 20, 2), unit: 'ms', better: 'lower' });
    rows.push([`${label}: whole submit (40 fields, 50 rows)`, `${round(submit / 20, 2)} ms`, 'validate + serial + store + index + audit']);
  });
}

async function main() {
  console.log(`bench:forms — validate + index of a 40-field form with 50 rows (${VALIDATE_CALLS} calls × ${RUNS} runs); summary over ${SUBMISSIONS} submissions (${RUNS} runs, median)`);
  const metrics: Metric[] = [];
  const rows: Row[] = [];
  const bigSchema = measureValidation(metrics, rows);
  const dbs: Array<'sqlite' | 'mariadb'> = ['sqlite'];
  if (await reachable(MARIADB)) dbs.push('mariadb');
  else console.log(`MariaDB not reachable at ${MARIADB}: measuring SQLite only`);
  for (const label of dbs) await onDatabase(label, bigSchema, metrics, rows);

  const result = {
    name: 'forms',
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, node ${process.version}`,
    db: dbs.join('+'),
    runs: RUNS,
    submissions: SUBMISSIONS,
    metrics,
  };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/forms.json'), JSON.stringify(result, null, 2) + '\n');
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [what, value, note] of rows) console.log([what.padEnd(width), value.padStart(12), `  ${note}`].join(' '));
  const missed = metrics.filter((m) => m.target !== undefined && (m.better === 'lower' ? m.value > m.target : m.value < m.target));
  console.log(missed.length ? `targets missed: ${missed.map((m) => `${m.name}=${m.value}`).join(', ')}` : 'all targets met');
  console.log('written bench/results/forms.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
