import test, { type ExecutionContext } from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataTypes, Model, Sequelize } from 'sequelize';
import { jsonText, migrate, MIGRATIONS, openDatabase, parseDbUrl, parseJsonColumn, redactUrl, schemaStatus, SchemaTooNewError, type Database } from '../src/index.ts';

// Forward-only migrations: an upgrade migrates once, a restart changes nothing, and an older program
// refuses a schema written by a newer one instead of running against it.

const TEST_DB_URL = process.env.TEST_DB_URL;
const onMysql = !!TEST_DB_URL && /^(mysql|mariadb):/.test(TEST_DB_URL);
const auditKey = crypto.createHash('sha256').update('migrate-test').digest();

function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oa-db-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An empty, unmigrated database of its own (SQLite file, or a fresh MariaDB database). */
async function emptyDb(t: ExecutionContext): Promise<{ db: Database; open(): Database }> {
  const dataDir = tempDir(t);
  let url = `sqlite:${path.join(dataDir, 'oa.sqlite')}`;
  if (onMysql) {
    const name = `oa_t_${crypto.randomBytes(5).toString('hex')}`;
    const server = openDatabase({ url: TEST_DB_URL, dataDir, auditKey });
    await server.sequelize.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await server.close();
    const u = new URL(TEST_DB_URL!);
    u.pathname = `/${name}`;
    url = u.toString();
    t.teardown(async () => {
      const s = openDatabase({ url: TEST_DB_URL, dataDir, auditKey });
      await s.sequelize.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await s.close();
    });
  }
  const open = () => {
    const db = openDatabase({ url, dataDir, auditKey });
    t.teardown(() => db.close());
    return db;
  };
  return { db: open(), open };
}

const ALL = MIGRATIONS.map((m) => m.name);

test('a new database is migrated once; migrating again is a no-op that keeps the data', async (t) => {
  const { db } = await emptyDb(t);
  t.deepEqual(await schemaStatus(db), { executed: [], pending: ALL, unknown: [] });
  t.deepEqual(await migrate(db), ALL);
  t.deepEqual(await schemaStatus(db), { executed: ALL, pending: [], unknown: [] });
  await db.models.Campus.create({ code: 'main', name: '本部' });
  t.deepEqual(await migrate(db), [], 'a restart migrates nothing');
  t.deepEqual((await schemaStatus(db)).pending, []);
  t.is(await db.models.Campus.count(), 1, 'and loses nothing');
  // the audit chain starts at its genesis head
  const head = await db.models.AuditHead.findByPk(1, { raw: true });
  t.is(Number(head!.seq), 0);
  t.is(head!.hash, '0'.repeat(64));
});

test('a schema written by a newer program is refused with a Chinese message', async (t) => {
  const { db } = await emptyDb(t);
  await migrate(db);
  await db.sequelize.query('INSERT INTO schema_migration (name) VALUES (?)', { replacements: ['0002-leave-requests'] });
  t.deepEqual((await schemaStatus(db)).unknown, ['0002-leave-requests']);
  const err = await t.throwsAsync(migrate(db), { instanceOf: SchemaTooNewError });
  t.deepEqual(err!.unknown, ['0002-leave-requests']);
  t.is(err!.message, '数据库结构比当前程序新（未知迁移：0002-leave-requests），拒绝启动。请升级程序后再启动。');
  // refusing changed nothing: the newer program's record is still there
  t.deepEqual((await schemaStatus(db)).executed.sort(), [...ALL, '0002-leave-requests'].sort());
});

if (!onMysql) console.log('migrate.test.ts: the concurrent-start test needs MariaDB (GET_LOCK); it runs with TEST_DB_URL=mysql://… in CI');
(onMysql ? test : test.skip)('two instances starting together on MariaDB: one migrates, the other waits and finds it done', async (t) => {
  const { db, open } = await emptyDb(t);
  const other = open();
  const [a, b] = await Promise.all([migrate(db), migrate(other)]);
  t.deepEqual([a, b].sort((x, y) => y.length - x.length), [ALL, []]);
  t.deepEqual(await schemaStatus(other), { executed: ALL, pending: [], unknown: [] });
});

