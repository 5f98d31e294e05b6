import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf } from '../http/context.ts';
import { notFound } from '../http/errors.ts';
import { pageQuery, pageWindow } from '../http/paging.ts';
import { uploadSettingsSchema } from '../settings/service.ts';
import type { AppDeps } from '../deps.ts';

/** System administrator's desk: upload limit, background jobs, message delivery and dead letters. */
export function systemRoutes(deps: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/system/settings/upload',
      access: { permission: 'system:settings' },
      summary: '查看上传设置',
      tags: ['系统'],
      response: uploadSettingsSchema,
      handler: () => deps.settings.get('files.upload'),
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/system/settings/upload',
      access: { permission: 'system:settings' },
      summary: '修改上传设置（单文件大小上限）',
      tags: ['系统'],
      body: uploadSettingsSchema,
      response: uploadSettingsSchema,
      handler: async (ctx, { body }) => {
        await deps.settings.set('files.upload', body, actorOf(ctx));
        return body;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/system/outbox',
      access: { permission: 'system:jobs' },
      summary: '消息投递队列（含死信）',
      tags: ['系统'],
      query: z.strictObject({ ...pageQuery, status: z.enum(['pending', 'sent', 'dead']).optional(), channel: z.string().max(32).optional() }),
      handler: async (_ctx, { query }) => {
        const where: Record<string, unknown> = {};
        if (query.status) where.status = query.status;
        if (query.channel) where.channel = query.channel;
        const { rows, count } = await deps.db.models.Outbox.findAndCountAll({
          where,
          order: [['id', 'DESC']],
          ...pageWindow(query),
          attributes: { exclude: ['payload'] },
        });
        return { total: count, items: rows };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/system/outbox/:id/retry',
      access: { permission: 'system:jobs' },
      summary: '重新投递死信',
      tags: ['系统'],
      params: z.strictObject({ id: z.coerce.number().int().positive() }),
      handler: async (ctx, { params }) => {
        if (!(await deps.dispatcher.retry(params.id, actorOf(ctx)))) throw notFound('没有这条死信');
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/system/jobs',
      access: { permission: 'system:jobs' },
      summary: '后台任务',
      tags: ['系统'],
      query: z.strictObject({ ...pageQuery, status: z.enum(['pending', 'running', 'done', 'dead']).optional() }),
      handler: async (_ctx, { query }) => {
        const { rows, count } = await deps.db.models.Job.findAndCountAll({
          where: query.status ? { status: query.status } : {},
          order: [['id', 'DESC']],
          ...pageWindow(query),
          attributes: { exclude: ['payload'] },
        });
        return { total: count, items: rows };
      },
    }),
  ];
}
