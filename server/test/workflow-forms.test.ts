import test from 'ava';
import { FormService } from '../src/forms/service.ts';
import { LEAVE_FORM } from '../src/forms/fixtures.ts';
import type { ProcessDefinition } from '../src/workflow/definition.ts';
import { human, linear, person, world } from './helpers/workflow.ts';
import { startTestApp } from './helpers/app.ts';
import { bootstrap } from '../src/bootstrap.ts';
import { workflowOf } from '../src/workflow/module.ts';

// Forms plugged into the engine (issue 4 + issue 5, R3.4, R16.1, R16.5): the instance pins the
// published form version, every write is validated on the server with the acting node's field
// permissions, and hidden fields never reach a person who may not see them.

async function leaveWorld(t: Parameters<typeof world>[0]) {
  const w = await world(t);
  const forms = new FormService(w.ta.deps.db, w.ta.clock);
  const actor = { id: w.admin.id, name: 'wfadmin' };
  const formId = await forms.createForm(actor, 'leave', LEAVE_FORM);
  await forms.publish(actor, formId);
  const def: ProcessDefinition = {
    ...linear([
      human('head', [person(w.p.bob!.id)], { fieldPermissions: { reason: 'readonly', proof: 'hidden', leaveType: 'readonly', period: 'readonly' } }),
      human('hr', [person(w.p.carol!.id)], { fieldPermissions: { headOpinion: 'readonly', reason: 'hidden' } }),
    ]),
    formKey: 'leave',
  };
  def.nodes[0] = { id: 'start', name: '发起', type: 'start', fieldPermissions: { headOpinion: 'readonly' } };
  const key = await w.publish(def);
  return { w, forms, formId, key, actor };
}

const good = { leaveType: 'personal', period: { start: '2026-12-01', end: '2026-12-02' }, reason: '家中有事' };

test('R16.3 a start with bad form data is refused with field paths; a good one is stored normalised', async (t) => {
  const { w, key } = await leaveWorld(t);
  const bad = await t.throwsAsync(w.start('alice', key, { leaveType: 'vacation', period: { start: '2026-12-01', end: '2026-12-02' } }));
  const errors = (bad as unknown as { errors: { path: string }[] }).errors.map((e) => e.path);
  t.true(errors.includes('formData.leaveType'), 'an option outside the list');
  t.true(errors.includes('formData.reason'), 'a required field');
  t.is(await w.ta.deps.db.models.WfInstance.count(), 0, 'nothing started');
  const readonlyWrite = await t.throwsAsync(w.start('alice', key, { ...good, headOpinion: '我自己批了' }));
  t.regex(readonlyWrite!.message, /表单填写有误/);

  const id = await w.start('alice', key, { ...good, period: { start: '2026年12月1日', end: '２０２６/12/02' } });
  const inst = (await w.ta.deps.db.models.WfInstance.findByPk(id))!;
  t.deepEqual((inst.formData as { period: unknown }).period, { start: '2026-12-01', end: '2026-12-02' }, 'three date formats and full-width digits normalised');
  t.is((inst.formData as { days: number }).days, 2, 'the computed field is filled by the server');
  t.is((inst.formData as { applicant: number }).applicant, w.p.alice!.id, 'a default from the current user');
  t.truthy(inst.formVersionId);
});

test('R16.1 per-node permissions: read-only fields cannot change at a node, hidden ones are not shown', async (t) => {
  const { w, key } = await leaveWorld(t);
  const id = await w.start('alice', key, { ...good, proof: [] });
  const task = await w.taskOf('bob', id);
  const changed = await t.throwsAsync(w.wf.service.act(w.p.bob!, task, { action: 'approve', formData: { reason: '改了事由' } }));
  t.regex(changed!.message, /表单填写有误/);
  await w.wf.service.act(w.p.bob!, task, { action: 'approve', formData: { headOpinion: '同意' } });
  const inst = (await w.ta.deps.db.models.WfInstance.findByPk(id))!;
  t.is((inst.formData as { headOpinion: string }).headOpinion, '同意');

  const asBob = await w.wf.queries.instance(id, { id: w.p.bob!.id, admin: false });
  t.false('proof' in asBob.formData, 'hidden at the head node');
  t.true('reason' in asBob.formData);
  const asCarol = await w.wf.queries.instance(id, { id: w.p.carol!.id, admin: false });
  t.false('reason' in asCarol.formData, 'hidden at the HR node');
  t.is((asCarol.formData as { headOpinion: string }).headOpinion, '同意');
});

test('R16.5 running instances keep the form version they started with', async (t) => {
  const { w, key, forms, formId, actor } = await leaveWorld(t);
  const id = await w.start('alice', key, good);
  const v1 = (await w.ta.deps.db.models.WfInstance.findByPk(id))!.formVersionId;
  const def = await w.ta.deps.db.models.FormDef.findByPk(formId);
  const stricter = { ...LEAVE_FORM, fields: LEAVE_FORM.fields.map((f) => (f.key === 'headOpinion' ? { ...f, required: true } : f)) };
  await forms.updateDraft(actor, formId, stricter, def!.rev);
  await forms.publish(actor, formId);
  // the old instance still validates against v1, where the head's opinion was optional
  await w.wf.service.act(w.p.bob!, await w.taskOf('bob', id), { action: 'approve', formData: {} });
  t.is((await w.ta.deps.db.models.WfInstance.findByPk(id))!.formVersionId, v1);
  const fresh = await w.start('alice', key, good).catch((e: Error) => e);
  t.true(fresh instanceof Error && /表单填写有误/.test(fresh.message), 'a new instance follows v2');
});

test('the demo hospital comes with a leave process: a clinician asks for 5 days: the department head, then the deputy president in charge', async (t) => {
  const ta = await startTestApp(t);
  await bootstrap(ta.deps, { demo: true });
  const wf = workflowOf(ta.deps);
  const { User, Department, DeptLeader } = ta.deps.db.models;
  const dept = (await Department.findOne({ where: { code: 'YX-YTYS' } }))!;
  const heads = (await DeptLeader.findAll({ where: { deptId: dept.id, kind: 'head' } })).map((h) => h.userId);
  const clinician = (await User.findAll({ where: { deptId: dept.id } })).find((u) => !heads.includes(u.id))!;
  ta.clock.set('2026-11-25T02:00:00Z');
  const id = await wf.service.start({ id: clinician.id, name: clinician.name }, { processKey: 'leave', formData: { leaveType: 'personal', period: { start: '2026-12-01', end: '2026-12-07' }, reason: '家中有事' } });
  const open = async () => (await ta.deps.db.models.WfTask.findAll({ where: { instanceId: id, status: 'pending' } })).map((x) => x.assigneeId);
  t.deepEqual(await open(), heads);
  await wf.service.act({ id: heads[0]!, name: 'head' }, (await ta.deps.db.models.WfTask.findOne({ where: { instanceId: id, status: 'pending' } }))!.id, { action: 'approve', formData: { headOpinion: '同意' } });
  const view = await wf.queries.instance(id, { id: clinician.id, admin: false });
  t.deepEqual(view.currentNodes, ['分管院长审批'], '5 working days > 3: the deputy president');
});
