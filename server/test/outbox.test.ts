import test from 'ava';
import { pino } from 'pino';
import { inUnitOfWork, verifyAuditChain, type Actor } from '@oa/db';
import { OutboxDispatcher } from '../src/notify/dispatcher.ts';
import type { Channel, Delivery } from '../src/notify/channels.ts';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';

// Principle 2, "nothing is lost": a message is stored with the business change that causes it, is
// delivered by the dispatcher (retried with backoff, dead letters for the administrator), and a
// redelivery never shows a person the same message twice.

const SYSTEM: Actor = { id: null, name: 'system' };
const MAX_ATTEMPTS = 8; // OutboxDispatcher's default maxAttempts, as the app builds it
const LEASE_MS = 60_000; // OutboxDispatcher's default lease

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

async function signIn(ta: TestApp, username: string) {
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status}`);
  return c;
}

/** A leave request approved: the business change, its audit row and the applicant's message. */
function approveLeave(ta: TestApp, applicantId: number, key: string, opts: { channel?: string; failAfterWrite?: boolean } = {}) {
  return inUnitOfWork(ta.deps.db, { id: 1, name: '科主任' }, ta.clock.now(), async (uow) => {
    await ta.deps.db.models.Campus.create({ code: `C-${key}`, name: `请假单 ${key}` }, { transaction: uow.t });
    uow.audit({ action: 'leave.approve', objectType: 'leave', objectId: key });
    uow.outbox({
      channel: opts.channel ?? 'inbox',
      recipient: String(applicantId),
      payload: { title: '您的请假申请已批准', body: '11 月 26 日至 27 日，共 2 天。', link: `/leave/${key}` },
      idempotencyKey: `leave:${key}:approved`,
    });
    if (opts.failAfterWrite) throw new Error('审批流程校验失败');
  });
}

test('a message written in a unit of work reaches only its recipient, who can mark it read', async (t) => {
  const ta = await startTestApp(t);
  const aliceId = await ta.createUser({ username: 'alice' });
  await ta.createUser({ username: 'bob' });
  const alice = await signIn(ta, 'alice');
  const bob = await signIn(ta, 'bob');

  await approveLeave(ta, aliceId, 'L1');
  t.is((await alice.get('/api/v1/inbox')).body.total, 0, 'nothing shows before the dispatcher has delivered');
  t.is(await ta.deps.dispatcher.dispatchDue(), 1);

  const mine = await alice.get('/api/v1/inbox');
  t.is(mine.status, 200);
  t.is(mine.body.total, 1);
  const msg = mine.body.items[0];
  t.like(msg, { title: '您的请假申请已批准', body: '11 月 26 日至 27 日，共 2 天。', link: '/leave/L1', readAt: null });

  const theirs = await bob.get('/api/v1/inbox');
  t.is(theirs.status, 200);
  t.is(theirs.body.total, 0, 'another person does not see it');
  const steal = await bob.post(`/api/v1/inbox/${msg.id}/read`);
  t.is(steal.status, 404);
  t.is(steal.body.detail, '消息不存在');
  t.is((await alice.get('/api/v1/inbox?unread=true')).body.total, 1, "bob's attempt did not mark alice's message read");

  t.is((await alice.post(`/api/v1/inbox/${msg.id}/read`)).status, 204);
  t.is((await alice.post(`/api/v1/inbox/${msg.id}/read`)).status, 204, 'marking read twice is harmless');
  t.is((await alice.get('/api/v1/inbox?unread=true')).body.total, 0);
  t.not((await alice.get('/api/v1/inbox')).body.items[0].readAt, null);

  const row = await ta.deps.db.models.Outbox.findOne({ where: { idempotencyKey: 'leave:L1:approved' } });
  t.is(row!.status, 'sent');
  t.is(row!.attempts, 1);
  t.deepEqual(row!.sentAt, ta.clock.now());
  ta.clock.advanceMinutes(10);
  t.is(await ta.deps.dispatcher.dispatchDue(), 0, 'a sent message is not sent again');
  t.is((await alice.get('/api/v1/inbox')).body.total, 1);
});

test('a unit of work that fails leaves no business row, no outbox row and no audit row', async (t) => {
  const ta = await startTestApp(t);
  const aliceId = await ta.createUser({ username: 'alice' });
  const { Outbox, AuditLog, AuditHead, Campus } = ta.deps.db.models;
  const auditBefore = await AuditLog.count();
  const headBefore = await AuditHead.findByPk(1, { raw: true });

  const err = await t.throwsAsync(approveLeave(ta, aliceId, 'L2', { failAfterWrite: true }));
  t.is(err!.message, '审批流程校验失败');
  t.is(await Campus.count(), 0);
  t.is(await Outbox.count(), 0);
  t.is(await AuditLog.count(), auditBefore);

  // A failure while the audit rows are written (after the outbox rows) rolls those back as well.
  await t.throwsAsync(
    inUnitOfWork(ta.deps.db, SYSTEM, ta.clock.now(), async (uow) => {
      await Campus.create({ code: 'C-L3', name: '请假单 L3' }, { transaction: uow.t });
      uow.outbox({ channel: 'inbox', recipient: String(aliceId), payload: { title: '不应送达' }, idempotencyKey: 'leave:L3' });
      uow.audit({ action: 'leave.approve' });
      uow.audit({ action: null as unknown as string }); // NOT NULL column: the insert fails
    }),
  );
  t.is(await Campus.count(), 0);
  t.is(await Outbox.count(), 0);
  t.is(await AuditLog.count(), auditBefore);
  t.deepEqual(await AuditHead.findByPk(1, { raw: true }), headBefore, 'the chain head did not move');
  t.true((await verifyAuditChain(ta.deps.db)).ok);

  t.is(await ta.deps.dispatcher.dispatchDue(), 0);
  t.is(await ta.deps.db.models.InboxMessage.count(), 0);
});

test('the same idempotency key twice stores and delivers one message', async (t) => {
  const ta = await startTestApp(t);
  const aliceId = await ta.createUser({ username: 'alice' });
  const alice = await signIn(ta, 'alice');
  const { Outbox } = ta.deps.db.models;
  const msg = { channel: 'inbox', recipient: String(aliceId), payload: { title: '会议通知：周五院务会' }, idempotencyKey: 'meeting:88:invite' };

  // twice in one unit of work
  await inUnitOfWork(ta.deps.db, SYSTEM, ta.clock.now(), async (uow) => {
    uow.outbox(msg);
    uow.outbox(msg);
  });
  // a retried request: a second unit of work
  await inUnitOfWork(ta.deps.db, SYSTEM, ta.clock.now(), async (uow) => {
    uow.outbox(msg);
  });
  t.is(await Outbox.count(), 1);
  // a double submit: two units of work at the same moment, each with its own business change;
  // both changes commit, the message is stored once
  await Promise.all(
    [1, 2].map((n) =>
      inUnitOfWork(ta.deps.db, SYSTEM, ta.clock.now(), async (uow) => {
        await ta.deps.db.models.Campus.create({ code: `M89-${n}`, name: `签到 ${n}` }, { transaction: uow.t });
        uow.outbox({ ...msg, idempotencyKey: 'meeting:89:invite' });
      }),
    ),
  );
  t.is(await ta.deps.db.models.Campus.count(), 2);
  t.is(await Outbox.count(), 2);

  t.is(await ta.deps.dispatcher.dispatchDue(), 2);
  const inbox = await alice.get('/api/v1/inbox');
  t.is(inbox.body.total, 2);
  t.deepEqual(inbox.body.items.map((m: { title: string }) => m.title), ['会议通知：周五院务会', '会议通知：周五院务会']);
});

test('a failing channel is retried with backoff, ends as a dead letter, and the administrator can retry it', async (t) => {
  const ta = await startTestApp(t);
  const aliceId = await ta.createUser({ username: 'alice' });
  await ta.createUser({ username: 'staffer' });
  const inbox = ta.deps.channels.get('inbox')!;
  let healthy = false;
  const calls: Date[] = [];
  ta.deps.channels.register({
    name: 'wecom-test',
    async send(d: Delivery) {
      calls.push(ta.clock.now());
      if (!healthy) throw new Error('企业微信接口超时');
      await inbox.send(d);
    },
  });
  await approveLeave(ta, aliceId, 'L4', { channel: 'wecom-test' });
  const { Outbox } = ta.deps.db.models;
  const row = await Outbox.findOne({ where: { idempotencyKey: 'leave:L4:approved' } });

  await ta.deps.dispatcher.dispatchDue();
  t.is(calls.length, 1);
  for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
    const delay = Math.min(30 * 60_000, 10_000 * 2 ** (attempt - 1));
    const r = await Outbox.findByPk(row!.id);
    t.is(r!.status, 'pending');
    t.is(r!.attempts, attempt);
    t.is(r!.nextAttemptAt.getTime(), ta.clock.now().getTime() + delay);
    ta.clock.advance(delay - 1);
    await ta.deps.dispatcher.dispatchDue();
    t.is(calls.length, attempt, `not retried before the ${delay} ms backoff`);
    ta.clock.advance(1);
    await ta.deps.dispatcher.dispatchDue();
    t.is(calls.length, attempt + 1);
  }
  let r = await Outbox.findByPk(row!.id);
  t.is(r!.status, 'dead');
  t.is(r!.attempts, MAX_ATTEMPTS);
  t.is(r!.lastError, '企业微信接口超时');
  ta.clock.advanceMinutes(24 * 60);
  await ta.deps.dispatcher.dispatchDue();
  t.is(calls.length, MAX_ATTEMPTS, 'a dead letter is not retried on its own');

  // The administrator's view of dead letters; ordinary staff have no access.
  const admin = await ta.admin();
  const dead = await admin.get('/api/v1/system/outbox?status=dead');
  t.is(dead.status, 200);
  t.is(dead.body.total, 1);
  t.like(dead.body.items[0], { id: row!.id, channel: 'wecom-test', status: 'dead', attempts: MAX_ATTEMPTS, lastError: '企业微信接口超时' });
  t.false('payload' in dead.body.items[0], 'message contents are not listed');
  const staff = await signIn(ta, 'staffer');
  t.is((await staff.get('/api/v1/system/outbox?status=dead')).status, 403);
  t.is((await staff.post(`/api/v1/system/outbox/${row!.id}/retry`)).status, 403);
  t.is((await Outbox.findByPk(row!.id))!.status, 'dead');

  // The channel is back; the administrator puts the letter back in the queue.
  healthy = true;
  t.is((await admin.post(`/api/v1/system/outbox/${row!.id}/retry`)).status, 204);
  r = await Outbox.findByPk(row!.id);
  t.like(r!.get({ plain: true }), { status: 'pending', attempts: 0, lastError: null });
  t.is((await admin.post(`/api/v1/system/outbox/${row!.id}/retry`)).status, 404, 'only dead letters can be retried');
  t.is(await ta.deps.dispatcher.dispatchDue(), 1);
  t.is((await Outbox.findByPk(row!.id))!.status, 'sent');
  t.is((await admin.get('/api/v1/system/outbox?status=dead')).body.total, 0);
  const alice = await signIn(ta, 'alice');
  t.is((await alice.get('/api/v1/inbox')).body.total, 1);
  t.is(await ta.deps.db.models.AuditLog.count({ where: { action: 'outbox.retry', objectId: String(row!.id) } }), 1);
});

test('a bad address goes to dead letters at once instead of being retried', async (t) => {
  const ta = await startTestApp(t);
  await inUnitOfWork(ta.deps.db, SYSTEM, ta.clock.now(), async (uow) => {
    uow.outbox({ channel: 'inbox', recipient: 'zhang.san', payload: { title: '通知' }, idempotencyKey: 'bad-recipient' });
    uow.outbox({ channel: 'carrier-pigeon', recipient: '1', payload: { title: '通知' }, idempotencyKey: 'bad-channel' });
  });
  t.is(await ta.deps.dispatcher.dispatchDue(), 0);
  const rows = await ta.deps.db.models.Outbox.findAll({ order: [['id', 'ASC']] });
  t.deepEqual(
    rows.map((r) => [r.status, r.attempts]),
    [
      ['dead', 1],
      ['dead', 1],
    ],
  );
  t.regex(rows[0]!.lastError!, /user id/);
  t.regex(rows[1]!.lastError!, /unknown channel/);
});

test('crash after send, before mark: the redelivery does not give the person a second message', async (t) => {
  const ta = await startTestApp(t);
  const aliceId = await ta.createUser({ username: 'alice' });
  const alice = await signIn(ta, 'alice');
  const inbox = ta.deps.channels.get('inbox')!;
  let calls = 0;
  ta.deps.channels.register({
    name: 'inbox-then-fail',
    async send(d: Delivery) {
      calls++;
      await inbox.send(d); // delivered …
      if (calls === 1) throw new Error('连接在确认前断开'); // … but the acknowledgement is lost
    },
  });
  await approveLeave(ta, aliceId, 'L5', { channel: 'inbox-then-fail' });
  t.is(await ta.deps.dispatcher.dispatchDue(), 0);
  t.is((await alice.get('/api/v1/inbox')).body.total, 1, 'the message arrived on the first try');
  ta.clock.advance(10_000);
  t.is(await ta.deps.dispatcher.dispatchDue(), 1);
  t.is(calls, 2, 'it was sent again');
  const after = await alice.get('/api/v1/inbox');
  t.is(after.body.total, 1, 'and still shows once');
  t.is((await ta.deps.db.models.Outbox.findOne({ where: { idempotencyKey: 'leave:L5:approved' } }))!.status, 'sent');
});

test('crash after send, before mark: a process that died mid-delivery is taken over after the lease', async (t) => {
  const ta = await startTestApp(t);
  const aliceId = await ta.createUser({ username: 'alice' });
  const alice = await signIn(ta, 'alice');
  const inbox = ta.deps.channels.get('inbox')!;
  const sent = deferred();
  const hang = deferred();
  let calls = 0;
  const channel: Channel = {
    name: 'inbox-hang',
    async send(d: Delivery) {
      calls++;
      await inbox.send(d);
      if (calls === 1) {
        sent.resolve();
        await hang.promise; // process A stops here: delivered, never marked
        throw new Error('A 进程已失联');
      }
    },
  };
  ta.deps.channels.register(channel);
  const processA = ta.deps.dispatcher;
  const processB = new OutboxDispatcher(ta.deps.db, ta.clock, ta.deps.channels, pino({ level: 'silent' }));

  await approveLeave(ta, aliceId, 'L6', { channel: 'inbox-hang' });
  const aRun = processA.dispatchDue();
  await sent.promise;
  t.is((await alice.get('/api/v1/inbox')).body.total, 1);

  ta.clock.advance(LEASE_MS - 1);
  t.is(await processB.dispatchDue(), 0, 'the lease still holds');
  t.is(calls, 1);
  ta.clock.advance(2);
  t.is(await processB.dispatchDue(), 1, 'after the lease, B delivers it');
  t.is(calls, 2);

  hang.resolve();
  t.is(await aRun, 0);
  const row = await ta.deps.db.models.Outbox.findOne({ where: { idempotencyKey: 'leave:L6:approved' } });
  t.is(row!.status, 'sent', "A's late failure does not undo B's delivery");
  t.is(row!.lastError, null);
  const after = await alice.get('/api/v1/inbox');
  t.is(after.body.total, 1);
  t.is(after.body.items[0].title, '您的请假申请已批准');
});
