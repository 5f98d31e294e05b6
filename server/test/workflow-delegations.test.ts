import test, { type ExecutionContext } from 'ava';
import { AppError } from '../src/http/errors.ts';
import { delegationsOf, type DelegationInput } from '../src/workflow/delegations.ts';
import type { ProcessDefinition } from '../src/workflow/definition.ts';
import type { Person } from '../src/workflow/service.ts';
import { USER_PASSWORD } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';
import { human, linear, person, world, type WfWorld } from './helpers/workflow.ts';

// Out-of-office delegation management (R3.11, R5.1): window, scope and condition; overlap and loop
// refusals; ending early or by expiry returns the open tasks to the delegator through one unit of
// work per instance (history naming both, notice, audit); admins set delegations for others.

const HOUR = 3_600_000;
const W = '/api/v1/workflow';

async function publishIn(w: WfWorld, key: string, def: ProcessDefinition, categoryId: number | null = null): Promise<number> {
  const a = { id: w.admin.id, name: w.admin.name };
  const proc = await w.wf.processes.create({ key, name: key, categoryId, definition: def }, a);
  await w.wf.processes.publish(proc.id, proc.rev, null, a);
  return proc.id;
}

function rule(w: WfWorld, from: string, to: string, extra: Partial<DelegationInput> = {}): DelegationInput {
  return { delegateId: w.p[to]!.id, endsAt: new Date(w.ta.clock.now().getTime() + 24 * HOUR), ...extra, ...(extra.delegatorId ? {} : { delegatorId: w.p[from]!.id }) };
}

const holder = async (w: WfWorld, instanceId: number) => {
  const rows = await w.ta.deps.db.models.WfTask.findAll({ where: { instanceId, status: 'pending' } });
  return rows.map((r) => ({ assigneeId: r.assigneeId, onBehalfOf: r.onBehalfOf }));
};

async function refused(t: ExecutionContext, p: Promise<unknown>, status: number, code: string, detail?: RegExp): Promise<void> {
  const err = await t.throwsAsync(p);
  t.true(err instanceof AppError, String(err));
  t.is((err as AppError).status, status, (err as AppError).detail);
  t.is((err as AppError).code, code);
  if (detail) t.regex((err as AppError).detail, detail);
}

test('R3.11 a delegation applies only inside its window, its process or category, and its condition', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const bob = person(w.p.bob!.id);
  const cat = await w.wf.processes.createCategory({ name: '财务' }, { id: w.admin.id, name: w.admin.name });
  const p1 = await publishIn(w, 'expense', linear([human('n1', [bob])]));
  await publishIn(w, 'leave', linear([human('n1', [bob])]));
  await publishIn(w, 'purchase', linear([human('n1', [person(w.p.dave!.id)])]), cat.id);
  await publishIn(w, 'misc', linear([human('n1', [person(w.p.dave!.id)])]));
  const now = w.ta.clock.now().getTime();
  // bob: expense claims over 1000, from one hour from now, for a day
  const d = await svc.create(w.p.bob!, rule(w, 'bob', 'carol', { processId: p1, condition: 'form.amount > 1000', startsAt: new Date(now + HOUR), endsAt: new Date(now + 25 * HOUR) }));
  t.is(d.state, 'scheduled');
  t.deepEqual([d.delegator.name, d.delegate.name, d.process?.name], ['bob', 'carol', 'expense']);
  // dave: the 财务 category only
  await svc.create(w.p.dave!, rule(w, 'dave', 'erin', { categoryId: cat.id }));

  const before = await w.start('alice', 'expense', { amount: 5000 });
  t.deepEqual(await w.pending(before), ['bob'], 'not yet in force');
  w.ta.clock.advance(2 * HOUR);
  const big = await w.start('alice', 'expense', { amount: 5000 });
  t.deepEqual(await holder(w, big), [{ assigneeId: w.p.carol!.id, onBehalfOf: w.p.bob!.id }]);
  const small = await w.start('alice', 'expense', { amount: 10 });
  t.deepEqual(await w.pending(small), ['bob'], 'the condition does not hold');
  const other = await w.start('alice', 'leave', { amount: 5000 });
  t.deepEqual(await w.pending(other), ['bob'], 'another process');
  t.deepEqual(await w.pending(await w.start('alice', 'purchase')), ['erin'], 'in the category');
  t.deepEqual(await w.pending(await w.start('alice', 'misc')), ['dave'], 'outside the category');
  w.ta.clock.advance(24 * HOUR);
  t.deepEqual(await w.pending(await w.start('alice', 'expense', { amount: 5000 })), ['bob'], 'the window is over (even before the expiry job ran)');
});

