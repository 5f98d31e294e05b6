import test from 'ava';
import { TokenCache, WecomApiError, WecomClient, approvalCard, approvalCardUpdate, buildSendBodies, text } from '../src/index.ts';
import { setup } from './helpers.ts';

// The API client against the fake (issue 6 item 1; R20.0): token cache with single flight, the token
// errors 40001/40014/42001, -1 and 45009 storms with backoff (injected sleep, no real waiting), typed errors.

test('issue 6.1: token is fetched once for 20 concurrent calls and reused', async (t) => {
  const { fake, client } = await setup(t);
  const results = await Promise.all(Array.from({ length: 20 }, () => client.listDepartments()));
  t.true(results.every((r) => r.length === fake.directory.departments.size));
  t.is(fake.callCount('/cgi-bin/gettoken'), 1);
  t.is(client.stats.tokenFetches, 1);
  await client.listDepartments();
  t.is(fake.callCount('/cgi-bin/gettoken'), 1);
  t.is(client.stats.calls, 22);
  t.is(client.stats.byPath['/cgi-bin/department/list'], 21);
});

test('issue 6.1: token refreshed ahead of expiry, once under concurrency', async (t) => {
  const { fake, client, clock } = await setup(t, { tokenTtlSeconds: 7200, sameTokenUntilExpiry: false });
  await client.listDepartments();
  const first = await client.accessToken();
  clock.advance(7200_000 - 4 * 60_000); // 4 min before expiry: inside the 5-minute refresh window
  await Promise.all(Array.from({ length: 10 }, () => client.listDepartments()));
  t.is(fake.callCount('/cgi-bin/gettoken'), 2);
  t.not(await client.accessToken(), first);
  // no 42001 was ever answered: refreshed before WeCom refused it
  t.false(fake.calls.some((c) => c.errcode === 42001));
});

test('issue 6.1: short-lived tokens refresh at half their lifetime', async (t) => {
  const { fake, client, clock } = await setup(t, { tokenTtlSeconds: 60, sameTokenUntilExpiry: false });
  await client.listDepartments();
  clock.advance(29_000);
  await client.listDepartments();
  t.is(fake.callCount('/cgi-bin/gettoken'), 1);
  clock.advance(2_000);
  await client.listDepartments();
  t.is(fake.callCount('/cgi-bin/gettoken'), 2);
});

test('issue 6.1: token revoked mid-run (40014) → dropped, refreshed once, call retried', async (t) => {
  const { fake, client } = await setup(t);
  await client.listDepartments();
  const old = await client.accessToken();
  fake.revokeTokens();
  const deps = await Promise.all(Array.from({ length: 5 }, () => client.listDepartments()));
  t.true(deps.every((d) => d.length > 0));
  t.not(await client.accessToken(), old);
  t.true(fake.calls.some((c) => c.errcode === 40014));
  t.is(fake.callCount('/cgi-bin/gettoken'), 2); // the five failed calls shared one refresh
});

test('issue 6.1: expired token (42001) and invalid credential (40001) refresh once too', async (t) => {
  const { fake, client } = await setup(t);
  await client.listDepartments();
  fake.revokeTokens({ errcode: 42001 });
  t.truthy(await client.getUser('10001'));
  fake.injectFault({ errcode: 40001, path: '/cgi-bin/user/get' });
  t.truthy(await client.getUser('10001'));
  t.is(fake.callCount('/cgi-bin/gettoken'), 3);
});

test('issue 6.1: a token error that persists after the refresh is thrown typed', async (t) => {
  const { fake, client } = await setup(t);
  fake.injectFault({ errcode: 40014, times: 2, path: '/cgi-bin/department/list' });
  const err = await t.throwsAsync(client.listDepartments(), { instanceOf: WecomApiError });
  t.is(err?.errcode, 40014);
  t.true(err?.isTokenError);
  t.is(fake.callCount('/cgi-bin/department/list'), 2);
});

test('issue 6.1: wrong secret at gettoken is a config error, not retried', async (t) => {
  const { fake } = await setup(t);
  const client = new WecomClient({ corpId: fake.corpId, secret: 'nope', apiBase: fake.url, sleep: async () => t.fail('no sleep') });
  const err = await t.throwsAsync(client.listDepartments(), { instanceOf: WecomApiError });
  t.is(err?.errcode, 40001);
  t.is(err?.path, '/cgi-bin/gettoken');
  const badCorp = new WecomClient({ corpId: 'wwother', secret: fake.app.secret, apiBase: fake.url });
  t.is((await t.throwsAsync(badCorp.accessToken(), { instanceOf: WecomApiError }))?.errcode, 40013);
});

