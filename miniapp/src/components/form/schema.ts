/**
 * Client mirror of the form schema (server/src/forms/schema.ts, R16.1, R16.11) and the pure
 * helpers of the dynamic renderer: value shapes, money in yuan shown / fen stored, column totals,
 * which fields a node lets a person see or edit, the phone layout. No uni-app import (vitest).
 */

export type FieldType =
  | 'text' | 'textarea' | 'number' | 'money' | 'date' | 'datetime' | 'daterange' | 'select' | 'multiselect'
  | 'radio' | 'checkbox' | 'person' | 'department' | 'attachment' | 'image' | 'richtext' | 'signature'
  | 'serial' | 'computed' | 'lookup' | 'subtable';

export interface Option {
  value: string;
  label: string;
  disabled?: boolean;
}

export interface Field {
  key: string;
  label: string;
  type: FieldType;
  required?: boolean;
  requiredWhen?: string;
  visibleWhen?: string;
  readonly?: boolean;
  help?: string;
  placeholder?: string;
  default?: unknown;
  defaultFormula?: string;
  minLength?: number;
  maxLength?: number;
  min?: number | string;
  max?: number | string;
  precision?: number;
  unit?: string;
  maxDays?: number;
  options?: Option[];
  minItems?: number;
  maxItems?: number;
  multiple?: boolean;
  maxFiles?: number;
  accept?: string[];
  resultType?: 'number' | 'money' | 'text' | 'date' | 'boolean';
  formula?: string;
  source?: string;
  columns?: Field[];
  minRows?: number;
  maxRows?: number;
  totals?: string[];
}

export interface LayoutCell {
  field: string;
  span?: number;
}

export interface FormSchema {
  title: string;
  fields: Field[];
  layout?: { sections: { kind: 'group' | 'tab'; title?: string; rows: LayoutCell[][] }[] };
  phoneLayout?: { fields: string[] };
}

export type Permission = 'editable' | 'readonly' | 'hidden';
export type Permissions = Record<string, Permission>;

export const TYPE_LABELS: Record<FieldType, string> = {
  text: '单行文本', textarea: '多行文本', number: '数字', money: '金额', date: '日期', datetime: '日期时间',
  daterange: '日期区间', select: '下拉单选', multiselect: '下拉多选', radio: '单选', checkbox: '复选框组',
  person: '人员', department: '部门', attachment: '附件', image: '图片', richtext: '富文本', signature: '手写签名',
  serial: '流水号', computed: '计算字段', lookup: '关联数据', subtable: '明细表',
};

/** Types the server fills in itself: never sent back by the client. */
const SERVER_FILLED = new Set<FieldType>(['serial', 'computed']);

/** Money: yuan typed and shown ("1,234.50"), integer fen stored (R16.x, schema.ts "money → integer fen"). */
export function yuanToFen(input: string | number | null | undefined): number | null {
  if (input === null || input === undefined) return null;
  const s = String(input).replace(/[,，\s¥￥元]/g, '').replace(/[０-９．]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  if (!s) return null;
  if (!/^-?\d+(\.\d{0,2})?$/.test(s)) return NaN;
  const neg = s.startsWith('-');
  const [int, dec = ''] = s.replace('-', '').split('.');
  const fen = Number(int) * 100 + Number((dec + '00').slice(0, 2));
  return neg ? -fen : fen;
}

export function fenToYuan(fen: unknown, grouping = true): string {
  if (typeof fen !== 'number' || !Number.isFinite(fen)) return '';
  const neg = fen < 0;
  const abs = Math.abs(Math.round(fen));
  const int = String(Math.floor(abs / 100));
  const dec = String(abs % 100).padStart(2, '0');
  const grouped = grouping ? int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : int;
  return `${neg ? '-' : ''}${grouped}.${dec}`;
}

/** Effective permission of a field for the node being acted on (R16.1). */
export function permissionOf(field: Field, perms: Permissions | undefined, editable: boolean): Permission {
  const p = perms?.[field.key];
  if (p === 'hidden') return 'hidden';
  if (!editable || field.readonly || SERVER_FILLED.has(field.type)) return 'readonly';
  return p ?? 'editable';
}

/**
 * Fields in screen order. On a phone (R16.11) the `phoneLayout` lists the fields to show, in order;
 * the others are hidden on phones, except fields the person must be able to fill in (editable ones
 * while editing), which follow under 更多信息 so that a phone can always submit. On a wide screen
 * (or with `all`) the `layout` sections are followed and fields not placed are appended.
 */
export function orderedFields(schema: FormSchema, phone: boolean, opts: { editable?: boolean; perms?: Permissions; all?: boolean } = {}): { title?: string; fields: Field[] }[] {
  const byKey = new Map(schema.fields.map((f) => [f.key, f]));
  if (phone && !opts.all && schema.phoneLayout?.fields.length) {
    const listed = schema.phoneLayout.fields.map((k) => byKey.get(k)).filter((f): f is Field => !!f);
    const out: { title?: string; fields: Field[] }[] = [{ fields: listed }];
    if (opts.editable) {
      const keys = new Set(listed.map((f) => f.key));
      const more = schema.fields.filter((f) => !keys.has(f.key) && permissionOf(f, opts.perms, true) === 'editable');
      if (more.length) out.push({ title: '更多信息', fields: more });
    }
    return out;
  }
  if (!schema.layout?.sections.length) return [{ fields: schema.fields }];
  const placed = new Set<string>();
  const sections = schema.layout.sections.map((s) => {
    const fields: Field[] = [];
    for (const row of s.rows) for (const c of row) {
      const f = byKey.get(c.field);
      if (f && !placed.has(f.key)) {
        placed.add(f.key);
        fields.push(f);
      }
    }
    return { title: s.title, fields };
  });
  const rest = schema.fields.filter((f) => !placed.has(f.key));
  if (rest.length) sections.push({ title: '其他', fields: rest });
  return sections.filter((s) => s.fields.length);
}

/** Whether the phone layout leaves fields out (the page then offers 查看完整表单). */
export function phoneHidesFields(schema: FormSchema): boolean {
  return !!schema.phoneLayout?.fields.length && schema.phoneLayout.fields.length < schema.fields.length;
}

/** Sum of a number or money column of a sub-table (money in fen). */
export function columnTotal(rows: Record<string, unknown>[], key: string): number {
  let sum = 0;
  for (const r of rows) {
    const v = r[key];
    if (typeof v === 'number' && Number.isFinite(v)) sum += v;
  }
  return Math.round(sum * 1e6) / 1e6;
}

export function emptyRow(columns: Field[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of columns) row[c.key] = c.default ?? emptyValue(c);
  return row;
}

export function emptyValue(f: Field): unknown {
  switch (f.type) {
    case 'multiselect':
    case 'checkbox':
    case 'attachment':
    case 'image':
      return [];
    case 'subtable':
      return Array.from({ length: f.minRows ?? 0 }, () => emptyRow(f.columns ?? []));
    case 'person':
    case 'department':
      return f.multiple ? [] : null;
    default:
      return null;
  }
}

/** Initial values for a new form: literal defaults; formula defaults are filled by the server. */
export function initialData(schema: FormSchema, existing: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) out[f.key] = f.key in existing ? existing[f.key] : f.default !== undefined ? f.default : emptyValue(f);
  return out;
}

