import test from 'ava';
import ExcelJS from 'exceljs';
import { markOpened, percentile, WorkflowStats } from '../src/workflow/stats.ts';
import { USER_PASSWORD } from './helpers/app.ts';
import { human, linear, person, world, type WfWorld } from './helpers/workflow.ts';

// Workflow statistics (issue 4 "Queries": R3.9, R3.14, R3.15): efficiency per node (time to open,
// time to act, returns, rejections, add-signs, transfers, urges, timeouts) and instances by outcome,
// checked against a scripted scenario with the clock moved between actions.

const HOUR = 3_600_000;
const W = '/api/v1/workflow';

/**
 * Four instances of n1 (bob) → n2 (carol, 1-hour limit, one reminder), all started at T:
 *   I1: bob opens at +1h, approves at +2h; carol opens at +2.5h, adds erin before at +6h; erin
 *       approves at +7h; reminders at +7.5h; carol approves at +8h → completed (8h)
 *   I2: bob opens at +2h, returns to the initiator at +3h; alice withdraws at +8h → withdrawn (8h)
 *   I3: bob transfers to dave at +4h; dave opens at +5h, approves at +6h; carol reminded at +7.5h;
 *       alice urges at +8h → running
 *   I4: bob rejects at +1h → rejected (1h)
 */
async function scenario(w: WfWorld) {
  const key = await w.publish(
    linear([human('n1', [person(w.p.bob!.id)], { name: '科主任' }), human('n2', [person(w.p.carol!.id)], { name: '院长', timeLimitHours: 1, timeout: { remindTimes: 1, remindEveryHours: 24, then: 'none' } })]),
  );
  const T = w.ta.clock.now().getTime();
  const at = (h: number) => w.ta.clock.set(new Date(T + h * HOUR));
  const open = async (who: string, instanceId: number) => markOpened(w.ta.deps.db, await w.taskOf(who, instanceId), w.p[who]!.id, w.ta.clock.now());
  const [i1, i2, i3, i4] = [await w.start('alice', key), await w.start('alice', key), await w.start('alice', key), await w.start('alice', key)];
  at(1);
  await open('bob', i1);
  await w.act('bob', i4, { action: 'reject', comment: '不同意' });
  at(2);
  await open('bob', i2);
  await w.approve('bob', i1);
  at(2.5);
  await open('carol', i1);
  at(3);
  await w.act('bob', i2, { action: 'return', comment: '请补充', toNode: 'start' });
  at(4);
  await w.act('bob', i3, { action: 'transfer', toUserId: w.p.dave!.id });
  at(5);
  await open('dave', i3);
  at(6);
  await w.approve('dave', i3);
  await w.act('carol', i1, { action: 'addSign', mode: 'before', userIds: [w.p.erin!.id] });
  at(7);
  await w.approve('erin', i1);
  at(7.5);
  await w.ta.deps.jobs.tick();
  at(8);
  await w.approve('carol', i1);
  await w.wf.service.urge(w.p.alice!, i3, '请尽快');
  await w.wf.service.withdraw(w.p.alice!, i2, null);
  const processId = (await w.wf.processes.byKey(key)).id;
  return { key, processId, T, ids: [i1, i2, i3, i4] };
}

