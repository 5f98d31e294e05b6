import test from 'ava';
import type { ProcessDefinition } from '../src/workflow/definition.ts';
import { human, linear, person, world } from './helpers/workflow.ts';

// Issue 4 runtime scenarios through the service layer (R3.1, R3.2, R3.5, R3.11): multi-person
// modes, branches, returns into and out of parallel branches and countersign nodes, direct
// send-back, add-sign, transfer, withdraw, and the combinations where peers fail.

test('R3.1 two approval steps in a row complete the instance and tell the initiator at each step', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.carol!.id)])]));
  const id = await w.start('alice', key, { days: 2 });
  t.deepEqual(await w.pending(id), ['bob']);
  await w.approve('bob', id, '同意');
  t.deepEqual(await w.pending(id), ['carol']);
  await w.approve('carol', id);
  t.is(await w.status(id), 'completed');
  t.deepEqual(await w.pending(id), []);
  const inbox = await w.ta.deps.db.models.Outbox.findAll({ where: { recipient: String(w.p.alice!.id) } });
  t.true(inbox.some((m) => String((m.payload as { title: string }).title).includes('进度')), 'a notice per step (R3.2)');
  t.true(inbox.some((m) => String((m.payload as { title: string }).title).includes('已办结')));
});

test('R3.1 countersign (all) needs every approver; one rejection ends the instance rejected', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('cs', [person(w.p.bob!.id, w.p.carol!.id, w.p.dave!.id)], { mode: 'all' })]));
  const ok = await w.start('alice', key);
  await w.approve('bob', ok);
  await w.approve('carol', ok);
  t.is(await w.status(ok), 'running');
  await w.approve('dave', ok);
  t.is(await w.status(ok), 'completed');

  const no = await w.start('alice', key);
  await w.approve('bob', no);
  await w.act('carol', no, { action: 'reject', comment: '不同意' });
  t.is(await w.status(no), 'rejected');
  t.deepEqual(await w.pending(no), [], 'the third approver has nothing left to do');
});

test('R3.1 any-one, sequential and ratio modes', async (t) => {
  const w = await world(t);
  const three = person(w.p.bob!.id, w.p.carol!.id, w.p.dave!.id);
  const any = await w.publish(linear([human('n', [three], { mode: 'any' })]));
  const a = await w.start('alice', any);
  await w.approve('carol', a);
  t.is(await w.status(a), 'completed');

  const seqKey = await w.publish(linear([human('n', [three], { mode: 'sequential' })]));
  const s = await w.start('alice', seqKey);
  t.deepEqual(await w.pending(s), ['bob']);
  await w.approve('bob', s);
  t.deepEqual(await w.pending(s), ['carol']);
  await w.approve('carol', s);
  await w.approve('dave', s);
  t.is(await w.status(s), 'completed');

  const ratio = await w.publish(linear([human('n', [three], { mode: 'ratio', ratio: 0.6 })]));
  const r = await w.start('alice', ratio);
  await w.approve('bob', r);
  await w.act('carol', r, { action: 'reject', comment: '不同意' });
  t.is(await w.status(r), 'running', '1 of 3 approved, 2 of 3 still possible');
  await w.approve('dave', r);
  t.is(await w.status(r), 'completed', '2 of 3 ≥ 60%');
  const r2 = await w.start('alice', ratio);
  await w.act('bob', r2, { action: 'reject', comment: '否' });
  await w.act('carol', r2, { action: 'reject', comment: '否' });
  t.is(await w.status(r2), 'rejected', 'at most 1 of 3 can approve now');
});

test('R3.3 an exclusive branch follows the first true condition, else the default', async (t) => {
  const w = await world(t);
  const def: ProcessDefinition = {
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      { id: 'gw', name: '金额判断', type: 'exclusive' },
      human('big', [person(w.p.dave!.id)], { name: '院长' }),
      human('small', [person(w.p.bob!.id)], { name: '科主任' }),
      { id: 'merge', name: '汇合', type: 'exclusive' },
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'gw' },
      { id: 'e2', from: 'gw', to: 'big', condition: 'form.amount > 5000 && initiator.name == "alice"' },
      { id: 'e3', from: 'gw', to: 'small', isDefault: true },
      { id: 'e4', from: 'big', to: 'merge' },
      { id: 'e5', from: 'small', to: 'merge' },
      { id: 'e6', from: 'merge', to: 'end' },
    ],
  };
  const key = await w.publish(def);
  const big = await w.start('alice', key, { amount: 8000 });
  t.deepEqual(await w.pending(big), ['dave']);
  const small = await w.start('alice', key, { amount: 100 });
  t.deepEqual(await w.pending(small), ['bob']);
  const other = await w.start('carol', key, { amount: 8000 });
  t.deepEqual(await w.pending(other), ['bob'], 'the condition tests the initiator too');
});

