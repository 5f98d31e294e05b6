import { Dec, ExprError, isDec, isPlainObject, isTruthy, type CompiledExpr, type ExprValue } from '../expr/index.ts';
import { compileSchema, type CompiledForm } from './compile.ts';
import {
  InputError,
  charLength,
  normalizeDate,
  normalizeDateTime,
  normalizeId,
  normalizeMoney,
  normalizeNumber,
  normalizeText,
  sanitizeRichText,
  toHalfWidth,
} from './normalize.ts';
import { FORM_LIMITS, type FormField, type ScalarField } from './schema.ts';

/**
 * Server-side validation and computation of a submission (issue 5 items 2, 3, 5; R16.3, R16.6,
 * R16.8). Pure and synchronous: the workflow engine calls it per node with that node's field
 * permissions. Existence checks that need the database (people, departments, files, lookup keys)
 * belong to the service that stores the submission.
 */

export type FieldPermission = 'editable' | 'readonly' | 'hidden';
/** Per workflow node (R16.1): keys are field keys or `table.column`; unlisted fields are editable. */
export type FieldPermissions = Readonly<Record<string, FieldPermission>>;

export interface FormUser {
  id: number;
  name: string;
  username?: string;
  employeeNo?: string | null;
  deptId?: number | null;
  deptName?: string | null;
}

export interface FormContext {
  /** Clock for TODAY()/NOW() and defaults; the real time when absent. */
  now?: Date;
  /** Current user and department for `$user` / `$dept` (R16.8). */
  user?: FormUser | null;
  /** The stored value this submission changes (updates, later workflow nodes). Absent on create. */
  previous?: Readonly<Record<string, unknown>> | null;
  /**
   * Values of lookup fill targets read from the data source on the server (R16.7), by field key.
   * They take the place of the client's input on read-only fields (a client cannot forge a budget
   * balance); on an editable target the client's own non-empty value is kept.
   */
  filled?: Readonly<Record<string, unknown>> | null;
}

export interface FieldError {
  /** `amount`, `items[3].amount`, or '' for the whole form. */
  path: string;
  message: string;
  code: string;
}

export interface ValidationResult {
  ok: boolean;
  /** Normalised value (what is stored): hidden-by-rule fields removed, computed fields filled. */
  value: Record<string, unknown>;
  /** Column totals of sub-tables: { items: { amount: 12300 } }. */
  totals: Record<string, Record<string, number>>;
  errors: FieldError[];
}

type Row = Record<string, unknown>;

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

