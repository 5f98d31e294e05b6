import { emitWorkflowEvent } from '../workflow/triggers.ts';
import { z } from 'zod';
import {
  Op,
  OptimisticLockError,
  UniqueConstraintError,
  inUnitOfWork,
  type Actor,
  type Database,
  type PersonField,
  type PersonFileChange,
  type PersonFileChangeSource,
  type PersonProfile,
  type Transaction,
  type UnitOfWork,
} from '@oa/db';
import type { Clock } from '../clock.ts';
import { badRequest, conflict, notFound, type FieldError } from '../http/errors.ts';
import { isCalendarDate } from './transfers.ts';
import { checkValue, fieldView, type FieldView } from './personnel-fields.ts';
import { PiiDecryptError, type PiiCipher, maskAddress, maskBankAccount, maskIdNumber, piiContext } from './pii-crypto.ts';
import type { Ref } from './people.ts';

/*
 * Personnel files (人事档案, issue 3 item 4, R12.2).
 *
 * A file = fixed fields (columns of person_profile) + custom field values (JSON) + the person's
 * organisational data (department, post, title, position: read from `user`, changed by the people,
 * transfer and batch flows, not here). Every write is validated field by field (errors name
 * `values.birthDate`, `custom.shoeSize`), carries the version it was based on (stale → 409), and
 * records one history row per changed field with who, when, old and new value.
 *
 * Sensitive fields (ID number, bank account, home address) are stored only encrypted (pii-crypto);
 * history rows hold them encrypted too, and audit rows name changed fields without values (BAR
 * AU-2: no PII payloads in the audit log; the history is where values live). They are shown masked;
 * plaintext only to holders of org:sensitive who ask for it (`reveal`), and each reveal is audited.
 *
 * Who reads a file: the person themself (masked, no reveal — see personnel-routes.ts) and holders
 * of org:files. Anyone else is told the file does not exist.
 */

export const PROFILE = 'person_profile';
export const CHANGE = 'person_file_change';

type FixedKind = 'text' | 'date' | 'bool' | 'idNumber' | 'bankAccount' | 'address' | 'phone';
interface FixedSpec {
  label: string;
  kind: FixedKind;
  max?: number;
}

/** The fixed fields, in display order. Sensitive ones are marked by their kind. */
export const FIXED_FIELDS = {
  birthDate: { label: '出生日期', kind: 'date' },
  ethnicity: { label: '民族', kind: 'text', max: 32 },
  nativePlace: { label: '籍贯', kind: 'text', max: 100 },
  politicalStatus: { label: '政治面貌', kind: 'text', max: 32 },
  maritalStatus: { label: '婚姻状况', kind: 'text', max: 16 },
  education: { label: '学历', kind: 'text', max: 32 },
  degree: { label: '学位', kind: 'text', max: 32 },
  graduateSchool: { label: '毕业院校', kind: 'text', max: 100 },
  major: { label: '所学专业', kind: 'text', max: 100 },
  graduationDate: { label: '毕业日期', kind: 'date' },
  workStartDate: { label: '参加工作日期', kind: 'date' },
  hireDate: { label: '入职日期', kind: 'date' },
  employmentType: { label: '用工形式', kind: 'text', max: 32 },
  unionMember: { label: '工会会员', kind: 'bool' },
  unionJoinDate: { label: '入会日期', kind: 'date' },
  emergencyContact: { label: '紧急联系人', kind: 'text', max: 64 },
  emergencyPhone: { label: '紧急联系电话', kind: 'phone', max: 32 },
  idNumber: { label: '身份证号', kind: 'idNumber' },
  bankName: { label: '开户银行', kind: 'text', max: 100 },
  bankAccount: { label: '银行账号', kind: 'bankAccount' },
  homeAddress: { label: '家庭住址', kind: 'address', max: 200 },
  remark: { label: '备注', kind: 'text', max: 500 },
} as const satisfies Record<string, FixedSpec>;

