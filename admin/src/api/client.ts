/**
 * Small typed client for the OA server's JSON API.
 *
 * - Same-origin requests with the session cookie (`credentials: 'include'`).
 * - Writes (POST/PUT/PATCH/DELETE) carry `X-CSRF-Token`; the token comes from login or GET /me.
 * - Failures arrive as application/problem+json and are thrown as {@link ApiError}, which keeps the
 *   server's Chinese `detail`, its machine `code` and per-field `errors`.
 */

export interface FieldError {
  /** name of the offending field, e.g. `newPassword` */
  path: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: FieldError[];
  requestId?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string;
  readonly errors: FieldError[];
  /** seconds from the Retry-After header (429, 503) */
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;

  constructor(status: number, problem: Problem, retryAfter?: number) {
    const detail = problem.detail || problem.title || defaultDetail(status);
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code;
    this.detail = detail;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = retryAfter;
    this.requestId = problem.requestId;
  }

  /** Messages for one field (`errors[].path`), joined for display under that field. */
  fieldMessage(path: string): string {
    return this.errors
      .filter((e) => e.path === path)
      .map((e) => e.message)
      .join('；');
  }
}

function defaultDetail(status: number): string {
  if (status === 0) return '无法连接服务器，请检查网络后重试';
  if (status === 401) return '请先登录';
  if (status === 403) return '没有权限执行此操作';
  if (status === 404) return '请求的内容不存在';
  if (status === 429) return '操作过于频繁，请稍后再试';
  if (status >= 500) return '服务器暂时无法处理请求，请稍后重试';
  return `请求失败（${status}）`;
}

/** Reported to the app when the session is gone or the password must be changed first. */
export type AuthProblem = 'unauthenticated' | 'password-change-required';

const API_BASE = '/api/v1';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

let csrfToken: string | null = null;
let authProblemHandler: ((p: AuthProblem) => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function onAuthProblem(handler: (p: AuthProblem) => void): void {
  authProblemHandler = handler;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** do not report 401 / PASSWORD_CHANGE_REQUIRED to the app-wide handler (login, /me probe) */
  silentAuth?: boolean;
  signal?: AbortSignal;
}

function urlOf(path: string, query?: Query): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return API_BASE + path + (s ? `?${s}` : '');
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const m = method.toUpperCase();
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
  const multipart = typeof FormData !== 'undefined' && opts.body instanceof FormData;
  if (opts.body !== undefined && !multipart) headers['Content-Type'] = 'application/json';
  if (WRITE_METHODS.has(m) && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let res: Response;
  try {
    res = await fetch(urlOf(path, opts.query), {
      method: m,
      headers,
      credentials: 'include',
      body: opts.body === undefined ? undefined : multipart ? (opts.body as FormData) : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, {});
  }

  if (res.ok) {
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  let problem: Problem = {};
  try {
    const text = await res.text();
    if (text) problem = JSON.parse(text) as Problem;
  } catch {
    // not JSON (a proxy's error page): keep the status-based message
  }
  const retryHeader = res.headers.get('Retry-After');
  const retryAfter = retryHeader && /^\d+$/.test(retryHeader) ? Number(retryHeader) : undefined;
  const error = new ApiError(res.status, problem, retryAfter);
  if (!opts.silentAuth && authProblemHandler) {
    if (res.status === 401) authProblemHandler('unauthenticated');
    else if (res.status === 403 && error.code === 'PASSWORD_CHANGE_REQUIRED') authProblemHandler('password-change-required');
  }
  throw error;
}

export const api = {
  get: <T>(path: string, query?: Query, opts?: Omit<RequestOptions, 'query' | 'body'>) => request<T>('GET', path, { ...opts, query }),
  post: <T = void>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'body'>) => request<T>('POST', path, { ...opts, body }),
  put: <T = void>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'body'>) => request<T>('PUT', path, { ...opts, body }),
  patch: <T = void>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'body'>) => request<T>('PATCH', path, { ...opts, body }),
  delete: <T = void>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
  /** multipart/form-data upload (POST) */
  upload: <T>(path: string, form: FormData) => request<T>('POST', path, { body: form }),
};

/** Human text for any thrown value (ApiError keeps the server's Chinese detail). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.detail;
  if (err instanceof Error && err.message) return err.message;
  return '操作失败，请稍后重试';
}
