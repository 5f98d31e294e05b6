import { chineseWorkCalendar, dayNumber, type WorkCalendar } from './calendar.ts';
import { Dec, isDec } from './decimal.ts';
import { ExprError } from './errors.ts';
import { isTruthy, textOf, typeName, valuesEqual, type CallEnv, type ExprValue, type FunctionRegistry } from './compile.ts';

/**
 * Function libraries for the evaluator. Nothing is available unless passed to `compileExpr` in
 * `functions`; callers combine these (`{ ...BASE_FUNCTIONS, ...dateFunctions() }`) and add their own.
 */

function num(v: ExprValue, fn: string): Dec {
  if (v === null) return new Dec(0);
  if (isDec(v)) return v;
  throw new ExprError('EXPR_TYPE', `函数 ${fn} 需要数字，实际是${typeName(v)}`);
}

function int(v: ExprValue, fn: string, min: number, max: number): number {
  const d = num(v, fn);
  if (!d.isInteger() || d.lt(min) || d.gt(max)) throw new ExprError('EXPR_ARGUMENTS', `函数 ${fn} 的参数应为 ${min}～${max} 之间的整数`);
  return d.toNumber();
}

/** Numbers of the arguments, lists flattened (two levels: a column of a sub-table is a list). Nulls skipped. */
function numbersOf(args: ExprValue[], fn: string, env: CallEnv<unknown>): Dec[] {
  const out: Dec[] = [];
  const add = (v: ExprValue, depth: number) => {
    if (v === null) return;
    if (Array.isArray(v)) {
      if (depth > 2) throw new ExprError('EXPR_TYPE', `函数 ${fn} 的列表嵌套过深`);
      env.charge(v.length);
      for (const x of v) add(x, depth + 1);
      return;
    }
    out.push(num(v, fn));
  };
  for (const a of args) add(a, 0);
  return out;
}

function isScalar(v: ExprValue): boolean {
  return v === null || typeof v !== 'object' || isDec(v);
}

function text(v: ExprValue, fn: string): string {
  if (Array.isArray(v) || (v !== null && typeof v === 'object' && !isDec(v))) {
    throw new ExprError('EXPR_TYPE', `函数 ${fn} 需要文本，实际是${typeName(v)}`);
  }
  return textOf(v);
}

function checkLength(s: string, env: CallEnv<unknown>): string {
  if (s.length > env.limits.maxStringLength) throw new ExprError('EXPR_RANGE', '文本过长');
  return s;
}

