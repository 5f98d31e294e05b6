import test, { type ExecutionContext } from 'ava';
import { startFakeWecom, type FakeWecom, type FakeWecomOptions } from '@oa/wecom';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { human, linear, person } from './helpers/workflow.ts';
import { workflowOf, type Workflow } from '../src/workflow/module.ts';
import { wecomOf, type WecomModule } from '../src/wecom/module.ts';
import { CARD_COMMENT, sweepCards } from '../src/wecom/card-actions.ts';

// Issue 6 items 2 and 6 end to end against the fake WeCom (R20.0, R20.1, R20.2, R3.8, S1): the
// callback (URL verification, forged and replayed deliveries), approval cards for task notices,
// acting from a card click as the clicking person, the card showing the real result, and delivery
// through token revocation and -1 / 45009 storms.

interface World {
  ta: TestApp;
  fake: FakeWecom;
  mod: WecomModule;
  wf: Workflow;
  ids: Record<string, number>;
  key: string;
  /** start an instance by alice for bob's approval; returns the instance id and bob's task id */
  start(): Promise<{ instanceId: number; taskId: number }>;
  /** deliver what is due in the outbox (inbox and WeCom) */
  dispatch(): Promise<number>;
  events(): Promise<number>;
}

async function setup(t: ExecutionContext, fakeOpts: FakeWecomOptions = {}): Promise<World> {
  const fake = await startFakeWecom({ people: 5, ...fakeOpts });
  t.teardown(() => fake.close());
  const ta = await startTestApp(t, {
    WECOM_CORP_ID: fake.corpId,
    WECOM_AGENT_ID: String(fake.app.agentId),
    WECOM_SECRET: fake.app.secret,
    WECOM_TOKEN: fake.app.token,
    WECOM_AES_KEY: fake.app.encodingAesKey,
    WECOM_API_BASE: fake.url,
    PUBLIC_URL: 'https://oa.example.org',
    COOKIE_SECURE: 'false',
  });
  fake.setCallbackUrl(`${ta.url}/wecom/callback`);
  const mod = wecomOf(ta.deps)!;
  // backoff without real sleeping (the client's retry rules are the same)
  mod.configureClient({ sleep: async () => {}, busyBackoffMs: 1, rateLimitBackoffMs: 1 });
  const ids: Record<string, number> = {};
  for (const n of ['alice', 'bob']) {
    ids[n] = await ta.createUser({ username: n, name: n === 'bob' ? '李医生' : '王护士' });
    await ta.deps.db.models.User.update({ wecomUserId: `wx_${n}` }, { where: { id: ids[n] } });
    fake.directory.addUser({ userid: `wx_${n}`, name: n, department: [1] });
  }
  ids.designer = await ta.createUser({ username: 'designer', name: 'designer', roles: ['processadmin'] });
  const wf = workflowOf(ta.deps);
  const designer = { id: ids.designer, name: 'designer' };
  const proc = await wf.processes.create({ key: 'leave', name: '请假', definition: linear([human('a', [person(ids.bob!)], { name: '科主任审批' })]) }, designer);
  await wf.processes.publish(proc.id, proc.rev, null, designer);
  const w: World = {
    ta,
    fake,
    mod,
    wf,
    ids,
    key: 'leave',
    async start() {
      const instanceId = await wf.service.start({ id: ids.alice!, name: '王护士' }, { processKey: 'leave', formData: {}, title: '王护士的请假申请' });
      const task = await ta.deps.db.models.WfTask.findOne({ where: { instanceId, assigneeId: ids.bob, status: 'pending' } });
      return { instanceId, taskId: task!.id };
    },
    dispatch: () => ta.deps.dispatcher.dispatchDue(),
    events: () => ta.deps.db.models.WecomEvent.count(),
  };
  return w;
}

const cardOf = (fake: FakeWecom, taskId: number) => fake.messages.filter((m) => m.msgtype === 'template_card' && String(m.taskId).startsWith(`oa-task-${taskId}-`));

test('issue 6 item 2: URL verification answers the decrypted echostr as is, within a second (R20.0)', async (t) => {
  const w = await setup(t);
  const r = await w.fake.verifyCallbackUrl();
  t.true(r.ok, JSON.stringify(r));
  t.true(r.ms < 1000);
});

