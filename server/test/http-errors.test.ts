import test, { type ExecutionContext } from 'ava';
import { ConnectionError } from '@oa/db';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { rawRequest, type Res } from './helpers/client.ts';

// ARCHITECTURE principle 8 and BAR §2.4/§2.7/§5 #2: every failure is application/problem+json
// with a Chinese `detail`, names the offending field, and gives nothing away.

const JSON_HEADERS = { 'content-type': 'application/json' };
const UPLOAD_SETTINGS = '/api/v1/system/settings/upload';
const LOGIN = '/api/v1/auth/login';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: Array<{ path: string; message: string }>;
  requestId?: string;
}

/** What every error answer must look like; returns the body. */
function problem(t: ExecutionContext, r: Res, status: number, code: string): Problem {
  t.is(r.status, status, r.text);
  t.regex(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const p = r.body as Problem;
  t.is(p.status, status);
  t.is(p.code, code);
  t.is(typeof p.title, 'string');
  t.regex(p.detail, /[\u4e00-\u9fff]/, `detail is Chinese: ${p.detail}`);
  t.is(p.requestId, r.headers.get('x-request-id') ?? undefined, 'the body names the request id of the header');
  noLeak(t, r.text);
  return p;
}

/** no stack trace, server path, driver message or SQL in an answer */
function noLeak(t: ExecutionContext, text: string): void {
  t.false(/\bat\s+\S+\s+\(|\bat\s+(file:|node:|\/)/.test(text), `no stack frames: ${text}`);
  t.false(/\/work\/|\/srv\/|node_modules|\.ts:\d+|\.js:\d+/.test(text), `no server paths: ${text}`);
  t.false(/\b(SELECT|INSERT|UPDATE)\b.*\b(FROM|INTO|SET)\b/i.test(text), `no SQL: ${text}`);
  t.false(/ECONNREFUSED|SQLITE_|ER_[A-Z_]+|SequelizeError|TypeError|ReferenceError|\bstack\b/.test(text), `no internals: ${text}`);
}

async function admin(t: ExecutionContext, env: Record<string, string> = {}): Promise<{ ta: TestApp; c: Awaited<ReturnType<TestApp['admin']>> }> {
  const ta = await startTestApp(t, env);
  return { ta, c: await ta.admin() };
}

test('malformed JSON is a 400 MALFORMED_JSON, for signed-in and public endpoints alike', async (t) => {
  const { ta, c } = await admin(t);
  for (const body of ['{"maxUploadMb": ', "{'maxUploadMb': 5}", '{"maxUploadMb": 5,}', 'maxUploadMb=5', '[1, 2', '\u0000']) {
    problem(t, await c.raw('PUT', UPLOAD_SETTINGS, { body, headers: JSON_HEADERS }), 400, 'MALFORMED_JSON');
  }
  t.deepEqual((await c.get(UPLOAD_SETTINGS)).body, { maxUploadMb: 50 }, 'nothing changed');
  const anon = ta.client();
  problem(t, await anon.raw('POST', LOGIN, { body: '{"username": "admin", "password": ', headers: JSON_HEADERS }), 400, 'MALFORMED_JSON');
  // a protected endpoint does not even read an anonymous body: the answer is 401, not 400
  problem(t, await anon.raw('PUT', UPLOAD_SETTINGS, { body: '{"maxUploadMb": ', headers: JSON_HEADERS }), 401, 'UNAUTHENTICATED');
});

test('unknown fields are refused by name, including __proto__ (no mass assignment, no pollution)', async (t) => {
  const { ta, c } = await admin(t);
  const extra = problem(t, await c.put(UPLOAD_SETTINGS, { maxUploadMb: 5, isAdmin: true }), 400, 'VALIDATION_FAILED');
  t.deepEqual(extra.errors?.map((e) => e.path), ['isAdmin']);
  t.regex(extra.detail, /isAdmin/, 'the detail names the field');

  const policy = { minLength: 10, minClasses: 3, historyCount: 5, maxAgeDays: 90, forceChangeOnFirstLogin: true };
  const nested = problem(t, await c.put('/api/v1/security/password-policy', { ...policy, allowWeak: true, bypass: 1 }), 400, 'VALIDATION_FAILED');
  t.deepEqual(nested.errors?.map((e) => e.path).sort(), ['allowWeak', 'bypass']);

  const proto = await c.raw('PUT', UPLOAD_SETTINGS, { body: '{"maxUploadMb": 5, "__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}', headers: JSON_HEADERS });
  const pp = problem(t, proto, 400, 'VALIDATION_FAILED');
  t.deepEqual(pp.errors?.map((e) => e.path).sort(), ['__proto__', 'constructor']);
  t.is(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');

  const login = problem(t, await ta.client().post(LOGIN, { username: 'admin', password: 'x', role: 'sysadmin' }), 400, 'VALIDATION_FAILED');
  t.deepEqual(login.errors?.map((e) => e.path), ['role']);
  t.deepEqual((await c.get(UPLOAD_SETTINGS)).body, { maxUploadMb: 50 }, 'nothing changed');
  t.deepEqual((await c.get('/api/v1/security/password-policy')).status, 200);
});

test('wrong types, missing fields and out-of-range values name each field', async (t) => {
  const { ta, c } = await admin(t);
  const cases: Array<[unknown, string[]]> = [
    [{ maxUploadMb: '5' }, ['maxUploadMb']],
    [{ maxUploadMb: 5.5 }, ['maxUploadMb']],
    [{ maxUploadMb: 0 }, ['maxUploadMb']],
    [{ maxUploadMb: 1e9 }, ['maxUploadMb']],
    [{ maxUploadMb: null }, ['maxUploadMb']],
    [{}, ['maxUploadMb']],
    [[5], ['']], // not an object at all: the root
  ];
  for (const [body, paths] of cases) {
    const p = problem(t, await c.put(UPLOAD_SETTINGS, body), 400, 'VALIDATION_FAILED');
    t.deepEqual(p.errors?.map((e) => e.path), paths, JSON.stringify(body));
    for (const e of p.errors ?? []) t.regex(e.message, /[\u4e00-\u9fff]/, `message in Chinese: ${e.message}`);
  }
  // an empty body is "missing fields", not a crash
  const empty = problem(t, await c.raw('PUT', UPLOAD_SETTINGS, { body: '', headers: JSON_HEADERS }), 400, 'VALIDATION_FAILED');
  t.deepEqual(empty.errors?.map((e) => e.path), ['maxUploadMb']);

  const anon = ta.client();
  const login = problem(t, await anon.post(LOGIN, { username: 123, password: ['x'] }), 400, 'VALIDATION_FAILED');
  t.deepEqual(login.errors?.map((e) => e.path).sort(), ['password', 'username']);
  const missing = problem(t, await anon.post(LOGIN, { username: 'admin' }), 400, 'VALIDATION_FAILED');
  t.deepEqual(missing.errors?.map((e) => e.path), ['password']);
  const mode = problem(t, await anon.post(LOGIN, { username: 'admin', password: 'x', mode: 'session' }), 400, 'VALIDATION_FAILED');
  t.deepEqual(mode.errors?.map((e) => e.path), ['mode']);
  // path and query parameters are named too
  const q = problem(t, await c.get('/api/v1/system/jobs?page=0&colour=red'), 400, 'VALIDATION_FAILED');
  t.deepEqual(q.errors?.map((e) => e.path).sort(), ['query.colour', 'query.page']);
  const id = problem(t, await c.post('/api/v1/system/outbox/abc/retry'), 400, 'VALIDATION_FAILED');
  t.deepEqual(id.errors?.map((e) => e.path), ['params.id']);
});

test('bodies beyond BODY_LIMIT_KB are refused with 413, with or without a Content-Length', async (t) => {
  const { ta, c } = await admin(t, { BODY_LIMIT_KB: '2' });
  const big = JSON.stringify({ maxUploadMb: 5, pad: 'x'.repeat(3000) });
  problem(t, await c.raw('PUT', UPLOAD_SETTINGS, { body: big, headers: JSON_HEADERS }), 413, 'PAYLOAD_TOO_LARGE');
  const login = JSON.stringify({ username: 'admin', password: 'p'.repeat(3000) });
  problem(t, await ta.client().raw('POST', LOGIN, { body: login, headers: JSON_HEADERS }), 413, 'PAYLOAD_TOO_LARGE');
  // streamed (chunked): counted while reading
  const chunks = [login.slice(0, 1500), login.slice(1500)];
  const stream = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      const next = chunks.shift();
      if (next === undefined) ctrl.close();
      else ctrl.enqueue(new TextEncoder().encode(next));
    },
  });
  const res = await fetch(ta.url + LOGIN, { method: 'POST', headers: JSON_HEADERS, body: stream, duplex: 'half' } as RequestInit);
  t.is(res.status, 413);
  t.is(((await res.json()) as Problem).code, 'PAYLOAD_TOO_LARGE');
  // just under the limit is read (and then judged on its fields)
  const under = JSON.stringify({ maxUploadMb: 5, pad: 'x'.repeat(1900) });
  t.true(Buffer.byteLength(under) < 2048);
  problem(t, await c.raw('PUT', UPLOAD_SETTINGS, { body: under, headers: JSON_HEADERS }), 400, 'VALIDATION_FAILED');
  t.deepEqual((await c.get(UPLOAD_SETTINGS)).body, { maxUploadMb: 50 });
});

