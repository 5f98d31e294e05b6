import test, { type ExecutionContext } from 'ava';
import { startFakeWecom, type FakeWecom } from '@oa/wecom';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { safeNext, stateOf } from '../src/wecom/sso.ts';

// Issue 6 items 3 and 4 (R20.0, S1): signing in with WeCom (H5 OAuth code, PC web/QR login code,
// mini-program wx.qy.login code) maps the WeCom userid to a person and creates the same session as
// the password sign-in; unknown accounts are refused in Chinese; redirects stay on this site; the
// JS-SDK signature endpoint signs only this site's pages.

async function setup(t: ExecutionContext): Promise<{ ta: TestApp; fake: FakeWecom; bob: number }> {
  const fake = await startFakeWecom({ people: 3 });
  t.teardown(() => fake.close());
  const ta = await startTestApp(t, {
    WECOM_CORP_ID: fake.corpId,
    WECOM_AGENT_ID: String(fake.app.agentId),
    WECOM_SECRET: fake.app.secret,
    WECOM_TOKEN: fake.app.token,
    WECOM_AES_KEY: fake.app.encodingAesKey,
    WECOM_API_BASE: fake.url,
  });
  const bob = await ta.createUser({ username: 'bob', name: '李医生' });
  await ta.deps.db.models.User.update({ wecomUserId: 'wx_bob' }, { where: { id: bob } });
  fake.directory.addUser({ userid: 'wx_bob', name: '李医生', department: [1] });
  fake.directory.addUser({ userid: 'wx_stranger', name: '陌生人', department: [1] });
  return { ta, fake, bob };
}

test('issue 6 item 3: the public config says whether WeCom is on and where to send the browser', async (t) => {
  const off = await startTestApp(t);
  const r0 = await off.client().get('/api/v1/auth/wecom/config');
  t.deepEqual(r0.body, { enabled: false });
  const { ta, fake } = await setup(t);
  const r = await ta.client().get('/api/v1/auth/wecom/config?next=' + encodeURIComponent('/#/pages/approval/task?id=7'));
  t.is(r.status, 200);
  t.true(r.body.enabled);
  t.is(r.body.corpId, fake.corpId);
  t.is(r.body.agentId, fake.app.agentId);
  const oauth = new URL(r.body.oauthUrl);
  t.is(oauth.origin + oauth.pathname, `${fake.url}/connect/oauth2/authorize`);
  t.is(oauth.searchParams.get('redirect_uri'), `${ta.url}/api/v1/auth/wecom/oauth`);
  t.is(oauth.searchParams.get('scope'), 'snsapi_base');
  t.regex(oauth.searchParams.get('state')!, /^[0-9a-f]+$/, 'WeCom allows [a-zA-Z0-9] in state');
  t.is(oauth.hash, '#wechat_redirect');
  const qr = new URL(r.body.qrUrl);
  t.is(qr.pathname, '/wwlogin/sso/login');
  t.is(qr.searchParams.get('login_type'), 'CorpApp');
  t.is(qr.searchParams.get('redirect_uri'), `${ta.url}/api/v1/auth/wecom/qr`);
});

