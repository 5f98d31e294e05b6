import { openDatabase, verifyAuditChain } from '@oa/db';
import { ConfigError, deriveKey, loadConfig } from '../config.ts';
import { readAnchors } from '../audit/anchors.ts';

/**
 * `npm run audit:verify`: recompute the audit hash chain with the same DB_URL / DATA_DIR /
 * SECRET_KEY as the server. Exit 0 when intact, 2 when a row was altered, removed or inserted
 * (the first bad row is named), 1 when it could not check.
 */
async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 78;
    }
    throw err;
  }
  const db = openDatabase({ url: config.DB_URL, dataDir: config.dataDir, auditKey: deriveKey(config.secret, 'audit-chain') });
  try {
    const anchors = readAnchors(config.dataDir);
    const r = await verifyAuditChain(db, { anchors });
    if (r.ok) {
      console.log(`审计日志完整：共 ${r.checked} 条，哈希链校验通过（对照库外锚点 ${anchors.length} 个）。`);
      return 0;
    }
    console.log(`审计日志被篡改：第 ${r.firstBad!.seq} 条记录校验失败（${r.firstBad!.reason}）。此前 ${r.checked} 条完好。`);
    return 2;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('审计校验无法完成：', (err as Error).message);
    process.exit(1);
  },
);
