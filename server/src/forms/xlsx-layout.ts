import ExcelJS from 'exceljs';
import { isForbiddenName } from '../expr/index.ts';
import { badRequest } from '../http/errors.ts';
import { checkZip } from '../org/excel-read.ts';
import { checkFormSchema } from './compile.ts';
import type { FormField, FormSchema, ScalarField } from './schema.ts';

/**
 * Excel import of a form layout (issue 5 item 7, R16.2): a paper form drawn in a worksheet (labels,
 * empty input cells, merged cells, an item table) becomes a draft form for the designer to refine.
 *
 * Reading the sheet: every cell not covered by a merge is a block (its merge gives the width and
 * height). A block with text followed by an empty block is a label and its input; text with no
 * input beside it becomes a field on its own. A row of labels over rows that are empty (or only
 * numbered 1, 2, 3 in the first column) is an item table: a sub-table whose columns are the labels,
 * closed by a 合计 row (totals of its number and money columns). A single wide text block alone in a
 * row is the title (first one) or a section heading. Types are guessed from labels (日期 → date,
 * 金额/费用 → money, 数量 → number, 备注/说明 → textarea, 部门/科室 → department, 姓名/申请人 →
 * person, □ choices → radio, otherwise text); spans come from the column widths.
 */

export interface LayoutImport {
  draft: FormSchema;
  /** What each field was read from: cell address, label, guessed type. */
  fields: Array<{ key: string; label: string; type: string; cell: string; table?: string }>;
  /** What was not imported or was guessed with doubt (Chinese, for the designer). */
  notes: string[];
}

const MAX_ROWS = 200;
const MAX_COLS = 40;
const MAX_BYTES = 5 * 1024 * 1024;

interface Block {
  row: number;
  col: number;
  rows: number;
  cols: number;
  text: string;
  address: string;
  /** formatted or typed as a date */
  dateLike: boolean;
}

const clean = (s: string) => s.replace(/\s+/g, ' ').trim();
/** A label without its colon, required star and alignment spaces (姓    名 → 姓名). */
const labelOf = (s: string) =>
  clean(s)
    .replace(/[:：]\s*$/, '')
    .replace(/^\*|\*$/g, '')
    .replace(/(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])/g, '')
    .trim();
