import ExcelJS from 'exceljs';
import type { Database } from '@oa/db';
import { zodFieldErrors } from '../http/validate.ts';
import { checkZip } from './excel-read.ts';
import { BOOK_MAX, type EntryInput, type EntryView } from './address-book.ts';
import { entryCreate } from './address-book-schemas.ts';

/**
 * Address book workbooks (issue 3 item 9, R11): the template, the export of a personal or shared
 * book, and the import's reader. One sheet, 联系人, in the same columns for all three, so an export
 * imports back into another book. A row with 院内工号 refers to that internal person (their
 * details stay current); its other contact columns are then only for reading and are ignored.
 * Rows are checked with the same schema as the API's requests; problems name row and column.
 */

export const ADDRESS_BOOK_IMPORT_MAX_BYTES = 5 * 1024 * 1024;
export const SHEET = '联系人';

type Key = 'name' | 'organisation' | 'title' | 'phones' | 'email' | 'tags' | 'note' | 'employeeNo';

const COLUMNS: { key: Key; header: string; width: number; required: boolean; note: string }[] = [
  { key: 'name', header: '姓名', width: 14, required: true, note: '必填（填写院内工号时可空）' },
  { key: 'organisation', header: '单位', width: 28, required: false, note: '单位或科室' },
  { key: 'title', header: '职务', width: 14, required: false, note: '职务或职称' },
  { key: 'phones', header: '电话', width: 36, required: false, note: '多个电话用分号分隔，类型写在冒号前，如：手机:13800000000；办公:020-12345678' },
  { key: 'email', header: '邮箱', width: 26, required: false, note: '' },
  { key: 'tags', header: '标签', width: 18, required: false, note: '多个标签用逗号分隔' },
  { key: 'note', header: '备注', width: 30, required: false, note: '' },
  { key: 'employeeNo', header: '院内工号', width: 12, required: false, note: '填写时引用该院内人员，其姓名、电话等随人员信息自动更新，本行其余联系方式列不导入' },
];

export interface ImportRow {
  /** 1-based Excel row */
  row: number;
  input: EntryInput;
  /** field path (name, phones …, personId) → column header, for problems found later */
  columnOf: Record<string, string>;
}

export interface SheetProblem {
  row: number;
  column: string;
  reason: string;
}

function newWorkbook(): ExcelJS.Workbook {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'OA';
  wb.created = new Date(Date.UTC(2026, 0, 1));
  wb.modified = wb.created;
  return wb;
}

function addSheet(wb: ExcelJS.Workbook, rows: (string | null)[][]): void {
  const ws = wb.addWorksheet(SHEET, { views: [{ state: 'frozen', ySplit: 1 }] });
  // text format everywhere: Excel keeps phone numbers and 工号 00123 as typed
  ws.columns = COLUMNS.map((c) => ({ header: c.header, key: c.key, width: c.width, style: { numFmt: '@' } }));
  const head = ws.getRow(1);
  head.font = { bold: true };
  COLUMNS.forEach((c, i) => {
    const cell = head.getCell(i + 1);
    cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: c.required ? 'FFFFE0B2' : 'FFE3F2FD' } };
    if (c.note) cell.note = c.note;
  });
  for (const r of rows) ws.addRow(r);
}

function addGuide(wb: ExcelJS.Workbook): void {
  const ws = wb.addWorksheet('说明');
  ws.columns = [
    { header: '列', key: 'col', width: 12 },
    { header: '说明', key: 'note', width: 80 },
  ];
  ws.getRow(1).font = { bold: true };
  for (const c of COLUMNS) ws.addRow([c.header, c.note]);
  ws.addRow([]);
  ws.addRow(['', '第 1 行是列名，数据从第 2 行开始；导入只会新增联系人，不会修改或删除已有联系人。']);
  ws.addRow(['', '请先「试导入」检查，所有问题按行、列列出；正式导入要么全部成功，要么什么都不改。']);
}

export async function templateWorkbook(): Promise<Buffer> {
  const wb = newWorkbook();
  addSheet(wb, []);
  addGuide(wb);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const phonesText = (e: EntryView) => e.phones.map((p) => `${p.label}:${p.number}`).join('；') || null;

/** A book's entries in the import's columns (internal people with their current details). */
export async function entriesWorkbook(entries: EntryView[]): Promise<Buffer> {
  const wb = newWorkbook();
  addSheet(
    wb,
    entries.map((e) => [
      e.name,
      e.organisation,
      e.title,
      phonesText(e),
      e.email,
      e.tags.join(',') || null,
      e.note,
      e.person && e.person.active ? e.person.employeeNo : null,
    ]),
  );
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** A cell as text: numbers as their digits, rich text and hyperlinks as their text, formulas by result. */
function cellText(v: ExcelJS.CellValue): { text: string | null } | { problem: string } {
  if (v === null || v === undefined) return { text: null };
  if (typeof v === 'string') return { text: v.trim() || null };
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) return { problem: '单元格是小数或位数过多的数字，请把该列设为文本格式后重新填写' };
    return { text: String(v) };
  }
  if (typeof v === 'boolean') return { problem: '单元格是逻辑值，应填文本' };
  if (v instanceof Date) return { problem: '单元格是日期，应填文本' };
  if ('richText' in v && Array.isArray(v.richText)) return cellText(v.richText.map((r) => r.text).join(''));
  if ('hyperlink' in v && 'text' in v) return cellText(v.text as ExcelJS.CellValue);
  if ('formula' in v || 'sharedFormula' in v) {
    const result = (v as { result?: unknown }).result;
    if (result === undefined || (typeof result === 'object' && result !== null && 'error' in result)) return { problem: '公式没有有效的计算结果，请改为直接填写值' };
    return cellText(result as ExcelJS.CellValue);
  }
  return { problem: '单元格内容无法识别' };
}

