import crypto from 'node:crypto';
import { Op, type Transaction } from 'sequelize';
import type { Database } from './database.ts';
import type { AuditLog } from './models/index.ts';

export interface AuditEntry {
  actorId?: number | null;
  actorName?: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** dotted verb, e.g. `auth.login`, `file.upload`, `settings.update` */
  action: string;
  objectType?: string | null;
  objectId?: string | number | null;
  result?: 'success' | 'failure' | 'denied';
  /** before/after summary; never secrets */
  detail?: Record<string, unknown> | null;
}

export const GENESIS_HASH = '0'.repeat(64);

type Sealed = Pick<
  AuditLog,
  'seq' | 'at' | 'actorId' | 'actorName' | 'ip' | 'requestId' | 'action' | 'objectType' | 'objectId' | 'result' | 'detail' | 'prevHash'
>;

/** HMAC over every stored field and the previous row's hash. */
export function sealAuditRow(key: Buffer, row: Sealed): string {
  const canonical = JSON.stringify([
    String(row.seq),
    new Date(row.at).toISOString(),
    row.actorId ?? null,
    row.actorName ?? null,
    row.ip ?? null,
    row.requestId ?? null,
    row.action,
    row.objectType ?? null,
    row.objectId ?? null,
    row.result,
    row.detail ?? null,
    row.prevHash,
  ]);
  return crypto.createHmac('sha256', key).update(canonical).digest('hex');
}

function truncate(s: string | null | undefined, n: number): string | null {
  if (s === null || s === undefined) return null;
  return s.length > n ? s.slice(0, n) : s;
}

/**
 * Append entries to the hash chain inside `t`. The chain head row is locked, so concurrent
 * transactions append one after another and the chain never forks. Call it last in a transaction
 * (after the business rows) so the head lock is held briefly.
 */
export async function appendAudit(db: Database, t: Transaction, entries: AuditEntry[], now: Date): Promise<void> {
  if (!entries.length) return;
  const { AuditHead, AuditLog } = db.models;
  const head = await AuditHead.findByPk(1, { transaction: t, lock: t.LOCK.UPDATE });
  if (!head) throw new Error('audit_head row missing');
  let seq = Number(head.seq);
  let prev = head.hash;
  const at = new Date(Math.floor(now.getTime()));
  const rows: (Sealed & { hash: string })[] = [];
  for (const e of entries) {
    seq += 1;
    const row: Sealed = {
      seq,
      at,
      actorId: e.actorId ?? null,
      actorName: truncate(e.actorName, 64),
      ip: truncate(e.ip, 64),
      requestId: truncate(e.requestId, 64),
      action: e.action,
      objectType: truncate(e.objectType, 64),
      objectId: e.objectId === undefined || e.objectId === null ? null : truncate(String(e.objectId), 64),
      result: e.result ?? 'success',
      detail: e.detail ? JSON.stringify(e.detail) : null,
      prevHash: prev,
    };
    const hash = sealAuditRow(db.auditKey, row);
    rows.push({ ...row, hash });
    prev = hash;
  }
  await AuditLog.bulkCreate(rows, { transaction: t });
  await head.update({ seq, hash: prev }, { transaction: t });
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  firstBad?: { seq: number; reason: string };
}

/**
 * A chain head copied outside the database (file, log collector). Whoever can write the database
 * can cut the newest rows and set the head back to the new last row; an older anchor that no
 * longer matches gives that away.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** Recompute the chain from the first row; name the first row that does not match. */
export async function verifyAuditChain(db: Database, opts: { batch?: number; anchors?: AuditAnchor[] } = {}): Promise<ChainReport> {
  const batch = opts.batch ?? 1000;
  const anchors = new Map((opts.anchors ?? []).map((a) => [a.seq, a.hash]));
  const { AuditLog, AuditHead } = db.models;
  // The head is read first: rows appended while the scan runs (the server keeps working) come
  // after it and are checked as chain links, but must not read as a mismatch with the head.
  const head = await AuditHead.findByPk(1, { raw: true });
  if (!head) return { ok: false, checked: 0, firstBad: { seq: 0, reason: '链头记录缺失' } };
  const headSeq = Number(head.seq);
  let prev = GENESIS_HASH;
  let atHead: string | null = headSeq === 0 ? GENESIS_HASH : null;
  let expectSeq = 1;
  let checked = 0;
  for (;;) {
    const rows = await AuditLog.findAll({
      where: { seq: { [Op.gte]: expectSeq } },
      order: [['seq', 'ASC']],
      limit: batch,
      raw: true,
    });
    if (!rows.length) break;
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expectSeq) return { ok: false, checked, firstBad: { seq: expectSeq, reason: `缺失第 ${expectSeq} 条（下一条为 ${seq}）` } };
      if (r.prevHash !== prev) return { ok: false, checked, firstBad: { seq, reason: '前序哈希不符（记录被删除、插入或重排）' } };
      const expect = sealAuditRow(db.auditKey, { ...r, seq, at: new Date(r.at) });
      if (expect !== r.hash) return { ok: false, checked, firstBad: { seq, reason: '内容与签名不符（记录被篡改）' } };
      if (seq === headSeq) atHead = r.hash;
      const anchored = anchors.get(seq);
      if (anchored !== undefined && anchored !== r.hash) return { ok: false, checked, firstBad: { seq, reason: '与库外留存的链头锚点不符（记录被重写）' } };
      anchors.delete(seq);
      prev = r.hash;
      expectSeq++;
      checked++;
    }
  }
  if (checked < headSeq) {
    return { ok: false, checked, firstBad: { seq: checked + 1, reason: `链尾被截断：链头记录为第 ${headSeq} 条，实际只有 ${checked} 条` } };
  }
  if (atHead !== head.hash) return { ok: false, checked, firstBad: { seq: headSeq, reason: '链头记录与日志不符（链头被改动）' } };
  const missing = [...anchors.keys()].filter((s) => s > checked).sort((a, b) => a - b)[0];
  if (missing !== undefined) {
    return { ok: false, checked, firstBad: { seq: checked + 1, reason: `链尾被截断：库外锚点记录到第 ${missing} 条，数据库只有 ${checked} 条` } };
  }
  return { ok: true, checked };
}