test('issue 6.1: -1 storm is retried with exponential backoff (no real waiting)', async (t) => {
  const { fake, client, clock } = await setup(t);
  await client.accessToken();
  fake.injectFault({ errcode: -1, times: 3 });
  const deps = await client.listDepartments();
  t.true(deps.length > 0);
  t.deepEqual(clock.state.sleeps, [1000, 2000, 4000]);
  fake.injectFault({ errcode: -1, times: 4 });
  const err = await t.throwsAsync(client.listDepartments(), { instanceOf: WecomApiError });
  t.is(err?.errcode, -1);
  // 45033 (concurrency) is treated like busy
  fake.injectFault({ errcode: 45033, times: 1 });
  t.true((await client.listDepartments()).length > 0);
});

test('issue 6.1: -1 during gettoken is retried as well', async (t) => {
  const { fake, client, clock } = await setup(t);
  fake.injectFault({ errcode: -1, times: 2, path: '/cgi-bin/gettoken' });
  t.truthy(await client.accessToken());
  t.deepEqual(clock.state.sleeps, [1000, 2000]);
});

test('issue 6.1: 45009 pauses the client, retries once, and later calls wait for the pause', async (t) => {
  const { fake, client, clock } = await setup(t);
  await client.accessToken();
  fake.injectFault({ errcode: 45009, times: 1 });
  t.true((await client.listDepartments()).length > 0);
  t.deepEqual(clock.state.sleeps, [60_000]);

  // storm: 45009 twice → thrown, and the next call first waits out the (doubled) pause
  clock.state.sleeps.length = 0;
  fake.injectFault({ errcode: 45009, times: 2 });
  const err = await t.throwsAsync(client.listDepartments(), { instanceOf: WecomApiError });
  t.is(err?.errcode, 45009);
  t.deepEqual(clock.state.sleeps, [60_000]);
  const before = fake.callCount();
  await client.listDepartments();
  t.deepEqual(clock.state.sleeps, [60_000, 120_000]);
  t.is(fake.callCount(), before + 1);
});

test('issue 6.1: an unknown errcode surfaces as WecomApiError with errcode and errmsg', async (t) => {
  const { fake, client } = await setup(t);
  fake.injectFault({ errcode: 60011, path: '/cgi-bin/user/get' });
  const err = await t.throwsAsync(client.getUser('10001'), { instanceOf: WecomApiError });
  t.is(err?.errcode, 60011);
  t.regex(err?.errmsg ?? '', /^no privilege.*more info at https:\/\/open\.work\.weixin\.qq\.com\/devtool\/query\?e=60011$/);
  t.is(fake.callCount('/cgi-bin/user/get'), 1);
  const notFound = await t.throwsAsync(client.getUser('nobody'), { instanceOf: WecomApiError });
  t.is(notFound?.errcode, 60111);
});

test('issue 6.1: WECOM_API_BASE is the default base URL', (t) => {
  const saved = process.env.WECOM_API_BASE;
  t.teardown(() => {
    if (saved === undefined) delete process.env.WECOM_API_BASE;
    else process.env.WECOM_API_BASE = saved;
  });
  process.env.WECOM_API_BASE = 'http://127.0.0.1:1/';
  t.is(new WecomClient({ corpId: 'ww1', secret: 's' }).apiBase, 'http://127.0.0.1:1');
  delete process.env.WECOM_API_BASE;
  t.is(new WecomClient({ corpId: 'ww1', secret: 's' }).apiBase, 'https://qyapi.weixin.qq.com');
  t.is(new WecomClient({ corpId: 'ww1', secret: 's', apiBase: 'http://fake:3900' }).apiBase, 'http://fake:3900');
});

test('issue 6.1: clients of one app share a TokenCache; another secret gets its own token', async (t) => {
  const { fake, clock } = await setup(t);
  const cache = new TokenCache();
  const mk = (secret: string) => new WecomClient({ corpId: fake.corpId, secret, apiBase: fake.url, tokenCache: cache, now: clock.now, sleep: clock.sleep });
  const a = mk(fake.app.secret);
  const b = mk(fake.app.secret);
  const c = mk(fake.contactApp!.secret);
  await Promise.all([a.accessToken(), b.accessToken(), c.accessToken()]);
  t.is(fake.callCount('/cgi-bin/gettoken'), 2);
  t.is(await a.accessToken(), await b.accessToken());
  t.not(await a.accessToken(), await c.accessToken());
});

