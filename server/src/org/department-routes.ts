import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf } from '../http/context.ts';
import type { AppDeps } from '../deps.ts';
import { DEPT_KINDS, DepartmentService } from './departments.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const userId = z.number().int().positive();
const code = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: '部门编码只能包含字母、数字和 - _ .，并以字母或数字开头' })
  .describe('部门编码，全院唯一（不区分大小写）');
const name = z.string().trim().min(1).max(100).describe('部门名称');
const kind = z.enum(DEPT_KINDS).describe('类别：clinical 临床、medtech 医技、admin 行政、logistics 后勤');
const deptFields = {
  code,
  name,
  parentId: z.number().int().positive().nullable().describe('上级部门；null 表示顶级部门'),
  kind,
  campusId: z.number().int().positive().nullable().optional().describe('所属院区；不填时沿用上级部门的院区'),
  sort: z.number().int().min(0).max(1_000_000).optional().describe('同级排序，小的在前；不填时排在最后'),
  enabled: z.boolean().optional(),
};

const createBody = z.strictObject(deptFields);
const patchBody = z
  .strictObject({
    code: code.optional(),
    name: name.optional(),
    parentId: deptFields.parentId.optional().describe('新的上级部门（移动部门，连同全部下级）'),
    kind: kind.optional(),
    campusId: deptFields.campusId,
    sort: deptFields.sort,
    enabled: deptFields.enabled,
  })
  .refine((b) => Object.keys(b).length > 0, { error: '请至少提供一个要修改的字段' });
const leadersBody = z.strictObject({
  heads: z.array(userId).max(20).describe('部门负责人（按顺序）'),
  deputies: z.array(userId).max(50).describe('部门副职（按顺序）'),
});
const chargeBody = z.strictObject({ userIds: z.array(userId).max(20).describe('分管领导') });

/** Department tree maintenance (R12.0): reading for everyone signed in, changes for org:manage. */
export function departmentRoutes(deps: AppDeps): RouteSpec[] {
  const svc = new DepartmentService(deps.db, deps.clock);
  const manage = { permission: 'org:manage' } as const;
  const tags = ['组织架构'];
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/org/departments',
      access: 'authenticated',
      summary: '部门树（含负责人和人数）',
      tags,
      query: z.strictObject({ enabledOnly: z.enum(['true', 'false']).optional().describe('只看启用的部门') }),
      handler: async (_ctx, { query }) => ({ items: await svc.tree({ enabledOnly: query.enabledOnly === 'true' }) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/org/departments/:id',
      access: 'authenticated',
      summary: '部门详情',
      tags,
      params: idParam,
      handler: (_ctx, { params }) => svc.get(params.id),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/org/departments',
      access: manage,
      summary: '新建部门',
      tags,
      body: createBody,
      handler: async (ctx, { body }) => {
        const dept = await svc.create(body, actorOf(ctx));
        ctx.status = 201;
        return dept;
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/v1/org/departments/:id',
      access: manage,
      summary: '修改部门（改名、编码、类别、院区、排序、启停；改上级部门即移动整棵子树）',
      tags,
      params: idParam,
      body: patchBody,
      handler: (ctx, { params, body }) => svc.update(params.id, body, actorOf(ctx)),
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/org/departments/:id/leaders',
      access: manage,
      summary: '设置部门负责人和副职',
      tags,
      params: idParam,
      body: leadersBody,
      handler: (ctx, { params, body }) => svc.setLeaders(params.id, body, actorOf(ctx)),
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/org/departments/:id/leaders-in-charge',
      access: manage,
      summary: '设置分管领导',
      tags,
      params: idParam,
      body: chargeBody,
      handler: (ctx, { params, body }) => svc.setLeadersInCharge(params.id, body, actorOf(ctx)),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/org/departments/:id',
      access: manage,
      summary: '删除部门（仅限没有下级部门和人员的部门）',
      tags,
      params: idParam,
      handler: async (ctx, { params }) => {
        await svc.remove(params.id, actorOf(ctx));
        ctx.status = 204;
      },
    }),
  ];
}
