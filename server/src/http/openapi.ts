import { z } from 'zod';
import type { RouteSpec } from './route.ts';
import { PERMISSIONS } from '../access/permissions.ts';
import { VERSION } from '../version.ts';

type JsonSchema = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const js = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete js.$schema;
  return js;
}

function parametersOf(s: z.ZodType | undefined, where: 'query' | 'path'): unknown[] {
  if (!s) return [];
  const js = schemaOf(s, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, schema]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema,
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
  }));
}

const problem = { $ref: '#/components/schemas/Problem' };
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: problem } } });

/** OpenAPI 3.1 generated from the same zod schemas that validate requests. */
export function buildOpenApi(routes: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const access = r.access === 'public' ? '公开' : r.access === 'authenticated' ? '登录用户' : `权限 ${r.access.permission}（${PERMISSIONS[r.access.permission]}）`;
    const op: Record<string, unknown> = {
      summary: r.summary,
      description: `访问控制：${access}`,
      tags: r.tags,
      operationId: `${r.method}_${p.replace(/[^A-Za-z0-9]+/g, '_')}`,
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')],
      'x-access': r.access,
      security: r.access === 'public' ? [] : [{ cookieSession: [] }, { bearerSession: [] }],
      responses: {
        '200': r.response
          ? { description: '成功', content: { 'application/json': { schema: schemaOf(r.response, 'output') } } }
          : { description: '成功' },
        '400': problemResponse('请求无效（字段错误见 errors）'),
        ...(r.access !== 'public' ? { '401': problemResponse('未登录'), '403': problemResponse('无权访问') } : {}),
        '503': problemResponse('数据库暂不可用'),
      },
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } };
    if (r.rawBody) {
      op.requestBody = {
        required: true,
        content: { [r.rawBody.contentType]: { schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } }, required: ['file'] } } },
      };
    }
    (paths[p] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: '医院协同办公系统 API', version: VERSION, description: '所有错误以 application/problem+json 返回，detail 为中文说明。' },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        cookieSession: { type: 'apiKey', in: 'cookie', name: 'oa_sid', description: '登录后由服务器设置；写操作需在 X-CSRF-Token 头回传 csrfToken' },
        bearerSession: { type: 'http', scheme: 'bearer', description: '小程序：登录时 mode=token 返回的会话令牌' },
      },
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string', description: '中文说明' },
            code: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
            requestId: { type: 'string' },
          },
          required: ['title', 'status', 'detail', 'code'],
        },
      },
    },
  };
}