test('issue 6 item 2, S1: a forged callback (wrong token) answers 401 and stores and enqueues nothing', async (t) => {
  const w = await setup(t);
  const { taskId } = await w.start();
  await w.dispatch();
  // a forger who knows the corp id and the AES key but not the callback Token
  const forger = await startFakeWecom({ corpId: w.fake.corpId, people: 0, apps: [{ agentId: w.fake.app.agentId, secret: 'other', token: 'forgedToken123', encodingAesKey: w.fake.app.encodingAesKey }], callbackAttempts: 1 });
  t.teardown(() => forger.close());
  forger.setCallbackUrl(`${w.ta.url}/wecom/callback`);
  const jobsBefore = await w.ta.deps.db.models.Job.count();
  const xml = `<xml><ToUserName><![CDATA[${w.fake.corpId}]]></ToUserName><FromUserName><![CDATA[wx_bob]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[oa:approve:${taskId}]]></EventKey><TaskId><![CDATA[x]]></TaskId><CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[rc]]></ResponseCode></xml>`;
  const d = await forger.sendCallback(xml);
  t.is(d.status, 401);
  t.is(await w.events(), 0);
  t.is(await w.ta.deps.db.models.Job.count(), jobsBefore);
  await w.ta.deps.jobs.tick();
  t.is((await w.ta.deps.db.models.WfTask.findByPk(taskId))!.status, 'pending', 'the task is untouched');
  // a tampered body under a genuine signature is refused too
  const real = await w.fake.sendCallback('<xml><ToUserName><![CDATA[x]]></ToUserName><FromUserName><![CDATA[wx_bob]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event></xml>');
  t.is(real.status, 200);
  const tampered = await fetch(`${w.ta.url}/wecom/callback?${new URLSearchParams(real.query).toString()}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: real.body.replace(/<Encrypt><!\[CDATA\[./, '<Encrypt><![CDATA[A') });
  t.is(tampered.status, 401);
  t.is(await w.events(), 1, 'only the genuine delivery was stored');
});

test('issue 6 item 6, R20.2: a task notice goes out as an approval card; a click approves as that person and the card shows the result', async (t) => {
  const w = await setup(t);
  const { instanceId, taskId } = await w.start();
  await w.dispatch();
  const cards = cardOf(w.fake, taskId);
  t.is(cards.length, 1);
  const card = cards[0]!;
  t.deepEqual(card.delivered, ['wx_bob']);
  const tc = card.body.template_card as { card_type: string; button_list: Array<{ key: string; text: string }>; card_action: { url: string }; main_title: { title: string } };
  t.is(tc.card_type, 'button_interaction');
  t.deepEqual(tc.button_list.map((b) => b.key), [`oa:approve:${taskId}`, `oa:reject:${taskId}`]);
  t.is(tc.card_action.url, `https://oa.example.org/#/pages/approval/task?id=${taskId}`);
  t.regex(tc.main_title.title, /请假/);
  const row = await w.ta.deps.db.models.WecomMessage.findOne({ where: { taskId } });
  t.is(row!.cardState, 'open');
  t.truthy(row!.responseCode, 'the response_code is kept for a later update');
  t.is(row!.msgid, card.msgid);

  const d = await w.fake.clickCard({ userid: 'wx_bob', taskId: card.taskId!, buttonKey: `oa:approve:${taskId}` });
  t.is(d.status, 200);
  t.is(d.responseBody, '', 'an empty answer within the second; the job does the work');
  t.is((await w.ta.deps.db.models.WfTask.findByPk(taskId))!.status, 'pending', 'nothing acted before the job ran');
  await w.ta.deps.jobs.tick();
  const task = await w.ta.deps.db.models.WfTask.findByPk(taskId);
  t.is(task!.status, 'done');
  t.is(task!.outcome, 'approve');
  t.is(task!.comment, CARD_COMMENT);
  t.is((await w.ta.deps.db.models.WfInstance.findByPk(instanceId))!.status, 'completed');
  const upd = w.fake.cardUpdates.at(-1)!;
  t.is(upd.taskId, card.taskId!);
  t.is(upd.replaceName, '李医生 已同意');
  t.deepEqual(upd.userids, ['wx_bob']);
  t.is((await w.ta.deps.db.models.WecomMessage.findByPk(row!.id))!.cardState, 'updated');
  const ev = await w.ta.deps.db.models.WecomEvent.findOne();
  t.is(ev!.status, 'done');
});

test('issue 6 item 6: reject from the card records the default comment; a replayed callback acts once', async (t) => {
  const w = await setup(t);
  const { instanceId, taskId } = await w.start();
  await w.dispatch();
  const card = cardOf(w.fake, taskId)[0]!;
  const d = await w.fake.clickCard({ userid: 'wx_bob', taskId: card.taskId!, buttonKey: `oa:reject:${taskId}` });
  const again = await w.fake.replay(d);
  t.is(again.status, 200);
  t.is(await w.events(), 1, 'the replay is stored once');
  await w.ta.deps.jobs.tick();
  await w.fake.replay(d); // after processing, too
  await w.ta.deps.jobs.tick();
  t.is(await w.events(), 1);
  const history = await w.ta.deps.db.models.WfHistory.findAll({ where: { instanceId, action: 'reject' } });
  t.is(history.length, 1);
  t.is((await w.ta.deps.db.models.WfTask.findByPk(taskId))!.comment, CARD_COMMENT);
  t.is((await w.ta.deps.db.models.WfInstance.findByPk(instanceId))!.status, 'rejected');
  t.is(w.fake.cardUpdates.filter((u) => u.taskId === card.taskId).length, 1);
  t.is(w.fake.cardUpdates.at(-1)!.replaceName, '李医生 已驳回');
});

test('issue 6 item 6: a click on a task already handled on the web updates the card with the real state (409 → 已由 X 处理)', async (t) => {
  const w = await setup(t);
  const { taskId } = await w.start();
  await w.dispatch();
  const card = cardOf(w.fake, taskId)[0]!;
  await w.wf.service.act({ id: w.ids.bob!, name: '李医生' }, taskId, { action: 'approve', comment: '网页同意' });
  await w.fake.clickCard({ userid: 'wx_bob', taskId: card.taskId!, buttonKey: `oa:reject:${taskId}` });
  await w.ta.deps.jobs.tick();
  const task = await w.ta.deps.db.models.WfTask.findByPk(taskId);
  t.is(task!.outcome, 'approve', 'the click did not reject a handled task');
  t.is(task!.comment, '网页同意');
  t.is(w.fake.cardUpdates.at(-1)!.replaceName, '已由李医生处理（同意）');
});

test('issue 6 item 6: cards of tasks finished elsewhere are swept to the real state; a withdrawn instance recalls its card', async (t) => {
  const w = await setup(t);
  const a = await w.start();
  const b = await w.start();
  await w.dispatch();
  t.is(await sweepCards(w.ta.deps, w.mod), 0, 'open tasks keep their cards');
  await w.wf.service.act({ id: w.ids.bob!, name: '李医生' }, a.taskId, { action: 'approve' });
  await w.wf.service.withdraw({ id: w.ids.alice!, name: '王护士' }, b.instanceId, '不请了');
  t.is(await sweepCards(w.ta.deps, w.mod), 2);
  const cardA = cardOf(w.fake, a.taskId)[0]!;
  const cardB = cardOf(w.fake, b.taskId)[0]!;
  t.is(w.fake.cardUpdates.find((u) => u.taskId === cardA.taskId)!.replaceName, '已由李医生处理（同意）');
  t.true(w.fake.messages.find((m) => m.msgid === cardB.msgid)!.recalled, 'recalled when withdrawn');
  t.is(await sweepCards(w.ta.deps, w.mod), 0, 'each card once');
});

test('issue 6 item 6: a click from a WeCom account that maps to nobody changes nothing and says so on the card', async (t) => {
  const w = await setup(t);
  const { taskId } = await w.start();
  await w.dispatch();
  const card = cardOf(w.fake, taskId)[0]!;
  await w.ta.deps.db.models.User.update({ wecomUserId: null }, { where: { id: w.ids.bob } });
  await w.fake.clickCard({ userid: 'wx_bob', taskId: card.taskId!, buttonKey: `oa:approve:${taskId}` });
  await w.ta.deps.jobs.tick();
  t.is((await w.ta.deps.db.models.WfTask.findByPk(taskId))!.status, 'pending');
  t.regex(w.fake.cardUpdates.at(-1)!.replaceName!, /未关联本系统人员/);
});

test('issue 6 item 6: a person without a WeCom account is a permanent failure with a clear reason (dead letter)', async (t) => {
  const w = await setup(t);
  await w.ta.deps.db.models.User.update({ wecomUserId: null }, { where: { id: w.ids.bob } });
  await w.start();
  await w.dispatch();
  const row = await w.ta.deps.db.models.Outbox.findOne({ where: { channel: 'wecom' } });
  t.is(row!.status, 'dead');
  t.regex(row!.lastError!, /未绑定企业微信/);
  t.is(await w.ta.deps.db.models.Outbox.count({ where: { channel: 'inbox', status: 'sent' } }), 1, 'the inbox still gets it');
});

test('issue 6 item 1/6: token revoked mid-run, -1 and 45009 storms: every card is delivered once', async (t) => {
  const w = await setup(t);
  await w.start();
  await w.dispatch();
  t.is(w.fake.messages.length, 1);
  w.fake.revokeTokens();
  await w.start();
  await w.dispatch();
  t.is(w.fake.messages.length, 2, 'delivered after a token refresh');
  t.true(w.fake.callCount('/cgi-bin/gettoken') >= 2);

  w.fake.injectFault({ errcode: -1, path: '/cgi-bin/message/send', times: 3 });
  await w.start();
  await w.dispatch();
  t.is(w.fake.messages.length, 3, '-1 retried with backoff inside the client');

  w.fake.injectFault({ errcode: 45009, path: '/cgi-bin/message/send', times: 1 });
  await w.start();
  await w.dispatch();
  t.is(w.fake.messages.length, 4, '45009: paused, then retried');

  // a storm longer than the client's retries: the dispatcher retries later, still one card
  w.fake.injectFault({ errcode: -1, path: '/cgi-bin/message/send', times: 6 });
  const last = await w.start();
  await w.dispatch();
  t.is(w.fake.messages.length, 4);
  const pending = await w.ta.deps.db.models.Outbox.findOne({ where: { channel: 'wecom', status: 'pending' } });
  t.truthy(pending, 'kept for a retry');
  for (let i = 0; i < 3 && w.fake.messages.length < 5; i++) {
    w.ta.clock.advanceMinutes(5);
    await w.dispatch();
  }
  t.is(cardOf(w.fake, last.taskId).length, 1, 'delivered exactly once');
  t.is(await w.ta.deps.db.models.Outbox.count({ where: { channel: 'wecom', status: 'sent' } }), 5);
});

test('issue 6 item 6: WeCom\'s 30 messages per member per minute are respected by deferring', async (t) => {
  const w = await setup(t);
  const now = w.ta.clock.now();
  const { WecomMessage } = w.ta.deps.db.models;
  for (let i = 0; i < 30; i++) {
    await WecomMessage.create({ idempotencyKey: `seed-${i}`, outboxId: null, userId: w.ids.bob!, wecomUserId: 'wx_bob', msgtype: 'textcard', status: 'sent', taskId: null, cardTaskId: null, msgid: `m${i}`, responseCode: null, cardState: null, resultText: null, createdAt: now, sentAt: new Date(now.getTime() - 10_000), cardUpdatedAt: null });
  }
  await w.start();
  await w.dispatch();
  t.is(w.fake.messages.length, 0);
  const row = await w.ta.deps.db.models.Outbox.findOne({ where: { channel: 'wecom' } });
  t.is(row!.status, 'pending');
  t.regex(row!.lastError!, /上限/);
  w.ta.clock.advanceMinutes(2);
  await w.dispatch();
  t.is(w.fake.messages.length, 1);
});

test('issue 6 item 2: a change_contact callback is stored once and handed to contact sync (issue 6 item 5)', async (t) => {
  const w = await setup(t);
  const d = await w.fake.changeContact({ changeType: 'create_user', user: { userid: 'wx_new', name: '新同事', department: [1] } });
  t.is(d.status, 200);
  await w.fake.replay(d);
  await w.ta.deps.jobs.tick();
  const ev = await w.ta.deps.db.models.WecomEvent.findAll();
  t.is(ev.length, 1);
  t.is(ev[0]!.kind, 'change_contact');
  t.is(ev[0]!.status, 'done', ev[0]!.result ?? '');
  t.regex(ev[0]!.result!, /contact sync run \d+/);
  t.is(await w.ta.deps.db.models.WecomSyncRun.count({ where: { dedupeKey: ev[0]!.dedupeKey } }), 1);
});
