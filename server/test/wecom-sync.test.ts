import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { fn, col, Op } from '@oa/db';
import { parseEvent, startFakeWecom, WecomClient, type ContactEvent, type FakeWecom } from '@oa/wecom';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import { applyContactEvent, fullSync, type ContactEventOptions, type ContactEventResult, type SyncReport } from '../src/wecom/sync.ts';

// WeCom contact sync (issue 6 item 5, P4 3,000+ users, R12.0) against the fake WeCom (SPEC.md §7, §10).

const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ACTOR = { id: null, name: 'test' };

async function fakeWecom(t: ExecutionContext, people: number): Promise<FakeWecom> {
  // legacy apps (created before 2022-06-20) still receive mobiles from user/list (SPEC.md §7.2)
  const fake = await startFakeWecom({
    people,
    apps: [
      { agentId: 1000002, secret: 'fake-app-secret', name: '协同办公', legacy: true },
      { secret: 'fake-contact-secret', name: '通讯录同步', contactSync: true, legacy: true },
    ],
  });
  t.teardown(() => fake.close());
  return fake;
}

function wecomEnv(fake: FakeWecom): Record<string, string> {
  return {
    WECOM_CORP_ID: fake.corpId,
    WECOM_AGENT_ID: String(fake.app.agentId),
    WECOM_SECRET: fake.app.secret,
    WECOM_TOKEN: fake.app.token,
    WECOM_AES_KEY: AES_KEY,
    WECOM_CONTACT_SECRET: fake.contactApp!.secret,
    WECOM_API_BASE: fake.url,
  };
}

async function setup(t: ExecutionContext, people: number): Promise<{ fake: FakeWecom; ta: TestApp }> {
  const fake = await fakeWecom(t, people);
  const ta = await startTestApp(t, wecomEnv(fake));
  return { fake, ta };
}

const syncDeps = (ta: TestApp, client?: WecomClient) => ({ db: ta.deps.db, clock: ta.deps.clock, config: ta.deps.config, sessions: ta.deps.sessions, ...(client ? { client } : {}) });

/** Users and their versions: a run that changes nothing leaves this identical. */
async function orgState(ta: TestApp) {
  const { User, Department, UserDept, WecomDeptMap } = ta.deps.db.models;
  const users = await User.findAll({ attributes: ['id', 'employeeNo', 'name', 'deptId', 'mobile', 'wecomUserId', 'status', 'version'], order: [['id', 'ASC']], raw: true });
  const depts = await Department.findAll({ attributes: ['id', 'code', 'name', 'parentId', 'path'], order: [['id', 'ASC']], raw: true });
  return { users, depts, links: await UserDept.count(), maps: await WecomDeptMap.count() };
}

/** A signed-in 组织人事管理员 (org:manage). */
async function orgAdmin(ta: TestApp) {
  if (!(await ta.deps.db.models.User.findOne({ where: { username: 'org.admin' } }))) {
    await ta.createUser({ username: 'org.admin', name: '组织管理员', roles: ['orgadmin'] });
  }
  const c = ta.client();
  const r = await c.login('org.admin', USER_PASSWORD);
  if (r.status !== 200) throw new Error(`login: ${r.status}`);
  return c;
}

async function runViaHttp(ta: TestApp, body: unknown = {}): Promise<{ id: number; report: SyncReport; status: string }> {
  const admin = await orgAdmin(ta);
  const started = await admin.post('/api/v1/wecom/sync', body);
  if (started.status !== 202) throw new Error(`start: ${started.status} ${started.text}`);
  await ta.deps.jobs.tick();
  const r = await admin.get(`/api/v1/wecom/sync/${started.body.id}`);
  return r.body;
}

