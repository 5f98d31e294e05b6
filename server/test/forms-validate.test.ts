import test from 'ava';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { filterForOutput, phoneFields, sanitizeRichText, validateSubmission, type FormContext, type ValidationResult } from '../src/forms/index.ts';
import { EXPENSE_FORM, LEAVE_FORM, PURCHASE_FORM } from '../src/forms/fixtures.ts';

// Server-side validation and computation (issue 5 items 2, 3, 5; R16.3, R16.4, R16.6, R16.8, R16.1).

const ctx: FormContext = { now: new Date('2026-11-25T02:00:00Z'), user: { id: 7, name: '王医生', deptId: 12, deptName: '口腔颌面外科' } };

function paths(r: ValidationResult): string[] {
  return r.errors.map((e) => e.path);
}
function messageAt(r: ValidationResult, path: string): string {
  return r.errors.find((e) => e.path === path)?.message ?? `(no error at ${path}: ${JSON.stringify(r.errors)})`;
}

const leave = (over: Record<string, unknown> = {}) => ({ leaveType: 'personal', period: { start: '2026-11-30', end: '2026-12-02' }, reason: '家中有事', ...over });

test('R16.8 leave form: defaults from the current user, TODAY(), working days with the holiday calendar', (t) => {
  const r = validateSubmission(LEAVE_FORM, leave(), ctx);
  t.deepEqual(r.errors, []);
  t.true(r.ok);
  t.is(r.value.applicant, 7);
  t.is(r.value.dept, 12);
  t.is(r.value.applyDate, '2026-11-25');
  t.is(r.value.days, 3);
  t.is(r.value.serialNo, null, 'serial numbers are assigned when stored');
  // Across National Day: 09-28 .. 10-10 has 6 working days.
  t.is(validateSubmission(LEAVE_FORM, leave({ period: ['2026-09-28', '2026-10-10'] }), ctx).value.days, 6);
});

test('R16.6 dates in three formats and full-width digits are normalised', (t) => {
  for (const start of ['2026-11-30', '2026/11/30', '2026年11月30日', '２０２６年１１月３０日', '2026/1１/3０']) {
    const r = validateSubmission(LEAVE_FORM, leave({ period: { start, end: '2026-12-02' } }), ctx);
    t.deepEqual(r.errors, [], start);
    t.deepEqual(r.value.period, { start: '2026-11-30', end: '2026-12-02' }, start);
  }
  const bad = validateSubmission(LEAVE_FORM, leave({ period: { start: '2026-02-30', end: '2026-03-02' } }), ctx);
  t.deepEqual(paths(bad), ['period']);
  t.regex(messageAt(bad, 'period'), /请假时间：日期不存在/);
  const reversed = validateSubmission(LEAVE_FORM, leave({ period: { start: '2026-12-05', end: '2026-12-01' } }), ctx);
  t.regex(messageAt(reversed, 'period'), /结束日期不能早于开始日期/);
});

test('R16.3 required, length, option membership, retired options, unknown fields', (t) => {
  const r = validateSubmission(LEAVE_FORM, { leaveType: 'holiday', reason: '我', extra: 1 }, ctx);
  t.deepEqual(paths(r).sort(), ['extra', 'leaveType', 'period', 'reason']);
  t.regex(messageAt(r, 'leaveType'), /请假类型：“holiday”不是有效选项/);
  t.is(messageAt(r, 'period'), '请填写请假时间');
  t.is(messageAt(r, 'reason'), '请假事由至少 2 个字');
  t.regex(messageAt(r, 'extra'), /表单中没有字段“extra”/);
  const retired = validateSubmission(LEAVE_FORM, leave({ leaveType: 'legacy' }), ctx);
  t.regex(messageAt(retired, 'leaveType'), /已停用/);
  // …but a stored value keeps validating after the option was retired (options changed while in use).
  const kept = validateSubmission(LEAVE_FORM, leave({ leaveType: 'legacy' }), { ...ctx, previous: { ...leave({ leaveType: 'legacy' }), applicant: 7 } });
  t.false(paths(kept).includes('leaveType'));
});

