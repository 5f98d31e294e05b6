import fs from 'node:fs';
import test from 'ava';
import { startTestApp } from './helpers/app.ts';

// What the IT department's monitoring and the integrators rely on: /api/health, /api/metrics,
// the OpenAPI document and the Swagger UI, all served from the hospital's own server.

const SERVER_VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const TOKEN = 'metrics-token-0123456789abcdef';

test('health reports ok, the program version and an up-to-date schema, without a session', async (t) => {
  const ta = await startTestApp(t);
  const r = await ta.client().get('/api/health');
  t.is(r.status, 200);
  t.deepEqual(r.body, {
    status: 'ok',
    version: SERVER_VERSION,
    db: { dialect: ta.deps.db.dialect, ok: true },
    migrations: { current: true, pending: [] },
  });
  t.regex(SERVER_VERSION, /^\d+\.\d+\.\d+/);
  // nothing about where the database lives
  t.false(r.text.includes(ta.tdb.url));
  t.false(r.text.includes(ta.tdb.dataDir));
  t.is(r.headers.get('cache-control'), 'no-store', 'a monitor never sees a cached answer');
});

test('health is 503 with Retry-After while the schema is behind the program', async (t) => {
  const ta = await startTestApp(t);
  await ta.deps.db.sequelize.query("DELETE FROM schema_migration WHERE name = '0001-foundation'");
  const r = await ta.client().get('/api/health');
  t.is(r.status, 503);
  t.is(r.body.code, 'SERVICE_UNAVAILABLE');
  t.regex(r.body.detail, /迁移.*0001-foundation/);
  t.truthy(r.headers.get('retry-after'));
});

test('health is 503 naming the migration when the schema was written by a newer program', async (t) => {
  const ta = await startTestApp(t);
  await ta.deps.db.sequelize.query("INSERT INTO schema_migration (name) VALUES ('0099-from-a-newer-release')");
  const r = await ta.client().get('/api/health');
  t.is(r.status, 503);
  t.regex(r.body.detail, /0099-from-a-newer-release/, `the operator learns what is wrong: ${r.body.detail}`);
});

/** the value of one sample line, e.g. oa_http_requests_total{method="GET",route="/api/health",status="200"} */
function sample(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    const got = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return null;
}

