import { createRequire } from 'node:module';
import { ExprError } from './errors.ts';

/**
 * Chinese working-day calendar (Principle 7, R16.8 WORKDAYS, workflow time limits).
 *
 * Data: the `chinese-days` package (State Council holiday and adjusted-workday notices). Version
 * 1.5.7 covers 2004–2026. A year the data does not cover is NOT silently treated as "weekends only"
 * (the notice for the next year appears each November and moves several days): by default asking
 * about such a year throws `ExprError('EXPR_FUNCTION')` naming the year. A caller may instead add the
 * year's notice through `extraYears`, or opt into `fallback: 'weekends'` explicitly.
 */

export interface YearNotice {
  /** Days off that would otherwise be working days (YYYY-MM-DD). */
  holidays: string[];
  /** Weekend days that are working days (调休上班). */
  workdays: string[];
}

export interface CalendarOptions {
  /** Extra or corrected years, e.g. `{ 2027: { holidays: [...], workdays: [...] } }`. */
  extraYears?: Record<number, YearNotice>;
  /** What to do for a year with no data: 'error' (default) or plain Monday–Friday. */
  fallback?: 'error' | 'weekends';
}

export interface WorkCalendar {
  readonly coveredYears: ReadonlySet<number>;
  /** Throws ExprError for an uncovered year unless fallback is 'weekends'. */
  isWorkday(date: string): boolean;
  /** Working days in [start, end] inclusive; negative when end < start (NETWORKDAYS semantics). */
  workdaysBetween(start: string, end: string, charge?: (n: number) => void): number;
}

interface RawData {
  holidays: Record<string, string>;
  workdays: Record<string, string>;
}

let bundled: RawData | null = null;
function bundledData(): RawData {
  if (!bundled) {
    const require = createRequire(import.meta.url);
    bundled = require('chinese-days/dist/chinese-days.json') as RawData;
  }
  return bundled;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a YYYY-MM-DD date (calendar arithmetic, no time zone involved). */
export function dayNumber(date: string): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new ExprError('EXPR_TYPE', `日期格式应为 YYYY-MM-DD：${date}`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(t);
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) throw new ExprError('EXPR_TYPE', `无效日期：${date}`);
  return t / DAY_MS;
}

export function dateOfDayNumber(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

export function createWorkCalendar(options: CalendarOptions = {}): WorkCalendar {
  const raw = bundledData();
  const holidays = new Set(Object.keys(raw.holidays));
  const workdays = new Set(Object.keys(raw.workdays));
  const covered = new Set<number>();
  for (const d of holidays) covered.add(Number(d.slice(0, 4)));
  for (const [year, notice] of Object.entries(options.extraYears ?? {})) {
    const y = Number(year);
    for (const d of [...holidays]) if (d.startsWith(`${y}-`)) holidays.delete(d);
    for (const d of [...workdays]) if (d.startsWith(`${y}-`)) workdays.delete(d);
    for (const d of notice.holidays) holidays.add(d);
    for (const d of notice.workdays) workdays.add(d);
    covered.add(y);
  }
  const fallback = options.fallback ?? 'error';

  const isWorkdayN = (n: number): boolean => {
    const date = dateOfDayNumber(n);
    const year = Number(date.slice(0, 4));
    if (!covered.has(year) && fallback === 'error') {
      throw new ExprError('EXPR_FUNCTION', `节假日日历尚未收录 ${year} 年的放假安排，无法计算工作日，请联系管理员更新节假日日历`);
    }
    if (holidays.has(date)) return false;
    if (workdays.has(date)) return true;
    const dow = new Date(n * DAY_MS).getUTCDay();
    return dow !== 0 && dow !== 6;
  };

  return {
    coveredYears: covered,
    isWorkday: (date) => isWorkdayN(dayNumber(date)),
    workdaysBetween(start, end, charge) {
      let a = dayNumber(start);
      let b = dayNumber(end);
      const sign = b < a ? -1 : 1;
      if (b < a) [a, b] = [b, a];
      if (b - a > 366 * 20) throw new ExprError('EXPR_RANGE', '日期范围过大（不超过 20 年）');
      charge?.(b - a + 1);
      let count = 0;
      for (let n = a; n <= b; n++) if (isWorkdayN(n)) count++;
      return sign * count;
    },
  };
}

let defaultCalendar: WorkCalendar | null = null;
/** The bundled calendar with the strict ('error') policy for uncovered years. */
export function chineseWorkCalendar(): WorkCalendar {
  defaultCalendar ??= createWorkCalendar();
  return defaultCalendar;
}