/** start → A → split ⇒ (B | C→D) ⇒ join → E → end */
function parallelDef(ids: Record<string, number>): ProcessDefinition {
  return {
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      human('A', [person(ids.bob!)]),
      { id: 'split', name: '并行', type: 'parallel' },
      human('B', [person(ids.carol!)]),
      human('C', [person(ids.dave!)]),
      human('D', [person(ids.erin!)]),
      { id: 'join', name: '汇聚', type: 'parallel' },
      human('E', [person(ids.frank!)]),
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'A' },
      { id: 'e2', from: 'A', to: 'split' },
      { id: 'b1', from: 'split', to: 'B' },
      { id: 'b2', from: 'split', to: 'C' },
      { id: 'e3', from: 'C', to: 'D' },
      { id: 'e4', from: 'B', to: 'join' },
      { id: 'e5', from: 'D', to: 'join' },
      { id: 'e6', from: 'join', to: 'E' },
      { id: 'e7', from: 'E', to: 'end' },
    ],
  };
}

const ids = (w: Awaited<ReturnType<typeof world>>) => Object.fromEntries(Object.entries(w.p).map(([k, v]) => [k, v.id]));

test('parallel branches both run and join before the next step', async (t) => {
  const w = await world(t);
  const key = await w.publish(parallelDef(ids(w)));
  const id = await w.start('alice', key);
  await w.approve('bob', id);
  t.deepEqual(await w.pending(id), ['carol', 'dave']);
  await w.approve('carol', id);
  t.deepEqual(await w.pending(id), ['dave']);
  await w.approve('dave', id);
  await w.approve('erin', id);
  t.deepEqual(await w.pending(id), ['frank']);
  await w.approve('frank', id);
  t.is(await w.status(id), 'completed');
});

test('return INTO a parallel branch: only that branch runs again, the finished sibling stays finished', async (t) => {
  const w = await world(t);
  const key = await w.publish(parallelDef(ids(w)));
  const id = await w.start('alice', key);
  for (const who of ['bob', 'carol', 'dave', 'erin']) await w.approve(who, id);
  t.deepEqual(await w.pending(id), ['frank']);
  await w.act('frank', id, { action: 'return', toNode: 'C', comment: '请补充材料' });
  t.deepEqual(await w.pending(id), ['dave'], 'branch C→D runs again; branch B is not repeated');
  await w.approve('dave', id);
  await w.approve('erin', id);
  t.deepEqual(await w.pending(id), ['frank'], 'the join completes with the sibling that had finished');
  await w.approve('frank', id);
  t.is(await w.status(id), 'completed');
});

test('return OUT of a parallel branch cancels the sibling branch and forks afresh later', async (t) => {
  const w = await world(t);
  const key = await w.publish(parallelDef(ids(w)));
  const id = await w.start('alice', key);
  await w.approve('bob', id);
  await w.approve('dave', id); // branch C done, D pending; B pending
  t.deepEqual(await w.pending(id), ['carol', 'erin']);
  await w.act('carol', id, { action: 'return', toNode: 'A', comment: '重新审核' });
  t.deepEqual(await w.pending(id), ['bob'], 'both branches are cancelled');
  await w.approve('bob', id);
  t.deepEqual(await w.pending(id), ['carol', 'dave'], 'the split runs again from the start of each branch');
  for (const who of ['carol', 'dave', 'erin', 'frank']) await w.approve(who, id);
  t.is(await w.status(id), 'completed');
});

