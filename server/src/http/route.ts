import crypto from 'node:crypto';
import type Router from '@koa/router';
import type { z } from 'zod';
import { auditStandalone } from '@oa/db';
import type { Permission } from '../access/permissions.ts';
import { hasPermission } from '../access/principal.ts';
import type { AppContext } from './context.ts';
import { actorOf } from './context.ts';
import { readJsonBody } from './body.ts';
import { forbidden, unauthorized } from './errors.ts';
import { parseOrThrow } from './validate.ts';
import type { AppDeps } from '../deps.ts';

/** Who may call a route. There is no default: every route states one (principle 4). */
export type Access = 'public' | 'authenticated' | { permission: Permission };

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Schema = z.ZodType | undefined;
type Out<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<B extends Schema, Q extends Schema, P extends Schema> {
  body: Out<B>;
  query: Out<Q>;
  params: Out<P>;
}

export interface RouteSpec<B extends Schema = Schema, Q extends Schema = Schema, P extends Schema = Schema> {
  method: Method;
  /** @koa/router path, e.g. `/api/v1/files/:id` */
  path: string;
  access: Access;
  summary: string;
  tags: readonly string[];
  body?: B;
  query?: Q;
  params?: P;
  /** response schema, for the OpenAPI document */
  response?: z.ZodType;
  /** the handler reads the request stream itself (multipart upload) */
  rawBody?: { contentType: string };
  /** reachable while a password change is pending (me, change password, logout) */
  allowWhilePasswordChangeRequired?: boolean;
  handler: (ctx: AppContext, input: RouteInput<B, Q, P>) => unknown;
}

export function defineRoute<B extends Schema = undefined, Q extends Schema = undefined, P extends Schema = undefined>(
  spec: RouteSpec<B, Q, P>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function csrfMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** The per-route pipeline: authenticate → authorise → CSRF → validate → handle. */
export function mountRoutes(router: Router, routes: RouteSpec[], deps: AppDeps): void {
  for (const spec of routes) {
    router[spec.method](spec.path, async (ctx) => {
      const c = ctx as unknown as AppContext;
      await deps.sessions.authenticate(c);
      const principal = c.state.principal;
      if (spec.access !== 'public') {
        if (!principal) throw unauthorized();
        if (principal.mustChangePassword && !spec.allowWhilePasswordChangeRequired) {
          throw forbidden('请先修改密码后再继续使用系统', 'PASSWORD_CHANGE_REQUIRED');
        }
        if (UNSAFE.has(c.method) && c.state.session && !csrfMatches(c.state.session.csrfToken, c.get('x-csrf-token') || undefined)) {
          throw forbidden('请求缺少有效的 CSRF 令牌，请刷新页面后重试', 'CSRF_FAILED');
        }
        if (typeof spec.access === 'object' && !hasPermission(principal, spec.access.permission)) {
          await auditStandalone(
            deps.db,
            { ...actorOf(c), actorId: principal.userId, action: 'access.denied', objectType: 'route', objectId: `${spec.method.toUpperCase()} ${spec.path}`, result: 'denied' },
            deps.clock.now(),
          );
          throw forbidden();
        }
      }
      const body = spec.rawBody ? undefined : spec.body ? await readJsonBody(c, deps.config.BODY_LIMIT_KB * 1024) : undefined;
      const input = {
        body: spec.body ? parseOrThrow(spec.body, body ?? {}, 'body') : undefined,
        query: spec.query ? parseOrThrow(spec.query, { ...c.query }, 'query') : undefined,
        params: spec.params ? parseOrThrow(spec.params, { ...(c as unknown as { params: Record<string, string> }).params }, 'params') : undefined,
      };
      const result = await spec.handler(c, input as RouteInput<Schema, Schema, Schema>);
      if (result !== undefined) {
        c.body = result;
      } else if (c.body === undefined && c.status === 404) {
        c.status = 204;
      }
    });
  }
}
