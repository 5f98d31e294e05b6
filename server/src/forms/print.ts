import type { Database } from '@oa/db';
import { compileSchema } from './compile.ts';
import { fenToYuan, sanitizeRichText } from './normalize.ts';
import type { FormField, FormSchema, ScalarField } from './schema.ts';

/**
 * Print view of a filled form (issue 5 item 10): an HTML page following the form's print layout
 * (its screen layout, or the fields in order, when it has none). Every value is escaped; rich text
 * was sanitised on the way in and is sanitised again here. Person, department and file ids are
 * shown by name, options by label, money in yuan.
 */

const esc = (s: unknown) =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

type Row = Record<string, unknown>;

interface Names {
  people: Map<number, string>;
  depts: Map<number, string>;
  files: Map<number, string>;
}

function collectIds(form: ReturnType<typeof compileSchema>, value: Row) {
  const out = { people: new Set<number>(), depts: new Set<number>(), files: new Set<number>() };
  const add = (f: ScalarField | FormField, v: unknown) => {
    const list = Array.isArray(v) ? v : v === null || v === undefined ? [] : [v];
    const set = f.type === 'person' ? out.people : f.type === 'department' ? out.depts : f.type === 'attachment' || f.type === 'image' || f.type === 'signature' ? out.files : null;
    if (set) for (const x of list) if (typeof x === 'number') set.add(x);
  };
  for (const [k, f] of form.fields) {
    if (f.type === 'subtable') {
      const st = form.subtables.get(k)!;
      for (const r of Array.isArray(value[k]) ? (value[k] as Row[]) : []) for (const [ck, c] of st.columns) add(c, r[ck]);
    } else add(f, value[k]);
  }
  return out;
}

function show(f: ScalarField | FormField, v: unknown, names: Names): string {
  if (v === null || v === undefined || v === '') return '';
  const list = (xs: unknown, m: Map<number, string>) => (Array.isArray(xs) ? xs : [xs]).map((x) => esc(m.get(x as number) ?? `#${String(x)}`)).join('、');
  switch (f.type) {
    case 'money':
      return esc(`${fenToYuan(v as number)} 元`);
    case 'computed':
      if (f.resultType === 'money') return esc(`${fenToYuan(v as number)} 元`);
      if (f.resultType === 'boolean') return v ? '是' : '否';
      return esc(v);
    case 'select':
    case 'radio':
    case 'multiselect':
    case 'checkbox':
      return (Array.isArray(v) ? v : [v]).map((x) => esc(f.options.find((o) => o.value === x)?.label ?? x)).join('、');
    case 'daterange': {
      const r = v as { start?: string; end?: string };
      return `${esc(r.start)} 至 ${esc(r.end)}`;
    }
    case 'datetime':
      return esc(new Date(String(v)).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }));
    case 'person':
      return list(v, names.people);
    case 'department':
      return list(v, names.depts);
    case 'attachment':
    case 'image':
    case 'signature':
      return list(v, names.files);
    case 'richtext':
      return sanitizeRichText(String(v));
    case 'number':
      return esc(`${String(v)}${f.unit ?? ''}`);
    case 'textarea':
      return esc(v).replace(/\n/g, '<br>');
    default:
      return esc(Array.isArray(v) ? v.join('、') : v);
  }
}

export async function printHtml(db: Database, schema: FormSchema, view: { serialNo: string | null; data: Row; submitterName: string | null; createdAt: Date }): Promise<string> {
  const form = compileSchema(schema);
  const value = view.data;
  const ids = collectIds(form, value);
  const [people, depts, files] = await Promise.all([
    ids.people.size ? db.models.User.findAll({ where: { id: [...ids.people] }, attributes: ['id', 'name'], raw: true }) : [],
    ids.depts.size ? db.models.Department.findAll({ where: { id: [...ids.depts] }, attributes: ['id', 'name'], raw: true }) : [],
    ids.files.size ? db.models.StoredFile.findAll({ where: { id: [...ids.files] }, attributes: ['id', 'originalName'], raw: true }) : [],
  ]);
  const names: Names = {
    people: new Map(people.map((p) => [p.id, p.name])),
    depts: new Map(depts.map((d) => [d.id, d.name])),
    files: new Map(files.map((f) => [f.id, f.originalName])),
  };
  type Sections = NonNullable<FormSchema['layout']>['sections'];
  const sections0: Sections = schema.printLayout?.sections ?? schema.layout?.sections ?? [{ kind: 'group', rows: schema.fields.map((f) => [{ field: f.key }]) }];
  const hideEmpty = schema.printLayout?.hideEmpty === true;
  const cell = (key: string): string => {
    const f = form.fields.get(key);
    if (!f) return '';
    const v = value[key];
    if (hideEmpty && (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length))) return '';
    if (f.type === 'subtable') {
      const st = form.subtables.get(key)!;
      const rows = Array.isArray(v) ? (v as Row[]) : [];
      const cols = [...st.columns.values()];
      const totals = (st.field.totals ?? []).length
        ? `<tr class="total"><td>合计</td>${cols.slice(1).map((c) => `<td>${st.field.totals!.includes(c.key) ? show(c, rows.reduce((a, r) => a + (typeof r[c.key] === 'number' ? (r[c.key] as number) : 0), 0), names) : ''}</td>`).join('')}</tr>`
        : '';
      return `<td class="label">${esc(f.label)}</td><td class="value" colspan="99"><table class="sub"><thead><tr>${cols.map((c) => `<th>${esc(c.label)}</th>`).join('')}</tr></thead><tbody>${rows
        .map((r) => `<tr>${cols.map((c) => `<td>${show(c, r[c.key], names)}</td>`).join('')}</tr>`)
        .join('')}${totals}</tbody></table></td>`;
    }
    return `<td class="label">${esc(f.label)}</td><td class="value">${show(f, v, names)}</td>`;
  };
  const sections = sections0
    .map((s) => {
      const rows = s.rows.map((row) => row.map((c) => cell(c.field)).join('')).filter((r) => r !== '');
      if (!rows.length) return '';
      return `${s.title ? `<h2>${esc(s.title)}</h2>` : ''}<table class="form">${rows.map((r) => `<tr>${r}</tr>`).join('')}</table>`;
    })
    .join('\n');
  const title = schema.printLayout?.title ?? schema.title;
  const submitted = view.createdAt.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:"SimSun","Songti SC",serif;margin:24px;color:#000}
h1{text-align:center;font-size:22px;margin:0 0 8px}
.meta{display:flex;justify-content:space-between;font-size:12px;margin-bottom:8px}
h2{font-size:15px;margin:12px 0 4px}
table{border-collapse:collapse;width:100%}
table.form td{border:1px solid #000;padding:6px;font-size:13px;vertical-align:top}
td.label{width:110px;background:#f5f5f5;font-weight:bold}
table.sub th,table.sub td{border:1px solid #666;padding:3px;font-size:12px}
tr.total td{font-weight:bold}
@media print{body{margin:0}}
</style></head><body>
<h1>${esc(title)}</h1>
<div class="meta"><span>${view.serialNo ? `单号：${esc(view.serialNo)}` : ''}</span><span>提交人：${esc(view.submitterName ?? '')} &nbsp;&nbsp;提交时间：${esc(submitted)}</span></div>
${sections}
</body></html>`;
}
