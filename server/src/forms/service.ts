import { Op, inUnitOfWork, type Actor, type Database, type FormSubmission, type UnitOfWork } from '@oa/db';
import type { Clock } from '../clock.ts';
import type { Principal } from '../access/principal.ts';
import { beijingDate, isPlainObject } from '../expr/index.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { checkFormSchema, compileSchema, type CompiledForm } from './compile.ts';
import type { FormRefs } from './refs.ts';
import type { FormSchema } from './schema.ts';
import { submissionWhere, type Filter } from './summary.ts';
import { assignSlots, loadSlots, summaryRowOf, type SlotRef } from './summary-rows.ts';
import { validateSubmission, type FieldError, type FieldPermissions, type FormUser } from './validate.ts';

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
  /** 'YYYY-MM' and 'YYYY' of valueDate: grouping by month or year (R3.14). */
  valueMonth: string | null;
  valueYear: string | null;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T/;

const indexRow = (fieldKey: string, rowNo: number, valueText: string | null, valueNum: string | null, valueDate: string | null): IndexRow => ({
  fieldKey,
  rowNo,
  valueText,
  valueNum,
  valueDate,
  valueMonth: valueDate === null ? null : valueDate.slice(0, 7),
  valueYear: valueDate === null ? null : valueDate.slice(0, 4),
});

