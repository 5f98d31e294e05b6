import { z } from 'zod';
import { isForbiddenName } from '../expr/index.ts';

/**
 * Form schema (issue 5 item 1; R16.1, R16.4, R16.6, R16.8, R16.11): what the designer edits and
 * what renders, validates and computes a form. Plain JSON, versioned with the form (R16.5).
 *
 * Values by type (what `validateSubmission` returns as `value`):
 *   text, textarea, richtext (sanitised HTML), radio, select, lookup → string
 *   number → number; money → integer fen (分); date → 'YYYY-MM-DD'; datetime → ISO 8601 UTC;
 *   daterange → { start, end } dates; multiselect, checkbox (a group of check boxes) → string[];
 *   person, department → user / department id, or an id list when `multiple`;
 *   attachment, image → file id list; signature → file id; serial → text assigned by the server;
 *   computed → per `resultType`; subtable → row objects.
 */

/** The zod copy the form schemas are built with (bench:forms times a bare parse with the same one; zod is not resolvable from the repository root). */
export { z };

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

/** Hard limits that no schema can raise. */
export const FORM_LIMITS = Object.freeze({
  maxFields: 300,
  maxColumns: 60,
  /** Rows of one sub-table (10,000-row submissions are refused before any row is read). */
  maxRows: 2000,
  maxTextLength: 10_000,
  maxRichTextLength: 500_000,
  maxOptions: 1000,
  maxFiles: 50,
  maxRules: 100,
});

const KEY_RE = /^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]{0,63}$/;

const key = z
  .string({ error: '字段标识必须是文本' })
  .regex(KEY_RE, '字段标识只能由字母、数字、下划线或汉字组成，不能以数字开头，最长 64 个字符')
  .refine((k) => !isForbiddenName(k), '字段标识不能使用保留名称');
const label = z.string({ error: '请填写字段名称' }).trim().min(1, '请填写字段名称').max(100, '字段名称不能超过 100 个字符');
const formula = z.string({ error: '公式必须是文本' }).trim().min(1, '公式不能为空').max(2000, '公式不能超过 2000 个字符');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, '日期格式应为 YYYY-MM-DD');
const count = (max: number, what: string) => z.number({ error: `${what}必须是数字` }).int(`${what}必须是整数`).min(0, `${what}不能为负`).max(max, `${what}不能超过 ${max}`);

const option = z.strictObject({
  value: z.string({ error: '选项值必须是文本' }).min(1, '选项值不能为空').max(200, '选项值不能超过 200 个字符'),
  label: z.string().trim().min(1, '请填写选项名称').max(200, '选项名称不能超过 200 个字符'),
  /** Retired options stay for old submissions but cannot be chosen any more. */
  disabled: z.boolean().optional(),
});

/** Common properties (R16.1, R16.8). */
const base = {
  key,
  label,
  required: z.boolean().optional(),
  /** Only required while this formula is true. */
  requiredWhen: formula.optional(),
  /** Shown only while this formula is true; a hidden field is not validated and its value is dropped. */
  visibleWhen: formula.optional(),
  /** Literal default. */
  default: z.unknown().optional(),
  /** Default by formula, e.g. `$user.name`, `TODAY()` (R16.8). */
  defaultFormula: formula.optional(),
  /** Never writable by the submitter (filled by default or by a later node). */
  readonly: z.boolean().optional(),
  help: z.string().max(500, '说明不能超过 500 个字符').optional(),
  placeholder: z.string().max(200).optional(),
};

const textProps = {
  minLength: count(FORM_LIMITS.maxTextLength, '最少字数').optional(),
  maxLength: count(FORM_LIMITS.maxTextLength, '最多字数').optional(),
  pattern: z.string().min(1).max(200, '校验规则不能超过 200 个字符').optional(),
  patternMessage: z.string().max(200).optional(),
};
const numberBounds = {
  min: z.number({ error: '最小值必须是数字' }).optional(),
  max: z.number({ error: '最大值必须是数字' }).optional(),
};
const choiceProps = { options: z.array(option).min(1, '至少需要一个选项').max(FORM_LIMITS.maxOptions, `选项不能超过 ${FORM_LIMITS.maxOptions} 个`) };
const multiProps = { ...choiceProps, minItems: count(FORM_LIMITS.maxOptions, '最少选择数').optional(), maxItems: count(FORM_LIMITS.maxOptions, '最多选择数').optional() };
const fileProps = { maxFiles: count(FORM_LIMITS.maxFiles, '文件数').optional(), accept: z.array(z.string().max(50)).max(50).optional() };

