import { z } from 'zod';
import { auditStandalone } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { auditActorOf, type AppContext } from '../http/context.ts';
import { badRequest } from '../http/errors.ts';
import { contentDisposition } from '../files/service.ts';
import type { AppDeps } from '../deps.ts';
import { markOpened, nodeStatsWorkbook, WorkflowStats, type Range } from './stats.ts';

const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const when = (what: string) => z.coerce.date({ error: `${what}格式不正确` }).optional();
const rangeQuery = {
  from: when('开始时间').describe('统计区间开始（含）'),
  to: when('结束时间').describe('统计区间结束（不含）'),
};
const nodesQuery = z.strictObject({ ...rangeQuery, version: z.coerce.number({ error: '版本号必须是正整数' }).int('版本号必须是正整数').positive('版本号必须是正整数').optional().describe('只统计这个版本') });

function checkRange(r: Range): Range {
  if (r.from && r.to && r.to <= r.from) throw badRequest('结束时间必须晚于开始时间', [{ path: 'to', message: '结束时间必须晚于开始时间' }], 'BAD_RANGE');
  return r;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

/** Workflow statistics (R3.9, R3.14, R3.15) and the task-opened mark under /api/v1/workflow. */
export function statsRoutes(deps: AppDeps): RouteSpec[] {
  const stats = new WorkflowStats(deps.db);
  const admin = { permission: 'workflow:admin' } as const;
  const tags = ['流程统计'];
  const base = '/api/v1/workflow';
  return [
    defineRoute({
      method: 'post',
      path: `${base}/tasks/:id/opened`,
      access: 'authenticated',
      summary: '记录处理人首次打开任务的时间（客户端显示任务时调用；只记录第一次，用于统计打开耗时）',
      tags,
      params: idParam,
      handler: (ctx: AppContext, { params }) => markOpened(deps.db, params.id, ctx.state.principal!.userId, deps.clock.now()),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/stats/processes/:id/nodes`,
      access: admin,
      summary: '流程节点效率：任务数、打开与办理耗时（中位数、P90）、退回、驳回、加签、转签、催办、超时次数，以及实例按结果计数',
      tags,
      params: idParam,
      query: nodesQuery,
      handler: (_ctx, { params, query }) => stats.nodes(params.id, { ...checkRange(query), version: query.version }),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/stats/processes/:id/nodes.xlsx`,
      access: admin,
      summary: '导出流程节点效率表（Excel）',
      tags,
      params: idParam,
      query: nodesQuery,
      handler: async (ctx, { params, query }) => {
        const s = await stats.nodes(params.id, { ...checkRange(query), version: query.version });
        const buffer = await nodeStatsWorkbook(s);
        await auditStandalone(deps.db, { ...auditActorOf(ctx), action: 'workflow.stats.export', objectType: 'wf_process', objectId: params.id, detail: { nodes: s.nodes.length, from: query.from ?? null, to: query.to ?? null, version: query.version ?? null } }, deps.clock.now());
        ctx.set('Content-Disposition', contentDisposition(`${s.process.name}-节点效率-${stamp(deps.clock.now())}.xlsx`));
        ctx.set('Cache-Control', 'private, no-store');
        ctx.type = XLSX_MIME;
        ctx.body = buffer;
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/stats/overview`,
      access: admin,
      summary: '流程统计总览：各流程按结果（运行中、已办结、已驳回、已撤回、已终止）计数及平均耗时',
      tags,
      query: z.strictObject(rangeQuery),
      handler: (_ctx, { query }) => stats.overview(checkRange(query)),
    }),
  ];
}