const headerKey = (s: string) =>
  s
    .normalize('NFKC')
    .replace(/\s+/g, '')
    .replace(/[*]|\(必填\)$/g, '');

/** `手机:138…；办公:020-…`: label before a colon (default 电话), separated by semicolons or new lines. */
function parsePhones(s: string): { label: string; number: string }[] {
  return s
    .split(/[;；\n]+/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const m = /^([^:：]{1,40})[:：](.+)$/.exec(p);
      return m ? { label: m[1]!.trim(), number: m[2]!.trim() } : { label: '电话', number: p };
    });
}

/** Read the 联系人 sheet: every row checked like an API request; problems by row and column. */
export async function readEntriesWorkbook(db: Database, buf: Buffer): Promise<{ rows: ImportRow[]; problems: SheetProblem[]; dataRows: number }> {
  const problems: SheetProblem[] = [];
  const bad = checkZip(buf);
  if (bad) return { rows: [], problems: [{ row: 0, column: '', reason: bad }], dataRows: 0 };
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
  } catch {
    return { rows: [], problems: [{ row: 0, column: '', reason: '文件已损坏或不是有效的 Excel 工作簿（.xlsx）' }], dataRows: 0 };
  }
  const ws = wb.getWorksheet(SHEET) ?? wb.worksheets[0];
  if (!ws) return { rows: [], problems: [{ row: 0, column: '', reason: `工作簿中没有「${SHEET}」工作表` }], dataRows: 0 };
  const at = new Map<Key, number>();
  ws.getRow(1).eachCell((cell, colNo) => {
    const t = cellText(cell.value);
    if (!('text' in t) || !t.text) return;
    const c = COLUMNS.find((x) => x.header === headerKey(t.text!));
    if (!c) return;
    if (at.has(c.key)) problems.push({ row: 1, column: c.header, reason: `「${c.header}」列出现了不止一次` });
    else at.set(c.key, colNo);
  });
  if (!at.has('name')) problems.push({ row: 1, column: '姓名', reason: '缺少「姓名」列（第 1 行应为列名，请使用导入模板）' });
  if (problems.length) return { rows: [], problems, dataRows: 0 };

  const raw: { row: number; values: Partial<Record<Key, string | null>> }[] = [];
  for (let r = 2; r <= ws.rowCount; r++) {
    const row = ws.getRow(r);
    const values: Partial<Record<Key, string | null>> = {};
    let blank = true;
    for (const [key, colNo] of at) {
      const t = cellText(row.getCell(colNo).value);
      if ('problem' in t) {
        problems.push({ row: r, column: COLUMNS.find((c) => c.key === key)!.header, reason: t.problem });
        blank = false;
        continue;
      }
      values[key] = t.text;
      if (t.text !== null) blank = false;
    }
    if (!blank) raw.push({ row: r, values });
  }
  if (raw.length > BOOK_MAX) return { rows: [], problems: [{ row: 0, column: '', reason: `一次最多导入 ${BOOK_MAX} 行，文件中有 ${raw.length} 行` }], dataRows: raw.length };

  // employee numbers → people, in one query
  const numbers = [...new Set(raw.map((x) => x.values.employeeNo).filter((x): x is string => !!x))];
  const people = numbers.length ? await db.models.User.findAll({ where: { employeeNo: numbers }, attributes: ['id', 'employeeNo'], raw: true }) : [];
  const idOf = new Map(people.map((p) => [p.employeeNo!.normalize('NFKC').toLowerCase(), p.id]));

  const header = (k: Key) => COLUMNS.find((c) => c.key === k)!.header;
  const columnOf: Record<string, string> = {
    name: header('name'),
    organisation: header('organisation'),
    title: header('title'),
    phones: header('phones'),
    email: header('email'),
    tags: header('tags'),
    note: header('note'),
    personId: header('employeeNo'),
  };
  const rows: ImportRow[] = [];
  for (const { row, values } of raw) {
    const v = values;
    let candidate: Record<string, unknown>;
    if (v.employeeNo) {
      const personId = idOf.get(v.employeeNo.normalize('NFKC').toLowerCase());
      if (personId === undefined) {
        problems.push({ row, column: header('employeeNo'), reason: `院内工号「${v.employeeNo}」不存在` });
        continue;
      }
      candidate = { personId, ...(v.tags ? { tags: v.tags.split(/[,，、]/).map((t) => t.trim()).filter(Boolean) } : {}), ...(v.note ? { note: v.note } : {}) };
    } else {
      if (!v.name) {
        problems.push({ row, column: header('name'), reason: '姓名不能为空（或填写院内工号）' });
        continue;
      }
      candidate = {
        name: v.name,
        organisation: v.organisation ?? null,
        title: v.title ?? null,
        phones: v.phones ? parsePhones(v.phones) : [],
        email: v.email ?? null,
        tags: v.tags ? v.tags.split(/[,，、]/).map((t) => t.trim()).filter(Boolean) : [],
        note: v.note ?? null,
      };
    }
    const parsed = entryCreate.safeParse(candidate);
    if (!parsed.success) {
      for (const e of zodFieldErrors(parsed.error)) problems.push({ row, column: columnOf[e.path.replace(/[[.].*$/, '')] ?? '', reason: e.message });
      continue;
    }
    rows.push({ row, input: parsed.data, columnOf });
  }
  return { rows, problems, dataRows: raw.length };
}
