/**
 * Errors of the safe expression evaluator (R16.8, issue 4 conditions).
 * `message` is Simplified Chinese and shown to the person who wrote the expression;
 * `code` is stable for programs; `position` is a 0-based index into the source, or -1.
 */
export type ExprErrorCode =
  | 'EXPR_EMPTY'
  | 'EXPR_SYNTAX'
  | 'EXPR_TOO_LONG'
  | 'EXPR_TOO_COMPLEX'
  | 'EXPR_TOO_DEEP'
  | 'EXPR_FORBIDDEN'
  | 'EXPR_UNKNOWN_FUNCTION'
  | 'EXPR_ARGUMENTS'
  | 'EXPR_TYPE'
  | 'EXPR_DIVIDE_BY_ZERO'
  | 'EXPR_RANGE'
  | 'EXPR_BUDGET'
  | 'EXPR_FUNCTION';

export class ExprError extends Error {
  override readonly name = 'ExprError';
  constructor(
    readonly code: ExprErrorCode,
    message: string,
    readonly position: number = -1,
  ) {
    super(message);
  }

  /** Message with the 1-based character position, for people. */
  describe(): string {
    return this.position >= 0 ? `${this.message}（第 ${this.position + 1} 个字符）` : this.message;
  }
}
