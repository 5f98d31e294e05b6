import type { ExecutionContext } from 'ava';
import { startTestApp, type TestApp } from './app.ts';
import { workflowOf, type Workflow } from '../../src/workflow/module.ts';
import type { AssigneeRule, NodeDef, ProcessDefinition } from '../../src/workflow/definition.ts';
import type { Person, TaskActionInput } from '../../src/workflow/service.ts';

/** A small vocabulary for workflow scenario tests: people, processes, and acting as someone. */

export interface WfWorld {
  ta: TestApp;
  wf: Workflow;
  /** person by short name */
  p: Record<string, Person>;
  admin: Person;
  /** create and publish a process; returns its key */
  publish(def: ProcessDefinition, key?: string): Promise<string>;
  start(who: string, key: string, formData?: Record<string, unknown>, extra?: { chosen?: Record<string, number[]> }): Promise<number>;
  /** the open task of `who` on the instance (throws when there is none or several) */
  taskOf(who: string, instanceId: number, status?: string): Promise<number>;
  act(who: string, instanceId: number, input: TaskActionInput, key?: string): Promise<void>;
  approve(who: string, instanceId: number, comment?: string): Promise<void>;
  status(instanceId: number): Promise<string>;
  /** names of people holding pending tasks, sorted */
  pending(instanceId: number): Promise<string[]>;
  actions(instanceId: number): Promise<string[]>;
}

export const person = (...userIds: number[]): AssigneeRule => ({ kind: 'person', userIds });

export function human(id: string, rules: AssigneeRule[], extra: Partial<Extract<NodeDef, { type: 'approval' }>> = {}): NodeDef {
  return { id, name: extra.name ?? id, type: 'approval', assignees: rules, mode: 'any', onEmpty: 'fail', skipIfInitiator: false, skipIfJustApproved: false, rejectTo: 'end', ...extra } as NodeDef;
}

/** start → n1 → n2 … → end */
export function linear(nodes: NodeDef[]): ProcessDefinition {
  const all: NodeDef[] = [{ id: 'start', name: '发起', type: 'start' }, ...nodes, { id: 'end', name: '结束', type: 'end' }];
  return { nodes: all, edges: all.slice(1).map((n, i) => ({ id: `e${i}`, from: all[i]!.id, to: n.id })) };
}

let seq = 0;

export async function world(t: ExecutionContext, names: string[] = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']): Promise<WfWorld> {
  const ta = await startTestApp(t);
  const wf = workflowOf(ta.deps);
  const p: Record<string, Person> = {};
  for (const n of names) p[n] = { id: await ta.createUser({ username: n, name: n }), name: n };
  const adminId = await ta.createUser({ username: 'wfadmin', name: 'wfadmin', roles: ['processadmin'] });
  const admin: Person = { id: adminId, name: 'wfadmin', admin: true };
  const { WfTask, WfInstance, WfHistory, User } = ta.deps.db.models;
  const nameOf = async (id: number) => (await User.findByPk(id))!.name;
  const w: WfWorld = {
    ta,
    wf,
    p,
    admin,
    async publish(def, key = `p${++seq}`) {
      const proc = await wf.processes.create({ key, name: key, definition: def }, { id: adminId, name: 'wfadmin' });
      await wf.processes.publish(proc.id, proc.rev, null, { id: adminId, name: 'wfadmin' });
      return key;
    },
    start: (who, key, formData = {}, extra = {}) => wf.service.start(p[who]!, { processKey: key, formData, ...extra }),
    async taskOf(who, instanceId, status = 'pending') {
      const rows = await WfTask.findAll({ where: { instanceId, assigneeId: p[who]!.id, status } });
      if (rows.length !== 1) throw new Error(`${who} has ${rows.length} ${status} tasks on instance ${instanceId}`);
      return rows[0]!.id;
    },
    async act(who, instanceId, input, key) {
      await wf.service.act(p[who]!, await w.taskOf(who, instanceId), input, key);
    },
    approve: (who, instanceId, comment) => w.act(who, instanceId, { action: 'approve', ...(comment ? { comment } : {}) }),
    async status(instanceId) {
      return (await WfInstance.findByPk(instanceId))!.status;
    },
    async pending(instanceId) {
      const rows = await WfTask.findAll({ where: { instanceId, status: 'pending' } });
      return (await Promise.all(rows.filter((r) => r.kind !== 'cc').map((r) => nameOf(r.assigneeId)))).sort();
    },
    async actions(instanceId) {
      return (await WfHistory.findAll({ where: { instanceId }, order: [['id', 'ASC']] })).map((h) => h.action);
    },
  };
  return w;
}
