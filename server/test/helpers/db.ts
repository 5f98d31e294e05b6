import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { migrate, openDatabase, type Database } from '@oa/db';

/**
 * Each test gets its own database: a fresh SQLite file by default, or, when TEST_DB_URL names a
 * MySQL/MariaDB server (CI), a database created for it and dropped afterwards.
 */
export const TEST_DB_URL = process.env.TEST_DB_URL;
export const testDialect = TEST_DB_URL?.startsWith('mysql') || TEST_DB_URL?.startsWith('mariadb') ? 'mysql' : 'sqlite';

export function tempDir(t: ExecutionContext, prefix = 'oa-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestDb {
  db: Database;
  url: string;
  dataDir: string;
}

export async function createTestDb(t: ExecutionContext, opts: { migrate?: boolean; dataDir?: string; auditKey?: Buffer } = {}): Promise<TestDb> {
  const dataDir = opts.dataDir ?? tempDir(t);
  let url: string;
  if (testDialect === 'mysql') {
    const name = `oa_t_${crypto.randomBytes(5).toString('hex')}`;
    const admin = openDatabase({ url: TEST_DB_URL, dataDir, auditKey: Buffer.alloc(32) });
    await admin.sequelize.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.close();
    const base = new URL(TEST_DB_URL!);
    base.pathname = `/${name}`;
    url = base.toString();
    t.teardown(async () => {
      const a = openDatabase({ url: TEST_DB_URL, dataDir, auditKey: Buffer.alloc(32) });
      await a.sequelize.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.close();
    });
  } else {
    url = `sqlite:${path.join(dataDir, 'oa.sqlite')}`;
  }
  const db = openDatabase({ url, dataDir, auditKey: opts.auditKey ?? crypto.createHash('sha256').update('test-audit-key').digest() });
  t.teardown(() => db.close());
  if (opts.migrate !== false) await migrate(db);
  return { db, url, dataDir };
}