test('R3.11 validation: the delegate, the window, the scope and the condition, with Chinese messages', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const now = w.ta.clock.now().getTime();
  const bob = w.p.bob!;
  await refused(t, svc.create(bob, rule(w, 'bob', 'bob')), 400, 'DELEGATE_SELF', /不能委托给自己/);
  await w.ta.deps.db.models.User.update({ status: 'disabled' }, { where: { id: w.p.frank!.id } });
  await refused(t, svc.create(bob, rule(w, 'bob', 'frank')), 400, 'PERSON_NOT_FOUND', /受托人不存在或已停用/);
  await refused(t, svc.create(bob, rule(w, 'bob', 'carol', { startsAt: new Date(now + 2 * HOUR), endsAt: new Date(now + HOUR) })), 400, 'DELEGATION_WINDOW', /结束时间必须晚于开始时间/);
  await refused(t, svc.create(bob, rule(w, 'bob', 'carol', { endsAt: new Date(now - HOUR) })), 400, 'DELEGATION_WINDOW');
  await refused(t, svc.create(bob, rule(w, 'bob', 'carol', { endsAt: new Date(now + 367 * 24 * HOUR) })), 400, 'DELEGATION_WINDOW', /最长一年/);
  await refused(t, svc.create(bob, rule(w, 'bob', 'carol', { condition: 'form.amount >' })), 400, 'BAD_CONDITION', /委托条件有误/);
  await refused(t, svc.create(bob, rule(w, 'bob', 'carol', { condition: 'initiator.level > 2' })), 400, 'BAD_CONDITION', /只能使用表单字段/);
  await refused(t, svc.create(bob, rule(w, 'bob', 'carol', { processId: 1, categoryId: 1 })), 400, 'DELEGATION_SCOPE');
  await refused(t, svc.create(bob, rule(w, 'bob', 'carol', { processId: 999 })), 400, 'PROCESS_NOT_FOUND');
  await refused(t, svc.create(bob, rule(w, 'alice', 'carol')), 403, 'NOT_WORKFLOW_ADMIN', /只有流程管理员可以为他人设置委托/);
  t.is(await w.ta.deps.db.models.WfDelegation.count(), 0, 'nothing stored');
});

test('R3.11 an overlapping delegation of the same scope is refused with 409; another scope or a later window is fine', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const now = w.ta.clock.now().getTime();
  const pid = await publishIn(w, 'expense', linear([human('n1', [person(w.p.bob!.id)])]));
  await svc.create(w.p.bob!, rule(w, 'bob', 'carol', { endsAt: new Date(now + 48 * HOUR) }));
  await refused(t, svc.create(w.p.bob!, rule(w, 'bob', 'dave', { startsAt: new Date(now + 24 * HOUR), endsAt: new Date(now + 72 * HOUR) })), 409, 'DELEGATION_OVERLAP', /已有相同范围的委托/);
  await t.notThrowsAsync(svc.create(w.p.bob!, rule(w, 'bob', 'dave', { processId: pid })), 'a narrower scope');
  await t.notThrowsAsync(svc.create(w.p.bob!, rule(w, 'bob', 'dave', { condition: 'form.amount > 1000' })), 'a condition is a scope of its own');
  await t.notThrowsAsync(svc.create(w.p.bob!, rule(w, 'bob', 'dave', { startsAt: new Date(now + 48 * HOUR), endsAt: new Date(now + 72 * HOUR) })), 'after the first one ends');
});