test('return from inside one branch to an earlier node of the same branch leaves the other branch alone', async (t) => {
  const w = await world(t);
  const key = await w.publish(parallelDef(ids(w)));
  const id = await w.start('alice', key);
  await w.approve('bob', id);
  await w.approve('dave', id);
  await w.act('erin', id, { action: 'return', toNode: 'C', comment: '改' });
  t.deepEqual(await w.pending(id), ['carol', 'dave'], 'B still waits for carol; C is back with dave');
  for (const who of ['carol', 'dave', 'erin', 'frank']) await w.approve(who, id);
  t.is(await w.status(id), 'completed');
});

test('return TO a countersign node reopens it for every approver; returning FROM one cancels the others', async (t) => {
  const w = await world(t);
  const key = await w.publish(
    linear([human('cs', [person(w.p.bob!.id, w.p.carol!.id, w.p.dave!.id)], { mode: 'all' }), human('last', [person(w.p.erin!.id)])]),
  );
  const id = await w.start('alice', key);
  for (const who of ['bob', 'carol', 'dave']) await w.approve(who, id);
  await w.act('erin', id, { action: 'return', toNode: 'cs', comment: '请会签人复核' });
  t.deepEqual(await w.pending(id), ['bob', 'carol', 'dave']);
  await w.approve('bob', id);
  await w.act('carol', id, { action: 'return', toNode: 'start', comment: '退回发起人' });
  t.deepEqual(await w.pending(id), ['alice'], 'dave no longer has an open countersign task');
  await w.act('alice', id, { action: 'resubmit' });
  t.deepEqual(await w.pending(id), ['bob', 'carol', 'dave']);
});

test('direct send-back (直送): after resubmitting, the instance goes straight back to whoever returned it', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.carol!.id)]), human('n3', [person(w.p.dave!.id)])]));
  const id = await w.start('alice', key);
  await w.approve('bob', id);
  await w.approve('carol', id);
  await w.act('dave', id, { action: 'return', toNode: 'start', comment: '附件缺失', direct: true });
  t.deepEqual(await w.pending(id), ['alice']);
  await w.act('alice', id, { action: 'resubmit', formData: { note: '已补' } });
  t.deepEqual(await w.pending(id), ['dave'], 'n1 and n2 are not repeated');
  await w.approve('dave', id);
  t.is(await w.status(id), 'completed');
  t.true((await w.actions(id)).includes('direct_return'));
});

test('return is only to earlier steps that were handled', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.carol!.id)])]));
  const id = await w.start('alice', key);
  const err = await t.throwsAsync(w.act('bob', id, { action: 'return', toNode: 'n2', comment: 'x' }));
  t.regex(err!.message, /前序步骤/);
  const targets = await w.wf.service.returnTargetsFor(w.p.bob!, await w.taskOf('bob', id));
  t.deepEqual(targets.map((x) => x.nodeId), ['start']);
});

test('add-sign before, after and in parallel (加签), and removing one', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.erin!.id)])]));
  const before = await w.start('alice', key);
  await w.act('bob', before, { action: 'addSign', mode: 'before', userIds: [w.p.carol!.id] });
  t.deepEqual(await w.pending(before), ['carol'], 'bob waits for carol');
  await w.approve('carol', before);
  t.deepEqual(await w.pending(before), ['bob'], 'bob decides after carol');
  await w.approve('bob', before);
  t.deepEqual(await w.pending(before), ['erin']);

  const after = await w.start('alice', key);
  await w.act('bob', after, { action: 'addSign', mode: 'after', userIds: [w.p.carol!.id] });
  t.deepEqual(await w.pending(after), ['carol'], 'bob approved; carol must still approve');
  await w.approve('carol', after);
  t.deepEqual(await w.pending(after), ['erin']);

  const par = await w.start('alice', key);
  await w.act('bob', par, { action: 'addSign', mode: 'parallel', userIds: [w.p.carol!.id, w.p.dave!.id] });
  t.deepEqual(await w.pending(par), ['bob', 'carol', 'dave']);
  const carolTask = await w.taskOf('carol', par);
  await w.act('bob', par, { action: 'removeAddSign', addSignTaskId: carolTask });
  await w.approve('bob', par);
  t.deepEqual(await w.pending(par), ['dave'], 'the add-signed dave still has to approve');
  await w.approve('dave', par);
  t.deepEqual(await w.pending(par), ['erin']);
});

