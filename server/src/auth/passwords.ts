import crypto from 'node:crypto';
import argon2 from 'argon2';

// argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~20 ms here, so 500 staff
// signing in at shift change do not queue behind the hasher.
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(pw: string): Promise<string> {
  return argon2.hash(pw.normalize('NFKC'), OPTIONS);
}

export async function verifyPassword(hash: string, pw: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, pw.normalize('NFKC'));
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/** Verify against a throw-away hash so an unknown user costs as much time as a wrong password (IA-4). */
export async function burnVerifyTime(pw: string): Promise<void> {
  dummy ??= hashPassword(crypto.randomBytes(16).toString('hex'));
  await verifyPassword(await dummy, pw);
}

/** A random password that meets any policy this system accepts (initial and demo accounts). */
export function randomPassword(length = 16): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnpqrstuvwxyz', '23456789', '@#%+=!?'];
  const all = sets.join('');
  const pick = (s: string) => s[crypto.randomInt(s.length)]!;
  const chars = sets.map(pick);
  while (chars.length < length) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/** Login names are unique after NFKC and lower-casing: `ＡＤＭＩＮ` is `admin` (IA-1). */
export function normaliseUsername(u: string): string {
  return u.normalize('NFKC').trim().toLowerCase();
}