test('only JSON is accepted as a JSON body: forms and text/plain (cross-site "simple" requests) get 415', async (t) => {
  const { ta, c } = await admin(t);
  const cases: Array<[string, string]> = [
    ['text/plain', '{"maxUploadMb": 5}'],
    ['application/x-www-form-urlencoded', 'maxUploadMb=5'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="maxUploadMb"\r\n\r\n5\r\n--x--\r\n'],
    ['application/xml', '<maxUploadMb>5</maxUploadMb>'],
  ];
  for (const [type, body] of cases) {
    const p = problem(t, await c.raw('PUT', UPLOAD_SETTINGS, { body, headers: { 'content-type': type } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    t.regex(p.detail, /application\/json/);
  }
  t.deepEqual((await c.get(UPLOAD_SETTINGS)).body, { maxUploadMb: 50 });
  // a login form posted from another site
  problem(t, await ta.client().raw('POST', LOGIN, { body: 'username=admin&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  problem(t, await ta.client().raw('POST', LOGIN, { body: '{"username":"admin","password":"x"}', headers: { 'content-type': 'text/plain;charset=UTF-8' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  // application/*+json is JSON
  const ok = await c.raw('PUT', UPLOAD_SETTINGS, { body: '{"maxUploadMb": 7}', headers: { 'content-type': 'application/merge-patch+json' } });
  t.is(ok.status, 200);
  t.deepEqual((await c.get(UPLOAD_SETTINGS)).body, { maxUploadMb: 7 });
});

test('unknown API paths are 404 problems; a wrong method is 405 naming the allowed ones', async (t) => {
  const { ta, c } = await admin(t);
  for (const [method, p] of [
    ['GET', '/api/nothing'],
    ['GET', '/api/v1/nothing/here'],
    ['POST', '/api/v2/files'],
    ['DELETE', '/api/v1/nothing'],
    ['GET', '/api'],
  ] as const) {
    const r = await c.raw(method, p);
    problem(t, r, 404, 'NOT_FOUND');
    t.false(r.text.includes('<html'), 'never the web page');
  }
  // same answer without a session: nothing to learn about which paths exist
  problem(t, await ta.client().get('/api/v1/nothing/here'), 404, 'NOT_FOUND');

  const del = await c.raw('DELETE', '/api/health');
  problem(t, del, 405, 'HTTP_405');
  t.deepEqual(del.headers.get('allow')?.split(/,\s*/).sort(), ['GET', 'HEAD']);
  const post = await c.raw('POST', UPLOAD_SETTINGS);
  problem(t, post, 405, 'HTTP_405');
  t.deepEqual(post.headers.get('allow')?.split(/,\s*/).sort(), ['GET', 'HEAD', 'PUT']);
  // methods the server does not implement at all, as scanners send them: a client error, not a 500
  for (const m of ['PROPFIND', 'MOVE']) {
    const r = await rawRequest(ta.url, m, '/api/health');
    t.is(r.status, 501, `${m}: ${r.text}`);
    t.regex(r.headers['content-type'] ?? '', /^application\/problem\+json/);
    noLeak(t, r.text);
  }
});

test('ambiguous paths are refused outright, and no spelling of a protected path opens it', async (t) => {
  const { ta } = await admin(t);
  const ambiguous = [
    '//api/v1/audit',
    '/api//v1/audit',
    '/api/v1/./audit',
    '/api/v1/x/../audit',
    '/api/health/../v1/audit',
    '/api/v1/%2e%2e/v1/audit',
    '/api/v1/%2E/audit',
    '/api/v1%2faudit',
    '/api/v1/audit;jsessionid=1',
    '/api/health;/../v1/audit',
    '/api\\v1\\audit',
    '/api/v1%5caudit',
    '/api/v1/audit%00',
    '/api/v1/audit%00.png',
  ];
  for (const p of ambiguous) {
    const r = await rawRequest(ta.url, 'GET', p);
    t.is(r.status, 400, `${p}: ${r.status}`);
    t.regex(r.headers['content-type'] ?? '', /^application\/problem\+json/, p);
    t.is(JSON.parse(r.text).code, 'AMBIGUOUS_PATH', p);
    noLeak(t, r.text);
  }
  // other spellings are either the same protected route (401) or nothing (404): never data
  for (const p of ['/api/v1/audit', '/api/v1/audit/', '/API/V1/AUDIT', '/api/v1/Audit?x=1', '/api/v1/audit%20', '/api/v1/%EF%BC%8Faudit', '/api/v1/audit.json', '/api/v1/audit%252e']) {
    const r = await rawRequest(ta.url, 'GET', p);
    t.true([401, 404].includes(r.status), `${p}: ${r.status}`);
    t.regex(r.headers['content-type'] ?? '', /^application\/problem\+json/, p);
  }
});

test('security headers are on every kind of answer; API answers are never cached', async (t) => {
  const { ta, c } = await admin(t);
  const answers: Array<[string, Res]> = [
    ['json', await c.get('/api/v1/me')],
    ['problem', await c.get('/api/nothing')],
    ['401', await ta.client().get('/api/v1/me')],
    ['validation', await c.put(UPLOAD_SETTINGS, { maxUploadMb: 'x' })],
    ['health', await ta.client().get('/api/health')],
    ['page', await ta.client().get('/')],
  ];
  for (const [what, r] of answers) {
    const h = r.headers;
    t.is(h.get('x-content-type-options'), 'nosniff', what);
    t.is(h.get('x-frame-options'), 'SAMEORIGIN', what);
    t.is(h.get('referrer-policy'), 'same-origin', what);
    const csp = h.get('content-security-policy') ?? '';
    for (const d of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'self'", "base-uri 'self'"]) t.true(csp.includes(d), `${what}: CSP has ${d}`);
    t.false(/script-src[^;]*'unsafe-(inline|eval)'/.test(csp), `${what}: no unsafe scripts`);
    t.is(h.get('x-powered-by'), null, what);
    t.is(h.get('server'), null, what);
    // ASVS 4.1.1: text and JSON name their charset
    t.regex(h.get('content-type') ?? '', /charset=utf-8/i, `${what}: ${h.get('content-type')}`);
    t.is(h.get('access-control-allow-origin'), null, `${what}: no CORS`);
  }
  for (const [what, r] of answers.filter(([w]) => w !== 'page')) t.is(r.headers.get('cache-control'), 'no-store', what);
  t.is(answers[0]![1].headers.get('strict-transport-security'), null, 'no HSTS over plain http');
  // a cross-origin request gets no CORS grant
  t.is((await c.get('/api/v1/me', { origin: 'https://evil.example' })).headers.get('access-control-allow-origin'), null);
  // behind https the browser is told to stay on https
  const tls = await startTestApp(t, { PUBLIC_URL: 'https://oa.example-hospital.cn' });
  t.regex((await tls.client().get('/api/health')).headers.get('strict-transport-security') ?? '', /max-age=\d{8,}/);
});

test('X-Request-Id is echoed when sane, replaced when not, and ties the answer to the log', async (t) => {
  const { ta } = await admin(t);
  const c = ta.client();
  const echoed = await c.get('/api/health', { 'x-request-id': 'lb-2026.03_abcdef' });
  t.is(echoed.headers.get('x-request-id'), 'lb-2026.03_abcdef');
  const nf = await c.get('/api/nothing', { 'x-request-id': 'trace-0123456789' });
  t.is(nf.headers.get('x-request-id'), 'trace-0123456789');
  t.is((nf.body as Problem).requestId, 'trace-0123456789');
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  for (const bad of ['short', '<script>alert(1)</script>', 'a'.repeat(65), 'id with spaces 123', '../../etc/passwd', 'x\u00e9'.repeat(5)]) {
    const r = await c.get('/api/health', { 'x-request-id': bad });
    t.regex(r.headers.get('x-request-id') ?? '', uuid, `${JSON.stringify(bad)} replaced`);
  }
  const a = await c.get('/api/health');
  const b = await c.get('/api/health');
  t.regex(a.headers.get('x-request-id') ?? '', uuid);
  t.not(a.headers.get('x-request-id'), b.headers.get('x-request-id'), 'a new id per request');
});

test('internal failures answer in Chinese without stack, SQL, paths or host names', async (t) => {
  const { ta, c } = await admin(t);
  // handlers that fail the way real code can: a bug, and a database that is away
  ta.app.router.get('/api/v1/test-boom', () => {
    throw new TypeError("Cannot read properties of undefined (reading 'id') at /srv/oa/server/src/x.ts:12 SELECT password_hash FROM user");
  });
  ta.app.router.get('/api/v1/test-db-down', () => {
    throw new ConnectionError(Object.assign(new Error('connect ECONNREFUSED 10.20.30.40:3306'), { code: 'ECONNREFUSED' }));
  });
  const boom = problem(t, await c.get('/api/v1/test-boom'), 500, 'INTERNAL');
  t.regex(boom.detail, /信息科/, 'tells the user whom to call');
  const down = await c.get('/api/v1/test-db-down');
  problem(t, down, 503, 'DATABASE_UNAVAILABLE');
  t.truthy(down.headers.get('retry-after'));
  t.false(down.text.includes('10.20.30.40'));
  // and no 4xx answer from the suites above carries internals either (sampled once more)
  for (const r of [
    await c.raw('PUT', UPLOAD_SETTINGS, { body: '{', headers: JSON_HEADERS }),
    await c.put(UPLOAD_SETTINGS, { maxUploadMb: { $gt: 0 } }),
    await c.get("/api/v1/system/jobs?status=' OR 1=1 --"),
    await c.get('/api/v1/files/1%27%20OR%20%271%27=%271'),
  ]) {
    t.true(r.status >= 400 && r.status < 500, r.text);
    noLeak(t, r.text);
  }
});
