import test from 'ava';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';
import { workflowOf } from '../src/workflow/module.ts';
import type { ProcessDefinition } from '../src/workflow/definition.ts';
import { human, person } from './helpers/workflow.ts';

// Issue 3 item 5 wired to the workflow engine (issue 4, R12.3): with a published `org-transfer`
// process, a new transfer starts an approval instance; its automatic action approves the transfer
// in the engine's unit of work; a direct approval cannot bypass a running or rejected process.

async function signIn(ta: TestApp, username: string): Promise<HttpClient> {
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return c;
}

async function setup(t: Parameters<typeof startTestApp>[0]) {
  const ta = await startTestApp(t);
  const { User } = ta.deps.db.models;
  await ta.createUser({ username: 'org.admin', name: '组织管理员', roles: ['orgadmin'] });
  const admin = await signIn(ta, 'org.admin');
  const mk = async (code: string) => (await admin.post('/api/v1/org/departments', { code, name: `${code}科`, parentId: null, kind: 'clinical' })).body.id as number;
  const A = await mk('A');
  const B = await mk('B');
  const zhang = await ta.createUser({ username: 'zhang', name: '张三' });
  await User.update({ employeeNo: 'E100', deptId: A }, { where: { id: zhang } });
  const hr = await ta.createUser({ username: 'hr.head', name: '人事主任' });
  const wf = workflowOf(ta.deps);
  const def: ProcessDefinition = {
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      human('hr', [person(hr)], { name: '人事审批' }),
      { id: 'apply', name: '批准调动', type: 'action', hook: 'org.transfer.approve' },
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'hr' },
      { id: 'e2', from: 'hr', to: 'apply' },
      { id: 'e3', from: 'apply', to: 'end' },
    ],
  };
  const p = await wf.processes.create({ key: 'org-transfer', name: '人员调动审批', definition: def }, { id: null, name: 'test' });
  await wf.processes.publish(p.id, p.rev, null, { id: null, name: 'test' });
  return { ta, admin, A, B, zhang, hr, wf };
}

test('R12.3 a transfer approved through the org-transfer process moves the person; a direct approval is refused meanwhile', async (t) => {
  const { ta, admin, B, zhang, hr, wf } = await setup(t);
  const created = await admin.post('/api/v1/org/transfers', { person: 'E100', toDeptId: B, effectiveDate: '2026-11-25', reason: '工作需要' });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is(created.body.status, 'draft');
  const instanceId = created.body.workflowInstanceId as number;
  t.truthy(instanceId, 'an approval instance was started');
  const direct = await admin.post(`/api/v1/org/transfers/${created.body.id}/approve`);
  t.is(direct.status, 409);
  t.regex(direct.body.detail, /审批流程/);

  const task = await ta.deps.db.models.WfTask.findOne({ where: { instanceId, status: 'pending' } });
  t.is(task!.assigneeId, hr);
  await wf.service.act({ id: hr, name: '人事主任' }, task!.id, { action: 'approve', comment: '同意' });
  const after = await admin.get(`/api/v1/org/transfers/${created.body.id}`);
  t.is(after.body.status, 'effective', 'approved by the process and effective today');
  t.is((await ta.deps.db.models.User.findByPk(zhang))!.deptId, B);
  t.is((await ta.deps.db.models.WfInstance.findByPk(instanceId))!.status, 'completed');
});

test('R12.3 a transfer rejected in its process stays a draft that can only be cancelled', async (t) => {
  const { ta, admin, B, zhang, hr, wf } = await setup(t);
  const created = await admin.post('/api/v1/org/transfers', { person: 'E100', toDeptId: B, effectiveDate: '2026-11-30', reason: '工作需要' });
  const task = await ta.deps.db.models.WfTask.findOne({ where: { instanceId: created.body.workflowInstanceId, status: 'pending' } });
  await wf.service.act({ id: hr, name: '人事主任' }, task!.id, { action: 'reject', comment: '编制已满' });
  t.is((await admin.post(`/api/v1/org/transfers/${created.body.id}/approve`)).status, 409, 'no bypass of a rejection');
  t.is((await admin.post(`/api/v1/org/transfers/${created.body.id}/cancel`, { reason: '流程驳回' })).body.status, 'cancelled');
  t.not((await ta.deps.db.models.User.findByPk(zhang))!.deptId, B);
});
