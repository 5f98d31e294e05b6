import client from 'prom-client';
import { schemaStatus } from '@oa/db';
import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { forbidden, serviceUnavailable } from '../http/errors.ts';
import { VERSION } from '../version.ts';
import type { AppDeps } from '../deps.ts';

export interface Metrics {
  registry: client.Registry;
  requests: client.Counter<'method' | 'route' | 'status'>;
  duration: client.Histogram<'method' | 'route'>;
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'oa_' });
  return {
    registry,
    requests: new client.Counter({ name: 'oa_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    duration: new client.Histogram({
      name: 'oa_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export function healthRoutes(deps: AppDeps): RouteSpec[] {
  let schemaCheckedAt = 0;
  let schema: { current: boolean; pending: string[]; unknown: string[] } | null = null;
  return [
    defineRoute({
      method: 'get',
      path: '/api/health',
      access: 'public',
      summary: '健康检查：数据库可达、迁移为最新、版本',
      tags: ['运维'],
      response: z.object({ status: z.literal('ok'), version: z.string(), db: z.object({ dialect: z.string(), ok: z.boolean() }), migrations: z.object({ current: z.boolean(), pending: z.array(z.string()) }) }),
      handler: async () => {
        try {
          await deps.db.ping();
          const now = Date.now();
          // Schema cannot change under a running process except by hand: recheck once a minute.
          if (!schema || now - schemaCheckedAt > 60_000) {
            const s = await schemaStatus(deps.db);
            schema = { current: s.pending.length === 0 && s.unknown.length === 0, pending: s.pending, unknown: s.unknown };
            schemaCheckedAt = now;
          }
        } catch {
          throw serviceUnavailable('数据库暂时无法访问', 5);
        }
        if (schema.unknown.length) throw serviceUnavailable(`数据库结构比当前程序新（未知迁移：${schema.unknown.join(', ')}），请升级程序`, 30);
        if (!schema.current) throw serviceUnavailable(`数据库迁移未完成：${schema.pending.join(', ')}`, 30);
        return { status: 'ok' as const, version: VERSION, db: { dialect: deps.db.dialect, ok: true }, migrations: { current: schema.current, pending: schema.pending } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/metrics',
      // Public route, own gate: Prometheus scrapes without a session, from this host or with METRICS_TOKEN.
      access: 'public',
      summary: 'Prometheus 指标（仅本机或携带 METRICS_TOKEN）',
      tags: ['运维'],
      handler: async (ctx) => {
        const token = deps.config.METRICS_TOKEN;
        const bearer = ctx.get('authorization') === `Bearer ${token ?? ''}` && !!token;
        // A request relayed by a proxy on this host also arrives from 127.0.0.1: only a direct local
        // request (no forwarding headers) counts as "this machine".
        const relayed = !!(ctx.get('x-forwarded-for') || ctx.get('forwarded') || ctx.get('x-real-ip'));
        const local = LOOPBACK.test(ctx.state.ip) && (deps.config.TRUST_PROXY || !relayed);
        if (!local && !bearer) throw forbidden('指标接口仅允许本机或携带令牌访问');
        ctx.type = deps.metrics.registry.contentType;
        return deps.metrics.registry.metrics();
      },
    }),
  ];
}
