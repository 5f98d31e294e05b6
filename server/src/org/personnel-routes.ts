import { z } from 'zod';
import { auditStandalone } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, auditActorOf, type AppContext } from '../http/context.ts';
import { forbidden, notFound } from '../http/errors.ts';
import { pageQuery } from '../http/paging.ts';
import { hasPermission } from '../access/principal.ts';
import type { AppDeps } from '../deps.ts';
import { FIELD_KEY_PATTERN, FIELD_TYPES, FIELD_TYPE_ERROR, PersonFieldService } from './personnel-fields.ts';
import { FIXED_FIELDS, FIXED_KEYS, PersonnelService, SENSITIVE_KEYS, fixedValuesSchema, type FileChangeRequest, type FileViewer } from './personnel.ts';
import { registerFileChangeApplier } from './info-changes.ts';
import { PiiCipher } from './pii-crypto.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const label = z.string({ error: '请填写字段名称' }).trim().min(1, '请填写字段名称').max(100, '字段名称不能超过 100 个字符');
const options = z.record(z.string(), z.unknown(), { error: '字段设置应为对象' }).nullable().optional().describe('类型相关设置：choices（单选/多选）、maxLength、multiline、min、max、integer、minDate、maxDate、maxItems、maxFiles');
const sort = z.number({ error: '排序号必须是整数' }).int('排序号必须是整数').min(-1_000_000).max(1_000_000).optional();
const type = z.enum(FIELD_TYPES, { error: FIELD_TYPE_ERROR });

const fieldListQuery = z.strictObject({ includeDisabled: z.enum(['true', 'false'], { error: 'includeDisabled 只能是 true 或 false' }).optional() });
const createFieldBody = z.strictObject({
  key: z
    .string({ error: '请填写字段标识' })
    .trim()
    .regex(FIELD_KEY_PATTERN, '字段标识只能由英文字母、数字和下划线组成，以字母开头，最长 64 个字符')
    .describe('英文标识，值按它保存，创建后不能修改'),
  label,
  type,
  options,
  required: z.boolean({ error: '是否必填只能是 true 或 false' }).optional(),
  sort,
});
const patchFieldBody = z.strictObject({
  label: label.optional(),
  type: type.optional().describe('已有档案填写了该字段时不能修改'),
  options,
  required: z.boolean({ error: '是否必填只能是 true 或 false' }).optional(),
  sort,
  enabled: z.boolean({ error: '是否启用只能是 true 或 false' }).optional().describe('false 等同删除；true 恢复已删除的字段'),
});
const revealQuery = z.strictObject({
  reveal: z.enum(['true', 'false'], { error: 'reveal 只能是 true 或 false' }).optional().describe('true：显示敏感信息明文（需要 org:sensitive 权限，记入审计）'),
});
const historyQuery = z.strictObject({
  ...pageQuery,
  field: z.string().trim().min(1).max(80).optional().describe('只看某个字段：固定字段名或 custom.<标识>'),
  reveal: revealQuery.shape.reveal,
});
const mineHistoryQuery = z.strictObject({ ...pageQuery, field: historyQuery.shape.field });
const patchFileBody = z.strictObject({
  version: z.number({ error: '缺少版本号 version（编辑前读取到的版本，新档案为 0）' }).int().min(0).describe('编辑前读取到的版本号；已被他人修改时返回 409'),
  values: fixedValuesSchema.optional().describe('固定字段；null 或空字符串为清空'),
  custom: z.record(z.string(), z.unknown(), { error: '自定义字段应为对象（标识 → 值）' }).optional().describe('自定义字段（标识 → 值）；null 为清空'),
  reason: z.string().trim().max(500, '修改说明不能超过 500 个字符').optional(),
});
const requestBody = z.strictObject({
  values: fixedValuesSchema.optional().describe('要变更的固定字段（敏感信息除外）；null 为清空'),
  custom: patchFileBody.shape.custom,
  reason: z.string().trim().max(500, '说明不能超过 500 个字符').optional(),
});
// the ID number travels in the body, never in a URL (BAR ASVS 14.2.1)
const lookupBody = z.strictObject({ idNumber: z.string({ error: '请填写身份证号' }).trim().min(1, '请填写身份证号').max(32, '身份证号不能超过 32 个字符') });

