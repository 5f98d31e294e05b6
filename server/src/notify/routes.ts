import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { notFound } from '../http/errors.ts';
import { pageQuery, pageWindow } from '../http/paging.ts';
import type { AppDeps } from '../deps.ts';

/** The in-app inbox: each person sees only their own messages. */
export function inboxRoutes(deps: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/inbox',
      access: 'authenticated',
      summary: '我的站内消息',
      tags: ['消息'],
      query: z.strictObject({ ...pageQuery, unread: z.enum(['true', 'false']).optional() }),
      handler: async (ctx, { query }) => {
        const where: Record<string, unknown> = { userId: ctx.state.principal!.userId };
        if (query.unread === 'true') where.readAt = null;
        const { rows, count } = await deps.db.models.InboxMessage.findAndCountAll({
          where,
          order: [['id', 'DESC']],
          ...pageWindow(query),
          attributes: ['id', 'title', 'body', 'link', 'readAt', 'createdAt'],
        });
        return { total: count, items: rows };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/inbox/:id/read',
      access: 'authenticated',
      summary: '标记消息已读',
      tags: ['消息'],
      params: z.strictObject({ id: z.coerce.number().int().positive() }),
      handler: async (ctx, { params }) => {
        const [n] = await deps.db.models.InboxMessage.update(
          { readAt: deps.clock.now() },
          { where: { id: params.id, userId: ctx.state.principal!.userId, readAt: null } },
        );
        if (n === 0) {
          const exists = await deps.db.models.InboxMessage.count({ where: { id: params.id, userId: ctx.state.principal!.userId } });
          if (!exists) throw notFound('消息不存在');
        }
        ctx.status = 204;
      },
    }),
  ];
}
