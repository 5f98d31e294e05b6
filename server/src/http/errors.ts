/** A failure meant for the caller: becomes application/problem+json with a Chinese `detail`. */
export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string, errors?: FieldError[], code = 'BAD_REQUEST') => new AppError(400, code, detail, errors);
export const unauthorized = (detail = '请先登录', code = 'UNAUTHENTICATED') => new AppError(401, code, detail);
export const forbidden = (detail = '没有权限执行此操作', code = 'FORBIDDEN') => new AppError(403, code, detail);
export const notFound = (detail = '请求的资源不存在', code = 'NOT_FOUND') => new AppError(404, code, detail);
export const conflict = (detail: string, code = 'CONFLICT') => new AppError(409, code, detail);
export const payloadTooLarge = (detail: string) => new AppError(413, 'PAYLOAD_TOO_LARGE', detail);
export const unsupportedMediaType = (detail: string) => new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', detail);
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new AppError(429, 'TOO_MANY_REQUESTS', detail, undefined, { 'Retry-After': String(retryAfterSeconds) });
export const serviceUnavailable = (detail: string, retryAfterSeconds = 5) =>
  new AppError(503, 'SERVICE_UNAVAILABLE', detail, undefined, { 'Retry-After': String(retryAfterSeconds) });

export const TITLES: Record<number, string> = {
  400: '请求无效',
  401: '未登录',
  403: '无权访问',
  404: '未找到',
  405: '方法不允许',
  409: '冲突',
  413: '内容过大',
  415: '不支持的内容类型',
  429: '请求过于频繁',
  500: '服务器内部错误',
  501: '不支持的请求方法',
  503: '服务暂不可用',
};
