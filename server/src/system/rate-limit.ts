import { UniqueConstraintError, type Database } from '@oa/db';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';

/** Fixed-window counters shared by every instance (database table, or Redis when configured). */
export interface RateLimiter {
  /** count one event; returns the count in the current window */
  hit(key: string, windowMs: number): Promise<number>;
  peek(key: string, windowMs: number): Promise<{ count: number; resetAt: Date }>;
  reset(key: string): Promise<void>;
}

export class DbRateLimiter implements RateLimiter {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async hit(key: string, windowMs: number): Promise<number> {
    const { RateCounter } = this.db.models;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction(async (t) => {
          const now = this.clock.now();
          const row = await RateCounter.findByPk(key, { transaction: t, lock: t.LOCK.UPDATE });
          if (!row) {
            await RateCounter.create({ key, windowStart: now, count: 1 }, { transaction: t });
            return 1;
          }
          const fresh = now.getTime() - new Date(row.windowStart).getTime() >= windowMs;
          const count = fresh ? 1 : row.count + 1;
          await row.update({ count, windowStart: fresh ? now : row.windowStart }, { transaction: t });
          return count;
        });
      } catch (err) {
        // Two first hits raced to insert the row: the loser counts again on the existing row.
        if (err instanceof UniqueConstraintError && attempt < 3) continue;
        throw err;
      }
    }
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
  async peek(key: string): Promise<{ count: number; resetAt: Date }> {
    const [count, ttl] = await Promise.all([this.redis.get(this.k(key)), this.redis.pttl(this.k(key))]);
    return { count: Number(count ?? 0), resetAt: new Date(this.clock.now().getTime() + Math.max(0, ttl)) };
  }
  async reset(key: string): Promise<void> {
    await this.redis.del(this.k(key));
  }
}
