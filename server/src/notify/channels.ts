import { UniqueConstraintError, type Database } from '@oa/db';
import { z } from 'zod';
import type { Clock } from '../clock.ts';

export interface Delivery {
  id: number;
  recipient: string;
  payload: unknown;
  idempotencyKey: string;
}

/** A way to reach a person. `send` must be idempotent on `idempotencyKey` (the dispatcher retries). */
export interface Channel {
  readonly name: string;
  send(d: Delivery): Promise<void>;
}

/** Not worth retrying (bad recipient, malformed payload): the message goes to dead letters at once. */
export class PermanentDeliveryError extends Error {}

export class ChannelRegistry {
  private channels = new Map<string, Channel>();
  register(c: Channel): void {
    if (this.channels.has(c.name)) throw new Error(`channel ${c.name} registered twice`);
    this.channels.set(c.name, c);
  }
  get(name: string): Channel | undefined {
    return this.channels.get(name);
  }
  names(): string[] {
    return [...this.channels.keys()];
  }
}

export const inboxPayloadSchema = z.object({
  title: z.string().min(1).max(200),
  body: z.string().max(20_000).optional(),
  link: z.string().max(500).optional(),
});
export type InboxPayload = z.infer<typeof inboxPayloadSchema>;

/** The in-app inbox (站内消息): a row per message; the idempotency key makes a retry harmless. */
export class InboxChannel implements Channel {
  readonly name = 'inbox';
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async send(d: Delivery): Promise<void> {
    const userId = Number(d.recipient);
    if (!Number.isInteger(userId) || userId <= 0) throw new PermanentDeliveryError(`inbox recipient must be a user id: ${d.recipient}`);
    const p = inboxPayloadSchema.safeParse(d.payload);
    if (!p.success) throw new PermanentDeliveryError('inbox payload invalid: ' + p.error.message);
    try {
      await this.db.models.InboxMessage.create({
        userId,
        title: p.data.title,
        body: p.data.body ?? null,
        link: p.data.link ?? null,
        sourceKey: d.idempotencyKey,
        readAt: null,
        createdAt: this.clock.now(),
      });
    } catch (err) {
      if (err instanceof UniqueConstraintError) return; // delivered before; the ack was lost
      throw err;
    }
  }
}