test('add-sign during a countersign: the node waits for the countersigners and the add-signed person', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('cs', [person(w.p.bob!.id, w.p.carol!.id)], { mode: 'all' }), human('n2', [person(w.p.erin!.id)])]));
  const id = await w.start('alice', key);
  await w.act('bob', id, { action: 'addSign', mode: 'after', userIds: [w.p.dave!.id] });
  t.deepEqual(await w.pending(id), ['carol', 'dave']);
  await w.approve('carol', id);
  t.deepEqual(await w.pending(id), ['dave']);
  await w.approve('dave', id);
  t.deepEqual(await w.pending(id), ['erin']);
});

test('transfer (转签) hands the task to another person whose decision counts', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('cs', [person(w.p.bob!.id, w.p.carol!.id)], { mode: 'all' })]));
  const id = await w.start('alice', key);
  await w.act('bob', id, { action: 'transfer', toUserId: w.p.dave!.id, comment: '出差，请代审' });
  t.deepEqual(await w.pending(id), ['carol', 'dave']);
  await w.approve('carol', id);
  t.is(await w.status(id), 'running');
  await w.approve('dave', id);
  t.is(await w.status(id), 'completed');
});

test('withdraw: the initiator may withdraw until someone acts; an approver may withdraw until the next step acts', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.carol!.id)]), human('n3', [person(w.p.dave!.id)])]));
  const a = await w.start('alice', key);
  await w.wf.service.withdraw(w.p.alice!, a, '填错了');
  t.is(await w.status(a), 'withdrawn');

  const b = await w.start('alice', key);
  await w.approve('bob', b);
  await t.throwsAsync(w.wf.service.withdraw(w.p.alice!, b, null), { message: /已有人处理/ });
  const bobTask = await w.taskOf('bob', b, 'done');
  await w.wf.service.withdrawTask(w.p.bob!, bobTask, '再看看');
  t.deepEqual(await w.pending(b), ['bob'], 'n2 is cancelled and bob has the task again');
  await w.approve('bob', b);
  await w.approve('carol', b);
  const bobAgain = (await w.ta.deps.db.models.WfTask.findAll({ where: { instanceId: b, assigneeId: w.p.bob!.id, status: 'done', outcome: 'approve' } })).pop()!;
  await t.throwsAsync(w.wf.service.withdrawTask(w.p.bob!, bobAgain.id, null), { message: /后续步骤已有人处理/ });
});

test('withdraw after a return: the initiator holding a returned instance may withdraw it', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const id = await w.start('alice', key);
  await w.act('bob', id, { action: 'return', toNode: 'start', comment: '请修改' });
  await w.wf.service.withdraw(w.p.alice!, id, '不申请了');
  t.is(await w.status(id), 'withdrawn');
  t.deepEqual(await w.pending(id), []);
  const restarted = await w.wf.service.restart(w.p.alice!, id);
  t.is(await w.status(restarted), 'draft');
});

test('a task already handled answers 409 naming who handled it; the same client key twice acts once', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.carol!.id)])]));
  const id = await w.start('alice', key);
  const task = await w.taskOf('bob', id);
  await w.wf.service.act(w.p.bob!, task, { action: 'approve' }, 'key-000001');
  await w.wf.service.act(w.p.bob!, task, { action: 'approve' }, 'key-000001');
  t.deepEqual(await w.pending(id), ['carol']);
  const err = await t.throwsAsync(w.wf.service.act(w.p.bob!, task, { action: 'approve' }, 'key-000002'));
  t.regex(err!.message, /已由bob处理/);
  t.is((await w.actions(id)).filter((a) => a === 'approve').length, 1);
});

test('R3.11 out-of-office delegation sends new tasks to the delegate on behalf of the delegator', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const now = w.ta.clock.now();
  await w.ta.deps.db.models.WfDelegation.create({
    delegatorId: w.p.bob!.id,
    delegateId: w.p.carol!.id,
    processId: null,
    categoryId: null,
    condition: null,
    startsAt: new Date(now.getTime() - 1000),
    endsAt: new Date(now.getTime() + 86_400_000),
    status: 'active',
    createdBy: w.p.bob!.id,
    createdAt: now,
    endedAt: null,
  });
  const id = await w.start('alice', key);
  t.deepEqual(await w.pending(id), ['carol']);
  const task = await w.ta.deps.db.models.WfTask.findOne({ where: { instanceId: id, status: 'pending' } });
  t.is(task!.onBehalfOf, w.p.bob!.id);
  await w.approve('carol', id);
  const h = (await w.ta.deps.db.models.WfHistory.findAll({ where: { instanceId: id, action: 'approve' } }))[0]!;
  t.is(h.onBehalfOf, w.p.bob!.id, 'both names appear in the history');
});