export type FixedKey = keyof typeof FIXED_FIELDS;
export const FIXED_KEYS = Object.keys(FIXED_FIELDS) as FixedKey[];
export const SENSITIVE_KEYS = ['idNumber', 'bankAccount', 'homeAddress'] as const;
export type SensitiveKey = (typeof SENSITIVE_KEYS)[number];
type PlainKey = Exclude<FixedKey, SensitiveKey>;
const isSensitive = (k: string): k is SensitiveKey => (SENSITIVE_KEYS as readonly string[]).includes(k);

const ENC_COLUMN: Record<SensitiveKey, 'idNumberEnc' | 'bankAccountEnc' | 'homeAddressEnc'> = {
  idNumber: 'idNumberEnc',
  bankAccount: 'bankAccountEnc',
  homeAddress: 'homeAddressEnc',
};
const MASK: Record<SensitiveKey, (v: string) => string> = { idNumber: maskIdNumber, bankAccount: maskBankAccount, homeAddress: maskAddress };

// ---- fixed-field validation (zod, so errors carry Chinese messages and paths) --------------------

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** 18-digit resident ID (GB 11643-1999): region, a real birth date, the check character. */
export function isResidentId(s: string): boolean {
  if (!/^\d{17}[\dX]$/.test(s)) return false;
  const birth = `${s.slice(6, 10)}-${s.slice(10, 12)}-${s.slice(12, 14)}`;
  if (!isCalendarDate(birth) || birth < '1900-01-01') return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(s[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11] === s[17];
}

/** Full-width digits and letters from Chinese input methods, spaces and dashes people type in numbers. */
export const normaliseIdNumber = (s: string) => s.normalize('NFKC').replace(/[\s-]/g, '').toUpperCase();
export const normaliseBankAccount = (s: string) => s.normalize('NFKC').replace(/[\s-]/g, '');

function fixedSchema(key: FixedKey): z.ZodType<string | boolean | null | undefined> {
  const spec: FixedSpec = FIXED_FIELDS[key];
  const l = spec.label;
  const text = (max: number) =>
    z
      .string({ error: `${l}应为文本` })
      .transform((s) => s.normalize('NFC').trim())
      // eslint-disable-next-line no-control-regex
      .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), `${l}不能包含换行或控制字符`)
      .refine((s) => Array.from(s).length <= max, `${l}不能超过 ${max} 个字符`);
  let s: z.ZodType<string | boolean>;
  switch (spec.kind) {
    case 'text':
    case 'address':
      s = text(spec.max ?? 100);
      break;
    case 'date':
      s = z
        .string({ error: `${l}应为日期` })
        .transform((v) => v.normalize('NFKC').trim())
        .refine((v) => v === '' || isCalendarDate(v), `${l}格式应为 YYYY-MM-DD，且为有效日期`);
      break;
    case 'bool':
      s = z.boolean({ error: `${l}只能是 true 或 false` });
      break;
    case 'phone':
      s = z
        .string({ error: `${l}应为文本` })
        .transform((v) => v.normalize('NFKC').trim())
        .refine((v) => v === '' || /^[0-9+\-() ]{3,32}$/.test(v), `${l}只能包含数字、空格和 + - ( )，不超过 32 位`);
      break;
    case 'idNumber':
      s = z
        .string({ error: `${l}应为文本` })
        .transform(normaliseIdNumber)
        .refine((v) => v === '' || isResidentId(v), `${l}不正确：应为 18 位居民身份证号码，出生日期和校验位有效`);
      break;
    case 'bankAccount':
      s = z
        .string({ error: `${l}应为文本` })
        .transform(normaliseBankAccount)
        .refine((v) => v === '' || /^\d{8,30}$/.test(v), `${l}应为 8–30 位数字`);
      break;
  }
  return s.nullable().optional();
}

