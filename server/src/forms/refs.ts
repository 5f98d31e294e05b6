import { Op, type Database, type Transaction } from '@oa/db';
import type { Principal } from '../access/principal.ts';
import type { FileService } from '../files/service.ts';
import { isPlainObject } from '../expr/index.ts';
import type { CompiledForm } from './compile.ts';
import { InputError, normalizeText } from './normalize.ts';
import type { ScalarField } from './schema.ts';
import { getRecords, type DataSourceRegistry, type SourceRecord } from './sources.ts';
import type { FieldError } from './validate.ts';

/**
 * Checks of a submission that need the database (issue 5 items 2 and 4): person and department
 * fields name existing active people and enabled departments, attachment, image and signature
 * fields name stored files the submitter may read (images must be images), lookup fields name
 * records of their data source (R16.7), whose values fill the linked fields. Only values that
 * differ from the stored ones are checked, so a person disabled after a submission does not make
 * it uncorrectable.
 */

export const SUBMISSION_OWNER = 'form_submission';

export interface RefUser {
  id: number;
  principal?: Principal | null;
}

type Row = Record<string, unknown>;

interface Ref {
  path: string;
  field: ScalarField;
  value: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Every (path, field, value) of the given types, top level and sub-table cells; unchanged values skipped. */
function refsOf(form: CompiledForm, value: Row, previous: Row | null, types: ReadonlySet<string>): Ref[] {
  const out: Ref[] = [];
  for (const [key, f] of form.fields) {
    if (f.type === 'subtable') {
      const st = form.subtables.get(key)!;
      const rows = Array.isArray(value[key]) ? (value[key] as Row[]) : [];
      const prevRows = previous && Array.isArray(previous[key]) ? (previous[key] as Row[]) : [];
      rows.forEach((r, i) => {
        for (const [ck, c] of st.columns) {
          if (!types.has(c.type) || r[ck] === null || r[ck] === undefined) continue;
          if (prevRows.some((p) => same(p[ck], r[ck]))) continue;
          out.push({ path: `${key}[${i}].${ck}`, field: c, value: r[ck] });
        }
      });
    } else if (types.has(f.type) && value[key] !== null && value[key] !== undefined && !(previous && same(previous[key], value[key]))) {
      out.push({ path: key, field: f as ScalarField, value: value[key] });
    }
  }
  return out;
}

const ids = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : []);

export class FormRefs {
  constructor(
    private readonly db: Database,
    private readonly files: FileService,
    readonly sources: DataSourceRegistry,
  ) {}

  /**
   * Resolve the top-level lookup fields of raw input (R16.7): the record of each key, and the fill
   * values of its linked fields. `previous`: on a change, lookups whose key did not change are not
   * re-read (their fill stays as stored).
   */
  async resolveLookups(form: CompiledForm, raw: unknown, user: RefUser, previous: Row | null = null): Promise<{ filled: Record<string, unknown>; errors: FieldError[] }> {
    const filled: Record<string, unknown> = {};
    const errors: FieldError[] = [];
    if (!isPlainObject(raw)) return { filled, errors };
    const input = raw as Row;
    for (const f of form.schema.fields) {
      if (f.type !== 'lookup' || !Object.hasOwn(input, f.key)) continue;
      let key: string;
      try {
        key = input[f.key] === null || input[f.key] === undefined ? '' : normalizeText(input[f.key], false);
      } catch (e) {
        if (e instanceof InputError) continue; // validateSubmission reports it
        throw e;
      }
      if (previous && same(previous[f.key] ?? '', key)) continue;
      const targets = Object.entries(f.fill ?? {});
      if (key === '') {
        for (const [target] of targets) filled[target] = null;
        continue;
      }
      const r = await this.lookup(f.source, key, user);
      if (r.error) {
        errors.push({ path: f.key, message: `${f.label}：${r.error.message}`, code: r.error.code });
        continue;
      }
      for (const [target, col] of targets) filled[target] = r.record![col] ?? null;
    }
    return { filled, errors };
  }

  /** One record of a source for a person: the record, or why not. */
  async lookup(sourceKey: string, key: string, user: RefUser): Promise<{ record?: SourceRecord; error?: { message: string; code: string } }> {
    const spec = await this.sources.find(sourceKey);
    if (!spec) return { error: { message: `数据源“${sourceKey}”不存在`, code: 'SOURCE_MISSING' } };
    if (!(await this.sources.mayRead(spec, user))) return { error: { message: `无权使用数据源“${spec.name}”`, code: 'SOURCE_FORBIDDEN' } };
    const record = await spec.get(key, user);
    if (!record) return { error: { message: `“${key.slice(0, 50)}”在${spec.name}中不存在`, code: 'LOOKUP_MISSING' } };
    return { record };
  }