test('parseDbUrl understands the documented forms', (t) => {
  const dataDir = path.join(os.tmpdir(), 'oa-data');
  t.deepEqual(parseDbUrl(undefined, dataDir), { dialect: 'sqlite', storage: path.join(dataDir, 'oa.sqlite') });
  t.deepEqual(parseDbUrl('', dataDir), { dialect: 'sqlite', storage: path.join(dataDir, 'oa.sqlite') });
  t.deepEqual(parseDbUrl('sqlite:data/oa.sqlite', dataDir), { dialect: 'sqlite', storage: path.resolve('data/oa.sqlite') });
  t.deepEqual(parseDbUrl('sqlite:/var/lib/oa/oa.sqlite', dataDir), { dialect: 'sqlite', storage: '/var/lib/oa/oa.sqlite' });
  t.deepEqual(parseDbUrl('sqlite:///var/lib/oa/oa.sqlite', dataDir), { dialect: 'sqlite', storage: '/var/lib/oa/oa.sqlite' });
  t.deepEqual(parseDbUrl('mysql://oa:pw@10.0.0.5:3306/hospital_oa', dataDir), {
    dialect: 'mysql',
    url: 'mysql://oa:pw@10.0.0.5:3306/hospital_oa',
    database: 'hospital_oa',
  });
  t.deepEqual(parseDbUrl('mariadb://oa:pw@db.local/oa', dataDir), { dialect: 'mysql', url: 'mariadb://oa:pw@db.local/oa', database: 'oa' });
  t.deepEqual(parseDbUrl('mssql://sa:P%40ss@sql01:1433/OA', dataDir), { dialect: 'mssql', url: 'mssql://sa:P%40ss@sql01:1433/OA', database: 'OA' });
});

test('parseDbUrl refuses in-memory SQLite and unknown protocols, without echoing passwords', (t) => {
  for (const bad of ['sqlite::memory:', 'sqlite://:memory:', 'sqlite:']) {
    t.throws(() => parseDbUrl(bad, '/tmp'), { message: /SQLite 需要文件路径/ }, bad);
  }
  const pg = t.throws(() => parseDbUrl('postgres://oa:topsecret@db/oa', '/tmp'));
  t.regex(pg!.message, /DB_URL 协议不受支持：postgres:/);
  t.notRegex(pg!.message, /topsecret/);
  t.throws(() => parseDbUrl('oa.sqlite', '/tmp'), { message: /DB_URL 无法解析/ });
  t.is(redactUrl('mysql://oa:topsecret@db:3306/oa'), 'mysql://oa:***@db:3306/oa');
});

test('jsonText stores JSON as text, round-trips an object and reads NULL as null', async (t) => {
  const { db } = await emptyDb(t);
  await migrate(db);
  const { Job } = db.models;
  const payload = { deptIds: [3, 7], note: '夜班交接', nested: { urgent: true, n: null } };
  const base = { kind: 'json.check', runAt: new Date(), leaseOwner: null, leaseUntil: null, lastError: null };
  const withPayload = await Job.create({ ...base, payload, dedupeKey: 'a' });
  const withoutPayload = await Job.create({ ...base, payload: null, dedupeKey: 'b' });
  t.deepEqual((await Job.findByPk(withPayload.id))!.payload, payload);
  t.is((await Job.findByPk(withoutPayload.id))!.payload, null);
  // in the column it is plain JSON text, readable through a raw query on every dialect
  const [rows] = await db.sequelize.query('SELECT payload FROM job WHERE id = ?', { replacements: [withPayload.id] });
  const raw = (rows as { payload: unknown }[])[0]!.payload;
  t.is(typeof raw, 'string');
  t.deepEqual(parseJsonColumn(raw), payload);
  t.is(parseJsonColumn(null), null);
  t.deepEqual(parseJsonColumn({ a: 1 }), { a: 1 });
});

test('jsonText defaults are stored as JSON too', async (t) => {
  const sequelize = new Sequelize({ dialect: 'sqlite', storage: path.join(tempDir(t), 'json.sqlite'), logging: false });
  t.teardown(() => sequelize.close());
  class Doc extends Model {
    declare id: number;
    declare tags: string[] | null;
    declare meta: Record<string, unknown> | null;
  }
  Doc.init(
    { id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true }, tags: jsonText<string[]>('tags', { defaultValue: ['新'] }), meta: jsonText('meta') },
    { sequelize, tableName: 'doc', timestamps: false },
  );
  await sequelize.sync();
  const d = await Doc.create({});
  const back = (await Doc.findByPk(d.id))!;
  t.deepEqual(back.tags, ['新']);
  t.is(back.meta, null);
  back.meta = { a: [1, 2] };
  await back.save();
  t.deepEqual((await Doc.findByPk(d.id))!.meta, { a: [1, 2] });
});
