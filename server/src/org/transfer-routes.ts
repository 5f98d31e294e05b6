import { z } from 'zod';
import { auditStandalone } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, auditActorOf, type AppContext } from '../http/context.ts';
import { badRequest, forbidden } from '../http/errors.ts';
import { pageQuery } from '../http/paging.ts';
import { contentDisposition } from '../files/service.ts';
import type { AppDeps } from '../deps.ts';
import { XLSX_MIME } from './excel-format.ts';
import { PeopleService, handoverRegistry } from './people.ts';
import { TRANSFER_STATUSES, TransferService, isCalendarDate } from './transfers.ts';
import { INFO_STATUSES, InfoChangeService } from './info-changes.ts';
import { workflowOf } from '../workflow/module.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const posId = (what: string) => z.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`);
const queryId = (what: string) => z.coerce.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`).optional();
const calendarDate = (what: string) => z.string().refine(isCalendarDate, `${what}格式应为 YYYY-MM-DD`);
const optText = (max: number, what: string) => z.string().trim().max(max, `${what}不能超过 ${max} 个字符`).nullable().optional();

const transferFilters = {
  status: z.enum(TRANSFER_STATUSES, { error: '状态只能是 draft、approved、effective、cancelled 或 failed' }).optional().describe('failed：生效失败，待重试或撤销（R12.3）'),
  personId: queryId('人员编号'),
  deptId: queryId('部门编号').describe('调出或调入该部门'),
  dateFrom: calendarDate('起始日期').optional().describe('生效日期不早于'),
  dateTo: calendarDate('截止日期').optional().describe('生效日期不晚于'),
};
const listQuery = z.strictObject({ ...pageQuery, ...transferFilters });
const exportQuery = z.strictObject(transferFilters);
const lookupQuery = z.strictObject({ q: z.string().trim().min(1, '请输入工号或姓名').max(64).describe('工号（不区分大小写）或完整姓名') });
const createBody = z
  .strictObject({
    personId: posId('人员编号').optional(),
    person: z.string().trim().min(1).max(64).optional().describe('没有 personId 时：工号或完整姓名'),
    toDeptId: posId('调入部门').describe('调入部门'),
    toPostId: posId('岗位').nullable().optional().describe('新岗位；不填则保持原岗位，null 为无'),
    toPositionId: posId('职务').nullable().optional().describe('新职务；不填则保持原职务，null 为无'),
    effectiveDate: calendarDate('生效日期').describe('生效日期（北京时间），当天 0 点生效'),
    reason: z.string().trim().min(1, '请填写调动原因').max(500, '调动原因不能超过 500 个字符'),
  })
  .refine((b) => b.personId !== undefined || b.person !== undefined, { message: '请填写调动人员（personId 或工号/姓名）', path: ['personId'] });
const cancelBody = z.strictObject({ reason: z.string().trim().max(500, '撤销原因不能超过 500 个字符').optional() }).optional();

const infoChanges = z
  .strictObject({
    mobile: optText(32, '手机号'),
    workPhone: optText(32, '办公电话'),
    email: z.email('邮箱格式不正确').max(128).nullable().optional(),
    mobilePublic: z.boolean().optional(),
    gender: z.enum(['男', '女']).nullable().optional(),
  })
  .describe('要变更的字段及新值');
const infoBody = z.strictObject({
  personId: posId('人员编号').optional().describe('只能是本人；不填即本人'),
  changes: infoChanges,
  reason: z.string().trim().max(500, '说明不能超过 500 个字符').optional(),
});
const infoListQuery = z.strictObject({
  ...pageQuery,
  status: z.enum(INFO_STATUSES, { error: '状态只能是 pending、approved 或 rejected' }).optional(),
  userId: queryId('人员编号'),
});
const mineQuery = z.strictObject({ ...pageQuery });
const rejectBody = z.strictObject({ reason: z.string().trim().min(1, '请填写驳回原因').max(500, '驳回原因不能超过 500 个字符') });
const batchBody = z.strictObject({
  personIds: z.array(posId('人员编号')).min(1, '请选择人员').max(2000, '一次最多修改 2000 人'),
  fields: z.strictObject({
    deptId: posId('部门').optional(),
    postId: posId('岗位').nullable().optional(),
    titleId: posId('职称').nullable().optional(),
    positionId: posId('职务').nullable().optional(),
  }),
});

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

function userOf(ctx: AppContext): number {
  return ctx.state.principal!.userId;
}

/** The process whose instances approve transfers when it is published and enabled. */
export const TRANSFER_PROCESS = 'org-transfer';

/**
 * Transfers approved through the workflow engine (issue 3 item 5 wired to issue 4): with a
 * published, enabled `org-transfer` process, creating a transfer starts an instance (form data:
 * the transfer's summary and `transferId`); its automatic action `org.transfer.approve` approves
 * the transfer inside the engine's unit of work. Without that process, approval stays a direct,
 * audited action.
 */
function wireTransferApprovals(deps: AppDeps, transfers: TransferService, people: PeopleService): void {
  const wf = workflowOf(deps);
  wf.actions.set('org.transfer.approve', async (_params, run) => {
    const id = Number(run.inst.formData.transferId);
    if (!Number.isInteger(id) || id <= 0) throw badRequest('流程数据缺少调动编号（transferId），无法批准调动', undefined, 'NO_TRANSFER_ID');
    const moved = await transfers.approveInUnit(run.uow, id, { id: run.actor.id, name: run.actor.name }).catch(TransferService.refusal);
    if (moved !== null) run.uow.t.afterCommit(() => void people.afterChange([moved]));
  });
  transfers.approvals = {
    async start(tr, actor) {
      const p = await deps.db.models.WfProcess.findOne({ where: { processKey: TRANSFER_PROCESS }, attributes: ['enabled', 'latestVersion'], raw: true });
      if (!p?.enabled || !p.latestVersion || actor.id === null) return null;
      return wf.service.start(
        { id: actor.id, name: actor.name ?? '' },
        {
          processKey: TRANSFER_PROCESS,
          title: `人员调动：${tr.person.name}（${tr.fromDept?.name ?? '无部门'} → ${tr.toDept?.name ?? ''}）`,
          formData: { transferId: tr.id, person: tr.person.name, employeeNo: tr.person.employeeNo, fromDept: tr.fromDept?.name ?? null, toDept: tr.toDept?.name ?? null, effectiveDate: tr.effectiveDate, reason: tr.reason },
        },
      );
    },
    // a running or rejected approval cannot be bypassed by a direct approval
    async running(instanceId, t) {
      const inst = await deps.db.models.WfInstance.findByPk(instanceId, { attributes: ['status'], raw: true, transaction: t });
      return !!inst && ['draft', 'running', 'rejected'].includes(inst.status);
    },
  };
}

/** Transfers (调动), information changes (信息变更) and batch changes (issue 3 items 5 and 6). */
export function transferRoutes(deps: AppDeps): RouteSpec[] {
  const people = new PeopleService(deps.db, deps.clock, deps.sessions, handoverRegistry(deps));
  const transfers = new TransferService(deps.db, deps.clock, people, deps.jobs, deps.notices);
  transfers.registerJob();
  wireTransferApprovals(deps, transfers, people);
  const info = new InfoChangeService(deps.db, deps.clock, people, deps.notices);
  const manage = { permission: 'org:manage' } as const;
  const tags = ['组织人事'];
  const base = '/api/v1/org/transfers';
  const infoBase = '/api/v1/org/info-changes';
  return [
    defineRoute({
      method: 'get',
      path: `${base}/lookup`,
      access: manage,
      summary: '按工号或姓名查人员现部门、岗位、职务（填写调动单用）',
      tags,
      query: lookupQuery,
      handler: async (_ctx, { query }) => ({ items: await transfers.lookup(query.q) }),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/export.xlsx`,
      access: manage,
      summary: '导出调动汇总（Excel）',
      tags,
      query: exportQuery,
      handler: async (ctx, { query }) => {
        const { buffer, count } = await transfers.exportWorkbook(query);
        await auditStandalone(deps.db, { ...auditActorOf(ctx), action: 'org.transfer.export', objectType: 'transfer', detail: { filters: query, count } }, deps.clock.now());
        ctx.set('Content-Disposition', contentDisposition(`调动汇总-${stamp(deps.clock.now())}.xlsx`));
        ctx.set('Cache-Control', 'private, no-store');
        ctx.type = XLSX_MIME;
        ctx.body = buffer;
      },
    }),
    defineRoute({
      method: 'get',
      path: base,
      access: manage,
      summary: '调动记录（按状态、人员、部门、生效日期筛选，分页）',
      tags,
      query: listQuery,
      handler: (_ctx, { query }) => transfers.list(query),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/:id`,
      access: manage,
      summary: '调动详情',
      tags,
      params: idParam,
      handler: (_ctx, { params }) => transfers.get(params.id),
    }),
    defineRoute({
      method: 'post',
      path: base,
      access: manage,
      summary: '新建调动（人员可用编号、工号或姓名指定；原部门、岗位、职务自动带出）',
      tags,
      body: createBody,
      handler: async (ctx, { body }) => {
        const r = await transfers.create(body, actorOf(ctx));
        ctx.status = 201;
        return r;
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:id/approve`,
      access: manage,
      summary: '审批调动：通知本人及调出、调入部门负责人；生效日 0 点自动调整（日期已到则立即调整）',
      tags,
      params: idParam,
      handler: (ctx, { params }) => transfers.approve(params.id, actorOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:id/retry`,
      access: manage,
      summary: '重试生效失败的调动（处理失败原因后）：立即生效；仍无法生效时返回 409 并说明原因（R12.3）',
      tags,
      params: idParam,
      handler: (ctx, { params }) => transfers.retry(params.id, actorOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:id/cancel`,
      access: manage,
      summary: '撤销未生效的调动（含生效失败的调动）',
      tags,
      params: idParam,
      body: cancelBody,
      handler: (ctx, { params, body }) => transfers.cancel(params.id, body?.reason, actorOf(ctx)),
    }),

    defineRoute({
      method: 'post',
      path: infoBase,
      access: 'authenticated',
      summary: '申请变更本人信息（手机号、办公电话、邮箱、手机号是否公开、性别），审批后生效',
      tags,
      body: infoBody,
      handler: async (ctx, { body }) => {
        const me = userOf(ctx);
        if (body.personId !== undefined && body.personId !== me) throw forbidden('只能申请变更本人的信息', 'NOT_SELF');
        const r = await info.request(me, body.changes, body.reason ?? null, actorOf(ctx));
        ctx.status = 201;
        return r;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${infoBase}/mine`,
      access: 'authenticated',
      summary: '我的信息变更申请',
      tags,
      query: mineQuery,
      handler: (ctx, { query }) => info.list({ ...query, userId: userOf(ctx) }),
    }),
    defineRoute({
      method: 'get',
      path: infoBase,
      access: manage,
      summary: '信息变更申请（按状态、人员筛选，分页）',
      tags,
      query: infoListQuery,
      handler: (_ctx, { query }) => info.list(query),
    }),
    defineRoute({
      method: 'post',
      path: `${infoBase}/:id/approve`,
      access: manage,
      summary: '批准信息变更：更新档案并通知本人',
      tags,
      params: idParam,
      handler: (ctx, { params }) => info.approve(params.id, actorOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: `${infoBase}/:id/reject`,
      access: manage,
      summary: '驳回信息变更并通知本人',
      tags,
      params: idParam,
      body: rejectBody,
      handler: (ctx, { params, body }) => info.reject(params.id, body.reason, actorOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/org/people/batch-update',
      access: manage,
      summary: '批量修改人员的部门、岗位、职称或职务（全部成功或全部不改，逐人审计）',
      tags,
      body: batchBody,
      handler: (ctx, { body }) => info.batchUpdate(body.personIds, body.fields, actorOf(ctx)),
    }),
  ];
}
