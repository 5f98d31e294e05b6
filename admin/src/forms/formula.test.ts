import { describe, expect, it } from 'vitest';
import { evaluate } from './formula.ts';
import { cleanField, newField, keysOf } from './schema.ts';

describe('form designer preview formulas (R16.8)', () => {
  it('R16.8 row formula over sub-table columns', () => {
    expect(evaluate('qty * unitPrice', { qty: 3, unitPrice: '2.5' })).toBe(7.5);
  });
  it('R16.8 SUM over a sub-table column and ROUND', () => {
    expect(evaluate('ROUND(SUM(items.amount) * 1.1, 2)', { items: [{ amount: 1 }, { amount: 2.005 }] })).toBe(3.31);
  });
  it('R16.8 anything it does not understand is left to the server', () => {
    expect(evaluate("leaveType == 'sick'", {})).toBeNull();
    expect(evaluate('constructor.constructor', {})).toBe(0);
    expect(evaluate('WORKDAYS(a, b)', {})).toBeNull();
  });
});

describe('form schema helpers (R16.1)', () => {
  it('R16.1 cleanField drops properties the type does not accept and empty values', () => {
    const f = { ...newField('text', new Set()), options: [{ value: 'a', label: 'A' }], formula: 'x', required: false, help: '' };
    expect(cleanField(f)).toEqual({ key: 'text1', label: '单行文本', type: 'text' });
  });
  it('R16.1 new sub-tables come with columns and totals; keys stay unique', () => {
    const used = new Set<string>(['subtable1']);
    const t = newField('subtable', used);
    expect(t.key).toBe('subtable2');
    expect(t.columns?.length).toBe(2);
    expect(keysOf({ title: 'x', fields: [t] })).toEqual(new Set(['subtable2', 'itemName', 'amount']));
  });
});
