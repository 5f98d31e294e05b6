import ExcelJS from 'exceljs';
import { SHEETS, columnLetter, type ColumnDef, type SheetDef } from './excel-format.ts';

/** One problem of an import file, where a person finds it in Excel. */
export interface ImportProblem {
  /** sheet name (部门 / 人员 / 角色), or '' for the file as a whole */
  sheet: string;
  /** 1-based Excel row; 0 for the file or the sheet as a whole */
  row: number;
  /** the column's header (工号 …), or '' */
  column: string;
  /** Excel address such as `C7` when one cell is meant */
  cell?: string;
  reason: string;
}

export type CellValue = string | number | null;

export interface ParsedRow<K extends string> {
  row: number;
  /** present columns only; null = blank cell */
  values: Partial<Record<K, CellValue>>;
  /** columns whose cell was unreadable (already reported): later checks skip them */
  bad: Set<K>;
}

export interface ParsedSheet<K extends string> {
  def: SheetDef<K>;
  /** the workbook has this sheet */
  present: boolean;
  /** the headers are right and the rows were read */
  usable: boolean;
  /** columns present in the sheet */
  columns: Set<K>;
  rows: ParsedRow<K>[];
  blankRows: number;
}

export interface ParsedWorkbook {
  sheets: ParsedSheet<string>[];
  problems: ImportProblem[];
}

/** Unzipped size allowed for an import file: far above any real organisation, far below a zip bomb. */
const MAX_UNZIPPED = 100 * 1024 * 1024;

/**
 * Check an xlsx (a zip) before handing it to exceljs, which inflates everything in memory: the
 * central directory states each entry's unzipped size. Returns a reason when the file is refused.
 */
export function checkZip(buf: Buffer): string | null {
  if (buf.length < 22 || buf.readUInt32LE(0) !== 0x04034b50) return '文件不是有效的 Excel 工作簿（.xlsx）；旧版 .xls 请先另存为 .xlsx';
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return '文件已损坏或不是有效的 Excel 工作簿（.xlsx）';
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  let total = 0;
  for (let i = 0; i < entries; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) return '文件已损坏或不是有效的 Excel 工作簿（.xlsx）';
    const size = buf.readUInt32LE(p + 24);
    if (size === 0xffffffff) return '文件解压后过大，无法导入';
    total += size;
    if (total > MAX_UNZIPPED) return `文件解压后超过 ${MAX_UNZIPPED / 1024 / 1024} MB，无法导入；请删除多余的工作表、格式和空行后重试`;
    p += 46 + buf.readUInt16LE(p + 28) + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return null;
}

type Read = { blank: true } | { blank?: false; value: CellValue } | { blank?: false; problem: string };

const pad = (n: number) => String(n).padStart(2, '0');
const showDate = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

/** A cell of a text column: text as typed; whole numbers (10023.0) as their digits. */
function readText(v: ExcelJS.CellValue, col: ColumnDef): Read {
  if (v === null || v === undefined) return { blank: true };
  if (typeof v === 'string') {
    const s = v.trim();
    return s ? { value: s } : { blank: true };
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { problem: `「${col.header}」应填文本，单元格不是有效的数字` };
    if (!Number.isInteger(v)) return { problem: `「${col.header}」应填文本，单元格是小数 ${v}；请把该列设为文本格式后重新填写` };
    if (!Number.isSafeInteger(v)) return { problem: `「${col.header}」是位数过多的数字，Excel 已丢失精度；请把该列设为文本格式后重新填写` };
    return { value: String(v) };
  }
  if (typeof v === 'boolean') return { problem: `「${col.header}」应填文本，单元格是逻辑值 ${v ? 'TRUE' : 'FALSE'}` };
  if (v instanceof Date) {
    return { problem: `「${col.header}」应填文本，单元格是日期（${Number.isNaN(v.getTime()) ? '无效日期' : showDate(v)}）；请把该列设为文本格式后重新填写` };
  }
  if ('richText' in v && Array.isArray(v.richText)) return readText(v.richText.map((r) => r.text).join(''), col);
  if ('hyperlink' in v && 'text' in v) return readText(v.text as ExcelJS.CellValue, col);
  if ('formula' in v || 'sharedFormula' in v) {
    const result = (v as { result?: unknown }).result;
    if (result === undefined) return { problem: `「${col.header}」是没有计算结果的公式，请改为直接填写值` };
    if (typeof result === 'object' && result !== null && 'error' in result) return { problem: `「${col.header}」的公式结果是错误值 ${String(result.error)}` };
    return readText(result as ExcelJS.CellValue, col);
  }
  if ('error' in v) return { problem: `「${col.header}」是错误值 ${String(v.error)}` };
  return { problem: `「${col.header}」的单元格内容无法识别` };
}