test('issue 6.1: message/send partial failures, 81013, cards, update and recall', async (t) => {
  const { fake, client } = await setup(t);
  const [body] = buildSendBodies(text('您有一条新的通知'), { users: ['10001', '10002', 'Ghost'] });
  const sent = await client.sendMessage(body!);
  t.deepEqual(sent.invalidUsers, ['ghost']);
  t.truthy(sent.msgid);
  t.deepEqual(fake.messages.at(-1)!.delivered, ['10001', '10002']);

  const all = await t.throwsAsync(client.sendMessage({ ...body!, touser: 'ghost1|ghost2' }), { instanceOf: WecomApiError });
  t.is(all?.errcode, 81013);

  const card = approvalCard({ taskId: 42, title: '请假申请', description: '张三 · 事假 2 天', detail: { url: 'https://oa.example/h5/#/task/42' } });
  const cardSent = await client.sendMessage({ ...card, touser: '10003' });
  t.truthy(cardSent.responseCode);
  const upd = await client.updateTemplateCard(approvalCardUpdate({ responseCode: cardSent.responseCode!, outcome: { kind: 'approved', by: '李四' }, userids: ['10003'] }));
  t.deepEqual(upd.invalidUsers, []);
  t.is(fake.cardUpdates.at(-1)!.replaceName, '李四 已同意');
  // response_code is single use
  t.is((await t.throwsAsync(client.updateTemplateCard(approvalCardUpdate({ responseCode: cardSent.responseCode!, outcome: { kind: 'approved', by: '李四' } })), { instanceOf: WecomApiError }))?.errcode, 40058);

  await client.recallMessage(sent.msgid);
  t.true(fake.messages.find((m) => m.msgid === sent.msgid)!.recalled);
  t.is((await t.throwsAsync(client.recallMessage(sent.msgid), { instanceOf: WecomApiError }))?.errcode, 40058);
});

test('P4: full directory read of 3,000 people in departments costs one call per department', async (t) => {
  const { fake, client } = await setup(t, { people: 3000 });
  const deps = await client.listDepartments();
  const users = (await Promise.all(deps.map((d) => client.listUsers(d.id)))).flat();
  t.is(new Set(users.map((u) => u.userid)).size, 3000);
  t.is(client.stats.calls, 1 + 1 + deps.length);
  // a self-built app created today gets no sensitive fields (SPEC.md §7.2)
  t.is(users[0]!.mobile, undefined);
  t.deepEqual(users.find((u) => u.userid === '10001')!.extattr!.attrs[0], { type: 0, name: '工号', text: { value: '10001' } });
  // user/list_id only with the contact-sync secret
  t.is((await t.throwsAsync(client.listAllUserIds(), { instanceOf: WecomApiError }))?.errcode, 48002);
  const sync = new WecomClient({ corpId: fake.corpId, secret: fake.contactApp!.secret, apiBase: fake.url });
  const ids = await sync.listAllUserIds(1000);
  t.is(ids.length, 3000);
  t.is(sync.stats.byPath['/cgi-bin/user/list_id'], 3);
});

test('issue 6.3: OAuth, web-login and jscode codes exchange once', async (t) => {
  const { fake, client } = await setup(t);
  const code = fake.mintCode({ kind: 'oauth', userid: '10005' });
  t.deepEqual(await client.getUserInfoByCode(code), { userid: '10005' });
  t.is((await t.throwsAsync(client.getUserInfoByCode(code), { instanceOf: WecomApiError }))?.errcode, 40029);
  const qr = fake.mintCode({ kind: 'web_login', userid: '10006' });
  t.deepEqual(await client.exchangeLoginCode(qr), { userid: '10006' });
  const js = fake.mintCode({ kind: 'jscode', userid: '10007' });
  const session = await client.jscode2session(js);
  t.is(session.userid, '10007');
  t.is(session.corpid, fake.corpId);
  t.truthy(session.session_key);
  // a jscode is not an OAuth code
  t.is((await t.throwsAsync(client.getUserInfoByCode(fake.mintCode({ kind: 'jscode', userid: '10007' })), { instanceOf: WecomApiError }))?.errcode, 40029);
  // an outsider gets an openid, no userid
  const outsider = await client.getUserInfoByCode(fake.mintCode({ kind: 'oauth', userid: 'wx-visitor' }));
  t.is(outsider.userid, undefined);
  t.truthy(outsider.openid);
  // privateinfo → user_ticket → detail
  const pi = await client.getUserInfoByCode(fake.mintCode({ kind: 'oauth', userid: '10008', scope: 'snsapi_privateinfo' }));
  t.truthy(pi.user_ticket);
  t.is((await client.getUserDetail(pi.user_ticket!)).userid, '10008');
});