test('R16.3 conditional required and cross-field rules', (t) => {
  const sick = validateSubmission(LEAVE_FORM, leave({ leaveType: 'sick', period: { start: '2026-11-30', end: '2026-12-04' } }), ctx);
  t.deepEqual(paths(sick), ['proof']);
  t.is(messageAt(sick, 'proof'), '请填写证明材料');
  t.true(validateSubmission(LEAVE_FORM, leave({ leaveType: 'sick', period: { start: '2026-11-30', end: '2026-12-04' }, proof: [31, '32'] }), ctx).ok);
  const annual = validateSubmission(LEAVE_FORM, leave({ leaveType: 'annual', period: { start: '2026-11-02', end: '2026-11-30' } }), ctx);
  t.deepEqual(annual.errors, [{ path: 'period', message: '年假单次不能超过 15 个工作日', code: 'RULE' }]);
});

const budgetCtx: FormContext = { ...ctx };
const expense = (items: unknown[], over: Record<string, unknown> = {}) => ({ budgetNo: 'YS-2026-001', items, ...over });

test('R16.4 expense form: money strings to fen, sub-table totals, SUM over a column, no float drift', (t) => {
  const r = validateSubmission(
    EXPENSE_FORM,
    expense([
      { date: '2026/11/20', category: '差旅', amount: '¥1,234.50', invoices: '３' },
      { date: '2026年11月21日', category: '办公', amount: '０.１', invoices: 1 },
      { date: '2026-11-22', category: '办公', amount: 20 },
    ]),
    budgetCtx,
  );
  t.deepEqual(r.errors, []);
  const items = r.value.items as Array<Record<string, unknown>>;
  t.deepEqual(items.map((i) => i.amount), [123450, 10, 20]);
  t.deepEqual(items.map((i) => i.date), ['2026-11-20', '2026-11-21', '2026-11-22']);
  t.is(items[0]!.invoices, 3);
  t.is(r.value.total, 123480);
  t.deepEqual(r.totals, { items: { amount: 123480, invoices: 4 } });
  // 0.1 + 0.2 yuan is exactly 30 fen.
  const drift = validateSubmission(EXPENSE_FORM, expense([{ date: '2026-11-20', category: '办公', amount: '0.1' }, { date: '2026-11-20', category: '办公', amount: '0.2' }]), budgetCtx);
  t.is(drift.value.total, 30);
});

test('R16.4 sub-table errors carry row paths; row rules; money precision; fen must be integers', (t) => {
  const r = validateSubmission(
    EXPENSE_FORM,
    expense([
      { date: '2026-11-20', category: '差旅', amount: '10' },
      { date: '2026-11-20', category: '差旅', amount: '10.005' },
      { date: '2026-11-31', category: '其他', amount: 1.5 },
      { category: '招待', amount: '2000.01', unknownCol: 1 },
    ]),
    budgetCtx,
  );
  t.deepEqual(paths(r).sort(), ['items[1].amount', 'items[2].amount', 'items[2].category', 'items[2].date', 'items[3].amount', 'items[3].date', 'items[3].unknownCol']);
  t.regex(messageAt(r, 'items[1].amount'), /金额：金额最多精确到分/);
  t.regex(messageAt(r, 'items[2].amount'), /金额（分）必须是整数/);
  t.is(messageAt(r, 'items[3].date'), '费用明细第 4 行：请填写日期');
  t.is(messageAt(r, 'items[3].amount'), '费用明细第 4 行：单笔招待费不能超过 2000 元');
  const empty = validateSubmission(EXPENSE_FORM, expense([]), budgetCtx);
  t.regex(messageAt(empty, 'items'), /费用明细至少需要 1 行/);
});

