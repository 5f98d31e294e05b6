import type { Actor } from '@oa/db';
import type { AppDeps } from '../deps.ts';
import { FormService } from '../forms/service.ts';
import { LEAVE_FORM, PURCHASE_FORM } from '../forms/fixtures.ts';
import type { NodeDef, ProcessDefinition } from './definition.ts';
import { workflowOf } from './module.ts';

/**
 * Demo processes for the demo hospital (DEMO_DATA=on): a leave request (科主任 → 分管院长 when
 * longer than 3 working days → 人力资源部) and a purchase request (科主任 → 设备科 and 财务部 in
 * parallel → 分管院长), each with its form, so that a fresh `npm start` can be tried end to end.
 */

const step = (id: string, name: string, extra: Partial<Extract<NodeDef, { type: 'approval' }>>): NodeDef =>
  ({ id, name, type: 'approval', assignees: [], mode: 'any', onEmpty: 'skip', skipIfInitiator: true, skipIfJustApproved: true, rejectTo: 'initiator', timeLimitHours: 48, timeout: { remindTimes: 2, remindEveryHours: 24, then: 'none' }, ...extra }) as NodeDef;

async function headsOf(deps: AppDeps, code: string): Promise<number[]> {
  const dept = await deps.db.models.Department.findOne({ where: { code }, attributes: ['id'], raw: true });
  if (!dept) return [];
  const rows = await deps.db.models.DeptLeader.findAll({ where: { deptId: dept.id, kind: 'head' }, attributes: ['userId'], raw: true });
  return rows.map((r) => r.userId);
}

export async function seedDemoProcesses(deps: AppDeps): Promise<string[]> {
  const wf = workflowOf(deps);
  const actor: Actor = { id: null, name: 'system' };
  if (await deps.db.models.WfProcess.count()) return [];
  const forms = new FormService(deps.db, deps.clock);
  for (const [key, schema] of [
    ['leave', LEAVE_FORM],
    ['purchase', PURCHASE_FORM],
  ] as const) {
    const id = await forms.createForm(actor, key, schema);
    await forms.publish(actor, id);
  }
  const hr = await headsOf(deps, 'RLZY');
  const equipment = await headsOf(deps, 'SBK');
  const finance = await headsOf(deps, 'CWB');
  const hrCategory = await wf.processes.createCategory({ name: '人事', color: '#409EFF', sort: 1 }, actor);
  const logistics = await wf.processes.createCategory({ name: '后勤保障', color: '#67C23A', sort: 2 }, actor);

  const leave: ProcessDefinition = {
    formKey: 'leave',
    nodes: [
      { id: 'start', name: '发起', type: 'start', fieldPermissions: { headOpinion: 'readonly' } },
      step('head', '科主任审批', { assignees: [{ kind: 'deptHead', of: 'initiator' }], fieldPermissions: { leaveType: 'readonly', period: 'readonly', reason: 'readonly' }, guidance: '请核对请假天数与科室排班。' }),
      { id: 'long', name: '是否超过 3 天', type: 'exclusive' },
      step('vp', '分管院长审批', { assignees: [{ kind: 'leaderInCharge', of: 'initiator' }], fieldPermissions: { leaveType: 'readonly', period: 'readonly', reason: 'readonly', headOpinion: 'readonly' } }),
      { id: 'merge', name: '汇合', type: 'exclusive' },
      step('hr', '人力资源部备案', { type: 'handle', assignees: [{ kind: 'person', userIds: hr }], fieldPermissions: { headOpinion: 'readonly' } } as never),
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'head' },
      { id: 'e2', from: 'head', to: 'long' },
      { id: 'e3', from: 'long', to: 'vp', name: '超过 3 个工作日', condition: 'form.days > 3' },
      { id: 'e4', from: 'long', to: 'merge', name: '3 天以内', isDefault: true },
      { id: 'e5', from: 'vp', to: 'merge' },
      { id: 'e6', from: 'merge', to: 'hr' },
      { id: 'e7', from: 'hr', to: 'end' },
    ],
  };
  const purchase: ProcessDefinition = {
    formKey: 'purchase',
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      step('head', '科主任审批', { assignees: [{ kind: 'deptHead', of: 'initiator' }] }),
      { id: 'split', name: '会审', type: 'parallel' },
      step('equip', '设备科审核', { assignees: [{ kind: 'person', userIds: equipment }] }),
      step('fin', '财务部审核', { assignees: [{ kind: 'person', userIds: finance }] }),
      { id: 'join', name: '会审完成', type: 'parallel' },
      step('vp', '分管院长审批', { assignees: [{ kind: 'leaderInCharge', of: 'initiator' }] }),
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'head' },
      { id: 'e2', from: 'head', to: 'split' },
      { id: 'b1', from: 'split', to: 'equip' },
      { id: 'b2', from: 'split', to: 'fin' },
      { id: 'e3', from: 'equip', to: 'join' },
      { id: 'e4', from: 'fin', to: 'join' },
      { id: 'e5', from: 'join', to: 'vp' },
      { id: 'e6', from: 'vp', to: 'end' },
    ],
  };
  const made: string[] = [];
  for (const [key, name, categoryId, definition] of [
    ['leave', '请假申请', hrCategory.id, leave],
    ['purchase', '采购申请', logistics.id, purchase],
  ] as const) {
    const p = await wf.processes.create({ key, name, categoryId, definition }, actor);
    await wf.processes.publish(p.id, p.rev, '演示数据', actor);
    made.push(name);
  }
  return made;
}
