import { z } from 'zod';
import { Op, UniqueConstraintError, inUnitOfWork, type Actor, type Database, type PersonField, type PersonFieldOptions, type PersonFieldType, type Transaction } from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { zodFieldErrors } from '../http/validate.ts';
import { isCalendarDate } from './transfers.ts';

/*
 * Custom fields of the personnel file (自定义字段, issue 3 item 4, R12.2): defined by the holders of
 * org:files at any time, typed, validated on every write. A field's key never changes (values are
 * stored under it); deleting a field disables it, keeping its values and history. A field's type
 * cannot change while anyone has a value for it, nor can a choice in use be removed: the stored
 * values would no longer be valid.
 */

export const FIELD_TYPES = ['text', 'number', 'date', 'select', 'multiselect', 'attachment'] as const satisfies readonly PersonFieldType[];
export const FIELD_TYPE_NAMES: Record<PersonFieldType, string> = {
  text: '文本',
  number: '数字',
  date: '日期',
  select: '单选',
  multiselect: '多选',
  attachment: '附件',
};
export const FIELD_TYPE_ERROR = '字段类型只能是 text（文本）、number（数字）、date（日期）、select（单选）、multiselect（多选）或 attachment（附件）';
/** ASCII identifier; `constructor`-like names are refused so values can live in plain objects */
export const FIELD_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const RESERVED_KEYS = new Set(['constructor', 'prototype', 'hasownproperty', 'tostring', 'valueof', 'tojson']);

export const TEXT_DEFAULT_MAX = 500;
export const ATTACHMENT_DEFAULT_MAX = 10;

const choiceList = z
  .array(z.string({ error: '选项必须是文本' }).trim().min(1, '选项不能为空').max(100, '选项不能超过 100 个字符'), { error: '可选项必须是文本数组' })
  .min(1, '请至少填写一个可选项')
  .max(200, '可选项最多 200 个')
  .refine((a) => new Set(a).size === a.length, '可选项不能重复');
const day = (what: string) => z.string().refine(isCalendarDate, `${what}格式应为 YYYY-MM-DD`).optional();

/** Options per type: an option of another type is refused (not silently kept). */
const OPTION_SCHEMAS: Record<PersonFieldType, z.ZodType<PersonFieldOptions>> = {
  text: z.strictObject({
    maxLength: z.number({ error: '最大长度必须是整数' }).int('最大长度必须是整数').min(1, '最大长度至少为 1').max(5000, '最大长度不能超过 5000').optional(),
    multiline: z.boolean({ error: '是否多行必须是 true 或 false' }).optional(),
  }),
  number: z
    .strictObject({
      min: z.number({ error: '最小值必须是数字' }).finite('最小值必须是有限数字').optional(),
      max: z.number({ error: '最大值必须是数字' }).finite('最大值必须是有限数字').optional(),
      integer: z.boolean({ error: '是否整数必须是 true 或 false' }).optional(),
    })
    .refine((o) => o.min === undefined || o.max === undefined || o.min <= o.max, { message: '最小值不能大于最大值', path: ['min'] }),
  date: z
    .strictObject({ minDate: day('最早日期'), maxDate: day('最晚日期') })
    .refine((o) => !o.minDate || !o.maxDate || o.minDate <= o.maxDate, { message: '最早日期不能晚于最晚日期', path: ['minDate'] }),
  select: z.strictObject({ choices: choiceList }),
  multiselect: z
    .strictObject({ choices: choiceList, maxItems: z.number({ error: '最多选择数必须是整数' }).int('最多选择数必须是整数').min(1, '最多选择数至少为 1').optional() })
    .refine((o) => o.maxItems === undefined || o.maxItems <= o.choices.length, { message: '最多选择数不能超过可选项数量', path: ['maxItems'] }),
  attachment: z.strictObject({
    maxFiles: z.number({ error: '最多文件数必须是整数' }).int('最多文件数必须是整数').min(1, '最多文件数至少为 1').max(50, '最多文件数不能超过 50').optional(),
  }),
};

export function parseFieldOptions(type: PersonFieldType, raw: unknown): PersonFieldOptions {
  const needsChoices = type === 'select' || type === 'multiselect';
  if (raw === undefined || raw === null) {
    if (needsChoices) throw badRequest(`${FIELD_TYPE_NAMES[type]}字段必须填写可选项`, [{ path: 'options.choices', message: '请至少填写一个可选项' }], 'VALIDATION_FAILED');
    return {};
  }
  const r = OPTION_SCHEMAS[type].safeParse(raw);
  if (r.success) return r.data;
  const errors = zodFieldErrors(r.error, 'options');
  throw badRequest(`字段设置校验失败：${errors[0]!.path} ${errors[0]!.message}`, errors, 'VALIDATION_FAILED');
}

