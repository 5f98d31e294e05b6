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

// Ambiguous paths are how OA auth filters get bypassed (BAR §5 #1): refuse them outright.
const AMBIGUOUS = /\/\/|\/\.\.?(\/|$)|%2e|%2f|%5c|%00|\\|;/i;

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'";

/**
 * The outermost layer, in one function because it runs on every request: request id (kept from
 * X-Request-Id when sane), client address, security headers (set first, so a handler may
 * override them, e.g. a download's sandbox CSP), refusal of ambiguous paths, one access-log
 * line and the metrics. The request's child logger is made only when something logs.
 */
export function edge(log: Logger, metrics: Metrics, opts: { hsts: boolean }) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const start = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    const ip = clientIp(ctx);
    let child: Logger | undefined;
    ctx.state.requestId = requestId;
    ctx.state.ip = ip;
    Object.defineProperty(ctx.state, 'log', { get: () => (child ??= log.child({ requestId })), enumerable: false });
    const api = ctx.path.startsWith('/api/');
    ctx.set({
      'X-Request-Id': requestId,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'X-Frame-Options': 'SAMEORIGIN',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Content-Security-Policy': CSP,
      ...(api ? { 'Cache-Control': 'no-store' } : {}),
      ...(opts.hsts ? { 'Strict-Transport-Security': 'max-age=31536000; includeSubDomains' } : {}),
    });
    try {
      if (AMBIGUOUS.test(ctx.url.split('?')[0] ?? '')) sendProblem(ctx, new AppError(400, 'AMBIGUOUS_PATH', '请求路径不合法'));
      else await next();
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? (ctx.path.startsWith('/api') ? 'unmatched' : 'static');
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.requests.inc({ method: ctx.method, route, status: String(ctx.status) });
      metrics.duration.observe({ method: ctx.method, route }, seconds);
      // Only the path: query strings may carry search terms or tokens.
      log.info({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1000), ip }, 'request');
    }
  };
}