test('R16.4 a 10,000-row sub-table is refused cleanly and fast', (t) => {
  const rows = Array.from({ length: 10_000 }, () => ({ date: '2026-11-20', category: '差旅', amount: '1' }));
  const started = performance.now();
  const r = validateSubmission(EXPENSE_FORM, expense(rows), budgetCtx);
  const ms = performance.now() - started;
  t.false(r.ok);
  t.deepEqual(r.errors.map((e) => [e.path, e.code]), [['items', 'TOO_MANY_ROWS']]);
  t.is(messageAt(r, 'items'), '费用明细最多 200 行，提交了 10000 行');
  t.true(ms < 50, `took ${ms.toFixed(1)} ms`);
  // Even a table allowing the hard maximum refuses beyond 2000 rows.
  const p = validateSubmission(PURCHASE_FORM, { title: 'x', needDate: '2026-12-01', lines: Array.from({ length: 10_000 }, () => ({})) }, ctx);
  t.regex(messageAt(p, 'lines'), /最多 500 行/);
});

test('R16.8 purchase form: row formulas, column totals, conditional visibility and pattern', (t) => {
  const base = { title: '牙科综合治疗台配件', needDate: '2026/12/10', contactPhone: '１３８００１３８０００', lines: [{ itemName: '手机', qty: '２', unitPrice: '1,250.00' }, { itemName: '吸唾管', qty: 100, unitPrice: '0.35' }] };
  const r = validateSubmission(PURCHASE_FORM, base, ctx);
  t.deepEqual(r.errors, []);
  const lines = r.value.lines as Array<Record<string, unknown>>;
  t.deepEqual(lines.map((l) => l.lineAmount), [250000, 3500]);
  t.is(r.value.totalAmount, 253500);
  t.deepEqual(r.totals, { lines: { qty: 102, lineAmount: 253500 } });
  t.is(r.value.urgency, 'normal', 'literal default');
  t.is(r.value.contactPhone, '13800138000');
  t.false('deanOpinion' in r.value, 'invisible below 100,000 yuan');
  // 60,000 yuan needs quotes; 120,000 shows the dean's opinion field.
  const big = validateSubmission(PURCHASE_FORM, { ...base, lines: [{ itemName: '椅', qty: 1, unitPrice: '120000' }], deanOpinion: '同意' }, ctx);
  t.deepEqual(paths(big), ['quotes']);
  t.is(big.value.deanOpinion, '同意');
  const small = validateSubmission(PURCHASE_FORM, { ...base, deanOpinion: '同意' }, ctx);
  t.true(small.ok);
  t.false('deanOpinion' in small.value, 'a value for an invisible field is dropped');
  const phone = validateSubmission(PURCHASE_FORM, { ...base, contactPhone: '12345' }, ctx);
  t.is(messageAt(phone, 'contactPhone'), '联系电话：请输入 11 位手机号');
  const past = validateSubmission(PURCHASE_FORM, { ...base, needDate: '2026-11-01' }, ctx);
  t.is(messageAt(past, 'needDate'), '需求日期不能早于今天');
  const qty = validateSubmission(PURCHASE_FORM, { ...base, lines: [{ itemName: 'x', qty: '1.5', unitPrice: '1' }] }, ctx);
  t.is(messageAt(qty, 'lines[0].qty'), '数量：请输入整数');
});