/** Generic, context-free functions (forms and workflow conditions alike). */
export const BASE_FUNCTIONS: FunctionRegistry<unknown> = Object.freeze({
  IF: {
    lazy: true,
    minArgs: 2,
    maxArgs: 3,
    description: 'IF(条件, 成立时的值, 不成立时的值)',
    call: ([test, yes, no]) => (isTruthy(test!()) ? yes!() : no ? no() : null),
  },
  AND: {
    lazy: true,
    minArgs: 1,
    maxArgs: Infinity,
    description: 'AND(条件1, 条件2, …)：全部成立',
    call: (args) => args.every((a) => isTruthy(a())),
  },
  OR: {
    lazy: true,
    minArgs: 1,
    maxArgs: Infinity,
    description: 'OR(条件1, 条件2, …)：任一成立',
    call: (args) => args.some((a) => isTruthy(a())),
  },
  NOT: { minArgs: 1, maxArgs: 1, description: 'NOT(条件)', call: ([v]) => !isTruthy(v!) },
  ISEMPTY: {
    minArgs: 1,
    maxArgs: 1,
    description: 'ISEMPTY(值)：空值、空文本或空列表',
    call: ([v]) => v === null || v === '' || (Array.isArray(v) && v.length === 0),
  },
  IN: {
    minArgs: 2,
    maxArgs: 2,
    description: "IN(值, 列表)：值是否在列表中，如 IN(类型, ['差旅', '培训'])",
    call: ([v, list], env) => {
      if (list === null) return false;
      if (!Array.isArray(list)) throw new ExprError('EXPR_TYPE', '函数 IN 的第二个参数需要列表');
      env.charge(list.length);
      return list.some((x) => isScalar(x) && valuesEqual(v!, x));
    },
  },
  CONTAINS: {
    minArgs: 2,
    maxArgs: 2,
    description: 'CONTAINS(文本或列表, 值)：文本包含子串，或列表（如多选）包含值',
    call: ([hay, needle], env) => {
      if (hay === null) return false;
      if (Array.isArray(hay)) {
        env.charge(hay.length);
        return hay.some((x) => isScalar(x) && valuesEqual(x, needle!));
      }
      const h = text(hay as ExprValue, 'CONTAINS');
      env.charge(Math.ceil(h.length / 64));
      return h.includes(text(needle!, 'CONTAINS'));
    },
  },
  SUM: {
    minArgs: 1,
    maxArgs: Infinity,
    description: 'SUM(数字或列, …)：求和，如 SUM(明细.金额)',
    call: (args, env) => numbersOf(args, 'SUM', env).reduce((s, d) => s.plus(d), new Dec(0)),
  },
  AVERAGE: {
    minArgs: 1,
    maxArgs: Infinity,
    description: 'AVERAGE(数字或列, …)：平均值（忽略空值）',
    call: (args, env) => {
      const ns = numbersOf(args, 'AVERAGE', env);
      return ns.length === 0 ? null : ns.reduce((s, d) => s.plus(d), new Dec(0)).div(ns.length);
    },
  },
  COUNT: {
    minArgs: 1,
    maxArgs: Infinity,
    description: 'COUNT(列, …)：非空值的个数',
    call: (args, env) => {
      let n = 0;
      for (const a of args) {
        if (Array.isArray(a)) {
          env.charge(a.length);
          n += a.filter((x) => x !== null && x !== '').length;
        } else if (a !== null && a !== '') n++;
      }
      return new Dec(n);
    },
  },
  MIN: {
    minArgs: 1,
    maxArgs: Infinity,
    description: 'MIN(数字或列, …)',
    call: (args, env) => {
      const ns = numbersOf(args, 'MIN', env);
      return ns.length ? Dec.min(...ns) : null;
    },
  },
  MAX: {
    minArgs: 1,
    maxArgs: Infinity,
    description: 'MAX(数字或列, …)',
    call: (args, env) => {
      const ns = numbersOf(args, 'MAX', env);
      return ns.length ? Dec.max(...ns) : null;
    },
  },
  ABS: { minArgs: 1, maxArgs: 1, description: 'ABS(数字)', call: ([v]) => num(v!, 'ABS').abs() },
  ROUND: {
    minArgs: 1,
    maxArgs: 2,
    description: 'ROUND(数字, 小数位数)：四舍五入',
    call: ([v, d]) => num(v!, 'ROUND').toDecimalPlaces(d === undefined ? 0 : int(d, 'ROUND', 0, 10), Dec.ROUND_HALF_UP),
  },
  CEIL: { minArgs: 1, maxArgs: 1, description: 'CEIL(数字)：向上取整', call: ([v]) => num(v!, 'CEIL').ceil() },
  FLOOR: { minArgs: 1, maxArgs: 1, description: 'FLOOR(数字)：向下取整', call: ([v]) => num(v!, 'FLOOR').floor() },
  CONCAT: {
    minArgs: 1,
    maxArgs: Infinity,
    description: 'CONCAT(文本, …)：连接文本',
    call: (args, env) => {
      const parts: string[] = [];
      for (const a of args) {
        if (Array.isArray(a)) {
          env.charge(a.length);
          for (const x of a) parts.push(text(x, 'CONCAT'));
        } else parts.push(text(a, 'CONCAT'));
      }
      return checkLength(parts.join(''), env);
    },
  },
  LEFT: {
    minArgs: 1,
    maxArgs: 2,
    description: 'LEFT(文本, 字数)',
    call: ([s, n]) => Array.from(text(s!, 'LEFT')).slice(0, n === undefined ? 1 : int(n, 'LEFT', 0, 100_000)).join(''),
  },
  RIGHT: {
    minArgs: 1,
    maxArgs: 2,
    description: 'RIGHT(文本, 字数)',
    call: ([s, n]) => {
      const chars = Array.from(text(s!, 'RIGHT'));
      const k = n === undefined ? 1 : int(n, 'RIGHT', 0, 100_000);
      return k === 0 ? '' : chars.slice(-k).join('');
    },
  },
  LEN: {
    minArgs: 1,
    maxArgs: 1,
    description: 'LEN(文本或列表)：字数或行数',
    call: ([v]) => new Dec(Array.isArray(v) ? v.length : Array.from(text(v!, 'LEN')).length),
  },
  TRIM: { minArgs: 1, maxArgs: 1, description: 'TRIM(文本)', call: ([v]) => text(v!, 'TRIM').trim() },
});

