import type { FormSchema } from './schema.ts';

/**
 * Three reference forms (issue 5 "Done when"): leave, expense with a sub-table and a budget lookup,
 * purchase. Used by tests and by `npm run bench:forms`; also good starting templates.
 */

export const LEAVE_FORM: FormSchema = {
  title: '请假申请',
  fields: [
    { key: 'serialNo', label: '单号', type: 'serial', pattern: 'QJ-{yyyy}-{0000}', reset: 'year' },
    { key: 'applicant', label: '申请人', type: 'person', defaultFormula: '$user.id', readonly: true },
    { key: 'dept', label: '所在科室', type: 'department', defaultFormula: '$user.deptId' },
    {
      key: 'leaveType',
      label: '请假类型',
      type: 'select',
      required: true,
      options: [
        { value: 'personal', label: '事假' },
        { value: 'sick', label: '病假' },
        { value: 'annual', label: '年假' },
        { value: 'marriage', label: '婚假' },
        { value: 'legacy', label: '探亲假（已停用）', disabled: true },
      ],
    },
    { key: 'period', label: '请假时间', type: 'daterange', required: true, maxDays: 180 },
    { key: 'days', label: '工作日天数', type: 'computed', resultType: 'number', formula: 'WORKDAYS(period.start, period.end)' },
    { key: 'reason', label: '请假事由', type: 'textarea', required: true, minLength: 2, maxLength: 500 },
    { key: 'proof', label: '证明材料', type: 'attachment', maxFiles: 5, requiredWhen: "leaveType == 'sick' && days > 2" },
    { key: 'applyDate', label: '申请日期', type: 'date', defaultFormula: 'TODAY()' },
    { key: 'headOpinion', label: '科主任意见', type: 'textarea', maxLength: 500 },
  ],
  rules: [{ formula: "leaveType != 'annual' || days <= 15", message: '年假单次不能超过 15 个工作日', field: 'period' }],
  layout: {
    sections: [
      { kind: 'group', title: '基本信息', rows: [[{ field: 'serialNo' }, { field: 'applyDate' }], [{ field: 'applicant' }, { field: 'dept' }]] },
      { kind: 'group', title: '请假信息', rows: [[{ field: 'leaveType' }, { field: 'period' }, { field: 'days' }], [{ field: 'reason', span: 24 }], [{ field: 'proof' }]] },
      { kind: 'group', title: '审批', rows: [[{ field: 'headOpinion', span: 24 }]] },
    ],
  },
  printLayout: { title: '口腔医院请假单', sections: [{ kind: 'group', rows: [[{ field: 'serialNo' }, { field: 'applicant' }, { field: 'dept' }], [{ field: 'leaveType' }, { field: 'period' }, { field: 'days' }], [{ field: 'reason' }], [{ field: 'headOpinion' }]] }] },
  phoneLayout: { fields: ['leaveType', 'period', 'days', 'reason', 'applicant'] },
};

export const EXPENSE_FORM: FormSchema = {
  title: '费用报销',
  fields: [
    { key: 'serialNo', label: '单号', type: 'serial', pattern: 'BX-{yyyy}{mm}-{0000}', reset: 'month' },
    { key: 'applicant', label: '报销人', type: 'person', defaultFormula: '$user.id', readonly: true },
    { key: 'dept', label: '科室', type: 'department', defaultFormula: '$user.deptId', required: true },
    { key: 'budgetNo', label: '预算编号', type: 'lookup', source: 'budget', required: true, fill: { budgetName: 'name', budgetBalance: 'balance' } },
    { key: 'budgetName', label: '预算名称', type: 'text', readonly: true },
    { key: 'budgetBalance', label: '预算余额', type: 'money', readonly: true },
    {
      key: 'items',
      label: '费用明细',
      type: 'subtable',
      required: true,
      maxRows: 200,
      columns: [
        { key: 'date', label: '日期', type: 'date', required: true },
        {
          key: 'category',
          label: '类别',
          type: 'select',
          required: true,
          options: [
            { value: '差旅', label: '差旅' },
            { value: '办公', label: '办公' },
            { value: '培训', label: '培训' },
            { value: '招待', label: '招待' },
          ],
        },
        { key: 'amount', label: '金额', type: 'money', required: true, min: 1 },
        { key: 'invoices', label: '发票张数', type: 'number', precision: 0, min: 0 },
        { key: 'note', label: '说明', type: 'text', maxLength: 100 },
      ],
      totals: ['amount', 'invoices'],
      rowRules: [{ formula: "category != '招待' || amount <= 200000", message: '单笔招待费不能超过 2000 元', column: 'amount' }],
    },
    { key: 'total', label: '报销总额', type: 'computed', resultType: 'money', formula: 'SUM(items.amount)' },
    { key: 'payee', label: '收款人', type: 'text', maxLength: 50 },
    { key: 'description', label: '情况说明', type: 'richtext', maxLength: 20000 },
  ],
  rules: [
    { formula: 'total > 0', message: '报销金额必须大于 0', field: 'items' },
    { formula: 'budgetBalance == null || total <= budgetBalance', message: '报销总额超出预算余额', field: 'total' },
  ],
  phoneLayout: { fields: ['applicant', 'dept', 'budgetNo', 'total', 'items'] },
};

export const PURCHASE_FORM: FormSchema = {
  title: '采购申请',
  fields: [
    { key: 'serialNo', label: '单号', type: 'serial', pattern: 'CG-{yyyy}-{00000}', reset: 'year' },
    { key: 'title', label: '采购事项', type: 'text', required: true, maxLength: 100 },
    {
      key: 'urgency',
      label: '紧急程度',
      type: 'radio',
      default: 'normal',
      options: [
        { value: 'normal', label: '普通' },
        { value: 'urgent', label: '紧急' },
      ],
    },
    {
      key: 'lines',
      label: '采购清单',
      type: 'subtable',
      minRows: 1,
      maxRows: 500,
      columns: [
        { key: 'itemName', label: '品名', type: 'text', required: true, maxLength: 100 },
        { key: 'spec', label: '规格型号', type: 'text', maxLength: 100 },
        { key: 'qty', label: '数量', type: 'number', required: true, precision: 0, min: 1 },
        { key: 'unitPrice', label: '单价', type: 'money', required: true, min: 0 },
        { key: 'lineAmount', label: '金额', type: 'computed', resultType: 'money', formula: 'qty * unitPrice' },
      ],
      totals: ['qty', 'lineAmount'],
    },
    { key: 'totalAmount', label: '合计金额', type: 'computed', resultType: 'money', formula: 'SUM(lines.lineAmount)' },
    { key: 'needDate', label: '需求日期', type: 'date', required: true },
    { key: 'contactPhone', label: '联系电话', type: 'text', pattern: '^1\\d{10}$', patternMessage: '请输入 11 位手机号' },
    { key: 'quotes', label: '报价单', type: 'attachment', maxFiles: 5, requiredWhen: 'totalAmount >= 5000000' },
    { key: 'deanOpinion', label: '院长意见', type: 'textarea', visibleWhen: 'totalAmount >= 10000000' },
  ],
  rules: [{ formula: 'needDate >= TODAY()', message: '需求日期不能早于今天', field: 'needDate' }],
};
