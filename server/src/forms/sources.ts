import ExcelJS from 'exceljs';
import { Op, inUnitOfWork, type Actor, type DataSourceColumn, type Database } from '@oa/db';
import type { Clock } from '../clock.ts';
import type { AccessService } from '../access/grants.ts';
import { badRequest, conflict, forbidden, notFound, type FieldError } from '../http/errors.ts';
import { checkZip } from '../org/excel-read.ts';
import { InputError, normalizeDate, normalizeMoney, normalizeNumber, toHalfWidth } from './normalize.ts';

/**
 * Data sources of lookup fields (issue 5 item 4, R16.7). Every source is a server-side definition:
 *   - a table of the system, registered in code (departments, people), exposing chosen columns only;
 *   - an Excel sheet imported by a designer, stored as rows (`form_data_source_row`);
 *   - a service function registered by a module (`register({ kind: 'service', … })`).
 * Never SQL typed by an admin. A lookup reads one record by its key; a search lists candidates by
 * key or label. Who may read a source: everyone signed in (`all`), or people with a `view` grant on
 * the resource `form_source:<key>` (`grant`).
 */

export type SourceRecord = Record<string, string | number | null>;

export interface SourceUser {
  id: number;
}

export interface DataSourceSpec {
  key: string;
  name: string;
  kind: 'table' | 'sheet' | 'service';
  columns: DataSourceColumn[];
  keyColumn: string;
  labelColumn: string | null;
  audience: 'all' | 'grant';
  get(key: string, user: SourceUser): Promise<SourceRecord | null>;
  /** Several keys at once (submit-time checks); defaults to get() per key. */
  getMany?(keys: string[], user: SourceUser): Promise<Map<string, SourceRecord>>;
  search(q: string, limit: number, user: SourceUser): Promise<SourceRecord[]>;
}

export const SOURCE_RESOURCE = 'form_source';
const KEY_RE = /^[a-z][a-z0-9_.-]{0,63}$/;
const COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const MAX_SOURCE_ROWS = 50_000;