  /** Database checks of a normalised value; errors with paths like `items[3].payee`. */
  async check(form: CompiledForm, value: Row, previous: Row | null, user: RefUser, t?: Transaction): Promise<FieldError[]> {
    const errors: FieldError[] = [];
    const { User, Department, StoredFile } = this.db.models;

    const people = refsOf(form, value, previous, new Set(['person']));
    const wantedPeople = [...new Set(people.flatMap((r) => ids(r.value)))];
    if (wantedPeople.length) {
      const ok = new Set((await User.findAll({ where: { id: wantedPeople, status: 'active' }, attributes: ['id'], raw: true, transaction: t })).map((u) => u.id));
      for (const r of people) {
        const bad = ids(r.value).filter((id) => !ok.has(id));
        if (bad.length) errors.push({ path: r.path, message: `${r.field.label}：人员不存在或已停用（编号 ${bad.slice(0, 5).join('、')}）`, code: 'PERSON_UNKNOWN' });
      }
    }

    const depts = refsOf(form, value, previous, new Set(['department']));
    const wantedDepts = [...new Set(depts.flatMap((r) => ids(r.value)))];
    if (wantedDepts.length) {
      const ok = new Set((await Department.findAll({ where: { id: wantedDepts, enabled: true }, attributes: ['id'], raw: true, transaction: t })).map((d) => d.id));
      for (const r of depts) {
        const bad = ids(r.value).filter((id) => !ok.has(id));
        if (bad.length) errors.push({ path: r.path, message: `${r.field.label}：部门不存在或已停用（编号 ${bad.slice(0, 5).join('、')}）`, code: 'DEPT_UNKNOWN' });
      }
    }

    const fileRefs = refsOf(form, value, previous, new Set(['attachment', 'image', 'signature']));
    const wantedFiles = [...new Set(fileRefs.flatMap((r) => ids(r.value)))];
    if (wantedFiles.length) {
      const prevFiles = new Set<number>(previous ? allFileIds(form, previous) : []);
      const rows = await StoredFile.findAll({ where: { id: wantedFiles }, transaction: t });
      const byId = new Map(rows.map((f) => [f.id, f]));
      const usable = new Set<number>();
      for (const f of rows) {
        if (prevFiles.has(f.id)) usable.add(f.id);
        else if (f.uploaderId === user.id && (f.ownerType === null || f.ownerType === SUBMISSION_OWNER)) usable.add(f.id);
        else if (user.principal && (await this.files.readable(user.principal, f.id))) usable.add(f.id);
      }
      for (const r of fileRefs) {
        const list = ids(r.value);
        const bad = list.filter((id) => !usable.has(id));
        if (bad.length) {
          errors.push({ path: r.path, message: `${r.field.label}：文件不存在或无权使用（编号 ${bad.slice(0, 5).join('、')}）`, code: 'FILE_UNKNOWN' });
          continue;
        }
        if (r.field.type === 'image' || r.field.type === 'signature') {
          const notImage = list.filter((id) => !byId.get(id)!.mime.startsWith('image/'));
          if (notImage.length) errors.push({ path: r.path, message: `${r.field.label}：只能上传图片`, code: 'FILE_TYPE' });
        } else if (r.field.type === 'attachment' && r.field.accept?.length) {
          const accept = r.field.accept.map((a) => a.replace(/^\./, '').toLowerCase());
          const wrong = list.filter((id) => !accept.includes(byId.get(id)!.ext.toLowerCase()));
          if (wrong.length) errors.push({ path: r.path, message: `${r.field.label}：只接受 ${accept.join('、')} 文件`, code: 'FILE_TYPE' });
        }
      }
    }

    // Lookup columns of sub-tables (top-level lookups are resolved with their fill before validation).
    const lookups = refsOf(form, value, previous, new Set(['lookup'])).filter((r) => r.path.includes('['));
    const bySource = new Map<string, Ref[]>();
    for (const r of lookups) {
      const src = (r.field as Extract<ScalarField, { type: 'lookup' }>).source;
      (bySource.get(src) ?? bySource.set(src, []).get(src)!).push(r);
    }
    for (const [src, refs] of bySource) {
      const spec = await this.sources.find(src);
      if (!spec || !(await this.sources.mayRead(spec, user))) {
        for (const r of refs) errors.push({ path: r.path, message: `${r.field.label}：无法使用数据源“${src}”`, code: 'SOURCE_FORBIDDEN' });
        continue;
      }
      const found = await getRecords(spec, refs.map((r) => String(r.value)), user);
      for (const r of refs) if (!found.has(String(r.value))) errors.push({ path: r.path, message: `${r.field.label}：“${String(r.value).slice(0, 50)}”在${spec.name}中不存在`, code: 'LOOKUP_MISSING' });
    }
    return errors;
  }

  /** Files a submission names become the submission's (readable by whoever may read it). */
  async claimFiles(form: CompiledForm, value: Row, submissionId: number, uploaderId: number, t: Transaction): Promise<void> {
    const list = allFileIds(form, value);
    if (!list.length) return;
    await this.db.models.StoredFile.update({ ownerType: SUBMISSION_OWNER, ownerId: String(submissionId) }, { where: { id: list, ownerType: { [Op.is]: null }, uploaderId }, transaction: t });
  }
}

/** Every file id a value names. */
export function allFileIds(form: CompiledForm, value: Row): number[] {
  return [...new Set(refsOf(form, value, null, new Set(['attachment', 'image', 'signature'])).flatMap((r) => ids(r.value)))];
}