function blank(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}

/**
 * What the client sends: only the fields the person may edit, without server-filled ones and
 * without empty values (the server validates everything again and applies defaults).
 */
export function outgoingData(schema: FormSchema, data: Record<string, unknown>, perms: Permissions | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) {
    if (permissionOf(f, perms, true) !== 'editable') continue;
    const v = data[f.key];
    if (blank(v)) continue;
    if (f.type === 'subtable' && Array.isArray(v)) {
      const cols = (f.columns ?? []).filter((c) => !SERVER_FILLED.has(c.type) && !c.readonly);
      out[f.key] = v.map((row) => Object.fromEntries(cols.filter((c) => !blank((row as Record<string, unknown>)[c.key])).map((c) => [c.key, (row as Record<string, unknown>)[c.key]])));
      continue;
    }
    out[f.key] = v;
  }
  return out;
}

/** Quick checks before sending (the server's answer stays authoritative): required fields only. */
export function missingRequired(schema: FormSchema, data: Record<string, unknown>, perms: Permissions | undefined): Field[] {
  return schema.fields.filter((f) => f.required && permissionOf(f, perms, true) === 'editable' && blank(data[f.key]));
}

/** Human-readable value for read-only display. */
export function displayValue(f: Field, v: unknown, names: Record<string, string> = {}): string {
  if (blank(v)) return '';
  switch (f.type) {
    case 'money':
      return `¥${fenToYuan(v)}`;
    case 'computed':
      if (f.resultType === 'money') return `¥${fenToYuan(v)}`;
      if (f.resultType === 'boolean') return v ? '是' : '否';
      return String(v);
    case 'number':
      return `${String(v)}${f.unit ? ` ${f.unit}` : ''}`;
    case 'daterange': {
      const r = v as { start?: string; end?: string };
      return r?.start && r?.end ? `${r.start} 至 ${r.end}` : '';
    }
    case 'select':
    case 'radio':
      return f.options?.find((o) => o.value === v)?.label ?? String(v);
    case 'multiselect':
    case 'checkbox':
      return (v as string[]).map((x) => f.options?.find((o) => o.value === x)?.label ?? x).join('、');
    case 'person':
    case 'department': {
      const ids = Array.isArray(v) ? v : [v];
      return ids.map((id) => names[`${f.type}:${String(id)}`] ?? `#${String(id)}`).join('、');
    }
    case 'attachment':
    case 'image':
      return `${(v as unknown[]).length} 个文件`;
    case 'datetime':
      return formatDateTime(String(v));
    default:
      return String(v);
  }
}

/** 'YYYY-MM-DD HH:mm' in Beijing time (ARCHITECTURE "Time": stored in UTC, shown in Asia/Shanghai). */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const b = new Date(d.getTime() + 8 * 3600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${b.getUTCFullYear()}-${p(b.getUTCMonth() + 1)}-${p(b.getUTCDate())} ${p(b.getUTCHours())}:${p(b.getUTCMinutes())}`;
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}
