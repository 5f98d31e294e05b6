import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf } from '../http/context.ts';
import { notFound } from '../http/errors.ts';
import { passwordPolicySchema } from '../settings/service.ts';
import { pageQuery, pageWindow } from '../http/paging.ts';
import { normaliseUsername } from './passwords.ts';
import type { AppDeps } from '../deps.ts';

/** R18 security settings: password rules, unlocking, the login log (security administrator). */
export function securityRoutes(deps: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/security/password-policy',
      access: { permission: 'security:policy' },
      summary: '查看密码策略',
      tags: ['安全'],
      response: passwordPolicySchema,
      handler: () => deps.settings.get('security.passwordPolicy'),
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/security/password-policy',
      access: { permission: 'security:policy' },
      summary: '修改密码策略',
      tags: ['安全'],
      body: passwordPolicySchema,
      response: passwordPolicySchema,
      handler: async (ctx, { body }) => {
        await deps.settings.set('security.passwordPolicy', body, actorOf(ctx));
        return body;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/security/users/:id/unlock',
      access: { permission: 'security:unlock' },
      summary: '解除账号锁定',
      tags: ['安全'],
      params: z.strictObject({ id: z.coerce.number().int().positive() }),
      handler: async (ctx, { params }) => {
        if (!(await deps.auth.unlock(params.id, actorOf(ctx)))) throw notFound('用户不存在');
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/security/login-log',
      access: { permission: 'security:login-log' },
      summary: '登录日志',
      tags: ['安全'],
      query: z.strictObject({
        ...pageQuery,
        username: z.string().max(64).optional(),
        result: z.enum(['success', 'failure', 'locked', 'rate_limited', 'disabled', 'logout']).optional(),
      }),
      handler: async (_ctx, { query }) => {
        const where: Record<string, unknown> = {};
        // exact (normalised) name: LIKE escaping is not portable (SQLite has no default escape character)
        if (query.username) where.username = normaliseUsername(query.username);
        if (query.result) where.result = query.result;
        const { rows, count } = await deps.db.models.LoginLog.findAndCountAll({
          where,
          order: [['id', 'DESC']],
          ...pageWindow(query),
        });
        return { total: count, items: rows };
      },
    }),
  ];
}
