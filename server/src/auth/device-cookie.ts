import crypto from 'node:crypto';

/**
 * "Known device" cookie (OWASP's device-cookie pattern): after a successful sign-in the browser
 * carries a signed list of the accounts that signed in on it. When one NAT address used by the
 * whole hospital exceeds the per-IP failure limit, those accounts can still sign in from their own
 * browsers while a password-sprayer from the same address is held back.
 */
export class DeviceCookie {
  static readonly NAME = 'oa_dev';
  static readonly MAX_AGE_MS = 180 * 86_400_000;
  private static readonly MAX_USERS = 8;

  constructor(private readonly key: Buffer) {}

  private sign(payload: string): string {
    return crypto.createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  read(value: string | undefined): string[] {
    if (!value) return [];
    const [payload, mac] = value.split('.');
    if (!payload || !mac) return [];
    const expect = Buffer.from(this.sign(payload));
    const given = Buffer.from(mac);
    if (expect.length !== given.length || !crypto.timingSafeEqual(expect, given)) return [];
    try {
      const users = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      return Array.isArray(users) ? users.filter((u): u is string => typeof u === 'string') : [];
    } catch {
      return [];
    }
  }

  add(value: string | undefined, username: string): string {
    const users = [username, ...this.read(value).filter((u) => u !== username)].slice(0, DeviceCookie.MAX_USERS);
    const payload = Buffer.from(JSON.stringify(users)).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }
}
