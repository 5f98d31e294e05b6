import { Op, UniqueConstraintError, type Database } from '@oa/db';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';

/** Fixed-window counters shared by every instance (database table, or Redis when configured). */
export interface RateLimiter {
  /** count one event; returns the count in the current window */
  hit(key: string, windowMs: number): Promise<number>;
  /** take back one counted event (an attempt that turned out fine) */
  undo(key: string): Promise<void>;
  peek(key: string, windowMs: number): Promise<{ count: number; resetAt: Date }>;
  reset(key: string): Promise<void>;
}

export class DbRateLimiter implements RateLimiter {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  // Single-statement updates, no SELECT … FOR UPDATE: on MariaDB a locking read of a missing row
  // takes a gap lock, and two first hits then deadlock on their inserts.
  async hit(key: string, windowMs: number): Promise<number> {
    const { RateCounter } = this.db.models;
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      const cutoff = new Date(now.getTime() - windowMs);
      const [restarted] = await RateCounter.update({ count: 1, windowStart: now }, { where: { key, windowStart: { [Op.lte]: cutoff } } });
      const [counted] = restarted
        ? [restarted]
        : await RateCounter.update({ count: this.db.sequelize.literal('count + 1') as unknown as number }, { where: { key, windowStart: { [Op.gt]: cutoff } } });
      if (counted) {
        const row = await RateCounter.findByPk(key, { raw: true });
        if (row) return row.count;
      }
      try {
        await RateCounter.create({ key, windowStart: now, count: 1 });
        return 1;
      } catch (err) {
        // Two first hits raced to insert the row: the loser counts again on the existing row.
        if (err instanceof UniqueConstraintError && attempt < 5) continue;
        throw err;
      }
    }
  }

  async undo(key: string): Promise<void> {
    await this.db.models.RateCounter.decrement('count', { where: { key, count: { [Op.gt]: 0 } } });
  }

  async peek(key: string, windowMs: number): Promise<{ count: number; resetAt: Date }> {
    const now = this.clock.now();
    const row = await this.db.models.RateCounter.findByPk(key, { raw: true });
    if (!row) return { count: 0, resetAt: now };
    const start = new Date(row.windowStart).getTime();
    if (now.getTime() - start >= windowMs) return { count: 0, resetAt: now };
    return { count: row.count, resetAt: new Date(start + windowMs) };
  }

  async reset(key: string): Promise<void> {
    await this.db.models.RateCounter.destroy({ where: { key } });
  }
}

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
  ) {}
  private k(key: string) {
    return `oa:rl:${key}`;
  }
  async hit(key: string, windowMs: number): Promise<number> {
    const res = await this.redis.multi().incr(this.k(key)).pexpire(this.k(key), windowMs, 'NX').exec();
    return Number(res?.[0]?.[1] ?? 1);
  }
  async undo(key: string): Promise<void> {
    // an expired key would come back as -1 without a TTL: drop it instead
    if ((await this.redis.decr(this.k(key))) <= 0) await this.redis.del(this.k(key));
  }
  async peek(key: string): Promise<{ count: number; resetAt: Date }> {
    const [count, ttl] = await Promise.all([this.redis.get(this.k(key)), this.redis.pttl(this.k(key))]);
    return { count: Number(count ?? 0), resetAt: new Date(this.clock.now().getTime() + Math.max(0, ttl)) };
  }
  async reset(key: string): Promise<void> {
    await this.redis.del(this.k(key));
  }
}