/** The `values` object of a file edit: every fixed field optional, null or '' clears. */
export const fixedValuesSchema = z.strictObject(Object.fromEntries(FIXED_KEYS.map((k) => [k, fixedSchema(k)])) as Record<FixedKey, z.ZodType<string | boolean | null | undefined>>);
export type FixedValues = Partial<Record<FixedKey, string | boolean | null>>;

/** What an information change asks of the personnel file (`info_change.changes.file`). */
export interface FileChangeRequest {
  file: { values: Partial<Record<FixedKey, unknown>>; custom: Record<string, unknown>; labels: string[] };
}

export interface FilePatch {
  /** the version the edit was based on (0 for a file not yet created); null: whatever is current (an approved request) */
  version: number | null;
  values?: FixedValues;
  custom?: Record<string, unknown>;
  reason?: string | null;
}

// ---- views ----------------------------------------------------------------------------------------

export interface FileViewer {
  userId: number;
  /** holds org:files */
  files: boolean;
  /** holds org:sensitive */
  sensitive: boolean;
}

export interface FileAttachment {
  id: number;
  name: string;
  mime: string;
  size: number;
}

export interface PersonFileView {
  person: {
    id: number;
    name: string;
    employeeNo: string | null;
    gender: string | null;
    status: string;
    dept: Ref | null;
    post: Ref | null;
    title: Ref | null;
    position: Ref | null;
  };
  /** 0 until the file is first saved; send it back with an edit */
  version: number;
  values: Record<FixedKey, string | boolean | null>;
  /** whether the sensitive values are plaintext (else masked) */
  revealed: boolean;
  custom: Record<string, unknown>;
  /** the enabled custom fields, for rendering */
  customFields: FieldView[];
  /** keys of required custom fields without a value */
  missingRequired: string[];
  /** files referenced by attachment fields */
  attachments: FileAttachment[];
  updatedAt: Date | null;
  updatedBy: Ref | null;
}

export interface FileChangeView {
  id: number;
  field: string;
  label: string;
  sensitive: boolean;
  oldValue: unknown;
  newValue: unknown;
  version: number;
  source: PersonFileChangeSource;
  reason: string | null;
  changedBy: Ref | null;
  changedAt: Date;
}

/** One changed field of a write (plaintext: never stored or logged as is for sensitive fields). */
export interface FileChange {
  field: string;
  label: string;
  sensitive: boolean;
  old: unknown;
  new: unknown;
}

const STALE = '该人员档案已被他人修改，请刷新后重新编辑';

/** Database errors of concurrent edits as Chinese 409s. */
function concurrency(err: unknown): never {
  if (err instanceof OptimisticLockError) throw conflict(STALE, 'VERSION_CONFLICT');
  if (err instanceof UniqueConstraintError) {
    const what = `${JSON.stringify(err.fields ?? {})} ${err.message} ${String((err.parent as { sqlMessage?: string } | undefined)?.sqlMessage ?? '')}`;
    if (/id_number|idno/i.test(what)) throw conflict('该身份证号已登记在其他人员的档案中', 'ID_NUMBER_TAKEN');
    throw conflict(STALE, 'VERSION_CONFLICT');
  }
  const code = (err as { parent?: { code?: string } }).parent?.code;
  if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'SQLITE_BUSY') {
    throw conflict('该人员档案正被其他人同时修改，请刷新后重试', 'CONCURRENT_CHANGE');
  }
  throw err;
}