export class DataSourceRegistry {
  private readonly code = new Map<string, DataSourceSpec>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly access: AccessService,
  ) {
    this.register(departmentsSource(db));
    this.register(peopleSource(db));
  }

  /** Modules register table and service sources at start-up. */
  register(spec: DataSourceSpec): void {
    if (!KEY_RE.test(spec.key)) throw new Error(`data source key ${spec.key}`);
    this.code.set(spec.key, spec);
  }

  /** A source by key (code-registered first, then imported sheets), or null. */
  async find(key: string): Promise<DataSourceSpec | null> {
    const c = this.code.get(key);
    if (c) return c;
    const row = await this.db.models.FormDataSource.findOne({ where: { key } });
    return row ? sheetSource(this.db, row) : null;
  }

  async list(): Promise<Array<Omit<DataSourceSpec, 'get' | 'getMany' | 'search'> & { rowCount?: number; id?: number }>> {
    const out: Array<Omit<DataSourceSpec, 'get' | 'getMany' | 'search'> & { rowCount?: number; id?: number }> = [];
    for (const s of this.code.values()) out.push(describe(s));
    for (const r of await this.db.models.FormDataSource.findAll({ order: [['key', 'ASC']] })) out.push({ ...describe(sheetSource(this.db, r)), id: r.id, rowCount: r.rowCount });
    return out;
  }

  /** May this person read the source? */
  async mayRead(spec: DataSourceSpec, user: SourceUser): Promise<boolean> {
    if (spec.audience === 'all') return true;
    return this.access.can(user.id, 'view', { type: SOURCE_RESOURCE, id: spec.key });
  }

  /** The source, if it exists and the person may read it; 404 and 403 otherwise. */
  async readable(key: string, user: SourceUser): Promise<DataSourceSpec> {
    const s = await this.find(key);
    if (!s) throw notFound(`数据源“${key}”不存在`);
    if (!(await this.mayRead(s, user))) throw forbidden(`无权使用数据源“${s.name}”`, 'SOURCE_FORBIDDEN');
    return s;
  }

  /**
   * Create or replace an imported sheet source (R16.7): rows from an xlsx (first sheet, headers in
   * row 1) or given directly. All rows are checked first; nothing is stored when any is wrong.
   */
  async importSheet(
    actor: Actor,
    input: { key: string; name: string; keyColumn: string; labelColumn?: string | null; audience?: 'all' | 'grant'; columns: Array<DataSourceColumn & { header?: string }>; xlsx?: Buffer; rows?: Array<Record<string, unknown>> },
    replace: boolean,
  ): Promise<{ id: number; key: string; rowCount: number }> {
    if (this.code.has(input.key)) throw conflict(`数据源“${input.key}”是系统内置数据源，不能导入`, 'SOURCE_BUILTIN');
    const columns = input.columns;
    const errors: FieldError[] = [];
    const seen = new Set<string>();
    columns.forEach((c, i) => {
      if (!COLUMN_RE.test(c.key)) errors.push({ path: `columns[${i}].key`, message: '列标识只能由字母、数字和下划线组成' });
      if (seen.has(c.key)) errors.push({ path: `columns[${i}].key`, message: `列标识“${c.key}”重复` });
      seen.add(c.key);
    });
    if (!seen.has(input.keyColumn)) errors.push({ path: 'keyColumn', message: `主键列“${input.keyColumn}”不在列定义中` });
    if (input.labelColumn && !seen.has(input.labelColumn)) errors.push({ path: 'labelColumn', message: `名称列“${input.labelColumn}”不在列定义中` });
    if (errors.length) throw badRequest('数据源定义有误', errors, 'SOURCE_INVALID');

    const raw = input.xlsx ? await readSheetRows(input.xlsx, columns) : (input.rows ?? []);
    if (raw.length > MAX_SOURCE_ROWS) throw badRequest(`数据源最多 ${MAX_SOURCE_ROWS} 行，提供了 ${raw.length} 行`, undefined, 'SOURCE_TOO_LARGE');
    const rows: Array<{ rowKey: string; label: string | null; data: SourceRecord }> = [];
    const keys = new Set<string>();
    raw.forEach((r, i) => {
      const rec: SourceRecord = {};
      for (const c of columns) {
        const v = r[c.key];
        try {
          rec[c.key] = convertCell(c, v);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          if (errors.length < 100) errors.push({ path: `rows[${i}].${c.key}`, message: `第 ${i + 2} 行“${c.label}”：${e.message}` });
        }
      }
      const k = rec[input.keyColumn];
      if (k === null || k === undefined || String(k).trim() === '') {
        if (errors.length < 100) errors.push({ path: `rows[${i}].${input.keyColumn}`, message: `第 ${i + 2} 行缺少主键` });
        return;
      }
      const key = String(k).slice(0, 191);
      if (keys.has(key) && errors.length < 100) errors.push({ path: `rows[${i}].${input.keyColumn}`, message: `第 ${i + 2} 行的主键“${key}”重复` });
      keys.add(key);
      const label = input.labelColumn ? rec[input.labelColumn] : null;
      rows.push({ rowKey: key, label: label === null || label === undefined ? null : String(label).slice(0, 255), data: rec });
    });
    if (errors.length) throw badRequest('数据源内容有误，未导入任何数据', errors, 'SOURCE_ROWS_INVALID');

    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const { FormDataSource, FormDataSourceRow } = this.db.models;
      const existing = await FormDataSource.findOne({ where: { key: input.key }, transaction: uow.t, lock: uow.t.LOCK.UPDATE });
      if (existing && !replace) throw conflict(`数据源“${input.key}”已存在`, 'SOURCE_TAKEN');
      if (!existing && replace) throw notFound(`数据源“${input.key}”不存在`);
      const fields = { name: input.name, columns: columns.map(({ key, label, type }) => ({ key, label, type })), keyColumn: input.keyColumn, labelColumn: input.labelColumn ?? null, audience: input.audience ?? 'all', rowCount: rows.length };
      let id: number;
      if (existing) {
        await existing.update(fields, { transaction: uow.t });
        await FormDataSourceRow.destroy({ where: { sourceId: existing.id }, transaction: uow.t });
        id = existing.id;
      } else {
        id = (await FormDataSource.create({ key: input.key, ...fields, createdBy: actor.id ?? null }, { transaction: uow.t })).id;
      }
      for (let i = 0; i < rows.length; i += 500) {
        await FormDataSourceRow.bulkCreate(rows.slice(i, i + 500).map((r) => ({ ...r, sourceId: id })), { transaction: uow.t });
      }
      uow.audit({ action: existing ? 'form.source.reimport' : 'form.source.import', objectType: SOURCE_RESOURCE, objectId: input.key, detail: { name: input.name, rows: rows.length } });
      return { id, key: input.key, rowCount: rows.length };
    });
  }
}

