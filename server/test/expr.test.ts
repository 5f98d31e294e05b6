import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import {
  BASE_FUNCTIONS,
  compileExpr,
  createWorkCalendar,
  dateFunctions,
  type Dec,
  ExprError,
  isDec,
  type ExprErrorCode,
  type FunctionRegistry,
} from '../src/expr/index.ts';

// Safe expression evaluator (R16.8; shared with workflow conditions, issue 4 / R3.3).

const functions: FunctionRegistry = { ...BASE_FUNCTIONS, ...dateFunctions() };
const NOW = new Date('2026-11-25T02:00:00Z'); // 10:00 in Beijing

function run(src: string, scope: Record<string, unknown> = {}): unknown {
  return compileExpr(src, { functions }).evaluate(scope, { now: NOW });
}

function fails(t: ExecutionContext, src: string, code: ExprErrorCode, scope: Record<string, unknown> = {}): ExprError {
  const err = t.throws(() => run(src, scope), { instanceOf: ExprError }, src) as ExprError;
  t.is(err.code, code, `${src}: ${err.message}`);
  t.regex(err.message, /[\u4e00-\u9fff]/, 'message is Chinese');
  return err;
}

test('R16.8 arithmetic is decimal-exact: 0.1 + 0.2 == 0.3', (t) => {
  t.is(run('0.1 + 0.2'), 0.3);
  t.true(run('0.1 + 0.2 == 0.3') as boolean);
  t.is(run('1.1 * 3'), 3.3);
  t.is(run('a + b', { a: 0.1, b: 0.2 }), 0.3);
  const raw = compileExpr('19.99 * 3').evaluateRaw({});
  t.true(isDec(raw));
  t.is((raw as Dec).toString(), '59.97');
  t.is(run('7 % 3'), 1);
  t.is(run('2 ** 10'), 1024);
  t.is(run('-x + +y', { x: 1, y: 2 }), 1);
  t.is(run('(1 + 2) * 3'), 9);
});

test('R16.8 operators: comparison, logic, ternary, ??, string concatenation', (t) => {
  t.true(run("a >= 5000 && dept == '口腔外科'", { a: 5000, dept: '口腔外科' }) as boolean);
  t.false(run('a > 5000 || b', { a: 1, b: false }) as boolean);
  t.is(run("a > 10 ? '院长' : '科主任'", { a: 11 }), '院长');
  t.is(run("x ?? '默认'", {}), '默认');
  t.is(run("'编号-' + n", { n: 7 }), '编号-7');
  t.true(run("'2026-01-02' < '2026-11-25'") as boolean);
  t.false(run('missing > 3') as boolean, 'comparison with an empty value is false');
  t.true(run('missing == null') as boolean);
  t.false(run("1 == '1'") as boolean, 'no type coercion');
  t.true(run('!0 && !"" && !null') as boolean);
  t.is(run('empty + 1', {}), 1, 'an empty number counts as 0');
});

test('R16.8 member access: own properties, column projection, indexes, Chinese names', (t) => {
  const scope = { items: [{ amount: 100, name: '耗材' }, { amount: 250.5 }], 申请人: { 科室: '正畸科' } };
  t.is(run('SUM(items.amount)', scope), 350.5);
  t.deepEqual(run('items.name', scope), ['耗材', null]);
  t.is(run('items[1].amount', scope), 250.5);
  t.is(run('items[5].amount', scope), null);
  t.is(run("申请人.科室 == '正畸科'", scope), true);
  t.is(run("申请人['科室']", scope), '正畸科');
  t.is(run('a?.b.c', {}), null);
  t.deepEqual([...compileExpr('SUM(items.amount) + a.b[0].c + x', { functions }).refs], ['items.amount', 'a.b', 'x']);
  t.deepEqual([...compileExpr('IF(a, b.c, a)', { functions }).calls], ['IF']);
});