test('issue 6 item 3: H5 OAuth through the fake sign-in page creates a session for the mapped person and returns to the page asked for', async (t) => {
  const { ta, bob } = await setup(t);
  const c = ta.client();
  const cfg = await c.get('/api/v1/auth/wecom/config?next=' + encodeURIComponent('/#/pages/approval/task?id=7'));
  // WeCom (the fake) signs the person in and redirects back with a single-use code
  const page = new URL(cfg.body.oauthUrl);
  page.hash = '';
  page.searchParams.set('userid', 'wx_bob');
  const wecom = await fetch(page, { redirect: 'manual' });
  t.is(wecom.status, 302);
  const back = new URL(wecom.headers.get('location')!);
  t.is(back.origin, ta.url);
  const r = await c.get(back.pathname + back.search);
  t.is(r.status, 302);
  t.is(r.headers.get('location'), '/#/pages/approval/task?id=7');
  const me = await c.me();
  t.is(me.status, 200);
  t.is(me.body.id, bob);
  t.is(me.body.username, 'bob');
  const log = await ta.deps.db.models.LoginLog.findOne({ where: { userId: bob, result: 'success' } });
  t.regex(log!.reason!, /^wecom:oauth/);
  const audit = await ta.deps.db.models.AuditLog.findOne({ where: { action: 'auth.login', objectId: String(bob) } });
  t.truthy(audit, 'audited like a password sign-in');
  // the code is single use
  const again = await ta.client().get(back.pathname + back.search);
  t.is(again.status, 302);
  t.regex(decodeURIComponent(again.headers.get('location')!), /^\/#\/pages\/login\/index\?error=.*无效或已过期/);
});

test('issue 6 item 3: an unknown WeCom account is refused in Chinese (403 problem+json, or the sign-in page with the reason)', async (t) => {
  const { ta, fake } = await setup(t);
  const json = await ta.client().get(`/api/v1/auth/wecom/oauth?code=${fake.mintCode({ kind: 'oauth', userid: 'wx_stranger' })}`, { accept: 'application/json' });
  t.is(json.status, 403);
  t.regex(json.headers.get('content-type')!, /problem\+json/);
  t.is(json.body.code, 'WECOM_USER_UNKNOWN');
  t.regex(json.body.detail, /尚未关联本系统人员/);
  const c = ta.client();
  const html = await c.get(`/api/v1/auth/wecom/qr?code=${fake.mintCode({ kind: 'web_login', userid: 'wx_stranger' })}`, { accept: 'text/html' });
  t.is(html.status, 302);
  t.regex(decodeURIComponent(html.headers.get('location')!), /^\/#\/pages\/login\/index\?error=您的企业微信账号/);
  t.is(c.cookies.size, 0, 'no session');
  t.is((await c.me()).status, 401);
  const log = await ta.deps.db.models.LoginLog.findOne({ where: { username: 'wecom:wx_stranger' } });
  t.is(log!.result, 'failure');
});

test('issue 6 item 3, S1: PC QR login works and never redirects off the site', async (t) => {
  const { ta, fake, bob } = await setup(t);
  for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/api/v1/me']) {
    const c = ta.client();
    const r = await c.get(`/api/v1/auth/wecom/qr?code=${fake.mintCode({ kind: 'web_login', userid: 'wx_bob' })}&state=${Buffer.from(evil).toString('hex')}`);
    t.is(r.status, 302, evil);
    t.is(r.headers.get('location'), '/', evil);
    t.is((await c.me()).body.id, bob);
  }
  t.is(safeNext('/#/pages/me/index'), '/#/pages/me/index');
  t.is(safeNext(stateOf('/#/pages/approval/task?id=3')), '/#/pages/approval/task?id=3');
  t.is(safeNext('https://evil.example'), '/');
});

test('issue 6 item 3: the mini-program code gives a Bearer token that works on /api/v1/me; session_key never leaves the server', async (t) => {
  const { ta, fake, bob } = await setup(t);
  const c = ta.client();
  const r = await c.post('/api/v1/auth/wecom/miniprogram', { code: fake.mintCode({ kind: 'jscode', userid: 'wx_bob' }) });
  t.is(r.status, 200, JSON.stringify(r.body));
  t.false(r.text.includes('session_key'));
  t.is(r.body.id, bob);
  t.is(c.cookies.size, 0, 'no cookie: the mini-program keeps the token');
  const api = ta.client();
  api.bearer = r.body.token;
  const me = await api.me();
  t.is(me.status, 200);
  t.is(me.body.username, 'bob');
  const reused = await ta.client().post('/api/v1/auth/wecom/miniprogram', { code: 'js_not-a-code' });
  t.is(reused.status, 401);
  t.is(reused.body.code, 'WECOM_CODE_INVALID');
});

test('issue 6 item 4: JS-SDK signatures for this site\'s pages only, for signed-in people', async (t) => {
  const { ta, fake } = await setup(t);
  const anon = await ta.client().get(`/api/v1/wecom/jssdk-signature?url=${encodeURIComponent(ta.url + '/')}`);
  t.is(anon.status, 401);
  const c = ta.client();
  const s = await c.post('/api/v1/auth/wecom/miniprogram', { code: fake.mintCode({ kind: 'jscode', userid: 'wx_bob' }) });
  c.bearer = s.body.token;
  const page = `${ta.url}/?from=wecom#/pages/approval/task?id=1`;
  const r = await c.get(`/api/v1/wecom/jssdk-signature?url=${encodeURIComponent(page)}`);
  t.is(r.status, 200, JSON.stringify(r.body));
  t.is(r.body.corpId, fake.corpId);
  t.is(r.body.agentId, fake.app.agentId);
  t.is(r.body.url, `${ta.url}/?from=wecom`, 'fragment removed');
  t.regex(r.body.config.signature, /^[0-9a-f]{40}$/);
  t.regex(r.body.agentConfig.signature, /^[0-9a-f]{40}$/);
  await c.get(`/api/v1/wecom/jssdk-signature?url=${encodeURIComponent(page)}`);
  t.is(fake.callCount('/cgi-bin/get_jsapi_ticket'), 1, 'tickets are cached');
  const evil = await c.get(`/api/v1/wecom/jssdk-signature?url=${encodeURIComponent('https://evil.example/')}`);
  t.is(evil.status, 400);
  t.is(evil.body.code, 'URL_NOT_ALLOWED');
});
