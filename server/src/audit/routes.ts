import { z } from 'zod';
import { Op, verifyAuditChain } from '@oa/db';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { pageQuery, pageWindow } from '../http/paging.ts';
import type { AppDeps } from '../deps.ts';
import { readAnchors } from './anchors.ts';

/** R18 operation log, readable by the audit administrator only. */
export function auditRoutes(deps: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/audit',
      access: { permission: 'audit:read' },
      summary: '审计日志查询',
      tags: ['审计'],
      query: z.strictObject({
        ...pageQuery,
        action: z.string().max(64).optional(),
        actorId: z.coerce.number().int().positive().optional(),
        objectType: z.string().max(64).optional(),
        objectId: z.string().max(64).optional(),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
      }),
      handler: async (_ctx, { query }) => {
        const where: Record<string | symbol, unknown> = {};
        if (query.action) where.action = query.action;
        if (query.actorId) where.actorId = query.actorId;
        if (query.objectType) where.objectType = query.objectType;
        if (query.objectId) where.objectId = query.objectId;
        if (query.from || query.to) {
          where.at = { ...(query.from ? { [Op.gte]: new Date(query.from) } : {}), ...(query.to ? { [Op.lt]: new Date(query.to) } : {}) };
        }
        const { rows, count } = await deps.db.models.AuditLog.findAndCountAll({
          where,
          order: [['seq', 'DESC']],
          ...pageWindow(query),
        });
        return {
          total: count,
          items: rows.map((r) => {
            const row = r.toJSON();
            return { ...row, seq: Number(row.seq), detail: row.detail ? (JSON.parse(row.detail) as unknown) : null };
          }),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/audit/verify',
      access: { permission: 'audit:verify' },
      summary: '校验审计日志哈希链',
      tags: ['审计'],
      handler: () => verifyAuditChain(deps.db, { anchors: readAnchors(deps.config.dataDir) }),
    }),
  ];
}