function sameValue(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

function contextScope(ctx: FormContext): Row {
  const u = ctx.user;
  return {
    $user: u ? { id: u.id, name: u.name, username: u.username ?? null, employeeNo: u.employeeNo ?? null, deptId: u.deptId ?? null, deptName: u.deptName ?? null } : null,
    $dept: u && u.deptId ? { id: u.deptId, name: u.deptName ?? null } : null,
  };
}

/** Expression result → a field value of the given kind. */
function coerceResult(v: ExprValue, f: FormField | ScalarField): unknown {
  if (v === null) return null;
  const kind = f.type === 'computed' ? f.resultType : f.type;
  switch (kind) {
    case 'number': {
      if (!isDec(v)) throw new InputError('公式结果不是数字');
      const p = f.type === 'computed' || f.type === 'number' ? (f.precision ?? 6) : 6;
      return v.toDecimalPlaces(p, Dec.ROUND_HALF_UP).toNumber();
    }
    case 'money': {
      // Money formulas work in fen: the result is rounded half-up to whole fen.
      if (!isDec(v)) throw new InputError('公式结果不是金额');
      return v.toDecimalPlaces(0, Dec.ROUND_HALF_UP).toNumber();
    }
    case 'boolean':
      return isTruthy(v);
    case 'text':
    case 'textarea':
      if (isDec(v)) return v.toString();
      if (typeof v === 'boolean') return v ? '是' : '否';
      if (typeof v !== 'string') throw new InputError('公式结果不是文本');
      return v;
    default:
      if (isDec(v)) return v.toNumber();
      return v;
  }
}

class Run {
  readonly errors: FieldError[] = [];
  readonly value: Record<string, unknown> = {};
  readonly totals: Record<string, Record<string, number>> = {};
  readonly ctxScope: Row;
  constructor(
    readonly form: CompiledForm,
    readonly ctx: FormContext,
    readonly permissions: FieldPermissions,
  ) {
    this.ctxScope = contextScope(ctx);
  }

  err(path: string, message: string, code: string): void {
    if (this.errors.length < 500) this.errors.push({ path, message, code });
  }

  perm(node: string): FieldPermission {
    return this.permissions[node] ?? 'editable';
  }

  /** Top-level scope for formulas: the current values plus `$user`/`$dept`. */
  scope(): Row {
    return Object.assign({}, this.value, this.ctxScope);
  }

  evalExpr(e: CompiledExpr, scope: Row, path: string, what: string): ExprValue | undefined {
    try {
      return e.evaluateRaw(scope, { now: this.ctx.now });
    } catch (x) {
      if (x instanceof ExprError) {
        this.err(path, `${what}无法计算：${x.message}`, 'FORMULA_FAILED');
        return undefined;
      }
      throw x;
    }
  }

  /** Normalise one scalar input; errors are reported at `path` with the field's label. */
  normalize(f: ScalarField, raw: unknown, path: string, prevValue: unknown): unknown {
    if (isEmpty(raw)) return null;
    try {
      switch (f.type) {
        case 'text':
        case 'textarea':
        case 'lookup': {
          let s = normalizeText(raw, f.type === 'textarea');
          // A field with a pattern holds a code (phone, ID): full-width ASCII becomes half-width (１３８ → 138).
          if ((f.type === 'text' || f.type === 'textarea') && f.pattern !== undefined) s = toHalfWidth(s);
          return s === '' ? null : s;
        }
        case 'number':
          return normalizeNumber(raw, f.precision);
        case 'money':
          return normalizeMoney(raw);
        case 'date':
          return normalizeDate(raw);
        case 'datetime':
          return normalizeDateTime(raw);
        case 'daterange': {
          let start: unknown;
          let end: unknown;
          if (Array.isArray(raw) && raw.length === 2) [start, end] = raw;
          else if (isPlainObject(raw)) ({ start, end } = raw as { start?: unknown; end?: unknown });
          else throw new InputError('日期区间应包含开始和结束日期');
          if (isEmpty(start) || isEmpty(end)) throw new InputError('请填写开始和结束日期');
          return { start: normalizeDate(start), end: normalizeDate(end) };
        }
        case 'select':
        case 'radio': {
          const s = typeof raw === 'number' ? String(raw) : raw;
          if (typeof s !== 'string') throw new InputError('请选择一个选项');
          return s;
        }
        case 'multiselect':
        case 'checkbox': {
          const list = Array.isArray(raw) ? raw : [raw];
          if (list.length > FORM_LIMITS.maxOptions) throw new InputError('选择的项过多');
          const out: string[] = [];
          for (const x of list) {
            const s = typeof x === 'number' ? String(x) : x;
            if (typeof s !== 'string') throw new InputError('选项值无效');
            if (!out.includes(s)) out.push(s);
          }
          return out;
        }
        case 'person':
        case 'department': {
          if (f.multiple) {
            const list = Array.isArray(raw) ? raw : [raw];
            if (list.length > 500) throw new InputError('选择的人数过多');
            return [...new Set(list.map(normalizeId))];
          }
          if (Array.isArray(raw)) throw new InputError(f.type === 'person' ? '只能选择一人' : '只能选择一个部门');
          return normalizeId(raw);
        }
        case 'attachment':
        case 'image': {
          const list = Array.isArray(raw) ? raw : [raw];
          const max = f.maxFiles ?? FORM_LIMITS.maxFiles;
          if (list.length > max) throw new InputError(`最多 ${max} 个文件`);
          return [...new Set(list.map((x) => normalizeId(isPlainObject(x) ? (x as { id?: unknown }).id : x)))];
        }
        case 'signature':
          return normalizeId(isPlainObject(raw) ? (raw as { id?: unknown }).id : raw);
        case 'richtext': {
          const html = sanitizeRichText(raw, f.maxLength);
          return html === '' ? null : html;
        }
        case 'serial':
        case 'computed':
          return prevValue ?? null;
      }
    } catch (e) {
      if (e instanceof InputError) {
        this.err(path, `${f.label}：${e.message}`, e.code);
        return undefined;
      }
      throw e;
    }
  }

  /** Type-specific constraints on a normalised, non-empty value. */
  constrain(f: ScalarField, v: unknown, path: string, prevValue: unknown): void {
    const L = f.label;
    switch (f.type) {
      case 'text':
      case 'textarea': {
        const n = charLength(v as string);
        const max = f.maxLength ?? (f.type === 'text' ? 200 : 2000);
        if (n > max) this.err(path, `${L}不能超过 ${max} 个字`, 'LENGTH');
        if (f.minLength !== undefined && n < f.minLength) this.err(path, `${L}至少 ${f.minLength} 个字`, 'LENGTH');
        const re = this.form.patterns.get(path.replace(/\[\d+\]/g, ''));
        if (re && n <= max && !re.test(v as string)) this.err(path, f.patternMessage ? `${L}：${f.patternMessage}` : `${L}格式不正确`, 'PATTERN');
        break;
      }
      case 'number':
      case 'money': {
        const n = v as number;
        const show = (x: number) => (f.type === 'money' ? `${(x / 100).toFixed(2)} 元` : String(x));
        if (f.min !== undefined && n < f.min) this.err(path, `${L}不能小于 ${show(f.min)}`, 'MIN');
        if (f.max !== undefined && n > f.max) this.err(path, `${L}不能大于 ${show(f.max)}`, 'MAX');
        break;
      }
      case 'date':
        if (f.min !== undefined && (v as string) < f.min) this.err(path, `${L}不能早于 ${f.min}`, 'MIN');
        if (f.max !== undefined && (v as string) > f.max) this.err(path, `${L}不能晚于 ${f.max}`, 'MAX');
        break;
      case 'daterange': {
        const r = v as { start: string; end: string };
        if (r.end < r.start) this.err(path, `${L}的结束日期不能早于开始日期`, 'RANGE');
        else if (f.maxDays !== undefined) {
          const days = (Date.parse(r.end) - Date.parse(r.start)) / 86_400_000 + 1;
          if (days > f.maxDays) this.err(path, `${L}不能超过 ${f.maxDays} 天`, 'MAX');
        }
        break;
      }
      case 'select':
      case 'radio':
      case 'multiselect':
      case 'checkbox': {
        // Retired (disabled) options stay valid for values already stored (options changed while in use).
        const prev = new Set(Array.isArray(prevValue) ? prevValue : prevValue == null ? [] : [prevValue]);
        const list = Array.isArray(v) ? (v as string[]) : [v as string];
        for (const x of list) {
          const o = f.options.find((o) => o.value === x);
          if (!o) this.err(path, `${L}：“${String(x).slice(0, 50)}”不是有效选项`, 'OPTION');
          else if (o.disabled && !prev.has(x)) this.err(path, `${L}：选项“${o.label}”已停用`, 'OPTION');
        }
        if (f.type === 'multiselect' || f.type === 'checkbox') {
          if (f.minItems !== undefined && list.length < f.minItems) this.err(path, `${L}至少选择 ${f.minItems} 项`, 'MIN');
          if (f.maxItems !== undefined && list.length > f.maxItems) this.err(path, `${L}最多选择 ${f.maxItems} 项`, 'MAX');
        }
        break;
      }
      default:
        break;
    }
  }
}

function isWritable(f: ScalarField | FormField): boolean {
  return f.type !== 'computed' && f.type !== 'serial';
}

/**
 * Validate, normalise and compute a submission.
 * - `schema`: a form document or the result of `compileSchema` (compiled once and cached either way).
 * - `permissions`: this workflow node's field permissions; writes to read-only and hidden fields are
 *   refused (a value equal to the previous one is accepted, so clients may echo the whole form),
 *   and their stored value (`ctx.previous`) is kept.
 * Computed and serial fields sent by the client are ignored (the server computes them).
 */
export function validateSubmission(schema: unknown, data: unknown, ctx: FormContext = {}, permissions: FieldPermissions = {}): ValidationResult {
  const form = compileSchema(schema);
  const run = new Run(form, ctx, permissions);
  const prev = ctx.previous ?? null;
  const creating = prev === null;
  if (!isPlainObject(data)) {
    run.err('', '表单数据必须是对象', 'TYPE');
    return { ok: false, value: {}, totals: {}, errors: run.errors };
  }
  const input = data as Row;
  for (const k of Object.keys(input)) {
    if (!form.fields.has(k)) run.err(k, `表单中没有字段“${k.slice(0, 64)}”`, 'UNKNOWN_FIELD');
  }

  // 1. Normalise inputs, respecting node permissions and schema read-only flags.
  for (const f of form.schema.fields) {
    const raw = Object.hasOwn(input, f.key) ? input[f.key] : undefined;
    const prevValue = prev?.[f.key];
    const p = run.perm(f.key);
    const locked = p !== 'editable' || f.readonly === true;
    if (ctx.filled && Object.hasOwn(ctx.filled, f.key) && f.type !== 'subtable' && isWritable(f) && (locked || isEmpty(raw))) {
      const n = run.normalize(f, ctx.filled[f.key], f.key, prevValue);
      run.value[f.key] = n === undefined ? null : n;
      continue;
    }
    if (f.type === 'subtable') {
      run.value[f.key] = normalizeRows(run, f.key, raw, prevValue, locked);
      continue;
    }
    if (!isWritable(f)) {
      run.value[f.key] = prevValue ?? null;
      continue;
    }
    if (locked) {
      if (raw !== undefined) {
        const n = run.normalize(f, raw, f.key, prevValue);
        if (n !== undefined && !sameValue(n, prevValue)) {
          run.err(f.key, p === 'hidden' ? `无权填写字段“${f.label}”` : `${f.label}在此环节只读，不能修改`, 'READONLY');
        }
      }
      run.value[f.key] = prevValue ?? null;
      continue;
    }
    const n = raw === undefined && !creating ? (prevValue ?? null) : run.normalize(f, raw, f.key, prevValue);
    run.value[f.key] = n === undefined ? null : n;
  }

  // 2. Defaults (on create, for empty values) and computed fields, in dependency order.
  if (creating) applyLiteralDefaults(run);
  computeAll(run, creating);

  // 3. Visibility rules: invisible fields are not validated and not stored; then recompute.
  const invisible = new Set<string>();
  const topScope = run.scope();
  for (const [node, expr] of form.visible) {
    if (node.includes('.')) continue; // column visibility is per row, handled in checkRows
    const v = run.evalExpr(expr, topScope, node, '显示条件');
    if (v !== undefined && !isTruthy(v)) invisible.add(node);
  }
  if (invisible.size) {
    for (const k of invisible) run.value[k] = null;
    computeAll(run, false);
  }

  // 4. Constraints (skipped for fields that failed to normalise).
  {
    const scope = run.scope();
    for (const f of form.schema.fields) {
      if (invisible.has(f.key)) continue;
      const v = run.value[f.key];
      if (run.errors.some((e) => e.path === f.key)) continue;
      if (isRequired(run, f, f.key, scope) && isEmpty(v) && f.type !== 'subtable' && f.type !== 'serial') {
        run.err(f.key, `请填写${f.label}`, 'REQUIRED');
        continue;
      }
      if (f.type === 'subtable') checkRows(run, f.key);
      else if (!isEmpty(v)) run.constrain(f, v, f.key, prev?.[f.key]);
    }
    // Cross-field rules only when every field is individually valid (their messages assume it).
    if (run.errors.length === 0) {
      const s = run.scope();
      for (const r of form.rules) {
        const v = run.evalExpr(r.expr, s, r.field, '校验规则');
        if (v !== undefined && !isTruthy(v)) run.err(r.field, r.message, 'RULE');
      }
    }
  }
  for (const k of invisible) delete run.value[k];
  return { ok: run.errors.length === 0, value: run.value, totals: run.totals, errors: run.errors };
}

function isRequired(run: Run, f: ScalarField | FormField, node: string, scope: Row): boolean {
  const cond = run.form.requiredWhen.get(node);
  if (cond) {
    const v = run.evalExpr(cond, scope, node, '必填条件');
    return v !== undefined && isTruthy(v);
  }
  return f.required === true;
}

function normalizeRows(run: Run, key: string, raw: unknown, prevValue: unknown, locked: boolean): Row[] {
  const st = run.form.subtables.get(key)!;
  const f = st.field;
  const max = Math.min(f.maxRows ?? FORM_LIMITS.maxRows, FORM_LIMITS.maxRows);
  const prevRows = Array.isArray(prevValue) ? (prevValue as Row[]) : [];
  // Not sent: keep the stored rows (updates, locked tables); nothing on create.
  if (raw === undefined || raw === null) return run.ctx.previous ? prevRows : [];
  if (!Array.isArray(raw)) {
    run.err(key, `${f.label}应为行的列表`, 'TYPE');
    return prevRows;
  }
  // Refuse oversized tables before reading a single row (10,000-row input: fast and clean).
  if (raw.length > max) {
    run.err(key, `${f.label}最多 ${max} 行，提交了 ${raw.length} 行`, 'TOO_MANY_ROWS');
    return [];
  }
  if (locked) {
    if (!sameValue(raw, prevRows)) run.err(key, `${f.label}在此环节只读，不能修改`, 'READONLY');
    return prevRows;
  }
  const rows: Row[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    const base = `${key}[${i}]`;
    const prevRow = (prevRows[i] ?? {}) as Row;
    const out: Row = {};
    if (!isPlainObject(r)) {
      run.err(base, `${f.label}第 ${i + 1} 行格式不正确`, 'TYPE');
      rows[i] = out;
      continue;
    }
    for (const k of Object.keys(r)) if (!st.columns.has(k)) run.err(`${base}.${k}`, `${f.label}没有列“${k.slice(0, 64)}”`, 'UNKNOWN_FIELD');
    for (const [ck, c] of st.columns) {
      const node = `${key}.${ck}`;
      const v = Object.hasOwn(r, ck) ? (r as Row)[ck] : undefined;
      const p = run.perm(node);
      if (!isWritable(c)) {
        out[ck] = null;
      } else if (p !== 'editable' || c.readonly) {
        if (v !== undefined) {
          const n = run.normalize(c, v, `${base}.${ck}`, prevRow[ck]);
          if (n !== undefined && !sameValue(n, prevRow[ck])) run.err(`${base}.${ck}`, `${f.label}第 ${i + 1} 行：${c.label}在此环节只读，不能修改`, 'READONLY');
        }
        out[ck] = prevRow[ck] ?? null;
      } else {
        const n = run.normalize(c, v, `${base}.${ck}`, prevRow[ck]);
        out[ck] = n === undefined ? null : n;
      }
    }
    rows[i] = out;
  }
  return rows;
}

function applyLiteralDefaults(run: Run): void {
  const lit = (f: ScalarField | FormField, current: unknown, path: string): unknown => {
    if (!isEmpty(current) || f.default === undefined || f.type === 'subtable' || !isWritable(f)) return current;
    const n = run.normalize(f as ScalarField, f.default, path, undefined);
    return n === undefined ? current : n;
  };
  for (const f of run.form.schema.fields) {
    if (f.type === 'subtable') {
      const st = run.form.subtables.get(f.key)!;
      const rows = run.value[f.key] as Row[];
      rows.forEach((row, i) => {
        for (const [ck, c] of st.columns) row[ck] = lit(c, row[ck], `${f.key}[${i}].${ck}`);
      });
    } else run.value[f.key] = lit(f, run.value[f.key], f.key);
  }
}

/** Evaluate default formulas (when `withDefaults`, for empty values) and computed fields in order. */
function computeAll(run: Run, withDefaults: boolean): void {
  const form = run.form;
  for (const node of form.order) {
    const dot = node.indexOf('.');
    const computed = form.computed.get(node);
    const def = withDefaults ? form.defaults.get(node) : undefined;
    const expr = computed ?? def;
    if (!expr) continue;
    if (dot < 0) {
      const f = form.fields.get(node)!;
      if (!computed && !isEmpty(run.value[node])) continue;
      const v = run.evalExpr(expr, run.scope(), node, computed ? `${f.label}的公式` : `${f.label}的默认值公式`);
      if (v === undefined) continue;
      run.value[node] = toFieldValue(run, f, v, node);
    } else {
      const table = node.slice(0, dot);
      const col = node.slice(dot + 1);
      const c = form.subtables.get(table)!.columns.get(col)!;
      const rows = run.value[table] as Row[];
      const top = run.scope();
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        if (!computed && !isEmpty(row[col])) continue;
        const v = run.evalExpr(expr, Object.assign({}, top, row), `${table}[${i}].${col}`, `${c.label}的公式`);
        if (v === undefined) continue;
        row[col] = toFieldValue(run, c, v, `${table}[${i}].${col}`);
      }
    }
  }
  // Column totals (R16.4).
  for (const [key, st] of form.subtables) {
    const totals = st.field.totals;
    if (!totals?.length) continue;
    const rows = run.value[key] as Row[];
    const out: Record<string, number> = {};
    for (const col of totals) {
      let sum = new Dec(0);
      for (const r of rows) if (typeof r[col] === 'number') sum = sum.plus(r[col] as number);
      out[col] = sum.toNumber();
    }
    run.totals[key] = out;
  }
}

