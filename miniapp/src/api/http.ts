/**
 * The staff client's HTTP core, free of any uni-app import so that vitest can drive it with a fake
 * transport. REST JSON under /api/v1; cookie session with the `X-CSRF-Token` header on unsafe
 * methods (H5), or a Bearer token (mini-program, which has no cookie jar). Errors arrive as
 * application/problem+json with a Chinese `detail` and per-field `errors`.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  url: string;
  method: Method;
  data?: unknown;
  header: Record<string, string>;
}

export interface HttpResponse {
  statusCode: number;
  data: unknown;
  header?: Record<string, string>;
}

export type Transport = (req: HttpRequest) => Promise<HttpResponse>;

export interface FieldError {
  path: string;
  message: string;
}

/** A failed call: `detail` is the server's Chinese message, ready to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly code: string | null = null,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
    this.name = 'ApiError';
  }

  /** 409: the task or instance changed under us (R3.5: "already handled by X" refreshes the page) */
  get conflict(): boolean {
    return this.status === 409;
  }

  /** message for one field (paths like `formData.period` or `body.newPassword`) */
  fieldMessage(name: string): string | undefined {
    return this.errors.find((e) => e.path === name || e.path.endsWith(`.${name}`))?.message;
  }
}

/** Chinese text for a failure without a problem document (network down, proxy error page …). */
export function fallbackMessage(status: number): string {
  if (status === 0) return '网络连接失败，请检查网络后重试';
  if (status === 401) return '登录已过期，请重新登录';
  if (status === 403) return '没有权限执行此操作';
  if (status === 404) return '请求的内容不存在';
  if (status === 413) return '文件或内容过大';
  if (status === 429) return '操作过于频繁，请稍后再试';
  if (status >= 500) return '服务器暂时无法处理，请稍后再试';
  return `请求失败（${status}）`;
}

/** Build an ApiError from any response body (problem+json, plain text, nothing). */
export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === 'object') {
    const p = body as { detail?: unknown; title?: unknown; code?: unknown; errors?: unknown };
    const errors = Array.isArray(p.errors)
      ? p.errors.filter((e): e is FieldError => !!e && typeof e === 'object' && typeof (e as FieldError).message === 'string').map((e) => ({ path: String(e.path ?? ''), message: e.message }))
      : [];
    const detail = typeof p.detail === 'string' && p.detail ? p.detail : fallbackMessage(status);
    return new ApiError(status, detail, typeof p.code === 'string' ? p.code : null, errors);
  }
  return new ApiError(status, fallbackMessage(status));
}

export interface SessionHooks {
  /** CSRF token of the cookie session (H5) */
  csrfToken(): string | null;
  /** Bearer token (mini-program) */
  bearerToken(): string | null;
  /** 401 on an authenticated call: the session expired or was revoked */
  onUnauthorized(err: ApiError): void;
  /** 403 PASSWORD_CHANGE_REQUIRED: the person must change the password first */
  onPasswordChangeRequired(err: ApiError): void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  /** do not run the 401 / password hooks (sign-in itself, the launch probe) */
  quiet?: boolean;
}

const UNSAFE = new Set<Method>(['POST', 'PUT', 'PATCH', 'DELETE']);

export function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface ApiClient {
  request<T>(method: Method, path: string, opts?: RequestOptions): Promise<T>;
  get<T>(path: string, query?: RequestOptions['query'], opts?: Omit<RequestOptions, 'query'>): Promise<T>;
  post<T>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'body'>): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
  readonly baseUrl: string;
}

export function createClient(o: { baseUrl: string; transport: Transport; hooks: SessionHooks }): ApiClient {
  async function request<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
    const header: Record<string, string> = { Accept: 'application/json' };
    if (opts.body !== undefined) header['Content-Type'] = 'application/json';
    const bearer = o.hooks.bearerToken();
    if (bearer) header.Authorization = `Bearer ${bearer}`;
    const csrf = o.hooks.csrfToken();
    if (UNSAFE.has(method) && csrf) header['X-CSRF-Token'] = csrf;
    let res: HttpResponse;
    try {
      res = await o.transport({ url: `${o.baseUrl}${path}${queryString(opts.query)}`, method, data: opts.body, header });
    } catch {
      throw new ApiError(0, fallbackMessage(0), 'NETWORK');
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return (res.statusCode === 204 ? undefined : res.data) as T;
    const err = toApiError(res.statusCode, res.data);
    if (!opts.quiet) {
      if (err.status === 401) o.hooks.onUnauthorized(err);
      else if (err.status === 403 && err.code === 'PASSWORD_CHANGE_REQUIRED') o.hooks.onPasswordChangeRequired(err);
    }
    throw err;
  }
  return {
    baseUrl: o.baseUrl,
    request,
    get: (path, query, opts) => request('GET', path, { ...opts, query }),
    post: (path, body, opts) => request('POST', path, { ...opts, body }),
    patch: (path, body) => request('PATCH', path, { body }),
    del: (path) => request('DELETE', path),
  };
}

/** An idempotency key for workflow actions (the server accepts 8–64 of [A-Za-z0-9_-]). */
export function clientKey(): string {
  const rnd = () => Math.random().toString(36).slice(2, 10);
  return `c${Date.now().toString(36)}${rnd()}${rnd()}`.slice(0, 40);
}
