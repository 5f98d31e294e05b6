import test from 'ava';
import ExcelJS from 'exceljs';
import { startTestApp, USER_PASSWORD } from './helpers/app.ts';

// Excel import of a layout (issue 5 item 7, R16.2): paper forms drawn in a worksheet become draft
// forms: labels and input cells → fields with guessed types, merged cells → layout, a table with
// a header row → a sub-table. Workbooks are built here with exceljs, uploaded and imported over HTTP.

const F = '/api/v1/forms';
const thin = { style: 'thin' as const };
const box = { top: thin, left: thin, bottom: thin, right: thin };

async function setup(t: Parameters<typeof startTestApp>[0]) {
  const ta = await startTestApp(t);
  await ta.createUser({ username: 'designer', name: '表单管理员', roles: ['processadmin'] });
  await ta.createUser({ username: 'alice', name: '张丽' });
  const login = async (u: string) => {
    const c = ta.client();
    await c.login(u, USER_PASSWORD);
    return c;
  };
  const designer = await login('designer');
  const alice = await login('alice');
  const importSheet = async (wb: ExcelJS.Workbook, body: Record<string, unknown> = {}, who = designer) => {
    const up = await who.upload('/api/v1/files', { name: '表单样式.xlsx', bytes: Buffer.from(await wb.xlsx.writeBuffer()) });
    if (up.status !== 201) throw new Error(JSON.stringify(up.body));
    return who.post(`${F}/defs/import-xlsx`, { fileId: up.body.id, ...body });
  };
  return { ta, designer, alice, importSheet };
}

/** A sheet of `cols` columns, 12 wide, every cell written boxed. */
function sheet(wb: ExcelJS.Workbook, name: string, cols = 6) {
  const ws = wb.addWorksheet(name);
  ws.columns = Array.from({ length: cols }, () => ({ width: 12 }));
  const put = (addr: string, value: ExcelJS.CellValue = null) => {
    const c = ws.getCell(addr);
    c.value = value;
    c.border = box;
    return c;
  };
  const row = (r: number, values: Array<ExcelJS.CellValue>) => values.forEach((v, i) => put(`${String.fromCharCode(65 + i)}${r}`, v));
  return { ws, put, row };
}

function leaveWorkbook() {
  const wb = new ExcelJS.Workbook();
  const { ws, put, row } = sheet(wb, '请假单');
  ws.mergeCells('A1:F1');
  ws.getCell('A1').value = '请 假 单';
  row(2, ['姓    名', null, '科室：', null, '*申请日期', null]);
  ws.getCell('F2').numFmt = 'yyyy-mm-dd';
  row(3, ['请假类型', '□事假 □病假 □年假', null, null, null, null]);
  ws.mergeCells('B3:F3');
  row(4, ['开始日期', null, '结束日期', null, '天数', null]);
  row(5, ['请假事由', null, null, null, null, null]);
  row(6, [null, null, null, null, null, null]);
  ws.mergeCells('B5:F6');
  put('A7', '科主任签字');
  put('B7');
  put('C7', '日期');
  put('D7', '    年   月   日');
  ws.mergeCells('D7:F7');
  ws.mergeCells('A9:F9');
  ws.getCell('A9').value = '注：本单一式两份，请假三天以上须附证明材料，由科室留存一份，人事科留存一份。';
  return wb;
}

function expenseWorkbook() {
  const wb = new ExcelJS.Workbook();
  const { ws, row } = sheet(wb, '报销单');
  ws.mergeCells('A1:F1');
  ws.getCell('A1').value = '费用报销单';
  row(2, ['报销人', null, '部门', null, '报销日期', null]);
  ws.mergeCells('A3:F3');
  ws.getCell('A3').value = '费用明细';
  row(4, ['序号', '日期', '费用类别', '摘要', '数量', '金额（元）']);
  for (let r = 5; r <= 9; r++) row(r, [r - 4, null, null, null, null, null]);
  row(10, ['合计', null, null, null, null, null]);
  ws.mergeCells('A10:E10');
  row(11, ['备注', null, null, null, null, null]);
  ws.mergeCells('B11:F11');
  row(12, ['报销人签字', null, '审核人', null, null, null]);
  ws.mergeCells('D12:F12');
  return wb;
}

type Field = { key: string; label: string; type: string; required?: boolean; options?: Array<{ value: string }>; columns?: Field[]; totals?: string[] };