function toFieldValue(run: Run, f: ScalarField | FormField, v: ExprValue, path: string): unknown {
  try {
    if (f.type === 'computed') return coerceResult(v, f);
    // A default formula yields an input: normalise it like one (a date text, a number …).
    const plain = isDec(v) ? (f.type === 'money' ? v.toDecimalPlaces(0, Dec.ROUND_HALF_UP).toNumber() : v.toNumber()) : v;
    const n = run.normalize(f as ScalarField, plain, path, undefined);
    return n === undefined ? null : n;
  } catch (e) {
    if (e instanceof InputError) {
      run.err(path, `${f.label}：${e.message}`, 'FORMULA_FAILED');
      return null;
    }
    throw e;
  }
}

function checkRows(run: Run, key: string): void {
  const st = run.form.subtables.get(key)!;
  const f = st.field;
  const rows = run.value[key] as Row[];
  if (run.errors.some((e) => e.path === key && e.code === 'TOO_MANY_ROWS')) return;
  const minRows = f.minRows ?? (f.required ? 1 : 0);
  if (rows.length < minRows) run.err(key, `${f.label}至少需要 ${minRows} 行`, 'MIN_ROWS');
  const top = run.scope();
  const needScope = st.rowRules.length > 0 || [...st.columns.keys()].some((c) => run.form.visible.has(`${key}.${c}`) || run.form.requiredWhen.has(`${key}.${c}`));
  rows.forEach((row, i) => {
    const base = `${key}[${i}]`;
    const scope = needScope ? Object.assign({}, top, row) : top;
    const hidden = new Set<string>();
    for (const [ck, c] of st.columns) {
      const node = `${key}.${ck}`;
      const vis = run.form.visible.get(node);
      if (vis) {
        const v = run.evalExpr(vis, scope, `${base}.${ck}`, '显示条件');
        if (v !== undefined && !isTruthy(v)) {
          hidden.add(ck);
          continue;
        }
      }
      const path = `${base}.${ck}`;
      if (run.errors.some((e) => e.path === path)) continue;
      const v = row[ck];
      if (isRequired(run, c, node, scope) && isEmpty(v) && c.type !== 'serial') {
        run.err(path, `${f.label}第 ${i + 1} 行：请填写${c.label}`, 'REQUIRED');
        continue;
      }
      if (!isEmpty(v)) {
        const before = run.errors.length;
        run.constrain(c, v, path, undefined);
        for (let k = before; k < run.errors.length; k++) run.errors[k]!.message = `${f.label}第 ${i + 1} 行：${run.errors[k]!.message}`;
      }
    }
    for (const ck of hidden) delete row[ck];
    for (const r of st.rowRules) {
      const v = run.evalExpr(r.expr, scope, r.field ? `${base}.${r.field}` : base, '行校验规则');
      if (v !== undefined && !isTruthy(v)) run.err(r.field ? `${base}.${r.field}` : base, `${f.label}第 ${i + 1} 行：${r.message}`, 'ROW_RULE');
    }
  });
}

