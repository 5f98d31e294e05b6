import jsep from 'jsep';
import { Dec, isDec } from './decimal.ts';
import { ExprError } from './errors.ts';

/**
 * Safe expression evaluator shared by custom forms (R16.8: defaults, computed fields, visibility
 * and cross-field rules) and the workflow engine (issue 4: branch conditions, R3.3).
 *
 * jsep only parses; this module walks the AST itself. Nothing is ever handed to `eval`/`Function`,
 * no host method is ever called on a value, and only own properties of plain data are read.
 *
 * Values inside the evaluator (`ExprValue`): null, boolean, string, Decimal (every number; so
 * 0.1 + 0.2 is exactly 0.3), arrays of values and records (plain objects, read lazily).
 */

export type ExprRecord = { readonly [key: string]: unknown };
export type ExprValue = null | boolean | string | Dec | ExprValue[] | ExprRecord;

export interface CallEnv<C> {
  /** The context passed to `evaluate` (current user, clock, …). */
  readonly context: C;
  /** Position of the call in the source (for error messages). */
  readonly position: number;
  /** Charge `n` evaluation steps against the budget (call it for work proportional to input size). */
  charge(n: number): void;
  /** Limits in force (functions that build strings or arrays must respect them). */
  readonly limits: ExprLimits;
}

interface FunctionBase {
  minArgs: number;
  /** `Infinity` for variadic functions. */
  maxArgs: number;
  /** Chinese one-line description for the designer's function list. */
  description?: string;
}

/** Arguments are evaluated before the call. */
export interface EagerFunction<C = unknown> extends FunctionBase {
  lazy?: false;
  call(args: ExprValue[], env: CallEnv<C>): ExprValue;
}

/** Arguments are thunks; the function evaluates only what it needs (IF, IFERROR-like helpers). */
export interface LazyFunction<C = unknown> extends FunctionBase {
  lazy: true;
  call(args: Array<() => ExprValue>, env: CallEnv<C>): ExprValue;
}

export type ExprFunction<C = unknown> = EagerFunction<C> | LazyFunction<C>;
export type FunctionRegistry<C = unknown> = Readonly<Record<string, ExprFunction<C>>>;

export interface ExprLimits {
  /** Characters of source. */
  maxLength: number;
  /** AST nodes. */
  maxNodes: number;
  /** AST depth (a chain `a + b + c …` is as deep as it is long). */
  maxDepth: number;
  /** Bracket nesting, checked before parsing so the parser never meets a hostile depth. */
  maxNesting: number;
  /** Evaluation steps per `evaluate` call (nodes visited + work charged by functions). */
  maxSteps: number;
  /** Characters of any string produced during evaluation. */
  maxStringLength: number;
  /** Elements of any array read or produced during evaluation. */
  maxArrayLength: number;
}

export const DEFAULT_LIMITS: Readonly<ExprLimits> = Object.freeze({
  maxLength: 2000,
  maxNodes: 500,
  maxDepth: 256,
  maxNesting: 32,
  maxSteps: 200_000,
  maxStringLength: 100_000,
  maxArrayLength: 20_000,
});

export interface CompileOptions<C = unknown> {
  functions?: FunctionRegistry<C>;
  limits?: Partial<ExprLimits>;
}

export interface CompiledExpr<C = unknown> {
  readonly source: string;
  /**
   * Identifier paths the expression reads, in first-use order, without duplicates:
   * `a.b.c` for static member chains, the static prefix for computed ones (`items[0].x` → `items`).
   * Function names are not refs.
   */
  readonly refs: readonly string[];
  /** Names of the registry functions it calls. */
  readonly calls: readonly string[];
  /** Evaluate to a JSON-friendly value: Decimals become JS numbers (nearest double of the exact result). */
  evaluate(scope: ExprRecord, context?: C): unknown;
  /** Evaluate keeping Decimals (for money and further exact arithmetic). */
  evaluateRaw(scope: ExprRecord, context?: C): ExprValue;
}

// ---------------------------------------------------------------------------------------------
// Names that are never readable, as identifiers or properties, even if present as own properties.
// Own data properties with these names are refused too (JSON.parse can create an own `__proto__`).
// Function.prototype names are not listed: `name` and `length` are ordinary field keys, and no value
// here is ever a function or called.
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype', '__proto__', 'constructor']);

export function isForbiddenName(name: string): boolean {
  return FORBIDDEN_NAMES.has(name);
}