const SEQ_HEADER = /^(序号|编号|No\.?|#)$/i;
const TOTAL_ROW = /^(合\s*计|小\s*计|总\s*计)/;
const CHOICE = /[□☐■☑✓]/;
const DATE_PLACEHOLDER = /^(\d{4})?\s*年\s*(\d{1,2})?\s*月\s*(\d{1,2})?\s*日$/;

function cellText(v: ExcelJS.CellValue): { text: string; date: boolean } {
  if (v === null || v === undefined) return { text: '', date: false };
  if (v instanceof Date) return { text: v.toISOString().slice(0, 10), date: true };
  if (typeof v !== 'object') return { text: String(v), date: false };
  if ('richText' in v && Array.isArray(v.richText)) return { text: v.richText.map((r) => r.text).join(''), date: false };
  if ('text' in v && 'hyperlink' in v) return cellText(v.text as ExcelJS.CellValue);
  if ('result' in v) return cellText((v as { result?: ExcelJS.CellValue }).result ?? null);
  return { text: '', date: false };
}

/** Blocks of the sheet by row, left to right (cells covered by a merge are skipped). */
function readBlocks(ws: ExcelJS.Worksheet, notes: string[]): { rows: Block[][]; widths: number[]; usedCols: number } {
  const lastRow = Math.min(ws.rowCount, MAX_ROWS);
  const lastCol = Math.min(ws.columnCount, MAX_COLS);
  if (ws.rowCount > MAX_ROWS) notes.push(`工作表超过 ${MAX_ROWS} 行，只读取了前 ${MAX_ROWS} 行`);
  if (ws.columnCount > MAX_COLS) notes.push(`工作表超过 ${MAX_COLS} 列，只读取了前 ${MAX_COLS} 列`);
  // merge extents by master cell (public API: isMerged, master)
  const extent = new Map<string, { r0: number; c0: number; r1: number; c1: number }>();
  for (let r = 1; r <= lastRow; r++) {
    for (let c = 1; c <= lastCol; c++) {
      const cell = ws.getCell(r, c);
      if (!cell.isMerged) continue;
      const m = cell.master;
      const e = extent.get(m.address) ?? { r0: Number(m.row), c0: Number(m.col), r1: r, c1: c };
      e.r1 = Math.max(e.r1, r);
      e.c1 = Math.max(e.c1, c);
      extent.set(m.address, e);
    }
  }
  const rows: Block[][] = [];
  let usedCols = 0;
  for (let r = 1; r <= lastRow; r++) {
    const out: Block[] = [];
    for (let c = 1; c <= lastCol; c++) {
      const cell = ws.getCell(r, c);
      if (cell.isMerged && cell.master.address !== cell.address) continue;
      const e = extent.get(cell.address);
      const { text, date } = cellText(cell.value);
      const fmt = cell.numFmt ?? '';
      const b: Block = { row: r, col: c, rows: e ? e.r1 - e.r0 + 1 : 1, cols: e ? e.c1 - e.c0 + 1 : 1, text: clean(text), address: cell.address, dateLike: date || /y{2}|d{1,2}[/-]|年.*月.*日/i.test(fmt) || DATE_PLACEHOLDER.test(clean(text)) };
      out.push(b);
    }
    // trailing empty cells without a border are not inputs; keep empties between texts
    while (out.length && !out[out.length - 1]!.text && !hasBorder(ws, out[out.length - 1]!)) out.pop();
    if (out.some((b) => b.text)) usedCols = Math.max(usedCols, ...out.map((b) => b.col + b.cols - 1));
    rows.push(out);
  }
  const widths = Array.from({ length: lastCol + 1 }, (_, c) => (c === 0 ? 0 : (ws.getColumn(c).width ?? 9)));
  return { rows, widths, usedCols };
}

function hasBorder(ws: ExcelJS.Worksheet, b: Block): boolean {
  const border = ws.getCell(b.row, b.col).border;
  return !!border && Object.values(border).some((x) => !!x && typeof x === 'object' && 'style' in x && !!x.style);
}

type Guess = ScalarField['type'];

/** The field type a label suggests (R16.2). */
export function guessType(text: string, input?: Block): Guess {
  const label = text.normalize('NFKC');
  if (/签字|签名/.test(label)) return 'signature';
  if (/日期|时间|年月日/.test(label) || input?.dateLike) return 'date';
  if (/备注|说明|事由|原因|意见|描述/.test(label)) return 'textarea';
  if (/(人|姓名)$/.test(label)) return 'person';
  if (/部门|科室/.test(label)) return 'department';
  if (/类别|类型|名称|编号|号码|电话|地址|摘要|用途|规格/.test(label)) return 'text';
  if (/金额|费用|单价|价格|总额|总计|合计|\(元\)|（元）|元$/.test(label)) return 'money';
  if (/数量|天数|人数|次数|张数|件数|个数|时长/.test(label)) return 'number';
  return 'text';
}

class Keys {
  private used = new Set<string>();
  of(label: string, fallback: string): string {
    let k = label.replace(/[^A-Za-z0-9_\u4e00-\u9fff]/g, '').slice(0, 60);
    if (!k || /^[0-9]/.test(k) || isForbiddenName(k)) k = fallback;
    let out = k;
    for (let i = 2; this.used.has(out); i++) out = `${k}${i}`;
    this.used.add(out);
    return out;
  }
}

function fieldOf(key: string, label: string, input: Block | undefined, required: boolean): ScalarField {
  const base = { key, label, ...(required ? { required: true } : {}) };
  if (input && CHOICE.test(input.text)) {
    const options = input.text
      .split(CHOICE)
      .map((s) => s.trim())
      .filter((s) => s && s.length <= 100);
    if (options.length >= 2) return { ...base, type: 'radio', options: [...new Set(options)].map((o) => ({ value: o, label: o })) };
  }
  const type = guessType(label, input);
  switch (type) {
    case 'money':
      return { ...base, type: 'money', min: 0 };
    case 'number':
      return { ...base, type: 'number', min: 0 };
    case 'textarea':
      return { ...base, type: 'textarea', maxLength: 2000 };
    case 'date':
    case 'person':
    case 'department':
    case 'signature':
      return { ...base, type };
    default:
      return { ...base, type: 'text', maxLength: 200 };
  }
}

const isEmptyRow = (row: Block[]) => row.every((b) => !b.text);
/** A block to fill in: empty, a date placeholder (  年  月  日) or choices (□事假 □病假). */
const isInput = (b: Block) => !b.text || CHOICE.test(b.text) || DATE_PLACEHOLDER.test(b.text);
/** A header row: at least two blocks, every one a label. */
const headerLike = (row: Block[]) => row.length >= 2 && row.every((b) => !isInput(b) && !/^\d+(\.\d+)?$/.test(b.text));
/** A body row of a table under `header`: the same columns (trailing borderless cells may be missing), empty but for a sequence number first. */
function bodyOf(row: Block[] | undefined, header: Block[]): boolean {
  if (!row || !row.length || row.length > header.length) return false;
  if (row.some((b, i) => b.col !== header[i]!.col || b.cols !== header[i]!.cols)) return false;
  if (TOTAL_ROW.test(row[0]!.text)) return false;
  return row.every((b, i) => !b.text || (i === 0 && /^\d{1,4}$/.test(b.text)));
}

/** Turn the first worksheet (or `sheet`) of an xlsx into a draft form (R16.2). */
export async function importLayout(buf: Buffer, opts: { sheet?: string; title?: string } = {}): Promise<LayoutImport> {
  if (buf.length > MAX_BYTES) throw badRequest(`表单样式文件不能超过 ${MAX_BYTES / 1024 / 1024} MB`, undefined, 'LAYOUT_FILE_INVALID');
  const bad = checkZip(buf);
  if (bad) throw badRequest(bad, undefined, 'LAYOUT_FILE_INVALID');
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
  } catch {
    throw badRequest('文件不是有效的 Excel 工作簿（.xlsx）', undefined, 'LAYOUT_FILE_INVALID');
  }
  const ws = opts.sheet ? wb.getWorksheet(opts.sheet) : wb.worksheets[0];
  if (!ws) throw badRequest(opts.sheet ? `工作簿中没有名为“${opts.sheet}”的工作表` : '工作簿中没有工作表', [{ path: 'sheet', message: '工作表不存在' }], 'LAYOUT_FILE_INVALID');

  const notes: string[] = [];
  const { rows, widths, usedCols } = readBlocks(ws, notes);
  const totalWidth = widths.slice(1, usedCols + 1).reduce((a, b) => a + b, 0) || 1;
  const spanOf = (col: number, cols: number) => Math.max(1, Math.min(24, Math.round((24 * widths.slice(col, col + cols).reduce((a, b) => a + b, 0)) / totalWidth)));
  const keys = new Keys();
  const fields: FormField[] = [];
  const report: LayoutImport['fields'] = [];
  type Section = { kind: 'group'; title?: string; rows: Array<Array<{ field: string; span?: number }>> };
  const sections: Section[] = [];
  let section: Section = { kind: 'group', rows: [] };
  let title = opts.title ?? '';
  let sawTitle = false;
  let heading: string | null = null;
  const covered = new Set<string>(); // inputs already used by a label above
  const add = (f: FormField, cell: string, table?: string) => {
    fields.push(f);
    report.push({ key: f.key, label: f.label, type: f.type, cell, ...(table ? { table } : {}) });
  };

  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!.filter((b) => !covered.has(b.address));
    if (!row.length || isEmptyRow(row)) continue;
    const texts = row.filter((b) => b.text);
    // a lone wide text: the title, then section headings (long lines are notes, not imported)
    if (texts.length === 1 && row.length === 1 && (row[0]!.cols >= Math.max(2, usedCols / 2) || usedCols <= 2)) {
      const t = labelOf(row[0]!.text);
      if (!sawTitle) {
        sawTitle = true;
        title ||= t.slice(0, 100);
      } else if (t.length <= 30 && !/^注|说明：/.test(t)) {
        if (section.rows.length) sections.push(section);
        section = { kind: 'group', title: t, rows: [] };
        heading = t;
      } else notes.push(`第 ${row[0]!.row} 行的说明文字未导入：“${t.slice(0, 40)}”`);
      continue;
    }
    // an item table: a header row over empty (or numbered) rows
    if (headerLike(row)) {
      let end = i + 1;
      while (end < rows.length && bodyOf(rows[end], row)) end++;
      const bodyRows = end - i - 1;
      if (bodyRows >= 2) {
        const tableLabel = heading ?? '明细';
        const tableKey = keys.of(heading ?? 'items', 'items');
        const colKeys = new Keys();
        const columns: ScalarField[] = [];
        const colAt = new Map<number, ScalarField>();
        row.forEach((b, ci) => {
          const label = labelOf(b.text);
          if (ci === 0 && SEQ_HEADER.test(label)) return;
          const c = fieldOf(colKeys.of(label, `c${ci + 1}`), label, rows[i + 1]?.[ci], b.text.includes('*'));
          columns.push(c);
          colAt.set(b.col, c);
        });
        const totalsRow = rows[end];
        const totals: string[] = [];
        if (totalsRow && TOTAL_ROW.test(totalsRow[0]?.text ?? '')) {
          for (const c of columns) if (c.type === 'money' || c.type === 'number') totals.push(c.key);
          for (const b of totalsRow) covered.add(b.address);
          end++;
        }
        if (!columns.length) continue;
        add({ key: tableKey, label: tableLabel, type: 'subtable', columns, minRows: 1, maxRows: Math.max(50, bodyRows * 5), ...(totals.length ? { totals } : {}) } as FormField, row[0]!.address);
        for (const c of columns) report.push({ key: c.key, label: c.label, type: c.type, cell: row.find((b) => colAt.get(b.col) === c)!.address, table: tableKey });
        section.rows.push([{ field: tableKey, span: 24 }]);
        notes.push(`第 ${row[0]!.row}–${end} 行识别为明细表“${tableLabel}”（${columns.length} 列${totals.length ? '，含合计' : ''}）`);
        i = end - 1;
        if (heading !== null) {
          // the heading named the table: what follows is not part of it
          sections.push(section);
          section = { kind: 'group', rows: [] };
          heading = null;
        }
        continue;
      }
      // labels over one row of inputs: each label's input is the cell below
      const below = rows[i + 1];
      if (bodyRows === 1 && below) {
        const line: Array<{ field: string; span?: number }> = [];
        row.forEach((b, ci) => {
          const label = labelOf(b.text);
          const input = below[ci];
          const f = fieldOf(keys.of(label, `f${fields.length + 1}`), label, input, b.text.includes('*'));
          add(f, input?.address ?? b.address);
          line.push({ field: f.key, span: spanOf(b.col, b.cols) });
          if (input) covered.add(input.address);
        });
        pushLine(section, line);
        continue;
      }
    }
    // labels with their inputs, left to right
    const line: Array<{ field: string; span?: number }> = [];
    for (let j = 0; j < row.length; j++) {
      const b = row[j]!;
      if (isInput(b)) continue; // an input without a label
      const label = labelOf(b.text);
      if (!label) continue;
      // the input beside it: empty, choices (请假类型 | □事假 □病假) or a date placeholder
      let input = row[j + 1] && isInput(row[j + 1]!) ? row[j + 1] : undefined;
      // a label with nothing beside it: the empty block below, if any (备注 over a large box)
      if (!input && j === row.length - 1) {
        const under = rows[i + 1]?.find((x) => x.col === b.col && !x.text && !covered.has(x.address));
        if (under && (rows[i + 1]!.length === 1 || under.cols > b.cols)) {
          input = under;
          covered.add(under.address);
        }
      }
      const f = fieldOf(keys.of(label, `f${fields.length + 1}`), label, input, b.text.includes('*'));
      if (input && input.rows >= 2 && f.type === 'text') Object.assign(f, { type: 'textarea', maxLength: 2000 });
      add(f, input?.address ?? b.address);
      const width = input && input.row === b.row ? input.col + input.cols - b.col : b.cols;
      line.push({ field: f.key, span: input && input.row !== b.row ? 24 : spanOf(b.col, width) });
      if (input && input.row === b.row) j++;
    }
    pushLine(section, line);
  }
  if (section.rows.length) sections.push(section);
  if (!fields.length) throw badRequest('工作表中没有识别到字段：请在标签右侧或下方留出填写的空白单元格', undefined, 'LAYOUT_EMPTY');
  if (fields.length > 300) throw badRequest('识别到的字段超过 300 个，请拆分表单后再导入', undefined, 'LAYOUT_TOO_LARGE');
  title = title || ws.name || '导入的表单';
  const draft: FormSchema = { title, fields, layout: { sections }, printLayout: { title, sections } };
  const check = checkFormSchema(draft);
  if (!check.ok) throw badRequest('导入的表单定义有误', check.errors.map((e) => ({ path: e.path, message: e.message })), 'LAYOUT_INVALID');
  return { draft, fields: report, notes };
}

/** A layout row holds at most 6 fields: longer lines wrap. */
function pushLine(section: { rows: Array<Array<{ field: string; span?: number }>> }, line: Array<{ field: string; span?: number }>): void {
  for (let k = 0; k < line.length; k += 6) section.rows.push(line.slice(k, k + 6));
}
