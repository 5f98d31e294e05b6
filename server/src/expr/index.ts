/**
 * Safe expression evaluator (R16.8; workflow conditions, issue 4). Public API:
 *
 *   const f = compileExpr("IF(amount > 5000, '院长', '科主任')", { functions: { ...BASE_FUNCTIONS } });
 *   f.refs       // ['amount']
 *   f.evaluate({ amount: 6000 })  // '院长'
 *
 * Errors are `ExprError` with a Chinese `message`, a `code` and a 0-based `position`.
 */
export {
  compileExpr,
  DEFAULT_LIMITS,
  isTruthy,
  isPlainObject,
  isForbiddenName,
  toPlain,
  textOf,
  typeName,
  valuesEqual,
  compareValues,
  type CompiledExpr,
  type CompileOptions,
  type CallEnv,
  type EagerFunction,
  type LazyFunction,
  type ExprFunction,
  type FunctionRegistry,
  type ExprLimits,
  type ExprRecord,
  type ExprValue,
} from './compile.ts';
export { ExprError, type ExprErrorCode } from './errors.ts';
export { Dec, isDec } from './decimal.ts';
export { BASE_FUNCTIONS, dateFunctions, beijingDate, dateOf, type DateContext } from './functions.ts';
export { createWorkCalendar, chineseWorkCalendar, dayNumber, dateOfDayNumber, type WorkCalendar, type CalendarOptions, type YearNotice } from './calendar.ts';
