import { Decimal } from 'decimal.js';

/**
 * The evaluator's own Decimal constructor (a clone: the global decimal.js settings stay untouched).
 * 34 significant digits (IEEE 754 decimal128), half-up rounding as people expect for money (R16.8).
 */
export const Dec = Decimal.clone({
  precision: 34,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -30,
  toExpPos: 40,
});
export type Dec = InstanceType<typeof Dec>;

export function isDec(v: unknown): v is Dec {
  return Decimal.isDecimal(v);
}
