import test from 'ava';
import { approvalCard, buildSendBodies, startFakeWecom, text, WecomApiError, WecomClient } from '../src/index.ts';
import { fakeClock, setup } from './helpers.ts';

// The fake WeCom server itself (issue 6 item 7, SPEC.md §10), with an injected clock.

async function raw(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

test('issue 6.7: codes are single use and expire after 5 minutes (injected clock)', async (t) => {
  const { fake, client, clock } = await setup(t);
  const fresh = fake.mintCode({ kind: 'oauth', userid: '10001' });
  const old = fake.mintCode({ kind: 'oauth', userid: '10002' });
  const js = fake.mintCode({ kind: 'jscode', userid: '10003' });
  clock.advance(299_000);
  t.is((await client.getUserInfoByCode(fresh)).userid, '10001');
  t.is((await t.throwsAsync(client.getUserInfoByCode(fresh), { instanceOf: WecomApiError }))?.errcode, 40029);
  clock.advance(1_000); // 5 minutes
  t.is((await t.throwsAsync(client.getUserInfoByCode(old), { instanceOf: WecomApiError }))?.errcode, 40029);
  t.is((await t.throwsAsync(client.jscode2session(js), { instanceOf: WecomApiError }))?.errcode, 40029);
  t.is((await t.throwsAsync(client.getUserInfoByCode('never-issued'), { instanceOf: WecomApiError }))?.errcode, 40029);
});

test('issue 6.7: codes are bound to the app and the redirect host (40029 / 50001)', async (t) => {
  const clock = fakeClock();
  const fake = await startFakeWecom({
    now: clock.now,
    apps: [
      { agentId: 1000002, secret: 's1', redirectHosts: ['oa.hospital.example'] },
      { agentId: 1000003, secret: 's2' },
    ],
  });
  t.teardown(() => fake.close());
  const a = new WecomClient({ corpId: fake.corpId, secret: 's1', apiBase: fake.url, now: clock.now, sleep: clock.sleep });
  const b = new WecomClient({ corpId: fake.corpId, secret: 's2', apiBase: fake.url, now: clock.now, sleep: clock.sleep });
  t.is((await t.throwsAsync(b.getUserInfoByCode(fake.mintCode({ kind: 'oauth', userid: '10001', agentId: 1000002 })), { instanceOf: WecomApiError }))?.errcode, 40029);
  t.is((await t.throwsAsync(a.getUserInfoByCode(fake.mintCode({ kind: 'oauth', userid: '10001', redirectHost: 'evil.example' })), { instanceOf: WecomApiError }))?.errcode, 50001);
  t.is((await a.getUserInfoByCode(fake.mintCode({ kind: 'oauth', userid: '10001', redirectHost: 'oa.hospital.example' }))).userid, '10001');
});

test('issue 6.7: the sign-in page redirects back with a fresh code and the state', async (t) => {
  const { fake, client } = await setup(t);
  const page = await fetch(`${fake.url}/connect/oauth2/authorize?appid=${fake.corpId}&redirect_uri=${encodeURIComponent('http://127.0.0.1:3000/api/v1/auth/wecom/callback?x=1')}&response_type=code&scope=snsapi_base&state=abc&agentid=${fake.app.agentId}`);
  t.regex(await page.text(), /模拟企业微信网页授权/);
  const res = await fetch(`${fake.url}/wwlogin/sso/login?login_type=CorpApp&appid=${fake.corpId}&agentid=${fake.app.agentId}&redirect_uri=${encodeURIComponent('http://127.0.0.1:3000/cb')}&state=s1&userid=10004`, { redirect: 'manual' });
  t.is(res.status, 302);
  const loc = new URL(res.headers.get('location')!);
  t.is(loc.host, '127.0.0.1:3000');
  t.is(loc.searchParams.get('state'), 's1');
  t.is((await client.exchangeLoginCode(loc.searchParams.get('code')!)).userid, '10004');
});

test('issue 6.7: token errors 41001 / 40014 / 42001 with HTTP 200, hint suffix and error headers', async (t) => {
  const { fake, clock } = await setup(t, { tokenTtlSeconds: 60 });
  const missing = await raw(`${fake.url}/cgi-bin/department/list`);
  t.is(missing.status, 200);
  t.is(missing.body.errcode, 41001);
  t.regex(missing.body.errmsg, /^access_token missing, hint: \[\d+_[\w-]+\], from ip: 127\.0\.0\.1, more info at https:\/\/open\.work\.weixin\.qq\.com\/devtool\/query\?e=41001$/);
  t.is(missing.headers.get('error-code'), '41001');
  t.is((await raw(`${fake.url}/cgi-bin/department/list?access_token=bogus`)).body.errcode, 40014);
  const tok = await raw(`${fake.url}/cgi-bin/gettoken?corpid=${fake.corpId}&corpsecret=${fake.app.secret}`);
  t.is(tok.body.expires_in, 60);
  t.true(tok.body.access_token.length >= 32);
  // the same token until expiry
  t.is((await raw(`${fake.url}/cgi-bin/gettoken?corpid=${fake.corpId}&corpsecret=${fake.app.secret}`)).body.access_token, tok.body.access_token);
  t.is((await raw(`${fake.url}/cgi-bin/department/list?access_token=${tok.body.access_token}`)).body.errcode, 0);
  clock.advance(60_000);
  t.is((await raw(`${fake.url}/cgi-bin/department/list?access_token=${tok.body.access_token}`)).body.errcode, 42001);
  t.not((await raw(`${fake.url}/cgi-bin/gettoken?corpid=${fake.corpId}&corpsecret=${fake.app.secret}`)).body.access_token, tok.body.access_token);
  t.is((await raw(`${fake.url}/cgi-bin/message/send?access_token=${tok.body.access_token}`, { method: 'POST', body: '{' })).body.errcode, 42001);
});

test('issue 6.7: trusted IPs (60020) and every-N-th fault injection', async (t) => {
  const fake = await startFakeWecom({ apps: [{ agentId: 1, secret: 's', trustedIps: ['10.0.0.1'] }] });
  t.teardown(() => fake.close());
  const c = new WecomClient({ corpId: fake.corpId, secret: 's', apiBase: fake.url });
  t.is((await t.throwsAsync(c.accessToken(), { instanceOf: WecomApiError }))?.errcode, 60020);

  const { fake: f2, client } = await setup(t);
  f2.injectFault({ errcode: 60011, every: 3, path: '/cgi-bin/department/get' });
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => client.getDepartment(1)));
  t.is(results.filter((r) => r.status === 'rejected').length, 2);
  f2.clearFaults();
  await t.notThrowsAsync(client.getDepartment(1));
});

