import fs from 'node:fs';
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import { Sequelize, Transaction, type Options } from 'sequelize';
import { defineModels, type Models } from './models/index.ts';
import { Mutex } from './mutex.ts';
import { parseDbUrl, type Dialect, type DbTarget } from './url.ts';

export interface DatabaseOptions {
  url?: string;
  dataDir: string;
  /** HMAC key for the audit hash chain; kept out of the database so a DB writer cannot re-seal it. */
  auditKey: Buffer;
  logging?: (sql: string) => void;
  /** connection pool size for server databases */
  poolMax?: number;
}

export interface Database {
  readonly sequelize: Sequelize;
  readonly dialect: Dialect;
  readonly target: DbTarget;
  readonly models: Models;
  readonly auditKey: Buffer;
  /**
   * Run `fn` in one write transaction. On SQLite, write transactions are serialised in-process
   * (one writer; concurrent BEGINs would hit SQLITE_BUSY). Never call it from inside another.
   */
  transaction<T>(fn: (t: Transaction) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface SqliteConnections {
  connections: Record<string, { close(cb?: () => void): void } | undefined>;
  getConnection(o?: { uuid?: string }): Promise<unknown>;
  releaseConnection(c: unknown, force?: boolean): unknown;
  destroyConnection(c: unknown): Promise<unknown>;
}

/**
 * Sequelize's SQLite dialect opens a new sqlite3 connection for every transaction and closes it at
 * commit, which costs milliseconds per write (measured by bench:workflow). Transactions here are
 * serialised by the write queue below, so they can all use one long-lived connection.
 */
function shareTransactionConnection(sequelize: Sequelize): void {
  const TX = 'transactions';
  const cm = sequelize.connectionManager as unknown as SqliteConnections;
  const get = cm.getConnection.bind(cm);
  const release = cm.releaseConnection.bind(cm);
  const destroy = cm.destroyConnection.bind(cm);
  cm.getConnection = (o) => get(o?.uuid && o.uuid !== 'default' ? { ...o, uuid: TX } : o);
  cm.releaseConnection = (c, force) => {
    if (c !== cm.connections[TX]) return release(c, force);
    if (!force) return undefined;
    delete cm.connections[TX];
    return release(c, force);
  };
  cm.destroyConnection = async (c) => {
    if (c !== cm.connections[TX]) return destroy(c);
    delete cm.connections[TX];
    (c as { close(cb?: () => void): void }).close();
    return undefined;
  };
}

export function openDatabase(opts: DatabaseOptions): Database {
  const target = parseDbUrl(opts.url, opts.dataDir);
  const logging = opts.logging ?? false;
  let sequelize: Sequelize;
  const common: Options = {
    logging,
    benchmark: false,
    define: { underscored: true, freezeTableName: true },
  };
  if (target.dialect === 'sqlite') {
    fs.mkdirSync(path.dirname(target.storage!), { recursive: true });
    sequelize = new Sequelize({
      ...common,
      dialect: 'sqlite',
      storage: target.storage!,
      transactionType: Transaction.TYPES.IMMEDIATE,
    });
    shareTransactionConnection(sequelize);
    // Every connection waits for the writer instead of failing.
    sequelize.addHook('afterConnect', (conn: unknown) => {
      (conn as { configure(opt: 'busyTimeout', ms: number): void }).configure('busyTimeout', 10_000);
    });
  } else if (target.dialect === 'mysql') {
    sequelize = new Sequelize(target.url!.replace(/^mariadb:/, 'mysql:'), {
      ...common,
      dialect: 'mysql',
      timezone: '+00:00',
      pool: { max: opts.poolMax ?? 20, min: 0, acquire: 5_000, idle: 10_000 },
      // Fail fast when the server is down so requests get a 503 instead of hanging.
      dialectOptions: { connectTimeout: 3_000, charset: 'utf8mb4' },
      retry: { max: 0 },
    });
  } else {
    sequelize = new Sequelize(target.url!.replace(/^sqlserver:/, 'mssql:'), {
      ...common,
      dialect: 'mssql',
      pool: { max: opts.poolMax ?? 20, min: 0, acquire: 5_000, idle: 10_000 },
      dialectOptions: {
        options: {
          encrypt: process.env.DB_MSSQL_ENCRYPT !== 'false',
          trustServerCertificate: process.env.DB_MSSQL_TRUST_CERT === 'true',
          connectTimeout: 5_000,
        },
      },
      retry: { max: 0 },
    });
  }
  const models = defineModels(sequelize);
  const writeQueue = new Mutex();
  // Nested transactions would wait forever on SQLite's write queue (and silently use a second
  // connection elsewhere): refuse them loudly instead.
  const inside = new AsyncLocalStorage<true>();
  let walSet = false;

  const db: Database = {
    sequelize,
    dialect: target.dialect,
    target,
    models,
    auditKey: opts.auditKey,
    async transaction<T>(fn: (t: Transaction) => Promise<T>): Promise<T> {
      if (inside.getStore()) throw new Error('nested db.transaction() call: pass the open transaction down instead');
      const run = (t: Transaction) => inside.run(true, () => fn(t));
      if (target.dialect === 'sqlite') {
        if (!walSet) {
          // WAL lets readers proceed while the single writer works; the setting persists in the file.
          await sequelize.query('PRAGMA journal_mode=WAL');
          walSet = true;
        }
        return writeQueue.run(() => sequelize.transaction(run));
      }
      return sequelize.transaction(run);
    },
    async ping() {
      await sequelize.query('SELECT 1');
    },
    async close() {
      await sequelize.close();
    },
  };
  return db;
}
