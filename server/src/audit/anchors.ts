import fs from 'node:fs';
import path from 'node:path';
import type { AuditAnchor, Database } from '@oa/db';
import type { Logger } from 'pino';

/** Anchors live beside the database, not in it: `DATA_DIR/audit-anchors.jsonl`, one JSON line each. */
export function anchorFile(dataDir: string): string {
  return path.join(dataDir, 'audit-anchors.jsonl');
}

export function readAnchors(dataDir: string): AuditAnchor[] {
  let text: string;
  try {
    text = fs.readFileSync(anchorFile(dataDir), 'utf8');
  } catch {
    return [];
  }
  const out: AuditAnchor[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const a = JSON.parse(line) as { seq?: unknown; hash?: unknown };
      if (typeof a.seq === 'number' && typeof a.hash === 'string') out.push({ seq: a.seq, hash: a.hash });
    } catch {
      // a torn last line after a crash: ignore it, the earlier anchors still count
    }
  }
  return out;
}

/**
 * Copy the current chain head out of the database (hourly job): to the anchor file and to the log,
 * which the hospital ships off the machine (BAR §6 item 10).
 */
export async function writeAnchor(db: Database, dataDir: string, log: Logger, now: Date): Promise<AuditAnchor | null> {
  const head = await db.models.AuditHead.findByPk(1, { raw: true });
  if (!head || Number(head.seq) === 0) return null;
  const anchor = { seq: Number(head.seq), hash: head.hash };
  const previous = readAnchors(dataDir).at(-1);
  if (previous?.seq === anchor.seq) return previous;
  fs.appendFileSync(anchorFile(dataDir), JSON.stringify({ ...anchor, at: now.toISOString() }) + '\n', { mode: 0o600 });
  log.info({ auditAnchor: anchor }, 'audit chain anchor');
  return anchor;
}