// ---------------------------------------------------------------------------------------------
// Dates. Values are texts: dates `YYYY-MM-DD`, date-times ISO 8601 in UTC. Days are counted in
// Asia/Shanghai (Principle 7).

/** Contexts that date functions read; `now` defaults to the real clock. */
export interface DateContext {
  now?: Date;
}

const shanghaiDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });

/** YYYY-MM-DD in Asia/Shanghai. */
export function beijingDate(d: Date): string {
  return shanghaiDate.format(d);
}

/** A date or date-time text → its Beijing calendar date. */
export function dateOf(v: ExprValue, fn: string): string | null {
  if (v === null || v === '') return null;
  if (typeof v !== 'string') throw new ExprError('EXPR_TYPE', `函数 ${fn} 需要日期，实际是${typeName(v)}`);
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    dayNumber(v);
    return v;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const t = new Date(v);
    if (!Number.isNaN(t.getTime())) return beijingDate(t);
  }
  throw new ExprError('EXPR_TYPE', `函数 ${fn} 的日期格式无效：${v.slice(0, 40)}`);
}

function nowOf(env: CallEnv<unknown>): Date {
  const ctx = env.context as DateContext | undefined;
  return ctx?.now instanceof Date ? ctx.now : new Date();
}

export function dateFunctions(calendar: WorkCalendar = chineseWorkCalendar()): FunctionRegistry<unknown> {
  return Object.freeze({
    TODAY: { minArgs: 0, maxArgs: 0, description: 'TODAY()：今天（北京时间）', call: (_a, env) => beijingDate(nowOf(env)) },
    NOW: { minArgs: 0, maxArgs: 0, description: 'NOW()：当前时间', call: (_a, env) => nowOf(env).toISOString() },
    DAYS: {
      minArgs: 2,
      maxArgs: 2,
      description: 'DAYS(开始日期, 结束日期)：相差的天数（结束减开始）',
      call: ([a, b]) => {
        const s = dateOf(a!, 'DAYS');
        const e = dateOf(b!, 'DAYS');
        return s === null || e === null ? null : new Dec(dayNumber(e) - dayNumber(s));
      },
    },
    WORKDAYS: {
      minArgs: 2,
      maxArgs: 2,
      description: 'WORKDAYS(开始日期, 结束日期)：其间的工作日天数（含首尾，按国家法定节假日和调休）',
      call: ([a, b], env) => {
        const s = dateOf(a!, 'WORKDAYS');
        const e = dateOf(b!, 'WORKDAYS');
        return s === null || e === null ? null : new Dec(calendar.workdaysBetween(s, e, env.charge));
      },
    },
    ADDDAYS: {
      minArgs: 2,
      maxArgs: 2,
      description: 'ADDDAYS(日期, 天数)',
      call: ([a, n]) => {
        const s = dateOf(a!, 'ADDDAYS');
        if (s === null) return null;
        return new Date((dayNumber(s) + int(n!, 'ADDDAYS', -36_600, 36_600)) * 86_400_000).toISOString().slice(0, 10);
      },
    },
    YEAR: {
      minArgs: 1,
      maxArgs: 1,
      description: 'YEAR(日期)',
      call: ([a]) => {
        const s = dateOf(a!, 'YEAR');
        return s === null ? null : new Dec(Number(s.slice(0, 4)));
      },
    },
    MONTH: {
      minArgs: 1,
      maxArgs: 1,
      description: 'MONTH(日期)',
      call: ([a]) => {
        const s = dateOf(a!, 'MONTH');
        return s === null ? null : new Dec(Number(s.slice(5, 7)));
      },
    },
  });
}