test('issue 6 item 5 (P4, R12.0): full sync of 3,000 WeCom people over HTTP, then a second run changes nothing', async (t) => {
  const { fake, ta } = await setup(t, 3000);
  const first = await runViaHttp(ta);
  t.is(first.status, 'done');
  const rep = first.report;
  t.is(rep.wecom.people, 3000);
  t.is(rep.people.created, 3000);
  t.is(rep.departments.created, fake.directory.departments.size);
  t.is(rep.conflictCount, 0);
  t.is(rep.missingCount, 0);
  // department/list once, user/list once per department, one token
  t.is(rep.callsByPath['/cgi-bin/department/list'], 1);
  t.is(rep.callsByPath['/cgi-bin/user/list'], fake.directory.departments.size);
  t.true(rep.apiCalls <= fake.directory.departments.size + 2, `${rep.apiCalls} calls`);

  const { User, UserRole, Role, WecomDeptMap } = ta.deps.db.models;
  const p = await User.findOne({ where: { employeeNo: '10001' } });
  const src = fake.directory.getUser('10001')!;
  t.is(p!.wecomUserId, '10001');
  t.is(p!.name, src.name);
  t.is(p!.mobile, src.mobile);
  t.is(p!.passwordHash, null, 'people from WeCom sign in through WeCom');
  const map = await WecomDeptMap.findByPk(src.main_department);
  t.is(p!.deptId, map!.deptId);
  const staff = await Role.findOne({ where: { code: 'staff' } });
  t.is(await UserRole.count({ where: { roleId: staff!.id } }), 3000);

  const before = await orgState(ta);
  const orgAudits = () => ta.deps.db.models.AuditLog.count({ where: { action: { [Op.like]: 'org.%' } } });
  const audits = await orgAudits();
  const second = await runViaHttp(ta);
  t.is(second.status, 'done');
  t.is(second.report.changes, 0);
  t.is(second.report.people.unchanged, 3000);
  t.is(second.report.departments.unchanged, fake.directory.departments.size);
  t.deepEqual(await orgState(ta), before);
  // no organisation audit rows, only the run's own
  t.is(await orgAudits(), audits);
  t.is(await ta.deps.db.models.AuditLog.count({ where: { action: 'wecom.sync.full' } }), 2);

  const admin = await orgAdmin(ta);
  const history = await admin.get('/api/v1/wecom/sync?kind=full');
  t.is(history.status, 200);
  t.is(history.body.total, 2);
  t.is(history.body.items[0].id, second.id);
  t.is(history.body.items[0].report, undefined);
});

test('issue 6 item 5 (P4): conflicts are reported, not guessed: shared mobiles, an employee number bound to another WeCom account', async (t) => {
  const { fake, ta } = await setup(t, 40);
  const { User } = ta.deps.db.models;
  // two WeCom members with the same mobile
  const shared = fake.directory.getUser('10001')!.mobile;
  fake.directory.updateUser('10002', { mobile: shared });
  // a local person (not in WeCom) holding 10003's mobile
  const outsiderId = await ta.createUser({ username: 'outsider', name: '院外顾问' });
  await User.update({ mobile: fake.directory.getUser('10003')!.mobile }, { where: { id: outsiderId } });
  // employee number 10005 already bound to another WeCom account
  const boundId = await ta.createUser({ username: 'bound10005', name: '旧账号' });
  await User.update({ employeeNo: '10005', wecomUserId: 'old-10005' }, { where: { id: boundId } });

  const rep = await fullSync(syncDeps(ta), ACTOR);
  const codes = (code: string) => rep.conflicts.filter((c) => c.code === code);
  t.deepEqual(codes('mobile_duplicate_in_wecom').map((c) => c.userid).sort(), ['10001', '10002']);
  t.deepEqual(codes('mobile_taken').map((c) => [c.userid, c.personId]), [['10003', outsiderId]]);
  t.deepEqual(codes('employee_no_bound').map((c) => [c.userid, c.personId]), [['10005', boundId]]);
  for (const c of rep.conflicts) t.regex(c.message, /[\u4e00-\u9fa5]/, 'Chinese message');
  // the people were still created, without the disputed mobiles
  t.is((await User.findOne({ where: { wecomUserId: '10001' } }))!.mobile, null);
  t.is((await User.findOne({ where: { wecomUserId: '10002' } }))!.mobile, null);
  t.is((await User.findOne({ where: { wecomUserId: '10003' } }))!.mobile, null);
  t.is((await User.findByPk(outsiderId))!.mobile, fake.directory.getUser('10003')!.mobile);
  // the bound person is untouched and no second 10005 appeared
  const bound = await User.findByPk(boundId);
  t.is(bound!.wecomUserId, 'old-10005');
  t.is(bound!.name, '旧账号');
  t.is(await User.count({ where: { employeeNo: '10005' } }), 1);
  t.is(rep.people.created, 39);
  // the person bound to a WeCom account WeCom no longer has: reported, kept active
  t.deepEqual(rep.missing.map((m) => [m.code, m.personId]), [['missing_in_wecom', boundId]]);
  t.is(bound!.status, 'active');

  // the report is stored for admins with the run; a second run finds the same conflicts and changes nothing
  const again = await fullSync(syncDeps(ta), ACTOR);
  t.is(again.changes, 0);
  t.is(again.conflictCount, rep.conflictCount);
});

