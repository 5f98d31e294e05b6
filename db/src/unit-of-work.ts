import { UniqueConstraintError, type Transaction } from 'sequelize';
import { appendAudit, type AuditEntry } from './audit.ts';
import type { Database } from './database.ts';

export interface OutboxMessage {
  /** registered channel name: `inbox` now; `wecom`, `email`, `sms` later */
  channel: string;
  /** channel-specific address: a user id, a WeCom userid, an e-mail address */
  recipient: string;
  payload: Record<string, unknown>;
  /** unique per message; the same key twice (a retried request) stores one message */
  idempotencyKey: string;
  /** deliver no earlier than this */
  notBefore?: Date;
}

/** Who is acting, from where: stamped on every audit row of the unit of work. */
export interface Actor {
  id: number | null;
  name: string | null;
  ip?: string | null;
  requestId?: string | null;
}

export interface UnitOfWork {
  readonly t: Transaction;
  readonly now: Date;
  audit(entry: AuditEntry): void;
  outbox(message: OutboxMessage): void;
}

/**
 * Principle 2, "nothing is lost": the state change, its audit rows and the messages it causes
 * commit together or not at all. Audit and outbox rows are written at the end, inside the same
 * transaction, so the audit chain lock is held only briefly.
 */
export async function inUnitOfWork<T>(db: Database, actor: Actor, now: Date, fn: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  return db.transaction(async (t) => {
    const audits: AuditEntry[] = [];
    const messages: OutboxMessage[] = [];
    const uow: UnitOfWork = {
      t,
      now,
      audit: (e) => audits.push({ actorId: actor.id, actorName: actor.name, ip: actor.ip ?? null, requestId: actor.requestId ?? null, ...e }),
      outbox: (m) => messages.push(m),
    };
    const result = await fn(uow);
    if (messages.length) {
      await writeOutbox(db, t, messages, now);
    }
    await appendAudit(db, t, audits, now);
    return result;
  });
}

async function writeOutbox(db: Database, t: Transaction, messages: OutboxMessage[], now: Date): Promise<void> {
  const { Outbox } = db.models;
  const keys = messages.map((m) => m.idempotencyKey);
  const fresh = messages.filter((m, i) => keys.indexOf(m.idempotencyKey) === i);
  const rows = fresh.map((m) => ({
    channel: m.channel,
    recipient: m.recipient,
    payload: m.payload,
    idempotencyKey: m.idempotencyKey,
    nextAttemptAt: m.notBefore ?? now,
    leaseOwner: null,
    leaseUntil: null,
    lastError: null,
    sentAt: null,
  }));
  // One statement for the usual case; a key already stored (a retried request, or a concurrent
  // double submit that got there first) makes it fail, and then the rows go one by one so the
  // others still land.
  // The failed statement alone is rolled back (MariaDB, SQLite, SQL Server); the transaction goes on.
  try {
    await Outbox.bulkCreate(rows, { transaction: t });
    return;
  } catch (err) {
    if (!(err instanceof UniqueConstraintError)) throw err;
  }
  for (const row of rows) {
    try {
      await Outbox.create(row, { transaction: t });
    } catch (err) {
      if (!(err instanceof UniqueConstraintError)) throw err;
    }
  }
}

/** Audit something that has no business change of its own (a refused request, a login failure). */
export async function auditStandalone(db: Database, entry: AuditEntry, now: Date): Promise<void> {
  await db.transaction((t) => appendAudit(db, t, [entry], now));
}
