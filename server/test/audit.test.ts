import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditStandalone, inUnitOfWork, verifyAuditChain, type Database } from '@oa/db';
import { startTestApp, USER_PASSWORD, type TestApp } from './helpers/app.ts';
import { readAnchors, writeAnchor } from '../src/audit/anchors.ts';

// R18 operation log: every audited action joins an HMAC hash chain; altering, removing or cutting
// off rows is detected and the first bad row is named, on the server and by `npm run audit:verify`.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Sign-ins, a password change, a settings change and a sign-out: a realistic morning. */
async function busyMorning(ta: TestApp) {
  const admin = await ta.admin(); // auth.login + auth.password_change
  await ta.createUser({ username: 'nurse.li' });
  const nurse = ta.client();
  if ((await nurse.login('nurse.li', USER_PASSWORD)).status !== 200) throw new Error('login failed');
  const put = await admin.put('/api/v1/system/settings/upload', { maxUploadMb: 20 });
  if (put.status !== 200) throw new Error(`settings change failed: ${put.status}`);
  if ((await nurse.post('/api/v1/auth/logout')).status !== 204) throw new Error('logout failed');
  return { admin };
}

async function rawExec(db: Database, sql: string, replacements: unknown[]) {
  await db.sequelize.query(sql, { replacements });
}

async function lastSeq(db: Database): Promise<number> {
  return Number(await db.models.AuditLog.max('seq'));
}

async function seqOf(db: Database, action: string): Promise<number> {
  const row = await db.models.AuditLog.findOne({ where: { action }, raw: true });
  return Number(row!.seq);
}

