import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, type AppContext } from '../http/context.ts';
import { pageQuery } from '../http/paging.ts';
import { hasPermission } from '../access/principal.ts';
import type { AppDeps } from '../deps.ts';
import { PEOPLE_SORTS, PeopleService, handoverRegistry, type Viewer } from './people.ts';

const idParam = z.strictObject({ id: z.coerce.number().int().positive() });
const posId = (what: string) => z.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`);
const queryId = (what: string) => z.coerce.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`).optional();
const flag = (name: string, dflt: 'true' | 'false') =>
  z
    .enum(['true', 'false'], { error: `${name}只能是 true 或 false` })
    .default(dflt)
    .transform((v) => v === 'true');
const optText = (max: number, what: string) => z.string().trim().max(max, `${what}不能超过 ${max} 个字符`).nullable().optional();

const listQuery = z.strictObject({
  ...pageQuery,
  sort: z.enum(PEOPLE_SORTS, { error: '排序字段只能是 employeeNo、name、dept 或 sort' }).default('sort').describe('排序：工号、姓名（拼音序）、部门（按部门树顺序）、排序号'),
  order: z.enum(['asc', 'desc'], { error: '排序方向只能是 asc 或 desc' }).default('asc'),
  deptId: queryId('部门编号'),
  includeSubtree: flag('是否包含下级部门', 'true'),
  includeSecondary: flag('是否包含兼职人员', 'false'),
  status: z.enum(['active', 'disabled'], { error: '状态只能是 active 或 disabled' }).optional(),
  postId: queryId('岗位编号'),
  titleId: queryId('职称编号'),
  positionId: queryId('职务编号'),
});

const personFields = {
  name: z.string().trim().min(1, '姓名不能为空').max(64, '姓名不能超过 64 个字符').describe('姓名'),
  deptId: posId('所属部门').describe('主部门'),
  postId: posId('岗位').nullable().optional(),
  titleId: posId('职称').nullable().optional(),
  positionId: posId('职务').nullable().optional(),
  superiorId: posId('直接上级').nullable().optional().describe('直接上级；不填时按部门负责人链推算'),
  workPhone: optText(32, '办公电话'),
  mobile: optText(32, '手机号'),
  mobilePublic: z.boolean().optional().describe('同事能否在通讯录中看到手机号'),
  email: z.email('邮箱格式不正确').max(128).nullable().optional(),
  gender: z.enum(['男', '女']).nullable().optional(),
  sort: z.number().int().min(0).max(1_000_000).optional().describe('排序号，小的在前'),
};
const employeeNo = z
  .string()
  .trim()
  .min(1, '工号不能为空')
  .max(32, '工号不能超过 32 个字符')
  .regex(/^[\p{L}\p{N}_.-]+$/u, '工号只能包含字母、数字和 - _ .')
  .describe('工号，全院唯一');
const username = z
  .string()
  .trim()
  .min(1, '登录名不能为空')
  .max(64, '登录名不能超过 64 个字符')
  .regex(/^[\p{L}\p{N}_.@-]+$/u, '登录名只能包含字母、数字和 - _ . @')
  .describe('登录名；不填时使用工号（不区分大小写和全角半角）');

