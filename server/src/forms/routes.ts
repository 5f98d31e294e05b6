import { z } from 'zod';
import { auditStandalone } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, type AppContext } from '../http/context.ts';
import { pageQuery } from '../http/paging.ts';
import { hasPermission } from '../access/principal.ts';
import { badRequest, forbidden, notFound } from '../http/errors.ts';
import { contentDisposition } from '../files/service.ts';
import type { AppDeps } from '../deps.ts';
import { XLSX_MIME } from '../org/excel-format.ts';
import { checkFormSchema } from './compile.ts';
import { formUserOf, formsOf } from './module.ts';
import { normalizeText } from './normalize.ts';
import { printHtml } from './print.ts';
import { filterSchema, runSummary, summarySpecSchema, summaryWorkbook } from './summary.ts';
import { filterForOutput } from './validate.ts';
import { importLayout } from './xlsx-layout.ts';
import type { SubmitterContext } from './service.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const keyParam = z.strictObject({ key: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, '数据源标识无效') });
const posId = (what: string) => z.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`);
const formKey = z.string({ error: '请填写表单标识' }).regex(/^[A-Za-z][A-Za-z0-9_-]{1,63}$/, '表单标识只能包含字母、数字、- 和 _，以字母开头，2 到 64 个字符');
const draft = z.unknown().describe('表单定义（JSON），格式见 server/src/forms/schema.ts');
const formData = z.record(z.string(), z.unknown(), { error: '表单数据必须是对象' }).describe('表单数据');
const fieldKey = z.string({ error: '请指定字段' }).min(1, '请指定字段').max(64, '字段标识不能超过 64 个字符');

const createBody = z.strictObject({ key: formKey, draft, standalone: z.boolean().optional().describe('独立表单：不经流程，任何登录用户都可填写提交') });
const importLayoutBody = z.strictObject({
  fileId: posId('文件编号').describe('先经 POST /api/v1/files 上传的 .xlsx'),
  sheet: z.string().trim().min(1).max(31).optional().describe('工作表名称；默认第一张'),
  title: z.string().trim().min(1).max(100).optional().describe('表单名称；默认取表格标题'),
});
const updateBody = z.strictObject({ rev: z.number({ error: '请提供修订号' }).int().min(1).describe('读取时的修订号，用于并发检查'), draft, standalone: z.boolean().optional() });
const submitBody = z.strictObject({
  formId: posId('表单编号'),
  versionId: posId('表单版本').optional().describe('填写时渲染的版本；已发布新版本时返回 409'),
  data: formData,
});
const sourceColumn = z.strictObject({
  key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, '列标识只能由字母、数字和下划线组成'),
  label: z.string().trim().min(1, '请填写列名称').max(100),
  header: z.string().trim().max(100).optional().describe('Excel 表头（默认同列名称）'),
  type: z.enum(['text', 'number', 'money', 'date'], { error: '列类型只能是 text、number、money（元）或 date' }).default('text'),
});
const sourceBody = z
  .strictObject({
    key: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, '数据源标识只能由小写字母、数字、_ . - 组成，以字母开头'),
    name: z.string().trim().min(1, '请填写数据源名称').max(100, '数据源名称不能超过 100 个字符'),
    keyColumn: z.string().min(1, '请指定主键列').max(64),
    labelColumn: z.string().max(64).nullable().optional(),
    audience: z.enum(['all', 'grant'], { error: '使用范围只能是 all（所有登录用户）或 grant（按授权）' }).optional(),
    columns: z.array(sourceColumn).min(1, '请至少定义一列').max(50, '最多 50 列'),
    fileId: posId('文件编号').optional().describe('先经 POST /api/v1/files 上传的 .xlsx（第一张工作表，第 1 行为表头）'),
    rows: z.array(z.record(z.string(), z.unknown())).max(50_000).optional().describe('不用 Excel 时直接提供的行'),
  })
  .refine((b) => (b.fileId === undefined) !== (b.rows === undefined), { message: '请提供 fileId（Excel 文件）或 rows 其中之一', path: ['fileId'] });
const lookupQuery = z.strictObject({ field: fieldKey, key: z.string({ error: '请填写要查找的值' }).trim().min(1, '请填写要查找的值').max(191) });
const optionsQuery = z.strictObject({ field: fieldKey, q: z.string().trim().max(64).optional(), limit: z.coerce.number().int().min(1).max(50).default(20) });
const searchBody = z.strictObject({ formId: posId('表单编号'), filters: z.array(filterSchema).max(10, '最多 10 个筛选条件').default([]), page: z.number().int().min(1).default(1), pageSize: z.number().int().min(1).max(200).default(20) });
const summaryBody = z.strictObject({ formId: posId('表单编号'), spec: summarySpecSchema });
const reportBody = z.strictObject({ formId: posId('表单编号'), name: z.string().trim().min(1, '请填写汇总表名称').max(100, '名称不能超过 100 个字符'), spec: summarySpecSchema });
const correctionBody = z.strictObject({
  rev: z.number({ error: '请提供修订号' }).int().min(1).describe('读取时的修订号，用于并发检查'),
  changes: z.record(z.string().max(200), z.unknown()).describe('路径 → 新值，如 { "amount": "12.50", "items[2].amount": 300 }'),
  reason: z.string({ error: '请填写更正原因' }).trim().min(2, '请填写更正原因（至少 2 个字）').max(500, '更正原因不能超过 500 个字符'),
});

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

/** Custom forms under /api/v1/forms (issue 5; R16.*, R3.14, R3.18). */
export function formRoutes(deps: AppDeps): RouteSpec[] {
  const { service: forms, sources, refs } = formsOf(deps);
  const design = { permission: 'forms:design' } as const;
  const data = { permission: 'forms:data' } as const;
  const tags = ['自定义表单'];
  const base = '/api/v1/forms';

  const who = async (ctx: AppContext): Promise<SubmitterContext> => {
    const p = ctx.state.principal!;
    return { actor: actorOf(ctx), user: await formUserOf(deps, p), principal: p };
  };
  /** A submission the caller may read: their own, or any with forms:data; others look missing. */
  const readableSubmission = async (ctx: AppContext, id: number) => {
    const p = ctx.state.principal!;
    const s = await deps.db.models.FormSubmission.findByPk(id);
    if (!s || (s.submitterId !== p.userId && !hasPermission(p, 'forms:data'))) throw notFound('表单数据不存在');
    return s;
  };
  const lookupField = async (versionId: number, key: string) => {
    const { form } = await forms.version(versionId);
    const f = form.fields.get(key);
    if (!f || f.type !== 'lookup') throw badRequest(`字段“${key}”不是关联数据字段`, [{ path: 'field', message: '不是关联数据字段' }], 'NOT_LOOKUP');
    return f;
  };
  const sendXlsx = (ctx: AppContext, name: string, buffer: Buffer) => {
    ctx.set('Content-Disposition', contentDisposition(name));
    ctx.set('Cache-Control', 'private, no-store');
    ctx.type = XLSX_MIME;
    ctx.body = buffer;
  };
  const summaryOf = async (formId: number, spec: z.output<typeof summarySpecSchema>) => {
    const versionId = await forms.latestVersionId(formId);
    const { form } = await forms.version(versionId);
    return runSummary(deps.db, form, formId, spec);
  };

  return [
    // ── design (R16.1, R16.5) ──
    defineRoute({
      method: 'get',
      path: `${base}/defs`,
      access: design,
      summary: '表单定义列表',
      tags,
      query: z.strictObject({ q: z.string().trim().max(64).optional() }),
      handler: async (_ctx, { query }) => ({ items: await forms.listForms(query) }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/defs`,
      access: design,
      summary: '新建表单（草稿）；定义有误时列出每处错误及其路径',
      tags,
      body: createBody,
      handler: async (ctx, { body }) => {
        const id = await forms.createForm(actorOf(ctx), body.key, body.draft, { standalone: body.standalone });
        ctx.status = 201;
        return forms.getForm(id);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/defs/import-xlsx`,
      access: design,
      summary: '从 Excel 表格样式生成表单草稿（R16.2）：标签和空白单元格成为字段并猜测类型，合并单元格成为布局，带表头的表格区域成为明细表；只返回草稿，不保存',
      tags,
      body: importLayoutBody,
      handler: async (ctx, { body }) => {
        const buf = (await xlsxOf(ctx, body.fileId, { mb: 5, what: '表单样式文件', code: 'LAYOUT_FILE_INVALID' }))!;
        return importLayout(buf, { sheet: body.sheet, title: body.title });
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/defs/check`,
      access: design,
      summary: '检查表单定义（不保存）：未知字段类型、公式错误、循环引用、布局等，错误附路径',
      tags,
      body: z.strictObject({ draft }),
      handler: (_ctx, { body }) => {
        const r = checkFormSchema(body.draft);
        return r.ok ? { ok: true, errors: [] } : { ok: false, errors: r.errors };
      },
    }),
    defineRoute({ method: 'get', path: `${base}/defs/:id`, access: design, summary: '表单定义（草稿）', tags, params: idParam, handler: (_ctx, { params }) => forms.getForm(params.id) }),
    defineRoute({
      method: 'put',
      path: `${base}/defs/:id`,
      access: design,
      summary: '保存表单草稿（修订号过期时返回 409）',
      tags,
      params: idParam,
      body: updateBody,
      handler: async (ctx, { params, body }) => {
        await forms.updateDraft(actorOf(ctx), params.id, body.draft, body.rev, { standalone: body.standalone });
        return forms.getForm(params.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/defs/:id/publish`,
      access: design,
      summary: '发布表单：生成不可变的新版本；新填写使用新版本，已提交的数据保留原版本',
      tags,
      params: idParam,
      handler: (ctx, { params }) => forms.publish(actorOf(ctx), params.id),
    }),
    defineRoute({ method: 'get', path: `${base}/defs/:id/versions`, access: design, summary: '表单的已发布版本', tags, params: idParam, handler: async (_ctx, { params }) => ({ items: await forms.versions(params.id) }) }),

    // ── filling in (anyone signed in) ──
    defineRoute({ method: 'get', path: `${base}/catalogue`, access: 'authenticated', summary: '可直接填写的独立表单', tags, handler: async () => ({ items: await forms.catalogue() }) }),
    defineRoute({
      method: 'get',
      path: `${base}/versions/:id`,
      access: 'authenticated',
      summary: '已发布版本的表单定义（用于渲染）',
      tags,
      params: idParam,
      handler: (_ctx, { params }) => forms.versionInfo(params.id),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/versions/:id/lookup`,
      access: 'authenticated',
      summary: '关联数据：按关联字段和值查找记录，返回要联动填充的字段值（R16.7）',
      tags,
      params: idParam,
      query: lookupQuery,
      handler: async (ctx, { params, query }) => {
        const f = await lookupField(params.id, query.field);
        const key = normalizeText(query.key, false);
        const r = await refs.lookup(f.source, key, { id: ctx.state.principal!.userId, principal: ctx.state.principal });
        if (r.error?.code === 'SOURCE_FORBIDDEN') throw forbidden(r.error.message, r.error.code);
        if (r.error) throw notFound(r.error.message, r.error.code);
        const spec = (await sources.find(f.source))!;
        const fill = Object.fromEntries(Object.entries(f.fill ?? {}).map(([target, column]) => [target, r.record![column] ?? null]));
        return { field: f.key, key, label: spec.labelColumn ? (r.record![spec.labelColumn] ?? null) : null, fill };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/versions/:id/options`,
      access: 'authenticated',
      summary: '关联数据：按编号开头或名称包含搜索候选记录',
      tags,
      params: idParam,
      query: optionsQuery,
      handler: async (ctx, { params, query }) => {
        const f = await lookupField(params.id, query.field);
        const user = { id: ctx.state.principal!.userId };
        const spec = await sources.readable(f.source, user);
        const rows = await spec.search(query.q ?? '', query.limit, user);
        return { items: rows.map((r) => ({ key: r[spec.keyColumn] ?? null, label: spec.labelColumn ? (r[spec.labelColumn] ?? null) : null })) };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/submissions`,
      access: 'authenticated',
      summary: '提交独立表单：服务器校验、联动填充、编号并建立字段索引',
      tags,
      body: submitBody,
      handler: async (ctx, { body }) => {
        if (!(await forms.isStandalone(body.formId))) throw forbidden('该表单需通过审批流程提交', 'FORM_NOT_STANDALONE');
        const r = await forms.submit(await who(ctx), body.formId, body.data, {}, { versionId: body.versionId });
        ctx.status = 201;
        return forms.view(await forms.submission(r.id));
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/submissions/mine`,
      access: 'authenticated',
      summary: '我提交的表单',
      tags,
      query: z.strictObject({ ...pageQuery, formId: z.coerce.number().int().positive().optional() }),
      handler: (ctx, { query }) => forms.mine(ctx.state.principal!.userId, query),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/submissions/:id`,
      access: 'authenticated',
      summary: '表单数据（本人提交的，或有表单数据权限）；按其版本渲染',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        const s = await readableSubmission(ctx, params.id);
        const view = await forms.view(s);
        const { schema } = await forms.version(s.versionId);
        return { ...view, data: filterForOutput(schema, s.data) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/submissions/:id/print`,
      access: 'authenticated',
      summary: '打印视图（HTML，按表单的打印布局）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        const s = await readableSubmission(ctx, params.id);
        const view = await forms.view(s);
        const { schema } = await forms.version(s.versionId);
        ctx.type = 'text/html; charset=utf-8';
        ctx.set('Cache-Control', 'private, no-store');
        ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'");
        ctx.body = await printHtml(deps.db, schema, view);
      },
    }),

    // ── data sources (R16.7) ──
    defineRoute({ method: 'get', path: `${base}/sources`, access: design, summary: '数据源（系统表、导入的 Excel、注册的服务）', tags, handler: async () => ({ items: await sources.list() }) }),
    defineRoute({
      method: 'post',
      path: `${base}/sources`,
      access: design,
      summary: '导入 Excel 数据源（全部行通过检查才导入）',
      tags,
      body: sourceBody,
      handler: async (ctx, { body }) => {
        const r = await sources.importSheet(actorOf(ctx), { ...body, xlsx: await xlsxOf(ctx, body.fileId) }, false);
        ctx.status = 201;
        return r;
      },
    }),
    defineRoute({
      method: 'put',
      path: `${base}/sources/:key`,
      access: design,
      summary: '重新导入 Excel 数据源（替换全部行）',
      tags,
      params: keyParam,
      body: sourceBody,
      handler: async (ctx, { params, body }) => {
        if (body.key !== params.key) throw badRequest('数据源标识不能修改', [{ path: 'key', message: '与地址中的标识不一致' }]);
        return sources.importSheet(actorOf(ctx), { ...body, xlsx: await xlsxOf(ctx, body.fileId) }, true);
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/sources/:key/rows`,
      access: design,
      summary: '预览数据源记录',
      tags,
      params: keyParam,
      query: z.strictObject({ q: z.string().trim().max(64).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
      handler: async (ctx, { params, query }) => {
        const spec = await sources.find(params.key);
        if (!spec) throw notFound(`数据源“${params.key}”不存在`);
        return { items: await spec.search(query.q ?? '', query.limit, { id: ctx.state.principal!.userId }) };
      },
    }),

    // ── data tools and summaries (R16.9, R16.10, R3.14, R3.18) ──
    defineRoute({
      method: 'post',
      path: `${base}/data/search`,
      access: data,
      summary: '按任意字段查找表单数据（等于、范围、包含、属于）',
      tags,
      body: searchBody,
      handler: (_ctx, { body }) => forms.search(body.formId, body.filters, body),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/data/submissions/:id/history`,
      access: data,
      summary: '表单数据的更正历史',
      tags,
      params: idParam,
      handler: (_ctx, { params }) => forms.history(params.id),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/data/submissions/:id/corrections`,
      access: data,
      summary: '更正表单数据（须填写原因；重新校验、重建索引、保留历史并审计）',
      tags,
      params: idParam,
      body: correctionBody,
      handler: async (ctx, { params, body }) => forms.correct(await who(ctx), params.id, body.rev, body.changes, body.reason),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/data/summary`,
      access: data,
      summary: '汇总查询：选择字段、筛选、最多 2 个分组字段、计数/合计/平均/最小/最大',
      tags,
      body: summaryBody,
      handler: (_ctx, { body }) => summaryOf(body.formId, body.spec),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/data/summary/export`,
      access: data,
      summary: '汇总查询导出 Excel',
      tags,
      body: summaryBody,
      handler: async (ctx, { body }) => {
        const def = await forms.getForm(body.formId);
        const result = await summaryOf(body.formId, body.spec);
        await auditStandalone(deps.db, { ...actorOf(ctx), action: 'form.summary.export', objectType: 'form', objectId: body.formId, detail: { spec: body.spec, rows: result.rows.length } }, deps.clock.now());
        sendXlsx(ctx, `${def.name}-汇总-${stamp(deps.clock.now())}.xlsx`, await summaryWorkbook(def.name, result));
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/data/reports`,
      access: data,
      summary: '已保存的汇总表',
      tags,
      query: z.strictObject({ formId: z.coerce.number().int().positive().optional() }),
      handler: async (_ctx, { query }) => ({
        items: await deps.db.models.FormReport.findAll({ where: query.formId ? { formId: query.formId } : {}, order: [['id', 'ASC']] }).then((rows) => rows.map((r) => ({ id: r.id, formId: r.formId, name: r.name, spec: r.spec, createdAt: r.createdAt }))),
      }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/data/reports`,
      access: data,
      summary: '保存汇总表定义',
      tags,
      body: reportBody,
      handler: async (ctx, { body }) => {
        await summaryOf(body.formId, body.spec); // a definition that does not run is not saved
        const row = await deps.db.models.FormReport.create({ formId: body.formId, name: body.name, spec: body.spec, createdBy: ctx.state.principal!.userId });
        await auditStandalone(deps.db, { ...actorOf(ctx), action: 'form.report.create', objectType: 'form_report', objectId: row.id, detail: { formId: body.formId, name: body.name } }, deps.clock.now());
        ctx.status = 201;
        return { id: row.id, formId: row.formId, name: row.name, spec: row.spec };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/data/reports/:id/run`,
      access: data,
      summary: '运行已保存的汇总表',
      tags,
      params: idParam,
      handler: async (_ctx, { params }) => {
        const r = await deps.db.models.FormReport.findByPk(params.id);
        if (!r) throw notFound('汇总表不存在');
        return { id: r.id, name: r.name, ...(await summaryOf(r.formId, summarySpecSchema.parse(r.spec))) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/data/reports/:id/export`,
      access: data,
      summary: '导出已保存的汇总表（Excel）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        const r = await deps.db.models.FormReport.findByPk(params.id);
        if (!r) throw notFound('汇总表不存在');
        const result = await summaryOf(r.formId, summarySpecSchema.parse(r.spec));
        await auditStandalone(deps.db, { ...actorOf(ctx), action: 'form.summary.export', objectType: 'form_report', objectId: r.id, detail: { rows: result.rows.length } }, deps.clock.now());
        sendXlsx(ctx, `${r.name}-${stamp(deps.clock.now())}.xlsx`, await summaryWorkbook(r.name, result));
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/data/reports/:id`,
      access: data,
      summary: '删除汇总表定义',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        const n = await deps.db.models.FormReport.destroy({ where: { id: params.id } });
        if (!n) throw notFound('汇总表不存在');
        await auditStandalone(deps.db, { ...actorOf(ctx), action: 'form.report.delete', objectType: 'form_report', objectId: params.id }, deps.clock.now());
        ctx.status = 204;
      },
    }),
  ];

  async function xlsxOf(ctx: AppContext, fileId: number | undefined, limit = { mb: 20, what: '数据源文件', code: 'SOURCE_TOO_LARGE' }): Promise<Buffer | undefined> {
    if (fileId === undefined) return undefined;
    const file = await deps.files.readable(ctx.state.principal!, fileId);
    if (!file) throw notFound('文件不存在或无权访问');
    if (file.ext !== 'xlsx') throw badRequest('请上传 Excel 工作簿（.xlsx）', [{ path: 'fileId', message: '不是 .xlsx 文件' }], 'NOT_XLSX');
    if (Number(file.size) > limit.mb * 1024 * 1024) throw badRequest(`${limit.what}不能超过 ${limit.mb} MB`, [{ path: 'fileId', message: '文件过大' }], limit.code);
    const chunks: Buffer[] = [];
    for await (const c of await deps.files.storage.open(file.storageName)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}
