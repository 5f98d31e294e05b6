import type { Database } from '@oa/db';
import { Op } from '@oa/db';
import type { Redis } from 'ioredis';

export interface SessionRecord {
  id: string; // sha256(token), hex
  userId: number;
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date; // absolute limit
  ip: string | null;
  userAgent: string | null;
}

/** Where sessions live: the database by default, Redis when REDIS_URL is set. */
export interface SessionStore {
  create(s: SessionRecord, idleMs: number): Promise<void>;
  get(id: string): Promise<SessionRecord | null>;
  touch(id: string, lastSeenAt: Date, idleMs: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** ids of the deleted sessions */
  deleteByUser(userId: number, exceptId?: string): Promise<string[]>;
  purgeExpired(now: Date, idleMs: number): Promise<number>;
}

export class DbSessionStore implements SessionStore {
  constructor(private readonly db: Database) {}

  async create(s: SessionRecord): Promise<void> {
    await this.db.models.Session.create(s);
  }
  async get(id: string): Promise<SessionRecord | null> {
    const row = await this.db.models.Session.findByPk(id, { raw: true });
    if (!row) return null;
    return { ...row, createdAt: new Date(row.createdAt), lastSeenAt: new Date(row.lastSeenAt), expiresAt: new Date(row.expiresAt) };
  }
  async touch(id: string, lastSeenAt: Date): Promise<void> {
    await this.db.models.Session.update({ lastSeenAt }, { where: { id } });
  }
  async delete(id: string): Promise<void> {
    await this.db.models.Session.destroy({ where: { id } });
  }
  async deleteByUser(userId: number, exceptId?: string): Promise<string[]> {
    const where = exceptId ? { userId, id: { [Op.ne]: exceptId } } : { userId };
    const rows = await this.db.models.Session.findAll({ where, attributes: ['id'], raw: true });
    if (rows.length) await this.db.models.Session.destroy({ where: { id: rows.map((r) => r.id) } });
    return rows.map((r) => r.id);
  }
  async purgeExpired(now: Date, idleMs: number): Promise<number> {
    return this.db.models.Session.destroy({
      where: { [Op.or]: [{ expiresAt: { [Op.lte]: now } }, { lastSeenAt: { [Op.lte]: new Date(now.getTime() - idleMs) } }] },
    });
  }
}

const KEY = (id: string) => `oa:sess:${id}`;
const USER_KEY = (userId: number) => `oa:user-sess:${userId}`;

/** Redis: a session expires by itself (TTL = the nearer of idle and absolute limit). */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly clock: { now(): Date },
  ) {}

  private ttlMs(s: Pick<SessionRecord, 'expiresAt' | 'lastSeenAt'>, idleMs: number): number {
    const now = this.clock.now().getTime();
    return Math.max(1, Math.min(s.expiresAt.getTime() - now, s.lastSeenAt.getTime() + idleMs - now));
  }

  async create(s: SessionRecord, idleMs: number): Promise<void> {
    await this.redis
      .multi()
      .set(KEY(s.id), JSON.stringify(s), 'PX', this.ttlMs(s, idleMs))
      .sadd(USER_KEY(s.userId), s.id)
      .pexpireat(USER_KEY(s.userId), s.expiresAt.getTime())
      .exec();
  }
  async get(id: string): Promise<SessionRecord | null> {
    const raw = await this.redis.get(KEY(id));
    if (!raw) return null;
    const s = JSON.parse(raw) as SessionRecord & { createdAt: string; lastSeenAt: string; expiresAt: string };
    return { ...s, createdAt: new Date(s.createdAt), lastSeenAt: new Date(s.lastSeenAt), expiresAt: new Date(s.expiresAt) };
  }
  async touch(id: string, lastSeenAt: Date, idleMs: number): Promise<void> {
    const s = await this.get(id);
    if (!s) return;
    s.lastSeenAt = lastSeenAt;
    // XX: never resurrect a session deleted meanwhile.
    await this.redis.set(KEY(id), JSON.stringify(s), 'PX', this.ttlMs(s, idleMs), 'XX');
  }
  async delete(id: string): Promise<void> {
    const s = await this.get(id);
    await this.redis.del(KEY(id));
    if (s) await this.redis.srem(USER_KEY(s.userId), id);
  }
  async deleteByUser(userId: number, exceptId?: string): Promise<string[]> {
    const ids = (await this.redis.smembers(USER_KEY(userId))).filter((id) => id !== exceptId);
    if (ids.length) {
      await this.redis
        .multi()
        .del(...ids.map(KEY))
        .srem(USER_KEY(userId), ...ids)
        .exec();
    }
    return ids;
  }
  async purgeExpired(): Promise<number> {
    return 0; // Redis expires keys itself
  }
}