function scalarRows(key: string, rowNo: number, v: unknown, out: IndexRow[]): void {
  if (v === null || v === undefined || v === '') return;
  if (Array.isArray(v)) {
    // Multi-valued (multiselect, people, files): one row per value, same key.
    for (const x of v) if (typeof x !== 'object') scalarRows(key, rowNo, x, out);
    return;
  }
  if (typeof v === 'number') out.push(indexRow(key, rowNo, null, String(v), null));
  else if (typeof v === 'boolean') out.push(indexRow(key, rowNo, v ? '1' : '0', v ? '1' : '0', null));
  else if (typeof v === 'string') {
    if (DATE_RE.test(v)) out.push(indexRow(key, rowNo, v, null, v));
    else if (ISO_RE.test(v)) out.push(indexRow(key, rowNo, v, null, beijingDate(new Date(v))));
    else out.push(indexRow(key, rowNo, v.slice(0, 255), null, null));
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
  /** For the file checks (files readable through other modules' rules); the uploader rule otherwise. */
  principal?: Principal | null;
}

export interface SubmissionView {
  id: number;
  formId: number;
  versionId: number;
  version: number;
  serialNo: string | null;
  data: Record<string, unknown>;
  totals: Record<string, Record<string, number>> | null;
  submitterId: number;
  submitterName: string | null;
  deptId: number | null;
  status: string;
  rev: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A path of a correction: `amount`, `items[3].amount`, `items` (the whole table). */
const CHANGE_PATH = /^([A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]{0,63})(?:\[(\d{1,4})\]\.([A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]{0,63}))?$/;

const formErrors = (errors: FieldError[]) => badRequest('表单填写有误', errors.map((e) => ({ path: e.path, message: e.message })), 'FORM_INVALID');

export class FormService {
  constructor(
    readonly db: Database,
    readonly clock: Clock,
    /** Database checks and lookups (people, departments, files, data sources); none when absent. */
    readonly refs: FormRefs | null = null,
  ) {}

  private schemaErrors(doc: unknown) {
    const r = checkFormSchema(doc);
    if (!r.ok) throw badRequest('表单定义有误', r.errors.map((e) => ({ path: e.path, message: e.message })), 'FORM_SCHEMA_INVALID');
    return r.form;
  }

  async createForm(actor: Actor, key: string, draft: unknown, opts: { standalone?: boolean } = {}): Promise<number> {
    const form = this.schemaErrors(draft);
    const { FormDef } = this.db.models;
    if (await FormDef.findOne({ where: { key }, attributes: ['id'] })) throw conflict(`表单标识“${key}”已存在`, 'FORM_KEY_TAKEN');
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const row = await FormDef.create({ key, name: form.schema.title, draft: form.schema, latestVersion: null, standalone: opts.standalone ?? false, createdBy: actor.id }, { transaction: uow.t });
      uow.audit({ action: 'form.create', objectType: 'form', objectId: row.id, detail: { key, name: form.schema.title } });
      return row.id;
    });
  }

  async updateDraft(actor: Actor, id: number, draft: unknown, rev: number, opts: { standalone?: boolean } = {}): Promise<number> {
    const form = this.schemaErrors(draft);
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const { FormDef } = this.db.models;
      const patch = { draft: form.schema, name: form.schema.title, rev: rev + 1, ...(opts.standalone !== undefined ? { standalone: opts.standalone } : {}) };
      const [n] = await FormDef.update(patch, { where: { id, rev }, transaction: uow.t });
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
      const form = this.schemaErrors(def.draft);
      const version = (def.latestVersion ?? 0) + 1;
      const v = await FormVersion.create({ formId: id, version, schema: def.draft, publishedBy: actor.id, publishedAt: uow.now }, { transaction: uow.t });
      await assignSlots(this.db, uow.t, id, version, form);
      await FormDef.update({ latestVersion: version }, { where: { id }, transaction: uow.t });
      uow.audit({ action: 'form.publish', objectType: 'form', objectId: id, detail: { version } });
      return { versionId: v.id, version };
    });
  }

  private versionCache = new Map<number, { schema: FormSchema; form: CompiledForm; formId: number }>();
  /** Summary slots per version: assigned at its publish and unchanged after (a retired slot is only no longer read). */
  private slotCache = new Map<number, Map<string, SlotRef>>();

  private async slots(versionId: number, formId: number): Promise<Map<string, SlotRef>> {
    const hit = this.slotCache.get(versionId);
    if (hit) return hit;
    const slots = await loadSlots(this.db, formId);
    if (this.slotCache.size > 500) this.slotCache.clear();
    this.slotCache.set(versionId, slots);
    return slots;
  }

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

  /**
   * Make sure the counter row of a serial field and period exists, in its own short transaction
   * before the submission's. Racing first submissions of a period may both insert: the loser's
   * unique violation is expected and ignored. (Inserting inside the submission's transaction
   * deadlocked on MariaDB: each loser of the insert holds a shared lock on the row that the
   * others' increments then wait for.)
   */
  private async ensureSerialRow(formId: number, fieldKey: string, period: string): Promise<void> {
    const { FormSerial } = this.db.models;
    const where = { formId, fieldKey, period };
    if (await FormSerial.findOne({ where, attributes: ['formId'], raw: true })) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.transaction(async (t) => {
          if (!(await FormSerial.findOne({ where, attributes: ['formId'], transaction: t }))) await FormSerial.create({ ...where, lastValue: 0 }, { transaction: t });
        });
        return;
      } catch (e) {
        if ((e as Error).name === 'SequelizeUniqueConstraintError') return;
        if (attempt >= 2 || !/deadlock|lock wait/i.test((e as Error).message)) throw e;
      }
    }
  }

  /**
   * The next number of a counter, inside the submission's unit of work: one UPDATE (its row lock,
   * or SQLite's single writer, serialises concurrent submissions until commit, so numbers are
   * distinct and a rolled-back submission gives its number back), then read it.
   */
  private async nextSerial(uow: UnitOfWork, formId: number, fieldKey: string, period: string): Promise<number> {
    const { FormSerial } = this.db.models;
    const where = { formId, fieldKey, period };
    await FormSerial.increment('lastValue', { by: 1, where, transaction: uow.t });
    const row = await FormSerial.findOne({ where, transaction: uow.t });
    if (!row || row.lastValue < 1) throw conflict('流水号生成冲突，请重试', 'SERIAL_RETRY');
    return row.lastValue;
  }

  /**
   * Validate, number, store and index a submission on the latest published version. With `refs`,
   * lookups fill their linked fields from the data source first (R16.7) and people, departments,
   * files and lookup keys are checked in the database; every problem is reported at once.
   * `opts.versionId`: the version the client rendered; a newer one published since → 409.
   */
  async submit(
    who: SubmitterContext,
    formId: number,
    data: unknown,
    permissions: FieldPermissions = {},
    opts: { versionId?: number } = {},
  ): Promise<{ id: number; serialNo: string | null; value: Record<string, unknown> }> {
    const versionId = await this.latestVersionId(formId);
    if (opts.versionId !== undefined && opts.versionId !== versionId) throw conflict('表单已发布新版本，请刷新后重新填写', 'FORM_VERSION_STALE');
    const { form } = await this.version(versionId);
    const now = this.clock.now();
    const refUser = { id: who.user.id, principal: who.principal ?? null };
    const pre = this.refs ? await this.refs.resolveLookups(form, data, refUser) : { filled: {}, errors: [] };
    const r = validateSubmission(form.schema, data, { now, user: who.user, filled: pre.filled }, permissions);
    const errors = [...pre.errors, ...r.errors.filter((e) => !pre.errors.some((p) => p.path === e.path))];
    if (!errors.length && this.refs) errors.push(...(await this.refs.check(form, r.value, null, refUser)));
    if (errors.length) throw formErrors(errors);
    const slots = await this.slots(versionId, formId);
    for (const f of form.schema.fields) if (f.type === 'serial') await this.ensureSerialRow(formId, f.key, serialPeriod(f.reset, now));
    return inUnitOfWork(this.db, who.actor, now, async (uow) => {
      let serialNo: string | null = null;
      for (const f of form.schema.fields) {
        if (f.type !== 'serial') continue;
        const n = await this.nextSerial(uow, formId, f.key, serialPeriod(f.reset, now));
        const s = formatSerial(f.pattern, now, n);
        r.value[f.key] = s;
        serialNo ??= s;
      }
      const { FormSubmission, FormFieldIndex, FormSummaryRow } = this.db.models;
      const sub = await FormSubmission.create(
        { formId, versionId, serialNo, data: r.value, totals: r.totals, submitterId: who.user.id, deptId: who.user.deptId ?? null, status: 'submitted' },
        { transaction: uow.t },
      );
      const index = indexRowsOf(form, r.value, r.totals);
      const rows = index.map((x) => ({ ...x, submissionId: sub.id, formId }));
      if (rows.length) await FormFieldIndex.bulkCreate(rows, { transaction: uow.t });
      await FormSummaryRow.create(summaryRowOf(slots, index, { submissionId: sub.id, formId, submitterId: sub.submitterId, deptId: sub.deptId, status: sub.status, submittedAt: sub.createdAt }), { transaction: uow.t });
      if (this.refs) await this.refs.claimFiles(form, r.value, sub.id, who.user.id, uow.t);
      uow.audit({ action: 'form.submit', objectType: 'form_submission', objectId: sub.id, detail: { formId, versionId, serialNo } });
      return { id: sub.id, serialNo, value: r.value };
    });
  }

  async submission(id: number): Promise<FormSubmission> {
    const s = await this.db.models.FormSubmission.findByPk(id);
    if (!s) throw notFound('表单数据不存在');
    return s;
  }

  // ---- reading ------------------------------------------------------------------------------

  async listForms(q: { q?: string } = {}) {
    const { FormDef } = this.db.models;
    const rows = await FormDef.findAll({
      where: q.q ? { [Op.or]: [{ name: { [Op.substring]: q.q } }, { key: { [Op.startsWith]: q.q } }] } : {},
      attributes: ['id', 'key', 'name', 'rev', 'latestVersion', 'standalone', 'createdAt', 'updatedAt'],
      order: [['id', 'ASC']],
      raw: true,
    });
    return rows.map((r) => ({ ...r, standalone: !!r.standalone }));
  }

  async getForm(id: number) {
    const def = await this.db.models.FormDef.findByPk(id);
    if (!def) throw notFound('表单不存在');
    return { id: def.id, key: def.key, name: def.name, draft: def.draft, rev: def.rev, latestVersion: def.latestVersion, standalone: !!def.standalone, createdAt: def.createdAt, updatedAt: def.updatedAt };
  }

  async versions(formId: number) {
    await this.getForm(formId);
    const rows = await this.db.models.FormVersion.findAll({ where: { formId }, attributes: ['id', 'version', 'publishedBy', 'publishedAt'], order: [['version', 'DESC']], raw: true });
    return rows.map((v) => ({ versionId: v.id, version: v.version, publishedBy: v.publishedBy, publishedAt: v.publishedAt }));
  }

  /** Published standalone forms, for the catalogue of forms anyone may fill in. */
  async catalogue() {
    const { FormDef, FormVersion } = this.db.models;
    const defs = await FormDef.findAll({ where: { standalone: true, latestVersion: { [Op.ne]: null } }, attributes: ['id', 'key', 'name', 'latestVersion'], order: [['id', 'ASC']], raw: true });
    const out = [];
    for (const d of defs) {
      const v = await FormVersion.findOne({ where: { formId: d.id, version: d.latestVersion! }, attributes: ['id'], raw: true });
      out.push({ formId: d.id, key: d.key, name: d.name, version: d.latestVersion!, versionId: v!.id });
    }
    return out;
  }

  /** Version metadata with its schema (for rendering); `standalone` says whether it may be submitted directly. */
  async versionInfo(versionId: number) {
    const { schema, formId } = await this.version(versionId);
    const v = await this.db.models.FormVersion.findByPk(versionId, { attributes: ['id', 'version', 'publishedAt'], raw: true });
    const def = await this.db.models.FormDef.findByPk(formId, { attributes: ['key', 'standalone', 'latestVersion'], raw: true });
    return { versionId, formId, key: def!.key, version: v!.version, latest: def!.latestVersion === v!.version, standalone: !!def!.standalone, publishedAt: v!.publishedAt, schema };
  }

  async isStandalone(formId: number): Promise<boolean> {
    const def = await this.db.models.FormDef.findByPk(formId, { attributes: ['id', 'standalone'], raw: true });
    if (!def) throw notFound('表单不存在');
    return !!def.standalone;
  }

  async view(s: FormSubmission): Promise<SubmissionView> {
    const [v, u] = await Promise.all([
      this.db.models.FormVersion.findByPk(s.versionId, { attributes: ['version'], raw: true }),
      this.db.models.User.findByPk(s.submitterId, { attributes: ['name'], raw: true }),
    ]);
    return {
      id: s.id,
      formId: s.formId,
      versionId: s.versionId,
      version: v?.version ?? 0,
      serialNo: s.serialNo,
      data: s.data,
      totals: s.totals,
      submitterId: s.submitterId,
      submitterName: u?.name ?? null,
      deptId: s.deptId,
      status: s.status,
      rev: s.rev,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
  }

  /** Submissions of one person (newest first). */
  async mine(userId: number, q: { formId?: number; page: number; pageSize: number }) {
    const { FormSubmission } = this.db.models;
    const where = { submitterId: userId, ...(q.formId ? { formId: q.formId } : {}) };
    const { rows, count } = await FormSubmission.findAndCountAll({ where, order: [['id', 'DESC']], offset: (q.page - 1) * q.pageSize, limit: q.pageSize });
    return { total: count, items: await Promise.all(rows.map((r) => this.view(r))) };
  }

  /**
   * Find submissions of a form by any field (R16.10): the same filters as summary tables
   * (eq, range, contains, in; sub-table columns match when any row does).
   */
  async search(formId: number, filters: readonly Filter[], q: { page: number; pageSize: number }) {
    await this.getForm(formId);
    const versionId = await this.latestVersionId(formId).catch(() => null);
    const form = versionId ? (await this.version(versionId)).form : compileSchema((await this.getForm(formId)).draft);
    const { where } = submissionWhere(this.db, form, formId, filters);
    const { FormSubmission } = this.db.models;
    const { rows, count } = await FormSubmission.findAndCountAll({ where, order: [['id', 'DESC']], offset: (q.page - 1) * q.pageSize, limit: q.pageSize });
    return { total: count, items: await Promise.all(rows.map((r) => this.view(r))) };
  }

  /** Corrections of a submission, oldest first (R16.10): who, when, why, each path with old and new value. */
  async history(id: number) {
    const s = await this.submission(id);
    const rows = await this.db.models.FormSubmissionChange.findAll({ where: { submissionId: id }, order: [['rev', 'ASC']] });
    const names = new Map(
      (await this.db.models.User.findAll({ where: { id: [...new Set([s.submitterId, ...rows.map((r) => r.actorId).filter((x): x is number => x !== null)])] }, attributes: ['id', 'name'], raw: true })).map((u) => [u.id, u.name]),
    );
    return {
      submission: { id: s.id, serialNo: s.serialNo, rev: s.rev, submittedAt: s.createdAt, submitterId: s.submitterId, submitterName: names.get(s.submitterId) ?? null },
      changes: rows.map((r) => ({ rev: r.rev, at: r.createdAt, actorId: r.actorId, actorName: r.actorId ? (names.get(r.actorId) ?? null) : null, reason: r.reason, changes: r.changes })),
    };
  }

  /**
   * Correct stored values with a reason (R16.10): `changes` maps paths (`amount`,
   * `items[2].amount`, or a whole field) to new input values. The result is validated against the
   * submission's own version (R16.5) and checked in the database like a submission, the field index
   * is rewritten, the replaced values are kept in the history, and the correction is audited, all
   * in one unit of work. Read-only fields may be corrected (that is what the tool is for); serial
   * numbers may not. `rev` guards against a concurrent correction (409).
   */
  async correct(who: SubmitterContext, id: number, rev: number, changes: Record<string, unknown>, reason: string) {
    const s = await this.submission(id);
    if (s.rev !== rev) throw conflict('表单数据已被他人修改，请刷新后重试', 'STALE');
    const { form } = await this.version(s.versionId);
    const stored = s.data;
    const next = structuredClone(stored) as Record<string, unknown>;
    const pathErrors: FieldError[] = [];
    const touched = new Set<string>();
    for (const [path, v] of Object.entries(changes)) {
      const m = CHANGE_PATH.exec(path);
      const f = m ? form.fields.get(m[1]!) : undefined;
      if (!m || !f) {
        pathErrors.push({ path, message: `表单中没有“${path.slice(0, 64)}”`, code: 'UNKNOWN_FIELD' });
        continue;
      }
      if (f.type === 'serial' || f.type === 'computed') {
        pathErrors.push({ path, message: `${f.label}由系统生成，不能更正`, code: 'READONLY' });
        continue;
      }
      touched.add(f.key);
      if (m[2] === undefined) {
        next[f.key] = v;
        continue;
      }
      const rows = Array.isArray(next[f.key]) ? (next[f.key] as Array<Record<string, unknown>>) : null;
      const i = Number(m[2]);
      if (f.type !== 'subtable' || !rows || i >= rows.length || !form.subtables.get(f.key)!.columns.has(m[3]!)) {
        pathErrors.push({ path, message: `“${path}”不存在`, code: 'UNKNOWN_FIELD' });
        continue;
      }
      rows[i] = { ...rows[i], [m[3]!]: v };
    }
    if (pathErrors.length) throw formErrors(pathErrors);
    if (!touched.size) throw badRequest('没有要更正的内容', undefined, 'NO_CHANGE');
    // Read-only fields: the stored value stands in for "previous" so the corrected value is accepted.
    const previous: Record<string, unknown> = { ...stored };
    for (const k of touched) {
      const f = form.fields.get(k)!;
      if (f.readonly || (f.type === 'subtable' && f.columns.some((c) => c.readonly))) previous[k] = next[k];
    }
    const refUser = { id: who.user.id, principal: who.principal ?? null };
    const input = Object.fromEntries(Object.entries(next).filter(([k]) => form.fields.has(k)));
    const pre = this.refs ? await this.refs.resolveLookups(form, input, refUser, stored) : { filled: {}, errors: [] };
    const submitter = await this.db.models.User.findByPk(s.submitterId, { attributes: ['id', 'name', 'username', 'employeeNo', 'deptId'], raw: true });
    const r = validateSubmission(form.schema, input, { now: s.createdAt, user: submitter ? { ...submitter, deptId: s.deptId } : null, previous, filled: pre.filled });
    const errors = [...pre.errors, ...r.errors.filter((e) => !pre.errors.some((p) => p.path === e.path))];
    if (!errors.length && this.refs) errors.push(...(await this.refs.check(form, r.value, stored, refUser)));
    if (errors.length) throw formErrors(errors);
    // Serial numbers keep their stored text.
    for (const f of form.schema.fields) if (f.type === 'serial') r.value[f.key] = stored[f.key] ?? null;
    const diff = diffValues(stored, r.value);
    if (!diff.length) throw badRequest('更正后的内容与原内容相同', undefined, 'NO_CHANGE');
    const slots = await this.slots(s.versionId, s.formId);
    return inUnitOfWork(this.db, who.actor, this.clock.now(), async (uow) => {
      const { FormSubmission, FormFieldIndex, FormSubmissionChange, FormSummaryRow } = this.db.models;
      const [n] = await FormSubmission.update({ data: r.value, totals: r.totals, rev: rev + 1 }, { where: { id, rev }, transaction: uow.t });
      if (n !== 1) throw conflict('表单数据已被他人修改，请刷新后重试', 'STALE');
      await FormFieldIndex.destroy({ where: { submissionId: id }, transaction: uow.t });
      const index = indexRowsOf(form, r.value, r.totals);
      const rows = index.map((x) => ({ ...x, submissionId: id, formId: s.formId }));
      if (rows.length) await FormFieldIndex.bulkCreate(rows, { transaction: uow.t });
      // The summary row is rewritten whole (cleared slots become null).
      await FormSummaryRow.destroy({ where: { formId: s.formId, submissionId: id }, transaction: uow.t });
      await FormSummaryRow.create(summaryRowOf(slots, index, { submissionId: id, formId: s.formId, submitterId: s.submitterId, deptId: s.deptId, status: s.status, submittedAt: s.createdAt }), { transaction: uow.t });
      await FormSubmissionChange.create({ submissionId: id, rev: rev + 1, actorId: who.actor.id ?? null, reason, changes: diff, createdAt: uow.now }, { transaction: uow.t });
      if (this.refs) await this.refs.claimFiles(form, r.value, id, who.user.id, uow.t);
      uow.audit({ action: 'form.correct', objectType: 'form_submission', objectId: id, detail: { reason, rev: rev + 1, changes: diff.map((d) => d.path) } });
      return { id, rev: rev + 1, data: r.value, changes: diff };
    });
  }
}

/** Paths whose value differs between two stored values: top-level keys and sub-table cells. */
export function diffValues(a: Record<string, unknown>, b: Record<string, unknown>): Array<{ path: string; old: unknown; new: unknown }> {
  const out: Array<{ path: string; old: unknown; new: unknown }> = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[k];
    const y = b[k];
    if (same(x, y)) continue;
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every(isPlainObject)) {
      x.forEach((row, i) => {
        const r0 = row as Record<string, unknown>;
        const r1 = (y[i] ?? {}) as Record<string, unknown>;
        for (const c of new Set([...Object.keys(r0), ...Object.keys(r1)])) if (!same(r0[c], r1[c])) out.push({ path: `${k}[${i}].${c}`, old: r0[c] ?? null, new: r1[c] ?? null });
      });
    } else out.push({ path: k, old: x ?? null, new: y ?? null });
  }
  return out;
}
