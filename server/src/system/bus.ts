import type { Redis } from 'ioredis';

/** Cache invalidations that every server instance must hear (sessions revoked, roles changed). */
export type BusMessage =
  | { type: 'session'; id: string }
  | { type: 'user'; userId: number }
  | { type: 'settings'; key: string }
  /** the organisation changed; userIds: only these people's own records (else: anything) */
  | { type: 'org'; userIds?: number[] }
  /**
   * access-control caches (access/grants.ts): `grants`: grants or the resource tree changed;
   * `people`: these people's subjects (department, roles, post, groups; everyone's without
   * userIds); `all`: both, everything (departments moved)
   */
  | { type: 'acl'; scope: 'grants' | 'people' | 'all'; userIds?: number[] };

export interface Bus {
  publish(msg: BusMessage): Promise<void>;
  subscribe(handler: (msg: BusMessage) => void): void;
  close(): Promise<void>;
}

/** One process: deliver to local handlers only. Several instances need Redis (README). */
export class LocalBus implements Bus {
  private handlers: ((msg: BusMessage) => void)[] = [];
  async publish(msg: BusMessage): Promise<void> {
    for (const h of this.handlers) h(msg);
  }
  subscribe(handler: (msg: BusMessage) => void): void {
    this.handlers.push(handler);
  }
  async close(): Promise<void> {}
}

const CHANNEL = 'oa:invalidate';

export class RedisBus implements Bus {
  private handlers: ((msg: BusMessage) => void)[] = [];
  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {}

  static async connect(pub: Redis): Promise<RedisBus> {
    const sub = pub.duplicate();
    const bus = new RedisBus(pub, sub);
    await sub.subscribe(CHANNEL);
    sub.on('message', (_ch: string, raw: string) => {
      let msg: BusMessage;
      try {
        msg = JSON.parse(raw) as BusMessage;
      } catch {
        return;
      }
      for (const h of bus.handlers) h(msg);
    });
    return bus;
  }
  async publish(msg: BusMessage): Promise<void> {
    // Local handlers first: this instance must never wait for Redis to forget a revoked session.
    for (const h of this.handlers) h(msg);
    await this.pub.publish(CHANNEL, JSON.stringify(msg));
  }
  subscribe(handler: (msg: BusMessage) => void): void {
    this.handlers.push(handler);
  }
  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
