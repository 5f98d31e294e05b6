import cronParser from 'cron-parser';
import { z } from 'zod';
import type { Database, Transaction } from '@oa/db';
import type { Logger } from 'pino';
import { AppError } from '../http/errors.ts';
import { SCHEDULE_TZ } from '../jobs/runner.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { ProcessService } from './processes.ts';
import type { WorkflowService } from './service.ts';

/**
 * Automatic starts (issue 4 "Automation", R3.8, R3.12): a published process may start itself on a
 * cron rule in Asia/Shanghai time or when a business event happens (a personnel-file change, a new
 * employee). Both run as durable jobs; each start carries an idempotency key (the rule and the
 * minute, or the event's job id), so a retried or doubly-fired job starts one instance.
 */

export const WORKFLOW_EVENTS = {
  'org.person.created': '新员工建档',
  'org.person.file_changed': '人事档案变更',
} as const;
export type WorkflowEvent = keyof typeof WORKFLOW_EVENTS;

export const CRON_JOB = 'workflow.cron';
export const EVENT_JOB = 'workflow.event';

const posInt = z.number({ error: '必须是正整数' }).int('必须是正整数').positive('必须是正整数');
export const triggerSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      kind: z.literal('cron'),
      /** five fields, Beijing time: `0 9 1 * *` = 09:00 on the 1st of every month */
      cron: z.string().trim().min(9).max(100),
      initiatorId: posInt.describe('以谁的名义发起'),
      title: z.string().max(200).optional(),
      formData: z.record(z.string(), z.unknown()).optional(),
    }),
    z.strictObject({
      kind: z.literal('event'),
      event: z.enum(Object.keys(WORKFLOW_EVENTS) as [WorkflowEvent, ...WorkflowEvent[]], { error: '不支持的触发事件' }),
      /** the person the event is about, or a fixed person */
      initiator: z.union([z.literal('subject'), posInt]),
      title: z.string().max(200).optional(),
      formData: z.record(z.string(), z.unknown()).optional(),
    }),
  ],
  { error: '触发方式只能是 cron（定时）或 event（事件）' },
);
export type Trigger = z.infer<typeof triggerSchema>;

/** null when the rule parses, else why not (Chinese) */
export function checkCron(rule: string): string | null {
  if (rule.trim().split(/\s+/).length !== 5) return '定时规则应为 5 段（分 时 日 月 周）';
  try {
    cronParser.parseExpression(rule, { tz: SCHEDULE_TZ });
    return null;
  } catch {
    return `定时规则“${rule}”无法解析`;
  }
}

/** Does the rule fire in the minute that contains `at` (Beijing time)? */
export function cronFiresAt(rule: string, at: Date): boolean {
  const minute = Math.floor(at.getTime() / 60_000) * 60_000;
  const it = cronParser.parseExpression(rule, { tz: SCHEDULE_TZ, currentDate: new Date(minute - 1) });
  return it.next().getTime() === minute;
}

/**
 * A module announces an event inside its own transaction: the job row commits with the change, so
 * the start happens exactly when the change is real.
 */
export async function emitWorkflowEvent(db: Database, t: Transaction, event: WorkflowEvent, payload: { subjectUserId: number; data?: Record<string, unknown> }, now: Date): Promise<void> {
  await db.models.Job.create({ kind: EVENT_JOB, payload: { event, ...payload }, runAt: now, dedupeKey: null, maxAttempts: 5, leaseOwner: null, leaseUntil: null, lastError: null }, { transaction: t });
}

export function registerTriggers(deps: { db: Database; jobs: JobRunner; log: Logger }, processes: ProcessService, service: WorkflowService): void {
  /** every published, enabled process with its triggers */
  const withTriggers = async () => {
    const rows = await deps.db.models.WfProcess.findAll({ where: { enabled: true }, attributes: ['id', 'processKey', 'name', 'latestVersion'] });
    const out: { id: number; key: string; triggers: Trigger[] }[] = [];
    for (const p of rows) {
      if (!p.latestVersion) continue;
      const { definition } = await processes.graphOf(await processes.latestVersionId(p));
      if (definition.triggers?.length) out.push({ id: p.id, key: p.processKey, triggers: definition.triggers });
    }
    return out;
  };
  const startOne = async (key: string, initiatorId: number, t: Trigger, extra: Record<string, unknown>, clientKey: string) => {
    const who = await deps.db.models.User.findByPk(initiatorId, { attributes: ['id', 'name', 'status'], raw: true });
    if (!who || who.status !== 'active') {
      deps.log.warn({ process: key, initiatorId }, 'automatic start skipped: initiator missing or disabled');
      return;
    }
    try {
      await service.start({ id: who.id, name: who.name }, { processKey: key, formData: { ...(t.formData ?? {}), ...extra }, ...(t.title ? { title: t.title } : {}), clientKey });
    } catch (err) {
      // a refusal (no right to start, form invalid, process disabled) will not change on retry
      if (err instanceof AppError && err.status < 500) deps.log.warn({ err, process: key, initiatorId }, 'automatic start refused');
      else throw err;
    }
  };

  deps.jobs.every(CRON_JOB, '* * * * *', async (_payload, job) => {
    const minute = new Date(Math.floor(job.now.getTime() / 60_000) * 60_000);
    for (const p of await withTriggers()) {
      for (const [i, t] of p.triggers.entries()) {
        if (t.kind !== 'cron' || !cronFiresAt(t.cron, minute)) continue;
        await startOne(p.key, t.initiatorId, t, {}, `cron-${p.id}-${i}-${minute.getTime() / 60_000}`);
      }
    }
  });

  deps.jobs.register(EVENT_JOB, async (payload, job) => {
    const e = payload as { event: WorkflowEvent; subjectUserId: number; data?: Record<string, unknown> };
    for (const p of await withTriggers()) {
      for (const [i, t] of p.triggers.entries()) {
        if (t.kind !== 'event' || t.event !== e.event) continue;
        await startOne(p.key, t.initiator === 'subject' ? e.subjectUserId : t.initiator, t, e.data ?? {}, `evt-${job.id}-${p.id}-${i}`);
      }
    }
  });
}
