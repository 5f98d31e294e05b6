import { describe, expect, it, vi } from 'vitest';
import { ApiError, clientKey, createClient, queryString, toApiError, type HttpRequest, type HttpResponse } from '../src/api/http';

function client(responses: HttpResponse[], tokens: { csrf?: string | null; bearer?: string | null } = {}) {
  const seen: HttpRequest[] = [];
  const hooks = {
    csrfToken: () => tokens.csrf ?? null,
    bearerToken: () => tokens.bearer ?? null,
    onUnauthorized: vi.fn(),
    onPasswordChangeRequired: vi.fn(),
  };
  const c = createClient({
    baseUrl: 'http://oa.test',
    transport: async (req) => {
      seen.push(req);
      const r = responses.shift();
      if (!r) throw new Error('offline');
      return r;
    },
    hooks,
  });
  return { c, seen, hooks };
}

describe('API client (issue 7 item 1: CSRF, Bearer, problem+json)', () => {
  it('sends X-CSRF-Token on unsafe methods only, JSON bodies, query strings without empty values', async () => {
    const { c, seen } = client([{ statusCode: 200, data: { ok: 1 } }, { statusCode: 201, data: { id: 5 } }], { csrf: 'tok' });
    expect(await c.get('/api/v1/workflow/my/todo', { page: 2, q: '', x: undefined })).toEqual({ ok: 1 });
    expect(await c.post('/api/v1/workflow/instances', { a: 1 })).toEqual({ id: 5 });
    expect(seen[0]!.url).toBe('http://oa.test/api/v1/workflow/my/todo?page=2');
    expect(seen[0]!.header['X-CSRF-Token']).toBeUndefined();
    expect(seen[1]!.header['X-CSRF-Token']).toBe('tok');
    expect(seen[1]!.header['Content-Type']).toBe('application/json');
    expect(seen[1]!.data).toEqual({ a: 1 });
  });

  it('uses a Bearer token in the mini-program', async () => {
    const { c, seen } = client([{ statusCode: 204, data: '' }], { bearer: 'abc' });
    expect(await c.post('/api/v1/inbox/1/read')).toBeUndefined();
    expect(seen[0]!.header.Authorization).toBe('Bearer abc');
  });

  it('turns problem+json into ApiError with the Chinese detail, code and field errors', async () => {
    const { c } = client([{ statusCode: 400, data: { type: 'about:blank', title: '请求有误', status: 400, detail: '表单填写有误：请填写请假事由', code: 'FORM_INVALID', errors: [{ path: 'formData.reason', message: '请填写请假事由' }] } }]);
    const err = (await c.post('/api/v1/workflow/instances', {}).catch((e) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.detail).toBe('表单填写有误：请填写请假事由');
    expect(err.code).toBe('FORM_INVALID');
    expect(err.fieldMessage('reason')).toBe('请填写请假事由');
  });

  it('R3.5: a 409 is marked as a conflict and keeps the server detail', async () => {
    const { c, hooks } = client([{ statusCode: 409, data: { status: 409, detail: '该任务已由卢杰处理（同意）', code: 'TASK_ALREADY_DONE' } }]);
    const err = (await c.post('/api/v1/workflow/tasks/3/actions', { action: 'approve' }).catch((e) => e)) as ApiError;
    expect(err.conflict).toBe(true);
    expect(err.detail).toBe('该任务已由卢杰处理（同意）');
    expect(hooks.onUnauthorized).not.toHaveBeenCalled();
  });

  it('401 runs the session-expiry hook, except for quiet calls (sign-in, launch probe)', async () => {
    const { c, hooks } = client([
      { statusCode: 401, data: { status: 401, detail: '请先登录' } },
      { statusCode: 401, data: { status: 401, detail: '用户名或密码错误' } },
    ]);
    await expect(c.get('/api/v1/me')).rejects.toMatchObject({ status: 401 });
    expect(hooks.onUnauthorized).toHaveBeenCalledTimes(1);
    await expect(c.post('/api/v1/auth/login', {}, { quiet: true })).rejects.toMatchObject({ detail: '用户名或密码错误' });
    expect(hooks.onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('403 PASSWORD_CHANGE_REQUIRED runs the password hook', async () => {
    const { c, hooks } = client([{ statusCode: 403, data: { status: 403, detail: '请先修改密码后再继续使用系统', code: 'PASSWORD_CHANGE_REQUIRED' } }]);
    await expect(c.get('/api/v1/workflow/my/counts')).rejects.toMatchObject({ code: 'PASSWORD_CHANGE_REQUIRED' });
    expect(hooks.onPasswordChangeRequired).toHaveBeenCalledTimes(1);
  });

  it('network failures and bodies without a problem document get Chinese messages', async () => {
    const { c } = client([{ statusCode: 502, data: '<html>Bad Gateway</html>' }]);
    await expect(c.get('/api/v1/me')).rejects.toMatchObject({ status: 502, detail: '服务器暂时无法处理，请稍后再试' });
    await expect(c.get('/api/v1/me')).rejects.toMatchObject({ status: 0, detail: '网络连接失败，请检查网络后重试' });
    expect(toApiError(413, null).detail).toBe('文件或内容过大');
  });

  it('client keys match the server pattern for idempotent actions', () => {
    for (let i = 0; i < 50; i++) expect(clientKey()).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(queryString({ a: 1, b: 'x y' })).toBe('?a=1&b=x%20y');
  });
});