const scalarFieldVariants = [
  z.strictObject({ ...base, type: z.literal('text'), ...textProps }),
  z.strictObject({ ...base, type: z.literal('textarea'), ...textProps }),
  z.strictObject({ ...base, type: z.literal('number'), ...numberBounds, precision: count(6, '小数位数').optional(), unit: z.string().max(20).optional() }),
  z.strictObject({
    ...base,
    type: z.literal('money'),
    /** Bounds in fen (分). */
    min: z.number().int('金额下限必须是整数（分）').optional(),
    max: z.number().int('金额上限必须是整数（分）').optional(),
  }),
  z.strictObject({ ...base, type: z.literal('date'), min: isoDate.optional(), max: isoDate.optional() }),
  z.strictObject({ ...base, type: z.literal('datetime') }),
  z.strictObject({ ...base, type: z.literal('daterange'), maxDays: count(36_600, '最长天数').optional() }),
  z.strictObject({ ...base, type: z.literal('select'), ...choiceProps }),
  z.strictObject({ ...base, type: z.literal('radio'), ...choiceProps }),
  z.strictObject({ ...base, type: z.literal('multiselect'), ...multiProps }),
  z.strictObject({ ...base, type: z.literal('checkbox'), ...multiProps }),
  z.strictObject({ ...base, type: z.literal('person'), multiple: z.boolean().optional() }),
  z.strictObject({ ...base, type: z.literal('department'), multiple: z.boolean().optional() }),
  z.strictObject({ ...base, type: z.literal('attachment'), ...fileProps }),
  z.strictObject({ ...base, type: z.literal('image'), ...fileProps }),
  z.strictObject({ ...base, type: z.literal('richtext'), maxLength: count(FORM_LIMITS.maxRichTextLength, '最大长度').optional() }),
  z.strictObject({ ...base, type: z.literal('signature') }),
  z.strictObject({
    ...base,
    type: z.literal('serial'),
    /** `{yyyy}`, `{yy}`, `{mm}`, `{dd}` (Beijing date) and one run of zeros `{0000}` for the counter. */
    pattern: z
      .string()
      .min(1)
      .max(60, '流水号格式不能超过 60 个字符')
      .regex(/\{0+\}/, '流水号格式需要包含序号占位，如 {0000}'),
    /** Counter restarts each year ('year'), month, day, or never. */
    reset: z.enum(['never', 'year', 'month', 'day'], { error: '重置周期只能是 never、year、month 或 day' }).optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('computed'),
    formula,
    resultType: z.enum(['number', 'money', 'text', 'date', 'boolean'], { error: '计算结果类型只能是 number、money、text、date 或 boolean' }),
    precision: count(6, '小数位数').optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal('lookup'),
    /** A server-side registered data source (R16.7); never SQL. */
    source: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, '数据源名称无效'),
    /** Other fields filled from the chosen record: { fieldKey: sourceColumn }. */
    fill: z.record(key, z.string().max(64)).optional(),
  }),
] as const;

function unknownTypeMessage(input: unknown): string {
  const t = input && typeof input === 'object' ? (input as { type?: unknown }).type : undefined;
  return t === undefined ? '请指定字段类型' : `未知的字段类型“${String(t).slice(0, 40)}”`;
}

export const scalarFieldSchema = z.discriminatedUnion('type', [...scalarFieldVariants], { error: (iss) => unknownTypeMessage(iss.input) });

const subtableField = z.strictObject({
  ...base,
  type: z.literal('subtable'),
  columns: z.array(scalarFieldSchema).min(1, '明细表至少需要一列').max(FORM_LIMITS.maxColumns, `明细表不能超过 ${FORM_LIMITS.maxColumns} 列`),
  minRows: count(FORM_LIMITS.maxRows, '最少行数').optional(),
  maxRows: count(FORM_LIMITS.maxRows, '最多行数').optional(),
  /** Column keys (number or money) whose totals are computed and returned as `<key>Totals`. */
  totals: z.array(key).max(FORM_LIMITS.maxColumns).optional(),
  /** Row rules: each formula must be true for every row; columns are in scope, top-level fields too. */
  rowRules: z
    .array(z.strictObject({ formula, message: z.string().min(1).max(200), column: key.optional() }))
    .max(FORM_LIMITS.maxRules)
    .optional(),
});

export const fieldSchema = z.discriminatedUnion('type', [...scalarFieldVariants, subtableField], { error: (iss) => unknownTypeMessage(iss.input) });

export type ScalarField = z.infer<typeof scalarFieldSchema>;
export type SubtableField = z.infer<typeof subtableField>;
export type FormField = z.infer<typeof fieldSchema>;

const layoutCell = z.strictObject({ field: key, span: z.number().int().min(1).max(24).optional() });
const layoutRow = z.array(layoutCell).min(1).max(6, '每行最多 6 个字段');
const layoutSection = z.strictObject({
  kind: z.enum(['group', 'tab'], { error: '布局分区只能是 group（分组）或 tab（标签页）' }),
  title: z.string().max(100).optional(),
  rows: z.array(layoutRow).max(FORM_LIMITS.maxFields),
});

export const formSchema = z.strictObject({
  /** Format of this document (not the form's version). */
  schemaVersion: z.literal(1, { error: '不支持的表单格式版本' }).optional(),
  title: z.string().trim().min(1, '请填写表单名称').max(100, '表单名称不能超过 100 个字符'),
  fields: z.array(fieldSchema).min(1, '表单至少需要一个字段').max(FORM_LIMITS.maxFields, `字段不能超过 ${FORM_LIMITS.maxFields} 个`),
  /** Cross-field rules (R16.3): each formula must be true; `field` names where the error shows. */
  rules: z
    .array(z.strictObject({ formula, message: z.string().min(1).max(200), field: key.optional() }))
    .max(FORM_LIMITS.maxRules)
    .optional(),
  /** Screen layout (rows and columns in groups or tabs). Fields not placed are appended. */
  layout: z.strictObject({ sections: z.array(layoutSection).max(50) }).optional(),
  /** Print layout (issue item 10). */
  printLayout: z
    .strictObject({ title: z.string().max(100).optional(), sections: z.array(layoutSection).max(50), hideEmpty: z.boolean().optional() })
    .optional(),
  /** Phone layout (R16.11): the fields in display order; fields not listed are hidden on phones. */
  phoneLayout: z.strictObject({ fields: z.array(key).max(FORM_LIMITS.maxFields) }).optional(),
});

export type FormSchema = z.infer<typeof formSchema>;

export interface SchemaIssue {
  /** Path into the schema document, e.g. `fields[3].formula`. */
  path: string;
  message: string;
  code: string;
}

export function pathToString(path: ReadonlyArray<PropertyKey>): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s;
}