test('metrics count requests by route template, never by raw path', async (t) => {
  const ta = await startTestApp(t);
  const c = ta.client();
  for (let i = 0; i < 3; i++) t.is((await c.get('/api/health')).status, 200);
  await c.get('/api/v1/me'); // 401
  await c.get('/api/v1/files/12345'); // 401, with an id in the path
  for (let i = 0; i < 5; i++) await c.get(`/api/scan-${i}-${Math.random().toString(36).slice(2)}`);
  const m = await c.get('/api/metrics');
  t.is(m.status, 200);
  t.regex(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = m.text;
  t.regex(text, /# TYPE oa_http_requests_total counter/);
  t.is(sample(text, 'oa_http_requests_total', { method: 'GET', route: '/api/health', status: '200' }), 3);
  t.is(sample(text, 'oa_http_requests_total', { method: 'GET', route: '/api/v1/me', status: '401' }), 1);
  t.is(sample(text, 'oa_http_requests_total', { method: 'GET', route: '/api/v1/files/:id', status: '401' }), 1);
  t.is(sample(text, 'oa_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 5);
  t.false(text.includes('12345'), 'ids do not become labels');
  t.false(text.includes('scan-'), 'scanned paths do not become labels (bounded cardinality)');
  t.regex(text, /oa_http_request_duration_seconds_bucket\{[^}]*route="\/api\/health"/);
  t.regex(text, /oa_process_resident_memory_bytes \d+/, 'process metrics too');
});

test('metrics are for this host or the monitoring token only, judged by the address the proxy saw', async (t) => {
  const ta = await startTestApp(t, { TRUST_PROXY: 'true', METRICS_TOKEN: TOKEN });
  const c = ta.client();
  t.is((await c.get('/api/metrics')).status, 200, 'from this host (no proxy in between)');
  const outside = { 'x-forwarded-for': '203.0.113.9' };
  const denied = await c.get('/api/metrics', outside);
  t.is(denied.status, 403);
  t.regex(denied.headers.get('content-type') ?? '', /^application\/problem\+json/);
  t.false(denied.text.includes('oa_http_requests_total'));
  t.is((await c.get('/api/metrics', { ...outside, authorization: 'Bearer wrong-token-0123456789' })).status, 403);
  t.is((await c.get('/api/metrics', { ...outside, authorization: `Bearer ${TOKEN}x` })).status, 403);
  t.is((await c.get('/api/metrics', { ...outside, authorization: TOKEN })).status, 403, 'the scheme is required');
  t.is((await c.get(`/api/metrics?token=${TOKEN}`, outside)).status, 403, 'never in the URL');
  const ok = await c.get('/api/metrics', { ...outside, authorization: `Bearer ${TOKEN}` });
  t.is(ok.status, 200);
  t.regex(ok.text, /oa_http_requests_total/);
  // a client that writes "127.0.0.1" into X-Forwarded-For itself: the proxy appends the real
  // address, and that is the one that counts
  t.is((await c.get('/api/metrics', { 'x-forwarded-for': '127.0.0.1, 203.0.113.9' })).status, 403);
});

test('without a token configured, metrics are closed to every other address', async (t) => {
  const ta = await startTestApp(t, { TRUST_PROXY: 'true' });
  const c = ta.client();
  t.is((await c.get('/api/metrics', { 'x-forwarded-for': '10.1.2.3' })).status, 403);
  t.is((await c.get('/api/metrics', { 'x-forwarded-for': '10.1.2.3', authorization: 'Bearer ' })).status, 403);
  t.is((await c.get('/api/metrics', { 'x-forwarded-for': '10.1.2.3', authorization: 'Bearer undefined' })).status, 403);
  // without TRUST_PROXY a request relayed by a proxy on this host also comes from 127.0.0.1:
  // it is not "this machine", so it needs the token; a direct local request does not
  const direct = await startTestApp(t, { METRICS_TOKEN: TOKEN });
  t.is((await direct.client().get('/api/metrics', { 'x-forwarded-for': '203.0.113.9' })).status, 403, 'relayed through a local proxy');
  t.is((await direct.client().get('/api/metrics', { 'x-forwarded-for': '203.0.113.9', authorization: `Bearer ${TOKEN}` })).status, 200);
  t.is((await direct.client().get('/api/metrics')).status, 200, 'direct from this host');
});

interface Operation {
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: { type?: string; required?: string[]; properties?: Record<string, { type?: string; format?: string }>; additionalProperties?: unknown } }> };
  parameters?: Array<{ name: string; in: string; required: boolean }>;
  responses: Record<string, unknown>;
  operationId: string;
  'x-access': unknown;
}

test('the OpenAPI 3.1 document lists every route the server answers, with its access', async (t) => {
  const ta = await startTestApp(t);
  const r = await ta.client().get('/api/openapi.json');
  t.is(r.status, 200);
  const doc = r.body as { openapi: string; info: { version: string }; paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> } };
  t.is(doc.openapi, '3.1.0');
  t.is(doc.info.version, SERVER_VERSION);
  t.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearerSession', 'cookieSession']);

  const toOpenApi = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  let operations = 0;
  for (const path of Object.values(doc.paths)) operations += Object.keys(path).length;
  t.is(operations, ta.app.routes.length, 'nothing undocumented, nothing extra');
  const ids = new Set<string>();
  for (const route of ta.app.routes) {
    const p = toOpenApi(route.path);
    const op = doc.paths[p]?.[route.method];
    if (!op) {
      t.fail(`${route.method.toUpperCase()} ${p} missing`);
      continue;
    }
    t.false(ids.has(op.operationId), `operationId ${op.operationId} unique`);
    ids.add(op.operationId);
    t.deepEqual(op['x-access'], route.access);
    if (route.access === 'public') {
      t.deepEqual(op.security, [], `${p} is public`);
    } else {
      t.true((op.security?.length ?? 0) > 0, `${route.method} ${p} requires a session`);
      t.truthy(op.responses['401'], `${p} documents 401`);
    }
    for (const name of [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)) {
      t.true(op.parameters?.some((x) => x.name === name && x.in === 'path' && x.required) ?? false, `${p} documents {${name}}`);
    }
  }
  // and every route the router serves comes from that list (none mounted around it)
  for (const layer of ta.app.router.stack) {
    for (const method of layer.methods.filter((m) => m !== 'HEAD')) {
      t.truthy(doc.paths[toOpenApi(String(layer.path))]?.[method.toLowerCase()], `router serves ${method} ${String(layer.path)}: documented`);
    }
  }
  const idPath = doc.paths['/api/v1/files/{id}'];
  t.truthy(idPath?.get, 'path parameters use {id}');

  const login = doc.paths['/api/v1/auth/login']!.post!;
  const schema = login.requestBody!.content['application/json']!.schema;
  t.deepEqual(schema.required?.sort(), ['password', 'username']);
  t.is(schema.properties!.username!.type, 'string');
  t.is(schema.additionalProperties, false, 'unknown fields are documented as refused');
  t.deepEqual(login.security, []);

  const upload = doc.paths['/api/v1/files']!.post!;
  const form = upload.requestBody!.content['multipart/form-data']!.schema;
  t.deepEqual(form.required, ['file']);
  t.is(form.properties!.file!.format, 'binary');
});

test('Swagger UI is served from this server only, and what it loads is there', async (t) => {
  const ta = await startTestApp(t);
  const c = ta.client();
  const bare = await c.get('/api/docs');
  t.true([301, 302, 308].includes(bare.status));
  t.is(bare.headers.get('location'), '/api/docs/');
  const page = await c.get('/api/docs/');
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
  t.regex(page.text, /接口文档/);
  const refs = [...page.text.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  t.true(refs.length >= 3, refs.join(' '));
  t.false(/<script>[^<]/.test(page.text), 'no inline script (the CSP forbids it)');
  for (const ref of refs) {
    t.regex(ref, /^\/(?!\/)/, `${ref} is on this server`);
    const asset = await c.get(ref);
    t.is(asset.status, 200, ref);
    t.regex(asset.headers.get('content-type') ?? '', ref.endsWith('.css') ? /^text\/css/ : /^text\/javascript/, ref);
    t.true(asset.bytes.length > 0, ref);
  }
  // the page's script points Swagger UI at the local document and not at the public validator
  // (validator.swagger.io would be asked about every spec URL off the hospital network)
  const init = (await c.get('/api/docs/init.js')).text;
  t.regex(init, /url: '\/api\/openapi\.json'/);
  t.regex(init, /validatorUrl: null/);
  // the page is framed by nothing and runs only local scripts
  t.regex(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
});
