import test from 'ava';
import { checkFormSchema, compileSchema, FormSchemaError, FIELD_TYPES, type SchemaIssue } from '../src/forms/index.ts';
import { EXPENSE_FORM, LEAVE_FORM, PURCHASE_FORM } from '../src/forms/fixtures.ts';

// Form schema checks (issue 5 item 1 and "bad input"; R16.1, R16.4, R16.8, R16.11).

function errorsOf(doc: unknown): SchemaIssue[] {
  const r = checkFormSchema(doc);
  if (r.ok) throw new Error('expected schema errors');
  return r.errors;
}

const one = (fields: unknown[], extra: Record<string, unknown> = {}) => ({ title: '测试', fields, ...extra });

test('R16.1 the three reference forms compile; formulas are compiled once and cached', (t) => {
  for (const doc of [LEAVE_FORM, EXPENSE_FORM, PURCHASE_FORM]) {
    const a = compileSchema(doc);
    t.is(compileSchema(doc), a, 'cached per object');
    t.is(compileSchema(a.schema), a);
  }
  const leave = compileSchema(LEAVE_FORM);
  t.deepEqual([...leave.computed.keys()], ['days']);
  t.true(leave.defaults.has('applicant'));
  const purchase = compileSchema(PURCHASE_FORM);
  // lines.lineAmount must come before totalAmount.
  t.true(purchase.order.indexOf('lines.lineAmount') < purchase.order.indexOf('totalAmount'));
});

test('R16.1 every field type is accepted', (t) => {
  const fields = FIELD_TYPES.map((type, i) => {
    const f: Record<string, unknown> = { key: `f${i}`, label: `字段${i}`, type };
    if (['select', 'multiselect', 'radio', 'checkbox'].includes(type)) f.options = [{ value: 'a', label: 'A' }];
    if (type === 'serial') f.pattern = 'X-{0000}';
    if (type === 'computed') Object.assign(f, { formula: '1 + 1', resultType: 'number' });
    if (type === 'lookup') f.source = 'budget';
    if (type === 'subtable') f.columns = [{ key: `c${i}`, label: '列', type: 'number' }];
    return f;
  });
  t.true(checkFormSchema(one(fields)).ok);
});

test('R16.6 unknown field types are refused with a Chinese message and a path', (t) => {
  const errs = errorsOf(one([{ key: 'a', label: 'A', type: 'text' }, { key: 'b', label: 'B', type: 'hologram' }]));
  t.is(errs[0]!.path, 'fields[1].type');
  t.regex(errs[0]!.message, /未知的字段类型“hologram”/);
  const col = errorsOf(one([{ key: 't', label: '表', type: 'subtable', columns: [{ key: 'x', label: 'X', type: 'nope' }] }]));
  t.is(col[0]!.path, 'fields[0].columns[0].type');
  t.regex(col[0]!.message, /未知的字段类型/);
  t.regex(errorsOf(one([{ key: 'a', label: 'A' }]))[0]!.message, /请指定字段类型/);
  t.regex(errorsOf(one([{ key: 'a', label: 'A', type: 'text', colour: 'red' }]))[0]!.message, /不支持的属性：colour/, 'unknown properties are refused');
  t.regex(errorsOf({ fields: [] })[0]!.message, /[\u4e00-\u9fff]/);
});

test('R16.1 duplicate keys, bad keys, bad bounds, duplicate options, unsafe or invalid patterns', (t) => {
  const dup = errorsOf(one([{ key: 'a', label: 'A', type: 'text' }, { key: 'a', label: 'B', type: 'number' }]));
  t.deepEqual(dup.map((e) => [e.path, e.code]), [['fields[1].key', 'DUPLICATE_KEY']]);
  t.regex(dup[0]!.message, /字段标识“a”重复/);
  const colDup = errorsOf(one([{ key: 'a', label: 'A', type: 'text' }, { key: 't', label: 'T', type: 'subtable', columns: [{ key: 'a', label: 'X', type: 'text' }] }]));
  t.regex(colDup[0]!.message, /与表单字段重名/);
  t.is(errorsOf(one([{ key: '1a', label: 'A', type: 'text' }]))[0]!.path, 'fields[0].key');
  t.is(errorsOf(one([{ key: '__proto__', label: 'A', type: 'text' }]))[0]!.path, 'fields[0].key');
  t.is(errorsOf(one([{ key: 'constructor', label: 'A', type: 'text' }]))[0]!.path, 'fields[0].key');
  t.regex(errorsOf(one([{ key: 'n', label: 'N', type: 'number', min: 10, max: 1 }]))[0]!.message, /下限不能大于上限/);
  t.regex(errorsOf(one([{ key: 's', label: 'S', type: 'select', options: [{ value: 'x', label: '1' }, { value: 'x', label: '2' }] }]))[0]!.message, /选项值“x”重复/);
  t.is(errorsOf(one([{ key: 's', label: 'S', type: 'text', pattern: '(' }]))[0]!.code, 'PATTERN_INVALID');
  t.is(errorsOf(one([{ key: 's', label: 'S', type: 'text', pattern: '^(a+)+$' }]))[0]!.code, 'PATTERN_UNSAFE');
  t.is(errorsOf(one([{ key: 's', label: 'S', type: 'serial', pattern: 'QJ-{yyyy}' }]))[0]!.path, 'fields[0].pattern');
  t.regex(errorsOf(one([{ key: 't', label: 'T', type: 'subtable', columns: [{ key: 'x', label: 'X', type: 'text' }], totals: ['x'] }]))[0]!.message, /只能合计数字或金额列/);
  t.regex(errorsOf(one([{ key: 't', label: 'T', type: 'subtable', columns: [{ key: 'x', label: 'X', type: 'text' }], maxRows: 10_000 }]))[0]!.message, /不能超过 2000/);
});

