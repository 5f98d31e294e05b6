import { Umzug, SequelizeStorage } from 'umzug';
import type { QueryInterface } from 'sequelize';
import type { Database } from './database.ts';
import * as m0001 from './migrations/0001-foundation.ts';
import * as m0002 from './migrations/0002-organisation.ts';
import * as m0003 from './migrations/0003-access-grants.ts';
import * as m0004 from './migrations/0004-transfers.ts';
import * as m0005 from './migrations/0005-personnel-files.ts';
import * as m0006 from './migrations/0006-address-book.ts';
import * as m0007 from './migrations/0007-workflow.ts';
import * as m0008 from './migrations/0008-forms.ts';
import * as m0009 from './migrations/0009-transfer-failure.ts';
import * as m0010 from './migrations/0010-wecom.ts';
import * as m0011 from './migrations/0011-wecom-sync.ts';

interface Migration {
  name: string;
  up: (p: { context: QueryInterface }) => Promise<void>;
}

/**
 * Forward-only, numbered. Listed explicitly (no glob) so the recorded names never depend on file
 * extensions or on how the code was compiled.
 */
export const MIGRATIONS: readonly Migration[] = [
  { name: '0001-foundation', up: m0001.up },
  { name: '0002-organisation', up: m0002.up },
  { name: '0003-access-grants', up: m0003.up },
  { name: '0004-transfers', up: m0004.up },
  { name: '0005-personnel-files', up: m0005.up },
  { name: '0006-address-book', up: m0006.up },
  { name: '0007-workflow', up: m0007.up },
  { name: '0008-forms', up: m0008.up },
  { name: '0009-transfer-failure', up: m0009.up },
  { name: '0010-wecom', up: m0010.up },
  { name: '0011-wecom-sync', up: m0011.up },
];

export class SchemaTooNewError extends Error {
  constructor(readonly unknown: string[]) {
    super(`数据库结构比当前程序新（未知迁移：${unknown.join(', ')}），拒绝启动。请升级程序后再启动。`);
  }
}

const storageFor = (db: Database) => new SequelizeStorage({ sequelize: db.sequelize, tableName: 'schema_migration' });

function umzugFor(db: Database) {
  return new Umzug({
    migrations: MIGRATIONS.map((m) => ({ name: m.name, up: m.up })),
    context: db.sequelize.getQueryInterface(),
    storage: storageFor(db),
    logger: undefined,
  });
}

export interface SchemaStatus {
  executed: string[];
  pending: string[];
  unknown: string[];
}

export async function schemaStatus(db: Database): Promise<SchemaStatus> {
  // Read the storage itself: Umzug's executed() lists only the migrations this program knows.
  const executed = await storageFor(db).executed();
  const known = new Set(MIGRATIONS.map((m) => m.name));
  const done = new Set(executed);
  return {
    executed,
    pending: MIGRATIONS.map((m) => m.name).filter((n) => !done.has(n)),
    unknown: executed.filter((n) => !known.has(n)),
  };
}

/** Bring the schema up to date; refuse a schema written by a newer program. */
export async function migrate(db: Database): Promise<string[]> {
  const run = async () => {
    const status = await schemaStatus(db);
    if (status.unknown.length) throw new SchemaTooNewError(status.unknown);
    const done = await umzugFor(db).up();
    return done.map((m) => m.name);
  };
  if (db.dialect === 'mysql') {
    // Several instances may start together: one migrates, the others wait for it.
    return db.sequelize.transaction(async (t) => {
      await db.sequelize.query("SELECT GET_LOCK('oa_migrate', 120)", { transaction: t });
      try {
        return await run();
      } finally {
        await db.sequelize.query("SELECT RELEASE_LOCK('oa_migrate')", { transaction: t });
      }
    });
  }
  if (db.dialect === 'mssql') {
    return db.sequelize.transaction(async (t) => {
      await db.sequelize.query("EXEC sp_getapplock @Resource='oa_migrate', @LockMode='Exclusive', @LockTimeout=120000", { transaction: t });
      return run();
    });
  }
  return run();
}