test('R3.11 a delegation that would close a loop is refused (two people and longer chains)', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const now = w.ta.clock.now().getTime();
  await svc.create(w.p.bob!, rule(w, 'bob', 'carol', { endsAt: new Date(now + 48 * HOUR) }));
  await refused(t, svc.create(w.p.carol!, rule(w, 'carol', 'bob')), 409, 'DELEGATION_CYCLE', /不能形成循环委托：carol → bob → carol/);
  await svc.create(w.p.carol!, rule(w, 'carol', 'dave'));
  await refused(t, svc.create(w.p.dave!, rule(w, 'dave', 'bob')), 409, 'DELEGATION_CYCLE', /dave → bob → carol → dave/);
  // once bob's delegation is over there is no loop
  await t.notThrowsAsync(svc.create(w.p.carol!, rule(w, 'carol', 'bob', { startsAt: new Date(now + 48 * HOUR), endsAt: new Date(now + 60 * HOUR) })));
  // a chain bob → carol → dave is followed by the engine (bounded by MAX_DELEGATION_HOPS)
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const id = await w.start('alice', key);
  t.deepEqual(await holder(w, id), [{ assigneeId: w.p.dave!.id, onBehalfOf: w.p.bob!.id }]);
});

test('R3.11 ending a delegation early returns its open tasks to the delegator, with history naming both and a notice', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const { WfTask, WfHistory, Outbox, AuditLog, WfDelegation } = w.ta.deps.db.models;
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.erin!.id)])]));
  const before = await w.start('alice', key);
  const d = await svc.create(w.p.bob!, rule(w, 'bob', 'carol'));
  w.ta.clock.advance(HOUR);
  const [a, b, c, e] = [await w.start('alice', key), await w.start('alice', key), await w.start('alice', key), await w.start('alice', key)];
  await w.approve('carol', b, '代为同意');
  await w.act('carol', c, { action: 'transfer', toUserId: w.p.dave!.id });
  await w.act('carol', e, { action: 'suspend' });
  w.ta.clock.advance(HOUR);

  const res = await svc.end(w.p.bob!, d.id);
  t.is(res.returned, 2, 'the pending and the suspended task');
  t.is(res.delegation.state, 'ended');
  t.deepEqual(await holder(w, a), [{ assigneeId: w.p.bob!.id, onBehalfOf: null }]);
  t.is((await WfTask.findOne({ where: { instanceId: e, status: 'suspended' } }))!.assigneeId, w.p.bob!.id);
  t.deepEqual(await w.pending(b), ['erin'], 'a task carol already handled stays handled');
  t.deepEqual(await w.pending(c), ['dave'], 'a task carol transferred is no longer the delegation’s');
  t.deepEqual(await w.pending(before), ['bob'], 'tasks from before the window were never delegated');

  const h = (await WfHistory.findOne({ where: { instanceId: a, action: 'delegation_return' } }))!;
  t.like(h.detail, { delegationId: d.id, delegator: { id: w.p.bob!.id, name: 'bob' }, delegate: { id: w.p.carol!.id, name: 'carol' }, from: { name: 'carol' }, to: { name: 'bob' } });
  t.is(h.actorName, 'bob');
  t.is(h.nodeId, 'n1');
  t.regex(h.comment!, /carol代bob办理的任务退回bob/);
  const toBob = await Outbox.findAll({ where: { recipient: String(w.p.bob!.id) } });
  t.true(toBob.some((m) => /委托已结束/.test(String((m.payload as { body: string }).body))), 'bob is told the task is back');
  const toCarol = await Outbox.findAll({ where: { recipient: String(w.p.carol!.id) } });
  t.true(toCarol.some((m) => String((m.payload as { title: string }).title).startsWith('【委托结束】')));
  t.is(await AuditLog.count({ where: { action: 'workflow.delegation.return' } }), 2);
  t.is(await AuditLog.count({ where: { action: 'workflow.delegation.end' } }), 1);
  const row = (await WfDelegation.findByPk(d.id))!;
  t.is(row.status, 'ended');
  t.is(row.endedAt!.getTime(), w.ta.clock.now().getTime());

  // bob acts on it himself; new tasks stay with him; ending again is refused; the safety-net job moves nothing
  await w.approve('bob', a);
  t.deepEqual(await w.pending(a), ['erin']);
  t.deepEqual(await w.pending(await w.start('alice', key)), ['bob']);
  await refused(t, svc.end(w.p.bob!, d.id), 409, 'DELEGATION_ENDED');
  t.is(await w.ta.deps.jobs.tick(), 1);
  t.is(await WfHistory.count({ where: { action: 'delegation_return' } }), 2);
});