const BINARY_OPS = new Set(['||', '&&', '??', '==', '!=', '===', '!==', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '**']);
const UNARY_OPS = new Set(['-', '+', '!']);
const MAX_ABS = new Dec('1e30');
const MAX_POW = 100;

type Node = jsep.Expression & { __pos?: number };

function pos(n: Node): number {
  return n.__pos ?? -1;
}

// ---------------------------------------------------------------------------------------------
// Positions. jsep records no locations, but every accepted node kind lists its leaf tokens in source
// order, so a light scan of the source (identifiers, numbers, strings) gives each leaf its index;
// an inner node takes the position of its first leaf (binary, member) or of its operator (unary).

interface Leaf {
  start: number;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c >= 128;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function scanLeaves(src: string): Leaf[] {
  const leaves: Leaf[] = [];
  let i = 0;
  let prevValueEnd = false; // previous token ends a value (identifier, number, string, ')' or ']')
  while (i < src.length) {
    const c = src.charCodeAt(i);
    if (c === 34 || c === 39) {
      const start = i;
      i++;
      while (i < src.length && src.charCodeAt(i) !== c) i += src.charCodeAt(i) === 92 ? 2 : 1;
      i++;
      leaves.push({ start });
      prevValueEnd = true;
    } else if (isDigit(c) || (c === 46 && !prevValueEnd && isDigit(src.charCodeAt(i + 1)))) {
      const start = i;
      while (i < src.length && (isDigit(src.charCodeAt(i)) || src.charCodeAt(i) === 46)) i++;
      if (src[i] === 'e' || src[i] === 'E') {
        i++;
        if (src[i] === '+' || src[i] === '-') i++;
        while (i < src.length && isDigit(src.charCodeAt(i))) i++;
      }
      leaves.push({ start });
      prevValueEnd = true;
    } else if (isIdentStart(c)) {
      const start = i;
      while (i < src.length && isIdentPart(src.charCodeAt(i))) i++;
      leaves.push({ start });
      prevValueEnd = true;
    } else {
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) prevValueEnd = c === 41 || c === 93;
      i++;
    }
  }
  return leaves;
}

/** Walk in source order, assigning leaf positions (in-order traversal meets leaves in source order). */
function assignPositions(root: Node, leaves: Leaf[], src: string): void {
  let k = 0;
  const visit = (n: Node): number => {
    switch (n.type) {
      case 'Identifier':
      case 'Literal':
      case 'ThisExpression': {
        const p = leaves[k++]?.start ?? -1;
        n.__pos = p;
        return p;
      }
      case 'UnaryExpression': {
        const p = visit(n.argument as Node);
        // The operator sits just before the argument (possibly with spaces).
        let q = p - 1;
        while (q > 0 && /\s/.test(src[q] ?? '')) q--;
        n.__pos = p < 0 ? -1 : Math.max(0, q);
        return n.__pos;
      }
      case 'BinaryExpression': {
        const p = visit(n.left as Node);
        visit(n.right as Node);
        n.__pos = p;
        return p;
      }
      case 'ConditionalExpression': {
        const p = visit(n.test as Node);
        visit(n.consequent as Node);
        visit(n.alternate as Node);
        n.__pos = p;
        return p;
      }
      case 'MemberExpression': {
        const p = visit(n.object as Node);
        visit(n.property as Node);
        n.__pos = p;
        return p;
      }
      case 'CallExpression': {
        const p = visit(n.callee as Node);
        for (const a of n.arguments as Node[]) visit(a);
        n.__pos = p;
        return p;
      }
      case 'ArrayExpression': {
        let p = -1;
        for (const e of n.elements as Array<Node | null>) {
          if (e) {
            const q = visit(e);
            if (p < 0) p = q;
          }
        }
        n.__pos = p;
        return p;
      }
      default:
        n.__pos = -1;
        return -1;
    }
  };
  visit(root);
}

// ---------------------------------------------------------------------------------------------
// Parsing and static checks.

