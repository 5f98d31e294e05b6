import { inUnitOfWork, type Actor, type Database, type FormSubmission, type UnitOfWork } from '@oa/db';
import type { Clock } from '../clock.ts';
import { beijingDate } from '../expr/index.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { checkFormSchema, compileSchema, type CompiledForm } from './compile.ts';
import type { FormSchema } from './schema.ts';
import { validateSubmission, type FieldPermissions, type FormUser } from './validate.ts';

/**
 * Persistence of forms (issue 5 items 6 and 8): drafts, immutable published versions (R16.5),
 * submissions stored whole plus one index row per scalar value (R3.14, R16.9), serial numbers.
 */

export interface IndexRow {
  fieldKey: string;
  rowNo: number;
  valueText: string | null;
  valueNum: string | null;
  valueDate: string | null;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T/;

function scalarRows(key: string, rowNo: number, v: unknown, out: IndexRow[]): void {
  if (v === null || v === undefined || v === '') return;
  if (Array.isArray(v)) {
    // Multi-valued (multiselect, people, files): one row per value, same key.
    for (const x of v) if (typeof x !== 'object') scalarRows(key, rowNo, x, out);
    return;
  }
  if (typeof v === 'number') out.push({ fieldKey: key, rowNo, valueText: null, valueNum: String(v), valueDate: null });
  else if (typeof v === 'boolean') out.push({ fieldKey: key, rowNo, valueText: v ? '1' : '0', valueNum: v ? '1' : '0', valueDate: null });
  else if (typeof v === 'string') {
    if (DATE_RE.test(v)) out.push({ fieldKey: key, rowNo, valueText: v, valueNum: null, valueDate: v });
    else if (ISO_RE.test(v)) out.push({ fieldKey: key, rowNo, valueText: v, valueNum: null, valueDate: beijingDate(new Date(v)) });
    else out.push({ fieldKey: key, rowNo, valueText: v.slice(0, 255), valueNum: null, valueDate: null });
  } else if (typeof v === 'object') {
    // daterange
    const r = v as { start?: unknown; end?: unknown };
    if (typeof r.start === 'string') scalarRows(`${key}.start`, rowNo, r.start, out);
    if (typeof r.end === 'string') scalarRows(`${key}.end`, rowNo, r.end, out);
  }
}

/** The field index of a normalised value: rich text is not indexed (it is not a scalar to query). */
export function indexRowsOf(form: CompiledForm, value: Record<string, unknown>, totals: Record<string, Record<string, number>> = {}): IndexRow[] {
  const out: IndexRow[] = [];
  for (const [key, f] of form.fields) {
    const v = value[key];
    if (f.type === 'richtext') continue;
    if (f.type === 'subtable') {
      const st = form.subtables.get(key)!;
      const rows = Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
      rows.forEach((row, i) => {
        for (const [ck, c] of st.columns) if (c.type !== 'richtext') scalarRows(`${key}.${ck}`, i, row[ck], out);
      });
      for (const [col, total] of Object.entries(totals[key] ?? {})) scalarRows(`${key}.${col}.$total`, -1, total, out);
      continue;
    }
    scalarRows(key, -1, v, out);
  }
  return out;
}

/** `QJ-{yyyy}-{0000}` with the Beijing date and counter → text; and the counter period. */
export function formatSerial(pattern: string, now: Date, n: number): string {
  const d = beijingDate(now);
  return pattern
    .replace(/\{yyyy\}/g, d.slice(0, 4))
    .replace(/\{yy\}/g, d.slice(2, 4))
    .replace(/\{mm\}/g, d.slice(5, 7))
    .replace(/\{dd\}/g, d.slice(8, 10))
    .replace(/\{(0+)\}/, (_m, zeros: string) => String(n).padStart(zeros.length, '0'));
}

export function serialPeriod(reset: 'never' | 'year' | 'month' | 'day' | undefined, now: Date): string {
  const d = beijingDate(now).replace(/-/g, '');
  switch (reset ?? 'year') {
    case 'never':
      return 'all';
    case 'year':
      return d.slice(0, 4);
    case 'month':
      return d.slice(0, 6);
    default:
      return d;
  }
}

export interface SubmitterContext {
  actor: Actor;
  user: FormUser;
}

export class FormService {
  constructor(
    readonly db: Database,
    readonly clock: Clock,
  ) {}

  private schemaErrors(doc: unknown) {
    const r = checkFormSchema(doc);
    if (!r.ok) throw badRequest('表单定义有误', r.errors.map((e) => ({ path: e.path, message: e.message })), 'FORM_SCHEMA_INVALID');
    return r.form;
  }

