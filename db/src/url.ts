import path from 'node:path';

export type Dialect = 'sqlite' | 'mysql' | 'mssql';

export interface DbTarget {
  dialect: Dialect;
  /** SQLite file path (absolute) */
  storage?: string;
  /** Server URL for mysql/mssql, as given */
  url?: string;
  database?: string;
}

/**
 * Parse DB_URL. `sqlite:<path>` (relative to cwd or absolute), `mysql://` / `mariadb://`, `mssql://`.
 * Default: `sqlite:<dataDir>/oa.sqlite`.
 */
export function parseDbUrl(dbUrl: string | undefined, dataDir: string): DbTarget {
  if (!dbUrl) return { dialect: 'sqlite', storage: path.resolve(dataDir, 'oa.sqlite') };
  if (dbUrl.startsWith('sqlite:')) {
    let p = dbUrl.slice('sqlite:'.length);
    if (p.startsWith('//')) p = p.slice(2); // sqlite:///abs/path or sqlite://rel
    if (!p || p === ':memory:') {
      throw new Error('DB_URL: SQLite 需要文件路径（不支持 :memory:，事务在其上无法隔离）');
    }
    return { dialect: 'sqlite', storage: path.resolve(p) };
  }
  let u: URL;
  try {
    u = new URL(dbUrl);
  } catch {
    throw new Error(`DB_URL 无法解析：${redactUrl(dbUrl)}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (u.protocol === 'mysql:' || u.protocol === 'mariadb:') {
    return { dialect: 'mysql', url: dbUrl, database };
  }
  if (u.protocol === 'mssql:' || u.protocol === 'sqlserver:') {
    return { dialect: 'mssql', url: dbUrl, database };
  }
  throw new Error(`DB_URL 协议不受支持：${u.protocol}（可用 sqlite:、mysql://、mariadb://、mssql://）`);
}

/** Hide the password of a URL before logging it. */
export function redactUrl(dbUrl: string): string {
  return dbUrl.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
