import { BASE_FUNCTIONS, compileExpr, ExprError, isTruthy, type CompiledExpr, type ExprRecord } from '../expr/index.ts';
import { badRequest } from '../http/errors.ts';

/**
 * Branch conditions (R3.3) on the shared safe evaluator: no `eval`, own properties of plain data
 * only, bounded steps. Scope: `form` (the form's fields), `initiator`, `approver` (who completed the
 * previous step) and `approverSuperior`, each with deptId, deptCode, deptName, deptPath, postCode,
 * positionCode, positionRank, titleCode, level (the department's depth).
 */

export interface ConditionChecker {
  /** null when the expression compiles, else the reason in Chinese */
  check(source: string): string | null;
  evaluate(source: string, scope: Record<string, unknown>): boolean;
}

export function createConditions(max = 2000): ConditionChecker {
  const cache = new Map<string, CompiledExpr>();
  const compiled = (source: string): CompiledExpr => {
    let c = cache.get(source);
    if (!c) {
      c = compileExpr(source, { functions: BASE_FUNCTIONS });
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(source, c);
    }
    return c;
  };
  return {
    check(source) {
      try {
        compiled(source);
        return null;
      } catch (err) {
        if (err instanceof ExprError) return err.message;
        throw err;
      }
    },
    evaluate(source, scope) {
      try {
        return isTruthy(compiled(source).evaluateRaw(scope as ExprRecord));
      } catch (err) {
        if (err instanceof ExprError) throw badRequest(`分支条件“${source}”无法计算：${err.message}`, undefined, 'CONDITION_FAILED');
        throw err;
      }
    },
  };
}
