import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../deps.ts';
import { MATCH_KINDS, peopleSearch, SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, SEARCH_Q_MAX } from './search.ts';

const flag = (name: string) =>
  z
    .enum(['true', 'false'], { error: `${name}只能是 true 或 false` })
    .default('true')
    .transform((v) => v === 'true');
const id = (what: string) => z.coerce.number({ error: `${what}必须是正整数` }).int(`${what}必须是正整数`).positive(`${what}必须是正整数`).optional();

export const peopleSearchQuery = z.strictObject({
  q: z.string({ error: '搜索词只能出现一次' }).trim().max(SEARCH_Q_MAX, `搜索词不能超过 ${SEARCH_Q_MAX} 个字符`).optional(),
  deptId: id('部门编号'),
  includeSubtree: flag('是否包含下级部门'),
  roleCode: z.string({ error: '角色编码只能出现一次' }).trim().min(1, '角色编码不能为空').max(64, '角色编码不能超过 64 个字符').optional(),
  postId: id('岗位编号'),
  campusId: id('院区编号'),
  activeOnly: flag('是否只含在职人员'),
  limit: z.coerce
    .number({ error: '返回条数必须是整数' })
    .int('返回条数必须是整数')
    .min(1, '返回条数至少为 1')
    .max(SEARCH_LIMIT_MAX, `返回条数不能超过 ${SEARCH_LIMIT_MAX}`)
    .default(SEARCH_LIMIT_DEFAULT),
});

const personHit = z.object({
  id: z.number().int(),
  name: z.string(),
  employeeNo: z.string().nullable(),
  status: z.enum(['active', 'disabled']),
  dept: z.object({ id: z.number().int(), name: z.string() }).nullable(),
  post: z.string().nullable(),
  title: z.string().nullable(),
  position: z.string().nullable(),
  campus: z.string().nullable(),
  match: z.enum(MATCH_KINDS).nullable(),
});

/** People search and pickers (R3.17). */
export function searchRoutes(deps: AppDeps): RouteSpec[] {
  const search = peopleSearch(deps);
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/org/people/search',
      access: 'authenticated',
      summary: '人员搜索（选人控件）：工号、姓名、全拼、首字母，可按部门（含下级）、角色、岗位、院区筛选',
      tags: ['组织人事'],
      query: peopleSearchQuery,
      response: z.object({ items: z.array(personHit) }),
      handler: async (_ctx, { query }) => ({ items: await search.search(query) }),
    }),
  ];
}
