import { inUnitOfWork, Op, type Actor, type Database, type Outbox } from '@oa/db';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import { backoffMs, leaseOwnerId } from '../jobs/lease.ts';
import { PermanentDeliveryError, type ChannelRegistry } from './channels.ts';

export interface DispatcherOptions {
  maxAttempts: number;
  leaseMs: number;
  batch: number;
}

/**
 * Delivers outbox rows written in business transactions (principle 2). A row is claimed with a
 * lease, sent through its channel with its idempotency key, then marked sent; failures retry with
 * backoff and end in the dead-letter state after `maxAttempts`. A crash between send and mark
 * re-sends after the lease, which the channel's idempotency key turns into a no-op.
 */
export class OutboxDispatcher {
  readonly owner = leaseOwnerId();
  private busy = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly channels: ChannelRegistry,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions = { maxAttempts: 8, leaseMs: 60_000, batch: 50 },
  ) {}

  private dueWhere(now: Date) {
    return {
      status: 'pending',
      nextAttemptAt: { [Op.lte]: now },
      [Op.or]: [{ leaseUntil: null }, { leaseUntil: { [Op.lt]: now } }],
    };
  }

  /** Deliver everything due now; returns how many were sent. */
  async dispatchDue(): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    try {
      const { Outbox } = this.db.models;
      const now = this.clock.now();
      const due = await Outbox.findAll({ where: this.dueWhere(now), order: [['id', 'ASC']], limit: this.opts.batch, attributes: ['id'], raw: true });
      let sent = 0;
      for (const { id } of due) {
        // lease from the claim itself, not from the start of the batch
        const [affected] = await Outbox.update(
          { leaseOwner: this.owner, leaseUntil: new Date(this.clock.now().getTime() + this.opts.leaseMs) },
          { where: { id, ...this.dueWhere(now) } },
        );
        if (affected !== 1) continue;
        const row = await Outbox.findByPk(id);
        if (row && (await this.deliver(row))) sent++;
      }
      return sent;
    } finally {
      this.busy = false;
    }
  }

  private async deliver(row: Outbox): Promise<boolean> {
    const { Outbox } = this.db.models;
    const mine = { id: row.id, leaseOwner: this.owner };
    const attempts = row.attempts + 1;
    try {
      const channel = this.channels.get(row.channel);
      if (!channel) throw new PermanentDeliveryError(`unknown channel ${row.channel}`);
      await channel.send({ id: row.id, recipient: row.recipient, payload: row.payload, idempotencyKey: row.idempotencyKey });
      await Outbox.update({ status: 'sent', attempts, sentAt: this.clock.now(), leaseOwner: null, leaseUntil: null, lastError: null }, { where: mine });
      return true;
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 4000);
      const dead = err instanceof PermanentDeliveryError || attempts >= this.opts.maxAttempts;
      this.log.warn({ outboxId: row.id, channel: row.channel, attempts, dead, err: message }, 'delivery failed');
      await Outbox.update(
        {
          status: dead ? 'dead' : 'pending',
          attempts,
          nextAttemptAt: new Date(this.clock.now().getTime() + backoffMs(attempts, 10_000, 30 * 60_000)),
          leaseOwner: null,
          leaseUntil: null,
          lastError: message,
        },
        { where: mine },
      );
      return false;
    }
  }

  /** Put a dead letter back in the queue; the retry and its audit row commit together. */
  async retry(id: number, actor: Actor): Promise<boolean> {
    return inUnitOfWork(this.db, actor, this.clock.now(), async (uow) => {
      const [affected] = await this.db.models.Outbox.update(
        { status: 'pending', attempts: 0, nextAttemptAt: uow.now, lastError: null },
        { where: { id, status: 'dead' }, transaction: uow.t },
      );
      if (affected === 1) uow.audit({ action: 'outbox.retry', objectType: 'outbox', objectId: id });
      return affected === 1;
    });
  }
}
