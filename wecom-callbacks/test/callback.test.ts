import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encrypt, getSignature } from '@wecom/crypto';
import {
  approvalCard,
  parseApprovalButtonKey,
  parseEvent,
  parseXmlSafely,
  startFakeWecom,
  updateButtonReply,
  verifyUrl,
  WecomCallbackError,
  WecomClient,
  type CallbackConfig,
  type FakeWecom,
  type FakeWecomOptions,
  type ParsedCallback,
} from '../src/index.ts';

// Callbacks (issue 6 item 2; R20.0, S1 integrity): signature, decryption, receive id, safe XML, typed
// events and dedupe keys, end to end against the fake's interaction simulator.

const CORP = 'wwtestcorp000001';
const cfg: CallbackConfig = { token: 'cbToken123', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C', corpId: CORP };

function envelope(plaintext: string, opts: { corpId?: string; key?: string; token?: string; timestamp?: string; nonce?: string } = {}) {
  const enc = encrypt(opts.key ?? cfg.encodingAesKey, plaintext, opts.corpId ?? CORP);
  const timestamp = opts.timestamp ?? '1736128800';
  const nonce = opts.nonce ?? '123456';
  const query = { msg_signature: getSignature(opts.token ?? cfg.token, timestamp, nonce, enc), timestamp, nonce };
  return { query, body: `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>`, enc };
}

const CLICK = `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[10001]]></FromUserName><CreateTime>1736128800</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[oa:approve:42]]></EventKey><TaskId><![CDATA[oa-task-42]]></TaskId><CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[rc_abc]]></ResponseCode><AgentID>1000002</AgentID></xml>`;

test('issue 6.2: a signed, encrypted template_card_event parses into a typed event', (t) => {
  const { query, body } = envelope(CLICK);
  const { event, dedupeKey } = parseEvent(query, body, cfg);
  t.is(event.kind, 'template_card_event');
  if (event.kind !== 'template_card_event') return;
  t.is(event.userId, '10001');
  t.is(event.taskId, 'oa-task-42');
  t.is(event.eventKey, 'oa:approve:42');
  t.deepEqual(parseApprovalButtonKey(event.eventKey), { action: 'approve', taskId: '42' });
  t.is(event.responseCode, 'rc_abc');
  t.is(event.cardType, 'button_interaction');
  t.is(event.agentId, 1000002);
  t.is(event.createTime, 1736128800);
  t.regex(dedupeKey, /^evt:[0-9a-f]{64}$/);
});

test('S1: a forged signature is refused with 401 before anything is decrypted', (t) => {
  const { query, body } = envelope(CLICK);
  const forged = { ...query, msg_signature: query.msg_signature.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) };
  const err = t.throws(() => parseEvent(forged, body, cfg), { instanceOf: WecomCallbackError });
  t.is(err?.code, 'bad_signature');
  t.is(err?.httpStatus, 401);
  t.is(err?.cryptoCode, -40001);
  // signed with another token
  const other = envelope(CLICK, { token: 'someoneElse' });
  t.is(t.throws(() => parseEvent(other.query, other.body, cfg), { instanceOf: WecomCallbackError })?.httpStatus, 401);
  // body swapped under a valid signature
  const swapped = envelope(CLICK.replace('oa:approve:42', 'oa:reject:42'));
  t.is(t.throws(() => parseEvent(query, swapped.body, cfg), { instanceOf: WecomCallbackError })?.code, 'bad_signature');
  // GET verification too
  t.is(t.throws(() => verifyUrl({ ...forged, echostr: envelope('123').enc }, cfg), { instanceOf: WecomCallbackError })?.httpStatus, 401);
  // missing parameters
  t.is(t.throws(() => parseEvent({ timestamp: '1', nonce: '2' }, body, cfg), { instanceOf: WecomCallbackError })?.code, 'missing_parameter');
});

