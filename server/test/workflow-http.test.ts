import test from 'ava';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import type { HttpClient } from './helpers/client.ts';
import { human, linear, person } from './helpers/workflow.ts';

// Issue 4 through the HTTP API: designing and publishing (R3.1, R3.7), the catalogue and run
// rights (R3.6), starting, my boxes (R3.5, R20.2), acting with idempotency keys and the 409 for the
// loser of a race, instance visibility (deny by default) and admin monitoring (R3.9).

const W = '/api/v1/workflow';

async function signIn(ta: TestApp, username: string): Promise<HttpClient> {
  const c = ta.client();
  const r = await c.login(username, USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return c;
}

async function setup(t: Parameters<typeof startTestApp>[0]) {
  const ta = await startTestApp(t);
  const ids: Record<string, number> = {};
  for (const n of ['alice', 'bob', 'carol', 'mallory']) ids[n] = await ta.createUser({ username: n, name: n });
  ids.designer = await ta.createUser({ username: 'designer', name: '流程管理员', roles: ['processadmin'] });
  const c: Record<string, HttpClient> = {};
  for (const n of Object.keys(ids)) c[n] = await signIn(ta, n);
  return { ta, ids, c };
}

test('R3.1 publishing refuses a flawed graph with every problem named on its node, and accepts a sound one', async (t) => {
  const { ids, c } = await setup(t);
  const bad = {
    nodes: [
      { id: 'start', name: '发起', type: 'start' },
      { id: 'gw', name: '金额', type: 'exclusive' },
      { id: 'a', name: '科主任', type: 'approval', assignees: [] },
      { id: 'b', name: '院长', type: 'approval', assignees: [{ kind: 'person', userIds: [ids.bob] }] },
      { id: 'orphan', name: '孤立', type: 'approval', assignees: [{ kind: 'person', userIds: [ids.bob] }] },
      { id: 'end', name: '结束', type: 'end' },
    ],
    edges: [
      { id: 'e1', from: 'start', to: 'gw' },
      { id: 'e2', from: 'gw', to: 'a', condition: 'form.amount > 1000' },
      { id: 'e3', from: 'gw', to: 'b', condition: 'form.amount <= 1000' },
      { id: 'e4', from: 'a', to: 'end' },
      { id: 'e5', from: 'b', to: 'end' },
      { id: 'e6', from: 'orphan', to: 'end' },
    ],
  };
  const created = await c.designer!.post(`${W}/processes`, { key: 'expense', name: '报销', definition: bad });
  t.is(created.status, 201, JSON.stringify(created.body));
  const v = await c.designer!.post(`${W}/processes/${created.body.id}/validate`);
  const codes = v.body.issues.map((i: { code: string }) => i.code);
  t.false(v.body.ok);
  t.true(codes.includes('DEFAULT_BRANCH'), 'a condition branch without a default');
  t.true(codes.includes('NO_ASSIGNEE'), 'a node with no possible assignee');
  t.true(codes.includes('UNREACHABLE'), 'an unreachable node');
  const pub = await c.designer!.post(`${W}/processes/${created.body.id}/publish`, { rev: created.body.rev });
  t.is(pub.status, 400);
  t.is(pub.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  t.is(pub.body.code, 'PROCESS_INVALID');
  t.regex(pub.body.detail, /不能发布/);
  t.true(pub.body.errors.some((e: { path: string }) => e.path === 'nodes.orphan'));

  const good = linear([human('n1', [person(ids.bob!)]), human('n2', [person(ids.carol!)])]);
  const patched = await c.designer!.send('PATCH', `${W}/processes/${created.body.id}`, { rev: created.body.rev, definition: good });
  t.is(patched.status, 200);
  const stale = await c.designer!.send('PATCH', `${W}/processes/${created.body.id}`, { rev: created.body.rev, name: '旧' });
  t.is(stale.status, 409);
  const ok = await c.designer!.post(`${W}/processes/${created.body.id}/publish`, { rev: patched.body.rev, note: '首版' });
  t.is(ok.status, 200);
  t.is(ok.body.version, 1);

  const badCond = await c.designer!.post(`${W}/processes`, {
    key: 'cond',
    name: '条件',
    definition: { ...good, nodes: [...good.nodes, { id: 'x', name: 'x', type: 'bogus' }] },
  });
  t.is(badCond.status, 400, 'unknown node types are refused');
  t.regex(badCond.body.detail, /节点类型不支持/);
});

test('R3.6 run rights: the catalogue lists what I may start; a narrowed grant hides it and refuses a start', async (t) => {
  const { ta, ids, c } = await setup(t);
  const p = await c.designer!.post(`${W}/processes`, { key: 'leave', name: '请假', definition: linear([human('n1', [person(ids.bob!)])]) });
  await c.designer!.post(`${W}/processes/${p.body.id}/publish`, { rev: p.body.rev });
  t.true((await c.alice!.get(`${W}/catalogue`)).body.items.some((x: { key: string }) => x.key === 'leave'));
  // secadmin narrows the process to alice only
  const grants = await ta.deps.db.models.AccessGrant.findAll({ where: { resourceType: 'wf_process', resourceId: String(p.body.id) } });
  for (const g of grants) await ta.deps.access.deleteGrant(g.id, { id: null, name: 'test' });
  await ta.deps.access.createGrant({ resourceType: 'wf_process', resourceId: p.body.id, subjectType: 'user', subjectId: ids.alice, action: 'start', effect: 'allow' }, { id: null, name: 'test' });
  t.false((await c.mallory!.get(`${W}/catalogue`)).body.items.some((x: { key: string }) => x.key === 'leave'));
  const refused = await c.mallory!.post(`${W}/instances`, { processKey: 'leave', formData: {} });
  t.is(refused.status, 403);
  t.regex(refused.body.detail, /没有发起“请假”的权限/);
  const started = await c.alice!.post(`${W}/instances`, { processKey: 'leave', formData: { days: 1 } });
  t.is(started.status, 201);
});

test('R3.5 start, boxes and counts, acting, and instance visibility (others get 404)', async (t) => {
  const { ids, c } = await setup(t);
  const p = await c.designer!.post(`${W}/processes`, { key: 'leave', name: '请假', definition: linear([human('n1', [person(ids.bob!)]), human('n2', [person(ids.carol!)])]) });
  await c.designer!.post(`${W}/processes/${p.body.id}/publish`, { rev: p.body.rev });
  const s = await c.alice!.post(`${W}/instances`, { processKey: 'leave', formData: { days: 3 }, urgency: 'urgent' });
  t.is(s.status, 201);
  t.is(s.body.title, 'alice的请假');
  t.deepEqual(s.body.activeNodes, ['n1']);
  const id = s.body.id as number;
  t.is((await c.bob!.get(`${W}/my/counts`)).body.todo, 1);
  const todo = await c.bob!.get(`${W}/my/todo`);
  t.is(todo.body.items[0].instance.urgency, 'urgent');
  const taskId = todo.body.items[0].id as number;
  t.is((await c.mallory!.get(`${W}/instances/${id}`)).status, 404, 'an outsider cannot read the instance');
  t.is((await c.mallory!.post(`${W}/tasks/${taskId}/actions`, { action: 'approve' })).status, 404, 'nor act on its task');
  t.is((await c.bob!.get(`${W}/instances/${id}`)).status, 200, 'the approver can read it');
  const approved = await c.bob!.post(`${W}/tasks/${taskId}/actions`, { action: 'approve', comment: '同意', clientKey: 'approve-0001' });
  t.is(approved.status, 200);
  t.deepEqual(approved.body.activeNodes, ['n2']);
  const again = await c.bob!.post(`${W}/tasks/${taskId}/actions`, { action: 'approve', comment: '同意', clientKey: 'approve-0001' });
  t.is(again.status, 200, 'the same client key is a replay, not an error');
  const late = await c.bob!.post(`${W}/tasks/${taskId}/actions`, { action: 'approve' });
  t.is(late.status, 409);
  t.regex(late.body.detail, /已由bob处理/);
  t.is((await c.bob!.get(`${W}/my/done`)).body.total, 1);
  t.is((await c.alice!.get(`${W}/my/started`)).body.items[0].currentNodes[0], 'n2');
  const bad = await c.carol!.post(`${W}/tasks/${(await c.carol!.get(`${W}/my/todo`)).body.items[0].id}/actions`, { action: 'reject' });
  t.is(bad.status, 400, 'a rejection needs a reason');
  t.regex(bad.body.errors[0].message, /请填写驳回意见|驳回意见/);
});

test('two approvers of an any-one step act at the same moment: one wins, the other gets 409', async (t) => {
  const { ids, c } = await setup(t);
  const p = await c.designer!.post(`${W}/processes`, {
    key: 'race',
    name: '并发',
    definition: linear([human('n1', [person(ids.bob!, ids.carol!)], { mode: 'any' }), human('n2', [person(ids.alice!)])]),
  });
  await c.designer!.post(`${W}/processes/${p.body.id}/publish`, { rev: p.body.rev });
  for (let round = 0; round < 3; round++) {
    const s = await c.mallory!.post(`${W}/instances`, { processKey: 'race', formData: {} });
    const tb = (await c.bob!.get(`${W}/my/todo`)).body.items.find((x: { instance: { id: number } }) => x.instance.id === s.body.id).id;
    const tc = (await c.carol!.get(`${W}/my/todo`)).body.items.find((x: { instance: { id: number } }) => x.instance.id === s.body.id).id;
    const [rb, rc] = await Promise.all([c.bob!.post(`${W}/tasks/${tb}/actions`, { action: 'approve' }), c.carol!.post(`${W}/tasks/${tc}/actions`, { action: 'approve' })]);
    t.deepEqual([rb.status, rc.status].sort(), [200, 409], `round ${round}`);
    const view = await c.mallory!.get(`${W}/instances/${s.body.id}`);
    t.is(view.body.history.filter((h: { action: string }) => h.action === 'approve').length, 1);
    t.is(view.body.tasks.filter((x: { node: { id: string } }) => x.node.id === 'n2').length, 1, 'the next step was created once');
  }
});

test('R3.9 monitoring counts by outcome; interventions need workflow:admin and a reason', async (t) => {
  const { ids, c } = await setup(t);
  const p = await c.designer!.post(`${W}/processes`, { key: 'leave', name: '请假', definition: linear([human('n1', [person(ids.bob!)])]) });
  await c.designer!.post(`${W}/processes/${p.body.id}/publish`, { rev: p.body.rev });
  const a = (await c.alice!.post(`${W}/instances`, { processKey: 'leave', formData: {} })).body.id;
  await c.alice!.post(`${W}/instances`, { processKey: 'leave', formData: {} });
  t.is((await c.alice!.post(`${W}/instances/${a}/terminate`, { reason: 'x' })).status, 403);
  t.is((await c.designer!.post(`${W}/instances/${a}/terminate`, {})).status, 400);
  t.is((await c.designer!.post(`${W}/instances/${a}/terminate`, { reason: '重复申请' })).status, 200);
  const m = await c.designer!.get(`${W}/monitor?q=请假`);
  t.is(m.status, 200);
  t.deepEqual(m.body.byStatus, { running: 1, terminated: 1 });
});

test('BPMN 2.0 interchange: export a process and import it back as a new draft with the same graph', async (t) => {
  const { ids, c } = await setup(t);
  const def = linear([human('n1', [person(ids.bob!)], { mode: 'all', timeLimitHours: 8 }), human('n2', [person(ids.carol!)])]);
  const p = await c.designer!.post(`${W}/processes`, { key: 'leave', name: '请假', definition: def });
  const xml = await c.designer!.get(`${W}/processes/${p.body.id}/bpmn`);
  t.is(xml.status, 200);
  t.regex(xml.headers.get('content-type') ?? '', /xml/);
  t.regex(xml.text, /bpmn:definitions/);
  const imported = await c.designer!.post(`${W}/processes/import-bpmn`, { key: 'leave2', xml: xml.text });
  t.is(imported.status, 201, JSON.stringify(imported.body));
  t.deepEqual(imported.body.process.definition, p.body.definition);
  const bad = await c.designer!.post(`${W}/processes/import-bpmn`, { key: 'leave3', xml: '<!DOCTYPE x [<!ENTITY a "b">]><x/>' });
  t.is(bad.status, 400);
  t.is((await c.alice!.get(`${W}/processes/${p.body.id}/bpmn`)).status, 404, "a person who may not manage the process does not learn it exists");
});

test('R3.6 management rights are separate from run rights: a clerk manages only the processes granted to them', async (t) => {
  const { ta, ids, c } = await setup(t);
  const def = linear([human('n1', [person(ids.bob!)])]);
  const p1 = (await c.designer!.post(`${W}/processes`, { key: 'p1', name: '科室请领', definition: def })).body;
  const p2 = (await c.designer!.post(`${W}/processes`, { key: 'p2', name: '其他流程', definition: def })).body;
  t.is((await c.carol!.get(`${W}/processes/${p1.id}`)).status, 404, 'no right yet');
  const g = await c.designer!.post(`${W}/processes/${p1.id}/grants`, { action: 'manage', subjectType: 'user', subjectId: ids.carol });
  t.is(g.status, 201, JSON.stringify(g.body));
  await ta.deps.access.invalidate();
  t.is((await c.carol!.get(`${W}/processes/${p1.id}`)).status, 200);
  const patched = await c.carol!.send('PATCH', `${W}/processes/${p1.id}`, { rev: p1.rev, name: '科室物资请领' });
  t.is(patched.status, 200);
  t.is((await c.carol!.post(`${W}/processes/${p1.id}/publish`, { rev: patched.body.rev })).status, 200);
  t.is((await c.carol!.get(`${W}/processes/${p2.id}`)).status, 404, 'another process stays hidden');
  t.is((await c.carol!.post(`${W}/processes`, { key: 'p3', name: 'x', definition: def })).status, 403, 'creating processes needs workflow:design');
  t.deepEqual((await c.carol!.get(`${W}/managed-processes`)).body.items.map((x: { key: string }) => x.key), ['p1']);
  // run rights are separate: managing does not remove the default start grant, and a deny works
  const grants = await c.carol!.get(`${W}/processes/${p1.id}/grants`);
  t.true(grants.body.items.some((x: { action: string; subjectType: string }) => x.action === 'start' && x.subjectType === 'everyone'));
  await c.carol!.post(`${W}/processes/${p1.id}/grants`, { action: 'start', effect: 'deny', subjectType: 'user', subjectId: ids.mallory });
  await ta.deps.access.invalidate();
  t.is((await c.mallory!.post(`${W}/instances`, { processKey: 'p1', formData: {} })).status, 403);
  t.is((await c.alice!.post(`${W}/instances`, { processKey: 'p1', formData: {} })).status, 201);
});