test('R16.1 per-node field permissions: read-only writes refused, hidden stripped from output', (t) => {
  const first = validateSubmission(LEAVE_FORM, leave(), ctx);
  t.true(first.ok);
  const stored = first.value;
  // The head's node: only headOpinion editable, reason hidden.
  const perms = { leaveType: 'readonly', period: 'readonly', reason: 'hidden', applicant: 'readonly', dept: 'readonly', applyDate: 'readonly', proof: 'readonly' } as const;
  const headCtx = { ...ctx, user: { id: 9, name: '李主任' }, previous: stored };
  const ok = validateSubmission(LEAVE_FORM, { ...filterForOutput(LEAVE_FORM, stored, perms), headOpinion: '同意' }, headCtx, perms);
  t.deepEqual(ok.errors, [], 'echoing the visible form unchanged is fine');
  t.is(ok.value.headOpinion, '同意');
  t.is(ok.value.reason, '家中有事', 'hidden value kept from the stored one');
  t.is(ok.value.applicant, 7, 'defaults do not re-run on update');
  const tamper = validateSubmission(LEAVE_FORM, { leaveType: 'annual', reason: '改掉', headOpinion: '同意' }, headCtx, perms);
  t.deepEqual(paths(tamper).sort(), ['leaveType', 'reason']);
  t.is(messageAt(tamper, 'leaveType'), '请假类型在此环节只读，不能修改');
  t.is(messageAt(tamper, 'reason'), '无权填写字段“请假事由”');
  t.is(tamper.value.leaveType, 'personal');
  // Schema-level read-only: the applicant cannot be forged on create.
  const forged = validateSubmission(LEAVE_FORM, leave({ applicant: 99 }), ctx);
  t.regex(messageAt(forged, 'applicant'), /只读/);
  const out = filterForOutput(LEAVE_FORM, stored, perms);
  t.false('reason' in out);
  t.is(out.leaveType, 'personal');
  // Hidden sub-table columns.
  const e = validateSubmission(EXPENSE_FORM, expense([{ date: '2026-11-20', category: '差旅', amount: '1' }]), ctx);
  const hiddenCol = filterForOutput(EXPENSE_FORM, e.value, { 'items.note': 'hidden' });
  t.false('note' in (hiddenCol.items as Array<Record<string, unknown>>)[0]!);
  t.deepEqual(phoneFields(LEAVE_FORM), ['leaveType', 'period', 'days', 'reason', 'applicant']);
});

test('R16.6 numbers: full-width digits, grouping, bounds, junk', (t) => {
  const doc = { title: 't', fields: [{ key: 'n', label: '数量', type: 'number', min: 1, max: 1000, precision: 2 }] };
  t.is(validateSubmission(doc, { n: '１２３' }).value.n, 123);
  t.is(validateSubmission(doc, { n: ' 1,000 ' }).value.n, 1000);
  t.is(validateSubmission(doc, { n: '－１.５' }).errors[0]!.message, '数量不能小于 1');
  t.is(validateSubmission(doc, { n: '12abc' }).errors[0]!.message, '数量：请输入有效的数字');
  t.is(validateSubmission(doc, { n: '1.234' }).errors[0]!.message, '数量：最多 2 位小数');
  t.is(validateSubmission(doc, { n: Infinity }).errors[0]!.message, '数量：请输入有效的数字');
  t.is(validateSubmission(doc, { n: {} }).errors[0]!.message, '数量：请输入数字');
  t.is(validateSubmission(doc, '[]').errors[0]!.message, '表单数据必须是对象');
  t.true(validateSubmission(doc, {}).ok, 'optional');
});

test('R16.8 formula failures at run time are reported, never thrown', (t) => {
  const doc = {
    title: 't',
    fields: [
      { key: 'a', label: 'A', type: 'number' },
      { key: 'b', label: 'B', type: 'number' },
      { key: 'q', label: '商', type: 'computed', resultType: 'number', formula: 'a / b', precision: 2 },
    ],
  };
  t.is(validateSubmission(doc, { a: 1, b: 3 }).value.q, 0.33);
  const r = validateSubmission(doc, { a: 1, b: 0 });
  t.deepEqual(r.errors, [{ path: 'q', message: '商的公式无法计算：除数不能为零', code: 'FORMULA_FAILED' }]);
});

// ---- rich text: real-world XSS corpora (never copied into the repo; skipped when absent).

const CORPORA = fileURLToPath(new URL('../../../shared/corpora/', import.meta.url));