test('R16.8 formulas that do not parse or reference missing fields are refused with their path', (t) => {
  const bad = errorsOf(one([{ key: 'a', label: 'A', type: 'number' }, { key: 'c', label: 'C', type: 'computed', resultType: 'number', formula: 'a +' }]));
  t.is(bad[0]!.path, 'fields[1].formula');
  t.regex(bad[0]!.message, /公式错误：表达式语法错误/);
  const missing = errorsOf(one([{ key: 'c', label: 'C', type: 'computed', resultType: 'number', formula: 'price * qty' }]));
  t.deepEqual(missing.map((e) => e.message), ['公式引用了不存在的字段“price”', '公式引用了不存在的字段“qty”']);
  const col = errorsOf(one([{ key: 't', label: '明细', type: 'subtable', columns: [{ key: 'x', label: 'X', type: 'number' }] }, { key: 's', label: 'S', type: 'computed', resultType: 'number', formula: 'SUM(t.y)' }]));
  t.regex(col[0]!.message, /明细表“明细”没有列“y”/);
  t.regex(errorsOf(one([{ key: 'a', label: 'A', type: 'text', visibleWhen: '$boss.name' }]))[0]!.message, /未知的系统变量/);
  t.regex(errorsOf(one([{ key: 'a', label: 'A', type: 'text', defaultFormula: 'NOSUCH()' }]))[0]!.message, /未知函数/);
  t.is(errorsOf(one([{ key: 'a', label: 'A', type: 'text' }], { rules: [{ formula: 'b > 1', message: 'x' }] }))[0]!.path, 'rules[0].formula');
  t.is(errorsOf(one([{ key: 'a', label: 'A', type: 'text', visibleWhen: "a.constructor('x')" }]))[0]!.code, 'FORMULA_INVALID');
});

test('R16.8 circular formulas are refused, naming the cycle', (t) => {
  const errs = errorsOf(
    one([
      { key: 'a', label: '甲', type: 'computed', resultType: 'number', formula: 'b + 1' },
      { key: 'b', label: '乙', type: 'computed', resultType: 'number', formula: 'c + 1' },
      { key: 'c', label: '丙', type: 'computed', resultType: 'number', formula: 'a + 1' },
    ]),
  );
  t.is(errs[0]!.code, 'FORMULA_CYCLE');
  t.regex(errs[0]!.message, /公式循环引用：甲 → 乙 → 丙 → 甲/);
  t.is(errs[0]!.path, 'fields[0]');
  const self = errorsOf(one([{ key: 'a', label: '甲', type: 'computed', resultType: 'number', formula: 'a * 2' }]));
  t.is(self[0]!.code, 'FORMULA_CYCLE');
  // Across a sub-table: a column reading a total that sums the column.
  const cross = errorsOf(
    one([
      { key: 't', label: '明细', type: 'subtable', columns: [{ key: 'x', label: 'X', type: 'computed', resultType: 'number', formula: 's / 2' }] },
      { key: 's', label: '合计', type: 'computed', resultType: 'number', formula: 'SUM(t.x)' },
    ]),
  );
  t.is(cross[0]!.code, 'FORMULA_CYCLE');
  // A default reading a computed field that reads it.
  t.is(errorsOf(one([{ key: 'a', label: 'A', type: 'number', defaultFormula: 'b' }, { key: 'b', label: 'B', type: 'computed', resultType: 'number', formula: 'a' }]))[0]!.code, 'FORMULA_CYCLE');
});

test('R16.11 layouts, print and phone layouts must name existing fields once', (t) => {
  const f = [{ key: 'a', label: 'A', type: 'text' }];
  t.regex(errorsOf(one(f, { layout: { sections: [{ kind: 'tab', rows: [[{ field: 'zz' }]] }] } }))[0]!.message, /布局中的字段“zz”不存在/);
  t.is(errorsOf(one(f, { printLayout: { sections: [{ kind: 'group', rows: [[{ field: 'a' }, { field: 'a' }]] }] } }))[0]!.code, 'DUPLICATE_KEY');
  t.is(errorsOf(one(f, { phoneLayout: { fields: ['b'] } }))[0]!.path, 'phoneLayout.fields[0]');
  t.is(errorsOf(one(f, { layout: { sections: [{ kind: 'sidebar', rows: [] }] } }))[0]!.path, 'layout.sections[0].kind');
});

test('R16.1 a FormSchemaError lists every problem at once', (t) => {
  const err = t.throws(() =>
    compileSchema(one([{ key: 'a', label: 'A', type: 'text' }, { key: 'a', label: 'B', type: 'text' }, { key: 'c', label: 'C', type: 'computed', resultType: 'text', formula: 'zz' }])),
  ) as FormSchemaError;
  t.true(err instanceof FormSchemaError);
  t.is(err.issues.length, 2);
  t.regex(err.message, /表单定义有 2 处错误/);
});