test('R3.11 expiry runs as a durable job: when endsAt passes, the open tasks go back (injected clock)', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id, w.p.dave!.id)], { mode: 'sequential' })]));
  const endsAt = new Date(w.ta.clock.now().getTime() + 2 * HOUR);
  const d = await svc.create(w.p.bob!, rule(w, 'bob', 'carol', { endsAt }));
  await svc.create(w.p.dave!, rule(w, 'dave', 'erin', { endsAt: new Date(endsAt.getTime() + 24 * HOUR) }));
  const id = await w.start('alice', key);
  t.deepEqual(await w.pending(id), ['carol']);
  t.is(await w.ta.deps.jobs.tick(), 0, 'not due yet');
  w.ta.clock.advance(2 * HOUR + 60_000);
  t.is(await w.ta.deps.jobs.tick(), 1);
  const row = (await w.ta.deps.db.models.WfDelegation.findByPk(d.id))!;
  t.is(row.status, 'ended');
  t.is(row.endedAt!.getTime(), endsAt.getTime());
  t.deepEqual(await holder(w, id), [{ assigneeId: w.p.bob!.id, onBehalfOf: null }]);
  const h = (await w.ta.deps.db.models.WfHistory.findOne({ where: { instanceId: id, action: 'delegation_return' } }))!;
  t.is(h.actorId, null);
  t.is(h.actorName, '系统');
  // the next turn of the sequential node goes to dave's delegate: other delegations are untouched
  await w.approve('bob', id);
  t.deepEqual(await holder(w, id), [{ assigneeId: w.p.erin!.id, onBehalfOf: w.p.dave!.id }]);
});

test('R3.11 in a chain bob → carol → dave, ending the carol → dave link gives the task to carol, still for bob', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const first = await svc.create(w.p.bob!, rule(w, 'bob', 'carol'));
  const link = await svc.create(w.p.carol!, rule(w, 'carol', 'dave'));
  const id = await w.start('alice', key);
  t.deepEqual(await holder(w, id), [{ assigneeId: w.p.dave!.id, onBehalfOf: w.p.bob!.id }]);
  t.is((await svc.end(w.p.carol!, link.id)).returned, 1);
  t.deepEqual(await holder(w, id), [{ assigneeId: w.p.carol!.id, onBehalfOf: w.p.bob!.id }]);
  t.is((await svc.end(w.p.bob!, first.id)).returned, 1);
  t.deepEqual(await holder(w, id), [{ assigneeId: w.p.bob!.id, onBehalfOf: null }]);
});

test('R3.11 admins set delegations for others; who may end one; the admin list', async (t) => {
  const w = await world(t);
  const svc = delegationsOf(w.ta.deps);
  const admin: Person = w.admin;
  const d = await svc.create(admin, rule(w, 'bob', 'carol'));
  t.is(d.delegator.id, w.p.bob!.id);
  t.is(d.createdBy?.id, admin.id);
  const notice = await w.ta.deps.db.models.Outbox.findOne({ where: { recipient: String(w.p.bob!.id) } });
  t.regex(String((notice!.payload as { body: string }).body), /wfadmin为您设置了委托/);
  t.is((await svc.mine(w.p.bob!.id)).given.length, 1);
  t.is((await svc.mine(w.p.carol!.id)).received.length, 1);
  await refused(t, svc.end(w.p.carol!, d.id), 403, 'NOT_DELEGATOR', /只有委托人或流程管理员可以结束委托/);
  await refused(t, svc.end(w.p.dave!, d.id), 404, 'NOT_FOUND');
  t.is((await svc.all({ page: 1, pageSize: 20, userId: w.p.carol!.id })).total, 1);
  t.is((await svc.end(admin, d.id)).delegation.status, 'ended');
});