test('R3.15 percentiles: median of an even count is the mean of the middle two; p90 by nearest rank', (t) => {
  t.is(percentile([], 0.5), null);
  t.is(percentile([5], 0.9), 5);
  t.is(percentile([1, 2, 3, 4], 0.5), 2.5);
  t.is(percentile([1, 2, 3, 4, 5], 0.5), 3);
  t.is(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  t.is(percentile([1, 2, 3, 4, 5], 0.9), 5);
});

test('R3.15 R3.9 efficiency per node and instances by outcome match a scripted scenario exactly', async (t) => {
  const w = await world(t);
  const { processId, ids } = await scenario(w);
  t.deepEqual(await Promise.all(ids.map((id) => w.status(id))), ['completed', 'withdrawn', 'running', 'rejected']);
  const s = await new WorkflowStats(w.ta.deps.db).nodes(processId);
  t.deepEqual(
    s.nodes.map((n) => n.nodeId),
    ['n1', 'n2'],
    'in the order of the definition',
  );
  const [n1, n2] = s.nodes;
  t.deepEqual(n1, {
    nodeId: 'n1',
    nodeName: '科主任',
    tasks: 5,
    done: 5,
    open: 0,
    timeToOpen: { samples: 3, medianMs: 1 * HOUR, p90Ms: 2 * HOUR },
    timeToAct: { samples: 5, medianMs: 2 * HOUR, p90Ms: 4 * HOUR },
    returns: 1,
    rejections: 1,
    addSigns: 0,
    transfers: 1,
    urges: 0,
    timeouts: 0,
  });
  t.deepEqual(n2, {
    nodeId: 'n2',
    nodeName: '院长',
    tasks: 3,
    done: 2,
    open: 1,
    timeToOpen: { samples: 1, medianMs: 0.5 * HOUR, p90Ms: 0.5 * HOUR },
    timeToAct: { samples: 2, medianMs: 3.5 * HOUR, p90Ms: 6 * HOUR },
    returns: 0,
    rejections: 0,
    addSigns: 1,
    transfers: 0,
    urges: 1,
    timeouts: 2,
  });
  t.deepEqual(s.instances, {
    counts: { running: 1, completed: 1, rejected: 1, withdrawn: 1, terminated: 0 },
    total: 4,
    avgDurationMs: { completed: 8 * HOUR, rejected: 1 * HOUR, withdrawn: 8 * HOUR, terminated: null },
  });
});

test('R3.15 a time range counts only tasks and events inside it; a version filter; unknown version 404', async (t) => {
  const w = await world(t);
  const { processId, T } = await scenario(w);
  const stats = new WorkflowStats(w.ta.deps.db);
  const later = await stats.nodes(processId, { from: new Date(T + 5 * HOUR) });
  const [n1, n2] = later.nodes;
  t.like(n1, { tasks: 0, returns: 0, transfers: 0, rejections: 0 });
  t.like(n2, { tasks: 2, done: 1, open: 1, addSigns: 1, urges: 1, timeouts: 2 });
  t.is(later.instances.total, 0, 'no instance started after +5h');
  const early = await stats.nodes(processId, { to: new Date(T + 3 * HOUR) });
  t.like(early.nodes[0], { tasks: 4, returns: 0, rejections: 1 });
  t.like(early.nodes[1], { tasks: 1, addSigns: 0 });
  t.is(early.instances.total, 4);
  t.is((await stats.nodes(processId, { version: 1 })).nodes[0]!.tasks, 5);
  const err = await t.throwsAsync(stats.nodes(processId, { version: 9 }));
  t.regex(err!.message, /没有第 9 版/);
});

test('R3.15 the task-opened mark is set once, by the holder only', async (t) => {
  const w = await world(t);
  const key = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  const id = await w.start('alice', key);
  const taskId = await w.taskOf('bob', id);
  const bob = w.ta.client();
  await bob.login('bob', USER_PASSWORD);
  const carol = w.ta.client();
  await carol.login('carol', USER_PASSWORD);
  const first = w.ta.clock.now().toISOString();
  t.is((await carol.post(`${W}/tasks/${taskId}/opened`)).status, 404);
  const r1 = await bob.post(`${W}/tasks/${taskId}/opened`);
  t.is(r1.status, 200, JSON.stringify(r1.body));
  t.is(r1.body.openedAt, first);
  w.ta.clock.advance(10 * 60_000);
  const r2 = await bob.post(`${W}/tasks/${taskId}/opened`);
  t.is(r2.status, 200);
  t.is(r2.body.openedAt, first, 'the first opening counts');
  t.is((await bob.post(`${W}/tasks/99999/opened`)).status, 404);
});

test('R3.9 R3.15 HTTP: node table, Excel export, overview by process and outcome; staff get 403', async (t) => {
  const w = await world(t);
  const { processId, key, T } = await scenario(w);
  const other = await w.publish(linear([human('n1', [person(w.p.bob!.id)])]));
  await w.start('alice', other);
  const admin = w.ta.client();
  await admin.login('wfadmin', USER_PASSWORD);
  const staff = w.ta.client();
  await staff.login('bob', USER_PASSWORD);

  t.is((await staff.get(`${W}/stats/processes/${processId}/nodes`)).status, 403);
  t.is((await staff.get(`${W}/stats/overview`)).status, 403);
  t.is((await staff.get(`${W}/stats/processes/${processId}/nodes.xlsx`)).status, 403);

  const nodes = await admin.get(`${W}/stats/processes/${processId}/nodes?from=${new Date(T).toISOString()}`);
  t.is(nodes.status, 200, JSON.stringify(nodes.body));
  t.like(nodes.body.nodes[0], { nodeId: 'n1', tasks: 5, returns: 1, transfers: 1, timeToAct: { medianMs: 2 * HOUR } });
  const bad = await admin.get(`${W}/stats/processes/${processId}/nodes?from=2026-12-01&to=2026-11-01`);
  t.is(bad.status, 400);
  t.regex(bad.body.detail, /结束时间必须晚于开始时间/);
  t.is((await admin.get(`${W}/stats/processes/${processId}/nodes?from=yesterday`)).status, 400);
  t.is((await admin.get(`${W}/stats/processes/99999/nodes`)).status, 404);

  const xlsx = await admin.get(`${W}/stats/processes/${processId}/nodes.xlsx`);
  t.is(xlsx.status, 200);
  t.regex(xlsx.headers.get('content-type') ?? '', /spreadsheetml/);
  t.regex(decodeURIComponent(xlsx.headers.get('content-disposition') ?? ''), new RegExp(`${key}-节点效率`));
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx.bytes as unknown as ArrayBuffer);
  const ws = wb.getWorksheet('节点效率')!;
  t.deepEqual((ws.getRow(2).values as unknown[]).slice(1), ['科主任', 5, 5, 0, 1, 2, 2, 4, 1, 1, 0, 1, 0, 0]);
  t.deepEqual((ws.getRow(3).values as unknown[]).slice(1), ['院长', 3, 2, 1, 0.5, 0.5, 3.5, 6, 0, 0, 1, 0, 1, 2]);
  t.is(await w.ta.deps.db.models.AuditLog.count({ where: { action: 'workflow.stats.export' } }), 1, 'who took the table is recorded');

  const overview = await admin.get(`${W}/stats/overview`);
  t.is(overview.status, 200);
  t.deepEqual(
    overview.body.items.map((i: { process: { key: string }; total: number; counts: Record<string, number> }) => [i.process.key, i.total, i.counts.running]),
    [
      [key, 4, 1],
      [other, 1, 1],
    ],
  );
  t.like(overview.body.totals, { total: 5, counts: { running: 2, completed: 1, rejected: 1, withdrawn: 1, terminated: 0 }, avgDurationMs: { completed: 8 * HOUR, rejected: HOUR } });
  const late = await admin.get(`${W}/stats/overview?from=${new Date(T + HOUR).toISOString()}`);
  t.deepEqual(
    late.body.items.map((i: { process: { key: string } }) => i.process.key),
    [other],
    'only the instance started at +8h',
  );
});