export interface FieldView {
  id: number;
  key: string;
  label: string;
  type: PersonFieldType;
  typeName: string;
  options: PersonFieldOptions;
  required: boolean;
  sort: number;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const fieldView = (f: PersonField): FieldView => ({
  id: f.id,
  key: f.key,
  label: f.label,
  type: f.type,
  typeName: FIELD_TYPE_NAMES[f.type] ?? f.type,
  options: f.options ?? {},
  required: !!f.required,
  sort: f.sort,
  enabled: !!f.enabled,
  createdAt: f.createdAt,
  updatedAt: f.updatedAt,
});

export interface FieldInput {
  key: string;
  label: string;
  type: PersonFieldType;
  options?: Record<string, unknown> | null;
  required?: boolean;
  sort?: number;
}

export interface FieldPatch {
  label?: string;
  type?: PersonFieldType;
  options?: Record<string, unknown> | null;
  required?: boolean;
  sort?: number;
  enabled?: boolean;
}

// ---- values --------------------------------------------------------------------------------------

/** A custom value checked against its field: the value to store (null clears) or the problem. */
export type Checked = { ok: true; value: unknown } | { ok: false; message: string };

const nfkc = (s: string) => s.normalize('NFKC').trim();
const isEmpty = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/** Synchronous part of value validation; attachment file ids are checked against the database by the caller. */
export function checkValue(f: Pick<PersonField, 'label' | 'type' | 'options' | 'required'>, raw: unknown): Checked {
  const o = f.options ?? {};
  const bad = (message: string): Checked => ({ ok: false, message });
  if (isEmpty(raw)) return f.required ? bad('为必填项，不能清空') : { ok: true, value: null };
  switch (f.type) {
    case 'text': {
      if (typeof raw !== 'string') return bad('应为文本');
      const v = raw.normalize('NFC').trim();
      const max = o.maxLength ?? TEXT_DEFAULT_MAX;
      if (Array.from(v).length > max) return bad(`不能超过 ${max} 个字符`);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v) || (!o.multiline && /[\r\n]/.test(v))) return bad('不能包含换行或控制字符');
      return { ok: true, value: v };
    }
    case 'number': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string') {
        // full-width digits (１２３) and signs come from Chinese input methods
        const s = nfkc(raw);
        if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s)) return bad('应为数字');
        n = Number(s);
      } else return bad('应为数字');
      if (!Number.isFinite(n)) return bad('应为有限的数字');
      if (o.integer && !Number.isInteger(n)) return bad('应为整数');
      if (o.min !== undefined && n < o.min) return bad(`不能小于 ${o.min}`);
      if (o.max !== undefined && n > o.max) return bad(`不能大于 ${o.max}`);
      return { ok: true, value: n };
    }
    case 'date': {
      if (typeof raw !== 'string') return bad('应为日期（YYYY-MM-DD）');
      const s = nfkc(raw);
      if (!isCalendarDate(s)) return bad('格式应为 YYYY-MM-DD，且为有效日期');
      if (o.minDate && s < o.minDate) return bad(`不能早于 ${o.minDate}`);
      if (o.maxDate && s > o.maxDate) return bad(`不能晚于 ${o.maxDate}`);
      return { ok: true, value: s };
    }
    case 'select': {
      if (typeof raw !== 'string') return bad('应为一个选项');
      const s = raw.trim();
      if (!(o.choices ?? []).includes(s)) return bad(`「${s}」不在可选项中`);
      return { ok: true, value: s };
    }
    case 'multiselect': {
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')) return bad('应为选项数组');
      const vs = (raw as string[]).map((s) => s.trim());
      const choices = o.choices ?? [];
      const outside = vs.find((s) => !choices.includes(s));
      if (outside !== undefined) return bad(`「${outside}」不在可选项中`);
      if (new Set(vs).size !== vs.length) return bad('选项不能重复');
      if (o.maxItems !== undefined && vs.length > o.maxItems) return bad(`最多选择 ${o.maxItems} 项`);
      // stored in the order of the choices: reordering the same selection is no change
      return { ok: true, value: choices.filter((c) => vs.includes(c)) };
    }
    case 'attachment': {
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x <= 0)) return bad('应为文件编号数组');
      const ids = raw as number[];
      if (new Set(ids).size !== ids.length) return bad('文件不能重复');
      const max = o.maxFiles ?? ATTACHMENT_DEFAULT_MAX;
      if (ids.length > max) return bad(`最多 ${max} 个文件`);
      return { ok: true, value: ids };
    }
    default:
      return bad('字段类型未知');
  }
}

/** Whether a stored value still satisfies a changed field definition (choice removal). */
function usesChoice(value: unknown, choice: string): boolean {
  return value === choice || (Array.isArray(value) && value.includes(choice));
}

// ---- the definitions service ---------------------------------------------------------------------