test('skip rules: the initiator as approver and the person who just approved pass automatically', async (t) => {
  const w = await world(t);
  const key = await w.publish(
    linear([
      human('self', [person(w.p.alice!.id)], { skipIfInitiator: true }),
      human('n1', [person(w.p.bob!.id)]),
      human('n2', [person(w.p.bob!.id)], { skipIfJustApproved: true }),
      human('n3', [person(w.p.carol!.id)]),
    ]),
  );
  const id = await w.start('alice', key);
  t.deepEqual(await w.pending(id), ['bob']);
  await w.approve('bob', id);
  t.deepEqual(await w.pending(id), ['carol']);
  t.is((await w.actions(id)).filter((a) => a === 'auto_approve').length, 2);
});

test('nobody resolves: skip, or refuse to start with a clear error', async (t) => {
  const w = await world(t);
  const skip = await w.publish(linear([human('n', [{ kind: 'role', roleCode: 'hradmin' }], { onEmpty: 'skip' }), human('n2', [person(w.p.bob!.id)])]));
  const a = await w.start('alice', skip);
  t.deepEqual(await w.pending(a), ['bob']);
  const fail = await w.publish(linear([human('n', [{ kind: 'initiatorChooses', multiple: false }])]));
  const err = await t.throwsAsync(w.start('alice', fail));
  t.regex(err!.message, /找不到处理人/);
  t.is(await w.ta.deps.db.models.WfInstance.count({ where: { processId: (await w.wf.processes.byKey(fail)).id } }), 0, 'nothing half-started');
  const chosen = await w.start('alice', fail, {}, { chosen: { n: [w.p.dave!.id] } });
  t.deepEqual(await w.pending(chosen), ['dave']);
});

test('admin interventions: suspend blocks actions until resumed; jump; reassign; terminate', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), human('n2', [person(w.p.carol!.id)]), human('n3', [person(w.p.dave!.id)])]));
  const id = await w.start('alice', key);
  await w.wf.service.suspend(w.admin, id, '核查中');
  await t.throwsAsync(w.approve('bob', id), { message: /挂起/ });
  await w.wf.service.resume(w.admin, id, '核查完毕');
  await w.wf.service.jump(w.admin, id, 'n3', '领导要求直接到院长');
  t.deepEqual(await w.pending(id), ['dave']);
  await w.wf.service.reassign(w.admin, await w.taskOf('dave', id), w.p.erin!.id, '院长休假');
  t.deepEqual(await w.pending(id), ['erin']);
  await w.wf.service.terminate(w.admin, id, '重复申请');
  t.is(await w.status(id), 'terminated');
  await t.throwsAsync(w.wf.service.suspend(w.p.bob!, id, 'x'), { message: /流程管理员/ });
});

test('R3.7 a published version is immutable: running instances keep theirs', async (t) => {
  const w = await world(t);
  const admin = { id: w.admin.id, name: 'wfadmin' };
  const proc = await w.wf.processes.create({ key: 'leave', name: '请假', definition: linear([human('n1', [person(w.p.bob!.id)])]) }, admin);
  await w.wf.processes.publish(proc.id, proc.rev, 'v1', admin);
  const old = await w.start('alice', 'leave');
  const v = await w.wf.processes.update(proc.id, proc.rev, { definition: linear([human('n1', [person(w.p.carol!.id)])]) }, admin);
  await w.wf.processes.publish(proc.id, v.rev, 'v2', admin);
  const fresh = await w.start('alice', 'leave');
  t.deepEqual(await w.pending(old), ['bob']);
  t.deepEqual(await w.pending(fresh), ['carol']);
  await t.throwsAsync(w.wf.processes.update(proc.id, proc.rev, { name: 'x' }, admin), { message: /已被他人修改/ });
});