/** Audit-row fields of the caller (an Actor's `id`/`name` are called `actorId`/`actorName` there). */
const auditActor = auditActorOf;

function viewerOf(ctx: AppContext): FileViewer {
  const p = ctx.state.principal;
  return { userId: p?.userId ?? 0, files: hasPermission(p, 'org:files'), sensitive: hasPermission(p, 'org:sensitive') };
}

/**
 * Personnel files under /api/v1/org/people/:id/file and /api/v1/org/file-fields (issue 3 item 4,
 * R12.2). Reading a file: the person themself or org:files; anyone else gets 404 (existence is not
 * revealed). Sensitive values are masked; plaintext only with org:sensitive and `?reveal=true`,
 * audited. The person themself sees their own sensitive values masked and cannot reveal them (a
 * signed-in phone left on a desk, or a stolen session, must not hand out a full ID number and bank
 * account; the last digits are enough to recognise one's own; corrections go through HR).
 */
export function personnelRoutes(deps: AppDeps): RouteSpec[] {
  const fields = new PersonFieldService(deps.db, deps.clock);
  const svc = new PersonnelService(deps.db, deps.clock, PiiCipher.fromSecret(deps.config.secret));
  // attachments of a file open to the person and to org:files, like the file itself
  deps.files.registerAccessRule('person_file', async (p, f) => String(p.userId) === f.ownerId || hasPermission(p, 'org:files'));
  // approved information changes that carry file fields are applied here (R12.4 with R12.2)
  registerFileChangeApplier(deps.db, (uow, userId, file, actor, infoChangeId) => svc.applyRequest(uow, userId, file as unknown as FileChangeRequest['file'], actor, infoChangeId));
  const files = { permission: 'org:files' } as const;
  const tags = ['人事档案'];
  const fieldBase = '/api/v1/org/file-fields';
  const fileOf = (id: string) => `/api/v1/org/people/${id}/file`;

  /** Check read access and the reveal right; audit reveals, refusals and HR views of others' files. */
  async function authorise(ctx: AppContext, userId: number, reveal: boolean, what: 'file' | 'history'): Promise<FileViewer> {
    const viewer = viewerOf(ctx);
    if (!svc.mayRead(viewer, userId)) throw notFound('人员档案不存在');
    const now = deps.clock.now();
    if (reveal && !viewer.sensitive) {
      await auditStandalone(deps.db, { ...auditActor(ctx), action: 'org.file.reveal', objectType: 'person_file', objectId: userId, result: 'denied', detail: { what } }, now);
      throw forbidden('没有查看敏感信息明文的权限', 'REVEAL_FORBIDDEN');
    }
    return viewer;
  }

  async function auditRead(ctx: AppContext, userId: number, reveal: boolean, what: 'file' | 'history'): Promise<void> {
    const viewer = viewerOf(ctx);
    if (!reveal && viewer.userId === userId) return; // one's own file, masked
    await auditStandalone(
      deps.db,
      { ...auditActor(ctx), action: reveal ? 'org.file.reveal' : 'org.file.view', objectType: 'person_file', objectId: userId, detail: reveal ? { what, fields: [...SENSITIVE_KEYS] } : { what } },
      deps.clock.now(),
    );
  }

  const noStore = (ctx: AppContext) => ctx.set('Cache-Control', 'private, no-store');

  return [
    defineRoute({
      method: 'get',
      path: fieldBase,
      access: files,
      summary: '人事档案字段：固定字段与自定义字段（默认只列启用的）',
      tags,
      query: fieldListQuery,
      handler: async (_ctx, { query }) => ({
        fixed: FIXED_KEYS.map((k) => ({ key: k, label: FIXED_FIELDS[k].label, kind: FIXED_FIELDS[k].kind, sensitive: (SENSITIVE_KEYS as readonly string[]).includes(k) })),
        items: await fields.list(query.includeDisabled === 'true'),
      }),
    }),
    defineRoute({
      method: 'post',
      path: fieldBase,
      access: files,
      summary: '新增自定义字段（文本、数字、日期、单选、多选、附件），随时可加',
      tags,
      body: createFieldBody,
      handler: async (ctx, { body }) => {
        const r = await fields.create(body, actorOf(ctx));
        ctx.status = 201;
        return r;
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${fieldBase}/:id`,
      access: files,
      summary: '修改自定义字段（已有人填写时不能改类型、不能删除在用的选项）',
      tags,
      params: idParam,
      body: patchFieldBody,
      handler: (ctx, { params, body }) => fields.update(params.id, body, actorOf(ctx)),
    }),
    defineRoute({
      method: 'delete',
      path: `${fieldBase}/:id`,
      access: files,
      summary: '删除（停用）自定义字段：已填写的内容和修改记录保留',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await fields.disable(params.id, actorOf(ctx));
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/org/person-files/lookup',
      access: files,
      summary: '按身份证号查找人员档案（身份证号放在请求体中，记入审计）',
      tags,
      body: lookupBody,
      handler: async (ctx, { body }) => {
        const userId = await svc.findByIdNumber(body.idNumber);
        await auditStandalone(deps.db, { ...auditActor(ctx), action: 'org.file.lookup', objectType: 'person_file', objectId: userId, detail: { found: userId !== null } }, deps.clock.now());
        noStore(ctx);
        return { userId };
      },
    }),
    defineRoute({
      method: 'get',
      path: fileOf(':id'),
      access: 'authenticated',
      summary: '人员档案（本人或人事档案管理员；敏感信息默认脱敏，reveal=true 显示明文需 org:sensitive 并记入审计）',
      tags,
      params: idParam,
      query: revealQuery,
      handler: async (ctx, { params, query }) => {
        const reveal = query.reveal === 'true';
        const viewer = await authorise(ctx, params.id, reveal, 'file');
        const r = await svc.get(params.id, viewer, reveal);
        await auditRead(ctx, params.id, reveal, 'file');
        noStore(ctx);
        return r;
      },
    }),
    defineRoute({
      method: 'patch',
      path: fileOf(':id'),
      access: files,
      summary: '修改人员档案（固定字段与自定义字段；逐项校验；带版本号，冲突返回 409；逐项记录修改历史）',
      tags,
      params: idParam,
      body: patchFileBody,
      handler: async (ctx, { params, body }) => {
        const r = await svc.update(params.id, body, actorOf(ctx), viewerOf(ctx));
        noStore(ctx);
        return r;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${fileOf(':id')}/history`,
      access: 'authenticated',
      summary: '人员档案修改历史（谁、何时、原值、新值；敏感字段脱敏，reveal=true 同上）',
      tags,
      params: idParam,
      query: historyQuery,
      handler: async (ctx, { params, query }) => {
        const reveal = query.reveal === 'true';
        const viewer = await authorise(ctx, params.id, reveal, 'history');
        const r = await svc.history(params.id, query, viewer, reveal);
        await auditRead(ctx, params.id, reveal, 'history');
        noStore(ctx);
        return r;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/me/file',
      access: 'authenticated',
      summary: '我的人事档案（敏感信息脱敏）',
      tags,
      handler: async (ctx) => {
        noStore(ctx);
        const viewer = viewerOf(ctx);
        return svc.get(viewer.userId, viewer, false);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/me/file/change-requests',
      access: 'authenticated',
      summary: '申请变更本人档案（固定字段与自定义字段；敏感信息请联系人事部门），组织人事管理员在信息变更中审批后生效',
      tags,
      body: requestBody,
      handler: async (ctx, { body }) => {
        const r = await svc.requestChange(viewerOf(ctx).userId, body, actorOf(ctx));
        ctx.status = 201;
        return r;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/me/file/history',
      access: 'authenticated',
      summary: '我的人事档案修改历史（敏感信息脱敏）',
      tags,
      query: mineHistoryQuery,
      handler: async (ctx, { query }) => {
        noStore(ctx);
        const viewer = viewerOf(ctx);
        return svc.history(viewer.userId, query, viewer, false);
      },
    }),
  ];
}
