import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf } from '../http/context.ts';
import { badRequest, notFound } from '../http/errors.ts';
import type { AppDeps } from '../deps.ts';
import { WecomSyncRuns } from './sync-runs.ts';
import type { SyncOptions } from './sync.ts';

const startBody = z
  .strictObject({
    dryRun: z.boolean().default(false).describe('true：只比对并生成报告，不写入'),
    disableMissing: z.boolean().default(false).describe('停用企业微信中已不存在（或已禁用、离职）的人员；默认只报告。必须同时给出接替规则'),
    successorRule: z.enum(['dept_head', 'person']).optional().describe('dept_head：由本部门（或上级部门）负责人接替；person：由 successorEmployeeNo 指定的人接替'),
    successorEmployeeNo: z.string().trim().min(1).max(32).optional(),
  })
  .default({ dryRun: false, disableMissing: false });
const idParams = z.strictObject({ id: z.coerce.number().int().positive() });
const listQuery = z.strictObject({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
  kind: z.enum(['full', 'event']).optional().describe('full：全量同步；event：通讯录变更事件'),
});

/** WeCom contact sync routes (issue 6 item 5, P4, R12.0): start a full sync, its report, the history. */
export function wecomSyncRoutes(deps: AppDeps): RouteSpec[] {
  const runs = new WecomSyncRuns(deps);
  const access = { permission: 'org:manage' } as const;
  const tags = ['企业微信通讯录同步'];
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/wecom/sync',
      access,
      summary: '从企业微信全量同步部门和人员（后台任务，返回任务编号；冲突只报告不猜测，不删除本地数据）',
      tags,
      body: startBody,
      handler: async (ctx, { body }) => {
        const opts: SyncOptions = { dryRun: body.dryRun };
        if (body.disableMissing) {
          if (!body.successorRule) throw badRequest('停用企业微信中已不存在的人员时必须指定接替规则', [{ path: 'successorRule', message: '请选择接替规则' }], 'SUCCESSOR_RULE_REQUIRED');
          if (body.successorRule === 'person' && !body.successorEmployeeNo) {
            throw badRequest('请填写接替人工号', [{ path: 'successorEmployeeNo', message: '请填写接替人工号' }], 'SUCCESSOR_REQUIRED');
          }
          opts.disableMissing = true;
          opts.successor = body.successorRule === 'person' ? { rule: 'person', employeeNo: body.successorEmployeeNo! } : { rule: 'dept_head' };
        }
        const run = await runs.start(opts, actorOf(ctx));
        ctx.status = 202;
        ctx.set('Location', `/api/v1/wecom/sync/${run.id}`);
        return run;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/wecom/sync/:id',
      access,
      summary: '同步任务的进度和报告（新建、更新、冲突、企业微信中已不存在的人员）',
      tags,
      params: idParams,
      handler: async (_ctx, { params }) => {
        const run = await runs.get(params.id);
        if (!run) throw notFound('同步任务不存在');
        return run;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/wecom/sync',
      access,
      summary: '通讯录同步记录（全量同步和变更事件，最新在前）',
      tags,
      query: listQuery,
      handler: (_ctx, { query }) => runs.list(query),
    }),
  ];
}
