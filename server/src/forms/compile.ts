import type { z } from 'zod';
import { BASE_FUNCTIONS, compileExpr, dateFunctions, ExprError, type CompiledExpr, type FunctionRegistry } from '../expr/index.ts';
import { FORM_LIMITS, formSchema, pathToString, type FormField, type FormSchema, type ScalarField, type SchemaIssue, type SubtableField } from './schema.ts';

/**
 * Schema checks and compilation (issue 5 items 1 and 3; R16.6, R16.8). `compileSchema` parses a form
 * document once, checks what zod cannot (duplicate keys, bounds, regexes, formulas that do not parse
 * or reference missing fields, circular formulas, layouts naming missing fields) and compiles every
 * formula. Results are cached per schema object, so callers keep the parsed object of a published
 * version and pay compilation once.
 */

/** Context variables every formula may read (R16.8: current user and department). */
export const CONTEXT_VARS: Record<string, readonly string[]> = {
  $user: ['id', 'name', 'username', 'employeeNo', 'deptId', 'deptName'],
  $dept: ['id', 'name'],
};

/** The functions of form formulas: generic ones plus dates and Chinese working days. */
export const FORM_FUNCTIONS: FunctionRegistry = Object.freeze({ ...BASE_FUNCTIONS, ...dateFunctions() });

export class FormSchemaError extends Error {
  override readonly name = 'FormSchemaError';
  constructor(readonly issues: SchemaIssue[]) {
    super(`表单定义有 ${issues.length} 处错误：${issues
      .slice(0, 3)
      .map((i) => `${i.path}：${i.message}`)
      .join('；')}`);
  }
}

export interface CompiledRule {
  expr: CompiledExpr;
  message: string;
  /** Where the error is reported (a field key or column key), or '' for the form. */
  field: string;
}

export interface CompiledSubtable {
  field: SubtableField;
  columns: Map<string, ScalarField>;
  rowRules: CompiledRule[];
}

export interface CompiledForm {
  readonly schema: FormSchema;
  readonly fields: ReadonlyMap<string, FormField>;
  readonly subtables: ReadonlyMap<string, CompiledSubtable>;
  /** Formulas by node id: a field key, or `table.column` for columns. */
  readonly computed: ReadonlyMap<string, CompiledExpr>;
  readonly defaults: ReadonlyMap<string, CompiledExpr>;
  readonly visible: ReadonlyMap<string, CompiledExpr>;
  readonly requiredWhen: ReadonlyMap<string, CompiledExpr>;
  readonly rules: readonly CompiledRule[];
  /** Computed and default-formula nodes in dependency order. */
  readonly order: readonly string[];
  /** Compiled `pattern` regexes by node id. */
  readonly patterns: ReadonlyMap<string, RegExp>;
}

const cache = new WeakMap<object, CompiledForm>();

/** Parse and check without throwing: `{ ok: true, form }` or `{ ok: false, errors }` with Chinese messages and paths. */
export function checkFormSchema(input: unknown): { ok: true; form: CompiledForm } | { ok: false; errors: SchemaIssue[] } {
  try {
    return { ok: true, form: compileSchema(input) };
  } catch (e) {
    if (e instanceof FormSchemaError) return { ok: false, errors: e.issues };
    throw e;
  }
}

/** Compile a form document (cached per object). Throws FormSchemaError listing every problem found. */
export function compileSchema(input: unknown): CompiledForm {
  if (input && typeof input === 'object') {
    const hit = cache.get(input);
    if (hit) return hit;
  }
  const parsed = formSchema.safeParse(input);
  if (!parsed.success) {
    throw new FormSchemaError(parsed.error.issues.map((i) => ({ path: pathToString(i.path), message: chineseIssue(i), code: 'SCHEMA_INVALID' })));
  }
  const compiled = build(parsed.data);
  if (input && typeof input === 'object') cache.set(input, compiled);
  cache.set(compiled.schema, compiled);
  return compiled;
}

