import test from 'ava';
import { CRON_JOB, cronFiresAt, checkCron } from '../src/workflow/triggers.ts';
import type { ProcessDefinition } from '../src/workflow/definition.ts';
import { USER_PASSWORD } from './helpers/app.ts';
import { human, linear, person, world } from './helpers/workflow.ts';

// Automatic starts (issue 4 "Automation", R3.8, R3.12): on a cron rule in Beijing time, on a
// business event, and by another system through the API; each fires once however often the job
// runs.

test('cron rules are read in Beijing time', (t) => {
  t.true(cronFiresAt('0 9 1 * *', new Date('2026-12-01T01:00:00Z')), '09:00 Beijing = 01:00 UTC');
  t.false(cronFiresAt('0 9 1 * *', new Date('2026-12-01T09:00:00Z')));
  t.true(cronFiresAt('30 8 * * 1-5', new Date('2026-11-30T00:30:40Z')), 'any second within the minute');
  t.is(checkCron('0 9 1 * *'), null);
  t.regex(checkCron('every day')!, /5 段/);
  t.regex(checkCron('61 9 1 * *')!, /无法解析/);
});

test('R3.12 a cron trigger starts one instance per firing, even when the job runs twice', async (t) => {
  const w = await world(t);
  const def: ProcessDefinition = { ...linear([human('n1', [person(w.p.bob!.id)])]), triggers: [{ kind: 'cron', cron: '0 9 1 * *', initiatorId: w.p.alice!.id, title: '月度安全检查', formData: { kind: 'monthly' } }] };
  const key = await w.publish(def);
  const at = new Date('2026-12-01T01:00:00Z');
  w.ta.clock.set(at);
  await w.ta.deps.jobs.fire(CRON_JOB, at);
  await w.ta.deps.jobs.tick();
  const { WfInstance, Job } = w.ta.deps.db.models;
  const p = await w.wf.processes.byKey(key);
  const made = await WfInstance.findAll({ where: { processId: p.id } });
  t.is(made.length, 1);
  t.is(made[0]!.title, '月度安全检查');
  t.deepEqual(made[0]!.formData, { kind: 'monthly' });
  // the same minute handled again (another server instance, a retry): still one instance
  await Job.create({ kind: CRON_JOB, payload: null, runAt: at, dedupeKey: null, maxAttempts: 1, leaseOwner: null, leaseUntil: null, lastError: null });
  await w.ta.deps.jobs.tick();
  t.is(await WfInstance.count({ where: { processId: p.id } }), 1);
  w.ta.clock.set('2026-12-01T02:00:00Z');
  await w.ta.deps.jobs.fire(CRON_JOB, w.ta.clock.now());
  await w.ta.deps.jobs.tick();
  t.is(await WfInstance.count({ where: { processId: p.id } }), 1, '10:00 is not a firing');
});

test('R3.12 an event trigger starts a process for the person the event is about (new employee)', async (t) => {
  const w = await world(t);
  const { Department } = w.ta.deps.db.models;
  const dept = await Department.create({ code: 'HR', name: '人事科', parentId: null, campusId: null, kind: 'admin' });
  const def: ProcessDefinition = { ...linear([human('n1', [person(w.p.bob!.id)])]), triggers: [{ kind: 'event', event: 'org.person.created', initiator: 'subject', title: '新员工入职手续' }] };
  const key = await w.publish(def);
  const orgAdmin = await w.ta.createUser({ username: 'orgadm', roles: ['orgadmin'] });
  t.truthy(orgAdmin);
  const c = w.ta.client();
  await c.login('orgadm', USER_PASSWORD);
  const r = await c.post('/api/v1/org/people', { employeeNo: 'E900', name: '新同事', deptId: dept.id });
  t.is(r.status, 201, JSON.stringify(r.body));
  await w.ta.deps.jobs.tick();
  const p = await w.wf.processes.byKey(key);
  const inst = await w.ta.deps.db.models.WfInstance.findOne({ where: { processId: p.id } });
  t.truthy(inst);
  t.is(inst!.initiatorId, r.body.id);
  t.deepEqual(await w.pending(inst!.id), ['bob']);
});

test('R3.12 another system starts a process for an employee; the same business key starts it once', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  await w.ta.deps.db.models.User.update({ employeeNo: 'E001' }, { where: { id: w.p.alice!.id } });
  await w.ta.createUser({ username: 'his', name: 'HIS 系统', roles: ['integration'] });
  const sys = w.ta.client();
  await sys.login('his', USER_PASSWORD);
  const body = { processKey: key, initiatorEmployeeNo: 'E001', formData: { from: 'HIS' }, clientKey: 'HIS-ORDER-0001' };
  const a = await sys.post('/api/v1/workflow/instances/external', body);
  t.is(a.status, 201, JSON.stringify(a.body));
  const b = await sys.post('/api/v1/workflow/instances/external', body);
  t.is(b.body.id, a.body.id, 'a retried call does not start a second instance');
  const inst = (await w.ta.deps.db.models.WfInstance.findByPk(a.body.id))!;
  t.is(inst.initiatorId, w.p.alice!.id);
  const submit = await w.ta.deps.db.models.WfHistory.findOne({ where: { instanceId: inst.id, action: 'submit' } });
  t.is((submit!.detail as { via: { name: string } }).via.name, 'HIS 系统');
  const staff = w.ta.client();
  await staff.login('alice', USER_PASSWORD);
  t.is((await staff.post('/api/v1/workflow/instances/external', body)).status, 403);
  t.is((await sys.post('/api/v1/workflow/instances/external', { ...body, initiatorEmployeeNo: 'NOPE', clientKey: 'HIS-ORDER-0002' })).status, 404);
});
