import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startTestApp } from './helpers/app.ts';
import { tempDir } from './helpers/db.ts';
import { rawRequest } from './helpers/client.ts';

// The built clients come from the same server: the admin console at /admin/, the staff H5 client
// at /. Deep links open the app, missing assets are 404s, and no path reaches outside the builds.

const ADMIN_INDEX = '<!doctype html><html lang="zh-CN"><head><title>管理后台</title><script type="module" src="/admin/assets/app-abcdef12.js"></script></head><body><div id="app"></div></body></html>';
const ADMIN_JS = 'console.log("admin app build abcdef12");';
const H5_INDEX = '<!doctype html><html lang="zh-CN"><head><title>协同办公</title></head><body><div id="app">H5 员工端</div></body></html>';
const SECRET = 'TOP-SECRET-DO-NOT-SERVE';

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** a clients folder as the builds leave it, plus files next to it that must never be served */
function fakeClients(t: ExecutionContext, opts: { h5?: boolean; admin?: boolean } = {}): string {
  const root = tempDir(t, 'oa-clients-');
  if (opts.admin !== false) {
    write(path.join(root, 'admin/dist/index.html'), ADMIN_INDEX);
    write(path.join(root, 'admin/dist/assets/app-abcdef12.js'), ADMIN_JS);
    write(path.join(root, 'admin/dist/logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  }
  if (opts.h5 !== false) write(path.join(root, 'miniapp/dist/build/h5/index.html'), H5_INDEX);
  // outside the served folders
  write(path.join(root, 'secret.txt'), SECRET);
  write(path.join(root, 'admin/secret.txt'), SECRET);
  write(path.join(root, 'admin/.env'), `DB_PASSWORD=${SECRET}`);
  write(path.join(root, 'miniapp/dist/secret.txt'), SECRET);
  return root;
}

test('the admin console: /admin redirects, deep links open the app, hashed assets are cached for good', async (t) => {
  const ta = await startTestApp(t, {}, { clientsRoot: fakeClients(t) });
  const c = ta.client();
  const bare = await c.get('/admin');
  t.true([301, 302].includes(bare.status));
  t.is(bare.headers.get('location'), '/admin/');

  for (const p of ['/admin/', '/admin/index.html', '/admin/org/people', '/admin/org/people?dept=3', '/admin/workflow/designer/12', '/admin/reports/2026.html']) {
    const r = await c.get(p);
    t.is(r.status, 200, p);
    t.is(r.text, ADMIN_INDEX, `${p} opens the admin app`);
    t.regex(r.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    t.is(r.headers.get('cache-control'), 'no-cache', `${p}: the shell is always revalidated, so a new release shows at once`);
    t.regex(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    t.is(r.headers.get('x-frame-options'), 'SAMEORIGIN');
  }
  const js = await c.get('/admin/assets/app-abcdef12.js');
  t.is(js.status, 200);
  t.is(js.text, ADMIN_JS);
  t.regex(js.headers.get('content-type') ?? '', /^text\/javascript/);
  t.regex(js.headers.get('cache-control') ?? '', /max-age=31536000/);
  t.regex(js.headers.get('cache-control') ?? '', /immutable/);
  const svg = await c.get('/admin/logo.svg');
  t.is(svg.status, 200);
  t.is(svg.headers.get('content-type'), 'image/svg+xml');
  t.notRegex(svg.headers.get('cache-control') ?? '', /immutable/, 'an unhashed file is not cached for a year');

  // a missing asset is a 404, never the app shell served as JavaScript
  for (const p of ['/admin/assets/missing.js', '/admin/assets/app-00000000.css', '/admin/favicon.ico', '/admin/assets/app-abcdef12.js.map']) {
    const r = await c.get(p);
    t.is(r.status, 404, p);
    t.false(r.text.includes('<div id="app">'), p);
  }
  // HEAD works like GET without a body; writes never hit the static files
  const head = await c.raw('HEAD', '/admin/org/people');
  t.is(head.status, 200);
  t.is(head.text, '');
  t.not((await c.raw('POST', '/admin/org/people')).status, 200);
});

test('the staff H5 client at /: deep links open it; /api and /wecom never fall back to it', async (t) => {
  const ta = await startTestApp(t, {}, { clientsRoot: fakeClients(t) });
  const c = ta.client();
  for (const p of ['/', '/pages/todo', '/pages/todo/detail?id=3', '/pages/approval/123', '/index.html']) {
    const r = await c.get(p);
    t.is(r.status, 200, p);
    t.is(r.text, H5_INDEX, `${p} opens the H5 client`);
    t.is(r.headers.get('cache-control'), 'no-cache');
  }
  t.is((await c.get('/static/missing.png')).status, 404);
  for (const p of ['/api', '/api/', '/api/nothing', '/api/v1/unknown/deep/route', '/api/nothing.js']) {
    const r = await c.get(p);
    t.is(r.status, 404, p);
    t.regex(r.headers.get('content-type') ?? '', /^application\/problem\+json/, `${p}: a problem, not a page`);
    t.false(r.text.includes('<html'), p);
    t.is(r.body.code, 'NOT_FOUND');
  }
  const wecom = await c.get('/wecom/callback/unknown');
  t.is(wecom.status, 404);
  t.false(wecom.text.includes('<html'), 'WeCom callbacks never get the web page');
});

test('no path reaches a file outside the built clients', async (t) => {
  const root = fakeClients(t);
  const ta = await startTestApp(t, {}, { clientsRoot: root });
  const probes = [
    '/admin/../secret.txt',
    '/admin/../../secret.txt',
    '/admin/..%2fsecret.txt',
    '/admin/..%2f..%2fsecret.txt',
    '/admin/..%2f..%2f..%2f..%2f..%2fetc/passwd',
    '/admin/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '/admin/%2e%2e/secret.txt',
    '/admin/%2e%2e/%2e%2e/secret.txt',
    '/admin/%2E%2E%2F%2E%2E%2Fsecret.txt',
    '/admin/.%2e/.env',
    '/admin/..\\secret.txt',
    '/admin/..%5csecret.txt',
    '/admin/assets/..%5c..%5c..%5csecret.txt',
    '/admin/%252e%252e/%252e%252e/secret.txt',
    '/admin/%252e%252e%252fsecret.txt',
    '/admin/..%c0%af..%c0%afsecret.txt',
    '/admin/..%u2216secret.txt',
    '/admin/....//....//secret.txt',
    '/admin//etc/passwd',
    '/admin/%2fetc%2fpasswd',
    '/admin/.env',
    '/admin/secret.txt%00.js',
    '/../../../../etc/passwd',
    '/..%2f..%2f..%2fetc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/%2e%2e/secret.txt',
    '/../dist/secret.txt',
    '/..%2fsecret.txt',
    '/assets/..%2f..%2f..%2f..%2fsecret.txt',
  ];
  for (const p of probes) {
    for (const method of ['GET', 'HEAD']) {
      const r = await rawRequest(ta.url, method, p);
      t.false(r.text.includes(SECRET), `${method} ${p} leaked a file`);
      t.false(r.text.includes('root:x:0:0'), `${method} ${p} leaked /etc/passwd`);
      t.not(r.status, 500, `${method} ${p}`);
      // either refused, not found, or one of the two app shells (a harmless route)
      if (method === 'GET' && r.status === 200) t.true(r.text === ADMIN_INDEX || r.text === H5_INDEX, `${p}: ${r.text.slice(0, 80)}`);
      else t.true([301, 302, 400, 404].includes(r.status) || (method === 'HEAD' && r.status === 200), `${method} ${p}: ${r.status}`);
    }
  }
});

test('without a built H5 client, / shows the Chinese landing page with the way to the console', async (t) => {
  const ta = await startTestApp(t, {}, { clientsRoot: fakeClients(t, { h5: false }) });
  const c = ta.client();
  for (const p of ['/', '/pages/todo']) {
    const r = await c.get(p);
    t.is(r.status, 200, p);
    t.regex(r.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    t.regex(r.text, /<html lang="zh-CN">/);
    t.regex(r.text, /医院协同办公系统/);
    t.regex(r.text, /href="\/admin\/"/);
    t.regex(r.text, /href="\/api\/docs\/"/);
    t.false(/<script/.test(r.text), 'a static page, nothing to run');
  }
  // the admin console is still there
  t.is((await c.get('/admin/org/people')).text, ADMIN_INDEX);

  // and with nothing built at all: still the landing page at /, a plain 404 under /admin/
  const empty = await startTestApp(t, {}, { clientsRoot: tempDir(t, 'oa-clients-') });
  const e = empty.client();
  const landing = await e.get('/');
  t.is(landing.status, 200);
  t.regex(landing.text, /医院协同办公系统/);
  const admin = await e.get('/admin/');
  t.is(admin.status, 404);
  t.false(admin.text.includes('<div id="app">'));
  t.is((await e.get('/api/nothing')).headers.get('content-type')?.startsWith('application/problem+json'), true);
});