/** zod's own messages are English; schema authors read Chinese. */
function chineseIssue(i: z.core.$ZodIssue): string {
  if (/[\u4e00-\u9fff]/.test(i.message)) return i.message;
  switch (i.code) {
    case 'unrecognized_keys':
      return `不支持的属性：${i.keys.join('、')}`;
    case 'invalid_type':
      return i.input === undefined ? '缺少必填项' : `类型不正确（应为 ${i.expected}）`;
    case 'too_big':
      return `超出上限 ${String(i.maximum)}`;
    case 'too_small':
      return `低于下限 ${String(i.minimum)}`;
    case 'invalid_value':
      return `取值无效，可选：${i.values.map(String).join('、')}`;
    case 'invalid_format':
      return '格式不正确';
    default:
      return '取值无效';
  }
}

/** Heuristic guard against catastrophic backtracking: a quantified group that itself contains a quantifier. */
function unsafeRegex(src: string): boolean {
  return /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,)/.test(src) || /(\\\d)/.test(src);
}

function build(schema: FormSchema): CompiledForm {
  const issues: SchemaIssue[] = [];
  const issue = (path: string, message: string, code: string) => issues.push({ path, message, code });

  const fields = new Map<string, FormField>();
  const fieldPath = new Map<string, string>();
  const subtables = new Map<string, CompiledSubtable>();
  const patterns = new Map<string, RegExp>();

  const checkScalar = (f: ScalarField | FormField, path: string, nodeId: string) => {
    const bounds = (lo: unknown, hi: unknown, what: string) => {
      if (typeof lo === typeof hi && lo !== undefined && hi !== undefined && (lo as number) > (hi as number)) issue(path, `${what}的下限不能大于上限`, 'BOUNDS');
    };
    switch (f.type) {
      case 'text':
      case 'textarea':
        bounds(f.minLength, f.maxLength, '字数');
        if (f.pattern !== undefined) {
          try {
            if (unsafeRegex(f.pattern)) issue(`${path}.pattern`, '校验规则过于复杂（嵌套的重复或反向引用），可能拖慢系统', 'PATTERN_UNSAFE');
            else patterns.set(nodeId, new RegExp(f.pattern, 'u'));
          } catch {
            issue(`${path}.pattern`, '校验规则不是有效的正则表达式', 'PATTERN_INVALID');
          }
        }
        break;
      case 'number':
      case 'money':
      case 'date':
        bounds(f.min, f.max, '取值范围');
        break;
      case 'select':
      case 'radio':
      case 'multiselect':
      case 'checkbox': {
        const seen = new Set<string>();
        f.options.forEach((o, i) => {
          if (seen.has(o.value)) issue(`${path}.options[${i}].value`, `选项值“${o.value}”重复`, 'DUPLICATE_OPTION');
          seen.add(o.value);
        });
        if (f.type === 'multiselect' || f.type === 'checkbox') bounds(f.minItems, f.maxItems, '选择数');
        break;
      }
      default:
        break;
    }
  };

  schema.fields.forEach((f, i) => {
    const path = `fields[${i}]`;
    if (fields.has(f.key)) issue(`${path}.key`, `字段标识“${f.key}”重复`, 'DUPLICATE_KEY');
    else {
      fields.set(f.key, f);
      fieldPath.set(f.key, path);
    }
    if (f.type === 'subtable') {
      if (f.minRows !== undefined && f.maxRows !== undefined && f.minRows > f.maxRows) issue(path, '最少行数不能大于最多行数', 'BOUNDS');
      const columns = new Map<string, ScalarField>();
      f.columns.forEach((c, j) => {
        const cpath = `${path}.columns[${j}]`;
        if (columns.has(c.key)) issue(`${cpath}.key`, `列标识“${c.key}”重复`, 'DUPLICATE_KEY');
        columns.set(c.key, c);
        fieldPath.set(`${f.key}.${c.key}`, cpath);
        if (c.type === 'serial') issue(`${cpath}.type`, '明细表中不能使用流水号', 'TYPE_NOT_ALLOWED');
        checkScalar(c, cpath, `${f.key}.${c.key}`);
      });
      (f.totals ?? []).forEach((k, j) => {
        const c = columns.get(k);
        if (!c) issue(`${path}.totals[${j}]`, `合计列“${k}”不存在`, 'UNKNOWN_FIELD');
        else if (!(c.type === 'number' || c.type === 'money' || (c.type === 'computed' && (c.resultType === 'number' || c.resultType === 'money')))) {
          issue(`${path}.totals[${j}]`, `只能合计数字或金额列，“${c.label}”不是`, 'TYPE_NOT_ALLOWED');
        }
      });
      subtables.set(f.key, { field: f, columns, rowRules: [] });
    } else checkScalar(f, path, f.key);
  });
  // Column keys must not shadow top-level keys, so a formula name means one thing everywhere.
  for (const [tkey, st] of subtables) {
    for (const ckey of st.columns.keys()) {
      if (fields.has(ckey)) issue(`${fieldPath.get(`${tkey}.${ckey}`)}.key`, `列标识“${ckey}”与表单字段重名`, 'DUPLICATE_KEY');
    }
  }
  for (const f of schema.fields) {
    if (f.type === 'lookup' && f.fill) {
      for (const target of Object.keys(f.fill)) {
        if (!fields.has(target)) issue(`${fieldPath.get(f.key)}.fill.${target}`, `关联填充的字段“${target}”不存在`, 'UNKNOWN_FIELD');
      }
    }
  }

  // ---- formulas
  const computed = new Map<string, CompiledExpr>();
  const defaults = new Map<string, CompiledExpr>();
  const visible = new Map<string, CompiledExpr>();
  const requiredWhen = new Map<string, CompiledExpr>();
  const rules: CompiledRule[] = [];
  const deps = new Map<string, Set<string>>(); // value-formula node → nodes it reads

  /** Resolve a ref to the node ids it reads; report unknown names. `table` is the row context. */
  const resolveRef = (ref: string, table: string | null, path: string): string[] | null => {
    const [head = '', second] = ref.split('.');
    if (head.startsWith('$')) {
      const known = CONTEXT_VARS[head];
      if (!known) return issue(path, `公式引用了未知的系统变量“${head}”`, 'UNKNOWN_FIELD'), null;
      if (second !== undefined && !known.includes(second)) return issue(path, `系统变量 ${head} 没有“${second}”`, 'UNKNOWN_FIELD'), null;
      return [];
    }
    if (table !== null && subtables.get(table)?.columns.has(head)) return [`${table}.${head}`];
    const f = fields.get(head);
    if (!f) return issue(path, `公式引用了不存在的字段“${head}”`, 'UNKNOWN_FIELD'), null;
    if (f.type === 'subtable') {
      const st = subtables.get(head)!;
      if (second === undefined) return [...st.columns.keys()].map((c) => `${head}.${c}`);
      if (!st.columns.has(second)) return issue(path, `明细表“${f.label}”没有列“${second}”`, 'UNKNOWN_FIELD'), null;
      return [`${head}.${second}`];
    }
    if (second !== undefined && !(f.type === 'daterange' && (second === 'start' || second === 'end'))) {
      return issue(path, `字段“${f.label}”没有属性“${second}”`, 'UNKNOWN_FIELD'), null;
    }
    return [head];
  };

  const compileAt = (src: string, path: string, table: string | null, node: string | null): CompiledExpr | null => {
    let expr: CompiledExpr;
    try {
      expr = compileExpr(src, { functions: FORM_FUNCTIONS });
    } catch (e) {
      if (e instanceof ExprError) {
        issue(path, `公式错误：${e.describe()}`, 'FORMULA_INVALID');
        return null;
      }
      throw e;
    }
    const reads = new Set<string>();
    for (const ref of expr.refs) for (const n of resolveRef(ref, table, path) ?? []) reads.add(n);
    if (node !== null) deps.set(node, reads);
    return expr;
  };

  const compileFieldFormulas = (f: FormField | ScalarField, path: string, table: string | null) => {
    const node = table === null ? f.key : `${table}.${f.key}`;
    if (f.type === 'computed') {
      const e = compileAt(f.formula, `${path}.formula`, table, node);
      if (e) computed.set(node, e);
    }
    if (f.defaultFormula !== undefined) {
      if (f.type === 'computed') issue(`${path}.defaultFormula`, '计算字段不需要默认值公式', 'TYPE_NOT_ALLOWED');
      else {
        const e = compileAt(f.defaultFormula, `${path}.defaultFormula`, table, node);
        if (e) defaults.set(node, e);
      }
    }
    if (f.visibleWhen !== undefined) {
      const e = compileAt(f.visibleWhen, `${path}.visibleWhen`, table, null);
      if (e) visible.set(node, e);
    }
    if (f.requiredWhen !== undefined) {
      const e = compileAt(f.requiredWhen, `${path}.requiredWhen`, table, null);
      if (e) requiredWhen.set(node, e);
    }
  };

  schema.fields.forEach((f, i) => {
    compileFieldFormulas(f, `fields[${i}]`, null);
    if (f.type === 'subtable') {
      const st = subtables.get(f.key)!;
      f.columns.forEach((c, j) => compileFieldFormulas(c, `fields[${i}].columns[${j}]`, f.key));
      (f.rowRules ?? []).forEach((r, j) => {
        const path = `fields[${i}].rowRules[${j}]`;
        if (r.column !== undefined && !st.columns.has(r.column)) issue(`${path}.column`, `列“${r.column}”不存在`, 'UNKNOWN_FIELD');
        const e = compileAt(r.formula, `${path}.formula`, f.key, null);
        if (e) st.rowRules.push({ expr: e, message: r.message, field: r.column ?? '' });
      });
    }
  });
  (schema.rules ?? []).forEach((r, i) => {
    const path = `rules[${i}]`;
    if (r.field !== undefined && !fields.has(r.field)) issue(`${path}.field`, `字段“${r.field}”不存在`, 'UNKNOWN_FIELD');
    const e = compileAt(r.formula, `${path}.formula`, null, null);
    if (e) rules.push({ expr: e, message: r.message, field: r.field ?? '' });
  });

  // ---- dependency order; cycles are errors (R16.8 bad input: circular formulas).
  const order: string[] = [];
  const state = new Map<string, 1 | 2>(); // 1 visiting, 2 done
  const stack: string[] = [];
  let cycleReported = false;
  const visit = (n: string) => {
    if (state.get(n) === 2) return;
    if (state.get(n) === 1) {
      if (!cycleReported) {
        const cyc = [...stack.slice(stack.indexOf(n)), n];
        const names = cyc.map((id) => labelOf(id)).join(' → ');
        issue(`${fieldPath.get(n) ?? n}`, `公式循环引用：${names}`, 'FORMULA_CYCLE');
        cycleReported = true;
      }
      return;
    }
    state.set(n, 1);
    stack.push(n);
    for (const d of deps.get(n) ?? []) if (deps.has(d)) visit(d);
    stack.pop();
    state.set(n, 2);
    order.push(n);
  };
  const labelOf = (id: string): string => {
    const [a = '', b] = id.split('.');
    if (b === undefined) return fields.get(a)?.label ?? a;
    return `${fields.get(a)?.label ?? a}.${subtables.get(a)?.columns.get(b)?.label ?? b}`;
  };
  for (const n of deps.keys()) visit(n);

  // ---- layouts name existing fields, each at most once.
  const checkSections = (sections: NonNullable<FormSchema['layout']>['sections'], base: string) => {
    const placed = new Set<string>();
    sections.forEach((s, i) =>
      s.rows.forEach((row, j) =>
        row.forEach((cell, k) => {
          const p = `${base}.sections[${i}].rows[${j}][${k}].field`;
          if (!fields.has(cell.field)) issue(p, `布局中的字段“${cell.field}”不存在`, 'UNKNOWN_FIELD');
          else if (placed.has(cell.field)) issue(p, `字段“${cell.field}”在布局中出现了多次`, 'DUPLICATE_KEY');
          placed.add(cell.field);
        }),
      ),
    );
  };
  if (schema.layout) checkSections(schema.layout.sections, 'layout');
  if (schema.printLayout) checkSections(schema.printLayout.sections, 'printLayout');
  if (schema.phoneLayout) {
    const seen = new Set<string>();
    schema.phoneLayout.fields.forEach((k, i) => {
      if (!fields.has(k)) issue(`phoneLayout.fields[${i}]`, `手机布局中的字段“${k}”不存在`, 'UNKNOWN_FIELD');
      else if (seen.has(k)) issue(`phoneLayout.fields[${i}]`, `字段“${k}”在手机布局中出现了多次`, 'DUPLICATE_KEY');
      seen.add(k);
    });
  }
  let total = schema.fields.length;
  for (const st of subtables.values()) total += st.columns.size;
  if (total > FORM_LIMITS.maxFields * 2) issue('fields', `字段（含明细列）不能超过 ${FORM_LIMITS.maxFields * 2} 个`, 'TOO_MANY');

  if (issues.length) throw new FormSchemaError(issues);
  return Object.freeze({ schema, fields, subtables, computed, defaults, visible, requiredWhen, rules, order, patterns });
}
