import crypto from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../system/health.ts';
import { AppError } from './errors.ts';
import { sendProblem } from './problem.ts';

/**
 * The caller's address. Behind a trusted proxy (TRUST_PROXY) it is the last X-Forwarded-For entry,
 * the one our proxy appended; earlier entries are whatever the client wrote (Koa's `ctx.ip` takes
 * the first, which a client can set to 127.0.0.1).
 */
function clientIp(ctx: Context): string {
  const forwarded = ctx.app.proxy ? ctx.ips : [];
  return forwarded.length ? forwarded[forwarded.length - 1]! : ctx.ip;
}

/** Request id (kept from X-Request-Id when sane), a child logger, one access-log line, metrics. */
export function requestContext(log: Logger, metrics: Metrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const incoming = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.ip = clientIp(ctx);
    ctx.state.log = log.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? (ctx.path.startsWith('/api') ? 'unmatched' : 'static');
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.requests.inc({ method: ctx.method, route, status: String(ctx.status) });
      metrics.duration.observe({ method: ctx.method, route }, seconds);
      // Only the path: query strings may carry search terms or tokens.
      ctx.state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1000), ip: ctx.state.ip }, 'request');
    }
  };
}

// Ambiguous paths are how OA auth filters get bypassed (BAR §5 #1): refuse them outright.
const AMBIGUOUS = /\/\/|\/\.\.?(\/|$)|%2e|%2f|%5c|%00|\\|;/i;

export async function rejectAmbiguousPaths(ctx: Context, next: Next): Promise<void> {
  const raw = ctx.url.split('?')[0] ?? '';
  if (AMBIGUOUS.test(raw)) {
    sendProblem(ctx, new AppError(400, 'AMBIGUOUS_PATH', '请求路径不合法'));
    return;
  }
  await next();
}

export function securityHeaders(opts: { hsts: boolean }) {
  return async (ctx: Context, next: Next): Promise<void> => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('X-Frame-Options', 'SAMEORIGIN');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (opts.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    if (!ctx.response.get('Content-Security-Policy')) {
      ctx.set(
        'Content-Security-Policy',
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'",
      );
    }
    if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', ctx.response.get('Cache-Control') || 'no-store');
  };
}
