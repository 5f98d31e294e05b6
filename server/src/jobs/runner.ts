import schedule from 'node-schedule';
import { Op, UniqueConstraintError, type Database, type Job, type Transaction } from '@oa/db';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import { backoffMs, leaseOwnerId } from './lease.ts';

export type JobHandler = (payload: unknown, job: { id: number; attempts: number; now: Date }) => Promise<void>;

export const SCHEDULE_TZ = 'Asia/Shanghai';

export interface EnqueueOptions {
  runAt?: Date;
  /** a second enqueue with the same key is a no-op (idempotent producers, recurring fires) */
  dedupeKey?: string;
  maxAttempts?: number;
  transaction?: Transaction;
}

/**
 * Durable jobs (principle 3): rows in the `job` table, claimed with a lease, so each runs once
 * across several server processes and a crashed process's jobs are picked up after the lease.
 * node-schedule only decides when to look; the table decides what runs.
 */
export class JobRunner {
  private handlers = new Map<string, JobHandler>();
  private recurring: { kind: string; rule: string }[] = [];
  private scheduled: schedule.Job[] = [];
  private running = false;
  readonly owner = leaseOwnerId();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: { leaseMs: number; batch: number } = { leaseMs: 5 * 60_000, batch: 20 },
  ) {}

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Run `kind` on a cron rule in Asia/Shanghai time (e.g. `0 2 * * *` = 02:00 Beijing time). */
  every(kind: string, rule: string, handler: JobHandler): void {
    this.register(kind, handler);
    this.recurring.push({ kind, rule });
  }

  async enqueue(kind: string, payload: unknown, o: EnqueueOptions = {}): Promise<void> {
    try {
      await this.db.models.Job.create(
        {
          kind,
          payload,
          runAt: o.runAt ?? this.clock.now(),
          dedupeKey: o.dedupeKey ?? null,
          maxAttempts: o.maxAttempts ?? 5,
          leaseOwner: null,
          leaseUntil: null,
          lastError: null,
        },
        { transaction: o.transaction },
      );
    } catch (err) {
      if (err instanceof UniqueConstraintError && o.dedupeKey) return;
      throw err;
    }
  }

  private dueWhere(now: Date) {
    return {
      [Op.or]: [
        { status: 'pending', runAt: { [Op.lte]: now } },
        // a holder that died mid-run: its lease ran out, the job is taken over
        { status: 'running', leaseUntil: { [Op.lt]: now } },
      ],
    };
  }

  /** Claim and run what is due now. Returns how many jobs ran. */
  async tick(): Promise<number> {
    const { Job } = this.db.models;
    const now = this.clock.now();
    const due = await Job.findAll({ where: this.dueWhere(now), order: [['runAt', 'ASC']], limit: this.opts.batch, attributes: ['id'], raw: true });
    let ran = 0;
    for (const { id } of due) {
      const job = await this.claim(id);
      if (job) {
        await this.runOne(job);
        ran++;
      }
    }
    return ran;
  }

  private async claim(id: number): Promise<Job | null> {
    const { Job } = this.db.models;
    // The lease runs from the claim, not from the start of the batch: an earlier slow job must
    // not hand this one an already expired lease.
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + this.opts.leaseMs);
    // Conditional update: of several processes, exactly one sees affected = 1.
    const [affected] = await Job.update(
      { status: 'running', leaseOwner: this.owner, leaseUntil, attempts: this.db.sequelize.literal('attempts + 1') as unknown as number },
      { where: { id, ...this.dueWhere(now) } },
    );
    if (affected !== 1) return null;
    return Job.findByPk(id);
  }

  private async runOne(job: Job): Promise<void> {
    const { Job } = this.db.models;
    const handler = this.handlers.get(job.kind);
    const mine = { id: job.id, leaseOwner: this.owner };
    if (job.attempts > job.maxAttempts) {
      // Taken over after its holders died maxAttempts times: a job that kills its process must
      // not go on to kill every other process, one lease after another.
      this.log.warn({ jobId: job.id, kind: job.kind, attempts: job.attempts }, 'job abandoned: its holders kept dying');
      await Job.update(
        { status: 'dead', leaseOwner: null, leaseUntil: null, lastError: `已尝试 ${job.attempts - 1} 次，最后一次执行中断（租约过期），不再重试` },
        { where: mine },
      );
      return;
    }
    // Renew the lease while the handler runs, so a long job is not taken over by another process.
    const beat = setInterval(
      () => void Job.update({ leaseUntil: new Date(this.clock.now().getTime() + this.opts.leaseMs) }, { where: mine }).catch(() => undefined),
      Math.max(1000, this.opts.leaseMs / 3),
    );
    beat.unref();
    try {
      if (!handler) throw new Error(`no handler registered for job kind ${job.kind}`);
      await handler(job.payload, { id: job.id, attempts: job.attempts, now: this.clock.now() });
      await Job.update({ status: 'done', leaseOwner: null, leaseUntil: null, lastError: null }, { where: mine });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const dead = job.attempts >= job.maxAttempts;
      this.log.warn({ jobId: job.id, kind: job.kind, attempts: job.attempts, dead, err: message }, 'job failed');
      await Job.update(
        {
          status: dead ? 'dead' : 'pending',
          runAt: new Date(this.clock.now().getTime() + backoffMs(job.attempts)),
          leaseOwner: null,
          leaseUntil: null,
          lastError: message.slice(0, 4000),
        },
        { where: mine },
      );
    } finally {
      clearInterval(beat);
    }
  }

  /** Fire a recurring kind for one scheduled instant; the dedupe key makes it once per instant. */
  async fire(kind: string, at: Date): Promise<void> {
    await this.enqueue(kind, null, { runAt: at, dedupeKey: `${kind}@${at.toISOString()}`, maxAttempts: 3 });
  }

  /** Start polling (every 5 s) and the recurring rules. */
  start(extraTick?: () => Promise<unknown>): void {
    const loop = async () => {
      if (this.running) return;
      this.running = true;
      try {
        await this.tick();
        if (extraTick) await extraTick();
      } catch (err) {
        this.log.warn({ err }, 'scheduler tick failed');
      } finally {
        this.running = false;
      }
    };
    this.scheduled.push(schedule.scheduleJob({ rule: '*/5 * * * * *', tz: SCHEDULE_TZ }, () => void loop()));
    for (const r of this.recurring) {
      this.scheduled.push(
        schedule.scheduleJob({ rule: r.rule, tz: SCHEDULE_TZ }, (fireDate: Date) => {
          // Fire time truncated to the second: every instance computes the same dedupe key.
          const at = new Date(Math.floor(fireDate.getTime() / 1000) * 1000);
          this.fire(r.kind, at).catch((err: unknown) => this.log.warn({ err, kind: r.kind }, 'recurring enqueue failed'));
        }),
      );
    }
  }

  stop(): void {
    for (const j of this.scheduled) j.cancel();
    this.scheduled = [];
  }
}
