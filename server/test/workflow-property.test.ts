import test from 'ava';
import fc from 'fast-check';
import { Op } from '@oa/db';
import type { ProcessDefinition } from '../src/workflow/definition.ts';
import type { TaskActionInput } from '../src/workflow/service.ts';
import { human, person, world } from './helpers/workflow.ts';

// Issue 4 property test: random legal action sequences on a process with a countersign node, a
// parallel block with a sequential branch, and an any-one node; after every step the invariants
// hold: a running instance always has open work, a finished one has none, history is
// append-only, and no task is completed twice.

const COMPLETING = ['approve', 'reject', 'return', 'transfer', 'read', 'resubmit'];

function shape(ids: Record<string, number>): ProcessDefinition {
  const all = Object.values(ids);
  return {
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      human('cs', [person(ids.bob!, ids.carol!)], { mode: 'all', rejectTo: 'initiator' }),
      { id: 'split', name: '并行', type: 'parallel' },
      human('b1', [person(ids.dave!, ids.erin!)], { mode: 'sequential' }),
      human('b2', [person(ids.frank!)]),
      human('b3', [person(ids.carol!)]),
      { id: 'join', name: '汇聚', type: 'parallel' },
      human('last', [person(...all.slice(1, 4))], { mode: 'any' }),
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'cs' },
      { id: 'e2', from: 'cs', to: 'split' },
      { id: 'x1', from: 'split', to: 'b1' },
      { id: 'x2', from: 'split', to: 'b2' },
      { id: 'e3', from: 'b2', to: 'b3' },
      { id: 'e4', from: 'b1', to: 'join' },
      { id: 'e5', from: 'b3', to: 'join' },
      { id: 'e6', from: 'join', to: 'last' },
      { id: 'e7', from: 'last', to: 'end' },
    ],
  };
}

/** a step: which open task (by index) and which action, parameters chosen from the state */
const stepArb = fc.record({ pick: fc.nat(50), kind: fc.constantFrom('approve', 'approve', 'approve', 'reject', 'return', 'return', 'transfer', 'addSign', 'withdraw'), arg: fc.nat(50) });

test('random legal action sequences keep the engine invariants (fast-check)', async (t) => {
  const w = await world(t);
  const ids = Object.fromEntries(Object.entries(w.p).map(([k, v]) => [k, v.id]));
  const key = await w.publish(shape(ids));
  const { WfTask, WfToken, WfHistory, WfInstance } = w.ta.deps.db.models;
  const people = Object.values(w.p);
  let runs = 0;

  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), async (steps) => {
      runs++;
      const id = await w.start('alice', key, { n: runs });
      let seen: { id: number; action: string; taskId: number | null }[] = [];
      for (const step of steps) {
        const inst = (await WfInstance.findByPk(id))!;
        if (inst.status !== 'running') break;
        const open = await WfTask.findAll({ where: { instanceId: id, status: 'pending', kind: { [Op.ne]: 'cc' } }, order: [['id', 'ASC']] });
        if (!open.length) throw new Error(`running instance ${id} has no pending task: ${(await w.actions(id)).join(' ')}`);
        const task = open[step.pick % open.length]!;
        const who = people.find((p) => p.id === task.assigneeId)!;
        let input: TaskActionInput | 'withdraw' = { action: 'approve' };
        if (task.kind === 'start') input = { action: 'resubmit' };
        else if (step.kind === 'reject') input = { action: 'reject', comment: '否' };
        else if (step.kind === 'return') {
          const targets = await w.wf.service.returnTargetsFor(who, task.id);
          if (targets.length) input = { action: 'return', comment: '退', toNode: targets[step.arg % targets.length]!.nodeId, direct: step.arg % 2 === 0 };
        } else if (step.kind === 'transfer') {
          const to = people[step.arg % people.length]!;
          if (to.id !== who.id) input = { action: 'transfer', toUserId: to.id };
        } else if (step.kind === 'addSign' && task.kind !== 'addsign') {
          const to = people[step.arg % people.length]!;
          const busy = await WfTask.count({ where: { tokenId: task.tokenId, assigneeId: to.id, status: ['pending', 'queued', 'waiting'] } });
          if (to.id !== who.id && !busy) input = { action: 'addSign', userIds: [to.id], mode: (['before', 'after', 'parallel'] as const)[step.arg % 3]! };
        } else if (step.kind === 'withdraw') input = 'withdraw';
        try {
          if (input === 'withdraw') await w.wf.service.withdraw(w.p.alice!, id, null);
          else await w.wf.service.act(who, task.id, input);
        } catch (err) {
          // only refusals are legal outcomes of a legal-looking step; nothing half-done
          if (!(err instanceof Error) || !('status' in err) || ![400, 409].includes((err as { status: number }).status)) throw err;
        }

        // invariants
        const after = (await WfInstance.findByPk(id))!;
        const openNow = await WfTask.findAll({ where: { instanceId: id, status: ['pending', 'queued', 'waiting', 'suspended'], kind: { [Op.ne]: 'cc' } } });
        const live = await WfToken.findAll({ where: { instanceId: id, status: ['active', 'forked', 'joined'] } });
        if (after.status === 'running') {
          if (!openNow.some((x) => x.status === 'pending')) throw new Error(`running instance ${id} has no pending task after ${JSON.stringify(input)}: ${(await w.actions(id)).join(' ')}`);
          for (const tok of live.filter((x) => x.status === 'active')) {
            if (!openNow.some((x) => x.tokenId === tok.id)) throw new Error(`active token ${tok.id} at ${tok.nodeId} holds no open task after ${JSON.stringify(input)}: ${(await w.actions(id)).join(' ')}`);
          }
        } else {
          if (openNow.length) throw new Error(`finished instance ${id} still has ${openNow.length} open tasks`);
          if (live.length) throw new Error(`finished instance ${id} still has live tokens`);
        }
        const hist = (await WfHistory.findAll({ where: { instanceId: id }, order: [['id', 'ASC']], raw: true })).map((h) => ({ id: h.id, action: h.action, taskId: h.taskId }));
        if (JSON.stringify(hist.slice(0, seen.length)) !== JSON.stringify(seen)) throw new Error('history was rewritten');
        seen = hist;
        const completions = new Map<number, number>();
        for (const h of hist) if (h.taskId && COMPLETING.includes(h.action)) completions.set(h.taskId, (completions.get(h.taskId) ?? 0) + 1);
        for (const [taskId, n] of completions) if (n > 1) throw new Error(`task ${taskId} completed ${n} times`);
      }
      return true;
    }),
    { numRuns: 25, seed: 20261125, endOnFailure: true },
  );
  t.true(runs >= 25);
});
