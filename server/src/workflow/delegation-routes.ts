import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, type AppContext } from '../http/context.ts';
import { pageQuery } from '../http/paging.ts';
import { hasPermission } from '../access/principal.ts';
import type { AppDeps } from '../deps.ts';
import type { Person } from './service.ts';
import { delegationsOf } from './delegations.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const posId = (what: string) => z.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`);
const when = (what: string) => z.coerce.date({ error: `${what}格式不正确` });

const createBody = z.strictObject({
  delegatorId: posId('委托人').optional().describe('委托人；不填为本人，为他人设置需要流程管理员权限'),
  delegateId: posId('受托人').describe('受托人'),
  processId: posId('流程').nullable().optional().describe('只委托这个流程（与流程分类二选一，都不填为全部流程）'),
  categoryId: posId('流程分类').nullable().optional().describe('只委托这个分类下的流程'),
  condition: z.string().trim().max(2000, '委托条件不能超过 2000 个字符').nullable().optional().describe('表单字段条件，如 form.amount <= 5000'),
  startsAt: when('开始时间').optional().describe('开始时间，不填为立即开始'),
  endsAt: when('结束时间').describe('结束时间（最长一年）'),
});

function who(ctx: AppContext): Person {
  const p = ctx.state.principal!;
  const a = actorOf(ctx);
  return { id: p.userId, name: p.name || p.username, ip: a.ip ?? null, requestId: a.requestId ?? null, admin: hasPermission(p, 'workflow:admin') };
}

/** Out-of-office delegation (R3.11, R5.1) under /api/v1/workflow/delegations. */
export function delegationRoutes(deps: AppDeps): RouteSpec[] {
  const svc = delegationsOf(deps);
  const tags = ['流程委托'];
  const base = '/api/v1/workflow/delegations';
  return [
    defineRoute({
      method: 'post',
      path: base,
      access: 'authenticated',
      summary: '设置委托（本人；流程管理员可为他人设置）：期间新到的待办交由受托人办理',
      tags,
      body: createBody,
      handler: async (ctx, { body }) => {
        const view = await svc.create(who(ctx), body);
        ctx.status = 201;
        return view;
      },
    }),
    defineRoute({
      method: 'get',
      path: base,
      access: 'authenticated',
      summary: '我的委托：我委托出去的和委托给我的',
      tags,
      handler: (ctx) => svc.mine(ctx.state.principal!.userId),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/all`,
      access: { permission: 'workflow:admin' },
      summary: '全部委托（流程管理员）',
      tags,
      query: z.strictObject({
        ...pageQuery,
        userId: z.coerce.number().int().positive().optional().describe('委托人或受托人'),
        status: z.enum(['active', 'ended'], { error: '状态只能是 active 或 ended' }).optional(),
      }),
      handler: (_ctx, { query }) => svc.all(query),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:id/end`,
      access: 'authenticated',
      summary: '提前结束委托：受托人手中尚未办理的委托任务自动退回委托人',
      tags,
      params: idParam,
      handler: (ctx, { params }) => svc.end(who(ctx), params.id),
    }),
  ];
}