export class PersonFieldService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async list(includeDisabled: boolean): Promise<FieldView[]> {
    const rows = await this.db.models.PersonField.findAll({
      where: includeDisabled ? {} : { enabled: true },
      order: [
        ['sort', 'ASC'],
        ['id', 'ASC'],
      ],
    });
    return rows.map(fieldView);
  }

  async create(input: FieldInput, actor: Actor): Promise<FieldView> {
    const key = input.key.trim();
    if (!FIELD_KEY_PATTERN.test(key) || RESERVED_KEYS.has(key.toLowerCase())) {
      throw badRequest('字段标识只能由英文字母、数字和下划线组成，以字母开头，且不能使用保留名称', [{ path: 'key', message: '字段标识不合法' }], 'VALIDATION_FAILED');
    }
    const options = parseFieldOptions(input.type, input.options);
    const { PersonField } = this.db.models;
    const id = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      // case-insensitive, whatever the collation: `shoeSize` and `ShoeSize` would confuse people
      const clash = await PersonField.findOne({ where: this.db.sequelize.where(this.db.sequelize.fn('lower', this.db.sequelize.col('field_key')), key.toLowerCase()), transaction: uow.t });
      if (clash) throw conflict(`字段标识「${key}」已被字段「${clash.label}」使用${clash.enabled ? '' : '（已删除的字段仍保留其标识）'}`, 'FIELD_KEY_TAKEN');
      const row = await PersonField.create(
        { key, label: input.label, type: input.type, options, required: input.required ?? false, sort: input.sort ?? 0, enabled: true, createdBy: actor.id },
        { transaction: uow.t },
      );
      uow.audit({ action: 'org.file_field.create', objectType: 'person_field', objectId: row.id, detail: { key, label: input.label, type: input.type, options, required: row.required } });
      return row.id;
    }).catch((err: unknown) => {
      if (err instanceof UniqueConstraintError) throw conflict(`字段标识「${key}」已被使用`, 'FIELD_KEY_TAKEN');
      throw err;
    });
    return fieldView((await PersonField.findByPk(id))!);
  }

  /** Every stored value of a field, by person (the files that mention the key). */
  private async valuesOf(key: string, t: Transaction): Promise<unknown[]> {
    // a prefilter only (`_` is a LIKE wildcard); the JSON is parsed to be sure
    const rows = await this.db.models.PersonProfile.findAll({ where: { custom: { [Op.like]: `%"${key}":%` } } as never, attributes: ['userId', 'custom'], transaction: t });
    const out: unknown[] = [];
    for (const r of rows) {
      const c = r.custom ?? {};
      if (Object.hasOwn(c, key) && !isEmpty(c[key])) out.push(c[key]);
    }
    return out;
  }

  async update(id: number, patch: FieldPatch, actor: Actor): Promise<FieldView> {
    const { PersonField } = this.db.models;
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const t = uow.t;
      const row = await PersonField.findByPk(id, { transaction: t, lock: t.LOCK.UPDATE });
      if (!row) throw notFound('自定义字段不存在');
      const before = fieldView(row);
      const type = patch.type ?? row.type;
      const typeChanged = type !== row.type;
      // a new type needs options of its own; otherwise the given options, or the current ones
      const options = patch.options !== undefined || typeChanged ? parseFieldOptions(type, patch.options) : (row.options ?? {});
      if (typeChanged) {
        const used = await this.valuesOf(row.key, t);
        if (used.length) {
          throw conflict(`字段「${row.label}」已有 ${used.length} 份档案填写了内容，不能修改类型（可新建一个字段，或先清空这些内容）`, 'FIELD_IN_USE');
        }
      } else if ((type === 'select' || type === 'multiselect') && patch.options !== undefined) {
        const removed = (row.options?.choices ?? []).filter((c) => !(options.choices ?? []).includes(c));
        if (removed.length) {
          const used = await this.valuesOf(row.key, t);
          const inUse = removed.filter((c) => used.some((v) => usesChoice(v, c)));
          if (inUse.length) {
            const n = used.filter((v) => inUse.some((c) => usesChoice(v, c))).length;
            throw conflict(`可选项「${inUse.join('、')}」已被 ${n} 份档案使用，不能删除`, 'CHOICE_IN_USE');
          }
        }
      }
      row.type = type;
      row.options = options;
      if (patch.label !== undefined) row.label = patch.label;
      if (patch.required !== undefined) row.required = patch.required;
      if (patch.sort !== undefined) row.sort = patch.sort;
      if (patch.enabled !== undefined) row.enabled = patch.enabled;
      if (!row.changed()) return;
      await row.save({ transaction: t });
      uow.audit({ action: 'org.file_field.update', objectType: 'person_field', objectId: id, detail: { before, after: fieldView(row) } });
    });
    return fieldView((await PersonField.findByPk(id))!);
  }

  /** Deleting disables: values and history stay; the key stays taken. */
  async disable(id: number, actor: Actor): Promise<void> {
    await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const row = await this.db.models.PersonField.findByPk(id, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!row) throw notFound('自定义字段不存在');
      if (!row.enabled) return;
      row.enabled = false;
      await row.save({ transaction: uow.t });
      uow.audit({ action: 'org.file_field.disable', objectType: 'person_field', objectId: id, detail: { key: row.key, label: row.label } });
    });
  }
}