const createBody = z.strictObject({ ...personFields, employeeNo: employeeNo.nullable().optional(), username: username.optional() });
const patchBody = z.strictObject({
  name: personFields.name.optional(),
  deptId: personFields.deptId.optional(),
  postId: personFields.postId,
  titleId: personFields.titleId,
  positionId: personFields.positionId,
  superiorId: personFields.superiorId,
  workPhone: personFields.workPhone,
  mobile: personFields.mobile,
  mobilePublic: personFields.mobilePublic,
  email: personFields.email,
  gender: personFields.gender,
  sort: personFields.sort,
  employeeNo: employeeNo.nullable().optional(),
  username: username.optional(),
  version: z.number({ error: '缺少版本号 version（编辑前读取到的版本）' }).int().min(0).describe('编辑前读取到的版本号；已被他人修改时返回 409'),
});
const secondaryBody = z.strictObject({ deptIds: z.array(posId('部门编号')).max(50, '兼职部门最多 50 个').describe('兼职部门（整体替换）') });
const rolesBody = z.strictObject({
  roles: z
    .array(
      z.strictObject({
        code: z.string().trim().min(1).max(64).describe('角色编码'),
        deptId: posId('部门编号').optional().describe('只在该部门有效；不填为全院'),
        subtree: z.boolean().optional().describe('与 deptId 一起：是否包含下级部门（默认是）'),
      }),
    )
    .max(100)
    .describe('角色（整体替换；三员管理员角色不在此管理）'),
});
const disableBody = z.strictObject({
  successorId: posId('交接人').describe('接手其待办工作和领导职务的人员'),
  reason: z.string().trim().min(1, '请填写停用原因').max(500, '停用原因不能超过 500 个字符'),
});

function viewerOf(ctx: AppContext): Viewer {
  const p = ctx.state.principal;
  return { userId: p?.userId ?? 0, canManage: hasPermission(p, 'org:manage') };
}

/** People (issue 3 items 1 and 10): reading for everyone signed in (picker fields), changes for org:manage. */
export function peopleRoutes(deps: AppDeps): RouteSpec[] {
  const svc = new PeopleService(deps.db, deps.clock, deps.sessions, handoverRegistry(deps));
  const manage = { permission: 'org:manage' } as const;
  const tags = ['组织人事'];
  const base = '/api/v1/org/people';
  return [
    defineRoute({
      method: 'get',
      path: base,
      access: 'authenticated',
      summary: '人员列表（分页、排序，按部门含下级、状态、岗位、职称、职务筛选）',
      tags,
      query: listQuery,
      handler: (ctx, { query }) => svc.list(query, viewerOf(ctx)),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/:id`,
      access: 'authenticated',
      summary: '人员详情（兼职部门、直接上级；管理员另见角色和账号信息）',
      tags,
      params: idParam,
      handler: (ctx, { params }) => svc.get(params.id, viewerOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: base,
      access: manage,
      summary: '新建人员（初始密码随机生成，只在本次返回）',
      tags,
      body: createBody,
      handler: async (ctx, { body }) => {
        const r = await svc.create(body, actorOf(ctx), viewerOf(ctx));
        ctx.status = 201;
        ctx.set('Cache-Control', 'no-store');
        return { ...r.person, initialPassword: r.initialPassword };
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/:id`,
      access: manage,
      summary: '修改人员信息（需带上读取时的 version）',
      tags,
      params: idParam,
      body: patchBody,
      handler: (ctx, { params, body }) => svc.update(params.id, body, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'put',
      path: `${base}/:id/secondary-departments`,
      access: manage,
      summary: '设置兼职部门',
      tags,
      params: idParam,
      body: secondaryBody,
      handler: (ctx, { params, body }) => svc.setSecondaryDepts(params.id, body.deptIds, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'put',
      path: `${base}/:id/roles`,
      access: manage,
      summary: '设置角色（全院或按部门）；立即生效，无需重新登录',
      tags,
      params: idParam,
      body: rolesBody,
      handler: (ctx, { params, body }) => svc.setRoles(params.id, body.roles, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:id/disable`,
      access: manage,
      summary: '停用人员并指定交接人（移交领导职务和待办，立即下线；保留全部历史）',
      tags,
      params: idParam,
      body: disableBody,
      handler: (ctx, { params, body }) => svc.disable(params.id, body, actorOf(ctx), viewerOf(ctx)),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:id/enable`,
      access: manage,
      summary: '重新启用人员',
      tags,
      params: idParam,
      handler: (ctx, { params }) => svc.enable(params.id, actorOf(ctx), viewerOf(ctx)),
    }),
  ];
}