const JSEP_MESSAGES: Array<[RegExp, string]> = [
  [/^Unclosed \(/, '缺少右括号“)”'],
  [/^Unclosed \[/, '缺少右方括号“]”'],
  [/^Unclosed quote/, '字符串缺少结束引号'],
  [/^Expected :/, '条件表达式缺少“:”'],
  [/^Expected expression/, '此处缺少表达式'],
  [/^Expected comma/, '参数之间缺少逗号'],
  [/^missing unaryOp argument/, '运算符后缺少操作数'],
  [/^Expected expression after/, '运算符后缺少操作数'],
  [/^Variable names cannot start with a number/, '名称不能以数字开头'],
  [/^Unexpected period/, '多余的“.”'],
  [/^Unexpected/, '无法识别的内容'],
];

function translateJsepError(e: unknown): ExprError {
  const err = e as { description?: string; index?: number; message?: string };
  const desc = String(err.description ?? err.message ?? '');
  let msg = '表达式语法错误';
  for (const [re, zh] of JSEP_MESSAGES) {
    if (re.test(desc)) {
      msg = `表达式语法错误：${zh}`;
      break;
    }
  }
  return new ExprError('EXPR_SYNTAX', msg, typeof err.index === 'number' ? err.index : -1);
}

/** Bracket nesting checked before jsep runs, so its recursive descent never meets a hostile depth. */
function checkNesting(src: string, maxNesting: number): void {
  let depth = 0;
  let quote = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (quote) {
      if (c === 92) i++;
      else if (c === quote) quote = 0;
      continue;
    }
    if (c === 34 || c === 39) quote = c;
    else if (c === 40 || c === 91) {
      if (++depth > maxNesting) throw new ExprError('EXPR_TOO_DEEP', `括号嵌套层数超过 ${maxNesting} 层`, i);
    } else if (c === 41 || c === 93) depth = Math.max(0, depth - 1);
    else if (c === 96) throw new ExprError('EXPR_FORBIDDEN', '不支持模板字符串（反引号）', i);
  }
}

function staticName(n: Node): string | null {
  if (n.type === 'Identifier') return n.name as string;
  if (n.type === 'Literal' && typeof n.value === 'string') return n.value;
  return null;
}

function describeNodeType(t: string): string {
  switch (t) {
    case 'ThisExpression':
      return '不允许使用 this';
    case 'Compound':
      return '只能写一个表达式（不允许用分号或逗号分隔多个表达式）';
    case 'SequenceExpression':
      return '不允许使用逗号表达式';
    default:
      return `不支持的语法（${t}）`;
  }
}

export function compileExpr<C = unknown>(source: string, options: CompileOptions<C> = {}): CompiledExpr<C> {
  const limits: ExprLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const functions: FunctionRegistry<C> = options.functions ?? {};
  if (typeof source !== 'string') throw new ExprError('EXPR_TYPE', '表达式必须是文本');
  if (source.length > limits.maxLength) {
    throw new ExprError('EXPR_TOO_LONG', `表达式过长（不超过 ${limits.maxLength} 个字符）`, limits.maxLength);
  }
  if (source.trim() === '') throw new ExprError('EXPR_EMPTY', '表达式不能为空', 0);
  checkNesting(source, limits.maxNesting);

  let ast: Node;
  try {
    ast = jsep(source) as Node;
  } catch (e) {
    if (e instanceof RangeError) throw new ExprError('EXPR_TOO_DEEP', '表达式嵌套过深', -1);
    throw translateJsepError(e);
  }
  assignPositions(ast, scanLeaves(source), source);

  // Static pass: whitelist node kinds and operators, bound size and depth, collect refs and calls.
  const refs: string[] = [];
  const calls: string[] = [];
  let nodes = 0;
  const resolveFn = (name: string): string | null => {
    if (Object.hasOwn(functions, name)) return name;
    const upper = name.toUpperCase();
    if (Object.hasOwn(functions, upper)) return upper;
    return null;
  };
  const fnOf = new Map<Node, ExprFunction<C>>();

  const memberPath = (n: Node): string | null => {
    // Static path of a member chain (`a.b.c`, `a['b']`), or null past a computed step.
    if (n.type === 'Identifier') return n.name as string;
    if (n.type === 'MemberExpression') {
      const base = memberPath(n.object as Node);
      const prop = n.property as Node;
      const name = n.computed ? (prop.type === 'Literal' && typeof prop.value === 'string' ? prop.value : null) : staticName(prop);
      if (base === null || name === null) return null;
      return `${base}.${name}`;
    }
    return null;
  };
  const staticPrefix = (n: Node): string | null => {
    let cur: Node = n;
    for (;;) {
      const p = memberPath(cur);
      if (p !== null) return p;
      if (cur.type !== 'MemberExpression') return null;
      cur = cur.object as Node;
    }
  };
  const addRef = (r: string | null) => {
    if (r !== null && !refs.includes(r)) refs.push(r);
  };

  const check = (n: Node, depth: number, refTaken: boolean): void => {
    if (++nodes > limits.maxNodes) throw new ExprError('EXPR_TOO_COMPLEX', `表达式过于复杂（不超过 ${limits.maxNodes} 个节点）`, pos(n));
    if (depth > limits.maxDepth) throw new ExprError('EXPR_TOO_DEEP', `表达式嵌套层数超过 ${limits.maxDepth} 层`, pos(n));
    switch (n.type) {
      case 'Literal': {
        const v = n.value;
        if (v instanceof RegExp) throw new ExprError('EXPR_FORBIDDEN', '不支持正则表达式', pos(n));
        if (typeof v === 'number') {
          const raw = String(n.raw);
          if (!Number.isFinite(v) || !/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) {
            throw new ExprError('EXPR_SYNTAX', `无效的数字：${raw}`, pos(n));
          }
          const d = new Dec(raw);
          if (d.abs().gt(MAX_ABS)) throw new ExprError('EXPR_RANGE', '数值超出范围', pos(n));
          (n as Node & { __dec?: Dec }).__dec = d;
        } else if (typeof v === 'string') {
          if (v.length > limits.maxStringLength) throw new ExprError('EXPR_RANGE', '文本过长', pos(n));
        } else if (!(v === null || typeof v === 'boolean')) {
          throw new ExprError('EXPR_FORBIDDEN', '不支持的字面量', pos(n));
        }
        return;
      }
      case 'Identifier': {
        const name = n.name as string;
        if (isForbiddenName(name)) throw new ExprError('EXPR_FORBIDDEN', `不允许访问“${name}”`, pos(n));
        if (!refTaken) addRef(name);
        return;
      }
      case 'MemberExpression': {
        const prop = n.property as Node;
        if (!n.computed) {
          if (prop.type !== 'Identifier') throw new ExprError('EXPR_SYNTAX', '属性名无效', pos(prop));
          const name = prop.name as string;
          if (isForbiddenName(name)) throw new ExprError('EXPR_FORBIDDEN', `不允许访问属性“${name}”`, pos(prop));
        } else {
          const name = staticName(prop);
          if (prop.type === 'Literal' && name !== null && isForbiddenName(name)) {
            throw new ExprError('EXPR_FORBIDDEN', `不允许访问属性“${name}”`, pos(prop));
          }
          check(prop, depth + 1, false);
        }
        if (!refTaken) addRef(staticPrefix(n));
        check(n.object as Node, depth + 1, true);
        return;
      }
      case 'CallExpression': {
        const callee = n.callee as Node;
        if (callee.type !== 'Identifier') {
          throw new ExprError('EXPR_FORBIDDEN', '只能调用系统提供的函数，不能调用值上的方法', pos(callee));
        }
        const given = callee.name as string;
        const name = resolveFn(given);
        if (name === null || isForbiddenName(given)) throw new ExprError('EXPR_UNKNOWN_FUNCTION', `未知函数“${given}”`, pos(callee));
        const fn = functions[name] as ExprFunction<C>;
        const args = n.arguments as Node[];
        if (args.length < fn.minArgs || args.length > fn.maxArgs) {
          const want =
            fn.minArgs === fn.maxArgs ? `${fn.minArgs} 个` : fn.maxArgs === Infinity ? `至少 ${fn.minArgs} 个` : `${fn.minArgs}～${fn.maxArgs} 个`;
          throw new ExprError('EXPR_ARGUMENTS', `函数 ${name} 需要 ${want}参数，实际 ${args.length} 个`, pos(callee));
        }
        fnOf.set(n, fn);
        if (!calls.includes(name)) calls.push(name);
        nodes++;
        for (const a of args) check(a, depth + 1, false);
        return;
      }
      case 'UnaryExpression':
        if (!UNARY_OPS.has(n.operator as string)) throw new ExprError('EXPR_FORBIDDEN', `不支持运算符“${String(n.operator)}”`, pos(n));
        check(n.argument as Node, depth + 1, false);
        return;
      case 'BinaryExpression':
        if (!BINARY_OPS.has(n.operator as string)) throw new ExprError('EXPR_FORBIDDEN', `不支持运算符“${String(n.operator)}”`, pos(n.right as Node));
        check(n.left as Node, depth + 1, false);
        check(n.right as Node, depth + 1, false);
        return;
      case 'ConditionalExpression':
        check(n.test as Node, depth + 1, false);
        check(n.consequent as Node, depth + 1, false);
        check(n.alternate as Node, depth + 1, false);
        return;
      case 'ArrayExpression':
        for (const e of n.elements as Array<Node | null>) {
          if (e === null) throw new ExprError('EXPR_SYNTAX', '数组中有空元素', pos(n));
          check(e, depth + 1, false);
        }
        return;
      default:
        throw new ExprError('EXPR_FORBIDDEN', describeNodeType(n.type), pos(n));
    }
  };
  check(ast, 0, false);

  const evaluateRaw = (scope: ExprRecord, context?: C): ExprValue => {
    if (!isPlainObject(scope)) throw new ExprError('EXPR_TYPE', '求值环境必须是普通对象');
    const ev = new Evaluator<C>(limits, scope, context as C, fnOf);
    return ev.eval(ast);
  };
  return Object.freeze({
    source,
    refs: Object.freeze(refs),
    calls: Object.freeze(calls),
    evaluateRaw,
    evaluate: (scope: ExprRecord, context?: C) => toPlain(evaluateRaw(scope, context)),
  });
}

// ---------------------------------------------------------------------------------------------
// Values.

export function isPlainObject(v: unknown): v is ExprRecord {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Truthiness used by &&, ||, !, ternaries and IF: null, false, 0, '' and [] are false. */
export function isTruthy(v: ExprValue): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0;
  if (isDec(v)) return !v.isZero();
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/** Converts an evaluator value to plain JS: Decimals become numbers, arrays are copied. */
export function toPlain(v: ExprValue): unknown {
  if (isDec(v)) return v.toNumber();
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}

export function typeName(v: ExprValue): string {
  if (v === null) return '空值';
  if (typeof v === 'boolean') return '布尔值';
  if (typeof v === 'string') return '文本';
  if (isDec(v)) return '数字';
  if (Array.isArray(v)) return '列表';
  return '对象';
}

class Evaluator<C> {
  private steps = 0;
  constructor(
    readonly limits: ExprLimits,
    readonly scope: ExprRecord,
    readonly context: C,
    readonly fnOf: Map<Node, ExprFunction<C>>,
  ) {}

  charge(n: number, at = -1): void {
    this.steps += n;
    if (this.steps > this.limits.maxSteps) throw new ExprError('EXPR_BUDGET', '表达式计算量超出限制', at);
  }

  /** Host data → evaluator value. Arrays are converted one level (records stay lazy). */
  fromHost(v: unknown, at: number): ExprValue {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
      case 'boolean':
        return v;
      case 'string':
        if (v.length > this.limits.maxStringLength) throw new ExprError('EXPR_RANGE', '文本过长', at);
        return v;
      case 'number':
        if (!Number.isFinite(v)) throw new ExprError('EXPR_RANGE', '数值无效', at);
        return new Dec(v);
      case 'bigint':
        return new Dec(v.toString());
      case 'object': {
        if (isDec(v)) return v;
        if (Array.isArray(v)) {
          if (Object.getPrototypeOf(v) !== Array.prototype) throw new ExprError('EXPR_TYPE', '不支持的数据类型', at);
          if (v.length > this.limits.maxArrayLength) throw new ExprError('EXPR_RANGE', `列表过长（不超过 ${this.limits.maxArrayLength} 项）`, at);
          this.charge(v.length, at);
          const out: ExprValue[] = new Array(v.length);
          for (let i = 0; i < v.length; i++) out[i] = this.fromHost(v[i], at);
          return out;
        }
        if (isPlainObject(v)) return v;
        throw new ExprError('EXPR_TYPE', '不支持的数据类型', at);
      }
      default:
        throw new ExprError('EXPR_TYPE', '不支持的数据类型', at);
    }
  }

  /** Own, non-forbidden data property of a record; missing → null. Getters are never run. */
  readOwn(rec: ExprRecord, key: string, at: number): ExprValue {
    if (isForbiddenName(key)) throw new ExprError('EXPR_FORBIDDEN', `不允许访问属性“${key}”`, at);
    const d = Object.getOwnPropertyDescriptor(rec, key);
    if (!d) return null;
    if (!('value' in d)) throw new ExprError('EXPR_FORBIDDEN', `不允许访问属性“${key}”`, at);
    return this.fromHost(d.value, at);
  }

  eval(n: Node): ExprValue {
    this.charge(1, pos(n));
    switch (n.type) {
      case 'Literal': {
        const d = (n as Node & { __dec?: Dec }).__dec;
        return d ?? (n.value as ExprValue);
      }
      case 'Identifier':
        return this.readOwn(this.scope, n.name as string, pos(n));
      case 'MemberExpression':
        return this.member(n);
      case 'CallExpression':
        return this.call(n);
      case 'UnaryExpression':
        return this.unary(n);
      case 'BinaryExpression':
        return this.binary(n);
      case 'ConditionalExpression':
        return isTruthy(this.eval(n.test as Node)) ? this.eval(n.consequent as Node) : this.eval(n.alternate as Node);
      case 'ArrayExpression':
        return (n.elements as Node[]).map((e) => this.eval(e));
      default:
        throw new ExprError('EXPR_FORBIDDEN', describeNodeType(n.type), pos(n));
    }
  }

  private member(n: Node): ExprValue {
    const obj = this.eval(n.object as Node);
    const at = pos(n.property as Node);
    let key: ExprValue;
    if (n.computed) key = this.eval(n.property as Node);
    else key = (n.property as Node).name as string;
    if (obj === null) return null; // `a.b` on an empty value is empty (forms have optional fields)
    if (Array.isArray(obj)) {
      if (isDec(key)) {
        if (!key.isInteger()) throw new ExprError('EXPR_TYPE', '列表下标必须是整数', at);
        const i = key.toNumber();
        return i >= 0 && i < obj.length ? (obj[i] as ExprValue) : null;
      }
      if (typeof key === 'string') {
        // Column projection: `items.amount` is the list of every row's amount (SUM(items.amount)).
        if (isForbiddenName(key)) throw new ExprError('EXPR_FORBIDDEN', `不允许访问属性“${key}”`, at);
        const k = key;
        this.charge(obj.length, at);
        return obj.map((row) => (row !== null && isPlainObject(row) ? this.readOwn(row, k, at) : null));
      }
      throw new ExprError('EXPR_TYPE', '列表下标必须是整数', at);
    }
    if (isPlainObject(obj) && !isDec(obj)) {
      if (typeof key !== 'string') {
        if (isDec(key)) key = key.toString();
        else throw new ExprError('EXPR_TYPE', '属性名必须是文本', at);
      }
      return this.readOwn(obj, key, at);
    }
    throw new ExprError('EXPR_FORBIDDEN', `不能读取${typeName(obj)}的属性`, at);
  }

  private call(n: Node): ExprValue {
    const fn = this.fnOf.get(n);
    const at = pos(n);
    if (!fn) throw new ExprError('EXPR_UNKNOWN_FUNCTION', '未知函数', at);
    const env: CallEnv<C> = {
      context: this.context,
      position: at,
      limits: this.limits,
      charge: (k: number) => this.charge(k, at),
    };
    const argNodes = n.arguments as Node[];
    let out: ExprValue;
    try {
      if (fn.lazy) out = fn.call(argNodes.map((a) => () => this.eval(a)), env);
      else out = fn.call(argNodes.map((a) => this.eval(a)), env);
    } catch (e) {
      if (e instanceof ExprError) {
        if (e.position < 0) throw new ExprError(e.code, e.message, at);
        throw e;
      }
      // A registry function failed in an unexpected way: never leak host details.
      throw new ExprError('EXPR_FUNCTION', `函数 ${String((n.callee as Node).name)} 计算出错`, at);
    }
    return this.checkResult(out, at);
  }

  private checkResult(v: ExprValue, at: number): ExprValue {
    if (typeof v === 'string' && v.length > this.limits.maxStringLength) throw new ExprError('EXPR_RANGE', '文本过长', at);
    if (Array.isArray(v) && v.length > this.limits.maxArrayLength) throw new ExprError('EXPR_RANGE', '列表过长', at);
    if (isDec(v) && (!v.isFinite() || v.abs().gt(MAX_ABS))) throw new ExprError('EXPR_RANGE', '数值超出范围', at);
    if (v === undefined) return null;
    return v;
  }

  private num(v: ExprValue, at: number, what: string): Dec {
    if (v === null) return new Dec(0); // an empty number field counts as 0 in arithmetic
    if (isDec(v)) return v;
    throw new ExprError('EXPR_TYPE', `${what}需要数字，实际是${typeName(v)}`, at);
  }

  private unary(n: Node): ExprValue {
    const v = this.eval(n.argument as Node);
    const at = pos(n);
    switch (n.operator) {
      case '!':
        return !isTruthy(v);
      case '-':
        return this.num(v, at, '负号').neg();
      case '+':
        return this.num(v, at, '正号');
      default:
        throw new ExprError('EXPR_FORBIDDEN', `不支持运算符“${String(n.operator)}”`, at);
    }
  }

  private binary(n: Node): ExprValue {
    const op = n.operator as string;
    const at = pos(n.right as Node);
    if (op === '&&') {
      const l = this.eval(n.left as Node);
      return isTruthy(l) ? this.eval(n.right as Node) : l;
    }
    if (op === '||') {
      const l = this.eval(n.left as Node);
      return isTruthy(l) ? l : this.eval(n.right as Node);
    }
    if (op === '??') {
      const l = this.eval(n.left as Node);
      return l !== null ? l : this.eval(n.right as Node);
    }
    const l = this.eval(n.left as Node);
    const r = this.eval(n.right as Node);
    switch (op) {
      case '==':
      case '===':
        return valuesEqual(l, r, at);
      case '!=':
      case '!==':
        return !valuesEqual(l, r, at);
      case '<':
      case '>':
      case '<=':
      case '>=': {
        const c = compareValues(l, r, at);
        if (c === null) return false; // a comparison with an empty value is false (SQL-like)
        return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0;
      }
      case '+': {
        if (typeof l === 'string' || typeof r === 'string') {
          const s = textOf(l, at) + textOf(r, at);
          return this.checkResult(s, at);
        }
        return this.checkResult(this.num(l, at, '加法').plus(this.num(r, at, '加法')), at);
      }
      case '-':
        return this.checkResult(this.num(l, at, '减法').minus(this.num(r, at, '减法')), at);
      case '*':
        return this.checkResult(this.num(l, at, '乘法').times(this.num(r, at, '乘法')), at);
      case '/': {
        const d = this.num(r, at, '除法');
        if (d.isZero()) throw new ExprError('EXPR_DIVIDE_BY_ZERO', '除数不能为零', at);
        return this.checkResult(this.num(l, at, '除法').div(d), at);
      }
      case '%': {
        const d = this.num(r, at, '取余');
        if (d.isZero()) throw new ExprError('EXPR_DIVIDE_BY_ZERO', '除数不能为零', at);
        return this.checkResult(this.num(l, at, '取余').mod(d), at);
      }
      case '**': {
        const e = this.num(r, at, '乘方');
        if (!e.isInteger() || e.abs().gt(MAX_POW)) throw new ExprError('EXPR_RANGE', `乘方的指数必须是 -${MAX_POW}～${MAX_POW} 之间的整数`, at);
        const b = this.num(l, at, '乘方');
        if (b.isZero() && e.isNegative()) throw new ExprError('EXPR_DIVIDE_BY_ZERO', '除数不能为零', at);
        return this.checkResult(b.pow(e), at);
      }
      default:
        throw new ExprError('EXPR_FORBIDDEN', `不支持运算符“${op}”`, at);
    }
  }
}

/** Text form of a scalar for concatenation and text functions. */
export function textOf(v: ExprValue, at = -1): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '是' : '否';
  if (isDec(v)) return v.toString();
  throw new ExprError('EXPR_TYPE', `${typeName(v)}不能作为文本使用`, at);
}

export function valuesEqual(l: ExprValue, r: ExprValue, at = -1): boolean {
  if (l === null || r === null) return l === r;
  if (isDec(l) && isDec(r)) return l.eq(r);
  if (typeof l === 'object' || typeof r === 'object') {
    if (isDec(l) || isDec(r)) return false;
    throw new ExprError('EXPR_TYPE', '列表或对象不能直接比较', at);
  }
  return l === r;
}

/** Orders numbers with numbers and texts with texts (ISO dates compare as text); null → no order. */
export function compareValues(l: ExprValue, r: ExprValue, at = -1): number | null {
  if (l === null || r === null) return null;
  if (isDec(l) && isDec(r)) return l.cmp(r);
  if (typeof l === 'string' && typeof r === 'string') return l < r ? -1 : l > r ? 1 : 0;
  throw new ExprError('EXPR_TYPE', `不能比较${typeName(l)}和${typeName(r)}`, at);
}