const emptyToNull = (v: unknown) => (v === '' || v === undefined ? null : v);
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export class PersonnelService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly cipher: PiiCipher,
  ) {}

  /** Read access: the person themself, or org:files. Others must not learn the file exists. */
  mayRead(viewer: FileViewer, userId: number): boolean {
    return viewer.userId === userId || viewer.files;
  }

  private openSensitive(p: PersonProfile | null, key: SensitiveKey): string | null {
    const enc = p?.[ENC_COLUMN[key]];
    if (!enc) return null;
    return this.cipher.decrypt(enc, piiContext(PROFILE, key, p.userId));
  }

  private show(key: SensitiveKey, plain: string | null, reveal: boolean): string | null {
    if (plain === null) return null;
    return reveal ? plain : MASK[key](plain);
  }

  private async refs(ids: (number | null | undefined)[], model: 'User' | 'Department' | 'Post' | 'Title' | 'Position'): Promise<Map<number, string>> {
    const wanted = [...new Set(ids.filter((x): x is number => typeof x === 'number'))];
    if (!wanted.length) return new Map();
    const M = this.db.models[model] as unknown as { findAll(o: object): Promise<{ id: number; name: string }[]> };
    return new Map((await M.findAll({ where: { id: wanted }, attributes: ['id', 'name'], raw: true })).map((r) => [r.id, r.name]));
  }

  private async enabledFields(t?: Transaction): Promise<PersonField[]> {
    return this.db.models.PersonField.findAll({
      where: { enabled: true },
      order: [
        ['sort', 'ASC'],
        ['id', 'ASC'],
      ],
      transaction: t,
    });
  }

  /** The file as this viewer may see it; 404 when they may not (or the person does not exist). */
  async get(userId: number, viewer: FileViewer, reveal = false): Promise<PersonFileView> {
    if (!this.mayRead(viewer, userId)) throw notFound('人员档案不存在');
    const { User, PersonProfile } = this.db.models;
    const user = await User.findByPk(userId, { attributes: ['id', 'name', 'employeeNo', 'gender', 'status', 'deptId', 'postId', 'titleId', 'positionId'], raw: true });
    if (!user) throw notFound('人员档案不存在');
    const p = await PersonProfile.findByPk(userId);
    const fields = await this.enabledFields();
    const [depts, posts, titles, positions, users] = await Promise.all([
      this.refs([user.deptId], 'Department'),
      this.refs([user.postId], 'Post'),
      this.refs([user.titleId], 'Title'),
      this.refs([user.positionId], 'Position'),
      this.refs([p?.updatedBy], 'User'),
    ]);
    const ref = (m: Map<number, string>, id: number | null | undefined): Ref | null => (id != null && m.has(id) ? { id, name: m.get(id)! } : null);
    const showPlain = reveal && viewer.sensitive;
    const values = {} as Record<FixedKey, string | boolean | null>;
    for (const k of FIXED_KEYS) {
      if (isSensitive(k)) {
        try {
          values[k] = this.show(k, this.openSensitive(p, k), showPlain);
        } catch (err) {
          if (!(err instanceof PiiDecryptError)) throw err;
          values[k] = '（无法解密）'; // altered or moved ciphertext: unreadable, never someone else's value
        }
      } else {
        values[k] = (p?.[k] as string | boolean | null | undefined) ?? null;
      }
    }
    const stored = p?.custom ?? {};
    const custom: Record<string, unknown> = {};
    const missingRequired: string[] = [];
    const fileIds: number[] = [];
    for (const f of fields) {
      const v = Object.hasOwn(stored, f.key) ? stored[f.key] : null;
      custom[f.key] = v ?? null;
      if (v == null && f.required) missingRequired.push(f.key);
      if (f.type === 'attachment' && Array.isArray(v)) fileIds.push(...(v as number[]));
    }
    const files = fileIds.length
      ? await this.db.models.StoredFile.findAll({ where: { id: [...new Set(fileIds)] }, attributes: ['id', 'originalName', 'mime', 'size'], order: [['id', 'ASC']], raw: true })
      : [];
    return {
      person: {
        id: user.id,
        name: user.name,
        employeeNo: user.employeeNo,
        gender: user.gender,
        status: user.status,
        dept: ref(depts, user.deptId),
        post: ref(posts, user.postId),
        title: ref(titles, user.titleId),
        position: ref(positions, user.positionId),
      },
      version: p?.version ?? 0,
      values,
      revealed: showPlain,
      custom,
      customFields: fields.map(fieldView),
      missingRequired,
      attachments: files.map((f) => ({ id: f.id, name: f.originalName, mime: f.mime, size: Number(f.size) })),
      updatedAt: p?.updatedAt ?? null,
      updatedBy: ref(users, p?.updatedBy),
    };
  }

  /** Edit a file (org:files): validated, versioned, one history row per changed field. */
  async update(userId: number, patch: FilePatch, actor: Actor, viewer: FileViewer): Promise<PersonFileView> {
    await inUnitOfWork(this.db, actor, this.clock.now(), (uow) => this.updateInUnit(uow, userId, patch, actor, 'edit')).catch(concurrency);
    return this.get(userId, viewer);
  }

  /**
   * Apply an edit inside the caller's unit of work (edits, approved information changes, imports).
   * Returns what changed (empty: nothing to do, version unchanged). Attachments may name files
   * uploaded by `uploaderId` (default: the actor; for an approved request, the person who asked).
   */
  async updateInUnit(uow: UnitOfWork, userId: number, patch: FilePatch, actor: Actor, source: PersonFileChangeSource, uploaderId = actor.id): Promise<FileChange[]> {
    const t = uow.t;
    const { User, PersonProfile, PersonFileChange } = this.db.models;
    // the person's row is the lock every writer of this file takes first: two first saves of a
    // file cannot both insert, and a stale version is seen under the lock
    const user = await User.findByPk(userId, { attributes: ['id'], transaction: t, lock: t.LOCK.UPDATE });
    if (!user) throw notFound('人员档案不存在');
    let row = await PersonProfile.findByPk(userId, { transaction: t, lock: t.LOCK.UPDATE });
    if (patch.version !== null && (row?.version ?? 0) !== patch.version) throw conflict(STALE, 'VERSION_CONFLICT');

    const errors: FieldError[] = [];
    const changes: FileChange[] = [];
    const set: Partial<Record<string, unknown>> = {};

    // fixed fields (already shaped by fixedValuesSchema)
    const values = patch.values ?? {};
    let newIdHash: string | null | undefined;
    for (const k of FIXED_KEYS) {
      if (!Object.hasOwn(values, k) || values[k] === undefined) continue;
      const next = emptyToNull(values[k]);
      if (isSensitive(k)) {
        let prev: string | null;
        try {
          prev = this.openSensitive(row, k);
        } catch (err) {
          if (!(err instanceof PiiDecryptError)) throw err;
          prev = null;
        }
        if (prev === next) continue;
        set[ENC_COLUMN[k]] = next === null ? null : this.cipher.encrypt(next as string, piiContext(PROFILE, k, userId));
        if (k === 'idNumber') newIdHash = next === null ? null : this.cipher.blindIndex('idNumber', next as string);
        changes.push({ field: k, label: FIXED_FIELDS[k].label, sensitive: true, old: prev, new: next });
      } else {
        const prev = (row?.[k as PlainKey] as unknown) ?? null;
        if (same(prev, next)) continue;
        set[k] = next;
        changes.push({ field: k, label: FIXED_FIELDS[k].label, sensitive: false, old: prev, new: next });
      }
    }

    // custom fields: defined, enabled, and valid for their type
    const custom: Record<string, unknown> = { ...(row?.custom ?? {}) };
    let customChanged = false;
    const given = patch.custom ?? {};
    const keys = Object.keys(given);
    if (keys.length) {
      const defs = await this.db.models.PersonField.findAll({ where: { key: keys }, transaction: t });
      const byKey = new Map(defs.map((d) => [d.key, d]));
      const attach: { key: string; ids: number[] }[] = [];
      for (const key of keys) {
        const path = `custom.${key}`;
        const def = byKey.get(key);
        if (!def) {
          errors.push({ path, message: '没有这个自定义字段' });
          continue;
        }
        if (!def.enabled) {
          errors.push({ path, message: `字段「${def.label}」已删除，不能再填写` });
          continue;
        }
        const r = checkValue(def, given[key]);
        if (!r.ok) {
          errors.push({ path, message: `${def.label}${r.message.startsWith('「') ? '：' : ''}${r.message}` });
          continue;
        }
        const prev = Object.hasOwn(custom, key) ? custom[key] : null;
        if (same(prev, r.value)) continue;
        if (def.type === 'attachment' && r.value !== null) attach.push({ key, ids: r.value as number[] });
        if (r.value === null) delete custom[key];
        else custom[key] = r.value;
        customChanged = true;
        changes.push({ field: path, label: def.label, sensitive: false, old: prev, new: r.value });
      }
      errors.push(...(await this.checkAttachments(attach, userId, uploaderId, t)));
    }
    if (errors.length) throw badRequest(`档案内容校验失败：${errors[0]!.path} ${errors[0]!.message}，未做任何修改`, errors, 'VALIDATION_FAILED');
    if (!changes.length) return [];

    if (newIdHash) {
      const other = await PersonProfile.findOne({ where: { idNumberHash: newIdHash, userId: { [Op.ne]: userId } }, attributes: ['userId'], transaction: t });
      if (other) throw conflict('该身份证号已登记在其他人员的档案中', 'ID_NUMBER_TAKEN');
    }
    if (newIdHash !== undefined) set.idNumberHash = newIdHash;
    if (customChanged) set.custom = Object.keys(custom).length ? custom : null;
    set.updatedBy = actor.id;

    if (!row) {
      // version 0 → 1 on the first save, so an edit based on the empty file is stale afterwards
      row = PersonProfile.build({ userId, custom: null, updatedBy: actor.id } as never);
      row.set(set as never);
      await row.save({ transaction: t });
      row.version = 1;
      await PersonProfile.update({ version: 1 }, { where: { userId, version: 0 }, transaction: t });
    } else {
      row.set(set as never);
      await row.save({ transaction: t });
    }
    const version = row.version;

    await this.linkAttachments(changes, userId, t);
    await PersonFileChange.bulkCreate(
      changes.map((c) => ({
        userId,
        field: c.field,
        label: c.label,
        sensitive: c.sensitive,
        oldValue: this.historyValue(c.field, c.sensitive, c.old, userId),
        newValue: this.historyValue(c.field, c.sensitive, c.new, userId),
        version,
        source,
        reason: patch.reason ?? null,
        changedBy: actor.id,
        changedAt: uow.now,
      })),
      { transaction: t },
    );
    // names of the changed fields only: values (personal data) live in the history, not in the audit log
    uow.audit({
      action: 'org.file.update',
      objectType: 'person_file',
      objectId: userId,
      detail: { version, source, fields: changes.map((c) => c.field), sensitiveFields: changes.filter((c) => c.sensitive).map((c) => c.field) },
    });
    // processes may start on a file change (R3.12); field names only, as in the audit row
    if (changes.length) await emitWorkflowEvent(this.db, t, 'org.person.file_changed', { subjectUserId: userId, data: { changedFields: changes.map((c) => c.field) } }, uow.now);
    return changes;
  }

  private historyValue(field: string, sensitive: boolean, v: unknown, userId: number): string | null {
    if (v === null || v === undefined) return null;
    if (sensitive) return this.cipher.encrypt(String(v), piiContext(CHANGE, field, userId));
    return JSON.stringify(v);
  }

  /**
   * Attachment values must name stored files this file may take: already attached to this
   * person's file, or uploaded by the editor and not yet attached anywhere (no borrowing another
   * module's or another person's file, which would open it to this file's readers).
   */
  private async checkAttachments(attach: { key: string; ids: number[] }[], userId: number, uploaderId: number | null, t: Transaction): Promise<FieldError[]> {
    const all = [...new Set(attach.flatMap((a) => a.ids))];
    if (!all.length) return [];
    const files = new Map((await this.db.models.StoredFile.findAll({ where: { id: all }, attributes: ['id', 'uploaderId', 'ownerType', 'ownerId'], raw: true, transaction: t })).map((f) => [f.id, f]));
    const errors: FieldError[] = [];
    for (const a of attach) {
      a.ids.forEach((id, i) => {
        const f = files.get(id);
        const mine = f && ((f.ownerType === 'person_file' && f.ownerId === String(userId)) || (f.ownerType === null && f.uploaderId === uploaderId));
        if (!f) errors.push({ path: `custom.${a.key}[${i}]`, message: `文件（编号 ${id}）不存在` });
        else if (!mine) errors.push({ path: `custom.${a.key}[${i}]`, message: `文件（编号 ${id}）不能用于此档案（只能使用本人上传且未被使用的文件）` });
      });
    }
    return errors;
  }

  private async linkAttachments(changes: { field: string; new: unknown }[], userId: number, t: Transaction): Promise<void> {
    const ids = changes.flatMap((c) => (c.field.startsWith('custom.') && Array.isArray(c.new) && c.new.every((x) => typeof x === 'number') ? (c.new as number[]) : []));
    if (!ids.length) return;
    await this.db.models.StoredFile.update({ ownerType: 'person_file', ownerId: String(userId) }, { where: { id: ids, ownerType: null }, transaction: t });
  }

  /** The change history, newest first; sensitive values masked unless revealed. */
  async history(
    userId: number,
    q: { page: number; pageSize: number; field?: string },
    viewer: FileViewer,
    reveal = false,
  ): Promise<{ total: number; page: number; pageSize: number; revealed: boolean; items: FileChangeView[] }> {
    if (!this.mayRead(viewer, userId)) throw notFound('人员档案不存在');
    const { User, PersonFileChange } = this.db.models;
    if (!(await User.findByPk(userId, { attributes: ['id'], raw: true }))) throw notFound('人员档案不存在');
    const where: Record<string, unknown> = { userId };
    if (q.field) where.field = q.field;
    const total = await PersonFileChange.count({ where });
    const rows = await PersonFileChange.findAll({ where, order: [['id', 'DESC']], offset: (q.page - 1) * q.pageSize, limit: q.pageSize, raw: true });
    const users = await this.refs(
      rows.map((r) => r.changedBy),
      'User',
    );
    const showPlain = reveal && viewer.sensitive;
    return {
      total,
      page: q.page,
      pageSize: q.pageSize,
      revealed: showPlain,
      items: rows.map((r: PersonFileChange) => ({
        id: r.id,
        field: r.field,
        label: r.label,
        sensitive: !!r.sensitive,
        oldValue: this.historyShow(r, r.oldValue, showPlain),
        newValue: this.historyShow(r, r.newValue, showPlain),
        version: r.version,
        source: r.source,
        reason: r.reason,
        changedBy: r.changedBy != null && users.has(r.changedBy) ? { id: r.changedBy, name: users.get(r.changedBy)! } : null,
        changedAt: r.changedAt,
      })),
    };
  }

  private historyShow(r: PersonFileChange, stored: string | null, reveal: boolean): unknown {
    if (stored === null) return null;
    if (!r.sensitive) return JSON.parse(stored) as unknown;
    try {
      const plain = this.cipher.decrypt(stored, piiContext(CHANGE, r.field, r.userId));
      return reveal || !isSensitive(r.field) ? plain : MASK[r.field](plain);
    } catch (err) {
      if (err instanceof PiiDecryptError) return '（无法解密）';
      throw err;
    }
  }

  /**
   * A person asks for changes to their own file (信息变更, R12.4 with R12.2): validated now, stored
   * as an information change, applied by `updateInUnit` when org:manage approves it
   * (info-changes.ts). Sensitive fields are not requested this way: the request is stored as JSON,
   * and the ID number, bank account and home address must never be stored in plaintext.
   */
  async requestChange(userId: number, input: { values?: FixedValues; custom?: Record<string, unknown>; reason?: string | null }, actor: Actor): Promise<{ id: number; status: string; changes: FileChangeRequest; createdAt: Date }> {
    const errors: FieldError[] = [];
    const values: Partial<Record<FixedKey, unknown>> = {};
    const labels: string[] = [];
    for (const k of FIXED_KEYS) {
      const v = input.values?.[k];
      if (v === undefined) continue;
      if (isSensitive(k)) errors.push({ path: `values.${k}`, message: `${FIXED_FIELDS[k].label}属于敏感信息，请联系人事部门修改` });
      values[k] = emptyToNull(v);
      labels.push(FIXED_FIELDS[k].label);
    }
    const custom: Record<string, unknown> = {};
    const keys = Object.keys(input.custom ?? {});
    const defs = keys.length ? new Map((await this.db.models.PersonField.findAll({ where: { key: keys } })).map((d) => [d.key, d])) : new Map<string, PersonField>();
    const attach: { key: string; ids: number[] }[] = [];
    for (const key of keys) {
      const def = defs.get(key);
      const path = `custom.${key}`;
      if (!def || !def.enabled) {
        errors.push({ path, message: def ? `字段「${def.label}」已删除，不能再填写` : '没有这个自定义字段' });
        continue;
      }
      const r = checkValue(def, input.custom![key]);
      if (!r.ok) {
        errors.push({ path, message: `${def.label}${r.message.startsWith('「') ? '：' : ''}${r.message}` });
        continue;
      }
      custom[key] = r.value;
      labels.push(def.label);
      if (def.type === 'attachment' && r.value !== null) attach.push({ key, ids: r.value as number[] });
    }
    if (!labels.length && !errors.length) throw badRequest('请至少填写一项要变更的档案内容', [{ path: 'values', message: '没有要变更的内容' }], 'NOTHING_TO_CHANGE');
    errors.push(...(await this.db.transaction((t) => this.checkAttachments(attach, userId, userId, t))));
    if (errors.length) throw badRequest(`档案变更申请校验失败：${errors[0]!.path} ${errors[0]!.message}`, errors, 'VALIDATION_FAILED');
    const changes: FileChangeRequest = { file: { values, custom, labels } };
    const row = await inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const me = await this.db.models.User.findByPk(userId, { attributes: ['id', 'status'], transaction: uow.t });
      if (!me || me.status !== 'active') throw badRequest('人员不存在或已停用', undefined, 'PERSON_NOT_FOUND');
      const created = await this.db.models.InfoChange.create({ userId, changes: { file: changes.file }, reason: input.reason ?? null, status: 'pending', createdAt: uow.now }, { transaction: uow.t });
      // field names only, as for edits: the values are in the request row
      uow.audit({ action: 'org.info_change.request', objectType: 'info_change', objectId: created.id, detail: { userId, fileFields: [...Object.keys(values), ...Object.keys(custom).map((k) => `custom.${k}`)] } });
      return created;
    });
    return { id: row.id, status: row.status, changes, createdAt: row.createdAt };
  }

  /** Apply an approved file change request inside the approval's unit of work; returns the prior values. */
  async applyRequest(uow: UnitOfWork, userId: number, req: FileChangeRequest['file'], actor: Actor, infoChangeId: number): Promise<Record<string, unknown>> {
    const changed = await this.updateInUnit(
      uow,
      userId,
      { version: null, values: req.values as FixedValues, custom: req.custom, reason: `信息变更申请 #${infoChangeId}` },
      actor,
      'info_change',
      userId,
    );
    const prior: Record<string, unknown> = {};
    for (const c of changed) if (!c.sensitive) prior[c.field] = c.old ?? null;
    return prior;
  }

  /** Find the person whose file holds this ID number (blind index): org:files only. */
  async findByIdNumber(idNumber: string): Promise<number | null> {
    const v = normaliseIdNumber(idNumber);
    const row = await this.db.models.PersonProfile.findOne({ where: { idNumberHash: this.cipher.blindIndex('idNumber', v) }, attributes: ['userId'], raw: true });
    return row?.userId ?? null;
  }
}