/** A callback sink standing in for the WeCom callback route: decrypt, then applyContactEvent. */
async function contactSink(t: ExecutionContext, fake: FakeWecom, ta: TestApp, opts: ContactEventOptions = {}) {
  const results: ContactEventResult[] = [];
  const cfg = { token: fake.app.token, encodingAesKey: AES_KEY, corpId: fake.corpId };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const query = Object.fromEntries(new URL(req.url!, 'http://x').searchParams);
          const parsed = parseEvent(query, Buffer.concat(chunks), cfg);
          results.push(await applyContactEvent(syncDeps(ta), parsed.event as ContactEvent, { ...opts, dedupeKey: parsed.dedupeKey }));
          res.writeHead(200).end('success');
        } catch (err) {
          res.writeHead(500).end(String(err));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  fake.setCallbackUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`);
  return results;
}

test('issue 6 item 5 (P4): change_contact events (create, move, delete, new department) apply once, also when replayed', async (t) => {
  const { fake, ta } = await setup(t, 40);
  await fullSync(syncDeps(ta), ACTOR);
  const results = await contactSink(t, fake, ta);
  const { User, WecomDeptMap, Department, WecomSyncRun } = ta.deps.db.models;
  const localDept = async (wecomId: number) => (await WecomDeptMap.findByPk(wecomId))?.deptId;

  const deliveries = [];
  deliveries.push(await fake.changeContact({ changeType: 'create_party', department: { id: 100, name: '数字化口腔中心', parentid: 2 } }));
  deliveries.push(
    await fake.changeContact({
      changeType: 'create_user',
      user: { userid: '20001', name: '新同事', department: [100], main_department: 100, mobile: '13700000001', extattr: { attrs: [{ type: 0, name: '工号', text: { value: '20001' } }] } },
    }),
  );
  deliveries.push(await fake.changeContact({ changeType: 'update_user', userid: '10001', patch: { department: [11], main_department: 11 }, mode: 'minimal' }));
  deliveries.push(await fake.changeContact({ changeType: 'delete_user', userid: '10002' }));
  for (const d of deliveries) t.is(d.status, 200, d.responseBody);
  t.deepEqual(
    results.map((r) => [r.replay, r.report?.event]),
    [
      [false, 'create_party'],
      [false, 'create_user'],
      [false, 'update_user'],
      [false, 'delete_user'],
    ],
  );

  const dept100 = await localDept(100);
  t.truthy(dept100);
  const d100 = await Department.findByPk(dept100!);
  t.is(d100!.name, '数字化口腔中心');
  t.is(d100!.parentId, (await localDept(2))!);
  t.true(d100!.path.endsWith(`/${dept100}/`));
  const newcomer = await User.findOne({ where: { wecomUserId: '20001' } });
  t.is(newcomer!.employeeNo, '20001');
  t.is(newcomer!.deptId, dept100!);
  t.is(newcomer!.mobile, '13700000001');
  t.is((await User.findOne({ where: { wecomUserId: '10001' } }))!.deptId, (await localDept(11))!);
  const deleted = await User.findOne({ where: { wecomUserId: '10002' } });
  t.is(deleted!.status, 'active', 'delete_user is reported, not applied by default');
  t.is(results[3]!.report!.missing[0]!.code, 'deleted_in_wecom');

  // WeCom retries / replays: acted on once
  const state = await orgState(ta);
  const runs = await WecomSyncRun.count();
  const audits = await ta.deps.db.models.AuditLog.count();
  for (const d of deliveries) t.is((await fake.replay(d)).status, 200);
  t.deepEqual(
    results.slice(4).map((r) => r.replay),
    [true, true, true, true],
  );
  t.deepEqual(await orgState(ta), state);
  t.is(await WecomSyncRun.count(), runs);
  t.is(await ta.deps.db.models.AuditLog.count(), audits);

  // the same state arriving as a new event (another dedupe key) changes nothing either
  const same = await applyContactEvent(syncDeps(ta), parsedUpdate('10001'), { dedupeKey: 'evt:manual-1' });
  t.is(same.replay, false);
  t.is(same.report!.changes, 0);
  t.deepEqual(await orgState(ta), state);
  // and a full sync afterwards agrees with the events (10002 is now missing from WeCom: reported)
  const full = await fullSync(syncDeps(ta), ACTOR);
  t.is(full.changes, 0);
  t.deepEqual(full.missing.map((m) => m.userid), ['10002']);
});

function parsedUpdate(userid: string): ContactEvent {
  return { kind: 'change_contact', changeType: 'update_user', toUserName: 'x', fromUserName: 'sys', createTime: 0, raw: {}, user: { userId: userid } };
}

test('issue 6 item 5 (P4): delete_user disables only when configured, handing work to the successor rule', async (t) => {
  const { fake, ta } = await setup(t, 40);
  await fullSync(syncDeps(ta), ACTOR);
  const results = await contactSink(t, fake, ta, { disableMissing: true, successor: { rule: 'person', employeeNo: '10001' } });
  await fake.changeContact({ changeType: 'delete_user', userid: '10003' });
  const { User } = ta.deps.db.models;
  const gone = await User.findOne({ where: { wecomUserId: '10003' } });
  const successor = await User.findOne({ where: { wecomUserId: '10001' } });
  t.is(gone!.status, 'disabled');
  t.is(gone!.successorId, successor!.id);
  t.is(results[0]!.report!.people.disabled, 1);
  // never deleted: the record and its history stay
  t.is(await User.count({ where: { employeeNo: '10003' } }), 1);
  const audit = await ta.deps.db.models.AuditLog.findOne({ where: { action: 'org.person.disable', objectId: gone!.id } });
  t.truthy(audit);
});

test('issue 6 item 5 (P4): a token revoked mid-sync is refreshed and the sync completes', async (t) => {
  const fake = await fakeWecom(t, 600);
  const ta = await startTestApp(t, wecomEnv(fake));
  let calls = 0;
  const client = new WecomClient({
    corpId: fake.corpId,
    secret: fake.contactApp!.secret,
    apiBase: fake.url,
    fetch: (input, init) => {
      if (++calls === 10) fake.revokeTokens();
      return fetch(input, init);
    },
  });
  const rep = await fullSync(syncDeps(ta, client), ACTOR);
  t.is(rep.people.created, 600);
  t.true(client.stats.tokenFetches >= 2, 'a new token was fetched');
  t.true(client.stats.retries >= 1);
  const max = await ta.deps.db.models.User.findOne({ attributes: [[fn('count', col('wecom_user_id')), 'n']], raw: true });
  t.is(Number((max as unknown as { n: number }).n), 600);
});

test('issue 6 item 5: with WeCom off the sync answers 409 in Chinese; the routes need org:manage', async (t) => {
  const ta = await startTestApp(t);
  const admin = await orgAdmin(ta);
  const r = await admin.post('/api/v1/wecom/sync', {});
  t.is(r.status, 409);
  t.regex(r.body.detail, /企业微信未启用/);
  const history = await admin.get('/api/v1/wecom/sync');
  t.is(history.status, 200);
  t.is(history.body.total, 0);
  t.is((await admin.get('/api/v1/wecom/sync/99')).status, 404);
  await ta.createUser({ username: 'nurse', roles: ['staff'] });
  const staff = ta.client();
  await staff.login('nurse', USER_PASSWORD);
  t.is((await staff.post('/api/v1/wecom/sync', {})).status, 403);
});