function describe(s: DataSourceSpec) {
  return { key: s.key, name: s.name, kind: s.kind, columns: s.columns, keyColumn: s.keyColumn, labelColumn: s.labelColumn, audience: s.audience };
}

/** A cell of an imported sheet by its column type; money is stored in fen (a sheet holds yuan). */
function convertCell(c: DataSourceColumn, v: unknown): string | number | null {
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) return null;
  switch (c.type) {
    case 'number':
      return normalizeNumber(v, 6);
    case 'money':
      return normalizeMoney(typeof v === 'number' ? v.toFixed(2) : v);
    case 'date':
      if (v instanceof Date) return v.toISOString().slice(0, 10);
      return normalizeDate(v);
    default:
      if (v instanceof Date) return v.toISOString().slice(0, 10);
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      if (typeof v !== 'string') throw new InputError('不是文本');
      return toHalfWidth(v).trim().slice(0, 1000);
  }
}

/** The plain value of an exceljs cell (formula results, rich text, hyperlinks). */
function cellValue(v: ExcelJS.CellValue): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || v instanceof Date) return v;
  if ('richText' in v && Array.isArray(v.richText)) return v.richText.map((r) => r.text).join('');
  if ('hyperlink' in v && 'text' in v) return cellValue(v.text as ExcelJS.CellValue);
  if ('result' in v) return cellValue((v as { result?: ExcelJS.CellValue }).result ?? null);
  if ('error' in v) return null;
  return null;
}

/** Rows of the first sheet as { columnKey: value }, matching headers to `columns[].header ?? label`. */
async function readSheetRows(buf: Buffer, columns: Array<DataSourceColumn & { header?: string }>): Promise<Array<Record<string, unknown>>> {
  const bad = checkZip(buf);
  if (bad) throw badRequest(bad, undefined, 'SOURCE_FILE_INVALID');
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
  } catch {
    throw badRequest('文件不是有效的 Excel 工作簿（.xlsx）', undefined, 'SOURCE_FILE_INVALID');
  }
  const ws = wb.worksheets[0];
  if (!ws) throw badRequest('工作簿中没有工作表', undefined, 'SOURCE_FILE_INVALID');
  const norm = (s: unknown) => String(s ?? '').normalize('NFKC').replace(/\s+/g, '');
  const headerAt = new Map<string, number>();
  ws.getRow(1).eachCell((cell, col) => headerAt.set(norm(cellValue(cell.value)), col));
  const colOf = new Map<string, number>();
  const missing: FieldError[] = [];
  columns.forEach((c, i) => {
    const at = headerAt.get(norm(c.header ?? c.label));
    if (at === undefined) missing.push({ path: `columns[${i}].header`, message: `表头中没有“${c.header ?? c.label}”列` });
    else colOf.set(c.key, at);
  });
  if (missing.length) throw badRequest('Excel 表头与列定义不符', missing, 'SOURCE_HEADERS');
  if (ws.rowCount > MAX_SOURCE_ROWS + 1) throw badRequest(`数据源最多 ${MAX_SOURCE_ROWS} 行`, undefined, 'SOURCE_TOO_LARGE');
  const out: Array<Record<string, unknown>> = [];
  for (let r = 2; r <= ws.rowCount; r++) {
    const row = ws.getRow(r);
    const rec: Record<string, unknown> = {};
    let blank = true;
    for (const [k, col] of colOf) {
      const v = cellValue(row.getCell(col).value);
      if (v !== null && v !== '') blank = false;
      rec[k] = v;
    }
    if (!blank) out.push(rec);
  }
  return out;
}

function sheetSource(db: Database, row: { key: string; name: string; columns: DataSourceColumn[]; keyColumn: string; labelColumn: string | null; audience: string; id: number }): DataSourceSpec {
  const { FormDataSourceRow } = db.models;
  const sourceId = row.id;
  return {
    key: row.key,
    name: row.name,
    kind: 'sheet',
    columns: row.columns,
    keyColumn: row.keyColumn,
    labelColumn: row.labelColumn,
    audience: row.audience === 'grant' ? 'grant' : 'all',
    async get(key) {
      const r = await FormDataSourceRow.findOne({ where: { sourceId, rowKey: key } });
      return r ? (r.data as SourceRecord) : null;
    },
    async getMany(keys) {
      const rows = keys.length ? await FormDataSourceRow.findAll({ where: { sourceId, rowKey: keys } }) : [];
      return new Map(rows.map((r) => [r.rowKey, r.data as SourceRecord]));
    },
    async search(q, limit) {
      const rows = await FormDataSourceRow.findAll({
        where: q ? { sourceId, [Op.or]: [{ rowKey: { [Op.startsWith]: q } }, { label: { [Op.substring]: q } }] } : { sourceId },
        order: [['rowKey', 'ASC']],
        limit,
      });
      return rows.map((r) => r.data as SourceRecord);
    },
  };
}