test('R3.8 a task past its time limit is reminded, then decided as the node says (injected clock)', async (t) => {
  const w = await world(t);
  const key = await w.publish(
    linear([human('n1', [person(w.p.bob!.id)], { timeLimitHours: 24, timeout: { remindTimes: 1, remindEveryHours: 4, then: 'autoApprove' } }), human('n2', [person(w.p.carol!.id)])]),
  );
  const id = await w.start('alice', key);
  const jobs = w.ta.deps.jobs;
  await jobs.tick();
  t.deepEqual(await w.pending(id), ['bob']);
  w.ta.clock.advance(24 * 3_600_000);
  await jobs.tick();
  t.true((await w.actions(id)).includes('auto_urge'));
  t.deepEqual(await w.pending(id), ['bob']);
  w.ta.clock.advance(4 * 3_600_000);
  await jobs.tick();
  t.deepEqual(await w.pending(id), ['carol'], 'auto-approved after the reminder');
});

test('阅办: a cc step never blocks the flow; the recipient reads and comments even after the end', async (t) => {
  const w = await world(t);
  const def = linear([{ id: 'cc', name: '知会', type: 'cc', assignees: [person(w.p.erin!.id)], commentable: true }, human('n1', [person(w.p.bob!.id)])]);
  const key = await w.publish(def);
  const id = await w.start('alice', key);
  t.deepEqual(await w.pending(id), ['bob'], 'the flow went on past the cc step');
  await w.approve('bob', id);
  t.is(await w.status(id), 'completed');
  const cc = await w.taskOf('erin', id);
  await w.wf.service.act(w.p.erin!, cc, { action: 'read', comment: '已阅，请各科执行' });
  const task = await w.ta.deps.db.models.WfTask.findByPk(cc);
  t.is(task!.outcome, 'read');
  t.is(task!.comment, '已阅，请各科执行');
  await t.throwsAsync(w.wf.service.act(w.p.erin!, cc, { action: 'read' }), { message: /已由erin处理/ });
});

test('分发: a finished instance goes to departments and people to read, once each', async (t) => {
  const w = await world(t);
  const { Department, User } = w.ta.deps.db.models;
  const dept = await Department.create({ code: 'D1', name: '医务科', parentId: null, campusId: null, kind: 'admin' });
  await User.update({ deptId: dept.id }, { where: { id: [w.p.carol!.id, w.p.dave!.id] } });
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const id = await w.start('alice', key);
  await t.throwsAsync(w.wf.service.distribute(w.p.alice!, id, { deptIds: [dept.id], userIds: [], comment: null }), { message: /已办结/ });
  await w.approve('bob', id);
  t.is(await w.wf.service.distribute(w.p.alice!, id, { deptIds: [dept.id], userIds: [w.p.erin!.id], comment: '请传达' }), 3);
  await t.throwsAsync(w.wf.service.distribute(w.p.alice!, id, { deptIds: [dept.id], userIds: [], comment: null }), { message: /都已收到/ });
  await t.throwsAsync(w.wf.service.distribute(w.p.frank!, id, { deptIds: [dept.id], userIds: [], comment: null }), { message: /不存在/ });
  const cc = await w.wf.queries.cc(w.p.dave!.id, { page: 1, pageSize: 20, unread: true });
  t.is(cc.total, 1);
  t.is(cc.items[0]!.node.name, '分发');
});

test('拟办: a handling step records a proposed opinion and moves on; approval steps refuse it', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([{ ...human('clerk', [person(w.p.bob!.id)]), type: 'handle' } as never, human('leader', [person(w.p.carol!.id)])]));
  const id = await w.start('alice', key);
  await w.act('bob', id, { action: 'propose', comment: '拟同意，请院长审定' });
  t.deepEqual(await w.pending(id), ['carol']);
  await t.throwsAsync(w.act('carol', id, { action: 'propose', comment: 'x' }), { message: /只有办理步骤可以拟办/ });
  const view = await w.wf.queries.instance(id, { id: w.p.carol!.id, admin: false });
  t.is(view.history.find((h) => h.action === 'propose')!.comment, '拟同意，请院长审定', 'the next handler sees the proposal');
});