test('R16.2 a leave form sheet: labels, guessed types, choices, a tall input, merged cells as layout; the draft saves, publishes and takes a submission', async (t) => {
  const { designer, alice, importSheet } = await setup(t);
  t.is((await importSheet(leaveWorkbook(), {}, alice)).status, 403, 'staff cannot design');
  const r = await importSheet(leaveWorkbook());
  t.is(r.status, 200, JSON.stringify(r.body));
  const draft = r.body.draft as { title: string; fields: Field[]; layout: { sections: Array<{ rows: Array<Array<{ field: string; span: number }>> }> } };
  t.is(draft.title, '请假单', 'alignment spaces between characters dropped');
  t.deepEqual(
    draft.fields.map((f) => [f.key, f.type]),
    [
      ['姓名', 'person'],
      ['科室', 'department'],
      ['申请日期', 'date'],
      ['请假类型', 'radio'],
      ['开始日期', 'date'],
      ['结束日期', 'date'],
      ['天数', 'number'],
      ['请假事由', 'textarea'],
      ['科主任签字', 'signature'],
      ['日期', 'date'],
    ],
  );
  t.true(draft.fields.find((f) => f.key === '申请日期')!.required, 'a starred label is required');
  t.deepEqual(draft.fields.find((f) => f.key === '请假类型')!.options!.map((o) => o.value), ['事假', '病假', '年假']);
  t.deepEqual(
    draft.layout.sections[0]!.rows.map((row) => row.map((c) => `${c.field}:${c.span}`)),
    [['姓名:8', '科室:8', '申请日期:8'], ['请假类型:24'], ['开始日期:8', '结束日期:8', '天数:8'], ['请假事由:24'], ['科主任签字:8', '日期:16']],
    'spans from the merged cells and column widths',
  );
  t.like(r.body.fields.find((f: { key: string }) => f.key === '请假事由'), { cell: 'B5', type: 'textarea' });
  t.true(r.body.notes.some((n: string) => n.includes('说明文字未导入')), 'the long note line is reported, not made a field');

  // The designer saves the draft as it is, publishes it, and a submission goes through.
  const created = await designer.post(`${F}/defs`, { key: 'leave-xlsx', draft, standalone: true });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is((await designer.post(`${F}/defs/${created.body.id}/publish`)).status, 200);
  const sub = await alice.post(`${F}/submissions`, { formId: created.body.id, data: { 申请日期: '2026-11-25', 请假类型: '病假', 开始日期: '2026-11-26', 天数: 2, 请假事由: '发烧' } });
  t.is(sub.status, 201, JSON.stringify(sub.body));
});

test('R16.2 an expense sheet: the item table with a header row becomes a sub-table with totals; sections from headings; bad files refused', async (t) => {
  const { importSheet } = await setup(t);
  const r = await importSheet(expenseWorkbook(), { title: '报销单（导入）' });
  t.is(r.status, 200, JSON.stringify(r.body));
  const draft = r.body.draft as { title: string; fields: Field[]; layout: { sections: Array<{ title?: string; rows: Array<Array<{ field: string; span: number }>> }> } };
  t.is(draft.title, '报销单（导入）');
  t.deepEqual(
    draft.fields.map((f) => [f.key, f.type]),
    [
      ['报销人', 'person'],
      ['部门', 'department'],
      ['报销日期', 'date'],
      ['费用明细', 'subtable'],
      ['备注', 'textarea'],
      ['报销人签字', 'signature'],
      ['审核人', 'person'],
    ],
  );
  const items = draft.fields.find((f) => f.type === 'subtable')!;
  t.is(items.label, '费用明细');
  t.deepEqual(
    items.columns!.map((c) => [c.key, c.label, c.type]),
    [
      ['日期', '日期', 'date'],
      ['费用类别', '费用类别', 'text'],
      ['摘要', '摘要', 'text'],
      ['数量', '数量', 'number'],
      ['金额元', '金额（元）', 'money'],
    ],
    'the 序号 column is dropped; 费用类别 is text, not money',
  );
  t.deepEqual(items.totals, ['数量', '金额元'], 'the 合计 row gives totals of the number and money columns');
  t.deepEqual(
    draft.layout.sections.map((s) => [s.title ?? null, s.rows.map((row) => row.map((c) => c.field).join(','))]),
    [
      [null, ['报销人,部门,报销日期']],
      ['费用明细', ['费用明细']],
      [null, ['备注', '报销人签字,审核人']],
    ],
  );
  t.true(r.body.notes.some((n: string) => n.includes('明细表“费用明细”')));

  // not an xlsx; a sheet with nothing to fill in; an unknown sheet name
  const empty = new ExcelJS.Workbook();
  empty.addWorksheet('空').getCell('A1').value = '只有标题';
  const none = await importSheet(empty);
  t.is(none.status, 400);
  t.is(none.body.code, 'LAYOUT_EMPTY');
  const missing = await importSheet(expenseWorkbook(), { sheet: '不存在' });
  t.is(missing.status, 400);
  t.regex(missing.body.detail, /不存在/);
});

test('R16.2 not a workbook: a renamed text file is refused with a Chinese message', async (t) => {
  const { designer } = await setup(t);
  const up = await designer.upload('/api/v1/files', { name: '表单.xlsx', bytes: '这不是 Excel' });
  if (up.status !== 201) {
    t.true([400, 415].includes(up.status), 'refused at upload already (content sniffing)');
    return;
  }
  const r = await designer.post(`${F}/defs/import-xlsx`, { fileId: up.body.id });
  t.is(r.status, 400);
  t.regex(r.body.detail, /Excel|xlsx/);
});
