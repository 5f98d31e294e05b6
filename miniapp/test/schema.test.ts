import { describe, expect, it } from 'vitest';
import { columnTotal, displayValue, fenToYuan, initialData, missingRequired, orderedFields, outgoingData, permissionOf, yuanToFen, type FormSchema } from '../src/components/form/schema';

// the demo leave form (server/src/forms/fixtures.ts), trimmed
const LEAVE: FormSchema = {
  title: '请假申请',
  fields: [
    { key: 'serialNo', label: '单号', type: 'serial' },
    { key: 'applicant', label: '申请人', type: 'person', readonly: true, defaultFormula: '$user.id' },
    { key: 'leaveType', label: '请假类型', type: 'select', required: true, options: [{ value: 'personal', label: '事假' }, { value: 'sick', label: '病假' }] },
    { key: 'period', label: '请假时间', type: 'daterange', required: true },
    { key: 'days', label: '工作日天数', type: 'computed', resultType: 'number', formula: 'WORKDAYS(period.start, period.end)' },
    { key: 'reason', label: '请假事由', type: 'textarea', required: true },
    { key: 'proof', label: '证明材料', type: 'attachment', maxFiles: 5 },
    { key: 'headOpinion', label: '科主任意见', type: 'textarea' },
  ],
  layout: { sections: [{ kind: 'group', title: '请假信息', rows: [[{ field: 'leaveType' }, { field: 'period' }], [{ field: 'reason' }]] }] },
  phoneLayout: { fields: ['leaveType', 'period', 'days', 'reason', 'applicant'] },
};

describe('form renderer helpers (R16.1, R16.11)', () => {
  it('money: yuan typed and shown, fen stored', () => {
    expect(yuanToFen('1,234.5')).toBe(123450);
    expect(yuanToFen('０．０５')).toBe(5);
    expect(yuanToFen('¥12')).toBe(1200);
    expect(yuanToFen('')).toBeNull();
    expect(Number.isNaN(yuanToFen('1.234'))).toBe(true);
    expect(fenToYuan(123450)).toBe('1,234.50');
    expect(fenToYuan(-5, false)).toBe('-0.05');
  });

  it('R16.1 field permissions: hidden wins, read-only for server-filled and schema read-only fields, unlisted editable', () => {
    const f = (k: string) => LEAVE.fields.find((x) => x.key === k)!;
    const perms = { leaveType: 'readonly', headOpinion: 'hidden' } as const;
    expect(permissionOf(f('leaveType'), perms, true)).toBe('readonly');
    expect(permissionOf(f('headOpinion'), perms, true)).toBe('hidden');
    expect(permissionOf(f('reason'), perms, true)).toBe('editable');
    expect(permissionOf(f('days'), perms, true)).toBe('readonly');
    expect(permissionOf(f('applicant'), perms, true)).toBe('readonly');
    expect(permissionOf(f('reason'), perms, false)).toBe('readonly');
  });

  it('R16.11 phone layout: listed fields in order; editable fields not listed follow under 更多信息', () => {
    const read = orderedFields(LEAVE, true);
    expect(read).toHaveLength(1);
    expect(read[0]!.fields.map((f) => f.key)).toEqual(['leaveType', 'period', 'days', 'reason', 'applicant']);
    const edit = orderedFields(LEAVE, true, { editable: true, perms: { headOpinion: 'readonly' } });
    expect(edit[1]).toEqual({ title: '更多信息', fields: [LEAVE.fields[6]] });
    const wide = orderedFields(LEAVE, false);
    expect(wide.map((s) => s.title)).toEqual(['请假信息', '其他']);
    expect(wide[1]!.fields.map((f) => f.key)).toEqual(['serialNo', 'applicant', 'days', 'proof', 'headOpinion']);
  });

  it('sends only editable, non-empty values; flags missing required fields', () => {
    const data = initialData(LEAVE);
    expect(data.proof).toEqual([]);
    Object.assign(data, { leaveType: 'personal', reason: '家中有事', days: 3, serialNo: 'X' });
    expect(outgoingData(LEAVE, data, { headOpinion: 'readonly' })).toEqual({ leaveType: 'personal', reason: '家中有事' });
    expect(missingRequired(LEAVE, data, {}).map((f) => f.label)).toEqual(['请假时间']);
  });

  it('sub-table column totals and read-only display', () => {
    expect(columnTotal([{ a: 1200 }, { a: 34 }, { a: null }], 'a')).toBe(1234);
    const f = LEAVE.fields;
    expect(displayValue(f[3]!, { start: '2026-12-08', end: '2026-12-09' })).toBe('2026-12-08 至 2026-12-09');
    expect(displayValue(f[2]!, 'sick')).toBe('病假');
    expect(displayValue(f[1]!, 7, { 'person:7': '卢杰' })).toBe('卢杰');
    expect(displayValue({ key: 'm', label: '金额', type: 'money' }, 150)).toBe('¥1.50');
  });
});