test('inclusive branches: every branch whose condition holds runs, the join waits for exactly those', async (t) => {
  const w = await world(t);
  const def: ProcessDefinition = {
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      { id: 'split', name: '会签部门', type: 'inclusive' },
      human('fin', [person(w.p.bob!.id)], { name: '财务' }),
      human('equip', [person(w.p.carol!.id)], { name: '设备科' }),
      human('it', [person(w.p.dave!.id)], { name: '信息科' }),
      { id: 'join', name: '汇聚', type: 'inclusive' },
      human('dean', [person(w.p.erin!.id)], { name: '院长' }),
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e0', from: 'start', to: 'split' },
      { id: 'a', from: 'split', to: 'fin', isDefault: true },
      { id: 'b', from: 'split', to: 'equip', condition: 'form.amount >= 10000' },
      { id: 'c', from: 'split', to: 'it', condition: "CONTAINS(form.kinds, 'software')" },
      { id: 'a2', from: 'fin', to: 'join' },
      { id: 'b2', from: 'equip', to: 'join' },
      { id: 'c2', from: 'it', to: 'join' },
      { id: 'e9', from: 'join', to: 'dean' },
      { id: 'e10', from: 'dean', to: 'end' },
    ],
  };
  const key = await w.publish(def);
  const both = await w.start('alice', key, { amount: 20000, kinds: ['software'] });
  t.deepEqual(await w.pending(both), ['carol', 'dave'], 'the default branch is not taken when another holds');
  await w.approve('carol', both);
  t.deepEqual(await w.pending(both), ['dave']);
  await w.approve('dave', both);
  t.deepEqual(await w.pending(both), ['erin']);
  const none = await w.start('alice', key, { amount: 10, kinds: [] });
  t.deepEqual(await w.pending(none), ['bob'], 'nothing holds: the default branch alone');
  await w.approve('bob', none);
  t.deepEqual(await w.pending(none), ['erin']);
});

test('R3.12 a delay node waits on a durable timer and moves on when it fires (injected clock)', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), { id: 'wait', name: '冷静期', type: 'timer', delayHours: 48 }, human('n2', [person(w.p.carol!.id)])]));
  const id = await w.start('alice', key);
  await w.approve('bob', id);
  t.deepEqual(await w.pending(id), []);
  t.is(await w.status(id), 'running');
  w.ta.clock.advance(47 * 3_600_000);
  await w.ta.deps.jobs.tick();
  t.deepEqual(await w.pending(id), []);
  w.ta.clock.advance(3_600_000);
  await w.ta.deps.jobs.tick();
  t.deepEqual(await w.pending(id), ['carol']);
  await w.ta.deps.jobs.tick();
  t.is((await w.actions(id)).filter((a) => a === 'timer_fired').length, 1, 'fires once');
});

test('子流程: the parent waits for its sub-process, goes on when it completes, is rejected with it, and ends it when terminated', async (t) => {
  const w = await world(t);
  const childKey = await w.publish(linear([human('c1', [person(w.p.dave!.id)])]), 'child');
  const parentKey = await w.publish(linear([human('n1', [person(w.p.bob!.id)]), { id: 'sub', name: '设备论证', type: 'subprocess', processKey: childKey }, human('n2', [person(w.p.carol!.id)])]));
  const { WfInstance } = w.ta.deps.db.models;
  const ok = await w.start('alice', parentKey, { item: 'CT' });
  await w.approve('bob', ok);
  const child = (await WfInstance.findOne({ where: { parentInstanceId: ok } }))!;
  t.is(child.initiatorId, w.p.alice!.id);
  t.deepEqual(child.formData, { item: 'CT' });
  t.deepEqual(await w.pending(ok), [], 'the parent waits');
  await w.approve('dave', child.id);
  t.is(await w.status(child.id), 'completed');
  t.deepEqual(await w.pending(ok), ['carol'], 'the parent goes on');

  const no = await w.start('alice', parentKey);
  await w.approve('bob', no);
  const child2 = (await WfInstance.findOne({ where: { parentInstanceId: no } }))!;
  await w.act('dave', child2.id, { action: 'reject', comment: '论证不通过' });
  t.is(await w.status(no), 'rejected');

  const cut = await w.start('alice', parentKey);
  await w.approve('bob', cut);
  const child3 = (await WfInstance.findOne({ where: { parentInstanceId: cut } }))!;
  await w.wf.service.terminate(w.admin, cut, '项目取消');
  t.is(await w.status(child3.id), 'terminated');
  t.deepEqual(await w.pending(child3.id), []);

  const bad = await w.wf.processes.create({ key: 'bad', name: 'bad', definition: linear([{ id: 'sub', name: '子', type: 'subprocess', processKey: 'nope' }]) }, { id: w.admin.id, name: 'x' });
  await t.throwsAsync(w.wf.processes.publish(bad.id, bad.rev, null, { id: w.admin.id, name: 'x' }), { message: /引用的流程 nope 不存在/ });
});

