import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf } from '../http/context.ts';
import { notFound, unsupportedMediaType } from '../http/errors.ts';
import { contentDisposition, toMeta } from './service.ts';
import type { AppDeps } from '../deps.ts';

const fileMeta = z.object({ id: z.number(), name: z.string(), mime: z.string(), ext: z.string(), size: z.number(), sha256: z.string(), createdAt: z.date() });
const idParams = z.strictObject({ id: z.coerce.number().int().positive() });

export function fileRoutes(deps: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/files',
      access: 'authenticated',
      summary: '上传文件（multipart/form-data，字段 file）',
      tags: ['文件'],
      rawBody: { contentType: 'multipart/form-data' },
      response: fileMeta,
      handler: async (ctx) => {
        if (!ctx.is('multipart/form-data')) throw unsupportedMediaType('上传请使用 multipart/form-data');
        const { maxUploadMb } = await deps.settings.get('files.upload');
        const p = ctx.state.principal!;
        const meta = await deps.files.upload(ctx.req, ctx.headers, maxUploadMb * 1024 * 1024, { ...actorOf(ctx), id: p.userId });
        ctx.status = 201;
        return meta;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/files/:id/meta',
      access: 'authenticated',
      summary: '文件信息',
      tags: ['文件'],
      params: idParams,
      response: fileMeta,
      handler: async (ctx, { params }) => {
        const f = await deps.files.readable(ctx.state.principal!, params.id);
        if (!f) throw notFound('文件不存在或无权访问');
        return toMeta(f);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/files/:id',
      access: 'authenticated',
      summary: '下载文件（经权限检查）',
      tags: ['文件'],
      params: idParams,
      handler: async (ctx, { params }) => {
        const f = await deps.files.readable(ctx.state.principal!, params.id);
        if (!f) throw notFound('文件不存在或无权访问');
        const body = await deps.files.storage.open(f.storageName);
        ctx.set('Content-Disposition', contentDisposition(f.originalName));
        ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
        ctx.set('Cache-Control', 'private, no-store');
        ctx.type = f.mime;
        ctx.length = Number(f.size);
        ctx.body = body;
      },
    }),
  ];
}