/** `npm run audit:verify` against the test app's database, as an operator would run it. */
function runAuditVerify(ta: TestApp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'server/src/cli/audit-verify.ts'],
      { cwd: REPO, env: { PATH: process.env.PATH ?? '', DATA_DIR: ta.tdb.dataDir, DB_URL: ta.tdb.url }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

test('audited actions over HTTP form a chain that verifies, on the server and via the API', async (t) => {
  const ta = await startTestApp(t);
  const { admin } = await busyMorning(ta);
  const { AuditLog, AuditHead } = ta.deps.db.models;
  const actions = (await AuditLog.findAll({ order: [['seq', 'ASC']], raw: true })).map((r) => r.action);
  for (const a of ['system.bootstrap', 'auth.login', 'auth.password_change', 'settings.update', 'auth.logout']) {
    t.true(actions.includes(a), `${a} is audited`);
  }
  const report = await verifyAuditChain(ta.deps.db);
  t.deepEqual(report, { ok: true, checked: actions.length });
  t.is(Number((await AuditHead.findByPk(1, { raw: true }))!.seq), actions.length);

  const viaApi = await admin.post('/api/v1/audit/verify');
  t.is(viaApi.status, 200);
  t.true(viaApi.body.ok);
  t.is(viaApi.body.checked, actions.length);
});

test('altering one row is detected and that row is named', async (t) => {
  const ta = await startTestApp(t);
  const { admin } = await busyMorning(ta);
  const db = ta.deps.db;
  const seq = await seqOf(db, 'settings.update');
  t.true(seq > 1 && seq < (await lastSeq(db)), 'a row in the middle of the chain');
  // Someone with database access makes the upload limit change look smaller.
  await rawExec(db, 'UPDATE audit_log SET detail = ? WHERE seq = ?', [JSON.stringify({ before: { maxUploadMb: 50 }, after: { maxUploadMb: 2 } }), seq]);
  const r = await verifyAuditChain(db);
  t.false(r.ok);
  t.is(r.firstBad!.seq, seq);
  t.regex(r.firstBad!.reason, /篡改/);
  t.is(r.checked, seq - 1, 'the rows before it are intact');
  const viaApi = await admin.post('/api/v1/audit/verify');
  t.false(viaApi.body.ok);
  t.is(viaApi.body.firstBad.seq, seq);

  // Any stored field counts, not just the detail: here the actor.
  const ta2 = await startTestApp(t);
  await busyMorning(ta2);
  const loginSeq = await seqOf(ta2.deps.db, 'auth.logout');
  await rawExec(ta2.deps.db, 'UPDATE audit_log SET actor_name = ? WHERE seq = ?', ['someone.else', loginSeq]);
  t.is((await verifyAuditChain(ta2.deps.db)).firstBad?.seq, loginSeq);
});

test('deleting the last row is detected as truncation', async (t) => {
  const ta = await startTestApp(t);
  await busyMorning(ta);
  const db = ta.deps.db;
  const last = await lastSeq(db);
  await rawExec(db, 'DELETE FROM audit_log WHERE seq = ?', [last]);
  const r = await verifyAuditChain(db);
  t.false(r.ok);
  t.is(r.firstBad!.seq, last);
  t.regex(r.firstBad!.reason, /截断/);
  t.is(r.checked, last - 1);

  // A head that does not match the last row is named too.
  const ta2 = await startTestApp(t);
  await busyMorning(ta2);
  const last2 = await lastSeq(ta2.deps.db);
  await rawExec(ta2.deps.db, 'UPDATE audit_head SET hash = ? WHERE id = 1', ['f'.repeat(64)]);
  const r2 = await verifyAuditChain(ta2.deps.db);
  t.false(r2.ok);
  t.is(r2.firstBad!.seq, last2);
});

test('deleting a row in the middle is detected and the gap is named', async (t) => {
  const ta = await startTestApp(t);
  await busyMorning(ta);
  const db = ta.deps.db;
  const seq = await seqOf(db, 'settings.update');
  await rawExec(db, 'DELETE FROM audit_log WHERE seq = ?', [seq]);
  const r = await verifyAuditChain(db);
  t.false(r.ok);
  t.is(r.firstBad!.seq, seq);
  t.regex(r.firstBad!.reason, new RegExp(`缺失第 ${seq} 条`));

  // Closing the gap by renumbering the rest and the head does not help: the link breaks.
  const last = await lastSeq(db);
  for (let s = seq + 1; s <= last; s++) await rawExec(db, 'UPDATE audit_log SET seq = ? WHERE seq = ?', [s - 1, s]);
  await rawExec(db, 'UPDATE audit_head SET seq = ? WHERE id = 1', [last - 1]);
  const again = await verifyAuditChain(db);
  t.false(again.ok);
  t.is(again.firstBad!.seq, seq);
});

test('twenty concurrent audited transactions leave one unforked chain', async (t) => {
  const ta = await startTestApp(t);
  const db = ta.deps.db;
  const before = await lastSeq(db);
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      inUnitOfWork(db, { id: null, name: `worker-${i}` }, ta.clock.now(), async (uow) => {
        await db.models.Campus.create({ code: `C${i}`, name: `院区 ${i}` }, { transaction: uow.t });
        uow.audit({ action: 'campus.create', objectType: 'campus', objectId: `C${i}`, detail: { i } });
        uow.audit({ action: 'campus.publish', objectType: 'campus', objectId: `C${i}` });
      }),
    ),
  );
  const rows = await db.models.AuditLog.findAll({ order: [['seq', 'ASC']], raw: true });
  t.is(rows.length, before + 40);
  t.deepEqual(
    rows.map((r) => Number(r.seq)),
    Array.from({ length: before + 40 }, (_, i) => i + 1),
    'sequence numbers are dense',
  );
  t.is(new Set(rows.map((r) => r.prevHash)).size, rows.length, 'no two rows hang off the same predecessor');
  // each transaction's two rows are adjacent: the head lock was held across the append
  for (let i = before; i < rows.length; i += 2) t.is(rows[i]!.objectId, rows[i + 1]!.objectId);
  t.deepEqual(await verifyAuditChain(db), { ok: true, checked: before + 40 });
  t.is(Number((await db.models.AuditHead.findByPk(1, { raw: true }))!.seq), before + 40);
});