/** Departments (enabled ones) by code: id, code, name. */
function departmentsSource(db: Database): DataSourceSpec {
  const attrs = ['id', 'code', 'name'] as const;
  const rec = (d: { id: number; code: string; name: string }): SourceRecord => ({ id: d.id, code: d.code, name: d.name });
  return {
    key: 'departments',
    name: '部门',
    kind: 'table',
    columns: [
      { key: 'id', label: '部门编号', type: 'number' },
      { key: 'code', label: '部门编码', type: 'text' },
      { key: 'name', label: '部门名称', type: 'text' },
    ],
    keyColumn: 'code',
    labelColumn: 'name',
    audience: 'all',
    async get(key) {
      const d = await db.models.Department.findOne({ where: { code: key, enabled: true }, attributes: [...attrs], raw: true });
      return d ? rec(d) : null;
    },
    async search(q, limit) {
      const rows = await db.models.Department.findAll({
        where: { enabled: true, ...(q ? { [Op.or]: [{ code: { [Op.startsWith]: q } }, { name: { [Op.substring]: q } }] } : {}) },
        attributes: [...attrs],
        order: [['code', 'ASC']],
        limit,
        raw: true,
      });
      return rows.map(rec);
    },
  };
}

/** Active people by employee number: id, employee number, name, department. No contact details. */
function peopleSource(db: Database): DataSourceSpec {
  const attrs = ['id', 'employeeNo', 'name', 'deptId'] as const;
  const withDept = async (users: Array<{ id: number; employeeNo: string | null; name: string; deptId: number | null }>): Promise<SourceRecord[]> => {
    const deptIds = [...new Set(users.map((u) => u.deptId).filter((x): x is number => x !== null))];
    const depts = deptIds.length ? await db.models.Department.findAll({ where: { id: deptIds }, attributes: ['id', 'name'], raw: true }) : [];
    const name = new Map(depts.map((d) => [d.id, d.name]));
    return users.map((u) => ({ id: u.id, employeeNo: u.employeeNo, name: u.name, deptId: u.deptId, deptName: u.deptId ? (name.get(u.deptId) ?? null) : null }));
  };
  return {
    key: 'people',
    name: '人员',
    kind: 'table',
    columns: [
      { key: 'id', label: '人员编号', type: 'number' },
      { key: 'employeeNo', label: '工号', type: 'text' },
      { key: 'name', label: '姓名', type: 'text' },
      { key: 'deptId', label: '部门编号', type: 'number' },
      { key: 'deptName', label: '部门', type: 'text' },
    ],
    keyColumn: 'employeeNo',
    labelColumn: 'name',
    audience: 'all',
    async get(key) {
      const u = await db.models.User.findOne({ where: { employeeNo: key, status: 'active' }, attributes: [...attrs], raw: true });
      return u ? (await withDept([u]))[0]! : null;
    },
    async search(q, limit) {
      const users = await db.models.User.findAll({
        where: { status: 'active', employeeNo: { [Op.ne]: null }, ...(q ? { [Op.or]: [{ employeeNo: { [Op.startsWith]: q } }, { name: { [Op.startsWith]: q } }] } : {}) },
        attributes: [...attrs],
        order: [['employeeNo', 'ASC']],
        limit,
        raw: true,
      });
      return withDept(users);
    },
  };
}

/** Records for several keys through a source (getMany when it has one). */
export async function getRecords(spec: DataSourceSpec, keys: string[], user: SourceUser): Promise<Map<string, SourceRecord>> {
  const uniq = [...new Set(keys)];
  if (spec.getMany) return spec.getMany(uniq, user);
  const out = new Map<string, SourceRecord>();
  for (const k of uniq) {
    const r = await spec.get(k, user);
    if (r) out.set(k, r);
  }
  return out;
}
