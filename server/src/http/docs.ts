import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { defineRoute, type RouteSpec } from './route.ts';

const require = createRequire(import.meta.url);

/** OpenAPI document and Swagger UI from the installed swagger-ui-dist (nothing fetched from outside). */
export function docsRoutes(openapi: () => unknown): RouteSpec[] {
  const uiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const common = { method: 'get', access: 'public', tags: ['运维'] } as const;
  return [
    defineRoute({ ...common, path: '/api/openapi.json', summary: 'OpenAPI 3.1 文档', handler: () => openapi() }),
    defineRoute({
      ...common,
      path: '/api/docs',
      summary: '接口文档（Swagger UI）',
      handler: (ctx) => {
        if (!ctx.path.endsWith('/')) return ctx.redirect('/api/docs/');
        ctx.type = 'text/html; charset=utf-8';
        ctx.set('Cache-Control', 'no-cache');
        return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>接口文档 · 医院协同办公系统</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script><script src="/api/docs/init.js"></script></body></html>`;
      },
    }),
    defineRoute({
      ...common,
      path: '/api/docs/init.js',
      summary: '接口文档脚本',
      handler: (ctx) => {
        ctx.type = 'text/javascript; charset=utf-8';
        return "window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });";
      },
    }),
    ...['swagger-ui.css', 'swagger-ui-bundle.js'].map((file) =>
      defineRoute({
        ...common,
        path: `/api/docs/${file}`,
        summary: '接口文档静态资源',
        handler: (ctx) => {
          ctx.type = file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
          ctx.set('Cache-Control', 'public, max-age=86400');
          return fs.createReadStream(path.join(uiDir, file));
        },
      }),
    ),
  ];
}
