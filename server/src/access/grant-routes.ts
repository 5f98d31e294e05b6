import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf } from '../http/context.ts';
import type { AppDeps } from '../deps.ts';
import { EFFECTS, SUBJECT_TYPES, SUBJECT_TYPE_NAMES } from './grants.ts';

// Resource grants and admin ranges (管理范围): authorisation policy belongs to the security
// administrator (等保 三员), hence `security:grants`. Every change is audited with before/after
// by the service.

const resourceType = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, { error: '资源类型只能包含小写字母、数字和下划线，并以字母开头' })
  .describe('资源类型，如 dept（部门）；各模块注册自己的类型');
const resourceId = z.string().trim().min(1).max(64).describe('资源编号');
const subjectTypeList = SUBJECT_TYPES.map((s) => `${s}（${SUBJECT_TYPE_NAMES[s]}）`).join('、');

const createBody = z.strictObject({
  resourceType,
  resourceId: z.union([resourceId, z.number().int().positive()], { error: '资源编号应为非空字符串或正整数' }).transform(String),
  subjectType: z.enum(SUBJECT_TYPES, { error: `授权对象类型无效，应为：${subjectTypeList}` }).describe('授权对象类型'),
  subjectId: z.number().int().positive().nullable().optional().describe('人员、部门、角色、岗位或人员组的编号；全体人员不填'),
  subtree: z.boolean().optional().describe('授权给部门时是否包含全部下级部门（默认包含）'),
  action: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9_]*$/, { error: '操作只能包含小写字母、数字和下划线' })
    .describe('操作：view 查看、edit 编辑、manage 管理（含其余全部操作）等'),
  effect: z.enum(EFFECTS, { error: '授权效果只能是 allow（允许）或 deny（禁止）' }).describe('allow 允许；deny 禁止（任何一级的禁止都优先于允许）'),
});

export function grantRoutes(deps: AppDeps): RouteSpec[] {
  const access = { permission: 'security:grants' } as const;
  const tags = ['访问控制'];
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/access/resource-types',
      access,
      summary: '可授权的资源类型及其操作',
      tags,
      handler: () => ({ items: deps.access.resourceTypes() }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/access/grants',
      access,
      summary: '某资源上的授权（含从上级资源继承的授权）',
      tags,
      query: z.strictObject({ resourceType, resourceId }),
      handler: (_ctx, { query }) => deps.access.listGrants({ type: query.resourceType, id: query.resourceId }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/access/grants',
      access,
      summary: '新增授权（允许或禁止某对象对某资源执行某操作）',
      tags,
      body: createBody,
      handler: async (ctx, { body }) => {
        const grant = await deps.access.createGrant(body, actorOf(ctx));
        ctx.status = 201;
        return grant;
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/access/grants/:id',
      access,
      summary: '删除授权',
      tags,
      params: z.strictObject({ id: z.coerce.number().int().positive() }),
      handler: async (ctx, { params }) => {
        await deps.access.deleteGrant(params.id, actorOf(ctx));
        ctx.status = 204;
      },
    }),
  ];
}
