import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, type AppContext } from '../http/context.ts';
import { hasPermission } from '../access/principal.ts';
import type { AppDeps } from '../deps.ts';
import { GROUP_MEMBERS_MAX, GroupService } from './groups.ts';
import type { Viewer } from './people.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const name = z.string().trim().min(1, '分组名称不能为空').max(100, '分组名称不能超过 100 个字符').describe('分组名称');
const memberIds = z
  .array(z.number({ error: '人员编号必须是正整数' }).int('人员编号必须是正整数').positive('人员编号必须是正整数'))
  .max(GROUP_MEMBERS_MAX, `分组成员最多 ${GROUP_MEMBERS_MAX} 人`)
  .describe('成员（整体替换）');

function viewerOf(ctx: AppContext): Viewer {
  const p = ctx.state.principal;
  return { userId: p?.userId ?? 0, canManage: hasPermission(p, 'org:manage') };
}

/** 自定义角色组: shared ones (org:manage maintains them) and everyone's personal ones. */
export function groupRoutes(deps: AppDeps): RouteSpec[] {
  const svc = new GroupService(deps.db, deps.clock);
  const tags = ['组织人事'];
  const base = '/api/v1/org/groups';
  return [
    defineRoute({
      method: 'get',
      path: base,
      access: 'authenticated',
      summary: '自定义分组：共享分组和本人的个人分组（含成员）',
      tags,
      handler: async (ctx) => ({ items: await svc.list(viewerOf(ctx)) }),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/:id`,
      access: 'authenticated',
      summary: '分组详情',
      tags,
      params: idParam,
      handler: (ctx, { params }) => svc.get(params.id, viewerOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: base,
      access: 'authenticated',
      summary: '新建分组（共享分组需组织人事管理权限）',
      tags,
      body: z.strictObject({ name, shared: z.boolean().optional().describe('共享给全院（需 org:manage）；默认为个人分组'), memberIds }),
      handler: async (ctx, { body }) => {
        const g = await svc.create(body, actorOf(ctx), viewerOf(ctx));
        ctx.status = 201;
        return g;
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/:id`,
      access: 'authenticated',
      summary: '重命名分组（本人的分组；共享分组需组织人事管理权限）',
      tags,
      params: idParam,
      body: z.strictObject({ name }),
      handler: (ctx, { params, body }) => svc.rename(params.id, body.name, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'put',
      path: `${base}/:id/members`,
      access: 'authenticated',
      summary: '设置分组成员',
      tags,
      params: idParam,
      body: z.strictObject({ memberIds }),
      handler: (ctx, { params, body }) => svc.setMembers(params.id, body.memberIds, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/:id`,
      access: 'authenticated',
      summary: '删除分组',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await svc.remove(params.id, actorOf(ctx), viewerOf(ctx));
        ctx.status = 204;
      },
    }),
  ];
}