test('verifying while the server keeps auditing does not raise a false alarm', async (t) => {
  const ta = await startTestApp(t);
  await busyMorning(ta);
  const db = ta.deps.db;
  const before = await lastSeq(db);
  // Someone signs in just as the verifier reaches the end of the log.
  let armed = true;
  db.models.AuditLog.addHook('afterFind', 'append-during-verify', async (result: unknown) => {
    if (armed && Array.isArray(result) && result.length === 0) {
      armed = false;
      await auditStandalone(db, { actorId: 2, actorName: 'nurse.li', action: 'auth.login' }, ta.clock.now());
    }
  });
  t.teardown(() => db.models.AuditLog.removeHook('afterFind', 'append-during-verify'));
  const r = await verifyAuditChain(db);
  t.false(armed, 'the append happened during the verification');
  t.true(r.ok, JSON.stringify(r.firstBad));
  t.is(r.checked, before);
  t.deepEqual(await verifyAuditChain(db), { ok: true, checked: before + 1 });
});

test('the audit log is for the audit administrator: staff get 403, admin reads it', async (t) => {
  const ta = await startTestApp(t);
  const { admin } = await busyMorning(ta);
  await ta.createUser({ username: 'porter.wang' });
  const staff = ta.client();
  await staff.login('porter.wang', USER_PASSWORD);
  const refused = await staff.get('/api/v1/audit');
  t.is(refused.status, 403);
  t.is((await staff.post('/api/v1/audit/verify')).status, 403);

  const r = await admin.get('/api/v1/audit?pageSize=100');
  t.is(r.status, 200);
  t.is(r.body.total, await ta.deps.db.models.AuditLog.count());
  const settings = r.body.items.find((i: { action: string }) => i.action === 'settings.update');
  t.like(settings, { actorName: 'admin', objectType: 'setting', objectId: 'files.upload', result: 'success' });
  t.deepEqual(settings.detail.after, { maxUploadMb: 20 });
  // the refused look is itself on record
  const denied = await admin.get('/api/v1/audit?action=access.denied');
  t.true(denied.body.items.some((i: { objectId: string; result: string }) => i.objectId === 'GET /api/v1/audit' && i.result === 'denied'));
  t.true((await verifyAuditChain(ta.deps.db)).ok);
});

test('npm run audit:verify exits 0 on an intact log and 2 after tampering, naming the row in Chinese', async (t) => {
  const ta = await startTestApp(t);
  await busyMorning(ta);
  const db = ta.deps.db;
  const total = await lastSeq(db);

  const ok = await runAuditVerify(ta);
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.stdout.trim(), `审计日志完整：共 ${total} 条，哈希链校验通过（对照库外锚点 0 个）。`);

  const seq = await seqOf(db, 'auth.password_change');
  await rawExec(db, "UPDATE audit_log SET result = 'failure' WHERE seq = ?", [seq]);
  const bad = await runAuditVerify(ta);
  t.is(bad.code, 2, bad.stderr);
  t.regex(bad.stdout, new RegExp(`^审计日志被篡改：第 ${seq} 条记录校验失败（内容与签名不符（记录被篡改））。此前 ${seq - 1} 条完好。`));
});

test('cutting the newest rows and resetting the head is caught by the anchor kept outside the database', async (t) => {
  const ta = await startTestApp(t);
  await busyMorning(ta);
  const db = ta.deps.db;
  const anchor = await writeAnchor(db, ta.deps.config.dataDir, ta.deps.log, ta.clock.now());
  t.truthy(anchor);
  t.deepEqual(readAnchors(ta.deps.config.dataDir), [anchor!]);
  t.true((await verifyAuditChain(db, { anchors: readAnchors(ta.deps.config.dataDir) })).ok);
  // an insider deletes the last two rows and points the head at the new last row: the chain
  // itself is consistent again ...
  const keep = anchor!.seq - 2;
  await rawExec(db, 'DELETE FROM audit_log WHERE seq > ?', [keep]);
  const [rows] = await db.sequelize.query('SELECT hash FROM audit_log WHERE seq = ?', { replacements: [keep] });
  await rawExec(db, 'UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [keep, (rows as { hash: string }[])[0]!.hash]);
  t.true((await verifyAuditChain(db)).ok, 'without an anchor the cut is invisible');
  // ... but not with the anchor
  const r = await verifyAuditChain(db, { anchors: readAnchors(ta.deps.config.dataDir) });
  t.false(r.ok);
  t.is(r.firstBad?.seq, keep + 1);
  t.regex(r.firstBad!.reason, /库外锚点/);
  const cli = await runAuditVerify(ta);
  t.is(cli.code, 2);
});