test('S1: a message for another corp id is refused (receive id check, -40005)', (t) => {
  const { query, body } = envelope(CLICK, { corpId: 'wwattacker00001' });
  const err = t.throws(() => parseEvent(query, body, cfg), { instanceOf: WecomCallbackError });
  t.is(err?.code, 'wrong_receiver');
  t.is(err?.httpStatus, 401);
});

test('S1: encrypted with another AES key → refused', (t) => {
  const { query, body } = envelope(CLICK, { key: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt' });
  const err = t.throws(() => parseEvent(query, body, cfg), { instanceOf: WecomCallbackError });
  t.true(err?.code === 'decrypt_failed' || err?.code === 'wrong_receiver');
});

test('issue 6.2: a replay, or a retry re-encrypted by WeCom, gives the same dedupe key', (t) => {
  const a = envelope(CLICK, { nonce: '1' });
  const b = envelope(CLICK.replace(/></g, '>\n<'), { nonce: '2', timestamp: '1736128805' });
  const first = parseEvent(a.query, a.body, cfg);
  t.is(parseEvent(a.query, a.body, cfg).dedupeKey, first.dedupeKey);
  t.is(parseEvent(b.query, b.body, cfg).dedupeKey, first.dedupeKey);
  // a different click (new ResponseCode) is a different event
  const c = envelope(CLICK.replace('rc_abc', 'rc_def'));
  t.not(parseEvent(c.query, c.body, cfg).dedupeKey, first.dedupeKey);
});

test('issue 6.2: optional replay window', (t) => {
  const { query, body } = envelope(CLICK);
  const withWindow = { ...cfg, maxAgeSeconds: 300, now: () => 1736128800_000 + 299_000 };
  t.notThrows(() => parseEvent(query, body, withWindow));
  const err = t.throws(() => parseEvent(query, body, { ...withWindow, now: () => 1736128800_000 + 301_000 }), { instanceOf: WecomCallbackError });
  t.is(err?.code, 'stale_timestamp');
});

const BOMB = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><xml><Content>&lol2;</Content></xml>`;
const XXE = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>`;

test('S1: XML bombs, external entities and DOCTYPE are refused (envelope and inner message)', (t) => {
  for (const evil of [BOMB, XXE, '<!DOCTYPE xml><xml><A>1</A></xml>', '<xml><!ELEMENT a ANY><A>1</A></xml>']) {
    t.is(t.throws(() => parseXmlSafely(evil), { instanceOf: WecomCallbackError })?.code, 'xml_forbidden');
    // as the envelope: refused before the signature is even looked at
    t.is(t.throws(() => parseEvent({ msg_signature: 'x', timestamp: '1', nonce: '2' }, evil, cfg), { instanceOf: WecomCallbackError })?.code, 'xml_forbidden');
    // inside a correctly signed and encrypted message
    const { query, body } = envelope(evil);
    t.is(t.throws(() => parseEvent(query, body, cfg), { instanceOf: WecomCallbackError })?.code, 'xml_forbidden');
  }
});

test('S1: oversized, deeply nested and malformed XML is refused', (t) => {
  const big = `<xml><A>${'x'.repeat(70 * 1024)}</A></xml>`;
  t.is(t.throws(() => parseEvent({ msg_signature: 'x', timestamp: '1', nonce: '2' }, big, cfg), { instanceOf: WecomCallbackError })?.httpStatus, 413);
  const deep = `${'<a>'.repeat(50)}x${'</a>'.repeat(50)}`;
  t.is(t.throws(() => parseXmlSafely(deep), { instanceOf: WecomCallbackError })?.code, 'bad_xml');
  t.is(t.throws(() => parseXmlSafely('<xml><a></xml>'), { instanceOf: WecomCallbackError })?.code, 'bad_xml');
  const noEncrypt = t.throws(() => parseEvent({ msg_signature: 'x', timestamp: '1', nonce: '2' }, '<xml><ToUserName>a</ToUserName></xml>', cfg), { instanceOf: WecomCallbackError });
  t.is(noEncrypt?.httpStatus, 400);
});

test('issue 6.2: predefined entities decode once; CDATA stays literal', (t) => {
  const x = parseXmlSafely('<xml><A>a &amp;amp; b &lt;c&gt; &#20013;&#x6587;</A><B><![CDATA[x &amp; <y>]]></B><C>1</C><C>2</C></xml>');
  t.deepEqual(x, { xml: { A: 'a &amp; b <c> 中文', B: 'x &amp; <y>', C: ['1', '2'] } });
});

test('issue 6.2: change_contact events (user and department, CDATA or not) and enter_agent', (t) => {
  const head = `<ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>`;
  const parse = (inner: string) => {
    const { query, body } = envelope(`<xml>${inner}</xml>`);
    return parseEvent(query, body, cfg).event;
  };
  const created = parse(
    `${head}<ChangeType>create_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID><Name><![CDATA[张三]]></Name><Department><![CDATA[1,2,3]]></Department><MainDepartment>1</MainDepartment><IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept><DirectLeader><![CDATA[lisi,wangwu]]></DirectLeader><Position><![CDATA[产品经理]]></Position><Mobile>13800000000</Mobile><Gender>1</Gender><Status>1</Status><ExtAttr><Item><Name><![CDATA[爱好]]></Name><Type>0</Type><Text><Value><![CDATA[旅游]]></Value></Text></Item></ExtAttr>`,
  );
  t.like(created, { kind: 'change_contact', changeType: 'create_user', user: { userId: 'zhangsan', name: '张三', department: [1, 2, 3], mainDepartment: 1, isLeaderInDept: [1, 0, 0], directLeader: ['lisi', 'wangwu'], mobile: '13800000000', gender: '1', status: 1 } });
  t.like(parse(`${head}<ChangeType>update_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID><NewUserID><![CDATA[zhangsan2]]></NewUserID><Department><![CDATA[2]]></Department>`), {
    changeType: 'update_user',
    user: { userId: 'zhangsan', newUserId: 'zhangsan2', department: [2] },
  });
  t.like(parse(`${head}<ChangeType>delete_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID>`), { changeType: 'delete_user', user: { userId: 'zhangsan' } });
  t.like(parse(`${head}<ChangeType>create_party</ChangeType><Id>2</Id><Name><![CDATA[口腔外科]]></Name><ParentId><![CDATA[1]]></ParentId><Order>1</Order>`), {
    changeType: 'create_party',
    department: { id: 2, name: '口腔外科', parentId: 1, order: 1 },
  });
  t.like(parse(`${head}<ChangeType>update_party</ChangeType><Id>2</Id><Name><![CDATA[新名]]></Name>`), { changeType: 'update_party', department: { id: 2, name: '新名' } });
  t.like(parse(`${head}<ChangeType>delete_party</ChangeType><Id>2</Id>`), { changeType: 'delete_party', department: { id: 2 } });
  t.like(parse(`${head}<ChangeType>update_tag</ChangeType><TagId>7</TagId><AddUserItems><![CDATA[a,b]]></AddUserItems><DelPartyItems><![CDATA[3]]></DelPartyItems>`), {
    changeType: 'update_tag',
    tag: { tagId: 7, addUsers: ['a', 'b'], delUsers: [], addParties: [], delParties: [3] },
  });
  t.like(
    parse(
      `<ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[10001]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><EventKey><![CDATA[]]></EventKey><AgentID>1000002</AgentID>`,
    ),
    { kind: 'enter_agent', userId: '10001', eventKey: '' },
  );
});

test('issue 6.2: vote selections are read in both spellings (OptionIds / OpitonIds)', (t) => {
  for (const [ids, id] of [
    ['OptionIds', 'OptionId'],
    ['OpitonIds', 'OpitonId'],
  ]) {
    const xml = CLICK.replace('</xml>', `<SelectedItems><SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey><${ids}><${id}><![CDATA[o1]]></${id}><${id}><![CDATA[o2]]></${id}></${ids}></SelectedItem><SelectedItem><QuestionKey><![CDATA[q2]]></QuestionKey><${ids}><${id}><![CDATA[o3]]></${id}></${ids}></SelectedItem></SelectedItems></xml>`);
    const { query, body } = envelope(xml);
    const { event } = parseEvent(query, body, cfg);
    t.like(event, { kind: 'template_card_event', selectedItems: [{ questionKey: 'q1', optionIds: ['o1', 'o2'] }, { questionKey: 'q2', optionIds: ['o3'] }] });
  }
});

test('issue 6.2: JSON envelope variant is accepted', (t) => {
  const { query, enc } = envelope(CLICK);
  t.is(parseEvent(query, JSON.stringify({ tousername: CORP, encrypt: enc, agentid: '1000002' }), cfg).event.kind, 'template_card_event');
});

// ---------------------------------------------------------------- end to end with the fake

/** A minimal backend: the route the server will mount, on node:http. */
async function backend(t: ExecutionContext, config: () => CallbackConfig, onEvent: (p: ParsedCallback) => string | void) {
  const seen = new Set<string>();
  const acted: ParsedCallback[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const query = Object.fromEntries(url.searchParams);
      try {
        if (req.method === 'GET') {
          res.writeHead(200).end(verifyUrl(query, config()));
          return;
        }
        const parsed = parseEvent(query, Buffer.concat(chunks), config());
        let reply: string | void = '';
        if (!seen.has(parsed.dedupeKey)) {
          seen.add(parsed.dedupeKey);
          acted.push(parsed);
          reply = onEvent(parsed);
        }
        res.writeHead(200).end(reply ?? '');
      } catch (err) {
        res.writeHead(err instanceof WecomCallbackError ? err.httpStatus : 500).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`, acted };
}

async function withFake(t: ExecutionContext, opts: FakeWecomOptions = {}) {
  const fake: FakeWecom = await startFakeWecom(opts);
  t.teardown(() => fake.close());
  const config = (): CallbackConfig => ({ token: fake.app.token, encodingAesKey: fake.app.encodingAesKey, corpId: fake.corpId });
  const client = new WecomClient({ corpId: fake.corpId, secret: fake.app.secret, agentId: fake.app.agentId, apiBase: fake.url });
  return { fake, config, client };
}

test('issue 6.7 / R20.2: fake clickCard delivers an encrypted callback; replay acts once; passive reply recorded', async (t) => {
  const { fake, config, client } = await withFake(t);
  const srv = await backend(t, config, (p) => (p.event.kind === 'template_card_event' ? updateButtonReply(p.event, '10002 已同意', config()) : ''));
  fake.setCallbackUrl(srv.url);
  const sent = await client.sendMessage({ ...approvalCard({ taskId: 7, title: '请假申请', detail: { url: 'https://oa.example/h5/#/task/7' } }), touser: '10002|10003' });
  t.truthy(sent.responseCode);

  const delivery = await fake.clickCard({ userid: '10002', taskId: 'oa-task-7', buttonKey: 'oa:approve:7' });
  t.is(delivery.status, 200);
  t.is(delivery.attempts, 1);
  t.is(srv.acted.length, 1);
  const ev = srv.acted[0]!.event;
  t.like(ev, { kind: 'template_card_event', userId: '10002', taskId: 'oa-task-7', eventKey: 'oa:approve:7', cardType: 'button_interaction' });
  t.regex(delivery.reply ?? '', /update_button/);
  t.like(fake.cardUpdates.at(-1), { via: 'passive', taskId: 'oa-task-7', userids: ['10002'], replaceName: '10002 已同意' });

  // WeCom retry / replay: same request again → acted once
  const again = await fake.replay(delivery);
  t.is(again.status, 200);
  t.is(srv.acted.length, 1);

  // the passive reply used the click's ResponseCode; the send's response_code updates every copy, once
  if (ev.kind === 'template_card_event') {
    const used = await t.throwsAsync(client.updateTemplateCard({ response_code: ev.responseCode, atall: 1, button: { replace_name: '已处理' } }));
    t.regex(used?.message ?? '', /40058/);
  }
  await client.updateTemplateCard({ response_code: sent.responseCode!, atall: 1, button: { replace_name: '已处理' } });
  t.deepEqual(fake.cardUpdates.at(-1)!.userids, ['10002', '10003']);
  // a person who did not receive the card cannot click it
  await t.throwsAsync(fake.clickCard({ userid: '10009', taskId: 'oa-task-7', buttonKey: 'oa:approve:7' }));
});

test('issue 6.7: a forged callback (wrong token) is answered 401 and not acted on', async (t) => {
  const { fake, config } = await withFake(t);
  const srv = await backend(t, () => ({ ...config(), token: 'differentToken' }), () => '');
  fake.setCallbackUrl(srv.url);
  const d = await fake.sendCallback(`<xml><ToUserName><![CDATA[${fake.corpId}]]></ToUserName><FromUserName><![CDATA[10001]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><EventKey><![CDATA[]]></EventKey></xml>`);
  t.is(d.status, 401);
  t.is(srv.acted.length, 0);
});

test('issue 6.7: URL verification with an encoded echostr answers the exact plaintext', async (t) => {
  const { fake, config } = await withFake(t);
  const srv = await backend(t, config, () => '');
  fake.setCallbackUrl(srv.url);
  for (let i = 0; i < 5; i++) {
    const r = await fake.verifyCallbackUrl();
    t.true(r.ok, JSON.stringify(r));
    t.regex(r.expected, /^\d+$/);
  }
});

test('issue 6.7 / P4: changeContact updates the directory and delivers typed events', async (t) => {
  const { fake, config, client } = await withFake(t);
  const srv = await backend(t, config, () => '');
  fake.setCallbackUrl(srv.url);
  await fake.changeContact({ changeType: 'create_party', department: { id: 900, name: '新设科室', parentid: 1 } });
  await fake.changeContact({ changeType: 'create_user', user: { userid: 'newdoc', name: '新医生', department: [900] } });
  await fake.changeContact({ changeType: 'update_user', userid: 'newdoc', patch: { position: '主治医师', newUserId: 'newdoc2' }, mode: 'minimal' });
  await fake.changeContact({ changeType: 'delete_user', userid: '10001' });
  t.deepEqual(
    srv.acted.map((a) => (a.event.kind === 'change_contact' ? a.event.changeType : a.event.kind)),
    ['create_party', 'create_user', 'update_user', 'delete_user'],
  );
  t.like(srv.acted[1]!.event, { changeType: 'create_user', user: { userId: 'newdoc', name: '新医生', department: [900] } });
  const upd = srv.acted[2]!.event;
  t.like(upd, { changeType: 'update_user', user: { userId: 'newdoc', newUserId: 'newdoc2', department: [900] } });
  if (upd.kind === 'change_contact' && upd.changeType === 'update_user') t.is(upd.user.position, undefined); // minimal mode
  t.is((await client.getUser('newdoc2')).position, '主治医师');
  t.is((await client.listUsers(900)).length, 1);
  t.is((await t.throwsAsync(client.getUser('10001')))?.message.includes('60111'), true);
});

test('issue 6.7: callbacks are retried when the backend fails, up to the configured attempts', async (t) => {
  const { fake } = await withFake(t, { callbackAttempts: 3 });
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(hits < 3 ? 503 : 200).end('');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  fake.setCallbackUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`);
  const d = await fake.sendCallback('<xml><MsgType>event</MsgType></xml>');
  t.is(d.attempts, 3);
  t.is(d.status, 200);
});
