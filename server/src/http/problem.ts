import type { Context, Next } from 'koa';
import { ConnectionError, DatabaseError, TimeoutError } from '@oa/db';
import { AppError, TITLES } from './errors.ts';

const TRANSIENT_DB_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
]);

/** True when the database, not the request, is at fault: the caller should retry later. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof ConnectionError || err instanceof TimeoutError) return true;
  if (err instanceof DatabaseError) {
    const parent = err.parent as { code?: string; fatal?: boolean } | undefined;
    if (parent?.code && TRANSIENT_DB_CODES.has(parent.code)) return true;
    if (parent?.fatal) return true;
  }
  const code = (err as { code?: string; original?: { code?: string } })?.code ?? (err as { original?: { code?: string } })?.original?.code;
  return typeof code === 'string' && TRANSIENT_DB_CODES.has(code);
}

export function sendProblem(ctx: Context, err: AppError): void {
  ctx.status = err.status;
  if (err.headers) for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
  ctx.type = 'application/problem+json; charset=utf-8';
  ctx.body = {
    type: `about:blank`,
    title: TITLES[err.status] ?? '错误',
    status: err.status,
    detail: err.detail,
    code: err.code,
    ...(err.errors?.length ? { errors: err.errors } : {}),
    instance: ctx.path,
    requestId: ctx.state.requestId as string | undefined,
  };
}

/** Every failure leaves as problem+json; internals never reach the caller. */
export async function problemMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined && ctx.path.startsWith('/api')) {
      sendProblem(ctx, new AppError(404, 'NOT_FOUND', '接口不存在'));
    }
  } catch (err) {
    if (err instanceof AppError) {
      sendProblem(ctx, err);
      return;
    }
    if (isDatabaseUnavailable(err)) {
      ctx.state.log?.warn({ err }, 'database unavailable');
      sendProblem(ctx, new AppError(503, 'DATABASE_UNAVAILABLE', '数据库暂时无法访问，请稍后重试', undefined, { 'Retry-After': '5' }));
      return;
    }
    const status = (err as { status?: number; expose?: boolean }).status;
    // errors thrown by Koa/router internals: 405, and 501 for a method the router does not know
    // (PROPFIND, TRACE… from scanners), which is the caller's doing, not a server fault
    if (status && ((status >= 400 && status < 500 && (err as { expose?: boolean }).expose) || status === 501)) {
      if (status === 405) {
        // RFC 9110 §15.5.6: a 405 names the methods the resource has
        const matched = (ctx as { matched?: Array<{ methods: string[] }> }).matched ?? [];
        ctx.set('Allow', [...new Set(matched.flatMap((l) => l.methods))].join(', '));
      }
      sendProblem(ctx, new AppError(status, 'HTTP_' + status, TITLES[status] ?? '请求无效'));
      return;
    }
    ctx.state.log?.error({ err }, 'unhandled error');
    sendProblem(ctx, new AppError(500, 'INTERNAL', '服务器内部错误，请稍后重试或联系信息科'));
  }
}