  async createForm(actor: Actor, key: string, draft: unknown): Promise<number> {
    const form = this.schemaErrors(draft);
    const { FormDef } = this.db.models;
    if (await FormDef.findOne({ where: { key }, attributes: ['id'] })) throw conflict(`表单标识“${key}”已存在`, 'FORM_KEY_TAKEN');
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const row = await FormDef.create({ key, name: form.schema.title, draft: form.schema, latestVersion: null, createdBy: actor.id }, { transaction: uow.t });
      uow.audit({ action: 'form.create', objectType: 'form', objectId: row.id, detail: { key, name: form.schema.title } });
      return row.id;
    });
  }

  async updateDraft(actor: Actor, id: number, draft: unknown, rev: number): Promise<number> {
    const form = this.schemaErrors(draft);
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const { FormDef } = this.db.models;
      const [n] = await FormDef.update({ draft: form.schema, name: form.schema.title, rev: rev + 1 }, { where: { id, rev }, transaction: uow.t });
      if (n !== 1) {
        if (!(await FormDef.findByPk(id, { transaction: uow.t, attributes: ['id'] }))) throw notFound('表单不存在');
        throw conflict('表单已被他人修改，请刷新后重试', 'STALE');
      }
      uow.audit({ action: 'form.update', objectType: 'form', objectId: id, detail: { rev: rev + 1 } });
      return rev + 1;
    });
  }

  /** Freeze the draft as the next version (R16.5): new submissions use it; old ones keep theirs. */
  async publish(actor: Actor, id: number): Promise<{ versionId: number; version: number }> {
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const { FormDef, FormVersion } = this.db.models;
      const def = await FormDef.findByPk(id, { transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (!def) throw notFound('表单不存在');
      this.schemaErrors(def.draft);
      const version = (def.latestVersion ?? 0) + 1;
      const v = await FormVersion.create({ formId: id, version, schema: def.draft, publishedBy: actor.id, publishedAt: uow.now }, { transaction: uow.t });
      await FormDef.update({ latestVersion: version }, { where: { id }, transaction: uow.t });
      uow.audit({ action: 'form.publish', objectType: 'form', objectId: id, detail: { version } });
      return { versionId: v.id, version };
    });
  }

  private versionCache = new Map<number, { schema: FormSchema; form: CompiledForm; formId: number }>();

  /** A published version, compiled once per process (versions are immutable). */
  async version(versionId: number): Promise<{ schema: FormSchema; form: CompiledForm; formId: number }> {
    const hit = this.versionCache.get(versionId);
    if (hit) return hit;
    const v = await this.db.models.FormVersion.findByPk(versionId, { raw: false });
    if (!v) throw notFound('表单版本不存在');
    const form = compileSchema(v.schema);
    const entry = { schema: form.schema, form, formId: v.formId };
    if (this.versionCache.size > 500) this.versionCache.clear();
    this.versionCache.set(versionId, entry);
    return entry;
  }

  async latestVersionId(formId: number): Promise<number> {
    const { FormDef, FormVersion } = this.db.models;
    const def = await FormDef.findByPk(formId, { attributes: ['id', 'latestVersion'] });
    if (!def) throw notFound('表单不存在');
    if (!def.latestVersion) throw badRequest('表单尚未发布', undefined, 'FORM_NOT_PUBLISHED');
    const v = await FormVersion.findOne({ where: { formId, version: def.latestVersion }, attributes: ['id'] });
    return v!.id;
  }

  private async nextSerial(uow: UnitOfWork, formId: number, fieldKey: string, period: string): Promise<number> {
    const { FormSerial } = this.db.models;
    // Concurrency: the increment is one UPDATE inside the submission's transaction (row lock on
    // MySQL/SQL Server, serialised writers on SQLite); the first number of a period inserts the row,
    // and a racing insert loses on the primary key and retries the update.
    for (let attempt = 0; attempt < 3; attempt++) {
      const [n] = await FormSerial.increment('lastValue', { by: 1, where: { formId, fieldKey, period }, transaction: uow.t });
      void n;
      const row = await FormSerial.findOne({ where: { formId, fieldKey, period }, transaction: uow.t });
      if (row) return row.lastValue;
      try {
        await FormSerial.create({ formId, fieldKey, period, lastValue: 1 }, { transaction: uow.t });
        return 1;
      } catch (e) {
        if ((e as Error).name !== 'SequelizeUniqueConstraintError') throw e;
      }
    }
    throw conflict('流水号生成冲突，请重试', 'SERIAL_RETRY');
  }

  /** Validate, number, store and index a submission on the latest published version. */
  async submit(who: SubmitterContext, formId: number, data: unknown, permissions: FieldPermissions = {}): Promise<{ id: number; serialNo: string | null; value: Record<string, unknown> }> {
    const versionId = await this.latestVersionId(formId);
    const { form } = await this.version(versionId);
    const now = this.clock.now();
    const r = validateSubmission(form.schema, data, { now, user: who.user }, permissions);
    if (!r.ok) throw badRequest('表单填写有误', r.errors.map((e) => ({ path: e.path, message: e.message })), 'FORM_INVALID');
    return inUnitOfWork(this.db, who.actor, now, async (uow) => {
      let serialNo: string | null = null;
      for (const f of form.schema.fields) {
        if (f.type !== 'serial') continue;
        const n = await this.nextSerial(uow, formId, f.key, serialPeriod(f.reset, now));
        const s = formatSerial(f.pattern, now, n);
        r.value[f.key] = s;
        serialNo ??= s;
      }
      const { FormSubmission, FormFieldIndex } = this.db.models;
      const sub = await FormSubmission.create(
        { formId, versionId, serialNo, data: r.value, totals: r.totals, submitterId: who.user.id, deptId: who.user.deptId ?? null, status: 'submitted' },
        { transaction: uow.t },
      );
      const rows = indexRowsOf(form, r.value, r.totals).map((x) => ({ ...x, submissionId: sub.id, formId }));
      if (rows.length) await FormFieldIndex.bulkCreate(rows, { transaction: uow.t });
      uow.audit({ action: 'form.submit', objectType: 'form_submission', objectId: sub.id, detail: { formId, versionId, serialNo } });
      return { id: sub.id, serialNo, value: r.value };
    });
  }

  async submission(id: number): Promise<FormSubmission> {
    const s = await this.db.models.FormSubmission.findByPk(id);
    if (!s) throw notFound('表单数据不存在');
    return s;
  }
}
