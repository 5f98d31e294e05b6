import { z } from 'zod';
import { DeviceCookie } from './device-cookie.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, type AppContext } from '../http/context.ts';
import { MAX_PASSWORD_LENGTH } from './password-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { Principal } from '../access/principal.ts';
import { passwordPolicySchema } from '../settings/service.ts';

const meSchema = z.object({
  id: z.number(),
  username: z.string(),
  name: z.string(),
  deptId: z.number().nullable(),
  roles: z.array(z.string()).describe('角色代码'),
  roleNames: z.array(z.string()).describe('角色名称，与 roles 一一对应'),
  permissions: z.array(z.string()),
  mustChangePassword: z.boolean(),
  csrfToken: z.string().nullable().describe('在 POST/PUT/PATCH/DELETE 请求头 X-CSRF-Token 中回传'),
});

function meOf(p: Principal, csrfToken: string | null): z.infer<typeof meSchema> {
  return {
    id: p.userId,
    username: p.username,
    name: p.name,
    deptId: p.deptId,
    roles: p.roles,
    roleNames: p.roleNames,
    permissions: [...p.permissions],
    mustChangePassword: p.mustChangePassword,
    csrfToken,
  };
}

function loginMeta(ctx: AppContext, deps: AppDeps) {
  return {
    ip: ctx.state.ip,
    userAgent: ctx.get('user-agent') || null,
    requestId: ctx.state.requestId,
    knownAccounts: deps.deviceCookie.read(ctx.cookies.get(DeviceCookie.NAME)),
  };
}

export function authRoutes(deps: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/login',
      access: 'public',
      summary: '账号密码登录',
      tags: ['认证'],
      body: z.strictObject({
        username: z.string().min(1, '请输入用户名').max(64),
        password: z.string().min(1, '请输入密码').max(MAX_PASSWORD_LENGTH * 4),
        /** `token` also returns the session token in the body (mini-program, which has no cookie jar) */
        mode: z.enum(['cookie', 'token']).default('cookie'),
      }),
      response: meSchema.extend({ token: z.string().optional() }),
      handler: async (ctx, { body }) => {
        const r = await deps.auth.login(body.username, body.password, loginMeta(ctx, deps));
        // Signing in again from the same browser replaces its previous session rather than keeping both.
        if (ctx.state.sessionId) await deps.sessions.revoke(ctx.state.sessionId);
        const devCookie = deps.deviceCookie.add(ctx.cookies.get(DeviceCookie.NAME), r.username);
        ctx.cookies.set(DeviceCookie.NAME, devCookie, {
          httpOnly: true,
          sameSite: 'lax',
          secure: deps.config.cookieSecure,
          path: '/api/v1/auth',
          maxAge: DeviceCookie.MAX_AGE_MS,
        });
        if (body.mode === 'token') return { ...meOf(r.principal!, null), token: r.token };
        deps.sessions.setCookie(ctx, r.token);
        return meOf(r.principal!, r.record.csrfToken);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/logout',
      access: 'authenticated',
      allowWhilePasswordChangeRequired: true,
      summary: '退出登录（服务端会话立即失效）',
      tags: ['认证'],
      handler: async (ctx) => {
        const p = ctx.state.principal!;
        await deps.auth.logout(ctx.state.sessionId!, { ...actorOf(ctx), id: p.userId, name: p.username }, loginMeta(ctx, deps));
        deps.sessions.clearCookie(ctx);
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/me',
      access: 'authenticated',
      allowWhilePasswordChangeRequired: true,
      summary: '当前登录用户',
      tags: ['认证'],
      response: meSchema,
      handler: (ctx) => meOf(ctx.state.principal!, ctx.state.session?.csrfToken ?? null),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/me/password-policy',
      access: 'authenticated',
      allowWhilePasswordChangeRequired: true,
      summary: '当前密码策略（修改密码页面据此提示规则）',
      tags: ['认证'],
      response: passwordPolicySchema,
      handler: () => deps.settings.get('security.passwordPolicy'),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/me/password',
      access: 'authenticated',
      allowWhilePasswordChangeRequired: true,
      summary: '修改本人密码',
      tags: ['认证'],
      body: z.strictObject({
        oldPassword: z.string().min(1, '请输入原密码').max(MAX_PASSWORD_LENGTH * 4),
        newPassword: z.string().min(1, '请输入新密码').max(MAX_PASSWORD_LENGTH * 4),
      }),
      handler: async (ctx, { body }) => {
        const p = ctx.state.principal!;
        await deps.auth.changePassword(p.userId, body.oldPassword, body.newPassword, actorOf(ctx), ctx.state.sessionId);
        ctx.status = 204;
      },
    }),
  ];
}