function corpus(): Array<{ title: string; payload: string }> | null {
  const dir = `${CORPORA}xss/`;
  if (!existsSync(dir)) return null;
  const out: Array<{ title: string; payload: string }> = [];
  const dom = JSON.parse(readFileSync(`${dir}dompurify-payloads.json`, 'utf8')) as Array<{ title: string; payload: string }>;
  out.push(...dom);
  const owasp = JSON.parse(readFileSync(`${dir}owasp-cheatsheet.json`, 'utf8')) as string[];
  owasp.forEach((payload, i) => out.push({ title: `OWASP #${i}`, payload }));
  return out;
}

/** What must never survive sanitising: scripts, event handlers, javascript:/data:/vbscript: URLs, styles that run code. */
function dangerous(html: string): string | null {
  const checks: Array<[RegExp, string]> = [
    [/<\s*(script|iframe|object|embed|style|svg|math|form|input|button|base|meta|link|frame|frameset|template|xml|applet|audio|video|source|textarea)\b/i, 'dangerous tag'],
    [/<[^>]+\son[a-z]+\s*=/i, 'event handler'],
    [/(href|src|action|formaction|xlink:href)\s*=\s*["']?\s*(javascript|vbscript|data|livescript):/i, 'script URL'],
    [/expression\s*\(|behaviou?r\s*:|-moz-binding|url\s*\(/i, 'style that runs code'],
    [/<img[^>]+src\s*=\s*["']?(?!\/api\/v1\/files\/)/i, 'image not from this system'],
  ];
  for (const [re, why] of checks) if (re.test(html)) return why;
  return null;
}

test('R16.3 rich text: every DOMPurify and OWASP payload comes out harmless', (t) => {
  const payloads = corpus();
  if (!payloads) {
    t.log(`skipped: ${CORPORA}xss/ not found (the corpora live outside the repository)`);
    t.pass();
    return;
  }
  t.true(payloads.length > 300);
  const bad: string[] = [];
  for (const { title, payload } of payloads) {
    let clean: string;
    try {
      clean = sanitizeRichText(payload);
    } catch {
      continue; // refused outright (size) is safe too
    }
    const why = dangerous(clean);
    if (why) bad.push(`${title}: ${why}: ${clean.slice(0, 120)}`);
  }
  t.deepEqual(bad, []);
});

test('R16.3 rich text: Word paste keeps its formatting, loses its noise; size limits', (t) => {
  t.is(sanitizeRichText('<p style="color:red;position:fixed" onclick="x()">好<script>alert(1)</script></p>'), '<p style="color:red">好</p>');
  t.is(sanitizeRichText('<a href="javascript:alert(1)">x</a>'), '<a rel="noopener noreferrer" target="_blank">x</a>');
  t.is(sanitizeRichText('<img src="/api/v1/files/3"><img src="https://evil/x.png"><img src="/">'), '<img src="/api/v1/files/3" />');
  const doc = { title: 't', fields: [{ key: 'r', label: '说明', type: 'richtext', maxLength: 1000 }] };
  const big = validateSubmission(doc, { r: `<p>${'字'.repeat(1200)}</p>` });
  t.is(big.errors[0]!.message, '说明：内容过长（不超过 1000 个字符）');
  t.is(validateSubmission(doc, { r: '<script>alert(1)</script>' }).value.r, null, 'nothing left is empty');
  const dir = `${CORPORA}word-paste/`;
  if (!existsSync(dir)) {
    t.log(`skipped Word paste: ${dir} not found`);
    return;
  }
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.html'))) {
    const clean = sanitizeRichText(readFileSync(dir + f, 'utf8'));
    t.is(dangerous(clean), null, f);
    t.notRegex(clean, /<!--|<o:p|mso-|<head|<style/i, f);
    if (f.includes('table')) t.regex(clean, /<table/, `${f} keeps its table`);
  }
});