/**
 * Strip what a node may not see (R16.1): hidden fields and hidden columns are removed from a stored
 * value before it is returned. The workflow engine calls this for every response.
 */
export function filterForOutput(schema: unknown, value: Readonly<Record<string, unknown>>, permissions: FieldPermissions = {}): Record<string, unknown> {
  const form = compileSchema(schema);
  const out: Record<string, unknown> = {};
  for (const [k, f] of form.fields) {
    if (permissions[k] === 'hidden' || !Object.hasOwn(value, k)) continue;
    const v = value[k];
    if (f.type === 'subtable' && Array.isArray(v)) {
      const hiddenCols = [...form.subtables.get(k)!.columns.keys()].filter((c) => permissions[`${k}.${c}`] === 'hidden');
      out[k] = hiddenCols.length
        ? (v as Row[]).map((r) => {
            const c = { ...r };
            for (const h of hiddenCols) delete c[h];
            return c;
          })
        : v;
    } else out[k] = v;
  }
  return out;
}

/** Phone layout (R16.11): the fields to show on a phone, in order (all fields when no phone layout). */
export function phoneFields(schema: unknown): string[] {
  const form = compileSchema(schema);
  return form.schema.phoneLayout ? [...form.schema.phoneLayout.fields] : [...form.fields.keys()];
}