/** A cell of a whole-number column (排序): a number or digits. */
function readInt(v: ExcelJS.CellValue, col: ColumnDef): Read {
  if (v instanceof Date) return { problem: `「${col.header}」应填整数，单元格是日期（${showDate(v)}）` };
  const r = typeof v === 'number' ? ({ value: v } as Read) : readText(v, col);
  if ('problem' in r || r.blank) return r;
  const n = typeof r.value === 'number' ? r.value : /^\d{1,9}$/.test(String(r.value)) ? Number(r.value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000) return { problem: `「${col.header}」应填 0 到 1000000 之间的整数，单元格是「${r.value}」` };
  return { value: n };
}

/** Header text as the person may have typed it: `工号*`, `工号（必填）`, spaces. */
const headerKey = (s: string) =>
  s
    .normalize('NFKC')
    .replace(/\s+/g, '')
    .replace(/[*]|\(必填\)$/g, '');

interface MergeModel {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

function mergesOf(ws: ExcelJS.Worksheet): MergeModel[] {
  // exceljs keeps merges as Range objects in `_merges`; the public `model` getter would serialise
  // the whole sheet just to list them.
  const raw = (ws as unknown as { _merges?: Record<string, { model: MergeModel }> })._merges;
  if (raw) return Object.values(raw).map((r) => r.model);
  return (ws.model.merges ?? []).map((a) => {
    const [tl, br] = a.split(':');
    const at = (x: string) => ws.getCell(x);
    return { top: Number(at(tl!).row), left: Number(at(tl!).col), bottom: Number(at(br ?? tl!).row), right: Number(at(br ?? tl!).col) };
  });
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * Read the three sheets: headers checked, every cell of the known columns read by its column's
 * type, blank rows skipped without a word, a sheet with more rows than its limit refused as a whole.
 */
export async function readWorkbook(buf: Buffer, onRows?: (rowsRead: number) => void): Promise<ParsedWorkbook> {
  const problems: ImportProblem[] = [];
  const refused = checkZip(buf);
  if (refused) return { sheets: [], problems: [{ sheet: '', row: 0, column: '', reason: refused }] };
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ExcelJS.Buffer);
  } catch {
    return { sheets: [], problems: [{ sheet: '', row: 0, column: '', reason: '无法读取文件：文件已损坏或不是有效的 Excel 工作簿（.xlsx）' }] };
  }
  const sheets: ParsedSheet<string>[] = [];
  let rowsRead = 0;
  for (const def of SHEETS as readonly SheetDef[]) {
    const ws = wb.worksheets.find((w) => w.name.trim() === def.name);
    const sheet: ParsedSheet<string> = { def, present: !!ws, usable: false, columns: new Set(), rows: [], blankRows: 0 };
    sheets.push(sheet);
    if (!ws) continue;
    const here = (row: number, column: string, reason: string, col?: number): ImportProblem => ({
      sheet: def.name,
      row,
      column,
      ...(col ? { cell: `${columnLetter(col)}${row}` } : {}),
      reason,
    });

    // headers: row 1, matched by name in any order
    const byHeader = new Map(def.columns.map((c) => [c.header, c]));
    const at = new Map<string, number>();
    const header = ws.getRow(1);
    let headerProblems = 0;
    header.eachCell((cell, colNo) => {
      const r = readText(cell.value, { header: `第 ${colNo} 列列名` } as ColumnDef);
      if (r.blank) return;
      const text = 'value' in r ? String(r.value) : '';
      const c = byHeader.get(headerKey(text));
      if (!c) {
        problems.push(here(1, text, `无法识别的列名「${text}」；请使用模板中的列名（${def.columns.map((x) => x.header).join('、')}）`, colNo));
        headerProblems++;
      } else if (at.has(c.key)) {
        problems.push(here(1, c.header, `列「${c.header}」出现了两次（${columnLetter(at.get(c.key)!)} 列和 ${columnLetter(colNo)} 列）`, colNo));
        headerProblems++;
      } else {
        at.set(c.key, colNo);
      }
    });
    const hasData = ws.actualRowCount > 1 || at.size > 0;
    if (!hasData && headerProblems === 0) continue; // an empty sheet: nothing to import from it
    for (const c of def.columns) {
      if (c.required && !at.has(c.key)) {
        problems.push(here(1, c.header, at.size === 0 && headerProblems === 0 ? `第 1 行应为列名，缺少必填列「${c.header}」` : `缺少必填列「${c.header}」`));
        headerProblems++;
      }
    }
    // merged cells anywhere a value is read (headers included) make the layout ambiguous
    const merged = new Set<number>();
    for (const m of mergesOf(ws)) {
      problems.push(
        here(
          m.top,
          '',
          `${columnLetter(m.left)}${m.top}:${columnLetter(m.right)}${m.bottom} 是合并单元格；导入文件不能有合并单元格，请取消合并并在每个单元格中填写完整的值`,
          m.left,
        ),
      );
      for (let r = m.top; r <= m.bottom; r++) merged.add(r);
    }
    if (headerProblems) continue;
    sheet.usable = true;
    sheet.columns = new Set(at.keys());
    const cols = def.columns.filter((c) => at.has(c.key)).map((c) => [c, at.get(c.key)!] as const);

    let count = 0;
    let over = false;
    const rowNumbers: number[] = [];
    ws.eachRow((_row, n) => {
      if (n > 1) rowNumbers.push(n);
    });
    for (let i = 0; i < rowNumbers.length; i++) {
      const n = rowNumbers[i]!;
      const row = ws.getRow(n);
      if (++rowsRead % 2000 === 0) {
        onRows?.(rowsRead);
        await tick();
      }
      const values: Partial<Record<string, CellValue>> = {};
      const bad = new Set<string>();
      const rowProblems: ImportProblem[] = [];
      let filled = false;
      for (const [c, colNo] of cols) {
        const v = row.getCell(colNo).value;
        const r = c.type === 'int' ? readInt(v, c) : readText(v, c);
        if ('problem' in r) {
          filled = true;
          bad.add(c.key);
          rowProblems.push(here(n, c.header, r.problem, colNo));
        } else if (r.blank) {
          values[c.key] = null;
        } else {
          filled = true;
          if (c.max !== undefined && String(r.value).length > c.max) {
            bad.add(c.key);
            rowProblems.push(here(n, c.header, `「${c.header}」最长 ${c.max} 个字符，这里有 ${String(r.value).length} 个`, colNo));
          }
          values[c.key] = r.value;
        }
      }
      if (!filled) {
        sheet.blankRows++;
        continue;
      }
      if (++count > def.maxRows) {
        over = true;
        problems.push(here(n, '', `「${def.name}」表的数据超过 ${def.maxRows} 行的上限；请分成几个文件分批导入`));
        break;
      }
      problems.push(...rowProblems);
      // a merged row's values are not what the person sees: the merge is reported, not the values
      if (merged.has(n)) for (const c of cols) bad.add(c[0].key);
      sheet.rows.push({ row: n, values, bad });
    }
    if (over) {
      sheet.usable = false;
      sheet.rows = [];
    }
  }
  if (!sheets.some((s) => s.present)) {
    problems.push({ sheet: '', row: 0, column: '', reason: `文件中没有「部门」「人员」「角色」中的任何一张工作表；请使用导入模板（工作表：${wb.worksheets.map((w) => w.name).join('、') || '无'}）` });
  }
  onRows?.(rowsRead);
  return { sheets, problems };
}