test('R16.8 injection: constructor chains, prototypes and method calls are refused', (t) => {
  fails(t, "constructor.constructor('return process')()", 'EXPR_FORBIDDEN');
  fails(t, 'constructor', 'EXPR_FORBIDDEN');
  fails(t, 'a.constructor', 'EXPR_FORBIDDEN', { a: {} });
  fails(t, "a['constructor']", 'EXPR_FORBIDDEN', { a: {} });
  fails(t, "a['constr' + 'uctor']", 'EXPR_FORBIDDEN', { a: {} });
  fails(t, "a[k]", 'EXPR_FORBIDDEN', { a: {}, k: '__proto__' });
  fails(t, 'a.__proto__', 'EXPR_FORBIDDEN', { a: {} });
  fails(t, '__proto__', 'EXPR_FORBIDDEN');
  fails(t, 'a.prototype', 'EXPR_FORBIDDEN', { a: {} });
  fails(t, 'a.toString', 'EXPR_FORBIDDEN', { a: {} });
  fails(t, 'a.toString()', 'EXPR_FORBIDDEN', { a: {} });
  fails(t, 'toString()', 'EXPR_UNKNOWN_FUNCTION');
  fails(t, "'abc'.length", 'EXPR_FORBIDDEN');
  fails(t, "s.constructor.fromCharCode(65)", 'EXPR_FORBIDDEN', { s: 'x' });
  fails(t, 'items.map(x)', 'EXPR_FORBIDDEN', { items: [] });
  fails(t, 'Math.max(1, 2)', 'EXPR_FORBIDDEN');
  fails(t, 'eval("1")', 'EXPR_UNKNOWN_FUNCTION');
  fails(t, 'SUM.call(null, 1)', 'EXPR_FORBIDDEN');
  t.is(run('(SUM)(1)'), 1, 'a parenthesised name is still only a registry function');
  fails(t, 'this', 'EXPR_FORBIDDEN');
  fails(t, 'this.x', 'EXPR_FORBIDDEN');
  // An own `__proto__` made by JSON.parse is still refused, and inherited data is invisible.
  fails(t, "a['__proto__']", 'EXPR_FORBIDDEN', { a: JSON.parse('{"__proto__": {"x": 1}}') });
  t.is(run('a.x', { a: JSON.parse('{"__proto__": {"x": 1}}') }), null);
  t.is(run('b.inherited', { b: Object.assign(Object.create(null), { own: 1 }) }), null);
  // Host objects that are not plain data are refused: class instances, functions, getters, Dates.
  class Secret {
    key = 'x';
  }
  fails(t, 's.key', 'EXPR_TYPE', { s: new Secret() });
  fails(t, 'f', 'EXPR_TYPE', { f: () => 1 });
  fails(t, 'd', 'EXPR_TYPE', { d: new Date() });
  let ran = false;
  const withGetter = {
    get g() {
      ran = true;
      return 1;
    },
  };
  fails(t, 'o.g', 'EXPR_FORBIDDEN', { o: withGetter });
  t.false(ran, 'getters never run');
  t.false(Object.hasOwn(Object.prototype, 'polluted'));
});

test('R16.8 injection: syntax outside the whitelist (template literals, assignment, regex, sequences, bit operators)', (t) => {
  fails(t, '`${process}`', 'EXPR_FORBIDDEN');
  fails(t, 'a = 1', 'EXPR_SYNTAX');
  fails(t, 'a += 1', 'EXPR_SYNTAX');
  fails(t, 'a++', 'EXPR_SYNTAX');
  fails(t, '/a/.test("a")', 'EXPR_SYNTAX');
  fails(t, 'a; b', 'EXPR_FORBIDDEN');
  fails(t, '(a, b)', 'EXPR_FORBIDDEN');
  fails(t, '1 | 2', 'EXPR_FORBIDDEN');
  fails(t, '1 << 2', 'EXPR_FORBIDDEN');
  fails(t, '~1', 'EXPR_FORBIDDEN');
  fails(t, 'x => x', 'EXPR_SYNTAX');
  fails(t, 'new Date()', 'EXPR_FORBIDDEN');
  fails(t, '{a: 1}', 'EXPR_SYNTAX');
  fails(t, '[1,,2]', 'EXPR_SYNTAX');
  fails(t, 'typeof a', 'EXPR_FORBIDDEN');
  fails(t, 'a +', 'EXPR_SYNTAX');
  fails(t, '   ', 'EXPR_EMPTY');
});

