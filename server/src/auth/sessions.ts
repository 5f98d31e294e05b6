import crypto from 'node:crypto';
import type { Principal } from '../access/principal.ts';
import type { Clock } from '../clock.ts';
import type { AppContext } from '../http/context.ts';
import type { Bus } from '../system/bus.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';

export interface SessionOptions {
  idleMs: number;
  absoluteMs: number;
  cookieName: string;
  cookieSecure: boolean;
  /** how often lastSeenAt is written back (sliding idle window resolution) */
  touchEveryMs: number;
  /** bound for the in-process cache; entries beyond it are evicted oldest first */
  cacheMax: number;
  /**
   * Re-read a cached session from the store after this long. Revocations reach every instance at
   * once through the bus (Redis); this bounds staleness should a message ever be missed.
   */
  cacheMaxAgeMs: number;
}

interface Cached {
  record: SessionRecord;
  principal: Principal;
  loadedAt: number;
}

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

/**
 * Server-side sessions (BAR IA-5, §6 item 8): 256-bit random tokens, only their SHA-256 stored,
 * idle and absolute limits enforced here on every request, revocation effective at once.
 *
 * Hot path: a cache of session + principal, so an authenticated request usually costs no query.
 * Everything that can revoke or change what a session grants (logout, password change, disable,
 * role change) goes through revoke/invalidateUser, which also broadcast on the bus so other
 * instances drop their copies before answering again.
 */
export class SessionManager {
  private cache = new Map<string, Cached>();
  /** bumped by every invalidation: a lookup that raced with one is used once but not cached */
  private generation = 0;

  constructor(
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly bus: Bus,
    private readonly loadPrincipal: (userId: number) => Promise<Principal | null>,
    readonly options: SessionOptions,
  ) {
    bus.subscribe((m) => {
      if (m.type === 'session') {
        this.generation++;
        this.cache.delete(m.id);
      }
      if (m.type === 'user') {
        this.generation++;
        this.dropUser(m.userId);
      }
    });
  }

  private dropUser(userId: number): void {
    for (const [id, c] of this.cache) if (c.record.userId === userId) this.cache.delete(id);
  }

  private remember(id: string, c: Cached): void {
    this.cache.delete(id);
    this.cache.set(id, c);
    if (this.cache.size > this.options.cacheMax) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  /** Start a new session (always a new id: no fixation). Returns the cookie token. */
  async create(userId: number, meta: { ip: string | null; userAgent: string | null }): Promise<{ token: string; record: SessionRecord }> {
    const now = this.clock.now();
    const token = crypto.randomBytes(32).toString('base64url');
    const record: SessionRecord = {
      id: hashToken(token),
      userId,
      csrfToken: crypto.randomBytes(24).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.options.absoluteMs),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 255) ?? null,
    };
    await this.store.create(record, this.options.idleMs);
    return { token, record };
  }

  private expired(r: SessionRecord, now: number): boolean {
    return now >= r.expiresAt.getTime() || now - r.lastSeenAt.getTime() >= this.options.idleMs;
  }

  /** Resolve a token to a live session and its principal, or null. */
  async resolve(token: string): Promise<{ record: SessionRecord; principal: Principal } | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
    const id = hashToken(token);
    const now = this.clock.now().getTime();
    let c = this.cache.get(id);
    if (c && (this.expired(c.record, now) || now - c.loadedAt >= this.options.cacheMaxAgeMs)) {
      // Another instance may have seen (or ended) the session more recently: ask the store.
      this.cache.delete(id);
      c = undefined;
    }
    if (!c) {
      const generation = this.generation;
      const record = await this.store.get(id);
      if (!record) return null;
      if (this.expired(record, now)) {
        await this.store.delete(id);
        return null;
      }
      const principal = await this.loadPrincipal(record.userId);
      if (!principal) {
        await this.store.delete(id);
        return null;
      }
      c = { record, principal, loadedAt: now };
      // A revocation that arrived while we were reading may concern this very session: answer
      // this request (it began before the revocation) but do not keep the copy.
      if (generation === this.generation) this.remember(id, c);
    }
    if (now - c.record.lastSeenAt.getTime() >= this.options.touchEveryMs) {
      c.record = { ...c.record, lastSeenAt: new Date(now) };
      await this.store.touch(id, c.record.lastSeenAt, this.options.idleMs);
    }
    return c;
  }

  /** Attach the principal of the request's session, if any (cookie, or Bearer for the mini-program). */
  async authenticate(ctx: AppContext): Promise<void> {
    if (ctx.state.principal) return;
    let token = ctx.cookies.get(this.options.cookieName);
    let viaCookie = true;
    const auth = ctx.get('authorization');
    if (!token && auth.startsWith('Bearer ')) {
      token = auth.slice(7).trim();
      viaCookie = false;
    }
    if (!token) return;
    const c = await this.resolve(token);
    if (!c) {
      if (viaCookie) this.clearCookie(ctx);
      return;
    }
    ctx.state.principal = c.principal;
    // Bearer tokens are never sent by the browser on its own, so CSRF checks apply to cookies only.
    if (viaCookie) ctx.state.session = { id: c.record.id, csrfToken: c.record.csrfToken, expiresAt: c.record.expiresAt };
    ctx.state.sessionId = c.record.id;
  }

  setCookie(ctx: AppContext, token: string): void {
    ctx.cookies.set(this.options.cookieName, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.options.cookieSecure,
      path: '/',
      overwrite: true,
      signed: false,
    });
  }

  clearCookie(ctx: AppContext): void {
    ctx.cookies.set(this.options.cookieName, '', {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.options.cookieSecure,
      path: '/',
      expires: new Date(0),
      overwrite: true,
    });
  }

  async revoke(id: string): Promise<void> {
    await this.store.delete(id);
    await this.bus.publish({ type: 'session', id });
  }

  /** End every session of a person (disable, password reset), optionally but one. */
  async revokeUser(userId: number, exceptId?: string): Promise<void> {
    const ids = await this.store.deleteByUser(userId, exceptId);
    for (const id of ids) await this.bus.publish({ type: 'session', id });
  }

  /** What a person may do changed (roles, status): reload on their next request. */
  async invalidateUser(userId: number): Promise<void> {
    await this.bus.publish({ type: 'user', userId });
  }

  async purgeExpired(): Promise<number> {
    return this.store.purgeExpired(this.clock.now(), this.options.idleMs);
  }
}
