import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { migrate, openDatabase, type Database } from '@oa/db';

/** Whether something accepts TCP connections at the URL's host and port (default 3306). */
export async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 3306), u.hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One entry of a result file's `metrics` (../shared/BENCHMARKS.md). */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  target?: number;
  better: 'higher' | 'lower';
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/**
 * A fresh, migrated database for one benchmark: a SQLite file in a temporary folder, or a MariaDB
 * database created for the run; dropped and removed afterwards, whatever happens.
 */
export async function withBenchDatabase(
  label: 'sqlite' | 'mariadb',
  name: string,
  mariadbUrl: string,
  fn: (b: { db: Database; dbUrl: string; dataDir: string }) => Promise<void>,
): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `oa-bench-${name}-`));
  const auditKey = crypto.randomBytes(32);
  let dbUrl = `sqlite:${path.join(dataDir, 'bench.sqlite')}`;
  const dropName = `oa_bench_${name}_${process.pid}`;
  if (label === 'mariadb') {
    const admin = openDatabase({ url: mariadbUrl, dataDir, auditKey });
    await admin.sequelize.query(`CREATE DATABASE IF NOT EXISTS \`${dropName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.close();
    const u = new URL(mariadbUrl);
    u.pathname = `/${dropName}`;
    dbUrl = u.toString();
  }
  const db = openDatabase({ url: dbUrl, dataDir, auditKey });
  try {
    await migrate(db);
    await fn({ db, dbUrl, dataDir });
  } finally {
    await db.close();
    if (label === 'mariadb') {
      const admin = openDatabase({ url: mariadbUrl, dataDir, auditKey });
      await admin.sequelize.query(`DROP DATABASE IF EXISTS \`${dropName}\``);
      await admin.close();
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