test('drafts: saved, edited, submitted or deleted only by their author; nobody else sees them', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const id = await w.wf.service.start(w.p.alice!, { processKey: key, formData: { days: 1 }, draft: true });
  t.is(await w.status(id), 'draft');
  t.deepEqual(await w.pending(id), []);
  await t.throwsAsync(w.wf.queries.instance(id, { id: w.p.bob!.id, admin: false }), { message: /不存在/ });
  await t.throwsAsync(w.wf.service.updateDraft(w.p.bob!, id, { formData: { days: 9 } }), { message: /不存在/ });
  await w.wf.service.updateDraft(w.p.alice!, id, { formData: { days: 2 } });
  await w.wf.service.submitDraft(w.p.alice!, id);
  t.deepEqual(await w.pending(id), ['bob']);
  await t.throwsAsync(w.wf.service.deleteDraft(w.p.alice!, id), { message: /只有草稿/ });
  const other = await w.wf.service.start(w.p.alice!, { processKey: key, formData: {}, draft: true });
  await w.wf.service.deleteDraft(w.p.alice!, other);
  t.is(await w.ta.deps.db.models.WfInstance.count({ where: { id: other } }), 0);
});

test('urge (催办): the initiator reminds the current handlers, at most once in 10 minutes; a record is kept', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id, w.p.carol!.id)], { mode: 'all' })]));
  const id = await w.start('alice', key);
  t.is(await w.wf.service.urge(w.p.alice!, id, '请尽快审批'), 2);
  await t.throwsAsync(w.wf.service.urge(w.p.alice!, id, null), { message: /催办过于频繁/ });
  await t.throwsAsync(w.wf.service.urge(w.p.dave!, id, null), { message: /不存在/ });
  w.ta.clock.advance(10 * 60_000);
  t.is(await w.wf.service.urge(w.p.alice!, id, null), 2);
  t.is((await w.actions(id)).filter((a) => a === 'urge').length, 2);
  const msgs = await w.ta.deps.db.models.Outbox.findAll({ where: { recipient: String(w.p.bob!.id) } });
  t.is(msgs.filter((m) => String((m.payload as { title: string }).title).startsWith('【催办】')).length, 2);
});

test('a handler may put a task aside (suspend) and take it up again; a suspended task cannot be acted on', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const id = await w.start('alice', key);
  const task = await w.taskOf('bob', id);
  await w.wf.service.act(w.p.bob!, task, { action: 'suspend', comment: '等检查结果' });
  await t.throwsAsync(w.wf.service.act(w.p.bob!, task, { action: 'approve' }), { message: /已挂起/ });
  await w.wf.service.act(w.p.bob!, task, { action: 'resume' });
  await w.wf.service.act(w.p.bob!, task, { action: 'approve' });
  t.is(await w.status(id), 'completed');
});

test('an administrator deletes a finished instance with a reason; a running one must be terminated first', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const id = await w.start('alice', key);
  await t.throwsAsync(w.wf.service.deleteFinished(w.admin, id, '测试数据'), { message: /已结束/ });
  await w.approve('bob', id);
  await t.throwsAsync(w.wf.service.deleteFinished(w.p.alice!, id, 'x'), { message: /流程管理员/ });
  await w.wf.service.deleteFinished(w.admin, id, '测试数据');
  t.is(await w.ta.deps.db.models.WfTask.count({ where: { instanceId: id } }), 0);
  const audit = await w.ta.deps.db.models.AuditLog.findOne({ where: { action: 'workflow.instance.delete' } });
  t.regex(audit!.detail!, /测试数据/);
});
