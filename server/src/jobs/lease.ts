import os from 'node:os';
import crypto from 'node:crypto';

/** Identifies this process as a lease holder (host, pid, random: unique across restarts). */
export function leaseOwnerId(): string {
  return `${os.hostname().slice(0, 30)}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
}

/** Retry delay after the n-th failed attempt: 30 s, 1 min, 2 min … capped at 1 h. */
export function backoffMs(attempt: number, baseMs = 30_000, capMs = 3_600_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
