/**
 * Client-side mirror of the form schema (server/src/forms/schema.ts, R16.1–R16.2, R16.8, R16.11):
 * what the form designer edits. The server checks every draft (POST /forms/defs/check) and is the
 * authority; these types only keep the designer honest.
 */

export const FIELD_TYPES = [
  'text',
  'textarea',
  'number',
  'money',
  'date',
  'datetime',
  'daterange',
  'select',
  'multiselect',
  'radio',
  'checkbox',
  'person',
  'department',
  'attachment',
  'image',
  'richtext',
  'signature',
  'serial',
  'computed',
  'lookup',
  'subtable',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const FIELD_TYPE_LABELS: Record<FieldType, string> = {
  text: '单行文本',
  textarea: '多行文本',
  number: '数字',
  money: '金额',
  date: '日期',
  datetime: '日期时间',
  daterange: '日期区间',
  select: '下拉单选',
  multiselect: '下拉多选',
  radio: '单选',
  checkbox: '复选框组',
  person: '人员',
  department: '部门',
  attachment: '附件',
  image: '图片',
  richtext: '富文本',
  signature: '手写签名',
  serial: '流水号',
  computed: '计算字段',
  lookup: '关联数据',
  subtable: '明细表',
};

export interface Option {
  value: string;
  label: string;
  disabled?: boolean;
}

/** Every property any field type may carry; the server accepts per type only its own (strict). */
export interface Field {
  key: string;
  label: string;
  type: FieldType;
  required?: boolean;
  requiredWhen?: string;
  visibleWhen?: string;
  default?: unknown;
  defaultFormula?: string;
  readonly?: boolean;
  help?: string;
  placeholder?: string;
  // text
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  patternMessage?: string;
  // number / money / date
  min?: number | string;
  max?: number | string;
  precision?: number;
  unit?: string;
  maxDays?: number;
  // choices
  options?: Option[];
  minItems?: number;
  maxItems?: number;
  // people
  multiple?: boolean;
  // files
  maxFiles?: number;
  accept?: string[];
  // serial
  reset?: 'never' | 'year' | 'month' | 'day';
  // computed
  formula?: string;
  resultType?: 'number' | 'money' | 'text' | 'date' | 'boolean';
  // lookup
  source?: string;
  fill?: Record<string, string>;
  // subtable
  columns?: Field[];
  minRows?: number;
  maxRows?: number;
  totals?: string[];
  rowRules?: { formula: string; message: string; column?: string }[];
}

export interface LayoutCell {
  field: string;
  span?: number;
}

export interface LayoutSection {
  kind: 'group' | 'tab';
  title?: string;
  rows: LayoutCell[][];
}

export interface FormSchema {
  schemaVersion?: 1;
  title: string;
  fields: Field[];
  rules?: { formula: string; message: string; field?: string }[];
  layout?: { sections: LayoutSection[] };
  printLayout?: { title?: string; sections: LayoutSection[]; hideEmpty?: boolean };
  phoneLayout?: { fields: string[] };
}

/** Properties each type accepts besides the common ones (the server's strict objects). */
const COMMON = ['key', 'label', 'type', 'required', 'requiredWhen', 'visibleWhen', 'default', 'defaultFormula', 'readonly', 'help', 'placeholder'] as const;
const TEXT = ['minLength', 'maxLength', 'pattern', 'patternMessage'];
const CHOICE = ['options'];
const MULTI = ['options', 'minItems', 'maxItems'];
const FILES = ['maxFiles', 'accept'];
export const TYPE_PROPS: Record<FieldType, readonly string[]> = {
  text: TEXT,
  textarea: TEXT,
  number: ['min', 'max', 'precision', 'unit'],
  money: ['min', 'max'],
  date: ['min', 'max'],
  datetime: [],
  daterange: ['maxDays'],
  select: CHOICE,
  radio: CHOICE,
  multiselect: MULTI,
  checkbox: MULTI,
  person: ['multiple'],
  department: ['multiple'],
  attachment: FILES,
  image: FILES,
  richtext: ['maxLength'],
  signature: [],
  serial: ['pattern', 'reset'],
  computed: ['formula', 'resultType', 'precision'],
  lookup: ['source', 'fill'],
  subtable: ['columns', 'minRows', 'maxRows', 'totals', 'rowRules'],
};

/** Drop properties the field's type does not accept and empty values (before saving). */
export function cleanField(f: Field): Field {
  const allowed = new Set<string>([...COMMON, ...TYPE_PROPS[f.type]]);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) {
    if (!allowed.has(k)) continue;
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0 && k !== 'columns' && k !== 'options')) continue;
    if (v === false && (k === 'required' || k === 'readonly' || k === 'multiple')) continue;
    out[k] = k === 'columns' && Array.isArray(v) ? (v as Field[]).map(cleanField) : v;
  }
  return out as unknown as Field;
}

/** A new field of a type with the defaults the designer starts from. */
export function newField(type: FieldType, used: Set<string>): Field {
  let n = 1;
  while (used.has(`${type}${n}`)) n++;
  const key = `${type}${n}`;
  used.add(key);
  const f: Field = { key, label: FIELD_TYPE_LABELS[type], type };
  if (type === 'select' || type === 'radio' || type === 'multiselect' || type === 'checkbox')
    f.options = [
      { value: 'opt1', label: '选项1' },
      { value: 'opt2', label: '选项2' },
    ];
  if (type === 'serial') {
    f.pattern = 'NO-{yyyy}-{0000}';
    f.reset = 'year';
  }
  if (type === 'computed') {
    f.formula = '0';
    f.resultType = 'number';
  }
  if (type === 'lookup') f.source = 'budget';
  if (type === 'subtable') {
    f.columns = [
      { key: 'itemName', label: '名称', type: 'text', required: true },
      { key: 'amount', label: '金额', type: 'money' },
    ];
    f.totals = ['amount'];
  }
  return f;
}

/** Keys in a schema (top level and sub-table columns). */
export function keysOf(s: FormSchema): Set<string> {
  const k = new Set<string>();
  for (const f of s.fields) {
    k.add(f.key);
    for (const c of f.columns ?? []) k.add(c.key);
  }
  return k;
}