test('R16.8 bounds: length, nesting, node count, step budget, string and list sizes', (t) => {
  fails(t, 'x'.repeat(2001), 'EXPR_TOO_LONG');
  fails(t, '('.repeat(40) + '1' + ')'.repeat(40), 'EXPR_TOO_DEEP');
  fails(t, '['.repeat(40) + ']'.repeat(40), 'EXPR_TOO_DEEP');
  fails(t, '!'.repeat(1999) + '1', 'EXPR_TOO_DEEP');
  fails(t, Array.from({ length: 300 }, (_, i) => `a${i}`).join('+'), 'EXPR_TOO_DEEP');
  fails(t, Array.from({ length: 600 }, () => '1').join(',').replace(/^/, 'SUM(') + ')', 'EXPR_TOO_COMPLEX');
  // A 40-field sum is ordinary and must pass.
  t.is(run(Array.from({ length: 40 }, (_, i) => `f${i}`).join(' + '), Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 1]))), 40);
  // Budget: many columns of a large list.
  const rows = Array.from({ length: 20_000 }, () => ({ a: 1 }));
  fails(t, 'SUM(r.a) + SUM(r.a) + SUM(r.a) + SUM(r.a)', 'EXPR_BUDGET', { r: rows });
  fails(t, 'r', 'EXPR_RANGE', { r: new Array(20_001).fill(0) });
  // Strings cannot be doubled into gigabytes.
  const big = 'x'.repeat(60_000);
  fails(t, 's + s', 'EXPR_RANGE', { s: big });
  fails(t, 'CONCAT(s, s)', 'EXPR_RANGE', { s: big });
  fails(t, '2 ** 1000', 'EXPR_RANGE');
  fails(t, '10 ** 31', 'EXPR_RANGE');
  fails(t, '1e40', 'EXPR_RANGE');
  fails(t, '1 / 0', 'EXPR_DIVIDE_BY_ZERO');
  fails(t, '1 % 0', 'EXPR_DIVIDE_BY_ZERO');
  const started = Date.now();
  t.throws(() => run('SUM(r.a, r.a, r.a, r.a, r.a, r.a, r.a, r.a, r.a, r.a, r.a, r.a)', { r: rows }));
  t.true(Date.now() - started < 1000, 'the budget stops work early');
});

test('R16.8 errors carry a position into the source', (t) => {
  t.is(fails(t, 'a + b.constructor', 'EXPR_FORBIDDEN', { a: 1, b: {} }).position, 6);
  t.is(fails(t, '1 + foo(2)', 'EXPR_UNKNOWN_FUNCTION').position, 4);
  t.is(fails(t, "  x * 'a'", 'EXPR_TYPE', { x: 2 }).position, 6);
  t.is(fails(t, '(1 + 2', 'EXPR_SYNTAX').position, 6);
  const e = fails(t, 'SUM(1) / 0', 'EXPR_DIVIDE_BY_ZERO');
  t.is(e.position, 9);
  t.regex(e.describe(), /第 10 个字符/);
});

test('R16.8 function registry: only registered functions, arity checked at compile time, case-insensitive', (t) => {
  t.throws(() => compileExpr('SUM(1)'), { instanceOf: ExprError, message: /未知函数/ }, 'no registry, no functions');
  t.is(run('sum(1, 2)'), 3);
  fails(t, 'ROUND()', 'EXPR_ARGUMENTS');
  fails(t, 'LEFT(1, 2, 3)', 'EXPR_ARGUMENTS');
  fails(t, 'hasOwnProperty(1)', 'EXPR_UNKNOWN_FUNCTION');
  // A failing host function never leaks its error.
  const boom: FunctionRegistry = { BOOM: { minArgs: 0, maxArgs: 0, call: () => { throw new Error('secret path /etc'); } } };
  const err = t.throws(() => compileExpr('BOOM()', { functions: boom }).evaluate({}), { instanceOf: ExprError });
  t.notRegex(err!.message, /secret/);
  // Lazy IF does not evaluate the untaken branch.
  t.is(run('IF(x > 0, 10 / x, 0)', { x: 0 }), 0);
  t.is(run('IF(x, 1)', { x: false }), null);
});

test('R16.8 base functions: ROUND half-up, text functions, IN/CONTAINS, MIN/MAX/COUNT/AVERAGE', (t) => {
  t.is(run('ROUND(2.345, 2)'), 2.35);
  t.is(run('ROUND(-2.5)'), -3);
  t.is(run('ROUND(1.005, 2)'), 1.01, 'no binary float drift');
  t.is(run("CONCAT('QJ', '-', 2026)"), 'QJ-2026');
  t.is(run("LEFT('口腔颌面外科', 2)"), '口腔');
  t.is(run("RIGHT('口腔颌面外科', 2)"), '外科');
  t.is(run("LEN('𠀋口腔')"), 3, 'characters, not UTF-16 units');
  t.is(run('LEN(items)', { items: [1, 2, 3] }), 3);
  t.true(run("IN(t, ['差旅', '培训'])", { t: '培训' }) as boolean);
  t.false(run("IN(t, ['差旅', '培训'])", { t: '招待' }) as boolean);
  t.true(run("CONTAINS(tags, 'A')", { tags: ['A', 'B'] }) as boolean);
  t.true(run("CONTAINS('高值耗材', '耗材')") as boolean);
  t.is(run('MAX(r.a, 7)', { r: [{ a: 3 }, { a: 9 }] }), 9);
  t.is(run('MIN(r.a)', { r: [{ a: 3 }, { a: null }] }), 3);
  t.is(run('COUNT(r.a)', { r: [{ a: 3 }, { a: null }, { a: '' }] }), 1);
  t.is(run('AVERAGE(1, 2)'), 1.5);
  t.true(run('ISEMPTY(x) && ISEMPTY(l)', { l: [] }) as boolean);
  fails(t, "SUM('abc')", 'EXPR_TYPE');
});

