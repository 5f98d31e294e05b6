import type { UnitOfWork } from '@oa/db';
import type { ChannelRegistry } from './channels.ts';

/**
 * The notification centre (issue 6): a module says what a person should be told once; the centre
 * writes one outbox row per personal channel (the in-app inbox always; WeCom when it is
 * configured), in the caller's unit of work, each with its own idempotency key. The channels
 * decide how to render it (a WeCom approval card for a task, a text card for a notice).
 */
export interface Notice {
  userId: number;
  title: string;
  body: string;
  /** the page to open: `/workflow/tasks/<id>`, `/workflow/instances/<id>`, … */
  link: string;
  /** unique per event and person; the same key twice stores one message per channel */
  key: string;
  /** a to-do task (WeCom renders an approval card with buttons) or a plain notice */
  kind?: 'task' | 'notice';
  taskId?: number;
}

/** personal channels in the order people see them; `inbox` is always first */
export const PERSONAL_CHANNELS = ['inbox', 'wecom', 'email', 'sms'] as const;

export class NotificationCentre {
  constructor(private readonly channels: ChannelRegistry) {}

  /** the personal channels this installation can deliver through */
  personal(): string[] {
    return PERSONAL_CHANNELS.filter((c) => this.channels.get(c));
  }

  write(uow: UnitOfWork, notices: readonly Notice[]): void {
    const channels = this.personal();
    for (const n of notices) {
      for (const channel of channels) {
        uow.outbox({
          channel,
          recipient: String(n.userId),
          payload: { title: n.title, body: n.body, link: n.link, ...(n.kind ? { kind: n.kind } : {}), ...(n.taskId ? { taskId: n.taskId } : {}) },
          // the inbox keeps the bare key (rows written before the centre existed keep matching)
          idempotencyKey: channel === 'inbox' ? n.key : `${n.key}@${channel}`,
        });
      }
    }
  }
}
