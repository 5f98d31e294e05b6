import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { reactive } from 'vue';
import FormView from '../src/pages/approval/components/FormView.vue';
import type { FormSchema } from '../src/components/form/schema';

// the demo purchase form's sub-table (server/src/forms/fixtures.ts)
const PURCHASE: FormSchema = {
  title: '采购申请',
  fields: [
    { key: 'title', label: '采购事项', type: 'text', required: true },
    {
      key: 'lines',
      label: '采购清单',
      type: 'subtable',
      minRows: 1,
      columns: [
        { key: 'itemName', label: '品名', type: 'text', required: true },
        { key: 'qty', label: '数量', type: 'number', required: true },
        { key: 'unitPrice', label: '单价', type: 'money', required: true },
        { key: 'lineAmount', label: '金额', type: 'computed', resultType: 'money', formula: 'qty * unitPrice' },
      ],
      totals: ['qty', 'lineAmount'],
    },
    { key: 'secret', label: '院长意见', type: 'textarea' },
  ],
};

describe('FormView (dynamic form renderer, R16.1)', () => {
  it('read-only: values in Chinese, sub-table rows with column totals, hidden fields left out', () => {
    setActivePinia(createPinia());
    const data = reactive({ title: '牙椅配件', lines: [{ itemName: '手机头', qty: 2, unitPrice: 150000, lineAmount: 300000 }, { itemName: '吸唾管', qty: 10, unitPrice: 500, lineAmount: 5000 }], secret: 'x' });
    const w = mount(FormView, { props: { schema: PURCHASE, data, perms: { secret: 'hidden' }, editable: false, phone: true } });
    const text = w.text();
    expect(text).toContain('牙椅配件');
    expect(text).toContain('¥1,500.00');
    expect(w.get('[data-testid=totals-lines]').text()).toBe('合计：数量 12金额 ¥3,050.00');
    expect(w.find('[data-testid=field-secret]').exists()).toBe(false);
    expect(w.find('[data-testid=row-add-lines]').exists()).toBe(false);
  });

  it('editable: add and remove sub-table rows, never below minRows', async () => {
    setActivePinia(createPinia());
    const data = reactive<Record<string, unknown>>({ title: null, lines: [{ itemName: null, qty: null, unitPrice: null }] });
    const w = mount(FormView, { props: { schema: PURCHASE, data, editable: true, phone: false } });
    expect(w.find('[data-testid=row-del-lines-0]').exists()).toBe(false);
    await w.get('[data-testid=row-add-lines]').trigger('click');
    expect((data.lines as unknown[]).length).toBe(2);
    await w.get('[data-testid=row-del-lines-1]').trigger('click');
    expect((data.lines as unknown[]).length).toBe(1);
    expect(w.get('[data-testid=field-title]').text()).toContain('*');
  });
});
