import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { badRequest, payloadTooLarge, unsupportedMediaType } from './errors.ts';

/** Read a JSON body: 415 for another content type, 413 beyond the limit, 400 for malformed JSON. */
export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const length = ctx.request.length;
  const hasBody = (length !== undefined && length > 0) || ctx.get('transfer-encoding') !== '';
  if (!hasBody) return undefined;
  if (!ctx.is('application/json', 'application/*+json')) {
    throw unsupportedMediaType('请求内容类型必须是 application/json');
  }
  if (length !== undefined && length > limitBytes) throw payloadTooLarge(`请求体超过 ${Math.round(limitBytes / 1024)} KB 上限`);
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: limitBytes, encoding: 'utf8', length });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw payloadTooLarge(`请求体超过 ${Math.round(limitBytes / 1024)} KB 上限`);
    throw badRequest('请求体读取失败', undefined, 'BAD_BODY');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('请求体不是合法的 JSON', undefined, 'MALFORMED_JSON');
  }
}