test('issue 6.7: message/send checks the visible range, @all, parties, task_id, duplicates and the silent per-member limit', async (t) => {
  const { fake, client } = await setup(t, {
    people: 100,
    apps: [
      { agentId: 1000002, secret: 'app', visibleDepartments: [2] },
      { secret: 'contacts', contactSync: true },
    ],
  });
  const inRange = [...fake.directory.users.values()].filter((u) => fake.directory.subtree(2).includes(u.main_department)).map((u) => u.userid);
  const outOfRange = [...fake.directory.users.values()].find((u) => !inRange.includes(u.userid))!.userid;
  const [body] = buildSendBodies(text('通知'), { users: [inRange[0]!, outOfRange, 'NoSuchUser'] });
  const r = await client.sendMessage(body!);
  t.deepEqual(r.invalidUsers, [outOfRange.toLowerCase(), 'nosuchuser']);
  t.deepEqual(fake.messages.at(-1)!.delivered, [inRange[0]]);

  await client.sendMessage({ ...text('全员'), touser: '@all' });
  t.is(fake.messages.at(-1)!.delivered.length, inRange.length);
  await client.sendMessage({ ...text('科室'), toparty: '10|4' });
  t.deepEqual(fake.messages.at(-1)!.invalidParties, ['4']);
  t.true(fake.messages.at(-1)!.delivered.length > 0);

  const e = await t.throwsAsync(client.sendMessage({ ...text('x'), touser: outOfRange }), { instanceOf: WecomApiError });
  t.is(e?.errcode, 81013);
  t.is((await t.throwsAsync(client.sendMessage({ ...text('   '), touser: inRange[0] }), { instanceOf: WecomApiError }))?.errcode, 44004);
  t.is((await t.throwsAsync(client.sendMessage({ ...text('x'), agentid: 999, touser: inRange[0] }), { instanceOf: WecomApiError }))?.errcode, 40056);
  t.is((await t.throwsAsync(client.sendMessage({ msgtype: 'text', text: { content: 'x' } }), { instanceOf: WecomApiError }))?.errcode, 40035);

  // interactive cards need a unique task_id
  const card = approvalCard({ taskId: 5, title: '审批', detail: { url: 'https://oa.example/' } });
  await client.sendMessage({ ...card, touser: inRange[0] });
  t.is((await t.throwsAsync(client.sendMessage({ ...card, touser: inRange[0] }), { instanceOf: WecomApiError }))?.errcode, 40058);
  const noTask = { msgtype: 'template_card' as const, template_card: { card_type: 'button_interaction' as const, main_title: { title: 'x' }, button_list: [{ text: 'a', key: 'k' }] } };
  t.is((await t.throwsAsync(client.sendMessage({ ...noTask, touser: inRange[0] }), { instanceOf: WecomApiError }))?.errcode, 40058);

  // duplicate check: the identical body within the interval is not delivered again
  const dup = { ...text('重复'), touser: inRange[1], enable_duplicate_check: 1 as const, duplicate_check_interval: 600 };
  await client.sendMessage(dup);
  await client.sendMessage(dup);
  t.deepEqual(
    fake.messages.slice(-2).map((m) => m.duplicate),
    [false, true],
  );

  // 30 per member per minute, the rest silently dropped (the API still answers ok)
  const target = inRange[2]!;
  for (let i = 0; i < 32; i++) await client.sendMessage({ ...text(`第${i}条`), touser: target });
  // (the @all and party messages above count too)
  t.is(fake.messages.filter((m) => m.delivered.includes(target)).length, 30);
  t.deepEqual(fake.messages.at(-1)!.dropped, [target]);
});

test('issue 6.7: admin endpoints drive the fake over HTTP', async (t) => {
  const { fake, client } = await setup(t);
  const post = (path: string, body: unknown) => fetch(`${fake.url}${path}`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
  const { json: code } = await post('/__fake/codes', { kind: 'oauth', userid: '10010' });
  t.is((await client.getUserInfoByCode(code.code)).userid, '10010');
  await post('/__fake/faults', { errcode: -1, times: 1 });
  await client.listDepartments();
  t.true(fake.calls.some((c) => c.errcode === -1));
  await post('/__fake/revoke', {});
  await client.listDepartments();
  t.true(fake.calls.some((c) => c.errcode === 40014));
  const state = (await fetch(`${fake.url}/__fake/state`).then((r) => r.json())) as any;
  t.is(state.corpId, fake.corpId);
  t.is(state.users, 40);
});
