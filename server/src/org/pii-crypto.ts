import crypto from 'node:crypto';
import { deriveKey } from '../config.ts';

/*
 * Field-level encryption of sensitive personal data (R12.2; BAR DC-2, PIPL Art. 28/51): ID
 * numbers, bank accounts, home addresses.
 *
 * AES-256-GCM with a key derived from SECRET_KEY (`pii-v1`), so the database alone (a dump, a
 * backup, a stolen replica) does not hold what opens it. Stored text: `v1:` + base64(iv(12) |
 * tag(16) | ciphertext). The additional authenticated data names where a ciphertext belongs
 * (table/field/row): a value copied to another person or another field fails to decrypt rather
 * than showing someone else's data. The `v1:` prefix leaves room for a key rotation.
 *
 * Blind index: HMAC-SHA-256 under a second derived key (`pii-index-v1`) of the normalised value,
 * for uniqueness and exact lookup without decrypting every row.
 */

const PREFIX = 'v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class PiiDecryptError extends Error {
  constructor() {
    super('sensitive value cannot be decrypted (wrong key, altered, or moved to another row or field)');
  }
}

/** Where a ciphertext belongs: bound into it as additional authenticated data. */
export function piiContext(table: string, field: string, rowId: string | number): string {
  return `${table}/${field}/${rowId}`;
}

export class PiiCipher {
  private readonly key: Buffer;
  private readonly indexKey: Buffer;

  constructor(key: Buffer, indexKey: Buffer) {
    if (key.length !== 32 || indexKey.length !== 32) throw new Error('PII keys must be 32 bytes');
    if (key.equals(indexKey)) throw new Error('PII encryption and index keys must differ');
    this.key = key;
    this.indexKey = indexKey;
  }

  /** The keys derived from SECRET_KEY (config.secret). */
  static fromSecret(secret: Buffer): PiiCipher {
    return new PiiCipher(deriveKey(secret, 'pii-v1'), deriveKey(secret, 'pii-index-v1'));
  }

  encrypt(plain: string, context: string): string {
    const iv = crypto.randomBytes(IV_BYTES);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    c.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  /** The plaintext, or PiiDecryptError when the text was altered, moved, or sealed with another key. */
  decrypt(stored: string, context: string): string {
    if (!stored.startsWith(PREFIX)) throw new PiiDecryptError();
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new PiiDecryptError();
    try {
      const d = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      d.setAAD(Buffer.from(context, 'utf8'));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
    } catch {
      throw new PiiDecryptError();
    }
  }

  /** Deterministic keyed hash for uniqueness and lookup; the value must already be normalised. */
  blindIndex(kind: string, normalised: string): string {
    return crypto.createHmac('sha256', this.indexKey).update(`${kind}\u0000${normalised}`, 'utf8').digest('hex');
  }
}

// ---- display masking (BAR PI-1) -----------------------------------------------------------------

const stars = (n: number) => '*'.repeat(Math.max(n, 0));

/** 身份证号: first 3 and last 4 kept, `440***********1234`. */
export function maskIdNumber(v: string): string {
  const cs = Array.from(v);
  if (cs.length <= 7) return stars(cs.length);
  return cs.slice(0, 3).join('') + stars(cs.length - 7) + cs.slice(-4).join('');
}

/** 银行账号: last 4 kept. */
export function maskBankAccount(v: string): string {
  const cs = Array.from(v);
  if (cs.length <= 4) return stars(cs.length);
  return stars(cs.length - 4) + cs.slice(-4).join('');
}

/** 家庭住址: first 6 characters, then `****` (the length is not revealed). */
export function maskAddress(v: string): string {
  const cs = Array.from(v);
  return cs.slice(0, Math.min(6, Math.max(cs.length - 1, 0))).join('') + '****';
}