// ── over HTTP ──────────────────────────────────────────────────────────────────────────────────

async function signIn(w: WfWorld, username: string): Promise<HttpClient> {
  const c = w.ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return c;
}

test('R3.11 HTTP: set, list, admin list (403 for staff), end; admin sets one for another; Chinese validation', async (t) => {
  const w = await world(t);
  const [bob, carol, dave, admin] = [await signIn(w, 'bob'), await signIn(w, 'carol'), await signIn(w, 'dave'), await signIn(w, 'wfadmin')];
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const endsAt = new Date(w.ta.clock.now().getTime() + 24 * HOUR).toISOString();

  const bad = await bob.post(`${W}/delegations`, { delegateId: w.p.carol!.id, endsAt: 'tomorrow' });
  t.is(bad.status, 400);
  t.regex(JSON.stringify(bad.body), /结束时间格式不正确/);
  const extra = await bob.post(`${W}/delegations`, { delegateId: w.p.carol!.id, endsAt, reason: 'x' });
  t.is(extra.status, 400, 'strict bodies');
  t.is((await bob.post(`${W}/delegations`, { delegatorId: w.p.alice!.id, delegateId: w.p.carol!.id, endsAt })).status, 403);

  const mine = await bob.post(`${W}/delegations`, { delegateId: w.p.carol!.id, endsAt });
  t.is(mine.status, 201, JSON.stringify(mine.body));
  t.is(mine.body.state, 'active');
  const dup = await bob.post(`${W}/delegations`, { delegateId: w.p.dave!.id, endsAt });
  t.is(dup.status, 409);
  t.is(dup.body.code, 'DELEGATION_OVERLAP');
  const loop = await carol.post(`${W}/delegations`, { delegateId: w.p.bob!.id, endsAt });
  t.is(loop.status, 409);
  t.is(loop.body.code, 'DELEGATION_CYCLE');

  const forDave = await admin.post(`${W}/delegations`, { delegatorId: w.p.dave!.id, delegateId: w.p.erin!.id, endsAt, condition: 'form.days >= 3' });
  t.is(forDave.status, 201, JSON.stringify(forDave.body));
  t.is(forDave.body.createdBy.name, 'wfadmin');

  t.deepEqual((await bob.get(`${W}/delegations`)).body.given.map((d: { delegate: { name: string } }) => d.delegate.name), ['carol']);
  t.deepEqual((await carol.get(`${W}/delegations`)).body.received.map((d: { delegator: { name: string } }) => d.delegator.name), ['bob']);
  t.is((await bob.get(`${W}/delegations/all`)).status, 403);
  const all = await admin.get(`${W}/delegations/all?status=active`);
  t.is(all.status, 200);
  t.is(all.body.total, 2);

  const id = await w.start('alice', key);
  t.deepEqual(await w.pending(id), ['carol']);
  t.is((await dave.post(`${W}/delegations/${mine.body.id}/end`)).status, 404);
  t.is((await carol.post(`${W}/delegations/${mine.body.id}/end`)).status, 403);
  const ended = await bob.post(`${W}/delegations/${mine.body.id}/end`);
  t.is(ended.status, 200, JSON.stringify(ended.body));
  t.is(ended.body.returned, 1);
  t.is(ended.body.delegation.status, 'ended');
  t.deepEqual(await w.pending(id), ['bob']);
  const view = await bob.get(`${W}/instances/${id}`);
  t.is(view.status, 200);
  t.true(JSON.stringify(view.body).includes('delegation_return'), 'the return shows in the instance history');
});