test('R16.8 dates: TODAY/NOW in Beijing time, DAYS, ADDDAYS', (t) => {
  t.is(run('TODAY()'), '2026-11-25');
  t.is(compileExpr('TODAY()', { functions }).evaluate({}, { now: new Date('2026-11-25T17:00:00Z') }), '2026-11-26', 'after 16:00 UTC it is tomorrow in Beijing');
  t.is(run('NOW()'), '2026-11-25T02:00:00.000Z');
  t.is(run("DAYS('2026-11-25', '2026-12-01')"), 6);
  t.is(run("DAYS('2026-12-01', '2026-11-25')"), -6);
  t.is(run("DAYS(a, b) + 1", { a: '2024-02-28', b: '2024-03-01' }), 3, 'leap day');
  t.is(run("DAYS(a, b)", { a: '2026-11-24T16:30:00.000Z', b: '2026-11-25' }), 0, 'date-times count in Beijing time');
  t.is(run("ADDDAYS('2026-12-30', 3)"), '2027-01-02');
  t.is(run('DAYS(a, b)', {}), null);
  fails(t, "DAYS('2026-02-30', '2026-03-01')", 'EXPR_TYPE');
  fails(t, "DAYS('昨天', '2026-03-01')", 'EXPR_TYPE');
});

test('R16.8 WORKDAYS uses the Chinese holiday calendar; an uncovered year is an explicit error', (t) => {
  // National Day 2026: 10-01..10-07 off; 09-28 .. 10-10 → 09-28, 29, 30, 10-08, 09 (Fri) and 10-10 (Sat, 调休上班).
  t.is(run("WORKDAYS('2026-09-28', '2026-10-10')"), 6);
  t.is(run("WORKDAYS('2026-10-10', '2026-09-28')"), -6);
  t.is(run("WORKDAYS('2026-11-23', '2026-11-29')"), 5);
  const err = fails(t, "WORKDAYS('2026-12-28', '2027-01-08')", 'EXPR_FUNCTION');
  t.regex(err.message, /2027 年/);
  // Explicit alternatives: add the year's notice, or opt into weekends-only.
  const extra = createWorkCalendar({ extraYears: { 2027: { holidays: ['2027-01-01'], workdays: [] } } });
  t.is(compileExpr("WORKDAYS('2026-12-28', '2027-01-08')", { functions: dateFunctions(extra) }).evaluate({}), 9);
  const loose = createWorkCalendar({ fallback: 'weekends' });
  t.is(compileExpr("WORKDAYS('2027-01-01', '2027-01-08')", { functions: dateFunctions(loose) }).evaluate({}), 6);
  t.true(loose.coveredYears.has(2026));
  t.false(loose.coveredYears.has(2027));
});

test('R16.8 property: random expressions never escape as non-ExprError, never pollute prototypes', (t) => {
  const atoms = fc.constantFrom('a', 'b.c', 'items.amount', '1', '0.1', "'x'", 'null', 'true', 'constructor', '__proto__', 'toString', 'this', '[1,2]');
  const ops = fc.constantFrom('+', '-', '*', '/', '%', '==', '<', '&&', '||', '??', '|', '=', '.', '[', '](', '(', ')', '?', ':', ',', ';', '`', '**');
  const src = fc.array(fc.oneof(atoms, ops), { minLength: 1, maxLength: 30 }).map((p) => p.join(' '));
  const scope = { a: 2, b: { c: 3 }, items: [{ amount: 1 }, { amount: 2 }] };
  fc.assert(
    fc.property(src, (s) => {
      try {
        run(s, scope);
      } catch (e) {
        if (!(e instanceof ExprError)) throw e;
      }
      return !Object.hasOwn(Object.prototype, 'polluted');
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
